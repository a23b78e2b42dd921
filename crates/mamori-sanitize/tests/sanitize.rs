//! The engine against fixture messages: Japanese business mail in each charset, HTML-only mail, nested
//! multiparts, and one message per attack class of the threat model.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{CONTACT, body_of, contains, fixture, header_of, policy, sanitize_fixture, text_of};
use mamori_sanitize::{Action, BodySource, Lang, Limits, Policy, Refused, sanitize, stamp};
use sha2::{Digest, Sha256};

const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n% PAYLOAD-MARKER-PDF\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR PAYLOAD-MARKER-PNG";
const DOCX: &[u8] = b"PK\x03\x04\x14\x00\x00\x00word/document.xml PAYLOAD-MARKER-DOCX";
const EXE: &[u8] =
    b"MZ\x90\x00\x03\x00\x00\x00 This program cannot be run in DOS mode. PAYLOAD-MARKER-EXE";

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[test]
fn iso_2022_jp_business_mail_keeps_its_text_and_quarantines_the_pdf() {
    let sanitized = sanitize_fixture("iso2022jp_pdf_rfc2231.eml");
    let expected = String::from_utf8(fixture("iso2022jp_body.txt")).unwrap();
    assert_eq!(text_of(&sanitized.message), expected);
    assert_eq!(
        header_of(&sanitized.message, "Subject").unwrap(),
        "【お見積り】令和7年度 庁内ネットワーク機器更新の件"
    );
    assert_eq!(
        header_of(&sanitized.message, "From").unwrap(),
        "鈴木 一郎 <suzuki@sample.example.co.jp>"
    );
    assert_eq!(
        header_of(&sanitized.message, "Cc").unwrap(),
        "佐藤 花子 <sato@city.example.lg.jp>"
    );
    assert_eq!(
        header_of(&sanitized.message, "Message-ID").unwrap(),
        "<20251104101500.1234@sample.example.co.jp>"
    );
    assert_eq!(header_of(&sanitized.message, "X-Mailer"), None);
    assert_eq!(header_of(&sanitized.message, "Received"), None);

    assert_eq!(sanitized.removed.len(), 1);
    let pdf = &sanitized.removed[0];
    assert_eq!(pdf.file_name.as_deref(), Some("見積書_令和7年度①.pdf"));
    assert_eq!(pdf.declared_type, "application/pdf");
    assert_eq!(pdf.sniffed_type, "pdf");
    assert_eq!(pdf.content, PDF);
    assert_eq!(pdf.size, PDF.len());
    assert_eq!(pdf.sha256, sha256(PDF));
    assert!(!pdf.inline);
    assert!(!contains(&sanitized.message, b"PAYLOAD-MARKER"));

    assert!(
        !sanitized.report.is_hostile(),
        "{:?}",
        sanitized.report.hostile
    );
    assert_eq!(
        sanitized.report.header_value(),
        "text; attachments-removed=1"
    );
    assert_eq!(
        sanitized.report.body_source,
        BodySource::Plain("1".to_owned())
    );
    let body = body_of(&sanitized.message);
    assert!(body.contains("  1. 見積書_令和7年度①.pdf（application/pdf、判定: pdf、"));
    assert!(body.contains("  1. 見積書_令和7年度①.pdf (application/pdf, detected: pdf, "));
    assert!(body.contains(CONTACT));
    let ja = body.find("【無害化のお知らせ】").unwrap();
    let en = body.find("[Sanitisation notice]").unwrap();
    assert!(ja < en, "Japanese first, English below");
}

