//! What an existing database holds, for adoption: its tables and columns, opsdeck's migrations
//! if it has them, and a bounded sample of the status words in the data. Reads only: the
//! catalog, and at most 100,000 rows of each status column.

use std::collections::BTreeMap;

use super::Store;
use crate::api::db::Db;
use crate::domain::adopt::{Catalog, Column, WORD_COLUMNS};

/// Rows of a status column read for its words (a sample: the plan says "found", not "all").
const WORD_SAMPLE: i64 = 100_000;

impl Store {
    /// Describes the schema opsdeck connects to (Postgres: `current_schema()`; SQLite: the
    /// file). Changes nothing.
    pub async fn inspect(&self) -> Result<Catalog, sqlx::Error> {
        let sql = match self.db {
            Db::Pg(..) => {
                "SELECT table_name AS t, column_name AS c, data_type AS ty, \
                   (is_nullable = 'YES') AS nullable \
                 FROM information_schema.columns WHERE table_schema = current_schema() \
                 ORDER BY table_name, ordinal_position"
            }
            Db::Sqlite(_) => {
                "SELECT m.name AS t, p.name AS c, lower(p.type) AS ty, (p.\"notnull\" = 0) AS nullable \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid"
            }
        };
        let mut tables: BTreeMap<String, Vec<Column>> = BTreeMap::new();
        for r in self.db.fetch_all(sql, &[]).await? {
            tables.entry(r.s("t")).or_default().push(Column {
                name: r.s("c"),
                data_type: r.s("ty"),
                nullable: r.bool("nullable").unwrap_or(true),
            });
        }
        let migrations = if tables.contains_key("_sqlx_migrations") {
            let rows = self
                .db
                .fetch_all(
                    "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
                    &[],
                )
                .await?;
            Some(rows.iter().map(|r| r.n("version")).collect())
        } else {
            None
        };
        let mut c = Catalog {
            tables,
            migrations,
            words: BTreeMap::new(),
        };
        for (table, column) in WORD_COLUMNS {
            if c.column(table, column).is_none() {
                continue;
            }
            let rows = self
                .db
                .fetch_all(
                    &format!(
                        "SELECT w, count(*) AS n FROM (SELECT CAST({column} AS TEXT) AS w \
                         FROM {table} LIMIT {WORD_SAMPLE}) s GROUP BY w ORDER BY count(*) DESC, w \
                         LIMIT 50"
                    ),
                    &[],
                )
                .await?;
            let found = rows
                .iter()
                .map(|r| (r.text("w").unwrap_or_else(|| "(null)".into()), r.n("n")))
                .collect();
            c.words.insert(format!("{table}.{column}"), found);
        }
        Ok(c)
    }
}
