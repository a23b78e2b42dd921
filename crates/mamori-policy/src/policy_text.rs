//! 基本方針の取り込み: reads the text of a basic policy, as copied out of a PDF or a word processor, into its
//! numbered clauses ([`parse_policy_text`]), and compares two versions of it ([`diff`]).
//!
//! Clauses are found by their numbers at the start of a line: `1.` / `１．` / `⒈` a top-level clause, `(1)` /
//! `（１）` / `⑴` an item of the current top-level clause, `①` a sub-item of the current item (or of the
//! top-level clause when no item came first). The heading is the text after the number; when that is empty,
//! the next line with text. The body is the text up to the next numbered line: lines are joined where a
//! sentence runs on, and a paragraph ends after a line ending in `。`, `）` or `：` (or their half-width forms)
//! and before a line starting with a bullet.
//!
//! What copying out of a PDF leaves behind is cleaned up:
//! - the 目次 (contents): lines with dot leaders and a page number (`1. 目的.....　- 2 -`, `２．定義・・・・３`)
//!   are dropped, and after a `目次` line the numbered lines up to the second appearance of the first
//!   top-level number are the contents;
//! - page markers on their own line (`- 2 -`, `－ ３ －`, `2/5`, a bare page number of up to 4 digits);
//! - letter-spaced words (`L G W A N 接続系` → `LGWAN接続系`): runs of at least three single characters
//!   (capitals, digits or Japanese) separated by single spaces, or two Japanese ones, are closed up;
//!   lower-case English words are left alone;
//! - sentences broken across lines with blank lines between;
//! - bullets before numbers (`- (1)`, `・(2)`, `● 3.`);
//! - full-width digits and brackets (`（１２）` is `(12)`).
//!
//! Lines giving a date of revision or enactment (`改正：令和8年5月19日`, `制定 平成15年4月1日`,
//! `令和8年5月19日改正`) are read into [`PolicyText::revised`] and kept out of the clauses. The first line of text
//! before the first clause is the title; the rest of the text before it is not kept.
//!
//! Limits: at most [`MAX_BYTES`] (2 MiB) of text and [`MAX_CLAUSES`] (5,000) clauses; a basic policy is far
//! smaller, so anything larger is refused rather than read slowly.

use std::cmp::Ordering;
use std::collections::HashMap;

use chrono::NaiveDate;

use crate::clause::{ClauseId, circled_value};
use crate::{Lang, parse_date};

/// The largest text read, in bytes (2 MiB).
pub const MAX_BYTES: usize = 2 * 1024 * 1024;

/// The most clauses read from one text.
pub const MAX_CLAUSES: usize = 5_000;

/// Bullets that may stand before a number (`- (1)`, `・(2)`, `● 3.`) or start a line of a list.
const BULLETS: [char; 16] = [
    '-', '－', '‐', '−', '–', '—', '・', '･', '•', '●', '○', '◯', '■', '□', '◆', '◇',
];

/// The ends of a line that close a paragraph.
const PARAGRAPH_ENDS: [char; 7] = ['。', '）', '：', ')', ':', '．', '.'];

/// A basic policy read from text.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct PolicyText {
    /// The first line of text before the first clause (`サンプル市情報セキュリティ基本方針`).
    pub title: Option<String>,
    /// The date of the latest 改正 as written, without spaces (`令和8年5月19日`); the 制定 date when the text
    /// gives no 改正.
    pub revised: Option<String>,
    /// The clauses in document order.
    pub clauses: Vec<ParsedClause>,
}

impl PolicyText {
    /// [`Self::revised`] as a date, when it is one [`parse_date`] reads.
    pub fn revised_date(&self) -> Option<NaiveDate> {
        self.revised.as_deref().and_then(parse_date)
    }

    /// The clause numbered `id` (`6(3)①`, also written `６（３）①`).
    pub fn clause(&self, id: &str) -> Option<&ParsedClause> {
        let id = ClauseId::parse(id).ok()?.to_string();
        self.clauses.iter().find(|c| c.id == id)
    }
}

/// A clause as the text has it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ParsedClause {
    /// The clause number in canonical form: `1`, `2(12)`, `6(3)①`.
    pub id: String,
    /// The text after the number (`マイナンバー利用事務系（個人番号利用事務系）`); may be empty.
    pub heading: String,
    /// The text up to the next numbered line, paragraphs separated by `\n`; may be empty.
    pub body: String,
    /// The 1-based line of the number in the input.
    pub line: usize,
}

/// How a clause differs between two versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Only in the new version.
    Added,
    /// Only in the old version.
    Removed,
    /// In both, with a different heading or body (spacing aside).
    Changed,
}

/// A clause that differs between two versions, with both sides for showing them next to each other.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClauseChange {
    /// The clause number in canonical form.
    pub id: String,
    pub kind: ChangeKind,
    /// The clause in the old version (`None` when added).
    pub old: Option<ParsedClause>,
    /// The clause in the new version (`None` when removed).
    pub new: Option<ParsedClause>,
}

