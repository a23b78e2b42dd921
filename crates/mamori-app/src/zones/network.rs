//! 6(3) the segmentation proof in the register: the zone map in versions, each device's files (ruleset,
//! ipset, routes) as uploaded with their SHA-256, and every `netcheck` run — who ran it, over which map and
//! which files (by hash), the verdict per zone pair and the whole report.
//!
//! Nothing half-saved: a file the parser refuses is not stored, and the refusal names its line and column.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use mamori_netcheck::analysis::Verdict;
use mamori_netcheck::error::ParseError;
use mamori_netcheck::iptables::{IpSets, parse_ipset_save, parse_iptables_save};
use mamori_netcheck::ir::Family;
use mamori_netcheck::load::LoadError;
use mamori_netcheck::nft::parse_nft_json;
use mamori_netcheck::zones::{ConfigFormat, ZoneMap, parse_ip_routes, parse_zone_map};
use mamori_policy::check::DeviceFacts;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::access::{NetworkOperator, NetworkReader};
use crate::{App, AppError, AppResult, AuditActor, FieldError};
use mamori_store::audit::Action;
use mamori_store::entity::{device_config, netcheck_run, zone_map_version};

/// The largest zone map accepted.
pub const MAX_MAP_BYTES: usize = 1024 * 1024;
/// The largest device file accepted.
pub const MAX_CONFIG_BYTES: usize = 8 * 1024 * 1024;

/// What a device file is to `netcheck`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileRole {
    /// The ruleset (`iptables-save`, `ip6tables-save`, `nft -j list ruleset`).
    Ruleset,
    /// An `ipset save` file the ruleset's `-m set` matches read.
    Ipset,
    /// `ip -j route` output.
    Routes,
}

/// A file the zone map names for a device.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MapFile {
    pub device: String,
    pub file_name: String,
    pub role: FileRole,
    /// The ruleset's format (`iptables-save` …), empty for other files.
    pub format: String,
}

