//! 5: staff (職員等) of every kind, keyed by 職員番号, sorted by 氏名カナ, searched by a stored key.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait, LikeExpr},
};
use serde_json::json;

use crate::access::{OrgAdmin, Reach, check_unit};
use crate::error::Problems;
use crate::org::{changes, required_text};
use crate::tx::AuditActor;
use crate::{Actor, App, AppError, AppResult, FieldError, paging, text};
use mamori_store::audit::Action;
use mamori_store::entity::{org_unit, staff, staff_kind};

pub use crate::paging::{COUNT_LIMIT, MAX_PER_PAGE};

/// 職員番号: 1 to 20 letters or digits, kept as text (leading zeros matter).
pub fn parse_staff_no(field: &str, value: &str) -> Result<String, FieldError> {
    let v = text::search_key(value).to_uppercase();
    if v.is_empty() {
        return Err(FieldError::new(field, "err-required"));
    }
    if v.chars().count() > 20 || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(FieldError::new(field, "err-code-format").with("value", value));
    }
    Ok(v)
}

fn parse_email(value: &str) -> Result<String, FieldError> {
    let v = text::clean(value, 254).map_err(|k| FieldError::new("email", k))?;
    if v.is_empty() {
        return Ok(v);
    }
    let valid = v.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !v.contains(char::is_whitespace)
    });
    if valid {
        Ok(v)
    } else {
        Err(FieldError::new("email", "err-email").with("value", value))
    }
}

/// The sort key of a person: their kana reading folded (ひらがな/半角 → カタカナ), then their number.
fn sort_key(name_kana: &str, name: &str, staff_no: &str) -> String {
    let reading = if name_kana.trim().is_empty() {
        name
    } else {
        name_kana
    };
    format!("{}\u{1f}{}", text::search_key(reading), staff_no)
}

fn search_key(s: &StaffFields) -> String {
    [&s.staff_no, &s.name, &s.name_kana, &s.email]
        .iter()
        .map(|v| text::search_key(v))
        .collect::<Vec<_>>()
        .join("\u{1f}")
}

/// Filters of the staff list.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct StaffQuery {
    #[serde(default)]
    pub q: String,
    /// This unit and everything below it.
    #[serde(default)]
    pub unit: Option<i64>,
    #[serde(default)]
    pub kind: Option<i64>,
    /// Include people who have left.
    #[serde(default)]
    pub all: Option<String>,
    #[serde(default)]
    pub sort: Option<String>,
    #[serde(default)]
    pub page: Option<u64>,
    #[serde(default)]
    pub per_page: Option<u64>,
}

/// One row of the staff list.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StaffRow {
    pub id: i64,
    pub staff_no: String,
    pub name: String,
    pub name_kana: String,
    pub email: String,
    pub kind_id: i64,
    pub kind: String,
    pub org_unit_id: i64,
    pub org_unit_code: String,
    pub org_unit_path: String,
    pub active: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct StaffPage {
    pub rows: Vec<StaffRow>,
    /// How many match, counted up to [`COUNT_LIMIT`]; beyond it `total_is_exact` is false.
    pub total: u64,
    pub total_is_exact: bool,
    pub page: u64,
    pub per_page: u64,
}

fn reach_condition(reach: &Reach) -> Condition {
    match reach {
        Reach::All => Condition::all(),
        Reach::OwnOnly(Some(id)) => Condition::all().add(staff::Column::Id.eq(*id)),
        Reach::OwnOnly(None) => Condition::all().add(Expr::val(1).eq(Expr::val(0))),
        Reach::Subtrees(prefixes) => Condition::all()
            .add(staff::Column::OrgUnitId.in_subquery(paging::units_under(prefixes))),
    }
}

