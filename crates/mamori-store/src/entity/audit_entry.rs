//! Table `audit_entry`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_entry")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub seq: i64,
    pub at: DateTimeUtc,
    pub actor_account_id: Option<i64>,
    pub actor_label: String,
    pub action: String,
    pub action_code: i32,
    pub target_type: String,
    pub target_id: String,
    pub summary: String,
    pub prev_hash: String,
    pub hash: String,
    pub mac: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
