//! Administration: accounts, settings, and the audit trail.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};

use crate::ctx::{AppState, Ctx};
use crate::page::{
    Cell, Field, FormPage, MessagePage, Page, PostButton, TablePage, pagination, urlencode,
};
use crate::{render, render_checked};
use mamori_app::accounts::{self, AccountForm, AdminAction};
use mamori_app::audit::{self, AuditQuery};
use mamori_app::settings::{self, SecuritySettingsForm};
use mamori_app::{AppError, FieldError};

fn yes(tr: &crate::i18n::Tr, v: bool) -> String {
    if v { tr.get("yes") } else { String::new() }
}

pub async fn accounts(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    let Some(cap) = ctx.actor.account_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    let tr = &ctx.tr;
    let list = match accounts::list(&state.app, &cap).await {
        Ok(l) => l,
        Err(e) => return ctx.fail(e),
    };
    let rows = list
        .iter()
        .map(|a| {
            vec![
                Cell::link(a.login.clone(), format!("/accounts/{}", a.id)),
                Cell::text(a.display_name.clone()),
                Cell::text(yes(tr, a.system_admin)),
                Cell::text(yes(tr, a.outsider)),
                Cell::text(yes(tr, a.mfa)),
                Cell::text(tr.opt_date(&a.valid_until)),
                Cell::text(
                    [
                        (a.disabled, "account-disabled"),
                        (a.locked, "account-locked"),
                        (a.must_change_password, "account-initial"),
                    ]
                    .iter()
                    .filter(|(on, _)| *on)
                    .map(|(_, k)| tr.get(k))
                    .collect::<Vec<_>>()
                    .join(" "),
                ),
            ]
        })
        .collect();
    let mut page = TablePage::new(
        tr,
        Page::new(tr, Some(&ctx.actor), "/accounts", tr.get("accounts-title")),
        vec![
            tr.get("field-login"),
            tr.get("field-name"),
            tr.get("field-system-admin"),
            tr.get("field-outsider"),
            tr.get("field-mfa"),
            tr.get("field-valid-until"),
            tr.get("field-state"),
        ],
        rows,
    );
    page.actions = vec![
        ("/accounts/new".to_owned(), tr.get("accounts-new")),
        ("/accounts/bulk".to_owned(), tr.get("accounts-bulk")),
    ];
    render(&page)
}

fn account_fields(tr: &crate::i18n::Tr, f: &AccountForm) -> Vec<Field> {
    vec![
        Field::new("login", tr.get("field-login"), "text", f.login.clone())
            .required()
            .hint(tr.get("hint-login")),
        Field::new(
            "display_name",
            tr.get("field-name"),
            "text",
            f.display_name.clone(),
        ),
        Field::new("staff", tr.get("field-staff-no"), "text", f.staff.clone()),
        Field::new(
            "system_admin",
            tr.get("field-system-admin"),
            "checkbox",
            f.system_admin.clone().unwrap_or_default(),
        ),
        Field::new(
            "outsider",
            tr.get("field-outsider"),
            "checkbox",
            f.outsider.clone().unwrap_or_default(),
        ),
        Field::new(
            "scope_units",
            tr.get("field-scope-units"),
            "text",
            f.scope_units.clone(),
        )
        .hint(tr.get("hint-scope-units")),
        Field::new(
            "valid_from",
            tr.get("field-valid-from"),
            "text",
            f.valid_from.clone(),
        )
        .hint(tr.get("hint-date")),
        Field::new(
            "valid_until",
            tr.get("field-valid-until"),
            "text",
            f.valid_until.clone(),
        )
        .hint(tr.get("hint-date")),
    ]
}

fn account_form(ctx: &Ctx, f: &AccountForm, errors: &[FieldError]) -> Response {
    let tr = &ctx.tr;
    let page = FormPage::new(
        Page::new(
            tr,
            Some(&ctx.actor),
            "/accounts/new",
            tr.get("accounts-new"),
        ),
        "/accounts",
        account_fields(tr, f),
        tr.get("action-save"),
    )
    .with_errors(tr, errors);
    render_checked(errors.is_empty(), &page)
}

