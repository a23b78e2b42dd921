//! 6(2) 情報資産管理台帳: the register of information assets, classified by the municipality's scheme
//! (2(4)–(8)), with personal-data flags (2(9)–(11)), the zone an asset lives in (2(12)–(16)) and the
//! handling restrictions its classification brings.
//!
//! Who may do what: 情報セキュリティ責任者 and 管理者 read and change the assets of their units; CISO, 統括
//! and auditors read all; 統括 and system administrators change all; other staff read the assets they manage.

mod export;
mod fields;
pub(crate) mod index;
pub mod sheet;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use mamori_policy::{
    AssetKind, Axis, Classification, Lang, MyNumberWork, Scheme, UnitLevel, Zone,
    check::{self, AssetFacts, Finding, Snapshot, StaffFacts, SubjectKind, UnitFacts},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult,
    IntoActiveModel, JoinType, QueryFilter, QueryOrder, QuerySelect, RelationTrait, Set,
    sea_query::{Expr, ExprTrait},
};

pub use fields::{AssetFields, AssetInput, Lookup};
use index::{Filter, PersonalData, Sort, Units};

use crate::access::Reach;
use crate::paging::{self, COUNT_LIMIT, MAX_PER_PAGE};
use crate::tx::AuditActor;
use crate::{Actor, App, AppError, AppResult, FieldError, Tx, text, today};
use mamori_store::audit::{Action, NewEntry};
use mamori_store::entity::{asset, audit_entry, org_unit, staff};

/// May change assets: of every unit (統括, system administrators) or of some subtrees (責任者, 管理者).
#[derive(Debug, Clone)]
pub struct AssetEditor {
    pub municipality_id: i64,
    pub reach: Reach,
}

impl AssetEditor {
    /// The command line acts with the server's own authority.
    pub fn for_cli(municipality_id: i64) -> Self {
        AssetEditor {
            municipality_id,
            reach: Reach::All,
        }
    }
}

impl Actor {
    /// Whether and where this person may change assets.
    pub fn asset_editor(&self) -> Option<AssetEditor> {
        use mamori_policy::StatutoryRole::{BureauOfficer, ChiefOfficer, DivisionManager};
        if self.outsider {
            return None;
        }
        if self.system_admin || self.holds(ChiefOfficer) {
            return Some(AssetEditor {
                municipality_id: self.municipality_id,
                reach: Reach::All,
            });
        }
        let posts: Vec<String> = self
            .roles
            .iter()
            .filter(|r| matches!(r.role, BureauOfficer | DivisionManager))
            .map(|r| r.tree_path.clone())
            .collect();
        (!posts.is_empty()).then_some(AssetEditor {
            municipality_id: self.municipality_id,
            reach: Reach::Subtrees(posts),
        })
    }
}

/// The classification scheme a municipality chose at set-up.
pub async fn scheme(
    app: &App,
    db: &impl ConnectionTrait,
    municipality_id: i64,
) -> AppResult<Scheme> {
    let id = crate::settings::classification_scheme(db, municipality_id).await?;
    app.scheme(&id)
        .cloned()
        .ok_or_else(|| AppError::Internal(format!("classification scheme {id:?} is not installed")))
}

/// Filters of the asset list (applied on the register's index, [`index`]).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct AssetQuery {
    /// Free text: 資産番号, 資産名, 保存場所, 媒体, 関連システム, 備考.
    #[serde(default)]
    pub q: String,
    /// This unit and everything below it.
    #[serde(default)]
    pub unit: Option<i64>,
    /// `unit` and the units below it, when whoever resolved `unit` found them with it
    /// ([`crate::org::unit_tree`]); otherwise the list asks the database.
    #[serde(skip)]
    pub unit_tree: Option<Vec<i64>>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub zone: Option<String>,
    /// Confidentiality at least this level (機密性2以上 …).
    #[serde(default)]
    pub c_min: Option<String>,
    #[serde(default)]
    pub i_min: Option<String>,
    #[serde(default)]
    pub a_min: Option<String>,
    /// `personal`, `sensitive` or `specific`.
    #[serde(default)]
    pub personal: Option<String>,
    /// Only assets whose 次回見直し日 has passed.
    #[serde(default)]
    pub overdue: Option<String>,
    /// Include retired assets.
    #[serde(default)]
    pub retired: Option<String>,
    /// `asset_no` (default), `name`, `confidentiality`, `review`.
    #[serde(default)]
    pub sort: Option<String>,
    #[serde(default)]
    pub page: Option<u64>,
    #[serde(default)]
    pub per_page: Option<u64>,
}

