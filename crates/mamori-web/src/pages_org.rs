//! The organisation: the tree, units, facilities, staff and statutory role assignments.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use crate::ctx::{AppState, Ctx};
use crate::i18n::Tr;
use crate::page::{Cell, Field, FormPage, Page, PostButton, TablePage, pagination, urlencode};
use crate::{render, render_checked};
use mamori_app::org::{self, FacilityForm, UnitForm};
use mamori_app::roles::{self, AssignForm};
use mamori_app::staff::{self, StaffForm, StaffQuery};
use mamori_app::{AppError, AppResult, today};
use mamori_policy::{AssignmentKind, OrganKind, StatutoryRole, UnitLevel};

fn checkbox(v: bool) -> &'static str {
    if v { "on" } else { "" }
}

fn invalid_or_fail(
    ctx: &Ctx,
    e: AppError,
    form: impl FnOnce(&[mamori_app::FieldError]) -> FormPage,
) -> Response {
    match e {
        AppError::Invalid(errors) => {
            (StatusCode::UNPROCESSABLE_ENTITY, render(&form(&errors))).into_response()
        }
        other => ctx.fail(other),
    }
}

/// Units as select options, shown by full path.
async fn unit_options(state: &AppState, ctx: &Ctx) -> AppResult<Vec<(String, String)>> {
    let tree = org::tree(&state.app, &ctx.actor, false).await?;
    Ok(tree
        .into_iter()
        .map(|n| {
            let label = if n.unit.path.is_empty() {
                n.unit.name.clone()
            } else {
                n.unit.path.clone()
            };
            (n.unit.id.to_string(), format!("{} {}", n.unit.code, label))
        })
        .collect())
}

pub async fn tree(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    let tr = &ctx.tr;
    let nodes = match org::tree(&state.app, &ctx.actor, false).await {
        Ok(n) => n,
        Err(e) => return ctx.fail(e),
    };
    let rows = nodes
        .iter()
        .map(|n| {
            let u = &n.unit;
            let kind = u
                .organ_kind
                .as_deref()
                .map(|k| tr.get(&format!("organ-{k}")))
                .unwrap_or_default();
            vec![
                Cell {
                    text: u.name.clone(),
                    href: Some(format!("/org/units/{}", u.id)),
                    indent: n.depth.min(4),
                    ..Default::default()
                },
                // The code leads to the unit's staff (and below), for those who may read staff lists.
                if ctx.actor.outsider {
                    Cell::text(u.code.clone())
                } else {
                    Cell::link(
                        u.code.clone(),
                        format!("/staff?unit={}", urlencode(&u.code)),
                    )
                },
                Cell::text(tr.get(&format!("level-{}", u.level))),
                Cell::text(kind),
                Cell::text(if u.in_scope {
                    tr.get("scope-in")
                } else {
                    tr.get("scope-out")
                }),
            ]
        })
        .collect();
    let mut page = TablePage::new(
        tr,
        Page::new(tr, Some(&ctx.actor), "/org", tr.get("org-title")),
        vec![
            tr.get("field-name"),
            tr.get("field-code"),
            tr.get("field-level"),
            tr.get("field-organ-kind"),
            tr.get("field-in-scope"),
        ],
        rows,
    );
    page.summary =
        Some(tr.with("org-summary", "today", &tr.date(&today())) + " " + &tr.nendo(&today()));
    if ctx.actor.org_admin().is_some() {
        page.actions
            .push(("/org/units/new".to_owned(), tr.get("org-new-unit")));
    }
    render(&page)
}

