//! [`Refused`]: a message the engine will not sanitise at all.

/// The language of a message for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// 日本語
    Ja,
    /// English
    En,
}

/// A message over a limit of [`crate::Limits`] or not a message at all. `part` is the position of the
/// entity in the MIME tree, IMAP style: `""` is the message itself, `"2.1"` the first part of its second part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The raw message is larger than `max_total_size`.
    #[error("message of {size} bytes is over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// A physical header line is longer than `max_header_line`.
    #[error(
        "header line {line} of part {part:?} is {length} bytes long, over the limit of {limit}"
    )]
    HeaderLineTooLong {
        part: String,
        line: usize,
        length: usize,
        limit: usize,
    },
    /// An entity has more than `max_header_count` header fields.
    #[error("part {part:?} has more than {limit} header fields")]
    TooManyHeaders { part: String, limit: usize },
    /// The header block of an entity is larger than `max_header_block`.
    #[error("header block of part {part:?} is over the limit of {limit} bytes")]
    HeaderBlockTooLarge { part: String, limit: usize },
    /// Multiparts nest deeper than `max_depth`.
    #[error("part {part:?} is nested deeper than {limit} levels")]
    TooDeep { part: String, limit: usize },
    /// More than `max_parts` entities.
    #[error("message has more than {limit} MIME parts (at part {part:?})")]
    TooManyParts { part: String, limit: usize },
    /// The decoded parts together are larger than `max_decoded_size`.
    #[error("decoded parts are over the limit of {limit} bytes (at part {part:?})")]
    DecodedTooLarge { part: String, limit: usize },
    /// No header block: the bytes are not an RFC 5322 message.
    #[error("not a mail message: {reason}")]
    NotAMessage { reason: String },
}

impl Refused {
    /// The refusal for people, in `lang`: which limit, and where.
    pub fn message(&self, lang: Lang) -> String {
        match lang {
            Lang::En => self.to_string(),
            Lang::Ja => self.message_ja(),
        }
    }

    fn message_ja(&self) -> String {
        match self {
            Self::TooLarge { size, limit } => {
                format!("メールの大きさ {size} バイトが上限 {limit} バイトを超えています")
            }
            Self::HeaderLineTooLong {
                part,
                line,
                length,
                limit,
            } => format!(
                "パート「{}」のヘッダー {line} 行目が {length} バイトで、上限 {limit} バイトを超えています",
                part_ja(part)
            ),
            Self::TooManyHeaders { part, limit } => format!(
                "パート「{}」のヘッダー項目数が上限 {limit} を超えています",
                part_ja(part)
            ),
            Self::HeaderBlockTooLarge { part, limit } => format!(
                "パート「{}」のヘッダーが上限 {limit} バイトを超えています",
                part_ja(part)
            ),
            Self::TooDeep { part, limit } => format!(
                "パート「{}」の入れ子の深さが上限 {limit} を超えています",
                part_ja(part)
            ),
            Self::TooManyParts { part, limit } => format!(
                "MIME パートの数が上限 {limit} を超えています（パート「{}」）",
                part_ja(part)
            ),
            Self::DecodedTooLarge { part, limit } => format!(
                "デコード後の大きさが上限 {limit} バイトを超えています（パート「{}」）",
                part_ja(part)
            ),
            Self::NotAMessage { reason } => format!("メールとして読み取れません: {reason}"),
        }
    }
}

fn part_ja(part: &str) -> &str {
    if part.is_empty() { "本体" } else { part }
}
