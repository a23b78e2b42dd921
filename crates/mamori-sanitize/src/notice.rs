//! The notice at the end of every rebuilt body: Japanese first, English below.

use crate::link::defang;
use crate::report::RemovedPart;

/// What the notice needs to say.
pub struct Notice<'a> {
    pub removed: &'a [RemovedPart],
    pub hostile: bool,
    pub contact: &'a str,
}

fn grouped(size: usize) -> String {
    let digits = size.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A file name for the notice: already cleaned, and defanged so that `https://x.example.pdf` is no link.
fn display_name(part: &RemovedPart, unnamed: &str) -> String {
    match &part.file_name {
        Some(name) => defang(name).text,
        None => unnamed.to_owned(),
    }
}

impl Notice<'_> {
    /// The notice text, lines separated by `\n`.
    pub fn render(&self) -> String {
        let mut ja = vec![
            "━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━".to_owned(),
            "【無害化のお知らせ】".to_owned(),
            "このメールは受信時に無害化されました。本文はテキストに変換され、リンクは無効化されています。".to_owned(),
        ];
        let mut en = vec![
            String::new(),
            "[Sanitisation notice]".to_owned(),
            "This message was sanitised on arrival: the body was converted to text and links were disabled.".to_owned(),
        ];
        if self.hostile {
            ja.push(
                "構造（MIME またはヘッダー）があいまいなため、不審なメールとして扱いました。安全に読み取れた本文のみを表示し、すべてのパートを隔離しました。"
                    .to_owned(),
            );
            en.push(
                "Its structure (MIME or header fields) was ambiguous, so it was treated as hostile: only text that could be read unambiguously is shown and every part was quarantined."
                    .to_owned(),
            );
        }
        if self.removed.is_empty() {
            ja.push("削除された添付ファイルはありません。".to_owned());
            en.push("No attachments were removed.".to_owned());
        } else {
            ja.push("次の添付ファイル等を削除し、隔離しました:".to_owned());
            en.push("These attachments and parts were removed and quarantined:".to_owned());
            for part in self.removed {
                ja.push(format!(
                    "  {}. {}（{}、判定: {}、{} バイト）",
                    part.index,
                    display_name(part, "（名前なし）"),
                    part.declared_type,
                    part.sniffed_type,
                    grouped(part.size)
                ));
                en.push(format!(
                    "  {}. {} ({}, detected: {}, {} bytes)",
                    part.index,
                    display_name(part, "(no name)"),
                    part.declared_type,
                    part.sniffed_type,
                    grouped(part.size)
                ));
            }
            ja.push(format!(
                "必要な場合は次へお問い合わせください: {}",
                self.contact
            ));
            en.push(format!("To request them, contact: {}", self.contact));
        }
        ja.extend(en);
        ja.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1234567), "1,234,567");
    }
}
