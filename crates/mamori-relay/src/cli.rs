//! The command line: `mamori relay` (run), `mamori relay status`, `mamori relay export`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::Utc;
use ipnet::IpNet;

use crate::db::Db;
use crate::key::QuarantineKey;
use crate::sender_auth::{DnsResolver, Resolver};
use crate::spool::{Spool, SpoolId};
use crate::{Config, Relay, RelayLimits, default_database_url};

/// 無害化通信: the sanitising SMTP relay between the Internet-zone MTA and the LGWAN mail server.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct RelayArgs {
    #[command(subcommand)]
    pub action: Option<Action>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Running the relay.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Address to listen on for the Internet-zone MTA.
    #[arg(long, default_value = "127.0.0.1:2525")]
    pub listen: String,
    /// HOST:PORT of the LGWAN mail server the sanitised mail goes to.
    #[arg(long)]
    pub next_hop: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Largest message accepted, in bytes.
    #[arg(long, default_value_t = 25 * 1024 * 1024)]
    pub max_size: usize,
    /// The city's mail domains, comma-separated: mail for any other domain is refused.
    #[arg(long, value_delimiter = ',')]
    pub domains: Vec<String>,
    /// Client prefixes allowed to connect (the Internet-zone MTA), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "127.0.0.1/32,::1/128")]
    pub clients: Vec<IpNet>,
    /// Mailbox (LGWAN side) told about dead letters.
    #[arg(long)]
    pub postmaster: Option<String>,
    /// Days the originals and removed parts are kept in the quarantine.
    #[arg(long, default_value_t = 14)]
    pub retention_days: u32,
    /// The relay's host name (greeting, Received, Authentication-Results).
    #[arg(long, default_value = "mamori-relay")]
    pub hostname: String,
    /// authserv-id of the Internet-zone MTA whose Authentication-Results are carried over; comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub trusted_authserv_id: Vec<String>,
    /// DNS resolver (IP:PORT) for the relay's own SPF, DKIM and DMARC check of the original; repeatable or
    /// comma-separated. Without it the relay relies on the Internet-zone MTA's verdict (--trusted-authserv-id).
    #[arg(long, value_delimiter = ',')]
    pub dns_resolver: Vec<std::net::SocketAddr>,
    /// How recipients ask for a removed attachment (shown in every sanitised message).
    #[arg(
        long,
        default_value = "情報セキュリティ管理者 / information security administrator"
    )]
    pub notice_contact: String,
    /// Certificate chain (PEM) for STARTTLS; with --tls-key, the relay offers STARTTLS.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Refuse MAIL until the client has used STARTTLS.
    #[arg(long)]
    pub require_tls: bool,
    /// Address the authenticated API for the LGWAN-side quarantine page listens on (with --api-token-file).
    #[arg(long, requires = "api_token_file")]
    pub api_listen: Option<String>,
    /// File holding the API's bearer token (at least 32 characters, readable by the relay's user only).
    #[arg(long, requires = "api_listen")]
    pub api_token_file: Option<PathBuf>,
    /// Release classes per type (TOML, `[classes] text = "on_request" | "on_approval" | "never"`, …).
    #[arg(long, requires = "api_listen")]
    pub release_policy: Option<PathBuf>,
    /// Certificate chain (PEM) for the API: with --api-tls-key it speaks HTTPS only (may be the STARTTLS one).
    #[arg(long, requires_all = ["api_listen", "api_tls_key"])]
    pub api_tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --api-tls-cert.
    #[arg(long, requires = "api_tls_cert")]
    pub api_tls_key: Option<PathBuf>,
    /// Delivery attempts before a message that keeps failing temporarily becomes a dead letter.
    #[arg(long, default_value_t = 30)]
    pub max_attempts: u32,
}

/// Where the quarantine is.
#[derive(clap::Args, Debug, Clone)]
pub struct StoreArgs {
    /// The spool directory (messages, quarantine, database).
    #[arg(long)]
    pub spool: Option<PathBuf>,
    /// The metadata database URL (sqlite://PATH). Default: relay.sqlite3 in the spool directory.
    #[arg(long)]
    pub database: Option<String>,
    /// The 32-byte quarantine key (default: SPOOL/quarantine.key). Create it once with
    /// `head -c 32 /dev/urandom > FILE; chmod 600 FILE`; the relay refuses to start without it.
    #[arg(long)]
    pub quarantine_key_file: Option<PathBuf>,
}

impl StoreArgs {
    fn spool(&self) -> anyhow::Result<&Path> {
        self.spool.as_deref().context("--spool DIR is required")
    }

    fn database_url(&self) -> anyhow::Result<String> {
        Ok(match &self.database {
            Some(url) => url.clone(),
            None => default_database_url(self.spool()?),
        })
    }

    fn key(&self) -> anyhow::Result<QuarantineKey> {
        let path = match &self.quarantine_key_file {
            Some(path) => path.clone(),
            None => self.spool()?.join("quarantine.key"),
        };
        QuarantineKey::load(&path)
    }
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Queue length, dead letters, and deliveries in the last hour.
    Status {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Decrypt the original of a quarantined message into a file (on the sanitiser host only). Recorded in the
    /// relay's log. The file holds raw, unsanitised mail: never carry it into LGWAN.
    Export {
        /// The spool id (from the notice or `X-Mamori-Original-Id`).
        id: String,
        #[command(flatten)]
        store: StoreArgs,
        /// The file to write (must not exist).
        #[arg(long)]
        output: PathBuf,
    },
}

/// Runs `mamori relay …`.
pub async fn run(args: RelayArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        None => serve(args.run).await,
        Some(Action::Status { store }) => status(&store).await,
        Some(Action::Export { id, store, output }) => export(&id, &store, &output).await,
    }
}