/// One asset as listed and shown.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AssetRow {
    pub id: i64,
    pub asset_no: String,
    pub name: String,
    pub kind: AssetKind,
    pub owner_unit_id: Option<i64>,
    pub owner_code: String,
    pub owner_path: String,
    pub manager_staff_id: Option<i64>,
    pub manager_no: String,
    pub manager_name: String,
    pub confidentiality: Option<String>,
    pub integrity: Option<String>,
    pub availability: Option<String>,
    /// `C3B-I2-A2`.
    pub label: String,
    pub personal: bool,
    pub sensitive_personal: bool,
    pub specific_personal: bool,
    pub my_number_work: Option<MyNumberWork>,
    pub pif_ref: String,
    pub pia_ref: String,
    pub zone: Option<Zone>,
    pub storage: String,
    pub media: String,
    pub retention: String,
    pub disposal: String,
    pub related_systems: String,
    pub notes: String,
    pub next_review: Option<NaiveDate>,
    pub review_overdue: bool,
    pub retired: bool,
    pub retired_on: Option<NaiveDate>,
    pub updated_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AssetPage {
    pub rows: Vec<AssetRow>,
    /// How many match, counted up to [`COUNT_LIMIT`]; beyond it `total_is_exact` is false.
    pub total: u64,
    pub total_is_exact: bool,
    pub page: u64,
    pub per_page: u64,
}

/// The condition "within reach": the owning unit in reach, or (for staff without a post) managed by them.
fn reach_condition(reach: &Reach) -> Condition {
    match reach {
        Reach::All => Condition::all(),
        Reach::OwnOnly(Some(staff_id)) => {
            Condition::all().add(asset::Column::ManagerStaffId.eq(*staff_id))
        }
        Reach::OwnOnly(None) => Condition::all().add(Expr::val(1).eq(Expr::val(0))),
        Reach::Subtrees(prefixes) => Condition::all()
            .add(asset::Column::OwnerUnitId.in_subquery(paging::units_under(prefixes))),
    }
}

/// The units under these `tree_path` prefixes.
async fn units_under(db: &impl ConnectionTrait, prefixes: &[String]) -> AppResult<Units> {
    let ids = org_unit::Entity::find()
        .select_only()
        .column(org_unit::Column::Id)
        .filter(org_unit::Column::Id.in_subquery(paging::units_under(prefixes)))
        .into_tuple::<i64>()
        .all(db)
        .await?;
    Ok(Units::Some(ids.into_iter().collect()))
}

/// A unit of this municipality and every unit below it ([`crate::org::unit_tree`]); another municipality's
/// unit, or none, gives no units.
async fn units_at_or_under(
    db: &impl ConnectionTrait,
    municipality_id: i64,
    unit_id: i64,
) -> AppResult<Units> {
    let tree = crate::org::unit_tree(db, municipality_id, crate::org::UnitKey::Id(unit_id)).await?;
    Ok(Units::Some(
        tree.map(|(_, ids)| ids)
            .unwrap_or_default()
            .into_iter()
            .collect(),
    ))
}

/// The filters behind the list and the export, checked, with the person's reach and the unit filter resolved
/// to units.
async fn filter_for(
    db: &impl ConnectionTrait,
    scheme: &Scheme,
    actor: &Actor,
    q: &AssetQuery,
) -> AppResult<Filter> {
    let (reach, manager) = match actor.reach() {
        Reach::All => (Units::All, None),
        Reach::OwnOnly(staff_id) => (Units::All, Some(staff_id)),
        Reach::Subtrees(prefixes) => (units_under(db, &prefixes).await?, None),
    };
    let unit = match q.unit {
        None => Units::All,
        Some(unit_id) => match &q.unit_tree {
            Some(ids) => Units::Some(ids.iter().copied().collect()),
            None => units_at_or_under(db, actor.municipality_id, unit_id).await?,
        },
    };
    let mut filter = Filter {
        text: q.q.clone(),
        reach,
        manager,
        unit,
        with_retired: text::checked(&q.retired),
        kind: None,
        zone: None,
        min_ranks: [None; 3],
        personal: None,
        review_before: text::checked(&q.overdue).then(today),
        sort: Sort::parse(q.sort.as_deref()),
    };
    let mut problems = crate::error::Problems::default();
    if let Some(kind) = q.kind.as_deref().filter(|k| !k.is_empty()) {
        match AssetKind::parse(kind) {
            Ok(k) => filter.kind = Some(k),
            Err(_) => problems.push(FieldError::new("kind", "err-choice").with("value", kind)),
        }
    }
    if let Some(zone) = q.zone.as_deref().filter(|z| !z.is_empty()) {
        match Zone::parse(zone) {
            Ok(z) => filter.zone = Some(z),
            Err(_) => problems.push(FieldError::new("zone", "err-choice").with("value", zone)),
        }
    }
    for ((axis, field, min), slot) in [
        (Axis::Confidentiality, "c_min", &q.c_min),
        (Axis::Integrity, "i_min", &q.i_min),
        (Axis::Availability, "a_min", &q.a_min),
    ]
    .into_iter()
    .zip(filter.min_ranks.iter_mut())
    {
        let Some(min) = min.as_deref().filter(|m| !m.is_empty()) else {
            continue;
        };
        match scheme.parse_level(axis, min) {
            Ok(level) => *slot = Some(i16::from(level.rank())),
            Err(e) => problems.push(
                FieldError::new(field, "err-level")
                    .with("value", min)
                    .with("levels", e.levels().to_owned()),
            ),
        }
    }
    filter.personal = match q.personal.as_deref() {
        Some("personal") => Some(PersonalData::Personal),
        Some("sensitive") => Some(PersonalData::Sensitive),
        Some("specific") => Some(PersonalData::Specific),
        Some("") | None => None,
        Some(other) => {
            problems.push(FieldError::new("personal", "err-choice").with("value", other));
            None
        }
    };
    problems.into_result()?;
    Ok(filter)
}

