//! `iptables-save` / `ip6tables-save` / `ipset save` reading: the exact model of a municipal router, the
//! shapes firewalld, ufw and Docker generate (warnings are exactly the matches not modelled), every error
//! with its line and column, and mutated inputs that must never panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use mamori_netcheck::ParseError;
use mamori_netcheck::iptables::{
    IpSets, MAX_INPUT_BYTES, SetMembers, parse_ipset_save, parse_iptables_save,
};
use mamori_netcheck::ir::{
    Action, AddrRange, BaseChain, ChainType, CtState, Family, Hook, Iface, Match, Origin, Policy,
    PortRange, Rule, Ruleset, Table, TableFamily, Test,
};

const ROUTER: &str = include_str!("fixtures/iptables/municipal-router.rules");
const ROUTER_SETS: &str = include_str!("fixtures/iptables/municipal-router.ipset");
const FIREWALLD: &str = include_str!("fixtures/iptables/firewalld.rules");
const UFW: &str = include_str!("fixtures/iptables/ufw.rules");
const DOCKER: &str = include_str!("fixtures/iptables/docker.rules");
const ROUTER6: &str = include_str!("fixtures/iptables/router6.rules");

// ----------------------------------------------------------------------------------------------------------
// helpers

fn v4(text: &str) -> AddrRange {
    AddrRange::parse(text).unwrap()
}

fn span(first: &str, last: &str) -> AddrRange {
    let a = AddrRange::parse(first).unwrap();
    let b = AddrRange::parse(last).unwrap();
    AddrRange {
        family: a.family,
        first: a.first,
        last: b.last,
    }
}

fn src(ranges: &[AddrRange]) -> Test {
    Test::Addr {
        dst: false,
        ranges: ranges.to_vec(),
    }
}

fn dst(ranges: &[AddrRange]) -> Test {
    Test::Addr {
        dst: true,
        ranges: ranges.to_vec(),
    }
}

fn iface(out: bool, name: &str) -> Test {
    let (name, wildcard) = match name.strip_suffix('+') {
        Some(n) => (n, true),
        None => (name, false),
    };
    Test::Iface {
        out,
        names: vec![Iface {
            name: name.to_owned(),
            wildcard,
        }],
    }
}

fn proto(n: u8) -> Test {
    Test::Protocol { numbers: vec![n] }
}

fn dport(ports: &[(u16, u16)]) -> Test {
    Test::Port {
        dst: true,
        ranges: ports
            .iter()
            .map(|&(first, last)| PortRange { first, last })
            .collect(),
    }
}

fn sport(ports: &[(u16, u16)]) -> Test {
    Test::Port {
        dst: false,
        ranges: ports
            .iter()
            .map(|&(first, last)| PortRange { first, last })
            .collect(),
    }
}

fn unknown(what: &str) -> Test {
    Test::Unknown { what: what.into() }
}

fn is(t: Test) -> Match {
    Match::is(t)
}

fn not(t: Test) -> Match {
    Match::not(t)
}

fn table<'a>(rs: &'a Ruleset, name: &str) -> &'a Table {
    rs.tables.iter().find(|t| t.name == name).unwrap()
}

/// The rules of `table`/`chain`.
fn rules<'a>(rs: &'a Ruleset, t: &str, chain: &str) -> &'a [Rule] {
    &table(rs, t).chain(chain).unwrap().rules
}

/// The rule read from `line`.
fn rule_at(rs: &Ruleset, line: usize) -> &Rule {
    let found: Vec<&Rule> = rs
        .tables
        .iter()
        .flat_map(|t| &t.chains)
        .flat_map(|c| &c.rules)
        .filter(|r| r.origin.line == line)
        .collect();
    assert_eq!(found.len(), 1, "one rule at line {line}");
    found[0]
}

fn warnings(rs: &Ruleset) -> Vec<(usize, String)> {
    rs.warnings
        .iter()
        .map(|w| (w.origin.line, w.message.clone()))
        .collect()
}

fn unmodelled(list: &[(usize, &str)]) -> Vec<(usize, String)> {
    list.iter()
        .map(|&(line, what)| (line, format!("match not modelled: {what}")))
        .collect()
}

fn router_sets() -> IpSets {
    parse_ipset_save(ROUTER_SETS, "municipal-router.ipset").unwrap()
}

fn parse4(text: &str) -> Result<Ruleset, ParseError> {
    parse_iptables_save(text, "test.rules", Family::Ipv4, &IpSets::new())
}

fn parse4_sets(text: &str, sets: &str) -> Result<Ruleset, ParseError> {
    let sets = parse_ipset_save(sets, "test.ipset").unwrap();
    parse_iptables_save(text, "test.rules", Family::Ipv4, &sets)
}

/// A filter table around `rules`, with user chains A and B; rules start on line 7.
fn filter(rules: &str) -> String {
    format!(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n{rules}\nCOMMIT\n"
    )
}

fn err4(text: &str) -> ParseError {
    parse4(text).expect_err("the text must be refused")
}

fn assert_err(e: &ParseError, line: usize, column: usize, expected_part: &str, found: &str) {
    assert_eq!((e.line, e.column), (line, column), "position of: {e}");
    assert!(
        e.expected.contains(expected_part),
        "{e}: expected should mention {expected_part:?}"
    );
    assert_eq!(e.found, found, "{e}");
}

// ----------------------------------------------------------------------------------------------------------
// the municipal router

#[test]
fn ipset_file_resolves_prefixes_nomatch_exceptions_and_hosts() {
    let sets = router_sets();
    assert_eq!(sets.len(), 2);
    let lgwan = sets.get("lgwan-prefixes").unwrap();
    assert_eq!(lgwan.set_type, "hash:net");
    assert_eq!(lgwan.family, Some(Family::Ipv4));
    assert_eq!(lgwan.line, 1);
    // 10.20.99.0/24 is a nomatch exception inside 10.20.0.0/16; 10.20.x and 10.21.x are adjacent and merge.
    assert_eq!(
        lgwan.members,
        SetMembers::Addresses(vec![
            span("10.20.0.0", "10.20.98.255"),
            span("10.20.100.0", "10.21.255.255"),
        ])
    );
    let quarantine = sets.get("lgwan-quarantine").unwrap();
    assert_eq!(
        quarantine.members,
        SetMembers::Addresses(vec![span("10.20.7.7", "10.20.7.8")])
    );
}

