//! 6(7) 遵守状況の確認: running the policy's checks against the city's records and keeping what they find.
//!
//! The checks are pure (`mamori_policy::check`); this module gathers their facts ([`facts`]), runs them and
//! records the result as findings with a lifecycle:
//!
//! - **open** when a check first reports a subject, **resolved** automatically when it no longer does, and open
//!   again if it comes back (one row per check and subject);
//! - **accepted** while an approved 例外措置 covers it (recorded, not yet ended, not revoked); when the exception
//!   ends the finding is simply open again — acceptance is derived on reading, never stored.
//!
//! Evaluation runs when the records changed: the audit chain's head (every change appends to it) and the day
//! are remembered with the result, and [`ensure_fresh`] re-evaluates only when either moved.

mod exceptions;
pub mod facts;
pub(crate) mod report;

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use mamori_policy::Text;
use mamori_policy::check::{self, Finding, Severity, Snapshot, SubjectKind};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::access::ComplianceReader;
use crate::{App, AppError, AppResult};
use mamori_store::entity::{audit_head, compliance_daily, finding, setting};

pub use exceptions::{
    ExceptionForm, ExceptionRow, MAX_YEARS as EXCEPTION_MAX_YEARS, grant_exception,
    list_exceptions, revoke_exception,
};
pub use report::{
    Counts, FindingPage, FindingQuery, FindingRow, FindingState, StateFilter, Summary, UnitCounts,
    UnitNode, all_findings, export_findings, findings, summary, unit_counts, unit_nodes,
};

/// What one evaluation changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RefreshReport {
    /// Findings reported for the first time.
    pub opened: usize,
    /// Findings resolved before and reported again.
    pub reopened: usize,
    /// Findings no longer reported.
    pub resolved: usize,
    /// Open findings whose text changed (a renamed asset, a new severity).
    pub updated: usize,
    /// Findings open after the evaluation (accepted ones included).
    pub open: usize,
    /// Milliseconds spent reading the records, running the checks and writing the result.
    pub load_ms: u128,
    pub evaluate_ms: u128,
    pub write_ms: u128,
}

const EVALUATED_KEY: &str = "compliance.evaluated";

/// The state of the records an evaluation saw.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Evaluated {
    audit_seq: i64,
    day: NaiveDate,
    at: DateTime<Utc>,
}

/// When the findings were last brought up to date.
pub async fn evaluated_at(app: &App, municipality_id: i64) -> AppResult<Option<DateTime<Utc>>> {
    Ok(evaluated(app.store().conn(), municipality_id)
        .await?
        .map(|e| e.at))
}

async fn evaluated(db: &impl ConnectionTrait, mid: i64) -> AppResult<Option<Evaluated>> {
    let row = setting::Entity::find()
        .filter(setting::Column::MunicipalityId.eq(mid))
        .filter(setting::Column::Key.eq(EVALUATED_KEY))
        .one(db)
        .await?;
    Ok(row.and_then(|r| serde_json::from_str(&r.value).ok()))
}

async fn audit_seq(db: &impl ConnectionTrait, mid: i64) -> AppResult<i64> {
    Ok(audit_head::Entity::find_by_id(mid)
        .one(db)
        .await?
        .map_or(0, |h| h.seq))
}

/// Re-evaluates if anything was changed (or the day turned) since the last evaluation. Returns the report of
/// the evaluation it ran, if any.
pub async fn ensure_fresh(app: &App, municipality_id: i64) -> AppResult<Option<RefreshReport>> {
    let db = app.store().conn();
    let today = crate::today();
    let seq = audit_seq(db, municipality_id).await?;
    let fresh = |e: &Option<Evaluated>| {
        e.as_ref()
            .is_some_and(|e| e.audit_seq == seq && e.day == today)
    };
    if fresh(&evaluated(db, municipality_id).await?) {
        return Ok(None);
    }
    let _guard = app.compliance_lock().lock().await;
    // Another request may have evaluated while this one waited.
    if fresh(&evaluated(db, municipality_id).await?) {
        return Ok(None);
    }
    refresh(app, municipality_id, today).await.map(Some)
}

