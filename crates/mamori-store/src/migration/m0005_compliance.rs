//! 6(7) 遵守状況の確認, 6(9), 7, 8: what the checks found and what became of it (findings and 例外措置), a count
//! of them per day for the trend, and the city's own basic-policy text in versions (改正).

use sea_orm_migration::{prelude::*, schema::*};

use super::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0005_compliance"
    }
}

/// One row per (check, subject): open while the check reports it, resolved when it no longer does, open again
/// if it comes back.
fn finding() -> TableCreateStatement {
    Table::create()
        .table(Alias::new("finding"))
        .col(big_pk_auto("id"))
        .col(big_integer("municipality_id"))
        .col(string("check_id"))
        .col(string("subject_kind"))
        .col(big_integer("subject_id"))
        .col(text("subject_label"))
        .col(big_integer_null("unit_id"))
        .col(string("clause"))
        .col(string("severity"))
        .col(small_integer("rank"))
        .col(text("message_ja"))
        .col(text("message_en"))
        .col(text("link"))
        .col(big_integer("digest"))
        .col(string("state"))
        .col(timestamp_with_time_zone("first_seen_at"))
        .col(timestamp_with_time_zone("opened_at"))
        .col(timestamp_with_time_zone("updated_at"))
        .col(timestamp_with_time_zone_null("resolved_at"))
        .foreign_key(&mut fk("finding", "municipality_id", "municipality"))
        .to_owned()
}

/// 例外措置: an approved departure from the policy for one subject of one check, until an end date.
fn exception() -> TableCreateStatement {
    Table::create()
        .table(Alias::new("policy_exception"))
        .col(big_pk_auto("id"))
        .col(big_integer("municipality_id"))
        .col(string("check_id"))
        .col(string("subject_kind"))
        .col(big_integer("subject_id"))
        .col(text("subject_label"))
        .col(text("reason"))
        .col(big_integer("approver_staff_id"))
        .col(date("approved_on"))
        .col(date("ends_on"))
        .col(big_integer_null("recorded_by"))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone_null("revoked_at"))
        .col(text("revoked_reason"))
        .foreign_key(&mut fk(
            "policy_exception",
            "municipality_id",
            "municipality",
        ))
        .foreign_key(&mut fk("policy_exception", "approver_staff_id", "staff"))
        .foreign_key(&mut fk("policy_exception", "recorded_by", "account"))
        .to_owned()
}

/// The day's counts, for the trend chart.
fn daily() -> TableCreateStatement {
    Table::create()
        .table(Alias::new("compliance_daily"))
        .col(big_integer("municipality_id"))
        .col(date("day"))
        .col(integer("open_critical"))
        .col(integer("open_high"))
        .col(integer("open_medium"))
        .col(integer("open_low"))
        .col(integer("open_info"))
        .col(integer("accepted"))
        .primary_key(
            Index::create()
                .col(Alias::new("municipality_id"))
                .col(Alias::new("day")),
        )
        .foreign_key(&mut fk(
            "compliance_daily",
            "municipality_id",
            "municipality",
        ))
        .to_owned()
}

fn policy_version() -> TableCreateStatement {
    Table::create()
        .table(Alias::new("policy_version"))
        .col(big_pk_auto("id"))
        .col(big_integer("municipality_id"))
        .col(text("title"))
        .col(string("revised_label"))
        .col(date_null("revised_on"))
        .col(text("source_name"))
        .col(text("source_text"))
        .col(big_integer_null("imported_by"))
        .col(timestamp_with_time_zone("imported_at"))
        .foreign_key(&mut fk("policy_version", "municipality_id", "municipality"))
        .foreign_key(&mut fk("policy_version", "imported_by", "account"))
        .to_owned()
}

fn policy_clause() -> TableCreateStatement {
    Table::create()
        .table(Alias::new("policy_clause"))
        .col(big_pk_auto("id"))
        .col(big_integer("version_id"))
        .col(integer("ord"))
        .col(string("clause_id"))
        .col(text("heading"))
        .col(text("body"))
        .foreign_key(
            &mut fk("policy_clause", "version_id", "policy_version")
                .on_delete(ForeignKeyAction::Cascade)
                .to_owned(),
        )
        .to_owned()
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        index(
            "ux_finding_subject",
            "finding",
            &["municipality_id", "check_id", "subject_kind", "subject_id"],
            true,
        ),
        index(
            "ix_finding_state",
            "finding",
            &["municipality_id", "state", "clause"],
            false,
        ),
        // The findings list's order: open first, most severe first, then clause, check and age.
        index(
            "ix_finding_list",
            "finding",
            &[
                "municipality_id",
                "state",
                "rank",
                "clause",
                "check_id",
                "id",
            ],
            false,
        ),
        index(
            "ix_exception_subject",
            "policy_exception",
            &["municipality_id", "check_id", "subject_kind", "subject_id"],
            false,
        ),
        index(
            "ux_policy_clause",
            "policy_clause",
            &["version_id", "clause_id"],
            true,
        ),
    ]
}

const TABLES: &[&str] = &[
    "policy_clause",
    "policy_version",
    "compliance_daily",
    "policy_exception",
    "finding",
];

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            finding(),
            exception(),
            daily(),
            policy_version(),
            policy_clause(),
        ] {
            manager.create_table(table).await?;
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .drop_table(Table::drop().table(Alias::new(*table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