#[test]
fn municipal_router_tables_and_base_chains() {
    let rs = parse_iptables_save(
        ROUTER,
        "municipal-router.rules",
        Family::Ipv4,
        &router_sets(),
    )
    .unwrap();
    assert_eq!(&*rs.file, "municipal-router.rules");
    assert_eq!(
        rs.tables
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["raw", "nat", "filter"]
    );
    assert!(rs.tables.iter().all(|t| t.family == TableFamily::Ip));
    assert!(rs.warnings.is_empty(), "{:?}", rs.warnings);

    let base = |t: &str, c: &str| table(&rs, t).chain(c).unwrap().base;
    let bc = |hook, chain_type, priority, policy| {
        Some(BaseChain {
            hook,
            chain_type,
            priority,
            policy,
        })
    };
    assert_eq!(
        base("raw", "PREROUTING"),
        bc(Hook::Prerouting, ChainType::Filter, -300, Policy::Accept)
    );
    assert_eq!(
        base("raw", "OUTPUT"),
        bc(Hook::Output, ChainType::Filter, -300, Policy::Accept)
    );
    assert_eq!(
        base("nat", "PREROUTING"),
        bc(Hook::Prerouting, ChainType::Nat, -100, Policy::Accept)
    );
    assert_eq!(
        base("nat", "INPUT"),
        bc(Hook::Input, ChainType::Nat, 100, Policy::Accept)
    );
    assert_eq!(
        base("nat", "OUTPUT"),
        bc(Hook::Output, ChainType::Nat, -100, Policy::Accept)
    );
    assert_eq!(
        base("nat", "POSTROUTING"),
        bc(Hook::Postrouting, ChainType::Nat, 100, Policy::Accept)
    );
    assert_eq!(
        base("filter", "INPUT"),
        bc(Hook::Input, ChainType::Filter, 0, Policy::Drop)
    );
    assert_eq!(
        base("filter", "FORWARD"),
        bc(Hook::Forward, ChainType::Filter, 0, Policy::Drop)
    );
    assert_eq!(
        base("filter", "OUTPUT"),
        bc(Hook::Output, ChainType::Filter, 0, Policy::Accept)
    );

    let filter = table(&rs, "filter");
    assert_eq!(
        filter
            .chains
            .iter()
            .map(|c| (c.name.as_str(), c.base.is_some(), c.origin.line))
            .collect::<Vec<_>>(),
        [
            ("INPUT", true, 24),
            ("FORWARD", true, 25),
            ("OUTPUT", true, 26),
            ("FROM-INTERNET", false, 27),
            ("LOG-DROP", false, 28),
            ("RELAY-OUT", false, 29),
            ("TO-LGWAN", false, 30),
        ]
    );
    // Rule order as in the file, with their lines.
    let lines = |c: &str| {
        rules(&rs, "filter", c)
            .iter()
            .map(|r| r.origin.line)
            .collect::<Vec<_>>()
    };
    assert_eq!(lines("INPUT"), [31, 32, 33, 34]);
    assert_eq!(lines("FORWARD"), [35, 36, 37, 38, 39, 40]);
    assert_eq!(lines("RELAY-OUT"), [45, 46, 47, 48]);
    assert!(rules(&rs, "filter", "OUTPUT").is_empty());
}

#[test]
fn municipal_router_rules_exactly() {
    let rs = parse_iptables_save(
        ROUTER,
        "municipal-router.rules",
        Family::Ipv4,
        &router_sets(),
    )
    .unwrap();
    let origin = |line| Origin {
        file: Arc::from("municipal-router.rules"),
        line,
        handle: None,
    };

    // The DNAT of mail to the relay.
    assert_eq!(
        rule_at(&rs, 18),
        &Rule {
            matches: vec![
                is(dst(&[v4("10.30.0.1")])),
                is(iface(false, "eth3")),
                is(proto(6)),
                is(dport(&[(25, 25)])),
            ],
            action: Action::Dnat {
                to: Some(v4("10.40.0.25")),
                ports: Some(PortRange::single(25)),
            },
            origin: origin(18),
            text: "-A PREROUTING -d 10.30.0.1/32 -i eth3 -p tcp -m tcp --dport 25 -j DNAT --to-destination 10.40.0.25:25".into(),
        }
    );
    assert_eq!(rule_at(&rs, 19).action, Action::Snat);

    // Dotted mask, and the comment (quoted, non-ASCII) changes nothing.
    let maint = rule_at(&rs, 33);
    assert_eq!(
        maint.matches,
        vec![
            is(src(&[v4("10.10.5.0/24")])),
            is(iface(false, "eth1")),
            is(proto(6)),
            is(dport(&[(22, 22)])),
        ]
    );
    assert_eq!(maint.action, Action::Accept);
    assert!(maint.text.contains("運用端末からの保守"));

    assert_eq!(
        rule_at(&rs, 32).matches,
        vec![is(Test::CtState {
            states: vec![CtState::Related, CtState::Established]
        })]
    );
    assert_eq!(
        rule_at(&rs, 34).action,
        Action::Jump {
            chain: "LOG-DROP".into()
        }
    );

    // my_number → LGWAN prefixes (from the ipset, with its exception) on 443 and 8443.
    assert_eq!(
        rule_at(&rs, 37),
        &Rule {
            matches: vec![
                is(src(&[v4("10.10.0.0/16")])),
                is(iface(false, "eth1")),
                is(iface(true, "eth2")),
                is(proto(6)),
                is(dst(&[
                    span("10.20.0.0", "10.20.98.255"),
                    span("10.20.100.0", "10.21.255.255"),
                ])),
                is(dport(&[(443, 443), (8443, 8443)])),
            ],
            action: Action::Accept,
            origin: origin(37),
            text: "-A FORWARD -s 10.10.0.0/16 -i eth1 -o eth2 -p tcp -m set --match-set lgwan-prefixes dst -m multiport --dports 443,8443 -j ACCEPT".into(),
        }
    );

    assert_eq!(
        rule_at(&rs, 41).matches,
        vec![
            is(dst(&[v4("10.40.0.25")])),
            is(proto(6)),
            is(dport(&[(25, 25)])),
            is(Test::CtState {
                states: vec![CtState::New]
            }),
        ]
    );
    assert_eq!(rule_at(&rs, 43).action, Action::Continue);
    assert!(rule_at(&rs, 43).matches.is_empty());

    assert_eq!(
        rule_at(&rs, 46).matches,
        vec![
            is(iface(true, "eth3")),
            is(proto(17)),
            is(dst(&[span("10.30.0.53", "10.30.0.54")])),
            is(dport(&[(53, 53)])),
        ]
    );
    assert_eq!(
        rule_at(&rs, 47),
        &Rule {
            matches: vec![not(iface(true, "eth2"))],
            action: Action::Return,
            origin: origin(47),
            text: "-A RELAY-OUT ! -o eth2 -j RETURN".into(),
        }
    );
    assert_eq!(
        rule_at(&rs, 49).matches,
        vec![not(dst(&[span("10.20.7.7", "10.20.7.8")]))]
    );
    assert_eq!(rule_at(&rs, 50).action, Action::Reject);
}

