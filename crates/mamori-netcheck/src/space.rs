//! The packet header space as binary decision diagrams: which packets a rule matches, which a chain
//! accepts, as one [`Bdd`] each over a fixed layout of variables.
//!
//! The layout, top of the order first: family (1 bit: IPv6 when set), input and output interface (a finite
//! domain each, see below), connection-tracking state (3 bits), protocol (8), source address (128, most
//! significant bit first), destination address (128), source port (16), destination port (16). An IPv4
//! address is held in the low 32 bits with the high 96 zero. Addresses and ports keep their most significant
//! bit first so that a prefix is a path and an inclusive range takes O(bits) nodes.
//!
//! Interfaces are a finite domain over the names the caller knows (those of the configurations and the zone
//! map, see [`interface_names`]) plus one code for "any other name". An exact name outside the known names
//! matches that "other" code; a wildcard (`eth+`) matches every known name with its prefix and, conservatively,
//! the "other" code. Packets on known names are therefore judged exactly; the "other" code is a coarse
//! stand-in for the names nobody listed.
//!
//! [`Space::valid`] excludes the codes that stand for nothing (the three unused ct-state codes, interface
//! codes past the domain, IPv4 packets with a non-zero high address part).

use std::fmt;

use biodivine_lib_bdd::{Bdd, BddPartialValuation, BddValuation, BddVariable, BddVariableSet};

use crate::ir::{AddrRange, CtState, Family, Iface, PortRange, Ruleset, Test};

const ADDR_BITS: usize = 128;
const PORT_BITS: usize = 16;
const PROTO_BITS: usize = 8;
const CT_BITS: usize = 3;

/// The ct states in code order: code `i` is `CT_STATES[i]`.
const CT_STATES: [CtState; 5] = [
    CtState::New,
    CtState::Established,
    CtState::Related,
    CtState::Invalid,
    CtState::Untracked,
];

/// One concrete packet, as a witness of a set or a probe of one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Packet {
    pub family: Family,
    /// IPv4 in the low 32 bits.
    pub src: u128,
    pub dst: u128,
    pub protocol: u8,
    pub sport: u16,
    pub dport: u16,
    pub ct_state: CtState,
    /// `None`: a name outside the space's known interfaces.
    pub iif: Option<String>,
    pub oif: Option<String>,
}

fn protocol_name(p: u8) -> Option<&'static str> {
    match p {
        1 => Some("icmp"),
        6 => Some("tcp"),
        17 => Some("udp"),
        58 => Some("ipv6-icmp"),
        132 => Some("sctp"),
        _ => None,
    }
}

pub fn show_addr(family: Family, v: u128) -> String {
    match family {
        Family::Ipv4 => std::net::Ipv4Addr::from(u32::try_from(v).unwrap_or(u32::MAX)).to_string(),
        Family::Ipv6 => std::net::Ipv6Addr::from(v).to_string(),
    }
}

fn show_endpoint(family: Family, addr: u128, port: Option<u16>) -> String {
    let a = show_addr(family, addr);
    match (port, family) {
        (None, _) => a,
        (Some(p), Family::Ipv4) => format!("{a}:{p}"),
        (Some(p), Family::Ipv6) => format!("[{a}]:{p}"),
    }
}

fn ct_name(s: CtState) -> &'static str {
    match s {
        CtState::New => "new",
        CtState::Established => "established",
        CtState::Related => "related",
        CtState::Invalid => "invalid",
        CtState::Untracked => "untracked",
    }
}

impl fmt::Display for Packet {
    /// `tcp 10.30.0.5:40000 → 10.20.1.1:25 in eth3 out eth2 state new`; ports only for protocols that have
    /// them; `(other)` for an interface outside the known names.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match protocol_name(self.protocol) {
            Some(name) => write!(f, "{name} ")?,
            None => write!(f, "proto {} ", self.protocol)?,
        }
        let ports = crate::ir::has_ports(self.protocol);
        write!(
            f,
            "{} → {}",
            show_endpoint(self.family, self.src, ports.then_some(self.sport)),
            show_endpoint(self.family, self.dst, ports.then_some(self.dport)),
        )?;
        let iface = |i: &Option<String>| i.clone().unwrap_or_else(|| "(other)".to_owned());
        write!(
            f,
            " in {} out {} state {}",
            iface(&self.iif),
            iface(&self.oif),
            ct_name(self.ct_state)
        )
    }
}

