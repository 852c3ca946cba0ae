//! Accredited inspections and market samplings of products not on the ledger: one test per
//! rule over the demo consortium's story; each refusal names its rule and leaves state
//! unchanged (`World::submit` checks the digest).

use suyuan_ledger::codes::accreditation::Accreditation;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::demo::{Demo, DemoEnterprise, uscc, who};
use suyuan_ledger::exec::RuleError;
use suyuan_ledger::facts::{EnterpriseFacts, FactsRead, Listed, Listing};
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::record::{
    AccreditationEntry, Inspection, Outcome, Recall, Record, SampledProduct, Subject,
    UpdateEnterprise,
};
use suyuan_ledger::state::StateReadExt;

#[macro_use]
mod support;
use support::*;

fn lab_number() -> Accreditation {
    "CNAS L5678".parse().unwrap()
}

fn entry(number: &str, scope: &[&str], from: &str, until: &str) -> AccreditationEntry {
    AccreditationEntry {
        number: number.parse().unwrap(),
        scope: scope.iter().map(|id| id.parse().unwrap()).collect(),
        valid_from: from.parse().unwrap(),
        valid_until: until.parse().unwrap(),
    }
}

/// The update of `lab`'s profile, for the bureau to sign, that records `entries` as its
/// accreditations.
fn accreditations_update(lab: &DemoEnterprise, entries: Vec<AccreditationEntry>) -> Record {
    let mut profile = lab.profile.clone();
    profile.accreditations = entries;
    Record::UpdateEnterprise(UpdateEnterprise {
        enterprise: profile,
    })
}

/// The story, then the bureau records `entries` as the lab's accreditations.
fn accredited_world(entries: Vec<AccreditationEntry>) -> (World, DemoEnterprise) {
    let mut world = World::new();
    let lab = world.enterprise(who::LAB);
    let bureau = world.demo.bureau.clone();
    let update = accreditations_update(&lab, entries);
    assert_eq!(world.submit(&bureau, update), Ok(()));
    (world, lab)
}

/// The lab accredited for wires and cables, 2024 to 2030.
fn cable_lab_world() -> (World, DemoEnterprise) {
    accredited_world(vec![entry(
        "CNAS L5678",
        &["wires_cables"],
        "2024-03-01",
        "2030-02-28",
    )])
}

fn sampled(maker: Uscc, category: &str, sampled_on: &str) -> Subject {
    Subject::Sampled(Box::new(SampledProduct {
        maker,
        maker_name: "Some Cable Works".parse().unwrap(),
        product_name: "PVC-insulated copper cable".parse().unwrap(),
        model: "BV 4 mm²".parse().unwrap(),
        category: category.parse().unwrap(),
        batch: Some("20251108".parse().unwrap()),
        printed_code: None,
        sampled_on: sampled_on.parse().unwrap(),
        sampled_in: "420104".parse().unwrap(),
        place: "Hanzheng Street hardware market".parse().unwrap(),
    }))
}

fn inspection(subject: Subject, outcome: Outcome, accreditation: Option<Accreditation>) -> Record {
    Record::Inspect(Inspection {
        subject,
        outcome,
        standards: vec!["GB/T 5023.3-2008".parse().unwrap()],
        inspected_on: "2026-01-06".parse().unwrap(),
        report_number: "WHCT-TEST".parse().unwrap(),
        document_sha256: Hash32::ZERO,
        findings: None,
        accreditation,
    })
}

/// A conformant inspection of the story's cable lot, under `accreditation` if given.
fn passed_cable_lot(accreditation: Option<Accreditation>) -> Record {
    inspection(
        Subject::Code(cable_lot()),
        Outcome::Conformant,
        accreditation,
    )
}

/// A failed market sampling of a product of `category` whose label names `maker`, sampled on
/// `sampled_on`, under `accreditation` if given.
fn failed_sampling(
    maker: Uscc,
    category: &str,
    sampled_on: &str,
    accreditation: Option<Accreditation>,
) -> Record {
    inspection(
        sampled(maker, category, sampled_on),
        Outcome::NonConformant,
        accreditation,
    )
}

