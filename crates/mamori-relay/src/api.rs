//! The relay's small authenticated API: the one service through which the LGWAN-side Mamori sees the
//! quarantine's metadata and asks for releases. Raw originals never leave the relay through it; a release is
//! a new message with the converted form (text, or an image re-encoded as PNG) delivered by the normal worker.
//!
//! - `GET /v1/held?recipient=ADDR`: held mail for a recipient, newest first, at most 200 (metadata only).
//! - `GET /v1/held/{id}[?recipient=ADDR]`: one held message (404 when unknown, purged, or not received by
//!   the recipient given).
//! - `POST /v1/held/{id}/parts/{index}/release` with `{"recipient", "approved_by", "reason"}`: converts the
//!   part (text to clean text, an image to a new PNG) and spools a new message to that recipient;
//!   `{"queued_as": ID}`. Idempotent per part and recipient. An image that does not decode or is over a
//!   limit is refused with `422` (`image_invalid`, `image_too_large`) and stays in the quarantine.
//! - `GET /v1/status`: the relay's health for the operations page — queue, dead letters (the newest 50,
//!   without subjects), held mail, throughput.
//!
//! The listener has limits on connections, on the time to send and to handle a request, and on a
//! connection's life ([`crate::http_guard`]); every answer closes its connection.
//!
//! Every request carries `Authorization: Bearer TOKEN` (the token in `--api-token-file`, compared in constant
//! time); anything else is `401` with no detail. The log names request ids, paths and statuses only.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context as _, bail};
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, watch};

use crate::db::{DeadLetter, Held, HeldPart, Release, Status};
use crate::http_guard::{self, ApiLimits};
use crate::reencode::ImageLimits;
use crate::release::{self, Class, NotConverted, Origin, ReleasePolicy, Rule};
use crate::smtp::server::{Inbound, enqueue};
use crate::spool::{Envelope, Kind, SpoolId};

/// Messages listed at most by `GET /v1/held`.
pub const MAX_LISTED: u32 = 200;

/// The API's settings (`--api-listen`, `--api-token-file`, `--release-policy`).
#[derive(Clone)]
pub struct ApiConfig {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: String,
    /// The bearer token (at least 32 characters).
    pub token: String,
    pub policy: ReleasePolicy,
    /// Largest part converted, in bytes of the original part.
    pub max_convert: usize,
    /// TLS for the API (`--api-tls-cert`, `--api-tls-key`): the token and the metadata cross the link to the
    /// LGWAN segment encrypted, and Mamori checks the relay's certificate.
    pub tls: Option<crate::tls::Acceptor>,
}

impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("listen", &self.listen)
            .field("token", &"..")
            .field("policy", &self.policy)
            .field("max_convert", &self.max_convert)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// The default limit on what is converted: 5 MiB.
pub const DEFAULT_MAX_CONVERT: usize = 5 * 1024 * 1024;

/// The shortest token accepted.
pub const MIN_TOKEN_CHARS: usize = 32;

/// Reads the token file: not readable by group or others, at least 32 visible ASCII characters (surrounding
/// blanks and the final newline are ignored).
pub fn load_token(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the API token file {}", path.display()))?;
    check_private(path)?;
    let token = text.trim();
    if token.chars().count() < MIN_TOKEN_CHARS {
        bail!(
            "the API token in {} is shorter than {MIN_TOKEN_CHARS} characters",
            path.display()
        );
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        bail!(
            "the API token in {} must be visible ASCII characters only",
            path.display()
        );
    }
    Ok(token.to_owned())
}

