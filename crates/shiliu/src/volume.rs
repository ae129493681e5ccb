//! A city's year of requests, generated in bulk for the demo and the benchmarks: every grid of
//! a city gets requests in realistic shares of categories and channels, received over the past
//! year on working hours (fewer at weekends), routed to the grid's community site, and carried
//! through handling as the documents' figures describe (about 94% resolved, most on time, about
//! 95% of ratings satisfied), with their full history and search entries.

use chrono::{Duration, NaiveDateTime, Timelike};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shiliu_db::ids::id_at;
use shiliu_db::org::{self, Region};
use shiliu_db::requests::{self, Request, RequestEvent, bulk, search};
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::{Db, DbConnection, DbError};
use shiliu_domain::calendar::{WorkCalendar, local, utc};
use shiliu_domain::org::RegionKind;
use shiliu_domain::requests::{Channel, Status};

/// What residents ask, by category code, with shares in per mille.
const TOPICS: [(&str, u32, &[&str]); 12] = [
    (
        "jobs_training",
        200,
        &[
            "想找一份工厂的工作，有没有招工信息",
            "想参加电工技能培训，怎么报名",
            "家政服务培训什么时候开班",
            "工地老板拖欠工资三个月，想找人帮忙",
            "刚来南宁，想找保安或者物业的工作",
        ],
    ),
    (
        "school_places",
        100,
        &[
            "孩子随迁想在附近读小学，需要什么材料",
            "孩子转学到这边初中，学籍怎么转",
            "想给孩子报名幼儿园，学位紧张",
            "孩子在老家读书，想接过来上学",
        ],
    ),
    (
        "renting",
        120,
        &[
            "和房东发生租房纠纷，押金不退",
            "出租屋漏水，房东不修",
            "租房合同到期房东突然涨价",
            "想找便宜一点的公租房，怎么申请",
        ],
    ),
    (
        "legal_aid",
        80,
        &[
            "工伤以后老板不认，想请律师",
            "劳动合同纠纷，想咨询法律援助",
            "交通事故赔偿谈不拢，需要法律帮助",
        ],
    ),
    (
        "disputes",
        100,
        &[
            "和邻居因为噪音发生矛盾",
            "摊位被人占用，发生口角",
            "老乡之间借钱不还，闹了矛盾",
            "和工友因为住宿问题发生纠纷",
        ],
    ),
    (
        "hardship_relief",
        80,
        &[
            "家里有人生病，生活困难，想申请救助",
            "失业半年，想了解临时救助政策",
            "孩子上学交不起生活费，想申请帮扶",
        ],
    ),
    (
        "policy",
        150,
        &[
            "居住证怎么办理，需要多长时间",
            "少数民族学生中考有没有加分政策",
            "想了解创业补贴政策",
            "医保异地报销怎么办",
        ],
    ),
    (
        "business_licence",
        40,
        &["想开一家米粉店，营业执照怎么办", "个体户执照过期了怎么续"],
    ),
    (
        "health",
        40,
        &["老人想在这边看病，医保能不能用", "孩子打疫苗去哪里登记"],
    ),
    (
        "social_security",
        40,
        &["社保断缴了怎么补交", "养老保险关系怎么从老家转过来"],
    ),
    (
        "household_registration",
        30,
        &[
            "想把户口迁到南宁，需要准备哪些材料",
            "身份证丢了，在这边能不能补办",
        ],
    ),
    (
        "other",
        20,
        &["社区活动室开放时间是什么时候", "想报名参加社区民族文化活动"],
    ),
];

/// Channels in per mille: (channel, share, who takes it in).
const CHANNELS: [(Channel, u32, &str); 5] = [
    (Channel::Grid, 350, "网格员"),
    (Channel::Hotline, 300, "热线话务员"),
    (Channel::WalkIn, 250, "窗口工作人员"),
    (Channel::SelfService, 80, "群众"),
    (Channel::Open311, 20, "12345 热线平台"),
];

