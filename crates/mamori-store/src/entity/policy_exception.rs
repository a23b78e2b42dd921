//! Table `policy_exception`: 例外措置, an approved departure from the policy for one subject of one check until an end date.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "policy_exception")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub check_id: String,
    pub subject_kind: String,
    pub subject_id: i64,
    pub subject_label: String,
    pub reason: String,
    pub approver_staff_id: i64,
    pub approved_on: Date,
    /// The last day the exception holds.
    pub ends_on: Date,
    /// The account that recorded it.
    pub recorded_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    pub revoked_reason: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
