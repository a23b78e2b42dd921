//! Chain and hook verdicts as packet sets: small chains read by the parsers with their verdicts checked
//! packet by packet, witnesses, the size of range diagrams, and a property test comparing the diagrams with a
//! direct first-match interpreter over random rule lists and packets (with and without unknown tests).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use mamori_netcheck::iptables::{IpSets, parse_iptables_save};
use mamori_netcheck::ir::{
    Action, AddrRange, BaseChain, Chain, ChainType, CtState, Family, Hook, Iface, Match, Origin,
    Policy, PortRange, Rule, Ruleset, Table, TableFamily, Test,
};
use mamori_netcheck::nft::parse_nft_json;
use mamori_netcheck::space::{Packet, Space, interface_names};
use mamori_netcheck::verdict::{Approx, ChainVerdict, VerdictError, chain_verdict, hook_verdict};

// ----------------------------------------------------------------------------------------------------------
// helpers

fn parse(text: &str) -> Ruleset {
    parse_iptables_save(text, "t.rules", Family::Ipv4, &IpSets::new()).unwrap()
}

fn filter(r: &Ruleset) -> &Table {
    r.tables.iter().find(|t| t.name == "filter").unwrap()
}

fn ip(text: &str) -> u128 {
    AddrRange::parse(text).unwrap().first
}

fn space_for(r: &Ruleset) -> Space {
    let mut names = interface_names(std::slice::from_ref(r));
    names.extend(["eth0", "eth1", "eth2", "eth3"].map(String::from));
    Space::new(&names)
}

fn tcp(src: &str, sport: u16, dst: &str, dport: u16) -> Packet {
    Packet {
        family: Family::Ipv4,
        src: ip(src),
        dst: ip(dst),
        protocol: 6,
        sport,
        dport,
        ct_state: CtState::New,
        iif: Some("eth0".into()),
        oif: Some("eth1".into()),
    }
}

/// `accept` and `drop` partition the valid space.
fn assert_partition(space: &Space, v: &ChainVerdict) {
    assert!(v.accept.and(&v.drop).is_false(), "accept ∧ drop ≠ ∅");
    assert!(
        v.accept.or(&v.drop).xor(space.valid()).is_false(),
        "accept ∨ drop ≠ valid"
    );
}

fn verdict(space: &Space, r: &Ruleset, chain: &str) -> ChainVerdict {
    let v = chain_verdict(space, filter(r), chain, Approx::Permit).unwrap();
    assert_partition(space, &v);
    // Without unknowns both readings agree.
    let d = chain_verdict(space, filter(r), chain, Approx::Deny).unwrap();
    assert!(v.accept.xor(&d.accept).is_false());
    v
}

fn accepts(space: &Space, v: &ChainVerdict, p: &Packet) -> bool {
    let a = space.contains(&v.accept, p);
    assert_eq!(a, !space.contains(&v.drop, p), "{p}");
    a
}

// ----------------------------------------------------------------------------------------------------------
// chains read from iptables-save

#[test]
fn a_drop_policy_with_one_accept_accepts_exactly_that_rule() {
    let r = parse(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A FORWARD -s 10.30.0.0/16 -d 10.20.1.1/32 -p tcp -m tcp --dport 25 -j ACCEPT\nCOMMIT\n",
    );
    let space = space_for(&r);
    let v = verdict(&space, &r, "FORWARD");
    assert!(accepts(
        &space,
        &v,
        &tcp("10.30.0.5", 40000, "10.20.1.1", 25)
    ));
    assert!(!accepts(
        &space,
        &v,
        &tcp("10.30.0.5", 40000, "10.20.1.1", 26)
    ));
    assert!(!accepts(
        &space,
        &v,
        &tcp("10.31.0.5", 40000, "10.20.1.1", 25)
    ));
    let mut udp = tcp("10.30.0.5", 40000, "10.20.1.1", 25);
    udp.protocol = 17;
    assert!(!accepts(&space, &v, &udp));
    assert_eq!(v.accepted_by.len(), 1);
    assert_eq!(v.accepted_by[0].0.line, 5);
    assert!(v.accepted_by[0].1.xor(&v.accept).is_false());
    assert!(v.approximated.is_empty());

    let input = verdict(&space, &r, "INPUT");
    assert!(input.accept.xor(space.valid()).is_false());
}

