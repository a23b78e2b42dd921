//! 6(1) 人事異動 and 組織改正: upload the sheets, see every change before it happens, apply now or on the date.

use std::sync::Arc;

use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use crate::ctx::{AppState, Ctx};
use crate::error::field_message;
use crate::page::{Cell, Field, FormPage, Page, PostButton, TablePage};
use crate::{render, render_checked};
use mamori_app::changeset::{self, Upload};
use mamori_app::{AppError, FieldError};

/// Largest upload accepted for the two sheets together.
pub const MAX_UPLOAD_BYTES: usize = 16 * 1024 * 1024;

pub async fn list(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    let Some(cap) = ctx.actor.org_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    let tr = &ctx.tr;
    let sets = match changeset::list(&state.app, &cap).await {
        Ok(s) => s,
        Err(e) => return ctx.fail(e),
    };
    let rows = sets
        .iter()
        .map(|c| {
            vec![
                Cell::link(c.title.clone(), format!("/changes/{}", c.id)),
                Cell::text(tr.date(&c.effective_on)),
                Cell::text(tr.get(&format!("cs-status-{}", c.status))),
                Cell::text(c.source_name.clone()),
                Cell::text(tr.time(&c.created_at)),
            ]
        })
        .collect();
    let mut page = TablePage::new(
        tr,
        Page::new(tr, Some(&ctx.actor), "/changes", tr.get("cs-title")),
        vec![
            tr.get("field-title"),
            tr.get("field-effective-on"),
            tr.get("field-state"),
            tr.get("field-source"),
            tr.get("field-created"),
        ],
        rows,
    );
    page.actions
        .push(("/changes/new".to_owned(), tr.get("cs-new")));
    render(&page)
}

#[derive(Default)]
struct UploadForm {
    title: String,
    effective_on: String,
    units: Option<(String, Vec<u8>)>,
    staff: Option<(String, Vec<u8>)>,
}

fn upload_page(ctx: &Ctx, form: &UploadForm, errors: &[FieldError]) -> Response {
    let tr = &ctx.tr;
    let fields = vec![
        Field::new("title", tr.get("field-title"), "text", form.title.clone()).required(),
        Field::new(
            "effective_on",
            tr.get("field-effective-on"),
            "text",
            form.effective_on.clone(),
        )
        .required()
        .hint(tr.get("hint-date")),
        Field::new("units_file", tr.get("field-units-file"), "file", "")
            .hint(tr.get("hint-units-file")),
        Field::new("staff_file", tr.get("field-staff-file"), "file", "")
            .hint(tr.get("hint-staff-file")),
    ];
    let mut page = FormPage::new(
        Page::new(tr, Some(&ctx.actor), "/changes/new", tr.get("cs-new")),
        "/changes",
        fields,
        tr.get("cs-upload"),
    )
    .with_errors(tr, errors);
    page.multipart = true;
    page.intro = Some(tr.get("cs-intro"));
    render_checked(errors.is_empty(), &page)
}

pub async fn new(ctx: Ctx) -> Response {
    if ctx.actor.org_admin().is_none() {
        return ctx.fail(AppError::Forbidden);
    }
    upload_page(&ctx, &UploadForm::default(), &[])
}

async fn read_form(mut multipart: Multipart) -> Result<UploadForm, FieldError> {
    let mut form = UploadForm::default();
    let broken = |e: axum::extract::multipart::MultipartError| {
        FieldError::new("file", "err-upload").with("reason", e.body_text())
    };
    while let Some(field) = multipart.next_field().await.map_err(broken)? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(broken)?;
        match name.as_str() {
            "title" => form.title = String::from_utf8_lossy(&bytes).into_owned(),
            "effective_on" => form.effective_on = String::from_utf8_lossy(&bytes).into_owned(),
            "units_file" if !bytes.is_empty() => form.units = Some((file_name, bytes.to_vec())),
            "staff_file" if !bytes.is_empty() => form.staff = Some((file_name, bytes.to_vec())),
            _ => {}
        }
    }
    Ok(form)
}

pub async fn upload(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    multipart: Multipart,
) -> Response {
    let Some(cap) = ctx.actor.org_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    let form = match read_form(multipart).await {
        Ok(f) => f,
        Err(e) => return upload_page(&ctx, &UploadForm::default(), &[e]),
    };
    let upload = |f: &'_ Option<(String, Vec<u8>)>| {
        f.as_ref()
            .map(|(name, bytes)| (name.clone(), bytes.clone()))
    };
    let (units, staff) = (upload(&form.units), upload(&form.staff));
    let payload = changeset::read_payload(
        units.as_ref().map(|(name, bytes)| Upload { name, bytes }),
        staff.as_ref().map(|(name, bytes)| Upload { name, bytes }),
    );
    let payload = match payload {
        Ok(p) => p,
        Err(AppError::Invalid(errors)) => return upload_page(&ctx, &form, &errors),
        Err(e) => return ctx.fail(e),
    };
    let source: Vec<&str> = [&form.units, &form.staff]
        .iter()
        .filter_map(|f| f.as_ref().map(|(n, _)| n.as_str()))
        .collect();
    match changeset::create(
        &state.app,
        &cap,
        &ctx.actor.audit_actor(),
        &form.title,
        &form.effective_on,
        &source.join(", "),
        &payload,
    )
    .await
    {
        Ok(cs) => Redirect::to(&format!("/changes/{}", cs.id)).into_response(),
        Err(AppError::Invalid(errors)) => upload_page(&ctx, &form, &errors),
        Err(e) => ctx.fail(e),
    }
}

