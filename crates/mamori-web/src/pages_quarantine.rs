//! 2(16) 無害化通信 on the LGWAN side: what the mail relay held back for me (`/quarantine`), the requests to
//! decide (`/quarantine/requests`), and the relay's health (`/network/relay`). `mamori-app` asks the relay
//! and decides; this module renders. No page ever shows a byte of a held part: only its metadata.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use mamori_app::quarantine::{
    self, APPROVER_ROLES, Decision, Health, InboxMessage, RequestRow, RequestState, Unavailable,
};
use mamori_app::{AppError, FieldError};
use serde::Deserialize;

use crate::ctx::{AppState, Ctx};
use crate::error::field_message;
use crate::i18n::Tr;
use crate::page::Page;
use crate::{render, render_checked};

/// A size as staff read it: 512 B, 12.3 KB, 4.5 MB.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 3] = ["KB", "MB", "GB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

fn unavailable(tr: &Tr, u: &Unavailable) -> String {
    match u {
        Unavailable::NotConfigured => tr.get("relay-not-configured"),
        Unavailable::NoAddress => tr.get("quarantine-no-address"),
        Unavailable::Relay(why) => tr.with("relay-unreachable", "why", why),
    }
}

fn class_label(tr: &Tr, class: &str) -> String {
    tr.get(&format!("part-class-{class}"))
}

fn state_label(tr: &Tr, state: RequestState) -> String {
    tr.get(&format!("release-state-{}", state.code()))
}

/// A notice after a redirect (`?done=requested`), from a fixed list.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    state: Option<String>,
}

fn notice(tr: &Tr, done: Option<&str>) -> Option<String> {
    let key = match done? {
        "requested" => "quarantine-done-requested",
        "released" => "quarantine-done-released",
        "refused" => "quarantine-done-refused",
        "failed" => "quarantine-done-failed",
        "settings" => "quarantine-done-settings",
        _ => return None,
    };
    Some(tr.get(key))
}

// ---- my held mail ----

struct PartView {
    index: usize,
    file_name: String,
    class: String,
    sniffed_type: String,
    size: String,
    sha256: String,
    /// How it can be had: a sentence.
    rule: String,
    /// Whether a request form is shown.
    requestable: bool,
    /// (state code, label, detail) of the request made.
    request: Option<(String, String, String)>,
}

struct MessageView {
    id: String,
    received_at: String,
    from: String,
    subject: String,
    parts: Vec<PartView>,
}

#[derive(Template)]
#[template(path = "quarantine.html")]
struct InboxPage {
    page: Page,
    tr: Tr,
    errors: Vec<String>,
    unavailable: Option<String>,
    address: String,
    messages: Vec<MessageView>,
    approver: bool,
}

fn rule_sentence(tr: &Tr, rule: &str) -> String {
    tr.get(match rule {
        "on_request" => "release-rule-on-request",
        "on_approval" => "release-rule-on-approval",
        "never" => "release-rule-never",
        _ => "release-rule-not-convertible",
    })
}

fn message_view(tr: &Tr, m: &InboxMessage) -> MessageView {
    MessageView {
        id: m.id.clone(),
        received_at: tr.time(&m.received_at),
        from: m.from.clone(),
        subject: m
            .subject
            .clone()
            .unwrap_or_else(|| tr.get("quarantine-no-subject")),
        parts: m
            .parts
            .iter()
            .map(|p| {
                let request = p.request.as_ref().map(|r| {
                    let detail = match (&r.decision_note, &r.last_error) {
                        (_, Some(e)) if r.state == RequestState::Failed => e.clone(),
                        (Some(note), _) => note.clone(),
                        _ => String::new(),
                    };
                    (r.state.code().to_owned(), state_label(tr, r.state), detail)
                });
                part_view(tr, p, request)
            })
            .collect(),
    }
}