/// An asset as the list reads it: the columns a row shows (not the search and sort keys, which only the
/// index reads), its unit's code and path and its manager's number and name.
#[derive(Debug, FromQueryResult)]
struct Listed {
    id: i64,
    asset_no: String,
    name: String,
    kind: String,
    owner_unit_id: Option<i64>,
    manager_staff_id: Option<i64>,
    c_level: Option<String>,
    i_level: Option<String>,
    a_level: Option<String>,
    personal: bool,
    sensitive_personal: bool,
    specific_personal: bool,
    my_number_work: Option<String>,
    pif_ref: String,
    pia_ref: String,
    zone: Option<String>,
    storage: String,
    media: String,
    retention: String,
    disposal: String,
    related_systems: String,
    notes: String,
    next_review: Option<NaiveDate>,
    retired: bool,
    retired_on: Option<NaiveDate>,
    updated_at: chrono::DateTime<Utc>,
    owner_code: Option<String>,
    owner_path: Option<String>,
    manager_no: Option<String>,
    manager_name: Option<String>,
}

/// The assets with these ids, in this order, as listed: one query, with their units and managers joined.
async fn rows_by_id(
    db: &impl ConnectionTrait,
    scheme: &Scheme,
    ids: &[i64],
) -> AppResult<Vec<AssetRow>> {
    use asset::Column as A;
    let mut by_id: std::collections::HashMap<i64, Listed> = asset::Entity::find()
        .select_only()
        .columns([
            A::Id,
            A::AssetNo,
            A::Name,
            A::Kind,
            A::OwnerUnitId,
            A::ManagerStaffId,
            A::CLevel,
            A::ILevel,
            A::ALevel,
            A::Personal,
            A::SensitivePersonal,
            A::SpecificPersonal,
            A::MyNumberWork,
            A::PifRef,
            A::PiaRef,
            A::Zone,
            A::Storage,
            A::Media,
            A::Retention,
            A::Disposal,
            A::RelatedSystems,
            A::Notes,
            A::NextReview,
            A::Retired,
            A::RetiredOn,
            A::UpdatedAt,
        ])
        .column_as(org_unit::Column::Code, "owner_code")
        .column_as(org_unit::Column::Path, "owner_path")
        .column_as(staff::Column::StaffNo, "manager_no")
        .column_as(staff::Column::Name, "manager_name")
        .join(JoinType::LeftJoin, asset::Relation::OrgUnit.def())
        .join(JoinType::LeftJoin, asset::Relation::Staff.def())
        .filter(A::Id.is_in(ids.to_vec()))
        .into_model::<Listed>()
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    let listed = ids.iter().filter_map(|id| by_id.remove(id)).collect();
    Ok(to_rows(scheme, listed))
}

/// The asset list a person may see, filtered and sorted on the register's index ([`index`]), with the page's
/// rows read from the database. `scheme` is the municipality's ([`scheme`]), which the caller has at hand.
pub async fn list(
    app: &App,
    actor: &Actor,
    scheme: &Scheme,
    q: &AssetQuery,
) -> AppResult<AssetPage> {
    let db = app.store().conn();
    let filter = filter_for(db, scheme, actor, q).await?;
    let index = index::current(app, db, actor.municipality_id).await?;
    let per_page = q.per_page.unwrap_or(50).clamp(1, MAX_PER_PAGE);
    let page = std::cmp::max(q.page.unwrap_or(1), 1);
    let offset = (page - 1) * per_page;
    // The count goes up to the limit and no further; past the first 1,000 the count is "more than 1,000"
    // whatever the page finds.
    let counting = offset + per_page <= COUNT_LIMIT;
    let wanted = if counting {
        COUNT_LIMIT + 1
    } else {
        offset + per_page
    };
    let mut counted: u64 = 0;
    let mut page_ids = Vec::with_capacity(per_page as usize);
    for id in index.matching(&filter).take(wanted as usize) {
        if counted >= offset && (page_ids.len() as u64) < per_page {
            page_ids.push(id);
        }
        counted += 1;
    }
    if !counting {
        counted = COUNT_LIMIT + 1;
    }
    let rows = rows_by_id(db, scheme, &page_ids).await?;
    Ok(AssetPage {
        rows,
        total: std::cmp::min(counted, COUNT_LIMIT),
        total_is_exact: counted <= COUNT_LIMIT,
        page,
        per_page,
    })
}

/// Rows the export reads at a time ([`export_page`]): each query has a cost of its own (on SQLite, a
/// temporary b-tree for the `IN` list), so not too few; and the rows of a page are in memory at once.
pub(crate) const EXPORT_PAGE: usize = 5_000;