/// A text that cannot be read as a basic policy: what is wrong, and on which line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyTextError {
    /// Over [`MAX_BYTES`].
    #[error("the text is {bytes} bytes long; at most {MAX_BYTES} bytes (2 MiB) can be read")]
    TooLarge { bytes: usize },
    /// Over [`MAX_CLAUSES`]; `line` is where the one too many starts.
    #[error("line {line}: more than {MAX_CLAUSES} clauses; at most {MAX_CLAUSES} can be read")]
    TooManyClauses { line: usize },
    /// No line starts with a clause number.
    #[error("no numbered clause found: clauses start with a number such as 1., (1) or ①")]
    NoClauses,
    /// A clause number used twice under the same heading.
    #[error(
        "line {line}: clause {id} appears a second time (first on line {first_line}): {text:?}"
    )]
    DuplicateClause {
        id: String,
        line: usize,
        first_line: usize,
        text: String,
    },
    /// An item or sub-item (`(1)`, `①`) before any top-level clause (`1.`).
    #[error(
        "line {line}: {text:?} is numbered as an item, but no top-level clause (1., 2., …) comes before it"
    )]
    ItemBeforeClause { line: usize, text: String },
}

impl PolicyTextError {
    /// A stable code: `policy_text.too_large`, `.too_many_clauses`, `.no_clauses`, `.duplicate_clause`,
    /// `.item_before_clause`.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyTextError::TooLarge { .. } => "policy_text.too_large",
            PolicyTextError::TooManyClauses { .. } => "policy_text.too_many_clauses",
            PolicyTextError::NoClauses => "policy_text.no_clauses",
            PolicyTextError::DuplicateClause { .. } => "policy_text.duplicate_clause",
            PolicyTextError::ItemBeforeClause { .. } => "policy_text.item_before_clause",
        }
    }

    /// The 1-based line of the input the error is about, when there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            PolicyTextError::TooLarge { .. } | PolicyTextError::NoClauses => None,
            PolicyTextError::TooManyClauses { line }
            | PolicyTextError::DuplicateClause { line, .. }
            | PolicyTextError::ItemBeforeClause { line, .. } => Some(*line),
        }
    }

    /// The message for a user, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (PolicyTextError::TooLarge { bytes }, Lang::Ja) => format!(
                "テキストが大きすぎます（{bytes} バイト）。読み込めるのは 2 MiB（{MAX_BYTES} バイト）までです。"
            ),
            (PolicyTextError::TooManyClauses { line }, Lang::Ja) => format!(
                "{line} 行目: 条項が {MAX_CLAUSES} を超えました。読み込めるのは {MAX_CLAUSES} 条項までです。"
            ),
            (PolicyTextError::NoClauses, Lang::Ja) => {
                "番号の付いた条項が見つかりません。条項は「1.」「(1)」「①」のような番号で始まります。".to_owned()
            }
            (
                PolicyTextError::DuplicateClause {
                    id,
                    line,
                    first_line,
                    text,
                },
                Lang::Ja,
            ) => format!(
                "{line} 行目: 条項 {id} が2度目に現れました（最初は {first_line} 行目）。「{text}」"
            ),
            (PolicyTextError::ItemBeforeClause { line, text }, Lang::Ja) => format!(
                "{line} 行目: 「{text}」は項目の番号で始まっていますが、その前に「1.」のような条項の見出しがありません。"
            ),
            (_, Lang::En) => {
                let mut message = self.to_string();
                if let Some(first) = message.get(..1) {
                    let upper = first.to_ascii_uppercase();
                    message.replace_range(..1, &upper);
                }
                message + "."
            }
        }
    }
}

// ----------------------------------------------------------------------------------------------- parsing

/// Reads a basic policy's text into its clauses. See the module documentation for what is accepted.
pub fn parse_policy_text(text: &str) -> Result<PolicyText, PolicyTextError> {
    if text.len() > MAX_BYTES {
        return Err(PolicyTextError::TooLarge { bytes: text.len() });
    }
    let mut lines: Vec<Line<'_>> = text
        .lines()
        .enumerate()
        .map(|(i, raw)| Line {
            no: i + 1,
            raw,
            kind: classify(raw),
        })
        .collect();
    skip_contents(&mut lines);
    let mut reader = Reader::default();
    for line in &lines {
        reader.read(line)?;
    }
    reader.finish()
}

/// A number at the start of a line; every number is at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Number {
    /// `1.`
    Top(u16),
    /// `(1)`
    Item(u16),
    /// `①`
    Sub(u8),
}

/// What a line of the input is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind<'a> {
    /// Blank, a page marker or a contents entry: nothing to keep.
    Skip,
    /// The `目次` heading.
    Contents,
    /// A date of 改正 (`revision`) or 制定, as written without spaces.
    Date { revision: bool, raw: String },
    /// A clause number and the text after it.
    Numbered { number: Number, rest: &'a str },
    /// Anything else, trimmed.
    Text(&'a str),
}

struct Line<'a> {
    /// 1-based.
    no: usize,
    raw: &'a str,
    kind: Kind<'a>,
}

fn classify(raw: &str) -> Kind<'_> {
    let line = raw.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if line.is_empty() || is_page_marker(line) || is_contents_entry(line) {
        return Kind::Skip;
    }
    if line
        .chars()
        .filter(|c| !c.is_whitespace())
        .eq("目次".chars())
    {
        return Kind::Contents;
    }
    if let Some(date) = date_line(line) {
        return date;
    }
    match numbered(line) {
        Some((number, rest)) => Kind::Numbered { number, rest },
        None => Kind::Text(line),
    }
}

