//! What the command-line tests share: a scratch folder, running the binary, a fresh PostgreSQL database.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use mamori_store::Store;
use mamori_store::sea_orm::ConnectionTrait;

pub fn scratch() -> PathBuf {
    let dir = std::env::temp_dir()
        .join("mamori-cli-tests")
        .join(hex::encode(rand::random::<[u8; 6]>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn mamori(
    data_dir: &Path,
    database: Option<&str>,
    args: &[&str],
    stdin: Option<&str>,
) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mamori"));
    cmd.args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("MAMORI_LOG", "error")
        .env_remove("MAMORI_DATABASE_URL");
    if let Some(db) = database {
        cmd.arg("--database").arg(db);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("mamori.sqlite3").display())
}

pub async fn sql(url: &str, statement: &str) {
    let store = Store::connect(url).await.unwrap();
    store.conn().execute_unprepared(statement).await.unwrap();
    store.close().await.unwrap();
}

pub fn pg_database() -> String {
    let admin = std::env::var("MAMORI_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("mamori_cli_{}", hex::encode(rand::random::<[u8; 5]>()));
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .unwrap_or(admin.clone());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = Store::connect(&admin)
            .await
            .expect("PostgreSQL must be reachable (MAMORI_TEST_POSTGRES)");
        store
            .conn()
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        store.close().await.unwrap();
    });
    format!("{base}/{name}")
}

/// How many assets an export holds (data rows of a UTF-8 CSV; 備考 may hold quoted line breaks).
pub fn exported_rows(dir: &Path, database: Option<&str>) -> usize {
    let out = dir.join("count.csv");
    let o = mamori(
        dir,
        database,
        &[
            "export",
            "assets",
            "--format",
            "csv",
            "--output",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    let csv = std::fs::read_to_string(&out).unwrap();
    csv.split("\r\n").filter(|l| l.contains(',')).count() - 1
}