fn unit_fields(tr: &Tr, form: &UnitForm, parents: Vec<(String, String)>) -> Vec<Field> {
    let levels = UnitLevel::ALL[1..]
        .iter()
        .map(|l| (l.code().to_owned(), tr.get(&format!("level-{}", l.code()))))
        .collect();
    let mut kinds = vec![(String::new(), String::new())];
    kinds.extend(OrganKind::ALL.iter().map(|k| {
        (
            k.code().to_owned(),
            format!(
                "{} ({})",
                tr.get(&format!("organ-{}", k.code())),
                k.clause()
            ),
        )
    }));
    vec![
        Field::new("code", tr.get("field-code"), "text", form.code.clone())
            .required()
            .hint(tr.get("hint-code")),
        Field::new("name", tr.get("field-name"), "text", form.name.clone()).required(),
        Field::new(
            "name_kana",
            tr.get("field-name-kana"),
            "text",
            form.name_kana.clone(),
        ),
        Field::new("level", tr.get("field-level"), "select", form.level.clone()).options(levels),
        Field::new(
            "organ_kind",
            tr.get("field-organ-kind"),
            "select",
            form.organ_kind.clone(),
        )
        .options(kinds)
        .hint(tr.get("hint-organ-kind")),
        Field::new(
            "parent_id",
            tr.get("field-parent"),
            "select",
            form.parent_id.clone(),
        )
        .options(parents),
        Field::new(
            "in_scope",
            tr.get("field-in-scope"),
            "checkbox",
            form.in_scope.clone().unwrap_or_default(),
        )
        .hint(tr.get("hint-in-scope")),
    ]
}

async fn unit_form_page(
    state: &AppState,
    ctx: &Ctx,
    action: &str,
    title: String,
    form: &UnitForm,
    errors: &[mamori_app::FieldError],
) -> Response {
    let parents = match unit_options(state, ctx).await {
        Ok(p) => p,
        Err(e) => return ctx.fail(e),
    };
    let page = FormPage::new(
        Page::new(&ctx.tr, Some(&ctx.actor), &ctx.path, title),
        action,
        unit_fields(&ctx.tr, form, parents),
        ctx.tr.get("action-save"),
    )
    .with_errors(&ctx.tr, errors);
    render_checked(errors.is_empty(), &page)
}

pub async fn new_unit(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    if ctx.actor.org_admin().is_none() {
        return ctx.fail(AppError::Forbidden);
    }
    let form = UnitForm {
        in_scope: Some("on".to_owned()),
        level: "division".to_owned(),
        ..Default::default()
    };
    unit_form_page(
        &state,
        &ctx,
        "/org/units",
        ctx.tr.get("org-new-unit"),
        &form,
        &[],
    )
    .await
}

pub async fn create_unit(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Form(form): Form<UnitForm>,
) -> Response {
    let Some(cap) = ctx.actor.org_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    match org::create_unit(&state.app, &cap, &ctx.actor.audit_actor(), &form).await {
        Ok(u) => Redirect::to(&format!("/org/units/{}", u.id)).into_response(),
        Err(AppError::Invalid(errors)) => {
            unit_form_page(
                &state,
                &ctx,
                "/org/units",
                ctx.tr.get("org-new-unit"),
                &form,
                &errors,
            )
            .await
        }
        Err(e) => ctx.fail(e),
    }
}

pub async fn unit(State(state): State<Arc<AppState>>, ctx: Ctx, Path(id): Path<i64>) -> Response {
    let u = match org::unit(&state.app, &ctx.actor, id).await {
        Ok(u) => u,
        Err(e) => return ctx.fail(e),
    };
    let form = UnitForm {
        code: u.code.clone(),
        name: u.name.clone(),
        name_kana: u.name_kana.clone(),
        level: u.level.clone(),
        organ_kind: u.organ_kind.clone().unwrap_or_default(),
        parent_id: u.parent_id.map(|p| p.to_string()).unwrap_or_default(),
        in_scope: Some(checkbox(u.in_scope).to_owned()),
    };
    let title = if u.path.is_empty() {
        u.name.clone()
    } else {
        u.path.clone()
    };
    if ctx.actor.org_admin().is_some() && u.parent_id.is_some() {
        return unit_form_page(&state, &ctx, &format!("/org/units/{id}"), title, &form, &[]).await;
    }
    let tr = &ctx.tr;
    let rows = vec![
        vec![Cell::text(tr.get("field-code")), Cell::text(u.code.clone())],
        vec![Cell::text(tr.get("field-name")), Cell::text(u.name.clone())],
        vec![
            Cell::text(tr.get("field-name-kana")),
            Cell::text(u.name_kana.clone()),
        ],
        vec![
            Cell::text(tr.get("field-level")),
            Cell::text(tr.get(&format!("level-{}", u.level))),
        ],
        vec![
            Cell::text(tr.get("field-in-scope")),
            Cell::text(if u.in_scope {
                tr.get("scope-in")
            } else {
                tr.get("scope-out")
            }),
        ],
    ];
    render(&TablePage::new(
        tr,
        Page::new(tr, Some(&ctx.actor), &ctx.path, title),
        vec![String::new(), String::new()],
        rows,
    ))
}