// ----------------------------------------------------------------------------------------------------------
// what firewalld, ufw and Docker generate

#[test]
fn firewalld_zone_chains_parse_with_warnings_exactly_for_unmodelled_matches() {
    let rs =
        parse_iptables_save(FIREWALLD, "firewalld.rules", Family::Ipv4, &IpSets::new()).unwrap();
    assert_eq!(
        rs.tables
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["mangle", "nat", "filter"]
    );
    assert_eq!(
        warnings(&rs),
        unmodelled(&[
            (69, "-m mark --mark 0x64"),
            (124, "-m mark --mark 0x64"),
            (136, "-m icmp --icmp-type 13"),
            (137, "-m limit --limit 3/min"),
        ])
    );
    let mangle = table(&rs, "mangle").chain("FORWARD").unwrap();
    assert_eq!(
        mangle.base,
        Some(BaseChain {
            hook: Hook::Forward,
            chain_type: ChainType::Route,
            priority: -150,
            policy: Policy::Accept
        })
    );
    // MARK does not end evaluation.
    assert_eq!(rule_at(&rs, 28).action, Action::Continue);
    assert_eq!(
        rule_at(&rs, 69),
        &Rule {
            matches: vec![is(proto(6)), is(unknown("-m mark --mark 0x64"))],
            action: Action::Dnat {
                to: Some(v4("10.40.0.25")),
                ports: Some(PortRange::single(25)),
            },
            origin: Origin {
                file: Arc::from("firewalld.rules"),
                line: 69,
                handle: None
            },
            text: "-A PRE_public_allow -p tcp -m mark --mark 0x64 -j DNAT --to-destination 10.40.0.25:25"
                .into(),
        }
    );
    let zones = rules(&rs, "filter", "INPUT_ZONES");
    assert_eq!(zones.len(), 2);
    assert_eq!(zones[0].matches, vec![is(iface(false, "eth0"))]);
    assert_eq!(
        zones[0].action,
        Action::Goto {
            chain: "IN_public".into()
        }
    );
    assert_eq!(
        rules(&rs, "filter", "IN_public_allow")[0].matches,
        vec![
            is(proto(6)),
            is(dport(&[(22, 22)])),
            is(Test::CtState {
                states: vec![CtState::New]
            })
        ]
    );
    let log = rule_at(&rs, 137);
    assert_eq!(log.action, Action::Continue);
    assert_eq!(
        log.matches,
        vec![
            is(src(&[v4("10.30.0.0/16")])),
            is(proto(6)),
            is(dport(&[(22, 22)])),
            is(Test::CtState {
                states: vec![CtState::New]
            }),
            is(unknown("-m limit --limit 3/min")),
        ]
    );
    assert_eq!(rule_at(&rs, 113).action, Action::Reject);
    assert_eq!(
        rule_at(&rs, 116).action,
        Action::Goto {
            chain: "FWDI_public".into()
        }
    );
}

#[test]
fn ufw_chains_parse_with_warnings_exactly_for_unmodelled_matches() {
    let rs = parse_iptables_save(UFW, "ufw.rules", Family::Ipv4, &IpSets::new()).unwrap();
    let limit = "-m limit --limit 3/min --limit-burst 10";
    assert_eq!(
        warnings(&rs),
        unmodelled(&[
            (66, "-m addrtype --dst-type BROADCAST"),
            (67, limit),
            (68, limit),
            (70, "-m icmp --icmp-type 3"),
            (71, "-m icmp --icmp-type 8"),
            (77, "-m icmp --icmp-type 3"),
            (78, "-m icmp --icmp-type 8"),
            (87, limit),
            (88, limit),
            (89, limit),
            (91, "-m addrtype --dst-type MULTICAST"),
            (92, "-m addrtype --dst-type BROADCAST"),
            (93, limit),
            (
                101,
                "-m recent --set --name DEFAULT --mask 255.255.255.255 --rsource"
            ),
            (
                102,
                "-m recent --update --seconds 30 --hitcount 6 --name DEFAULT --mask 255.255.255.255 --rsource"
            ),
            (105, "-m limit --limit 3/min"),
        ])
    );
    assert_eq!(
        table(&rs, "filter").chain("INPUT").unwrap().base,
        Some(BaseChain {
            hook: Hook::Input,
            chain_type: ChainType::Filter,
            priority: 0,
            policy: Policy::Drop
        })
    );
    // Two ports in one udp match.
    assert_eq!(
        rule_at(&rs, 79).matches,
        vec![
            is(proto(17)),
            is(sport(&[(67, 67)])),
            is(dport(&[(68, 68)]))
        ]
    );
    // A rule without -j (the recent --set bookkeeping) only continues.
    assert_eq!(rule_at(&rs, 101).action, Action::Continue);
    // The escaped quotes of the comment are read and the comment dropped.
    let ssh = rule_at(&rs, 103);
    assert_eq!(ssh.matches, vec![is(proto(6)), is(dport(&[(22, 22)]))]);
    assert_eq!(
        ssh.action,
        Action::Jump {
            chain: "ufw-user-limit-accept".into()
        }
    );
    assert_eq!(
        rule_at(&rs, 104).matches,
        vec![is(proto(6)), is(dport(&[(80, 80), (443, 443)]))]
    );
}

