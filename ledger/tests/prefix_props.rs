//! Property: whatever dishonest producers and registrars sign, every code has at most one
//! rightful issuer, and only it registers or commissions codes under its prefix.
//!
//! The demo's enterprises and three registrars sign random prefix attestations, offers,
//! acceptances and revocations over a pool of overlapping prefixes, and random model
//! registrations and Ecode (numeric and `MA.`) and Handle commissionings, one block each. About
//! half are signed honestly (by the target's registrar, or for an offer by the holder); the rest
//! by anyone.
//! After every block:
//! - no two held prefixes overlap, and each enterprise's list of prefixes is exactly the prefixes
//!   state names it the holder of;
//! - the count of held prefixes under each prefix is the true count;
//! - a committed registration or commissioning was of codes under a prefix its enterprise held
//!   before the block;
//! - a prefix changed holder only by an acceptance of its holder's standing offer, signed by
//!   the taker's registrar or a regulator, or by a revocation.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use suyuan_ledger::codes::prefix::IdPrefix;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{Demo, factory_report, gtin};
use suyuan_ledger::exec::{BlockContext, Executor};
use suyuan_ledger::genesis::Member;
use suyuan_ledger::record::{
    AttestPrefix, Commissioning, Items, Record, RevokePrefix, TraceCode, TransferPrefix,
};
use suyuan_ledger::state::{MemState, PrefixState, StateKey, StateReadExt, StateValue};
use suyuan_ledger::text::Date;
use suyuan_ledger::tx::{Envelope, Payload};

const DAY_MS: u64 = 86_400_000;

const PREFIXES: [&str; 12] = [
    "gs1:6950123",
    "gs1:695012",
    "gs1:69501234",
    "gs1:6950987",
    "gs1:6951",
    "handle:88.608.2416",
    "handle:88.608.2416.7",
    "ecode:100012345",
    "ecode:1000123",
    "ecode:MA.156.M0.1002",
    "ecode:MA.156.M0.1002.7",
    "ecode:MA.156.M0.10021",
];

/// GTIN bodies under some, several or none of the pool's prefixes.
const GTIN_BODIES: [&str; 4] = [
    "0695012345077",
    "0695098765077",
    "0695100000017",
    "0697000000001",
];

/// Ecode and Handle code stems; a step's number makes each code new.
const CODE_STEMS: [&str; 7] = [
    "ecode:10001234567",
    "ecode:10001999999",
    "ecode:MA.156.M0.1002.7.S",
    "ecode:MA.156.M0.1002.L",
    "ecode:MA.156.M0.10021.S",
    "handle:88.608.2416.7/S",
    "handle:88.608.2416/S",
];

#[derive(Debug, Clone, Copy)]
struct Step {
    kind: u8,
    honest: bool,
    signer: u8,
    target: u8,
    pick: u8,
}

fn step() -> impl Strategy<Value = Step> {
    (
        any::<u8>(),
        any::<bool>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
    )
        .prop_map(|(kind, honest, signer, target, pick)| Step {
            kind,
            honest,
            signer,
            target,
            pick,
        })
}

struct World {
    demo: Demo,
    registrars: Vec<KeyPair>,
    signers: Vec<KeyPair>,
}

fn world() -> World {
    let mut demo = Demo::new(4, 7100);
    demo.genesis.time_windows = None;
    let chamber = KeyPair::insecure_from_label("prefix chamber of commerce");
    demo.genesis.registrars.push(Member {
        name: "Wuhan General Chamber of Commerce".parse().unwrap(),
        public_key: chamber.public(),
    });
    let registrars = vec![demo.bureau.clone(), demo.association.clone(), chamber];
    let mut signers = registrars.clone();
    signers.extend(demo.enterprises.iter().map(|e| e.key.clone()));
    World {
        demo,
        registrars,
        signers,
    }
}

/// Every held prefix, by prefix.
fn held(state: &MemState) -> BTreeMap<IdPrefix, PrefixState> {
    state
        .entries()
        .filter_map(|(key, value)| match (key, value) {
            (StateKey::Prefix(prefix), StateValue::Prefix(held)) => {
                Some((prefix.clone(), held.clone()))
            }
            _ => None,
        })
        .collect()
}

