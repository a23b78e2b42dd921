//! Releasing a removed part: its class (by the sniffed type), the release policy per class
//! (`--release-policy`), the conversion, and the new message that carries the converted form.
//!
//! Only converted forms come out of the quarantine, never the original bytes. A text-like part (decided by
//! what the bytes are, never by the declared type or the file name) is decoded — UTF-8, Shift_JIS/CP932,
//! EUC-JP or ISO-2022-JP — cleaned of control, bidirectional and invisible characters, and its links are
//! defanged; HTML is converted to text first. An image (PNG, JPEG, GIF) is decoded within limits and its
//! pixels written as a new PNG without any metadata ([`crate::reencode`]). PDF, Office documents and
//! archives have no converter yet and stay in the quarantine; executables and scripts never leave it.

use std::path::Path;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use mamori_sanitize::{charset, compose, html, link, text};
use serde::{Deserialize, Serialize};

use crate::db::{Held, HeldPart};
use crate::reencode::{self, ImageLimits, ImageRefused, Png};
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
        matches!(self, Self::Text | Self::Html | Self::Image)
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
    /// Text, HTML and images on approval; everything else not convertible (until a converter exists);
    /// executables never.
    fn default() -> Self {
        Self {
            text: Rule::OnApproval,
            html: Rule::OnApproval,
            image: Rule::OnApproval,
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
        for (name, class, slot, given) in [
            ("text", Class::Text, &mut policy.text, c.text),
            ("html", Class::Html, &mut policy.html, c.html),
            ("image", Class::Image, &mut policy.image, c.image),
            ("pdf", Class::Pdf, &mut policy.pdf, c.pdf),
            ("office", Class::Office, &mut policy.office, c.office),
            ("archive", Class::Archive, &mut policy.archive, c.archive),
            ("other", Class::Other, &mut policy.other, c.other),
        ] {
            let Some(rule) = given else { continue };
            match (class.convertible(), rule) {
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

/// A part in its converted form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Converted {
    /// Clean UTF-8 text; `how` e.g. `text (shift_jis) → UTF-8, links defanged`.
    Text { text: String, how: String },
    /// The pixels of an image as a new PNG.
    Image(Png),
}

impl Converted {
    /// How the part was converted, for the released message.
    pub fn how(&self) -> String {
        match self {
            Self::Text { how, .. } => how.clone(),
            Self::Image(png) => format!(
                "{} {}×{} → PNG, pixels only, metadata removed / 画素のみ PNG に再変換（メタデータ削除）",
                png.source, png.width, png.height
            ),
        }
    }
}

/// Why a part was not converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotConverted {
    /// No converter exists for the class.
    NoConverter,
    /// The image does not decode or is over a limit.
    Image(ImageRefused),
}

/// Converts a part of a class that has a converter: text and HTML to clean UTF-8 text with its links
/// defanged, an image to a new PNG within `limits`.
pub fn convert(
    class: Class,
    content: &[u8],
    limits: &ImageLimits,
) -> Result<Converted, NotConverted> {
    match class {
        Class::Text | Class::Html => Ok(convert_text(class, content)),
        Class::Image => reencode::to_png(content, mamori_sanitize::sniff(content), limits)
            .map(Converted::Image)
            .map_err(NotConverted::Image),
        _ => Err(NotConverted::NoConverter),
    }
}

fn convert_text(class: Class, content: &[u8]) -> Converted {
    let (decoded, charset) = charset::decode_guess(content);
    let (plain, what) = if class == Class::Html {
        (html::to_text(&decoded).text, "HTML")
    } else {
        (decoded, "text")
    };
    let cleaned = clean(&plain);
    let defanged = link::defang(&cleaned);
    let links = if defanged.changed {
        ", links defanged / リンク無効化"
    } else {
        ""
    };
    Converted::Text {
        text: defanged.text,
        how: format!("{what} ({charset}) → UTF-8 text{links}"),
    }
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

/// Everything the released message says about where its content came from.
pub struct Origin<'a> {
    pub held: &'a Held,
    pub part: &'a HeldPart,
    pub recipient: &'a str,
    pub approved_by: &'a str,
    pub reason: &'a str,
}

/// The message carrying a released part, from the relay's own address to the recipient. A text part: one
/// text/plain UTF-8 body (base64) with a short header in Japanese and English and then the converted text.
/// An image: multipart/mixed with that header as the text/plain part and the new PNG as an attachment named
/// after the original (`.png`).
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
    let intro = match converted {
        Converted::Text { .. } => "隔離された添付ファイルを無害化（テキスト化）してお届けします。元のファイルは届きません。\n\
             A quarantined attachment, sanitised (converted to text). The original file is not delivered.\n"
            .to_owned(),
        Converted::Image(_) => format!(
            "メッセージ {id} の添付ファイル「{file_name}」を無害化した画像です（画素だけを PNG に再変換し、\
             メタデータは削除しました）。元のファイルは届きません。\n\
             A converted image of the part \"{file_name}\" from message {id}: its pixels re-encoded as a new \
             PNG, without metadata. The original file is not delivered.\n",
            id = held.id,
        ),
    };
    let summary = format!(
        "{intro}\
         \n\
         差出人 / original sender: {sender}\n\
         受信日時 / received: {received}\n\
         件名 / subject: {original_subject}\n\
         ファイル名 / file name: {file_name}\n\
         原本の SHA-256 / SHA-256 of the original: {sha256}\n\
         承認者 / approved by: {approved_by}\n\
         理由 / reason: {reason}\n\
         変換 / conversion: {how}\n\
         原本 / original: {id} part {index}\n",
        received = held.received_at.to_rfc3339(),
        sha256 = part.sha256,
        approved_by = line(origin.approved_by),
        reason = line(origin.reason),
        how = converted.how(),
        id = held.id,
        index = part.index,
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
    match converted {
        Converted::Text { text, .. } => {
            let body = format!(
                "{summary}\n\
                 ----------------------------------------------------------------------\n\
                 {text}"
            );
            out.push_str(&compose::body(&body.replace('\n', "\r\n")));
        }
        Converted::Image(png) => {
            let name = png_file_name(part.file_name.as_deref());
            out.push_str(&with_image(
                &summary.replace('\n', "\r\n"),
                png,
                &name,
                new_id,
            ));
        }
    }
    out.into_bytes()
}

/// A multipart/mixed body: the text, then the PNG as an attachment. Neither part's base64 can contain the
/// boundary (it has a `.` and `-`, which base64 has not).
fn with_image(text: &str, png: &Png, name: &str, new_id: &SpoolId) -> String {
    let boundary = format!("mamori-release.{new_id}");
    let mut out = format!(
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    );
    out.push_str(&compose::base64_lines(text.as_bytes()));
    out.push_str(&format!("--{boundary}\r\n"));
    let mut content_type = vec!["image/png;".to_owned()];
    content_type.extend(file_name_param("name", name));
    out.push_str(&compose::fold("Content-Type", &content_type));
    let mut disposition = vec!["attachment;".to_owned()];
    disposition.extend(file_name_param("filename", name));
    out.push_str(&compose::fold("Content-Disposition", &disposition));
    out.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
    out.push_str(&compose::base64_lines(&png.bytes));
    out.push_str(&format!("--{boundary}--\r\n"));
    out
}

/// The released image's file name: the original's without its extension, plus `.png`; only characters
/// that are safe in a file name on any system.
pub fn png_file_name(original: Option<&str>) -> String {
    let cleaned: String = text::clean_line(original.unwrap_or_default())
        .0
        .chars()
        .filter(|c| {
            !matches!(
                c,
                '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' | ';'
            )
        })
        .collect();
    let cleaned = cleaned.trim().trim_matches('.');
    let stem = match cleaned.rsplit_once('.') {
        Some((stem, _)) if !stem.trim().is_empty() => stem.trim(),
        _ => cleaned,
    };
    let stem: String = stem.chars().take(100).collect();
    if stem.is_empty() {
        "image.png".to_owned()
    } else {
        format!("{stem}.png")
    }
}

/// Header tokens for a file name parameter: `param="name"` when the name is ASCII, RFC 2231 otherwise
/// (`param*=UTF-8''…`, in numbered sections when long).
fn file_name_param(param: &str, name: &str) -> Vec<String> {
    if name.is_ascii() {
        return vec![format!("{param}=\"{name}\"")];
    }
    let mut encoded = Vec::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte).to_string());
        } else {
            encoded.push(format!("%{byte:02X}"));
        }
    }
    let mut sections: Vec<String> = vec![String::new()];
    for piece in encoded {
        if sections.last().is_some_and(|s| s.len() + piece.len() > 45) {
            sections.push(String::new());
        }
        if let Some(last) = sections.last_mut() {
            last.push_str(&piece);
        }
    }
    if sections.len() == 1 {
        return vec![format!("{param}*=UTF-8''{}", sections[0])];
    }
    let count = sections.len();
    sections
        .into_iter()
        .enumerate()
        .map(|(index, section)| {
            let charset = if index == 0 { "UTF-8''" } else { "" };
            let separator = if index + 1 < count { ";" } else { "" };
            format!("{param}*{index}*={charset}{section}{separator}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
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
        let converted = convert(Class::Text, &bytes, &ImageLimits::default()).unwrap();
        let Converted::Text { text, how } = converted else {
            panic!("text expected")
        };
        assert_eq!(text, "品名,数量\n髙橋㈱,3\nhxxps://example[.]jp/a\n");
        assert!(how.contains("Shift_JIS"), "{how}");
    }

    #[test]
    fn html_becomes_text_without_script_and_with_links_defanged() {
        let html = "<html><head><script>alert(1)</script></head><body><p>見積</p>\
                    <a href=\"https://evil.example/x\">here</a></body></html>";
        let limits = ImageLimits::default();
        let Ok(Converted::Text { text, .. }) = convert(Class::Html, html.as_bytes(), &limits)
        else {
            panic!("text expected")
        };
        assert!(text.contains("見積"), "{text}");
        assert!(!text.contains("alert"), "{text}");
        assert!(!text.contains("https://"), "{text}");
        assert_eq!(
            convert(Class::Pdf, b"%PDF-1.7", &limits),
            Err(NotConverted::NoConverter)
        );
    }

    #[test]
    fn images_are_released_on_approval_by_default_and_may_be_refused_by_policy() {
        assert_eq!(
            ReleasePolicy::default().rule(Class::Image),
            Rule::OnApproval
        );
        let policy = ReleasePolicy::parse("[classes]\nimage = \"on_request\"\n").unwrap();
        assert_eq!(policy.rule(Class::Image), Rule::OnRequest);
        let policy = ReleasePolicy::parse("[classes]\nimage = \"never\"\n").unwrap();
        assert_eq!(policy.rule(Class::Image), Rule::Never);
        assert!(ReleasePolicy::parse("[classes]\nimage = \"not_convertible\"\n").is_err());
    }

    #[test]
    fn the_png_is_named_after_the_original_without_its_extension() {
        assert_eq!(png_file_name(Some("写真.JPG")), "写真.png");
        assert_eq!(png_file_name(Some("scan.2026.gif")), "scan.2026.png");
        assert_eq!(png_file_name(Some("../../etc/passwd")), "etcpasswd.png");
        assert_eq!(png_file_name(Some("a\"b;c\r\n.png")), "abc.png");
        assert_eq!(png_file_name(Some(".jpg")), "jpg.png");
        assert_eq!(png_file_name(None), "image.png");
    }

    #[test]
    fn a_non_ascii_file_name_is_encoded_per_rfc_2231_in_sections_when_long() {
        assert_eq!(
            file_name_param("filename", "a b.png"),
            ["filename=\"a b.png\""]
        );
        assert_eq!(
            file_name_param("filename", "写真.png"),
            ["filename*=UTF-8''%E5%86%99%E7%9C%9F.png"]
        );
        let long = file_name_param("filename", "会議資料の写真（第三回）.png");
        assert!(long.len() > 1, "{long:?}");
        assert!(
            long[0].starts_with("filename*0*=UTF-8''%E4%BC%9A"),
            "{long:?}"
        );
        assert!(long[1].starts_with("filename*1*=%"), "{long:?}");
        let tokens = [vec!["attachment;".to_owned()], long].concat();
        let header = compose::fold("Content-Disposition", &tokens).replace("\r\n", "");
        let parsed = mamori_sanitize::params::parse(
            header.trim_start_matches("Content-Disposition:").as_bytes(),
            false,
        )
        .unwrap();
        assert_eq!(
            parsed.param("filename"),
            Some("会議資料の写真（第三回）.png")
        );
    }
}
