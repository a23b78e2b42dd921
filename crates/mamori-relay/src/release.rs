//! Releasing a removed part: its class (by the sniffed type), the release policy per class
//! (`--release-policy`), the conversion to text, and the new message that carries the converted text.
//!
//! Only text comes out of the quarantine. A text-like part (decided by what the bytes are, never by the
//! declared type or the file name) is decoded — UTF-8, Shift_JIS/CP932, EUC-JP or ISO-2022-JP — cleaned of
//! control, bidirectional and invisible characters, and its links are defanged; HTML is converted to text
//! first. Images, PDF, Office documents and archives have no converter yet and stay in the quarantine;
//! executables and scripts never leave it.

use std::path::Path;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use mamori_sanitize::{charset, compose, html, link, text};
use serde::{Deserialize, Serialize};

use crate::db::{Held, HeldPart};
use crate::spool::SpoolId;

/// What a removed part is, for the release policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Text,
    Html,
    Image,
    Pdf,
    Office,
    Archive,
    Executable,
    /// Anything else (unknown bytes, TNEF …).
    Other,
}

/// Extensions and declared types of scripts: text by their bytes, executable by what a client does with
/// them.
const SCRIPT_EXTENSIONS: [&str; 22] = [
    "bat", "cmd", "com", "cpl", "exe", "dll", "scr", "pif", "msi", "js", "jse", "vbs", "vbe",
    "wsf", "wsh", "hta", "ps1", "psm1", "sh", "lnk", "reg", "jar",
];
const SCRIPT_TYPES: [&str; 10] = [
    "application/javascript",
    "text/javascript",
    "application/x-javascript",
    "application/x-sh",
    "application/x-shellscript",
    "text/x-shellscript",
    "application/x-msdownload",
    "application/x-bat",
    "text/vbscript",
    "application/hta",
];

impl Class {
    /// The class of a part from its metadata: the sniffed type decides; a script (by its declared type or
    /// file name extension) is an executable whatever its bytes look like.
    pub fn of(sniffed_type: &str, declared_type: &str, file_name: Option<&str>) -> Self {
        let declared = declared_type.trim().to_ascii_lowercase();
        let extension = file_name
            .and_then(|name| name.trim().trim_end_matches('.').rsplit_once('.'))
            .map(|(_, ext)| ext.to_ascii_lowercase());
        let script = SCRIPT_TYPES.contains(&declared.as_str())
            || extension
                .as_deref()
                .is_some_and(|ext| SCRIPT_EXTENSIONS.contains(&ext));
        match sniffed_type {
            "exe" | "elf" => Self::Executable,
            _ if script => Self::Executable,
            "text" if declared == "text/html" => Self::Html,
            "text" => Self::Text,
            "html" => Self::Html,
            "png" | "jpeg" | "gif" => Self::Image,
            "pdf" => Self::Pdf,
            "docx" | "xlsx" | "pptx" | "ole2" | "rtf" => Self::Office,
            "zip" | "rar" | "7z" | "gzip" => Self::Archive,
            _ => Self::Other,
        }
    }

    /// The class of a part from its bytes as well: a text starting with `#!` is a script.
    pub fn of_content(part: &HeldPart, content: &[u8]) -> Self {
        let sniffed = mamori_sanitize::sniff(content);
        let class = Self::of(sniffed, &part.declared_type, part.file_name.as_deref());
        if content.starts_with(b"#!") {
            Self::Executable
        } else {
            class
        }
    }

    /// Whether a converter exists for the class.
    pub fn convertible(self) -> bool {
        matches!(self, Self::Text | Self::Html)
    }
}

/// How a class may be released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The recipient asks, and gets it (the LGWAN side records who asked).
    OnRequest,
    /// Released once an administrator approved (the LGWAN side decides and passes `approved_by`).
    OnApproval,
    /// Never released.
    Never,
    /// No converter exists for the class: it stays in the quarantine.
    NotConvertible,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnRequest => "on_request",
            Self::OnApproval => "on_approval",
            Self::Never => "never",
            Self::NotConvertible => "not_convertible",
        }
    }
}

/// The release rule of every class (`--release-policy FILE`, section `[classes]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasePolicy {
    pub text: Rule,
    pub html: Rule,
    pub image: Rule,
    pub pdf: Rule,
    pub office: Rule,
    pub archive: Rule,
    pub other: Rule,
}

