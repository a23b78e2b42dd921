//! Spreadsheets in and out the way Japanese offices use them (表計算ファイルの入出力).
//!
//! Reading: CSV in UTF-8 (with or without BOM) or Shift_JIS as Windows writes it
//! (CP932 / Windows-31J, including 外字 — user-defined characters), and xlsx
//! (Excel ブック) through calamine. Writing: CSV in the same encodings and xlsx
//! where every cell is text, so that ids such as `00123` keep their leading
//! zeros.
//!
//! Pure: no database, no HTTP. Input arrives as bytes; output leaves as bytes,
//! or row by row into any [`std::io::Write`] ([`CsvWriter`], [`XlsxWriter`],
//! which keeps its rows in a temporary file until the workbook is finished), so
//! that a large export does not need memory for the whole file.
//!
//! Every error says where (行 / セル / 列) and what, in English, and also gives a stable [`SheetError::code`] and [`SheetError::params`] so that the
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
pub use csv_write::{CsvWriter, WriteError, write_csv};
pub use error::SheetError;
pub use header::{ColumnRef, ColumnSpec, HeaderError, HeaderMap, HeaderProblem};
pub use table::{Encoding, EncodingChoice, Format, Row, Table};

use std::borrow::Cow;

use table::{RowRules, Taken};
pub use xlsx_write::{XlsxColumn, XlsxSheet, XlsxWriter, write_xlsx};

/// Largest input accepted by [`read_table`] (入力ファイルの上限): 64 MiB.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;
/// Most data rows (データ行数の上限) accepted by [`read_table`], not counting the header row
/// and empty rows.
pub const MAX_ROWS: usize = 200_000;
/// Most columns (列数の上限) accepted by [`read_table`].
pub const MAX_COLUMNS: usize = 200;
/// Longest cell, in characters (セル文字数の上限): Excel's own limit of 32,767.
pub const MAX_CELL_CHARS: usize = 32_767;

/// Reads a table (表) from a CSV or xlsx file: all of [`RowSource::rows`],
/// collected.
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
    let mut source = RowSource::open(bytes, format, encoding)?;
    let reader = source.rows()?;
    let headers = reader.headers().to_vec();
    let encoding = reader.encoding();
    let rows = reader.collect::<Result<Vec<Row>, SheetError>>()?;
    Ok(Table {
        headers,
        rows,
        encoding,
    })
}

/// A file opened for reading row by row (行ごとの読み込み), for files too big to
/// hold as a [`Table`]: the input's bytes stay where they are, and only one row
/// at a time is decoded. Shift_JIS is decoded as a whole when opened (a copy
/// bounded by [`MAX_INPUT_BYTES`]); an xlsx file's shared strings are read
/// when opened.
///
/// ```
/// use mamori_sheet::{EncodingChoice, Format, RowSource};
///
/// let bytes = "職員番号,氏名\r\n00123,山田\r\n\r\n00124,佐藤\r\n".as_bytes();
/// let mut source = RowSource::open(bytes, Format::Csv, EncodingChoice::Auto)?;
/// let mut rows = source.rows()?;
/// assert_eq!(rows.headers(), ["職員番号", "氏名"]);
/// let lines: Vec<usize> = rows.by_ref().map(|row| row.map(|r| r.line)).collect::<Result<_, _>>()?;
/// assert_eq!(lines, [2, 4]);
/// # Ok::<(), mamori_sheet::SheetError>(())
/// ```
pub struct RowSource<'b> {
    kind: SourceKind<'b>,
}

enum SourceKind<'b> {
    Csv {
        text: Cow<'b, str>,
        encoding: Encoding,
    },
    Xlsx {
        workbook: Box<xlsx_read::Workbook<'b>>,
        sheet: String,
    },
}

impl<'b> RowSource<'b> {
    /// Checks the size and kind of the input and opens it: decodes CSV (the
    /// encoding detected or as chosen), or reads an xlsx file's directory,
    /// shared strings and styles.
    pub fn open(
        bytes: &'b [u8],
        format: Format,
        encoding: EncodingChoice,
    ) -> Result<RowSource<'b>, SheetError> {
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
        let kind = match format {
            Format::Csv => {
                let (text, encoding) = csv_read::decode(bytes, encoding)?;
                SourceKind::Csv { text, encoding }
            }
            Format::Xlsx => {
                let (workbook, sheet) = xlsx_read::open(bytes)?;
                SourceKind::Xlsx {
                    workbook: Box::new(workbook),
                    sheet,
                }
            }
        };
        Ok(RowSource { kind })
    }

    /// Reads up to the header row and gives the data rows after it, by the
    /// same rules and limits as [`read_table`].
    pub fn rows(&mut self) -> Result<RowReader<'_>, SheetError> {
        let (records, encoding, last_line): (Records<'_>, _, _) = match &mut self.kind {
            SourceKind::Csv { text, encoding } => {
                let breaks = match text.bytes().filter(|b| *b == b'\n').count() {
                    0 => text.bytes().filter(|b| *b == b'\r').count(),
                    n => n,
                };
                let records = csv_read::Records::new(text);
                (Box::new(records), Some(*encoding), breaks + 1)
            }
            SourceKind::Xlsx { workbook, sheet } => {
                let records = xlsx_read::Records::new(workbook, sheet)?;
                let last_line = records.last_line;
                (Box::new(records), None, last_line)
            }
        };
        let mut reader = RowReader {
            headers: Vec::new(),
            encoding,
            records,
            rules: RowRules::default(),
            done: false,
            last_line,
        };
        while reader.rules.headers().is_none() {
            match reader.records.next() {
                Some(Ok((line, cells))) => {
                    // The first non-empty row is the header, so nothing comes back.
                    reader.rules.take(line, cells)?;
                }
                Some(Err(error)) => return Err(error),
                None => return Err(SheetError::Empty),
            }
        }
        reader.headers = reader.rules.headers().unwrap_or_default().to_vec();
        Ok(reader)
    }
}

type Records<'s> = Box<dyn Iterator<Item = Result<(usize, Vec<String>), SheetError>> + Send + 's>;

/// The data rows of a file, one at a time, in file order; see [`RowSource`].
/// After an error there are no more rows.
pub struct RowReader<'s> {
    headers: Vec<String>,
    encoding: Option<Encoding>,
    records: Records<'s>,
    rules: RowRules,
    done: bool,
    last_line: usize,
}

impl RowReader<'_> {
    /// About how many data rows there are, for a progress bar: the file's last
    /// line (CSV) or the range the sheet claims (xlsx), less the header row,
    /// at most [`MAX_ROWS`]. Empty rows and quoted line breaks make it high.
    pub fn rows_hint(&self) -> usize {
        self.last_line.saturating_sub(1).min(MAX_ROWS)
    }

    /// Header names (見出し), trimmed, in column order.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The encoding a CSV file is read in (detected or as chosen); `None` for xlsx.
    pub fn encoding(&self) -> Option<Encoding> {
        self.encoding
    }
}

impl Iterator for RowReader<'_> {
    type Item = Result<Row, SheetError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let taken = match self.records.next() {
                Some(Ok((line, cells))) => self.rules.take(line, cells),
                Some(Err(error)) => Err(error),
                None => {
                    self.done = true;
                    return None;
                }
            };
            match taken {
                Ok(Taken::Data(row)) => return Some(Ok(row)),
                Ok(Taken::Nothing) => {}
                Err(error) => {
                    self.done = true;
                    return Some(Err(error));
                }
            }
        }
        None
    }
}
