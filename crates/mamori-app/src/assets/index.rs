//! The asset list's own index, held in memory per municipality: the columns the list filters and sorts on,
//! the four orders it offers, and the character pairs of every search key ([`crate::gram`]). A list is then a
//! walk along one order, testing each asset against the filters, and one query for the page's rows; it does
//! the same on SQLite and PostgreSQL.
//!
//! The index knows it is current by `asset_revision`, which every asset write bumps in its transaction: a
//! request reads the revision (one small query) and rebuilds the index when it moved, whichever process made
//! the change. Units and people are not in it: who may see which unit is asked of the database per request,
//! so a moved unit or a changed post counts at once.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use mamori_policy::{AssetKind, Zone};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::gram::{PositionSet, Postings};
use crate::{App, AppResult};
use mamori_store::entity::{asset, asset_revision};

/// The indexes built, one per municipality, and a lock so that one request builds while the others wait.
#[derive(Default)]
pub(crate) struct IndexCache {
    built: Mutex<HashMap<i64, Arc<AssetIndex>>>,
    building: tokio::sync::Mutex<()>,
}

impl IndexCache {
    fn get(&self, municipality_id: i64, revision: i64) -> Option<Arc<AssetIndex>> {
        let built = self.built.lock().ok()?;
        built
            .get(&municipality_id)
            .filter(|ix| ix.revision == revision)
            .cloned()
    }

    fn keep(&self, municipality_id: i64, index: Arc<AssetIndex>) {
        if let Ok(mut built) = self.built.lock() {
            built.insert(municipality_id, index);
        }
    }
}

/// Marks the municipality's register as changed; called in the transaction of every asset write.
pub(crate) async fn bump_revision(
    db: &impl ConnectionTrait,
    municipality_id: i64,
) -> Result<(), DbErr> {
    let stmt = Query::insert()
        .into_table(asset_revision::Entity)
        .columns([
            asset_revision::Column::MunicipalityId,
            asset_revision::Column::Revision,
        ])
        .values([municipality_id.into(), 1_i64.into()])
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .on_conflict(
            OnConflict::column(asset_revision::Column::MunicipalityId)
                .value(
                    asset_revision::Column::Revision,
                    Expr::col((asset_revision::Entity, asset_revision::Column::Revision)).add(1),
                )
                .to_owned(),
        )
        .to_owned();
    db.execute(&stmt).await.map(|_| ())
}

async fn revision(db: &impl ConnectionTrait, municipality_id: i64) -> Result<i64, DbErr> {
    Ok(asset_revision::Entity::find_by_id(municipality_id)
        .one(db)
        .await?
        .map_or(0, |r| r.revision))
}

/// After a write in this process: rebuilds the municipality's index in the background, so that the next list
/// finds it ready instead of building it while a person waits (about a second for 100,000 assets). Only where
/// an index is kept already: a process that never lists (the command line) builds none. Writes that follow
/// each other closely cost one build, not one each: builds queue on one lock, and a build that finds the index
/// current returns at once.
pub(crate) fn refresh_soon(app: &App, municipality_id: i64) {
    let kept = app
        .asset_indexes()
        .built
        .lock()
        .is_ok_and(|built| built.contains_key(&municipality_id));
    if !kept {
        return;
    }
    let app = app.clone();
    tokio::spawn(async move {
        if let Err(e) = current(&app, app.store().conn(), municipality_id).await {
            tracing::warn!(municipality_id, "asset index not rebuilt: {e}");
        }
    });
}

/// The municipality's index as the register stands now: the one kept, or a new one when the register changed.
pub(crate) async fn current(
    app: &App,
    db: &impl ConnectionTrait,
    municipality_id: i64,
) -> AppResult<Arc<AssetIndex>> {
    let cache = app.asset_indexes();
    // Read before the rows: a change that lands in between is in the index and moves the revision past it,
    // so the next request rebuilds; an index is never older than its revision says.
    let revision = revision(db, municipality_id).await?;
    if let Some(index) = cache.get(municipality_id, revision) {
        return Ok(index);
    }
    let _building = cache.building.lock().await;
    // Asked again: while this request waited, another may have built a newer index than it first saw.
    let revision = self::revision(db, municipality_id).await?;
    if let Some(index) = cache.get(municipality_id, revision) {
        return Ok(index);
    }
    let started = std::time::Instant::now();
    let index = Arc::new(AssetIndex::load(db, municipality_id, revision).await?);
    tracing::debug!(
        municipality_id,
        revision,
        assets = index.entries.len(),
        grams = index.grams.entries(),
        mib = index.size_bytes() / (1 << 20),
        ms = started.elapsed().as_millis() as u64,
        "asset index built"
    );
    cache.keep(municipality_id, index.clone());
    Ok(index)
}