/// The variables and their layout; every [`Bdd`] of one analysis is over one `Space`.
#[derive(Debug, Clone)]
pub struct Space {
    vars: BddVariableSet,
    family: BddVariable,
    iif: Vec<BddVariable>,
    oif: Vec<BddVariable>,
    ct: Vec<BddVariable>,
    proto: Vec<BddVariable>,
    src: Vec<BddVariable>,
    dst: Vec<BddVariable>,
    sport: Vec<BddVariable>,
    dport: Vec<BddVariable>,
    /// Code `i` is `names[i]`; code `names.len()` is "any other name".
    names: Vec<String>,
    valid: Bdd,
}

/// The value of an unsigned field, most significant bit first.
fn bits_of(value: u128, vars: &[BddVariable]) -> impl Iterator<Item = (BddVariable, bool)> + '_ {
    let n = vars.len();
    vars.iter()
        .enumerate()
        .map(move |(i, v)| (*v, (value >> (n - 1 - i)) & 1 == 1))
}

impl Space {
    /// A space over the given interface names (duplicates are ignored; the order does not matter).
    pub fn new(interfaces: &[String]) -> Self {
        let mut names: Vec<String> = interfaces.to_vec();
        names.sort();
        names.dedup();
        // codes 0..=names.len(): enough bits for names.len() + 1 codes, at least one.
        let codes = names.len() + 1;
        let mut iface_bits = 1;
        while (1usize << iface_bits) < codes {
            iface_bits += 1;
        }

        let mut labels: Vec<String> = vec!["family".to_owned()];
        let field = |prefix: &str, n: usize, labels: &mut Vec<String>| -> Vec<BddVariable> {
            (0..n)
                .map(|i| {
                    labels.push(format!("{prefix}{i}"));
                    BddVariable::from_index(labels.len() - 1)
                })
                .collect()
        };
        let iif = field("iif", iface_bits, &mut labels);
        let oif = field("oif", iface_bits, &mut labels);
        let ct = field("ct", CT_BITS, &mut labels);
        let proto = field("proto", PROTO_BITS, &mut labels);
        let src = field("src", ADDR_BITS, &mut labels);
        let dst = field("dst", ADDR_BITS, &mut labels);
        let sport = field("sport", PORT_BITS, &mut labels);
        let dport = field("dport", PORT_BITS, &mut labels);
        let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
        let vars = BddVariableSet::new(&refs);

        let mut space = Space {
            family: BddVariable::from_index(0),
            valid: vars.mk_true(),
            vars,
            iif,
            oif,
            ct,
            proto,
            src,
            dst,
            sport,
            dport,
            names,
        };
        let top = u128::try_from(space.names.len()).unwrap_or(u128::MAX);
        let ct_top = u128::try_from(CT_STATES.len() - 1).unwrap_or(0);
        space.valid = space
            .uint_range(&space.ct, 0, ct_top)
            .and(&space.uint_range(&space.iif, 0, top))
            .and(&space.uint_range(&space.oif, 0, top))
            .and(&space.family(Family::Ipv4).or(&space.family(Family::Ipv6)));
        space
    }

    /// The underlying variables (for operations such as `exists`).
    pub fn variables(&self) -> &BddVariableSet {
        &self.vars
    }

    /// The known interface names, sorted.
    pub fn interfaces(&self) -> &[String] {
        &self.names
    }

    /// Every packet that stands for a real one.
    pub fn valid(&self) -> &Bdd {
        &self.valid
    }

    pub fn none(&self) -> Bdd {
        self.vars.mk_false()
    }

    pub fn all(&self) -> Bdd {
        self.vars.mk_true()
    }

    /// Variables of the source (`dst == false`) or destination address, most significant first.
    pub fn addr_vars(&self, dst: bool) -> &[BddVariable] {
        if dst { &self.dst } else { &self.src }
    }

    /// Variables of the source or destination port, most significant first.
    pub fn port_vars(&self, dst: bool) -> &[BddVariable] {
        if dst { &self.dport } else { &self.sport }
    }

