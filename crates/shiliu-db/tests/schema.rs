//! Both engines end at the same schema: after all migrations, the tables, columns, types and
//! nullability read back from each engine's catalogue are identical (`SQLite`'s and `PostgreSQL`'s
//! type names mapped to one vocabulary), and match `schema.rs`'s tables.

use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
use shiliu_db::testing::TestDb;
use shiliu_db::{DbConnection, Engine};

#[derive(QueryableByName, Debug)]
struct Col {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Integer)]
    not_null: i32,
}

fn canonical(t: &str) -> &'static str {
    match t.to_ascii_lowercase().as_str() {
        "integer" | "bigint" | "int" | "int8" | "int4" => "int",
        "text" | "character varying" => "text",
        "boolean" | "bool" => "bool",
        "timestamp" | "timestamp without time zone" => "timestamp",
        "date" => "date",
        "blob" | "bytea" => "binary",
        "double precision" | "double" | "real" => "float",
        other => panic!("unmapped column type {other}"),
    }
}

/// The full-text index (`request_search`) is engine-specific by design (FTS5 / tsvector) and
/// outside Diesel's schema; `tests/requests.rs` exercises it on both engines.
fn columns(conn: &mut DbConnection) -> Vec<(String, String, &'static str, bool)> {
    // engine-specific: each engine's catalogue.
    let rows: Vec<Col> = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(
            "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, \
             (p.\"notnull\" OR p.pk) AS not_null \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '__diesel%' \
             AND m.name NOT LIKE 'request_search%'",
        )
        .load(c)
        .unwrap(),
        DbConnection::Postgres(c) => diesel::sql_query(
            "SELECT table_name::text AS table_name, column_name::text AS column_name, data_type::text AS data_type, \
             (CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END)::int AS not_null \
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE '__diesel%' \
             AND table_name NOT LIKE 'request_search%'",
        )
        .load(c)
        .unwrap(),
    };
    let mut out: Vec<_> = rows
        .into_iter()
        .map(|c| {
            (
                c.table_name,
                c.column_name,
                canonical(&c.data_type),
                c.not_null != 0,
            )
        })
        .collect();
    out.sort();
    out
}

/// The tables and columns `src/schema.rs` declares, in the same vocabulary as the catalogues.
fn declared() -> Vec<(String, String, &'static str, bool)> {
    let src = include_str!("../src/schema.rs");
    let mut out = Vec::new();
    for block in src.split("diesel::table! {").skip(1) {
        let body = block.split("\n}").next().unwrap();
        let mut lines = body.lines().map(str::trim).filter(|l| !l.is_empty());
        let table = lines
            .next()
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();
        for l in lines {
            let Some((col, ty)) = l.trim_end_matches(',').split_once(" -> ") else {
                continue;
            };
            let nullable = ty.starts_with("Nullable<");
            let inner = ty.trim_start_matches("Nullable<").trim_end_matches('>');
            let kind = match inner {
                "BigInt" | "Integer" => "int",
                "Text" => "text",
                "Bool" => "bool",
                "Timestamp" => "timestamp",
                "Date" => "date",
                "Binary" => "binary",
                "Double" => "float",
                other => panic!("unmapped schema.rs type {other}"),
            };
            out.push((table.clone(), col.trim().to_string(), kind, !nullable));
        }
    }
    out.sort();
    out
}

#[test]
fn both_engines_end_at_the_same_schema() {
    let lite = TestDb::new(Engine::Sqlite);
    let pg = TestDb::new(Engine::Postgres);
    let a = columns(&mut lite.db.conn().unwrap());
    let b = columns(&mut pg.db.conn().unwrap());
    assert!(!a.is_empty());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y, "first difference between SQLite and PostgreSQL");
    }
    assert_eq!(a.len(), b.len());
    assert_eq!(
        a,
        declared(),
        "the migrations end at exactly what schema.rs declares"
    );
}

const SQLITE: diesel_migrations::EmbeddedMigrations =
    diesel_migrations::embed_migrations!("migrations/sqlite");
const POSTGRES: diesel_migrations::EmbeddedMigrations =
    diesel_migrations::embed_migrations!("migrations/postgres");

#[test]
fn migrations_revert_cleanly_and_reapply() {
    use diesel_migrations::MigrationHarness;
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let t = TestDb::new(engine);
        let mut conn = t.db.conn().unwrap();
        let before = columns(&mut conn);
        let c: &mut DbConnection = &mut conn;
        match c {
            DbConnection::Sqlite(c) => {
                c.revert_all_migrations(SQLITE).unwrap();
            }
            DbConnection::Postgres(c) => {
                c.revert_all_migrations(POSTGRES).unwrap();
            }
        }
        assert!(
            columns(&mut conn).is_empty(),
            "{engine:?}: down.sql leaves nothing behind"
        );
        drop(conn);
        t.db.migrate().unwrap();
        assert_eq!(columns(&mut t.db.conn().unwrap()), before, "{engine:?}");
    }
}
