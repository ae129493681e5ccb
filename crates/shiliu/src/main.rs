//! `shiliu`: the command line of the Shiliu platform.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use shiliu::{bench, config, demo, open};
use shiliu_db::Db;
use shiliu_db::scope::Actor;
use shiliu_domain::accounts::{Username, check_password};
use shiliu_domain::roles::Role;

#[derive(Parser)]
#[command(
    name = "shiliu",
    version,
    about = "石榴 Shiliu — ethnic-affairs service and governance platform"
)]
struct Cli {
    /// Configuration file (default: ./shiliu.toml if present). Variables SHILIU_* override it.
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations, then serve the web application.
    Serve {
        /// Address to listen on (overrides `listen`).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Apply pending database migrations and load the shipped reference data.
    Migrate,
    /// Create or refresh the demo data (every Guangxi division; the official communities and
    /// villages of 南宁市 and 柳州市's urban districts, with grids; sites, units, one account
    /// per role, a grid worker per grid of 南宁市 and a year of its requests), print the
    /// logins, then serve. What exists is left alone: running it again changes nothing.
    Demo {
        #[arg(long)]
        listen: Option<String>,
        /// Create the data and exit without serving.
        #[arg(long)]
        no_serve: bool,
        /// Requests over the past year in 南宁市 (added once, to a city with fewer than 1,000);
        /// default 120,000, or with `--province` as many a grid as 北海市's.
        #[arg(long)]
        requests: Option<usize>,
        /// The province-wide demo: every city's urban districts (all of 北海市) with their
        /// communities, villages and grids (秀峰区's 213), a grid worker per grid and a year of
        /// requests in every city (北海市's 116,500, 94% done), the documents' counts of sites
        /// (北海市's 238 解忧超市, 南宁市's 362 民族之家 and stations, 桂林市's) and migrants in
        /// four cities. A few minutes; the default is the quick start.
        #[arg(long)]
        province: bool,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        action: UserCmd,
    },
    /// Print the effective configuration (secrets redacted) and check the database.
    CheckConfig,
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        action: AuditCmd,
    },
    /// Benchmark the platform core against the configured database (with demo data): a scoped
    /// list query, the sites list and home page under concurrent load, start-up and memory.
    Bench {
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// `core` (start-up, memory, sites and home page), `requests` (intake over HTTP and
        /// direct; lists, search and statistics with `--rows` requests stored) or `registry`
        /// (bulk load, look-up by ID number, register and statistics pages with `--rows`
        /// people stored) or `evaluation` (results, their page and export, and publication of
        /// schemes of 109 and 2,000 units × 100 criteria) or `lists` (the requests list over
        /// the API, every filter and order with its count, with `--rows` requests stored) or
        /// `tasks` (a work plan's board, its export, its page, a task's ledger and a unit's
        /// to-do, for plans of 60 and 1,000 monthly measures with a year of reports) or
        /// `dashboard` (the leader's board of the province, a city and a county, and its sheet,
        /// on the demo data as it stands) or `activities` (the activities' list with each
        /// filter, statistics, progress and calendar, with `--rows` activities stored) or
        /// `councils` (the councils' list, a council, a meeting, the follow-up, the statistics
        /// and the public page, with `--rows` agenda items stored).
        #[arg(long, default_value = "core")]
        suite: String,
        /// For `requests` / `registry` / `lists`: load requests / people in bulk up to this many
        /// before the reads; for `evaluation`: the largest scheme's units (109 and 2,000 when
        /// this is 2,000 or more); for `tasks`: the largest plan's measures (60 and 1,000); for
        /// `activities`: the activities loaded before the reads; for `councils`: the agenda items.
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
    },
    /// Print a new registry key (64 hexadecimal digits) for `registry_key`.
    Keygen,
    /// Import a register of people from Excel (.xlsx) or CSV, as the import page does: every
    /// problem reported by row and column; nothing written unless all rows pass (or
    /// `--valid-only`); the same file twice changes nothing.
    ImportRegistry {
        file: PathBuf,
        /// Write (without it: a dry run that only reports).
        #[arg(long)]
        commit: bool,
        /// With `--commit`: write the valid households even if other rows have problems.
        #[arg(long)]
        valid_only: bool,
    },
    /// Write an online, consistent copy of the `SQLite` database (`PostgreSQL`: use `pg_dump`).
    Backup {
        /// Destination file; must not exist.
        #[arg(long)]
        to: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create an account. The password is read from standard input (one line).
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: String,
        /// One of: `system_admin`, `commission_staff`, `township_staff`, `grid_worker`, `site_staff`,
        /// `legal_aid`, evaluator, `unit_reporter`, leader.
        #[arg(long)]
        role: String,
        /// Division code of the user's region, e.g. 450100.
        #[arg(long)]
        region: String,
        /// For grid workers: grid codes, comma-separated.
        #[arg(long, default_value = "")]
        grids: String,
    },
    /// Set a new password (read from standard input); clears a lockout, ends sessions.
    Passwd { username: String },
    /// Disable an account: ends its sessions and revokes its API tokens.
    Disable { username: String },
    /// Issue an API token for an account, with every permission of its role, and print it
    /// (once: only its hash is kept). For a partner system's set-up, or a test against the API.
    Token {
        username: String,
        /// What the token is for, as the API-tokens page lists it.
        #[arg(long)]
        name: String,
        /// Days until it expires (at most 366).
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Recompute the hash chain; exit 1 if any row was edited, removed or reordered.
    Verify,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match config::load(cli.config.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&loaded.config);
    for k in &loaded.unknown {
        tracing::warn!(key = %k, "unknown configuration key (ignored)");
    }
    match run(cli.command, &loaded) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(c: &config::Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&c.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour codes only for a person at a terminal: in a file or a log collector they are noise.
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if c.log_format == "json" {
        b.json().init();
    } else {
        b.init();
    }
}

fn read_password() -> Result<String, String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| e.to_string())?;
    Ok(s.lines().next().unwrap_or("").to_string())
}