fn map_files(map: &ZoneMap) -> Vec<MapFile> {
    let mut out = Vec::new();
    for d in &map.devices {
        out.push(MapFile {
            device: d.id.clone(),
            file_name: d.config.clone(),
            role: FileRole::Ruleset,
            format: d.format.as_str().to_owned(),
        });
        if let Some(f) = &d.ipset {
            out.push(MapFile {
                device: d.id.clone(),
                file_name: f.clone(),
                role: FileRole::Ipset,
                format: String::new(),
            });
        }
        if let Some(f) = &d.routes_file {
            out.push(MapFile {
                device: d.id.clone(),
                file_name: f.clone(),
                role: FileRole::Routes,
                format: String::new(),
            });
        }
    }
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A stable subject id for a device of the zone map (findings are kept per subject id; devices are known by
/// name only).
pub fn device_key(name: &str) -> i64 {
    let digest = Sha256::digest(name.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes) & i64::MAX
}

/// A parser's refusal, with its place, for the form.
fn parse_problem(e: &ParseError) -> FieldError {
    FieldError::new("file", "err-netcheck-parse")
        .with("file", e.file.clone())
        .with("line", e.line.to_string())
        .with("column", e.column.to_string())
        .with("expected", e.expected.clone())
        .with("found", e.found.clone())
}

fn text_of(bytes: &[u8], limit: usize) -> AppResult<String> {
    if bytes.is_empty() {
        return Err(AppError::field("file", "err-required"));
    }
    if bytes.len() > limit {
        return Err(AppError::Invalid(vec![
            FieldError::new("file", "err-file-too-large")
                .with("max", (limit / 1024 / 1024).to_string()),
        ]));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    String::from_utf8(bytes.to_vec()).map_err(|_| AppError::field("file", "err-not-utf8"))
}

// ---- the zone map ----

pub(crate) async fn latest_map(
    db: &impl ConnectionTrait,
    municipality_id: i64,
) -> AppResult<Option<zone_map_version::Model>> {
    Ok(zone_map_version::Entity::find()
        .filter(zone_map_version::Column::MunicipalityId.eq(municipality_id))
        .order_by_desc(zone_map_version::Column::Id)
        .one(db)
        .await?)
}

/// A version of the zone map as listed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MapVersion {
    pub id: i64,
    pub source_name: String,
    pub sha256: String,
    pub uploaded_at: DateTime<Utc>,
}

/// Every version, newest first.
pub async fn map_versions(app: &App, cap: &NetworkReader) -> AppResult<Vec<MapVersion>> {
    Ok(zone_map_version::Entity::find()
        .filter(zone_map_version::Column::MunicipalityId.eq(cap.municipality_id))
        .order_by_desc(zone_map_version::Column::Id)
        .select_only()
        .column(zone_map_version::Column::Id)
        .column(zone_map_version::Column::SourceName)
        .column(zone_map_version::Column::Sha256)
        .column(zone_map_version::Column::UploadedAt)
        .into_tuple::<(i64, String, String, DateTime<Utc>)>()
        .all(app.store().conn())
        .await?
        .into_iter()
        .map(|(id, source_name, sha256, uploaded_at)| MapVersion {
            id,
            source_name,
            sha256,
            uploaded_at,
        })
        .collect())
}

/// Keeps a new version of the zone map, once it parses.
pub async fn upload_map(
    app: &App,
    cap: &NetworkOperator,
    by: &AuditActor,
    name: &str,
    bytes: &[u8],
) -> AppResult<i64> {
    let text = text_of(bytes, MAX_MAP_BYTES)?;
    let name = file_name(name, "zones.toml");
    let map =
        parse_zone_map(&text, &name).map_err(|e| AppError::Invalid(vec![parse_problem(&e)]))?;
    let sha = sha256_hex(text.as_bytes());
    let mut tx = app.write().await?;
    let row = zone_map_version::ActiveModel {
        municipality_id: Set(cap.municipality_id),
        source_name: Set(name.clone()),
        source_text: Set(text),
        sha256: Set(sha.clone()),
        uploaded_by: Set(by.account_id),
        uploaded_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(tx.db())
    .await?;
    tx.audit(
        cap.municipality_id,
        by,
        Action::ZoneMapUploaded,
        ("zone_map_version", row.id.to_string()),
        json!({
            "file": name,
            "sha256": sha,
            "zones": map.zones.len(),
            "segments": map.segments.len(),
            "devices": map.devices.len(),
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(row.id)
}

/// The name of an uploaded file without any folder a browser sent.
fn file_name(name: &str, default: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    if base.is_empty() {
        default.to_owned()
    } else {
        base.chars().take(200).collect()
    }
}

async fn latest_parsed(
    db: &impl ConnectionTrait,
    mid: i64,
) -> AppResult<Option<(zone_map_version::Model, ZoneMap)>> {
    let Some(row) = latest_map(db, mid).await? else {
        return Ok(None);
    };
    // A stored map parsed when it was uploaded; a newer parser that refuses it is a fault to report.
    let map = parse_zone_map(&row.source_text, &row.source_name)
        .map_err(|e| AppError::Internal(format!("stored zone map {}: {e}", row.id)))?;
    Ok(Some((row, map)))
}

/// A segment of the newest zone map.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SegmentRow {
    pub id: String,
    pub name: String,
    pub zone: String,
    pub zone_name: String,
    pub prefixes: Vec<String>,
}

/// The segments of the newest zone map, in its order (none without a map).
pub async fn segments(app: &App, cap: &NetworkReader) -> AppResult<Vec<SegmentRow>> {
    let Some((_, map)) = latest_parsed(app.store().conn(), cap.municipality_id).await? else {
        return Ok(Vec::new());
    };
    Ok(map
        .segments
        .iter()
        .map(|s| SegmentRow {
            id: s.id.clone(),
            name: s.name.clone().unwrap_or_default(),
            zone: s.zone.clone(),
            zone_name: map
                .zone(&s.zone)
                .map(|z| z.name.clone())
                .unwrap_or_default(),
            prefixes: s.prefixes.iter().map(prefix_text).collect(),
        })
        .collect())
}

/// A range as people write it: `10.40.0.0/24` when it is a prefix, else `first-last`.
fn prefix_text(r: &mamori_netcheck::ir::AddrRange) -> String {
    let bits: u32 = match r.family {
        Family::Ipv4 => 32,
        Family::Ipv6 => 128,
    };
    let size = r.last.wrapping_sub(r.first).wrapping_add(1);
    let aligned = |host_bits: u32| {
        host_bits <= bits && (host_bits == 128 || r.first.trailing_zeros() >= host_bits)
    };
    let host_bits = if size == 0 {
        128
    } else {
        size.trailing_zeros()
    };
    let is_prefix = (size == 0 || size.is_power_of_two()) && aligned(host_bits);
    let addr = |v: u128| match r.family {
        Family::Ipv4 => std::net::Ipv4Addr::from(u32::try_from(v).unwrap_or(u32::MAX)).to_string(),
        Family::Ipv6 => std::net::Ipv6Addr::from(v).to_string(),
    };
    if is_prefix {
        format!("{}/{}", addr(r.first), bits - host_bits)
    } else {
        format!("{}-{}", addr(r.first), addr(r.last))
    }
}

// ---- device files ----

/// The newest upload of each file name: (id, file name, device, sha256, size, uploaded at).
async fn latest_files(
    db: &impl ConnectionTrait,
    mid: i64,
) -> AppResult<BTreeMap<String, (i64, String, String, i64, DateTime<Utc>)>> {
    let rows: Vec<(i64, String, String, String, i64, DateTime<Utc>)> =
        device_config::Entity::find()
            .filter(device_config::Column::MunicipalityId.eq(mid))
            .order_by_asc(device_config::Column::Id)
            .select_only()
            .column(device_config::Column::Id)
            .column(device_config::Column::FileName)
            .column(device_config::Column::Device)
            .column(device_config::Column::Sha256)
            .column(device_config::Column::Size)
            .column(device_config::Column::UploadedAt)
            .into_tuple()
            .all(db)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, file, device, sha, size, at)| (file, (id, device, sha, size, at)))
        .collect())
}

async fn content_of(db: &impl ConnectionTrait, id: i64) -> AppResult<String> {
    Ok(device_config::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|c| c.content)
        .unwrap_or_default())
}

/// Parses an uploaded file as what the map says it is; for an iptables ruleset, with the device's newest
/// ipset file (upload that first).
async fn parse_upload(
    db: &impl ConnectionTrait,
    mid: i64,
    map: &ZoneMap,
    target: &MapFile,
    text: &str,
) -> AppResult<()> {
    let name = &target.file_name;
    let parsed = match target.role {
        FileRole::Ipset => parse_ipset_save(text, name).map(drop),
        FileRole::Routes => parse_ip_routes(text, name).map(drop),
        FileRole::Ruleset => {
            let device = map.device(&target.device).ok_or_else(|| {
                AppError::Internal(format!("device {} left the map", target.device))
            })?;
            match device.format {
                ConfigFormat::NftJson => parse_nft_json(text, name).map(drop),
                format => {
                    let sets = match &device.ipset {
                        Some(ipset) => match latest_files(db, mid).await?.get(ipset) {
                            Some((id, ..)) => parse_ipset_save(&content_of(db, *id).await?, ipset)
                                .unwrap_or_else(|_| IpSets::new()),
                            None => IpSets::new(),
                        },
                        None => IpSets::new(),
                    };
                    let family = if format == ConfigFormat::IptablesSave {
                        Family::Ipv4
                    } else {
                        Family::Ipv6
                    };
                    parse_iptables_save(text, name, family, &sets).map(drop)
                }
            }
        }
    };
    parsed.map_err(|e| AppError::Invalid(vec![parse_problem(&e)]))
}

/// Keeps a new version of one of the files the newest zone map names, once it parses.
pub async fn upload_config(
    app: &App,
    cap: &NetworkOperator,
    by: &AuditActor,
    file: &str,
    bytes: &[u8],
) -> AppResult<i64> {
    let db = app.store().conn();
    let mid = cap.municipality_id;
    let Some((_, map)) = latest_parsed(db, mid).await? else {
        return Err(AppError::field("target", "err-no-zone-map"));
    };
    let Some(target) = map_files(&map).into_iter().find(|f| f.file_name == file) else {
        return Err(AppError::Invalid(vec![
            FieldError::new("target", "err-file-not-in-map").with("value", file),
        ]));
    };
    let text = text_of(bytes, MAX_CONFIG_BYTES)?;
    parse_upload(db, mid, &map, &target, &text).await?;
    let sha = sha256_hex(text.as_bytes());
    let size = i64::try_from(text.len()).unwrap_or(i64::MAX);
    let mut tx = app.write().await?;
    let row = device_config::ActiveModel {
        municipality_id: Set(mid),
        device: Set(target.device.clone()),
        file_name: Set(target.file_name.clone()),
        content: Set(text),
        sha256: Set(sha.clone()),
        size: Set(size),
        uploaded_by: Set(by.account_id),
        uploaded_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(tx.db())
    .await?;
    tx.audit(
        mid,
        by,
        Action::DeviceConfigUploaded,
        ("device_config", row.id.to_string()),
        json!({"device": target.device, "file": target.file_name, "sha256": sha, "size": size}),
    )
    .await?;
    tx.commit().await?;
    Ok(row.id)
}

// ---- runs ----

/// One file a run read.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RunInput {
    pub device: String,
    pub file_name: String,
    pub config_id: i64,
    pub sha256: String,
}

/// The verdict for one ordered zone pair.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PairVerdict {
    pub from: String,
    pub to: String,
    /// `isolated`, `allowed_only` or `violation`.
    pub verdict: String,
}

