//! The asset register from the command line, as a 課 hands over its sheet: a dry run that lists every problem
//! by row, column and value and writes nothing; an all-or-nothing import; a re-import that changes nothing;
//! export → import round trips in CSV (UTF-8, Shift_JIS) and xlsx, and a sheet saved by LibreOffice Calc.
//! On SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

mod common;
use common::*;

/// Rows of a 課's sheet written the ways people write them: levels as ３Ｂ, 機密性2, C3C; dates as 令和,
/// R-abbreviated and slashed; 所管課 by path, by code and by a unique name; a character outside JIS X 0208
/// (𠮷) and a line break in 備考.
const GOOD: &str = "資産番号,資産名,種別,所管課,所管課コード,管理者職員番号,機密性,完全性,可用性,特定個人情報,事務区分,三層区分,次回見直し日,備考\r\n\
T-001,𠮷田地区の戸籍附票,情報（電子）,市民部/市民課,,00026,３Ｂ,2,2,○,個人番号利用事務,マイナンバー利用事務系,令和9年3月31日,\"一行目\n二行目\"\r\n\
T-002,税務申告書控え,情報（紙）,,120200,00028,機密性2,完全性1,A1,,,紙/対象外,R9.3.31,\r\n\
T-003,人事評価記録,情報（電子）,人事課,,,C3C,I2,可用性1,,,LGWAN接続系,2027/03/31,\r\n";

/// The same kind of sheet with one problem per row (and a duplicate 資産番号).
const BAD: &str = "資産番号,資産名,種別,所管課,機密性,次回見直し日,個人情報,内線\r\n\
B-001,課税台帳,情報（電子）,市民課,4,2027/03/31,,1234\r\n\
B-002,選挙人名簿,情報（電子）,総務課,2,2027/03/31,,\r\n\
B-003,,情報（電子）,市民課,2,2027/03/31,,\r\n\
B-004,学齢簿,情報（電子）,存在しない課,2,2027/03/31,,\r\n\
B-005,施設台帳,情報（電子）,市民課,2,2027/13/45,,\r\n\
B-005,施設台帳（重複）,情報（電子）,市民課,2,2027/03/31,,\r\n\
B-006,健診記録,情報（電子）,市民課,2,2027/03/31,たぶん,\r\n";

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

fn shift_jis(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!unmappable, "the fixture must be encodable");
    bytes.into_owned()
}

