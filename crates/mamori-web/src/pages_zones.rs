//! 6(3) the zone register: 情報システム (`/systems`) and the flows declared between them (`/flows`) — lists,
//! pages with what the checks find and the history from the audit chain, forms, retiring. `mamori-app`
//! decides who sees and changes what; this module only asks and renders.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use mamori_app::zones::flows::{self, FlowDetail, FlowInput, PROTOCOLS};
use mamori_app::zones::systems::{self, SystemDetail, SystemInput};
use mamori_app::zones::{Hosting, systems::SystemRow};
use mamori_app::{AppError, AppResult, FieldError, today};
use mamori_policy::check::Finding;

use crate::ctx::{AppState, Ctx};
use crate::error::field_message;
use crate::i18n::Tr;
use crate::page::{Cell, Field, FormPage, Page, TablePage};
use crate::pages_assets::{FindingView, HistoryView, RetireView};
use crate::{render, render_checked};

/// A zone's name: the policy's name for its three zones, the zone map's for others, else the id.
pub(crate) fn zone_name(tr: &Tr, zones: &[(String, String)], id: &str) -> String {
    if let Ok(z) = mamori_policy::Zone::parse(id) {
        return z.name(tr.lang.policy()).to_owned();
    }
    zones
        .iter()
        .find(|(z, _)| z == id)
        .map(|(_, name)| name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| id.to_owned())
}

async fn zones(state: &AppState, ctx: &Ctx) -> AppResult<Vec<(String, String)>> {
    systems::zone_choices(&state.app, ctx.actor.municipality_id).await
}

fn yes_no(tr: &Tr, v: bool) -> String {
    tr.get(if v { "flag-yes" } else { "flag-no" })
}

fn hosting_name(tr: &Tr, code: &str) -> String {
    tr.get(&format!("hosting-{code}"))
}

fn findings_view(tr: &Tr, findings: &[Finding]) -> Vec<FindingView> {
    let lang = tr.lang.policy();
    findings
        .iter()
        .map(|f| FindingView {
            severity: f.severity.name(lang).to_owned(),
            severity_code: f.severity.code(),
            clause: f.clause.to_owned(),
            message: f.message.get(lang).to_owned(),
            check_id: f.check_id.to_owned(),
        })
        .collect()
}

/// The fields of systems and flows in the order their forms list them, for the history's lines.
const HISTORY_ORDER: &[&str] = &[
    "name",
    "zone",
    "owner_unit",
    "admin_staff",
    "hosting",
    "mfa",
    "no_export",
    "sanitiser",
    "notes_set",
    "notes_changed",
    "retired_on",
    "from_system",
    "to_system",
    "protocol",
    "ports",
    "via_system",
    "purpose",
];

/// A value of a system's or flow's audit summary as a person reads it.
fn history_value(
    tr: &Tr,
    zones: &[(String, String)],
    field: &str,
    v: &serde_json::Value,
) -> String {
    let text = plain(v);
    match field {
        "mfa" | "no_export" | "sanitiser" => yes_no(tr, text == "true"),
        "hosting" => hosting_name(tr, &text),
        "zone" => zone_name(tr, zones, &text),
        "owner_unit" | "admin_staff" | "from_system" | "to_system" | "via_system"
            if !v.is_null() =>
        {
            tr.with("asset-record-id", "id", &text)
        }
        "notes_set" | "notes_changed" => tr.get("asset-notes-changed"),
        _ => text,
    }
}