/// The staff list a person may see, filtered, sorted and paginated in the database.
pub async fn list(app: &App, actor: &Actor, q: &StaffQuery) -> AppResult<StaffPage> {
    let db = app.store().conn();
    let mut query = staff::Entity::find()
        .filter(staff::Column::MunicipalityId.eq(actor.municipality_id))
        .filter(reach_condition(&actor.reach()));
    if q.all.is_none() {
        query = query.filter(staff::Column::Active.eq(true));
    }
    let needle = text::search_key(&q.q);
    if !needle.is_empty() {
        query = query.filter(
            Expr::col(staff::Column::SearchKey)
                .like(LikeExpr::new(text::contains_pattern(&needle)).escape('\\')),
        );
    }
    if let Some(unit_id) = q.unit {
        let unit = org_unit::Entity::find_by_id(unit_id).one(db).await?;
        let prefix = unit
            .filter(|u| u.municipality_id == actor.municipality_id)
            .map(|u| u.tree_path);
        query = query.filter(
            staff::Column::OrgUnitId
                .in_subquery(paging::units_under(&prefix.into_iter().collect::<Vec<_>>())),
        );
    }
    if let Some(kind) = q.kind {
        query = query.filter(staff::Column::KindId.eq(kind));
    }
    query = match q.sort.as_deref() {
        Some("staff_no") => query.order_by_asc(staff::Column::StaffNo),
        _ => query.order_by_asc(staff::Column::SortKey),
    };
    let per_page = q.per_page.unwrap_or(50).clamp(1, MAX_PER_PAGE);
    let page = std::cmp::max(q.page.unwrap_or(1), 1);
    let counted =
        paging::count_up_to(db, query.clone(), staff::Column::Id, COUNT_LIMIT + 1).await?;
    let people = query
        .offset((page - 1) * per_page)
        .limit(per_page)
        .all(db)
        .await?;
    let rows = rows_for(db, people).await?;
    Ok(StaffPage {
        rows,
        total: std::cmp::min(counted, COUNT_LIMIT),
        total_is_exact: counted <= COUNT_LIMIT,
        page,
        per_page,
    })
}

async fn rows_for(
    db: &impl ConnectionTrait,
    people: Vec<staff::Model>,
) -> AppResult<Vec<StaffRow>> {
    let unit_ids: Vec<i64> = people.iter().map(|s| s.org_unit_id).collect();
    let kind_ids: Vec<i64> = people.iter().map(|s| s.kind_id).collect();
    let units: std::collections::HashMap<i64, org_unit::Model> = org_unit::Entity::find()
        .filter(org_unit::Column::Id.is_in(unit_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let kinds: std::collections::HashMap<i64, staff_kind::Model> = staff_kind::Entity::find()
        .filter(staff_kind::Column::Id.is_in(kind_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|k| (k.id, k))
        .collect();
    Ok(people
        .into_iter()
        .map(|s| {
            let unit = units.get(&s.org_unit_id);
            StaffRow {
                id: s.id,
                staff_no: s.staff_no,
                name: s.name,
                name_kana: s.name_kana,
                email: s.email,
                kind_id: s.kind_id,
                kind: kinds
                    .get(&s.kind_id)
                    .map(|k| k.name_ja.clone())
                    .unwrap_or_default(),
                org_unit_id: s.org_unit_id,
                org_unit_code: unit.map(|u| u.code.clone()).unwrap_or_default(),
                org_unit_path: unit.map(|u| u.path.clone()).unwrap_or_default(),
                active: s.active,
            }
        })
        .collect())
}

/// One staff record, if within the person's reach.
pub async fn get(app: &App, actor: &Actor, id: i64) -> AppResult<StaffRow> {
    let db = app.store().conn();
    let s = staff::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::Forbidden)?;
    let unit = org_unit::Entity::find_by_id(s.org_unit_id)
        .one(db)
        .await?
        .ok_or(AppError::Forbidden)?;
    let reach = actor.reach();
    let own = actor.staff_id == Some(s.id);
    if !own {
        check_unit(actor.municipality_id, &reach, &unit)?;
    } else if s.municipality_id != actor.municipality_id {
        return Err(AppError::Forbidden);
    }
    rows_for(db, vec![s])
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::Forbidden)
}

pub async fn kinds(
    db: &impl ConnectionTrait,
    municipality_id: i64,
) -> AppResult<Vec<staff_kind::Model>> {
    Ok(staff_kind::Entity::find()
        .filter(staff_kind::Column::MunicipalityId.eq(municipality_id))
        .order_by_asc(staff_kind::Column::SortOrder)
        .all(db)
        .await?)
}

/// Adds a staff kind to the municipality's list (clause 5 lists kinds "等": the list is open).
pub async fn add_kind(
    app: &App,
    cap: &OrgAdmin,
    actor: &AuditActor,
    code: &str,
    name_ja: &str,
    name_en: &str,
) -> AppResult<staff_kind::Model> {
    let mut p = Problems::default();
    let code = p.take(crate::org::parse_unit_code("code", code).map(|c| c.to_lowercase()));
    let name_ja = p.take(required_text("name_ja", name_ja, 50));
    let name_en = p.take(required_text("name_en", name_en, 50));
    let mut tx = app.write().await?;
    let existing = kinds(tx.db(), cap.municipality_id).await?;
    if let Some(c) = &code
        && existing.iter().any(|k| &k.code == c)
    {
        p.push(FieldError::new("code", "err-duplicate").with("value", c.clone()));
    }
    p.into_result()?;
    let (Some(code), Some(name_ja), Some(name_en)) = (code, name_ja, name_en) else {
        return Err(AppError::Internal("validated kind lost a field".to_owned()));
    };
    let kind = staff_kind::ActiveModel {
        municipality_id: Set(cap.municipality_id),
        code: Set(code),
        name_ja: Set(name_ja),
        name_en: Set(name_en),
        sort_order: Set(existing.len() as i32),
        ..Default::default()
    }
    .insert(tx.db())
    .await?;
    tx.audit(
        cap.municipality_id,
        actor,
        Action::StaffKindCreated,
        ("staff_kind", kind.id.to_string()),
        json!({"code": kind.code, "name_ja": kind.name_ja}),
    )
    .await?;
    tx.commit().await?;
    Ok(kind)
}

/// The staff form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct StaffForm {
    pub staff_no: String,
    pub name: String,
    #[serde(default)]
    pub name_kana: String,
    #[serde(default)]
    pub email: String,
    pub kind: String,
    pub org_unit_id: String,
    /// Checkbox: "on" while the person is on the staff.
    #[serde(default)]
    pub active: Option<String>,
}