#[test]
fn a_negated_match_is_the_complement() {
    let r = parse(
        "*filter\n:FORWARD DROP [0:0]\n\
         -A FORWARD ! -s 10.0.0.0/8 -j DROP\n-A FORWARD ! -i eth0 -j DROP\n-A FORWARD -j ACCEPT\nCOMMIT\n",
    );
    let space = space_for(&r);
    let v = verdict(&space, &r, "FORWARD");
    assert!(accepts(&space, &v, &tcp("10.1.2.3", 1, "192.0.2.1", 80)));
    assert!(!accepts(&space, &v, &tcp("192.168.1.1", 1, "10.0.0.1", 80)));
    let mut other_if = tcp("10.1.2.3", 1, "192.0.2.1", 80);
    other_if.iif = Some("eth2".into());
    assert!(!accepts(&space, &v, &other_if));
}

#[test]
fn what_a_jumped_chain_returns_goes_on_after_the_jump() {
    let r = parse(
        "*filter\n:FORWARD DROP [0:0]\n:check - [0:0]\n\
         -A FORWARD -j check\n\
         -A FORWARD -s 10.1.0.0/16 -j ACCEPT\n\
         -A check -d 10.20.0.0/16 -j RETURN\n\
         -A check -p tcp -m tcp --dport 22 -j DROP\n\
         -A check -s 10.2.0.0/16 -j ACCEPT\nCOMMIT\n",
    );
    let space = space_for(&r);
    let v = verdict(&space, &r, "FORWARD");
    // accepted inside check
    assert!(accepts(&space, &v, &tcp("10.2.0.1", 1, "10.3.0.1", 80)));
    // dropped inside check
    assert!(!accepts(&space, &v, &tcp("10.2.0.1", 1, "10.3.0.1", 22)));
    assert!(!accepts(&space, &v, &tcp("10.1.0.1", 1, "10.3.0.1", 22)));
    // returned explicitly, then accepted after the jump
    assert!(accepts(&space, &v, &tcp("10.1.0.1", 1, "10.20.0.1", 22)));
    // returned explicitly, then the policy
    assert!(!accepts(&space, &v, &tcp("10.5.0.1", 1, "10.20.0.1", 80)));
    // fell off check's end, then accepted after the jump
    assert!(accepts(&space, &v, &tcp("10.1.0.1", 1, "10.3.0.1", 80)));
    let lines: Vec<usize> = v.accepted_by.iter().map(|(o, _)| o.line).collect();
    assert_eq!(lines, vec![8, 5]);
}

#[test]
fn what_a_goto_target_returns_goes_back_to_the_callers_caller() {
    let r = parse(
        "*filter\n:FORWARD DROP [0:0]\n:sub - [0:0]\n\
         -A FORWARD -s 10.1.0.0/16 -g sub\n\
         -A FORWARD -j ACCEPT\n\
         -A sub -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n",
    );
    let space = space_for(&r);
    let v = verdict(&space, &r, "FORWARD");
    assert!(accepts(&space, &v, &tcp("10.1.0.1", 1, "10.3.0.1", 22)));
    // returns from sub go to FORWARD's policy, not to the accept after the goto
    assert!(!accepts(&space, &v, &tcp("10.1.0.1", 1, "10.3.0.1", 80)));
    assert!(accepts(&space, &v, &tcp("10.9.0.1", 1, "10.3.0.1", 80)));

    // the same with -j accepts it
    let j = parse(
        "*filter\n:FORWARD DROP [0:0]\n:sub - [0:0]\n\
         -A FORWARD -s 10.1.0.0/16 -j sub\n\
         -A FORWARD -j ACCEPT\n\
         -A sub -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n",
    );
    let vj = verdict(&space, &j, "FORWARD");
    assert!(accepts(&space, &vj, &tcp("10.1.0.1", 1, "10.3.0.1", 80)));
}

