//! Writing xlsx: one sheet of text cells, ready to be filtered and filled in.

use std::io::Write;

use rust_xlsxwriter::{DataValidation, Format, Formula, Workbook, Worksheet, XlsxError};

use crate::cell_ref::{cell_ref, column_letter};
use crate::{MAX_CELL_CHARS, SheetError, WriteError};

/// Name of the hidden sheet that holds drop-down lists too long to inline.
const LIST_SHEET: &str = "選択肢";
/// Last row index of a worksheet: drop-downs cover the whole column.
const LAST_ROW: u32 = 1_048_575;
/// Excel's number format for text (文字列).
const TEXT: &str = "@";

/// A column of a sheet to write (列の定義).
#[derive(Debug, Clone, PartialEq)]
pub struct XlsxColumn {
    /// Header (見出し), written bold in row 1.
    pub header: String,
    /// Column width (列幅) in Excel's character units; `None` leaves Excel's default.
    pub width: Option<f64>,
    /// Allowed values offered as a drop-down list (入力規則のリスト); empty for
    /// none. Other values are refused by Excel; an empty cell is allowed.
    pub choices: Vec<String>,
}

impl XlsxColumn {
    /// A column with a header, default width and no drop-down.
    pub fn new(header: impl Into<String>) -> XlsxColumn {
        XlsxColumn {
            header: header.into(),
            width: None,
            choices: Vec::new(),
        }
    }

    /// Sets the column width in Excel's character units.
    pub fn width(mut self, width: f64) -> XlsxColumn {
        self.width = Some(width);
        self
    }

    /// Sets the values of the drop-down list.
    pub fn choices<I, S>(mut self, choices: I) -> XlsxColumn
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.choices = choices.into_iter().map(Into::into).collect();
        self
    }
}

/// A sheet to write (出力するシート): its name, columns and data rows.
#[derive(Debug)]
pub struct XlsxSheet<'a, R> {
    /// Sheet name (シート名): at most 31 characters, none of `[]:*?/\`.
    pub name: &'a str,
    pub columns: &'a [XlsxColumn],
    /// Data rows, each at most as wide as `columns`; [`crate::Row`] will do.
    pub rows: &'a [R],
}

