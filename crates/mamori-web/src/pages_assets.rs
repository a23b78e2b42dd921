//! 6(2) 情報資産管理台帳: the asset register — the list with its filters and exports, an asset's page (its
//! classification, 取扱制限, what the checks find, its history), the forms, and the import of a 課's sheet.
//! `mamori-app` decides who sees and changes what; this module only asks and renders.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::body::{Body, Bytes};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;

use crate::ctx::{AppState, Ctx};
use crate::error::field_message;
use crate::i18n::Tr;
use crate::page::{Cell, Field, FormPage, MessagePage, Page, TablePage, pagination, urlencode};
use crate::pages_changes::MAX_UPLOAD_BYTES;
use crate::{render, render_checked};
use mamori_app::assets::sheet::{self as asset_sheet, ExportFormat, ImportReport, RowAction};
use mamori_app::assets::{self, AssetDetail, AssetEditor, AssetInput, AssetQuery, AssetRow};
use mamori_app::{AppError, AppResult, FieldError, today};
use mamori_policy::{AssetKind, Axis, MyNumberWork, Scheme, Zone};
use mamori_sheet::EncodingChoice;

/// Rows of an import report shown on the page; the rest are counted.
const REPORT_ROWS: usize = 1_000;

/// The message key of an asset field's label (`confidentiality` → `field-confidentiality`), for forms, the
/// import report and the history. `None` for a name that is not a field of the register.
pub fn field_label_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "asset_no" => "field-asset-no",
        "name" => "field-asset-name",
        "kind" => "field-asset-kind",
        "owner_code" => "field-asset-owner-code",
        "owner" | "owner_unit" => "field-asset-owner",
        "manager_no" => "field-asset-manager-no",
        "manager" | "manager_staff" => "field-asset-manager",
        "confidentiality" => "field-confidentiality",
        "integrity" => "field-integrity",
        "availability" => "field-availability",
        "personal" => "field-personal",
        "sensitive_personal" => "field-sensitive-personal",
        "specific_personal" => "field-specific-personal",
        "my_number_work" => "field-my-number-work",
        "pif_ref" => "field-pif-ref",
        "pia_ref" => "field-pia-ref",
        "zone" => "field-zone",
        "storage" => "field-storage",
        "media" => "field-media",
        "retention" => "field-retention",
        "disposal" => "field-disposal",
        "related_systems" => "field-related-systems",
        "notes" | "notes_set" => "field-note",
        "next_review" => "field-next-review",
        "retired_on" => "field-retired-on",
        "c_min" => "field-c-min",
        "i_min" => "field-i-min",
        "a_min" => "field-a-min",
        "unit" => "field-owner-code-below",
        "format" => "field-format",
        "file" => "field-file",
        _ => return None,
    })
}

fn label(tr: &Tr, field: &str) -> String {
    field_label_key(field)
        .map(|k| tr.get(k))
        .unwrap_or_else(|| field.to_owned())
}

/// "機密性: 「4」は…": a field error with the label of its field, for places without a field beside it.
fn labelled(tr: &Tr, e: &FieldError) -> String {
    format!("{}: {}", label(tr, &e.field), field_message(tr, e))
}

fn date_text(d: &Option<NaiveDate>) -> String {
    d.map(|d| d.format("%Y/%m/%d").to_string())
        .unwrap_or_default()
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

fn is_on(v: &Option<String>) -> bool {
    mamori_app::text::checked(v)
}

// ---- the list ----

/// The list's filters as the page's form sends them (every value text, so nothing is refused before the use
/// case explains what is wrong).
#[derive(serde::Deserialize, Default, Clone)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    /// 組織コード (or an id from a link).
    #[serde(default)]
    unit: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    zone: String,
    #[serde(default)]
    c_min: String,
    #[serde(default)]
    i_min: String,
    #[serde(default)]
    a_min: String,
    #[serde(default)]
    personal: String,
    #[serde(default)]
    overdue: Option<String>,
    #[serde(default)]
    retired: Option<String>,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: String,
    /// Export only: `xlsx`, `csv`, `csv-sjis`.
    #[serde(default)]
    format: String,
    /// Export only, with `format=csv`: `utf-8` (default) or `shift_jis`.
    #[serde(default)]
    encoding: String,
}

/// The filters as a query string (without the page), for page links and the export links.
fn query_string(raw: &ListQuery) -> String {
    let mut parts: Vec<String> = [
        ("q", &raw.q),
        ("unit", &raw.unit),
        ("kind", &raw.kind),
        ("zone", &raw.zone),
        ("c_min", &raw.c_min),
        ("i_min", &raw.i_min),
        ("a_min", &raw.a_min),
        ("personal", &raw.personal),
        ("sort", &raw.sort),
    ]
    .iter()
    .filter(|(_, v)| !v.trim().is_empty())
    .map(|(k, v)| format!("{k}={}", urlencode(v.trim())))
    .collect();
    if is_on(&raw.overdue) {
        parts.push("overdue=on".to_owned());
    }
    if is_on(&raw.retired) {
        parts.push("retired=on".to_owned());
    }
    parts.join("&")
}

/// A unit filter resolved: the unit, and the units at or under it when they were found with it.
pub(crate) struct UnitFilter {
    pub id: i64,
    pub tree: Option<Vec<i64>>,
}

/// The unit filter: a 組織コード (what staff know) or an id. `Err` carries the field error of an unknown code.
pub(crate) async fn resolve_unit(
    state: &AppState,
    ctx: &Ctx,
    unit: &str,
) -> AppResult<Result<Option<UnitFilter>, FieldError>> {
    let unit = unit.trim();
    if unit.is_empty() {
        return Ok(Ok(None));
    }
    let code = unit.to_uppercase();
    let found = mamori_app::org::unit_tree(
        state.app.store().conn(),
        ctx.actor.municipality_id,
        mamori_app::org::UnitKey::Code(&code),
    )
    .await?;
    Ok(match found {
        Some((id, tree)) => Ok(Some(UnitFilter {
            id,
            tree: Some(tree),
        })),
        None => match unit.parse::<i64>() {
            Ok(id) => Ok(Some(UnitFilter { id, tree: None })),
            Err(_) => Err(FieldError::new("unit", "err-unit-unknown").with("value", unit)),
        },
    })
}

