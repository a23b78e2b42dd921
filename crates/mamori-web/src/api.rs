//! `/api/v1`: JSON over the same use cases as the pages, with Bearer personal tokens or the session cookie.
//! Errors are problem+json; lists paginate on the server.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::ctx::{AppState, Ctx};
use mamori_app::assets::{self, AssetDetail, AssetInput, AssetQuery};
use mamori_app::audit::{self, AuditQuery};
use mamori_app::compliance;
use mamori_app::mamori_store::entity::{facility, org_unit};
use mamori_app::org::{self, FacilityForm, UnitForm};
use mamori_app::roles::{self, AssignForm};
use mamori_app::staff::{self, StaffForm, StaffQuery};
use mamori_app::zones::flows::{self, FlowInput};
use mamori_app::zones::network;
use mamori_app::zones::systems::{self, SystemInput};
use mamori_app::{AppError, FieldError, today};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/openapi.json", get(crate::openapi::document))
        .route("/api/v1/me", get(me))
        .route("/api/v1/org-units", get(list_units).post(create_unit))
        .route("/api/v1/org-units/{id}", get(get_unit).put(update_unit))
        .route(
            "/api/v1/facilities",
            get(list_facilities).post(create_facility),
        )
        .route(
            "/api/v1/facilities/{id}",
            get(get_facility).put(update_facility),
        )
        .route("/api/v1/staff", get(list_staff).post(create_staff))
        .route("/api/v1/staff/{id}", get(get_staff).put(update_staff))
        .route(
            "/api/v1/role-assignments",
            get(list_roles).post(create_role),
        )
        .route("/api/v1/audit", get(list_audit))
        .route("/api/v1/findings", get(list_findings))
        .route("/api/v1/assets", get(list_assets).post(create_asset))
        .route("/api/v1/assets/{id}", get(get_asset).put(update_asset))
        .route(
            "/api/v1/assets/{id}/retire",
            axum::routing::post(retire_asset),
        )
        .route("/api/v1/systems", get(list_systems).post(create_system))
        .route("/api/v1/systems/{id}", get(get_system).put(update_system))
        .route(
            "/api/v1/systems/{id}/retire",
            axum::routing::post(retire_system),
        )
        .route("/api/v1/flows", get(list_flows).post(create_flow))
        .route("/api/v1/flows/{id}", get(get_flow).put(update_flow))
        .route(
            "/api/v1/flows/{id}/retire",
            axum::routing::post(retire_flow),
        )
        .route("/api/v1/netcheck-runs", get(list_runs))
        .route("/api/v1/netcheck-runs/{id}", get(get_run))
}

// Both arms are responses; the error arm is as large as the success arm by nature.
#[allow(clippy::result_large_err)]
type ApiResult = Result<Response, Response>;

#[allow(clippy::result_large_err)]
fn ok(value: serde_json::Value) -> ApiResult {
    Ok(Json(value).into_response())
}

#[allow(clippy::result_large_err)]
fn created(value: serde_json::Value) -> ApiResult {
    Ok((StatusCode::CREATED, Json(value)).into_response())
}

fn unit_json(u: &org_unit::Model) -> serde_json::Value {
    json!({
        "id": u.id, "code": u.code, "name": u.name, "name_kana": u.name_kana, "level": u.level,
        "organ_kind": u.organ_kind, "parent_id": u.parent_id, "path": u.path, "in_scope": u.in_scope,
        "abolished_on": u.abolished_on, "successor_id": u.successor_id,
    })
}

fn facility_json(f: &facility::Model) -> serde_json::Value {
    json!({
        "id": f.id, "code": f.code, "name": f.name, "address": f.address, "org_unit_id": f.org_unit_id,
        "connected_outside": f.connected_outside, "note": f.note,
    })
}

async fn me(ctx: Ctx) -> ApiResult {
    let a = &ctx.actor;
    ok(json!({
        "account_id": a.account_id, "login": a.login, "display_name": a.display_name, "staff_id": a.staff_id,
        "system_admin": a.system_admin, "outsider": a.outsider,
        "roles": a.roles.iter().map(|r| json!({"role": r.role.code(), "unit_id": r.unit_id})).collect::<Vec<_>>(),
    }))
}

#[derive(serde::Deserialize, Default)]
struct UnitsQuery {
    #[serde(default)]
    include_abolished: bool,
}

