//! 情報システム: the register of systems, the zone each lives in and the measures of 6(3)①. Retiring (廃止)
//! keeps a system and its history.

use chrono::{NaiveDate, Utc};
use mamori_policy::check::{self, Finding, NetworkFacts, Snapshot, SubjectKind, SystemFacts};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::{Map, Value, json};

use super::{Hosting, POLICY_ZONES, reach_condition, unit_in_reach};
use crate::access::{Reach, SystemEditor};
use crate::assets::HistoryEntry;
use crate::error::Problems;
use crate::org::required_text;
use crate::{Actor, App, AppError, AppResult, AuditActor, FieldError, text, today};
use mamori_store::audit::Action;
use mamori_store::entity::{info_system, org_unit, staff};

pub const MAX_NAME: usize = 200;
pub const MAX_NOTES: usize = 2000;

/// The form (or JSON body) as typed; every value a string, check boxes `on` when set.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct SystemInput {
    pub name: String,
    /// A zone id: `my_number`, `lgwan`, `internet`, or another zone of the newest zone map.
    pub zone: String,
    /// 所管課の組織コード.
    pub owner_code: String,
    /// 情報システム管理者の職員番号.
    pub admin_no: String,
    pub hosting: String,
    pub mfa: Option<String>,
    pub no_export: Option<String>,
    pub sanitiser: Option<String>,
    pub notes: String,
}

/// A system as listed and shown.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SystemRow {
    pub id: i64,
    pub name: String,
    pub zone: String,
    pub owner_unit_id: Option<i64>,
    pub owner_code: String,
    pub owner_path: String,
    pub admin_staff_id: Option<i64>,
    pub admin_no: String,
    pub admin_name: String,
    pub hosting: String,
    pub mfa: bool,
    pub no_export: bool,
    pub sanitiser: bool,
    pub notes: String,
    pub retired: bool,
    pub retired_on: Option<NaiveDate>,
    pub updated_at: chrono::DateTime<Utc>,
}

/// What a system's page shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SystemDetail {
    #[serde(flatten)]
    pub row: SystemRow,
    pub findings: Vec<Finding>,
    pub history: Vec<HistoryEntry>,
    pub editable: bool,
}

/// The validated fields.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SystemFields {
    name: String,
    zone: String,
    owner_unit_id: Option<i64>,
    admin_staff_id: Option<i64>,
    hosting: Hosting,
    mfa: bool,
    no_export: bool,
    sanitiser: bool,
    notes: String,
}

impl SystemFields {
    fn of(m: &info_system::Model) -> Self {
        SystemFields {
            name: m.name.clone(),
            zone: m.zone.clone(),
            owner_unit_id: m.owner_unit_id,
            admin_staff_id: m.admin_staff_id,
            hosting: Hosting::parse(&m.hosting).unwrap_or(Hosting::OnPremises),
            mfa: m.mfa,
            no_export: m.no_export,
            sanitiser: m.sanitiser,
            notes: m.notes.clone(),
        }
    }

    /// `{field: value}` for the audit entry of a new system.
    fn summary(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("name".into(), json!(self.name));
        map.insert("zone".into(), json!(self.zone));
        map.insert(
            "owner_unit".into(),
            json!(self.owner_unit_id.map(|i| i.to_string())),
        );
        map.insert(
            "admin_staff".into(),
            json!(self.admin_staff_id.map(|i| i.to_string())),
        );
        map.insert("hosting".into(), json!(self.hosting.code()));
        map.insert("mfa".into(), json!(self.mfa.to_string()));
        map.insert("no_export".into(), json!(self.no_export.to_string()));
        map.insert("sanitiser".into(), json!(self.sanitiser.to_string()));
        if !self.notes.is_empty() {
            map.insert("notes_set".into(), json!(true));
        }
        map
    }

    /// `{field: [before, after]}` for what changed.
    fn changes(before: &SystemFields, after: &SystemFields) -> Map<String, Value> {
        let (b, a) = (before.summary(), after.summary());
        let mut map = Map::new();
        for (field, value) in &a {
            if field == "notes_set" {
                continue;
            }
            if b.get(field) != Some(value) {
                map.insert(
                    field.clone(),
                    json!([b.get(field).cloned().unwrap_or(Value::Null), value]),
                );
            }
        }
        if before.notes != after.notes {
            map.insert("notes_changed".into(), json!(true));
        }
        map
    }
}