fn to_query(raw: &ListQuery, unit: Option<UnitFilter>) -> AssetQuery {
    let (unit, unit_tree) = unit.map_or((None, None), |u| (Some(u.id), u.tree));
    AssetQuery {
        q: raw.q.chars().take(100).collect(),
        unit,
        unit_tree,
        kind: non_empty(&raw.kind),
        zone: non_empty(&raw.zone),
        c_min: non_empty(&raw.c_min),
        i_min: non_empty(&raw.i_min),
        a_min: non_empty(&raw.a_min),
        personal: non_empty(&raw.personal),
        overdue: raw.overdue.clone(),
        retired: raw.retired.clone(),
        sort: non_empty(&raw.sort),
        page: raw.page.trim().parse().ok(),
        per_page: Some(50),
    }
}

fn kind_options(tr: &Tr, blank: Option<String>) -> Vec<(String, String)> {
    let lang = tr.lang.policy();
    blank
        .map(|b| (String::new(), b))
        .into_iter()
        .chain(
            AssetKind::ALL
                .iter()
                .map(|k| (k.code().to_owned(), k.name(lang).to_owned())),
        )
        .collect()
}

fn zone_options(tr: &Tr, blank: String) -> Vec<(String, String)> {
    let lang = tr.lang.policy();
    std::iter::once((String::new(), blank))
        .chain(
            Zone::ALL
                .iter()
                .map(|z| (z.code().to_owned(), z.name(lang).to_owned())),
        )
        .collect()
}

fn work_options(tr: &Tr) -> Vec<(String, String)> {
    let lang = tr.lang.policy();
    std::iter::once((String::new(), tr.get("asset-none")))
        .chain(
            MyNumberWork::ALL
                .iter()
                .map(|w| (w.code().to_owned(), w.name(lang).to_owned())),
        )
        .collect()
}

/// A level select of a form: unclassified, then the scheme's levels lowest first.
fn level_options(tr: &Tr, scheme: &Scheme, axis: Axis) -> Vec<(String, String)> {
    let lang = tr.lang.policy();
    std::iter::once((String::new(), tr.get("asset-unclassified")))
        .chain(
            scheme
                .levels(axis)
                .iter()
                .map(|l| (l.id.clone(), format!("{}（{}）", l.id, l.name.get(lang)))),
        )
        .collect()
}

/// A "level or higher" select of the filters.
fn level_min_options(tr: &Tr, scheme: &Scheme, axis: Axis) -> Vec<(String, String)> {
    std::iter::once((String::new(), String::new()))
        .chain(scheme.levels(axis).iter().map(|l| {
            (
                l.id.clone(),
                tr.with("asset-level-at-least", "level", &l.id),
            )
        }))
        .collect()
}

fn filter_fields(tr: &Tr, scheme: &Scheme, raw: &ListQuery) -> Vec<Field> {
    let on = |v: &Option<String>| if is_on(v) { "on" } else { "" };
    vec![
        Field::new("q", tr.get("field-search"), "text", raw.q.clone()),
        Field::new(
            "unit",
            tr.get("field-owner-code-below"),
            "text",
            raw.unit.clone(),
        ),
        Field::new(
            "kind",
            tr.get("field-asset-kind"),
            "select",
            raw.kind.clone(),
        )
        .options(kind_options(tr, Some(String::new()))),
        Field::new("zone", tr.get("field-zone"), "select", raw.zone.clone())
            .options(zone_options(tr, String::new())),
        Field::new("c_min", tr.get("field-c-min"), "select", raw.c_min.clone())
            .options(level_min_options(tr, scheme, Axis::Confidentiality)),
        Field::new("i_min", tr.get("field-i-min"), "select", raw.i_min.clone())
            .options(level_min_options(tr, scheme, Axis::Integrity)),
        Field::new("a_min", tr.get("field-a-min"), "select", raw.a_min.clone())
            .options(level_min_options(tr, scheme, Axis::Availability)),
        Field::new(
            "personal",
            tr.get("field-personal-filter"),
            "select",
            raw.personal.clone(),
        )
        .options(vec![
            (String::new(), String::new()),
            ("personal".to_owned(), tr.get("asset-filter-personal")),
            ("sensitive".to_owned(), tr.get("asset-filter-sensitive")),
            ("specific".to_owned(), tr.get("asset-filter-specific")),
        ]),
        Field::new(
            "overdue",
            tr.get("field-overdue-only"),
            "checkbox",
            on(&raw.overdue),
        ),
        Field::new(
            "retired",
            tr.get("field-include-retired"),
            "checkbox",
            on(&raw.retired),
        ),
        Field::new("sort", tr.get("field-sort"), "select", raw.sort.clone()).options(vec![
            ("asset_no".to_owned(), tr.get("field-asset-no")),
            ("name".to_owned(), tr.get("field-asset-name")),
            (
                "confidentiality".to_owned(),
                tr.get("asset-sort-confidentiality"),
            ),
            ("review".to_owned(), tr.get("field-next-review")),
        ]),
    ]
}

/// 個人情報 marks of a row: 個人・要配慮・特定.
fn personal_marks(tr: &Tr, r: &AssetRow) -> String {
    [
        (r.personal, "asset-mark-personal"),
        (r.sensitive_personal, "asset-mark-sensitive"),
        (r.specific_personal, "asset-mark-specific"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, key)| tr.get(key))
    .collect::<Vec<_>>()
    .join(&tr.get("list-separator"))
}

fn list_row(tr: &Tr, r: &AssetRow) -> Vec<Cell> {
    let lang = tr.lang.policy();
    let review = if r.review_overdue {
        Cell::text(tr.with("asset-review-overdue", "date", &date_text(&r.next_review)))
            .class("overdue")
    } else {
        Cell::text(date_text(&r.next_review))
    };
    vec![
        Cell::link(r.asset_no.clone(), format!("/assets/{}", r.id)),
        Cell::text(r.name.clone()),
        Cell::text(r.kind.name(lang)),
        Cell::text(r.owner_path.clone()),
        Cell::text(r.label.clone()),
        Cell::text(personal_marks(tr, r)),
        Cell::text(r.zone.map(|z| z.name(lang)).unwrap_or_default()),
        review,
        Cell::text(if r.retired {
            tr.with("asset-retired-on", "date", &date_text(&r.retired_on))
        } else {
            String::new()
        }),
    ]
}

