//! The zone map: which network zones a city has (三層の対策: マイナンバー利用事務系, LGWAN接続系,
//! インターネット接続系, and any others such as a sanitising relay), which address segments belong to each,
//! which devices filter between them (their configuration files, interfaces and routes), and which services
//! are allowed to cross, with the reason and basis of each.
//!
//! The map is TOML:
//!
//! ```toml
//! [[zone]]
//! id = "my_number"                # my_number, lgwan and internet are required; more may be declared
//! name = "マイナンバー利用事務系"
//!
//! [[segment]]
//! id = "mn-core"                  # not also a zone id
//! name = "住基・税 基幹系"          # optional
//! zone = "my_number"
//! prefixes = ["10.10.0.0/16", "fd00:10::/32"]   # at least one
//!
//! [[device]]
//! id = "core-fw"
//! name = "庁内境界ルータ"           # optional
//! config = "core-fw.rules"        # relative to the zone map's folder
//! format = "iptables-save"        # iptables-save | ip6tables-save | nft-json
//! ipset = "core-fw.ipset"         # optional, iptables formats only
//! # routes = "core-fw.routes.json" # optional `ip -j route` output, instead of [[device.route]] tables
//!   [[device.interface]]
//!   name = "eth1"
//!   segment = "mn-core"
//!   address = "10.10.0.1"         # optional: an address or a list, each inside the segment
//!   [[device.route]]
//!   to = "10.20.0.0/16"           # a prefix, or "default" with `via`
//!   via = "10.20.0.254"           # a gateway of the same family, and/or
//!   dev = "eth2"                  # one of the device's interfaces
//!
//! [[allow]]
//! from = "internet"               # a zone id or a segment id
//! to = "sanitiser"
//! protocol = "tcp"                # tcp udp icmp icmpv6 sctp dccp udplite gre esp ah any, or 0-255; default any
//! ports = ["25", "8000-8080", 443] # destination ports, only with tcp/udp/sctp/dccp/udplite; absent for all
//! reason = "受信メールを無害化中継へ" # required, not empty
//! basis = "…"                     # optional
//! ```
//!
//! Ids (zones, segments, devices, interface names) are non-empty, without spaces, and unique in their kind
//! (interface names within their device). Segments of one zone may overlap (the longest prefix decides which
//! segment an address is in); segments of different zones may not. Paths are kept as written; absolute
//! paths and `..` components are refused, so a map cannot point outside its folder.
//!
//! Every item keeps the line where its table starts, and every error says where (file, line, column) and
//! what was expected: a key the format does not have, a missing required zone, an id declared twice, a
//! reference to an unknown zone, segment or interface, a prefix or address that does not parse, prefixes of
//! two different zones that overlap, an interface address outside its segment, a path that leaves the map's
//! folder, a bad protocol or port range, and the limits [`MAX_MAP_BYTES`], [`MAX_SEGMENTS`], [`MAX_DEVICES`].
//!
//! The files a device names are not read here: the caller reads them relative to the map's folder.
//! [`parse_ip_routes`] reads `ip -j route` output for a device's `routes`.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::ops::Range;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde_json::Value;
use toml::Spanned;

use crate::error::ParseError;
use crate::ir::{AddrRange, Family, PortRange};

/// Largest zone map accepted.
pub const MAX_MAP_BYTES: usize = 1024 * 1024;
/// Most `[[segment]]` tables accepted.
pub const MAX_SEGMENTS: usize = 10_000;
/// Most `[[device]]` tables accepted.
pub const MAX_DEVICES: usize = 1_000;
/// Largest `ip -j route` output accepted.
pub const MAX_ROUTES_BYTES: usize = 64 * 1024 * 1024;
/// Most routes accepted from one `ip -j route` output.
pub const MAX_ROUTES: usize = 1_000_000;

/// The zones every map must declare, with their names in the guideline.
pub const REQUIRED_ZONES: [(&str, &str); 3] = [
    ("my_number", "マイナンバー利用事務系"),
    ("lgwan", "LGWAN接続系"),
    ("internet", "インターネット接続系"),
];

// ---------------------------------------------------------------------------------------------------------
// The model.

/// Everything a zone map says, in file order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ZoneMap {
    pub zones: Vec<Zone>,
    pub segments: Vec<Segment>,
    pub devices: Vec<Device>,
    pub allows: Vec<Allow>,
}

/// A network zone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Zone {
    pub id: String,
    pub name: String,
    /// 1-based line of its `[[zone]]` table.
    pub line: usize,
}

/// Address prefixes that belong to one zone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Segment {
    pub id: String,
    pub name: Option<String>,
    /// The id of its zone.
    pub zone: String,
    /// At least one; IPv4 and IPv6 may be mixed.
    pub prefixes: Vec<AddrRange>,
    pub line: usize,
}

/// The format of a device's configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigFormat {
    IptablesSave,
    Ip6tablesSave,
    NftJson,
}

impl ConfigFormat {
    /// The name used in the map.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigFormat::IptablesSave => "iptables-save",
            ConfigFormat::Ip6tablesSave => "ip6tables-save",
            ConfigFormat::NftJson => "nft-json",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "iptables-save" => Some(ConfigFormat::IptablesSave),
            "ip6tables-save" => Some(ConfigFormat::Ip6tablesSave),
            "nft-json" => Some(ConfigFormat::NftJson),
            _ => None,
        }
    }
}

impl fmt::Display for ConfigFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A filtering device (router, firewall) between segments.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Device {
    pub id: String,
    pub name: Option<String>,
    /// Its configuration, as written in the map: a relative path without `..`.
    pub config: String,
    pub format: ConfigFormat,
    /// `ipset save` output for `-m set` (iptables formats only), as written in the map.
    pub ipset: Option<String>,
    /// `ip -j route` output, as written in the map; when given, [`Device::routes`] is empty and the caller
    /// reads the file with [`parse_ip_routes`].
    pub routes_file: Option<String>,
    pub interfaces: Vec<Interface>,
    /// The static routes of `[[device.route]]`.
    pub routes: Vec<Route>,
    pub line: usize,
}

impl Device {
    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == name)
    }
}