#[cfg(unix)]
fn check_private(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        bail!(
            "the API token file {} is readable by others (mode {:o}); chmod 600 it",
            path.display(),
            mode & 0o777
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

/// Where the settings come from on the command line.
pub fn config_from_files(
    listen: String,
    token_file: &Path,
    policy_file: Option<&PathBuf>,
    tls: Option<crate::tls::Acceptor>,
) -> anyhow::Result<ApiConfig> {
    Ok(ApiConfig {
        tls,
        listen,
        token: load_token(token_file)?,
        policy: match policy_file {
            Some(path) => ReleasePolicy::load(path)?,
            None => ReleasePolicy::default(),
        },
        max_convert: DEFAULT_MAX_CONVERT,
    })
}

struct ApiState {
    inbound: Arc<Inbound>,
    /// SHA-256 of the token: compared in constant time with that of the presented one (equal lengths).
    token_digest: [u8; 32],
    policy: ReleasePolicy,
    max_convert: usize,
    image_limits: ImageLimits,
    /// The relay's own address, sender of released parts.
    from_address: String,
    /// One release at a time (idempotency without races).
    releasing: Mutex<()>,
    requests: AtomicU64,
}

/// Binds the API's listener (so a bad address fails the start).
pub async fn bind(config: &ApiConfig) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {} (--api-listen)", config.listen))?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// Serves the API under `limits` ([`crate::http_guard`]) until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    config: ApiConfig,
    limits: ApiLimits,
    inbound: Arc<Inbound>,
    mut shutdown: watch::Receiver<bool>,
) {
    let state = Arc::new(ApiState {
        from_address: format!("mamori-relay@{}", inbound.hostname),
        inbound,
        token_digest: Sha256::digest(config.token.as_bytes()).into(),
        policy: config.policy,
        max_convert: config.max_convert,
        image_limits: ImageLimits::default(),
        releasing: Mutex::new(()),
        requests: AtomicU64::new(0),
    });
    let app = router(state);
    let stop = async move {
        while !*shutdown.borrow() {
            if shutdown.changed().await.is_err() {
                return;
            }
        }
    };
    if let Err(e) = http_guard::serve(listener, app, limits, config.tls, stop).await {
        tracing::error!(error = %e, "the API stopped");
    }
}

fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/v1/held", get(list_held))
        .route("/v1/held/{id}", get(one_held))
        .route("/v1/held/{id}/parts/{index}/release", post(release_part))
        .route("/v1/status", get(status))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .with_state(state)
}

/// Authenticates every request and logs its id, path (never the query) and status.
async fn authenticate(
    State(state): State<Arc<ApiState>>,
    request: Request,
    next: Next,
) -> Response {
    let number = state.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
        .map(|(_, token)| token.trim());
    let allowed = presented.is_some_and(|token| {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        bool::from(digest.ct_eq(&state.token_digest))
    });
    let mut response = if allowed {
        next.run(request).await
    } else {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        response
    };
    let request_id = format!("api-{number}");
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    tracing::info!(request = %request_id, %method, %path, status = response.status().as_u16(), "api");
    response
}

/// An error answer: `{"error": code, "message": …}`.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error": code, "message": message }))).into_response()
}

fn internal(e: &anyhow::Error) -> Response {
    tracing::error!(error = %format!("{e:#}"), "api request failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error",
    )
}

fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such message or part",
    )
}

#[derive(Serialize)]
struct HeldJson {
    id: String,
    received_at: DateTime<Utc>,
    mail_from: String,
    from: Option<String>,
    subject: Option<String>,
    state: String,
    parts: Vec<PartJson>,
}

#[derive(Serialize)]
struct PartJson {
    index: usize,
    file_name: Option<String>,
    declared_type: String,
    sniffed_type: String,
    size: u64,
    sha256: String,
    class: Class,
    release: &'static str,
    released_at: Option<DateTime<Utc>>,
}

fn class_and_rule(policy: &ReleasePolicy, part: &HeldPart) -> (Class, Rule) {
    let class = Class::of(
        &part.sniffed_type,
        &part.declared_type,
        part.file_name.as_deref(),
    );
    (class, policy.rule(class))
}

fn to_json(policy: &ReleasePolicy, held: Held) -> HeldJson {
    HeldJson {
        id: held.id.to_string(),
        received_at: held.received_at,
        mail_from: held.mail_from,
        from: held.header_from,
        subject: held.subject,
        state: held.state,
        parts: held
            .parts
            .into_iter()
            .map(|part| {
                let (class, rule) = class_and_rule(policy, &part);
                PartJson {
                    index: part.index,
                    class,
                    release: rule.as_str(),
                    file_name: part.file_name,
                    declared_type: part.declared_type,
                    sniffed_type: part.sniffed_type,
                    size: part.size,
                    sha256: part.sha256,
                    released_at: part.released_at,
                }
            })
            .collect(),
    }
}