#[test]
fn shift_jis_html_only_mail_becomes_text_with_links_defanged() {
    let sanitized = sanitize_fixture("html_only_links.eml");
    let text = text_of(&sanitized.message);
    assert!(text.starts_with("市民の皆様へ\n\n詳しくは市のホームページ <hxxps://www[.]city[.]example[.]lg[.]jp/info/2025.html>をご覧ください。"), "{text}");
    assert!(text.contains("お問い合わせ: 03-1234-5678 <tel[:]0312345678> / info@city.example.lg.jp <mailto[:]info@city.example.lg.jp>"), "{text}");
    assert!(
        text.contains("ここをクリック hxxp://plain[.]example[.]jp/path"),
        "{text}"
    );
    assert!(text.contains("© 2025 市役所"), "{text}");
    for absent in [
        "javascript",
        "alert",
        "evil",
        "document.location",
        "<p>",
        "https://",
        "http://",
    ] {
        assert!(!text.contains(absent), "{absent} in {text}");
    }
    assert_eq!(
        sanitized.report.links,
        [
            "hxxps://www[.]city[.]example[.]lg[.]jp/info/2025.html",
            "hxxp://plain[.]example[.]jp/path"
        ]
    );
    assert!(text.contains("[1] hxxps://www[.]city[.]example[.]lg[.]jp/info/2025.html"));
    assert_eq!(
        sanitized.report.header_value(),
        "text; html-converted; active-content-removed; links-defanged"
    );
    assert_eq!(
        header_of(&sanitized.message, "Subject").unwrap(),
        "お知らせ（HTML）"
    );
    assert!(sanitized.removed.is_empty());
}

#[test]
fn alternative_keeps_the_plain_part_and_quarantines_the_html_one() {
    let sanitized = sanitize_fixture("alternative_utf8.eml");
    assert_eq!(
        text_of(&sanitized.message),
        "会議資料をお送りします。\n\n日時: 11月10日 14:00\n場所: 本庁舎 3階 第1会議室"
    );
    assert!(!body_of(&sanitized.message).contains("HIDDEN-HTML-ONLY"));
    assert_eq!(
        header_of(&sanitized.message, "Subject").unwrap(),
        "会議資料の送付"
    );
    assert_eq!(
        header_of(&sanitized.message, "To").unwrap(),
        "全職員 <all@city.example.lg.jp>"
    );
    assert_eq!(
        header_of(&sanitized.message, "Message-ID").unwrap(),
        "<ALT-1@city.example.lg.jp>"
    );
    assert_eq!(
        header_of(&sanitized.message, "In-Reply-To").unwrap(),
        "<prev-1@city.example.lg.jp>"
    );
    assert_eq!(
        header_of(&sanitized.message, "References").unwrap(),
        "<prev-0@city.example.lg.jp> <prev-1@city.example.lg.jp>"
    );
    assert_eq!(sanitized.removed.len(), 1);
    assert_eq!(sanitized.removed[0].declared_type, "text/html");
    assert_eq!(sanitized.removed[0].sniffed_type, "html");
    assert!(sanitized.removed[0].inline);
    assert!(!sanitized.report.is_hostile());
}