#[derive(Debug, FromQueryResult)]
struct IndexRow {
    id: i64,
    owner_unit_id: Option<i64>,
    manager_staff_id: Option<i64>,
    kind: String,
    zone: Option<String>,
    c_rank: Option<i16>,
    i_rank: Option<i16>,
    a_rank: Option<i16>,
    personal: bool,
    sensitive_personal: bool,
    specific_personal: bool,
    next_review: Option<NaiveDate>,
    retired: bool,
    sort_key: String,
    name_key: String,
    search_key: String,
}

/// Rows read at a time while building.
const LOAD_PAGE: u64 = 10_000;

/// A row as read, with the keys only the build needs.
struct Loaded {
    entry: Entry,
    sort_key: Box<str>,
    name_key: Box<str>,
    search_key: Box<str>,
}

impl From<IndexRow> for Loaded {
    fn from(r: IndexRow) -> Self {
        Loaded {
            entry: Entry {
                id: r.id,
                owner_unit_id: r.owner_unit_id,
                manager_staff_id: r.manager_staff_id,
                next_review: r.next_review,
                ranks: [r.c_rank, r.i_rank, r.a_rank],
                kind: super::stored_kind(&r.kind),
                zone: r.zone.as_deref().and_then(super::stored_zone),
                personal: r.personal,
                sensitive_personal: r.sensitive_personal,
                specific_personal: r.specific_personal,
                retired: r.retired,
            },
            sort_key: r.sort_key.into_boxed_str(),
            name_key: r.name_key.into_boxed_str(),
            search_key: r.search_key.into_boxed_str(),
        }
    }
}

/// What the filters ask of one asset.
#[derive(Debug)]
struct Entry {
    id: i64,
    owner_unit_id: Option<i64>,
    manager_staff_id: Option<i64>,
    next_review: Option<NaiveDate>,
    /// Confidentiality, integrity, availability.
    ranks: [Option<i16>; 3],
    kind: Option<AssetKind>,
    zone: Option<Zone>,
    personal: bool,
    sensitive_personal: bool,
    specific_personal: bool,
    retired: bool,
}

/// The list's orders. Each ends with 資産番号 (and the id), so an order never depends on the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sort {
    AssetNo,
    Name,
    /// Highest confidentiality first, unclassified last.
    Confidentiality,
    /// Earliest 次回見直し日 first, none last.
    Review,
}

impl Sort {
    pub(crate) fn parse(sort: Option<&str>) -> Sort {
        match sort {
            Some("name") => Sort::Name,
            Some("confidentiality") => Sort::Confidentiality,
            Some("review") => Sort::Review,
            _ => Sort::AssetNo,
        }
    }
}

/// Which units' assets: all of them, or those owned by one of these units.
#[derive(Debug, Clone)]
pub(crate) enum Units {
    All,
    Some(HashSet<i64>),
}

impl Units {
    fn admit(&self, unit: Option<i64>) -> bool {
        match self {
            Units::All => true,
            Units::Some(ids) => unit.is_some_and(|u| ids.contains(&u)),
        }
    }
}

/// The filters of a list, parsed and resolved (the units a person may see, the sub-units of a unit).
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    pub text: String,
    /// The person's reach by unit.
    pub reach: Units,
    /// Staff without a post see the assets they manage (`Some(None)`: no staff record, nothing).
    pub manager: Option<Option<i64>>,
    /// The unit filter, with its sub-units.
    pub unit: Units,
    pub with_retired: bool,
    pub kind: Option<AssetKind>,
    pub zone: Option<Zone>,
    /// Lowest rank per axis (C, I, A).
    pub min_ranks: [Option<i16>; 3],
    pub personal: Option<PersonalData>,
    /// Only assets reviewed before this day.
    pub review_before: Option<NaiveDate>,
    pub sort: Sort,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PersonalData {
    Personal,
    Sensitive,
    Specific,
}

impl Filter {
    fn admits(&self, e: &Entry) -> bool {
        (self.with_retired || !e.retired)
            && self.reach.admit(e.owner_unit_id)
            && self
                .manager
                .is_none_or(|m| m.is_some() && e.manager_staff_id == m)
            && self.unit.admit(e.owner_unit_id)
            && self.kind.is_none_or(|k| e.kind == Some(k))
            && self.zone.is_none_or(|z| e.zone == Some(z))
            && self
                .min_ranks
                .iter()
                .zip(&e.ranks)
                .all(|(min, rank)| min.is_none_or(|m| rank.is_some_and(|r| r >= m)))
            && match self.personal {
                None => true,
                Some(PersonalData::Personal) => e.personal,
                Some(PersonalData::Sensitive) => e.sensitive_personal,
                Some(PersonalData::Specific) => e.specific_personal,
            }
            && self
                .review_before
                .is_none_or(|day| e.next_review.is_some_and(|d| d < day))
    }
}