async fn list_units(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(q): Query<UnitsQuery>,
) -> ApiResult {
    let nodes = org::tree(&state.app, &ctx.actor, q.include_abolished)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(json!({"items": nodes.iter().map(|n| unit_json(&n.unit)).collect::<Vec<_>>()}))
}

async fn get_unit(State(state): State<Arc<AppState>>, ctx: Ctx, Path(id): Path<i64>) -> ApiResult {
    let u = org::unit(&state.app, &ctx.actor, id)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(unit_json(&u))
}

async fn create_unit(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Json(form): Json<UnitForm>,
) -> ApiResult {
    let cap = ctx
        .actor
        .org_admin()
        .ok_or_else(|| ctx.fail(AppError::Forbidden))?;
    let u = org::create_unit(&state.app, &cap, &ctx.actor.audit_actor(), &form)
        .await
        .map_err(|e| ctx.fail(e))?;
    created(unit_json(&u))
}

async fn update_unit(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(form): Json<UnitForm>,
) -> ApiResult {
    let cap = ctx
        .actor
        .org_admin()
        .ok_or_else(|| ctx.fail(AppError::Forbidden))?;
    let u = org::update_unit(&state.app, &cap, &ctx.actor.audit_actor(), id, &form)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(unit_json(&u))
}

async fn list_facilities(State(state): State<Arc<AppState>>, ctx: Ctx) -> ApiResult {
    let list = org::facilities(&state.app, &ctx.actor)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(json!({"items": list.iter().map(|(f, _)| facility_json(f)).collect::<Vec<_>>()}))
}

