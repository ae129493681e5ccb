//! The binary itself: configuration errors are one clear line and a non-zero exit, `user add`
//! reads the password from standard input, `audit verify` catches a row edited behind the
//! application's back, and `backup` writes a usable copy — on both engines where it applies.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use shiliu_db::both_engines;
use shiliu_db::testing::TestDb;

fn shiliu(db_url: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shiliu"))
        .args(args)
        .env("SHILIU_DATABASE_URL", db_url)
        .env("SHILIU_LOG_LEVEL", "warn")
        .env("LANG", "C.UTF-8")
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn url_of(t: &TestDb) -> String {
    match t.engine() {
        shiliu_db::Engine::Sqlite => format!("sqlite://{}", t.url.target),
        shiliu_db::Engine::Postgres => t.url.target.clone(),
    }
}

#[test]
fn a_bad_database_url_is_one_clear_line() {
    for (url, expect) in [
        ("mysql://root@localhost/x", "unsupported scheme 'mysql'"),
        (
            "postgres://postgres@127.0.0.1:1/nothing",
            "cannot connect to PostgreSQL at postgres://postgres@127.0.0.1:1/nothing",
        ),
        (
            "sqlite:///proc/shiliu/nope.db",
            "cannot create folder '/proc/shiliu'",
        ),
        ("sqlite://", "sqlite:// needs a file path"),
    ] {
        let out = shiliu(url, &["migrate"], "");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url}: {err}");
        assert!(err.contains(expect), "{url}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{url}: one line: {err}");
        assert!(!err.contains("panicked"));
    }
}

