//! `mamori`: serve, migrate, administer accounts, verify the audit chain, back up and restore.

use std::io::Read;
use std::path::{Path, PathBuf};

mod check;
mod demo_relay;
mod netcheck;
mod policy;
mod relay;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use mamori_app::access::AccountAdmin;
use mamori_app::{App, Config, accounts, audit, demo, org};
use mamori_store::Store;
use mamori_store::audit::{AuditKey, Checkpoint, Verdict};

#[derive(Parser)]
#[command(
    name = "mamori",
    version,
    about = "守り: the information security policy of a Japanese municipality, as working software"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Db {
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB. Default: SQLite in the data directory.
    #[arg(long, env = "MAMORI_DATABASE_URL", global = true)]
    database: Option<String>,
    /// Data directory: the SQLite file, the audit key and seals.
    #[arg(
        long,
        env = "MAMORI_DATA_DIR",
        default_value = "mamori-data",
        global = true
    )]
    data_dir: PathBuf,
    /// The audit key file (default: DATA_DIR/audit.key). Keep it where the database's administrators cannot write.
    #[arg(long, env = "MAMORI_AUDIT_KEY", global = true)]
    audit_key: Option<PathBuf>,
}

impl Db {
    fn url(&self) -> String {
        self.database.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("mamori.sqlite3").display()
            )
        })
    }

    fn key_path(&self) -> PathBuf {
        self.audit_key
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit.key"))
    }

    async fn open(&self) -> anyhow::Result<Store> {
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("cannot create {}", self.data_dir.display()))?;
        let url = self.url();
        let store = Store::connect(&url)
            .await
            .with_context(|| format!("cannot open database {}", mamori_store::redact_url(&url)))?;
        Ok(store)
    }

    /// The app over a migrated database. The audit key is created only while the chain is empty: a missing
    /// key for an existing chain is an error, never silently replaced.
    async fn app(&self) -> anyhow::Result<App> {
        self.app_with(None).await
    }

    /// The app, with the 無害化 relay's API when one is given.
    async fn app_with(
        &self,
        relay: Option<mamori_app::quarantine::relay::RelayClient>,
    ) -> anyhow::Result<App> {
        let store = self.open().await?;
        store.migrate().await?;
        if store.backend() == mamori_store::Backend::Sqlite {
            store.optimize().await?;
        }
        let has_chain = org::first_municipality(store.conn()).await?.is_some();
        let key = AuditKey::load(&self.key_path(), !has_chain).with_context(|| {
            format!(
                "audit key {} (it seals the existing audit chain; restore it from backup)",
                self.key_path().display()
            )
        })?;
        let config = Config {
            catalog_dir: Some(self.data_dir.join("catalog")),
            relay,
            ..Config::default()
        };
        Ok(App::new(store, key, config)?)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server.
    Serve {
        #[command(flatten)]
        db: Db,
        #[arg(long, env = "MAMORI_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Load the demo municipality (サンプル市) if the database is empty, and print its sign-ins.
        #[arg(long)]
        demo: bool,
        /// Mark cookies Secure (set when Mamori is served over TLS by a reverse proxy).
        #[arg(long, env = "MAMORI_SECURE_COOKIES")]
        secure_cookies: bool,
        /// The 無害化 relay's API (`http://HOST:PORT`, the relay's --api-listen): the quarantine page and the
        /// relay's health. Needs --relay-token-file.
        #[arg(long, env = "MAMORI_RELAY_API", requires = "relay_token_file")]
        relay_api: Option<String>,
        /// File holding the relay API's bearer token (the relay's --api-token-file; readable by its owner only).
        #[arg(long, env = "MAMORI_RELAY_TOKEN_FILE", requires = "relay_api")]
        relay_token_file: Option<PathBuf>,
        /// For an https:// relay API: the relay's certificate or the CA that issued it (PEM). Only these are
        /// trusted, never the system's store.
        #[arg(long, env = "MAMORI_RELAY_CA_FILE", requires = "relay_api")]
        relay_ca_file: Option<PathBuf>,
    },
    /// Apply database migrations.
    Migrate {
        #[command(flatten)]
        db: Db,
    },
    /// 6(7) 遵守状況の確認: run every check and print the findings (at or above --min-severity). Exit 1 when
    /// any of them is open, 0 when none is (findings accepted under a 例外措置 do not count), 2 on bad input.
    Check {
        #[command(flatten)]
        db: Db,
        /// text or json.
        #[arg(long, default_value = "text")]
        format: String,
        /// info, low, medium, high or critical.
        #[arg(long, default_value = "info")]
        min_severity: String,
        /// Also keep today's counts for the trend chart (run it daily from cron when `mamori serve` is not
        /// running; the server records them itself).
        #[arg(long)]
        record: bool,
        /// Language of the messages: ja or en.
        #[arg(long, env = "MAMORI_LANG", default_value = "ja")]
        lang: String,
        /// Municipality code (when the database holds more than one).
        #[arg(long)]
        municipality: Option<String>,
    },
    /// 6(3) 通信経路の分割: prove from the firewall configurations that the zones are separated, or print the
    /// packets that cross. Exit 0 when every zone pair is isolated apart from the allowed services, 1 on a
    /// violation, 2 on bad input.
    Netcheck {
        /// The zone map (TOML): zones, segments, devices with their configuration files, allowed services.
        #[arg(long)]
        zones: std::path::PathBuf,
        /// Configuration files to use instead of those the map names: PATH (matched by file name) or
        /// DEVICE=PATH.
        configs: Vec<String>,
        /// text or json.
        #[arg(long, default_value = "text")]
        format: String,
        /// Language of the text: ja or en.
        #[arg(long, env = "MAMORI_LANG", default_value = "ja")]
        lang: String,
    },
    /// The city's basic-policy text, version by version (8 見直し).
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Load the demo municipality and a synthetic organisation for load tests (`bench/`).
    Seed {
        #[command(flatten)]
        db: Db,
        /// Org units to add (20 部局, the rest 課).
        #[arg(long, default_value_t = 1000)]
        units: usize,
        /// Staff to add.
        #[arg(long, default_value_t = 10000)]
        staff: usize,
        /// Information assets to add, spread over the units.
        #[arg(long, default_value_t = 0)]
        assets: usize,
    },
    /// Read a register sheet (xlsx or CSV) into Mamori.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Write a register as a sheet.
    Export {
        #[command(subcommand)]
        what: ExportCommand,
    },
    /// Write a consistent copy of the running SQLite database.
    Backup {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        output: PathBuf,
    },
    /// 無害化通信: run the sanitising SMTP relay (sanitiser segment, between the Internet-zone MTA and the LGWAN
    /// mail server); `relay status` and `relay export ID` inspect its spool.
    Relay(Box<relay::Args>),
    /// Put a backup in place of the SQLite database (stop the server first).
    Restore {
        #[command(flatten)]
        db: Db,
        /// The backup file.
        input: PathBuf,
        /// Replace an existing database.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Read a basic-policy text (UTF-8, UTF-16 with BOM or Shift_JIS; text copied out of the PDF will do) and
    /// keep it as a new version. Exit 1, storing nothing, when it cannot be read.
    Import {
        #[command(flatten)]
        db: Db,
        file: PathBuf,
        /// Language of the messages: ja or en.
        #[arg(long, env = "MAMORI_LANG", default_value = "ja")]
        lang: String,
        /// Municipality code (when the database holds more than one).
        #[arg(long)]
        municipality: Option<String>,
    },
    /// List the imported versions, latest 改正 first.
    Versions {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        municipality: Option<String>,
    },
    /// Show what changed between two versions (ids from `versions`), clause by clause.
    Diff {
        #[command(flatten)]
        db: Db,
        from: i64,
        to: i64,
        #[arg(long)]
        municipality: Option<String>,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// 情報資産管理台帳: upsert by 資産番号; all rows or none. Exit 1 when any row is refused.
    Assets {
        #[command(flatten)]
        db: Db,
        /// The sheet: .xlsx, or .csv in UTF-8 (with or without BOM) or Shift_JIS.
        file: PathBuf,
        /// Check every row and say what would change, without writing anything.
        #[arg(long)]
        dry_run: bool,
        /// CSV encoding: auto, utf-8 or shift_jis.
        #[arg(long, default_value = "auto")]
        encoding: String,
        /// Language of the messages: ja or en.
        #[arg(long, env = "MAMORI_LANG", default_value = "ja")]
        lang: String,
        /// Municipality code (when the database holds more than one).
        #[arg(long)]
        municipality: Option<String>,
    },
}

#[derive(Subcommand)]
enum ExportCommand {
    /// 情報資産管理台帳, every asset in force (with --retired, retired ones too).
    Assets {
        #[command(flatten)]
        db: Db,
        /// xlsx or csv.
        #[arg(long, default_value = "xlsx")]
        format: String,
        /// CSV encoding: utf-8 (with BOM, as Excel expects) or shift_jis.
        #[arg(long)]
        encoding: Option<String>,
        #[arg(long)]
        output: PathBuf,
        /// Include retired assets.
        #[arg(long)]
        retired: bool,
        /// Language of the messages: ja or en.
        #[arg(long, env = "MAMORI_LANG", default_value = "ja")]
        lang: String,
        /// Municipality code (when the database holds more than one).
        #[arg(long)]
        municipality: Option<String>,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an account; the password is read from standard input.
    Create {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        login: String,
        #[arg(long)]
        password_stdin: bool,
        /// `system-admin` for an administrator; without it, an ordinary account.
        #[arg(long)]
        role: Option<String>,
        /// 職員番号 of the staff member the account belongs to.
        #[arg(long)]
        staff: Option<String>,
        /// Municipality code (when the database holds more than one).
        #[arg(long)]
        municipality: Option<String>,
    },
    /// Print a new personal API token for an account.
    Token {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        login: String,
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify every chain; exit 1 naming the first bad entry.
    Verify {
        #[command(flatten)]
        db: Db,
        /// Checkpoints exported earlier (JSON Lines), to check against.
        #[arg(long)]
        checkpoint: Vec<PathBuf>,
    },
    /// Print signed checkpoints of every chain's head (JSON Lines) to keep outside the server.
    Checkpoint {
        #[command(flatten)]
        db: Db,
    },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MAMORI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = std::env::var("MAMORI_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// mimalloc instead of glibc's malloc: SQLite's worker threads allocate the rows that tokio's threads free,
/// and glibc's arenas spent a fifth of the asset list's CPU on that (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    init_logging();
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mamori: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    match cli.command {
        Command::Serve {
            db,
            listen,
            demo: with_demo,
            secure_cookies,
            relay_api,
            relay_token_file,
            relay_ca_file,
        } => {
            let relay = match (relay_api, relay_token_file) {
                (Some(api), Some(file)) => Some(
                    mamori_app::quarantine::relay::RelayClient::from_files(
                        &api,
                        &file,
                        relay_ca_file.as_deref(),
                    )
                    .map_err(anyhow::Error::msg)?,
                ),
                _ => None,
            };
            serve(db, &listen, with_demo, secure_cookies, relay).await?
        }
        Command::Migrate { db } => {
            let store = db.open().await?;
            store.migrate().await?;
            println!("migrated: {}", store.applied_migrations().await?.join(", "));
        }
        Command::Admin { command } => admin(command).await?,
        Command::Policy {
            command:
                PolicyCommand::Import {
                    db,
                    file,
                    lang,
                    municipality,
                },
        } => {
            let app = db.app().await?;
            let mid = municipality_id(&app, municipality.as_deref()).await?;
            return policy::import(&app, mid, &file, &lang).await;
        }
        Command::Policy {
            command: PolicyCommand::Versions { db, municipality },
        } => {
            let app = db.app().await?;
            let mid = municipality_id(&app, municipality.as_deref()).await?;
            policy::versions(&app, mid).await?;
        }
        Command::Policy {
            command:
                PolicyCommand::Diff {
                    db,
                    from,
                    to,
                    municipality,
                },
        } => {
            let app = db.app().await?;
            let mid = municipality_id(&app, municipality.as_deref()).await?;
            policy::diff(&app, mid, from, to).await?;
        }
        Command::Netcheck {
            zones,
            configs,
            format,
            lang,
        } => {
            return netcheck::run(&netcheck::Options {
                zones,
                configs,
                format,
                lang,
            });
        }
        Command::Check {
            db,
            format,
            min_severity,
            record,
            lang,
            municipality,
        } => {
            let app = db.app().await?;
            let mid = municipality_id(&app, municipality.as_deref()).await?;
            let options = check::CheckOptions {
                format,
                min_severity,
                record,
                lang,
            };
            return check::run(&app, mid, &options).await;
        }
        Command::Audit {
            command: AuditCommand::Verify { db, checkpoint },
        } => return verify(db, &checkpoint).await,
        Command::Audit {
            command: AuditCommand::Checkpoint { db },
        } => {
            let app = db.app().await?;
            for c in audit::checkpoints(&app).await? {
                println!("{}", serde_json::to_string(&c)?);
            }
        }
        Command::Import {
            what:
                ImportCommand::Assets {
                    db,
                    file,
                    dry_run,
                    encoding,
                    lang,
                    municipality,
                },
        } => {
            return import_assets(
                &db,
                &file,
                dry_run,
                &encoding,
                &lang,
                municipality.as_deref(),
            )
            .await;
        }
        Command::Export {
            what:
                ExportCommand::Assets {
                    db,
                    format,
                    encoding,
                    output,
                    retired,
                    lang,
                    municipality,
                },
        } => {
            let options = ExportOptions {
                format,
                encoding,
                retired,
                lang,
            };
            return export_assets(&db, &options, &output, municipality.as_deref()).await;
        }
        Command::Seed {
            db,
            units,
            staff,
            assets,
        } => {
            let app = db.app().await?;
            if org::first_municipality(app.store().conn()).await?.is_some() {
                bail!("the database is not empty: seed a fresh one");
            }
            let started = std::time::Instant::now();
            let mid = demo::load(&app).await?;
            demo::synthetic(&app, mid, units, staff)
                .await
                .map_err(describe)?;
            if assets > 0 {
                demo::synthetic_assets(&app, mid, assets)
                    .await
                    .map_err(describe)?;
            }
            // A bulk load leaves the planner without statistics until autovacuum (or SQLite's next optimize).
            app.store().optimize().await?;
            println!(
                "seeded {units} units, {staff} staff and {assets} assets in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        Command::Backup { db, output } => {
            if output.exists() {
                bail!("{} exists; choose a new file", output.display());
            }
            let store = db.open().await?;
            store.backup_sqlite(&output).await?;
            println!("backup written to {}", output.display());
        }
        Command::Restore { db, input, force } => restore(&db, &input, force).await?,
        Command::Relay(args) => return relay::run(*args).await,
    }
    Ok(std::process::ExitCode::SUCCESS)
}

async fn serve(
    db: Db,
    listen: &str,
    with_demo: bool,
    secure_cookies: bool,
    relay: Option<mamori_app::quarantine::relay::RelayClient>,
) -> anyhow::Result<()> {
    // The demo brings its own relay unless one is given, so the quarantine pages have mail to show.
    let (demo_relay, relay) = match relay {
        None if with_demo => {
            let (demo_relay, client) = demo_relay::start(&db.data_dir).await?;
            (Some(demo_relay), Some(client))
        }
        given => (None, given),
    };
    let app = db.app_with(relay.clone()).await?;
    if with_demo && org::first_municipality(app.store().conn()).await?.is_none() {
        demo::load(&app).await?;
        println!("Loaded the demo municipality サンプル市. Sign in with:");
        for l in demo::LOGINS {
            println!("  {:<10} {:<20} {}", l.login, l.password, l.what);
        }
    }
    if let (Some(demo_relay), Some(client)) = (&demo_relay, &relay) {
        demo_relay::seed(&app, demo_relay, client).await?;
        println!(
            "The demo's sanitising relay takes SMTP on {} (mail for @city.sample.lg.jp).",
            demo_relay.local_addr()
        );
    }
    let router = mamori_web::router(app.clone(), mamori_web::WebOptions { secure_cookies })
        .map_err(anyhow::Error::msg)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    println!("Mamori is running at http://{}/", listener.local_addr()?);
    let scheduler = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = mamori_app::changeset::apply_due(&scheduler).await {
                tracing::warn!("scheduled change sets: {e}");
            }
            if let Err(e) = mamori_app::compliance::record_due(&scheduler).await {
                tracing::warn!("compliance: {e}");
            }
            // Keep SQLite's planner statistics fresh (cheap when nothing changed); PostgreSQL has autovacuum.
            if scheduler.store().backend() == mamori_store::Backend::Sqlite
                && let Err(e) = scheduler.store().optimize().await
            {
                tracing::warn!("optimize: {e}");
            }
        }
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    if let Some(demo_relay) = demo_relay {
        demo_relay.shutdown().await;
    }
    Ok(())
}

async fn admin(command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::Create {
            db,
            login,
            password_stdin,
            role,
            staff,
            municipality,
        } => {
            let app = db.app().await?;
            let mid = municipality_id(&app, municipality.as_deref()).await?;
            let system_admin = match role.as_deref() {
                None => false,
                Some("system-admin") => true,
                Some(other) => {
                    bail!("unknown role {other:?}: the only role given here is system-admin")
                }
            };
            let password = if password_stdin {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text)?;
                Some(text.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            let form = accounts::AccountForm {
                login,
                staff: staff.unwrap_or_default(),
                system_admin: system_admin.then(|| "on".to_owned()),
                ..Default::default()
            };
            let created = accounts::create(
                &app,
                &AccountAdmin::for_cli(mid),
                &mamori_app::AuditActor::cli(),
                &form,
                password.as_deref(),
            )
            .await
            .map_err(describe)?;
            println!(
                "created account {} (id {})",
                created.login, created.account_id
            );
            if password.is_none() {
                println!(
                    "initial password (must be changed at first sign-in): {}",
                    created.initial_password
                );
            }
        }
        AdminCommand::Token { db, login, name } => {
            let app = db.app().await?;
            let account = accounts::by_login(app.store().conn(), &login)
                .await?
                .with_context(|| format!("no account {login:?}"))?;
            let token = mamori_app::identity::token::create(
                &app,
                account.id,
                &mamori_app::AuditActor::cli(),
                &name,
                None,
            )
            .await
            .map_err(describe)?;
            println!("{token}");
        }
    }
    Ok(())
}

/// `mamori import assets`: prints every problem (row, column, value, reason) and what changes.
async fn import_assets(
    db: &Db,
    file: &Path,
    dry_run: bool,
    encoding: &str,
    lang: &str,
    municipality: Option<&str>,
) -> anyhow::Result<std::process::ExitCode> {
    use mamori_app::assets::{AssetEditor, sheet};
    use mamori_sheet::EncodingChoice;
    let encoding = match encoding
        .to_ascii_lowercase()
        .replace(['-', '_'], "")
        .as_str()
    {
        "auto" => EncodingChoice::Auto,
        "utf8" => EncodingChoice::Utf8,
        "shiftjis" | "sjis" | "cp932" => EncodingChoice::ShiftJis,
        other => bail!("unknown encoding {other:?}: use auto, utf-8 or shift_jis"),
    };
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let app = db.app().await?;
    let mid = municipality_id(&app, municipality).await?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let result = sheet::import(
        &app,
        &AssetEditor::for_cli(mid),
        &mamori_app::AuditActor::cli(),
        &name,
        &bytes,
        encoding,
        dry_run,
        &progress,
    )
    .await;
    bar.finish_and_clear();
    let say = |key: &str, args: &[(&str, String)]| mamori_web::i18n::message(lang, key, args);
    let report = match result {
        Ok(r) => r,
        Err(mamori_app::AppError::Invalid(errors)) => {
            for e in &errors {
                eprintln!("{}: {}", file.display(), say(e.key, &e.args));
            }
            return Ok(std::process::ExitCode::from(1));
        }
        Err(e) => return Err(anyhow::Error::new(e)),
    };
    for column in &report.unknown_columns {
        eprintln!(
            "{}",
            say("import-unknown-column", &[("column", column.clone())])
        );
    }
    for p in &report.problems {
        eprintln!(
            "{}",
            say(
                "import-problem-line",
                &[
                    ("line", p.line.to_string()),
                    ("column", p.column.clone()),
                    ("value", p.value.clone()),
                    ("reason", say(p.key, &p.args)),
                ]
            )
        );
    }
    let counts = [
        ("rows", report.rows.to_string()),
        ("created", report.created.to_string()),
        ("updated", report.updated.to_string()),
        ("unchanged", report.unchanged.to_string()),
        ("problems", report.problems.len().to_string()),
    ];
    let summary_key = if !report.problems.is_empty() {
        "import-summary-refused"
    } else if report.applied {
        "import-summary-applied"
    } else {
        "import-summary-dry-run"
    };
    println!("{}", say(summary_key, &counts));
    if dry_run {
        for c in &report.changes {
            match &c.action {
                sheet::RowAction::Create => println!("  {} {} +", c.line, c.asset_no),
                sheet::RowAction::Update { fields } => {
                    println!("  {} {} ~ {}", c.line, c.asset_no, fields.join(", "))
                }
            }
        }
        let hidden = report.changes_not_listed();
        if hidden > 0 {
            println!(
                "  {}",
                say("import-changes-more", &[("count", hidden.to_string())])
            );
        }
    }
    Ok(if report.problems.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    })
}

struct ExportOptions {
    format: String,
    encoding: Option<String>,
    retired: bool,
    lang: String,
}

/// `mamori export assets`: the register as xlsx or CSV; the file is written only when complete. Exit 1 when
/// the register cannot be written as asked (a character Shift_JIS lacks).
async fn export_assets(
    db: &Db,
    options: &ExportOptions,
    output: &Path,
    municipality: Option<&str>,
) -> anyhow::Result<std::process::ExitCode> {
    use mamori_app::assets::{AssetQuery, sheet};
    let Some(format) = sheet::ExportFormat::parse(&options.format, options.encoding.as_deref())
    else {
        bail!(
            "unknown format {:?} or encoding {:?}: use --format xlsx|csv and --encoding utf-8|shift_jis",
            options.format,
            options.encoding
        );
    };
    let retired = options.retired;
    let app = db.app().await?;
    let mid = municipality_id(&app, municipality).await?;
    let actor = cli_actor(mid);
    let query = AssetQuery {
        retired: retired.then(|| "on".to_owned()),
        ..Default::default()
    };
    // Written straight into FILE.partial and renamed once complete; removed on any failure, so FILE is
    // either the whole register or untouched.
    let tmp = output.with_extension("partial");
    let mut file =
        std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    let exported = sheet::export(
        &app,
        &actor,
        &mamori_app::AuditActor::cli(),
        &query,
        format,
        &mut file,
    )
    .await;
    let written = match exported {
        Ok(rows) => file
            .sync_all()
            .and_then(|()| std::fs::rename(&tmp, output))
            .map(|()| rows)
            .with_context(|| format!("cannot write {}", output.display())),
        Err(e) => Err(anyhow::Error::new(e)),
    };
    drop(file);
    let rows = match written {
        Ok(rows) => rows,
        Err(e) => {
            // Best effort: the error that matters is `e`.
            let _ = std::fs::remove_file(&tmp);
            if let Some(mamori_app::AppError::Invalid(errors)) = e.downcast_ref() {
                for e in errors {
                    eprintln!(
                        "{}",
                        mamori_web::i18n::message(&options.lang, e.key, &e.args)
                    );
                }
                return Ok(std::process::ExitCode::from(1));
            }
            return Err(e);
        }
    };
    println!("{rows} assets written to {}", output.display());
    Ok(std::process::ExitCode::SUCCESS)
}

/// The command line reads with the server's own authority (whoever runs it can read the database anyway).
fn cli_actor(municipality_id: i64) -> mamori_app::Actor {
    mamori_app::Actor {
        account_id: 0,
        municipality_id,
        login: mamori_app::AuditActor::cli().label,
        display_name: "command line".to_owned(),
        staff_id: None,
        system_admin: true,
        outsider: false,
        roles: Vec::new(),
        outsider_scope: Vec::new(),
        must_change_password: false,
        mfa_enrolled: true,
    }
}

fn describe(e: mamori_app::AppError) -> anyhow::Error {
    match e {
        mamori_app::AppError::Invalid(errors) => {
            anyhow::anyhow!(
                errors
                    .iter()
                    .map(|e| format!("{}: {} {:?}", e.field, e.key, e.args))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        }
        other => anyhow::Error::new(other),
    }
}

async fn municipality_id(app: &App, code: Option<&str>) -> anyhow::Result<i64> {
    use mamori_store::entity::municipality;
    use mamori_store::sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let db = app.store().conn();
    if let Some(code) = code {
        let m = municipality::Entity::find()
            .filter(municipality::Column::Code.eq(code))
            .one(db)
            .await?;
        return m
            .map(|m| m.id)
            .with_context(|| format!("no municipality with code {code:?}"));
    }
    match org::first_municipality(db).await? {
        Some(m) => Ok(m.id),
        None => Ok(org::create_municipality(
            app,
            "000000",
            "自治体",
            "Municipality",
            &mamori_app::AuditActor::cli(),
        )
        .await?),
    }
}

async fn verify(db: Db, checkpoint_files: &[PathBuf]) -> anyhow::Result<std::process::ExitCode> {
    let app = db.app().await?;
    let mut checkpoints: Vec<Checkpoint> = Vec::new();
    for file in checkpoint_files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            checkpoints.push(
                serde_json::from_str(line)
                    .with_context(|| format!("{} line {}", file.display(), i + 1))?,
            );
        }
    }
    let mut ok = true;
    for (m, verdict) in audit::verify_all(&app, &checkpoints).await? {
        match verdict {
            Verdict::Intact { entries } => {
                println!("{} ({}): intact, {entries} entries", m.name, m.code)
            }
            Verdict::Broken { seq, reason } => {
                ok = false;
                println!("{} ({}): BROKEN at entry {seq}: {reason}", m.name, m.code);
            }
        }
    }
    Ok(if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    })
}

async fn restore(db: &Db, input: &Path, force: bool) -> anyhow::Result<()> {
    if db
        .database
        .as_deref()
        .is_some_and(|u| !u.starts_with("sqlite:"))
    {
        bail!("restore works on SQLite; for PostgreSQL use pg_restore (see README)");
    }
    let target = db.data_dir.join("mamori.sqlite3");
    if target.exists() && !force {
        bail!(
            "{} exists; add --force to replace it (stop the server first)",
            target.display()
        );
    }
    // The copy is checked, then moved into place: what is verified is exactly what is installed.
    std::fs::create_dir_all(&db.data_dir)?;
    let tmp = db.data_dir.join("mamori.sqlite3.restoring");
    std::fs::copy(input, &tmp).with_context(|| format!("cannot read {}", input.display()))?;
    if let Err(e) = check_backup(db, &tmp, input).await {
        remove_sqlite(&tmp)?;
        return Err(e);
    }
    remove_sqlite(&target)?;
    std::fs::rename(&tmp, &target)?;
    let app = db.app().await?;
    audit::record_restore(&app, &input.display().to_string()).await?;
    println!("restored {} to {}", input.display(), target.display());
    Ok(())
}

/// A backup is put back only if it is a Mamori database whose audit chains verify under this installation's key.
async fn check_backup(db: &Db, copy: &Path, input: &Path) -> anyhow::Result<()> {
    let probe = Store::connect(&format!("sqlite://{}?mode=rw", copy.display()))
        .await
        .context("the backup does not open as SQLite")?;
    if probe
        .applied_migrations()
        .await
        .map(|m| m.is_empty())
        .unwrap_or(true)
    {
        bail!("{} is not a Mamori database", input.display());
    }
    let key = AuditKey::load(&db.key_path(), false)
        .context("the audit key is needed to check the backup")?;
    let no_seals = std::env::temp_dir().join(format!("mamori-restore-{}", std::process::id()));
    std::fs::create_dir_all(&no_seals)?;
    let key = key.with_seal_dir(&no_seals);
    use mamori_store::entity::municipality;
    use mamori_store::sea_orm::EntityTrait;
    for m in municipality::Entity::find().all(probe.conn()).await? {
        if let Verdict::Broken { seq, reason } =
            mamori_store::audit::verify(probe.conn(), &key, m.id, &[]).await?
        {
            bail!(
                "the backup's audit chain of {} is broken at entry {seq}: {reason}; not restored",
                m.name
            );
        }
    }
    let _ = std::fs::remove_dir_all(&no_seals);
    probe.close().await?;
    Ok(())
}

/// Removes a SQLite file and its WAL companions, if present.
fn remove_sqlite(path: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            std::fs::remove_file(&file)
                .with_context(|| format!("cannot remove {}", file.display()))?;
        }
    }
    Ok(())
}
