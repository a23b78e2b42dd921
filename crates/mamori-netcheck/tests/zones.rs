//! The zone map: a realistic α-model map read into the exact model, longest-prefix zone lookup, `ip -j route`
//! output, every validation error with its position and message, and a robustness test over mutated maps.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::IpAddr;

use mamori_netcheck::ParseError;
use mamori_netcheck::ir::{AddrRange, Family, PortRange};
use mamori_netcheck::zones::{
    Allow, ConfigFormat, Device, Endpoint, Interface, MAX_DEVICES, MAX_SEGMENTS, Route,
    RouteAction, Segment, Zone, ZoneMap, addr_key, parse_ip_routes, parse_zone_map,
};

const ALPHA: &str = include_str!("fixtures/zones/alpha.toml");
const ROUTES: &str = include_str!("fixtures/zones/core-fw.routes.json");

/// The three required zones, nothing else.
const BASE: &str = "[[zone]]
id = \"my_number\"
name = \"M\"

[[zone]]
id = \"lgwan\"
name = \"L\"

[[zone]]
id = \"internet\"
name = \"I\"
";

// ----------------------------------------------------------------------------------------------------------
// helpers

fn prefix(text: &str) -> AddrRange {
    AddrRange::parse(text).unwrap()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn key(text: &str) -> (Family, u128) {
    addr_key(ip(text))
}

fn err(text: &str) -> ParseError {
    match parse_zone_map(text, "map.toml") {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

/// 1-based line and column (in characters) of the `nth` (0-based) occurrence of `needle`.
fn pos(text: &str, needle: &str, nth: usize) -> (usize, usize) {
    let offset = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("{needle:?} #{nth} not in text"))
        .0;
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

/// The error is at the position of `needle` (its `nth` occurrence) and its message mentions each of `words`.
fn assert_at(e: &ParseError, text: &str, needle: &str, nth: usize, words: &[&str]) {
    let (line, column) = pos(text, needle, nth);
    assert_eq!((e.line, e.column), (line, column), "{e}");
    assert_eq!(e.file, "map.toml");
    let message = e.to_string();
    assert!(
        message.starts_with(&format!("map.toml:{line}:{column}: expected ")),
        "{message}"
    );
    for w in words {
        assert!(message.contains(w), "{w:?} not in: {message}");
    }
}

/// `ALPHA` with `from` replaced (exactly once) by `to`.
fn alpha_with(from: &str, to: &str) -> String {
    assert_eq!(ALPHA.matches(from).count(), 1, "{from:?}");
    ALPHA.replace(from, to)
}

// ----------------------------------------------------------------------------------------------------------
// the α-model map

#[test]
fn alpha_map_parses_into_the_exact_model() {
    let map = parse_zone_map(ALPHA, "alpha.toml").unwrap();
    let zone = |id: &str, name: &str, line| Zone {
        id: id.into(),
        name: name.into(),
        line,
    };
    let segment = |id: &str, name: Option<&str>, zone: &str, prefixes: &[&str], line| Segment {
        id: id.into(),
        name: name.map(Into::into),
        zone: zone.into(),
        prefixes: prefixes.iter().map(|p| prefix(p)).collect(),
        line,
    };
    let interface = |name: &str, segment: &str, addresses: &[&str], line| Interface {
        name: name.into(),
        segment: segment.into(),
        addresses: addresses.iter().map(|a| ip(a)).collect(),
        line,
    };
    let expected = ZoneMap {
        zones: vec![
            zone("my_number", "マイナンバー利用事務系", 5),
            zone("lgwan", "LGWAN接続系", 9),
            zone("internet", "インターネット接続系", 13),
            zone("sanitiser", "無害化中継", 17),
        ],
        segments: vec![
            segment(
                "mn-core",
                Some("住基・税 基幹系"),
                "my_number",
                &["10.10.0.0/16", "fd00:10::/32"],
                21,
            ),
            segment("lg-office", None, "lgwan", &["10.20.0.0/16"], 27),
            segment(
                "lg-mail",
                Some("庁内メールサーバ"),
                "lgwan",
                &["10.20.5.0/24"],
                32,
            ),
            segment(
                "lgwan-asp",
                Some("LGWAN-ASP"),
                "lgwan",
                &["172.16.0.0/12"],
                38,
            ),
            segment(
                "inet-dmz",
                None,
                "internet",
                &["10.30.0.0/16", "203.0.113.0/28"],
                44,
            ),
            segment("relay", None, "sanitiser", &["10.40.0.0/24"], 49),
        ],
        devices: vec![Device {
            id: "core-fw".into(),
            name: Some("庁内境界ルータ".into()),
            config: "core-fw.rules".into(),
            format: ConfigFormat::IptablesSave,
            ipset: Some("core-fw.ipset".into()),
            routes_file: None,
            interfaces: vec![
                interface("eth1", "mn-core", &["10.10.0.1", "fd00:10::1"], 61),
                interface("eth2", "lg-office", &["10.20.0.1"], 66),
                interface("eth3", "inet-dmz", &["10.30.0.1"], 71),
                interface("eth4", "relay", &["10.40.0.1"], 76),
            ],
            routes: vec![
                Route {
                    to: prefix("172.16.0.0/12"),
                    via: Some(ip("10.20.0.254")),
                    dev: Some("eth2".into()),
                    prefsrc: None,
                    protocol: None,
                    scope: None,
                    action: RouteAction::Forward,
                    line: 81,
                },
                Route {
                    to: AddrRange::any(Family::Ipv4),
                    via: Some(ip("10.30.0.254")),
                    dev: None,
                    prefsrc: None,
                    protocol: None,
                    scope: None,
                    action: RouteAction::Forward,
                    line: 86,
                },
            ],
            line: 54,
        }],
        allows: vec![
            Allow {
                from: Endpoint::Zone("internet".into()),
                to: Endpoint::Zone("sanitiser".into()),
                protocol: Some(6),
                ports: vec![PortRange::single(25)],
                reason: "受信メールを無害化中継へ".into(),
                basis: None,
                line: 90,
            },
            Allow {
                from: Endpoint::Segment("relay".into()),
                to: Endpoint::Segment("lg-mail".into()),
                protocol: Some(6),
                ports: vec![PortRange::single(25)],
                reason: "無害化したメールを庁内メールサーバへ".into(),
                basis: None,
                line: 97,
            },
            Allow {
                from: Endpoint::Segment("lg-office".into()),
                to: Endpoint::Segment("lgwan-asp".into()),
                protocol: Some(6),
                ports: vec![
                    PortRange::single(443),
                    PortRange {
                        first: 8000,
                        last: 8080,
                    },
                ],
                reason: "LGWAN-ASP の利用".into(),
                basis: Some(
                    "LGWAN-ASP サービス提供者との接続 (地方公共団体情報システム機構)".into(),
                ),
                line: 104,
            },
        ],
    };
    assert_eq!(map, expected);
    assert_eq!(
        map.device("core-fw")
            .unwrap()
            .interface("eth4")
            .unwrap()
            .line,
        76
    );
    assert_eq!(map.zone_of_endpoint(&map.allows[1].to).unwrap().id, "lgwan");
}

#[test]
fn zone_of_picks_the_longest_prefix() {
    let map = parse_zone_map(ALPHA, "alpha.toml").unwrap();
    let (f, a) = key("10.20.5.7");
    assert_eq!(map.segment_of(f, a).unwrap().id, "lg-mail");
    assert_eq!(map.zone_of(f, a).unwrap().id, "lgwan");
    let (f, a) = key("10.20.6.1");
    assert_eq!(map.segment_of(f, a).unwrap().id, "lg-office");
    let (f, a) = key("fd00:10::5");
    assert_eq!(map.zone_of(f, a).unwrap().id, "my_number");
    let (f, a) = key("10.40.0.9");
    assert_eq!(map.zone_of(f, a).unwrap().name, "無害化中継");
    let (f, a) = key("8.8.8.8");
    assert!(map.zone_of(f, a).is_none());
    // An IPv6 address whose integer falls in an IPv4 prefix is not in it.
    assert!(map.zone_of(Family::Ipv6, key("10.10.0.1").1).is_none());

    // Longest prefix, whatever the order of declaration.
    let text = format!(
        "{BASE}
[[segment]]
id = \"small\"
zone = \"lgwan\"
prefixes = [\"10.0.5.0/24\"]

[[segment]]
id = \"big\"
zone = \"lgwan\"
prefixes = [\"10.0.0.0/8\"]
"
    );
    let map = parse_zone_map(&text, "map.toml").unwrap();
    let (f, a) = key("10.0.5.1");
    assert_eq!(map.segment_of(f, a).unwrap().id, "small");
    let (f, a) = key("10.0.6.1");
    assert_eq!(map.segment_of(f, a).unwrap().id, "big");
}

// ----------------------------------------------------------------------------------------------------------
// `ip -j route`

#[test]
fn ip_route_json_parses() {
    let routes = parse_ip_routes(ROUTES, "core-fw.routes.json").unwrap();
    let route = |to: &str, via: Option<&str>, dev: Option<&str>| Route {
        to: prefix(to),
        via: via.map(ip),
        dev: dev.map(Into::into),
        prefsrc: None,
        protocol: None,
        scope: None,
        action: RouteAction::Forward,
        line: 1,
    };
    let expected = vec![
        route("0.0.0.0/0", Some("10.30.0.254"), Some("eth3")),
        Route {
            protocol: Some("kernel".into()),
            scope: Some("link".into()),
            prefsrc: Some(ip("10.10.0.1")),
            ..route("10.10.0.0/16", None, Some("eth1"))
        },
        Route {
            protocol: Some("kernel".into()),
            scope: Some("link".into()),
            prefsrc: Some(ip("10.20.0.1")),
            ..route("10.20.0.0/16", None, Some("eth2"))
        },
        Route {
            protocol: Some("static".into()),
            ..route("172.16.0.0/12", Some("10.20.0.254"), Some("eth2"))
        },
        Route {
            action: RouteAction::Drop {
                kind: "blackhole".into(),
            },
            ..route("192.168.0.0/16", None, None)
        },
        Route {
            protocol: Some("static".into()),
            ..route("10.50.0.0/16", Some("10.20.0.253"), Some("eth2"))
        },
        Route {
            protocol: Some("static".into()),
            ..route("10.50.0.0/16", Some("10.30.0.253"), Some("eth3"))
        },
    ];
    assert_eq!(routes, expected);
}

#[test]
fn ip_route_json_families_types_and_lines() {
    // `ip -6 -j route`, pretty-printed: one object per line, a default route without a gateway.
    let text = r#"[
{"dst":"fd00:10::/32","dev":"eth1","protocol":"kernel","metric":256,"pref":"medium","flags":[]},
{"type":"unreachable","dst":"fd00:99::/32","dev":"lo","metric":1024,"flags":[]},
{"dst":"default","dev":"ppp0","metric":1024,"flags":[]}
]"#;
    let routes = parse_ip_routes(text, "r6.json").unwrap();
    assert_eq!(routes.len(), 3);
    assert_eq!(routes[0].line, 2);
    assert_eq!(
        routes[1].action,
        RouteAction::Drop {
            kind: "unreachable".into()
        }
    );
    assert_eq!(routes[2].to, AddrRange::any(Family::Ipv6));
    assert_eq!(routes[2].line, 4);

    // `show table all`: local and broadcast routes are the device's own.
    let text = r#"[{"type":"local","dst":"10.10.0.1","table":"local","dev":"eth1","protocol":"kernel","scope":"host","prefsrc":"10.10.0.1","flags":[]},{"type":"broadcast","dst":"10.10.255.255","table":"local","dev":"eth1","protocol":"kernel","scope":"link","prefsrc":"10.10.0.1","flags":[]},{"dst":"default","via":{"family":"inet6","host":"fe80::1"},"dev":"eth3","flags":[]}]"#;
    let routes = parse_ip_routes(text, "all.json").unwrap();
    assert_eq!(routes[0].action, RouteAction::Local);
    assert_eq!(routes[0].to, prefix("10.10.0.1/32"));
    assert_eq!(routes[1].action, RouteAction::Local);
    // An IPv4 default route via an IPv6 next hop (RFC 5549): `ip` prints it as a `via` object.
    assert_eq!(routes[2].via, Some(ip("fe80::1")));
    assert_eq!(routes[2].to, AddrRange::any(Family::Ipv4));

    assert_eq!(parse_ip_routes("[]", "empty.json").unwrap(), vec![]);
}

#[test]
fn ip_route_json_errors_say_where() {
    let e = parse_ip_routes("[{\"dst\":\"default\",]", "r.json").unwrap_err();
    assert_eq!((e.file.as_str(), e.line), ("r.json", 1));
    assert!(e.to_string().contains("expected JSON"), "{e}");

    let e = parse_ip_routes("{\"dst\":\"default\"}", "r.json").unwrap_err();
    assert!(e.to_string().contains("a JSON array of routes"), "{e}");

    let text = "[\n{\"dst\":\"10.0.0.0/8\",\"dev\":\"eth1\"},\n  {\"dst\":\"10.0.0.0/33\",\"dev\":\"eth1\"}\n]";
    let e = parse_ip_routes(text, "r.json").unwrap_err();
    assert_eq!((e.line, e.column), (3, 3), "{e}");
    assert!(e.to_string().contains("[1].dst = \"10.0.0.0/33\""), "{e}");

    let text = "[{\"dst\":\"default\",\"gateway\":\"nope\"}]";
    let e = parse_ip_routes(text, "r.json").unwrap_err();
    assert_eq!((e.line, e.column), (1, 2), "{e}");
    assert!(
        e.to_string().contains("expected an address as gateway"),
        "{e}"
    );

    let e = parse_ip_routes("[{\"dev\":\"eth1\"}]", "r.json").unwrap_err();
    assert!(e.to_string().contains("without dst"), "{e}");
    let e = parse_ip_routes("[1]", "r.json").unwrap_err();
    assert!(e.to_string().contains("expected a route object"), "{e}");
}

// ----------------------------------------------------------------------------------------------------------
// errors: shape

#[test]
fn toml_syntax_errors_have_a_position() {
    let text = format!("{BASE}\n[[segment]]\nid = \"x\nzone = \"lgwan\"\n");
    let e = err(&text);
    // At the end of the line where the string was left open.
    assert_eq!((e.line, e.column), (pos(&text, "id = \"x", 0).0, 8), "{e}");
    assert!(e.to_string().contains("invalid basic string"), "{e}");
    assert!(e.to_string().starts_with("map.toml:"), "{e}");
}

#[test]
fn unknown_keys_are_named_with_their_position() {
    let text = alpha_with("address = \"10.20.0.1\"", "adress = \"10.20.0.1\"");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "adress",
        0,
        &["unknown field `adress`", "`address`"],
    );

    let text = format!("{BASE}\n[[zones]]\nid = \"x\"\nname = \"X\"\n");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "zones",
        0,
        &["a known table name: one of `zone`", "unknown field `zones`"],
    );

    let text = alpha_with(
        "reason = \"LGWAN-ASP の利用\"",
        "reason = \"LGWAN-ASP の利用\"\nport = 1",
    );
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "port = 1",
        0,
        &["a key of [[allow]]", "unknown field `port`"],
    );

    let text = format!("x = 1\n{BASE}");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "x = 1",
        0,
        &["a key of the top level: one of `zone`"],
    );
}