/// The ids of every asset the filters select, in list order, and the municipality's scheme: what the export
/// walks, a page at a time, with [`export_page`].
pub(crate) async fn matching_ids(
    app: &App,
    actor: &Actor,
    q: &AssetQuery,
) -> AppResult<(Scheme, Vec<i64>)> {
    let db = app.store().conn();
    let scheme = scheme(app, db, actor.municipality_id).await?;
    let filter = filter_for(db, &scheme, actor, q).await?;
    let index = index::current(app, db, actor.municipality_id).await?;
    let ids = index.matching(&filter).collect();
    Ok((scheme, ids))
}

/// The rows of one page of the export, in the order of `ids`.
pub(crate) async fn export_page(
    app: &App,
    scheme: &Scheme,
    ids: &[i64],
) -> AppResult<Vec<AssetRow>> {
    rows_by_id(app.store().conn(), scheme, ids).await
}

pub(crate) fn classification_of(scheme: &Scheme, m: &asset::Model) -> Classification {
    classification_from(
        scheme,
        [
            m.c_level.as_deref(),
            m.i_level.as_deref(),
            m.a_level.as_deref(),
        ],
    )
}

/// A classification from stored level ids (C, I, A); an id the scheme lacks counts as unclassified.
pub(crate) fn classification_from(scheme: &Scheme, ids: [Option<&str>; 3]) -> Classification {
    let mut c = Classification::UNCLASSIFIED;
    for (axis, id) in Axis::ALL.into_iter().zip(ids) {
        if let Some(level) = id.and_then(|id| scheme.level_by_id(axis, id)) {
            c = c.with(level);
        }
    }
    c
}

// Stored values are codes, so an exact match decides; the parsers, which fold every spelling of every value
// (NFKC, some microseconds a call), are only the fallback for anything else.

/// The kind a stored code names.
pub(crate) fn stored_kind(code: &str) -> Option<AssetKind> {
    AssetKind::ALL
        .into_iter()
        .find(|k| k.code() == code)
        .or_else(|| AssetKind::parse(code).ok())
}

/// The zone a stored code names.
pub(crate) fn stored_zone(code: &str) -> Option<Zone> {
    Zone::ALL
        .into_iter()
        .find(|z| z.code() == code)
        .or_else(|| Zone::parse(code).ok())
}

/// The 事務区分 a stored code names.
pub(crate) fn stored_work(code: &str) -> Option<MyNumberWork> {
    MyNumberWork::ALL
        .into_iter()
        .find(|w| w.code() == code)
        .or_else(|| MyNumberWork::parse(code).ok())
}

fn to_rows(scheme: &Scheme, listed: Vec<Listed>) -> Vec<AssetRow> {
    // A page holds few distinct classifications, and reading a level folds its id: label each once.
    let mut labels: std::collections::HashMap<[Option<&str>; 3], String> = Default::default();
    let row_labels: Vec<String> = listed
        .iter()
        .map(|m| {
            let ids = [
                m.c_level.as_deref(),
                m.i_level.as_deref(),
                m.a_level.as_deref(),
            ];
            labels
                .entry(ids)
                .or_insert_with(|| scheme.short_label(&classification_from(scheme, ids)))
                .clone()
        })
        .collect();
    let today = today();
    listed
        .into_iter()
        .zip(row_labels)
        .map(|(m, label)| {
            let (owner_code, owner_path) = m.owner_code.zip(m.owner_path).unwrap_or_default();
            let (manager_no, manager_name) = m.manager_no.zip(m.manager_name).unwrap_or_default();
            AssetRow {
                id: m.id,
                kind: stored_kind(&m.kind).unwrap_or(AssetKind::Information),
                owner_unit_id: m.owner_unit_id,
                owner_code,
                owner_path,
                manager_staff_id: m.manager_staff_id,
                manager_no,
                manager_name,
                label,
                confidentiality: m.c_level,
                integrity: m.i_level,
                availability: m.a_level,
                personal: m.personal,
                sensitive_personal: m.sensitive_personal,
                specific_personal: m.specific_personal,
                my_number_work: m.my_number_work.as_deref().and_then(stored_work),
                pif_ref: m.pif_ref,
                pia_ref: m.pia_ref,
                zone: m.zone.as_deref().and_then(stored_zone),
                storage: m.storage,
                media: m.media,
                retention: m.retention,
                disposal: m.disposal,
                related_systems: m.related_systems,
                notes: m.notes,
                review_overdue: !m.retired && m.next_review.is_some_and(|d| d < today),
                next_review: m.next_review,
                retired: m.retired,
                retired_on: m.retired_on,
                asset_no: m.asset_no,
                name: m.name,
                updated_at: m.updated_at,
            }
        })
        .collect()
}

/// One entry of an asset's history, from the audit chain.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HistoryEntry {
    pub at: chrono::DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub summary: serde_json::Value,
}

/// What the asset page shows: the asset, what its classification requires, what the checks find, and its
/// history.
#[derive(Debug, Clone)]
pub struct AssetDetail {
    pub row: AssetRow,
    pub label_ja: String,
    pub label_en: String,
    pub restrictions: Vec<mamori_policy::RestrictionDef>,
    pub findings: Vec<Finding>,
    pub history: Vec<HistoryEntry>,
    pub editable: bool,
}