#[test]
fn docker_chains_parse_with_warnings_exactly_for_unmodelled_matches() {
    let rs = parse_iptables_save(DOCKER, "docker.rules", Family::Ipv4, &IpSets::new()).unwrap();
    // `-m addrtype --dst-type LOCAL` is the device's own addresses, which the analysis binds from the map.
    assert_eq!(warnings(&rs), unmodelled(&[]));
    assert_eq!(
        rule_at(&rs, 13).matches,
        vec![
            not(dst(&[v4("127.0.0.0/8")])),
            is(Test::Local { dst: true })
        ]
    );
    assert_eq!(
        rule_at(&rs, 17),
        &Rule {
            matches: vec![
                not(iface(false, "docker0")),
                is(proto(6)),
                is(dport(&[(8080, 8080)]))
            ],
            action: Action::Dnat {
                to: Some(v4("172.17.0.2")),
                ports: Some(PortRange::single(80)),
            },
            origin: Origin {
                file: Arc::from("docker.rules"),
                line: 17,
                handle: None
            },
            text: "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80"
                .into(),
        }
    );
    assert_eq!(rule_at(&rs, 14).action, Action::Snat);
    assert_eq!(
        rule_at(&rs, 14).matches,
        vec![is(src(&[v4("172.17.0.0/16")])), not(iface(true, "docker0"))]
    );
    assert_eq!(
        table(&rs, "filter")
            .chain("FORWARD")
            .unwrap()
            .base
            .unwrap()
            .policy,
        Policy::Drop
    );
    assert_eq!(
        rules(&rs, "filter", "FORWARD")
            .iter()
            .map(|r| r.action.clone())
            .collect::<Vec<_>>(),
        [
            Action::Jump {
                chain: "DOCKER-USER".into()
            },
            Action::Jump {
                chain: "DOCKER-ISOLATION-STAGE-1".into()
            },
            Action::Accept,
            Action::Jump {
                chain: "DOCKER".into()
            },
            Action::Accept,
            Action::Accept,
        ]
    );
    assert_eq!(
        rules(&rs, "filter", "DOCKER-USER")[0].matches,
        vec![is(src(&[v4("10.10.0.0/16")])), is(iface(true, "docker0"))]
    );
}

#[test]
fn ip6tables_save_is_read_as_ipv6() {
    let rs = parse_iptables_save(ROUTER6, "router6.rules", Family::Ipv6, &IpSets::new()).unwrap();
    assert!(rs.tables.iter().all(|t| t.family == TableFamily::Ip6));
    assert_eq!(
        warnings(&rs),
        unmodelled(&[(19, "-m icmp6 --icmpv6-type 135")])
    );
    assert_eq!(
        rule_at(&rs, 10).action,
        Action::Dnat {
            to: Some(AddrRange::parse("2001:db8:40::25").unwrap()),
            ports: Some(PortRange::single(25)),
        }
    );
    assert_eq!(
        rule_at(&rs, 19).matches,
        vec![is(proto(58)), is(unknown("-m icmp6 --icmpv6-type 135"))]
    );
    let fwd = rule_at(&rs, 22);
    assert_eq!(
        fwd.matches,
        vec![
            is(src(&[AddrRange::parse("2001:db8:10::/48").unwrap()])),
            is(dst(&[AddrRange::parse("2001:db8:20::/48").unwrap()])),
            is(iface(false, "eth1")),
            is(iface(true, "eth2")),
            is(proto(6)),
            is(dport(&[(443, 443)])),
        ]
    );
    assert_eq!(
        rule_at(&rs, 20).matches[0],
        is(src(&[AddrRange::parse("fe80::/10").unwrap()]))
    );
    // The IPv4 reader refuses the same text: its addresses are of the other family.
    let e = parse4(ROUTER6).unwrap_err();
    assert_eq!((e.line, e.column), (10, 18));
    assert_eq!(e.found, "2001:db8:30::1/128 (an IPv6 address)");
}

// ----------------------------------------------------------------------------------------------------------
// modelled details

#[test]
fn multiport_ports_splits_only_terminal_rules() {
    let rs = parse4(&filter(
        "-A INPUT -p tcp -m multiport --ports 22,80:90 -j ACCEPT\n\
         -A INPUT -p tcp -m multiport --ports 22 -j LOG --log-prefix x\n\
         -A INPUT -p tcp -m multiport --ports 25 -j A\n\
         -A INPUT -p udp -m multiport ! --ports 53 -j DROP",
    ))
    .unwrap();
    let input = rules(&rs, "filter", "INPUT");
    assert_eq!(input.len(), 5);
    let ports = [(22, 22), (80, 90)];
    assert_eq!(input[0].matches, vec![is(proto(6)), is(sport(&ports))]);
    assert_eq!(input[1].matches, vec![is(proto(6)), is(dport(&ports))]);
    assert_eq!(input[0].origin, input[1].origin);
    assert_eq!(input[0].text, input[1].text);
    assert_eq!(input[0].action, Action::Accept);
    assert_eq!(
        input[2].matches,
        vec![is(proto(6)), is(unknown("-m multiport --ports 22"))]
    );
    assert_eq!(
        input[3].matches,
        vec![is(proto(6)), is(unknown("-m multiport --ports 25"))]
    );
    assert_eq!(
        input[4].matches,
        vec![
            is(proto(17)),
            not(sport(&[(53, 53)])),
            not(dport(&[(53, 53)]))
        ]
    );
    let w = warnings(&rs);
    assert_eq!(w.len(), 2);
    assert_eq!(w[0].0, 8);
    assert!(
        w[0].1
            .starts_with("match not modelled: -m multiport --ports 22 (")
    );
    assert_eq!(w[1].0, 9);
}

#[test]
fn ctstate_nat_states_and_unknown_options_are_unknown() {
    let rs = parse4(&filter(
        "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT\n\
         -A FORWARD -m conntrack ! --ctstate INVALID --ctdir ORIGINAL -j ACCEPT\n\
         -A FORWARD -m state --state NEW,UNTRACKED -j ACCEPT",
    ))
    .unwrap();
    let fwd = rules(&rs, "filter", "FORWARD");
    assert_eq!(
        fwd[0].matches,
        vec![is(unknown(
            "-m conntrack --ctstate RELATED,ESTABLISHED,DNAT"
        ))]
    );
    assert_eq!(
        fwd[1].matches,
        vec![
            not(Test::CtState {
                states: vec![CtState::Invalid]
            }),
            is(unknown("-m conntrack --ctdir ORIGINAL")),
        ]
    );
    assert_eq!(
        fwd[2].matches,
        vec![is(Test::CtState {
            states: vec![CtState::New, CtState::Untracked]
        })]
    );
    assert_eq!(rs.warnings.len(), 2);
}

