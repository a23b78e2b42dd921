//! The clauses of the basic policy (情報セキュリティ基本方針), as data: their numbers, short titles and the
//! Mamori registers that serve them.
//!
//! The catalogue is `catalog/policy/clauses.toml` at the top of the repository, compiled in
//! ([`ClauseCatalog::builtin`]); [`ClauseCatalog::from_toml`] reads and validates any other copy. Clause numbers
//! are [`ClauseId`]s (`6`, `6(3)`, `6(3)①`) and the catalogue keeps them in document order: `2(2)` before `2(10)`.
//!
//! Whether a clause is checked is not written in the catalogue: it follows from the clauses the
//! [`Check`]s name ([`ClauseCatalog::checks_for`]).

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use toml::Spanned;
use unicode_normalization::UnicodeNormalization;

use crate::check::{Check, all_checks};
use crate::classify::line_column;
use crate::{CatalogError, Text};

/// The built-in clause catalogue: (where it comes from, contents).
pub const BUILTIN_CLAUSE_FILE: (&str, &str) = (
    "catalog/policy/clauses.toml",
    include_str!("../../../catalog/policy/clauses.toml"),
);

static BUILTIN: LazyLock<Result<ClauseCatalog, ClauseCatalogError>> =
    LazyLock::new(|| ClauseCatalog::from_toml(BUILTIN_CLAUSE_FILE.1, BUILTIN_CLAUSE_FILE.0));

/// The first and last circled numbers a sub-item may carry: ① to ⑳.
const CIRCLED: (u32, u32) = ('①' as u32, '⑳' as u32);

// ----------------------------------------------------------------------------------------------- clause id

/// A clause number: a top-level clause (`6`), an item in it (`6(3)`) and a sub-item (`6(3)①`, or `6①` directly
/// under a top-level clause). Numbers start at 1; sub-items run from ① to ⑳.
///
/// Ordered as the document is: `6` < `6①` < `6(1)` < `6(1)①` < `6(2)` < `6(10)` < `7`. Written and serialised
/// in its canonical form (`6(3)①`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(into = "String", try_from = "String")]
pub struct ClauseId {
    top: u16,
    item: Option<u16>,
    sub: Option<u8>,
}

/// Text that is not a clause number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a clause number: write it as 6, 6(3) or 6(3)①")]
pub struct ClauseIdError {
    /// What was given.
    pub input: String,
}

impl ClauseId {
    /// From its numbers; `None` for a 0 or a sub-item beyond ⑳.
    pub fn new(top: u16, item: Option<u16>, sub: Option<u8>) -> Option<ClauseId> {
        let valid =
            top >= 1 && item.is_none_or(|n| n >= 1) && sub.is_none_or(|n| (1..=20).contains(&n));
        valid.then_some(ClauseId { top, item, sub })
    }

    /// Reads a clause number as people write it: `6(3)①`, `６（３）①`, `6 (3)`. The form is
    /// `^[0-9]+(\([0-9]+\))?[①-⑳]?$` after full-width digits and brackets are folded.
    pub fn parse(input: &str) -> Result<ClauseId, ClauseIdError> {
        Self::read(input).ok_or_else(|| ClauseIdError {
            input: input.to_owned(),
        })
    }

    fn read(input: &str) -> Option<ClauseId> {
        let trimmed = input.trim();
        // NFKC turns ① into 1, so the sub-item is taken off before the rest is folded.
        let last = trimmed.chars().next_back()?;
        let (rest, sub) = match circled_value(last) {
            Some(sub) => (trimmed.get(..trimmed.len() - last.len_utf8())?, Some(sub)),
            None => (trimmed, None),
        };
        if rest.chars().any(|c| circled_value(c).is_some()) {
            return None;
        }
        let folded: String = rest.nfkc().filter(|c| !c.is_whitespace()).collect();
        let (top, item) = match folded.split_once('(') {
            Some((top, item)) => (top, Some(number(item.strip_suffix(')')?)?)),
            None => (folded.as_str(), None),
        };
        ClauseId::new(number(top)?, item, sub)
    }

    /// The clause this one sits in: `6(3)①` → `6(3)` → `6` → none.
    pub fn parent(self) -> Option<ClauseId> {
        match self {
            ClauseId { sub: Some(_), .. } => Some(ClauseId { sub: None, ..self }),
            ClauseId { item: Some(_), .. } => Some(ClauseId { item: None, ..self }),
            _ => None,
        }
    }

