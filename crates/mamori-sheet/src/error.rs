//! What can go wrong reading or writing a sheet (エラー), and where.

use crate::header::HeaderError;
use crate::table::Encoding;

/// An error reading or writing a sheet.
///
/// `Display` is English, for logs. For people, translate [`SheetError::code`]
/// with [`SheetError::params`] (e.g. a Fluent message per code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    /// The file is larger than [`crate::MAX_INPUT_BYTES`] (ファイルが大きすぎる).
    #[error("the file is {size} bytes, more than the {max} allowed")]
    InputTooLarge { size: usize, max: usize },

    /// More data rows than [`crate::MAX_ROWS`] (行数が多すぎる); `line` is the first
    /// row over the limit.
    #[error("more than {max} data rows (row {line} is over the limit)")]
    TooManyRows { line: usize, max: usize },

    /// A value stands beyond [`crate::MAX_COLUMNS`] (列数が多すぎる); `cell` is the
    /// first cell over the limit, e.g. `GS5`.
    #[error("more than {max} columns (cell {cell} is over the limit)")]
    TooManyColumns { cell: String, max: usize },

    /// A cell is longer than [`crate::MAX_CELL_CHARS`] (セルの文字数が多すぎる).
    #[error("cell {cell} has {length} characters, more than the {max} allowed")]
    CellTooLong {
        cell: String,
        length: usize,
        max: usize,
    },

    /// The file has no non-empty row, so no header row (空のファイル).
    #[error("the file is empty: no header row")]
    Empty,

    /// The bytes are not valid in the encoding (文字コードの誤り); `line` is the
    /// text line of the first bad byte.
    #[error("line {line} is not valid {}", .encoding.label())]
    MalformedEncoding { encoding: Encoding, line: usize },

    /// A quoted CSV field is never closed (引用符が閉じていない); `line` is the row
    /// where it opens.
    #[error("row {line}: a quoted field is not closed before the end of the file")]
    UnclosedQuote { line: usize },

    /// The file is a legacy binary Excel workbook (`.xls`), which is not read:
    /// save it as `.xlsx` (旧形式の Excel ファイル).
    #[error("legacy .xls workbooks are not supported; save the file as .xlsx")]
    LegacyXls,

    /// The workbook is password protected (パスワード付き).
    #[error("the workbook is password protected")]
    XlsxPassword,

    /// The file is not a readable xlsx workbook (壊れた xlsx).
    #[error("not a readable xlsx workbook: {reason}")]
    XlsxInvalid { reason: String },

    /// The workbook has no worksheet (ワークシートがない).
    #[error("the workbook has no worksheet")]
    XlsxNoWorksheet,

    /// A cell holds an Excel error value such as `#DIV/0!` or `#REF!` (エラー値).
    #[error("cell {cell} holds the error {value}")]
    XlsxCellError { cell: String, value: String },

    /// A character cannot be written in the chosen encoding (文字コードに変換できない文字),
    /// e.g. 𠮷 or an emoji in Shift_JIS.
    #[error(
        "row {line}, column \"{column}\": the character {character} (U+{:04X}) cannot be written in {}",
        u32::from(*.character),
        .encoding.label()
    )]
    Unencodable {
        line: usize,
        column: String,
        character: char,
        encoding: Encoding,
    },

    /// A row to write has more cells than there are columns (列数の不一致).
    #[error("row {line} has {cells} cells but there are {columns} columns")]
    RowTooWide {
        line: usize,
        cells: usize,
        columns: usize,
    },

    /// The sheet name is not allowed by Excel (シート名が不正): empty, longer than
    /// 31 characters, one of `[]:*?/\`, or starting or ending with `'`.
    #[error("{name:?} cannot be a sheet name: {reason}")]
    InvalidSheetName { name: String, reason: String },

    /// Writing the workbook failed (xlsx の書き出しに失敗).
    #[error("could not write the workbook: {reason}")]
    XlsxWrite { reason: String },

    /// The header row does not fit the expected columns (見出しの誤り).
    #[error(transparent)]
    Header(#[from] HeaderError),
}

