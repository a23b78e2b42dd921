//! Starts Mamori on a free port over a fresh database. Each backend's template — migrated, with the demo
//! municipality loaded — is built once per test run and copied per test (a file copy for SQLite,
//! `CREATE DATABASE … TEMPLATE` for PostgreSQL), so tests neither migrate nor seed hundreds of times.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use mamori_app::{App, Config};
use mamori_store::Store;
use mamori_store::audit::{AuditKey, Verdict};
use mamori_store::sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, QueryOrder};
use tokio::sync::OnceCell;

pub use mamori_store::Backend;

static SQLITE_TEMPLATE: OnceCell<PathBuf> = OnceCell::const_new();
static PG_TEMPLATE: OnceCell<(String, PathBuf)> = OnceCell::const_new();
static COUNTER: AtomicU64 = AtomicU64::new(0);

fn pg_admin_url() -> String {
    std::env::var("MAMORI_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn pg_url(db: &str) -> String {
    let admin = pg_admin_url();
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .unwrap_or(admin);
    format!("{base}/{db}")
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        hex::encode(rand::random::<[u8; 3]>())
    )
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join("mamori-tests").join(unique("t"));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name.to_string_lossy().ends_with("-wal") || name.to_string_lossy().ends_with("-shm") {
            continue;
        }
        std::fs::copy(entry.path(), to.join(name)).unwrap();
    }
}

async fn seed(url: &str, dir: &Path) {
    let store = Store::connect(url).await.expect("connect template");
    store.migrate().await.expect("migrate template");
    let key = AuditKey::load(&dir.join("audit.key"), true).unwrap();
    let app = App::new(store.clone(), key, Config::default()).unwrap();
    mamori_app::demo::load(&app).await.expect("demo");
    if store.backend() == Backend::Sqlite {
        store
            .conn()
            .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .unwrap();
    }
    store.close().await.unwrap();
}

async fn sqlite_template() -> PathBuf {
    SQLITE_TEMPLATE
        .get_or_init(|| async {
            let dir = scratch();
            seed(
                &format!("sqlite://{}?mode=rwc", dir.join("mamori.sqlite3").display()),
                &dir,
            )
            .await;
            dir
        })
        .await
        .clone()
}

async fn pg_template() -> (String, PathBuf) {
    PG_TEMPLATE
        .get_or_init(|| async {
            let name = unique("mamori_tpl");
            let admin = Store::connect(&pg_admin_url())
                .await
                .expect("PostgreSQL must be reachable for the tests (MAMORI_TEST_POSTGRES)");
            admin
                .conn()
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            let dir = scratch();
            seed(&pg_url(&name), &dir).await;
            admin.close().await.unwrap();
            (name, dir)
        })
        .await
        .clone()
}

pub struct TestServer {
    pub base: String,
    pub app: App,
    pub dir: PathBuf,
    units_at_start: u64,
}

