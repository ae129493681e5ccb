//! End-to-end in a real headless Chromium (Debian `chromium` and `chromium-driver`), against the
//! real server on a loopback port, on both engines: every demo role signs in on a phone-sized
//! window and sees its home page in Chinese; a commission user creates a site through the form;
//! the language switch works; sign-out ends the session. The requests loop on every channel,
//! a migrant's registration and service, and a unit's evaluation from its self-assessment to
//! published results follow. Last, axe-core checks every kind of page for accessibility.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use shiliu::demo::{self, DEMO_PASSWORD, DEMO_USERS, Scale};
use shiliu_db::both_engines;
use shiliu_db::testing::TestDb;
use shiliu_domain::accounts::Username;
use shiliu_domain::roles::Role;

/// chromedriver and the profile of the Chromium it started. A test that fails never closes
/// its session, and killing chromedriver leaves that Chromium running: it is found by its
/// profile directory and stopped too.
struct Driver(Child, std::path::PathBuf);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = Command::new("pkill")
            .args(["-f", "--"])
            .arg(&self.1)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn browser() -> (Client, Driver) {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian package chromium-driver; scripts/test.sh installs it)");
    let profile =
        std::env::temp_dir().join(format!("shiliu-chromium-{}", shiliu_db::ids::new_id()));
    let driver = Driver(child, profile.clone());
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--lang=en-US",
                     format!("--user-data-dir={}", profile.display())],
            // A cheap phone: 360 CSS px wide.
            "mobileEmulation": {"deviceMetrics": {"width": 360, "height": 740, "pixelRatio": 2.0}}
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => return (c, driver),
            Err(e) if Instant::now() > deadline => {
                panic!("cannot start Chromium through chromedriver: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Save what the page looks like, for people reviewing a change (target/tmp/*.png).
async fn snapshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.png")),
        png,
    )
    .unwrap();
}

/// Save the whole page as laid out, not only what the screen shows (the driver's screenshot of
/// the emulated phone is its viewport): for people reviewing a change (target/tmp/*.png).
async fn snapshot_whole(c: &Client, name: &str) {
    let size = c
        .execute(
            "const e = document.documentElement; return [e.scrollWidth, e.scrollHeight];",
            vec![],
        )
        .await
        .unwrap();
    let (w, h) = (size[0].as_f64().unwrap(), size[1].as_f64().unwrap());
    kept(
        c,
        Cdp(
            "Page.captureScreenshot",
            serde_json::json!({"format": "png", "captureBeyondViewport": true,
                "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": 1}}),
        ),
        &format!("{name}.png"),
    )
    .await;
}

/// The file a `DevTools` command makes (a screenshot, a PDF), kept for people reviewing a
/// change as target/tmp/`file`.
async fn kept(c: &Client, command: Cdp, file: &str) -> Vec<u8> {
    use base64::Engine as _;
    let out = c.issue_cmd(command).await.unwrap();
    let data = out
        .get("data")
        .or_else(|| out.get("value").and_then(|v| v.get("data")))
        .and_then(serde_json::Value::as_str)
        .unwrap_or_else(|| panic!("no {file} in {out}"));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap();
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(file),
        &bytes,
    )
    .unwrap();
    bytes
}

/// Wait for a navigation (a form post and its redirect) to land on `path`.
async fn wait_path(c: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = c.current_url().await.unwrap();
        if now.path() == path {
            return;
        }
        assert!(Instant::now() < deadline, "still at {now}, expected {path}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Wait until the element's text contains `needle`; returns the text.
async fn wait_text(c: &Client, css: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && let Ok(t) = e.text().await
            && t.contains(needle)
        {
            return t;
        }
        assert!(Instant::now() < deadline, "{css} never showed {needle}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn sign_in(c: &Client, base: &str, user: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    c.find(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(DEMO_PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

both_engines!(
    the_demo_is_seeded_once_and_refreshing_it_adds_nothing,
    |t: TestDb| {
        let hash = shiliu_web::web::password::hash(DEMO_PASSWORD).unwrap();
        let first = demo::seed(
            &t.db,
            &hash,
            Scale::Small,
            &shiliu_db::registry::Vault::random(),
        )
        .unwrap();
        assert!(first.requests > 0 && first.grids > 0);
        assert!(first.councils > 0 && first.council_meetings > 0);
        // Refreshing the demo adds nothing.
        let again = demo::seed(
            &t.db,
            &hash,
            Scale::Small,
            &shiliu_db::registry::Vault::random(),
        )
        .unwrap();
        assert_eq!(
            (
                again.communities,
                again.grids,
                again.sites,
                again.units,
                again.users,
                again.requests,
                again.councils
            ),
            (0, 0, 0, 0, 0, 0, 0)
        );
    }
);

both_engines!(
    every_demo_role_signs_in_works_in_chinese_and_signs_out,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            for (username, display, _role, _) in DEMO_USERS {
                sign_in(&c, &base, username).await;
                wait_path(&c, landing(username)).await;
                if landing(username) != "/" {
                    assert!(text(&c, "h1").await.contains("领导驾驶舱"), "{username}");
                    c.goto(&format!("{base}/")).await.unwrap();
                    wait_path(&c, "/dashboard").await;
                    sign_out(&c).await;
                    continue;
                }
                let h1 = text(&c, "h1").await;
                assert!(
                    h1.contains(display) && h1.contains("您好"),
                    "{username}: {h1}"
                );
                assert!(
                    text(&c, "main").await.contains("范围内概况"),
                    "{username}: Chinese by default"
                );
                let lang: String = c
                    .execute("return document.documentElement.lang", vec![])
                    .await
                    .unwrap()
                    .as_str()
                    .unwrap_or("")
                    .into();
                assert_eq!(lang, "zh-CN");
                c.goto(&format!("{base}/regions")).await.unwrap();
                assert!(!text(&c, "h1").await.is_empty());
                c.goto(&format!("{base}/sites")).await.unwrap();
                assert!(text(&c, "h1").await.contains("服务站点"));
                // Sign out through the header's form; the session is over.
                sign_out(&c).await;
                c.goto(&format!("{base}/sites")).await.unwrap();
                wait_path(&c, "/login").await;
            }
            c
        });
    }
);

both_engines!(the_home_page_fits_a_phone_screen, |t: TestDb| {
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("home-{}.png", t.engine().as_str()));
    with_demo(&t, |c, base| async move {
        sign_in(&c, &base, "nanning").await;
        wait_path(&c, "/").await;
        let png = c.screenshot().await.unwrap();
        std::fs::write(&out, png).unwrap();
        // Nothing overflows a 360-px-wide phone screen.
        let width = c
            .execute("return document.documentElement.scrollWidth", vec![])
            .await
            .unwrap();
        assert!(width.as_i64().unwrap() <= 360, "page is {width} px wide");
        c
    });
});

/// The counters of the to-do on the page shown: (what, how many, link).
async fn todo_counters(c: &Client) -> Vec<(String, i64, String)> {
    let found = c
        .execute(
            "return [...document.querySelectorAll('ul.todo a')].map(a => \
             [a.dataset.todo, a.querySelector('.n').textContent.trim(), a.getAttribute('href')])",
            vec![],
        )
        .await
        .unwrap();
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            let n = x[1].as_str().unwrap().parse().unwrap();
            (
                x[0].as_str().unwrap().into(),
                n,
                x[2].as_str().unwrap().into(),
            )
        })
        .collect()
}

/// The rows a list shows from `href` on, following its pages: its table's rows, or a
/// survey's households.
async fn rows_from(c: &Client, base: &str, href: &str) -> i64 {
    c.goto(&format!("{base}{href}")).await.unwrap();
    let mut rows = 0;
    loop {
        let page = c
            .execute(
                "const m = document.querySelector('main'); \
                 const n = m.querySelectorAll('tbody tr').length \
                     || m.querySelectorAll('a[href*=\"/households/\"]').length; \
                 const next = [...m.querySelectorAll('a')].find(a => a.textContent.trim() === '下一页'); \
                 return [n, next ? next.href : ''];",
                vec![],
            )
            .await
            .unwrap();
        rows += page[0].as_i64().unwrap();
        match page[1].as_str().unwrap() {
            "" => return rows,
            next => c.goto(next).await.unwrap(),
        }
    }
}

both_engines!(
    every_roles_home_on_a_phone_counts_exactly_what_the_lists_it_opens_show,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            let mut counted = 0;
            for (username, ..) in DEMO_USERS {
                sign_in(&c, &base, username).await;
                wait_path(&c, landing(username)).await;
                let width = c
                    .execute("return document.documentElement.scrollWidth", vec![])
                    .await
                    .unwrap();
                assert!(
                    width.as_i64().unwrap() <= 360,
                    "{username}: {width} px wide"
                );
                for (what, n, href) in todo_counters(&c).await {
                    assert_eq!(
                        rows_from(&c, &base, &href).await,
                        n,
                        "{username}: {what} counts {n}, {href} shows otherwise"
                    );
                    counted += n;
                }
                sign_out(&c).await;
            }
            // Every counter at zero would prove little.
            assert!(counted > 0, "nothing counted on any home");
            c
        });
    }
);

/// A commission user sends the new-site form with a region, a malformed phone and no name
/// (the browser's own check on the name taken off): the errors of the page that comes back.
async fn site_form_with_bad_input(c: &Client, base: &str) -> String {
    sign_in(c, base, "nanning").await;
    wait_path(c, "/").await;
    c.goto(&format!("{base}/sites/new")).await.unwrap();
    pick_levels(c, "region_code", &["450100", "450107"]).await;
    c.find(Locator::Css("input[name=contact_phone]"))
        .await
        .unwrap()
        .send_keys("abc")
        .await
        .unwrap();
    c.execute(
        "document.querySelector('input[name=name]').removeAttribute('required')",
        vec![],
    )
    .await
    .unwrap();
    click(c, "main form > button").await;
    wait_text(c, "div.error", "名称").await
}

both_engines!(the_site_form_names_each_field_in_error, |t: TestDb| {
    with_demo(&t, |c, base| async move {
        let errors = site_form_with_bad_input(&c, &base).await;
        snapshot(&c, "site-form-errors").await;
        assert!(
            errors.contains("名称：必填") && errors.contains("联系电话：电话号码格式不正确"),
            "{errors}"
        );
        c
    });
});

both_engines!(
    a_commission_user_creates_a_site_once_the_field_errors_are_put_right,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            site_form_with_bad_input(&c, &base).await;
            c.find(Locator::Css("input[name=name]"))
                .await
                .unwrap()
                .send_keys("万秀村民族之家")
                .await
                .unwrap();
            let phone = c
                .find(Locator::Css("input[name=contact_phone]"))
                .await
                .unwrap();
            phone.clear().await.unwrap();
            phone.send_keys("0771-3211234").await.unwrap();
            click(&c, "main form > button").await;
            wait_path(&c, "/sites").await;
            wait_text(&c, ".flash", "已保存").await;
            assert!(text(&c, "table").await.contains("万秀村民族之家"));
            snapshot(&c, "sites").await;
            c
        });
    }
);

both_engines!(
    the_language_switch_turns_a_page_to_english_and_back,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            sign_in(&c, &base, "nanning").await;
            wait_path(&c, "/").await;
            // From the sites list: the link comes back to it.
            c.goto(&format!("{base}/sites")).await.unwrap();
            click(&c, "a.lang").await;
            wait_text(&c, "h1", "Service sites").await;
            click(&c, "a.lang").await;
            wait_text(&c, "h1", "服务站点").await;
            c
        });
    }
);

both_engines!(
    a_commission_user_reads_its_regions_requests_and_their_statistics,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            sign_in(&c, &base, "nanning").await;
            wait_path(&c, "/").await;
            c.goto(&format!("{base}/regions")).await.unwrap();
            wait_text(&c, "h1", "南宁市").await;
            snapshot(&c, "regions").await;
            c.goto(&format!("{base}/requests")).await.unwrap();
            wait_text(&c, "h1", "诉求办理").await;
            snapshot(&c, "requests").await;
            click(&c, "table tbody a").await;
            wait_text(&c, "main", "办理记录").await;
            snapshot(&c, "request").await;
            c.goto(&format!("{base}/requests/stats?by=channel"))
                .await
                .unwrap();
            wait_text(&c, "main", "办结率").await;
            snapshot(&c, "stats").await;
            c
        });
    }
);

/// The small demo seeded into `t` and served on a loopback port: `f` drives a phone-sized
/// browser against it (given the server's base URL) and hands the browser back to be closed.
fn with_demo<F, Fut>(t: &TestDb, f: F)
where
    F: FnOnce(Client, String) -> Fut,
    Fut: std::future::Future<Output = Client>,
{
    let hash = shiliu_web::web::password::hash(DEMO_PASSWORD).unwrap();
    demo::seed(
        &t.db,
        &hash,
        Scale::Small,
        &shiliu_db::registry::Vault::random(),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = shiliu_web::AppState::new(t.db.clone(), shiliu_web::WebConfig::default());
        let server = tokio::spawn(shiliu_web::serve(listener, state, async {
            let _ = stopped.await;
        }));
        let (c, _driver) = browser().await;
        let c = f(c, base).await;
        c.close().await.unwrap();
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    });
}

/// Take one step on the request page: fill the step's form and press its button.
async fn step(c: &Client, action: &str, fields: &[(&str, &str)]) {
    let form = c
        .find(Locator::Css(&format!(
            "form:has(input[name=action][value={action}])"
        )))
        .await
        .unwrap_or_else(|e| panic!("no {action} form: {e}"));
    for (name, value) in fields {
        let field = form
            .find(Locator::Css(&format!("[name={name}]")))
            .await
            .unwrap();
        if field.tag_name().await.unwrap() == "select" {
            field.select_by_value(value).await.unwrap();
        } else {
            field.send_keys(value).await.unwrap();
        }
    }
    // A step that cannot be taken back asks for its box to be ticked first, as a person would.
    if let Ok(tick) = form.find(Locator::Css("input[name=confirm]")).await {
        tick.click().await.unwrap();
    }
    let button = form.find(Locator::Css("button")).await.unwrap();
    submit(c, button).await;
    // The page says what the step did ("已派单至…", "已接单"…).
    wait_text(c, ".flash", "已").await;
}

