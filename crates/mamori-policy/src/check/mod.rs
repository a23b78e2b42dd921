//! Policy as code: compliance checks that read a [`Snapshot`] of the city's records and report what breaks
//! the policy, each finding naming its clause, its subject and how to fix it.
//!
//! A [`Check`] is data (id, clause, severity, texts) plus a pure function. The checks live in one file per
//! clause area (`assets.rs`, …), each exporting `pub(super) const CHECKS: &[Check]`. To add an area, add
//! the file and its name to the `areas!` list below; nothing else needs to change.
//!
//! [`evaluate`] runs every check over one snapshot. It builds its look-up tables once ([`Context`]), so the
//! cost grows with the size of the snapshot, not its square.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};

use crate::{
    AssignmentKind, Classification, Lang, MyNumberWork, Scheme, StaticText, StatutoryRole, Text,
    UnitLevel, UnknownCode, Zone,
};

/// Declares the clause areas: one module per area, each with a `CHECKS` list, in report order.
macro_rules! areas {
    ($($area:ident),* $(,)?) => {
        $(pub mod $area;)*
        const AREAS: &[&[Check]] = &[$($area::CHECKS),*];
    };
}

areas![org, accounts, assets, zones];

static ALL_CHECKS: LazyLock<Vec<Check>> =
    LazyLock::new(|| AREAS.iter().flat_map(|area| area.iter().copied()).collect());

/// Every check, area by area, in the order of the `areas!` list.
pub fn all_checks() -> &'static [Check] {
    &ALL_CHECKS
}

/// The checks about one kind of record (e.g. those shown on an asset's page).
pub fn checks_about(kind: SubjectKind) -> &'static [Check] {
    static BY_KIND: LazyLock<HashMap<SubjectKind, Vec<Check>>> = LazyLock::new(|| {
        let mut map: HashMap<_, Vec<_>> = HashMap::new();
        for check in all_checks() {
            map.entry(check.subject).or_default().push(*check);
        }
        map
    });
    BY_KIND.get(&kind).map(Vec::as_slice).unwrap_or_default()
}

/// The check with a stable id (`asset.unclassified`).
pub fn check_by_id(id: &str) -> Option<&'static Check> {
    all_checks().iter().find(|c| c.id == id)
}

/// Runs every check; findings come check by check (in [`all_checks`] order), subjects in snapshot order.
pub fn evaluate(snapshot: &Snapshot<'_>) -> Vec<Finding> {
    evaluate_checks(snapshot, all_checks())
}

/// Runs the given checks over one snapshot, sharing one [`Context`].
pub fn evaluate_checks(snapshot: &Snapshot<'_>, checks: &[Check]) -> Vec<Finding> {
    let context = Context::new(snapshot);
    let mut out = Vec::new();
    for check in checks {
        (check.run)(
            &context,
            &mut Findings {
                check,
                out: &mut out,
            },
        );
    }
    out
}

/// How much a breach matters. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// 情報: worth knowing, not a breach.
    Info,
    /// 低.
    Low,
    /// 中.
    Medium,
    /// 高.
    High,
    /// 重大: a breach that exposes residents' data or the separation of the network now.
    Critical,
}

impl Severity {
    /// Lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// `info`, `low`, `medium`, `high`, `critical`.
    pub fn code(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(code: &str) -> Result<Self, UnknownCode> {
        Self::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .ok_or_else(|| UnknownCode {
                vocabulary: "severity",
                value: code.to_owned(),
            })
    }

    /// 情報, 低, 中, 高, 重大 / Info, Low, Medium, High, Critical.
    pub fn name(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Severity::Info, Lang::Ja) => "情報",
            (Severity::Low, Lang::Ja) => "低",
            (Severity::Medium, Lang::Ja) => "中",
            (Severity::High, Lang::Ja) => "高",
            (Severity::Critical, Lang::Ja) => "重大",
            (Severity::Info, Lang::En) => "Info",
            (Severity::Low, Lang::En) => "Low",
            (Severity::Medium, Lang::En) => "Medium",
            (Severity::High, Lang::En) => "High",
            (Severity::Critical, Lang::En) => "Critical",
        }
    }
}