async fn load_in_reach(
    db: &impl ConnectionTrait,
    municipality_id: i64,
    reach: &Reach,
    id: i64,
) -> AppResult<asset::Model> {
    let m = asset::Entity::find_by_id(id)
        .filter(asset::Column::MunicipalityId.eq(municipality_id))
        .filter(reach_condition(reach))
        .one(db)
        .await?;
    // Out of reach and missing answer alike, so a refusal does not say whether the asset exists.
    m.ok_or(AppError::Forbidden)
}

pub async fn get(app: &App, actor: &Actor, id: i64) -> AppResult<AssetDetail> {
    let db = app.store().conn();
    let scheme = scheme(app, db, actor.municipality_id).await?;
    let m = load_in_reach(db, actor.municipality_id, &actor.reach(), id).await?;
    let classification = classification_of(&scheme, &m);
    let findings = findings_for(db, &scheme, &m).await?;
    let editable = match actor.asset_editor() {
        Some(editor) => unit_in_reach(db, &editor.reach, m.owner_unit_id).await?,
        None => false,
    };
    let history = audit_entry::Entity::find()
        .filter(audit_entry::Column::MunicipalityId.eq(actor.municipality_id))
        .filter(audit_entry::Column::TargetType.eq("asset"))
        .filter(audit_entry::Column::TargetId.eq(id.to_string()))
        .order_by_desc(audit_entry::Column::Seq)
        .limit(200)
        .all(db)
        .await?
        .into_iter()
        .map(|e| HistoryEntry {
            at: e.at,
            actor: e.actor_label,
            action: e.action,
            summary: serde_json::from_str(&e.summary).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    let restrictions = scheme
        .restrictions(&classification)
        .into_iter()
        .cloned()
        .collect();
    let row = rows_by_id(db, &scheme, &[m.id])
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::Forbidden)?;
    Ok(AssetDetail {
        label_ja: scheme.label(&classification, Lang::Ja),
        label_en: scheme.label(&classification, Lang::En),
        row,
        restrictions,
        findings,
        history,
        editable,
    })
}

/// Whether an owning unit (or none) lies within an editor's reach: only editors of every unit may keep an
/// asset without an owner.
async fn unit_in_reach(
    db: &impl ConnectionTrait,
    reach: &Reach,
    unit_id: Option<i64>,
) -> AppResult<bool> {
    match (reach, unit_id) {
        (Reach::All, _) => Ok(true),
        (_, None) => Ok(false),
        (reach, Some(id)) => Ok(org_unit::Entity::find_by_id(id)
            .one(db)
            .await?
            .is_some_and(|u| reach.covers_unit(&u.tree_path))),
    }
}

/// What the checks say about one asset (shown on its page).
async fn findings_for(
    db: &impl ConnectionTrait,
    scheme: &Scheme,
    m: &asset::Model,
) -> AppResult<Vec<Finding>> {
    let mut units = Vec::new();
    if let Some(id) = m.owner_unit_id
        && let Some(u) = org_unit::Entity::find_by_id(id).one(db).await?
    {
        units.push(unit_facts(&u));
    }
    let mut staff_facts = Vec::new();
    if let Some(id) = m.manager_staff_id
        && let Some(s) = staff::Entity::find_by_id(id).one(db).await?
    {
        staff_facts.push(StaffFacts {
            id: s.id,
            label: String::new(),
            active: s.active,
            unit_id: s.org_unit_id,
        });
    }
    let snapshot = Snapshot {
        today: today(),
        scheme,
        units,
        staff: staff_facts,
        posts: Vec::new(),
        accounts: Vec::new(),
        assets: vec![asset_facts(scheme, m)],
        network: Default::default(),
    };
    Ok(check::evaluate_checks(
        &snapshot,
        check::checks_about(SubjectKind::Asset),
    ))
}

pub(crate) fn unit_facts(u: &org_unit::Model) -> UnitFacts {
    UnitFacts {
        id: u.id,
        code: u.code.clone(),
        path: u.path.clone(),
        abolished: u.abolished_on.is_some(),
        successor_id: u.successor_id,
        parent_id: u.parent_id,
        level: UnitLevel::parse(&u.level).unwrap_or_default(),
        in_scope: u.in_scope,
    }
}

pub(crate) fn asset_facts(scheme: &Scheme, m: &asset::Model) -> AssetFacts {
    AssetFacts {
        id: m.id,
        asset_no: m.asset_no.clone(),
        name: m.name.clone(),
        owner_unit_id: m.owner_unit_id,
        manager_staff_id: m.manager_staff_id,
        classification: classification_of(scheme, m),
        personal: m.personal,
        sensitive_personal: m.sensitive_personal,
        specific_personal: m.specific_personal,
        my_number_work: m.my_number_work.as_deref().and_then(stored_work),
        zone: m.zone.as_deref().and_then(stored_zone),
        next_review: m.next_review,
        retired: m.retired,
    }
}

/// The columns a new or changed asset writes.
/// The row an asset's fields make, keys and ranks derived; `id` is left to the database.
fn row(municipality_id: i64, scheme: &Scheme, f: &AssetFields, now: DateTime<Utc>) -> asset::Model {
    let rank = |axis: Axis, id: &Option<String>| {
        id.as_deref()
            .and_then(|id| scheme.rank(axis, id))
            .map(i16::from)
    };
    asset::Model {
        id: 0,
        municipality_id,
        asset_no: f.asset_no.clone(),
        name: f.name.clone(),
        kind: f.kind.code().to_owned(),
        owner_unit_id: f.owner_unit_id,
        manager_staff_id: f.manager_staff_id,
        c_rank: rank(Axis::Confidentiality, &f.confidentiality),
        i_rank: rank(Axis::Integrity, &f.integrity),
        a_rank: rank(Axis::Availability, &f.availability),
        c_level: f.confidentiality.clone(),
        i_level: f.integrity.clone(),
        a_level: f.availability.clone(),
        personal: f.personal,
        sensitive_personal: f.sensitive_personal,
        specific_personal: f.specific_personal,
        my_number_work: f.my_number_work.map(|w| w.code().to_owned()),
        pif_ref: f.pif_ref.clone(),
        pia_ref: f.pia_ref.clone(),
        zone: f.zone.map(|z| z.code().to_owned()),
        storage: f.storage.clone(),
        media: f.media.clone(),
        retention: f.retention.clone(),
        disposal: f.disposal.clone(),
        related_systems: f.related_systems.clone(),
        notes: f.notes.clone(),
        next_review: f.next_review,
        retired: f.retired_on.is_some(),
        retired_on: f.retired_on,
        sort_key: f.sort_key(),
        name_key: f.name_key(),
        search_key: f.search_key(),
        created_at: now,
        updated_at: now,
    }
}

/// PostgreSQL: rows of one insert as an array a column ([`mamori_store::bulk`]), all written `at`.
fn unnest<'a>(
    rows: impl Iterator<Item = &'a asset::Model> + Clone,
    at: DateTime<Utc>,
) -> mamori_store::bulk::Unnest {
    let col = |f: fn(&asset::Model) -> String| rows.clone().map(f).collect::<Vec<_>>();
    let code = |f: fn(&asset::Model) -> Option<String>| rows.clone().map(f).collect::<Vec<_>>();
    let rank = |f: fn(&asset::Model) -> Option<i16>| rows.clone().map(f).collect::<Vec<_>>();
    let flag = |f: fn(&asset::Model) -> bool| rows.clone().map(f).collect::<Vec<_>>();
    let id = |f: fn(&asset::Model) -> Option<i64>| rows.clone().map(f).collect::<Vec<_>>();
    let date = |f: fn(&asset::Model) -> Option<NaiveDate>| rows.clone().map(f).collect::<Vec<_>>();
    let mut u = mamori_store::bulk::Unnest::default();
    u.scalar("created_at", "timestamptz", at.into())
        .scalar("updated_at", "timestamptz", at.into())
        .int8(
            "municipality_id",
            rows.clone().map(|r| r.municipality_id).collect(),
        )
        .text("asset_no", col(|r| r.asset_no.clone()))
        .text("name", col(|r| r.name.clone()))
        .text("kind", col(|r| r.kind.clone()))
        .opt_id("owner_unit_id", id(|r| r.owner_unit_id))
        .opt_id("manager_staff_id", id(|r| r.manager_staff_id))
        .opt_code("c_level", code(|r| r.c_level.clone()))
        .opt_rank("c_rank", rank(|r| r.c_rank))
        .opt_code("i_level", code(|r| r.i_level.clone()))
        .opt_rank("i_rank", rank(|r| r.i_rank))
        .opt_code("a_level", code(|r| r.a_level.clone()))
        .opt_rank("a_rank", rank(|r| r.a_rank))
        .boolean("personal", flag(|r| r.personal))
        .boolean("sensitive_personal", flag(|r| r.sensitive_personal))
        .boolean("specific_personal", flag(|r| r.specific_personal))
        .opt_code("my_number_work", code(|r| r.my_number_work.clone()))
        .text("pif_ref", col(|r| r.pif_ref.clone()))
        .text("pia_ref", col(|r| r.pia_ref.clone()))
        .opt_code("zone", code(|r| r.zone.clone()))
        .text("storage", col(|r| r.storage.clone()))
        .text("media", col(|r| r.media.clone()))
        .text("retention", col(|r| r.retention.clone()))
        .text("disposal", col(|r| r.disposal.clone()))
        .text("related_systems", col(|r| r.related_systems.clone()))
        .text("notes", col(|r| r.notes.clone()))
        .opt_date("next_review", date(|r| r.next_review))
        .boolean("retired", flag(|r| r.retired))
        .opt_date("retired_on", date(|r| r.retired_on))
        .text("sort_key", col(|r| r.sort_key.clone()))
        .text("name_key", col(|r| r.name_key.clone()))
        .text("search_key", col(|r| r.search_key.clone()));
    u
}

