//! 6(1) 組織体制: who holds which statutory role at which post, effective-dated, with 兼務 and 事務取扱.

use chrono::{NaiveDate, Utc};
use mamori_policy::{AssignmentKind, StatutoryRole, UnitLevel, parse_date};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;

use crate::access::{OrgAdmin, Reach};
use crate::error::Problems;
use crate::tx::AuditActor;
use crate::{Actor, App, AppError, AppResult, FieldError, Tx, text, today};
use mamori_store::audit::Action;
use mamori_store::entity::{org_unit, role_assignment, staff};

/// A role assignment as listed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AssignmentRow {
    pub id: i64,
    pub role: StatutoryRole,
    pub kind: AssignmentKind,
    pub scope_unit_id: i64,
    pub scope_path: String,
    pub scope_name: String,
    pub staff_id: i64,
    pub staff_no: String,
    pub staff_name: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub note: String,
}

impl AssignmentRow {
    pub fn in_force_on(&self, day: NaiveDate) -> bool {
        self.valid_from <= day && self.valid_to.is_none_or(|to| to >= day)
    }
}

/// Assignments within the person's reach; with `on`, only those in force that day.
pub async fn list(
    app: &App,
    actor: &Actor,
    on: Option<NaiveDate>,
) -> AppResult<Vec<AssignmentRow>> {
    let db = app.store().conn();
    let mut query = role_assignment::Entity::find()
        .filter(role_assignment::Column::MunicipalityId.eq(actor.municipality_id));
    if let Some(day) = on {
        query = query
            .filter(role_assignment::Column::ValidFrom.lte(day))
            .filter(
                sea_orm::Condition::any()
                    .add(role_assignment::Column::ValidTo.is_null())
                    .add(role_assignment::Column::ValidTo.gte(day)),
            );
    }
    let rows = query
        .order_by_asc(role_assignment::Column::Role)
        .order_by_asc(role_assignment::Column::ValidFrom)
        .find_also_related(org_unit::Entity)
        .all(db)
        .await?;
    let staff_ids: Vec<i64> = rows.iter().map(|(r, _)| r.staff_id).collect();
    let people: std::collections::HashMap<i64, staff::Model> = staff::Entity::find()
        .filter(staff::Column::Id.is_in(staff_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let reach = actor.reach();
    Ok(rows
        .into_iter()
        .filter_map(|(r, unit)| {
            let unit = unit?;
            let person = people.get(&r.staff_id)?;
            let visible = match &reach {
                Reach::All => true,
                Reach::Subtrees(_) => reach.covers_unit(&unit.tree_path),
                Reach::OwnOnly(own) => *own == Some(r.staff_id),
            };
            visible.then(|| row(r, &unit, person))
        })
        .flatten()
        .collect())
}

fn row(
    r: role_assignment::Model,
    unit: &org_unit::Model,
    person: &staff::Model,
) -> Option<AssignmentRow> {
    Some(AssignmentRow {
        id: r.id,
        role: StatutoryRole::parse(&r.role).ok()?,
        kind: AssignmentKind::parse(&r.kind).ok()?,
        scope_unit_id: unit.id,
        scope_path: unit.path.clone(),
        scope_name: if unit.path.is_empty() {
            unit.name.clone()
        } else {
            unit.path.clone()
        },
        staff_id: person.id,
        staff_no: person.staff_no.clone(),
        staff_name: person.name.clone(),
        valid_from: r.valid_from,
        valid_to: r.valid_to,
        note: r.note,
    })
}

/// An assignment form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct AssignForm {
    pub role: String,
    pub scope_unit_id: String,
    /// Staff id, or 職員番号.
    pub staff: String,
    #[serde(default)]
    pub kind: String,
    pub valid_from: String,
    #[serde(default)]
    pub valid_to: String,
    #[serde(default)]
    pub note: String,
}

pub(crate) fn parse_optional_date(
    field: &str,
    value: &str,
) -> Result<Option<NaiveDate>, FieldError> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    parse_date(value)
        .map(Some)
        .ok_or_else(|| FieldError::new(field, "err-date").with("value", value))
}

pub async fn assign(
    app: &App,
    cap: &OrgAdmin,
    actor: &AuditActor,
    form: &AssignForm,
) -> AppResult<role_assignment::Model> {
    let mut tx = app.write().await?;
    let r = assign_in(&mut tx, cap, actor, form, false).await?;
    tx.commit().await?;
    Ok(r)
}

