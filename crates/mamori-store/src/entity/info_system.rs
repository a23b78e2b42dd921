//! Table `info_system`: 情報システム, with the zone it lives in (2(12)–(14)) and the measures of 6(3)①.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "info_system")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub name: String,
    /// A zone id: `my_number`, `lgwan`, `internet`, or another zone of the zone map.
    pub zone: String,
    /// 所管課.
    pub owner_unit_id: Option<i64>,
    /// 情報システム管理者.
    pub admin_staff_id: Option<i64>,
    /// `on_premises`, `lgwan_asp`, `gov_cloud`, `other_cloud`.
    pub hosting: String,
    /// 二要素認証 in force.
    pub mfa: bool,
    /// 持ち出し不可設定 in force.
    pub no_export: bool,
    /// A 無害化 system (a relay or converter that flows between zones may pass through).
    pub sanitiser: bool,
    pub notes: String,
    pub retired: bool,
    pub retired_on: Option<Date>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
