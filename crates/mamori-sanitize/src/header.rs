//! The header block of one entity: fields split strictly on CRLF, with the shapes readers disagree on
//! (obs-fold, bare CR or LF, NUL, a line without a field name) reported as ambiguities.

use crate::error::Refused;
use crate::policy::Limits;

/// One header field as written: the name, and the value unfolded (CRLF removed, the blanks kept), not decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub value: Vec<u8>,
}

impl Field {
    /// Whether this is the field `name` (ASCII case-insensitive).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// A parsed header block.
#[derive(Debug, Default)]
pub struct Block {
    pub fields: Vec<Field>,
    /// Offset of the body, relative to the start of the entity.
    pub body_start: usize,
    pub ambiguities: Vec<String>,
}

fn line_end(bytes: &[u8], from: usize) -> Option<usize> {
    bytes[from..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| from + p)
}

fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b) && b != b':')
}

/// Parses the header block at the start of `bytes`. `top` is the message itself: there, a first line that is
/// not a field means the bytes are not a message at all.
pub fn parse_block(bytes: &[u8], part: &str, limits: &Limits, top: bool) -> Result<Block, Refused> {
    let mut block = Block::default();
    let mut at = 0;
    let mut line_number = 0;
    let mut noted_controls = false;
    loop {
        if at >= bytes.len() {
            block.body_start = bytes.len();
            break;
        }
        line_number += 1;
        let end = line_end(bytes, at).unwrap_or(bytes.len());
        let next = (end + 2).min(bytes.len());
        let line = &bytes[at..end];
        let field_like = line.first().is_some_and(|b| matches!(b, b' ' | b'\t'))
            || line.iter().take(limits.max_header_line).any(|&b| b == b':');
        if !top && block.fields.is_empty() && !line.is_empty() && !field_like {
            // A part whose body starts at once, without headers or the blank line: RFC 2046 wants the blank
            // line, and readers differ on whether this line is a header.
            block
                .ambiguities
                .push("part without a blank line before its body".to_owned());
            block.body_start = at;
            return Ok(block);
        }
        if end > limits.max_header_block {
            return Err(Refused::HeaderBlockTooLarge {
                part: part.to_owned(),
                limit: limits.max_header_block,
            });
        }
        if line.len() > limits.max_header_line {
            return Err(Refused::HeaderLineTooLong {
                part: part.to_owned(),
                line: line_number,
                length: line.len(),
                limit: limits.max_header_line,
            });
        }
        if line.is_empty() {
            block.body_start = next;
            break;
        }
        if !noted_controls && line.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n')) {
            noted_controls = true;
            block
                .ambiguities
                .push("NUL, bare CR or bare LF in a header line (header smuggling)".to_owned());
        }
        if top && line_number == 1 && line.starts_with(b"From ") {
            // An mbox separator line, not a field.
            at = next;
            continue;
        }
        if matches!(line[0], b' ' | b'\t') {
            match block.fields.last_mut() {
                None => block
                    .ambiguities
                    .push("header block starts with a continuation line".to_owned()),
                Some(field) => {
                    if line.iter().all(|b| matches!(b, b' ' | b'\t')) {
                        block.ambiguities.push(format!(
                            "blank continuation line in {} (obs-fold: some readers end the header block there)",
                            field.name
                        ));
                    }
                    field.value.extend_from_slice(line);
                }
            }
            at = next;
            continue;
        }
        let colon = line.iter().position(|&b| b == b':');
        let Some(colon) = colon else {
            if top && block.fields.is_empty() {
                return Err(Refused::NotAMessage {
                    reason: "the first line is not a header field".to_owned(),
                });
            }
            block.ambiguities.push(format!(
                "line {line_number} of the header block is not a field"
            ));
            at = next;
            continue;
        };
        let mut name = &line[..colon];
        if name.last().is_some_and(|b| matches!(b, b' ' | b'\t')) {
            block.ambiguities.push(format!(
                "blank before the colon in header {:?}",
                String::from_utf8_lossy(name).trim_end()
            ));
            while name.last().is_some_and(|b| matches!(b, b' ' | b'\t')) {
                name = &name[..name.len() - 1];
            }
        }
        if !valid_name(name) {
            if top && block.fields.is_empty() {
                return Err(Refused::NotAMessage {
                    reason: "the first line is not a header field".to_owned(),
                });
            }
            block
                .ambiguities
                .push(format!("invalid header field name on line {line_number}"));
            at = next;
            continue;
        }
        if block.fields.len() >= limits.max_header_count {
            return Err(Refused::TooManyHeaders {
                part: part.to_owned(),
                limit: limits.max_header_count,
            });
        }
        block.fields.push(Field {
            name: String::from_utf8_lossy(name).into_owned(),
            value: line[colon + 1..].to_vec(),
        });
        at = next;
    }
    if top && block.fields.is_empty() {
        return Err(Refused::NotAMessage {
            reason: "no header fields".to_owned(),
        });
    }
    Ok(block)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn folded_fields_unfold_and_body_starts_after_the_blank_line() {
        let raw = b"Subject: a\r\n b\r\nFrom: x@example.jp\r\n\r\nbody";
        let block = parse_block(raw, "", &Limits::default(), true).unwrap();
        assert_eq!(block.fields.len(), 2);
        assert_eq!(block.fields[0].value, b" a b");
        assert_eq!(&raw[block.body_start..], b"body");
        assert!(block.ambiguities.is_empty());
    }

    #[test]
    fn bare_lf_and_obs_fold_are_ambiguities() {
        let raw = b"Subject: a\nContent-Type: text/html\r\n \r\nFrom: x\r\n\r\n";
        let block = parse_block(raw, "", &Limits::default(), true).unwrap();
        assert_eq!(block.ambiguities.len(), 2);
    }

    #[test]
    fn long_line_and_many_fields_are_refused() {
        let limits = Limits {
            max_header_line: 10,
            ..Limits::default()
        };
        let error = parse_block(b"Subject: far too long\r\n\r\n", "", &limits, true).unwrap_err();
        assert!(matches!(error, Refused::HeaderLineTooLong { line: 1, .. }));
        let limits = Limits {
            max_header_count: 2,
            ..Limits::default()
        };
        let error = parse_block(b"A: 1\r\nB: 2\r\nC: 3\r\n\r\n", "", &limits, true).unwrap_err();
        assert!(matches!(error, Refused::TooManyHeaders { .. }));
    }

    #[test]
    fn random_text_is_not_a_message() {
        let error = parse_block(b"hello world\r\n", "", &Limits::default(), true).unwrap_err();
        assert!(matches!(error, Refused::NotAMessage { .. }));
    }
}