#[test]
fn missing_keys_and_wrong_types_are_errors() {
    let text = alpha_with("config = \"core-fw.rules\"\n", "");
    let e = err(&text);
    assert!(
        e.to_string().contains(
            "expected the required key `config` in [[device]], found missing field `config`"
        ),
        "{e}"
    );
    assert_eq!(e.line, 54, "{e}");

    let text = alpha_with("ports = [25]", "ports = [true]");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "true",
        0,
        &["a string or an integer (in [[allow]])"],
    );
}

#[test]
fn the_three_zones_are_required() {
    let text = BASE.replace("id = \"lgwan\"", "id = \"lgwan2\"");
    let e = err(&text);
    assert_eq!((e.line, e.column), (1, 1), "{e}");
    assert!(
        e.to_string().contains("id = \"lgwan\" (LGWAN接続系)"),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("only the zones my_number, lgwan2, internet"),
        "{e}"
    );

    let e = err("");
    assert!(e.to_string().contains("my_number"), "{e}");
    assert!(e.to_string().contains("no [[zone]] tables"), "{e}");
}

#[test]
fn duplicate_ids_are_errors() {
    let text = alpha_with("id = \"sanitiser\"", "id = \"lgwan\"");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"lgwan\"",
        1,
        &["zone[1] on line 9", "zone[3].id"],
    );

    let text = alpha_with("id = \"lg-mail\"", "id = \"lg-office\"");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"lg-office\"",
        1,
        &["segment[1] on line 27", "segment[2].id"],
    );

    let text = format!(
        "{ALPHA}\n[[device]]\nid = \"core-fw\"\nconfig = \"b.nft.json\"\nformat = \"nft-json\"\n"
    );
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"core-fw\"",
        1,
        &["device[0] on line 54", "device[1].id"],
    );

    let text = alpha_with("name = \"eth4\"", "name = \"eth2\"");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"eth2\"",
        1,
        &[
            "interface name not used before",
            "interface[1] on line 66",
            "interface[3].name",
        ],
    );

    let text = alpha_with("id = \"relay\"", "id = \"internet\"");
    let e = err(&text);
    assert_at(&e, &text, "\"internet\"", 2, &["not also a zone id"]);
}

