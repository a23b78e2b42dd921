//! Whole checks over the model networks of the guideline (α, α′, β, β′), each safe and with planted
//! mistakes: the safe ones are proved with no warning, every planted mistake is found with a counterexample
//! that names the rule that lets it through.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use mamori_netcheck::analysis::{Report, Verdict, check};
use mamori_netcheck::load::read_devices;
use mamori_netcheck::zones::parse_zone_map;

/// Checks a scenario folder; `swap` replaces a file the map names with another file of the folder.
fn run(scenario: &str, swap: &[(&str, &str)]) -> Report {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/scenarios")
        .join(scenario);
    let text = std::fs::read_to_string(dir.join("zones.toml")).unwrap();
    let map = parse_zone_map(&text, "zones.toml").unwrap();
    let inputs = read_devices(&map, &mut |name| {
        let file = swap
            .iter()
            .find(|(from, _)| *from == name)
            .map_or(name, |(_, to)| *to);
        std::fs::read_to_string(dir.join(file)).map_err(|e| e.to_string())
    })
    .unwrap();
    check(&map, &inputs).unwrap()
}

fn verdict(r: &Report, from: &str, to: &str) -> Verdict {
    r.pairs
        .iter()
        .find(|p| p.from == from && p.to == to)
        .unwrap_or_else(|| panic!("no pair {from} → {to}"))
        .verdict
}

fn show(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap()
}

#[test]
fn alpha_safe_is_proved_with_no_warning() {
    let r = run("alpha", &[]);
    assert!(r.warnings.is_empty(), "{}", show(&r));
    assert!(!r.has_violation(), "{}", show(&r));
    assert_eq!(verdict(&r, "internet", "sanitiser"), Verdict::AllowedOnly);
    assert_eq!(verdict(&r, "sanitiser", "lgwan"), Verdict::AllowedOnly);
    assert_eq!(verdict(&r, "internet", "lgwan"), Verdict::Isolated);
    for zone in ["lgwan", "internet", "sanitiser"] {
        assert_eq!(verdict(&r, "my_number", zone), Verdict::Isolated);
        assert_eq!(verdict(&r, zone, "my_number"), Verdict::Isolated);
    }
    assert!(r.dead_allowances.is_empty(), "{}", show(&r));
    assert!(r.pivots.is_empty(), "{}", show(&r));
    println!("{}", show(&r));
}

/// The counterexamples of a pair, with the pair's verdict checked to be a violation.
fn violation<'a>(
    r: &'a Report,
    from: &str,
    to: &str,
) -> &'a [mamori_netcheck::analysis::Counterexample] {
    let pair = r
        .pairs
        .iter()
        .find(|p| p.from == from && p.to == to)
        .unwrap();
    assert_eq!(pair.verdict, Verdict::Violation, "{}", show(r));
    assert!(!pair.counterexamples.is_empty());
    assert!(!pair.src_prefixes.is_empty() && !pair.dst_prefixes.is_empty());
    &pair.counterexamples
}

#[test]
fn alpha_an_early_forward_accept_opens_every_pair_and_is_named() {
    let r = run("alpha", &[("core-fw.rules", "planted-early-accept.rules")]);
    assert!(r.warnings.is_empty(), "{}", show(&r));
    for (from, to) in [
        ("my_number", "lgwan"),
        ("lgwan", "my_number"),
        ("internet", "lgwan"),
        ("internet", "my_number"),
    ] {
        let cx = violation(&r, from, to);
        let hop = cx[0].hops.last().unwrap();
        assert_eq!(hop.rules.len(), 1, "{}", show(&r));
        assert_eq!(hop.rules[0].line, 20, "{}", show(&r));
        assert_eq!(hop.rules[0].text, "-A FORWARD -j ACCEPT");
    }
    // The rules after it can never match.
    assert!(r.shadowed.iter().any(|s| s.line == 21), "{}", show(&r));
}