impl Default for ReleasePolicy {
    /// Text and HTML on approval; everything else not convertible (until a converter exists); executables
    /// never.
    fn default() -> Self {
        Self {
            text: Rule::OnApproval,
            html: Rule::OnApproval,
            image: Rule::NotConvertible,
            pdf: Rule::NotConvertible,
            office: Rule::NotConvertible,
            archive: Rule::NotConvertible,
            other: Rule::NotConvertible,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    classes: ClassesFile,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ClassesFile {
    text: Option<Rule>,
    html: Option<Rule>,
    image: Option<Rule>,
    pdf: Option<Rule>,
    office: Option<Rule>,
    archive: Option<Rule>,
    other: Option<Rule>,
    executable: Option<Rule>,
}

impl ReleasePolicy {
    /// Reads a policy file; classes it does not name keep their default.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the release policy {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("release policy {}", path.display()))
    }

    /// Parses a policy (TOML). A class without a converter may only be `never` or `not_convertible`, and
    /// executables only `never`.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let file: PolicyFile = toml::from_str(text)?;
        let c = file.classes;
        if let Some(rule) = c.executable
            && rule != Rule::Never
        {
            bail!("executables are never released; `executable` may only be \"never\"");
        }
        let mut policy = Self::default();
        for (name, slot, given, convertible) in [
            ("text", &mut policy.text, c.text, true),
            ("html", &mut policy.html, c.html, true),
            ("image", &mut policy.image, c.image, false),
            ("pdf", &mut policy.pdf, c.pdf, false),
            ("office", &mut policy.office, c.office, false),
            ("archive", &mut policy.archive, c.archive, false),
            ("other", &mut policy.other, c.other, false),
        ] {
            let Some(rule) = given else { continue };
            match (convertible, rule) {
                (true, Rule::NotConvertible) => {
                    bail!("`{name}` has a converter: use \"never\" to keep it in the quarantine")
                }
                (false, Rule::OnRequest | Rule::OnApproval) => bail!(
                    "`{name}` has no converter yet: it may only be \"not_convertible\" or \"never\""
                ),
                _ => *slot = rule,
            }
        }
        Ok(policy)
    }

    /// The rule for a class.
    pub fn rule(&self, class: Class) -> Rule {
        match class {
            Class::Text => self.text,
            Class::Html => self.html,
            Class::Image => self.image,
            Class::Pdf => self.pdf,
            Class::Office => self.office,
            Class::Archive => self.archive,
            Class::Other => self.other,
            Class::Executable => Rule::Never,
        }
    }
}

/// A part converted to text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    pub text: String,
    /// How: e.g. `text (shift_jis) → UTF-8, links defanged`.
    pub how: String,
}

/// Converts a text-like part (`Text` or `Html`) to clean UTF-8 text with its links defanged.
pub fn convert(class: Class, content: &[u8]) -> Option<Converted> {
    let (decoded, charset) = charset::decode_guess(content);
    let (plain, what) = match class {
        Class::Text => (decoded, "text"),
        Class::Html => (html::to_text(&decoded).text, "HTML"),
        _ => return None,
    };
    let cleaned = clean(&plain);
    let defanged = link::defang(&cleaned);
    let links = if defanged.changed {
        ", links defanged / リンク無効化"
    } else {
        ""
    };
    Some(Converted {
        text: defanged.text,
        how: format!("{what} ({charset}) → UTF-8 text{links}"),
    })
}

/// Keeps the text as it is (blank lines and trailing blanks included: a CSV stays the same CSV) except: line
/// ends become `\n`, control characters other than tab go, bidirectional and invisible characters go.
fn clean(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    text.chars()
        .filter(|&c| {
            c == '\n'
                || c == '\t'
                || !(c.is_control() || text::is_bidi_control(c) || text::is_invisible(c))
        })
        .collect()
}

/// Everything the released message says about where its text came from.
pub struct Origin<'a> {
    pub held: &'a Held,
    pub part: &'a HeldPart,
    pub recipient: &'a str,
    pub approved_by: &'a str,
    pub reason: &'a str,
}