const REPLIES: [&str; 4] = [
    "已与相关部门对接，按政策办理，请留意电话回访。",
    "已协调解决，如仍有问题请再联系我们。",
    "已告知办理流程和所需材料，并陪同到窗口办理。",
    "经调解双方达成一致，已按约定履行。",
];

const SURNAMES: [&str; 12] = [
    "黄", "韦", "覃", "蒙", "莫", "陆", "梁", "潘", "石", "罗", "杨", "吴",
];
const GIVEN: [&str; 12] = [
    "秀英", "海燕", "明", "春花", "志强", "丽", "建华", "美玲", "德胜", "小燕", "文", "桂兰",
];

fn pick<'a, T>(rng: &mut StdRng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.gen_range(0..total);
    for (item, w) in items {
        if x < *w {
            return item;
        }
        x -= w;
    }
    &items[items.len() - 1].0
}

/// A grid with where its requests go by default.
struct Grid {
    region: Region,
    site_id: Option<i64>,
    routed_by: String,
}

/// The grids of `city_code` with their default routes.
fn grids(c: &mut DbConnection, city_code: &str) -> Result<Vec<Grid>, DbError> {
    let all = Scope::everything();
    let city = org::get_region_by_code(c, &all, city_code)?;
    let regions: Vec<_> = org::subtree(c, &all, city.id)?
        .into_iter()
        .filter(|r| r.kind() == RegionKind::Grid && r.active)
        .collect();
    let router = shiliu_db::requests::routing::Router::load(c)?;
    let mut out = Vec::new();
    for region in regions {
        let route = router.default_route(&region);
        out.push(Grid {
            region,
            site_id: route.site_id,
            routed_by: route.reason.to_string(),
        });
    }
    Ok(out)
}

/// A moment within the past year, on a working hour; weekends get a third of a weekday's share.
fn received(rng: &mut StdRng, now: NaiveDateTime) -> NaiveDateTime {
    loop {
        let back = Duration::seconds(rng.gen_range(0..365 * 86_400));
        let t = local(now - back);
        let weekend = matches!(
            chrono::Datelike::weekday(&t.date()),
            chrono::Weekday::Sat | chrono::Weekday::Sun
        );
        if (8..18).contains(&t.hour()) && (!weekend || rng.gen_bool(0.33)) {
            return utc(t);
        }
    }
}

/// Requests written per transaction by the loader.
const BATCH: usize = 5000;

/// The share of a year's requests done (办结) by now that `generate` makes, the curve this
/// module always had: a little above the 94% 北海 reports.
pub const USUAL_COMPLETION: f64 = 0.95;

/// A city's year of requests.
#[derive(Debug, Clone)]
pub struct Year<'a> {
    pub city_code: &'a str,
    pub requests: usize,
    /// The share of them done (办结: resolved, rated or closed) by now, about.
    pub completion: f64,
    /// The millisecond of the second every request of this year arrives at (0–999). Ids are
    /// made from the moment and the request's place in its load, so two loads with different
    /// milliseconds never make the same id (`None`: now's, as a single load needs nothing more).
    pub millisecond: Option<u32>,
    pub seed: u64,
}

/// Generate `n` requests over the past year in `city_code`'s grids; returns how many.
pub fn generate(db: &Db, city_code: &str, n: usize, seed: u64) -> Result<usize, DbError> {
    generate_year(
        db,
        &Year {
            city_code,
            requests: n,
            completion: USUAL_COMPLETION,
            millisecond: None,
            seed,
        },
    )
}

