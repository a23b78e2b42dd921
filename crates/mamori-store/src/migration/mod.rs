//! Schema migrations. One code path builds the schema for SQLite and PostgreSQL alike (sea-query renders each
//! backend's SQL), so the migration names are identical on both by construction.

use sea_orm_migration::prelude::*;

mod m0001_foundation;
mod m0002_staff_list_index;
mod m0003_assets;
mod m0004_asset_list_cover;
mod m0005_compliance;

pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_foundation::Migration),
            Box::new(m0002_staff_list_index::Migration),
            Box::new(m0003_assets::Migration),
            Box::new(m0004_asset_list_cover::Migration),
            Box::new(m0005_compliance::Migration),
        ]
    }
}
