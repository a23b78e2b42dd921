//! `nft -j list ruleset` JSON (the libnftables-json(5) schema) into the rule model of [`crate::ir`].
//!
//! The document is `{"nftables": [{"metainfo": …}, {"table": …}, {"chain": …}, {"set": …}, {"map": …},
//! {"rule": …}, …]}`; nft lists, per table, the table, its chains, its named objects and sets, then the rules
//! of every chain. Each rule keeps its handle and the line where its object starts (nft prints everything on
//! one line, so that is usually line 1; a pretty-printed file gives each rule its own line).
//!
//! What is modelled exactly:
//! - matches (`==`, `!=`, `in`; `<` `>` `<=` `>=` on ports) on `ip`/`ip6` `saddr`/`daddr`, the ports of
//!   `tcp`/`udp`/`sctp`/`dccp`/`udplite`/`th`, `ip protocol`, `ip6 nexthdr`, `meta l4proto`, `meta nfproto`,
//!   `meta protocol` (ip/ip6), `meta iifname`/`oifname` (`eth*` wildcards), `meta iif`/`oif` given by name,
//!   `ct state`; against a literal, a prefix, a range, an anonymous set, or a named set of the table;
//! - the dependencies nft leaves implicit: a `tcp dport` match is also `meta l4proto tcp`, an `ip saddr` match
//!   in an `inet` (or bridge/netdev) table is also `meta nfproto ipv4`;
//! - verdicts, `dnat`/`redirect` (address and port ranges), `snat`/`masquerade`, and verdict maps (`vmap`),
//!   which become one rule per map entry — the entry as a match, its verdict as the action (entries of a map
//!   are disjoint, so their order does not matter; a catch-all `*` entry comes last). A `dnat` whose address
//!   comes from a map is expanded the same way.
//! - statements that do not end evaluation — `counter`, `log`, `meta`/`ct` `… set`, `notrack`, `ct helper`,
//!   set updates — leave the rule's action at [`Action::Continue`] when no verdict follows.
//!
//! What becomes [`Test::Unknown`] (may or may not match) with a warning: matches on anything else (`meta mark`,
//! `ct status`, `icmp type`, `tcp flags`, `fib` other than `fib daddr|saddr type local` — which is
//! [`Test::Local`], the device's own addresses, bound by the analysis —, …), `limit`, `quota`, `ct count` and
//! `meter` (conditions on
//! rates), iptables-nft `xt` matches, lookups in sets whose type is concatenated or not an address/port/
//! interface/protocol type, and in sets that change at run time (`dynamic`/`timeout` flags).
//!
//! What becomes [`Action::Unknown`] (possibly accepting) with a warning: `queue`, `fwd`, `dup`, `tproxy`,
//! `synproxy`, `flow add`, iptables-nft `xt` targets, header rewrites of addresses or ports (`ip daddr set …`),
//! NAT to computed addresses, and any statement this parser does not know.
//!
//! `arp`, `bridge` and `netdev` tables are kept (as [`TableFamily::Other`]) and parsed the same way, but the
//! analysis does not follow them: a bridge or netdev chain can only drop or pass a packet on towards the IP
//! layer, which filters it again. So their unknown matches carry no warning; what does is an unknown action
//! there (`fwd`, `dup`, `queue`, xt targets, header rewrites), since those can move a packet past the IP
//! path. Their `ingress`/`egress` hooks (also possible in `inet`) are kept as prerouting/postrouting chains
//! with the priority shifted by 2^30 down/up, so that they run before/after every chain of those hooks.
//!
//! Errors, with line and column: text that is not JSON, no `nftables` array, a rule or chain naming a table
//! or chain not listed before it, a jump to a chain the table does not have, a set that does not exist, a
//! malformed address, port, priority or verdict, and the limits [`MAX_INPUT_BYTES`], [`MAX_DEPTH`],
//! [`MAX_RULES`], [`MAX_SET_ELEMENTS`]. No input makes the parser panic.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::ParseError;
use crate::ir::{
    Action, AddrRange, BaseChain, Chain, ChainType, CtState, Family, Hook, Iface, Match, Origin,
    Policy, PortRange, Rule, Ruleset, Table, TableFamily, Test, Warning,
};

mod render;
mod scan;
mod values;

use scan::Pos;

/// Largest input accepted.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;
/// Deepest JSON nesting accepted (the top-level object is depth 1).
pub const MAX_DEPTH: usize = 64;
/// Most rules accepted: rule objects in the input, and rules of the model after verdict maps are expanded.
pub const MAX_RULES: usize = 1_000_000;
/// Most set elements copied into matches, a named set counting once per rule that uses it.
pub const MAX_SET_ELEMENTS: usize = 4_000_000;

/// How far `ingress`/`egress` chains are moved before/after the prerouting/postrouting chains.
const HOOK_SHIFT: i32 = 1 << 30;

/// Parses `nft -j list ruleset` output. `file` names the input in origins and errors.
pub fn parse_nft_json(text: &str, file: &str) -> Result<Ruleset, ParseError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(ParseError::new(
            file,
            1,
            1,
            "at most 64 MiB of `nft -j list ruleset` output",
            format!("{} bytes", text.len()),
        ));
    }
    let starts = scan::element_starts(text, MAX_DEPTH, MAX_RULES).map_err(|e| match e {
        scan::Exceeded::Depth(p) => ParseError::new(
            file,
            p.line,
            p.column,
            format!("JSON nested at most {MAX_DEPTH} levels deep"),
            "deeper nesting",
        ),
        scan::Exceeded::Rules(p) => ParseError::new(
            file,
            p.line,
            p.column,
            format!("at most {MAX_RULES} rules"),
            "more rules",
        ),
    })?;
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        let line = e.line().max(1);
        let column = scan::char_column(text, line, e.column().max(1));
        let message = e.to_string();
        let message = message.split(" at line ").next().unwrap_or_default();
        ParseError::new(
            file,
            line,
            column,
            "JSON (`nft -j list ruleset` output)",
            message,
        )
    })?;
    let items = match &doc {
        Value::Object(m) => match m.get("nftables") {
            Some(Value::Array(a)) => a,
            Some(other) => {
                return Err(ParseError::new(
                    file,
                    1,
                    1,
                    "an array as the value of \"nftables\"",
                    kind(other),
                ));
            }
            None => {
                return Err(ParseError::new(
                    file,
                    1,
                    1,
                    "an object with an \"nftables\" array (`nft -j list ruleset` output)",
                    "an object without \"nftables\"",
                ));
            }
        },
        other => {
            return Err(ParseError::new(
                file,
                1,
                1,
                "an object with an \"nftables\" array (`nft -j list ruleset` output)",
                kind(other),
            ));
        }
    };
    let starts = if starts.len() == items.len() {
        starts
    } else {
        Vec::new()
    };
    let mut parser = Parser {
        file,
        origin_file: Arc::from(file),
        starts: &starts,
        items,
        tables: Vec::new(),
        table_index: HashMap::new(),
        sets: HashMap::new(),
        warnings: Vec::new(),
        rule_objects: 0,
        model_rules: 0,
        set_elements: 0,
    };
    parser.collect_sets()?;
    parser.walk()?;
    parser.check_jumps()?;
    Ok(parser.finish())
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers over JSON values.

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value as compact JSON, for `found` (the error shortens it).
fn snippet(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) if a.len() > 8 => "a long array".to_owned(),
        Value::Object(m) if m.len() > 8 => "a large object".to_owned(),
        other => render::shorten(serde_json::to_string(other).unwrap_or_default()),
    }
}

/// The key and value of an object with exactly one key.
fn single(m: &Map<String, Value>) -> Option<(&str, &Value)> {
    let mut it = m.iter();
    match (it.next(), it.next()) {
        (Some((k, v)), None) => Some((k.as_str(), v)),
        _ => None,
    }
}

fn single_of(v: &Value) -> Option<(&str, &Value)> {
    v.as_object().and_then(single)
}

fn field<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    v.as_object().and_then(|m| m.get(key))
}

fn field_str<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    field(v, key).and_then(Value::as_str)
}

