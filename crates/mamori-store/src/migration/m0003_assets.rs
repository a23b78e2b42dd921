//! 6(2) 情報資産管理台帳: the asset register, and the character-gram index its free-text search runs on.
//!
//! Sort keys are compared byte for byte on both backends: SQLite's default `BINARY` collation does that, and on
//! PostgreSQL the key columns are declared `COLLATE "C"` (the database's own collation would order them by
//! locale rules and disagree with SQLite).

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::{prelude::*, schema::*};

use super::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_assets"
    }
}

fn asset_table() -> TableCreateStatement {
    Table::create()
        .table(Alias::new("asset"))
        .col(big_pk_auto("id"))
        .col(big_integer("municipality_id"))
        .col(string("asset_no"))
        .col(text("name"))
        .col(string("kind"))
        .col(big_integer_null("owner_unit_id"))
        .col(big_integer_null("manager_staff_id"))
        .col(string_null("c_level"))
        .col(small_integer_null("c_rank"))
        .col(string_null("i_level"))
        .col(small_integer_null("i_rank"))
        .col(string_null("a_level"))
        .col(small_integer_null("a_rank"))
        .col(boolean("personal"))
        .col(boolean("sensitive_personal"))
        .col(boolean("specific_personal"))
        .col(string_null("my_number_work"))
        .col(text("pif_ref"))
        .col(text("pia_ref"))
        .col(string_null("zone"))
        .col(text("storage"))
        .col(text("media"))
        .col(text("retention"))
        .col(text("disposal"))
        .col(text("related_systems"))
        .col(text("notes"))
        .col(date_null("next_review"))
        .col(boolean("retired"))
        .col(date_null("retired_on"))
        .col(text("sort_key"))
        .col(text("name_key"))
        .col(text("search_key"))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"))
        .foreign_key(&mut fk("asset", "municipality_id", "municipality"))
        .foreign_key(&mut fk("asset", "owner_unit_id", "org_unit"))
        .foreign_key(&mut fk("asset", "manager_staff_id", "staff"))
        .to_owned()
}

fn gram_table() -> TableCreateStatement {
    Table::create()
        .table(Alias::new("asset_gram"))
        .col(big_integer("gram"))
        .col(big_integer("asset_id"))
        .primary_key(
            Index::create()
                .col(Alias::new("gram"))
                .col(Alias::new("asset_id")),
        )
        .foreign_key(
            &mut fk("asset_gram", "asset_id", "asset")
                .on_delete(ForeignKeyAction::Cascade)
                .to_owned(),
        )
        .to_owned()
}

fn indexes() -> Vec<IndexCreateStatement> {
    let index = |name, cols, unique| index(name, "asset", cols, unique);
    vec![
        index("ux_asset_no", &["municipality_id", "asset_no"], true),
        index(
            "ix_asset_list",
            &["municipality_id", "retired", "sort_key"],
            false,
        ),
        index(
            "ix_asset_name",
            &["municipality_id", "retired", "name_key"],
            false,
        ),
        index("ix_asset_owner", &["owner_unit_id"], false),
        index("ix_asset_manager", &["manager_staff_id"], false),
        Index::create()
            .name("ix_audit_target")
            .table(Alias::new("audit_entry"))
            .col(Alias::new("target_type"))
            .col(Alias::new("target_id"))
            .to_owned(),
    ]
}

/// Text columns ordered byte for byte on PostgreSQL, as SQLite orders them.
const BYTE_ORDERED: &[(&str, &str)] = &[
    ("asset", "sort_key"),
    ("asset", "name_key"),
    ("staff", "sort_key"),
    ("org_unit", "sort_key"),
];

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(asset_table()).await?;
        manager.create_table(gram_table()).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            let db = manager.get_connection();
            for (table, column) in BYTE_ORDERED {
                db.execute_unprepared(&format!(
                    r#"ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE text COLLATE "C""#
                ))
                .await?;
            }
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_audit_target")
                    .table(Alias::new("audit_entry"))
                    .to_owned(),
            )
            .await?;
        for table in ["asset_gram", "asset"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
