//! The check itself: follow packets from every zone through the devices of the zone map — their nat and
//! filter hooks and their routes — and say, for every ordered pair of zones, whether anything crosses that
//! the map does not allow.
//!
//! The model, and why each choice keeps "isolated" a proof:
//!
//! - **Where packets come from.** A host on a segment may send anything to any device with an interface on
//!   that segment (a misconfigured or hostile host does not follow its routes). Its source address is one of
//!   its zone's addresses or one the map does not declare (the Internet's addresses, an upstream network);
//!   an address of another zone is spoofing, which this check does not try to prove against. The zone of a
//!   packet is the zone of the segment it entered from, whatever NAT later does to its source.
//! - **A device** takes a packet on an interface: the prerouting hook's filter chains, then its nat chains
//!   (for connection-opening packets only, as the kernel does) with DNAT rewriting the destination; then the
//!   routing decision (the device's own addresses first, then the longest matching route, connected segments
//!   included); then, for a packet to the device itself, the input hook, or, for one to forward, the forward
//!   hook and the postrouting hook (whose SNAT rewrites the source). Several base chains on one hook are
//!   evaluated in priority order: an accept ends only its own chain, a drop is final.
//! - **Where packets go.** A forwarded packet leaves on the route's interface towards the route's gateway,
//!   or towards its destination on a connected segment. When that address belongs to another device of the
//!   map, the packet continues there; otherwise it is delivered into the zone of the segment it left on. A
//!   gateway the map does not model is taken to stay within its zone: the map must name every device that
//!   joins two zones, and the proof is relative to it.
//! - **What is proved.** Connection-opening packets (state `new`). What the configurations only admit as
//!   `established` or `related` is reported apart, where no opening in the other direction could explain it.
//!   Rules the parser could not model are read as permitting ([`Approx::Permit`]) and listed as warnings,
//!   so a pair comes out `isolated` only when no packet can cross under any reading of them.
//!
//! Counterexamples are concrete packets, one per class of crossing traffic (per path through the devices
//! and per rule admitting it on the last device), each explained hop by hop from the packet as sent to the
//! packet as delivered: interfaces, the rule that admitted it, the addresses NAT rewrote.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use biodivine_lib_bdd::Bdd;
use serde::Serialize;

use crate::ir::{
    Action, AddrRange, ChainType, CtState, Family, Hook, Origin, Policy, Rule, Ruleset, Table,
};
use crate::space::{Field, Packet, Space, show_addr, show_prefix};
use crate::verdict::{Approx, Decision, TableVerdicts, VerdictError, decide, table_verdicts};
use crate::zones::{Endpoint, RouteAction, ZoneMap, addr_key};

/// At most this many counterexamples per zone pair, and this many prefixes per address list.
pub const MAX_COUNTEREXAMPLES: usize = 16;
pub const MAX_PREFIXES: usize = 32;

/// One device's configuration as read: its rulesets (an IPv4 and an IPv6 file may both be given) and its
/// routes (the map's static routes, or the `ip -j route` file it names).
#[derive(Debug, Clone)]
pub struct DeviceInput {
    pub id: String,
    pub rulesets: Vec<Ruleset>,
    pub routes: Vec<crate::zones::Route>,
}

// ---------------------------------------------------------------------------------------------------------
// The report.

/// Everything one check found; serialised as the stable JSON of `mamori netcheck --format json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Every ordered pair of different zones, in the map's zone order.
    pub pairs: Vec<PairResult>,
    /// Traffic admitted only as `established`/`related` where nothing could open it the other way.
    pub established: Vec<EstablishedOnly>,
    /// Services on a device that two zones reach, or that a device reached from one zone can open to another.
    pub pivots: Vec<Pivot>,
    /// Allowed services the configurations do not permit at all.
    pub dead_allowances: Vec<DeadAllowance>,
    /// Rules that can never match.
    pub shadowed: Vec<RuleRef>,
    /// What the parsers and the check could not model, each read as permitting.
    pub warnings: Vec<WarningOut>,
}

