//! Table `release_request`: a request to release a part of a quarantined mail message, and its decision.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "release_request")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    /// The relay's spool id of the held message.
    pub relay_message_id: String,
    pub part_index: i32,
    /// The address the part is released to (the requester's, as in the original's envelope).
    pub recipient: String,
    pub requester_staff_id: i64,
    pub requester_account_id: Option<i64>,
    /// The requester's unit when they asked: whose 情報セキュリティ管理者 decides.
    pub unit_id: i64,
    pub mail_from: Option<String>,
    pub subject: Option<String>,
    pub received_at: DateTimeUtc,
    pub file_name: Option<String>,
    /// The relay's class of the part (`text`, `image` …).
    pub class: String,
    pub sniffed_type: String,
    pub size: i64,
    pub sha256: String,
    /// The release rule when asked (`on_request`, `on_approval`).
    pub rule: String,
    pub reason: String,
    /// `pending`, `approved` (the relay not yet confirmed), `released`, `refused`, `failed`.
    pub state: String,
    pub requested_at: DateTimeUtc,
    pub decided_by: Option<i64>,
    pub decided_by_label: Option<String>,
    pub decided_at: Option<DateTimeUtc>,
    pub decision_note: Option<String>,
    /// The relay's spool id of the message that carries the converted part.
    pub queued_as: Option<String>,
    pub released_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