async fn scheme_of(state: &AppState, ctx: &Ctx) -> AppResult<Scheme> {
    assets::scheme(
        &state.app,
        state.app.store().conn(),
        ctx.actor.municipality_id,
    )
    .await
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(raw): Query<ListQuery>,
) -> Response {
    let tr = &ctx.tr;
    let scheme = match scheme_of(&state, &ctx).await {
        Ok(s) => s,
        Err(e) => return ctx.fail(e),
    };
    let mut errors: Vec<FieldError> = Vec::new();
    let unit = match resolve_unit(&state, &ctx, &raw.unit).await {
        Ok(Ok(u)) => u,
        Ok(Err(e)) => {
            errors.push(e);
            None
        }
        Err(e) => return ctx.fail(e),
    };
    let q = to_query(&raw, unit);
    let list = if errors.is_empty() {
        match assets::list(&state.app, &ctx.actor, &scheme, &q).await {
            Ok(l) => Some(l),
            Err(AppError::Invalid(e)) => {
                errors = e;
                None
            }
            Err(e) => return ctx.fail(e),
        }
    } else {
        None
    };
    let rows = list
        .as_ref()
        .map(|l| l.rows.iter().map(|r| list_row(tr, r)).collect())
        .unwrap_or_default();
    let mut page = TablePage::new(
        tr,
        Page::new(tr, Some(&ctx.actor), "/assets", tr.get("assets-title")),
        vec![
            tr.get("field-asset-no"),
            tr.get("field-asset-name"),
            tr.get("field-asset-kind"),
            tr.get("field-asset-owner"),
            tr.get("field-classification"),
            tr.get("field-personal-short"),
            tr.get("field-zone"),
            tr.get("field-next-review"),
            tr.get("field-state"),
        ],
        rows,
    );
    page.filters = filter_fields(tr, &scheme, &raw);
    page.errors = errors.iter().map(|e| labelled(tr, e)).collect();
    let filters = query_string(&raw);
    if let Some(list) = &list {
        let count_key = if list.total_is_exact {
            "list-count"
        } else {
            "list-count-over"
        };
        page.summary = Some(format!(
            "{} {}",
            tr.with(count_key, "count", &list.total.to_string()),
            tr.get("assets-export-note")
        ));
        page.pages = pagination("/assets", &filters, list.page, list.per_page, list.total);
    }
    if ctx.actor.asset_editor().is_some() {
        page.actions
            .push(("/assets/new".to_owned(), tr.get("assets-new")));
        page.actions
            .push(("/assets/import".to_owned(), tr.get("assets-import")));
    }
    if errors.is_empty() {
        let sep = if filters.is_empty() { "" } else { "&" };
        for (format, key) in [
            ("xlsx", "assets-export-xlsx"),
            ("csv", "assets-export-csv"),
            ("csv-sjis", "assets-export-csv-sjis"),
        ] {
            page.actions.push((
                format!("/assets/export?format={format}{sep}{filters}"),
                tr.get(key),
            ));
        }
    }
    render_checked(errors.is_empty(), &page)
}

/// `attachment; filename="assets-20260519.xlsx"; filename*=UTF-8''情報資産管理台帳_20260519.xlsx` (RFC 6266 and
/// 5987: browsers that know `filename*` save the Japanese name, older ones the ASCII one).
fn content_disposition(stem_ja: &str, stem_ascii: &str, extension: &str) -> String {
    let day = today().format("%Y%m%d");
    format!(
        "attachment; filename=\"{stem_ascii}-{day}.{extension}\"; filename*=UTF-8''{}",
        urlencode(&format!("{stem_ja}_{day}.{extension}"))
    )
}

