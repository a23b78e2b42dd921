//! `mamori check` and `mamori policy` as a city runs them from cron or a terminal: the findings of the demo
//! city in text and JSON, the exit codes, the daily record, and the policy text imported in versions and
//! compared — on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

mod common;
use common::*;

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

fn check_and_policy(dir: &Path, database: Option<&str>) {
    // The demo city, with its planted problems (and one synthetic 部 without an officer).
    let o = mamori(
        dir,
        database,
        &["seed", "--units", "0", "--staff", "0"],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));

    let o = mamori(dir, database, &["check", "--format", "json"], None);
    assert_eq!(
        o.status.code(),
        Some(1),
        "open findings: exit 1; {}",
        text(&o)
    );
    let report = json(&o);
    let findings = report["findings"].as_array().unwrap();
    let has = |check: &str, label: &str| {
        findings.iter().any(|f| {
            f["check_id"] == check && f["subject"]["label"].as_str().unwrap().contains(label)
        })
    };
    assert!(has("asset.unclassified", "A-0009"));
    assert!(has("asset.my_number_outside_zone", "A-0003"));
    assert!(has("org.bureau_officer_missing", "接続団体"));
    assert!(has("account.privileged_without_mfa", "ciso"));
    for f in findings {
        for key in [
            "check_id", "clause", "severity", "subject", "message", "state",
        ] {
            assert!(!f[key].is_null(), "{key} in {f}");
        }
    }
    assert_eq!(report["open"].as_u64().unwrap() as usize, findings.len());

    // A threshold keeps only what is at or above it; the critical planted problem still fails the run.
    let o = mamori(
        dir,
        database,
        &["check", "--format", "json", "--min-severity", "critical"],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let critical = json(&o);
    let critical = critical["findings"].as_array().unwrap();
    assert!(!critical.is_empty() && critical.iter().all(|f| f["severity"] == "critical"));

    // Text for a terminal or a cron mail, in Japanese by default and English on request.
    let o = mamori(dir, database, &["check", "--record"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("未対応の指摘") && text(&o).contains("[重大] 2(12)"),
        "{}",
        text(&o)
    );
    let o = mamori(
        dir,
        database,
        &["check", "--lang", "en", "--min-severity", "high"],
        None,
    );
    assert!(
        text(&o).contains("Open findings at High or above"),
        "{}",
        text(&o)
    );

    // Bad options are bad input: exit 2, naming what is allowed.
    let o = mamori(dir, database, &["check", "--format", "yaml"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("text or json"));
    let o = mamori(dir, database, &["check", "--min-severity", "severe"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("info, low, medium, high or critical"));

    // The city's policy: a Shift_JIS text copied out of its PDF, then a revision; compared clause by clause.
    let sample = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mamori-policy/tests/fixtures/sample-policy.txt");
    let v1 = std::fs::read_to_string(&sample).unwrap();
    let (sjis, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&v1);
    assert!(!unmappable);
    let first = dir.join("policy-v1.txt");
    std::fs::write(&first, &sjis).unwrap();
    let o = mamori(
        dir,
        database,
        &["policy", "import", first.to_str().unwrap()],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("サンプル市情報セキュリティ基本方針"),
        "{}",
        text(&o)
    );

    let second = dir.join("policy-v2.txt");
    let revised = v1.replacen("目的", "目的及び位置付け", 2);
    assert_ne!(revised, v1, "the fixture has a clause 目的");
    std::fs::write(&second, revised).unwrap();
    let o = mamori(
        dir,
        database,
        &["policy", "import", second.to_str().unwrap()],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = mamori(dir, database, &["policy", "versions"], None);
    assert_eq!(
        text(&o).lines().filter(|l| l.contains("clauses")).count(),
        2,
        "{}",
        text(&o)
    );
    let o = mamori(dir, database, &["policy", "diff", "1", "2"], None);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("~ 1") && text(&o).contains("目的及び位置付け"),
        "{}",
        text(&o)
    );

    // A text that is not a policy: exit 1, the reason with its line, nothing stored.
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "(1) 見出しの前の項目\n1. 目的\n").unwrap();
    let o = mamori(
        dir,
        database,
        &["policy", "import", bad.to_str().unwrap()],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("1 行目"), "{}", text(&o));
    let o = mamori(dir, database, &["policy", "versions"], None);
    assert_eq!(
        text(&o).lines().filter(|l| l.contains("clauses")).count(),
        2
    );

    // Every change above is in the audit chain, which still verifies.
    let o = mamori(dir, database, &["audit", "verify"], None);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn check_and_policy_on_sqlite() {
    check_and_policy(&scratch(), None);
}

#[test]
fn check_and_policy_on_postgres() {
    let url = pg_database();
    check_and_policy(&scratch(), Some(&url));
}
