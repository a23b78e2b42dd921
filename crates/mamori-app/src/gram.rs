//! Free-text search on our own character-gram index, identical on SQLite and PostgreSQL.
//!
//! Japanese has no spaces to split words on, and staff search with one or two characters (税, 戸籍). So every
//! adjacent pair of characters of a record's search key is indexed as one integer, `(first << 21) | second`,
//! and the last character of each field as `(last << 21) | 0`. Then
//! - a one-character query is a range of integers (every pair that starts with it, and the end marker);
//! - a two-character query is one integer;
//! - a longer query needs all its pairs, and the stored key is checked for the exact run of characters.
//!
//! The index is held in memory ([`Postings`], built from the stored keys), so it behaves the same whatever the
//! database, and no collation or database-specific text search is involved. The key is computed by
//! [`crate::text::search_key`], so the query is folded the same way as the record.

use std::collections::BTreeMap;

use crate::text;

/// Separates the fields of a search key, so that no pair spans two fields.
pub const FIELD_SEPARATOR: char = '\u{1f}';

/// Most terms a query is split into; more are ignored.
pub const MAX_TERMS: usize = 5;
/// Longest term considered, in characters.
pub const MAX_TERM_CHARS: usize = 50;
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

/// A set of record positions `0..len`, one bit each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionSet {
    words: Vec<u64>,
}

impl PositionSet {
    pub fn empty(len: usize) -> Self {
        PositionSet {
            words: vec![0; len.div_ceil(64)],
        }
    }

    fn of(len: usize, positions: &[u32]) -> Self {
        let mut set = PositionSet::empty(len);
        for p in positions {
            set.insert(*p);
        }
        set
    }

    fn insert(&mut self, position: u32) {
        if let Some(w) = self.words.get_mut(position as usize / 64) {
            *w |= 1 << (position % 64);
        }
    }

    pub fn contains(&self, position: u32) -> bool {
        self.words
            .get(position as usize / 64)
            .is_some_and(|w| w & (1 << (position % 64)) != 0)
    }

    fn intersect(&mut self, other: &PositionSet) {
        for (w, o) in self.words.iter_mut().zip(&other.words) {
            *w &= o;
        }
    }
}

/// The index of a set of search keys, held in memory: for every gram, the positions of the keys that hold it.
#[derive(Debug, Default)]
pub struct Postings {
    len: usize,
    lists: BTreeMap<i64, Vec<u32>>,
}

impl Postings {
    /// Indexes `keys`; a key's position is its place in the iteration.
    pub fn build<'a>(keys: impl IntoIterator<Item = &'a str>) -> Self {
        let mut lists: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
        let mut len = 0;
        for (position, key) in keys.into_iter().enumerate() {
            let position = u32::try_from(position).unwrap_or(u32::MAX);
            for g in grams(key) {
                lists.entry(g).or_default().push(position);
            }
            len += 1;
        }
        for list in lists.values_mut() {
            list.shrink_to_fit();
        }
        Postings { len, lists }
    }

    /// How many grams are indexed, counted once per key that holds them.
    pub fn entries(&self) -> usize {
        self.lists.values().map(Vec::len).sum()
    }

    /// The keys that match every term of `query` (`None` when the query has no terms), with `key` giving the
    /// key at a position, for terms longer than a pair.
    pub fn matching<'k>(&self, query: &str, key: impl Fn(u32) -> &'k str) -> Option<PositionSet> {
        let mut all: Option<PositionSet> = None;
        for term in terms(query) {
            let found = self.term(&term, &key);
            match all.as_mut() {
                Some(set) => set.intersect(&found),
                None => all = Some(found),
            }
        }
        all
    }

    fn term<'k>(&self, term: &str, key: &impl Fn(u32) -> &'k str) -> PositionSet {
        let chars: Vec<char> = term.chars().collect();
        let mut set = PositionSet::empty(self.len);
        if let [c] = chars.as_slice() {
            let low = pair(*c, None);
            let high = low | ((1 << SHIFT) - 1);
            for list in self.lists.range(low..=high).map(|(_, l)| l) {
                for p in list {
                    set.insert(*p);
                }
            }
            return set;
        }
        let mut pairs: Vec<i64> = chars.windows(2).map(|w| pair(w[0], Some(w[1]))).collect();
        pairs.sort_unstable();
        pairs.dedup();
        let mut lists = Vec::with_capacity(pairs.len());
        for g in &pairs {
            match self.lists.get(g) {
                Some(list) => lists.push(list),
                None => return set,
            }
        }
        lists.sort_by_key(|l| l.len());
        let Some((first, rest)) = lists.split_first() else {
            return set;
        };
        let others: Vec<PositionSet> = rest.iter().map(|l| PositionSet::of(self.len, l)).collect();
        for p in first.iter().copied() {
            // Every pair present does not make the run: 戸籍 and 籍謄 are in 戸籍…籍謄 without 戸籍謄.
            if others.iter().all(|o| o.contains(p)) && (chars.len() == 2 || key(p).contains(term)) {
                set.insert(p);
            }
        }
        set
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

    fn found(keys: &[&str], query: &str) -> Vec<u32> {
        let postings = Postings::build(keys.iter().copied());
        let set = postings
            .matching(query, |p| keys[p as usize])
            .unwrap_or_else(|| PositionSet::empty(keys.len()));
        (0..keys.len() as u32)
            .filter(|p| set.contains(*p))
            .collect()
    }

    #[test]
    fn one_two_and_longer_terms_find_the_keys_that_hold_them() {
        let keys = [
            "戸籍謄本",
            "個人住民税\u{1f}税務課",
            "戸籍\u{1f}籍謄",
            "固定資産税",
        ];
        assert_eq!(found(&keys, "税"), vec![1, 3]);
        assert_eq!(found(&keys, "戸籍"), vec![0, 2]);
        // Every pair of 戸籍謄 is in the third key, but not the run.
        assert_eq!(found(&keys, "戸籍謄"), vec![0]);
        assert_eq!(found(&keys, "税　住民"), vec![1]);
        assert_eq!(found(&keys, "籍税"), Vec::<u32>::new());
    }

    #[test]
    fn a_query_without_terms_filters_nothing() {
        assert!(Postings::build(["戸籍"]).matching("  ", |_| "").is_none());
    }

    #[test]
    fn queries_split_on_full_width_spaces_and_fold() {
        assert_eq!(terms("こせき　ＡＢ  税"), vec!["コセキ", "ab", "税"]);
        assert!(terms("   ").is_empty());
    }
}