/// A new asset as it will be written: its row and what its audit entry will say. Built apart from the
/// writing, so that a sheet import builds the next chunk's rows while the database writes this one's.
pub(crate) struct NewAsset {
    row: asset::Model,
    summary: serde_json::Value,
}

impl NewAsset {
    pub(crate) fn new(
        municipality_id: i64,
        scheme: &Scheme,
        fields: &AssetFields,
        now: DateTime<Utc>,
    ) -> Self {
        NewAsset {
            row: row(municipality_id, scheme, fields, now),
            summary: fields.summary(),
        }
    }
}

/// Inserts new assets in large statements, with one audit entry each.
pub(crate) async fn insert_many(
    tx: &mut Tx<'_>,
    municipality_id: i64,
    scheme: &Scheme,
    actor: &AuditActor,
    fields: &[AssetFields],
) -> AppResult<Vec<i64>> {
    // Stamped to the microsecond, as both databases keep it.
    let now = mamori_store::audit::now_micros();
    let new = fields
        .iter()
        .map(|f| NewAsset::new(municipality_id, scheme, f, now))
        .collect();
    insert_new(tx, municipality_id, actor, new).await
}

/// Inserts assets built by [`NewAsset::new`], with one audit entry each; returns their ids in order.
pub(crate) async fn insert_new(
    tx: &mut Tx<'_>,
    municipality_id: i64,
    actor: &AuditActor,
    new: Vec<NewAsset>,
) -> AppResult<Vec<i64>> {
    let started = std::time::Instant::now();
    let postgres = tx.db().get_database_backend() == sea_orm::DbBackend::Postgres;
    let mut ids = Vec::with_capacity(new.len());
    // 34 columns a row: 500 rows keep SQLite under its 32,766 parameters. PostgreSQL takes an array a
    // column (mamori_store::bulk).
    for chunk in new.chunks(if postgres { 1_000 } else { 500 }) {
        let rows = chunk.iter().map(|n| &n.row);
        let found: HashMap<String, i64> = if postgres {
            let at = chunk.first().map_or_else(Utc::now, |n| n.row.created_at);
            unnest(chunk.iter().map(|n| &n.row), at)
                .insert(tx.db(), "asset", &["id", "asset_no"])
                .await?
                .iter()
                .map(|r| {
                    Ok((
                        r.try_get::<String>("", "asset_no")?,
                        r.try_get::<i64>("", "id")?,
                    ))
                })
                .collect::<Result<_, sea_orm::DbErr>>()?
        } else {
            asset::Entity::insert_many(rows.map(|r| {
                let mut m = r.clone().into_active_model().reset_all();
                m.id = sea_orm::ActiveValue::NotSet;
                m
            }))
            .exec_without_returning(tx.db())
            .await?;
            // Read back by 資産番号: SQLite's RETURNING does not promise the order of rows.
            let numbers: Vec<String> = chunk.iter().map(|n| n.row.asset_no.clone()).collect();
            asset::Entity::find()
                .select_only()
                .columns([asset::Column::AssetNo, asset::Column::Id])
                .filter(asset::Column::MunicipalityId.eq(municipality_id))
                .filter(asset::Column::AssetNo.is_in(numbers))
                .into_tuple::<(String, i64)>()
                .all(tx.db())
                .await?
                .into_iter()
                .collect()
        };
        for n in chunk {
            ids.push(*found.get(&n.row.asset_no).ok_or_else(|| {
                AppError::Internal(format!("inserted asset {} not found", n.row.asset_no))
            })?);
        }
    }
    index::bump_revision(tx.db(), municipality_id).await?;
    let rows_written = started.elapsed();
    let count = new.len();
    let entries = new
        .into_iter()
        .zip(&ids)
        .map(|(n, id)| NewEntry {
            municipality_id,
            actor_account_id: actor.account_id,
            actor_label: actor.label.clone(),
            action: Action::AssetCreated,
            target_type: "asset",
            target_id: id.to_string(),
            summary: n.summary,
        })
        .collect();
    tx.audit_batch(municipality_id, entries).await?;
    tracing::debug!(
        assets = count,
        rows_ms = rows_written.as_millis() as u64,
        audit_ms = (started.elapsed() - rows_written).as_millis() as u64,
        "assets inserted"
    );
    Ok(ids)
}

