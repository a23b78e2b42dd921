//! 2(4)–(11) and 6(2) 情報資産の分類: every information asset is classified by 機密性 (confidentiality),
//! 完全性 (integrity) and 可用性 (availability), and each level carries 取扱制限 (handling restrictions).
//!
//! The schemes are data, not code: `catalog/classification/*.toml` at the top of the repository. Two are
//! built in ([`Scheme::builtin`]): `mic-2024` (the 2024 MIC guideline: 機密性 1, 2, 3C, 3B, 3A) and `mic-legacy`
//! (the guideline before it: 機密性 1, 2, 3). A city adapts a text by editing a copy, or adds its own scheme by
//! copying a file, changing its `id` and putting it in the catalogue directory; [`Scheme::from_toml`] reads
//! and validates it. Texts marked `example` are unverified examples the city must adapt.
//!
//! A [`Level`] can only be obtained from a [`Scheme`] (by parsing or looking up an id), so a [`Classification`]
//! never holds a level its scheme does not define.
//!
//! Also here: [`VariantTable`], the 異体字 (variant character) folding table for search keys
//! (`catalog/itaiji.toml`).

use std::collections::HashSet;
use std::ops::Range;
use std::sync::LazyLock;

use toml::Spanned;

use crate::{UnknownCode, fold, fold_chars};

/// A text in both languages Mamori speaks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// Japanese.
    pub ja: String,
    /// English.
    pub en: String,
}

impl Text {
    pub fn new(ja: impl Into<String>, en: impl Into<String>) -> Self {
        Text {
            ja: ja.into(),
            en: en.into(),
        }
    }

    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ja => &self.ja,
            Lang::En => &self.en,
        }
    }
}

/// A text in both languages, fixed at compile time (the titles and rules of the compliance checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct StaticText {
    /// Japanese.
    pub ja: &'static str,
    /// English.
    pub en: &'static str,
}

impl StaticText {
    pub const fn new(ja: &'static str, en: &'static str) -> Self {
        StaticText { ja, en }
    }

    /// The text in `lang`.
    pub fn get(self, lang: Lang) -> &'static str {
        match lang {
            Lang::Ja => self.ja,
            Lang::En => self.en,
        }
    }

    /// An owned copy.
    pub fn to_text(self) -> Text {
        Text::new(self.ja, self.en)
    }
}

/// A language of the user interface. Japanese is the default.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// 日本語.
    #[default]
    Ja,
    /// English.
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Ja, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// Accepts `ja` or `en` in any case, with or without a region (`ja-JP`, `en_GB`).
    pub fn parse(input: &str) -> Result<Self, UnknownCode> {
        let primary = input
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|l| l.code() == primary)
            .ok_or_else(|| UnknownCode {
                vocabulary: "language",
                value: input.to_owned(),
            })
    }
}

/// 2(4)–(6) a point of view from which an asset is classified.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Axis {
    /// 機密性: only those allowed may see it.
    #[serde(alias = "c")]
    Confidentiality,
    /// 完全性: it is accurate and has not been tampered with.
    #[serde(alias = "i")]
    Integrity,
    /// 可用性: it can be used when it is needed.
    #[serde(alias = "a")]
    Availability,
}

impl Axis {
    pub const ALL: [Axis; 3] = [Axis::Confidentiality, Axis::Integrity, Axis::Availability];

    /// `c`, `i`, `a`.
    pub fn code(self) -> &'static str {
        match self {
            Axis::Confidentiality => "c",
            Axis::Integrity => "i",
            Axis::Availability => "a",
        }
    }

    /// Accepts the code (`c`), the English name (`confidentiality`) or the Japanese one (`機密性`).
    pub fn parse(input: &str) -> Result<Self, UnknownCode> {
        let key = fold(input);
        Self::ALL
            .into_iter()
            .find(|a| {
                key == a.code()
                    || fold_chars(a.name(Lang::En)).eq(key.chars())
                    || a.name(Lang::Ja) == key
            })
            .ok_or_else(|| UnknownCode {
                vocabulary: "classification axis",
                value: input.to_owned(),
            })
    }

    /// 機密性 / Confidentiality.
    pub fn name(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Axis::Confidentiality, Lang::Ja) => "機密性",
            (Axis::Integrity, Lang::Ja) => "完全性",
            (Axis::Availability, Lang::Ja) => "可用性",
            (Axis::Confidentiality, Lang::En) => "Confidentiality",
            (Axis::Integrity, Lang::En) => "Integrity",
            (Axis::Availability, Lang::En) => "Availability",
        }
    }

    /// `C`, `I`, `A`: the letter of the short label (`C3B-I2-A2`).
    pub fn letter(self) -> char {
        match self {
            Axis::Confidentiality => 'C',
            Axis::Integrity => 'I',
            Axis::Availability => 'A',
        }
    }

    fn index(self) -> usize {
        match self {
            Axis::Confidentiality => 0,
            Axis::Integrity => 1,
            Axis::Availability => 2,
        }
    }

    /// The English name in upper case, as level input is compared after folding.
    fn name_upper(self) -> &'static str {
        match self {
            Axis::Confidentiality => "CONFIDENTIALITY",
            Axis::Integrity => "INTEGRITY",
            Axis::Availability => "AVAILABILITY",
        }
    }
}

/// A level of one axis, as a scheme defines it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LevelDef {
    /// The stable id (`3B`), 1–4 letters or digits, unique on its axis regardless of case.
    pub id: String,
    /// The full name (`自治体機密性3B`).
    pub name: Text,
    /// What belongs at this level.
    pub description: Text,
    /// An unverified example text the city must adapt.
    pub example: bool,
}

/// A 取扱制限 (handling restriction): applies to `min_level` and every higher level of `axis`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RestrictionDef {
    /// The stable id (`c-encrypt-in-transit`), unique in the scheme.
    pub id: String,
    pub axis: Axis,
    /// The id of the lowest level it applies to.
    pub min_level: String,
    pub text: Text,
    /// An unverified example text the city must adapt.
    pub example: bool,
    #[serde(skip)]
    min_rank: u8,
}

impl RestrictionDef {
    /// The rank of [`Self::min_level`].
    pub fn min_rank(&self) -> u8 {
        self.min_rank
    }

    /// Whether the restriction applies to an asset at `level`.
    pub fn applies_to(&self, level: Level) -> bool {
        level.axis == self.axis && level.rank >= self.min_rank
    }
}

/// Settings of a scheme that the checks use. Configurable per city.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SchemeSettings {
    /// 2(9)–(10) the lowest confidentiality level for an asset holding 個人情報 (personal information).
    pub min_confidentiality_personal: String,
    /// 2(11) the lowest confidentiality level for an asset holding 特定個人情報 (specific personal information).
    pub min_confidentiality_specific_personal: String,
    /// The settings are unverified examples the city must adapt.
    pub example: bool,
}