/// Press a form's button and wait until the next page has replaced this one (so a check that
/// follows cannot pass on the page being left).
async fn submit(c: &Client, button: fantoccini::elements::Element) {
    c.execute("window.__leaving = true", vec![]).await.unwrap();
    button.click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let arrived = c
            .execute(
                "return window.__leaving !== true && document.readyState === 'complete'",
                vec![],
            )
            .await;
        if matches!(arrived, Ok(serde_json::Value::Bool(true))) {
            return;
        }
        assert!(Instant::now() < deadline, "the form's next page never came");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn open_request(c: &Client, base: &str, code: &str) {
    c.goto(&format!("{base}/requests")).await.unwrap();
    c.find(Locator::LinkText(code))
        .await
        .unwrap_or_else(|e| panic!("{code} in the list: {e}"))
        .click()
        .await
        .unwrap();
    wait_text(c, "main", "办理记录").await;
}

async fn sign_out(c: &Client) {
    c.find(Locator::Css("header form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_path(c, "/login").await;
}

/// A resident on a phone, no account: pick the place, describe the need, send. The code the
/// page gives back.
async fn resident_sends_a_request(c: &Client, base: &str) -> String {
    resident_at_the_form(c, base).await;
    c.find(Locator::Css("textarea[name=description]"))
        .await
        .unwrap()
        .send_keys("孩子转学需要准备哪些材料？")
        .await
        .unwrap();
    to_last_step(c).await;
    c.find(Locator::Css("input[name=contact_phone]"))
        .await
        .unwrap()
        .send_keys("13912340000")
        .await
        .unwrap();
    click(c, "input[name=consent]").await;
    snapshot(c, "resident-form").await;
    click(c, "main form button[type=submit]").await;
    wait_text(c, "p.code", "").await.trim().to_string()
}

/// A form in steps (app.js shows one fieldset at a time): "Next" until the last step.
async fn to_last_step(c: &Client) {
    for _ in 0..10 {
        let Ok(next) = c.find(Locator::Css("p.stepper button.next")).await else {
            return;
        };
        if !next.is_displayed().await.unwrap() {
            return;
        }
        next.click().await.unwrap();
    }
    panic!("a step's fields are not filled in as asked: the form never reached its last step");
}

/// `user` signs in, opens the new-request form and describes the request; all but the grid
/// worker (whose grid is the place) give the place.
async fn new_request_form(c: &Client, base: &str, user: &str, what: &str) {
    sign_in(c, base, user).await;
    wait_path(c, "/").await;
    c.goto(&format!("{base}/requests/new")).await.unwrap();
    if user != "grid" {
        // 南宁市, then 西乡塘区, then 北湖街道: each pick opens the next level.
        pick_levels(c, "region_code", &["450100", "450107", "450107002"]).await;
    }
    c.find(Locator::Css("textarea[name=description]"))
        .await
        .unwrap()
        .send_keys(what)
        .await
        .unwrap();
}

/// Pick a place level by level in a picker, from the highest of `values` the caller's scope
/// offers: each pick fetches the next level, so each choice is waited for before it is made.
async fn pick_levels(c: &Client, name: &str, values: &[&str]) {
    let select = format!("select[name='{name}']");
    let option = |v: &str| format!("{select} option[value='{v}']");
    let mut first = 0;
    while c.find(Locator::Css(&option(values[first]))).await.is_err() {
        first += 1;
        assert!(first < values.len(), "none of {values:?} offered in {name}");
    }
    for v in &values[first..] {
        let deadline = Instant::now() + Duration::from_secs(10);
        while c.find(Locator::Css(&option(v))).await.is_err() {
            assert!(Instant::now() < deadline, "{v} never offered in {name}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        c.find(Locator::Css(&select))
            .await
            .unwrap()
            .select_by_value(v)
            .await
            .unwrap();
    }
}

/// Save the new-request form: the saved request's page and its code.
async fn save_new_request(c: &Client) -> (String, String) {
    to_last_step(c).await;
    let button = c
        .find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap();
    submit(c, button).await;
    wait_text(c, ".flash", "已保存").await;
    let main = text(c, "main").await;
    let code = text(c, "h1")
        .await
        .rsplit('·')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    (main, code)
}

/// The grid worker takes a request in with a photo of the place: its page and code.
async fn grid_worker_takes_one_in(c: &Client, base: &str) -> (String, String) {
    let photo = std::env::temp_dir().join(format!("现场照片-{}", shiliu_db::ids::new_id()));
    std::fs::create_dir_all(&photo).unwrap();
    let photo = photo.join("现场照片.png");
    std::fs::write(&photo, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR photo").unwrap();
    new_request_form(c, base, "grid", "出租屋漏水，房东不修").await;
    // The grid worker's photo of the place goes with the request.
    c.find(Locator::Css("input[type=file][name=photos]"))
        .await
        .unwrap()
        .send_keys(&photo.to_string_lossy())
        .await
        .unwrap();
    save_new_request(c).await
}

/// The commission's hotline takes a call about school places, choosing the category and
/// answering its questions: how many question sets showed, the request's page and its code.
async fn hotline_takes_one_in(c: &Client, base: &str) -> (i64, String, String) {
    new_request_form(c, base, "nanning", "来电咨询居住证办理").await;
    // The chosen category's extra questions appear (app.js); the others hide.
    c.find(Locator::Css("select[name=category_id]"))
        .await
        .unwrap()
        .select_by_label("子女入学入园")
        .await
        .unwrap();
    let shown: i64 = c
        .execute(
            "return [...document.querySelectorAll('fieldset.questions')].filter(f => !f.hidden).length",
            vec![],
        )
        .await
        .unwrap()
        .as_i64()
        .unwrap();
    let set = c
        .find(Locator::Css("fieldset.questions:not([hidden])"))
        .await
        .unwrap();
    set.find(Locator::Css("input[name$='.child_age']"))
        .await
        .unwrap()
        .send_keys("9")
        .await
        .unwrap();
    set.find(Locator::Css("select[name$='.school_stage']"))
        .await
        .unwrap()
        .select_by_value("primary")
        .await
        .unwrap();
    let (main, code) = save_new_request(c).await;
    (shown, main, code)
}

/// A service site takes a request in at its window: its page and code.
async fn site_takes_one_in(c: &Client, base: &str) -> (String, String) {
    new_request_form(c, base, "site", "窗口咨询创业补贴").await;
    save_new_request(c).await
}

/// The commission opens the request and dispatches it by one tap on the suggested site: the
/// site the button named.
async fn dispatched_by_the_suggestion(c: &Client, base: &str, code: &str) -> String {
    sign_in(c, base, "nanning").await;
    wait_path(c, "/").await;
    open_request(c, base, code).await;
    let button = c
        .find(Locator::Css("form.suggestion button"))
        .await
        .unwrap();
    let label = button.text().await.unwrap();
    let site = label
        .trim()
        .trim_start_matches("派至 ")
        .trim_end_matches("（建议）")
        .to_string();
    submit(c, button).await;
    // The page says what the step did, naming the site.
    wait_text(c, ".flash", &format!("已派单至{site}")).await;
    site
}

/// The commission dispatches the request; the site accepts it, starts and resolves it with
/// `reply`. Everyone signed out after.
async fn dispatched_and_resolved(c: &Client, base: &str, code: &str, reply: &str) {
    dispatched_by_the_suggestion(c, base, code).await;
    sign_out(c).await;
    sign_in(c, base, "site").await;
    wait_path(c, "/").await;
    open_request(c, base, code).await;
    step(c, "accept", &[]).await;
    step(c, "start", &[]).await;
    step(c, "resolve", &[("outcome", "solved"), ("reply", reply)]).await;
    sign_out(c).await;
}

both_engines!(
    a_resident_without_an_account_sends_a_request_and_gets_its_code,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            let code = resident_sends_a_request(&c, &base).await;
            assert_eq!(code.len(), 10);
            snapshot(&c, "resident-code").await;
            c
        });
    }
);

both_engines!(
    a_grid_worker_takes_a_request_in_with_a_photo_of_the_place,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            let (main, code) = grid_worker_takes_one_in(&c, &base).await;
            assert!(
                main.contains("现场照片.png") && main.contains("照片"),
                "{main}"
            );
            assert!(main.contains("默认规则"), "routed with a reason: {main}");
            assert_eq!(code.len(), 10, "{main}");
            c
        });
    }
);

/// A chromedriver command through its door to the `DevTools` protocol (fantoccini has no method
/// for it): where the phone is and its permission to say so; the viewport's width.
#[derive(Debug)]
struct Cdp(&'static str, serde_json::Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({"cmd": self.0, "params": self.1});
        (http::Method::POST, Some(body.to_string()))
    }
}

/// The phone stands at 22.817,108.366 (北湖, 南宁) and lets the page read it.
async fn phone_at_beihu(c: &Client) {
    c.issue_cmd(Cdp(
        "Browser.grantPermissions",
        serde_json::json!({"permissions": ["geolocation"]}),
    ))
    .await
    .unwrap();
    c.issue_cmd(Cdp(
        "Emulation.setGeolocationOverride",
        serde_json::json!({"latitude": 22.817, "longitude": 108.366, "accuracy": 10}),
    ))
    .await
    .unwrap();
}

/// The grid worker opens the request from their on-the-spot counter's list, and resolves it
/// there: reply, a photo, "use my location". The request's page after.
async fn grid_worker_resolves_on_the_spot(c: &Client, base: &str, href: &str) -> String {
    let photo = std::env::temp_dir().join(format!("路灯-{}", shiliu_db::ids::new_id()));
    std::fs::create_dir_all(&photo).unwrap();
    let photo = photo.join("路灯修好了.png");
    std::fs::write(&photo, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR photo").unwrap();
    c.goto(&format!("{base}{href}")).await.unwrap();
    c.find(Locator::XPath(
        "//main//tbody//tr[contains(., '楼下路灯')]//a[contains(@href, '/requests/')]",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_text(c, "main", "办理记录").await;
    let form = c.find(Locator::Css("form.on-the-spot")).await.unwrap();
    form.find(Locator::Css("textarea[name=reply]"))
        .await
        .unwrap()
        .send_keys("已联系供电所更换灯泡，当晚恢复照明")
        .await
        .unwrap();
    form.find(Locator::Css("input[type=file][name=photos]"))
        .await
        .unwrap()
        .send_keys(&photo.to_string_lossy())
        .await
        .unwrap();
    phone_at_beihu(c).await;
    form.find(Locator::Css("button[data-locate]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(c, "form.on-the-spot [role=status]", "22.817000,108.366000").await;
    // Resolving cannot be taken back: the box that says so is ticked first.
    form.find(Locator::Css("input[name=confirm]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    snapshot(c, "on-the-spot-form").await;
    let send = form.find(Locator::Css(":scope > button")).await.unwrap();
    submit(c, send).await;
    wait_text(c, ".flash", "已就地办结").await;
    text(c, "main").await
}

both_engines!(
    a_grid_worker_resolves_a_simple_request_in_their_grid_on_the_phone_with_a_photo_and_location,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            sign_in(&c, &base, "grid").await;
            wait_path(&c, "/").await;
            let (_, n, href) = todo_counters(&c)
                .await
                .into_iter()
                .find(|(what, ..)| what == "queue.on_the_spot")
                .expect("the on-the-spot counter on the grid worker's home");
            assert!(n >= 2, "the demo's two at least: {n}");
            assert_eq!(rows_from(&c, &base, &href).await, n);
            let main = grid_worker_resolves_on_the_spot(&c, &base, &href).await;
            snapshot(&c, "on-the-spot-resolved").await;
            for seen in [
                "已办结",
                "路灯修好了.png",
                "网格员 蒙小丽（就地办理）",
                "已联系供电所更换灯泡",
                "位置 22.817000,108.366000",
            ] {
                assert!(main.contains(seen), "{seen}: {main}");
            }
            // The history names her as people know her, never by her login name.
            let history = text(&c, "table.history").await;
            assert!(
                history.contains("网格员 蒙小丽") && history.contains("就地办结"),
                "{history}"
            );
            let width = c
                .execute("return document.documentElement.scrollWidth", vec![])
                .await
                .unwrap();
            assert!(width.as_i64().unwrap() <= 360, "page is {width} px wide");
            // One fewer is left to resolve on the spot.
            c.goto(&format!("{base}/")).await.unwrap();
            let left = todo_counters(&c)
                .await
                .into_iter()
                .find(|(what, ..)| what == "queue.on_the_spot")
                .map(|(_, n, _)| n);
            assert_eq!(left, Some(n - 1));
            c
        });
    }
);

both_engines!(
    the_hotline_answers_only_the_chosen_categorys_questions,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            let (shown, main, code) = hotline_takes_one_in(&c, &base).await;
            assert_eq!(shown, 1, "only the chosen category's questions");
            assert!(main.contains("子女年龄") && main.contains("小学"), "{main}");
            assert!(main.contains("默认规则"), "routed with a reason: {main}");
            assert_eq!(code.len(), 10, "{main}");
            c
        });
    }
);

both_engines!(a_site_takes_a_request_in_at_its_window, |t: TestDb| {
    with_demo(&t, |c, base| async move {
        let (main, code) = site_takes_one_in(&c, &base).await;
        assert!(main.contains("默认规则"), "routed with a reason: {main}");
        assert_eq!(code.len(), 10, "{main}");
        c
    });
});

both_engines!(
    a_dispatcher_sends_a_request_to_the_suggested_site_in_one_tap,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            let (_, code) = site_takes_one_in(&c, &base).await;
            sign_out(&c).await;
            let site = dispatched_by_the_suggestion(&c, &base, &code).await;
            let facts = text(&c, "dl.facts").await;
            assert!(!site.is_empty() && facts.contains("已派单"), "{facts}");
            assert!(facts.contains(&site), "sent to {site}: {facts}");
            c
        });
    }
);

both_engines!(
    a_request_from_each_staff_channel_is_handled_rated_and_closed,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            // Staff take one in on each of their channels.
            let mut codes = Vec::new();
            codes.push(grid_worker_takes_one_in(&c, &base).await.1);
            sign_out(&c).await;
            codes.push(hotline_takes_one_in(&c, &base).await.2);
            sign_out(&c).await;
            codes.push(site_takes_one_in(&c, &base).await.1);
            sign_out(&c).await;
            // Each is dispatched, accepted, handled, resolved, rated and closed.
            for code in &codes {
                dispatched_and_resolved(&c, &base, code, "已按政策办理，请留意回访电话").await;
                sign_in(&c, &base, "nanning").await;
                wait_path(&c, "/").await;
                open_request(&c, &base, code).await;
                step(&c, "rate", &[("rating", "fairly_satisfied")]).await;
                step(&c, "close", &[]).await;
                assert!(text(&c, "main").await.contains("已归档"), "{code} closed");
                sign_out(&c).await;
            }
            c
        });
    }
);

both_engines!(
    a_resident_reads_the_reply_and_rates_it_on_the_public_page,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            let code = resident_sends_a_request(&c, &base).await;
            dispatched_and_resolved(&c, &base, &code, "已按政策办理，请留意回访电话").await;
            c.goto(&format!("{base}/r/track")).await.unwrap();
            c.find(Locator::Css("input[name=code]"))
                .await
                .unwrap()
                .send_keys(&code)
                .await
                .unwrap();
            click(&c, "main form button").await;
            wait_text(&c, "main", "已按政策办理").await;
            click(&c, "input[name=rating][value=satisfied]").await;
            click(&c, "form[action$='/rate'] button").await;
            wait_text(&c, "main", "感谢您的评价").await;
            snapshot(&c, "resident-rated").await;
            // Rated by the resident, the request is closed by the commission.
            sign_in(&c, &base, "nanning").await;
            wait_path(&c, "/").await;
            open_request(&c, &base, &code).await;
            step(&c, "close", &[]).await;
            assert!(text(&c, "main").await.contains("已归档"), "{code} closed");
            c
        });
    }
);

