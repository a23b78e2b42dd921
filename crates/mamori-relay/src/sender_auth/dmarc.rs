//! DMARC (RFC 7489): does an SPF or DKIM pass belong to the domain in `From:` — the one the reader sees?
//!
//! The policy is read from `_dmarc.<From domain>`, else from `_dmarc.<organisational domain>`; the
//! organisational domain comes from the Public Suffix List (the `psl` crate, which carries the list), so
//! that `mail.city.example.lg.jp` belongs to `example.lg.jp` and `www.example.co.jp` to `example.co.jp`.
//! The relay only reports the result and the policy (in a comment): it never acts on `p=reject`.

use super::canonical::Field;
use super::resolver::{DnsError, Lookups};
use super::{dkim, spf};

/// The result (RFC 8601 section 2.7.1, as DMARC uses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    None,
    TempError,
    PermError,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::None => "none",
            Self::TempError => "temperror",
            Self::PermError => "permerror",
        }
    }
}

/// What DMARC found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub outcome: Outcome,
    /// The RFC5322.From domain (empty when there is not exactly one).
    pub from_domain: String,
    /// The published policy, e.g. `p=reject` or `p=quarantine sp=none`, or why there is no result.
    pub comment: Option<String>,
}

/// `r` (organisational domains equal) or `s` (domains equal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alignment {
    Relaxed,
    Strict,
}

/// A DMARC record's tags the result depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Policy {
    p: String,
    sp: Option<String>,
    adkim: Alignment,
    aspf: Alignment,
}

/// The organisational domain of `domain` (RFC 7489 section 3.2): the registrable domain by the Public
/// Suffix List; a name that is itself a public suffix (or unknown to the list) is its own.
pub fn organisational_domain(domain: &str) -> String {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    match psl::domain_str(&domain) {
        Some(registrable) => registrable.to_owned(),
        None => domain,
    }
}

fn aligned(mode: Alignment, authenticated: &str, from: &str) -> bool {
    let authenticated = authenticated.trim_end_matches('.').to_ascii_lowercase();
    match mode {
        Alignment::Strict => authenticated == from,
        Alignment::Relaxed => organisational_domain(&authenticated) == organisational_domain(from),
    }
}

/// The domain of the one author in the one `From:` field; an error says why there is not exactly one.
pub fn from_domain(fields: &[Field<'_>]) -> Result<String, &'static str> {
    let mut from = fields.iter().filter(|f| f.is("from"));
    let field = from.next().ok_or("no From field")?;
    if from.next().is_some() {
        return Err("more than one From field");
    }
    let mut domains: Vec<String> = mailboxes(&field.value())
        .iter()
        .map(|address| {
            address.rsplit_once('@').map_or(String::new(), |(_, d)| {
                d.trim().trim_end_matches('.').to_ascii_lowercase()
            })
        })
        .collect();
    domains.dedup();
    match domains.as_slice() {
        [domain] if !domain.is_empty() && domain.contains('.') => Ok(domain.clone()),
        [] | [_] => Err("no author domain in From"),
        _ => Err("From names several domains"),
    }
}

/// The addr-specs of a mailbox list: the part in `<…>` when there is one, else the mailbox itself, with
/// comments, quoted strings and group syntax left out.
fn mailboxes(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut angle: Option<String> = None;
    let (mut quoted, mut escaped, mut depth) = (false, false, 0usize);
    let mut finish = |current: &mut String, angle: &mut Option<String>| {
        let address = angle.take().unwrap_or_else(|| current.trim().to_owned());
        if !address.trim().is_empty() {
            out.push(address.trim().to_owned());
        }
        current.clear();
    };
    for c in value.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted || depth > 0 => escaped = true,
            '"' if depth == 0 => quoted = !quoted,
            _ if quoted => {}
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            '<' => angle = Some(String::new()),
            '>' => {}
            ':' if angle.is_none() => current.clear(), // a group's display name
            ',' | ';' => finish(&mut current, &mut angle),
            _ => match angle.as_mut() {
                Some(address) => address.push(c),
                None if !c.is_whitespace() => current.push(c),
                None => {}
            },
        }
    }
    finish(&mut current, &mut angle);
    out
}

