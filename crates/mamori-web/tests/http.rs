//! HTTP-level tests: a real server on a free port, over SQLite and over PostgreSQL, driven by a real client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

use harness::{Backend, TestServer};
use reqwest::StatusCode;

const PASSWORD: &str = "samplecity-2026";

async fn both(test: impl AsyncFn(TestServer)) {
    test(TestServer::start(Backend::Sqlite).await).await;
    test(TestServer::start(Backend::Postgres).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_security_headers_on_every_response() {
    both(async |s: TestServer| {
        let r = s.anon().get(s.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert!(r.headers().contains_key("referrer-policy"));
        let login = s.anon().get(s.url("/login")).send().await.unwrap();
        assert!(login.headers().contains_key("content-security-policy"));
        assert!(login.text().await.unwrap().contains("サインイン"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_posts_are_refused_and_cookies_are_strict() {
    both(async |s: TestServer| {
        let c = s.anon();
        let r = c
            .post(s.url("/login"))
            .header("Sec-Fetch-Site", "cross-site")
            .form(&[("login", "kacho"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = c
            .post(s.url("/login"))
            .header("Origin", "http://evil.example")
            .form(&[("login", "kacho"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = c
            .post(s.url("/login"))
            .form(&[("login", "kacho"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let cookie = r.headers()["set-cookie"].to_str().unwrap();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_must_enrol_totp_before_any_page_and_then_signs_in_with_it() {
    both(async |s: TestServer| {
        let c = s.client();
        let r = c
            .post(s.url("/login"))
            .form(&[("login", "admin"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = c.get(s.url("/org")).send().await.unwrap();
        assert_eq!(
            r.headers()["location"],
            "/mfa/enrol",
            "no page but enrolment until enrolled"
        );
        let page = c
            .get(s.url("/mfa/enrol"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("<svg"), "QR code as SVG");
        let secret = harness::pending_secret(&s, "admin").await;
        let code = mamori_app::identity::totp::code_at(&secret, harness::now()).unwrap();
        let r = c
            .post(s.url("/mfa/enrol"))
            .form(&[("totp", code.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let recovery = r.text().await.unwrap();
        assert!(recovery.contains("回復コード"));
        assert_eq!(
            c.get(s.url("/org")).send().await.unwrap().status(),
            StatusCode::OK
        );
        // Sign out, then the second factor is asked for; the same code is not accepted twice.
        c.post(s.url("/logout")).send().await.unwrap();
        let r = c
            .post(s.url("/login"))
            .form(&[("login", "admin"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["location"], "/login/mfa");
        assert_eq!(
            c.get(s.url("/org")).send().await.unwrap().headers()["location"],
            "/login/mfa"
        );
        let replay = c
            .post(s.url("/login/mfa"))
            .form(&[("totp", code.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(
            replay.status(),
            StatusCode::UNAUTHORIZED,
            "a used code is refused"
        );
        let code = mamori_app::identity::totp::code_at(&secret, harness::now() + 30).unwrap();
        let r = c
            .post(s.url("/login/mfa"))
            .form(&[("totp", code.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            c.get(s.url("/accounts")).send().await.unwrap().status(),
            StatusCode::OK
        );
        assert!(
            s.audit_actions()
                .await
                .contains(&"auth.mfa_enrolled".to_owned())
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_passwords_lock_the_account_and_unknown_logins_are_refused_alike() {
    both(async |s: TestServer| {
        let c = s.client();
        for _ in 0..5 {
            let r = c
                .post(s.url("/login"))
                .form(&[("login", "shokuin"), ("password", "wrong-password")])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        }
        let r = c
            .post(s.url("/login"))
            .form(&[("login", "shokuin"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "locked even with the right password"
        );
        let unknown = c
            .post(s.url("/login"))
            .form(&[("login", "nobody"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
        let actions = s.audit_actions().await;
        assert!(actions.contains(&"auth.locked".to_owned()));
        assert!(
            actions
                .iter()
                .filter(|a| *a == "auth.sign_in_failed")
                .count()
                >= 6
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_reaches_exactly_the_routes_the_matrix_allows() {
    both(async |s: TestServer| {
        let matrix = include_str!("fixtures/access-matrix.tsv");
        let roles = [
            "admin", "ciso", "toukatsu", "bucho", "kacho", "shokuin", "kansa", "itaku",
        ];
        let mut clients = Vec::new();
        for login in roles {
            clients.push(s.signed_in(login).await);
        }
        for line in matrix
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let cols: Vec<&str> = line.split('\t').collect();
            let path = cols[1];
            for (i, login) in roles.iter().enumerate() {
                let expected = cols[2 + i];
                let status = clients[i].get(s.url(path)).send().await.unwrap().status();
                let allowed = status.is_success() || status.is_redirection();
                assert_eq!(
                    allowed,
                    expected == "allow",
                    "{login} GET {path}: {status}, expected {expected}"
                );
                if expected == "deny" {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{login} GET {path}");
                }
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_units_object_is_refused_by_id() {
    both(async |s: TestServer| {
        let kacho = s.signed_in("kacho").await;
        let own: serde_json::Value = kacho
            .get(s.url("/api/v1/staff"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let own_ids: Vec<i64> = own["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect();
        assert!(!own_ids.is_empty());
        let all = s.staff_ids().await;
        let other = all.iter().find(|id| !own_ids.contains(id)).unwrap();
        assert_eq!(
            kacho
                .get(s.url(&format!("/api/v1/staff/{other}")))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            kacho
                .get(s.url(&format!("/staff/{other}")))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            kacho
                .get(s.url(&format!("/api/v1/staff/{}", own_ids[0])))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
        // The outsider sees only 情報政策課 and cannot open another unit.
        let itaku = s.signed_in("itaku").await;
        let units: serde_json::Value = itaku
            .get(s.url("/api/v1/org-units"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let codes: Vec<&str> = units["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["code"].as_str().unwrap())
            .collect();
        assert!(codes.iter().all(|c| c.starts_with("1102")), "{codes:?}");
        let root = s.unit_id("120200").await;
        assert_eq!(
            itaku
                .get(s.url(&format!("/api/v1/org-units/{root}")))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::FORBIDDEN
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_names_the_field_in_japanese_and_saves_nothing() {
    both(async |s: TestServer| {
        let token = s.token("toukatsu").await;
        let c = s.anon();
        let parent = s.unit_id("110000").await;
        let r = c
            .post(s.url("/api/v1/org-units"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"code": "110200", "name": "", "level": "section", "parent_id": parent.to_string()}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: serde_json::Value = r.json().await.unwrap();
        let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert!(fields.contains(&"code") && fields.contains(&"name"), "{body}");
        assert!(body["errors"].to_string().contains("既に使われています"), "{body}");
        // A 課 may not sit under a 係, and a unit cannot move below itself.
        let section = s.unit_id("110201").await;
        let r = c.post(s.url("/api/v1/org-units")).bearer_auth(&token)
            .json(&serde_json::json!({"code": "X1", "name": "新しい課", "level": "division", "parent_id": section.to_string()}))
            .send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let bureau = s.unit_id("110000").await;
        let r = c.put(s.url(&format!("/api/v1/org-units/{bureau}"))).bearer_auth(&token)
            .json(&serde_json::json!({"code": "110000", "name": "総務部", "level": "bureau", "parent_id": s.unit_id("110100").await.to_string(), "in_scope": "on"}))
            .send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("parent_id"));
        // A 情報セキュリティ管理者 cannot be posted at a 部局.
        let r = c.post(s.url("/api/v1/role-assignments")).bearer_auth(&token)
            .json(&serde_json::json!({"role": "division_manager", "scope_unit_id": bureau.to_string(), "staff": "00020", "valid_from": "令和8年4月1日"}))
            .send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(s.unit_count().await, s.unit_count_before());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_chain_verifies_and_any_edit_or_truncation_is_detected() {
    both(async |s: TestServer| {
        let c = s.signed_in("kacho").await;
        c.post(s.url("/logout")).send().await.unwrap();
        assert!(matches!(
            s.verify().await,
            mamori_store::audit::Verdict::Intact { .. }
        ));
        s.sql("UPDATE audit_entry SET summary = '{}' WHERE seq = 3")
            .await;
        match s.verify().await {
            mamori_store::audit::Verdict::Broken { seq, .. } => assert_eq!(seq, 3),
            v => panic!("edit not detected: {v:?}"),
        }
    })
    .await;
    both(async |s: TestServer| {
        s.signed_in("kacho").await;
        let last = s.last_seq().await;
        s.sql(&format!("DELETE FROM audit_entry WHERE seq = {last}")).await;
        s.sql(&format!("UPDATE audit_head SET seq = {}, hash = (SELECT hash FROM audit_entry WHERE seq = {} AND municipality_id = audit_head.municipality_id)", last - 1, last - 1)).await;
        assert!(matches!(s.verify().await, mamori_store::audit::Verdict::Broken { .. }), "truncation from the end");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn japanese_by_default_and_english_on_request() {
    both(async |s: TestServer| {
        let c = s.signed_in("shokuin").await;
        assert!(
            c.get(s.url("/org"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
                .contains("組織")
        );
        let r = c
            .post(s.url("/lang"))
            .form(&[("lang", "en"), ("back", "/org")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["location"], "/org");
        let page = c
            .get(s.url("/org"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("Organisation") && page.contains("lang=\"en\""),
            "{page}"
        );
        let r = c
            .post(s.url("/lang"))
            .form(&[("lang", "ja"), ("back", "//evil.example")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["location"], "/", "no open redirect");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_api_route() {
    both(async |s: TestServer| {
        let doc: serde_json::Value = s
            .anon()
            .get(s.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        for path in [
            "/api/v1/org-units",
            "/api/v1/staff/{id}",
            "/api/v1/role-assignments",
            "/api/v1/audit",
            "/api/v1/facilities",
        ] {
            assert!(doc["paths"][path].is_object(), "{path}");
        }
        let no_token = s.anon().get(s.url("/api/v1/staff")).send().await.unwrap();
        assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            no_token.headers()["content-type"],
            "application/problem+json"
        );
    })
    .await;
}
