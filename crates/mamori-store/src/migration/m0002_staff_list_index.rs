//! The staff list filters on municipality and `active` and sorts by `sort_key`: one index serves the page, the
//! count and the sort, and a planner without statistics still prefers it (two equality columns).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0002_staff_list_index"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("ix_staff_active_sort")
                    .table(Alias::new("staff"))
                    .col(Alias::new("municipality_id"))
                    .col(Alias::new("active"))
                    .col(Alias::new("sort_key"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_staff_active_sort")
                    .table(Alias::new("staff"))
                    .to_owned(),
            )
            .await
    }
}