/// Runs every check for `today` and records what changed. Callers outside this module go through
/// [`ensure_fresh`] or [`refresh_now`], which serialise evaluations.
async fn refresh(app: &App, municipality_id: i64, today: NaiveDate) -> AppResult<RefreshReport> {
    let started = Instant::now();
    let read = app.store().begin_read().await?;
    let seq = audit_seq(&read, municipality_id).await?;
    let scheme = crate::assets::scheme(app, &read, municipality_id).await?;
    let facts = facts::load(&read, &scheme, municipality_id, today).await?;
    drop(read);
    let load_ms = started.elapsed().as_millis();

    let started = Instant::now();
    let snapshot = Snapshot {
        today,
        scheme: &scheme,
        units: facts.units,
        staff: facts.staff,
        posts: facts.posts,
        accounts: facts.accounts,
        assets: facts.assets,
        network: facts.network,
    };
    let current = check::evaluate(&snapshot);
    let evaluate_ms = started.elapsed().as_millis();

    let started = Instant::now();
    let mut report = record(app, municipality_id, current).await?;
    if report.opened + report.reopened + report.resolved > ANALYZE_AFTER {
        app.store().analyze("finding").await?;
    }
    let now = Utc::now();
    let stamp = Evaluated {
        audit_seq: seq,
        day: today,
        at: now,
    };
    let stamp = serde_json::to_string(&stamp)
        .map_err(|e| AppError::Internal(format!("{EVALUATED_KEY}: {e}")))?;
    crate::settings::put(app.store().conn(), municipality_id, EVALUATED_KEY, stamp).await?;
    report.load_ms = load_ms;
    report.evaluate_ms = evaluate_ms;
    report.write_ms = started.elapsed().as_millis();
    tracing::debug!(
        municipality = municipality_id,
        opened = report.opened,
        resolved = report.resolved,
        open = report.open,
        load_ms,
        evaluate_ms,
        write_ms = report.write_ms,
        "compliance evaluated"
    );
    Ok(report)
}

/// Evaluates now, whatever changed (`mamori check`).
pub async fn refresh_now(app: &App, municipality_id: i64) -> AppResult<RefreshReport> {
    let _guard = app.compliance_lock().lock().await;
    refresh(app, municipality_id, crate::today()).await
}

/// A finding's identity: check, subject kind, subject id.
type Key = (String, String, i64);

/// What an evaluation needs to know of a stored finding.
struct Stored {
    id: i64,
    open: bool,
    digest: i64,
}

/// The texts of a finding as stored, and their digest.
struct Texts {
    severity: String,
    rank: i16,
    label: String,
    ja: String,
    en: String,
    link: String,
    unit: Option<i64>,
    digest: i64,
}

fn texts_of(f: &Finding) -> Texts {
    use sha2::{Digest, Sha256};
    let severity = f.severity.code().to_owned();
    let ja = f.message.get(mamori_policy::Lang::Ja).to_owned();
    let en = f.message.get(mamori_policy::Lang::En).to_owned();
    let unit = f.subject.unit_id.map(|u| u.to_string()).unwrap_or_default();
    let mut hash = Sha256::new();
    for part in [&severity, &f.subject.label, &ja, &en, &f.link, &unit] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    let bytes: [u8; 8] = hash.finalize()[..8].try_into().unwrap_or_default();
    Texts {
        severity,
        rank: 4 - f.severity as i16,
        label: f.subject.label.clone(),
        ja,
        en,
        link: f.link.clone(),
        unit: f.subject.unit_id,
        digest: i64::from_be_bytes(bytes),
    }
}