/// The zones a system may be put in: the policy's three, then the other zones of the newest zone map, as
/// (id, name as the map gives it).
pub async fn zone_choices(app: &App, municipality_id: i64) -> AppResult<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = POLICY_ZONES
        .iter()
        .map(|z| ((*z).to_owned(), String::new()))
        .collect();
    if let Some(map) = super::network::latest_map(app.store().conn(), municipality_id).await?
        && let Ok(parsed) =
            mamori_netcheck::zones::parse_zone_map(&map.source_text, &map.source_name)
    {
        for zone in parsed.zones {
            match out.iter_mut().find(|(id, _)| *id == zone.id) {
                Some(known) => known.1 = zone.name,
                None => out.push((zone.id, zone.name)),
            }
        }
    }
    Ok(out)
}

async fn validate(
    app: &App,
    db: &impl ConnectionTrait,
    editor: &SystemEditor,
    input: &SystemInput,
) -> AppResult<SystemFields> {
    let mid = editor.municipality_id;
    let mut problems = Problems::default();
    let name = problems.take(required_text("name", &input.name, MAX_NAME));
    let zones = zone_choices(app, mid).await?;
    let zone = input.zone.trim();
    let zone = if zone.is_empty() {
        problems.push(FieldError::new("zone", "err-required"));
        None
    } else if zones.iter().any(|(id, _)| id == zone) {
        Some(zone.to_owned())
    } else {
        problems.push(FieldError::new("zone", "err-zone-unknown").with("value", zone));
        None
    };
    let hosting = Hosting::parse(&input.hosting);
    if hosting.is_none() {
        problems.push(FieldError::new("hosting", "err-required"));
    }
    let owner_unit_id = match input.owner_code.trim() {
        "" => None,
        code => match crate::org::unit_by_code(db, mid, code).await? {
            Some(u) if u.abolished_on.is_none() => Some(u.id),
            Some(_) => {
                problems
                    .push(FieldError::new("owner_code", "err-unit-abolished").with("value", code));
                None
            }
            None => {
                problems
                    .push(FieldError::new("owner_code", "err-unit-unknown").with("value", code));
                None
            }
        },
    };
    let admin_staff_id = match input.admin_no.trim() {
        "" => None,
        no => match crate::staff::find(db, mid, no).await? {
            Some(s) if s.active => Some(s.id),
            Some(_) => {
                problems.push(FieldError::new("admin_no", "err-staff-inactive").with("value", no));
                None
            }
            None => {
                problems.push(FieldError::new("admin_no", "err-staff-unknown").with("value", no));
                None
            }
        },
    };
    let notes = problems.take(notes_field(&input.notes));
    problems.into_result()?;
    if !unit_in_reach(db, &editor.reach, owner_unit_id).await? {
        return Err(AppError::field("owner_code", "err-unit-out-of-scope"));
    }
    let (Some(name), Some(zone), Some(hosting), Some(notes)) = (name, zone, hosting, notes) else {
        return Err(AppError::Internal(
            "validated system lost a field".to_owned(),
        ));
    };
    Ok(SystemFields {
        name,
        zone,
        owner_unit_id,
        admin_staff_id,
        hosting,
        mfa: text::checked(&input.mfa),
        no_export: text::checked(&input.no_export),
        sanitiser: text::checked(&input.sanitiser),
        notes,
    })
}

/// 備考 may hold line breaks; other control characters are refused.
fn notes_field(value: &str) -> Result<String, FieldError> {
    let normalised = value.replace("\r\n", "\n").replace('\r', "\n");
    let trimmed = normalised.trim();
    if trimmed.chars().count() > MAX_NOTES {
        return Err(FieldError::new("notes", "err-too-long").with("max", MAX_NOTES.to_string()));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(FieldError::new("notes", "err-control-chars"));
    }
    Ok(trimmed.to_owned())
}

