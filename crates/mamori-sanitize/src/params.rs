//! Structured MIME header values: `Content-Type` and `Content-Disposition`, with RFC 2231 parameters
//! (charsets, languages, continuations) and the RFC 2047 words mailers put in parameters against the rules.

use crate::charset;
use crate::encoded_word::decode_header;

/// A parsed `type/subtype; params` or `disposition; params` value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldValue {
    /// Lower-cased `type/subtype` or disposition type.
    pub value: String,
    /// Decoded parameters, names lower-cased, in order of first appearance.
    pub params: Vec<(String, String)>,
    /// What made the value ambiguous (duplicate parameters, gaps in continuations, unknown charsets …).
    pub ambiguities: Vec<String>,
}

impl FieldValue {
    /// The decoded parameter `name` (lower case).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// More parameters than any real header has; merging is quadratic in their number.
const MAX_PARAMS: usize = 64;

struct RawParam {
    base: String,
    section: Option<u32>,
    extended: bool,
    value: Vec<u8>,
}

fn is_token_byte(byte: u8) -> bool {
    // RFC 2045 token, plus 8-bit bytes: mailers write raw UTF-8 or Shift_JIS file names unquoted.
    byte > b' ' && byte != 0x7f && !b"()<>@,;:\\\"/[]?=".contains(&byte)
}

struct Cursor<'a> {
    raw: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.raw.get(self.at).copied()
    }

    /// Skips blanks and (nested) comments.
    fn skip_cfws(&mut self) {
        let mut depth = 0usize;
        while let Some(byte) = self.peek() {
            match byte {
                b'(' => depth += 1,
                b')' if depth > 0 => depth -= 1,
                b'\\' if depth > 0 => self.at += 1,
                b' ' | b'\t' | b'\r' | b'\n' => {}
                _ if depth > 0 => {}
                _ => return,
            }
            self.at += 1;
        }
    }

    fn token(&mut self) -> &[u8] {
        let start = self.at;
        while self.peek().is_some_and(is_token_byte) {
            self.at += 1;
        }
        &self.raw[start..self.at]
    }

    fn quoted(&mut self) -> Option<Vec<u8>> {
        self.at += 1;
        let mut value = Vec::new();
        while let Some(byte) = self.peek() {
            self.at += 1;
            match byte {
                b'"' => return Some(value),
                b'\\' => {
                    if let Some(escaped) = self.peek() {
                        value.push(escaped);
                        self.at += 1;
                    }
                }
                b'\r' | b'\n' => {}
                _ => value.push(byte),
            }
        }
        None
    }
}

/// Parses a `Content-Type` (`with_subtype`) or `Content-Disposition` value. `Err` when the main value itself
/// is unreadable.
pub fn parse(raw: &[u8], with_subtype: bool) -> Result<FieldValue, String> {
    let mut cursor = Cursor { raw, at: 0 };
    cursor.skip_cfws();
    let mut value = String::from_utf8_lossy(cursor.token()).to_ascii_lowercase();
    if with_subtype {
        cursor.skip_cfws();
        if cursor.peek() != Some(b'/') {
            return Err(format!("no subtype in {:?}", String::from_utf8_lossy(raw)));
        }
        cursor.at += 1;
        cursor.skip_cfws();
        let subtype = String::from_utf8_lossy(cursor.token()).to_ascii_lowercase();
        if subtype.is_empty() {
            return Err(format!(
                "empty subtype in {:?}",
                String::from_utf8_lossy(raw)
            ));
        }
        value = format!("{value}/{subtype}");
    }
    if value.is_empty() || value.starts_with('/') {
        return Err(format!("no value in {:?}", String::from_utf8_lossy(raw)));
    }
    let mut ambiguities = Vec::new();
    let mut raw_params = Vec::new();
    loop {
        cursor.skip_cfws();
        match cursor.peek() {
            None => break,
            Some(b';') => cursor.at += 1,
            Some(_) => {
                ambiguities.push(format!(
                    "unexpected text {:?} in a parameter list",
                    String::from_utf8_lossy(&raw[cursor.at..])
                        .chars()
                        .take(40)
                        .collect::<String>()
                ));
                break;
            }
        }
        cursor.skip_cfws();
        let name = String::from_utf8_lossy(cursor.token()).to_ascii_lowercase();
        if name.is_empty() {
            // `;;` or a trailing `;`: sloppy, not ambiguous.
            continue;
        }
        cursor.skip_cfws();
        if cursor.peek() != Some(b'=') {
            ambiguities.push(format!("parameter {name:?} without a value"));
            continue;
        }
        cursor.at += 1;
        cursor.skip_cfws();
        let value = if cursor.peek() == Some(b'"') {
            match cursor.quoted() {
                Some(value) => value,
                None => {
                    ambiguities.push(format!("unterminated quoted value of parameter {name:?}"));
                    break;
                }
            }
        } else {
            cursor.token().to_vec()
        };
        if raw_params.len() == MAX_PARAMS {
            ambiguities.push(format!("more than {MAX_PARAMS} parameters"));
            break;
        }
        raw_params.push(split_name(&name, value));
    }
    let params = merge(raw_params, &mut ambiguities);
    Ok(FieldValue {
        value,
        params,
        ambiguities,
    })
}