pub async fn update_unit(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<UnitForm>,
) -> Response {
    let Some(cap) = ctx.actor.org_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    match org::update_unit(&state.app, &cap, &ctx.actor.audit_actor(), id, &form).await {
        Ok(u) => Redirect::to(&format!("/org/units/{}", u.id)).into_response(),
        Err(AppError::Invalid(errors)) => {
            unit_form_page(
                &state,
                &ctx,
                &format!("/org/units/{id}"),
                ctx.tr.get("org-edit-unit"),
                &form,
                &errors,
            )
            .await
        }
        Err(e) => ctx.fail(e),
    }
}

// ---- facilities ----

pub async fn facilities(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    let tr = &ctx.tr;
    let list = match org::facilities(&state.app, &ctx.actor).await {
        Ok(l) => l,
        Err(e) => return ctx.fail(e),
    };
    let rows = list
        .iter()
        .map(|(f, u)| {
            vec![
                Cell::link(f.code.clone(), format!("/facilities/{}", f.id)),
                Cell::text(f.name.clone()),
                Cell::text(f.address.clone()),
                Cell::text(u.path.clone()),
                Cell::text(if f.connected_outside {
                    tr.get("yes")
                } else {
                    String::new()
                }),
            ]
        })
        .collect();
    let mut page = TablePage::new(
        tr,
        Page::new(
            tr,
            Some(&ctx.actor),
            "/facilities",
            tr.get("facilities-title"),
        ),
        vec![
            tr.get("field-code"),
            tr.get("field-name"),
            tr.get("field-address"),
            tr.get("field-owner"),
            tr.get("field-connected-outside"),
        ],
        rows,
    );
    if ctx.actor.org_admin().is_some() {
        page.actions
            .push(("/facilities/new".to_owned(), tr.get("facilities-new")));
    }
    render(&page)
}

async fn facility_page(
    state: &AppState,
    ctx: &Ctx,
    action: &str,
    form: &FacilityForm,
    errors: &[mamori_app::FieldError],
) -> Response {
    let tr = &ctx.tr;
    let units = match unit_options(state, ctx).await {
        Ok(u) => u,
        Err(e) => return ctx.fail(e),
    };
    let fields = vec![
        Field::new("code", tr.get("field-code"), "text", form.code.clone()).required(),
        Field::new("name", tr.get("field-name"), "text", form.name.clone()).required(),
        Field::new(
            "address",
            tr.get("field-address"),
            "text",
            form.address.clone(),
        ),
        Field::new(
            "org_unit_id",
            tr.get("field-owner"),
            "select",
            form.org_unit_id.clone(),
        )
        .options(units),
        Field::new(
            "connected_outside",
            tr.get("field-connected-outside"),
            "checkbox",
            form.connected_outside.clone().unwrap_or_default(),
        ),
        Field::new("note", tr.get("field-note"), "textarea", form.note.clone()),
    ];
    let page = FormPage::new(
        Page::new(tr, Some(&ctx.actor), &ctx.path, tr.get("facilities-title")),
        action,
        fields,
        tr.get("action-save"),
    )
    .with_errors(tr, errors);
    render_checked(errors.is_empty(), &page)
}

