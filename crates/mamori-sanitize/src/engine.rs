//! [`sanitize`]: parse once, choose the body, rebuild, list what was removed. And [`stamp`].

use std::borrow::Cow;

use sha2::{Digest as _, Sha256};

use crate::address;
use crate::charset;
use crate::compose;
use crate::embedded;
use crate::encoded_word::decode_header;
use crate::error::Refused;
use crate::flowed;
use crate::html;
use crate::link;
use crate::mime::{self, Entity, Kind};
use crate::notice::Notice;
use crate::policy::Policy;
use crate::report::{Action, BodySource, RemovedPart, Report};
use crate::sniff::{is_textual, sniff};
use crate::text::{Removed, clean_body, clean_line};

/// The result of sanitising one message.
#[derive(Debug, Clone)]
pub struct Sanitized {
    /// The rebuilt RFC 5322 message, CRLF line ends, 7-bit.
    pub message: Vec<u8>,
    /// Every part not carried over, in document order, for the quarantine.
    pub removed: Vec<RemovedPart>,
    pub report: Report,
}

/// The header fields carried over, in the order they are written.
const KEPT: [&str; 9] = [
    "From",
    "Reply-To",
    "To",
    "Cc",
    "Date",
    "Subject",
    "Message-ID",
    "In-Reply-To",
    "References",
];

/// Sanitises one raw message (無害化): a new text-only message, the removed parts and a report, or a refusal
/// when the message is over a limit or not a message.
pub fn sanitize(raw: &[u8], policy: &Policy) -> Result<Sanitized, Refused> {
    let limits = &policy.limits;
    if raw.len() > limits.max_total_size {
        return Err(Refused::TooLarge {
            size: raw.len(),
            limit: limits.max_total_size,
        });
    }
    let mut notes = Vec::new();
    let data = canonical_line_ends(raw, &mut notes);
    let message = mime::parse(&data, limits)?;

    let mut hostile = ambiguities(&message.root);
    let mut actions = vec![Action::Text];
    let body = choose_body(&message.root, &mut hostile);
    let body_path = body.map(|entity| entity.path.clone());
    let (text, body_source) = match body {
        Some(entity) => body_text(entity, &mut actions, &mut notes),
        None => (String::new(), BodySource::None),
    };
    let headers = rebuild_headers(&message.root, &mut hostile, &mut notes);

    let (text, removed_chars) = clean_body(&text);
    note_removed_chars("body", removed_chars, &mut notes);
    let (text, embedded_blocks) = embedded::cut(&text);
    let defanged = link::defang(&text);
    if defanged.changed {
        actions.push(Action::LinksDefanged);
    }

    let mut removed = Vec::new();
    collect_removed(message.root, body_path.as_deref(), &mut removed, &mut notes);
    add_embedded(
        embedded_blocks,
        body_path.as_deref(),
        &mut removed,
        &mut notes,
    );
    if !removed.is_empty() {
        actions.push(Action::AttachmentsRemoved(removed.len()));
    }
    if !hostile.is_empty() {
        actions.push(Action::HostileStructure);
    }

    let notice = Notice {
        removed: &removed,
        hostile: !hostile.is_empty(),
        contact: &policy.notice_contact,
    };
    let mut out = headers;
    out.push_str(&compose::body(&body_with_notice(&defanged, &notice)));
    Ok(Sanitized {
        message: out.into_bytes(),
        removed,
        report: Report {
            actions,
            hostile,
            links: defanged.links,
            notes,
            body_source,
        },
    })
}

/// Every ambiguity of the tree, each naming its entity.
fn ambiguities(root: &Entity) -> Vec<String> {
    let mut hostile = Vec::new();
    for entity in root.walk() {
        let place = if entity.path.is_empty() {
            "message".to_owned()
        } else {
            format!("part {}", entity.path)
        };
        hostile.extend(entity.ambiguities.iter().map(|a| format!("{place}: {a}")));
    }
    hostile
}

/// The text, the list of defanged links, then the notice; CRLF line ends.
fn body_with_notice(defanged: &link::Defanged, notice: &Notice<'_>) -> String {
    let mut text = if defanged.text.is_empty() {
        "（本文はありません / No readable body）".to_owned()
    } else {
        defanged.text.clone()
    };
    if !defanged.links.is_empty() {
        text.push_str("\n\nリンク（無効化済み） / Links (defanged):");
        for (index, link) in defanged.links.iter().enumerate() {
            text.push_str(&format!("\n[{}] {link}", index + 1));
        }
    }
    text.push_str("\n\n");
    text.push_str(&notice.render());
    text.push('\n');
    text.replace('\n', "\r\n")
}

