//! A register sheet larger than one chunk of the import: rows are written as they are checked, yet a bad row
//! after thousands of good ones leaves nothing behind, not even audit entries; and a dry run lists the first
//! changes and says how many more there are. On SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

mod common;
use common::*;

/// Good rows, more than two chunks of the import.
const GOOD_ROWS: usize = 2_500;

/// A sheet of `GOOD_ROWS` good rows, then, when `bad_last` is set, a row with a date that does not exist.
fn sheet(bad_last: bool) -> String {
    let mut csv =
        String::from("資産番号,資産名,種別,所管課コード,機密性,完全性,可用性,次回見直し日\r\n");
    for n in 1..=GOOD_ROWS {
        csv.push_str(&format!(
            "S-{n:05},台帳 {n},情報（電子）,120200,2,2,2,2027/03/31\r\n"
        ));
    }
    if bad_last {
        csv.push_str("S-99999,最後の台帳,情報（電子）,120200,2,2,2,2027/13/45\r\n");
    }
    csv
}

/// Entries in the audit chain of the demo city, as `audit verify` counts them.
fn audit_entries(dir: &Path, database: Option<&str>) -> String {
    let o = mamori(dir, database, &["audit", "verify"], None);
    assert!(o.status.success(), "{}", text(&o));
    text(&o)
}

fn bad_row_after_written_rows_leaves_nothing(dir: &Path, database: Option<&str>) {
    let o = mamori(
        dir,
        database,
        &["seed", "--units", "30", "--staff", "60"],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    let before_assets = exported_rows(dir, database);
    let before_audit = audit_entries(dir, database);

    // The bad row is the last: the chunks before it have been written when it is found.
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, sheet(true)).unwrap();
    let o = mamori(
        dir,
        database,
        &["import", "assets", bad.to_str().unwrap(), "--lang", "en"],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains(&format!("line {}", GOOD_ROWS + 2)), "{out}");
    assert!(out.contains("2027/13/45"), "{out}");
    assert!(
        out.contains(&format!("{GOOD_ROWS} created")),
        "the counts are of every row: {out}"
    );
    // (Before counting the assets: an export is itself audited.)
    assert_eq!(
        audit_entries(dir, database),
        before_audit,
        "no audit entry remains"
    );
    assert_eq!(
        exported_rows(dir, database),
        before_assets,
        "no asset remains"
    );

    // A dry run of the good rows lists the first 1,000 changes and says how many more there are.
    let good = dir.join("good.csv");
    std::fs::write(&good, sheet(false)).unwrap();
    for (lang, more) in [("ja", "ほか"), ("en", "and")] {
        let o = mamori(
            dir,
            database,
            &[
                "import",
                "assets",
                good.to_str().unwrap(),
                "--dry-run",
                "--lang",
                lang,
            ],
            None,
        );
        assert!(o.status.success(), "{}", text(&o));
        let out = text(&o);
        let listed = out.lines().filter(|l| l.ends_with(" +")).count();
        assert_eq!(listed, 1_000, "{lang}");
        assert!(
            out.contains("S-01000 +") && !out.contains("S-01001 +"),
            "{lang}"
        );
        let last = out.lines().last().unwrap_or_default();
        assert!(
            last.contains(more) && last.contains("1500"),
            "{lang}: {last}"
        );
    }
    assert_eq!(
        exported_rows(dir, database),
        before_assets,
        "a dry run writes nothing"
    );

    // The same rows applied: every one created, each with its audit entry, and the chain verifies.
    let before_audit = audit_entries(dir, database);
    let o = mamori(
        dir,
        database,
        &["import", "assets", good.to_str().unwrap()],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    let entries = |report: &str| -> usize {
        report
            .split(", ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no entry count in {report:?}"))
    };
    assert_eq!(
        entries(&audit_entries(dir, database)),
        entries(&before_audit) + GOOD_ROWS + 1,
        "one entry per asset and one for the import"
    );
    assert_eq!(exported_rows(dir, database), before_assets + GOOD_ROWS);
}

#[test]
fn bad_row_after_written_rows_leaves_nothing_on_sqlite() {
    let dir = scratch();
    bad_row_after_written_rows_leaves_nothing(&dir, None);
}

#[test]
fn bad_row_after_written_rows_leaves_nothing_on_postgres() {
    let dir = scratch();
    let url = pg_database();
    bad_row_after_written_rows_leaves_nothing(&dir, Some(&url));
}