// ----------------------------------------------------------------------------------------------------------
// errors: segments

#[test]
fn segment_errors() {
    let text = alpha_with("zone = \"sanitiser\"", "zone = \"sanitizer\"");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"sanitizer\"",
        0,
        &["declared zone", "segment[5].zone"],
    );

    let text = alpha_with("\"10.40.0.0/24\"", "\"10.40.0.0/40\"");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"10.40.0.0/40\"",
        0,
        &["address prefix", "segment[5].prefixes[0]"],
    );

    let text = alpha_with("prefixes = [\"10.40.0.0/24\"]", "prefixes = []");
    let e = err(&text);
    assert_at(&e, &text, "[]", 0, &["at least one prefix"]);
}

#[test]
fn overlapping_prefixes_of_different_zones_are_errors() {
    // The relay segment (sanitiser) inside the LGWAN office segment.
    let text = alpha_with("\"10.40.0.0/24\"", "\"10.20.9.0/24\"");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"10.20.9.0/24\"",
        0,
        &[
            "segment \"lg-office\" (zone lgwan, line 27) has \"10.20.0.0/16\"",
            "\"10.20.9.0/24\" in segment \"relay\" (zone sanitiser, line 49)",
        ],
    );

    // The same prefix in two zones, IPv6; the later one is reported.
    let text = format!(
        "{BASE}
[[segment]]
id = \"a\"
zone = \"internet\"
prefixes = [\"192.0.2.0/24\", \"2001:db8::/32\"]

[[segment]]
id = \"b\"
zone = \"my_number\"
prefixes = [\"198.51.100.0/24\", \"2001:db8::/32\"]
"
    );
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"2001:db8::/32\"",
        1,
        &[
            "segment \"a\" (zone internet, line 13)",
            "in segment \"b\" (zone my_number, line 18)",
        ],
    );

    // A larger prefix declared later around an earlier one: reported at the later one.
    let text = format!(
        "{BASE}
[[segment]]
id = \"a\"
zone = \"internet\"
prefixes = [\"10.1.2.0/24\"]

[[segment]]
id = \"b\"
zone = \"my_number\"
prefixes = [\"10.0.0.0/8\"]
"
    );
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"10.0.0.0/8\"",
        0,
        &["segment \"a\"", "segment \"b\""],
    );

    // Overlaps within one zone are fine (the α map has lg-mail inside lg-office).
    parse_zone_map(ALPHA, "alpha.toml").unwrap();
}

// ----------------------------------------------------------------------------------------------------------
// errors: devices

#[test]
fn interface_errors() {
    let text = alpha_with("segment = \"relay\"", "segment = \"relais\"");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"relais\"",
        0,
        &["declared [[segment]]", "interface[3].segment"],
    );

    let text = alpha_with("address = \"10.40.0.1\"", "address = \"10.41.0.1\"");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"10.41.0.1\"",
        0,
        &[
            "inside segment \"relay\" (line 49: 10.40.0.0/24)",
            "\"10.41.0.1\"",
        ],
    );

    let text = alpha_with("address = \"10.40.0.1\"", "address = \"10.40.0.1/24\"");
    let e = err(&text);
    assert_at(&e, &text, "\"10.40.0.1/24\"", 0, &["interface address"]);

    // An address of a list outside the segment: that address is pointed at.
    let text = alpha_with("\"fd00:10::1\"", "\"fd00:11::1\"");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"fd00:11::1\"",
        0,
        &["device[0].interface[0].address = \"fd00:11::1\""],
    );

    // Ids and interface names have no spaces.
    let text = alpha_with("name = \"eth4\"", "name = \"eth 4\"");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"eth 4\"",
        0,
        &["without spaces", "interface[3].name"],
    );
}

