//! Mapping header names (見出し) to the columns an import expects.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

use crate::cell_ref::column_letter;
use crate::table::{Row, is_blank};

/// A column an import expects (取り込み項目).
///
/// A header matches when it equals one of `names` after folding both: NFKC
/// (full-width ＩＤ → ID, half-width ｶﾅ → カナ), whitespace removed (so `氏　名`
/// matches `氏名`) and ASCII case ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    /// The key the program uses, e.g. `staff_id`.
    pub key: &'static str,
    /// Accepted header names: the Japanese name first (it names the column in
    /// messages), then other Japanese names and English aliases.
    pub names: &'static [&'static str],
    /// Whether the column must be present (必須).
    pub required: bool,
}

impl ColumnSpec {
    /// A column that must be present (必須項目).
    pub const fn required(key: &'static str, names: &'static [&'static str]) -> ColumnSpec {
        ColumnSpec {
            key,
            names,
            required: true,
        }
    }

    /// A column that may be absent (任意項目).
    pub const fn optional(key: &'static str, names: &'static [&'static str]) -> ColumnSpec {
        ColumnSpec {
            key,
            names,
            required: false,
        }
    }

    /// The name that stands for the column in messages: the first one, else the key.
    pub fn display_name(&self) -> &'static str {
        self.names.first().copied().unwrap_or(self.key)
    }
}

/// A column of the file (列): where it is and what its header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRef {
    /// Zero-based column index.
    pub index: usize,
    /// Column letter as Excel shows it (列記号), e.g. `F`.
    pub letter: String,
    /// The header as written in the file.
    pub name: String,
}

impl ColumnRef {
    fn new(index: usize, name: &str) -> ColumnRef {
        ColumnRef {
            index,
            letter: column_letter(index),
            name: name.to_owned(),
        }
    }
}

/// Which column holds which key, found from a header row (見出しの対応表).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMap {
    columns: Vec<(&'static str, usize)>,
    unknown: Vec<ColumnRef>,
}

impl HeaderMap {
    /// Matches `headers` against `specs`.
    ///
    /// Headers that match no spec are kept in [`HeaderMap::unknown`]; empty
    /// headers are ignored. Fails with every problem at once: required columns
    /// that are missing and keys that two headers claim.
    pub fn resolve<S: AsRef<str>>(
        headers: &[S],
        specs: &[ColumnSpec],
    ) -> Result<HeaderMap, HeaderError> {
        let folded_specs: Vec<Vec<String>> = specs
            .iter()
            .map(|spec| spec.names.iter().map(|name| fold(name)).collect())
            .collect();
        let mut found: Vec<Option<usize>> = vec![None; specs.len()];
        let mut unknown = Vec::new();
        let mut problems = Vec::new();
        for (index, header) in headers.iter().enumerate() {
            let header = header.as_ref();
            let folded = fold(header);
            if folded.is_empty() {
                continue;
            }
            let matched = folded_specs
                .iter()
                .position(|names| names.contains(&folded));
            let Some(spec_index) = matched else {
                unknown.push(ColumnRef::new(index, header.trim()));
                continue;
            };
            match found[spec_index] {
                None => found[spec_index] = Some(index),
                Some(first) => problems.push(HeaderProblem::Duplicate {
                    key: specs[spec_index].key,
                    first: ColumnRef::new(first, headers[first].as_ref().trim()),
                    second: ColumnRef::new(index, header.trim()),
                }),
            }
        }
        for (spec, column) in specs.iter().zip(&found) {
            if spec.required && column.is_none() {
                problems.push(HeaderProblem::Missing {
                    key: spec.key,
                    name: spec.display_name(),
                });
            }
        }
        if !problems.is_empty() {
            return Err(HeaderError { problems });
        }
        let columns = specs
            .iter()
            .zip(found)
            .filter_map(|(spec, column)| Some((spec.key, column?)))
            .collect();
        Ok(HeaderMap { columns, unknown })
    }

    /// The zero-based column index of `key`, if the file has that column.
    pub fn index(&self, key: &str) -> Option<usize> {
        self.columns
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, index)| *index)
    }

    /// The value of `key` in `row`, trimmed (also of 全角スペース); `None` when
    /// the column is absent or the cell is empty or blank.
    pub fn get<'r>(&self, row: &'r Row, key: &str) -> Option<&'r str> {
        let cell = row.cells.get(self.index(key)?)?;
        if is_blank(cell) {
            None
        } else {
            Some(cell.trim())
        }
    }

    /// Columns whose header matches no spec (不明な列), in file order.
    pub fn unknown(&self) -> &[ColumnRef] {
        &self.unknown
    }
}

/// What is wrong with a header row (見出しの誤り): every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", display_problems(.problems))]
pub struct HeaderError {
    /// Each problem, in column order, then the missing columns in spec order.
    pub problems: Vec<HeaderProblem>,
}

fn display_problems(problems: &[HeaderProblem]) -> String {
    let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
    messages.join("; ")
}

