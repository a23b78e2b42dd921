//! 4(1), 6(1): the municipality, its organisation tree (組織) and its facilities (施設).
//!
//! Each unit is keyed by its 組織コード and shown by its full path (総務部/総務課), because the same name recurs
//! under several 部局. Every unit carries `tree_path` (`/1/5/23/`), so "this unit and everything below it" is a
//! prefix match on both databases.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use mamori_policy::{OrganKind, UnitLevel};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;

use crate::access::{OrgAdmin, check_unit};
use crate::error::Problems;
use crate::tx::AuditActor;
use crate::{Actor, App, AppError, AppResult, FieldError, Tx, text};
use mamori_store::audit::{self, Action};
use mamori_store::entity::{
    account_scope, facility, municipality, org_unit, role_assignment, staff, staff_kind,
};

/// Creates a municipality: its root unit, its audit chain and the default staff kinds.
pub async fn create_municipality(
    app: &App,
    code: &str,
    name: &str,
    name_en: &str,
    by: &AuditActor,
) -> AppResult<i64> {
    let mut tx = app.write().await?;
    let now = Utc::now();
    let m = municipality::ActiveModel {
        code: Set(code.to_owned()),
        name: Set(name.to_owned()),
        name_en: Set(name_en.to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(tx.db())
    .await?;
    audit::start_chain(tx.db(), m.id).await?;
    let root = org_unit::ActiveModel {
        municipality_id: Set(m.id),
        parent_id: Set(None),
        code: Set(code.to_owned()),
        name: Set(name.to_owned()),
        name_kana: Set(String::new()),
        level: Set(UnitLevel::Municipality.code().to_owned()),
        organ_kind: Set(None),
        in_scope: Set(true),
        path: Set(String::new()),
        tree_path: Set(String::new()),
        sort_key: Set(code.to_owned()),
        established_on: Set(None),
        abolished_on: Set(None),
        successor_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(tx.db())
    .await?;
    org_unit::ActiveModel {
        id: Set(root.id),
        tree_path: Set(format!("/{}/", root.id)),
        ..Default::default()
    }
    .update(tx.db())
    .await?;
    for (i, (kind, ja, en)) in mamori_policy::DEFAULT_STAFF_KINDS.iter().enumerate() {
        staff_kind::ActiveModel {
            municipality_id: Set(m.id),
            code: Set((*kind).to_owned()),
            name_ja: Set((*ja).to_owned()),
            name_en: Set((*en).to_owned()),
            sort_order: Set(i as i32),
            ..Default::default()
        }
        .insert(tx.db())
        .await?;
    }
    tx.audit(
        m.id,
        by,
        Action::MunicipalityCreated,
        ("municipality", m.id.to_string()),
        json!({"code": code, "name": name}),
    )
    .await?;
    tx.commit().await?;
    Ok(m.id)
}

/// The first municipality, if any (a single-city installation has exactly one).
pub async fn first_municipality(
    db: &impl ConnectionTrait,
) -> AppResult<Option<municipality::Model>> {
    Ok(municipality::Entity::find()
        .order_by_asc(municipality::Column::Id)
        .one(db)
        .await?)
}

pub async fn municipality(db: &impl ConnectionTrait, id: i64) -> AppResult<municipality::Model> {
    municipality::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// 組織コード: 1 to 20 letters, digits, `-` or `_`.
pub fn parse_unit_code(field: &str, value: &str) -> Result<String, FieldError> {
    let v = text::search_key(value).to_uppercase();
    if v.is_empty() {
        return Err(FieldError::new(field, "err-required"));
    }
    if v.chars().count() > 20
        || !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(FieldError::new(field, "err-code-format").with("value", value));
    }
    Ok(v)
}

/// Every unit of a municipality, in tree order (depth first, siblings by code), abolished ones included.
pub async fn all_units(
    db: &impl ConnectionTrait,
    municipality_id: i64,
) -> AppResult<Vec<org_unit::Model>> {
    let units = org_unit::Entity::find()
        .filter(org_unit::Column::MunicipalityId.eq(municipality_id))
        .order_by_asc(org_unit::Column::Code)
        .all(db)
        .await?;
    Ok(tree_order(units))
}

fn tree_order(units: Vec<org_unit::Model>) -> Vec<org_unit::Model> {
    let mut children: HashMap<Option<i64>, Vec<org_unit::Model>> = HashMap::new();
    for u in units {
        children.entry(u.parent_id).or_default().push(u);
    }
    let mut out = Vec::new();
    let mut stack: Vec<org_unit::Model> = children
        .remove(&None)
        .unwrap_or_default()
        .into_iter()
        .rev()
        .collect();
    while let Some(u) = stack.pop() {
        if let Some(kids) = children.remove(&Some(u.id)) {
            stack.extend(kids.into_iter().rev());
        }
        out.push(u);
    }
    out
}

/// A unit with its depth, for the tree page.
#[derive(Debug, Clone)]
pub struct TreeNode {
    pub unit: org_unit::Model,
    pub depth: usize,
}

/// The tree as a person may see it: current units (abolished ones only if asked), within their reach.
pub async fn tree(app: &App, actor: &Actor, include_abolished: bool) -> AppResult<Vec<TreeNode>> {
    let reach = actor.tree_reach();
    let units = all_units(app.store().conn(), actor.municipality_id).await?;
    Ok(units
        .into_iter()
        .filter(|u| include_abolished || u.abolished_on.is_none())
        .filter(|u| reach.covers_unit(&u.tree_path))
        .map(|u| {
            let depth = u.tree_path.matches('/').count().saturating_sub(2);
            TreeNode { unit: u, depth }
        })
        .collect())
}

/// One unit, if the actor may see it.
pub async fn unit(app: &App, actor: &Actor, id: i64) -> AppResult<org_unit::Model> {
    let u = org_unit::Entity::find_by_id(id)
        .one(app.store().conn())
        .await?
        .ok_or(AppError::Forbidden)?;
    check_unit(actor.municipality_id, &actor.tree_reach(), &u)?;
    Ok(u)
}

/// Looks a unit up by 組織コード within a municipality.
pub async fn unit_by_code(
    db: &impl ConnectionTrait,
    municipality_id: i64,
    code: &str,
) -> AppResult<Option<org_unit::Model>> {
    Ok(org_unit::Entity::find()
        .filter(org_unit::Column::MunicipalityId.eq(municipality_id))
        .filter(org_unit::Column::Code.eq(code))
        .one(db)
        .await?)
}

/// A unit named by its code or its id.
#[derive(Debug, Clone, Copy)]
pub enum UnitKey<'a> {
    Code(&'a str),
    Id(i64),
}

/// A unit of this municipality, with the ids of every unit at or under it, in one query: a unit's
/// `tree_path` is its parent's followed by its own id (`/1/2/3/`), so the units under it are those whose path
/// begins with its own. Another municipality's unit, or none, gives `None`.
pub async fn unit_tree(
    db: &impl ConnectionTrait,
    municipality_id: i64,
    key: UnitKey<'_>,
) -> AppResult<Option<(i64, Vec<i64>)>> {
    use sea_orm::{FromQueryResult, Statement};
    #[derive(FromQueryResult)]
    struct Found {
        unit: i64,
        under: i64,
    }
    let (column, value): (&str, sea_orm::Value) = match key {
        UnitKey::Code(code) => ("code", code.into()),
        UnitKey::Id(id) => ("id", id.into()),
    };
    // Paths hold digits and slashes only, so the path as a LIKE pattern matches itself and nothing else.
    let sql = format!(
        "SELECT p.id AS unit, u.id AS under FROM org_unit p \
         JOIN org_unit u ON u.municipality_id = p.municipality_id AND u.tree_path LIKE p.tree_path || '%' \
         WHERE p.municipality_id = $1 AND p.{column} = $2"
    );
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => sql,
        _ => sql.replace("$1", "?").replace("$2", "?"),
    };
    let found = Found::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
        [municipality_id.into(), value],
    ))
    .all(db)
    .await?;
    Ok(found
        .first()
        .map(|f| (f.unit, found.iter().map(|f| f.under).collect())))
}

