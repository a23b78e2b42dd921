//! The original message as DKIM sees it: header fields exactly as received, the body, and the two
//! canonicalisations of each (RFC 6376 section 3.4).

/// One header field as received: its name and the whole field (name, colon, value, folding), without the
/// CRLF that ends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field<'m> {
    pub name: &'m [u8],
    pub raw: &'m [u8],
}

impl Field<'_> {
    pub fn is(&self, name: &str) -> bool {
        trim_wsp(self.name).eq_ignore_ascii_case(name.as_bytes())
    }

    /// The value after the colon, unfolded, as text (non-UTF-8 bytes replaced).
    pub fn value(&self) -> String {
        let value = &self.raw[self.name.len() + 1..];
        let text = String::from_utf8_lossy(value);
        text.replace("\r\n", "")
    }
}

/// The header fields (top to bottom) and the body of `raw` (CRLF lines; the relay accepts nothing else).
pub fn split(raw: &[u8]) -> (Vec<Field<'_>>, &[u8]) {
    let (head, body) = match raw.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) => (&raw[..at + 2], &raw[at + 4..]),
        None => (raw, &raw[raw.len()..]),
    };
    let mut fields = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while at < head.len() {
        let Some(eol) = find_crlf(&head[at..]) else {
            break;
        };
        let next = at + eol + 2;
        let continued = head.get(next).is_some_and(|b| *b == b' ' || *b == b'\t');
        if !continued {
            push_field(&mut fields, &head[start..at + eol]);
            start = next;
        }
        at = next;
    }
    if start < head.len() {
        push_field(&mut fields, &head[start..]);
    }
    (fields, body)
}

fn push_field<'m>(fields: &mut Vec<Field<'m>>, raw: &'m [u8]) {
    if let Some(colon) = raw.iter().position(|&b| b == b':') {
        fields.push(Field {
            name: &raw[..colon],
            raw,
        });
    }
}

fn find_crlf(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|w| w == b"\r\n")
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_wsp(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_wsp(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_wsp(b))
        .map_or(start, |e| e + 1);
    &bytes[start..end.max(start)]
}

/// `simple` or `relaxed`, for the header or the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Canon {
    Simple,
    Relaxed,
}

impl Canon {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "simple" => Some(Self::Simple),
            "relaxed" => Some(Self::Relaxed),
            _ => None,
        }
    }
}

/// A header field in canonical form, ending in CRLF (section 3.4.1 and 3.4.2).
pub fn header(canon: Canon, raw: &[u8]) -> Vec<u8> {
    let mut out = match canon {
        Canon::Simple => raw.to_vec(),
        Canon::Relaxed => relaxed_header(raw),
    };
    out.extend_from_slice(b"\r\n");
    out
}

/// Lower-case name, unfolded, runs of WSP as one space, no WSP at either end of the value or around the colon.
fn relaxed_header(raw: &[u8]) -> Vec<u8> {
    let colon = raw.iter().position(|&b| b == b':').unwrap_or(raw.len());
    let mut out: Vec<u8> = trim_wsp(&raw[..colon]).to_ascii_lowercase();
    out.push(b':');
    let value: Vec<u8> = raw
        .get(colon + 1..)
        .unwrap_or_default()
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    out.extend_from_slice(&squeeze(trim_wsp(&value)));
    out
}

/// Runs of spaces and tabs as one space.
fn squeeze(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut in_wsp = false;
    for &b in bytes {
        if is_wsp(b) {
            in_wsp = true;
            continue;
        }
        if in_wsp {
            out.push(b' ');
            in_wsp = false;
        }
        out.push(b);
    }
    if in_wsp {
        out.push(b' ');
    }
    out
}

/// The body in canonical form (section 3.4.3 and 3.4.4): trailing empty lines removed; `simple` keeps an
/// empty body as one CRLF, `relaxed` as nothing; `relaxed` also drops WSP at line ends and squeezes runs.
pub fn body(canon: Canon, body: &[u8]) -> Vec<u8> {
    let mut lines: Vec<&[u8]> = Vec::new();
    let mut rest = body;
    while let Some(eol) = find_crlf(rest) {
        lines.push(&rest[..eol]);
        rest = &rest[eol + 2..];
    }
    if !rest.is_empty() {
        lines.push(rest);
    }
    let mut out: Vec<Vec<u8>> = lines
        .into_iter()
        .map(|line| match canon {
            Canon::Simple => line.to_vec(),
            Canon::Relaxed => {
                let end = line.iter().rposition(|&b| !is_wsp(b)).map_or(0, |e| e + 1);
                squeeze(&line[..end])
            }
        })
        .collect();
    while out.last().is_some_and(Vec::is_empty) {
        out.pop();
    }
    if out.is_empty() {
        return match canon {
            Canon::Simple => b"\r\n".to_vec(),
            Canon::Relaxed => Vec::new(),
        };
    }
    let mut joined = Vec::with_capacity(body.len() + 2);
    for line in out {
        joined.extend_from_slice(&line);
        joined.extend_from_slice(b"\r\n");
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6376 section 3.4.5, the example.
    const HEAD: &[u8] = b"A: X\r\nB : Y\t\r\n\tZ  \r\n";
    const BODY: &[u8] = b" C \r\nD \t E\r\n\r\n\r\n";

    #[test]
    fn relaxed_header_and_body_give_rfc_6376_example() {
        let raw = [HEAD, b"\r\n", BODY].concat();
        let (fields, _) = split(&raw);
        let headers: Vec<u8> = fields
            .iter()
            .flat_map(|f| header(Canon::Relaxed, f.raw))
            .collect();
        assert_eq!(headers, b"a:X\r\nb:Y Z\r\n");
        assert_eq!(body(Canon::Relaxed, BODY), b" C\r\nD E\r\n");
    }

    #[test]
    fn simple_header_and_body_give_rfc_6376_example() {
        let raw = [HEAD, b"\r\n", BODY].concat();
        let (fields, found_body) = split(&raw);
        let headers: Vec<u8> = fields
            .iter()
            .flat_map(|f| header(Canon::Simple, f.raw))
            .collect();
        assert_eq!(headers, HEAD);
        assert_eq!(found_body, BODY);
        assert_eq!(body(Canon::Simple, BODY), b" C \r\nD \t E\r\n");
    }

    #[test]
    fn an_empty_body_is_one_crlf_when_simple_and_nothing_when_relaxed() {
        assert_eq!(body(Canon::Simple, b""), b"\r\n");
        assert_eq!(body(Canon::Simple, b"\r\n\r\n"), b"\r\n");
        assert_eq!(body(Canon::Relaxed, b""), b"");
        assert_eq!(body(Canon::Relaxed, b" \r\n\t\r\n"), b"");
    }

    #[test]
    fn a_last_line_without_crlf_gets_one() {
        assert_eq!(body(Canon::Simple, b"abc"), b"abc\r\n");
        assert_eq!(body(Canon::Relaxed, b"a  b "), b"a b\r\n");
    }

    #[test]
    fn folded_fields_are_one_field_with_their_folding_kept() {
        let (fields, body) = split(b"Subject: a\r\n b\r\nFrom: x@example.jp\r\n\r\nhi\r\n");
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].raw, b"Subject: a\r\n b");
        assert!(fields[1].is("from"));
        assert_eq!(fields[0].value(), " a b");
        assert_eq!(body, b"hi\r\n");
    }
}