/// A run as listed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunRow {
    pub id: i64,
    pub ran_at: DateTime<Utc>,
    pub ran_by: String,
    pub map_version_id: i64,
    pub map_sha256: String,
    pub violation: bool,
    pub violating_devices: Vec<String>,
    pub verdicts: Vec<PairVerdict>,
    pub inputs: Vec<RunInput>,
}

fn run_row(m: &netcheck_run::Model) -> RunRow {
    RunRow {
        id: m.id,
        ran_at: m.ran_at,
        ran_by: m.ran_by_label.clone(),
        map_version_id: m.map_version_id,
        map_sha256: m.map_sha256.clone(),
        violation: m.violation,
        violating_devices: serde_json::from_str(&m.violating_devices).unwrap_or_default(),
        verdicts: serde_json::from_str(&m.verdicts).unwrap_or_default(),
        inputs: serde_json::from_str(&m.inputs).unwrap_or_default(),
    }
}

/// Runs `netcheck` over the newest zone map and the newest upload of every file it names, and keeps the run.
/// A file not uploaded yet is named in the refusal; nothing is kept then.
pub async fn run(app: &App, cap: &NetworkOperator, by: &AuditActor) -> AppResult<i64> {
    let db = app.store().conn();
    let mid = cap.municipality_id;
    let Some((map_row, map)) = latest_parsed(db, mid).await? else {
        return Err(AppError::field("map", "err-no-zone-map"));
    };
    let latest = latest_files(db, mid).await?;
    let mut inputs = Vec::new();
    let mut contents: HashMap<String, String> = HashMap::new();
    let mut missing = Vec::new();
    for f in map_files(&map) {
        match latest.get(&f.file_name) {
            Some((id, _, sha, _, _)) => {
                contents.insert(f.file_name.clone(), content_of(db, *id).await?);
                inputs.push(RunInput {
                    device: f.device,
                    file_name: f.file_name,
                    config_id: *id,
                    sha256: sha.clone(),
                });
            }
            None => missing.push(
                FieldError::new("map", "err-config-missing")
                    .with("device", f.device)
                    .with("file", f.file_name),
            ),
        }
    }
    if !missing.is_empty() {
        return Err(AppError::Invalid(missing));
    }
    // The proof is CPU work: off the async workers.
    let (report, map) = tokio::task::spawn_blocking(move || {
        let inputs = mamori_netcheck::load::read_devices(&map, &mut |file: &str| {
            contents
                .get(file)
                .cloned()
                .ok_or_else(|| "not uploaded".to_owned())
        })
        .map_err(|e| match e {
            LoadError::Parse(p) => AppError::Invalid(vec![parse_problem(&p)]),
            LoadError::Read { file, message } => AppError::Invalid(vec![
                FieldError::new("map", "err-netcheck-failed")
                    .with("file", file)
                    .with("reason", message),
            ]),
        })?;
        let report = mamori_netcheck::analysis::check(&map, &inputs).map_err(|e| {
            AppError::Invalid(vec![
                FieldError::new("map", "err-netcheck-failed")
                    .with("file", "")
                    .with("reason", e.to_string()),
            ])
        })?;
        Ok::<_, AppError>((report, map))
    })
    .await
    .map_err(|e| AppError::Internal(format!("netcheck did not finish: {e}")))??;
    let verdicts: Vec<PairVerdict> = report
        .pairs
        .iter()
        .map(|p| PairVerdict {
            from: p.from.clone(),
            to: p.to.clone(),
            verdict: p.verdict.as_str().to_owned(),
        })
        .collect();
    let violation = report.has_violation();
    let mut violating: Vec<String> = report
        .pairs
        .iter()
        .filter(|p| p.verdict == Verdict::Violation)
        .flat_map(|p| p.counterexamples.iter())
        .flat_map(|c| c.hops.iter().map(|h| h.device.clone()))
        .collect();
    if violation && violating.is_empty() {
        violating = map.devices.iter().map(|d| d.id.clone()).collect();
    }
    violating.sort();
    violating.dedup();
    let report_json = serde_json::to_string(&report)
        .map_err(|e| AppError::Internal(format!("netcheck report: {e}")))?;
    let mut tx = app.write().await?;
    let row = netcheck_run::ActiveModel {
        municipality_id: Set(mid),
        map_version_id: Set(map_row.id),
        map_sha256: Set(map_row.sha256.clone()),
        inputs: Set(as_json(&inputs)),
        verdicts: Set(as_json(&verdicts)),
        violation: Set(violation),
        violating_devices: Set(as_json(&violating)),
        report: Set(report_json),
        ran_by: Set(by.account_id),
        ran_by_label: Set(by.label.clone()),
        ran_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(tx.db())
    .await?;
    tx.audit(
        mid,
        by,
        Action::NetcheckRun,
        ("netcheck_run", row.id.to_string()),
        json!({
            "map_version": map_row.id,
            "map_sha256": map_row.sha256,
            "inputs": inputs.iter().map(|i| json!({"file": i.file_name, "sha256": i.sha256})).collect::<Vec<_>>(),
            "violation": violation,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(row.id)
}

/// The small lists a run keeps, as JSON; they are plain data, so this cannot fail in practice.
fn as_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned())
}

/// Every run, newest first (at most `limit`).
pub async fn runs(app: &App, cap: &NetworkReader, limit: u64) -> AppResult<Vec<RunRow>> {
    Ok(netcheck_run::Entity::find()
        .filter(netcheck_run::Column::MunicipalityId.eq(cap.municipality_id))
        .order_by_desc(netcheck_run::Column::Id)
        .limit(limit)
        .all(app.store().conn())
        .await?
        .iter()
        .map(run_row)
        .collect())
}

/// One run with its report (the JSON `netcheck --format json` writes).
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunDetail {
    #[serde(flatten)]
    pub row: RunRow,
    pub report: serde_json::Value,
}

pub async fn run_detail(app: &App, cap: &NetworkReader, id: i64) -> AppResult<RunDetail> {
    let m = netcheck_run::Entity::find_by_id(id)
        .one(app.store().conn())
        .await?
        .filter(|r| r.municipality_id == cap.municipality_id)
        .ok_or(AppError::NotFound)?;
    Ok(RunDetail {
        row: run_row(&m),
        report: serde_json::from_str(&m.report).unwrap_or(serde_json::Value::Null),
    })
}

// ---- the overview ----

/// A file the newest map names, and its newest upload.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileState {
    #[serde(flatten)]
    pub file: MapFile,
    /// (sha256, size, uploaded at)
    pub latest: Option<(String, i64, DateTime<Utc>)>,
}

/// What `/network` shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Overview {
    pub map: Option<MapVersion>,
    /// The map's zones in its order: (id, name).
    pub zones: Vec<(String, String)>,
    pub files: Vec<FileState>,
    pub latest_run: Option<RunRow>,
    /// The newest run is older than the newest map or a file uploaded since (or there is none).
    pub stale: bool,
}