#[test]
fn nested_mixed_related_alternative_reads_euc_jp_and_removes_three_parts() {
    let sanitized = sanitize_fixture("nested_mixed_related_alternative.eml");
    assert_eq!(
        text_of(&sanitized.message),
        "各位\n\n来週の防災訓練について、添付の資料をご確認ください。"
    );
    assert_eq!(
        header_of(&sanitized.message, "Subject").unwrap(),
        "防災訓練のお知らせ"
    );
    assert_eq!(
        header_of(&sanitized.message, "From").unwrap(),
        "\"Bosai Ka\" <bosai@city.example.lg.jp>"
    );
    let summary: Vec<(&str, &str, &str, Option<&str>, bool)> = sanitized
        .removed
        .iter()
        .map(|p| {
            (
                p.path.as_str(),
                p.declared_type.as_str(),
                p.sniffed_type.as_str(),
                p.file_name.as_deref(),
                p.inline,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("1.1.2", "text/html", "html", None, true),
            ("1.2", "image/png", "png", Some("image001.png"), true),
            (
                "2",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "docx",
                Some("訓練資料.docx"),
                false
            ),
        ]
    );
    assert_eq!(sanitized.removed[1].sha256, sha256(PNG));
    assert_eq!(sanitized.removed[2].sha256, sha256(DOCX));
    assert_eq!(
        sanitized.report.header_value(),
        "text; attachments-removed=3"
    );
    assert!(!contains(&sanitized.message, b"PAYLOAD-MARKER"));
    assert!(
        !sanitized.report.is_hostile(),
        "{:?}",
        sanitized.report.hostile
    );
}

/// One fixture per ambiguity of the threat model: the reason reported, every part quarantined, the text shown
/// only when the part holding it is unambiguous itself.
#[test]
fn ambiguous_structures_are_hostile() {
    let cases: [(&str, &str, Option<&str>); 15] = [
        (
            "hostile_duplicate_content_type.eml",
            "duplicate Content-Type header",
            None,
        ),
        (
            "hostile_duplicate_boundary.eml",
            "duplicate parameter \"boundary\"",
            None,
        ),
        (
            "hostile_duplicate_cte.eml",
            "duplicate Content-Transfer-Encoding header",
            Some("Please see the invoice."),
        ),
        (
            "hostile_name_filename.eml",
            "differs from filename",
            Some("Please see the invoice."),
        ),
        ("hostile_cte_on_multipart.eml", "on a multipart", None),
        (
            "hostile_text_after_close.eml",
            "text after the closing boundary",
            None,
        ),
        (
            "hostile_missing_close.eml",
            "missing closing boundary",
            None,
        ),
        (
            "hostile_boundary_prefix.eml",
            "prefix of an enclosing boundary",
            None,
        ),
        (
            "hostile_unknown_charset.eml",
            "unknown charset \"x-klingon\"",
            None,
        ),
        (
            "hostile_text_plain_is_exe.eml",
            "declared text/plain but its bytes are exe",
            None,
        ),
        (
            "hostile_base64_junk.eml",
            "outside the base64 alphabet",
            None,
        ),
        ("hostile_obs_fold.eml", "obs-fold", None),
        ("hostile_nul_header.eml", "NUL", None),
        (
            "hostile_bare_lf_header.eml",
            "bare LF in a header line",
            None,
        ),
        (
            "hostile_bare_lf_boundary.eml",
            "boundary follows a bare CR or LF",
            None,
        ),
    ];
    for (name, reason, shown) in cases {
        let sanitized = sanitize_fixture(name);
        let report = &sanitized.report;
        assert!(
            report.hostile.iter().any(|h| h.contains(reason)),
            "{name}: {reason:?} not in {:?}",
            report.hostile
        );
        assert!(report.actions.contains(&Action::HostileStructure), "{name}");
        assert!(
            report.header_value().ends_with("hostile-structure"),
            "{name}"
        );
        let text = text_of(&sanitized.message);
        match shown {
            Some(expected) => assert_eq!(text, expected, "{name}"),
            None => assert_eq!(text, "（本文はありません / No readable body）", "{name}"),
        }
        for hidden in ["PAYLOAD-MARKER", "HIDDEN", "This program cannot"] {
            assert!(
                !body_of(&sanitized.message).contains(hidden),
                "{name}: {hidden} shown"
            );
        }
        assert!(!sanitized.removed.is_empty(), "{name}: nothing quarantined");
        // Where the executable is a part of its own to our parser, it is quarantined as it is; elsewhere it is
        // inside a quarantined part (base64 text after a boundary the parser did not accept).
        let separate_part = ![
            "boundary.eml",
            "prefix.eml",
            "junk.eml",
            "charset.eml",
            "close.eml",
        ]
        .iter()
        .any(|suffix| name.ends_with(suffix));
        if separate_part {
            let exe_hash = sha256(EXE);
            assert!(
                sanitized
                    .removed
                    .iter()
                    .any(|p| p.sha256 == exe_hash && p.sniffed_type == "exe"),
                "{name}"
            );
        }
        assert!(
            body_of(&sanitized.message).contains("構造（MIME またはヘッダー）があいまいなため"),
            "{name}"
        );
    }
}

#[test]
fn encoded_word_cannot_inject_header_fields_or_spoof_the_address() {
    let sanitized = sanitize_fixture("header_injection_encoded_word.eml");
    let message = String::from_utf8(sanitized.message.clone()).unwrap();
    assert!(!message.contains("\r\nBcc:"));
    assert!(!message.contains("\r\nX-Evil:"));
    assert_eq!(
        header_of(&sanitized.message, "Subject").unwrap(),
        "Hello Bcc: victim@city.example.lg.jp X-Evil: 1"
    );
    let from = header_of(&sanitized.message, "From").unwrap();
    assert!(from.ends_with("<attacker@evil.example>"), "{from}");
    let parsed = mamori_sanitize::parse(&sanitized.message, &Limits::default()).unwrap();
    let from_field = parsed.root.fields.iter().find(|f| f.is("From")).unwrap();
    let (mailboxes, _) = mamori_sanitize::address::parse_list(&from_field.value);
    assert_eq!(mailboxes.len(), 1);
    assert_eq!(mailboxes[0].address, "attacker@evil.example");
    assert!(
        sanitized
            .report
            .notes
            .iter()
            .any(|n| n.contains("looks like an address"))
    );
}

#[test]
fn rtl_override_in_a_file_name_is_removed_and_reported() {
    let sanitized = sanitize_fixture("rtl_override_filename.eml");
    assert_eq!(sanitized.removed.len(), 1);
    let zip = &sanitized.removed[0];
    assert_eq!(zip.file_name.as_deref(), Some("請求書_fdp.exe"));
    assert_eq!(zip.sniffed_type, "zip");
    assert!(
        sanitized
            .report
            .notes
            .iter()
            .any(|n| n.contains("file name of part 2") && n.contains("bidirectional"))
    );
    assert!(!body_of(&sanitized.message).contains('\u{202E}'));
    // The zero-width space that split the link is gone, so the link is found and defanged.
    assert_eq!(
        text_of(&sanitized.message),
        "請求書を送ります。 hxxps://evil[.]example/pay\n\nリンク（無効化済み） / Links (defanged):\n[1] hxxps://evil[.]example/pay"
    );
    assert!(
        sanitized
            .report
            .notes
            .iter()
            .any(|n| n.contains("zero-width"))
    );
}

#[test]
fn over_the_limits_is_refused_with_the_limit_and_the_place() {
    let mut deep = String::new();
    for level in 0..40 {
        deep.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=level{level}x\r\n\r\n--level{level}x\r\n"
        ));
    }
    let error = sanitize(deep.as_bytes(), &policy()).unwrap_err();
    assert!(
        matches!(error, Refused::TooDeep { limit: 16, .. }),
        "{error}"
    );
    assert!(error.message(Lang::Ja).contains("入れ子の深さが上限 16"));
    assert!(error.message(Lang::En).contains("nested deeper than 16"));

    let mut many =
        "From: a@example.jp\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n".to_owned();
    many.push_str(&"--b\r\nContent-Type: image/gif\r\n\r\nGIF89a\r\n".repeat(1000));
    many.push_str("--b--\r\n");
    assert!(matches!(
        sanitize(many.as_bytes(), &policy()).unwrap_err(),
        Refused::TooManyParts { limit: 500, .. }
    ));

    let small = Policy {
        limits: Limits {
            max_total_size: 100,
            ..Limits::default()
        },
        ..policy()
    };
    let error = sanitize(&[b'a'; 101], &small).unwrap_err();
    assert_eq!(
        error,
        Refused::TooLarge {
            size: 101,
            limit: 100
        }
    );
    assert_eq!(
        error.message(Lang::Ja),
        "メールの大きさ 101 バイトが上限 100 バイトを超えています"
    );

    let long = format!("Subject: {}\r\n\r\nbody", "x".repeat(5000));
    let error = sanitize(long.as_bytes(), &policy()).unwrap_err();
    assert!(
        matches!(
            error,
            Refused::HeaderLineTooLong {
                line: 1,
                length: 5009,
                ..
            }
        ),
        "{error}"
    );

    let decoded = Policy {
        limits: Limits {
            max_decoded_size: 1000,
            ..Limits::default()
        },
        ..policy()
    };
    let big = format!(
        "Content-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
        "AAAA".repeat(500)
    );
    let error = sanitize(big.as_bytes(), &decoded).unwrap_err();
    assert!(matches!(error, Refused::DecodedTooLarge { .. }));

    let error = sanitize(b"\x00\x01binary junk", &policy()).unwrap_err();
    assert!(matches!(error, Refused::NotAMessage { .. }));
    assert!(
        error
            .message(Lang::Ja)
            .starts_with("メールとして読み取れません")
    );
}

