//! Who is asking: the session cookie or Bearer token, resolved to an actor, and the gates a half-finished
//! sign-in must pass (second factor, enrolment, first password change) before any other page opens.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::error::WebError;
use crate::i18n::{Catalog, Lang, Tr};
use mamori_app::identity::{session, token};
use mamori_app::{Actor, App, AppError};

pub const SESSION_COOKIE: &str = "mamori_session";
pub const LANG_COOKIE: &str = "mamori_lang";

pub struct AppState {
    pub app: App,
    pub catalog: Arc<Catalog>,
    pub secure_cookies: bool,
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age: Option<i64>) -> String {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let age = max_age
        .map(|a| format!("; Max-Age={a}"))
        .unwrap_or_default();
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict{secure}{age}")
}

/// A visitor who may not be signed in (the sign-in pages).
pub struct Visitor {
    pub tr: Tr,
    pub session_token: Option<String>,
}

impl FromRequestParts<Arc<AppState>> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let lang = cookie(&parts.headers, LANG_COOKIE)
            .map(|l| Lang::parse(&l))
            .unwrap_or(Lang::Ja);
        Ok(Visitor {
            tr: Tr {
                catalog: state.catalog.clone(),
                lang,
            },
            session_token: cookie(&parts.headers, SESSION_COOKIE),
        })
    }
}

/// A signed-in person, past every gate that applies to the requested path.
pub struct Ctx {
    pub actor: Actor,
    pub tr: Tr,
    pub session_id: Option<i64>,
    pub path: String,
    pub api: bool,
}

impl Ctx {
    pub fn fail(&self, e: AppError) -> Response {
        WebError::new(e, &self.tr, self.api).into_response()
    }
}

/// Pages a person may reach while a gate is open.
fn allowed_while(gate: &str, path: &str) -> bool {
    match gate {
        "enrol" => path == "/mfa/enrol",
        "password" => path == "/password",
        _ => false,
    }
}

/// Whether this person must still enrol a second factor. The municipality's setting is read only when it can
/// change the answer (not yet enrolled, and not already obliged by role).
async fn must_enrol(state: &AppState, actor: &Actor) -> bool {
    !actor.mfa_enrolled
        && (actor.mfa_required(false) || mfa_for_everyone(state, actor.municipality_id).await)
}

async fn mfa_for_everyone(state: &AppState, municipality_id: i64) -> bool {
    mamori_app::settings::security(state.app.store().conn(), municipality_id)
        .await
        .is_ok_and(|s| s.mfa_for_everyone)
}

impl FromRequestParts<Arc<AppState>> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let path = parts.uri.path().to_owned();
        let api = path.starts_with("/api/");
        let cookie_lang = cookie(&parts.headers, LANG_COOKIE).map(|l| Lang::parse(&l));
        let header_lang = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .filter(|_| api)
            .map(Lang::parse);
        let mut tr = Tr {
            catalog: state.catalog.clone(),
            lang: cookie_lang.or(header_lang).unwrap_or(Lang::Ja),
        };
        let deny = |tr: &Tr, e: AppError| WebError::new(e, tr, api).into_response();

        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if let Some(token_text) = bearer {
            let actor = token::authenticate(&state.app, token_text)
                .await
                .map_err(|e| deny(&tr, e))?;
            let Some(actor) = actor else {
                return Err(deny(&tr, AppError::Unauthenticated));
            };
            if must_enrol(state, &actor).await || actor.must_change_password {
                return Err(deny(&tr, AppError::Forbidden));
            }
            return Ok(Ctx {
                actor,
                tr,
                session_id: None,
                path,
                api,
            });
        }

        let Some(token_text) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(deny(&tr, AppError::Unauthenticated));
        };
        let current = session::current(&state.app, &token_text)
            .await
            .map_err(|e| deny(&tr, e))?;
        let Some(current) = current else {
            return Err(deny(&tr, AppError::Unauthenticated));
        };
        tr.lang = Lang::parse(&current.lang);
        if current.stage == session::Stage::SecondFactor {
            return Err(if api {
                deny(&tr, AppError::Unauthenticated)
            } else {
                Redirect::to("/login/mfa").into_response()
            });
        }
        let actor = current.actor;
        let gate = if must_enrol(state, &actor).await {
            Some(("enrol", "/mfa/enrol"))
        } else if actor.must_change_password {
            Some(("password", "/password"))
        } else {
            None
        };
        if let Some((gate, target)) = gate
            && !allowed_while(gate, &path)
        {
            return Err(if api {
                deny(&tr, AppError::Forbidden)
            } else {
                Redirect::to(target).into_response()
            });
        }
        Ok(Ctx {
            actor,
            tr,
            session_id: Some(current.session_id),
            path,
            api,
        })
    }
}
