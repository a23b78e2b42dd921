//! The asset list's free-text filter finds candidates through `asset_gram` and then checks each against the
//! other filters and reads its sort key. This index holds exactly those columns, keyed by id, so the check
//! reads a small index entry instead of the whole asset row (about three times faster at 100,000 assets;
//! `docs/performance.md`).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0004_asset_list_cover"
    }
}

const COLUMNS: &[&str] = &[
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
];

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut index = Index::create();
        index.name("ix_asset_cover").table(Alias::new("asset"));
        for col in COLUMNS {
            index.col(Alias::new(*col));
        }
        manager.create_index(index.to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_asset_cover")
                    .table(Alias::new("asset"))
                    .to_owned(),
            )
            .await
    }
}
