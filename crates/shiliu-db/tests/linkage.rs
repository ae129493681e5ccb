//! 流出地与流入地联动: who the home side sees (by rule, audited) and requests for assistance
//! between the two sides — on both engines.

use chrono::NaiveDate;
use diesel::prelude::*;
use shiliu_db::accounts::{self, NewUser};
use shiliu_db::registry::linkage::{self, OutMigrantFilter, Side};
use shiliu_db::registry::{self, Household, OnDuplicate, Registration, Vault};
use shiliu_db::schema::audit_log;
use shiliu_db::scope::{Actor, Can, Scope};
use shiliu_db::testing::TestDb;
use shiliu_db::{DbConnection, DbError, both_engines, org};
use shiliu_domain::accounts::Username;
use shiliu_domain::id_number::check_char;
use shiliu_domain::org::RegionInput;
use shiliu_domain::registry::{
    AssistInput, AssistStatus, ConsentChannel, ConsentPurpose, PersonForm, PersonInput,
};
use shiliu_domain::roles::Role;

fn number(first17: &str) -> String {
    format!("{first17}{}", check_char(first17.as_bytes()))
}

fn today() -> NaiveDate {
    shiliu_db::today()
}

fn person(name: &str, first17: &str) -> PersonInput {
    PersonInput::parse(
        &PersonForm {
            name: name.into(),
            id_number: number(first17),
            people: "侗族".into(),
            address: "衡阳路 8 号".into(),
            employment: "flexible".into(),
            ..PersonForm::default()
        },
        today(),
    )
    .unwrap()
}

const WITH_LINKAGE: &[(ConsentPurpose, ConsentChannel)] = &[
    (ConsentPurpose::Registration, ConsentChannel::Staff),
    (ConsentPurpose::Linkage, ConsentChannel::Staff),
];
const WITHOUT: &[(ConsentPurpose, ConsentChannel)] =
    &[(ConsentPurpose::Registration, ConsentChannel::Staff)];

/// A signed-in member of staff at the region with this code.
fn staff(c: &mut DbConnection, name: &str, code: &str) -> Result<Actor, DbError> {
    let region = org::get_region_by_code(c, &Scope::everything(), code)?;
    let user = accounts::create_user(
        c,
        &shiliu_db::scope::Can::check(&Actor::system("test")).unwrap(),
        &NewUser {
            username: Username::parse(name).unwrap(),
            display_name: name.into(),
            password_hash: "x".into(),
            role: Role::CommissionStaff,
            region_id: region.id,
            unit_id: None,
            site_id: None,
            phone: None,
            grid_ids: vec![],
        },
    )?;
    accounts::acting_as(c, &user, &format!("test-{name}"))
}

struct World {
    /// 三江 (450226), 柳州市 (450200), 南宁市 (450100), 钦州市 (450700).
    sanjiang: Actor,
    liuzhou: Actor,
    nanning: Actor,
    qinzhou: Actor,
    /// From 三江, living in 南宁, agreed to the linkage.
    wei: registry::Person,
    /// From 三江, living in 南宁, did not agree.
    yang: registry::Person,
    /// From 贵州 (not on the platform), living in 南宁.
    pan: registry::Person,
    /// From 三江, living in 柳州 (inside 柳州市's own scope).
    wu: registry::Person,
}

fn world(c: &mut DbConnection, vault: &Vault) -> Result<World, DbError> {
    let sys = Actor::system("test");
    let all = Scope::everything();
    let town = org::get_region_by_code(c, &all, "450107001")?;
    let comm = org::create_child_region(
        c,
        &sys,
        town.id,
        &RegionInput::parse("安居社区", "").unwrap(),
    )?;
    let grid = org::create_child_region(
        c,
        &sys,
        comm.id,
        &RegionInput::parse("第一网格", "").unwrap(),
    )?;
    let lz = org::get_region_by_code(c, &all, "450202")?;
    let lz_town = org::children(c, &all, lz.id, false)?
        .into_iter()
        .next()
        .unwrap();
    let mut reg = |p: PersonInput, region_id: i64, consents| {
        registry::register(
            c,
            &shiliu_db::scope::Can::check(&sys).unwrap(),
            vault,
            &Registration {
                person: &p,
                region_id,
                household: Household::New,
                consents,
                on_duplicate: OnDuplicate::Refuse,
            },
        )
        .map(|r| r.person().clone())
    };
    let wei = reg(person("韦小红", "45022619950304202"), grid.id, WITH_LINKAGE)?;
    let yang = reg(person("杨大山", "45022619880101101"), grid.id, WITHOUT)?;
    let pan = reg(person("潘美", "52263319900505202"), grid.id, WITH_LINKAGE)?;
    let wu = reg(
        person("吴勇", "45022619920707301"),
        lz_town.id,
        WITH_LINKAGE,
    )?;
    Ok(World {
        sanjiang: staff(c, "sanjiang", "450226")?,
        liuzhou: staff(c, "liuzhou", "450200")?,
        nanning: staff(c, "nanning", "450100")?,
        qinzhou: staff(c, "qinzhou", "450700")?,
        wei,
        yang,
        pan,
        wu,
    })
}

