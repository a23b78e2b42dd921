//! 2(15), 2(16): the flows declared between information systems — protocol, ports, purpose, and the 無害化
//! system a flow passes through. A flow is declared by whoever may change its sending system; retiring one
//! keeps it and its history.

use std::collections::HashMap;

use chrono::Utc;
use mamori_policy::check::{self, Finding, FlowFacts, NetworkFacts, Snapshot, SubjectKind};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::{Value, json};

use super::{reach_condition, unit_in_reach};
use crate::access::SystemEditor;
use crate::assets::HistoryEntry;
use crate::error::Problems;
use crate::org::required_text;
use crate::{Actor, App, AppError, AppResult, AuditActor, FieldError, today};
use mamori_store::audit::Action;
use mamori_store::entity::{info_system, system_flow};

pub const MAX_PURPOSE: usize = 500;
/// Ports and ranges a flow may list.
pub const MAX_PORT_ITEMS: usize = 32;

/// The protocols a flow may name.
pub const PROTOCOLS: [&str; 4] = ["tcp", "udp", "icmp", "any"];

/// The form (or JSON body) as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct FlowInput {
    /// The sending system's id.
    pub from_system: String,
    pub to_system: String,
    pub protocol: String,
    /// `25`, `25, 587`, `8000-8080`; empty for every port.
    pub ports: String,
    pub purpose: String,
    /// The 無害化 system's id, or empty.
    pub via_system: String,
}

/// A flow as listed and shown.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FlowRow {
    pub id: i64,
    pub from_system_id: i64,
    pub from_name: String,
    pub from_zone: String,
    pub to_system_id: i64,
    pub to_name: String,
    pub to_zone: String,
    pub protocol: String,
    pub ports: String,
    pub purpose: String,
    pub via_system_id: Option<i64>,
    pub via_name: String,
    pub retired: bool,
}

impl FlowRow {
    /// `tcp 25`, `udp`, `any`.
    pub fn service(&self) -> String {
        service(&self.protocol, &self.ports)
    }
}

/// `tcp 25`, `udp`, `any`: a flow's service as people read it.
pub(crate) fn service(protocol: &str, ports: &str) -> String {
    if ports.is_empty() {
        protocol.to_owned()
    } else {
        format!("{protocol} {ports}")
    }
}

/// What a flow's page shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FlowDetail {
    #[serde(flatten)]
    pub row: FlowRow,
    pub findings: Vec<Finding>,
    pub history: Vec<HistoryEntry>,
    pub editable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FlowFields {
    from_system_id: i64,
    to_system_id: i64,
    protocol: String,
    ports: String,
    purpose: String,
    via_system_id: Option<i64>,
}

impl FlowFields {
    fn of(m: &system_flow::Model) -> Self {
        FlowFields {
            from_system_id: m.from_system_id,
            to_system_id: m.to_system_id,
            protocol: m.protocol.clone(),
            ports: m.ports.clone(),
            purpose: m.purpose.clone(),
            via_system_id: m.via_system_id,
        }
    }

    fn summary(&self) -> serde_json::Map<String, Value> {
        let mut map = serde_json::Map::new();
        map.insert("from_system".into(), json!(self.from_system_id.to_string()));
        map.insert("to_system".into(), json!(self.to_system_id.to_string()));
        map.insert("protocol".into(), json!(self.protocol));
        map.insert("ports".into(), json!(self.ports));
        map.insert("purpose".into(), json!(self.purpose));
        map.insert(
            "via_system".into(),
            json!(self.via_system_id.map(|i| i.to_string())),
        );
        map
    }
}