/// A unit form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct UnitForm {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub name_kana: String,
    pub level: String,
    #[serde(default)]
    pub organ_kind: String,
    pub parent_id: String,
    /// Checkbox: "on" when in the policy's scope. Absent means out of scope (市議会 units the council's
    /// own policy governs).
    #[serde(default)]
    pub in_scope: Option<String>,
}

struct ValidUnit {
    code: String,
    name: String,
    name_kana: String,
    level: UnitLevel,
    organ_kind: Option<OrganKind>,
    parent: org_unit::Model,
    in_scope: bool,
}

async fn validate_unit(
    db: &impl ConnectionTrait,
    municipality_id: i64,
    form: &UnitForm,
    editing: Option<&org_unit::Model>,
) -> AppResult<ValidUnit> {
    let mut p = Problems::default();
    let code = p.take(parse_unit_code("code", &form.code));
    let name = p.take(required_text("name", &form.name, 100));
    let name_kana =
        p.take(text::clean(&form.name_kana, 200).map_err(|k| FieldError::new("name_kana", k)));
    let level =
        p.take(UnitLevel::parse(&form.level).map_err(|_| FieldError::new("level", "err-choice")));
    let organ_kind = if form.organ_kind.trim().is_empty() {
        None
    } else {
        p.take(
            OrganKind::parse(form.organ_kind.trim())
                .map_err(|_| FieldError::new("organ_kind", "err-choice")),
        )
    };
    if level == Some(UnitLevel::Organ) && organ_kind.is_none() && form.organ_kind.trim().is_empty()
    {
        p.push(FieldError::new("organ_kind", "err-organ-kind-required"));
    }
    if level == Some(UnitLevel::Municipality) {
        p.push(FieldError::new("level", "err-choice"));
    }
    let parent = match form.parent_id.trim().parse::<i64>() {
        Ok(id) => org_unit::Entity::find_by_id(id)
            .one(db)
            .await?
            .filter(|u| u.municipality_id == municipality_id),
        Err(_) => None,
    };
    if parent.is_none() {
        p.push(FieldError::new("parent_id", "err-parent-unknown"));
    }
    if let (Some(parent), Some(level)) = (&parent, level) {
        let parent_level = UnitLevel::parse(&parent.level).unwrap_or(UnitLevel::Section);
        if !level.may_sit_under(parent_level) {
            p.push(FieldError::new("level", "err-level-under-parent"));
        }
        if parent.abolished_on.is_some() {
            p.push(FieldError::new("parent_id", "err-parent-abolished"));
        }
        if let Some(editing) = editing
            && parent.tree_path.starts_with(&editing.tree_path)
        {
            p.push(FieldError::new("parent_id", "err-cycle"));
        }
    }
    if let Some(code) = &code
        && let Some(other) = unit_by_code(db, municipality_id, code).await?
        && editing.is_none_or(|e| e.id != other.id)
    {
        p.push(FieldError::new("code", "err-duplicate").with("value", code.clone()));
    }
    p.into_result()?;
    match (code, name, name_kana, level, parent) {
        (Some(code), Some(name), Some(name_kana), Some(level), Some(parent)) => Ok(ValidUnit {
            code,
            name,
            name_kana,
            level,
            organ_kind,
            parent,
            in_scope: text::checked(&form.in_scope),
        }),
        _ => Err(AppError::Internal("validated unit lost a field".to_owned())),
    }
}

