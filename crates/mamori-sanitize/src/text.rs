//! Making decoded text inert for display: control characters, bidirectional overrides and zero-width
//! characters out (they hide file name extensions, `invoice_\u{202E}fdp.exe`, and split links so filters miss
//! them).

/// Whether `c` is a bidirectional formatting character (U+202A–U+202E, U+2066–U+2069, LRM, RLM, ALM).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Whether `c` is invisible: zero-width space, joiners, word joiner, BOM, soft hyphen.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}'
    )
}

/// What [`clean_line`] and [`clean_body`] removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    pub bidi: usize,
    pub invisible: usize,
}

impl Removed {
    fn count(&mut self, c: char) -> bool {
        if is_bidi_control(c) {
            self.bidi += 1;
            true
        } else if is_invisible(c) {
            self.invisible += 1;
            true
        } else {
            false
        }
    }
}

/// One line of display text (a header value, a file name): every control character becomes a space (so no
/// CR or LF can survive into a rebuilt header), bidi and invisible characters go, blanks are collapsed.
pub fn clean_line(text: &str) -> (String, Removed) {
    let mut removed = Removed::default();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if removed.count(c) {
            continue;
        }
        let c = if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            ' '
        } else {
            c
        };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    let trimmed_len = out.trim_end().len();
    out.truncate(trimmed_len);
    (out, removed)
}

/// A body: line ends become `\n`, tabs stay, other controls and bidi and invisible characters go, trailing
/// blanks on lines, leading empty lines and runs of empty lines beyond one are dropped.
pub fn clean_body(text: &str) -> (String, Removed) {
    let mut removed = Removed::default();
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if removed.count(c) {
            continue;
        }
        let c = match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                '\n'
            }
            '\u{2028}' | '\u{2029}' => '\n',
            '\n' | '\t' => c,
            c if c.is_control() => continue,
            c => c,
        };
        if c == '\n' {
            let kept = out.trim_end_matches([' ', '\t']).len();
            out.truncate(kept);
            if out.is_empty() || out.ends_with("\n\n") {
                continue;
            }
        }
        out.push(c);
    }
    let kept = out.trim_end().len();
    out.truncate(kept);
    (out, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_loses_line_breaks_and_controls() {
        let (line, _) = clean_line("件名\r\nBcc: victim@example.jp\0\x1b");
        assert_eq!(line, "件名 Bcc: victim@example.jp");
        assert!(!line.contains(['\r', '\n']));
    }

    #[test]
    fn rtl_override_and_zero_width_are_removed_and_counted() {
        let (line, removed) = clean_line("請求書_\u{202E}fdp.exe\u{200B}");
        assert_eq!(line, "請求書_fdp.exe");
        assert_eq!(
            removed,
            Removed {
                bidi: 1,
                invisible: 1
            }
        );
    }

    #[test]
    fn body_line_ends_are_normalised() {
        let (body, _) = clean_body("a \r\nb\rc\n\n\n\n\nd\x07\n");
        assert_eq!(body, "a\nb\nc\n\nd");
    }
}
