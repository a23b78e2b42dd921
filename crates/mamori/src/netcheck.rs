//! `mamori netcheck`: 6(3) 通信経路の分割 — from the zone map and the devices' exported configurations,
//! prove that the zones are separated or print the packets that cross. Exit 0 when every zone pair is
//! isolated apart from the allowed services, 1 on a violation, 2 on bad input.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mamori_netcheck::analysis::check;
use mamori_netcheck::load::read_devices;
use mamori_netcheck::text::{TextLang, render};
use mamori_netcheck::zones::parse_zone_map;

/// The largest file read (zone map, configuration, ipset or routes); the parsers have their own, smaller,
/// limits and say so.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The version of the JSON shape; raised when a field changes meaning or goes away.
const JSON_SCHEMA: &str = "mamori-netcheck/1";

pub struct Options {
    pub zones: PathBuf,
    pub configs: Vec<String>,
    pub format: String,
    pub lang: String,
}

fn read_limited(path: &Path) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("larger than {MAX_FILE_BYTES} bytes"));
    }
    String::from_utf8(bytes)
        .map_err(|e| format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()))
}

/// Which file a `CONFIG` argument replaces: `NAME=PATH` names the file as the map writes it (or the device
/// id, for its configuration); a bare path replaces the map's file with the same file name.
fn overrides(
    configs: &[String],
    map: &mamori_netcheck::zones::ZoneMap,
) -> Result<Vec<(String, PathBuf)>, String> {
    let named: Vec<&String> = map
        .devices
        .iter()
        .flat_map(|d| {
            std::iter::once(&d.config)
                .chain(d.ipset.iter())
                .chain(d.routes_file.iter())
        })
        .collect();
    let file_name = |s: &str| Path::new(s).file_name().map(|n| n.to_os_string());
    let mut out = Vec::new();
    for arg in configs {
        let (target, path) = match arg.split_once('=') {
            Some((name, path)) => {
                let target = map
                    .device(name)
                    .map(|d| d.config.clone())
                    .or_else(|| {
                        named
                            .iter()
                            .find(|n| n.as_str() == name)
                            .map(|n| (*n).clone())
                    })
                    .ok_or_else(|| {
                        format!("{arg}: the zone map has no device or file called {name}")
                    })?;
                (target, PathBuf::from(path))
            }
            None => {
                let name = file_name(arg);
                let matches: Vec<&&String> = named
                    .iter()
                    .filter(|n| name.is_some() && file_name(n) == name)
                    .collect();
                match matches.as_slice() {
                    [one] => ((**one).clone(), PathBuf::from(arg)),
                    [] => {
                        return Err(format!(
                            "{arg}: no device of the zone map reads a file of this name; write DEVICE={arg}"
                        ));
                    }
                    _ => {
                        return Err(format!(
                            "{arg}: several devices read a file of this name; write DEVICE={arg}"
                        ));
                    }
                }
            }
        };
        out.push((target, path));
    }
    Ok(out)
}

pub fn run(options: &Options) -> anyhow::Result<ExitCode> {
    let lang = match options.lang.as_str() {
        "en" => TextLang::En,
        _ => TextLang::Ja,
    };
    let json = match options.format.as_str() {
        "text" => false,
        "json" => true,
        other => {
            eprintln!("mamori netcheck: unknown format {other:?}: use text or json");
            return Ok(ExitCode::from(2));
        }
    };
    let bad = |message: String| {
        eprintln!("mamori netcheck: {message}");
        Ok(ExitCode::from(2))
    };
    let zones_name = options.zones.display().to_string();
    let text = match read_limited(&options.zones) {
        Ok(t) => t,
        Err(e) => return bad(format!("{zones_name}: {e}")),
    };
    let map = match parse_zone_map(&text, &zones_name) {
        Ok(m) => m,
        Err(e) => return bad(e.to_string()),
    };
    let swaps = match overrides(&options.configs, &map) {
        Ok(s) => s,
        Err(e) => return bad(e),
    };
    let dir = options
        .zones
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let inputs = read_devices(&map, &mut |name| {
        let path = swaps
            .iter()
            .find(|(target, _)| target == name)
            .map_or_else(|| dir.join(name), |(_, p)| p.clone());
        read_limited(&path)
    });
    let inputs = match inputs {
        Ok(i) => i,
        Err(e) => return bad(e.to_string()),
    };
    let report = match check(&map, &inputs) {
        Ok(r) => r,
        Err(e) => return bad(e.to_string()),
    };
    if json {
        let doc = serde_json::json!({ "schema": JSON_SCHEMA, "report": report });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", render(&report, &map, lang));
    }
    Ok(if report.has_violation() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