fn record(world: &World, state: &MemState, step: Step, n: usize, date: Date) -> (Record, KeyPair) {
    let demo = &world.demo;
    let target = &demo.enterprises[usize::from(step.target) % demo.enterprises.len()];
    let uscc = target.profile.uscc.clone();
    let enterprise = state
        .enterprise(&uscc)
        .unwrap()
        .expect("the demo enrols it");
    let prefix: IdPrefix = PREFIXES[usize::from(step.pick) % PREFIXES.len()]
        .parse()
        .unwrap();
    let current = state.prefix(&prefix).unwrap();
    let mut signer = world.signers[usize::from(step.signer) % world.signers.len()].clone();
    let registrar = world
        .registrars
        .iter()
        .find(|r| r.public() == enterprise.registrar())
        .expect("the test's registrars hold every enterprise")
        .clone();
    let record = match step.kind % 6 {
        0 => {
            if step.honest {
                signer = registrar;
            }
            Record::AttestPrefix(AttestPrefix {
                uscc,
                prefix,
                from: None,
            })
        }
        1 => {
            let to = demo.enterprises[usize::from(step.signer) % demo.enterprises.len()]
                .profile
                .uscc
                .clone();
            let holder = current.as_ref().map_or(uscc, |held| held.holder.clone());
            if step.honest
                && let Some(holder) = demo.enterprises.iter().find(|e| e.profile.uscc == holder)
            {
                signer = holder.key.clone();
            }
            Record::TransferPrefix(TransferPrefix {
                uscc: holder,
                prefix,
                to,
            })
        }
        2 => {
            // An honest taker is the enterprise offered the prefix, by its own registrar.
            let (uscc, registrar) = match current.as_ref().and_then(|held| held.offered_to.clone())
            {
                Some(offered) if step.honest => {
                    let taker = state.enterprise(&offered).unwrap().unwrap();
                    let registrar = world
                        .registrars
                        .iter()
                        .find(|r| r.public() == taker.registrar())
                        .expect("the test's registrars hold every enterprise")
                        .clone();
                    (offered, registrar)
                }
                _ => (uscc, registrar),
            };
            if step.honest {
                signer = registrar;
            }
            Record::AttestPrefix(AttestPrefix {
                uscc,
                prefix,
                from: current.map(|held| held.holder),
            })
        }
        3 => {
            let holder = current.map_or(uscc, |held| held.holder);
            Record::RevokePrefix(RevokePrefix {
                uscc: holder,
                prefix,
                reason: "r".parse().unwrap(),
            })
        }
        4 => {
            signer = target.key.clone();
            let mut model = state
                .model(&Demo::cable_gtin().into())
                .unwrap()
                .unwrap()
                .model;
            model.uscc = uscc;
            model.model_code = gtin(GTIN_BODIES[usize::from(step.pick) % GTIN_BODIES.len()]).into();
            model.production_licence = None;
            model.ccc_certificate = None;
            model.category = Some("mandatory_standard_products".parse().unwrap());
            model.fields.clear();
            Record::RegisterProduct(model)
        }
        _ => {
            signer = target.key.clone();
            let gtin = if step.target.is_multiple_of(2) {
                Demo::cable_gtin()
            } else {
                Demo::cooker_gtin()
            };
            let stem = CODE_STEMS[usize::from(step.pick) % CODE_STEMS.len()];
            let code: TraceCode = format!("{stem}{n:02}").parse().unwrap();
            Record::Commission(Commissioning {
                uscc,
                model_code: gtin.into(),
                items: Items::Batch { code, quantity: 3 },
                production_date: date,
                factory_number: None,
                inspection_report: factory_report("r", "q"),
            })
        }
    };
    (record, signer)
}

/// Whether `uscc` held, in `before`, a prefix the code lies under.
fn issued_rightly(before: &BTreeMap<IdPrefix, PrefixState>, uscc: &Uscc, record: &Record) -> bool {
    let holds = |covers: &dyn Fn(&IdPrefix) -> bool| {
        before
            .iter()
            .any(|(prefix, held)| &held.holder == uscc && covers(prefix))
    };
    match record {
        Record::RegisterProduct(model) => holds(&|prefix| model.model_code.lies_under(prefix)),
        Record::Commission(commissioning) => commissioning
            .items
            .lines()
            .iter()
            .all(|(code, _)| holds(&|prefix| code.lies_under(prefix))),
        _ => true,
    }
}

#[derive(Debug, Default)]
struct Tally {
    attested: usize,
    handed_over: usize,
    revoked: usize,
    issued: usize,
}