#[test]
fn generic_option_forms() {
    let rs = parse4(&filter(
        "[12:3456] -A INPUT -s 10.0.0.1,192.168.0.0/16 -i eth+ -p tcp --dport 1024: --sport :1023 -j ACCEPT\n\
         -A INPUT -f -j DROP\n\
         -A INPUT -s 10.0.0.0/255.0.255.0 -j DROP\n\
         -A INPUT -p 47 -j ACCEPT\n\
         -A INPUT -p all -j A\n\
         -A INPUT ! -p tcp -i + -g B\n\
         -A INPUT -s ! 10.9.0.0/16 -j RETURN\n\
         -A A -m comment --comment \"only a comment\"",
    ))
    .unwrap();
    let input = rules(&rs, "filter", "INPUT");
    assert_eq!(
        input[0].matches,
        vec![
            is(src(&[v4("10.0.0.1"), v4("192.168.0.0/16")])),
            is(iface(false, "eth+")),
            is(proto(6)),
            is(dport(&[(1024, 65535)])),
            is(sport(&[(0, 1023)])),
        ]
    );
    assert_eq!(input[1].matches, vec![is(unknown("-f"))]);
    assert_eq!(
        input[2].matches,
        vec![is(unknown("-s 10.0.0.0/255.0.255.0"))]
    );
    assert_eq!(input[3].matches, vec![is(proto(47))]);
    assert!(input[4].matches.is_empty());
    assert_eq!(input[5].matches, vec![not(proto(6)), is(iface(false, "+"))]);
    assert_eq!(input[5].action, Action::Goto { chain: "B".into() });
    assert_eq!(input[6].matches, vec![not(src(&[v4("10.9.0.0/16")]))]);
    let a = rules(&rs, "filter", "A");
    assert!(a[0].matches.is_empty());
    assert_eq!(a[0].action, Action::Continue);
    assert_eq!(
        warnings(&rs).iter().map(|w| w.0).collect::<Vec<_>>(),
        [8, 9]
    );
}

#[test]
fn targets() {
    let text = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING DROP [0:0]\n:U - [0:0]\n\
        -A PREROUTING -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 3128\n\
        -A PREROUTING -d 10.30.0.0/24 -j NETMAP --to 10.40.0.0/24\n\
        -A POSTROUTING -s 10.40.0.0/24 -j NETMAP --to 10.30.0.0/24\n\
        -A PREROUTING -p tcp -j DNAT --to-destination 10.40.0.10-10.40.0.12\n\
        -A PREROUTING -p tcp -j DNAT --to-destination :8080-8090 --random\n\
        -A POSTROUTING -j MASQUERADE --random-fully\n\
        -A U -j NFQUEUE --queue-num 1\n\
        -A U -j SOMETHING --with-option 1\n\
        -A U -j TEE --gateway 10.0.0.1\n\
        -A U -j CT --notrack\n\
        COMMIT\n";
    let rs = parse4(text).unwrap();
    let pre = rules(&rs, "nat", "PREROUTING");
    assert_eq!(
        pre[0].action,
        Action::Redirect {
            ports: Some(PortRange::single(3128))
        }
    );
    assert_eq!(
        pre[1].action,
        Action::Unknown {
            what: "-j NETMAP --to 10.40.0.0/24".into()
        }
    );
    assert_eq!(
        pre[2].action,
        Action::Dnat {
            to: Some(span("10.40.0.10", "10.40.0.12")),
            ports: None
        }
    );
    assert_eq!(
        pre[3].action,
        Action::Dnat {
            to: None,
            ports: Some(PortRange {
                first: 8080,
                last: 8090
            })
        }
    );
    let post = rules(&rs, "nat", "POSTROUTING");
    assert_eq!(post[0].action, Action::Snat);
    assert_eq!(post[1].action, Action::Snat);
    // nat never filters: its DROP policy is read as ACCEPT, with a warning.
    assert_eq!(
        table(&rs, "nat")
            .chain("POSTROUTING")
            .unwrap()
            .base
            .unwrap()
            .policy,
        Policy::Accept
    );
    let u = rules(&rs, "nat", "U");
    assert_eq!(
        u.iter().map(|r| r.action.clone()).collect::<Vec<_>>(),
        [
            Action::Unknown {
                what: "-j NFQUEUE --queue-num 1".into()
            },
            Action::Unknown {
                what: "-j SOMETHING --with-option 1".into()
            },
            Action::Unknown {
                what: "-j TEE --gateway 10.0.0.1".into()
            },
            Action::Continue,
        ]
    );
    assert_eq!(
        warnings(&rs),
        vec![
            (
                5,
                "policy DROP of nat chain POSTROUTING read as ACCEPT: nat chains do not filter".into()
            ),
            (
                8,
                "target not modelled: -j NETMAP --to 10.40.0.0/24 (NETMAP outside nat POSTROUTING and INPUT rewrites destinations)".into()
            ),
            (13, "target not modelled: -j NFQUEUE --queue-num 1".into()),
            (14, "target not modelled: -j SOMETHING --with-option 1".into()),
            (15, "target not modelled: -j TEE --gateway 10.0.0.1".into()),
        ]
    );
}

#[test]
fn sets_of_every_kind() {
    let sets = "\
create nets hash:net family inet hashsize 64 maxelem 16
add nets 10.0.0.0-10.0.0.255
add nets 10.0.0.128/25 nomatch
add nets 10.0.0.192/26
create hosts hash:ip family inet netmask 24
add hosts 192.168.1.7
create hosts6 hash:ip family inet6
add hosts6 2001:db8::1
create map bitmap:ip range 172.16.0.0-172.16.0.255
add map 172.16.0.1-172.16.0.3
create both list:set size 8
add both nets
add both hosts6
add both map
create ports hash:ip,port family inet
add ports 10.0.0.1,tcp:80
create ifaces hash:net,iface family inet
add ifaces 10.0.0.0/8,eth0
";
    let parsed = parse_ipset_save(sets, "s.ipset").unwrap();
    assert_eq!(
        parsed.get("nets").unwrap().members,
        SetMembers::Addresses(vec![
            span("10.0.0.0", "10.0.0.127"),
            span("10.0.0.192", "10.0.0.255")
        ])
    );
    assert_eq!(
        parsed.get("hosts").unwrap().members,
        SetMembers::Addresses(vec![v4("192.168.1.0/24")])
    );
    assert_eq!(
        parsed.get("both").unwrap().members,
        SetMembers::Sets(vec!["nets".into(), "hosts6".into(), "map".into()])
    );
    assert!(matches!(
        parsed.get("ports").unwrap().members,
        SetMembers::NotModelled { .. }
    ));
    let rs = parse4_sets(
        &filter(
            "-A INPUT -m set --match-set nets src,dst -j ACCEPT\n\
             -A INPUT -m set --match-set both dst -j ACCEPT\n\
             -A INPUT -m set --match-set hosts6 src -j ACCEPT\n\
             -A INPUT -m set --match-set ports src,dst -j ACCEPT\n\
             -A INPUT -m set --match-set ifaces src,src -j ACCEPT\n\
             -A INPUT -m set ! --match-set map src ! --update-counters -j ACCEPT",
        ),
        sets,
    )
    .unwrap();
    let input = rules(&rs, "filter", "INPUT");
    assert_eq!(
        input[0].matches,
        vec![is(src(&[
            span("10.0.0.0", "10.0.0.127"),
            span("10.0.0.192", "10.0.0.255")
        ]))]
    );
    // IPv6 members of a list:set never match IPv4 packets.
    assert_eq!(
        input[1].matches,
        vec![is(dst(&[
            span("10.0.0.0", "10.0.0.127"),
            span("10.0.0.192", "10.0.0.255"),
            span("172.16.0.1", "172.16.0.3")
        ]))]
    );
    assert_eq!(input[2].matches, vec![is(src(&[]))]);
    assert_eq!(
        input[3].matches,
        vec![is(unknown("-m set --match-set ports src,dst"))]
    );
    assert_eq!(
        input[4].matches,
        vec![is(unknown("-m set --match-set ifaces src,src"))]
    );
    assert_eq!(
        input[5].matches,
        vec![not(src(&[span("172.16.0.1", "172.16.0.3")]))]
    );
    let w = warnings(&rs);
    assert_eq!(w.iter().map(|w| w.0).collect::<Vec<_>>(), [10, 11]);
    assert!(w[0].1.contains("hash:ip,port"), "{}", w[0].1);
    assert!(w[1].1.contains("hash:net,iface"), "{}", w[1].1);
}

