//! Property: registrars amend only their own enterprises, and no record outside its time
//! window is committed.
//!
//! Three registrars (the bureau, also a regulator; the association; a chamber of commerce) and
//! the demo's enterprises sign random administrative and supply-chain records, one block each,
//! a day apart. About half the administrative records are signed honestly (by the target's
//! registrar, or by the registrar a transfer was offered to); the rest by anyone. Dated fields
//! are drawn from well inside, at the edge of and far outside the windows. After every block:
//! - an enterprise's profile, keys, key statuses and registrar changed only if the signer was
//!   a regulator, its registrar as of the block before, the registrar it had been offered to
//!   (accepting), or (for a rotation or a self-revocation) one of its own active keys;
//! - a committed record's dated fields lie in the genesis windows around the block's time.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::crypto::{KeyPair, PublicKey};
use suyuan_ledger::demo::{Demo, factory_report, who};
use suyuan_ledger::exec::{BlockContext, Executor, RuleError};
use suyuan_ledger::genesis::{Member, TimeWindows};
use suyuan_ledger::record::{
    AcceptTransfer, BindKey, Commissioning, EnterpriseKind, EnterpriseProfile, Inspection, Items,
    OfferTransfer, Outcome, Party, Recall, Record, RevokeKey, RotateKey, Shipment, ShipmentLine,
    Subject, UpdateEnterprise, WithdrawTransfer,
};
use suyuan_ledger::state::{EnterpriseState, KeyStatus, MemState, StateReadExt};
use suyuan_ledger::text::Date;
use suyuan_ledger::tx::{Envelope, Payload};

const DAY_MS: u64 = 86_400_000;
const CHINA_OFFSET_MS: u64 = 8 * 3_600_000;

/// What may not change but by the enterprise's registrar, a regulator or itself.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Guarded {
    profile: EnterpriseProfile,
    keys: Vec<(PublicKey, KeyStatus)>,
    registrar: PublicKey,
}

fn guarded(state: &MemState, uscc: &Uscc) -> (Guarded, EnterpriseState) {
    let enterprise = state.enterprise(uscc).unwrap().expect("the demo enrols it");
    let keys = enterprise
        .keys
        .iter()
        .map(|key| (*key, state.key_binding(key).unwrap().unwrap().status))
        .collect();
    let guarded = Guarded {
        profile: enterprise.profile.clone(),
        keys,
        registrar: enterprise.registrar(),
    };
    (guarded, enterprise)
}

/// One step, chosen by small integers so that proptest can shrink it.
#[derive(Debug, Clone, Copy)]
struct Step {
    kind: u8,
    honest: bool,
    signer: u8,
    target: u8,
    other: u8,
    /// Days before the block's time for a dated field; a few values fall after it.
    age_days: u16,
}

fn step() -> impl Strategy<Value = Step> {
    (
        any::<u8>(),
        any::<bool>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        prop_oneof![0u16..3, 25u16..35, 85u16..95, 175u16..185, 0u16..20_000],
    )
        .prop_map(|(kind, honest, signer, target, other, age_days)| Step {
            kind,
            honest,
            signer,
            target,
            other,
            age_days,
        })
}

struct Actors {
    registrars: Vec<KeyPair>,
    /// Every key that may sign: registrars, then enterprise keys.
    signers: Vec<KeyPair>,
}

fn consortium() -> (Demo, Actors) {
    let mut demo = Demo::new(4, 7100);
    // The rules' default windows, not the demo's wider ones.
    demo.genesis.time_windows = None;
    let chamber = KeyPair::insecure_from_label("property chamber of commerce");
    demo.genesis.registrars.push(Member {
        name: "Wuhan General Chamber of Commerce".parse().unwrap(),
        public_key: chamber.public(),
    });
    let registrars = vec![demo.bureau.clone(), demo.association.clone(), chamber];
    let mut signers = registrars.clone();
    signers.extend(demo.enterprises.iter().map(|e| e.key.clone()));
    (
        demo,
        Actors {
            registrars,
            signers,
        },
    )
}

/// `age_days` before `time_ms`, or up to two days after it for the three smallest ages.
fn dated_ms(time_ms: u64, age_days: u16) -> u64 {
    match age_days {
        0 => time_ms + DAY_MS,
        1 => time_ms + 60_000,
        age => time_ms.saturating_sub(u64::from(age - 1) * DAY_MS),
    }
}