pub async fn show(State(state): State<Arc<AppState>>, ctx: Ctx, Path(id): Path<i64>) -> Response {
    let Some(cap) = ctx.actor.org_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    let tr = &ctx.tr;
    let (cs, _) = match changeset::get(&state.app, &cap, id).await {
        Ok(c) => c,
        Err(e) => return ctx.fail(e),
    };
    let open = cs.status == "draft" || cs.status == "scheduled" || cs.status == "failed";
    // A set not yet applied is previewed against today's organisation; an applied one shows its record.
    let preview = if open {
        Some(changeset::preview(&state.app, &cap, &ctx.actor.audit_actor(), id).await)
    } else {
        None
    };
    let (rows, problems) = match preview {
        Some(Ok(lines)) => (
            lines
                .iter()
                .map(|l| {
                    vec![
                        Cell::text(tr.get(&format!("sheet-{}", l.sheet))),
                        Cell::text(l.line.to_string()),
                        Cell::text(tr.args(l.key, &l.args)),
                    ]
                })
                .collect(),
            Vec::new(),
        ),
        Some(Err(AppError::Invalid(errors))) => (
            errors
                .iter()
                .map(|e| {
                    vec![
                        Cell::text(crate::error::field_place(tr, &e.field)),
                        Cell::text(String::new()),
                        Cell::text(field_message(tr, e)),
                    ]
                })
                .collect(),
            errors,
        ),
        Some(Err(e)) => return ctx.fail(e),
        None => (
            vec![vec![
                Cell::text(String::new()),
                Cell::text(String::new()),
                Cell::text(cs.result.clone()),
            ]],
            Vec::new(),
        ),
    };
    let mut page = TablePage::new(
        tr,
        Page::new(tr, Some(&ctx.actor), &ctx.path, cs.title.clone()),
        vec![
            tr.get("field-sheet"),
            tr.get("field-row"),
            tr.get("cs-change"),
        ],
        rows,
    );
    page.summary = Some(tr.args(
        "cs-summary",
        &[
            ("date", tr.date(&cs.effective_on)),
            ("status", tr.get(&format!("cs-status-{}", cs.status))),
            ("problems", problems.len().to_string()),
        ],
    ));
    if open && problems.is_empty() {
        page.post_forms.push(PostButton {
            action: format!("/changes/{id}/apply"),
            label: tr.get("cs-apply-now"),
            hidden: Vec::new(),
        });
        if cs.status != "scheduled" {
            page.post_forms.push(PostButton {
                action: format!("/changes/{id}/schedule"),
                label: tr.with("cs-schedule", "date", &tr.date(&cs.effective_on)),
                hidden: Vec::new(),
            });
        }
    }
    if open {
        page.post_forms.push(PostButton {
            action: format!("/changes/{id}/cancel"),
            label: tr.get("cs-cancel"),
            hidden: Vec::new(),
        });
    }
    page.actions
        .push(("/changes".to_owned(), tr.get("cs-title")));
    render(&page)
}

pub async fn apply(State(state): State<Arc<AppState>>, ctx: Ctx, Path(id): Path<i64>) -> Response {
    let Some(cap) = ctx.actor.org_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    match changeset::apply(&state.app, &cap, &ctx.actor.audit_actor(), id).await {
        Ok(_) | Err(AppError::Invalid(_)) => {
            Redirect::to(&format!("/changes/{id}")).into_response()
        }
        Err(e) => ctx.fail(e),
    }
}

pub async fn schedule(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Response {
    set_scheduled(state, ctx, id, true).await
}

pub async fn cancel(State(state): State<Arc<AppState>>, ctx: Ctx, Path(id): Path<i64>) -> Response {
    set_scheduled(state, ctx, id, false).await
}

async fn set_scheduled(state: Arc<AppState>, ctx: Ctx, id: i64, scheduled: bool) -> Response {
    let Some(cap) = ctx.actor.org_admin() else {
        return ctx.fail(AppError::Forbidden);
    };
    match changeset::set_scheduled(&state.app, &cap, &ctx.actor.audit_actor(), id, scheduled).await
    {
        Ok(()) => Redirect::to(&format!("/changes/{id}")).into_response(),
        Err(e) => ctx.fail(e),
    }
}
