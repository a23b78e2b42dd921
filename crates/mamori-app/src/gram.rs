//! Free-text search on our own character-gram index, identical on SQLite and PostgreSQL.
//!
//! Japanese has no spaces to split words on, and staff search with one or two characters (税, 戸籍). So every
//! adjacent pair of characters of a record's search key is indexed as one integer, `(first << 21) | second`,
//! and the last character of each field as `(last << 21) | 0`. Then
//! - a one-character query is a range of integers (every pair that starts with it, and the end marker);
//! - a two-character query is one integer;
//! - a longer query needs all its pairs, and the stored key is checked for the exact run of characters.
//!
//! Integers compare alike on every database, so no collation or database-specific text search is involved.
//! The key is computed by [`crate::text::search_key`], so the query is folded the same way as the record.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, IntoIden, LikeExpr, Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbErr};

use crate::text;

/// Separates the fields of a search key, so that no pair spans two fields.
pub const FIELD_SEPARATOR: char = '\u{1f}';

/// Most terms a query is split into; more are ignored.
pub const MAX_TERMS: usize = 5;
/// Longest term considered, in characters.
pub const MAX_TERM_CHARS: usize = 50;
/// Most pairs of a long term looked up in the index; the exact run is checked on the key anyway.
const MAX_PAIRS: usize = 6;

const SHIFT: u32 = 21;

fn pair(first: char, second: Option<char>) -> i64 {
    (i64::from(u32::from(first)) << SHIFT) | i64::from(second.map_or(0, u32::from))
}

/// The distinct grams of a search key, sorted.
pub fn grams(key: &str) -> Vec<i64> {
    let mut out = Vec::new();
    for field in key.split(FIELD_SEPARATOR) {
        let mut chars = field.chars().peekable();
        while let Some(c) = chars.next() {
            out.push(pair(c, chars.peek().copied()));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The terms of a query as typed: split on spaces (full-width ones too), each folded like a stored key.
pub fn terms(query: &str) -> Vec<String> {
    query
        .split(|c: char| c.is_whitespace() || c == '\u{3000}')
        .map(text::search_key)
        .filter(|t| !t.is_empty())
        .map(|t| t.chars().take(MAX_TERM_CHARS).collect())
        .take(MAX_TERMS)
        .collect()
}

/// A gram table: `(gram, <record>_id)` with the primary key in that order.
#[derive(Debug, Clone, Copy)]
pub struct GramIndex {
    pub table: &'static str,
    pub id_col: &'static str,
}

/// The assets' index.
pub const ASSETS: GramIndex = GramIndex {
    table: "asset_gram",
    id_col: "asset_id",
};

impl GramIndex {
    fn ids_where(&self, cond: Condition) -> SelectStatement {
        Query::select()
            .column(Alias::new(self.id_col))
            .from(Alias::new(self.table))
            .cond_where(cond)
            .to_owned()
    }

    /// The condition "the record matches every term of `query`", with `key_col` its stored search key.
    pub fn matches<C>(&self, record_id: C, key_col: C, query: &str) -> Condition
    where
        C: ColumnTrait + IntoIden + Copy,
    {
        let gram = || Expr::col(Alias::new("gram"));
        let mut all = Condition::all();
        for term in terms(query) {
            let chars: Vec<char> = term.chars().collect();
            match chars.as_slice() {
                [] => {}
                [c] => {
                    let low = pair(*c, None);
                    let high = low | ((1 << SHIFT) - 1);
                    all = all.add(record_id.in_subquery(
                        self.ids_where(Condition::all().add(gram().between(low, high))),
                    ));
                }
                _ => {
                    let mut pairs: Vec<i64> =
                        chars.windows(2).map(|w| pair(w[0], Some(w[1]))).collect();
                    pairs.sort_unstable();
                    pairs.dedup();
                    let step = pairs.len().div_ceil(MAX_PAIRS).max(1);
                    for g in pairs.iter().step_by(step) {
                        all = all.add(
                            record_id
                                .in_subquery(self.ids_where(Condition::all().add(gram().eq(*g)))),
                        );
                    }
                    if chars.len() > 2 {
                        all = all.add(
                            Expr::col(key_col)
                                .like(LikeExpr::new(text::contains_pattern(&term)).escape('\\')),
                        );
                    }
                }
            }
        }
        all
    }

    /// Replaces a record's grams: removes the pairs it no longer has, adds the new ones.
    pub async fn reindex(
        &self,
        db: &impl ConnectionTrait,
        record_id: i64,
        old_key: Option<&str>,
        new_key: &str,
    ) -> Result<(), DbErr> {
        let new = grams(new_key);
        let old = old_key.map(grams).unwrap_or_default();
        let removed: Vec<i64> = old
            .iter()
            .filter(|g| new.binary_search(g).is_err())
            .copied()
            .collect();
        let added: Vec<(i64, i64)> = new
            .iter()
            .filter(|g| old.binary_search(g).is_err())
            .map(|g| (*g, record_id))
            .collect();
        for chunk in removed.chunks(500) {
            let stmt = Query::delete()
                .from_table(Alias::new(self.table))
                .cond_where(
                    Condition::all()
                        .add(Expr::col(Alias::new(self.id_col)).eq(record_id))
                        .add(Expr::col(Alias::new("gram")).is_in(chunk.to_vec())),
                )
                .to_owned();
            db.execute(&stmt).await?;
        }
        self.insert(db, &added).await
    }

    /// Inserts `(gram, record id)` rows in large statements.
    pub async fn insert(
        &self,
        db: &impl ConnectionTrait,
        rows: &[(i64, i64)],
    ) -> Result<(), DbErr> {
        for chunk in rows.chunks(5_000) {
            let mut stmt = Query::insert();
            stmt.into_table(Alias::new(self.table))
                .columns([Alias::new("gram"), Alias::new(self.id_col)]);
            for (gram, id) in chunk {
                stmt.values([(*gram).into(), (*id).into()])
                    .map_err(|e| DbErr::Custom(e.to_string()))?;
            }
            db.execute(&stmt).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_do_not_span_fields_and_each_field_marks_its_end() {
        let g = grams("戸籍\u{1f}税");
        assert_eq!(g, {
            let mut v = vec![pair('戸', Some('籍')), pair('籍', None), pair('税', None)];
            v.sort_unstable();
            v
        });
    }

    #[test]
    fn a_one_character_query_covers_the_pairs_it_starts() {
        let low = pair('税', None);
        let high = low | ((1 << SHIFT) - 1);
        for g in grams("住民税\u{1f}税務") {
            let starts_with_tax = (g >> SHIFT) == i64::from(u32::from('税'));
            assert_eq!(starts_with_tax, (low..=high).contains(&g));
        }
    }

    #[test]
    fn queries_split_on_full_width_spaces_and_fold() {
        assert_eq!(terms("こせき　ＡＢ  税"), vec!["コセキ", "ab", "税"]);
        assert!(terms("   ").is_empty());
    }
}