/// After a `目次` line, the numbered lines up to the second appearance of the first top-level number are the
/// contents: they are skipped. A sentence (a line ending in `。`) before that means there are no contents.
fn skip_contents(lines: &mut [Line<'_>]) {
    let Some(start) = lines.iter().position(|l| l.kind == Kind::Contents) else {
        return;
    };
    let mut first_top = None;
    let mut end = None;
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        match line.kind {
            Kind::Numbered {
                number: Number::Top(n),
                ..
            } => match first_top {
                None => first_top = Some(n),
                Some(first) if first == n => {
                    end = Some(i);
                    break;
                }
                Some(_) => {}
            },
            Kind::Text(text) if text.ends_with('。') => break,
            _ => {}
        }
    }
    if let Some(end) = end {
        lines
            .iter_mut()
            .take(end)
            .skip(start)
            .for_each(|line| line.kind = Kind::Skip);
    }
}

/// `- 2 -`, `－ ３ －`, `2/5`, `２／５`, `3`: a page number on its own line.
fn is_page_marker(line: &str) -> bool {
    let folded = fold_digits_and_dashes(line);
    if let Some(inner) = folded.strip_prefix('-').and_then(|s| s.strip_suffix('-')) {
        return is_page_number(inner);
    }
    if let Some((page, pages)) = folded.split_once('/') {
        return is_page_number(page) && is_page_number(pages);
    }
    is_page_number(&folded)
}

fn is_page_number(s: &str) -> bool {
    (1..=4).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// A line of a table of contents: dot leaders, then a page number (`1. 目的..... - 2 -`, `２．定義・・・・・３`).
fn is_contents_entry(line: &str) -> bool {
    let Some(end) = leader_end(line) else {
        return false;
    };
    let page = fold_digits_and_dashes(line.get(end..).unwrap_or_default());
    is_page_number(page.trim_matches('-'))
}

/// The byte offset just after the last dot of the last run of at least three leader dots (`...`, `・・・`, `……`).
fn leader_end(line: &str) -> Option<usize> {
    let mut run = 0;
    let mut end = None;
    for (i, c) in line.char_indices() {
        let dots = match c {
            '.' | '．' | '・' | '･' | '·' => 1,
            '‥' => 2,
            '…' | '⋯' => 3,
            _ => 0,
        };
        run = if dots == 0 { 0 } else { run + dots };
        if run >= 3 {
            end = Some(i + c.len_utf8());
        }
    }
    end
}

/// Full-width digits and slashes to ASCII, dashes to `-`, whitespace removed.
fn fold_digits_and_dashes(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '－' | '‐' | '−' | '–' | '—' => '-',
            '／' => '/',
            _ => digit_value(c).map_or(c, |d| char::from(b'0' + d)),
        })
        .collect()
}

/// `改正：令和8年5月19日`, `最終改正 令和８年５月１９日`, `制定 平成15年4月1日`, `令和8年5月19日一部改正`.
fn date_line(line: &str) -> Option<Kind<'static>> {
    let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    let compact = compact.strip_prefix("最終").unwrap_or(&compact);
    for (word, revision) in [("改正", true), ("制定", false)] {
        let date = compact
            .strip_prefix(word)
            .map(|rest| rest.trim_start_matches([':', '：']))
            .or_else(|| {
                compact
                    .strip_suffix(word)
                    .map(|rest| rest.strip_suffix("一部").unwrap_or(rest))
            });
        if let Some(date) = date
            && parse_date(date).is_some()
        {
            return Some(Kind::Date {
                revision,
                raw: date.to_owned(),
            });
        }
    }
    None
}

/// The clause number a line starts with, after any bullet, and the text after it.
fn numbered(line: &str) -> Option<(Number, &str)> {
    line.strip_prefix(BULLETS)
        .map(str::trim_start)
        .and_then(number_prefix)
        .or_else(|| number_prefix(line))
}

fn number_prefix(s: &str) -> Option<(Number, &str)> {
    let first = s.chars().next()?;
    let after = s.get(first.len_utf8()..).unwrap_or_default();
    let (number, rest) = if let Some(n) = circled_value(first) {
        (Number::Sub(n), after)
    } else if let Some(n) = offset_from(first, '⑴') {
        (Number::Item(n), after)
    } else if let Some(n) = offset_from(first, '⒈') {
        (Number::Top(n), after)
    } else if matches!(first, '(' | '（') {
        let (n, rest) = leading_number(after)?;
        (Number::Item(n), rest.strip_prefix([')', '）'])?)
    } else {
        let (n, rest) = leading_number(s)?;
        let rest = rest.strip_prefix(['.', '．'])?;
        // 3.5倍 is not a heading.
        if rest.starts_with(|c| digit_value(c).is_some()) {
            return None;
        }
        (Number::Top(n), rest)
    };
    Some((number, rest.trim_start()))
}

/// 1 to 20 for `c` in the run of twenty characters from `first` (`⑴`…`⒇`, `⒈`…`⒛`).
fn offset_from(c: char, first: char) -> Option<u16> {
    let offset = u32::from(c).checked_sub(u32::from(first))?;
    (offset < 20)
        .then(|| u16::try_from(offset + 1).ok())
        .flatten()
}