/// A device's interface on a segment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Interface {
    pub name: String,
    /// The id of its segment.
    pub segment: String,
    /// Its addresses, each inside one of the segment's prefixes; may be empty.
    pub addresses: Vec<IpAddr>,
    pub line: usize,
}

/// What a route does with the packets it matches.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum RouteAction {
    /// A unicast route: out of `dev`, to `via` when given.
    Forward,
    /// Delivered to the device itself (`local`, `broadcast`, `anycast`, `multicast` routes).
    Local,
    /// Not forwarded: `blackhole`, `unreachable`, `prohibit`, `throw`, or any other type, as written.
    Drop { kind: String },
}

/// One route of a device.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Route {
    /// The destination prefix (`default` is 0.0.0.0/0 or ::/0).
    pub to: AddrRange,
    /// The gateway.
    pub via: Option<IpAddr>,
    /// The outgoing interface.
    pub dev: Option<String>,
    /// `ip -j route` only: the preferred source address, the protocol and scope as printed.
    pub prefsrc: Option<IpAddr>,
    pub protocol: Option<String>,
    pub scope: Option<String>,
    pub action: RouteAction,
    /// 1-based line of its `[[device.route]]` table, or where its object starts in `ip -j route` output.
    pub line: usize,
}

/// One side of an allowed service.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Endpoint {
    Zone(String),
    Segment(String),
}

/// A service allowed to cross between zones (or segments).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Allow {
    pub from: Endpoint,
    pub to: Endpoint,
    /// IP protocol number; `None` for any.
    pub protocol: Option<u8>,
    /// Destination ports; empty for all.
    pub ports: Vec<PortRange>,
    pub reason: String,
    /// The legal or guideline basis of a sanctioned connection; `None` when absent or empty.
    pub basis: Option<String>,
    pub line: usize,
}

impl ZoneMap {
    pub fn zone(&self, id: &str) -> Option<&Zone> {
        self.zones.iter().find(|z| z.id == id)
    }

    pub fn segment(&self, id: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| s.id == id)
    }

    pub fn device(&self, id: &str) -> Option<&Device> {
        self.devices.iter().find(|d| d.id == id)
    }

    /// The segment with the longest prefix containing the address (the first declared, on a tie).
    pub fn segment_of(&self, family: Family, addr: u128) -> Option<&Segment> {
        let mut best: Option<(&Segment, u128)> = None;
        for segment in &self.segments {
            for p in &segment.prefixes {
                if p.contains(family, addr) {
                    let size = p.last - p.first;
                    if best.is_none_or(|(_, s)| size < s) {
                        best = Some((segment, size));
                    }
                }
            }
        }
        best.map(|(s, _)| s)
    }

    /// The zone of the segment with the longest prefix containing the address. Segments of different zones
    /// never overlap, so the answer does not depend on the order of the map.
    pub fn zone_of(&self, family: Family, addr: u128) -> Option<&Zone> {
        self.segment_of(family, addr)
            .and_then(|s| self.zone(&s.zone))
    }

    /// The zone an endpoint names, or the zone of the segment it names.
    pub fn zone_of_endpoint(&self, endpoint: &Endpoint) -> Option<&Zone> {
        match endpoint {
            Endpoint::Zone(id) => self.zone(id),
            Endpoint::Segment(id) => self.segment(id).and_then(|s| self.zone(&s.zone)),
        }
    }
}

/// An address as the family and integer [`crate::ir`] uses.
pub fn addr_key(addr: IpAddr) -> (Family, u128) {
    match addr {
        IpAddr::V4(a) => (Family::Ipv4, u128::from(u32::from(a))),
        IpAddr::V6(a) => (Family::Ipv6, u128::from(a)),
    }
}

