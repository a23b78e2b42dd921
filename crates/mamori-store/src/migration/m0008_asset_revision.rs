//! The asset list filters, sorts and searches on an index the application holds in memory, per municipality
//! (`mamori_app::assets::index`). It knows it is current by `asset_revision`, which every asset write bumps in
//! its own transaction, so a change made by another process (an import on the command line) is seen too.
//!
//! What the database no longer needs for the list goes: the character-gram table (3 million rows for
//! 100,000 assets, half the cost of an import), the covering index of the list's filter columns and the index
//! by name. An import writes each asset with four indexes instead of seven and no grams.

use sea_orm_migration::{prelude::*, schema::*};

use super::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0008_asset_revision"
    }
}

fn revision_table() -> TableCreateStatement {
    Table::create()
        .table(Alias::new("asset_revision"))
        .col(big_integer("municipality_id").primary_key())
        .col(big_integer("revision"))
        .foreign_key(&mut fk("asset_revision", "municipality_id", "municipality"))
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

/// The indexes of the list as m0003 and m0004 made them.
fn list_indexes() -> Vec<IndexCreateStatement> {
    vec![
        index(
            "ix_asset_name",
            "asset",
            &["municipality_id", "retired", "name_key"],
            false,
        ),
        index(
            "ix_asset_cover",
            "asset",
            &[
                "id",
                "municipality_id",
                "retired",
                "owner_unit_id",
                "manager_staff_id",
                "kind",
                "zone",
                "c_rank",
                "i_rank",
                "a_rank",
                "personal",
                "sensitive_personal",
                "specific_personal",
                "next_review",
                "sort_key",
                "name_key",
            ],
            false,
        ),
    ]
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(revision_table()).await?;
        manager
            .drop_table(Table::drop().table(Alias::new("asset_gram")).to_owned())
            .await?;
        for name in ["ix_asset_name", "ix_asset_cover"] {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(Alias::new("asset"))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    /// Restores the tables and indexes; the grams stay empty (the application of that time indexed each
    /// asset as it was written).
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in list_indexes() {
            manager.create_index(index).await?;
        }
        manager.create_table(gram_table()).await?;
        manager
            .drop_table(Table::drop().table(Alias::new("asset_revision")).to_owned())
            .await
    }
}