/// Checks DMARC for the message's `From:` with the SPF and DKIM results already found.
pub async fn verify(
    fields: &[Field<'_>],
    spf: &spf::Verdict,
    dkim: &[dkim::Verdict],
    dns: &Lookups<'_>,
) -> Verdict {
    let from = match from_domain(fields) {
        Ok(domain) => domain,
        Err(why) => {
            return Verdict {
                outcome: Outcome::PermError,
                from_domain: String::new(),
                comment: Some(why.to_owned()),
            };
        }
    };
    let verdict = |outcome, comment: Option<String>| Verdict {
        outcome,
        from_domain: from.clone(),
        comment,
    };
    let (policy, at_organisation) = match discover(&from, dns).await {
        Ok(Some(found)) => found,
        Ok(None) => return verdict(Outcome::None, Some("no DMARC record".into())),
        Err(why) => return verdict(Outcome::TempError, Some(why)),
    };
    let mut comment = format!("p={}", policy.p);
    if let Some(sp) = &policy.sp {
        comment.push_str(&format!(" sp={sp}"));
    }
    if at_organisation {
        comment.push_str(&format!(" of {}", organisational_domain(&from)));
    }
    let spf_aligned = spf.outcome == spf::Outcome::Pass && aligned(policy.aspf, &spf.domain, &from);
    let dkim_aligned = dkim
        .iter()
        .any(|v| v.outcome == dkim::Outcome::Pass && aligned(policy.adkim, &v.domain, &from));
    let outcome = if spf_aligned || dkim_aligned {
        Outcome::Pass
    } else {
        Outcome::Fail
    };
    verdict(outcome, Some(comment))
}

/// The record of the From domain, else of its organisational domain (section 6.6.3); the flag says the
/// second.
async fn discover(from: &str, dns: &Lookups<'_>) -> Result<Option<(Policy, bool)>, String> {
    if let Some(policy) = record(from, dns).await? {
        return Ok(Some((policy, false)));
    }
    let organisation = organisational_domain(from);
    if organisation == from {
        return Ok(None);
    }
    Ok(record(&organisation, dns).await?.map(|p| (p, true)))
}

async fn record(domain: &str, dns: &Lookups<'_>) -> Result<Option<Policy>, String> {
    let records = match dns.txt(&format!("_dmarc.{domain}")).await {
        Ok(records) => records,
        Err(DnsError::Temporary(why)) => return Err(why),
        Err(_) => return Ok(None),
    };
    let mut found = records.iter().filter_map(|r| parse(r));
    let first = found.next();
    // Several records: as if there were none (section 6.6.3).
    if found.next().is_some() {
        return Ok(None);
    }
    Ok(first)
}

/// A `v=DMARC1` record; none when it is not one or has no valid `p=`.
fn parse(record: &str) -> Option<Policy> {
    let mut tags = record
        .split(';')
        .map(|t| t.trim())
        .filter(|t| !t.is_empty());
    if tags.next()?.replace(' ', "") != "v=DMARC1" {
        return None;
    }
    let mut policy = Policy {
        p: String::new(),
        sp: None,
        adkim: Alignment::Relaxed,
        aspf: Alignment::Relaxed,
    };
    let valid = |v: &str| matches!(v, "none" | "quarantine" | "reject");
    for tag in tags {
        let Some((name, value)) = tag.split_once('=') else {
            continue;
        };
        let value = value.trim().to_ascii_lowercase();
        match name.trim().to_ascii_lowercase().as_str() {
            "p" if valid(&value) => policy.p = value,
            "sp" if valid(&value) => policy.sp = Some(value),
            "adkim" if value == "s" => policy.adkim = Alignment::Strict,
            "aspf" if value == "s" => policy.aspf = Alignment::Strict,
            _ => {}
        }
    }
    (!policy.p.is_empty()).then_some(policy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sender_auth::canonical::split;
    use crate::sender_auth::resolver::{DnsLimits, MemoryResolver};

    #[test]
    fn organisational_domains_follow_the_public_suffix_list() {
        assert_eq!(organisational_domain("city.example.lg.jp"), "example.lg.jp");
        assert_eq!(
            organisational_domain("mail.city.example.lg.jp"),
            "example.lg.jp"
        );
        assert_eq!(organisational_domain("example.co.jp"), "example.co.jp");
        assert_eq!(organisational_domain("www.Example.CO.JP."), "example.co.jp");
        assert_eq!(organisational_domain("news.example.com"), "example.com");
        assert_eq!(organisational_domain("co.jp"), "co.jp");
    }

    #[test]
    fn alignment_relaxed_and_strict() {
        assert!(aligned(
            Alignment::Relaxed,
            "mail.example.co.jp",
            "example.co.jp"
        ));
        assert!(!aligned(
            Alignment::Strict,
            "mail.example.co.jp",
            "example.co.jp"
        ));
        assert!(aligned(Alignment::Strict, "Example.co.jp", "example.co.jp"));
        // Two companies under co.jp share a public suffix, not an organisation.
        assert!(!aligned(Alignment::Relaxed, "other.co.jp", "example.co.jp"));
        assert!(aligned(
            Alignment::Relaxed,
            "bounce.city.example.lg.jp",
            "city.example.lg.jp"
        ));
    }

    fn from_of(header: &str) -> Result<String, &'static str> {
        let raw = format!("{header}\r\nSubject: x\r\n\r\nbody\r\n");
        let (fields, _) = split(raw.as_bytes());
        from_domain(&fields)
    }

    #[test]
    fn the_from_domain_needs_exactly_one_author_domain() {
        assert_eq!(
            from_of("From: =?UTF-8?B?5L2Q6Jek?= <Sato@Example.JP>").as_deref(),
            Ok("example.jp")
        );
        assert_eq!(
            from_of("From: \"a@evil.example, b\" <b@example.jp>").as_deref(),
            Ok("example.jp")
        );
        assert_eq!(
            from_of("From: b@example.jp (a@evil.example)").as_deref(),
            Ok("example.jp")
        );
        assert_eq!(
            from_of("From: a@example.jp, b@example.jp").as_deref(),
            Ok("example.jp")
        );
        assert_eq!(
            from_of("From: a@example.jp, b@evil.example"),
            Err("From names several domains")
        );
        assert_eq!(
            from_of("From: a@example.jp\r\nFrom: b@example.jp"),
            Err("more than one From field")
        );
        assert_eq!(
            from_of("From: undisclosed"),
            Err("no author domain in From")
        );
        assert_eq!(from_of("To: a@example.jp"), Err("no From field"));
    }

    fn spf_pass(domain: &str) -> spf::Verdict {
        spf::Verdict {
            outcome: spf::Outcome::Pass,
            mail_from: format!("bounce@{domain}"),
            domain: domain.to_owned(),
            from_helo: false,
            comment: None,
        }
    }

    fn dkim_pass(domain: &str) -> dkim::Verdict {
        dkim::Verdict {
            outcome: dkim::Outcome::Pass,
            domain: domain.to_owned(),
            selector: "s1".into(),
            comment: None,
        }
    }

    async fn dmarc(
        dns: &MemoryResolver,
        from: &str,
        spf: &spf::Verdict,
        dkim: &[dkim::Verdict],
    ) -> Verdict {
        let raw = format!("From: {from}\r\n\r\nbody\r\n");
        let (fields, _) = split(raw.as_bytes());
        verify(&fields, spf, dkim, &Lookups::new(dns, DnsLimits::default())).await
    }

    #[tokio::test]
    async fn an_aligned_spf_or_dkim_pass_is_a_dmarc_pass_with_the_policy_in_a_comment() {
        let dns = MemoryResolver::new().with_txt(
            "_dmarc.example.co.jp",
            "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.co.jp",
        );
        let from = "a@example.co.jp";
        let pass = dmarc(&dns, from, &spf_pass("bounce.example.co.jp"), &[]).await;
        assert_eq!(pass.outcome, Outcome::Pass);
        assert_eq!(pass.comment.as_deref(), Some("p=reject sp=quarantine"));
        let by_dkim = dmarc(
            &dns,
            from,
            &spf_pass("esp.example"),
            &[dkim_pass("example.co.jp")],
        )
        .await;
        assert_eq!(by_dkim.outcome, Outcome::Pass);
        let neither = dmarc(
            &dns,
            from,
            &spf_pass("esp.example"),
            &[dkim_pass("other.co.jp")],
        )
        .await;
        assert_eq!(neither.outcome, Outcome::Fail);
    }

    #[tokio::test]
    async fn strict_alignment_needs_the_same_domain() {
        let dns = MemoryResolver::new().with_txt(
            "_dmarc.example.jp",
            "v=DMARC1; p=quarantine; adkim=s; aspf=s",
        );
        let from = "a@example.jp";
        let sub = dmarc(
            &dns,
            from,
            &spf_pass("mail.example.jp"),
            &[dkim_pass("mail.example.jp")],
        )
        .await;
        assert_eq!(sub.outcome, Outcome::Fail);
        let same = dmarc(
            &dns,
            from,
            &spf_pass("mail.example.jp"),
            &[dkim_pass("example.jp")],
        )
        .await;
        assert_eq!(same.outcome, Outcome::Pass);
    }

    #[tokio::test]
    async fn a_subdomain_without_a_record_uses_the_organisational_domains() {
        let dns =
            MemoryResolver::new().with_txt("_dmarc.example.lg.jp", "v=DMARC1; p=reject; sp=none");
        let verdict = dmarc(
            &dns,
            "koho@city.example.lg.jp",
            &spf_pass("other.example"),
            &[],
        )
        .await;
        assert_eq!(verdict.outcome, Outcome::Fail);
        assert_eq!(
            verdict.comment.as_deref(),
            Some("p=reject sp=none of example.lg.jp")
        );
        assert_eq!(verdict.from_domain, "city.example.lg.jp");
    }

    #[tokio::test]
    async fn no_record_is_none_a_dns_failure_temperror_and_a_bad_from_permerror() {
        let empty = MemoryResolver::new().with_txt("_dmarc.example.jp", "v=spf1 -all");
        let none = dmarc(&empty, "a@example.jp", &spf_pass("example.jp"), &[]).await;
        assert_eq!(none.outcome, Outcome::None);
        let down = MemoryResolver::new().with_failure("_dmarc.example.jp");
        let temp = dmarc(&down, "a@example.jp", &spf_pass("example.jp"), &[]).await;
        assert_eq!(temp.outcome, Outcome::TempError);
        let bad = dmarc(
            &empty,
            "a@example.jp, b@evil.example",
            &spf_pass("example.jp"),
            &[],
        )
        .await;
        assert_eq!(bad.outcome, Outcome::PermError);
    }

    #[test]
    fn records_need_v_first_and_a_valid_p() {
        assert!(parse("v=DMARC1; p=none").is_some());
        assert!(parse("p=none; v=DMARC1").is_none());
        assert!(parse("v=DMARC1; p=bogus").is_none());
        assert_eq!(
            parse("v=DMARC1;p=Reject;adkim=s").map(|p| (p.p, p.adkim)),
            Some(("reject".into(), Alignment::Strict))
        );
    }
}