pub async fn new_facility(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    if ctx.actor.org_admin().is_none() {
        return ctx.fail(AppError::Forbidden);
    }
    facility_page(&state, &ctx, "/facilities", &FacilityForm::default(), &[]).await
}

pub async fn create_facility(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Form(form): Form<FacilityForm>,
) -> Response {
    let Some(cap) = ctx.actor.org_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    match org::save_facility(&state.app, &cap, &ctx.actor.audit_actor(), None, &form).await {
        Ok(f) => Redirect::to(&format!("/facilities/{}", f.id)).into_response(),
        Err(AppError::Invalid(errors)) => {
            facility_page(&state, &ctx, "/facilities", &form, &errors).await
        }
        Err(e) => ctx.fail(e),
    }
}

pub async fn facility(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Response {
    let (f, _) = match org::facility(&state.app, &ctx.actor, id).await {
        Ok(f) => f,
        Err(e) => return ctx.fail(e),
    };
    let form = FacilityForm {
        code: f.code,
        name: f.name,
        address: f.address,
        org_unit_id: f.org_unit_id.to_string(),
        connected_outside: Some(checkbox(f.connected_outside).to_owned()),
        note: f.note,
    };
    facility_page(&state, &ctx, &format!("/facilities/{id}"), &form, &[]).await
}

pub async fn update_facility(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<FacilityForm>,
) -> Response {
    let Some(cap) = ctx.actor.org_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    match org::save_facility(&state.app, &cap, &ctx.actor.audit_actor(), Some(id), &form).await {
        Ok(f) => Redirect::to(&format!("/facilities/{}", f.id)).into_response(),
        Err(e) => invalid_or_fail(&ctx, e, |errors| {
            FormPage::new(
                Page::new(
                    &ctx.tr,
                    Some(&ctx.actor),
                    &ctx.path,
                    ctx.tr.get("facilities-title"),
                ),
                &ctx.path,
                Vec::new(),
                ctx.tr.get("action-save"),
            )
            .with_errors(&ctx.tr, errors)
        }),
    }
}

// ---- staff ----

fn query_string(raw: &StaffListQuery) -> String {
    let mut parts: Vec<String> = [("q", &raw.q), ("unit", &raw.unit), ("kind", &raw.kind)]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect();
    if raw.all.is_some() {
        parts.push("all=on".to_owned());
    }
    parts.join("&")
}

#[derive(serde::Deserialize, Default)]
pub struct StaffListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    all: Option<String>,
    #[serde(default)]
    page: Option<u64>,
}