// ---------------------------------------------------------------------------------------------------------
// The file shape.

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    #[serde(default)]
    zone: Vec<Spanned<ZoneFile>>,
    #[serde(default)]
    segment: Vec<Spanned<SegmentFile>>,
    #[serde(default)]
    device: Vec<Spanned<DeviceFile>>,
    #[serde(default)]
    allow: Vec<Spanned<AllowFile>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ZoneFile {
    id: Spanned<String>,
    name: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SegmentFile {
    id: Spanned<String>,
    #[serde(default)]
    name: Option<String>,
    zone: Spanned<String>,
    prefixes: Spanned<Vec<Spanned<String>>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceFile {
    id: Spanned<String>,
    #[serde(default)]
    name: Option<String>,
    config: Spanned<String>,
    format: Spanned<String>,
    #[serde(default)]
    ipset: Option<Spanned<String>>,
    #[serde(default)]
    routes: Option<Spanned<String>>,
    #[serde(default)]
    interface: Vec<Spanned<InterfaceFile>>,
    #[serde(default)]
    route: Vec<Spanned<RouteFile>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct InterfaceFile {
    name: Spanned<String>,
    segment: Spanned<String>,
    #[serde(default)]
    address: Option<Spanned<OneOrMany>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteFile {
    to: Spanned<String>,
    #[serde(default)]
    via: Option<Spanned<String>>,
    #[serde(default)]
    dev: Option<Spanned<String>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowFile {
    from: Spanned<String>,
    to: Spanned<String>,
    #[serde(default)]
    protocol: Option<Spanned<Scalar>>,
    #[serde(default)]
    ports: Vec<Spanned<Scalar>>,
    reason: Spanned<String>,
    #[serde(default)]
    basis: Option<String>,
}

/// A string, or a list of strings, each of the list with its own span.
struct OneOrMany(Vec<(Option<Range<usize>>, String)>);

impl<'de> serde::Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an address or a list of addresses")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![(None, v.to_owned())]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut all = Vec::new();
                while let Some(s) = seq.next_element::<Spanned<String>>()? {
                    all.push((Some(s.span()), s.into_inner()));
                }
                Ok(OneOrMany(all))
            }
        }
        d.deserialize_any(V)
    }
}

/// A string or an integer (protocols and ports may be written either way).
enum Scalar {
    Text(String),
    Number(i64),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Text(s) => write!(f, "{s:?}"),
            Scalar::Number(n) => write!(f, "{n}"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Number(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Number(i64::try_from(v).unwrap_or(i64::MAX)))
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------------------------------------
// Positions and messages.

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// A value for a message: quoted, shortened.
fn show(value: &str) -> String {
    if value.chars().count() > 60 {
        format!("{:?}…", value.chars().take(60).collect::<String>())
    } else {
        format!("{value:?}")
    }
}

struct Ctx<'a> {
    text: &'a str,
    file: &'a str,
}

impl Ctx<'_> {
    fn line(&self, span: &Range<usize>) -> usize {
        line_column(self.text, span.start).0
    }

    /// An error at the start of `span`. `found` is composed here (key path and value), so it is not cut.
    fn err(
        &self,
        span: &Range<usize>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> ParseError {
        let (line, column) = line_column(self.text, span.start);
        ParseError {
            file: self.file.to_owned(),
            line,
            column,
            expected: expected.into(),
            found: found.into(),
        }
    }

    /// `[[device.interface]]` for the table whose header is on or above `line`, as written.
    fn table_at(&self, line: usize) -> String {
        let header = self
            .text
            .lines()
            .take(line)
            .map(|l| l.split('#').next().unwrap_or(l).trim())
            .filter(|l| is_header(l))
            .last();
        match header {
            Some(h) if h.chars().count() > 60 => {
                format!("{}…", h.chars().take(60).collect::<String>())
            }
            Some(h) => h.to_owned(),
            None => "the top level".to_owned(),
        }
    }

    fn is_header(&self, line: usize) -> bool {
        self.text
            .lines()
            .nth(line.saturating_sub(1))
            .is_some_and(|l| is_header(l.split('#').next().unwrap_or(l).trim()))
    }

    fn syntax(&self, error: &toml::de::Error) -> ParseError {
        let (line, column) = error
            .span()
            .map_or((1, 1), |s| line_column(self.text, s.start));
        let message = error.message().trim();
        let first_line = message.lines().next().unwrap_or_default();
        // serde's messages read "unknown field `x`, expected one of `a`, `b`": split them into our two parts,
        // and name the table the key is in.
        let (found, expected) = match first_line.split_once(", expected ") {
            Some((found, expected)) if found.starts_with("unknown field") => (
                found.to_owned(),
                if self.is_header(line) {
                    format!("a known table name: {expected}")
                } else {
                    format!("a key of {}: {expected}", self.table_at(line))
                },
            ),
            Some((found, expected)) if found.starts_with("invalid") => (
                found.to_owned(),
                format!("{expected} (in {})", self.table_at(line)),
            ),
            Some((found, expected)) => (found.to_owned(), expected.to_owned()),
            None if first_line.starts_with("missing field") => (
                first_line.to_owned(),
                format!(
                    "the required key {} in {}",
                    first_line.trim_start_matches("missing field "),
                    self.table_at(line)
                ),
            ),
            None => (
                first_line.to_owned(),
                "a zone map in TOML ([[zone]], [[segment]], [[device]], [[allow]] tables)"
                    .to_owned(),
            ),
        };
        ParseError {
            file: self.file.to_owned(),
            line,
            column,
            expected,
            found,
        }
    }
}

/// Whether a line (without its comment, trimmed) looks like a table header: `[name]`, `[[a.b]]`.
fn is_header(line: &str) -> bool {
    line.ends_with(']')
        && line.strip_prefix('[').is_some_and(|rest| {
            rest.trim_start_matches('[')
                .trim_start()
                .starts_with(|c: char| c.is_alphanumeric() || c == '"' || c == '_')
        })
}

/// A range as a prefix (`10.40.0.0/24`) when it is one, else as a range.
fn cidr(range: &AddrRange) -> String {
    let size = range.last.wrapping_sub(range.first);
    if range.first <= range.last
        && size.count_ones() == size.trailing_ones()
        && range.first & size == 0
    {
        let first = AddrRange {
            last: range.first,
            ..*range
        };
        format!("{first}/{}", range.family.bits() - size.count_ones())
    } else {
        range.to_string()
    }
}

/// Why a path in the map is refused, if it is.
fn path_problem(path: &str) -> Option<&'static str> {
    let bytes = path.as_bytes();
    if path.trim().is_empty() {
        return Some("an empty path");
    }
    if path.starts_with('/')
        || path.starts_with('\\')
        || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':')
    {
        return Some("an absolute path");
    }
    if path.split(['/', '\\']).any(|c| c == "..") {
        return Some("a path with a `..` component");
    }
    if path.contains('\0') {
        return Some("a path with a NUL character");
    }
    None
}

const PATH_EXPECTED: &str = "a path relative to the zone map's folder, without `..` (a zone map must not point outside its folder)";

/// The protocol number for a name or number; `Ok(None)` for any.
fn protocol_number(value: &Scalar) -> Result<Option<u8>, ()> {
    match value {
        Scalar::Number(n) => u8::try_from(*n).map(Some).map_err(|_| ()),
        Scalar::Text(s) => match s.to_ascii_lowercase().as_str() {
            "any" | "all" => Ok(None),
            "tcp" => Ok(Some(6)),
            "udp" => Ok(Some(17)),
            "icmp" => Ok(Some(1)),
            "icmpv6" | "ipv6-icmp" => Ok(Some(58)),
            "sctp" => Ok(Some(132)),
            "dccp" => Ok(Some(33)),
            "udplite" => Ok(Some(136)),
            "gre" => Ok(Some(47)),
            "esp" => Ok(Some(50)),
            "ah" => Ok(Some(51)),
            other => other.parse::<u8>().map(Some).map_err(|_| ()),
        },
    }
}

/// Protocols whose packets have ports: tcp, udp, dccp, udplite, sctp.
fn port_range(value: &Scalar) -> Option<PortRange> {
    let one = |s: &str| -> Option<u16> {
        let n = s.trim().parse::<u16>().ok()?;
        (n >= 1).then_some(n)
    };
    let range = match value {
        Scalar::Number(n) => {
            let n = u16::try_from(*n).ok().filter(|n| *n >= 1)?;
            PortRange::single(n)
        }
        Scalar::Text(s) => match s.split_once('-') {
            Some((a, b)) => PortRange {
                first: one(a)?,
                last: one(b)?,
            },
            None => PortRange::single(one(s)?),
        },
    };
    (range.first <= range.last).then_some(range)
}

