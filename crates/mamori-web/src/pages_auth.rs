//! Signing in and out, the second factor, the password, the language, and one's own page and tokens.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};

use crate::ctx::{AppState, Ctx, LANG_COOKIE, SESSION_COOKIE, Visitor, set_cookie};
use crate::i18n::{Lang, Tr};
use crate::page::{Cell, Field, FormPage, MessagePage, Page, PostButton, TablePage};
use crate::render;
use mamori_app::identity::{session, signin, token};
use mamori_app::{AppError, FieldError};

/// The start page is the organisation; asking for it still requires a signed-in person.
pub async fn home(_signed_in: Ctx) -> Response {
    Redirect::to("/org").into_response()
}

fn login_page(tr: &Tr, login: &str, error: Option<String>) -> FormPage {
    let mut form = FormPage::new(
        Page::new(tr, None, "/login", tr.get("login-title")),
        "/login",
        vec![
            Field::new("login", tr.get("field-login"), "text", login).required(),
            Field::new("password", tr.get("field-password"), "password", "").required(),
        ],
        tr.get("login-submit"),
    );
    form.errors = error.into_iter().collect();
    form
}

pub async fn login_form(v: Visitor) -> Response {
    render(&login_page(&v.tr, "", None))
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

fn with_session_cookie(state: &AppState, token: &str, target: &str) -> Response {
    (
        [(
            header::SET_COOKIE,
            set_cookie(state, SESSION_COOKIE, token, None),
        )],
        Redirect::to(target),
    )
        .into_response()
}

pub async fn login(
    State(state): State<Arc<AppState>>,
    v: Visitor,
    Form(f): Form<LoginForm>,
) -> Response {
    let tr = &v.tr;
    if f.login.len() > 256 || f.password.len() > 1024 {
        return render(&login_page(tr, "", Some(tr.get("login-failed"))));
    }
    match signin::sign_in(&state.app, &f.login, &f.password, tr.lang.code()).await {
        Ok(signin::SignIn::Session { token, stage }) => {
            let target = if stage == session::Stage::SecondFactor {
                "/login/mfa"
            } else {
                "/"
            };
            with_session_cookie(&state, &token, target)
        }
        Ok(signin::SignIn::Refused) => {
            let mut page = login_page(tr, &f.login, Some(tr.get("login-failed")));
            page.page.title = tr.get("login-title");
            (axum::http::StatusCode::UNAUTHORIZED, render(&page)).into_response()
        }
        Err(e) => crate::error::WebError::new(e, tr, false).into_response(),
    }
}

fn mfa_page(tr: &Tr, error: Option<String>) -> FormPage {
    let mut form = FormPage::new(
        Page::new(tr, None, "/login/mfa", tr.get("mfa-title")),
        "/login/mfa",
        vec![
            Field::new("totp", tr.get("field-totp"), "text", "")
                .required()
                .hint(tr.get("mfa-hint")),
        ],
        tr.get("mfa-submit"),
    );
    form.errors = error.into_iter().collect();
    form
}

pub async fn mfa_form(v: Visitor) -> Response {
    if v.session_token.is_none() {
        return Redirect::to("/login").into_response();
    }
    render(&mfa_page(&v.tr, None))
}

#[derive(serde::Deserialize)]
pub struct MfaForm {
    #[serde(default)]
    totp: String,
}

pub async fn mfa(
    State(state): State<Arc<AppState>>,
    v: Visitor,
    Form(f): Form<MfaForm>,
) -> Response {
    let Some(token) = v.session_token.as_deref() else {
        return Redirect::to("/login").into_response();
    };
    match signin::second_factor(
        &state.app,
        token,
        &f.totp.chars().take(64).collect::<String>(),
    )
    .await
    {
        Ok(signin::SignIn::Session { token, .. }) => with_session_cookie(&state, &token, "/"),
        Ok(signin::SignIn::Refused) => (
            axum::http::StatusCode::UNAUTHORIZED,
            render(&mfa_page(&v.tr, Some(v.tr.get("mfa-failed")))),
        )
            .into_response(),
        Err(e) => crate::error::WebError::new(e, &v.tr, false).into_response(),
    }
}

fn clear_session(state: &AppState) -> [(header::HeaderName, String); 1] {
    [(
        header::SET_COOKIE,
        set_cookie(state, SESSION_COOKIE, "", Some(0)),
    )]
}

pub async fn logout(State(state): State<Arc<AppState>>, v: Visitor) -> Response {
    if let Some(token) = v.session_token.as_deref()
        && let Ok(Some(current)) = session::current(&state.app, token).await
        && let Err(e) = signin::sign_out(&state.app, &current).await
    {
        return crate::error::WebError::new(e, &v.tr, false).into_response();
    }
    (clear_session(&state), Redirect::to("/login")).into_response()
}

pub async fn logout_all(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    match signin::sign_out_everywhere(&state.app, &ctx.actor).await {
        Ok(_) => (clear_session(&state), Redirect::to("/login")).into_response(),
        Err(e) => ctx.fail(e),
    }
}

#[derive(serde::Deserialize)]
pub struct LangForm {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    back: String,
}

pub async fn switch_lang(
    State(state): State<Arc<AppState>>,
    v: Visitor,
    Form(f): Form<LangForm>,
) -> Response {
    let lang = Lang::parse(&f.lang);
    if let Some(token) = v.session_token.as_deref()
        && let Ok(Some(current)) = session::current(&state.app, token).await
    {
        let _ = session::set_lang(&state.app, current.session_id, lang.code()).await;
    }
    // Only a local path: never an open redirect.
    let back = if f.back.starts_with('/') && !f.back.starts_with("//") && !f.back.contains('\\') {
        f.back
    } else {
        "/".to_owned()
    };
    (
        [(
            header::SET_COOKIE,
            set_cookie(&state, LANG_COOKIE, lang.code(), Some(31_536_000)),
        )],
        Redirect::to(&back),
    )
        .into_response()
}

pub async fn enrol_form(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    enrol_page(&state, &ctx, Vec::new()).await
}

async fn enrol_page(state: &AppState, ctx: &Ctx, errors: Vec<FieldError>) -> Response {
    let tr = &ctx.tr;
    let enrolment = match signin::begin_enrolment(&state.app, &ctx.actor).await {
        Ok(e) => e,
        Err(e) => return ctx.fail(e),
    };
    let mut form = FormPage::new(
        Page::new(tr, Some(&ctx.actor), "/mfa/enrol", tr.get("enrol-title")),
        "/mfa/enrol",
        vec![Field::new("totp", tr.get("field-totp"), "text", "").required()],
        tr.get("enrol-submit"),
    )
    .with_errors(tr, &errors);
    form.intro = Some(tr.get("enrol-intro"));
    form.qr_svg = Some(enrolment.qr_svg);
    form.secret = Some(enrolment.secret);
    form.secret_label = tr.get("enrol-key");
    form.page.nav.clear();
    render(&form)
}

pub async fn enrol(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Form(f): Form<MfaForm>,
) -> Response {
    let tr = &ctx.tr;
    match signin::confirm_enrolment(&state.app, &ctx.actor, &f.totp).await {
        Ok(codes) => render(&MessagePage {
            page: Page::new(tr, Some(&ctx.actor), "/mfa/enrol", tr.get("recovery-title")),
            paragraphs: vec![tr.get("recovery-intro")],
            secret_columns: vec![tr.get("recovery-code")],
            secrets: codes.into_iter().map(|c| vec![c]).collect(),
            links: vec![("/".to_owned(), tr.get("nav-continue"))],
        }),
        Err(AppError::Invalid(errors)) => {
            // The pending secret stays; show the same QR code again rather than a new one.
            let mut form = FormPage::new(
                Page::new(tr, Some(&ctx.actor), "/mfa/enrol", tr.get("enrol-title")),
                "/mfa/enrol",
                vec![Field::new("totp", tr.get("field-totp"), "text", "").required()],
                tr.get("enrol-submit"),
            )
            .with_errors(tr, &errors);
            form.links
                .push(("/mfa/enrol".to_owned(), tr.get("enrol-restart")));
            (axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&form)).into_response()
        }
        Err(e) => ctx.fail(e),
    }
}

