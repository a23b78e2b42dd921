//! Kernel replay: the scenario topologies rebuilt with network namespaces and veth pairs, each device's
//! configuration loaded into a real kernel (`ipset restore` + `iptables-restore`, or `nft -j -f`), and the
//! check's claims tested against what the kernel does:
//!
//! - every counterexample packet of a violating pair is sent and must arrive on the segment the check says
//!   it leaves on;
//! - for every pair the check proves `allowed_only`, the traffic of its allowed services (the counterexamples
//!   of the same check with the map's `[[allow]]` tables removed) must arrive too, so the harness cannot pass
//!   by delivering nothing;
//! - for every pair the check proves `isolated`, random packets between the two zones must not arrive.
//!
//! Topology: one namespace per segment that has a device interface, holding a bridge `br0` that stands for
//! the segment's hosts; one namespace per device, with its interfaces named as in the map, each a veth whose
//! other end is a port of its segment's bridge. Packets are written as Ethernet frames on the sending
//! segment's bridge, addressed to the device interface's MAC, so the sender's own stack plays no part; the
//! receiving segments own the destination addresses (so the device's ARP or neighbour solicitation is
//! answered) and count the packets in an nftables prerouting chain before anything else sees them.
//!
//! The test needs root, `ip`, `nft`, `iptables-restore`, `ip6tables-restore`, `ipset` and `python3`; it runs
//! only when `MAMORI_TEST_NETNS=1` and fails when that is set and something is missing. Without it, it says
//! it was skipped and passes. When it ran, it prints a `netcheck-replay: ran …` line, and appends it to the
//! file `MAMORI_REPLAY_MARKER` names, if set, so a caller can check that it really ran.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mamori_netcheck::analysis::{Counterexample, DeviceInput, Verdict, check};
use mamori_netcheck::ir::{AddrRange, Family};
use mamori_netcheck::load::read_devices;
use mamori_netcheck::space::show_prefix;
use mamori_netcheck::zones::{ConfigFormat, RouteAction, ZoneMap, addr_key, parse_zone_map};

/// The scenarios replayed: a folder of `tests/fixtures/scenarios` and the files swapped in for the ones
/// its map names (as in `tests/scenarios.rs`). A new scenario is one line here.
const SCENARIOS: &[(&str, &[(&str, &str)])] = &[
    ("alpha", &[]),
    ("alpha", &[("core-fw.rules", "planted-early-accept.rules")]),
    ("alpha", &[("core-fw.ipset", "planted-set.ipset")]),
    ("alpha-prime", &[]),
    ("alpha-prime", &[("edge-fw.json", "planted-dnat.json")]),
    ("beta", &[]),
    ("beta", &[("core.json", "planted.json")]),
    ("beta-prime", &[]),
    ("beta-prime", &[("lgwan-fw.json", "planted.json")]),
    ("docker-host", &[]),
    ("docker-host", &[("vm.rules", "planted.rules")]),
];

/// Random packets sent for each isolated pair.
const RANDOM_PROBES_PER_PAIR: usize = 20;
/// Destination ports tried often, besides random ones.
const COMMON_PORTS: [u16; 7] = [22, 25, 53, 80, 443, 445, 3389];
/// Addresses no scenario map declares, used for hosts outside the map (the Internet's addresses).
const UNDECLARED_V4: &str = "198.18.0.0";
const UNDECLARED_V6: &str = "2001:db8:ffff::";

const TOOLS: [&str; 6] = [
    "ip",
    "nft",
    "iptables-restore",
    "ip6tables-restore",
    "ipset",
    "python3",
];

#[test]
fn kernel_replay_confirms_counterexamples_and_isolation() {
    if std::env::var("MAMORI_TEST_NETNS").as_deref() != Ok("1") {
        eprintln!("skipped: kernel replay needs root and MAMORI_TEST_NETNS=1");
        return;
    }
    preflight();
    let mut totals = Stats::default();
    let mut failures = Vec::new();
    for (scenario, swap) in SCENARIOS {
        let label = if swap.is_empty() {
            (*scenario).to_owned()
        } else {
            let swaps: Vec<String> = swap.iter().map(|(a, b)| format!("{a}→{b}")).collect();
            format!("{scenario} [{}]", swaps.join(", "))
        };
        let stats = replay_scenario(scenario, swap, &label, &mut failures);
        eprintln!(
            "{label}: {} counterexamples confirmed, {} allowed-service packets delivered, {} random probes, {} approximate counterexamples not sent",
            stats.counterexamples, stats.controls, stats.random, stats.approximate
        );
        totals.add(&stats);
    }
    assert!(
        failures.is_empty(),
        "the kernel disagrees with the check:\n{}",
        failures.join("\n")
    );
    let line = format!(
        "netcheck-replay: ran {} scenarios, {} counterexamples confirmed, {} random probes, {} allowed-service packets delivered",
        SCENARIOS.len(),
        totals.counterexamples,
        totals.random,
        totals.controls
    );
    println!("{line}");
    if let Some(path) = std::env::var_os("MAMORI_REPLAY_MARKER") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open MAMORI_REPLAY_MARKER {path:?}: {e}"));
        writeln!(file, "{line}").unwrap();
    }
}