#[test]
fn alpha_a_set_that_includes_an_lgwan_prefix_lets_the_internet_in() {
    let r = run("alpha", &[("core-fw.ipset", "planted-set.ipset")]);
    let cx = violation(&r, "internet", "lgwan");
    let c = &cx[0];
    assert_eq!(
        (c.packet.protocol_name.as_str(), c.packet.dport),
        ("tcp", Some(443))
    );
    assert!(c.packet.dst.starts_with("10.20.8."), "{}", show(&r));
    assert_eq!(c.hops[0].rules[0].line, 21);
    let pair = r
        .pairs
        .iter()
        .find(|p| p.from == "internet" && p.to == "lgwan")
        .unwrap();
    assert_eq!(pair.dst_prefixes, ["10.20.8.0/24"]);
    // Nothing else opened.
    assert_eq!(verdict(&r, "internet", "my_number"), Verdict::Isolated);
}

#[test]
fn alpha_prime_safe_is_proved_with_no_warning() {
    let r = run("alpha-prime", &[]);
    assert!(r.warnings.is_empty(), "{}", show(&r));
    assert!(!r.has_violation(), "{}", show(&r));
    assert_eq!(verdict(&r, "lgwan", "internet"), Verdict::AllowedOnly);
    assert_eq!(verdict(&r, "internet", "lgwan"), Verdict::Isolated);
    assert_eq!(verdict(&r, "internet", "sanitiser"), Verdict::AllowedOnly);
    assert!(
        r.dead_allowances.is_empty() && r.pivots.is_empty(),
        "{}",
        show(&r)
    );
}

#[test]
fn alpha_prime_a_dnat_opens_a_path_from_the_internet() {
    let r = run("alpha-prime", &[("edge-fw.json", "planted-dnat.json")]);
    let cx = violation(&r, "internet", "lgwan");
    let c = &cx[0];
    // As sent: to the router's public address; as forwarded: to the LGWAN host.
    assert_eq!(c.packet.dst, "203.0.113.2", "{}", show(&r));
    assert_eq!(c.packet.dport, Some(3389));
    let hop = &c.hops[0];
    assert_eq!(hop.forwarded.dst, "10.20.7.15");
    let dnat = hop.dnat.as_ref().unwrap();
    assert!(
        dnat.handle.is_some() && dnat.text.contains("10.20.7.15"),
        "{}",
        show(&r)
    );
    assert!(hop.rules[0].text.contains("3389"), "{}", show(&r));
    let pair = r
        .pairs
        .iter()
        .find(|p| p.from == "internet" && p.to == "lgwan")
        .unwrap();
    assert_eq!(pair.dst_prefixes, ["10.20.7.15"]);
}

#[test]
fn beta_an_accept_in_one_base_chain_does_not_override_a_drop_in_another() {
    let r = run("beta", &[]);
    assert!(r.warnings.is_empty(), "{}", show(&r));
    assert!(!r.has_violation(), "{}", show(&r));
    assert_eq!(verdict(&r, "internet", "lgwan"), Verdict::AllowedOnly);
    // "quick" accepts office → mn and "filter" accepts 443 to it, but "guard" drops it first.
    assert_eq!(verdict(&r, "internet", "my_number"), Verdict::Isolated);
}

#[test]
fn beta_a_mistyped_guard_and_a_loose_rule_are_both_found() {
    let r = run("beta", &[("core.json", "planted.json")]);
    let to_mn = violation(&r, "internet", "my_number");
    assert_eq!(to_mn[0].packet.dport, Some(443));
    // Each of the three base chains accepts it: the guard by its policy (its rule names "mn0").
    let rules = &to_mn[0].hops[0].rules;
    assert_eq!(rules.len(), 3, "{}", show(&r));
    assert!(
        rules[0].text.contains("guard") && rules[0].text.contains("policy accept"),
        "{}",
        show(&r)
    );
    assert!(
        rules[2].text.contains("oifname \"mn\"") && rules[2].text.contains("443"),
        "{}",
        show(&r)
    );
    violation(&r, "internet", "lgwan");
    let pair = r
        .pairs
        .iter()
        .find(|p| p.from == "internet" && p.to == "lgwan")
        .unwrap();
    // Everything in LGWAN on 443 but the gateway, which is allowed, and the router's own address.
    let prefixes = &pair.dst_prefixes;
    assert_eq!(prefixes.len(), 24, "{prefixes:?}");
    for expected in [
        "10.20.0.0",
        "10.20.0.2/31",
        "10.20.3.8/31",
        "10.20.3.11",
        "10.20.128.0/17",
    ] {
        assert!(
            prefixes.iter().any(|p| p == expected),
            "{expected}: {prefixes:?}"
        );
    }
    assert!(
        !prefixes
            .iter()
            .any(|p| p == "10.20.3.10" || p == "10.20.0.1"),
        "{prefixes:?}"
    );
}

