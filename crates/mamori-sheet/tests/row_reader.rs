//! Reading row by row: the same header, rows, lines and errors as reading the whole table.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mamori_sheet::{
    Encoding, EncodingChoice, Format, MAX_COLUMNS, Row, RowSource, SheetError, XlsxColumn,
    XlsxSheet, read_table, write_xlsx,
};

const LIBREOFFICE_XLSX: &[u8] = include_bytes!("fixtures/libreoffice-staff.xlsx");

fn row(line: usize, cells: &[&str]) -> Row {
    Row {
        line,
        cells: cells.iter().map(|c| (*c).to_owned()).collect(),
    }
}

/// Header, encoding and every item of the reader, errors included.
fn stream(
    bytes: &[u8],
    format: Format,
    choice: EncodingChoice,
) -> (Vec<String>, Option<Encoding>, Vec<Result<Row, SheetError>>) {
    let mut source = RowSource::open(bytes, format, choice).unwrap();
    let reader = source.rows().unwrap();
    let headers = reader.headers().to_vec();
    let encoding = reader.encoding();
    (headers, encoding, reader.collect())
}

/// The reader gives exactly what `read_table` gives.
fn same_as_table(bytes: &[u8], format: Format, choice: EncodingChoice) -> Vec<Row> {
    let table = read_table(bytes, format, choice).unwrap();
    let (headers, encoding, rows) = stream(bytes, format, choice);
    let rows: Vec<Row> = rows.into_iter().map(Result::unwrap).collect();
    assert_eq!(headers, table.headers);
    assert_eq!(encoding, table.encoding);
    assert_eq!(rows, table.rows);
    rows
}

const CSV: &str = "\r\n 職員番号 ,氏名,備考,,\r\n00123,𠮷野,\"一行目\r\n二行目\",,\r\n,,\r\n00124,\"佐藤, 花子\",\r\n00125\r\n";

fn expected_csv_rows() -> Vec<Row> {
    vec![
        row(3, &["00123", "𠮷野", "一行目\r\n二行目"]),
        row(5, &["00124", "佐藤, 花子"]),
        row(6, &["00125"]),
    ]
}

#[test]
fn csv_utf8_with_and_without_bom() {
    let rows = same_as_table(CSV.as_bytes(), Format::Csv, EncodingChoice::Auto);
    assert_eq!(rows, expected_csv_rows());
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), CSV.as_bytes()].concat();
    let (headers, encoding, _) = stream(&with_bom, Format::Csv, EncodingChoice::Auto);
    assert_eq!(headers, ["職員番号", "氏名", "備考"]);
    assert_eq!(encoding, Some(Encoding::Utf8Bom));
    assert_eq!(
        same_as_table(&with_bom, Format::Csv, EncodingChoice::Utf8),
        expected_csv_rows()
    );
}

#[test]
fn csv_shift_jis_with_gaiji() {
    let text = CSV.replace('𠮷', "髙");
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
    assert!(!unmappable);
    // 外字 F040 at the end of the file, after a last line without a line break.
    let bytes = [bytes.as_ref(), b"00126,\xF0\x40"].concat();
    let rows = same_as_table(&bytes, Format::Csv, EncodingChoice::Auto);
    assert_eq!(rows[0], row(3, &["00123", "髙野", "一行目\r\n二行目"]));
    assert_eq!(rows[3], row(7, &["00126", "\u{E000}"]));
    let (_, encoding, _) = stream(&bytes, Format::Csv, EncodingChoice::ShiftJis);
    assert_eq!(encoding, Some(Encoding::ShiftJis));
}

#[test]
fn xlsx_fixture_and_written_workbook() {
    let rows = same_as_table(LIBREOFFICE_XLSX, Format::Xlsx, EncodingChoice::Auto);
    assert!(!rows.is_empty());

    let columns = [XlsxColumn::new("資産番号"), XlsxColumn::new("名称")];
    let data = [
        vec!["0001", "住民記録"],
        vec!["", ""],
        vec!["0003", ""],
        vec!["", "名称だけ"],
    ];
    let bytes = write_xlsx(&XlsxSheet {
        name: "台帳",
        columns: &columns,
        rows: &data,
    })
    .unwrap();
    assert_eq!(
        same_as_table(&bytes, Format::Xlsx, EncodingChoice::Auto),
        [
            row(2, &["0001", "住民記録"]),
            row(4, &["0003"]),
            row(5, &["", "名称だけ"]),
        ]
    );
}

#[test]
fn rows_come_before_an_error_at_its_line_and_nothing_after() {
    let text = "id,name\n1,a\n2,b\n3,\"open\n4,d\n";
    let (_, _, items) = stream(text.as_bytes(), Format::Csv, EncodingChoice::Auto);
    assert_eq!(
        items,
        [
            Ok(row(2, &["1", "a"])),
            Ok(row(3, &["2", "b"])),
            Err(SheetError::UnclosedQuote { line: 4 }),
        ]
    );
    assert_eq!(
        read_table(text.as_bytes(), Format::Csv, EncodingChoice::Auto).unwrap_err(),
        SheetError::UnclosedQuote { line: 4 }
    );

    let wide = vec!["x"; MAX_COLUMNS + 1].join(",");
    let text = format!("id\n1\n\n{wide}\n5\n");
    let (_, _, items) = stream(text.as_bytes(), Format::Csv, EncodingChoice::Auto);
    assert_eq!(
        items,
        [
            Ok(row(2, &["1"])),
            Err(SheetError::TooManyColumns {
                cell: "GS4".into(),
                max: MAX_COLUMNS
            }),
        ]
    );
}

#[test]
fn a_file_without_a_header_is_empty() {
    let mut source = RowSource::open(b"\r\n,,\r\n", Format::Csv, EncodingChoice::Auto).unwrap();
    assert_eq!(source.rows().err(), Some(SheetError::Empty));
}

#[test]
fn rows_hint_is_about_the_data_rows() {
    let mut source = RowSource::open(CSV.as_bytes(), Format::Csv, EncodingChoice::Auto).unwrap();
    // Seven line breaks, one of them inside a quoted cell: a hint, not a count.
    assert_eq!(source.rows().unwrap().rows_hint(), 7);
}
