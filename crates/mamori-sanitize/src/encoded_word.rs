//! RFC 2047 encoded-words: decoding header text, and encoding rebuilt header values as UTF-8 `B` words.

use base64::Engine as _;

use crate::charset;
use crate::transfer::decode_base64;

/// Header text after decoding, with notes on what could not be decoded cleanly.
#[derive(Debug, Default)]
pub struct HeaderText {
    pub text: String,
    pub notes: Vec<String>,
}

struct Word<'a> {
    charset: &'a str,
    bytes: Vec<u8>,
    raw: &'a [u8],
}

/// Parses `=?charset?enc?text?=` at `start`; returns the word and the index after it.
fn parse_word(raw: &[u8], start: usize) -> Option<(Word<'_>, usize)> {
    let rest = raw.get(start + 2..)?;
    let charset_end = rest.iter().position(|&b| b == b'?')?;
    let charset = std::str::from_utf8(&rest[..charset_end]).ok()?;
    if charset.is_empty() || charset.bytes().any(|b| !b.is_ascii_graphic()) {
        return None;
    }
    let encoding = *rest.get(charset_end + 1)?;
    if rest.get(charset_end + 2) != Some(&b'?') {
        return None;
    }
    let text_start = charset_end + 3;
    let text_len = rest[text_start..].windows(2).position(|w| w == b"?=")?;
    let text = &rest[text_start..text_start + text_len];
    if text.iter().any(|b| !b.is_ascii_graphic()) {
        return None;
    }
    let bytes = match encoding.to_ascii_uppercase() {
        b'B' => decode_base64(text).bytes,
        b'Q' => decode_q(text),
        _ => return None,
    };
    let end = start + 2 + text_start + text_len + 2;
    // RFC 2231 section 5: `charset*language`.
    let charset = charset.split('*').next().unwrap_or(charset);
    Some((
        Word {
            charset,
            bytes,
            raw: &raw[start..end],
        },
        end,
    ))
}

fn decode_q(text: &[u8]) -> Vec<u8> {
    let underscores_as_spaces: Vec<u8> = text
        .iter()
        .map(|&b| if b == b'_' { b' ' } else { b })
        .collect();
    crate::transfer::decode_quoted_printable(&underscores_as_spaces).bytes
}

/// Decodes a header value: encoded-words anywhere, the blanks between adjacent words dropped, and the bytes of
/// adjacent words in the same charset joined before decoding (a character may be split across two words).
/// Raw 8-bit text outside encoded-words is decoded as UTF-8 or guessed among the Japanese charsets.
pub fn decode_header(raw: &[u8]) -> HeaderText {
    let mut out = HeaderText::default();
    let mut run: Vec<Word<'_>> = Vec::new();
    let mut literal: Vec<u8> = Vec::new();
    let mut index = 0;
    while index < raw.len() {
        if raw[index] == b'='
            && raw.get(index + 1) == Some(&b'?')
            && let Some((word, end)) = parse_word(raw, index)
        {
            let only_blanks = literal
                .iter()
                .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
            if run.is_empty() || !only_blanks {
                flush_run(&mut run, &mut out);
                flush_literal(&literal, &mut out);
            }
            literal.clear();
            run.push(word);
            index = end;
            continue;
        }
        literal.push(raw[index]);
        index += 1;
    }
    flush_run(&mut run, &mut out);
    flush_literal(&literal, &mut out);
    out
}

fn flush_literal(literal: &[u8], out: &mut HeaderText) {
    if literal.is_empty() {
        return;
    }
    let (text, guessed) = charset::decode_guess(literal);
    if !literal.is_ascii() && guessed != "utf-8" {
        out.notes
            .push(format!("raw 8-bit header text read as {guessed}"));
    }
    out.text.push_str(&text);
}

