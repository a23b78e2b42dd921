//! 2(16), 6(3)② 無害化通信, the LGWAN side: what the mail relay held back, asked for and decided here.
//!
//! The relay (`mamori relay`, in the sanitiser segment) rebuilds every mail as text and keeps each removed part
//! in its quarantine. Through its API Mamori sees metadata only — sender, subject, file name, type, size,
//! SHA-256 — and never a byte of a part. A recipient asks for a part with a reason; the relay's policy says
//! per kind of part whether that is enough (`on_request`), whether a 情報セキュリティ管理者 (or the role the
//! city names) must approve (`on_approval`), or whether it never leaves (`never`, `not_convertible`). What
//! the relay then sends into LGWAN is a converted form (text, or an image re-encoded as PNG), never the
//! original.
//!
//! Every request, decision and release is in Mamori's audit chain. The call to the relay happens between two
//! transactions, never inside one: a request or an approval is committed first (state `approved`), then the
//! relay is asked, then the outcome is recorded (`released` or `failed`). A crash in between leaves an
//! `approved` request that an approver can send again; the relay releases a part to a recipient only once, so
//! sending again never sends twice.

pub mod relay;

use chrono::{DateTime, Utc};
use mamori_policy::StatutoryRole;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::json;

use crate::access::{MailRecipient, NetworkReader, OrgAdmin, Reach, ReleaseApprover};
use crate::{Actor, App, AppError, AppResult, AuditActor, FieldError, text};
use mamori_store::audit::Action;
use mamori_store::entity::{org_unit, release_request, setting, staff};
use relay::{HeldMessage, HeldPart, RelayClient, RelayError, RelayStatus};

/// Longest reason a recipient gives, in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// Longest note an approver gives, in characters.
pub const MAX_NOTE_CHARS: usize = 500;
/// Most requests listed on the approvals page.
pub const MAX_LISTED: u64 = 500;

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Waiting for an approver.
    Pending,
    /// Approved (or released on request); the relay has not confirmed the release yet.
    Approved,
    /// The relay queued the converted part for the recipient.
    Released,
    Refused,
    /// The relay could not release it; an approver may send it again.
    Failed,
}

impl RequestState {
    pub const ALL: [RequestState; 5] = [
        RequestState::Pending,
        RequestState::Approved,
        RequestState::Released,
        RequestState::Refused,
        RequestState::Failed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Approved => "approved",
            RequestState::Released => "released",
            RequestState::Refused => "refused",
            RequestState::Failed => "failed",
        }
    }

    pub fn parse(code: &str) -> Option<RequestState> {
        RequestState::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Whether an approver can still act on it (decide, or send again).
    pub fn open(self) -> bool {
        matches!(
            self,
            RequestState::Pending | RequestState::Approved | RequestState::Failed
        )
    }
}

// ---- settings ----

/// The roles a city may name as approvers (besides the CISO, 統括 and administrators, who always may).
pub const APPROVER_ROLES: [StatutoryRole; 4] = [
    StatutoryRole::DivisionManager,
    StatutoryRole::BureauOfficer,
    StatutoryRole::CsirtMember,
    StatutoryRole::ChiefOfficer,
];

const SETTINGS_KEY: &str = "quarantine";

/// The quarantine's settings per municipality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Who approves a release: 情報セキュリティ管理者 (for their 課) by default.
    pub approver_role: StatutoryRole,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            approver_role: StatutoryRole::DivisionManager,
        }
    }
}

pub async fn settings(db: &impl ConnectionTrait, municipality_id: i64) -> AppResult<Settings> {
    let row = setting::Entity::find()
        .filter(setting::Column::MunicipalityId.eq(municipality_id))
        .filter(setting::Column::Key.eq(SETTINGS_KEY))
        .one(db)
        .await?;
    let role = row
        .and_then(|r| serde_json::from_str::<serde_json::Value>(&r.value).ok())
        .and_then(|v| v["approver_role"].as_str().map(str::to_owned))
        .and_then(|code| StatutoryRole::parse(&code).ok())
        .filter(|role| APPROVER_ROLES.contains(role));
    Ok(
        role.map_or_else(Settings::default, |approver_role| Settings {
            approver_role,
        }),
    )
}