impl SheetError {
    /// A stable identifier for the kind of error, for translation and tests,
    /// e.g. `sheet.csv.malformed_encoding`.
    pub fn code(&self) -> &'static str {
        match self {
            SheetError::InputTooLarge { .. } => "sheet.input_too_large",
            SheetError::TooManyRows { .. } => "sheet.too_many_rows",
            SheetError::TooManyColumns { .. } => "sheet.too_many_columns",
            SheetError::CellTooLong { .. } => "sheet.cell_too_long",
            SheetError::Empty => "sheet.empty",
            SheetError::MalformedEncoding { .. } => "sheet.csv.malformed_encoding",
            SheetError::UnclosedQuote { .. } => "sheet.csv.unclosed_quote",
            SheetError::LegacyXls => "sheet.xls_unsupported",
            SheetError::XlsxPassword => "sheet.xlsx.password_protected",
            SheetError::XlsxInvalid { .. } => "sheet.xlsx.invalid",
            SheetError::XlsxNoWorksheet => "sheet.xlsx.no_worksheet",
            SheetError::XlsxCellError { .. } => "sheet.xlsx.cell_error",
            SheetError::Unencodable { .. } => "sheet.write.unencodable_char",
            SheetError::RowTooWide { .. } => "sheet.write.row_too_wide",
            SheetError::InvalidSheetName { .. } => "sheet.xlsx.invalid_sheet_name",
            SheetError::XlsxWrite { .. } => "sheet.xlsx.write_failed",
            SheetError::Header(_) => "sheet.header.invalid",
        }
    }

    /// The error's parameters by name, for the translated message
    /// (e.g. `line`, `cell`, `column`, `character`, `encoding`, `max`).
    /// For [`SheetError::Header`], see [`HeaderError::problems`] instead.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            SheetError::InputTooLarge { size, max } => {
                vec![("size", size.to_string()), ("max", max.to_string())]
            }
            SheetError::TooManyRows { line, max } => {
                vec![("line", line.to_string()), ("max", max.to_string())]
            }
            SheetError::TooManyColumns { cell, max } => {
                vec![("cell", cell.clone()), ("max", max.to_string())]
            }
            SheetError::CellTooLong { cell, length, max } => vec![
                ("cell", cell.clone()),
                ("length", length.to_string()),
                ("max", max.to_string()),
            ],
            SheetError::MalformedEncoding { encoding, line } => vec![
                ("encoding", encoding.label().to_owned()),
                ("line", line.to_string()),
            ],
            SheetError::UnclosedQuote { line } => vec![("line", line.to_string())],
            SheetError::XlsxInvalid { reason } | SheetError::XlsxWrite { reason } => {
                vec![("reason", reason.clone())]
            }
            SheetError::XlsxCellError { cell, value } => {
                vec![("cell", cell.clone()), ("value", value.clone())]
            }
            SheetError::Unencodable {
                line,
                column,
                character,
                encoding,
            } => vec![
                ("line", line.to_string()),
                ("column", column.clone()),
                ("character", character.to_string()),
                ("codepoint", format!("U+{:04X}", u32::from(*character))),
                ("encoding", encoding.label().to_owned()),
            ],
            SheetError::RowTooWide {
                line,
                cells,
                columns,
            } => vec![
                ("line", line.to_string()),
                ("cells", cells.to_string()),
                ("columns", columns.to_string()),
            ],
            SheetError::InvalidSheetName { name, reason } => {
                vec![("name", name.clone()), ("reason", reason.clone())]
            }
            SheetError::Empty
            | SheetError::LegacyXls
            | SheetError::XlsxPassword
            | SheetError::XlsxNoWorksheet
            | SheetError::Header(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn unencodable_says_where_and_what() {
        let error = SheetError::Unencodable {
            line: 7,
            column: "氏名".into(),
            character: '𠮷',
            encoding: Encoding::ShiftJis,
        };
        assert_eq!(
            error.to_string(),
            "row 7, column \"氏名\": the character 𠮷 (U+20BB7) cannot be written in Shift_JIS"
        );
        assert_eq!(error.code(), "sheet.write.unencodable_char");
        assert!(error.params().contains(&("character", "𠮷".to_owned())));
        assert!(
            error
                .params()
                .contains(&("codepoint", "U+20BB7".to_owned()))
        );
    }
}