#[derive(Deserialize)]
struct RecipientQuery {
    recipient: Option<String>,
}

async fn list_held(
    State(state): State<Arc<ApiState>>,
    Query(query): Query<RecipientQuery>,
) -> Response {
    let Some(recipient) = query.recipient.filter(|r| !r.trim().is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "recipient_required",
            "give ?recipient=ADDRESS",
        );
    };
    match state
        .inbound
        .db
        .held_for(recipient.trim(), MAX_LISTED)
        .await
    {
        Ok(list) => Json(
            list.into_iter()
                .map(|held| to_json(&state.policy, held))
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => internal(&e),
    }
}

async fn one_held(
    State(state): State<Arc<ApiState>>,
    UrlPath(id): UrlPath<String>,
    Query(query): Query<RecipientQuery>,
) -> Response {
    let Ok(id) = SpoolId::parse(&id) else {
        return not_found();
    };
    let recipient = query.recipient.as_deref().map(str::trim);
    match state.inbound.db.held(&id, recipient).await {
        // Asked for a recipient, it answers only for mail that recipient received.
        Ok(Some(held))
            if recipient
                .is_none_or(|r| held.rcpt_to.iter().any(|to| to.eq_ignore_ascii_case(r))) =>
        {
            Json(to_json(&state.policy, held)).into_response()
        }
        Ok(Some(_)) => not_found(),
        Ok(None) => not_found(),
        Err(e) => internal(&e),
    }
}

#[derive(Serialize)]
struct StatusJson {
    queued: i64,
    dead: i64,
    held: i64,
    delivered_last_hour: i64,
    delivered_last_day: i64,
    received_last_hour: i64,
    oldest_queued_at: Option<DateTime<Utc>>,
    dead_letters: Vec<DeadLetterJson>,
}

#[derive(Serialize)]
struct DeadLetterJson {
    id: String,
    received_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    mail_from: String,
    rcpt_to: Vec<String>,
    reason: Option<String>,
}

impl From<Status> for StatusJson {
    fn from(status: Status) -> Self {
        Self {
            queued: status.queued,
            dead: status.dead,
            held: status.held,
            delivered_last_hour: status.delivered_last_hour,
            delivered_last_day: status.delivered_last_day,
            received_last_hour: status.received_last_hour,
            oldest_queued_at: status.oldest_queued_at,
            dead_letters: status
                .dead_letters
                .into_iter()
                .map(DeadLetterJson::from)
                .collect(),
        }
    }
}

impl From<DeadLetter> for DeadLetterJson {
    fn from(dead: DeadLetter) -> Self {
        Self {
            id: dead.id.to_string(),
            received_at: dead.received_at,
            finished_at: dead.finished_at,
            mail_from: dead.mail_from,
            rcpt_to: dead.rcpt_to,
            reason: dead.reason,
        }
    }
}

async fn status(State(state): State<Arc<ApiState>>) -> Response {
    match state.inbound.db.status(Utc::now()).await {
        Ok(status) => Json(StatusJson::from(status)).into_response(),
        Err(e) => internal(&e),
    }
}

#[derive(Deserialize)]
struct ReleaseRequest {
    recipient: String,
    approved_by: String,
    #[serde(default)]
    reason: String,
}

