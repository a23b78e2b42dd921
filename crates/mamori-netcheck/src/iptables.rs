//! `iptables-save` / `ip6tables-save` text, and `ipset save` text for `-m set`, read into the [`crate::ir`]
//! model.
//!
//! The text is tokenised the way `iptables-restore` does it (double quotes group words, a backslash inside
//! quotes escapes the next character), then each rule's options are read the way `iptables` reads its command
//! line: generic options (`-s`, `-d`, `-p`, `-i`, `-o`, `-f`, `-m`, `-j`, `-g`), then each `-m` match with its
//! own options.
//!
//! Modelled exactly:
//! - addresses (`-s`, `-d`, comma lists, prefixes, contiguous dotted masks), `-m iprange`, `-m set` on
//!   `hash:ip`, `hash:net`, `bitmap:ip` and `list:set` of those (with `nomatch` exceptions and `netmask`);
//! - `-p`, `-i`, `-o` (with the `+` wildcard), ports of `-m tcp|udp|udplite|sctp|dccp` and `-m multiport`,
//!   `-m conntrack --ctstate`, `-m state --state`; `-m comment` never changes matching and is dropped.
//!
//! Everything else that can change whether a rule matches (`-m limit`, `-m addrtype`, `-m mark`, `-m recent`,
//! `--tcp-flags`, an ICMP type, `-f` …) becomes [`Test::Unknown`] with one [`Warning`] naming the file, the
//! line and the match as written: the analysis over-approximates it, so a proof of isolation stays a proof.
//! Targets likewise: the ones that end evaluation or rewrite addresses are modelled, the non-terminating ones
//! (`LOG`, `MARK` …, see [`CONTINUE_TARGETS`]) become [`Action::Continue`], and the rest [`Action::Unknown`]
//! with a warning.
//!
//! Anything `iptables-restore` itself would refuse (a rule before `*table`, an undeclared chain, a missing
//! `COMMIT`, an option without its value, an address that is not one …) is a [`ParseError`] with the line and
//! column: nothing is guessed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::error::ParseError;
use crate::ir::{
    Action, AddrRange, BaseChain, Chain, ChainType, CtState, Family, Hook, Iface, Match, Origin,
    Policy, PortRange, Rule, Ruleset, Table, TableFamily, Test, Warning,
};

/// Largest input read, for either format.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;
/// Most rules (`-A` lines) in one `iptables-save` text.
pub const MAX_RULES: usize = 1_000_000;
/// Most elements (after splitting address ranges into prefixes for `hash:net`) in one `ipset save` text.
pub const MAX_SET_ELEMENTS: usize = 1_000_000;
/// Most address ranges copied from sets into the rules of one ruleset (each `-m set` copies its set's ranges).
pub const MAX_SET_RANGES_IN_RULES: usize = 4_000_000;

/// Targets that do not end evaluation and do not change where a packet may go: they become
/// [`Action::Continue`]. (`TEE` is not here: it sends a copy of the packet elsewhere.)
pub const CONTINUE_TARGETS: &[&str] = &[
    "LOG",
    "NFLOG",
    "ULOG",
    "MARK",
    "CONNMARK",
    "CONNSECMARK",
    "SECMARK",
    "CT",
    "NOTRACK",
    "TCPMSS",
    "CLASSIFY",
    "TRACE",
    "AUDIT",
    "DSCP",
    "TOS",
    "TTL",
    "HL",
    "SET",
    "CHECKSUM",
    "IDLETIMER",
    "LED",
    "RATEEST",
    "TCPOPTSTRIP",
    "HMARK",
    "ECN",
];

/// Targets that rewrite source addresses only: [`Action::Snat`]. (`NETMAP` is one only in `POSTROUTING` and
/// `INPUT`; elsewhere it rewrites destinations and is not modelled.)
const SNAT_TARGETS: &[&str] = &["SNAT", "MASQUERADE", "SNPT", "SAME"];

/// Targets known to exist whose effect is not modelled: [`Action::Unknown`] with a warning. Any other name
/// followed by options is treated the same way; a bare unknown name is an undeclared chain, an error.
const UNMODELLED_TARGETS: &[&str] = &[
    "QUEUE",
    "NFQUEUE",
    "TPROXY",
    "SYNPROXY",
    "TEE",
    "CLUSTERIP",
    "DNPT",
    "MIRROR",
    "TARPIT",
    "DELUDE",
    "CHAOS",
    "ECHO",
    "RAWDNAT",
    "RAWSNAT",
    "STEAL",
    "SYSRQ",
    "DHCPMAC",
    "IPMARK",
    "LOGMARK",
    "ACCOUNT",
    "DNETMAP",
];

// ---------------------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------------------

/// One word of a line, after quote removal.
#[derive(Debug, Clone)]
struct Token {
    text: String,
    /// 1-based column, in characters, of the token's first character (or its opening quote).
    col: usize,
    /// Some part was in double quotes: never an option name.
    quoted: bool,
    /// Byte range in the line, quotes included.
    start: usize,
    end: usize,
}

/// Splits a line as `iptables-restore` does: blanks separate words; `"` opens a quoted part in which `\x`
/// stands for `x`; a closing quote ends the word; outside quotes a backslash is an ordinary character.
fn tokenize(line: &str, file: &str, lineno: usize) -> Result<Vec<Token>, ParseError> {
    let mut tokens = Vec::new();
    let mut buf = String::new();
    let mut in_token = false;
    let mut quoted = false;
    let mut in_quote = false;
    let mut escaped = false;
    let mut start = 0usize;
    let mut start_col = 0usize;
    let mut quote_col = 0usize;
    for (col0, (i, c)) in line.char_indices().enumerate() {
        let col = col0.saturating_add(1);
        if in_quote {
            if escaped {
                buf.push(c);
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quote = false;
                tokens.push(Token {
                    text: std::mem::take(&mut buf),
                    col: start_col,
                    quoted: true,
                    start,
                    end: i.saturating_add(1),
                });
                in_token = false;
                quoted = false;
            } else {
                buf.push(c);
            }
            continue;
        }
        match c {
            '"' => {
                if !in_token {
                    in_token = true;
                    start = i;
                    start_col = col;
                }
                in_quote = true;
                quoted = true;
                quote_col = col;
            }
            ' ' | '\t' | '\r' => {
                if in_token {
                    tokens.push(Token {
                        text: std::mem::take(&mut buf),
                        col: start_col,
                        quoted,
                        start,
                        end: i,
                    });
                }
                in_token = false;
                quoted = false;
            }
            _ => {
                if !in_token {
                    in_token = true;
                    start = i;
                    start_col = col;
                }
                buf.push(c);
            }
        }
    }
    if in_quote {
        return Err(ParseError::new(
            file,
            lineno,
            quote_col,
            "a closing double quote",
            "",
        ));
    }
    if in_token {
        tokens.push(Token {
            text: buf,
            col: start_col,
            quoted,
            start,
            end: line.len(),
        });
    }
    Ok(tokens)
}

fn is_bang(t: &Token) -> bool {
    !t.quoted && t.text == "!"
}

const GENERIC_OPTIONS: &[&str] = &[
    "-s",
    "--source",
    "--src",
    "-d",
    "--destination",
    "--dst",
    "-p",
    "--protocol",
    "-i",
    "--in-interface",
    "-o",
    "--out-interface",
    "-f",
    "--fragment",
    "-m",
    "--match",
    "-j",
    "--jump",
    "-g",
    "--goto",
    "-c",
    "--set-counters",
];

fn is_generic(t: &Token) -> bool {
    !t.quoted && GENERIC_OPTIONS.contains(&t.text.as_str())
}

/// `--name` or `-x`, but not a negative number.
fn looks_like_option(t: &Token) -> bool {
    let mut chars = t.text.chars();
    !t.quoted && chars.next() == Some('-') && chars.next().is_some_and(|c| !c.is_ascii_digit())
}

// ---------------------------------------------------------------------------------------------------------
// Addresses and ports
// ---------------------------------------------------------------------------------------------------------

fn family_name(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "IPv4",
        Family::Ipv6 => "IPv6",
    }
}

fn other_family(family: Family) -> Family {
    match family {
        Family::Ipv4 => Family::Ipv6,
        Family::Ipv6 => Family::Ipv4,
    }
}

fn parse_ip(text: &str) -> Option<(Family, u128)> {
    match text.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(a) => Some((Family::Ipv4, u128::from(u32::from(a)))),
        std::net::IpAddr::V6(a) => Some((Family::Ipv6, u128::from(a))),
    }
}

/// Why an address was refused.
enum AddrErr {
    Invalid,
    OtherFamily,
}

/// A single address of `family` (no prefix).
fn parse_single(text: &str, family: Family) -> Result<u128, AddrErr> {
    match parse_ip(text) {
        Some((f, v)) if f == family => Ok(v),
        Some(_) => Err(AddrErr::OtherFamily),
        None => Err(AddrErr::Invalid),
    }
}

/// The mask of the `len` high bits of a family.
fn prefix_mask(family: Family, len: u32) -> u128 {
    let bits = family.bits();
    let len = len.min(bits);
    if len == 0 {
        0
    } else {
        (u128::MAX << (128 - len)) >> (128 - bits)
    }
}

enum AddrSpec {
    Range(AddrRange),
    /// A dotted mask that is not a prefix (`10.0.0.0/255.0.255.0`): iptables accepts it, ranges cannot say it.
    NonContiguous,
}

/// `10.0.0.1`, `10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `2001:db8::/32`.
fn parse_address(text: &str, family: Family) -> Result<AddrSpec, AddrErr> {
    let (addr, mask) = match text.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (text, None),
    };
    let value = parse_single(addr, family)?;
    let bits = family.bits();
    let len = match mask {
        None => bits,
        Some(m) if !m.is_empty() && m.len() <= 3 && m.bytes().all(|b| b.is_ascii_digit()) => {
            let len = m.parse::<u32>().map_err(|_| AddrErr::Invalid)?;
            if len > bits {
                return Err(AddrErr::Invalid);
            }
            len
        }
        Some(m) => {
            let mask = parse_single(m, family)?;
            let len = if family == Family::Ipv4 {
                u32::try_from(mask)
                    .map_err(|_| AddrErr::Invalid)?
                    .leading_ones()
            } else {
                mask.leading_ones()
            };
            if prefix_mask(family, len) != mask {
                return Ok(AddrSpec::NonContiguous);
            }
            len
        }
    };
    AddrRange::prefix(family, value, len)
        .map(AddrSpec::Range)
        .ok_or(AddrErr::Invalid)
}

