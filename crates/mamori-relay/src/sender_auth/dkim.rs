//! DKIM verification (RFC 6376, with RFC 8301's algorithm rules and RFC 8463's Ed25519).
//!
//! Each `DKIM-Signature` of the original (at most [`MAX_SIGNATURES`]) is checked on its own: tags parsed,
//! the key read from `<s>._domainkey.<d>`, the body hash and the signature over the selected header fields
//! verified. Only `rsa-sha256` (keys of 1024 bits and more) and `ed25519-sha256` are accepted; `rsa-sha1` is
//! refused (RFC 8301).

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{self, UnparsedPublicKey};
use sha2::{Digest as _, Sha256};

use super::canonical::{self, Canon, Field};
use super::resolver::{DnsError, Lookups};

/// Signatures checked per message; more are ignored (a flood of signatures costs DNS and CPU).
pub const MAX_SIGNATURES: usize = 5;

/// The outcome of one signature (RFC 8601 section 2.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    Neutral,
    TempError,
    PermError,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Neutral => "neutral",
            Self::TempError => "temperror",
            Self::PermError => "permerror",
        }
    }
}

/// The result of one signature, with what the `Authentication-Results` field reports of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub outcome: Outcome,
    /// `d=` (empty when it could not be read).
    pub domain: String,
    /// `s=` (empty when it could not be read).
    pub selector: String,
    /// Why, when not a plain pass; also a pass that covered only `l=` bytes of the body.
    pub comment: Option<String>,
}

impl Verdict {
    fn new(outcome: Outcome, tags: &Tags, comment: Option<String>) -> Self {
        Self {
            outcome,
            domain: tags.domain.clone(),
            selector: tags.selector.clone(),
            comment,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    RsaSha256,
    Ed25519Sha256,
}

/// A DKIM-Signature's tags, as far as they could be read.
#[derive(Debug, Default)]
struct Tags {
    domain: String,
    selector: String,
}

/// A signature whose tags are all valid.
#[derive(Debug)]
struct Signature {
    algorithm: Algorithm,
    signature: Vec<u8>,
    body_hash: Vec<u8>,
    header_canon: Canon,
    body_canon: Canon,
    headers: Vec<String>,
    length: Option<usize>,
}

/// Why a signature is not checked further.
struct Stop(Outcome, String);

/// Checks every DKIM-Signature of the message (`now` in seconds since the epoch, for `x=`).
pub async fn verify(raw: &[u8], dns: &Lookups<'_>, now: i64) -> Vec<Verdict> {
    let (fields, body) = canonical::split(raw);
    let mut bodies = Bodies {
        raw: body,
        simple: None,
        relaxed: None,
    };
    let mut verdicts = Vec::new();
    let signatures = fields
        .iter()
        .filter(|f| f.is("dkim-signature"))
        .take(MAX_SIGNATURES);
    for field in signatures {
        verdicts.push(verify_one(field, &fields, &mut bodies, dns, now).await);
    }
    verdicts
}

/// The body in each canonical form, made once for all the signatures that use it (a body may be large).
struct Bodies<'m> {
    raw: &'m [u8],
    simple: Option<Vec<u8>>,
    relaxed: Option<Vec<u8>>,
}

impl Bodies<'_> {
    fn get(&mut self, canon: Canon) -> &[u8] {
        let raw = self.raw;
        let slot = match canon {
            Canon::Simple => &mut self.simple,
            Canon::Relaxed => &mut self.relaxed,
        };
        slot.get_or_insert_with(|| canonical::body(canon, raw))
    }
}

