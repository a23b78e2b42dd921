//! Table `device_config`: one uploaded file of a device between the zones (ruleset, ipset or routes), kept with
//! its hash; the newest upload of a file name is the one `netcheck` reads.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "device_config")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    /// The device's id in the zone map.
    pub device: String,
    /// The file name as the zone map writes it.
    pub file_name: String,
    pub content: String,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    pub size: i64,
    pub uploaded_by: Option<i64>,
    pub uploaded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
