//! DNS for the sender checks: the four record types SPF, DKIM and DMARC read (TXT, A, AAAA, MX), behind a
//! trait so that tests answer from memory and production asks the resolvers given with `--dns-resolver`.
//!
//! Every query has its own timeout and all the queries for one message share a budget ([`Lookups`]): a slow or
//! silent DNS makes a check `temperror`, never a delayed or failed delivery.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hickory_resolver::TokioAsyncResolver;
use hickory_resolver::config::{NameServerConfig, Protocol, ResolverConfig, ResolverOpts};
use hickory_resolver::error::{ResolveError, ResolveErrorKind};
use hickory_resolver::proto::op::ResponseCode;
use tokio::time::Instant;

/// Why a lookup gave no records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsError {
    /// The name does not exist (NXDOMAIN).
    NxDomain,
    /// The name exists but has no record of the type asked for.
    NoData,
    /// No answer could be had now (timeout, SERVFAIL, network): the check is `temperror`.
    Temporary(String),
}

impl DnsError {
    /// NXDOMAIN or no data: a definite "nothing there" (SPF counts these as void lookups).
    pub fn is_void(&self) -> bool {
        matches!(self, Self::NxDomain | Self::NoData)
    }
}

impl std::fmt::Display for DnsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NxDomain => f.write_str("no such domain"),
            Self::NoData => f.write_str("no record of that type"),
            Self::Temporary(why) => write!(f, "temporary DNS failure: {why}"),
        }
    }
}

/// The future of one lookup.
pub type Lookup<'a, T> = Pin<Box<dyn Future<Output = Result<Vec<T>, DnsError>> + Send + 'a>>;

/// The DNS questions the sender checks ask. Names are absolute domain names without the trailing dot.
pub trait Resolver: Send + Sync + std::fmt::Debug {
    /// Each TXT record's strings joined into one (RFC 7208 section 3.3, RFC 6376 section 3.6.2.2).
    fn txt<'a>(&'a self, name: &'a str) -> Lookup<'a, String>;
    fn a<'a>(&'a self, name: &'a str) -> Lookup<'a, Ipv4Addr>;
    fn aaaa<'a>(&'a self, name: &'a str) -> Lookup<'a, Ipv6Addr>;
    /// Preference and exchange host of each MX record.
    fn mx<'a>(&'a self, name: &'a str) -> Lookup<'a, (u16, String)>;
}

/// The real resolver: asks the configured recursive resolvers over UDP, falling back to TCP on a truncated
/// answer (hickory's resolver; no DNS over HTTPS or TLS, no system configuration, no search domains).
#[derive(Clone)]
pub struct DnsResolver {
    inner: TokioAsyncResolver,
}

impl std::fmt::Debug for DnsResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DnsResolver")
    }
}

impl DnsResolver {
    /// A resolver asking `servers` (in order), each query given `timeout`.
    pub fn new(servers: &[SocketAddr], timeout: Duration) -> Self {
        let mut config = ResolverConfig::new();
        for &server in servers {
            config.add_name_server(NameServerConfig::new(server, Protocol::Udp));
            config.add_name_server(NameServerConfig::new(server, Protocol::Tcp));
        }
        let mut opts = ResolverOpts::default();
        opts.timeout = timeout;
        opts.attempts = 1;
        opts.ndots = 0;
        opts.cache_size = 256;
        opts.edns0 = true;
        opts.use_hosts_file = false;
        Self {
            inner: TokioAsyncResolver::tokio(config, opts),
        }
    }
}

/// Absolute form, so that no search domain is ever appended.
fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

fn classify(error: &ResolveError) -> DnsError {
    match error.kind() {
        ResolveErrorKind::NoRecordsFound { response_code, .. } => {
            if *response_code == ResponseCode::NXDomain {
                DnsError::NxDomain
            } else {
                DnsError::NoData
            }
        }
        _ => DnsError::Temporary(error.to_string()),
    }
}