fn history_view(
    tr: &Tr,
    zones: &[(String, String)],
    history: &[mamori_app::assets::HistoryEntry],
) -> Vec<HistoryView> {
    history
        .iter()
        .map(|h| HistoryView {
            at: tr.time(&h.at),
            actor: h.actor.clone(),
            action: match h.action.rsplit('.').next() {
                Some("created") => tr.get("asset-history-created"),
                Some("updated") => tr.get("asset-history-updated"),
                Some("retired") => tr.get("asset-history-retired"),
                _ => h.action.clone(),
            },
            lines: h
                .summary
                .as_object()
                .map(|m| {
                    let mut fields: Vec<_> = m.iter().collect();
                    fields.sort_by_key(|(k, _)| {
                        HISTORY_ORDER
                            .iter()
                            .position(|f| f == k)
                            .unwrap_or(HISTORY_ORDER.len())
                    });
                    fields
                        .into_iter()
                        .map(|(k, v)| {
                            let label = tr.get(&format!("zone-field-{k}"));
                            match v.as_array().map(Vec::as_slice) {
                                Some([before, after]) => format!(
                                    "{label}: {} → {}",
                                    history_value(tr, zones, k, before),
                                    history_value(tr, zones, k, after)
                                ),
                                _ => format!("{label}: {}", history_value(tr, zones, k, v)),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "—".to_owned(),
        other => other.to_string(),
    }
}

/// One page of the register: a system or a flow.
#[derive(Template)]
#[template(path = "record.html")]
struct RecordPage {
    page: Page,
    tr: Tr,
    back: (String, String),
    edit_href: Option<String>,
    /// (label, text, link, keep line breaks)
    items: Vec<(String, String, Option<String>, bool)>,
    /// Flows of a system: (link, text).
    related: Vec<(String, String)>,
    findings: Vec<FindingView>,
    findings_link: Option<(String, String)>,
    history: Vec<HistoryView>,
    retire: Option<RetireView>,
    retire_dated: bool,
    retire_intro: String,
    retire_submit: String,
    errors: Vec<String>,
}

fn item(label: String, text: impl Into<String>) -> (String, String, Option<String>, bool) {
    (label, text.into(), None, false)
}

// ---- systems ----

#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    retired: Option<String>,
}

pub async fn system_list(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(q): Query<ListQuery>,
) -> Response {
    let tr = &ctx.tr;
    let with_retired = mamori_app::text::checked(&q.retired);
    let (rows, zones) = match (
        systems::list(&state.app, &ctx.actor, with_retired).await,
        zones(&state, &ctx).await,
    ) {
        (Ok(r), Ok(z)) => (r, z),
        (Err(e), _) | (_, Err(e)) => return ctx.fail(e),
    };
    let cells = rows
        .iter()
        .map(|r| {
            let mut name = Cell::link(r.name.clone(), format!("/systems/{}", r.id));
            if r.retired {
                name.text = tr.with("system-retired-name", "name", &r.name);
            }
            vec![
                name,
                Cell::text(zone_name(tr, &zones, &r.zone)),
                Cell::text(r.owner_path.clone()),
                Cell::text(r.admin_name.clone()),
                Cell::text(hosting_name(tr, &r.hosting)),
                Cell::text(yes_no(tr, r.mfa)),
                Cell::text(yes_no(tr, r.no_export)),
                Cell::text(if r.sanitiser {
                    tr.get("flag-yes")
                } else {
                    String::new()
                }),
            ]
        })
        .collect();
    let mut page = TablePage::new(
        tr,
        Page::new(tr, Some(&ctx.actor), "/systems", tr.get("systems-title")),
        vec![
            tr.get("zone-field-name"),
            tr.get("zone-field-zone"),
            tr.get("zone-field-owner_unit"),
            tr.get("zone-field-admin_staff"),
            tr.get("zone-field-hosting"),
            tr.get("zone-field-mfa"),
            tr.get("zone-field-no_export"),
            tr.get("zone-field-sanitiser"),
        ],
        cells,
    );
    page.filters = vec![Field::new(
        "retired",
        tr.get("systems-with-retired"),
        "checkbox",
        if with_retired { "on" } else { "" },
    )];
    page.summary = Some(tr.get("systems-intro"));
    if ctx.actor.system_editor().is_some() {
        page.actions
            .push(("/systems/new".to_owned(), tr.get("systems-new")));
    }
    page.actions
        .push(("/flows".to_owned(), tr.get("flows-title")));
    if ctx.actor.network_reader().is_some() {
        page.actions
            .push(("/network".to_owned(), tr.get("network-title")));
    }
    render(&page)
}

fn system_items(
    tr: &Tr,
    zones: &[(String, String)],
    r: &SystemRow,
) -> Vec<(String, String, Option<String>, bool)> {
    let none = || tr.get("asset-none");
    let mut items = vec![
        item(tr.get("zone-field-name"), r.name.clone()),
        item(tr.get("zone-field-zone"), zone_name(tr, zones, &r.zone)),
        item(
            tr.get("zone-field-owner_unit"),
            if r.owner_code.is_empty() {
                none()
            } else {
                format!("{}（{}）", r.owner_path, r.owner_code)
            },
        ),
        (
            tr.get("zone-field-admin_staff"),
            if r.admin_no.is_empty() {
                none()
            } else {
                format!("{}（{}）", r.admin_name, r.admin_no)
            },
            r.admin_staff_id.map(|id| format!("/staff/{id}")),
            false,
        ),
        item(tr.get("zone-field-hosting"), hosting_name(tr, &r.hosting)),
        item(tr.get("zone-field-mfa"), yes_no(tr, r.mfa)),
        item(tr.get("zone-field-no_export"), yes_no(tr, r.no_export)),
        item(tr.get("zone-field-sanitiser"), yes_no(tr, r.sanitiser)),
        (tr.get("field-note"), r.notes.clone(), None, true),
    ];
    if r.retired {
        items.push(item(tr.get("field-retired-on"), tr.opt_date(&r.retired_on)));
    }
    items.push(item(tr.get("field-updated"), tr.time(&r.updated_at)));
    items
}

async fn system_page(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    retire_errors: &[FieldError],
) -> Response {
    let tr = &ctx.tr;
    let (detail, zones, flows): (SystemDetail, _, _) = match (
        systems::get(&state.app, &ctx.actor, id).await,
        zones(state, ctx).await,
        flows::list(&state.app, &ctx.actor, false).await,
    ) {
        (Ok(d), Ok(z), Ok(f)) => (d, z, f),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return ctx.fail(e),
    };
    let related = flows
        .iter()
        .filter(|f| f.from_system_id == id || f.to_system_id == id || f.via_system_id == Some(id))
        .map(|f| {
            (
                format!("/flows/{}", f.id),
                format!("{} → {}（{}）", f.from_name, f.to_name, f.service()),
            )
        })
        .collect();
    let r = &detail.row;
    let retire = (detail.editable && !r.retired).then(|| RetireView {
        action: format!("/systems/{id}/retire"),
        value: today().format("%Y/%m/%d").to_string(),
        error: retire_errors.first().map(|e| field_message(tr, e)),
    });
    let page = RecordPage {
        page: Page::new(
            tr,
            Some(&ctx.actor),
            &format!("/systems/{id}"),
            r.name.clone(),
        ),
        tr: tr.clone(),
        back: ("/systems".to_owned(), tr.get("systems-back")),
        edit_href: (detail.editable && !r.retired).then(|| format!("/systems/{id}/edit")),
        items: system_items(tr, &zones, r),
        related,
        findings: findings_view(tr, &detail.findings),
        findings_link: None,
        history: history_view(tr, &zones, &detail.history),
        errors: if retire.is_none() {
            retire_errors.iter().map(|e| field_message(tr, e)).collect()
        } else {
            Vec::new()
        },
        retire,
        retire_dated: true,
        retire_intro: tr.get("system-retire-intro"),
        retire_submit: tr.get("system-retire-submit"),
    };
    render_checked(retire_errors.is_empty(), &page)
}

pub async fn system_show(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Response {
    system_page(&state, &ctx, id, &[]).await
}

fn checkbox(v: &Option<String>) -> &'static str {
    if mamori_app::text::checked(v) {
        "on"
    } else {
        ""
    }
}

async fn system_form(
    state: &AppState,
    ctx: &Ctx,
    action: String,
    title: String,
    input: &SystemInput,
    errors: &[FieldError],
) -> Response {
    let tr = &ctx.tr;
    let Some(editor) = ctx.actor.system_editor() else {
        return ctx.fail(AppError::Forbidden);
    };
    let (units, zones) = match (
        systems::owner_choices(&state.app, &editor).await,
        zones(state, ctx).await,
    ) {
        (Ok(u), Ok(z)) => (u, z),
        (Err(e), _) | (_, Err(e)) => return ctx.fail(e),
    };
    let mut owners: Vec<(String, String)> = Vec::new();
    if matches!(editor.reach, mamori_app::access::Reach::All) {
        owners.push((String::new(), tr.get("asset-none")));
    }
    owners.extend(
        units
            .into_iter()
            .filter(|u| u.parent_id.is_some())
            .map(|u| (u.code.clone(), format!("{} {}", u.code, u.path))),
    );
    let zone_options = std::iter::once((String::new(), String::new()))
        .chain(
            zones
                .iter()
                .map(|(id, _)| (id.clone(), zone_name(tr, &zones, id))),
        )
        .collect();
    let hosting = Hosting::ALL
        .into_iter()
        .map(|h| (h.code().to_owned(), hosting_name(tr, h.code())))
        .collect();
    let fields = vec![
        Field::new(
            "name",
            tr.get("zone-field-name"),
            "text",
            input.name.clone(),
        )
        .required(),
        Field::new(
            "zone",
            tr.get("zone-field-zone"),
            "select",
            input.zone.clone(),
        )
        .options(zone_options)
        .required()
        .hint(tr.get("hint-system-zone")),
        Field::new(
            "owner_code",
            tr.get("zone-field-owner_unit"),
            "select",
            input.owner_code.clone(),
        )
        .options(owners),
        Field::new(
            "admin_no",
            tr.get("zone-field-admin_staff"),
            "text",
            input.admin_no.clone(),
        )
        .hint(tr.get("hint-system-admin")),
        Field::new(
            "hosting",
            tr.get("zone-field-hosting"),
            "select",
            input.hosting.clone(),
        )
        .options(hosting)
        .required(),
        Field::new(
            "mfa",
            tr.get("zone-field-mfa"),
            "checkbox",
            checkbox(&input.mfa),
        ),
        Field::new(
            "no_export",
            tr.get("zone-field-no_export"),
            "checkbox",
            checkbox(&input.no_export),
        ),
        Field::new(
            "sanitiser",
            tr.get("zone-field-sanitiser"),
            "checkbox",
            checkbox(&input.sanitiser),
        )
        .hint(tr.get("hint-system-sanitiser")),
        Field::new(
            "notes",
            tr.get("field-note"),
            "textarea",
            input.notes.clone(),
        ),
    ];
    let mut page = FormPage::new(
        Page::new(tr, Some(&ctx.actor), &ctx.path, title),
        &action,
        fields,
        tr.get("action-save"),
    )
    .with_errors(tr, errors);
    page.links
        .push(("/systems".to_owned(), tr.get("systems-back")));
    render_checked(errors.is_empty(), &page)
}

pub async fn system_new(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    let input = SystemInput {
        hosting: Hosting::OnPremises.code().to_owned(),
        ..SystemInput::default()
    };
    system_form(
        &state,
        &ctx,
        "/systems".to_owned(),
        ctx.tr.get("systems-new"),
        &input,
        &[],
    )
    .await
}

pub async fn system_create(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Form(input): Form<SystemInput>,
) -> Response {
    let Some(editor) = ctx.actor.system_editor() else {
        return ctx.fail(AppError::Forbidden);
    };
    match systems::create(&state.app, &editor, &ctx.actor.audit_actor(), &input).await {
        Ok(id) => Redirect::to(&format!("/systems/{id}")).into_response(),
        Err(AppError::Invalid(errors)) => {
            system_form(
                &state,
                &ctx,
                "/systems".to_owned(),
                ctx.tr.get("systems-new"),
                &input,
                &errors,
            )
            .await
        }
        Err(e) => ctx.fail(e),
    }
}

fn input_of(r: &SystemRow) -> SystemInput {
    let flag = |v: bool| v.then(|| "on".to_owned());
    SystemInput {
        name: r.name.clone(),
        zone: r.zone.clone(),
        owner_code: r.owner_code.clone(),
        admin_no: r.admin_no.clone(),
        hosting: r.hosting.clone(),
        mfa: flag(r.mfa),
        no_export: flag(r.no_export),
        sanitiser: flag(r.sanitiser),
        notes: r.notes.clone(),
    }
}

pub async fn system_edit(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Response {
    let detail = match systems::get(&state.app, &ctx.actor, id).await {
        Ok(d) if d.editable && !d.row.retired => d,
        Ok(_) => return ctx.fail(AppError::Forbidden),
        Err(e) => return ctx.fail(e),
    };
    let title = ctx.tr.with("systems-edit", "name", &detail.row.name);
    system_form(
        &state,
        &ctx,
        format!("/systems/{id}"),
        title,
        &input_of(&detail.row),
        &[],
    )
    .await
}

pub async fn system_update(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(input): Form<SystemInput>,
) -> Response {
    let Some(editor) = ctx.actor.system_editor() else {
        return ctx.fail(AppError::Forbidden);
    };
    match systems::update(&state.app, &editor, &ctx.actor.audit_actor(), id, &input).await {
        Ok(()) => Redirect::to(&format!("/systems/{id}")).into_response(),
        Err(AppError::Invalid(errors)) => {
            let title = ctx.tr.with("systems-edit", "name", &input.name);
            system_form(
                &state,
                &ctx,
                format!("/systems/{id}"),
                title,
                &input,
                &errors,
            )
            .await
        }
        Err(e) => ctx.fail(e),
    }
}

#[derive(serde::Deserialize, Default)]
pub struct RetireForm {
    #[serde(default)]
    retired_on: String,
}

pub async fn system_retire(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<RetireForm>,
) -> Response {
    let Some(editor) = ctx.actor.system_editor() else {
        return ctx.fail(AppError::Forbidden);
    };
    let on = match mamori_app::optional_date(&form.retired_on) {
        Ok(d) => d,
        Err(mut e) => {
            e.field = "retired_on".to_owned();
            return system_page(&state, &ctx, id, &[e]).await;
        }
    };
    match systems::retire(&state.app, &editor, &ctx.actor.audit_actor(), id, on).await {
        Ok(()) => Redirect::to(&format!("/systems/{id}")).into_response(),
        Err(AppError::Invalid(errors)) => system_page(&state, &ctx, id, &errors).await,
        Err(e) => ctx.fail(e),
    }
}

// ---- flows ----

pub async fn flow_list(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(q): Query<ListQuery>,
) -> Response {
    let tr = &ctx.tr;
    let with_retired = mamori_app::text::checked(&q.retired);
    let (rows, zones) = match (
        flows::list(&state.app, &ctx.actor, with_retired).await,
        zones(&state, &ctx).await,
    ) {
        (Ok(r), Ok(z)) => (r, z),
        (Err(e), _) | (_, Err(e)) => return ctx.fail(e),
    };
    let cells = rows
        .iter()
        .map(|r| {
            vec![
                Cell::link(
                    if r.retired {
                        tr.with("system-retired-name", "name", &r.id.to_string())
                    } else {
                        r.id.to_string()
                    },
                    format!("/flows/{}", r.id),
                ),
                Cell::link(
                    r.from_name.clone(),
                    format!("/systems/{}", r.from_system_id),
                ),
                Cell::text(zone_name(tr, &zones, &r.from_zone)),
                Cell::link(r.to_name.clone(), format!("/systems/{}", r.to_system_id)),
                Cell::text(zone_name(tr, &zones, &r.to_zone)),
                Cell::text(r.service()),
                Cell::text(r.via_name.clone()),
                Cell::text(r.purpose.clone()),
            ]
        })
        .collect();
    let mut page = TablePage::new(
        tr,
        Page::new(tr, Some(&ctx.actor), "/flows", tr.get("flows-title")),
        vec![
            tr.get("flow-number"),
            tr.get("zone-field-from_system"),
            tr.get("zone-field-zone"),
            tr.get("zone-field-to_system"),
            tr.get("zone-field-zone"),
            tr.get("flow-service"),
            tr.get("zone-field-via_system"),
            tr.get("zone-field-purpose"),
        ],
        cells,
    );
    page.filters = vec![Field::new(
        "retired",
        tr.get("flows-with-retired"),
        "checkbox",
        if with_retired { "on" } else { "" },
    )];
    page.summary = Some(tr.get("flows-intro"));
    if ctx.actor.system_editor().is_some() {
        page.actions
            .push(("/flows/new".to_owned(), tr.get("flows-new")));
    }
    page.actions
        .push(("/systems".to_owned(), tr.get("systems-title")));
    render(&page)
}

async fn flow_page(state: &AppState, ctx: &Ctx, id: i64, errors: &[FieldError]) -> Response {
    let tr = &ctx.tr;
    let (detail, zones): (FlowDetail, _) = match (
        flows::get(&state.app, &ctx.actor, id).await,
        zones(state, ctx).await,
    ) {
        (Ok(d), Ok(z)) => (d, z),
        (Err(e), _) | (_, Err(e)) => return ctx.fail(e),
    };
    let r = &detail.row;
    let mut items = vec![
        (
            tr.get("zone-field-from_system"),
            format!("{}（{}）", r.from_name, zone_name(tr, &zones, &r.from_zone)),
            Some(format!("/systems/{}", r.from_system_id)),
            false,
        ),
        (
            tr.get("zone-field-to_system"),
            format!("{}（{}）", r.to_name, zone_name(tr, &zones, &r.to_zone)),
            Some(format!("/systems/{}", r.to_system_id)),
            false,
        ),
        item(tr.get("flow-service"), r.service()),
        (
            tr.get("zone-field-via_system"),
            if r.via_name.is_empty() {
                tr.get("asset-none")
            } else {
                r.via_name.clone()
            },
            r.via_system_id.map(|id| format!("/systems/{id}")),
            false,
        ),
        item(tr.get("zone-field-purpose"), r.purpose.clone()),
    ];
    if r.retired {
        items.push(item(tr.get("flow-state"), tr.get("flow-retired")));
    }
    // A finding about a flow may be accepted by a 例外措置, recorded from the findings list.
    let findings_link = detail
        .findings
        .first()
        .filter(|_| ctx.actor.exception_recorder().is_some())
        .map(|f| {
            (
                format!("/compliance/findings?check={}", f.check_id),
                tr.get("flow-exception-link"),
            )
        });
    let retire = (detail.editable && !r.retired).then(|| RetireView {
        action: format!("/flows/{id}/retire"),
        value: String::new(),
        error: None,
    });
    let page = RecordPage {
        page: Page::new(
            tr,
            Some(&ctx.actor),
            &format!("/flows/{id}"),
            tr.args(
                "flow-title",
                &[("from", r.from_name.clone()), ("to", r.to_name.clone())],
            ),
        ),
        tr: tr.clone(),
        back: ("/flows".to_owned(), tr.get("flows-back")),
        edit_href: (detail.editable && !r.retired).then(|| format!("/flows/{id}/edit")),
        items,
        related: Vec::new(),
        findings: findings_view(tr, &detail.findings),
        findings_link,
        history: history_view(tr, &zones, &detail.history),
        retire,
        retire_dated: false,
        retire_intro: tr.get("flow-retire-intro"),
        retire_submit: tr.get("flow-retire-submit"),
        errors: errors.iter().map(|e| field_message(tr, e)).collect(),
    };
    render_checked(errors.is_empty(), &page)
}

pub async fn flow_show(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Response {
    flow_page(&state, &ctx, id, &[]).await
}

async fn flow_form(
    state: &AppState,
    ctx: &Ctx,
    action: String,
    title: String,
    input: &FlowInput,
    errors: &[FieldError],
) -> Response {
    let tr = &ctx.tr;
    if ctx.actor.system_editor().is_none() {
        return ctx.fail(AppError::Forbidden);
    }
    let (all, zones) = match (
        systems::choices(&state.app, ctx.actor.municipality_id).await,
        zones(state, ctx).await,
    ) {
        (Ok(a), Ok(z)) => (a, z),
        (Err(e), _) | (_, Err(e)) => return ctx.fail(e),
    };
    let option = |s: &mamori_app::mamori_store::entity::info_system::Model| {
        (
            s.id.to_string(),
            format!("{}（{}）", s.name, zone_name(tr, &zones, &s.zone)),
        )
    };
    let blank = || (String::new(), String::new());
    let systems: Vec<(String, String)> = std::iter::once(blank())
        .chain(all.iter().map(option))
        .collect();
    let sanitisers: Vec<(String, String)> = std::iter::once((String::new(), tr.get("asset-none")))
        .chain(all.iter().filter(|s| s.sanitiser).map(option))
        .collect();
    let protocols = PROTOCOLS
        .iter()
        .map(|p| ((*p).to_owned(), (*p).to_owned()))
        .collect();
    let fields = vec![
        Field::new(
            "from_system",
            tr.get("zone-field-from_system"),
            "select",
            input.from_system.clone(),
        )
        .options(systems.clone())
        .required()
        .hint(tr.get("hint-flow-from")),
        Field::new(
            "to_system",
            tr.get("zone-field-to_system"),
            "select",
            input.to_system.clone(),
        )
        .options(systems)
        .required(),
        Field::new(
            "protocol",
            tr.get("zone-field-protocol"),
            "select",
            input.protocol.clone(),
        )
        .options(protocols),
        Field::new(
            "ports",
            tr.get("zone-field-ports"),
            "text",
            input.ports.clone(),
        )
        .hint(tr.get("hint-flow-ports")),
        Field::new(
            "via_system",
            tr.get("zone-field-via_system"),
            "select",
            input.via_system.clone(),
        )
        .options(sanitisers)
        .hint(tr.get("hint-flow-via")),
        Field::new(
            "purpose",
            tr.get("zone-field-purpose"),
            "text",
            input.purpose.clone(),
        )
        .required(),
    ];
    let mut page = FormPage::new(
        Page::new(tr, Some(&ctx.actor), &ctx.path, title),
        &action,
        fields,
        tr.get("action-save"),
    )
    .with_errors(tr, errors);
    page.links.push(("/flows".to_owned(), tr.get("flows-back")));
    render_checked(errors.is_empty(), &page)
}

pub async fn flow_new(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    let input = FlowInput {
        protocol: "tcp".to_owned(),
        ..FlowInput::default()
    };
    flow_form(
        &state,
        &ctx,
        "/flows".to_owned(),
        ctx.tr.get("flows-new"),
        &input,
        &[],
    )
    .await
}

pub async fn flow_create(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Form(input): Form<FlowInput>,
) -> Response {
    let Some(editor) = ctx.actor.system_editor() else {
        return ctx.fail(AppError::Forbidden);
    };
    match flows::create(&state.app, &editor, &ctx.actor.audit_actor(), &input).await {
        Ok(id) => Redirect::to(&format!("/flows/{id}")).into_response(),
        Err(AppError::Invalid(errors)) => {
            flow_form(
                &state,
                &ctx,
                "/flows".to_owned(),
                ctx.tr.get("flows-new"),
                &input,
                &errors,
            )
            .await
        }
        Err(e) => ctx.fail(e),
    }
}

pub async fn flow_edit(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Response {
    let r = match flows::get(&state.app, &ctx.actor, id).await {
        Ok(d) if d.editable && !d.row.retired => d.row,
        Ok(_) => return ctx.fail(AppError::Forbidden),
        Err(e) => return ctx.fail(e),
    };
    let input = FlowInput {
        from_system: r.from_system_id.to_string(),
        to_system: r.to_system_id.to_string(),
        protocol: r.protocol.clone(),
        ports: r.ports.clone(),
        purpose: r.purpose.clone(),
        via_system: r.via_system_id.map(|i| i.to_string()).unwrap_or_default(),
    };
    flow_form(
        &state,
        &ctx,
        format!("/flows/{id}"),
        ctx.tr.get("flows-edit"),
        &input,
        &[],
    )
    .await
}

pub async fn flow_update(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(input): Form<FlowInput>,
) -> Response {
    let Some(editor) = ctx.actor.system_editor() else {
        return ctx.fail(AppError::Forbidden);
    };
    match flows::update(&state.app, &editor, &ctx.actor.audit_actor(), id, &input).await {
        Ok(()) => Redirect::to(&format!("/flows/{id}")).into_response(),
        Err(AppError::Invalid(errors)) => {
            flow_form(
                &state,
                &ctx,
                format!("/flows/{id}"),
                ctx.tr.get("flows-edit"),
                &input,
                &errors,
            )
            .await
        }
        Err(e) => ctx.fail(e),
    }
}

pub async fn flow_retire(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Response {
    let Some(editor) = ctx.actor.system_editor() else {
        return ctx.fail(AppError::Forbidden);
    };
    match flows::retire(&state.app, &editor, &ctx.actor.audit_actor(), id).await {
        Ok(()) => Redirect::to(&format!("/flows/{id}")).into_response(),
        Err(AppError::Invalid(errors)) => flow_page(&state, &ctx, id, &errors).await,
        Err(e) => ctx.fail(e),
    }
}