    /// Variables of the input (`out == false`) or output interface code.
    pub fn iface_vars(&self, out: bool) -> &[BddVariable] {
        if out { &self.oif } else { &self.iif }
    }

    fn uint_eq(&self, vars: &[BddVariable], value: u128) -> Bdd {
        let clause = BddPartialValuation::from_values_iter(bits_of(value, vars));
        self.vars.mk_conjunctive_clause(&clause)
    }

    /// `first <= x <= last` over the unsigned field `vars` (most significant first), built bottom-up as two
    /// chains of one node per bit: O(bits) nodes, no enumeration of values.
    fn uint_range(&self, vars: &[BddVariable], first: u128, last: u128) -> Bdd {
        if first > last {
            return self.none();
        }
        let mut ge = self.all();
        let mut le = self.all();
        for (var, bit) in bits_of(first, vars).collect::<Vec<_>>().into_iter().rev() {
            let x = self.vars.mk_var(var);
            ge = if bit { x.and(&ge) } else { x.or(&ge) };
        }
        for (var, bit) in bits_of(last, vars).collect::<Vec<_>>().into_iter().rev() {
            let nx = self.vars.mk_not_var(var);
            le = if bit { nx.or(&le) } else { nx.and(&le) };
        }
        ge.and(&le)
    }

    /// Packets of the family; an IPv4 packet has the high 96 bits of both addresses zero.
    pub fn family(&self, family: Family) -> Bdd {
        match family {
            Family::Ipv6 => self.vars.mk_var(self.family),
            Family::Ipv4 => {
                let high = ADDR_BITS - 32;
                let zeros = self.src[..high]
                    .iter()
                    .chain(self.dst[..high].iter())
                    .map(|v| (*v, false))
                    .chain(std::iter::once((self.family, false)));
                self.vars
                    .mk_conjunctive_clause(&BddPartialValuation::from_values_iter(zeros))
            }
        }
    }

    /// Packets whose source (`dst == false`) or destination address is in the range (and of its family).
    /// A prefix — nearly every range a ruleset writes — is one conjunctive clause, built directly; any
    /// other range is the union of the prefixes that tile it.
    pub fn addr_range(&self, dst: bool, range: AddrRange) -> Bdd {
        let last = range.last.min(range.family.max());
        if range.first > last {
            return self.none();
        }
        let mut set = self.none();
        for (first, len) in prefix_tiles(range.first, last, range.family.bits()) {
            set = set.or(&self.prefix_clause(dst, range.family, first, len));
        }
        set
    }

    /// The prefix `first/len` of the family as one clause: the family bit and the prefix's bits. The zero
    /// high parts of IPv4 addresses are left to [`Space::valid`], which every analysis starts from: a
    /// rule's set stays a few dozen nodes instead of carrying 192 constant bits through every operation.
    fn prefix_clause(&self, dst: bool, family: Family, first: u128, len: u32) -> Bdd {
        let vars = self.addr_vars(dst);
        let width = family.bits() as usize;
        let offset = ADDR_BITS - width;
        let fixed = vars[offset..offset + len as usize]
            .iter()
            .enumerate()
            .map(|(i, v)| (*v, (first >> (width - 1 - i)) & 1 == 1));
        let mut values: Vec<(BddVariable, bool)> = vec![(self.family, family == Family::Ipv6)];
        values.extend(fixed);
        self.vars
            .mk_conjunctive_clause(&BddPartialValuation::from_values_iter(values.into_iter()))
    }

    /// Packets whose source or destination port is in the range.
    pub fn port_range(&self, dst: bool, range: PortRange) -> Bdd {
        if range.first == range.last {
            return self.uint_eq(self.port_vars(dst), u128::from(range.first));
        }
        self.uint_range(
            self.port_vars(dst),
            u128::from(range.first),
            u128::from(range.last),
        )
    }

    pub fn protocol(&self, number: u8) -> Bdd {
        self.uint_eq(&self.proto, u128::from(number))
    }

    pub fn ct_state(&self, state: CtState) -> Bdd {
        let code = CT_STATES.iter().position(|s| *s == state).unwrap_or(0);
        self.uint_eq(&self.ct, u128::try_from(code).unwrap_or(0))
    }

