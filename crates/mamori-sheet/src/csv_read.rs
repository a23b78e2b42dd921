//! Reading CSV: choosing the encoding, then splitting rows the way Excel does.
//!
//! The parser is our own rather than the `csv` crate's because Excel's row
//! numbers must stay true: the `csv` crate skips empty lines without saying
//! how many, and a quoted line break must not count as a row.

use std::borrow::Cow;
use std::iter::Peekable;
use std::str::Chars;

use crate::SheetError;
use crate::cp932;
use crate::table::{Encoding, EncodingChoice};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes the whole file, saying which encoding it was in. UTF-8 is borrowed
/// as it is; only Shift_JIS needs a decoded copy (bounded by the input limit).
pub(crate) fn decode(
    bytes: &[u8],
    choice: EncodingChoice,
) -> Result<(Cow<'_, str>, Encoding), SheetError> {
    let bom = bytes.starts_with(UTF8_BOM);
    match choice {
        EncodingChoice::ShiftJis => decode_cp932(bytes),
        EncodingChoice::Utf8 => decode_utf8(bytes),
        EncodingChoice::Auto if bom || std::str::from_utf8(bytes).is_ok() => decode_utf8(bytes),
        EncodingChoice::Auto => decode_cp932(bytes),
    }
}

fn decode_utf8(bytes: &[u8]) -> Result<(Cow<'_, str>, Encoding), SheetError> {
    let (body, encoding) = match bytes.strip_prefix(UTF8_BOM) {
        Some(body) => (body, Encoding::Utf8Bom),
        None => (bytes, Encoding::Utf8),
    };
    match std::str::from_utf8(body) {
        Ok(text) => Ok((Cow::Borrowed(text), encoding)),
        Err(error) => Err(SheetError::MalformedEncoding {
            encoding,
            line: line_of(body, error.valid_up_to()),
        }),
    }
}

fn decode_cp932(bytes: &[u8]) -> Result<(Cow<'_, str>, Encoding), SheetError> {
    match cp932::decode(bytes) {
        Ok(text) => Ok((Cow::Owned(text), Encoding::ShiftJis)),
        Err(cp932::Malformed { offset }) => Err(SheetError::MalformedEncoding {
            encoding: Encoding::ShiftJis,
            line: line_of(bytes, offset),
        }),
    }
}

/// The text line (1-based) of a byte offset. Neither UTF-8 nor Shift_JIS has
/// 0x0A inside a multi-byte character, so counting bytes is exact.
fn line_of(bytes: &[u8], offset: usize) -> usize {
    1 + bytes[..offset].iter().filter(|b| **b == b'\n').count()
}

/// Splits CSV text (RFC 4180, as Excel reads it) into rows, one at a time:
/// each row's number and cells, empty lines included.
///
/// Line ends are CRLF, LF or CR. A field that starts with `"` is quoted: `""`
/// inside it is a quote, and commas and line breaks are data; text after its
/// closing quote is kept, as Excel does. Quotes inside an unquoted field are
/// data. A quoted field still open at the end of the file is an error, after
/// which there are no more rows.
pub(crate) struct Records<'t> {
    chars: Peekable<Chars<'t>>,
    line: usize,
    done: bool,
}