fn run(cmd: Command, loaded: &config::Loaded) -> Result<ExitCode, String> {
    let c = &loaded.config;
    match cmd {
        Command::Serve { listen } => {
            let db = open(c)?;
            db.migrate().map_err(|e| e.to_string())?;
            serve(db, c, listen.as_deref().unwrap_or(&c.listen), None)
        }
        Command::Migrate => {
            let db = open(c)?;
            let applied = db.migrate().map_err(|e| e.to_string())?;
            println!(
                "migrations applied: {}",
                if applied.is_empty() {
                    "none pending".to_string()
                } else {
                    applied.join(", ")
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            listen,
            no_serve,
            requests,
            province,
        } => {
            let db = open(c)?;
            db.migrate().map_err(|e| e.to_string())?;
            let hash = shiliu_web::web::password::hash(demo::DEMO_PASSWORD)?;
            let started = std::time::Instant::now();
            let vault = c.vault()?;
            let scale = if province {
                demo::Scale::Province
            } else {
                demo::Scale::Full
            };
            let mut n = demo::seed(&db, &hash, scale, &vault).map_err(|e| e.to_string())?;
            let added = demo::volumes(&db, &hash, scale, requests).map_err(|e| e.to_string())?;
            n.users += added.users;
            n.requests += added.requests;
            eprintln!(
                "demo data ready in {:.1}s: {} communities, {} grids, {} sites, {} units, {} users, {} requests, {} registered people, {} needs added, {} units evaluated, {} units handed tasks, {} activities and trainings, {} councils with {} meetings",
                started.elapsed().as_secs_f64(),
                n.communities,
                n.grids,
                n.sites,
                n.units,
                n.users,
                n.requests,
                n.people,
                n.needs,
                n.evaluated_units,
                n.planned_units,
                n.activities,
                n.councils,
                n.council_meetings
            );
            if province {
                eprint!("{}", demo::city_table(&db).map_err(|e| e.to_string())?);
            }
            if no_serve {
                return Ok(ExitCode::SUCCESS);
            }
            let listen = listen.unwrap_or_else(|| c.listen.clone());
            let mut banner = String::from("\nDemo logins (password for all: ");
            banner.push_str(demo::DEMO_PASSWORD);
            banner.push_str(")\n");
            for (u, name, role, _) in demo::DEMO_USERS {
                let _ = writeln!(banner, "  {u:<10} {:<17} {name}", role.as_str());
            }
            serve(db, c, &listen, Some(banner))
        }
        Command::User { action } => user(action, c),
        Command::CheckConfig => {
            println!("{c:?}");
            if let Some(f) = &loaded.file {
                println!("# from file: {}", f.display());
            }
            for k in &loaded.unknown {
                println!("# warning: unknown key '{k}' ignored");
            }
            c.vault()?;
            println!("# registry key: usable");
            let db = open(c)?;
            let current = db.migrations_current().map_err(|e| e.to_string())?;
            println!(
                "# database: reachable ({}), migrations {}",
                db.engine().as_str(),
                if current { "current" } else { "pending" }
            );
            for w in db.setting_warnings().map_err(|e| e.to_string())? {
                println!("# warning: {w}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            action: AuditCmd::Verify,
        } => {
            let db = open(c)?;
            let mut conn = db.conn().map_err(|e| e.to_string())?;
            let r = shiliu_db::audit::verify(&mut conn).map_err(|e| e.to_string())?;
            if r.is_intact() {
                println!("audit log intact: {} rows, every chain verified", r.rows);
                Ok(ExitCode::SUCCESS)
            } else {
                println!("audit log BROKEN ({} rows read)", r.rows);
                if !r.altered.is_empty() {
                    println!("  edited rows (seq): {:?}", r.altered);
                }
                if !r.missing.is_empty() {
                    println!("  missing rows (chain, link): {:?}", r.missing);
                }
                if !r.broken_links.is_empty() {
                    println!("  broken links at (seq): {:?}", r.broken_links);
                }
                if let Some(h) = &r.head_mismatch {
                    println!("  {h}");
                }
                Ok(ExitCode::FAILURE)
            }
        }
        Command::Bench {
            seconds,
            concurrency,
            suite,
            rows,
        } => {
            // Only the lists take 0 (a tenth of a second a cell, for the smoke run).
            let (quick, concurrency) = (seconds.min(600), concurrency.clamp(1, 256));
            let seconds = quick.max(1);
            match suite.as_str() {
                "core" => bench::run(c, seconds, concurrency)?,
                "requests" => bench::requests::run(c, seconds, concurrency, rows)?,
                "registry" => bench::registry::run(c, seconds, concurrency, rows)?,
                "lists" => bench::lists::run(c, quick, concurrency, rows)?,
                "evaluation" => bench::evaluation::run(c, seconds, concurrency, rows)?,
                "tasks" => bench::tasks::run(c, seconds, concurrency, rows)?,
                "dashboard" => bench::dashboard::run(c, seconds, concurrency)?,
                "activities" => bench::activities::run(c, seconds, concurrency, rows)?,
                "councils" => bench::councils::run(c, seconds, concurrency, rows)?,
                other => {
                    return Err(format!(
                        "bench: unknown suite {other} (core, requests, registry, lists, evaluation, tasks, dashboard, activities or councils)"
                    ));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::ImportRegistry {
            file,
            commit,
            valid_only,
        } => import_registry(c, &file, commit, valid_only),
        Command::Keygen => {
            println!("{}", shiliu_db::registry::Vault::generate_key());
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { to } => {
            let db = open(c)?;
            db.backup_sqlite(&to).map_err(|e| e.to_string())?;
            println!("backup written to {}", to.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A validation error as a sentence in the operator's language (`LANG=zh_CN…` or English).
fn explain(e: &shiliu_domain::FieldError) -> String {
    let zh = std::env::var("LANG").is_ok_and(|l| l.starts_with("zh"));
    let t = shiliu_web::web::i18n::T::new(if zh {
        shiliu_web::web::i18n::Lang::ZhCn
    } else {
        shiliu_web::web::i18n::Lang::En
    });
    format!("{}: {}", t.field(&e.field), t.field_error(e))
}

fn user(action: UserCmd, c: &config::Config) -> Result<ExitCode, String> {
    let db = open(c)?;
    let actor = Actor::system("cli:user");
    let fmt = |e: shiliu_db::DbError| match e {
        shiliu_db::DbError::Invalid(f) => f.0.iter().map(explain).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    };
    match action {
        UserCmd::Add {
            username,
            display_name,
            role,
            region,
            grids,
        } => {
            let username = Username::parse(&username).map_err(|e| explain(&e))?;
            let role = Role::parse(&role).ok_or_else(|| {
                let codes: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                format!("role: unknown '{role}'; one of {}", codes.join(", "))
            })?;
            let password = read_password()?;
            check_password(&password, username.as_str()).map_err(|e| explain(&e))?;
            let hash = shiliu_web::web::password::hash(&password)?;
            let u = db
                .write_blocking(|conn| {
                    let all = shiliu_db::scope::Scope::everything();
                    let region = shiliu_db::org::get_region_by_code(conn, &all, region.trim())
                        .map_err(|_| shiliu_db::DbError::invalid("region", "err.region.unknown"))?;
                    let mut grid_ids = Vec::new();
                    for g in grids.split(',').map(str::trim).filter(|g| !g.is_empty()) {
                        grid_ids.push(shiliu_db::org::get_region_by_code(conn, &all, g)?.id);
                    }
                    shiliu_db::accounts::create_user(
                        conn,
                        &shiliu_db::scope::Can::check(&actor).unwrap(),
                        &shiliu_db::accounts::NewUser {
                            username,
                            display_name,
                            password_hash: hash,
                            role,
                            region_id: region.id,
                            unit_id: None,
                            site_id: None,
                            phone: None,
                            grid_ids,
                        },
                    )
                })
                .map_err(fmt)?;
            println!("user '{}' created ({})", u.username, u.role);
        }
        UserCmd::Passwd { username } => {
            let password = read_password()?;
            check_password(&password, &username).map_err(|e| explain(&e))?;
            let hash = shiliu_web::web::password::hash(&password)?;
            db.write_blocking(|conn| {
                let u = shiliu_db::accounts::find_by_username(conn, &username)?
                    .ok_or(shiliu_db::DbError::NotFound)?;
                shiliu_db::accounts::set_password(
                    conn,
                    &shiliu_db::scope::Can::check(&actor).unwrap(),
                    u.id,
                    &hash,
                )
            })
            .map_err(|e| format!("user '{username}': {}", fmt(e)))?;
            println!("password changed for '{username}'");
        }
        UserCmd::Disable { username } => {
            db.write_blocking(|conn| {
                let u = shiliu_db::accounts::find_by_username(conn, &username)?
                    .ok_or(shiliu_db::DbError::NotFound)?;
                shiliu_db::accounts::set_active(
                    conn,
                    &shiliu_db::scope::Can::check(&actor).unwrap(),
                    u.id,
                    false,
                )
            })
            .map_err(|e| format!("user '{username}': {}", fmt(e)))?;
            println!("user '{username}' disabled");
        }
        UserCmd::Token {
            username,
            name,
            days,
        } => {
            let secret = format!("sl_{}", shiliu_web::web::random_token(32));
            let hash = shiliu_web::web::sha256_hex(&secret);
            db.write_blocking(|conn| {
                let u = shiliu_db::accounts::find_by_username(conn, &username)?
                    .ok_or(shiliu_db::DbError::NotFound)?;
                let role = Role::parse(&u.role).ok_or(shiliu_db::DbError::NotFound)?;
                let owner = shiliu_db::accounts::acting_as(conn, &u, "cli:user-token")?;
                let expires = shiliu_db::now() + chrono::Duration::days(days.clamp(1, 366));
                shiliu_db::accounts::create_token(
                    conn,
                    &owner,
                    &name,
                    &hash,
                    role.permissions(),
                    expires,
                )
            })
            .map_err(|e| format!("user '{username}': {}", fmt(e)))?;
            println!("{secret}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn serve(
    db: Db,
    c: &config::Config,
    listen: &str,
    banner: Option<String>,
) -> Result<ExitCode, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        match db.setting_warnings() {
            Ok(ws) => ws.iter().for_each(|w| tracing::warn!("{w}")),
            Err(e) => tracing::warn!(error = %e, "cannot read the database server's settings"),
        }
        let state = shiliu_web::AppState::new(db, c.web()?);
        println!("Shiliu is running at http://{addr}/");
        if let Some(b) = banner {
            println!("{b}");
        }
        tracing::info!(%addr, "listening");
        shiliu_web::serve(listener, state, shutdown_signal())
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!("shut down cleanly");
        Ok(ExitCode::SUCCESS)
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// `shiliu import-registry`: read, check, report; then write as asked, printing progress.
fn import_registry(
    c: &config::Config,
    file: &std::path::Path,
    commit: bool,
    valid_only: bool,
) -> Result<ExitCode, String> {
    use shiliu_db::registry::import;
    use shiliu_web::registry::import::{file_hash, parse_file};
    let t = shiliu_web::web::i18n::T::new(shiliu_web::web::i18n::Lang::ZhCn);
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let db = open(c)?;
    db.migrate().map_err(|e| e.to_string())?;
    let vault = c.vault()?;
    let started = std::time::Instant::now();
    let (rows, found, mut errors) = parse_file(&bytes, t, usize::MAX)?;
    let sha = file_hash(&bytes);
    let actor = shiliu_db::scope::Actor::system("cli:import-registry");
    let (a, v) = (actor.clone(), vault.clone());
    let checked = db
        .write_blocking(move |c| import::check(c, &a, &v, found))
        .map_err(|e| e.to_string())?;
    errors.extend(checked.errors.iter().cloned());
    errors.sort_by_key(|e| e.row);
    eprintln!(
        "{rows} rows read and checked in {:.1}s: {} households ({} people) to import, {} already registered, {} problems",
        started.elapsed().as_secs_f64(),
        checked.ready.len(),
        checked.people(),
        checked.duplicates.len(),
        errors.len()
    );
    for e in errors.iter().take(200) {
        eprintln!(
            "row {}: {}: {}",
            e.row,
            t.field(&e.error.field),
            t.field_error(&e.error)
        );
    }
    if !commit || (!errors.is_empty() && !valid_only) {
        if commit {
            eprintln!("nothing imported: correct the rows above, or pass --valid-only");
        }
        return Ok(if errors.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let total = checked.people();
    let written = std::time::Instant::now();
    let done = db
        .write_blocking(move |c| {
            import::commit(c, &actor, &vault, &checked, &sha, &|n| {
                eprintln!("  {n} / {total} people");
            })
        })
        .map_err(|e| match e {
            shiliu_db::DbError::Invalid(f) => {
                f.0.first().map(|x| t.field_error(x)).unwrap_or_default()
            }
            other => other.to_string(),
        })?;
    eprintln!(
        "imported {} people in {} households in {:.1}s ({:.0} people/s); {} households skipped",
        done.people,
        done.households,
        written.elapsed().as_secs_f64(),
        f64::from(done.people) / written.elapsed().as_secs_f64(),
        done.skipped
    );
    Ok(ExitCode::SUCCESS)
}