impl Overview {
    /// The newest run's verdict from one zone to another.
    pub fn verdict(&self, from: &str, to: &str) -> Option<&str> {
        self.latest_run.as_ref().and_then(|r| {
            r.verdicts
                .iter()
                .find(|v| v.from == from && v.to == to)
                .map(|v| v.verdict.as_str())
        })
    }
}

pub async fn overview(app: &App, cap: &NetworkReader) -> AppResult<Overview> {
    let db = app.store().conn();
    let mid = cap.municipality_id;
    let parsed = latest_parsed(db, mid).await?;
    let latest = latest_files(db, mid).await?;
    let latest_run = runs(app, cap, 1).await?.into_iter().next();
    let (map, zones, files) = match &parsed {
        None => (None, Vec::new(), Vec::new()),
        Some((row, map)) => (
            Some(MapVersion {
                id: row.id,
                source_name: row.source_name.clone(),
                sha256: row.sha256.clone(),
                uploaded_at: row.uploaded_at,
            }),
            map.zones
                .iter()
                .map(|z| (z.id.clone(), z.name.clone()))
                .collect(),
            map_files(map)
                .into_iter()
                .map(|f| FileState {
                    latest: latest
                        .get(&f.file_name)
                        .map(|(_, _, sha, size, at)| (sha.clone(), *size, *at)),
                    file: f,
                })
                .collect(),
        ),
    };
    let newest_upload = files
        .iter()
        .filter_map(|f: &FileState| f.latest.as_ref().map(|l| l.2))
        .chain(map.as_ref().map(|m| m.uploaded_at))
        .max();
    let stale = match (&latest_run, newest_upload) {
        (None, _) => true,
        (Some(run), Some(upload)) => {
            upload > run.ran_at || map.as_ref().is_some_and(|m| m.id != run.map_version_id)
        }
        (Some(_), None) => false,
    };
    Ok(Overview {
        map,
        zones,
        files,
        latest_run,
        stale,
    })
}

