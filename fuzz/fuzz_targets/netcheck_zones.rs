//! The zone map (TOML) and `ip -j route` output (JSON): both parsers get the same input; they may refuse,
//! never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_netcheck::zones::{parse_ip_routes, parse_zone_map};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_zone_map(text, "f");
        let _ = parse_ip_routes(text, "f");
    }
});
