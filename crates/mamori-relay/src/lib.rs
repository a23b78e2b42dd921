//! `mamori relay`: the sanitising SMTP relay (無害化通信, clauses 2(16) and 6(3)②).
//!
//! ## Where it sits
//!
//! ```text
//!  Internet ──▶ Internet-zone MTA ──SMTP──▶ mamori relay ──SMTP──▶ LGWAN mail server ──▶ staff
//!               (インターネット接続系:       (sanitiser segment:     (LGWAN接続系)
//!                SPF/DKIM/DMARC, spam)       spool + quarantine)
//! ```
//!
//! The relay runs on a host in the sanitiser segment between the two zones. It accepts mail only from the
//! Internet-zone MTA (`--clients`) and only for the city's domains (`--domains`); it is never an open relay.
//! Every accepted message is sealed (encrypted) into the spool and fsynced before the `250` reply, then
//! sanitised by `mamori-sanitize` — a new text-only message is built; attachments and inline parts are
//! removed — and the rebuilt message is forwarded to the LGWAN mail server (`--next-hop`). **No original byte
//! is forwarded into LGWAN.** Originals and removed parts stay in the quarantine on the relay host, encrypted
//! with ChaCha20-Poly1305 under the key in `--quarantine-key-file`, until the retention (`--retention-days`)
//! ends; their metadata (envelope, decoded sender and subject, each removed part's name, types, size and
//! SHA-256, delivery state) is in the relay's own SQLite database in the spool directory.
//!
//! What cannot be forwarded — the LGWAN server refuses it, or the sanitiser refuses it (over a limit), or it
//! keeps failing — becomes a *dead letter*: kept with its reason and reported to `--postmaster`. Nothing is
//! bounced to the Internet sender.
//!
//! The LGWAN side never reads the spool: the quarantine page of the web application sees metadata only,
//! through the relay's small authenticated API ([`api`], `--api-listen`), and asks there for a removed part
//! to be released: the relay converts the part — text to clean text, an image to a new PNG of its pixels
//! ([`release`], [`reencode`]) — and delivers it as a new message. Raw originals never leave the relay
//! through the API.
//!
//! ## The parts
//!
//! - [`smtp::server`]: the strict SMTP server (CRLF only, smuggling refused, limits and timeouts everywhere),
//!   with STARTTLS ([`tls`]) when a certificate is configured.
//! - [`spool`] and [`key`]: durable, sealed files; [`db`]: the metadata.
//! - [`deliver`]: the worker that sanitises, quarantines and forwards, with retries; [`smtp::client`]: the
//!   small SMTP client it forwards with; [`notice`]: the postmaster's notice.
//! - [`sender_auth`]: the relay's own SPF, DKIM and DMARC check of the original (with `--dns-resolver`);
//!   [`auth_results`]: the `Authentication-Results` of the rebuilt message — that check, and what the trusted
//!   Internet-zone MTA found.
//! - [`api`]: the authenticated API for the LGWAN-side quarantine page and the operations page, behind
//!   [`http_guard`] (connection, time and size limits); [`release`]: release classes and
//!   policy, conversion, the message that carries a released part; [`reencode`]: images decoded within
//!   limits and written anew as PNG without metadata.
//! - [`cli`]: `mamori relay`, `mamori relay status`, `mamori relay export`.

pub mod api;
pub mod auth_results;
pub mod cli;
pub mod db;
pub mod deliver;
pub mod http_guard;
pub mod key;
pub mod notice;
pub mod reencode;
pub mod release;
pub mod sender_auth;
pub mod smtp;
pub mod spool;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::Utc;
use ipnet::IpNet;
use mamori_sanitize::Policy;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinHandle;

use crate::db::Db;
use crate::deliver::{Outbound, Retry};
use crate::key::QuarantineKey;
use crate::smtp::server::Inbound;
use crate::spool::Spool;

/// Everything the relay is told at start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on, e.g. `0.0.0.0:25` (`127.0.0.1:0` picks a free port).
    pub listen: String,
    /// `HOST:PORT` of the LGWAN mail server.
    pub next_hop: String,
    /// The spool directory.
    pub spool: PathBuf,
    /// The metadata database URL; default `sqlite://SPOOL/relay.sqlite3`.
    pub database: Option<String>,
    pub key: QuarantineKey,
    /// Largest message accepted, in bytes (advertised as `SIZE`).
    pub max_size: usize,
    /// The city's mail domains: the only recipients accepted.
    pub domains: Vec<String>,
    /// Client prefixes allowed to connect (the Internet-zone MTA).
    pub clients: Vec<IpNet>,
    /// Where dead-letter notices go (an LGWAN-side mailbox).
    pub postmaster: Option<String>,
    pub retention: Duration,
    /// The relay's name in the greeting, `Received:` and `Authentication-Results`.
    pub hostname: String,
    /// authserv-ids of the Internet-zone MTA whose `Authentication-Results` are carried over.
    pub trusted_authserv_ids: Vec<String>,
    /// DNS for the relay's own sender checks ([`sender_auth`]); none: it relies on the Internet-zone MTA's
    /// verdict only.
    pub resolver: Option<Arc<dyn sender_auth::Resolver>>,
    /// How to ask for a removed part, shown in every rebuilt message's notice.
    pub notice_contact: String,
    /// STARTTLS is offered when set (see [`tls::acceptor`]).
    pub tls: Option<crate::tls::Acceptor>,
    /// Refuse MAIL until the client has used STARTTLS.
    pub require_tls: bool,
    /// The authenticated API for the LGWAN side, served on its own listener when set.
    pub api: Option<crate::api::ApiConfig>,
    pub limits: RelayLimits,
}