#[test]
fn device_format_and_path_errors() {
    let text = alpha_with("format = \"iptables-save\"", "format = \"iptables\"");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"iptables\"",
        0,
        &[
            "iptables-save, ip6tables-save or nft-json",
            "device[0].format",
        ],
    );

    for bad in [
        "/etc/iptables/rules.v4",
        "../other/core-fw.rules",
        "rules/../../x",
        "C:\\fw.rules",
        "",
    ] {
        let text = alpha_with("config = \"core-fw.rules\"", &format!("config = {bad:?}"));
        let e = err(&text);
        assert_at(
            &e,
            &text,
            &format!("{bad:?}"),
            0,
            &["must not point outside its folder", "device[0].config"],
        );
    }
    let text = alpha_with("ipset = \"core-fw.ipset\"", "ipset = \"../core-fw.ipset\"");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"../core-fw.ipset\"",
        0,
        &["a path with a `..` component"],
    );

    // A sub-folder is fine.
    let text = alpha_with(
        "config = \"core-fw.rules\"",
        "config = \"fw/core-fw.rules\"",
    );
    assert_eq!(
        parse_zone_map(&text, "map.toml").unwrap().devices[0].config,
        "fw/core-fw.rules"
    );

    let text = alpha_with("format = \"iptables-save\"", "format = \"nft-json\"");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"core-fw.ipset\"",
        0,
        &["no ipset file with format nft-json"],
    );

    let text = alpha_with(
        "ipset = \"core-fw.ipset\"",
        "routes = \"core-fw.routes.json\"",
    );
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "[[device.route]]",
        0,
        &["either a routes file or [[device.route]]"],
    );
}