/// Generate a city's year of requests in its grids; returns how many.
pub fn generate_year(db: &Db, year: &Year) -> Result<usize, DbError> {
    let n = year.requests;
    let (grids, cats, cal) = db.write_blocking(|c| {
        Ok((
            grids(c, year.city_code)?,
            requests::categories(c, false)?,
            requests::calendar(c)?,
        ))
    })?;
    if grids.is_empty() || n == 0 {
        return Ok(0);
    }
    let topics: Vec<(usize, u32)> = TOPICS
        .iter()
        .enumerate()
        .filter(|(_, (code, _, _))| cats.iter().any(|c| c.code == *code))
        .map(|(i, (_, w, _))| (i, *w))
        .collect();
    // Segmenting is the slow part of indexing; texts repeat, so each is cut once.
    let mut terms_of: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut rng = StdRng::seed_from_u64(year.seed);
    let now = shiliu_db::now();
    let now = year
        .millisecond
        .and_then(|ms| now.with_nanosecond(ms.min(999) * 1_000_000))
        .unwrap_or(now);
    let old_done = old_share(year.completion);
    let mut times: Vec<NaiveDateTime> = (0..n).map(|_| received(&mut rng, now)).collect();
    times.sort();
    let actor = Actor::system("cli:volume");
    for (b, chunk) in times.chunks(BATCH).enumerate() {
        let mut rows = Vec::with_capacity(chunk.len());
        let mut events = Vec::with_capacity(chunk.len() * 6);
        let mut terms = Vec::with_capacity(chunk.len());
        for (i, at) in chunk.iter().enumerate() {
            let seq = ((b * BATCH + i) % (1 << 16)) as u32;
            let topic = &TOPICS[*pick(&mut rng, &topics)];
            let cat = cats
                .iter()
                .find(|c| c.code == topic.0)
                .expect("filtered above");
            let text = topic.2[rng.gen_range(0..topic.2.len())];
            let grid = &grids[rng.gen_range(0..grids.len())];
            let (channel, taker) = {
                let opts: Vec<((Channel, &str), u32)> =
                    CHANNELS.iter().map(|(c, w, t)| ((*c, *t), *w)).collect();
                *pick(&mut rng, &opts)
            };
            let contact = format!(
                "{}{}",
                SURNAMES[rng.gen_range(0..SURNAMES.len())],
                GIVEN[rng.gen_range(0..GIVEN.len())]
            );
            let id = id_at(*at, seq << 6);
            let r = history(
                &mut rng,
                (&cal, now, old_done),
                id,
                *at,
                cat,
                grid,
                channel,
                text,
                &contact,
            );
            events.extend(events_of(&r, seq, taker));
            let key = format!("{text}\n{contact}");
            let t = terms_of
                .entry(key.clone())
                .or_insert_with(|| search::index_terms(&key))
                .clone();
            let mut t = format!("{} {t}", r.code.to_lowercase());
            if let Some(reply) = &r.reply {
                let rt = terms_of
                    .entry(reply.clone())
                    .or_insert_with(|| search::index_terms(reply))
                    .clone();
                t.push(' ');
                t.push_str(&rt);
            }
            terms.push((id, t));
            rows.push(r);
        }
        db.write_blocking(|c| {
            bulk::insert(c, &rows, &events, &terms)?;
            if b == 0 {
                bulk::record_load(c, &actor, n)?;
            }
            Ok(())
        })?;
    }
    Ok(n)
}

/// How often requests are done by their age: up to 2 days old, up to a week, up to 20 days.
/// Older ones are done as often as makes the year's share what was asked (`old_share`).
const YOUNG_DONE: [(i64, f64); 3] = [(2, 0.2), (7, 0.6), (20, 0.85)];

/// The share of requests older than the young ones' days that are done, for `completion` of
/// a year's (received evenly over its days) to be done.
fn old_share(completion: f64) -> f64 {
    let (mut from, mut young) = (0, 0.0);
    for (to, share) in YOUNG_DONE {
        young += (to - from) as f64 * share;
        from = to;
    }
    ((completion * 365.0 - young) / (365 - from) as f64).clamp(0.0, 1.0)
}

/// The share of requests of this age that are done.
fn done_share(age_days: i64, old: f64) -> f64 {
    YOUNG_DONE
        .iter()
        .find(|(to, _)| age_days < *to)
        .map_or(old, |(_, share)| *share)
}

