//! The demo municipality, サンプル市: an organisation covering every kind of clause 4(1), about 60 staff of every
//! kind, the statutory roles of 6(1) filled, and sign-ins for each kind of user. Written for Mamori; no real
//! city's data.

use chrono::Datelike;

use crate::access::{AccountAdmin, OrgAdmin};
use crate::accounts::{self, AccountForm};
use crate::org::{self, FacilityForm, UnitForm};
use crate::roles::{self, AssignForm};
use crate::staff::{self, StaffForm};
use crate::tx::AuditActor;
use crate::{App, AppError, AppResult, today};

/// (code, name, kana, level, organ kind, parent code, in scope).
const UNITS: &[(&str, &str, &str, &str, &str, &str, bool)] = &[
    (
        "100000",
        "市長部局",
        "シチョウブキョク",
        "organ",
        "mayors_office",
        "ROOT",
        true,
    ),
    ("110000", "総務部", "ソウムブ", "bureau", "", "100000", true),
    (
        "110100",
        "総務課",
        "ソウムカ",
        "division",
        "",
        "110000",
        true,
    ),
    (
        "110101",
        "文書係",
        "ブンショガカリ",
        "section",
        "",
        "110100",
        true,
    ),
    (
        "110200",
        "情報政策課",
        "ジョウホウセイサクカ",
        "division",
        "",
        "110000",
        true,
    ),
    (
        "110201",
        "情報セキュリティ係",
        "ジョウホウセキュリティガカリ",
        "section",
        "",
        "110200",
        true,
    ),
    (
        "110202",
        "システム係",
        "システムガカリ",
        "section",
        "",
        "110200",
        true,
    ),
    (
        "110300",
        "人事課",
        "ジンジカ",
        "division",
        "",
        "110000",
        true,
    ),
    ("120000", "市民部", "シミンブ", "bureau", "", "100000", true),
    (
        "120100",
        "市民課",
        "シミンカ",
        "division",
        "",
        "120000",
        true,
    ),
    (
        "120200",
        "税務課",
        "ゼイムカ",
        "division",
        "",
        "120000",
        true,
    ),
    ("130000", "福祉部", "フクシブ", "bureau", "", "100000", true),
    (
        "130100",
        "総務課",
        "ソウムカ",
        "division",
        "",
        "130000",
        true,
    ),
    (
        "130200",
        "介護保険課",
        "カイゴホケンカ",
        "division",
        "",
        "130000",
        true,
    ),
    (
        "200000",
        "教育委員会",
        "キョウイクイインカイ",
        "organ",
        "committee",
        "ROOT",
        true,
    ),
    (
        "210000",
        "教育部",
        "キョウイクブ",
        "bureau",
        "",
        "200000",
        true,
    ),
    (
        "210100",
        "総務課",
        "ソウムカ",
        "division",
        "",
        "210000",
        true,
    ),
    (
        "210200",
        "学校教育課",
        "ガッコウキョウイクカ",
        "division",
        "",
        "210000",
        true,
    ),
    (
        "300000",
        "選挙管理委員会",
        "センキョカンリイインカイ",
        "organ",
        "committee",
        "ROOT",
        true,
    ),
    (
        "300100",
        "選挙管理委員会事務局",
        "センキョカンリイインカイジムキョク",
        "division",
        "",
        "300000",
        true,
    ),
    (
        "400000",
        "市議会事務局",
        "シギカイジムキョク",
        "organ",
        "council_secretariat",
        "ROOT",
        true,
    ),
    (
        "400100",
        "総務課",
        "ソウムカ",
        "division",
        "",
        "400000",
        true,
    ),
    (
        "400200",
        "議事調査課",
        "ギジチョウサカ",
        "division",
        "",
        "400000",
        false,
    ),
    (
        "500000",
        "消防局",
        "ショウボウキョク",
        "organ",
        "fire_department",
        "ROOT",
        true,
    ),
    (
        "500100",
        "消防総務課",
        "ショウボウソウムカ",
        "division",
        "",
        "500000",
        true,
    ),
    (
        "500200",
        "指令課",
        "シレイカ",
        "division",
        "",
        "500000",
        true,
    ),
    (
        "600000",
        "水道局",
        "スイドウキョク",
        "organ",
        "public_enterprise",
        "ROOT",
        true,
    ),
    (
        "600100",
        "経営課",
        "ケイエイカ",
        "division",
        "",
        "600000",
        true,
    ),
    (
        "600200",
        "浄水課",
        "ジョウスイカ",
        "division",
        "",
        "600000",
        true,
    ),
    (
        "700000",
        "接続団体",
        "セツゾクダンタイ",
        "organ",
        "connected",
        "ROOT",
        true,
    ),
    (
        "700100",
        "サンプル市文化ホール（指定管理者）",
        "サンプルシブンカホール",
        "division",
        "",
        "700000",
        true,
    ),
];