// ---------------------------------------------------------------------------------------------------------
// The zone map.

/// Reads and validates a zone map. `file` names it in errors.
pub fn parse_zone_map(text: &str, file: &str) -> Result<ZoneMap, ParseError> {
    let cx = Ctx { text, file };
    if text.len() > MAX_MAP_BYTES {
        return Err(cx.err(
            &(0..0),
            "a zone map of at most 1 MiB",
            format!("{} bytes", text.len()),
        ));
    }
    let map: MapFile = toml::from_str(text).map_err(|e| cx.syntax(&e))?;

    if let Some(extra) = map.segment.get(MAX_SEGMENTS) {
        return Err(cx.err(
            &extra.span(),
            format!("at most {MAX_SEGMENTS} [[segment]] tables"),
            format!("{} segments", map.segment.len()),
        ));
    }
    if let Some(extra) = map.device.get(MAX_DEVICES) {
        return Err(cx.err(
            &extra.span(),
            format!("at most {MAX_DEVICES} [[device]] tables"),
            format!("{} devices", map.device.len()),
        ));
    }

    let zones = read_zones(&cx, map.zone)?;
    let zone_index: HashMap<&str, usize> = zones
        .iter()
        .enumerate()
        .map(|(i, z)| (z.id.as_str(), i))
        .collect();
    let (segments, prefix_spans) = read_segments(&cx, map.segment, &zone_index)?;
    check_overlaps(&cx, &segments, &prefix_spans)?;
    let segment_index: HashMap<&str, usize> = segments
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let devices = read_devices(&cx, map.device, &segments, &segment_index)?;
    let allows = read_allows(&cx, map.allow, &zones, &zone_index, &segment_index)?;
    Ok(ZoneMap {
        zones,
        segments,
        devices,
        allows,
    })
}

fn check_id(cx: &Ctx<'_>, id: &Spanned<String>, path: &str) -> Result<(), ParseError> {
    let value = id.get_ref();
    if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(cx.err(
            &id.span(),
            "a non-empty id without spaces or control characters",
            format!("{path} = {}", show(value)),
        ));
    }
    Ok(())
}

fn read_zones(cx: &Ctx<'_>, files: Vec<Spanned<ZoneFile>>) -> Result<Vec<Zone>, ParseError> {
    let mut zones: Vec<Zone> = Vec::with_capacity(files.len());
    for (n, z) in files.into_iter().enumerate() {
        let line = cx.line(&z.span());
        let z = z.into_inner();
        let path = format!("zone[{n}].id");
        check_id(cx, &z.id, &path)?;
        if let Some((m, previous)) = zones
            .iter()
            .enumerate()
            .find(|(_, p)| p.id == *z.id.get_ref())
        {
            return Err(cx.err(
                &z.id.span(),
                format!(
                    "a zone id not used before (zone[{m}] on line {} is {})",
                    previous.line,
                    show(&previous.id)
                ),
                format!("{path} = {}", show(z.id.get_ref())),
            ));
        }
        zones.push(Zone {
            id: z.id.into_inner(),
            name: z.name,
            line,
        });
    }
    for (id, name) in REQUIRED_ZONES {
        if !zones.iter().any(|z| z.id == id) {
            let declared: Vec<&str> = zones.iter().map(|z| z.id.as_str()).collect();
            return Err(cx.err(
                &(0..0),
                format!("a [[zone]] with id = {id:?} ({name}); my_number, lgwan and internet are required"),
                if declared.is_empty() {
                    "no [[zone]] tables".to_owned()
                } else {
                    format!("only the zones {}", declared.join(", "))
                },
            ));
        }
    }
    Ok(zones)
}

type PrefixSpans = Vec<Vec<(Range<usize>, String)>>;

