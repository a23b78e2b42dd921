//! The relay's own check of who sent the original: SPF (RFC 7208), DKIM (RFC 6376) and DMARC (RFC 7489),
//! and the result written as one
//! `Authentication-Results` field (RFC 8601) for the rebuilt message, since rebuilding destroys the
//! signatures.
//!
//! It runs only when the relay is given DNS resolvers (`--dns-resolver`); without them the relay relies on
//! the Internet-zone MTA's verdict alone ([`crate::auth_results`]). **The results never make the relay
//! reject, hold or drop a message**: it forwards every message as before and the LGWAN side decides (a city
//! may filter on the header). A DNS failure gives `temperror`, never a delayed or failed delivery.
//!
//! Why our own code and not a crate: see ADR 0006.

pub mod canonical;
pub mod dkim;
pub mod dmarc;
pub mod resolver;
pub mod spf;

use std::fmt::Write as _;

pub use resolver::{DnsLimits, DnsResolver, Lookups, MemoryResolver, Resolver};

/// What the checks found for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub spf: spf::Verdict,
    /// One verdict per DKIM-Signature checked (none: the message was not signed).
    pub dkim: Vec<dkim::Verdict>,
    pub dmarc: dmarc::Verdict,
}

/// Runs the checks on the original `raw`, received with the envelope sender `mail_from` (empty for `<>`);
/// `now` in seconds since the epoch.
pub async fn check(
    raw: &[u8],
    mail_from: &str,
    resolver: &dyn Resolver,
    limits: DnsLimits,
    now: i64,
) -> Report {
    let dns = Lookups::new(resolver, limits);
    let (fields, _) = canonical::split(raw);
    // SPF and DKIM wait on DNS independently: their lookups share the budget, not the wait.
    let (spf, dkim) = tokio::join!(
        spf::verify(&fields, mail_from, &dns),
        dkim::verify(raw, &dns, now)
    );
    let dmarc = dmarc::verify(&fields, &spf, &dkim, &dns).await;
    Report { spf, dkim, dmarc }
}

impl Report {
    /// The whole `Authentication-Results` field, folded, CRLF-terminated. Every value taken from the message
    /// is reduced to the characters its place allows, so nothing in the message can end the field or add one.
    pub fn header_field(&self, hostname: &str) -> String {
        let mut results: Vec<String> = vec![self.spf_result()];
        if self.dkim.is_empty() {
            results.push("dkim=none (no signature)".to_owned());
        }
        for verdict in &self.dkim {
            let mut result = format!("dkim={}", verdict.outcome.as_str());
            if let Some(comment) = &verdict.comment {
                let _ = write!(result, " ({})", comment_text(comment));
            }
            let domain = token(&verdict.domain);
            if !domain.is_empty() {
                let _ = write!(result, " header.d={domain}");
            }
            let selector = token(&verdict.selector);
            if !selector.is_empty() {
                let _ = write!(result, " header.s={selector}");
            }
            results.push(result);
        }
        results.push(self.dmarc_result());
        format!(
            "Authentication-Results: {};\r\n\t{}\r\n",
            token(hostname),
            results.join(";\r\n\t")
        )
    }
}

impl Report {
    fn spf_result(&self) -> String {
        let spf = &self.spf;
        let mut result = format!("spf={}", spf.outcome.as_str());
        if let Some(comment) = &spf.comment {
            let _ = write!(result, " ({})", comment_text(comment));
        }
        let (key, value) = if spf.from_helo {
            ("smtp.helo", token(&spf.domain))
        } else {
            ("smtp.mailfrom", token(&spf.mail_from))
        };
        if !value.is_empty() {
            let _ = write!(result, " {key}={value}");
        }
        result
    }

    fn dmarc_result(&self) -> String {
        let dmarc = &self.dmarc;
        let mut result = format!("dmarc={}", dmarc.outcome.as_str());
        if let Some(comment) = &dmarc.comment {
            let _ = write!(result, " ({})", comment_text(comment));
        }
        let from = token(&dmarc.from_domain);
        if !from.is_empty() {
            let _ = write!(result, " header.from={from}");
        }
        result
    }
}

/// The longest value taken from the message into the header.
const MAX_TOKEN: usize = 255;

/// A domain, selector or address: letters, digits and `.-_@+` only; anything else dropped.
pub fn token(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@' | '+'))
        .take(MAX_TOKEN)
        .collect()
}

/// A comment's text: no parentheses, backslashes or control characters; spaces squeezed.
fn comment_text(text: &str) -> String {
    let kept: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '(' | ')' | '\\') {
                c
            } else {
                ' '
            }
        })
        .take(MAX_TOKEN)
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::dkim::{Outcome, Verdict};
    use super::*;

    fn dmarc_none() -> dmarc::Verdict {
        dmarc::Verdict {
            outcome: dmarc::Outcome::None,
            from_domain: "example.jp".into(),
            comment: Some("no DMARC record".into()),
        }
    }

    fn spf_none() -> spf::Verdict {
        spf::Verdict {
            outcome: spf::Outcome::None,
            mail_from: "a@example.jp".into(),
            domain: "example.jp".into(),
            from_helo: false,
            comment: None,
        }
    }

    #[test]
    fn values_from_the_message_cannot_break_the_header() {
        let report = Report {
            spf: spf::Verdict {
                mail_from: "x\r\n@example.jp;dkim=pass".into(),
                ..spf_none()
            },
            dkim: vec![Verdict {
                outcome: Outcome::Fail,
                domain: "evil.example\r\nX-Injected: yes".into(),
                selector: "s1; dmarc=pass".into(),
                comment: Some("bad) (\r\nX: y".into()),
            }],
            dmarc: dmarc::Verdict {
                from_domain: "example.jp\r\n".into(),
                ..dmarc_none()
            },
        };
        let field = report.header_field("relay.city.example");
        assert_eq!(
            field,
            "Authentication-Results: relay.city.example;\r\n\tspf=none smtp.mailfrom=x@example.jpdkimpass;\r\n\tdkim=fail (bad X: y) header.d=evil.exampleX-Injectedyes header.s=s1dmarcpass;\r\n\tdmarc=none (no DMARC record) header.from=example.jp\r\n"
        );
        assert_eq!(field.matches("\r\n").count(), 4);
    }

    #[test]
    fn an_unsigned_message_is_dkim_none() {
        let report = Report {
            spf: spf_none(),
            dkim: Vec::new(),
            dmarc: dmarc_none(),
        };
        assert_eq!(
            report.header_field("relay"),
            "Authentication-Results: relay;\r\n\tspf=none smtp.mailfrom=a@example.jp;\r\n\tdkim=none (no signature);\r\n\tdmarc=none (no DMARC record) header.from=example.jp\r\n"
        );
    }

    #[test]
    fn a_short_helo_name_is_still_named() {
        let report = Report {
            spf: spf::Verdict {
                from_helo: true,
                domain: "a.jp".into(),
                mail_from: String::new(),
                ..spf_none()
            },
            dkim: Vec::new(),
            dmarc: dmarc_none(),
        };
        assert!(
            report
                .header_field("relay")
                .contains("spf=none smtp.helo=a.jp;"),
            "{}",
            report.header_field("relay")
        );
    }
}