const FAMILY: &[(&str, &str)] = &[
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
];

const GIVEN: &[(&str, &str)] = &[
    ("太郎", "タロウ"),
    ("花子", "ハナコ"),
    ("一郎", "イチロウ"),
    ("直美", "ナオミ"),
    ("健", "ケン"),
    ("由美", "ユミ"),
    ("誠", "マコト"),
    ("陽子", "ヨウコ"),
    ("翔", "ショウ"),
    ("美咲", "ミサキ"),
    ("大輔", "ダイスケ"),
    ("恵", "メグミ"),
];

/// Staff: (職員番号, unit code, kind). Names are drawn from the lists above.
fn staff_plan() -> Vec<(String, &'static str, &'static str)> {
    let divisions = [
        "110100", "110101", "110200", "110201", "110202", "110300", "120100", "120200", "130100",
        "130200", "210100", "210200", "300100", "400100", "400200", "500100", "500200", "600100",
        "600200",
    ];
    let kinds = [
        "regular",
        "regular",
        "regular",
        "reappointed",
        "fiscal_year",
        "commissioned",
        "temporary",
        "dispatched",
    ];
    let mut plan = vec![
        ("00001".to_owned(), "100000", "regular"), // 副市長 (CISO)
        ("00002".to_owned(), "110000", "regular"), // 総務部長
        ("00003".to_owned(), "120000", "regular"), // 市民部長
        ("00004".to_owned(), "130000", "regular"), // 福祉部長
        ("00005".to_owned(), "210000", "regular"), // 教育部長
        ("00006".to_owned(), "500000", "regular"), // 消防局長
        ("00007".to_owned(), "600000", "regular"), // 水道局長
        ("00008".to_owned(), "400000", "regular"), // 議会事務局長
        ("00009".to_owned(), "300000", "regular"), // 選管事務局長
    ];
    let mut n = 10;
    for (i, d) in divisions.iter().enumerate() {
        let count = if *d == "110200" || *d == "110201" {
            4
        } else {
            2
        };
        for j in 0..count {
            let kind = if j == 0 {
                "regular"
            } else {
                kinds[(i + j) % kinds.len()]
            };
            plan.push((format!("{n:05}"), *d, kind));
            n += 1;
        }
    }
    plan.push((format!("{n:05}"), "700100", "dispatched"));
    // 00012 is the 情報政策課長 (and 統括): they work in 情報政策課.
    if let Some(head) = plan.iter_mut().find(|p| p.0 == "00012") {
        head.1 = "110200";
    }
    plan
}

/// A sign-in of the demo, printed when the demo starts.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub login: &'static str,
    pub password: &'static str,
    pub what: &'static str,
}

