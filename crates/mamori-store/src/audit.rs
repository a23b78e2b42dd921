//! 6(7), 7: the audit trail. Every change and every security event appends one entry; the entries of a
//! municipality form a SHA-256 hash chain over a canonical encoding that does not depend on the database.
//!
//! The chain alone only shows that entries agree with each other: someone who can write to the database could
//! recompute it. So each entry also carries an HMAC of its hash under a key the database does not hold, and the
//! head of the chain is sealed in a file beside that key after every append. `verify` then detects an entry that
//! was edited, removed, reordered, or truncated from the end, and a chain recomputed without the key.

use std::path::{Path, PathBuf};

use chrono::{DateTime, SubsecRound, Utc};
use hmac::{Hmac, Mac};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use sha2::{Digest, Sha256};

use crate::StoreError;
use crate::entity::{audit_entry, audit_head};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const ENCODING_TAG: &str = "mamori-audit/1";

type HmacSha256 = Hmac<Sha256>;

/// What happened, with a stable code (kept forever, also as a number) so a SIEM can filter on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    SignInSucceeded,
    SignInFailed,
    AccountLocked,
    SignedOut,
    SignedOutEverywhere,
    PasswordChanged,
    MfaEnrolled,
    MfaReset,
    RecoveryCodeUsed,
    TokenCreated,
    TokenRevoked,
    AccountCreated,
    AccountUpdated,
    AccountsBulkCreated,
    AccountUnlocked,
    MunicipalityCreated,
    OrgUnitCreated,
    OrgUnitUpdated,
    OrgUnitAbolished,
    OwnershipMoved,
    FacilityCreated,
    FacilityUpdated,
    StaffCreated,
    StaffUpdated,
    StaffKindCreated,
    RoleAssigned,
    RoleEnded,
    ChangeSetCreated,
    ChangeSetApplied,
    ChangeSetCancelled,
    ChangeSetScheduled,
    AuditExported,
    DataRestored,
    SettingsUpdated,
    DataExported,
    AssetCreated,
    AssetUpdated,
    AssetRetired,
    AssetsImported,
    ExceptionGranted,
    ExceptionRevoked,
    PolicyImported,
    SystemCreated,
    SystemUpdated,
    SystemRetired,
    FlowCreated,
    FlowUpdated,
    FlowRetired,
    ZoneMapUploaded,
    DeviceConfigUploaded,
    NetcheckRun,
    ReleaseRequested,
    ReleaseApproved,
    ReleaseRefused,
    PartReleased,
    ReleaseFailed,
}

impl Action {
    pub const ALL: [Action; 56] = [
        Action::SignInSucceeded,
        Action::SignInFailed,
        Action::AccountLocked,
        Action::SignedOut,
        Action::SignedOutEverywhere,
        Action::PasswordChanged,
        Action::MfaEnrolled,
        Action::MfaReset,
        Action::RecoveryCodeUsed,
        Action::TokenCreated,
        Action::TokenRevoked,
        Action::AccountCreated,
        Action::AccountUpdated,
        Action::AccountsBulkCreated,
        Action::AccountUnlocked,
        Action::MunicipalityCreated,
        Action::OrgUnitCreated,
        Action::OrgUnitUpdated,
        Action::OrgUnitAbolished,
        Action::OwnershipMoved,
        Action::FacilityCreated,
        Action::FacilityUpdated,
        Action::StaffCreated,
        Action::StaffUpdated,
        Action::StaffKindCreated,
        Action::RoleAssigned,
        Action::RoleEnded,
        Action::ChangeSetCreated,
        Action::ChangeSetApplied,
        Action::ChangeSetCancelled,
        Action::ChangeSetScheduled,
        Action::AuditExported,
        Action::DataRestored,
        Action::SettingsUpdated,
        Action::DataExported,
        Action::AssetCreated,
        Action::AssetUpdated,
        Action::AssetRetired,
        Action::AssetsImported,
        Action::ExceptionGranted,
        Action::ExceptionRevoked,
        Action::PolicyImported,
        Action::SystemCreated,
        Action::SystemUpdated,
        Action::SystemRetired,
        Action::FlowCreated,
        Action::FlowUpdated,
        Action::FlowRetired,
        Action::ZoneMapUploaded,
        Action::DeviceConfigUploaded,
        Action::NetcheckRun,
        Action::ReleaseRequested,
        Action::ReleaseApproved,
        Action::ReleaseRefused,
        Action::PartReleased,
        Action::ReleaseFailed,
    ];