pub(crate) fn required_text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let v = text::clean(value, max)
        .map_err(|k| FieldError::new(field, k).with("max", max.to_string()))?;
    if v.is_empty() {
        return Err(FieldError::new(field, "err-required"));
    }
    Ok(v)
}

fn child_path(parent: &org_unit::Model, name: &str) -> String {
    if parent.path.is_empty() {
        name.to_owned()
    } else {
        format!("{}/{}", parent.path, name)
    }
}

pub async fn create_unit(
    app: &App,
    cap: &OrgAdmin,
    actor: &AuditActor,
    form: &UnitForm,
) -> AppResult<org_unit::Model> {
    let mut tx = app.write().await?;
    let u = create_unit_in(&mut tx, cap, actor, form, None).await?;
    tx.commit().await?;
    Ok(u)
}

pub(crate) async fn create_unit_in(
    tx: &mut Tx<'_>,
    cap: &OrgAdmin,
    actor: &AuditActor,
    form: &UnitForm,
    established_on: Option<NaiveDate>,
) -> AppResult<org_unit::Model> {
    let v = validate_unit(tx.db(), cap.municipality_id, form, None).await?;
    let now = Utc::now();
    let inserted = org_unit::ActiveModel {
        municipality_id: Set(cap.municipality_id),
        parent_id: Set(Some(v.parent.id)),
        code: Set(v.code.clone()),
        name: Set(v.name.clone()),
        name_kana: Set(v.name_kana),
        level: Set(v.level.code().to_owned()),
        organ_kind: Set(v.organ_kind.map(|k| k.code().to_owned())),
        in_scope: Set(v.in_scope),
        path: Set(child_path(&v.parent, &v.name)),
        tree_path: Set(String::new()),
        sort_key: Set(v.code.clone()),
        established_on: Set(established_on),
        abolished_on: Set(None),
        successor_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(tx.db())
    .await?;
    let tree_path = format!("{}{}/", v.parent.tree_path, inserted.id);
    let unit = org_unit::ActiveModel {
        id: Set(inserted.id),
        tree_path: Set(tree_path),
        ..Default::default()
    }
    .update(tx.db())
    .await?;
    tx.audit(
        cap.municipality_id,
        actor,
        Action::OrgUnitCreated,
        ("org_unit", unit.id.to_string()),
        json!({"code": unit.code, "name": unit.name, "parent": v.parent.id, "level": unit.level, "in_scope": unit.in_scope}),
    )
    .await?;
    Ok(unit)
}

pub async fn update_unit(
    app: &App,
    cap: &OrgAdmin,
    actor: &AuditActor,
    id: i64,
    form: &UnitForm,
) -> AppResult<org_unit::Model> {
    let mut tx = app.write().await?;
    let unit = update_unit_tx(&mut tx, cap, actor, id, form).await?;
    tx.commit().await?;
    Ok(unit)
}

pub(crate) async fn update_unit_tx(
    tx: &mut Tx<'_>,
    cap: &OrgAdmin,
    actor: &AuditActor,
    id: i64,
    form: &UnitForm,
) -> AppResult<org_unit::Model> {
    let before = org_unit::Entity::find_by_id(id)
        .one(tx.db())
        .await?
        .filter(|u| u.municipality_id == cap.municipality_id)
        .ok_or(AppError::Forbidden)?;
    if before.parent_id.is_none() {
        return Err(AppError::field("parent_id", "err-root-fixed"));
    }
    let v = validate_unit(tx.db(), cap.municipality_id, form, Some(&before)).await?;
    let unit = org_unit::ActiveModel {
        id: Set(id),
        parent_id: Set(Some(v.parent.id)),
        code: Set(v.code),
        name: Set(v.name),
        name_kana: Set(v.name_kana),
        level: Set(v.level.code().to_owned()),
        organ_kind: Set(v.organ_kind.map(|k| k.code().to_owned())),
        in_scope: Set(v.in_scope),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(tx.db())
    .await?;
    rebuild_paths(tx.db(), cap.municipality_id).await?;
    tx.audit(
        cap.municipality_id,
        actor,
        Action::OrgUnitUpdated,
        ("org_unit", id.to_string()),
        changes(&[
            ("code", &before.code, &unit.code),
            ("name", &before.name, &unit.name),
            ("name_kana", &before.name_kana, &unit.name_kana),
            ("level", &before.level, &unit.level),
            (
                "parent",
                &format!("{:?}", before.parent_id),
                &format!("{:?}", unit.parent_id),
            ),
            (
                "in_scope",
                &before.in_scope.to_string(),
                &unit.in_scope.to_string(),
            ),
        ]),
    )
    .await?;
    let unit = org_unit::Entity::find_by_id(id)
        .one(tx.db())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(unit)
}

/// `{"field": [before, after]}` for the fields that changed: what an audit entry says about an update.
pub(crate) fn changes(pairs: &[(&str, &str, &str)]) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> = pairs
        .iter()
        .filter(|(_, before, after)| before != after)
        .map(|(k, before, after)| ((*k).to_owned(), json!([before, after])))
        .collect();
    serde_json::Value::Object(map)
}

/// Recomputes every unit's display path and tree path from the parent links (after a rename or a move).
pub(crate) async fn rebuild_paths(
    db: &impl ConnectionTrait,
    municipality_id: i64,
) -> AppResult<()> {
    let units = all_units(db, municipality_id).await?;
    let mut computed: HashMap<i64, (String, String)> = HashMap::new();
    for u in &units {
        let (path, tree_path) = match u.parent_id.and_then(|p| computed.get(&p)) {
            Some((ppath, ptree)) => {
                let path = if ppath.is_empty() {
                    u.name.clone()
                } else {
                    format!("{ppath}/{}", u.name)
                };
                (path, format!("{ptree}{}/", u.id))
            }
            None => (String::new(), format!("/{}/", u.id)),
        };
        if path != u.path || tree_path != u.tree_path {
            org_unit::ActiveModel {
                id: Set(u.id),
                path: Set(path.clone()),
                tree_path: Set(tree_path.clone()),
                ..Default::default()
            }
            .update(db)
            .await?;
        }
        computed.insert(u.id, (path, tree_path));
    }
    Ok(())
}

/// What moved when a unit was abolished.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Moved {
    pub staff: Vec<i64>,
    pub facilities: Vec<i64>,
    pub child_units: Vec<i64>,
    pub account_scopes: Vec<i64>,
    pub roles_ended: Vec<i64>,
}