impl Resolver for DnsResolver {
    fn txt<'a>(&'a self, name: &'a str) -> Lookup<'a, String> {
        Box::pin(async move {
            let lookup = self
                .inner
                .txt_lookup(fqdn(name))
                .await
                .map_err(|e| classify(&e))?;
            Ok(lookup
                .iter()
                .map(|txt| {
                    let bytes: Vec<u8> = txt
                        .txt_data()
                        .iter()
                        .flat_map(|s| s.iter().copied())
                        .collect();
                    String::from_utf8_lossy(&bytes).into_owned()
                })
                .collect())
        })
    }

    fn a<'a>(&'a self, name: &'a str) -> Lookup<'a, Ipv4Addr> {
        Box::pin(async move {
            let lookup = self
                .inner
                .ipv4_lookup(fqdn(name))
                .await
                .map_err(|e| classify(&e))?;
            Ok(lookup.iter().map(|a| a.0).collect())
        })
    }

    fn aaaa<'a>(&'a self, name: &'a str) -> Lookup<'a, Ipv6Addr> {
        Box::pin(async move {
            let lookup = self
                .inner
                .ipv6_lookup(fqdn(name))
                .await
                .map_err(|e| classify(&e))?;
            Ok(lookup.iter().map(|a| a.0).collect())
        })
    }

    fn mx<'a>(&'a self, name: &'a str) -> Lookup<'a, (u16, String)> {
        Box::pin(async move {
            let lookup = self
                .inner
                .mx_lookup(fqdn(name))
                .await
                .map_err(|e| classify(&e))?;
            Ok(lookup
                .iter()
                .map(|mx| {
                    let host = mx.exchange().to_utf8();
                    (mx.preference(), host.trim_end_matches('.').to_owned())
                })
                .collect())
        })
    }
}

/// Answers from a table, for tests (and for nothing else): names absent from the table are NXDOMAIN, a name
/// present without records of the asked type is no-data, and names marked broken fail temporarily.
#[derive(Debug, Default)]
pub struct MemoryResolver {
    txt: HashMap<String, Vec<String>>,
    addresses: HashMap<String, Vec<IpAddr>>,
    mx: HashMap<String, Vec<(u16, String)>>,
    broken: Vec<String>,
    queries: AtomicUsize,
}

impl MemoryResolver {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_txt(mut self, name: &str, record: &str) -> Self {
        self.txt
            .entry(key(name))
            .or_default()
            .push(record.to_owned());
        self
    }

    pub fn with_ip(mut self, name: &str, ip: IpAddr) -> Self {
        self.addresses.entry(key(name)).or_default().push(ip);
        self
    }

    pub fn with_mx(mut self, name: &str, preference: u16, host: &str) -> Self {
        self.mx
            .entry(key(name))
            .or_default()
            .push((preference, key(host)));
        self
    }

    /// Every query for `name` fails temporarily (a SERVFAIL).
    pub fn with_failure(mut self, name: &str) -> Self {
        self.broken.push(key(name));
        self
    }