pub async fn staff_list(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(raw): Query<StaffListQuery>,
) -> Response {
    let tr = &ctx.tr;
    // The unit filter takes a 組織コード (what staff know), or an id from a link on the org tree.
    let (unit, unit_unknown) = if raw.unit.trim().is_empty() {
        (None, false)
    } else {
        let code = raw.unit.trim().to_uppercase();
        match mamori_app::org::unit_by_code(
            state.app.store().conn(),
            ctx.actor.municipality_id,
            &code,
        )
        .await
        {
            Ok(Some(u)) => (Some(u.id), false),
            Ok(None) => match raw.unit.trim().parse::<i64>() {
                Ok(id) => (Some(id), false),
                Err(_) => (Some(0), true),
            },
            Err(e) => return ctx.fail(e),
        }
    };
    let q = StaffQuery {
        q: raw.q.chars().take(100).collect(),
        unit,
        kind: raw.kind.parse().ok(),
        all: raw.all.clone(),
        sort: None,
        page: raw.page,
        per_page: Some(50),
    };
    let list = match staff::list(&state.app, &ctx.actor, &q).await {
        Ok(l) => l,
        Err(e) => return ctx.fail(e),
    };
    let kinds = match staff::kinds(state.app.store().conn(), ctx.actor.municipality_id).await {
        Ok(k) => k,
        Err(e) => return ctx.fail(e),
    };
    let rows = list
        .rows
        .iter()
        .map(|s| {
            vec![
                Cell::link(s.staff_no.clone(), format!("/staff/{}", s.id)),
                Cell::text(s.name.clone()),
                Cell::text(s.name_kana.clone()),
                Cell::text(s.org_unit_path.clone()),
                Cell::text(s.kind.clone()),
                Cell::text(if s.active {
                    String::new()
                } else {
                    tr.get("staff-left")
                }),
            ]
        })
        .collect();
    let mut page = TablePage::new(
        tr,
        Page::new(tr, Some(&ctx.actor), "/staff", tr.get("staff-title")),
        vec![
            tr.get("field-staff-no"),
            tr.get("field-name"),
            tr.get("field-name-kana"),
            tr.get("field-unit"),
            tr.get("field-staff-kind"),
            tr.get("field-state"),
        ],
        rows,
    );
    let mut kind_options = vec![(String::new(), String::new())];
    kind_options.extend(kinds.iter().map(|k| {
        (
            k.id.to_string(),
            if tr.lang == crate::i18n::Lang::Ja {
                k.name_ja.clone()
            } else {
                k.name_en.clone()
            },
        )
    }));
    page.filters = vec![
        Field::new("q", tr.get("field-search"), "text", q.q.clone()),
        Field::new(
            "unit",
            tr.get("field-unit-code-below"),
            "text",
            raw.unit.clone(),
        ),
        Field::new(
            "kind",
            tr.get("field-staff-kind"),
            "select",
            raw.kind.clone(),
        )
        .options(kind_options),
        Field::new(
            "all",
            tr.get("field-include-left"),
            "checkbox",
            raw.all.clone().unwrap_or_default(),
        ),
    ];
    let count_key = if list.total_is_exact {
        "list-count"
    } else {
        "list-count-over"
    };
    page.summary = Some(tr.with(count_key, "count", &list.total.to_string()));
    if unit_unknown {
        page.page.notice = Some(tr.with("err-unit-unknown", "value", raw.unit.trim()));
    }
    page.pages = pagination(
        "/staff",
        &query_string(&raw),
        list.page,
        list.per_page,
        list.total,
    );
    if ctx.actor.org_admin().is_some() {
        page.actions
            .push(("/staff/new".to_owned(), tr.get("staff-new")));
        page.actions
            .push(("/staff/kinds".to_owned(), tr.get("kinds-title")));
    }
    render(&page)
}

async fn staff_page(
    state: &AppState,
    ctx: &Ctx,
    action: &str,
    form: &StaffForm,
    errors: &[mamori_app::FieldError],
) -> Response {
    let tr = &ctx.tr;
    let (units, kinds) = match (
        unit_options(state, ctx).await,
        staff::kinds(state.app.store().conn(), ctx.actor.municipality_id).await,
    ) {
        (Ok(u), Ok(k)) => (u, k),
        (Err(e), _) | (_, Err(e)) => return ctx.fail(e),
    };
    let kind_options = kinds
        .iter()
        .map(|k| {
            (
                k.code.clone(),
                if tr.lang == crate::i18n::Lang::Ja {
                    k.name_ja.clone()
                } else {
                    k.name_en.clone()
                },
            )
        })
        .collect();
    let fields = vec![
        Field::new(
            "staff_no",
            tr.get("field-staff-no"),
            "text",
            form.staff_no.clone(),
        )
        .required(),
        Field::new("name", tr.get("field-name"), "text", form.name.clone()).required(),
        Field::new(
            "name_kana",
            tr.get("field-name-kana"),
            "text",
            form.name_kana.clone(),
        ),
        Field::new("email", tr.get("field-email"), "email", form.email.clone()),
        Field::new(
            "kind",
            tr.get("field-staff-kind"),
            "select",
            form.kind.clone(),
        )
        .options(kind_options),
        Field::new(
            "org_unit_id",
            tr.get("field-unit"),
            "select",
            form.org_unit_id.clone(),
        )
        .options(units),
        Field::new(
            "active",
            tr.get("field-active"),
            "checkbox",
            form.active.clone().unwrap_or_default(),
        ),
    ];
    let page = FormPage::new(
        Page::new(tr, Some(&ctx.actor), &ctx.path, tr.get("staff-title")),
        action,
        fields,
        tr.get("action-save"),
    )
    .with_errors(tr, errors);
    render_checked(errors.is_empty(), &page)
}

