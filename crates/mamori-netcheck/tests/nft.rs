//! The nft JSON parser against rulesets in the exact shape `nft -j list ruleset` prints: one compact line,
//! with jansson's `", "` and `": "` separators. Each fixture under `fixtures/nft/` has a companion `.nft` file
//! with the same ruleset in nft syntax, for a reader.
//!
//! - `municipal_router`: a Linux router between the zones of a city network — my_number 10.10.0.0/16 (mn0),
//!   LGWAN 10.20.0.0/16 (lg0), the internet-facing segment 10.30.0.0/16 (dmz0) with the sanitising mail
//!   relay 10.30.0.25, the uplink wan0. `inet filter`: a forward base chain with policy drop,
//!   `ct state established,related accept`, a verdict map on `iifname` jumping into one user chain per zone,
//!   a named interval set of LGWAN mail servers, a jump to a logging chain. `ip nat`: DNAT of tcp/25 from the
//!   uplink to the relay. Everything in it is modelled, so it has no warnings.
//! - `two_base_chains`: two base chains on the forward hook (priorities -10 and 10), an accept in one and a
//!   drop in the other.
//! - `firewalld`: what firewalld's nftables backend generates (`table inet firewalld`, `filter_FORWARD`,
//!   `filter_IN_public_allow`, zone dispatch by goto, a forward-port DNAT, masquerade); its `icmpv6 type`,
//!   `fib` lookups (other than `fib daddr type local`, bound by the analysis) and `ct status` matches are not
//!   modelled.
//! - `docker_iptables_nft`: what Docker leaves through iptables-nft (`DOCKER-USER`,
//!   `DOCKER-ISOLATION-STAGE-1` …); nft prints the iptables matches and targets it cannot translate as
//!   `{"xt": {"type": …, "name": …}}`, which are not modelled.
//!
//! The other tests build small documents inline, one element per line so that error positions are telling.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mamori_netcheck::ParseError;
use mamori_netcheck::ir::{
    Action, AddrRange, BaseChain, Chain, ChainType, CtState, Family, Hook, Iface, Match, Policy,
    PortRange, Rule, Ruleset, TableFamily, Test,
};
use mamori_netcheck::nft::{MAX_INPUT_BYTES, parse_nft_json};
use serde_json::Value;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/nft/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap()
}

const FIXTURES: [&str; 4] = [
    "municipal_router.json",
    "two_base_chains.json",
    "firewalld.json",
    "docker_iptables_nft.json",
];

fn chain<'r>(rs: &'r Ruleset, family: TableFamily, table: &str, name: &str) -> &'r Chain {
    rs.tables
        .iter()
        .find(|t| t.family == family && t.name == table)
        .unwrap_or_else(|| panic!("no table {table}"))
        .chain(name)
        .unwrap_or_else(|| panic!("no chain {name}"))
}

fn rules_of(c: &Chain, handle: u64) -> Vec<&Rule> {
    c.rules
        .iter()
        .filter(|r| r.origin.handle == Some(handle))
        .collect()
}

fn rule_of(c: &Chain, handle: u64) -> &Rule {
    let rs = rules_of(c, handle);
    assert_eq!(rs.len(), 1, "rules with handle {handle}");
    rs[0]
}

fn net(s: &str) -> AddrRange {
    AddrRange::parse(s).unwrap()
}

fn v4_range(a: &str, b: &str) -> AddrRange {
    AddrRange {
        family: Family::Ipv4,
        first: net(a).first,
        last: net(b).last,
    }
}

fn is(test: Test) -> Match {
    Match::is(test)
}

fn family(f: Family) -> Match {
    is(Test::Family { family: f })
}

fn v4() -> Match {
    family(Family::Ipv4)
}

fn tcp() -> Match {
    is(Test::Protocol { numbers: vec![6] })
}

fn src(nets: &[&str]) -> Test {
    Test::Addr {
        dst: false,
        ranges: nets.iter().map(|n| net(n)).collect(),
    }
}

fn dst(nets: &[&str]) -> Test {
    Test::Addr {
        dst: true,
        ranges: nets.iter().map(|n| net(n)).collect(),
    }
}

fn dport(ports: &[u16]) -> Match {
    is(Test::Port {
        dst: true,
        ranges: ports.iter().map(|p| PortRange::single(*p)).collect(),
    })
}

fn iface(out: bool, name: &str) -> Test {
    Test::Iface {
        out,
        names: vec![Iface {
            name: name.into(),
            wildcard: false,
        }],
    }
}

fn ct(states: &[CtState]) -> Match {
    is(Test::CtState {
        states: states.to_vec(),
    })
}

fn unknown(what: &str) -> Match {
    is(Test::Unknown { what: what.into() })
}

fn jump(c: &str) -> Action {
    Action::Jump { chain: c.into() }
}

fn messages(rs: &Ruleset) -> Vec<String> {
    rs.warnings.iter().map(|w| w.message.clone()).collect()
}

// ---------------------------------------------------------------------------------------------------------
// Small documents, one element per line: element `i` starts at line `i + 2`, column 3.

const META: &str = r#"{"metainfo": {"version": "1.0.9", "release_name": "Old Doc Yak #3", "json_schema_version": 1}}"#;
const TABLE: &str = r#"{"table": {"family": "inet", "name": "t", "handle": 1}}"#;
const CHAIN: &str = r#"{"chain": {"family": "inet", "table": "t", "name": "c", "handle": 2, "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}}"#;
const USER_CHAIN: &str = r#"{"chain": {"family": "inet", "table": "t", "name": "u", "handle": 3}}"#;

fn doc(elements: &[&str]) -> String {
    let lines: Vec<String> = elements.iter().map(|e| format!("  {e}")).collect();
    format!("{{\"nftables\": [\n{}\n]}}\n", lines.join(",\n"))
}

fn rule(handle: u64, expr: &str) -> String {
    format!(
        r#"{{"rule": {{"family": "inet", "table": "t", "chain": "c", "handle": {handle}, "expr": [{expr}]}}}}"#
    )
}

/// A document with the table, the base chain `c` and the user chain `u`, then `extra` elements.
fn with_rules(extra: &[&str]) -> String {
    let mut all = vec![META, TABLE, CHAIN, USER_CHAIN];
    all.extend_from_slice(extra);
    doc(&all)
}