/// A message with LF line ends only (as stored in files) gets CRLF; one that mixes them keeps its bytes, and
/// the parser reports the bare ones.
fn canonical_line_ends<'a>(raw: &'a [u8], notes: &mut Vec<String>) -> Cow<'a, [u8]> {
    if raw.contains(&b'\r') || !raw.contains(&b'\n') {
        return Cow::Borrowed(raw);
    }
    notes.push("line ends were LF only; read as CRLF".to_owned());
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32);
    for &byte in raw {
        if byte == b'\n' {
            out.push(b'\r');
        }
        out.push(byte);
    }
    Cow::Owned(out)
}

/// Whether a leaf may be the body: untainted, inline, unnamed, of `type`, and text by its bytes.
fn is_body_candidate(entity: &Entity, content_type: &str) -> bool {
    !entity.tainted
        && !entity.is_attachment()
        && entity.file_name().is_none()
        && entity.content_type.value == content_type
        && entity
            .charset()
            .is_none_or(|label| charset::for_label(label).is_some())
}

/// The first readable `text/plain` leaf, else the first readable `text/html` leaf. A would-be body whose bytes
/// are not text (an executable labelled `text/plain`) is type confusion: hostile, and removed.
fn choose_body<'a>(root: &'a Entity, hostile: &mut Vec<String>) -> Option<&'a Entity> {
    let leaves = root.leaves();
    for content_type in ["text/plain", "text/html"] {
        for leaf in leaves.iter().filter(|l| is_body_candidate(l, content_type)) {
            let sniffed = sniff(leaf.decoded());
            if is_textual(sniffed) {
                return Some(leaf);
            }
            hostile.push(format!(
                "part {}: declared {content_type} but its bytes are {sniffed}",
                display_path(&leaf.path)
            ));
        }
    }
    None
}

fn display_path(path: &str) -> &str {
    if path.is_empty() { "(message)" } else { path }
}

fn body_text(
    entity: &Entity,
    actions: &mut Vec<Action>,
    notes: &mut Vec<String>,
) -> (String, BodySource) {
    let Some(decoded) = entity.text() else {
        return (String::new(), BodySource::None);
    };
    if decoded.malformed {
        notes.push(format!(
            "body: malformed bytes for charset {:?} replaced",
            entity.charset().unwrap_or_default()
        ));
    }
    let ascii_label = entity.charset().is_none_or(|label| {
        label.eq_ignore_ascii_case("us-ascii") || label.eq_ignore_ascii_case("ascii")
    });
    if ascii_label && !entity.decoded().is_ascii() {
        notes.push("body: 8-bit text without a (fitting) charset; charset guessed".to_owned());
    }
    if entity.content_type.value == "text/html" {
        actions.push(Action::HtmlConverted);
        let converted = html::to_text(&decoded.text);
        if converted.active_content {
            actions.push(Action::ActiveContentRemoved);
        }
        (converted.text, BodySource::Html(entity.path.clone()))
    } else {
        let param = |name: &str| entity.content_type.param(name).map(str::to_ascii_lowercase);
        let text = if param("format").as_deref() == Some("flowed") {
            flowed::unflow(&decoded.text, param("delsp").as_deref() == Some("yes"))
        } else {
            decoded.text
        };
        (text, BodySource::Plain(entity.path.clone()))
    }
}

fn note_removed_chars(place: &str, removed: Removed, notes: &mut Vec<String>) {
    if removed.bidi > 0 {
        notes.push(format!(
            "{place}: {} bidirectional control characters (e.g. U+202E) removed",
            removed.bidi
        ));
    }
    if removed.invisible > 0 {
        notes.push(format!(
            "{place}: {} zero-width or invisible characters removed",
            removed.invisible
        ));
    }
}

