//! Table `account`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub login: String,
    pub display_name: String,
    pub password_hash: String,
    pub staff_id: Option<i64>,
    pub is_system_admin: bool,
    pub is_outsider: bool,
    pub valid_from: Option<Date>,
    pub valid_until: Option<Date>,
    pub must_change_password: bool,
    pub disabled: bool,
    pub totp_secret: Option<String>,
    pub totp_last_step: Option<i64>,
    pub mfa_enrolled_at: Option<DateTimeUtc>,
    pub failed_attempts: i32,
    pub locked_until: Option<DateTimeUtc>,
    pub password_changed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::staff::Entity",
        from = "Column::StaffId",
        to = "super::staff::Column::Id"
    )]
    Staff,
}

impl ActiveModelBehavior for ActiveModel {}

impl Related<super::staff::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Staff.def()
    }
}