    /// How many queries were asked so far.
    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::Relaxed)
    }

    fn exists(&self, name: &str) -> bool {
        self.txt.contains_key(name)
            || self.addresses.contains_key(name)
            || self.mx.contains_key(name)
    }

    fn answer<T: Clone>(
        &self,
        name: &str,
        pick: impl Fn(&Self, &str) -> Vec<T>,
    ) -> Result<Vec<T>, DnsError> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        let name = key(name);
        if self.broken.contains(&name) {
            return Err(DnsError::Temporary(format!("SERVFAIL for {name}")));
        }
        if !self.exists(&name) {
            return Err(DnsError::NxDomain);
        }
        let records = pick(self, &name);
        if records.is_empty() {
            return Err(DnsError::NoData);
        }
        Ok(records)
    }
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Resolver for MemoryResolver {
    fn txt<'a>(&'a self, name: &'a str) -> Lookup<'a, String> {
        let answer = self.answer(name, |s, n| s.txt.get(n).cloned().unwrap_or_default());
        Box::pin(async move { answer })
    }

    fn a<'a>(&'a self, name: &'a str) -> Lookup<'a, Ipv4Addr> {
        let answer = self.answer(name, |s, n| {
            s.addresses
                .get(n)
                .into_iter()
                .flatten()
                .filter_map(|ip| match ip {
                    IpAddr::V4(v4) => Some(*v4),
                    IpAddr::V6(_) => None,
                })
                .collect()
        });
        Box::pin(async move { answer })
    }

    fn aaaa<'a>(&'a self, name: &'a str) -> Lookup<'a, Ipv6Addr> {
        let answer = self.answer(name, |s, n| {
            s.addresses
                .get(n)
                .into_iter()
                .flatten()
                .filter_map(|ip| match ip {
                    IpAddr::V6(v6) => Some(*v6),
                    IpAddr::V4(_) => None,
                })
                .collect()
        });
        Box::pin(async move { answer })
    }

    fn mx<'a>(&'a self, name: &'a str) -> Lookup<'a, (u16, String)> {
        let answer = self.answer(name, |s, n| s.mx.get(n).cloned().unwrap_or_default());
        Box::pin(async move { answer })
    }
}

/// The DNS of one message: each query bounded by `per_query`, all of them together by the budget's deadline.
#[derive(Debug)]
pub struct Lookups<'r> {
    resolver: &'r dyn Resolver,
    per_query: Duration,
    deadline: Instant,
}

/// Per-query timeout and total budget per message.
#[derive(Debug, Clone, Copy)]
pub struct DnsLimits {
    pub per_query: Duration,
    pub per_message: Duration,
}

impl Default for DnsLimits {
    fn default() -> Self {
        Self {
            per_query: Duration::from_secs(2),
            per_message: Duration::from_secs(8),
        }
    }
}

impl<'r> Lookups<'r> {
    pub fn new(resolver: &'r dyn Resolver, limits: DnsLimits) -> Self {
        Self {
            resolver,
            per_query: limits.per_query,
            deadline: Instant::now() + limits.per_message,
        }
    }