/// Type into the field named `name` (inside `scope`, a CSS selector), or choose the option
/// labelled `value` when it is a list.
async fn fill(c: &Client, scope: &str, name: &str, value: &str) {
    let field = c
        .find(Locator::Css(&format!("{scope} [name='{name}']")))
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    if field.tag_name().await.unwrap() == "select" {
        field.select_by_label(value).await.unwrap();
    } else {
        field.send_keys(value).await.unwrap();
    }
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// On a phone, no account: the place down to the community (no grid asked), then 石春燕's
/// declaration with both consents. The text of the page it lands on (waiting for
/// verification).
async fn migrant_declares(c: &Client, base: &str) -> String {
    c.goto(&format!("{base}/d")).await.unwrap();
    for place in ["南宁市", "西乡塘区", "北湖街道"] {
        let link = c
            .find(Locator::LinkText(place))
            .await
            .unwrap_or_else(|e| panic!("{place}: {e}"));
        submit(c, link).await;
    }
    // The first community: the demo grid worker's grid lies in it.
    let link = c.find(Locator::Css("ul.picks a")).await.unwrap();
    submit(c, link).await;
    wait_text(c, "main", "同住家庭成员").await;
    let first17 = "45022619960315202";
    let number = format!(
        "{first17}{}",
        shiliu_domain::id_number::check_char(first17.as_bytes())
    );
    for (name, value) in [
        ("p0.name", "石春燕"),
        ("p0.id_number", number.as_str()),
        ("p0.people", "侗族"),
        ("p0.mobile", "13907720000"),
        ("p0.address", "北湖路 66 号 3 栋 201"),
    ] {
        fill(c, "main form", name, value).await;
    }
    for consent in ["registration", "linkage"] {
        let boxes = c
            .find_all(Locator::Css(&format!(
                "input[name=consents][value={consent}]"
            )))
            .await
            .unwrap();
        if !boxes[0].is_selected().await.unwrap() {
            boxes[0].click().await.unwrap();
        }
    }
    snapshot(c, "declare-form").await;
    let button = c
        .find(Locator::XPath(
            "//main//form//button[contains(., '提交申报')]",
        ))
        .await
        .unwrap();
    submit(c, button).await;
    wait_text(c, "main", "待核验").await
}

/// Her declaration, verified into the register by the grid worker (signed out after): her
/// person id.
async fn migrant_registered(c: &Client, base: &str) -> i64 {
    migrant_declares(c, base).await;
    sign_in(c, base, "grid").await;
    wait_path(c, "/").await;
    c.goto(&format!("{base}/registry/declarations"))
        .await
        .unwrap();
    c.find(Locator::LinkText("石春燕"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(c, "main", "核验通过").await;
    let confirm = c
        .find(Locator::Css("form[action$='/confirm'] > button"))
        .await
        .unwrap();
    submit(c, confirm).await;
    wait_text(c, ".flash", "已核验申报").await;
    let person_url = c.current_url().await.unwrap();
    let person_id: i64 = person_url
        .path()
        .trim_start_matches("/registry/")
        .parse()
        .unwrap();
    sign_out(c).await;
    person_id
}

/// 三江, her home county, signed in on its out-migrants list: her row.
async fn home_county_lists_out_migrants(c: &Client, base: &str) -> String {
    sign_in(c, base, "sanjiang").await;
    wait_path(c, "/").await;
    c.goto(&format!("{base}/registry/out-migrants"))
        .await
        .unwrap();
    wait_text(c, "main table tbody tr", "石**").await
}

/// The grid worker surveys her household and notes her need for a job, which becomes a
/// request (signed out after): the request's page and its code.
async fn her_need_made_a_request(c: &Client, base: &str, person_id: i64) -> (String, String) {
    sign_in(c, base, "grid").await;
    wait_path(c, "/").await;
    c.goto(&format!("{base}/registry/surveys")).await.unwrap();
    click(c, "main table a[href^='/registry/surveys/']").await;
    click(c, "a[href$='/households']").await;
    c.find(Locator::XPath("//main//a[contains(., '石春燕')]"))
        .await
        .unwrap_or_else(|e| panic!("her household to visit: {e}"))
        .click()
        .await
        .unwrap();
    wait_text(c, "main", "各成员需求").await;
    fill(
        c,
        "main form",
        &format!("answer.{}.q1", survey_id(c).await),
        "1",
    )
    .await;
    click(c, &format!("input[name='need.{person_id}'][value=job]")).await;
    fill(
        c,
        "main form",
        &format!("note.{person_id}"),
        "想找电子厂的工作",
    )
    .await;
    snapshot(c, "survey-form").await;
    let save = c.find(Locator::Css("main form > button")).await.unwrap();
    submit(c, save).await;
    wait_text(c, ".flash", "已保存").await;
    c.goto(&format!("{base}/registry/{person_id}"))
        .await
        .unwrap();
    c.find(Locator::LinkText("就业岗位"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(c, "main", "转为诉求办理").await;
    let make = c
        .find(Locator::Css("form[action$='/request'] button"))
        .await
        .unwrap();
    submit(c, make).await;
    wait_text(c, ".flash", "已保存").await;
    let main = text(c, "main").await;
    let code = text(c, "h1")
        .await
        .rsplit('·')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    sign_out(c).await;
    (main, code)
}

both_engines!(
    a_migrant_declares_herself_on_a_phone_and_her_name_is_masked,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            let status = migrant_declares(&c, &base).await;
            assert!(
                status.contains("石**") && !status.contains("石春燕"),
                "{status}"
            );
            c
        });
    }
);

both_engines!(
    her_home_county_sees_her_among_its_out_migrants_masked,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            migrant_registered(&c, &base).await;
            let row = home_county_lists_out_migrants(&c, &base).await;
            assert!(row.contains("北湖街道") && row.contains("侗族"), "{row}");
            assert!(!text(&c, "main").await.contains("石春燕"));
            snapshot(&c, "out-migrants").await;
            c
        });
    }
);

both_engines!(
    her_home_county_asks_about_her_and_the_grid_worker_reads_it,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            let person_id = migrant_registered(&c, &base).await;
            home_county_lists_out_migrants(&c, &base).await;
            click(
                &c,
                &format!("a[href='/registry/assists/new?person={person_id}']"),
            )
            .await;
            fill(&c, "main form", "subject", "核实随迁子女情况").await;
            fill(&c, "main form", "body", "请协助核实其子女在当地就读情况。").await;
            let send = c.find(Locator::Css("main form button")).await.unwrap();
            submit(&c, send).await;
            wait_text(&c, ".flash", "已向").await;
            sign_out(&c).await;
            sign_in(&c, &base, "grid").await;
            wait_path(&c, "/").await;
            c.goto(&format!("{base}/registry/assists")).await.unwrap();
            wait_text(&c, "main", "核实随迁子女情况").await;
            c
        });
    }
);

both_engines!(
    a_need_found_in_her_household_survey_becomes_a_request,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            let person_id = migrant_registered(&c, &base).await;
            let (main, _) = her_need_made_a_request(&c, &base, person_id).await;
            assert!(main.contains("想找电子厂的工作"), "{main}");
            c
        });
    }
);

both_engines!(
    the_request_from_her_need_is_handled_like_any_other_to_the_end,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            let person_id = migrant_registered(&c, &base).await;
            let (_, code) = her_need_made_a_request(&c, &base, person_id).await;
            dispatched_and_resolved(&c, &base, &code, "已推荐到园区电子厂，已上岗").await;
            sign_in(&c, &base, "nanning").await;
            wait_path(&c, "/").await;
            open_request(&c, &base, &code).await;
            step(&c, "rate", &[("rating", "satisfied")]).await;
            step(&c, "close", &[]).await;
            assert!(text(&c, "main").await.contains("已归档"));
            c
        });
    }
);

/// The survey id of the form on the page (its action is `/registry/surveys/{id}/households/…`).
async fn survey_id(c: &Client) -> i64 {
    let action = c
        .find(Locator::Css("main form[action^='/registry/surveys/']"))
        .await
        .unwrap()
        .attr("action")
        .await
        .unwrap()
        .unwrap();
    action.split('/').nth(3).unwrap().parse().unwrap()
}

/// The unit's sheet in the round the reader scores now: every criterion's score (and the
/// first one's note and file, when given), then the save button (or submit).
async fn score_sheet(c: &Client, points: &str, note: &str, file: Option<&std::path::Path>) {
    let inputs = c
        .find_all(Locator::Css("form.scoresheet input[name^='score.']"))
        .await
        .unwrap();
    assert!(inputs.len() >= 5, "a criterion input each");
    for input in &inputs {
        input.clear().await.unwrap();
        input.send_keys(points).await.unwrap();
    }
    c.find(Locator::Css("form.scoresheet textarea[name^='note.']"))
        .await
        .unwrap()
        .send_keys(note)
        .await
        .unwrap();
    if let Some(path) = file {
        c.find(Locator::Css("form.scoresheet input[type=file]"))
            .await
            .unwrap()
            .send_keys(&path.display().to_string())
            .await
            .unwrap();
    }
}

/// Press the organiser's "next stage" button on the scheme's page and wait for `stage`.
async fn advance_to(c: &Client, base: &str, id: i64, stage: &str) {
    c.goto(&format!("{base}/evaluations/{id}")).await.unwrap();
    // What moving on means is said, and confirmed by ticking the box under it.
    assert!(!text(c, "#eval-advance-means").await.is_empty());
    click(c, "form[action$='/advance'] input[name=confirm]").await;
    let button = c
        .find(Locator::Css("form[action$='/advance'] button"))
        .await
        .unwrap();
    submit(c, button).await;
    wait_text(c, "#eval-stage", stage).await;
}

/// The results page's tables as the browser shows them: per row the category, rank, unit,
/// area points, bonus, deduction, total, grade, and whether the unit is commended.
async fn results_on_page(c: &Client) -> Vec<Vec<String>> {
    let rows = c
        .execute(
            r"return Array.from(document.querySelectorAll('table.results tbody tr')).map(tr => {
                const category = tr.closest('div.scroll').previousElementSibling.textContent.trim();
                const cells = Array.from(tr.querySelectorAll('td'));
                const out = [category];
                cells.forEach((td, i) => out.push(i === 1 ? td.querySelector('a').textContent.trim() : td.textContent.trim()));
                out.push(tr.querySelector('.badge') ? 'yes' : '');
                return out;
            });",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(rows).unwrap()
}

/// The results workbook as the browser downloads it with its session: every data row.
async fn results_workbook(c: &Client, id: i64) -> Vec<Vec<String>> {
    use base64::Engine as _;
    use calamine::Reader as _;
    let b64 = c
        .execute_async(
            &format!(
                "const done = arguments[arguments.length - 1];
                 fetch('/evaluations/{id}/results.xlsx').then(r => r.arrayBuffer()).then(b => {{
                   const bytes = new Uint8Array(b); let s = '';
                   for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
                   done(btoa(s));
                 }});"
            ),
            vec![],
        )
        .await
        .unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.as_str().unwrap())
        .unwrap();
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).unwrap();
    // The last column says 是 for a unit to commend; the page marks it with a badge.
    range
        .rows()
        .skip(1)
        .map(|r| {
            let mut row: Vec<String> = r.iter().map(ToString::to_string).collect();
            if let Some(last) = row.last_mut() {
                *last = if last.is_empty() {
                    String::new()
                } else {
                    "yes".into()
                };
            }
            row
        })
        .collect()
}

/// The evaluation the journey follows: the scheme, the unit, its name, and how many units
/// take part.
struct Evaluation {
    id: i64,
    unit: i64,
    unit_name: String,
    units: usize,
}

impl Evaluation {
    fn sheet(&self, base: &str) -> String {
        format!("{base}/evaluations/{}/units/{}", self.id, self.unit)
    }
}

/// This year's scheme of the small demo (南宁市, open for self-assessment), one of its units
/// that has not started, and a reporter, an online reviewer and a field reviewer of the city's.
async fn evaluation_with_its_people(db: shiliu_db::Db) -> Evaluation {
    let hash = shiliu_web::web::password::hash(DEMO_PASSWORD).unwrap();
    db.write(move |c| {
        use shiliu_db::evaluation as ev;
        let all = shiliu_db::scope::Scope::everything();
        let city = shiliu_db::org::get_region_by_code(c, &all, "450100")?;
        let scope = shiliu_db::scope::Scope::subtrees(vec![city.path.clone()]);
        let s = ev::schemes(c, &scope)?
            .into_iter()
            .find(|s| s.stage() == shiliu_domain::evaluation::Stage::SelfAssessment)
            .unwrap();
        let mut taking_part = ev::participants(c, &s)?;
        let units = taking_part.len();
        let last = taking_part.pop().unwrap();
        for (name, display, role, unit) in [
            (
                "nn-reporter",
                "填报员 黄丽",
                Role::UnitReporter,
                Some(last.unit_id),
            ),
            ("nn-reviewer", "考评组 韦国强", Role::Evaluator, None),
            ("nn-field", "实地组 蓝海燕", Role::Evaluator, None),
        ] {
            shiliu_db::accounts::create_user(
                c,
                &shiliu_db::scope::Can::check(&shiliu_db::scope::Actor::system("test")).unwrap(),
                &shiliu_db::accounts::NewUser {
                    username: Username::parse(name).unwrap(),
                    display_name: display.into(),
                    password_hash: hash.clone(),
                    role,
                    region_id: city.id,
                    unit_id: unit,
                    site_id: None,
                    phone: None,
                    grid_ids: vec![],
                },
            )?;
        }
        Ok(Evaluation {
            id: s.id,
            unit: last.unit_id,
            unit_name: last.unit_name,
            units,
        })
    })
    .await
    .unwrap()
}

/// Sign `user` in, do `what`, sign out.
/// Where a demo user lands once signed in: their to-do, or for a leader the dashboard.
fn landing(user: &str) -> &'static str {
    let leads = DEMO_USERS
        .iter()
        .any(|(u, _, role, _)| *u == user && role.starts_on_dashboard());
    if leads { "/dashboard" } else { "/" }
}

async fn as_user<F: std::future::Future<Output = ()>>(c: &Client, base: &str, user: &str, what: F) {
    sign_in(c, base, user).await;
    wait_path(c, landing(user)).await;
    what.await;
    sign_out(c).await;
}

/// The unit's reporter finds the work on the home page, drafts with a ledger file, then
/// submits.
async fn reporter_assesses_the_unit(c: &Client, ev: &Evaluation, ledger: &std::path::Path) {
    let todo = wait_text(c, "#eval-todo", &ev.unit_name).await;
    assert!(todo.contains("自查自评还有"), "{todo}");
    let link = c.find(Locator::Css("#eval-todo a")).await.unwrap();
    submit(c, link).await;
    wait_text(c, "main", "正在填写：自查自评").await;
    score_sheet(c, "3", "已成立领导小组，见成立文件", Some(ledger)).await;
    let save = c
        .find(Locator::Css("form.scoresheet button:not([name])"))
        .await
        .unwrap();
    submit(c, save).await;
    wait_text(c, ".flash", "已保存").await;
    assert!(text(c, "main").await.contains("领导小组成立文件.pdf"));
    snapshot(c, "evaluation-self").await;
    // Submitting locks the self-assessment: the box under the button confirms it.
    click(c, "input[name=confirm_submit]").await;
    let send = c.find(Locator::Css("button[name=submit]")).await.unwrap();
    submit(c, send).await;
    let main = text(c, "main").await;
    assert!(main.contains("自评已提交"), "{main}");
}

/// The organiser forms the teams: the online one reviews every unit; the field team is given
/// this unit; then the self-assessment closes.
async fn organiser_forms_the_teams(c: &Client, base: &str, ev: &Evaluation) {
    c.goto(&format!("{base}/evaluations/{}", ev.id))
        .await
        .unwrap();
    for (round, team, member) in [
        ("first", "第一考评组", "nn-reviewer"),
        ("field", "实地考核一组", "nn-field"),
    ] {
        c.find(Locator::Css("form[action$='/teams'] select[name=round]"))
            .await
            .unwrap()
            .select_by_value(round)
            .await
            .unwrap();
        fill(c, "form[action$='/teams']", "team_name", team).await;
        let add = c
            .find(Locator::Css("form[action$='/teams'] button"))
            .await
            .unwrap();
        submit(c, add).await;
        let section = format!("//section[h3[contains(., '{team}')]]");
        c.find(Locator::XPath(&format!(
            "{section}//form[contains(@action, '/members')]//input[@name='username']"
        )))
        .await
        .unwrap()
        .send_keys(member)
        .await
        .unwrap();
        let add = c
            .find(Locator::XPath(&format!(
                "{section}//form[contains(@action, '/members')]//button"
            )))
            .await
            .unwrap();
        submit(c, add).await;
        wait_text(c, ".flash", "已保存").await;
    }
    let field_units =
        "//section[h3[contains(., '实地考核一组')]]//form[contains(@action, '/units')]";
    let tick = c
        .find(Locator::XPath(&format!(
            "{field_units}//input[@value='{}']",
            ev.unit
        )))
        .await
        .unwrap();
    if tick.prop("checked").await.unwrap().as_deref() != Some("true") {
        tick.click().await.unwrap();
    }
    let save = c
        .find(Locator::XPath(&format!("{field_units}//button")))
        .await
        .unwrap();
    submit(c, save).await;
    wait_text(c, ".flash", "已保存").await;
    let workload = text(c, "#eval-workload").await;
    assert!(
        workload.contains("考评组 韦国强") && workload.contains("实地组 蓝海燕"),
        "{workload}"
    );
    advance_to(c, base, ev.id, "第一次核验").await;
}

