//! Per-test databases on both engines, for this crate's and other crates' tests.
//!
//! Every test that touches the database runs twice, on a fresh `SQLite` file and on a fresh
//! `PostgreSQL` database (`SHILIU_TEST_PG`, default `postgres://postgres@127.0.0.1:5432/postgres`,
//! is the server to create it on). A missing `PostgreSQL` server fails the test: it is never
//! skipped.
//!
//! Migrating takes most of a test's time on `PostgreSQL` (a few seconds of DDL), so each test
//! process migrates one template database per engine once and every test starts from a copy
//! of it: `CREATE DATABASE … TEMPLATE` on `PostgreSQL`, a copy of the file on `SQLite`. A
//! template outlives its process (nothing runs when a test binary exits); the next process
//! that makes one drops those of processes no longer running, and their leftover test
//! databases with them.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

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

/// This process's template (database or file name).
fn template_name() -> String {
    format!("shiliu_tpl_{}", std::process::id())
}

/// Whether the process that made a test database or template named `name` (`shiliu_t_<pid>_…`,
/// `shiliu_tpl_<pid>`) has exited, so what it left behind may be removed.
fn maker_gone(name: &str) -> bool {
    let pid = name
        .strip_prefix("shiliu_tpl_")
        .or_else(|| name.strip_prefix("shiliu_t_"))
        .and_then(|rest| rest.split(['_', '.']).next())
        .and_then(|p| p.parse::<u32>().ok());
    pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists())
}

/// The admin connection to `SHILIU_TEST_PG`.
fn pg_admin() -> diesel::PgConnection {
    let admin = pg_admin_url();
    diesel::PgConnection::establish(&admin)
        .unwrap_or_else(|e| panic!("PostgreSQL for tests at {admin}: {e} (start it: see README)"))
}

/// The URL of database `name` on the tests' server. Its sessions commit without waiting for
/// the disk (`synchronous_commit = off`): a test database is thrown away, and with hundreds of
/// tests writing beside each other, waiting for every commit's flush was most of their time.
fn pg_url(name: &str) -> DatabaseUrl {
    let admin = pg_admin_url();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    DatabaseUrl::parse(&format!(
        "{base}/{name}?options=-c%20synchronous_commit%3Doff"
    ))
    .expect("url")
}

/// This process's migrated `SQLite` file, made on first use.
fn sqlite_template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = std::env::temp_dir();
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("shiliu_t") && maker_gone(&name) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let made = TestDb::empty(Engine::Sqlite);
        made.db.migrate().expect("migrations apply");
        let path = dir.join(format!("{}.db", template_name()));
        let _ = std::fs::remove_file(&path);
        // VACUUM INTO writes the whole database, WAL included, as one file.
        made.db
            .conn()
            .expect("connection")
            .batch_execute(&format!("VACUUM INTO '{}'", path.display()))
            .expect("write the template");
        path
    })
}

/// This process's migrated `PostgreSQL` template database, made on first use.
fn pg_template() -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        use diesel::prelude::*;
        diesel::table! { pg_database (datname) { datname -> Text, } }
        let mut c = pg_admin();
        let names: Vec<String> = pg_database::table
            .select(pg_database::datname)
            .filter(pg_database::datname.like("shiliu\\_t%"))
            .load(&mut c)
            .expect("list test databases");
        for name in names.into_iter().filter(|n| maker_gone(n)) {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
        let name = template_name();
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create the template database");
        // Migrated through a pool of its own, closed before any copy is made: PostgreSQL
        // copies only a database nobody is connected to.
        let db = Db::connect(&pg_url(&name), 1).expect("connect to the template");
        db.migrate().expect("migrations apply");
        drop(db);
        name
    })
}

impl TestDb {
    /// A migrated database with the reference data loaded: a copy of the process's template.
    pub fn new(engine: Engine) -> Self {
        match engine {
            Engine::Sqlite => {
                let template = sqlite_template();
                let path = std::env::temp_dir().join(format!("{}.db", unique_name()));
                std::fs::copy(template, &path).expect("copy the template");
                Self::sqlite_at(path)
            }
            Engine::Postgres => {
                let template = pg_template();
                Self::pg_created(&format!("TEMPLATE {template}"))
            }
        }
    }

    /// A database with nothing in it, not even the schema.
    pub fn empty(engine: Engine) -> Self {
        match engine {
            Engine::Sqlite => {
                Self::sqlite_at(std::env::temp_dir().join(format!("{}.db", unique_name())))
            }
            Engine::Postgres => Self::pg_created(""),
        }
    }

    /// The `SQLite` database in file `path` (made if missing).
    fn sqlite_at(path: PathBuf) -> Self {
        let url = DatabaseUrl::parse(&format!("sqlite://{}", path.display())).expect("url");
        let db = Db::connect(&url, 4).expect("open sqlite");
        Self {
            db,
            url,
            cleanup: Cleanup::File(path),
        }
    }

    /// A new `PostgreSQL` database, created with `options` (a template, or none).
    fn pg_created(options: &str) -> Self {
        let name = unique_name();
        pg_admin()
            .batch_execute(&format!("CREATE DATABASE {name} {options}"))
            .expect("create test database");
        let url = pg_url(&name);
        let db = Db::connect(&url, 4).expect("connect postgres");
        Self {
            db,
            url,
            cleanup: Cleanup::Database {
                admin: pg_admin_url(),
                name,
            },
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