/// A page saying why nothing could be exported, with the way back and the formats that hold any character.
fn export_refused(ctx: &Ctx, raw: &ListQuery, messages: Vec<String>) -> Response {
    let tr = &ctx.tr;
    let filters = query_string(raw);
    let sep = if filters.is_empty() { "" } else { "&" };
    let back = if filters.is_empty() {
        "/assets".to_owned()
    } else {
        format!("/assets?{filters}")
    };
    let page = MessagePage {
        page: Page::new(
            tr,
            Some(&ctx.actor),
            &ctx.path,
            tr.get("assets-export-failed"),
        ),
        paragraphs: messages,
        secret_columns: Vec::new(),
        secrets: Vec::new(),
        links: vec![
            (back, tr.get("assets-back-to-list")),
            (
                format!("/assets/export?format=xlsx{sep}{filters}"),
                tr.get("assets-export-xlsx"),
            ),
            (
                format!("/assets/export?format=csv{sep}{filters}"),
                tr.get("assets-export-csv"),
            ),
        ],
    };
    (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response()
}

/// `GET /assets/export?format=xlsx|csv|csv-sjis&<the list's filters>`: exactly what the list shows, every page.
pub async fn export(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(raw): Query<ListQuery>,
) -> Response {
    let encoding = non_empty(&raw.encoding);
    let Some(format) = ExportFormat::parse(raw.format.trim(), encoding.as_deref()) else {
        let e = FieldError::new("format", "err-export-format").with("value", raw.format.trim());
        return export_refused(&ctx, &raw, vec![field_message(&ctx.tr, &e)]);
    };
    let unit = match resolve_unit(&state, &ctx, &raw.unit).await {
        Ok(Ok(u)) => u,
        Ok(Err(e)) => return export_refused(&ctx, &raw, vec![labelled(&ctx.tr, &e)]),
        Err(e) => return ctx.fail(e),
    };
    let mut q = to_query(&raw, unit);
    q.page = None;
    q.per_page = None;
    // The file is written whole before anything is sent, so a refusal (a character Shift_JIS lacks) still
    // answers with a page. It has no name on disk (or loses it when closed), so nothing is left behind
    // whatever happens.
    let mut file = match tempfile::tempfile() {
        Ok(file) => file,
        Err(e) => return ctx.fail(AppError::Internal(format!("export file: {e}"))),
    };
    let by = ctx.actor.audit_actor();
    match asset_sheet::export(&state.app, &ctx.actor, &by, &q, format, &mut file).await {
        Ok(_) => match file_body(file) {
            Ok((length, body)) => (
                [
                    (header::CONTENT_TYPE, format.content_type().to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        content_disposition("情報資産管理台帳", "assets", format.extension()),
                    ),
                    (header::CONTENT_LENGTH, length.to_string()),
                ],
                body,
            )
                .into_response(),
            Err(e) => ctx.fail(AppError::Internal(format!("export file: {e}"))),
        },
        Err(AppError::Invalid(errors)) => {
            // A character the encoding lacks speaks for itself; a refused filter is named.
            let messages = errors
                .iter()
                .map(|e| {
                    if e.field == "file" {
                        field_message(&ctx.tr, e)
                    } else {
                        labelled(&ctx.tr, e)
                    }
                })
                .collect();
            export_refused(&ctx, &raw, messages)
        }
        Err(e) => ctx.fail(e),
    }
}

/// A finished export file as a response body, read a chunk at a time from the start, and its length.
fn file_body(mut file: std::fs::File) -> std::io::Result<(u64, Body)> {
    use std::io::Seek;
    use tokio::io::AsyncReadExt;
    let length = file.stream_position()?;
    file.rewind()?;
    let file = tokio::fs::File::from_std(file);
    let chunks = futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut chunk = vec![0; EXPORT_CHUNK];
        match file.read(&mut chunk).await {
            Ok(0) => None,
            Ok(n) => {
                chunk.truncate(n);
                Some((Ok(Bytes::from(chunk)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    Ok((length, Body::from_stream(chunks)))
}

/// Bytes of the export file sent at a time.
const EXPORT_CHUNK: usize = 64 * 1024;

// ---- one asset ----

/// One line of the definition list.
pub struct Item {
    pub label: String,
    pub text: String,
    pub href: Option<String>,
    pub class: &'static str,
}

impl Item {
    fn new(label: String, text: impl Into<String>) -> Item {
        Item {
            label,
            text: text.into(),
            href: None,
            class: "",
        }
    }
}

pub struct FindingView {
    pub severity: String,
    pub severity_code: &'static str,
    pub clause: String,
    pub message: String,
    pub check_id: String,
}

pub struct HistoryView {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub lines: Vec<String>,
}

/// The retire form under an editable asset.
pub struct RetireView {
    pub action: String,
    pub value: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "asset.html")]
pub struct AssetPage {
    pub page: Page,
    pub tr: Tr,
    pub items: Vec<Item>,
    pub label: String,
    pub short_label: String,
    /// (where it applies: 機密性2以上, text, example)
    pub restrictions: Vec<(String, String, bool)>,
    pub findings: Vec<FindingView>,
    pub history: Vec<HistoryView>,
    pub edit_href: Option<String>,
    pub retire: Option<RetireView>,
    /// Why a request about this asset was refused, when no field shows it (retiring twice).
    pub errors: Vec<String>,
}

fn yes_no(tr: &Tr, v: bool) -> String {
    tr.get(if v { "flag-yes" } else { "flag-no" })
}

/// Names for the ids an audit summary holds: units by id, people by id.
struct Names {
    units: HashMap<i64, String>,
    staff: HashMap<i64, String>,
}

impl Names {
    async fn load(state: &AppState, ctx: &Ctx, detail: &AssetDetail) -> Names {
        let mut units = HashMap::new();
        if let Some(id) = detail.row.owner_unit_id {
            units.insert(
                id,
                format!("{} {}", detail.row.owner_code, detail.row.owner_path),
            );
        }
        let mut staff = HashMap::new();
        if let Some(id) = detail.row.manager_staff_id {
            staff.insert(
                id,
                format!("{} {}", detail.row.manager_no, detail.row.manager_name),
            );
        }
        // Units and people that the history names beside the current ones, looked up with the reader's
        // rights; those the reader may not see keep their record number.
        for id in Self::ids(detail, "owner_unit", &units) {
            if let Ok(u) = mamori_app::org::unit(&state.app, &ctx.actor, id).await {
                units.insert(id, format!("{} {}", u.code, u.path));
            }
        }
        for id in Self::ids(detail, "manager_staff", &staff) {
            if let Ok(s) = mamori_app::staff::get(&state.app, &ctx.actor, id).await {
                staff.insert(id, format!("{} {}", s.staff_no, s.name));
            }
        }
        Names { units, staff }
    }

    /// The ids a history's `field` mentions that are not named yet (at most 20).
    fn ids(detail: &AssetDetail, field: &str, known: &HashMap<i64, String>) -> Vec<i64> {
        let mut wanted: Vec<i64> = Vec::new();
        for e in &detail.history {
            let values = match e.summary.get(field) {
                Some(serde_json::Value::Array(a)) => a.clone(),
                Some(other) => vec![other.clone()],
                None => continue,
            };
            for v in values {
                if let Some(id) = v.as_str().and_then(|s| s.parse::<i64>().ok())
                    && !known.contains_key(&id)
                    && !wanted.contains(&id)
                {
                    wanted.push(id);
                }
            }
        }
        wanted.truncate(20);
        wanted
    }
}

/// A value of an audit summary as a person reads it.
fn history_value(tr: &Tr, names: &Names, field: &str, value: &serde_json::Value) -> String {
    let lang = tr.lang.policy();
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    if text.is_empty() {
        return tr.get("asset-none");
    }
    let id = || text.parse::<i64>().ok();
    match field {
        "kind" => AssetKind::parse(&text)
            .map(|k| k.name(lang).to_owned())
            .unwrap_or(text),
        "zone" => Zone::parse(&text)
            .map(|z| z.name(lang).to_owned())
            .unwrap_or(text),
        "my_number_work" => MyNumberWork::parse(&text)
            .map(|w| w.name(lang).to_owned())
            .unwrap_or(text),
        "personal" | "sensitive_personal" | "specific_personal" => yes_no(tr, text == "true"),
        "owner_unit" => id()
            .and_then(|id| names.units.get(&id).cloned())
            .unwrap_or_else(|| tr.with("asset-record-id", "id", &text)),
        "manager_staff" => id()
            .and_then(|id| names.staff.get(&id).cloned())
            .unwrap_or_else(|| tr.with("asset-record-id", "id", &text)),
        "next_review" | "retired_on" => text
            .parse::<NaiveDate>()
            .map(|d| tr.date(&d))
            .unwrap_or(text),
        _ => text,
    }
}

/// The register's fields in the order the form and the sheet list them, for the history's lines.
const HISTORY_ORDER: &[&str] = &[
    "asset_no",
    "name",
    "kind",
    "owner_unit",
    "manager_staff",
    "confidentiality",
    "integrity",
    "availability",
    "personal",
    "sensitive_personal",
    "specific_personal",
    "my_number_work",
    "pif_ref",
    "pia_ref",
    "zone",
    "storage",
    "media",
    "retention",
    "disposal",
    "related_systems",
    "notes_set",
    "notes_changed",
    "next_review",
    "retired_on",
];

/// "機密性: 2 → 3B" for a change, "機密性: 3B" for a new asset; 備考 is only said to have changed.
fn history_lines(tr: &Tr, names: &Names, summary: &serde_json::Value) -> Vec<String> {
    let Some(map) = summary.as_object() else {
        return Vec::new();
    };
    let mut fields: Vec<(&String, &serde_json::Value)> = map.iter().collect();
    fields.sort_by_key(|(field, _)| {
        HISTORY_ORDER
            .iter()
            .position(|f| f == field)
            .unwrap_or(HISTORY_ORDER.len())
    });
    let mut lines = Vec::new();
    for (field, value) in fields {
        match field.as_str() {
            "asset_no_now" => {}
            "notes_changed" => lines.push(format!(
                "{}: {}",
                tr.get("field-note"),
                tr.get("asset-notes-changed")
            )),
            "notes_set" => lines.push(format!(
                "{}: {}",
                tr.get("field-note"),
                tr.get("asset-notes-set")
            )),
            _ => match value.as_array().map(Vec::as_slice) {
                Some([before, after]) => lines.push(format!(
                    "{}: {} → {}",
                    label(tr, field),
                    history_value(tr, names, field, before),
                    history_value(tr, names, field, after)
                )),
                _ => lines.push(format!(
                    "{}: {}",
                    label(tr, field),
                    history_value(tr, names, field, value)
                )),
            },
        }
    }
    lines
}

fn detail_items(tr: &Tr, r: &AssetRow) -> Vec<Item> {
    let lang = tr.lang.policy();
    let level = |id: &Option<String>| id.clone().unwrap_or_else(|| tr.get("asset-unclassified"));
    let mut items = vec![
        Item::new(tr.get("field-asset-no"), r.asset_no.clone()),
        Item::new(tr.get("field-asset-name"), r.name.clone()),
        Item::new(tr.get("field-asset-kind"), r.kind.name(lang)),
        Item::new(
            tr.get("field-asset-owner"),
            if r.owner_code.is_empty() {
                tr.get("asset-none")
            } else {
                format!("{}（{}）", r.owner_path, r.owner_code)
            },
        ),
        Item {
            href: r.manager_staff_id.map(|id| format!("/staff/{id}")),
            ..Item::new(
                tr.get("field-asset-manager"),
                if r.manager_no.is_empty() {
                    tr.get("asset-none")
                } else {
                    format!("{}（{}）", r.manager_name, r.manager_no)
                },
            )
        },
        Item::new(tr.get("field-confidentiality"), level(&r.confidentiality)),
        Item::new(tr.get("field-integrity"), level(&r.integrity)),
        Item::new(tr.get("field-availability"), level(&r.availability)),
        Item::new(tr.get("field-personal"), yes_no(tr, r.personal)),
        Item::new(
            tr.get("field-sensitive-personal"),
            yes_no(tr, r.sensitive_personal),
        ),
        Item::new(
            tr.get("field-specific-personal"),
            yes_no(tr, r.specific_personal),
        ),
        Item::new(
            tr.get("field-my-number-work"),
            r.my_number_work
                .map(|w| w.name(lang).to_owned())
                .unwrap_or_else(|| tr.get("asset-none")),
        ),
        Item::new(tr.get("field-pif-ref"), r.pif_ref.clone()),
        Item::new(tr.get("field-pia-ref"), r.pia_ref.clone()),
        Item::new(
            tr.get("field-zone"),
            r.zone
                .map(|z| z.name(lang).to_owned())
                .unwrap_or_else(|| tr.get("asset-none")),
        ),
        Item::new(tr.get("field-storage"), r.storage.clone()),
        Item::new(tr.get("field-media"), r.media.clone()),
        Item::new(tr.get("field-retention"), r.retention.clone()),
        Item::new(tr.get("field-disposal"), r.disposal.clone()),
        Item::new(tr.get("field-related-systems"), r.related_systems.clone()),
        Item {
            class: "pre",
            ..Item::new(tr.get("field-note"), r.notes.clone())
        },
        Item {
            class: if r.review_overdue { "overdue" } else { "" },
            ..Item::new(
                tr.get("field-next-review"),
                match (&r.next_review, r.review_overdue) {
                    (Some(d), true) => tr.with("asset-review-overdue", "date", &tr.date(d)),
                    (d, _) => tr.opt_date(d),
                },
            )
        },
    ];
    if r.retired {
        items.push(Item::new(
            tr.get("field-retired-on"),
            tr.opt_date(&r.retired_on),
        ));
    }
    items.push(Item::new(tr.get("field-updated"), tr.time(&r.updated_at)));
    items
}

async fn detail_page(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    retire_value: Option<String>,
    retire_errors: &[FieldError],
) -> Response {
    let tr = &ctx.tr;
    let detail = match assets::get(&state.app, &ctx.actor, id).await {
        Ok(d) => d,
        Err(e) => return ctx.fail(e),
    };
    let lang = tr.lang.policy();
    let names = Names::load(state, ctx, &detail).await;
    let r = &detail.row;
    let findings = detail
        .findings
        .iter()
        .map(|f| FindingView {
            severity: f.severity.name(lang).to_owned(),
            severity_code: f.severity.code(),
            clause: f.clause.to_owned(),
            message: f.message.get(lang).to_owned(),
            check_id: f.check_id.to_owned(),
        })
        .collect();
    let history = detail
        .history
        .iter()
        .map(|h| HistoryView {
            at: tr.time(&h.at),
            actor: h.actor.clone(),
            action: match h.action.as_str() {
                "asset.created" => tr.get("asset-history-created"),
                "asset.updated" => tr.get("asset-history-updated"),
                "asset.retired" => tr.get("asset-history-retired"),
                other => other.to_owned(),
            },
            lines: history_lines(tr, &names, &h.summary),
        })
        .collect();
    let retire = (detail.editable && !r.retired).then(|| RetireView {
        action: format!("/assets/{id}/retire"),
        value: retire_value.unwrap_or_else(|| today().format("%Y/%m/%d").to_string()),
        error: retire_errors.first().map(|e| field_message(tr, e)),
    });
    let page = AssetPage {
        page: Page::new(
            tr,
            Some(&ctx.actor),
            &format!("/assets/{id}"),
            format!("{} {}", r.asset_no, r.name),
        ),
        tr: tr.clone(),
        items: detail_items(tr, r),
        label: match tr.lang {
            crate::i18n::Lang::Ja => detail.label_ja.clone(),
            crate::i18n::Lang::En => detail.label_en.clone(),
        },
        short_label: r.label.clone(),
        restrictions: detail
            .restrictions
            .iter()
            .map(|x| {
                (
                    tr.args(
                        "asset-restriction-scope",
                        &[
                            ("axis", x.axis.name(lang).to_owned()),
                            ("level", x.min_level.clone()),
                        ],
                    ),
                    x.text.get(lang).to_owned(),
                    x.example,
                )
            })
            .collect(),
        findings,
        history,
        edit_href: detail.editable.then(|| format!("/assets/{id}/edit")),
        errors: if retire.is_none() {
            retire_errors.iter().map(|e| labelled(tr, e)).collect()
        } else {
            Vec::new()
        },
        retire,
    };
    render_checked(retire_errors.is_empty(), &page)
}

pub async fn show(State(state): State<Arc<AppState>>, ctx: Ctx, Path(id): Path<i64>) -> Response {
    detail_page(&state, &ctx, id, None, &[]).await
}

// ---- forms ----

/// Units an editor may give an asset to, as select options (`120200 市民部/税務課`). The unit an asset has now
/// stays selectable even when the editor could not choose it (an abolished unit, say).
async fn owner_options(
    state: &AppState,
    editor: &AssetEditor,
    tr: &Tr,
    current: Option<(&str, &str)>,
) -> AppResult<Vec<(String, String)>> {
    let units = assets::owner_choices(&state.app, editor).await?;
    let mut options: Vec<(String, String)> = Vec::new();
    if matches!(editor.reach, mamori_app::access::Reach::All) {
        options.push((String::new(), tr.get("asset-none")));
    }
    options.extend(
        units
            .into_iter()
            .filter(|u| u.parent_id.is_some())
            .map(|u| (u.code.clone(), format!("{} {}", u.code, u.path))),
    );
    if let Some((code, path)) = current
        && !code.is_empty()
        && !options.iter().any(|(c, _)| c == code)
    {
        options.push((code.to_owned(), format!("{code} {path}")));
    }
    Ok(options)
}

fn text_value(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn checkbox_value(v: &Option<String>) -> &'static str {
    match v.as_deref() {
        Some(v) if is_on(&Some(v.to_owned())) || v == "○" => "on",
        _ => "",
    }
}

fn form_fields(
    tr: &Tr,
    scheme: &Scheme,
    input: &AssetInput,
    owners: Vec<(String, String)>,
) -> Vec<Field> {
    let text = |name: &str, key: &str, v: &Option<String>| {
        Field::new(name, tr.get(key), "text", text_value(v))
    };
    let level = |axis: Axis, name: &str, v: &Option<String>| {
        Field::new(name, label(tr, name), "select", text_value(v))
            .options(level_options(tr, scheme, axis))
    };
    vec![
        text("asset_no", "field-asset-no", &input.asset_no)
            .required()
            .hint(tr.get("hint-asset-no")),
        text("name", "field-asset-name", &input.name).required(),
        Field::new(
            "kind",
            tr.get("field-asset-kind"),
            "select",
            text_value(&input.kind),
        )
        .options(kind_options(tr, None)),
        Field::new(
            "owner_code",
            tr.get("field-asset-owner"),
            "select",
            text_value(&input.owner_code),
        )
        .options(owners),
        text("manager_no", "field-asset-manager-no", &input.manager_no)
            .hint(tr.get("hint-manager-no")),
        level(
            Axis::Confidentiality,
            "confidentiality",
            &input.confidentiality,
        ),
        level(Axis::Integrity, "integrity", &input.integrity),
        level(Axis::Availability, "availability", &input.availability),
        Field::new(
            "personal",
            tr.get("field-personal"),
            "checkbox",
            checkbox_value(&input.personal),
        ),
        Field::new(
            "sensitive_personal",
            tr.get("field-sensitive-personal"),
            "checkbox",
            checkbox_value(&input.sensitive_personal),
        ),
        Field::new(
            "specific_personal",
            tr.get("field-specific-personal"),
            "checkbox",
            checkbox_value(&input.specific_personal),
        )
        .hint(tr.get("hint-specific-personal")),
        Field::new(
            "my_number_work",
            tr.get("field-my-number-work"),
            "select",
            text_value(&input.my_number_work),
        )
        .options(work_options(tr)),
        text("pif_ref", "field-pif-ref", &input.pif_ref),
        text("pia_ref", "field-pia-ref", &input.pia_ref),
        Field::new(
            "zone",
            tr.get("field-zone"),
            "select",
            text_value(&input.zone),
        )
        .options(zone_options(tr, tr.get("asset-none"))),
        text("storage", "field-storage", &input.storage),
        text("media", "field-media", &input.media),
        text("retention", "field-retention", &input.retention),
        text("disposal", "field-disposal", &input.disposal),
        text(
            "related_systems",
            "field-related-systems",
            &input.related_systems,
        ),
        Field::new(
            "notes",
            tr.get("field-note"),
            "textarea",
            text_value(&input.notes),
        ),
        text("next_review", "field-next-review", &input.next_review)
            .hint(tr.get("hint-asset-date")),
    ]
}

/// Errors about 所管課 or 管理者 by name point at the form's code fields.
fn form_errors(errors: &[FieldError]) -> Vec<FieldError> {
    errors
        .iter()
        .cloned()
        .map(|mut e| {
            match e.field.as_str() {
                "owner" => e.field = "owner_code".to_owned(),
                "manager" => e.field = "manager_no".to_owned(),
                _ => {}
            }
            e
        })
        .collect()
}

/// Where a form posts, its title, and the unit the asset has now (kept selectable).
struct FormTarget<'a> {
    action: String,
    title: String,
    owner: Option<(&'a str, &'a str)>,
}

async fn form_page(
    state: &AppState,
    ctx: &Ctx,
    editor: &AssetEditor,
    target: FormTarget<'_>,
    input: &AssetInput,
    errors: &[FieldError],
) -> Response {
    let FormTarget {
        action,
        title,
        owner: current_owner,
    } = target;
    let tr = &ctx.tr;
    let (scheme, owners) = match (
        scheme_of(state, ctx).await,
        owner_options(state, editor, tr, current_owner).await,
    ) {
        (Ok(s), Ok(o)) => (s, o),
        (Err(e), _) | (_, Err(e)) => return ctx.fail(e),
    };
    let mut page = FormPage::new(
        Page::new(tr, Some(&ctx.actor), &ctx.path, title),
        &action,
        form_fields(tr, &scheme, input, owners),
        tr.get("action-save"),
    )
    .with_errors(tr, &form_errors(errors));
    page.links
        .push(("/assets".to_owned(), tr.get("assets-back-to-list")));
    render_checked(errors.is_empty(), &page)
}

pub async fn new(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    let Some(editor) = ctx.actor.asset_editor() else {
        return ctx.fail(AppError::Forbidden);
    };
    let mut input = AssetInput {
        kind: Some(AssetKind::Information.code().to_owned()),
        ..Default::default()
    };
    // Someone who gives assets to a few units starts with their own.
    if !matches!(editor.reach, mamori_app::access::Reach::All) {
        match assets::owner_choices(&state.app, &editor).await {
            Ok(units) => {
                input.owner_code = units
                    .into_iter()
                    .find(|u| u.parent_id.is_some())
                    .map(|u| u.code);
            }
            Err(e) => return ctx.fail(e),
        }
    }
    form_page(
        &state,
        &ctx,
        &editor,
        FormTarget {
            action: "/assets".to_owned(),
            title: ctx.tr.get("assets-new"),
            owner: None,
        },
        &input,
        &[],
    )
    .await
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Form(input): Form<AssetInput>,
) -> Response {
    let Some(editor) = ctx.actor.asset_editor() else {
        return ctx.fail(AppError::Forbidden);
    };
    let input = input.from_form();
    match assets::create(&state.app, &editor, &ctx.actor.audit_actor(), &input).await {
        Ok(id) => Redirect::to(&format!("/assets/{id}")).into_response(),
        Err(AppError::Invalid(errors)) => {
            form_page(
                &state,
                &ctx,
                &editor,
                FormTarget {
                    action: "/assets".to_owned(),
                    title: ctx.tr.get("assets-new"),
                    owner: None,
                },
                &input,
                &errors,
            )
            .await
        }
        Err(e) => ctx.fail(e),
    }
}

fn input_of(r: &AssetRow) -> AssetInput {
    let flag = |v: bool| Some(if v { "on" } else { "" }.to_owned());
    AssetInput {
        asset_no: Some(r.asset_no.clone()),
        name: Some(r.name.clone()),
        kind: Some(r.kind.code().to_owned()),
        owner_code: Some(r.owner_code.clone()),
        owner: None,
        manager_no: Some(r.manager_no.clone()),
        manager: None,
        confidentiality: r.confidentiality.clone(),
        integrity: r.integrity.clone(),
        availability: r.availability.clone(),
        personal: flag(r.personal),
        sensitive_personal: flag(r.sensitive_personal),
        specific_personal: flag(r.specific_personal),
        my_number_work: r.my_number_work.map(|w| w.code().to_owned()),
        pif_ref: Some(r.pif_ref.clone()),
        pia_ref: Some(r.pia_ref.clone()),
        zone: r.zone.map(|z| z.code().to_owned()),
        storage: Some(r.storage.clone()),
        media: Some(r.media.clone()),
        retention: Some(r.retention.clone()),
        disposal: Some(r.disposal.clone()),
        related_systems: Some(r.related_systems.clone()),
        notes: Some(r.notes.clone()),
        next_review: Some(date_text(&r.next_review)),
        retired_on: None,
    }
}

pub async fn edit(State(state): State<Arc<AppState>>, ctx: Ctx, Path(id): Path<i64>) -> Response {
    let Some(editor) = ctx.actor.asset_editor() else {
        return ctx.fail(AppError::Forbidden);
    };
    let detail = match assets::get(&state.app, &ctx.actor, id).await {
        Ok(d) if d.editable => d,
        Ok(_) => return ctx.fail(AppError::Forbidden),
        Err(e) => return ctx.fail(e),
    };
    let r = &detail.row;
    form_page(
        &state,
        &ctx,
        &editor,
        FormTarget {
            action: format!("/assets/{id}"),
            title: ctx.tr.with("assets-edit", "asset_no", &r.asset_no),
            owner: Some((&r.owner_code, &r.owner_path)),
        },
        &input_of(r),
        &[],
    )
    .await
}

pub async fn update(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(input): Form<AssetInput>,
) -> Response {
    let Some(editor) = ctx.actor.asset_editor() else {
        return ctx.fail(AppError::Forbidden);
    };
    let input = input.from_form();
    match assets::update(&state.app, &editor, &ctx.actor.audit_actor(), id, &input).await {
        Ok(()) => Redirect::to(&format!("/assets/{id}")).into_response(),
        Err(AppError::Invalid(errors)) => {
            // The asset as it is keeps its unit selectable.
            let current = assets::get(&state.app, &ctx.actor, id).await.ok();
            let owner = current
                .as_ref()
                .map(|d| (d.row.owner_code.as_str(), d.row.owner_path.as_str()));
            form_page(
                &state,
                &ctx,
                &editor,
                FormTarget {
                    action: format!("/assets/{id}"),
                    title: ctx.tr.with(
                        "assets-edit",
                        "asset_no",
                        input.asset_no.as_deref().unwrap_or_default(),
                    ),
                    owner,
                },
                &input,
                &errors,
            )
            .await
        }
        Err(e) => ctx.fail(e),
    }
}

#[derive(serde::Deserialize, Default)]
pub struct RetireForm {
    #[serde(default)]
    retired_on: String,
}

pub async fn retire(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<RetireForm>,
) -> Response {
    let Some(editor) = ctx.actor.asset_editor() else {
        return ctx.fail(AppError::Forbidden);
    };
    let on = match mamori_app::optional_date(&form.retired_on) {
        Ok(d) => d,
        Err(mut e) => {
            e.field = "retired_on".to_owned();
            return detail_page(&state, &ctx, id, Some(form.retired_on.clone()), &[e]).await;
        }
    };
    match assets::retire(&state.app, &editor, &ctx.actor.audit_actor(), id, on).await {
        Ok(()) => Redirect::to(&format!("/assets/{id}")).into_response(),
        Err(AppError::Invalid(errors)) => {
            detail_page(&state, &ctx, id, Some(form.retired_on.clone()), &errors).await
        }
        Err(e) => ctx.fail(e),
    }
}

// ---- import ----

pub struct ProblemView {
    pub line: String,
    pub column: String,
    pub value: String,
    pub reason: String,
}

pub struct ChangeView {
    pub line: String,
    pub asset_no: String,
    pub what: String,
}

/// What an import found, ready to show.
pub struct ReportView {
    /// `notice` (clean), `errors` (problems: nothing written).
    pub verdict_class: &'static str,
    pub verdict: String,
    pub facts: Vec<(String, String)>,
    pub unknown_columns: Option<String>,
    pub problems: Vec<ProblemView>,
    pub problems_more: Option<String>,
    pub changes: Vec<ChangeView>,
    pub changes_more: Option<String>,
}

#[derive(Template)]
#[template(path = "asset_import.html")]
pub struct ImportPage {
    pub page: Page,
    pub tr: Tr,
    pub errors: Vec<String>,
    pub report: Option<ReportView>,
    pub encoding: String,
    pub encodings: Vec<(String, String)>,
    pub file_hint: String,
}

fn report_view(tr: &Tr, r: &ImportReport, dry_run: bool) -> ReportView {
    let verdict = if !r.problems.is_empty() {
        tr.with(
            "assets-import-refused",
            "count",
            &r.problems.len().to_string(),
        )
    } else if r.applied {
        tr.args(
            "assets-import-applied",
            &[
                ("created", r.created.to_string()),
                ("updated", r.updated.to_string()),
                ("unchanged", r.unchanged.to_string()),
            ],
        )
    } else if dry_run && r.changes.is_empty() {
        tr.get("assets-import-nothing")
    } else {
        tr.get("assets-import-clean")
    };
    let more = |n: usize| {
        (n > REPORT_ROWS).then(|| {
            tr.args(
                "assets-import-more",
                &[("shown", REPORT_ROWS.to_string()), ("count", n.to_string())],
            )
        })
    };
    ReportView {
        verdict_class: if r.problems.is_empty() {
            "notice"
        } else {
            "errors"
        },
        verdict,
        facts: vec![
            (tr.get("assets-import-rows"), r.rows.to_string()),
            (
                tr.get("assets-import-encoding"),
                r.encoding.clone().unwrap_or_else(|| "xlsx".to_owned()),
            ),
            (tr.get("assets-import-created"), r.created.to_string()),
            (tr.get("assets-import-updated"), r.updated.to_string()),
            (tr.get("assets-import-unchanged"), r.unchanged.to_string()),
        ],
        unknown_columns: (!r.unknown_columns.is_empty()).then(|| {
            tr.with(
                "assets-import-unknown-columns",
                "columns",
                &r.unknown_columns.join(&tr.get("list-separator")),
            )
        }),
        problems: r
            .problems
            .iter()
            .take(REPORT_ROWS)
            .map(|p| ProblemView {
                line: p.line.to_string(),
                column: p.column.clone(),
                value: p.value.clone(),
                reason: tr.args(p.key, &p.args),
            })
            .collect(),
        problems_more: more(r.problems.len()),
        changes: r
            .changes
            .iter()
            .take(REPORT_ROWS)
            .map(|c| ChangeView {
                line: c.line.to_string(),
                asset_no: c.asset_no.clone(),
                what: match &c.action {
                    RowAction::Create => tr.get("assets-import-create"),
                    RowAction::Update { fields } => tr.with(
                        "assets-import-update",
                        "fields",
                        &fields
                            .iter()
                            .map(|f| label(tr, f))
                            .collect::<Vec<_>>()
                            .join(&tr.get("list-separator")),
                    ),
                },
            })
            .collect(),
        // The report lists the first changes only; the counts are of all of them.
        changes_more: {
            let hidden = (r.created + r.updated).saturating_sub(r.changes.len().min(REPORT_ROWS));
            (hidden > 0).then(|| tr.with("import-changes-more", "count", &hidden.to_string()))
        },
    }
}

fn import_page(
    ctx: &Ctx,
    encoding: &str,
    errors: &[FieldError],
    report: Option<ReportView>,
    status: StatusCode,
) -> Response {
    let tr = &ctx.tr;
    let page = ImportPage {
        page: Page::new(
            tr,
            Some(&ctx.actor),
            "/assets/import",
            tr.get("assets-import"),
        ),
        tr: tr.clone(),
        errors: errors.iter().map(|e| field_message(tr, e)).collect(),
        report,
        encoding: encoding.to_owned(),
        encodings: vec![
            ("auto".to_owned(), tr.get("encoding-auto")),
            ("utf-8".to_owned(), "UTF-8".to_owned()),
            ("shift_jis".to_owned(), "Shift_JIS".to_owned()),
        ],
        file_hint: tr.with(
            "hint-asset-file",
            "mb",
            &(MAX_UPLOAD_BYTES / 1024 / 1024).to_string(),
        ),
    };
    (status, render(&page)).into_response()
}

pub async fn import_form(ctx: Ctx) -> Response {
    if ctx.actor.asset_editor().is_none() {
        return ctx.fail(AppError::Forbidden);
    }
    import_page(&ctx, "auto", &[], None, StatusCode::OK)
}

#[derive(Default)]
struct ImportForm {
    file: Option<(String, Vec<u8>)>,
    encoding: String,
    apply: bool,
}

async fn read_import(mut multipart: Multipart) -> Result<ImportForm, FieldError> {
    let mut form = ImportForm {
        encoding: "auto".to_owned(),
        ..Default::default()
    };
    let broken = |e: axum::extract::multipart::MultipartError| {
        FieldError::new("file", "err-upload").with("reason", e.body_text())
    };
    while let Some(field) = multipart.next_field().await.map_err(broken)? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(broken)?;
        match name.as_str() {
            "file" if !bytes.is_empty() => form.file = Some((file_name, bytes.to_vec())),
            "encoding" => form.encoding = String::from_utf8_lossy(&bytes).trim().to_owned(),
            "mode" => form.apply = bytes.as_ref() == b"apply",
            _ => {}
        }
    }
    Ok(form)
}

fn encoding_choice(v: &str) -> Option<EncodingChoice> {
    match v.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
        "" | "auto" => Some(EncodingChoice::Auto),
        "utf8" => Some(EncodingChoice::Utf8),
        "shiftjis" | "sjis" | "cp932" => Some(EncodingChoice::ShiftJis),
        _ => None,
    }
}

pub async fn import(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    multipart: Multipart,
) -> Response {
    let Some(editor) = ctx.actor.asset_editor() else {
        return ctx.fail(AppError::Forbidden);
    };
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    let form = match read_import(multipart).await {
        Ok(f) => f,
        Err(e) => return import_page(&ctx, "auto", &[e], None, invalid),
    };
    let Some(encoding) = encoding_choice(&form.encoding) else {
        let e = FieldError::new("encoding", "err-choice").with("value", form.encoding.clone());
        return import_page(&ctx, "auto", &[e], None, invalid);
    };
    let Some((file_name, bytes)) = &form.file else {
        let e = FieldError::new("file", "err-file-required");
        return import_page(&ctx, &form.encoding, &[e], None, invalid);
    };
    let dry_run = !form.apply;
    match asset_sheet::import(
        &state.app,
        &editor,
        &ctx.actor.audit_actor(),
        file_name,
        bytes,
        encoding,
        dry_run,
        &|_, _| {},
    )
    .await
    {
        Ok(report) => {
            let status = if report.problems.is_empty() {
                StatusCode::OK
            } else {
                invalid
            };
            let view = report_view(&ctx.tr, &report, dry_run);
            import_page(&ctx, &form.encoding, &[], Some(view), status)
        }
        Err(AppError::Invalid(errors)) => import_page(&ctx, &form.encoding, &errors, None, invalid),
        Err(e) => ctx.fail(e),
    }
}
