//! Reading xlsx: the first worksheet, every cell as the text a person sees.

use std::io::Cursor;

use calamine::{DataRef, ExcelDateTime, Reader, SheetType, Xlsx, XlsxError};
use chrono::{Duration, Timelike};

use crate::cell_ref::cell_ref;
use crate::{MAX_COLUMNS, SheetError};

pub(crate) type Workbook<'b> = Xlsx<Cursor<&'b [u8]>>;

/// Opens a workbook (its shared strings and styles are read now) and names its
/// first worksheet.
pub(crate) fn open(bytes: &[u8]) -> Result<(Workbook<'_>, String), SheetError> {
    let workbook: Workbook<'_> = Xlsx::new(Cursor::new(bytes)).map_err(open_error)?;
    let name = workbook
        .sheets_metadata()
        .iter()
        .find(|sheet| sheet.typ == SheetType::WorkSheet)
        .map(|sheet| sheet.name.clone())
        .ok_or(SheetError::XlsxNoWorksheet)?;
    Ok((workbook, name))
}

/// A cell with a value: its row and column (0-based) and text.
type CellValue = (u32, usize, String);

/// The rows of a worksheet, one at a time, each as its number and cells, from
/// calamine's streaming cell reader: a sheet claiming a huge range costs
/// nothing until it has that many values, and only one row is held at a time.
/// Rows without a value are not given (their numbers are skipped).
pub(crate) struct Records<'a> {
    /// The next cell with a value: its row and column (0-based) and text.
    /// (calamine does not export the cell reader's type, so it is held in a
    /// closure.)
    cells: Box<dyn FnMut() -> Result<Option<CellValue>, SheetError> + Send + 'a>,
    /// The row being gathered: its index (0-based) and values so far.
    pending: Option<(u32, Vec<String>)>,
    /// The cell reader has given its last cell.
    ended: bool,
    done: bool,
    /// The last row of the range the sheet claims (`<dimension>`), 1-based.
    pub(crate) last_line: usize,
}

impl<'a> Records<'a> {
    pub(crate) fn new<'b: 'a>(
        workbook: &'a mut Workbook<'b>,
        sheet: &str,
    ) -> Result<Records<'a>, SheetError> {
        let mut reader = workbook.worksheet_cells_reader(sheet).map_err(open_error)?;
        let last_line = reader.dimensions().end.0 as usize + 1;
        let cells = move || {
            while let Some(cell) = reader.next_cell().map_err(open_error)? {
                let (row, column) = cell.get_position();
                let (line, column) = (row as usize + 1, column as usize);
                let value = cell_text(cell.get_value(), || cell_ref(column, line))?;
                if !value.is_empty() {
                    return Ok(Some((row, column, value)));
                }
            }
            Ok(None)
        };
        Ok(Records {
            cells: Box::new(cells),
            pending: None,
            ended: false,
            done: false,
            last_line,
        })
    }

    /// The next row with a value, or an error.
    fn next_row(&mut self) -> Result<Option<(usize, Vec<String>)>, SheetError> {
        // The cell reader must not be asked again once it has ended.
        while let Some((row, column, value)) = if self.ended { None } else { (self.cells)()? } {
            let line = row as usize + 1;
            if column >= MAX_COLUMNS {
                return Err(SheetError::TooManyColumns {
                    cell: cell_ref(column, line),
                    max: MAX_COLUMNS,
                });
            }
            let finished = match &self.pending {
                Some((current, _)) if *current == row => None,
                // OOXML writes rows in ascending order; a file that does not
                // cannot be read one row at a time.
                Some((current, _)) if *current > row => {
                    return Err(SheetError::XlsxInvalid {
                        reason: format!("row {line} comes after row {}", current + 1),
                    });
                }
                _ => self.pending.replace((row, Vec::new())),
            };
            if let Some((_, values)) = &mut self.pending {
                if values.len() <= column {
                    values.resize(column + 1, String::new());
                }
                values[column] = value;
            }
            if let Some((row, values)) = finished {
                return Ok(Some((row as usize + 1, values)));
            }
        }
        self.ended = true;
        Ok(self
            .pending
            .take()
            .map(|(row, values)| (row as usize + 1, values)))
    }
}