/// A port number, digits only.
fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u16>().ok()
}

const PORT_EXPECTED: &str = "a port or port range (0-65535, low:high with low <= high)";

/// `22`, `1024:65535`, `:1023`, `1024:` (with `sep` = ':'), or `8000-8080` (with `sep` = '-').
fn parse_port_range(text: &str, sep: char) -> Option<PortRange> {
    match text.split_once(sep) {
        Some((a, b)) => {
            let first = if a.is_empty() { 0 } else { parse_port(a)? };
            let last = if b.is_empty() {
                u16::MAX
            } else {
                parse_port(b)?
            };
            (first <= last).then_some(PortRange { first, last })
        }
        None => parse_port(text).map(PortRange::single),
    }
}

fn protocol_number(name: &str) -> Option<u8> {
    let lower = name.to_ascii_lowercase();
    let n = match lower.as_str() {
        "all" => 0,
        "icmp" => 1,
        "igmp" => 2,
        "ipencap" | "ipip" => 4,
        "tcp" => 6,
        "egp" => 8,
        "igp" => 9,
        "udp" => 17,
        "dccp" => 33,
        "ipv6" => 41,
        "ipv6-route" => 43,
        "ipv6-frag" => 44,
        "rsvp" => 46,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "ipv6-icmp" | "icmpv6" | "icmp6" => 58,
        "ipv6-nonxt" => 59,
        "ipv6-opts" => 60,
        "ospf" | "ospfigp" => 89,
        "pim" => 103,
        "vrrp" => 112,
        "l2tp" => 115,
        "sctp" => 132,
        "mh" | "ipv6-mh" => 135,
        "udplite" => 136,
        _ => {
            if lower.is_empty() || lower.len() > 3 || !lower.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            return lower.parse::<u8>().ok();
        }
    };
    Some(n)
}

/// The match module `iptables` loads implicitly for an option after `-p PROTO` (`-p tcp --dport 22`).
fn implicit_module(proto: u8) -> Option<&'static str> {
    match proto {
        6 => Some("tcp"),
        17 => Some("udp"),
        136 => Some("udplite"),
        132 => Some("sctp"),
        33 => Some("dccp"),
        1 => Some("icmp"),
        58 => Some("icmp6"),
        _ => None,
    }
}

