//! The demo's evaluation is carried through every stage (the small demo: 南宁市's units), on
//! both engines, through the same functions the pages use.

use shiliu::demo::{self, Scale};
use shiliu_db::both_engines;
use shiliu_db::evaluation::{self as ev, results};
use shiliu_db::scope::Scope;
use shiliu_db::testing::TestDb;
use shiliu_domain::evaluation::{Round, Stage};

both_engines!(the_demo_evaluation_runs_through_every_stage, |t: TestDb| {
    let n = demo::seed(
        &t.db,
        "x",
        Scale::Small,
        &shiliu_db::registry::Vault::random(),
    )
    .unwrap();
    assert_eq!(n.evaluated_units, 12);
    t.db.write_blocking(|c| {
        let city = shiliu_db::org::get_region_by_code(c, &Scope::everything(), "450100")?;
        let schemes = ev::schemes(c, &Scope::subtrees(vec![city.path]))?;
        let [this, last] = schemes.as_slice() else {
            panic!("two schemes: {schemes:?}")
        };
        assert_eq!(
            (last.stage(), this.stage()),
            (Stage::Published, Stage::SelfAssessment)
        );
        assert_eq!(this.copied_from, Some(last.id));
        // Last year: every unit ranked within its category, 1 first, from every round's scores.
        let r = results::results(c, last)?;
        assert_eq!(r.len(), 12);
        for cat in ev::categories(c, last)? {
            let ranks: Vec<usize> = r
                .iter()
                .filter(|x| x.category_id == cat.id)
                .map(|x| x.rank)
                .collect();
            assert_eq!(ranks.first(), Some(&1), "{}", cat.name);
            assert!(ranks.windows(2).all(|w| w[0] <= w[1]));
        }
        let unit = r[0].unit_id;
        for round in [Round::SelfAssessment, Round::First] {
            assert!(
                !shiliu_db::evaluation::scores::scores(c, last.id, unit, round)?.is_empty(),
                "{round}"
            );
        }
        assert!(results::pending_objections(c, last.id)?.is_empty());
        assert!(!results::decisions(c, last.id)?.is_empty());
        assert_eq!(results::corrections(c, last.id)?.len(), 1);
        // This year: the same tree and units, open for self-assessment, some submitted.
        assert_eq!(
            ev::tree(c, this)?.criteria().count(),
            ev::tree(c, last)?.criteria().count()
        );
        assert_eq!(ev::participants(c, this)?.len(), 12);
        let submitted = ev::participants(c, this)?
            .iter()
            .filter(|p| {
                shiliu_db::evaluation::scores::submission(
                    c,
                    this.id,
                    p.unit_id,
                    Round::SelfAssessment,
                )
                .ok()
                .flatten()
                .is_some()
            })
            .count();
        assert_eq!(submitted, 2);
        // A second run adds nothing.
        Ok(())
    })
    .unwrap();
    let again = demo::seed(
        &t.db,
        "x",
        Scale::Small,
        &shiliu_db::registry::Vault::random(),
    )
    .unwrap();
    assert_eq!(again.evaluated_units, 0);
});