/// What kind of record a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// 情報資産.
    Asset,
    /// 組織 (部局, 課, 係 …).
    OrgUnit,
    /// 職員等.
    Staff,
    /// 利用者アカウント.
    Account,
    /// 役職 (a post of the security organisation).
    Post,
    /// 情報システム.
    System,
    /// 通信経路: a flow declared between two systems.
    Flow,
    /// ネットワーク機器: a device between zones, as the zone map names it.
    Device,
    /// The municipality as a whole (e.g. a role nobody holds).
    Municipality,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 9] = [
        SubjectKind::Asset,
        SubjectKind::OrgUnit,
        SubjectKind::Staff,
        SubjectKind::Account,
        SubjectKind::Post,
        SubjectKind::System,
        SubjectKind::Flow,
        SubjectKind::Device,
        SubjectKind::Municipality,
    ];

    /// `asset`, `org_unit`, `staff`, `account`, `post`, `system`, `flow`, `device`, `municipality`.
    pub fn code(self) -> &'static str {
        match self {
            SubjectKind::Asset => "asset",
            SubjectKind::OrgUnit => "org_unit",
            SubjectKind::Staff => "staff",
            SubjectKind::Account => "account",
            SubjectKind::Post => "post",
            SubjectKind::System => "system",
            SubjectKind::Flow => "flow",
            SubjectKind::Device => "device",
            SubjectKind::Municipality => "municipality",
        }
    }

    pub fn parse(code: &str) -> Result<Self, UnknownCode> {
        Self::ALL
            .into_iter()
            .find(|k| k.code() == code)
            .ok_or_else(|| UnknownCode {
                vocabulary: "finding subject",
                value: code.to_owned(),
            })
    }

    /// 情報資産 / Information asset …
    pub fn name(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (SubjectKind::Asset, Lang::Ja) => "情報資産",
            (SubjectKind::OrgUnit, Lang::Ja) => "組織",
            (SubjectKind::Staff, Lang::Ja) => "職員",
            (SubjectKind::Account, Lang::Ja) => "アカウント",
            (SubjectKind::Post, Lang::Ja) => "役職",
            (SubjectKind::System, Lang::Ja) => "情報システム",
            (SubjectKind::Flow, Lang::Ja) => "通信経路",
            (SubjectKind::Device, Lang::Ja) => "ネットワーク機器",
            (SubjectKind::Municipality, Lang::Ja) => "自治体",
            (SubjectKind::Asset, Lang::En) => "Information asset",
            (SubjectKind::OrgUnit, Lang::En) => "Organisation unit",
            (SubjectKind::Staff, Lang::En) => "Staff member",
            (SubjectKind::Account, Lang::En) => "Account",
            (SubjectKind::Post, Lang::En) => "Post",
            (SubjectKind::System, Lang::En) => "Information system",
            (SubjectKind::Flow, Lang::En) => "Declared flow",
            (SubjectKind::Device, Lang::En) => "Network device",
            (SubjectKind::Municipality, Lang::En) => "Municipality",
        }
    }
}

/// The record a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Subject {
    pub kind: SubjectKind,
    /// The record's id.
    pub id: i64,
    /// How people know it, e.g. `資産番号 資産名` for an asset.
    pub label: String,
    /// The org unit answerable for it (an asset's 所管課, a post's unit, an account holder's unit), for the
    /// unit view.
    pub unit_id: Option<i64>,
}

/// One breach of the policy by one record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The [`Check::id`].
    pub check_id: &'static str,
    /// The [`Check::clause`].
    pub clause: &'static str,
    pub severity: Severity,
    pub subject: Subject,
    /// What is wrong with this record.
    pub message: Text,
    /// Where to fix it: a relative URL (`/assets/12`).
    pub link: String,
}

/// A rule of the policy, written as code.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// The stable id (`asset.unclassified`): `area.rule`, lower case.
    pub id: &'static str,
    /// The clause of the basic policy it enforces (`6(2)`).
    pub clause: &'static str,
    pub severity: Severity,
    /// What kind of record it looks at.
    pub subject: SubjectKind,
    /// A short name.
    pub title: StaticText,
    /// What the rule is.
    pub rule: StaticText,
    /// How to fix a finding.
    pub fix: StaticText,
    /// The rule itself: reads the context, pushes findings. Pure.
    pub run: fn(&Context<'_>, &mut Findings<'_>),
}

impl Check {
    /// Runs this check alone.
    pub fn evaluate(&self, snapshot: &Snapshot<'_>) -> Vec<Finding> {
        evaluate_checks(snapshot, std::slice::from_ref(self))
    }
}

/// Where a check reports its findings; the check's id, clause and severity are filled in.
pub struct Findings<'a> {
    check: &'a Check,
    out: &'a mut Vec<Finding>,
}

impl Findings<'_> {
    /// Reports one finding.
    pub fn push(&mut self, subject: Subject, link: String, message: Text) {
        self.out.push(Finding {
            check_id: self.check.id,
            clause: self.check.clause,
            severity: self.check.severity,
            subject,
            message,
            link,
        });
    }
}

// ----------------------------------------------------------------------------------------------- snapshot