/// One to three leading digits (ASCII or full-width) making a number of at least 1, and the rest.
fn leading_number(s: &str) -> Option<(u16, &str)> {
    let mut value: u16 = 0;
    let mut end = 0;
    for (count, (i, c)) in s.char_indices().enumerate() {
        let Some(digit) = digit_value(c) else { break };
        if count == 3 {
            return None;
        }
        value = value * 10 + u16::from(digit);
        end = i + c.len_utf8();
    }
    (end > 0 && value >= 1).then(|| (value, s.get(end..).unwrap_or_default()))
}

fn digit_value(c: char) -> Option<u8> {
    match c {
        '0'..='9' | '０'..='９' => {
            let zero = if c.is_ascii() { '0' } else { '０' };
            u8::try_from(u32::from(c) - u32::from(zero)).ok()
        }
        _ => None,
    }
}

/// Closes up letter-spaced runs: `L G W A N 接続系` → `LGWAN接続系`, `サ ン プ ル 市` → `サンプル市`, `目 次` → `目次`.
/// A run is at least three single characters (capitals, digits or Japanese) separated by single spaces, or two
/// Japanese ones; the space joining a run to the next or previous word is closed too where either side is
/// Japanese. Other spacing is kept as it is.
fn collapse_spacing(line: &str) -> String {
    let (words, gaps) = split_words(line);
    let spaced: Vec<bool> = words.iter().map(|w| is_spaced_letter(w)).collect();
    let single = |k: usize| gaps.get(k).is_some_and(|g| g.chars().count() == 1);
    let mut close = vec![false; gaps.len()];
    let mut i = 0;
    while i < words.len() {
        if !spaced[i] {
            i += 1;
            continue;
        }
        let mut j = i;
        while j + 1 < words.len() && spaced[j + 1] && single(j) {
            j += 1;
        }
        let len = j - i + 1;
        if len >= 3 || (len == 2 && words[i..=j].iter().all(|w| !w.is_ascii())) {
            close[i..j].iter_mut().for_each(|c| *c = true);
            if i > 0 && single(i - 1) && japanese_joint(words[i - 1], words[i]) {
                close[i - 1] = true;
            }
            if j + 1 < words.len() && single(j) && japanese_joint(words[j], words[j + 1]) {
                close[j] = true;
            }
        }
        i = j + 1;
    }
    let mut out = String::with_capacity(line.len());
    for (k, word) in words.iter().enumerate() {
        out.push_str(word);
        if let Some(gap) = gaps.get(k)
            && !close[k]
        {
            out.push_str(gap);
        }
    }
    out
}

/// The words of a trimmed line and the whitespace between them (`gaps[k]` follows `words[k]`).
fn split_words(line: &str) -> (Vec<&str>, Vec<&str>) {
    let mut words = Vec::new();
    let mut gaps = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, after) = rest.split_at(end);
        let next = after
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(after.len());
        let (gap, tail) = after.split_at(next);
        words.push(word);
        if !tail.is_empty() {
            gaps.push(gap);
        }
        rest = tail;
    }
    (words, gaps)
}

/// A word of one character that letter-spacing produces: Japanese (any non-ASCII), a capital or a digit.
fn is_spaced_letter(word: &str) -> bool {
    let mut chars = word.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => !c.is_ascii() || c.is_ascii_uppercase() || c.is_ascii_digit(),
        _ => false,
    }
}

fn japanese_joint(before: &str, after: &str) -> bool {
    before.chars().next_back().is_some_and(|c| !c.is_ascii())
        || after.chars().next().is_some_and(|c| !c.is_ascii())
}

/// The text of a line for an error message: trimmed, at most 60 characters.
fn excerpt(raw: &str) -> String {
    let trimmed = raw.trim();
    match trimmed.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", trimmed.get(..cut).unwrap_or(trimmed)),
        None => trimmed.to_owned(),
    }
}

/// Builds the clauses line by line.
#[derive(Default)]
struct Reader {
    title: Option<String>,
    /// (改正 rather than 制定, date as written).
    dates: Vec<(bool, String)>,
    clauses: Vec<ParsedClause>,
    first_lines: HashMap<ClauseId, usize>,
    top: Option<u16>,
    item: Option<u16>,
    /// The last clause's number line had no text: its heading is the next line's.
    heading_pending: bool,
    /// The body of the last clause so far.
    body: Body,
}

impl Reader {
    fn read(&mut self, line: &Line<'_>) -> Result<(), PolicyTextError> {
        match &line.kind {
            Kind::Skip | Kind::Contents => {}
            Kind::Date { revision, raw } => self.dates.push((*revision, raw.clone())),
            Kind::Numbered { number, rest } => self.start(line, *number, rest)?,
            Kind::Text(text) => self.text(text),
        }
        Ok(())
    }