    /// (stable text code, stable number).
    pub fn code(self) -> (&'static str, i32) {
        match self {
            Action::SignInSucceeded => ("auth.sign_in", 1001),
            Action::SignInFailed => ("auth.sign_in_failed", 1002),
            Action::AccountLocked => ("auth.locked", 1003),
            Action::SignedOut => ("auth.sign_out", 1004),
            Action::SignedOutEverywhere => ("auth.sign_out_everywhere", 1005),
            Action::PasswordChanged => ("auth.password_changed", 1006),
            Action::MfaEnrolled => ("auth.mfa_enrolled", 1007),
            Action::MfaReset => ("auth.mfa_reset", 1008),
            Action::RecoveryCodeUsed => ("auth.recovery_code_used", 1009),
            Action::TokenCreated => ("auth.token_created", 1010),
            Action::TokenRevoked => ("auth.token_revoked", 1011),
            Action::AccountCreated => ("account.created", 2001),
            Action::AccountUpdated => ("account.updated", 2002),
            Action::AccountsBulkCreated => ("account.bulk_created", 2003),
            Action::AccountUnlocked => ("account.unlocked", 2004),
            Action::MunicipalityCreated => ("org.municipality_created", 3000),
            Action::OrgUnitCreated => ("org.unit_created", 3001),
            Action::OrgUnitUpdated => ("org.unit_updated", 3002),
            Action::OrgUnitAbolished => ("org.unit_abolished", 3003),
            Action::OwnershipMoved => ("org.ownership_moved", 3004),
            Action::FacilityCreated => ("org.facility_created", 3101),
            Action::FacilityUpdated => ("org.facility_updated", 3102),
            Action::StaffCreated => ("staff.created", 4001),
            Action::StaffUpdated => ("staff.updated", 4002),
            Action::StaffKindCreated => ("staff.kind_created", 4003),
            Action::RoleAssigned => ("role.assigned", 5001),
            Action::RoleEnded => ("role.ended", 5002),
            Action::ChangeSetCreated => ("change_set.created", 6001),
            Action::ChangeSetApplied => ("change_set.applied", 6002),
            Action::ChangeSetCancelled => ("change_set.cancelled", 6003),
            Action::ChangeSetScheduled => ("change_set.scheduled", 6004),
            Action::AuditExported => ("audit.exported", 9001),
            Action::SettingsUpdated => ("settings.updated", 9002),
            Action::DataExported => ("data.exported", 9003),
            Action::DataRestored => ("data.restored", 9004),
            Action::AssetCreated => ("asset.created", 7001),
            Action::AssetUpdated => ("asset.updated", 7002),
            Action::AssetRetired => ("asset.retired", 7003),
            Action::AssetsImported => ("asset.imported", 7004),
            Action::ExceptionGranted => ("compliance.exception_granted", 8001),
            Action::ExceptionRevoked => ("compliance.exception_revoked", 8002),
            Action::PolicyImported => ("policy.imported", 8101),
            Action::SystemCreated => ("system.created", 8201),
            Action::SystemUpdated => ("system.updated", 8202),
            Action::SystemRetired => ("system.retired", 8203),
            Action::FlowCreated => ("flow.created", 8211),
            Action::FlowUpdated => ("flow.updated", 8212),
            Action::FlowRetired => ("flow.retired", 8213),
            Action::ZoneMapUploaded => ("network.zone_map_uploaded", 8221),
            Action::DeviceConfigUploaded => ("network.config_uploaded", 8222),
            Action::NetcheckRun => ("network.netcheck_run", 8223),
            Action::ReleaseRequested => ("quarantine.requested", 8301),
            Action::ReleaseApproved => ("quarantine.approved", 8302),
            Action::ReleaseRefused => ("quarantine.refused", 8303),
            Action::PartReleased => ("quarantine.released", 8304),
            Action::ReleaseFailed => ("quarantine.release_failed", 8305),
        }
    }

    pub fn from_code(code: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.code().0 == code)
    }
}

/// One entry to append. The summary says what changed; it must never hold a secret.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub municipality_id: i64,
    pub actor_account_id: Option<i64>,
    pub actor_label: String,
    pub action: Action,
    pub target_type: &'static str,
    pub target_id: String,
    pub summary: serde_json::Value,
}

/// The key that seals the chain, kept in a file the database does not hold.
#[derive(Clone)]
pub struct AuditKey {
    bytes: [u8; 32],
    seal_dir: PathBuf,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditKey")
            .field("seal_dir", &self.seal_dir)
            .finish_non_exhaustive()
    }
}