/// Runs a test against a fresh server on SQLite, then on PostgreSQL.
pub async fn both(test: impl AsyncFn(TestServer)) {
    test(TestServer::start(Backend::Sqlite).await).await;
    test(TestServer::start(Backend::Postgres).await).await;
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        TestServer::start_with(backend, Config::default()).await
    }

    /// A server whose app has these settings (a relay's API, …).
    pub async fn start_with(backend: Backend, config: Config) -> TestServer {
        let dir = scratch();
        let url = match backend {
            Backend::Sqlite => {
                let template = sqlite_template().await;
                copy_dir(&template, &dir);
                format!("sqlite://{}?mode=rwc", dir.join("mamori.sqlite3").display())
            }
            Backend::Postgres => {
                let (template, key_dir) = pg_template().await;
                copy_dir(&key_dir, &dir);
                let name = unique("mamori_test");
                let admin = Store::connect(&pg_admin_url()).await.unwrap();
                admin
                    .conn()
                    .execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
                    .await
                    .unwrap();
                admin.close().await.unwrap();
                pg_url(&name)
            }
        };
        let store = Store::connect(&url).await.unwrap();
        let key = AuditKey::load(&dir.join("audit.key"), false).unwrap();
        let app = App::new(store, key, config).unwrap();
        let router = mamori_web::router(app.clone(), mamori_web::WebOptions::default()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let units_at_start = mamori_store::entity::org_unit::Entity::find()
            .count(app.store().conn())
            .await
            .unwrap();
        TestServer {
            base,
            app,
            dir,
            units_at_start,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A client without cookies or redirects.
    pub fn anon(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// A client that keeps cookies and shows redirects as they are.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .unwrap()
    }

    /// Signs a demo account in through the pages, enrolling a second factor when the account needs one.
    pub async fn signed_in(&self, login: &str) -> reqwest::Client {
        let c = self.client();
        let r = c
            .post(self.url("/login"))
            .form(&[("login", login), ("password", "samplecity-2026")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            reqwest::StatusCode::SEE_OTHER,
            "sign-in of {login}"
        );
        let r = c.get(self.url("/org")).send().await.unwrap();
        if r.headers()
            .get("location")
            .is_some_and(|l| l == "/mfa/enrol")
        {
            c.get(self.url("/mfa/enrol")).send().await.unwrap();
            let secret = pending_secret(self, login).await;
            let code = mamori_app::identity::totp::code_at(&secret, now()).unwrap();
            let r = c
                .post(self.url("/mfa/enrol"))
                .form(&[("totp", code.as_str())])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), reqwest::StatusCode::OK, "enrolment of {login}");
        }
        c
    }

    pub async fn token(&self, login: &str) -> String {
        let account = mamori_app::accounts::by_login(self.app.store().conn(), login)
            .await
            .unwrap()
            .unwrap();
        let actor = mamori_app::AuditActor::cli();
        let token =
            mamori_app::identity::token::create(&self.app, account.id, &actor, "test", None)
                .await
                .unwrap();
        // Accounts that need a second factor cannot use tokens before enrolling.
        if ["admin", "ciso", "toukatsu"].contains(&login) {
            self.signed_in(login).await;
        }
        token
    }

    pub async fn sql(&self, statement: &str) {
        self.app
            .store()
            .conn()
            .execute_unprepared(statement)
            .await
            .unwrap();
    }

    pub async fn audit_actions(&self) -> Vec<String> {
        use mamori_store::entity::audit_entry;
        audit_entry::Entity::find()
            .order_by_asc(audit_entry::Column::Seq)
            .all(self.app.store().conn())
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect()
    }

    /// Whether the audit trail holds an entry with this action code.
    pub async fn audited(&self, action: &str) -> bool {
        self.audit_actions().await.iter().any(|a| a == action)
    }

    pub async fn last_seq(&self) -> i64 {
        use mamori_store::entity::audit_entry;
        audit_entry::Entity::find()
            .order_by_desc(audit_entry::Column::Seq)
            .one(self.app.store().conn())
            .await
            .unwrap()
            .unwrap()
            .seq
    }

    pub async fn verify(&self) -> Verdict {
        let m = mamori_app::org::first_municipality(self.app.store().conn())
            .await
            .unwrap()
            .unwrap();
        mamori_store::audit::verify(self.app.store().conn(), self.app.audit_key(), m.id, &[])
            .await
            .unwrap()
    }

    pub async fn staff_ids(&self) -> Vec<i64> {
        mamori_store::entity::staff::Entity::find()
            .all(self.app.store().conn())
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect()
    }

    pub async fn unit_id(&self, code: &str) -> i64 {
        let m = mamori_app::org::first_municipality(self.app.store().conn())
            .await
            .unwrap()
            .unwrap();
        mamori_app::org::unit_by_code(self.app.store().conn(), m.id, code)
            .await
            .unwrap()
            .unwrap()
            .id
    }

    pub async fn unit_count(&self) -> u64 {
        mamori_store::entity::org_unit::Entity::find()
            .count(self.app.store().conn())
            .await
            .unwrap()
    }

    pub fn unit_count_before(&self) -> u64 {
        self.units_at_start
    }
}

pub async fn pending_secret(s: &TestServer, login: &str) -> String {
    let account = mamori_app::accounts::by_login(s.app.store().conn(), login)
        .await
        .unwrap()
        .unwrap();
    account.totp_secret.expect("a pending TOTP secret")
}