#[test]
fn very_long_base64_line_is_decoded_and_quarantined() {
    let payload: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut encoded = String::new();
    base64::Engine::encode_string(
        &base64::engine::general_purpose::STANDARD,
        &payload,
        &mut encoded,
    );
    let raw = format!(
        "From: a@example.jp\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n--b--\r\n"
    );
    let sanitized = sanitize(raw.as_bytes(), &policy()).unwrap();
    assert_eq!(sanitized.removed.len(), 1);
    assert_eq!(sanitized.removed[0].size, payload.len());
    assert_eq!(sanitized.removed[0].sha256, sha256(&payload));
    assert_eq!(text_of(&sanitized.message), "see attached");
    assert!(sanitized.message.len() < 10_000);
}

#[test]
fn stamp_adds_the_actions_and_a_clean_original_id() {
    let mut sanitized = sanitize_fixture("iso2022jp_pdf_rfc2231.eml");
    stamp(
        &mut sanitized.message,
        &sanitized.report,
        "q-2025-0001\r\nBcc: x@example.jp",
    );
    common::assert_well_formed(&sanitized.message);
    assert_eq!(
        header_of(&sanitized.message, "X-Mamori-Sanitized").unwrap(),
        "text; attachments-removed=1"
    );
    assert_eq!(
        header_of(&sanitized.message, "X-Mamori-Original-Id").unwrap(),
        "q-2025-0001Bcc:x@example.jp"
    );
    assert!(
        sanitized
            .message
            .starts_with(b"X-Mamori-Sanitized: text; attachments-removed=1\r\n")
    );
}