/// Abolishes a unit (廃止) or merges it into another (統合): what it owned moves to the successor, its posts
/// end the day before, and a record of each move is in the audit entry.
pub(crate) async fn abolish_in(
    tx: &mut Tx<'_>,
    municipality_id: i64,
    actor: &AuditActor,
    unit: &org_unit::Model,
    successor: &org_unit::Model,
    on: NaiveDate,
) -> AppResult<Moved> {
    let db = tx.db();
    let mut moved = Moved::default();
    for s in staff::Entity::find()
        .filter(staff::Column::OrgUnitId.eq(unit.id))
        .all(db)
        .await?
    {
        staff::ActiveModel {
            id: Set(s.id),
            org_unit_id: Set(successor.id),
            ..Default::default()
        }
        .update(db)
        .await?;
        moved.staff.push(s.id);
    }
    for f in facility::Entity::find()
        .filter(facility::Column::OrgUnitId.eq(unit.id))
        .all(db)
        .await?
    {
        facility::ActiveModel {
            id: Set(f.id),
            org_unit_id: Set(successor.id),
            ..Default::default()
        }
        .update(db)
        .await?;
        moved.facilities.push(f.id);
    }
    for c in org_unit::Entity::find()
        .filter(org_unit::Column::ParentId.eq(unit.id))
        .all(db)
        .await?
    {
        org_unit::ActiveModel {
            id: Set(c.id),
            parent_id: Set(Some(successor.id)),
            ..Default::default()
        }
        .update(db)
        .await?;
        moved.child_units.push(c.id);
    }
    for a in account_scope::Entity::find()
        .filter(account_scope::Column::OrgUnitId.eq(unit.id))
        .all(db)
        .await?
    {
        account_scope::ActiveModel {
            id: Set(a.id),
            org_unit_id: Set(successor.id),
            ..Default::default()
        }
        .update(db)
        .await?;
        moved.account_scopes.push(a.id);
    }
    let day_before = on.pred_opt().unwrap_or(on);
    for r in role_assignment::Entity::find()
        .filter(role_assignment::Column::ScopeUnitId.eq(unit.id))
        .filter(
            sea_orm::Condition::any()
                .add(role_assignment::Column::ValidTo.is_null())
                .add(role_assignment::Column::ValidTo.gte(on)),
        )
        .all(db)
        .await?
    {
        role_assignment::ActiveModel {
            id: Set(r.id),
            valid_to: Set(Some(day_before.max(r.valid_from))),
            ..Default::default()
        }
        .update(db)
        .await?;
        moved.roles_ended.push(r.id);
    }
    org_unit::ActiveModel {
        id: Set(unit.id),
        abolished_on: Set(Some(on)),
        successor_id: Set(Some(successor.id)),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(db)
    .await?;
    rebuild_paths(tx.db(), municipality_id).await?;
    tx.audit(
        municipality_id,
        actor,
        Action::OrgUnitAbolished,
        ("org_unit", unit.id.to_string()),
        json!({"code": unit.code, "successor": successor.id, "on": on.to_string()}),
    )
    .await?;
    tx.audit(
        municipality_id,
        actor,
        Action::OwnershipMoved,
        ("org_unit", unit.id.to_string()),
        json!({"from": unit.id, "to": successor.id, "moved": moved}),
    )
    .await?;
    Ok(moved)
}

// ---- facilities (施設) ----

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct FacilityForm {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub address: String,
    pub org_unit_id: String,
    /// 4(1)② a facility of an organisation outside the city's own (e.g. 指定管理者) connected to its network.
    #[serde(default)]
    pub connected_outside: Option<String>,
    #[serde(default)]
    pub note: String,
}

/// Facilities the actor may see, in code order.
pub async fn facilities(
    app: &App,
    actor: &Actor,
) -> AppResult<Vec<(facility::Model, org_unit::Model)>> {
    let reach = actor.reach();
    let rows = facility::Entity::find()
        .filter(facility::Column::MunicipalityId.eq(actor.municipality_id))
        .order_by_asc(facility::Column::Code)
        .find_also_related(org_unit::Entity)
        .all(app.store().conn())
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(f, u)| u.map(|u| (f, u)))
        .filter(|(_, u)| reach.covers_unit(&u.tree_path))
        .collect())
}

