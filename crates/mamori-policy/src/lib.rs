//! The policy's vocabulary: what the basic policy (情報セキュリティ基本方針) names, as types.
//!
//! Pure: no I/O, no database, no HTTP. Every type here traces to a clause of the policy. Catalogue data
//! (`catalog/` at the top of the repository) is compiled in or handed over as text.

pub mod asset;
pub mod check;
pub mod classify;
pub mod clause;
pub mod date;
pub mod org;
pub mod policy_text;
pub mod role;
pub mod staff;

pub use asset::{AssetKind, MyNumberWork, Zone};
pub use check::{
    AccountFacts, AssetFacts, Check, DeviceFacts, Finding, FlowFacts, NetworkFacts, PostFacts,
    Severity, Snapshot, StaffFacts, Subject, SubjectKind, SystemFacts, UnitFacts, all_checks,
    evaluate,
};
pub use classify::{
    Axis, CatalogError, Classification, Lang, Level, LevelDef, LevelError, RestrictionDef, Scheme,
    StaticText, Text, VariantTable,
};
pub use clause::{Clause, ClauseCatalog, ClauseCatalogError, ClauseId, ClauseIdError};
pub use date::{Nendo, WarekiDate, parse_date};
pub use org::{OrganKind, UnitLevel};
pub use policy_text::{
    ChangeKind, ClauseChange, ParsedClause, PolicyText, PolicyTextError, parse_policy_text,
};
pub use role::{AssignmentKind, StatutoryRole};
pub use staff::DEFAULT_STAFF_KINDS;

use unicode_normalization::UnicodeNormalization;

/// A value that does not belong to a closed vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a known {vocabulary}")]
pub struct UnknownCode {
    pub vocabulary: &'static str,
    pub value: String,
}

/// The form in which codes and names are compared: NFKC (full-width to half-width, 「（」 to 「(」), no
/// whitespace, lower case.
pub(crate) fn fold_chars(input: &str) -> impl Iterator<Item = char> + '_ {
    input
        .nfkc()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
}

/// [`fold_chars`] collected.
pub(crate) fn fold(input: &str) -> String {
    fold_chars(input).collect()
}
