//! Parsing the paths of `MAIL FROM:` and `RCPT TO:` (RFC 5321 4.1.2), strictly enough that nothing odd
//! reaches the envelope: no controls, no spaces, no source routes, bounded length.

/// The longest path kept (RFC 5321 4.5.3.1.3 allows 256 octets including the brackets).
const MAX_PATH: usize = 254;

/// A parsed command argument: the address inside `<…>` (empty for the null path) and the parameters.
#[derive(Debug, PartialEq, Eq)]
pub struct PathArg<'a> {
    pub address: &'a str,
    pub params: Vec<&'a str>,
}

/// Parses `FROM:<addr> PARAMS` or `TO:<addr> PARAMS` after the verb; `prefix` is `FROM:` or `TO:`.
pub fn parse_path<'a>(arg: &'a str, prefix: &str) -> Option<PathArg<'a>> {
    let head = arg.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = arg[prefix.len()..].trim_start_matches(' ');
    let rest = rest.strip_prefix('<')?;
    let close = rest.find('>')?;
    let address = &rest[..close];
    let params = rest[close + 1..]
        .split(' ')
        .filter(|p| !p.is_empty())
        .collect();
    if address.len() > MAX_PATH
        || address.starts_with('@')
        || !address
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>')
    {
        return None;
    }
    if !address.is_empty() && !is_mailbox(address) {
        return None;
    }
    Some(PathArg { address, params })
}

/// `local@domain` with both sides present.
fn is_mailbox(address: &str) -> bool {
    match address.rsplit_once('@') {
        Some((local, domain)) => !local.is_empty() && !domain.is_empty(),
        None => false,
    }
}

/// The domain of a mailbox, lower-cased, without a trailing dot.
pub fn domain_of(address: &str) -> Option<String> {
    let (_, domain) = address.rsplit_once('@')?;
    Some(domain.trim_end_matches('.').to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_path_with_parameters_is_split() {
        let p = parse_path("FROM:<a@example.jp> SIZE=100 BODY=8BITMIME", "FROM:").unwrap();
        assert_eq!(p.address, "a@example.jp");
        assert_eq!(p.params, ["SIZE=100", "BODY=8BITMIME"]);
        assert_eq!(parse_path("from:<>", "FROM:").unwrap().address, "");
    }

    #[test]
    fn odd_paths_are_refused() {
        assert!(parse_path("TO:<@a,@b:c@d>", "TO:").is_none());
        assert!(parse_path("TO:<a b@d>", "TO:").is_none());
        assert!(parse_path("TO:c@d", "TO:").is_none());
        assert!(parse_path("TO:<nodomain>", "TO:").is_none());
    }

    #[test]
    fn the_domain_is_compared_lower_case() {
        assert_eq!(domain_of("Taro@City.Example.").unwrap(), "city.example");
    }
}
