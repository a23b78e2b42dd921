//! The MIME tree, parsed once and strictly (RFC 2045/2046), with every ambiguity recorded on the entity where
//! it was found. An entity is *tainted* when it or any entity around it is ambiguous: its bytes may be
//! something else to another reader, so its text is never used.

use std::ops::Range;

use crate::charset;
use crate::error::Refused;
use crate::header::{self, Field};
use crate::params::{self, FieldValue};
use crate::policy::Limits;
use crate::transfer::{self, TransferEncoding};

/// One entity of the tree: the message itself, a multipart, or a leaf.
#[derive(Debug)]
pub struct Entity {
    /// IMAP-style position: `""` for the message, `"1"`, `"2.1"` …
    pub path: String,
    pub fields: Vec<Field>,
    /// The first `Content-Type` (or the default of RFC 2046), with its parameters.
    pub content_type: FieldValue,
    /// The first `Content-Disposition`, if any.
    pub disposition: Option<FieldValue>,
    pub transfer: TransferEncoding,
    /// Where this entity's own structure is ambiguous.
    pub ambiguities: Vec<String>,
    /// Ambiguous itself or inside an ambiguous entity.
    pub tainted: bool,
    pub kind: Kind,
}

/// What an entity holds.
#[derive(Debug)]
pub enum Kind {
    /// A leaf with its body decoded from the transfer encoding.
    Leaf { decoded: Vec<u8> },
    /// A multipart: its parts, and bytes after the closing boundary (or a body that had no part at all) that
    /// some reader may still take for content.
    Multipart {
        parts: Vec<Entity>,
        stray: Option<Vec<u8>>,
    },
}

/// A parsed message.
#[derive(Debug)]
pub struct Message {
    pub root: Entity,
}

impl Message {
    /// The first header field `name` of the message, decoded (RFC 2047) and cleaned to one line.
    pub fn header(&self, name: &str) -> Option<String> {
        let field = self.root.fields.iter().find(|f| f.is(name))?;
        Some(crate::text::clean_line(&crate::encoded_word::decode_header(&field.value).text).0)
    }

    /// Whether any entity is ambiguous.
    pub fn is_ambiguous(&self) -> bool {
        self.root.walk().iter().any(|e| !e.ambiguities.is_empty())
    }
}

impl Entity {
    /// The leaves in document order.
    pub fn leaves(&self) -> Vec<&Entity> {
        let mut out = Vec::new();
        self.collect_leaves(&mut out);
        out
    }

    fn collect_leaves<'a>(&'a self, out: &mut Vec<&'a Entity>) {
        match &self.kind {
            Kind::Leaf { .. } => out.push(self),
            Kind::Multipart { parts, .. } => parts.iter().for_each(|p| p.collect_leaves(out)),
        }
    }

    /// Every entity, in document order.
    pub fn walk(&self) -> Vec<&Entity> {
        let mut out = vec![self];
        if let Kind::Multipart { parts, .. } = &self.kind {
            for part in parts {
                out.extend(part.walk());
            }
        }
        out
    }

    /// The decoded parameter `charset` of the content type.
    pub fn charset(&self) -> Option<&str> {
        self.content_type.param("charset")
    }

    /// The file name from `Content-Disposition: …; filename` or else `Content-Type: …; name`.
    pub fn file_name(&self) -> Option<&str> {
        self.disposition
            .as_ref()
            .and_then(|d| d.param("filename"))
            .or_else(|| self.content_type.param("name"))
            .filter(|n| !n.trim().is_empty())
    }

    /// Whether the sender marked it as an attachment.
    pub fn is_attachment(&self) -> bool {
        self.disposition
            .as_ref()
            .is_some_and(|d| d.value == "attachment")
    }

    /// The decoded body of a leaf; empty for a multipart.
    pub fn decoded(&self) -> &[u8] {
        match &self.kind {
            Kind::Leaf { decoded } => decoded,
            Kind::Multipart { .. } => &[],
        }
    }

    /// The text of a leaf in its declared charset. A missing charset is guessed, since Japanese mail often omits
    /// it, and so is a declared US-ASCII on 8-bit bytes (mailers label Shift_JIS text that way; WHATWG would
    /// read it as windows-1252, which is mojibake). `None` when the charset is unknown.
    pub fn text(&self) -> Option<charset::Decoded> {
        let bytes = self.decoded();
        let declared_ascii = self.charset().is_some_and(|label| {
            matches!(label.to_ascii_lowercase().as_str(), "us-ascii" | "ascii")
        });
        match self.charset() {
            Some(label) if !declared_ascii || bytes.is_ascii() => {
                charset::for_label(label).map(|encoding| charset::decode(encoding, bytes))
            }
            _ => Some(charset::Decoded {
                text: charset::decode_guess(bytes).0,
                malformed: false,
            }),
        }
    }
}

