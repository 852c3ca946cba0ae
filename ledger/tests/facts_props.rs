//! Property: the figures execution keeps for each enterprise ([`suyuan_ledger::facts`]) equal a
//! full recount over every record ever accepted, for random sequences of records by producers,
//! a distributor, a regulator and an inspection body, honest or not; and a refused transaction
//! writes nothing, figures included.
//!
//! The recount below is written from the definitions, record by record over the whole history,
//! as the API once counted over a window of it: it shares no counting code with the executor,
//! only the two per-record rules ([`field_check`], [`reporting_delay`]).

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use suyuan_ledger::catalogue::Catalogue;
use suyuan_ledger::codes::gs1::keys::Gtin;
use suyuan_ledger::codes::model::ModelCode;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::crypto::{KeyPair, PublicKey};
use suyuan_ledger::demo::{Demo, gtin, uscc, who};
use suyuan_ledger::exec::{BlockContext, Executor};
use suyuan_ledger::facts::{
    Count, EnterpriseFacts, FactsRead, Listed, Listing, field_check, reporting_delay,
};
use suyuan_ledger::record::{
    BindKey, CloseRecall, Commissioning, Inspection, Items, Outcome, Party, ProductModel, Recall,
    Record, ReportKind, ReportRef, RevokeKey, RotateKey, Shipment, ShipmentLine, Subject,
    TraceCode,
};
use suyuan_ledger::state::{MemState, StateRead, StateReadExt};
use suyuan_ledger::text::Date;
use suyuan_ledger::tx::{Envelope, Payload, TxId};

mod support;

use support::{DAY_MS, World};

/// One accepted record, as the recount sees it.
struct Accepted {
    id: TxId,
    block_time_ms: u64,
    record: Record,
}

/// A chain run in memory ([`World`]'s), one block per transaction, with every accepted record
/// kept.
struct Run {
    world: World,
    log: Vec<Accepted>,
    /// Keys each enterprise may still sign with, by USCC.
    keys: BTreeMap<Uscc, Vec<KeyPair>>,
}

impl Run {
    /// The demo story under the demo genesis, each of its records logged.
    fn new() -> Run {
        let mut demo = Demo::new(4, 7100);
        // Models of any completeness, in no category: the figures are what is under test.
        demo.genesis.catalogue = Some(Catalogue {
            require_category: false,
            ..Catalogue::programme().clone()
        });
        let mut run = Run {
            log: Vec::new(),
            keys: demo
                .enterprises
                .iter()
                .map(|e| (e.profile.uscc.clone(), vec![e.key.clone()]))
                .collect(),
            world: World {
                demo,
                state: MemState::new(),
                height: 0,
                nonce: 1_000,
            },
        };
        for block in run.world.demo.story() {
            for envelope in block {
                assert!(run.execute(envelope), "the story executes");
            }
        }
        run
    }

    /// Executes one transaction as the next block; whether it was accepted.
    fn execute(&mut self, envelope: Envelope) -> bool {
        let tx = self.world.verify(envelope);
        let context = self.world.context();
        let block_time_ms = context.time_ms;
        let mut executor = Executor::new(&self.world.state, context);
        let accepted = executor.apply(&tx).is_ok();
        let writes = executor.finish();
        assert_eq!(
            writes.is_empty(),
            !accepted,
            "a refused transaction writes nothing, and an accepted one its replay entry at least"
        );
        self.world.state.apply(writes);
        self.world.height += 1;
        if accepted {
            self.log.push(Accepted {
                id: tx.id,
                block_time_ms,
                record: tx.payload.record,
            });
        }
        accepted
    }

    fn sign(&mut self, key: &KeyPair, record: Record) -> Envelope {
        self.world.sign(key, record)
    }

    /// The time of the last block executed.
    fn time_ms(&self) -> u64 {
        self.world.demo.genesis.genesis_time_ms + self.world.height * DAY_MS
    }

    fn commissioned(&self) -> Vec<TraceCode> {
        self.log
            .iter()
            .filter_map(|a| match &a.record {
                Record::Commission(c) => Some(c.items.lines()),
                _ => None,
            })
            .flatten()
            .map(|(code, _)| code.clone())
            .collect()
    }

    fn recall_ids(&self) -> Vec<TxId> {
        self.log
            .iter()
            .filter(|a| matches!(a.record, Record::Recall(_)))
            .map(|a| a.id)
            .collect()
    }
}