/// Ports as typed (`25, 587`, `8000-8080`, full-width digits folded) into the stored form (`25,587,8000-8080`).
pub fn parse_ports(value: &str) -> Result<String, FieldError> {
    let folded: String = value
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '－' | '〜' | '～' | '–' => '-',
            '、' | '，' => ',',
            other => other,
        })
        .collect();
    let mut items = Vec::new();
    for item in folded
        .split([',', ' '])
        .map(str::trim)
        .filter(|i| !i.is_empty())
    {
        let bad = || FieldError::new("ports", "err-ports").with("value", item);
        let port = |s: &str| s.trim().parse::<u16>().ok().filter(|p| *p > 0);
        let normalised = match item.split_once('-') {
            Some((lo, hi)) => match (port(lo), port(hi)) {
                (Some(lo), Some(hi)) if lo < hi => format!("{lo}-{hi}"),
                (Some(lo), Some(hi)) if lo == hi => lo.to_string(),
                _ => return Err(bad()),
            },
            None => port(item).ok_or_else(bad)?.to_string(),
        };
        items.push(normalised);
    }
    if items.len() > MAX_PORT_ITEMS {
        return Err(
            FieldError::new("ports", "err-too-long").with("max", MAX_PORT_ITEMS.to_string())
        );
    }
    Ok(items.join(","))
}

fn system_id(field: &str, value: &str) -> Result<Option<i64>, FieldError> {
    match value.trim() {
        "" => Ok(None),
        v => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| FieldError::new(field, "err-system-unknown").with("value", v)),
    }
}

async fn validate(
    db: &impl ConnectionTrait,
    editor: &SystemEditor,
    input: &FlowInput,
) -> AppResult<FlowFields> {
    let mid = editor.municipality_id;
    let mut problems = Problems::default();
    let system = async |field: &str, value: &str, required: bool| {
        let id = match system_id(field, value) {
            Ok(Some(id)) => id,
            Ok(None) if required => return Ok(Err(FieldError::new(field, "err-required"))),
            Ok(None) => return Ok(Ok(None)),
            Err(e) => return Ok(Err(e)),
        };
        let found = info_system::Entity::find_by_id(id)
            .filter(info_system::Column::MunicipalityId.eq(mid))
            .filter(info_system::Column::Retired.eq(false))
            .one(db)
            .await?;
        Ok::<_, AppError>(found.map(Some).ok_or_else(|| {
            FieldError::new(field, "err-system-unknown").with("value", value.trim())
        }))
    };
    let from = problems.take(system("from_system", &input.from_system, true).await?);
    let to = problems.take(system("to_system", &input.to_system, true).await?);
    let via = problems.take(system("via_system", &input.via_system, false).await?);
    let protocol = input.protocol.trim().to_lowercase();
    if !PROTOCOLS.contains(&protocol.as_str()) {
        problems.push(FieldError::new("protocol", "err-required"));
    }
    let ports = problems.take(parse_ports(&input.ports));
    if matches!(protocol.as_str(), "icmp" | "any")
        && ports.as_deref().is_some_and(|p| !p.is_empty())
    {
        problems.push(FieldError::new("ports", "err-ports-without-protocol"));
    }
    let purpose = problems.take(required_text("purpose", &input.purpose, MAX_PURPOSE));
    if let (Some(Some(from)), Some(Some(to))) = (&from, &to)
        && from.id == to.id
    {
        problems.push(FieldError::new("to_system", "err-flow-same-system"));
    }
    if let Some(Some(via)) = &via
        && !via.sanitiser
    {
        problems.push(
            FieldError::new("via_system", "err-not-a-sanitiser").with("value", via.name.clone()),
        );
    }
    problems.into_result()?;
    let (Some(Some(from)), Some(Some(to)), Some(via), Some(ports), Some(purpose)) =
        (from, to, via, ports, purpose)
    else {
        return Err(AppError::Internal("validated flow lost a field".to_owned()));
    };
    // A flow is declared by whoever keeps its sending system.
    if !unit_in_reach(db, &editor.reach, from.owner_unit_id).await? {
        return Err(AppError::field("from_system", "err-system-out-of-scope"));
    }
    Ok(FlowFields {
        from_system_id: from.id,
        to_system_id: to.id,
        protocol,
        ports,
        purpose,
        via_system_id: via.map(|v| v.id),
    })
}

