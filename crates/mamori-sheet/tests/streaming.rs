//! Writing row by row: the bytes leave as the rows come, and a large sheet reads back whole.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::Cell;
use std::rc::Rc;

use mamori_sheet::{
    CsvWriter, Encoding, EncodingChoice, Format, SheetError, WriteError, XlsxColumn, XlsxSheet,
    XlsxWriter, read_table, write_csv, write_xlsx,
};

const HEADERS: [&str; 4] = ["資産番号", "名称", "備考", "次回見直し"];

/// Row `n` of a large sheet: leading zeros, quotes, commas, line breaks, 外字, and an empty cell now and then.
fn row(n: usize) -> [String; 4] {
    [
        format!("{n:07}"),
        format!("住民記録 {n}, \"本庁\"\u{E000}"),
        if n.is_multiple_of(7) {
            String::new()
        } else {
            format!("一行目\n二行目 {n}")
        },
        format!("2026/{:02}/01", n % 12 + 1),
    ]
}

#[test]
fn csv_leaves_row_by_row_and_matches_the_whole_file() {
    const ROWS: usize = 20_000;
    let mut out = Vec::new();
    let mut csv = CsvWriter::new(&mut out, &HEADERS, Encoding::ShiftJis).unwrap();
    let mut written = Vec::with_capacity(ROWS);
    for n in 0..ROWS {
        csv.write_row(&row(n)).unwrap();
        assert_eq!(csv.rows(), n + 1);
    }
    csv.finish().unwrap();
    for n in 0..ROWS {
        written.push(row(n));
    }
    // The same bytes as the whole file written at once …
    assert_eq!(
        out,
        write_csv(&HEADERS, &written, Encoding::ShiftJis).unwrap()
    );
    // … and every row back, 外字 included.
    let table = read_table(&out, Format::Csv, EncodingChoice::Auto).unwrap();
    assert_eq!(table.headers, HEADERS);
    assert_eq!(table.rows.len(), ROWS);
    for (n, read) in table.rows.iter().enumerate() {
        let expected = row(n);
        let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        assert_eq!(read.cells, expected, "row {}", read.line);
    }
}

#[test]
fn csv_writes_each_row_when_it_comes() {
    /// Counts what reaches the stream, where the test can see it while the writer holds the stream.
    struct Counting(Rc<Cell<usize>>);
    impl std::io::Write for Counting {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.set(self.0.get() + buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let seen = Rc::new(Cell::new(0));
    let mut csv = CsvWriter::new(Counting(seen.clone()), &HEADERS, Encoding::Utf8Bom).unwrap();
    let mut before = seen.get();
    assert!(before > 0, "the header row was held back");
    for n in 0..100 {
        csv.write_row(&row(n)).unwrap();
        assert!(seen.get() > before, "row {n} was held back");
        before = seen.get();
    }
}

#[test]
fn csv_refusal_names_the_row_and_leaves_no_half_row() {
    let mut out = Vec::new();
    let mut csv = CsvWriter::new(&mut out, &HEADERS, Encoding::ShiftJis).unwrap();
    csv.write_row(&["1", "山田", "", ""]).unwrap();
    let error = csv.write_row(&["2", "𠮷田", "", ""]).unwrap_err();
    let WriteError::Sheet(error) = error else {
        panic!("{error}")
    };
    assert_eq!(
        error,
        SheetError::Unencodable {
            line: 3,
            column: "名称".into(),
            character: '𠮷',
            encoding: Encoding::ShiftJis,
        }
    );
    drop(csv);
    let table = read_table(&out, Format::Csv, EncodingChoice::Auto).unwrap();
    assert_eq!(table.rows.len(), 1);
    assert_eq!(table.rows[0].cells, ["1", "山田"]);
}

#[test]
fn xlsx_rows_stream_and_read_back_whole() {
    const ROWS: usize = 5_000;
    let columns = [
        XlsxColumn::new(HEADERS[0]).width(14.0),
        XlsxColumn::new(HEADERS[1]).width(28.0),
        XlsxColumn::new(HEADERS[2]).choices(["一行目"]),
        XlsxColumn::new(HEADERS[3]),
    ];
    let mut xlsx = XlsxWriter::new("情報資産管理台帳", &columns).unwrap();
    for n in 0..ROWS {
        xlsx.write_row(&row(n)).unwrap();
    }
    assert_eq!(xlsx.rows(), ROWS);
    let mut out = Vec::new();
    xlsx.finish(&mut out).unwrap();

    let table = read_table(&out, Format::Xlsx, EncodingChoice::Auto).unwrap();
    assert_eq!(table.headers, HEADERS);
    assert_eq!(table.rows.len(), ROWS);
    for (n, read) in table.rows.iter().enumerate() {
        assert_eq!(read.line, n + 2);
        let expected = row(n);
        let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        assert_eq!(read.cells, expected, "row {}", read.line);
    }

    // write_xlsx is the same writer.
    let rows: Vec<[String; 4]> = (0..10).map(row).collect();
    let bytes = write_xlsx(&XlsxSheet {
        name: "情報資産管理台帳",
        columns: &columns,
        rows: &rows,
    })
    .unwrap();
    assert_eq!(
        read_table(&bytes, Format::Xlsx, EncodingChoice::Auto)
            .unwrap()
            .rows
            .len(),
        10
    );
}

#[test]
fn xlsx_rows_wider_than_the_columns_are_refused() {
    let mut xlsx = XlsxWriter::new("台帳", &[XlsxColumn::new("a")]).unwrap();
    xlsx.write_row(&["1"]).unwrap();
    assert_eq!(
        xlsx.write_row(&["1", "2"]).unwrap_err(),
        SheetError::RowTooWide {
            line: 3,
            cells: 2,
            columns: 1
        }
    );
}
