//! What every list shares: the page size limits, a bounded count, and "this unit and everything below it".

use sea_orm::sea_query::{Alias, Expr, ExprTrait, LikeExpr, Query, SelectStatement};
use sea_orm::{Condition, ConnectionTrait, EntityTrait, QuerySelect, QueryTrait};

use crate::AppResult;
use mamori_store::entity::org_unit;

/// A list counts its matches up to this many; past it the page says "more than 1,000" and the person
/// narrows the filter. Counting is O(matches) in any database, and that many rows do not page well anyway.
pub const COUNT_LIMIT: u64 = 1_000;

/// Largest page a list returns.
pub const MAX_PER_PAGE: u64 = 200;

/// The ids of the units under any of these `tree_path` prefixes (none when the list is empty).
pub fn units_under(prefixes: &[String]) -> SelectStatement {
    let mut any = Condition::any();
    for p in prefixes {
        any = any.add(
            Expr::col(org_unit::Column::TreePath)
                .like(LikeExpr::new(format!("{}%", like_escape(p))).escape('\\')),
        );
    }
    if prefixes.is_empty() {
        any = any.add(Expr::val(1).eq(Expr::val(0)));
    }
    Query::select()
        .column(org_unit::Column::Id)
        .from(org_unit::Entity)
        .cond_where(any)
        .to_owned()
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// `COUNT(*)` of a query's first `limit` rows: bounded work however many match.
pub async fn count_up_to<E: EntityTrait>(
    db: &impl ConnectionTrait,
    query: sea_orm::Select<E>,
    id: E::Column,
    limit: u64,
) -> AppResult<u64> {
    // Order does not change a count: without it the database stops at `limit` instead of sorting every match.
    let mut inner = query.select_only().column(id).limit(limit).into_query();
    inner.clear_order_by();
    let outer = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from_subquery(inner, Alias::new("capped"))
        .to_owned();
    let row = db.query_one(&outer).await?;
    let n: i64 = match row {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}
