//! Where things start in the text: `nft -j` prints the whole ruleset on one line, so a rule's position is
//! the line *and column* where its object opens. One pass over the bytes, tracking strings, escapes and
//! bracket depth, records the start of every element of the top-level `"nftables"` array, and refuses
//! nesting deeper than the limit before the JSON parser ever sees it.

/// A 1-based position, the column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    pub const START: Pos = Pos { line: 1, column: 1 };
}

/// A limit the text exceeds, found before the JSON is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Exceeded {
    /// Nesting deeper than allowed, where the container opens.
    Depth(Pos),
    /// More `{"rule": …}` elements than allowed, where the first one too many starts.
    Rules(Pos),
}

/// The start of each element of the `"nftables"` array (of the last one, if the key is repeated: serde_json
/// keeps the last value of a repeated key too). Counts the elements that are rules, so that a huge ruleset
/// is refused before it is parsed into memory.
///
/// Invalid JSON is not diagnosed here; the parser reports it afterwards.
pub(super) fn element_starts(
    text: &str,
    max_depth: usize,
    max_rules: usize,
) -> Result<Vec<Pos>, Exceeded> {
    let bytes = text.as_bytes();
    let mut stack: Vec<u8> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut line = 1usize;
    let mut chars_before = 0usize;
    // Keys of the top-level object: the one being read, and the last one completed.
    let mut key_start: Option<usize> = None;
    let mut last_key: Option<(usize, usize)> = None;
    let mut expect_key = false;
    // Inside the "nftables" array (depth 2), and whether the next value starts an element.
    let mut in_target = false;
    let mut expect_element = false;
    let mut starts = Vec::new();
    // The first key of the element being read (depth 3), to count rules.
    let mut expect_element_key = false;
    let mut element_key_start: Option<usize> = None;
    let mut rules = 0usize;

    for (i, &b) in bytes.iter().enumerate() {
        let pos = Pos {
            line,
            column: chars_before + 1,
        };
        if b == b'\n' {
            line += 1;
            chars_before = 0;
        } else if b & 0xC0 != 0x80 {
            chars_before += 1;
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
                if let Some(s) = key_start.take() {
                    last_key = Some((s, i));
                }
                if let Some(s) = element_key_start.take()
                    && bytes.get(s..i) == Some(b"rule".as_slice())
                {
                    rules += 1;
                    if rules > max_rules {
                        return Err(Exceeded::Rules(starts.last().copied().unwrap_or(pos)));
                    }
                }
            }
            continue;
        }
        if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
            continue;
        }
        if in_target && stack.len() == 2 && expect_element && b != b']' {
            starts.push(pos);
            expect_element = false;
            expect_element_key = b == b'{';
        } else if stack.len() == 3 && expect_element_key {
            expect_element_key = false;
            if b == b'"' {
                element_key_start = Some(i + 1);
            }
        }
        let top_object = stack.len() == 1 && stack.first() == Some(&b'{');
        match b {
            b'"' => {
                in_string = true;
                if top_object && expect_key {
                    key_start = Some(i + 1);
                    expect_key = false;
                }
            }
            b'{' | b'[' => {
                if stack.len() >= max_depth {
                    return Err(Exceeded::Depth(pos));
                }
                if b == b'['
                    && top_object
                    && last_key.and_then(|(s, e)| bytes.get(s..e)) == Some(b"nftables".as_slice())
                {
                    in_target = true;
                    expect_element = true;
                    starts.clear();
                    rules = 0;
                }
                stack.push(b);
                if b == b'{' && stack.len() == 1 {
                    expect_key = true;
                }
            }
            b'}' | b']' => {
                stack.pop();
                if b == b']' && in_target && stack.len() == 1 {
                    in_target = false;
                }
            }
            b',' => {
                if top_object {
                    expect_key = true;
                    last_key = None;
                }
                if in_target && stack.len() == 2 {
                    expect_element = true;
                }
            }
            _ => {}
        }
    }
    Ok(starts)
}

/// serde_json reports columns in bytes; the error type counts characters.
pub(super) fn char_column(text: &str, line: usize, byte_column: usize) -> usize {
    let Some(l) = text.split('\n').nth(line.saturating_sub(1)) else {
        return byte_column.max(1);
    };
    let mut end = byte_column.saturating_sub(1).min(l.len());
    while end > 0 && !l.is_char_boundary(end) {
        end -= 1;
    }
    l.get(..end).map_or(0, |s| s.chars().count()) + 1
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn finds_elements_on_one_line_and_across_lines() {
        let t = r#"{"nftables": [{"a": "x]}"}, {"b": [1, {"c": 2}]}, "s"]}"#;
        let s = element_starts(t, 64, 10).unwrap();
        assert_eq!(
            s,
            vec![
                Pos {
                    line: 1,
                    column: 15
                },
                Pos {
                    line: 1,
                    column: 29
                },
                Pos {
                    line: 1,
                    column: 51
                }
            ]
        );
        let t = "{\"x\": [1],\n \"nftables\": [\n  {\"é\": 1},\n  {}\n]}";
        let s = element_starts(t, 64, 10).unwrap();
        assert_eq!(
            s,
            vec![Pos { line: 3, column: 3 }, Pos { line: 4, column: 3 }]
        );
    }

    #[test]
    fn refuses_deep_nesting() {
        let t = format!("{}{}", "[".repeat(65), "]".repeat(65));
        let at = Pos {
            line: 1,
            column: 65,
        };
        assert_eq!(element_starts(&t, 64, 10), Err(Exceeded::Depth(at)));
        let t = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert!(element_starts(&t, 64, 10).is_ok());
    }

    #[test]
    fn counts_rules_by_their_key() {
        let t = r#"{"nftables": [{"rule": {}}, {"chain": {"rule": 1}}, "rule", { "rule" : 2}]}"#;
        assert_eq!(element_starts(t, 64, 2).map(|s| s.len()), Ok(4));
        let at = Pos {
            line: 1,
            column: 61,
        };
        assert_eq!(element_starts(t, 64, 1), Err(Exceeded::Rules(at)));
    }

    #[test]
    fn converts_byte_columns() {
        assert_eq!(char_column("ab\n\"é\" x", 2, 6), 5);
        assert_eq!(char_column("", 3, 7), 7);
    }
}
