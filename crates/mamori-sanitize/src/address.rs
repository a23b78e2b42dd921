//! Address lists (`From`, `To`, `Cc`, `Reply-To`) read from the raw value: the structure (commas, angle
//! brackets, quotes, comments, groups) is found *before* any encoded-word is decoded, so a display name that
//! decodes to `boss@city.lg.jp <x>, y` cannot change which addresses there are.

use crate::encoded_word::decode_header;
use crate::text::clean_line;

/// One mailbox: a decoded, cleaned display name (may be empty) and an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: String,
    pub address: String,
}

/// The mailboxes of an address list, and notes on what was dropped or looks like spoofing.
pub fn parse_list(raw: &[u8]) -> (Vec<Mailbox>, Vec<String>) {
    let mut notes = Vec::new();
    let mut mailboxes = Vec::new();
    for entry in split_entries(raw) {
        if entry.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match mailbox(&entry) {
            Some(mailbox) => {
                if mailbox.name.contains('@') {
                    notes.push(format!(
                        "display name {:?} of <{}> looks like an address",
                        mailbox.name, mailbox.address
                    ));
                }
                mailboxes.push(mailbox);
            }
            None => notes.push(format!(
                "unreadable address {:?} dropped",
                clean_line(&String::from_utf8_lossy(&entry)).0
            )),
        }
    }
    (mailboxes, notes)
}

/// Splits on top-level `,` and `;`, dropping group names (`team: a, b;`).
fn split_entries(raw: &[u8]) -> Vec<Vec<u8>> {
    let mut entries = Vec::new();
    let mut current = Vec::new();
    let mut quoted = false;
    let mut escaped = false;
    let mut comment = 0usize;
    let mut angle = false;
    for &byte in raw {
        if escaped {
            escaped = false;
            current.push(byte);
            continue;
        }
        match byte {
            b'\\' if quoted || comment > 0 => escaped = true,
            b'"' if comment == 0 => quoted = !quoted,
            b'(' if !quoted => comment += 1,
            b')' if !quoted && comment > 0 => comment -= 1,
            b'<' if !quoted && comment == 0 => angle = true,
            b'>' if !quoted && comment == 0 => angle = false,
            b',' | b';' if !quoted && comment == 0 && !angle => {
                entries.push(std::mem::take(&mut current));
                continue;
            }
            b':' if !quoted && comment == 0 && !angle => {
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(byte);
    }
    entries.push(current);
    entries
}

/// Reads `name <address>` or `address (comment)`.
fn mailbox(entry: &[u8]) -> Option<Mailbox> {
    let mut name = Vec::new();
    let mut address = Vec::new();
    let mut comment_text = Vec::new();
    let mut quoted = false;
    let mut escaped = false;
    let mut comment = 0usize;
    let mut angle = false;
    let mut had_angle = false;
    for &byte in entry {
        if escaped {
            escaped = false;
            if comment > 0 {
                comment_text.push(byte);
            } else {
                name.push(byte);
            }
            continue;
        }
        match byte {
            b'\\' if quoted || comment > 0 => escaped = true,
            b'"' if comment == 0 && !angle => quoted = !quoted,
            b'(' if !quoted && !angle => comment += 1,
            b')' if !quoted && !angle && comment > 0 => comment -= 1,
            _ if comment > 0 => comment_text.push(byte),
            b'<' if !quoted => {
                angle = true;
                had_angle = true;
                address.clear();
            }
            b'>' if !quoted && angle => angle = false,
            _ if angle => address.push(byte),
            _ => name.push(byte),
        }
    }
    let (display, address) = if had_angle {
        (name, address)
    } else {
        (comment_text, name)
    };
    let address = String::from_utf8(address).ok()?;
    let address = address.trim();
    // A source route (`@relay:user@host`) is obsolete; the mailbox is what follows it.
    let address = address.rsplit(':').next().unwrap_or(address).trim();
    if !valid_address(address) {
        return None;
    }
    let (name, _) = clean_line(&decode_header(&display).text);
    Some(Mailbox {
        name,
        address: address.to_owned(),
    })
}

/// ASCII `local@domain` without blanks, quotes or brackets that would need escaping.
fn valid_address(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c);
    !local.is_empty()
        && !domain.is_empty()
        && address.len() <= 254
        && local.chars().all(allowed)
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_decoded_after_the_structure_is_known() {
        // The encoded name decodes to `boss@city.lg.jp <boss@city.lg.jp>, x`.
        let raw =
            b"=?UTF-8?B?Ym9zc0BjaXR5LmxnLmpwIDxib3NzQGNpdHkubGcuanA+LCB4?= <attacker@evil.example>";
        let (mailboxes, notes) = parse_list(raw);
        assert_eq!(mailboxes.len(), 1);
        assert_eq!(mailboxes[0].address, "attacker@evil.example");
        assert_eq!(mailboxes[0].name, "boss@city.lg.jp <boss@city.lg.jp>, x");
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn quoted_names_comments_and_groups() {
        let raw = br#""Yamada, Taro" <taro@example.jp>, hanako@example.jp (Hanako), team: a@example.jp;, undisclosed-recipients:;"#;
        let (mailboxes, notes) = parse_list(raw);
        let pairs: Vec<(&str, &str)> = mailboxes
            .iter()
            .map(|m| (m.name.as_str(), m.address.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("Yamada, Taro", "taro@example.jp"),
                ("Hanako", "hanako@example.jp"),
                ("", "a@example.jp")
            ]
        );
        assert!(notes.is_empty());
    }

    #[test]
    fn invalid_addresses_are_dropped_with_a_note() {
        let (mailboxes, notes) = parse_list("山田 <やまだ@example.jp>".as_bytes());
        assert!(mailboxes.is_empty());
        assert_eq!(notes.len(), 1);
    }
}
