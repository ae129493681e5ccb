//! The demo's evaluation is carried through every stage (the small demo: 南宁市's units), on
//! both engines, through the same functions the pages use; its communities are the official ones.

use shiliu::demo::{self, Scale};
use shiliu_db::both_engines;
use shiliu_db::evaluation::{self as ev, results};
use shiliu_db::org;
use shiliu_db::scope::Scope;
use shiliu_db::testing::TestDb;
use shiliu_domain::divisions;
use shiliu_domain::evaluation::{Round, Stage};
use shiliu_domain::org::RegionKind;

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

both_engines!(the_demos_communities_are_the_official_ones, |t: TestDb| {
    demo::seed(
        &t.db,
        "x",
        Scale::Small,
        &shiliu_db::registry::Vault::random(),
    )
    .unwrap();
    t.db.write_blocking(|c| {
        let all = Scope::everything();
        let county = org::get_region_by_code(c, &all, "450107")?;
        let below = org::subtree(c, &all, county.id)?;
        let of = |kind| below.iter().filter(move |r| r.kind() == kind);
        // Every township of 西乡塘区 has its villages and communities as the statistics bureau
        // lists them: their codes, and the names people use.
        let listed: usize = of(RegionKind::Township)
            .map(|town| divisions::villages(&town.code).len())
            .sum();
        assert_eq!(of(RegionKind::Community).count(), listed);
        for r in of(RegionKind::Community) {
            let v = divisions::village(&r.code)
                .unwrap_or_else(|| panic!("{} {} is not in the reference data", r.code, r.name));
            assert_eq!(r.name, v.name);
            let town = below.iter().find(|p| Some(p.id) == r.parent_id).unwrap();
            assert_eq!(town.code, v.parent, "{}", r.name);
            assert!(
                below
                    .iter()
                    .any(|g| g.parent_id == Some(r.id) && g.kind() == RegionKind::Grid),
                "{} has grids",
                r.name
            );
        }
        // The places the documents name are there by their names.
        for (code, name) in [("450107002201", "万秀村"), ("450107001001", "中华中路社区")]
        {
            assert_eq!(org::get_region_by_code(c, &all, code)?.name, name);
        }
        // The demo grid worker works in 北湖街道's first community.
        let grid = shiliu_db::accounts::find_by_username(c, "grid")?.unwrap();
        let first = shiliu_db::accounts::user_grid_ids(c, grid.id)?;
        let community = org::get_region(c, &all, first[0])?.parent_id;
        assert_eq!(
            org::get_region_by_code(c, &all, "450107002003")?.id,
            community.unwrap(),
            "秀湖社区"
        );
        Ok(())
    })
    .unwrap();
});
