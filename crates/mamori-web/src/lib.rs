//! The web layer: HTML pages and the /api/v1 JSON API. It only translates: it parses requests, asks
//! `mamori-app` (which decides access and does the work), and renders what comes back.

mod api;
mod chart;
pub mod ctx;
mod error;
pub mod i18n;
mod openapi;
mod page;
mod pages_admin;
mod pages_assets;
mod pages_auth;
mod pages_changes;
mod pages_compliance;
mod pages_network;
mod pages_org;
mod pages_quarantine;
mod pages_zones;
mod security;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

pub use ctx::AppState;
use i18n::Catalog;
use mamori_app::App;

/// Renders a template; a template error (which askama's compile-time checks make unlikely) is a 500.
pub(crate) fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!("template failed: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

/// Renders a page that may show the problems of its request: 200 without any, 422 with some.
pub(crate) fn render_checked(fine: bool, t: &impl Template) -> Response {
    let status = if fine {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (status, render(t)).into_response()
}

/// Options of the web layer.
#[derive(Debug, Clone, Default)]
pub struct WebOptions {
    /// Mark cookies Secure (when served behind TLS).
    pub secure_cookies: bool,
}

pub fn router(app: App, options: WebOptions) -> Result<Router, String> {
    let state = AppState {
        app,
        catalog: Catalog::load()?,
        secure_cookies: options.secure_cookies,
    };
    Ok(routes()
        .with_state(Arc::new(state))
        .layer(axum::middleware::from_fn(security::same_origin))
        .layer(axum::middleware::from_fn(security::headers)))
}

/// Every route, in one place (the access-control test walks this list).
fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/static/mamori.css", get(stylesheet))
        .route("/", get(pages_auth::home))
        .route(
            "/login",
            get(pages_auth::login_form).post(pages_auth::login),
        )
        .route(
            "/login/mfa",
            get(pages_auth::mfa_form).post(pages_auth::mfa),
        )
        .route("/logout", post(pages_auth::logout))
        .route("/logout/all", post(pages_auth::logout_all))
        .route("/lang", post(pages_auth::switch_lang))
        .route(
            "/mfa/enrol",
            get(pages_auth::enrol_form).post(pages_auth::enrol),
        )
        .route(
            "/password",
            get(pages_auth::password_form).post(pages_auth::password),
        )
        .route("/me", get(pages_auth::me))
        .route("/me/tokens", post(pages_auth::create_token))
        .route("/me/tokens/{id}/revoke", post(pages_auth::revoke_token))
        .route("/org", get(pages_org::tree))
        .route("/org/units/new", get(pages_org::new_unit))
        .route("/org/units", post(pages_org::create_unit))
        .route(
            "/org/units/{id}",
            get(pages_org::unit).post(pages_org::update_unit),
        )
        .route(
            "/facilities",
            get(pages_org::facilities).post(pages_org::create_facility),
        )
        .route("/facilities/new", get(pages_org::new_facility))
        .route(
            "/facilities/{id}",
            get(pages_org::facility).post(pages_org::update_facility),
        )
        .route(
            "/staff",
            get(pages_org::staff_list).post(pages_org::create_staff),
        )
        .route("/staff/new", get(pages_org::new_staff))
        .route(
            "/staff/kinds",
            get(pages_org::kinds).post(pages_org::add_kind),
        )
        .route(
            "/staff/{id}",
            get(pages_org::staff).post(pages_org::update_staff),
        )
        .route(
            "/assets",
            get(pages_assets::list).post(pages_assets::create),
        )
        .route("/assets/new", get(pages_assets::new))
        .route("/assets/export", get(pages_assets::export))
        .route(
            "/assets/import",
            get(pages_assets::import_form).post(pages_assets::import),
        )
        .route(
            "/assets/{id}",
            get(pages_assets::show).post(pages_assets::update),
        )
        .route("/assets/{id}/edit", get(pages_assets::edit))
        .route("/assets/{id}/retire", post(pages_assets::retire))
        .route(
            "/systems",
            get(pages_zones::system_list).post(pages_zones::system_create),
        )
        .route("/systems/new", get(pages_zones::system_new))
        .route(
            "/systems/{id}",
            get(pages_zones::system_show).post(pages_zones::system_update),
        )
        .route("/systems/{id}/edit", get(pages_zones::system_edit))
        .route("/systems/{id}/retire", post(pages_zones::system_retire))
        .route(
            "/flows",
            get(pages_zones::flow_list).post(pages_zones::flow_create),
        )
        .route("/flows/new", get(pages_zones::flow_new))
        .route(
            "/flows/{id}",
            get(pages_zones::flow_show).post(pages_zones::flow_update),
        )
        .route("/flows/{id}/edit", get(pages_zones::flow_edit))
        .route("/flows/{id}/retire", post(pages_zones::flow_retire))
        .route("/network", get(pages_network::overview))
        .route("/network/map", post(pages_network::upload_map))
        .route("/network/configs", post(pages_network::upload_config))
        .route("/network/run", post(pages_network::run))
        .route("/network/segments", get(pages_network::segments))
        .route("/network/runs", get(pages_network::runs))
        .route("/network/runs/{id}", get(pages_network::run_show))
        .route("/network/relay", get(pages_quarantine::relay))
        .route("/quarantine", get(pages_quarantine::inbox))
        .route(
            "/quarantine/{id}/parts/{index}/request",
            post(pages_quarantine::request),
        )
        .route("/quarantine/requests", get(pages_quarantine::requests))
        .route(
            "/quarantine/requests/{id}/decide",
            post(pages_quarantine::decide),
        )
        .route(
            "/quarantine/settings",
            post(pages_quarantine::update_settings),
        )
        .route("/compliance", get(pages_compliance::overview))
        .route("/compliance/findings", get(pages_compliance::findings))
        .route("/compliance/findings/export", get(pages_compliance::export))
        .route(
            "/compliance/exceptions",
            get(pages_compliance::exceptions).post(pages_compliance::create_exception),
        )
        .route(
            "/compliance/exceptions/new",
            get(pages_compliance::new_exception),
        )
        .route(
            "/compliance/exceptions/{id}",
            get(pages_compliance::exception),
        )
        .route(
            "/compliance/exceptions/{id}/revoke",
            post(pages_compliance::revoke_exception),
        )
        .route("/policy", get(pages_compliance::policy_versions))
        .route(
            "/policy/import",
            get(pages_compliance::policy_import_form).post(pages_compliance::policy_import),
        )
        .route("/policy/diff", get(pages_compliance::policy_diff))
        .route("/policy/{id}", get(pages_compliance::policy_version))
        .route("/roles", get(pages_org::roles).post(pages_org::assign_role))
        .route("/roles/new", get(pages_org::new_role))
        .route("/roles/{id}/end", post(pages_org::end_role))
        .route(
            "/accounts",
            get(pages_admin::accounts).post(pages_admin::create_account),
        )
        .route("/accounts/new", get(pages_admin::new_account))
        .route(
            "/accounts/bulk",
            get(pages_admin::bulk_form).post(pages_admin::bulk),
        )
        .route("/accounts/{id}", get(pages_admin::account))
        .route("/accounts/{id}/action", post(pages_admin::account_action))
        .route(
            "/accounts/{id}/validity",
            get(pages_admin::validity_form).post(pages_admin::account_validity),
        )
        .route(
            "/changes",
            get(pages_changes::list).post(pages_changes::upload),
        )
        .route("/changes/new", get(pages_changes::new))
        .route("/changes/{id}", get(pages_changes::show))
        .route("/changes/{id}/apply", post(pages_changes::apply))
        .route("/changes/{id}/schedule", post(pages_changes::schedule))
        .route("/changes/{id}/cancel", post(pages_changes::cancel))
        .route(
            "/settings",
            get(pages_admin::settings_form).post(pages_admin::settings),
        )
        .route(
            "/settings/classification",
            get(pages_admin::scheme_form).post(pages_admin::scheme),
        )
        .route("/audit", get(pages_admin::audit))
        .route("/audit/export.jsonl", get(pages_admin::audit_export))
        .merge(api::routes())
        .layer(axum::extract::DefaultBodyLimit::max(
            pages_changes::MAX_UPLOAD_BYTES,
        ))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/mamori.css"),
    )
        .into_response()
}