fn parse_ctstate(name: &str) -> Option<Option<CtState>> {
    match name.to_ascii_uppercase().as_str() {
        "NEW" => Some(Some(CtState::New)),
        "ESTABLISHED" => Some(Some(CtState::Established)),
        "RELATED" => Some(Some(CtState::Related)),
        "INVALID" => Some(Some(CtState::Invalid)),
        "UNTRACKED" => Some(Some(CtState::Untracked)),
        // Whether the connection was NATed: not a state the model has.
        "SNAT" | "DNAT" => Some(None),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------------------
// Interval helpers (inclusive ranges of u128 within one family)
// ---------------------------------------------------------------------------------------------------------

/// Sorts and merges overlapping or adjacent ranges.
fn normalize(mut v: Vec<(u128, u128)>) -> Vec<(u128, u128)> {
    v.sort_unstable();
    let mut out: Vec<(u128, u128)> = Vec::with_capacity(v.len());
    for (first, last) in v {
        if let Some(prev) = out.last_mut()
            && (prev.1 == u128::MAX || first <= prev.1 + 1)
        {
            prev.1 = prev.1.max(last);
            continue;
        }
        out.push((first, last));
    }
    out
}

/// `a` without `b`; both normalized.
fn subtract(a: &[(u128, u128)], b: &[(u128, u128)]) -> Vec<(u128, u128)> {
    let mut out = Vec::with_capacity(a.len());
    let mut j = 0usize;
    for &(first, last) in a {
        let mut s = first;
        while b.get(j).is_some_and(|r| r.1 < s) {
            j += 1;
        }
        let mut k = j;
        let mut alive = true;
        while let Some(&(bs, be)) = b.get(k) {
            if bs > last {
                break;
            }
            if bs > s {
                out.push((s, bs - 1));
            }
            if be >= last {
                alive = false;
                break;
            }
            s = s.max(be + 1);
            k += 1;
        }
        if alive {
            out.push((s, last));
        }
    }
    out
}

/// The prefixes (`(first, length)`) exactly covering `first..=last`, as ipset stores a range added to a
/// `hash:net` set.
fn range_to_prefixes(first: u128, last: u128, family: Family) -> Vec<(u128, u32)> {
    let bits = family.bits();
    let mut out = Vec::new();
    let mut cur = first;
    loop {
        let mut host_bits = cur.trailing_zeros().min(bits);
        let end = |h: u32| {
            if h >= 128 {
                u128::MAX
            } else {
                cur | ((1u128 << h) - 1)
            }
        };
        while host_bits > 0 && end(host_bits) > last {
            host_bits -= 1;
        }
        out.push((cur, bits - host_bits));
        let e = end(host_bits);
        if e >= last {
            break;
        }
        cur = e + 1;
    }
    out
}

fn to_ranges(family: Family, v: Vec<(u128, u128)>) -> Vec<AddrRange> {
    v.into_iter()
        .map(|(first, last)| AddrRange {
            family,
            first,
            last,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------
// ipset
// ---------------------------------------------------------------------------------------------------------

/// Sets from `ipset save` output, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpSets {
    sets: BTreeMap<String, IpSet>,
}

/// One set of an `ipset save` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpSet {
    pub name: String,
    /// The type as ipset names it (`hash:net`, `list:set` …); old names (`nethash`, `iphash`, `ipmap`,
    /// `setlist`) are given their current name.
    pub set_type: String,
    /// `None` for `list:set`, which may hold sets of either family.
    pub family: Option<Family>,
    pub members: SetMembers,
    /// 1-based line of the `create` line.
    pub line: usize,
}

/// What a set holds, as far as this reader models it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetMembers {
    /// `hash:ip`, `hash:net`, `bitmap:ip`: the addresses that match, sorted and merged, with `netmask` and
    /// `nomatch` exceptions applied (the most specific prefix decides, as the kernel does).
    Addresses(Vec<AddrRange>),
    /// `list:set`: the member sets, in order.
    Sets(Vec<String>),
    /// A type with other dimensions (ports, interfaces, MACs, marks) or an option that changes matching which
    /// this reader does not model. A rule using it gets an unknown match and a warning.
    NotModelled { reason: String },
}

impl IpSets {
    /// No sets (for a ruleset without `-m set`).
    pub fn new() -> Self {
        IpSets::default()
    }

    pub fn get(&self, name: &str) -> Option<&IpSet> {
        self.sets.get(name)
    }

    pub fn len(&self) -> usize {
        self.sets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// The sets, by name.
    pub fn iter(&self) -> impl Iterator<Item = &IpSet> {
        self.sets.values()
    }
}

/// A set while its `add` lines are read.
enum SetBuilder {
    /// `hash:ip`, `bitmap:ip`: ranges, widened to `netmask`.
    Ip {
        family: Family,
        netmask: Option<u32>,
        ranges: Vec<(u128, u128)>,
    },
    /// `hash:net`: prefixes with their `nomatch` flag.
    Net {
        family: Family,
        entries: Vec<(u32, u128, bool)>,
    },
    List(Vec<String>),
    Other(String),
}

struct PendingSet {
    name: String,
    set_type: String,
    family: Option<Family>,
    line: usize,
    builder: SetBuilder,
}

fn canonical_set_type(t: &str) -> String {
    match t {
        "iphash" => "hash:ip".to_owned(),
        "nethash" => "hash:net".to_owned(),
        "ipmap" => "bitmap:ip".to_owned(),
        "setlist" => "list:set".to_owned(),
        "ipporthash" => "hash:ip,port".to_owned(),
        "macipmap" => "bitmap:ip,mac".to_owned(),
        "portmap" => "bitmap:port".to_owned(),
        other => other.to_owned(),
    }
}

fn too_large(file: &str, what: &str, len: usize) -> ParseError {
    ParseError::new(
        file,
        1,
        1,
        format!("at most 64 MiB of {what}"),
        format!("{len} bytes"),
    )
}

/// Reads `ipset save` output (`create NAME TYPE [options]`, `add NAME ELEMENT [options]`).
pub fn parse_ipset_save(text: &str, file: &str) -> Result<IpSets, ParseError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(too_large(file, "ipset save text", text.len()));
    }
    let mut pending: Vec<PendingSet> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut elements = 0usize;
    for (idx, raw) in text.split('\n').enumerate() {
        let n = idx.saturating_add(1);
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let toks = tokenize(line, file, n)?;
        let err = |col: usize, expected: String, found: &str| {
            ParseError::new(file, n, col, expected, found.to_owned())
        };
        let Some(cmd) = toks.first() else { continue };
        let command = if cmd.quoted { "" } else { cmd.text.as_str() };
        match command {
            "create" | "-N" | "--create" => {
                let name = toks
                    .get(1)
                    .ok_or_else(|| err(cmd.col, "a set name after create".into(), ""))?;
                if let Some(&i) = index.get(&name.text) {
                    let first = pending.get(i).map_or(0, |p| p.line);
                    return Err(err(
                        name.col,
                        format!("a set name not created before (this one was, on line {first})"),
                        &name.text,
                    ));
                }
                let ty = toks
                    .get(2)
                    .ok_or_else(|| err(name.col, format!("a set type after {}", name.text), ""))?;
                let set_type = canonical_set_type(&ty.text);
                let builder = create_builder(&set_type, &toks, file, n)?;
                let family = match &builder {
                    SetBuilder::Ip { family, .. } | SetBuilder::Net { family, .. } => Some(*family),
                    SetBuilder::List(_) => None,
                    SetBuilder::Other(_) => Some(create_family(&toks).unwrap_or(Family::Ipv4)),
                };
                index.insert(name.text.clone(), pending.len());
                pending.push(PendingSet {
                    name: name.text.clone(),
                    set_type,
                    family,
                    line: n,
                    builder,
                });
            }
            "add" | "-A" | "--add" => {
                let name = toks
                    .get(1)
                    .ok_or_else(|| err(cmd.col, "a set name after add".into(), ""))?;
                let Some(&i) = index.get(&name.text) else {
                    return Err(err(
                        name.col,
                        "a set created earlier in the file".into(),
                        &name.text,
                    ));
                };
                let elem = toks.get(2).ok_or_else(|| {
                    err(name.col, format!("an element after add {}", name.text), "")
                })?;
                let Some(set) = pending.get_mut(i) else {
                    continue;
                };
                let added = add_element(set, elem, &toks, &index, file, n)?;
                elements = elements.saturating_add(added);
                if elements > MAX_SET_ELEMENTS {
                    return Err(err(
                        elem.col,
                        format!("at most {MAX_SET_ELEMENTS} set elements"),
                        &elem.text,
                    ));
                }
            }
            _ => {
                return Err(err(
                    cmd.col,
                    "create or add (ipset save output)".into(),
                    &cmd.text,
                ));
            }
        }
    }
    let mut sets = BTreeMap::new();
    for p in pending {
        let members = match p.builder {
            SetBuilder::Ip { family, ranges, .. } => {
                SetMembers::Addresses(to_ranges(family, normalize(ranges)))
            }
            SetBuilder::Net { family, entries } => {
                SetMembers::Addresses(to_ranges(family, resolve_nomatch(family, entries)))
            }
            SetBuilder::List(names) => SetMembers::Sets(names),
            SetBuilder::Other(reason) => SetMembers::NotModelled { reason },
        };
        sets.insert(
            p.name.clone(),
            IpSet {
                name: p.name,
                set_type: p.set_type,
                family: p.family,
                members,
                line: p.line,
            },
        );
    }
    Ok(IpSets { sets })
}

/// The `family` option of a `create` line, for sets whose contents are not modelled.
fn create_family(toks: &[Token]) -> Option<Family> {
    let i = toks.iter().position(|t| t.text == "family")?;
    match toks.get(i + 1)?.text.as_str() {
        "inet" | "ipv4" => Some(Family::Ipv4),
        "inet6" | "ipv6" => Some(Family::Ipv6),
        _ => None,
    }
}

fn create_builder(
    set_type: &str,
    toks: &[Token],
    file: &str,
    n: usize,
) -> Result<SetBuilder, ParseError> {
    let mut family = Family::Ipv4;
    let mut netmask: Option<(u32, usize, String)> = None;
    let mut not_modelled: Option<String> = None;
    let mut i = 3usize;
    while let Some(t) = toks.get(i) {
        i += 1;
        let value = |i: usize| {
            toks.get(i).ok_or_else(|| {
                ParseError::new(file, n, t.col, format!("a value after {}", t.text), "")
            })
        };
        match t.text.as_str() {
            "family" => {
                let v = value(i)?;
                i += 1;
                family = match v.text.as_str() {
                    "inet" | "ipv4" => Family::Ipv4,
                    "inet6" | "ipv6" => Family::Ipv6,
                    _ => {
                        return Err(ParseError::new(
                            file,
                            n,
                            v.col,
                            "inet or inet6 after family",
                            v.text.clone(),
                        ));
                    }
                };
            }
            "netmask" => {
                let v = value(i)?;
                i += 1;
                let len = v.text.parse::<u32>().map_err(|_| {
                    ParseError::new(
                        file,
                        n,
                        v.col,
                        "a prefix length after netmask",
                        v.text.clone(),
                    )
                })?;
                netmask = Some((len, v.col, v.text.clone()));
            }
            "bitmask" => {
                i += 1;
                not_modelled.get_or_insert_with(|| "its bitmask option is not modelled".into());
            }
            "hashsize" | "maxelem" | "bucketsize" | "initval" | "timeout" | "range"
            | "markmask" | "size" | "probes" | "resize" => {
                value(i)?;
                i += 1;
            }
            "counters" | "comment" | "skbinfo" | "forceadd" => {}
            other => {
                not_modelled
                    .get_or_insert_with(|| format!("its create option {other} is not understood"));
                break;
            }
        }
    }
    if let Some(reason) = not_modelled {
        return Ok(SetBuilder::Other(reason));
    }
    let builder = match set_type {
        "hash:ip" | "bitmap:ip" => {
            if set_type == "bitmap:ip" {
                family = Family::Ipv4;
            }
            let netmask = match netmask {
                Some((len, col, text)) => {
                    if len == 0 || len > family.bits() {
                        return Err(ParseError::new(
                            file,
                            n,
                            col,
                            format!("a netmask of 1 to {}", family.bits()),
                            text,
                        ));
                    }
                    Some(len)
                }
                None => None,
            };
            SetBuilder::Ip {
                family,
                netmask,
                ranges: Vec::new(),
            }
        }
        "hash:net" => SetBuilder::Net {
            family,
            entries: Vec::new(),
        },
        "list:set" => SetBuilder::List(Vec::new()),
        other => SetBuilder::Other(format!(
            "type {other} has dimensions (ports, interfaces, MACs, marks …) this reader does not model"
        )),
    };
    Ok(builder)
}

/// Reads the element of an `add` line into its set; returns how many elements it counts for.
fn add_element(
    set: &mut PendingSet,
    elem: &Token,
    toks: &[Token],
    known: &HashMap<String, usize>,
    file: &str,
    n: usize,
) -> Result<usize, ParseError> {
    let mut nomatch = false;
    let mut i = 3usize;
    while let Some(t) = toks.get(i) {
        i += 1;
        match t.text.as_str() {
            "nomatch" => nomatch = true,
            "timeout" | "packets" | "bytes" | "comment" | "skbmark" | "skbprio" | "skbqueue"
            | "before" | "after" => {
                if toks.get(i).is_none() {
                    return Err(ParseError::new(
                        file,
                        n,
                        t.col,
                        format!("a value after {}", t.text),
                        "",
                    ));
                }
                i += 1;
            }
            other => {
                if !matches!(set.builder, SetBuilder::Other(_)) {
                    set.builder = SetBuilder::Other(format!(
                        "its element option {other} (line {n}) is not understood"
                    ));
                }
                return Ok(1);
            }
        }
    }
    let expected = |family: Family| {
        format!(
            "an {} address, prefix or range (first-last)",
            family_name(family)
        )
    };
    let bad = |family: Family, e: AddrErr| {
        let found = match e {
            AddrErr::Invalid => elem.text.clone(),
            AddrErr::OtherFamily => format!(
                "{} (an {} address)",
                elem.text,
                family_name(other_family(family))
            ),
        };
        ParseError::new(file, n, elem.col, expected(family), found)
    };
    match &mut set.builder {
        SetBuilder::Ip {
            family,
            netmask,
            ranges,
        } => {
            if nomatch {
                return Err(ParseError::new(
                    file,
                    n,
                    elem.col,
                    format!(
                        "an element without nomatch (only hash:net sets have exceptions), in {}",
                        set.set_type
                    ),
                    "nomatch",
                ));
            }
            let (first, last, _) =
                parse_set_element(&elem.text, *family).map_err(|e| bad(*family, e))?;
            let (first, last) = match netmask {
                Some(len) => {
                    let fam: Family = *family;
                    let host = !prefix_mask(fam, *len) & fam.max();
                    (first & !host, last | host)
                }
                None => (first, last),
            };
            ranges.push((first, last));
            Ok(1)
        }
        SetBuilder::Net { family, entries } => {
            let (first, last, len) =
                parse_set_element(&elem.text, *family).map_err(|e| bad(*family, e))?;
            match len {
                Some(len) => {
                    entries.push((len, first, nomatch));
                    Ok(1)
                }
                None => {
                    let prefixes = range_to_prefixes(first, last, *family);
                    let count = prefixes.len();
                    entries.extend(prefixes.into_iter().map(|(f, l)| (l, f, nomatch)));
                    Ok(count)
                }
            }
        }
        SetBuilder::List(members) => {
            if !known.contains_key(&elem.text) || elem.text == set.name {
                return Err(ParseError::new(
                    file,
                    n,
                    elem.col,
                    "a set created earlier in the file (list:set members must exist)",
                    elem.text.clone(),
                ));
            }
            members.push(elem.text.clone());
            Ok(1)
        }
        SetBuilder::Other(_) => Ok(1),
    }
}

/// `a`, `a/len` or `a-b`: the range and, unless it is a range, its prefix length.
fn parse_set_element(text: &str, family: Family) -> Result<(u128, u128, Option<u32>), AddrErr> {
    if let Some((a, b)) = text.split_once('-') {
        let first = parse_single(a, family)?;
        let last = parse_single(b, family)?;
        if first > last {
            return Err(AddrErr::Invalid);
        }
        return Ok((first, last, None));
    }
    match parse_address(text, family)? {
        AddrSpec::Range(r) => {
            let len = family.bits() - (r.last - r.first).count_ones();
            Ok((r.first, r.last, Some(len)))
        }
        AddrSpec::NonContiguous => Err(AddrErr::Invalid),
    }
}

/// The addresses of a `hash:net` set: the most specific prefix containing an address decides whether it
/// matches (`nomatch` entries are exceptions), so apply entries from the least to the most specific.
fn resolve_nomatch(family: Family, mut entries: Vec<(u32, u128, bool)>) -> Vec<(u128, u128)> {
    let to_range = |len: u32, first: u128| {
        let host = !prefix_mask(family, len) & family.max();
        (first & !host, (first & !host) | host)
    };
    if !entries.iter().any(|e| e.2) {
        return normalize(entries.iter().map(|&(l, f, _)| to_range(l, f)).collect());
    }
    entries.sort_by_key(|e| e.0);
    let mut acc: Vec<(u128, u128)> = Vec::new();
    let mut i = 0usize;
    while let Some(&(len, _, _)) = entries.get(i) {
        let mut adds = Vec::new();
        let mut subs = Vec::new();
        while let Some(&(l, first, nomatch)) = entries.get(i) {
            if l != len {
                break;
            }
            if nomatch {
                subs.push(to_range(l, first));
            } else {
                adds.push(to_range(l, first));
            }
            i += 1;
        }
        acc.extend(adds);
        acc = normalize(acc);
        acc = subtract(&acc, &normalize(subs));
    }
    acc
}

enum Resolved {
    Ranges(Vec<AddrRange>),
    NotModelled(String),
}

/// The addresses a set matches for packets of `family`. A set of the other family never matches (the kernel
/// skips it), so it resolves to no ranges.
fn resolve_set(sets: &IpSets, set: &IpSet, family: Family) -> Resolved {
    match &set.members {
        SetMembers::Addresses(r) => {
            if set.family == Some(family) {
                Resolved::Ranges(r.clone())
            } else {
                Resolved::Ranges(Vec::new())
            }
        }
        SetMembers::NotModelled { reason } => {
            Resolved::NotModelled(format!("set {} ({}): {reason}", set.name, set.set_type))
        }
        SetMembers::Sets(names) => {
            let mut all = Vec::new();
            for name in names {
                let Some(member) = sets.get(name) else {
                    return Resolved::NotModelled(format!(
                        "list:set {} holds {name}, which is not in the ipset file",
                        set.name
                    ));
                };
                match &member.members {
                    SetMembers::Addresses(r) => {
                        if member.family == Some(family) {
                            all.extend(r.iter().map(|a| (a.first, a.last)));
                        }
                    }
                    SetMembers::Sets(_) => {
                        return Resolved::NotModelled(format!(
                            "list:set {} holds the list:set {name}",
                            set.name
                        ));
                    }
                    SetMembers::NotModelled { reason } => {
                        return Resolved::NotModelled(format!(
                            "list:set {} holds set {name} ({}): {reason}",
                            set.name, member.set_type
                        ));
                    }
                }
            }
            Resolved::Ranges(to_ranges(family, normalize(all)))
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// iptables-save
// ---------------------------------------------------------------------------------------------------------

const TABLES: &[&str] = &["filter", "nat", "mangle", "raw", "security"];

/// The hook, type and priority of a built-in chain of an iptables table.
fn builtin_chain(table: &str, chain: &str) -> Option<(Hook, ChainType, i32)> {
    let hook = match chain {
        "PREROUTING" => Hook::Prerouting,
        "INPUT" => Hook::Input,
        "FORWARD" => Hook::Forward,
        "OUTPUT" => Hook::Output,
        "POSTROUTING" => Hook::Postrouting,
        _ => return None,
    };
    match (table, hook) {
        ("filter", Hook::Input | Hook::Forward | Hook::Output) => {
            Some((hook, ChainType::Filter, 0))
        }
        ("nat", Hook::Prerouting | Hook::Output) => Some((hook, ChainType::Nat, -100)),
        ("nat", Hook::Input | Hook::Postrouting) => Some((hook, ChainType::Nat, 100)),
        ("mangle", _) => Some((hook, ChainType::Route, -150)),
        ("raw", Hook::Prerouting | Hook::Output) => Some((hook, ChainType::Filter, -300)),
        ("security", Hook::Input | Hook::Forward | Hook::Output) => {
            Some((hook, ChainType::Filter, 50))
        }
        _ => None,
    }
}

struct OpenTable {
    name: String,
    line: usize,
    chains: Vec<Chain>,
    /// Chain name → index in `chains`.
    index: HashMap<String, usize>,
    /// Chain name → whether built in.
    kinds: HashMap<String, bool>,
}

struct SaveParser<'a> {
    file: &'a str,
    file_arc: Arc<str>,
    family: Family,
    sets: &'a IpSets,
    tables: Vec<Table>,
    seen_tables: HashMap<String, usize>,
    open: Option<OpenTable>,
    warnings: Vec<Warning>,
    rules: usize,
    set_ranges: usize,
}

/// `iptables-save` (family [`Family::Ipv4`]) or `ip6tables-save` ([`Family::Ipv6`]) text; `sets` resolves
/// `-m set` (pass [`IpSets::new`] when there is no ipset file).
pub fn parse_iptables_save(
    text: &str,
    file: &str,
    family: Family,
    sets: &IpSets,
) -> Result<Ruleset, ParseError> {
    let what = match family {
        Family::Ipv4 => "iptables-save text",
        Family::Ipv6 => "ip6tables-save text",
    };
    if text.len() > MAX_INPUT_BYTES {
        return Err(too_large(file, what, text.len()));
    }
    let mut p = SaveParser {
        file,
        file_arc: Arc::from(file),
        family,
        sets,
        tables: Vec::new(),
        seen_tables: HashMap::new(),
        open: None,
        warnings: Vec::new(),
        rules: 0,
        set_ranges: 0,
    };
    let mut last = (1usize, 1usize);
    for (idx, raw) in text.split('\n').enumerate() {
        let n = idx.saturating_add(1);
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        last = (n, line.chars().count().saturating_add(1));
        p.line(line, n)?;
    }
    if let Some(open) = p.open.take() {
        return Err(ParseError::new(
            file,
            last.0,
            last.1,
            format!(
                "COMMIT to end table {} (opened on line {})",
                open.name, open.line
            ),
            "end of file",
        ));
    }
    Ok(Ruleset {
        file: p.file_arc,
        tables: p.tables,
        warnings: p.warnings,
    })
}

impl SaveParser<'_> {
    fn err(&self, n: usize, col: usize, expected: impl Into<String>, found: &str) -> ParseError {
        ParseError::new(self.file, n, col, expected, found.to_owned())
    }

    fn origin(&self, n: usize) -> Origin {
        Origin {
            file: self.file_arc.clone(),
            line: n,
            handle: None,
        }
    }

    fn line(&mut self, line: &str, n: usize) -> Result<(), ParseError> {
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            return Ok(());
        }
        let lead_col = line.len() - trimmed.len() + 1;
        if let Some(rest) = trimmed.strip_prefix('*') {
            return self.start_table(rest.trim_end(), n, lead_col);
        }
        let toks = tokenize(line, self.file, n)?;
        let Some(first) = toks.first() else {
            return Ok(());
        };
        if trimmed.starts_with(':') {
            return self.declare_chain(&toks, n);
        }
        if !first.quoted && first.text == "COMMIT" {
            if let Some(extra) = toks.get(1) {
                return Err(self.err(n, extra.col, "end of line after COMMIT", &extra.text));
            }
            let Some(open) = self.open.take() else {
                return Err(self.err(n, first.col, "a *table line before COMMIT", "COMMIT"));
            };
            self.tables.push(Table {
                family: match self.family {
                    Family::Ipv4 => TableFamily::Ip,
                    Family::Ipv6 => TableFamily::Ip6,
                },
                name: open.name,
                chains: open.chains,
            });
            return Ok(());
        }
        // `iptables-save -c` writes the counters first: `[12:3456] -A INPUT …`.
        let mut i = 0usize;
        if is_counters(first) {
            i = 1;
        }
        match toks.get(i) {
            Some(t) if !t.quoted && (t.text == "-A" || t.text == "--append") => {
                self.rule(line, n, &toks, i)
            }
            Some(t) => Err(self.err(
                n,
                t.col,
                "a rule (-A CHAIN …), a chain (:CHAIN POLICY), COMMIT or *table",
                &t.text,
            )),
            None => Err(self.err(n, first.col, "-A after the counters", "")),
        }
    }

    fn start_table(&mut self, name: &str, n: usize, col: usize) -> Result<(), ParseError> {
        if let Some(open) = &self.open {
            return Err(self.err(
                n,
                col,
                format!(
                    "COMMIT to end table {} (opened on line {}) before the next table",
                    open.name, open.line
                ),
                &format!("*{name}"),
            ));
        }
        if !TABLES.contains(&name) {
            return Err(self.err(
                n,
                col + 1,
                "a table name: filter, nat, mangle, raw or security",
                name,
            ));
        }
        if let Some(first) = self.seen_tables.get(name) {
            return Err(self.err(
                n,
                col + 1,
                format!("each table once (table {name} was already read from line {first})"),
                name,
            ));
        }
        self.seen_tables.insert(name.to_owned(), n);
        self.open = Some(OpenTable {
            name: name.to_owned(),
            line: n,
            chains: Vec::new(),
            index: HashMap::new(),
            kinds: HashMap::new(),
        });
        Ok(())
    }

    fn declare_chain(&mut self, toks: &[Token], n: usize) -> Result<(), ParseError> {
        let Some(first) = toks.first() else {
            return Ok(());
        };
        let Some(open) = &self.open else {
            return Err(self.err(
                n,
                first.col,
                "a *table line before the first chain",
                &first.text,
            ));
        };
        let name = first.text.strip_prefix(':').unwrap_or(&first.text);
        if name.is_empty()
            || name.starts_with(['-', '!'])
            || name.chars().count() > 28
            || name.chars().any(char::is_whitespace)
        {
            return Err(self.err(
                n,
                first.col + 1,
                "a chain name (up to 28 characters, not starting with - or !) after :",
                name,
            ));
        }
        if let Some(&i) = open.index.get(name) {
            let before = open.chains.get(i).map_or(0, |c| c.origin.line);
            return Err(self.err(
                n,
                first.col + 1,
                format!(
                    "a chain name not declared before in table {} (this one was, on line {before})",
                    open.name
                ),
                name,
            ));
        }
        let Some(policy_tok) = toks.get(1) else {
            return Err(self.err(
                n,
                first.col,
                format!("a policy (ACCEPT, DROP, or - for a user chain) after :{name}"),
                "",
            ));
        };
        if let Some(counters) = toks.get(2)
            && !is_counters(counters)
        {
            return Err(self.err(
                n,
                counters.col,
                "counters [packets:bytes] after the policy",
                &counters.text,
            ));
        }
        if let Some(extra) = toks.get(3) {
            return Err(self.err(n, extra.col, "end of line after the counters", &extra.text));
        }
        let base = match builtin_chain(&open.name, name) {
            Some((hook, chain_type, priority)) => {
                let policy = match policy_tok.text.as_str() {
                    "ACCEPT" => Policy::Accept,
                    "DROP" => Policy::Drop,
                    other => {
                        return Err(self.err(
                            n,
                            policy_tok.col,
                            format!("ACCEPT or DROP, the policy of built-in chain {name}"),
                            other,
                        ));
                    }
                };
                let policy = if open.name == "nat" && policy == Policy::Drop {
                    // The kernel refuses DROP in nat; read it as the ACCEPT that always applies there.
                    let origin = self.origin(n);
                    self.warnings.push(Warning {
                        origin,
                        message: format!(
                            "policy DROP of nat chain {name} read as ACCEPT: nat chains do not filter"
                        ),
                    });
                    Policy::Accept
                } else if open.name == "nat" {
                    Policy::Accept
                } else {
                    policy
                };
                Some(BaseChain {
                    hook,
                    chain_type,
                    priority,
                    policy,
                })
            }
            None => {
                if policy_tok.text != "-" {
                    return Err(self.err(
                        n,
                        policy_tok.col,
                        format!("- (user chain {name} of table {} has no policy)", open.name),
                        &policy_tok.text,
                    ));
                }
                None
            }
        };
        let chain = Chain {
            name: name.to_owned(),
            base,
            rules: Vec::new(),
            origin: self.origin(n),
        };
        if let Some(open) = &mut self.open {
            open.index.insert(name.to_owned(), open.chains.len());
            open.kinds.insert(name.to_owned(), chain.base.is_some());
            open.chains.push(chain);
        }
        Ok(())
    }

    fn rule(&mut self, line: &str, n: usize, toks: &[Token], at: usize) -> Result<(), ParseError> {
        let cmd = toks.get(at);
        let col = cmd.map_or(1, |t| t.col);
        let Some(open) = &self.open else {
            return Err(self.err(n, col, "a *table line before the first rule", "-A"));
        };
        self.rules += 1;
        if self.rules > MAX_RULES {
            return Err(self.err(
                n,
                col,
                format!("at most {MAX_RULES} rules"),
                "one more rule",
            ));
        }
        let Some(chain_tok) = toks.get(at + 1) else {
            return Err(self.err(n, col, "a chain name after -A", ""));
        };
        let Some(&chain_idx) = open.index.get(&chain_tok.text) else {
            return Err(self.err(
                n,
                chain_tok.col,
                format!("a chain declared (:CHAIN line) in table {}", open.name),
                &chain_tok.text,
            ));
        };
        let cx = LineCx {
            file: self.file,
            line,
            n,
            family: self.family,
            sets: self.sets,
            table: &open.name,
            chain: &chain_tok.text,
            chains: &open.kinds,
        };
        let rest = toks.get(at + 2..).unwrap_or(&[]);
        let parsed = RuleParser::new(&cx, rest).run()?;
        self.set_ranges = self.set_ranges.saturating_add(parsed.set_ranges);
        if self.set_ranges > MAX_SET_RANGES_IN_RULES {
            return Err(self.err(
                n,
                col,
                format!("at most {MAX_SET_RANGES_IN_RULES} address ranges from sets in all rules"),
                "more",
            ));
        }
        let origin = self.origin(n);
        let text = line.trim().to_owned();
        let mut warnings: Vec<String> = parsed.warnings;
        let rules = build_rules(
            parsed.matches,
            &parsed.action,
            parsed.ports_or,
            &mut warnings,
        );
        for message in warnings {
            self.warnings.push(Warning {
                origin: origin.clone(),
                message,
            });
        }
        if let Some(open) = &mut self.open
            && let Some(chain) = open.chains.get_mut(chain_idx)
        {
            for matches in rules {
                chain.rules.push(Rule {
                    matches,
                    action: parsed.action.clone(),
                    origin: origin.clone(),
                    text: text.clone(),
                });
            }
        }
        Ok(())
    }
}

fn is_counters(t: &Token) -> bool {
    let Some(inner) = t.text.strip_prefix('[').and_then(|s| s.strip_suffix(']')) else {
        return false;
    };
    let Some((a, b)) = inner.split_once(':') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    !t.quoted && digits(a) && digits(b)
}

/// `-m multiport --ports P` matches when the source port OR the destination port is in P, and a rule's
/// matches are a conjunction. With a terminal action (accept, drop, reject, return, goto, NAT) the rule is
/// exactly "rule with sport in P" followed by "rule with dport in P": a packet matching the first never
/// reaches the second, one failing the first is tried against the second. With a non-terminal action
/// (continue, jump, unknown) a packet matching both copies would run the action twice, which the source does
/// not say, so the test stays [`Test::Unknown`] with a warning instead. More than one `--ports` in a rule is
/// left unknown too rather than multiplied out.
fn build_rules(
    matches: Vec<Match>,
    action: &Action,
    ports_or: Vec<(usize, Vec<PortRange>, String)>,
    warnings: &mut Vec<String>,
) -> Vec<Vec<Match>> {
    let terminal = matches!(
        action,
        Action::Accept
            | Action::Drop
            | Action::Reject
            | Action::Return
            | Action::Goto { .. }
            | Action::Dnat { .. }
            | Action::Redirect { .. }
            | Action::Snat
    );
    if ports_or.len() == 1
        && terminal
        && let Some((idx, ranges, _)) = ports_or.first()
        && *idx < matches.len()
    {
        let mut src = matches.clone();
        let mut dst = matches;
        if let Some(m) = src.get_mut(*idx) {
            *m = Match::is(Test::Port {
                dst: false,
                ranges: ranges.clone(),
            });
        }
        if let Some(m) = dst.get_mut(*idx) {
            *m = Match::is(Test::Port {
                dst: true,
                ranges: ranges.clone(),
            });
        }
        return vec![src, dst];
    }
    for (_, _, what) in ports_or {
        warnings.push(format!(
            "match not modelled: {what} (source or destination port, in a rule whose action does not end evaluation or with another --ports, so it cannot be split into two rules)"
        ));
    }
    vec![matches]
}

/// What a rule line is read against.
struct LineCx<'a> {
    file: &'a str,
    line: &'a str,
    n: usize,
    family: Family,
    sets: &'a IpSets,
    table: &'a str,
    chain: &'a str,
    /// Chains of the table so far → whether built in.
    chains: &'a HashMap<String, bool>,
}