#[test]
fn route_errors() {
    let text = alpha_with("dev = \"eth2\"", "dev = \"eth9\"");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"eth9\"",
        0,
        &[
            "interfaces of device \"core-fw\" (eth1, eth2, eth3, eth4)",
            "route[0].dev",
        ],
    );

    let text = alpha_with("via = \"10.30.0.254\"", "via = \"gw.example\"");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"gw.example\"",
        0,
        &["gateway address", "route[1].via"],
    );

    let text = alpha_with("via = \"10.30.0.254\"", "via = \"fd00:10::fe\"\nto2 = 1");
    let e = err(&text);
    assert_at(&e, &text, "to2", 0, &["unknown field `to2`"]);

    let text = alpha_with("via = \"10.20.0.254\"", "via = \"fd00:10::fe\"");
    let e = err(&text);
    assert_at(&e, &text, "\"fd00:10::fe\"", 0, &["same family"]);

    let text = alpha_with("to = \"172.16.0.0/12\"", "to = \"172.16.0.0/\"");
    let e = err(&text);
    assert_at(&e, &text, "\"172.16.0.0/\"", 0, &["destination prefix"]);

    let text = alpha_with("via = \"10.30.0.254\"", "dev = \"eth3\"");
    let map = parse_zone_map(&text, "map.toml");
    let e = map.unwrap_err();
    assert_at(&e, &text, "\"default\"", 0, &["needs `via`"]);

    let text = alpha_with("via = \"10.20.0.254\"\n  dev = \"eth2\"", "");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "[[device.route]]",
        0,
        &["`via` (a gateway) or `dev`"],
    );
}