    fn start(
        &mut self,
        line: &Line<'_>,
        number: Number,
        rest: &str,
    ) -> Result<(), PolicyTextError> {
        let before_clause = || PolicyTextError::ItemBeforeClause {
            line: line.no,
            text: excerpt(line.raw),
        };
        let id = match number {
            Number::Top(n) => {
                self.item = None;
                self.top = Some(n);
                ClauseId::new(n, None, None)
            }
            Number::Item(n) => {
                let top = self.top.ok_or_else(before_clause)?;
                self.item = Some(n);
                ClauseId::new(top, Some(n), None)
            }
            Number::Sub(n) => {
                ClauseId::new(self.top.ok_or_else(before_clause)?, self.item, Some(n))
            }
        };
        // Every number read is valid; were one not, its line would simply be text.
        let Some(id) = id else {
            self.text(line.raw.trim());
            return Ok(());
        };
        if let Some(first_line) = self.first_lines.insert(id, line.no) {
            return Err(PolicyTextError::DuplicateClause {
                id: id.to_string(),
                line: line.no,
                first_line,
                text: excerpt(line.raw),
            });
        }
        if self.clauses.len() == MAX_CLAUSES {
            return Err(PolicyTextError::TooManyClauses { line: line.no });
        }
        self.end_clause();
        let heading = collapse_spacing(rest);
        self.heading_pending = heading.is_empty();
        self.clauses.push(ParsedClause {
            id: id.to_string(),
            heading,
            body: String::new(),
            line: line.no,
        });
        Ok(())
    }

    fn text(&mut self, text: &str) {
        let text = collapse_spacing(text);
        match self.clauses.last_mut() {
            None => {
                self.title.get_or_insert(text);
            }
            Some(clause) if self.heading_pending => {
                clause.heading = text;
                self.heading_pending = false;
            }
            Some(_) => self.body.push_line(&text),
        }
    }

    fn end_clause(&mut self) {
        let body = std::mem::take(&mut self.body).text;
        if let Some(clause) = self.clauses.last_mut() {
            clause.body = body;
        }
    }

    fn finish(mut self) -> Result<PolicyText, PolicyTextError> {
        self.end_clause();
        if self.clauses.is_empty() {
            return Err(PolicyTextError::NoClauses);
        }
        let latest = |revision: bool| {
            self.dates
                .iter()
                .filter(|(r, _)| *r == revision)
                .max_by_key(|(_, raw)| parse_date(raw))
                .map(|(_, raw)| raw.clone())
        };
        Ok(PolicyText {
            revised: latest(true).or_else(|| latest(false)),
            title: self.title,
            clauses: self.clauses,
        })
    }
}

/// The body of a clause as it is read: lines joined into paragraphs.
#[derive(Default)]
struct Body {
    text: String,
    /// The last line did not end its paragraph.
    open: bool,
}

impl Body {
    fn push_line(&mut self, line: &str) {
        if !self.text.is_empty() {
            if !self.open || line.starts_with(BULLETS) {
                self.text.push('\n');
            } else if needs_space(&self.text, line) {
                self.text.push(' ');
            }
        }
        self.text.push_str(line);
        self.open = !line.ends_with(PARAGRAPH_ENDS);
    }
}

/// Whether text broken between `before` and `after` needs a space to join: between two English words.
fn needs_space(before: &str, after: &str) -> bool {
    before
        .chars()
        .next_back()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
}

// ----------------------------------------------------------------------------------------------- diff

/// The clauses that differ between two versions, in document order: added, removed, or changed in heading or
/// body. Differences in spacing only (line and page breaks, spaces) do not count.
pub fn diff(old: &PolicyText, new: &PolicyText) -> Vec<ClauseChange> {
    let by_id = |text: &PolicyText| -> HashMap<String, ParsedClause> {
        text.clauses
            .iter()
            .map(|c| (c.id.clone(), c.clone()))
            .collect()
    };
    let (mut old, mut new) = (by_id(old), by_id(new));
    let mut ids: Vec<String> = old.keys().chain(new.keys()).cloned().collect();
    ids.sort_by(|a, b| document_order(a, b));
    ids.dedup();
    ids.into_iter()
        .filter_map(|id| {
            let (old, new) = (old.remove(&id), new.remove(&id));
            let kind = match (&old, &new) {
                (Some(o), Some(n)) if same_text(o, n) => return None,
                (Some(_), Some(_)) => ChangeKind::Changed,
                (Some(_), None) => ChangeKind::Removed,
                (None, _) => ChangeKind::Added,
            };
            Some(ClauseChange { id, kind, old, new })
        })
        .collect()
}

/// Clause numbers in document order (`2(2)` before `2(10)`); anything that is not a clause number last.
fn document_order(a: &str, b: &str) -> Ordering {
    match (ClauseId::parse(a), ClauseId::parse(b)) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => Ordering::Equal,
    }
    .then_with(|| a.cmp(b))
}

fn same_text(a: &ParsedClause, b: &ParsedClause) -> bool {
    squash(&a.heading) == squash(&b.heading) && squash(&a.body) == squash(&b.body)
}

