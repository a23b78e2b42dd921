//! SPF (RFC 7208): was the Internet host that handed the message to the city allowed to send for the
//! envelope sender's domain?
//!
//! The address to check is **not** the relay's SMTP peer — that is always the city's own Internet-zone MTA.
//! It is the client that MTA saw, read from the **topmost `Received:` field** of the original, which that MTA
//! added (see [`client_from_received`]). Without one, the result is `none`, with a comment saying why.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};

use ipnet::IpNet;

use super::canonical::Field;
use super::resolver::{DnsError, Lookups};

/// Mechanisms and modifiers that cost DNS queries, per check (section 4.6.4).
const MAX_DNS_MECHANISMS: usize = 10;
/// Lookups that found nothing (NXDOMAIN or no data), per check (section 4.6.4).
const MAX_VOID_LOOKUPS: usize = 2;
/// MX hosts looked up for one `mx` mechanism (section 4.6.4).
const MAX_MX_NAMES: usize = 10;
/// `include` and `redirect` nesting; the mechanism limit ends loops first, this is a second guard.
const MAX_DEPTH: usize = 12;

/// The result of a check (section 2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    None,
    Neutral,
    Pass,
    Fail,
    SoftFail,
    TempError,
    PermError,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Neutral => "neutral",
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::SoftFail => "softfail",
            Self::TempError => "temperror",
            Self::PermError => "permerror",
        }
    }
}

/// What SPF found, with what the header reports of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub outcome: Outcome,
    /// The identity checked: the MAIL FROM address, or `postmaster@<HELO>` for the null sender.
    pub mail_from: String,
    /// The domain checked (the MAIL FROM domain, or the HELO name for the null sender).
    pub domain: String,
    /// True when the null sender made HELO the identity (reported as `smtp.helo`).
    pub from_helo: bool,
    pub comment: Option<String>,
}

/// The Internet client as the city's Internet-zone MTA recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub ip: IpAddr,
    pub helo: String,
}

