//! Writing the rebuilt message: whitelisted header fields re-encoded from decoded values, folded at 78
//! columns, and one `text/plain; charset=UTF-8` body in base64.
//!
//! Why base64 and not 8bit: the next hop (the LGWAN mail server) may not offer 8BITMIME, base64 lines are
//! short and plain ASCII whatever the text, and no body line can look like a header, a boundary, a lone `.`
//! or a `From ` line to any later reader. The cost is a third more bytes.

use base64::Engine as _;

use crate::address::Mailbox;
use crate::encoded_word::encode_words;

/// A header line, folded before 78 columns where the tokens allow, ending in CRLF.
pub fn fold(name: &str, tokens: &[String]) -> String {
    let mut out =
        String::with_capacity(name.len() + tokens.iter().map(|t| t.len() + 1).sum::<usize>() + 8);
    out.push_str(name);
    out.push(':');
    let mut line_len = out.len();
    for (index, token) in tokens.iter().enumerate() {
        if index > 0 && line_len + 1 + token.len() > 78 {
            out.push_str("\r\n ");
            line_len = 1;
        } else {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(token);
        line_len += token.len();
    }
    out.push_str("\r\n");
    out
}

/// Tokens for unstructured text (`Subject`): plain words when it is short ASCII that no reader would decode,
/// UTF-8 encoded-words otherwise.
pub fn text_tokens(text: &str) -> Vec<String> {
    let plain = text.is_ascii() && !text.contains("=?") && text.split(' ').all(|w| w.len() <= 70);
    if plain {
        text.split(' ')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    } else {
        encode_words(text)
    }
}

/// Tokens for an address list.
pub fn address_tokens(mailboxes: &[Mailbox]) -> Vec<String> {
    let mut tokens = Vec::new();
    for (index, mailbox) in mailboxes.iter().enumerate() {
        let name: String = mailbox.name.chars().take(200).collect();
        if !name.is_empty() {
            if name.is_ascii() && !name.contains("=?") {
                tokens.push(format!(
                    "\"{}\"",
                    name.replace('\\', "\\\\").replace('"', "\\\"")
                ));
            } else {
                tokens.extend(encode_words(&name));
            }
        }
        let separator = if index + 1 < mailboxes.len() { "," } else { "" };
        if name.is_empty() {
            tokens.push(format!("{}{separator}", mailbox.address));
        } else {
            tokens.push(format!("<{}>{separator}", mailbox.address));
        }
    }
    tokens
}

/// The `<id>` message identifiers in a raw value, only those made of visible ASCII.
pub fn message_ids(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    let mut ids = Vec::new();
    let mut rest = text.as_ref();
    while let Some(start) = rest.find('<') {
        let Some(length) = rest[start + 1..].find('>') else {
            break;
        };
        let id = &rest[start + 1..start + 1 + length];
        if !id.is_empty() && id.len() <= 250 && id.chars().all(|c| c.is_ascii_graphic() && c != '<')
        {
            ids.push(format!("<{id}>"));
        }
        rest = &rest[start + 1 + length + 1..];
    }
    ids
}

/// The MIME header fields and the base64 body, lines of 76 characters.
pub fn body(text: &str) -> String {
    let mut out = String::from(
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    out.push_str(&base64_lines(text.as_bytes()));
    out
}

/// `bytes` in base64, in CRLF-terminated lines of 76 characters (RFC 2045).
pub fn base64_lines(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 76 * 2 + 2);
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_fold_before_78_columns() {
        let tokens: Vec<String> = (0..30).map(|i| format!("word{i}")).collect();
        let line = fold("Subject", &tokens);
        assert!(line.split("\r\n").all(|l| l.len() <= 78));
        assert_eq!(
            line.replace("\r\n", ""),
            format!("Subject: {}", tokens.join(" "))
        );
    }

    #[test]
    fn names_are_quoted_or_encoded() {
        let mailboxes = [
            Mailbox {
                name: "Taro \"T\" Yamada".to_owned(),
                address: "taro@example.jp".to_owned(),
            },
            Mailbox {
                name: "花子".to_owned(),
                address: "hanako@example.jp".to_owned(),
            },
        ];
        assert_eq!(
            address_tokens(&mailboxes),
            [
                "\"Taro \\\"T\\\" Yamada\"",
                "<taro@example.jp>,",
                "=?UTF-8?B?6Iqx5a2Q?=",
                "<hanako@example.jp>"
            ]
        );
    }

    #[test]
    fn message_ids_keep_only_bracketed_visible_ascii() {
        assert_eq!(message_ids(b"<a@b> junk <c d@e> <f@g>"), ["<a@b>", "<f@g>"]);
    }
}
