//! Property: no sequence of market samplings, by inspectors or by parties that are not, naming
//! enrolled or unenrolled makers, breaks the samplings' bookkeeping.
//!
//! The bureau, the lab (accredited for wires and cables once the first step has recorded it) and
//! the cable maker sign random inspections of sampled products: of any of three makers (the
//! enrolled cable maker and two that never enrolled, one of which may enrol on the way), in a
//! listed or an unlisted category, sampled before or after they were inspected, naming the lab's
//! accreditation, another or none. After every step:
//!
//! - the consortium's off-ledger samplings are numbered `0..n`, `n` the samplings accepted, each
//!   entry naming the accepted transaction's maker, category and outcome;
//! - each maker's failed inspections are what it started with plus its failed samplings, and
//!   they survive its enrolment;
//! - a refused transaction changes no state (`World::submit` checks the digest).

use std::collections::BTreeMap;

use proptest::prelude::*;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{uscc, who};
use suyuan_ledger::facts::FactsRead;
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::record::{
    AccreditationEntry, Inspection, Outcome, Record, RegisterEnterprise, SampledProduct, Subject,
    UpdateEnterprise,
};
use suyuan_ledger::state::StateReadExt;

#[macro_use]
mod support;
use support::*;

/// The makers a sampling may name: the demo's cable maker, and two that never enrolled.
fn maker(world: &World, n: u8) -> Uscc {
    match n % 3 {
        0 => world.enterprise(who::CABLE_MAKER).profile.uscc,
        1 => uscc("91420100MA4K9X0W5"),
        _ => uscc("91110000MA01ABCD2"),
    }
}

/// One step, by small integers: who signs, which maker, which category, which dates, which
/// outcome and which accreditation; kind 7 enrols the first unenrolled maker instead.
type Step = (u8, u8, u8, u8, u8, u8);

fn accredit(world: &mut World) {
    let lab = world.enterprise(who::LAB);
    let mut profile = lab.profile.clone();
    profile.accreditations = vec![AccreditationEntry {
        number: "CNAS L5678".parse().unwrap(),
        scope: vec!["wires_cables".parse().unwrap()],
        valid_from: "2024-03-01".parse().unwrap(),
        valid_until: "2030-02-28".parse().unwrap(),
    }];
    let bureau = world.demo.bureau.clone();
    let update = Record::UpdateEnterprise(UpdateEnterprise {
        enterprise: profile,
    });
    world
        .submit(&bureau, update)
        .expect("the bureau accredits its lab");
}

fn step_record(world: &World, step: Step) -> (KeyPair, Record) {
    let (signer, maker_n, category, dates, outcome, accreditation) = step;
    let key = match signer % 3 {
        0 => world.demo.bureau.clone(),
        1 => world.enterprise(who::LAB).key,
        _ => world.enterprise(who::CABLE_MAKER).key,
    };
    if outcome % 8 == 7 {
        let mut profile = world.enterprise(who::CABLE_MAKER).profile;
        profile.uscc = maker(world, 1);
        let enrol = Record::RegisterEnterprise(RegisterEnterprise {
            enterprise: profile,
            keys: vec![KeyPair::insecure_from_label("sampled maker").public()],
            prefixes: Vec::new(),
        });
        return (world.demo.bureau.clone(), enrol);
    }
    let category = ["wires_cables", "gas_appliances", "no_such_category"][category as usize % 3];
    let sampled_on = ["2026-01-04", "2026-01-06", "2026-01-07"][dates as usize % 3];
    let product = SampledProduct {
        maker: maker(world, maker_n),
        maker_name: "A Cable Works".parse().unwrap(),
        product_name: "copper cable".parse().unwrap(),
        model: "BV 4 mm²".parse().unwrap(),
        category: category.parse().unwrap(),
        batch: None,
        printed_code: None,
        sampled_on: sampled_on.parse().unwrap(),
        sampled_in: "420104".parse().unwrap(),
        place: "a hardware market".parse().unwrap(),
    };
    let accreditation = match accreditation % 3 {
        0 => Some("CNAS L5678".parse().unwrap()),
        1 => Some("CNAS IB0001".parse().unwrap()),
        _ => None,
    };
    let record = Record::Inspect(Inspection {
        subject: Subject::Sampled(Box::new(product)),
        outcome: if outcome % 2 == 0 {
            Outcome::NonConformant
        } else {
            Outcome::Conformant
        },
        standards: vec!["GB/T 5023.3-2008".parse().unwrap()],
        inspected_on: "2026-01-06".parse().unwrap(),
        report_number: "R".parse().unwrap(),
        document_sha256: Hash32::ZERO,
        findings: None,
        accreditation,
    });
    (key, record)
}

fn failed(world: &World, maker: &Uscc) -> u64 {
    world
        .state
        .enterprise_facts(maker)
        .unwrap()
        .map_or(0, |facts| facts.failed_inspections())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn sampling_bookkeeping_holds_under_any_sequence(
        steps in proptest::collection::vec(any::<Step>(), 1..30)
    ) {
        let mut world = World::new();
        accredit(&mut world);
        let makers: Vec<Uscc> = (0..3).map(|n| maker(&world, n)).collect();
        let mut expected_failed: BTreeMap<Uscc, u64> =
            makers.iter().map(|m| (m.clone(), failed(&world, m))).collect();
        let mut accepted: Vec<(Uscc, Outcome, String)> = Vec::new();
        for step in steps {
            let (key, record) = step_record(&world, step);
            let sampling = match &record {
                Record::Inspect(inspection) => {
                    let product = inspection.subject.sampled().unwrap();
                    Some((
                        product.maker.clone(),
                        inspection.outcome,
                        product.category.to_string(),
                    ))
                }
                _ => None,
            };
            if world.submit(&key, record).is_ok()
                && let Some((maker, outcome, category)) = sampling
            {
                prop_assert_ne!(category.as_str(), "no_such_category");
                if outcome == Outcome::NonConformant {
                    *expected_failed.get_mut(&maker).unwrap() += 1;
                }
                accepted.push((maker, outcome, category));
            }
            prop_assert_eq!(world.state.off_ledger_samplings().unwrap(), accepted.len() as u64);
            for (n, (maker, outcome, category)) in accepted.iter().enumerate() {
                let entry = world.state.off_ledger_sampling(n as u64).unwrap().unwrap();
                prop_assert_eq!(&entry.maker, maker);
                prop_assert_eq!(entry.outcome, *outcome);
                prop_assert_eq!(entry.category.as_str(), category.as_str());
            }
            for maker in &makers {
                prop_assert_eq!(failed(&world, maker), expected_failed[maker]);
            }
        }
    }
}