#[test]
fn lf_only_message_is_read_as_crlf() {
    let raw = "From: a@example.jp\nSubject: =?UTF-8?B?5LqI566X?=\nContent-Type: text/plain; charset=utf-8\n\n予算の件です。\n";
    let sanitized = sanitize(raw.as_bytes(), &policy()).unwrap();
    common::assert_well_formed(&sanitized.message);
    assert_eq!(text_of(&sanitized.message), "予算の件です。");
    assert_eq!(header_of(&sanitized.message, "Subject").unwrap(), "予算");
    assert!(!sanitized.report.is_hostile());
}

#[test]
fn sanitising_the_output_again_changes_nothing_but_the_notice() {
    for name in [
        "iso2022jp_pdf_rfc2231.eml",
        "html_only_links.eml",
        "nested_mixed_related_alternative.eml",
    ] {
        let first = sanitize_fixture(name);
        let second = sanitize(&first.message, &policy()).unwrap();
        assert!(!second.report.is_hostile(), "{name}");
        assert!(second.removed.is_empty(), "{name}");
        assert!(
            body_of(&second.message).starts_with(&text_of(&first.message)),
            "{name}"
        );
        for field in ["From", "To", "Subject", "Date", "Message-ID"] {
            assert_eq!(
                header_of(&first.message, field),
                header_of(&second.message, field),
                "{name} {field}"
            );
        }
    }
}

#[test]
fn shift_jis_and_euc_jp_plain_bodies_have_no_mojibake() {
    let text = "令和7年度の予算編成方針について（通知）\n髙橋課長、①②③、㈱、～、－";
    for (label, encoding) in [
        ("Shift_JIS", encoding_rs::SHIFT_JIS),
        ("CP932", encoding_rs::SHIFT_JIS),
        ("EUC-JP", encoding_rs::EUC_JP),
        ("ISO-2022-JP", encoding_rs::ISO_2022_JP),
        ("UTF-8", encoding_rs::UTF_8),
    ] {
        let (bytes, _, unmappable) = encoding.encode(text);
        let mut raw = format!(
            "From: a@example.jp\r\nContent-Type: text/plain; charset={label}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        )
        .into_bytes();
        raw.extend_from_slice(&bytes.replace_lf());
        let sanitized = sanitize(&raw, &policy()).unwrap();
        let expected = if unmappable { None } else { Some(text) };
        if let Some(expected) = expected {
            assert_eq!(text_of(&sanitized.message), expected, "{label}");
        }
        assert!(
            sanitized.report.notes.is_empty(),
            "{label}: {:?}",
            sanitized.report.notes
        );
    }
}

trait ReplaceLf {
    fn replace_lf(&self) -> Vec<u8>;
}

impl ReplaceLf for [u8] {
    fn replace_lf(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len() + 8);
        for &byte in self {
            if byte == b'\n' {
                out.push(b'\r');
            }
            out.push(byte);
        }
        out
    }
}

fn mail(top: &str, parts: &str) -> Vec<u8> {
    format!(
        "From: sender@example.jp\r\nTo: yamada@city.example.lg.jp\r\nSubject: test\r\nMIME-Version: 1.0\r\n{top}\r\n\r\n{parts}"
    )
    .into_bytes()
}

