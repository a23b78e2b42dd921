//! 6(3) the zone register through the pages, on SQLite and PostgreSQL: systems and flows with their findings,
//! a 例外措置 that accepts a flow out of the マイナンバー利用事務系, the zone map and device files, netcheck runs
//! that prove the α fixture separated and then find the planted early ACCEPT, a bad file refused by its line,
//! and another unit's 課長 kept out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

use harness::{TestServer, both};
use mamori_app::mamori_store::entity::device_config;
use mamori_app::mamori_store::sea_orm::{EntityTrait, PaginatorTrait};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

const ZONES: &str = include_str!("fixtures/network/zones.toml");
const RULES: &str = include_str!("fixtures/network/core-fw.rules");
const IPSET: &str = include_str!("fixtures/network/core-fw.ipset");
const PLANTED: &str = include_str!("fixtures/network/planted-early-accept.rules");

async fn page(s: &TestServer, c: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let r = c.get(s.url(path)).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn post_form(
    s: &TestServer,
    c: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    c.post(s.url(path)).form(form).send().await.unwrap()
}

/// The id at the end of a redirect (`/systems/12` → 12).
fn created_id(r: &reqwest::Response) -> i64 {
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "expected a redirect");
    let location = r.headers()["location"].to_str().unwrap();
    location.rsplit('/').next().unwrap().parse().unwrap()
}

async fn upload(
    s: &TestServer,
    c: &reqwest::Client,
    path: &str,
    target: &str,
    name: &str,
    text: &str,
) -> reqwest::Response {
    let form = Form::new().text("target", target.to_owned()).part(
        "file",
        Part::bytes(text.as_bytes().to_vec()).file_name(name.to_owned()),
    );
    c.post(s.url(path)).multipart(form).send().await.unwrap()
}