#[test]
fn nested_jumps_and_a_return_in_the_base_chain() {
    let r = parse(
        "*filter\n:FORWARD ACCEPT [0:0]\n:a - [0:0]\n:b - [0:0]\n\
         -A FORWARD -j a\n\
         -A FORWARD -d 10.99.0.0/16 -j RETURN\n\
         -A FORWARD -j DROP\n\
         -A a -s 10.1.0.0/16 -j b\n\
         -A a -p udp -j DROP\n\
         -A a -s 10.1.0.0/16 -j ACCEPT\n\
         -A b -p tcp -m tcp --dport 443 -j ACCEPT\n\
         -A b -p tcp -m tcp --dport 22 -j RETURN\n\
         -A b -j DROP\nCOMMIT\n",
    );
    let space = space_for(&r);
    let v = verdict(&space, &r, "FORWARD");
    // accepted two levels down
    assert!(accepts(&space, &v, &tcp("10.1.0.1", 1, "10.3.0.1", 443)));
    // returned from b, accepted in a
    assert!(accepts(&space, &v, &tcp("10.1.0.1", 1, "10.3.0.1", 22)));
    // dropped in b
    assert!(!accepts(&space, &v, &tcp("10.1.0.1", 1, "10.3.0.1", 80)));
    // not for a: a RETURN in the base chain is its policy, accept
    assert!(accepts(&space, &v, &tcp("10.2.0.1", 1, "10.99.0.1", 80)));
    assert!(!accepts(&space, &v, &tcp("10.2.0.1", 1, "10.98.0.1", 80)));
    let lines: Vec<usize> = v.accepted_by.iter().map(|(o, _)| o.line).collect();
    // b's accept, a's accept, then FORWARD's policy (the chain's origin)
    assert_eq!(lines.len(), 3);
    assert_eq!(&lines[..2], &[11, 10]);
}

#[test]
fn a_loop_between_chains_is_an_error_naming_them() {
    let r = parse(
        "*filter\n:FORWARD DROP [0:0]\n:a - [0:0]\n:b - [0:0]\n\
         -A FORWARD -j a\n-A a -s 10.0.0.0/8 -j b\n-A b -j a\nCOMMIT\n",
    );
    let space = space_for(&r);
    let e = chain_verdict(&space, filter(&r), "FORWARD", Approx::Permit).unwrap_err();
    assert_eq!(
        e,
        VerdictError::Loop {
            table: "filter".into(),
            chains: vec!["a".into(), "b".into(), "a".into()],
        }
    );
    assert!(e.to_string().contains("a → b → a"));
}

#[test]
fn a_missing_target_or_chain_is_an_error() {
    let mut r = parse("*filter\n:FORWARD DROP [0:0]\n:gone - [0:0]\n-A FORWARD -j gone\nCOMMIT\n");
    let space = space_for(&r);
    r.tables[0].chains.retain(|c| c.name != "gone");
    let e = chain_verdict(&space, filter(&r), "FORWARD", Approx::Permit).unwrap_err();
    assert!(matches!(e, VerdictError::MissingTarget { ref target, .. } if target == "gone"));
    assert!(matches!(
        chain_verdict(&space, filter(&r), "nope", Approx::Permit),
        Err(VerdictError::NoSuchChain { .. })
    ));
    let u = parse("*filter\n:FORWARD DROP [0:0]\n:user - [0:0]\nCOMMIT\n");
    assert!(matches!(
        chain_verdict(&space, filter(&u), "user", Approx::Permit),
        Err(VerdictError::NotABaseChain { .. })
    ));
}

#[test]
fn nat_targets_end_the_filter_view_like_an_accept() {
    let r = parse(
        "*nat\n:PREROUTING ACCEPT [0:0]\n\
         -A PREROUTING -d 192.0.2.1/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.5\n\
         COMMIT\n",
    );
    let space = space_for(&r);
    let nat = r.tables.iter().find(|t| t.name == "nat").unwrap();
    let v = chain_verdict(&space, nat, "PREROUTING", Approx::Permit).unwrap();
    assert_partition(&space, &v);
    assert!(accepts(&space, &v, &tcp("10.1.0.1", 1, "192.0.2.1", 80)));
    assert_eq!(v.accepted_by[0].0.line, 3);
}

// ----------------------------------------------------------------------------------------------------------
// hooks