// ----------------------------------------------------------------------------------------------------------
// errors: allows

#[test]
fn allow_errors() {
    let text = alpha_with("from = \"internet\"", "from = \"inet\"");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"inet\"",
        0,
        &[
            "zone id (my_number, lgwan, internet, sanitiser) or the id of a declared [[segment]]",
            "allow[0].from",
        ],
    );

    let text = alpha_with("to = \"lg-mail\"", "to = \"lg-mial\"");
    let e = err(&text);
    assert_at(&e, &text, "\"lg-mial\"", 0, &["allow[1].to"]);

    let text = alpha_with("ports = [\"25\"]", "ports = [\"25\"]\nprotocol = \"tpc\"");
    let e = err(&text);
    assert!(e.to_string().contains("duplicate key"), "{e}");

    let text = alpha_with(
        "protocol = \"tcp\"\nports = [\"25\"]",
        "protocol = \"tpc\"\nports = [\"25\"]",
    );
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"tpc\"",
        0,
        &["a protocol: tcp, udp", "allow[0].protocol = \"tpc\""],
    );

    let text = alpha_with(
        "protocol = \"tcp\"\nports = [\"25\"]",
        "protocol = 256\nports = [\"25\"]",
    );
    let e = err(&text);
    assert_at(&e, &text, "256", 0, &["a number 0-255"]);

    for bad in [
        "\"0\"",
        "\"65536\"",
        "70000",
        "\"90-80\"",
        "\"smtp\"",
        "\"-\"",
        "-1",
    ] {
        let text = alpha_with("ports = [25]", &format!("ports = [{bad}]"));
        let e = err(&text);
        assert_at(&e, &text, bad, 0, &["a port 1-65535", "allow[1].ports[0]"]);
    }

    let text = alpha_with(
        "protocol = \"tcp\"\nports = [\"25\"]",
        "protocol = \"icmp\"\nports = [\"25\"]",
    );
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"25\"",
        0,
        &["no ports for protocol \"icmp\", which has none"],
    );

    let text = alpha_with("protocol = \"tcp\"\nports = [\"25\"]", "ports = [\"25\"]");
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"25\"",
        0,
        &["ports only with a protocol that has them"],
    );

    let text = alpha_with("reason = \"受信メールを無害化中継へ\"", "reason = \" \"");
    let e = err(&text);
    assert_at(&e, &text, "\" \"", 0, &["a reason"]);

    // Numbers, names and `any` are all protocols; no ports means all ports.
    let text = alpha_with("protocol = \"tcp\"\nports = [\"25\"]", "protocol = 47");
    assert_eq!(
        parse_zone_map(&text, "m").unwrap().allows[0].protocol,
        Some(47)
    );
    let text = alpha_with("protocol = \"tcp\"\nports = [\"25\"]", "protocol = \"ANY\"");
    let map = parse_zone_map(&text, "m").unwrap();
    assert_eq!(
        (map.allows[0].protocol, map.allows[0].ports.len()),
        (None, 0)
    );
    let text = alpha_with(
        "protocol = \"tcp\"\nports = [\"25\"]",
        "protocol = \"udp\"\nports = [\"1-65535\"]",
    );
    assert_eq!(
        parse_zone_map(&text, "m").unwrap().allows[0].ports,
        vec![PortRange {
            first: 1,
            last: 65535
        }]
    );
}

