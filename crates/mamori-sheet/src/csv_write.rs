//! Writing CSV the way Excel writes it: RFC 4180 quoting, CRLF line ends.

use std::io::Write;

use crate::table::{Encoding, is_blank};
use crate::{SheetError, column_letter, cp932};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// An error writing a sheet to a stream (書き出しの失敗): what the sheet cannot hold, or the stream failing.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The data cannot be written as asked (a character the encoding lacks, a row too wide …).
    #[error(transparent)]
    Sheet(#[from] SheetError),
    /// The output failed (disk full, connection gone …).
    #[error("could not write the output: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes a header row and data rows as CSV (CSV 出力), all in memory.
///
/// Fields holding a comma, a quote or a line break are quoted, quotes doubled;
/// every row ends in CRLF. Rows shorter than the headers are padded with empty
/// fields; a longer row is an error. With [`Encoding::ShiftJis`], U+E000–U+E757
/// become 外字 bytes again, and a character Shift_JIS lacks (𠮷, emoji …) is an
/// error naming the row (header = 1), the column header and the character;
/// nothing is replaced or escaped. ¥ (U+00A5) is written as 0x5C, which is how
/// Japanese Windows shows it, and reads back as `\`.
///
/// Cells are written as they are: a value starting with `=`, `+`, `-` or `@`
/// is a formula to Excel when the file is opened. Prefer [`crate::write_xlsx`]
/// for files people open, as it writes every cell as text.
///
/// For many rows, [`CsvWriter`] writes the same bytes row by row to a stream.
pub fn write_csv<H, R, C>(
    headers: &[H],
    rows: &[R],
    encoding: Encoding,
) -> Result<Vec<u8>, SheetError>
where
    H: AsRef<str>,
    R: AsRef<[C]>,
    C: AsRef<str>,
{
    let mut out = Vec::new();
    let mut encoder = Encoder::new(headers, encoding);
    encoder.header(&mut out)?;
    for row in rows {
        encoder.row(&mut out, row.as_ref())?;
    }
    Ok(out)
}

/// Writes CSV row by row to a stream (CSV の逐次出力), as [`write_csv`] does in memory: the same
/// bytes, the same errors. Memory holds one row, whatever the number of rows.
///
/// A row is encoded whole before any of it is written, so a refused row leaves
/// no half row behind; but rows before it are written already: write to a
/// temporary file and keep it only when [`CsvWriter::finish`] succeeds. Give it
/// a buffered writer (`BufWriter`), as it writes once a row.
pub struct CsvWriter<W: Write> {
    out: W,
    encoder: Encoder,
    /// The row being encoded, reused from row to row.
    row: Vec<u8>,
}

impl<W: Write> CsvWriter<W> {
    /// Starts the file: the BOM if the encoding has one, and the header row.
    pub fn new<H: AsRef<str>>(
        mut out: W,
        headers: &[H],
        encoding: Encoding,
    ) -> Result<CsvWriter<W>, WriteError> {
        let mut encoder = Encoder::new(headers, encoding);
        let mut row = Vec::new();
        encoder.header(&mut row)?;
        out.write_all(&row)?;
        Ok(CsvWriter { out, encoder, row })
    }

    /// Writes the next data row; shorter than the headers is padded, longer is an error.
    pub fn write_row<C: AsRef<str>>(&mut self, cells: &[C]) -> Result<(), WriteError> {
        self.row.clear();
        self.encoder.row(&mut self.row, cells)?;
        self.out.write_all(&self.row)?;
        Ok(())
    }

    /// Data rows written so far.
    pub fn rows(&self) -> usize {
        self.encoder.line - 1
    }

    /// Flushes the stream and gives it back.
    pub fn finish(mut self) -> Result<W, WriteError> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Turns rows into CSV bytes; [`write_csv`] and [`CsvWriter`] differ only in where the bytes go.
struct Encoder {
    encoding: Encoding,
    headers: Vec<String>,
    /// Row number of the last row encoded (header = 1).
    line: usize,
}

impl Encoder {
    fn new<H: AsRef<str>>(headers: &[H], encoding: Encoding) -> Encoder {
        Encoder {
            encoding,
            headers: headers.iter().map(|h| h.as_ref().to_owned()).collect(),
            line: 0,
        }
    }

    fn header(&mut self, out: &mut Vec<u8>) -> Result<(), SheetError> {
        if self.encoding == Encoding::Utf8Bom {
            out.extend_from_slice(UTF8_BOM);
        }
        self.line = 1;
        let cells = self.headers.iter().map(String::as_str);
        write_row(out, self.encoding, 1, cells, |index| {
            column_name(&self.headers, index)
        })
    }

    fn row<C: AsRef<str>>(&mut self, out: &mut Vec<u8>, cells: &[C]) -> Result<(), SheetError> {
        let line = self.line + 1;
        let columns = self.headers.len();
        if cells.len() > columns {
            return Err(SheetError::RowTooWide {
                line,
                cells: cells.len(),
                columns,
            });
        }
        let padding = std::iter::repeat_n("", columns - cells.len());
        let cells = cells.iter().map(AsRef::as_ref).chain(padding);
        write_row(out, self.encoding, line, cells, |index| {
            column_name(&self.headers, index)
        })?;
        self.line = line;
        Ok(())
    }
}

/// How an error names a column: its header, or its letter when the header is blank.
fn column_name(headers: &[String], index: usize) -> String {
    let header = &headers[index];
    if is_blank(header) {
        column_letter(index)
    } else {
        header.clone()
    }
}

fn write_row<'a>(
    out: &mut Vec<u8>,
    encoding: Encoding,
    line: usize,
    cells: impl Iterator<Item = &'a str>,
    column_name: impl Fn(usize) -> String,
) -> Result<(), SheetError> {
    for (index, cell) in cells.enumerate() {
        if index > 0 {
            out.push(b',');
        }
        match encoding {
            Encoding::Utf8 | Encoding::Utf8Bom => push_field(out, cell.as_bytes()),
            Encoding::ShiftJis => {
                let bytes = cp932::encode(cell).map_err(|cp932::Unmappable(character)| {
                    SheetError::Unencodable {
                        line,
                        column: column_name(index),
                        character,
                        encoding,
                    }
                })?;
                // CP932 trail bytes are 40–FC: never a comma, quote or line end.
                push_field(out, &bytes);
            }
        }
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    if !field
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
    {
        out.extend_from_slice(field);
        return;
    }
    out.push(b'"');
    for &b in field {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::{EncodingChoice, Format, read_table};

    const HEADERS: [&str; 3] = ["職員番号", "氏名", "備考"];

    #[test]
    fn quoting_and_crlf() {
        let rows = [
            vec!["00123", "山田, 太郎", "say \"hi\""],
            vec!["2", "two\nlines", ""],
            vec!["3"],
        ];
        let bytes = write_csv(&HEADERS, &rows, Encoding::Utf8).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "職員番号,氏名,備考\r\n\
             00123,\"山田, 太郎\",\"say \"\"hi\"\"\"\r\n\
             2,\"two\nlines\",\r\n\
             3,,\r\n"
        );
    }

    #[test]
    fn utf8_bom_and_round_trip_of_characters_beyond_shift_jis() {
        let rows = [["00123", "𠮷野 😀", "a,\"b\"\r\nc"]];
        let bytes = write_csv(&HEADERS, &rows, Encoding::Utf8Bom).unwrap();
        assert!(bytes.starts_with(UTF8_BOM));
        let table = read_table(&bytes, Format::Csv, EncodingChoice::Auto).unwrap();
        assert_eq!(table.encoding, Some(Encoding::Utf8Bom));
        assert_eq!(table.headers, HEADERS);
        assert_eq!(table.rows[0].cells, rows[0]);
        assert_eq!(table.rows[0].line, 2);
    }

    #[test]
    fn shift_jis_round_trip_with_gaiji() {
        let rows = [["00123", "髙橋\u{E000}", "①〜\u{E757}"]];
        let bytes = write_csv(&HEADERS, &rows, Encoding::ShiftJis).unwrap();
        assert!(bytes.windows(2).any(|pair| pair == [0xF0, 0x40]));
        assert!(bytes.windows(2).any(|pair| pair == [0xF9, 0xFC]));
        let table = read_table(&bytes, Format::Csv, EncodingChoice::Auto).unwrap();
        assert_eq!(table.encoding, Some(Encoding::ShiftJis));
        // 〜 (U+301C) is written as CP932's 8160 and reads back as ～ (U+FF5E).
        assert_eq!(
            table.rows[0].cells,
            ["00123", "髙橋\u{E000}", "①～\u{E757}"]
        );
        assert_eq!(
            write_csv(&table.headers, &table.rows, Encoding::ShiftJis).unwrap(),
            bytes
        );
    }

    #[test]
    fn shift_jis_refuses_what_it_cannot_write() {
        let rows = [vec!["1", "山田"], vec!["2", "𠮷田"]];
        let error = write_csv(&HEADERS, &rows, Encoding::ShiftJis).unwrap_err();
        assert_eq!(
            error,
            SheetError::Unencodable {
                line: 3,
                column: "氏名".into(),
                character: '𠮷',
                encoding: Encoding::ShiftJis,
            }
        );
        let error = write_csv(&["", "x"], &[["👍"]], Encoding::ShiftJis).unwrap_err();
        assert_eq!(error.params()[1], ("column", "A".to_owned()));
    }

    #[test]
    fn rows_wider_than_the_headers_are_refused() {
        let error = write_csv(&["a"], &[["1", "2"]], Encoding::Utf8).unwrap_err();
        assert_eq!(
            error,
            SheetError::RowTooWide {
                line: 2,
                cells: 2,
                columns: 1
            }
        );
    }
}