impl Config {
    /// A relay on this machine only: SMTP on a free loopback port, mail taken from loopback clients for
    /// `domain`, the default limits and retention, no TLS, no API. The demo runs one; tests start them and
    /// change what they need.
    pub fn loopback(
        next_hop: SocketAddr,
        spool: &std::path::Path,
        key: QuarantineKey,
        domain: &str,
    ) -> Config {
        Config {
            listen: "127.0.0.1:0".into(),
            next_hop: next_hop.to_string(),
            spool: spool.to_owned(),
            database: None,
            key,
            max_size: 25 * 1024 * 1024,
            domains: vec![domain.to_owned()],
            clients: ipnet::Ipv4Net::new(std::net::Ipv4Addr::new(127, 0, 0, 0), 8)
                .map(IpNet::V4)
                .into_iter()
                .collect(),
            postmaster: Some(format!("postmaster@{domain}")),
            retention: Duration::from_secs(14 * 86_400),
            hostname: "relay.localhost".into(),
            trusted_authserv_ids: Vec::new(),
            resolver: None,
            notice_contact: "情報セキュリティ管理者 / information security administrator".into(),
            tls: None,
            require_tls: false,
            api: None,
            limits: RelayLimits::default(),
        }
    }
}

/// Bounds and timings; the defaults suit production.
#[derive(Debug, Clone)]
pub struct RelayLimits {
    /// SMTP sessions at once; more get `421`.
    pub max_connections: usize,
    /// Sessions receiving a message at once (each holds up to `max_size` in memory).
    pub max_receiving: usize,
    /// Messages sanitised and forwarded at once.
    pub max_sanitising: usize,
    /// Recipients per message.
    pub max_recipients: usize,
    /// Timeout of every read from a client (RFC 5321 suggests minutes).
    pub read_timeout: Duration,
    /// The longest one SMTP session may last.
    pub max_session: Duration,
    /// Timeout of every step when forwarding.
    pub send_timeout: Duration,
    pub retry: Retry,
    /// How often the queue is looked at when nothing else wakes the worker.
    pub poll: Duration,
    /// How often expired quarantine objects are deleted.
    pub sweep_every: Duration,
    /// The API listener's limits (`--api-listen`).
    pub api: http_guard::ApiLimits,
    /// Per-query timeout and per-message budget of the sender checks' DNS.
    pub dns: sender_auth::DnsLimits,
}

impl Default for RelayLimits {
    fn default() -> Self {
        Self {
            max_connections: 64,
            max_receiving: 8,
            max_sanitising: 2,
            max_recipients: 100,
            read_timeout: Duration::from_secs(300),
            max_session: Duration::from_secs(1800),
            send_timeout: Duration::from_secs(120),
            retry: Retry {
                base: Duration::from_secs(60),
                max_delay: Duration::from_secs(3600),
                max_attempts: 30,
            },
            poll: Duration::from_secs(5),
            sweep_every: Duration::from_secs(3600),
            api: http_guard::ApiLimits::default(),
            dns: sender_auth::DnsLimits::default(),
        }
    }
}

/// The default metadata database in the spool directory.
pub fn default_database_url(spool: &std::path::Path) -> String {
    format!("sqlite://{}", spool.join("relay.sqlite3").display())
}

/// A running relay.
pub struct Relay {
    local_addr: SocketAddr,
    api_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    db: Db,
    /// Held while the relay runs (see [`Spool::lock`]).
    _lock: std::fs::File,
}