// ----------------------------------------------------------------------------------------------------------
// errors

#[test]
fn a_rule_before_any_table() {
    let e = err4("# header\n-A INPUT -j ACCEPT\n");
    assert_err(&e, 2, 1, "*table", "-A");
    assert_eq!(
        e.to_string(),
        "test.rules:2:1: expected a *table line before the first rule, found -A"
    );
    assert_err(&err4(":INPUT ACCEPT [0:0]\n"), 1, 1, "*table", ":INPUT");
    assert_err(&err4("COMMIT\n"), 1, 1, "*table", "COMMIT");
}

#[test]
fn a_rule_on_an_undeclared_chain() {
    let e = err4(&filter("-A FOO -j ACCEPT"));
    assert_err(
        &e,
        7,
        4,
        "a chain declared (:CHAIN line) in table filter",
        "FOO",
    );
}

#[test]
fn a_jump_to_an_undeclared_chain() {
    let e = err4(&filter("-A INPUT -p tcp -j DOCKER"));
    assert_err(&e, 7, 20, "a chain declared in table filter", "DOCKER");
    assert_eq!(
        e.to_string(),
        "test.rules:7:20: expected a chain declared in table filter, or a known target, after -j, found DOCKER"
    );
    assert_err(
        &err4(&filter("-A INPUT -g NOPE")),
        7,
        13,
        "after -g",
        "NOPE",
    );
    assert_err(
        &err4(&filter("-A A -j INPUT")),
        7,
        9,
        "built-in chains cannot be jumped to",
        "INPUT",
    );
}

#[test]
fn a_missing_commit() {
    let e = err4("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n");
    assert_err(
        &e,
        4,
        1,
        "COMMIT to end table filter (opened on line 1)",
        "end of file",
    );
    let e = err4("*filter\n:INPUT ACCEPT [0:0]\n*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n");
    assert_err(&e, 3, 1, "COMMIT to end table filter", "*nat");
    // Without a final newline the end is after the last character.
    let e = err4("*filter\n:INPUT ACCEPT [0:0]");
    assert_err(&e, 2, 20, "COMMIT", "end of file");
}

#[test]
fn an_option_missing_its_value() {
    assert_err(
        &err4(&filter("-A INPUT -s")),
        7,
        10,
        "an IPv4 address or prefix after -s",
        "end of line",
    );
    assert_err(
        &err4(&filter("-A INPUT -p tcp -m tcp --dport")),
        7,
        24,
        "a value after --dport (-m tcp)",
        "end of line",
    );
    assert_err(
        &err4(&filter("-A INPUT -j")),
        7,
        10,
        "a target or chain name after -j",
        "end of line",
    );
    assert_err(
        &err4(&filter("-A INPUT -m")),
        7,
        10,
        "a match name after -m",
        "end of line",
    );
    assert_err(
        &err4(&filter("-A INPUT -m set --match-set nets")),
        7,
        17,
        "a value after --match-set",
        "end of line",
    );
    assert_err(
        &err4(&filter("-A")),
        7,
        1,
        "a chain name after -A",
        "end of line",
    );
    assert_err(
        &err4(&filter("-A INPUT !")),
        7,
        10,
        "after !",
        "end of line",
    );
    assert_err(
        &err4("*filter\n:INPUT\nCOMMIT\n"),
        2,
        1,
        "a policy",
        "end of line",
    );
    assert_err(
        &err4(&filter("-A INPUT -j DNAT --to-destination")),
        7,
        18,
        "after --to-destination",
        "end of line",
    );
}

#[test]
fn an_address_that_is_not_one() {
    assert_err(
        &err4(&filter("-A INPUT -s 10.0.0.300 -j DROP")),
        7,
        13,
        "an IPv4 address or prefix after -s",
        "10.0.0.300",
    );
    assert_err(
        &err4(&filter("-A INPUT -d 10.0.0.1,example.org -j DROP")),
        7,
        22,
        "after -d",
        "example.org",
    );
    assert_err(
        &err4(&filter("-A INPUT -s 10.0.0.0/33 -j DROP")),
        7,
        13,
        "after -s",
        "10.0.0.0/33",
    );
    assert_err(
        &err4(&filter(
            "-A INPUT -m iprange --src-range 10.0.0.9-10.0.0.1 -j DROP",
        )),
        7,
        33,
        "an IPv4 address range first-last",
        "10.0.0.9-10.0.0.1",
    );
    assert_err(
        &err4(&filter("-A INPUT ! -s 10.0.0.1,10.0.0.2 -j DROP")),
        7,
        15,
        "does not negate a list",
        "10.0.0.1,10.0.0.2",
    );
    assert_err(
        &err4(&filter("-A INPUT -j DNAT --to-destination 10.0.0.1:80:90")),
        7,
        35,
        "--to-destination",
        "10.0.0.1:80:90",
    );
    assert_err(
        &err4(&filter("-A INPUT -i abcdefghijklmnop -j DROP")),
        7,
        13,
        "an interface name",
        "abcdefghijklmnop",
    );
    assert_err(
        &err4(&filter("-A INPUT -p tcpx -j DROP")),
        7,
        13,
        "a protocol name",
        "tcpx",
    );
}