pub async fn new_staff(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    if ctx.actor.org_admin().is_none() {
        return ctx.fail(AppError::Forbidden);
    }
    let form = StaffForm {
        kind: "regular".to_owned(),
        active: Some("on".to_owned()),
        ..Default::default()
    };
    staff_page(&state, &ctx, "/staff", &form, &[]).await
}

pub async fn create_staff(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Form(form): Form<StaffForm>,
) -> Response {
    let Some(cap) = ctx.actor.org_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    match staff::create(&state.app, &cap, &ctx.actor.audit_actor(), &form).await {
        Ok(s) => Redirect::to(&format!("/staff/{}", s.id)).into_response(),
        Err(AppError::Invalid(errors)) => staff_page(&state, &ctx, "/staff", &form, &errors).await,
        Err(e) => ctx.fail(e),
    }
}

pub async fn staff(State(state): State<Arc<AppState>>, ctx: Ctx, Path(id): Path<i64>) -> Response {
    let s = match staff::get(&state.app, &ctx.actor, id).await {
        Ok(s) => s,
        Err(e) => return ctx.fail(e),
    };
    let tr = &ctx.tr;
    if ctx.actor.org_admin().is_some() {
        let kinds = staff::kinds(state.app.store().conn(), ctx.actor.municipality_id)
            .await
            .unwrap_or_default();
        let form = StaffForm {
            staff_no: s.staff_no,
            name: s.name,
            name_kana: s.name_kana,
            email: s.email,
            kind: kinds
                .iter()
                .find(|k| k.id == s.kind_id)
                .map(|k| k.code.clone())
                .unwrap_or_default(),
            org_unit_id: s.org_unit_id.to_string(),
            active: Some(checkbox(s.active).to_owned()),
        };
        return staff_page(&state, &ctx, &format!("/staff/{id}"), &form, &[]).await;
    }
    let rows = vec![
        vec![Cell::text(tr.get("field-staff-no")), Cell::text(s.staff_no)],
        vec![Cell::text(tr.get("field-name")), Cell::text(s.name)],
        vec![
            Cell::text(tr.get("field-name-kana")),
            Cell::text(s.name_kana),
        ],
        vec![Cell::text(tr.get("field-email")), Cell::text(s.email)],
        vec![
            Cell::text(tr.get("field-unit")),
            Cell::text(s.org_unit_path),
        ],
        vec![Cell::text(tr.get("field-staff-kind")), Cell::text(s.kind)],
    ];
    render(&TablePage::new(
        tr,
        Page::new(tr, Some(&ctx.actor), &ctx.path, tr.get("staff-title")),
        vec![String::new(), String::new()],
        rows,
    ))
}

pub async fn update_staff(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<StaffForm>,
) -> Response {
    let Some(cap) = ctx.actor.org_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    match staff::update(&state.app, &cap, &ctx.actor.audit_actor(), id, &form).await {
        Ok(s) => Redirect::to(&format!("/staff/{}", s.id)).into_response(),
        Err(AppError::Invalid(errors)) => {
            staff_page(&state, &ctx, &format!("/staff/{id}"), &form, &errors).await
        }
        Err(e) => ctx.fail(e),
    }
}

// ---- statutory roles ----

