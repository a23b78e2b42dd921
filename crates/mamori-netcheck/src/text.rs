//! The report as text for a network engineer, in Japanese or English: the verdict of every zone pair, then
//! each violation's packets hop by hop with the rule that let them through, then what else is worth a look
//! (established-only traffic, pivots, dead allowances, shadowed rules, approximations).

use std::fmt::Write as _;

use crate::analysis::{Pivot, Report, Verdict};
use crate::zones::ZoneMap;

/// The language of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextLang {
    Ja,
    En,
}

fn zone_label(map: &ZoneMap, id: &str) -> String {
    match map.zone(id) {
        Some(z) if z.name != z.id => format!("{} ({})", z.name, z.id),
        _ => id.to_owned(),
    }
}

/// Renders the report.
pub fn render(report: &Report, map: &ZoneMap, lang: TextLang) -> String {
    let ja = lang == TextLang::Ja;
    let t = |j: &'static str, e: &'static str| if ja { j } else { e };
    let mut out = String::new();
    let _ = writeln!(out, "{}", t("ゾーン間の通信", "Zone pairs"));
    for p in &report.pairs {
        let verdict = match p.verdict {
            Verdict::Isolated => t("分離 (証明済み)", "isolated (proved)"),
            Verdict::AllowedOnly => t(
                "許可された通信のみ (証明済み)",
                "allowed services only (proved)",
            ),
            Verdict::Violation => t("違反", "VIOLATION"),
        };
        let _ = writeln!(
            out,
            "  {} → {}: {verdict}",
            zone_label(map, &p.from),
            zone_label(map, &p.to)
        );
        if !p.allowed_used.is_empty() {
            let lines: Vec<String> = p.allowed_used.iter().map(|l| format!("{l}")).collect();
            let _ = writeln!(
                out,
                "      {} {}",
                t(
                    "使われている許可 (ゾーン定義の行):",
                    "allowed services used (zone map lines):"
                ),
                lines.join(", ")
            );
        }
    }
    for p in report
        .pairs
        .iter()
        .filter(|p| p.verdict == Verdict::Violation)
    {
        let _ = writeln!(
            out,
            "\n{} {} → {}",
            t("違反:", "Violation:"),
            zone_label(map, &p.from),
            zone_label(map, &p.to)
        );
        let list = |prefixes: &[String], undeclared: bool| {
            let mut parts: Vec<String> = prefixes.to_vec();
            if p.prefixes_truncated && !parts.is_empty() {
                parts.push("…".to_owned());
            }
            if undeclared {
                parts.push(
                    t(
                        "(ゾーン定義にないアドレス)",
                        "(addresses outside every segment)",
                    )
                    .to_owned(),
                );
            }
            parts.join(" ")
        };
        let _ = writeln!(
            out,
            "  {} {}",
            t("送信元:", "sources:     "),
            list(&p.src_prefixes, p.src_undeclared)
        );
        let _ = writeln!(
            out,
            "  {} {}",
            t("宛先:  ", "destinations:"),
            list(&p.dst_prefixes, p.dst_undeclared)
        );
        for (i, c) in p.counterexamples.iter().enumerate() {
            let approx = if c.approximate {
                t(
                    " (近似を含む: 実際には通らない可能性あり)",
                    " (approximated: may not really pass)",
                )
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  {} {}: {}{approx}",
                t("例", "packet"),
                i + 1,
                c.packet
            );
            for h in &c.hops {
                let _ = writeln!(
                    out,
                    "      {} {} → {}  {}",
                    h.device, h.in_interface, h.out_interface, h.forwarded
                );
                if let Some(d) = &h.dnat {
                    let _ = writeln!(out, "        DNAT  {}  {}", d.location(), d.text);
                }
                for r in &h.rules {
                    let _ = writeln!(
                        out,
                        "        {}  {}  {}",
                        t("許可", "ACCEPT"),
                        r.location(),
                        r.text
                    );
                }
                if let Some(s) = &h.snat {
                    let _ = writeln!(out, "        SNAT  {}  {}", s.location(), s.text);
                }
            }
        }
    }
    if !report.established.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            t(
                "確立済み (ESTABLISHED/RELATED) としてだけ通る通信 — 逆向きの接続開始は通らない:",
                "Admitted only as established/related — nothing can open such a connection the other way:"
            )
        );
        for e in &report.established {
            let rule: String = e
                .rules
                .iter()
                .map(|r| format!("  {}", r.location()))
                .collect();
            let _ = writeln!(out, "  {} → {}: {}{rule}", e.from, e.to, e.example);
        }
    }
    if !report.pivots.is_empty() {
        let _ = writeln!(out, "\n{}", t("踏み台になりうる機器:", "Pivots:"));
        for p in &report.pivots {
            match p {
                Pivot::SharedService {
                    device,
                    zones,
                    protocol,
                    port,
                    ..
                } => {
                    let port = port.map(|p| format!("/{p}")).unwrap_or_default();
                    let (a, b) = (&zones[0], &zones[1]);
                    let _ = if ja {
                        writeln!(
                            out,
                            "  {device}: {protocol}{port} に {a} と {b} の両方から届く"
                        )
                    } else {
                        writeln!(
                            out,
                            "  {device}: {protocol}{port} is reachable from {a} and {b}"
                        )
                    };
                }
                Pivot::Relay {
                    device,
                    reached_from,
                    opens_to,
                    example,
                    ..
                } => {
                    let _ = writeln!(
                        out,
                        "  {device}: {} {reached_from}, {} {opens_to} ({example})",
                        t("接続を受ける:", "reached from"),
                        t("接続を開ける:", "opens connections to"),
                    );
                }
            }
        }
    }
    if !report.dead_allowances.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            t(
                "設定が一切通さない許可 (ゾーン定義の行):",
                "Allowed services the configurations never permit (zone map lines):"
            )
        );
        for d in &report.dead_allowances {
            let _ = writeln!(out, "  {}: {}", d.line, d.reason);
        }
    }
    if !report.shadowed.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            t("決して一致しないルール:", "Rules that can never match:")
        );
        for r in &report.shadowed {
            let _ = writeln!(out, "  {}  {}", r.location(), r.text);
        }
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            t(
                "解釈できなかった箇所 (通すものとして扱った):",
                "Not modelled (read as permitting):"
            )
        );
        for w in &report.warnings {
            let _ = writeln!(out, "  {}:{}: {}", w.file, w.line, w.message);
        }
    }
    out
}