// ----------------------------------------------------------------------------------------------------------
// limits

#[test]
fn limits_are_errors() {
    let big = format!("{ALPHA}\n# {}\n", "x".repeat(1024 * 1024));
    let e = err(&big);
    assert_eq!((e.line, e.column), (1, 1));
    assert!(e.to_string().contains("at most 1 MiB"), "{e}");

    let mut text = BASE.to_owned();
    for n in 0..=MAX_SEGMENTS {
        text.push_str(&format!(
            "[[segment]]\nid = \"s{n}\"\nzone = \"lgwan\"\nprefixes = [\"10.{}.{}.0/24\"]\n",
            n / 256,
            n % 256
        ));
    }
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "[[segment]]\nid = \"s10000\"",
        0,
        &["at most 10000 [[segment]] tables", "10001 segments"],
    );

    let mut text = BASE.to_owned();
    for n in 0..=MAX_DEVICES {
        text.push_str(&format!(
            "[[device]]\nid = \"d{n}\"\nconfig = \"d{n}.rules\"\nformat = \"iptables-save\"\n"
        ));
    }
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "[[device]]\nid = \"d1000\"",
        0,
        &["at most 1000 [[device]] tables"],
    );
}

// ----------------------------------------------------------------------------------------------------------
// robustness

/// xorshift64*: small, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "\"",
    "[",
    "]",
    "[[",
    "]]",
    "=",
    "\n",
    "#",
    "{",
    "}",
    ",",
    "-",
    "/",
    ".",
    "..",
    "/0",
    "/129",
    "::",
    "0",
    "65535",
    "65536",
    "-1",
    "99999999999999999999",
    "tcp",
    "icmp",
    "any",
    "default",
    "lgwan",
    "my_number",
    "internet",
    "mn-core",
    "eth1",
    "eth9",
    "10.10.0.1",
    "0.0.0.0/0",
    "::/0",
    "fd00::/8",
    "\"\"",
    "'",
    "'''",
    "\"\"\"",
    "\\u0000",
    "é",
    "無害化",
    "\t",
    " ",
    "true",
    "1979-05-27",
    "[[zone]]\n",
    "[[segment]]\n",
    "[[device.interface]]\n",
    "[[device.route]]\n",
    "[[allow]]\n",
    "x = 1\n",
];