async fn rows_for(
    db: &impl ConnectionTrait,
    models: Vec<info_system::Model>,
) -> AppResult<Vec<SystemRow>> {
    let unit_ids: Vec<i64> = models.iter().filter_map(|m| m.owner_unit_id).collect();
    let staff_ids: Vec<i64> = models.iter().filter_map(|m| m.admin_staff_id).collect();
    let units: std::collections::HashMap<i64, org_unit::Model> = org_unit::Entity::find()
        .filter(org_unit::Column::Id.is_in(unit_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let people: std::collections::HashMap<i64, staff::Model> = staff::Entity::find()
        .filter(staff::Column::Id.is_in(staff_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    Ok(models
        .into_iter()
        .map(|m| {
            let unit = m.owner_unit_id.and_then(|id| units.get(&id));
            let admin = m.admin_staff_id.and_then(|id| people.get(&id));
            SystemRow {
                id: m.id,
                name: m.name,
                zone: m.zone,
                owner_unit_id: m.owner_unit_id,
                owner_code: unit.map(|u| u.code.clone()).unwrap_or_default(),
                owner_path: unit.map(|u| u.path.clone()).unwrap_or_default(),
                admin_staff_id: m.admin_staff_id,
                admin_no: admin.map(|s| s.staff_no.clone()).unwrap_or_default(),
                admin_name: admin.map(|s| s.name.clone()).unwrap_or_default(),
                hosting: m.hosting,
                mfa: m.mfa,
                no_export: m.no_export,
                sanitiser: m.sanitiser,
                notes: m.notes,
                retired: m.retired,
                retired_on: m.retired_on,
                updated_at: m.updated_at,
            }
        })
        .collect())
}

/// The systems a person may read, by zone and name; retired ones only when asked.
pub async fn list(app: &App, actor: &Actor, with_retired: bool) -> AppResult<Vec<SystemRow>> {
    let db = app.store().conn();
    let mut q = info_system::Entity::find()
        .filter(info_system::Column::MunicipalityId.eq(actor.municipality_id))
        .filter(reach_condition(&actor.reach()))
        .order_by_asc(info_system::Column::Zone)
        .order_by_asc(info_system::Column::Name)
        .order_by_asc(info_system::Column::Id);
    if !with_retired {
        q = q.filter(info_system::Column::Retired.eq(false));
    }
    rows_for(db, q.all(db).await?).await
}

/// Every system in force of the municipality (for the flow forms' choices: a flow may go to a system of
/// another unit).
pub async fn choices(app: &App, municipality_id: i64) -> AppResult<Vec<info_system::Model>> {
    Ok(info_system::Entity::find()
        .filter(info_system::Column::MunicipalityId.eq(municipality_id))
        .filter(info_system::Column::Retired.eq(false))
        .order_by_asc(info_system::Column::Zone)
        .order_by_asc(info_system::Column::Name)
        .all(app.store().conn())
        .await?)
}

pub(crate) async fn load_in_reach(
    db: &impl ConnectionTrait,
    municipality_id: i64,
    reach: &Reach,
    id: i64,
) -> AppResult<info_system::Model> {
    info_system::Entity::find_by_id(id)
        .filter(info_system::Column::MunicipalityId.eq(municipality_id))
        .filter(reach_condition(reach))
        .one(db)
        .await?
        // Out of reach and missing answer alike, so a refusal does not say whether the system exists.
        .ok_or(AppError::Forbidden)
}

pub(crate) fn facts_of(m: &info_system::Model) -> SystemFacts {
    SystemFacts {
        id: m.id,
        name: m.name.clone(),
        zone: m.zone.clone(),
        owner_unit_id: m.owner_unit_id,
        mfa: m.mfa,
        no_export: m.no_export,
        sanitiser: m.sanitiser,
        retired: m.retired,
    }
}

pub async fn get(app: &App, actor: &Actor, id: i64) -> AppResult<SystemDetail> {
    let db = app.store().conn();
    let m = load_in_reach(db, actor.municipality_id, &actor.reach(), id).await?;
    let editable = match actor.system_editor() {
        Some(editor) => unit_in_reach(db, &editor.reach, m.owner_unit_id).await?,
        None => false,
    };
    let scheme = crate::assets::scheme(app, db, actor.municipality_id).await?;
    let snapshot = Snapshot {
        today: today(),
        scheme: &scheme,
        units: Vec::new(),
        staff: Vec::new(),
        posts: Vec::new(),
        accounts: Vec::new(),
        assets: Vec::new(),
        network: NetworkFacts {
            systems: vec![facts_of(&m)],
            ..NetworkFacts::default()
        },
    };
    let findings = check::evaluate_checks(&snapshot, check::checks_about(SubjectKind::System));
    let history = super::history(db, actor.municipality_id, "info_system", id).await?;
    let row = rows_for(db, vec![m])
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::Forbidden)?;
    Ok(SystemDetail {
        row,
        findings,
        history,
        editable,
    })
}

/// Registers a system.
pub async fn create(
    app: &App,
    editor: &SystemEditor,
    by: &AuditActor,
    input: &SystemInput,
) -> AppResult<i64> {
    let mut tx = app.write().await?;
    let fields = validate(app, tx.db(), editor, input).await?;
    let now = Utc::now();
    let row = info_system::ActiveModel {
        municipality_id: Set(editor.municipality_id),
        name: Set(fields.name.clone()),
        zone: Set(fields.zone.clone()),
        owner_unit_id: Set(fields.owner_unit_id),
        admin_staff_id: Set(fields.admin_staff_id),
        hosting: Set(fields.hosting.code().to_owned()),
        mfa: Set(fields.mfa),
        no_export: Set(fields.no_export),
        sanitiser: Set(fields.sanitiser),
        notes: Set(fields.notes.clone()),
        retired: Set(false),
        retired_on: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(tx.db())
    .await?;
    tx.audit(
        editor.municipality_id,
        by,
        Action::SystemCreated,
        ("info_system", row.id.to_string()),
        Value::Object(fields.summary()),
    )
    .await?;
    tx.commit().await?;
    Ok(row.id)
}

/// Changes a system from the form (every field as typed).
pub async fn update(
    app: &App,
    editor: &SystemEditor,
    by: &AuditActor,
    id: i64,
    input: &SystemInput,
) -> AppResult<()> {
    let mut tx = app.write().await?;
    let before = load_in_reach(tx.db(), editor.municipality_id, &editor.reach, id).await?;
    if before.retired {
        return Err(AppError::field("name", "err-record-retired"));
    }
    let fields = validate(app, tx.db(), editor, input).await?;
    let existing = SystemFields::of(&before);
    if fields == existing {
        return tx.commit().await;
    }
    let changes = SystemFields::changes(&existing, &fields);
    let mut active: info_system::ActiveModel = before.into();
    active.name = Set(fields.name);
    active.zone = Set(fields.zone);
    active.owner_unit_id = Set(fields.owner_unit_id);
    active.admin_staff_id = Set(fields.admin_staff_id);
    active.hosting = Set(fields.hosting.code().to_owned());
    active.mfa = Set(fields.mfa);
    active.no_export = Set(fields.no_export);
    active.sanitiser = Set(fields.sanitiser);
    active.notes = Set(fields.notes);
    active.updated_at = Set(Utc::now());
    active.update(tx.db()).await?;
    tx.audit(
        editor.municipality_id,
        by,
        Action::SystemUpdated,
        ("info_system", id.to_string()),
        Value::Object(changes),
    )
    .await?;
    tx.commit().await
}

/// Retires a system (廃止): it stays in the register with its history; its flows no longer count.
pub async fn retire(
    app: &App,
    editor: &SystemEditor,
    by: &AuditActor,
    id: i64,
    on: Option<NaiveDate>,
) -> AppResult<()> {
    let mut tx = app.write().await?;
    let before = load_in_reach(tx.db(), editor.municipality_id, &editor.reach, id).await?;
    if before.retired {
        return Err(AppError::field("retired_on", "err-record-retired"));
    }
    let on = on.unwrap_or_else(today);
    let mut active: info_system::ActiveModel = before.into();
    active.retired = Set(true);
    active.retired_on = Set(Some(on));
    active.updated_at = Set(Utc::now());
    active.update(tx.db()).await?;
    tx.audit(
        editor.municipality_id,
        by,
        Action::SystemRetired,
        ("info_system", id.to_string()),
        json!({ "retired_on": on }),
    )
    .await?;
    tx.commit().await
}

/// Units an editor may give a system to, in tree order.
pub async fn owner_choices(app: &App, editor: &SystemEditor) -> AppResult<Vec<org_unit::Model>> {
    let units = crate::org::all_units(app.store().conn(), editor.municipality_id).await?;
    Ok(units
        .into_iter()
        .filter(|u| u.abolished_on.is_none() && editor.reach.covers_unit(&u.tree_path))
        .collect())
}