/// The client of the topmost `Received:` field (the one the Internet-zone MTA added on top of all others):
/// its `from` clause — what comes after `from` and before ` by ` — names the HELO first and the address in
/// square brackets, as Postfix (`from helo (rdns [203.0.113.5])`), Exim (`from helo ([203.0.113.5])`) and
/// Sendmail write it; `IPv6:` before an address is dropped. The last bracketed address of the clause is
/// taken. Only the topmost field counts: any field below it came from the Internet and proves nothing.
pub fn client_from_received(fields: &[Field<'_>]) -> Option<Client> {
    let value = fields.iter().find(|f| f.is("received"))?.value();
    let value = value.split(';').next().unwrap_or_default();
    let words: Vec<&str> = value.split_whitespace().collect();
    if !words.first()?.eq_ignore_ascii_case("from") {
        return None;
    }
    let helo = (*words.get(1)?).to_owned();
    let clause_end = words
        .iter()
        .position(|w| w.eq_ignore_ascii_case("by"))
        .unwrap_or(words.len());
    let clause = words[..clause_end].join(" ");
    let ip = clause.rsplit('[').find_map(|rest| {
        let literal = rest.split(']').next()?;
        let literal = literal
            .strip_prefix("IPv6:")
            .or_else(|| literal.strip_prefix("ipv6:"))
            .unwrap_or(literal);
        literal.parse::<IpAddr>().ok()
    })?;
    Some(Client {
        ip: unmapped(ip),
        helo: helo.trim_matches(|c| c == '[' || c == ']').to_owned(),
    })
}

fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Checks the envelope sender `mail_from` (empty for `<>`) for the client of the topmost `Received:` field.
pub async fn verify(fields: &[Field<'_>], mail_from: &str, dns: &Lookups<'_>) -> Verdict {
    let client = client_from_received(fields);
    let helo = client.as_ref().map(|c| c.helo.clone()).unwrap_or_default();
    let (mail_from, from_helo) = if mail_from.is_empty() {
        (format!("postmaster@{helo}"), true)
    } else {
        (mail_from.to_owned(), false)
    };
    let domain = mail_from
        .rsplit_once('@')
        .map_or("", |(_, d)| d)
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let verdict = |outcome, comment: Option<String>| Verdict {
        outcome,
        mail_from: mail_from.clone(),
        domain: domain.clone(),
        from_helo,
        comment,
    };
    let Some(client) = client else {
        return verdict(
            Outcome::None,
            Some("no client address in the topmost Received field".into()),
        );
    };
    if !valid_domain(&domain) {
        return verdict(Outcome::None, Some("no valid sender domain".into()));
    }
    let check = Check {
        dns,
        ip: client.ip,
        sender: mail_from.clone(),
        helo: client.helo.clone(),
        mechanisms: AtomicUsize::new(0),
        voids: AtomicUsize::new(0),
    };
    let outcome = check.check_host(domain.clone(), 0).await;
    verdict(outcome, Some(format!("client {}", client.ip)))
}

/// At least two labels, none empty or over 63 octets, at most 253 octets (section 4.3).
fn valid_domain(domain: &str) -> bool {
    domain.parse::<IpAddr>().is_err()
        && domain.len() <= 253
        && domain.contains('.')
        && domain
            .split('.')
            .all(|label| !label.is_empty() && label.len() <= 63)
}

/// One evaluation of `check_host()` and its counters, shared by every include and redirect.
struct Check<'a, 'r> {
    dns: &'a Lookups<'r>,
    ip: IpAddr,
    /// `<sender>` as a whole (local-part@domain).
    sender: String,
    helo: String,
    mechanisms: AtomicUsize,
    voids: AtomicUsize,
}

type Evaluation<'f> = Pin<Box<dyn Future<Output = Outcome> + Send + 'f>>;

/// A directive that could not be evaluated: the whole check ends with this result.
struct Abort(Outcome);

impl<'a, 'r> Check<'a, 'r> {
    fn check_host<'f>(&'f self, domain: String, depth: usize) -> Evaluation<'f> {
        Box::pin(async move {
            match self.evaluate(&domain, depth).await {
                Ok(outcome) | Err(Abort(outcome)) => outcome,
            }
        })
    }

    async fn evaluate(&self, domain: &str, depth: usize) -> Result<Outcome, Abort> {
        if depth > MAX_DEPTH {
            return Err(Abort(Outcome::PermError));
        }
        let record = self.record(domain).await?;
        let Some(record) = record else {
            return Ok(Outcome::None);
        };
        let terms: Vec<&str> = record.split_ascii_whitespace().skip(1).collect();
        let mut redirect = None;
        for term in &terms {
            if let Some((name, value)) = modifier(term) {
                if name.eq_ignore_ascii_case("redirect") {
                    if redirect.is_some() {
                        return Err(Abort(Outcome::PermError));
                    }
                    redirect = Some(value);
                }
                continue;
            }
            let (qualifier, mechanism) = qualified(term);
            if self.matches(mechanism, domain, depth).await? {
                return Ok(qualifier);
            }
        }
        match redirect {
            Some(target) => {
                self.count_mechanism()?;
                let target = self.expand(target, domain)?;
                match self.check_host(target, depth + 1).await {
                    Outcome::None => Err(Abort(Outcome::PermError)),
                    outcome => Ok(outcome),
                }
            }
            None => Ok(Outcome::Neutral),
        }
    }

    /// The one `v=spf1` record of `domain`, or none; two or more are a permerror (section 4.5).
    async fn record(&self, domain: &str) -> Result<Option<String>, Abort> {
        let records = match self.dns.txt(domain).await {
            Ok(records) => records,
            Err(DnsError::Temporary(_)) => return Err(Abort(Outcome::TempError)),
            Err(_) => return Ok(None),
        };
        let mut spf = records.into_iter().filter(|r| {
            let lower = r.to_ascii_lowercase();
            lower == "v=spf1" || lower.starts_with("v=spf1 ")
        });
        let first = spf.next();
        if spf.next().is_some() {
            return Err(Abort(Outcome::PermError));
        }
        Ok(first)
    }

    fn count_mechanism(&self) -> Result<(), Abort> {
        if self.mechanisms.fetch_add(1, Ordering::Relaxed) >= MAX_DNS_MECHANISMS {
            return Err(Abort(Outcome::PermError));
        }
        Ok(())
    }

    /// A lookup's records; nothing found counts as void, past the limit a permerror; a temporary failure ends
    /// the check with temperror.
    fn answered<T>(&self, answer: Result<Vec<T>, DnsError>) -> Result<Vec<T>, Abort> {
        match answer {
            Ok(records) => Ok(records),
            Err(DnsError::Temporary(_)) => Err(Abort(Outcome::TempError)),
            Err(_) => {
                if self.voids.fetch_add(1, Ordering::Relaxed) >= MAX_VOID_LOOKUPS {
                    return Err(Abort(Outcome::PermError));
                }
                Ok(Vec::new())
            }
        }
    }

    async fn matches(&self, mechanism: &str, domain: &str, depth: usize) -> Result<bool, Abort> {
        let (name, rest) = split_mechanism(mechanism);
        let name = name.to_ascii_lowercase();
        match name.as_str() {
            "all" if rest.is_empty() => Ok(true),
            "ip4" | "ip6" => {
                let value = rest.strip_prefix(':').ok_or(Abort(Outcome::PermError))?;
                let net = parse_network(value, &name).ok_or(Abort(Outcome::PermError))?;
                Ok(net.contains(&self.ip))
            }
            "a" | "mx" => {
                self.count_mechanism()?;
                let (target, v4, v6) = self.target_and_cidr(rest, domain)?;
                let hosts = if name == "a" {
                    vec![target]
                } else {
                    let mut mx = self.answered(self.dns.mx(&target).await)?;
                    if mx.len() > MAX_MX_NAMES {
                        return Err(Abort(Outcome::PermError));
                    }
                    mx.sort();
                    mx.into_iter().map(|(_, host)| host).collect()
                };
                for host in hosts {
                    if self.address_matches(&host, v4, v6).await? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            "include" => {
                self.count_mechanism()?;
                let target = rest.strip_prefix(':').ok_or(Abort(Outcome::PermError))?;
                let target = self.expand(target, domain)?;
                match self.check_host(target, depth + 1).await {
                    Outcome::Pass => Ok(true),
                    Outcome::Fail | Outcome::SoftFail | Outcome::Neutral => Ok(false),
                    Outcome::TempError => Err(Abort(Outcome::TempError)),
                    Outcome::PermError | Outcome::None => Err(Abort(Outcome::PermError)),
                }
            }
            "exists" => {
                self.count_mechanism()?;
                let target = rest.strip_prefix(':').ok_or(Abort(Outcome::PermError))?;
                let target = self.expand(target, domain)?;
                Ok(!self.answered(self.dns.a(&target).await)?.is_empty())
            }
            // Deprecated and slow (section 5.5): counted, never a match.
            "ptr" => {
                self.count_mechanism()?;
                Ok(false)
            }
            _ => Err(Abort(Outcome::PermError)),
        }
    }

    /// `[:domain-spec][/ip4-cidr][//ip6-cidr]` of `a` and `mx`.
    fn target_and_cidr(&self, rest: &str, domain: &str) -> Result<(String, u8, u8), Abort> {
        // A macro may hold `/` as a delimiter: the CIDR part starts after the last macro.
        let after_macros = rest.rfind('}').map_or(0, |at| at + 1);
        let (spec, cidr) = match rest[after_macros..].find('/') {
            Some(at) => rest.split_at(after_macros + at),
            None => (rest, ""),
        };
        let (v4, v6) = parse_dual_cidr(cidr).ok_or(Abort(Outcome::PermError))?;
        let target = match spec.strip_prefix(':') {
            Some(spec) => self.expand(spec, domain)?,
            None if spec.is_empty() => domain.to_owned(),
            None => return Err(Abort(Outcome::PermError)),
        };
        Ok((target, v4, v6))
    }

    async fn address_matches(&self, host: &str, v4: u8, v6: u8) -> Result<bool, Abort> {
        match self.ip {
            IpAddr::V4(ip) => {
                let addresses = self.answered(self.dns.a(host).await)?;
                Ok(addresses
                    .into_iter()
                    .any(|a| in_network(IpAddr::V4(a), v4, IpAddr::V4(ip))))
            }
            IpAddr::V6(ip) => {
                let addresses = self.answered(self.dns.aaaa(host).await)?;
                Ok(addresses
                    .into_iter()
                    .any(|a| in_network(IpAddr::V6(a), v6, IpAddr::V6(ip))))
            }
        }
    }

    fn expand(&self, spec: &str, domain: &str) -> Result<String, Abort> {
        let expanded = expand(spec, &self.macros(domain)).ok_or(Abort(Outcome::PermError))?;
        Ok(shorten(&expanded))
    }

    fn macros(&self, domain: &str) -> Macros {
        let (local, sender_domain) = self.sender.rsplit_once('@').unwrap_or(("postmaster", ""));
        Macros {
            sender: self.sender.clone(),
            local: local.to_owned(),
            sender_domain: sender_domain.to_owned(),
            domain: domain.to_owned(),
            ip: self.ip,
            helo: self.helo.clone(),
        }
    }
}

/// `name=value`, when `term` is a modifier (a name of letters, digits, `-_.`, then `=`).
fn modifier(term: &str) -> Option<(&str, &str)> {
    let (name, value) = term.split_once('=')?;
    let is_name = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    is_name.then_some((name, value))
}

fn qualified(term: &str) -> (Outcome, &str) {
    match term.as_bytes().first() {
        Some(b'+') => (Outcome::Pass, &term[1..]),
        Some(b'-') => (Outcome::Fail, &term[1..]),
        Some(b'~') => (Outcome::SoftFail, &term[1..]),
        Some(b'?') => (Outcome::Neutral, &term[1..]),
        _ => (Outcome::Pass, term),
    }
}

/// The mechanism's name and what follows it (`:…` or `/…` or nothing).
fn split_mechanism(mechanism: &str) -> (&str, &str) {
    let at = mechanism.find([':', '/']).unwrap_or(mechanism.len());
    (&mechanism[..at], &mechanism[at..])
}

fn parse_network(value: &str, kind: &str) -> Option<IpNet> {
    let (address, length) = match value.split_once('/') {
        Some((address, length)) => (address, Some(length)),
        None => (value, None),
    };
    let ip: IpAddr = match kind {
        "ip4" => IpAddr::V4(address.parse::<Ipv4Addr>().ok()?),
        _ => IpAddr::V6(address.parse::<Ipv6Addr>().ok()?),
    };
    let full = if ip.is_ipv4() { 32 } else { 128 };
    let length = match length {
        Some(text) if text.starts_with('0') && text.len() > 1 => return None,
        Some(text) => text.parse::<u8>().ok()?,
        None => full,
    };
    IpNet::new(ip, length).ok().map(|net| net.trunc())
}

/// `/n`, `//m` or `/n//m` after `a` or `mx`.
fn parse_dual_cidr(cidr: &str) -> Option<(u8, u8)> {
    if cidr.is_empty() {
        return Some((32, 128));
    }
    let (v4, v6) = match cidr.split_once("//") {
        Some((v4, v6)) => (v4, Some(v6)),
        None => (cidr, None),
    };
    let v4 = match v4.strip_prefix('/') {
        Some(n) => n.parse::<u8>().ok().filter(|n| *n <= 32)?,
        None if v4.is_empty() => 32,
        None => return None,
    };
    let v6 = match v6 {
        Some(n) => n.parse::<u8>().ok().filter(|n| *n <= 128)?,
        None => 128,
    };
    Some((v4, v6))
}

fn in_network(address: IpAddr, length: u8, ip: IpAddr) -> bool {
    IpNet::new(address, length).is_ok_and(|net| net.trunc().contains(&ip))
}

/// Labels dropped from the left until the name fits in 253 octets (section 4.8).
fn shorten(name: &str) -> String {
    let mut name = name.trim_end_matches('.');
    while name.len() > 253 {
        match name.split_once('.') {
            Some((_, rest)) => name = rest,
            None => return String::new(),
        }
    }
    name.to_owned()
}

/// What the macro letters stand for (section 7.3).
#[derive(Debug, Clone)]
struct Macros {
    sender: String,
    local: String,
    sender_domain: String,
    domain: String,
    ip: IpAddr,
    helo: String,
}

impl Macros {
    fn letter(&self, letter: char) -> Option<String> {
        Some(match letter.to_ascii_lowercase() {
            's' => self.sender.clone(),
            'l' => self.local.clone(),
            'o' => self.sender_domain.clone(),
            'd' => self.domain.clone(),
            'i' => dotted(self.ip),
            'v' => if self.ip.is_ipv4() { "in-addr" } else { "ip6" }.to_owned(),
            'h' => self.helo.clone(),
            // Validated domain name of the client: never looked up here (like `ptr`).
            'p' => "unknown".to_owned(),
            _ => return None,
        })
    }
}

/// IPv4 in dotted quad; IPv6 as dot-separated nibbles (section 7.3).
fn dotted(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => v6
            .octets()
            .iter()
            .flat_map(|b| [b >> 4, b & 0xf])
            .map(|n| format!("{n:x}"))
            .collect::<Vec<_>>()
            .join("."),
    }
}

/// Expands the macros of a domain-spec: `%{letter[digits][r][delimiters]}`, `%%`, `%_`, `%-`; none for an
/// invalid one (a permerror).
fn expand(spec: &str, macros: &Macros) -> Option<String> {
    let mut out = String::new();
    let mut chars = spec.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '%' => out.push('%'),
            '_' => out.push(' '),
            '-' => out.push_str("%20"),
            '{' => {
                let body: String = chars.by_ref().take_while(|&c| c != '}').collect();
                out.push_str(&expand_one(&body, macros)?);
            }
            _ => return None,
        }
    }
    Some(out)
}