/// Names the role that approves releases (統括 and administrators).
pub async fn update_settings(
    app: &App,
    cap: &OrgAdmin,
    by: &AuditActor,
    approver_role: &str,
) -> AppResult<Settings> {
    let role = StatutoryRole::parse(approver_role.trim())
        .ok()
        .filter(|r| APPROVER_ROLES.contains(r))
        .ok_or_else(|| AppError::field("approver_role", "err-choice"))?;
    let value = json!({ "approver_role": role.code() }).to_string();
    let mut tx = app.write().await?;
    let existing = setting::Entity::find()
        .filter(setting::Column::MunicipalityId.eq(cap.municipality_id))
        .filter(setting::Column::Key.eq(SETTINGS_KEY))
        .one(tx.db())
        .await?;
    match existing {
        Some(row) => {
            let mut row = row.into_active_model();
            row.value = Set(value);
            row.update(tx.db()).await?;
        }
        None => {
            setting::ActiveModel {
                municipality_id: Set(cap.municipality_id),
                key: Set(SETTINGS_KEY.to_owned()),
                value: Set(value),
                ..Default::default()
            }
            .insert(tx.db())
            .await?;
        }
    }
    tx.audit(
        cap.municipality_id,
        by,
        Action::SettingsUpdated,
        ("setting", SETTINGS_KEY.to_owned()),
        json!({ "approver_role": role.code() }),
    )
    .await?;
    tx.commit().await?;
    Ok(Settings {
        approver_role: role,
    })
}

/// Whether and for whom this person approves releases, under the city's setting.
pub async fn approver(app: &App, actor: &Actor) -> AppResult<Option<ReleaseApprover>> {
    let settings = settings(app.store().conn(), actor.municipality_id).await?;
    Ok(actor.release_approver(settings.approver_role))
}

// ---- the relay ----

/// The relay, or why there is none to ask.
fn relay(app: &App) -> Result<&RelayClient, Unavailable> {
    app.config()
        .relay
        .as_ref()
        .ok_or(Unavailable::NotConfigured)
}

/// Why the relay's view cannot be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// `mamori serve` was started without `--relay-api`.
    NotConfigured,
    /// The person's staff record has no mail address.
    NoAddress,
    /// The relay did not answer (or refused Mamori's token).
    Relay(String),
}

impl From<RelayError> for Unavailable {
    fn from(e: RelayError) -> Self {
        if !matches!(e, RelayError::Refused { .. }) {
            tracing::warn!("relay API: {e}");
        }
        Unavailable::Relay(e.to_string())
    }
}

/// A relay problem met while acting, as a problem of the form.
fn relay_problem(e: &RelayError) -> AppError {
    tracing::warn!("relay API: {e}");
    match e {
        RelayError::Refused { code, message, .. } => AppError::Invalid(vec![
            FieldError::new("relay", "err-relay-refused")
                .with("code", code.clone())
                .with("message", message.clone()),
        ]),
        _ => AppError::Invalid(vec![
            FieldError::new("relay", "err-relay-unreachable").with("why", e.to_string()),
        ]),
    }
}

fn unavailable_problem(u: &Unavailable) -> AppError {
    match u {
        Unavailable::NotConfigured => AppError::field("relay", "err-relay-not-configured"),
        Unavailable::NoAddress => AppError::field("relay", "err-quarantine-no-address"),
        Unavailable::Relay(why) => AppError::Invalid(vec![
            FieldError::new("relay", "err-relay-unreachable").with("why", why.clone()),
        ]),
    }
}

/// The signed-in person's staff record and its mail address (`None` when it has none).
async fn own_record(app: &App, cap: &MailRecipient) -> AppResult<(staff::Model, Option<String>)> {
    let person = staff::Entity::find_by_id(cap.staff_id)
        .one(app.store().conn())
        .await?
        .filter(|s| s.municipality_id == cap.municipality_id)
        .ok_or(AppError::Forbidden)?;
    let email = person.email.trim().to_lowercase();
    Ok((person, (!email.is_empty()).then_some(email)))
}

// ---- what a recipient sees ----

/// A request as its requester and approver see it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RequestView {
    pub id: i64,
    pub state: RequestState,
    pub reason: String,
    pub requested_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
    pub released_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