fn split_name(name: &str, value: Vec<u8>) -> RawParam {
    let (rest, extended) = match name.strip_suffix('*') {
        Some(rest) => (rest, true),
        None => (name, false),
    };
    if let Some((base, section)) = rest.rsplit_once('*')
        && let Ok(section) = section.parse::<u32>()
    {
        return RawParam {
            base: base.to_owned(),
            section: Some(section),
            extended,
            value,
        };
    }
    RawParam {
        base: rest.to_owned(),
        section: None,
        extended,
        value,
    }
}

/// Joins RFC 2231 sections, decodes charsets, and reports duplicates, gaps and disagreements.
fn merge(raw: Vec<RawParam>, ambiguities: &mut Vec<String>) -> Vec<(String, String)> {
    let mut names: Vec<String> = Vec::new();
    for param in &raw {
        if !names.contains(&param.base) {
            names.push(param.base.clone());
        }
    }
    let mut params = Vec::with_capacity(names.len());
    for name in names {
        let plain: Vec<&RawParam> = raw
            .iter()
            .filter(|p| p.base == name && p.section.is_none() && !p.extended)
            .collect();
        let single_ext: Vec<&RawParam> = raw
            .iter()
            .filter(|p| p.base == name && p.section.is_none() && p.extended)
            .collect();
        let mut sections: Vec<&RawParam> = raw
            .iter()
            .filter(|p| p.base == name && p.section.is_some())
            .collect();
        if plain.len() > 1 || single_ext.len() > 1 {
            ambiguities.push(format!("duplicate parameter {name:?}"));
        }
        if name == "boundary" && (!single_ext.is_empty() || !sections.is_empty()) {
            ambiguities.push("boundary given in RFC 2231 form".to_owned());
        }
        let plain_value = plain.first().map(|p| plain_text(&name, &p.value));
        let extended_value = if !sections.is_empty() {
            if !single_ext.is_empty() {
                ambiguities.push(format!(
                    "parameter {name:?} both whole and in continuations"
                ));
            }
            sections.sort_by_key(|p| p.section);
            let in_order = sections
                .iter()
                .enumerate()
                .all(|(i, p)| p.section == u32::try_from(i).ok());
            if !in_order {
                ambiguities.push(format!(
                    "continuations of parameter {name:?} are missing or repeated"
                ));
            }
            Some(join_sections(&name, &sections, ambiguities))
        } else {
            single_ext
                .first()
                .map(|p| join_sections(&name, &[p], ambiguities))
        };
        let value = match (plain_value, extended_value) {
            (Some(plain), Some(extended)) => {
                if plain != extended {
                    ambiguities.push(format!(
                        "parameter {name:?} and {name}* disagree: {plain:?} vs {extended:?}"
                    ));
                }
                extended
            }
            (Some(value), None) | (None, Some(value)) => value,
            (None, None) => continue,
        };
        params.push((name, value));
    }
    params
}

/// A plain (non-2231) value. In file names, RFC 2047 words are decoded, as every mail client does although
/// RFC 2047 forbids them there; in any other parameter (a boundary above all) they are left as they are, since
/// a reader that decoded a boundary would split the body differently.
fn plain_text(name: &str, value: &[u8]) -> String {
    if matches!(name, "name" | "filename") {
        decode_header(value).text
    } else {
        String::from_utf8_lossy(value).into_owned()
    }
}

