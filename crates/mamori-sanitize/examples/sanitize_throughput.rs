//! `sanitize()` on one core over a folder of messages: `sanitize_throughput DIR [--repeat N]`. Prints the same
//! figures as the reference pipeline it is compared with (messages, seconds, messages/s, MB/s), then the
//! largest message and the peak resident memory of the process.

use std::time::Instant;

use mamori_sanitize::{Policy, sanitize};

fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args
        .first()
        .ok_or("usage: sanitize_throughput DIR [--repeat N]")?;
    let repeat: usize = match args.iter().position(|a| a == "--repeat") {
        Some(i) => args.get(i + 1).ok_or("--repeat needs a number")?.parse()?,
        None => 1,
    };
    let mut names: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    names.sort();
    let files: Vec<Vec<u8>> = names.iter().map(std::fs::read).collect::<Result<_, _>>()?;
    let total: usize = files.iter().map(Vec::len).sum::<usize>() * repeat;
    let policy = Policy::new("情報政策課 (内線 1234)");
    let (mut refused, mut removed) = (0usize, 0usize);
    let started = Instant::now();
    for _ in 0..repeat {
        for raw in &files {
            match sanitize(raw, &policy) {
                Ok(s) => removed += s.removed.len(),
                Err(_) => refused += 1,
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let n = files.len() * repeat;
    println!(
        "messages={n} seconds={seconds:.3} msgs_per_s={:.1} mb_per_s={:.2}",
        n as f64 / seconds,
        total as f64 / seconds / 1e6
    );
    let largest = files.iter().map(Vec::len).max().unwrap_or(0);
    println!(
        "refused={refused} removed_parts={removed} largest_bytes={largest} peak_rss_kib={}",
        peak_kib().map_or_else(|| "n/a".to_owned(), |k| k.to_string())
    );
    Ok(())
}