/// The online reviewer scores every criterion with an opinion, the unit's ledger in view.
async fn online_reviewer_scores(c: &Client, base: &str, ev: &Evaluation) {
    wait_text(c, "#eval-todo", "第一次核验还有").await;
    c.goto(&ev.sheet(base)).await.unwrap();
    wait_text(c, "main", "正在填写：第一次核验").await;
    assert!(
        text(c, "main").await.contains("领导小组成立文件.pdf"),
        "the unit's ledger"
    );
    score_sheet(c, "2.5", "成立文件齐全，但研究记录不全", None).await;
    let save = c
        .find(Locator::Css("form.scoresheet button"))
        .await
        .unwrap();
    submit(c, save).await;
    wait_text(c, ".flash", "已保存").await;
}

/// The field reviewer scores on site on the phone, with a photo; the page fits it.
async fn field_reviewer_scores_on_site(
    c: &Client,
    base: &str,
    ev: &Evaluation,
    photo: &std::path::Path,
) {
    c.goto(&ev.sheet(base)).await.unwrap();
    wait_text(c, "main", "正在填写：第二次核验").await;
    let fits = c
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(fits, serde_json::Value::Bool(true), "the sheet fits 360 px");
    score_sheet(c, "2", "现场查看：领导小组运转正常", Some(photo)).await;
    let save = c
        .find(Locator::Css("form.scoresheet button"))
        .await
        .unwrap();
    submit(c, save).await;
    wait_text(c, ".flash", "已保存").await;
    assert!(text(c, "main").await.contains("现场照片.png"));
    snapshot(c, "evaluation-field").await;
}

/// The unit sees its verified scores (the field score stands) and objects to the first
/// criterion with a reason.
async fn unit_objects(c: &Client, base: &str, ev: &Evaluation) {
    c.goto(&ev.sheet(base)).await.unwrap();
    let page = wait_text(c, "main", "核验得分").await;
    assert!(page.contains("现场查看：领导小组运转正常"), "{page}");
    let first = c
        .find(Locator::Css("form.scoresheet input[name^='score.']"))
        .await
        .unwrap();
    first.send_keys("3").await.unwrap();
    c.find(Locator::Css("form.scoresheet textarea[name^='note.']"))
        .await
        .unwrap()
        .send_keys("补充提交了领导小组会议纪要")
        .await
        .unwrap();
    let save = c
        .find(Locator::Css("form.scoresheet button"))
        .await
        .unwrap();
    submit(c, save).await;
    wait_text(c, ".flash", "已保存").await;
}

/// The commission accepts the objection, closes the feedback and publishes.
async fn commission_accepts_and_publishes(c: &Client, base: &str, ev: &Evaluation) {
    c.goto(&format!("{base}/evaluations/{}/results", ev.id))
        .await
        .unwrap();
    wait_text(c, "main", "补充提交了领导小组会议纪要").await;
    fill(
        c,
        "form[action$='/objections']",
        "reason",
        "会议纪要已补齐，予以认可",
    )
    .await;
    let decide = c
        .find(Locator::Css("form[action$='/objections'] button"))
        .await
        .unwrap();
    submit(c, decide).await;
    wait_text(c, "main", "会议纪要已补齐，予以认可").await;
    advance_to(c, base, ev.id, "结果确定").await;
    advance_to(c, base, ev.id, "已通报").await;
}

/// The published results as the commission reads them: ranked, graded, the same in the Excel
/// export.
async fn published_results_are_right(c: &Client, base: &str, ev: &Evaluation) {
    c.goto(&format!("{base}/evaluations/{}/results", ev.id))
        .await
        .unwrap();
    wait_text(c, "h1", "结果").await;
    let page = results_on_page(c).await;
    snapshot(c, "evaluation-results").await;
    // Our unit's area 1: the field scores stand (2 and 2, not the online 2.5), the first
    // criterion at the accepted 3; ranked and graded.
    let ours = page.iter().find(|r| r[2] == ev.unit_name).unwrap();
    assert_eq!(ours[3], "7", "{ours:?}");
    assert!(
        !ours[1].is_empty() && !ours[ours.len() - 2].is_empty(),
        "{ours:?}"
    );
    assert_eq!(page.len(), ev.units, "every unit ranked: {page:?}");
    // The Excel export holds the same rows as the page.
    assert_eq!(results_workbook(c, ev.id).await, page);
}

both_engines!(
    a_unit_is_evaluated_from_its_self_assessment_to_published_results,
    |t: TestDb| {
        let db = t.db.clone();
        with_demo(&t, |c, base| async move {
            let ev = evaluation_with_its_people(db).await;
            let dir =
                std::env::temp_dir().join(format!("shiliu-eval-{}", shiliu_db::ids::new_id()));
            std::fs::create_dir_all(&dir).unwrap();
            let ledger = dir.join("领导小组成立文件.pdf");
            std::fs::write(&ledger, b"%PDF-1.4 ledger of the leading group").unwrap();
            let photo = dir.join("现场照片.png");
            std::fs::write(&photo, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR on site").unwrap();
            let b = base.as_str();
            let next =
                |stage: &'static str| as_user(&c, b, "nanning", advance_to(&c, b, ev.id, stage));

            as_user(
                &c,
                b,
                "nn-reporter",
                reporter_assesses_the_unit(&c, &ev, &ledger),
            )
            .await;
            as_user(&c, b, "nanning", organiser_forms_the_teams(&c, b, &ev)).await;
            as_user(&c, b, "nn-reviewer", online_reviewer_scores(&c, b, &ev)).await;
            next("第二次核验").await;
            as_user(
                &c,
                b,
                "nn-field",
                field_reviewer_scores_on_site(&c, b, &ev, &photo),
            )
            .await;
            next("反馈复核").await;
            as_user(&c, b, "nn-reporter", unit_objects(&c, b, &ev)).await;
            as_user(&c, b, "nanning", async {
                commission_accepts_and_publishes(&c, b, &ev).await;
                published_results_are_right(&c, b, &ev).await;
            })
            .await;
            // The unit sees the published result too.
            sign_in(&c, b, "nn-reporter").await;
            wait_path(&c, "/").await;
            c.goto(&format!("{b}/evaluations/{}/results", ev.id))
                .await
                .unwrap();
            wait_text(&c, "main", &ev.unit_name).await;
            std::fs::remove_dir_all(&dir).unwrap();
            c
        });
    }
);

// ---- The phone (issue 25): tap targets, colours, words kept whole, photos kept, cards ----

/// Every tap target the header shows (`selector` inside it): its text and its size in CSS px.
async fn header_targets(c: &Client) -> Vec<(String, f64, f64)> {
    let found = c
        .execute(
            "return [...document.querySelectorAll('header.top a, header.top button, header.top summary')]
               .filter(e => e.getClientRects().length > 0)
               .map(e => { const r = e.getBoundingClientRect(); return [e.textContent.trim(), r.width, r.height]; })",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(found).unwrap()
}

both_engines!(
    every_tap_target_in_the_header_is_at_least_44_px_square,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            c.goto(&format!("{base}/login")).await.unwrap();
            let mut targets = header_targets(&c).await;
            sign_in(&c, &base, "nanning").await;
            wait_path(&c, "/").await;
            targets.extend(header_targets(&c).await);
            let names: Vec<&str> = targets.iter().map(|t| t.0.as_str()).collect();
            assert!(
                ["退出", "English", "菜单"]
                    .iter()
                    .all(|n| names.iter().any(|m| m.contains(n))),
                "{names:?}"
            );
            for (name, w, h) in &targets {
                assert!(*w >= 44.0 && *h >= 44.0, "{name}: {w} × {h} px");
            }
            snapshot(&c, "header-phone").await;
            c
        });
    }
);

/// WCAG's contrast ratio of two CSS colours as computed (`rgb(r, g, b)`).
fn contrast(a: &str, b: &str) -> f64 {
    let luminance = |css: &str| {
        let v: Vec<f64> = css
            .trim_start_matches("rgba(")
            .trim_start_matches("rgb(")
            .trim_end_matches(')')
            .split(',')
            .take(3)
            .map(|x| x.trim().parse::<f64>().unwrap() / 255.0)
            .map(|c| {
                if c <= 0.039_28 {
                    c / 12.92
                } else {
                    ((c + 0.055) / 1.055).powf(2.4)
                }
            })
            .collect();
        0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]
    };
    let (x, y) = (luminance(a), luminance(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

both_engines!(the_grid_workers_household_list_is_readable, |t: TestDb| {
    with_demo(&t, |c, base| async move {
        migrant_registered(&c, &base).await;
        sign_in(&c, &base, "grid").await;
        wait_path(&c, "/").await;
        c.goto(&format!("{base}/registry/surveys")).await.unwrap();
        click(&c, "main table a[href^='/registry/surveys/']").await;
        click(&c, "a[href$='/households']").await;
        wait_text(&c, "ul.households", "石春燕").await;
        snapshot(&c, "households-phone").await;
        let colours = c
            .execute(
                "return [...document.querySelectorAll('ul.households a, ul.households a small')]
                       .map(e => { const s = getComputedStyle(e); const a = e.closest('a');
                                   return [s.color, getComputedStyle(a).backgroundColor]; })",
                vec![],
            )
            .await
            .unwrap();
        let colours: Vec<(String, String)> = serde_json::from_value(colours).unwrap();
        assert!(!colours.is_empty());
        for (fg, bg) in &colours {
            assert!(contrast(fg, bg) >= 4.5, "{fg} on {bg}");
        }
        c
    });
});

both_engines!(
    the_residents_rating_choices_keep_their_words_on_one_line,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            let code = resident_sends_a_request(&c, &base).await;
            dispatched_and_resolved(&c, &base, &code, "已按政策办理").await;
            c.goto(&format!("{base}/r/{code}")).await.unwrap();
            wait_text(&c, "main", "已按政策办理").await;
            snapshot(&c, "rating-phone").await;
            let labels = c
                .execute(
                    "return [...document.querySelectorAll('form[action$=\"/rate\"] label.check')]
                       .map(e => { const r = e.getBoundingClientRect();
                                   const line = parseFloat(getComputedStyle(e).lineHeight);
                                   return [e.textContent.trim(), r.width, r.height, line]; })",
                    vec![],
                )
                .await
                .unwrap();
            let labels: Vec<(String, f64, f64, f64)> = serde_json::from_value(labels).unwrap();
            assert!(labels.len() >= 3, "{labels:?}");
            for (words, width, height, _) in &labels {
                // At 16 px a character of Chinese is 16 px wide: the choice's words and its
                // button side by side, on one line of a 44-px tap target.
                let chars = words.chars().count() as f64;
                assert!(*width >= chars * 14.0, "{words}: {width} px wide");
                assert!(*height <= 48.0, "{words}: {height} px high");
            }
            c
        });
    }
);

/// A resident on a phone at the request form of 北湖街道, no account.
async fn resident_at_the_form(c: &Client, base: &str) {
    c.goto(&format!("{base}/r")).await.unwrap();
    for place in ["南宁市", "西乡塘区", "北湖街道"] {
        c.find(Locator::LinkText(place))
            .await
            .unwrap_or_else(|e| panic!("{place}: {e}"))
            .click()
            .await
            .unwrap();
    }
    click(c, "ul.picks a").await;
    wait_text(c, "form.steps legend", "反映什么").await;
}

// ---- Activities (issue 29): a grid worker logs one on a phone with two photos ----

/// The grid worker's community committee's line on the progress board: (activities, the
/// venues reached as their short names).
async fn committee_line(c: &Client, base: &str) -> (String, Vec<String>) {
    c.goto(&format!("{base}/activities/progress"))
        .await
        .unwrap();
    let row = c
        .find(Locator::XPath(
            "//table[@id='progress']//tr[contains(., '居民委员会') or contains(., '村民委员会')]",
        ))
        .await
        .expect("the community committee's line");
    let cells = row.find_all(Locator::Css("td")).await.unwrap();
    let count = cells[1].text().await.unwrap();
    let mut reached = Vec::new();
    for v in cells[3]
        .find_all(Locator::Css(".venue.reached"))
        .await
        .unwrap()
    {
        reached.push(v.text().await.unwrap());
    }
    (
        count.lines().next().unwrap_or_default().to_string(),
        reached,
    )
}

both_engines!(
    a_grid_worker_logs_an_activity_with_two_photos_in_under_a_minute,
    |t: TestDb| {
        let dir = std::env::temp_dir().join(format!("活动-{}", shiliu_db::ids::new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let photos: Vec<String> = ["宣讲现场.png", "发放宣传单.png"]
            .iter()
            .map(|n| {
                let p = dir.join(n);
                std::fs::write(&p, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR photo").unwrap();
                p.to_string_lossy().into_owned()
            })
            .collect();
        with_demo(&t, |c, base| async move {
            sign_in(&c, &base, "grid").await;
            wait_path(&c, "/").await;
            let (before, _) = committee_line(&c, &base).await;
            let before: i64 = before.split('/').next().unwrap().trim().parse().unwrap();
            // From the menu to the saved record, as a worker at the door would.
            let started = Instant::now();
            c.goto(&format!("{base}/activities")).await.unwrap();
            click(&c, "a.button[href='/activities/new']").await;
            wait_path(&c, "/activities/new").await;
            let form = "#activity-form";
            let files = c
                .find(Locator::Css("#activity-form input[type=file][name=photos]"))
                .await
                .unwrap();
            files.send_keys(&photos.join("\n")).await.unwrap();
            fill(&c, form, "activity_kind", "宣讲").await;
            fill(&c, form, "venue", "进社区").await;
            fill(&c, form, "title", "民族团结进步政策进社区宣讲").await;
            fill(&c, form, "participants", "45").await;
            fill(&c, form, "material_21", "120").await;
            // The form picked the worker's grid and community committee already.
            let organiser: String = c
                .execute("return document.querySelector('#organiser').value", vec![])
                .await
                .unwrap()
                .as_str()
                .unwrap_or_default()
                .into();
            assert!(!organiser.is_empty(), "the committee is picked");
            snapshot_whole(&c, "activity-new-360").await;
            click(&c, "#activity-form button[type=submit]").await;
            wait_text(&c, ".flash", "已保存").await;
            let took = started.elapsed();
            assert!(took < Duration::from_mins(1), "took {took:?}");
            eprintln!("activity logged in {:.1} s", took.as_secs_f64());
            let shown = c
                .find_all(Locator::Css("#activity-photos img"))
                .await
                .unwrap()
                .len();
            assert_eq!(shown, 2, "both photos");
            assert!(
                text(&c, "#activity-materials")
                    .await
                    .contains("宣传单 120份")
            );
            snapshot_whole(&c, "activity-saved-360").await;
            // The committee's "十进" progress counts it: one more, 社区 reached.
            let (after, reached) = committee_line(&c, &base).await;
            let after: i64 = after.split('/').next().unwrap().trim().parse().unwrap();
            assert_eq!(after, before + 1);
            assert!(reached.iter().any(|v| v == "社区"), "{reached:?}");
            snapshot_whole(&c, "activity-progress-360").await;
            c
        });
    }
);

both_engines!(a_photo_survives_a_validation_error, |t: TestDb| {
    let db = t.db.clone();
    let dir = std::env::temp_dir().join(format!("留存-{}", shiliu_db::ids::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let photo = dir.join("门口积水.png");
    std::fs::write(&photo, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR photo").unwrap();
    with_demo(&t, |c, base| async move {
        resident_at_the_form(&c, &base).await;
        fill(&c, "main form", "description", "小区门口积水，出行不便").await;
        to_last_step(&c).await;
        c.find(Locator::Css("input[type=file][name=photos]"))
            .await
            .unwrap()
            .send_keys(&photo.to_string_lossy())
            .await
            .unwrap();
        // A phone number with a digit missing: the form comes back with the error.
        fill(&c, "main form", "contact_phone", "1391234000").await;
        click(&c, "input[name=consent]").await;
        click(&c, "main form button[type=submit]").await;
        wait_text(&c, ".kept", "门口积水.png").await;
        snapshot(&c, "photo-kept").await;
        let phone = c
            .find(Locator::Css("input[name=contact_phone]"))
            .await
            .unwrap();
        phone.clear().await.unwrap();
        phone.send_keys("13912340000").await.unwrap();
        click(&c, "main form button[type=submit]").await;
        let code = wait_text(&c, "p.code", "").await.trim().to_string();
        let files = db
            .read(move |conn| {
                let r = shiliu_db::requests::by_code(conn, &code)?;
                shiliu_db::requests::files::list(conn, &r)
            })
            .await
            .unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["门口积水.png"]);
        c
    });
});

both_engines!(
    the_request_form_shows_one_step_at_a_time_on_a_phone,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            resident_at_the_form(&c, &base).await;
            let shown = "return [...document.querySelectorAll('form.steps > fieldset.step')]
                           .filter(f => f.getClientRects().length > 0).length";
            let visible = c.execute(shown, vec![]).await.unwrap();
            assert_eq!(visible.as_i64(), Some(1));
            // "Next" waits for the description, which is asked for.
            click(&c, "p.stepper button.next").await;
            assert_eq!(text(&c, "p.stepper .count").await, "第 1 步，共 3 步");
            fill(&c, "main form", "description", "路灯不亮").await;
            click(&c, "p.stepper button.next").await;
            assert_eq!(text(&c, "p.stepper .count").await, "第 2 步，共 3 步");
            c
        });
    }
);

both_engines!(
    the_request_list_is_a_column_of_cards_on_a_phone,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            sign_in(&c, &base, "nanning").await;
            wait_path(&c, "/").await;
            c.goto(&format!("{base}/requests")).await.unwrap();
            wait_text(&c, "h1", "诉求办理").await;
            snapshot(&c, "requests-phone").await;
            let shape = c
                .execute(
                    "const row = document.querySelector('table.cards tbody tr');
                     const head = document.querySelector('table.cards thead').getBoundingClientRect();
                     return [getComputedStyle(row).display, row.getBoundingClientRect().width,
                             head.height, document.documentElement.scrollWidth];",
                    vec![],
                )
                .await
                .unwrap();
            let (display, width, head, page): (String, f64, f64, f64) =
                serde_json::from_value(shape).unwrap();
            assert_eq!(display, "block", "each request a card");
            assert!(width <= 340.0, "a card {width} px wide");
            assert!(head <= 1.0, "the column heads hidden: {head} px");
            assert!(page <= 360.0, "the page is {page} px wide");
            c
        });
    }
);

