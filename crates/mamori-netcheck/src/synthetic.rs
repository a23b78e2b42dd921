//! Generated networks of a given size, for the benchmarks and the scaling tests: a zone map with several
//! boundary routers and, for each, an `iptables-save` ruleset in the shape municipal routers have — a
//! conntrack rule, a forward chain that dispatches by interface pair into user chains, block lists, host
//! rules inside a zone, and the allowed mail path through the relay. Deterministic for a given size and seed.
//!
//! Every generated network is separated apart from its allowed services, so a check of it must prove every
//! pair: no early exit on a first violation makes it cheaper.

use std::fmt::Write as _;

/// A generated network: the zone map's text and each device's configuration, named as the map names them.
pub struct Network {
    pub zones: String,
    pub configs: Vec<(String, String)>,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The zones and the third octet base of their segments: zone `z` of device `d` is `10.Z.d.0/24`.
const ZONES: [(&str, &str, u8, &str); 3] = [
    ("my_number", "マイナンバー利用事務系", 10, "mn"),
    ("lgwan", "LGWAN接続系", 20, "lg"),
    ("internet", "インターネット接続系", 30, "in"),
];

/// A network of `devices` routers with about `rules` rules in all.
pub fn network(devices: usize, rules: usize, seed: u64) -> Network {
    let devices = devices.clamp(1, 200);
    let mut rng = Rng(seed | 1);
    let mut zones = String::new();
    for (id, name, _, _) in ZONES {
        let _ = writeln!(zones, "[[zone]]\nid = \"{id}\"\nname = \"{name}\"\n");
    }
    let _ = writeln!(
        zones,
        "[[zone]]\nid = \"sanitiser\"\nname = \"無害化中継\"\n"
    );
    for d in 0..devices {
        for (zone, _, octet, short) in ZONES {
            let _ = writeln!(
                zones,
                "[[segment]]\nid = \"{short}-{d}\"\nzone = \"{zone}\"\nprefixes = [\"10.{octet}.{d}.0/24\"]\n"
            );
        }
    }
    let _ = writeln!(
        zones,
        "[[segment]]\nid = \"relay\"\nzone = \"sanitiser\"\nprefixes = [\"10.40.0.0/24\"]\n"
    );
    let mut configs = Vec::new();
    let per_device = rules / devices;
    for d in 0..devices {
        let config = format!("fw{d}.rules");
        let _ = writeln!(
            zones,
            "[[device]]\nid = \"fw{d}\"\nconfig = \"{config}\"\nformat = \"iptables-save\"\n"
        );
        for (i, (_, _, octet, short)) in ZONES.iter().enumerate() {
            let _ = writeln!(
                zones,
                "  [[device.interface]]\n  name = \"eth{i}\"\n  segment = \"{short}-{d}\"\n  address = \"10.{octet}.{d}.1\"\n"
            );
        }
        let _ = writeln!(
            zones,
            "  [[device.interface]]\n  name = \"eth3\"\n  segment = \"relay\"\n  address = \"10.40.0.{}\"\n",
            d + 1
        );
        configs.push((config, ruleset(d, per_device, &mut rng)));
    }
    let _ = writeln!(
        zones,
        "[[allow]]\nfrom = \"internet\"\nto = \"relay\"\nprotocol = \"tcp\"\nports = [25]\nreason = \"受信メールを無害化中継へ\"\n"
    );
    let _ = writeln!(
        zones,
        "[[allow]]\nfrom = \"relay\"\nto = \"lgwan\"\nprotocol = \"tcp\"\nports = [25]\nreason = \"無害化したメールを LGWAN へ\"\n"
    );
    Network { zones, configs }
}

/// One router's rules: `rules` of them, over its interfaces eth0 (my_number), eth1 (lgwan), eth2
/// (internet) and eth3 (relay).
fn ruleset(d: usize, rules: usize, rng: &mut Rng) -> String {
    let mut out =
        String::from("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n");
    // One user chain per ordered interface pair that may carry anything, and a block list.
    let pairs: [(usize, usize, &str); 5] = [
        (0, 0, "MN-LOCAL"),
        (1, 1, "LG-LOCAL"),
        (2, 2, "IN-LOCAL"),
        (2, 3, "IN-RELAY"),
        (3, 1, "RELAY-LG"),
    ];
    for (_, _, chain) in pairs {
        let _ = writeln!(out, ":{chain} - [0:0]");
    }
    out.push_str(":BLOCK - [0:0]\n");
    out.push_str("-A INPUT -i lo -j ACCEPT\n");
    out.push_str("-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n");
    out.push_str("-A OUTPUT -o lo -j ACCEPT\n");
    out.push_str("-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n");
    out.push_str("-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n");
    out.push_str("-A FORWARD -m conntrack --ctstate INVALID -j DROP\n");
    out.push_str("-A FORWARD -j BLOCK\n");
    for (i, o, chain) in pairs {
        let _ = writeln!(out, "-A FORWARD -i eth{i} -o eth{o} -j {chain}");
    }
    let octet = |iface: usize| match iface {
        0 => 10,
        1 => 20,
        2 => 30,
        _ => 40,
    };
    let host = |iface: usize, rng: &mut Rng| {
        if iface == 3 {
            format!("10.40.0.{}", 20 + rng.below(200))
        } else {
            format!("10.{}.{d}.{}", octet(iface), 2 + rng.below(250))
        }
    };
    let ports = [
        22u16, 25, 53, 80, 110, 123, 143, 389, 443, 445, 636, 993, 1433, 3306, 3389, 5432, 8080,
        8443,
    ];
    for n in 0..rules.saturating_sub(14) {
        let kind = rng.below(10);
        let port = ports[usize::try_from(rng.below(ports.len() as u64)).unwrap_or(0)];
        if kind < 3 {
            // A block list entry: an address or prefix from anywhere, in or out.
            let a = rng.below(256);
            let b = rng.below(256);
            let len = [32, 24, 16][usize::try_from(rng.below(3)).unwrap_or(0)];
            let dir = if rng.below(2) == 0 { "-s" } else { "-d" };
            let _ = writeln!(
                out,
                "-A BLOCK {dir} {a}.{b}.{}.0/{len} -j DROP",
                rng.below(256)
            );
            continue;
        }
        let (i, o, chain) = pairs[usize::try_from(rng.below(pairs.len() as u64)).unwrap_or(0)];
        let proto = if rng.below(4) == 0 { "udp" } else { "tcp" };
        let action = if rng.below(5) == 0 { "DROP" } else { "ACCEPT" };
        match chain {
            "IN-RELAY" => {
                // From anywhere on the internet side to the relay host, mail only.
                let _ = writeln!(
                    out,
                    "-A {chain} -s {}.{}.0.0/16 -d 10.40.0.25/32 -p tcp -m tcp --dport 25 -j {action}",
                    1 + rng.below(200),
                    rng.below(256)
                );
            }
            "RELAY-LG" => {
                let _ = writeln!(
                    out,
                    "-A {chain} -s 10.40.0.25/32 -d {} -p tcp -m tcp --dport 25 -j {action}",
                    host(o, rng)
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "-A {chain} -s {} -d {} -p {proto} -m {proto} --dport {port} -m comment --comment \"rule {n}\" -j {action}",
                    host(i, rng),
                    host(o, rng)
                );
            }
        }
    }
    out.push_str("COMMIT\n");
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::analysis::{Verdict, check};
    use crate::load::read_devices;
    use crate::zones::parse_zone_map;

    #[test]
    fn a_generated_network_parses_and_is_proved_separated() {
        let net = network(3, 600, 7);
        let map = parse_zone_map(&net.zones, "zones.toml").unwrap();
        let inputs = read_devices(&map, &mut |name| {
            net.configs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t.clone())
                .ok_or_else(|| "missing".to_owned())
        })
        .unwrap();
        let rules: usize = inputs
            .iter()
            .flat_map(|i| i.rulesets.iter())
            .flat_map(|r| r.tables.iter())
            .flat_map(|t| t.chains.iter())
            .map(|c| c.rules.len())
            .sum();
        assert!((550..=620).contains(&rules), "{rules}");
        let report = check(&map, &inputs).unwrap();
        assert!(report.warnings.is_empty());
        assert!(!report.has_violation());
        let verdict = |from: &str, to: &str| {
            report
                .pairs
                .iter()
                .find(|p| p.from == from && p.to == to)
                .unwrap()
                .verdict
        };
        assert_eq!(verdict("internet", "sanitiser"), Verdict::AllowedOnly);
        assert_eq!(verdict("sanitiser", "lgwan"), Verdict::AllowedOnly);
        assert_eq!(verdict("internet", "lgwan"), Verdict::Isolated);
    }
}