impl Iterator for Records<'_> {
    type Item = Result<(usize, Vec<String>), SheetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_row().transpose();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

/// What an OLE compound file given as a workbook is: an encrypted
/// (password-protected) xlsx, or a legacy `.xls`.
pub(crate) fn ole_error(bytes: &[u8]) -> SheetError {
    match Xlsx::new(Cursor::new(bytes)) {
        Err(XlsxError::Password) => SheetError::XlsxPassword,
        _ => SheetError::LegacyXls,
    }
}

fn open_error(error: XlsxError) -> SheetError {
    match error {
        XlsxError::Password => SheetError::XlsxPassword,
        other => SheetError::XlsxInvalid {
            reason: other.to_string(),
        },
    }
}

/// The text of a cell value; `at` names the cell for an error.
fn cell_text(value: &DataRef<'_>, at: impl Fn() -> String) -> Result<String, SheetError> {
    Ok(match value {
        DataRef::Empty => String::new(),
        DataRef::String(text) => unescape_xstring(text),
        DataRef::SharedString(text) => unescape_xstring(text),
        DataRef::Int(number) => number.to_string(),
        DataRef::Float(number) => float_text(*number),
        DataRef::Bool(true) => "TRUE".to_owned(),
        DataRef::Bool(false) => "FALSE".to_owned(),
        DataRef::DateTime(datetime) => datetime_text(datetime),
        DataRef::DateTimeIso(text) => iso_datetime_text(text),
        DataRef::DurationIso(text) => text.clone(),
        DataRef::Error(error) => {
            return Err(SheetError::XlsxCellError {
                cell: at(),
                value: error.to_string(),
            });
        }
    })
}

/// Integers without `.0`, other numbers in the shortest form that reads back
/// to the same `f64`.
fn float_text(number: f64) -> String {
    if number == 0.0 {
        // Not "-0".
        "0".to_owned()
    } else {
        number.to_string()
    }
}

/// `YYYY-MM-DD`, or `YYYY-MM-DD HH:MM:SS` when there is a time of day; a time
/// alone (serial below 1) is `HH:MM:SS`, and so is a duration, whose hours
/// may pass 24.
fn datetime_text(datetime: &ExcelDateTime) -> String {
    let serial = datetime.as_f64();
    if datetime.is_duration() || (0.0..1.0).contains(&serial) {
        return duration_text(serial);
    }
    let Some(datetime) = datetime.as_datetime() else {
        return float_text(serial);
    };
    // To the nearest second: Excel keeps times as fractions of a day.
    let rounded = (datetime + Duration::milliseconds(500)).with_nanosecond(0);
    match rounded {
        Some(datetime) if datetime.time() == chrono::NaiveTime::MIN => {
            datetime.format("%Y-%m-%d").to_string()
        }
        Some(datetime) => datetime.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => float_text(serial),
    }
}