/// The demo's sign-ins. Passwords are public: the demo is for trying Mamori, never for real data.
pub const LOGINS: &[DemoLogin] = &[
    DemoLogin {
        login: "admin",
        password: "samplecity-2026",
        what: "システム管理者 (MFA required)",
    },
    DemoLogin {
        login: "ciso",
        password: "samplecity-2026",
        what: "CISO 副市長 (MFA required)",
    },
    DemoLogin {
        login: "toukatsu",
        password: "samplecity-2026",
        what: "統括情報セキュリティ責任者 (MFA required)",
    },
    DemoLogin {
        login: "bucho",
        password: "samplecity-2026",
        what: "情報セキュリティ責任者 市民部長",
    },
    DemoLogin {
        login: "kacho",
        password: "samplecity-2026",
        what: "情報セキュリティ管理者 税務課長",
    },
    DemoLogin {
        login: "shokuin",
        password: "samplecity-2026",
        what: "職員 市民課",
    },
    DemoLogin {
        login: "kansa",
        password: "samplecity-2026",
        what: "監査人",
    },
    DemoLogin {
        login: "itaku",
        password: "samplecity-2026",
        what: "委託先 (情報政策課 only, expires)",
    },
];

/// Loads サンプル市 into an empty database. Returns its municipality id.
pub async fn load(app: &App) -> AppResult<i64> {
    let by = AuditActor {
        account_id: None,
        label: "demo".to_owned(),
    };
    let mid = org::create_municipality(app, "999999", "サンプル市", "Sample City", &by).await?;
    let cap = OrgAdmin {
        municipality_id: mid,
    };
    let db = app.store().conn();
    let root = org::all_units(db, mid)
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)?;
    for (code, name, kana, level, organ, parent, in_scope) in UNITS {
        let parent_id = if *parent == "ROOT" {
            root.id
        } else {
            org::unit_by_code(db, mid, parent)
                .await?
                .ok_or(AppError::NotFound)?
                .id
        };
        let form = UnitForm {
            code: (*code).to_owned(),
            name: (*name).to_owned(),
            name_kana: (*kana).to_owned(),
            level: (*level).to_owned(),
            organ_kind: (*organ).to_owned(),
            parent_id: parent_id.to_string(),
            in_scope: in_scope.then(|| "on".to_owned()),
        };
        org::create_unit(app, &cap, &by, &form).await?;
    }
    let unit_id = |code: &'static str| async move {
        org::unit_by_code(app.store().conn(), mid, code)
            .await
            .and_then(|u| u.ok_or(AppError::NotFound))
            .map(|u| u.id)
    };
    for (code, name, address, owner, connected) in [
        ("F001", "本庁舎", "サンプル市中央1-1-1", "110100", false),
        (
            "F002",
            "本庁舎 サーバ室",
            "サンプル市中央1-1-1 地下1階",
            "110200",
            false,
        ),
        ("F003", "消防局庁舎", "サンプル市東町2-3", "500100", false),
        ("F004", "中央浄水場", "サンプル市川辺5-1", "600200", false),
        (
            "F005",
            "サンプル市文化ホール",
            "サンプル市西町8-8",
            "700100",
            true,
        ),
    ] {
        let form = FacilityForm {
            code: code.to_owned(),
            name: name.to_owned(),
            address: address.to_owned(),
            org_unit_id: unit_id(owner).await?.to_string(),
            connected_outside: connected.then(|| "on".to_owned()),
            note: String::new(),
        };
        org::save_facility(app, &cap, &by, None, &form).await?;
    }
    for (i, (no, unit, kind)) in staff_plan().into_iter().enumerate() {
        let (family, family_kana) = FAMILY[i % FAMILY.len()];
        let (given, given_kana) = GIVEN[(i * 7 + i / FAMILY.len()) % GIVEN.len()];
        let form = StaffForm {
            staff_no: no.clone(),
            name: format!("{family} {given}"),
            name_kana: format!("{family_kana} {given_kana}"),
            email: format!("staff{no}@city.sample.lg.jp"),
            kind: kind.to_owned(),
            org_unit_id: unit_id(unit).await?.to_string(),
            active: Some("on".to_owned()),
        };
        staff::create(app, &cap, &by, &form).await?;
    }
    assign_roles(app, &cap, &by, root.id).await?;
    create_logins(app, mid, &by).await?;
    load_assets(app, mid, &by).await?;
    load_network(app, mid, &by).await?;
    Ok(mid)
}

