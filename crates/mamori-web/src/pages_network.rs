//! 6(3) the segmentation proof: the zone overview (`/network`: the newest verdict per zone pair, the
//! devices' files, uploads and "netcheck を実行"), the segments of the newest zone map, and every run kept with
//! its counterexamples. `mamori-app` decides, parses and proves; this module renders.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use mamori_app::zones::network::{self, FileRole, MAX_CONFIG_BYTES, Overview};
use mamori_app::{AppError, FieldError};
use serde_json::Value;

use crate::ctx::{AppState, Ctx};
use crate::error::field_message;
use crate::i18n::Tr;
use crate::page::{Cell, Page, TablePage};
use crate::pages_zones::zone_name;
use crate::{render, render_checked};

fn verdict_label(tr: &Tr, verdict: &str) -> String {
    tr.get(&format!("verdict-{verdict}"))
}

fn short(sha: &str) -> String {
    sha.chars().take(12).collect()
}

#[derive(Template)]
#[template(path = "network.html")]
struct NetworkPage {
    page: Page,
    tr: Tr,
    errors: Vec<String>,
    /// (file name, hash, uploaded at)
    map: Option<(String, String, String)>,
    stale: Option<String>,
    zone_names: Vec<String>,
    /// (from zone, [(verdict code, label)])
    matrix: Vec<(String, Vec<(String, String)>)>,
    run_link: Option<(String, String)>,
    files: Vec<Vec<String>>,
    operator: bool,
    targets: Vec<(String, String)>,
    /// Every version of the zone map: (number, file name, hash, uploaded at).
    versions: Vec<(String, String, String, String)>,
}

fn matrix(tr: &Tr, o: &Overview) -> Vec<(String, Vec<(String, String)>)> {
    o.zones
        .iter()
        .map(|(from, _)| {
            let cells = o
                .zones
                .iter()
                .map(|(to, _)| match (from == to, o.verdict(from, to)) {
                    (true, _) => ("self".to_owned(), "—".to_owned()),
                    (false, Some(v)) => (v.to_owned(), verdict_label(tr, v)),
                    (false, None) => ("none".to_owned(), tr.get("verdict-none")),
                })
                .collect();
            (zone_name(tr, &o.zones, from), cells)
        })
        .collect()
}

async fn overview_page(state: &AppState, ctx: &Ctx, errors: &[FieldError]) -> Response {
    let Some(cap) = ctx.actor.network_reader() else {
        return ctx.fail(AppError::Forbidden);
    };
    let tr = &ctx.tr;
    let (o, versions) = match (
        network::overview(&state.app, &cap).await,
        network::map_versions(&state.app, &cap).await,
    ) {
        (Ok(o), Ok(v)) => (o, v),
        (Err(e), _) | (_, Err(e)) => return ctx.fail(e),
    };
    let role = |r: FileRole| {
        tr.get(match r {
            FileRole::Ruleset => "role-ruleset",
            FileRole::Ipset => "role-ipset",
            FileRole::Routes => "role-routes",
        })
    };
    let stale = match (&o.map, &o.latest_run, o.stale) {
        (None, _, _) | (_, _, false) => None,
        (Some(_), None, true) => Some(tr.get("network-never-run")),
        (Some(_), Some(_), true) => Some(tr.get("network-stale")),
    };
    let page = NetworkPage {
        page: Page::new(tr, Some(&ctx.actor), "/network", tr.get("network-title")),
        tr: tr.clone(),
        errors: errors.iter().map(|e| field_message(tr, e)).collect(),
        map: o.map.as_ref().map(|m| {
            (
                m.source_name.clone(),
                short(&m.sha256),
                tr.time(&m.uploaded_at),
            )
        }),
        stale,
        zone_names: o
            .zones
            .iter()
            .map(|(id, _)| zone_name(tr, &o.zones, id))
            .collect(),
        matrix: matrix(tr, &o),
        run_link: o.latest_run.as_ref().map(|r| {
            (
                format!("/network/runs/{}", r.id),
                tr.with("network-latest-run", "at", &tr.time(&r.ran_at)),
            )
        }),
        files: o
            .files
            .iter()
            .map(|f| {
                let (sha, size, at) = match &f.latest {
                    Some((sha, size, at)) => (short(sha), size.to_string(), tr.time(at)),
                    None => (String::new(), String::new(), tr.get("network-not-uploaded")),
                };
                vec![
                    f.file.device.clone(),
                    f.file.file_name.clone(),
                    role(f.file.role),
                    sha,
                    size,
                    at,
                ]
            })
            .collect(),
        operator: ctx.actor.network_operator().is_some(),
        versions: versions
            .iter()
            .map(|v| {
                (
                    format!("#{}", v.id),
                    v.source_name.clone(),
                    short(&v.sha256),
                    tr.time(&v.uploaded_at),
                )
            })
            .collect(),
        targets: o
            .files
            .iter()
            .map(|f| {
                (
                    f.file.file_name.clone(),
                    format!(
                        "{} — {} ({})",
                        f.file.device,
                        f.file.file_name,
                        role(f.file.role)
                    ),
                )
            })
            .collect(),
    };
    render_checked(errors.is_empty(), &page)
}

