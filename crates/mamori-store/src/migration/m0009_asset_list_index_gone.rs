//! The asset list sorts in memory ([`m0008`](super::m0008_asset_revision)), so the index by sort key that the
//! database list used is read by nothing, and every asset written kept it up to date for nothing: it is
//! dropped, which makes an import of 100,000 assets cheaper.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0009_asset_list_index_gone"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_asset_list")
                    .table(Alias::new("asset"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(super::index(
                "ix_asset_list",
                "asset",
                &["municipality_id", "retired", "sort_key"],
                false,
            ))
            .await
    }
}
