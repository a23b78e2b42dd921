//! The whole check: a zone map and the files it names, split at NULs — the map first, then one part for each
//! distinct file the map asks for, in the order it asks (a device's configuration, then its ipset file, then
//! its routes file). When everything parses, `check` must return (a report or an error), never panic.
//! Inputs are kept small so one run stays fast.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_netcheck::analysis::check;
use mamori_netcheck::load::read_devices;
use mamori_netcheck::zones::parse_zone_map;

fuzz_target!(|data: &[u8]| {
    if data.len() > 4096 {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.split('\0');
    let Some(map_text) = parts.next() else {
        return;
    };
    let files: Vec<&str> = parts.collect();
    let Ok(map) = parse_zone_map(map_text, "zones.toml") else {
        return;
    };
    let mut names: Vec<String> = Vec::new();
    let read = &mut |name: &str| -> Result<String, String> {
        let index = match names.iter().position(|n| n == name) {
            Some(index) => index,
            None => {
                names.push(name.to_owned());
                names.len() - 1
            }
        };
        files
            .get(index)
            .map(|f| (*f).to_owned())
            .ok_or_else(|| format!("{name}: no such file"))
    };
    let Ok(inputs) = read_devices(&map, read) else {
        return;
    };
    let _ = check(&map, &inputs);
});
