//! Reading what the checks found: counts by clause for the overview, counts by unit for the heat map, the
//! filtered list of findings, and its export for the committee's papers. Counting happens in the database;
//! only findings covered by an exception in force (few) are read one by one, to count them as accepted.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use mamori_policy::check::{Severity, SubjectKind};
use mamori_policy::{Lang, Text, UnitLevel};
use mamori_sheet::{XlsxColumn, XlsxSheet};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::exceptions::in_force;
use super::{OPEN, RESOLVED, kind_of, message_of, severity_of};
use crate::access::ComplianceReader;
use crate::paging::{COUNT_LIMIT, MAX_PER_PAGE, count_up_to};
use crate::{App, AppError, AppResult};
use mamori_store::entity::{finding, org_unit, policy_exception};

/// Open findings by severity, and those accepted under an exception.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Indexed by [`Severity`] from `Info` (0) to `Critical` (4); accepted findings not included.
    pub open: [u32; 5],
    pub accepted: u32,
}

impl Counts {
    pub fn open_total(&self) -> u32 {
        self.open.iter().sum()
    }

    pub fn open_at(&self, severity: Severity) -> u32 {
        self.open[severity as usize]
    }

    /// The most severe open finding.
    pub fn worst(&self) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .rev()
            .find(|s| self.open_at(*s) > 0)
    }

    pub fn add(&mut self, other: &Counts) {
        for (a, b) in self.open.iter_mut().zip(other.open) {
            *a += b;
        }
        self.accepted += other.accepted;
    }
}

/// Counts per stored clause id, and their total.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    pub by_clause: BTreeMap<String, Counts>,
    pub total: Counts,
}

/// The open findings of one org unit in one clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitCounts {
    /// `None` for findings about no unit (a vacant city-wide post, an account of nobody).
    pub unit_id: Option<i64>,
    pub clause: String,
    pub counts: Counts,
}

/// One open finding covered by an exception today.
struct Accepted {
    clause: String,
    severity: Severity,
    unit_id: Option<i64>,
}

/// Exceptions in force today, by (check, subject kind, subject id), with their end dates.
async fn exceptions_in_force(
    db: &impl ConnectionTrait,
    mid: i64,
    today: NaiveDate,
) -> AppResult<HashMap<(String, String, i64), NaiveDate>> {
    let rows = policy_exception::Entity::find()
        .filter(policy_exception::Column::MunicipalityId.eq(mid))
        .filter(in_force(today))
        .all(db)
        .await?;
    let mut out: HashMap<_, NaiveDate> = HashMap::new();
    for r in rows {
        let until = out
            .entry((r.check_id, r.subject_kind, r.subject_id))
            .or_insert(r.ends_on);
        *until = Ord::max(*until, r.ends_on);
    }
    Ok(out)
}

/// The condition "one of these (check, kind, subject)", or nothing when the list is empty.
fn any_subject<'a>(keys: impl Iterator<Item = &'a (String, String, i64)>) -> Condition {
    let mut any = Condition::any();
    let mut empty = true;
    for (check, kind, id) in keys {
        empty = false;
        any = any.add(
            Condition::all()
                .add(finding::Column::CheckId.eq(check.as_str()))
                .add(finding::Column::SubjectKind.eq(kind.as_str()))
                .add(finding::Column::SubjectId.eq(*id)),
        );
    }
    if empty {
        any = any.add(Expr::val(1).eq(Expr::val(0)));
    }
    any
}

/// Open findings covered by an exception in force.
async fn accepted(
    db: &impl ConnectionTrait,
    mid: i64,
    today: NaiveDate,
) -> AppResult<Vec<Accepted>> {
    let exceptions = exceptions_in_force(db, mid, today).await?;
    let keys: Vec<_> = exceptions.keys().cloned().collect();
    let mut out = Vec::new();
    for chunk in keys.chunks(200) {
        let rows = finding::Entity::find()
            .filter(finding::Column::MunicipalityId.eq(mid))
            .filter(finding::Column::State.eq(OPEN))
            .filter(any_subject(chunk.iter()))
            .all(db)
            .await?;
        out.extend(rows.into_iter().map(|r| Accepted {
            clause: r.clause,
            severity: severity_of(&r.severity),
            unit_id: r.unit_id,
        }));
    }
    Ok(out)
}

