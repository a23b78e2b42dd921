//! HTML to readable text, small and careful: tags stripped, block elements become line breaks, entities
//! decoded (named and numeric), `script`/`style`/`head` and other non-content elements dropped with their
//! contents, `<a href>` kept as its text followed by the target, `<img alt>` kept as its alternative text.
//! The result is plain text; links in it are defanged afterwards like those of any plain body.

/// Text from HTML, and what was dropped.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Converted {
    pub text: String,
    /// Script, event handlers, `javascript:` or `data:` links, embedded objects were present and dropped.
    pub active_content: bool,
}

/// Elements whose contents are never text for a reader.
const DROPPED: [&str; 12] = [
    "script", "style", "head", "title", "template", "noscript", "iframe", "object", "embed", "svg",
    "math", "applet",
];
/// Of those, the ones that are active content.
const ACTIVE: [&str; 7] = [
    "script", "iframe", "object", "embed", "applet", "svg", "math",
];

const BLOCKS: [&str; 30] = [
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "dd",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tr",
    "ul",
];

struct Tag<'a> {
    name: String,
    closing: bool,
    attributes: Vec<(String, String)>,
    source: &'a str,
}

/// Converts an HTML document or fragment to text.
pub fn to_text(html: &str) -> Converted {
    let mut out = Converted::default();
    let mut writer = Writer::default();
    let mut anchor: Option<(String, usize)> = None;
    // Once a tag runs to the end of the input, every later `<` would too: the rest is text. (Without this,
    // `<a x="` repeated would be scanned to the end once per `<`.)
    let mut unclosed_to_the_end = false;
    let mut at = 0;
    while at < html.len() {
        let rest = &html[at..];
        if let Some(after) = rest.strip_prefix("<!--") {
            at += 4 + after.find("-->").map_or(after.len(), |end| end + 3);
            continue;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") {
            at += rest.find('>').map_or(rest.len(), |end| end + 1);
            continue;
        }
        if rest.starts_with('<')
            && !unclosed_to_the_end
            && let Some(tag) = parse_tag(rest)
                .map_err(|to_the_end| unclosed_to_the_end = to_the_end)
                .ok()
        {
            at += tag.source.len();
            if !tag.closing && DROPPED.contains(&tag.name.as_str()) {
                out.active_content |= ACTIVE.contains(&tag.name.as_str());
                at += skip_element(&html[at..], &tag.name);
                continue;
            }
            out.active_content |= tag
                .attributes
                .iter()
                .any(|(name, _)| name.starts_with("on"));
            handle_tag(&tag, &mut writer, &mut anchor, &mut out);
            continue;
        }
        let first = rest.chars().next().map_or(1, char::len_utf8);
        let end = rest[first..].find('<').map_or(rest.len(), |p| p + first);
        writer.text(&decode_entities(&rest[..end]));
        at += end;
    }
    out.text = writer.finish();
    out
}

fn handle_tag(
    tag: &Tag<'_>,
    writer: &mut Writer,
    anchor: &mut Option<(String, usize)>,
    out: &mut Converted,
) {
    let name = tag.name.as_str();
    match name {
        "br" => writer.line_break(),
        "hr" => {
            writer.block();
            writer.raw("----");
            writer.block();
        }
        "li" if !tag.closing => {
            writer.block();
            writer.raw("・");
        }
        "td" | "th" if tag.closing => writer.raw(" "),
        "pre" => {
            writer.block();
            writer.pre = !tag.closing;
        }
        "img" => {
            if let Some(alt) = attribute(tag, "alt").filter(|a| !a.trim().is_empty()) {
                writer.text(&format!("[{}]", alt.trim()));
            }
        }
        "a" if !tag.closing => {
            *anchor = attribute(tag, "href").map(|href| (href.trim().to_owned(), writer.out.len()));
        }
        "a" => {
            if let Some((href, start)) = anchor.take() {
                let shown = writer.out.get(start..).unwrap_or("").trim().to_owned();
                match link_target(&href) {
                    Target::Show(target) if shown != target => writer.text(&format!(" <{target}>")),
                    Target::Show(_) | Target::Drop => {}
                    Target::Active => out.active_content = true,
                }
            }
        }
        _ if BLOCKS.contains(&name) => {
            writer.block();
            let heading = name.len() == 2 && name.starts_with('h');
            if name == "p" || heading {
                writer.blank_line();
            }
        }
        _ => {}
    }
}