fn run(raw: &[u8]) -> mamori_sanitize::Sanitized {
    let sanitized = sanitize(raw, &policy()).unwrap();
    common::assert_well_formed(&sanitized.message);
    common::assert_nothing_removed_leaks(&sanitized);
    sanitized
}

#[test]
fn forwarded_message_and_calendar_are_quarantined_whole() {
    let raw = mail(
        "Content-Type: multipart/mixed; boundary=b",
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n転送します。\r\n\
         --b\r\nContent-Type: text/calendar; method=REQUEST; charset=utf-8\r\n\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n\
         --b\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@example.jp\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n\
         --c\r\nContent-Type: text/plain\r\n\r\nINNER-TEXT\r\n--c\r\nContent-Type: application/octet-stream\r\n\r\nMZ INNER-EXE\r\n--c--\r\n\
         --b--\r\n",
    );
    let sanitized = run(&raw);
    assert_eq!(text_of(&sanitized.message), "転送します。");
    let types: Vec<&str> = sanitized
        .removed
        .iter()
        .map(|p| p.declared_type.as_str())
        .collect();
    assert_eq!(types, ["text/calendar", "message/rfc822"]);
    assert!(sanitized.removed.iter().all(|p| p.inline));
    let body = body_of(&sanitized.message);
    assert!(!body.contains("INNER"));
    assert!(!sanitized.report.is_hostile());
}

#[test]
fn polyglot_text_part_is_type_confusion() {
    let raw = mail(
        "Content-Type: text/plain; charset=us-ascii",
        "Dear customer, see below.\r\n%PDF-1.4\r\n1 0 obj <</OpenAction 2 0 R>> endobj\r\n",
    );
    let sanitized = run(&raw);
    assert!(
        sanitized
            .report
            .hostile
            .iter()
            .any(|h| h.contains("its bytes are pdf"))
    );
    assert_eq!(sanitized.removed.len(), 1);
    assert_eq!(sanitized.removed[0].sniffed_type, "pdf");
    assert!(!body_of(&sanitized.message).contains("OpenAction"));
}

#[test]
fn duplicate_from_is_hostile_and_only_the_first_is_kept() {
    let raw = b"From: a@example.jp\r\nFrom: boss@city.example.lg.jp\r\nSubject: x\r\n\r\nhello\r\n";
    let sanitized = run(raw);
    assert!(
        sanitized
            .report
            .hostile
            .iter()
            .any(|h| h.contains("duplicate From"))
    );
    assert_eq!(
        header_of(&sanitized.message, "From").unwrap(),
        "a@example.jp"
    );
    assert!(!contains(&sanitized.message, b"boss@"));
}

#[test]
fn nested_part_reusing_the_parent_boundary_is_hostile() {
    let raw = mail(
        "Content-Type: multipart/mixed; boundary=same",
        "--same\r\nContent-Type: multipart/alternative; boundary=same\r\n\r\n--same\r\n\r\nhidden\r\n--same--\r\n--same--\r\n",
    );
    let sanitized = run(&raw);
    assert!(sanitized.report.is_hostile(), "{:?}", sanitized.report);
    assert!(!body_of(&sanitized.message).contains("hidden"));
}

#[test]
fn uuencoded_executable_in_the_body_is_cut_out_and_quarantined() {
    let raw = mail(
        "Content-Type: text/plain; charset=us-ascii",
        "See the tool.\r\nbegin 755 tool.exe\r\nM35J0``,````$````__\\``+@`````````0```````````````````````````\r\n`\r\nend\r\nThanks.\r\n",
    );
    let sanitized = run(&raw);
    assert_eq!(
        text_of(&sanitized.message),
        "See the tool.\n[埋め込みファイル削除 / embedded file removed: 1]\nThanks."
    );
    assert_eq!(sanitized.removed.len(), 1);
    assert_eq!(sanitized.removed[0].declared_type, "text/x-uuencode");
    assert_eq!(sanitized.removed[0].file_name.as_deref(), Some("tool.exe"));
    assert!(!contains(&sanitized.message, b"M35J0"));
}

