//! The table read from a file, and the vocabulary for formats and encodings.

use serde::{Deserialize, Serialize};

use crate::cell_ref::cell_ref;
use crate::{MAX_CELL_CHARS, MAX_COLUMNS, MAX_ROWS, SheetError};

/// How an xlsx (and every zip) file starts.
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
/// How an OLE compound file starts: a legacy binary `.xls`, or an encrypted xlsx.
pub(crate) const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// File format (ファイル形式).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Comma-separated values (CSV).
    Csv,
    /// Excel workbook (Excel ブック, `.xlsx`).
    Xlsx,
}

impl Format {
    /// The format named by a file name's extension (拡張子): `.csv` is CSV,
    /// `.xlsx` and `.xlsm` are xlsx; case does not matter. (Excel's `.txt` is
    /// tab-separated, so it is not taken for CSV.)
    pub fn from_file_name(name: &str) -> Option<Format> {
        let (_, extension) = name.rsplit_once('.')?;
        match extension.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "xlsx" | "xlsm" => Some(Format::Xlsx),
            _ => None,
        }
    }

    /// The format the content says it is: a zip container (starts with `PK`) is
    /// xlsx, anything else is taken as CSV.
    pub fn sniff(bytes: &[u8]) -> Format {
        if bytes.starts_with(ZIP_MAGIC) {
            Format::Xlsx
        } else {
            Format::Csv
        }
    }

    /// The format of an uploaded file: the content wins when it is a zip (people
    /// rename files), otherwise the extension, otherwise CSV.
    pub fn detect(file_name: &str, bytes: &[u8]) -> Format {
        match Format::sniff(bytes) {
            Format::Xlsx => Format::Xlsx,
            Format::Csv => Format::from_file_name(file_name).unwrap_or(Format::Csv),
        }
    }
}

/// Text encoding of a CSV file (文字コード).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// UTF-8 without a byte order mark (BOM なし).
    Utf8,
    /// UTF-8 with a byte order mark (BOM 付き), which Excel needs to open UTF-8 CSV
    /// without 文字化け.
    Utf8Bom,
    /// Shift_JIS as Windows writes it: CP932 / Windows-31J, with the NEC and IBM
    /// extensions (①, ㈱, 髙 …) and 外字 (user-defined characters, F040–F9FC ↔
    /// U+E000–U+E757).
    ShiftJis,
}

impl Encoding {
    /// The name people know the encoding by.
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf8Bom => "UTF-8 (BOM)",
            Encoding::ShiftJis => "Shift_JIS",
        }
    }
}

/// Which encoding to read a CSV file in (文字コードの指定).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EncodingChoice {
    /// Detect (自動判別): a UTF-8 BOM or valid UTF-8 is UTF-8, anything else is
    /// Shift_JIS (CP932).
    #[default]
    Auto,
    /// UTF-8; a BOM is allowed and stripped.
    Utf8,
    /// Shift_JIS (CP932).
    ShiftJis,
}

/// A table read from a file (表): a header row and the data rows below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Header names (見出し), trimmed, in column order.
    pub headers: Vec<String>,
    /// Data rows (データ行) in file order, fully empty rows left out.
    pub rows: Vec<Row>,
    /// The encoding a CSV file was read in (detected or as chosen); `None` for xlsx.
    pub encoding: Option<Encoding>,
}

/// One data row (行).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The row number a person sees in Excel (行番号); the header row of a file
    /// that starts with it is 1. Quoted line breaks inside a CSV cell do not
    /// count, empty rows do.
    pub line: usize,
    /// Cell values (セルの値) in column order, as read (not trimmed). Trailing
    /// empty cells are dropped, so a row may be shorter than the headers; it
    /// may also be longer, when cells stand under no header.
    pub cells: Vec<String>,
}

impl AsRef<[String]> for Row {
    fn as_ref(&self) -> &[String] {
        &self.cells
    }
}

/// The rules every raw row of a file goes through, in file order: trailing
/// empty cells dropped, fully empty rows skipped, the first non-empty row is
/// the header row, and the limits on columns, cell length and rows.
#[derive(Default)]
pub(crate) struct RowRules {
    headers: Option<Vec<String>>,
    rows: usize,
}