/// The producers' model pool: two GTINs each, the demo's own first.
fn model_gtin(producer: usize, pick: u8) -> Gtin {
    match (producer, pick % 2) {
        (who::CABLE_MAKER, 0) => Demo::cable_gtin(),
        (_, 0) => Demo::cooker_gtin(),
        (who::CABLE_MAKER, _) => gtin("0695012345077"),
        (_, _) => gtin("0695098765077"),
    }
}

fn text<T: std::str::FromStr>(value: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    value.parse().unwrap()
}

/// One random step, chosen by small integers so that proptest can shrink it.
type Step = (u8, u8, bool, u8);

fn step(run: &mut Run, (kind, who_pick, flag, amount): Step) {
    let producer = if who_pick % 2 == 0 {
        who::CABLE_MAKER
    } else {
        who::GAS_APPLIANCE_MAKER
    };
    let enterprise = run.world.demo.enterprises[producer].profile.uscc.clone();
    let other = run.world.demo.enterprises[(producer + 1) % 3]
        .profile
        .uscc
        .clone();
    let bureau = run.world.demo.bureau.clone();
    let lab = run.world.demo.enterprises[who::LAB].key.clone();
    let own_key = run.keys[&enterprise].last().cloned();
    let codes = run.commissioned();
    let code = (!codes.is_empty()).then(|| codes[usize::from(amount) % codes.len()].clone());
    let date = Date::from_unix_ms_china(run.time_ms() - u64::from(amount % 6) * DAY_MS);
    let (key, record) = match kind % 10 {
        0 => (
            own_key,
            Record::RegisterProduct(ProductModel {
                uscc: enterprise.clone(),
                model_code: model_gtin(producer, amount).into(),
                name: text("model"),
                product_type: text("type"),
                specification: text("spec"),
                model: text(&format!("M{}", amount % 3)),
                standards: if flag {
                    vec![text("GB 1-2020")]
                } else {
                    vec![]
                },
                warranty_months: 12,
                production_licence: None,
                ccc_certificate: None,
                category: None,
                fields: Default::default(),
            }),
        ),
        1 => {
            let gtin = model_gtin(producer, amount / 2);
            let items = if amount % 3 == 0 {
                // Now and then the items belong to a lot of their model, whose recall covers
                // them.
                let batch = flag
                    .then(|| {
                        codes.iter().rev().find(
                            |code| matches!(code, TraceCode::Lot { gtin: of, .. } if of == &gtin),
                        )
                    })
                    .flatten()
                    .cloned();
                Items::Serialised {
                    codes: (0..=amount % 4)
                        .map(|n| TraceCode::Item {
                            gtin: gtin.clone(),
                            serial: text(&format!("S{}N{n}", run.world.height)),
                        })
                        .collect(),
                    batch,
                }
            } else {
                Items::Batch {
                    code: text(&format!("01/{gtin}/10/L{}", run.world.height)),
                    quantity: u64::from(amount % 5) + 1,
                }
            };
            (
                own_key,
                Record::Commission(Commissioning {
                    uscc: enterprise.clone(),
                    model_code: gtin.into(),
                    items,
                    production_date: date,
                    factory_number: flag.then(|| text("F-1")),
                    inspection_report: ReportRef {
                        kind: ReportKind::FactoryInspection,
                        number: text("r"),
                        issued_by: text("q"),
                        document_sha256: Default::default(),
                    },
                }),
            )
        }
        2 | 3 => {
            let Some(code) = code else { return };
            let sellers = [who::CABLE_MAKER, who::GAS_APPLIANCE_MAKER, who::DISTRIBUTOR];
            let seller = run.world.demo.enterprises[sellers[usize::from(who_pick) % 3]]
                .profile
                .uscc
                .clone();
            let buyer = match amount % 3 {
                0 => other.clone(),
                1 => enterprise.clone(),
                _ => uscc("91110000MA01ABCDE"),
            };
            (
                run.keys[&seller].last().cloned(),
                Record::Ship(Shipment {
                    seller,
                    buyer: Party::Enterprise {
                        uscc: buyer,
                        name: text("buyer"),
                        address: text("1 Buyer Road, Wuhan"),
                        contact: text("+86 27 8000 0001"),
                        gln: None,
                    },
                    sold_at_ms: run.time_ms() - u64::from(amount % 5) * DAY_MS,
                    lines: vec![ShipmentLine { code, quantity: 1 }],
                    order_reference: flag.then(|| text("PO-1")),
                }),
            )
        }
        4 | 5 => {
            let subject = match (code, amount % 2) {
                (Some(code), 0) => Subject::Code(code),
                _ => Subject::Model(model_gtin(producer, amount / 2).into()),
            };
            let inspector = if who_pick % 3 == 0 { bureau } else { lab };
            (
                Some(inspector),
                Record::Inspect(Inspection {
                    subject,
                    outcome: if flag {
                        Outcome::Conformant
                    } else {
                        Outcome::NonConformant
                    },
                    standards: vec![text("GB 1-2020")],
                    inspected_on: date,
                    report_number: text(&format!("R{}", amount % 2)),
                    document_sha256: Default::default(),
                    findings: None,
                    accreditation: None,
                }),
            )
        }
        6 => {
            let subject = match (code, flag) {
                (Some(code), true) => Subject::Code(code),
                _ => Subject::Model(model_gtin(producer, amount).into()),
            };
            let signer = if who_pick % 3 == 0 {
                Some(bureau)
            } else {
                own_key
            };
            (
                signer,
                Record::Recall(Recall {
                    producer: enterprise.clone(),
                    subjects: vec![subject],
                    reason: text("r"),
                    announced_on: date,
                }),
            )
        }
        7 => {
            let recalls = run.recall_ids();
            if recalls.is_empty() {
                return;
            }
            let recall = recalls[usize::from(amount) % recalls.len()];
            let signer = if flag { Some(bureau) } else { own_key };
            (
                signer,
                Record::CloseRecall(CloseRecall {
                    recall,
                    resolution: text("done"),
                }),
            )
        }
        8 => {
            let fresh = KeyPair::insecure_from_label(&format!("facts fresh {}", run.world.height));
            let Some(old) = own_key else { return };
            let record = match amount % 3 {
                0 => Record::RotateKey(RotateKey {
                    uscc: enterprise.clone(),
                    old_key: old.public(),
                    new_key: fresh.public(),
                }),
                1 => Record::RevokeKey(RevokeKey {
                    uscc: enterprise.clone(),
                    key: old.public(),
                    reason: text("lost"),
                }),
                _ => Record::BindKey(BindKey {
                    uscc: enterprise.clone(),
                    key: fresh.public(),
                }),
            };
            let signer = match &record {
                Record::BindKey(_) => bureau,
                _ => old.clone(),
            };
            let envelope = run.sign(&signer, record.clone());
            if run.execute(envelope) {
                let keys = run.keys.get_mut(&enterprise).unwrap();
                match record {
                    Record::RotateKey(_) | Record::RevokeKey(_) => {
                        keys.retain(|k| k.public() != old.public())
                    }
                    _ => {}
                }
                if !matches!(record, Record::RevokeKey(_)) {
                    keys.push(fresh);
                }
            }
            return;
        }
        _ => {
            // A competitor ships a victim's code to the victim, and an outsider signs for it.
            let Some(code) = code else { return };
            (
                run.keys[&other].last().cloned(),
                Record::Ship(Shipment {
                    seller: other.clone(),
                    buyer: Party::Enterprise {
                        uscc: enterprise.clone(),
                        name: text("victim"),
                        address: text("2 Victim Road, Wuhan"),
                        contact: text("+86 27 8000 0002"),
                        gln: None,
                    },
                    sold_at_ms: run.time_ms(),
                    lines: vec![ShipmentLine { code, quantity: 1 }],
                    order_reference: None,
                }),
            )
        }
    };
    let Some(key) = key else { return };
    let envelope = run.sign(&key, record);
    run.execute(envelope);
}