/// `uscc`'s whole-history figures, which it has once enrolled or sampled.
fn facts(world: &World, uscc: &Uscc) -> EnterpriseFacts {
    world.state.enterprise_facts(uscc).unwrap().unwrap()
}

fn cable_maker(world: &World) -> DemoEnterprise {
    world.enterprise(who::CABLE_MAKER)
}

/// A USCC no demo enterprise has: a cable works that never enrolled.
const UNENROLLED: &str = "91420100MA4K9X0W5";

#[test]
fn an_accredited_lab_inspects_under_its_accreditation() {
    let (mut world, lab) = cable_lab_world();
    let record = passed_cable_lot(Some(lab_number()));
    assert_eq!(world.submit(&lab.key, record), Ok(()));
}

#[test]
fn accreditation_missing() {
    let (mut world, lab) = cable_lab_world();
    let record = passed_cable_lot(None);
    assert_refused!(
        world.submit(&lab.key, record),
        RuleError::AccreditationMissing { .. }
    );
}

#[test]
fn a_lab_without_recorded_accreditations_still_inspects_unattributed() {
    let mut world = World::new();
    let lab = world.enterprise(who::LAB);
    let record = passed_cable_lot(None);
    assert_eq!(world.submit(&lab.key, record), Ok(()));
}

/// Under a genesis that requires accreditation, a lab whose registrar has recorded none cannot
/// inspect at all: the registrar of a sham inspection body cannot let it fail a competitor's
/// products unattributed.
#[test]
fn accreditation_required_by_genesis_leaves_no_unattributed_inspection() {
    // Enrolments, models, production: the story's inspections would be refused.
    let mut world =
        World::with_story_start(|genesis| genesis.accreditation_required = Some(true), 3);
    // The next blocks come a week later, when the inspections are dated.
    world.height += 7;
    let lab = world.enterprise(who::LAB);
    let bureau = world.demo.bureau.clone();
    assert!(lab.profile.accreditations.is_empty());
    assert_refused!(
        world.submit(&lab.key, passed_cable_lot(None)),
        RuleError::AccreditationMissing { .. }
    );
    let update = accreditations_update(
        &lab,
        vec![entry(
            "CNAS L5678",
            &["wires_cables"],
            "2024-03-01",
            "2030-02-28",
        )],
    );
    assert_eq!(world.submit(&bureau, update), Ok(()));
    assert_refused!(
        world.submit(&lab.key, passed_cable_lot(None)),
        RuleError::AccreditationMissing { .. }
    );
    assert_eq!(
        world.submit(&lab.key, passed_cable_lot(Some(lab_number()))),
        Ok(())
    );
    // A regulator has no profile and names none.
    assert_eq!(world.submit(&bureau, passed_cable_lot(None)), Ok(()));
}

#[test]
fn unknown_accreditation() {
    let (mut world, lab) = cable_lab_world();
    let other = Some("CNAS L9999".parse().unwrap());
    let record = passed_cable_lot(other);
    assert_refused!(
        world.submit(&lab.key, record),
        RuleError::UnknownAccreditation { .. }
    );
    // A regulator has no profile to hold one.
    let bureau = world.demo.bureau.clone();
    let record = passed_cable_lot(Some(lab_number()));
    assert_refused!(
        world.submit(&bureau, record),
        RuleError::UnknownAccreditation { .. }
    );
    // Without one, the regulator inspects.
    let record = passed_cable_lot(None);
    assert_eq!(world.submit(&bureau, record), Ok(()));
}

#[test]
fn accreditation_not_valid() {
    // Expired before the inspection date.
    let (mut world, lab) =
        accredited_world(vec![entry("CNAS L5678", &[], "2020-01-01", "2026-01-05")]);
    let record = passed_cable_lot(Some(lab_number()));
    assert_refused!(
        world.submit(&lab.key, record),
        RuleError::AccreditationNotValid { .. }
    );
    // Valid on the inspection date, expired by the block's date.
    let (mut world, lab) =
        accredited_world(vec![entry("CNAS L5678", &[], "2020-01-01", "2026-01-06")]);
    let record = passed_cable_lot(Some(lab_number()));
    assert_refused!(
        world.submit(&lab.key, record),
        RuleError::AccreditationNotValid { .. }
    );
}