fn view(row: &release_request::Model) -> RequestView {
    RequestView {
        id: row.id,
        state: RequestState::parse(&row.state).unwrap_or(RequestState::Failed),
        reason: row.reason.clone(),
        requested_at: row.requested_at,
        decided_by: row.decided_by_label.clone(),
        decided_at: row.decided_at,
        decision_note: row.decision_note.clone(),
        released_at: row.released_at,
        last_error: row.last_error.clone(),
    }
}

/// A removed part with the request for it, if any.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InboxPart {
    pub part: HeldPart,
    pub request: Option<RequestView>,
}

/// A held message with its parts.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InboxMessage {
    pub id: String,
    pub received_at: DateTime<Utc>,
    pub from: String,
    pub subject: Option<String>,
    pub parts: Vec<InboxPart>,
}

/// What the relay holds for the signed-in person (newest first), or why it cannot be shown.
pub async fn inbox(
    app: &App,
    cap: &MailRecipient,
) -> AppResult<Result<(String, Vec<InboxMessage>), Unavailable>> {
    let client = match relay(app) {
        Ok(c) => c,
        Err(u) => return Ok(Err(u)),
    };
    let (_, Some(address)) = own_record(app, cap).await? else {
        return Ok(Err(Unavailable::NoAddress));
    };
    let held = match client.held_for(&address).await {
        Ok(held) => held,
        Err(e) => return Ok(Err(e.into())),
    };
    let ids: Vec<String> = held.iter().map(|m| m.id.clone()).collect();
    let requests = release_request::Entity::find()
        .filter(release_request::Column::MunicipalityId.eq(cap.municipality_id))
        .filter(release_request::Column::Recipient.eq(address.clone()))
        .filter(release_request::Column::RelayMessageId.is_in(ids))
        .all(app.store().conn())
        .await?;
    let messages = held
        .into_iter()
        .map(|m| InboxMessage {
            parts: m
                .parts
                .into_iter()
                .map(|part| InboxPart {
                    request: requests
                        .iter()
                        .find(|r| {
                            r.relay_message_id == m.id
                                && usize::try_from(r.part_index).ok() == Some(part.index)
                        })
                        .map(view),
                    part,
                })
                .collect(),
            from: m.from.unwrap_or(m.mail_from),
            id: m.id,
            received_at: m.received_at,
            subject: m.subject,
        })
        .collect();
    Ok(Ok((address, messages)))
}

// ---- asking ----

fn reason_of(value: &str, field: &'static str, max: usize) -> Result<String, FieldError> {
    text::clean(value, max).map_err(|k| FieldError::new(field, k).with("max", max.to_string()))
}

