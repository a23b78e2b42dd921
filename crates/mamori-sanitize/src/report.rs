//! What the engine did: the [`Report`], its [`Action`]s, and the [`RemovedPart`]s for the quarantine.

use serde::Serialize;

/// One thing done to a message, as stamped in `X-Mamori-Sanitized`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The body is plain text (always).
    Text,
    /// The body was converted from HTML.
    HtmlConverted,
    /// Links were defanged or made inert.
    LinksDefanged,
    /// Script, event handlers or script links were dropped from HTML.
    ActiveContentRemoved,
    /// This many parts were removed and quarantined.
    AttachmentsRemoved(usize),
    /// The MIME structure was ambiguous; see [`Report::hostile`].
    HostileStructure,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text => f.write_str("text"),
            Self::HtmlConverted => f.write_str("html-converted"),
            Self::LinksDefanged => f.write_str("links-defanged"),
            Self::ActiveContentRemoved => f.write_str("active-content-removed"),
            Self::AttachmentsRemoved(count) => write!(f, "attachments-removed={count}"),
            Self::HostileStructure => f.write_str("hostile-structure"),
        }
    }
}

/// Where the rebuilt body came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BodySource {
    /// A `text/plain` part, by its path (`""` for a single-part message).
    Plain(String),
    /// A `text/html` part converted to text.
    Html(String),
    /// No part could be read unambiguously; the body is only the notice.
    None,
}

/// What was done and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub actions: Vec<Action>,
    /// Why the structure was judged ambiguous, one reason per line, each naming the part.
    pub hostile: Vec<String>,
    /// The defanged web links of the body, in order.
    pub links: Vec<String>,
    /// Everything else worth knowing: charset guesses, malformed bytes replaced, invisible or bidi characters
    /// removed, addresses dropped, suspicious display names.
    pub notes: Vec<String>,
    pub body_source: BodySource,
}

impl Report {
    /// The value for `X-Mamori-Sanitized`: the actions joined by `; `.
    pub fn header_value(&self) -> String {
        self.actions
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Whether the message was judged hostile.
    pub fn is_hostile(&self) -> bool {
        !self.hostile.is_empty()
    }
}

/// A part that was not carried over, for the caller to store (encrypted) in the quarantine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemovedPart {
    /// 1-based position among the removed parts, as numbered in the notice.
    pub index: usize,
    /// IMAP-style position in the original MIME tree (`"2.1"`); a multipart's path with `.stray` for bytes
    /// after its closing boundary.
    pub path: String,
    /// The declared `type/subtype`.
    pub declared_type: String,
    /// What the bytes are, by magic numbers ([`crate::sniff()`]).
    pub sniffed_type: String,
    /// The decoded (RFC 2047/2231) file name, with control, bidi and invisible characters removed.
    pub file_name: Option<String>,
    /// Decoded size in bytes.
    pub size: usize,
    /// SHA-256 of the decoded bytes, lower-case hex.
    pub sha256: String,
    /// The decoded bytes.
    #[serde(skip)]
    pub content: Vec<u8>,
    /// Not marked `attachment` (an inline image, the other alternative, a calendar invitation …).
    pub inline: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_value_joins_the_actions() {
        let report = Report {
            actions: vec![
                Action::Text,
                Action::LinksDefanged,
                Action::AttachmentsRemoved(2),
            ],
            hostile: Vec::new(),
            links: Vec::new(),
            notes: Vec::new(),
            body_source: BodySource::None,
        };
        assert_eq!(
            report.header_value(),
            "text; links-defanged; attachments-removed=2"
        );
    }
}