    /// The top-level clause it belongs to: `6(3)①` → `6`.
    pub fn area(self) -> ClauseId {
        ClauseId::top_level(self.top)
    }

    /// Whether this is a top-level clause (`6`).
    pub fn is_top_level(self) -> bool {
        self.item.is_none() && self.sub.is_none()
    }

    /// Whether this clause is `ancestor` or sits (at any depth) inside it.
    pub fn is_within(self, ancestor: ClauseId) -> bool {
        std::iter::successors(Some(self), |id| id.parent()).any(|id| id == ancestor)
    }

    fn top_level(top: u16) -> ClauseId {
        ClauseId {
            top,
            item: None,
            sub: None,
        }
    }
}

impl fmt::Display for ClauseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.top)?;
        if let Some(item) = self.item {
            write!(f, "({item})")?;
        }
        if let Some(sub) = self.sub {
            let circled = char::from_u32(CIRCLED.0 + u32::from(sub) - 1).unwrap_or('?');
            write!(f, "{circled}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for ClauseId {
    type Err = ClauseIdError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        ClauseId::parse(input)
    }
}

impl From<ClauseId> for String {
    fn from(id: ClauseId) -> String {
        id.to_string()
    }
}

impl TryFrom<String> for ClauseId {
    type Error = ClauseIdError;

    fn try_from(input: String) -> Result<Self, Self::Error> {
        ClauseId::parse(&input)
    }
}

/// 1 for ①, … 20 for ⑳.
pub(crate) fn circled_value(c: char) -> Option<u8> {
    let code = u32::from(c);
    (CIRCLED.0..=CIRCLED.1)
        .contains(&code)
        .then(|| u8::try_from(code - CIRCLED.0 + 1).ok())
        .flatten()
}

/// A clause number's part: ASCII digits, at least 1.
fn number(digits: &str) -> Option<u16> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| *n >= 1)
}

// ----------------------------------------------------------------------------------------------- catalogue

/// A clause of the basic policy, as the catalogue describes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Clause {
    /// The clause number (`6(3)①`).
    pub id: ClauseId,
    /// A short title in Mamori's own words (`情報資産の分類と管理`).
    pub title: Text,
    /// The Mamori registers that serve the clause (`assets`, `org`, `staff`, `accounts`, `zones`, `mail_gateway` …).
    pub registers: Vec<String>,
}

/// A clause catalogue file that cannot be used: which file, what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {error}")]
pub struct ClauseCatalogError {
    /// Where the text came from, as the caller named it.
    pub origin: String,
    /// What is wrong, and on which line.
    pub error: CatalogError,
}

impl ClauseCatalogError {
    /// `catalog.syntax` or `catalog.invalid`.
    pub fn code(&self) -> &'static str {
        self.error.code()
    }

    /// The 1-based line in the file, when known.
    pub fn line(&self) -> Option<usize> {
        self.error.line()
    }
}

/// The clauses of a basic policy, validated and in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClauseCatalog {
    origin: String,
    clauses: Vec<Clause>,
}

