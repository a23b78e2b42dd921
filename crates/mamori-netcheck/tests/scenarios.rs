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
        assert_eq!(hop.rule.line, 20, "{}", show(&r));
        assert_eq!(hop.rule.text, "-A FORWARD -j ACCEPT");
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
    assert_eq!(c.hops[0].rule.line, 21);
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
    assert!(hop.rule.text.contains("3389"), "{}", show(&r));
    let pair = r
        .pairs
        .iter()
        .find(|p| p.from == "internet" && p.to == "lgwan")
        .unwrap();
    assert_eq!(pair.dst_prefixes, ["10.20.7.15"]);
}