pub async fn facility(
    app: &App,
    actor: &Actor,
    id: i64,
) -> AppResult<(facility::Model, org_unit::Model)> {
    let (f, u) = facility::Entity::find_by_id(id)
        .find_also_related(org_unit::Entity)
        .one(app.store().conn())
        .await?
        .ok_or(AppError::Forbidden)?;
    let u = u.ok_or(AppError::Forbidden)?;
    check_unit(actor.municipality_id, &actor.reach(), &u)?;
    Ok((f, u))
}

pub async fn save_facility(
    app: &App,
    cap: &OrgAdmin,
    actor: &AuditActor,
    id: Option<i64>,
    form: &FacilityForm,
) -> AppResult<facility::Model> {
    let mut tx = app.write().await?;
    let mut p = Problems::default();
    let code = p.take(parse_unit_code("code", &form.code));
    let name = p.take(required_text("name", &form.name, 100));
    let address =
        p.take(text::clean(&form.address, 200).map_err(|k| FieldError::new("address", k)));
    let note = p.take(text::clean(&form.note, 1000).map_err(|k| FieldError::new("note", k)));
    let owner = match form.org_unit_id.trim().parse::<i64>() {
        Ok(uid) => org_unit::Entity::find_by_id(uid)
            .one(tx.db())
            .await?
            .filter(|u| u.municipality_id == cap.municipality_id && u.abolished_on.is_none()),
        Err(_) => None,
    };
    if owner.is_none() {
        p.push(FieldError::new("org_unit_id", "err-unit-unknown"));
    }
    let existing = match id {
        Some(id) => Some(
            facility::Entity::find_by_id(id)
                .one(tx.db())
                .await?
                .filter(|f| f.municipality_id == cap.municipality_id)
                .ok_or(AppError::Forbidden)?,
        ),
        None => None,
    };
    if let Some(code) = &code {
        let clash = facility::Entity::find()
            .filter(facility::Column::MunicipalityId.eq(cap.municipality_id))
            .filter(facility::Column::Code.eq(code.as_str()))
            .one(tx.db())
            .await?;
        if clash.is_some_and(|c| existing.as_ref().is_none_or(|e| e.id != c.id)) {
            p.push(FieldError::new("code", "err-duplicate").with("value", code.clone()));
        }
    }
    p.into_result()?;
    let (Some(code), Some(name), Some(address), Some(note), Some(owner)) =
        (code, name, address, note, owner)
    else {
        return Err(AppError::Internal(
            "validated facility lost a field".to_owned(),
        ));
    };
    let connected = text::checked(&form.connected_outside);
    let now = Utc::now();
    let saved = match &existing {
        Some(e) => {
            facility::ActiveModel {
                id: Set(e.id),
                code: Set(code),
                name: Set(name),
                address: Set(address),
                org_unit_id: Set(owner.id),
                connected_outside: Set(connected),
                note: Set(note),
                updated_at: Set(now),
                ..Default::default()
            }
            .update(tx.db())
            .await?
        }
        None => {
            facility::ActiveModel {
                municipality_id: Set(cap.municipality_id),
                code: Set(code),
                name: Set(name),
                address: Set(address),
                org_unit_id: Set(owner.id),
                connected_outside: Set(connected),
                note: Set(note),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(tx.db())
            .await?
        }
    };
    let summary = match &existing {
        Some(e) => changes(&[
            ("code", &e.code, &saved.code),
            ("name", &e.name, &saved.name),
            ("address", &e.address, &saved.address),
            (
                "org_unit",
                &e.org_unit_id.to_string(),
                &saved.org_unit_id.to_string(),
            ),
            (
                "connected_outside",
                &e.connected_outside.to_string(),
                &saved.connected_outside.to_string(),
            ),
        ]),
        None => json!({"code": saved.code, "name": saved.name, "org_unit": saved.org_unit_id}),
    };
    let action = if existing.is_some() {
        Action::FacilityUpdated
    } else {
        Action::FacilityCreated
    };
    tx.audit(
        cap.municipality_id,
        actor,
        action,
        ("facility", saved.id.to_string()),
        summary,
    )
    .await?;
    tx.commit().await?;
    Ok(saved)
}
