//! Gathering the facts the checks read, in one read transaction: a few narrow queries (only the columns the
//! checks use, retired assets and ended posts left out in SQL), read in pages of [`PAGE`] rows by id and decoded
//! straight into the policy's fact types, so memory holds the facts and one page of the database's rows.

use chrono::NaiveDate;
use mamori_policy::{
    AccountFacts, AssetFacts, AssignmentKind, FlowFacts, MyNumberWork, NetworkFacts, PostFacts,
    Scheme, StaffFacts, StatutoryRole, SystemFacts, UnitFacts, UnitLevel, Zone,
};
use sea_orm::sea_query::{Alias, Cond, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ConnectionTrait, QueryResult, TryGetable};

use crate::{AppError, AppResult};

/// Everything but the scheme and the day, which the caller holds.
#[derive(Debug, Default)]
pub struct Facts {
    pub units: Vec<UnitFacts>,
    pub staff: Vec<StaffFacts>,
    pub posts: Vec<PostFacts>,
    pub accounts: Vec<AccountFacts>,
    pub assets: Vec<AssetFacts>,
    pub network: NetworkFacts,
}

pub async fn load(
    db: &impl ConnectionTrait,
    scheme: &Scheme,
    municipality_id: i64,
    today: NaiveDate,
) -> AppResult<Facts> {
    Ok(Facts {
        units: units(db, municipality_id).await?,
        staff: staff(db, municipality_id).await?,
        posts: posts(db, municipality_id, today).await?,
        accounts: accounts(db, municipality_id).await?,
        assets: assets(db, scheme, municipality_id).await?,
        network: network(db, municipality_id).await?,
    })
}

/// The zone register: systems (retired ones too, so a flow through a retired sanitiser is judged), flows in
/// force, and the devices of the newest zone map with what netcheck last said of them.
async fn network(db: &impl ConnectionTrait, mid: i64) -> AppResult<NetworkFacts> {
    let q = select(
        "info_system",
        &[
            "id",
            "name",
            "zone",
            "owner_unit_id",
            "mfa",
            "no_export",
            "sanitiser",
            "retired",
        ],
        mid,
    );
    let systems = each(db, &q, |r| {
        Ok(Some(SystemFacts {
            id: get(r, 0)?,
            name: get(r, 1)?,
            zone: get(r, 2)?,
            owner_unit_id: get(r, 3)?,
            mfa: get(r, 4)?,
            no_export: get(r, 5)?,
            sanitiser: get(r, 6)?,
            retired: get(r, 7)?,
        }))
    })
    .await?;
    let mut q = select(
        "system_flow",
        &[
            "id",
            "from_system_id",
            "to_system_id",
            "protocol",
            "ports",
            "via_system_id",
        ],
        mid,
    );
    q.and_where(Expr::col(Alias::new("retired")).eq(false));
    let flows = each(db, &q, |r| {
        let protocol: String = get(r, 3)?;
        let ports: String = get(r, 4)?;
        Ok(Some(FlowFacts {
            id: get(r, 0)?,
            from_system_id: get(r, 1)?,
            to_system_id: get(r, 2)?,
            service: crate::zones::flows::service(&protocol, &ports),
            via_system_id: get(r, 5)?,
            retired: false,
        }))
    })
    .await?;
    let (devices, map_uploaded) = crate::zones::network::device_facts(db, mid).await?;
    Ok(NetworkFacts {
        systems,
        flows,
        devices,
        map_uploaded,
    })
}

fn select(table: &str, columns: &[&str], municipality_id: i64) -> SelectStatement {
    let mut q = Query::select();
    q.from(Alias::new(table));
    for column in columns {
        q.column(Alias::new(*column));
    }
    q.and_where(Expr::col(Alias::new("municipality_id")).eq(municipality_id));
    q.order_by(Alias::new("id"), sea_orm::sea_query::Order::Asc);
    q
}

/// Rows read at a time. (Streaming row by row costs SQLite a hand-over per row: half again the time.)
const PAGE: u64 = 10_000;

/// Each row of a query (its first column the id, ordered by it), turned into a fact, a page at a time.
async fn each<T>(
    db: &impl ConnectionTrait,
    q: &SelectStatement,
    mut fact: impl FnMut(&QueryResult) -> AppResult<Option<T>>,
) -> AppResult<Vec<T>> {
    let mut out = Vec::new();
    let mut after = i64::MIN;
    loop {
        let mut page = q.clone();
        page.and_where(Expr::col(Alias::new("id")).gt(after))
            .limit(PAGE);
        let rows = db.query_all(&page).await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = get(last, 0)?;
        for row in &rows {
            out.extend(fact(row)?);
        }
        if (rows.len() as u64) < PAGE {
            break;
        }
    }
    Ok(out)
}

/// Column `i` of a row, typed.
fn get<T: TryGetable>(row: &QueryResult, i: usize) -> AppResult<T> {
    row.try_get_by_index(i)
        .map_err(|e| AppError::Internal(format!("reading column {i} for the checks: {e:?}")))
}

