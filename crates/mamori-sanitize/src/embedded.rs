//! Binary files embedded in body text: uuencode (`begin 644 name` … `end`) and yEnc (`=ybegin … name=` …
//! `=yend`). Some mail clients still decode them and show an attachment, so they are cut out of the text and
//! quarantined like any other part.

/// A block cut out of the text.
#[derive(Debug, PartialEq, Eq)]
pub struct Block {
    /// `text/x-uuencode` or `text/x-yenc`.
    pub kind: &'static str,
    pub file_name: String,
    /// The block as it was in the text, encoded.
    pub content: String,
}

/// A uuencode data line: a length character, then characters of the uuencode alphabet, enough of them.
fn is_uuencode_line(line: &str) -> bool {
    let bytes = line.trim_end().as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    if !(b' '..=b'`').contains(&first) || !bytes.iter().all(|b| (b' '..=b'`').contains(b)) {
        return false;
    }
    let length = usize::from((first - b' ') & 63);
    length > 0 && bytes.len() > length.div_ceil(3) * 4
}

/// `begin 644 name` with a uuencode line after it: the file name.
fn uuencode_start<'a>(line: &'a str, next: Option<&str>) -> Option<&'a str> {
    let rest = line.strip_prefix("begin ")?;
    let (mode, name) = rest.split_once(' ')?;
    let mode_ok = (3..=4).contains(&mode.len()) && mode.bytes().all(|b| (b'0'..=b'7').contains(&b));
    (mode_ok && !name.trim().is_empty() && next.is_some_and(is_uuencode_line))
        .then_some(name.trim())
}

fn yenc_start(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("=ybegin ")?;
    rest.split_once("name=").map(|(_, name)| name.trim())
}

/// The text without embedded blocks (each replaced by a one-line marker), and the blocks.
pub fn cut(text: &str) -> (String, Vec<Block>) {
    if !text.contains("begin ") {
        return (text.to_owned(), Vec::new());
    }
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut blocks = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        let start = uuencode_start(line, lines.get(index + 1).copied())
            .map(|name| ("text/x-uuencode", name, "end"))
            .or_else(|| yenc_start(line).map(|name| ("text/x-yenc", name, "=yend")));
        let Some((kind, name, end_marker)) = start else {
            out.push(line.to_owned());
            index += 1;
            continue;
        };
        let end = lines[index..]
            .iter()
            .position(|l| {
                l.trim_end().starts_with(end_marker)
                    && (end_marker != "end" || l.trim_end() == "end")
            })
            .map_or(lines.len(), |p| index + p + 1);
        blocks.push(Block {
            kind,
            file_name: name.to_owned(),
            content: lines[index..end].join("\n"),
        });
        out.push(format!(
            "[埋め込みファイル削除 / embedded file removed: {}]",
            blocks.len()
        ));
        index = end;
    }
    (out.join("\n"), blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuencode_block_is_cut_out() {
        let text = "Hello\nbegin 644 run.exe\nM35J0``,````$````__\\``+@`````````0```````````````````````````\n`\nend\nBye";
        let (out, blocks) = cut(text);
        assert_eq!(
            out,
            "Hello\n[埋め込みファイル削除 / embedded file removed: 1]\nBye"
        );
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].file_name, "run.exe");
        assert!(blocks[0].content.starts_with("begin 644 run.exe\nM35J0"));
    }

    #[test]
    fn yenc_block_is_cut_out() {
        let (out, blocks) =
            cut("a\n=ybegin line=128 size=3 name=x.bin\n\u{7f}\u{80}\n=yend size=3\nb");
        assert_eq!(
            out,
            "a\n[埋め込みファイル削除 / embedded file removed: 1]\nb"
        );
        assert_eq!(blocks[0].kind, "text/x-yenc");
    }

    #[test]
    fn prose_that_starts_with_begin_stays() {
        let text = "begin 100 meters from the station\nthen turn left";
        assert_eq!(cut(text).0, text);
    }
}