fn password_page(tr: &Tr, ctx: &Ctx, errors: &[FieldError]) -> FormPage {
    let mut form = FormPage::new(
        Page::new(tr, Some(&ctx.actor), "/password", tr.get("password-title")),
        "/password",
        vec![
            Field::new(
                "current_password",
                tr.get("field-current-password"),
                "password",
                "",
            )
            .required(),
            Field::new("new_password", tr.get("field-new-password"), "password", "")
                .required()
                .hint(tr.with(
                    "password-rules",
                    "min",
                    &mamori_app::identity::password::MIN_LEN.to_string(),
                )),
            Field::new(
                "confirm_password",
                tr.get("field-confirm-password"),
                "password",
                "",
            )
            .required(),
        ],
        tr.get("action-save"),
    )
    .with_errors(tr, errors);
    if ctx.actor.must_change_password {
        form.intro = Some(tr.get("password-first"));
        form.page.nav.clear();
    }
    form
}

pub async fn password_form(ctx: Ctx) -> Response {
    render(&password_page(&ctx.tr, &ctx, &[]))
}

#[derive(serde::Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

pub async fn password(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Form(f): Form<PasswordForm>,
) -> Response {
    let Some(session_id) = ctx.session_id else {
        return ctx.fail(AppError::Forbidden);
    };
    let current = session::Current {
        session_id,
        stage: session::Stage::Full,
        lang: ctx.tr.lang.code().to_owned(),
        actor: ctx.actor.clone(),
    };
    match signin::change_password(
        &state.app,
        &current,
        &f.current_password,
        &f.new_password,
        &f.confirm_password,
    )
    .await
    {
        Ok(()) => Redirect::to("/me?changed=1").into_response(),
        Err(AppError::Invalid(errors)) => (
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            render(&password_page(&ctx.tr, &ctx, &errors)),
        )
            .into_response(),
        Err(e) => ctx.fail(e),
    }
}

