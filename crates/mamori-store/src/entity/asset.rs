//! Table `asset` (情報資産管理台帳).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "asset")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub asset_no: String,
    pub name: String,
    pub kind: String,
    pub owner_unit_id: Option<i64>,
    pub manager_staff_id: Option<i64>,
    pub c_level: Option<String>,
    pub c_rank: Option<i16>,
    pub i_level: Option<String>,
    pub i_rank: Option<i16>,
    pub a_level: Option<String>,
    pub a_rank: Option<i16>,
    pub personal: bool,
    pub sensitive_personal: bool,
    pub specific_personal: bool,
    pub my_number_work: Option<String>,
    pub pif_ref: String,
    pub pia_ref: String,
    pub zone: Option<String>,
    pub storage: String,
    pub media: String,
    pub retention: String,
    pub disposal: String,
    pub related_systems: String,
    pub notes: String,
    pub next_review: Option<Date>,
    pub retired: bool,
    pub retired_on: Option<Date>,
    pub sort_key: String,
    pub name_key: String,
    pub search_key: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::org_unit::Entity",
        from = "Column::OwnerUnitId",
        to = "super::org_unit::Column::Id"
    )]
    OrgUnit,
    #[sea_orm(
        belongs_to = "super::staff::Entity",
        from = "Column::ManagerStaffId",
        to = "super::staff::Column::Id"
    )]
    Staff,
}

impl ActiveModelBehavior for ActiveModel {}
