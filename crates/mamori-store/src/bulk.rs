//! Many rows in one statement on PostgreSQL: each column travels as one array parameter, in the binary
//! protocol, and the server pairs them up with `UNNEST`.
//!
//! A multi-row `VALUES` list of 500 rows of 34 columns is 17,000 parameters, and PostgreSQL builds, checks and
//! evaluates an expression for each of them on every execution; a JSON array of the rows costs as much again
//! in lexing. An array per column is parsed by length, not by character, whatever the number of rows. SQLite
//! keeps the `VALUES` lists: it has no such cost per parameter.
//!
//! The driver binds arrays without NULL elements, so an optional column travels with a stand-in the column
//! never holds (0 for an id, -1 for a rank, an empty text for a code or date) and `NULLIF` turns it back.

use sea_orm::sea_query::Value;
use sea_orm::{
    ConnectionTrait, DbBackend, DbErr, EntityTrait, IdenStatic, Iterable, PrimaryKeyToColumn,
    QueryResult, Statement,
};

/// The columns of one `INSERT … SELECT … FROM UNNEST(…)`, added one at a time with their values.
#[derive(Default)]
pub struct Unnest {
    names: Vec<&'static str>,
    /// What the SELECT list writes for each column.
    selects: Vec<String>,
    /// What UNNEST takes for each array, and the name it gives the array's elements; a scalar (the same
    /// for every row) is not unnested.
    arrays: Vec<(String, &'static str)>,
    values: Vec<Value>,
}

impl Unnest {
    fn param(&mut self, value: Value) -> usize {
        self.values.push(value);
        self.values.len()
    }

    fn array(&mut self, name: &'static str, sql_type: &str, value: Value, select: String) {
        let n = self.param(value);
        self.arrays.push((format!("${n}::{sql_type}[]"), name));
        self.names.push(name);
        self.selects.push(select);
    }

    /// The same value in every row.
    pub fn scalar(&mut self, name: &'static str, sql_type: &str, value: Value) -> &mut Self {
        let n = self.param(value);
        self.names.push(name);
        self.selects.push(format!("${n}::{sql_type}"));
        self
    }

    pub fn int8(&mut self, name: &'static str, values: Vec<i64>) -> &mut Self {
        self.array(name, "int8", values.into(), format!("u.\"{name}\""));
        self
    }

    pub fn int4(&mut self, name: &'static str, values: Vec<i32>) -> &mut Self {
        self.array(name, "int4", values.into(), format!("u.\"{name}\""));
        self
    }

    /// Ids: never 0 in the database, so 0 stands for NULL.
    pub fn opt_id(&mut self, name: &'static str, values: Vec<Option<i64>>) -> &mut Self {
        let sent: Vec<i64> = values.into_iter().map(|v| v.unwrap_or(0)).collect();
        self.array(
            name,
            "int8",
            sent.into(),
            format!("NULLIF(u.\"{name}\", 0)"),
        );
        self
    }

    /// Ranks: never negative, so -1 stands for NULL.
    pub fn opt_rank(&mut self, name: &'static str, values: Vec<Option<i16>>) -> &mut Self {
        let sent: Vec<i16> = values.into_iter().map(|v| v.unwrap_or(-1)).collect();
        self.array(
            name,
            "int2",
            sent.into(),
            format!("NULLIF(u.\"{name}\", -1)"),
        );
        self
    }

    pub fn boolean(&mut self, name: &'static str, values: Vec<bool>) -> &mut Self {
        self.array(name, "bool", values.into(), format!("u.\"{name}\""));
        self
    }

    pub fn text(&mut self, name: &'static str, values: Vec<String>) -> &mut Self {
        self.array(name, "text", values.into(), format!("u.\"{name}\""));
        self
    }

    /// Codes and level ids: never empty, so the empty text stands for NULL.
    pub fn opt_code(&mut self, name: &'static str, values: Vec<Option<String>>) -> &mut Self {
        let sent: Vec<String> = values.into_iter().map(Option::unwrap_or_default).collect();
        self.array(
            name,
            "text",
            sent.into(),
            format!("NULLIF(u.\"{name}\", '')"),
        );
        self
    }

    pub fn opt_date(
        &mut self,
        name: &'static str,
        values: Vec<Option<chrono::NaiveDate>>,
    ) -> &mut Self {
        let sent: Vec<String> = values
            .into_iter()
            .map(|d| {
                d.map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default()
            })
            .collect();
        self.array(
            name,
            "text",
            sent.into(),
            format!("NULLIF(u.\"{name}\", '')::date"),
        );
        self
    }

    /// How these columns differ from `E`'s table: the table's columns (but its primary key) they leave out,
    /// and the names they write that the table lacks. A test per table asks for `(vec![], vec![])`, so that a
    /// column added to a table cannot be left out of its bulk insert unnoticed.
    pub fn mismatch<E: EntityTrait>(&self) -> (Vec<&'static str>, Vec<&'static str>) {
        let keys: Vec<&str> = E::PrimaryKey::iter()
            .map(|k| k.into_column().as_str())
            .collect();
        let table: Vec<&'static str> = E::Column::iter()
            .map(|c| c.as_str())
            .filter(|c| !keys.contains(c))
            .collect();
        let left_out = table
            .iter()
            .copied()
            .filter(|c| !self.names.contains(c))
            .collect();
        let unknown = self
            .names
            .iter()
            .copied()
            .filter(|n| !table.contains(n))
            .collect();
        (left_out, unknown)
    }

    /// Inserts the rows into `table` and returns the `returning` columns of each.
    pub async fn insert(
        self,
        db: &impl ConnectionTrait,
        table: &str,
        returning: &[&str],
    ) -> Result<Vec<QueryResult>, DbErr> {
        let quoted = |names: &mut dyn Iterator<Item = &str>| {
            names
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let arrays: Vec<&str> = self.arrays.iter().map(|(a, _)| a.as_str()).collect();
        let mut sql = format!(
            "INSERT INTO \"{table}\" ({}) SELECT {} FROM UNNEST({}) AS u({})",
            quoted(&mut self.names.iter().copied()),
            self.selects.join(", "),
            arrays.join(", "),
            quoted(&mut self.arrays.iter().map(|(_, name)| *name)),
        );
        if !returning.is_empty() {
            sql.push_str(" RETURNING ");
            sql.push_str(&quoted(&mut returning.iter().copied()));
        }
        // Names come from the code, never from the rows; the rows are only ever bound values.
        db.query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            self.values,
        ))
        .await
    }
}
