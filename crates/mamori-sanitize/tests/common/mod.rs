//! Helpers shared by the integration tests: reading a rebuilt message back with our own parser and checking
//! the properties every output must have.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use mamori_sanitize::mime::Kind;
use mamori_sanitize::{Limits, Policy, Sanitized, parse, sanitize};

pub const CONTACT: &str = "情報政策課 内線 1234 (quarantine@city.example.lg.jp)";

pub fn policy() -> Policy {
    Policy::new(CONTACT)
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn sanitize_fixture(name: &str) -> Sanitized {
    let sanitized = sanitize(&fixture(name), &policy()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_well_formed(&sanitized.message);
    assert_nothing_removed_leaks(&sanitized);
    sanitized
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The body of a rebuilt message, read back with our own parser, line ends as `\n`.
pub fn body_of(message: &[u8]) -> String {
    let parsed = parse(message, &Limits::default()).expect("rebuilt message parses");
    let leaves = parsed.root.leaves();
    assert_eq!(leaves.len(), 1, "one part");
    let text = leaves[0].text().expect("UTF-8 body").text;
    assert!(
        !text.replace("\r\n", "").contains(['\r', '\n']),
        "body line ends are CRLF"
    );
    text.replace("\r\n", "\n")
}

/// The text before the notice: what the sender wrote, after sanitising.
pub fn text_of(message: &[u8]) -> String {
    let body = body_of(message);
    let end = body.find("━━━━").expect("notice present");
    body[..end].trim_end().to_owned()
}

pub fn header_of(message: &[u8], name: &str) -> Option<String> {
    parse(message, &Limits::default())
        .expect("rebuilt message parses")
        .header(name)
}

/// What every rebuilt message must be: 7-bit, CRLF only, lines within RFC 5322's limit, only the whitelisted
/// and MIME header fields, one unambiguous text/plain UTF-8 part in base64.
pub fn assert_well_formed(message: &[u8]) {
    assert!(message.is_ascii(), "7-bit output");
    for (index, &byte) in message.iter().enumerate() {
        if byte == b'\n' {
            assert!(
                index > 0 && message[index - 1] == b'\r',
                "bare LF at {index}"
            );
        }
        if byte == b'\r' {
            assert_eq!(message.get(index + 1), Some(&b'\n'), "bare CR at {index}");
        }
        assert!(
            byte == b'\r' || byte == b'\n' || byte == b'\t' || (32..127).contains(&byte),
            "control byte"
        );
    }
    let text = std::str::from_utf8(message).unwrap();
    let (head, _) = text.split_once("\r\n\r\n").expect("header block ends");
    let allowed = [
        "X-Mamori-Sanitized",
        "X-Mamori-Original-Id",
        "From",
        "Reply-To",
        "To",
        "Cc",
        "Date",
        "Subject",
        "Message-ID",
        "In-Reply-To",
        "References",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
    ];
    for line in head.split("\r\n") {
        assert!(line.len() <= 998, "line too long");
        if line.starts_with([' ', '\t']) {
            assert!(!line.trim().is_empty(), "blank continuation");
            continue;
        }
        let name = line.split(':').next().unwrap();
        assert!(allowed.contains(&name), "unexpected header field {name:?}");
    }
    assert!(head.contains("Content-Type: text/plain; charset=UTF-8"));
    let parsed = parse(message, &Limits::default()).expect("rebuilt message parses");
    assert!(!parsed.is_ambiguous(), "rebuilt message is unambiguous");
    let leaves = parsed.root.leaves();
    assert_eq!(leaves.len(), 1);
    assert!(matches!(parsed.root.kind, Kind::Leaf { .. }));
    assert!(
        std::str::from_utf8(leaves[0].decoded()).is_ok(),
        "UTF-8 text"
    );
}

/// No removed part reaches the output: not its bytes, not in the raw message, not in the decoded body.
pub fn assert_nothing_removed_leaks(sanitized: &Sanitized) {
    let body = body_of(&sanitized.message);
    for part in &sanitized.removed {
        if part.content.len() < 8 {
            continue;
        }
        assert!(
            !contains(&sanitized.message, &part.content),
            "part {} leaks into the message",
            part.path
        );
        assert!(
            !contains(body.as_bytes(), &part.content),
            "part {} leaks into the body",
            part.path
        );
    }
}