impl<'t> Records<'t> {
    pub(crate) fn new(text: &'t str) -> Records<'t> {
        Records {
            chars: text.chars().peekable(),
            line: 1,
            done: false,
        }
    }
}

impl Iterator for Records<'_> {
    type Item = Result<(usize, Vec<String>), SheetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let chars = &mut self.chars;
        let mut cells = Vec::new();
        let mut cell = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' if cell.is_empty() => loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            cell.push('"');
                        }
                        Some('"') => break,
                        Some(c) => cell.push(c),
                        None => {
                            self.done = true;
                            return Some(Err(SheetError::UnclosedQuote { line: self.line }));
                        }
                    }
                },
                ',' => cells.push(std::mem::take(&mut cell)),
                '\r' | '\n' => {
                    if c == '\r' && chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    cells.push(cell);
                    let line = self.line;
                    self.line += 1;
                    return Some(Ok((line, cells)));
                }
                c => cell.push(c),
            }
        }
        self.done = true;
        if !cell.is_empty() || !cells.is_empty() {
            cells.push(cell);
            return Some(Ok((self.line, cells)));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::{Format, Row, Table};

    fn rows(text: &str) -> Vec<(usize, Vec<String>)> {
        Records::new(text).collect::<Result<_, _>>().unwrap()
    }

    fn read(bytes: &[u8], choice: EncodingChoice) -> Result<Table, SheetError> {
        crate::read_table(bytes, Format::Csv, choice)
    }

    fn strings(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn quoted_fields_keep_commas_quotes_and_line_breaks() {
        let text = "id,memo,name\r\n1,\"a, b\",\"say \"\"hi\"\"\"\r\n2,\"line1\r\nline2\nline3\",x\r\n3,,\"\"\r\n";
        assert_eq!(
            rows(text),
            [
                (1, strings(&["id", "memo", "name"])),
                (2, strings(&["1", "a, b", "say \"hi\""])),
                (3, strings(&["2", "line1\r\nline2\nline3", "x"])),
                (4, strings(&["3", "", ""])),
            ]
        );
    }

    #[test]
    fn line_ends_and_the_last_line() {
        assert_eq!(
            rows("a\rb\nc\r\nd"),
            [
                (1, strings(&["a"])),
                (2, strings(&["b"])),
                (3, strings(&["c"])),
                (4, strings(&["d"])),
            ]
        );
        assert_eq!(rows("a,"), [(1, strings(&["a", ""]))]);
        assert_eq!(rows(""), []);
    }

    #[test]
    fn empty_lines_are_rows() {
        assert_eq!(
            rows("a\n\n\"x\ny\"\n\nb\n"),
            [
                (1, strings(&["a"])),
                (2, strings(&[""])),
                (3, strings(&["x\ny"])),
                (4, strings(&[""])),
                (5, strings(&["b"])),
            ]
        );
    }

    #[test]
    fn stray_quotes_are_data_like_excel() {
        assert_eq!(rows("5\"2,\"ab\"cd\n"), [(1, strings(&["5\"2", "abcd"]))]);
    }

    #[test]
    fn unclosed_quote_names_the_row_it_opens_on() {
        let mut records = Records::new("a\nb\n\"c\nd");
        assert_eq!(
            records.nth(2),
            Some(Err(SheetError::UnclosedQuote { line: 3 }))
        );
        assert_eq!(records.next(), None);
    }

    #[test]
    fn empty_rows_keep_line_numbers() {
        let table = read(
            "職員番号,氏名\r\n001,山田\r\n,\r\n\r\n002,\"佐藤\r\n花子\"\r\n003,鈴木\r\n".as_bytes(),
            EncodingChoice::Auto,
        )
        .unwrap();
        assert_eq!(table.headers, ["職員番号", "氏名"]);
        let lines: Vec<usize> = table.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 5, 6]);
        assert_eq!(table.rows[1].cells, ["002", "佐藤\r\n花子"]);
    }

    #[test]
    fn utf8_with_and_without_bom() {
        let plain = read("ID,氏名\n1,𠮷野\n".as_bytes(), EncodingChoice::Auto).unwrap();
        assert_eq!(plain.encoding, Some(Encoding::Utf8));
        assert_eq!(plain.rows[0].cells, ["1", "𠮷野"]);

        let with_bom = [UTF8_BOM, "ID,氏名\n1,𠮷野\n".as_bytes()].concat();
        let table = read(&with_bom, EncodingChoice::Auto).unwrap();
        assert_eq!(table.encoding, Some(Encoding::Utf8Bom));
        assert_eq!(table.headers, ["ID", "氏名"]); // no BOM stuck to "ID"
        assert_eq!(table.rows, plain.rows);

        let chosen = read(&with_bom, EncodingChoice::Utf8).unwrap();
        assert_eq!(chosen.encoding, Some(Encoding::Utf8Bom));
        assert_eq!(chosen.headers, ["ID", "氏名"]);
    }

    #[test]
    fn shift_jis_is_detected() {
        let (head, _, unmappable) =
            encoding_rs::SHIFT_JIS.encode("職員番号,氏名,所属\r\n00123,髙橋　①,総務課");
        assert!(!unmappable);
        // 外字 F040 ends the row; encoding_rs cannot write it, so it is spelled out.
        let bytes = [head.as_ref(), b"\xF0\x40\r\n"].concat();
        assert!(std::str::from_utf8(&bytes).is_err());
        let table = read(&bytes, EncodingChoice::Auto).unwrap();
        assert_eq!(table.encoding, Some(Encoding::ShiftJis));
        assert_eq!(table.headers, ["職員番号", "氏名", "所属"]);
        assert_eq!(
            table.rows,
            [Row {
                line: 2,
                cells: strings(&["00123", "髙橋　①", "総務課\u{E000}"])
            }]
        );
        assert_eq!(read(&bytes, EncodingChoice::ShiftJis).unwrap(), table);
    }

    #[test]
    fn malformed_bytes_name_the_line() {
        // 0x82 then a comma cannot be Shift_JIS, and is not UTF-8 either.
        let bytes = b"id,name\r\n1,ok\r\n2,\x82,\r\n";
        let error = read(bytes, EncodingChoice::Auto).unwrap_err();
        assert_eq!(
            error,
            SheetError::MalformedEncoding {
                encoding: Encoding::ShiftJis,
                line: 3
            }
        );
        assert_eq!(error.code(), "sheet.csv.malformed_encoding");
        assert_eq!(error.to_string(), "line 3 is not valid Shift_JIS");

        let error = read(b"id\n\n\xE8\n", EncodingChoice::Utf8).unwrap_err();
        assert_eq!(
            error,
            SheetError::MalformedEncoding {
                encoding: Encoding::Utf8,
                line: 3
            }
        );
    }

    #[test]
    fn shift_jis_bytes_are_not_taken_for_utf8_when_chosen() {
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode("氏名\r\n");
        let error = read(&bytes, EncodingChoice::Utf8).unwrap_err();
        assert_eq!(error.code(), "sheet.csv.malformed_encoding");
    }
}