/// Asks for a removed part of a message held for the signed-in person. Under `on_request` the part is
/// released at once; under `on_approval` the request waits for an approver. The request's id.
pub async fn request(
    app: &App,
    cap: &MailRecipient,
    by: &AuditActor,
    message_id: &str,
    index: usize,
    reason: &str,
) -> AppResult<i64> {
    let reason =
        reason_of(reason, "reason", MAX_REASON_CHARS).map_err(|e| AppError::Invalid(vec![e]))?;
    if reason.is_empty() {
        return Err(AppError::field("reason", "err-required"));
    }
    if !relay::is_spool_id(message_id) {
        return Err(AppError::NotFound);
    }
    let client = relay(app).map_err(|u| unavailable_problem(&u))?;
    let (person, address) = own_record(app, cap).await?;
    let address = address.ok_or_else(|| unavailable_problem(&Unavailable::NoAddress))?;
    // The relay answers only for a message this address received.
    let held: HeldMessage = client
        .held(message_id, &address)
        .await
        .map_err(|e| relay_problem(&e))?
        .ok_or(AppError::NotFound)?;
    let part = held
        .parts
        .iter()
        .find(|p| p.index == index)
        .ok_or(AppError::NotFound)?;
    match part.release.as_str() {
        "on_request" | "on_approval" => {}
        "never" => return Err(AppError::field("part", "err-release-never")),
        _ => return Err(AppError::field("part", "err-release-not-convertible")),
    }
    let existing = release_request::Entity::find()
        .filter(release_request::Column::MunicipalityId.eq(cap.municipality_id))
        .filter(release_request::Column::RelayMessageId.eq(message_id))
        .filter(release_request::Column::PartIndex.eq(part_index(index)?))
        .filter(release_request::Column::Recipient.eq(address.clone()))
        .one(app.store().conn())
        .await?;
    if let Some(row) = existing {
        return Err(AppError::field(
            "part",
            if row.state == RequestState::Refused.code() {
                "err-release-refused-before"
            } else {
                "err-release-asked-before"
            },
        ));
    }
    let on_request = part.release == "on_request";
    let on_request_label = format!("{} (on request)", person.staff_no);
    let now = Utc::now();
    let mut tx = app.write().await?;
    let row = release_request::ActiveModel {
        municipality_id: Set(cap.municipality_id),
        relay_message_id: Set(message_id.to_owned()),
        part_index: Set(part_index(index)?),
        recipient: Set(address.clone()),
        requester_staff_id: Set(cap.staff_id),
        requester_account_id: Set(by.account_id),
        unit_id: Set(person.org_unit_id),
        mail_from: Set(Some(
            held.from.clone().unwrap_or_else(|| held.mail_from.clone()),
        )),
        subject: Set(held.subject.clone()),
        received_at: Set(held.received_at),
        file_name: Set(part.file_name.clone()),
        class: Set(part.class.clone()),
        sniffed_type: Set(part.sniffed_type.clone()),
        size: Set(i64::try_from(part.size).unwrap_or(i64::MAX)),
        sha256: Set(part.sha256.clone()),
        rule: Set(part.release.clone()),
        reason: Set(reason.clone()),
        state: Set(if on_request {
            RequestState::Approved
        } else {
            RequestState::Pending
        }
        .code()
        .to_owned()),
        requested_at: Set(now),
        decided_by: Set(None),
        decided_by_label: Set(on_request.then(|| on_request_label.clone())),
        decided_at: Set(on_request.then_some(now)),
        decision_note: Set(None),
        queued_as: Set(None),
        released_at: Set(None),
        last_error: Set(None),
        ..Default::default()
    }
    .insert(tx.db())
    .await
    .map_err(|e| match e.sql_err() {
        // Two clicks at once: the unique index keeps one request.
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            AppError::field("part", "err-release-asked-before")
        }
        _ => e.into(),
    })?;
    tx.audit(
        cap.municipality_id,
        by,
        Action::ReleaseRequested,
        ("release_request", row.id.to_string()),
        json!({
            "message": message_id,
            "part": index,
            "class": part.class,
            "sha256": part.sha256,
            "size": part.size,
            "rule": part.release,
            "reason": reason,
        }),
    )
    .await?;
    tx.commit().await?;
    if on_request {
        send(app, &row, &on_request_label, by).await?;
    }
    Ok(row.id)
}

fn part_index(index: usize) -> AppResult<i32> {
    i32::try_from(index).map_err(|_| AppError::NotFound)
}

/// Asks the relay to release an approved request and records what it answered. The state it ends in.
async fn send(
    app: &App,
    row: &release_request::Model,
    approved_by: &str,
    by: &AuditActor,
) -> AppResult<RequestState> {
    let client = relay(app).map_err(|u| unavailable_problem(&u))?;
    let index = usize::try_from(row.part_index).map_err(|_| AppError::NotFound)?;
    let outcome = client
        .release(
            &row.relay_message_id,
            index,
            &row.recipient,
            approved_by,
            &row.reason,
        )
        .await;
    let now = Utc::now();
    let mut tx = app.write().await?;
    let mut active = row.clone().into_active_model();
    let (state, action, summary) = match &outcome {
        Ok(queued_as) => {
            active.queued_as = Set(Some(queued_as.clone()));
            active.released_at = Set(Some(now));
            active.last_error = Set(None);
            (
                RequestState::Released,
                Action::PartReleased,
                json!({ "message": row.relay_message_id, "part": index, "queued_as": queued_as }),
            )
        }
        Err(e) => {
            tracing::warn!(request = row.id, "release not done: {e}");
            active.last_error = Set(Some(e.to_string()));
            let code = match e {
                RelayError::Refused { code, .. } => code.clone(),
                RelayError::Unreachable(_) => "unreachable".to_owned(),
                RelayError::Unauthorized => "unauthorized".to_owned(),
                RelayError::Protocol(_) => "protocol".to_owned(),
            };
            (
                RequestState::Failed,
                Action::ReleaseFailed,
                json!({ "message": row.relay_message_id, "part": index, "error": code }),
            )
        }
    };
    active.state = Set(state.code().to_owned());
    active.update(tx.db()).await?;
    tx.audit(
        row.municipality_id,
        by,
        action,
        ("release_request", row.id.to_string()),
        summary,
    )
    .await?;
    tx.commit().await?;
    Ok(state)
}