/// Parses `data` (CRLF line ends) into the MIME tree, checking every limit.
pub fn parse(data: &[u8], limits: &Limits) -> Result<Message, Refused> {
    let mut parser = Parser {
        data,
        limits,
        entities: 0,
        decoded: 0,
    };
    let mut root = parser.entity(0..data.len(), String::new(), 0, &[], "text/plain")?;
    taint(&mut root, false);
    Ok(Message { root })
}

fn taint(entity: &mut Entity, inherited: bool) {
    entity.tainted = inherited || !entity.ambiguities.is_empty();
    let tainted = entity.tainted;
    if let Kind::Multipart { parts, .. } = &mut entity.kind {
        parts.iter_mut().for_each(|p| taint(p, tainted));
    }
}

struct Parser<'a> {
    data: &'a [u8],
    limits: &'a Limits,
    entities: usize,
    decoded: usize,
}

fn child_path(parent: &str, index: usize) -> String {
    if parent.is_empty() {
        index.to_string()
    } else {
        format!("{parent}.{index}")
    }
}

impl Parser<'_> {
    fn entity(
        &mut self,
        range: Range<usize>,
        path: String,
        depth: usize,
        enclosing: &[Vec<u8>],
        default_type: &str,
    ) -> Result<Entity, Refused> {
        self.entities += 1;
        if self.entities > self.limits.max_parts {
            return Err(Refused::TooManyParts {
                part: path,
                limit: self.limits.max_parts,
            });
        }
        if depth > self.limits.max_depth {
            return Err(Refused::TooDeep {
                part: path,
                limit: self.limits.max_depth,
            });
        }
        let bytes = &self.data[range.clone()];
        let block = header::parse_block(bytes, &path, self.limits, depth == 0)?;
        let mut ambiguities = block.ambiguities;
        let fields = block.fields;
        let body = range.start + block.body_start..range.end;

        for name in [
            "Content-Type",
            "Content-Transfer-Encoding",
            "Content-Disposition",
        ] {
            if fields.iter().filter(|f| f.is(name)).count() > 1 {
                ambiguities.push(format!("duplicate {name} header"));
            }
        }
        let content_type = match fields.iter().find(|f| f.is("Content-Type")) {
            None => FieldValue {
                value: default_type.to_owned(),
                ..FieldValue::default()
            },
            Some(field) => match params::parse(&field.value, true) {
                Ok(value) => value,
                Err(reason) => {
                    ambiguities.push(format!("unreadable Content-Type: {reason}"));
                    FieldValue {
                        value: "application/octet-stream".to_owned(),
                        ..FieldValue::default()
                    }
                }
            },
        };
        ambiguities.extend(
            content_type
                .ambiguities
                .iter()
                .map(|a| format!("Content-Type: {a}")),
        );
        let disposition = match fields.iter().find(|f| f.is("Content-Disposition")) {
            None => None,
            Some(field) => match params::parse(&field.value, false) {
                Ok(value) => Some(value),
                Err(reason) => {
                    ambiguities.push(format!("unreadable Content-Disposition: {reason}"));
                    None
                }
            },
        };
        if let Some(disposition) = &disposition {
            ambiguities.extend(
                disposition
                    .ambiguities
                    .iter()
                    .map(|a| format!("Content-Disposition: {a}")),
            );
            if let (Some(name), Some(filename)) =
                (content_type.param("name"), disposition.param("filename"))
                && name != filename
            {
                ambiguities.push(format!("name {name:?} differs from filename {filename:?}"));
            }
        }
        let transfer = match fields.iter().find(|f| f.is("Content-Transfer-Encoding")) {
            None => TransferEncoding::SevenBit,
            Some(field) => {
                let value = String::from_utf8_lossy(&field.value).into_owned();
                TransferEncoding::parse(&value).unwrap_or_else(|| {
                    ambiguities.push(format!(
                        "unknown Content-Transfer-Encoding {:?}",
                        value.trim()
                    ));
                    TransferEncoding::Binary
                })
            }
        };

        let mut entity = Entity {
            path,
            fields,
            content_type,
            disposition,
            transfer,
            ambiguities,
            tainted: false,
            kind: Kind::Leaf {
                decoded: Vec::new(),
            },
        };

        if entity.content_type.value.starts_with("multipart/") {
            if !transfer.is_identity() {
                entity
                    .ambiguities
                    .push(format!("transfer encoding {transfer:?} on a multipart"));
            }
            if let Some(boundary) = entity
                .content_type
                .param("boundary")
                .map(|b| b.as_bytes().to_vec())
            {
                entity.kind = self.multipart(&mut entity, body, &boundary, depth, enclosing)?;
                return Ok(entity);
            }
            entity
                .ambiguities
                .push("multipart without a boundary".to_owned());
        }
        if entity.content_type.value.starts_with("text/")
            && let Some(label) = entity.charset()
            && charset::for_label(label).is_none()
        {
            entity
                .ambiguities
                .push(format!("unknown charset {label:?}"));
        }
        let decoded = self.decode(&mut entity, body)?;
        entity.kind = Kind::Leaf { decoded };
        Ok(entity)
    }

    fn decode(&mut self, entity: &mut Entity, body: Range<usize>) -> Result<Vec<u8>, Refused> {
        let raw = &self.data[body];
        let decoded = match entity.transfer {
            TransferEncoding::Base64 => transfer::decode_base64(raw),
            TransferEncoding::QuotedPrintable => transfer::decode_quoted_printable(raw),
            _ => transfer::Decoded {
                bytes: raw.to_vec(),
                ambiguities: Vec::new(),
            },
        };
        entity.ambiguities.extend(decoded.ambiguities);
        self.count_decoded(decoded.bytes.len(), &entity.path)?;
        Ok(decoded.bytes)
    }

    fn count_decoded(&mut self, size: usize, path: &str) -> Result<(), Refused> {
        self.decoded += size;
        if self.decoded > self.limits.max_decoded_size {
            return Err(Refused::DecodedTooLarge {
                part: path.to_owned(),
                limit: self.limits.max_decoded_size,
            });
        }
        Ok(())
    }

    fn multipart(
        &mut self,
        entity: &mut Entity,
        body: Range<usize>,
        boundary: &[u8],
        depth: usize,
        enclosing: &[Vec<u8>],
    ) -> Result<Kind, Refused> {
        if boundary.is_empty() || boundary.len() > 200 {
            entity
                .ambiguities
                .push("boundary is empty or too long".to_owned());
        }
        if enclosing
            .iter()
            .any(|outer| outer.starts_with(boundary) || boundary.starts_with(outer))
        {
            entity.ambiguities.push(
                "boundary is a prefix of an enclosing boundary (or the other way round)".to_owned(),
            );
        }
        let split = split_parts(&self.data[body.clone()], boundary, body.start);
        entity.ambiguities.extend(split.ambiguities);
        let mut nested: Vec<Vec<u8>> = enclosing.to_vec();
        nested.push(boundary.to_vec());
        let default_type = if entity.content_type.value == "multipart/digest" {
            "message/rfc822"
        } else {
            "text/plain"
        };
        let mut parts = Vec::with_capacity(split.parts.len());
        for (index, range) in split.parts.into_iter().enumerate() {
            let path = child_path(&entity.path, index + 1);
            parts.push(self.entity(range, path, depth + 1, &nested, default_type)?);
        }
        let stray = match split.stray {
            Some(range) => {
                let bytes = self.data[range].to_vec();
                self.count_decoded(bytes.len(), &entity.path)?;
                Some(bytes)
            }
            None => None,
        };
        Ok(Kind::Multipart { parts, stray })
    }
}