enum Target {
    Show(String),
    Drop,
    Active,
}

/// What to show of an `href`: web, mail and phone targets are shown (defanged later), script and data URLs
/// are active content, relative and `cid:` targets mean nothing outside the original message.
fn link_target(href: &str) -> Target {
    let compact: String = href
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    let lower = compact.to_ascii_lowercase();
    if ["javascript:", "vbscript:", "data:", "file:"]
        .iter()
        .any(|s| lower.starts_with(s))
    {
        return Target::Active;
    }
    if ["http://", "https://", "ftp://", "mailto:", "tel:"]
        .iter()
        .any(|s| lower.starts_with(s))
    {
        return Target::Show(compact);
    }
    Target::Drop
}

fn attribute<'t>(tag: &'t Tag<'_>, name: &str) -> Option<&'t str> {
    tag.attributes
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Parses the tag at the start of `text` (which starts with `<`). `Err(false)` when the `<` is literal,
/// `Err(true)` when the tag is never closed (a literal too, as browsers show it).
fn parse_tag(text: &str) -> Result<Tag<'_>, bool> {
    let bytes = text.as_bytes();
    let mut at = 1;
    let closing = bytes.get(at) == Some(&b'/');
    if closing {
        at += 1;
    }
    let name_start = at;
    while bytes.get(at).is_some_and(|b| b.is_ascii_alphanumeric()) {
        at += 1;
    }
    if at == name_start || !bytes[name_start].is_ascii_alphabetic() {
        return Err(false);
    }
    let name = text[name_start..at].to_ascii_lowercase();
    let mut attributes = Vec::new();
    loop {
        while bytes
            .get(at)
            .is_some_and(|b| b.is_ascii_whitespace() || *b == b'/')
        {
            at += 1;
        }
        match bytes.get(at) {
            None => return Err(true),
            Some(b'>') => break,
            Some(_) => {}
        }
        let attribute_start = at;
        while bytes
            .get(at)
            .is_some_and(|b| !b.is_ascii_whitespace() && !matches!(b, b'=' | b'>' | b'/'))
        {
            at += 1;
        }
        if at == attribute_start {
            at += 1;
            continue;
        }
        let attribute_name = text[attribute_start..at].to_ascii_lowercase();
        while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        let mut value = String::new();
        if bytes.get(at) == Some(&b'=') {
            at += 1;
            while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
                at += 1;
            }
            let (raw, next) = match bytes.get(at) {
                Some(&quote @ (b'"' | b'\'')) => {
                    let end = text[at + 1..]
                        .find(quote as char)
                        .map_or(text.len(), |p| at + 1 + p);
                    (&text[at + 1..end], (end + 1).min(text.len()))
                }
                _ => {
                    let end = text[at..]
                        .find(|c: char| c.is_ascii_whitespace() || c == '>')
                        .map_or(text.len(), |p| at + p);
                    (&text[at..end], end)
                }
            };
            value = decode_entities(raw);
            at = next;
        }
        attributes.push((attribute_name, value));
    }
    Ok(Tag {
        name,
        closing,
        attributes,
        source: &text[..at + 1],
    })
}

/// The length of the contents of a dropped element up to and including its closing tag (to the end when it
/// is never closed: a reader would not show it either).
fn skip_element(text: &str, name: &str) -> usize {
    let closing = format!("</{name}");
    let lower_end = text
        .as_bytes()
        .windows(closing.len())
        .position(|w| w.eq_ignore_ascii_case(closing.as_bytes()));
    match lower_end {
        None => text.len(),
        Some(start) => {
            start
                + text[start..]
                    .find('>')
                    .map_or(text.len() - start, |p| p + 1)
        }
    }
}