fn read_segments(
    cx: &Ctx<'_>,
    files: Vec<Spanned<SegmentFile>>,
    zone_index: &HashMap<&str, usize>,
) -> Result<(Vec<Segment>, PrefixSpans), ParseError> {
    let mut segments: Vec<Segment> = Vec::with_capacity(files.len());
    let mut spans: PrefixSpans = Vec::with_capacity(files.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    let zone_list = || {
        let mut ids: Vec<&str> = zone_index.keys().copied().collect();
        ids.sort_unstable();
        ids.join(", ")
    };
    for (n, s) in files.into_iter().enumerate() {
        let line = cx.line(&s.span());
        let s = s.into_inner();
        let path = format!("segment[{n}]");
        check_id(cx, &s.id, &format!("{path}.id"))?;
        let id = s.id.get_ref();
        if let Some(&m) = seen.get(id.as_str()) {
            let previous: &Segment = &segments[m];
            return Err(cx.err(
                &s.id.span(),
                format!(
                    "a segment id not used before (segment[{m}] on line {} is {})",
                    previous.line,
                    show(&previous.id)
                ),
                format!("{path}.id = {}", show(id)),
            ));
        }
        if zone_index.contains_key(id.as_str()) {
            return Err(cx.err(
                &s.id.span(),
                "a segment id that is not also a zone id ([[allow]] names either)",
                format!("{path}.id = {}", show(id)),
            ));
        }
        if !zone_index.contains_key(s.zone.get_ref().as_str()) {
            return Err(cx.err(
                &s.zone.span(),
                format!("the id of a declared zone ({})", zone_list()),
                format!("{path}.zone = {}", show(s.zone.get_ref())),
            ));
        }
        let list_span = s.prefixes.span();
        let list = s.prefixes.into_inner();
        if list.is_empty() {
            return Err(cx.err(
                &list_span,
                "at least one prefix, such as \"10.10.0.0/16\"",
                format!("{path}.prefixes = []"),
            ));
        }
        let mut prefixes = Vec::with_capacity(list.len());
        let mut prefix_spans = Vec::with_capacity(list.len());
        for (k, p) in list.into_iter().enumerate() {
            let Some(range) = AddrRange::parse(p.get_ref().trim()) else {
                return Err(cx.err(
                    &p.span(),
                    "an address prefix such as \"10.10.0.0/16\" or \"fd00:10::/32\"",
                    format!("{path}.prefixes[{k}] = {}", show(p.get_ref())),
                ));
            };
            prefixes.push(range);
            let span = p.span();
            prefix_spans.push((span, p.into_inner()));
        }
        seen.insert(id.clone(), segments.len());
        segments.push(Segment {
            id: s.id.into_inner(),
            name: s.name,
            zone: s.zone.into_inner(),
            prefixes,
            line,
        });
        spans.push(prefix_spans);
    }
    Ok((segments, spans))
}

/// Prefixes of segments of different zones must not overlap. Prefixes are nested or disjoint, so one sweep in
/// address order with a stack of the prefixes enclosing the current one finds an overlap if there is any; of
/// those it meets, the one reported is the one whose later prefix comes first in the file, and the error
/// points at that later prefix.
fn check_overlaps(
    cx: &Ctx<'_>,
    segments: &[Segment],
    spans: &PrefixSpans,
) -> Result<(), ParseError> {
    struct Entry {
        range: AddrRange,
        segment: usize,
        prefix: usize,
        offset: usize,
    }
    let mut entries: Vec<Entry> = Vec::new();
    for (si, s) in segments.iter().enumerate() {
        for (pi, range) in s.prefixes.iter().enumerate() {
            let offset = spans
                .get(si)
                .and_then(|v| v.get(pi))
                .map_or(0, |(sp, _)| sp.start);
            entries.push(Entry {
                range: *range,
                segment: si,
                prefix: pi,
                offset,
            });
        }
    }
    entries.sort_by(|a, b| {
        (
            a.range.family,
            a.range.first,
            std::cmp::Reverse(a.range.last),
            a.offset,
        )
            .cmp(&(
                b.range.family,
                b.range.first,
                std::cmp::Reverse(b.range.last),
                b.offset,
            ))
    });
    // (later entry, earlier entry) of the overlap to report.
    let mut worst: Option<(usize, usize)> = None;
    let mut stack: Vec<usize> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        while let Some(&top) = stack.last() {
            let t = &entries[top];
            if t.range.family != e.range.family || t.range.last < e.range.first {
                stack.pop();
            } else {
                break;
            }
        }
        let zone = &segments[e.segment].zone;
        let mut redundant = false;
        for &j in &stack {
            let other = &entries[j];
            if segments[other.segment].zone != *zone {
                let (later, earlier) = if other.offset > e.offset {
                    (j, i)
                } else {
                    (i, j)
                };
                if worst.is_none_or(|(l, _)| entries[later].offset < entries[l].offset) {
                    worst = Some((later, earlier));
                }
            }
            // An equal range already on the stack stands for this one (it keeps the stack at most one
            // prefix per length deep); any overlap between the two was found just above.
            if other.range == e.range {
                redundant = true;
            }
        }
        if !redundant {
            stack.push(i);
        }
    }
    let Some((later, earlier)) = worst else {
        return Ok(());
    };
    let (l, e) = (&entries[later], &entries[earlier]);
    let (ls, es) = (&segments[l.segment], &segments[e.segment]);
    let text_of = |entry: &Entry| {
        spans
            .get(entry.segment)
            .and_then(|v| v.get(entry.prefix))
            .map_or_else(|| entry.range.to_string(), |(_, t)| t.clone())
    };
    let span = spans
        .get(l.segment)
        .and_then(|v| v.get(l.prefix))
        .map_or(0..0, |(s, _)| s.clone());
    Err(cx.err(
        &span,
        format!(
            "no overlap with segments of other zones, but segment {} (zone {}, line {}) has {}",
            show(&es.id),
            es.zone,
            es.line,
            show(&text_of(e))
        ),
        format!(
            "{} in segment {} (zone {}, line {})",
            show(&text_of(l)),
            show(&ls.id),
            ls.zone,
            ls.line
        ),
    ))
}

fn read_path(cx: &Ctx<'_>, value: Spanned<String>, path: &str) -> Result<String, ParseError> {
    if let Some(problem) = path_problem(value.get_ref()) {
        return Err(cx.err(
            &value.span(),
            PATH_EXPECTED,
            format!("{problem}: {path} = {}", show(value.get_ref())),
        ));
    }
    Ok(value.into_inner())
}

