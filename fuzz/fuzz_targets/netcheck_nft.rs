//! `nft -j list ruleset` JSON: the parser may refuse, never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_netcheck::nft::parse_nft_json;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_nft_json(text, "f");
    }
});
