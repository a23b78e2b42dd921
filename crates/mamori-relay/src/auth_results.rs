//! `Authentication-Results` (RFC 8601) for the rebuilt message.
//!
//! Rebuilding destroys DKIM signatures, so the LGWAN side can only learn how the original fared from a header
//! the relay writes. Two sources, both written when both are there:
//!
//! - the relay's own check ([`crate::sender_auth`]), when it is given DNS resolvers (`--dns-resolver`);
//! - the Internet-zone MTA's verdict (e.g. Postfix with OpenDKIM/OpenDMARC or rspamd), recorded as
//!   `Authentication-Results: <its authserv-id>; …`. The relay carries over exactly the fields whose
//!   authserv-id is one the city configured as trusted (`--trusted-authserv-id`); any other field — which may
//!   have come from the Internet — is ignored.
//!
//! When there is neither, it writes `<relay>; none`.
//!
//! The Internet-zone MTA must delete incoming `Authentication-Results` fields bearing its own authserv-id
//! (RFC 8601 section 5); Postfix with OpenDMARC and rspamd do so.

/// The longest value carried over; anything longer is cut (results are short).
const MAX_VALUE: usize = 2000;

/// The `Authentication-Results` lines (CRLF-terminated) to put in front of the rebuilt message: the relay's
/// own field `own` (already complete and clean) first, then the trusted carried-over ones.
pub fn header_lines(raw: &[u8], trusted: &[String], hostname: &str, own: Option<&str>) -> String {
    let mut out = own.unwrap_or_default().to_owned();
    for value in fields(raw, "authentication-results") {
        let clean = clean(&value);
        let authserv_id = clean.split(';').next().unwrap_or_default();
        let authserv_id = authserv_id.split_whitespace().next().unwrap_or_default();
        if trusted.iter().any(|t| t.eq_ignore_ascii_case(authserv_id)) {
            out.push_str("Authentication-Results: ");
            out.push_str(&clean.replace("; ", ";\r\n\t"));
            out.push_str("\r\n");
        }
    }
    if out.is_empty() {
        out = format!("Authentication-Results: {hostname}; none\r\n");
    }
    out
}

/// The unfolded values of every header field `name` (lower case) of the message's own header block.
fn fields(raw: &[u8], name: &str) -> Vec<Vec<u8>> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw.len(), |at| at + 2);
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    for line in raw[..end].split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            if let Some(value) = current.as_mut() {
                value.push(b' ');
                value.extend_from_slice(line);
            }
            continue;
        }
        out.extend(current.take());
        if let Some(colon) = line.iter().position(|&b| b == b':')
            && line[..colon].eq_ignore_ascii_case(name.as_bytes())
        {
            current = Some(line[colon + 1..].to_vec());
        }
    }
    out.extend(current);
    out
}

/// Visible ASCII and single spaces only, bounded: nothing the upstream wrote can break the header.
fn clean(value: &[u8]) -> String {
    let text: String = value
        .iter()
        .map(|&b| if b.is_ascii_graphic() { b as char } else { ' ' })
        .collect();
    let mut out = text.split_whitespace().collect::<Vec<_>>().join(" ");
    out.truncate(MAX_VALUE);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &[u8] = b"Authentication-Results: evil.example; dkim=pass\r\n\
Authentication-Results: mx.city.example;\r\n spf=pass smtp.mailfrom=example.jp;\r\n dkim=pass header.d=example.jp\r\n\
Subject: x\r\n\r\nAuthentication-Results: mx.city.example; body=not-a-header\r\n";

    #[test]
    fn only_the_trusted_upstream_results_are_carried_over() {
        let lines = header_lines(RAW, &["mx.city.example".to_owned()], "relay", None);
        assert_eq!(
            lines,
            "Authentication-Results: mx.city.example;\r\n\tspf=pass smtp.mailfrom=example.jp;\r\n\tdkim=pass header.d=example.jp\r\n"
        );
    }

    #[test]
    fn without_a_trusted_result_the_relay_says_none() {
        assert_eq!(
            header_lines(RAW, &[], "relay", None),
            "Authentication-Results: relay; none\r\n"
        );
    }

    #[test]
    fn the_relays_own_result_comes_first_and_the_trusted_one_is_kept() {
        let own =
            "Authentication-Results: relay;\r\n\tdkim=pass header.d=example.jp header.s=s1\r\n";
        let lines = header_lines(RAW, &["mx.city.example".to_owned()], "relay", Some(own));
        assert!(lines.starts_with(own));
        assert!(lines.ends_with("Authentication-Results: mx.city.example;\r\n\tspf=pass smtp.mailfrom=example.jp;\r\n\tdkim=pass header.d=example.jp\r\n"));
        assert_eq!(header_lines(RAW, &[], "relay", Some(own)), own);
    }
}
