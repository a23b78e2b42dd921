//! Table `finding`: what a check reports about one subject, and whether it still does (open, resolved).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finding")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub check_id: String,
    pub subject_kind: String,
    pub subject_id: i64,
    pub subject_label: String,
    /// The org unit responsible for the subject, for the unit view.
    pub unit_id: Option<i64>,
    pub clause: String,
    pub severity: String,
    /// 0 for critical … 4 for info: the list's order.
    pub rank: i16,
    pub message_ja: String,
    pub message_en: String,
    pub link: String,
    /// A hash of severity, label, messages, link and unit, so an evaluation compares without reading them.
    pub digest: i64,
    /// `open` or `resolved`.
    pub state: String,
    pub first_seen_at: DateTimeUtc,
    /// When it was last opened (first seen, or seen again after being resolved).
    pub opened_at: DateTimeUtc,
    /// When its text (message, label, severity) last changed.
    pub updated_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