pub async fn overview(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    overview_page(&state, &ctx, &[]).await
}

/// The `file` part (name and bytes) and the `target` field of an upload form.
async fn read_upload(mut multipart: Multipart) -> Result<(String, String, Vec<u8>), FieldError> {
    let mut target = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    let failed = |reason: String| FieldError::new("file", "err-upload").with("reason", reason);
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| failed(e.body_text()))?
    {
        match field.name() {
            Some("target") => target = field.text().await.map_err(|e| failed(e.body_text()))?,
            Some("file") => {
                let name = field.file_name().unwrap_or_default().to_owned();
                let bytes = field.bytes().await.map_err(|e| failed(e.body_text()))?;
                if bytes.len() > MAX_CONFIG_BYTES {
                    return Err(FieldError::new("file", "err-file-too-large")
                        .with("max", (MAX_CONFIG_BYTES / 1024 / 1024).to_string()));
                }
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    let (name, bytes) = file.unwrap_or_default();
    Ok((target, name, bytes))
}

pub async fn upload_map(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    multipart: Multipart,
) -> Response {
    let Some(cap) = ctx.actor.network_operator() else {
        return ctx.fail(AppError::Forbidden);
    };
    let (_, name, bytes) = match read_upload(multipart).await {
        Ok(u) => u,
        Err(e) => return overview_page(&state, &ctx, &[e]).await,
    };
    match network::upload_map(&state.app, &cap, &ctx.actor.audit_actor(), &name, &bytes).await {
        Ok(_) => Redirect::to("/network").into_response(),
        Err(AppError::Invalid(errors)) => overview_page(&state, &ctx, &errors).await,
        Err(e) => ctx.fail(e),
    }
}

pub async fn upload_config(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    multipart: Multipart,
) -> Response {
    let Some(cap) = ctx.actor.network_operator() else {
        return ctx.fail(AppError::Forbidden);
    };
    let (target, _, bytes) = match read_upload(multipart).await {
        Ok(u) => u,
        Err(e) => return overview_page(&state, &ctx, &[e]).await,
    };
    match network::upload_config(&state.app, &cap, &ctx.actor.audit_actor(), &target, &bytes).await
    {
        Ok(_) => Redirect::to("/network").into_response(),
        Err(AppError::Invalid(errors)) => overview_page(&state, &ctx, &errors).await,
        Err(e) => ctx.fail(e),
    }
}

pub async fn run(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    let Some(cap) = ctx.actor.network_operator() else {
        return ctx.fail(AppError::Forbidden);
    };
    match network::run(&state.app, &cap, &ctx.actor.audit_actor()).await {
        Ok(id) => Redirect::to(&format!("/network/runs/{id}")).into_response(),
        Err(AppError::Invalid(errors)) => overview_page(&state, &ctx, &errors).await,
        Err(e) => ctx.fail(e),
    }
}

pub async fn segments(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    let Some(cap) = ctx.actor.network_reader() else {
        return ctx.fail(AppError::Forbidden);
    };
    let tr = &ctx.tr;
    let rows = match network::segments(&state.app, &cap).await {
        Ok(r) => r,
        Err(e) => return ctx.fail(e),
    };
    let cells = rows
        .iter()
        .map(|s| {
            vec![
                Cell::text(s.id.clone()),
                Cell::text(s.name.clone()),
                Cell::text(if s.zone_name.is_empty() {
                    s.zone.clone()
                } else {
                    format!("{}（{}）", s.zone_name, s.zone)
                }),
                Cell::text(s.prefixes.join(", ")),
            ]
        })
        .collect();
    let mut page = TablePage::new(
        tr,
        Page::new(
            tr,
            Some(&ctx.actor),
            "/network/segments",
            tr.get("segments-title"),
        ),
        vec![
            tr.get("segment-id"),
            tr.get("segment-name"),
            tr.get("zone-field-zone"),
            tr.get("segment-prefixes"),
        ],
        cells,
    );
    page.summary = Some(tr.get(if rows.is_empty() {
        "network-no-map"
    } else {
        "segments-intro"
    }));
    page.actions
        .push(("/network".to_owned(), tr.get("network-title")));
    render(&page)
}

pub async fn runs(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    let Some(cap) = ctx.actor.network_reader() else {
        return ctx.fail(AppError::Forbidden);
    };
    let tr = &ctx.tr;
    let rows = match network::runs(&state.app, &cap, 500).await {
        Ok(r) => r,
        Err(e) => return ctx.fail(e),
    };
    let cells = rows
        .iter()
        .map(|r| {
            vec![
                Cell::link(tr.time(&r.ran_at), format!("/network/runs/{}", r.id)),
                Cell::text(r.ran_by.clone()),
                Cell::text(format!("#{} {}", r.map_version_id, short(&r.map_sha256))),
                Cell::text(r.inputs.len().to_string()),
                if r.violation {
                    Cell::text(verdict_label(tr, "violation")).class("verdict-violation")
                } else {
                    Cell::text(tr.get("run-no-violation"))
                },
            ]
        })
        .collect();
    let mut page = TablePage::new(
        tr,
        Page::new(tr, Some(&ctx.actor), "/network/runs", tr.get("runs-title")),
        vec![
            tr.get("run-at"),
            tr.get("run-by"),
            tr.get("network-map"),
            tr.get("run-inputs"),
            tr.get("run-verdict"),
        ],
        cells,
    );
    page.actions
        .push(("/network".to_owned(), tr.get("network-title")));
    render(&page)
}

/// A violating zone pair with its packets.
struct ViolationView {
    title: String,
    ranges: String,
    packets: Vec<PacketView>,
}

struct PacketView {
    packet: String,
    approximate: bool,
    /// (device in → out, rules)
    hops: Vec<(String, Vec<String>)>,
}

#[derive(Template)]
#[template(path = "netcheck_run.html")]
struct RunPage {
    page: Page,
    tr: Tr,
    items: Vec<(String, String)>,
    /// (from, to, verdict code, label)
    pairs: Vec<(String, String, String, String)>,
    violations: Vec<ViolationView>,
    sections: Vec<(String, Vec<String>)>,
    inputs: Vec<(String, String, String)>,
}

fn s(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// `core-fw.rules:20 -A FORWARD -j ACCEPT` (with the nft handle when there is one).
fn rule_line(v: &Value) -> String {
    let handle = match v.get("handle") {
        Some(Value::Number(n)) => format!(" (handle {n})"),
        _ => String::new(),
    };
    format!("{}:{}{handle} {}", s(v, "file"), s(v, "line"), s(v, "text"))
}

/// `tcp 198.51.100.7:40000 → 10.20.5.10:25`.
fn packet_line(v: &Value) -> String {
    let end = |addr: &str, port: &str| {
        if port.is_empty() {
            addr.to_owned()
        } else if addr.contains(':') {
            format!("[{addr}]:{port}")
        } else {
            format!("{addr}:{port}")
        }
    };
    format!(
        "{} {} → {}",
        s(v, "protocol_name"),
        end(&s(v, "src"), &s(v, "sport")),
        end(&s(v, "dst"), &s(v, "dport"))
    )
}

fn list(v: &Value, key: &str) -> Vec<Value> {
    v.get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn violations(tr: &Tr, zones: &[(String, String)], report: &Value) -> Vec<ViolationView> {
    list(report, "pairs")
        .iter()
        .filter(|p| s(p, "verdict") == "violation")
        .map(|p| ViolationView {
            title: tr.args(
                "run-violation-title",
                &[
                    ("from", zone_name(tr, zones, &s(p, "from"))),
                    ("to", zone_name(tr, zones, &s(p, "to"))),
                ],
            ),
            ranges: {
                let src: Vec<String> = list(p, "src_prefixes")
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect();
                let dst: Vec<String> = list(p, "dst_prefixes")
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect();
                if src.is_empty() && dst.is_empty() {
                    String::new()
                } else {
                    tr.args(
                        "run-ranges",
                        &[("src", src.join(", ")), ("dst", dst.join(", "))],
                    )
                }
            },
            packets: list(p, "counterexamples")
                .iter()
                .map(|c| PacketView {
                    packet: c.get("packet").map(packet_line).unwrap_or_default(),
                    approximate: c
                        .get("approximate")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    hops: list(c, "hops")
                        .iter()
                        .map(|h| {
                            let mut rules: Vec<String> = Vec::new();
                            if let Some(d) = h.get("dnat").filter(|d| !d.is_null()) {
                                rules.push(format!("DNAT {}", rule_line(d)));
                            }
                            rules.extend(list(h, "rules").iter().map(rule_line));
                            if let Some(r) = h.get("rule").filter(|r| !r.is_null()) {
                                rules.push(rule_line(r));
                            }
                            if let Some(d) = h.get("snat").filter(|d| !d.is_null()) {
                                rules.push(format!("SNAT {}", rule_line(d)));
                            }
                            (
                                format!(
                                    "{} {} → {}",
                                    s(h, "device"),
                                    s(h, "in_interface"),
                                    s(h, "out_interface")
                                ),
                                rules,
                            )
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

pub async fn run_show(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Response {
    let Some(cap) = ctx.actor.network_reader() else {
        return ctx.fail(AppError::Forbidden);
    };
    let tr = &ctx.tr;
    let (d, zones) = match (
        network::run_detail(&state.app, &cap, id).await,
        mamori_app::zones::systems::zone_choices(&state.app, cap.municipality_id).await,
    ) {
        (Ok(d), Ok(z)) => (d, z),
        (Err(e), _) | (_, Err(e)) => return ctx.fail(e),
    };
    let r = &d.row;
    let items = vec![
        (tr.get("run-at"), tr.time(&r.ran_at)),
        (tr.get("run-by"), r.ran_by.clone()),
        (
            tr.get("network-map"),
            format!("#{} SHA-256 {}", r.map_version_id, r.map_sha256),
        ),
        (
            tr.get("run-verdict"),
            if r.violation {
                verdict_label(tr, "violation")
            } else {
                tr.get("run-no-violation")
            },
        ),
    ];
    let pairs = r
        .verdicts
        .iter()
        .map(|v| {
            (
                zone_name(tr, &zones, &v.from),
                zone_name(tr, &zones, &v.to),
                v.verdict.clone(),
                verdict_label(tr, &v.verdict),
            )
        })
        .collect();
    let mut sections = Vec::new();
    let warnings: Vec<String> = list(&d.report, "warnings")
        .iter()
        .map(|w| format!("{}:{} {}", s(w, "file"), s(w, "line"), s(w, "message")))
        .collect();
    let dead: Vec<String> = list(&d.report, "dead_allowances")
        .iter()
        .map(|a| format!("line {}: {}", s(a, "line"), s(a, "reason")))
        .collect();
    let shadowed: Vec<String> = list(&d.report, "shadowed").iter().map(rule_line).collect();
    for (key, lines) in [
        ("run-warnings", warnings),
        ("run-dead", dead),
        ("run-shadowed", shadowed),
    ] {
        if !lines.is_empty() {
            sections.push((tr.get(key), lines));
        }
    }
    let page = RunPage {
        page: Page::new(
            tr,
            Some(&ctx.actor),
            &format!("/network/runs/{id}"),
            tr.with("run-title", "at", &tr.time(&r.ran_at)),
        ),
        tr: tr.clone(),
        items,
        pairs,
        violations: violations(tr, &zones, &d.report),
        sections,
        inputs: r
            .inputs
            .iter()
            .map(|i| (i.device.clone(), i.file_name.clone(), i.sha256.clone()))
            .collect(),
    };
    render(&page)
}