/// Everything the figures of `uscc` should be, recounted over the whole log; with its
/// listings.
fn recount(run: &Run, uscc: &Uscc) -> (EnterpriseFacts, BTreeMap<Listing, Vec<Listed>>) {
    let mut facts = EnterpriseFacts::default();
    let mut listings: BTreeMap<Listing, Vec<Listed>> = BTreeMap::new();
    let mut models: BTreeMap<ModelCode, ProductModel> = BTreeMap::new();
    let mut codes: Vec<(TraceCode, ModelCode, Option<TraceCode>)> = Vec::new();
    let mut shipped = BTreeSet::new();
    let mut inspected = BTreeSet::new();
    let mut recalled = BTreeSet::new();
    let mut own_recalls = Vec::new();
    let mut closed = BTreeSet::new();
    let mut keys: Vec<PublicKey> = Vec::new();
    let mut revoked = BTreeSet::new();
    let count = |count: &mut Count, met: bool| {
        count.out_of += 1;
        count.met += u64::from(met);
    };
    let producer_of = |subject: &Subject, models: &BTreeMap<ModelCode, ProductModel>| match subject
    {
        Subject::Model(gtin) => models.contains_key(gtin),
        Subject::Code(code) => codes_of(run, uscc).contains(code),
        Subject::Sampled(product) => &product.maker == uscc,
    };
    for accepted in &run.log {
        let record = &accepted.record;
        if let Some((_, filled)) = field_check(record, uscc)
            && !matches!(record, Record::RegisterProduct(_))
        {
            count(&mut facts.fields_filled, filled);
        }
        if let Some((_, _, on_time)) = reporting_delay(record, uscc, accepted.block_time_ms) {
            count(&mut facts.reported_on_time, on_time);
            listings
                .entry(Listing::Events)
                .or_default()
                .push(Listed::Record(accepted.id));
        }
        match record {
            Record::RegisterEnterprise(r) if &r.enterprise.uscc == uscc => {
                keys.extend(&r.keys);
            }
            Record::BindKey(r) if &r.uscc == uscc => keys.push(r.key),
            Record::RotateKey(r) if &r.uscc == uscc => keys.push(r.new_key),
            Record::RevokeKey(r) if &r.uscc == uscc => {
                revoked.insert(r.key);
            }
            Record::RegisterProduct(m) if &m.uscc == uscc => {
                if !models.contains_key(&m.model_code) {
                    listings
                        .entry(Listing::Models)
                        .or_default()
                        .push(Listed::Model(m.model_code.clone()));
                }
                models.insert(m.model_code.clone(), m.clone());
            }
            Record::Commission(c) if &c.uscc == uscc => {
                for (code, _) in c.items.lines() {
                    let batch = c.items.batch().cloned();
                    codes.push((code.clone(), c.model_code.clone(), batch));
                    listings
                        .entry(Listing::Codes)
                        .or_default()
                        .push(Listed::Code(code.clone()));
                }
                facts.last_production_date =
                    facts.last_production_date.max(Some(c.production_date));
            }
            Record::Ship(s) => {
                if &s.seller == uscc {
                    facts.last_sold_at_ms = facts.last_sold_at_ms.max(Some(s.sold_at_ms));
                }
                shipped.extend(s.lines.iter().map(|line| line.code.clone()));
            }
            Record::Inspect(i) if producer_of(&i.subject, &models) => {
                count(
                    &mut facts.inspections_conformant,
                    i.outcome == Outcome::Conformant,
                );
                inspected.insert(i.subject.clone());
                facts.last_inspected_on = facts.last_inspected_on.max(Some(i.inspected_on));
                listings
                    .entry(Listing::Inspections)
                    .or_default()
                    .push(Listed::Record(accepted.id));
            }
            Record::Recall(r) if &r.producer == uscc => {
                recalled.extend(r.subjects.iter().cloned());
                own_recalls.push(accepted.id);
                facts.last_recall_on = facts.last_recall_on.max(Some(r.announced_on));
                listings
                    .entry(Listing::Recalls)
                    .or_default()
                    .push(Listed::Record(accepted.id));
            }
            Record::CloseRecall(c) => {
                closed.insert(c.recall);
            }
            _ => {}
        }
    }
    for model in models.values() {
        count(&mut facts.fields_filled, !model.standards.is_empty());
    }
    facts.models = models.len() as u64;
    for (code, gtin, batch) in &codes {
        let covers = |subjects: &BTreeSet<Subject>| {
            subjects.contains(&Subject::Code(code.clone()))
                || subjects.contains(&Subject::Model(gtin.clone()))
        };
        // A recall of an item's batch covers the item, whenever the item was commissioned.
        let batch_recalled = batch
            .as_ref()
            .is_some_and(|batch| recalled.contains(&Subject::Code(batch.clone())));
        // So does an inspection of its batch.
        let batch_inspected = batch
            .as_ref()
            .is_some_and(|batch| inspected.contains(&Subject::Code(batch.clone())));
        count(&mut facts.codes_sold, shipped.contains(code));
        count(
            &mut facts.codes_inspected,
            covers(&inspected) || batch_inspected,
        );
        count(
            &mut facts.codes_never_recalled,
            !covers(&recalled) && !batch_recalled,
        );
    }
    for key in &keys {
        count(&mut facts.keys_never_revoked, !revoked.contains(key));
    }
    facts.recalls = own_recalls.len() as u64;
    facts.open_recalls = own_recalls.iter().filter(|id| !closed.contains(id)).count() as u64;
    (facts, listings)
}