/// One problem with a header row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderProblem {
    /// A required column is not in the file (必須の列がない).
    Missing {
        key: &'static str,
        /// The column's display name, e.g. `職員番号`.
        name: &'static str,
    },
    /// Two headers mean the same column (列の重複).
    Duplicate {
        key: &'static str,
        first: ColumnRef,
        second: ColumnRef,
    },
}

impl HeaderProblem {
    /// A stable identifier for translation: `sheet.header.missing` or
    /// `sheet.header.duplicate`.
    pub fn code(&self) -> &'static str {
        match self {
            HeaderProblem::Missing { .. } => "sheet.header.missing",
            HeaderProblem::Duplicate { .. } => "sheet.header.duplicate",
        }
    }

    /// The problem's parameters by name, for the translated message.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            HeaderProblem::Missing { key, name } => {
                vec![("key", (*key).to_owned()), ("name", (*name).to_owned())]
            }
            HeaderProblem::Duplicate { key, first, second } => vec![
                ("key", (*key).to_owned()),
                ("first_letter", first.letter.clone()),
                ("first_name", first.name.clone()),
                ("second_letter", second.letter.clone()),
                ("second_name", second.name.clone()),
            ],
        }
    }
}

impl fmt::Display for HeaderProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderProblem::Missing { key, name } => {
                write!(f, "the required column \"{name}\" ({key}) is missing")
            }
            HeaderProblem::Duplicate { key, first, second } => write!(
                f,
                "columns {} (\"{}\") and {} (\"{}\") both give {key}",
                first.letter, first.name, second.letter, second.name
            ),
        }
    }
}

/// The form header names are compared in: NFKC, no whitespace, ASCII lower case.
fn fold(name: &str) -> String {
    name.nfkc()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    const SPECS: &[ColumnSpec] = &[
        ColumnSpec::required("staff_id", &["職員番号", "ID", "staff id"]),
        ColumnSpec::required("name", &["氏名", "name"]),
        ColumnSpec::optional("kana", &["フリガナ", "カナ"]),
        ColumnSpec::optional("mail", &["メールアドレス", "email"]),
    ];

    fn row(cells: &[&str]) -> Row {
        Row {
            line: 2,
            cells: cells.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    #[test]
    fn full_width_and_spaced_aliases_match() {
        let headers = ["ＩＤ", "氏\u{3000}名", "ﾌﾘｶﾞﾅ", "Email "];
        let map = HeaderMap::resolve(&headers, SPECS).unwrap();
        assert_eq!(map.index("staff_id"), Some(0));
        assert_eq!(map.index("name"), Some(1));
        assert_eq!(map.index("kana"), Some(2));
        assert_eq!(map.index("mail"), Some(3));
        assert!(map.unknown().is_empty());
        let map = HeaderMap::resolve(&["ｓｔａｆｆ　ＩＤ", "NAME"], SPECS).unwrap();
        assert_eq!(map.index("staff_id"), Some(0));
        assert_eq!(map.index("kana"), None);
    }

    #[test]
    fn unknown_columns_are_listed_with_letters() {
        let headers = ["職員番号", "", "氏名", "備考", "x", "内線"];
        let map = HeaderMap::resolve(&headers, SPECS).unwrap();
        let unknown: Vec<(&str, &str)> = map
            .unknown()
            .iter()
            .map(|c| (c.letter.as_str(), c.name.as_str()))
            .collect();
        assert_eq!(unknown, [("D", "備考"), ("E", "x"), ("F", "内線")]);
    }

    #[test]
    fn missing_and_duplicate_columns_are_all_reported() {
        let headers = ["ID", "フリガナ", "職員番号"];
        let error = HeaderMap::resolve(&headers, SPECS).unwrap_err();
        assert_eq!(
            error.problems,
            [
                HeaderProblem::Duplicate {
                    key: "staff_id",
                    first: ColumnRef::new(0, "ID"),
                    second: ColumnRef::new(2, "職員番号"),
                },
                HeaderProblem::Missing {
                    key: "name",
                    name: "氏名"
                },
            ]
        );
        assert_eq!(
            error.to_string(),
            "columns A (\"ID\") and C (\"職員番号\") both give staff_id; \
             the required column \"氏名\" (name) is missing"
        );
        assert_eq!(error.problems[1].code(), "sheet.header.missing");
    }

    #[test]
    fn get_gives_none_for_empty_and_absent_cells() {
        let map = HeaderMap::resolve(&["職員番号", "氏名", "カナ"], SPECS).unwrap();
        let r = row(&["00123", " 山田\u{3000}太郎\u{3000}"]);
        assert_eq!(map.get(&r, "staff_id"), Some("00123"));
        assert_eq!(map.get(&r, "name"), Some("山田\u{3000}太郎"));
        assert_eq!(map.get(&r, "kana"), None); // beyond the row's cells
        assert_eq!(map.get(&r, "mail"), None); // not in the file
        assert_eq!(map.get(&r, "no_such_key"), None);
        let blank = row(&["\u{3000}", ""]);
        assert_eq!(map.get(&blank, "staff_id"), None);
        assert_eq!(map.get(&blank, "name"), None);
    }
}