impl LineCx<'_> {
    fn err(&self, col: usize, expected: impl Into<String>, found: &str) -> ParseError {
        ParseError::new(self.file, self.n, col, expected, found.to_owned())
    }

    /// The source text from the start of `a` to the end of `b`.
    fn slice(&self, a: &Token, b: &Token) -> String {
        self.line.get(a.start..b.end).unwrap_or(&b.text).to_owned()
    }
}

/// One option of a match or target: `[!] --name values…`.
struct Opt<'t> {
    first: &'t Token,
    name: &'t Token,
    negated: bool,
    values: Vec<&'t Token>,
    last: &'t Token,
}

impl<'t> Opt<'t> {
    fn value(&self, i: usize) -> Option<&'t Token> {
        self.values.get(i).copied()
    }
}

struct ParsedRule {
    matches: Vec<Match>,
    action: Action,
    /// Warning messages, in the order of the line.
    warnings: Vec<String>,
    /// `--ports` tests: index of their placeholder in `matches`, ports, text.
    ports_or: Vec<(usize, Vec<PortRange>, String)>,
    set_ranges: usize,
}

/// Options of the matches this reader models, with their number of values; `None` for an option the module
/// does not have (which ends the module, as in iptables another module may own it).
fn known_option(module: &str, option: &str) -> Option<usize> {
    let n = match (module, option) {
        (
            "tcp" | "udp" | "udplite" | "sctp" | "dccp",
            "--sport" | "--source-port" | "--dport" | "--destination-port",
        ) => 1,
        ("tcp", "--tcp-flags") => 2,
        ("tcp", "--syn") => 0,
        ("tcp", "--tcp-option") => 1,
        ("sctp", "--chunk-types") => 2,
        ("dccp", "--dccp-types" | "--dccp-option") => 1,
        (
            "multiport",
            "--ports" | "--sports" | "--source-ports" | "--dports" | "--destination-ports",
        ) => 1,
        ("state", "--state") => 1,
        (
            "conntrack",
            "--ctstate" | "--ctproto" | "--ctorigsrc" | "--ctorigdst" | "--ctreplsrc"
            | "--ctrepldst" | "--ctorigsrcport" | "--ctorigdstport" | "--ctreplsrcport"
            | "--ctrepldstport" | "--ctstatus" | "--ctexpire" | "--ctdir",
        ) => 1,
        ("iprange", "--src-range" | "--dst-range") => 1,
        ("set", "--match-set" | "--set") => 2,
        ("set", "--return-nomatch" | "--update-counters" | "--update-subcounters") => 0,
        (
            "set",
            "--packets-eq" | "--packets-lt" | "--packets-gt" | "--bytes-eq" | "--bytes-lt"
            | "--bytes-gt",
        ) => 1,
        ("comment", "--comment") => 1,
        ("addrtype", "--src-type" | "--dst-type") => 1,
        ("addrtype", "--limit-iface-in" | "--limit-iface-out") => 0,
        _ => return None,
    };
    Some(n)
}