#[derive(serde::Deserialize, Default)]
pub struct RolesQuery {
    #[serde(default)]
    on: String,
}

pub async fn roles(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(q): Query<RolesQuery>,
) -> Response {
    let tr = &ctx.tr;
    let on = if q.on == "all" {
        None
    } else {
        Some(mamori_policy::parse_date(&q.on).unwrap_or_else(today))
    };
    let list = match roles::list(&state.app, &ctx.actor, on).await {
        Ok(l) => l,
        Err(e) => return ctx.fail(e),
    };
    let admin = ctx.actor.org_admin().is_some();
    let rows = list
        .iter()
        .map(|r| {
            vec![
                Cell::text(tr.get(&format!("role-{}", r.role.code()))),
                Cell::text(r.scope_name.clone()),
                Cell::link(
                    format!("{} {}", r.staff_no, r.staff_name),
                    format!("/staff/{}", r.staff_id),
                ),
                Cell::text(tr.get(&format!("assignment-{}", r.kind.code()))),
                Cell::text(tr.date(&r.valid_from)),
                Cell::text(tr.opt_date(&r.valid_to)),
            ]
        })
        .collect();
    let mut page = TablePage::new(
        tr,
        Page::new(tr, Some(&ctx.actor), "/roles", tr.get("roles-title")),
        vec![
            tr.get("field-role"),
            tr.get("field-post"),
            tr.get("field-person"),
            tr.get("field-assignment-kind"),
            tr.get("field-valid-from"),
            tr.get("field-valid-to"),
        ],
        rows,
    );
    page.filters = vec![Field::new(
        "on",
        tr.get("field-as-of"),
        "text",
        q.on.clone(),
    )];
    if admin {
        page.actions
            .push(("/roles/new".to_owned(), tr.get("roles-new")));
        page.post_forms = list
            .iter()
            .filter(|r| r.valid_to.is_none())
            .map(|r| PostButton {
                action: format!("/roles/{}/end", r.id),
                label: tr.args(
                    "roles-end",
                    &[
                        ("role", tr.get(&format!("role-{}", r.role.code()))),
                        ("person", r.staff_name.clone()),
                    ],
                ),
                hidden: vec![("valid_to".to_owned(), today().to_string())],
            })
            .collect();
    }
    render(&page)
}

async fn role_page(
    state: &AppState,
    ctx: &Ctx,
    form: &AssignForm,
    errors: &[mamori_app::FieldError],
) -> Response {
    let tr = &ctx.tr;
    let units = match unit_options(state, ctx).await {
        Ok(u) => u,
        Err(e) => return ctx.fail(e),
    };
    let role_options = StatutoryRole::ALL
        .iter()
        .map(|r| (r.code().to_owned(), tr.get(&format!("role-{}", r.code()))))
        .collect();
    let kind_options = AssignmentKind::ALL
        .iter()
        .map(|k| {
            (
                k.code().to_owned(),
                tr.get(&format!("assignment-{}", k.code())),
            )
        })
        .collect();
    let fields = vec![
        Field::new("role", tr.get("field-role"), "select", form.role.clone()).options(role_options),
        Field::new(
            "scope_unit_id",
            tr.get("field-post"),
            "select",
            form.scope_unit_id.clone(),
        )
        .options(units)
        .hint(tr.get("hint-post")),
        Field::new(
            "staff",
            tr.get("field-staff-no"),
            "text",
            form.staff.clone(),
        )
        .required(),
        Field::new(
            "kind",
            tr.get("field-assignment-kind"),
            "select",
            form.kind.clone(),
        )
        .options(kind_options),
        Field::new(
            "valid_from",
            tr.get("field-valid-from"),
            "text",
            form.valid_from.clone(),
        )
        .required()
        .hint(tr.get("hint-date")),
        Field::new(
            "valid_to",
            tr.get("field-valid-to"),
            "text",
            form.valid_to.clone(),
        )
        .hint(tr.get("hint-date")),
        Field::new("note", tr.get("field-note"), "text", form.note.clone()),
    ];
    let page = FormPage::new(
        Page::new(tr, Some(&ctx.actor), "/roles/new", tr.get("roles-new")),
        "/roles",
        fields,
        tr.get("action-save"),
    )
    .with_errors(tr, errors);
    render_checked(errors.is_empty(), &page)
}

