//! Reading an uploaded sheet (xlsx, or CSV in UTF-8 or Shift_JIS) into rows, with every problem reported as a
//! field error that names the file, row and column in words a person can act on.

use mamori_sheet::{
    ColumnSpec, Encoding, EncodingChoice, Format, HeaderMap, HeaderProblem, RowReader, RowSource,
    SheetError, Table,
};

use crate::FieldError;

/// The Fluent message key of a sheet error (`sheet.csv.unclosed_quote` → `sheet-csv-unclosed_quote`).
fn key(code: &str) -> &'static str {
    match code {
        "sheet.input_too_large" => "sheet-input-too-large",
        "sheet.too_many_rows" => "sheet-too-many-rows",
        "sheet.too_many_columns" => "sheet-too-many-columns",
        "sheet.cell_too_long" => "sheet-cell-too-long",
        "sheet.empty" => "sheet-empty",
        "sheet.csv.malformed_encoding" => "sheet-malformed-encoding",
        "sheet.csv.unclosed_quote" => "sheet-unclosed-quote",
        "sheet.xls_unsupported" => "sheet-xls-unsupported",
        "sheet.xlsx.password_protected" => "sheet-xlsx-password",
        "sheet.xlsx.no_worksheet" => "sheet-xlsx-no-worksheet",
        "sheet.xlsx.cell_error" => "sheet-xlsx-cell-error",
        "sheet.header.missing" => "sheet-header-missing",
        "sheet.header.duplicate" => "sheet-header-duplicate",
        "sheet.write.unencodable_char" => "sheet-unencodable",
        _ => "sheet-invalid",
    }
}

pub(crate) fn to_field_errors(field: &str, e: &SheetError) -> Vec<FieldError> {
    match e {
        SheetError::Header(h) => h
            .problems
            .iter()
            .map(|p: &HeaderProblem| {
                let mut fe = FieldError::new(field, key(p.code()));
                fe.args = p.params();
                fe
            })
            .collect(),
        other => {
            let mut fe = FieldError::new(field, key(other.code()));
            fe.args = other.params();
            fe.args.push(("reason", other.to_string()));
            vec![fe]
        }
    }
}

/// A sheet read and its columns resolved.
pub struct Sheet {
    pub table: Table,
    pub columns: HeaderMap,
}

impl Sheet {
    /// Reads `bytes` (format from content and file name; CSV encoding detected) and resolves the header row.
    pub fn read(
        field: &str,
        file_name: &str,
        bytes: &[u8],
        specs: &[ColumnSpec],
    ) -> Result<Sheet, Vec<FieldError>> {
        Self::read_with(field, file_name, bytes, specs, EncodingChoice::Auto)
    }

    /// As [`Sheet::read`], with the CSV encoding given instead of detected.
    pub fn read_with(
        field: &str,
        file_name: &str,
        bytes: &[u8],
        specs: &[ColumnSpec],
        encoding: EncodingChoice,
    ) -> Result<Sheet, Vec<FieldError>> {
        let format = Format::detect(file_name, bytes);
        let table = mamori_sheet::read_table(bytes, format, encoding)
            .map_err(|e| to_field_errors(field, &e))?;
        let columns = HeaderMap::resolve(&table.headers, specs)
            .map_err(|e| to_field_errors(field, &SheetError::Header(e)))?;
        Ok(Sheet { table, columns })
    }

    /// The trimmed value of a column in a row: `None` when the file has no such column, empty when the cell
    /// is.
    pub fn present(&self, row: &mamori_sheet::Row, key: &str) -> Option<String> {
        present(&self.columns, row, key)
    }

    /// The header of a column as the file writes it, with its letter (`機密性 (H)`).
    pub fn column_name(&self, key: &str, fallback: &str) -> String {
        column_name(&self.table.headers, &self.columns, key, fallback)
    }

    /// The trimmed value of a column in a row, empty when absent.
    pub fn cell(&self, row: &mamori_sheet::Row, key: &str) -> String {
        self.columns.get(row, key).unwrap_or_default().to_owned()
    }
}

fn present(columns: &HeaderMap, row: &mamori_sheet::Row, key: &str) -> Option<String> {
    columns.index(key)?;
    Some(columns.get(row, key).unwrap_or_default().to_owned())
}

fn column_name(headers: &[String], columns: &HeaderMap, key: &str, fallback: &str) -> String {
    match columns.index(key) {
        Some(i) => format!(
            "{} ({})",
            headers.get(i).map(String::as_str).unwrap_or(fallback),
            mamori_sheet::column_letter(i)
        ),
        None => fallback.to_owned(),
    }
}

/// Opens `bytes` (format from content and file name) to be read row by row, for files too big to hold as a
/// [`Table`]: [`RowSource::rows`] then gives the header and the rows.
pub fn open<'b>(
    field: &str,
    file_name: &str,
    bytes: &'b [u8],
    encoding: EncodingChoice,
) -> Result<RowSource<'b>, Vec<FieldError>> {
    RowSource::open(bytes, Format::detect(file_name, bytes), encoding)
        .map_err(|e| to_field_errors(field, &e))
}

/// The header row of a sheet read row by row, its columns resolved: what [`Sheet`] is without the rows.
pub struct SheetHead {
    pub headers: Vec<String>,
    pub columns: HeaderMap,
    pub encoding: Option<Encoding>,
}

impl SheetHead {
    /// Resolves the header row of `rows`.
    pub fn resolve(
        field: &str,
        rows: &RowReader<'_>,
        specs: &[ColumnSpec],
    ) -> Result<SheetHead, Vec<FieldError>> {
        let columns = HeaderMap::resolve(rows.headers(), specs)
            .map_err(|e| to_field_errors(field, &SheetError::Header(e)))?;
        Ok(SheetHead {
            headers: rows.headers().to_vec(),
            columns,
            encoding: rows.encoding(),
        })
    }

    /// As [`Sheet::present`].
    pub fn present(&self, row: &mamori_sheet::Row, key: &str) -> Option<String> {
        present(&self.columns, row, key)
    }

    /// As [`Sheet::column_name`].
    pub fn column_name(&self, key: &str, fallback: &str) -> String {
        column_name(&self.headers, &self.columns, key, fallback)
    }
}