/// The α model's zone map and the boundary router's files, as the network team would upload them.
const DEMO_ZONE_MAP: &str = include_str!("demo_network/zones.toml");
const DEMO_CORE_FW_RULES: &str = include_str!("demo_network/core-fw.rules");
const DEMO_CORE_FW_IPSET: &str = include_str!("demo_network/core-fw.ipset");

/// The demo zone register: the α zone map with the boundary router's configuration and one netcheck run (it
/// proves the zones separated), systems in each zone, and flows between them — one of which is planted: an
/// LGWAN接続系 system that talks to the Internet without passing the sanitiser.
async fn load_network(app: &App, mid: i64, by: &AuditActor) -> AppResult<()> {
    use crate::access::{NetworkOperator, SystemEditor};
    use crate::zones::{flows, network, systems};
    let op = NetworkOperator::for_cli(mid);
    network::upload_map(app, &op, by, "zones.toml", DEMO_ZONE_MAP.as_bytes()).await?;
    network::upload_config(app, &op, by, "core-fw.ipset", DEMO_CORE_FW_IPSET.as_bytes()).await?;
    network::upload_config(app, &op, by, "core-fw.rules", DEMO_CORE_FW_RULES.as_bytes()).await?;
    network::run(app, &op, by).await?;

    let editor = SystemEditor::for_cli(mid);
    // (name, zone, 所管課, 情報システム管理者, hosting, measures: mfa / no_export / sanitiser)
    let plan = [
        (
            "住民記録システム",
            "my_number",
            "120100",
            "",
            "on_premises",
            "mfa no_export",
        ),
        (
            "税務システム",
            "my_number",
            "120200",
            "",
            "gov_cloud",
            "mfa no_export",
        ),
        ("財務会計システム", "lgwan", "110100", "", "on_premises", ""),
        ("庁内メール", "lgwan", "110200", "00012", "on_premises", ""),
        (
            "メール無害化中継",
            "sanitiser",
            "110200",
            "00012",
            "on_premises",
            "sanitiser",
        ),
        (
            "インターネットメール",
            "internet",
            "110200",
            "00012",
            "other_cloud",
            "",
        ),
    ];
    let mut ids = Vec::new();
    for (name, zone, owner, admin, hosting, measures) in plan {
        let on = |flag: &str| {
            measures
                .split(' ')
                .any(|m| m == flag)
                .then(|| "on".to_owned())
        };
        let input = systems::SystemInput {
            name: name.to_owned(),
            zone: zone.to_owned(),
            owner_code: owner.to_owned(),
            admin_no: admin.to_owned(),
            hosting: hosting.to_owned(),
            mfa: on("mfa"),
            no_export: on("no_export"),
            sanitiser: on("sanitiser"),
            notes: String::new(),
        };
        ids.push(systems::create(app, &editor, by, &input).await?);
    }
    let id = |i: usize| ids.get(i).map(i64::to_string).unwrap_or_default();
    // (from, to, protocol, ports, purpose, via)
    let flows_plan = [
        (0, 1, "tcp", "443", "住民異動に伴う課税情報の連携", ""),
        (5, 3, "tcp", "25", "外部からのメールを無害化して庁内へ", "4"),
        (
            2,
            5,
            "tcp",
            "443",
            "電子契約サービスへの接続（無害化を経ていない）",
            "",
        ),
    ];
    for (from, to, protocol, ports, purpose, via) in flows_plan {
        let input = flows::FlowInput {
            from_system: id(from),
            to_system: id(to),
            protocol: protocol.to_owned(),
            ports: ports.to_owned(),
            purpose: purpose.to_owned(),
            via_system: via.parse::<usize>().map(id).unwrap_or_default(),
        };
        flows::create(app, &editor, by, &input).await?;
    }
    Ok(())
}