fn duration_text(days: f64) -> String {
    let seconds = (days * 86_400.0).round();
    let sign = if seconds < 0.0 { "-" } else { "" };
    // Saturates on absurd values rather than wrapping.
    let seconds = seconds.abs() as u64;
    format!(
        "{sign}{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// ISO date-times some writers store as text (`2024-04-01T09:30:00`), in the
/// same form as other dates.
fn iso_datetime_text(text: &str) -> String {
    match text.split_once('T') {
        Some((date, "00:00:00")) => date.to_owned(),
        Some((date, time)) => format!("{date} {time}"),
        None => text.to_owned(),
    }
}

/// Undoes the `_xHHHH_` escapes of OOXML strings (ST_Xstring): Excel writes a
/// carriage return as `_x000D_` and a literal `_x` as `_x005F_x`. calamine 0.30
/// leaves them as they are.
fn unescape_xstring(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("_x") {
        out.push_str(&rest[..at]);
        let escape = &rest[at..];
        let decoded = escape
            .get(2..6)
            .filter(|_| escape.get(6..7) == Some("_"))
            .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .and_then(char::from_u32);
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &escape[7..];
            }
            None => {
                out.push_str("_x");
                rest = &escape[2..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use calamine::{CellErrorType, ExcelDateTimeType};

    use super::*;

    fn text(value: DataRef<'_>) -> String {
        cell_text(&value, || "B3".to_owned()).unwrap()
    }

    fn date(serial: f64) -> String {
        text(DataRef::DateTime(ExcelDateTime::new(
            serial,
            ExcelDateTimeType::DateTime,
            false,
        )))
    }

    #[test]
    fn numbers() {
        assert_eq!(text(DataRef::Float(42.0)), "42");
        assert_eq!(text(DataRef::Float(-7.0)), "-7");
        assert_eq!(text(DataRef::Float(-0.0)), "0");
        assert_eq!(text(DataRef::Float(0.1)), "0.1");
        assert_eq!(text(DataRef::Float(3.25)), "3.25");
        assert_eq!(text(DataRef::Float(0.1 + 0.2)), "0.30000000000000004");
        assert_eq!(text(DataRef::Float(12_345_678_901.0)), "12345678901");
        assert_eq!(text(DataRef::Int(42)), "42");
    }

    #[test]
    fn booleans_strings_and_errors() {
        assert_eq!(text(DataRef::Bool(true)), "TRUE");
        assert_eq!(text(DataRef::Bool(false)), "FALSE");
        assert_eq!(text(DataRef::SharedString("00123")), "00123");
        assert_eq!(text(DataRef::Empty), "");
        let error = cell_text(&DataRef::Error(CellErrorType::Div0), || "C12".to_owned());
        assert_eq!(
            error,
            Err(SheetError::XlsxCellError {
                cell: "C12".into(),
                value: "#DIV/0!".into()
            })
        );
    }

    #[test]
    fn dates_and_times() {
        assert_eq!(date(45_383.0), "2024-04-01");
        assert_eq!(date(45_383.5), "2024-04-01 12:00:00");
        // 09:30 is not exact in binary; rounding keeps it from 09:29:59.
        assert_eq!(date(45_383.0 + 9.5 / 24.0), "2024-04-01 09:30:00");
        assert_eq!(date(1.0), "1900-01-01");
        assert_eq!(date(61.0), "1900-03-01"); // past Excel's fictitious 1900-02-29
        assert_eq!(date(0.75), "18:00:00");
        let in_1904 = ExcelDateTime::new(0.0 + 1.0, ExcelDateTimeType::DateTime, true);
        assert_eq!(text(DataRef::DateTime(in_1904)), "1904-01-02");
        let duration = ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false);
        assert_eq!(text(DataRef::DateTime(duration)), "36:00:00");
        assert_eq!(
            text(DataRef::DateTimeIso("2024-04-01T00:00:00".into())),
            "2024-04-01"
        );
        assert_eq!(
            text(DataRef::DateTimeIso("2024-04-01T09:30:00".into())),
            "2024-04-01 09:30:00"
        );
    }

    #[test]
    fn xstring_escapes() {
        assert_eq!(unescape_xstring("a_x000D_\nb"), "a\r\nb");
        assert_eq!(unescape_xstring("_x005F_x0041_"), "_x0041_");
        assert_eq!(
            unescape_xstring("file_x.txt _x12_ _x00Zz_"),
            "file_x.txt _x12_ _x00Zz_"
        );
        assert_eq!(unescape_xstring("職員_x"), "職員_x");
        assert_eq!(unescape_xstring("_x職員番号_"), "_x職員番号_");
    }
}