    fn iface_code(&self, name: Option<&str>) -> usize {
        name.and_then(|n| self.names.binary_search_by(|k| k.as_str().cmp(n)).ok())
            .unwrap_or(self.names.len())
    }

    fn iface_code_bdd(&self, out: bool, code: usize) -> Bdd {
        self.uint_eq(
            self.iface_vars(out),
            u128::try_from(code).unwrap_or(u128::MAX),
        )
    }

    /// Packets on the input (`out == false`) or output interface: an exact known name is its code, an
    /// unknown exact name is the "other" code, a wildcard is every known name with its prefix and the "other"
    /// code.
    pub fn iface(&self, out: bool, iface: &Iface) -> Bdd {
        if !iface.wildcard {
            return self.iface_code_bdd(out, self.iface_code(Some(&iface.name)));
        }
        let mut set = self.iface_code_bdd(out, self.names.len());
        for (code, name) in self.names.iter().enumerate() {
            if iface.matches(name) {
                set = set.or(&self.iface_code_bdd(out, code));
            }
        }
        set
    }

    /// The set of one test, or `None` for [`Test::Unknown`].
    pub fn test(&self, test: &Test) -> Option<Bdd> {
        let any = |sets: &mut dyn Iterator<Item = Bdd>| sets.fold(self.none(), |acc, b| acc.or(&b));
        Some(match test {
            Test::Family { family } => self.family(*family),
            Test::Addr { dst, ranges } => {
                any(&mut ranges.iter().map(|r| self.addr_range(*dst, *r)))
            }
            Test::Protocol { numbers } => any(&mut numbers.iter().map(|n| self.protocol(*n))),
            Test::Port { dst, ranges } => {
                any(&mut ranges.iter().map(|r| self.port_range(*dst, *r)))
            }
            Test::CtState { states } => any(&mut states.iter().map(|s| self.ct_state(*s))),
            Test::Iface { out, names } => any(&mut names.iter().map(|i| self.iface(*out, i))),
            Test::Unknown { .. } | Test::Local { .. } => return None,
        })
    }

    /// The valuation of a concrete packet (an interface outside the known names takes the "other" code).
    pub fn valuation(&self, p: &Packet) -> BddValuation {
        let mut values = vec![false; usize::from(self.vars.num_vars())];
        let mut set = |vars: &[BddVariable], v: u128| {
            for (var, bit) in bits_of(v, vars) {
                values[var.to_index()] = bit;
            }
        };
        set(
            std::slice::from_ref(&self.family),
            u128::from(p.family == Family::Ipv6),
        );
        let code = |name: &Option<String>| {
            u128::try_from(self.iface_code(name.as_deref())).unwrap_or(u128::MAX)
        };
        set(&self.iif, code(&p.iif));
        set(&self.oif, code(&p.oif));
        let ct = CT_STATES.iter().position(|s| *s == p.ct_state).unwrap_or(0);
        set(&self.ct, u128::try_from(ct).unwrap_or(0));
        set(&self.proto, u128::from(p.protocol));
        set(&self.src, p.src);
        set(&self.dst, p.dst);
        set(&self.sport, u128::from(p.sport));
        set(&self.dport, u128::from(p.dport));
        BddValuation::new(values)
    }

    /// Whether the packet is in the set.
    pub fn contains(&self, set: &Bdd, p: &Packet) -> bool {
        set.eval_in(&self.valuation(p))
    }

    fn read(vars: &[BddVariable], v: &BddValuation) -> u128 {
        vars.iter()
            .fold(0u128, |acc, var| (acc << 1) | u128::from(v.value(*var)))
    }

    /// One valid packet of the set, or `None` when it has none.
    pub fn witness(&self, set: &Bdd) -> Option<Packet> {
        let v = set.and(&self.valid).sat_witness()?;
        let family = if v.value(self.family) {
            Family::Ipv6
        } else {
            Family::Ipv4
        };
        let iface = |vars: &[BddVariable]| {
            usize::try_from(Self::read(vars, &v))
                .ok()
                .and_then(|c| self.names.get(c).cloned())
        };
        let ct = usize::try_from(Self::read(&self.ct, &v)).unwrap_or(0);
        Some(Packet {
            family,
            src: Self::read(&self.src, &v),
            dst: Self::read(&self.dst, &v),
            protocol: u8::try_from(Self::read(&self.proto, &v)).unwrap_or(0),
            sport: u16::try_from(Self::read(&self.sport, &v)).unwrap_or(0),
            dport: u16::try_from(Self::read(&self.dport, &v)).unwrap_or(0),
            ct_state: CT_STATES.get(ct).copied().unwrap_or(CtState::New),
            iif: iface(&self.iif),
            oif: iface(&self.oif),
        })
    }
}