async fn get_facility(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> ApiResult {
    let (f, _) = org::facility(&state.app, &ctx.actor, id)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(facility_json(&f))
}

async fn create_facility(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Json(form): Json<FacilityForm>,
) -> ApiResult {
    let cap = ctx
        .actor
        .org_admin()
        .ok_or_else(|| ctx.fail(AppError::Forbidden))?;
    let f = org::save_facility(&state.app, &cap, &ctx.actor.audit_actor(), None, &form)
        .await
        .map_err(|e| ctx.fail(e))?;
    created(facility_json(&f))
}

async fn update_facility(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(form): Json<FacilityForm>,
) -> ApiResult {
    let cap = ctx
        .actor
        .org_admin()
        .ok_or_else(|| ctx.fail(AppError::Forbidden))?;
    let f = org::save_facility(&state.app, &cap, &ctx.actor.audit_actor(), Some(id), &form)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(facility_json(&f))
}

async fn list_staff(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(q): Query<StaffQuery>,
) -> ApiResult {
    let page = staff::list(&state.app, &ctx.actor, &q)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(
        json!({"items": page.rows, "total": page.total, "total_is_exact": page.total_is_exact, "page": page.page, "per_page": page.per_page}),
    )
}

async fn get_staff(State(state): State<Arc<AppState>>, ctx: Ctx, Path(id): Path<i64>) -> ApiResult {
    let s = staff::get(&state.app, &ctx.actor, id)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(json!(s))
}

async fn create_staff(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Json(form): Json<StaffForm>,
) -> ApiResult {
    let cap = ctx
        .actor
        .org_admin()
        .ok_or_else(|| ctx.fail(AppError::Forbidden))?;
    let s = staff::create(&state.app, &cap, &ctx.actor.audit_actor(), &form)
        .await
        .map_err(|e| ctx.fail(e))?;
    let row = staff::get(&state.app, &ctx.actor, s.id)
        .await
        .map_err(|e| ctx.fail(e))?;
    created(json!(row))
}

async fn update_staff(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(form): Json<StaffForm>,
) -> ApiResult {
    let cap = ctx
        .actor
        .org_admin()
        .ok_or_else(|| ctx.fail(AppError::Forbidden))?;
    staff::update(&state.app, &cap, &ctx.actor.audit_actor(), id, &form)
        .await
        .map_err(|e| ctx.fail(e))?;
    let row = staff::get(&state.app, &ctx.actor, id)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(json!(row))
}

#[derive(serde::Deserialize, Default)]
struct RolesQuery {
    /// A day (YYYY-MM-DD or 和暦), or "all" for the whole history. Default: today.
    #[serde(default)]
    on: String,
}

async fn list_roles(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(q): Query<RolesQuery>,
) -> ApiResult {
    let on = if q.on == "all" {
        None
    } else {
        Some(mamori_policy::parse_date(&q.on).unwrap_or_else(today))
    };
    let rows = roles::list(&state.app, &ctx.actor, on)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(json!({"items": rows}))
}

async fn create_role(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Json(form): Json<AssignForm>,
) -> ApiResult {
    let cap = ctx
        .actor
        .org_admin()
        .ok_or_else(|| ctx.fail(AppError::Forbidden))?;
    let r = roles::assign(&state.app, &cap, &ctx.actor.audit_actor(), &form)
        .await
        .map_err(|e| ctx.fail(e))?;
    created(
        json!({"id": r.id, "role": r.role, "scope_unit_id": r.scope_unit_id, "staff_id": r.staff_id, "kind": r.kind, "valid_from": r.valid_from, "valid_to": r.valid_to}),
    )
}

async fn list_audit(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(q): Query<AuditQuery>,
) -> ApiResult {
    let cap = ctx
        .actor
        .audit_reader()
        .ok_or_else(|| ctx.fail(AppError::Forbidden))?;
    let page = audit::list(&state.app, &cap, &q)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(
        json!({"items": page.rows, "total": page.total, "page": page.page, "per_page": page.per_page}),
    )
}

// ---- 遵守状況 ----

/// Findings of the compliance checks, as the findings page filters them.
async fn list_findings(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(raw): Query<crate::pages_compliance::FindingsQuery>,
) -> ApiResult {
    let cap = crate::pages_compliance::fresh_for(&state, &ctx)
        .await
        .map_err(|e| ctx.fail(e))?;
    let q = match crate::pages_compliance::parse_query(&state, &ctx, &raw).await {
        Ok(Ok(q)) => q,
        Ok(Err(errors)) => return Err(ctx.fail(AppError::Invalid(errors))),
        Err(e) => return Err(ctx.fail(e)),
    };
    let page = compliance::findings(&state.app, &cap, &q)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(json!({
        "rows": page.rows, "total": page.total, "page": page.page, "per_page": page.per_page,
    }))
}

// ---- 情報資産管理台帳 ----

/// The asset list's query parameters, all as text, so a bad value is a problem+json naming it.
#[derive(serde::Deserialize, Default)]
struct AssetListParams {
    #[serde(default)]
    q: String,
    /// A unit id, or its 組織コード; the unit and everything below it.
    #[serde(default)]
    unit: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    c_min: Option<String>,
    #[serde(default)]
    i_min: Option<String>,
    #[serde(default)]
    a_min: Option<String>,
    #[serde(default)]
    personal: Option<String>,
    #[serde(default)]
    overdue: Option<String>,
    #[serde(default)]
    retired: Option<String>,
    #[serde(default)]
    sort: Option<String>,
    #[serde(default)]
    page: String,
    #[serde(default)]
    per_page: String,
}

async fn asset_query(
    state: &AppState,
    ctx: &Ctx,
    p: AssetListParams,
) -> Result<AssetQuery, AppError> {
    let mut problems = Vec::new();
    let mut number = |field: &'static str, v: &str, max: u64| -> Option<u64> {
        let v = v.trim();
        if v.is_empty() {
            return None;
        }
        match v.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => Some(n),
            _ => {
                problems.push(
                    FieldError::new(field, "err-range")
                        .with("min", "1")
                        .with("max", max.to_string()),
                );
                None
            }
        }
    };
    let page = number("page", &p.page, u64::from(u32::MAX));
    let per_page = number("per_page", &p.per_page, mamori_app::paging::MAX_PER_PAGE);
    let (unit, unit_tree) = match crate::pages_assets::resolve_unit(state, ctx, &p.unit).await? {
        Ok(Some(u)) => (Some(u.id), u.tree),
        Ok(None) => (None, None),
        Err(e) => {
            problems.push(e);
            (None, None)
        }
    };
    if !problems.is_empty() {
        return Err(AppError::Invalid(problems));
    }
    Ok(AssetQuery {
        q: p.q,
        unit,
        unit_tree,
        kind: p.kind,
        zone: p.zone,
        c_min: p.c_min,
        i_min: p.i_min,
        a_min: p.a_min,
        personal: p.personal,
        overdue: p.overdue,
        retired: p.retired,
        sort: p.sort,
        page,
        per_page,
    })
}

