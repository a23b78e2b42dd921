//! Time and peak memory of a whole check on a generated network:
//! `cargo run --release -p mamori-netcheck --example scale -- RULES [DEVICES]`.
//! Prints one line: rules, devices, parse seconds, check seconds, peak resident memory (MiB, from
//! /proc/self/status where the system has it). Run once per size, so each peak is that size's own.

use std::time::Instant;

use mamori_netcheck::analysis::check;
use mamori_netcheck::load::read_devices;
use mamori_netcheck::synthetic::network;
use mamori_netcheck::zones::parse_zone_map;

fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rules: usize = args.next().as_deref().unwrap_or("10000").parse()?;
    let devices: usize = args.next().as_deref().unwrap_or("4").parse()?;
    let net = network(devices, rules, 42);
    let started = Instant::now();
    let map = parse_zone_map(&net.zones, "zones.toml")?;
    let inputs = read_devices(&map, &mut |name| {
        net.configs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
            .ok_or_else(|| format!("{name}: not generated"))
    })?;
    let parsed = started.elapsed().as_secs_f64();
    let report = check(&map, &inputs)?;
    let checked = started.elapsed().as_secs_f64() - parsed;
    let peak = peak_mib().map_or_else(|| "n/a".to_owned(), |m| format!("{m:.0}"));
    println!(
        "rules {rules} devices {devices} parse_s {parsed:.3} check_s {checked:.3} peak_mib {peak} violation {}",
        report.has_violation()
    );
    Ok(())
}
