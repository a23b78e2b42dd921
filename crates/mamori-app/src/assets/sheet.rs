//! The register in and out of Excel and CSV, the way a 課 keeps it today: Japanese headers (English aliases
//! accepted), any column order, UTF-8 or Shift_JIS. Import is a dry run or all-or-nothing; export → import
//! changes nothing.

use std::collections::HashMap;
use std::sync::Arc;

use mamori_sheet::{ColumnSpec, EncodingChoice};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{AssetEditor, AssetFields, AssetInput, Lookup};
use crate::sheet::SheetHead;
use crate::tx::AuditActor;
use crate::{App, AppError, AppResult, FieldError};
use mamori_store::audit::Action;
use mamori_store::entity::asset;

/// The register's columns: the Japanese heading first (it is what export writes), then other names.
pub const COLUMNS: &[ColumnSpec] = &[
    ColumnSpec::required(
        "asset_no",
        &[
            "資産番号",
            "資産ID",
            "資産ＩＤ",
            "asset_no",
            "asset number",
            "asset id",
        ],
    ),
    ColumnSpec::optional("name", &["資産名", "資産の名称", "name", "asset name"]),
    ColumnSpec::optional("kind", &["種別", "資産の種類", "資産種別", "kind", "type"]),
    ColumnSpec::optional(
        "owner_code",
        &["所管課コード", "組織コード", "owner_code", "owner code"],
    ),
    ColumnSpec::optional(
        "owner",
        &["所管課", "所管", "所有者", "owner", "owning unit"],
    ),
    ColumnSpec::optional(
        "manager_no",
        &["管理者職員番号", "manager_no", "manager number"],
    ),
    ColumnSpec::optional("manager", &["管理者", "管理者氏名", "manager"]),
    ColumnSpec::optional(
        "confidentiality",
        &["機密性", "自治体機密性", "confidentiality"],
    ),
    ColumnSpec::optional("integrity", &["完全性", "integrity"]),
    ColumnSpec::optional("availability", &["可用性", "availability"]),
    ColumnSpec::optional("personal", &["個人情報", "personal", "personal data"]),
    ColumnSpec::optional(
        "sensitive_personal",
        &[
            "要配慮個人情報",
            "sensitive_personal",
            "sensitive personal data",
        ],
    ),
    ColumnSpec::optional(
        "specific_personal",
        &[
            "特定個人情報",
            "specific_personal",
            "specific personal information",
        ],
    ),
    ColumnSpec::optional(
        "my_number_work",
        &["事務区分", "my_number_work", "my number work"],
    ),
    ColumnSpec::optional(
        "pif_ref",
        &["個人情報ファイル簿", "pif_ref", "personal information file"],
    ),
    ColumnSpec::optional(
        "pia_ref",
        &[
            "特定個人情報保護評価",
            "pia_ref",
            "privacy impact assessment",
        ],
    ),
    ColumnSpec::optional("zone", &["三層区分", "三層の区分", "zone"]),
    ColumnSpec::optional("storage", &["保存場所", "storage", "location"]),
    ColumnSpec::optional("media", &["媒体", "media"]),
    ColumnSpec::optional("retention", &["保存期間", "retention"]),
    ColumnSpec::optional("disposal", &["廃棄方法", "disposal"]),
    ColumnSpec::optional(
        "related_systems",
        &["関連システム", "related_systems", "related systems"],
    ),
    ColumnSpec::optional("notes", &["備考", "notes", "remarks"]),
    ColumnSpec::optional(
        "next_review",
        &["次回見直し日", "next_review", "next review"],
    ),
    ColumnSpec::optional("retired_on", &["廃止日", "retired_on", "retired on"]),
];

/// One problem of a row: where (line, column as the file writes it), what was there, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RowProblem {
    pub line: usize,
    pub column: String,
    pub value: String,
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

/// What a row does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum RowAction {
    Create,
    /// Changes these fields.
    Update {
        fields: Vec<String>,
    },
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PlannedRow {
    pub line: usize,
    pub asset_no: String,
    #[serde(flatten)]
    pub action: RowAction,
}

/// How many planned changes an [`ImportReport`] lists; the counts go on past it.
pub const CHANGES_LISTED: usize = 1_000;

/// What an import found and (unless a dry run or refused) did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Rows that create or change an asset, in file order: the first [`CHANGES_LISTED`] of them
    /// (`created + updated` in all).
    pub changes: Vec<PlannedRow>,
    pub problems: Vec<RowProblem>,
    /// Headers the register does not know; their cells are not imported.
    pub unknown_columns: Vec<String>,
    /// The CSV encoding read (`UTF-8`, `Shift_JIS` …); none for xlsx.
    pub encoding: Option<String>,
    pub applied: bool,
}

/// Progress of a long import: (rows done, rows in all).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Send + Sync);