/// Every scenario folder is replayed at least once, so a new one cannot be forgotten here. Runs without root.
#[test]
fn every_scenario_folder_is_replayed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scenarios");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().join("zones.toml").is_file()
            && !SCENARIOS.iter().any(|(scenario, _)| *scenario == name)
        {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "scenario folders not in SCENARIOS of the kernel replay: {}",
        missing.join(", ")
    );
}

/// With `MAMORI_TEST_NETNS=1`, everything the replay needs must be there.
fn preflight() {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX);
    assert_eq!(
        uid, 0,
        "MAMORI_TEST_NETNS=1 but the kernel replay is not running as root"
    );
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<&str> = TOOLS
        .iter()
        .copied()
        .filter(|tool| !std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
        .collect();
    assert!(
        missing.is_empty(),
        "MAMORI_TEST_NETNS=1 but the kernel replay needs {}: not found in PATH",
        missing.join(", ")
    );
}

#[derive(Default)]
struct Stats {
    counterexamples: usize,
    controls: usize,
    random: usize,
    approximate: usize,
}

impl Stats {
    fn add(&mut self, other: &Stats) {
        self.counterexamples += other.counterexamples;
        self.controls += other.controls;
        self.random += other.random;
        self.approximate += other.approximate;
    }
}

// ---------------------------------------------------------------------------------------------------------
// One scenario.

fn replay_scenario(
    scenario: &str,
    swap: &[(&str, &str)],
    label: &str,
    failures: &mut Vec<String>,
) -> Stats {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/scenarios")
        .join(scenario);
    let file_of = |name: &str| -> PathBuf {
        let file = swap
            .iter()
            .find(|(from, _)| *from == name)
            .map_or(name, |(_, to)| *to);
        dir.join(file)
    };
    let text = std::fs::read_to_string(dir.join("zones.toml")).unwrap();
    let map = parse_zone_map(&text, "zones.toml").unwrap();
    let inputs = read_devices(&map, &mut |name| {
        std::fs::read_to_string(file_of(name)).map_err(|e| e.to_string())
    })
    .unwrap();
    let report = check(&map, &inputs).unwrap();
    // The same check with nothing allowed: the traffic of the allowed services shows up as counterexamples.
    let mut bare_map = map.clone();
    bare_map.allows.clear();
    let bare = check(&bare_map, &inputs).unwrap();

    let topo = Topology::build(&map, &inputs, &file_of);
    let mut stats = Stats::default();
    let seed = label
        .bytes()
        .fold(0x6d61_6d6f_7269_u64, |h, b| h.rotate_left(5) ^ u64::from(b));
    let mut rng = XorShift::new(seed);
    // Every packet of the scenario, with what it must do, sent together.
    let mut probes: Vec<(Expect, String, Probe)> = Vec::new();
    for pair in &report.pairs {
        let what = format!("{label}: {} → {}", pair.from, pair.to);
        let (expect, batch) = match pair.verdict {
            Verdict::Violation => (
                Expect::Counterexample,
                counterexample_probes(
                    &topo,
                    &pair.counterexamples,
                    &mut stats.approximate,
                    &what,
                    failures,
                ),
            ),
            Verdict::AllowedOnly => {
                let cx = bare
                    .pairs
                    .iter()
                    .find(|p| p.from == pair.from && p.to == pair.to)
                    .map(|p| p.counterexamples.as_slice())
                    .unwrap_or_default();
                if cx.is_empty() {
                    failures.push(format!(
                        "{what}: allowed_only, but with no [[allow]] the check finds no traffic to send"
                    ));
                }
                (
                    Expect::Allowed,
                    counterexample_probes(&topo, cx, &mut stats.approximate, &what, failures),
                )
            }
            // Empty when a zone has no segment where a device is: nothing to send from.
            Verdict::Isolated => (
                Expect::Nothing,
                random_probes(&topo, &map, &pair.from, &pair.to, &mut rng),
            ),
        };
        probes.extend(batch.into_iter().map(|p| (expect, what.clone(), p)));
    }
    let sent: Vec<Probe> = probes.iter().map(|(_, _, p)| p.clone()).collect();
    for ((expect, what, probe), count) in probes.iter().zip(topo.send(&sent)) {
        let target = probe.expect_segment.as_deref().unwrap_or("?");
        match expect {
            Expect::Counterexample if count.expected > 0 => stats.counterexamples += 1,
            Expect::Counterexample => failures.push(format!(
                "{what} (violation): counterexample {} did not arrive on segment {target}{}",
                probe.describe,
                count.elsewhere(),
            )),
            Expect::Allowed if count.expected > 0 => stats.controls += 1,
            Expect::Allowed => failures.push(format!(
                "{what} (allowed_only): allowed traffic {} did not arrive on segment {target}{}",
                probe.describe,
                count.elsewhere(),
            )),
            Expect::Nothing => {
                stats.random += 1;
                // A crossing is a packet that arrives on a segment of the destination zone: one that leaves
                // towards a gateway in another zone stays there (the check's model, and the map's promise
                // that every device joining two zones is in it).
                let pair_to = what.rsplit(" → ").next().unwrap_or("");
                let crossed: u64 = count
                    .by_segment
                    .iter()
                    .filter(|(seg, _)| map.segment(seg).is_some_and(|s| s.zone == pair_to))
                    .map(|(_, n)| n)
                    .sum();
                if crossed > 0 {
                    failures.push(format!(
                        "{what} (isolated): random packet {} arrived{}",
                        probe.describe,
                        count.elsewhere(),
                    ));
                }
            }
        }
    }
    if stats.counterexamples + stats.controls == 0 {
        failures.push(format!(
            "{label}: no packet was expected to arrive, so nothing shows the replayed topology forwards at all"
        ));
    }
    stats
}