/// Reconciles the stored findings with what the checks report now, in one transaction: only new, reopened,
/// resolved and changed findings are written.
async fn record(app: &App, mid: i64, current: Vec<Finding>) -> AppResult<RefreshReport> {
    let tx = app.store().begin_write().await?;
    let stored: HashMap<Key, Stored> = finding::Entity::find()
        .select_only()
        .columns([
            finding::Column::Id,
            finding::Column::CheckId,
            finding::Column::SubjectKind,
            finding::Column::SubjectId,
            finding::Column::State,
            finding::Column::Digest,
        ])
        .filter(finding::Column::MunicipalityId.eq(mid))
        .into_tuple::<(i64, String, String, i64, String, i64)>()
        .all(&tx)
        .await?
        .into_iter()
        .map(|(id, check, kind, subject, state, digest)| {
            (
                (check, kind, subject),
                Stored {
                    id,
                    open: state == OPEN,
                    digest,
                },
            )
        })
        .collect();

    let now = Utc::now();
    let mut report = RefreshReport::default();
    let mut seen: HashSet<i64> = HashSet::with_capacity(current.len());
    let mut fresh_keys: HashSet<Key> = HashSet::new();
    let mut new_rows = Vec::new();
    for f in &current {
        let key = (
            f.check_id.to_owned(),
            f.subject.kind.code().to_owned(),
            f.subject.id,
        );
        let text = texts_of(f);
        match stored.get(&key) {
            None => {
                // A check that reports one subject twice: the first report stands.
                if fresh_keys.insert(key) {
                    new_rows.push(new_row(mid, f, text, now));
                }
            }
            Some(s) => {
                if !seen.insert(s.id) {
                    continue;
                }
                if !s.open {
                    report.reopened += 1;
                    reopen(&tx, s.id, text, now).await?;
                } else if s.digest != text.digest {
                    report.updated += 1;
                    update_text(&tx, s.id, text, now).await?;
                }
            }
        }
    }
    report.opened = new_rows.len();
    for chunk in new_rows.chunks(INSERT_CHUNK) {
        finding::Entity::insert_many(chunk.to_vec())
            .exec(&tx)
            .await?;
    }
    let gone: Vec<i64> = stored
        .values()
        .filter(|s| s.open && !seen.contains(&s.id))
        .map(|s| s.id)
        .collect();
    report.resolved = gone.len();
    report.open = seen.len() + new_rows.len();
    for chunk in gone.chunks(INSERT_CHUNK) {
        let q = Query::update()
            .table(Alias::new("finding"))
            .value(Alias::new("state"), RESOLVED)
            .value(Alias::new("resolved_at"), now)
            .and_where(Expr::col(Alias::new("id")).is_in(chunk.iter().copied()))
            .to_owned();
        tx.execute(&q).await?;
    }
    tx.commit().await?;
    Ok(report)
}

/// Changed findings after which the planner's statistics of the table are refreshed (PostgreSQL without them
/// scans every finding for a page of the list).
const ANALYZE_AFTER: usize = 5_000;

/// Rows per multi-row statement: well within SQLite's and PostgreSQL's bound-parameter limits.
const INSERT_CHUNK: usize = 1000;

const OPEN: &str = "open";
const RESOLVED: &str = "resolved";

fn new_row(mid: i64, f: &Finding, t: Texts, now: DateTime<Utc>) -> finding::ActiveModel {
    finding::ActiveModel {
        id: sea_orm::NotSet,
        municipality_id: Set(mid),
        check_id: Set(f.check_id.to_owned()),
        subject_kind: Set(f.subject.kind.code().to_owned()),
        subject_id: Set(f.subject.id),
        subject_label: Set(t.label),
        unit_id: Set(t.unit),
        clause: Set(f.clause.to_owned()),
        rank: Set(t.rank),
        severity: Set(t.severity),
        message_ja: Set(t.ja),
        message_en: Set(t.en),
        link: Set(t.link),
        digest: Set(t.digest),
        state: Set(OPEN.to_owned()),
        first_seen_at: Set(now),
        opened_at: Set(now),
        updated_at: Set(now),
        resolved_at: Set(None),
    }
}

fn with_text(id: i64, t: Texts, now: DateTime<Utc>) -> finding::ActiveModel {
    finding::ActiveModel {
        id: sea_orm::Unchanged(id),
        rank: Set(t.rank),
        severity: Set(t.severity),
        subject_label: Set(t.label),
        message_ja: Set(t.ja),
        message_en: Set(t.en),
        link: Set(t.link),
        unit_id: Set(t.unit),
        digest: Set(t.digest),
        updated_at: Set(now),
        ..Default::default()
    }
}

async fn reopen(
    db: &impl ConnectionTrait,
    id: i64,
    text: Texts,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut row = with_text(id, text, now);
    row.state = Set(OPEN.to_owned());
    row.opened_at = Set(now);
    row.resolved_at = Set(None);
    row.update(db).await?;
    Ok(())
}