async fn serve(args: RunArgs) -> anyhow::Result<ExitCode> {
    let next_hop = args.next_hop.context("--next-hop HOST:PORT is required")?;
    let spool = args.store.spool()?.to_owned();
    if let Some(postmaster) = &args.postmaster
        && !is_plain_mailbox(postmaster)
    {
        bail!("--postmaster {postmaster:?} is not a mailbox");
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(crate::tls::acceptor(cert, key)?),
        _ => None,
    };
    let api = match (args.api_listen, &args.api_token_file) {
        (Some(listen), Some(token_file)) => Some(crate::api::config_from_files(
            listen,
            token_file,
            args.release_policy.as_ref(),
            match (&args.api_tls_cert, &args.api_tls_key) {
                (Some(cert), Some(key)) => Some(crate::tls::acceptor(cert, key)?),
                _ => None,
            },
        )?),
        (None, None) => None,
        _ => bail!("--api-listen and --api-token-file go together"),
    };
    let config = Config {
        listen: args.listen,
        next_hop,
        database: args.store.database.clone(),
        key: args.store.key()?,
        spool,
        max_size: args.max_size,
        domains: args.domains,
        clients: args.clients,
        postmaster: args.postmaster,
        retention: Duration::from_secs(u64::from(args.retention_days) * 86_400),
        hostname: args.hostname,
        trusted_authserv_ids: args.trusted_authserv_id,
        resolver: resolver(&args.dns_resolver),
        notice_contact: args.notice_contact,
        tls,
        require_tls: args.require_tls,
        api,
        limits: RelayLimits {
            retry: crate::deliver::Retry {
                max_attempts: args.max_attempts.max(1),
                ..RelayLimits::default().retry
            },
            ..RelayLimits::default()
        },
    };
    let relay = Relay::start(config).await?;
    println!("mamori relay listening on {}", relay.local_addr());
    shutdown_signal().await;
    relay.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// The real resolver over the given servers, or none (then the relay does not check senders itself).
fn resolver(servers: &[std::net::SocketAddr]) -> Option<Arc<dyn Resolver>> {
    if servers.is_empty() {
        return None;
    }
    let limits = crate::sender_auth::DnsLimits::default();
    Some(Arc::new(DnsResolver::new(servers, limits.per_query)))
}

fn is_plain_mailbox(address: &str) -> bool {
    address.len() <= 254
        && address
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>')
        && address
            .rsplit_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn status(store: &StoreArgs) -> anyhow::Result<ExitCode> {
    let db = Db::open(&store.database_url()?).await?;
    let status = db.status(Utc::now()).await?;
    println!("queued: {}", status.queued);
    if let Some(oldest) = status.oldest_queued_at {
        println!("oldest queued: {}", oldest.to_rfc3339());
    }
    println!("dead letters: {}", status.dead);
    println!("held with removed parts: {}", status.held);
    println!("received in the last hour: {}", status.received_last_hour);
    println!("delivered in the last hour: {}", status.delivered_last_hour);
    println!("delivered in the last day: {}", status.delivered_last_day);
    for dead in &status.dead_letters {
        println!(
            "dead {} received {}: {}",
            dead.id,
            dead.received_at.to_rfc3339(),
            dead.reason.as_deref().unwrap_or("(no reason recorded)")
        );
    }
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn export(id: &str, store: &StoreArgs, output: &Path) -> anyhow::Result<ExitCode> {
    let id = SpoolId::parse(id)?;
    let key = store.key()?;
    let spool = Spool::open(store.spool()?, key)?;
    let db = Db::open(&store.database_url()?).await?;
    if !db.contains(&id).await? {
        bail!("no message {id} in this relay's database");
    }
    if db.is_purged(&id).await? {
        bail!("message {id} was deleted at the end of its retention");
    }
    let (_, raw) = spool.load_message(&id)?;
    let operator = std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned());
    // Recorded before anything is written: an export that is not in the log does not happen.
    db.log(
        "export",
        Some(&id),
        &format!("operator={operator} output={}", output.display()),
        Utc::now(),
    )
    .await?;
    write_private(output, &raw)?;
    db.close().await;
    println!(
        "{} bytes of {id} written to {}",
        raw.len(),
        output.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Creates `path` (it must not exist), readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist)", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[derive(clap::Parser, Debug)]
    struct Command {
        #[command(flatten)]
        relay: RelayArgs,
    }

    #[test]
    fn dns_resolvers_are_repeatable_or_comma_separated_and_optional() {
        let parsed = Command::try_parse_from([
            "mamori",
            "--dns-resolver",
            "192.0.2.53:53,192.0.2.54:53",
            "--dns-resolver",
            "[2001:db8::53]:53",
        ]);
        let servers = parsed.map(|c| c.relay.run.dns_resolver).unwrap_or_default();
        assert_eq!(servers.len(), 3);
        assert!(resolver(&servers).is_some());
        let none = Command::try_parse_from(["mamori"]).map(|c| c.relay.run.dns_resolver);
        assert_eq!(none.ok(), Some(Vec::new()));
        assert!(resolver(&[]).is_none());
        assert!(Command::try_parse_from(["mamori", "--dns-resolver", "dns.example"]).is_err());
    }
}
