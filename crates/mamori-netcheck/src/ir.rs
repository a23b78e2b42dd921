//! The rule model every parser produces: what a packet-filtering configuration says, in terms the analysis
//! understands, with the origin of every rule.
//!
//! Addresses are ranges of integers (IPv4 in the low 32 bits) tagged with their family, so prefixes, ranges
//! (`-m iprange`), sets (`-m set`, nft named and anonymous sets) all become lists of ranges. Ports likewise.
//! Interfaces are names, or prefixes for wildcards (`eth+` in iptables, `eth*` in nftables).
//!
//! Semantics kept from the source, for the analysis to apply:
//! - chains are evaluated rule by rule, first match wins; [`Action::Continue`] (log, counter, mark) does not
//!   end evaluation; [`Action::Return`] goes back to the calling chain, or to the base chain's policy;
//! - several base chains may sit on one hook, ordered by [`BaseChain::priority`]: an accept ends only its own
//!   base chain, a drop is final;
//! - `nat` base chains rewrite addresses ([`Action::Dnat`] in prerouting happens before forwarding filters).

use std::fmt;
use std::sync::Arc;

/// IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    /// The largest address of the family, as an integer.
    pub fn max(self) -> u128 {
        match self {
            Family::Ipv4 => u128::from(u32::MAX),
            Family::Ipv6 => u128::MAX,
        }
    }

    /// Address bits: 32 or 128.
    pub fn bits(self) -> u32 {
        match self {
            Family::Ipv4 => 32,
            Family::Ipv6 => 128,
        }
    }
}

/// An inclusive range of addresses of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct AddrRange {
    pub family: Family,
    pub first: u128,
    pub last: u128,
}

impl AddrRange {
    /// Every address of the family.
    pub fn any(family: Family) -> Self {
        AddrRange {
            family,
            first: 0,
            last: family.max(),
        }
    }

    /// A prefix such as `10.1.0.0/16` (host bits are ignored, as the kernel does). `None` for a length beyond
    /// the family's bits.
    pub fn prefix(family: Family, addr: u128, len: u32) -> Option<Self> {
        let bits = family.bits();
        if len > bits {
            return None;
        }
        let host_bits = bits - len;
        let host_mask = if host_bits == 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        let first = addr & !host_mask & family.max();
        Some(AddrRange {
            family,
            first,
            last: first | host_mask,
        })
    }

    /// Parses `10.0.0.1`, `10.0.0.0/8`, `2001:db8::/32`.
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, len) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l.parse::<u32>().ok()?)),
            None => (text, None),
        };
        let (family, value) = match addr.parse::<std::net::IpAddr>().ok()? {
            std::net::IpAddr::V4(a) => (Family::Ipv4, u128::from(u32::from(a))),
            std::net::IpAddr::V6(a) => (Family::Ipv6, u128::from(a)),
        };
        AddrRange::prefix(family, value, len.unwrap_or(family.bits()))
    }

    pub fn contains(&self, family: Family, addr: u128) -> bool {
        self.family == family && self.first <= addr && addr <= self.last
    }
}

impl fmt::Display for AddrRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: u128| match self.family {
            Family::Ipv4 => {
                std::net::Ipv4Addr::from(u32::try_from(v).unwrap_or(u32::MAX)).to_string()
            }
            Family::Ipv6 => std::net::Ipv6Addr::from(v).to_string(),
        };
        if self.first == self.last {
            write!(f, "{}", show(self.first))
        } else {
            write!(f, "{}-{}", show(self.first), show(self.last))
        }
    }
}

/// An inclusive range of ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub fn single(port: u16) -> Self {
        PortRange {
            first: port,
            last: port,
        }
    }
}

/// Whether packets of the IP protocol carry ports (TCP, UDP, DCCP, SCTP, UDP-Lite).
pub fn has_ports(protocol: u8) -> bool {
    matches!(protocol, 6 | 17 | 33 | 132 | 136)
}

/// Connection-tracking state of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CtState {
    New,
    Established,
    Related,
    Invalid,
    Untracked,
}

/// An interface name, or every name starting with `name` (`eth+`, `eth*`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Iface {
    pub name: String,
    pub wildcard: bool,
}

impl Iface {
    pub fn matches(&self, name: &str) -> bool {
        if self.wildcard {
            name.starts_with(&self.name)
        } else {
            name == self.name
        }
    }
}

/// One condition on a packet.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "test")]
pub enum Test {
    /// The packet's family (nft `meta nfproto`, or the family of an `inet` table's address match).
    Family { family: Family },
    /// Source (`dst == false`) or destination address in one of the ranges.
    Addr { dst: bool, ranges: Vec<AddrRange> },
    /// IP protocol number in the list (6 tcp, 17 udp, 1 icmp, 58 ipv6-icmp, 132 sctp …).
    Protocol { numbers: Vec<u8> },
    /// Source or destination port in one of the ranges. Only TCP, UDP, SCTP (and UDP-Lite, DCCP) packets have
    /// ports: a parser puts the protocol test beside it when the source states one.
    Port { dst: bool, ranges: Vec<PortRange> },
    /// Connection-tracking state in the list.
    CtState { states: Vec<CtState> },
    /// Input (`out == false`) or output interface.
    Iface { out: bool, names: Vec<Iface> },
    /// Something the parser does not model (`-m time`, `-m string`, `meta mark`, an ICMP type …). The analysis
    /// over-approximates it: it may or may not match. Every such test has a warning on its ruleset.
    Unknown { what: String },
    /// The source (`dst == false`) or destination address is one of the device's own (`-m addrtype
    /// --dst-type LOCAL`): a device's addresses are not in its ruleset, so the analysis binds this to them
    /// ([`Test::bind_local`]); unbound, it is not modelled.
    Local { dst: bool },
}

