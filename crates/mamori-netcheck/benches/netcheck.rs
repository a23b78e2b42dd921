//! A whole check on generated networks of 1k and 10k rules over 4 routers (and 100k with
//! `MAMORI_BENCH_LARGE=1`), and, in the same run, the parse alone as the baseline the check is compared with:
//! `cargo bench -p mamori-netcheck --bench netcheck`. Peak memory and the 100k point come from
//! `cargo run --release -p mamori-netcheck --example scale -- RULES DEVICES` (see docs/performance.md).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mamori_netcheck::analysis::{DeviceInput, check};
use mamori_netcheck::load::read_devices;
use mamori_netcheck::synthetic::{Network, network};
use mamori_netcheck::zones::{ZoneMap, parse_zone_map};

fn parse(net: &Network) -> Option<(ZoneMap, Vec<DeviceInput>)> {
    let map = parse_zone_map(&net.zones, "zones.toml").ok()?;
    let inputs = read_devices(&map, &mut |name| {
        net.configs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
            .ok_or_else(|| format!("{name}: not generated"))
    })
    .ok()?;
    Some((map, inputs))
}

fn bench(c: &mut Criterion) {
    let mut sizes = vec![1_000usize, 10_000];
    if std::env::var("MAMORI_BENCH_LARGE").is_ok_and(|v| v == "1") {
        sizes.push(100_000);
    }
    let mut group = c.benchmark_group("netcheck");
    group.sample_size(10);
    for rules in sizes {
        let net = network(4, rules, 42);
        let Some((map, inputs)) = parse(&net) else {
            eprintln!("the generated network of {rules} rules did not parse");
            return;
        };
        group.bench_with_input(BenchmarkId::new("parse", rules), &net, |b, net| {
            b.iter(|| parse(net).map(|(_, i)| i.len()));
        });
        group.bench_with_input(BenchmarkId::new("check", rules), &rules, |b, _| {
            b.iter(|| check(&map, &inputs).map(|r| r.pairs.len()).unwrap_or(0));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