fn part_view(
    tr: &Tr,
    p: &quarantine::InboxPart,
    request: Option<(String, String, String)>,
) -> PartView {
    let rule = &p.part.release;
    let released = p.part.released_at.is_some();
    PartView {
        index: p.part.index,
        file_name: p
            .part
            .file_name
            .clone()
            .unwrap_or_else(|| tr.get("quarantine-no-file-name")),
        class: class_label(tr, &p.part.class),
        sniffed_type: p.part.sniffed_type.clone(),
        size: size(p.part.size),
        sha256: p.part.sha256.clone(),
        rule: if released {
            tr.get("release-rule-released")
        } else {
            rule_sentence(tr, rule)
        },
        requestable: request.is_none()
            && !released
            && matches!(rule.as_str(), "on_request" | "on_approval"),
        request,
    }
}

async fn inbox_page(
    state: &AppState,
    ctx: &Ctx,
    errors: &[FieldError],
    done: Option<&str>,
) -> Response {
    let Some(cap) = ctx.actor.mail_recipient() else {
        return ctx.fail(AppError::Forbidden);
    };
    let tr = &ctx.tr;
    let approver = match quarantine::approver(&state.app, &ctx.actor).await {
        Ok(a) => a.is_some(),
        Err(e) => return ctx.fail(e),
    };
    let (unavailable_text, address, messages) = match quarantine::inbox(&state.app, &cap).await {
        Ok(Ok((address, messages))) => (
            None,
            address,
            messages.iter().map(|m| message_view(tr, m)).collect(),
        ),
        Ok(Err(u)) => (Some(unavailable(tr, &u)), String::new(), Vec::new()),
        Err(e) => return ctx.fail(e),
    };
    let mut page = Page::new(
        tr,
        Some(&ctx.actor),
        "/quarantine",
        tr.get("quarantine-title"),
    );
    page.notice = notice(tr, done);
    render_checked(
        errors.is_empty(),
        &InboxPage {
            page,
            tr: tr.clone(),
            errors: errors.iter().map(|e| field_message(tr, e)).collect(),
            unavailable: unavailable_text,
            address,
            messages,
            approver,
        },
    )
}

pub async fn inbox(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(q): Query<Done>,
) -> Response {
    inbox_page(&state, &ctx, &[], q.done.as_deref()).await
}

#[derive(Debug, Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    reason: String,
}

pub async fn request(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path((id, index)): Path<(String, String)>,
    Form(form): Form<RequestForm>,
) -> Response {
    let Some(cap) = ctx.actor.mail_recipient() else {
        return ctx.fail(AppError::Forbidden);
    };
    let Ok(index) = index.parse::<usize>() else {
        return ctx.fail(AppError::NotFound);
    };
    match quarantine::request(
        &state.app,
        &cap,
        &ctx.actor.audit_actor(),
        &id,
        index,
        &form.reason,
    )
    .await
    {
        Ok(_) => Redirect::to("/quarantine?done=requested").into_response(),
        Err(AppError::Invalid(errors)) => inbox_page(&state, &ctx, &errors, None).await,
        Err(e) => ctx.fail(e),
    }
}

// ---- the requests to decide ----

struct RequestLine {
    id: i64,
    state: String,
    state_label: String,
    requested_at: String,
    requester: String,
    unit: String,
    reason: String,
    mail_from: String,
    subject: String,
    received_at: String,
    file_name: String,
    class: String,
    size: String,
    sha256: String,
    rule: String,
    decided: String,
    error: String,
    actionable: bool,
    /// Approving sends again (the relay did not confirm).
    resend: bool,
    own: bool,
}

#[derive(Template)]
#[template(path = "quarantine_requests.html")]
struct RequestsPage {
    page: Page,
    tr: Tr,
    errors: Vec<String>,
    states: Vec<(String, String)>,
    state: String,
    lines: Vec<RequestLine>,
    /// (role code, label, selected) when the person may name the approving role.
    roles: Vec<(String, String, bool)>,
    approver_role: String,
}