/// A level of one axis of one scheme: a small value that only a [`Scheme`] hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Level {
    axis: Axis,
    rank: u8,
}

impl Level {
    pub fn axis(self) -> Axis {
        self.axis
    }

    /// 0 for the lowest level of the axis.
    pub fn rank(self) -> u8 {
        self.rank
    }

    /// Whether this level is `min` or higher (always false across axes).
    pub fn at_least(self, min: Level) -> bool {
        self.axis == min.axis && self.rank >= min.rank
    }
}

/// A level of one axis was given where another axis's belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {} level was given where a {} level belongs", .found.name(Lang::En), .expected.name(Lang::En))]
pub struct AxisMismatch {
    pub expected: Axis,
    pub found: Axis,
}

/// How an asset is classified; an axis may not be classified yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Classification {
    c: Option<Level>,
    i: Option<Level>,
    a: Option<Level>,
}

impl Classification {
    /// Nothing classified yet.
    pub const UNCLASSIFIED: Classification = Classification {
        c: None,
        i: None,
        a: None,
    };

    /// From levels of the right axes; a level of another axis is refused.
    pub fn new(c: Option<Level>, i: Option<Level>, a: Option<Level>) -> Result<Self, AxisMismatch> {
        for (expected, level) in Axis::ALL.into_iter().zip([c, i, a]) {
            if let Some(level) = level
                && level.axis != expected
            {
                return Err(AxisMismatch {
                    expected,
                    found: level.axis,
                });
            }
        }
        Ok(Classification { c, i, a })
    }

    /// This classification with `level` set on its own axis.
    pub fn with(mut self, level: Level) -> Self {
        *self.slot(level.axis) = Some(level);
        self
    }

    /// This classification with `axis` not classified.
    pub fn without(mut self, axis: Axis) -> Self {
        *self.slot(axis) = None;
        self
    }

    fn slot(&mut self, axis: Axis) -> &mut Option<Level> {
        match axis {
            Axis::Confidentiality => &mut self.c,
            Axis::Integrity => &mut self.i,
            Axis::Availability => &mut self.a,
        }
    }

    /// The level on `axis`, if classified.
    pub fn get(&self, axis: Axis) -> Option<Level> {
        match axis {
            Axis::Confidentiality => self.c,
            Axis::Integrity => self.i,
            Axis::Availability => self.a,
        }
    }

    /// 機密性.
    pub fn c(&self) -> Option<Level> {
        self.c
    }

    /// 完全性.
    pub fn i(&self) -> Option<Level> {
        self.i
    }

    /// 可用性.
    pub fn a(&self) -> Option<Level> {
        self.a
    }

    /// Whether every axis is classified.
    pub fn is_complete(&self) -> bool {
        self.c.is_some() && self.i.is_some() && self.a.is_some()
    }

    /// The axes not classified yet, in axis order.
    pub fn unclassified_axes(self) -> impl Iterator<Item = Axis> {
        Axis::ALL
            .into_iter()
            .filter(move |axis| self.get(*axis).is_none())
    }
}

/// A level given as text that the scheme does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LevelError {
    /// Nothing was given.
    #[error("no {} level given (levels: {levels})", .axis.name(Lang::En).to_lowercase())]
    Empty { axis: Axis, levels: String },
    /// Not a level of the axis.
    #[error("{input:?} is not a {} level (levels: {levels})", .axis.name(Lang::En).to_lowercase())]
    UnknownLevel {
        input: String,
        axis: Axis,
        levels: String,
    },
    /// A level of another axis (`完全性2` given for confidentiality).
    #[error("{input:?} is a {} level, not a {} level (levels: {levels})", .found.name(Lang::En).to_lowercase(), .axis.name(Lang::En).to_lowercase())]
    WrongAxis {
        input: String,
        axis: Axis,
        found: Axis,
        levels: String,
    },
}