fn input_of(sheet: &SheetHead, row: &mamori_sheet::Row) -> AssetInput {
    let get = |key| sheet.present(row, key);
    AssetInput {
        asset_no: get("asset_no"),
        name: get("name"),
        kind: get("kind"),
        owner_code: get("owner_code"),
        owner: get("owner"),
        manager_no: get("manager_no"),
        manager: get("manager"),
        confidentiality: get("confidentiality"),
        integrity: get("integrity"),
        availability: get("availability"),
        personal: get("personal"),
        sensitive_personal: get("sensitive_personal"),
        specific_personal: get("specific_personal"),
        my_number_work: get("my_number_work"),
        pif_ref: get("pif_ref"),
        pia_ref: get("pia_ref"),
        zone: get("zone"),
        storage: get("storage"),
        media: get("media"),
        retention: get("retention"),
        disposal: get("disposal"),
        related_systems: get("related_systems"),
        notes: get("notes"),
        next_review: get("next_review"),
        retired_on: get("retired_on"),
    }
}

fn display_name(key: &str) -> &'static str {
    COLUMNS
        .iter()
        .find(|c| c.key == key)
        .map(|c| c.display_name())
        .unwrap_or("")
}

fn problem(sheet: &SheetHead, row: &mamori_sheet::Row, mut e: FieldError) -> RowProblem {
    // A unit or a person named only by code is reported at the code's column.
    for (name, code) in [("owner", "owner_code"), ("manager", "manager_no")] {
        if e.field == name
            && sheet.columns.index(name).is_none()
            && sheet.columns.index(code).is_some()
        {
            e.field = code.to_owned();
        }
    }
    let value = e
        .args
        .iter()
        .find(|(k, _)| *k == "value")
        .map(|(_, v)| v.clone())
        .or_else(|| sheet.present(row, &e.field))
        .unwrap_or_default();
    RowProblem {
        line: row.line,
        column: sheet.column_name(&e.field, display_name(&e.field)),
        value,
        key: e.key,
        args: e.args,
    }
}