/// Text with its spacing normalised: whitespace removed, except one space between two English words.
fn squash(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if needs_space(&out, word) {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    const SAMPLE: &str = include_str!("../tests/fixtures/sample-policy.txt");

    fn parse(text: &str) -> PolicyText {
        parse_policy_text(text).unwrap()
    }

    fn ids(policy: &PolicyText) -> Vec<&str> {
        policy.clauses.iter().map(|c| c.id.as_str()).collect()
    }

    fn heading<'a>(policy: &'a PolicyText, id: &str) -> &'a str {
        &policy.clause(id).unwrap().heading
    }

    fn body<'a>(policy: &'a PolicyText, id: &str) -> &'a str {
        &policy.clause(id).unwrap().body
    }

    #[test]
    fn the_sample_policy_reads_into_its_clauses() {
        let p = parse(SAMPLE);
        assert_eq!(
            p.title.as_deref(),
            Some("サンプル市情報セキュリティ基本方針")
        );
        assert_eq!(p.revised.as_deref(), Some("令和８年５月１９日"));
        assert_eq!(p.revised_date(), NaiveDate::from_ymd_opt(2026, 5, 19));
        assert_eq!(
            ids(&p),
            [
                "1", "2", "2(1)", "2(2)", "2(3)", "2(4)", "2(5)", "2(6)", "2(7)", "2(8)", "2(9)",
                "2(10)", "2(11)", "2(12)", "3", "3(1)", "3(2)", "3(3)", "4", "4(1)", "4(1)①",
                "4(1)②", "4(2)", "5", "6", "6(1)", "6(2)", "6(3)", "6(3)①", "6(3)②", "6(3)③",
                "6(4)", "6(5)", "6(6)", "6(7)", "6(8)", "7", "8",
            ]
        );
        let headings: Vec<(&str, &str)> = p
            .clauses
            .iter()
            .map(|c| (c.id.as_str(), c.heading.as_str()))
            .collect();
        for expected in [
            ("1", "目的"),
            ("2", "定義"),
            ("2(8)", "個人番号"),
            ("2(10)", "マイナンバー利用事務系（個人番号利用事務系）"),
            ("2(11)", "LGWAN接続系"),
            ("3", "対象とする脅威"),
            (
                "3(1)",
                "外部からの攻撃や内部の不正による情報の漏えい・改ざん",
            ),
            ("3(3)", "地震、火災、風水害などの災害"),
            ("4(1)", "対象とする組織"),
            ("4(1)②", "市の情報ネットワークに接続するその他の組織"),
            ("5", "職員等の遵守義務"),
            ("6", "情報セキュリティ対策"),
            ("6(3)", "情報システム全体の強靱性の向上"),
            (
                "6(3)②",
                "LGWAN接続系とインターネット接続系の間は、無害化した通信のみを許す。",
            ),
            ("6(8)", "業務委託と外部サービスの利用"),
            ("8", "基本方針の見直し"),
        ] {
            assert!(
                headings.contains(&expected),
                "{expected:?} in {headings:#?}"
            );
        }
        assert_eq!(p.clause("1").unwrap().line, 24);
        assert_eq!(p.clause("２（１０）").unwrap().id, "2(10)");
    }

    #[test]
    fn bodies_join_broken_sentences_and_keep_paragraphs() {
        let p = parse(SAMPLE);
        assert_eq!(
            body(&p, "2(8)"),
            "住民票に記された者に割り当てられる番号をいう。"
        );
        assert_eq!(
            body(&p, "2(11)"),
            "LGWANにつながる情報システム及びデータをいう(マイナンバー利用事務系のものを除く。)"
        );
        assert_eq!(
            body(&p, "5"),
            "職員、会計年度任用職員及び派遣職員は、情報セキュリティの重要性を理解し、この方針と関連する規程を守らなければならない。"
        );
        assert_eq!(
            body(&p, "6(8)"),
            "業務を委託するときは、委託先に必要な対策を求め、その実施を確かめる。\n外部のサービスを使うときは、扱う情報に見合った対策がとられていることを確かめる。"
        );
        assert_eq!(
            body(&p, "6(3)"),
            "ネットワークを三つの系に分け、系ごとに次の対策を講じる。"
        );
        assert_eq!(body(&p, "3(1)"), "");
        assert_eq!(
            body(&p, "8"),
            "監査の結果や環境の変化を踏まえ、必要に応じてこの方針を見直す。"
        );
    }

    #[test]
    fn contents_with_dot_leaders_are_not_clauses() {
        let text = "目次\n1. 目的.....\t- 2 -\n２．定義・・・・・３\n3. 脅威……4\n\n1. 目的\n本文。\n2. 定義\n3. 脅威\n";
        let p = parse(text);
        assert_eq!(ids(&p), ["1", "2", "3"]);
        assert_eq!(p.clause("1").unwrap().line, 6);
        // Leaders alone are enough, without a 目次 line.
        let p = parse("1. 目的.....2\n1. 目的\n本文。\n");
        assert_eq!(ids(&p), ["1"]);
    }

    #[test]
    fn contents_without_leaders_end_where_the_first_number_comes_again() {
        let text = "目　次\n1. 目的\n2. 定義\n\n1. 目的\n本文。\n2. 定義\n(1) 用語\n";
        let p = parse(text);
        assert_eq!(ids(&p), ["1", "2", "2(1)"]);
        assert_eq!(p.clause("1").unwrap().line, 5);
        // A 目次 line with no contents after it takes nothing away.
        let p = parse("目次\n1. 目的\nこの方針の目的を示す。\n2. 定義\n");
        assert_eq!(ids(&p), ["1", "2"]);
        assert_eq!(body(&p, "1"), "この方針の目的を示す。");
    }

    #[test]
    fn page_markers_are_dropped() {
        let text = "1. 目的\n情報を\n- 2 -\n守\n－ ３ －\nる\n2/5\nため\n　１２　\nの方針。\n";
        assert_eq!(body(&parse(text), "1"), "情報を守るための方針。");
    }

    #[test]
    fn letter_spaced_words_are_closed_up() {
        for (input, expected) in [
            ("L G W A N 接続系", "LGWAN接続系"),
            ("サ ン プ ル 市", "サンプル市"),
            ("目 次", "目次"),
            ("これは L G W A N に接続する", "これはLGWANに接続する"),
            ("the L G W A N network", "the LGWAN network"),
            ("Ｌ Ｇ Ｗ Ａ Ｎ", "ＬＧＷＡＮ"),
            ("Plan A and B", "Plan A and B"),
            ("a b c d", "a b c d"),
            ("I am a cat", "I am a cat"),
            ("A B", "A B"),
            ("情報  資産", "情報  資産"),
            ("L  G  W", "L  G  W"),
            ("", ""),
        ] {
            assert_eq!(collapse_spacing(input), expected, "{input:?}");
        }
    }

    #[test]
    fn sentences_broken_across_blank_lines_are_joined() {
        let text = "1. 目的\n\nこの方針は、市の情報\n\n資産を守るためのもの\n\n\nである。\n\n次の段落：\n\n続き。\n・箇条の一\n・箇条の二は\n続く。\nplain English words\nwrapped here.\n";
        assert_eq!(
            body(&parse(text), "1"),
            "この方針は、市の情報資産を守るためのものである。\n次の段落：\n続き。\n・箇条の一\n・箇条の二は続く。\nplain English words wrapped here."
        );
    }

    #[test]
    fn bullets_before_numbers_are_stripped() {
        let text =
            "3. 脅威\n- (1) 攻撃\n・(2) 誤り\n● (3) 災害\n● 4. 範囲\n- ① 組織\n・ 番号のない箇条\n";
        let p = parse(text);
        assert_eq!(ids(&p), ["3", "3(1)", "3(2)", "3(3)", "4", "4①"]);
        assert_eq!(heading(&p, "3(2)"), "誤り");
        assert_eq!(heading(&p, "4"), "範囲");
        assert_eq!(body(&p, "4①"), "・ 番号のない箇条");
    }

    #[test]
    fn full_width_and_enclosed_numbers_are_read() {
        let text =
            "１．目的\n２．定義\n（１２）用語\n⑴ 別の書き方\n⒊ 三番目\n3.5倍の余裕を持つ。\n";
        let p = parse(text);
        assert_eq!(ids(&p), ["1", "2", "2(12)", "2(1)", "3"]);
        assert_eq!(heading(&p, "2(12)"), "用語");
        assert_eq!(body(&p, "3"), "3.5倍の余裕を持つ。");
    }

    #[test]
    fn a_sub_item_of_an_item_parses() {
        let text = "6. 対策\n(3) 強靱性\n概要。\n① マイナンバー系を分ける。\n② インターネット系を見張る。\n(4) 物理\n① 施錠する。\n";
        let p = parse(text);
        assert_eq!(ids(&p), ["6", "6(3)", "6(3)①", "6(3)②", "6(4)", "6(4)①"]);
        assert_eq!(heading(&p, "6(3)①"), "マイナンバー系を分ける。");
        assert_eq!(body(&p, "6(3)"), "概要。");
        assert_eq!(p.clause("6(3)②").unwrap().line, 5);
    }

    #[test]
    fn an_empty_heading_line_takes_the_next_line() {
        let text = "1.\n\n目的\n本文。\n(1)\n- 3 -\n用語\n";
        let p = parse(text);
        assert_eq!(heading(&p, "1"), "目的");
        assert_eq!(body(&p, "1"), "本文。");
        assert_eq!(heading(&p, "1(1)"), "用語");
        assert_eq!(p.clause("1(1)").unwrap().line, 5);
    }

    #[test]
    fn revision_dates_are_read_and_the_latest_wins() {
        let p = parse(
            "方針\n改正：令和8年5月19日\n改正 令和２年４月１日\n制定 平成15年4月1日\n1. 目的\n",
        );
        assert_eq!(p.revised.as_deref(), Some("令和8年5月19日"));
        assert_eq!(p.title.as_deref(), Some("方針"));
        let p = parse("制定 平成15年4月1日\n1. 目的\n本文。\n令和3年4月1日一部改正\n");
        assert_eq!(p.revised.as_deref(), Some("令和3年4月1日"));
        assert_eq!(body(&p, "1"), "本文。");
        let p = parse("制定 平成15年4月1日\n1. 目的\n");
        assert_eq!(p.revised_date(), NaiveDate::from_ymd_opt(2003, 4, 1));
        let p = parse("1. 目的\n規程を改正するときは届け出る。\n");
        assert_eq!(p.revised, None);
        assert_eq!(body(&p, "1"), "規程を改正するときは届け出る。");
    }

    #[test]
    fn errors_name_the_line_and_the_text() {
        let e = parse_policy_text("1. 目的\n(1) 一\n(1) 二\n").unwrap_err();
        assert_eq!(e.code(), "policy_text.duplicate_clause");
        assert_eq!(e.line(), Some(3));
        assert_eq!(
            e.to_string(),
            r#"line 3: clause 1(1) appears a second time (first on line 2): "(1) 二""#
        );
        assert_eq!(
            e.message(Lang::Ja),
            "3 行目: 条項 1(1) が2度目に現れました（最初は 2 行目）。「(1) 二」"
        );
        assert!(e.message(Lang::En).starts_with("Line 3: clause 1(1)"));

        let e = parse_policy_text("前文\n\n- (1) 不正アクセス\n2. 定義\n").unwrap_err();
        assert_eq!(e.code(), "policy_text.item_before_clause");
        assert_eq!(e.line(), Some(3));
        assert!(e.to_string().contains("\"- (1) 不正アクセス\""), "{e}");
        assert!(
            e.message(Lang::Ja)
                .starts_with("3 行目: 「- (1) 不正アクセス」")
        );
        let e = parse_policy_text("① 先頭\n").unwrap_err();
        assert_eq!(e.code(), "policy_text.item_before_clause");

        let e = parse_policy_text("題\n\n本文だけの文書。\n").unwrap_err();
        assert_eq!(e, PolicyTextError::NoClauses);
        assert_eq!(e.line(), None);
        assert!(
            e.message(Lang::Ja)
                .contains("番号の付いた条項が見つかりません")
        );
        assert_eq!(
            parse_policy_text("").unwrap_err(),
            PolicyTextError::NoClauses
        );

        let long = format!("1. 目的\n1. {}\n", "長".repeat(100));
        let PolicyTextError::DuplicateClause { text, .. } = parse_policy_text(&long).unwrap_err()
        else {
            panic!("expected a duplicate");
        };
        assert_eq!(text.chars().count(), 61);
        assert!(text.ends_with('…'));
    }

    #[test]
    fn oversized_texts_are_refused() {
        let big = "あ".repeat(MAX_BYTES / 3 + 1);
        let e = parse_policy_text(&big).unwrap_err();
        assert_eq!(e.code(), "policy_text.too_large");
        assert!(e.message(Lang::Ja).contains("2 MiB"));

        let mut many = String::from("1. 一\n");
        for n in 1..=MAX_CLAUSES {
            let top = n / 400 + 2;
            if n % 400 == 1 {
                many.push_str(&format!("{top}. 見出し\n"));
            }
            many.push_str(&format!("({}) 項\n", n % 400 + 1));
        }
        let e = parse_policy_text(&many).unwrap_err();
        assert_eq!(e.code(), "policy_text.too_many_clauses");
        assert!(e.line().is_some());
    }

    #[test]
    fn diff_finds_added_removed_and_changed_clauses() {
        let old = parse(
            "1. 目的\n方針を定める。\n2. 定義\n(2) 資産\n情報をいう。\n(3) 消える項\n(10) 番号\n番号をいう。\n",
        );
        let new = parse(
            "1. 目的\n方針を\n\n- 2 -\n\n定める。\n2. 定義\n(2) 資産\n情報及び機器をいう。\n(10) 個人番号\n番号をいう。\n(11) 新しい項\n",
        );
        let changes = diff(&old, &new);
        let summary: Vec<(&str, ChangeKind)> =
            changes.iter().map(|c| (c.id.as_str(), c.kind)).collect();
        assert_eq!(
            summary,
            [
                ("2(2)", ChangeKind::Changed),
                ("2(3)", ChangeKind::Removed),
                ("2(10)", ChangeKind::Changed),
                ("2(11)", ChangeKind::Added),
            ]
        );
        let changed = &changes[0];
        assert_eq!(changed.old.as_ref().unwrap().body, "情報をいう。");
        assert_eq!(changed.new.as_ref().unwrap().body, "情報及び機器をいう。");
        assert!(changes[1].new.is_none() && changes[1].old.is_some());
        assert!(changes[3].old.is_none());
        assert_eq!(changes[3].new.as_ref().unwrap().heading, "新しい項");
    }

    #[test]
    fn diff_ignores_spacing_and_page_breaks() {
        let old = parse(SAMPLE);
        let reflowed = SAMPLE
            .replace(
                "個人番号を使う事務に関わる情報システム及びデー\n\nタをいう。",
                "個人番号を使う事務に関わる\n\n- 9 -\n\n情報システム及びデータをいう。",
            )
            .replace("1. 目的", "1.　目的 ");
        assert_ne!(reflowed, SAMPLE);
        let new = parse(&reflowed);
        assert_eq!(diff(&old, &new), []);
        assert_eq!(diff(&old, &old), []);
        let spaced = PolicyText {
            clauses: vec![ParsedClause {
                body: "本文 を 書く。\nplain  words".into(),
                ..old.clauses[0].clone()
            }],
            ..old.clone()
        };
        let tight = PolicyText {
            clauses: vec![ParsedClause {
                body: "本文を書く。plain words".into(),
                ..old.clauses[0].clone()
            }],
            ..old.clone()
        };
        assert_eq!(diff(&spaced, &tight), []);
        let glued = PolicyText {
            clauses: vec![ParsedClause {
                body: "本文を書く。plainwords".into(),
                ..old.clauses[0].clone()
            }],
            ..old
        };
        assert_eq!(diff(&spaced, &glued).len(), 1);
    }
}
