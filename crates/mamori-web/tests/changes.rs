//! 人事異動 and 組織改正 through the pages: upload, preview, apply — on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

use harness::{TestServer, both};
use mamori_sheet::{Encoding, XlsxColumn, XlsxSheet};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

/// The reorganisation sheet as a Japanese office saves it: CSV in Shift_JIS.
fn units_csv(rows: &[[&str; 5]]) -> Vec<u8> {
    let headers = [
        "操作",
        "組織コード",
        "組織名",
        "上位組織コード",
        "階層",
        "後継組織コード",
    ];
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let successor = if r[0] == "統合" || r[0] == "廃止" {
                r[3]
            } else {
                ""
            };
            let parent = if r[0] == "新設" { r[3] } else { "" };
            vec![
                r[0].into(),
                r[1].into(),
                r[2].into(),
                parent.into(),
                r[4].into(),
                successor.into(),
            ]
        })
        .collect();
    mamori_sheet::write_csv(&headers, &rows, Encoding::ShiftJis).unwrap()
}

/// The staff-move sheet as xlsx.
fn staff_xlsx(rows: &[[&str; 4]]) -> Vec<u8> {
    let columns: Vec<XlsxColumn> = ["職員番号", "異動先組織コード", "役割", "任用区分"]
        .iter()
        .map(|h| XlsxColumn::new(*h))
        .collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    mamori_sheet::write_xlsx(&XlsxSheet {
        name: "人事異動",
        columns: &columns,
        rows: &rows,
    })
    .unwrap()
}

async fn upload(
    s: &TestServer,
    c: &reqwest::Client,
    units: Vec<u8>,
    staff: Option<Vec<u8>>,
) -> reqwest::Response {
    let mut form = Form::new()
        .text("title", "令和9年4月1日 組織改正")
        .text("effective_on", mamori_app::today().to_string())
        .part("units_file", Part::bytes(units).file_name("組織改正.csv"));
    if let Some(staff) = staff {
        form = form.part("staff_file", Part::bytes(staff).file_name("人事異動.xlsx"));
    }
    c.post(s.url("/changes"))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn staff_unit(s: &TestServer, staff_no: &str) -> i64 {
    let m = mamori_app::org::first_municipality(s.app.store().conn())
        .await
        .unwrap()
        .unwrap();
    mamori_app::staff::by_no(s.app.store().conn(), m.id, staff_no)
        .await
        .unwrap()
        .unwrap()
        .org_unit_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorganisation_is_previewed_then_applied_in_one_go() {
    both(async |s: TestServer| {
        let c = s.signed_in("toukatsu").await;
        let units = units_csv(&[
            ["新設", "X100", "デジタル推進課", "110000", "課"],
            ["名称変更", "120200", "市民税課", "", ""],
            ["統合", "130200", "", "130100", ""],
        ]);
        let staff = staff_xlsx(&[["00010", "X100", "情報セキュリティ管理者", "本務"]]);
        let merged_away = s.unit_id("130200").await;
        let mover_before = staff_unit(&s, "00010").await;
        let r = upload(&s, &c, units, Some(staff)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let location = r.headers()["location"].to_str().unwrap().to_owned();

        let preview = c
            .get(s.url(&location))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for expected in [
            "デジタル推進課",
            "市民税課",
            "総務課",
            "00010",
            "今すぐ実行",
        ] {
            assert!(
                preview.contains(expected),
                "preview lacks {expected}: {preview}"
            );
        }
        assert_eq!(
            staff_unit(&s, "00010").await,
            mover_before,
            "a preview changes nothing"
        );
        assert_eq!(s.unit_count().await, s.unit_count_before());

        let r = c
            .post(s.url(&format!("{location}/apply")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let new_unit = s.unit_id("X100").await;
        assert_eq!(staff_unit(&s, "00010").await, new_unit);
        let m = mamori_app::org::first_municipality(s.app.store().conn())
            .await
            .unwrap()
            .unwrap();
        let merged = mamori_app::org::unit_by_code(s.app.store().conn(), m.id, "130200")
            .await
            .unwrap()
            .unwrap();
        assert!(merged.abolished_on.is_some());
        assert_eq!(merged.successor_id, Some(s.unit_id("130100").await));
        let left_behind = mamori_store::entity::staff::Entity::find()
            .filter(mamori_store::entity::staff::Column::OrgUnitId.eq(merged_away))
            .count(s.app.store().conn())
            .await
            .unwrap();
        assert_eq!(
            left_behind, 0,
            "the merged unit's staff moved to the successor"
        );
        let renamed = mamori_app::org::unit_by_code(s.app.store().conn(), m.id, "120200")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(renamed.path, "市長部局/市民部/市民税課");
        let actions = s.audit_actions().await;
        for a in [
            "change_set.applied",
            "org.ownership_moved",
            "org.unit_abolished",
            "role.assigned",
        ] {
            assert!(actions.contains(&a.to_owned()), "{a} audited");
        }
        assert!(matches!(
            s.verify().await,
            mamori_store::audit::Verdict::Intact { .. }
        ));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_row_is_reported_by_sheet_row_and_column_and_nothing_changes() {
    both(async |s: TestServer| {
        let c = s.signed_in("toukatsu").await;
        let units = units_csv(&[
            ["新設", "X200", "新課", "110000", "課"],
            ["削除", "110100", "", "", ""],
        ]);
        let r = upload(&s, &c, units, None).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = r.text().await.unwrap();
        assert!(page.contains("組織改正シート 3行目 操作"), "{page}");

        // A set that reads well but cannot be applied (unknown successor) fails whole.
        let units = units_csv(&[
            ["新設", "X300", "新しい課", "110000", "課"],
            ["廃止", "110300", "", "NOPE", ""],
        ]);
        let r = upload(&s, &c, units, None).await;
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let preview = c
            .get(s.url(&location))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(preview.contains("NOPE"), "{preview}");
        assert!(
            !preview.contains("今すぐ実行"),
            "no apply button while problems remain"
        );
        c.post(s.url(&format!("{location}/apply")))
            .send()
            .await
            .unwrap();
        assert_eq!(
            s.unit_count().await,
            s.unit_count_before(),
            "nothing half-saved"
        );
        let id: i64 = location.rsplit('/').next().unwrap().parse().unwrap();
        let cs = mamori_store::entity::change_set::Entity::find_by_id(id)
            .one(s.app.store().conn())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(cs.status, "failed");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_set_takes_effect_on_its_date() {
    both(async |s: TestServer| {
        let c = s.signed_in("toukatsu").await;
        let r = upload(
            &s,
            &c,
            units_csv(&[["新設", "X400", "予定の課", "110000", "課"]]),
            None,
        )
        .await;
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        c.post(s.url(&format!("{location}/schedule")))
            .send()
            .await
            .unwrap();
        assert_eq!(s.unit_count().await, s.unit_count_before());
        // The server's minute tick calls this; its date (today) has come.
        assert_eq!(mamori_app::changeset::apply_due(&s.app).await.unwrap(), 1);
        assert_eq!(s.unit_count().await, s.unit_count_before() + 1);
        assert!(
            s.audit_actions()
                .await
                .iter()
                .any(|a| a == "change_set.applied")
        );
        // Only the 情報政策課 side may do this.
        let kacho = s.signed_in("kacho").await;
        assert_eq!(
            kacho.get(s.url("/changes")).send().await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
    })
    .await;
}

use mamori_store::sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
