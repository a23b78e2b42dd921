//! `iptables-save` and `ipset save` text: neither parser may panic, whatever the input. The input is split at
//! its first NUL: rules before it, the ipset file after it (the whole input feeds both when there is none).
//! When the ipset part parses, the rules are parsed again against its sets, so `-m set` rules meet real sets.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_netcheck::iptables::{IpSets, parse_ipset_save, parse_iptables_save};
use mamori_netcheck::ir::Family;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (rules, ipset) = text.split_once('\0').unwrap_or((text, text));
    let _ = parse_iptables_save(rules, "f", Family::Ipv4, &IpSets::new());
    if let Ok(sets) = parse_ipset_save(ipset, "f") {
        let _ = parse_iptables_save(rules, "f", Family::Ipv4, &sets);
        let _ = parse_iptables_save(rules, "f", Family::Ipv6, &sets);
    }
});