pub async fn new_account(ctx: Ctx) -> Response {
    if ctx.actor.account_admin().is_none() {
        return ctx.fail(AppError::Forbidden);
    }
    account_form(&ctx, &AccountForm::default(), &[])
}

fn initial_passwords(ctx: &Ctx, created: &[accounts::Created]) -> Response {
    let tr = &ctx.tr;
    render(&MessagePage {
        page: Page::new(tr, Some(&ctx.actor), "/accounts", tr.get("initial-title")),
        paragraphs: vec![tr.get("initial-intro")],
        secret_columns: vec![
            tr.get("field-login"),
            tr.get("field-name"),
            tr.get("field-initial-password"),
        ],
        secrets: created
            .iter()
            .map(|c| {
                vec![
                    c.login.clone(),
                    c.display_name.clone(),
                    c.initial_password.clone(),
                ]
            })
            .collect(),
        links: vec![("/accounts".to_owned(), tr.get("nav-accounts"))],
    })
}

pub async fn create_account(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Form(f): Form<AccountForm>,
) -> Response {
    let Some(cap) = ctx.actor.account_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    match accounts::create(&state.app, &cap, &ctx.actor.audit_actor(), &f, None).await {
        Ok(created) => initial_passwords(&ctx, &[created]),
        Err(AppError::Invalid(errors)) => account_form(&ctx, &f, &errors),
        Err(e) => ctx.fail(e),
    }
}

pub async fn bulk_form(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    if ctx.actor.account_admin().is_none() {
        return ctx.fail(AppError::Forbidden);
    }
    let tr = &ctx.tr;
    let units = match mamori_app::org::tree(&state.app, &ctx.actor, false).await {
        Ok(t) => t
            .into_iter()
            .map(|n| {
                (
                    n.unit.id.to_string(),
                    format!(
                        "{} {}",
                        n.unit.code,
                        if n.unit.path.is_empty() {
                            n.unit.name
                        } else {
                            n.unit.path
                        }
                    ),
                )
            })
            .collect(),
        Err(e) => return ctx.fail(e),
    };
    let mut page = FormPage::new(
        Page::new(
            tr,
            Some(&ctx.actor),
            "/accounts/bulk",
            tr.get("accounts-bulk"),
        ),
        "/accounts/bulk",
        vec![Field::new("unit", tr.get("field-unit-below"), "select", "").options(units)],
        tr.get("accounts-bulk-submit"),
    );
    page.intro = Some(tr.get("accounts-bulk-intro"));
    render(&page)
}

#[derive(serde::Deserialize)]
pub struct BulkForm {
    #[serde(default)]
    unit: String,
}

pub async fn bulk(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Form(f): Form<BulkForm>,
) -> Response {
    let Some(cap) = ctx.actor.account_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    let Ok(unit) = f.unit.parse::<i64>() else {
        return ctx.fail(AppError::field("unit", "err-unit-unknown"));
    };
    match accounts::bulk_create(&state.app, &cap, &ctx.actor.audit_actor(), unit).await {
        Ok(created) => initial_passwords(&ctx, &created),
        Err(e) => ctx.fail(e),
    }
}