/// Open findings of one unit, clause and severity, as counted in the database (accepted ones included).
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    unit_id: Option<i64>,
    clause: String,
    severity: Severity,
    n: u32,
}

/// The open findings counted by unit, clause and severity. Counted once per evaluation and kept in memory
/// until the next one, so the overview does not count 100,000 findings on every view.
async fn tallies(app: &App, mid: i64) -> AppResult<std::sync::Arc<Vec<Tally>>> {
    let db = app.store().conn();
    let stamp = super::evaluated(db, mid).await?.map(|e| e.at);
    if let Some(stamp) = stamp
        && let Some(cached) = app.compliance_tallies(mid, stamp)
    {
        return Ok(cached);
    }
    let rows: Vec<(Option<i64>, String, String, i64)> = finding::Entity::find()
        .select_only()
        .column(finding::Column::UnitId)
        .column(finding::Column::Clause)
        .column(finding::Column::Severity)
        .column_as(finding::Column::Id.count(), "n")
        .filter(finding::Column::MunicipalityId.eq(mid))
        .filter(finding::Column::State.eq(OPEN))
        .group_by(finding::Column::UnitId)
        .group_by(finding::Column::Clause)
        .group_by(finding::Column::Severity)
        .into_tuple()
        .all(db)
        .await?;
    let tallies = std::sync::Arc::new(
        rows.into_iter()
            .map(|(unit_id, clause, severity, n)| Tally {
                unit_id,
                clause,
                severity: severity_of(&severity),
                n: u32::try_from(n).unwrap_or(u32::MAX),
            })
            .collect::<Vec<_>>(),
    );
    if let Some(stamp) = stamp {
        app.keep_compliance_tallies(mid, stamp, tallies.clone());
    }
    Ok(tallies)
}

/// Open findings counted by clause (for the overview), accepted ones apart.
pub async fn summary(app: &App, cap: &ComplianceReader) -> AppResult<Summary> {
    let mid = cap.municipality_id;
    let mut summary = Summary::default();
    for t in tallies(app, mid).await?.iter() {
        summary.by_clause.entry(t.clause.clone()).or_default().open[t.severity as usize] += t.n;
    }
    for a in accepted(app.store().conn(), mid, crate::today()).await? {
        let counts = summary.by_clause.entry(a.clause).or_default();
        let slot = &mut counts.open[a.severity as usize];
        *slot = slot.saturating_sub(1);
        counts.accepted += 1;
    }
    for counts in summary.by_clause.values() {
        summary.total.add(counts);
    }
    Ok(summary)
}

/// Open findings counted by the unit answerable and clause (for the heat map), accepted ones apart.
pub async fn unit_counts(app: &App, cap: &ComplianceReader) -> AppResult<Vec<UnitCounts>> {
    let mid = cap.municipality_id;
    let mut cells: BTreeMap<(Option<i64>, String), Counts> = BTreeMap::new();
    for t in tallies(app, mid).await?.iter() {
        cells.entry((t.unit_id, t.clause.clone())).or_default().open[t.severity as usize] += t.n;
    }
    for a in accepted(app.store().conn(), mid, crate::today()).await? {
        let counts = cells.entry((a.unit_id, a.clause)).or_default();
        let slot = &mut counts.open[a.severity as usize];
        *slot = slot.saturating_sub(1);
        counts.accepted += 1;
    }
    Ok(cells
        .into_iter()
        .map(|((unit_id, clause), counts)| UnitCounts {
            unit_id,
            clause,
            counts,
        })
        .collect())
}