/// Decodes character references: named ones common in mail, decimal and hexadecimal ones.
pub fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(position) = rest.find('&') {
        out.push_str(&rest[..position]);
        rest = &rest[position..];
        match decode_reference(rest) {
            Some((decoded, len)) => {
                out.push(decoded);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn decode_reference(text: &str) -> Option<(char, usize)> {
    let end = text[1..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
        .map_or(text.len(), |p| p + 1);
    let name = &text[1..end];
    let with_semicolon = text[end..].starts_with(';');
    let len = end + usize::from(with_semicolon);
    if let Some(number) = name.strip_prefix('#') {
        let value = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => number.parse::<u32>().ok(),
        }?;
        let c = match char::from_u32(value) {
            Some('\0') | None => '\u{FFFD}',
            Some(c) => c,
        };
        return Some((c, len));
    }
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "nbsp" => ' ',
        _ if !with_semicolon => return None,
        "apos" => '\'',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "yen" => '¥',
        "euro" => '€',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "middot" => '·',
        "bull" => '•',
        "times" => '×',
        "divide" => '÷',
        "laquo" => '«',
        "raquo" => '»',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "zwj" => '\u{200D}',
        "zwnj" => '\u{200C}',
        "shy" => '\u{AD}',
        _ => return None,
    };
    Some((c, len))
}

/// Collects text with HTML's whitespace rules: runs of blanks collapse (except in `pre`), blocks start lines.
#[derive(Default)]
struct Writer {
    out: String,
    pre: bool,
}

impl Writer {
    fn text(&mut self, text: &str) {
        if self.pre {
            self.out.push_str(text);
            return;
        }
        for c in text.chars() {
            if c.is_whitespace() && c != '\u{3000}' {
                if !(self.out.is_empty() || self.out.ends_with([' ', '\n'])) {
                    self.out.push(' ');
                }
            } else {
                self.out.push(c);
            }
        }
    }

    fn raw(&mut self, text: &str) {
        self.out.push_str(text);
    }

    fn line_break(&mut self) {
        let kept = self.out.trim_end_matches(' ').len();
        self.out.truncate(kept);
        self.out.push('\n');
    }

    fn block(&mut self) {
        if !(self.out.is_empty() || self.out.ends_with('\n')) {
            self.line_break();
        }
    }

    fn blank_line(&mut self) {
        if !(self.out.is_empty() || self.out.ends_with("\n\n")) {
            self.line_break();
        }
    }

    fn finish(self) -> String {
        self.out.trim().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_entities_and_whitespace() {
        let converted = to_text(
            "<html><head><title>t</title><style>p{}</style></head><body><h1>お知らせ</h1>\n<p>本日は&nbsp;晴れ&amp;&#x1F600;&#12354;&lt;b&gt;</p><div>a<br>b</div><ul><li>一</li><li>二</li></ul></body></html>",
        );
        assert_eq!(
            converted.text,
            "お知らせ\n\n本日は 晴れ&😀あ<b>\n\na\nb\n・一\n・二"
        );
        assert!(!converted.active_content);
    }

    #[test]
    fn script_and_javascript_links_are_dropped() {
        let converted = to_text(
            "<p onclick=\"x()\">hi</p><SCRIPT>alert('x<p>')</SCRIPT><a href=\" javascript:alert(1)\">click</a>",
        );
        assert_eq!(converted.text, "hi\n\nclick");
        assert!(converted.active_content);
    }

    #[test]
    fn anchors_keep_their_text_and_show_the_target() {
        let converted = to_text(
            "<a href='https://evil.example/login'>https://city.lg.jp/</a> <a href=\"mailto:a@example.jp\">a@example.jp</a> <a href=\"https://x.jp\">https://x.jp</a>",
        );
        assert_eq!(
            converted.text,
            "https://city.lg.jp/ <https://evil.example/login> a@example.jp <mailto:a@example.jp> https://x.jp"
        );
    }

    #[test]
    fn literal_less_than_and_unclosed_comment() {
        assert_eq!(to_text("1 < 2 and a<b").text, "1 < 2 and a<b");
        assert_eq!(to_text("x<!-- hidden").text, "x");
        assert_eq!(
            to_text("&#0;&#xD800;&unknown;").text,
            "\u{FFFD}\u{FFFD}&unknown;"
        );
    }

    #[test]
    fn many_unclosed_tags_are_text_and_linear() {
        let input = "<a x=\"".repeat(50_000);
        let converted = to_text(&input);
        assert_eq!(converted.text.len(), input.len());
    }
}