/// An asset with what its page shows: the row's fields, the classification in both languages, the 取扱制限,
/// the checks' findings and the history.
fn asset_json(d: &AssetDetail) -> serde_json::Value {
    let mut v = json!(d.row);
    if let Some(map) = v.as_object_mut() {
        map.insert("label_ja".to_owned(), json!(d.label_ja));
        map.insert("label_en".to_owned(), json!(d.label_en));
        map.insert("restrictions".to_owned(), json!(d.restrictions));
        map.insert("findings".to_owned(), json!(d.findings));
        map.insert("history".to_owned(), json!(d.history));
        map.insert("editable".to_owned(), json!(d.editable));
    }
    v
}

async fn list_assets(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(p): Query<AssetListParams>,
) -> ApiResult {
    let q = asset_query(&state, &ctx, p)
        .await
        .map_err(|e| ctx.fail(e))?;
    let scheme = assets::scheme(
        &state.app,
        state.app.store().conn(),
        ctx.actor.municipality_id,
    )
    .await
    .map_err(|e| ctx.fail(e))?;
    let page = assets::list(&state.app, &ctx.actor, &scheme, &q)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(json!({
        "rows": page.rows, "total": page.total, "total_is_exact": page.total_is_exact,
        "page": page.page, "per_page": page.per_page,
    }))
}

async fn get_asset(State(state): State<Arc<AppState>>, ctx: Ctx, Path(id): Path<i64>) -> ApiResult {
    let d = assets::get(&state.app, &ctx.actor, id)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(asset_json(&d))
}

async fn create_asset(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Json(input): Json<AssetInput>,
) -> ApiResult {
    let editor = ctx
        .actor
        .asset_editor()
        .ok_or_else(|| ctx.fail(AppError::Forbidden))?;
    let id = assets::create(
        &state.app,
        &editor,
        &ctx.actor.audit_actor(),
        &input.from_form(),
    )
    .await
    .map_err(|e| ctx.fail(e))?;
    let d = assets::get(&state.app, &ctx.actor, id)
        .await
        .map_err(|e| ctx.fail(e))?;
    created(asset_json(&d))
}

/// A full replacement, like the form: a field left out is emptied.
async fn update_asset(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(input): Json<AssetInput>,
) -> ApiResult {
    let editor = ctx
        .actor
        .asset_editor()
        .ok_or_else(|| ctx.fail(AppError::Forbidden))?;
    assets::update(
        &state.app,
        &editor,
        &ctx.actor.audit_actor(),
        id,
        &input.from_form(),
    )
    .await
    .map_err(|e| ctx.fail(e))?;
    let d = assets::get(&state.app, &ctx.actor, id)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(asset_json(&d))
}

#[derive(serde::Deserialize, Default)]
struct RetireBody {
    /// 廃止日 (2026-05-19, 令和8年5月19日, R8.5.19 …); today when absent or empty.
    #[serde(default)]
    retired_on: Option<String>,
}

/// The retirement date of a retire request: `{"retired_on": "…"}`, or today when the body is left out.
fn retired_on(body: &[u8]) -> Result<Option<chrono::NaiveDate>, AppError> {
    let body: RetireBody = if body.iter().all(u8::is_ascii_whitespace) {
        RetireBody::default()
    } else {
        serde_json::from_slice(body).map_err(|e| {
            AppError::Invalid(vec![
                FieldError::new("body", "err-json").with("reason", e.to_string()),
            ])
        })?
    };
    mamori_app::optional_date(body.retired_on.as_deref().unwrap_or_default()).map_err(|mut e| {
        e.field = "retired_on".to_owned();
        AppError::Invalid(vec![e])
    })
}