/// Where a finding stands today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "until")]
pub enum FindingState {
    Open,
    /// Covered by an exception in force until (and including) this day.
    Accepted(NaiveDate),
    Resolved,
}

impl FindingState {
    pub fn code(self) -> &'static str {
        match self {
            FindingState::Open => "open",
            FindingState::Accepted(_) => "accepted",
            FindingState::Resolved => "resolved",
        }
    }
}

/// Which findings a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StateFilter {
    /// Open and accepted: everything the checks report today.
    #[default]
    Current,
    Open,
    Accepted,
    Resolved,
    All,
}

impl StateFilter {
    pub const ALL: [StateFilter; 5] = [
        StateFilter::Current,
        StateFilter::Open,
        StateFilter::Accepted,
        StateFilter::Resolved,
        StateFilter::All,
    ];

    pub fn code(self) -> &'static str {
        match self {
            StateFilter::Current => "current",
            StateFilter::Open => "open",
            StateFilter::Accepted => "accepted",
            StateFilter::Resolved => "resolved",
            StateFilter::All => "all",
        }
    }
}

/// Filters of the findings list; all applied in the database.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct FindingQuery {
    /// A clause and everything under it: `6` covers `6(1)` and `6(3)①`.
    #[serde(default)]
    pub clause: Option<String>,
    #[serde(default)]
    pub check: Option<String>,
    /// This severity and above.
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub state: StateFilter,
    /// An org unit and everything under it.
    #[serde(default)]
    pub unit: Option<i64>,
    #[serde(default)]
    pub page: Option<u64>,
    #[serde(default)]
    pub per_page: Option<u64>,
}

/// One finding as listed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FindingRow {
    pub id: i64,
    pub check_id: String,
    pub clause: String,
    pub severity: Severity,
    pub subject_kind: SubjectKind,
    pub subject_id: i64,
    pub subject_label: String,
    pub unit_id: Option<i64>,
    /// The unit's path (`総務部/情報政策課`), if any.
    pub unit_path: String,
    pub message: Text,
    pub link: String,
    #[serde(flatten)]
    pub state: FindingState,
    pub first_seen_at: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// A page of findings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FindingPage {
    pub rows: Vec<FindingRow>,
    /// Matches, counted up to [`COUNT_LIMIT`] + 1.
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

/// Whether `clause` is `within` or under it (`6(3)①` is under `6(3)` and `6`, `60` is not under `6`).
fn clause_within(clause: &str, within: &str) -> bool {
    clause
        .strip_prefix(within)
        .is_some_and(|rest| rest.is_empty() || !rest.starts_with(|c: char| c.is_ascii_digit()))
}

async fn condition(
    db: &impl ConnectionTrait,
    mid: i64,
    q: &FindingQuery,
    exceptions: &HashMap<(String, String, i64), NaiveDate>,
) -> AppResult<Condition> {
    let mut cond = Condition::all().add(finding::Column::MunicipalityId.eq(mid));
    if let Some(within) = q.clause.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        // The stored clause ids are few: pick those within the asked clause here, match them exactly there.
        let clauses: Vec<String> = finding::Entity::find()
            .select_only()
            .column(finding::Column::Clause)
            .distinct()
            .filter(finding::Column::MunicipalityId.eq(mid))
            .into_tuple::<String>()
            .all(db)
            .await?
            .into_iter()
            .filter(|c| clause_within(c, within))
            .collect();
        cond = cond.add(finding::Column::Clause.is_in(clauses));
    }
    if let Some(check) = q.check.as_deref().filter(|c| !c.is_empty()) {
        cond = cond.add(finding::Column::CheckId.eq(check));
    }
    if let Some(min) = q.severity {
        let codes: Vec<&str> = Severity::ALL
            .into_iter()
            .filter(|s| *s >= min)
            .map(Severity::code)
            .collect();
        cond = cond.add(finding::Column::Severity.is_in(codes));
    }
    if let Some(unit) = q.unit {
        let path = org_unit::Entity::find_by_id(unit)
            .one(db)
            .await?
            .filter(|u| u.municipality_id == mid)
            .map(|u| u.tree_path)
            .ok_or(AppError::NotFound)?;
        cond = cond.add(finding::Column::UnitId.in_subquery(crate::paging::units_under(&[path])));
    }
    let covered = any_subject(exceptions.keys());
    cond = match q.state {
        StateFilter::Current => cond.add(finding::Column::State.eq(OPEN)),
        StateFilter::Open => cond.add(finding::Column::State.eq(OPEN)).add(covered.not()),
        StateFilter::Accepted => cond.add(finding::Column::State.eq(OPEN)).add(covered),
        StateFilter::Resolved => cond.add(finding::Column::State.eq(RESOLVED)),
        StateFilter::All => cond,
    };
    Ok(cond)
}

