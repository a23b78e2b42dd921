//! Table `system_flow`: a declared flow from one information system to another (2(15), 2(16)).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "system_flow")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub from_system_id: i64,
    pub to_system_id: i64,
    /// `tcp`, `udp`, `icmp` or `any`.
    pub protocol: String,
    /// Ports and ranges as written back normalised (`25,443,8000-8080`); empty for every port.
    pub ports: String,
    pub purpose: String,
    /// The 無害化 system the flow passes through, if any.
    pub via_system_id: Option<i64>,
    pub retired: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