fn mutate(rng: &mut Rng, text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = chars.clone();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(6) {
            0 => {
                let len = rng.below(20).min(out.len() - at.min(out.len()));
                out.drain(at..at + len);
            }
            1 => {
                let piece = PIECES[rng.below(PIECES.len())];
                out.splice(at..at, piece.chars());
            }
            2 if at < out.len() => {
                out[at] = char::from(b' ' + (rng.below(95) as u8));
            }
            3 => {
                // Duplicate a line.
                let text: String = out.iter().collect();
                let lines: Vec<&str> = text.lines().collect();
                let n = rng.below(lines.len());
                let mut lines: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
                if let Some(l) = lines.get(n).cloned() {
                    lines.insert(rng.below(lines.len() + 1), l);
                }
                out = lines.join("\n").chars().collect();
            }
            4 => {
                // Swap two lines.
                let text: String = out.iter().collect();
                let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
                if !lines.is_empty() {
                    let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
                    lines.swap(a, b);
                }
                out = lines.join("\n").chars().collect();
            }
            _ => {
                // Truncate.
                out.truncate(at);
            }
        }
    }
    out.into_iter().collect()
}

#[test]
fn mutated_maps_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut accepted = 0;
    for _ in 0..2_000 {
        let text = mutate(&mut rng, ALPHA);
        match parse_zone_map(&text, "m.toml") {
            Ok(map) => {
                accepted += 1;
                for z in &map.zones {
                    assert!(z.line >= 1);
                }
                let (f, a) = key("10.20.5.7");
                let _ = map.zone_of(f, a);
            }
            Err(e) => {
                assert!(e.line >= 1 && e.column >= 1, "{e}");
                assert!(e.line <= text.lines().count().max(1) + 1, "{e}\n{text}");
                assert!(!e.expected.is_empty(), "{e}");
            }
        }
        let routes = mutate(&mut rng, ROUTES);
        if let Err(e) = parse_ip_routes(&routes, "r.json") {
            assert!(e.line >= 1 && e.column >= 1, "{e}");
        }
    }
    // Some mutations keep the map valid (comments, whitespace), most do not.
    assert!(accepted > 0 && accepted < 2_000, "{accepted}");
}