/// Field names that differ between two versions of an asset.
fn changed_fields(before: &AssetFields, after: &AssetFields) -> Vec<String> {
    let b = before.changes_to(after);
    b.as_object()
        .map(|m| {
            m.keys()
                .filter(|k| *k != "asset_no_now")
                .map(|k| k.trim_end_matches("_changed").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

impl ImportReport {
    /// Changes not listed in [`ImportReport::changes`] (beyond [`CHANGES_LISTED`]).
    pub fn changes_not_listed(&self) -> usize {
        (self.created + self.updated).saturating_sub(self.changes.len())
    }

    fn plan(&mut self, row: PlannedRow) {
        if self.changes.len() < CHANGES_LISTED {
            self.changes.push(row);
        }
    }
}

/// Rows validated and written together: one query finds the existing assets of a chunk.
const CHUNK: usize = 1_000;

/// A chunk checked on its thread: what to write, and the 資産番号 seen and the report, handed back.
type Checked = (Planned, HashMap<String, usize>, ImportReport);

/// What a chunk of rows does, once validated.
#[derive(Default)]
struct Planned {
    creates: Vec<super::NewAsset>,
    updates: Vec<(asset::Model, AssetFields)>,
}

/// Reads a register sheet and, unless `dry_run`, applies it: every row or none. Re-importing the same
/// file changes nothing (rows are matched by 資産番号; an unchanged row is left alone).
///
/// One pass, so that memory does not grow with the file: each chunk of rows is validated and, while no
/// problem has been found, written at once in the one open transaction. A problem stops the writing but not
/// the checking, so that every problem is reported; then everything is rolled back. Only the 資産番号 seen
/// (for duplicates), the problems and the first [`CHANGES_LISTED`] changes are kept for the whole file.
#[allow(clippy::too_many_arguments)]
pub async fn import(
    app: &App,
    editor: &AssetEditor,
    actor: &AuditActor,
    file_name: &str,
    bytes: &[u8],
    encoding: EncodingChoice,
    dry_run: bool,
    progress: Progress<'_>,
) -> AppResult<ImportReport> {
    let started = std::time::Instant::now();
    let file_error =
        |e: &mamori_sheet::SheetError| AppError::Invalid(crate::sheet::to_field_errors("file", e));
    let mut source =
        crate::sheet::open("file", file_name, bytes, encoding).map_err(AppError::Invalid)?;
    let mut rows = source.rows().map_err(|e| file_error(&e))?;
    let sheet = SheetHead::resolve("file", &rows, COLUMNS).map_err(AppError::Invalid)?;
    let expected = rows.rows_hint();
    let mut report = ImportReport {
        unknown_columns: sheet
            .columns
            .unknown()
            .iter()
            .map(|c| format!("{} ({})", c.name, c.letter))
            .collect(),
        encoding: sheet.encoding.map(|e| e.label().to_owned()),
        ..Default::default()
    };
    let mut tx = app.write().await?;
    let municipality_id = editor.municipality_id;
    let checker = Arc::new(Checker {
        municipality_id,
        now: mamori_store::audit::now_micros(),
        reach: editor.reach.clone(),
        scheme: super::scheme(app, tx.db(), municipality_id).await?,
        lookup: Lookup::load(tx.db(), municipality_id).await?,
        sheet,
    });
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut bulk = false;
    let (mut reading, mut writing) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    // A pipeline over the two cores, keeping the database busy: while one chunk is checked (and its rows
    // built) on another thread, the database finds the assets the next chunk names and writes the chunk
    // checked before, and this thread reads the chunk after. The check of a chunk takes the 資産番号 seen
    // and the report along and hands them back.
    let mut checking: Option<tokio::task::JoinHandle<Checked>> = None;
    let mut rows_read = 0;
    let mut chunk = read_chunk(&mut rows);
    loop {
        let step = std::time::Instant::now();
        let chunk_now = match chunk {
            Ok(chunk) => chunk,
            Err(e) => {
                // The file itself cannot be read on: it is refused as a whole, as before any row was looked at.
                if bulk {
                    app.store().end_bulk(tx.db()).await?;
                }
                tx.rollback().await?;
                return Err(file_error(&e));
            }
        };
        let next = if chunk_now.is_empty() {
            None
        } else {
            let inputs: Vec<AssetInput> = chunk_now
                .iter()
                .map(|r| input_of(&checker.sheet, r))
                .collect();
            let existing = existing_assets(&mut tx, municipality_id, &inputs).await?;
            rows_read += chunk_now.len();
            Some((chunk_now, inputs, existing))
        };
        reading += step.elapsed();
        let mut checked = None;
        if let Some(handle) = checking.take() {
            let (planned, seen_now, report_now) = handle
                .await
                .map_err(|e| AppError::Internal(format!("import check: {e}")))?;
            (seen, report) = (seen_now, report_now);
            if !dry_run && report.problems.is_empty() {
                checked = Some(planned);
            }
        }
        let last = next.is_none();
        if let Some((chunk, inputs, existing)) = next {
            report.rows += chunk.len();
            let checker = checker.clone();
            let (mut seen, mut report) = (std::mem::take(&mut seen), std::mem::take(&mut report));
            checking = Some(tokio::task::spawn_blocking(move || {
                let planned = checker.check(&chunk, inputs, existing, &mut seen, &mut report);
                (planned, seen, report)
            }));
        }
        if let Some(planned) = checked {
            let step = std::time::Instant::now();
            if !bulk {
                app.store().begin_bulk(tx.db()).await?;
                bulk = true;
            }
            // The statements go out first; the chunk after is read while the database works on them.
            let scheme = &checker.scheme;
            let (written, read) = tokio::join!(
                write(&mut tx, scheme, municipality_id, actor, planned),
                async {
                    if last {
                        Ok(Vec::new())
                    } else {
                        read_chunk(&mut rows)
                    }
                }
            );
            written?;
            chunk = read;
            writing += step.elapsed();
        } else {
            chunk = read_chunk(&mut rows);
        }
        if last {
            break;
        }
        progress(rows_read, expected.max(rows_read));
    }
    tracing::debug!(
        rows = report.rows,
        read_ms = reading.as_millis() as u64,
        write_ms = writing.as_millis() as u64,
        "import read, checked and written"
    );
    if dry_run || !report.problems.is_empty() {
        if bulk {
            app.store().end_bulk(tx.db()).await?;
        }
        tx.rollback().await?;
        progress(report.rows, report.rows);
        return Ok(report);
    }
    let digest = hex::encode(Sha256::digest(bytes));
    tx.audit(
        municipality_id,
        actor,
        Action::AssetsImported,
        ("asset_import", digest.clone()),
        json!({
            "file": file_name,
            "sha256": digest,
            "rows": report.rows,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
        }),
    )
    .await?;
    if bulk {
        app.store().end_bulk(tx.db()).await?;
    }
    let before_commit = started.elapsed();
    tx.commit().await?;
    super::index::refresh_soon(app, editor.municipality_id);
    if report.created + report.updated >= 10_000 {
        app.store().checkpoint().await?;
    }
    tracing::debug!(
        written_ms = before_commit.as_millis() as u64,
        commit_ms = (started.elapsed() - before_commit).as_millis() as u64,
        "import written"
    );
    report.applied = true;
    progress(report.rows, report.rows);
    Ok(report)
}

/// What checking a row needs besides the row, the same for the whole file; shared with the thread that checks.
struct Checker {
    municipality_id: i64,
    /// When the import began: the new assets' `created_at`.
    now: chrono::DateTime<chrono::Utc>,
    /// The editor's reach: where an asset is and where the row puts it must both be within it.
    reach: crate::access::Reach,
    scheme: mamori_policy::Scheme,
    lookup: Lookup,
    sheet: SheetHead,
}

/// The assets of this municipality that the rows name by 資産番号.
async fn existing_assets(
    tx: &mut crate::Tx<'_>,
    municipality_id: i64,
    inputs: &[AssetInput],
) -> AppResult<HashMap<String, asset::Model>> {
    let numbers = inputs.iter().filter_map(|i| {
        i.asset_no
            .as_deref()
            .and_then(|n| super::fields::parse_asset_no(n).ok())
    });
    Ok(asset::Entity::find()
        .filter(asset::Column::MunicipalityId.eq(municipality_id))
        .filter(asset::Column::AssetNo.is_in(numbers))
        .all(tx.db())
        .await?
        .into_iter()
        .map(|found| (found.asset_no.clone(), found))
        .collect())
}

/// Writes what a chunk creates and changes.
async fn write(
    tx: &mut crate::Tx<'_>,
    scheme: &mamori_policy::Scheme,
    municipality_id: i64,
    actor: &AuditActor,
    planned: Planned,
) -> AppResult<()> {
    if !planned.creates.is_empty() {
        super::insert_new(tx, municipality_id, actor, planned.creates).await?;
    }
    for (model, fields) in &planned.updates {
        super::update_one(tx, scheme, actor, model, fields).await?;
    }
    Ok(())
}

/// The next rows of the sheet, up to a chunk; none at its end.
fn read_chunk(
    rows: &mut mamori_sheet::RowReader<'_>,
) -> Result<Vec<mamori_sheet::Row>, mamori_sheet::SheetError> {
    rows.by_ref().take(CHUNK).collect()
}

impl Checker {
    /// Checks a chunk of rows: problems and planned changes go to `report`; what to write comes back.
    fn check(
        &self,
        rows: &[mamori_sheet::Row],
        inputs: Vec<AssetInput>,
        mut existing: HashMap<String, asset::Model>,
        seen: &mut HashMap<String, usize>,
        report: &mut ImportReport,
    ) -> Planned {
        let (sheet, scheme, lookup) = (&self.sheet, &self.scheme, &self.lookup);
        let mut planned = Planned::default();
        for (row, input) in rows.iter().zip(inputs) {
            let number = input
                .asset_no
                .as_deref()
                .and_then(|n| super::fields::parse_asset_no(n).ok());
            if let Some(n) = &number {
                if let Some(first) = seen.get(n) {
                    report.problems.push(problem(
                        sheet,
                        row,
                        FieldError::new("asset_no", "err-duplicate-in-file")
                            .with("value", n.clone())
                            .with("first", first.to_string()),
                    ));
                    continue;
                }
                seen.insert(n.clone(), row.line);
            }
            let current = number.as_ref().and_then(|n| existing.remove(n));
            let base = current.as_ref().map(AssetFields::from_model);
            let fields = match AssetFields::validate(scheme, lookup, &input, base.as_ref()) {
                Ok(f) => f,
                Err(errors) => {
                    report
                        .problems
                        .extend(errors.into_iter().map(|e| problem(sheet, row, e)));
                    continue;
                }
            };
            // Both where the asset is and where the row puts it must be within the editor's reach.
            let covers = |unit: Option<i64>| match (&self.reach, unit) {
                (crate::access::Reach::All, _) => true,
                (_, None) => false,
                (reach, Some(id)) => lookup.tree_path(id).is_some_and(|p| reach.covers_unit(p)),
            };
            if !covers(fields.owner_unit_id)
                || base.as_ref().is_some_and(|b| !covers(b.owner_unit_id))
            {
                report.problems.push(problem(
                    sheet,
                    row,
                    FieldError::new("owner", "err-unit-out-of-scope"),
                ));
                continue;
            }
            match (current, base) {
                (Some(model), Some(before)) => {
                    if before == fields {
                        report.unchanged += 1;
                    } else {
                        report.updated += 1;
                        report.plan(PlannedRow {
                            line: row.line,
                            asset_no: fields.asset_no.clone(),
                            action: RowAction::Update {
                                fields: changed_fields(&before, &fields),
                            },
                        });
                        planned.updates.push((model, fields));
                    }
                }
                _ => {
                    report.created += 1;
                    report.plan(PlannedRow {
                        line: row.line,
                        asset_no: fields.asset_no.clone(),
                        action: RowAction::Create,
                    });
                    planned.creates.push(super::NewAsset::new(
                        self.municipality_id,
                        scheme,
                        &fields,
                        self.now,
                    ));
                }
            }
        }
        planned
    }
}

pub use super::export::{ExportFormat, export};