fn join_sections(name: &str, sections: &[&RawParam], ambiguities: &mut Vec<String>) -> String {
    let mut bytes = Vec::new();
    let mut label = None;
    for (index, section) in sections.iter().enumerate() {
        let mut value = section.value.as_slice();
        if section.extended && index == 0 {
            let mut parts = value.splitn(3, |&b| b == b'\'');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(charset), Some(_language), Some(rest)) => {
                    label = Some(String::from_utf8_lossy(charset).into_owned());
                    value = rest;
                }
                _ => ambiguities.push(format!("parameter {name}* without charset''")),
            }
        }
        if section.extended {
            percent_decode(value, &mut bytes);
        } else {
            bytes.extend_from_slice(value);
        }
    }
    match label.as_deref().filter(|l| !l.is_empty()) {
        None => charset::decode_guess(&bytes).0,
        Some(label) => match charset::for_label(label) {
            Some(encoding) => charset::decode(encoding, &bytes).text,
            None => {
                ambiguities.push(format!("unknown charset {label:?} in parameter {name}*"));
                String::from_utf8_lossy(&bytes).into_owned()
            }
        },
    }
}

fn percent_decode(value: &[u8], out: &mut Vec<u8>) {
    let mut index = 0;
    while index < value.len() {
        if value[index] == b'%'
            && let Some(&[high, low]) = value.get(index + 1..index + 3)
            && let (Some(high), Some(low)) = (hex_digit(high), hex_digit(low))
        {
            out.push(high << 4 | low);
            index += 3;
            continue;
        }
        out.push(value[index]);
        index += 1;
    }
}

fn hex_digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use encoding_rs::ISO_2022_JP;

    fn percent(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("%{b:02X}")).collect()
    }

    #[test]
    fn content_type_with_comment_and_quoted_boundary() {
        let value = parse(
            b"Multipart/Mixed (mixed);\r\n boundary=\"==b 1==\"; charset=us-ascii;",
            true,
        )
        .unwrap();
        assert_eq!(value.value, "multipart/mixed");
        assert_eq!(value.param("boundary"), Some("==b 1=="));
        assert!(value.ambiguities.is_empty());
    }

    #[test]
    fn rfc2231_iso_2022_jp_filename_with_continuations() {
        let (bytes, _, _) = ISO_2022_JP.encode("見積書_2025年度.pdf");
        let encoded = percent(&bytes);
        let (first, second) = encoded.split_at(30);
        let raw =
            format!("attachment;\r\n filename*0*=ISO-2022-JP'ja'{first};\r\n filename*1*={second}");
        let value = parse(raw.as_bytes(), false).unwrap();
        assert_eq!(value.param("filename"), Some("見積書_2025年度.pdf"));
        assert!(value.ambiguities.is_empty());
    }

    #[test]
    fn rfc2047_in_a_parameter_is_decoded() {
        let value = parse(
            b"application/pdf; name=\"=?UTF-8?B?5ZGK56S6LnBkZg==?=\"",
            true,
        )
        .unwrap();
        assert_eq!(value.param("name"), Some("告示.pdf"));
    }

    #[test]
    fn duplicate_boundary_is_an_ambiguity() {
        let value = parse(b"multipart/mixed; boundary=a; boundary=b", true).unwrap();
        assert_eq!(value.ambiguities.len(), 1);
    }

    #[test]
    fn continuation_gap_and_disagreeing_forms_are_ambiguities() {
        let gap = parse(b"attachment; filename*0=a; filename*2=c", false).unwrap();
        assert_eq!(gap.ambiguities.len(), 1);
        let disagree = parse(b"attachment; filename=a.txt; filename*=UTF-8''b.exe", false).unwrap();
        assert_eq!(disagree.param("filename"), Some("b.exe"));
        assert_eq!(disagree.ambiguities.len(), 1);
    }

    #[test]
    fn encoded_words_are_decoded_in_file_names_only() {
        let value = parse(b"multipart/mixed; boundary=\"=?UTF-8?B?YQ==?=\"", true).unwrap();
        assert_eq!(value.param("boundary"), Some("=?UTF-8?B?YQ==?="));
        let extended = parse(b"multipart/mixed; boundary*=UTF-8''a", true).unwrap();
        assert_eq!(extended.ambiguities.len(), 1);
    }

    #[test]
    fn missing_subtype_is_an_error() {
        assert!(parse(b"text", true).is_err());
    }
}