impl AuditKey {
    /// Reads the key file, or creates it (mode 0600) when `create` is set and it does not exist.
    /// Seals are written in the key file's folder.
    pub fn load(path: &Path, create: bool) -> Result<Self, StoreError> {
        let seal_dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        if !path.exists() {
            if !create {
                return Err(StoreError::Audit(format!(
                    "audit key file {} does not exist",
                    path.display()
                )));
            }
            std::fs::create_dir_all(&seal_dir)?;
            let bytes: [u8; 32] = rand::random();
            write_private(path, hex::encode(bytes).as_bytes())?;
            return Ok(AuditKey { bytes, seal_dir });
        }
        let text = std::fs::read_to_string(path)?;
        let decoded = hex::decode(text.trim()).map_err(|_| {
            StoreError::Audit(format!(
                "audit key file {} is not 64 hex digits",
                path.display()
            ))
        })?;
        let bytes: [u8; 32] = decoded.try_into().map_err(|_| {
            StoreError::Audit(format!(
                "audit key file {} is not 64 hex digits",
                path.display()
            ))
        })?;
        Ok(AuditKey { bytes, seal_dir })
    }

    fn mac(&self, parts: &[&[u8]]) -> String {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.bytes).unwrap_or_else(|_| unreachable_hmac());
        for part in parts {
            mac.update(&(part.len() as u32).to_be_bytes());
            mac.update(part);
        }
        hex::encode(mac.finalize().into_bytes())
    }

    fn entry_mac(&self, hash: &str) -> String {
        self.mac(&[b"entry", hash.as_bytes()])
    }

    fn seal_mac(&self, municipality_id: i64, seq: i64, hash: &str) -> String {
        self.mac(&[
            b"seal",
            municipality_id.to_string().as_bytes(),
            seq.to_string().as_bytes(),
            hash.as_bytes(),
        ])
    }

    fn seal_path(&self, municipality_id: i64) -> PathBuf {
        self.seal_dir
            .join(format!("audit-seal-{municipality_id}.json"))
    }

    /// The same key, sealing in another folder (to check a backup without its seals getting in the way).
    pub fn with_seal_dir(&self, seal_dir: &Path) -> AuditKey {
        AuditKey {
            bytes: self.bytes,
            seal_dir: seal_dir.to_path_buf(),
        }
    }

    /// Records `head` as the sealed head even if a later one was sealed: only for `mamori restore`, which puts
    /// an earlier, verified state back on purpose (and records that it did in the trail).
    pub fn reseal(&self, head: &Head) -> Result<(), StoreError> {
        let _ = std::fs::remove_file(self.seal_path(head.municipality_id));
        self.seal(head)
    }

    /// Records `(seq, hash)` as the newest known head, unless a newer one is sealed already.
    /// Called after the transaction that appended the entry has committed.
    pub fn seal(&self, head: &Head) -> Result<(), StoreError> {
        if let Some(existing) = self.read_seal(head.municipality_id)?
            && existing.seq >= head.seq
        {
            return Ok(());
        }
        let checkpoint = self.checkpoint(head);
        let path = self.seal_path(head.municipality_id);
        let tmp = path.with_extension("json.tmp");
        let text =
            serde_json::to_string(&checkpoint).map_err(|e| StoreError::Audit(e.to_string()))?;
        write_private(&tmp, text.as_bytes())?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }

    /// The sealed head of a municipality's chain, if any entry was ever sealed.
    pub fn read_seal(&self, municipality_id: i64) -> Result<Option<Checkpoint>, StoreError> {
        let path = self.seal_path(municipality_id);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
                StoreError::Audit(format!("seal file {} is unreadable: {e}", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A checkpoint of a head, signed with the key: exported for safekeeping outside the server.
    pub fn checkpoint(&self, head: &Head) -> Checkpoint {
        Checkpoint {
            municipality_id: head.municipality_id,
            seq: head.seq,
            hash: head.hash.clone(),
            mac: self.seal_mac(head.municipality_id, head.seq, &head.hash),
        }
    }

    fn checkpoint_is_genuine(&self, c: &Checkpoint) -> bool {
        self.seal_mac(c.municipality_id, c.seq, &c.hash) == c.mac
    }
}

fn unreachable_hmac() -> HmacSha256 {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail; this keeps the code free of panics.
    HmacSha256::new(&Default::default())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// The newest entry of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub municipality_id: i64,
    pub seq: i64,
    pub hash: String,
}

/// A signed statement that the chain of a municipality had `hash` at `seq`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub municipality_id: i64,
    pub seq: i64,
    pub hash: String,
    pub mac: String,
}

/// Starts a municipality's chain. Called once, in the transaction that creates the municipality.
pub async fn start_chain(
    db: &impl ConnectionTrait,
    municipality_id: i64,
) -> Result<(), StoreError> {
    audit_head::ActiveModel {
        municipality_id: Set(municipality_id),
        seq: Set(0),
        hash: Set(GENESIS.to_owned()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The canonical bytes an entry's hash covers. Stable across databases: integers in decimal, the time in
/// microseconds since the epoch, text as stored, each field length-prefixed.
fn canonical(e: &audit_entry::Model) -> Vec<u8> {
    let fields: [String; 12] = [
        ENCODING_TAG.to_owned(),
        e.municipality_id.to_string(),
        e.seq.to_string(),
        e.at.timestamp_micros().to_string(),
        e.actor_account_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        e.actor_label.clone(),
        e.action.clone(),
        e.action_code.to_string(),
        e.target_type.clone(),
        e.target_id.clone(),
        e.summary.clone(),
        e.prev_hash.clone(),
    ];
    let mut out = Vec::new();
    for field in &fields {
        out.extend_from_slice(&(field.len() as u32).to_be_bytes());
        out.extend_from_slice(field.as_bytes());
    }
    out
}

fn entry_hash(e: &audit_entry::Model) -> String {
    hex::encode(Sha256::digest(canonical(e)))
}

/// Appends an entry inside the caller's transaction. The head row is locked for the rest of the transaction
/// (`SELECT … FOR UPDATE` on PostgreSQL; on SQLite the write transaction already holds the database lock), so
/// appends to one chain are serialised. Returns the new head, to be sealed after commit.
pub async fn append(
    db: &impl ConnectionTrait,
    key: &AuditKey,
    entry: NewEntry,
) -> Result<Head, StoreError> {
    let head = audit_head::Entity::find_by_id(entry.municipality_id)
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or_else(|| {
            StoreError::Audit(format!(
                "municipality {} has no audit chain",
                entry.municipality_id
            ))
        })?;
    let (action, action_code) = entry.action.code();
    let mut model = audit_entry::Model {
        id: 0,
        municipality_id: entry.municipality_id,
        seq: head.seq + 1,
        at: now_micros(),
        actor_account_id: entry.actor_account_id,
        actor_label: entry.actor_label,
        action: action.to_owned(),
        action_code,
        target_type: entry.target_type.to_owned(),
        target_id: entry.target_id,
        // serde_json keeps object keys sorted, so this text is canonical.
        summary: entry.summary.to_string(),
        prev_hash: head.hash.clone(),
        hash: String::new(),
        mac: String::new(),
    };
    model.hash = entry_hash(&model);
    model.mac = key.entry_mac(&model.hash);
    let new_head = Head {
        municipality_id: model.municipality_id,
        seq: model.seq,
        hash: model.hash.clone(),
    };
    let mut active: audit_entry::ActiveModel = model.into();
    active.id = sea_orm::ActiveValue::NotSet;
    active.insert(db).await?;
    audit_head::ActiveModel {
        municipality_id: Set(new_head.municipality_id),
        seq: Set(new_head.seq),
        hash: Set(new_head.hash.clone()),
    }
    .update(db)
    .await?;
    Ok(new_head)
}

/// Appends many entries at once inside the caller's transaction (a sheet import writes one entry per row):
/// the head is locked and updated once and the rows go in as multi-row inserts, so a 100,000-row import
/// does not pay a round trip per entry. The chain is exactly what one `append` per entry would have built.
pub async fn append_batch(
    db: &impl ConnectionTrait,
    key: &AuditKey,
    municipality_id: i64,
    entries: Vec<NewEntry>,
) -> Result<Option<Head>, StoreError> {
    if entries.is_empty() {
        return Ok(None);
    }
    let head = audit_head::Entity::find_by_id(municipality_id)
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or_else(|| {
            StoreError::Audit(format!("municipality {municipality_id} has no audit chain"))
        })?;
    let at = now_micros();
    let mut seq = head.seq;
    let mut prev = head.hash;
    // 13 parameters a row: 1,000 rows stay under SQLite's and PostgreSQL's limits.
    for chunk in entries.chunks(1_000) {
        let mut models = Vec::with_capacity(chunk.len());
        for entry in chunk {
            if entry.municipality_id != municipality_id {
                return Err(StoreError::Audit(
                    "a batch of audit entries spans municipalities".to_owned(),
                ));
            }
            seq += 1;
            let (action, action_code) = entry.action.code();
            let mut model = audit_entry::Model {
                id: 0,
                municipality_id,
                seq,
                at,
                actor_account_id: entry.actor_account_id,
                actor_label: entry.actor_label.clone(),
                action: action.to_owned(),
                action_code,
                target_type: entry.target_type.to_owned(),
                target_id: entry.target_id.clone(),
                summary: entry.summary.to_string(),
                prev_hash: prev,
                hash: String::new(),
                mac: String::new(),
            };
            model.hash = entry_hash(&model);
            model.mac = key.entry_mac(&model.hash);
            prev = model.hash.clone();
            models.push(model);
        }
        insert_entries(db, models).await?;
    }
    let new_head = Head {
        municipality_id,
        seq,
        hash: prev,
    };
    audit_head::ActiveModel {
        municipality_id: Set(municipality_id),
        seq: Set(new_head.seq),
        hash: Set(new_head.hash.clone()),
    }
    .update(db)
    .await?;
    Ok(Some(new_head))
}

/// PostgreSQL: entries as an array a column ([`crate::bulk`]), all stamped `at`.
fn unnest(models: &[audit_entry::Model], at: DateTime<Utc>) -> crate::bulk::Unnest {
    let column = |f: fn(&audit_entry::Model) -> String| models.iter().map(f).collect::<Vec<_>>();
    let mut rows = crate::bulk::Unnest::default();
    rows.int8(
        "municipality_id",
        models.iter().map(|m| m.municipality_id).collect(),
    )
    .int8("seq", models.iter().map(|m| m.seq).collect())
    .scalar("at", "timestamptz", at.into())
    .opt_id(
        "actor_account_id",
        models.iter().map(|m| m.actor_account_id).collect(),
    )
    .text("actor_label", column(|m| m.actor_label.clone()))
    .text("action", column(|m| m.action.clone()))
    .int4(
        "action_code",
        models.iter().map(|m| m.action_code).collect(),
    )
    .text("target_type", column(|m| m.target_type.clone()))
    .text("target_id", column(|m| m.target_id.clone()))
    .text("summary", column(|m| m.summary.clone()))
    .text("prev_hash", column(|m| m.prev_hash.clone()))
    .text("hash", column(|m| m.hash.clone()))
    .text("mac", column(|m| m.mac.clone()));
    rows
}

/// Writes built entries, all stamped with the same time: on PostgreSQL as one array a column
/// ([`crate::bulk`]), on SQLite as a `VALUES` list.
async fn insert_entries(
    db: &impl ConnectionTrait,
    models: Vec<audit_entry::Model>,
) -> Result<(), StoreError> {
    use sea_orm::sea_query::Query;
    let Some(first) = models.first() else {
        return Ok(());
    };
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        let rows = unnest(&models, first.at);
        rows.insert(db, "audit_entry", &[]).await?;
        return Ok(());
    }
    let mut insert = Query::insert();
    insert.into_table(audit_entry::Entity).columns([
        audit_entry::Column::MunicipalityId,
        audit_entry::Column::Seq,
        audit_entry::Column::At,
        audit_entry::Column::ActorAccountId,
        audit_entry::Column::ActorLabel,
        audit_entry::Column::Action,
        audit_entry::Column::ActionCode,
        audit_entry::Column::TargetType,
        audit_entry::Column::TargetId,
        audit_entry::Column::Summary,
        audit_entry::Column::PrevHash,
        audit_entry::Column::Hash,
        audit_entry::Column::Mac,
    ]);
    for model in models {
        insert
            .values([
                model.municipality_id.into(),
                model.seq.into(),
                model.at.into(),
                model.actor_account_id.into(),
                model.actor_label.into(),
                model.action.into(),
                model.action_code.into(),
                model.target_type.into(),
                model.target_id.into(),
                model.summary.into(),
                model.prev_hash.into(),
                model.hash.into(),
                model.mac.into(),
            ])
            .map_err(|e| StoreError::Audit(e.to_string()))?;
    }
    db.execute(&insert).await?;
    Ok(())
}

/// The database stores times to the microsecond (PostgreSQL's precision), so entries are stamped to it.
pub fn now_micros() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// What `verify` found for one municipality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Intact { entries: i64 },
    Broken { seq: i64, reason: String },
}

/// Checks a municipality's whole chain: sequence, links, hashes, MACs, the head row, the seal file and
/// any checkpoints given. Reads in pages so memory stays flat for long chains.
pub async fn verify(
    db: &impl ConnectionTrait,
    key: &AuditKey,
    municipality_id: i64,
    checkpoints: &[Checkpoint],
) -> Result<Verdict, StoreError> {
    const PAGE: u64 = 5_000;
    let mut expected_seq = 1;
    let mut prev = GENESIS.to_owned();
    let mut hashes_at_checkpoints = std::collections::BTreeMap::from([(0, GENESIS.to_owned())]);
    let sealed = key.read_seal(municipality_id)?;
    let all_checkpoints: Vec<&Checkpoint> = checkpoints
        .iter()
        .filter(|c| c.municipality_id == municipality_id)
        .chain(sealed.iter())
        .collect();
    let wanted: std::collections::BTreeSet<i64> = all_checkpoints.iter().map(|c| c.seq).collect();
    loop {
        let page = audit_entry::Entity::find()
            .filter(audit_entry::Column::MunicipalityId.eq(municipality_id))
            .filter(audit_entry::Column::Seq.gte(expected_seq))
            .order_by_asc(audit_entry::Column::Seq)
            .limit(PAGE)
            .all(db)
            .await?;
        let done = (page.len() as u64) < PAGE;
        for e in page {
            if e.seq != expected_seq {
                return Ok(broken(
                    expected_seq,
                    format!("entry {expected_seq} is missing (next is {})", e.seq),
                ));
            }
            if e.prev_hash != prev {
                return Ok(broken(
                    e.seq,
                    "does not link to the entry before it".to_owned(),
                ));
            }
            if entry_hash(&e) != e.hash {
                return Ok(broken(
                    e.seq,
                    "its content does not match its hash (edited)".to_owned(),
                ));
            }
            if key.entry_mac(&e.hash) != e.mac {
                return Ok(broken(
                    e.seq,
                    "its seal does not match (chain recomputed without the key)".to_owned(),
                ));
            }
            if wanted.contains(&e.seq) {
                hashes_at_checkpoints.insert(e.seq, e.hash.clone());
            }
            prev = e.hash;
            expected_seq += 1;
        }
        if done {
            break;
        }
    }
    let last = expected_seq - 1;
    let head = audit_head::Entity::find_by_id(municipality_id)
        .one(db)
        .await?;
    match head {
        Some(h) if h.seq == last && h.hash == prev => {}
        Some(h) if h.seq > last => {
            return Ok(broken(
                last + 1,
                format!("entries {}..={} were removed from the end", last + 1, h.seq),
            ));
        }
        _ => {
            return Ok(broken(
                last,
                "the chain head does not match the last entry".to_owned(),
            ));
        }
    }
    for c in all_checkpoints {
        if !key.checkpoint_is_genuine(c) {
            return Ok(broken(
                c.seq,
                "a checkpoint's signature is wrong".to_owned(),
            ));
        }
        if c.seq > last {
            return Ok(broken(
                last + 1,
                format!(
                    "entries {}..={} were removed from the end (sealed head is {})",
                    last + 1,
                    c.seq,
                    c.seq
                ),
            ));
        }
        if hashes_at_checkpoints.get(&c.seq) != Some(&c.hash) {
            return Ok(broken(
                c.seq,
                "differs from the sealed checkpoint (chain rewritten)".to_owned(),
            ));
        }
    }
    Ok(Verdict::Intact { entries: last })
}

fn broken(seq: i64, reason: String) -> Verdict {
    Verdict::Broken { seq, reason }
}

/// The current head of a municipality's chain.
pub async fn head(
    db: &impl ConnectionTrait,
    municipality_id: i64,
) -> Result<Option<Head>, StoreError> {
    Ok(audit_head::Entity::find_by_id(municipality_id)
        .one(db)
        .await?
        .map(|h| Head {
            municipality_id: h.municipality_id,
            seq: h.seq,
            hash: h.hash,
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PostgreSQL's bulk insert names its columns by hand: a column added to the table must be added there
    /// too, or batched entries would lose it.
    #[test]
    fn the_bulk_insert_writes_every_column_but_the_id() {
        let rows = unnest(&[], now_micros());
        assert_eq!(rows.mismatch::<audit_entry::Entity>(), (vec![], vec![]));
    }
}
