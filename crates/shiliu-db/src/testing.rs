//! Per-test databases on both engines, for this crate's and other crates' tests.
//!
//! Every test that touches the database runs twice, on a fresh `SQLite` file and on a fresh
//! `PostgreSQL` database (`SHILIU_TEST_PG`, default `postgres://postgres@127.0.0.1:5432/postgres`,
//! is the server to create it on). A missing `PostgreSQL` server fails the test: it is never
//! skipped.

use std::path::PathBuf;

use diesel::Connection as _;
use diesel::connection::SimpleConnection;

use crate::{DatabaseUrl, Db, Engine};

pub struct TestDb {
    pub db: Db,
    pub url: DatabaseUrl,
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    Database { admin: String, name: String },
}

pub fn pg_admin_url() -> String {
    std::env::var("SHILIU_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

fn unique_name() -> String {
    format!("shiliu_t_{}_{}", std::process::id(), crate::ids::new_id())
}

impl TestDb {
    /// A migrated database with the reference data loaded.
    pub fn new(engine: Engine) -> Self {
        let t = Self::empty(engine);
        t.db.migrate().expect("migrations apply");
        t
    }

    /// A database with nothing in it, not even the schema.
    pub fn empty(engine: Engine) -> Self {
        match engine {
            Engine::Sqlite => {
                let path = std::env::temp_dir().join(format!("{}.db", unique_name()));
                let url = DatabaseUrl::parse(&format!("sqlite://{}", path.display())).expect("url");
                let db = Db::connect(&url, 4).expect("open sqlite");
                Self {
                    db,
                    url,
                    cleanup: Cleanup::File(path),
                }
            }
            Engine::Postgres => {
                let admin = pg_admin_url();
                let name = unique_name();
                let mut c = diesel::PgConnection::establish(&admin).unwrap_or_else(|e| {
                    panic!("PostgreSQL for tests at {admin}: {e} (start it: see README)")
                });
                c.batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                let url = DatabaseUrl::parse(&format!("{base}/{name}")).expect("url");
                let db = Db::connect(&url, 4).expect("connect postgres");
                Self {
                    db,
                    url,
                    cleanup: Cleanup::Database { admin, name },
                }
            }
        }
    }

    /// Rows in the tables a failed write could leave behind (for all-or-nothing tests).
    pub fn read_blocking_count(&self) -> i64 {
        use crate::schema::{audit_log, regions, sites, units, users};
        use diesel::prelude::*;
        let mut c = self.db.conn().expect("connection");
        let n = |r: QueryResult<i64>| r.expect("count");
        n(audit_log::table.count().get_result(&mut *c))
            + n(regions::table.count().get_result(&mut *c))
            + n(sites::table.count().get_result(&mut *c))
            + n(units::table.count().get_result(&mut *c))
            + n(users::table.count().get_result(&mut *c))
    }

    pub fn engine(&self) -> Engine {
        self.db.engine()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(p) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
                }
            }
            Cleanup::Database { admin, name } => {
                if let Ok(mut c) = diesel::PgConnection::establish(admin) {
                    let _ =
                        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
}

/// Define a test that runs once per engine: `both_engines!(name, |t: TestDb| { … });` makes
/// `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_engines {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn sqlite() {
                ($body)($crate::testing::TestDb::new($crate::Engine::Sqlite));
            }
            #[test]
            fn postgres() {
                ($body)($crate::testing::TestDb::new($crate::Engine::Postgres));
            }
        }
    };
}