fn ids(rows: &[linkage::OutMigrant]) -> Vec<i64> {
    rows.iter().map(|m| m.id).collect()
}

both_engines!(
    the_home_side_sees_its_consenting_out_migrants,
    |t: TestDb| {
        let vault = Vault::random();
        let w = t.db.write_blocking(move |c| world(c, &vault)).unwrap();
        assert_eq!(w.sanjiang.scope().origins(), ["450226"]);
        assert_eq!(w.liuzhou.scope().origins(), ["4502"]);
        let f = OutMigrantFilter::default();
        let (sj, lz, nn, lz_sj, masked) =
            t.db.write_blocking({
                let w = (w.sanjiang.clone(), w.liuzhou.clone(), w.nanning.clone());
                move |c| {
                    let sj = linkage::out_migrants(c, &Can::check(&w.0)?, &f, None, 10)?;
                    let lz = linkage::out_migrants(c, &Can::check(&w.1)?, &f, None, 10)?;
                    let nn = linkage::out_migrants(c, &Can::check(&w.2)?, &f, None, 10)?;
                    let narrowed = OutMigrantFilter {
                        hukou: Some("450226".into()),
                        ..f.clone()
                    };
                    let lz_sj = linkage::out_migrants(c, &Can::check(&w.1)?, &narrowed, None, 10)?;
                    let masked = sj.first().map(|m| m.name.clone());
                    Ok((sj, lz, nn, lz_sj, masked))
                }
            })
            .unwrap();
        // 三江 sees those who agreed, wherever they live outside 三江; never who did not agree.
        assert_eq!(ids(&sj), [w.wu.id, w.wei.id]);
        assert!(!ids(&sj).contains(&w.yang.id));
        // 柳州市 sees 三江's people in 南宁, not those in its own register.
        assert_eq!(ids(&lz), [w.wei.id]);
        assert_eq!(ids(&lz_sj), [w.wei.id]);
        // 南宁市 is nobody's home here.
        assert!(nn.is_empty());
        assert_eq!(masked.as_deref(), Some("吴*"));

        // Each list is audited, with how many were shown.
        let logged: Vec<String> =
            t.db.write_blocking(|c| {
                Ok(audit_log::table
                    .filter(audit_log::action.eq("person.out_migrants"))
                    .filter(audit_log::actor.eq("sanjiang"))
                    .select(audit_log::detail)
                    .load(c)?)
            })
            .unwrap();
        assert_eq!(logged.len(), 1);
        assert!(logged[0].contains("\"shown\":2"), "{logged:?}");

        // Moving out of the area ends the home side's view.
        let (sys, wei) = (Actor::system("test"), w.wei.clone());
        let sj_actor = w.sanjiang.clone();
        let after =
            t.db.write_blocking(move |c| {
                registry::move_out(
                    c,
                    &shiliu_db::scope::Can::check(&sys).unwrap(),
                    wei.id,
                    wei.version,
                    today(),
                )?;
                linkage::out_migrants(
                    c,
                    &Can::check(&sj_actor)?,
                    &OutMigrantFilter::default(),
                    None,
                    10,
                )
            })
            .unwrap();
        assert_eq!(ids(&after), [w.wu.id]);
    }
);

fn ask(kind: &str, subject: &str) -> AssistInput {
    let due = (today() + chrono::Duration::days(7)).to_string();
    AssistInput::parse(kind, subject, "请核实其家庭情况", &due, today()).unwrap()
}

fn reason(e: &DbError) -> &'static str {
    match e {
        DbError::Invalid(errs) => errs.0[0].reason,
        other => panic!("expected a field error, got {other:?}"),
    }
}