impl Relay {
    /// Opens the spool and database, recovers what a previous run left, and starts listening and delivering.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        if config.domains.is_empty() {
            bail!("no --domains: the relay would refuse every recipient");
        }
        if config.require_tls && config.tls.is_none() {
            bail!("--require-tls needs --tls-cert and --tls-key");
        }
        if config.clients.is_empty() {
            bail!("no --clients: the relay would refuse every connection");
        }
        let spool = Spool::open(&config.spool, config.key.clone())?;
        let lock = spool.lock()?;
        spool.clear_tmp()?;
        let url = config
            .database
            .clone()
            .unwrap_or_else(|| default_database_url(&config.spool));
        let db = Db::open(&url).await?;
        let listener = TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let local_addr = listener.local_addr()?;
        let api = match &config.api {
            Some(api_config) => Some((api::bind(api_config).await?, api_config.clone())),
            None => None,
        };
        let limits = &config.limits;
        let inbound = Arc::new(Inbound {
            hostname: config.hostname.clone(),
            max_size: config.max_size,
            max_recipients: limits.max_recipients,
            domains: config
                .domains
                .iter()
                .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
                .collect(),
            clients: config.clients.clone(),
            read_timeout: limits.read_timeout,
            max_session: limits.max_session,
            retention: chrono::Duration::from_std(config.retention)
                .context("retention too long")?,
            spool,
            db: db.clone(),
            wake: Arc::new(Notify::new()),
            receiving: Arc::new(Semaphore::new(limits.max_receiving)),
            tls: config.tls.clone(),
            require_tls: config.require_tls,
        });
        recover(&inbound).await?;
        let mut policy = Policy::new(config.notice_contact.clone());
        policy.limits.max_total_size = policy.limits.max_total_size.max(config.max_size);
        let outbound = Arc::new(Outbound {
            next_hop: config.next_hop.clone(),
            policy,
            trusted_authserv_ids: config.trusted_authserv_ids.clone(),
            resolver: config.resolver.clone(),
            dns_limits: limits.dns,
            postmaster: config.postmaster.clone(),
            retry: limits.retry.clone(),
            send_timeout: limits.send_timeout,
            sanitising: Arc::new(Semaphore::new(limits.max_sanitising)),
            poll: limits.poll,
        });
        let (shutdown, watch) = watch::channel(false);
        let connections = Arc::new(Semaphore::new(limits.max_connections));
        let mut tasks = Vec::with_capacity(4);
        let mut api_addr = None;
        if let Some(((api_listener, addr), api_config)) = api {
            api_addr = Some(addr);
            tasks.push(tokio::spawn(api::serve(
                api_listener,
                api_config,
                limits.api,
                inbound.clone(),
                watch.clone(),
            )));
            tracing::info!(listen = %addr, "api started");
        }
        tasks.extend([
            tokio::spawn(smtp::server::accept_loop(
                listener,
                inbound.clone(),
                connections,
                watch.clone(),
            )),
            tokio::spawn(deliver::worker(inbound.clone(), outbound, watch.clone())),
            tokio::spawn(sweep_loop(inbound, limits.sweep_every, watch)),
        ]);
        tracing::info!(listen = %local_addr, "relay started");
        Ok(Self {
            local_addr,
            api_addr,
            shutdown,
            tasks,
            db,
            _lock: lock,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Where the API listens, when configured.
    pub fn api_addr(&self) -> Option<SocketAddr> {
        self.api_addr
    }

    /// The relay's database (for status and tests).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Stops listening (SMTP and API) and delivering. Messages in the spool stay there for the next start.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        self.db.close().await;
    }
}

/// After a restart: a spool file without a row (a crash between the two writes) gets its row back, and every
/// message not yet delivered is due now.
async fn recover(inbound: &Inbound) -> anyhow::Result<()> {
    let spool = inbound.spool.clone();
    let ids = tokio::task::spawn_blocking(move || spool.message_ids()).await??;
    let mut restored = 0usize;
    for id in ids {
        if inbound.db.contains(&id).await? {
            continue;
        }
        let spool = inbound.spool.clone();
        let load = id.clone();
        match tokio::task::spawn_blocking(move || spool.load_message(&load)).await? {
            Ok((envelope, raw)) => {
                inbound
                    .db
                    .insert_spooled(
                        &envelope,
                        raw.len(),
                        envelope.received_at + inbound.retention,
                    )
                    .await?;
                restored += 1;
            }
            Err(e) => {
                tracing::error!(%id, error = %format!("{e:#}"), "unreadable spool file left in place")
            }
        }
    }
    let due = inbound.db.retry_all_now(Utc::now()).await?;
    tracing::info!(restored, queued = due, "spool recovered");
    Ok(())
}

async fn sweep_loop(inbound: Arc<Inbound>, every: Duration, mut shutdown: watch::Receiver<bool>) {
    loop {
        if let Err(e) = sweep(&inbound).await {
            tracing::error!(error = %format!("{e:#}"), "retention sweep failed");
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Deletes the files of finished messages past their retention and marks their rows; returns how many.
async fn sweep(inbound: &Inbound) -> anyhow::Result<usize> {
    let expired = inbound.db.expired(Utc::now()).await?;
    let count = expired.len();
    for (id, parts) in expired {
        let spool = inbound.spool.clone();
        let purge = id.clone();
        tokio::task::spawn_blocking(move || spool.purge(&purge, parts)).await??;
        inbound.db.mark_purged(&id, Utc::now()).await?;
        tracing::info!(%id, "retention ended: quarantine objects deleted");
    }
    Ok(count)
}