async fn update_text(
    db: &impl ConnectionTrait,
    id: i64,
    text: Texts,
    now: DateTime<Utc>,
) -> AppResult<()> {
    with_text(id, text, now).update(db).await?;
    Ok(())
}

/// The message of a stored finding in both languages.
pub(crate) fn message_of(m: &finding::Model) -> Text {
    Text::new(m.message_ja.clone(), m.message_en.clone())
}

/// A stored severity or subject kind this version does not know is treated as the most severe / a
/// municipality-wide subject, so nothing disappears from the overview.
pub(crate) fn severity_of(code: &str) -> Severity {
    Severity::parse(code).unwrap_or(Severity::Critical)
}

pub(crate) fn kind_of(code: &str) -> SubjectKind {
    SubjectKind::parse(code).unwrap_or(SubjectKind::Municipality)
}

/// One day of the trend: the open findings by severity and the accepted ones, as counted that day.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DailyCounts {
    pub day: NaiveDate,
    pub counts: Counts,
}

/// Counts today's findings and keeps them as `day`'s point of the trend (replacing one recorded earlier that
/// day). `mamori serve` does this once a day; `mamori check --record` does it from cron.
pub async fn record_daily(app: &App, municipality_id: i64, day: NaiveDate) -> AppResult<Counts> {
    ensure_fresh(app, municipality_id).await?;
    let cap = ComplianceReader::for_cli(municipality_id);
    let counts = summary(app, &cap).await?.total;
    let n = |severity: Severity| i32::try_from(counts.open_at(severity)).unwrap_or(i32::MAX);
    let tx = app.store().begin_write().await?;
    compliance_daily::Entity::delete_many()
        .filter(compliance_daily::Column::MunicipalityId.eq(municipality_id))
        .filter(compliance_daily::Column::Day.eq(day))
        .exec(&tx)
        .await?;
    compliance_daily::ActiveModel {
        municipality_id: Set(municipality_id),
        day: Set(day),
        open_critical: Set(n(Severity::Critical)),
        open_high: Set(n(Severity::High)),
        open_medium: Set(n(Severity::Medium)),
        open_low: Set(n(Severity::Low)),
        open_info: Set(n(Severity::Info)),
        accepted: Set(i32::try_from(counts.accepted).unwrap_or(i32::MAX)),
    }
    .insert(&tx)
    .await?;
    tx.commit().await?;
    Ok(counts)
}

/// Whether `day`'s point of the trend has been recorded.
pub async fn recorded(app: &App, municipality_id: i64, day: NaiveDate) -> AppResult<bool> {
    Ok(compliance_daily::Entity::find()
        .filter(compliance_daily::Column::MunicipalityId.eq(municipality_id))
        .filter(compliance_daily::Column::Day.eq(day))
        .one(app.store().conn())
        .await?
        .is_some())
}

/// The recorded days from `since` on, oldest first.
pub async fn trend(
    app: &App,
    cap: &ComplianceReader,
    since: NaiveDate,
) -> AppResult<Vec<DailyCounts>> {
    let rows = compliance_daily::Entity::find()
        .filter(compliance_daily::Column::MunicipalityId.eq(cap.municipality_id))
        .filter(compliance_daily::Column::Day.gte(since))
        .order_by_asc(compliance_daily::Column::Day)
        .all(app.store().conn())
        .await?;
    let n = |v: i32| u32::try_from(v).unwrap_or(0);
    Ok(rows
        .into_iter()
        .map(|r| DailyCounts {
            day: r.day,
            counts: Counts {
                open: [
                    n(r.open_info),
                    n(r.open_low),
                    n(r.open_medium),
                    n(r.open_high),
                    n(r.open_critical),
                ],
                accepted: n(r.accepted),
            },
        })
        .collect())
}

/// Records today's point of the trend for every municipality that lacks one (the server calls this every
/// minute; it writes once a day).
pub async fn record_due(app: &App) -> AppResult<()> {
    let today = crate::today();
    let ids: Vec<i64> = mamori_store::entity::municipality::Entity::find()
        .select_only()
        .column(mamori_store::entity::municipality::Column::Id)
        .into_tuple()
        .all(app.store().conn())
        .await?;
    for id in ids {
        if !recorded(app, id, today).await? {
            record_daily(app, id, today).await?;
        }
    }
    Ok(())
}