async fn rows_for(
    db: &impl ConnectionTrait,
    mid: i64,
    models: Vec<system_flow::Model>,
) -> AppResult<Vec<FlowRow>> {
    let systems: HashMap<i64, info_system::Model> = info_system::Entity::find()
        .filter(info_system::Column::MunicipalityId.eq(mid))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let name = |id: i64| systems.get(&id).map(|s| s.name.clone()).unwrap_or_default();
    let zone = |id: i64| systems.get(&id).map(|s| s.zone.clone()).unwrap_or_default();
    Ok(models
        .into_iter()
        .map(|m| FlowRow {
            id: m.id,
            from_system_id: m.from_system_id,
            from_name: name(m.from_system_id),
            from_zone: zone(m.from_system_id),
            to_system_id: m.to_system_id,
            to_name: name(m.to_system_id),
            to_zone: zone(m.to_system_id),
            protocol: m.protocol,
            ports: m.ports,
            purpose: m.purpose,
            via_system_id: m.via_system_id,
            via_name: m.via_system_id.map(name).unwrap_or_default(),
            retired: m.retired,
        })
        .collect())
}

/// The ids of the systems a person may read.
async fn readable_systems(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Vec<i64>> {
    Ok(info_system::Entity::find()
        .filter(info_system::Column::MunicipalityId.eq(actor.municipality_id))
        .filter(reach_condition(&actor.reach()))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect())
}

/// The flows a person may read: those that leave or reach a system they may read.
pub async fn list(app: &App, actor: &Actor, with_retired: bool) -> AppResult<Vec<FlowRow>> {
    let db = app.store().conn();
    let systems = readable_systems(db, actor).await?;
    let mut q = system_flow::Entity::find()
        .filter(system_flow::Column::MunicipalityId.eq(actor.municipality_id))
        .filter(
            Condition::any()
                .add(system_flow::Column::FromSystemId.is_in(systems.clone()))
                .add(system_flow::Column::ToSystemId.is_in(systems)),
        )
        .order_by_asc(system_flow::Column::Id);
    if !with_retired {
        q = q.filter(system_flow::Column::Retired.eq(false));
    }
    rows_for(db, actor.municipality_id, q.all(db).await?).await
}

async fn load_readable(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
) -> AppResult<system_flow::Model> {
    let systems = readable_systems(db, actor).await?;
    system_flow::Entity::find_by_id(id)
        .filter(system_flow::Column::MunicipalityId.eq(actor.municipality_id))
        .one(db)
        .await?
        .filter(|f| systems.contains(&f.from_system_id) || systems.contains(&f.to_system_id))
        .ok_or(AppError::Forbidden)
}

/// A flow the editor may change: its sending system lies in their units.
async fn load_editable(
    db: &impl ConnectionTrait,
    editor: &SystemEditor,
    id: i64,
) -> AppResult<system_flow::Model> {
    let flow = system_flow::Entity::find_by_id(id)
        .filter(system_flow::Column::MunicipalityId.eq(editor.municipality_id))
        .one(db)
        .await?
        .ok_or(AppError::Forbidden)?;
    let from = info_system::Entity::find_by_id(flow.from_system_id)
        .one(db)
        .await?
        .ok_or(AppError::Forbidden)?;
    if unit_in_reach(db, &editor.reach, from.owner_unit_id).await? {
        Ok(flow)
    } else {
        Err(AppError::Forbidden)
    }
}

pub async fn get(app: &App, actor: &Actor, id: i64) -> AppResult<FlowDetail> {
    let db = app.store().conn();
    let m = load_readable(db, actor, id).await?;
    let editable = match actor.system_editor() {
        Some(editor) => load_editable(db, &editor, id).await.is_ok(),
        None => false,
    };
    let ids: Vec<i64> = [
        Some(m.from_system_id),
        Some(m.to_system_id),
        m.via_system_id,
    ]
    .into_iter()
    .flatten()
    .collect();
    let systems = info_system::Entity::find()
        .filter(info_system::Column::Id.is_in(ids))
        .all(db)
        .await?;
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
            systems: systems.iter().map(super::systems::facts_of).collect(),
            flows: vec![facts_of(&m)],
            ..NetworkFacts::default()
        },
    };
    let findings = check::evaluate_checks(&snapshot, check::checks_about(SubjectKind::Flow));
    let history = super::history(db, actor.municipality_id, "system_flow", id).await?;
    let row = rows_for(db, actor.municipality_id, vec![m])
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::Forbidden)?;
    Ok(FlowDetail {
        row,
        findings,
        history,
        editable,
    })
}

