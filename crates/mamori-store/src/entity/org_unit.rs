//! Table `org_unit`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "org_unit")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub parent_id: Option<i64>,
    pub code: String,
    pub name: String,
    pub name_kana: String,
    pub level: String,
    pub organ_kind: Option<String>,
    pub in_scope: bool,
    pub path: String,
    pub tree_path: String,
    pub sort_key: String,
    pub established_on: Option<Date>,
    pub abolished_on: Option<Date>,
    pub successor_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