async fn release_part(
    State(state): State<Arc<ApiState>>,
    UrlPath((id, index)): UrlPath<(String, String)>,
    body: Result<Json<ReleaseRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let (Ok(id), Ok(index)) = (SpoolId::parse(&id), index.parse::<usize>()) else {
        return not_found();
    };
    let Ok(Json(request)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "expected JSON {\"recipient\", \"approved_by\", \"reason\"}",
        );
    };
    let approved_by = mamori_sanitize::text::clean_line(&request.approved_by).0;
    let reason = mamori_sanitize::text::clean_line(&request.reason).0;
    if approved_by.is_empty() || approved_by.chars().count() > 200 {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "approved_by_required",
            "approved_by: who approved (1 to 200 characters)",
        );
    }
    if reason.chars().count() > 2000 {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason_too_long",
            "reason: at most 2000 characters",
        );
    }
    let _one_at_a_time = state.releasing.lock().await;
    let db = &state.inbound.db;
    let held = match db.held(&id, None).await {
        Ok(Some(held)) => held,
        Ok(None) => return not_found(),
        Err(e) => return internal(&e),
    };
    let Some(part) = held.parts.iter().find(|p| p.index == index).cloned() else {
        return not_found();
    };
    let wanted = request.recipient.trim();
    let Some(recipient) = held
        .rcpt_to
        .iter()
        .find(|r| r.eq_ignore_ascii_case(wanted))
        .cloned()
    else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_a_recipient",
            "the recipient was not a recipient of the original message",
        );
    };
    match db.release(&id, index, &recipient).await {
        Ok(Some(done)) => return queued(&done),
        Ok(None) => {}
        Err(e) => return internal(&e),
    }
    let (class, rule) = class_and_rule(&state.policy, &part);
    if let Some(refusal) = refuse(class, rule) {
        return refusal;
    }
    if part.size > state.max_convert as u64 {
        return error(
            StatusCode::CONFLICT,
            "too_large",
            &format!(
                "the part is larger than {} bytes and stays in the quarantine",
                state.max_convert
            ),
        );
    }
    let spool = state.inbound.spool.clone();
    let load_id = id.clone();
    let content = match tokio::task::spawn_blocking(move || spool.load_part(&load_id, index)).await
    {
        Ok(Ok(content)) => content,
        Ok(Err(e)) => return internal(&e),
        Err(e) => return internal(&e.into()),
    };
    if hex_sha256(&content) != part.sha256 {
        return internal(&anyhow::anyhow!(
            "part {index} of {id} does not match its recorded SHA-256"
        ));
    }
    // The bytes decide again (a script is text by its bytes).
    let class = Class::of_content(&part, &content);
    let rule = state.policy.rule(class);
    if let Some(refusal) = refuse(class, rule) {
        return refusal;
    }
    let limits = state.image_limits;
    let conversion =
        match tokio::task::spawn_blocking(move || release::convert(class, &content, &limits)).await
        {
            Ok(conversion) => conversion,
            Err(e) => return internal(&e.into()),
        };
    let converted = match conversion {
        Ok(converted) => converted,
        Err(NotConverted::NoConverter) => {
            return refuse(class, Rule::NotConvertible).unwrap_or_else(not_found);
        }
        Err(NotConverted::Image(why)) => {
            tracing::info!(%id, part = index, refused = why.code(), "image not converted");
            return error(StatusCode::UNPROCESSABLE_ENTITY, why.code(), &why.message());
        }
    };
    let now = Utc::now();
    let envelope = Envelope {
        id: SpoolId::new(now),
        kind: Kind::Release,
        received_at: now,
        peer: String::new(),
        helo: String::new(),
        mail_from: String::new(),
        rcpt_to: vec![recipient.clone()],
    };
    let origin = Origin {
        held: &held,
        part: &part,
        recipient: &recipient,
        approved_by: &approved_by,
        reason: &reason,
    };
    let message = release::compose_message(
        &origin,
        &converted,
        &state.from_address,
        &state.inbound.hostname,
        &envelope.id,
        now,
    );
    if let Err(e) = enqueue(&state.inbound, &envelope, message).await {
        return internal(&e);
    }
    let done = Release {
        message_id: id.clone(),
        index,
        recipient,
        approved_by,
        reason,
        released_at: now,
        queued_as: envelope.id.clone(),
    };
    if let Err(e) = db.record_release(&done).await {
        return internal(&e);
    }
    tracing::info!(%id, part = index, queued_as = %envelope.id, "part released");
    queued(&done)
}

fn queued(release: &Release) -> Response {
    Json(json!({ "queued_as": release.queued_as.as_str() })).into_response()
}

/// The answer when a class may not be released.
fn refuse(class: Class, rule: Rule) -> Option<Response> {
    if class == Class::Executable || rule == Rule::Never {
        return Some(error(
            StatusCode::FORBIDDEN,
            "never",
            "this part is never released",
        ));
    }
    if !class.convertible() || rule == Rule::NotConvertible {
        return Some(error(
            StatusCode::CONFLICT,
            "not_convertible",
            "no converter exists for this type: the part stays in the quarantine",
        ));
    }
    None
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