/// The facts the checks read, gathered by the caller from its records at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot<'a> {
    /// The day the checks are run for (deadlines are compared with it).
    pub today: NaiveDate,
    /// The classification scheme the city uses.
    pub scheme: &'a Scheme,
    pub units: Vec<UnitFacts>,
    pub staff: Vec<StaffFacts>,
    /// Posts of the security organisation in force on `today`.
    pub posts: Vec<PostFacts>,
    pub accounts: Vec<AccountFacts>,
    pub assets: Vec<AssetFacts>,
    /// 6(3) the zone register: systems, the flows declared between them, and the devices between the zones.
    pub network: NetworkFacts,
}

/// 6(1) an org unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitFacts {
    pub id: i64,
    /// The unit's code in the city's org table.
    pub code: String,
    /// Names from the top, `総務部/情報政策課`.
    pub path: String,
    /// 廃止: the unit no longer exists.
    pub abolished: bool,
    /// The unit that took over its work, if any.
    pub successor_id: Option<i64>,
    pub parent_id: Option<i64>,
    pub level: UnitLevel,
    /// Within the policy's scope (4(1)); units outside it (e.g. a 議会 under its own policy) are not checked.
    pub in_scope: bool,
}

/// 5 a member of staff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaffFacts {
    pub id: i64,
    /// 職員番号 and name, as people know them.
    pub label: String,
    /// 在職: neither retired nor otherwise gone.
    pub active: bool,
    /// 所属: the unit the person works in now.
    pub unit_id: i64,
}

/// 6(1) a post of the security organisation held by one person (a role assignment in force).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostFacts {
    pub id: i64,
    pub role: StatutoryRole,
    /// The unit the post is for (the 部局 of a 責任者, the 課 of a 管理者, the root for city-wide posts).
    pub unit_id: i64,
    pub staff_id: i64,
    pub kind: AssignmentKind,
}

/// 6(6) a user account of Mamori.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFacts {
    pub id: i64,
    pub login: String,
    /// The staff member the account belongs to.
    pub staff_id: Option<i64>,
    pub system_admin: bool,
    /// 外部の者 (委託先, external auditor) with a time-limited account.
    pub outsider: bool,
    /// The last day the account may be used.
    pub valid_until: Option<NaiveDate>,
    /// 停止: cannot sign in.
    pub disabled: bool,
    /// A second factor is enrolled.
    pub mfa_enrolled: bool,
}

/// 4(2), 6(2) an information asset (情報資産台帳 entry).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetFacts {
    pub id: i64,
    /// 資産番号.
    pub asset_no: String,
    /// 資産名.
    pub name: String,
    /// 所管課.
    pub owner_unit_id: Option<i64>,
    /// 管理者.
    pub manager_staff_id: Option<i64>,
    /// By the snapshot's scheme.
    pub classification: Classification,
    /// Holds 個人情報.
    pub personal: bool,
    /// Holds 要配慮個人情報.
    pub sensitive_personal: bool,
    /// Holds 特定個人情報 (personal information with a My Number).
    pub specific_personal: bool,
    pub my_number_work: Option<MyNumberWork>,
    pub zone: Option<Zone>,
    /// 次回見直し日.
    pub next_review: Option<NaiveDate>,
    /// 廃棄・返却済み: no longer held; no check applies.
    pub retired: bool,
}

/// 6(3) what the zone register holds: systems, declared flows, and the state of the segmentation proof.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkFacts {
    pub systems: Vec<SystemFacts>,
    pub flows: Vec<FlowFacts>,
    pub devices: Vec<DeviceFacts>,
    /// When the newest zone map was uploaded (none: no map yet).
    pub map_uploaded: Option<DateTime<Utc>>,
}

/// 2(2) an information system (情報システム) and the zone it lives in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemFacts {
    pub id: i64,
    pub name: String,
    /// A zone id of the zone map: `my_number`, `lgwan`, `internet`, or another the city declared.
    pub zone: String,
    /// 所管課.
    pub owner_unit_id: Option<i64>,
    /// 二要素認証 in force.
    pub mfa: bool,
    /// 持ち出し不可設定 in force.
    pub no_export: bool,
    /// A 無害化 system that flows between zones may pass through.
    pub sanitiser: bool,
    /// 廃止: no check applies.
    pub retired: bool,
}

/// 2(15) a flow declared from one system to another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowFacts {
    pub id: i64,
    pub from_system_id: i64,
    pub to_system_id: i64,
    /// `tcp 25`, as people read it.
    pub service: String,
    /// The 無害化 system it passes through.
    pub via_system_id: Option<i64>,
    /// 廃止: no check applies.
    pub retired: bool,
}