/// Modules whose every option is in [`known_option`].
fn is_modelled_module(module: &str) -> bool {
    matches!(
        module,
        "tcp"
            | "udp"
            | "udplite"
            | "sctp"
            | "dccp"
            | "multiport"
            | "state"
            | "conntrack"
            | "iprange"
            | "set"
            | "comment"
            | "addrtype"
    )
}

fn port_protocols(module: &str) -> &'static [u8] {
    match module {
        "tcp" => &[6],
        "udp" => &[17],
        "udplite" => &[136],
        "sctp" => &[132],
        "dccp" => &[33],
        _ => &[6, 17, 136, 132, 33],
    }
}

struct RuleParser<'a> {
    cx: &'a LineCx<'a>,
    toks: &'a [Token],
    pos: usize,
    matches: Vec<Match>,
    warnings: Vec<String>,
    action: Option<Action>,
    /// The `-p` protocol (`None` inside for `all`) and whether negated.
    proto: Option<(Option<u8>, bool)>,
    seen: HashSet<&'static str>,
    /// Port matches needing a protocol: protocols allowed, module as written, column.
    needs_proto: Vec<(&'static [u8], String, usize)>,
    ports_or: Vec<(usize, Vec<PortRange>, String)>,
    set_ranges: usize,
}

impl<'a> RuleParser<'a> {
    fn new(cx: &'a LineCx<'a>, toks: &'a [Token]) -> Self {
        RuleParser {
            cx,
            toks,
            pos: 0,
            matches: Vec::new(),
            warnings: Vec::new(),
            action: None,
            proto: None,
            seen: HashSet::new(),
            needs_proto: Vec::new(),
            ports_or: Vec::new(),
            set_ranges: 0,
        }
    }

