//! Every message of the sanitiser's hostile and benign corpora (`mamori-sanitize/tests/fixtures`) through a
//! real relay: an SMTP client sends it, the recording sink (the LGWAN mail server's stand-in) shows what
//! crossed. Hostile mail arrives inert — one text part, no byte of any attachment, no active content, no
//! injected header — or, when it cannot be sent as SMTP allows (a bare LF), is refused and nothing arrives.
//! Benign mail arrives with its text intact and is not judged hostile.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use mamori_relay::key::QuarantineKey;
use mamori_relay::{Config, Relay};
use mamori_sanitize::{Limits, Policy, parse, sanitize};

/// Attacks of the threat model, one per message.
const HOSTILE: [&str; 19] = [
    "header_injection_encoded_word.eml",
    "hostile_bare_lf_boundary.eml",
    "hostile_bare_lf_header.eml",
    "hostile_base64_junk.eml",
    "hostile_boundary_prefix.eml",
    "hostile_cte_on_multipart.eml",
    "hostile_duplicate_boundary.eml",
    "hostile_duplicate_content_type.eml",
    "hostile_duplicate_cte.eml",
    "hostile_missing_close.eml",
    "hostile_name_filename.eml",
    "hostile_nul_header.eml",
    "hostile_obs_fold.eml",
    "hostile_text_after_close.eml",
    "hostile_text_plain_is_exe.eml",
    "hostile_unknown_charset.eml",
    "html_only_links.eml",
    "rtl_override_filename.eml",
    // Not an attack in itself, but its PDF must not cross either; its text is checked as benign below.
    "iso2022jp_pdf_rfc2231.eml",
];

/// Mail as real mailers write it, with a sentence each that must arrive.
const BENIGN: [(&str, &str); 7] = [
    ("benign_gmail.eml", "名簿を送ります。ご確認ください。"),
    ("benign_thunderbird.eml", "会議の議事録を"),
    ("benign_digest.eml", "Today's Topics:"),
    ("alternative_utf8.eml", "場所: 本庁舎 3階 第1会議室"),
    (
        "iso2022jp_pdf_rfc2231.eml",
        "ご依頼の見積書を添付いたします。",
    ),
    (
        "nested_mixed_related_alternative.eml",
        "来週の防災訓練について、添付の資料をご確認ください。",
    ),
    ("html_only_links.eml", "市民の皆様へ"),
];

/// Header fields a rebuilt message may have.
const ALLOWED_FIELDS: [&str; 17] = [
    "Authentication-Results",
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
    "Received",
    "Return-Path",
];

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mamori-sanitize/tests/fixtures")
}

fn config(spool: &Path, next_hop: SocketAddr) -> Config {
    Config {
        max_size: 1_000_000,
        hostname: "relay.test".into(),
        trusted_authserv_ids: vec!["mx.city.example".into()],
        notice_contact: "情報政策課 内線 1234".into(),
        limits: quick_limits(Duration::from_millis(50)),
        ..Config::loopback(
            next_hop,
            spool,
            QuarantineKey::from_bytes(&[7; 32]).unwrap(),
            "city.example",
        )
    }
}

/// Whether the raw message has a line end other than CRLF: SMTP cannot carry it as it is.
fn has_bare_line_end(message: &[u8]) -> bool {
    message.iter().enumerate().any(|(i, &b)| {
        (b == b'\n' && (i == 0 || message[i - 1] != b'\r'))
            || (b == b'\r' && message.get(i + 1) != Some(&b'\n'))
    })
}

/// The rebuilt body's text before the notice.
fn text_before_notice(body: &str) -> String {
    let end = body.find("━━━━").expect("the notice");
    body[..end].replace("\r\n", "\n").trim_end().to_owned()
}

/// Whether any `window`-byte run of `part` (the whole part when shorter) occurs in `haystack`.
fn shares_a_run(haystack: &[u8], part: &[u8], window: usize) -> bool {
    if part.len() < 8 {
        return false;
    }
    if part.len() <= window {
        return contains(haystack, part);
    }
    part.windows(window).any(|run| contains(haystack, run))
}