both_engines!(the_two_sides_ask_each_other_and_reply, |t: TestDb| {
    let vault = Vault::random();
    let w = t.db.write_blocking(move |c| world(c, &vault)).unwrap();

    // The home side asks about its out-migrant: from 三江 to the grid where she lives.
    let (sj, nn, lz, qz) = (
        w.sanjiang.clone(),
        w.nanning.clone(),
        w.liuzhou.clone(),
        w.qinzhou.clone(),
    );
    let (wei, yang, pan) = (w.wei.id, w.yang.id, w.pan.id);
    let (a, refused, incoming, outgoing, hidden) =
        t.db.write_blocking(move |c| {
            let a = linkage::ask(c, &sj, wei, &ask("verify", "核实韦小红子女入学情况"))?;
            let refused = linkage::ask(c, &sj, yang, &ask("verify", "x")).unwrap_err();
            let incoming = linkage::list(c, &nn, Side::Incoming, None, None, 10)?;
            let outgoing = linkage::list(c, &sj, Side::Outgoing, None, None, 10)?;
            let hidden = linkage::get(c, qz.scope(), a.id).unwrap_err();
            Ok((a, refused, incoming, outgoing, hidden))
        })
        .unwrap();
    assert_eq!(a.to_region_id, w.wei.region_id);
    assert_eq!(reason(&refused), "err.assist.person_unknown");
    assert_eq!(incoming.iter().map(|x| x.id).collect::<Vec<_>>(), [a.id]);
    assert_eq!(outgoing.iter().map(|x| x.id).collect::<Vec<_>>(), [a.id]);
    assert!(matches!(hidden, DbError::NotFound));

    // The asked side replies once; the asking side may not reply; a second reply is stale.
    let (nn, sj) = (w.nanning.clone(), w.sanjiang.clone());
    let (waiting, answered, again, wrong_side, view, closed) =
        t.db.write_blocking(move |c| {
            let waiting = linkage::waiting(c, nn.scope(), today())?;
            let wrong_side = linkage::reply(c, &sj, a.id, a.version, "好").unwrap_err();
            let answered = linkage::reply(c, &nn, a.id, a.version, "已入读衡阳小学三年级")?;
            let again = linkage::reply(c, &nn, a.id, a.version, "再答").unwrap_err();
            let view = linkage::view(c, &sj, a.id)?;
            let closed = linkage::close(c, &sj, a.id, answered.version)?;
            Ok((waiting, answered, again, wrong_side, view, closed))
        })
        .unwrap();
    assert_eq!(waiting, (1, 0));
    assert_eq!(answered.status, AssistStatus::Answered.as_str());
    assert_eq!(answered.reply.as_deref(), Some("已入读衡阳小学三年级"));
    assert!(matches!(again, DbError::Stale));
    assert_eq!(reason(&wrong_side), "err.assist.not_asked_of_you");
    let shown = view.1.expect("the home side still sees its out-migrant");
    assert_eq!(shown.name, "韦**");
    assert_eq!(closed.status, AssistStatus::Closed.as_str());

    // The side where they live asks the home county; a home off the platform is a clear error.
    let (nn, sj) = (w.nanning.clone(), w.sanjiang.clone());
    let (back, off, to_sanjiang) =
        t.db.write_blocking(move |c| {
            let back = linkage::ask(c, &nn, wei, &ask("assist", "协助办理低保转移"))?;
            let off = linkage::ask(c, &nn, pan, &ask("verify", "x")).unwrap_err();
            let to_sanjiang = linkage::list(c, &sj, Side::Incoming, None, None, 10)?;
            Ok((back, off, to_sanjiang))
        })
        .unwrap();
    assert_eq!(reason(&off), "err.assist.home_not_on_platform");
    // Only about those who agreed; never of a home inside one's own area.
    let (nn2, lz2, wu) = (w.nanning.clone(), w.liuzhou.clone(), w.wu.id);
    let (unagreed, own_home) =
        t.db.write_blocking(move |c| {
            Ok((
                linkage::ask(c, &nn2, yang, &ask("verify", "x")).unwrap_err(),
                linkage::ask(c, &lz2, wu, &ask("verify", "x")).unwrap_err(),
            ))
        })
        .unwrap();
    assert_eq!(reason(&unagreed), "err.assist.no_consent");
    assert_eq!(reason(&own_home), "err.assist.home_is_yours");
    assert_eq!(
        to_sanjiang.iter().map(|x| x.id).collect::<Vec<_>>(),
        [back.id]
    );
    // 柳州市 covers 三江: it sees what is asked of its county too.
    let lz_in =
        t.db.write_blocking(move |c| linkage::list(c, &lz, Side::Incoming, None, None, 10))
            .unwrap();
    assert_eq!(lz_in.len(), 1);

    // Every write and view is in the audit log.
    let actions: Vec<String> =
        t.db.write_blocking(|c| {
            Ok(audit_log::table
                .filter(audit_log::entity.eq("assist"))
                .order(audit_log::seq)
                .select(audit_log::action)
                .load(c)?)
        })
        .unwrap();
    let mut actions = actions;
    actions.sort();
    actions.dedup();
    assert_eq!(
        actions,
        [
            "assist.close",
            "assist.create",
            "assist.list",
            "assist.reply",
            "assist.view"
        ]
    );
});
