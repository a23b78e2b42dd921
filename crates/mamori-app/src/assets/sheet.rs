//! The register in and out of Excel and CSV, the way a 課 keeps it today: Japanese headers (English aliases
//! accepted), any column order, UTF-8 or Shift_JIS. Import is a dry run or all-or-nothing; export → import
//! changes nothing.

use std::collections::HashMap;

use mamori_policy::{AssetKind, Axis, Lang, MyNumberWork, Scheme, Zone};
use mamori_sheet::{ColumnSpec, Encoding, EncodingChoice, XlsxColumn, XlsxSheet};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::fields::flag_text;
use super::{AssetEditor, AssetFields, AssetInput, AssetQuery, AssetRow, Lookup};
use crate::sheet::Sheet;
use crate::tx::AuditActor;
use crate::{Actor, App, AppError, AppResult, FieldError};
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

/// What an import found and (unless a dry run or refused) did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Rows that create or change an asset, in file order.
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

fn input_of(sheet: &Sheet, row: &mamori_sheet::Row) -> AssetInput {
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

fn problem(sheet: &Sheet, row: &mamori_sheet::Row, mut e: FieldError) -> RowProblem {
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

/// Reads a register sheet and, unless `dry_run`, applies it: every row or none. Re-importing the same
/// file changes nothing (rows are matched by 資産番号; an unchanged row is left alone).
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
    let sheet =
        Sheet::read_with("file", file_name, bytes, COLUMNS, encoding).map_err(AppError::Invalid)?;
    let total = sheet.table.rows.len();
    let mut report = ImportReport {
        rows: total,
        unknown_columns: sheet
            .columns
            .unknown()
            .iter()
            .map(|c| format!("{} ({})", c.name, c.letter))
            .collect(),
        encoding: sheet.table.encoding.map(|e| e.label().to_owned()),
        ..Default::default()
    };
    let mut tx = app.write().await?;
    let scheme = super::scheme(app, tx.db(), editor.municipality_id).await?;
    let lookup = Lookup::load(tx.db(), editor.municipality_id).await?;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut creates: Vec<AssetFields> = Vec::new();
    let mut updates: Vec<(asset::Model, AssetFields)> = Vec::new();
    const CHUNK: usize = 1_000;
    for (chunk_no, rows) in sheet.table.rows.chunks(CHUNK).enumerate() {
        let inputs: Vec<AssetInput> = rows.iter().map(|r| input_of(&sheet, r)).collect();
        let numbers: Vec<String> = inputs
            .iter()
            .filter_map(|i| i.asset_no.as_deref())
            .filter_map(|n| super::fields::parse_asset_no(n).ok())
            .collect();
        let mut existing: HashMap<String, asset::Model> = HashMap::new();
        for found in asset::Entity::find()
            .filter(asset::Column::MunicipalityId.eq(editor.municipality_id))
            .filter(asset::Column::AssetNo.is_in(numbers))
            .all(tx.db())
            .await?
        {
            existing.insert(found.asset_no.clone(), found);
        }
        for (row, input) in rows.iter().zip(inputs) {
            let number = input
                .asset_no
                .as_deref()
                .and_then(|n| super::fields::parse_asset_no(n).ok());
            if let Some(n) = &number {
                if let Some(first) = seen.get(n) {
                    report.problems.push(problem(
                        &sheet,
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
            let fields = match AssetFields::validate(&scheme, &lookup, &input, base.as_ref()) {
                Ok(f) => f,
                Err(errors) => {
                    report
                        .problems
                        .extend(errors.into_iter().map(|e| problem(&sheet, row, e)));
                    continue;
                }
            };
            // Both where the asset is and where the row puts it must be within the editor's reach.
            let covers = |unit: Option<i64>| match (&editor.reach, unit) {
                (crate::access::Reach::All, _) => true,
                (_, None) => false,
                (reach, Some(id)) => lookup.tree_path(id).is_some_and(|p| reach.covers_unit(p)),
            };
            if !covers(fields.owner_unit_id)
                || base.as_ref().is_some_and(|b| !covers(b.owner_unit_id))
            {
                report.problems.push(problem(
                    &sheet,
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
                        report.changes.push(PlannedRow {
                            line: row.line,
                            asset_no: fields.asset_no.clone(),
                            action: RowAction::Update {
                                fields: changed_fields(&before, &fields),
                            },
                        });
                        updates.push((model, fields));
                    }
                }
                _ => {
                    report.changes.push(PlannedRow {
                        line: row.line,
                        asset_no: fields.asset_no.clone(),
                        action: RowAction::Create,
                    });
                    creates.push(fields);
                }
            }
        }
        progress(((chunk_no + 1) * CHUNK).min(total) / 2, total);
    }
    tracing::debug!(
        rows = total,
        ms = started.elapsed().as_millis() as u64,
        "import read and checked"
    );
    report.created = creates.len();
    report.updated = updates.len();
    if dry_run || !report.problems.is_empty() {
        tx.rollback().await?;
        progress(total, total);
        return Ok(report);
    }
    // The second half of the bar is the writing, one step per asset written.
    app.store().begin_bulk(tx.db()).await?;
    let municipality_id = editor.municipality_id;
    let writes = (creates.len() + updates.len()).max(1);
    let mut written = 0;
    for chunk in creates.chunks(5_000) {
        super::insert_many(&mut tx, municipality_id, &scheme, actor, chunk).await?;
        written += chunk.len();
        progress(total / 2 + written * total / 2 / writes, total);
    }
    for (model, fields) in &updates {
        super::update_one(&mut tx, &scheme, actor, model, fields).await?;
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
            "rows": total,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
        }),
    )
    .await?;
    app.store().end_bulk(tx.db()).await?;
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
    progress(total, total);
    Ok(report)
}

/// Export formats: xlsx, or CSV in an encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Xlsx,
    Csv(Encoding),
}

impl ExportFormat {
    /// `xlsx`, `csv` (UTF-8 with BOM, which Excel opens without 文字化け), `csv-sjis`, `csv-utf8`.
    pub fn parse(format: &str, encoding: Option<&str>) -> Option<ExportFormat> {
        let enc = match encoding.map(|e| e.to_ascii_lowercase().replace(['-', '_'], "")) {
            None => None,
            Some(e) if e == "utf8" || e == "utf8bom" => Some(Encoding::Utf8Bom),
            Some(e) if e == "shiftjis" || e == "sjis" || e == "cp932" => Some(Encoding::ShiftJis),
            Some(_) => return None,
        };
        match format {
            "xlsx" => Some(ExportFormat::Xlsx),
            "csv" => Some(ExportFormat::Csv(enc.unwrap_or(Encoding::Utf8Bom))),
            "csv-sjis" => Some(ExportFormat::Csv(Encoding::ShiftJis)),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Xlsx => "xlsx",
            ExportFormat::Csv(_) => "csv",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
            ExportFormat::Csv(Encoding::ShiftJis) => "text/csv; charset=Shift_JIS",
            ExportFormat::Csv(_) => "text/csv; charset=utf-8",
        }
    }
}

fn cells(r: &AssetRow) -> Vec<String> {
    let date = |d: Option<chrono::NaiveDate>| {
        d.map(|d| d.format("%Y/%m/%d").to_string())
            .unwrap_or_default()
    };
    vec![
        r.asset_no.clone(),
        r.name.clone(),
        r.kind.name(Lang::Ja).to_owned(),
        r.owner_code.clone(),
        r.owner_path.clone(),
        r.manager_no.clone(),
        r.manager_name.clone(),
        r.confidentiality.clone().unwrap_or_default(),
        r.integrity.clone().unwrap_or_default(),
        r.availability.clone().unwrap_or_default(),
        flag_text(r.personal).to_owned(),
        flag_text(r.sensitive_personal).to_owned(),
        flag_text(r.specific_personal).to_owned(),
        r.my_number_work
            .map(|w| w.name(Lang::Ja).to_owned())
            .unwrap_or_default(),
        r.pif_ref.clone(),
        r.pia_ref.clone(),
        r.zone
            .map(|z| z.name(Lang::Ja).to_owned())
            .unwrap_or_default(),
        r.storage.clone(),
        r.media.clone(),
        r.retention.clone(),
        r.disposal.clone(),
        r.related_systems.clone(),
        r.notes.clone(),
        date(r.next_review),
        date(r.retired_on),
    ]
}

/// Writes what the filters select as a sheet that imports back unchanged. Shift_JIS cannot hold every
/// character (𠮷, emoji …): such a file is refused with the row, column and character, never altered.
pub async fn export(
    app: &App,
    actor: &Actor,
    by: &AuditActor,
    q: &AssetQuery,
    format: ExportFormat,
) -> AppResult<(Vec<u8>, usize)> {
    let scheme = super::scheme(app, app.store().conn(), actor.municipality_id).await?;
    let rows = super::all_matching(app, actor, q).await?;
    let data: Vec<Vec<String>> = rows.iter().map(cells).collect();
    let headers: Vec<&str> = COLUMNS.iter().map(|c| c.display_name()).collect();
    let bytes = match format {
        ExportFormat::Csv(encoding) => mamori_sheet::write_csv(&headers, &data, encoding),
        ExportFormat::Xlsx => {
            let columns: Vec<XlsxColumn> = COLUMNS
                .iter()
                .map(|c| column(&scheme, c.key, c.display_name()))
                .collect();
            mamori_sheet::write_xlsx(&XlsxSheet {
                name: "情報資産管理台帳",
                columns: &columns,
                rows: &data,
            })
        }
    }
    .map_err(|e| AppError::Invalid(crate::sheet::to_field_errors("file", &e)))?;
    let mut tx = app.write().await?;
    tx.audit(
        actor.municipality_id,
        by,
        Action::DataExported,
        ("asset_export", String::new()),
        json!({"what": "assets", "rows": rows.len(), "format": format.extension(), "filters": q}),
    )
    .await?;
    tx.commit().await?;
    Ok((bytes, rows.len()))
}

/// An xlsx column: width, and a drop-down list (入力規則) where the values are a closed list.
fn column(scheme: &Scheme, key: &str, header: &str) -> XlsxColumn {
    let levels = |axis| {
        scheme
            .levels(axis)
            .iter()
            .map(|l| l.id.clone())
            .collect::<Vec<_>>()
    };
    let col = XlsxColumn::new(header);
    match key {
        "asset_no" | "owner_code" | "manager_no" => col.width(14.0),
        "name" | "owner" | "storage" | "related_systems" => col.width(28.0),
        "notes" => col.width(40.0),
        "kind" => col
            .width(18.0)
            .choices(AssetKind::ALL.iter().map(|k| k.name(Lang::Ja))),
        "zone" => col
            .width(22.0)
            .choices(Zone::ALL.iter().map(|z| z.name(Lang::Ja))),
        "my_number_work" => col
            .width(18.0)
            .choices(MyNumberWork::ALL.iter().map(|w| w.name(Lang::Ja))),
        "confidentiality" => col.width(9.0).choices(levels(Axis::Confidentiality)),
        "integrity" => col.width(9.0).choices(levels(Axis::Integrity)),
        "availability" => col.width(9.0).choices(levels(Axis::Availability)),
        "personal" | "sensitive_personal" | "specific_personal" => col.width(9.0).choices(["○"]),
        "next_review" | "retired_on" => col.width(12.0),
        _ => col.width(16.0),
    }
}