impl LevelError {
    /// A stable code for messages and tests: `classify.empty`, `classify.unknown_level`, `classify.wrong_axis`.
    pub fn code(&self) -> &'static str {
        match self {
            LevelError::Empty { .. } => "classify.empty",
            LevelError::UnknownLevel { .. } => "classify.unknown_level",
            LevelError::WrongAxis { .. } => "classify.wrong_axis",
        }
    }

    /// The axis a level was asked for.
    pub fn axis(&self) -> Axis {
        match self {
            LevelError::Empty { axis, .. }
            | LevelError::UnknownLevel { axis, .. }
            | LevelError::WrongAxis { axis, .. } => *axis,
        }
    }

    /// What was given (empty for [`LevelError::Empty`]).
    pub fn input(&self) -> &str {
        match self {
            LevelError::Empty { .. } => "",
            LevelError::UnknownLevel { input, .. } | LevelError::WrongAxis { input, .. } => input,
        }
    }

    /// The levels the axis accepts, lowest first: `1, 2, 3C, 3B, 3A`.
    pub fn levels(&self) -> &str {
        match self {
            LevelError::Empty { levels, .. }
            | LevelError::UnknownLevel { levels, .. }
            | LevelError::WrongAxis { levels, .. } => levels,
        }
    }

    /// The message for a user, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (LevelError::Empty { axis, levels }, Lang::Ja) => {
                format!(
                    "{}の区分が入力されていません（区分: {levels}）。",
                    axis.name(lang)
                )
            }
            (
                LevelError::UnknownLevel {
                    input,
                    axis,
                    levels,
                },
                Lang::Ja,
            ) => {
                format!(
                    "「{input}」は{}の区分ではありません（区分: {levels}）。",
                    axis.name(lang)
                )
            }
            (
                LevelError::WrongAxis {
                    input,
                    axis,
                    found,
                    levels,
                },
                Lang::Ja,
            ) => format!(
                "「{input}」は{}の区分です。{}の区分を入力してください（区分: {levels}）。",
                found.name(lang),
                axis.name(lang)
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

/// A catalogue file that cannot be used: what is wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// Not TOML, or not the shape a catalogue file has (a missing or unknown key, a wrong type).
    #[error("{}{message}", location(.line, .column))]
    Syntax {
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
    /// Well-formed, but against a rule of the catalogue (a duplicate id, an unknown level …).
    /// `path` is the key path, e.g. `levels.confidentiality[2].id`.
    #[error("{}{path}: {message}", location(.line, &None))]
    Invalid {
        path: String,
        line: Option<usize>,
        message: String,
    },
}

impl CatalogError {
    /// `catalog.syntax` or `catalog.invalid`.
    pub fn code(&self) -> &'static str {
        match self {
            CatalogError::Syntax { .. } => "catalog.syntax",
            CatalogError::Invalid { .. } => "catalog.invalid",
        }
    }

    /// The 1-based line in the file, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            CatalogError::Syntax { line, .. } | CatalogError::Invalid { line, .. } => *line,
        }
    }

    /// A TOML syntax error, with its line and column in `text`.
    pub(crate) fn syntax(text: &str, error: &toml::de::Error) -> Self {
        let (line, column) = match error.span() {
            Some(span) => {
                let (line, column) = line_column(text, span.start);
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        CatalogError::Syntax {
            line,
            column,
            message: error.message().trim().to_owned(),
        }
    }

    fn invalid(text: &str, path: impl Into<String>, span: Range<usize>, message: String) -> Self {
        CatalogError::Invalid {
            path: path.into(),
            line: Some(line_column(text, span.start).0),
            message,
        }
    }
}

fn location(line: &Option<usize>, column: &Option<usize>) -> String {
    match (*line, *column) {
        (Some(line), Some(column)) => format!("line {line}, column {column}: "),
        (Some(line), None) => format!("line {line}: "),
        _ => String::new(),
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

// ----------------------------------------------------------------------------------------------- file shape

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemeFile {
    id: Spanned<String>,
    name: Text,
    source: Text,
    settings: SettingsFile,
    #[serde(default)]
    levels: LevelsFile,
    #[serde(default)]
    restrictions: Vec<RestrictionFile>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    min_confidentiality_personal: Spanned<String>,
    min_confidentiality_specific_personal: Spanned<String>,
    #[serde(default)]
    example: bool,
}

#[derive(Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelsFile {
    #[serde(default)]
    confidentiality: Vec<Spanned<LevelFile>>,
    #[serde(default)]
    integrity: Vec<Spanned<LevelFile>>,
    #[serde(default)]
    availability: Vec<Spanned<LevelFile>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelFile {
    id: Spanned<String>,
    name: Text,
    description: Text,
    #[serde(default)]
    example: bool,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RestrictionFile {
    id: Spanned<String>,
    axis: Axis,
    min_level: Spanned<String>,
    text: Text,
    #[serde(default)]
    example: bool,
}

fn is_scheme_id(id: &str) -> bool {
    (1..=40).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_level_id(id: &str) -> bool {
    (1..=4).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn is_restriction_id(id: &str) -> bool {
    (1..=60).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The form in which level input and level ids are compared: NFKC, no whitespace, upper case.
fn level_key(input: &str) -> String {
    fold_chars(input).flat_map(char::to_uppercase).collect()
}

fn field_path(axis: Axis) -> &'static str {
    match axis {
        Axis::Confidentiality => "levels.confidentiality",
        Axis::Integrity => "levels.integrity",
        Axis::Availability => "levels.availability",
    }
}

// ----------------------------------------------------------------------------------------------- scheme

/// The built-in scheme files: (file name, contents).
pub const BUILTIN_SCHEME_FILES: [(&str, &str); 2] = [
    (
        "mic-2024.toml",
        include_str!("../../../catalog/classification/mic-2024.toml"),
    ),
    (
        "mic-legacy.toml",
        include_str!("../../../catalog/classification/mic-legacy.toml"),
    ),
];

static BUILTIN: LazyLock<Vec<Scheme>> = LazyLock::new(|| {
    // The files are compiled in and a test loads each, so none is skipped in practice.
    BUILTIN_SCHEME_FILES
        .iter()
        .filter_map(|(_, text)| Scheme::from_toml(text).ok())
        .collect()
});

/// A classification scheme, read from a catalogue file and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheme {
    id: String,
    name: Text,
    source: Text,
    levels: [Vec<LevelDef>; 3],
    restrictions: Vec<RestrictionDef>,
    settings: SchemeSettings,
    min_personal: Level,
    min_specific: Level,
    /// Per axis: the folded ids, then the folded full names, each with its rank.
    keys: [Vec<(String, u8)>; 3],
    /// Per axis: `1, 2, 3C, 3B, 3A`.
    level_lists: [String; 3],
}

impl Scheme {
    /// Reads and validates a scheme file: level ids `[A-Za-z0-9]{1,4}` unique per axis (regardless of case), at
    /// least one level per axis, a scheme id `[a-z0-9-]{1,40}`, restriction ids `[a-z0-9-]{1,60}` unique,
    /// restriction `min_level`s and the settings naming existing levels, and the minimum for 特定個人情報 not
    /// below the one for 個人情報.
    pub fn from_toml(text: &str) -> Result<Scheme, CatalogError> {
        let file: SchemeFile = toml::from_str(text).map_err(|e| CatalogError::syntax(text, &e))?;
        let invalid = |path: String, span: Range<usize>, message: String| {
            CatalogError::invalid(text, path, span, message)
        };

        if !is_scheme_id(file.id.get_ref()) {
            return Err(invalid(
                "id".into(),
                file.id.span(),
                format!(
                    "{:?} is not a scheme id: use 1-40 lower-case letters, digits or hyphens",
                    file.id.get_ref()
                ),
            ));
        }

        let mut levels: [Vec<LevelDef>; 3] = Default::default();
        let mut keys: [Vec<(String, u8)>; 3] = Default::default();
        let mut level_lists: [String; 3] = Default::default();
        let files = [
            file.levels.confidentiality,
            file.levels.integrity,
            file.levels.availability,
        ];
        for (axis, defs) in Axis::ALL.into_iter().zip(files) {
            let path = field_path(axis);
            if defs.is_empty() {
                return Err(CatalogError::Invalid {
                    path: path.into(),
                    line: None,
                    message: format!(
                        "no {} level: add at least one [[{path}]] table",
                        axis.name(Lang::En).to_lowercase()
                    ),
                });
            }
            if defs.len() > usize::from(u8::MAX) {
                return Err(invalid(
                    path.into(),
                    defs[0].span(),
                    format!("too many levels ({}); at most 255", defs.len()),
                ));
            }
            let mut seen: Vec<String> = Vec::with_capacity(defs.len());
            let mut names = Vec::with_capacity(defs.len());
            for (rank, def) in defs.into_iter().enumerate() {
                let def = def.into_inner();
                let id = def.id.get_ref();
                let at = format!("{path}[{rank}].id");
                if !is_level_id(id) {
                    return Err(invalid(
                        at,
                        def.id.span(),
                        format!("{id:?} is not a level id: use 1-4 letters or digits"),
                    ));
                }
                let key = level_key(id);
                if let Some(previous) = seen.iter().position(|k| *k == key) {
                    return Err(invalid(
                        at,
                        def.id.span(),
                        format!(
                            "{id:?} repeats the level id {:?} of {path}[{previous}]",
                            levels[axis.index()][previous].id
                        ),
                    ));
                }
                let rank = rank as u8; // at most 255 levels, checked above
                keys[axis.index()].push((key.clone(), rank));
                seen.push(key);
                names.push((level_key(&def.name.ja), rank));
                names.push((level_key(&def.name.en), rank));
                levels[axis.index()].push(LevelDef {
                    id: def.id.into_inner(),
                    name: def.name,
                    description: def.description,
                    example: def.example,
                });
            }
            keys[axis.index()].extend(names.into_iter().filter(|(k, _)| !k.is_empty()));
            level_lists[axis.index()] = levels[axis.index()]
                .iter()
                .map(|l| l.id.as_str())
                .collect::<Vec<_>>()
                .join(", ");
        }

        let find = |axis: Axis, id: &str| -> Option<u8> {
            let key = level_key(id);
            keys[axis.index()]
                .iter()
                .take(levels[axis.index()].len())
                .find(|(k, _)| *k == key)
                .map(|(_, rank)| *rank)
        };
        let unknown_level = |axis: Axis, id: &str| {
            format!(
                "{id:?} is not a {} level of this scheme (levels: {})",
                axis.name(Lang::En).to_lowercase(),
                level_lists[axis.index()]
            )
        };

        let mut restrictions = Vec::with_capacity(file.restrictions.len());
        let mut restriction_ids = HashSet::new();
        for (n, r) in file.restrictions.into_iter().enumerate() {
            let id = r.id.get_ref();
            if !is_restriction_id(id) {
                return Err(invalid(
                    format!("restrictions[{n}].id"),
                    r.id.span(),
                    format!(
                        "{id:?} is not a restriction id: use 1-60 lower-case letters, digits or hyphens"
                    ),
                ));
            }
            if !restriction_ids.insert(id.clone()) {
                return Err(invalid(
                    format!("restrictions[{n}].id"),
                    r.id.span(),
                    format!("the restriction id {id:?} is used twice"),
                ));
            }
            let Some(min_rank) = find(r.axis, r.min_level.get_ref()) else {
                return Err(invalid(
                    format!("restrictions[{n}].min_level"),
                    r.min_level.span(),
                    unknown_level(r.axis, r.min_level.get_ref()),
                ));
            };
            restrictions.push(RestrictionDef {
                id: r.id.into_inner(),
                axis: r.axis,
                min_level: levels[r.axis.index()][usize::from(min_rank)].id.clone(),
                text: r.text,
                example: r.example,
                min_rank,
            });
        }
        // Axis order, then file order.
        restrictions.sort_by_key(|r| r.axis);

        let settings = file.settings;
        let setting = |key: &str, value: &Spanned<String>| -> Result<Level, CatalogError> {
            find(Axis::Confidentiality, value.get_ref())
                .map(|rank| Level {
                    axis: Axis::Confidentiality,
                    rank,
                })
                .ok_or_else(|| {
                    invalid(
                        format!("settings.{key}"),
                        value.span(),
                        unknown_level(Axis::Confidentiality, value.get_ref()),
                    )
                })
        };
        let min_personal = setting(
            "min_confidentiality_personal",
            &settings.min_confidentiality_personal,
        )?;
        let min_specific = setting(
            "min_confidentiality_specific_personal",
            &settings.min_confidentiality_specific_personal,
        )?;
        if !min_specific.at_least(min_personal) {
            return Err(invalid(
                "settings.min_confidentiality_specific_personal".into(),
                settings.min_confidentiality_specific_personal.span(),
                "is below min_confidentiality_personal: specific personal information is personal information too"
                    .into(),
            ));
        }
        let level_id = |level: Level| levels[0][usize::from(level.rank)].id.clone();

        Ok(Scheme {
            id: file.id.into_inner(),
            name: file.name,
            source: file.source,
            settings: SchemeSettings {
                min_confidentiality_personal: level_id(min_personal),
                min_confidentiality_specific_personal: level_id(min_specific),
                example: settings.example,
            },
            levels,
            restrictions,
            min_personal,
            min_specific,
            keys,
            level_lists,
        })
    }

    /// The schemes shipped with Mamori (`mic-2024`, `mic-legacy`), read once.
    pub fn builtin() -> &'static [Scheme] {
        &BUILTIN
    }

    /// A built-in scheme by id.
    pub fn builtin_by_id(id: &str) -> Option<&'static Scheme> {
        BUILTIN.iter().find(|s| s.id == id)
    }

    /// The stable id (`mic-2024`).
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn name(&self) -> &Text {
        &self.name
    }

    /// Where the scheme comes from.
    pub fn source(&self) -> &Text {
        &self.source
    }

    pub fn settings(&self) -> &SchemeSettings {
        &self.settings
    }

    /// The levels of `axis`, lowest first.
    pub fn levels(&self, axis: Axis) -> &[LevelDef] {
        &self.levels[axis.index()]
    }

    /// The levels of `axis` as a list for messages: `1, 2, 3C, 3B, 3A`.
    pub fn accepted_levels(&self, axis: Axis) -> &str {
        &self.level_lists[axis.index()]
    }

    /// The rank (0 = lowest) of the level `id` of `axis`; ids compare regardless of case and width.
    pub fn rank(&self, axis: Axis, id: &str) -> Option<u8> {
        let key = level_key(id);
        self.keys[axis.index()]
            .iter()
            .take(self.levels(axis).len())
            .find(|(k, _)| *k == key)
            .map(|(_, rank)| *rank)
    }

    /// The definition of the level at `rank` of `axis`.
    pub fn level(&self, axis: Axis, rank: u8) -> Option<&LevelDef> {
        self.levels(axis).get(usize::from(rank))
    }

    /// The level `id` of `axis` (exactly an id, regardless of case and width; see [`Self::parse_level`] for input).
    pub fn level_by_id(&self, axis: Axis, id: &str) -> Option<Level> {
        self.rank(axis, id).map(|rank| Level { axis, rank })
    }

    /// The lowest level of `axis`.
    pub fn lowest(&self, axis: Axis) -> Level {
        Level { axis, rank: 0 }
    }

    /// The highest level of `axis`.
    pub fn highest(&self, axis: Axis) -> Level {
        let rank = self.levels(axis).len().saturating_sub(1);
        Level {
            axis,
            rank: u8::try_from(rank).unwrap_or(u8::MAX),
        }
    }

    /// The definition of `level` (`None` only for a level of another scheme with more levels).
    pub fn level_def(&self, level: Level) -> Option<&LevelDef> {
        self.level(level.axis, level.rank)
    }

    /// The id of `level` (`3B`); `?` for a level this scheme does not have.
    pub fn level_id(&self, level: Level) -> &str {
        self.level_def(level).map_or("?", |l| l.id.as_str())
    }

    /// `機密性3B` / `Confidentiality 3B`.
    pub fn level_label(&self, level: Level, lang: Lang) -> String {
        match lang {
            Lang::Ja => format!("{}{}", level.axis.name(lang), self.level_id(level)),
            Lang::En => format!("{} {}", level.axis.name(lang), self.level_id(level)),
        }
    }

    /// Reads a level of `axis` as people write it: `3B`, `3b`, `３Ｂ`, `機密性3B`, `機密性 3B`, `自治体機密性3B`,
    /// `C3B`, `c3b`, `Confidentiality 3B`, the level's full name; `完全性2`/`I2`, `可用性2`/`A2` on their axes.
    /// A level of another axis, an unknown level or nothing at all is refused.
    pub fn parse_level(&self, axis: Axis, input: &str) -> Result<Level, LevelError> {
        let levels = || self.accepted_levels(axis).to_owned();
        let key = level_key(input);
        if key.is_empty() {
            return Err(LevelError::Empty {
                axis,
                levels: levels(),
            });
        }
        let lookup = |axis: Axis, key: &str| {
            let key = key.trim_start_matches([':', '-', '_', '.', '・']);
            self.keys[axis.index()]
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, rank)| Level { axis, rank: *rank })
        };
        let unknown = || LevelError::UnknownLevel {
            input: input.to_owned(),
            axis,
            levels: levels(),
        };
        let wrong = |found: Axis| LevelError::WrongAxis {
            input: input.to_owned(),
            axis,
            found,
            levels: levels(),
        };
        if let Some(level) = lookup(axis, &key) {
            return Ok(level);
        }
        // 機密性3B, 自治体機密性3B, CONFIDENTIALITY3B.
        let named = key.strip_prefix("自治体").unwrap_or(&key);
        for other in Axis::ALL {
            let rest = named
                .strip_prefix(other.name(Lang::Ja))
                .or_else(|| named.strip_prefix(other.name_upper()));
            if let Some(rest) = rest {
                return if other == axis {
                    lookup(axis, rest).ok_or_else(unknown)
                } else {
                    Err(wrong(other))
                };
            }
        }
        // C3B, I2, A2.
        for other in Axis::ALL {
            if let Some(rest) = key.strip_prefix(other.letter())
                && let Some(level) = lookup(other, rest)
            {
                return if other == axis {
                    Ok(level)
                } else {
                    Err(wrong(other))
                };
            }
        }
        Err(unknown())
    }

    /// A classification from the level of each axis as text; `None` or a blank text leaves the axis
    /// unclassified. Every bad level is reported.
    pub fn classification(
        &self,
        c: Option<&str>,
        i: Option<&str>,
        a: Option<&str>,
    ) -> Result<Classification, Vec<LevelError>> {
        let mut classification = Classification::UNCLASSIFIED;
        let mut errors = Vec::new();
        for (axis, input) in Axis::ALL.into_iter().zip([c, i, a]) {
            let Some(input) = input.filter(|s| !s.trim().is_empty()) else {
                continue;
            };
            match self.parse_level(axis, input) {
                Ok(level) => classification = classification.with(level),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(classification)
        } else {
            Err(errors)
        }
    }

    /// `機密性3B・完全性2・可用性2` / `Confidentiality 3B, Integrity 2, Availability 2`; an axis not classified
    /// yet reads `機密性未分類` / `Confidentiality unclassified`.
    pub fn label(&self, classification: &Classification, lang: Lang) -> String {
        let parts = Axis::ALL.map(|axis| match classification.get(axis) {
            Some(level) => self.level_label(level, lang),
            None => match lang {
                Lang::Ja => format!("{}未分類", axis.name(lang)),
                Lang::En => format!("{} unclassified", axis.name(lang)),
            },
        });
        parts.join(match lang {
            Lang::Ja => "・",
            Lang::En => ", ",
        })
    }

    /// `C3B-I2-A2`; an axis not classified yet reads `C?`.
    pub fn short_label(&self, classification: &Classification) -> String {
        Axis::ALL
            .map(|axis| {
                let id = classification.get(axis).map_or("?", |l| self.level_id(l));
                format!("{}{id}", axis.letter())
            })
            .join("-")
    }

    /// Every restriction of the scheme, in axis order, then file order.
    pub fn restriction_defs(&self) -> &[RestrictionDef] {
        &self.restrictions
    }

    /// The 取扱制限 that apply to an asset so classified: each restriction whose axis is classified at its
    /// `min_level` or higher, in axis order, then file order.
    pub fn restrictions(&self, classification: &Classification) -> Vec<&RestrictionDef> {
        self.restrictions
            .iter()
            .filter(|r| classification.get(r.axis).is_some_and(|l| r.applies_to(l)))
            .collect()
    }

    /// For rules like 「機密性2以上」: whether `level` is classified at `min_id` (a level of its own axis) or
    /// higher. An unclassified level, or a `min_id` the axis does not have, does not meet it.
    pub fn meets(&self, level: Option<Level>, min_id: &str) -> bool {
        level.is_some_and(|level| {
            self.rank(level.axis, min_id)
                .is_some_and(|min| level.rank >= min)
        })
    }

    /// 2(9)–(10) the lowest confidentiality an asset holding 個人情報 may have.
    pub fn min_confidentiality_personal(&self) -> Level {
        self.min_personal
    }

    /// 2(11) the lowest confidentiality an asset holding 特定個人情報 may have.
    pub fn min_confidentiality_specific_personal(&self) -> Level {
        self.min_specific
    }

    /// The lowest confidentiality an asset may have given what personal information it holds (`None` if none).
    pub fn required_confidentiality(
        &self,
        personal: bool,
        specific_personal: bool,
    ) -> Option<Level> {
        if specific_personal {
            Some(self.min_specific)
        } else if personal {
            Some(self.min_personal)
        } else {
            None
        }
    }
}

// ----------------------------------------------------------------------------------------------- 異体字

/// The built-in 異体字 table file.
pub const BUILTIN_ITAIJI_FILE: &str = include_str!("../../../catalog/itaiji.toml");

static BUILTIN_ITAIJI: LazyLock<VariantTable> =
    LazyLock::new(|| VariantTable::from_toml(BUILTIN_ITAIJI_FILE).unwrap_or_default());

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct VariantFile {
    variants: Vec<Spanned<[String; 2]>>,
}

/// A 異体字 folding table for search keys: each variant character (髙, 﨑) maps to its standard form (高, 崎).
/// Apply it after NFKC, which already folds the compatibility ideographs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VariantTable {
    /// (variant, standard), sorted by variant.
    pairs: Vec<(char, char)>,
}

impl VariantTable {
    /// Reads a table: `variants = [["髙", "高"], …]`, one character on each side, each variant once, no
    /// standard character that is itself a variant.
    pub fn from_toml(text: &str) -> Result<Self, CatalogError> {
        let file: VariantFile = toml::from_str(text).map_err(|e| CatalogError::syntax(text, &e))?;
        let one_char = |s: &str| {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Some(c),
                _ => None,
            }
        };
        let mut pairs = Vec::with_capacity(file.variants.len());
        for (n, entry) in file.variants.iter().enumerate() {
            let [from, to] = entry.get_ref();
            let (Some(variant), Some(standard)) = (one_char(from), one_char(to)) else {
                return Err(CatalogError::invalid(
                    text,
                    format!("variants[{n}]"),
                    entry.span(),
                    format!("[{from:?}, {to:?}] is not a pair of single characters"),
                ));
            };
            if variant == standard {
                return Err(CatalogError::invalid(
                    text,
                    format!("variants[{n}]"),
                    entry.span(),
                    format!("{from:?} maps to itself"),
                ));
            }
            pairs.push((variant, standard, n, entry.span()));
        }
        pairs.sort_by_key(|p| p.0);
        for w in pairs.windows(2) {
            if w[0].0 == w[1].0 {
                return Err(CatalogError::invalid(
                    text,
                    format!("variants[{}]", w[1].2),
                    w[1].3.clone(),
                    format!("{:?} is listed twice", w[1].0),
                ));
            }
        }
        for (_, standard, n, span) in &pairs {
            if pairs.binary_search_by_key(standard, |p| p.0).is_ok() {
                return Err(CatalogError::invalid(
                    text,
                    format!("variants[{n}]"),
                    span.clone(),
                    format!(
                        "{standard:?} is itself listed as a variant: map straight to the final form"
                    ),
                ));
            }
        }
        Ok(VariantTable {
            pairs: pairs.into_iter().map(|(v, s, _, _)| (v, s)).collect(),
        })
    }

    /// The table shipped with Mamori (`catalog/itaiji.toml`), read once.
    pub fn builtin() -> &'static VariantTable {
        &BUILTIN_ITAIJI
    }

    /// (variant, standard) pairs, sorted by variant.
    pub fn pairs(&self) -> &[(char, char)] {
        &self.pairs
    }

    /// The standard form of `c` (`c` itself if it is not a variant).
    #[inline]
    pub fn fold_char(&self, c: char) -> char {
        // Every 異体字 is a CJK ideograph; skip the search for kana, Latin and the rest.
        if c < '\u{3400}' {
            return c;
        }
        match self.pairs.binary_search_by_key(&c, |p| p.0) {
            Ok(i) => self.pairs[i].1,
            Err(_) => c,
        }
    }

    /// `s` with every variant replaced by its standard form: 髙橋 → 高橋, 山﨑 → 山崎.
    pub fn fold(&self, s: &str) -> String {
        s.chars().map(|c| self.fold_char(c)).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn mic() -> &'static Scheme {
        Scheme::builtin_by_id("mic-2024").unwrap()
    }

    fn legacy() -> &'static Scheme {
        Scheme::builtin_by_id("mic-legacy").unwrap()
    }

    fn c(scheme: &Scheme, input: &str) -> Result<&'static str, &'static str> {
        scheme
            .parse_level(Axis::Confidentiality, input)
            .map(|l| match scheme.level_id(l) {
                "1" => "1",
                "2" => "2",
                "3" => "3",
                "3C" => "3C",
                "3B" => "3B",
                "3A" => "3A",
                other => panic!("unexpected level {other}"),
            })
            .map_err(|e| e.code())
    }

    #[test]
    fn both_builtin_schemes_load_and_validate() {
        let ids: Vec<&str> = Scheme::builtin().iter().map(|s| s.id()).collect();
        assert_eq!(ids, ["mic-2024", "mic-legacy"]);
        for (name, text) in BUILTIN_SCHEME_FILES {
            Scheme::from_toml(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        assert_eq!(
            mic().accepted_levels(Axis::Confidentiality),
            "1, 2, 3C, 3B, 3A"
        );
        assert_eq!(mic().accepted_levels(Axis::Integrity), "1, 2");
        assert_eq!(mic().accepted_levels(Axis::Availability), "1, 2");
        assert_eq!(legacy().accepted_levels(Axis::Confidentiality), "1, 2, 3");
        assert_eq!(
            mic().level(Axis::Confidentiality, 4).unwrap().name.ja,
            "自治体機密性3A"
        );
        assert_eq!(mic().rank(Axis::Confidentiality, "3b"), Some(3));
        assert_eq!(mic().rank(Axis::Confidentiality, "4"), None);
        assert_eq!(mic().level_id(mic().min_confidentiality_personal()), "3C");
        assert_eq!(
            mic().level_id(mic().min_confidentiality_specific_personal()),
            "3B"
        );
        assert_eq!(
            legacy().level_id(legacy().min_confidentiality_personal()),
            "2"
        );
        assert_eq!(
            legacy().level_id(legacy().min_confidentiality_specific_personal()),
            "3"
        );
        assert!(mic().settings().example);
        assert!(mic().restriction_defs().iter().all(|r| r.example));
        assert!(
            mic()
                .levels(Axis::Confidentiality)
                .iter()
                .any(|l| l.example)
        );
        assert_eq!(mic().level_id(mic().highest(Axis::Confidentiality)), "3A");
        assert_eq!(mic().level_id(mic().lowest(Axis::Integrity)), "1");
    }

    #[test]
    fn levels_are_read_as_people_write_them() {
        let s = mic();
        for input in [
            "3B",
            "3b",
            "３Ｂ",
            "機密性3B",
            "機密性 3B",
            "機密性３Ｂ",
            "自治体機密性3B",
            "C3B",
            "c3b",
            "Ｃ３Ｂ",
            " 3B ",
            "Confidentiality 3B",
            "機密性:3B",
        ] {
            assert_eq!(c(s, input), Ok("3B"), "{input}");
        }
        assert_eq!(c(s, "自治体機密性3A"), Ok("3A"));
        assert_eq!(c(s, "1"), Ok("1"));
        assert_eq!(c(legacy(), "機密性3"), Ok("3"));
        assert_eq!(c(legacy(), "3B"), Err("classify.unknown_level"));
        let i = s.parse_level(Axis::Integrity, "完全性2").unwrap();
        assert_eq!((i.axis(), i.rank()), (Axis::Integrity, 1));
        assert_eq!(s.parse_level(Axis::Integrity, "I2"), Ok(i));
        assert_eq!(s.parse_level(Axis::Integrity, "i２"), Ok(i));
        let a = s.parse_level(Axis::Availability, "可用性2").unwrap();
        assert_eq!(s.parse_level(Axis::Availability, "A2"), Ok(a));
        assert_eq!(s.parse_level(Axis::Availability, "2"), Ok(a));
    }

    #[test]
    fn unknown_levels_wrong_axes_and_blanks_are_refused_with_the_accepted_levels() {
        let s = mic();
        let e = s.parse_level(Axis::Confidentiality, "4").unwrap_err();
        assert_eq!(e.code(), "classify.unknown_level");
        assert_eq!(e.input(), "4");
        assert_eq!(e.levels(), "1, 2, 3C, 3B, 3A");
        assert_eq!(
            e.to_string(),
            r#""4" is not a confidentiality level (levels: 1, 2, 3C, 3B, 3A)"#
        );
        assert!(
            e.message(Lang::Ja)
                .contains("「4」は機密性の区分ではありません")
        );
        assert!(e.message(Lang::En).starts_with(r#""4" is not"#));

        for input in ["完全性2", "I2", "可用性2", "A2", "Integrity 2"] {
            let e = s.parse_level(Axis::Confidentiality, input).unwrap_err();
            assert_eq!(e.code(), "classify.wrong_axis", "{input}");
            assert_eq!(e.axis(), Axis::Confidentiality);
        }
        let e = s.parse_level(Axis::Integrity, "機密性3B").unwrap_err();
        assert!(matches!(
            e,
            LevelError::WrongAxis {
                found: Axis::Confidentiality,
                ..
            }
        ));
        assert!(
            e.message(Lang::Ja)
                .contains("機密性の区分です。完全性の区分")
        );
        assert_eq!(
            s.parse_level(Axis::Integrity, "3").unwrap_err().code(),
            "classify.unknown_level"
        );
        assert_eq!(
            s.parse_level(Axis::Integrity, "機密性").unwrap_err().code(),
            "classify.wrong_axis"
        );
        assert_eq!(
            s.parse_level(Axis::Confidentiality, "機密性")
                .unwrap_err()
                .code(),
            "classify.unknown_level"
        );
        assert_eq!(
            s.parse_level(Axis::Confidentiality, " 　")
                .unwrap_err()
                .code(),
            "classify.empty"
        );
        assert_eq!(c(s, "3D"), Err("classify.unknown_level"));
        assert_eq!(c(s, "C4"), Err("classify.unknown_level"));
    }

    #[test]
    fn classifications_are_built_from_text_or_levels_of_the_right_axes() {
        let s = mic();
        let full = s
            .classification(Some("機密性3B"), Some("2"), Some("A2"))
            .unwrap();
        assert!(full.is_complete());
        assert_eq!(s.short_label(&full), "C3B-I2-A2");

        let partial = s.classification(Some("2"), None, Some(" ")).unwrap();
        assert!(!partial.is_complete());
        assert_eq!(
            partial.unclassified_axes().collect::<Vec<_>>(),
            [Axis::Integrity, Axis::Availability]
        );

        let errors = s
            .classification(Some("4"), Some("可用性2"), Some("1"))
            .unwrap_err();
        assert_eq!(
            errors.iter().map(LevelError::code).collect::<Vec<_>>(),
            ["classify.unknown_level", "classify.wrong_axis"]
        );

        let c2 = s.parse_level(Axis::Confidentiality, "2").unwrap();
        let i2 = s.parse_level(Axis::Integrity, "2").unwrap();
        assert!(Classification::new(Some(c2), Some(i2), None).is_ok());
        assert_eq!(
            Classification::new(Some(i2), None, None),
            Err(AxisMismatch {
                expected: Axis::Confidentiality,
                found: Axis::Integrity
            })
        );
        let built = Classification::UNCLASSIFIED.with(i2).with(c2);
        assert_eq!(built.c(), Some(c2));
        assert_eq!(built.i(), Some(i2));
        assert_eq!(built.without(Axis::Integrity).i(), None);
    }

    #[test]
    fn labels_name_every_axis_and_the_unclassified_ones() {
        let s = mic();
        let full = s.classification(Some("3B"), Some("2"), Some("2")).unwrap();
        assert_eq!(s.label(&full, Lang::Ja), "機密性3B・完全性2・可用性2");
        assert_eq!(
            s.label(&full, Lang::En),
            "Confidentiality 3B, Integrity 2, Availability 2"
        );
        let partial = s.classification(None, Some("1"), None).unwrap();
        assert_eq!(
            s.label(&partial, Lang::Ja),
            "機密性未分類・完全性1・可用性未分類"
        );
        assert_eq!(
            s.label(&partial, Lang::En),
            "Confidentiality unclassified, Integrity 1, Availability unclassified"
        );
        assert_eq!(s.short_label(&partial), "C?-I1-A?");
        assert_eq!(s.short_label(&Classification::UNCLASSIFIED), "C?-I?-A?");
    }

    #[test]
    fn restrictions_follow_the_levels() {
        let s = mic();
        let ids = |c: Option<&str>, i: Option<&str>, a: Option<&str>| -> Vec<String> {
            let cl = s.classification(c, i, a).unwrap();
            s.restrictions(&cl).iter().map(|r| r.id.clone()).collect()
        };
        assert!(ids(Some("1"), Some("1"), Some("1")).is_empty());
        assert!(ids(None, None, None).is_empty());

        let c2 = ids(Some("2"), Some("1"), Some("1"));
        assert_eq!(c2.len(), 7);
        assert!(c2.iter().all(|id| id.starts_with("c-")));
        assert!(c2.contains(&"c-encrypt-in-transit".to_owned()));
        assert!(!c2.contains(&"c-named-persons-only".to_owned()));

        let c3c = ids(Some("3C"), None, None);
        assert_eq!(c3c, c2);
        let c3b = ids(Some("3B"), None, None);
        assert!(c3b.contains(&"c-named-persons-only".to_owned()));
        assert!(c3b.contains(&"c-my-number-zone-only".to_owned()));
        assert_eq!(ids(Some("3A"), None, None), c3b);

        let all = ids(Some("1"), Some("2"), Some("2"));
        assert_eq!(
            all,
            [
                "i-backup",
                "i-signature",
                "i-locked-media",
                "a-backup",
                "a-recovery-time"
            ]
        );
        // Axis order, then file order.
        let mixed = ids(Some("2"), None, Some("2"));
        assert_eq!(
            mixed.first().map(String::as_str),
            Some("c-issued-devices-only")
        );
        assert_eq!(mixed.last().map(String::as_str), Some("a-recovery-time"));

        let legacy_c3 = legacy().classification(Some("3"), None, None).unwrap();
        assert_eq!(legacy().restrictions(&legacy_c3).len(), 8);
    }

    #[test]
    fn meets_compares_within_the_level_s_axis() {
        let s = mic();
        let c3c = s.parse_level(Axis::Confidentiality, "3C").ok();
        assert!(s.meets(c3c, "2"));
        assert!(s.meets(c3c, "3C"));
        assert!(!s.meets(c3c, "3B"));
        assert!(!s.meets(None, "1"));
        assert!(!s.meets(c3c, "9"));
        let c2 = s.level_by_id(Axis::Confidentiality, "2").unwrap();
        assert!(c3c.unwrap().at_least(c2));
        assert!(!c2.at_least(c3c.unwrap()));
        let i2 = s.level_by_id(Axis::Integrity, "2").unwrap();
        assert!(!i2.at_least(c2));
        assert_eq!(
            s.required_confidentiality(true, true),
            s.level_by_id(Axis::Confidentiality, "3B")
        );
        assert_eq!(s.required_confidentiality(true, false), c3c);
        assert_eq!(s.required_confidentiality(false, false), None);
    }

    const MINIMAL: &str = r#"
id = "test-city"
name = { ja = "テスト", en = "Test" }
source = { ja = "テスト", en = "Test" }
[settings]
min_confidentiality_personal = "2"
min_confidentiality_specific_personal = "2"
[[levels.confidentiality]]
id = "1"
name = { ja = "機密性1", en = "Confidentiality 1" }
description = { ja = "公開", en = "Public" }
[[levels.confidentiality]]
id = "2"
name = { ja = "機密性2", en = "Confidentiality 2" }
description = { ja = "非公開", en = "Not public" }
[[levels.integrity]]
id = "1"
name = { ja = "完全性1", en = "Integrity 1" }
description = { ja = "-", en = "-" }
[[levels.availability]]
id = "1"
name = { ja = "可用性1", en = "Availability 1" }
description = { ja = "-", en = "-" }
[[restrictions]]
id = "c-lock"
axis = "c"
min_level = "2"
text = { ja = "施錠", en = "Lock" }
"#;

    #[test]
    fn a_city_scheme_is_read_and_broken_files_say_what_and_where() {
        let s = Scheme::from_toml(MINIMAL).unwrap();
        assert_eq!(s.id(), "test-city");
        assert!(!s.settings().example);
        assert_eq!(s.restriction_defs()[0].axis, Axis::Confidentiality);

        let e = Scheme::from_toml("id = \"x\"\nname = {ja = \"a\"\n").unwrap_err();
        assert_eq!(e.code(), "catalog.syntax");
        assert!(e.line().is_some(), "{e}");

        let typo = MINIMAL.replace(
            "description = { ja = \"公開\"",
            "descripton = { ja = \"公開\"",
        );
        let e = Scheme::from_toml(&typo).unwrap_err();
        assert_eq!(e.code(), "catalog.syntax");
        assert!(e.to_string().contains("descripton"), "{e}");
        assert!(
            e.to_string()
                .starts_with("line 11, column 1: unknown field `descripton`"),
            "{e}"
        );

        let e = Scheme::from_toml(&MINIMAL.replace("id = \"2\"", "id = \"1\"")).unwrap_err();
        assert_eq!(e.code(), "catalog.invalid");
        assert!(
            e.to_string()
                .starts_with("line 13: levels.confidentiality[1].id: \"1\" repeats"),
            "{e}"
        );

        let e = Scheme::from_toml(&MINIMAL.replace("min_level = \"2\"", "min_level = \"3\""))
            .unwrap_err();
        assert!(e.to_string().contains("restrictions[0].min_level"), "{e}");
        assert!(e.to_string().contains("levels: 1, 2"), "{e}");

        let e = Scheme::from_toml(&MINIMAL.replace("test-city", "Test City")).unwrap_err();
        assert!(e.to_string().starts_with("line 2: id:"), "{e}");

        let e = Scheme::from_toml(&MINIMAL.replace("id = \"2\"", "id = \"12345\"")).unwrap_err();
        assert!(e.to_string().contains("not a level id"), "{e}");

        let e = Scheme::from_toml(&MINIMAL.replace(
            "min_confidentiality_personal = \"2\"",
            "min_confidentiality_personal = \"5\"",
        ))
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("settings.min_confidentiality_personal"),
            "{e}"
        );

        let e = Scheme::from_toml(&MINIMAL.replace(
            "min_confidentiality_specific_personal = \"2\"",
            "min_confidentiality_specific_personal = \"1\"",
        ))
        .unwrap_err();
        assert!(
            e.to_string().contains("below min_confidentiality_personal"),
            "{e}"
        );

        let no_integrity = MINIMAL.replace("[[levels.integrity]]", "[[levels.other]]");
        assert!(Scheme::from_toml(&no_integrity).is_err());
        let cut = MINIMAL
            .split("[[levels.integrity]]")
            .next()
            .unwrap()
            .to_owned();
        let e = Scheme::from_toml(&cut).unwrap_err();
        assert!(e.to_string().contains("no integrity level"), "{e}");

        let twice = format!(
            "{MINIMAL}\n[[restrictions]]\nid = \"c-lock\"\naxis = \"confidentiality\"\nmin_level = \"1\"\ntext = {{ ja = \"x\", en = \"x\" }}\n"
        );
        let e = Scheme::from_toml(&twice).unwrap_err();
        assert!(e.to_string().contains("used twice"), "{e}");
    }

    #[test]
    fn axes_and_languages_have_codes() {
        for axis in Axis::ALL {
            assert_eq!(Axis::parse(axis.code()).unwrap(), axis);
            assert_eq!(Axis::parse(axis.name(Lang::Ja)).unwrap(), axis);
            assert_eq!(Axis::parse(axis.name(Lang::En)).unwrap(), axis);
        }
        assert_eq!(Axis::Integrity.letter(), 'I');
        assert_eq!(Lang::parse("en").unwrap(), Lang::En);
        assert_eq!(Lang::parse("ja-JP").unwrap(), Lang::Ja);
        assert_eq!(Lang::parse("EN_gb").unwrap(), Lang::En);
        assert!(Lang::parse("fr").is_err());
        assert_eq!(Lang::default(), Lang::Ja);
        assert_eq!(Text::new("日本", "Japan").get(Lang::En), "Japan");
    }

    #[test]
    fn variant_characters_fold_to_the_standard_form() {
        let t = VariantTable::builtin();
        assert!(t.pairs().len() >= 25);
        assert_eq!(t.fold("髙橋"), "高橋");
        assert_eq!(t.fold("山﨑"), "山崎");
        assert_eq!(t.fold("渡邊・渡邉"), "渡辺・渡辺");
        assert_eq!(t.fold("齋藤 齊藤"), "斎藤 斉藤");
        assert_eq!(t.fold("abc かな 高橋"), "abc かな 高橋");
        assert_eq!(t.fold_char('濱'), '浜');
    }

    #[test]
    fn the_variant_table_lists_only_what_nfkc_leaves_alone() {
        use unicode_normalization::UnicodeNormalization;
        for (variant, standard) in VariantTable::builtin().pairs() {
            let v: String = variant.to_string().nfkc().collect();
            let s: String = standard.to_string().nfkc().collect();
            assert_eq!(
                v,
                variant.to_string(),
                "{variant} is folded by NFKC already"
            );
            assert_eq!(s, standard.to_string(), "{standard} is not NFKC-stable");
        }
    }

    #[test]
    fn broken_variant_tables_are_refused() {
        let e = VariantTable::from_toml("variants = [[\"髙\", \"高\"],\n  [\"髙\", \"高\"]]")
            .unwrap_err();
        assert!(e.to_string().contains("listed twice"), "{e}");
        assert_eq!(e.line(), Some(2));
        let e = VariantTable::from_toml("variants = [[\"髙橋\", \"高\"]]").unwrap_err();
        assert!(e.to_string().contains("single characters"), "{e}");
        let e = VariantTable::from_toml("variants = [[\"A\", \"B\"], [\"B\", \"C\"]]").unwrap_err();
        assert!(e.to_string().contains("itself listed"), "{e}");
        let e = VariantTable::from_toml("variants = [[\"A\"]]").unwrap_err();
        assert_eq!(e.code(), "catalog.syntax");
    }
}