fn read_devices(
    cx: &Ctx<'_>,
    files: Vec<Spanned<DeviceFile>>,
    segments: &[Segment],
    segment_index: &HashMap<&str, usize>,
) -> Result<Vec<Device>, ParseError> {
    let mut devices: Vec<Device> = Vec::with_capacity(files.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (n, d) in files.into_iter().enumerate() {
        let line = cx.line(&d.span());
        let d = d.into_inner();
        let path = format!("device[{n}]");
        check_id(cx, &d.id, &format!("{path}.id"))?;
        if let Some(&m) = seen.get(d.id.get_ref().as_str()) {
            let previous: &Device = &devices[m];
            return Err(cx.err(
                &d.id.span(),
                format!(
                    "a device id not used before (device[{m}] on line {} is {})",
                    previous.line,
                    show(&previous.id)
                ),
                format!("{path}.id = {}", show(d.id.get_ref())),
            ));
        }
        let Some(format) = ConfigFormat::parse(d.format.get_ref()) else {
            return Err(cx.err(
                &d.format.span(),
                "a format: iptables-save, ip6tables-save or nft-json",
                format!("{path}.format = {}", show(d.format.get_ref())),
            ));
        };
        let config = read_path(cx, d.config, &format!("{path}.config"))?;
        let ipset = match d.ipset {
            Some(ipset) => {
                if format == ConfigFormat::NftJson {
                    return Err(cx.err(
                        &ipset.span(),
                        "no ipset file with format nft-json (nft sets are in the ruleset; ipset is for iptables-save and ip6tables-save)",
                        format!("{path}.ipset = {}", show(ipset.get_ref())),
                    ));
                }
                Some(read_path(cx, ipset, &format!("{path}.ipset"))?)
            }
            None => None,
        };
        let routes_file = match d.routes {
            Some(routes) => {
                if let Some(first) = d.route.first() {
                    return Err(cx.err(
                        &first.span(),
                        format!(
                            "either a routes file or [[device.route]] tables, not both ({path}.routes is on line {})",
                            cx.line(&routes.span())
                        ),
                        format!("{path}.route[0]"),
                    ));
                }
                Some(read_path(cx, routes, &format!("{path}.routes"))?)
            }
            None => None,
        };

        let mut interfaces: Vec<Interface> = Vec::with_capacity(d.interface.len());
        for (k, i) in d.interface.into_iter().enumerate() {
            let iline = cx.line(&i.span());
            let i = i.into_inner();
            let ipath = format!("{path}.interface[{k}]");
            check_id(cx, &i.name, &format!("{ipath}.name"))?;
            if let Some((m, previous)) = interfaces
                .iter()
                .enumerate()
                .find(|(_, p)| p.name == *i.name.get_ref())
            {
                return Err(cx.err(
                    &i.name.span(),
                    format!(
                        "an interface name not used before on device {} ({path}.interface[{m}] on line {} is {})",
                        show(d.id.get_ref()),
                        previous.line,
                        show(&previous.name)
                    ),
                    format!("{ipath}.name = {}", show(i.name.get_ref())),
                ));
            }
            let Some(&si) = segment_index.get(i.segment.get_ref().as_str()) else {
                return Err(cx.err(
                    &i.segment.span(),
                    "the id of a declared [[segment]]",
                    format!("{ipath}.segment = {}", show(i.segment.get_ref())),
                ));
            };
            let segment = &segments[si];
            let mut addresses = Vec::new();
            if let Some(address) = i.address {
                let list_span = address.span();
                for (span, text) in address.into_inner().0 {
                    let span = span.unwrap_or_else(|| list_span.clone());
                    let Ok(addr) = text.trim().parse::<IpAddr>() else {
                        return Err(cx.err(
                            &span,
                            "an interface address such as \"10.10.0.1\" (without a prefix length)",
                            format!("{ipath}.address = {}", show(&text)),
                        ));
                    };
                    let (family, value) = addr_key(addr);
                    if !segment.prefixes.iter().any(|p| p.contains(family, value)) {
                        let prefixes: Vec<String> = segment.prefixes.iter().map(cidr).collect();
                        return Err(cx.err(
                            &span,
                            format!(
                                "an address inside segment {} (line {}: {})",
                                show(&segment.id),
                                segment.line,
                                prefixes.join(", ")
                            ),
                            format!("{ipath}.address = {}", show(&text)),
                        ));
                    }
                    addresses.push(addr);
                }
            }
            interfaces.push(Interface {
                name: i.name.into_inner(),
                segment: i.segment.into_inner(),
                addresses,
                line: iline,
            });
        }

        let mut routes = Vec::with_capacity(d.route.len());
        for (k, r) in d.route.into_iter().enumerate() {
            let rline = cx.line(&r.span());
            let rspan = r.span();
            let r = r.into_inner();
            let rpath = format!("{path}.route[{k}]");
            let via = match &r.via {
                Some(v) => match v.get_ref().trim().parse::<IpAddr>() {
                    Ok(a) => Some(a),
                    Err(_) => {
                        return Err(cx.err(
                            &v.span(),
                            "a gateway address such as \"10.20.0.254\"",
                            format!("{rpath}.via = {}", show(v.get_ref())),
                        ));
                    }
                },
                None => None,
            };
            let to_text = r.to.get_ref().trim();
            let to = if to_text == "default" {
                match via {
                    Some(a) => AddrRange::any(addr_key(a).0),
                    None => {
                        return Err(cx.err(
                            &r.to.span(),
                            "a prefix (\"default\" needs `via` to tell its family; write 0.0.0.0/0 or ::/0)",
                            format!("{rpath}.to = \"default\""),
                        ));
                    }
                }
            } else {
                match AddrRange::parse(to_text) {
                    Some(p) => p,
                    None => {
                        return Err(cx.err(
                            &r.to.span(),
                            "a destination prefix such as \"10.20.0.0/16\", or \"default\"",
                            format!("{rpath}.to = {}", show(r.to.get_ref())),
                        ));
                    }
                }
            };
            if let (Some(a), Some(v)) = (via, &r.via)
                && addr_key(a).0 != to.family
            {
                return Err(cx.err(
                    &v.span(),
                    "a gateway of the same family as the destination",
                    format!("{rpath}.via = {}", show(v.get_ref())),
                ));
            }
            if let Some(dev) = &r.dev
                && !interfaces.iter().any(|i| i.name == *dev.get_ref())
            {
                let names: Vec<&str> = interfaces.iter().map(|i| i.name.as_str()).collect();
                return Err(cx.err(
                    &dev.span(),
                    format!(
                        "one of the interfaces of device {} ({})",
                        show(d.id.get_ref()),
                        if names.is_empty() {
                            "it has none".to_owned()
                        } else {
                            names.join(", ")
                        }
                    ),
                    format!("{rpath}.dev = {}", show(dev.get_ref())),
                ));
            }
            if r.via.is_none() && r.dev.is_none() {
                return Err(cx.err(
                    &rspan,
                    "`via` (a gateway) or `dev` (an interface) in a route",
                    format!("{rpath} with neither"),
                ));
            }
            routes.push(Route {
                to,
                via,
                dev: r.dev.map(Spanned::into_inner),
                prefsrc: None,
                protocol: None,
                scope: None,
                action: RouteAction::Forward,
                line: rline,
            });
        }

        seen.insert(d.id.get_ref().clone(), devices.len());
        devices.push(Device {
            id: d.id.into_inner(),
            name: d.name,
            config,
            format,
            ipset,
            routes_file,
            interfaces,
            routes,
            line,
        });
    }
    Ok(devices)
}

fn read_allows(
    cx: &Ctx<'_>,
    files: Vec<Spanned<AllowFile>>,
    zones: &[Zone],
    zone_index: &HashMap<&str, usize>,
    segment_index: &HashMap<&str, usize>,
) -> Result<Vec<Allow>, ParseError> {
    let zone_list: Vec<&str> = zones.iter().map(|z| z.id.as_str()).collect();
    let endpoint = |value: &Spanned<String>, path: String| -> Result<Endpoint, ParseError> {
        let id = value.get_ref().as_str();
        if zone_index.contains_key(id) {
            Ok(Endpoint::Zone(id.to_owned()))
        } else if segment_index.contains_key(id) {
            Ok(Endpoint::Segment(id.to_owned()))
        } else {
            Err(cx.err(
                &value.span(),
                format!(
                    "a zone id ({}) or the id of a declared [[segment]]",
                    zone_list.join(", ")
                ),
                format!("{path} = {}", show(id)),
            ))
        }
    };
    let mut allows = Vec::with_capacity(files.len());
    for (n, a) in files.into_iter().enumerate() {
        let line = cx.line(&a.span());
        let a = a.into_inner();
        let path = format!("allow[{n}]");
        let from = endpoint(&a.from, format!("{path}.from"))?;
        let to = endpoint(&a.to, format!("{path}.to"))?;
        let protocol = match &a.protocol {
            Some(p) => protocol_number(p.get_ref()).map_err(|()| {
                cx.err(
                    &p.span(),
                    "a protocol: tcp, udp, icmp, icmpv6, sctp, dccp, udplite, gre, esp, ah, any, or a number 0-255",
                    format!("{path}.protocol = {}", p.get_ref()),
                )
            })?,
            None => None,
        };
        let mut ports = Vec::with_capacity(a.ports.len());
        for (k, p) in a.ports.iter().enumerate() {
            let Some(range) = port_range(p.get_ref()) else {
                return Err(cx.err(
                    &p.span(),
                    "a port 1-65535 or a range such as \"8000-8080\" (first not above last)",
                    format!("{path}.ports[{k}] = {}", p.get_ref()),
                ));
            };
            ports.push(range);
        }
        if let Some(first) = a.ports.first() {
            match protocol {
                Some(proto) if crate::ir::has_ports(proto) => {}
                Some(proto) => {
                    let name = a
                        .protocol
                        .as_ref()
                        .map_or_else(|| proto.to_string(), |p| p.get_ref().to_string());
                    return Err(cx.err(
                        &first.span(),
                        format!(
                            "no ports for protocol {name}, which has none (ports apply to tcp, udp, sctp, dccp, udplite)"
                        ),
                        format!("{path}.ports[0] = {}", first.get_ref()),
                    ));
                }
                None => {
                    return Err(cx.err(
                        &first.span(),
                        "ports only with a protocol that has them: set protocol = \"tcp\" or \"udp\" (or sctp, dccp, udplite)",
                        format!("{path}.ports[0] = {} with protocol any", first.get_ref()),
                    ));
                }
            }
        }
        if a.reason.get_ref().trim().is_empty() {
            return Err(cx.err(
                &a.reason.span(),
                "a reason for the allowed service",
                format!("{path}.reason = {}", show(a.reason.get_ref())),
            ));
        }
        allows.push(Allow {
            from,
            to,
            protocol,
            ports,
            reason: a.reason.into_inner(),
            basis: a.basis.filter(|b| !b.trim().is_empty()),
            line,
        });
    }
    Ok(allows)
}

// ---------------------------------------------------------------------------------------------------------
// `ip -j route` output.

/// Where each element of a top-level JSON array starts (1-based line and column in characters). Invalid JSON
/// is not diagnosed here.
fn element_starts(text: &str) -> Vec<(usize, usize)> {
    let mut starts = Vec::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut line = 1usize;
    let mut column = 0usize;
    let mut top_is_array = false;
    let mut expect = false;
    for ch in text.chars() {
        let pos = (line, column + 1);
        if ch == '\n' {
            line += 1;
            column = 0;
        } else {
            column += 1;
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == '"' {
                in_string = false;
            }
            continue;
        }
        if ch.is_whitespace() {
            continue;
        }
        if depth == 1 && top_is_array && expect && ch != ']' {
            starts.push(pos);
            expect = false;
        }
        match ch {
            '"' => in_string = true,
            '[' | '{' => {
                if depth == 0 {
                    top_is_array = ch == '[';
                    expect = true;
                }
                depth += 1;
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 1 => expect = true,
            _ => {}
        }
    }
    starts
}

/// The column in characters of a 1-based byte column on a 1-based line.
fn char_column(text: &str, line: usize, byte_column: usize) -> usize {
    let Some(l) = text.split('\n').nth(line.saturating_sub(1)) else {
        return byte_column;
    };
    let end = byte_column.saturating_sub(1).min(l.len());
    let mut end = end;
    while end > 0 && !l.is_char_boundary(end) {
        end -= 1;
    }
    l.get(..end).map_or(byte_column, |s| s.chars().count() + 1)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn json_show(v: &Value) -> String {
    match v {
        Value::String(s) => show(s),
        Value::Array(_) | Value::Object(_) => json_kind(v).to_owned(),
        other => other.to_string(),
    }
}

/// A string field, or a number printed as a string (`ip` prints unnamed protocols and scopes as numbers).
fn json_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The family of a route told by its next hop: `ip` prints a gateway of the route's family as `"gateway"`,
/// and one of the other family (RFC 5549, `via inet6 …`) as `"via": {"family": …, "host": …}`.
fn family_hint(route: &Value) -> Option<Family> {
    let parse = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .and_then(|s| s.parse::<IpAddr>().ok())
            .map(|a| addr_key(a).0)
    };
    if let Some(f) = parse(route.get("gateway")) {
        return Some(f);
    }
    parse(route.get("via").and_then(|v| v.get("host"))).map(|f| match f {
        Family::Ipv4 => Family::Ipv6,
        Family::Ipv6 => Family::Ipv4,
    })
}

/// Reads `ip -j route` (or `ip -6 -j route`, `ip -j route show table all`) output: a JSON array of routes
/// with `dst` (`default` or a prefix), `gateway` (or `via: {"host": …}`), `dev`, `prefsrc`, `protocol`,
/// `scope`, `type` and, for multipath routes, `nexthops` (one [`Route`] each). Other keys are ignored.
///
/// Unicast routes (no `type`, or `unicast`) forward; `local`, `broadcast`, `anycast` and `multicast` routes
/// deliver to the device; every other type (`blackhole`, `unreachable`, `prohibit`, `throw` …) is kept as a
/// route that drops. `default` is 0.0.0.0/0 or ::/0 by the family of its `gateway` (a `via` object names a
/// gateway of the other family), else of its preferred source, else of the other routes of the file (IPv4
/// if they do not tell: `ip route` lists IPv4 unless given `-6`).
pub fn parse_ip_routes(text: &str, file: &str) -> Result<Vec<Route>, ParseError> {
    let at = |pos: (usize, usize), expected: String, found: String| ParseError {
        file: file.to_owned(),
        line: pos.0,
        column: pos.1,
        expected,
        found,
    };
    if text.len() > MAX_ROUTES_BYTES {
        return Err(at(
            (1, 1),
            "at most 64 MiB of `ip -j route` output".to_owned(),
            format!("{} bytes", text.len()),
        ));
    }
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        let line = e.line().max(1);
        let column = char_column(text, line, e.column().max(1));
        let message = e.to_string();
        let message = message.split(" at line ").next().unwrap_or_default();
        ParseError::new(file, line, column, "JSON (`ip -j route` output)", message)
    })?;
    let Value::Array(items) = &doc else {
        return Err(at(
            (1, 1),
            "a JSON array of routes (`ip -j route` output)".to_owned(),
            json_kind(&doc).to_owned(),
        ));
    };
    let starts = element_starts(text);
    let pos_of = |n: usize| {
        if starts.len() == items.len() {
            starts.get(n).copied().unwrap_or((1, 1))
        } else {
            (1, 1)
        }
    };
    // The family of `default` routes that do not tell.
    let mut v4 = false;
    let mut v6 = false;
    for item in items {
        if let Some(r) = item
            .get("dst")
            .and_then(Value::as_str)
            .and_then(AddrRange::parse)
        {
            match r.family {
                Family::Ipv4 => v4 = true,
                Family::Ipv6 => v6 = true,
            }
        }
    }
    let default_family = if v6 && !v4 {
        Family::Ipv6
    } else {
        Family::Ipv4
    };

    let mut routes = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let pos = pos_of(n);
        let Value::Object(obj) = item else {
            return Err(at(
                pos,
                "a route object".to_owned(),
                format!("[{n}] = {}", json_show(item)),
            ));
        };
        let address = |key: &str, value: Option<&Value>| -> Result<Option<IpAddr>, ParseError> {
            match value {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => s.parse::<IpAddr>().map(Some).map_err(|_| {
                    at(
                        pos,
                        format!("an address as {key}"),
                        format!("[{n}].{key} = {}", show(s)),
                    )
                }),
                Some(other) => Err(at(
                    pos,
                    format!("an address as {key}"),
                    format!("[{n}].{key} = {}", json_show(other)),
                )),
            }
        };
        let string = |key: &str| -> Result<Option<String>, ParseError> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(at(
                    pos,
                    format!("a string as {key}"),
                    format!("[{n}].{key} = {}", json_show(other)),
                )),
            }
        };
        let kind = string("type")?.unwrap_or_else(|| "unicast".to_owned());
        let action = match kind.as_str() {
            "unicast" => RouteAction::Forward,
            "local" | "broadcast" | "anycast" | "multicast" => RouteAction::Local,
            _ => RouteAction::Drop { kind },
        };
        let prefsrc = address("prefsrc", obj.get("prefsrc"))?;
        let dev = string("dev")?;
        let gateway = match obj.get("gateway") {
            Some(g) => address("gateway", Some(g))?,
            None => address("via", obj.get("via").and_then(|v| v.get("host")))?,
        };
        // (gateway, dev) of each next hop.
        let mut hops: Vec<(Option<IpAddr>, Option<String>)> = Vec::new();
        match obj.get("nexthops") {
            None | Some(Value::Null) => hops.push((gateway, dev)),
            Some(Value::Array(list)) if !list.is_empty() => {
                for (k, hop) in list.iter().enumerate() {
                    if !hop.is_object() {
                        return Err(at(
                            pos,
                            "a next-hop object".to_owned(),
                            format!("[{n}].nexthops[{k}] = {}", json_show(hop)),
                        ));
                    }
                    let g = match hop.get("gateway") {
                        Some(g) => address("nexthops.gateway", Some(g))?,
                        None => {
                            address("nexthops.via", hop.get("via").and_then(|v| v.get("host")))?
                        }
                    };
                    let d = json_text(hop.get("dev")).or_else(|| dev.clone());
                    hops.push((g.or(gateway), d));
                }
            }
            Some(other) => {
                return Err(at(
                    pos,
                    "a non-empty array of next hops".to_owned(),
                    format!("[{n}].nexthops = {}", json_show(other)),
                ));
            }
        }
        let Some(dst_value) = obj.get("dst") else {
            return Err(at(
                pos,
                "a route with \"dst\"".to_owned(),
                format!("[{n}] without dst"),
            ));
        };
        let Value::String(dst) = dst_value else {
            return Err(at(
                pos,
                "\"default\" or a prefix as dst".to_owned(),
                format!("[{n}].dst = {}", json_show(dst_value)),
            ));
        };
        let to = if dst == "default" {
            let family = family_hint(item)
                .or_else(|| {
                    obj.get("nexthops")
                        .and_then(Value::as_array)
                        .and_then(|hops| hops.iter().find_map(family_hint))
                })
                .or(prefsrc.map(|a| addr_key(a).0))
                .unwrap_or(default_family);
            AddrRange::any(family)
        } else {
            AddrRange::parse(dst).ok_or_else(|| {
                at(
                    pos,
                    "\"default\" or a prefix as dst".to_owned(),
                    format!("[{n}].dst = {}", show(dst)),
                )
            })?
        };
        let protocol = json_text(obj.get("protocol"));
        let scope = json_text(obj.get("scope"));
        for (via, dev) in hops {
            if routes.len() >= MAX_ROUTES {
                return Err(at(
                    pos,
                    format!("at most {MAX_ROUTES} routes"),
                    "more routes".to_owned(),
                ));
            }
            routes.push(Route {
                to,
                via,
                dev,
                prefsrc,
                protocol: protocol.clone(),
                scope: scope.clone(),
                action: action.clone(),
                line: pos.0,
            });
        }
    }
    Ok(routes)
}
