//! 6(7) 遵守状況の確認 through the pages: the overview of the demo city's planted problems, a fix that resolves a
//! finding, 例外措置 that accept one until its end date, who may see and record what, the export, and the
//! city's policy text in versions. Every check is made to fire on a real database — SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

use std::collections::BTreeSet;

use harness::{TestServer, both};
use mamori_app::access::ComplianceReader;
use mamori_app::compliance::{self, FindingQuery, StateFilter};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

async fn page(s: &TestServer, c: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let r = c.get(s.url(path)).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// What `mamori check` reads with: the demo municipality, with the server's authority.
fn reader() -> ComplianceReader {
    ComplianceReader::for_cli(1)
}

/// The id in the first "record an exception" link of a findings page.
fn first_exception_link(body: &str) -> i64 {
    let at = body
        .find("/compliance/exceptions/new?finding=")
        .expect("a link to record an exception");
    body[at + "/compliance/exceptions/new?finding=".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

/// A new-asset form (as the register's own tests write it) with the given fields over a plain default.
fn asset_form(no: &str, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = [
        ("asset_no", no),
        ("name", "住民異動届の写し"),
        ("kind", "information"),
        ("owner_code", "120100"),
        ("manager_no", "00026"),
        ("confidentiality", "2"),
        ("integrity", "1"),
        ("availability", "1"),
        ("zone", "lgwan"),
        ("next_review", "2099/03/31"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for (k, v) in fields {
        form.retain(|(name, _)| name != k);
        form.push(((*k).to_owned(), (*v).to_owned()));
    }
    form
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_shows_the_planted_problems_and_a_fix_resolves_a_finding() {
    both(async |s: TestServer| {
        let c = s.signed_in("toukatsu").await;
        let (status, overview) = page(&s, &c, "/compliance").await;
        assert_eq!(status, StatusCode::OK);
        for expected in [
            "未対応の指摘",
            r#"id="clause-2(12)""#,
            "未対応あり",
            "チェック未整備", // clauses no check measures yet are said to be so
            "<svg",
            "部局・課別の未対応の指摘",
        ] {
            assert!(overview.contains(expected), "{expected}");
        }
        assert!(!overview.contains("<script"));

        let (_, unclassified) = page(&s, &c, "/compliance/findings?check=asset.unclassified").await;
        assert!(unclassified.contains("A-0009"), "{unclassified}");

        // Register an unclassified asset: the next view finds it.
        let mut form = asset_form("T-900", &[]);
        form.retain(|(k, _)| {
            !["confidentiality", "integrity", "availability"].contains(&k.as_str())
        });
        let r = c.post(s.url("/assets")).form(&form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let id: i64 = r.headers()["location"]
            .to_str()
            .unwrap()
            .trim_start_matches("/assets/")
            .parse()
            .unwrap();
        let (_, list) = page(&s, &c, "/compliance/findings?check=asset.unclassified").await;
        assert!(list.contains("T-900"), "{list}");

        // Classify it in the register: it is gone from the open findings and listed as resolved.
        let r = c
            .post(s.url(&format!("/assets/{id}")))
            .form(&asset_form("T-900", &[]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, list) = page(&s, &c, "/compliance/findings?check=asset.unclassified").await;
        assert!(!list.contains("T-900"), "{list}");
        let (_, resolved) = page(
            &s,
            &c,
            "/compliance/findings?check=asset.unclassified&state=resolved",
        )
        .await;
        assert!(
            resolved.contains("T-900") && resolved.contains("解消"),
            "{resolved}"
        );

        // Undo the classification: the same finding opens again.
        let r = c
            .post(s.url(&format!("/assets/{id}")))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, list) = page(&s, &c, "/compliance/findings?check=asset.unclassified").await;
        assert!(list.contains("T-900"), "reopened: {list}");

        // The page and what `mamori check` reads agree.
        let all = compliance::all_findings(&s.app, &reader(), &FindingQuery::default())
            .await
            .unwrap();
        let (_, list) = page(&s, &c, "/compliance/findings").await;
        assert!(
            list.contains(&format!("{}件", all.len())),
            "{} findings: {list}",
            all.len()
        );
        for f in &all {
            assert!(list.contains(&f.subject_label), "{}", f.subject_label);
        }

        // A filter that cannot be read is said so, by field.
        let (status, body) = page(&s, &c, "/compliance/findings?clause=第六条&severity=huge").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("条項番号として読めません"), "{body}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exception_accepts_a_finding_until_it_ends_or_is_revoked() {
    both(async |s: TestServer| {
        let c = s.signed_in("toukatsu").await;
        let (_, list) = page(&s, &c, "/compliance/findings?check=asset.review_overdue").await;
        assert!(list.contains("A-0007"), "{list}");
        let finding = first_exception_link(&list);
        let (status, form) = page(
            &s,
            &c,
            &format!("/compliance/exceptions/new?finding={finding}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(form.contains("A-0007"));

        // Bad input is refused field by field, and nothing is recorded.
        let r = c
            .post(s.url("/compliance/exceptions"))
            .form(&[
                ("finding_id", finding.to_string().as_str()),
                ("reason", ""),
                ("approver", "99999"),
                ("approved_on", "R8.4.1"),
                ("ends_on", "2020-01-01"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = r.text().await.unwrap();
        for expected in [
            "必須です",
            "職員「99999」が見つかりません",
            "過去の日付は指定できません",
        ] {
            assert!(body.contains(expected), "{expected}: {body}");
        }
        let r = c
            .post(s.url("/compliance/exceptions"))
            .form(&[
                ("finding_id", finding.to_string().as_str()),
                ("reason", "更新作業中"),
                ("approver", "00001"),
                ("approved_on", "2026-04-01"),
                ("ends_on", "2035-01-01"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "more than three years"
        );
        assert!(
            compliance::list_exceptions(&s.app, &reader(), false)
                .await
                .unwrap()
                .is_empty()
        );

        let ends = mamori_app::today() + chrono::Days::new(30);
        let r = c
            .post(s.url("/compliance/exceptions"))
            .form(&[
                ("finding_id", finding.to_string().as_str()),
                ("reason", "ネットワーク更改に合わせて見直す。"),
                ("approver", "00001"),
                ("approved_on", &mamori_app::today().to_string()),
                ("ends_on", &ends.to_string()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let exception = r.headers()["location"].to_str().unwrap().to_owned();
        assert!(s.audited("compliance.exception_granted").await);

        let (_, accepted) = page(&s, &c, "/compliance/findings?state=accepted").await;
        assert!(
            accepted.contains("A-0007") && accepted.contains("例外承認中"),
            "{accepted}"
        );
        let (_, open) = page(&s, &c, "/compliance/findings?state=open").await;
        assert!(!open.contains("A-0007"));
        let (_, overview) = page(&s, &c, "/compliance").await;
        assert!(overview.contains("例外承認中 1件"), "{overview}");

        // When the exception has ended, the finding is open again.
        s.sql("UPDATE policy_exception SET ends_on = '2026-01-01'")
            .await;
        let (_, open) = page(&s, &c, "/compliance/findings?state=open").await;
        assert!(open.contains("A-0007"), "reopened on expiry");
        s.sql(&format!("UPDATE policy_exception SET ends_on = '{ends}'"))
            .await;
        let (_, open) = page(&s, &c, "/compliance/findings?state=open").await;
        assert!(!open.contains("A-0007"));

        // Revoked, it is open again; a second revocation is refused.
        let r = c
            .post(s.url(&format!("{exception}/revoke")))
            .form(&[("revoked_reason", "前提が変わった")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, open) = page(&s, &c, "/compliance/findings?state=open").await;
        assert!(open.contains("A-0007"));
        let r = c
            .post(s.url(&format!("{exception}/revoke")))
            .form(&[("revoked_reason", "もう一度")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(s.audited("compliance.exception_revoked").await);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_ciso_the_chief_officer_auditors_and_administrators_see_compliance() {
    both(async |s: TestServer| {
        for login in ["shokuin", "kacho", "bucho", "itaku"] {
            let c = s.signed_in(login).await;
            for path in [
                "/compliance",
                "/compliance/findings",
                "/compliance/findings/export",
                "/policy",
            ] {
                let (status, _) = page(&s, &c, path).await;
                assert_eq!(status, StatusCode::FORBIDDEN, "{login} {path}");
            }
        }
        let auditor = s.signed_in("kansa").await;
        let (status, list) = page(&s, &auditor, "/compliance/findings").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            !list.contains("/compliance/exceptions/new"),
            "an auditor records no exception"
        );
        let r = auditor
            .post(s.url("/compliance/exceptions"))
            .form(&[
                ("finding_id", "1"),
                ("reason", "x"),
                ("approver", "00001"),
                ("approved_on", "2026-04-01"),
                ("ends_on", "2026-12-31"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let (status, _) = page(&s, &auditor, "/policy/import").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_fires_on_a_real_database_and_resolves_when_fixed() {
    both(async |s: TestServer| {
        let mid = 1;
        let staff_of = |role: &str| {
            format!("(SELECT staff_id FROM role_assignment WHERE role = '{role}' ORDER BY id LIMIT 1)")
        };
        // What the demo does not plant, planted here.
        s.sql("UPDATE org_unit SET abolished_on = '2026-04-01', successor_id = NULL WHERE code = '110300'").await;
        s.sql("UPDATE asset SET owner_unit_id = (SELECT id FROM org_unit WHERE code = '110300') WHERE asset_no = 'A-0001'").await;
        s.sql("UPDATE role_assignment SET valid_to = '2020-03-31' WHERE role = 'ciso'").await;
        s.sql(&format!(
            "UPDATE role_assignment SET valid_to = '2020-03-31' WHERE id = (SELECT id FROM role_assignment WHERE role = 'division_manager' AND staff_id <> {} ORDER BY id LIMIT 1)",
            staff_of("chief_officer")
        ))
        .await;
        s.sql(&format!("UPDATE staff SET active = FALSE WHERE id = {}", staff_of("csirt_member"))).await;
        s.sql(&format!(
            "UPDATE staff SET org_unit_id = (SELECT id FROM org_unit WHERE code = '600200') WHERE id = {}",
            staff_of("chief_officer")
        ))
        .await;
        s.sql("UPDATE account SET valid_until = '2020-03-31' WHERE login = 'itaku'").await;
        // The zone register: a My Number system without MFA that sends to the LGWAN zone, and a netcheck run
        // that found a violation and is older than the files.
        let system = |name: &str| format!("(SELECT id FROM info_system WHERE name = '{name}')");
        s.sql(&format!("UPDATE info_system SET mfa = FALSE WHERE id = {}", system("住民記録システム"))).await;
        s.sql(&format!(
            "UPDATE system_flow SET to_system_id = {} WHERE from_system_id = {}",
            system("財務会計システム"),
            system("住民記録システム")
        ))
        .await;
        s.sql("UPDATE netcheck_run SET violation = TRUE, violating_devices = '[\"core-fw\"]', ran_at = (SELECT MIN(at) FROM audit_entry)").await;

        let report = compliance::refresh_now(&s.app, mid).await.unwrap();
        assert!(report.opened > 0);
        let found = compliance::all_findings(&s.app, &reader(), &FindingQuery::default())
            .await
            .unwrap();
        let fired: BTreeSet<&str> = found.iter().map(|f| f.check_id.as_str()).collect();
        let all: BTreeSet<&str> = mamori_policy::all_checks().iter().map(|c| c.id).collect();
        assert_eq!(fired, all, "every check fires at least once");

        // Undo what was planted: those findings resolve, the demo's own stay.
        s.sql("UPDATE org_unit SET abolished_on = NULL WHERE code = '110300'").await;
        s.sql("UPDATE role_assignment SET valid_to = NULL").await;
        s.sql("UPDATE staff SET active = TRUE").await;
        s.sql(&format!(
            "UPDATE staff SET org_unit_id = (SELECT id FROM org_unit WHERE code = '110200') WHERE id = {}",
            staff_of("chief_officer")
        ))
        .await;
        s.sql("UPDATE account SET disabled = TRUE WHERE login = 'itaku'").await;
        s.sql("UPDATE info_system SET mfa = TRUE").await;
        s.sql(&format!(
            "UPDATE system_flow SET to_system_id = {} WHERE from_system_id = {}",
            system("税務システム"),
            system("住民記録システム")
        ))
        .await;
        s.sql("UPDATE netcheck_run SET violation = FALSE, violating_devices = '[]'").await;
        let report = compliance::refresh_now(&s.app, mid).await.unwrap();
        assert!(report.resolved >= 9, "{report:?}");
        let current = compliance::all_findings(&s.app, &reader(), &FindingQuery::default())
            .await
            .unwrap();
        let still: BTreeSet<&str> = current.iter().map(|f| f.check_id.as_str()).collect();
        for gone in [
            "asset.owner_abolished",
            "org.city_post_vacant",
            "org.division_manager_missing",
            "org.post_holder_left",
            "org.post_holder_moved",
            "account.outsider_expired",
            "system.my_number_measures",
            "flow.my_number_outbound",
            "device.netcheck_violation",
        ] {
            assert!(!still.contains(gone), "{gone} resolved");
        }
        let resolved = compliance::all_findings(
            &s.app,
            &reader(),
            &FindingQuery {
                state: StateFilter::Resolved,
                ..FindingQuery::default()
            },
        )
        .await
        .unwrap();
        assert!(resolved.iter().all(|f| f.resolved_at.is_some()));
        // Evaluating again with nothing changed changes nothing.
        let again = compliance::refresh_now(&s.app, mid).await.unwrap();
        assert_eq!((again.opened, again.reopened, again.resolved, again.updated), (0, 0, 0, 0));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_findings_export_and_the_trend_serve_the_committee() {
    both(async |s: TestServer| {
        let c = s.signed_in("ciso").await;
        let r = c
            .get(s.url("/compliance/findings/export?severity=high"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-disposition"].to_str().unwrap().contains(".xlsx"));
        let bytes = r.bytes().await.unwrap();
        let table = mamori_sheet::read_table(
            &bytes,
            mamori_sheet::Format::Xlsx,
            mamori_sheet::EncodingChoice::Auto,
        )
        .unwrap();
        let cells: Vec<String> = table.rows.iter().flat_map(|r| r.cells.clone()).collect();
        assert!(cells.iter().any(|c| c.contains("A-0009")), "{cells:?}");
        assert!(cells.iter().any(|c| c == "重大"));
        assert!(!cells.iter().any(|c| c == "低"), "only high and above");

        let (_, overview) = page(&s, &c, "/compliance").await;
        assert!(overview.contains("まだ記録がありません"));
        compliance::record_daily(&s.app, 1, mamori_app::today()).await.unwrap();
        s.sql("INSERT INTO compliance_daily (municipality_id, day, open_critical, open_high, open_medium, open_low, open_info, accepted) VALUES (1, '2026-03-31', 3, 9, 4, 2, 0, 0)").await;
        let (_, overview) = page(&s, &c, "/compliance").await;
        assert!(!overview.contains("まだ記録がありません"));
        assert!(overview.contains("<polyline") || overview.contains("<circle"), "the trend is drawn");
        assert!(overview.contains("令和8年度"), "the 年度 boundary is marked");

        c.post(s.url("/lang"))
            .form(&[("lang", "en"), ("back", "/compliance")])
            .send()
            .await
            .unwrap();
        let (_, overview) = page(&s, &c, "/compliance").await;
        assert!(overview.contains("open findings") && overview.contains("FY2026"), "{overview}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_city_imports_its_policy_text_and_compares_versions() {
    both(async |s: TestServer| {
        let c = s.signed_in("toukatsu").await;
        let upload = |name: &str, bytes: Vec<u8>| {
            Form::new().part("file", Part::bytes(bytes).file_name(name.to_owned()))
        };
        let v1 = POLICY_V1.to_owned();
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&v1);
        let r = c
            .post(s.url("/policy/import"))
            .multipart(upload("kihon-houshin.txt", sjis.into_owned()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let first = r.headers()["location"].to_str().unwrap().to_owned();
        let (_, body) = page(&s, &c, &first).await;
        assert!(
            body.contains("LGWAN接続系") && body.contains("令和7年4月1日"),
            "{body}"
        );

        let v2 = POLICY_V1
            .replace("令和7年4月1日", "令和8年5月19日")
            .replace("年に一度", "年に二度");
        let r = c
            .post(s.url("/policy/import"))
            .multipart(upload("kihon-houshin-r8.txt", v2.into_bytes()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let second = r.headers()["location"].to_str().unwrap().to_owned();
        let (_, body) = page(&s, &c, &second).await;
        let at = body
            .find("/policy/diff?")
            .expect("a link to compare with the previous version");
        let link: String = body[at..].chars().take_while(|c| *c != '"').collect();
        let (_, diff) = page(&s, &c, &link.replace("&amp;", "&").replace("&#38;", "&")).await;
        assert!(
            diff.contains("変更のあった条項: 1") && diff.contains("年に二度"),
            "{diff}"
        );

        // The overview shows the city's own words beside the checks.
        let (_, overview) = page(&s, &c, "/compliance").await;
        assert!(overview.contains("令和8年5月19日"));
        assert!(
            overview.contains("6(7) 運用") && overview.contains("遵守状況を年に二度確認する。"),
            "{overview}"
        );

        // A text without numbered clauses is refused; nothing is stored.
        let r = c
            .post(s.url("/policy/import"))
            .multipart(upload("memo.txt", "これはメモです。".as_bytes().to_vec()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("番号の付いた条項が見つかりません")
        );
        let versions = mamori_app::policy_doc::versions(&s.app, &reader())
            .await
            .unwrap();
        assert_eq!(versions.len(), 2);
        assert!(s.audited("policy.imported").await);
    })
    .await;
}

/// A short policy in the style of a municipal text copied out of its PDF.
const POLICY_V1: &str = "サンプル市情報セキュリティ基本方針\n\n改正：令和7年4月1日\n\n目次\n1. 目的.....\t- 1 -\n2. 定義.....\t- 1 -\n\n- 1 -\n\n1. 目的\n\nこの方針は、市の情報資産を守るための基本を定める。\n\n2. 定義\n\n(1) L G W A N 接続系\n\nLGWANに接続された情報システムをいう。\n\n6. 情報セキュリティ対策\n\n(7) 運用\n\n遵守状況を年に一度確認する。\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_lists_findings_with_the_pages_filters() {
    both(async |s: TestServer| {
        let token = s.token("kansa").await;
        let c = s.anon();
        let r = c
            .get(s.url("/api/v1/findings?check=asset.unclassified&per_page=5"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body: serde_json::Value = r.json().await.unwrap();
        let rows = body["rows"].as_array().unwrap();
        assert!(
            rows.iter()
                .any(|f| f["subject_label"].as_str().unwrap().contains("A-0009"))
        );
        for f in rows {
            assert_eq!(f["check_id"], "asset.unclassified");
            assert_eq!(f["state"], "open");
            assert!(f["message"]["ja"].is_string() && f["message"]["en"].is_string());
        }
        assert_eq!(body["per_page"], 5);

        let r = c
            .get(s.url("/api/v1/findings?severity=severe"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.headers()["content-type"], "application/problem+json");

        let staff = s.token("shokuin").await;
        let r = c
            .get(s.url("/api/v1/findings"))
            .bearer_auth(&staff)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    })
    .await;
}