const TWO_BASE_CHAINS: &str = r#"{"nftables": [
{"metainfo": {"version": "1.0.9", "json_schema_version": 1}},
{"table": {"family": "inet", "name": "zones", "handle": 1}},
{"chain": {"family": "inet", "table": "zones", "name": "late", "handle": 2, "type": "filter", "hook": "forward", "prio": 10, "policy": "accept"}},
{"chain": {"family": "inet", "table": "zones", "name": "early", "handle": 1, "type": "filter", "hook": "forward", "prio": -10, "policy": "accept"}},
{"rule": {"family": "inet", "table": "zones", "chain": "early", "handle": 3, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.20.0.0", "len": 16}}}}, {"accept": null}]}},
{"rule": {"family": "inet", "table": "zones", "chain": "late", "handle": 4, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.10.0.0", "len": 16}}}}, {"drop": null}]}}
]}
"#;

#[test]
fn an_accept_ends_only_its_own_base_chain_and_a_later_drop_is_final() {
    let r = parse_nft_json(TWO_BASE_CHAINS, "t.json").unwrap();
    let space = space_for(&r);
    let rs = [r];
    let v = hook_verdict(&space, &rs, Family::Ipv4, Hook::Forward, Approx::Permit).unwrap();
    let v4 = space.valid().and(&space.family(Family::Ipv4));
    assert!(v.accept.and(&v.drop).is_false());
    assert!(v.accept.or(&v.drop).xor(&v4).is_false());
    // accepted by early, dropped by late
    assert!(!accepts(&space, &v, &tcp("10.20.0.1", 1, "10.10.0.1", 80)));
    assert!(accepts(&space, &v, &tcp("10.20.0.1", 1, "10.30.0.1", 80)));
    // early alone accepts it
    let early = chain_verdict(&space, &rs[0].tables[0], "early", Approx::Permit).unwrap();
    assert!(accepts(
        &space,
        &early,
        &tcp("10.20.0.1", 1, "10.10.0.1", 80)
    ));
    // both rules' contributions are listed where the hook accepts: early's rule, and each policy
    assert!(v.accepted_by.iter().any(|(o, _)| o.handle == Some(3)));

    // an ip6 hook over the same inet table: no IPv4 rule matches, both policies accept
    let v6 = hook_verdict(&space, &rs, Family::Ipv6, Hook::Forward, Approx::Permit).unwrap();
    assert!(
        v6.accept
            .xor(&space.valid().and(&space.family(Family::Ipv6)))
            .is_false()
    );
    // no base chain on the hook: everything of the family passes
    let none = hook_verdict(&space, &rs, Family::Ipv4, Hook::Input, Approx::Permit).unwrap();
    assert!(none.accept.xor(&v4).is_false());
}

// ----------------------------------------------------------------------------------------------------------
// witnesses and sizes

#[test]
fn packets_print_readably() {
    let mut p = tcp("10.30.0.5", 40000, "10.20.1.1", 25);
    p.iif = Some("eth3".into());
    p.oif = Some("eth2".into());
    assert_eq!(
        p.to_string(),
        "tcp 10.30.0.5:40000 → 10.20.1.1:25 in eth3 out eth2 state new"
    );
    let icmp6 = Packet {
        family: Family::Ipv6,
        src: ip("2001:db8::1"),
        dst: ip("2001:db8::2"),
        protocol: 58,
        sport: 0,
        dport: 0,
        ct_state: CtState::Established,
        iif: None,
        oif: Some("eth0".into()),
    };
    assert_eq!(
        icmp6.to_string(),
        "ipv6-icmp 2001:db8::1 → 2001:db8::2 in (other) out eth0 state established"
    );
    let mut udp6 = icmp6.clone();
    udp6.protocol = 17;
    udp6.sport = 53;
    udp6.dport = 5353;
    assert!(
        udp6.to_string()
            .starts_with("udp [2001:db8::1]:53 → [2001:db8::2]:5353")
    );
}

#[test]
fn witnesses_land_inside_the_accepted_set() {
    let r = parse(
        "*filter\n:FORWARD DROP [0:0]\n\
         -A FORWARD -i eth3 -o eth2 -s 10.30.0.0/16 -d 10.20.1.1/32 -p tcp -m tcp --sport 40000:40010 --dport 25 -m conntrack --ctstate NEW -j ACCEPT\n\
         COMMIT\n",
    );
    let space = space_for(&r);
    let v = verdict(&space, &r, "FORWARD");
    let w = space.witness(&v.accept).unwrap();
    assert!(space.contains(&v.accept, &w));
    let text = w.to_string();
    assert!(text.starts_with("tcp 10.30."), "{text}");
    assert!(
        text.contains(" → 10.20.1.1:25 in eth3 out eth2 state new"),
        "{text}"
    );
    assert!((40000..=40010).contains(&w.sport));
    let d = space.witness(&v.drop).unwrap();
    assert!(space.contains(&v.drop, &d) && !space.contains(&v.accept, &d));
    assert!(space.witness(&space.none()).is_none());
    // a witness is always valid: an IPv4 one has no high address bits
    let w4 = space.witness(&space.family(Family::Ipv4)).unwrap();
    assert!(w4.src <= u128::from(u32::MAX) && w4.dst <= u128::from(u32::MAX));
}

#[test]
fn range_diagrams_take_a_bounded_number_of_nodes_per_bit() {
    let space = Space::new(&[]);
    let mut rng = Rng(7);
    for _ in 0..200 {
        let a = rng.below(65536) as u16;
        let b = rng.below(65536) as u16;
        let range = PortRange {
            first: a.min(b),
            last: a.max(b),
        };
        let bdd = space.port_range(true, range);
        assert!(bdd.size() <= 2 * 16 + 2, "{range:?}: {}", bdd.size());
        // and it is the range
        for port in [
            range.first,
            range.last,
            range.first.wrapping_sub(1),
            range.last.wrapping_add(1),
        ] {
            let mut p = tcp("10.0.0.1", 1, "10.0.0.2", port);
            p.iif = None;
            p.oif = None;
            let inside = range.first <= port && port <= range.last;
            assert_eq!(space.contains(&bdd, &p), inside, "{range:?} {port}");
        }
        let first = (u128::from(rng.next()) << 64) | u128::from(rng.next());
        let last = first.saturating_add(u128::from(rng.next()) << rng.below(64));
        let v6 = space.addr_range(
            false,
            AddrRange {
                family: Family::Ipv6,
                first,
                last,
            },
        );
        assert!(v6.size() <= 2 * 128 + 3, "{}", v6.size());
        let base = rng.next() as u32;
        let len = rng.below(33) as u32;
        let v4 = space.addr_range(
            true,
            AddrRange::prefix(Family::Ipv4, u128::from(base), len).unwrap(),
        );
        // the prefix path plus the high bits of both addresses being zero
        assert!(v4.size() <= 1 + 96 + 96 + 32 + 2, "{}", v4.size());
    }
}

// ----------------------------------------------------------------------------------------------------------
// property test: the diagrams against a direct interpreter

/// xorshift64*: small, deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const NAMES: [&str; 3] = ["eth0", "eth1", "wlan0"];
/// Address bases the rules and packets share, so that they meet.
const BASES: [u32; 4] = [0x0a00_0000, 0x0a14_0000, 0x0a14_0100, 0xc0a8_0000];
const STATES: [CtState; 5] = [
    CtState::New,
    CtState::Established,
    CtState::Related,
    CtState::Invalid,
    CtState::Untracked,
];

fn random_test(rng: &mut Rng, unknowns: bool) -> Test {
    match rng.below(if unknowns { 8 } else { 7 }) {
        0 | 1 => {
            let ranges = (0..1 + rng.below(2))
                .map(|_| {
                    let base = *rng.pick(&BASES) | (rng.next() as u32 & 0x1ff);
                    let len = 8 + rng.below(25) as u32;
                    AddrRange::prefix(Family::Ipv4, u128::from(base), len).unwrap()
                })
                .collect();
            Test::Addr {
                dst: rng.chance(50),
                ranges,
            }
        }
        2 => Test::Protocol {
            numbers: (0..1 + rng.below(2))
                .map(|_| *rng.pick(&[1u8, 6, 17]))
                .collect(),
        },
        3 => Test::Port {
            dst: rng.chance(50),
            ranges: (0..1 + rng.below(2))
                .map(|_| {
                    let a = rng.below(100) as u16;
                    PortRange {
                        first: a,
                        last: a + rng.below(30) as u16,
                    }
                })
                .collect(),
        },
        4 => Test::CtState {
            states: (0..1 + rng.below(3)).map(|_| *rng.pick(&STATES)).collect(),
        },
        5 => Test::Iface {
            out: rng.chance(50),
            names: (0..1 + rng.below(2))
                .map(|_| {
                    let (name, wildcard) = *rng.pick(&[
                        ("eth0", false),
                        ("eth1", false),
                        ("eth9", false),
                        ("wlan0", false),
                        ("eth", true),
                        ("wl", true),
                        ("x", true),
                    ]);
                    Iface {
                        name: name.into(),
                        wildcard,
                    }
                })
                .collect(),
        },
        6 => Test::Family {
            family: if rng.chance(70) {
                Family::Ipv4
            } else {
                Family::Ipv6
            },
        },
        _ => Test::Unknown {
            what: "-m time".into(),
        },
    }
}

fn random_rules(rng: &mut Rng, n: u64, user: bool, unknowns: bool, line: &mut usize) -> Vec<Rule> {
    (0..n)
        .map(|_| {
            let matches = (0..rng.below(4))
                .map(|_| Match {
                    negated: rng.chance(25),
                    test: random_test(rng, unknowns),
                })
                .collect();
            let action = match rng.below(if unknowns { 11 } else { 10 }) {
                0 | 1 => Action::Accept,
                2 => Action::Drop,
                3 => Action::Reject,
                4 => Action::Continue,
                5 => Action::Return,
                6 | 7 if !user => Action::Jump {
                    chain: "sub".into(),
                },
                8 if !user => Action::Goto {
                    chain: "sub".into(),
                },
                9 => Action::Dnat {
                    to: None,
                    ports: Some(PortRange::single(8080)),
                },
                10 => Action::Unknown {
                    what: "NFQUEUE".into(),
                },
                _ => Action::Drop,
            };
            *line += 1;
            Rule {
                matches,
                action,
                origin: Origin {
                    file: Arc::from("p.rules"),
                    line: *line,
                    handle: None,
                },
                text: String::new(),
            }
        })
        .collect()
}

fn random_table(rng: &mut Rng, unknowns: bool) -> Table {
    let mut line = 0;
    let origin = Origin {
        file: Arc::from("p.rules"),
        line: 0,
        handle: None,
    };
    let main_n = 1 + rng.below(10);
    let sub_n = rng.below(6);
    let main = Chain {
        name: "main".into(),
        base: Some(BaseChain {
            hook: Hook::Forward,
            chain_type: ChainType::Filter,
            priority: 0,
            policy: if rng.chance(50) {
                Policy::Accept
            } else {
                Policy::Drop
            },
        }),
        rules: random_rules(rng, main_n, false, unknowns, &mut line),
        origin: origin.clone(),
    };
    let sub = Chain {
        name: "sub".into(),
        base: None,
        rules: random_rules(rng, sub_n, true, unknowns, &mut line),
        origin,
    };
    Table {
        family: TableFamily::Inet,
        name: "t".into(),
        chains: vec![main, sub],
    }
}

fn random_packet(rng: &mut Rng) -> Packet {
    let family = if rng.chance(85) {
        Family::Ipv4
    } else {
        Family::Ipv6
    };
    let addr = |rng: &mut Rng| match family {
        Family::Ipv4 => {
            let noise = if rng.chance(50) { 0x1ff } else { 0xffff };
            u128::from(*rng.pick(&BASES) | (rng.next() as u32 & noise))
        }
        Family::Ipv6 => (u128::from(rng.next()) << 64) | u128::from(rng.next()),
    };
    let src = addr(rng);
    let dst = addr(rng);
    let port = |rng: &mut Rng| {
        if rng.chance(90) {
            rng.below(140) as u16
        } else {
            rng.next() as u16
        }
    };
    let sport = port(rng);
    let dport = port(rng);
    Packet {
        family,
        src,
        dst,
        protocol: if rng.chance(90) {
            *rng.pick(&[1u8, 6, 17])
        } else {
            rng.next() as u8
        },
        sport,
        dport,
        ct_state: *rng.pick(&STATES),
        iif: Some((*rng.pick(&NAMES)).into()),
        oif: Some((*rng.pick(&NAMES)).into()),
    }
}

/// How the interpreter resolves what the model does not know.
#[derive(Clone, Copy)]
struct Resolve {
    unknown_test: bool,
    unknown_action: Outcome,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Outcome {
    Accept,
    Drop,
    /// Falls through (as a return at a chain's end, or "continue" for an unknown action).
    Return,
}

fn test_holds(t: &Test, p: &Packet, r: Resolve) -> bool {
    match t {
        Test::Family { family } => p.family == *family,
        Test::Addr { dst, ranges } => {
            let a = if *dst { p.dst } else { p.src };
            ranges.iter().any(|x| x.contains(p.family, a))
        }
        Test::Protocol { numbers } => numbers.contains(&p.protocol),
        Test::Port { dst, ranges } => {
            let port = if *dst { p.dport } else { p.sport };
            ranges.iter().any(|x| x.first <= port && port <= x.last)
        }
        Test::CtState { states } => states.contains(&p.ct_state),
        Test::Iface { out, names } => {
            let name = if *out { &p.oif } else { &p.iif };
            let name = name.as_deref().unwrap();
            names.iter().any(|i| i.matches(name))
        }
        Test::Unknown { .. } | Test::Local { .. } => r.unknown_test,
    }
}

fn rule_holds(rule: &Rule, p: &Packet, r: Resolve) -> bool {
    rule.matches
        .iter()
        .all(|m| test_holds(&m.test, p, r) != m.negated)
}

fn run(table: &Table, chain: &str, p: &Packet, r: Resolve) -> Outcome {
    let chain = table.chain(chain).unwrap();
    for rule in &chain.rules {
        if !rule_holds(rule, p, r) {
            continue;
        }
        match &rule.action {
            Action::Accept | Action::Dnat { .. } | Action::Redirect { .. } | Action::Snat => {
                return Outcome::Accept;
            }
            Action::Drop | Action::Reject => return Outcome::Drop,
            Action::Continue => {}
            Action::Return => return Outcome::Return,
            Action::Jump { chain } => match run(table, chain, p, r) {
                Outcome::Return => {}
                decided => return decided,
            },
            Action::Goto { chain } => return run(table, chain, p, r),
            Action::Unknown { .. } => match r.unknown_action {
                Outcome::Return => {}
                decided => return decided,
            },
        }
    }
    Outcome::Return
}

fn interpret(table: &Table, p: &Packet, r: Resolve) -> bool {
    match run(table, "main", p, r) {
        Outcome::Accept => true,
        Outcome::Drop => false,
        Outcome::Return => table.chain("main").unwrap().base.unwrap().policy == Policy::Accept,
    }
}

fn property_space() -> Space {
    Space::new(&NAMES.map(String::from))
}

#[test]
fn the_diagram_verdict_equals_a_direct_first_match_interpreter() {
    let space = property_space();
    let exact = Resolve {
        unknown_test: false,
        unknown_action: Outcome::Return,
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut packets, mut accepted) = (0usize, 0usize);
    for round in 0..300 {
        let table = random_table(&mut rng, false);
        let v = chain_verdict(&space, &table, "main", Approx::Permit).unwrap();
        assert_partition(&space, &v);
        assert!(v.approximated.is_empty());
        let d = chain_verdict(&space, &table, "main", Approx::Deny).unwrap();
        assert!(v.accept.xor(&d.accept).is_false(), "round {round}");
        // every accepted packet is accepted by some listed rule
        let by = v
            .accepted_by
            .iter()
            .fold(space.none(), |acc, (_, set)| acc.or(set));
        assert!(by.xor(&v.accept).is_false(), "round {round}");

        let mut probes: Vec<Packet> = (0..30).map(|_| random_packet(&mut rng)).collect();
        probes.extend(space.witness(&v.accept));
        probes.extend(space.witness(&v.drop));
        for p in probes {
            if p.iif.is_none() || p.oif.is_none() {
                continue; // the "other" interface is conservative, not exact
            }
            let want = interpret(&table, &p, exact);
            assert_eq!(
                space.contains(&v.accept, &p),
                want,
                "round {round}: {p}\n{table:#?}"
            );
            packets += 1;
            accepted += usize::from(want);
        }
    }
    assert!(packets >= 9000, "{packets}");
    // both verdicts occur often enough for the comparison to mean something
    assert!(
        accepted > packets / 10 && accepted < packets * 9 / 10,
        "{accepted}/{packets}"
    );
}

#[test]
fn the_permit_reading_contains_every_resolution_of_the_unknowns() {
    let space = property_space();
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let mut approximated = 0usize;
    for round in 0..200 {
        let table = random_table(&mut rng, true);
        let permit = chain_verdict(&space, &table, "main", Approx::Permit).unwrap();
        let deny = chain_verdict(&space, &table, "main", Approx::Deny).unwrap();
        assert_partition(&space, &permit);
        assert_partition(&space, &deny);
        // Permit accepts at least what Deny accepts.
        assert!(
            deny.accept.and_not(&permit.accept).is_false(),
            "round {round}"
        );
        approximated += permit.approximated.len();
        for o in &permit.approximated {
            let rule = table
                .chains
                .iter()
                .flat_map(|c| c.rules.iter())
                .find(|r| r.origin == *o)
                .unwrap();
            assert!(
                matches!(rule.action, Action::Unknown { .. })
                    || rule
                        .matches
                        .iter()
                        .any(|m| matches!(m.test, Test::Unknown { .. }))
            );
        }
        for _ in 0..25 {
            let p = random_packet(&mut rng);
            let in_permit = space.contains(&permit.accept, &p);
            let in_deny = space.contains(&deny.accept, &p);
            for unknown_test in [false, true] {
                for unknown_action in [Outcome::Accept, Outcome::Drop, Outcome::Return] {
                    let r = Resolve {
                        unknown_test,
                        unknown_action,
                    };
                    let accepted = interpret(&table, &p, r);
                    if accepted {
                        assert!(in_permit, "round {round}: {p}\n{table:#?}");
                    } else {
                        assert!(!in_deny, "round {round}: {p}\n{table:#?}");
                    }
                }
            }
        }
    }
    assert!(approximated > 50, "{approximated}");
}

// ----------------------------------------------------------------------------------------------------------
// the parsers' fixtures: real shapes, every base chain and hook

#[test]
fn every_fixture_has_a_verdict_for_every_base_chain_and_hook() {
    let sets = mamori_netcheck::iptables::parse_ipset_save(
        include_str!("fixtures/iptables/municipal-router.ipset"),
        "municipal-router.ipset",
    )
    .unwrap();
    let v4 = |text: &str, file: &str| parse_iptables_save(text, file, Family::Ipv4, &sets).unwrap();
    let rulesets = vec![
        v4(
            include_str!("fixtures/iptables/municipal-router.rules"),
            "r",
        ),
        v4(include_str!("fixtures/iptables/firewalld.rules"), "f"),
        v4(include_str!("fixtures/iptables/ufw.rules"), "u"),
        v4(include_str!("fixtures/iptables/docker.rules"), "d"),
        parse_iptables_save(
            include_str!("fixtures/iptables/router6.rules"),
            "r6",
            Family::Ipv6,
            &IpSets::new(),
        )
        .unwrap(),
        parse_nft_json(include_str!("fixtures/nft/municipal_router.json"), "n").unwrap(),
        parse_nft_json(include_str!("fixtures/nft/firewalld.json"), "nf").unwrap(),
        parse_nft_json(include_str!("fixtures/nft/docker_iptables_nft.json"), "nd").unwrap(),
    ];
    let space = Space::new(&interface_names(&rulesets));
    let mut chains = 0;
    for r in &rulesets {
        for t in &r.tables {
            for c in t.chains.iter().filter(|c| c.base.is_some()) {
                let permit = chain_verdict(&space, t, &c.name, Approx::Permit).unwrap();
                let deny = chain_verdict(&space, t, &c.name, Approx::Deny).unwrap();
                assert_partition(&space, &permit);
                assert_partition(&space, &deny);
                assert!(deny.accept.and_not(&permit.accept).is_false());
                if permit.approximated.is_empty() {
                    assert!(permit.accept.xor(&deny.accept).is_false());
                }
                if let Some(w) = space.witness(&permit.accept) {
                    assert!(space.contains(&permit.accept, &w));
                }
                chains += 1;
            }
        }
        for family in [Family::Ipv4, Family::Ipv6] {
            for hook in [
                Hook::Prerouting,
                Hook::Input,
                Hook::Forward,
                Hook::Output,
                Hook::Postrouting,
            ] {
                let v = hook_verdict(
                    &space,
                    std::slice::from_ref(r),
                    family,
                    hook,
                    Approx::Permit,
                )
                .unwrap();
                let domain = space.valid().and(&space.family(family));
                assert!(v.accept.or(&v.drop).xor(&domain).is_false());
                assert!(v.accept.and(&v.drop).is_false());
            }
        }
    }
    assert!(chains > 20, "{chains}");
}