/// What the log-only SMS provider has sent to `phone`, once it holds `n` messages (the
/// server's sender runs every two seconds): (template, parameters).
async fn sms_to(db: &shiliu_db::Db, phone: &str, n: usize) -> Vec<(String, String)> {
    for _ in 0..100 {
        let phone = phone.to_string();
        let sent = db
            .read(move |c| shiliu_db::messages::sender::logged_for(c, &phone))
            .await
            .unwrap();
        if sent.len() >= n {
            return sent.into_iter().map(|m| (m.template, m.params)).collect();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("fewer than {n} SMS reached {phone} in 20 s");
}

both_engines!(
    a_resident_is_told_by_sms_rates_by_the_link_and_recovers_a_lost_code_by_phone,
    |t: TestDb| {
        const PHONE: &str = "13912345670";
        let db = t.db.clone();
        with_demo(&t, |c, base| async move {
            // On the phone: the request, with SMS ticked.
            resident_at_the_form(&c, &base).await;
            fill(&c, "main form", "description", "楼道灯坏了，晚上看不见路").await;
            to_last_step(&c).await;
            fill(&c, "main form", "contact_phone", PHONE).await;
            click(&c, "input[name=sms]").await;
            click(&c, "input[name=consent]").await;
            click(&c, "main form button[type=submit]").await;
            let code = wait_text(&c, "p.code", "").await.trim().to_string();
            let sent = sms_to(&db, PHONE, 1).await;
            assert_eq!(sent[0].0, "log:received", "{sent:?}");
            assert!(sent[0].1.contains(&code), "{sent:?}");
            // Dispatched by one tap on the suggestion, handled and resolved.
            dispatched_and_resolved(&c, &base, &code, "楼道灯已更换").await;
            let sent = sms_to(&db, PHONE, 3).await;
            let templates: Vec<&str> = sent.iter().map(|s| s.0.as_str()).collect();
            assert_eq!(templates, ["log:received", "log:resolved", "log:rate"]);
            assert!(sent[1].1.contains("楼道灯已更换"), "the reply: {sent:?}");
            // The resident lost the code: a one-time code by SMS to the same phone finds it.
            c.goto(&format!("{base}/r/recover")).await.unwrap();
            fill(&c, "form[action='/r/recover']", "phone", PHONE).await;
            click(&c, "form[action='/r/recover'] button").await;
            wait_text(&c, "p[role=status]", "").await;
            let sent = sms_to(&db, PHONE, 4).await;
            assert_eq!(sent[3].0, "log:code", "{sent:?}");
            let otp = serde_json::from_str::<serde_json::Value>(&sent[3].1).unwrap()["code"]
                .as_str()
                .unwrap()
                .to_string();
            fill(&c, "form[action='/r/recover/code']", "code", &otp).await;
            click(&c, "form[action='/r/recover/code'] button").await;
            let found = wait_text(&c, "main", &code).await;
            assert!(found.contains(&code), "{found}");
            snapshot(&c, "code-recovered").await;
            // From the list to the request's page, where the resident rates it.
            c.find(Locator::LinkText(&code))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            let page = wait_text(&c, "ol.timeline", "").await;
            assert!(!page.is_empty());
            click(&c, "input[name=rating][value=satisfied]").await;
            click(&c, "form[action$='/rate'] button").await;
            wait_text(&c, "p.ok[role=status]", "").await;
            let rating = db
                .read(move |conn| Ok(shiliu_db::requests::by_code(conn, &code)?.rating))
                .await
                .unwrap();
            assert_eq!(rating.as_deref(), Some("satisfied"));
            c
        });
    }
);

// ---- Accessibility (issue 25): axe-core on every page type, on a phone and a desktop ----

/// axe-core's script. It comes from npm and is not kept in the repository: scripts/test.sh
/// installs it (scripts/setup.sh) and names it in `SHILIU_TEST_AXE_JS`; without that variable the
/// test looks where setup.sh puts it.
fn axe_source() -> String {
    let path = std::env::var_os("SHILIU_TEST_AXE_JS").map_or_else(
        || {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/shiliu/axe/node_modules/axe-core/axe.min.js")
        },
        std::path::PathBuf::from,
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is not installed ({}: {e}). scripts/test.sh installs it; by hand: \
             npm install --prefix ~/.cache/shiliu/axe axe-core@4 (the version scripts/setup.sh \
             pins), or point SHILIU_TEST_AXE_JS at an axe.min.js",
            path.display()
        )
    })
}

/// Show pages `width` CSS px wide: 360 is the phone the browser starts as, wider a desktop.
async fn screen_width(c: &Client, width: u32) {
    let phone = width <= 360;
    let (height, scale) = if phone { (740, 2.0) } else { (768, 1.0) };
    c.issue_cmd(Cdp(
        "Emulation.setDeviceMetricsOverride",
        serde_json::json!({"width": width, "height": height, "deviceScaleFactor": scale, "mobile": phone}),
    ))
    .await
    .unwrap();
    let shown = c.execute("return window.innerWidth", vec![]).await.unwrap();
    assert_eq!(shown.as_u64(), Some(width.into()), "the viewport's width");
}

/// A screen of `width` × `height` CSS pixels (a wall screen's, say), at one device pixel each.
async fn screen_size(c: &Client, width: u32, height: u32) {
    c.issue_cmd(Cdp(
        "Emulation.setDeviceMetricsOverride",
        serde_json::json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
    ))
    .await
    .unwrap();
    let shown = c
        .execute("return [window.innerWidth, window.innerHeight]", vec![])
        .await
        .unwrap();
    assert_eq!(shown, serde_json::json!([width, height]), "the viewport");
}

/// What the browser's printing made of the page: its pages and the first page's size in
/// points (A4 landscape: 842 × 595).
#[derive(Debug)]
struct Printed {
    pages: usize,
    width: f64,
    height: f64,
}

/// Print the page as the browser would (its print style, the page size it asks for) and keep
/// the PDF for people reviewing a change (target/tmp/NAME.pdf).
async fn printed(c: &Client, name: &str) -> Printed {
    let pdf = kept(
        c,
        Cdp(
            "Page.printToPDF",
            serde_json::json!({"preferCSSPageSize": true, "printBackground": true}),
        ),
        &format!("{name}.pdf"),
    )
    .await;
    let text = String::from_utf8_lossy(&pdf);
    // A page object is "/Type /Page" not followed by "s" (the page tree is "/Pages").
    let pages = text
        .match_indices("/Type /Page")
        .filter(|(i, m)| !text[i + m.len()..].starts_with('s'))
        .count();
    let media = text
        .split("/MediaBox [")
        .nth(1)
        .and_then(|r| r.split(']').next())
        .unwrap_or_default();
    let n: Vec<f64> = media
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    assert_eq!(n.len(), 4, "a page size in {media:?}");
    Printed {
        pages,
        width: n[2] - n[0],
        height: n[3] - n[1],
    }
}

/// Load axe-core into every page the browser opens from now on, before the page's own scripts.
/// Chromium runs it whatever the page's content security policy says (no script but the
/// site's own may run on its pages), and it is parsed once per page, not sent over each time.
async fn with_axe(c: &Client, axe: &str) {
    c.issue_cmd(Cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        serde_json::json!({ "source": axe }),
    ))
    .await
    .unwrap();
}

/// Runs axe on the page shown; hands back its serious and critical violations, each as one
/// line: the rule, what it asks, how many elements and the first few of them.
const AXE_RUN: &str = r"
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' (' + v.nodes.length + '×: '
    + v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' — '
      + (n.failureSummary || '').split('\n').slice(1, 2).join('').trim()).join('; ') + ')')),
  e => done(['axe failed: ' + e]));";

/// The page walk's findings: every serious or critical violation with its URL and width, and
/// the paths checked.
struct Audit {
    width: u32,
    found: Vec<String>,
    checked: Vec<String>,
}

impl Audit {
    /// Check the page the browser shows, which came with HTTP status `status` (any, if `None`).
    async fn here(&mut self, c: &Client, status: Option<u16>) {
        let url = c.current_url().await.unwrap();
        let got = c
            .execute(
                "return performance.getEntriesByType('navigation')[0].responseStatus",
                vec![],
            )
            .await
            .unwrap();
        if let Some(want) = status {
            assert_eq!(got.as_u64(), Some(want.into()), "{url}");
        }
        let found: Vec<String> =
            serde_json::from_value(c.execute_async(AXE_RUN, vec![]).await.unwrap()).unwrap();
        let at = format!(
            "{}{}",
            url.path(),
            url.query().map(|q| format!("?{q}")).unwrap_or_default()
        );
        for v in found {
            self.found.push(format!("{at} at {} px: {v}", self.width));
        }
        self.checked.push(url.path().to_string());
    }

    /// Open `path` (an HTML page that answers 200, perhaps after a redirect) and check it.
    async fn page(&mut self, c: &Client, base: &str, path: &str) {
        c.goto(&format!("{base}{path}")).await.unwrap();
        self.here(c, Some(200)).await;
        // The route asked for is covered too when it redirects (`/regions` to the scope's top).
        let asked = path.split('?').next().unwrap_or(path);
        self.checked.push(asked.to_string());
    }

    /// Follow the first link `css` matches on the page shown and check where it leads: the
    /// path.
    async fn follow(&mut self, c: &Client, base: &str, css: &str) -> String {
        let here = c.current_url().await.unwrap();
        let href = c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{here}: no {css}: {e}"))
            .attr("href")
            .await
            .unwrap()
            .unwrap();
        self.page(c, base, &href).await;
        href
    }
}

/// What the walk opens that the demo's lists do not lead to, made before it: requests in the
/// states whose pages differ (a resolved one by its code, for the resident's page), a dispute
/// and a legal-aid case, 南宁市's two schemes (this year's open, last year's published) with
/// a unit of theirs, and a grid of 北湖街道 (for an import sheet).
struct Sample {
    received: i64,
    /// The phone of the request `resolved`: a resident's number that finds requests.
    phone: String,
    dispatched: i64,
    in_progress: i64,
    resolved: String,
    dispute: i64,
    case: i64,
    this_year: i64,
    last_year: i64,
    unit: i64,
    grid: String,
}

async fn sample(db: shiliu_db::Db) -> Sample {
    use shiliu_db::{casework, evaluation as ev, requests};
    use shiliu_domain::casework::{ConsultationInput, DisputeInput, LegalAidInput, PartyInput};
    use shiliu_domain::evaluation::Stage;
    use shiliu_domain::requests::Status;
    db.write(|c| {
        let all = shiliu_db::scope::Scope::everything();
        let sys = shiliu_db::scope::Actor::system("test:accessibility");
        let mut first = |s: Status| {
            let f = requests::RequestFilter {
                status: Some(s),
                ..Default::default()
            };
            requests::list(c, &all, &f, 1).map(|mut r| r.pop().expect("a request in each status"))
        };
        let (received, dispatched) = (first(Status::Received)?, first(Status::Dispatched)?);
        let (in_progress, resolved) = (first(Status::InProgress)?, first(Status::Resolved)?);
        // One more dispatched to the demo's site staff's own site: their inbox has a message.
        let site_staff = shiliu_db::accounts::find_by_username(c, "site")?
            .and_then(|u| u.site_id)
            .expect("the demo's site staff have a site");
        let waiting = requests::list(
            c,
            &all,
            &requests::RequestFilter {
                status: Some(Status::Received),
                ..Default::default()
            },
            2,
        )?
        .pop()
        .expect("two received requests");
        let to_site = requests::StepInput {
            site_id: Some(site_staff),
            ..Default::default()
        };
        requests::step(
            c,
            &sys,
            waiting.id,
            waiting.version,
            shiliu_domain::requests::Action::Dispatch,
            &to_site,
        )?;
        let input = DisputeInput::parse("neighbours", "楼道堆放杂物引发争执").unwrap();
        let dispute = casework::open_dispute(c, &sys, received.id, &input)?;
        let party = PartyInput::parse("applicant", "韦大姐", "壮族", "13907710000").unwrap();
        casework::add_party(c, &sys, dispute.id, &party)?;
        let input = LegalAidInput::parse("lawyer", "追索劳动报酬").unwrap();
        let case = casework::open_legal_aid(c, &sys, received.id, &input)?;
        let today = shiliu_db::today();
        let talk = ConsultationInput::parse(
            &today.to_string(),
            "phone",
            "了解欠薪情况",
            "先整理工资凭证",
            "",
            today,
        )
        .unwrap();
        casework::add_consultation(c, &sys, case.id, &talk)?;
        let city = shiliu_db::org::get_region_by_code(c, &all, "450100")?;
        let schemes = ev::schemes(c, &shiliu_db::scope::Scope::subtrees(vec![city.path]))?;
        let in_stage = |stage| {
            schemes
                .iter()
                .find(|s| s.stage() == stage)
                .expect("a scheme")
        };
        let (this_year, last_year) = (in_stage(Stage::SelfAssessment), in_stage(Stage::Published));
        let unit = ev::participants(c, last_year)?[0].unit_id;
        let town = shiliu_db::org::get_region_by_code(c, &all, "450107002")?;
        let grid = shiliu_db::org::subtree(c, &all, town.id)?
            .into_iter()
            .find(|r| r.kind == "grid")
            .expect("a grid in 北湖街道");
        Ok(Sample {
            received: received.id,
            phone: resolved.contact_phone.clone().expect("a resident's phone"),
            dispatched: dispatched.id,
            in_progress: in_progress.id,
            resolved: resolved.code,
            dispute: dispute.id,
            case: case.id,
            this_year: this_year.id,
            last_year: last_year.id,
            unit,
            grid: grid.code,
        })
    })
    .await
    .unwrap()
}