/// Whether two sets share a packet, without building their intersection: a walk over pairs of nodes that
/// stops at the first common path. Costs what the walk visits, not the size of the larger set (building an
/// intersection allocates for the larger operand, which dominates when a small set meets a large one).
pub fn intersects(a: &Bdd, b: &Bdd) -> bool {
    if a.is_false() || b.is_false() {
        return false;
    }
    let mut stack = vec![(a.root_pointer(), b.root_pointer())];
    let mut seen: std::collections::HashSet<u64, PairHash> = std::collections::HashSet::default();
    while let Some((x, y)) = stack.pop() {
        if x.is_zero() || y.is_zero() {
            continue;
        }
        if x.is_one() && y.is_one() {
            return true;
        }
        let key = (x.to_index() as u64) << 32 | y.to_index() as u64;
        if !seen.insert(key) {
            continue;
        }
        let (vx, vy) = (a.var_of(x), b.var_of(y));
        // A terminal's variable is past every real one, so the lower variable decides.
        let v = if x.is_one() {
            vy
        } else if y.is_one() {
            vx
        } else {
            vx.min(vy)
        };
        let (xl, xh) = if !x.is_one() && vx == v {
            (a.low_link_of(x), a.high_link_of(x))
        } else {
            (x, x)
        };
        let (yl, yh) = if !y.is_one() && vy == v {
            (b.low_link_of(y), b.high_link_of(y))
        } else {
            (y, y)
        };
        stack.push((xl, yl));
        stack.push((xh, yh));
    }
    false
}

/// A hash for node-pair keys: one multiplication (the default hasher's resistance to chosen keys buys nothing
/// for node indices, and costs most of the walk).
#[derive(Default, Clone, Copy)]
struct PairHash;

impl std::hash::BuildHasher for PairHash {
    type Hasher = PairHasher;
    fn build_hasher(&self) -> PairHasher {
        PairHasher(0)
    }
}

struct PairHasher(u64);

impl std::hash::Hasher for PairHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, key: u64) {
        self.0 = key.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
    }
}

/// The prefixes `(first, length)` that tile `first..=last` of a `bits`-bit space, fewest first to last.
fn prefix_tiles(first: u128, last: u128, bits: u32) -> Vec<(u128, u32)> {
    let mut out = Vec::new();
    let mut at = first;
    loop {
        // The largest aligned block starting at `at` that does not pass `last`.
        let mut size_bits = if at == 0 {
            bits
        } else {
            at.trailing_zeros().min(bits)
        };
        while size_bits > 0 {
            let span = if size_bits >= 128 {
                u128::MAX
            } else {
                (1u128 << size_bits) - 1
            };
            if at.checked_add(span).is_some_and(|end| end <= last) {
                break;
            }
            size_bits -= 1;
        }
        out.push((at, bits - size_bits));
        let span = if size_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << size_bits) - 1
        };
        match at.checked_add(span) {
            Some(end) if end < last => at = end + 1,
            _ => break,
        }
    }
    out
}

/// A header field, for forgetting ([`Space::forget`]) or freeing ([`Space::like`]) it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Iif,
    Oif,
    Ct,
    Proto,
    Src,
    Dst,
    Sport,
    Dport,
}

impl Space {
    fn field_vars(&self, field: Field) -> &[BddVariable] {
        match field {
            Field::Iif => &self.iif,
            Field::Oif => &self.oif,
            Field::Ct => &self.ct,
            Field::Proto => &self.proto,
            Field::Src => &self.src,
            Field::Dst => &self.dst,
            Field::Sport => &self.sport,
            Field::Dport => &self.dport,
        }
    }

