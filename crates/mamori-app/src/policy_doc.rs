//! 8 見直し: the city's own basic-policy text, imported version by version (改正), so each clause's words stand
//! beside its checks and two versions can be compared clause by clause.
//!
//! A file is read as UTF-8 (with or without BOM), UTF-16 with a BOM, or Shift_JIS (CP932) — what Word and
//! Notepad save on a city's PCs — and parsed by `mamori_policy::policy_text`. Limits: 2 MiB and 5,000 clauses.

use chrono::{DateTime, NaiveDate, Utc};
use mamori_policy::Lang;
use mamori_policy::policy_text::{self, ClauseChange, ParsedClause, PolicyText, PolicyTextError};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::json;

use crate::access::{ComplianceReader, PolicyAdmin};
use crate::{App, AppError, AppResult, AuditActor, FieldError};
use mamori_store::audit::Action;
use mamori_store::entity::{policy_clause, policy_version};

/// One imported version.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VersionRow {
    pub id: i64,
    pub title: String,
    /// As written: 令和8年5月19日.
    pub revised_label: String,
    pub revised_on: Option<NaiveDate>,
    pub source_name: String,
    pub imported_at: DateTime<Utc>,
    pub clauses: usize,
}

/// A version with its clauses in document order.
#[derive(Debug, Clone)]
pub struct Version {
    pub row: VersionRow,
    pub text: PolicyText,
}

/// The text of a file, or why it cannot be read.
pub fn decode(bytes: &[u8]) -> Result<String, FieldError> {
    if let Some((encoding, _)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _, errors) = encoding.decode(bytes);
        return if errors {
            Err(FieldError::new("file", "err-text-encoding"))
        } else {
            Ok(text.into_owned())
        };
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    let (text, _, errors) = encoding_rs::SHIFT_JIS.decode(bytes);
    if errors {
        Err(FieldError::new("file", "err-text-encoding"))
    } else {
        Ok(text.into_owned())
    }
}

/// A parse error as a field error: the message in both languages, for the page or the terminal to pick.
fn parse_error(e: &PolicyTextError) -> FieldError {
    FieldError::new("file", "err-policy-text")
        .with("ja", e.message(Lang::Ja))
        .with("en", e.message(Lang::En))
}

/// Reads a file and stores it as a new version. Nothing is stored when it cannot be read.
pub async fn import(
    app: &App,
    cap: &PolicyAdmin,
    by: &AuditActor,
    file_name: &str,
    bytes: &[u8],
) -> AppResult<i64> {
    if bytes.len() > policy_text::MAX_BYTES {
        return Err(AppError::Invalid(vec![parse_error(
            &PolicyTextError::TooLarge { bytes: bytes.len() },
        )]));
    }
    let text = decode(bytes).map_err(|e| AppError::Invalid(vec![e]))?;
    let parsed = policy_text::parse_policy_text(&text)
        .map_err(|e| AppError::Invalid(vec![parse_error(&e)]))?;
    let name = std::path::Path::new(file_name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tx = app.write().await?;
    let version = policy_version::ActiveModel {
        municipality_id: Set(cap.municipality_id),
        title: Set(parsed.title.clone().unwrap_or_else(|| name.clone())),
        revised_label: Set(parsed.revised.clone().unwrap_or_default()),
        revised_on: Set(parsed.revised_date()),
        source_name: Set(name.clone()),
        source_text: Set(text),
        imported_by: Set(by.account_id),
        imported_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(tx.db())
    .await?;
    let rows: Vec<policy_clause::ActiveModel> = parsed
        .clauses
        .iter()
        .enumerate()
        .map(|(i, c)| policy_clause::ActiveModel {
            version_id: Set(version.id),
            ord: Set(i32::try_from(i).unwrap_or(i32::MAX)),
            clause_id: Set(c.id.clone()),
            heading: Set(c.heading.clone()),
            body: Set(c.body.clone()),
            ..Default::default()
        })
        .collect();
    for chunk in rows.chunks(1000) {
        policy_clause::Entity::insert_many(chunk.to_vec())
            .exec(tx.db())
            .await?;
    }
    tx.audit(
        cap.municipality_id,
        by,
        Action::PolicyImported,
        ("policy_version", version.id.to_string()),
        json!({
            "file": name,
            "revised": version.revised_label,
            "clauses": parsed.clauses.len(),
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(version.id)
}

/// Every version, the latest 改正 first.
pub async fn versions(app: &App, cap: &ComplianceReader) -> AppResult<Vec<VersionRow>> {
    let db = app.store().conn();
    let rows = policy_version::Entity::find()
        .select_only()
        .columns([
            policy_version::Column::Id,
            policy_version::Column::Title,
            policy_version::Column::RevisedLabel,
            policy_version::Column::RevisedOn,
            policy_version::Column::SourceName,
            policy_version::Column::ImportedAt,
        ])
        .filter(policy_version::Column::MunicipalityId.eq(cap.municipality_id))
        .order_by_desc(policy_version::Column::RevisedOn)
        .order_by_desc(policy_version::Column::Id)
        .into_tuple::<(
            i64,
            String,
            String,
            Option<NaiveDate>,
            String,
            DateTime<Utc>,
        )>()
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, title, revised_label, revised_on, source_name, imported_at) in rows {
        let clauses = policy_clause::Entity::find()
            .filter(policy_clause::Column::VersionId.eq(id))
            .count(db)
            .await?;
        out.push(VersionRow {
            id,
            title,
            revised_label,
            revised_on,
            source_name,
            imported_at,
            clauses: usize::try_from(clauses).unwrap_or(usize::MAX),
        });
    }
    Ok(out)
}

/// One version with its clauses.
pub async fn version(app: &App, cap: &ComplianceReader, id: i64) -> AppResult<Version> {
    let db = app.store().conn();
    let v = policy_version::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|v| v.municipality_id == cap.municipality_id)
        .ok_or(AppError::NotFound)?;
    let clauses: Vec<ParsedClause> = policy_clause::Entity::find()
        .filter(policy_clause::Column::VersionId.eq(id))
        .order_by_asc(policy_clause::Column::Ord)
        .all(db)
        .await?
        .into_iter()
        .map(|c| ParsedClause {
            id: c.clause_id,
            heading: c.heading,
            body: c.body,
            line: 0,
        })
        .collect();
    Ok(Version {
        row: VersionRow {
            id: v.id,
            title: v.title.clone(),
            revised_label: v.revised_label.clone(),
            revised_on: v.revised_on,
            source_name: v.source_name,
            imported_at: v.imported_at,
            clauses: clauses.len(),
        },
        text: PolicyText {
            title: Some(v.title),
            revised: Some(v.revised_label),
            clauses,
        },
    })
}

/// The latest version (by 改正 date, then import), if any.
pub async fn latest(app: &App, cap: &ComplianceReader) -> AppResult<Option<Version>> {
    match versions(app, cap).await?.first() {
        Some(v) => Ok(Some(version(app, cap, v.id).await?)),
        None => Ok(None),
    }
}

/// What changed from one version to another, clause by clause.
pub async fn diff(
    app: &App,
    cap: &ComplianceReader,
    from: i64,
    to: i64,
) -> AppResult<(VersionRow, VersionRow, Vec<ClauseChange>)> {
    let old = version(app, cap, from).await?;
    let new = version(app, cap, to).await?;
    let changes = policy_text::diff(&old.text, &new.text);
    Ok((old.row, new.row, changes))
}