async fn units(db: &impl ConnectionTrait, mid: i64) -> AppResult<Vec<UnitFacts>> {
    let q = select(
        "org_unit",
        &[
            "id",
            "code",
            "path",
            "abolished_on",
            "successor_id",
            "parent_id",
            "level",
            "in_scope",
        ],
        mid,
    );
    each(db, &q, |r| {
        Ok(Some(UnitFacts {
            id: get(r, 0)?,
            code: get(r, 1)?,
            path: get(r, 2)?,
            abolished: get::<Option<NaiveDate>>(r, 3)?.is_some(),
            successor_id: get(r, 4)?,
            parent_id: get(r, 5)?,
            level: UnitLevel::parse(&get::<String>(r, 6)?).unwrap_or_default(),
            in_scope: get(r, 7)?,
        }))
    })
    .await
}

async fn staff(db: &impl ConnectionTrait, mid: i64) -> AppResult<Vec<StaffFacts>> {
    let q = select(
        "staff",
        &["id", "staff_no", "name", "active", "org_unit_id"],
        mid,
    );
    each(db, &q, |r| {
        Ok(Some(StaffFacts {
            id: get(r, 0)?,
            label: format!("{} {}", get::<String>(r, 1)?, get::<String>(r, 2)?),
            active: get(r, 3)?,
            unit_id: get(r, 4)?,
        }))
    })
    .await
}

async fn posts(db: &impl ConnectionTrait, mid: i64, today: NaiveDate) -> AppResult<Vec<PostFacts>> {
    let mut q = select(
        "role_assignment",
        &["id", "role", "scope_unit_id", "staff_id", "kind"],
        mid,
    );
    q.and_where(Expr::col(Alias::new("valid_from")).lte(today))
        .cond_where(
            Cond::any()
                .add(Expr::col(Alias::new("valid_to")).is_null())
                .add(Expr::col(Alias::new("valid_to")).gte(today)),
        );
    each(db, &q, |r| {
        // A role or kind this version does not know (written by a newer one) is not a post it can judge.
        let (Ok(role), Ok(kind)) = (
            StatutoryRole::parse(&get::<String>(r, 1)?),
            AssignmentKind::parse(&get::<String>(r, 4)?),
        ) else {
            return Ok(None);
        };
        Ok(Some(PostFacts {
            id: get(r, 0)?,
            role,
            unit_id: get(r, 2)?,
            staff_id: get(r, 3)?,
            kind,
        }))
    })
    .await
}

async fn accounts(db: &impl ConnectionTrait, mid: i64) -> AppResult<Vec<AccountFacts>> {
    let q = select(
        "account",
        &[
            "id",
            "login",
            "staff_id",
            "is_system_admin",
            "is_outsider",
            "valid_until",
            "disabled",
            "mfa_enrolled_at",
        ],
        mid,
    );
    each(db, &q, |r| {
        Ok(Some(AccountFacts {
            id: get(r, 0)?,
            login: get(r, 1)?,
            staff_id: get(r, 2)?,
            system_admin: get(r, 3)?,
            outsider: get(r, 4)?,
            valid_until: get(r, 5)?,
            disabled: get(r, 6)?,
            mfa_enrolled: get::<Option<chrono::DateTime<chrono::Utc>>>(r, 7)?.is_some(),
        }))
    })
    .await
}

async fn assets(
    db: &impl ConnectionTrait,
    scheme: &Scheme,
    mid: i64,
) -> AppResult<Vec<AssetFacts>> {
    let mut q = select(
        "asset",
        &[
            "id",
            "asset_no",
            "name",
            "owner_unit_id",
            "manager_staff_id",
            "c_level",
            "i_level",
            "a_level",
            "personal",
            "sensitive_personal",
            "specific_personal",
            "my_number_work",
            "zone",
            "next_review",
        ],
        mid,
    );
    q.and_where(Expr::col(Alias::new("retired")).eq(false));
    each(db, &q, |r| {
        let c: Option<String> = get(r, 5)?;
        let i: Option<String> = get(r, 6)?;
        let a: Option<String> = get(r, 7)?;
        Ok(Some(AssetFacts {
            id: get(r, 0)?,
            asset_no: get(r, 1)?,
            name: get(r, 2)?,
            owner_unit_id: get(r, 3)?,
            manager_staff_id: get(r, 4)?,
            classification: crate::assets::classification_from(
                scheme,
                [c.as_deref(), i.as_deref(), a.as_deref()],
            ),
            personal: get(r, 8)?,
            sensitive_personal: get(r, 9)?,
            specific_personal: get(r, 10)?,
            my_number_work: get::<Option<String>>(r, 11)?
                .and_then(|w| MyNumberWork::parse(&w).ok()),
            zone: get::<Option<String>>(r, 12)?.and_then(|z| Zone::parse(&z).ok()),
            next_review: get(r, 13)?,
            retired: false,
        }))
    })
    .await
}
