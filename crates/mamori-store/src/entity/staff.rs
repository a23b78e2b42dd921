//! Table `staff`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "staff")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub staff_no: String,
    pub name: String,
    pub name_kana: String,
    pub sort_key: String,
    pub search_key: String,
    pub email: String,
    pub kind_id: i64,
    pub org_unit_id: i64,
    pub active: bool,
    pub left_on: Option<Date>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::org_unit::Entity",
        from = "Column::OrgUnitId",
        to = "super::org_unit::Column::Id"
    )]
    OrgUnit,
    #[sea_orm(
        belongs_to = "super::staff_kind::Entity",
        from = "Column::KindId",
        to = "super::staff_kind::Column::Id"
    )]
    StaffKind,
}

impl ActiveModelBehavior for ActiveModel {}

impl Related<super::org_unit::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::OrgUnit.def()
    }
}

impl Related<super::staff_kind::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::StaffKind.def()
    }
}