fn codes_of(run: &Run, uscc: &Uscc) -> BTreeSet<TraceCode> {
    run.log
        .iter()
        .filter_map(|a| match &a.record {
            Record::Commission(c) if &c.uscc == uscc => Some(c.items.lines()),
            _ => None,
        })
        .flatten()
        .map(|(code, _)| code.clone())
        .collect()
}

fn kept(run: &Run, uscc: &Uscc) -> (EnterpriseFacts, BTreeMap<Listing, Vec<Listed>>) {
    let facts = run
        .world
        .state
        .enterprise_facts(uscc)
        .unwrap()
        .expect("enrolled");
    let mut listings = BTreeMap::new();
    for listing in Listing::ALL {
        let entries: Vec<Listed> = (0..facts.listed(listing))
            .map(|n| {
                run.world
                    .state
                    .listed(uscc, listing, n)
                    .unwrap()
                    .expect("listed")
            })
            .collect();
        if !entries.is_empty() {
            listings.insert(listing, entries);
        }
        let beyond = run.world.state.listed(uscc, listing, facts.listed(listing));
        assert_eq!(beyond.unwrap(), None, "nothing is listed past the count");
    }
    (facts, listings)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn kept_figures_equal_a_recount_of_the_whole_history(
        steps in prop::collection::vec((any::<u8>(), any::<u8>(), any::<bool>(), any::<u8>()), 1..40)
    ) {
        let mut run = Run::new();
        for choice in steps {
            step(&mut run, choice);
            for enterprise in &run.world.demo.enterprises {
                let uscc = &enterprise.profile.uscc;
                prop_assert_eq!(kept(&run, uscc), recount(&run, uscc), "figures of {}", uscc);
            }
        }
    }
}