fn expand_one(body: &str, macros: &Macros) -> Option<String> {
    let mut chars = body.chars();
    let letter = chars.next()?;
    let value = macros.letter(letter)?;
    let rest: String = chars.collect();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let rest = &rest[digits.len()..];
    let (reverse, delimiters) = match rest.strip_prefix(['r', 'R']) {
        Some(delimiters) => (true, delimiters),
        None => (false, rest),
    };
    if !delimiters.chars().all(|c| ".-+,/_=".contains(c)) {
        return None;
    }
    let delimiters = if delimiters.is_empty() {
        "."
    } else {
        delimiters
    };
    let mut parts: Vec<&str> = value.split(|c| delimiters.contains(c)).collect();
    if reverse {
        parts.reverse();
    }
    if !digits.is_empty() {
        let keep: usize = digits.parse().ok().filter(|n| *n > 0)?;
        let skip = parts.len().saturating_sub(keep);
        parts.drain(..skip);
    }
    let joined = parts.join(".");
    Some(if letter.is_ascii_uppercase() {
        url_escape(&joined)
    } else {
        joined
    })
}

/// Uppercase macro letters are URL-escaped (section 7.3): everything but unreserved characters.
fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sender_auth::canonical::split;
    use crate::sender_auth::resolver::{DnsLimits, MemoryResolver};

    const POSTFIX: &[u8] = b"Received: from mail.example.jp (mail.example.jp [203.0.113.5])\r\n\
\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\r\n\
\t key-exchange X25519 server-signature RSA-PSS (2048 bits))\r\n\
\t(No client certificate requested)\r\n\
\tby mx.city.example.lg.jp (Postfix) with ESMTPS id 4Xy;\r\n\tThu, 26 Nov 2026 10:00:00 +0900 (JST)\r\n\
Received: from evil ([198.51.100.66]) by mail.example.jp; Thu, 26 Nov 2026 09:59:00 +0900\r\n\
From: a@example.jp\r\n\r\nbody\r\n";

    #[test]
    fn the_client_is_read_from_the_topmost_received_field_only() {
        let (fields, _) = split(POSTFIX);
        assert_eq!(
            client_from_received(&fields),
            Some(Client {
                ip: "203.0.113.5"
                    .parse()
                    .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                helo: "mail.example.jp".into(),
            })
        );
    }

    #[test]
    fn exim_and_ipv6_forms_are_read_and_a_field_without_an_address_gives_none() {
        let exim = b"Received: from helo.example ([IPv6:2001:db8::25] helo=helo.example)\r\n by mx.city.example with esmtps id 1; Thu, 26 Nov 2026\r\n\r\n";
        let (fields, _) = split(exim);
        let client = client_from_received(&fields);
        assert_eq!(
            client.map(|c| c.ip.to_string()),
            Some("2001:db8::25".into())
        );
        let local =
            b"Received: by mx.city.example (Postfix, from userid 0) id 1; Thu, 26 Nov 2026\r\n\r\n";
        let (fields, _) = split(local);
        assert_eq!(client_from_received(&fields), None);
        let (fields, _) = split(b"From: a@example.jp\r\n\r\n");
        assert_eq!(client_from_received(&fields), None);
    }

    fn received(ip: &str) -> Vec<u8> {
        format!("Received: from mail.example.jp (mail.example.jp [{ip}]) by mx.city.example; Thu, 26 Nov 2026\r\n\r\nbody\r\n").into_bytes()
    }

    async fn spf(dns: &MemoryResolver, ip: &str, mail_from: &str) -> Verdict {
        let raw = received(ip);
        let (fields, _) = split(&raw);
        let lookups = Lookups::new(dns, DnsLimits::default());
        verify(&fields, mail_from, &lookups).await
    }

    async fn outcome(dns: &MemoryResolver, ip: &str) -> Outcome {
        spf(dns, ip, "user@example.jp").await.outcome
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    #[tokio::test]
    async fn ip4_ip6_and_all_with_their_qualifiers() {
        let dns = MemoryResolver::new().with_txt(
            "example.jp",
            "v=spf1 ip4:203.0.113.0/24 ip6:2001:db8::/32 ?ip4:192.0.2.1 ~ip4:192.0.2.2 -all",
        );
        assert_eq!(outcome(&dns, "203.0.113.5").await, Outcome::Pass);
        assert_eq!(outcome(&dns, "2001:db8::1").await, Outcome::Pass);
        assert_eq!(outcome(&dns, "192.0.2.1").await, Outcome::Neutral);
        assert_eq!(outcome(&dns, "192.0.2.2").await, Outcome::SoftFail);
        assert_eq!(outcome(&dns, "198.51.100.1").await, Outcome::Fail);
        let verdict = spf(&dns, "203.0.113.5", "user@example.jp").await;
        assert_eq!(verdict.comment.as_deref(), Some("client 203.0.113.5"));
    }

    #[tokio::test]
    async fn a_and_mx_with_cidr_lengths() {
        let dns = MemoryResolver::new()
            .with_txt("example.jp", "v=spf1 a/28 mx:mail.example.jp//64 -all")
            .with_ip("example.jp", ip("203.0.113.16"))
            .with_mx("mail.example.jp", 10, "mx1.example.jp")
            .with_ip("mx1.example.jp", ip("2001:db8:1::25"));
        assert_eq!(outcome(&dns, "203.0.113.20").await, Outcome::Pass);
        assert_eq!(outcome(&dns, "203.0.113.40").await, Outcome::Fail);
        assert_eq!(outcome(&dns, "2001:db8:1::99").await, Outcome::Pass);
        assert_eq!(outcome(&dns, "2001:db8:2::1").await, Outcome::Fail);
    }

    #[tokio::test]
    async fn include_redirect_and_exists() {
        let dns = MemoryResolver::new()
            .with_txt(
                "example.jp",
                "v=spf1 include:_spf.provider.example redirect=_spf.example.jp",
            )
            .with_txt("_spf.provider.example", "v=spf1 ip4:192.0.2.0/24 -all")
            .with_txt(
                "_spf.example.jp",
                "v=spf1 exists:%{ir}.%{v}._allow.example.jp ~all",
            )
            .with_ip("5.113.0.203.in-addr._allow.example.jp", ip("127.0.0.2"));
        assert_eq!(outcome(&dns, "192.0.2.7").await, Outcome::Pass);
        assert_eq!(outcome(&dns, "203.0.113.5").await, Outcome::Pass);
        assert_eq!(outcome(&dns, "203.0.113.6").await, Outcome::SoftFail);
    }

    #[tokio::test]
    async fn none_permerror_and_temperror() {
        let dns = MemoryResolver::new()
            .with_txt("two.example", "v=spf1 -all")
            .with_txt("two.example", "v=spf1 +all")
            .with_txt("unknown.example", "v=spf1 frobnicate -all")
            .with_txt("nowhere.example", "v=spf1 include:missing.example -all")
            .with_txt("other.example", "google-site-verification=x")
            .with_failure("down.example");
        let at = |domain: &str| format!("user@{domain}");
        assert_eq!(
            spf(&dns, "192.0.2.1", &at("two.example")).await.outcome,
            Outcome::PermError
        );
        assert_eq!(
            spf(&dns, "192.0.2.1", &at("unknown.example")).await.outcome,
            Outcome::PermError
        );
        assert_eq!(
            spf(&dns, "192.0.2.1", &at("nowhere.example")).await.outcome,
            Outcome::PermError
        );
        assert_eq!(
            spf(&dns, "192.0.2.1", &at("other.example")).await.outcome,
            Outcome::None
        );
        assert_eq!(
            spf(&dns, "192.0.2.1", &at("absent.example")).await.outcome,
            Outcome::None
        );
        assert_eq!(
            spf(&dns, "192.0.2.1", &at("down.example")).await.outcome,
            Outcome::TempError
        );
    }

    #[tokio::test]
    async fn more_than_ten_dns_mechanisms_is_a_permerror() {
        let mut dns = MemoryResolver::new();
        let mut record = "v=spf1".to_owned();
        for n in 0..11 {
            record.push_str(&format!(" a:host{n}.example.jp"));
            dns = dns.with_ip(&format!("host{n}.example.jp"), ip("192.0.2.1"));
        }
        record.push_str(" -all");
        let dns = dns.with_txt("example.jp", &record);
        assert_eq!(outcome(&dns, "198.51.100.1").await, Outcome::PermError);
        // Ten are allowed: the same record without the eleventh.
        let ten = record.replace(" a:host10.example.jp", "");
        let dns = MemoryResolver::new()
            .with_txt("example.jp", &ten)
            .with_ip("host0.example.jp", ip("192.0.2.1"));
        let dns = (1..10).fold(dns, |d, n| {
            d.with_ip(&format!("host{n}.example.jp"), ip("192.0.2.1"))
        });
        assert_eq!(outcome(&dns, "198.51.100.1").await, Outcome::Fail);
    }

    #[tokio::test]
    async fn a_third_void_lookup_is_a_permerror() {
        let two = MemoryResolver::new()
            .with_txt("example.jp", "v=spf1 a:gone1.example a:gone2.example -all");
        assert_eq!(outcome(&two, "192.0.2.1").await, Outcome::Fail);
        let three = MemoryResolver::new().with_txt(
            "example.jp",
            "v=spf1 a:gone1.example a:gone2.example a:gone3.example -all",
        );
        assert_eq!(outcome(&three, "192.0.2.1").await, Outcome::PermError);
    }

    #[tokio::test]
    async fn ptr_never_matches_and_a_loop_ends_in_permerror() {
        let dns = MemoryResolver::new()
            .with_txt("example.jp", "v=spf1 ptr ?all")
            .with_txt("loop.example", "v=spf1 include:loop.example -all");
        assert_eq!(outcome(&dns, "192.0.2.1").await, Outcome::Neutral);
        assert_eq!(
            spf(&dns, "192.0.2.1", "a@loop.example").await.outcome,
            Outcome::PermError
        );
    }

    #[tokio::test]
    async fn an_address_literal_as_helo_gives_none_for_the_null_sender() {
        let raw = b"Received: from [203.0.113.9] (unknown [203.0.113.5]) by mx.city.example; Thu, 26 Nov 2026\r\n\r\n";
        let (fields, _) = split(raw);
        assert_eq!(
            client_from_received(&fields).map(|c| (c.ip.to_string(), c.helo)),
            Some(("203.0.113.5".into(), "203.0.113.9".into()))
        );
        let dns = MemoryResolver::new();
        let verdict = verify(&fields, "", &Lookups::new(&dns, DnsLimits::default())).await;
        assert_eq!(verdict.outcome, Outcome::None);
        assert_eq!(dns.queries(), 0);
    }

    #[tokio::test]
    async fn the_null_sender_is_checked_as_postmaster_at_the_helo_name() {
        let dns = MemoryResolver::new().with_txt("mail.example.jp", "v=spf1 ip4:203.0.113.5 -all");
        let verdict = spf(&dns, "203.0.113.5", "").await;
        assert_eq!(verdict.outcome, Outcome::Pass);
        assert!(verdict.from_helo);
        assert_eq!(verdict.mail_from, "postmaster@mail.example.jp");
    }

    #[tokio::test]
    async fn without_a_received_field_the_result_is_none_with_a_comment() {
        let dns = MemoryResolver::new().with_txt("example.jp", "v=spf1 -all");
        let (fields, _) = split(b"From: a@example.jp\r\n\r\nbody\r\n");
        let lookups = Lookups::new(&dns, DnsLimits::default());
        let verdict = verify(&fields, "a@example.jp", &lookups).await;
        assert_eq!(verdict.outcome, Outcome::None);
        assert_eq!(
            verdict.comment.as_deref(),
            Some("no client address in the topmost Received field")
        );
        assert_eq!(dns.queries(), 0);
    }

    fn macros() -> Macros {
        Macros {
            sender: "strong-bad@email.example.com".into(),
            local: "strong-bad".into(),
            sender_domain: "email.example.com".into(),
            domain: "email.example.com".into(),
            ip: ip("192.0.2.3"),
            helo: "mx.example.org".into(),
        }
    }

    #[test]
    fn macros_expand_as_in_rfc_7208_section_7_4() {
        let m = macros();
        let cases = [
            ("%{s}", "strong-bad@email.example.com"),
            ("%{o}", "email.example.com"),
            ("%{d}", "email.example.com"),
            ("%{d4}", "email.example.com"),
            ("%{d3}", "email.example.com"),
            ("%{d2}", "example.com"),
            ("%{d1}", "com"),
            ("%{dr}", "com.example.email"),
            ("%{d2r}", "example.email"),
            ("%{l}", "strong-bad"),
            ("%{l-}", "strong.bad"),
            ("%{lr}", "strong-bad"),
            ("%{lr-}", "bad.strong"),
            ("%{l1r-}", "strong"),
            (
                "%{ir}.%{v}._spf.%{d2}",
                "3.2.0.192.in-addr._spf.example.com",
            ),
            ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
            (
                "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
                "3.2.0.192.in-addr.strong.lp._spf.example.com",
            ),
            (
                "%{d2}.trusted-domains.example.net",
                "example.com.trusted-domains.example.net",
            ),
            ("%{h}", "mx.example.org"),
            ("%%%_%-", "% %20"),
        ];
        for (spec, expected) in cases {
            assert_eq!(expand(spec, &m).as_deref(), Some(expected), "{spec}");
        }
        let v6 = Macros {
            ip: ip("2001:db8::cb01"),
            ..macros()
        };
        assert_eq!(
            expand("%{ir}.%{v}._spf.%{d2}", &v6).as_deref(),
            Some(
                "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
            )
        );
        assert_eq!(
            expand("%{S}", &m).as_deref(),
            Some("strong-bad%40email.example.com")
        );
        assert_eq!(expand("%{x}", &m), None);
        assert_eq!(expand("%a", &m), None);
    }
}