pub async fn account(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Response {
    let Some(cap) = ctx.actor.account_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    let tr = &ctx.tr;
    let a = match accounts::get(&state.app, &cap, id).await {
        Ok(a) => a,
        Err(e) => return ctx.fail(e),
    };
    let rows = vec![
        vec![
            Cell::text(tr.get("field-login")),
            Cell::text(a.login.clone()),
        ],
        vec![
            Cell::text(tr.get("field-name")),
            Cell::text(a.display_name.clone()),
        ],
        vec![Cell::text(tr.get("field-mfa")), Cell::text(yes(tr, a.mfa))],
        vec![
            Cell::text(tr.get("field-valid-from")),
            Cell::text(tr.opt_date(&a.valid_from)),
        ],
        vec![
            Cell::text(tr.get("field-valid-until")),
            Cell::text(tr.opt_date(&a.valid_until)),
        ],
        vec![
            Cell::text(tr.get("field-state")),
            Cell::text(
                [
                    (a.disabled, "account-disabled"),
                    (a.locked, "account-locked"),
                ]
                .iter()
                .filter(|(o, _)| *o)
                .map(|(_, k)| tr.get(k))
                .collect::<Vec<_>>()
                .join(" "),
            ),
        ],
    ];
    let mut page = TablePage::new(
        tr,
        Page::new(tr, Some(&ctx.actor), &ctx.path, a.login.clone()),
        vec![String::new(), String::new()],
        rows,
    );
    page.actions.push((
        format!("/accounts/{id}/validity"),
        tr.get("account-validity"),
    ));
    let action = format!("/accounts/{id}/action");
    for (code, key) in [
        ("reset_mfa", "account-reset-mfa"),
        ("unlock", "account-unlock"),
        ("reset_password", "account-reset-password"),
        (
            if a.disabled { "enable" } else { "disable" },
            if a.disabled {
                "account-enable"
            } else {
                "account-disable"
            },
        ),
    ] {
        page.post_forms.push(PostButton {
            action: action.clone(),
            label: tr.get(key),
            hidden: vec![("action".to_owned(), code.to_owned())],
        });
    }
    render(&page)
}

#[derive(serde::Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    action: String,
}

pub async fn account_action(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<ActionForm>,
) -> Response {
    let Some(cap) = ctx.actor.account_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    let action = match f.action.as_str() {
        "reset_mfa" => AdminAction::ResetMfa,
        "unlock" => AdminAction::Unlock,
        "disable" => AdminAction::Disable,
        "enable" => AdminAction::Enable,
        "reset_password" => AdminAction::ResetPassword,
        _ => return ctx.fail(AppError::field("action", "err-choice")),
    };
    match accounts::act(&state.app, &cap, &ctx.actor.audit_actor(), id, action).await {
        Ok(Some(password)) => {
            let login = accounts::get(&state.app, &cap, id)
                .await
                .map(|a| (a.login, a.display_name))
                .unwrap_or_default();
            initial_passwords(
                &ctx,
                &[accounts::Created {
                    account_id: id,
                    login: login.0,
                    display_name: login.1,
                    initial_password: password,
                }],
            )
        }
        Ok(None) => Redirect::to(&format!("/accounts/{id}")).into_response(),
        Err(e) => ctx.fail(e),
    }
}

#[derive(serde::Deserialize, Default)]
pub struct ValidityForm {
    #[serde(default)]
    valid_from: String,
    #[serde(default)]
    valid_until: String,
}

fn validity_page(ctx: &Ctx, id: i64, f: &ValidityForm, errors: &[FieldError]) -> Response {
    let tr = &ctx.tr;
    let fields = vec![
        Field::new(
            "valid_from",
            tr.get("field-valid-from"),
            "text",
            f.valid_from.clone(),
        )
        .hint(tr.get("hint-date")),
        Field::new(
            "valid_until",
            tr.get("field-valid-until"),
            "text",
            f.valid_until.clone(),
        )
        .hint(tr.get("hint-date")),
    ];
    let action = format!("/accounts/{id}/validity");
    let page = FormPage::new(
        Page::new(tr, Some(&ctx.actor), &action, tr.get("account-validity")),
        &action,
        fields,
        tr.get("action-save"),
    )
    .with_errors(tr, errors);
    render_checked(errors.is_empty(), &page)
}

