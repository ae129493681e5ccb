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
fn bad_configuration_is_one_clear_line() {
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
    let out = Command::new(env!("CARGO_BIN_EXE_shiliu"))
        .args(["--config", "/nonexistent/shiliu.toml", "migrate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
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

both_engines!(users_audit_verify_and_backup, |t: TestDb| {
    let url = url_of(&t);
    let ok = shiliu(
        &url,
        &[
            "user",
            "add",
            "--username",
            "ops",
            "--display-name",
            "运维",
            "--role",
            "commission_staff",
            "--region",
            "450100",
        ],
        "Shiliu-Yun-2026\n",
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let weak = shiliu(
        &url,
        &[
            "user",
            "add",
            "--username",
            "ops2",
            "--display-name",
            "x",
            "--role",
            "leader",
            "--region",
            "450100",
        ],
        "short\n",
    );
    assert!(!weak.status.success());
    assert!(
        String::from_utf8_lossy(&weak.stderr).contains("Password: At least 10 characters"),
        "{}",
        String::from_utf8_lossy(&weak.stderr)
    );
    let dup = shiliu(
        &url,
        &[
            "user",
            "add",
            "--username",
            "ops",
            "--display-name",
            "x",
            "--role",
            "leader",
            "--region",
            "450100",
        ],
        "Shiliu-Yun-2026\n",
    );
    assert!(
        String::from_utf8_lossy(&dup.stderr).contains("User name: That user name is taken"),
        "{}",
        String::from_utf8_lossy(&dup.stderr)
    );
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

    let v = shiliu(&url, &["audit", "verify"], "");
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
    assert!(String::from_utf8_lossy(&v.stdout).contains("intact"));
    {
        use diesel::prelude::*;
        use shiliu_db::schema::audit_log;
        let mut c = t.db.conn().unwrap();
        diesel::update(audit_log::table.filter(audit_log::action.eq("user.create")))
            .set(audit_log::client_addr.eq("10.9.9.9"))
            .execute(&mut c)
            .unwrap();
    }
    let v = shiliu(&url, &["audit", "verify"], "");
    let out = String::from_utf8_lossy(&v.stdout);
    assert_eq!(v.status.code(), Some(1), "{out}");
    assert!(
        out.contains("BROKEN") && out.contains("edited rows"),
        "{out}"
    );

    let dest = std::env::temp_dir().join(format!("shiliu-backup-{}.db", shiliu_db::ids::new_id()));
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
});

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
    // A PostgreSQL password never appears in the printed configuration.
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
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_registry_key_is_configured_or_kept_beside_the_sqlite_database() {
    let dir = std::env::temp_dir().join(format!("shiliu-key-{}", shiliu_db::ids::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("x.db").display());
    let check = |url: &str, key: Option<&str>| {
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
    };
    // SQLite without a key: one is made beside the database, readable by its owner only, and
    // the same one is used from then on.
    let (ok, out) = check(&url, None);
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
    assert!(check(&url, None).0);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), key);
    assert!(!out.contains(&key), "the key is never printed");

    // A configured key is used and never printed; a malformed one is one clear line.
    let made = Command::new(env!("CARGO_BIN_EXE_shiliu"))
        .arg("keygen")
        .output()
        .unwrap();
    let made = String::from_utf8_lossy(&made.stdout).trim().to_string();
    assert!(
        made.len() == 64 && made.chars().all(|c| c.is_ascii_hexdigit()),
        "{made}"
    );
    let (ok, out) = check(&url, Some(&made));
    assert!(ok && !out.contains(&made), "{out}");
    let (ok, out) = check(&url, Some("abc"));
    assert!(!ok && out.contains("64 hexadecimal digits"), "{out}");

    // PostgreSQL: a key must be configured (app nodes share it).
    let (ok, out) = check("postgres://postgres@127.0.0.1:5432/postgres", None);
    assert!(!ok && out.contains("registry_key is required"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

both_engines!(
    a_register_file_is_checked_then_imported_once,
    |t: TestDb| {
        let url = url_of(&t);
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
        let path = file.to_string_lossy().into_owned();
        let run = |args: &[&str]| {
            Command::new(env!("CARGO_BIN_EXE_shiliu"))
                .arg("import-registry")
                .arg(&path)
                .args(args)
                .env("SHILIU_DATABASE_URL", &url)
                .env("SHILIU_REGISTRY_KEY", "ab".repeat(32))
                .env("SHILIU_LOG_LEVEL", "warn")
                .current_dir(std::env::temp_dir())
                .output()
                .unwrap()
        };
        let text = |o: &Output| String::from_utf8_lossy(&o.stderr).into_owned();
        // A dry run reports the bad row by number and column, and fails.
        let dry = run(&[]);
        assert!(!dry.status.success());
        assert!(
            text(&dry).contains("1 households (2 people) to import")
                && text(&dry).contains("row 4: 民族"),
            "{}",
            text(&dry)
        );
        // All or nothing: nothing.
        let all = run(&["--commit"]);
        assert!(
            !all.status.success() && text(&all).contains("nothing imported"),
            "{}",
            text(&all)
        );
        // The valid households, with progress; the same file again changes nothing.
        let valid = run(&["--commit", "--valid-only"]);
        assert!(valid.status.success(), "{}", text(&valid));
        assert!(
            text(&valid).contains("imported 2 people in 1 households"),
            "{}",
            text(&valid)
        );
        let again = run(&["--commit", "--valid-only"]);
        assert!(
            !again.status.success() && text(&again).contains("此文件已于"),
            "{}",
            text(&again)
        );
        let stored =
            t.db.write_blocking(|c| {
                shiliu_db::registry::count(
                    c,
                    &shiliu_db::scope::Scope::everything(),
                    &shiliu_db::registry::PersonFilter::default(),
                )
            })
            .unwrap();
        assert_eq!(stored, 2);
        let _ = std::fs::remove_file(&file);
    }
);