/// 6(3) a device between zones, as the newest zone map names it, and what `netcheck` last said of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceFacts {
    /// A stable number for the device's name (findings are kept per subject id).
    pub id: i64,
    /// The device's id in the zone map.
    pub name: String,
    /// When its newest file was uploaded (none: nothing uploaded yet).
    pub config_uploaded: Option<DateTime<Utc>>,
    /// The newest run of `netcheck` that read it: when, and whether a violating packet passes through it.
    pub checked: Option<(DateTime<Utc>, bool)>,
}

/// A snapshot with its look-up tables, built once per [`evaluate`] and shared by every check.
pub struct Context<'a> {
    snapshot: &'a Snapshot<'a>,
    units: HashMap<i64, &'a UnitFacts>,
    staff: HashMap<i64, &'a StaffFacts>,
    /// Units with a child of this level that is not abolished, by level.
    parents_of: HashMap<(i64, UnitLevel), usize>,
    /// Posts by role and unit.
    posts: HashMap<(StatutoryRole, i64), Vec<&'a PostFacts>>,
    /// Staff ids holding each role anywhere.
    holders: HashMap<i64, Vec<StatutoryRole>>,
}

impl<'a> Context<'a> {
    pub fn new(snapshot: &'a Snapshot<'a>) -> Self {
        let mut parents_of = HashMap::new();
        for unit in snapshot.units.iter().filter(|u| !u.abolished) {
            if let Some(parent) = unit.parent_id {
                *parents_of.entry((parent, unit.level)).or_insert(0) += 1;
            }
        }
        let mut posts: HashMap<_, Vec<_>> = HashMap::new();
        let mut holders: HashMap<_, Vec<_>> = HashMap::new();
        for post in &snapshot.posts {
            posts
                .entry((post.role, post.unit_id))
                .or_default()
                .push(post);
            holders.entry(post.staff_id).or_default().push(post.role);
        }
        Context {
            snapshot,
            units: snapshot.units.iter().map(|u| (u.id, u)).collect(),
            staff: snapshot.staff.iter().map(|s| (s.id, s)).collect(),
            parents_of,
            posts,
            holders,
        }
    }

    pub fn snapshot(&self) -> &'a Snapshot<'a> {
        self.snapshot
    }

    pub fn scheme(&self) -> &'a Scheme {
        self.snapshot.scheme
    }

    pub fn today(&self) -> NaiveDate {
        self.snapshot.today
    }

    /// The unit with this id.
    pub fn unit(&self, id: i64) -> Option<&'a UnitFacts> {
        self.units.get(&id).copied()
    }

    /// The staff member with this id.
    pub fn staff(&self, id: i64) -> Option<&'a StaffFacts> {
        self.staff.get(&id).copied()
    }

    /// The unit that does `unit`'s work today: itself if not abolished, else the first unit not abolished
    /// along its successors. `None` if the chain ends (or loops) without one.
    pub fn unit_in_force(&self, unit: &'a UnitFacts) -> Option<&'a UnitFacts> {
        let mut current = unit;
        for _ in 0..=self.units.len() {
            if !current.abolished {
                return Some(current);
            }
            current = self.unit(current.successor_id?)?;
        }
        None
    }

    /// Whether `unit` has a child of `level` that is not abolished.
    pub fn has_child_at(&self, unit: &UnitFacts, level: UnitLevel) -> bool {
        self.parents_of.contains_key(&(unit.id, level))
    }

    /// Whether `unit` is `ancestor` or lies under it.
    pub fn is_within(&self, unit_id: i64, ancestor_id: i64) -> bool {
        let mut current = Some(unit_id);
        for _ in 0..=self.units.len() {
            match current {
                Some(id) if id == ancestor_id => return true,
                Some(id) => current = self.unit(id).and_then(|u| u.parent_id),
                None => return false,
            }
        }
        false
    }

    /// The posts of `role` for `unit` in force.
    pub fn posts_at(&self, role: StatutoryRole, unit_id: i64) -> &[&'a PostFacts] {
        self.posts
            .get(&(role, unit_id))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The roles a staff member holds today, anywhere.
    pub fn roles_of(&self, staff_id: i64) -> &[StatutoryRole] {
        self.holders
            .get(&staff_id)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The units in the policy's scope that exist today, in snapshot order.
    pub fn units_in_force(&self) -> impl Iterator<Item = &'a UnitFacts> + 'a {
        self.snapshot
            .units
            .iter()
            .filter(|u| !u.abolished && u.in_scope)
    }

    /// The assets still held (not retired), in snapshot order.
    pub fn assets(&self) -> impl Iterator<Item = &'a AssetFacts> + 'a {
        self.snapshot.assets.iter().filter(|a| !a.retired)
    }
}