/// What a raw row turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Taken {
    /// Empty, or the header row (now in [`RowRules::headers`]).
    Nothing,
    Data(Row),
}

impl RowRules {
    /// Takes the row at `line`: the first non-empty one is the header row.
    pub(crate) fn take(
        &mut self,
        line: usize,
        mut cells: Vec<String>,
    ) -> Result<Taken, SheetError> {
        while cells.last().is_some_and(|cell| is_blank(cell)) {
            cells.pop();
        }
        if cells.is_empty() {
            return Ok(Taken::Nothing);
        }
        if cells.len() > MAX_COLUMNS {
            return Err(SheetError::TooManyColumns {
                cell: cell_ref(MAX_COLUMNS, line),
                max: MAX_COLUMNS,
            });
        }
        for (column, cell) in cells.iter().enumerate() {
            // A char is at least one byte, so only long strings need counting.
            if cell.len() > MAX_CELL_CHARS {
                let length = cell.chars().count();
                if length > MAX_CELL_CHARS {
                    return Err(SheetError::CellTooLong {
                        cell: cell_ref(column, line),
                        length,
                        max: MAX_CELL_CHARS,
                    });
                }
            }
        }
        if self.headers.is_none() {
            self.headers = Some(cells.iter().map(|name| name.trim().to_owned()).collect());
            return Ok(Taken::Nothing);
        }
        if self.rows == MAX_ROWS {
            return Err(SheetError::TooManyRows {
                line,
                max: MAX_ROWS,
            });
        }
        self.rows += 1;
        Ok(Taken::Data(Row { line, cells }))
    }

    /// The header row, once it has been taken.
    pub(crate) fn headers(&self) -> Option<&[String]> {
        self.headers.as_deref()
    }
}

/// Whether a cell holds nothing but whitespace (including 全角スペース).
pub(crate) fn is_blank(cell: &str) -> bool {
    cell.trim().is_empty()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn format_from_name_and_content() {
        assert_eq!(Format::from_file_name("職員一覧.CSV"), Some(Format::Csv));
        assert_eq!(Format::from_file_name("a.b.xlsx"), Some(Format::Xlsx));
        assert_eq!(Format::from_file_name("memo"), None);
        assert_eq!(Format::sniff(b"PK\x03\x04rest"), Format::Xlsx);
        assert_eq!(Format::sniff("職員番号".as_bytes()), Format::Csv);
        // A renamed workbook is still a workbook.
        assert_eq!(Format::detect("list.csv", b"PK\x03\x04"), Format::Xlsx);
        assert_eq!(Format::detect("list.xlsx", b"id,name"), Format::Xlsx);
        assert_eq!(Format::detect("list", b"id,name"), Format::Csv);
    }

    fn data(rules: &mut RowRules, line: usize, cells: &[&str]) -> Taken {
        let cells = cells.iter().map(|c| (*c).to_owned()).collect();
        rules.take(line, cells).unwrap()
    }

    #[test]
    fn rules_skip_empty_rows_and_trim_headers() {
        let mut rules = RowRules::default();
        assert_eq!(data(&mut rules, 1, &["", " "]), Taken::Nothing);
        assert_eq!(
            data(&mut rules, 2, &[" 職員番号 ", "氏名\u{3000}", ""]),
            Taken::Nothing
        );
        assert_eq!(
            data(&mut rules, 3, &["001", ""]),
            Taken::Data(Row {
                line: 3,
                cells: vec!["001".into()]
            })
        );
        assert_eq!(data(&mut rules, 4, &["", "\u{3000}"]), Taken::Nothing);
        assert_eq!(
            data(&mut rules, 5, &["002", " 山田 "]),
            Taken::Data(Row {
                line: 5,
                cells: vec!["002".into(), " 山田 ".into()]
            })
        );
        assert_eq!(rules.headers().unwrap(), ["職員番号", "氏名"]);
    }

    #[test]
    fn rules_without_any_row_have_no_header() {
        let mut rules = RowRules::default();
        assert_eq!(data(&mut rules, 1, &[""]), Taken::Nothing);
        assert!(rules.headers().is_none());
    }
}