/// One request as it stands today, given when it came in (`old_done`: how often one older
/// than the young ones is done).
#[allow(clippy::too_many_arguments)]
fn history(
    rng: &mut StdRng,
    (cal, now, old_done): (&WorkCalendar, NaiveDateTime, f64),
    id: i64,
    at: NaiveDateTime,
    cat: &requests::Category,
    grid: &Grid,
    channel: Channel,
    text: &str,
    contact: &str,
) -> Request {
    let due = cat
        .service_minutes
        .map(|m| requests::deadline(cal, at, i64::from(m)));
    let done_share = done_share((now - at).num_days(), old_done);
    let phone = format!(
        "13{}{:08}",
        rng.gen_range(0..10),
        rng.gen_range(0..100_000_000)
    );
    let input = shiliu_domain::requests::RequestInput {
        channel,
        description: text.into(),
        place: Some(format!("{}附近", grid.region.name)),
        contact_name: Some(contact.into()),
        contact_phone: shiliu_domain::mobile::Mobile::parse(&phone)
            .ok()
            .map(Into::into),
        consent: true,
        sms_consent: false,
        answers: shiliu_domain::requests::questions::RawAnswers::default(),
        media_url: None,
        point: None,
    };
    let mut r = Request::received(
        id,
        requests::tracking_code(rng),
        &requests::Arrival {
            input: &input,
            category_id: cat.id,
            region_id: grid.region.id,
            region_path: &grid.region.path,
            site_id: grid.site_id,
            unit_id: None,
            routed_by: grid.routed_by.clone(),
            intake_site_id: (channel == Channel::WalkIn)
                .then_some(grid.site_id)
                .flatten(),
            created_by: None,
            received_at: at,
            due_at: due,
        },
    );
    if grid.site_id.is_none() {
        return r;
    }
    if !rng.gen_bool(done_share) {
        let open = [
            Status::Dispatched,
            Status::Accepted,
            Status::InProgress,
            Status::WaitingResident,
        ];
        r.status = open[rng.gen_range(0..open.len())].as_str().into();
        r.updated_at = at + Duration::hours(2);
        if let Some(d) = due.filter(|d| *d < now) {
            r.escalated_at = Some(d + Duration::minutes(10));
            r.reminded_at = Some(d - Duration::hours(4));
        }
        return r;
    }
    // Handling takes a share of the service level: most within it, some beyond.
    let sla = due.map_or(Duration::days(3), |d| d - at);
    let share = if rng.gen_bool(0.92) {
        rng.gen_range(0.1..0.95)
    } else {
        rng.gen_range(1.0..1.6)
    };
    let resolved = (at + Duration::seconds((sla.num_seconds() as f64 * share) as i64)).min(now);
    r.resolved_at = Some(resolved);
    r.outcome = Some(
        match rng.gen_range(0..100) {
            0..=87 => "solved",
            88..=96 => "partly_solved",
            _ => "unsolved",
        }
        .into(),
    );
    r.reply = Some(REPLIES[rng.gen_range(0..REPLIES.len())].into());
    r.status = Status::Resolved.as_str().into();
    r.updated_at = resolved;
    let rated = resolved + Duration::hours(rng.gen_range(4..72));
    if rated < now && rng.gen_bool(0.85) {
        r.rating = Some(
            match rng.gen_range(0..100) {
                0..=88 => "satisfied",
                89..=96 => "fairly_satisfied",
                _ => "dissatisfied",
            }
            .into(),
        );
        r.rated_at = Some(rated);
        r.status = Status::Rated.as_str().into();
        r.updated_at = rated;
        let closed = rated + Duration::days(rng.gen_range(1..10));
        if closed < now && r.rating.as_deref() != Some("dissatisfied") {
            r.closed_at = Some(closed);
            r.status = Status::Closed.as_str().into();
            r.updated_at = closed;
        }
    }
    r
}