impl ClauseCatalog {
    /// The catalogue shipped with Mamori, read once. An error here is a bug in the shipped file (a test reads it).
    pub fn builtin() -> Result<&'static ClauseCatalog, ClauseCatalogError> {
        BUILTIN.as_ref().map_err(Clone::clone)
    }

    /// Reads and validates a catalogue file: every id a clause number, none twice, every clause's parent listed,
    /// titles not blank, register names `[a-z][a-z0-9_]*` (at most 40 characters) and none twice per clause.
    /// `origin` names the text in errors (a file name).
    pub fn from_toml(text: &str, origin: &str) -> Result<ClauseCatalog, ClauseCatalogError> {
        let clauses = read_clauses(text).map_err(|error| ClauseCatalogError {
            origin: origin.to_owned(),
            error,
        })?;
        Ok(ClauseCatalog {
            origin: origin.to_owned(),
            clauses,
        })
    }

    /// Where the catalogue came from, as named when it was read.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Every clause, in document order.
    pub fn clauses(&self) -> &[Clause] {
        &self.clauses
    }

    /// The clause `id`.
    pub fn get(&self, id: ClauseId) -> Option<&Clause> {
        self.clauses
            .binary_search_by(|c| c.id.cmp(&id))
            .ok()
            .and_then(|i| self.clauses.get(i))
    }

    /// The clause `id` sits in (`6(3)` for `6(3)①`); none for a top-level clause.
    pub fn parent(&self, id: ClauseId) -> Option<&Clause> {
        id.parent().and_then(|parent| self.get(parent))
    }

    /// The clauses directly inside `id`, in document order.
    pub fn children(&self, id: ClauseId) -> impl Iterator<Item = &Clause> {
        self.clauses
            .iter()
            .filter(move |c| c.id.parent() == Some(id))
    }

    /// The top-level clauses (`1` … `8`), in document order.
    pub fn roots(&self) -> impl Iterator<Item = &Clause> {
        self.clauses.iter().filter(|c| c.id.is_top_level())
    }

    /// The top-level clause `id` belongs to (`6` for `6(3)①`).
    pub fn area(&self, id: ClauseId) -> Option<&Clause> {
        self.get(id.area())
    }

    /// The clauses a reference names: one clause (`6(2)`) or a range of clauses in the same parent, with the
    /// second number written in full or shortened (`2(9)–(11)`, `2(9)-2(11)`, `6(3)①〜③`). `None` when the
    /// reference is not one of these or names a clause the catalogue lacks.
    pub fn resolve(&self, reference: &str) -> Option<Vec<&Clause>> {
        let Some((first, last)) = reference.split_once(['–', '—', '-', '〜', '～', '~'])
        else {
            return self.get(ClauseId::parse(reference).ok()?).map(|c| vec![c]);
        };
        let first = ClauseId::parse(first).ok()?;
        let last = range_end(first, last)?;
        if first.parent() != last.parent() || first > last {
            return None;
        }
        self.get(first)?;
        self.get(last)?;
        let range = self
            .clauses
            .iter()
            .filter(|c| c.id.parent() == first.parent() && (first..=last).contains(&c.id))
            .collect();
        Some(range)
    }

    /// Which clause of a city's own policy text says what each catalogue clause says. Cities number their
    /// policies differently (one city's 2(12) is another's 2(10)), so a clause is matched by its heading: the
    /// city's clause with the same number if its heading resembles the catalogue's title, else the most
    /// resembling clause at the same level of the same top-level clause; none when nothing resembles it.
    /// Returns, for each catalogue clause, the index of its city clause in `city.clauses`.
    pub fn match_city_text(
        &self,
        city: &crate::policy_text::PolicyText,
    ) -> HashMap<ClauseId, usize> {
        let parsed: Vec<(Option<ClauseId>, String)> = city
            .clauses
            .iter()
            .map(|c| (ClauseId::parse(&c.id).ok(), heading_key(&c.heading)))
            .collect();
        let mut out = HashMap::new();
        for clause in &self.clauses {
            let title = heading_key(clause.title.get(crate::Lang::Ja));
            let same_number = parsed
                .iter()
                .position(|(id, _)| *id == Some(clause.id))
                .filter(|i| resemblance(&title, &parsed[*i].1) >= SAME_NUMBER_RESEMBLANCE);
            let best = || {
                parsed
                    .iter()
                    .enumerate()
                    .filter(|(_, (id, _))| {
                        id.is_some_and(|id| {
                            id.area() == clause.id.area() && depth(id) == depth(clause.id)
                        })
                    })
                    .map(|(i, (_, heading))| (i, resemblance(&title, heading)))
                    .filter(|(_, r)| *r >= RESEMBLANCE)
                    .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
                    .map(|(i, _)| i)
            };
            if let Some(i) = same_number.or_else(best) {
                out.insert(clause.id, i);
            }
        }
        out
    }

    /// The checks that measure clause `id` or a clause inside it, in [`all_checks`] order.
    pub fn checks_for(&self, id: ClauseId) -> Vec<&'static Check> {
        all_checks()
            .iter()
            .filter(|check| {
                self.resolve(check.clause)
                    .is_some_and(|clauses| clauses.iter().any(|c| c.id.is_within(id)))
            })
            .collect()
    }
}

/// How much the heading of the city's clause with the same number must share with the catalogue's title.
const SAME_NUMBER_RESEMBLANCE: f64 = 0.5;
/// How much a heading elsewhere must share with it: more, since the number does not agree.
const RESEMBLANCE: f64 = 0.7;

/// How deep a clause sits: 0 for `6`, 1 for `6(3)`, 2 for `6(3)①`.
fn depth(id: ClauseId) -> usize {
    std::iter::successors(id.parent(), |p| p.parent()).count()
}