/// The devices of the newest map with what the checks read: the newest upload of their files and the newest
/// run that read them. No map, no devices.
pub(crate) async fn device_facts(
    db: &impl ConnectionTrait,
    mid: i64,
) -> AppResult<(Vec<DeviceFacts>, Option<DateTime<Utc>>)> {
    let Some((row, map)) = latest_parsed(db, mid).await? else {
        return Ok((Vec::new(), None));
    };
    let latest = latest_files(db, mid).await?;
    let run = netcheck_run::Entity::find()
        .filter(netcheck_run::Column::MunicipalityId.eq(mid))
        .order_by_desc(netcheck_run::Column::Id)
        .one(db)
        .await?
        .map(|m| run_row(&m));
    let devices = map
        .devices
        .iter()
        .map(|d| {
            let config_uploaded = latest
                .values()
                .filter(|(_, device, ..)| *device == d.id)
                .map(|(.., at)| *at)
                .max();
            let checked = run
                .as_ref()
                .filter(|r| r.inputs.iter().any(|i| i.device == d.id))
                .map(|r| (r.ran_at, r.violating_devices.contains(&d.id)));
            DeviceFacts {
                id: device_key(&d.id),
                name: d.id.clone(),
                config_uploaded,
                checked,
            }
        })
        .collect();
    Ok((devices, Some(row.uploaded_at)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn a_device_keeps_its_subject_id() {
        assert_eq!(device_key("core-fw"), device_key("core-fw"));
        assert_ne!(device_key("core-fw"), device_key("edge-fw"));
        assert!(device_key("core-fw") >= 0);
    }

    #[test]
    fn a_prefix_is_written_as_a_prefix_and_a_range_as_a_range() {
        use mamori_netcheck::ir::AddrRange;
        let v4 = |first: u32, last: u32| AddrRange {
            family: Family::Ipv4,
            first: u128::from(first),
            last: u128::from(last),
        };
        assert_eq!(prefix_text(&v4(0x0A28_0000, 0x0A28_00FF)), "10.40.0.0/24");
        assert_eq!(prefix_text(&v4(0x0A28_0005, 0x0A28_0005)), "10.40.0.5/32");
        assert_eq!(
            prefix_text(&v4(0x0A28_0001, 0x0A28_0004)),
            "10.40.0.1-10.40.0.4"
        );
        assert_eq!(prefix_text(&v4(0, u32::MAX)), "0.0.0.0/0");
        let all6 = AddrRange {
            family: Family::Ipv6,
            first: 0,
            last: u128::MAX,
        };
        assert_eq!(prefix_text(&all6), "::/0");
    }

    #[test]
    fn an_uploaded_name_loses_its_folder() {
        assert_eq!(file_name("C:\\fw\\core-fw.rules", "x"), "core-fw.rules");
        assert_eq!(file_name("", "zones.toml"), "zones.toml");
    }
}
