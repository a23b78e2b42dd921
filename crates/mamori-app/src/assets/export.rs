//! Export of the register as xlsx or CSV (台帳の出力): what the list's filters select, in the list's order, as
//! a sheet that imports back unchanged.

use std::io::{BufWriter, Write};

use mamori_policy::{AssetKind, Axis, Lang, MyNumberWork, Scheme, Zone};
use mamori_sheet::{CsvWriter, Encoding, WriteError, XlsxColumn, XlsxWriter};
use serde_json::json;

use super::fields::flag_text;
use super::sheet::COLUMNS;
use super::{AssetQuery, AssetRow};
use crate::tx::AuditActor;
use crate::{Actor, App, AppError, AppResult};
use mamori_store::audit::Action;

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

/// The register's columns of a row, in [`COLUMNS`] order; `dates` holds the two dates written out.
fn cells<'a>(r: &'a AssetRow, dates: &'a [String; 2]) -> [&'a str; 25] {
    [
        &r.asset_no,
        &r.name,
        r.kind.name(Lang::Ja),
        &r.owner_code,
        &r.owner_path,
        &r.manager_no,
        &r.manager_name,
        r.confidentiality.as_deref().unwrap_or_default(),
        r.integrity.as_deref().unwrap_or_default(),
        r.availability.as_deref().unwrap_or_default(),
        flag_text(r.personal),
        flag_text(r.sensitive_personal),
        flag_text(r.specific_personal),
        r.my_number_work
            .map(|w| w.name(Lang::Ja))
            .unwrap_or_default(),
        &r.pif_ref,
        &r.pia_ref,
        r.zone.map(|z| z.name(Lang::Ja)).unwrap_or_default(),
        &r.storage,
        &r.media,
        &r.retention,
        &r.disposal,
        &r.related_systems,
        &r.notes,
        &dates[0],
        &dates[1],
    ]
}

/// Where the rows go: a CSV stream, or an xlsx workbook that is written out at the end.
enum Sink<W: Write + Send> {
    Csv(CsvWriter<BufWriter<W>>),
    Xlsx(Box<XlsxWriter>, BufWriter<W>),
}

impl<W: Write + Send> Sink<W> {
    fn new(scheme: &Scheme, format: ExportFormat, out: W) -> Result<Sink<W>, WriteError> {
        let out = BufWriter::with_capacity(OUTPUT_BUFFER, out);
        Ok(match format {
            ExportFormat::Csv(encoding) => {
                let headers: Vec<&str> = COLUMNS.iter().map(|c| c.display_name()).collect();
                Sink::Csv(CsvWriter::new(out, &headers, encoding)?)
            }
            ExportFormat::Xlsx => {
                let columns: Vec<XlsxColumn> = COLUMNS
                    .iter()
                    .map(|c| column(scheme, c.key, c.display_name()))
                    .collect();
                Sink::Xlsx(
                    Box::new(XlsxWriter::new("情報資産管理台帳", &columns)?),
                    out,
                )
            }
        })
    }

    fn write(&mut self, r: &AssetRow) -> Result<(), WriteError> {
        let date = |d: Option<chrono::NaiveDate>| {
            d.map(|d| d.format("%Y/%m/%d").to_string())
                .unwrap_or_default()
        };
        let dates = [date(r.next_review), date(r.retired_on)];
        let cells = cells(r, &dates);
        match self {
            Sink::Csv(csv) => csv.write_row(&cells),
            Sink::Xlsx(xlsx, _) => Ok(xlsx.write_row(&cells)?),
        }
    }

    fn finish(self) -> Result<(), WriteError> {
        match self {
            Sink::Csv(csv) => csv.finish().map(drop),
            Sink::Xlsx(xlsx, out) => xlsx.finish(out).map(drop),
        }
    }
}

/// A page of the export being read in a task of its own; stopped if the export stops first.
struct Reading(tokio::task::JoinHandle<AppResult<Vec<AssetRow>>>);

impl Reading {
    fn start(app: &App, scheme: &Scheme, ids: &[i64]) -> Reading {
        let (app, scheme, ids) = (app.clone(), scheme.clone(), ids.to_vec());
        Reading(tokio::spawn(async move {
            super::export_page(&app, &scheme, &ids).await
        }))
    }

    async fn rows(mut self) -> AppResult<Vec<AssetRow>> {
        (&mut self.0)
            .await
            .map_err(|e| AppError::Internal(format!("reading the export: {e}")))?
    }
}

impl Drop for Reading {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Bytes gathered before they are written to the output.
const OUTPUT_BUFFER: usize = 64 * 1024;

fn refused(e: WriteError) -> AppError {
    match e {
        WriteError::Sheet(e) => AppError::Invalid(crate::sheet::to_field_errors("file", &e)),
        WriteError::Io(e) => AppError::Internal(format!("writing the export: {e}")),
    }
}

/// Writes what the filters select to `out` as a sheet that imports back unchanged, and gives the number of
/// rows. Shift_JIS cannot hold every character (𠮷, emoji …): such a file is refused with the row, column and
/// character, never altered.
///
/// Row by row: the rows are read a page at a time, in list order, and written as they come, so memory holds
/// the matching ids and one page whatever the size of the register. `out` has received part of the file when
/// an error comes: write to a temporary file and keep it only on success. The export is recorded in the
/// audit chain once the file is complete.
pub async fn export<W: Write + Send>(
    app: &App,
    actor: &Actor,
    by: &AuditActor,
    q: &AssetQuery,
    format: ExportFormat,
    out: W,
) -> AppResult<usize> {
    let (scheme, ids) = super::matching_ids(app, actor, q).await?;
    let mut sink = Sink::new(&scheme, format, out).map_err(refused)?;
    // The next page is read while this one is written, so that the database and the writing each keep a
    // core busy: two pages in memory at most.
    let mut pages = ids.chunks(super::EXPORT_PAGE);
    let mut next = pages.next().map(|page| Reading::start(app, &scheme, page));
    while let Some(reading) = next.take() {
        let rows = reading.rows().await?;
        next = pages.next().map(|page| Reading::start(app, &scheme, page));
        for row in &rows {
            sink.write(row).map_err(refused)?;
        }
    }
    sink.finish().map_err(refused)?;
    let mut tx = app.write().await?;
    tx.audit(
        actor.municipality_id,
        by,
        Action::DataExported,
        ("asset_export", String::new()),
        json!({"what": "assets", "rows": ids.len(), "format": format.extension(), "filters": q}),
    )
    .await?;
    tx.commit().await?;
    Ok(ids.len())
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