fn request_line(tr: &Tr, r: &RequestRow) -> RequestLine {
    let decided = match (&r.request.decided_by, &r.request.decided_at) {
        (Some(by), Some(at)) => format!("{by} {}", tr.time(at)),
        _ => String::new(),
    };
    RequestLine {
        id: r.request.id,
        state: r.request.state.code().to_owned(),
        state_label: state_label(tr, r.request.state),
        requested_at: tr.time(&r.request.requested_at),
        requester: format!("{} ({})", r.requester, r.requester_staff_no),
        unit: r.unit.clone(),
        reason: r.request.reason.clone(),
        mail_from: r.mail_from.clone().unwrap_or_default(),
        subject: r
            .subject
            .clone()
            .unwrap_or_else(|| tr.get("quarantine-no-subject")),
        received_at: tr.time(&r.received_at),
        file_name: r
            .file_name
            .clone()
            .unwrap_or_else(|| tr.get("quarantine-no-file-name")),
        class: class_label(tr, &r.class),
        size: size(u64::try_from(r.size).unwrap_or(0)),
        sha256: r.sha256.clone(),
        rule: rule_sentence(tr, &r.rule),
        decided,
        error: r.request.last_error.clone().unwrap_or_default(),
        actionable: r.actionable,
        resend: matches!(
            r.request.state,
            RequestState::Approved | RequestState::Failed
        ),
        own: r.own && r.request.state.open(),
    }
}