struct Split {
    parts: Vec<Range<usize>>,
    stray: Option<Range<usize>>,
    ambiguities: Vec<String>,
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// Where the line that starts at `at` ends: at the next LF preceded by a CR (a LF without one is a bare break
/// inside the line), or at the end of the body.
fn line_end(body: &[u8], at: usize) -> usize {
    let mut search = at;
    while let Some(p) = memchr::memchr(b'\n', &body[search..]) {
        let lf = search + p;
        if lf > at && body[lf - 1] == b'\r' {
            return lf - 1;
        }
        search = lf + 1;
    }
    body.len()
}

/// Splits a multipart body on its delimiter lines (RFC 2046 5.1.1). Offsets in the result are `base` + offsets
/// in `body`. Only `--boundary` at the start of a CRLF line counts; a line that merely starts with it, a
/// delimiter after a bare CR or LF, a missing closing delimiter or text after it are ambiguities, since other
/// readers split such bodies differently.
fn split_parts(body: &[u8], boundary: &[u8], base: usize) -> Split {
    let mut delimiter = b"--".to_vec();
    delimiter.extend_from_slice(boundary);
    let mut split = Split {
        parts: Vec::new(),
        stray: None,
        ambiguities: Vec::new(),
    };
    let mut part_start: Option<usize> = None;
    let mut closed_at: Option<usize> = None;
    let mut prefix_lines = 0usize;
    let mut bare_breaks = 0usize;
    // Only lines that start with the delimiter matter, so the search jumps from one occurrence of it to the
    // next instead of reading the body line by line (a part's base64 is most of the message).
    let finder = memchr::memmem::Finder::new(&delimiter);
    let mut search = 0;
    while let Some(found) = finder.find(&body[search..]) {
        let at = search + found;
        search = at + 1;
        // A line starts at the beginning of the body or after a CRLF; after a lone CR or LF it does not for
        // us, but does for readers that take any line break.
        if at > 0 && !body[..at].ends_with(b"\r\n") {
            if matches!(body[at - 1], b'\r' | b'\n') {
                bare_breaks += 1;
            }
            continue;
        }
        let end = line_end(body, at);
        let next = end + 2;
        let rest = &body[at + delimiter.len()..end];
        let closing = rest.starts_with(b"--") && is_blank(&rest[2..]);
        if closing || is_blank(rest) {
            // The CRLF before a delimiter belongs to the delimiter.
            let content_end = at.saturating_sub(2);
            if let Some(start) = part_start.take() {
                split
                    .parts
                    .push(base + start..base + content_end.max(start));
            }
            if closing {
                closed_at = Some(next.min(body.len()));
                break;
            }
            part_start = Some(next.min(body.len()));
        } else {
            prefix_lines += 1;
        }
    }
    if prefix_lines > 0 {
        split.ambiguities.push(format!(
            "{prefix_lines} lines start with the boundary but are not delimiters"
        ));
    }
    if bare_breaks > 0 {
        split
            .ambiguities
            .push("a boundary follows a bare CR or LF (line-end smuggling)".to_owned());
    }
    match closed_at {
        Some(after) => {
            if !is_blank(&body[after..]) {
                split
                    .ambiguities
                    .push("text after the closing boundary".to_owned());
                split.stray = Some(base + after..base + body.len());
            }
        }
        None => {
            if let Some(start) = part_start {
                split
                    .ambiguities
                    .push("missing closing boundary".to_owned());
                split.parts.push(base + start..base + body.len());
            }
        }
    }
    if split.parts.is_empty() {
        split
            .ambiguities
            .push("multipart without any part".to_owned());
        if !is_blank(body) {
            split.stray = Some(base..base + body.len());
        }
    }
    split
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn parse_str(raw: &str) -> Message {
        parse(raw.as_bytes(), &Limits::default()).unwrap()
    }

    #[test]
    fn nested_multiparts_split_into_leaves_with_paths() {
        let message = parse_str(
            "Content-Type: multipart/mixed; boundary=outer\r\n\r\npreamble\r\n--outer\r\n\
             Content-Type: multipart/alternative; boundary=inner\r\n\r\n--inner\r\n\r\nplain\r\n--inner\r\n\
             Content-Type: text/html\r\n\r\n<p>html</p>\r\n--inner--\r\n--outer\r\n\
             Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--outer--\r\n",
        );
        let leaves = message.root.leaves();
        let paths: Vec<&str> = leaves.iter().map(|l| l.path.as_str()).collect();
        assert_eq!(paths, ["1.1", "1.2", "2"]);
        assert_eq!(leaves[0].decoded(), b"plain");
        assert_eq!(leaves[2].decoded(), b"%PDF-");
        assert!(message.root.walk().iter().all(|e| !e.tainted));
    }

    #[test]
    fn missing_close_and_epilogue_and_prefix_lines_taint() {
        let missing =
            parse_str("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n");
        assert!(missing.root.tainted);
        let epilogue = parse_str(
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\nhidden\r\n",
        );
        let Kind::Multipart { stray, .. } = &epilogue.root.kind else {
            panic!("not a multipart")
        };
        assert_eq!(stray.as_deref(), Some(&b"hidden\r\n"[..]));
        let prefix = parse_str(
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--bogus\r\n--b--\r\n",
        );
        assert!(prefix.root.tainted);
    }

    #[test]
    fn only_delimiters_at_the_start_of_a_crlf_line_split_and_bare_breaks_before_one_are_found() {
        let split = |body: &str| split_parts(body.as_bytes(), b"b", 0);
        // A delimiter inside a line is text; one after a bare CR or a bare LF is an ambiguity.
        let inline = split("--b\r\nx --b y\r\n--b--\r\n");
        assert_eq!(inline.parts, vec![5..12]);
        assert!(inline.ambiguities.is_empty(), "{:?}", inline.ambiguities);
        for smuggled in ["--b\r\nx\r--b\r\n--b--\r\n", "--b\r\nx\n--b\r\n--b--\r\n"] {
            let s = split(smuggled);
            assert_eq!(s.parts.len(), 1, "{smuggled:?}");
            assert!(
                s.ambiguities.iter().any(|a| a.contains("bare CR or LF")),
                "{smuggled:?}: {:?}",
                s.ambiguities
            );
        }
        // A delimiter line with a bare LF inside it is a line that only starts with the boundary.
        let inside = split("--b\r\nx\r\n--b\n--b\r\n--b--\r\n");
        assert!(
            inside
                .ambiguities
                .iter()
                .any(|a| a.contains("start with the boundary"))
        );
        assert!(
            inside
                .ambiguities
                .iter()
                .any(|a| a.contains("bare CR or LF"))
        );
        // The first line of the body may be a delimiter; the last needs no CRLF after it.
        let last = split("--b\r\nx\r\n--b--");
        assert_eq!(last.parts, vec![5..6]);
        assert!(last.ambiguities.is_empty(), "{:?}", last.ambiguities);
    }

    #[test]
    fn too_deep_and_too_many_parts_are_refused() {
        let mut raw = String::new();
        for level in 0..20 {
            raw.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=b{level}x\r\n\r\n--b{level}x\r\n"
            ));
        }
        let error = parse(raw.as_bytes(), &Limits::default()).unwrap_err();
        assert!(matches!(error, Refused::TooDeep { .. }));

        let mut many = "Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_owned();
        many.push_str(&"--b\r\n\r\nx\r\n".repeat(600));
        many.push_str("--b--\r\n");
        let error = parse(many.as_bytes(), &Limits::default()).unwrap_err();
        assert!(matches!(error, Refused::TooManyParts { .. }));
    }
}