async fn retire_asset(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> ApiResult {
    let editor = ctx
        .actor
        .asset_editor()
        .ok_or_else(|| ctx.fail(AppError::Forbidden))?;
    let on = retired_on(&body).map_err(|e| ctx.fail(e))?;
    assets::retire(&state.app, &editor, &ctx.actor.audit_actor(), id, on)
        .await
        .map_err(|e| ctx.fail(e))?;
    let d = assets::get(&state.app, &ctx.actor, id)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(asset_json(&d))
}

// ---- the zone register ----

#[derive(serde::Deserialize, Default)]
struct RegisterParams {
    /// on/1/true: include retired systems or flows.
    #[serde(default)]
    retired: Option<String>,
}

async fn list_systems(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(p): Query<RegisterParams>,
) -> ApiResult {
    let rows = systems::list(
        &state.app,
        &ctx.actor,
        mamori_app::text::checked(&p.retired),
    )
    .await
    .map_err(|e| ctx.fail(e))?;
    ok(json!({ "items": rows }))
}

async fn get_system(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> ApiResult {
    let d = systems::get(&state.app, &ctx.actor, id)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(json!(d))
}

async fn create_system(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Json(input): Json<SystemInput>,
) -> ApiResult {
    let editor = ctx
        .actor
        .system_editor()
        .ok_or_else(|| ctx.fail(AppError::Forbidden))?;
    let id = systems::create(&state.app, &editor, &ctx.actor.audit_actor(), &input)
        .await
        .map_err(|e| ctx.fail(e))?;
    let d = systems::get(&state.app, &ctx.actor, id)
        .await
        .map_err(|e| ctx.fail(e))?;
    created(json!(d))
}

/// A full replacement, like the form: a field left out is emptied.
async fn update_system(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(input): Json<SystemInput>,
) -> ApiResult {
    let editor = ctx
        .actor
        .system_editor()
        .ok_or_else(|| ctx.fail(AppError::Forbidden))?;
    systems::update(&state.app, &editor, &ctx.actor.audit_actor(), id, &input)
        .await
        .map_err(|e| ctx.fail(e))?;
    let d = systems::get(&state.app, &ctx.actor, id)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(json!(d))
}

async fn retire_system(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> ApiResult {
    let editor = ctx
        .actor
        .system_editor()
        .ok_or_else(|| ctx.fail(AppError::Forbidden))?;
    let on = retired_on(&body).map_err(|e| ctx.fail(e))?;
    systems::retire(&state.app, &editor, &ctx.actor.audit_actor(), id, on)
        .await
        .map_err(|e| ctx.fail(e))?;
    let d = systems::get(&state.app, &ctx.actor, id)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(json!(d))
}

async fn list_flows(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(p): Query<RegisterParams>,
) -> ApiResult {
    let rows = flows::list(
        &state.app,
        &ctx.actor,
        mamori_app::text::checked(&p.retired),
    )
    .await
    .map_err(|e| ctx.fail(e))?;
    ok(json!({ "items": rows }))
}

async fn get_flow(State(state): State<Arc<AppState>>, ctx: Ctx, Path(id): Path<i64>) -> ApiResult {
    let d = flows::get(&state.app, &ctx.actor, id)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(json!(d))
}

async fn create_flow(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Json(input): Json<FlowInput>,
) -> ApiResult {
    let editor = ctx
        .actor
        .system_editor()
        .ok_or_else(|| ctx.fail(AppError::Forbidden))?;
    let id = flows::create(&state.app, &editor, &ctx.actor.audit_actor(), &input)
        .await
        .map_err(|e| ctx.fail(e))?;
    let d = flows::get(&state.app, &ctx.actor, id)
        .await
        .map_err(|e| ctx.fail(e))?;
    created(json!(d))
}

async fn update_flow(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(input): Json<FlowInput>,
) -> ApiResult {
    let editor = ctx
        .actor
        .system_editor()
        .ok_or_else(|| ctx.fail(AppError::Forbidden))?;
    flows::update(&state.app, &editor, &ctx.actor.audit_actor(), id, &input)
        .await
        .map_err(|e| ctx.fail(e))?;
    let d = flows::get(&state.app, &ctx.actor, id)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(json!(d))
}

async fn retire_flow(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> ApiResult {
    let editor = ctx
        .actor
        .system_editor()
        .ok_or_else(|| ctx.fail(AppError::Forbidden))?;
    flows::retire(&state.app, &editor, &ctx.actor.audit_actor(), id)
        .await
        .map_err(|e| ctx.fail(e))?;
    let d = flows::get(&state.app, &ctx.actor, id)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(json!(d))
}

async fn list_runs(State(state): State<Arc<AppState>>, ctx: Ctx) -> ApiResult {
    let cap = ctx
        .actor
        .network_reader()
        .ok_or_else(|| ctx.fail(AppError::Forbidden))?;
    let rows = network::runs(&state.app, &cap, 500)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(json!({ "items": rows }))
}

async fn get_run(State(state): State<Arc<AppState>>, ctx: Ctx, Path(id): Path<i64>) -> ApiResult {
    let cap = ctx
        .actor
        .network_reader()
        .ok_or_else(|| ctx.fail(AppError::Forbidden))?;
    let d = network::run_detail(&state.app, &cap, id)
        .await
        .map_err(|e| ctx.fail(e))?;
    ok(json!(d))
}
