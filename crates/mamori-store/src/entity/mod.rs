//! One module per table.

pub mod account;
pub mod account_scope;
pub mod api_token;
pub mod asset;
pub mod asset_gram;
pub mod audit_entry;
pub mod audit_head;
pub mod change_set;
pub mod compliance_daily;
pub mod facility;
pub mod finding;
pub mod municipality;
pub mod org_unit;
pub mod policy_clause;
pub mod policy_exception;
pub mod policy_version;
pub mod recovery_code;
pub mod role_assignment;
pub mod session;
pub mod setting;
pub mod staff;
pub mod staff_kind;