#[test]
fn ports_out_of_range_or_reversed() {
    assert_err(
        &err4(&filter("-A INPUT -p tcp -m tcp --dport 65536 -j DROP")),
        7,
        32,
        "0-65535",
        "65536",
    );
    assert_err(
        &err4(&filter("-A INPUT -p tcp -m tcp --sport 90:80 -j DROP")),
        7,
        32,
        "low <= high",
        "90:80",
    );
    assert_err(
        &err4(&filter(
            "-A INPUT -p udp -m multiport --dports 53,70000 -j DROP",
        )),
        7,
        42,
        "ports or port ranges",
        "70000",
    );
    assert_err(
        &err4(&filter("-A INPUT -p tcp -j REDIRECT --to-ports 9-8")),
        7,
        40,
        "port",
        "9-8",
    );
    assert_err(
        &err4(&filter("-A INPUT -p tcp -m tcp --dport ssh -j DROP")),
        7,
        32,
        "port",
        "ssh",
    );
}

#[test]
fn a_port_match_needs_its_protocol() {
    assert_err(
        &err4(&filter("-A INPUT -m tcp --dport 22 -j ACCEPT")),
        7,
        10,
        "-p tcp in a rule using -m tcp",
        "no -p",
    );
    assert_err(
        &err4(&filter(
            "-A INPUT -p udp -m multiport --dports 1,2 ! -p tcp -j ACCEPT",
        )),
        7,
        45,
        "-p at most once",
        "-p",
    );
    assert_err(
        &err4(&filter(
            "-A INPUT -p icmp -m multiport --dports 1,2 -j ACCEPT",
        )),
        7,
        18,
        "-p tcp, udp, udplite, sctp or dccp",
        "-p 1",
    );
    assert_err(
        &err4(&filter("-A INPUT --dport 22 -j ACCEPT")),
        7,
        10,
        "an iptables option",
        "--dport",
    );
}

#[test]
fn an_address_of_the_other_family() {
    assert_err(
        &err4(&filter("-A INPUT -s 2001:db8::1 -j DROP")),
        7,
        13,
        "an IPv4 address",
        "2001:db8::1 (an IPv6 address)",
    );
    let e = parse_iptables_save(
        &filter("-A INPUT -d 10.0.0.1/32 -j DROP"),
        "test6.rules",
        Family::Ipv6,
        &IpSets::new(),
    )
    .unwrap_err();
    assert_err(
        &e,
        7,
        13,
        "an IPv6 address",
        "10.0.0.1/32 (an IPv4 address)",
    );
    let e = parse_ipset_save(
        "create s hash:net family inet6\nadd s 10.0.0.0/8\n",
        "s.ipset",
    )
    .unwrap_err();
    assert_err(&e, 2, 7, "an IPv6 address", "10.0.0.0/8 (an IPv4 address)");
}

#[test]
fn a_duplicate_table_or_chain() {
    let e = err4("*filter\nCOMMIT\n*raw\nCOMMIT\n*filter\nCOMMIT\n");
    assert_err(
        &e,
        5,
        2,
        "table filter was already read from line 1",
        "filter",
    );
    assert_err(&err4("*broute\nCOMMIT\n"), 1, 2, "a table name", "broute");
    let e = err4("*filter\n:INPUT ACCEPT [0:0]\n:INPUT DROP [0:0]\nCOMMIT\n");
    assert_err(&e, 3, 2, "this one was, on line 2", "INPUT");
    assert_err(
        &err4("*filter\n:MINE ACCEPT [0:0]\nCOMMIT\n"),
        2,
        7,
        "user chain MINE of table filter has no policy",
        "ACCEPT",
    );
    assert_err(
        &err4("*filter\n:INPUT - [0:0]\nCOMMIT\n"),
        2,
        8,
        "ACCEPT or DROP",
        "-",
    );
    assert_err(
        &err4("*filter\n:INPUT ACCEPT [x:0]\nCOMMIT\n"),
        2,
        15,
        "counters",
        "[x:0]",
    );
}

#[test]
fn an_unknown_set_names_it() {
    let e = parse4_sets(
        &filter("-A INPUT -m set --match-set lgwan-prefixes dst -j ACCEPT"),
        "create other hash:ip\n",
    )
    .unwrap_err();
    assert_err(
        &e,
        7,
        29,
        "a set defined in the ipset save file",
        "lgwan-prefixes",
    );
    assert!(e.to_string().contains("lgwan-prefixes"));
    assert_err(
        &parse4_sets(
            &filter("-A INPUT -m set --match-set other dst,up -j ACCEPT"),
            "create other hash:ip\n",
        )
        .unwrap_err(),
        7,
        39,
        "src or dst",
        "up",
    );
}

#[test]
fn quoting_and_unknown_options() {
    assert_err(
        &err4(&filter("-A INPUT -m comment --comment \"open -j ACCEPT")),
        7,
        31,
        "a closing double quote",
        "end of line",
    );
    assert_err(
        &err4(&filter("-A INPUT --frobnicate -j ACCEPT")),
        7,
        10,
        "an iptables option",
        "--frobnicate",
    );
    assert_err(
        &err4(&filter("-A INPUT -j ACCEPT --now")),
        7,
        20,
        "no option after -j ACCEPT",
        "--now",
    );
    assert_err(
        &err4(&filter("-A INPUT -j ACCEPT -j DROP")),
        7,
        20,
        "one -j or -g",
        "-j",
    );
    assert_err(
        &err4(&filter("-A INPUT ! -j ACCEPT")),
        7,
        10,
        "an option that can be negated",
        "-j",
    );
    assert_err(
        &err4(&filter("-A INPUT -m tcp -p tcp --bogus -j ACCEPT")),
        7,
        24,
        "an option of -p tcp",
        "--bogus",
    );
    assert_err(
        &err4("*filter\n-X FOO\nCOMMIT\n"),
        2,
        1,
        "a rule (-A CHAIN",
        "-X",
    );
}

