//! The command line as an operator uses it: migrate, create accounts, take tokens, verify the audit chain,
//! back up and restore — on SQLite and (where the command applies) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use mamori_store::Store;

mod common;
use common::*;

/// The same operator session on each backend: migrate, create an administrator and an ordinary account,
/// refuse a duplicate, take a token, verify the chain.
fn accounts_and_verification(dir: &Path, database: Option<&str>) {
    let o = mamori(dir, database, &["migrate"], None);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("m0001_foundation"));

    let o = mamori(
        dir,
        database,
        &[
            "admin",
            "create",
            "--login",
            "Kanri",
            "--password-stdin",
            "--role",
            "system-admin",
        ],
        Some("long-enough-secret\n"),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("created account kanri"),
        "logins are case-folded: {}",
        text(&o)
    );

    let o = mamori(
        dir,
        database,
        &["admin", "create", "--login", "tanaka"],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("initial password"),
        "an account without a password gets a one-time one"
    );

    let o = mamori(
        dir,
        database,
        &["admin", "create", "--login", "kanri", "--password-stdin"],
        Some("another-long-secret"),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("login") && text(&o).contains("err-duplicate"),
        "{}",
        text(&o)
    );

    let o = mamori(
        dir,
        database,
        &[
            "admin",
            "create",
            "--login",
            "x",
            "--password-stdin",
            "--role",
            "root",
        ],
        Some("long-enough-secret"),
    );
    assert_eq!(o.status.code(), Some(2), "unknown role refused");

    let o = mamori(dir, database, &["admin", "token", "--login", "kanri"], None);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .starts_with("mmr_")
    );

    let o = mamori(dir, database, &["audit", "verify"], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("intact"));
    // Secrets never reach the trail: the password typed on stdin is not in the database's audit summaries.
    assert!(
        !text(&mamori(dir, database, &["audit", "checkpoint"], None))
            .contains("long-enough-secret")
    );
}

#[test]
fn an_operator_manages_accounts_and_verifies_the_trail_on_sqlite() {
    let dir = scratch();
    accounts_and_verification(&dir, None);
}

#[test]
fn an_operator_manages_accounts_and_verifies_the_trail_on_postgres() {
    let dir = scratch();
    let url = pg_database();
    accounts_and_verification(&dir, Some(&url));
    // Editing an entry in the database is caught.
    tokio::runtime::Runtime::new().unwrap().block_on(sql(
        &url,
        "UPDATE audit_entry SET actor_label = 'someone else' WHERE seq = 2",
    ));
    let o = mamori(&dir, Some(&url), &["audit", "verify"], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("BROKEN at entry 2"), "{}", text(&o));
}

#[test]
fn a_tampered_chain_fails_verification_naming_the_entry() {
    let dir = scratch();
    accounts_and_verification(&dir, None);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(sql(
        &sqlite_url(&dir),
        "UPDATE audit_entry SET summary = '{\"login\":\"other\"}' WHERE seq = 3",
    ));
    let o = mamori(&dir, None, &["audit", "verify"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("BROKEN at entry 3"), "{}", text(&o));
}

#[test]
fn a_truncation_that_also_removes_the_seal_is_caught_by_a_checkpoint_kept_outside() {
    let dir = scratch();
    accounts_and_verification(&dir, None);
    let checkpoint = dir.join("kept-elsewhere.jsonl");
    std::fs::write(
        &checkpoint,
        mamori(&dir, None, &["audit", "checkpoint"], None).stdout,
    )
    .unwrap();
    // Whoever truncates the history also removes the seal beside the database…
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(sql(
        &sqlite_url(&dir),
        "DELETE FROM audit_entry WHERE seq > 1",
    ));
    rt.block_on(sql(
        &sqlite_url(&dir),
        "UPDATE audit_head SET seq = 1, hash = (SELECT hash FROM audit_entry WHERE seq = 1)",
    ));
    for f in std::fs::read_dir(&dir).unwrap() {
        let path = f.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("audit-seal")
        {
            std::fs::remove_file(path).unwrap();
        }
    }
    assert_eq!(
        mamori(&dir, None, &["audit", "verify"], None).status.code(),
        Some(0),
        "without the checkpoint the truncation looks clean"
    );
    // …but the checkpoint taken earlier still knows the head.
    let o = mamori(
        &dir,
        None,
        &[
            "audit",
            "verify",
            "--checkpoint",
            checkpoint.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("removed from the end"), "{}", text(&o));
}

#[test]
fn a_backup_restores_and_its_chain_verifies() {
    let dir = scratch();
    accounts_and_verification(&dir, None);
    let backup = dir.join("backup.sqlite3");
    let o = mamori(
        &dir,
        None,
        &["backup", "--output", backup.to_str().unwrap()],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    // Something happens after the backup…
    let o = mamori(
        &dir,
        None,
        &[
            "admin",
            "create",
            "--login",
            "after-backup",
            "--password-stdin",
        ],
        Some("long-enough-secret"),
    );
    assert!(o.status.success());
    // …restoring refuses to overwrite without --force, then puts the backup back.
    let o = mamori(&dir, None, &["restore", backup.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--force"));
    let o = mamori(
        &dir,
        None,
        &["restore", backup.to_str().unwrap(), "--force"],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    // The restored database is the backup's: the later account is gone, the chain verifies, and the restore
    // itself is in the trail.
    let o = mamori(
        &dir,
        None,
        &["admin", "token", "--login", "after-backup"],
        None,
    );
    assert!(
        !o.status.success(),
        "the account created after the backup is not in the restore"
    );
    let o = mamori(&dir, None, &["audit", "verify"], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let restored: i64 = rt.block_on(async {
        let store = Store::connect(&sqlite_url(&dir)).await.unwrap();
        use mamori_store::sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        let n = mamori_store::entity::audit_entry::Entity::find()
            .filter(mamori_store::entity::audit_entry::Column::Action.eq("data.restored"))
            .count(store.conn())
            .await
            .unwrap();
        n as i64
    });
    assert_eq!(restored, 1);
    // A backup whose chain was tampered with is not put back.
    rt.block_on(sql(
        &format!("sqlite://{}?mode=rw", backup.display()),
        "UPDATE audit_entry SET actor_label = 'x' WHERE seq = 2",
    ));
    let o = mamori(
        &dir,
        None,
        &["restore", backup.to_str().unwrap(), "--force"],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("broken at entry 2"), "{}", text(&o));
    // A file that is not a Mamori database is refused.
    let junk = dir.join("junk.sqlite3");
    std::fs::write(&junk, b"not a database").unwrap();
    assert_eq!(
        mamori(
            &dir,
            None,
            &["restore", junk.to_str().unwrap(), "--force"],
            None
        )
        .status
        .code(),
        Some(2)
    );
}