/// The packets of counterexamples, sent where their first hop enters and expected where their last hop
/// leaves.
fn counterexample_probes(
    topo: &Topology,
    cx: &[Counterexample],
    approximate: &mut usize,
    what: &str,
    failures: &mut Vec<String>,
) -> Vec<Probe> {
    let mut out = Vec::new();
    for c in cx {
        if c.approximate {
            *approximate += 1;
            continue;
        }
        let (Some(first), Some(last)) = (c.hops.first(), c.hops.last()) else {
            failures.push(format!("{what}: counterexample {} has no hop", c.packet));
            continue;
        };
        let Some(entry) = topo.port(&first.device, &first.in_interface) else {
            failures.push(format!(
                "{what}: counterexample {} enters {}:{}, which is on no segment of the replay",
                c.packet, first.device, first.in_interface
            ));
            continue;
        };
        let Some(exit) = topo.port(&last.device, &last.out_interface) else {
            failures.push(format!(
                "{what}: counterexample {} leaves {}:{}, which is on no segment of the replay",
                c.packet, last.device, last.out_interface
            ));
            continue;
        };
        let p = &c.packet;
        let f = &last.forwarded;
        let dst: IpAddr = f.dst.parse().unwrap();
        let mut owners = BTreeMap::new();
        if exit.segment != entry.segment {
            owners.insert(exit.segment.clone(), vec![dst]);
        }
        out.push(Probe {
            describe: format!(
                "{p} (sent on {} to {}:{}, expected as {f} out of {}:{})",
                entry.segment, first.device, first.in_interface, last.device, last.out_interface
            ),
            protocol: p.protocol,
            src: p.src.parse().unwrap(),
            dst: p.dst.parse().unwrap(),
            sport: p.sport.unwrap_or(0),
            dport: p.dport.unwrap_or(0),
            send_segment: entry.segment.clone(),
            to_mac: entry.mac.clone(),
            owners,
            count_dst: dst,
            count_dport: f.dport,
            expect_segment: Some(exit.segment.clone()),
        });
    }
    out
}