async fn requests_page(
    state: &AppState,
    ctx: &Ctx,
    filter: Option<&str>,
    errors: &[FieldError],
    done: Option<&str>,
) -> Response {
    let settings =
        match quarantine::settings(state.app.store().conn(), ctx.actor.municipality_id).await {
            Ok(s) => s,
            Err(e) => return ctx.fail(e),
        };
    let Some(cap) = ctx.actor.release_approver(settings.approver_role) else {
        return ctx.fail(AppError::Forbidden);
    };
    let tr = &ctx.tr;
    let wanted = filter.and_then(RequestState::parse);
    let rows = match quarantine::requests(&state.app, &cap, wanted).await {
        Ok(rows) => rows,
        Err(e) => return ctx.fail(e),
    };
    let roles = if ctx.actor.org_admin().is_some() {
        APPROVER_ROLES
            .iter()
            .map(|r| {
                (
                    r.code().to_owned(),
                    r.name(tr.lang.policy()).to_owned(),
                    *r == settings.approver_role,
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut states = vec![(String::new(), tr.get("release-state-open"))];
    states.extend(
        RequestState::ALL
            .iter()
            .map(|s| (s.code().to_owned(), state_label(tr, *s))),
    );
    let mut page = Page::new(
        tr,
        Some(&ctx.actor),
        "/quarantine/requests",
        tr.get("quarantine-requests-title"),
    );
    page.notice = notice(tr, done);
    render_checked(
        errors.is_empty(),
        &RequestsPage {
            page,
            tr: tr.clone(),
            errors: errors.iter().map(|e| field_message(tr, e)).collect(),
            states,
            state: wanted.map(|s| s.code().to_owned()).unwrap_or_default(),
            lines: rows.iter().map(|r| request_line(tr, r)).collect(),
            roles,
            approver_role: settings.approver_role.name(tr.lang.policy()).to_owned(),
        },
    )
}

pub async fn requests(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(q): Query<Done>,
) -> Response {
    requests_page(&state, &ctx, q.state.as_deref(), &[], q.done.as_deref()).await
}

#[derive(Debug, Deserialize)]
pub struct DecideForm {
    decision: String,
    #[serde(default)]
    note: String,
}

pub async fn decide(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<DecideForm>,
) -> Response {
    let cap = match quarantine::approver(&state.app, &ctx.actor).await {
        Ok(Some(cap)) => cap,
        Ok(None) => return ctx.fail(AppError::Forbidden),
        Err(e) => return ctx.fail(e),
    };
    let decision = match form.decision.as_str() {
        "approve" => Decision::Approve,
        "refuse" => Decision::Refuse,
        _ => {
            let errors = [FieldError::new("decision", "err-choice")];
            return requests_page(&state, &ctx, None, &errors, None).await;
        }
    };
    match quarantine::decide(&state.app, &cap, &ctx.actor, id, decision, &form.note).await {
        Ok(s) => Redirect::to(&format!("/quarantine/requests?done={}", s.code())).into_response(),
        Err(AppError::Invalid(errors)) => requests_page(&state, &ctx, None, &errors, None).await,
        Err(e) => ctx.fail(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    approver_role: String,
}

pub async fn update_settings(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Form(form): Form<SettingsForm>,
) -> Response {
    let Some(cap) = ctx.actor.org_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    match quarantine::update_settings(
        &state.app,
        &cap,
        &ctx.actor.audit_actor(),
        &form.approver_role,
    )
    .await
    {
        Ok(_) => Redirect::to("/quarantine/requests?done=settings").into_response(),
        Err(AppError::Invalid(errors)) => requests_page(&state, &ctx, None, &errors, None).await,
        Err(e) => ctx.fail(e),
    }
}

// ---- the relay's health ----

#[derive(Template)]
#[template(path = "relay.html")]
struct RelayPage {
    page: Page,
    tr: Tr,
    unavailable: Option<String>,
    /// (label, value, class)
    figures: Vec<(String, String, &'static str)>,
    /// (id, received, finished, from, to, reason)
    dead: Vec<[String; 6]>,
}

fn figures(tr: &Tr, h: &Health) -> Vec<(String, String, &'static str)> {
    let s = &h.status;
    let warn = |bad: bool| if bad { "state-open" } else { "" };
    vec![
        (tr.get("relay-address"), h.relay.clone(), ""),
        (tr.get("relay-queued"), s.queued.to_string(), ""),
        (
            tr.get("relay-oldest"),
            s.oldest_queued_at
                .as_ref()
                .map_or_else(|| "—".to_owned(), |at| tr.time(at)),
            "",
        ),
        (tr.get("relay-dead"), s.dead.to_string(), warn(s.dead > 0)),
        (tr.get("relay-held"), s.held.to_string(), ""),
        (
            tr.get("relay-received-hour"),
            s.received_last_hour.to_string(),
            "",
        ),
        (
            tr.get("relay-delivered-hour"),
            s.delivered_last_hour.to_string(),
            "",
        ),
        (
            tr.get("relay-delivered-day"),
            s.delivered_last_day.to_string(),
            "",
        ),
        (
            tr.get("relay-pending-requests"),
            h.pending_requests.to_string(),
            "",
        ),
    ]
}

pub async fn relay(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    let Some(cap) = ctx.actor.network_reader() else {
        return ctx.fail(AppError::Forbidden);
    };
    let tr = &ctx.tr;
    let (unavailable_text, figures, dead) = match quarantine::health(&state.app, &cap).await {
        Ok(Ok(h)) => (
            None,
            figures(tr, &h),
            h.status
                .dead_letters
                .iter()
                .map(|d| {
                    [
                        d.id.clone(),
                        tr.time(&d.received_at),
                        d.finished_at
                            .as_ref()
                            .map(|at| tr.time(at))
                            .unwrap_or_default(),
                        d.mail_from.clone(),
                        d.rcpt_to.join(", "),
                        d.reason.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
        ),
        Ok(Err(u)) => (Some(unavailable(tr, &u)), Vec::new(), Vec::new()),
        Err(e) => return ctx.fail(e),
    };
    render(&RelayPage {
        page: Page::new(
            tr,
            Some(&ctx.actor),
            "/network/relay",
            tr.get("relay-title"),
        ),
        tr: tr.clone(),
        unavailable: unavailable_text,
        figures,
        dead,
    })
}

#[cfg(test)]
mod tests {
    use super::size;

    #[test]
    fn sizes_read_as_staff_expect() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1024), "1.0 KB");
        assert_eq!(size(12_600), "12.3 KB");
        assert_eq!(size(5 * 1024 * 1024), "5.0 MB");
        assert_eq!(size(3 * 1024 * 1024 * 1024), "3.0 GB");
    }
}