/// The message carrying a released part: from the relay's own address to the recipient, one text/plain UTF-8
/// body (base64) with a short header in Japanese and English and then the converted text.
pub fn compose_message(
    origin: &Origin<'_>,
    converted: &Converted,
    from_address: &str,
    hostname: &str,
    new_id: &SpoolId,
    now: DateTime<Utc>,
) -> Vec<u8> {
    let held = origin.held;
    let part = origin.part;
    let line = |value: &str| text::clean_line(value).0;
    let file_name = line(part.file_name.as_deref().unwrap_or("(名前なし / unnamed)"));
    let original_subject = line(held.subject.as_deref().unwrap_or_default());
    let sender = line(held.header_from.as_deref().unwrap_or(&held.mail_from));
    let subject = format!("【無害化済み】{original_subject} — {file_name}");
    let body = format!(
        "隔離された添付ファイルを無害化（テキスト化）してお届けします。元のファイルは届きません。\n\
         A quarantined attachment, sanitised (converted to text). The original file is not delivered.\n\
         \n\
         差出人 / original sender: {sender}\n\
         受信日時 / received: {received}\n\
         件名 / subject: {original_subject}\n\
         ファイル名 / file name: {file_name}\n\
         原本の SHA-256 / SHA-256 of the original: {sha256}\n\
         承認者 / approved by: {approved_by}\n\
         理由 / reason: {reason}\n\
         変換 / conversion: {how}\n\
         原本 / original: {id} part {index}\n\
         \n\
         ----------------------------------------------------------------------\n\
         {text}",
        received = held.received_at.to_rfc3339(),
        sha256 = part.sha256,
        approved_by = line(origin.approved_by),
        reason = line(origin.reason),
        how = converted.how,
        id = held.id,
        index = part.index,
        text = converted.text,
    );
    let mut out = String::new();
    out.push_str(&format!(
        "From: Mamori relay <{from_address}>\r\nTo: <{}>\r\n",
        origin.recipient
    ));
    out.push_str(&compose::fold("Subject", &compose::text_tokens(&subject)));
    out.push_str(&format!(
        "Date: {}\r\nMessage-ID: <release.{new_id}@{hostname}>\r\nAuto-Submitted: auto-generated\r\n\
         X-Mamori-Released-From: {} part {}\r\n",
        now.to_rfc2822(),
        held.id,
        part.index,
    ));
    out.push_str(&compose::body(&body.replace('\n', "\r\n")));
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_sniffed_type_decides_and_scripts_are_executables() {
        assert_eq!(
            Class::of("text", "application/pdf", Some("a.pdf")),
            Class::Text
        );
        assert_eq!(
            Class::of("exe", "text/csv", Some("a.csv")),
            Class::Executable
        );
        assert_eq!(
            Class::of("text", "text/plain", Some("run.vbs")),
            Class::Executable
        );
        assert_eq!(Class::of("pdf", "text/csv", Some("a.csv")), Class::Pdf);
        assert_eq!(Class::of("html", "text/plain", None), Class::Html);
        assert_eq!(
            Class::of("xlsx", "application/octet-stream", None),
            Class::Office
        );
    }

    #[test]
    fn the_policy_file_is_checked() {
        let policy = ReleasePolicy::parse("[classes]\ntext = \"on_request\"\n").unwrap();
        assert_eq!(policy.rule(Class::Text), Rule::OnRequest);
        assert_eq!(policy.rule(Class::Html), Rule::OnApproval);
        assert_eq!(policy.rule(Class::Pdf), Rule::NotConvertible);
        assert!(ReleasePolicy::parse("[classes]\nexecutable = \"on_request\"\n").is_err());
        assert!(ReleasePolicy::parse("[classes]\npdf = \"on_approval\"\n").is_err());
        assert!(ReleasePolicy::parse("[classes]\nvideo = \"never\"\n").is_err());
        assert_eq!(
            ReleasePolicy::parse("[classes]\nhtml = \"never\"\n")
                .unwrap()
                .rule(Class::Html),
            Rule::Never
        );
    }

    #[test]
    fn shift_jis_text_is_decoded_and_links_defanged() {
        let (bytes, _, _) =
            encoding_rs::SHIFT_JIS.encode("品名,数量\r\n髙橋㈱,3\r\nhttps://example.jp/a\r\n");
        let converted = convert(Class::Text, &bytes).unwrap();
        assert_eq!(
            converted.text,
            "品名,数量\n髙橋㈱,3\nhxxps://example[.]jp/a\n"
        );
        assert!(converted.how.contains("Shift_JIS"), "{}", converted.how);
    }

    #[test]
    fn html_becomes_text_without_script_and_with_links_defanged() {
        let html = "<html><head><script>alert(1)</script></head><body><p>見積</p>\
                    <a href=\"https://evil.example/x\">here</a></body></html>";
        let converted = convert(Class::Html, html.as_bytes()).unwrap();
        assert!(converted.text.contains("見積"), "{}", converted.text);
        assert!(!converted.text.contains("alert"), "{}", converted.text);
        assert!(!converted.text.contains("https://"), "{}", converted.text);
        assert!(convert(Class::Pdf, b"%PDF-1.7").is_none());
    }
}