#[derive(serde::Deserialize, Default)]
pub struct MeQuery {
    #[serde(default)]
    changed: Option<String>,
}

pub async fn me(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    q: axum::extract::Query<MeQuery>,
) -> Response {
    let tr = &ctx.tr;
    let tokens = match token::list(&state.app, ctx.actor.account_id).await {
        Ok(t) => t,
        Err(e) => return ctx.fail(e),
    };
    let mut page = Page::new(tr, Some(&ctx.actor), "/me", tr.get("me-title"));
    if q.changed.is_some() {
        page.notice = Some(tr.get("password-changed"));
    }
    let rows = tokens
        .iter()
        .map(|t| {
            vec![
                Cell::text(t.name.clone()),
                Cell::text(format!("{}…", t.prefix)),
                Cell::text(tr.time(&t.created_at)),
                Cell::text(
                    t.last_used_at
                        .as_ref()
                        .map(|d| tr.time(d))
                        .unwrap_or_default(),
                ),
                Cell::text(tr.opt_date(&t.expires_on)),
                Cell::text(if t.revoked {
                    tr.get("token-revoked")
                } else {
                    String::new()
                }),
            ]
        })
        .collect();
    let mut table = TablePage::new(
        tr,
        page,
        vec![
            tr.get("field-name"),
            tr.get("token-prefix"),
            tr.get("field-created"),
            tr.get("token-last-used"),
            tr.get("field-expires"),
            tr.get("field-state"),
        ],
        rows,
    );
    let roles: Vec<String> = ctx
        .actor
        .roles
        .iter()
        .map(|r| tr.get(&format!("role-{}", r.role.code())))
        .collect();
    table.summary = Some(tr.args(
        "me-summary",
        &[
            ("login", ctx.actor.login.clone()),
            (
                "roles",
                if roles.is_empty() {
                    tr.get("me-no-roles")
                } else {
                    roles.join("、")
                },
            ),
        ],
    ));
    table.actions = vec![("/password".to_owned(), tr.get("password-title"))];
    table.post_forms = tokens
        .iter()
        .filter(|t| !t.revoked)
        .map(|t| PostButton {
            action: format!("/me/tokens/{}/revoke", t.id),
            label: tr.with("token-revoke", "name", &t.name),
            hidden: Vec::new(),
        })
        .collect();
    table.post_forms.push(PostButton {
        action: "/me/tokens".to_owned(),
        label: tr.get("token-create"),
        hidden: vec![("name".to_owned(), "web".to_owned())],
    });
    table.post_forms.push(PostButton {
        action: "/logout/all".to_owned(),
        label: tr.get("logout-all"),
        hidden: Vec::new(),
    });
    render(&table)
}

#[derive(serde::Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    expires_on: String,
}

pub async fn create_token(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Form(f): Form<TokenForm>,
) -> Response {
    let tr = &ctx.tr;
    let expires = match mamori_app::optional_date(&f.expires_on) {
        Ok(d) => d,
        Err(e) => return ctx.fail(AppError::Invalid(vec![e])),
    };
    match token::create(
        &state.app,
        ctx.actor.account_id,
        &ctx.actor.audit_actor(),
        &f.name,
        expires,
    )
    .await
    {
        Ok(secret) => render(&MessagePage {
            page: Page::new(tr, Some(&ctx.actor), "/me", tr.get("token-created")),
            paragraphs: vec![tr.get("token-once")],
            secret_columns: vec![tr.get("token-title")],
            secrets: vec![vec![secret]],
            links: vec![("/me".to_owned(), tr.get("nav-me"))],
        }),
        Err(e) => ctx.fail(e),
    }
}

pub async fn revoke_token(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Response {
    match token::revoke(&state.app, &ctx.actor, id).await {
        Ok(()) => Redirect::to("/me").into_response(),
        Err(e) => ctx.fail(e),
    }
}