/// A registry sheet of two people, one of them wrong (a birth date that is not one), for the
/// import page's errors and its background job.
fn registry_sheet(grid: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("shiliu-axe-{}", shiliu_db::ids::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sheet = dir.join("登记表.csv");
    std::fs::write(
        &sheet,
        format!(
            "户编号,与户主关系,姓名,性别,出生日期,民族,户籍地,所属区域代码,居住地址\r\n\
             H1,户主,韦六,女,1992-02-02,壮族,451022,{grid},衡阳路 11 号\r\n\
             H2,户主,蓝七,男,1990-13-40,瑶族,451022,{grid},衡阳路 12 号\r\n"
        ),
    )
    .unwrap();
    sheet
}

/// Send `sheet` through the registry's import form with the button `mode`.
async fn import_sheet(c: &Client, base: &str, sheet: &std::path::Path, mode: &str) {
    c.goto(&format!("{base}/registry/import")).await.unwrap();
    c.find(Locator::Css("input[type=file][name=file]"))
        .await
        .unwrap()
        .send_keys(&sheet.to_string_lossy())
        .await
        .unwrap();
    let button = c
        .find(Locator::Css(&format!("button[name=mode][value={mode}]")))
        .await
        .unwrap();
    submit(c, button).await;
}

/// A migrant's declaration waiting for the grid worker, and a registry import by 南宁市 that
/// runs in the background: the paths of the declaration's public page and of the job's.
async fn declared_and_imported(
    c: &Client,
    base: &str,
    sheet: &std::path::Path,
) -> (String, String) {
    migrant_declares(c, base).await;
    let declared = c.current_url().await.unwrap().path().to_string();
    assert!(declared.starts_with("/d/"), "{declared}");
    sign_in(c, base, "nanning").await;
    wait_path(c, "/").await;
    import_sheet(c, base, sheet, "valid_only").await;
    let job = c.current_url().await.unwrap().path().to_string();
    assert!(job.starts_with("/registry/import/jobs/"), "{job}");
    sign_out(c).await;
    (declared, job)
}

/// Everything a visitor without an account sees: sign-in (and a failed one), the residents'
/// request form (and its errors), a request's status with its timeline and rating, finding a
/// lost code by phone, the declaration form and a declaration's status, a missing page.
async fn public_pages(
    c: &Client,
    base: &str,
    (a, db): (&mut Audit, &shiliu_db::Db),
    s: &Sample,
    declared: &str,
) {
    a.page(c, base, "/login").await;
    fill(c, "main form", "username", "nobody").await;
    fill(c, "main form", "password", "not-the-password").await;
    let button = c
        .find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap();
    submit(c, button).await;
    a.here(c, None).await;
    a.page(c, base, "/r").await;
    resident_at_the_form(c, base).await;
    a.here(c, Some(200)).await;
    fill(c, "main form", "description", "路灯不亮").await;
    to_last_step(c).await;
    fill(c, "main form", "contact_phone", "1391234000").await;
    click(c, "input[name=consent]").await;
    let button = c
        .find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap();
    submit(c, button).await;
    a.here(c, Some(422)).await;
    a.page(c, base, "/r/track").await;
    a.page(c, base, &format!("/r/{}", s.resolved)).await;
    a.page(c, base, "/r/recover").await;
    // Each width asks for a code for another number: the numbers' sending limits stay clear.
    let phone = format!("13800{:06}", a.width);
    for (phone, status) in [("123", 422), (phone.as_str(), 200)] {
        let field = c.find(Locator::Css("input[name=phone]")).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(phone).await.unwrap();
        let button = c.find(Locator::Css("main form button")).await.unwrap();
        submit(c, button).await;
        a.here(c, Some(status)).await;
    }
    fill(c, "main form", "code", "000000").await;
    let button = c.find(Locator::Css("main form button")).await.unwrap();
    submit(c, button).await;
    a.here(c, Some(422)).await;
    // The right code for a number with requests: the list of them.
    a.page(c, base, "/r/recover").await;
    let before = sms_to(db, &s.phone, 0).await.len();
    fill(c, "form[action='/r/recover']", "phone", &s.phone).await;
    click(c, "form[action='/r/recover'] button").await;
    wait_text(c, "p[role=status]", "").await;
    let codes: Vec<String> = sms_to(db, &s.phone, before + 1)
        .await
        .into_iter()
        .filter(|(template, _)| template == "log:code")
        .map(|(_, params)| {
            serde_json::from_str::<serde_json::Value>(&params).unwrap()["code"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    fill(
        c,
        "form[action='/r/recover/code']",
        "code",
        codes.last().unwrap(),
    )
    .await;
    click(c, "form[action='/r/recover/code'] button").await;
    wait_text(c, "main", &s.resolved).await;
    a.here(c, Some(200)).await;
    a.page(c, base, "/d").await;
    for place in ["南宁市", "西乡塘区", "北湖街道"] {
        let link = c.find(Locator::LinkText(place)).await.unwrap();
        submit(c, link).await;
    }
    let link = c.find(Locator::Css("ul.picks a")).await.unwrap();
    submit(c, link).await;
    a.here(c, Some(200)).await;
    // Sent without what it asks for (the browser's own checks taken off): its errors.
    c.execute(
        "document.querySelectorAll('main form [required]').forEach(e => e.removeAttribute('required'))",
        vec![],
    )
    .await
    .unwrap();
    let button = c
        .find(Locator::XPath(
            "//main//form//button[contains(., '提交申报')]",
        ))
        .await
        .unwrap();
    submit(c, button).await;
    a.here(c, Some(422)).await;
    a.page(c, base, "/d/track").await;
    a.page(c, base, declared).await;
    c.goto(&format!("{base}/no-such-page")).await.unwrap();
    a.here(c, Some(404)).await;
}

/// The administrator's pages: accounts, the audit log, tokens, the platform's settings, the
/// regions and the import forms.
async fn admin_pages(c: &Client, base: &str, a: &mut Audit) {
    for path in [
        "/users",
        "/users/new",
        "/audit",
        "/tokens",
        "/account",
        "/reference",
    ] {
        a.page(c, base, path).await;
    }
    a.page(c, base, "/users").await;
    a.follow(c, base, "main tbody a[href^='/users/']").await;
    a.page(c, base, "/settings/categories").await;
    a.follow(c, base, "main a[href^='/settings/categories/']")
        .await;
    for path in ["/settings/routing", "/settings/calendar", "/regions"] {
        a.page(c, base, path).await;
    }
    a.follow(
        c,
        base,
        "main a[href^='/regions/']:not([href$='.xlsx']):not([href$='/import'])",
    )
    .await;
    for path in ["/regions/import", "/sites/import", "/units/import"] {
        a.page(c, base, path).await;
    }
}

/// 南宁市's commission: requests (a list with results, a search, one to dispatch, its print,
/// the statistics), sites (a poster, the form and its errors), units, a dispute, the inbox,
/// and the evaluation pages of both its schemes.
async fn commission_pages(c: &Client, base: &str, a: &mut Audit, s: &Sample) {
    let received = format!("/requests/{}", s.received);
    for path in [
        "/requests",
        "/requests?q=孩子",
        "/requests/new",
        &received,
        &format!("{received}/print"),
        "/requests/stats",
        "/requests/stats?by=channel",
        "/dashboard",
        "/dashboard?region=450107&measure=completion",
        "/dashboard/wall",
        "/sites",
        "/sites/new",
        "/units",
        "/units/new",
        "/disputes",
        &format!("/disputes/{}", s.dispute),
        "/messages",
    ] {
        a.page(c, base, path).await;
    }
    a.page(c, base, "/sites").await;
    let site = a.follow(c, base, "main tbody a[href^='/sites/']").await;
    a.page(c, base, &format!("{site}/poster")).await;
    a.page(c, base, "/units").await;
    a.follow(c, base, "main tbody a[href^='/units/']").await;
    // The site form sent with a malformed phone and no name: the errors it comes back with.
    a.page(c, base, "/sites/new").await;
    pick_levels(c, "region_code", &["450100", "450107"]).await;
    fill(c, "main form", "contact_phone", "abc").await;
    c.execute(
        "document.querySelector('input[name=name]').removeAttribute('required')",
        vec![],
    )
    .await
    .unwrap();
    let button = c.find(Locator::Css("main form > button")).await.unwrap();
    submit(c, button).await;
    a.here(c, Some(422)).await;
    // The city's work plan, one task of it with its ledger.
    a.page(c, base, "/plans").await;
    let plan = a
        .follow(c, base, "main #plans tbody a[href^='/plans/']")
        .await;
    a.follow(c, base, "main #plan-tasks a[href*='/tasks/']")
        .await;
    a.page(c, base, &format!("{plan}/board")).await;
    // A unit's ledger on paper.
    a.follow(c, base, "main #board-units a[href$='/ledger']")
        .await;
    a.page(c, base, "/plans?review=1").await;
    // Its inspections, one of them, the findings and one finding; the rectifications to verify.
    a.page(c, base, &format!("{plan}/inspections")).await;
    a.follow(c, base, "main #inspections a[href*='/inspections/']")
        .await;
    a.page(c, base, &format!("{plan}/findings")).await;
    a.follow(c, base, "main #findings a[href*='/findings/']")
        .await;
    a.page(c, base, "/plans?verify=1").await;
    // What was said, and what was done about one instruction.
    a.page(c, base, &format!("{plan}/instructions")).await;
    a.follow(c, base, "main #instructions a[href*='/instructions/']")
        .await;
    // The activities: the list, one record, the form, the calendar, progress, statistics, the
    // lists and a training's trainees.
    for path in [
        "/activities",
        "/activities/new",
        "/activities/new?form=training",
        "/activities/calendar",
        "/activities/progress",
        "/activities/stats",
        "/activities/import",
        "/settings/activity-lists",
    ] {
        a.page(c, base, path).await;
    }
    a.page(c, base, "/activities").await;
    a.follow(c, base, "main #activities a[href^='/activities/']")
        .await;
    // A training's trainee list and its sign-in sheet's import.
    a.page(c, base, "/activities?form=training").await;
    let training = a
        .follow(c, base, "main #activities a[href^='/activities/']")
        .await;
    a.page(c, base, &format!("{training}/trainees")).await;
    a.page(c, base, &format!("{training}/trainees/import"))
        .await;
    // The councils: the list, one council, a meeting, its minutes, the forms, the follow-up
    // across councils, the statistics, the poster and the public page.
    for path in [
        "/councils",
        "/councils/new",
        "/councils/follow-up",
        "/councils/stats",
    ] {
        a.page(c, base, path).await;
    }
    a.page(c, base, "/councils").await;
    let council = a
        .follow(c, base, "main #councils a[href^='/councils/']")
        .await;
    a.page(c, base, &format!("{council}/meetings/new")).await;
    a.page(c, base, &format!("{council}/poster")).await;
    a.page(c, base, &council).await;
    a.follow(c, base, "main #meetings a[href*='/meetings/']")
        .await;
    a.follow(c, base, "main #print-minutes").await;
    a.page(c, base, &council).await;
    a.follow(c, base, "main #council-public").await;
    a.page(c, base, "/evaluations").await;
    for id in [s.this_year, s.last_year] {
        a.page(c, base, &format!("/evaluations/{id}")).await;
        a.page(c, base, &format!("/evaluations/{id}/units/{}", s.unit))
            .await;
    }
    for part in ["results", "analysis", "notice"] {
        a.page(c, base, &format!("/evaluations/{}/{part}", s.last_year))
            .await;
    }
}

/// 南宁市's register: the list, a person and the person form, the figures, the import (its
/// errors and a job), needs, requests for assistance and surveys.
async fn registry_pages(c: &Client, base: &str, a: &mut Audit, sheet: &std::path::Path, job: &str) {
    a.page(c, base, "/registry").await;
    let person = a.follow(c, base, "main tbody a[href^='/registry/']").await;
    a.page(c, base, &format!("{person}/edit")).await;
    for path in [
        "/registry/new",
        "/registry/stats",
        "/registry/import",
        job,
        "/registry/needs",
        "/registry/assists",
        "/registry/assists/new",
        "/registry/surveys",
        "/registry/surveys/new",
    ] {
        a.page(c, base, path).await;
    }
    import_sheet(c, base, sheet, "dry_run").await;
    a.here(c, None).await;
    a.page(c, base, "/registry/needs").await;
    a.follow(c, base, "main tbody a[href^='/registry/needs/']")
        .await;
    a.page(c, base, "/registry/assists").await;
    a.follow(c, base, "main tbody a[href^='/registry/assists/']")
        .await;
}

/// The people in the field: the grid worker's declarations and household visits, the site's
/// requests to accept and to resolve, the lawyer's cases, the home county's out-migrants.
async fn field_pages(c: &Client, base: &str, a: &mut Audit, s: &Sample) {
    // Each starts on its home, its to-do.
    as_user(c, base, "grid", async {
        a.here(c, Some(200)).await;
        a.page(c, base, "/registry/declarations").await;
        a.follow(c, base, "main a[href^='/registry/declarations/']")
            .await;
        a.page(c, base, "/registry/surveys").await;
        let survey = a
            .follow(c, base, "main tbody a[href^='/registry/surveys/']")
            .await;
        a.page(c, base, &format!("{survey}/households")).await;
        a.follow(c, base, "main a[href*='/households/']").await;
    })
    .await;
    as_user(c, base, "site", async {
        a.here(c, Some(200)).await;
        for id in [s.dispatched, s.in_progress] {
            a.page(c, base, &format!("/requests/{id}")).await;
        }
        // The inbox with messages in it (a request dispatched to the user's site), unread ones
        // with their buttons.
        a.page(c, base, "/messages").await;
        c.find(Locator::Css("ul.messages li.unread form button"))
            .await
            .expect("the site's inbox holds unread messages");
    })
    .await;
    as_user(c, base, "lawyer", async {
        a.here(c, Some(200)).await;
        a.page(c, base, "/legal-aid").await;
        a.page(c, base, &format!("/legal-aid/{}", s.case)).await;
    })
    .await;
    as_user(c, base, "sanjiang", async {
        a.here(c, Some(200)).await;
        a.page(c, base, "/registry/out-migrants").await;
    })
    .await;
}

/// Every page type, as the users who see it, at the width the audit is at.
async fn every_page(
    c: &Client,
    base: &str,
    (a, db): (&mut Audit, &shiliu_db::Db),
    s: &Sample,
    made: &(String, String),
    sheet: &std::path::Path,
) {
    screen_width(c, a.width).await;
    public_pages(c, base, (a, db), s, &made.0).await;
    as_user(c, base, "admin", async {
        a.here(c, Some(200)).await;
        admin_pages(c, base, a).await;
    })
    .await;
    as_user(c, base, "nanning", async {
        a.here(c, Some(200)).await;
        commission_pages(c, base, a, s).await;
        registry_pages(c, base, a, sheet, &made.1).await;
    })
    .await;
    field_pages(c, base, a, s).await;
    for user in ["liuzhou", "beihu", "evaluator", "reporter", "leader"] {
        as_user(c, base, user, a.here(c, Some(200))).await;
    }
}

/// GET routes that are not pages: files and downloads, the pickers' JSON, the language
/// switch (a redirect), the static files and the machines' endpoints. (The JSON API and
/// Open311 are left out by their prefixes; a route that answers GET with 405 takes only forms.)
const NOT_PAGES: [&str; 15] = [
    "/healthz",
    "/readyz",
    "/metrics",
    "/static/app.css",
    "/static/app.js",
    "/static/icon.svg",
    "/manifest.webmanifest",
    "/lang",
    "/reference/divisions",
    "/regions/choices",
    "/requests/{id}/files/{file_id}",
    "/evaluations/{id}/evidence/{file}",
    "/plans/{id}/tasks/{item}/files/{upload}",
    "/evaluations/{id}/ledger/{link}/files/{upload}",
    "/activities/{id}/photos/{photo}",
];

/// The route `path` is served by: of those its segments match, the one with the most fixed
/// segments (`/requests/new` over `/requests/{id}`).
fn route_of(path: &str) -> Option<&'static str> {
    let parts: Vec<&str> = path.split('/').collect();
    shiliu_web::route_paths()
        .into_iter()
        .filter(|r| {
            let pattern: Vec<&str> = r.split('/').collect();
            pattern.len() == parts.len()
                && pattern
                    .iter()
                    .zip(&parts)
                    .all(|(p, s)| p.starts_with('{') || p == s)
        })
        .max_by_key(|r| r.split('/').filter(|p| !p.starts_with('{')).count())
}

/// The router's routes that may draw a page and that the walk did not check: those neither
/// checked, nor API, nor in [`NOT_PAGES`], nor a download, that answer a GET with anything but
/// 405 (asked in the browser, with `1` for every id).
async fn pages_not_checked(c: &Client, checked: &[String]) -> Vec<String> {
    let covered: std::collections::HashSet<&str> =
        checked.iter().filter_map(|p| route_of(p)).collect();
    let left: Vec<String> = shiliu_web::route_paths()
        .into_iter()
        .filter(|r| !covered.contains(r) && !NOT_PAGES.contains(r))
        .filter(|r| !r.starts_with("/api/") && !r.starts_with("/open311/"))
        .filter(|r| {
            let kind = std::path::Path::new(r).extension().unwrap_or_default();
            !(kind.eq_ignore_ascii_case("xlsx") || kind.eq_ignore_ascii_case("csv"))
        })
        .map(|r| {
            r.split('/')
                .map(|p| if p.starts_with('{') { "1" } else { p })
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    let statuses = c
        .execute_async(
            "const [urls, done] = arguments;
             Promise.all(urls.map(u => fetch(u, {redirect: 'manual'}).then(r => r.status)))
               .then(done, e => done(['fetch failed: ' + e]));",
            vec![serde_json::json!(left)],
        )
        .await
        .unwrap();
    let statuses: Vec<serde_json::Value> = serde_json::from_value(statuses).unwrap();
    left.into_iter()
        .zip(statuses)
        .filter(|(_, s)| s.as_u64() != Some(405))
        .map(|(url, s)| format!("{url} (GET answers {s})"))
        .collect()
}

both_engines!(
    no_page_has_a_serious_or_critical_accessibility_violation_on_a_phone_or_a_desktop,
    |t: TestDb| {
        let axe = axe_source();
        let db = t.db.clone();
        with_demo(&t, |c, base| async move {
            let s = sample(db.clone()).await;
            let sheet = registry_sheet(&s.grid);
            let made = declared_and_imported(&c, &base, &sheet).await;
            with_axe(&c, &axe).await;
            let mut found = Vec::new();
            let mut checked = Vec::new();
            for width in [360, 1366] {
                let mut a = Audit {
                    width,
                    found: Vec::new(),
                    checked: Vec::new(),
                };
                every_page(&c, &base, (&mut a, &db), &s, &made, &sheet).await;
                found.extend(a.found);
                checked.extend(a.checked);
            }
            std::fs::remove_dir_all(sheet.parent().unwrap()).unwrap();
            // Signed in, so that no page hides behind the sign-in redirect.
            sign_in(&c, &base, "admin").await;
            wait_path(&c, "/").await;
            let missed = pages_not_checked(&c, &checked).await;
            assert!(
                found.is_empty() && missed.is_empty(),
                "{} serious or critical accessibility violations (axe-core):\n{}\n\
                 pages the walk does not check: {missed:#?}",
                found.len(),
                found.join("\n")
            );
            c
        });
    }
);

/// The demo reporter made the reporter of a unit the demo's plan hands tasks to (the small
/// demo's reporter has none); that unit's id.
fn reporters_unit(db: &shiliu_db::Db) -> i64 {
    db.write_blocking(|c| {
        use diesel::prelude::*;
        use shiliu_db::schema::{task_assignments as a, users};
        let unit: i64 = a::table.select(a::unit_id).order(a::item_id).first(c)?;
        shiliu_db::on_engine!(c, |x| diesel::update(
            users::table.filter(users::username.eq("reporter"))
        )
        .set(users::unit_id.eq(Some(unit)))
        .execute(x))?;
        Ok(unit)
    })
    .unwrap()
}

/// Open the demo plan's page as whoever is signed in; its address.
async fn the_plan(c: &Client, base: &str) -> String {
    c.goto(&format!("{base}/plans")).await.unwrap();
    let link = c
        .find(Locator::Css("main #plans tbody a[href^='/plans/']"))
        .await
        .unwrap();
    let href = link.attr("href").await.unwrap().unwrap();
    submit(c, link).await;
    href
}

/// The finding the flow raises, and its link in a list (beside the demo's own).
const PROBLEM: &str = "民族团结进步宣传栏内容长期未更新";

fn ours() -> Locator<'static> {
    Locator::XPath(
        "//main//table[@id='findings']//a[contains(., '民族团结进步宣传栏内容长期未更新')]",
    )
}

both_engines!(
    an_inspections_finding_is_rectified_sent_back_and_closed_and_a_late_unit_is_pressed,
    |t: TestDb| {
        // The demo is seeded by with_demo; its reporter is given a unit of the plan then.
        let db = t.db.clone();
        with_demo(&t, |c, base| async move {
            let unit = reporters_unit(&db).to_string();
            // The organiser records an inspection of the reporter's unit and a finding.
            sign_in(&c, &base, "admin").await;
            wait_path(&c, "/").await;
            let plan = the_plan(&c, &base).await;
            c.goto(&format!("{base}{plan}/inspections")).await.unwrap();
            click(&c, "main details summary").await;
            fill(&c, "#inspection-form", "title", "年终巡回督导").await;
            fill(&c, "#inspection-form", "team", "组长：市创建办主任").await;
            let today = shiliu_db::today().to_string();
            for field in ["starts_on", "ends_on"] {
                c.execute(
                    &format!(
                        "document.querySelector('#inspection-form [name={field}]').value = arguments[0]"
                    ),
                    vec![serde_json::json!(today)],
                )
                .await
                .unwrap();
            }
            click(
                &c,
                &format!("#inspection-form input[name=visited][value='{unit}']"),
            )
            .await;
            let save = c
                .find(Locator::Css("#inspection-form button"))
                .await
                .unwrap();
            submit(&c, save).await;
            wait_text(&c, ".flash", "已记录督查").await;
            c.find(Locator::Css("#finding-form select[name=unit]"))
                .await
                .unwrap()
                .select_by_value(&unit)
                .await
                .unwrap();
            fill(&c, "#finding-form", "problem", PROBLEM).await;
            let due = (shiliu_db::today() + chrono::Duration::days(30)).to_string();
            c.execute(
                "document.querySelector('#finding-form [name=due]').value = arguments[0]",
                vec![serde_json::json!(due)],
            )
            .await
            .unwrap();
            let add = c.find(Locator::Css("#finding-form button")).await.unwrap();
            submit(&c, add).await;
            wait_text(&c, ".flash", "已加入问题清单").await;
            sign_out(&c).await;
            // The unit finds it in its to-do and reports it rectified.
            let rectify = |text_: &'static str| {
                let (c, base) = (&c, &base);
                async move {
                    sign_in(c, base, "reporter").await;
                    wait_path(c, "/").await;
                    c.goto(&format!("{base}/plans?rectify=1")).await.unwrap();
                    let open = c.find(ours()).await.unwrap();
                    submit(c, open).await;
                    fill(c, "#rectify-form", "rectification", text_).await;
                    let send = c.find(Locator::Css("#rectify-form button")).await.unwrap();
                    submit(c, send).await;
                    wait_text(c, ".flash", "已报送整改情况").await;
                    sign_out(c).await;
                }
            };
            rectify("已更新宣传栏").await;
            // The organiser sends it back with an opinion, then closes it when sent again.
            let verify = |decision: &'static str, opinion: &'static str, said: &'static str| {
                let (c, base) = (&c, &base);
                async move {
                    sign_in(c, base, "admin").await;
                    wait_path(c, "/").await;
                    c.goto(&format!("{base}/plans?verify=1")).await.unwrap();
                    let open = c.find(ours()).await.unwrap();
                    submit(c, open).await;
                    if !opinion.is_empty() {
                        fill(c, "#verify-form", "opinion", opinion).await;
                    }
                    let button = c
                        .find(Locator::Css(&format!(
                            "#verify-form button[value={decision}]"
                        )))
                        .await
                        .unwrap();
                    submit(c, button).await;
                    wait_text(c, ".flash", said).await;
                    let main = text(c, "main").await;
                    sign_out(c).await;
                    main
                }
            };
            let back = verify("return", "请附更新后的照片", "已退回重改").await;
            assert!(back.contains("请附更新后的照片"), "{back}");
            rectify("已更新宣传栏，附照片").await;
            let closed = verify("close", "", "已核验销号").await;
            assert!(closed.contains("已销号"), "{closed}");
            // A late unit on the board is pressed by hand; the demo's sweep escalated others.
            sign_in(&c, &base, "admin").await;
            wait_path(&c, "/").await;
            c.goto(&format!("{base}{plan}/board?progress=overdue"))
                .await
                .unwrap();
            let board = text(&c, "main").await;
            assert!(
                board.contains("已督办"),
                "the demo's sweep escalated the late"
            );
            let late = c.find(Locator::Css("main #board tbody a")).await.unwrap();
            submit(&c, late).await;
            let remind = c.find(Locator::Css("form.remind button")).await.unwrap();
            submit(&c, remind).await;
            wait_text(&c, ".flash", "已催报").await;
            c
        });
    }
);

/// Two units of the demo plan's region with no task of it yet (so a new plan's sheet names
/// them alone): the demo reporter made the first's reporter, a new account `lead-reporter`
/// the second's. Their names.
fn two_units_reporting(db: &shiliu_db::Db) -> (String, String) {
    let hash = shiliu_web::web::password::hash(DEMO_PASSWORD).unwrap();
    db.write_blocking(move |c| {
        use diesel::prelude::*;
        use shiliu_db::schema::{task_plans, users};
        let (region, path): (i64, String) = task_plans::table
            .select((task_plans::region_id, task_plans::region_path))
            .first(c)?;
        let units =
            shiliu_db::org::unit_choices(c, &shiliu_db::scope::Scope::subtrees(vec![path]))?;
        let ((_, first, first_name), (_, second, second_name)) = (
            units[units.len() - 1].clone(),
            units[units.len() - 2].clone(),
        );
        shiliu_db::on_engine!(c, |x| diesel::update(
            users::table.filter(users::username.eq("reporter"))
        )
        .set(users::unit_id.eq(Some(first)))
        .execute(x))?;
        let sys = shiliu_db::scope::Can::check(&shiliu_db::scope::Actor::system("test")).unwrap();
        shiliu_db::accounts::create_user(
            c,
            &sys,
            &shiliu_db::accounts::NewUser {
                username: shiliu_domain::accounts::Username::parse("lead-reporter").unwrap(),
                display_name: "牵头单位填报员".into(),
                password_hash: hash,
                role: shiliu_domain::roles::Role::UnitReporter,
                region_id: region,
                unit_id: Some(second),
                site_id: None,
                phone: None,
                grid_ids: vec![],
            },
        )?;
        Ok((first_name, second_name))
    })
    .unwrap()
}

both_engines!(
    a_plan_is_imported_after_a_refused_sheet_and_a_units_report_is_returned_then_confirmed,
    |t: TestDb| {
        let db = t.db.clone();
        with_demo(&t, |c, base| async move {
            use chrono::Datelike;
            let (unit, lead) = two_units_reporting(&db);
            let year = shiliu_db::today().year();
            // Its own folder: the other engine's run goes on beside it in this process.
            let dir =
                std::env::temp_dir().join(format!("shiliu-plan-{}", shiliu_db::ids::new_id()));
            std::fs::create_dir_all(&dir).unwrap();
            let sheet = |name: &str, lead_unit: &str| {
                let path = dir.join(name);
                std::fs::write(
                    &path,
                    format!(
                        "序号,工作任务,具体措施,牵头单位,责任单位,完成时限\n\
                         1,建立民族团结进步工作台账,,{lead_unit},{unit},{year}年12月底前\n"
                    ),
                )
                .unwrap();
                path
            };
            let bad = sheet("bad.csv", "不存在的单位");
            let good = sheet("good.csv", &lead);
            let photo = dir.join("台账照片.png");
            let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
            png.extend_from_slice(b"ledger");
            std::fs::write(&photo, png).unwrap();
            // The organiser draws up a plan and imports its sheet: refused whole first.
            sign_in(&c, &base, "admin").await;
            wait_path(&c, "/").await;
            c.goto(&format!("{base}/plans")).await.unwrap();
            click(&c, "main details summary").await;
            fill(
                &c,
                "main details form",
                "name",
                "年度民族团结进步创建工作方案",
            )
            .await;
            fill(&c, "main details form", "organiser", "市创建办").await;
            for (field, day) in [
                // From this January (the form offers next year's), so the unit reports now; to
                // the end of the phases the form offers.
                ("starts_on", format!("{year}-01-01")),
                ("ends_on", format!("{}-12-31", year + 3)),
            ] {
                c.execute(
                    &format!("document.querySelector('main details form [name={field}]').value = arguments[0]"),
                    vec![serde_json::json!(day)],
                )
                .await
                .unwrap();
            }
            let create = c
                .find(Locator::Css("main details form > button"))
                .await
                .unwrap();
            submit(&c, create).await;
            wait_text(&c, ".flash", "已创建方案").await;
            let upload = |path: std::path::PathBuf| {
                let c = &c;
                async move {
                    c.find(Locator::Css("input[name=file]"))
                        .await
                        .unwrap()
                        .send_keys(path.to_str().unwrap())
                        .await
                        .unwrap();
                    let go = c
                        .find(Locator::Css("form[action$='/tasks/import'] button"))
                        .await
                        .unwrap();
                    submit(c, go).await;
                }
            };
            upload(bad).await;
            let refused = text(&c, "#sheet-errors").await;
            assert!(refused.contains("不存在的单位"), "{refused}");
            assert!(
                text(&c, "main").await.contains("还没有任务"),
                "nothing written"
            );
            upload(good).await;
            wait_text(&c, ".flash", "已导入任务分解表").await;
            let plan = c.current_url().await.unwrap().path().to_string();
            click(&c, "form[action$='/status'] input[name=confirm]").await;
            let publish = c
                .find(Locator::Css("form[action$='/status'] button"))
                .await
                .unwrap();
            submit(&c, publish).await;
            wait_text(&c, ".flash", "方案已发布实施").await;
            sign_out(&c).await;
            // The unit sees its task and reports with a photo; the lead unit returns it.
            let report = |words: &'static str| {
                let (c, base, plan, photo) = (&c, &base, plan.clone(), photo.clone());
                async move {
                    sign_in(c, base, "reporter").await;
                    wait_path(c, "/").await;
                    c.goto(&format!("{base}{plan}")).await.unwrap();
                    let task = c
                        .find(Locator::Css("main #plan-tasks a[href*='/tasks/']"))
                        .await
                        .unwrap();
                    submit(c, task).await;
                    fill(c, "#report-form", "progress", words).await;
                    c.find(Locator::Css("#report-form input[name=files]"))
                        .await
                        .unwrap()
                        .send_keys(photo.to_str().unwrap())
                        .await
                        .unwrap();
                    let send = c.find(Locator::Css("#report-form button")).await.unwrap();
                    submit(c, send).await;
                    wait_text(c, ".flash", "已报送").await;
                    assert!(text(c, "main").await.contains("台账照片.png"));
                    sign_out(c).await;
                }
            };
            let decide = |decision: &'static str, opinion: &'static str, said: &'static str| {
                let (c, base, plan) = (&c, &base, plan.clone());
                async move {
                    sign_in(c, base, "lead-reporter").await;
                    wait_path(c, "/").await;
                    c.goto(&format!("{base}{plan}")).await.unwrap();
                    let task = c
                        .find(Locator::Css("main #plan-tasks a[href*='/tasks/']"))
                        .await
                        .unwrap();
                    submit(c, task).await;
                    if !opinion.is_empty() {
                        fill(c, "form.review", "opinion", opinion).await;
                    }
                    let button = c
                        .find(Locator::Css(&format!(
                            "form.review button[value={decision}]"
                        )))
                        .await
                        .unwrap();
                    submit(c, button).await;
                    wait_text(c, ".flash", said).await;
                    let main = text(c, "main").await;
                    sign_out(c).await;
                    main
                }
            };
            report("已建立工作台账").await;
            let back = decide("return", "请补充活动签到表", "已退回").await;
            assert!(back.contains("请补充活动签到表"), "{back}");
            report("已建立工作台账，补充签到表").await;
            let done = decide("confirm", "", "已确认").await;
            assert!(done.contains("已完成"), "{done}");
            let _ = std::fs::remove_dir_all(&dir);
            c
        });
    }
);

