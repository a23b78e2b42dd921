//! 6(3) システム全体の強靱性: the zone register — information systems and the zone each lives in, the flows
//! declared between them (and through which 無害化 system), the zone map in versions, the configuration files of
//! the devices between the zones, and every `netcheck` run over them.

use sea_orm_migration::{prelude::*, schema::*};

use super::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0006_zones"
    }
}

/// 情報システム: one row per system, kept when retired (廃止).
fn info_system() -> TableCreateStatement {
    Table::create()
        .table(Alias::new("info_system"))
        .col(big_pk_auto("id"))
        .col(big_integer("municipality_id"))
        .col(text("name"))
        .col(string("zone"))
        .col(big_integer_null("owner_unit_id"))
        .col(big_integer_null("admin_staff_id"))
        .col(string("hosting"))
        .col(boolean("mfa"))
        .col(boolean("no_export"))
        .col(boolean("sanitiser"))
        .col(text("notes"))
        .col(boolean("retired"))
        .col(date_null("retired_on"))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"))
        .foreign_key(&mut fk("info_system", "municipality_id", "municipality"))
        .foreign_key(&mut fk("info_system", "owner_unit_id", "org_unit"))
        .foreign_key(&mut fk("info_system", "admin_staff_id", "staff"))
        .to_owned()
}

/// A declared flow from one system to another, optionally through a 無害化 system.
fn system_flow() -> TableCreateStatement {
    Table::create()
        .table(Alias::new("system_flow"))
        .col(big_pk_auto("id"))
        .col(big_integer("municipality_id"))
        .col(big_integer("from_system_id"))
        .col(big_integer("to_system_id"))
        .col(string("protocol"))
        .col(string("ports"))
        .col(text("purpose"))
        .col(big_integer_null("via_system_id"))
        .col(boolean("retired"))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"))
        .foreign_key(&mut fk("system_flow", "municipality_id", "municipality"))
        .foreign_key(&mut fk("system_flow", "from_system_id", "info_system"))
        .foreign_key(&mut fk("system_flow", "to_system_id", "info_system"))
        .foreign_key(&mut fk("system_flow", "via_system_id", "info_system"))
        .to_owned()
}

/// One uploaded version of the zone map (TOML), kept as uploaded.
fn zone_map_version() -> TableCreateStatement {
    Table::create()
        .table(Alias::new("zone_map_version"))
        .col(big_pk_auto("id"))
        .col(big_integer("municipality_id"))
        .col(text("source_name"))
        .col(text("source_text"))
        .col(string("sha256"))
        .col(big_integer_null("uploaded_by"))
        .col(timestamp_with_time_zone("uploaded_at"))
        .foreign_key(&mut fk(
            "zone_map_version",
            "municipality_id",
            "municipality",
        ))
        .foreign_key(&mut fk("zone_map_version", "uploaded_by", "account"))
        .to_owned()
}

/// One uploaded file of a device (its ruleset, ipset or routes), by the name the zone map gives it.
fn device_config() -> TableCreateStatement {
    Table::create()
        .table(Alias::new("device_config"))
        .col(big_pk_auto("id"))
        .col(big_integer("municipality_id"))
        .col(string("device"))
        .col(string("file_name"))
        .col(text("content"))
        .col(string("sha256"))
        .col(big_integer("size"))
        .col(big_integer_null("uploaded_by"))
        .col(timestamp_with_time_zone("uploaded_at"))
        .foreign_key(&mut fk("device_config", "municipality_id", "municipality"))
        .foreign_key(&mut fk("device_config", "uploaded_by", "account"))
        .to_owned()
}

/// One run of `netcheck`: its inputs (by hash), the verdict per zone pair and the whole report.
fn netcheck_run() -> TableCreateStatement {
    Table::create()
        .table(Alias::new("netcheck_run"))
        .col(big_pk_auto("id"))
        .col(big_integer("municipality_id"))
        .col(big_integer("map_version_id"))
        .col(string("map_sha256"))
        .col(text("inputs"))
        .col(text("verdicts"))
        .col(boolean("violation"))
        .col(text("violating_devices"))
        .col(text("report"))
        .col(big_integer_null("ran_by"))
        .col(text("ran_by_label"))
        .col(timestamp_with_time_zone("ran_at"))
        .foreign_key(&mut fk("netcheck_run", "municipality_id", "municipality"))
        .foreign_key(&mut fk(
            "netcheck_run",
            "map_version_id",
            "zone_map_version",
        ))
        .foreign_key(&mut fk("netcheck_run", "ran_by", "account"))
        .to_owned()
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        index(
            "ix_info_system_list",
            "info_system",
            &["municipality_id", "retired", "zone", "id"],
            false,
        ),
        index(
            "ix_system_flow_list",
            "system_flow",
            &["municipality_id", "retired", "from_system_id"],
            false,
        ),
        index(
            "ix_zone_map_version",
            "zone_map_version",
            &["municipality_id", "id"],
            false,
        ),
        index(
            "ix_device_config_file",
            "device_config",
            &["municipality_id", "file_name", "id"],
            false,
        ),
        index(
            "ix_netcheck_run",
            "netcheck_run",
            &["municipality_id", "id"],
            false,
        ),
    ]
}

const TABLES: &[&str] = &[
    "netcheck_run",
    "device_config",
    "zone_map_version",
    "system_flow",
    "info_system",
];

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            info_system(),
            system_flow(),
            zone_map_version(),
            device_config(),
            netcheck_run(),
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