/// Writes a changed asset and an audit entry naming what changed.
pub(crate) async fn update_one(
    tx: &mut Tx<'_>,
    scheme: &Scheme,
    actor: &AuditActor,
    before: &asset::Model,
    after: &AssetFields,
) -> AppResult<()> {
    let old = AssetFields::from_model(before);
    let mut m = row(before.municipality_id, scheme, after, Utc::now())
        .into_active_model()
        .reset_all();
    m.id = Set(before.id);
    m.municipality_id = sea_orm::ActiveValue::NotSet;
    m.created_at = sea_orm::ActiveValue::NotSet;
    m.update(tx.db()).await?;
    index::bump_revision(tx.db(), before.municipality_id).await?;
    let action = if after.retired_on.is_some() && old.retired_on.is_none() {
        Action::AssetRetired
    } else {
        Action::AssetUpdated
    };
    tx.audit(
        before.municipality_id,
        actor,
        action,
        ("asset", before.id.to_string()),
        old.changes_to(after),
    )
    .await
}

/// Whether a 資産番号 is in use in the municipality.
async fn asset_no_taken(
    db: &impl ConnectionTrait,
    municipality_id: i64,
    asset_no: &str,
) -> AppResult<bool> {
    Ok(asset::Entity::find()
        .filter(asset::Column::MunicipalityId.eq(municipality_id))
        .filter(asset::Column::AssetNo.eq(asset_no))
        .one(db)
        .await?
        .is_some())
}