#[test]
fn the_story_is_recounted_and_every_producer_counts_something() {
    let run = Run::new();
    for enterprise in &run.world.demo.enterprises {
        let uscc = &enterprise.profile.uscc;
        assert_eq!(kept(&run, uscc), recount(&run, uscc), "figures of {uscc}");
    }
    let cable = &run.world.demo.enterprises[who::CABLE_MAKER].profile.uscc;
    let facts = run.world.state.enterprise_facts(cable).unwrap().unwrap();
    assert!(facts.codes_sold.out_of > 0 && facts.fields_filled.out_of > 0);
}

#[test]
fn identical_re_registrations_change_nothing() {
    let mut run = Run::new();
    let gas = run.world.demo.enterprises[who::GAS_APPLIANCE_MAKER].clone();
    let model = run
        .world
        .state
        .model(&Demo::cooker_gtin().into())
        .unwrap()
        .unwrap();
    let before = run.world.state.clone();
    for _ in 0..20 {
        let envelope = run.sign(&gas.key, Record::RegisterProduct(model.model.clone()));
        assert!(run.execute(envelope), "a re-registration is accepted");
    }
    let changed: Vec<_> = run
        .world
        .state
        .entries()
        .filter(|(key, value)| before.get(key).unwrap().as_ref() != Some(*value))
        .filter(|(key, _)| !matches!(key, suyuan_ledger::state::StateKey::Tx(_)))
        .collect();
    assert!(
        changed.is_empty(),
        "only replay entries were written: {changed:?}"
    );
}