/// What crossed for one hostile message: inert, whatever the original tried.
fn assert_inert(name: &str, original: &[u8], arrived: &Arrived) {
    let raw = &arrived.data;
    let body = arrived.body_text();
    let lower_raw = String::from_utf8_lossy(raw).to_ascii_lowercase();
    let lower_body = body.to_lowercase();
    for active in ["<script", "javascript:", "vbscript:", "data:text/html"] {
        assert!(
            !lower_raw.contains(active),
            "{name}: {active} in the message"
        );
        assert!(!lower_body.contains(active), "{name}: {active} in the body");
    }

    // No byte run of any attachment — as the engine splits the original, and every base64 block in it
    // decoded, whatever part a reader would say it belongs to — in the message (but for the fields the relay
    // writes itself, checked below to be exactly its own) or in its decoded body.
    let (head, _) = String::from_utf8_lossy(raw)
        .split_once("\r\n\r\n")
        .map(|(h, b)| (h.to_owned(), b.to_owned()))
        .expect("a header block");
    let searched = without_relay_fields(raw);
    let sanitized = sanitize(original, &Policy::new("x")).expect("the engine reads it");
    let mut attachments: Vec<(String, Vec<u8>)> = sanitized
        .removed
        .iter()
        .filter(|part| !(part.sniffed_type == "text" && body_shows_text_of(&body, part)))
        .map(|part| (format!("part {}", part.path), part.content.clone()))
        .collect();
    attachments.extend(
        base64_blocks(original)
            .into_iter()
            .enumerate()
            .map(|(i, bytes)| (format!("base64 block {i}"), bytes)),
    );
    if contains(original, b"TVqQ") {
        assert!(
            attachments
                .iter()
                .any(|(_, bytes)| bytes.starts_with(b"MZ")),
            "{name}: the executable is among the attachments looked for"
        );
    }
    for (what, bytes) in &attachments {
        assert!(
            !shares_a_run(&searched, bytes, 32),
            "{name}: bytes of {what} in the message"
        );
        assert!(
            !shares_a_run(body.as_bytes(), bytes, 32),
            "{name}: bytes of {what} in the body"
        );
    }

    // One text/plain part, unambiguous; only the rebuilt header fields, none injected.
    let parsed = parse(raw, &Limits::default()).expect("the delivered message parses");
    assert!(!parsed.is_ambiguous(), "{name}");
    let leaves = parsed.root.leaves();
    assert_eq!(leaves.len(), 1, "{name}: one part");
    assert_eq!(leaves[0].content_type.value, "text/plain", "{name}");
    for (field, value) in [
        ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=UTF-8"),
        ("Content-Transfer-Encoding", "base64"),
    ] {
        assert_eq!(arrived.header(field).as_deref(), Some(value), "{name}");
    }
    let mut seen = BTreeSet::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let field = line.split(':').next().unwrap_or_default();
        assert!(
            ALLOWED_FIELDS.contains(&field),
            "{name}: unexpected field {field:?}"
        );
        if field != "Authentication-Results" && field != "Received" {
            assert!(seen.insert(field.to_owned()), "{name}: {field} twice");
        }
    }
    for injected in ["bcc:", "x-evil:"] {
        assert!(
            !head
                .to_ascii_lowercase()
                .contains(&format!("\r\n{injected}")),
            "{name}: {injected} injected"
        );
    }
    assert!(raw.is_ascii(), "{name}: 7-bit");
}

/// The message without the header fields the relay writes itself (MIME framing, trace and its own
/// stamps): what is left is the sender's decoded fields and the body.
fn without_relay_fields(raw: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("a header block");
    let mut kept = String::new();
    let mut keeping = true;
    for line in head.split("\r\n") {
        if !line.starts_with([' ', '\t']) {
            let field = line.split(':').next().unwrap_or_default();
            keeping = ![
                "Received",
                "Authentication-Results",
                "X-Mamori-Sanitized",
                "X-Mamori-Original-Id",
                "MIME-Version",
                "Content-Type",
                "Content-Transfer-Encoding",
            ]
            .contains(&field);
        }
        if keeping {
            kept.push_str(line);
            kept.push_str("\r\n");
        }
    }
    kept.push_str("\r\n");
    kept.push_str(body);
    kept.into_bytes()
}

/// Every run of base64 lines in the original (at least 24 characters), decoded.
fn base64_blocks(original: &[u8]) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    let text = String::from_utf8_lossy(original);
    let is_base64_line = |line: &str| {
        line.len() >= 16
            && line
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
    };
    let mut blocks = Vec::new();
    let mut current = String::new();
    for line in text.split(['\r', '\n']).chain([""]) {
        if is_base64_line(line.trim()) {
            current.push_str(line.trim());
            continue;
        }
        if current.len() >= 24 {
            let usable = current.trim_end_matches('=');
            let usable = &usable[..usable.len() / 4 * 4];
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD_NO_PAD.decode(usable) {
                blocks.push(bytes);
            }
        }
        current.clear();
    }
    blocks
}