/// Random packets from the source zone's segments (that have a device to send to) to the destination zone.
fn random_probes(
    topo: &Topology,
    map: &ZoneMap,
    from: &str,
    to: &str,
    rng: &mut XorShift,
) -> Vec<Probe> {
    let in_zone = |zone: &str| -> Vec<&mamori_netcheck::zones::Segment> {
        map.segments.iter().filter(|s| s.zone == zone).collect()
    };
    let senders: Vec<_> = in_zone(from)
        .into_iter()
        .filter(|s| topo.segments.contains_key(&s.id))
        .collect();
    let dst_prefixes: Vec<AddrRange> = in_zone(to)
        .iter()
        .flat_map(|s| s.prefixes.iter().copied())
        .collect();
    // Addresses the map does not declare are delivered to the zone of the segment they leave on: to a zone
    // with a segment where a device's default route points, they are destinations of that zone too.
    let default_out = topo
        .default_segments
        .iter()
        .any(|s| map.segment(s).is_some_and(|seg| seg.zone == to));
    if senders.is_empty() || dst_prefixes.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut used = BTreeSet::new();
    let mut tries = 0;
    while out.len() < RANDOM_PROBES_PER_PAIR && tries < RANDOM_PROBES_PER_PAIR * 50 {
        tries += 1;
        let sender = senders[rng.below(senders.len())];
        let ports = topo.ports_on(&sender.id);
        let port = ports[rng.below(ports.len())];
        let dst_range = if default_out && rng.below(4) == 0 {
            undeclared(map, dst_prefixes[0].family)
        } else {
            Some(dst_prefixes[rng.below(dst_prefixes.len())])
        };
        let Some(dst_range) = dst_range else { continue };
        let family = dst_range.family;
        let src_prefixes: Vec<AddrRange> = sender
            .prefixes
            .iter()
            .copied()
            .filter(|p| p.family == family)
            .collect();
        let src_range = if src_prefixes.is_empty() || rng.below(4) == 0 {
            undeclared(map, family)
        } else {
            Some(src_prefixes[rng.below(src_prefixes.len())])
        };
        let Some(src_range) = src_range else { continue };
        let (Some(src), Some(dst)) = (
            topo.random_host(map, &src_range, rng),
            topo.random_host(map, &dst_range, rng),
        ) else {
            continue;
        };
        if !used.insert(dst) {
            continue;
        }
        let protocol = if rng.below(2) == 0 { 6 } else { 17 };
        let dport = if rng.below(2) == 0 {
            COMMON_PORTS[rng.below(COMMON_PORTS.len())]
        } else {
            1 + u16::try_from(rng.below(65535)).unwrap()
        };
        let sport = 1024 + u16::try_from(rng.below(64511)).unwrap();
        let (fam, key) = addr_key(dst);
        let mut owners: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
        for seg in topo.segments.keys() {
            if *seg == sender.id {
                continue;
            }
            let on_link = map
                .segment(seg)
                .is_some_and(|s| s.prefixes.iter().any(|p| p.contains(fam, key)))
                || topo.device_routed_segments(fam, key).contains(seg);
            if on_link {
                owners.entry(seg.clone()).or_default().push(dst);
            }
        }
        out.push(Probe {
            describe: format!(
                "{} {src}:{sport} → {dst}:{dport} (sent on {} to {}:{})",
                if protocol == 6 { "tcp" } else { "udp" },
                sender.id,
                port.device,
                port.interface
            ),
            protocol,
            src,
            dst,
            sport,
            dport,
            send_segment: sender.id.clone(),
            to_mac: port.mac.clone(),
            owners,
            count_dst: dst,
            count_dport: Some(dport),
            expect_segment: None,
        });
    }
    out
}

/// A block of addresses the map does not declare, of the family.
fn undeclared(map: &ZoneMap, family: Family) -> Option<AddrRange> {
    let (base, len) = match family {
        Family::Ipv4 => (UNDECLARED_V4, 15),
        Family::Ipv6 => (UNDECLARED_V6, 48),
    };
    let (fam, key) = addr_key(base.parse().unwrap());
    let range = AddrRange::prefix(fam, key, len)?;
    let declared = map.segments.iter().any(|s| {
        s.prefixes
            .iter()
            .any(|p| p.family == family && p.first <= range.last && range.first <= p.last)
    });
    (!declared).then_some(range)
}

// ---------------------------------------------------------------------------------------------------------
// The replayed topology.

/// A device interface as the replay built it.
#[derive(Clone)]
struct Port {
    device: String,
    interface: String,
    segment: String,
    mac: String,
}

struct Topology {
    /// Segment id → namespace.
    segments: BTreeMap<String, String>,
    ports: Vec<Port>,
    /// Addresses the topology itself put on each segment's bridge (gateways no device owns).
    base: BTreeMap<String, BTreeSet<IpAddr>>,
    /// Every device address and gateway: never picked as a random host.
    reserved: BTreeSet<IpAddr>,
    /// Segments a device's default route leaves on.
    default_segments: BTreeSet<String>,
    /// Routes without a gateway, as (prefix, segment they leave on).
    dev_routes: Vec<(AddrRange, String)>,
    _guard: Namespaces,
}