// ---- deciding ----

/// A request as the approvals page lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RequestRow {
    pub request: RequestView,
    pub requester: String,
    pub requester_staff_no: String,
    pub unit: String,
    pub mail_from: Option<String>,
    pub subject: Option<String>,
    pub received_at: DateTime<Utc>,
    pub file_name: Option<String>,
    pub class: String,
    pub size: i64,
    pub sha256: String,
    pub rule: String,
    /// Whether this approver may act on it (not their own request, still open).
    pub actionable: bool,
    /// Whether it is the approver's own request (someone else decides it).
    pub own: bool,
}

/// The requests of the staff within reach, newest first: the open ones, or those in one state.
pub async fn requests(
    app: &App,
    cap: &ReleaseApprover,
    state: Option<RequestState>,
) -> AppResult<Vec<RequestRow>> {
    let db = app.store().conn();
    let mut query = release_request::Entity::find()
        .filter(release_request::Column::MunicipalityId.eq(cap.municipality_id));
    query = match state {
        Some(s) => query.filter(release_request::Column::State.eq(s.code())),
        None => query.filter(
            release_request::Column::State.is_in(
                RequestState::ALL
                    .into_iter()
                    .filter(|s| s.open())
                    .map(RequestState::code),
            ),
        ),
    };
    // Reach narrows the query before the limit: an approver of one 課 sees its requests however many the
    // rest of the city has.
    if let Reach::Subtrees(prefixes) = &cap.reach {
        query = query.filter(
            release_request::Column::UnitId.in_subquery(crate::paging::units_under(prefixes)),
        );
    }
    let rows = query
        .order_by_desc(release_request::Column::RequestedAt)
        .order_by_desc(release_request::Column::Id)
        .limit(MAX_LISTED)
        .all(db)
        .await?;
    let unit_ids: Vec<i64> = rows.iter().map(|r| r.unit_id).collect();
    let staff_ids: Vec<i64> = rows.iter().map(|r| r.requester_staff_id).collect();
    let units = org_unit::Entity::find()
        .filter(org_unit::Column::Id.is_in(unit_ids))
        .all(db)
        .await?;
    let people = staff::Entity::find()
        .filter(staff::Column::Id.is_in(staff_ids))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let unit = units.iter().find(|u| u.id == row.unit_id)?;
            if !cap.reach.covers_unit(&unit.tree_path) {
                return None;
            }
            let person = people.iter().find(|p| p.id == row.requester_staff_id)?;
            let request = view(&row);
            let own = cap.staff_id == Some(row.requester_staff_id);
            Some(RequestRow {
                actionable: request.state.open() && !own,
                own,
                request,
                requester: person.name.clone(),
                requester_staff_no: person.staff_no.clone(),
                unit: unit.name.clone(),
                mail_from: row.mail_from,
                subject: row.subject,
                received_at: row.received_at,
                file_name: row.file_name,
                class: row.class,
                size: row.size,
                sha256: row.sha256,
                rule: row.rule,
            })
        })
        .collect())
}

/// What an approver decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Refuse,
}

