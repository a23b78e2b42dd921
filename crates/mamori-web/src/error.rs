//! One error type for the web layer: an HTML page, or problem+json under /api. Never leaks internals: a
//! server error shows a request id that is also in the log.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::i18n::Tr;
use mamori_app::{AppError, FieldError};

/// A field error in the reader's language: "総務課: 必須です".
pub fn field_message(tr: &Tr, e: &FieldError) -> String {
    let args: Vec<(&str, String)> = e.args.iter().map(|(k, v)| (*k, v.clone())).collect();
    tr.args(e.key, &args)
}

/// Where a field error points, in words: "組織改正シート 12行目 操作" for a sheet row (`units:12:op`), else the
/// field name.
pub fn field_place(tr: &Tr, field: &str) -> String {
    let mut parts = field.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(sheet), Some(line), Some(column)) => tr.args(
            "row-where",
            &[
                ("sheet", tr.get(&format!("sheet-{sheet}"))),
                ("line", line.to_owned()),
                ("column", tr.get(&format!("col-{column}"))),
            ],
        ),
        _ => field.to_owned(),
    }
}

pub struct WebError {
    pub error: AppError,
    pub tr: Tr,
    pub api: bool,
}

impl WebError {
    pub fn new(error: AppError, tr: &Tr, api: bool) -> WebError {
        WebError {
            error,
            tr: tr.clone(),
            api,
        }
    }
}

fn request_id() -> String {
    hex::encode(rand::random::<[u8; 8]>())
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let tr = &self.tr;
        let (status, title, details): (StatusCode, String, Vec<String>) = match &self.error {
            AppError::Invalid(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                tr.get("error-invalid"),
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, field_message(tr, e)))
                    .collect(),
            ),
            AppError::NotFound => (StatusCode::NOT_FOUND, tr.get("error-not-found"), Vec::new()),
            AppError::Forbidden => (StatusCode::FORBIDDEN, tr.get("error-forbidden"), Vec::new()),
            AppError::Unauthenticated => {
                if self.api {
                    (
                        StatusCode::UNAUTHORIZED,
                        tr.get("error-unauthenticated"),
                        Vec::new(),
                    )
                } else {
                    return Redirect::to("/login").into_response();
                }
            }
            AppError::Store(_) | AppError::Internal(_) => {
                let id = request_id();
                tracing::error!(request_id = %id, "request failed: {}", self.error);
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    tr.with("error-internal", "id", &id),
                    Vec::new(),
                )
            }
        };
        if self.api {
            let body = serde_json::json!({
                "type": "about:blank",
                "title": title,
                "status": status.as_u16(),
                "errors": match &self.error {
                    AppError::Invalid(errors) => errors.iter().map(|e| serde_json::json!({
                        "field": e.field, "code": e.key, "message": field_message(tr, e),
                    })).collect::<Vec<_>>(),
                    _ => Vec::new(),
                },
            });
            return (
                status,
                [(header::CONTENT_TYPE, "application/problem+json")],
                body.to_string(),
            )
                .into_response();
        }
        let page = crate::page::MessagePage {
            page: crate::page::Page::new(tr, None, "/", title),
            paragraphs: details,
            secret_columns: Vec::new(),
            secrets: Vec::new(),
            links: vec![("/".to_owned(), tr.get("nav-home"))],
        };
        (status, crate::render(&page)).into_response()
    }
}