/// A removed text part (the other alternative of a shown text, or a text part a hostile message also shows)
/// is the sender's words: they may arrive, as text.
fn body_shows_text_of(body: &str, part: &mamori_sanitize::RemovedPart) -> bool {
    let text = String::from_utf8_lossy(&part.content);
    let first_line = text.lines().map(str::trim).find(|l| !l.is_empty());
    first_line.is_some_and(|line| body.contains(line))
        && !part.declared_type.contains("html")
        && part.sniffed_type == "text"
}

#[tokio::test]
async fn every_corpus_message_crosses_the_relay_inert_and_benign_text_arrives_intact() {
    let dir = fixtures_dir();
    let mut on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".eml"))
        .collect();
    let classified: BTreeSet<String> = HOSTILE
        .iter()
        .copied()
        .chain(BENIGN.iter().map(|(name, _)| *name))
        .map(str::to_owned)
        .collect();
    on_disk.retain(|name| !classified.contains(name));
    assert!(
        on_disk.is_empty(),
        "fixtures not in the corpus test: {on_disk:?}"
    );

    let sink = Sink::start(Behaviour::default()).await;
    let spool = temp_dir("corpus");
    let relay = Relay::start(config(&spool, sink.addr)).await.unwrap();
    let started = std::time::Instant::now();

    // Everything is sent first, one session per message; then what arrived is read.
    let mut sent: Vec<(String, Vec<u8>, String)> = Vec::new();
    let mut refused = Vec::new();
    for name in &classified {
        let original = std::fs::read(dir.join(name)).unwrap();
        let (mut client, _) = Client::connect(relay.local_addr()).await;
        assert!(
            client
                .command("EHLO mx.city.example")
                .await
                .starts_with("250")
        );
        assert!(
            client
                .command("MAIL FROM:<sender@example.jp>")
                .await
                .starts_with("250")
        );
        assert!(
            client
                .command("RCPT TO:<taro@city.example>")
                .await
                .starts_with("250")
        );
        assert!(client.command("DATA").await.starts_with("354"));
        client.send(&dot_stuff(&original)).await;
        let answer = client.reply().await;
        if has_bare_line_end(&original) {
            // SMTP smuggling: refused, and the relay hangs up.
            assert!(answer.starts_with('5'), "{name}: {answer}");
            assert!(client.closed().await, "{name}: connection closed");
            refused.push(name.clone());
            continue;
        }
        assert!(answer.starts_with("250 2.0.0"), "{name}: {answer}");
        client.command("QUIT").await;
        sent.push((name.clone(), original, queued_id(&answer)));
    }
    assert_eq!(
        refused,
        ["hostile_bare_lf_boundary.eml", "hostile_bare_lf_header.eml"]
    );

    sink.wait_for(sent.len(), 15).await;
    // Give a second delivery, were there one, the time to arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let arrived = sink.arrived();
    assert_eq!(arrived.len(), sent.len(), "nothing else arrived");
    for (name, original, id) in &sent {
        let copies: Vec<&Arrived> = arrived
            .iter()
            .filter(|m| m.header("X-Mamori-Original-Id").as_deref() == Some(id.as_str()))
            .collect();
        assert_eq!(copies.len(), 1, "{name} ({id}) arrived once");
        let delivered = copies[0];
        assert_eq!(delivered.rcpt_to, ["taro@city.example"], "{name}");
        if HOSTILE.contains(&name.as_str()) {
            assert_inert(name, original, delivered);
        }
        if let Some((_, sentence)) = BENIGN.iter().find(|(benign, _)| benign == name) {
            let sanitised = delivered.header("X-Mamori-Sanitized").unwrap_or_default();
            assert!(!sanitised.contains("hostile"), "{name}: {sanitised}");
            let engine = sanitize(original, &Policy::new("x")).unwrap();
            assert!(!engine.report.is_hostile(), "{name}");
            let expected = text_before_notice(&common_body(&engine.message));
            let body = text_before_notice(&delivered.body_text());
            assert_eq!(body, expected, "{name}: the text the engine reads arrives");
            assert!(body.contains(sentence), "{name}: {body}");
        }
    }
    assert!(started.elapsed() < Duration::from_secs(20));

    relay.shutdown().await;
    std::fs::remove_dir_all(&spool).unwrap();
}

/// The decoded body of a message the engine rebuilt.
fn common_body(message: &[u8]) -> String {
    Arrived {
        mail_from: String::new(),
        rcpt_to: Vec::new(),
        data: message.to_vec(),
    }
    .body_text()
}
