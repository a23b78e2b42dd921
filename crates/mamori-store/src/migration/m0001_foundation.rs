//! The platform foundation: municipalities, the org tree, facilities, staff, accounts, sessions, tokens,
//! statutory role assignments, change sets, settings and the audit chain.

use sea_orm_migration::{prelude::*, schema::*};

use super::fk;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0001_foundation"
    }
}

fn index(
    table: &'static str,
    name: &'static str,
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

fn tables() -> Vec<TableCreateStatement> {
    let t = |name: &'static str| Table::create().table(Alias::new(name)).to_owned();
    vec![
        t("municipality")
            .col(big_pk_auto("id"))
            .col(string_uniq("code"))
            .col(string("name"))
            .col(string("name_en"))
            .col(timestamp_with_time_zone("created_at"))
            .to_owned(),
        t("org_unit")
            .col(big_pk_auto("id"))
            .col(big_integer("municipality_id"))
            .col(big_integer_null("parent_id"))
            .col(string("code"))
            .col(string("name"))
            .col(string("name_kana"))
            .col(string("level"))
            .col(string_null("organ_kind"))
            .col(boolean("in_scope"))
            .col(text("path"))
            .col(text("tree_path"))
            .col(text("sort_key"))
            .col(date_null("established_on"))
            .col(date_null("abolished_on"))
            .col(big_integer_null("successor_id"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .foreign_key(&mut fk("org_unit", "municipality_id", "municipality"))
            .foreign_key(&mut fk("org_unit", "parent_id", "org_unit"))
            .foreign_key(&mut fk("org_unit", "successor_id", "org_unit"))
            .to_owned(),
        t("facility")
            .col(big_pk_auto("id"))
            .col(big_integer("municipality_id"))
            .col(string("code"))
            .col(string("name"))
            .col(string("address"))
            .col(big_integer("org_unit_id"))
            .col(boolean("connected_outside"))
            .col(text("note"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .foreign_key(&mut fk("facility", "municipality_id", "municipality"))
            .foreign_key(&mut fk("facility", "org_unit_id", "org_unit"))
            .to_owned(),
        t("staff_kind")
            .col(big_pk_auto("id"))
            .col(big_integer("municipality_id"))
            .col(string("code"))
            .col(string("name_ja"))
            .col(string("name_en"))
            .col(integer("sort_order"))
            .foreign_key(&mut fk("staff_kind", "municipality_id", "municipality"))
            .to_owned(),
        t("staff")
            .col(big_pk_auto("id"))
            .col(big_integer("municipality_id"))
            .col(string("staff_no"))
            .col(string("name"))
            .col(string("name_kana"))
            .col(string("sort_key"))
            .col(text("search_key"))
            .col(string("email"))
            .col(big_integer("kind_id"))
            .col(big_integer("org_unit_id"))
            .col(boolean("active"))
            .col(date_null("left_on"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .foreign_key(&mut fk("staff", "municipality_id", "municipality"))
            .foreign_key(&mut fk("staff", "kind_id", "staff_kind"))
            .foreign_key(&mut fk("staff", "org_unit_id", "org_unit"))
            .to_owned(),
        t("account")
            .col(big_pk_auto("id"))
            .col(big_integer("municipality_id"))
            .col(string_uniq("login"))
            .col(string("display_name"))
            .col(string("password_hash"))
            .col(big_integer_null("staff_id"))
            .col(boolean("is_system_admin"))
            .col(boolean("is_outsider"))
            .col(date_null("valid_from"))
            .col(date_null("valid_until"))
            .col(boolean("must_change_password"))
            .col(boolean("disabled"))
            .col(string_null("totp_secret"))
            .col(big_integer_null("totp_last_step"))
            .col(timestamp_with_time_zone_null("mfa_enrolled_at"))
            .col(integer("failed_attempts"))
            .col(timestamp_with_time_zone_null("locked_until"))
            .col(timestamp_with_time_zone_null("password_changed_at"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .foreign_key(&mut fk("account", "municipality_id", "municipality"))
            .foreign_key(&mut fk("account", "staff_id", "staff"))
            .to_owned(),
        t("account_scope")
            .col(big_pk_auto("id"))
            .col(big_integer("account_id"))
            .col(big_integer("org_unit_id"))
            .foreign_key(&mut fk("account_scope", "account_id", "account"))
            .foreign_key(&mut fk("account_scope", "org_unit_id", "org_unit"))
            .to_owned(),
        t("recovery_code")
            .col(big_pk_auto("id"))
            .col(big_integer("account_id"))
            .col(string("code_hash"))
            .col(timestamp_with_time_zone_null("used_at"))
            .foreign_key(&mut fk("recovery_code", "account_id", "account"))
            .to_owned(),
        t("session")
            .col(big_pk_auto("id"))
            .col(big_integer("account_id"))
            .col(string_uniq("token_hash"))
            .col(string("stage"))
            .col(string("lang"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("last_seen_at"))
            .col(timestamp_with_time_zone("expires_at"))
            .foreign_key(&mut fk("session", "account_id", "account"))
            .to_owned(),
        t("api_token")
            .col(big_pk_auto("id"))
            .col(big_integer("account_id"))
            .col(string("name"))
            .col(string_uniq("token_hash"))
            .col(string("prefix"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone_null("last_used_at"))
            .col(date_null("expires_on"))
            .col(timestamp_with_time_zone_null("revoked_at"))
            .foreign_key(&mut fk("api_token", "account_id", "account"))
            .to_owned(),
        t("role_assignment")
            .col(big_pk_auto("id"))
            .col(big_integer("municipality_id"))
            .col(string("role"))
            .col(big_integer("scope_unit_id"))
            .col(big_integer("staff_id"))
            .col(string("kind"))
            .col(date("valid_from"))
            .col(date_null("valid_to"))
            .col(text("note"))
            .col(timestamp_with_time_zone("created_at"))
            .foreign_key(&mut fk(
                "role_assignment",
                "municipality_id",
                "municipality",
            ))
            .foreign_key(&mut fk("role_assignment", "scope_unit_id", "org_unit"))
            .foreign_key(&mut fk("role_assignment", "staff_id", "staff"))
            .to_owned(),
        t("change_set")
            .col(big_pk_auto("id"))
            .col(big_integer("municipality_id"))
            .col(string("title"))
            .col(date("effective_on"))
            .col(string("status"))
            .col(string("source_name"))
            .col(text("payload"))
            .col(text("result"))
            .col(big_integer_null("created_by"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone_null("applied_at"))
            .foreign_key(&mut fk("change_set", "municipality_id", "municipality"))
            .to_owned(),
        t("audit_entry")
            .col(big_pk_auto("id"))
            .col(big_integer("municipality_id"))
            .col(big_integer("seq"))
            .col(timestamp_with_time_zone("at"))
            .col(big_integer_null("actor_account_id"))
            .col(string("actor_label"))
            .col(string("action"))
            .col(integer("action_code"))
            .col(string("target_type"))
            .col(string("target_id"))
            .col(text("summary"))
            .col(string("prev_hash"))
            .col(string("hash"))
            .col(string("mac"))
            .foreign_key(&mut fk("audit_entry", "municipality_id", "municipality"))
            .to_owned(),
        t("audit_head")
            .col(big_integer("municipality_id").primary_key())
            .col(big_integer("seq"))
            .col(string("hash"))
            .foreign_key(&mut fk("audit_head", "municipality_id", "municipality"))
            .to_owned(),
        t("setting")
            .col(big_pk_auto("id"))
            .col(big_integer("municipality_id"))
            .col(string("key"))
            .col(text("value"))
            .foreign_key(&mut fk("setting", "municipality_id", "municipality"))
            .to_owned(),
    ]
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        index(
            "org_unit",
            "ux_org_unit_code",
            &["municipality_id", "code"],
            true,
        ),
        index("org_unit", "ix_org_unit_parent", &["parent_id"], false),
        index(
            "org_unit",
            "ix_org_unit_tree",
            &["municipality_id", "tree_path"],
            false,
        ),
        index(
            "facility",
            "ux_facility_code",
            &["municipality_id", "code"],
            true,
        ),
        index(
            "staff_kind",
            "ux_staff_kind_code",
            &["municipality_id", "code"],
            true,
        ),
        index(
            "staff",
            "ux_staff_no",
            &["municipality_id", "staff_no"],
            true,
        ),
        index(
            "staff",
            "ix_staff_sort",
            &["municipality_id", "sort_key"],
            false,
        ),
        index(
            "staff",
            "ix_staff_unit",
            &["org_unit_id", "sort_key"],
            false,
        ),
        index("account", "ix_account_staff", &["staff_id"], false),
        index(
            "account_scope",
            "ix_account_scope_account",
            &["account_id"],
            false,
        ),
        index(
            "recovery_code",
            "ix_recovery_code_account",
            &["account_id"],
            false,
        ),
        index("session", "ix_session_account", &["account_id"], false),
        index("api_token", "ix_api_token_account", &["account_id"], false),
        index("role_assignment", "ix_role_staff", &["staff_id"], false),
        index(
            "role_assignment",
            "ix_role_scope",
            &["scope_unit_id"],
            false,
        ),
        index(
            "change_set",
            "ix_change_set_municipality",
            &["municipality_id", "effective_on"],
            false,
        ),
        index(
            "audit_entry",
            "ux_audit_seq",
            &["municipality_id", "seq"],
            true,
        ),
        index(
            "audit_entry",
            "ix_audit_action",
            &["municipality_id", "action"],
            false,
        ),
        index(
            "setting",
            "ux_setting_key",
            &["municipality_id", "key"],
            true,
        ),
    ]
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            manager.create_table(table).await?;
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables().iter().rev() {
            let name = table.get_table_name().cloned();
            if let Some(name) = name {
                manager
                    .drop_table(Table::drop().table(name).to_owned())
                    .await?;
            }
        }
        Ok(())
    }
}