fn flush_run(run: &mut Vec<Word<'_>>, out: &mut HeaderText) {
    let mut index = 0;
    while index < run.len() {
        let label = run[index].charset;
        let mut end = index + 1;
        while end < run.len() && run[end].charset.eq_ignore_ascii_case(label) {
            end += 1;
        }
        let group = &run[index..end];
        match charset::for_label(label) {
            Some(encoding) => {
                let bytes: Vec<u8> = group.iter().flat_map(|w| w.bytes.iter().copied()).collect();
                let decoded = charset::decode(encoding, &bytes);
                if decoded.malformed {
                    out.notes
                        .push(format!("malformed {label} bytes in an encoded-word"));
                }
                out.text.push_str(&decoded.text);
            }
            None => {
                out.notes.push(format!(
                    "unknown charset {label:?} in an encoded-word, kept encoded"
                ));
                for word in group {
                    out.text.push_str(&String::from_utf8_lossy(word.raw));
                }
            }
        }
        index = end;
    }
    run.clear();
}

/// Bytes of UTF-8 in one encoded-word: `=?UTF-8?B?` + 60 base64 characters + `?=` is 72, under the 75 of RFC 2047.
const WORD_BYTES: usize = 45;

/// `text` as UTF-8 `B` encoded-words, each at most 75 characters, never splitting a character.
pub fn encode_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chunk_start = 0;
    let mut chunk_end = 0;
    for (offset, character) in text.char_indices() {
        let next = offset + character.len_utf8();
        if next - chunk_start > WORD_BYTES && chunk_end > chunk_start {
            words.push(encode_word(&text[chunk_start..chunk_end]));
            chunk_start = chunk_end;
        }
        chunk_end = next;
    }
    if chunk_end > chunk_start {
        words.push(encode_word(&text[chunk_start..chunk_end]));
    }
    words
}

fn encode_word(chunk: &str) -> String {
    format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(chunk)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{ISO_2022_JP, SHIFT_JIS};

    fn b(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn adjacent_words_join_without_the_blank_between_them() {
        let raw = format!(
            "=?UTF-8?B?{}?= \r\n =?UTF-8?B?{}?=",
            b("会議".as_bytes()),
            b("資料".as_bytes())
        );
        assert_eq!(decode_header(raw.as_bytes()).text, "会議資料");
    }

    #[test]
    fn multibyte_character_split_across_two_words_decodes() {
        let bytes = "予算".as_bytes();
        let raw = format!(
            "=?utf-8?b?{}?= =?utf-8?b?{}?=",
            b(&bytes[..2]),
            b(&bytes[2..])
        );
        let decoded = decode_header(raw.as_bytes());
        assert_eq!(decoded.text, "予算");
        assert!(decoded.notes.is_empty());
    }

    #[test]
    fn iso_2022_jp_word_split_after_the_escape_decodes() {
        let (bytes, _, _) = ISO_2022_JP.encode("見積書の送付");
        let (first, second) = bytes.split_at(7);
        let raw = format!(
            "Re: =?ISO-2022-JP?B?{}?=\r\n\t=?iso-2022-jp?B?{}?= (2)",
            b(first),
            b(second)
        );
        assert_eq!(decode_header(raw.as_bytes()).text, "Re: 見積書の送付 (2)");
    }

    #[test]
    fn q_encoding_with_underscores_and_shift_jis() {
        let (bytes, _, _) = SHIFT_JIS.encode("お知らせ");
        let q: String = bytes.iter().map(|byte| format!("={byte:02X}")).collect();
        let raw = format!("=?Shift_JIS?Q?{q}_A?=");
        assert_eq!(decode_header(raw.as_bytes()).text, "お知らせ A");
    }

    #[test]
    fn words_separated_by_text_keep_the_text() {
        let raw = format!("=?UTF-8?B?{}?= and =?UTF-8?B?{}?=", b(b"a"), b(b"b"));
        assert_eq!(decode_header(raw.as_bytes()).text, "a and b");
    }

    #[test]
    fn unknown_charset_is_kept_encoded_and_noted() {
        let decoded = decode_header(b"=?x-klingon?B?QUJD?=");
        assert_eq!(decoded.text, "=?x-klingon?B?QUJD?=");
        assert_eq!(decoded.notes.len(), 1);
    }

    #[test]
    fn encoded_words_round_trip_and_stay_short() {
        let text = "令和7年度 情報セキュリティ監査の実施について（ご案内）①②③".repeat(3);
        let words = encode_words(&text);
        assert!(words.iter().all(|w| w.len() <= 75));
        assert_eq!(decode_header(words.join("\r\n ").as_bytes()).text, text);
    }
}