async fn verify_one(
    field: &Field<'_>,
    fields: &[Field<'_>],
    bodies: &mut Bodies<'_>,
    dns: &Lookups<'_>,
    now: i64,
) -> Verdict {
    let map = match tag_list(&field.value()) {
        Ok(map) => map,
        Err(Stop(outcome, why)) => return Verdict::new(outcome, &Tags::default(), Some(why)),
    };
    let tags = Tags {
        domain: map
            .get("d")
            .map(|d| d.to_ascii_lowercase())
            .unwrap_or_default(),
        selector: map.get("s").cloned().unwrap_or_default(),
    };
    let signature = match parse(&map, &tags, now) {
        Ok(signature) => signature,
        Err(Stop(outcome, why)) => return Verdict::new(outcome, &tags, Some(why)),
    };
    let canonical_body = bodies.get(signature.body_canon);
    let mut hashed: &[u8] = canonical_body;
    let mut comment = None;
    if let Some(length) = signature.length {
        if length > canonical_body.len() {
            return Verdict::new(Outcome::Fail, &tags, Some("body shorter than l=".into()));
        }
        hashed = &canonical_body[..length];
        comment = Some(format!(
            "l={length}: only {length} of {} body bytes signed",
            canonical_body.len()
        ));
    }
    if Sha256::digest(hashed).as_slice() != signature.body_hash.as_slice() {
        return Verdict::new(Outcome::Fail, &tags, Some("body hash mismatch".into()));
    }
    let key = match key(dns, &tags, signature.algorithm).await {
        Ok(key) => key,
        Err(Stop(outcome, why)) => return Verdict::new(outcome, &tags, Some(why)),
    };
    let data = signed_data(&signature, field, fields);
    let verified = match signature.algorithm {
        Algorithm::RsaSha256 => UnparsedPublicKey::new(
            &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
            &key,
        )
        .verify(&data, &signature.signature),
        // RFC 8463 section 3: Ed25519 signs the SHA-256 hash of the data, not the data.
        Algorithm::Ed25519Sha256 => UnparsedPublicKey::new(&signature::ED25519, &key)
            .verify(Sha256::digest(&data).as_slice(), &signature.signature),
    };
    match verified {
        Ok(()) => Verdict::new(Outcome::Pass, &tags, comment),
        Err(_) => Verdict::new(
            Outcome::Fail,
            &tags,
            Some("signature did not verify".into()),
        ),
    }
}

/// `tag=value; …` (RFC 6376 section 3.2): names trimmed, values with folding whitespace removed at the ends.
/// A duplicated tag makes the list invalid (a permerror).
fn tag_list(text: &str) -> Result<HashMap<String, String>, Stop> {
    let mut map = HashMap::new();
    for item in text.split(';') {
        let item = item.trim_matches(|c: char| c.is_ascii_whitespace());
        if item.is_empty() {
            continue;
        }
        let (name, value) = item.split_once('=').unwrap_or((item, ""));
        let name = name.trim().to_owned();
        let value = value
            .trim_matches(|c: char| c.is_ascii_whitespace())
            .to_owned();
        if map.insert(name, value).is_some() {
            return Err(perm("duplicate tag"));
        }
    }
    Ok(map)
}

fn without_whitespace(text: &str) -> String {
    text.chars().filter(|c| !c.is_ascii_whitespace()).collect()
}

fn perm(why: &str) -> Stop {
    Stop(Outcome::PermError, why.to_owned())
}

fn parse(map: &HashMap<String, String>, tags: &Tags, now: i64) -> Result<Signature, Stop> {
    for required in ["v", "a", "b", "bh", "d", "h", "s"] {
        if !map.contains_key(required) {
            return Err(perm(&format!("missing {required}= tag")));
        }
    }
    if map.get("v").map(String::as_str) != Some("1") {
        return Err(perm("unsupported version"));
    }
    let algorithm = match map.get("a").map(String::as_str) {
        Some("rsa-sha256") => Algorithm::RsaSha256,
        Some("ed25519-sha256") => Algorithm::Ed25519Sha256,
        Some("rsa-sha1") => return Err(perm("rsa-sha1 refused (RFC 8301)")),
        _ => return Err(perm("unknown algorithm")),
    };
    let decode = |tag: &str| {
        STANDARD
            .decode(without_whitespace(map.get(tag).map_or("", String::as_str)))
            .map_err(|_| perm(&format!("{tag}= is not base64")))
    };
    let signature = decode("b")?;
    let body_hash = decode("bh")?;
    let canon = map.get("c").map_or("simple", String::as_str);
    let (head, body) = canon.split_once('/').unwrap_or((canon, "simple"));
    let (Some(header_canon), Some(body_canon)) = (Canon::parse(head), Canon::parse(body)) else {
        return Err(perm("unknown canonicalization"));
    };
    let headers: Vec<String> = map
        .get("h")
        .map_or("", String::as_str)
        .split(':')
        .map(|h| without_whitespace(h).to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    if !headers.iter().any(|h| h == "from") {
        return Err(perm("From is not signed"));
    }
    if tags.domain.is_empty() || tags.selector.is_empty() {
        return Err(perm("empty d= or s="));
    }
    if let Some(identity) = map.get("i") {
        let domain = identity
            .rsplit_once('@')
            .map_or("", |(_, d)| d)
            .to_ascii_lowercase();
        if domain != tags.domain && !domain.ends_with(&format!(".{}", tags.domain)) {
            return Err(perm("i= is not within d="));
        }
    }
    if let Some(query) = map.get("q")
        && !query.split(':').any(|q| q.trim() == "dns/txt")
    {
        return Err(perm("unknown query method"));
    }
    let number = |tag: &str| -> Result<Option<i64>, Stop> {
        map.get(tag)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| perm(&format!("{tag}= is not a number")))
            })
            .transpose()
    };
    let length = number("l")?
        .map(|l| usize::try_from(l).map_err(|_| perm("l= is negative")))
        .transpose()?;
    let created = number("t")?;
    let expires = number("x")?;
    if let (Some(t), Some(x)) = (created, expires)
        && x < t
    {
        return Err(perm("x= before t="));
    }
    if let Some(x) = expires
        && x < now
    {
        return Err(Stop(Outcome::Fail, "signature expired".into()));
    }
    Ok(Signature {
        algorithm,
        signature,
        body_hash,
        header_canon,
        body_canon,
        headers,
        length,
    })
}