/// One municipality's register as the list sees it.
pub(crate) struct AssetIndex {
    revision: i64,
    /// In 資産番号 order: an asset's position is its place in the default order.
    entries: Vec<Entry>,
    search_keys: Vec<Box<str>>,
    grams: Postings,
    by_name: Vec<u32>,
    by_confidentiality: Vec<u32>,
    by_review: Vec<u32>,
}

impl AssetIndex {
    async fn load(
        db: &impl ConnectionTrait,
        municipality_id: i64,
        revision: i64,
    ) -> Result<AssetIndex, DbErr> {
        // In pages by id, each made compact at once: the driver's rows of the whole register at once would
        // take several times the index's own size.
        let mut rows: Vec<Loaded> = Vec::new();
        let mut after = i64::MIN;
        loop {
            let page = asset::Entity::find()
                .select_only()
                .columns([
                    asset::Column::Id,
                    asset::Column::OwnerUnitId,
                    asset::Column::ManagerStaffId,
                    asset::Column::Kind,
                    asset::Column::Zone,
                    asset::Column::CRank,
                    asset::Column::IRank,
                    asset::Column::ARank,
                    asset::Column::Personal,
                    asset::Column::SensitivePersonal,
                    asset::Column::SpecificPersonal,
                    asset::Column::NextReview,
                    asset::Column::Retired,
                    asset::Column::SortKey,
                    asset::Column::NameKey,
                    asset::Column::SearchKey,
                ])
                .filter(asset::Column::MunicipalityId.eq(municipality_id))
                .filter(asset::Column::Id.gt(after))
                .order_by_asc(asset::Column::Id)
                .limit(LOAD_PAGE)
                .into_model::<IndexRow>()
                .all(db)
                .await?;
            let full = page.len() as u64 == LOAD_PAGE;
            after = page.last().map_or(after, |r| r.id);
            rows.extend(page.into_iter().map(Loaded::from));
            if !full {
                break;
            }
        }
        Ok(AssetIndex::build(revision, rows))
    }

    fn build(revision: i64, mut rows: Vec<Loaded>) -> AssetIndex {
        rows.sort_unstable_by(|a, b| {
            a.sort_key
                .cmp(&b.sort_key)
                .then(a.entry.id.cmp(&b.entry.id))
        });
        let positions = || (0..rows.len()).map(|p| u32::try_from(p).unwrap_or(u32::MAX));
        // Positions are in 資産番号 order, so ordering by a key and then by position ends in 資産番号 order.
        let mut by_name: Vec<u32> = positions().collect();
        by_name.sort_by(|a, b| rows[*a as usize].name_key.cmp(&rows[*b as usize].name_key));
        let mut by_confidentiality: Vec<u32> = positions().collect();
        by_confidentiality.sort_by_key(|p| {
            let c = rows[*p as usize].entry.ranks[0];
            (c.is_none(), std::cmp::Reverse(c))
        });
        let mut by_review: Vec<u32> = positions().collect();
        by_review.sort_by_key(|p| {
            let d = rows[*p as usize].entry.next_review;
            (d.is_none(), d)
        });
        let grams = Postings::build(rows.iter().map(|r| r.search_key.as_ref()));
        let mut entries = Vec::with_capacity(rows.len());
        let mut search_keys = Vec::with_capacity(rows.len());
        for r in rows {
            entries.push(r.entry);
            search_keys.push(r.search_key);
        }
        AssetIndex {
            revision,
            entries,
            search_keys,
            grams,
            by_name,
            by_confidentiality,
            by_review,
        }
    }

    /// The ids of the assets the filter admits, in its order.
    pub(crate) fn matching<'a>(&'a self, filter: &'a Filter) -> impl Iterator<Item = i64> + 'a {
        let text: Option<PositionSet> = self.grams.matching(&filter.text, |p| {
            self.search_keys.get(p as usize).map_or("", |k| k.as_ref())
        });
        let order: Box<dyn Iterator<Item = u32> + 'a> = match filter.sort {
            Sort::AssetNo => Box::new((0..self.entries.len()).map(|p| p as u32)),
            Sort::Name => Box::new(self.by_name.iter().copied()),
            Sort::Confidentiality => Box::new(self.by_confidentiality.iter().copied()),
            Sort::Review => Box::new(self.by_review.iter().copied()),
        };
        order.filter_map(move |p| {
            if text.as_ref().is_some_and(|t| !t.contains(p)) {
                return None;
            }
            let e = self.entries.get(p as usize)?;
            filter.admits(e).then_some(e.id)
        })
    }

    /// Bytes the index holds, roughly (for the debug log).
    fn size_bytes(&self) -> usize {
        self.entries.len() * std::mem::size_of::<Entry>()
            + self.search_keys.iter().map(|k| k.len() + 16).sum::<usize>()
            + self.grams.entries() * 4
            + (self.by_name.len() + self.by_confidentiality.len() + self.by_review.len()) * 4
    }
}
