//! The policy's vocabulary: what the basic policy (情報セキュリティ基本方針) names, as types.
//!
//! Pure: no I/O, no database, no HTTP. Every type here traces to a clause of the policy.

pub mod date;
pub mod org;
pub mod role;
pub mod staff;

pub use date::{Nendo, WarekiDate, parse_date};
pub use org::{OrganKind, UnitLevel};
pub use role::{AssignmentKind, StatutoryRole};
pub use staff::DEFAULT_STAFF_KINDS;

/// A value that does not belong to a closed vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a known {vocabulary}")]
pub struct UnknownCode {
    pub vocabulary: &'static str,
    pub value: String,
}