pub async fn validity_form(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Response {
    let Some(cap) = ctx.actor.account_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    match accounts::get(&state.app, &cap, id).await {
        Ok(a) => {
            let form = ValidityForm {
                valid_from: a.valid_from.map(|d| d.to_string()).unwrap_or_default(),
                valid_until: a.valid_until.map(|d| d.to_string()).unwrap_or_default(),
            };
            validity_page(&ctx, id, &form, &[])
        }
        Err(e) => ctx.fail(e),
    }
}

pub async fn account_validity(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<ValidityForm>,
) -> Response {
    let Some(cap) = ctx.actor.account_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    match accounts::set_validity(
        &state.app,
        &cap,
        &ctx.actor.audit_actor(),
        id,
        &f.valid_from,
        &f.valid_until,
    )
    .await
    {
        Ok(()) => Redirect::to(&format!("/accounts/{id}")).into_response(),
        Err(AppError::Invalid(errors)) => validity_page(&ctx, id, &f, &errors),
        Err(e) => ctx.fail(e),
    }
}

fn settings_page(ctx: &Ctx, s: &SecuritySettingsForm, errors: &[FieldError]) -> Response {
    let tr = &ctx.tr;
    let fields = vec![
        Field::new(
            "mfa_for_everyone",
            tr.get("field-mfa-everyone"),
            "checkbox",
            s.mfa_for_everyone.clone().unwrap_or_default(),
        ),
        Field::new(
            "lockout_threshold",
            tr.get("field-lockout-threshold"),
            "text",
            s.lockout_threshold.clone(),
        )
        .required(),
        Field::new(
            "lockout_minutes",
            tr.get("field-lockout-minutes"),
            "text",
            s.lockout_minutes.clone(),
        )
        .required(),
    ];
    let mut page = FormPage::new(
        Page::new(tr, Some(&ctx.actor), "/settings", tr.get("settings-title")),
        "/settings",
        fields,
        tr.get("action-save"),
    )
    .with_errors(tr, errors);
    page.links.push((
        "/settings/classification".to_owned(),
        tr.get("scheme-title"),
    ));
    render_checked(errors.is_empty(), &page)
}

#[derive(serde::Deserialize)]
pub struct SchemeForm {
    #[serde(default)]
    scheme: String,
}

async fn scheme_page(state: &AppState, ctx: &Ctx, errors: &[FieldError]) -> Response {
    let Some(cap) = ctx.actor.account_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    let tr = &ctx.tr;
    let lang = if tr.lang == crate::i18n::Lang::Ja {
        mamori_policy::Lang::Ja
    } else {
        mamori_policy::Lang::En
    };
    let current = match settings::classification_scheme(
        state.app.store().conn(),
        cap.municipality_id,
    )
    .await
    {
        Ok(c) => c,
        Err(e) => return ctx.fail(e),
    };
    let options = state
        .app
        .schemes()
        .iter()
        .map(|s| {
            (
                s.id().to_owned(),
                format!("{} ({})", s.name().get(lang), s.id()),
            )
        })
        .collect();
    let mut page = FormPage::new(
        Page::new(
            tr,
            Some(&ctx.actor),
            "/settings/classification",
            tr.get("scheme-title"),
        ),
        "/settings/classification",
        vec![Field::new("scheme", tr.get("field-scheme"), "select", current).options(options)],
        tr.get("action-save"),
    )
    .with_errors(tr, errors);
    page.intro = Some(tr.get("scheme-intro"));
    render_checked(errors.is_empty(), &page)
}

pub async fn scheme_form(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    scheme_page(&state, &ctx, &[]).await
}

pub async fn scheme(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Form(f): Form<SchemeForm>,
) -> Response {
    let Some(cap) = ctx.actor.account_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    match settings::set_classification_scheme(
        &state.app,
        &cap,
        &ctx.actor.audit_actor(),
        f.scheme.trim(),
    )
    .await
    {
        Ok(()) => Redirect::to("/settings/classification").into_response(),
        Err(AppError::Invalid(errors)) => scheme_page(&state, &ctx, &errors).await,
        Err(e) => ctx.fail(e),
    }
}

pub async fn settings_form(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    let Some(cap) = ctx.actor.account_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    match settings::security(state.app.store().conn(), cap.municipality_id).await {
        Ok(s) => settings_page(
            &ctx,
            &SecuritySettingsForm {
                mfa_for_everyone: s.mfa_for_everyone.then(|| "on".to_owned()),
                lockout_threshold: s.lockout_threshold.to_string(),
                lockout_minutes: s.lockout_minutes.to_string(),
            },
            &[],
        ),
        Err(e) => ctx.fail(e),
    }
}

pub async fn settings(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Form(f): Form<SecuritySettingsForm>,
) -> Response {
    let Some(cap) = ctx.actor.account_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    match settings::update_security(&state.app, &cap, &ctx.actor, &f).await {
        Ok(_) => Redirect::to("/settings").into_response(),
        Err(AppError::Invalid(errors)) => settings_page(&ctx, &f, &errors),
        Err(e) => ctx.fail(e),
    }
}

fn audit_query_string(q: &AuditQuery) -> String {
    [
        ("action", &q.action),
        ("actor", &q.actor),
        ("target_type", &q.target_type),
        ("target_id", &q.target_id),
        ("from", &q.from),
        ("to", &q.to),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("{k}={}", urlencode(v)))
    .collect::<Vec<_>>()
    .join("&")
}

pub async fn audit(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(q): Query<AuditQuery>,
) -> Response {
    let Some(cap) = ctx.actor.audit_reader() else {
        return ctx.fail(AppError::Forbidden);
    };
    let tr = &ctx.tr;
    let list = match audit::list(&state.app, &cap, &q).await {
        Ok(l) => l,
        Err(e) => return ctx.fail(e),
    };
    let rows = list
        .rows
        .iter()
        .map(|e| {
            vec![
                Cell::text(e.seq.to_string()),
                Cell::text(tr.time(&e.at)),
                Cell::text(e.actor.clone()),
                Cell::text(format!("{} ({})", e.action, e.action_code)),
                Cell::text(format!("{} {}", e.target_type, e.target_id)),
                Cell::text(e.summary.to_string()),
            ]
        })
        .collect();
    let mut page = TablePage::new(
        tr,
        Page::new(tr, Some(&ctx.actor), "/audit", tr.get("audit-title")),
        vec![
            "#".to_owned(),
            tr.get("audit-at"),
            tr.get("audit-actor"),
            tr.get("audit-action"),
            tr.get("audit-target"),
            tr.get("audit-summary"),
        ],
        rows,
    );
    page.filters = vec![
        Field::new("action", tr.get("audit-action"), "text", q.action.clone()),
        Field::new("actor", tr.get("audit-actor"), "text", q.actor.clone()),
        Field::new(
            "target_type",
            tr.get("audit-target-type"),
            "text",
            q.target_type.clone(),
        ),
        Field::new(
            "target_id",
            tr.get("audit-target-id"),
            "text",
            q.target_id.clone(),
        ),
        Field::new("from", tr.get("audit-from"), "text", q.from.clone()),
        Field::new("to", tr.get("audit-to"), "text", q.to.clone()),
    ];
    let qs = audit_query_string(&q);
    page.summary = Some(tr.with("list-count", "count", &list.total.to_string()));
    page.actions
        .push((format!("/audit/export.jsonl?{qs}"), tr.get("audit-export")));
    page.pages = pagination("/audit", &qs, list.page, list.per_page, list.total);
    render(&page)
}

pub async fn audit_export(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(q): Query<AuditQuery>,
) -> Response {
    let Some(cap) = ctx.actor.audit_reader() else {
        return ctx.fail(AppError::Forbidden);
    };
    match audit::export_jsonl(&state.app, &cap, &ctx.actor.audit_actor(), &q).await {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "application/x-ndjson; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"mamori-audit.jsonl\"",
                ),
            ],
            body,
        )
            .into_response(),
        Err(e) => ctx.fail(e),
    }
}