fn parse(text: &str) -> Ruleset {
    parse_nft_json(text, "test.json").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn error(text: &str) -> ParseError {
    match parse_nft_json(text, "test.json") {
        Ok(rs) => panic!("parsed: {rs:#?}"),
        Err(e) => e,
    }
}

fn assert_error(e: &ParseError, line: usize, column: usize, expected: &str) {
    assert_eq!(e.file, "test.json");
    assert_eq!((e.line, e.column), (line, column), "{e}");
    assert!(e.expected.contains(expected), "{e}");
}

fn match_rule(m: &str) -> String {
    rule(
        10,
        &format!(r#"{{"match": {{"op": "==", {m}}}}}, {{"accept": null}}"#),
    )
}

fn saddr(right: &str) -> String {
    match_rule(&format!(
        r#""left": {{"payload": {{"protocol": "ip", "field": "saddr"}}}}, "right": {right}"#
    ))
}

fn dport_rule(right: &str) -> String {
    match_rule(&format!(
        r#""left": {{"payload": {{"protocol": "tcp", "field": "dport"}}}}, "right": {right}"#
    ))
}

fn only_rules(rs: &Ruleset) -> &[Rule] {
    &rs.tables[0].chain("c").unwrap().rules
}

// ---------------------------------------------------------------------------------------------------------
// The municipal router.

#[test]
fn municipal_router_is_modelled_exactly() {
    let text = fixture("municipal_router.json");
    assert_eq!(text.lines().count(), 1, "nft -j prints one line");
    let rs = parse_nft_json(&text, "router.json").unwrap();
    assert_eq!(&*rs.file, "router.json");
    assert!(rs.warnings.is_empty(), "{:#?}", rs.warnings);

    let names: Vec<(TableFamily, &str)> = rs
        .tables
        .iter()
        .map(|t| (t.family, t.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [(TableFamily::Inet, "filter"), (TableFamily::Ip, "nat")]
    );
    let chains: Vec<&str> = rs.tables[0]
        .chains
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        chains,
        [
            "input",
            "forward",
            "output",
            "from_lgwan",
            "from_internet",
            "from_wan",
            "log_drop"
        ]
    );

    let fwd = chain(&rs, TableFamily::Inet, "filter", "forward");
    assert_eq!(
        fwd.base,
        Some(BaseChain {
            hook: Hook::Forward,
            chain_type: ChainType::Filter,
            priority: 0,
            policy: Policy::Drop,
        })
    );
    assert_eq!(fwd.origin.handle, Some(2));
    assert!(
        chain(&rs, TableFamily::Inet, "filter", "from_lgwan")
            .base
            .is_none()
    );

    // ct state established,related accept
    let r = rule_of(fwd, 12);
    assert_eq!(r.matches, [ct(&[CtState::Established, CtState::Related])]);
    assert_eq!(r.action, Action::Accept);
    assert_eq!(r.origin.line, 1);
    assert_eq!(&*r.origin.file, "router.json");
    assert_eq!(r.text, "ct state established,related accept");

    // meta nfproto ipv6 drop
    let r = rule_of(fwd, 14);
    assert_eq!(r.matches, [family(Family::Ipv6)]);
    assert_eq!(r.action, Action::Drop);

    // oifname "mn0" counter drop: the counter changes nothing.
    let r = rule_of(fwd, 15);
    assert_eq!(r.matches, [is(iface(true, "mn0"))]);
    assert_eq!(r.action, Action::Drop);

    // The verdict map on iifname: one rule per entry, all with the map's handle, in place.
    let vmap = rules_of(fwd, 16);
    let entries: Vec<(Vec<Match>, Action)> = vmap
        .iter()
        .map(|r| (r.matches.clone(), r.action.clone()))
        .collect();
    assert_eq!(
        entries,
        [
            (vec![is(iface(false, "lg0"))], jump("from_lgwan")),
            (vec![is(iface(false, "dmz0"))], jump("from_internet")),
            (vec![is(iface(false, "wan0"))], jump("from_wan")),
            (vec![is(iface(false, "mn0"))], Action::Drop),
        ]
    );
    assert!(vmap.iter().all(|r| {
        r.origin.line == 1
            && r.text
                .starts_with("iifname vmap { \"lg0\" : jump from_lgwan,")
    }));
    let order: Vec<Option<u64>> = fwd.rules.iter().map(|r| r.origin.handle).collect();
    assert_eq!(
        order,
        [12, 13, 14, 15, 16, 16, 16, 16, 17].map(Some).to_vec()
    );
    assert_eq!(rule_of(fwd, 17).action, jump("log_drop"));

    // ip saddr != 10.20.0.0/16 drop: the family the inet table leaves open is stated, and holds either way.
    let r = rule_of(chain(&rs, TableFamily::Inet, "filter", "from_lgwan"), 18);
    assert_eq!(r.matches, [v4(), Match::not(src(&["10.20.0.0/16"]))]);
    assert_eq!(r.action, Action::Drop);

    // Sanitised mail into LGWAN: the named interval set becomes its prefix and range; tcp dport implies tcp.
    let r = rule_of(chain(&rs, TableFamily::Inet, "filter", "from_internet"), 20);
    assert_eq!(
        r.matches,
        [
            v4(),
            is(src(&["10.30.0.25"])),
            is(Test::Addr {
                dst: true,
                ranges: vec![net("10.20.10.0/28"), v4_range("10.20.20.10", "10.20.20.19")],
            }),
            tcp(),
            dport(&[25]),
        ]
    );
    assert_eq!(r.action, Action::Accept);
    assert_eq!(
        r.text,
        "ip saddr 10.30.0.25 ip daddr @lgwan_mail tcp dport 25 accept comment \"sanitised mail in\""
    );

    // An anonymous set of ports.
    let r = rule_of(chain(&rs, TableFamily::Inet, "filter", "from_wan"), 23);
    assert_eq!(
        r.matches,
        [v4(), is(dst(&["10.30.0.0/16"])), tcp(), dport(&[80, 443])]
    );

    // counter log prefix … drop
    let r = rule_of(chain(&rs, TableFamily::Inet, "filter", "log_drop"), 24);
    assert!(r.matches.is_empty());
    assert_eq!(r.action, Action::Drop);

    // ip nat: DNAT of tcp/25 from the uplink to the relay, before the forward chain.
    let pre = chain(&rs, TableFamily::Ip, "nat", "prerouting");
    assert_eq!(
        pre.base,
        Some(BaseChain {
            hook: Hook::Prerouting,
            chain_type: ChainType::Nat,
            priority: -100,
            policy: Policy::Accept,
        })
    );
    let r = rule_of(pre, 3);
    assert_eq!(r.matches, [is(iface(false, "wan0")), tcp(), dport(&[25])]);
    assert_eq!(
        r.action,
        Action::Dnat {
            to: Some(net("10.30.0.25")),
            ports: None
        }
    );
    let r = rule_of(chain(&rs, TableFamily::Ip, "nat", "postrouting"), 4);
    assert_eq!(r.matches, [is(iface(true, "wan0"))]);
    assert_eq!(r.action, Action::Snat);
}

#[test]
fn rule_lines_are_where_the_rule_objects_start() {
    // The same ruleset pretty-printed (as `nft -j list ruleset | jq .` would): every rule on its own lines.
    let value: Value = serde_json::from_str(&fixture("municipal_router.json")).unwrap();
    let pretty = serde_json::to_string_pretty(&value).unwrap();
    let lines: Vec<&str> = pretty.lines().collect();
    let rs = parse_nft_json(&pretty, "pretty.json").unwrap();
    let mut seen = 0;
    for t in &rs.tables {
        for c in &t.chains {
            assert!(lines[c.origin.line].contains("\"chain\": {"), "{}", c.name);
            for r in &c.rules {
                let start = r.origin.line - 1;
                assert_eq!(lines[start].trim(), "{");
                assert!(lines[start + 1].contains("\"rule\": {"));
                let handle = format!("\"handle\": {}", r.origin.handle.unwrap());
                let end = (start + 1..lines.len())
                    .find(|&i| lines[i].starts_with("    }"))
                    .unwrap();
                assert!(
                    lines[start..end]
                        .iter()
                        .any(|l| l.trim().trim_end_matches(',') == handle),
                    "{handle} in the rule at line {}",
                    r.origin.line
                );
                seen += 1;
            }
        }
    }
    assert_eq!(seen, 21);
}

#[test]
fn two_base_chains_on_one_hook_keep_their_priorities() {
    let rs = parse_nft_json(&fixture("two_base_chains.json"), "zones.json").unwrap();
    assert!(rs.warnings.is_empty());
    let early = chain(&rs, TableFamily::Inet, "zones", "early");
    let late = chain(&rs, TableFamily::Inet, "zones", "late");
    let base = |priority| {
        Some(BaseChain {
            hook: Hook::Forward,
            chain_type: ChainType::Filter,
            priority,
            policy: Policy::Accept,
        })
    };
    assert_eq!(early.base, base(-10));
    assert_eq!(late.base, base(10));
    assert_eq!(early.rules.len(), 1);
    assert_eq!(early.rules[0].matches, [v4(), is(src(&["10.20.0.0/16"]))]);
    assert_eq!(early.rules[0].action, Action::Accept);
    assert_eq!(late.rules.len(), 1);
    assert_eq!(
        late.rules[0].matches,
        [v4(), is(src(&["10.20.0.0/16"])), is(dst(&["10.10.0.0/16"]))]
    );
    assert_eq!(late.rules[0].action, Action::Drop);
}

#[test]
fn firewalld_parses_and_warns_exactly_about_what_is_not_modelled() {
    let rs = parse_nft_json(&fixture("firewalld.json"), "firewalld.json").unwrap();
    assert_eq!(rs.tables.len(), 1);
    assert_eq!(rs.tables[0].chains.len(), 29);
    let warned: Vec<(Option<u64>, String)> = rs
        .warnings
        .iter()
        .map(|w| (w.origin.handle, w.message.clone()))
        .collect();
    let reason = |what: &str, left: &str| {
        format!(
            "`{what}` is not modelled ({left} is not in the model); treated as possibly matching"
        )
    };
    assert_eq!(
        warned,
        [
            (
                Some(42),
                format!(
                    "inet firewalld filter_PREROUTING: {}",
                    reason(
                        "icmpv6 type { nd-router-advert, nd-neighbor-solicit }",
                        "icmpv6 type"
                    )
                )
            ),
            (
                Some(43),
                format!(
                    "inet firewalld filter_PREROUTING: {}",
                    reason(
                        "fib saddr . mark . iif oif missing",
                        "fib saddr . mark . iif oif"
                    )
                )
            ),
            (
                Some(45),
                format!(
                    "inet firewalld filter_INPUT: {}",
                    reason("ct status dnat", "ct status")
                )
            ),
            (
                Some(51),
                format!(
                    "inet firewalld filter_FORWARD: {}",
                    reason("ct status dnat", "ct status")
                )
            ),
        ]
    );

    let fwd = chain(&rs, TableFamily::Inet, "firewalld", "filter_FORWARD");
    assert_eq!(
        fwd.base,
        Some(BaseChain {
            hook: Hook::Forward,
            chain_type: ChainType::Filter,
            priority: 10,
            policy: Policy::Accept,
        })
    );
    assert_eq!(
        rule_of(fwd, 50).matches,
        [ct(&[CtState::Established, CtState::Related])]
    );
    assert_eq!(rule_of(fwd, 51).matches, [unknown("ct status dnat")]);
    assert_eq!(rule_of(fwd, 51).action, Action::Accept);
    let r = rule_of(fwd, 54);
    assert_eq!(r.matches[0], family(Family::Ipv6));
    assert!(matches!(&r.matches[1].test, Test::Addr { dst: true, ranges } if ranges.len() == 9));
    assert_eq!(r.action, Action::Reject);
    assert_eq!(rule_of(fwd, 56).action, Action::Reject);

    // An icmpv6 match also says ICMPv6 over IPv6, which the model keeps beside the unknown part.
    let pre = chain(&rs, TableFamily::Inet, "firewalld", "filter_PREROUTING");
    assert_eq!(
        rule_of(pre, 42).matches,
        [
            family(Family::Ipv6),
            is(Test::Protocol { numbers: vec![58] }),
            unknown("icmpv6 type { nd-router-advert, nd-neighbor-solicit }")
        ]
    );

    let zones = chain(&rs, TableFamily::Inet, "firewalld", "filter_FORWARD_ZONES");
    let dispatch: Vec<(Vec<Match>, Action)> = zones
        .rules
        .iter()
        .map(|r| (r.matches.clone(), r.action.clone()))
        .collect();
    let goto = |c: &str| Action::Goto { chain: c.into() };
    assert_eq!(
        dispatch,
        [
            (vec![is(iface(false, "eth1"))], goto("filter_FWD_internal")),
            (vec![is(iface(false, "eth0"))], goto("filter_FWD_public")),
            (vec![], goto("filter_FWD_public")),
        ]
    );

    let allow = chain(
        &rs,
        TableFamily::Inet,
        "firewalld",
        "filter_IN_public_allow",
    );
    assert_eq!(
        allow.rules[0].matches,
        [tcp(), dport(&[22]), ct(&[CtState::New, CtState::Untracked])]
    );
    // ct helper set "…" changes nothing the analysis follows.
    let internal = chain(
        &rs,
        TableFamily::Inet,
        "firewalld",
        "filter_IN_internal_allow",
    );
    assert_eq!(rule_of(internal, 79).action, Action::Continue);
    assert_eq!(
        rule_of(internal, 79).text,
        "udp dport 137 ct helper set \"helper-netbios-ns-udp\""
    );

    // The forward-port: `dnat ip to` in an inet table applies to IPv4 only (stated once).
    let nat = chain(&rs, TableFamily::Inet, "firewalld", "nat_PRE_public_allow");
    assert_eq!(nat.rules[0].matches, [v4(), tcp(), dport(&[8080])]);
    assert_eq!(
        nat.rules[0].action,
        Action::Dnat {
            to: Some(net("192.168.50.10")),
            ports: Some(PortRange::single(80))
        }
    );
    let pre_nat = chain(&rs, TableFamily::Inet, "firewalld", "nat_PREROUTING");
    assert_eq!(pre_nat.base.unwrap().priority, -90);
    assert_eq!(pre_nat.base.unwrap().chain_type, ChainType::Nat);
}

#[test]
fn docker_with_iptables_nft_parses_and_warns_about_each_xt_expression() {
    let rs = parse_nft_json(&fixture("docker_iptables_nft.json"), "docker.json").unwrap();
    let warned: Vec<(Option<u64>, String)> = rs
        .warnings
        .iter()
        .map(|w| (w.origin.handle, w.message.clone()))
        .collect();
    let target = |chain: &str, name: &str| {
        format!(
            "ip nat {chain}: `xt target \"{name}\"` is not modelled (an iptables-nft compat target, which nft -j does not describe); treated as possibly accepting"
        )
    };
    let matcher = |table: &str, chain: &str, name: &str| {
        format!(
            "ip {table} {chain}: `xt match \"{name}\"` is not modelled (an iptables-nft compat match, which nft -j does not describe); treated as possibly matching"
        )
    };
    assert_eq!(
        warned,
        [
            (Some(12), target("DOCKER", "DNAT")),
            (Some(8), target("POSTROUTING", "MASQUERADE")),
            (Some(7), matcher("nat", "PREROUTING", "addrtype")),
            (Some(9), matcher("nat", "OUTPUT", "addrtype")),
            (Some(9), matcher("filter", "FORWARD", "conntrack")),
        ]
    );

    let dnat = rule_of(chain(&rs, TableFamily::Ip, "nat", "DOCKER"), 12);
    assert_eq!(
        dnat.matches,
        [Match::not(iface(false, "docker0")), tcp(), dport(&[8080])]
    );
    assert_eq!(
        dnat.action,
        Action::Unknown {
            what: "xt target \"DNAT\"".into()
        }
    );

    let fwd = chain(&rs, TableFamily::Ip, "filter", "FORWARD");
    assert_eq!(fwd.base.unwrap().policy, Policy::Drop);
    let r = rule_of(fwd, 9);
    assert_eq!(
        r.matches,
        [
            is(iface(true, "docker0")),
            unknown("xt match \"conntrack\"")
        ]
    );
    assert_eq!(r.action, Action::Accept);
    assert_eq!(rule_of(fwd, 7).action, jump("DOCKER-USER"));
    let user = chain(&rs, TableFamily::Ip, "filter", "DOCKER-USER");
    assert_eq!(user.rules[0].action, Action::Return);
    assert!(user.rules[0].matches.is_empty());
    let iso = chain(&rs, TableFamily::Ip, "filter", "DOCKER-ISOLATION-STAGE-1");
    assert_eq!(
        iso.rules[0].matches,
        [
            is(iface(false, "docker0")),
            Match::not(iface(true, "docker0"))
        ]
    );
}

#[test]
fn xt_printed_without_a_name_is_a_target_when_last_and_a_match_otherwise() {
    // Older nft prints `{"xt": null}`.
    let rs = parse(&with_rules(&[
        &rule(
            10,
            r#"{"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "docker0"}}, {"xt": null}, {"counter": {"packets": 0, "bytes": 0}}, {"accept": null}"#,
        ),
        &rule(
            11,
            r#"{"counter": {"packets": 0, "bytes": 0}}, {"xt": null}"#,
        ),
    ]));
    let rules = only_rules(&rs);
    assert_eq!(
        rules[0].matches,
        [is(iface(true, "docker0")), unknown("xt")]
    );
    assert_eq!(rules[0].action, Action::Accept);
    assert_eq!(rules[1].action, Action::Unknown { what: "xt".into() });
    assert_eq!(rs.warnings.len(), 2);
    assert_eq!(rs.warnings[0].origin.line, 6);
}

// ---------------------------------------------------------------------------------------------------------
// Matches, sets, maps and actions.

#[test]
fn comparisons_wildcards_and_families() {
    let rs = parse(&with_rules(&[
        &match_rule(
            r#""left": {"payload": {"protocol": "udp", "field": "sport"}}, "right": 1024, "op": ">=""#,
        )
        .replace(r#""op": "==", "#, ""),
        &match_rule(
            r#""left": {"payload": {"protocol": "th", "field": "dport"}}, "right": {"range": [6000, 6063]}"#,
        ),
        &match_rule(r#""left": {"meta": {"key": "iifname"}}, "right": {"set": ["eth*", "wg0", "odd\\*"]}"#),
        &match_rule(r#""left": {"payload": {"protocol": "ip6", "field": "saddr"}}, "right": {"prefix": {"addr": "2001:db8::", "len": 32}}"#),
        &match_rule(r#""left": {"meta": {"key": "nfproto"}}, "right": {"set": ["ipv4", "ipv6"]}"#),
        &match_rule(r#""left": {"meta": {"key": "l4proto"}}, "right": {"set": ["tcp", 17, "ipv6-icmp"]}"#),
        &match_rule(r#""left": {"meta": {"key": "iif"}}, "right": 3"#),
    ]));
    let r = only_rules(&rs);
    assert_eq!(
        r[0].matches,
        [
            is(Test::Protocol { numbers: vec![17] }),
            is(Test::Port {
                dst: false,
                ranges: vec![PortRange {
                    first: 1024,
                    last: 65535
                }]
            })
        ]
    );
    // `th` names no protocol.
    assert_eq!(
        r[1].matches,
        [is(Test::Port {
            dst: true,
            ranges: vec![PortRange {
                first: 6000,
                last: 6063
            }]
        })]
    );
    assert_eq!(
        r[2].matches,
        [is(Test::Iface {
            out: false,
            names: vec![
                Iface {
                    name: "eth".into(),
                    wildcard: true
                },
                Iface {
                    name: "wg0".into(),
                    wildcard: false
                },
                Iface {
                    name: "odd*".into(),
                    wildcard: false
                },
            ]
        })]
    );
    assert_eq!(
        r[3].matches,
        [family(Family::Ipv6), is(src(&["2001:db8::/32"]))]
    );
    // Both families: every IP packet, so no test.
    assert!(r[4].matches.is_empty());
    assert_eq!(
        r[5].matches,
        [is(Test::Protocol {
            numbers: vec![6, 17, 58]
        })]
    );
    // An interface index without its name is unknown.
    assert_eq!(r[6].matches, [unknown("iif 3")]);
    assert_eq!(messages(&rs).len(), 1);
    assert!(messages(&rs)[0].contains("interface index 3"));
}

#[test]
fn sets_that_are_concatenated_or_change_at_run_time_are_unknown() {
    let rs = parse(&with_rules(&[
        r#"{"set": {"family": "inet", "name": "pairs", "table": "t", "type": ["ipv4_addr", "inet_service"], "handle": 4, "elem": [{"concat": ["10.0.0.1", 25]}]}}"#,
        r#"{"set": {"family": "inet", "name": "banned", "table": "t", "type": "ipv4_addr", "handle": 5, "flags": ["timeout"], "timeout": 3600}}"#,
        r#"{"set": {"family": "inet", "name": "marks", "table": "t", "type": "mark", "handle": 6, "elem": [1, 2]}}"#,
        r#"{"set": {"family": "inet", "name": "typed", "table": "t", "type": {"typeof": {"payload": {"protocol": "ip", "field": "daddr"}}}, "handle": 7, "flags": ["interval"], "elem": [{"elem": {"val": {"prefix": {"addr": "10.20.0.0", "len": 16}}, "comment": "lgwan"}}]}}"#,
        &match_rule(
            r#""left": {"concat": [{"payload": {"protocol": "ip", "field": "saddr"}}, {"payload": {"protocol": "tcp", "field": "dport"}}]}, "right": "@pairs""#,
        ),
        &saddr(r#""@banned""#),
        &saddr(r#""@marks""#),
        &saddr(r#""@typed""#),
    ]));
    let r = only_rules(&rs);
    assert_eq!(
        r[0].matches,
        [v4(), tcp(), unknown("ip saddr . tcp dport @pairs")]
    );
    assert_eq!(r[1].matches, [v4(), unknown("ip saddr @banned")]);
    assert_eq!(r[2].matches, [v4(), unknown("ip saddr @marks")]);
    // typeof sets work; elements may carry comments.
    assert_eq!(r[3].matches, [v4(), is(src(&["10.20.0.0/16"]))]);
    let m = messages(&rs);
    assert_eq!(m.len(), 3, "{m:#?}");
    assert!(m[0].contains("ip saddr . tcp dport is not in the model"));
    assert!(m[1].contains("set @banned changes at run time (flags timeout)"));
    assert!(m[2].contains("set @marks has type mark, not ipv4_addr"));
}

#[test]
fn verdict_maps_named_concatenated_and_with_catch_all() {
    let rs = parse(&with_rules(&[
        r#"{"map": {"family": "inet", "name": "zone_of", "table": "t", "type": "ifname", "handle": 4, "map": "verdict", "elem": [["lg0", {"jump": {"target": "u"}}], ["mn0", {"drop": null}]]}}"#,
        &rule(
            10,
            r#"{"vmap": {"key": {"meta": {"key": "iifname"}}, "data": "@zone_of"}}"#,
        ),
        &rule(
            11,
            r#"{"vmap": {"key": {"concat": [{"meta": {"key": "iifname"}}, {"meta": {"key": "oifname"}}]}, "data": {"set": [[{"concat": ["lg0", "dmz0"]}, {"accept": null}], ["*", {"drop": null}]]}}}"#,
        ),
        &rule(
            12,
            r#"{"vmap": {"key": {"meta": {"key": "mark"}}, "data": {"set": [[1, {"accept": null}], [2, {"goto": {"target": "u"}}]]}}}"#,
        ),
    ]));
    let r = only_rules(&rs);
    let got: Vec<(Option<u64>, Vec<Match>, Action)> = r
        .iter()
        .map(|r| (r.origin.handle, r.matches.clone(), r.action.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (Some(10), vec![is(iface(false, "lg0"))], jump("u")),
            (Some(10), vec![is(iface(false, "mn0"))], Action::Drop),
            (
                Some(11),
                vec![is(iface(false, "lg0")), is(iface(true, "dmz0"))],
                Action::Accept
            ),
            (Some(11), vec![], Action::Drop),
            (Some(12), vec![unknown("mark 1")], Action::Accept),
            (
                Some(12),
                vec![unknown("mark 2")],
                Action::Goto { chain: "u".into() }
            ),
        ]
    );
    // One warning for the map on an unmodelled key, not one per entry.
    assert_eq!(messages(&rs).len(), 1);
    assert!(messages(&rs)[0].contains("`mark vmap …` is not modelled"));
}

#[test]
fn nat_forms() {
    let rs = parse(&with_rules(&[
        &rule(
            10,
            r#"{"dnat": {"family": "ip", "addr": {"range": ["10.30.0.10", "10.30.0.19"]}, "port": {"range": [8000, 8009]}}}"#,
        ),
        &rule(
            11,
            r#"{"dnat": {"family": "ip", "addr": {"map": {"key": {"payload": {"protocol": "tcp", "field": "dport"}}, "data": {"set": [[25, "10.30.0.25"], [443, {"concat": ["10.30.0.80", 8443]}]]}}}}}"#,
        ),
        &rule(11, r#"{"redirect": {"port": 3128}}"#),
        &rule(12, r#"{"masquerade": null}"#),
        &rule(
            13,
            r#"{"dnat": {"family": "ip", "addr": {"&": [{"payload": {"protocol": "ip", "field": "daddr"}}, "0.0.0.255"]}}}"#,
        ),
        &rule(
            14,
            r#"{"mangle": {"key": {"payload": {"protocol": "ip", "field": "daddr"}}, "value": "10.30.0.25"}}, {"accept": null}"#,
        ),
        &rule(
            15,
            r#"{"mangle": {"key": {"meta": {"key": "mark"}}, "value": 1}}"#,
        ),
    ]));
    let r = only_rules(&rs);
    assert_eq!(r[0].matches, [v4()]);
    assert_eq!(
        r[0].action,
        Action::Dnat {
            to: Some(v4_range("10.30.0.10", "10.30.0.19")),
            ports: Some(PortRange {
                first: 8000,
                last: 8009
            })
        }
    );
    assert_eq!(r[1].matches, [v4(), tcp(), dport(&[25])]);
    assert_eq!(
        r[1].action,
        Action::Dnat {
            to: Some(net("10.30.0.25")),
            ports: None
        }
    );
    assert_eq!(r[2].matches, [v4(), tcp(), dport(&[443])]);
    assert_eq!(
        r[2].action,
        Action::Dnat {
            to: Some(net("10.30.0.80")),
            ports: Some(PortRange::single(8443))
        }
    );
    assert_eq!(
        r[3].action,
        Action::Redirect {
            ports: Some(PortRange::single(3128))
        }
    );
    assert_eq!(r[4].action, Action::Snat);
    assert!(matches!(r[5].action, Action::Unknown { .. }));
    assert!(matches!(r[6].action, Action::Unknown { .. }));
    assert_eq!(r[7].action, Action::Continue);
    let m = messages(&rs);
    assert_eq!(m.len(), 2, "{m:#?}");
    assert!(m[0].contains("address computed by `ip daddr & 0.0.0.255`"));
    assert!(m[1].contains("`ip daddr set 10.30.0.25` is not modelled (rewrites an address"));
}

#[test]
fn statements_that_continue_condition_or_are_unknown() {
    let rs = parse(&with_rules(&[
        &rule(
            10,
            r#"{"counter": {"packets": 1, "bytes": 2}}, {"log": {"prefix": "x "}}, {"notrack": null}, {"mangle": {"key": {"ct": {"key": "mark"}}, "value": 7}}"#,
        ),
        &rule(
            11,
            r#"{"limit": {"rate": 10, "burst": 5, "per": "second"}}, {"accept": null}"#,
        ),
        &rule(12, r#"{"queue": {"num": 1}}"#),
        &rule(13, r#"{"flow": {"op": "add", "flowtable": "@ft"}}"#),
        &rule(14, r#"{"fwd": {"dev": "eth1"}}"#),
        &rule(15, r#"{"teleport": {"to": "mars"}}"#),
        &rule(
            16,
            r#""some statement nft printed as text", {"drop": null}"#,
        ),
        &rule(17, r#"{"accept": null}, {"drop": null}"#),
    ]));
    let r = only_rules(&rs);
    assert!(r[0].matches.is_empty());
    assert_eq!(r[0].action, Action::Continue);
    assert_eq!(r[1].matches, [unknown("limit rate 10/second")]);
    assert_eq!(r[1].action, Action::Accept);
    for (i, what) in [
        (2, "queue 1"),
        (3, "flow add @ft"),
        (4, "fwd eth1"),
        (5, "teleport mars"),
    ] {
        assert_eq!(r[i].action, Action::Unknown { what: what.into() });
    }
    assert_eq!(
        r[6].matches,
        [unknown("some statement nft printed as text")]
    );
    // A verdict ends the rule.
    assert_eq!(r[7].action, Action::Accept);
    assert_eq!(rs.warnings.len(), 6);
}

#[test]
fn bridge_and_netdev_tables_are_kept_and_warn_only_about_what_can_bypass_ip() {
    let text = doc(&[
        META,
        r#"{"table": {"family": "netdev", "name": "edge", "handle": 1}}"#,
        r#"{"chain": {"family": "netdev", "table": "edge", "name": "in", "handle": 1, "dev": "eth0", "type": "filter", "hook": "ingress", "prio": -500, "policy": "accept"}}"#,
        r#"{"rule": {"family": "netdev", "table": "edge", "chain": "in", "handle": 2, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ether", "field": "saddr"}}, "right": "00:11:22:33:44:55"}}, {"drop": null}]}}"#,
        r#"{"rule": {"family": "netdev", "table": "edge", "chain": "in", "handle": 3, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "10.10.0.1"}}, {"fwd": {"dev": "eth9"}}]}}"#,
        r#"{"table": {"family": "bridge", "name": "br", "handle": 2}}"#,
        r#"{"chain": {"family": "bridge", "table": "br", "name": "fwd", "handle": 1, "type": "filter", "hook": "forward", "prio": "filter", "policy": "accept"}}"#,
        r#"{"table": {"family": "inet", "name": "early", "handle": 3}}"#,
        r#"{"chain": {"family": "inet", "table": "early", "name": "ing", "handle": 1, "dev": "eth0", "type": "filter", "hook": "ingress", "prio": 0, "policy": "drop"}}"#,
    ]);
    let rs = parse(&text);
    assert_eq!(rs.tables[0].family, TableFamily::Other);
    let ingress = chain(&rs, TableFamily::Other, "edge", "in");
    assert_eq!(ingress.base.unwrap().hook, Hook::Prerouting);
    assert_eq!(ingress.base.unwrap().priority, -500 - (1 << 30));
    assert_eq!(
        ingress.rules[0].matches,
        [unknown("ether saddr 00:11:22:33:44:55")]
    );
    assert_eq!(ingress.rules[1].matches, [v4(), is(dst(&["10.10.0.1"]))]);
    assert_eq!(
        chain(&rs, TableFamily::Other, "br", "fwd")
            .base
            .unwrap()
            .priority,
        -200
    );
    let inet_ingress = chain(&rs, TableFamily::Inet, "early", "ing");
    assert_eq!(inet_ingress.base.unwrap().priority, -(1 << 30));
    assert_eq!(inet_ingress.base.unwrap().policy, Policy::Drop);
    let m = messages(&rs);
    assert_eq!(m.len(), 1, "{m:#?}");
    assert!(m[0].starts_with("netdev edge in: `fwd eth9` is not modelled"));
    assert_eq!(rs.warnings[0].origin.line, 6);
    assert_eq!(rs.warnings[0].origin.handle, Some(3));
}

#[test]
fn priorities_and_policies() {
    let rs = parse(&doc(&[
        TABLE,
        r#"{"chain": {"family": "inet", "table": "t", "name": "a", "handle": 1, "type": "filter", "hook": "prerouting", "prio": "mangle - 5"}}"#,
        r#"{"chain": {"family": "inet", "table": "t", "name": "b", "handle": 2, "type": "nat", "hook": "postrouting", "prio": "srcnat", "policy": "drop"}}"#,
        r#"{"chain": {"family": "inet", "table": "t", "name": "c", "handle": 3, "type": "route", "hook": "output", "prio": -150, "policy": "accept"}}"#,
    ]));
    let bases: Vec<BaseChain> = rs.tables[0]
        .chains
        .iter()
        .map(|c| c.base.unwrap())
        .collect();
    assert_eq!(
        bases,
        [
            BaseChain {
                hook: Hook::Prerouting,
                chain_type: ChainType::Filter,
                priority: -155,
                policy: Policy::Accept
            },
            // nat chains always accept.
            BaseChain {
                hook: Hook::Postrouting,
                chain_type: ChainType::Nat,
                priority: 100,
                policy: Policy::Accept
            },
            BaseChain {
                hook: Hook::Output,
                chain_type: ChainType::Route,
                priority: -150,
                policy: Policy::Accept
            },
        ]
    );
}

// ---------------------------------------------------------------------------------------------------------
// Errors, with their positions.

#[test]
fn text_that_is_not_json_is_an_error_at_its_position() {
    let e = error("Error: Could not process rule: Operation not permitted\n");
    assert_error(&e, 1, 1, "JSON");
    assert_eq!(e.found, "expected value");
    let e = error("nft: command not found\n");
    assert_error(&e, 1, 2, "JSON");
    // Line 2 holds eight kana before the error: the column counts characters, not bytes.
    let text = with_rules(&[])
        .replace("Old Doc Yak #3", "古いドキュメント")
        .replace("\"json_schema_version\": 1}", "\"json_schema_version\": }");
    let line = text.lines().nth(1).unwrap();
    let at = line.find(": }").unwrap() + 2;
    assert_eq!(line[..at].chars().count() + 1, at + 1 - 16);
    let e = error(&text);
    assert_error(&e, 2, at + 1 - 16, "JSON");
    assert_eq!(e.found, "expected value");
    // Cut short inside a string.
    let full = fixture("municipal_router.json");
    let cut = full.find("\"name\": \"input\"").unwrap() + 11;
    let e = error(&full[..cut]);
    assert_eq!(
        (e.line, e.found.as_str()),
        (1, "EOF while parsing a string")
    );
}

#[test]
fn a_document_without_an_nftables_array_is_an_error() {
    for text in [
        "[]",
        "{\"nft\": []}",
        "{\"nftables\": {}}",
        "\"nftables\"",
        "null",
    ] {
        let e = error(text);
        assert_error(&e, 1, 1, "nftables");
    }
    let e = error(&doc(&[META, "42"]));
    assert_error(&e, 3, 3, "a ruleset element");
    let e = error(&doc(&[
        META,
        r#"{"table": {"family": "inet", "name": "t"}, "extra": 1}"#,
    ]));
    assert_error(&e, 3, 3, "one key");
    let e = error(&doc(&[
        r#"{"add": {"table": {"family": "inet", "name": "t"}}}"#,
    ]));
    assert_error(&e, 2, 3, "not commands");
}

#[test]
fn rules_and_chains_must_follow_their_table_and_chain() {
    let accept = rule(10, r#"{"accept": null}"#);
    let e = error(&doc(&[META, &accept, TABLE, CHAIN]));
    assert_error(&e, 3, 3, "a rule in a table listed before it");
    assert_eq!(e.found, "table inet t");
    let e = error(&doc(&[META, TABLE, &accept, CHAIN]));
    assert_error(
        &e,
        4,
        3,
        "a rule in a chain of table inet t listed before it",
    );
    assert_eq!(e.found, "chain c");
    let e = error(&doc(&[META, CHAIN, TABLE]));
    assert_error(&e, 3, 3, "a chain of a table listed before it");
    let e = error(&doc(&[META, TABLE, CHAIN, CHAIN]));
    assert_error(&e, 5, 3, "each chain listed once");
    let e = error(&doc(&[META, TABLE, TABLE]));
    assert_error(&e, 4, 3, "each table listed once");
    let e = error(&doc(&[
        META,
        r#"{"set": {"family": "inet", "name": "s", "table": "t", "type": "ipv4_addr"}}"#,
        TABLE,
    ]));
    assert_error(&e, 3, 3, "a set of a table listed before it");
    let e = error(&doc(&[
        META,
        r#"{"table": {"family": "ipx", "name": "t"}}"#,
    ]));
    assert_error(&e, 3, 3, "a table family");
}

#[test]
fn jumps_must_go_to_chains_of_the_table() {
    let e = error(&with_rules(&[&rule(
        10,
        r#"{"jump": {"target": "nowhere"}}"#,
    )]));
    assert_error(&e, 6, 3, "a chain of table inet t to jump or go to");
    assert_eq!(e.found, "nowhere");
    let e = error(&with_rules(&[
        &rule(10, r#"{"goto": {"target": "u"}}"#),
        &rule(
            11,
            r#"{"vmap": {"key": {"meta": {"key": "iifname"}}, "data": {"set": [["eth0", {"goto": {"target": "gone"}}]]}}}"#,
        ),
    ]));
    assert_error(&e, 7, 3, "to jump or go to");
    assert_eq!(e.found, "gone");
}

#[test]
fn malformed_addresses_and_ports_are_errors() {
    let cases: [(String, &str, &str); 10] = [
        (saddr(r#""10.0.0.300""#), "an IPv4 address", "10.0.0.300"),
        (
            saddr(r#"{"prefix": {"addr": "10.0.0.0", "len": 33}}"#),
            "an IPv4 address",
            "10.0.0.0/33",
        ),
        (saddr(r#""2001:db8::1""#), "an IPv4 address", "2001:db8::1"),
        (
            saddr(r#"{"range": ["10.0.0.9", "10.0.0.1"]}"#),
            "from low to high",
            "{\"range\":[\"10.0.0.9\",\"10.0.0.1\"]}",
        ),
        (saddr("true"), "an IPv4 address", "true"),
        (dport_rule("70000"), "a port number", "70000"),
        (dport_rule("-1"), "a port number", "-1"),
        (dport_rule(r#""99999""#), "a port number", "99999"),
        (
            dport_rule(r#"{"range": [443, 80]}"#),
            "from low to high",
            "{\"range\":[443,80]}",
        ),
        (dport_rule("25.5"), "a port number", "25.5"),
    ];
    for (r, expected, found) in &cases {
        let e = error(&with_rules(&[r]));
        assert_error(&e, 6, 3, expected);
        assert_eq!(&e.found, found);
    }
    // Ports out of range on the right of a comparison, too.
    let e = error(&with_rules(&[&match_rule(
        r#""left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 65536, "op": "<""#,
    )
    .replace(r#""op": "==", "#, "")]));
    assert_error(&e, 6, 3, "a port number");
}

#[test]
fn other_malformed_rules_are_errors() {
    let e = error(&with_rules(&[&saddr(r#""@nope""#)]));
    assert_error(&e, 6, 3, "a set or map of table inet t");
    assert_eq!(e.found, "@nope");
    let e = error(&with_rules(&[&rule(10, "42")]));
    assert_error(&e, 6, 3, "a statement");
    let e = error(&with_rules(&[&rule(
        10,
        r#"{"match": {"left": {"meta": {"key": "iifname"}}, "right": "lo"}}"#,
    )]));
    assert_error(&e, 6, 3, "an \"op\" string");
    let e = error(&with_rules(&[&match_rule(
        r#""left": {"ct": {"key": "state"}}, "right": "sleepy""#,
    )]));
    assert_error(&e, 6, 3, "a ct state");
    let e = error(&with_rules(&[&rule(
        10,
        r#"{"vmap": {"key": {"meta": {"key": "iifname"}}, "data": {"set": [["eth0", {"reject": null}]]}}}"#,
    )]));
    assert_error(&e, 6, 3, "a verdict");
    let e = error(&doc(&[
        META,
        TABLE,
        r#"{"chain": {"family": "inet", "table": "t", "name": "c", "type": "filter", "hook": "sideways", "prio": 0}}"#,
    ]));
    assert_error(&e, 4, 3, "a hook");
    let e = error(&doc(&[
        META,
        TABLE,
        r#"{"chain": {"family": "inet", "table": "t", "name": "c", "type": "filter", "hook": "input", "prio": "whenever"}}"#,
    ]));
    assert_error(&e, 4, 3, "a base chain priority");
    let e = error(&doc(&[
        META,
        TABLE,
        r#"{"chain": {"family": "inet", "table": "t", "name": "c", "type": "filter", "hook": "input", "prio": 0, "policy": "maybe"}}"#,
    ]));
    assert_error(&e, 4, 3, "a policy");
}

#[test]
fn limits_are_errors() {
    let big = format!(
        "{{\"nftables\": []}}{}",
        " ".repeat(MAX_INPUT_BYTES + 1 - 16)
    );
    assert_eq!(big.len(), MAX_INPUT_BYTES + 1);
    assert_error(&error(&big), 1, 1, "at most 64 MiB");

    let deep = format!("{{\"nftables\": [{}{}]}}", "[".repeat(63), "]".repeat(63));
    assert_error(&error(&deep), 1, 77, "nested at most 64 levels deep");
    let ok = format!("{{\"nftables\": [{}{}]}}", "[".repeat(62), "]".repeat(62));
    assert_error(&error(&ok), 1, 15, "a ruleset element");

    // One rule too many is refused before the document is parsed.
    let mut many = String::from("{\"nftables\": [\n");
    for _ in 0..1_000_000 {
        many.push_str("{\"rule\": {}},");
    }
    many.push_str("\n{\"rule\": {}}]}");
    assert_error(&error(&many), 3, 1, "at most 1000000 rules");

    // A verdict map too large to expand is refused before it is expanded.
    let entries = vec!["0"; 1_000_001].join(",");
    let map = format!(
        r#"{{"map": {{"family": "inet", "name": "m", "table": "t", "type": "mark", "handle": 4, "map": "verdict", "elem": [{entries}]}}}}"#
    );
    let e = error(&with_rules(&[
        &map,
        &rule(
            10,
            r#"{"vmap": {"key": {"meta": {"key": "mark"}}, "data": "@m"}}"#,
        ),
    ]));
    assert_error(
        &e,
        7,
        3,
        "at most 1000000 rules once verdict maps are expanded",
    );

    // Set elements copied into matches, a named set once per rule using it.
    let ports = vec!["1"; 1_000_001].join(",");
    let set = format!(
        r#"{{"set": {{"family": "inet", "name": "p", "table": "t", "type": "inet_service", "handle": 4, "elem": [{ports}]}}}}"#
    );
    let uses: Vec<String> = (0..4)
        .map(|h| dport_rule(r#""@p""#).replace("10", &h.to_string()))
        .collect();
    let e = error(&with_rules(&[&set, &uses[0], &uses[1], &uses[2], &uses[3]]));
    assert_error(&e, 10, 3, "at most 4000000 set elements");
}

// ---------------------------------------------------------------------------------------------------------
// Robustness: mutated fixtures give a ruleset or an error, never a panic.

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Every value in the tree, by a path of indices; replaced in place.
fn nth_value(v: &mut Value, mut n: usize) -> Option<&mut Value> {
    fn walk<'v>(v: &'v mut Value, n: &mut usize) -> Option<&'v mut Value> {
        if *n == 0 {
            return Some(v);
        }
        *n -= 1;
        match v {
            Value::Array(a) => a.iter_mut().find_map(|c| walk(c, n)),
            Value::Object(m) => m.values_mut().find_map(|c| walk(c, n)),
            _ => None,
        }
    }
    walk(v, &mut n)
}

fn count_values(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count_values).sum(),
        Value::Object(m) => m.values().map(count_values).sum(),
        _ => 0,
    }
}

fn other_value(rng: &mut Rng) -> Value {
    match rng.below(9) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => Value::from(rng.next() as i64),
        3 => Value::from(-1),
        4 => Value::from(1.5),
        5 => Value::from(["@lgwan_mail", "*", "", "10.0.0.0", "eth*", "accept"][rng.below(6)]),
        6 => serde_json::json!([]),
        7 => serde_json::json!({}),
        _ => serde_json::json!({"prefix": {"addr": "::", "len": 200}}),
    }
}

fn mutate(text: &str, value: &Value, rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => {
            let cut = rng.below(text.len());
            String::from_utf8_lossy(&text.as_bytes()[..cut]).into_owned()
        }
        1 => {
            let mut bytes = text.as_bytes().to_vec();
            for _ in 0..=rng.below(3) {
                let i = rng.below(bytes.len());
                bytes[i] ^= 1 << rng.below(8);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        2 | 3 => {
            // Delete or duplicate elements of the nftables array.
            let mut v = value.clone();
            let items = v["nftables"].as_array_mut().unwrap();
            for _ in 0..=rng.below(3) {
                let i = rng.below(items.len());
                if rng.below(2) == 0 {
                    items.remove(i);
                } else {
                    let copy = items[i].clone();
                    items.insert(rng.below(items.len()), copy);
                }
                if items.is_empty() {
                    break;
                }
            }
            serde_json::to_string(&v).unwrap()
        }
        _ => {
            // Replace values anywhere with values of other types.
            let mut v = value.clone();
            for _ in 0..=rng.below(3) {
                let n = rng.below(count_values(&v));
                let replacement = other_value(rng);
                if let Some(slot) = nth_value(&mut v, n) {
                    *slot = replacement;
                }
            }
            serde_json::to_string(&v).unwrap()
        }
    }
}

#[test]
fn mutated_fixtures_never_panic() {
    let mut rng = Rng(0x6d61_6d6f_7269_0001);
    let (mut ok, mut err) = (0, 0);
    for name in FIXTURES {
        let text = fixture(name);
        let value: Value = serde_json::from_str(&text).unwrap();
        for _ in 0..3000 {
            let mutated = mutate(&text, &value, &mut rng);
            match parse_nft_json(&mutated, name) {
                Ok(rs) => {
                    assert!(rs.tables.iter().all(|t| {
                        t.chains
                            .iter()
                            .all(|c| c.rules.iter().all(|r| r.origin.line >= 1))
                    }));
                    ok += 1;
                }
                Err(e) => {
                    assert!(e.line >= 1 && e.column >= 1, "{e}");
                    err += 1;
                }
            }
        }
    }
    // Both outcomes occur, so the mutations reach the parser's checks and not only the JSON reader.
    assert!(ok > 1000 && err > 1000, "ok {ok}, err {err}");
}

#[test]
fn fib_type_local_is_the_devices_own_addresses_and_other_fib_lookups_are_not_modelled() {
    let local = rule(
        10,
        r#"{"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["daddr"]}}, "right": "local"}}, {"accept": null}"#,
    );
    let not_src = rule(
        11,
        r#"{"match": {"op": "!=", "left": {"fib": {"result": "type", "flags": ["saddr"]}}, "right": "local"}}, {"drop": null}"#,
    );
    let per_iface = rule(
        12,
        r#"{"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["daddr", "iif"]}}, "right": "local"}}, {"accept": null}"#,
    );
    let rs = parse(&with_rules(&[&local, &not_src, &per_iface]));
    let c = chain(&rs, TableFamily::Inet, "t", "c");
    assert_eq!(rule_of(c, 10).matches, vec![is(Test::Local { dst: true })]);
    assert_eq!(
        rule_of(c, 11).matches,
        vec![Match {
            negated: true,
            test: Test::Local { dst: false }
        }]
    );
    assert!(matches!(
        rule_of(c, 12).matches.as_slice(),
        [Match {
            test: Test::Unknown { .. },
            ..
        }]
    ));
    assert_eq!(messages(&rs).len(), 1, "{:?}", messages(&rs));
}
