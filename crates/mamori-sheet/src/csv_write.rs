//! Writing CSV the way Excel writes it: RFC 4180 quoting, CRLF line ends.

use crate::table::{Encoding, is_blank};
use crate::{SheetError, column_letter, cp932};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Writes a header row and data rows as CSV (CSV 出力).
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
    if encoding == Encoding::Utf8Bom {
        out.extend_from_slice(UTF8_BOM);
    }
    let column_name = |index: usize| {
        let header = headers[index].as_ref();
        if is_blank(header) {
            column_letter(index)
        } else {
            header.to_owned()
        }
    };
    let header_cells = headers.iter().map(AsRef::as_ref);
    write_row(&mut out, encoding, 1, header_cells, column_name)?;
    for (index, row) in rows.iter().enumerate() {
        let line = index + 2;
        let cells = row.as_ref();
        if cells.len() > headers.len() {
            return Err(SheetError::RowTooWide {
                line,
                cells: cells.len(),
                columns: headers.len(),
            });
        }
        let padding = std::iter::repeat_n("", headers.len() - cells.len());
        let cells = cells.iter().map(AsRef::as_ref).chain(padding);
        write_row(&mut out, encoding, line, cells, column_name)?;
    }
    Ok(out)
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
