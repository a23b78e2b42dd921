//! 2(16), 6(3)② 無害化通信: the LGWAN side of the mail relay's quarantine. The relay keeps the mail and its
//! removed parts; Mamori keeps each request to release a part — who asked, why, who decided, and what the relay
//! queued — so that every request, decision and release is in Mamori's audit chain.

use sea_orm_migration::{prelude::*, schema::*};

use super::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0007_quarantine"
    }
}

/// A request to release one removed part of a held message to one recipient, with a snapshot of the part's
/// metadata as the relay showed it (the approver decides on what the requester saw).
fn release_request() -> TableCreateStatement {
    Table::create()
        .table(Alias::new("release_request"))
        .col(big_pk_auto("id"))
        .col(big_integer("municipality_id"))
        .col(string("relay_message_id"))
        .col(integer("part_index"))
        .col(string("recipient"))
        .col(big_integer("requester_staff_id"))
        .col(big_integer_null("requester_account_id"))
        .col(big_integer("unit_id"))
        .col(text_null("mail_from"))
        .col(text_null("subject"))
        .col(timestamp_with_time_zone("received_at"))
        .col(text_null("file_name"))
        .col(string("class"))
        .col(string("sniffed_type"))
        .col(big_integer("size"))
        .col(string("sha256"))
        .col(string("rule"))
        .col(text("reason"))
        .col(string("state"))
        .col(timestamp_with_time_zone("requested_at"))
        .col(big_integer_null("decided_by"))
        .col(text_null("decided_by_label"))
        .col(timestamp_with_time_zone_null("decided_at"))
        .col(text_null("decision_note"))
        .col(string_null("queued_as"))
        .col(timestamp_with_time_zone_null("released_at"))
        .col(text_null("last_error"))
        .foreign_key(&mut fk(
            "release_request",
            "municipality_id",
            "municipality",
        ))
        .foreign_key(&mut fk("release_request", "requester_staff_id", "staff"))
        .foreign_key(&mut fk(
            "release_request",
            "requester_account_id",
            "account",
        ))
        .foreign_key(&mut fk("release_request", "unit_id", "org_unit"))
        .foreign_key(&mut fk("release_request", "decided_by", "account"))
        .to_owned()
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(release_request()).await?;
        // One request per part and recipient: asking twice finds the first.
        manager
            .create_index(index(
                "ux_release_request_part",
                "release_request",
                &[
                    "municipality_id",
                    "relay_message_id",
                    "part_index",
                    "recipient",
                ],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_release_request_state",
                "release_request",
                &["municipality_id", "state", "requested_at"],
                false,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(Alias::new("release_request"))
                    .to_owned(),
            )
            .await
    }
}