#[test]
fn compressed_archives_are_never_expanded() {
    // A zip-bomb-like payload: the engine hashes and quarantines the bytes as they are.
    let mut zip = b"PK\x03\x04\x14\x00\x08\x00\x08\x00bomb.txt".to_vec();
    zip.extend(std::iter::repeat_n(0u8, 4096));
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &zip);
    let raw = mail(
        "Content-Type: multipart/mixed; boundary=b",
        &format!(
            "--b\r\n\r\nzip\r\n--b\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=bomb.zip\r\n\r\n{encoded}\r\n--b--\r\n"
        ),
    );
    let sanitized = run(&raw);
    assert_eq!(sanitized.removed.len(), 1);
    assert_eq!(sanitized.removed[0].size, zip.len());
    assert_eq!(sanitized.removed[0].sha256, sha256(&zip));
    assert_eq!(sanitized.removed[0].sniffed_type, "zip");
}

#[test]
fn encoded_word_in_a_boundary_is_not_decoded() {
    // A reader that decoded `=?UTF-8?B?YQ==?=` would split on `--a` and see the executable as a part.
    let raw = mail(
        "Content-Type: multipart/mixed; boundary=\"=?UTF-8?B?YQ==?=\"",
        "--=?UTF-8?B?YQ==?=\r\n\r\nvisible\r\n--a\r\nContent-Type: application/octet-stream\r\n\r\nMZ\r\n--=?UTF-8?B?YQ==?=--\r\n",
    );
    let sanitized = run(&raw);
    assert_eq!(sanitized.removed.len(), 0);
    assert!(text_of(&sanitized.message).starts_with("visible\n--a"));
}

#[test]
fn huge_folded_header_is_refused() {
    let mut raw = b"Subject: x\r\n".to_vec();
    raw.extend(" y\r\n".repeat(100_000).as_bytes());
    raw.extend(b"\r\nbody");
    let error = sanitize(&raw, &policy()).unwrap_err();
    assert!(
        matches!(error, Refused::HeaderBlockTooLarge { .. }),
        "{error}"
    );
}

#[test]
fn shift_jis_labelled_us_ascii_or_unlabelled_is_still_read() {
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode("住民票の写しについて");
    for content_type in ["text/plain; charset=us-ascii", "text/plain"] {
        let mut raw =
            format!("From: a@example.jp\r\nContent-Type: {content_type}\r\n\r\n").into_bytes();
        raw.extend_from_slice(&bytes);
        let sanitized = run(&raw);
        assert_eq!(
            text_of(&sanitized.message),
            "住民票の写しについて",
            "{content_type}"
        );
        assert!(
            sanitized
                .report
                .notes
                .iter()
                .any(|n| n.contains("charset guessed"))
        );
    }
}

/// Mail in the shapes real mailers produce is not judged hostile, and its text arrives intact.
#[test]
fn benign_mailer_shapes_are_not_hostile() {
    let cases: [(&str, &str, usize); 3] = [
        (
            "benign_gmail.eml",
            "お世話になっております。\n名簿を送ります。ご確認ください。\n\n山田",
            2,
        ),
        (
            "benign_thunderbird.eml",
            "山田様 お疲れさまです。会議の議事録を 添付します。\n\n--\n佐藤",
            1,
        ),
        (
            "benign_digest.eml",
            "Today's Topics:\n\n   1. Meeting (Yamada)\n   2. Re: Meeting (Sato)",
            3,
        ),
    ];
    for (name, text, removed) in cases {
        let sanitized = sanitize_fixture(name);
        assert!(
            !sanitized.report.is_hostile(),
            "{name}: {:?}",
            sanitized.report.hostile
        );
        assert_eq!(text_of(&sanitized.message), text, "{name}");
        assert_eq!(sanitized.removed.len(), removed, "{name}");
    }
    let gmail = sanitize_fixture("benign_gmail.eml");
    assert_eq!(gmail.removed[1].file_name.as_deref(), Some("名簿.xlsx"));
    assert_eq!(gmail.removed[1].sniffed_type, "xlsx");
    assert_eq!(
        header_of(&gmail.message, "To").unwrap(),
        "山田 花子 <hanako@city.example.lg.jp>"
    );
    let thunderbird = sanitize_fixture("benign_thunderbird.eml");
    assert_eq!(
        thunderbird.removed[0].file_name.as_deref(),
        Some("議事録.csv")
    );
    let digest = sanitize_fixture("benign_digest.eml");
    let types: Vec<&str> = digest
        .removed
        .iter()
        .map(|p| p.declared_type.as_str())
        .collect();
    assert_eq!(types, ["message/rfc822", "message/rfc822", "text/plain"]);
}