/// Every leaf but the body, and the stray bytes of multiparts, in document order. Consumes the tree, so the
/// decoded bytes move into the removed parts instead of being copied.
fn collect_removed(
    entity: Entity,
    body: Option<&str>,
    removed: &mut Vec<RemovedPart>,
    notes: &mut Vec<String>,
) {
    let file_name = entity.file_name().map(|name| {
        let (clean, chars) = clean_line(name);
        let place = format!("file name of part {}", display_path(&entity.path));
        note_removed_chars(&place, chars, notes);
        clean
    });
    let inline = !entity.is_attachment();
    match entity.kind {
        Kind::Leaf { decoded } => {
            if body != Some(entity.path.as_str()) {
                let declared = entity.content_type.value;
                removed.push(removed_part(
                    removed.len() + 1,
                    entity.path,
                    declared,
                    file_name,
                    decoded,
                    inline,
                ));
            }
        }
        Kind::Multipart { parts, stray } => {
            for part in parts {
                collect_removed(part, body, removed, notes);
            }
            if let Some(stray) = stray {
                let path = if entity.path.is_empty() {
                    "stray".to_owned()
                } else {
                    format!("{}.stray", entity.path)
                };
                let declared = "application/octet-stream".to_owned();
                removed.push(removed_part(
                    removed.len() + 1,
                    path,
                    declared,
                    None,
                    stray,
                    false,
                ));
            }
        }
    }
}

/// uuencode and yEnc blocks cut out of the body text.
fn add_embedded(
    blocks: Vec<embedded::Block>,
    body: Option<&str>,
    removed: &mut Vec<RemovedPart>,
    notes: &mut Vec<String>,
) {
    let body = body.unwrap_or_default();
    for (number, block) in blocks.into_iter().enumerate() {
        let (file_name, chars) = clean_line(&block.file_name);
        note_removed_chars("embedded file name", chars, notes);
        let path = if body.is_empty() {
            format!("embedded{}", number + 1)
        } else {
            format!("{body}.embedded{}", number + 1)
        };
        let declared = block.kind.to_owned();
        let content = block.content.into_bytes();
        removed.push(removed_part(
            removed.len() + 1,
            path,
            declared,
            Some(file_name),
            content,
            true,
        ));
    }
}

fn removed_part(
    index: usize,
    path: String,
    declared_type: String,
    file_name: Option<String>,
    content: Vec<u8>,
    inline: bool,
) -> RemovedPart {
    RemovedPart {
        index,
        path,
        declared_type,
        sniffed_type: sniff(&content).to_owned(),
        file_name,
        size: content.len(),
        sha256: hex::encode(Sha256::digest(&content)),
        content,
        inline,
    }
}

/// The kept header fields, re-encoded from their decoded values. A duplicated field is reported as hostile
/// (readers show different ones) and only the first is kept.
fn rebuild_headers(root: &Entity, hostile: &mut Vec<String>, notes: &mut Vec<String>) -> String {
    let mut out = String::new();
    for name in KEPT {
        let mut fields = root.fields.iter().filter(|f| f.is(name));
        let Some(field) = fields.next() else { continue };
        if fields.next().is_some() {
            hostile.push(format!("message: duplicate {name} header"));
        }
        let tokens = match name {
            "From" | "Reply-To" | "To" | "Cc" => {
                let (mailboxes, address_notes) = address::parse_list(&field.value);
                notes.extend(address_notes.into_iter().map(|n| format!("{name}: {n}")));
                compose::address_tokens(&mailboxes)
            }
            "Message-ID" => compose::message_ids(&field.value)
                .into_iter()
                .take(1)
                .collect(),
            "In-Reply-To" | "References" => compose::message_ids(&field.value),
            "Date" => {
                let (date, _) = clean_line(&String::from_utf8_lossy(&field.value));
                if date.is_ascii() && date.len() <= 200 {
                    date.split(' ').map(str::to_owned).collect()
                } else {
                    notes.push("Date: not ASCII or too long, dropped".to_owned());
                    Vec::new()
                }
            }
            _ => {
                let decoded = decode_header(&field.value);
                notes.extend(decoded.notes.into_iter().map(|n| format!("{name}: {n}")));
                let (text, chars) = clean_line(&decoded.text);
                note_removed_chars(name, chars, notes);
                compose::text_tokens(&text)
            }
        };
        if !tokens.is_empty() {
            out.push_str(&compose::fold(name, &tokens));
        }
    }
    out
}

/// Adds `X-Mamori-Sanitized: <actions>` and `X-Mamori-Original-Id: <id>` at the top of a rebuilt message.
/// `original_id` names the quarantined original; anything but visible ASCII is dropped from it.
pub fn stamp(message: &mut Vec<u8>, report: &Report, original_id: &str) {
    let id: String = original_id
        .chars()
        .filter(char::is_ascii_graphic)
        .take(200)
        .collect();
    let fields = format!(
        "X-Mamori-Sanitized: {}\r\nX-Mamori-Original-Id: {id}\r\n",
        report.header_value()
    );
    message.splice(0..0, fields.into_bytes());
}