#[test]
fn outside_accreditation_scope() {
    let (mut world, lab) = cable_lab_world();
    // The cooker model is a gas appliance, not a cable.
    let record = inspection(
        Subject::Code(cooker_lot()),
        Outcome::NonConformant,
        Some(lab_number()),
    );
    assert_refused!(
        world.submit(&lab.key, record),
        RuleError::OutsideAccreditationScope { .. }
    );
    let record = failed_sampling(
        uscc(UNENROLLED),
        "gas_appliances",
        "2026-01-05",
        Some(lab_number()),
    );
    assert_refused!(
        world.submit(&lab.key, record),
        RuleError::OutsideAccreditationScope { .. }
    );
}

#[test]
fn unknown_scope_category() {
    let mut world = World::new();
    let lab = world.enterprise(who::LAB);
    let bureau = world.demo.bureau.clone();
    let update = accreditations_update(
        &lab,
        vec![entry(
            "CNAS L5678",
            &["no_such_category"],
            "2024-03-01",
            "2030-02-28",
        )],
    );
    assert_refused!(
        world.submit(&bureau, update),
        RuleError::UnknownScopeCategory { .. }
    );
}

#[test]
fn a_profiles_accreditation_dates_and_duplicates_are_checked() {
    let mut world = World::new();
    let lab = world.enterprise(who::LAB);
    let bureau = world.demo.bureau.clone();
    let mut update = |entries| world.submit(&bureau, accreditations_update(&lab, entries));
    assert_refused!(
        update(vec![entry("CNAS L5678", &[], "2026-01-01", "2025-12-31")]),
        RuleError::ExpiresBeforeIssue { .. }
    );
    assert_refused!(
        update(vec![entry("CNAS L5678", &[], "2026-01-01", "2099-12-31")]),
        RuleError::ValidityTooLong { .. }
    );
    assert_refused!(
        update(vec![entry("CNAS L5678", &[], "2027-01-01", "2028-12-31")]),
        RuleError::InTheFuture { .. }
    );
    let twice = entry("cnasl5678", &[], "2024-01-01", "2028-12-31");
    assert_refused!(
        update(vec![twice.clone(), twice]),
        RuleError::Duplicate { .. }
    );
}

#[test]
fn a_failed_sampling_counts_against_an_enrolled_maker() {
    let (mut world, lab) = cable_lab_world();
    let cable = cable_maker(&world);
    let before = facts(&world, &cable.profile.uscc);
    let record = failed_sampling(
        cable.profile.uscc.clone(),
        "wires_cables",
        "2026-01-05",
        Some(lab_number()),
    );
    assert_eq!(world.submit(&lab.key, record), Ok(()));
    let after = facts(&world, &cable.profile.uscc);
    assert_eq!(after.failed_inspections(), before.failed_inspections() + 1);
    assert_eq!(
        after.inspections_conformant.out_of,
        before.inspections_conformant.out_of + 1
    );
    assert_eq!(after.codes_inspected, before.codes_inspected);
    let number = before.inspections_conformant.out_of;
    assert!(matches!(
        world
            .state
            .listed(&cable.profile.uscc, Listing::Inspections, number)
            .unwrap(),
        Some(Listed::Record(_))
    ));
    assert_eq!(world.state.off_ledger_samplings().unwrap(), 1);
    let entry = world.state.off_ledger_sampling(0).unwrap().unwrap();
    assert_eq!(entry.maker, cable.profile.uscc);
    assert_eq!(entry.outcome, Outcome::NonConformant);
}

#[test]
fn a_failed_sampling_gives_an_unenrolled_maker_facts_that_survive_its_enrolment() {
    let mut world = World::new();
    let bureau = world.demo.bureau.clone();
    let maker = uscc(UNENROLLED);
    let record = failed_sampling(maker.clone(), "wires_cables", "2026-01-05", None);
    assert_eq!(world.submit(&bureau, record), Ok(()));
    assert_eq!(world.state.enterprise(&maker).unwrap(), None);
    assert_eq!(facts(&world, &maker).failed_inspections(), 1);
    // It enrols: the failure stays, its keys count.
    let mut profile = cable_maker(&world).profile;
    profile.uscc = maker.clone();
    let key = suyuan_ledger::crypto::KeyPair::insecure_from_label("sampled maker");
    let enrol = Record::RegisterEnterprise(suyuan_ledger::record::RegisterEnterprise {
        enterprise: profile,
        keys: vec![key.public()],
        prefixes: Vec::new(),
    });
    assert_eq!(world.submit(&bureau, enrol), Ok(()));
    let enrolled = facts(&world, &maker);
    assert_eq!(enrolled.failed_inspections(), 1);
    assert_eq!(enrolled.keys_never_revoked.out_of, 1);
}