fn register_round_trips(dir: &Path, database: Option<&str>) {
    let o = mamori(
        dir,
        database,
        &["seed", "--units", "30", "--staff", "60"],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    let demo = exported_rows(dir, database);
    assert_eq!(demo, 18, "the demo register has 18 assets");

    // A bad sheet in Shift_JIS: every problem named by row, column and value; nothing written; exit 1.
    let bad = write(dir, "bad.csv", &shift_jis(BAD));
    let o = mamori(
        dir,
        database,
        &["import", "assets", &bad, "--dry-run"],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    for expected in [
        "2行目 機密性 (E)「4」",      // a level the scheme lacks…
        "3C, 3B, 3A",                 // …and the levels it has
        "3行目 所管課 (D)「総務課」", // four units are called 総務課: the candidates are listed
        "110100",
        "130100",
        "4行目 資産名 (B)",                     // an empty required cell
        "5行目 所管課 (D)「存在しない課」",     // an unknown unit
        "6行目 次回見直し日 (F)「2027/13/45」", // not a date
        "7行目 資産番号 (A)「B-005」: 資産番号「B-005」は6行目にもあります", // a duplicate, naming the first
        "8行目 個人情報 (G)「たぶん」",                                      // not a yes or no
        "内線 (H)", // an unknown column is reported
    ] {
        assert!(out.contains(expected), "{expected:?} missing from:\n{out}");
    }
    let o = mamori(dir, database, &["import", "assets", &bad], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(
        exported_rows(dir, database),
        demo,
        "a refused import writes nothing"
    );

    // English messages on request.
    let o = mamori(
        dir,
        database,
        &["import", "assets", &bad, "--dry-run", "--lang", "en"],
        None,
    );
    assert!(text(&o).contains("line 2"), "{}", text(&o));

    // A good sheet: the dry run writes nothing, the import creates three, a re-import changes nothing.
    let good = write(dir, "good.csv", GOOD.as_bytes());
    let o = mamori(
        dir,
        database,
        &["import", "assets", &good, "--dry-run"],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("T-001"),
        "the dry run lists what it would create: {}",
        text(&o)
    );
    assert_eq!(exported_rows(dir, database), demo);
    let o = mamori(dir, database, &["import", "assets", &good], None);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(exported_rows(dir, database), demo + 3);
    let o = mamori(
        dir,
        database,
        &["import", "assets", &good, "--lang", "en"],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("0 created, 0 updated, 3 unchanged"),
        "{}",
        text(&o)
    );

    // Export → import changes nothing: CSV in UTF-8, xlsx; and the file keeps 𠮷 and the line break.
    for (format, name) in [("csv", "all.csv"), ("xlsx", "all.xlsx")] {
        let file = dir.join(name);
        let o = mamori(
            dir,
            database,
            &[
                "export",
                "assets",
                "--format",
                format,
                "--output",
                file.to_str().unwrap(),
            ],
            None,
        );
        assert!(o.status.success(), "{}", text(&o));
        if format == "csv" {
            let csv = std::fs::read_to_string(&file).unwrap();
            assert!(
                csv.starts_with('\u{feff}'),
                "UTF-8 CSV carries a BOM for Excel"
            );
            assert!(csv.contains("𠮷田地区の戸籍附票") && csv.contains("\"一行目\n二行目\""));
        }
        let o = mamori(
            dir,
            database,
            &["import", "assets", file.to_str().unwrap(), "--lang", "en"],
            None,
        );
        assert!(o.status.success(), "{}", text(&o));
        let expected = format!("0 created, 0 updated, {} unchanged", demo + 3);
        assert!(text(&o).contains(&expected), "{format}: {}", text(&o));
    }

    // Shift_JIS cannot hold 𠮷: the export is refused, naming it, and no file is left behind.
    let sjis = dir.join("all-sjis.csv");
    let o = mamori(
        dir,
        database,
        &[
            "export",
            "assets",
            "--format",
            "csv",
            "--encoding",
            "shift_jis",
            "--output",
            sjis.to_str().unwrap(),
        ],
        None,
    );
    assert!(!o.status.success());
    assert!(text(&o).contains('𠮷'), "{}", text(&o));
    assert!(!sjis.exists());

    // Without 𠮷 the Shift_JIS export round-trips too, 外字 included: a name given in Shift_JIS with the
    // user-defined character F040 (U+E000 once read) goes back out as the same two bytes.
    let mut sheet = shift_jis("資産番号,資産名\r\nT-001,吉田地区の戸籍附票");
    sheet.extend_from_slice(&[0xF0, 0x40]);
    sheet.extend_from_slice(b"\r\n");
    let renamed = write(dir, "rename.csv", &sheet);
    let o = mamori(
        dir,
        database,
        &["import", "assets", &renamed, "--lang", "en"],
        None,
    );
    assert!(text(&o).contains("0 created, 1 updated"), "{}", text(&o));
    let o = mamori(
        dir,
        database,
        &[
            "export",
            "assets",
            "--format",
            "csv",
            "--encoding",
            "shift_jis",
            "--output",
            sjis.to_str().unwrap(),
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    let exported = std::fs::read(&sjis).unwrap();
    let mut gaiji = shift_jis("吉田地区の戸籍附票");
    gaiji.extend_from_slice(&[0xF0, 0x40]);
    assert!(
        exported.windows(gaiji.len()).any(|w| w == gaiji.as_slice()),
        "the 外字 goes back to F040"
    );
    let o = mamori(
        dir,
        database,
        &["import", "assets", sjis.to_str().unwrap(), "--lang", "en"],
        None,
    );
    assert!(
        text(&o).contains(&format!("{} unchanged", demo + 3)),
        "{}",
        text(&o)
    );

    // A sheet saved by LibreOffice Calc (not written by us) imports, and again changes nothing.
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/libreoffice-assets.xlsx");
    let o = mamori(
        dir,
        database,
        &[
            "import",
            "assets",
            fixture.to_str().unwrap(),
            "--lang",
            "en",
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("3 created"), "{}", text(&o));
    let o = mamori(
        dir,
        database,
        &[
            "import",
            "assets",
            fixture.to_str().unwrap(),
            "--lang",
            "en",
        ],
        None,
    );
    assert!(
        text(&o).contains("0 created, 0 updated, 3 unchanged"),
        "{}",
        text(&o)
    );

    // Every change above is in the audit chain, which still verifies.
    let o = mamori(dir, database, &["audit", "verify"], None);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn a_register_sheet_round_trips_on_sqlite() {
    let dir = scratch();
    register_round_trips(&dir, None);
}

#[test]
fn a_register_sheet_round_trips_on_postgres() {
    let dir = scratch();
    let url = pg_database();
    register_round_trips(&dir, Some(&url));
}