/// The findings of one check as the API lists them: (subject id, state).
async fn findings(s: &TestServer, c: &reqwest::Client, check: &str) -> Vec<(i64, String)> {
    let v: serde_json::Value = c
        .get(s.url(&format!("/api/v1/findings?check={check}&state=all")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["subject_id"].as_i64().unwrap(),
                f["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn system_id(s: &TestServer, c: &reqwest::Client, name: &str) -> i64 {
    let v: serde_json::Value = c
        .get(s.url("/api/v1/systems"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("{name} is in the register"))["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_out_of_the_my_number_zone_is_a_finding_until_an_exception_accepts_it() {
    both(async |s: TestServer| {
        let c = s.signed_in("toukatsu").await;
        let r = post_form(
            &s,
            &c,
            "/systems",
            &[
                ("name", "国民健康保険システム"),
                ("zone", "my_number"),
                ("owner_code", "130200"),
                ("hosting", "lgwan_asp"),
                ("mfa", "on"),
            ],
        )
        .await;
        let system = created_id(&r);
        assert!(s.audited("system.created").await);
        let (status, body) = page(&s, &c, &format!("/systems/{system}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("国民健康保険システム") && body.contains("LGWAN-ASP"));
        // No export lock in the My Number zone: 6(3)①.
        assert!(body.contains("system.my_number_measures"), "{body}");
        assert!(body.contains("持ち出し不可設定が行われていません"));

        let to = system_id(&s, &c, "財務会計システム").await;
        let r = post_form(
            &s,
            &c,
            "/flows",
            &[
                ("from_system", &system.to_string()),
                ("to_system", &to.to_string()),
                ("protocol", "tcp"),
                ("ports", "４４３"),
                ("purpose", "保険料の収納情報を財務会計へ"),
            ],
        )
        .await;
        let flow = created_id(&r);
        assert!(s.audited("flow.created").await);
        let (_, body) = page(&s, &c, &format!("/flows/{flow}")).await;
        assert!(body.contains("tcp 443") && body.contains("flow.my_number_outbound"));
        let (_, body) = page(&s, &c, &format!("/systems/{system}")).await;
        assert!(
            body.contains(&format!("/flows/{flow}")),
            "a system lists its flows"
        );

        // Bad ports and a non-sanitiser "via" are refused field by field, and nothing is saved.
        let r = post_form(
            &s,
            &c,
            "/flows",
            &[
                ("from_system", &system.to_string()),
                ("to_system", &to.to_string()),
                ("protocol", "tcp"),
                ("ports", "70000"),
                ("via_system", &to.to_string()),
                ("purpose", "x"),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = r.text().await.unwrap();
        assert!(
            body.contains("ポート「70000」")
                && body.contains("無害化システムとして登録されていません")
        );

        assert_eq!(
            findings(&s, &c, "flow.my_number_outbound").await,
            vec![(flow, "open".to_owned())]
        );
        let (_, list) = page(&s, &c, "/compliance/findings?check=flow.my_number_outbound").await;
        let at = list.find("/compliance/exceptions/new?finding=").unwrap();
        let finding: String = list[at + "/compliance/exceptions/new?finding=".len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let ends = (mamori_app::today() + chrono::Days::new(90)).to_string();
        let r = post_form(
            &s,
            &c,
            "/compliance/exceptions",
            &[
                ("finding_id", &finding),
                (
                    "reason",
                    "中間サーバー移行まで、収納情報の連携を CISO が承認。",
                ),
                ("approver", "00001"),
                ("approved_on", &mamori_app::today().to_string()),
                ("ends_on", &ends),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            findings(&s, &c, "flow.my_number_outbound").await,
            vec![(flow, "accepted".to_owned())]
        );

        // Retiring the flow resolves its finding; the flow and its history stay.
        let r = post_form(&s, &c, &format!("/flows/{flow}/retire"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(s.audited("flow.retired").await);
        assert_eq!(
            findings(&s, &c, "flow.my_number_outbound").await,
            vec![(flow, "resolved".to_owned())]
        );
        let (status, body) = page(&s, &c, &format!("/flows/{flow}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("廃止") && body.contains("登録"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_lgwan_to_internet_flow_without_the_sanitiser_is_reported() {
    both(async |s: TestServer| {
        let c = s.signed_in("toukatsu").await;
        let open = findings(&s, &c, "flow.lgwan_internet_unsanitised").await;
        assert_eq!(open.len(), 1, "{open:?}");
        let (_, flows) = page(&s, &c, "/flows").await;
        assert!(flows.contains("電子契約サービス") && flows.contains("メール無害化中継"));
        // The sanitised mail flow is not a finding; the demo's netcheck run is current and clean.
        assert!(
            findings(&s, &c, "device.netcheck_violation")
                .await
                .is_empty()
        );
        assert!(findings(&s, &c, "device.netcheck_stale").await.is_empty());
        let (_, overview) = page(&s, &c, "/compliance").await;
        assert!(overview.contains("flow.lgwan_internet_unsanitised"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netcheck_proves_the_fixture_separated_then_shows_the_planted_accept() {
    both(async |s: TestServer| {
        let c = s.signed_in("toukatsu").await;
        for (path, target, name, text) in [
            ("/network/map", "", "zones.toml", ZONES),
            ("/network/configs", "core-fw.ipset", "core-fw.ipset", IPSET),
            ("/network/configs", "core-fw.rules", "core-fw.rules", RULES),
        ] {
            let r = upload(&s, &c, path, target, name, text).await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{name}");
        }
        assert!(s.audited("network.zone_map_uploaded").await);
        assert!(s.audited("network.config_uploaded").await);
        let (_, overview) = page(&s, &c, "/network").await;
        assert!(
            overview.contains(r#"id="stale""#),
            "uploads since the last run"
        );

        let r = post_form(&s, &c, "/network/run", &[]).await;
        let run = created_id(&r);
        assert!(s.audited("network.netcheck_run").await);
        let (status, body) = page(&s, &c, &format!("/network/runs/{run}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("verdict-isolated") && body.contains("verdict-allowed_only"));
        assert!(!body.contains("verdict-violation"), "{body}");
        let detail: serde_json::Value = c
            .get(s.url(&format!("/api/v1/netcheck-runs/{run}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let inputs = detail["inputs"].as_array().unwrap();
        assert_eq!(inputs.len(), 2);
        for input in inputs {
            let sha = input["sha256"].as_str().unwrap();
            assert_eq!(sha.len(), 64);
            assert!(body.contains(sha), "the run names each input's SHA-256");
        }
        assert_eq!(detail["report"]["pairs"].as_array().unwrap().len(), 12);
        let (_, overview) = page(&s, &c, "/network").await;
        assert!(overview.contains(r#"id="verdict-matrix""#) && !overview.contains(r#"id="stale""#));
        assert!(
            findings(&s, &c, "device.netcheck_stale")
                .await
                .iter()
                .all(|f| f.1 == "resolved")
        );

        // The planted leftover "-A FORWARD -j ACCEPT": the run shows a violation with the rule that admits it.
        let r = upload(
            &s,
            &c,
            "/network/configs",
            "core-fw.rules",
            "x.rules",
            PLANTED,
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let stale = findings(&s, &c, "device.netcheck_stale").await;
        assert!(stale.iter().any(|f| f.1 == "open"), "{stale:?}");
        let r = post_form(&s, &c, "/network/run", &[]).await;
        let run = created_id(&r);
        let (_, body) = page(&s, &c, &format!("/network/runs/{run}")).await;
        assert!(body.contains("verdict-violation"));
        assert!(
            body.contains("core-fw.rules:20 -A FORWARD -j ACCEPT"),
            "{body}"
        );
        let violation = findings(&s, &c, "device.netcheck_violation").await;
        assert_eq!(violation.len(), 1);
        assert_eq!(violation[0].1, "open");
        let (_, list) = page(&s, &c, "/network/runs").await;
        assert!(list.contains("違反"));
        let runs: serde_json::Value = c
            .get(s.url("/api/v1/netcheck-runs"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(runs["items"][0]["violation"], true);
        assert_eq!(runs["items"][0]["violating_devices"][0], "core-fw");
        let (_, segments) = page(&s, &c, "/network/segments").await;
        assert!(segments.contains("10.40.0.0/24") && segments.contains("無害化中継"));

        // The same run in English, and a refused upload in English.
        post_form(&s, &c, "/lang", &[("lang", "en"), ("back", "/network")]).await;
        let (_, body) = page(&s, &c, &format!("/network/runs/{run}")).await;
        assert!(
            body.contains("Violation: LGWAN zone → Internet zone"),
            "{body}"
        );
        let r = upload(
            &s,
            &c,
            "/network/configs",
            "core-fw.ipset",
            "x",
            "add nowhere 1.2.3.4\n",
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("Cannot read core-fw.ipset at line 1")
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_config_is_refused_with_its_line_and_nothing_is_stored() {
    both(async |s: TestServer| {
        let c = s.signed_in("toukatsu").await;
        let count = || async {
            device_config::Entity::find()
                .count(s.app.store().conn())
                .await
                .unwrap()
        };
        let before = count().await;
        let broken = "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -p tcp --dport\nCOMMIT\n";
        let r = upload(
            &s,
            &c,
            "/network/configs",
            "core-fw.rules",
            "core-fw.rules",
            broken,
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = r.text().await.unwrap();
        assert!(body.contains("core-fw.rules の 3 行"), "{body}");
        assert!(body.contains("何も取り込んでいません"));
        assert_eq!(count().await, before);

        let r = upload(
            &s,
            &c,
            "/network/map",
            "",
            "zones.toml",
            "[[zone]]\nid = \n",
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("zones.toml の 2 行"));

        // Only 統括 and administrators upload or run; auditors read.
        let kansa = s.signed_in("kansa").await;
        let r = upload(&s, &kansa, "/network/configs", "core-fw.rules", "r", RULES).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = post_form(&s, &kansa, "/network/run", &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(count().await, before);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_units_manager_can_neither_see_nor_change_a_system() {
    both(async |s: TestServer| {
        let toukatsu = s.signed_in("toukatsu").await;
        let jumin = system_id(&s, &toukatsu, "住民記録システム").await; // 市民課
        let zeimu = system_id(&s, &toukatsu, "税務システム").await; // 税務課

        let kacho = s.signed_in("kacho").await; // 税務課長
        let (status, _) = page(&s, &kacho, &format!("/systems/{jumin}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = page(&s, &kacho, &format!("/systems/{jumin}/edit")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let r = post_form(
            &s,
            &kacho,
            &format!("/systems/{jumin}"),
            &[
                ("name", "乗っ取り"),
                ("zone", "lgwan"),
                ("hosting", "on_premises"),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = kacho
            .put(s.url(&format!("/api/v1/systems/{jumin}")))
            .json(
                &serde_json::json!({"name": "乗っ取り", "zone": "lgwan", "hosting": "on_premises"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let (_, list) = page(&s, &kacho, "/systems").await;
        assert!(list.contains("税務システム") && !list.contains("住民記録システム"));
        // Nor may they register a system for another 課.
        let r = post_form(
            &s,
            &kacho,
            "/systems",
            &[
                ("name", "X"),
                ("zone", "lgwan"),
                ("owner_code", "120100"),
                ("hosting", "on_premises"),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // The API answers alike: 422 naming 所管課 for another 課, 201 for their own.
        let r = kacho
            .post(s.url("/api/v1/systems"))
            .json(&serde_json::json!({"name": "X", "zone": "lgwan", "owner_code": "120100", "hosting": "on_premises"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("owner_code"));
        let r = kacho
            .post(s.url("/api/v1/systems"))
            .json(&serde_json::json!({"name": "固定資産税システム", "zone": "my_number", "owner_code": "120200",
                "hosting": "gov_cloud", "mfa": "on", "no_export": "on"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let created: serde_json::Value = r.json().await.unwrap();
        assert_eq!(created["findings"], serde_json::json!([]));
        assert_eq!(created["editable"], true);
        // Their own 課's system they may change.
        let (status, _) = page(&s, &kacho, &format!("/systems/{zeimu}/edit")).await;
        assert_eq!(status, StatusCode::OK);
        let (_, jumin_page) = page(&s, &toukatsu, &format!("/systems/{jumin}")).await;
        assert!(!jumin_page.contains("乗っ取り"));
    })
    .await;
}