pub(crate) fn facts_of(m: &system_flow::Model) -> FlowFacts {
    FlowFacts {
        id: m.id,
        from_system_id: m.from_system_id,
        to_system_id: m.to_system_id,
        service: service(&m.protocol, &m.ports),
        via_system_id: m.via_system_id,
        retired: m.retired,
    }
}

/// Declares a flow.
pub async fn create(
    app: &App,
    editor: &SystemEditor,
    by: &AuditActor,
    input: &FlowInput,
) -> AppResult<i64> {
    let mut tx = app.write().await?;
    let fields = validate(tx.db(), editor, input).await?;
    let now = Utc::now();
    let row = system_flow::ActiveModel {
        municipality_id: Set(editor.municipality_id),
        from_system_id: Set(fields.from_system_id),
        to_system_id: Set(fields.to_system_id),
        protocol: Set(fields.protocol.clone()),
        ports: Set(fields.ports.clone()),
        purpose: Set(fields.purpose.clone()),
        via_system_id: Set(fields.via_system_id),
        retired: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(tx.db())
    .await?;
    tx.audit(
        editor.municipality_id,
        by,
        Action::FlowCreated,
        ("system_flow", row.id.to_string()),
        Value::Object(fields.summary()),
    )
    .await?;
    tx.commit().await?;
    Ok(row.id)
}

/// Changes a flow (every field as typed).
pub async fn update(
    app: &App,
    editor: &SystemEditor,
    by: &AuditActor,
    id: i64,
    input: &FlowInput,
) -> AppResult<()> {
    let mut tx = app.write().await?;
    let before = load_editable(tx.db(), editor, id).await?;
    if before.retired {
        return Err(AppError::field("purpose", "err-record-retired"));
    }
    let fields = validate(tx.db(), editor, input).await?;
    let existing = FlowFields::of(&before);
    if fields == existing {
        return tx.commit().await;
    }
    let (b, a) = (existing.summary(), fields.summary());
    let changes: serde_json::Map<String, Value> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, v)| {
            (
                k.clone(),
                json!([b.get(k).cloned().unwrap_or(Value::Null), v]),
            )
        })
        .collect();
    let mut active: system_flow::ActiveModel = before.into();
    active.from_system_id = Set(fields.from_system_id);
    active.to_system_id = Set(fields.to_system_id);
    active.protocol = Set(fields.protocol);
    active.ports = Set(fields.ports);
    active.purpose = Set(fields.purpose);
    active.via_system_id = Set(fields.via_system_id);
    active.updated_at = Set(Utc::now());
    active.update(tx.db()).await?;
    tx.audit(
        editor.municipality_id,
        by,
        Action::FlowUpdated,
        ("system_flow", id.to_string()),
        Value::Object(changes),
    )
    .await?;
    tx.commit().await
}

/// Retires a flow that no longer runs: it is kept with its history and no longer checked.
pub async fn retire(app: &App, editor: &SystemEditor, by: &AuditActor, id: i64) -> AppResult<()> {
    let mut tx = app.write().await?;
    let before = load_editable(tx.db(), editor, id).await?;
    if before.retired {
        return Err(AppError::field("purpose", "err-record-retired"));
    }
    let mut active: system_flow::ActiveModel = before.into();
    active.retired = Set(true);
    active.updated_at = Set(Utc::now());
    active.update(tx.db()).await?;
    tx.audit(
        editor.municipality_id,
        by,
        Action::FlowRetired,
        ("system_flow", id.to_string()),
        json!({}),
    )
    .await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn ports_are_read_as_people_write_them() {
        assert_eq!(parse_ports("25, 587").unwrap(), "25,587");
        assert_eq!(parse_ports("８０００－８０８０").unwrap(), "8000-8080");
        assert_eq!(parse_ports("").unwrap(), "");
        assert_eq!(parse_ports("443-443").unwrap(), "443");
    }

    #[test]
    fn ports_out_of_range_or_backwards_are_refused() {
        for bad in ["0", "65536", "80-20", "http", "1-"] {
            assert_eq!(parse_ports(bad).unwrap_err().key, "err-ports", "{bad}");
        }
    }
}
