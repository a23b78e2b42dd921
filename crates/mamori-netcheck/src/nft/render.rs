//! A compact nft-syntax rendering of JSON statements and expressions, for messages:
//! `ip saddr 10.0.0.0/8 tcp dport 25 accept`. Not meant to be re-parsed; unfamiliar objects are shown by
//! their key and values.

use serde_json::{Map, Value};

/// Longest rule text kept (characters); longer renderings end with `…`.
pub(super) const MAX_TEXT_CHARS: usize = 300;

/// The statements of a rule, then its comment.
pub(super) fn rule(stmts: &[Value], comment: Option<&str>) -> String {
    let mut parts: Vec<String> = stmts.iter().map(stmt).collect();
    if let Some(c) = comment {
        parts.push(format!("comment {c:?}"));
    }
    shorten(parts.join(" "))
}

pub(super) fn shorten(s: String) -> String {
    if s.chars().count() <= MAX_TEXT_CHARS {
        return s;
    }
    let mut out: String = s.chars().take(MAX_TEXT_CHARS - 1).collect();
    out.push('…');
    out
}

fn single(m: &Map<String, Value>) -> Option<(&str, &Value)> {
    let mut it = m.iter();
    match (it.next(), it.next()) {
        (Some((k, v)), None) => Some((k.as_str(), v)),
        _ => None,
    }
}

fn field<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    v.as_object().and_then(|m| m.get(key))
}

fn field_str<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    field(v, key).and_then(Value::as_str)
}

/// Whether an expression is an interface name, whose values nft prints quoted.
fn names_interfaces(left: &Value) -> bool {
    matches!(
        field(left, "meta").and_then(|m| field_str(m, "key")),
        Some("iifname" | "oifname" | "iif" | "oif" | "ibrname" | "obrname")
    )
}

/// `left op right` as nft prints a match (no operator for `==` and `in`).
pub(super) fn match_text(left: &Value, op: &str, right: &Value) -> String {
    let quote = names_interfaces(left);
    if let (Some(fib), Value::Bool(b)) = (field(left, "fib"), right) {
        let state = if *b { "exists" } else { "missing" };
        return format!("{} {state}", object("fib", fib, false));
    }
    let op = match op {
        "==" | "in" => String::new(),
        other => format!("{other} "),
    };
    format!("{} {op}{}", expr(left), expr_q(right, quote))
}

pub(super) fn stmt(v: &Value) -> String {
    let Some((k, inner)) = v.as_object().and_then(single) else {
        return expr(v);
    };
    match k {
        "match" => {
            let left = field(inner, "left").unwrap_or(&Value::Null);
            let right = field(inner, "right").unwrap_or(&Value::Null);
            match_text(left, field_str(inner, "op").unwrap_or("=="), right)
        }
        "counter" => "counter".to_owned(),
        "log" => match field_str(inner, "prefix") {
            Some(p) => format!("log prefix {p:?}"),
            None => "log".to_owned(),
        },
        "limit" => {
            let over = if field(inner, "inv") == Some(&Value::Bool(true)) {
                "over "
            } else {
                ""
            };
            let rate = field(inner, "rate").map(expr).unwrap_or_default();
            let unit = field_str(inner, "rate_unit")
                .map(|u| format!(" {u}"))
                .unwrap_or_default();
            let per = field_str(inner, "per").unwrap_or("second");
            format!("limit rate {over}{rate}{unit}/{per}")
        }
        "quota" => {
            let over = if field(inner, "inv") == Some(&Value::Bool(true)) {
                "over "
            } else {
                ""
            };
            let val = field(inner, "val").map(expr).unwrap_or_default();
            let unit = field_str(inner, "val_unit").unwrap_or("bytes");
            format!("quota {over}{val} {unit}")
        }
        "dnat" | "snat" => {
            let fam = field_str(inner, "family")
                .map(|f| format!("{f} "))
                .unwrap_or_default();
            let addr = field(inner, "addr").map(expr).unwrap_or_default();
            let port = field(inner, "port")
                .map(|p| format!(":{}", expr(p)))
                .unwrap_or_default();
            format!("{k} {fam}to {addr}{port}")
        }
        "masquerade" | "redirect" => match field(inner, "port") {
            Some(p) => format!("{k} to :{}", expr(p)),
            None => k.to_owned(),
        },
        "reject" => match (field_str(inner, "type"), field(inner, "expr")) {
            (Some(t), Some(e)) => format!("reject with {t} {}", expr(e)),
            (Some(t), None) => format!("reject with {t}"),
            _ => "reject".to_owned(),
        },
        "mangle" => {
            let key = field(inner, "key").map(expr).unwrap_or_default();
            let value = field(inner, "value").map(expr).unwrap_or_default();
            format!("{key} set {value}")
        }
        "vmap" => {
            let key = field(inner, "key").unwrap_or(&Value::Null);
            let data = field(inner, "data").map(|d| expr_q(d, names_interfaces(key)));
            format!("{} vmap {}", expr(key), data.unwrap_or_default())
        }
        "ct helper" | "ct timeout" | "ct expectation" if inner.is_string() => {
            format!("{k} set {}", expr_q(inner, true))
        }
        "flow" => format!(
            "flow {} {}",
            field_str(inner, "op").unwrap_or("add"),
            field_str(inner, "flowtable").unwrap_or("?")
        ),
        "xt" => match (field_str(inner, "type"), field_str(inner, "name")) {
            (Some(t), Some(n)) => format!("xt {t} {n:?}"),
            _ => "xt".to_owned(),
        },
        _ => expr(v),
    }
}