#[test]
fn a_missing_configuration_file_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_shiliu"))
        .args(["--config", "/nonexistent/shiliu.toml", "migrate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

#[test]
fn a_malformed_setting_in_the_environment_is_a_usage_error_naming_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_shiliu"))
        .args(["check-config"])
        .env("SHILIU_POOL_SIZE", "lots")
        .env("SHILIU_DATABASE_URL", "sqlite:///tmp/shiliu-cli-check.db")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .to_lowercase()
            .contains("pool_size"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `user add` with these arguments, the password on standard input.
fn user_add(url: &str, username: &str, display: &str, role: &str, password: &str) -> Output {
    shiliu(
        url,
        &[
            "user",
            "add",
            "--username",
            username,
            "--display-name",
            display,
            "--role",
            role,
            "--region",
            "450100",
        ],
        password,
    )
}

/// The commission's `ops` user added through the binary (whose creation is in the audit log).
fn ops_added(url: &str) {
    let ok = user_add(url, "ops", "运维", "commission_staff", "Shiliu-Yun-2026\n");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

/// `ops` added, then its creation's row in the audit log edited behind the application's back.
fn audit_row_edited(t: &TestDb, url: &str) {
    use diesel::prelude::*;
    use shiliu_db::schema::audit_log;
    ops_added(url);
    let mut c = t.db.conn().unwrap();
    diesel::update(audit_log::table.filter(audit_log::action.eq("user.create")))
        .set(audit_log::client_addr.eq("10.9.9.9"))
        .execute(&mut c)
        .unwrap();
}

both_engines!(
    user_add_reads_the_password_from_standard_input,
    |t: TestDb| {
        let url = url_of(&t);
        let ok = user_add(&url, "ops", "运维", "commission_staff", "Shiliu-Yun-2026\n");
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
    }
);

both_engines!(
    user_token_prints_a_token_kept_only_as_its_hash_with_the_roles_permissions,
    |t: TestDb| {
        use diesel::prelude::*;
        use shiliu_db::schema::api_tokens;
        let url = url_of(&t);
        ops_added(&url);
        let out = shiliu(
            &url,
            &[
                "user",
                "token",
                "ops",
                "--name",
                "12345 热线",
                "--days",
                "7",
            ],
            "",
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(token.starts_with("sl_") && token.len() > 40, "{token}");
        let mut c = t.db.conn().unwrap();
        let (name, perms): (String, String) = api_tokens::table
            .filter(api_tokens::token_hash.eq(shiliu_web::web::sha256_hex(&token)))
            .select((api_tokens::name, api_tokens::permissions))
            .first(&mut c)
            .unwrap();
        assert_eq!(name, "12345 热线");
        assert!(perms.contains("create_requests"), "{perms}");
        let none = shiliu(&url, &["user", "token", "nobody", "--name", "x"], "");
        assert_eq!(none.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&none.stderr).contains("user 'nobody'"));
    }
);

both_engines!(user_add_refuses_a_weak_password, |t: TestDb| {
    let url = url_of(&t);
    let weak = user_add(&url, "ops2", "x", "leader", "short\n");
    assert!(!weak.status.success());
    assert!(
        String::from_utf8_lossy(&weak.stderr).contains("Password: At least 10 characters"),
        "{}",
        String::from_utf8_lossy(&weak.stderr)
    );
});

both_engines!(user_add_refuses_a_user_name_that_is_taken, |t: TestDb| {
    let url = url_of(&t);
    ops_added(&url);
    let dup = user_add(&url, "ops", "x", "leader", "Shiliu-Yun-2026\n");
    assert!(
        String::from_utf8_lossy(&dup.stderr).contains("User name: That user name is taken"),
        "{}",
        String::from_utf8_lossy(&dup.stderr)
    );
});

both_engines!(
    user_disable_disables_a_user_and_fails_on_an_unknown_one,
    |t: TestDb| {
        let url = url_of(&t);
        ops_added(&url);
        assert!(
            shiliu(&url, &["user", "disable", "ops"], "")
                .status
                .success()
        );
        assert!(
            !shiliu(&url, &["user", "disable", "nobody"], "")
                .status
                .success()
        );
    }
);

both_engines!(audit_verify_finds_an_untouched_log_intact, |t: TestDb| {
    let url = url_of(&t);
    ops_added(&url);
    let v = shiliu(&url, &["audit", "verify"], "");
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
    assert!(String::from_utf8_lossy(&v.stdout).contains("intact"));
});

both_engines!(
    audit_verify_catches_a_row_edited_behind_the_applications_back,
    |t: TestDb| {
        let url = url_of(&t);
        audit_row_edited(&t, &url);
        let v = shiliu(&url, &["audit", "verify"], "");
        let out = String::from_utf8_lossy(&v.stdout);
        assert_eq!(v.status.code(), Some(1), "{out}");
        assert!(
            out.contains("BROKEN") && out.contains("edited rows"),
            "{out}"
        );
    }
);

both_engines!(
    backup_copies_a_sqlite_database_and_sends_postgres_to_pg_dump,
    |t: TestDb| {
        let url = url_of(&t);
        // An edited row, so that the copy's own verification shows it holds the same rows.
        audit_row_edited(&t, &url);
        let dest =
            std::env::temp_dir().join(format!("shiliu-backup-{}.db", shiliu_db::ids::new_id()));
        let b = shiliu(&url, &["backup", "--to", dest.to_str().unwrap()], "");
        match t.engine() {
            shiliu_db::Engine::Sqlite => {
                assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
                let copy = shiliu(
                    &format!("sqlite://{}", dest.display()),
                    &["audit", "verify"],
                    "",
                );
                assert!(
                    String::from_utf8_lossy(&copy.stdout).contains("edited rows"),
                    "the copy holds the same rows"
                );
                let _ = std::fs::remove_file(&dest);
            }
            shiliu_db::Engine::Postgres => {
                assert!(!b.status.success());
                assert!(String::from_utf8_lossy(&b.stderr).contains("pg_dump"));
            }
        }
    }
);

#[test]
fn configuration_layers_file_env_and_secret_files() {
    let dir = std::env::temp_dir().join(format!("shiliu-cfg-{}", shiliu_db::ids::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("x.db");
    let secret = dir.join("db_url");
    std::fs::write(&secret, format!("sqlite://{}\n", db.display())).unwrap();
    let file = dir.join("shiliu.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:9999\"\npool_size = 3\ncolour = \"red\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shiliu"))
        .args(["--config", file.to_str().unwrap(), "check-config"])
        .env("SHILIU_DATABASE_URL_FILE", &secret)
        .env("SHILIU_POOL_SIZE", "5")
        .env_remove("SHILIU_DATABASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("listen = \"127.0.0.1:9999\""),
        "the file: {stdout}"
    );
    assert!(
        stdout.contains("pool_size = 5"),
        "the environment wins over the file: {stdout}"
    );
    assert!(
        stdout.contains(&format!("database_url = \"sqlite://{}\"", db.display())),
        "from the _FILE: {stdout}"
    );
    assert!(stdout.contains("unknown key 'colour'"), "{stdout}");
    assert!(stdout.contains("reachable (sqlite)"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_postgres_password_never_appears_in_the_printed_configuration() {
    let out = Command::new(env!("CARGO_BIN_EXE_shiliu"))
        .args(["check-config"])
        .env(
            "SHILIU_DATABASE_URL",
            "postgres://shiliu:s3cret@127.0.0.1:1/x",
        )
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("s3cret"), "{all}");
    assert!(all.contains("shiliu:***@127.0.0.1:1/x"), "{all}");
}

/// `check-config` on `url` with the registry key `key` (or none): whether it succeeded, and
/// all it printed.
fn check_key(url: &str, key: Option<&str>) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shiliu"));
    cmd.args(["check-config"])
        .env("SHILIU_DATABASE_URL", url)
        .env("SHILIU_LOG_LEVEL", "error");
    match key {
        Some(k) => cmd.env("SHILIU_REGISTRY_KEY", k),
        None => cmd.env_remove("SHILIU_REGISTRY_KEY"),
    };
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A fresh folder for a `SQLite` database, and the database's URL in it.
fn sqlite_in_new_folder(prefix: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", shiliu_db::ids::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("x.db").display());
    (dir, url)
}

#[test]
fn logs_written_to_a_file_or_pipe_carry_no_colour_codes() {
    let (dir, url) = sqlite_in_new_folder("shiliu-log");
    // An unknown setting is logged as a warning: one log line, on a pipe here.
    let out = Command::new(env!("CARGO_BIN_EXE_shiliu"))
        .arg("migrate")
        .env("SHILIU_DATABASE_URL", &url)
        .env("SHILIU_NOT_A_SETTING", "1")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not_a_setting"), "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sqlite_without_a_key_keeps_one_beside_the_database() {
    let (dir, url) = sqlite_in_new_folder("shiliu-key");
    // SQLite without a key: one is made beside the database, readable by its owner only, and
    // the same one is used from then on.
    let (ok, out) = check_key(&url, None);
    assert!(ok && out.contains("registry key: usable"), "{out}");
    let file = dir.join("registry.key");
    let key = std::fs::read_to_string(&file).unwrap();
    assert_eq!(key.len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(check_key(&url, None).0);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), key);
    assert!(!out.contains(&key), "the key is never printed");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_configured_registry_key_is_used_unprinted_and_a_malformed_one_is_one_line() {
    let (dir, url) = sqlite_in_new_folder("shiliu-key");
    let made = Command::new(env!("CARGO_BIN_EXE_shiliu"))
        .arg("keygen")
        .output()
        .unwrap();
    let made = String::from_utf8_lossy(&made.stdout).trim().to_string();
    assert!(
        made.len() == 64 && made.chars().all(|c| c.is_ascii_hexdigit()),
        "{made}"
    );
    let (ok, out) = check_key(&url, Some(&made));
    assert!(ok && !out.contains(&made), "{out}");
    let (ok, out) = check_key(&url, Some("abc"));
    assert!(!ok && out.contains("64 hexadecimal digits"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn postgres_needs_a_configured_registry_key() {
    // App nodes share it.
    let (ok, out) = check_key("postgres://postgres@127.0.0.1:5432/postgres", None);
    assert!(!ok && out.contains("registry_key is required"), "{out}");
}

/// A register file of two households, the second with a 民族 that does not exist (row 4).
fn register_file() -> std::path::PathBuf {
    let id = |first17: &str| {
        format!(
            "{first17}{}",
            shiliu_domain::id_number::check_char(first17.as_bytes())
        )
    };
    let file = std::env::temp_dir().join(format!("register-{}.csv", shiliu_db::ids::new_id()));
    std::fs::write(
        &file,
        format!(
            "户编号,与户主关系,姓名,身份证号码,民族,居住区域代码,居住地址\n\
             H1,户主,吴春花,{},侗族,450107002,北湖路 3 号\n\
             H1,子女,吴小宝,{},侗族,,\n\
             H2,户主,错民族,{},火星族,450107002,北湖路 4 号\n",
            id("45022619900101202"),
            id("45022620150601101"),
            id("45012219700707404"),
        ),
    )
    .unwrap();
    file
}

/// `import-registry` of `file` into `t`'s database with `args`: whether it succeeded, and
/// what it said on standard error.
fn import(t: &TestDb, file: &std::path::Path, args: &[&str]) -> (bool, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_shiliu"))
        .arg("import-registry")
        .arg(file)
        .args(args)
        .env("SHILIU_DATABASE_URL", url_of(t))
        .env("SHILIU_REGISTRY_KEY", "ab".repeat(32))
        .env("SHILIU_LOG_LEVEL", "warn")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// People in the register.
fn people_stored(t: &TestDb) -> i64 {
    t.db.write_blocking(|c| {
        shiliu_db::registry::count(
            c,
            &shiliu_db::scope::Scope::everything(),
            &shiliu_db::registry::PersonFilter::default(),
        )
    })
    .unwrap()
}

both_engines!(
    a_dry_run_reports_the_bad_row_by_number_and_column_and_fails,
    |t: TestDb| {
        let file = register_file();
        let (ok, text) = import(&t, &file, &[]);
        assert!(!ok);
        assert!(
            text.contains("1 households (2 people) to import") && text.contains("row 4: 民族"),
            "{text}"
        );
        let _ = std::fs::remove_file(&file);
    }
);

both_engines!(
    a_register_file_with_a_bad_row_imports_nothing,
    |t: TestDb| {
        let file = register_file();
        // All or nothing: nothing.
        let (ok, text) = import(&t, &file, &["--commit"]);
        assert!(!ok && text.contains("nothing imported"), "{text}");
        assert_eq!(people_stored(&t), 0);
        let _ = std::fs::remove_file(&file);
    }
);

both_engines!(
    valid_only_imports_the_valid_households_with_progress,
    |t: TestDb| {
        let file = register_file();
        let (ok, text) = import(&t, &file, &["--commit", "--valid-only"]);
        assert!(ok, "{text}");
        assert!(text.contains("imported 2 people in 1 households"), "{text}");
        let _ = std::fs::remove_file(&file);
    }
);

both_engines!(the_same_register_file_again_changes_nothing, |t: TestDb| {
    let file = register_file();
    let (ok, text) = import(&t, &file, &["--commit", "--valid-only"]);
    assert!(ok, "{text}");
    let (ok, text) = import(&t, &file, &["--commit", "--valid-only"]);
    assert!(!ok && text.contains("此文件已于"), "{text}");
    assert_eq!(people_stored(&t), 2);
    let _ = std::fs::remove_file(&file);
});