#[test]
fn a_refused_transaction_changes_no_figure_in_its_block() {
    let run = Run::new();
    let gas = &run.world.demo.enterprises[who::GAS_APPLIANCE_MAKER];
    let cable = &run.world.demo.enterprises[who::CABLE_MAKER];
    let sign = |key: &KeyPair, nonce, record| {
        Envelope::sign(
            &run.world.demo.genesis.binding(),
            &Payload {
                nonce,
                record,
                event: None,
            },
            key,
        )
        .verify(&run.world.demo.genesis.binding())
        .unwrap()
    };
    let lot: TraceCode = format!("01/{}/10/NEWLOT", Demo::cooker_gtin())
        .parse()
        .unwrap();
    let commission = |items| {
        Record::Commission(Commissioning {
            uscc: gas.profile.uscc.clone(),
            model_code: Demo::cooker_gtin().into(),
            items,
            production_date: Date::from_unix_ms_china(run.time_ms()),
            factory_number: None,
            inspection_report: ReportRef {
                kind: ReportKind::FactoryInspection,
                number: text("r"),
                issued_by: text("q"),
                document_sha256: Default::default(),
            },
        })
    };
    let context = BlockContext {
        genesis: &run.world.demo.genesis,
        height: run.world.height + 1,
        time_ms: run.time_ms() + DAY_MS,
    };
    // Accepted alone: one new lot.
    let good = sign(
        &gas.key,
        1,
        commission(Items::Batch {
            code: lot.clone(),
            quantity: 3,
        }),
    );
    let mut alone = Executor::new(&run.world.state, context);
    alone.apply(&good).unwrap();
    let expected = alone.finish();
    // The same block with refusals after it: a commissioning whose second code is taken, a
    // recall naming another producer's model after one of its own codes, and a shipment of
    // more than is held.
    let refused = [
        sign(
            &gas.key,
            2,
            commission(Items::Batch {
                code: lot.clone(),
                quantity: 1,
            }),
        ),
        sign(
            &gas.key,
            3,
            Record::Recall(Recall {
                producer: gas.profile.uscc.clone(),
                subjects: vec![
                    Subject::Code(lot.clone()),
                    Subject::Model(Demo::cable_gtin().into()),
                ],
                reason: text("r"),
                announced_on: Date::from_unix_ms_china(run.time_ms()),
            }),
        ),
        sign(
            &gas.key,
            4,
            Record::Ship(Shipment {
                seller: gas.profile.uscc.clone(),
                buyer: Party::enterprise(&cable.profile),
                sold_at_ms: run.time_ms(),
                lines: vec![ShipmentLine {
                    code: lot.clone(),
                    quantity: 4,
                }],
                order_reference: None,
            }),
        ),
    ];
    let mut mixed = Executor::new(&run.world.state, context);
    mixed.apply(&good).unwrap();
    for tx in &refused {
        assert!(mixed.apply(tx).is_err(), "refused after the lot exists");
    }
    assert_eq!(mixed.finish(), expected);
    let gas_facts = run
        .world
        .state
        .get(&suyuan_ledger::state::StateKey::EnterpriseFacts(
            gas.profile.uscc.clone(),
        ))
        .unwrap();
    assert!(gas_facts.is_some(), "the producer has figures to keep");
}

/// A recall of a batch counts against every item belonging to it, items commissioned after it
/// too, and a later recall of an item or the model newly recalls nothing it already covers.
#[test]
fn a_batch_recall_counts_against_its_items() {
    let mut world = support::World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let uscc = cable.profile.uscc.clone();
    let never_recalled = |world: &support::World| {
        let facts = world.state.enterprise_facts(&uscc).unwrap().unwrap();
        (
            facts.codes_never_recalled.met,
            facts.codes_never_recalled.out_of,
        )
    };
    let item = |serial: &str| TraceCode::Item {
        gtin: Demo::cable_gtin(),
        serial: text(serial),
    };
    let items_of_lot = |serials: &[&str]| {
        Record::Commission(Commissioning {
            uscc: uscc.clone(),
            model_code: Demo::cable_gtin().into(),
            items: Items::Serialised {
                codes: serials.iter().map(|serial| item(serial)).collect(),
                batch: Some(support::cable_lot()),
            },
            production_date: text("2026-01-03"),
            factory_number: None,
            inspection_report: suyuan_ledger::demo::factory_report("R-2", "QA"),
        })
    };
    let recall = |subject: Subject| {
        Record::Recall(Recall {
            producer: uscc.clone(),
            subjects: vec![subject],
            reason: text("test"),
            announced_on: text("2026-01-04"),
        })
    };
    let (met, out_of) = never_recalled(&world);
    let submit = |world: &mut support::World, record| {
        world.submit(&cable.key, record).unwrap();
        never_recalled(world)
    };
    assert_eq!(
        submit(&mut world, items_of_lot(&["A1", "A2"])),
        (met + 2, out_of + 2)
    );
    let a1 = Subject::Code(item("A1"));
    assert_eq!(
        submit(&mut world, recall(a1.clone())),
        (met + 1, out_of + 2)
    );
    // The lot and A2 are newly recalled; A1 was already.
    let lot = Subject::Code(support::cable_lot());
    assert_eq!(
        submit(&mut world, recall(lot.clone())),
        (met - 1, out_of + 2)
    );
    assert_eq!(
        submit(&mut world, items_of_lot(&["A3"])),
        (met - 1, out_of + 3)
    );
    assert_eq!(submit(&mut world, recall(a1)), (met - 1, out_of + 3));
    assert_eq!(submit(&mut world, recall(lot)), (met - 1, out_of + 3));
    // The model's recall reaches every other cable code; the story gives the cable maker no
    // other model.
    let model = Subject::Model(Demo::cable_gtin().into());
    assert_eq!(submit(&mut world, recall(model)), (0, out_of + 3));
}

