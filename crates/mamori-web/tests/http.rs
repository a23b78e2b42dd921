//! HTTP-level tests: a real server on a free port, over SQLite and over PostgreSQL, driven by a real client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

use harness::{TestServer, both};
use mamori_store::sea_orm::EntityTrait;
use reqwest::StatusCode;

const PASSWORD: &str = "samplecity-2026";

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
        assert!(s.audited("auth.mfa_enrolled").await);
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

async fn account_id(s: &TestServer, login: &str) -> i64 {
    mamori_app::accounts::by_login(s.app.store().conn(), login)
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_resets_a_second_factor_and_the_reset_is_audited() {
    both(async |s: TestServer| {
        let ciso = s.signed_in("ciso").await;
        assert_eq!(
            ciso.get(s.url("/audit")).send().await.unwrap().status(),
            StatusCode::OK
        );
        let admin = s.signed_in("admin").await;
        let id = account_id(&s, "ciso").await;
        let r = admin
            .post(s.url(&format!("/accounts/{id}/action")))
            .form(&[("action", "reset_mfa")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let account = mamori_app::accounts::by_login(s.app.store().conn(), "ciso")
            .await
            .unwrap()
            .unwrap();
        assert!(account.mfa_enrolled_at.is_none() && account.totp_secret.is_none());
        assert_eq!(
            ciso.get(s.url("/audit")).send().await.unwrap().headers()["location"],
            "/login",
            "the reset ends the sessions"
        );
        assert!(s.audited("auth.mfa_reset").await);
        // Only an administrator may do this.
        let toukatsu = s.signed_in("toukatsu").await;
        let r = toukatsu
            .post(s.url(&format!("/accounts/{id}/action")))
            .form(&[("action", "reset_mfa")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_everywhere_ends_every_session_and_each_sign_in_gets_a_new_token() {
    both(async |s: TestServer| {
        let first = s.signed_in("shokuin").await;
        let second = s.signed_in("shokuin").await;
        let tokens = mamori_store::entity::session::Entity::find()
            .all(s.app.store().conn())
            .await
            .unwrap();
        let hashes: std::collections::HashSet<String> =
            tokens.iter().map(|t| t.token_hash.clone()).collect();
        assert_eq!(
            hashes.len(),
            tokens.len(),
            "every sign-in has its own token"
        );
        assert_eq!(
            first.get(s.url("/me")).send().await.unwrap().status(),
            StatusCode::OK
        );
        let r = second.post(s.url("/logout/all")).send().await.unwrap();
        assert_eq!(r.headers()["location"], "/login");
        assert_eq!(
            first.get(s.url("/me")).send().await.unwrap().headers()["location"],
            "/login"
        );
        assert!(s.audited("auth.sign_out_everywhere").await);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_ends_and_last_seen_is_not_written_on_every_request() {
    both(async |s: TestServer| {
        use mamori_store::sea_orm::{ActiveModelTrait, Set};
        let c = s.signed_in("shokuin").await;
        let db = s.app.store().conn();
        let before = mamori_store::entity::session::Entity::find()
            .one(db)
            .await
            .unwrap()
            .unwrap();
        for _ in 0..3 {
            assert_eq!(
                c.get(s.url("/me")).send().await.unwrap().status(),
                StatusCode::OK
            );
        }
        let after = mamori_store::entity::session::Entity::find_by_id(before.id)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            after.last_seen_at, before.last_seen_at,
            "touched at most once a minute"
        );
        let idle = chrono::Utc::now() - chrono::Duration::minutes(31);
        mamori_store::entity::session::ActiveModel {
            id: Set(before.id),
            last_seen_at: Set(idle),
            ..Default::default()
        }
        .update(db)
        .await
        .unwrap();
        assert_eq!(
            c.get(s.url("/me")).send().await.unwrap().headers()["location"],
            "/login"
        );
    })
    .await;
}

/// The (login, initial password) pairs of an initial-password list page.
fn initial_passwords(page: &str) -> Vec<(String, String)> {
    page.split("<tr>")
        .filter_map(|row| {
            let cells: Vec<&str> = row
                .split("<code>")
                .skip(1)
                .filter_map(|c| c.split("</code>").next())
                .collect();
            (cells.len() == 3).then(|| (cells[0].to_owned(), cells[2].to_owned()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_accounts_get_one_time_passwords_that_must_be_changed_first() {
    both(async |s: TestServer| {
        let admin = s.signed_in("admin").await;
        let unit = s.unit_id("120100").await;
        let page = admin
            .post(s.url("/accounts/bulk"))
            .form(&[("unit", unit.to_string())])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let created = initial_passwords(&page);
        assert!(!created.is_empty(), "{page}");
        // Staff who already had an account (shokuin) get none.
        let again = admin
            .post(s.url("/accounts/bulk"))
            .form(&[("unit", unit.to_string())])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            initial_passwords(&again).is_empty(),
            "a second run creates nothing"
        );
        let (login, password) = &created[0];
        let c = s.client();
        let r = c
            .post(s.url("/login"))
            .form(&[("login", login.as_str()), ("password", password.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            c.get(s.url("/org")).send().await.unwrap().headers()["location"],
            "/password"
        );
        let r = c
            .post(s.url("/password"))
            .form(&[
                ("current_password", password.as_str()),
                ("new_password", "my own passphrase"),
                ("confirm_password", "my own passphrase"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            c.get(s.url("/org")).send().await.unwrap().status(),
            StatusCode::OK
        );
        assert!(s.audited("account.bulk_created").await);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_account_cannot_sign_in_and_an_outsider_needs_an_expiry() {
    both(async |s: TestServer| {
        let admin = s.signed_in("admin").await;
        let id = account_id(&s, "itaku").await;
        let r = admin
            .post(s.url(&format!("/accounts/{id}/validity")))
            .form(&[("valid_from", ""), ("valid_until", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "an outsider's account must expire"
        );
        let yesterday = (mamori_app::today() - chrono::Duration::days(1)).to_string();
        let r = admin
            .post(s.url(&format!("/accounts/{id}/validity")))
            .form(&[("valid_from", ""), ("valid_until", yesterday.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = s
            .client()
            .post(s.url("/login"))
            .form(&[("login", "itaku"), ("password", "samplecity-2026")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        // A new outsider without an expiry date is refused, naming the field.
        let r = admin
            .post(s.url("/accounts"))
            .form(&[
                ("login", "hoshu"),
                ("outsider", "on"),
                ("scope_units", "110200"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("有効期限"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_staff_kind_list_is_open_and_the_audit_trail_exports_as_json_lines() {
    both(async |s: TestServer| {
        let toukatsu = s.signed_in("toukatsu").await;
        let r = toukatsu
            .post(s.url("/staff/kinds"))
            .form(&[
                ("code", "intern"),
                ("name_ja", "実習生"),
                ("name_en", "Intern"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = toukatsu
            .post(s.url("/staff/kinds"))
            .form(&[
                ("code", "intern"),
                ("name_ja", "実習生"),
                ("name_en", "Intern"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "duplicate kind code"
        );
        let export = toukatsu
            .get(s.url("/audit/export.jsonl?action=staff."))
            .send()
            .await
            .unwrap();
        assert_eq!(
            export.headers()["content-type"],
            "application/x-ndjson; charset=utf-8"
        );
        let body = export.text().await.unwrap();
        let lines: Vec<serde_json::Value> = body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(lines.iter().any(|l| l["action"] == "staff.kind_created"));
        assert!(
            lines
                .iter()
                .all(|l| l["action"].as_str().unwrap().starts_with("staff."))
        );
        assert!(
            s.audited("audit.exported").await,
            "the export is itself audited"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_code_signs_in_once_when_the_authenticator_is_lost() {
    both(async |s: TestServer| {
        let c = s.client();
        c.post(s.url("/login"))
            .form(&[("login", "admin"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        c.get(s.url("/mfa/enrol")).send().await.unwrap();
        let secret = harness::pending_secret(&s, "admin").await;
        let code = mamori_app::identity::totp::code_at(&secret, harness::now()).unwrap();
        let page = c
            .post(s.url("/mfa/enrol"))
            .form(&[("totp", code.as_str())])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let recovery: Vec<String> = page
            .split("<code>")
            .skip(1)
            .filter_map(|c| c.split("</code>").next())
            .map(str::to_owned)
            .collect();
        assert_eq!(recovery.len(), 10, "{page}");
        c.post(s.url("/logout")).send().await.unwrap();
        for attempt in 0..2 {
            c.post(s.url("/login"))
                .form(&[("login", "admin"), ("password", PASSWORD)])
                .send()
                .await
                .unwrap();
            // Typed in lower case without the hyphen: still accepted the first time, never the second.
            let typed = recovery[0].to_lowercase().replace('-', "");
            let r = c
                .post(s.url("/login/mfa"))
                .form(&[("totp", typed.as_str())])
                .send()
                .await
                .unwrap();
            let expected = if attempt == 0 {
                StatusCode::SEE_OTHER
            } else {
                StatusCode::UNAUTHORIZED
            };
            assert_eq!(r.status(), expected, "attempt {attempt}");
            c.post(s.url("/logout")).send().await.unwrap();
        }
        assert!(s.audited("auth.recovery_code_used").await);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_factor_can_be_required_of_everyone() {
    both(async |s: TestServer| {
        let shokuin = s.signed_in("shokuin").await;
        assert_eq!(
            shokuin.get(s.url("/org")).send().await.unwrap().status(),
            StatusCode::OK
        );
        let admin = s.signed_in("admin").await;
        let r = admin
            .post(s.url("/settings"))
            .form(&[
                ("mfa_for_everyone", "on"),
                ("lockout_threshold", "0"),
                ("lockout_minutes", "15"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a threshold of 0 is refused"
        );
        let r = admin
            .post(s.url("/settings"))
            .form(&[
                ("mfa_for_everyone", "on"),
                ("lockout_threshold", "3"),
                ("lockout_minutes", "15"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            shokuin.get(s.url("/org")).send().await.unwrap().headers()["location"],
            "/mfa/enrol"
        );
        assert!(s.audited("settings.updated").await);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_who_leaves_keeps_no_role() {
    both(async |s: TestServer| {
        let kacho = s.signed_in("kacho").await;
        let before: serde_json::Value = kacho.get(s.url("/api/v1/staff")).send().await.unwrap().json().await.unwrap();
        assert!(before["total"].as_u64().unwrap() > 1, "a 課長 sees the 課");
        let me: serde_json::Value = kacho.get(s.url("/api/v1/me")).send().await.unwrap().json().await.unwrap();
        let staff_id = me["staff_id"].as_i64().unwrap();
        let token = s.token("toukatsu").await;
        let record: serde_json::Value =
            s.anon().get(s.url(&format!("/api/v1/staff/{staff_id}"))).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        let r = s
            .anon()
            .put(s.url(&format!("/api/v1/staff/{staff_id}")))
            .bearer_auth(&token)
            .json(&serde_json::json!({
                "staff_no": record["staff_no"], "name": record["name"], "name_kana": record["name_kana"],
                "email": record["email"], "kind": record["kind_id"].to_string(),
                "org_unit_id": record["org_unit_id"].to_string(), "active": "false",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
        let after: serde_json::Value = kacho.get(s.url("/api/v1/staff?all=on")).send().await.unwrap().json().await.unwrap();
        assert_eq!(after["total"], 1, "only their own record: {after}");
        let me: serde_json::Value = kacho.get(s.url("/api/v1/me")).send().await.unwrap().json().await.unwrap();
        assert_eq!(me["roles"], serde_json::json!([]));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_list_counts_up_to_a_thousand_and_says_so() {
    both(async |s: TestServer| {
        let m = mamori_app::org::first_municipality(s.app.store().conn())
            .await
            .unwrap()
            .unwrap();
        mamori_app::demo::synthetic(&s.app, m.id, 2, 1_000)
            .await
            .unwrap();
        let kansa = s.signed_in("kansa").await;
        let all: serde_json::Value = kansa
            .get(s.url("/api/v1/staff?per_page=1"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(all["total"], 1_000);
        assert_eq!(all["total_is_exact"], false);
        let page = kansa
            .get(s.url("/staff"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("1000件以上"),
            "the page says the count is capped"
        );
        let few: serde_json::Value = kansa
            .get(s.url("/api/v1/staff?per_page=1&unit=110200"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(few["total_is_exact"], true);
        assert!(few["total"].as_u64().unwrap() < 10);
    })
    .await;
}