/// Approves or refuses a pending request; approving a request the relay did not confirm (`approved`,
/// `failed`) sends it again. The state it ends in.
pub async fn decide(
    app: &App,
    cap: &ReleaseApprover,
    actor: &Actor,
    request_id: i64,
    decision: Decision,
    note: &str,
) -> AppResult<RequestState> {
    let db = app.store().conn();
    let row = release_request::Entity::find_by_id(request_id)
        .one(db)
        .await?
        .filter(|r| r.municipality_id == cap.municipality_id)
        .ok_or(AppError::NotFound)?;
    let unit = org_unit::Entity::find_by_id(row.unit_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    crate::access::check_unit(cap.municipality_id, &cap.reach, &unit)?;
    if cap.staff_id == Some(row.requester_staff_id) {
        return Err(AppError::field("decision", "err-release-own-request"));
    }
    let note = reason_of(note, "note", MAX_NOTE_CHARS).map_err(|e| AppError::Invalid(vec![e]))?;
    let state = RequestState::parse(&row.state).unwrap_or(RequestState::Failed);
    let by = actor.audit_actor();
    let approved_by = match actor.staff_id {
        Some(id) => staff::Entity::find_by_id(id)
            .one(db)
            .await?
            .map_or_else(|| actor.login.clone(), |s| s.staff_no),
        None => actor.login.clone(),
    };
    match (decision, state) {
        (Decision::Refuse, RequestState::Pending) => {
            if note.is_empty() {
                return Err(AppError::field("note", "err-required"));
            }
            record_decision(app, &row, &by, RequestState::Refused, &note, &approved_by).await?;
            Ok(RequestState::Refused)
        }
        (Decision::Approve, RequestState::Pending) => {
            let row = record_decision(app, &row, &by, RequestState::Approved, &note, &approved_by)
                .await?;
            send(app, &row, &approved_by, &by).await
        }
        // The relay did not confirm: send again (the relay releases a part to a recipient only once).
        (Decision::Approve, RequestState::Approved | RequestState::Failed) => {
            let approver = row
                .decided_by_label
                .clone()
                .unwrap_or_else(|| approved_by.clone());
            send(app, &row, &approver, &by).await
        }
        _ => Err(AppError::field("decision", "err-release-decided")),
    }
}

async fn record_decision(
    app: &App,
    row: &release_request::Model,
    by: &AuditActor,
    state: RequestState,
    note: &str,
    approved_by: &str,
) -> AppResult<release_request::Model> {
    let mut tx = app.write().await?;
    // Decided once: a second approver who clicked at the same moment finds it no longer pending.
    let current = release_request::Entity::find_by_id(row.id)
        .one(tx.db())
        .await?
        .ok_or(AppError::NotFound)?;
    if current.state != RequestState::Pending.code() {
        tx.rollback().await?;
        return Err(AppError::field("decision", "err-release-decided"));
    }
    let mut active = current.into_active_model();
    active.state = Set(state.code().to_owned());
    active.decided_by = Set(by.account_id);
    active.decided_by_label = Set(Some(approved_by.to_owned()));
    active.decided_at = Set(Some(Utc::now()));
    active.decision_note = Set((!note.is_empty()).then(|| note.to_owned()));
    let updated = active.update(tx.db()).await?;
    tx.audit(
        row.municipality_id,
        by,
        if state == RequestState::Refused {
            Action::ReleaseRefused
        } else {
            Action::ReleaseApproved
        },
        ("release_request", row.id.to_string()),
        json!({
            "message": row.relay_message_id,
            "part": row.part_index,
            "sha256": row.sha256,
            "note": note,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(updated)
}

// ---- the relay's health ----

/// The relay's queue, dead letters and throughput, with the requests waiting here.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Health {
    pub relay: String,
    pub status: RelayStatus,
    pub pending_requests: u64,
}

/// The operations view (readers of the network: CISO, 統括, auditors, administrators).
pub async fn health(app: &App, cap: &NetworkReader) -> AppResult<Result<Health, Unavailable>> {
    let client = match relay(app) {
        Ok(c) => c,
        Err(u) => return Ok(Err(u)),
    };
    let status = match client.status().await {
        Ok(s) => s,
        Err(e) => return Ok(Err(e.into())),
    };
    let pending_requests = sea_orm::PaginatorTrait::count(
        release_request::Entity::find()
            .filter(release_request::Column::MunicipalityId.eq(cap.municipality_id))
            .filter(release_request::Column::State.eq(RequestState::Pending.code())),
        app.store().conn(),
    )
    .await?;
    Ok(Ok(Health {
        relay: client.base().to_owned(),
        status,
        pending_requests,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_only_open_ones_can_be_acted_on() {
        for s in RequestState::ALL {
            assert_eq!(RequestState::parse(s.code()), Some(s));
        }
        assert_eq!(RequestState::parse("released "), None);
        assert!(RequestState::Pending.open());
        assert!(RequestState::Failed.open());
        assert!(!RequestState::Released.open());
        assert!(!RequestState::Refused.open());
    }

    #[test]
    fn an_auditor_cannot_be_named_approver() {
        assert!(!APPROVER_ROLES.contains(&StatutoryRole::Auditor));
        assert!(!APPROVER_ROLES.contains(&StatutoryRole::Ciso));
    }
}