pub async fn new_role(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    if ctx.actor.org_admin().is_none() {
        return ctx.fail(AppError::Forbidden);
    }
    let form = AssignForm {
        valid_from: today().to_string(),
        kind: "primary".to_owned(),
        ..Default::default()
    };
    role_page(&state, &ctx, &form, &[]).await
}

pub async fn assign_role(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Form(form): Form<AssignForm>,
) -> Response {
    let Some(cap) = ctx.actor.org_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    match roles::assign(&state.app, &cap, &ctx.actor.audit_actor(), &form).await {
        Ok(_) => Redirect::to("/roles").into_response(),
        Err(AppError::Invalid(errors)) => role_page(&state, &ctx, &form, &errors).await,
        Err(e) => ctx.fail(e),
    }
}

#[derive(serde::Deserialize)]
pub struct EndForm {
    #[serde(default)]
    valid_to: String,
}

pub async fn end_role(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<EndForm>,
) -> Response {
    let Some(cap) = ctx.actor.org_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    match roles::end(&state.app, &cap, &ctx.actor.audit_actor(), id, &f.valid_to).await {
        Ok(()) => Redirect::to("/roles").into_response(),
        Err(e) => ctx.fail(e),
    }
}

// ---- staff kinds (職員区分: clause 5 lists kinds "等", so the list is open) ----

#[derive(serde::Deserialize, Default)]
pub struct KindForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name_ja: String,
    #[serde(default)]
    name_en: String,
}

async fn kinds_page(
    state: &AppState,
    ctx: &Ctx,
    form: &KindForm,
    errors: &[mamori_app::FieldError],
) -> Response {
    let tr = &ctx.tr;
    let kinds = match staff::kinds(state.app.store().conn(), ctx.actor.municipality_id).await {
        Ok(k) => k,
        Err(e) => return ctx.fail(e),
    };
    let mut page = FormPage::new(
        Page::new(tr, Some(&ctx.actor), "/staff/kinds", tr.get("kinds-title")),
        "/staff/kinds",
        vec![
            Field::new("code", tr.get("field-kind-code"), "text", form.code.clone())
                .required()
                .hint(tr.get("hint-code")),
            Field::new(
                "name_ja",
                tr.get("field-name-ja"),
                "text",
                form.name_ja.clone(),
            )
            .required(),
            Field::new(
                "name_en",
                tr.get("field-name-en"),
                "text",
                form.name_en.clone(),
            )
            .required(),
        ],
        tr.get("kinds-add"),
    )
    .with_errors(tr, errors);
    page.intro = Some(
        kinds
            .iter()
            .map(|k| format!("{} {} / {}", k.code, k.name_ja, k.name_en))
            .collect::<Vec<_>>()
            .join("、"),
    );
    render_checked(errors.is_empty(), &page)
}

pub async fn kinds(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    if ctx.actor.org_admin().is_none() {
        return ctx.fail(AppError::Forbidden);
    }
    kinds_page(&state, &ctx, &KindForm::default(), &[]).await
}

pub async fn add_kind(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Form(form): Form<KindForm>,
) -> Response {
    let Some(cap) = ctx.actor.org_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    match staff::add_kind(
        &state.app,
        &cap,
        &ctx.actor.audit_actor(),
        &form.code,
        &form.name_ja,
        &form.name_en,
    )
    .await
    {
        Ok(_) => Redirect::to("/staff/kinds").into_response(),
        Err(AppError::Invalid(errors)) => kinds_page(&state, &ctx, &form, &errors).await,
        Err(e) => ctx.fail(e),
    }
}
