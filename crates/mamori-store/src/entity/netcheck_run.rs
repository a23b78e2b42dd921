//! Table `netcheck_run`: one run of `netcheck` over a zone map version and the devices' newest files.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "netcheck_run")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub map_version_id: i64,
    pub map_sha256: String,
    /// JSON: `[{device, file_name, config_id, sha256}]`.
    pub inputs: String,
    /// JSON: `[{from, to, verdict}]`, one per ordered zone pair.
    pub verdicts: String,
    pub violation: bool,
    /// JSON: the device ids that a counterexample passes through.
    pub violating_devices: String,
    /// The report as `netcheck --format json` writes it.
    pub report: String,
    pub ran_by: Option<i64>,
    pub ran_by_label: String,
    pub ran_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