/// The public key from `<s>._domainkey.<d>`: the RSAPublicKey (DER) or the 32 Ed25519 bytes.
async fn key(dns: &Lookups<'_>, tags: &Tags, algorithm: Algorithm) -> Result<Vec<u8>, Stop> {
    let name = format!("{}._domainkey.{}", tags.selector, tags.domain);
    let records = match dns.txt(&name).await {
        Ok(records) => records,
        Err(DnsError::Temporary(why)) => {
            return Err(Stop(Outcome::TempError, format!("key lookup: {why}")));
        }
        Err(_) => return Err(perm("no key record")),
    };
    let mut last = perm("no key record");
    for record in records {
        match key_from_record(&record, algorithm) {
            Ok(key) => return Ok(key),
            Err(stop) => last = stop,
        }
    }
    Err(last)
}

fn key_from_record(record: &str, algorithm: Algorithm) -> Result<Vec<u8>, Stop> {
    let map = tag_list(record)?;
    if map.get("v").is_some_and(|v| v != "DKIM1") {
        return Err(perm("key record is not DKIM1"));
    }
    let kind = map.get("k").map_or("rsa", String::as_str);
    let wanted = match algorithm {
        Algorithm::RsaSha256 => "rsa",
        Algorithm::Ed25519Sha256 => "ed25519",
    };
    if kind != wanted {
        return Err(perm("key type does not match a="));
    }
    if let Some(hashes) = map.get("h")
        && !hashes.split(':').any(|h| h.trim() == "sha256")
    {
        return Err(perm("key does not allow sha256"));
    }
    if let Some(services) = map.get("s")
        && !services
            .split(':')
            .any(|s| matches!(s.trim(), "*" | "email"))
    {
        return Err(perm("key is not for email"));
    }
    let Some(p) = map.get("p") else {
        return Err(perm("key record without p="));
    };
    let p = without_whitespace(p);
    if p.is_empty() {
        return Err(perm("key revoked"));
    }
    let bytes = STANDARD.decode(p).map_err(|_| perm("p= is not base64"))?;
    match algorithm {
        Algorithm::Ed25519Sha256 if bytes.len() == 32 => Ok(bytes),
        Algorithm::Ed25519Sha256 => Err(perm("Ed25519 key is not 32 bytes")),
        Algorithm::RsaSha256 => Ok(rsa_public_key(&bytes)),
    }
}

/// The RSAPublicKey inside a SubjectPublicKeyInfo (what `p=` usually holds); a bare RSAPublicKey as is.
fn rsa_public_key(der: &[u8]) -> Vec<u8> {
    let inner = || -> Option<Vec<u8>> {
        let (tag, outer, _) = der_item(der)?;
        if tag != 0x30 {
            return None;
        }
        let (tag, _, rest) = der_item(outer)?;
        if tag != 0x30 {
            return None; // RSAPublicKey starts with an INTEGER: not an SPKI
        }
        let (tag, bits, _) = der_item(rest)?;
        if tag != 0x03 || bits.first() != Some(&0) {
            return None;
        }
        Some(bits[1..].to_vec())
    };
    inner().unwrap_or_else(|| der.to_vec())
}

/// One DER item: its tag, its content and what follows it.
fn der_item(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *der.first()?;
    let first = *der.get(1)?;
    let (length, start) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 3 {
            return None;
        }
        let mut length = 0usize;
        for &b in der.get(2..2 + count)? {
            length = (length << 8) | usize::from(b);
        }
        (length, 2 + count)
    };
    let content = der.get(start..start + length)?;
    Some((tag, content, &der[start + length..]))
}