/// The demo register: a 課's sheet as it would arrive, read through the same import as any other. Some rows
/// carry problems on purpose (特定個人情報 outside the My Number zone, confidentiality below the scheme's
/// minimum, an overdue review, no 管理者, no classification, no 所管課) so the checks have something to find.
pub const DEMO_ASSETS_CSV: &str = include_str!("demo_assets.csv");

async fn load_assets(app: &App, mid: i64, by: &AuditActor) -> AppResult<()> {
    let report = crate::assets::sheet::import(
        app,
        &crate::assets::AssetEditor::for_cli(mid),
        by,
        "demo_assets.csv",
        DEMO_ASSETS_CSV.as_bytes(),
        mamori_sheet::EncodingChoice::Auto,
        false,
        &|_, _| {},
    )
    .await?;
    if report.applied {
        Ok(())
    } else {
        Err(AppError::Internal(format!(
            "the demo register did not import: {:?}",
            report.problems
        )))
    }
}

/// Synthetic assets over the synthetic organisation's units, for load tests (`mamori seed --assets N`).
/// Names and places come from a small vocabulary so free-text search has realistic hits.
pub async fn synthetic_assets(app: &App, municipality_id: i64, count: usize) -> AppResult<()> {
    use crate::assets::AssetFields;
    use mamori_policy::{AssetKind, MyNumberWork, Zone};
    use mamori_store::entity::{org_unit, staff as staff_table};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    const SUBJECTS: &[&str] = &[
        "住民記録",
        "戸籍",
        "個人住民税",
        "固定資産税",
        "軽自動車税",
        "国民健康保険",
        "介護保険",
        "後期高齢者医療",
        "児童手当",
        "生活保護",
        "障害福祉",
        "保育",
        "学齢簿",
        "選挙人名簿",
        "文書管理",
        "財務会計",
        "人事給与",
        "庶務事務",
        "施設予約",
        "図書館",
        "水道料金",
        "下水道",
        "道路台帳",
        "都市計画",
        "建築確認",
        "農地台帳",
        "消防指令",
        "救急記録",
        "議会会議録",
        "広報",
        "統計調査",
        "契約",
        "公有財産",
        "防災",
        "健診",
    ];
    const THINGS: &[&str] = &[
        "データ",
        "台帳",
        "申請書綴り",
        "システム",
        "帳票",
        "バックアップ媒体",
        "設計書",
        "ネットワーク図",
        "名簿",
        "通知書控え",
    ];
    const PLACES: &[&str] = &[
        "本庁舎 サーバ室",
        "データセンター",
        "各課 書庫",
        "施錠キャビネット",
        "LGWAN-ASP",
        "ガバメントクラウド",
    ];
    let by = AuditActor {
        account_id: None,
        label: "seed".to_owned(),
    };
    let db = app.store().conn();
    let scheme = crate::assets::scheme(app, db, municipality_id).await?;
    let units: Vec<i64> = org_unit::Entity::find()
        .select_only()
        .column(org_unit::Column::Id)
        .filter(org_unit::Column::MunicipalityId.eq(municipality_id))
        .filter(org_unit::Column::Level.eq("division"))
        .into_tuple()
        .all(db)
        .await?;
    let people: Vec<(i64, i64)> = staff_table::Entity::find()
        .select_only()
        .columns([staff_table::Column::OrgUnitId, staff_table::Column::Id])
        .filter(staff_table::Column::MunicipalityId.eq(municipality_id))
        .into_tuple()
        .all(db)
        .await?;
    let mut manager_of: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
    for (unit, person) in people {
        manager_of.entry(unit).or_insert(person);
    }
    if units.is_empty() {
        return Err(AppError::Internal("no 課 to own the assets".to_owned()));
    }
    let c_levels: Vec<String> = scheme
        .levels(mamori_policy::Axis::Confidentiality)
        .iter()
        .map(|l| l.id.clone())
        .collect();
    let start = chrono::NaiveDate::from_ymd_opt(2026, 4, 1).unwrap_or_default();
    let mut tx = app.write().await?;
    let mut batch = Vec::with_capacity(5_000);
    for i in 0..count {
        let subject = SUBJECTS[i % SUBJECTS.len()];
        let thing = THINGS[(i / SUBJECTS.len()) % THINGS.len()];
        let kind = match thing {
            "システム" => AssetKind::System,
            "申請書綴り" | "通知書控え" => AssetKind::PaperInformation,
            "バックアップ媒体" => AssetKind::Media,
            "設計書" | "ネットワーク図" => AssetKind::SystemDocument,
            _ => AssetKind::Information,
        };
        let unit = units[i % units.len()];
        let personal = i % 3 != 0;
        let specific = i % 11 == 0;
        let sensitive = i % 13 == 0;
        batch.push(AssetFields {
            asset_no: format!("S-{i:06}"),
            name: format!(
                "{subject}{thing} {}",
                i / (SUBJECTS.len() * THINGS.len()) + 1
            ),
            kind,
            owner_unit_id: Some(unit),
            manager_staff_id: manager_of.get(&unit).copied(),
            confidentiality: Some(c_levels[i % c_levels.len()].clone()),
            integrity: Some(if i % 2 == 0 { "2" } else { "1" }.to_owned()),
            availability: Some(if i % 4 == 0 { "2" } else { "1" }.to_owned()),
            // 要配慮個人情報 and 特定個人情報 are 個人情報 too, as the register's own checks require.
            personal: personal || specific || sensitive,
            sensitive_personal: sensitive,
            specific_personal: specific,
            my_number_work: specific.then_some(MyNumberWork::Use),
            pif_ref: String::new(),
            pia_ref: String::new(),
            zone: Some(if specific {
                Zone::MyNumber
            } else if kind == AssetKind::PaperInformation {
                Zone::PaperOrNone
            } else {
                Zone::Lgwan
            }),
            storage: PLACES[i % PLACES.len()].to_owned(),
            media: String::new(),
            retention: format!("{}年", 1 + i % 10),
            disposal: String::new(),
            related_systems: format!("{subject}システム"),
            notes: String::new(),
            next_review: start.checked_add_days(chrono::Days::new((i % 730) as u64)),
            retired_on: None,
        });
        if batch.len() == 5_000 {
            crate::assets::insert_many(&mut tx, municipality_id, &scheme, &by, &batch).await?;
            batch.clear();
        }
    }
    crate::assets::insert_many(&mut tx, municipality_id, &scheme, &by, &batch).await?;
    tx.commit().await
}