/// An inspection of a batch counts for every item belonging to it, items commissioned after it
/// too, and a later inspection of an item or the model newly inspects nothing it already covers.
#[test]
fn a_batch_inspection_counts_for_its_items() {
    let mut world = support::World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let bureau = world.demo.bureau.clone();
    let uscc = cable.profile.uscc.clone();
    let inspected = |world: &support::World| {
        let facts = world.state.enterprise_facts(&uscc).unwrap().unwrap();
        (facts.codes_inspected.met, facts.codes_inspected.out_of)
    };
    let lot: TraceCode = format!("01/{}/10/T1", Demo::cable_gtin()).parse().unwrap();
    let item = |serial: &str| TraceCode::Item {
        gtin: Demo::cable_gtin(),
        serial: text(serial),
    };
    let commission = |items: Items| {
        Record::Commission(Commissioning {
            uscc: uscc.clone(),
            model_code: Demo::cable_gtin().into(),
            items,
            production_date: text("2026-01-03"),
            factory_number: None,
            inspection_report: suyuan_ledger::demo::factory_report("R-3", "QA"),
        })
    };
    let items_of_lot = |serials: &[&str]| {
        commission(Items::Serialised {
            codes: serials.iter().map(|serial| item(serial)).collect(),
            batch: Some(lot.clone()),
        })
    };
    let inspect = |subject: Subject| {
        Record::Inspect(Inspection {
            subject,
            outcome: Outcome::Conformant,
            standards: vec![text("GB/T 5023.3-2008")],
            inspected_on: text("2026-01-04"),
            report_number: text("R-9"),
            document_sha256: Default::default(),
            findings: None,
            accreditation: None,
        })
    };
    let (met, out_of) = inspected(&world);
    world
        .submit(
            &cable.key,
            commission(Items::Batch {
                code: lot.clone(),
                quantity: 10,
            }),
        )
        .unwrap();
    world
        .submit(&cable.key, items_of_lot(&["B1", "B2"]))
        .unwrap();
    assert_eq!(inspected(&world), (met, out_of + 3));
    let b1 = Subject::Code(item("B1"));
    world.submit(&bureau, inspect(b1.clone())).unwrap();
    assert_eq!(inspected(&world), (met + 1, out_of + 3));
    // The lot and B2 are newly inspected; B1 was already.
    let batch = Subject::Code(lot.clone());
    world.submit(&bureau, inspect(batch.clone())).unwrap();
    assert_eq!(inspected(&world), (met + 3, out_of + 3));
    // An item commissioned into an inspected lot is inspected from the start.
    world.submit(&cable.key, items_of_lot(&["B3"])).unwrap();
    assert_eq!(inspected(&world), (met + 4, out_of + 4));
    world.submit(&bureau, inspect(b1)).unwrap();
    world.submit(&bureau, inspect(batch)).unwrap();
    assert_eq!(inspected(&world), (met + 4, out_of + 4));
    // The model's inspection reaches every other cable code and no code twice.
    let model = Subject::Model(Demo::cable_gtin().into());
    world.submit(&bureau, inspect(model)).unwrap();
    assert_eq!(inspected(&world), (out_of + 4, out_of + 4));
}