    fn run(mut self) -> Result<ParsedRule, ParseError> {
        while let Some(tok) = self.toks.get(self.pos) {
            let start = self.pos;
            let mut bang = None;
            let mut opt = tok;
            if is_bang(tok) {
                bang = Some(tok);
                self.pos += 1;
                opt = self.toks.get(self.pos).ok_or_else(|| {
                    self.cx
                        .err(tok.col, "an option (-s, -d, -p, -i, -o or -f) after !", "")
                })?;
            }
            self.pos += 1;
            if opt.quoted {
                return Err(self.cx.err(
                    opt.col,
                    "an option such as -s, -d, -p, -i, -o, -m or -j",
                    &opt.text,
                ));
            }
            let negated = bang.is_some();
            match opt.text.as_str() {
                "-s" | "--source" | "--src" => {
                    self.once("-s", opt)?;
                    self.address(opt, negated, false)?;
                }
                "-d" | "--destination" | "--dst" => {
                    self.once("-d", opt)?;
                    self.address(opt, negated, true)?;
                }
                "-p" | "--protocol" => {
                    self.once("-p", opt)?;
                    self.protocol(opt, bang)?;
                }
                "-i" | "--in-interface" => {
                    self.once("-i", opt)?;
                    self.interface(opt, negated, false)?;
                }
                "-o" | "--out-interface" => {
                    self.once("-o", opt)?;
                    self.interface(opt, negated, true)?;
                }
                "-f" | "--fragment" => {
                    self.once("-f", opt)?;
                    // Only later fragments match: nothing the model can say.
                    let what = self.cx.slice(bang.unwrap_or(opt), opt);
                    self.unknown(what, None);
                }
                "-m" | "--match" => {
                    self.no_bang(bang)?;
                    self.module(opt)?;
                }
                "-j" | "--jump" => {
                    self.no_bang(bang)?;
                    self.target(opt, false)?;
                }
                "-g" | "--goto" => {
                    self.no_bang(bang)?;
                    self.target(opt, true)?;
                }
                "-c" | "--set-counters" => {
                    self.no_bang(bang)?;
                    self.value(opt, "a packet count")?;
                    self.value(opt, "a byte count")?;
                }
                s if s.starts_with("--") => {
                    // An option of the protocol's match, loaded implicitly (`-p tcp --dport 22`).
                    let module = match self.proto {
                        Some((Some(p), false)) => implicit_module(p),
                        _ => None,
                    };
                    let Some(module) = module else {
                        return Err(self.cx.err(
                            opt.col,
                            "an iptables option (a match option needs its -m MATCH or -p PROTOCOL before it)",
                            &opt.text,
                        ));
                    };
                    self.pos = start;
                    self.module_body(module, None, opt)?;
                }
                _ => {
                    return Err(self.cx.err(
                        opt.col,
                        "an option such as -s, -d, -p, -i, -o, -m or -j",
                        &opt.text,
                    ));
                }
            }
        }
        self.finish()
    }

    fn finish(self) -> Result<ParsedRule, ParseError> {
        for (allowed, module, col) in &self.needs_proto {
            let ok = matches!(self.proto, Some((Some(p), false)) if allowed.contains(&p));
            if !ok {
                let expected = if allowed.len() == 1 {
                    let name = allowed
                        .first()
                        .and_then(|p| implicit_module(*p))
                        .unwrap_or("the protocol");
                    format!("-p {name} in a rule using {module} (the kernel refuses it otherwise)")
                } else {
                    format!(
                        "-p tcp, udp, udplite, sctp or dccp in a rule using {module} (the kernel refuses it otherwise)"
                    )
                };
                let found = match self.proto {
                    None => "no -p".to_owned(),
                    Some((None, _)) => "-p all".to_owned(),
                    Some((Some(p), neg)) => {
                        format!("{}-p {p}", if neg { "! " } else { "" })
                    }
                };
                return Err(self.cx.err(*col, expected, &found));
            }
        }
        Ok(ParsedRule {
            matches: self.matches,
            action: self.action.unwrap_or(Action::Continue),
            warnings: self.warnings,
            ports_or: self.ports_or,
            set_ranges: self.set_ranges,
        })
    }

    fn once(&mut self, name: &'static str, opt: &Token) -> Result<(), ParseError> {
        if !self.seen.insert(name) {
            return Err(self
                .cx
                .err(opt.col, format!("{name} at most once in a rule"), &opt.text));
        }
        Ok(())
    }

    fn no_bang(&self, bang: Option<&Token>) -> Result<(), ParseError> {
        match bang {
            Some(b) => {
                let next = self
                    .toks
                    .get(self.pos.saturating_sub(1))
                    .map_or("", |t| t.text.as_str());
                Err(self.cx.err(
                    b.col,
                    "an option that can be negated (-s, -d, -p, -i, -o, -f) after !",
                    next,
                ))
            }
            None => Ok(()),
        }
    }