/// The value of a set element, unwrapping `{"elem": {"val": …, "comment": …}}`.
fn elem_value(v: &Value) -> &Value {
    match single_of(v) {
        Some(("elem", inner)) => field(inner, "val").unwrap_or(v),
        _ => v,
    }
}

fn perr(file: &str, pos: Pos, expected: impl Into<String>, found: impl Into<String>) -> ParseError {
    ParseError::new(file, pos.line, pos.column, expected, found)
}

fn table_family(name: &str) -> Option<TableFamily> {
    match name {
        "ip" => Some(TableFamily::Ip),
        "ip6" => Some(TableFamily::Ip6),
        "inet" => Some(TableFamily::Inet),
        "arp" | "bridge" | "netdev" => Some(TableFamily::Other),
        _ => None,
    }
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::Ipv4 => "IPv4",
        Family::Ipv6 => "IPv6",
    }
}

/// Whether a match on `family` in a table of `table` says more than the table already does.
fn needs_family(table: TableFamily, family: Family) -> bool {
    match table {
        TableFamily::Ip => family != Family::Ipv4,
        TableFamily::Ip6 => family != Family::Ipv6,
        TableFamily::Inet | TableFamily::Other => true,
    }
}

// ---------------------------------------------------------------------------------------------------------
// The document.

type SetKey = (String, String, String);

/// A named set or map of a table.
struct SetDef<'a> {
    is_map: bool,
    key_type: Option<&'a Value>,
    data_type: Option<&'a Value>,
    /// The `dynamic`/`timeout` flags, when the set changes from the packet path or expires elements.
    runtime_flags: Option<String>,
    elems: Vec<&'a Value>,
}

struct TableState {
    family: TableFamily,
    family_name: String,
    name: String,
    chains: Vec<Chain>,
    chain_index: HashMap<String, usize>,
    /// Jump and goto targets with the rule that names them, checked once every chain is known.
    jumps: Vec<(String, Pos)>,
}

struct Parser<'a> {
    file: &'a str,
    origin_file: Arc<str>,
    starts: &'a [Pos],
    items: &'a [Value],
    tables: Vec<TableState>,
    table_index: HashMap<(String, String), usize>,
    sets: HashMap<SetKey, SetDef<'a>>,
    warnings: Vec<Warning>,
    rule_objects: usize,
    model_rules: usize,
    set_elements: usize,
}

impl<'a> Parser<'a> {
    fn err(&self, pos: Pos, expected: impl Into<String>, found: impl Into<String>) -> ParseError {
        perr(self.file, pos, expected, found)
    }

    fn pos(&self, i: usize) -> Pos {
        self.starts.get(i).copied().unwrap_or(Pos::START)
    }

    /// The kind (`"rule"` …) and body of a top-level element.
    fn split(&self, pos: Pos, v: &'a Value) -> Result<(&'a str, &'a Value), ParseError> {
        match v {
            Value::Object(m) => single(m).ok_or_else(|| {
                self.err(
                    pos,
                    "a ruleset element: an object with one key such as \"table\", \"chain\" or \"rule\"",
                    snippet(v),
                )
            }),
            other => Err(self.err(
                pos,
                "a ruleset element: an object such as {\"rule\": {…}}",
                snippet(other),
            )),
        }
    }

