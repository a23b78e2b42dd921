//! 6(7), 7: reading the audit trail (auditors, CISO, 統括, administrators), exporting it as JSON Lines for a
//! SIEM, and verifying the chain.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;

use crate::access::AuditReader;
use crate::tx::AuditActor;
use crate::{App, AppResult, jst};
use mamori_store::audit::{self, Action, Checkpoint, Verdict};
use mamori_store::entity::{audit_entry, municipality};

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct AuditQuery {
    /// Stable action code, or its prefix (`auth.`).
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub target_type: String,
    #[serde(default)]
    pub target_id: String,
    /// From this day (JST), inclusive.
    #[serde(default)]
    pub from: String,
    /// To this day (JST), inclusive.
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub page: Option<u64>,
    #[serde(default)]
    pub per_page: Option<u64>,
}

/// One entry as shown and exported.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EntryRow {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_account_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub action_code: i32,
    pub target_type: String,
    pub target_id: String,
    pub summary: serde_json::Value,
    pub hash: String,
    pub prev_hash: String,
}

fn to_row(e: audit_entry::Model) -> EntryRow {
    EntryRow {
        seq: e.seq,
        at: e.at,
        actor_account_id: e.actor_account_id,
        actor: e.actor_label,
        action: e.action,
        action_code: e.action_code,
        target_type: e.target_type,
        target_id: e.target_id,
        summary: serde_json::from_str(&e.summary).unwrap_or(serde_json::Value::Null),
        hash: e.hash,
        prev_hash: e.prev_hash,
    }
}

fn day_start(day: NaiveDate) -> Option<DateTime<Utc>> {
    day.and_hms_opt(0, 0, 0)?
        .and_local_timezone(jst())
        .single()
        .map(|t| t.with_timezone(&Utc))
}

fn filtered(cap: &AuditReader, q: &AuditQuery) -> sea_orm::Select<audit_entry::Entity> {
    let mut query = audit_entry::Entity::find()
        .filter(audit_entry::Column::MunicipalityId.eq(cap.municipality_id));
    let action = q.action.trim();
    if !action.is_empty() {
        query = if action.ends_with('.') {
            query.filter(audit_entry::Column::Action.starts_with(action))
        } else {
            query.filter(audit_entry::Column::Action.eq(action))
        };
    }
    if !q.actor.trim().is_empty() {
        query = query.filter(audit_entry::Column::ActorLabel.eq(q.actor.trim()));
    }
    if !q.target_type.trim().is_empty() {
        query = query.filter(audit_entry::Column::TargetType.eq(q.target_type.trim()));
    }
    if !q.target_id.trim().is_empty() {
        query = query.filter(audit_entry::Column::TargetId.eq(q.target_id.trim()));
    }
    if let Some(from) = mamori_policy::parse_date(&q.from).and_then(day_start) {
        query = query.filter(audit_entry::Column::At.gte(from));
    }
    if let Some(to) = mamori_policy::parse_date(&q.to)
        .and_then(|d| d.succ_opt())
        .and_then(day_start)
    {
        query = query.filter(audit_entry::Column::At.lt(to));
    }
    query
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct EntryPage {
    pub rows: Vec<EntryRow>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

/// Newest first, paginated.
pub async fn list(app: &App, cap: &AuditReader, q: &AuditQuery) -> AppResult<EntryPage> {
    let db = app.store().conn();
    let query = filtered(cap, q);
    let per_page = q.per_page.unwrap_or(50).clamp(1, 500);
    let page = q.page.unwrap_or(1).max(1);
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_desc(audit_entry::Column::Seq)
        .offset((page - 1) * per_page)
        .limit(per_page)
        .all(db)
        .await?;
    Ok(EntryPage {
        rows: rows.into_iter().map(to_row).collect(),
        total,
        page,
        per_page,
    })
}

/// The filtered trail as JSON Lines, oldest first. The export itself is audited.
pub async fn export_jsonl(
    app: &App,
    cap: &AuditReader,
    actor: &AuditActor,
    q: &AuditQuery,
) -> AppResult<String> {
    let mut tx = app.write().await?;
    tx.audit(cap.municipality_id, actor, Action::AuditExported, ("audit", String::new()), json!({"filter": {
        "action": q.action, "actor": q.actor, "target_type": q.target_type, "target_id": q.target_id, "from": q.from, "to": q.to,
    }}))
    .await?;
    tx.commit().await?;
    let db = app.store().conn();
    let mut out = String::new();
    let mut after = 0;
    loop {
        let page = filtered(cap, q)
            .filter(audit_entry::Column::Seq.gt(after))
            .order_by_asc(audit_entry::Column::Seq)
            .limit(2_000)
            .all(db)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in page {
            let line = serde_json::to_string(&to_row(e))
                .map_err(|e| crate::AppError::Internal(e.to_string()))?;
            out.push_str(&line);
            out.push('\n');
        }
    }
    Ok(out)
}

/// The verdict for every municipality's chain.
pub async fn verify_all(
    app: &App,
    checkpoints: &[Checkpoint],
) -> AppResult<Vec<(municipality::Model, Verdict)>> {
    let db = app.store().conn();
    let mut out = Vec::new();
    for m in municipality::Entity::find()
        .order_by_asc(municipality::Column::Id)
        .all(db)
        .await?
    {
        let verdict = audit::verify(db, app.audit_key(), m.id, checkpoints).await?;
        out.push((m, verdict));
    }
    Ok(out)
}

/// Signed checkpoints of every chain's current head, to keep outside the server.
pub async fn checkpoints(app: &App) -> AppResult<Vec<Checkpoint>> {
    let db = app.store().conn();
    let mut out = Vec::new();
    for m in municipality::Entity::find()
        .order_by_asc(municipality::Column::Id)
        .all(db)
        .await?
    {
        if let Some(head) = audit::head(db, m.id).await? {
            out.push(app.audit_key().checkpoint(&head));
        }
    }
    Ok(out)
}

/// After `mamori restore`: seals each chain at its restored head (an earlier state, put back on purpose) and
/// records the restore in the trail, with the head that was sealed before.
pub async fn record_restore(app: &App, source: &str) -> AppResult<()> {
    let db = app.store().conn();
    for m in municipality::Entity::find()
        .order_by_asc(municipality::Column::Id)
        .all(db)
        .await?
    {
        let before = app.audit_key().read_seal(m.id)?;
        if let Some(head) = audit::head(db, m.id).await? {
            app.audit_key().reseal(&head)?;
        }
        let mut tx = app.write().await?;
        tx.audit(
            m.id,
            &AuditActor::cli(),
            Action::DataRestored,
            ("database", String::new()),
            json!({"source": source, "sealed_seq_before": before.map(|c| c.seq)}),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(())
}