pub(super) fn expr(v: &Value) -> String {
    expr_q(v, false)
}

/// `quote`: print strings as nft quotes interface names.
fn expr_q(v: &Value, quote: bool) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if quote && !s.starts_with('@') => format!("{s:?}"),
        Value::String(s) => s.clone(),
        Value::Array(a) => list(a, quote, ","),
        Value::Object(m) => match single(m) {
            Some((k, inner)) => object(k, inner, quote),
            None => serde_json::to_string(v).unwrap_or_default(),
        },
    }
}

fn list(a: &[Value], quote: bool, sep: &str) -> String {
    a.iter()
        .map(|e| expr_q(e, quote))
        .collect::<Vec<_>>()
        .join(sep)
}

fn object(k: &str, inner: &Value, quote: bool) -> String {
    match k {
        "payload" => match (field_str(inner, "protocol"), field_str(inner, "field")) {
            (Some(p), Some(f)) => format!("{p} {f}"),
            _ => format!(
                "@{},{},{}",
                field(inner, "base").map(expr).unwrap_or_default(),
                field(inner, "offset").map(expr).unwrap_or_default(),
                field(inner, "len").map(expr).unwrap_or_default()
            ),
        },
        "meta" => {
            let key = field_str(inner, "key").unwrap_or("?");
            match key {
                "iifname" | "oifname" | "iif" | "oif" | "mark" | "skuid" | "skgid" | "iiftype"
                | "oiftype" | "nftrace" | "rtclassid" | "pkttype" | "cpu" | "iifgroup"
                | "oifgroup" | "cgroup" | "ibrname" | "obrname" => key.to_owned(),
                _ => format!("meta {key}"),
            }
        }
        "ct" => {
            let mut s = "ct".to_owned();
            if let Some(d) = field_str(inner, "dir") {
                s.push(' ');
                s.push_str(d);
            }
            s.push(' ');
            s.push_str(field_str(inner, "key").unwrap_or("?"));
            s
        }
        "prefix" => format!(
            "{}/{}",
            field(inner, "addr").map(expr).unwrap_or_default(),
            field(inner, "len").map(expr).unwrap_or_default()
        ),
        "range" => match inner.as_array().map(Vec::as_slice) {
            Some([a, b]) => format!("{}-{}", expr_q(a, quote), expr_q(b, quote)),
            _ => format!("range {}", expr(inner)),
        },
        "set" => {
            let items: Vec<String> = match inner {
                Value::Array(a) => a.iter().map(|e| set_item(e, quote)).collect(),
                other => vec![set_item(other, quote)],
            };
            format!("{{ {} }}", items.join(", "))
        }
        "concat" => match inner.as_array() {
            Some(a) => list(a, quote, " . "),
            None => expr(inner),
        },
        "elem" => field(inner, "val")
            .map(|v| expr_q(v, quote))
            .unwrap_or_default(),
        "map" | "vmap" => format!(
            "{} {k} {}",
            field(inner, "key").map(expr).unwrap_or_default(),
            field(inner, "data").map(expr).unwrap_or_default()
        ),
        "&" | "|" | "^" | "<<" | ">>" => match inner.as_array() {
            Some(a) => list(a, quote, &format!(" {k} ")),
            None => expr(inner),
        },
        "jump" | "goto" => format!("{k} {}", field_str(inner, "target").unwrap_or("?")),
        "fib" => {
            let flags = match field(inner, "flags") {
                Some(Value::Array(a)) => list(a, false, " . "),
                Some(other) => expr(other),
                None => String::new(),
            };
            format!("fib {flags} {}", field_str(inner, "result").unwrap_or("?"))
        }
        _ => match inner {
            Value::Null => k.to_owned(),
            Value::Object(m) => {
                let mut s = k.to_owned();
                for v in m.values() {
                    s.push(' ');
                    s.push_str(&expr(v));
                }
                s
            }
            other => format!("{k} {}", expr(other)),
        },
    }
}

/// A set element, or a `key : value` pair of a map.
fn set_item(v: &Value, quote: bool) -> String {
    match v.as_array().map(Vec::as_slice) {
        Some([k, d]) => format!("{} : {}", expr_q(k, quote), expr(d)),
        _ => expr_q(v, quote),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn renders_like_nft() {
        let stmts: Vec<Value> = serde_json::from_str(
            r#"[{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                 "right": {"prefix": {"addr": "10.0.0.0", "len": 8}}}},
                {"match": {"op": "!=", "left": {"meta": {"key": "iifname"}}, "right": "eth*"}},
                {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}},
                {"counter": {"packets": 0, "bytes": 0}},
                {"vmap": {"key": {"meta": {"key": "oifname"}}, "data": {"set": [["lg0", {"jump": {"target": "x"}}]]}}}]"#,
        )
        .unwrap();
        assert_eq!(
            rule(&stmts, Some("zones")),
            "ip saddr 10.0.0.0/8 iifname != \"eth*\" ct state established,related counter \
             oifname vmap { \"lg0\" : jump x } comment \"zones\""
        );
    }

    #[test]
    fn long_texts_are_shortened() {
        let s = shorten("x".repeat(1000));
        assert_eq!(s.chars().count(), MAX_TEXT_CHARS);
        assert!(s.ends_with('…'));
    }
}