/// A heading as compared: folded (NFKC, no spaces, lower case), without a bracketed aside such as
/// 「（個人番号利用事務系）」.
fn heading_key(heading: &str) -> String {
    let folded = crate::fold(heading);
    let mut out = String::with_capacity(folded.len());
    let mut nesting = 0usize;
    for c in folded.chars() {
        match c {
            '(' | '（' => nesting += 1,
            ')' | '）' => nesting = nesting.saturating_sub(1),
            _ if nesting == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The characters two headings share (each counted as often as it occurs in both), as a share of the longer
/// one: 1.0 for the same characters, 0.0 for none, 0.6 for 「ネットワーク」 against 「市の情報ネットワーク」.
fn resemblance(a: &str, b: &str) -> f64 {
    let (short, long) = if a.chars().count() <= b.chars().count() {
        (a, b)
    } else {
        (b, a)
    };
    let total = long.chars().count();
    if total == 0 {
        return 0.0;
    }
    let mut pool: HashMap<char, usize> = HashMap::new();
    for c in long.chars() {
        *pool.entry(c).or_default() += 1;
    }
    let mut shared = 0usize;
    for c in short.chars() {
        if let Some(n) = pool.get_mut(&c).filter(|n| **n > 0) {
            *n -= 1;
            shared += 1;
        }
    }
    shared as f64 / total as f64
}

/// The end of a range that starts at `first`: in full (`2(11)`), an item (`(11)`) or a sub-item (`③`).
fn range_end(first: ClauseId, last: &str) -> Option<ClauseId> {
    let last = last.trim();
    if let Some(sub) = last.chars().next().and_then(circled_value)
        && last.chars().count() == 1
    {
        return ClauseId::new(first.top, first.item, Some(sub));
    }
    if last.starts_with(['(', '（']) {
        return ClauseId::parse(&format!("{}{last}", first.top)).ok();
    }
    ClauseId::parse(last).ok()
}

// ----------------------------------------------------------------------------------------------- file shape

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    clauses: Vec<ClauseFile>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ClauseFile {
    id: Spanned<String>,
    title: Spanned<Text>,
    #[serde(default)]
    registers: Vec<Spanned<String>>,
}

/// Reads the clauses of a catalogue file, validated and sorted into document order.
fn read_clauses(text: &str) -> Result<Vec<Clause>, CatalogError> {
    let file: CatalogFile = toml::from_str(text).map_err(|e| CatalogError::syntax(text, &e))?;
    // Each id with its index in the file and its line.
    let mut seen: HashMap<ClauseId, (usize, usize)> = HashMap::with_capacity(file.clauses.len());
    let mut clauses = Vec::with_capacity(file.clauses.len());
    for (n, entry) in file.clauses.into_iter().enumerate() {
        let line = line_column(text, entry.id.span().start).0;
        let clause = read_clause(text, n, entry)?;
        if let Some((first, first_line)) = seen.insert(clause.id, (n, line)) {
            return Err(invalid(
                format!("clauses[{n}].id"),
                line,
                format!(
                    "\"{}\" repeats the id of clauses[{first}] (line {first_line})",
                    clause.id
                ),
            ));
        }
        clauses.push(clause);
    }
    for (n, clause) in clauses.iter().enumerate() {
        if let Some(parent) = clause.id.parent()
            && !seen.contains_key(&parent)
        {
            let line = seen.get(&clause.id).map(|(_, line)| *line);
            return Err(CatalogError::Invalid {
                path: format!("clauses[{n}].id"),
                line,
                message: format!(
                    "the parent clause \"{parent}\" of \"{}\" is not in the catalogue: add it",
                    clause.id
                ),
            });
        }
    }
    clauses.sort_by_key(|c| c.id);
    Ok(clauses)
}

fn read_clause(text: &str, n: usize, entry: ClauseFile) -> Result<Clause, CatalogError> {
    let line_of = |offset: usize| line_column(text, offset).0;
    let raw_id = entry.id.get_ref();
    let id = ClauseId::parse(raw_id).map_err(|e| {
        invalid(
            format!("clauses[{n}].id"),
            line_of(entry.id.span().start),
            e.to_string(),
        )
    })?;
    let title_line = line_of(entry.title.span().start);
    let title = entry.title.into_inner();
    for (lang, value) in [("ja", &title.ja), ("en", &title.en)] {
        if value.trim().is_empty() {
            return Err(invalid(
                format!("clauses[{n}].title.{lang}"),
                title_line,
                format!("the title of \"{id}\" is blank"),
            ));
        }
    }
    let mut registers: Vec<String> = Vec::with_capacity(entry.registers.len());
    for (i, register) in entry.registers.into_iter().enumerate() {
        let line = line_of(register.span().start);
        let name = register.into_inner();
        let path = format!("clauses[{n}].registers[{i}]");
        if !is_register_name(&name) {
            return Err(invalid(
                path,
                line,
                format!(
                    "{name:?} is not a register name: use 1-40 lower-case letters, digits or underscores, starting with a letter"
                ),
            ));
        }
        if registers.contains(&name) {
            return Err(invalid(path, line, format!("{name:?} is listed twice")));
        }
        registers.push(name);
    }
    Ok(Clause {
        id,
        title,
        registers,
    })
}

fn is_register_name(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn invalid(path: String, line: usize, message: String) -> CatalogError {
    CatalogError::Invalid {
        path,
        line: Some(line),
        message,
    }
}

#[cfg(test)]
mod city_text_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::policy_text::parse_policy_text;

    fn city_heading_of(catalog_id: &str) -> Option<String> {
        let city = parse_policy_text(include_str!("../tests/fixtures/sample-policy.txt")).unwrap();
        let catalog = ClauseCatalog::builtin().unwrap();
        let matched = catalog.match_city_text(&city);
        matched
            .get(&ClauseId::parse(catalog_id).unwrap())
            .map(|i| format!("{} {}", city.clauses[*i].id, city.clauses[*i].heading))
    }

    #[test]
    fn a_clause_numbered_differently_by_the_city_is_found_by_its_heading() {
        // The sample city numbers its zone definitions 2(10)–(12), the catalogue 2(12)–(14).
        assert_eq!(
            city_heading_of("2(12)").as_deref(),
            Some("2(10) マイナンバー利用事務系（個人番号利用事務系）")
        );
        assert_eq!(city_heading_of("2(4)").as_deref(), Some("2(3) 情報資産"));
        assert_eq!(city_heading_of("1").as_deref(), Some("1 目的"));
    }

    #[test]
    fn the_same_number_is_kept_when_the_headings_agree_and_nothing_is_shown_when_none_does() {
        assert_eq!(
            city_heading_of("6(2)").as_deref(),
            Some("6(2) 情報資産の分類と管理")
        );
        // The sample has no clause on the city's own network: nothing is shown rather than 2(3) 情報資産 or
        // 2(1) ネットワーク.
        assert_eq!(city_heading_of("2(3)"), None);
    }

    #[test]
    fn resemblance_counts_shared_characters_against_the_longer_heading() {
        assert!((resemblance("ネットワーク", "市の情報ネットワーク") - 0.6).abs() < 1e-9);
        assert_eq!(resemblance("", "目的"), 0.0);
        assert_eq!(heading_key("ＬＧＷＡＮ 接続系（注）"), "lgwan接続系");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn id(text: &str) -> ClauseId {
        ClauseId::parse(text).unwrap()
    }

    fn builtin() -> &'static ClauseCatalog {
        ClauseCatalog::builtin().unwrap()
    }

    fn ids<'a>(clauses: impl IntoIterator<Item = &'a Clause>) -> Vec<String> {
        clauses.into_iter().map(|c| c.id.to_string()).collect()
    }

    #[test]
    fn the_builtin_catalogue_parses() {
        let catalog = ClauseCatalog::builtin();
        assert!(catalog.is_ok(), "{:?}", catalog.err());
        assert_eq!(builtin().origin(), "catalog/policy/clauses.toml");
        assert_eq!(
            ids(builtin().roots()),
            ["1", "2", "3", "4", "5", "6", "7", "8"]
        );
    }

    #[test]
    fn every_check_names_clauses_of_the_builtin_catalogue() {
        for check in all_checks() {
            let clauses = builtin().resolve(check.clause);
            assert!(
                clauses.as_ref().is_some_and(|c| !c.is_empty()),
                "check {} names clause {:?}, which the catalogue lacks",
                check.id,
                check.clause
            );
        }
        for check in all_checks() {
            let first = builtin().resolve(check.clause).unwrap()[0].id;
            assert!(
                builtin().checks_for(first).iter().any(|c| c.id == check.id),
                "{}",
                check.id
            );
        }
    }

    #[test]
    fn the_clauses_the_checks_and_vocabularies_use_are_there() {
        for text in [
            "5", "6(1)", "6(2)", "2(12)", "6(3)", "6(3)①", "6(6)", "6(7)", "6(8)", "4(1)①",
            "4(1)②", "2(16)",
        ] {
            assert!(builtin().get(id(text)).is_some(), "{text}");
        }
        for kind in crate::OrganKind::ALL {
            assert!(builtin().get(id(kind.clause())).is_some(), "{kind:?}");
        }
        let clause = builtin().get(id("2(13)")).unwrap();
        assert_eq!(clause.title.ja, "LGWAN接続系");
        assert!(clause.registers.contains(&"zones".to_owned()));
        assert_eq!(builtin().get(id("6(2)")).unwrap().registers, ["assets"]);
    }

    #[test]
    fn clause_ids_are_read_as_people_write_them() {
        for (input, canonical) in [
            ("6", "6"),
            ("6(3)", "6(3)"),
            ("6(3)①", "6(3)①"),
            ("６（３）①", "6(3)①"),
            (" 6 (3) ", "6(3)"),
            ("2(12)", "2(12)"),
            ("6①", "6①"),
            ("4(2)⑳", "4(2)⑳"),
        ] {
            assert_eq!(id(input).to_string(), canonical, "{input}");
        }
        for input in [
            "",
            "0",
            "6(0)",
            "6()",
            "(3)",
            "①",
            "6①(3)",
            "6(3",
            "6(3)①②",
            "6.3",
            "a",
            "6(3)(1)",
            "70000",
        ] {
            assert!(ClauseId::parse(input).is_err(), "{input}");
        }
        let e = ClauseId::parse("6.3").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#""6.3" is not a clause number: write it as 6, 6(3) or 6(3)①"#
        );
        assert_eq!(ClauseId::new(6, Some(3), Some(21)), None);
        assert_eq!("6(3)①".parse::<ClauseId>(), Ok(id("6(3)①")));
    }

    #[test]
    fn ids_know_their_parent_and_area() {
        assert_eq!(id("6(3)①").parent(), Some(id("6(3)")));
        assert_eq!(id("6(3)").parent(), Some(id("6")));
        assert_eq!(id("6①").parent(), Some(id("6")));
        assert_eq!(id("6").parent(), None);
        assert_eq!(id("6(3)①").area(), id("6"));
        assert!(id("6(3)①").is_within(id("6")));
        assert!(id("6(3)").is_within(id("6(3)")));
        assert!(!id("6(3)").is_within(id("6(3)①")));
        assert!(!id("2(6)").is_within(id("6")));
    }

    #[test]
    fn ids_order_numerically_as_the_document_does() {
        let mut sorted: Vec<ClauseId> =
            ["2(10)", "7", "2(2)", "6(1)", "6", "6①", "2", "6(1)①", "10"]
                .into_iter()
                .map(id)
                .collect();
        sorted.sort();
        assert_eq!(
            sorted.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["2", "2(2)", "2(10)", "6", "6①", "6(1)", "6(1)①", "7", "10"]
        );
        let definitions = ids(builtin().children(id("2")));
        assert_eq!(definitions.len(), 16);
        assert_eq!(definitions[1], "2(2)");
        assert_eq!(definitions[9], "2(10)");
        let all = builtin().clauses();
        assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    }

    #[test]
    fn the_catalogue_answers_parent_children_and_area() {
        let c = builtin();
        assert_eq!(c.parent(id("6(3)①")).unwrap().id, id("6(3)"));
        assert_eq!(
            c.parent(id("6(3)")).unwrap().title.ja,
            "情報セキュリティ対策"
        );
        assert!(c.parent(id("6")).is_none());
        assert_eq!(ids(c.children(id("6(3)"))), ["6(3)①", "6(3)②", "6(3)③"]);
        assert_eq!(c.children(id("6")).count(), 9);
        assert_eq!(c.children(id("1")).count(), 0);
        assert_eq!(c.area(id("6(3)①")).unwrap().title.en, "Security measures");
        assert!(c.get(id("9")).is_none());
        assert!(c.area(id("9(1)")).is_none());
    }

    #[test]
    fn references_name_one_clause_or_a_range() {
        let c = builtin();
        assert_eq!(ids(c.resolve("6(2)").unwrap()), ["6(2)"]);
        assert_eq!(
            ids(c.resolve("2(9)–(11)").unwrap()),
            ["2(9)", "2(10)", "2(11)"]
        );
        assert_eq!(
            ids(c.resolve("2(4)-2(6)").unwrap()),
            ["2(4)", "2(5)", "2(6)"]
        );
        assert_eq!(
            ids(c.resolve("6(3)①〜③").unwrap()),
            ["6(3)①", "6(3)②", "6(3)③"]
        );
        for reference in [
            "9",
            "2(11)–(9)",
            "2(9)–6(2)",
            "2(15)–(17)",
            "nonsense",
            "6(2)–",
        ] {
            assert!(c.resolve(reference).is_none(), "{reference}");
        }
    }

    const SMALL: &str = r#"
[[clauses]]
id = "6"
title = { ja = "対策", en = "Measures" }

[[clauses]]
id = "6(10)"
title = { ja = "十", en = "Ten" }

[[clauses]]
id = "6(2)"
title = { ja = "二", en = "Two" }
registers = ["assets"]
"#;

    #[test]
    fn a_catalogue_is_read_and_put_in_document_order() {
        let c = ClauseCatalog::from_toml(SMALL, "city.toml").unwrap();
        assert_eq!(ids(c.clauses()), ["6", "6(2)", "6(10)"]);
        assert_eq!(c.origin(), "city.toml");
        let empty = ClauseCatalog::from_toml("", "empty.toml").unwrap();
        assert!(empty.clauses().is_empty());
    }

    #[test]
    fn broken_catalogues_say_which_file_what_and_where() {
        let twice = SMALL.replace("id = \"6(10)\"", "id = \"６（２）\"");
        let e = ClauseCatalog::from_toml(&twice, "city.toml").unwrap_err();
        assert_eq!(e.code(), "catalog.invalid");
        assert_eq!(e.line(), Some(11));
        assert_eq!(
            e.to_string(),
            "city.toml: line 11: clauses[2].id: \"6(2)\" repeats the id of clauses[1] (line 7)"
        );

        let orphan =
            format!("{SMALL}\n[[clauses]]\nid = \"4(1)①\"\ntitle = {{ ja = \"x\", en = \"x\" }}\n");
        let e = ClauseCatalog::from_toml(&orphan, "city.toml").unwrap_err();
        assert_eq!(e.line(), Some(16));
        assert!(
            e.to_string()
                .contains("the parent clause \"4(1)\" of \"4(1)①\" is not in the catalogue"),
            "{e}"
        );

        let bad_id = SMALL.replace("id = \"6(10)\"", "id = \"6.10\"");
        let e = ClauseCatalog::from_toml(&bad_id, "city.toml").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("city.toml: line 7: clauses[1].id: \"6.10\" is not a clause number"),
            "{e}"
        );

        let typo = SMALL.replace("registers", "registres");
        let e = ClauseCatalog::from_toml(&typo, "city.toml").unwrap_err();
        assert_eq!(e.code(), "catalog.syntax");
        assert_eq!(e.line(), Some(13));
        assert!(e.to_string().contains("registres"), "{e}");

        let blank = SMALL.replace("en = \"Ten\"", "en = \" \"");
        let e = ClauseCatalog::from_toml(&blank, "city.toml").unwrap_err();
        assert!(e.to_string().contains("clauses[1].title.en"), "{e}");
        assert_eq!(e.line(), Some(8));

        let register = SMALL.replace("[\"assets\"]", "[\"assets\", \"Zones\"]");
        let e = ClauseCatalog::from_toml(&register, "city.toml").unwrap_err();
        assert!(e.to_string().contains("clauses[2].registers[1]"), "{e}");
        let register = SMALL.replace("[\"assets\"]", "[\"assets\", \"assets\"]");
        let e = ClauseCatalog::from_toml(&register, "city.toml").unwrap_err();
        assert!(e.to_string().contains("listed twice"), "{e}");
    }

    #[test]
    fn ids_convert_to_and_from_their_canonical_text() {
        assert_eq!(String::from(id("６（３）①")), "6(3)①");
        #[derive(serde::Deserialize)]
        struct Row {
            clause: ClauseId,
        }
        let row: Row = toml::from_str("clause = \"６（３）①\"").unwrap();
        assert_eq!(row.clause, id("6(3)①"));
        assert!(toml::from_str::<Row>("clause = \"6.3\"").is_err());
    }
}