/// Refuses an asset whose owning unit lies outside the editor's reach.
async fn check_owner(tx: &Tx<'_>, editor: &AssetEditor, owner: Option<i64>) -> AppResult<()> {
    if unit_in_reach(tx.db(), &editor.reach, owner).await? {
        Ok(())
    } else {
        Err(AppError::Invalid(vec![FieldError::new(
            "owner",
            "err-unit-out-of-scope",
        )]))
    }
}

/// Registers an asset typed into the form.
pub async fn create(
    app: &App,
    editor: &AssetEditor,
    actor: &AuditActor,
    input: &AssetInput,
) -> AppResult<i64> {
    let mut tx = app.write().await?;
    let scheme = scheme(app, tx.db(), editor.municipality_id).await?;
    let lookup = Lookup::load(tx.db(), editor.municipality_id).await?;
    let fields = AssetFields::validate(&scheme, &lookup, input, None).map_err(AppError::Invalid)?;
    if asset_no_taken(tx.db(), editor.municipality_id, &fields.asset_no).await? {
        return Err(AppError::Invalid(vec![
            FieldError::new("asset_no", "err-duplicate").with("value", fields.asset_no.clone()),
        ]));
    }
    check_owner(&tx, editor, fields.owner_unit_id).await?;
    let ids = insert_many(&mut tx, editor.municipality_id, &scheme, actor, &[fields]).await?;
    tx.commit().await?;
    index::refresh_soon(app, editor.municipality_id);
    ids.first()
        .copied()
        .ok_or_else(|| AppError::Internal("insert gave no id".to_owned()))
}

/// Changes an asset from the form (every field as typed).
pub async fn update(
    app: &App,
    editor: &AssetEditor,
    actor: &AuditActor,
    id: i64,
    input: &AssetInput,
) -> AppResult<()> {
    let mut tx = app.write().await?;
    let scheme = scheme(app, tx.db(), editor.municipality_id).await?;
    let before = load_in_reach(tx.db(), editor.municipality_id, &editor.reach, id).await?;
    let lookup = Lookup::load(tx.db(), editor.municipality_id).await?;
    let existing = AssetFields::from_model(&before);
    let fields = AssetFields::validate(&scheme, &lookup, input, Some(&existing))
        .map_err(AppError::Invalid)?;
    if fields.asset_no != before.asset_no
        && asset_no_taken(tx.db(), editor.municipality_id, &fields.asset_no).await?
    {
        return Err(AppError::Invalid(vec![
            FieldError::new("asset_no", "err-duplicate").with("value", fields.asset_no.clone()),
        ]));
    }
    check_owner(&tx, editor, fields.owner_unit_id).await?;
    if fields != existing {
        update_one(&mut tx, &scheme, actor, &before, &fields).await?;
    }
    tx.commit().await?;
    index::refresh_soon(app, editor.municipality_id);
    Ok(())
}

/// Retires an asset (廃止): it stays in the register, out of the default list, with its history.
pub async fn retire(
    app: &App,
    editor: &AssetEditor,
    actor: &AuditActor,
    id: i64,
    on: Option<NaiveDate>,
) -> AppResult<()> {
    let mut tx = app.write().await?;
    let scheme = scheme(app, tx.db(), editor.municipality_id).await?;
    let before = load_in_reach(tx.db(), editor.municipality_id, &editor.reach, id).await?;
    if before.retired {
        return Err(AppError::field("retired_on", "err-already-retired"));
    }
    let mut fields = AssetFields::from_model(&before);
    fields.retired_on = Some(on.unwrap_or_else(today));
    update_one(&mut tx, &scheme, actor, &before, &fields).await?;
    tx.commit().await?;
    index::refresh_soon(app, editor.municipality_id);
    Ok(())
}

/// Suggests unit ids for a form's select: the units an editor may give assets to, in tree order.
pub async fn owner_choices(app: &App, editor: &AssetEditor) -> AppResult<Vec<org_unit::Model>> {
    let units = crate::org::all_units(app.store().conn(), editor.municipality_id).await?;
    Ok(units
        .into_iter()
        .filter(|u| u.abolished_on.is_none() && editor.reach.covers_unit(&u.tree_path))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PostgreSQL's bulk insert names its columns by hand: a column added to the table must be added there
    /// too, or every imported asset would lose it.
    #[test]
    fn the_bulk_insert_writes_every_column_but_the_id() {
        let rows = unnest(std::iter::empty(), Utc::now());
        assert_eq!(rows.mismatch::<asset::Entity>(), (vec![], vec![]));
    }
}