fn record(
    demo: &Demo,
    actors: &Actors,
    state: &MemState,
    step: Step,
    n: usize,
    time_ms: u64,
) -> (Record, KeyPair) {
    let target = &demo.enterprises[usize::from(step.target) % demo.enterprises.len()];
    let uscc = target.profile.uscc.clone();
    let (_, enterprise) = guarded(state, &uscc);
    let other = actors.registrars[usize::from(step.other) % actors.registrars.len()].public();
    let date = Date::from_unix_ms_china(dated_ms(time_ms, step.age_days));
    let mut signer = actors.signers[usize::from(step.signer) % actors.signers.len()].clone();
    let registrar_of = |key: PublicKey| {
        actors
            .registrars
            .iter()
            .find(|r| r.public() == key)
            .expect("enterprises are held by the test's registrars")
            .clone()
    };
    let record = match step.kind % 11 {
        0 => {
            let mut profile = enterprise.profile.clone();
            profile.kind = [EnterpriseKind::Manufacturer, EnterpriseKind::Retailer]
                [usize::from(step.other) % 2];
            if step.age_days < 3 {
                profile.business_licence.issued_on = date;
            }
            Record::UpdateEnterprise(UpdateEnterprise {
                enterprise: profile,
            })
        }
        1 => Record::BindKey(BindKey {
            uscc,
            key: KeyPair::insecure_from_label(&format!("bound {n}")).public(),
        }),
        2 => Record::RevokeKey(RevokeKey {
            uscc,
            key: *enterprise.keys.last().expect("enrolled with a key"),
            reason: "r".parse().unwrap(),
        }),
        3 => Record::OfferTransfer(OfferTransfer { uscc, to: other }),
        4 => {
            if step.honest
                && let Some(pending) = &enterprise.pending_transfer
            {
                signer = registrar_of(pending.to);
            }
            Record::AcceptTransfer(AcceptTransfer {
                uscc,
                from: enterprise.registrar(),
            })
        }
        5 => Record::WithdrawTransfer(WithdrawTransfer { uscc }),
        6 => {
            let old_key = *enterprise.keys.last().expect("enrolled with a key");
            Record::RotateKey(RotateKey {
                uscc,
                old_key,
                new_key: KeyPair::insecure_from_label(&format!("rotated {n}")).public(),
            })
        }
        7 => {
            let cable = &demo.enterprises[who::CABLE_MAKER];
            signer = cable.key.clone();
            Record::Commission(Commissioning {
                uscc: cable.profile.uscc.clone(),
                model_code: Demo::cable_gtin().into(),
                items: Items::Batch {
                    code: format!("01/{}/10/P{n}", Demo::cable_gtin())
                        .parse()
                        .unwrap(),
                    quantity: 5,
                },
                production_date: date,
                factory_number: None,
                inspection_report: factory_report("r", "q"),
            })
        }
        8 => {
            let cable = &demo.enterprises[who::CABLE_MAKER];
            let distributor = &demo.enterprises[who::DISTRIBUTOR];
            signer = cable.key.clone();
            Record::Ship(Shipment {
                seller: cable.profile.uscc.clone(),
                buyer: Party::enterprise(&distributor.profile),
                sold_at_ms: if step.honest {
                    dated_ms(time_ms, step.age_days)
                } else {
                    u64::from(step.age_days)
                },
                lines: vec![ShipmentLine {
                    code: format!("01/{}/10/C2601A", Demo::cable_gtin())
                        .parse()
                        .unwrap(),
                    quantity: 1,
                }],
                order_reference: None,
            })
        }
        9 => {
            signer = demo.bureau.clone();
            Record::Inspect(Inspection {
                subject: Subject::Model(Demo::cable_gtin().into()),
                outcome: Outcome::Conformant,
                standards: vec!["GB/T 5023.3-2008".parse().unwrap()],
                inspected_on: date,
                report_number: "n".parse().unwrap(),
                document_sha256: Default::default(),
                findings: None,
                accreditation: None,
            })
        }
        _ => {
            signer = demo.bureau.clone();
            Record::Recall(Recall {
                producer: demo.enterprises[who::GAS_APPLIANCE_MAKER]
                    .profile
                    .uscc
                    .clone(),
                subjects: vec![Subject::Model(Demo::cooker_gtin().into())],
                reason: "r".parse().unwrap(),
                announced_on: date,
            })
        }
    };
    if step.honest && matches!(step.kind % 11, 0..=3 | 5) {
        signer = registrar_of(enterprise.registrar());
    }
    (record, signer)
}

/// The day number (China Standard Time) of a Unix time.
fn day_of(ms: u64) -> i64 {
    ((ms + CHINA_OFFSET_MS) / DAY_MS) as i64
}

/// Whether a date lies in the window, computed apart from the executor's code.
fn date_in_window(date: Date, time_ms: u64, max_age_days: u32, windows: &TimeWindows) -> bool {
    let day = date.days_since_epoch();
    day >= day_of(time_ms) - i64::from(max_age_days)
        && day <= day_of(time_ms + windows.clock_skew_ms)
}