    fn vars_of(&self, fields: &[Field]) -> Vec<BddVariable> {
        fields
            .iter()
            .flat_map(|f| self.field_vars(*f).iter().copied())
            .collect()
    }

    /// The set with the fields set free: every packet that agrees with one of the set's packets on the
    /// other fields (and is valid). How an address rewrite forgets the old address before it sets the new.
    pub fn forget(&self, set: &Bdd, fields: &[Field]) -> Bdd {
        set.exists(&self.vars_of(fields)).and(&self.valid)
    }

    /// The packets equal to `p` on every field but `free` (and valid).
    pub fn like(&self, p: &Packet, free: &[Field]) -> Bdd {
        let freed = self.vars_of(free);
        let v = self.valuation(p);
        let values = self
            .vars
            .variables()
            .into_iter()
            .filter(|var| !freed.contains(var))
            .map(|var| (var, v.value(var)));
        self.vars
            .mk_conjunctive_clause(&BddPartialValuation::from_values_iter(values.into_iter()))
            .and(&self.valid)
    }

    /// Packets whose source or destination address ends in a byte from 1 to 254: not the network or
    /// broadcast address of a /24, which a counterexample should avoid.
    pub fn host_like(&self, dst: bool) -> Bdd {
        let vars = self.addr_vars(dst);
        self.uint_range(&vars[ADDR_BITS - 8..], 1, 254)
    }

    /// Packets on the input (`out == false`) or output interface of this exact name.
    pub fn iface_named(&self, out: bool, name: &str) -> Bdd {
        self.iface_code_bdd(out, self.iface_code(Some(name)))
    }

    /// The source (`dst == false`) or destination addresses of the set's packets as the fewest prefixes, in
    /// address order, IPv4 first; at most `limit` of them, and whether more were left out.
    pub fn prefixes(&self, set: &Bdd, dst: bool, limit: usize) -> (Vec<AddrRange>, bool) {
        let keep: Vec<BddVariable> = std::iter::once(self.family)
            .chain(self.addr_vars(dst).iter().copied())
            .collect();
        let others: Vec<BddVariable> = self
            .vars
            .variables()
            .into_iter()
            .filter(|v| !keep.contains(v))
            .collect();
        let addrs = set.and(&self.valid).exists(&others);
        let mut out = Vec::new();
        let mut more = false;
        for family in [Family::Ipv4, Family::Ipv6] {
            let mut stack = vec![(0u128, 0u32)];
            while let Some((addr, len)) = stack.pop() {
                let Some(range) = AddrRange::prefix(family, addr, len) else {
                    continue;
                };
                let cube = self.addr_range(dst, range).and(&self.valid);
                let inside = addrs.and(&cube);
                if inside.is_false() {
                    continue;
                }
                if cube.and_not(&addrs).is_false() {
                    if out.len() == limit {
                        more = true;
                        break;
                    }
                    out.push(range);
                    continue;
                }
                // Children pushed high first so the low half comes out first.
                let bit = 1u128 << (family.bits() - len - 1);
                stack.push((addr | bit, len + 1));
                stack.push((addr, len + 1));
            }
            if more {
                break;
            }
        }
        (out, more)
    }
}

/// A range that is a prefix as `address/length` (a single address as itself).
pub fn show_prefix(range: &AddrRange) -> String {
    let size = range.last - range.first;
    let host_bits = 128 - size.leading_zeros();
    let len = range.family.bits().saturating_sub(host_bits);
    let first = show_addr(range.family, range.first);
    if len == range.family.bits() {
        first
    } else {
        format!("{first}/{len}")
    }
}

/// Every exact interface name the rulesets test (wildcards are prefixes, not names), sorted, for
/// [`Space::new`] together with the zone map's names.
pub fn interface_names(rulesets: &[Ruleset]) -> Vec<String> {
    let mut names: Vec<String> = rulesets
        .iter()
        .flat_map(|r| r.tables.iter())
        .flat_map(|t| t.chains.iter())
        .flat_map(|c| c.rules.iter())
        .flat_map(|r| r.matches.iter())
        .filter_map(|m| match &m.test {
            Test::Iface { names, .. } => Some(names),
            _ => None,
        })
        .flatten()
        .filter(|i| !i.wildcard)
        .map(|i| i.name.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}