struct StaffFields {
    staff_no: String,
    name: String,
    name_kana: String,
    email: String,
    kind_id: i64,
    org_unit_id: i64,
    active: bool,
}

async fn validate(
    db: &impl ConnectionTrait,
    municipality_id: i64,
    form: &StaffForm,
    editing: Option<i64>,
) -> AppResult<StaffFields> {
    let mut p = Problems::default();
    let staff_no = p.take(parse_staff_no("staff_no", &form.staff_no));
    let name = p.take(required_text("name", &form.name, 100));
    let name_kana =
        p.take(text::clean(&form.name_kana, 100).map_err(|k| FieldError::new("name_kana", k)));
    let email = p.take(parse_email(&form.email));
    let kinds = kinds(db, municipality_id).await?;
    let kind = kinds
        .iter()
        .find(|k| k.code == form.kind.trim() || k.id.to_string() == form.kind.trim());
    if kind.is_none() {
        p.push(FieldError::new("kind", "err-choice"));
    }
    let unit = match form.org_unit_id.trim().parse::<i64>() {
        Ok(id) => org_unit::Entity::find_by_id(id)
            .one(db)
            .await?
            .filter(|u| u.municipality_id == municipality_id && u.abolished_on.is_none()),
        Err(_) => None,
    };
    if unit.is_none() {
        p.push(FieldError::new("org_unit_id", "err-unit-unknown"));
    }
    if let Some(no) = &staff_no {
        let clash = staff::Entity::find()
            .filter(staff::Column::MunicipalityId.eq(municipality_id))
            .filter(staff::Column::StaffNo.eq(no.as_str()))
            .one(db)
            .await?;
        if clash.is_some_and(|c| Some(c.id) != editing) {
            p.push(FieldError::new("staff_no", "err-duplicate").with("value", no.clone()));
        }
    }
    p.into_result()?;
    match (staff_no, name, name_kana, email, kind, unit) {
        (Some(staff_no), Some(name), Some(name_kana), Some(email), Some(kind), Some(unit)) => {
            Ok(StaffFields {
                staff_no,
                name,
                name_kana,
                email,
                kind_id: kind.id,
                org_unit_id: unit.id,
                active: form.active.is_none() || text::checked(&form.active),
            })
        }
        _ => Err(AppError::Internal(
            "validated staff lost a field".to_owned(),
        )),
    }
}

pub async fn create(
    app: &App,
    cap: &OrgAdmin,
    actor: &AuditActor,
    form: &StaffForm,
) -> AppResult<staff::Model> {
    let mut tx = app.write().await?;
    let s = create_in(&mut tx, cap, actor, form).await?;
    tx.commit().await?;
    Ok(s)
}