/// The selected header fields (each name in `h=` takes the next instance from the bottom; a missing one adds
/// nothing), then the signature field itself with `b=` emptied and without its final CRLF.
fn signed_data(signature: &Signature, field: &Field<'_>, fields: &[Field<'_>]) -> Vec<u8> {
    let mut data = Vec::new();
    let mut used: HashMap<&str, usize> = HashMap::new();
    for name in &signature.headers {
        let skip = used.entry(name).or_insert(0);
        if let Some(instance) = fields.iter().rev().filter(|f| f.is(name)).nth(*skip) {
            data.extend(canonical::header(signature.header_canon, instance.raw));
        }
        *skip += 1;
    }
    let mut own = canonical::header(signature.header_canon, &without_b(field.raw));
    own.truncate(own.len() - 2);
    data.extend(own);
    data
}

/// The field with the value of its `b=` tag removed (everything else, folding included, kept as it was).
fn without_b(raw: &[u8]) -> Vec<u8> {
    let colon = raw.iter().position(|&b| b == b':').map_or(0, |c| c + 1);
    let mut out = raw[..colon].to_vec();
    let value = &raw[colon..];
    for (i, item) in value.split(|&b| b == b';').enumerate() {
        if i > 0 {
            out.push(b';');
        }
        let name_end = item.iter().position(|&b| b == b'=').unwrap_or(item.len());
        let name: Vec<u8> = item[..name_end]
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if name == b"b" {
            out.extend_from_slice(&item[..(name_end + 1).min(item.len())]);
        } else {
            out.extend_from_slice(item);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use ring::rand::SystemRandom;
    use ring::signature::{Ed25519KeyPair, KeyPair as _};

    use super::*;
    use crate::sender_auth::resolver::{DnsLimits, MemoryResolver};

    /// RFC 8463 Appendix A.3, byte for byte: signed by football.example.com with Ed25519 (`brisbane`) and
    /// with a 1024-bit RSA key (`test`), keys from Appendix A.2.
    pub(crate) const RFC_8463: &str = concat!(
        "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n",
        " d=football.example.com; i=@football.example.com;\r\n",
        " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n",
        " subject : date : message-id : from : subject : date;\r\n",
        " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n",
        " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n",
        " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n",
        "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n",
        " d=football.example.com; i=@football.example.com;\r\n",
        " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n",
        " date : message-id : from : subject : date;\r\n",
        " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n",
        " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n",
        " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n",
        " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n",
        "From: Joe SixPack <joe@football.example.com>\r\n",
        "To: Suzie Q <suzie@shopping.example.net>\r\n",
        "Subject: Is dinner ready?\r\n",
        "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n",
        "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n",
        "\r\n",
        "Hi.\r\n",
        "\r\n",
        "We lost the game.  Are you hungry yet?\r\n",
        "\r\n",
        "Joe.\r\n",
    );

    const ED25519_RECORD: &str =
        "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    const RSA_RECORD: &str = "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

    fn rfc_dns() -> MemoryResolver {
        MemoryResolver::new()
            .with_txt("brisbane._domainkey.football.example.com", ED25519_RECORD)
            .with_txt("test._domainkey.football.example.com", RSA_RECORD)
    }

    async fn check(raw: &str, dns: &MemoryResolver) -> Vec<Outcome> {
        let lookups = Lookups::new(dns, DnsLimits::default());
        verify(raw.as_bytes(), &lookups, 1_700_000_000)
            .await
            .into_iter()
            .map(|v| v.outcome)
            .collect()
    }

    #[tokio::test]
    async fn rfc_8463_example_passes_with_ed25519_and_with_1024_bit_rsa() {
        let dns = rfc_dns();
        let lookups = Lookups::new(&dns, DnsLimits::default());
        let verdicts = verify(RFC_8463.as_bytes(), &lookups, 1_700_000_000).await;
        assert_eq!(verdicts.len(), 2);
        for verdict in &verdicts {
            assert_eq!(verdict.outcome, Outcome::Pass, "{verdict:?}");
            assert_eq!(verdict.domain, "football.example.com");
        }
        assert_eq!(verdicts[0].selector, "brisbane");
        assert_eq!(verdicts[1].selector, "test");
    }

    #[tokio::test]
    async fn relaxed_signatures_survive_whitespace_changes_in_transit() {
        let changed = RFC_8463
            .replace(
                "Subject: Is dinner ready?",
                "Subject:   Is dinner\t ready?  ",
            )
            .replace("hungry yet?", "hungry yet?   ");
        assert_eq!(
            check(&changed, &rfc_dns()).await,
            [Outcome::Pass, Outcome::Pass]
        );
    }

    #[tokio::test]
    async fn a_changed_body_or_signed_header_fails() {
        let body = RFC_8463.replace("We lost the game.", "We won the game.");
        assert_eq!(
            check(&body, &rfc_dns()).await,
            [Outcome::Fail, Outcome::Fail]
        );
        let subject = RFC_8463.replace("Is dinner ready?", "Refund of 500 yen");
        assert_eq!(
            check(&subject, &rfc_dns()).await,
            [Outcome::Fail, Outcome::Fail]
        );
        // h= names From twice, so a From added on top is covered too.
        let from = RFC_8463.replace("From: Joe", "From: Bank <alerts@bank.example>\r\nFrom: Joe");
        assert_eq!(
            check(&from, &rfc_dns()).await,
            [Outcome::Fail, Outcome::Fail]
        );
    }

    #[tokio::test]
    async fn missing_revoked_and_unreachable_keys() {
        assert_eq!(
            check(RFC_8463, &MemoryResolver::new()).await,
            [Outcome::PermError, Outcome::PermError]
        );
        let revoked = MemoryResolver::new()
            .with_txt(
                "brisbane._domainkey.football.example.com",
                "v=DKIM1; k=ed25519; p=",
            )
            .with_failure("test._domainkey.football.example.com");
        assert_eq!(
            check(RFC_8463, &revoked).await,
            [Outcome::PermError, Outcome::TempError]
        );
    }

    #[test]
    fn tags_are_read_with_folding_whitespace_and_duplicates_are_refused() {
        let map = tag_list(" v=1;\r\n\ta = rsa-sha256 ; b=AB\r\n CD; ").unwrap_or_default();
        assert_eq!(map.get("v").map(String::as_str), Some("1"));
        assert_eq!(map.get("a").map(String::as_str), Some("rsa-sha256"));
        assert_eq!(
            without_whitespace(map.get("b").map_or("", String::as_str)),
            "ABCD"
        );
        assert!(tag_list("v=1; v=1").is_err());
    }

    #[test]
    fn only_the_b_tag_is_emptied_not_bh() {
        assert_eq!(
            without_b(b"DKIM-Signature: v=1; bh=AAA=;\r\n b=abc\r\n def"),
            b"DKIM-Signature: v=1; bh=AAA=;\r\n b="
        );
        assert_eq!(
            without_b(b"DKIM-Signature: b=xyz; v=1"),
            b"DKIM-Signature: b=; v=1"
        );
    }

    fn parsed(extra: &str) -> Result<Signature, String> {
        let text = format!(
            "v=1; a=ed25519-sha256; d=example.jp; s=s1; h=from:to; bh=AA==; b=AA==; {extra}"
        );
        let map = tag_list(&text).map_err(|Stop(_, why)| why)?;
        let tags = Tags {
            domain: "example.jp".into(),
            selector: "s1".into(),
        };
        parse(&map, &tags, 1_700_000_000).map_err(|Stop(o, why)| format!("{}: {why}", o.as_str()))
    }

    #[test]
    fn signature_tags_are_checked() {
        let ok = parsed("c=relaxed; l=10; t=1600000000; x=1800000000; i=user@mail.example.jp");
        let Ok(signature) = ok else {
            return assert!(ok.is_ok(), "{ok:?}");
        };
        assert_eq!(
            (signature.header_canon, signature.body_canon),
            (Canon::Relaxed, Canon::Simple)
        );
        assert_eq!(signature.length, Some(10));
        assert_eq!(
            parsed("x=1600000000").err().as_deref(),
            Some("fail: signature expired")
        );
        assert_eq!(
            parsed("t=1650000000; x=1600000000").err().as_deref(),
            Some("permerror: x= before t=")
        );
        assert_eq!(
            parsed("i=@other.example").err().as_deref(),
            Some("permerror: i= is not within d=")
        );
        assert_eq!(
            parsed("c=loose").err().as_deref(),
            Some("permerror: unknown canonicalization")
        );
        assert_eq!(
            parsed("q=http").err().as_deref(),
            Some("permerror: unknown query method")
        );
        assert!(parsed("").is_ok());
        let sha1 = tag_list("v=1; a=rsa-sha1; d=example.jp; s=s1; h=from; bh=AA==; b=AA==")
            .and_then(|map| parse(&map, &Tags::default(), 0));
        assert!(sha1.is_err());
        let no_from = tag_list("v=1; a=rsa-sha256; d=example.jp; s=s1; h=to; bh=AA==; b=AA==")
            .and_then(|map| parse(&map, &Tags::default(), 0));
        assert!(no_from.is_err());
    }

    /// Signs `message` (CRLF) with a DKIM-Signature over From, To and Subject, relaxed/relaxed, as a test signer.
    pub(crate) fn sign_ed25519(
        message: &str,
        key: &Ed25519KeyPair,
        domain: &str,
        selector: &str,
        extra: &str,
    ) -> String {
        let (_, body) = message.split_once("\r\n\r\n").unwrap_or((message, ""));
        let mut body = canonical::body(Canon::Relaxed, body.as_bytes());
        if let Some(length) = extra
            .split("l=")
            .nth(1)
            .and_then(|l| l.split(';').next()?.parse().ok())
        {
            body.truncate(length);
        }
        let bh = STANDARD.encode(Sha256::digest(&body));
        let unsigned = format!(
            "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d={domain}; s={selector};{extra}\r\n h=from:to:subject; bh={bh}; b="
        );
        let with = format!("{unsigned}\r\n{message}");
        let (fields, _) = canonical::split(with.as_bytes());
        let signature = Signature {
            algorithm: Algorithm::Ed25519Sha256,
            signature: Vec::new(),
            body_hash: Vec::new(),
            header_canon: Canon::Relaxed,
            body_canon: Canon::Relaxed,
            headers: vec!["from".into(), "to".into(), "subject".into()],
            length: None,
        };
        let data = signed_data(&signature, &fields[0], &fields);
        let b = STANDARD.encode(key.sign(Sha256::digest(&data).as_slice()).as_ref());
        format!("{unsigned}{b}\r\n{message}")
    }

    pub(crate) fn ed25519_key() -> (Ed25519KeyPair, String) {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| "keygen");
        let pair = pkcs8
            .and_then(|p| Ed25519KeyPair::from_pkcs8(p.as_ref()).map_err(|_| "key"))
            .unwrap_or_else(|e| unreachable!("{e}"));
        let record = format!(
            "v=DKIM1; k=ed25519; p={}",
            STANDARD.encode(pair.public_key().as_ref())
        );
        (pair, record)
    }

    const PLAIN: &str = "From: 広報 <koho@city.example.lg.jp>\r\nTo: a@b.example\r\nSubject: test\r\n\r\nHello  \r\n\r\n";

    #[tokio::test]
    async fn our_own_ed25519_signature_passes_and_l_is_reported() {
        let (key, record) = ed25519_key();
        let dns = MemoryResolver::new().with_txt("s1._domainkey.city.example.lg.jp", &record);
        let signed = sign_ed25519(PLAIN, &key, "city.example.lg.jp", "s1", "");
        assert_eq!(check(&signed, &dns).await, [Outcome::Pass]);
        // l= signs only the first bytes of the body: what was appended is not covered, and the result says so.
        let limited = sign_ed25519(PLAIN, &key, "city.example.lg.jp", "s1", " l=5;");
        let lookups = Lookups::new(&dns, DnsLimits::default());
        let verdicts = verify(
            format!("{limited}appended by someone\r\n").as_bytes(),
            &lookups,
            0,
        )
        .await;
        assert_eq!(verdicts[0].outcome, Outcome::Pass);
        assert_eq!(
            verdicts[0].comment.as_deref(),
            Some("l=5: only 5 of 30 body bytes signed")
        );
        let expired = sign_ed25519(PLAIN, &key, "city.example.lg.jp", "s1", " x=1;");
        assert_eq!(check(&expired, &dns).await, [Outcome::Fail]);
    }

    #[test]
    fn spki_wrapped_rsa_keys_are_unwrapped() {
        let Some(p) = RSA_RECORD.split("p=").nth(1) else {
            return;
        };
        let Ok(spki) = STANDARD.decode(p) else {
            return;
        };
        let bare = rsa_public_key(&spki);
        assert_eq!(bare.first(), Some(&0x30));
        assert!(bare.len() < spki.len());
        assert_eq!(rsa_public_key(&bare), bare);
    }
}
