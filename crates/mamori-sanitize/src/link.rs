//! Defanging links in text: `https://example.jp/a` becomes `hxxps://example[.]jp/a` (no client links it, a
//! person can still read it), `www.example.jp` becomes `www[.]example[.]jp`, and `mailto:` / `tel:` become
//! `mailto[:]` / `tel[:]`.

use std::collections::HashSet;

/// Text with its links defanged, and the defanged web links in order of first appearance.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Defanged {
    pub text: String,
    pub links: Vec<String>,
    /// Whether anything was changed (a web link, `mailto:` or `tel:`).
    pub changed: bool,
}

const SCHEMES: [(&str, &str); 3] = [
    ("https://", "hxxps://"),
    ("http://", "hxxp://"),
    ("ftp://", "fxp://"),
];
const INERT: [&str; 3] = ["mailto:", "tel:", "callto:"];

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.is_char_boundary(prefix.len())
        && text[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Whether a link may start after `previous` (not inside a word, a host name or a path).
fn at_word_start(previous: Option<char>) -> bool {
    previous.is_none_or(|c| {
        !(c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '@' | '-' | '_' | '+' | '['))
    })
}

fn is_url_char(c: char) -> bool {
    c.is_ascii_graphic()
        && !matches!(
            c,
            '<' | '>' | '"' | '\'' | '`' | '{' | '}' | '|' | '\\' | '^'
        )
}

/// The length of the URL at the start of `text` (stops at blanks, quotes, non-ASCII; drops trailing
/// punctuation that ends a sentence).
fn url_len(text: &str) -> usize {
    let mut end = text.find(|c: char| !is_url_char(c)).unwrap_or(text.len());
    while end > 0 && text[..end].ends_with(['.', ',', ';', ':', '!', '?', ')', ']']) {
        end -= 1;
    }
    end
}

/// `scheme://authority/rest` with the scheme renamed and every dot of the authority bracketed.
fn defang_url(url: &str, scheme_len: usize, replacement: &str) -> String {
    let rest = &url[scheme_len..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let mut out = String::with_capacity(url.len() + 8);
    out.push_str(replacement);
    out.push_str(&rest[..authority_end].replace('.', "[.]"));
    out.push_str(&rest[authority_end..]);
    out
}

/// Defangs every web link, `mailto:` and `tel:` in `text`.
pub fn defang(text: &str) -> Defanged {
    let mut out = Defanged {
        text: String::with_capacity(text.len() + text.len() / 16),
        ..Defanged::default()
    };
    let mut seen = HashSet::new();
    let mut previous: Option<char> = None;
    let mut at = 0;
    'scan: while at < text.len() {
        let rest = &text[at..];
        if at_word_start(previous) {
            for (scheme, replacement) in SCHEMES {
                if starts_with_ignore_case(rest, scheme) {
                    let len = url_len(rest);
                    if len > scheme.len() {
                        let defanged = defang_url(&rest[..len], scheme.len(), replacement);
                        out.text.push_str(&defanged);
                        push_link(&mut out, &mut seen, defanged);
                        previous = rest[..len].chars().last();
                        at += len;
                        continue 'scan;
                    }
                }
            }
            if starts_with_ignore_case(rest, "www.") {
                let len = url_len(rest);
                if rest[..len].matches('.').count() >= 2 {
                    let defanged = defang_url(&rest[..len], 0, "");
                    out.text.push_str(&defanged);
                    push_link(&mut out, &mut seen, defanged);
                    previous = rest[..len].chars().last();
                    at += len;
                    continue 'scan;
                }
            }
            for scheme in INERT {
                if starts_with_ignore_case(rest, scheme) {
                    out.text.push_str(&rest[..scheme.len() - 1]);
                    out.text.push_str("[:]");
                    out.changed = true;
                    previous = Some(':');
                    at += scheme.len();
                    continue 'scan;
                }
            }
        }
        let Some(c) = rest.chars().next() else { break };
        out.text.push(c);
        previous = Some(c);
        at += c.len_utf8();
    }
    out
}

fn push_link(out: &mut Defanged, seen: &mut HashSet<String>, link: String) {
    out.changed = true;
    if seen.insert(link.clone()) {
        out.links.push(link);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_links_are_defanged_and_listed() {
        let result = defang(
            "詳細はhttps://www.city.example.lg.jp/a.html?x=1をご覧ください。HTTP://Example.JP.",
        );
        assert_eq!(
            result.text,
            "詳細はhxxps://www[.]city[.]example[.]lg[.]jp/a.html?x=1をご覧ください。hxxp://Example[.]JP."
        );
        assert_eq!(
            result.links,
            [
                "hxxps://www[.]city[.]example[.]lg[.]jp/a.html?x=1",
                "hxxp://Example[.]JP"
            ]
        );
    }

    #[test]
    fn userinfo_spoof_and_ftp_and_www() {
        let result =
            defang("(ftp://files.example.jp/x) https://city.lg.jp@evil.example/ www.example.jp");
        assert_eq!(
            result.text,
            "(fxp://files[.]example[.]jp/x) hxxps://city[.]lg[.]jp@evil[.]example/ www[.]example[.]jp"
        );
        assert_eq!(result.links.len(), 3);
    }

    #[test]
    fn mailto_and_tel_are_inert_but_words_are_not_touched() {
        let result = defang("mailto:a@example.jp TEL:03-1234-5678 Hotel: ok");
        assert_eq!(
            result.text,
            "mailto[:]a@example.jp TEL[:]03-1234-5678 Hotel: ok"
        );
        assert!(result.links.is_empty());
        assert!(result.changed);
    }

    #[test]
    fn text_without_links_is_unchanged() {
        let result = defang("会議は10:30からです。");
        assert_eq!(result.text, "会議は10:30からです。");
        assert!(!result.changed);
    }
}