#[test]
fn ipset_errors() {
    let e = parse_ipset_save("add s 10.0.0.1\n", "s.ipset").unwrap_err();
    assert_err(&e, 1, 5, "a set created earlier in the file", "s");
    let e = parse_ipset_save("flush s\n", "s.ipset").unwrap_err();
    assert_err(&e, 1, 1, "create or add", "flush");
    let e = parse_ipset_save("create s hash:ip\nadd s 10.0.0.x\n", "s.ipset").unwrap_err();
    assert_err(&e, 2, 7, "an IPv4 address, prefix or range", "10.0.0.x");
    let e = parse_ipset_save("create s hash:ip\ncreate s hash:net\n", "s.ipset").unwrap_err();
    assert_err(&e, 2, 8, "this one was, on line 1", "s");
    let e = parse_ipset_save("create s hash:net family ipx\n", "s.ipset").unwrap_err();
    assert_err(&e, 1, 26, "inet or inet6", "ipx");
    let e = parse_ipset_save("create l list:set\nadd l missing\n", "s.ipset").unwrap_err();
    assert_err(&e, 2, 7, "list:set members must exist", "missing");
    let e = parse_ipset_save("create s hash:ip\nadd s 10.0.0.1 nomatch\n", "s.ipset").unwrap_err();
    assert_err(&e, 2, 7, "only hash:net", "nomatch");
}

#[test]
fn size_limits() {
    let big = "#".repeat(MAX_INPUT_BYTES + 1);
    let e = parse4(&big).unwrap_err();
    assert_err(
        &e,
        1,
        1,
        "at most 64 MiB",
        &format!("{} bytes", MAX_INPUT_BYTES + 1),
    );
    let e = parse_ipset_save(&big, "s.ipset").unwrap_err();
    assert_eq!((e.line, e.column), (1, 1));
    drop(big);

    let mut text = String::from("*filter\n:INPUT ACCEPT [0:0]\n");
    for _ in 0..1_000_001 {
        text.push_str("-A INPUT\n");
    }
    text.push_str("COMMIT\n");
    let e = parse4(&text).unwrap_err();
    assert_err(&e, 1_000_003, 1, "at most 1000000 rules", "one more rule");
}

// ----------------------------------------------------------------------------------------------------------
// robustness

/// xorshift64*: small, deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const TOKENS: &[&str] = &[
    "!",
    "-A",
    "-s",
    "-d",
    "-p",
    "-i",
    "-o",
    "-m",
    "-j",
    "-g",
    "-f",
    "--dport",
    "--sport",
    "--ports",
    "--match-set",
    "--ctstate",
    "--to-destination",
    "tcp",
    "udp",
    "multiport",
    "set",
    "conntrack",
    "iprange",
    "--src-range",
    "DNAT",
    "ACCEPT",
    "DROP",
    "RETURN",
    "REJECT",
    "NETMAP",
    "COMMIT",
    "*filter",
    "*nat",
    ":X - [0:0]",
    ":INPUT DROP [0:0]",
    "\"",
    "\\",
    "\"a b\"",
    "10.0.0.1/8",
    "::1",
    "[2001:db8::1]:80",
    "1:65535",
    "65536",
    "0-0",
    ",",
    ":",
    "[",
    "]",
    "lgwan-prefixes",
    "src,dst",
    "NEW,DNAT",
    "eth+",
    "+",
    "create",
    "add",
    "hash:net",
    "list:set",
    "nomatch",
    "netmask",
    "32",
    "0",
    "\u{3042}",
    "\t",
    "\r",
    "-",
    "--",
];

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let rounds = 1 + rng.below(3);
    for _ in 0..rounds {
        match rng.below(7) {
            0 => {
                // truncate at a random byte
                let joined = lines.join("\n");
                let bytes = joined.as_bytes();
                let cut = rng.below(bytes.len() + 1);
                let s = String::from_utf8_lossy(&bytes[..cut]).into_owned();
                lines = s.split('\n').map(str::to_owned).collect();
            }
            1 if !lines.is_empty() => {
                let i = rng.below(lines.len());
                lines.remove(i);
            }
            2 if !lines.is_empty() => {
                let i = rng.below(lines.len());
                let l = lines[i].clone();
                lines.insert(i, l);
            }
            3 if lines.len() > 1 => {
                let i = rng.below(lines.len());
                let j = rng.below(lines.len());
                lines.swap(i, j);
            }
            4 => {
                // flip random bytes
                let mut bytes = lines.join("\n").into_bytes();
                for _ in 0..1 + rng.below(4) {
                    if !bytes.is_empty() {
                        let i = rng.below(bytes.len());
                        bytes[i] ^= 1 << rng.below(8);
                    }
                }
                let s = String::from_utf8_lossy(&bytes).into_owned();
                lines = s.split('\n').map(str::to_owned).collect();
            }
            5 if !lines.is_empty() => {
                // insert a random token at a random word boundary
                let i = rng.below(lines.len());
                let mut words: Vec<&str> = lines[i].split(' ').collect();
                let at = rng.below(words.len() + 1);
                words.insert(at, TOKENS[rng.below(TOKENS.len())]);
                lines[i] = words.join(" ");
            }
            _ if !lines.is_empty() => {
                // replace a word by a random token
                let i = rng.below(lines.len());
                let mut words: Vec<&str> = lines[i].split(' ').collect();
                let at = rng.below(words.len());
                words[at] = TOKENS[rng.below(TOKENS.len())];
                lines[i] = words.join(" ");
            }
            _ => {}
        }
    }
    lines.join("\n")
}

#[test]
fn mutated_inputs_never_panic() {
    let sets = router_sets();
    let fixtures = [
        (ROUTER, Family::Ipv4),
        (FIREWALLD, Family::Ipv4),
        (UFW, Family::Ipv4),
        (DOCKER, Family::Ipv4),
        (ROUTER6, Family::Ipv6),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut ok, mut refused) = (0usize, 0usize);
    for (text, family) in fixtures {
        for _ in 0..3_000 {
            let m = mutate(&mut rng, text);
            match parse_iptables_save(&m, "m.rules", family, &sets) {
                Ok(_) => ok += 1,
                Err(e) => {
                    assert!(e.line >= 1 && e.column >= 1, "{e}");
                    refused += 1;
                }
            }
        }
    }
    for _ in 0..3_000 {
        let m = mutate(&mut rng, ROUTER_SETS);
        if let Ok(s) = parse_ipset_save(&m, "m.ipset") {
            let _ = parse_iptables_save(ROUTER, "m.rules", Family::Ipv4, &s);
            ok += 1;
        } else {
            refused += 1;
        }
    }
    // Both outcomes happen: the mutations are neither all harmless nor all fatal.
    assert!(ok > 100 && refused > 100, "ok {ok}, refused {refused}");
}
