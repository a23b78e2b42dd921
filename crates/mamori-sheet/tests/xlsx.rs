//! xlsx written by this crate and by LibreOffice, read back.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Cursor;

use calamine::{Reader, SheetVisible, Xlsx};
use mamori_sheet::{
    ColumnSpec, EncodingChoice, Format, HeaderMap, Row, SheetError, XlsxColumn, XlsxSheet,
    read_table, write_xlsx,
};

const LIBREOFFICE_XLSX: &[u8] = include_bytes!("fixtures/libreoffice-staff.xlsx");
const LIBREOFFICE_XLS: &[u8] = include_bytes!("fixtures/libreoffice-staff.xls");

fn row(line: usize, cells: &[&str]) -> Row {
    Row {
        line,
        cells: cells.iter().map(|c| (*c).to_owned()).collect(),
    }
}

fn read_xlsx(bytes: &[u8]) -> mamori_sheet::Table {
    read_table(bytes, Format::Xlsx, EncodingChoice::Auto).unwrap()
}

#[test]
fn round_trip_keeps_text_as_written() {
    let columns = [
        XlsxColumn::new("職員番号").width(10.0),
        XlsxColumn::new("氏名").width(20.0),
        XlsxColumn::new("備考"),
        XlsxColumn::new("式"),
    ];
    let rows = [
        vec!["00123", "𠮷田\u{E000}", "一行目\n二行目", "=1+1"],
        vec!["42", "", "CR LF\r\nと _x0041_", "2024-04-01"],
        vec!["007"],
    ];
    let bytes = write_xlsx(&XlsxSheet {
        name: "職員一覧",
        columns: &columns,
        rows: &rows,
    })
    .unwrap();
    assert_eq!(Format::sniff(&bytes), Format::Xlsx);

    let table = read_xlsx(&bytes);
    assert_eq!(table.encoding, None);
    assert_eq!(table.headers, ["職員番号", "氏名", "備考", "式"]);
    assert_eq!(
        table.rows,
        [
            row(2, &["00123", "𠮷田\u{E000}", "一行目\n二行目", "=1+1"]),
            row(3, &["42", "", "CR LF\r\nと _x0041_", "2024-04-01"]),
            row(4, &["007"]),
        ]
    );

    // And the table read back writes out the same.
    let again = write_xlsx(&XlsxSheet {
        name: "職員一覧",
        columns: &columns,
        rows: &table.rows,
    })
    .unwrap();
    assert_eq!(read_xlsx(&again), table);
}

#[test]
fn drop_down_lists_short_inline_and_long_on_a_hidden_sheet() {
    let many: Vec<String> = (1..=120).map(|n| format!("課{n:03}")).collect();
    let columns = [
        XlsxColumn::new("職員番号"),
        XlsxColumn::new("区分").choices(["正規", "会計年度任用", "臨時"]),
        XlsxColumn::new("所属").choices(many.clone()),
        XlsxColumn::new("メモ").choices(["a, b", "c"]),
    ];
    let rows: [[&str; 4]; 0] = [];
    let bytes = write_xlsx(&XlsxSheet {
        name: "入力",
        columns: &columns,
        rows: &rows,
    })
    .unwrap();

    // The first sheet is the data; the lists sit on a hidden second sheet.
    let table = read_xlsx(&bytes);
    assert_eq!(table.headers, ["職員番号", "区分", "所属", "メモ"]);
    assert!(table.rows.is_empty());
    let mut workbook = Xlsx::new(Cursor::new(&bytes)).unwrap();
    let sheets = workbook.sheets_metadata().to_vec();
    assert_eq!(sheets.len(), 2);
    assert_eq!(sheets[0].name, "入力");
    assert_eq!(sheets[1].name, "選択肢");
    assert_eq!(sheets[1].visible, SheetVisible::Hidden);
    let lists = workbook.worksheet_range("選択肢").unwrap();
    let column_a: Vec<String> = (0..120)
        .map(|r| lists.get_value((r, 0)).unwrap().to_string())
        .collect();
    assert_eq!(column_a, many);
    assert_eq!(lists.get_value((0, 1)).unwrap().to_string(), "a, b");
}

#[test]
fn write_errors_say_where() {
    let columns = [XlsxColumn::new("ID")];
    let error = write_xlsx(&XlsxSheet {
        name: "a/b",
        columns: &columns,
        rows: &[["1"]],
    })
    .unwrap_err();
    assert_eq!(error.code(), "sheet.xlsx.invalid_sheet_name");

    let error = write_xlsx(&XlsxSheet {
        name: "一覧",
        columns: &columns,
        rows: &[vec!["1", "2"]],
    })
    .unwrap_err();
    assert_eq!(
        error,
        SheetError::RowTooWide {
            line: 2,
            cells: 2,
            columns: 1
        }
    );

    let long = "あ".repeat(32_768);
    let error = write_xlsx(&XlsxSheet {
        name: "一覧",
        columns: &columns,
        rows: &[["1"], [long.as_str()]],
    })
    .unwrap_err();
    assert_eq!(
        error,
        SheetError::CellTooLong {
            cell: "A3".into(),
            length: 32_768,
            max: 32_767
        }
    );
}

#[test]
fn libreoffice_workbook() {
    let table = read_xlsx(LIBREOFFICE_XLSX);
    assert_eq!(
        table.headers,
        ["職員番号", "氏名", "所属", "採用日", "内線", "係数", "備考"]
    );
    // Row 4 of the sheet is empty: skipped, and row 5 stays row 5.
    assert_eq!(
        table.rows,
        [
            row(
                2,
                &[
                    "00123",
                    "山田\u{3000}太郎",
                    "総務課",
                    "2024-04-01",
                    "42",
                    "3.25"
                ]
            ),
            row(
                3,
                &[
                    "00456",
                    "𠮷田 花子",
                    "情報政策課",
                    "2023-10-16",
                    "7",
                    "0.5",
                    "二行の\n備考"
                ]
            ),
            row(
                5,
                &[
                    "07890",
                    "髙橋 一郎",
                    "税務課",
                    "2020-01-31",
                    "100",
                    "-1.5",
                    "カンマ, あり"
                ]
            ),
        ]
    );

    let specs = [
        ColumnSpec::required("staff_id", &["職員番号", "staff id"]),
        ColumnSpec::required("name", &["氏名"]),
        ColumnSpec::optional("hired_on", &["採用日"]),
        ColumnSpec::optional("note", &["備考"]),
    ];
    let map = HeaderMap::resolve(&table.headers, &specs).unwrap();
    let unknown: Vec<&str> = map.unknown().iter().map(|c| c.letter.as_str()).collect();
    assert_eq!(unknown, ["C", "E", "F"]);
    assert_eq!(map.get(&table.rows[0], "hired_on"), Some("2024-04-01"));
    assert_eq!(map.get(&table.rows[0], "note"), None);
}

#[test]
fn legacy_xls_is_refused_clearly() {
    for format in [Format::Xlsx, Format::Csv] {
        let error = read_table(LIBREOFFICE_XLS, format, EncodingChoice::Auto).unwrap_err();
        assert_eq!(error, SheetError::LegacyXls);
        assert_eq!(error.code(), "sheet.xls_unsupported");
    }
}

#[test]
fn not_a_workbook() {
    let error = read_table(b"PK\x03\x04 broken", Format::Xlsx, EncodingChoice::Auto).unwrap_err();
    assert_eq!(error.code(), "sheet.xlsx.invalid");
}