impl Test {
    /// This test with [`Test::Local`] replaced by an address test over the given addresses.
    pub fn bind_local(&self, own: &[AddrRange]) -> Test {
        match self {
            Test::Local { dst } => Test::Addr {
                dst: *dst,
                ranges: own.to_vec(),
            },
            other => other.clone(),
        }
    }
}

/// A condition, possibly negated (`! -s 10.0.0.0/8`, `ip saddr != 10.0.0.0/8`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Match {
    pub negated: bool,
    #[serde(flatten)]
    pub test: Test,
}

impl Match {
    pub fn is(test: Test) -> Self {
        Match {
            negated: false,
            test,
        }
    }

    pub fn not(test: Test) -> Self {
        Match {
            negated: true,
            test,
        }
    }
}

/// What a rule does when all its matches hold.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Action {
    Accept,
    Drop,
    /// Like drop for reachability; the sender is told.
    Reject,
    /// Back to the calling chain (or the base chain's policy).
    Return,
    Jump {
        chain: String,
    },
    Goto {
        chain: String,
    },
    /// Does not end evaluation: log, counter, mark, a non-terminal target.
    Continue,
    /// Destination NAT to an address range and/or port range (`-j DNAT --to-destination`, nft `dnat to`).
    Dnat {
        to: Option<AddrRange>,
        ports: Option<PortRange>,
    },
    /// Redirect to the device itself (`-j REDIRECT`, nft `redirect`), optionally to ports.
    Redirect {
        ports: Option<PortRange>,
    },
    /// Source NAT or masquerade: changes no reachability of new connections.
    Snat,
    /// A target the parser does not model; the analysis treats it as possibly accepting.
    Unknown {
        what: String,
    },
}

/// Where a rule (or chain, or warning) came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Origin {
    pub file: Arc<str>,
    /// 1-based line in the file (for nft JSON: the line where the rule's object starts).
    pub line: usize,
    /// nft's rule handle, when the source has one.
    pub handle: Option<u64>,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if let Some(h) = self.handle {
            write!(f, " (handle {h})")?;
        }
        Ok(())
    }
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    pub matches: Vec<Match>,
    pub action: Action,
    pub origin: Origin,
    /// The rule as written (one line of iptables-save; nft's rule rendered compactly), for messages.
    pub text: String,
}

/// Where in the kernel's path a base chain sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
}

/// What a base chain may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChainType {
    Filter,
    Nat,
    /// nft `route` / iptables `mangle` (may reroute; filters like a filter chain).
    Route,
}

/// The verdict of a base chain when no rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    Accept,
    Drop,
}

/// A chain the kernel calls from a hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BaseChain {
    pub hook: Hook,
    pub chain_type: ChainType,
    /// Lower runs first (iptables: raw -300, mangle -150, nat prerouting -100, filter 0, nat postrouting 100).
    pub priority: i32,
    pub policy: Policy,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Chain {
    pub name: String,
    /// `None` for a user chain, reached only by jump or goto.
    pub base: Option<BaseChain>,
    pub rules: Vec<Rule>,
    pub origin: Origin,
}

/// The families a table covers: iptables tables are ip or ip6; nft adds inet (both) and others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TableFamily {
    Ip,
    Ip6,
    Inet,
    /// arp, bridge, netdev: not on the IP path this analysis follows; kept so nothing is silently lost.
    Other,
}

impl TableFamily {
    pub fn covers(self, family: Family) -> bool {
        match self {
            TableFamily::Ip => family == Family::Ipv4,
            TableFamily::Ip6 => family == Family::Ipv6,
            TableFamily::Inet => true,
            TableFamily::Other => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Table {
    pub family: TableFamily,
    pub name: String,
    pub chains: Vec<Chain>,
}

impl Table {
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }
}

/// Something read but not modelled exactly: the analysis over-approximates it, and the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    pub origin: Origin,
    pub message: String,
}

/// Everything one configuration file says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ruleset {
    pub file: Arc<str>,
    pub tables: Vec<Table>,
    pub warnings: Vec<Warning>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn prefixes_become_ranges_and_host_bits_are_ignored() {
        let r = AddrRange::parse("10.1.2.3/16").unwrap();
        assert_eq!(r.to_string(), "10.1.0.0-10.1.255.255");
        assert_eq!(
            AddrRange::parse("0.0.0.0/0").unwrap(),
            AddrRange::any(Family::Ipv4)
        );
        assert_eq!(
            AddrRange::parse("192.0.2.7").unwrap().to_string(),
            "192.0.2.7"
        );
        let v6 = AddrRange::parse("2001:db8::/32").unwrap();
        assert_eq!(v6.family, Family::Ipv6);
        assert_eq!(
            v6.to_string(),
            "2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"
        );
        assert_eq!(
            AddrRange::parse("::/0").unwrap(),
            AddrRange::any(Family::Ipv6)
        );
        assert!(AddrRange::parse("10.0.0.0/33").is_none());
        assert!(AddrRange::parse("10.0.0/8").is_none());
    }

    #[test]
    fn wildcard_interfaces_match_by_prefix() {
        let eth = Iface {
            name: "eth".into(),
            wildcard: true,
        };
        assert!(eth.matches("eth0") && eth.matches("eth") && !eth.matches("wlan0"));
        let exact = Iface {
            name: "eth0".into(),
            wildcard: false,
        };
        assert!(exact.matches("eth0") && !exact.matches("eth01"));
    }
}
