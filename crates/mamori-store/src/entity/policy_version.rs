//! Table `policy_version`: one imported version (改正) of the city's basic-policy text.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "policy_version")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub title: String,
    /// The 改正 date as written (令和8年5月19日).
    pub revised_label: String,
    pub revised_on: Option<Date>,
    pub source_name: String,
    pub source_text: String,
    /// The account that imported it (none from the command line).
    pub imported_by: Option<i64>,
    pub imported_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