fn dates_in_window(record: &Record, time_ms: u64, windows: &TimeWindows) -> bool {
    match record {
        Record::Commission(r) => date_in_window(
            r.production_date,
            time_ms,
            windows.production_max_age_days,
            windows,
        ),
        Record::Inspect(r) => date_in_window(
            r.inspected_on,
            time_ms,
            windows.inspection_max_age_days,
            windows,
        ),
        Record::Recall(r) => date_in_window(
            r.announced_on,
            time_ms,
            windows.recall_max_age_days,
            windows,
        ),
        Record::Ship(r) => {
            r.sold_at_ms + u64::from(windows.sale_max_age_days) * DAY_MS >= time_ms
                && r.sold_at_ms <= time_ms + windows.clock_skew_ms
        }
        Record::UpdateEnterprise(r) => {
            r.enterprise.business_licence.issued_on.days_since_epoch()
                <= day_of(time_ms + windows.clock_skew_ms)
        }
        _ => true,
    }
}

/// Whether `signer` may have changed `before` by `record`.
fn may_change(
    record: &Record,
    signer: &PublicKey,
    before: &EnterpriseState,
    statuses: &Guarded,
    demo: &Demo,
) -> bool {
    let own_active_key = statuses
        .keys
        .iter()
        .any(|(key, status)| key == signer && *status == KeyStatus::Active);
    match record {
        _ if demo.genesis.regulator(signer).is_some() => true,
        _ if *signer == before.registrar() => true,
        Record::AcceptTransfer(_) => before
            .pending_transfer
            .as_ref()
            .is_some_and(|pending| pending.to == *signer && pending.from == before.registrar()),
        Record::RotateKey(_) | Record::RevokeKey(_) => own_active_key,
        _ => false,
    }
}

/// What a run did, to show the generator reaches every rule.
#[derive(Debug, Default)]
struct Tally {
    accepted_dated: usize,
    transfers_accepted: usize,
    out_of_scope: usize,
    too_old_or_future: usize,
}

/// Runs `steps` over the story's state, checking the invariants after each block.
fn run(steps: Vec<Step>) -> Result<Tally, TestCaseError> {
    let (demo, actors) = consortium();
    let windows = demo.genesis.time_windows();
    let mut state = demo.story_state();
    let usccs: Vec<Uscc> = demo
        .enterprises
        .iter()
        .map(|e| e.profile.uscc.clone())
        .collect();
    let mut tally = Tally::default();
    for (n, step) in steps.into_iter().enumerate() {
        let height = 6 + n as u64;
        let time_ms =
            demo.genesis.genesis_time_ms + height * DAY_MS + u64::from(step.other) * 60_000;
        let (record, signer) = record(&demo, &actors, &state, step, n, time_ms);
        let before: Vec<_> = usccs.iter().map(|uscc| guarded(&state, uscc)).collect();
        let payload = Payload {
            nonce: n as u64,
            record: record.clone(),
            event: None,
        };
        let tx = Envelope::sign(&demo.genesis.binding(), &payload, &signer)
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
        match outcome.as_ref().map_err(|e| e.rule()) {
            Ok(()) => {
                prop_assert!(
                    dates_in_window(&record, time_ms, &windows),
                    "committed outside its window: {record:?} at {time_ms}"
                );
                tally.accepted_dated += usize::from(matches!(
                    record,
                    Record::Commission(_)
                        | Record::Ship(_)
                        | Record::Inspect(_)
                        | Record::Recall(_)
                ));
                tally.transfers_accepted +=
                    usize::from(matches!(record, Record::AcceptTransfer(_)));
            }
            Err(Some(RuleError::NotEnterprisesRegistrar { .. })) => tally.out_of_scope += 1,
            Err(Some(RuleError::TooOld { .. } | RuleError::InTheFuture { .. })) => {
                tally.too_old_or_future += 1
            }
            Err(_) => {}
        }
        for (uscc, (guarded_before, state_before)) in usccs.iter().zip(&before) {
            let (guarded_after, _) = guarded(&state, uscc);
            if guarded_after != *guarded_before {
                prop_assert!(outcome.is_ok());
                prop_assert!(
                    may_change(
                        &record,
                        &signer.public(),
                        state_before,
                        guarded_before,
                        &demo
                    ),
                    "{} changed {uscc} by {record:?}",
                    signer.public()
                );
            }
        }
    }
    Ok(tally)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn registrars_stay_in_scope_and_records_in_their_windows(steps in prop::collection::vec(step(), 1..40)) {
        run(steps)?;
    }
}

/// The generator is not vacuous: over a fixed set of runs it commits transfers and dated
/// records, and the executor refuses cross-registrar writes and records out of their window.
#[test]
fn the_generated_histories_reach_every_rule() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = prop::collection::vec(step(), 40);
    let mut total = Tally::default();
    for _ in 0..32 {
        let steps = strategy.new_tree(&mut runner).unwrap().current();
        let tally = run(steps).expect("the invariants hold");
        total.accepted_dated += tally.accepted_dated;
        total.transfers_accepted += tally.transfers_accepted;
        total.out_of_scope += tally.out_of_scope;
        total.too_old_or_future += tally.too_old_or_future;
    }
    assert!(total.accepted_dated > 0, "{total:?}");
    assert!(total.transfers_accepted > 0, "{total:?}");
    assert!(total.out_of_scope > 0, "{total:?}");
    assert!(total.too_old_or_future > 0, "{total:?}");
}
