//! `text/plain; format=flowed` (RFC 3676): soft line breaks joined back, space-stuffing removed, so the text
//! reads as its writer typed it.

fn quote_depth(line: &str) -> usize {
    line.bytes().take_while(|&b| b == b'>').count()
}

/// Unflows `text` (lines separated by LF or CRLF). With `delete_space` (`DelSp=yes`), the space that marks a
/// soft break is not part of the text.
pub fn unflow(text: &str, delete_space: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut open: Option<usize> = None;
    for raw_line in text.split_terminator('\n') {
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        let depth = quote_depth(line);
        let content = &line[depth..];
        let content = content.strip_prefix(' ').unwrap_or(content);
        if let Some(previous) = open
            && previous != depth
        {
            out.push('\n');
        }
        if open.is_none_or(|previous| previous != depth) {
            out.push_str(&">".repeat(depth));
            if depth > 0 {
                out.push(' ');
            }
        }
        let soft = content.ends_with(' ') && content != "-- ";
        if soft {
            let kept = if delete_space {
                &content[..content.len() - 1]
            } else {
                content
            };
            out.push_str(kept);
            open = Some(depth);
        } else {
            out.push_str(content);
            out.push('\n');
            open = None;
        }
    }
    if out.ends_with('\n') && !text.ends_with('\n') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_breaks_are_joined_and_hard_ones_kept() {
        let text = "This is a \r\nflowed line.\r\nHard break.\r\n-- \r\nsig";
        assert_eq!(
            unflow(text, false),
            "This is a flowed line.\nHard break.\n-- \nsig"
        );
    }

    #[test]
    fn delsp_and_space_stuffing_and_quotes() {
        assert_eq!(
            unflow("会議の議事録を \r\n添付します。", true),
            "会議の議事録を添付します。"
        );
        assert_eq!(unflow(" From here\r\n", false), "From here\n");
        assert_eq!(
            unflow("> quoted \r\n> more\r\nmine", false),
            "> quoted more\nmine"
        );
    }
}