both_engines!(
    a_leader_lands_on_the_map_of_14_cities_and_drills_down_to_a_county_and_its_townships,
    |t: TestDb| {
        with_demo(&t, |c, base| async move {
            sign_in(&c, &base, "leader").await;
            wait_path(&c, "/dashboard").await;
            let cities = "figure.map svg a[data-code]";
            assert_eq!(c.find_all(Locator::Css(cities)).await.unwrap().len(), 14);
            snapshot_whole(&c, "dashboard-360").await;
            // Nothing overflows the phone's width but the table, which scrolls in its box.
            let width = c
                .execute("return document.documentElement.scrollWidth", vec![])
                .await
                .unwrap();
            assert_eq!(width.as_i64(), Some(360));
            // 柳州市 on the map: its counties.
            let lz = c
                .find(Locator::Css("figure.map svg a[data-code='450200'] path"))
                .await
                .unwrap();
            lz.click().await.unwrap();
            wait_text(&c, "h1", "柳州市").await;
            let counties = c.find_all(Locator::Css(cities)).await.unwrap();
            assert_eq!(counties.len(), 10);
            let rows = c
                .find_all(Locator::Css("table.ranked tbody tr"))
                .await
                .unwrap();
            assert_eq!(rows.len(), 10);
            // 三江 in the table: its townships, ranked, and the trail back up.
            let sj = c.find(Locator::LinkText("三江侗族自治县")).await.unwrap();
            sj.click().await.unwrap();
            wait_text(&c, "h1", "三江侗族自治县").await;
            let towns = c
                .find_all(Locator::Css("table.ranked tbody tr"))
                .await
                .unwrap();
            assert_eq!(
                towns.len(),
                shiliu_domain::divisions::children("450226").count()
            );
            assert!(
                text(&c, "nav.crumbs")
                    .await
                    .contains("广西壮族自治区 › 柳州市")
            );
            c.find(Locator::LinkText("柳州市"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            wait_text(&c, "h1", "柳州市").await;
            // On a wall screen: the map and the table side by side, every city named.
            c.goto(&format!("{base}/dashboard")).await.unwrap();
            screen_width(&c, 1920).await;
            let labels = c.find_all(Locator::Css("figure.map .label")).await.unwrap();
            assert_eq!(labels.len(), 14);
            snapshot_whole(&c, "dashboard-1920").await;
            // Printed for a meeting: one A4 landscape page.
            let print = c.find(Locator::Css("button[data-print]")).await.unwrap();
            assert!(
                print.is_displayed().await.unwrap(),
                "the script shows the button"
            );
            let pdf = printed(&c, "dashboard-a4").await;
            assert_eq!(pdf.pages, 1, "the board on one page");
            assert!(pdf.width > pdf.height, "landscape: {pdf:?}");
            assert!((pdf.width - 842.0).abs() < 2.0, "A4: {pdf:?}");
            // The wall screen at 1920 × 1080: everything on one screen, nothing to scroll.
            for place in ["", "?region=450200", "?region=450226"] {
                c.goto(&format!("{base}/dashboard/wall{place}"))
                    .await
                    .unwrap();
                screen_size(&c, 1920, 1080).await;
                let size = c
                    .execute(
                        "const e = document.documentElement; return [e.scrollWidth, e.scrollHeight];",
                        vec![],
                    )
                    .await
                    .unwrap();
                assert_eq!(size, serde_json::json!([1920, 1080]), "{place}");
                // Nor is anything cut off inside its box: the last card, the last place
                // ranked and the map's legend end within the screen.
                let last = c
                    .execute(
                        "return ['ul.kpis > li:last-child', 'table.ranked tbody tr:last-child', \
                         'figure.map figcaption'].map(q => document.querySelector(q)) \
                         .filter(e => e).map(e => e.getBoundingClientRect().bottom);",
                        vec![],
                    )
                    .await
                    .unwrap();
                let bottoms: Vec<f64> = last
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(serde_json::Value::as_f64)
                    .collect();
                assert!(bottoms.len() >= 2, "{place}: {last}");
                assert!(bottoms.iter().all(|b| *b <= 1080.0), "{place}: {last}");
            }
            c.goto(&format!("{base}/dashboard/wall")).await.unwrap();
            screen_size(&c, 1920, 1080).await;
            let labels = c.find_all(Locator::Css("figure.map .label")).await.unwrap();
            assert_eq!(labels.len(), 14);
            snapshot(&c, "dashboard-wall-1920").await;
            c
        });
    }
);

// ---- Consultation councils (issue 29): a council meets on a 14th with three items ----

/// The community of the demo grid worker's first grid: (code, name).
async fn grid_workers_community(db: shiliu_db::Db) -> (String, String) {
    db.read(|c| {
        let all = shiliu_db::scope::Scope::everything();
        let u = shiliu_db::accounts::find_by_username(c, "grid")?.expect("the grid worker");
        let grid = shiliu_db::accounts::user_grid_ids(c, u.id)?[0];
        let grid = shiliu_db::org::get_region(c, &all, grid)?;
        let community = shiliu_db::org::get_region(c, &all, grid.parent_id.unwrap_or(grid.id))?;
        Ok((community.code, community.name))
    })
    .await
    .unwrap()
}

/// Set a date input (typing into one depends on the browser's locale).
async fn set_date(c: &Client, css: &str, day: &str) {
    c.execute(
        "document.querySelector(arguments[0]).value = arguments[1]",
        vec![serde_json::json!(css), serde_json::json!(day)],
    )
    .await
    .unwrap();
}

/// Open `details` (unless it opened by itself: the public page's form before anything is
/// published), fill its form's `fields` — a list picked by its label (blank: its first choice),
/// a box ticked, a date set, text typed — and press its button.
async fn fill_details(c: &Client, details: fantoccini::elements::Element, fields: &[(&str, &str)]) {
    if details.attr("open").await.unwrap().is_none() {
        details
            .find(Locator::Css("summary"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    for (name, value) in fields {
        let field = details
            .find(Locator::Css(&format!("[name='{name}']")))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let kind = field.attr("type").await.unwrap();
        match (field.tag_name().await.unwrap().as_str(), kind.as_deref()) {
            ("select", _) if value.is_empty() => field.select_by_index(1).await.unwrap(),
            ("select", _) => field.select_by_label(value).await.unwrap(),
            (_, Some("checkbox")) => field.click().await.unwrap(),
            (_, Some("date")) => {
                c.execute(
                    "arguments[0].value = arguments[1]",
                    vec![
                        serde_json::to_value(&field).unwrap(),
                        serde_json::json!(value),
                    ],
                )
                .await
                .unwrap();
            }
            _ => field
                .send_keys(value)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}")),
        }
    }
    let button = details.find(Locator::Css("button")).await.unwrap();
    submit(c, button).await;
}

/// The `<details>` whose summary holds `summary`, within `scope` (an `XPath`; empty: the page).
async fn details_of(c: &Client, scope: &str, summary: &str) -> fantoccini::elements::Element {
    c.find(Locator::XPath(&format!(
        "{scope}//details[summary[contains(., '{summary}')]]"
    )))
    .await
    .unwrap_or_else(|e| panic!("{scope} {summary}: {e}"))
}

/// Open a `<details>` by its summary's words and fill its form's `fields`; press its button.
async fn in_details(c: &Client, summary: &str, fields: &[(&str, &str)]) {
    fill_details(c, details_of(c, "", summary).await, fields).await;
}

/// Settle the waiting item whose words hold `words`, by the form under `summary`.
async fn settle_item(c: &Client, words: &str, summary: &str, fields: &[(&str, &str)]) {
    let card = format!("//div[contains(@class, 'item') and contains(., '{words}')]");
    fill_details(c, details_of(c, &card, summary).await, fields).await;
    wait_text(c, ".flash", "已").await;
}

/// The latest 14th of a month that is not after today.
fn last_14th() -> chrono::NaiveDate {
    use chrono::Datelike;
    let today = shiliu_db::today();
    let this = today.with_day(14).unwrap();
    if this <= today {
        this
    } else {
        this.checked_sub_months(chrono::Months::new(1)).unwrap()
    }
}

both_engines!(
    a_council_meets_on_a_14th_and_the_request_it_hands_on_shows_done_when_closed,
    |t: TestDb| {
        let db = t.db.clone();
        with_demo(&t, |c, base| async move {
            let (community, community_name) = grid_workers_community(db).await;
            // The township sets the council up for the grid worker's community.
            sign_in(&c, &base, "beihu").await;
            wait_path(&c, "/").await;
            c.goto(&format!("{base}/councils/new")).await.unwrap();
            fill(&c, "#council-form", "name", "测试社区“逢四说事”议事会").await;
            pick_levels(&c, "region_code", &["450107002", &community]).await;
            fill(&c, "#council-form", "place", "社区议事厅").await;
            let button = c
                .find(Locator::Css("#council-form button[type=submit]"))
                .await
                .unwrap();
            submit(&c, button).await;
            wait_text(&c, ".flash", "已保存").await;
            let council = c.current_url().await.unwrap().path().to_string();
            assert!(text(&c, "#council-facts").await.contains(&community_name));
            in_details(
                &c,
                "添加成员",
                &[
                    ("name", "黄大姐"),
                    ("role", "召集人"),
                    ("phone", "13800138000"),
                ],
            )
            .await;
            wait_text(&c, ".flash", "成员已添加").await;
            let public = text(&c, "#council-public").await;
            // In person at the office.
            in_details(
                &c,
                "登记议题",
                &[("text", "孩子转学需要哪些材料"), ("raised_by", "马女士")],
            )
            .await;
            wait_text(&c, ".flash", "议题已登记").await;
            sign_out(&c).await;

            // The grid worker brings one from the rounds, on the phone.
            sign_in(&c, &base, "grid").await;
            wait_path(&c, "/").await;
            c.goto(&format!("{base}{council}")).await.unwrap();
            in_details(
                &c,
                "登记议题",
                &[
                    ("text", "三巷路灯坏了"),
                    ("raised_by", "蓝阿姨"),
                    ("phone", "13900139000"),
                ],
            )
            .await;
            wait_text(&c, ".flash", "议题已登记").await;
            sign_out(&c).await;

            // A resident sends one from the public page, agreeing to be named.
            c.goto(&format!("{base}{public}")).await.unwrap();
            in_details(
                &c,
                "我有事要说",
                &[
                    ("text", "楼下乱停车"),
                    ("raised_by", "覃师傅"),
                    ("publish_name", "1"),
                ],
            )
            .await;
            wait_text(&c, "#item-sent", "已收到").await;

            // The meeting of the 14th: minutes, then each item settled.
            sign_in(&c, &base, "beihu").await;
            wait_path(&c, "/").await;
            c.goto(&format!("{base}{council}/meetings/new"))
                .await
                .unwrap();
            let held = last_14th();
            set_date(&c, "#meeting-form input[name=held_on]", &held.to_string()).await;
            click(&c, "#meeting-form input[name=present]").await;
            fill(&c, "#meeting-form", "guests", "12").await;
            fill(&c, "#meeting-form", "notes", "议了三件事").await;
            let button = c
                .find(Locator::Css("#meeting-form button[type=submit]"))
                .await
                .unwrap();
            submit(&c, button).await;
            wait_text(&c, ".flash", "已保存").await;
            let due = (held + chrono::Duration::days(6)).to_string();
            settle_item(
                &c,
                "三巷路灯坏了",
                "议定",
                &[
                    ("decision", "联系供电所更换灯泡"),
                    ("responsible", "社区主任"),
                    ("due_on", &due),
                ],
            )
            .await;
            settle_item(
                &c,
                "楼下乱停车",
                "不予采纳",
                &[("reason", "属物业管理，已转告物业")],
            )
            .await;
            settle_item(
                &c,
                "孩子转学需要哪些材料",
                "转为诉求",
                &[("category_id", ""), ("confirm", "1")],
            )
            .await;
            let settled = text(&c, "#settled-items").await;
            assert!(settled.contains("联系供电所更换灯泡") && settled.contains("已转为诉求"));
            let code = c
                .find(Locator::Css("#settled-items a[href^='/requests/']"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            snapshot_whole(&c, "council-meeting").await;
            sign_out(&c).await;

            // The request is handled and closed by the requests loop.
            dispatched_and_resolved(&c, &base, &code, "已告知转学所需材料").await;
            sign_in(&c, &base, "nanning").await;
            wait_path(&c, "/").await;
            open_request(&c, &base, &code).await;
            let origin = text(&c, "main").await;
            assert!(origin.contains("议事会转办"), "{origin}");
            step(&c, "close", &[]).await;
            sign_out(&c).await;

            // The meeting's follow-up shows it done; the public notice the decisions.
            sign_in(&c, &base, "beihu").await;
            wait_path(&c, "/").await;
            c.goto(&format!("{base}{council}")).await.unwrap();
            let follow = text(&c, "#follow-up").await;
            assert!(
                follow.contains("三巷路灯坏了") && !follow.contains("孩子转学"),
                "{follow}"
            );
            c.find(Locator::LinkText(&held.to_string()))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            let settled = wait_text(&c, "#settled-items", "已办结").await;
            assert!(settled.contains("已办结"), "{settled}");
            c.goto(&format!("{base}{public}")).await.unwrap();
            let notice = text(&c, "#notice").await;
            assert!(notice.contains("联系供电所更换灯泡") && notice.contains("属物业管理"));
            assert!(notice.contains("覃师傅") && !notice.contains("蓝阿姨"));
            assert!(!notice.contains("13900139000") && !notice.contains("马女士"));
            snapshot_whole(&c, "council-public").await;
            c
        });
    }
);