    async fn bounded<T>(&self, lookup: Lookup<'_, T>) -> Result<Vec<T>, DnsError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(DnsError::Temporary(
                "DNS budget of the message spent".into(),
            ));
        }
        match tokio::time::timeout(left.min(self.per_query), lookup).await {
            Ok(answer) => answer,
            Err(_) => Err(DnsError::Temporary("DNS query timed out".into())),
        }
    }

    pub async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        self.bounded(self.resolver.txt(name)).await
    }

    pub async fn a(&self, name: &str) -> Result<Vec<Ipv4Addr>, DnsError> {
        self.bounded(self.resolver.a(name)).await
    }

    pub async fn aaaa(&self, name: &str) -> Result<Vec<Ipv6Addr>, DnsError> {
        self.bounded(self.resolver.aaaa(name)).await
    }

    pub async fn mx(&self, name: &str) -> Result<Vec<(u16, String)>, DnsError> {
        self.bounded(self.resolver.mx(name)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Silent;

    impl Resolver for Silent {
        fn txt<'a>(&'a self, _: &'a str) -> Lookup<'a, String> {
            Box::pin(std::future::pending())
        }
        fn a<'a>(&'a self, _: &'a str) -> Lookup<'a, Ipv4Addr> {
            Box::pin(std::future::pending())
        }
        fn aaaa<'a>(&'a self, _: &'a str) -> Lookup<'a, Ipv6Addr> {
            Box::pin(std::future::pending())
        }
        fn mx<'a>(&'a self, _: &'a str) -> Lookup<'a, (u16, String)> {
            Box::pin(std::future::pending())
        }
    }

    #[tokio::test]
    async fn the_memory_resolver_tells_nxdomain_from_no_data_and_temporary_failure() {
        let dns = MemoryResolver::new()
            .with_txt("example.jp", "v=spf1 -all")
            .with_failure("broken.example");
        let lookups = Lookups::new(&dns, DnsLimits::default());
        assert_eq!(
            lookups.txt("Example.JP.").await,
            Ok(vec!["v=spf1 -all".to_owned()])
        );
        assert_eq!(lookups.a("example.jp").await, Err(DnsError::NoData));
        assert_eq!(lookups.mx("nowhere.example").await, Err(DnsError::NxDomain));
        assert!(matches!(
            lookups.txt("broken.example").await,
            Err(DnsError::Temporary(_))
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_resolver_times_out_per_query_and_then_the_budget_is_spent() {
        let limits = DnsLimits {
            per_query: Duration::from_secs(2),
            per_message: Duration::from_secs(5),
        };
        let lookups = Lookups::new(&Silent, limits);
        let started = Instant::now();
        for _ in 0..4 {
            assert!(matches!(
                lookups.txt("example.jp").await,
                Err(DnsError::Temporary(_))
            ));
        }
        // 2 s + 2 s + the last 1 s of the budget, then nothing more is even asked.
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    /// A one-question DNS server on a UDP socket: TXT `v=spf1 ` `-all` (two strings) for example.jp,
    /// NXDOMAIN for anything else.
    async fn fake_dns() -> Option<SocketAddr> {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.ok()?;
        let addr = socket.local_addr().ok()?;
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok((len, peer)) = socket.recv_from(&mut buf).await {
                let query = &buf[..len];
                let Some(question_end) =
                    query.get(12..).and_then(|q| q.iter().position(|&b| b == 0))
                else {
                    continue;
                };
                let question = &query[12..12 + question_end + 5];
                let known = question.starts_with(b"\x07example\x02jp\x00");
                let mut reply = query[..2].to_vec();
                reply.extend_from_slice(if known { &[0x81, 0x80] } else { &[0x81, 0x83] });
                reply.extend_from_slice(&[0, 1, 0, u8::from(known), 0, 0, 0, 0]);
                reply.extend_from_slice(question);
                if known {
                    let rdata = b"\x07v=spf1 \x04-all";
                    reply.extend_from_slice(&[
                        0xc0,
                        12,
                        0,
                        16,
                        0,
                        1,
                        0,
                        0,
                        0,
                        60,
                        0,
                        rdata.len() as u8,
                    ]);
                    reply.extend_from_slice(rdata);
                }
                let _ = socket.send_to(&reply, peer).await;
            }
        });
        Some(addr)
    }

    #[tokio::test]
    async fn the_real_resolver_joins_txt_strings_and_reports_nxdomain() {
        let Some(addr) = fake_dns().await else {
            return;
        };
        let dns = DnsResolver::new(&[addr], Duration::from_secs(2));
        let lookups = Lookups::new(&dns, DnsLimits::default());
        assert_eq!(
            lookups.txt("example.jp").await,
            Ok(vec!["v=spf1 -all".to_owned()])
        );
        assert_eq!(
            lookups.txt("missing.example").await,
            Err(DnsError::NxDomain)
        );
    }

    #[tokio::test]
    async fn an_unreachable_dns_server_is_a_temporary_failure() {
        let Ok(socket) = std::net::UdpSocket::bind("127.0.0.1:0") else {
            return;
        };
        let Ok(addr) = socket.local_addr() else {
            return;
        };
        // A socket that never answers: the query times out.
        let dns = DnsResolver::new(&[addr], Duration::from_millis(200));
        let lookups = Lookups::new(&dns, DnsLimits::default());
        assert!(matches!(
            lookups.txt("example.jp").await,
            Err(DnsError::Temporary(_))
        ));
        drop(socket);
    }
}