fn run(steps: Vec<Step>) -> Result<Tally, TestCaseError> {
    let world = world();
    let demo = &world.demo;
    let mut state = demo.story_state();
    let mut tally = Tally::default();
    for (n, step) in steps.into_iter().enumerate() {
        let height = 6 + n as u64;
        let time_ms = demo.genesis.genesis_time_ms + height * DAY_MS;
        let date = Date::from_unix_ms_china(time_ms);
        let (record, signer) = record(&world, &state, step, n, date);
        let before = held(&state);
        let tx = Envelope::sign(
            &demo.genesis.binding(),
            &Payload {
                nonce: n as u64,
                record: record.clone(),
                event: None,
            },
            &signer,
        )
        .verify(&demo.genesis.binding())
        .unwrap();
        let context = BlockContext {
            genesis: &demo.genesis,
            height,
            time_ms,
        };
        let mut executor = Executor::new(&state, context);
        let outcome = executor.apply(&tx);
        state.apply(executor.finish());
        let after = held(&state);

        // No overlap, and the lists agree with the prefix entries.
        let prefixes: Vec<&IdPrefix> = after.keys().collect();
        for (i, a) in prefixes.iter().enumerate() {
            for b in &prefixes[i + 1..] {
                prop_assert!(!a.covers(b) && !b.covers(a), "{a} and {b} both held");
            }
        }
        for enterprise in &demo.enterprises {
            let uscc = &enterprise.profile.uscc;
            let mut listed = state.enterprise(uscc).unwrap().unwrap().prefixes;
            listed.sort();
            let holding: Vec<IdPrefix> = after
                .iter()
                .filter(|(_, held)| &held.holder == uscc)
                .map(|(prefix, _)| prefix.clone())
                .collect();
            prop_assert_eq!(listed, holding);
        }
        // The counts under each prefix are true.
        for text in PREFIXES {
            let prefix: IdPrefix = text.parse().unwrap();
            let under = after
                .keys()
                .filter(|held| **held != prefix && prefix.covers(held))
                .count();
            prop_assert_eq!(state.prefixes_under(&prefix).unwrap() as usize, under);
        }
        if outcome.is_ok() {
            let uscc = match &record {
                Record::RegisterProduct(model) => Some(&model.uscc),
                Record::Commission(commissioning) => Some(&commissioning.uscc),
                _ => None,
            };
            if let Some(uscc) = uscc {
                prop_assert!(
                    issued_rightly(&before, uscc, &record),
                    "{uscc} issued outside its prefixes: {record:?}"
                );
                tally.issued += 1;
            }
        }
        // Holders change only by a standing offer's acceptance, or a revocation.
        for (prefix, was) in &before {
            match after.get(prefix) {
                Some(now) if now.holder == was.holder => {}
                Some(now) => {
                    let Record::AttestPrefix(attest) = &record else {
                        return Err(TestCaseError::fail(format!("{prefix} moved by {record:?}")));
                    };
                    prop_assert_eq!(attest.from.as_ref(), Some(&was.holder));
                    prop_assert_eq!(was.offered_to.as_ref(), Some(&now.holder));
                    let taker = state.enterprise(&now.holder).unwrap().unwrap();
                    prop_assert!(
                        signer.public() == taker.registrar()
                            || demo.genesis.regulator(&signer.public()).is_some()
                    );
                    tally.handed_over += 1;
                }
                None => {
                    prop_assert!(matches!(record, Record::RevokePrefix(_)), "{record:?}");
                    tally.revoked += 1;
                }
            }
        }
        tally.attested += after.keys().filter(|p| !before.contains_key(*p)).count();
    }
    Ok(tally)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_code_has_at_most_one_rightful_issuer(steps in prop::collection::vec(step(), 1..40)) {
        run(steps)?;
    }
}

/// The generator is not vacuous: over a fixed set of runs, prefixes are attested, handed over
/// and revoked, and codes are issued under them.
#[test]
fn the_generated_histories_reach_every_rule() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = prop::collection::vec(step(), 40);
    let mut total = Tally::default();
    for _ in 0..32 {
        let steps = strategy.new_tree(&mut runner).unwrap().current();
        let tally = run(steps).expect("the invariants hold");
        total.attested += tally.attested;
        total.handed_over += tally.handed_over;
        total.revoked += tally.revoked;
        total.issued += tally.issued;
    }
    assert!(total.attested > 0, "{total:?}");
    assert!(total.handed_over > 0, "{total:?}");
    assert!(total.revoked > 0, "{total:?}");
    assert!(total.issued > 0, "{total:?}");
}