#[test]
fn beta_prime_a_path_open_on_one_firewall_but_closed_on_the_next_is_isolated() {
    let r = run("beta-prime", &[]);
    assert!(r.warnings.is_empty(), "{}", show(&r));
    assert!(!r.has_violation(), "{}", show(&r));
    assert_eq!(verdict(&r, "internet", "lgwan"), Verdict::Isolated);
    assert_eq!(verdict(&r, "internet", "sanitiser"), Verdict::AllowedOnly);
    assert_eq!(verdict(&r, "sanitiser", "lgwan"), Verdict::AllowedOnly);
    assert_eq!(verdict(&r, "internet", "my_number"), Verdict::Isolated);
    assert!(r.dead_allowances.is_empty(), "{}", show(&r));
}

#[test]
fn beta_prime_a_path_through_two_firewalls_is_shown_hop_by_hop() {
    let r = run("beta-prime", &[("lgwan-fw.json", "planted.json")]);
    let cx = violation(&r, "internet", "lgwan");
    let c = &cx[0];
    assert_eq!(c.packet.dport, Some(443));
    let devices: Vec<&str> = c.hops.iter().map(|h| h.device.as_str()).collect();
    assert_eq!(devices, ["inet-fw", "lgwan-fw"], "{}", show(&r));
    assert_eq!(c.hops[0].rules[0].line, 13, "{}", show(&r));
    assert!(c.hops[1].rules[0].text.contains("443"), "{}", show(&r));
    assert!(c.hops[1].rules[0].handle.is_some());
    // my_number stays shut: inet-fw never forwards to it on 443 … and lgwan-fw never to it at all.
    assert_eq!(verdict(&r, "internet", "my_number"), Verdict::Isolated);
}

#[test]
fn docker_host_with_its_site_rules_is_proved_and_addrtype_local_is_bound_to_its_addresses() {
    let r = run("docker-host", &[]);
    assert!(r.warnings.is_empty(), "{}", show(&r));
    assert!(!r.has_violation(), "{}", show(&r));
    assert!(r.pivots.is_empty(), "{}", show(&r));
    // Only the exchange server's fetch from the published port, DNATed to the container.
    assert_eq!(verdict(&r, "lgwan", "internet"), Verdict::AllowedOnly);
    assert_eq!(verdict(&r, "internet", "lgwan"), Verdict::Isolated);
}

#[test]
fn docker_host_without_its_site_rules_lets_containers_into_lgwan_and_lgwan_into_the_container() {
    let r = run("docker-host", &[("vm.rules", "planted.rules")]);
    let out = violation(&r, "internet", "lgwan");
    assert!(
        out.iter().any(|c| c.hops[0].in_interface == "docker0"
            && c.hops[0]
                .rules
                .iter()
                .any(|x| x.text == "-A FORWARD -i docker0 ! -o docker0 -j ACCEPT")),
        "{}",
        show(&r)
    );
    // An LGWAN host reaches the published port, DNATed to the container: `addrtype LOCAL` is the VM's own
    // addresses, so the DNAT applies to 10.20.7.5:8080.
    let back = violation(&r, "lgwan", "internet");
    let c = back
        .iter()
        .find(|c| c.hops[0].dnat.is_some())
        .expect("a DNAT counterexample");
    assert!(
        ["10.20.7.5", "203.0.113.5"].contains(&c.packet.dst.as_str()),
        "{}",
        show(&r)
    );
    assert_eq!(c.packet.dport, Some(8080));
    assert_eq!(c.hops[0].forwarded.dst, "172.17.0.2");
}
