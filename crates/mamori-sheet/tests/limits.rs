//! The documented limits, each exceeded by one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mamori_sheet::{
    EncodingChoice, Format, MAX_CELL_CHARS, MAX_COLUMNS, MAX_INPUT_BYTES, MAX_ROWS, SheetError,
    XlsxColumn, XlsxSheet, read_table, write_xlsx,
};

fn read_csv(text: &str) -> Result<mamori_sheet::Table, SheetError> {
    read_table(text.as_bytes(), Format::Csv, EncodingChoice::Auto)
}

#[test]
fn input_bytes() {
    let bytes = vec![b'a'; MAX_INPUT_BYTES + 1];
    let error = read_table(&bytes, Format::Csv, EncodingChoice::Auto).unwrap_err();
    assert_eq!(
        error,
        SheetError::InputTooLarge {
            size: MAX_INPUT_BYTES + 1,
            max: MAX_INPUT_BYTES
        }
    );
    assert_eq!(error.code(), "sheet.input_too_large");
}

#[test]
fn rows() {
    // Empty rows do not count.
    let at_limit = format!("id\n\n{}", "1\n".repeat(MAX_ROWS));
    assert_eq!(read_csv(&at_limit).unwrap().rows.len(), MAX_ROWS);
    let over = format!("{at_limit}1\n");
    assert_eq!(
        read_csv(&over).unwrap_err(),
        SheetError::TooManyRows {
            line: MAX_ROWS + 3,
            max: MAX_ROWS
        }
    );
}

#[test]
fn columns() {
    let at_limit = vec!["h"; MAX_COLUMNS].join(",");
    // Trailing empty cells do not count.
    let table = read_csv(&format!("{at_limit},,,\n")).unwrap();
    assert_eq!(table.headers.len(), MAX_COLUMNS);
    let error = read_csv(&format!("{at_limit}\n{at_limit},x\n")).unwrap_err();
    assert_eq!(
        error,
        SheetError::TooManyColumns {
            cell: "GS2".into(),
            max: MAX_COLUMNS
        }
    );
    assert_eq!(
        error.to_string(),
        "more than 200 columns (cell GS2 is over the limit)"
    );
}

#[test]
fn columns_in_xlsx() {
    let columns: Vec<XlsxColumn> = (0..=MAX_COLUMNS)
        .map(|i| XlsxColumn::new(format!("h{i}")))
        .collect();
    let rows: [[&str; 0]; 0] = [];
    let bytes = write_xlsx(&XlsxSheet {
        name: "wide",
        columns: &columns,
        rows: &rows,
    })
    .unwrap();
    let error = read_table(&bytes, Format::Xlsx, EncodingChoice::Auto).unwrap_err();
    assert_eq!(
        error,
        SheetError::TooManyColumns {
            cell: "GS1".into(),
            max: MAX_COLUMNS
        }
    );
}

#[test]
fn cell_length_in_characters() {
    // 32,767 characters of three bytes each are within the limit.
    let at_limit = "字".repeat(MAX_CELL_CHARS);
    let table = read_csv(&format!("id,memo\n1,{at_limit}\n")).unwrap();
    assert_eq!(table.rows[0].cells[1].chars().count(), MAX_CELL_CHARS);
    let error = read_csv(&format!("id,memo\n1,\"{at_limit}字\"\n")).unwrap_err();
    assert_eq!(
        error,
        SheetError::CellTooLong {
            cell: "B2".into(),
            length: MAX_CELL_CHARS + 1,
            max: MAX_CELL_CHARS
        }
    );
}

#[test]
fn empty_files() {
    for text in ["", "\r\n\r\n", ",,\n  ,\u{3000}\n"] {
        assert_eq!(read_csv(text).unwrap_err(), SheetError::Empty, "{text:?}");
    }
}