    fn value(&mut self, opt: &Token, what: &str) -> Result<&'a Token, ParseError> {
        let Some(t) = self.toks.get(self.pos) else {
            return Err(self
                .cx
                .err(opt.col, format!("{what} after {}", opt.text), ""));
        };
        self.pos += 1;
        Ok(t)
    }

    fn unknown(&mut self, what: String, reason: Option<String>) {
        let message = match &reason {
            Some(r) => format!("match not modelled: {what} ({r})"),
            None => format!("match not modelled: {what}"),
        };
        self.warnings.push(message);
        self.matches.push(Match::is(Test::Unknown { what }));
    }

    fn push(&mut self, negated: bool, test: Test) {
        self.matches.push(Match { negated, test });
    }

    fn address(&mut self, opt: &Token, mut negated: bool, dst: bool) -> Result<(), ParseError> {
        let fam = family_name(self.cx.family);
        let expected = format!("an {fam} address or prefix after {}", opt.text);
        let mut v = self.value(opt, &format!("an {fam} address or prefix"))?;
        if is_bang(v) && !negated {
            // The old `-s ! 10.0.0.0/8` spelling.
            negated = true;
            v = self.value(opt, &format!("an {fam} address or prefix"))?;
        }
        let parts: Vec<&str> = v.text.split(',').collect();
        if negated && parts.len() > 1 {
            return Err(self.cx.err(
                v.col,
                format!(
                    "a single address after ! {} (iptables does not negate a list)",
                    opt.text
                ),
                &v.text,
            ));
        }
        let mut ranges = Vec::with_capacity(parts.len());
        let mut offset = usize::from(v.quoted);
        for part in parts {
            let col = v.col.saturating_add(offset);
            offset = offset.saturating_add(part.chars().count() + 1);
            match parse_address(part, self.cx.family) {
                Ok(AddrSpec::Range(r)) => ranges.push(r),
                Ok(AddrSpec::NonContiguous) => {
                    let what =
                        format!("{}{} {}", if negated { "! " } else { "" }, opt.text, v.text);
                    self.unknown(what, Some("a mask that is not a prefix".into()));
                    return Ok(());
                }
                Err(AddrErr::Invalid) => return Err(self.cx.err(col, expected, part)),
                Err(AddrErr::OtherFamily) => {
                    let other = family_name(other_family(self.cx.family));
                    return Err(self.cx.err(
                        col,
                        expected,
                        &format!("{part} (an {other} address)"),
                    ));
                }
            }
        }
        self.push(negated, Test::Addr { dst, ranges });
        Ok(())
    }

    fn protocol(&mut self, opt: &Token, bang: Option<&Token>) -> Result<(), ParseError> {
        let mut negated = bang.is_some();
        let mut v = self.value(opt, "a protocol")?;
        if is_bang(v) && !negated {
            negated = true;
            v = self.value(opt, "a protocol")?;
        }
        let Some(number) = protocol_number(&v.text) else {
            return Err(self.cx.err(
                v.col,
                "a protocol name (tcp, udp, icmp, ipv6-icmp, sctp …) or number 0-255 after -p",
                &v.text,
            ));
        };
        if number == 0 {
            self.proto = Some((None, negated));
            if negated {
                let what = format!("! -p {}", v.text);
                self.unknown(what, Some("matches no packet".into()));
            }
            return Ok(());
        }
        self.proto = Some((Some(number), negated));
        self.push(
            negated,
            Test::Protocol {
                numbers: vec![number],
            },
        );
        Ok(())
    }

    fn interface(&mut self, opt: &Token, mut negated: bool, out: bool) -> Result<(), ParseError> {
        let mut v = self.value(opt, "an interface name")?;
        if is_bang(v) && !negated {
            negated = true;
            v = self.value(opt, "an interface name")?;
        }
        let (name, wildcard) = match v.text.strip_suffix('+') {
            Some(prefix) => (prefix, true),
            None => (v.text.as_str(), false),
        };
        if (name.is_empty() && !wildcard)
            || v.text.chars().count() > 15
            || name.chars().any(|c| c.is_whitespace() || c == '/')
        {
            return Err(self.cx.err(
                v.col,
                format!(
                    "an interface name (at most 15 characters, + for a prefix) after {}",
                    opt.text
                ),
                &v.text,
            ));
        }
        self.push(
            negated,
            Test::Iface {
                out,
                names: vec![Iface {
                    name: name.to_owned(),
                    wildcard,
                }],
            },
        );
        Ok(())
    }

    fn module(&mut self, opt: &'a Token) -> Result<(), ParseError> {
        let name = self.value(opt, "a match name")?;
        if name.text.is_empty() || looks_like_option(name) {
            return Err(self.cx.err(name.col, "a match name after -m", &name.text));
        }
        self.module_body(&name.text, Some((opt, name)), name)
    }

    /// Reads the options of one match, from `self.pos`. `head` is `-m NAME` when written (`None` for the
    /// implicit protocol match); `first` is the token to report if the match has no option it knows.
    fn module_body(
        &mut self,
        module: &str,
        head: Option<(&'a Token, &'a Token)>,
        first: &Token,
    ) -> Result<(), ParseError> {
        let modelled = is_modelled_module(module);
        let label = match head {
            Some(_) => format!("-m {module}"),
            None => format!("-p {module}"),
        };
        let opts = self.collect_opts(module, &label, modelled)?;
        if head.is_none() && opts.is_empty() {
            return Err(self
                .cx
                .err(first.col, format!("an option of {label}"), &first.text));
        }
        let prefix = match head {
            Some((m, name)) => format!("{} ", self.cx.slice(m, name)),
            None => String::new(),
        };
        if !modelled {
            let what = match (head, opts.last()) {
                (Some((m, _)), Some(o)) => self.cx.slice(m, o.last),
                (Some((m, name)), None) => self.cx.slice(m, name),
                (None, Some(o)) => opts
                    .first()
                    .map_or_else(String::new, |f| self.cx.slice(f.first, o.last)),
                (None, None) => String::new(),
            };
            self.unknown(what, None);
            return Ok(());
        }
        let module_col = head.map_or(first.col, |(m, _)| m.col);
        let module_text = match head {
            Some((m, name)) => self.cx.slice(m, name),
            None => format!("-p {module}"),
        };
        match module {
            "comment" => {}
            "tcp" | "udp" | "udplite" | "sctp" | "dccp" => {
                self.needs_proto
                    .push((port_protocols(module), module_text, module_col));
                for o in &opts {
                    let dst = match o.name.text.as_str() {
                        "--sport" | "--source-port" => false,
                        "--dport" | "--destination-port" => true,
                        _ => {
                            let what = format!("{prefix}{}", self.cx.slice(o.first, o.last));
                            self.unknown(what, None);
                            continue;
                        }
                    };
                    let range = self.port_value(o, ':')?;
                    self.push(
                        o.negated,
                        Test::Port {
                            dst,
                            ranges: vec![range],
                        },
                    );
                }
            }
            "multiport" => {
                self.needs_proto
                    .push((port_protocols(module), module_text, module_col));
                for o in &opts {
                    self.multiport(o, &prefix)?;
                }
            }
            "state" | "conntrack" => {
                for o in &opts {
                    if o.name.text == "--state" || o.name.text == "--ctstate" {
                        self.ctstate(o, &prefix)?;
                    } else {
                        let what = format!("{prefix}{}", self.cx.slice(o.first, o.last));
                        self.unknown(what, None);
                    }
                }
            }
            "iprange" => {
                for o in &opts {
                    self.iprange(o)?;
                }
            }
            "addrtype" => {
                // `LOCAL` alone is modelled (the device's own addresses, bound by the analysis); other types
                // (BROADCAST, UNICAST …) and the interface limits are not.
                let limited = opts
                    .iter()
                    .any(|o| o.name.text.starts_with("--limit-iface"));
                for o in &opts {
                    let dst = match o.name.text.as_str() {
                        "--src-type" => false,
                        "--dst-type" => true,
                        _ => continue,
                    };
                    match o.value(0) {
                        Some(v) if v.text == "LOCAL" && !limited => {
                            self.push(o.negated, Test::Local { dst });
                        }
                        _ => {
                            let what = format!("{prefix}{}", self.cx.slice(o.first, o.last));
                            self.unknown(what, None);
                        }
                    }
                }
                if limited {
                    let what = format!("{prefix}--limit-iface-…");
                    self.unknown(what, None);
                }
            }
            "set" => {
                for o in &opts {
                    self.set_option(o, &prefix)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// `[!] --option values…` until the next generic option. In a modelled match, an option it does not have
    /// ends it (iptables would hand that option to another match); in other matches values run to the next
    /// option-looking word.
    fn collect_opts(
        &mut self,
        module: &str,
        label: &str,
        modelled: bool,
    ) -> Result<Vec<Opt<'a>>, ParseError> {
        let mut opts = Vec::new();
        while let Some(t) = self.toks.get(self.pos) {
            if is_generic(t) {
                break;
            }
            let mut name = t;
            let negated = is_bang(t);
            if negated {
                match self.toks.get(self.pos + 1) {
                    Some(next) if is_generic(next) => break,
                    Some(next) => name = next,
                    None => {
                        return Err(self.cx.err(
                            t.col,
                            format!("an option of {label} after !"),
                            "",
                        ));
                    }
                }
            }
            if !looks_like_option(name) {
                return Err(self.cx.err(
                    name.col,
                    format!("an option of {label}, or another option"),
                    &name.text,
                ));
            }
            let arity = known_option(module, &name.text);
            if modelled && arity.is_none() {
                break;
            }
            self.pos += usize::from(negated) + 1;
            let mut values = Vec::new();
            match arity {
                Some(count) => {
                    for _ in 0..count {
                        let Some(v) = self.toks.get(self.pos) else {
                            return Err(self.cx.err(
                                name.col,
                                format!("a value after {} ({label})", name.text),
                                "",
                            ));
                        };
                        values.push(v);
                        self.pos += 1;
                    }
                }
                None => {
                    while let Some(v) = self.toks.get(self.pos) {
                        if looks_like_option(v) || is_bang(v) {
                            break;
                        }
                        values.push(v);
                        self.pos += 1;
                    }
                }
            }
            let last = values.last().copied().unwrap_or(name);
            opts.push(Opt {
                first: t,
                name,
                negated,
                values,
                last,
            });
        }
        Ok(opts)
    }

    fn port_value(&self, o: &Opt<'_>, sep: char) -> Result<PortRange, ParseError> {
        let Some(v) = o.value(0) else {
            return Err(self
                .cx
                .err(o.name.col, format!("a port after {}", o.name.text), ""));
        };
        parse_port_range(&v.text, sep).ok_or_else(|| self.cx.err(v.col, PORT_EXPECTED, &v.text))
    }

    fn multiport(&mut self, o: &Opt<'_>, prefix: &str) -> Result<(), ParseError> {
        let Some(v) = o.value(0) else {
            return Err(self
                .cx
                .err(o.name.col, format!("ports after {}", o.name.text), ""));
        };
        let mut ranges = Vec::new();
        let mut offset = usize::from(v.quoted);
        for part in v.text.split(',') {
            let col = v.col.saturating_add(offset);
            offset = offset.saturating_add(part.chars().count() + 1);
            let r = parse_port_range(part, ':').ok_or_else(|| {
                self.cx.err(
                    col,
                    "a comma-separated list of ports or port ranges (0-65535, low:high with low <= high)",
                    part,
                )
            })?;
            ranges.push(r);
        }
        match o.name.text.as_str() {
            "--sports" | "--source-ports" => {
                self.push(o.negated, Test::Port { dst: false, ranges })
            }
            "--dports" | "--destination-ports" => {
                self.push(o.negated, Test::Port { dst: true, ranges })
            }
            _ if o.negated => {
                // Neither port in the list: a conjunction the model says directly.
                self.push(
                    true,
                    Test::Port {
                        dst: false,
                        ranges: ranges.clone(),
                    },
                );
                self.push(true, Test::Port { dst: true, ranges });
            }
            _ => {
                // Either port: see `build_rules`. A placeholder now, replaced or kept with a warning there.
                let what = format!("{prefix}{}", self.cx.slice(o.first, o.last));
                self.ports_or
                    .push((self.matches.len(), ranges, what.clone()));
                self.matches.push(Match::is(Test::Unknown { what }));
            }
        }
        Ok(())
    }

    fn ctstate(&mut self, o: &Opt<'_>, prefix: &str) -> Result<(), ParseError> {
        let Some(v) = o.value(0) else {
            return Err(self
                .cx
                .err(o.name.col, format!("states after {}", o.name.text), ""));
        };
        let mut states = Vec::new();
        let mut nat = false;
        let mut offset = usize::from(v.quoted);
        for part in v.text.split(',') {
            let col = v.col.saturating_add(offset);
            offset = offset.saturating_add(part.chars().count() + 1);
            match parse_ctstate(part) {
                Some(Some(s)) => {
                    if !states.contains(&s) {
                        states.push(s);
                    }
                }
                Some(None) => nat = true,
                None => {
                    return Err(self.cx.err(
                        col,
                        "a connection state (NEW, ESTABLISHED, RELATED, INVALID, UNTRACKED, SNAT, DNAT)",
                        part,
                    ));
                }
            }
        }
        if nat {
            let what = format!("{prefix}{}", self.cx.slice(o.first, o.last));
            self.unknown(
                what,
                Some("the SNAT and DNAT states are not modelled".into()),
            );
        } else {
            self.push(o.negated, Test::CtState { states });
        }
        Ok(())
    }

    fn iprange(&mut self, o: &Opt<'_>) -> Result<(), ParseError> {
        let fam = self.cx.family;
        let expected = format!(
            "an {} address range first-last after {}",
            family_name(fam),
            o.name.text
        );
        let Some(v) = o.value(0) else {
            return Err(self.cx.err(o.name.col, expected, ""));
        };
        let bad = |e: AddrErr| {
            let found = match e {
                AddrErr::Invalid => v.text.clone(),
                AddrErr::OtherFamily => {
                    format!("{} (an {} range)", v.text, family_name(other_family(fam)))
                }
            };
            self.cx.err(v.col, expected.clone(), &found)
        };
        let (a, b) = v
            .text
            .split_once('-')
            .ok_or(AddrErr::Invalid)
            .map_err(bad)?;
        let first = parse_single(a, fam).map_err(bad)?;
        let last = parse_single(b, fam).map_err(bad)?;
        if first > last {
            return Err(bad(AddrErr::Invalid));
        }
        self.push(
            o.negated,
            Test::Addr {
                dst: o.name.text == "--dst-range",
                ranges: vec![AddrRange {
                    family: fam,
                    first,
                    last,
                }],
            },
        );
        Ok(())
    }

    fn set_option(&mut self, o: &Opt<'_>, prefix: &str) -> Result<(), ParseError> {
        match o.name.text.as_str() {
            "--match-set" | "--set" => {}
            // Counter bookkeeping: never changes matching.
            "--update-counters" | "--update-subcounters" => return Ok(()),
            _ => {
                let what = format!("{prefix}{}", self.cx.slice(o.first, o.last));
                self.unknown(what, None);
                return Ok(());
            }
        }
        let (Some(name), Some(flags)) = (o.value(0), o.value(1)) else {
            return Err(self.cx.err(
                o.name.col,
                format!("a set name and src/dst flags after {}", o.name.text),
                "",
            ));
        };
        let mut dirs = Vec::new();
        let mut offset = usize::from(flags.quoted);
        for part in flags.text.split(',') {
            let col = flags.col.saturating_add(offset);
            offset = offset.saturating_add(part.chars().count() + 1);
            match part {
                "src" => dirs.push(false),
                "dst" => dirs.push(true),
                _ => {
                    return Err(self.cx.err(
                        col,
                        "src or dst (comma-separated, one per dimension of the set)",
                        part,
                    ));
                }
            }
        }
        if dirs.len() > 6 {
            return Err(self
                .cx
                .err(flags.col, "at most 6 src/dst flags", &flags.text));
        }
        let Some(set) = self.cx.sets.get(&name.text) else {
            return Err(self
                .cx
                .err(name.col, "a set defined in the ipset save file", &name.text));
        };
        let what = format!("{prefix}{}", self.cx.slice(o.first, o.last));
        // hash:ip, hash:net, bitmap:ip have one dimension: the kernel uses the first flag only.
        let dst = dirs.first().copied().unwrap_or(false);
        match resolve_set(self.cx.sets, set, self.cx.family) {
            Resolved::Ranges(ranges) => {
                self.set_ranges = self.set_ranges.saturating_add(ranges.len());
                self.push(o.negated, Test::Addr { dst, ranges });
            }
            Resolved::NotModelled(reason) => self.unknown(what, Some(reason)),
        }
        Ok(())
    }

    fn target(&mut self, opt: &'a Token, goto: bool) -> Result<(), ParseError> {
        let name = self.value(
            opt,
            if goto {
                "a chain name"
            } else {
                "a target or chain name"
            },
        )?;
        if self.action.is_some() {
            return Err(self.cx.err(opt.col, "one -j or -g in a rule", &opt.text));
        }
        if name.text.is_empty() || looks_like_option(name) || name.quoted {
            return Err(self.cx.err(
                name.col,
                format!("a target or chain name after {}", opt.text),
                &name.text,
            ));
        }
        let label = format!("{} {}", opt.text, name.text);
        let opts = self.collect_opts(&name.text, &label, false)?;
        let last = opts.last().map_or(name, |o| o.last);
        let text = self.cx.slice(opt, last);
        let table = self.cx.table;
        let no_options = |this: &Self| match opts.first() {
            Some(o) => Err(this.cx.err(
                o.first.col,
                format!("no option after {} {}", opt.text, name.text),
                &o.name.text,
            )),
            None => Ok(()),
        };
        let declared = self.cx.chains.get(&name.text).copied();
        if goto {
            return match declared {
                Some(false) => {
                    no_options(self)?;
                    self.action = Some(Action::Goto {
                        chain: name.text.clone(),
                    });
                    Ok(())
                }
                Some(true) => Err(self.cx.err(
                    name.col,
                    format!("a user chain of table {table} after -g (built-in chains cannot be jumped to)"),
                    &name.text,
                )),
                None => Err(self.cx.err(
                    name.col,
                    format!("a chain declared in table {table} after -g"),
                    &name.text,
                )),
            };
        }
        let n = name.text.as_str();
        let action = match n {
            "ACCEPT" | "DROP" | "RETURN" => {
                no_options(self)?;
                match n {
                    "ACCEPT" => Action::Accept,
                    "DROP" => Action::Drop,
                    _ => Action::Return,
                }
            }
            "REJECT" => Action::Reject,
            _ if declared == Some(false) => {
                no_options(self)?;
                Action::Jump {
                    chain: n.to_owned(),
                }
            }
            _ if declared == Some(true) => {
                return Err(self.cx.err(
                    name.col,
                    format!("a user chain of table {table} (built-in chains cannot be jumped to)"),
                    n,
                ));
            }
            "DNAT" => self.dnat(name, &opts)?,
            "REDIRECT" => {
                let mut ports = None;
                for o in &opts {
                    if o.name.text == "--to-ports" {
                        ports = Some(self.port_value(o, '-')?);
                    }
                }
                Action::Redirect { ports }
            }
            "NETMAP" => {
                if table == "nat" && (self.cx.chain == "POSTROUTING" || self.cx.chain == "INPUT") {
                    Action::Snat
                } else {
                    self.unknown_target(
                        text.clone(),
                        Some("NETMAP outside nat POSTROUTING and INPUT rewrites destinations"),
                    );
                    Action::Unknown { what: text }
                }
            }
            _ if SNAT_TARGETS.contains(&n) => Action::Snat,
            _ if CONTINUE_TARGETS.contains(&n) => Action::Continue,
            _ if UNMODELLED_TARGETS.contains(&n) || !opts.is_empty() => {
                self.unknown_target(text.clone(), None);
                Action::Unknown { what: text }
            }
            _ => {
                return Err(self.cx.err(
                    name.col,
                    format!("a chain declared in table {table}, or a known target, after -j"),
                    n,
                ));
            }
        };
        self.action = Some(action);
        Ok(())
    }

    fn unknown_target(&mut self, what: String, reason: Option<&str>) {
        self.warnings.push(match reason {
            Some(r) => format!("target not modelled: {what} ({r})"),
            None => format!("target not modelled: {what}"),
        });
    }

    fn dnat(&mut self, name: &Token, opts: &[Opt<'_>]) -> Result<Action, ParseError> {
        let tos: Vec<&Opt<'_>> = opts
            .iter()
            .filter(|o| o.name.text == "--to-destination" || o.name.text == "--to")
            .collect();
        let Some(to) = tos.first() else {
            return Err(self.cx.err(name.col, "--to-destination after -j DNAT", ""));
        };
        let Some(v) = to.value(0) else {
            return Err(self.cx.err(
                to.name.col,
                "[address[-address]][:port[-port]] after --to-destination",
                "",
            ));
        };
        let (addr, ports) = parse_nat_to(&v.text, self.cx.family).ok_or_else(|| {
            let expected = match self.cx.family {
                Family::Ipv4 => "address[-address][:port[-port]] after --to-destination",
                Family::Ipv6 => {
                    "[address[-address]]:port[-port] or address[-address] after --to-destination"
                }
            };
            self.cx.err(v.col, expected, &v.text)
        })?;
        if tos.len() > 1 {
            // Several ranges, used in turn by old kernels.
            let what = self.cx.slice(name, to.last);
            self.unknown_target(format!("-j {what} …"), Some("several --to-destination"));
            return Ok(Action::Unknown {
                what: format!("-j {what} …"),
            });
        }
        Ok(Action::Dnat { to: addr, ports })
    }
}

/// `--to-destination` of DNAT: `[ipaddr[-ipaddr]][:port[-port[/base]]]`, IPv6 addresses in brackets when a
/// port follows (an IPv6 address without brackets has no port).
fn parse_nat_to(text: &str, family: Family) -> Option<(Option<AddrRange>, Option<PortRange>)> {
    let (addr, port) = if let Some(rest) = text.strip_prefix('[') {
        if family == Family::Ipv4 {
            return None;
        }
        let (inner, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (inner, port)
    } else {
        match text.split_once(':') {
            Some((a, p)) if !p.contains(':') => (a, Some(p)),
            Some(_) => (text, None),
            None => (text, None),
        }
    };
    let to = if addr.is_empty() {
        None
    } else {
        let (a, b) = match addr.split_once('-') {
            Some((a, b)) => (a, b),
            None => (addr, addr),
        };
        let first = parse_single(a, family).ok()?;
        let last = parse_single(b, family).ok()?;
        if first > last {
            return None;
        }
        Some(AddrRange {
            family,
            first,
            last,
        })
    };
    let ports = match port {
        None => None,
        Some(p) => {
            // `/base` shifts the mapping inside the range: the range still bounds the new port.
            let p = match p.split_once('/') {
                Some((range, base)) => {
                    parse_port(base)?;
                    range
                }
                None => p,
            };
            Some(parse_port_range(p, '-')?)
        }
    };
    if to.is_none() && ports.is_none() {
        return None;
    }
    Some((to, ports))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn toks(line: &str) -> Vec<(String, usize, bool)> {
        tokenize(line, "t", 1)
            .unwrap()
            .into_iter()
            .map(|t| (t.text, t.col, t.quoted))
            .collect()
    }

    #[test]
    fn tokenizer_follows_iptables_restore_quoting() {
        assert_eq!(
            toks(r#"-A X -m comment --comment "\'dapp_OpenSSH\'" -j ACCEPT"#),
            vec![
                ("-A".into(), 1, false),
                ("X".into(), 4, false),
                ("-m".into(), 6, false),
                ("comment".into(), 9, false),
                ("--comment".into(), 17, false),
                ("'dapp_OpenSSH'".into(), 27, true),
                ("-j".into(), 46, false),
                ("ACCEPT".into(), 49, false),
            ]
        );
        assert_eq!(toks(r#"a "b \" c"d"#).len(), 3);
        assert_eq!(toks(r#""""#), vec![(String::new(), 1, true)]);
        assert!(tokenize(r#"-A X "open"#, "t", 1).is_err());
    }

    #[test]
    fn ranges_split_into_prefixes_and_exceptions_subtract() {
        let p = range_to_prefixes(10, 20, Family::Ipv4);
        assert_eq!(p, vec![(10, 31), (12, 30), (16, 30), (20, 32)]);
        let all = range_to_prefixes(0, u128::MAX, Family::Ipv6);
        assert_eq!(all, vec![(0, 0)]);
        assert_eq!(
            subtract(&[(0, 100)], &[(10, 20), (50, 200)]),
            vec![(0, 9), (21, 49)]
        );
        assert_eq!(
            subtract(&[(0, 10), (20, 30)], &[(5, 25)]),
            vec![(0, 4), (26, 30)]
        );
        assert_eq!(
            normalize(vec![(5, 9), (0, 4), (20, u128::MAX), (30, 40)]),
            vec![(0, 9), (20, u128::MAX)]
        );
    }

    #[test]
    fn dotted_masks_become_prefixes_or_unknown() {
        let Ok(AddrSpec::Range(r)) = parse_address("10.1.2.3/255.255.0.0", Family::Ipv4) else {
            panic!("expected a range");
        };
        assert_eq!(r.to_string(), "10.1.0.0-10.1.255.255");
        assert!(matches!(
            parse_address("10.0.0.0/255.0.255.0", Family::Ipv4),
            Ok(AddrSpec::NonContiguous)
        ));
        assert!(matches!(
            parse_address("2001:db8::/32", Family::Ipv4),
            Err(AddrErr::OtherFamily)
        ));
        assert!(matches!(
            parse_address("0.0.0.0/0.0.0.0", Family::Ipv4),
            Ok(AddrSpec::Range(_))
        ));
    }

    #[test]
    fn nat_destinations() {
        let v4 = parse_nat_to("10.40.0.25:25", Family::Ipv4).unwrap();
        assert_eq!(v4.1, Some(PortRange::single(25)));
        assert_eq!(v4.0.unwrap().to_string(), "10.40.0.25");
        let v6 = parse_nat_to("[2001:db8::1-2001:db8::4]:80-90", Family::Ipv6).unwrap();
        assert_eq!(v6.0.unwrap().to_string(), "2001:db8::1-2001:db8::4");
        assert_eq!(
            v6.1,
            Some(PortRange {
                first: 80,
                last: 90
            })
        );
        assert_eq!(parse_nat_to("2001:db8::1", Family::Ipv6).unwrap().1, None);
        assert_eq!(parse_nat_to(":8080", Family::Ipv4).unwrap().0, None);
        assert!(parse_nat_to("[10.0.0.1]:80", Family::Ipv4).is_none());
        assert!(parse_nat_to("10.0.0.1:90-80", Family::Ipv4).is_none());
        assert!(parse_nat_to("", Family::Ipv4).is_none());
    }
}