fn query(cond: Condition) -> sea_orm::Select<finding::Entity> {
    finding::Entity::find()
        .filter(cond)
        .order_by_asc(finding::Column::State) // "open" before "resolved"
        .order_by_asc(finding::Column::Rank)
        .order_by_asc(finding::Column::Clause)
        .order_by_asc(finding::Column::CheckId)
        .order_by_asc(finding::Column::Id)
}

async fn rows_of(
    db: &impl ConnectionTrait,
    models: Vec<finding::Model>,
    exceptions: &HashMap<(String, String, i64), NaiveDate>,
) -> AppResult<Vec<FindingRow>> {
    let unit_ids: HashSet<i64> = models.iter().filter_map(|m| m.unit_id).collect();
    let mut paths = HashMap::new();
    for chunk in unit_ids.into_iter().collect::<Vec<_>>().chunks(500) {
        for (id, path) in org_unit::Entity::find()
            .select_only()
            .column(org_unit::Column::Id)
            .column(org_unit::Column::Path)
            .filter(org_unit::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple::<(i64, String)>()
            .all(db)
            .await?
        {
            paths.insert(id, path);
        }
    }
    Ok(models
        .into_iter()
        .map(|m| {
            let state = if m.state == RESOLVED {
                FindingState::Resolved
            } else {
                match exceptions.get(&(m.check_id.clone(), m.subject_kind.clone(), m.subject_id)) {
                    Some(until) => FindingState::Accepted(*until),
                    None => FindingState::Open,
                }
            };
            FindingRow {
                id: m.id,
                message: message_of(&m),
                severity: severity_of(&m.severity),
                subject_kind: kind_of(&m.subject_kind),
                unit_path: m
                    .unit_id
                    .and_then(|id| paths.get(&id).cloned())
                    .unwrap_or_default(),
                check_id: m.check_id,
                clause: m.clause,
                subject_id: m.subject_id,
                subject_label: m.subject_label,
                unit_id: m.unit_id,
                link: m.link,
                state,
                first_seen_at: m.first_seen_at,
                opened_at: m.opened_at,
                resolved_at: m.resolved_at,
            }
        })
        .collect())
}

/// A page of findings matching the filters: open first, most severe first.
pub async fn findings(
    app: &App,
    cap: &ComplianceReader,
    q: &FindingQuery,
) -> AppResult<FindingPage> {
    let db = app.store().conn();
    let exceptions = exceptions_in_force(db, cap.municipality_id, crate::today()).await?;
    let cond = condition(db, cap.municipality_id, q, &exceptions).await?;
    let per_page = q.per_page.unwrap_or(50).clamp(1, MAX_PER_PAGE);
    let page = Ord::max(q.page.unwrap_or(1), 1);
    let total = count_up_to(
        db,
        finding::Entity::find().filter(cond.clone()),
        finding::Column::Id,
        COUNT_LIMIT + 1,
    )
    .await?;
    let models = query(cond)
        .offset((page - 1) * per_page)
        .limit(per_page)
        .all(db)
        .await?;
    Ok(FindingPage {
        rows: rows_of(db, models, &exceptions).await?,
        total,
        page,
        per_page,
    })
}

/// Every finding matching the filters (for `mamori check` and the export).
pub async fn all_findings(
    app: &App,
    cap: &ComplianceReader,
    q: &FindingQuery,
) -> AppResult<Vec<FindingRow>> {
    let db = app.store().conn();
    let exceptions = exceptions_in_force(db, cap.municipality_id, crate::today()).await?;
    let cond = condition(db, cap.municipality_id, q, &exceptions).await?;
    let models = query(cond).all(db).await?;
    rows_of(db, models, &exceptions).await
}

/// The findings matching the filters as an xlsx sheet for the committee's papers, with a header in `lang`.
pub async fn export_findings(
    app: &App,
    cap: &ComplianceReader,
    q: &FindingQuery,
    lang: Lang,
    state_name: impl Fn(FindingState) -> String,
) -> AppResult<(Vec<u8>, usize)> {
    let rows = all_findings(app, cap, q).await?;
    let headers: &[(&str, &str, f64)] = &[
        ("状態", "State", 14.0),
        ("重大度", "Severity", 8.0),
        ("条項", "Clause", 8.0),
        ("チェック", "Check", 28.0),
        ("対象の種類", "Subject kind", 12.0),
        ("対象", "Subject", 30.0),
        ("組織", "Unit", 30.0),
        ("内容", "Finding", 60.0),
        ("初回検出日", "First seen", 12.0),
    ];
    let columns: Vec<XlsxColumn> = headers
        .iter()
        .map(|(ja, en, width)| {
            XlsxColumn::new(if lang == Lang::Ja { *ja } else { *en }).width(*width)
        })
        .collect();
    let data: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                state_name(r.state),
                r.severity.name(lang).to_owned(),
                r.clause.clone(),
                mamori_policy::check::check_by_id(&r.check_id)
                    .map_or_else(|| r.check_id.clone(), |c| c.title.get(lang).to_owned()),
                r.subject_kind.name(lang).to_owned(),
                r.subject_label.clone(),
                r.unit_path.clone(),
                r.message.get(lang).to_owned(),
                r.first_seen_at
                    .with_timezone(&crate::jst())
                    .format("%Y/%m/%d")
                    .to_string(),
            ]
        })
        .collect();
    let bytes = mamori_sheet::write_xlsx(&XlsxSheet {
        name: if lang == Lang::Ja {
            "指摘事項"
        } else {
            "Findings"
        },
        columns: &columns,
        rows: &data,
    })
    .map_err(|e| AppError::Invalid(crate::sheet::to_field_errors("file", &e)))?;
    Ok((bytes, rows.len()))
}

/// The org units as the heat map needs them: id, parent, level, name; abolished ones left out.
#[derive(Debug, Clone)]
pub struct UnitNode {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub level: UnitLevel,
    pub name: String,
    pub sort_key: String,
}

pub async fn unit_nodes(app: &App, cap: &ComplianceReader) -> AppResult<Vec<UnitNode>> {
    let rows: Vec<(i64, Option<i64>, String, String, String)> = org_unit::Entity::find()
        .select_only()
        .columns([
            org_unit::Column::Id,
            org_unit::Column::ParentId,
            org_unit::Column::Level,
            org_unit::Column::Name,
            org_unit::Column::SortKey,
        ])
        .filter(org_unit::Column::MunicipalityId.eq(cap.municipality_id))
        .filter(org_unit::Column::AbolishedOn.is_null())
        .filter(org_unit::Column::InScope.eq(true))
        .order_by_asc(org_unit::Column::SortKey)
        .into_tuple()
        .all(app.store().conn())
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, parent_id, level, name, sort_key)| UnitNode {
            id,
            parent_id,
            level: UnitLevel::parse(&level).unwrap_or_default(),
            name,
            sort_key,
        })
        .collect())
}