impl Report {
    /// Whether some pair has traffic the map does not allow.
    pub fn has_violation(&self) -> bool {
        self.pairs.iter().any(|p| p.verdict == Verdict::Violation)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing crosses (proved).
    Isolated,
    /// Only allowed services cross (proved).
    AllowedOnly,
    /// Something crosses that no allowed service covers; see the counterexamples.
    Violation,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Isolated => "isolated",
            Verdict::AllowedOnly => "allowed_only",
            Verdict::Violation => "violation",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PairResult {
    pub from: String,
    pub to: String,
    pub verdict: Verdict,
    /// The map lines of the allowed services that traffic of this pair uses.
    pub allowed_used: Vec<usize>,
    pub counterexamples: Vec<Counterexample>,
    /// The violating source addresses of the source zone's segments, and destination addresses of the
    /// destination zone's segments, as prefixes (at most [`MAX_PREFIXES`] each).
    pub src_prefixes: Vec<String>,
    pub dst_prefixes: Vec<String>,
    /// Whether addresses outside every segment of the map (the Internet, an upstream network) violate too,
    /// as sources or as destinations.
    pub src_undeclared: bool,
    pub dst_undeclared: bool,
    /// Whether either prefix list was cut short.
    pub prefixes_truncated: bool,
}

/// A packet that crosses, as sent, and its way through the devices.
#[derive(Debug, Clone, Serialize)]
pub struct Counterexample {
    pub packet: PacketOut,
    pub hops: Vec<HopOut>,
    /// Whether a rule on its way was approximated: the packet may not really pass.
    pub approximate: bool,
}

/// A packet's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PacketOut {
    pub family: Family,
    pub protocol: u8,
    pub protocol_name: String,
    pub src: String,
    pub dst: String,
    /// Ports only for protocols that have them.
    pub sport: Option<u16>,
    pub dport: Option<u16>,
}

impl PacketOut {
    fn of(p: &Packet) -> Self {
        let ports = crate::ir::has_ports(p.protocol);
        PacketOut {
            family: p.family,
            protocol: p.protocol,
            protocol_name: protocol_label(p.protocol),
            src: show_addr(p.family, p.src),
            dst: show_addr(p.family, p.dst),
            sport: ports.then_some(p.sport),
            dport: ports.then_some(p.dport),
        }
    }
}

impl std::fmt::Display for PacketOut {
    /// `tcp 198.51.100.7:40000 → 10.20.5.10:25`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let end = |addr: &str, port: Option<u16>| match (port, self.family) {
            (None, _) => addr.to_owned(),
            (Some(p), Family::Ipv4) => format!("{addr}:{p}"),
            (Some(p), Family::Ipv6) => format!("[{addr}]:{p}"),
        };
        write!(
            f,
            "{} {} → {}",
            self.protocol_name,
            end(&self.src, self.sport),
            end(&self.dst, self.dport)
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct HopOut {
    pub device: String,
    pub in_interface: String,
    pub out_interface: String,
    /// The packet as this device forwarded it (after DNAT, before SNAT).
    pub forwarded: PacketOut,
    /// The rule that accepted it in each base chain of the forward hook, in the hook's order (a chain's
    /// policy when no rule did; empty when the device has no forward chain).
    pub rules: Vec<RuleRef>,
    /// A DNAT that rewrote its destination here.
    pub dnat: Option<RuleRef>,
    /// An SNAT that rewrote its source here.
    pub snat: Option<RuleRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleRef {
    pub file: String,
    pub line: usize,
    pub handle: Option<u64>,
    /// The rule as written (empty for a chain policy).
    pub text: String,
}

impl RuleRef {
    pub fn location(&self) -> String {
        match self.handle {
            Some(h) => format!("{}:{} (handle {h})", self.file, self.line),
            None => format!("{}:{}", self.file, self.line),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EstablishedOnly {
    pub from: String,
    pub to: String,
    pub example: String,
    /// The forward rules that admit it on the last device.
    pub rules: Vec<RuleRef>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Pivot {
    /// One service of the device is reachable from two zones.
    SharedService {
        device: String,
        zones: [String; 2],
        protocol: String,
        port: Option<u16>,
        /// The input rules that admit it from each zone.
        rules: [Vec<RuleRef>; 2],
    },
    /// The device accepts connections from one zone and may open connections into another.
    Relay {
        device: String,
        reached_from: String,
        opens_to: String,
        example: String,
        /// The output rules that let it open the connection.
        rules: Vec<RuleRef>,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct DeadAllowance {
    /// The `[[allow]]` line in the map.
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WarningOut {
    pub file: String,
    pub line: usize,
    pub message: String,
}

// ---------------------------------------------------------------------------------------------------------
// Errors.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    #[error("device {device}: {source}")]
    Verdict {
        device: String,
        source: Box<VerdictError>,
    },
    #[error("device {0} has no configuration read for it")]
    MissingDevice(String),
    #[error("a device's evaluation stopped unexpectedly")]
    Worker,
}

// ---------------------------------------------------------------------------------------------------------
// One device, evaluated once.

/// What a hook does, across its base chains.
struct HookEval<'a> {
    accept: Bdd,
    /// Its base chains in the hook's order, to name the rule behind a given packet ([`decide`]).
    chains: Vec<(&'a Table, &'a str)>,
    /// NAT rules and the packets (as they reach the hook) that each rewrites.
    rewrites: Vec<(Origin, Action, Bdd)>,
}

enum RouteTo {
    Out {
        iface: String,
        via: Option<(Family, u128)>,
    },
    Local,
    Drop,
}

struct DeviceEval<'a> {
    id: String,
    interfaces: Vec<&'a crate::zones::Interface>,
    /// The device's own addresses.
    local: Bdd,
    routes: Vec<(Bdd, RouteTo)>,
    prerouting: HookEval<'a>,
    input: HookEval<'a>,
    forward: HookEval<'a>,
    output: HookEval<'a>,
    postrouting: HookEval<'a>,
    /// Rules that can never match, over all the device's tables.
    shadowed: Vec<Origin>,
    rules: HashMap<Origin, &'a Rule>,
    /// What each chain's origin stands for when it appears as a decision: its policy.
    policies: HashMap<Origin, String>,
}

impl DeviceEval<'_> {
    fn rule_ref(&self, origin: &Origin) -> RuleRef {
        let text = match self.rules.get(origin) {
            Some(r) => r.text.clone(),
            None => self.policies.get(origin).cloned().unwrap_or_default(),
        };
        RuleRef {
            file: origin.file.to_string(),
            line: origin.line,
            handle: origin.handle,
            text,
        }
    }

    /// The rule of each base chain of the hook that accepted the packet, in the hook's order.
    fn accepting(&self, hook: &HookEval<'_>, space: &Space, p: &Packet) -> Vec<RuleRef> {
        hook.chains
            .iter()
            .filter_map(|(table, chain)| match decide(space, table, chain, p) {
                Ok((Decision::Accept, origin)) => Some(self.rule_ref(&origin)),
                _ => None,
            })
            .collect()
    }

    /// The match of the rule that accepted the packet in the hook's last base chain, as the class of
    /// traffic it stands for (`None` for a chain policy or a device without such a chain).
    fn accepting_match(&self, hook: &HookEval<'_>, space: &Space, p: &Packet) -> Option<Bdd> {
        let (table, chain) = hook.chains.last()?;
        let (_, origin) = decide(space, table, chain, p).ok()?;
        let rule = self.rules.get(&origin)?;
        Some(
            rule.matches
                .iter()
                .fold(space.all(), |acc, m| match space.test(&m.test) {
                    Some(set) if m.negated => acc.and_not(&set),
                    Some(set) => acc.and(&set),
                    None => acc,
                }),
        )
    }
}

fn hook_eval<'a>(
    space: &Space,
    tables: &[(&'a Table, TableVerdicts)],
    hook: Hook,
    rules: &HashMap<Origin, &Rule>,
    new: &Bdd,
) -> HookEval<'a> {
    // Every base chain on the hook, in priority order (an inet table's chain serves both families).
    let mut chains: Vec<_> = tables
        .iter()
        .flat_map(|(t, v)| {
            v.chains.iter().filter_map(move |(name, verdict)| {
                let chain = t.chain(name)?;
                match chain.base {
                    Some(b) if b.hook == hook => Some((b, *t, chain, verdict)),
                    _ => None,
                }
            })
        })
        .filter(|(_, t, _, _)| t.family.covers(Family::Ipv4) || t.family.covers(Family::Ipv6))
        .collect();
    chains.sort_by_key(|(b, _, _, _)| b.priority);
    let mut fam_accept: Vec<(Family, Bdd)> = [Family::Ipv4, Family::Ipv6]
        .into_iter()
        .map(|f| (f, space.valid().and(&space.family(f))))
        .collect();
    let mut rewrites = Vec::new();
    for (base, table, _, v) in &chains {
        let passes = if base.chain_type == ChainType::Nat {
            // Only a connection's first packet meets the nat chains.
            for (origin, set) in &v.accepted_by {
                if let Some(rule) = rules.get(origin)
                    && matches!(
                        rule.action,
                        Action::Dnat { .. } | Action::Redirect { .. } | Action::Snat
                    )
                {
                    rewrites.push((origin.clone(), rule.action.clone(), set.and(new)));
                }
            }
            v.accept.or(&new.not())
        } else {
            v.accept.clone()
        };
        for (family, acc) in &mut fam_accept {
            if table.family.covers(*family) {
                *acc = acc.and(&passes);
            }
        }
    }
    let accept = fam_accept
        .iter()
        .fold(space.none(), |all, (_, acc)| all.or(acc));
    let rewrites = rewrites
        .into_iter()
        .map(|(o, a, s)| (o, a, s.and(&accept)))
        .filter(|(_, _, s)| !s.is_false())
        .collect();
    HookEval {
        accept,
        chains: chains
            .iter()
            .map(|(_, t, c, _)| (*t, c.name.as_str()))
            .collect(),
        rewrites,
    }
}

fn addr_bdd(space: &Space, dst: bool, addr: IpAddr) -> Bdd {
    let (family, value) = addr_key(addr);
    space.addr_range(
        dst,
        AddrRange {
            family,
            first: value,
            last: value,
        },
    )
}

fn prefix_len(range: &AddrRange) -> u32 {
    let size = range.last - range.first;
    range
        .family
        .bits()
        .saturating_sub(128 - size.leading_zeros())
}

fn device_eval<'a>(
    space: &Space,
    map: &'a ZoneMap,
    device: &'a crate::zones::Device,
    input: &'a DeviceInput,
    new: &Bdd,
    approximated: &mut Vec<Origin>,
    warnings: &mut Vec<WarningOut>,
) -> Result<DeviceEval<'a>, VerdictError> {
    let rules: HashMap<Origin, &Rule> = input
        .rulesets
        .iter()
        .flat_map(|r| r.tables.iter())
        .flat_map(|t| t.chains.iter())
        .flat_map(|c| c.rules.iter())
        .map(|r| (r.origin.clone(), r))
        .collect();
    let mut local = space.none();
    for i in &device.interfaces {
        for a in &i.addresses {
            local = local.or(&addr_bdd(space, true, *a));
        }
    }
    // Routes, longest prefix first; connected segments are routes out of their interface.
    let mut table: Vec<(AddrRange, RouteTo)> = Vec::new();
    for i in &device.interfaces {
        if let Some(segment) = map.segment(&i.segment) {
            for p in &segment.prefixes {
                table.push((
                    *p,
                    RouteTo::Out {
                        iface: i.name.clone(),
                        via: None,
                    },
                ));
            }
        }
    }
    for r in &input.routes {
        let target = match &r.action {
            RouteAction::Local => RouteTo::Local,
            RouteAction::Drop { .. } => RouteTo::Drop,
            RouteAction::Forward => {
                let via = r.via.map(addr_key);
                let iface = r.dev.clone().or_else(|| {
                    let (family, value) = via?;
                    device
                        .interfaces
                        .iter()
                        .find(|i| {
                            map.segment(&i.segment).is_some_and(|s| {
                                s.prefixes.iter().any(|p| p.contains(family, value))
                            })
                        })
                        .map(|i| i.name.clone())
                });
                match iface {
                    Some(iface) if device.interface(&iface).is_some() => {
                        RouteTo::Out { iface, via }
                    }
                    _ => {
                        warnings.push(WarningOut {
                            file: device.config.clone(),
                            line: r.line,
                            message: format!(
                                "device {}: the route to {} leaves by no interface the map gives the device; it is ignored",
                                device.id,
                                show_prefix(&r.to)
                            ),
                        });
                        continue;
                    }
                }
            }
        };
        table.push((r.to, target));
    }
    table.sort_by_key(|(range, _)| std::cmp::Reverse(prefix_len(range)));
    let mut covered = local.clone();
    let mut routes = vec![(local.clone(), RouteTo::Local)];
    for (range, target) in table {
        let region = space.addr_range(true, range).and_not(&covered);
        if region.is_false() {
            continue;
        }
        covered = covered.or(&region);
        routes.push((region, target));
    }
    let policies = input
        .rulesets
        .iter()
        .flat_map(|r| r.tables.iter())
        .flat_map(|t| t.chains.iter().map(move |c| (t, c)))
        .filter_map(|(t, c)| {
            let base = c.base?;
            let policy = match base.policy {
                Policy::Accept => "accept",
                Policy::Drop => "drop",
            };
            Some((
                c.origin.clone(),
                format!("(table {} chain {}: policy {policy})", t.name, c.name),
            ))
        })
        .collect();
    // Every table evaluated once: its base chains' verdicts and its rules that can never match.
    let mut tables = Vec::new();
    let mut shadowed = Vec::new();
    for table in input.rulesets.iter().flat_map(|r| r.tables.iter()) {
        let v = table_verdicts(space, table, Approx::Permit)?;
        for (_, c) in &v.chains {
            for o in &c.approximated {
                if !approximated.contains(o) {
                    approximated.push(o.clone());
                }
            }
        }
        shadowed.extend(v.shadowed.iter().cloned());
        tables.push((table, v));
    }
    let hook = |h: Hook| hook_eval(space, &tables, h, &rules, new);
    Ok(DeviceEval {
        id: device.id.clone(),
        interfaces: device.interfaces.iter().collect(),
        local,
        routes,
        prerouting: hook(Hook::Prerouting),
        input: hook(Hook::Input),
        forward: hook(Hook::Forward),
        output: hook(Hook::Output),
        postrouting: hook(Hook::Postrouting),
        shadowed,
        rules,
        policies,
    })
}

// ---------------------------------------------------------------------------------------------------------
// Following packets.

/// One device on a packet's way.
#[derive(Clone)]
struct Hop {
    device: usize,
    in_iface: String,
    out_iface: String,
    /// The DNAT applied here (index into the device's prerouting rewrites).
    dnat: Option<usize>,
    /// What the device forwarded on this path, after DNAT and before SNAT.
    forwarded: Bdd,
    /// The SNAT rewrites applied here (indices into the device's postrouting rewrites).
    snat: Vec<usize>,
}

/// Packets of one entry segment, delivered somewhere, with their way.
struct Delivered {
    from_zone: String,
    /// The segment it entered from.
    entry: String,
    to_zone: String,
    set: Bdd,
    path: Vec<Hop>,
}

/// Packets of one entry segment that reached a device's own address.
struct Reached {
    from_zone: String,
    device: usize,
    set: Bdd,
}

/// A packet set leaving a device.
#[derive(Clone, Copy)]
struct Way<'a> {
    zone: &'a str,
    entry: &'a str,
    from: usize,
    iface: &'a str,
    via: Option<(Family, u128)>,
}

struct Item {
    device: usize,
    iface: String,
    set: Bdd,
    path: Vec<Hop>,
}

struct Ctx<'a> {
    space: &'a Space,
    map: &'a ZoneMap,
    devices: Vec<DeviceEval<'a>>,
    /// Device addresses on each segment: (segment, address bdd as destination, device index, interface).
    neighbours: Vec<(String, Bdd, usize, String)>,
    /// Each zone's declared addresses, as destinations and as sources.
    zone_dst: BTreeMap<String, Bdd>,
    zone_src: BTreeMap<String, Bdd>,
    declared_dst: Bdd,
    declared_src: Bdd,
}

impl Ctx<'_> {
    fn segment_zone(&self, segment: &str) -> Option<String> {
        self.map.segment(segment).map(|s| s.zone.clone())
    }

    /// Follows everything that enters device `start` on interface `iface` from a segment of `zone`.
    fn follow(
        &self,
        zone: &str,
        entry: &str,
        start: Item,
        out: &mut Vec<Delivered>,
        reached: &mut Vec<Reached>,
    ) {
        let space = self.space;
        let mut seen: HashMap<(usize, String), Bdd> = HashMap::new();
        let mut work = vec![start];
        while let Some(item) = work.pop() {
            let key = (item.device, item.iface.clone());
            let before = seen.get(&key).cloned().unwrap_or_else(|| space.none());
            let set = item.set.and_not(&before);
            if set.is_false() {
                continue;
            }
            seen.insert(key, before.or(&set));
            let d = &self.devices[item.device];
            let pre = set.and(&d.prerouting.accept);
            // DNAT and REDIRECT rewrite the destination of what they match, first match in the hook.
            let mut streams: Vec<(Bdd, Option<usize>)> = Vec::new();
            let mut rest = pre.clone();
            for (index, (_, action, matched)) in d.prerouting.rewrites.iter().enumerate() {
                let part = rest.and(matched);
                if part.is_false() {
                    continue;
                }
                rest = rest.and_not(matched);
                let rewritten = match action {
                    Action::Dnat { to, ports } => {
                        let mut fields = Vec::new();
                        if to.is_some() {
                            fields.push(Field::Dst);
                        }
                        if ports.is_some() {
                            fields.push(Field::Dport);
                        }
                        let mut img = space.forget(&part, &fields);
                        if let Some(to) = to {
                            img = img.and(&space.addr_range(true, *to));
                        }
                        if let Some(p) = ports {
                            img = img.and(&space.port_range(true, *p));
                        }
                        img
                    }
                    Action::Redirect { ports } => {
                        // To the device itself, on the interface's address.
                        let mut img = space.forget(&part, &[Field::Dst]).and(&d.local);
                        if let Some(p) = ports {
                            img = space
                                .forget(&img, &[Field::Dport])
                                .and(&space.port_range(true, *p));
                        }
                        img
                    }
                    _ => part,
                };
                streams.push((rewritten, Some(index)));
            }
            streams.push((rest, None));
            for (stream, dnat) in streams {
                if stream.is_false() {
                    continue;
                }
                for (region, target) in &d.routes {
                    let part = stream.and(region);
                    if part.is_false() {
                        continue;
                    }
                    match target {
                        RouteTo::Drop => {}
                        RouteTo::Local => {
                            let got = part.and(&d.input.accept);
                            if !got.is_false() {
                                reached.push(Reached {
                                    from_zone: zone.to_owned(),
                                    device: item.device,
                                    set: got,
                                });
                            }
                        }
                        RouteTo::Out { iface, via } => {
                            let forwarded = part
                                .and(&space.iface_named(true, iface))
                                .and(&d.forward.accept)
                                .and(&d.postrouting.accept);
                            if forwarded.is_false() {
                                continue;
                            }
                            // SNAT rewrites the source: to the interface's addresses, or any.
                            let mut sent = space.none();
                            let mut snat = Vec::new();
                            let mut left = forwarded.clone();
                            for (index, (_, action, matched)) in
                                d.postrouting.rewrites.iter().enumerate()
                            {
                                if !matches!(action, Action::Snat) {
                                    continue;
                                }
                                let part = left.and(matched);
                                if part.is_false() {
                                    continue;
                                }
                                left = left.and_not(matched);
                                snat.push(index);
                                let mut img = space.forget(&part, &[Field::Src, Field::Sport]);
                                let own = d
                                    .interfaces
                                    .iter()
                                    .find(|i| i.name == *iface)
                                    .map(|i| {
                                        i.addresses.iter().fold(space.none(), |acc, a| {
                                            acc.or(&addr_bdd(space, false, *a))
                                        })
                                    })
                                    .unwrap_or_else(|| space.none());
                                if !own.is_false() {
                                    img = img.and(&own);
                                }
                                sent = sent.or(&img);
                            }
                            let sent = sent.or(&left);
                            let mut path = item.path.clone();
                            path.push(Hop {
                                device: item.device,
                                in_iface: item.iface.clone(),
                                out_iface: iface.clone(),
                                dnat,
                                forwarded: forwarded.clone(),
                                snat,
                            });
                            let way = Way {
                                zone,
                                entry,
                                from: item.device,
                                iface,
                                via: *via,
                            };
                            self.next_hop(&way, forwarded, sent, path, out, &mut work);
                        }
                    }
                }
            }
        }
    }

    /// Where packets sent out of an interface go next: to the next device as `sent` (after SNAT), or
    /// delivered as `forwarded` (before it), so that an allowed service's source segment is judged on the
    /// source the sender used.
    fn next_hop(
        &self,
        way: &Way<'_>,
        forwarded: Bdd,
        sent: Bdd,
        path: Vec<Hop>,
        out: &mut Vec<Delivered>,
        work: &mut Vec<Item>,
    ) {
        let space = self.space;
        let Way {
            zone,
            entry,
            from,
            iface,
            via,
        } = *way;
        let Some(segment) = self.devices[from]
            .interfaces
            .iter()
            .find(|i| i.name == iface)
            .map(|i| i.segment.clone())
        else {
            return;
        };
        let handed = |set: Bdd, device: usize, in_iface: &str, work: &mut Vec<Item>| {
            let set = space
                .forget(&set, &[Field::Iif, Field::Oif])
                .and(&space.iface_named(false, in_iface));
            work.push(Item {
                device,
                iface: in_iface.to_owned(),
                set,
                path: path.clone(),
            });
        };
        let mut rest = forwarded;
        if let Some((family, value)) = via {
            let gateway = self.neighbours.iter().find(|(seg, addr, dev, _)| {
                *seg == segment
                    && *dev != from
                    && !addr
                        .and(&space.addr_range(
                            true,
                            AddrRange {
                                family,
                                first: value,
                                last: value,
                            },
                        ))
                        .is_false()
            });
            if let Some((_, _, dev, in_iface)) = gateway {
                handed(sent, *dev, in_iface, work);
                return;
            }
        } else {
            // On a connected segment: another device's own address is that device's.
            for (seg, addr, dev, in_iface) in &self.neighbours {
                if *seg != segment || *dev == from {
                    continue;
                }
                let part = sent.and(addr);
                if !part.is_false() {
                    rest = rest.and_not(addr);
                    handed(part, *dev, in_iface, work);
                }
            }
        }
        // Delivered into the segment's zone: to a host there, or to a gateway the map does not model, which
        // stays within its zone (every device between zones is in the map).
        let Some(to_zone) = self.segment_zone(&segment) else {
            return;
        };
        if !rest.is_false() {
            out.push(Delivered {
                from_zone: zone.to_owned(),
                entry: entry.to_owned(),
                to_zone,
                set: rest,
                path,
            });
        }
    }

    /// The packet as sent for one delivered packet, and its hops.
    fn explain(&self, path: &[Hop], delivered: &Packet) -> Option<(Packet, Vec<HopOut>)> {
        let space = self.space;
        let mut p = delivered.clone();
        let mut hops = Vec::new();
        for hop in path.iter().rev() {
            let d = &self.devices[hop.device];
            // Undo SNAT: the forwarded packet agrees on everything but the source.
            let at =
                space
                    .witness(
                        &hop.forwarded
                            .and(&space.like(&p, &[Field::Iif, Field::Oif])),
                    )
                    .or_else(|| {
                        space.witness(&hop.forwarded.and(
                            &space.like(&p, &[Field::Iif, Field::Oif, Field::Src, Field::Sport]),
                        ))
                    })?;
            let snat = hop
                .snat
                .iter()
                .map(|i| &d.postrouting.rewrites[*i])
                .find(|(_, _, m)| space.contains(m, &at))
                .map(|(o, _, _)| d.rule_ref(o));
            let rules = d.accepting(&d.forward, space, &at);
            // Undo DNAT: the arriving packet agrees on everything but the destination.
            let (arrived, dnat) = match hop.dnat {
                Some(i) => {
                    let (origin, _, matched) = &d.prerouting.rewrites[i];
                    let q = space.witness(
                        &matched.and(&space.like(&at, &[Field::Oif, Field::Dst, Field::Dport])),
                    )?;
                    (q, Some(d.rule_ref(origin)))
                }
                None => (at.clone(), None),
            };
            hops.push(HopOut {
                device: d.id.clone(),
                in_interface: hop.in_iface.clone(),
                out_interface: hop.out_iface.clone(),
                forwarded: PacketOut::of(&at),
                rules,
                dnat,
                snat,
            });
            p = arrived;
            p.oif = None;
        }
        hops.reverse();
        Some((p, hops))
    }
}

fn protocol_label(p: u8) -> String {
    match p {
        1 => "icmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        58 => "icmpv6".into(),
        132 => "sctp".into(),
        33 => "dccp".into(),
        136 => "udplite".into(),
        47 => "gre".into(),
        50 => "esp".into(),
        51 => "ah".into(),
        n => n.to_string(),
    }
}

/// Checks the zone map against the devices' configurations.
pub fn check(map: &ZoneMap, inputs: &[DeviceInput]) -> Result<Report, CheckError> {
    // The interface names of the map and of every rule, so every one is judged exactly.
    let mut names: Vec<String> = map
        .devices
        .iter()
        .flat_map(|d| d.interfaces.iter().map(|i| i.name.clone()))
        .collect();
    for input in inputs {
        names.extend(crate::space::interface_names(&input.rulesets));
    }
    let space = Space::new(&names);
    let new = space.ct_state(CtState::New);
    let mut approximated: Vec<Origin> = Vec::new();
    let mut warnings: Vec<WarningOut> = Vec::new();
    // `-m addrtype LOCAL` and the like name the device's own addresses, which the map knows.
    let mut bound: Vec<std::borrow::Cow<'_, DeviceInput>> = Vec::new();
    for device in &map.devices {
        let input = inputs
            .iter()
            .find(|i| i.id == device.id)
            .ok_or_else(|| CheckError::MissingDevice(device.id.clone()))?;
        bound.push(bind_local(input, device));
    }
    // Devices are independent: evaluate them on every core.
    let jobs: Vec<_> = map
        .devices
        .iter()
        .zip(bound.iter().map(|b| b.as_ref()))
        .collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, jobs.len().max(1));
    type Done<'a> = (
        usize,
        Result<DeviceEval<'a>, VerdictError>,
        Vec<Origin>,
        Vec<WarningOut>,
    );
    let mut done: Vec<Done<'_>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let (space, new, jobs) = (&space, &new, &jobs);
                scope.spawn(move || {
                    let mut out: Vec<Done<'_>> = Vec::new();
                    for (index, (device, input)) in jobs.iter().enumerate().skip(w).step_by(workers)
                    {
                        let (mut approximated, mut warnings) = (Vec::new(), Vec::new());
                        let eval = device_eval(
                            space,
                            map,
                            device,
                            input,
                            new,
                            &mut approximated,
                            &mut warnings,
                        );
                        out.push((index, eval, approximated, warnings));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    if done.len() != jobs.len() {
        return Err(CheckError::Worker);
    }
    done.sort_by_key(|(index, ..)| *index);
    let mut devices = Vec::new();
    for (index, eval, approx, warns) in done {
        let eval = eval.map_err(|source| CheckError::Verdict {
            device: jobs[index].0.id.clone(),
            source: Box::new(source),
        })?;
        for o in approx {
            if !approximated.contains(&o) {
                approximated.push(o);
            }
        }
        warnings.extend(warns);
        devices.push(eval);
    }
    let mut neighbours = Vec::new();
    for (index, device) in map.devices.iter().enumerate() {
        for i in &device.interfaces {
            let addrs = i
                .addresses
                .iter()
                .fold(space.none(), |acc, a| acc.or(&addr_bdd(&space, true, *a)));
            if !addrs.is_false() {
                neighbours.push((i.segment.clone(), addrs, index, i.name.clone()));
            }
        }
    }
    let mut zone_dst: BTreeMap<String, Bdd> = BTreeMap::new();
    let mut zone_src: BTreeMap<String, Bdd> = BTreeMap::new();
    let mut declared_dst = space.none();
    let mut declared_src = space.none();
    for zone in &map.zones {
        zone_dst.insert(zone.id.clone(), space.none());
        zone_src.insert(zone.id.clone(), space.none());
    }
    for segment in &map.segments {
        for p in &segment.prefixes {
            let d = space.addr_range(true, *p);
            let s = space.addr_range(false, *p);
            declared_dst = declared_dst.or(&d);
            declared_src = declared_src.or(&s);
            if let Some(z) = zone_dst.get_mut(&segment.zone) {
                *z = z.or(&d);
            }
            if let Some(z) = zone_src.get_mut(&segment.zone) {
                *z = z.or(&s);
            }
        }
    }
    let ctx = Ctx {
        space: &space,
        map,
        devices,
        neighbours,
        zone_dst,
        zone_src: zone_src.clone(),
        declared_dst,
        declared_src: declared_src.clone(),
    };

    // Every packet a host may send: opening or not, as the zone's or an undeclared source.
    let states = [CtState::New, CtState::Established, CtState::Related]
        .iter()
        .fold(space.none(), |acc, s| acc.or(&space.ct_state(*s)));
    // Every entry (a device's interface, with its segment's zone) is followed on its own: on every core.
    let entries: Vec<(usize, &crate::zones::Interface, String)> = map
        .devices
        .iter()
        .enumerate()
        .flat_map(|(index, device)| device.interfaces.iter().map(move |i| (index, i)))
        .filter_map(|(index, i)| ctx.segment_zone(&i.segment).map(|zone| (index, i, zone)))
        .collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, entries.len().max(1));
    let followed: Vec<(usize, Vec<Delivered>, Vec<Reached>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let (ctx, entries, zone_src, declared_src, states) =
                    (&ctx, &entries, &zone_src, &declared_src, &states);
                scope.spawn(move || {
                    let space = ctx.space;
                    let mut out = Vec::new();
                    for (n, (index, i, zone)) in entries.iter().enumerate().skip(w).step_by(workers)
                    {
                        let src = zone_src
                            .get(zone)
                            .cloned()
                            .unwrap_or_else(|| space.none())
                            .or(&space.valid().and_not(declared_src));
                        let set = space
                            .valid()
                            .and(states)
                            .and(&src)
                            .and(&space.iface_named(false, &i.name));
                        let (mut delivered, mut reached) = (Vec::new(), Vec::new());
                        ctx.follow(
                            zone,
                            &i.segment,
                            Item {
                                device: *index,
                                iface: i.name.clone(),
                                set,
                                path: Vec::new(),
                            },
                            &mut delivered,
                            &mut reached,
                        );
                        out.push((n, delivered, reached));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    // A worker that stopped would leave packets unfollowed: never a proof from that.
    if followed.len() != entries.len() {
        return Err(CheckError::Worker);
    }
    let mut followed = followed;
    followed.sort_by_key(|(n, ..)| *n);
    let mut delivered: Vec<Delivered> = Vec::new();
    let mut reached: Vec<Reached> = Vec::new();
    for (_, d, r) in followed {
        delivered.extend(d);
        reached.extend(r);
    }

    let report = assemble(
        &ctx,
        &new,
        &delivered,
        &reached,
        inputs,
        approximated,
        warnings,
    )
    .map_err(|source| CheckError::Verdict {
        device: String::new(),
        source: Box::new(source),
    })?;
    Ok(report)
}

/// The allowed services from zone `from` to zone `to` for packets that entered from segment `entry`: an
/// allow from a segment covers what entered from that segment, or what carries one of its addresses.
/// The device's input with every [`Test::Local`](crate::ir::Test::Local) bound to its own addresses: those
/// the map gives its interfaces, and the loopback ranges.
fn bind_local<'a>(
    input: &'a DeviceInput,
    device: &crate::zones::Device,
) -> std::borrow::Cow<'a, DeviceInput> {
    let uses_local = input
        .rulesets
        .iter()
        .flat_map(|r| r.tables.iter())
        .flat_map(|t| t.chains.iter())
        .flat_map(|c| c.rules.iter())
        .flat_map(|r| r.matches.iter())
        .any(|m| matches!(m.test, crate::ir::Test::Local { .. }));
    if !uses_local {
        return std::borrow::Cow::Borrowed(input);
    }
    let mut own: Vec<AddrRange> = device
        .interfaces
        .iter()
        .flat_map(|i| i.addresses.iter())
        .map(|a| {
            let (family, value) = addr_key(*a);
            AddrRange {
                family,
                first: value,
                last: value,
            }
        })
        .collect();
    own.extend(AddrRange::parse("127.0.0.0/8"));
    own.extend(AddrRange::parse("::1"));
    let mut out = input.clone();
    for rule in out
        .rulesets
        .iter_mut()
        .flat_map(|r| r.tables.iter_mut())
        .flat_map(|t| t.chains.iter_mut())
        .flat_map(|c| c.rules.iter_mut())
    {
        for m in &mut rule.matches {
            if matches!(m.test, crate::ir::Test::Local { .. }) {
                m.test = m.test.bind_local(&own);
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

fn allowed_set(
    space: &Space,
    map: &ZoneMap,
    from: &str,
    to: &str,
    entry: &str,
) -> Vec<(usize, Bdd)> {
    map.allows
        .iter()
        .filter(|a| {
            map.zone_of_endpoint(&a.from).is_some_and(|z| z.id == from)
                && map.zone_of_endpoint(&a.to).is_some_and(|z| z.id == to)
        })
        .map(|a| {
            let mut set = space.valid().clone();
            if let Some(p) = a.protocol {
                set = set.and(&space.protocol(p));
            }
            if !a.ports.is_empty() {
                let ports = a
                    .ports
                    .iter()
                    .fold(space.none(), |acc, r| acc.or(&space.port_range(true, *r)));
                set = set.and(&ports);
            }
            let within = |endpoint: &Endpoint, dst: bool| match endpoint {
                Endpoint::Segment(id) => map.segment(id).map(|s| {
                    s.prefixes
                        .iter()
                        .fold(space.none(), |acc, p| acc.or(&space.addr_range(dst, *p)))
                }),
                Endpoint::Zone(_) => None,
            };
            if !matches!(&a.from, Endpoint::Segment(id) if id == entry)
                && let Some(s) = within(&a.from, false)
            {
                set = set.and(&s);
            }
            if let Some(s) = within(&a.to, true) {
                set = set.and(&s);
            }
            (a.line, set)
        })
        .collect()
}

fn assemble(
    ctx: &Ctx<'_>,
    new: &Bdd,
    delivered: &[Delivered],
    reached: &[Reached],
    inputs: &[DeviceInput],
    approximated: Vec<Origin>,
    mut warnings: Vec<WarningOut>,
) -> Result<Report, VerdictError> {
    let space = ctx.space;
    let map = ctx.map;
    let mut pairs = Vec::new();
    let mut established = Vec::new();
    let mut dead: Vec<DeadAllowance> = Vec::new();
    let union = |from: &str, to: &str, states: &Bdd| {
        delivered
            .iter()
            .filter(|d| d.from_zone == from && d.to_zone == to)
            .fold(space.none(), |acc, d| acc.or(&d.set.and(states)))
    };
    let mut all_allows_used: Vec<usize> = Vec::new();
    for a in &map.zones {
        for b in &map.zones {
            if a.id == b.id {
                continue;
            }
            let crossing = union(&a.id, &b.id, new);
            // Per delivered set: what no allowed service covers, given the segment it entered from.
            let mut allowed_used: Vec<usize> = Vec::new();
            let mut bad_sets: Vec<Bdd> = Vec::new();
            let mut violating = space.none();
            for d in delivered
                .iter()
                .filter(|d| d.from_zone == a.id && d.to_zone == b.id)
            {
                let opened = d.set.and(new);
                let mut allowed = space.none();
                for (line, set) in allowed_set(space, map, &a.id, &b.id, &d.entry) {
                    if !opened.and(&set).is_false() && !allowed_used.contains(&line) {
                        allowed_used.push(line);
                    }
                    allowed = allowed.or(&set);
                }
                let bad = opened.and_not(&allowed);
                violating = violating.or(&bad);
                bad_sets.push(bad);
            }
            allowed_used.sort_unstable();
            all_allows_used.extend(allowed_used.iter().copied());
            let verdict = if !violating.is_false() {
                Verdict::Violation
            } else if crossing.is_false() {
                Verdict::Isolated
            } else {
                Verdict::AllowedOnly
            };
            let mut counterexamples = Vec::new();
            let (mut src_prefixes, mut dst_prefixes, mut truncated) =
                (Vec::new(), Vec::new(), false);
            let (mut src_undeclared, mut dst_undeclared) = (false, false);
            if verdict == Verdict::Violation {
                for (d, bad) in delivered
                    .iter()
                    .filter(|d| d.from_zone == a.id && d.to_zone == b.id)
                    .zip(bad_sets)
                {
                    if bad.is_false() {
                        continue;
                    }
                    let Some(last) = d.path.last() else {
                        continue;
                    };
                    let dev = &ctx.devices[last.device];
                    // One class per rule that admits the traffic on the last device: a witness, then
                    // everything that rule matches (from any source) is set aside.
                    let mut left = bad;
                    while counterexamples.len() < MAX_COUNTEREXAMPLES {
                        let Some(p) = nice_witness(ctx, &left, &a.id, &b.id) else {
                            break;
                        };
                        match dev.accepting_match(&dev.forward, space, &p) {
                            Some(class) => {
                                let class = space.forget(&class, &[Field::Src, Field::Sport]);
                                let rest = left.and_not(&class);
                                // A class must shrink what is left, or the loop would not end.
                                left = if rest.iff(&left).is_true() {
                                    space.none()
                                } else {
                                    rest
                                };
                            }
                            None => left = space.none(),
                        }
                        if let Some(cx) = counterexample(ctx, &d.path, &p, &approximated) {
                            // One per way through the devices and rules: another chunk of the same
                            // traffic (another route, another part of the zone) adds nothing.
                            let way = |c: &Counterexample| {
                                c.hops
                                    .iter()
                                    .map(|h| {
                                        (
                                            h.device.clone(),
                                            h.in_interface.clone(),
                                            h.out_interface.clone(),
                                            h.rules.clone(),
                                            h.dnat.clone(),
                                        )
                                    })
                                    .collect::<Vec<_>>()
                            };
                            if !counterexamples.iter().any(|c| way(c) == way(&cx)) {
                                counterexamples.push(cx);
                            }
                        }
                    }
                }
                // The zones' own addresses as prefixes; the addresses no segment declares (the Internet,
                // an upstream network) as a flag, since their prefixes are the complement of the map.
                let own_src = ctx
                    .zone_src
                    .get(&a.id)
                    .cloned()
                    .unwrap_or_else(|| space.none());
                let own_dst = ctx
                    .zone_dst
                    .get(&b.id)
                    .cloned()
                    .unwrap_or_else(|| space.none());
                let (s, more_s) = space.prefixes(&violating.and(&own_src), false, MAX_PREFIXES);
                let (t, more_t) = space.prefixes(&violating.and(&own_dst), true, MAX_PREFIXES);
                src_prefixes = s.iter().map(show_prefix).collect();
                dst_prefixes = t.iter().map(show_prefix).collect();
                truncated = more_s || more_t;
                src_undeclared = !violating.and_not(&ctx.declared_src).is_false();
                dst_undeclared = !violating.and_not(&ctx.declared_dst).is_false();
            }
            pairs.push(PairResult {
                from: a.id.clone(),
                to: b.id.clone(),
                verdict,
                allowed_used,
                counterexamples,
                src_prefixes,
                dst_prefixes,
                src_undeclared,
                dst_undeclared,
                prefixes_truncated: truncated,
            });

            // Established traffic with no opening the other way.
            let later = space
                .ct_state(CtState::Established)
                .or(&space.ct_state(CtState::Related));
            let est = union(&a.id, &b.id, &later);
            let back = union(&b.id, &a.id, new);
            if !est.is_false() && back.is_false() {
                let example = nice_witness(ctx, &est, &a.id, &b.id);
                let rules = example
                    .as_ref()
                    .and_then(|p| {
                        delivered
                            .iter()
                            .filter(|d| d.from_zone == a.id && d.to_zone == b.id)
                            .find(|d| space.contains(&d.set, p))
                            .and_then(|d| d.path.last())
                            .map(|h| {
                                let dev = &ctx.devices[h.device];
                                dev.accepting(&dev.forward, space, p)
                            })
                    })
                    .unwrap_or_default();
                established.push(EstablishedOnly {
                    from: a.id.clone(),
                    to: b.id.clone(),
                    example: example.map(|p| p.to_string()).unwrap_or_default(),
                    rules,
                });
            }
        }
    }
    for allow in &map.allows {
        if !all_allows_used.contains(&allow.line) {
            dead.push(DeadAllowance {
                line: allow.line,
                reason: allow.reason.clone(),
            });
        }
    }

    let pivots = pivots(ctx, new, reached);

    let shadowed = ctx
        .devices
        .iter()
        .flat_map(|d| d.shadowed.iter().map(|o| d.rule_ref(o)))
        .collect();
    for input in inputs {
        for ruleset in &input.rulesets {
            for w in &ruleset.warnings {
                warnings.push(WarningOut {
                    file: w.origin.file.to_string(),
                    line: w.origin.line,
                    message: w.message.clone(),
                });
            }
        }
    }
    for origin in &approximated {
        let known = warnings
            .iter()
            .any(|w| w.file == *origin.file && w.line == origin.line);
        if !known {
            warnings.push(WarningOut {
                file: origin.file.to_string(),
                line: origin.line,
                message: "this rule has a match or target the check does not model; it is read as permitting".to_owned(),
            });
        }
    }
    Ok(Report {
        pairs,
        established,
        pivots,
        dead_allowances: dead,
        shadowed,
        warnings,
    })
}

/// A witness with addresses from the zones' own segments where the set has such packets, ports and
/// protocols as a person would pick them (TCP first).
fn nice_witness(ctx: &Ctx<'_>, set: &Bdd, from: &str, to: &str) -> Option<Packet> {
    let space = ctx.space;
    // Each preference narrows the set when it can.
    fn prefer(set: &mut Bdd, extra: &Bdd) {
        let narrowed = set.and(extra);
        if !narrowed.is_false() {
            *set = narrowed;
        }
    }
    let mut set = set.clone();
    // A host address: past the first few of a segment's prefix, short of its last.
    let hosts = |dst: bool, zone: &str| {
        ctx.map
            .segments
            .iter()
            .filter(|s| s.zone == zone)
            .flat_map(|s| s.prefixes.iter())
            .fold(space.none(), |acc, p| {
                let size = p.last - p.first;
                let inner = AddrRange {
                    family: p.family,
                    first: p.first + size.min(10),
                    last: if size > 1 { p.last - 1 } else { p.last },
                };
                acc.or(&space.addr_range(dst, inner))
            })
    };
    prefer(&mut set, &hosts(false, from));
    prefer(&mut set, &hosts(true, to));
    prefer(&mut set, &space.host_like(false));
    prefer(&mut set, &space.host_like(true));
    prefer(&mut set, &space.ct_state(CtState::Established));
    prefer(&mut set, &space.protocol(6));
    // A service a reader recognises, else a low port.
    let common = [443u16, 80, 25, 22, 53, 445, 3389, 8080]
        .iter()
        .map(|p| space.port_range(true, crate::ir::PortRange::single(*p)))
        .find(|ports| !set.and(ports).is_false());
    let low = crate::ir::PortRange {
        first: 1,
        last: 1023,
    };
    prefer(
        &mut set,
        &common.unwrap_or_else(|| space.port_range(true, low)),
    );
    let ephemeral = crate::ir::PortRange {
        first: 32768,
        last: 60999,
    };
    prefer(&mut set, &space.port_range(false, ephemeral));
    space.witness(&set)
}

fn counterexample(
    ctx: &Ctx<'_>,
    path: &[Hop],
    delivered: &Packet,
    approximated: &[Origin],
) -> Option<Counterexample> {
    let (sent, hops) = ctx.explain(path, delivered)?;
    let approximate = hops.iter().any(|h| {
        approximated.iter().any(|o| {
            h.rules
                .iter()
                .any(|r| *o.file == r.file && o.line == r.line)
        })
    });
    Some(Counterexample {
        packet: PacketOut::of(&sent),
        hops,
        approximate,
    })
}

fn pivots(ctx: &Ctx<'_>, new: &Bdd, reached: &[Reached]) -> Vec<Pivot> {
    let space = ctx.space;
    let mut out = Vec::new();
    let service_fields = [Field::Iif, Field::Oif, Field::Src, Field::Dst, Field::Sport];
    for (index, device) in ctx.devices.iter().enumerate() {
        // Per zone: the services (family, protocol, destination port) reached with an opening packet.
        let mut by_zone: BTreeMap<&str, Bdd> = BTreeMap::new();
        for r in reached.iter().filter(|r| r.device == index) {
            let set = space.forget(&r.set.and(new), &service_fields);
            let entry = by_zone
                .entry(r.from_zone.as_str())
                .or_insert_with(|| space.none());
            *entry = entry.or(&set);
        }
        let zones: Vec<(&str, Bdd)> = by_zone.into_iter().filter(|(_, s)| !s.is_false()).collect();
        for (i, (za, sa)) in zones.iter().enumerate() {
            for (zb, sb) in zones.iter().skip(i + 1) {
                let both = sa.and(sb);
                if let Some(p) = space.witness(&both) {
                    let rule_for = |zone: &str| {
                        reached
                            .iter()
                            .filter(|r| r.device == index && r.from_zone == zone)
                            .find_map(|r| {
                                let q = space.witness(
                                    &r.set.and(new).and(&space.like(&p, &service_fields)),
                                )?;
                                Some(device.accepting(&device.input, space, &q))
                            })
                            .unwrap_or_default()
                    };
                    out.push(Pivot::SharedService {
                        device: device.id.clone(),
                        zones: [(*za).to_owned(), (*zb).to_owned()],
                        protocol: protocol_label(p.protocol),
                        port: crate::ir::has_ports(p.protocol).then_some(p.dport),
                        rules: [rule_for(za), rule_for(zb)],
                    });
                }
            }
        }
        // Connections the device itself may open into a zone it is attached to (out of an interface on one
        // of the zone's segments): a device that two zones reach, and that reaches into another, is a pivot
        // in its own right, whatever lies beyond its gateways.
        if zones.is_empty() {
            continue;
        }
        for to_zone in ctx.zone_dst.keys() {
            let mut opened = space.none();
            for (region, target) in &device.routes {
                if let RouteTo::Out { iface, .. } = target
                    && device
                        .interfaces
                        .iter()
                        .find(|i| i.name == *iface)
                        .and_then(|i| ctx.segment_zone(&i.segment))
                        .is_some_and(|z| z == *to_zone)
                {
                    opened = opened.or(&region
                        .and(&space.iface_named(true, iface))
                        .and(&device.output.accept)
                        .and(&device.postrouting.accept)
                        .and(new));
                }
            }
            let Some(p) = nice_witness(ctx, &opened, to_zone, to_zone) else {
                continue;
            };
            for (from_zone, _) in &zones {
                if *from_zone == to_zone {
                    continue;
                }
                out.push(Pivot::Relay {
                    device: device.id.clone(),
                    reached_from: (*from_zone).to_owned(),
                    opens_to: to_zone.clone(),
                    example: p.to_string(),
                    rules: device.accepting(&device.output, space, &p),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn prefix_lengths() {
        let r = AddrRange::parse("10.0.0.0/8").unwrap();
        assert_eq!(prefix_len(&r), 8);
        assert_eq!(prefix_len(&AddrRange::any(Family::Ipv6)), 0);
        assert_eq!(prefix_len(&AddrRange::parse("::1").unwrap()), 128);
    }
}