async fn assign_roles(app: &App, cap: &OrgAdmin, by: &AuditActor, root: i64) -> AppResult<()> {
    let db = app.store().conn();
    let start = format!(
        "{}-04-01",
        crate::today().year() - if today().month() < 4 { 1 } else { 0 }
    );
    let unit = |code: &str| {
        let code = code.to_owned();
        async move {
            org::unit_by_code(db, cap.municipality_id, &code)
                .await
                .and_then(|u| u.ok_or(AppError::NotFound))
                .map(|u| u.id)
        }
    };
    // The first person of each division is its 課長 (情報セキュリティ管理者).
    let mut posts: Vec<(&str, i64, String, &str)> = vec![
        ("ciso", root, "00001".to_owned(), "primary"),
        ("chief_officer", root, "00012".to_owned(), "primary"),
        (
            "bureau_officer",
            unit("110000").await?,
            "00002".to_owned(),
            "primary",
        ),
        (
            "bureau_officer",
            unit("120000").await?,
            "00003".to_owned(),
            "primary",
        ),
        (
            "bureau_officer",
            unit("130000").await?,
            "00004".to_owned(),
            "primary",
        ),
        (
            "bureau_officer",
            unit("210000").await?,
            "00005".to_owned(),
            "primary",
        ),
        (
            "bureau_officer",
            unit("500000").await?,
            "00006".to_owned(),
            "primary",
        ),
        (
            "bureau_officer",
            unit("600000").await?,
            "00007".to_owned(),
            "primary",
        ),
        (
            "bureau_officer",
            unit("400000").await?,
            "00008".to_owned(),
            "primary",
        ),
        // 選管の事務局長は総務部長が兼務.
        (
            "bureau_officer",
            unit("300000").await?,
            "00002".to_owned(),
            "concurrent",
        ),
        ("csirt_member", root, "00013".to_owned(), "primary"),
        ("csirt_member", root, "00014".to_owned(), "primary"),
        ("csirt_member", root, "00016".to_owned(), "concurrent"),
        ("auditor", root, "00010".to_owned(), "concurrent"),
    ];
    let plan = staff_plan();
    let mut seen = std::collections::HashSet::new();
    for (no, unit_code, _) in &plan {
        let is_division = UNITS
            .iter()
            .any(|(c, _, _, level, _, _, _)| c == unit_code && *level == "division");
        if is_division
            && seen.insert(*unit_code)
            && *unit_code != "110200"
            && *unit_code != "700100"
        {
            posts.push((
                "division_manager",
                unit(unit_code).await?,
                no.clone(),
                "primary",
            ));
        }
    }
    // 情報政策課長 is the 統括 (00012); 文化ホール has no 課長 of the city: 情報政策課長 acts (事務取扱).
    posts.push((
        "division_manager",
        unit("110200").await?,
        "00012".to_owned(),
        "primary",
    ));
    posts.push((
        "division_manager",
        unit("700100").await?,
        "00012".to_owned(),
        "acting",
    ));
    for (role, scope, staff_no, kind) in posts {
        let form = AssignForm {
            role: role.to_owned(),
            scope_unit_id: scope.to_string(),
            staff: staff_no,
            kind: kind.to_owned(),
            valid_from: start.clone(),
            valid_to: String::new(),
            note: String::new(),
        };
        roles::assign(app, cap, by, &form).await?;
    }
    Ok(())
}