/// Writes one worksheet as an xlsx workbook (Excel ブック出力), all in memory.
///
/// Every cell is a text cell (文字列), and every column is formatted as text,
/// so ids such as `00123` keep their leading zeros, also when people type them
/// in later, and nothing is taken for a formula or a date; cells with a line
/// break wrap (折り返し). The header row is bold and frozen (ウィンドウ枠の固定)
/// and carries an autofilter over the data. A column's drop-down list covers
/// the whole column below the header; a list with a comma in a value or longer
/// than Excel's 255 characters is put on a hidden sheet named `選択肢` and
/// referenced there.
///
/// For many rows, [`XlsxWriter`] writes the same workbook row by row.
pub fn write_xlsx<R, C>(sheet: &XlsxSheet<'_, R>) -> Result<Vec<u8>, SheetError>
where
    R: AsRef<[C]>,
    C: AsRef<str>,
{
    let mut writer = XlsxWriter::new(sheet.name, sheet.columns)?;
    for row in sheet.rows {
        writer.write_row(row.as_ref())?;
    }
    let mut out = Vec::new();
    writer.finish(&mut out).map_err(|error| match error {
        WriteError::Sheet(error) => error,
        WriteError::Io(error) => SheetError::XlsxWrite {
            reason: error.to_string(),
        },
    })?;
    Ok(out)
}

/// Writes one worksheet row by row (Excel ブックの逐次出力), as [`write_xlsx`] does in memory.
///
/// The rows go to a temporary file as they are written (rust_xlsxwriter's
/// constant memory mode, with inline strings rather than a shared string
/// table), so memory does not grow with the number of rows; the workbook is
/// put together when [`XlsxWriter::finish`] writes it out. Rows come in order,
/// each once.
pub struct XlsxWriter {
    workbook: Workbook,
    columns: usize,
    /// Data rows written so far.
    rows: usize,
    text: Format,
    /// As Excel does when a line break is typed (Alt+Enter).
    wrapped: Format,
}

impl XlsxWriter {
    /// Starts the workbook: column formats and widths, the bold header row, the drop-down lists.
    pub fn new(name: &str, columns: &[XlsxColumn]) -> Result<XlsxWriter, SheetError> {
        let text = Format::new().set_num_format(TEXT);
        let wrapped = text.clone().set_text_wrap();
        let bold = Format::new().set_bold().set_num_format(TEXT);

        let mut workbook = Workbook::new();
        let main = workbook
            .add_worksheet_with_constant_memory()
            .map_err(write_error)?;
        main.set_name(name)
            .map_err(|error| SheetError::InvalidSheetName {
                name: name.to_owned(),
                reason: error.to_string(),
            })?;
        for (index, column) in columns.iter().enumerate() {
            let col = col_num(index)?;
            main.set_column_format(col, &text).map_err(write_error)?;
            if let Some(width) = column.width {
                main.set_column_width(col, width).map_err(write_error)?;
            }
            main.write_string_with_format(0, col, &column.header, &bold)
                .map_err(write_error)?;
        }
        main.set_freeze_panes(1, 0).map_err(write_error)?;
        let lists = add_drop_downs(main, columns, &list_sheet_name(name))?;
        if let Some(lists) = lists {
            workbook.push_worksheet(lists);
        }
        Ok(XlsxWriter {
            workbook,
            columns: columns.len(),
            rows: 0,
            text,
            wrapped,
        })
    }

    /// Writes the next data row, at most as wide as the columns; empty cells are left out.
    pub fn write_row<C: AsRef<str>>(&mut self, cells: &[C]) -> Result<(), SheetError> {
        let line = self.rows + 2;
        if cells.len() > self.columns {
            return Err(SheetError::RowTooWide {
                line,
                cells: cells.len(),
                columns: self.columns,
            });
        }
        let row_num = row_num(self.rows + 1)?;
        let main = self.workbook.worksheet_from_index(0).map_err(write_error)?;
        for (column, cell) in cells.iter().enumerate() {
            let cell = cell.as_ref();
            if cell.is_empty() {
                continue;
            }
            if cell.len() > MAX_CELL_CHARS && cell.chars().count() > MAX_CELL_CHARS {
                return Err(SheetError::CellTooLong {
                    cell: cell_ref(column, line),
                    length: cell.chars().count(),
                    max: MAX_CELL_CHARS,
                });
            }
            let format = if cell.contains('\n') {
                &self.wrapped
            } else {
                &self.text
            };
            main.write_string_with_format(row_num, col_num(column)?, cell, format)
                .map_err(write_error)?;
        }
        self.rows += 1;
        Ok(())
    }

    /// Data rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Puts the autofilter over the rows written and writes the workbook to `out`.
    pub fn finish<W: Write + Send>(mut self, mut out: W) -> Result<W, WriteError> {
        let main = self.workbook.worksheet_from_index(0).map_err(write_error)?;
        if let Some(last_col) = self.columns.checked_sub(1) {
            main.autofilter(0, 0, row_num(self.rows)?, col_num(last_col)?)
                .map_err(write_error)?;
        }
        match self.workbook.save_to_writer(&mut out) {
            Ok(()) => {}
            Err(XlsxError::IoError(error)) => return Err(WriteError::Io(error)),
            Err(error) => return Err(write_error(error).into()),
        }
        out.flush()?;
        Ok(out)
    }
}

/// A list validation per column with choices; gives the hidden sheet holding
/// the lists that do not fit inline, if any.
fn add_drop_downs(
    main: &mut Worksheet,
    columns: &[XlsxColumn],
    list_sheet: &str,
) -> Result<Option<Worksheet>, SheetError> {
    let mut lists = Worksheet::new();
    let mut list_count = 0;
    for (index, column) in columns.iter().enumerate() {
        if column.choices.is_empty() {
            continue;
        }
        let inline = if column.choices.iter().any(|choice| choice.contains(',')) {
            None
        } else {
            DataValidation::new()
                .allow_list_strings(&column.choices)
                .ok()
        };
        let validation = match inline {
            Some(validation) => validation,
            None => {
                let list_col = col_num(list_count)?;
                list_count += 1;
                for (row, choice) in column.choices.iter().enumerate() {
                    lists
                        .write_string(row_num(row)?, list_col, choice)
                        .map_err(write_error)?;
                }
                let letter = column_letter(usize::from(list_col));
                let range = format!(
                    "='{list_sheet}'!${letter}$1:${letter}${}",
                    column.choices.len()
                );
                DataValidation::new().allow_list_formula(Formula::new(range))
            }
        };
        let col = col_num(index)?;
        main.add_data_validation(1, col, LAST_ROW, col, &validation)
            .map_err(write_error)?;
    }
    if list_count == 0 {
        return Ok(None);
    }
    lists.set_name(list_sheet).map_err(write_error)?;
    lists.set_hidden(true);
    Ok(Some(lists))
}

/// The hidden list sheet's name, which must differ from the main sheet's.
fn list_sheet_name(main: &str) -> String {
    if main == LIST_SHEET {
        format!("{LIST_SHEET}_")
    } else {
        LIST_SHEET.to_owned()
    }
}

fn row_num(index: usize) -> Result<u32, SheetError> {
    u32::try_from(index).map_err(|_| write_error(XlsxError::RowColumnLimitError))
}

fn col_num(index: usize) -> Result<u16, SheetError> {
    u16::try_from(index).map_err(|_| write_error(XlsxError::RowColumnLimitError))
}

fn write_error(error: XlsxError) -> SheetError {
    SheetError::XlsxWrite {
        reason: error.to_string(),
    }
}