/// Deletes the namespaces it holds when dropped, also when a test fails half-way.
struct Namespaces(Vec<String>);

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in self.0.iter().rev() {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

static TOPOLOGIES: AtomicUsize = AtomicUsize::new(0);

impl Topology {
    fn build(map: &ZoneMap, inputs: &[DeviceInput], file_of: &dyn Fn(&str) -> PathBuf) -> Self {
        let prefix = format!(
            "mamori-replay-{}-{}",
            std::process::id(),
            TOPOLOGIES.fetch_add(1, Ordering::Relaxed)
        );
        let mut guard = Namespaces(Vec::new());
        let mut add_ns = |name: String| -> String {
            run(&["ip", "netns", "add", &name]);
            guard.0.push(name.clone());
            run(&["ip", "-n", &name, "link", "set", "lo", "up"]);
            name
        };
        let mut segments = BTreeMap::new();
        for (i, seg) in map.segments.iter().enumerate() {
            let used = map
                .devices
                .iter()
                .any(|d| d.interfaces.iter().any(|i| i.segment == seg.id));
            if !used {
                continue;
            }
            let ns = add_ns(format!("{prefix}-s{i}"));
            sysctls(&ns, false);
            ip(
                &ns,
                "link add br0 type bridge forward_delay 0 mcast_snooping 0",
            );
            run(&["ip", "-n", &ns, "link", "set", "br0", "up"]);
            for p in &seg.prefixes {
                ip(&ns, &format!("route replace {} dev br0", show_prefix(p)));
            }
            segments.insert(seg.id.clone(), ns);
        }
        let mut ports = Vec::new();
        let mut reserved = BTreeSet::new();
        let mut device_ns = BTreeMap::new();
        for (d, device) in map.devices.iter().enumerate() {
            let ns = add_ns(format!("{prefix}-d{d}"));
            sysctls(&ns, true);
            for (i, iface) in device.interfaces.iter().enumerate() {
                let seg_ns = &segments[&iface.segment];
                let peer = format!("p{d}x{i}");
                run_words(&format!(
                    "ip link add name {} netns {ns} type veth peer name {peer} netns {seg_ns}",
                    iface.name
                ));
                ip(seg_ns, &format!("link set {peer} master br0 up"));
                run(&["ip", "-n", &ns, "link", "set", &iface.name, "up"]);
                let seg = map.segment(&iface.segment).unwrap();
                for addr in &iface.addresses {
                    reserved.insert(*addr);
                    let (fam, key) = addr_key(*addr);
                    let len = seg
                        .prefixes
                        .iter()
                        .filter(|p| p.contains(fam, key))
                        .map(prefix_len)
                        .max()
                        .unwrap();
                    let cidr = format!("{addr}/{len}");
                    let mut args = vec!["ip", "-n", &ns, "addr", "add", &cidr, "dev", &iface.name];
                    if fam == Family::Ipv6 {
                        args.push("nodad");
                    }
                    run(&args);
                }
                let link = run(&["ip", "-j", "-n", &ns, "link", "show", &iface.name]);
                let link: serde_json::Value = serde_json::from_str(&link).unwrap();
                let mac = link[0]["address"].as_str().unwrap().to_owned();
                ports.push(Port {
                    device: device.id.clone(),
                    interface: iface.name.clone(),
                    segment: iface.segment.clone(),
                    mac,
                });
            }
            device_ns.insert(device.id.clone(), ns);
        }
        // Routes, and the gateways no device owns, on their segments.
        let mut base: BTreeMap<String, BTreeSet<IpAddr>> = BTreeMap::new();
        let mut default_segments = BTreeSet::new();
        let mut dev_routes = Vec::new();
        for device in &map.devices {
            let ns = &device_ns[&device.id];
            let input = inputs.iter().find(|i| i.id == device.id).unwrap();
            for route in &input.routes {
                let to = show_prefix(&route.to);
                let mut args: Vec<String> = vec!["ip".into(), "-n".into(), ns.clone()];
                args.extend(["route".into(), "replace".into()]);
                match &route.action {
                    RouteAction::Forward => {}
                    RouteAction::Local => args.push("local".into()),
                    RouteAction::Drop { kind } => args.push(kind.clone()),
                }
                args.push(to);
                if let Some(via) = route.via {
                    args.extend(["via".into(), via.to_string()]);
                }
                match (&route.dev, &route.action) {
                    (Some(dev), _) => args.extend(["dev".into(), dev.clone()]),
                    (None, RouteAction::Local) => args.extend(["dev".into(), "lo".into()]),
                    _ => {}
                }
                if let Some(src) = route.prefsrc {
                    args.extend(["src".into(), src.to_string()]);
                }
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                run(&args);
                if route.action != RouteAction::Forward {
                    continue;
                }
                // The segment the route leaves on: its interface, or the one whose segment holds the gateway.
                let out = route
                    .dev
                    .as_deref()
                    .and_then(|dev| device.interface(dev))
                    .or_else(|| {
                        let (fam, key) = addr_key(route.via?);
                        device.interfaces.iter().find(|i| {
                            map.segment(&i.segment)
                                .is_some_and(|s| s.prefixes.iter().any(|p| p.contains(fam, key)))
                        })
                    });
                let Some(out) = out else { continue };
                if route.to.first == 0 && route.to.last == route.to.family.max() {
                    default_segments.insert(out.segment.clone());
                }
                match route.via {
                    Some(via) => {
                        reserved.insert(via);
                        let owned = map
                            .devices
                            .iter()
                            .any(|d| d.interfaces.iter().any(|i| i.addresses.contains(&via)));
                        if !owned && base.entry(out.segment.clone()).or_default().insert(via) {
                            add_addr(&segments[&out.segment], via);
                        }
                    }
                    None => dev_routes.push((route.to, out.segment.clone())),
                }
            }
        }
        // The configurations, from the files the check read.
        for device in &map.devices {
            let ns = &device_ns[&device.id];
            let config = file_of(&device.config);
            let config = config.to_str().unwrap();
            match device.format {
                ConfigFormat::NftJson => {
                    run(&["ip", "netns", "exec", ns, "nft", "-j", "-f", config]);
                }
                ConfigFormat::IptablesSave | ConfigFormat::Ip6tablesSave => {
                    if let Some(ipset) = &device.ipset {
                        let ipset = file_of(ipset);
                        run(&[
                            "ip",
                            "netns",
                            "exec",
                            ns,
                            "ipset",
                            "restore",
                            "-file",
                            ipset.to_str().unwrap(),
                        ]);
                    }
                    let restore = if device.format == ConfigFormat::IptablesSave {
                        "iptables-restore"
                    } else {
                        "ip6tables-restore"
                    };
                    run(&["ip", "netns", "exec", ns, restore, config]);
                }
            }
        }
        Topology {
            segments,
            ports,
            base,
            reserved,
            default_segments,
            dev_routes,
            _guard: guard,
        }
    }

    fn port(&self, device: &str, interface: &str) -> Option<&Port> {
        self.ports
            .iter()
            .find(|p| p.device == device && p.interface == interface)
    }

    fn ports_on(&self, segment: &str) -> Vec<&Port> {
        self.ports.iter().filter(|p| p.segment == segment).collect()
    }

    /// Segments that a device's gateway-less route for the address leaves on.
    fn device_routed_segments(&self, family: Family, key: u128) -> BTreeSet<String> {
        self.dev_routes
            .iter()
            .filter(|(p, _)| p.contains(family, key))
            .map(|(_, s)| s.clone())
            .collect()
    }

    /// A random address of the range that is neither a device's nor a gateway, nor the first or last of a
    /// segment prefix it falls in (a subnet's broadcast address is not a host's).
    fn random_host(&self, map: &ZoneMap, range: &AddrRange, rng: &mut XorShift) -> Option<IpAddr> {
        for _ in 0..32 {
            let size = range.last - range.first;
            let key = range.first + rng.next_u128() % size.saturating_add(1).max(1);
            let edge = map.segments.iter().any(|s| {
                s.prefixes.iter().any(|p| {
                    p.contains(range.family, key)
                        && p.last > p.first + 1
                        && (key == p.first || key == p.last)
                })
            });
            let addr = to_addr(range.family, key);
            if !edge && !self.reserved.contains(&addr) {
                return Some(addr);
            }
        }
        None
    }

    /// Sends the probes and counts, per probe and per segment, the packets that arrived. Probes the
    /// receiving counters could not tell apart go in separate rounds.
    fn send(&self, probes: &[Probe]) -> Vec<Count> {
        let mut counts: Vec<Option<Count>> = probes.iter().map(|_| None).collect();
        let mut left: Vec<usize> = (0..probes.len()).collect();
        while !left.is_empty() {
            let mut keys = BTreeSet::new();
            let mut round = Vec::new();
            left.retain(|&i| {
                let p = &probes[i];
                let key = (p.count_dst, p.protocol, p.count_dport);
                // An address a segment must own cannot also be one its own probes are sent to.
                let clash = round.iter().any(|&j: &usize| {
                    let q: &Probe = &probes[j];
                    p.owners
                        .get(&q.send_segment)
                        .is_some_and(|a| a.contains(&q.dst))
                        || q.owners
                            .get(&p.send_segment)
                            .is_some_and(|a| a.contains(&p.dst))
                });
                if !clash && keys.insert(key) {
                    round.push(i);
                    false
                } else {
                    true
                }
            });
            let got = self.send_round(probes, &round);
            for (i, c) in round.into_iter().zip(got) {
                counts[i] = Some(c);
            }
        }
        counts.into_iter().map(Option::unwrap).collect()
    }

    fn send_round(&self, probes: &[Probe], round: &[usize]) -> Vec<Count> {
        // Receivers own their addresses.
        let mut added: Vec<(String, IpAddr)> = Vec::new();
        for &i in round {
            for (seg, addrs) in &probes[i].owners {
                for a in addrs {
                    let base = self.base.get(seg).is_some_and(|b| b.contains(a));
                    if !base && !added.iter().any(|(s, b)| s == seg && b == a) {
                        added.push((seg.clone(), *a));
                    }
                }
            }
        }
        self.addresses(&added, "add");
        // A counter per probe on every segment.
        let mut rules = String::new();
        for &i in round {
            let p = &probes[i];
            let daddr = match p.count_dst {
                IpAddr::V4(_) => "ip daddr",
                IpAddr::V6(_) => "ip6 daddr",
            };
            let dport = match p.count_dport {
                Some(port) if has_ports(p.protocol) => format!(" th dport {port}"),
                _ => String::new(),
            };
            rules.push_str(&format!(
                "    {daddr} {} meta l4proto {}{dport} counter drop comment \"p{i}\"\n",
                p.count_dst, p.protocol
            ));
        }
        let table = format!(
            "table inet probe {{\n  chain pre {{\n    type filter hook prerouting priority -300; policy accept;\n{rules}  }}\n}}\n"
        );
        for ns in self.segments.values() {
            run_stdin(&["ip", "netns", "exec", ns, "nft", "-f", "-"], &table);
        }
        // Send, per sending segment.
        let mut by_segment: BTreeMap<&str, String> = BTreeMap::new();
        for &i in round {
            let p = &probes[i];
            let fam = if p.src.is_ipv4() { 4 } else { 6 };
            by_segment
                .entry(&p.send_segment)
                .or_default()
                .push_str(&format!(
                    "{} {fam} {} {} {} {} {}\n",
                    p.to_mac, p.protocol, p.src, p.dst, p.sport, p.dport
                ));
        }
        for (seg, lines) in &by_segment {
            let ns = &self.segments[*seg];
            run_stdin(&["ip", "netns", "exec", ns, "python3", "-c", SENDER], lines);
        }
        // Wait for what must arrive (the device may first resolve the next hop), and a while for what must not.
        let start = Instant::now();
        let mut counts;
        loop {
            std::thread::sleep(Duration::from_millis(100));
            counts = self.read_counters(probes, round);
            let done = round
                .iter()
                .zip(&counts)
                .all(|(&i, c)| probes[i].expect_segment.is_none() || c.expected > 0);
            let waited = start.elapsed();
            if (done && waited >= Duration::from_millis(300)) || waited >= Duration::from_secs(2) {
                break;
            }
        }
        for ns in self.segments.values() {
            ip_exec(ns, "nft delete table inet probe");
        }
        self.addresses(&added, "del");
        counts
    }

    /// Adds or deletes host addresses on the segments' bridges, one `ip` per segment.
    fn addresses(&self, addrs: &[(String, IpAddr)], op: &str) {
        let mut by_segment: BTreeMap<&str, String> = BTreeMap::new();
        for (seg, a) in addrs {
            let nodad = if a.is_ipv6() && op == "add" {
                " nodad"
            } else {
                ""
            };
            by_segment
                .entry(seg)
                .or_default()
                .push_str(&format!("addr {op} {} dev br0{nodad}\n", host_cidr(*a)));
        }
        for (seg, lines) in by_segment {
            run_stdin(&["ip", "-n", &self.segments[seg], "-batch", "-"], &lines);
        }
    }

    fn read_counters(&self, probes: &[Probe], round: &[usize]) -> Vec<Count> {
        let mut counts: Vec<Count> = round.iter().map(|_| Count::default()).collect();
        for (seg, ns) in &self.segments {
            let json = ip_exec(ns, "nft -j list table inet probe");
            let json: serde_json::Value = serde_json::from_str(&json).unwrap();
            for item in json["nftables"].as_array().unwrap() {
                let Some(rule) = item.get("rule") else {
                    continue;
                };
                let Some(i) = rule["comment"]
                    .as_str()
                    .and_then(|c| c.strip_prefix('p'))
                    .and_then(|c| c.parse::<usize>().ok())
                else {
                    continue;
                };
                let packets = rule["expr"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find_map(|e| e.get("counter"))
                    .and_then(|c| c["packets"].as_u64())
                    .unwrap();
                let slot = round.iter().position(|&r| r == i).unwrap();
                if packets > 0 {
                    counts[slot].by_segment.insert(seg.clone(), packets);
                }
                if probes[i].expect_segment.as_deref() == Some(seg.as_str()) {
                    counts[slot].expected = packets;
                }
            }
        }
        counts
    }
}

/// What a packet must do.
#[derive(Clone, Copy)]
enum Expect {
    /// A counterexample: arrive where the check says.
    Counterexample,
    /// Allowed traffic of an `allowed_only` pair: arrive too.
    Allowed,
    /// A random packet of an isolated pair: arrive nowhere.
    Nothing,
}

/// One packet to send and where to look for it.
#[derive(Clone)]
struct Probe {
    describe: String,
    protocol: u8,
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    /// The segment whose bridge writes the frame, to the MAC of a device interface on it.
    send_segment: String,
    to_mac: String,
    /// Addresses segments must own while it is sent, so the device's next-hop resolution is answered.
    owners: BTreeMap<String, Vec<IpAddr>>,
    /// The packet as it leaves the last device: destination address and port.
    count_dst: IpAddr,
    count_dport: Option<u16>,
    /// The segment it must arrive on, when it must.
    expect_segment: Option<String>,
}

#[derive(Default)]
struct Count {
    /// Packets counted on the expected segment.
    expected: u64,
    /// Packets counted, per segment.
    by_segment: BTreeMap<String, u64>,
}

impl Count {
    fn elsewhere(&self) -> String {
        if self.by_segment.is_empty() {
            "; it arrived on no segment".to_owned()
        } else {
            let seen: Vec<String> = self
                .by_segment
                .iter()
                .map(|(s, n)| format!("{s} ({n})"))
                .collect();
            format!("; counted on {}", seen.join(", "))
        }
    }
}

/// Writes raw frames on `br0`: one packet per stdin line `dst-mac family protocol src dst sport dport`,
/// with correct IP, TCP (a SYN), UDP, ICMP (an echo request) and ICMPv6 checksums; other protocols get
/// their ports in the first four bytes of an otherwise empty header.
const SENDER: &str = r#"
import socket, struct, sys
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind(("br0", 0))
smac = sock.getsockname()[4]
payload = b"mamori-replay"
for line in sys.stdin:
    f = line.split()
    if not f:
        continue
    mac, fam, proto, src, dst, sport, dport = f[0], int(f[1]), int(f[2]), f[3], f[4], int(f[5]), int(f[6])
    af = socket.AF_INET6 if fam == 6 else socket.AF_INET
    sb, db = socket.inet_pton(af, src), socket.inet_pton(af, dst)
    ck = None
    if proto == 6:
        l4 = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
        ck = 16
    elif proto in (17, 136):
        l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
        ck = 6
    elif proto in (1, 58):
        l4 = struct.pack("!BBHHH", 8 if proto == 1 else 128, 0, 0, 0x6d6d, 1) + payload
        ck = 2
    else:
        l4 = struct.pack("!HH", sport, dport) + bytes(16)
    if ck is not None:
        if fam == 6:
            pseudo = sb + db + struct.pack("!I3xB", len(l4), proto)
        else:
            pseudo = sb + db + struct.pack("!xBH", proto, len(l4))
        c = csum((b"" if proto == 1 else pseudo) + l4)
        if proto == 17 and c == 0:
            c = 0xffff
        l4 = l4[:ck] + struct.pack("!H", c) + l4[ck + 2:]
    if fam == 6:
        ip = struct.pack("!IHBB", 6 << 28, len(l4), proto, 64) + sb + db
        et = 0x86dd
    else:
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64, proto, 0, sb, db)
        ip = h[:10] + struct.pack("!H", csum(h)) + h[12:]
        et = 0x0800
    sock.send(bytes.fromhex(mac.replace(":", "")) + smac + struct.pack("!H", et) + ip + l4)
"#;

// ---------------------------------------------------------------------------------------------------------
// Helpers.

/// Runs a command; its failure fails the test with what it printed.
fn run(args: &[&str]) -> String {
    run_stdin(args, "")
}

fn run_stdin(args: &[&str], input: &str) -> String {
    let mut child = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", args.join(" ")));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{} failed ({}): {}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the words of `command` (ids and addresses, which have no spaces).
fn run_words(command: &str) -> String {
    let args: Vec<&str> = command.split_whitespace().collect();
    run(&args)
}

/// Runs `ip -n NS` with the words of `command`.
fn ip(ns: &str, command: &str) -> String {
    let mut args = vec!["ip", "-n", ns];
    args.extend(command.split_whitespace());
    run(&args)
}

/// Runs the words of `command` inside a namespace.
fn ip_exec(ns: &str, command: &str) -> String {
    let mut args = vec!["ip", "netns", "exec", ns];
    args.extend(command.split_whitespace());
    run(&args)
}

/// Kernel settings of a new namespace: no reverse-path filter (the check does not model one), no duplicate
/// address detection, no bridge netfilter (only packets a segment receives are counted), and forwarding in
/// devices.
fn sysctls(ns: &str, device: bool) {
    let mut script = String::from(
        "set -e\n\
         for f in all default; do\n\
           echo 0 > /proc/sys/net/ipv4/conf/$f/rp_filter\n\
           echo 0 > /proc/sys/net/ipv6/conf/$f/accept_dad\n\
         done\n\
         for f in /proc/sys/net/bridge/bridge-nf-call-iptables /proc/sys/net/bridge/bridge-nf-call-ip6tables /proc/sys/net/bridge/bridge-nf-call-arptables; do\n\
           if [ -e $f ]; then echo 0 > $f; fi\n\
         done\n",
    );
    if device {
        script.push_str(
            "echo 1 > /proc/sys/net/ipv4/ip_forward\n\
             echo 1 > /proc/sys/net/ipv6/conf/all/forwarding\n",
        );
    }
    run(&["ip", "netns", "exec", ns, "sh", "-c", &script]);
}

fn host_cidr(a: IpAddr) -> String {
    match a {
        IpAddr::V4(_) => format!("{a}/32"),
        IpAddr::V6(_) => format!("{a}/128"),
    }
}

/// Puts a host address on a segment's bridge.
fn add_addr(ns: &str, a: IpAddr) {
    let cidr = host_cidr(a);
    let mut args = vec!["ip", "-n", ns, "addr", "add", &cidr, "dev", "br0"];
    if a.is_ipv6() {
        args.push("nodad");
    }
    run(&args);
}

fn prefix_len(p: &AddrRange) -> u32 {
    let size = p.last - p.first;
    p.family.bits() - (128 - size.leading_zeros())
}

fn to_addr(family: Family, key: u128) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(std::net::Ipv4Addr::from(u32::try_from(key).unwrap())),
        Family::Ipv6 => IpAddr::V6(std::net::Ipv6Addr::from(key)),
    }
}

fn has_ports(protocol: u8) -> bool {
    matches!(protocol, 6 | 17 | 33 | 132 | 136)
}

/// A small deterministic generator, so a failing probe is sent again on the next run.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift(seed | 1)
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn next_u128(&mut self) -> u128 {
        (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64())
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % (n.max(1) as u64)).unwrap()
    }
}