async fn create_logins(app: &App, mid: i64, by: &AuditActor) -> AppResult<()> {
    let cap = AccountAdmin {
        municipality_id: mid,
    };
    let expires = (today() + chrono::Duration::days(180)).to_string();
    // (login, staff number, system admin, outsider scope)
    let plan: [(&str, &str, bool, &str); 8] = [
        ("admin", "", true, ""),
        ("ciso", "00001", false, ""),
        ("toukatsu", "00012", false, ""),
        ("bucho", "00003", false, ""),
        ("kacho", "", false, ""),
        ("shokuin", "", false, ""),
        ("kansa", "00010", false, ""),
        ("itaku", "", false, "110200"),
    ];
    // 税務課長 and a 市民課 member, found by their posts rather than by fixed numbers.
    let zeimu = org::unit_by_code(app.store().conn(), mid, "120200")
        .await?
        .ok_or(AppError::NotFound)?;
    let shimin = org::unit_by_code(app.store().conn(), mid, "120100")
        .await?
        .ok_or(AppError::NotFound)?;
    let first_in = |unit: i64, skip: usize| {
        let plan = staff_plan();
        async move {
            let mut numbers = Vec::new();
            for (no, code, _) in plan {
                if org::unit_by_code(app.store().conn(), mid, code)
                    .await?
                    .is_some_and(|u| u.id == unit)
                {
                    numbers.push(no);
                }
            }
            numbers.into_iter().nth(skip).ok_or(AppError::NotFound)
        }
    };
    let kacho = first_in(zeimu.id, 0).await?;
    let shokuin = first_in(shimin.id, 1).await?;
    for (login, staff_no, admin, scope) in plan {
        let staff_no = match login {
            "kacho" => kacho.clone(),
            "shokuin" => shokuin.clone(),
            _ => staff_no.to_owned(),
        };
        let password = LOGINS
            .iter()
            .find(|l| l.login == login)
            .map(|l| l.password)
            .ok_or(AppError::NotFound)?;
        let form = AccountForm {
            login: login.to_owned(),
            display_name: if login == "admin" {
                "システム管理者".to_owned()
            } else if login == "itaku" {
                "委託先 保守担当".to_owned()
            } else {
                String::new()
            },
            staff: staff_no,
            system_admin: admin.then(|| "on".to_owned()),
            outsider: (!scope.is_empty()).then(|| "on".to_owned()),
            scope_units: scope.to_owned(),
            valid_from: String::new(),
            valid_until: if scope.is_empty() {
                String::new()
            } else {
                expires.clone()
            },
        };
        accounts::create(app, &cap, by, &form, Some(password)).await?;
    }
    Ok(())
}