    fn object(
        &self,
        pos: Pos,
        v: &'a Value,
        what: &str,
    ) -> Result<&'a Map<String, Value>, ParseError> {
        v.as_object()
            .ok_or_else(|| self.err(pos, format!("{what} object"), snippet(v)))
    }

    fn string(
        &self,
        pos: Pos,
        m: &'a Map<String, Value>,
        key: &str,
        what: &str,
    ) -> Result<&'a str, ParseError> {
        match m.get(key) {
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(self.err(
                pos,
                format!("a string \"{key}\" in the {what}"),
                snippet(other),
            )),
            None => Err(self.err(pos, format!("a \"{key}\" in the {what}"), "none")),
        }
    }

    fn handle(&self, pos: Pos, m: &Map<String, Value>) -> Result<Option<u64>, ParseError> {
        match m.get("handle") {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.err(pos, "a non-negative integer \"handle\"", snippet(v))),
        }
    }

    /// First pass: named sets and maps (rules may be checked against them wherever they are listed), then
    /// `element` objects adding to them.
    fn collect_sets(&mut self) -> Result<(), ParseError> {
        let items = self.items;
        for (i, v) in items.iter().enumerate() {
            let pos = self.pos(i);
            let (k, body) = self.split(pos, v)?;
            if k != "set" && k != "map" {
                continue;
            }
            let m = self.object(pos, body, &format!("a {k}"))?;
            let fam = self.string(pos, m, "family", k)?;
            let table = self.string(pos, m, "table", k)?;
            let name = self.string(pos, m, "name", k)?;
            let flags: Vec<&str> = match m.get("flags") {
                Some(Value::String(s)) => vec![s.as_str()],
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let runtime: Vec<&str> = flags
                .into_iter()
                .filter(|f| *f == "dynamic" || *f == "timeout")
                .collect();
            let elems: Vec<&Value> = match m.get("elem") {
                None => Vec::new(),
                Some(Value::Array(a)) => a.iter().collect(),
                Some(one) => vec![one],
            };
            let key = (fam.to_owned(), table.to_owned(), name.to_owned());
            if self.sets.contains_key(&key) {
                return Err(self.err(
                    pos,
                    "each set and map listed once",
                    format!("{k} {name} of table {fam} {table} again"),
                ));
            }
            self.sets.insert(
                key,
                SetDef {
                    is_map: k == "map",
                    key_type: m.get("type"),
                    data_type: m.get("map"),
                    runtime_flags: (!runtime.is_empty()).then(|| runtime.join(", ")),
                    elems,
                },
            );
        }
        for (i, v) in items.iter().enumerate() {
            let pos = self.pos(i);
            let (k, body) = self.split(pos, v)?;
            if k != "element" {
                continue;
            }
            let m = self.object(pos, body, "an element")?;
            let fam = self.string(pos, m, "family", k)?;
            let table = self.string(pos, m, "table", k)?;
            let name = self.string(pos, m, "name", k)?;
            let key = (fam.to_owned(), table.to_owned(), name.to_owned());
            let Some(set) = self.sets.get_mut(&key) else {
                return Err(perr(
                    self.file,
                    pos,
                    format!("elements of a set of table {fam} {table}"),
                    format!("@{name}"),
                ));
            };
            match m.get("elem") {
                None => {}
                Some(Value::Array(a)) => set.elems.extend(a.iter()),
                Some(one) => set.elems.push(one),
            }
        }
        Ok(())
    }

    /// Second pass, in document order: tables, chains, rules.
    fn walk(&mut self) -> Result<(), ParseError> {
        let items = self.items;
        for (i, v) in items.iter().enumerate() {
            let pos = self.pos(i);
            let (k, body) = self.split(pos, v)?;
            match k {
                "table" => self.table(pos, body)?,
                "chain" => self.chain(pos, body)?,
                "rule" => self.rule(pos, body)?,
                "set" | "map" | "element" => {
                    let m = self.object(pos, body, &format!("a {k}"))?;
                    let fam = self.string(pos, m, "family", k)?;
                    let table = self.string(pos, m, "table", k)?;
                    if !self
                        .table_index
                        .contains_key(&(fam.to_owned(), table.to_owned()))
                    {
                        return Err(self.err(
                            pos,
                            format!("a {k} of a table listed before it"),
                            format!("table {fam} {table}"),
                        ));
                    }
                }
                "add" | "create" | "insert" | "replace" | "delete" | "destroy" | "list"
                | "reset" | "flush" | "rename" => {
                    return Err(self.err(
                        pos,
                        "ruleset elements as `nft -j list ruleset` prints them, not commands",
                        format!("a \"{k}\" command"),
                    ));
                }
                // metainfo, flowtables, named counters/quotas/limits, ct helpers/timeouts/expectations,
                // secmarks, synproxies, tunnels: none of them holds a verdict; a rule that uses one is read
                // through its statement.
                _ => {}
            }
        }
        Ok(())
    }

    fn table(&mut self, pos: Pos, body: &'a Value) -> Result<(), ParseError> {
        let m = self.object(pos, body, "a table")?;
        let fam = self.string(pos, m, "family", "table")?;
        let name = self.string(pos, m, "name", "table")?;
        let family = table_family(fam).ok_or_else(|| {
            self.err(
                pos,
                "a table family: ip, ip6, inet, arp, bridge or netdev",
                fam,
            )
        })?;
        let key = (fam.to_owned(), name.to_owned());
        if self.table_index.contains_key(&key) {
            return Err(self.err(
                pos,
                "each table listed once",
                format!("table {fam} {name} again"),
            ));
        }
        self.table_index.insert(key, self.tables.len());
        self.tables.push(TableState {
            family,
            family_name: fam.to_owned(),
            name: name.to_owned(),
            chains: Vec::new(),
            chain_index: HashMap::new(),
            jumps: Vec::new(),
        });
        Ok(())
    }

    fn chain(&mut self, pos: Pos, body: &'a Value) -> Result<(), ParseError> {
        let m = self.object(pos, body, "a chain")?;
        let fam = self.string(pos, m, "family", "chain")?;
        let table = self.string(pos, m, "table", "chain")?;
        let name = self.string(pos, m, "name", "chain")?;
        let Some(&ti) = self.table_index.get(&(fam.to_owned(), table.to_owned())) else {
            return Err(self.err(
                pos,
                "a chain of a table listed before it",
                format!("table {fam} {table}"),
            ));
        };
        let base = self.base_chain(pos, m, fam)?;
        let handle = self.handle(pos, m)?;
        let origin = Origin {
            file: self.origin_file.clone(),
            line: pos.line,
            handle,
        };
        let file = self.file;
        let Some(t) = self.tables.get_mut(ti) else {
            return Ok(());
        };
        if t.chain_index.contains_key(name) {
            return Err(perr(
                file,
                pos,
                "each chain listed once",
                format!("chain {name} of table {fam} {table} again"),
            ));
        }
        t.chain_index.insert(name.to_owned(), t.chains.len());
        t.chains.push(Chain {
            name: name.to_owned(),
            base,
            rules: Vec::new(),
            origin,
        });
        Ok(())
    }

    fn base_chain(
        &self,
        pos: Pos,
        m: &'a Map<String, Value>,
        fam: &str,
    ) -> Result<Option<BaseChain>, ParseError> {
        let (hook, ty, prio) = (m.get("hook"), m.get("type"), m.get("prio"));
        if hook.is_none() && ty.is_none() && prio.is_none() {
            return Ok(None);
        }
        let hook = self.string(pos, m, "hook", "base chain")?;
        let ty = self.string(pos, m, "type", "base chain")?;
        let (hook, shift) = match hook {
            "prerouting" => (Hook::Prerouting, 0),
            "input" => (Hook::Input, 0),
            "forward" => (Hook::Forward, 0),
            "output" => (Hook::Output, 0),
            "postrouting" => (Hook::Postrouting, 0),
            "ingress" => (Hook::Prerouting, -HOOK_SHIFT),
            "egress" => (Hook::Postrouting, HOOK_SHIFT),
            other => {
                return Err(self.err(
                    pos,
                    "a hook: prerouting, input, forward, output, postrouting, ingress or egress",
                    other,
                ));
            }
        };
        let chain_type = match ty {
            "filter" => ChainType::Filter,
            "nat" => ChainType::Nat,
            "route" => ChainType::Route,
            other => return Err(self.err(pos, "a chain type: filter, nat or route", other)),
        };
        let priority = match prio {
            Some(Value::Number(n)) => n.as_i64().and_then(|p| i32::try_from(p).ok()),
            Some(Value::String(s)) => values::priority_text(fam, s),
            _ => None,
        }
        .ok_or_else(|| {
            self.err(
                pos,
                "a base chain priority: a 32-bit number or a standard name such as filter or dstnat",
                prio.map_or_else(|| "none".to_owned(), snippet),
            )
        })?;
        let policy = match m.get("policy") {
            None => Policy::Accept,
            Some(Value::String(s)) if s == "accept" => Policy::Accept,
            Some(Value::String(s)) if s == "drop" => Policy::Drop,
            Some(other) => return Err(self.err(pos, "a policy: accept or drop", snippet(other))),
        };
        Ok(Some(BaseChain {
            hook,
            chain_type,
            priority: priority.saturating_add(shift),
            // A nat chain sees only the first packet of a connection and cannot drop it by policy.
            policy: if chain_type == ChainType::Nat {
                Policy::Accept
            } else {
                policy
            },
        }))
    }

    fn rule(&mut self, pos: Pos, body: &'a Value) -> Result<(), ParseError> {
        self.rule_objects += 1;
        if self.rule_objects > MAX_RULES {
            return Err(self.err(pos, format!("at most {MAX_RULES} rules"), "more rules"));
        }
        let m = self.object(pos, body, "a rule")?;
        let fam = self.string(pos, m, "family", "rule")?;
        let table = self.string(pos, m, "table", "rule")?;
        let chain = self.string(pos, m, "chain", "rule")?;
        let Some(&ti) = self.table_index.get(&(fam.to_owned(), table.to_owned())) else {
            return Err(self.err(
                pos,
                "a rule in a table listed before it",
                format!("table {fam} {table}"),
            ));
        };
        let Some((family, ci)) = self
            .tables
            .get(ti)
            .and_then(|t| Some((t.family, *t.chain_index.get(chain)?)))
        else {
            return Err(self.err(
                pos,
                format!("a rule in a chain of table {fam} {table} listed before it"),
                format!("chain {chain}"),
            ));
        };
        let handle = self.handle(pos, m)?;
        let stmts: &'a [Value] = match m.get("expr") {
            None => &[],
            Some(Value::Array(a)) => a,
            Some(other) => {
                return Err(self.err(pos, "an \"expr\" array of statements", snippet(other)));
            }
        };
        let text = render::rule(stmts, m.get("comment").and_then(Value::as_str));
        let origin = Origin {
            file: self.origin_file.clone(),
            line: pos.line,
            handle,
        };

        let mut builder = Builder {
            file: self.file,
            pos,
            family,
            fam,
            table,
            sets: &self.sets,
            set_elements: &mut self.set_elements,
            model_rules: self.model_rules,
            warnings: Vec::new(),
            jumps: Vec::new(),
        };
        let variants = builder.build(stmts)?;
        let Builder {
            warnings, jumps, ..
        } = builder;

        self.model_rules += variants.len();
        if self.model_rules > MAX_RULES {
            return Err(self.err(
                pos,
                format!("at most {MAX_RULES} rules once verdict maps are expanded"),
                "more rules",
            ));
        }
        for w in warnings {
            // The analysis does not follow arp/bridge/netdev tables: only what can move a packet past the
            // IP path there is worth a warning.
            if family != TableFamily::Other || w.action {
                self.warnings.push(Warning {
                    origin: origin.clone(),
                    message: format!("{fam} {table} {chain}: {}", w.message),
                });
            }
        }
        let Some(t) = self.tables.get_mut(ti) else {
            return Ok(());
        };
        t.jumps.extend(jumps.into_iter().map(|j| (j, pos)));
        if let Some(c) = t.chains.get_mut(ci) {
            c.rules
                .extend(variants.into_iter().map(|(matches, action)| Rule {
                    matches,
                    action,
                    origin: origin.clone(),
                    text: text.clone(),
                }));
        }
        Ok(())
    }

    fn check_jumps(&self) -> Result<(), ParseError> {
        for t in &self.tables {
            for (target, pos) in &t.jumps {
                if !t.chain_index.contains_key(target) {
                    return Err(self.err(
                        *pos,
                        format!(
                            "a chain of table {} {} to jump or go to",
                            t.family_name, t.name
                        ),
                        target.clone(),
                    ));
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Ruleset {
        Ruleset {
            file: self.origin_file,
            tables: self
                .tables
                .into_iter()
                .map(|t| Table {
                    family: t.family,
                    name: t.name,
                    chains: t.chains,
                })
                .collect(),
            warnings: self.warnings,
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// One rule.

/// What a packet field is, for the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Addr {
        dst: bool,
        family: Family,
    },
    Port {
        dst: bool,
    },
    Protocol,
    /// `meta nfproto`.
    Nfproto,
    /// `meta protocol` (the ethertype).
    EtherType,
    Iface {
        out: bool,
        by_index: bool,
    },
    CtState,
}

impl Key {
    /// The set type whose elements fit this key.
    fn set_type(self) -> &'static str {
        match self {
            Key::Addr {
                family: Family::Ipv4,
                ..
            } => "ipv4_addr",
            Key::Addr {
                family: Family::Ipv6,
                ..
            } => "ipv6_addr",
            Key::Port { .. } => "inet_service",
            Key::Protocol => "inet_proto",
            Key::Nfproto => "nf_proto",
            Key::EtherType => "ether_type",
            Key::Iface {
                by_index: false, ..
            } => "ifname",
            Key::Iface { by_index: true, .. } => "iface_index",
            Key::CtState => "ct_state",
        }
    }
}

fn classify(left: &Value) -> Option<Key> {
    let (k, inner) = single_of(left)?;
    match k {
        "payload" => {
            if field(inner, "tunnel").is_some() {
                return None;
            }
            let dst = match field_str(inner, "field")? {
                "saddr" | "sport" => false,
                "daddr" | "dport" => true,
                "protocol" if field_str(inner, "protocol") == Some("ip") => {
                    return Some(Key::Protocol);
                }
                "nexthdr" if field_str(inner, "protocol") == Some("ip6") => {
                    return Some(Key::Protocol);
                }
                _ => return None,
            };
            let is_port = matches!(field_str(inner, "field"), Some("sport" | "dport"));
            match (field_str(inner, "protocol")?, is_port) {
                ("ip", false) => Some(Key::Addr {
                    dst,
                    family: Family::Ipv4,
                }),
                ("ip6", false) => Some(Key::Addr {
                    dst,
                    family: Family::Ipv6,
                }),
                ("tcp" | "udp" | "sctp" | "dccp" | "udplite" | "th", true) => {
                    Some(Key::Port { dst })
                }
                _ => None,
            }
        }
        "meta" => match field_str(inner, "key")? {
            "l4proto" => Some(Key::Protocol),
            "nfproto" => Some(Key::Nfproto),
            "protocol" => Some(Key::EtherType),
            "iifname" => Some(Key::Iface {
                out: false,
                by_index: false,
            }),
            "oifname" => Some(Key::Iface {
                out: true,
                by_index: false,
            }),
            "iif" => Some(Key::Iface {
                out: false,
                by_index: true,
            }),
            "oif" => Some(Key::Iface {
                out: true,
                by_index: true,
            }),
            _ => None,
        },
        "ct" if field_str(inner, "key") == Some("state") && field(inner, "dir").is_none() => {
            Some(Key::CtState)
        }
        _ => None,
    }
}

/// `fib daddr type local` (`dst`) or `fib saddr type local`: the address is one of the device's own. With
/// another flag (`iif`, `oif`, `mark`) or another type the test is not this one.
fn fib_local(left: &Value, right: &Value) -> Option<bool> {
    let (k, inner) = single_of(left)?;
    if k != "fib" || field_str(inner, "result") != Some("type") || right.as_str() != Some("local") {
        return None;
    }
    let flags: Vec<&str> = match field(inner, "flags")? {
        Value::String(f) => vec![f.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    match flags.as_slice() {
        ["daddr"] => Some(true),
        ["saddr"] => Some(false),
        _ => None,
    }
}

/// Whether `key` may be looked up in a set of type `ty` (a type name, or `{"typeof": expr}`).
fn type_fits(key: Key, ty: Option<&Value>) -> bool {
    match ty {
        Some(Value::String(t)) => t == key.set_type(),
        Some(other) => field(other, "typeof")
            .and_then(classify)
            .is_some_and(|k| k.set_type() == key.set_type()),
        None => false,
    }
}

fn key_is_modelled(key: &Value) -> bool {
    match single_of(key) {
        Some(("concat", Value::Array(parts))) => parts.iter().all(|p| classify(p).is_some()),
        _ => classify(key).is_some(),
    }
}

/// A condition of a rule; `implied` ones (dependencies nft leaves unsaid) are not repeated.
struct Cond {
    m: Match,
    implied: bool,
}

impl Cond {
    fn plain(m: Match) -> Self {
        Cond { m, implied: false }
    }
    fn implied(m: Match) -> Self {
        Cond { m, implied: true }
    }
}

fn add(list: &mut Vec<Match>, c: Cond) {
    if c.implied && list.contains(&c.m) {
        return;
    }
    list.push(c.m);
}

/// Alternatives of a rule's ending: extra conditions and the action (more than one for a verdict map).
type Variants = Vec<(Vec<Cond>, Action)>;

/// The inner `Err` is a value the model cannot express (the reason), which makes the match unknown.
type Parsed<T> = Result<Result<T, String>, ParseError>;

struct Warn {
    /// About an action (rather than a match).
    action: bool,
    message: String,
}

struct Builder<'p, 'a> {
    file: &'p str,
    pos: Pos,
    family: TableFamily,
    fam: &'a str,
    table: &'a str,
    sets: &'p HashMap<SetKey, SetDef<'a>>,
    set_elements: &'p mut usize,
    /// Rules of the model before this one, to refuse a map too large to expand before expanding it.
    model_rules: usize,
    warnings: Vec<Warn>,
    jumps: Vec<String>,
}

impl<'p, 'a> Builder<'p, 'a> {
    fn err(&self, expected: impl Into<String>, found: impl Into<String>) -> ParseError {
        perr(self.file, self.pos, expected, found)
    }

    fn warn(&mut self, action: bool, message: String) {
        if !self.warnings.iter().any(|w| w.message == message) {
            self.warnings.push(Warn { action, message });
        }
    }

    fn unknown_test(&mut self, what: String, reason: &str, warn: bool) -> Cond {
        if warn {
            self.warn(
                false,
                format!("`{what}` is not modelled ({reason}); treated as possibly matching"),
            );
        }
        Cond::plain(Match::is(Test::Unknown { what }))
    }

    fn unknown_action(&mut self, stmt: &Value, reason: &str) -> Variants {
        vec![(Vec::new(), self.unknown(stmt, reason))]
    }

    fn unknown(&mut self, stmt: &Value, reason: &str) -> Action {
        let what = render::stmt(stmt);
        self.warn(
            true,
            format!("`{what}` is not modelled ({reason}); treated as possibly accepting"),
        );
        Action::Unknown { what }
    }

    fn set(&self, name: &str) -> Result<&'p SetDef<'a>, ParseError> {
        let key = (self.fam.to_owned(), self.table.to_owned(), name.to_owned());
        self.sets.get(&key).ok_or_else(|| {
            self.err(
                format!("a set or map of table {} {}", self.fam, self.table),
                format!("@{name}"),
            )
        })
    }

    fn count_elements(&mut self, n: usize) -> Result<(), ParseError> {
        *self.set_elements = self.set_elements.saturating_add(n);
        if *self.set_elements > MAX_SET_ELEMENTS {
            return Err(self.err(
                format!(
                    "at most {MAX_SET_ELEMENTS} set elements in matches (a named set counts once per rule using it)"
                ),
                "more",
            ));
        }
        Ok(())
    }

    fn check_expansion(&self, entries: usize) -> Result<(), ParseError> {
        if self.model_rules.saturating_add(entries) > MAX_RULES {
            return Err(self.err(
                format!("at most {MAX_RULES} rules once verdict maps are expanded"),
                format!("a map of {entries} entries"),
            ));
        }
        Ok(())
    }

    fn build(&mut self, stmts: &'a [Value]) -> Result<Vec<(Vec<Match>, Action)>, ParseError> {
        let mut matches: Vec<Match> = Vec::new();
        let mut ending: Option<Variants> = None;
        for (i, st) in stmts.iter().enumerate() {
            let last = i + 1 == stmts.len();
            if let Some(v) = self.statement(st, last, &mut matches)? {
                // A verdict ends the rule: nothing after it is evaluated.
                ending = Some(v);
                break;
            }
        }
        let ending = ending.unwrap_or_else(|| vec![(Vec::new(), Action::Continue)]);
        Ok(ending
            .into_iter()
            .map(|(extra, action)| {
                let mut all = matches.clone();
                for c in extra {
                    add(&mut all, c);
                }
                (all, action)
            })
            .collect())
    }

    /// One statement: adds its conditions to `matches`, or returns how the rule ends.
    fn statement(
        &mut self,
        st: &'a Value,
        last: bool,
        matches: &mut Vec<Match>,
    ) -> Result<Option<Variants>, ParseError> {
        let (k, v) = match st {
            Value::Object(m) => single(m).ok_or_else(|| {
                self.err(
                    "a statement: an object with one key such as \"match\" or \"accept\"",
                    snippet(st),
                )
            })?,
            // nft prints a statement it has no JSON form for as its text.
            Value::String(_) => {
                return Ok(self.opaque(st, "printed by nft as text only", last, matches));
            }
            other => {
                return Err(self.err(
                    "a statement: an object such as {\"match\": …} or {\"accept\": null}",
                    snippet(other),
                ));
            }
        };
        let ends = |a: Action| Some(vec![(Vec::new(), a)]);
        Ok(match k {
            "match" => {
                for c in self.match_stmt(v)? {
                    add(matches, c);
                }
                None
            }
            "accept" => ends(Action::Accept),
            "drop" => ends(Action::Drop),
            "reject" => ends(Action::Reject),
            "return" => ends(Action::Return),
            "continue" => ends(Action::Continue),
            "jump" => ends(Action::Jump {
                chain: self.target(v)?,
            }),
            "goto" => ends(Action::Goto {
                chain: self.target(v)?,
            }),
            "dnat" => Some(self.dnat(v, st)?),
            "redirect" => Some(match field(v, "port") {
                None => vec![(Vec::new(), Action::Redirect { ports: None })],
                Some(p) => match self.port_value(p)? {
                    Ok(r) => vec![(Vec::new(), Action::Redirect { ports: Some(r) })],
                    Err(reason) => self.unknown_action(st, &reason),
                },
            }),
            "snat" | "masquerade" => ends(Action::Snat),
            "vmap" => Some(self.vmap(v, st)?),
            // Do not end evaluation and change nothing the analysis looks at.
            "counter" | "log" | "notrack" | "ct helper" | "ct timeout" | "ct expectation"
            | "last" | "set" | "map" | "secmark" | "reset" => None,
            "mangle" => self.mangle(v, st),
            "limit" | "quota" | "ct count" | "meter" => {
                let c = self.unknown_test(
                    render::stmt(st),
                    "a condition on rates, quotas or connection counts",
                    true,
                );
                add(matches, c);
                None
            }
            "xt" => match (field_str(v, "type"), field_str(v, "name")) {
                (Some("match"), _) => {
                    let c = self.unknown_test(
                        render::stmt(st),
                        "an iptables-nft compat match, which nft -j does not describe",
                        true,
                    );
                    add(matches, c);
                    None
                }
                (Some("target"), _) => Some(self.unknown_action(
                    st,
                    "an iptables-nft compat target, which nft -j does not describe",
                )),
                (Some("watcher"), _) => None,
                _ => self.opaque(
                    st,
                    "an iptables-nft compat expression printed without its name",
                    last,
                    matches,
                ),
            },
            "queue" => Some(self.unknown_action(st, "the packet goes to a userspace program")),
            "fwd" | "dup" => Some(self.unknown_action(
                st,
                "sends the packet or a copy to another device or address",
            )),
            "tproxy" => Some(self.unknown_action(st, "diverts the packet to a local socket")),
            "synproxy" => Some(self.unknown_action(st, "answers or passes TCP handshakes itself")),
            "flow" => {
                Some(self.unknown_action(st, "offloaded connections bypass the later chains"))
            }
            _ => Some(self.unknown_action(st, "a statement this parser does not know")),
        })
    }

    /// A statement nft does not describe: the last one of a rule without a verdict may be the target that
    /// decides (iptables-nft puts it last); elsewhere it is a condition.
    fn opaque(
        &mut self,
        st: &Value,
        reason: &str,
        last: bool,
        matches: &mut Vec<Match>,
    ) -> Option<Variants> {
        if last {
            return Some(self.unknown_action(st, reason));
        }
        let c = self.unknown_test(render::stmt(st), reason, true);
        add(matches, c);
        None
    }

    fn target(&mut self, v: &Value) -> Result<String, ParseError> {
        let t = field_str(v, "target")
            .ok_or_else(|| self.err("a {\"target\": \"chain\"} object", snippet(v)))?;
        self.jumps.push(t.to_owned());
        Ok(t.to_owned())
    }

    /// `meta mark set …` and the like change nothing the model follows; rewriting addresses or ports
    /// (stateless NAT) sends the packet somewhere the analysis cannot see.
    fn mangle(&mut self, v: &Value, st: &Value) -> Option<Variants> {
        let rewrites = field(v, "key")
            .and_then(single_of)
            .is_some_and(|(k, inner)| {
                k == "payload"
                    && field_str(inner, "field")
                        .is_none_or(|f| matches!(f, "saddr" | "daddr" | "sport" | "dport"))
            });
        rewrites.then(|| {
            self.unknown_action(
                st,
                "rewrites an address or port of the packet, which the analysis cannot follow",
            )
        })
    }

    fn match_stmt(&mut self, v: &'a Value) -> Result<Vec<Cond>, ParseError> {
        let m = v
            .as_object()
            .ok_or_else(|| self.err("a match object with left, op and right", snippet(v)))?;
        let (Some(left), Some(right)) = (m.get("left"), m.get("right")) else {
            return Err(self.err("a match with \"left\" and \"right\"", snippet(v)));
        };
        let op = m
            .get("op")
            .and_then(Value::as_str)
            .ok_or_else(|| self.err("a match with an \"op\" string", snippet(v)))?;
        self.condition(left, op, right, true)
    }

    /// `left op right` as conditions: the implied dependencies of `left`, then the test itself.
    fn condition(
        &mut self,
        left: &'a Value,
        op: &str,
        right: &'a Value,
        warn: bool,
    ) -> Result<Vec<Cond>, ParseError> {
        let mut out: Vec<Cond> = Vec::new();
        self.deps(left, &mut out);
        // `fib daddr type local`: one of the device's own addresses, which the analysis binds from the map.
        if let Some(dst) = fib_local(left, right)
            && matches!(op, "==" | "!=")
        {
            out.push(Cond::plain(Match {
                negated: op == "!=",
                test: Test::Local { dst },
            }));
            return Ok(out);
        }
        let key = classify(left);
        let negated = match op {
            "==" | "in" => false,
            "!=" => true,
            "<" | ">" | "<=" | ">=" => {
                if let Some(Key::Port { dst }) = key
                    && let Some(ranges) = self.port_compare(op, right)?
                {
                    out.push(Cond::plain(Match::is(Test::Port { dst, ranges })));
                } else {
                    let c = self.unknown_test(
                        render::match_text(left, op, right),
                        "a comparison the model has no form for",
                        warn,
                    );
                    out.push(c);
                }
                return Ok(out);
            }
            other => {
                let c = self.unknown_test(
                    render::match_text(left, op, right),
                    &format!("operator {other:?}"),
                    warn,
                );
                out.push(c);
                return Ok(out);
            }
        };
        let Some(key) = key else {
            let c = self.unknown_test(
                render::match_text(left, op, right),
                &format!("{} is not in the model", render::expr(left)),
                warn,
            );
            out.push(c);
            return Ok(out);
        };
        match self.test(key, right, negated)? {
            Ok(ms) => out.extend(ms.into_iter().map(Cond::plain)),
            Err(reason) => {
                let c = self.unknown_test(render::match_text(left, op, right), &reason, warn);
                out.push(c);
            }
        }
        Ok(out)
    }

    /// The dependencies nft leaves implicit: `tcp dport` needs `meta l4proto tcp`; `ip saddr` in an inet
    /// table needs `meta nfproto ipv4`. They hold whether or not the match itself is negated.
    fn deps(&self, left: &Value, out: &mut Vec<Cond>) {
        let Some((k, inner)) = single_of(left) else {
            return;
        };
        match k {
            "payload" if field(inner, "tunnel").is_none() => {
                let (family, proto) = match field_str(inner, "protocol") {
                    Some("ip") => (Some(Family::Ipv4), None),
                    Some("ip6") => (Some(Family::Ipv6), None),
                    Some("icmp") => (Some(Family::Ipv4), Some(1)),
                    Some("igmp") => (Some(Family::Ipv4), Some(2)),
                    Some("icmpv6") => (Some(Family::Ipv6), Some(58)),
                    Some("tcp") => (None, Some(6)),
                    Some("udp") => (None, Some(17)),
                    Some("dccp") => (None, Some(33)),
                    Some("gre") => (None, Some(47)),
                    Some("esp") => (None, Some(50)),
                    Some("ah") => (None, Some(51)),
                    Some("comp") => (None, Some(108)),
                    Some("sctp") => (None, Some(132)),
                    Some("udplite") => (None, Some(136)),
                    _ => (None, None),
                };
                if let Some(f) = family
                    && needs_family(self.family, f)
                {
                    out.push(Cond::implied(Match::is(Test::Family { family: f })));
                }
                if let Some(n) = proto {
                    out.push(Cond::implied(Match::is(Test::Protocol {
                        numbers: vec![n],
                    })));
                }
            }
            "&" | "|" | "^" | "<<" | ">>" => {
                if let Some(first) = inner.as_array().and_then(|a| a.first()) {
                    self.deps(first, out);
                }
            }
            "concat" => {
                for part in inner.as_array().map(Vec::as_slice).unwrap_or_default() {
                    self.deps(part, out);
                }
            }
            _ => {}
        }
    }

    /// `tcp dport < 1024` and the like, as a range; `None` when the right side is not a single port.
    fn port_compare(&self, op: &str, right: &Value) -> Result<Option<Vec<PortRange>>, ParseError> {
        let n = match right {
            Value::Number(_) | Value::String(_) => match self.port_scalar(right)? {
                Ok(n) => n,
                Err(_) => return Ok(None),
            },
            _ => return Ok(None),
        };
        let range = |first: u16, last: u16| vec![PortRange { first, last }];
        Ok(Some(match op {
            "<" => n.checked_sub(1).map_or_else(Vec::new, |l| range(0, l)),
            "<=" => range(0, n),
            ">" => n
                .checked_add(1)
                .map_or_else(Vec::new, |f| range(f, u16::MAX)),
            _ => range(n, u16::MAX),
        }))
    }

    /// The test of a modelled key against the right side of a match.
    fn test(&mut self, key: Key, right: &'a Value, negated: bool) -> Parsed<Vec<Match>> {
        let elems = match self.elements(key, right)? {
            Ok(e) => e,
            Err(reason) => return Ok(Err(reason)),
        };
        let one = |test: Test| Ok(Ok(vec![Match { negated, test }]));
        match key {
            Key::Addr { dst, family } => match self.each(&elems, |b, e| b.addr_elem(family, e))? {
                Ok(ranges) => one(Test::Addr { dst, ranges }),
                Err(r) => Ok(Err(r)),
            },
            Key::Port { dst } => match self.each(&elems, |b, e| b.port_elem(e))? {
                Ok(ranges) => one(Test::Port { dst, ranges }),
                Err(r) => Ok(Err(r)),
            },
            Key::Protocol => match self.each(&elems, |b, e| b.proto_elem(e))? {
                Ok(mut numbers) => {
                    dedup(&mut numbers);
                    one(Test::Protocol { numbers })
                }
                Err(r) => Ok(Err(r)),
            },
            Key::Nfproto | Key::EtherType => {
                match self.each(&elems, |b, e| b.family_elem(key, e))? {
                    Ok(families) => Ok(Ok(family_matches(families, negated))),
                    Err(r) => Ok(Err(r)),
                }
            }
            Key::Iface { out, by_index } => {
                match self.each(&elems, |b, e| b.iface_elem(by_index, e))? {
                    Ok(names) => one(Test::Iface { out, names }),
                    Err(r) => Ok(Err(r)),
                }
            }
            Key::CtState => match self.each(&elems, |b, e| b.ct_state_elem(e))? {
                Ok(mut states) => {
                    dedup(&mut states);
                    one(Test::CtState { states })
                }
                Err(r) => Ok(Err(r)),
            },
        }
    }

    /// Applies `f` to every element, stopping at the first error or unmodelled value.
    fn each<T>(
        &mut self,
        elems: &[&'a Value],
        f: impl Fn(&Self, &Value) -> Parsed<Vec<T>>,
    ) -> Parsed<Vec<T>> {
        let mut out = Vec::new();
        for e in elems {
            match f(self, elem_value(e))? {
                Ok(mut v) => out.append(&mut v),
                Err(reason) => return Ok(Err(reason)),
            }
        }
        Ok(Ok(out))
    }

    /// The values on the right of a match: a named set's elements, an anonymous set's, a list, or one value.
    fn elements(&mut self, key: Key, right: &'a Value) -> Parsed<Vec<&'a Value>> {
        let list: Vec<&'a Value> = match right {
            Value::String(s) if s.starts_with('@') => {
                let name = s.get(1..).unwrap_or_default();
                let set = self.set(name)?;
                if set.is_map {
                    return Err(self.err("a set here, not a map", s.clone()));
                }
                if let Some(flags) = &set.runtime_flags {
                    return Ok(Err(format!(
                        "set @{name} changes at run time (flags {flags}): its listed elements may not be all it holds"
                    )));
                }
                if !type_fits(key, set.key_type) {
                    let ty = set.key_type.map_or_else(|| "none".to_owned(), render::expr);
                    return Ok(Err(format!(
                        "set @{name} has type {ty}, not {}",
                        key.set_type()
                    )));
                }
                set.elems.clone()
            }
            Value::Object(m) if m.len() == 1 && m.contains_key("set") => match m.get("set") {
                Some(Value::Array(a)) => a.iter().collect(),
                Some(one) => vec![one],
                None => Vec::new(),
            },
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        self.count_elements(list.len())?;
        Ok(Ok(list))
    }

    // --- element values ---------------------------------------------------------------------------------

    fn addr_elem(&self, family: Family, v: &Value) -> Parsed<Vec<AddrRange>> {
        if v.as_str() == Some("*") {
            return Ok(Ok(vec![AddrRange::any(family)]));
        }
        Ok(self.addr_value(v, Some(family))?.map(|r| vec![r]))
    }

    /// An address, `{"prefix": …}` or `{"range": […]}`; of `family` when given. Other expressions (computed
    /// addresses) are unmodelled.
    fn addr_value(&self, v: &Value, family: Option<Family>) -> Parsed<AddrRange> {
        let expected = match family {
            Some(f) => format!("an {} address, prefix or range", family_name(f)),
            None => "an address, prefix or range".to_owned(),
        };
        let single = |s: &str| -> Result<AddrRange, ParseError> {
            match AddrRange::parse(s) {
                Some(r) if family.is_none_or(|f| f == r.family) => Ok(r),
                _ => Err(self.err(expected.clone(), s)),
            }
        };
        match v {
            Value::String(s) => Ok(Ok(single(s)?)),
            Value::Object(m) => match single_of(v) {
                Some(("prefix", p)) => {
                    let (Some(addr), Some(len)) = (
                        field_str(p, "addr"),
                        field(p, "len").and_then(Value::as_u64),
                    ) else {
                        return Err(self.err(expected, snippet(v)));
                    };
                    let base = single(addr)?;
                    u32::try_from(len)
                        .ok()
                        .and_then(|l| AddrRange::prefix(base.family, base.first, l))
                        .map(Ok)
                        .ok_or_else(|| self.err(expected, format!("{addr}/{len}")))
                }
                Some(("range", r)) => match r.as_array().map(Vec::as_slice) {
                    Some([Value::String(a), Value::String(b)]) => {
                        let (a, b) = (single(a)?, single(b)?);
                        if a.family != b.family || a.first > b.last {
                            return Err(self.err(
                                "an address range from low to high, of one family",
                                snippet(v),
                            ));
                        }
                        Ok(Ok(AddrRange {
                            family: a.family,
                            first: a.first,
                            last: b.last,
                        }))
                    }
                    _ => Err(self.err(expected, snippet(v))),
                },
                _ if m.len() == 1 => Ok(Err(format!("address computed by `{}`", render::expr(v)))),
                _ => Err(self.err(expected, snippet(v))),
            },
            other => Err(self.err(expected, snippet(other))),
        }
    }

    fn port_scalar(&self, v: &Value) -> Parsed<u16> {
        let expected = "a port number 0-65535 or a service name";
        match v {
            Value::Number(n) => n
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .map(Ok)
                .ok_or_else(|| self.err(expected, n.to_string())),
            Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s
                .parse::<u16>()
                .map(Ok)
                .map_err(|_| self.err(expected, s.clone())),
            Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic()) => {
                Ok(values::service_port(s)
                    .ok_or_else(|| format!("service name {s:?} is not known to this parser")))
            }
            other => Err(self.err(expected, snippet(other))),
        }
    }

    fn port_elem(&self, v: &Value) -> Parsed<Vec<PortRange>> {
        if v.as_str() == Some("*") {
            return Ok(Ok(vec![PortRange {
                first: 0,
                last: u16::MAX,
            }]));
        }
        Ok(self.port_value(v)?.map(|r| vec![r]))
    }

    /// A port or `{"range": [a, b]}`.
    fn port_value(&self, v: &Value) -> Parsed<PortRange> {
        if let Some(("range", r)) = single_of(v) {
            let Some([a, b]) = r.as_array().map(Vec::as_slice) else {
                return Err(self.err("a port range [low, high]", snippet(v)));
            };
            let (a, b) = match (self.port_scalar(a)?, self.port_scalar(b)?) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(r), _) | (_, Err(r)) => return Ok(Err(r)),
            };
            if a > b {
                return Err(self.err("a port range from low to high", snippet(v)));
            }
            return Ok(Ok(PortRange { first: a, last: b }));
        }
        if matches!(v, Value::Object(_)) {
            return Ok(Err(format!("port computed by `{}`", render::expr(v))));
        }
        Ok(self.port_scalar(v)?.map(PortRange::single))
    }

    fn proto_scalar(&self, v: &Value) -> Parsed<u8> {
        let expected = "an IP protocol number 0-255 or name";
        match v {
            Value::Number(n) => n
                .as_u64()
                .and_then(|p| u8::try_from(p).ok())
                .map(Ok)
                .ok_or_else(|| self.err(expected, n.to_string())),
            Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s
                .parse::<u8>()
                .map(Ok)
                .map_err(|_| self.err(expected, s.clone())),
            Value::String(s) => Ok(values::protocol_number(s)
                .ok_or_else(|| format!("protocol name {s:?} is not known to this parser"))),
            other => Err(self.err(expected, snippet(other))),
        }
    }

    fn proto_elem(&self, v: &Value) -> Parsed<Vec<u8>> {
        if v.as_str() == Some("*") {
            return Ok(Ok((0..=u8::MAX).collect()));
        }
        if let Some(("range", r)) = single_of(v) {
            let Some([a, b]) = r.as_array().map(Vec::as_slice) else {
                return Err(self.err("a protocol range [low, high]", snippet(v)));
            };
            return Ok(match (self.proto_scalar(a)?, self.proto_scalar(b)?) {
                (Ok(a), Ok(b)) if a <= b => Ok((a..=b).collect()),
                (Ok(_), Ok(_)) => {
                    return Err(self.err("a protocol range from low to high", snippet(v)));
                }
                (Err(r), _) | (_, Err(r)) => Err(r),
            });
        }
        Ok(self.proto_scalar(v)?.map(|n| vec![n]))
    }

    fn family_elem(&self, key: Key, v: &Value) -> Parsed<Vec<Family>> {
        let f = match (key, v) {
            (_, Value::String(s)) if s == "*" => return Ok(Ok(vec![Family::Ipv4, Family::Ipv6])),
            (Key::Nfproto, Value::String(s)) if s == "ipv4" => Family::Ipv4,
            (Key::Nfproto, Value::String(s)) if s == "ipv6" => Family::Ipv6,
            (Key::Nfproto, Value::Number(n)) if n.as_u64() == Some(2) => Family::Ipv4,
            (Key::Nfproto, Value::Number(n)) if n.as_u64() == Some(10) => Family::Ipv6,
            (Key::EtherType, Value::String(s)) if s == "ip" => Family::Ipv4,
            (Key::EtherType, Value::String(s)) if s == "ip6" => Family::Ipv6,
            (Key::EtherType, Value::Number(n)) if n.as_u64() == Some(0x0800) => Family::Ipv4,
            (Key::EtherType, Value::Number(n)) if n.as_u64() == Some(0x86dd) => Family::Ipv6,
            (_, Value::String(_) | Value::Number(_)) => {
                return Ok(Err(format!(
                    "protocol family {} is not IPv4 or IPv6",
                    render::expr(v)
                )));
            }
            (_, other) => {
                return Err(self.err("a protocol family such as ipv4 or ipv6", snippet(other)));
            }
        };
        Ok(Ok(vec![f]))
    }

    fn iface_elem(&self, by_index: bool, v: &Value) -> Parsed<Vec<Iface>> {
        match v {
            Value::String(s) if by_index => Ok(Ok(vec![Iface {
                name: s.clone(),
                wildcard: false,
            }])),
            Value::String(s) => Ok(Ok(vec![parse_iface(s)])),
            Value::Number(n) if by_index => Ok(Err(format!(
                "interface index {n}, whose name the listing does not give"
            ))),
            other => Err(self.err("an interface name", snippet(other))),
        }
    }

    fn ct_state_elem(&self, v: &Value) -> Parsed<Vec<CtState>> {
        let expected = "a ct state: new, established, related, invalid or untracked";
        match v {
            Value::String(s) => Ok(Ok(match s.as_str() {
                "new" => vec![CtState::New],
                "established" => vec![CtState::Established],
                "related" => vec![CtState::Related],
                "invalid" => vec![CtState::Invalid],
                "untracked" => vec![CtState::Untracked],
                "*" => vec![
                    CtState::New,
                    CtState::Established,
                    CtState::Related,
                    CtState::Invalid,
                    CtState::Untracked,
                ],
                _ => return Err(self.err(expected, s.clone())),
            })),
            Value::Number(n) => Ok(Err(format!("ct state given as the number {n}"))),
            other => Err(self.err(expected, snippet(other))),
        }
    }

    // --- verdict maps and NAT -------------------------------------------------------------------------

    /// `key vmap { k1 : v1, … }` or `key vmap @map`: one alternative per entry.
    fn vmap(&mut self, v: &'a Value, st: &'a Value) -> Result<Variants, ParseError> {
        let (Some(key), Some(data)) = (field(v, "key"), field(v, "data")) else {
            return Err(self.err("a vmap object with \"key\" and \"data\"", snippet(v)));
        };
        let pairs: Vec<&'a Value> = match self.map_entries(data, true)? {
            Ok(p) => p,
            Err(reason) => return Ok(self.unknown_action(st, &reason)),
        };
        self.check_expansion(pairs.len())?;
        let modelled = key_is_modelled(key);
        if !modelled {
            self.warn(
                false,
                format!(
                    "`{} vmap …` is not modelled ({} is not in the model); each entry is treated as possibly matching",
                    render::expr(key),
                    render::expr(key)
                ),
            );
        }
        let mut out = Vec::new();
        let mut catch_all = None;
        for p in pairs {
            let Some([k, verdict]) = p.as_array().map(Vec::as_slice) else {
                return Err(self.err("a [key, verdict] pair of a verdict map", snippet(p)));
            };
            let action = self.verdict(verdict)?;
            let k = elem_value(k);
            if k.as_str() == Some("*") {
                catch_all = Some(action);
                continue;
            }
            out.push((self.key_equals(key, k, modelled)?, action));
        }
        // The catch-all applies only when no other key matched.
        if let Some(a) = catch_all {
            out.push((Vec::new(), a));
        }
        Ok(out)
    }

    /// The `[key, value]` entries of an anonymous map `{"set": […]}` or of a named map `"@name"`.
    fn map_entries(&mut self, data: &'a Value, verdicts: bool) -> Parsed<Vec<&'a Value>> {
        let list: Vec<&'a Value> = match data {
            Value::String(s) if s.starts_with('@') => {
                let name = s.get(1..).unwrap_or_default();
                let set = self.set(name)?;
                let is_verdict = set.data_type.and_then(Value::as_str) == Some("verdict");
                if !set.is_map || is_verdict != verdicts {
                    let expected = if verdicts {
                        "a verdict map"
                    } else {
                        "a map of addresses"
                    };
                    return Err(self.err(expected, s.clone()));
                }
                if let Some(flags) = &set.runtime_flags {
                    return Ok(Err(format!(
                        "map @{name} changes at run time (flags {flags})"
                    )));
                }
                set.elems.clone()
            }
            Value::Object(m) if m.len() == 1 && m.contains_key("set") => match m.get("set") {
                Some(Value::Array(a)) => a.iter().collect(),
                Some(one) => vec![one],
                None => Vec::new(),
            },
            other => {
                return Err(self.err(
                    "map data: {\"set\": [[key, value], …]} or \"@name\"",
                    snippet(other),
                ));
            }
        };
        self.count_elements(list.len())?;
        Ok(Ok(list))
    }

    /// The conditions under which `key` equals the map key `k` (concatenations part by part).
    fn key_equals(
        &mut self,
        key: &'a Value,
        k: &'a Value,
        warn: bool,
    ) -> Result<Vec<Cond>, ParseError> {
        let Some(("concat", Value::Array(parts))) = single_of(key) else {
            return self.condition(key, "==", k, warn);
        };
        let values = match single_of(k) {
            Some(("concat", Value::Array(vals))) if vals.len() == parts.len() => vals,
            _ => {
                return Err(self.err(
                    format!("a concatenation of {} values", parts.len()),
                    snippet(k),
                ));
            }
        };
        let mut out = Vec::new();
        for (p, val) in parts.iter().zip(values) {
            out.extend(self.condition(p, "==", val, warn)?);
        }
        Ok(out)
    }

    fn verdict(&mut self, v: &Value) -> Result<Action, ParseError> {
        Ok(match single_of(v) {
            Some(("accept", _)) => Action::Accept,
            Some(("drop", _)) => Action::Drop,
            Some(("continue", _)) => Action::Continue,
            Some(("return", _)) => Action::Return,
            Some(("jump", t)) => Action::Jump {
                chain: self.target(t)?,
            },
            Some(("goto", t)) => Action::Goto {
                chain: self.target(t)?,
            },
            Some(("queue", _)) => self.unknown(v, "the packet goes to a userspace program"),
            _ => {
                return Err(self.err(
                    "a verdict: accept, drop, continue, return, jump or goto",
                    snippet(v),
                ));
            }
        })
    }

    /// A `Family` condition for a NAT statement of `family` (it does nothing to packets of the other).
    fn nat_family(&self, family: Option<Family>) -> Vec<Cond> {
        match family {
            Some(f) if needs_family(self.family, f) => {
                vec![Cond::implied(Match::is(Test::Family { family: f }))]
            }
            _ => Vec::new(),
        }
    }

    fn dnat(&mut self, v: &'a Value, st: &'a Value) -> Result<Variants, ParseError> {
        let m = match v {
            Value::Object(m) => Some(m),
            Value::Null => None,
            other => return Err(self.err("a dnat object", snippet(other))),
        };
        let family = match m.and_then(|m| m.get("family")) {
            None => None,
            Some(Value::String(s)) if s == "ip" => Some(Family::Ipv4),
            Some(Value::String(s)) if s == "ip6" => Some(Family::Ipv6),
            Some(other) => return Err(self.err("a NAT family: ip or ip6", snippet(other))),
        };
        let ports = match m.and_then(|m| m.get("port")) {
            None => None,
            Some(p) => match self.port_value(p)? {
                Ok(r) => Some(r),
                Err(reason) => return Ok(self.unknown_action(st, &reason)),
            },
        };
        let Some(addr) = m.and_then(|m| m.get("addr")) else {
            return Ok(vec![(
                self.nat_family(family),
                Action::Dnat { to: None, ports },
            )]);
        };
        if let Some(("map", map)) = single_of(addr) {
            return self.dnat_map(map, family, ports, st);
        }
        Ok(match self.addr_value(addr, family)? {
            Ok(r) => vec![(
                self.nat_family(family.or(Some(r.family))),
                Action::Dnat { to: Some(r), ports },
            )],
            Err(reason) => self.unknown_action(st, &reason),
        })
    }

    /// `dnat to key map { k : addr, … }` (an entry may give `addr . port`): one alternative per entry.
    fn dnat_map(
        &mut self,
        map: &'a Value,
        family: Option<Family>,
        ports: Option<PortRange>,
        st: &'a Value,
    ) -> Result<Variants, ParseError> {
        let (Some(key), Some(data)) = (field(map, "key"), field(map, "data")) else {
            return Err(self.err("a map object with \"key\" and \"data\"", snippet(map)));
        };
        let pairs = match self.map_entries(data, false)? {
            Ok(p) => p,
            Err(reason) => return Ok(self.unknown_action(st, &reason)),
        };
        self.check_expansion(pairs.len())?;
        let modelled = key_is_modelled(key);
        if !modelled {
            return Ok(self.unknown_action(
                st,
                &format!(
                    "NAT by a map on {}, which is not in the model",
                    render::expr(key)
                ),
            ));
        }
        let mut out = Vec::new();
        let mut catch_all = None;
        for p in pairs {
            let Some([k, target]) = p.as_array().map(Vec::as_slice) else {
                return Err(self.err("a [key, address] pair of a map", snippet(p)));
            };
            let (addr, port) = match single_of(target) {
                Some(("concat", Value::Array(parts))) => match parts.as_slice() {
                    [a, p] => (a, Some(p)),
                    _ => {
                        return Ok(self
                            .unknown_action(st, "a NAT map entry of more than address and port"));
                    }
                },
                _ => (target, None),
            };
            let to = match self.addr_value(addr, family)? {
                Ok(r) => r,
                Err(reason) => return Ok(self.unknown_action(st, &reason)),
            };
            let entry_ports = match port {
                None => ports,
                Some(p) => match self.port_value(p)? {
                    Ok(r) => Some(r),
                    Err(reason) => return Ok(self.unknown_action(st, &reason)),
                },
            };
            let action = Action::Dnat {
                to: Some(to),
                ports: entry_ports,
            };
            let mut conds = self.nat_family(family.or(Some(to.family)));
            let k = elem_value(k);
            if k.as_str() == Some("*") {
                catch_all = Some((conds, action));
                continue;
            }
            conds.extend(self.key_equals(key, k, true)?);
            out.push((conds, action));
        }
        out.extend(catch_all);
        Ok(out)
    }
}

/// `eth0`, `eth*` (every name starting with `eth`), `eth\*` (the name `eth*`).
fn parse_iface(s: &str) -> Iface {
    if let Some(p) = s.strip_suffix("\\*") {
        return Iface {
            name: format!("{p}*"),
            wildcard: false,
        };
    }
    match s.strip_suffix('*') {
        Some(p) => Iface {
            name: p.to_owned(),
            wildcard: true,
        },
        None => Iface {
            name: s.to_owned(),
            wildcard: false,
        },
    }
}

/// A family test from the families a match lists: one family is a test; both is every IP packet (no test,
/// or no packet at all when negated); none is no packet (or every one when negated).
fn family_matches(mut families: Vec<Family>, negated: bool) -> Vec<Match> {
    dedup(&mut families);
    let both = || {
        vec![
            Match::not(Test::Family {
                family: Family::Ipv4,
            }),
            Match::not(Test::Family {
                family: Family::Ipv6,
            }),
        ]
    };
    match (families.as_slice(), negated) {
        ([f], _) => vec![Match {
            negated,
            test: Test::Family { family: *f },
        }],
        ([], false) | ([_, _, ..], true) => both(),
        _ => Vec::new(),
    }
}

/// Removes repeats, keeping the first occurrence.
fn dedup<T: PartialEq + Copy>(v: &mut Vec<T>) {
    let mut seen: Vec<T> = Vec::with_capacity(v.len());
    v.retain(|x| {
        if seen.contains(x) {
            false
        } else {
            seen.push(*x);
            true
        }
    });
}
