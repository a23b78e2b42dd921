//! Spreadsheets in and out the way Japanese offices use them (表計算ファイルの入出力).
//!
//! Reading: CSV in UTF-8 (with or without BOM) or Shift_JIS as Windows writes it
//! (CP932 / Windows-31J, including 外字 — user-defined characters), and xlsx
//! (Excel ブック) through calamine. Writing: CSV in the same encodings and xlsx
//! where every cell is text, so that ids such as `00123` keep their leading
//! zeros.
//!
//! Pure: no I/O, no database, no HTTP. Input arrives as bytes, output leaves as
//! bytes. Every error says where (行 / セル / 列) and what, in English, and also
//! gives a stable [`SheetError::code`] and [`SheetError::params`] so that the
//! user interface can say it in Japanese.
//!
//! ```
//! use mamori_sheet::{ColumnSpec, EncodingChoice, Format, HeaderMap, read_table};
//!
//! const COLUMNS: &[ColumnSpec] = &[
//!     ColumnSpec::required("staff_id", &["職員番号", "staff id"]),
//!     ColumnSpec::optional("name", &["氏名", "name"]),
//! ];
//! let bytes = "職員番号,氏名,内線\r\n00123,山田　太郎,1234\r\n".as_bytes();
//! let table = read_table(bytes, Format::detect("職員.csv", bytes), EncodingChoice::Auto)?;
//! let columns = HeaderMap::resolve(&table.headers, COLUMNS)?;
//! assert_eq!(columns.unknown()[0].letter, "C"); // 内線 is not imported
//! let row = &table.rows[0];
//! assert_eq!((row.line, columns.get(row, "staff_id")), (2, Some("00123")));
//! # Ok::<(), mamori_sheet::SheetError>(())
//! ```

mod cell_ref;
mod cp932;
mod csv_read;
mod csv_write;
mod error;
mod header;
mod table;
mod xlsx_read;
mod xlsx_write;

pub use cell_ref::{cell_ref, column_letter};
pub use csv_write::write_csv;
pub use error::SheetError;
pub use header::{ColumnRef, ColumnSpec, HeaderError, HeaderMap, HeaderProblem};
pub use table::{Encoding, EncodingChoice, Format, Row, Table};
pub use xlsx_write::{XlsxColumn, XlsxSheet, write_xlsx};

/// Largest input accepted by [`read_table`] (入力ファイルの上限): 64 MiB.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;
/// Most data rows (データ行数の上限) accepted by [`read_table`], not counting the header row
/// and empty rows.
pub const MAX_ROWS: usize = 200_000;
/// Most columns (列数の上限) accepted by [`read_table`].
pub const MAX_COLUMNS: usize = 200;
/// Longest cell, in characters (セル文字数の上限): Excel's own limit of 32,767.
pub const MAX_CELL_CHARS: usize = 32_767;

/// Reads a table (表) from a CSV or xlsx file.
///
/// The first non-empty row is the header row (見出し行); its names are trimmed.
/// Fully empty rows (空行) are skipped, but every [`Row::line`] stays the row
/// number a person sees in Excel. Trailing empty cells of a row are dropped.
/// `encoding` matters for CSV only; xlsx is always Unicode.
///
/// Limits: [`MAX_INPUT_BYTES`], [`MAX_ROWS`], [`MAX_COLUMNS`], [`MAX_CELL_CHARS`].
pub fn read_table(
    bytes: &[u8],
    format: Format,
    encoding: EncodingChoice,
) -> Result<Table, SheetError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(SheetError::InputTooLarge {
            size: bytes.len(),
            max: MAX_INPUT_BYTES,
        });
    }
    if bytes.starts_with(table::OLE_MAGIC) {
        // A legacy .xls, or an xlsx that a password has encrypted.
        return Err(xlsx_read::ole_error(bytes));
    }
    match format {
        Format::Csv => csv_read::read(bytes, encoding),
        Format::Xlsx => xlsx_read::read(bytes),
    }
}