/// Adds a synthetic organisation of `units` units (20 部局 under 市長部局, 課 below them) and `staff` staff to the
/// demo municipality, in one transaction, through the same validated use cases as the UI. For load tests
/// (`mamori seed`); every record is audited like any other.
pub async fn synthetic(
    app: &App,
    municipality_id: i64,
    units: usize,
    staff: usize,
) -> AppResult<()> {
    let by = AuditActor {
        account_id: None,
        label: "seed".to_owned(),
    };
    let cap = OrgAdmin { municipality_id };
    let mut tx = app.write().await?;
    let mayor = org::unit_by_code(tx.db(), municipality_id, "100000")
        .await?
        .ok_or(AppError::NotFound)?;
    let bureaus = 20.min(units.max(1));
    let mut bureau_ids = Vec::new();
    for b in 0..bureaus {
        let form = UnitForm {
            code: format!("B{b:03}"),
            name: format!("第{}部", b + 1),
            name_kana: format!("ダイ{}ブ", b + 1),
            level: "bureau".to_owned(),
            organ_kind: String::new(),
            parent_id: mayor.id.to_string(),
            in_scope: Some("on".to_owned()),
        };
        bureau_ids.push(
            org::create_unit_in(&mut tx, &cap, &by, &form, None)
                .await?
                .id,
        );
    }
    let mut divisions = Vec::new();
    for d in 0..units.saturating_sub(bureaus) {
        let form = UnitForm {
            code: format!("D{d:05}"),
            name: format!("{}課", ["総務", "企画", "管理", "調整", "業務"][d % 5]),
            name_kana: String::new(),
            level: "division".to_owned(),
            organ_kind: String::new(),
            parent_id: bureau_ids[d % bureau_ids.len()].to_string(),
            in_scope: Some("on".to_owned()),
        };
        divisions.push(
            org::create_unit_in(&mut tx, &cap, &by, &form, None)
                .await?
                .id,
        );
    }
    if divisions.is_empty() {
        divisions = bureau_ids;
    }
    let kinds = [
        "regular",
        "regular",
        "regular",
        "reappointed",
        "fiscal_year",
        "dispatched",
    ];
    for i in 0..staff {
        let (family, family_kana) = FAMILY[i % FAMILY.len()];
        let (given, given_kana) = GIVEN[(i / FAMILY.len()) % GIVEN.len()];
        let form = StaffForm {
            staff_no: format!("S{i:06}"),
            name: format!("{family} {given}"),
            name_kana: format!("{family_kana} {given_kana}"),
            email: format!("s{i:06}@city.sample.lg.jp"),
            kind: kinds[i % kinds.len()].to_owned(),
            org_unit_id: divisions[i % divisions.len()].to_string(),
            active: Some("on".to_owned()),
        };
        staff::create_in(&mut tx, &cap, &by, &form).await?;
    }
    tx.commit().await
}