#[test]
fn dates_out_of_order() {
    let (mut world, lab) = cable_lab_world();
    let record = failed_sampling(
        uscc(UNENROLLED),
        "wires_cables",
        "2026-01-07",
        Some(lab_number()),
    );
    assert_refused!(
        world.submit(&lab.key, record),
        RuleError::DatesOutOfOrder { .. }
    );
}

#[test]
fn unknown_sampled_category() {
    let mut world = World::new();
    let bureau = world.demo.bureau.clone();
    let record = failed_sampling(uscc(UNENROLLED), "no_such_category", "2026-01-05", None);
    assert_refused!(
        world.submit(&bureau, record),
        RuleError::UnknownSampledCategory { .. }
    );
}

#[test]
fn sampled_category_mismatch() {
    // A lab accredited for gas appliances only declares a cable gas appliance, to fail it.
    let (mut world, lab) = accredited_world(vec![entry(
        "CNAS L5678",
        &["gas_appliances"],
        "2024-03-01",
        "2030-02-28",
    )]);
    let cable = cable_maker(&world).profile.uscc;
    let cable_lot_link = format!("https://id.gs1.org/01/{}/10/C2601A", Demo::cable_gtin());
    for printed in [Demo::cable_gtin().to_string(), cable_lot_link] {
        let mut subject = sampled(cable.clone(), "gas_appliances", "2026-01-05");
        if let Subject::Sampled(product) = &mut subject {
            product.printed_code = Some(printed.parse().unwrap());
        }
        let record = inspection(subject, Outcome::NonConformant, Some(lab_number()));
        assert_refused!(
            world.submit(&lab.key, record),
            RuleError::SampledCategoryMismatch { .. }
        );
    }
    // A code the ledger does not know is taken as printed: a counterfeit may invent one.
    let mut subject = sampled(cable, "gas_appliances", "2026-01-05");
    if let Subject::Sampled(product) = &mut subject {
        product.printed_code = Some("06951999000011".parse().unwrap());
    }
    let record = inspection(subject, Outcome::NonConformant, Some(lab_number()));
    assert_eq!(world.submit(&lab.key, record), Ok(()));
}

#[test]
fn sampled_not_recallable() {
    let mut world = World::new();
    let bureau = world.demo.bureau.clone();
    let cable = cable_maker(&world);
    let maker = cable.profile.uscc.clone();
    let record = Record::Recall(Recall {
        producer: cable.profile.uscc.clone(),
        subjects: vec![sampled(maker.clone(), "wires_cables", "2026-01-05")],
        reason: "failed sampling".parse().unwrap(),
        announced_on: "2026-01-06".parse().unwrap(),
    });
    assert_refused!(
        world.submit(&bureau, record),
        RuleError::SampledNotRecallable
    );
}

#[test]
fn the_dev_story_lowers_the_cable_makers_figures_by_its_failed_sampling() {
    let demo = Demo::new(4, 7100);
    let story = demo.story_state();
    let dev = demo.dev_story_state();
    let cable = &demo.enterprises[who::CABLE_MAKER].profile.uscc;
    let before = story.enterprise_facts(cable).unwrap().unwrap();
    let after = dev.enterprise_facts(cable).unwrap().unwrap();
    assert_eq!(after.failed_inspections(), before.failed_inspections() + 1);
    assert_eq!(dev.off_ledger_samplings().unwrap(), 1);
    let lab = dev
        .enterprise(&demo.enterprises[who::LAB].profile.uscc)
        .unwrap()
        .unwrap();
    assert_eq!(
        lab.profile.accreditations[0].number,
        Demo::lab_accreditation()
    );
}
