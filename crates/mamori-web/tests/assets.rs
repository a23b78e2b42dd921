//! 情報資産管理台帳 through the pages and the API: forms, search and filters, who may change what, import and
//! export round trips, findings and history — on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

use harness::{TestServer, both};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

/// A form for a new asset: the given fields over a plain default.
fn asset_form(no: &str, name: &str, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = [
        ("asset_no", no),
        ("name", name),
        ("kind", "information"),
        ("owner_code", "120100"),
        ("manager_no", ""),
        ("confidentiality", "2"),
        ("integrity", "1"),
        ("availability", "1"),
        ("my_number_work", ""),
        ("zone", "lgwan"),
        ("storage", "本庁舎 サーバ室"),
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

/// Posts the new-asset form; the id of the asset, from the redirect.
async fn create(s: &TestServer, c: &reqwest::Client, form: &[(String, String)]) -> i64 {
    let r = c.post(s.url("/assets")).form(form).send().await.unwrap();
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    let body = r.text().await.unwrap();
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    location
        .unwrap()
        .trim_start_matches("/assets/")
        .parse()
        .unwrap()
}

async fn page(s: &TestServer, c: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let r = c.get(s.url(path)).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// Whether a list page links the asset with this number.
fn lists(body: &str, asset_no: &str) -> bool {
    body.contains(&format!(">{asset_no}</a>"))
}

async fn import(
    s: &TestServer,
    c: &reqwest::Client,
    name: &str,
    bytes: Vec<u8>,
    mode: &str,
) -> (StatusCode, String) {
    let form = Form::new()
        .part("file", Part::bytes(bytes).file_name(name.to_owned()))
        .text("encoding", "auto")
        .text("mode", mode.to_owned());
    let r = c
        .post(s.url("/assets/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn total(s: &TestServer, c: &reqwest::Client, query: &str) -> u64 {
    let v: serde_json::Value = c
        .get(s.url(&format!("/api/v1/assets?{query}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["total"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asset_made_in_the_form_is_listed_found_and_shown() {
    both(async |s: TestServer| {
        let admin = s.signed_in("admin").await;
        let (status, new) = page(&s, &admin, "/assets/new").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            new.contains("令和8年5月19日") && new.contains("3C（自治体機密性3C）"),
            "{new}"
        );
        let id = create(
            &s,
            &admin,
            &asset_form(
                "T-001",
                "戸籍附票の写し",
                &[
                    ("manager_no", "00026"),
                    ("personal", "on"),
                    ("integrity", "2"),
                ],
            ),
        )
        .await;
        create(
            &s,
            &admin,
            &asset_form(
                "T-002",
                "市税の納付書控え",
                &[("kind", "paper"), ("zone", "paper_or_none")],
            ),
        )
        .await;
        create(
            &s,
            &admin,
            &asset_form(
                "T-003",
                "マイナンバーカード交付予約",
                &[("confidentiality", "1")],
            ),
        )
        .await;
        create(
            &s,
            &admin,
            &asset_form("T-004", "庁内案内図", &[("next_review", "2020/01/01")]),
        )
        .await;

        let (status, list) = page(&s, &admin, "/assets").await;
        assert_eq!(status, StatusCode::OK);
        assert!(lists(&list, "T-001") && lists(&list, "T-004"), "{list}");
        assert!(
            list.contains("C2-I2-A1")
                && list.contains("新規登録")
                && list.contains("CSV (Shift_JIS)")
        );

        let (_, detail) = page(&s, &admin, &format!("/assets/{id}")).await;
        for expected in [
            "戸籍附票の写し",
            "機密性2・完全性2・可用性1",
            "市民課（120100）",
            "/staff/",
            "00026",
            "取扱制限",
            "履歴",
            "登録",
        ] {
            assert!(detail.contains(expected), "{expected}: {detail}");
        }

        // One character, two characters, and hiragana for katakana.
        let (_, hit) = page(&s, &admin, "/assets?q=%E7%A8%8E").await; // 税
        assert!(lists(&hit, "T-002") && !lists(&hit, "T-001"), "税");
        let (_, hit) = page(&s, &admin, "/assets?q=%E6%88%B8%E7%B1%8D").await; // 戸籍
        assert!(lists(&hit, "T-001") && !lists(&hit, "T-002"), "戸籍");
        let (_, hit) = page(&s, &admin, &format!("/assets?q={}", enc("まいなんばー"))).await;
        assert!(
            lists(&hit, "T-003") && !lists(&hit, "T-001"),
            "まいなんばー"
        );

        let (_, c2) = page(&s, &admin, "/assets?c_min=2").await;
        assert!(lists(&c2, "T-001") && !lists(&c2, "T-003"), "c_min=2");
        let (_, overdue) = page(&s, &admin, "/assets?overdue=on").await;
        assert!(
            lists(&overdue, "T-004") && !lists(&overdue, "T-001"),
            "overdue"
        );
        assert!(overdue.contains("見直し期限切れ"));
        // The unit filter takes a 組織コード and covers the units below.
        let (_, unit) = page(&s, &admin, "/assets?unit=120000").await;
        assert!(lists(&unit, "T-001"));
        let (_, unit) = page(&s, &admin, "/assets?unit=110000").await;
        assert!(!lists(&unit, "T-001"));
        // An id does the same.
        let by_id = format!("/assets?unit={}", s.unit_id("120000").await);
        assert!(lists(&page(&s, &admin, &by_id).await.1, "T-001"));
        let by_id = format!("/assets?unit={}", s.unit_id("110000").await);
        assert!(!lists(&page(&s, &admin, &by_id).await.1, "T-001"));

        // A value the filters do not know is explained, not a server error.
        let (status, bad) = page(&s, &admin, "/assets?c_min=4").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            bad.contains("「4」はこの観点の区分にありません") && bad.contains("機密性（以上）"),
            "{bad}"
        );
        let (status, bad) = page(&s, &admin, "/assets?unit=NOPE").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.contains("NOPE"));

        // Errors sit next to their fields and nothing is saved.
        let r = admin
            .post(s.url("/assets"))
            .form(&asset_form(
                "T-001",
                "",
                &[("confidentiality", "9"), ("next_review", "来年")],
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = r.text().await.unwrap();
        for expected in [
            "必須です",
            "「9」はこの観点の区分にありません",
            "「来年」は日付として読めません",
        ] {
            assert!(body.contains(expected), "{expected}: {body}");
        }
        assert_eq!(total(&s, &admin, "q=T-001").await, 1);
        let r = admin
            .post(s.url("/assets"))
            .form(&asset_form("Ｔ－００１", "重複", &[]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("「T-001」は既に使われています")
        );
        assert!(s.audited("asset.created").await);
    })
    .await;
}

fn enc(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_division_manager_changes_only_his_division_and_others_read_what_they_may() {
    both(async |s: TestServer| {
        let admin = s.signed_in("admin").await;
        let elsewhere = create(&s, &admin, &asset_form("T-201", "市民課の資産", &[])).await;
        let managed = create(
            &s,
            &admin,
            &asset_form("T-202", "窓口受付簿", &[("manager_no", "00027")]),
        )
        .await;

        // 税務課長: creates in his 課, is refused elsewhere, and cannot open another 課's asset by its id.
        let kacho = s.signed_in("kacho").await;
        let (status, new) = page(&s, &kacho, "/assets/new").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            new.contains("120200") && !new.contains("value=\"120100\""),
            "only his 課 is offered"
        );
        let own = create(
            &s,
            &kacho,
            &asset_form("T-101", "課税資料", &[("owner_code", "120200")]),
        )
        .await;
        let r = kacho
            .post(s.url("/assets"))
            .form(&asset_form(
                "T-102",
                "他課の資料",
                &[("owner_code", "120100")],
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("担当している組織の範囲外です")
        );
        let (_, list) = page(&s, &kacho, "/assets").await;
        assert!(lists(&list, "T-101") && !lists(&list, "T-201"));
        for path in [
            format!("/assets/{elsewhere}"),
            format!("/assets/{elsewhere}/edit"),
            format!("/api/v1/assets/{elsewhere}"),
        ] {
            assert_eq!(
                page(&s, &kacho, &path).await.0,
                StatusCode::FORBIDDEN,
                "{path}"
            );
        }
        let r = kacho
            .post(s.url(&format!("/assets/{elsewhere}")))
            .form(&asset_form("T-201", "書き換え", &[]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = kacho
            .post(s.url(&format!("/assets/{elsewhere}/retire")))
            .form(&[("retired_on", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        // Moving his own asset to another 課 is refused too.
        let r = kacho
            .post(s.url(&format!("/assets/{own}")))
            .form(&asset_form(
                "T-101",
                "課税資料",
                &[("owner_code", "120100")],
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

        // A member of staff sees what they manage, and changes nothing.
        let shokuin = s.signed_in("shokuin").await;
        assert_eq!(
            page(&s, &shokuin, "/assets/new").await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            page(&s, &shokuin, "/assets/import").await.0,
            StatusCode::FORBIDDEN
        );
        let r = shokuin
            .post(s.url("/assets"))
            .form(&asset_form("T-103", "職員の資産", &[]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let (_, list) = page(&s, &shokuin, "/assets").await;
        assert!(lists(&list, "T-202") && !lists(&list, "T-201") && !list.contains("新規登録"));
        let (status, detail) = page(&s, &shokuin, &format!("/assets/{managed}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!detail.contains("/edit"));

        // The auditor reads everything and changes nothing outside the 課 he heads (総務課).
        let kansa = s.signed_in("kansa").await;
        let (_, list) = page(&s, &kansa, "/assets").await;
        assert!(lists(&list, "T-101") && lists(&list, "T-201"));
        let (status, detail) = page(&s, &kansa, &format!("/assets/{elsewhere}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            !detail.contains(&format!("/assets/{elsewhere}/edit"))
                && !detail.contains("この資産を廃止する")
        );
        let r = kansa
            .post(s.url(&format!("/assets/{elsewhere}")))
            .form(&asset_form("T-201", "書き換え", &[]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        // The CISO reads all and changes nothing.
        let ciso = s.signed_in("ciso").await;
        assert_eq!(
            page(&s, &ciso, &format!("/assets/{own}")).await.0,
            StatusCode::OK
        );
        assert_eq!(
            page(&s, &ciso, "/assets/new").await.0,
            StatusCode::FORBIDDEN
        );
    })
    .await;
}

async fn imports(s: &TestServer) -> usize {
    s.audit_actions()
        .await
        .iter()
        .filter(|a| *a == "asset.imported")
        .count()
}

fn sjis(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shift_jis_sheet_with_a_bad_row_is_refused_whole_naming_row_column_and_value() {
    both(async |s: TestServer| {
        let c = s.signed_in("toukatsu").await;
        let imports_before = imports(&s).await;
        let csv = "資産番号,資産名,種別,所管課コード,機密性,個人情報,次回見直し日,メモ\r\n\
                   I-001,固定資産評価データ,情報（電子）,120200,3B,○,2027/03/31,x\r\n\
                   I-002,課税資料綴り,紙,120200,4,たぶん,2027/13/01,y\r\n\
                   I-001,重複行,紙,120200,2,,,\r\n";
        let (status, body) = import(&s, &c, "台帳.csv", sjis(csv), "apply").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        for expected in [
            "何も書き込んでいません",
            "Shift_JIS",
            "メモ",
            "<td>3</td>",
            "機密性 (E)",
            "<td>4</td>",
            "「4」はこの観点の区分にありません（選べる区分: 1, 2, 3C, 3B, 3A）",
            "個人情報 (F)",
            "たぶん",
            "2027/13/01",
            "2行目にもあります",
        ] {
            assert!(body.contains(expected), "{expected}: {body}");
        }
        assert_eq!(total(&s, &c, "q=I-001").await, 0, "nothing written");
        assert_eq!(imports(&s).await, imports_before);
        // The same problems in English.
        c.post(s.url("/lang"))
            .form(&[("lang", "en"), ("back", "/assets")])
            .send()
            .await
            .unwrap();
        let (_, body) = import(&s, &c, "台帳.csv", sjis(csv), "dry-run").await;
        assert!(
            body.contains("is not a level of this axis") && body.contains("nothing was written"),
            "{body}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_then_the_export_imported_again_changes_nothing() {
    both(async |s: TestServer| {
        let c = s.signed_in("admin").await;
        let csv = "資産番号,資産名,種別,所管課,管理者職員番号,機密性,完全性,可用性,個人情報,特定個人情報,事務区分,三層区分,備考,次回見直し日\n\
                   RT-001,𠮷田地区 避難行動要支援者名簿,情報（電子）,市民課,00026,3B,2,2,○,○,個人番号利用事務,マイナンバー利用事務系,\"1行目\n2行目\",令和9年3月31日\n\
                   RT-002,庁舎配置図,システム関連文書,情報政策課,,1,1,1,,,,紙/対象外,,R9.3.31\n\
                   RT-003,税務システム,情報システム,税務課,00028,3C,2,2,○,,,LGWAN系,,2027-03-31\n";
        let (status, body) = import(&s, &c, "rt.csv", csv.as_bytes().to_vec(), "dry-run").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("問題はありません。同じファイルを選んで「取り込む」を押すと反映されます"), "{body}");
        assert!(body.contains("RT-003") && body.contains("新規登録"));
        assert_eq!(total(&s, &c, "q=RT-").await, 0, "a dry run writes nothing");
        let (status, body) = import(&s, &c, "rt.csv", csv.as_bytes().to_vec(), "apply").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("新規 3件、変更 0件、変更なし 0件"), "{body}");
        assert_eq!(total(&s, &c, "q=RT-").await, 3);

        for (format, name) in [("csv", "back.csv"), ("xlsx", "back.xlsx")] {
            let r = c
                .get(s.url(&format!("/assets/export?format={format}&q=RT-")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            let disposition = r.headers()["content-disposition"].to_str().unwrap().to_owned();
            assert!(
                disposition.starts_with("attachment; filename=\"assets-")
                    && disposition.contains("filename*=UTF-8''%E6%83%85%E5%A0%B1"),
                "{disposition}"
            );
            let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
            let bytes = r.bytes().await.unwrap().to_vec();
            if format == "csv" {
                assert_eq!(content_type, "text/csv; charset=utf-8");
                let text = String::from_utf8(bytes.clone()).unwrap();
                assert!(text.contains("𠮷田地区") && text.contains("RT-003"), "{text}");
                assert!(!text.contains("A-0001"), "only what the filter selects");
            } else {
                assert!(content_type.contains("spreadsheetml"));
            }
            let (status, body) = import(&s, &c, name, bytes, "apply").await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert!(body.contains("新規 0件、変更 0件、変更なし 3件"), "{format}: {body}");
        }

        // Shift_JIS cannot hold 𠮷: the export says so and offers the formats that can.
        let r = c.get(s.url("/assets/export?format=csv-sjis&q=RT-")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = r.text().await.unwrap();
        assert!(body.contains("𠮷") && body.contains("Shift_JIS") && body.contains("Excel (xlsx)"), "{body}");
        // Without it, the Shift_JIS file reads back the same.
        let r = c.get(s.url("/assets/export?format=csv-sjis&q=RT-00&kind=system")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "text/csv; charset=Shift_JIS");
        let (_, body) = import(&s, &c, "sjis.csv", r.bytes().await.unwrap().to_vec(), "apply").await;
        assert!(body.contains("変更なし 1件"), "{body}");
        let r = c.get(s.url("/assets/export?format=pdf")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(s.audited("asset.imported").await && s.audited("data.exported").await);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_asset_page_shows_findings_and_the_history_of_changes() {
    both(async |s: TestServer| {
        let c = s.signed_in("toukatsu").await;
        let fields = [
            ("confidentiality", "3B"),
            ("specific_personal", "on"),
            ("my_number_work", "use"),
            ("zone", "lgwan"),
            ("manager_no", "00026"),
        ];
        let id = create(&s, &c, &asset_form("T-301", "住民記録の写し", &fields)).await;
        let (_, detail) = page(&s, &c, &format!("/assets/{id}")).await;
        assert!(
            detail.contains("asset.my_number_outside_zone") && detail.contains("2(12)"),
            "{detail}"
        );
        assert!(
            detail.contains("（例示）"),
            "example restrictions are marked"
        );

        let mut changed = asset_form("T-301", "住民記録の写し（改）", &fields);
        changed.retain(|(k, _)| k != "zone");
        changed.push(("zone".to_owned(), "my_number".to_owned()));
        let r = c
            .post(s.url(&format!("/assets/{id}")))
            .form(&changed)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, detail) = page(&s, &c, &format!("/assets/{id}")).await;
        assert!(!detail.contains("asset.my_number_outside_zone"), "fixed");
        for expected in [
            "三層区分: LGWAN接続系 → マイナンバー利用事務系",
            "資産名: 住民記録の写し → 住民記録の写し（改）",
            "個人情報: あり",
        ] {
            assert!(detail.contains(expected), "{expected}: {detail}");
        }

        // Retire with a date in 和暦; once only.
        let r = c
            .post(s.url(&format!("/assets/{id}/retire")))
            .form(&[("retired_on", "いつか")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let r = c
            .post(s.url(&format!("/assets/{id}/retire")))
            .form(&[("retired_on", "R8.4.1")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, detail) = page(&s, &c, &format!("/assets/{id}")).await;
        assert!(
            detail.contains("令和8年4月1日") && !detail.contains("この資産を廃止する"),
            "{detail}"
        );
        let (_, list) = page(&s, &c, "/assets?q=T-301").await;
        assert!(!lists(&list, "T-301"));
        let (_, list) = page(&s, &c, "/assets?q=T-301&retired=on").await;
        assert!(lists(&list, "T-301") && list.contains("廃止（2026/04/01）"));
        let r = c
            .post(s.url(&format!("/assets/{id}/retire")))
            .form(&[("retired_on", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("既に廃止されています"));

        // In English, the label and the finding texts follow.
        c.post(s.url("/lang"))
            .form(&[("lang", "en"), ("back", "/assets")])
            .send()
            .await
            .unwrap();
        let (_, detail) = page(&s, &c, &format!("/assets/{id}")).await;
        assert!(
            detail.contains("Confidentiality 3B") && detail.contains("My Number zone"),
            "{detail}"
        );
        assert!(s.audited("asset.retired").await);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_lists_creates_replaces_and_retires_assets() {
    both(async |s: TestServer| {
        let token = s.token("toukatsu").await;
        let c = s.anon();
        let r = c
            .post(s.url("/api/v1/assets"))
            .bearer_auth(&token)
            .json(&serde_json::json!({
                "asset_no": "API-1", "name": "国保資格データ", "kind": "情報（電子）", "owner_code": "130200",
                "confidentiality": "機密性3B", "integrity": "2", "availability": "2",
                "personal": "○", "specific_personal": "はい", "my_number_work": "利用事務", "zone": "LGWAN系",
                "next_review": "令和9年3月31日",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let created: serde_json::Value = r.json().await.unwrap();
        let id = created["id"].as_i64().unwrap();
        assert_eq!(created["label"], "C3B-I2-A2");
        assert_eq!(created["label_ja"], "機密性3B・完全性2・可用性2");
        assert!(created["restrictions"].as_array().unwrap().iter().any(|r| r["text"]["ja"].is_string()));
        assert!(created["findings"].as_array().unwrap().iter().any(|f| f["check_id"] == "asset.my_number_outside_zone"));
        assert_eq!(created["history"][0]["action"], "asset.created");

        let list: serde_json::Value = c
            .get(s.url("/api/v1/assets?c_min=3B&personal=specific&unit=130000&per_page=10"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(list["rows"].as_array().unwrap().iter().any(|r| r["asset_no"] == "API-1"), "{list}");
        assert_eq!(list["per_page"], 10);
        assert_eq!(list["total_is_exact"], true);
        let r = c.get(s.url("/api/v1/assets?c_min=4&page=x")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let problem: serde_json::Value = r.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "page");
        let r = c.get(s.url("/api/v1/assets?c_min=4")).bearer_auth(&token).send().await.unwrap();
        let problem: serde_json::Value = r.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "c_min");
        assert_eq!(problem["errors"][0]["code"], "err-level");

        // PUT replaces every field: what is left out is emptied.
        let r = c
            .put(s.url(&format!("/api/v1/assets/{id}")))
            .bearer_auth(&token)
            .json(&serde_json::json!({"asset_no": "API-1", "name": "国保資格データ", "kind": "information", "owner_code": "130200"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let replaced: serde_json::Value = r.json().await.unwrap();
        assert_eq!(replaced["label"], "C?-I?-A?");
        assert_eq!(replaced["specific_personal"], false);
        assert_eq!(replaced["history"][0]["action"], "asset.updated");

        let r = c.post(s.url(&format!("/api/v1/assets/{id}/retire"))).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let retired: serde_json::Value = r.json().await.unwrap();
        assert_eq!(retired["retired"], true);
        let r = c
            .post(s.url(&format!("/api/v1/assets/{id}/retire")))
            .bearer_auth(&token)
            .json(&serde_json::json!({"retired_on": "2026-04-01"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

        // 税務課長 may not change 介護保険課's asset, nor create one there.
        let kacho = s.token("kacho").await;
        let r = c
            .put(s.url(&format!("/api/v1/assets/{id}")))
            .bearer_auth(&kacho)
            .json(&serde_json::json!({"asset_no": "API-1", "name": "x", "kind": "information", "owner_code": "120200"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = c
            .post(s.url("/api/v1/assets"))
            .bearer_auth(&kacho)
            .json(&serde_json::json!({"asset_no": "API-2", "name": "x", "kind": "information", "owner_code": "130200"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let problem: serde_json::Value = r.json().await.unwrap();
        assert_eq!(problem["errors"][0]["code"], "err-unit-out-of-scope");

        let doc: serde_json::Value = c.get(s.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
        assert!(doc["paths"]["/api/v1/assets"]["get"]["parameters"].as_array().unwrap().len() >= 13);
        assert!(doc["paths"]["/api/v1/assets/{id}/retire"]["post"].is_object());
    })
    .await;
}

#[tokio::test]
async fn the_scheme_is_chosen_by_an_administrator_and_kept_while_assets_are_classified() {
    both(async |s: TestServer| {
        let admin = s.signed_in("admin").await;
        let (status, body) = page(&s, &admin, "/settings/classification").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains("mic-2024") && body.contains("mic-legacy"),
            "{body}"
        );
        // The demo register is classified under mic-2024 (17 of its 18 assets): switching would strand their levels.
        let r = admin
            .post(s.url("/settings/classification"))
            .form(&[("scheme", "mic-legacy")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text().await.unwrap().contains("分類済みの資産が17件"),
            "A-0009 of the 18 is not classified yet"
        );
        let r = admin
            .post(s.url("/settings/classification"))
            .form(&[("scheme", "no-such-scheme")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // Only administrators choose it.
        let kacho = s.signed_in("kacho").await;
        let (status, _) = page(&s, &kacho, "/settings/classification").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    })
    .await;
}

/// Pages inside the first 1,000 matches come from one ordered pass that also counts; pages past it are asked
/// for by offset. Both must give the same order with no gap or overlap at the seam.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_past_the_counted_thousand_continue_the_same_order() {
    both(async |s: TestServer| {
        let admin = s.signed_in("admin").await;
        let mut csv = String::from("資産番号,資産名,種別,所管課コード\r\n");
        for i in 0..1_050 {
            csv.push_str(&format!("P-{i:04},連番資産{i},情報（電子）,110200\r\n"));
        }
        let (status, body) = import(&s, &admin, "many.csv", csv.into_bytes(), "apply").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let numbers = |page: u64| {
            let admin = &admin;
            let s = &s;
            async move {
                let v: serde_json::Value = admin
                    .get(s.url(&format!("/api/v1/assets?q=連番&per_page=200&page={page}")))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let rows: Vec<String> = v["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["asset_no"].as_str().unwrap().to_owned())
                    .collect();
                (rows, v["total_is_exact"].as_bool().unwrap())
            }
        };
        let (fifth, exact) = numbers(5).await;
        assert!(!exact, "1,050 matches are counted as more than 1,000");
        let (sixth, _) = numbers(6).await;
        assert_eq!(fifth.first().map(String::as_str), Some("P-0800"));
        assert_eq!(fifth.last().map(String::as_str), Some("P-0999"));
        assert_eq!(sixth.len(), 50);
        assert_eq!(sixth.first().map(String::as_str), Some("P-1000"));
        assert_eq!(sixth.last().map(String::as_str), Some("P-1049"));
    })
    .await;
}

/// The list's index is kept per process; a change made by another (the command line's import, a second
/// server on the same database) shows on the next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_by_another_process_shows_on_the_next_list() {
    use mamori_app::mamori_store::audit::AuditKey;
    use mamori_app::mamori_store::entity::asset;
    use mamori_app::mamori_store::sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    both(async |s: TestServer| {
        let kacho = s.signed_in("kacho").await;
        let unit = s.unit_id("120200").await;
        let mine = asset::Entity::find()
            .filter(asset::Column::OwnerUnitId.eq(unit))
            .filter(asset::Column::Retired.eq(false))
            .order_by_asc(asset::Column::Id)
            .one(s.app.store().conn())
            .await
            .unwrap()
            .expect("the demo's 税務課 has an asset");
        let cell = format!(">{}<", mine.asset_no);
        let (_, before) = page(&s, &kacho, "/assets").await;
        assert!(before.contains(&cell), "listed before: {before}");

        let other = mamori_app::App::new(
            s.app.store().clone(),
            AuditKey::load(&s.dir.join("audit.key"), false).unwrap(),
            mamori_app::Config::default(),
        )
        .unwrap();
        mamori_app::assets::retire(
            &other,
            &mamori_app::assets::AssetEditor::for_cli(mine.municipality_id),
            &mamori_app::AuditActor::cli(),
            mine.id,
            None,
        )
        .await
        .unwrap();

        let (_, after) = page(&s, &kacho, "/assets").await;
        assert!(
            !after.contains(&cell),
            "retired elsewhere, gone from the list"
        );
        let (_, with_retired) = page(&s, &kacho, "/assets?retired=on").await;
        assert!(with_retired.contains(&cell), "{with_retired}");
    })
    .await;
}
