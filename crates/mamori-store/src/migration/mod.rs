//! Schema migrations. One code path builds the schema for SQLite and PostgreSQL alike (sea-query renders each
//! backend's SQL), so the migration names are identical on both by construction.

use sea_orm_migration::prelude::*;

mod m0001_foundation;
mod m0002_staff_list_index;
mod m0003_assets;
mod m0004_asset_list_cover;
mod m0005_compliance;
mod m0006_zones;
mod m0007_quarantine;
mod m0008_asset_revision;
mod m0009_asset_list_index_gone;

/// A foreign key from `from.col` to `to.id`.
fn fk(from: &'static str, col: &'static str, to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(Alias::new(from), Alias::new(col))
        .to(Alias::new(to), Alias::new("id"))
        .to_owned()
}

/// An index on `table`'s columns, in order.
fn index(
    name: &'static str,
    table: &'static str,
    cols: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(Alias::new(table));
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    if unique {
        stmt.unique();
    }
    stmt.to_owned()
}

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
            Box::new(m0006_zones::Migration),
            Box::new(m0007_quarantine::Migration),
            Box::new(m0008_asset_revision::Migration),
            Box::new(m0009_asset_list_index_gone::Migration),
        ]
    }
}