/// Validates and records an assignment. With `replace`, the current holder of a single-holder post is ended
/// the day before (what 人事異動 does); without it, an overlapping holder is an error.
pub(crate) async fn assign_in(
    tx: &mut Tx<'_>,
    cap: &OrgAdmin,
    actor: &AuditActor,
    form: &AssignForm,
    replace: bool,
) -> AppResult<role_assignment::Model> {
    let db = tx.db();
    let mut p = Problems::default();
    let role = p.take(
        StatutoryRole::parse(form.role.trim()).map_err(|_| FieldError::new("role", "err-choice")),
    );
    let kind_text = if form.kind.trim().is_empty() {
        "primary"
    } else {
        form.kind.trim()
    };
    let kind =
        p.take(AssignmentKind::parse(kind_text).map_err(|_| FieldError::new("kind", "err-choice")));
    let from = p.take(
        parse_optional_date("valid_from", &form.valid_from)
            .and_then(|d| d.ok_or_else(|| FieldError::new("valid_from", "err-required"))),
    );
    let to = p.take(parse_optional_date("valid_to", &form.valid_to));
    let note = p.take(text::clean(&form.note, 500).map_err(|k| FieldError::new("note", k)));
    if let (Some(from), Some(Some(to))) = (from, to)
        && to < from
    {
        p.push(FieldError::new("valid_to", "err-date-order"));
    }
    let unit = match form.scope_unit_id.trim().parse::<i64>() {
        Ok(id) => org_unit::Entity::find_by_id(id)
            .one(db)
            .await?
            .filter(|u| u.municipality_id == cap.municipality_id),
        Err(_) => None,
    };
    match &unit {
        None => p.push(FieldError::new("scope_unit_id", "err-unit-unknown")),
        Some(u) if u.abolished_on.is_some() => {
            p.push(FieldError::new("scope_unit_id", "err-parent-abolished"))
        }
        Some(u) => {
            if let Some(role) = role {
                let level = UnitLevel::parse(&u.level).unwrap_or(UnitLevel::Section);
                if !role.post_levels().contains(&level) {
                    p.push(
                        FieldError::new("scope_unit_id", "err-role-scope")
                            .with("role", role.code())
                            .with("unit", u.path.clone()),
                    );
                }
            }
        }
    }
    let person = crate::staff::find(db, cap.municipality_id, &form.staff).await?;
    match &person {
        None => {
            p.push(FieldError::new("staff", "err-staff-unknown").with("value", form.staff.clone()))
        }
        Some(s) if !s.active => {
            p.push(FieldError::new("staff", "err-staff-inactive").with("value", s.staff_no.clone()))
        }
        Some(_) => {}
    }
    p.into_result()?;
    let (Some(role), Some(kind), Some(from), Some(to), Some(note), Some(unit), Some(person)) =
        (role, kind, from, to, note, unit, person)
    else {
        return Err(AppError::Internal(
            "validated assignment lost a field".to_owned(),
        ));
    };
    if !role.is_collective() {
        let db = tx.db();
        let overlapping = role_assignment::Entity::find()
            .filter(role_assignment::Column::Role.eq(role.code()))
            .filter(role_assignment::Column::ScopeUnitId.eq(unit.id))
            .filter(
                sea_orm::Condition::any()
                    .add(role_assignment::Column::ValidTo.is_null())
                    .add(role_assignment::Column::ValidTo.gte(from)),
            )
            .all(db)
            .await?;
        for other in overlapping
            .into_iter()
            .filter(|o| to.is_none_or(|to| o.valid_from <= to))
        {
            if replace && other.valid_from < from {
                let end = from.pred_opt().unwrap_or(from);
                role_assignment::ActiveModel {
                    id: Set(other.id),
                    valid_to: Set(Some(end)),
                    ..Default::default()
                }
                .update(tx.db())
                .await?;
                tx.audit(
                    cap.municipality_id,
                    actor,
                    Action::RoleEnded,
                    ("role_assignment", other.id.to_string()),
                    json!({"valid_to": end.to_string(), "replaced": true}),
                )
                .await?;
            } else {
                return Err(AppError::Invalid(vec![
                    FieldError::new("scope_unit_id", "err-post-taken")
                        .with("from", other.valid_from.to_string()),
                ]));
            }
        }
    }
    let db = tx.db();
    let saved = role_assignment::ActiveModel {
        municipality_id: Set(cap.municipality_id),
        role: Set(role.code().to_owned()),
        scope_unit_id: Set(unit.id),
        staff_id: Set(person.id),
        kind: Set(kind.code().to_owned()),
        valid_from: Set(from),
        valid_to: Set(to),
        note: Set(note),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    tx.audit(
        cap.municipality_id,
        actor,
        Action::RoleAssigned,
        ("role_assignment", saved.id.to_string()),
        json!({"role": role.code(), "scope": unit.id, "staff": person.id, "kind": kind.code(), "from": from.to_string(), "to": to.map(|d| d.to_string())}),
    )
    .await?;
    Ok(saved)
}

/// Ends an assignment on a day (kept for history, never deleted).
pub async fn end(
    app: &App,
    cap: &OrgAdmin,
    actor: &AuditActor,
    id: i64,
    on: &str,
) -> AppResult<()> {
    let on = parse_optional_date("valid_to", on)
        .map_err(|e| AppError::Invalid(vec![e]))?
        .unwrap_or_else(today);
    let mut tx = app.write().await?;
    let r = role_assignment::Entity::find_by_id(id)
        .one(tx.db())
        .await?
        .filter(|r| r.municipality_id == cap.municipality_id)
        .ok_or(AppError::Forbidden)?;
    if on < r.valid_from {
        return Err(AppError::field("valid_to", "err-date-order"));
    }
    role_assignment::ActiveModel {
        id: Set(r.id),
        valid_to: Set(Some(on)),
        ..Default::default()
    }
    .update(tx.db())
    .await?;
    tx.audit(
        cap.municipality_id,
        actor,
        Action::RoleEnded,
        ("role_assignment", r.id.to_string()),
        json!({"valid_to": on.to_string()}),
    )
    .await?;
    tx.commit().await
}
