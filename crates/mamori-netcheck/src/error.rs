//! Errors of the parsers: where (file, line, column) and what was expected.

/// A configuration that cannot be read. Nothing is guessed: the caller gets no ruleset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: expected {expected}, found {found}")]
pub struct ParseError {
    /// The file as the caller named it.
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// What would have been understood here, e.g. "a chain name after -A".
    pub expected: String,
    /// What was there instead (shortened), or "end of line".
    pub found: String,
}

impl ParseError {
    pub fn new(
        file: &str,
        line: usize,
        column: usize,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        let found: String = found.into();
        let found = if found.is_empty() {
            "end of line".to_owned()
        } else if found.chars().count() > 60 {
            format!("{}…", found.chars().take(60).collect::<String>())
        } else {
            found
        };
        ParseError {
            file: file.to_owned(),
            line,
            column,
            expected: expected.into(),
            found,
        }
    }
}