pub(crate) async fn create_in(
    tx: &mut crate::Tx<'_>,
    cap: &OrgAdmin,
    actor: &AuditActor,
    form: &StaffForm,
) -> AppResult<staff::Model> {
    let v = validate(tx.db(), cap.municipality_id, form, None).await?;
    let now = Utc::now();
    let s = staff::ActiveModel {
        municipality_id: Set(cap.municipality_id),
        sort_key: Set(sort_key(&v.name_kana, &v.name, &v.staff_no)),
        search_key: Set(search_key(&v)),
        staff_no: Set(v.staff_no),
        name: Set(v.name),
        name_kana: Set(v.name_kana),
        email: Set(v.email),
        kind_id: Set(v.kind_id),
        org_unit_id: Set(v.org_unit_id),
        active: Set(true),
        left_on: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(tx.db())
    .await?;
    // Names are personal data: the entry names the record and its number, not the person.
    tx.audit(
        cap.municipality_id,
        actor,
        Action::StaffCreated,
        ("staff", s.id.to_string()),
        json!({"staff_no": s.staff_no, "org_unit": s.org_unit_id, "kind": s.kind_id}),
    )
    .await?;
    Ok(s)
}

pub async fn update(
    app: &App,
    cap: &OrgAdmin,
    actor: &AuditActor,
    id: i64,
    form: &StaffForm,
) -> AppResult<staff::Model> {
    let mut tx = app.write().await?;
    let before = staff::Entity::find_by_id(id)
        .one(tx.db())
        .await?
        .filter(|s| s.municipality_id == cap.municipality_id)
        .ok_or(AppError::Forbidden)?;
    let v = validate(tx.db(), cap.municipality_id, form, Some(id)).await?;
    let left_on = match (before.active, v.active) {
        (true, false) => Some(crate::today()),
        (_, true) => None,
        (false, false) => before.left_on,
    };
    let s = staff::ActiveModel {
        id: Set(id),
        sort_key: Set(sort_key(&v.name_kana, &v.name, &v.staff_no)),
        search_key: Set(search_key(&v)),
        staff_no: Set(v.staff_no),
        name: Set(v.name),
        name_kana: Set(v.name_kana),
        email: Set(v.email),
        kind_id: Set(v.kind_id),
        org_unit_id: Set(v.org_unit_id),
        active: Set(v.active),
        left_on: Set(left_on),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(tx.db())
    .await?;
    let mut summary = changes(&[
        ("staff_no", &before.staff_no, &s.staff_no),
        (
            "org_unit",
            &before.org_unit_id.to_string(),
            &s.org_unit_id.to_string(),
        ),
        ("kind", &before.kind_id.to_string(), &s.kind_id.to_string()),
        ("active", &before.active.to_string(), &s.active.to_string()),
    ]);
    // Personal fields are named when they change, without their values.
    let personal: Vec<&str> = [
        ("name", before.name != s.name),
        ("name_kana", before.name_kana != s.name_kana),
        ("email", before.email != s.email),
    ]
    .iter()
    .filter(|(_, changed)| *changed)
    .map(|(k, _)| *k)
    .collect();
    if let Some(map) = summary.as_object_mut()
        && !personal.is_empty()
    {
        map.insert("personal_fields_changed".to_owned(), json!(personal));
    }
    tx.audit(
        cap.municipality_id,
        actor,
        Action::StaffUpdated,
        ("staff", id.to_string()),
        summary,
    )
    .await?;
    tx.commit().await?;
    Ok(s)
}

/// Sets a person's unit inside a larger transaction (人事異動).
pub(crate) async fn move_to(
    db: &impl ConnectionTrait,
    staff_id: i64,
    unit_id: i64,
    kind_id: Option<i64>,
) -> AppResult<()> {
    let mut m = staff::ActiveModel {
        id: Set(staff_id),
        org_unit_id: Set(unit_id),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    if let Some(k) = kind_id {
        m.kind_id = Set(k);
    }
    m.update(db).await?;
    Ok(())
}

/// Staff by 職員番号.
pub async fn by_no(
    db: &impl ConnectionTrait,
    municipality_id: i64,
    staff_no: &str,
) -> AppResult<Option<staff::Model>> {
    Ok(staff::Entity::find()
        .filter(staff::Column::MunicipalityId.eq(municipality_id))
        .filter(staff::Column::StaffNo.eq(staff_no))
        .one(db)
        .await?)
}

/// Staff by 職員番号, or by id when the text is a number that is no 職員番号.
pub async fn find(
    db: &impl ConnectionTrait,
    municipality_id: i64,
    value: &str,
) -> AppResult<Option<staff::Model>> {
    if let Ok(no) = parse_staff_no("staff", value)
        && let Some(s) = by_no(db, municipality_id, &no).await?
    {
        return Ok(Some(s));
    }
    Ok(match value.trim().parse::<i64>() {
        Ok(id) => staff::Entity::find_by_id(id)
            .one(db)
            .await?
            .filter(|s| s.municipality_id == municipality_id),
        Err(_) => None,
    })
}