/// The history that brought `r` to its status.
fn events_of(r: &Request, seq: u32, taker: &str) -> Vec<RequestEvent> {
    let status = r.status();
    let at = r.received_at;
    let mut steps: Vec<(NaiveDateTime, &str, Option<Status>, Status, &str)> =
        vec![(at, "receive", None, Status::Received, taker)];
    if status != Status::Received {
        steps.push((
            at + Duration::minutes(20),
            "dispatch",
            Some(Status::Received),
            Status::Dispatched,
            "调度员",
        ));
    }
    let handled = !matches!(status, Status::Received | Status::Dispatched);
    if handled {
        steps.push((
            at + Duration::hours(1),
            "accept",
            Some(Status::Dispatched),
            Status::Accepted,
            "站点工作人员",
        ));
        if status != Status::Accepted {
            steps.push((
                at + Duration::hours(2),
                "start",
                Some(Status::Accepted),
                Status::InProgress,
                "站点工作人员",
            ));
        }
    }
    if status == Status::WaitingResident {
        steps.push((
            at + Duration::hours(3),
            "wait_for_resident",
            Some(Status::InProgress),
            Status::WaitingResident,
            "站点工作人员",
        ));
    }
    if let Some(t) = r.resolved_at {
        steps.push((
            t,
            "resolve",
            Some(Status::InProgress),
            Status::Resolved,
            "站点工作人员",
        ));
    }
    if let Some(t) = r.rated_at {
        steps.push((t, "rate", Some(Status::Resolved), Status::Rated, "回访员"));
    }
    if let Some(t) = r.closed_at {
        steps.push((t, "close", Some(Status::Rated), Status::Closed, "回访员"));
    }
    steps
        .into_iter()
        .enumerate()
        .map(|(i, (t, action, from, to, who))| RequestEvent {
            id: id_at(t, (seq << 6) | i as u32),
            request_id: r.id,
            at: t,
            actor_id: None,
            actor: who.into(),
            action: action.into(),
            from_status: from.map(|s| s.as_str().to_string()),
            to_status: to.as_str().into(),
            note: None,
            detail: "{}".into(),
        })
        .collect()
}

/// A grid worker account for every grid of `city_code` (user name `wg-<grid code>`), as a city
/// staffs its grids; existing accounts are left alone. Returns how many were added.
pub fn grid_workers(db: &Db, city_code: &str, password_hash: &str) -> Result<usize, DbError> {
    use shiliu_db::accounts::{self, NewUser};
    use shiliu_domain::accounts::Username;
    use shiliu_domain::roles::Role;
    let actor = Actor::system("cli:demo");
    db.write_blocking(|c| {
        let mut rng = StdRng::seed_from_u64(7);
        let mut added = 0;
        for g in grids(c, city_code)? {
            let name = format!("wg-{}", g.region.code.to_lowercase());
            let Ok(username) = Username::parse(&name) else {
                continue;
            };
            if accounts::find_by_username(c, username.as_str())?.is_some() {
                continue;
            }
            let Some(community) = g.region.parent_id else {
                continue;
            };
            let display = format!(
                "{}{} {}网格员",
                SURNAMES[rng.gen_range(0..SURNAMES.len())],
                GIVEN[rng.gen_range(0..GIVEN.len())],
                g.region.name
            );
            accounts::create_user(
                c,
                &shiliu_db::scope::Can::check(&actor).unwrap(),
                &NewUser {
                    username,
                    display_name: display,
                    password_hash: password_hash.to_string(),
                    role: Role::GridWorker,
                    region_id: community,
                    unit_id: None,
                    site_id: g.site_id,
                    phone: None,
                    grid_ids: vec![g.region.id],
                },
            )?;
            added += 1;
        }
        Ok(added)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_old_share_makes_the_years_completion() {
        for completion in [0.9, 0.94, USUAL_COMPLETION] {
            let done: f64 = (0..365).map(|d| done_share(d, old_share(completion))).sum();
            assert!((done / 365.0 - completion).abs() < 1e-9, "{completion}");
        }
        assert!(
            (old_share(USUAL_COMPLETION) - 0.9634).abs() < 1e-3,
            "the curve it had"
        );
        assert!(
            (done_share(0, 0.9) - 0.2).abs() < 1e-9 && (done_share(19, 0.9) - 0.85).abs() < 1e-9
        );
        assert!((old_share(1.0) - 1.0).abs() < 1e-9 && old_share(0.0).abs() < 1e-9);
    }
}
