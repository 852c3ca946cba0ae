//! Execution rules, one test per rule, over the demo consortium's story.

use suyuan_ledger::codes::gs1::keys::Gtin;
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{Demo, DemoEnterprise, who};
use suyuan_ledger::exec::{BlockContext, Executor, RuleError, execute_block};
use suyuan_ledger::record::{
    Commissioning, Inspection, Items, Outcome, Party, Recall, Record, RegisterEnterprise,
    ReportKind, ReportRef, RevokeKey, RotateKey, Shipment, ShipmentLine, Subject, TraceCode,
};
use suyuan_ledger::state::{KeyStatus, MemState, StateReadExt};
use suyuan_ledger::tx::{Envelope, Payload, VerifiedTx};

const DAY_MS: u64 = 86_400_000;

/// The demo consortium with its story executed, one block per story step, blocks a day apart.
struct World {
    demo: Demo,
    state: MemState,
    height: u64,
    nonce: u64,
}

impl World {
    fn new() -> World {
        let demo = Demo::new(4, 7100);
        let mut world = World {
            demo,
            state: MemState::new(),
            height: 0,
            nonce: 1_000,
        };
        for block in world.demo.story() {
            world
                .commit(block)
                .expect("the demo story executes cleanly");
        }
        world
    }

    fn context(&self) -> BlockContext<'_> {
        BlockContext {
            genesis: &self.demo.genesis,
            height: self.height + 1,
            time_ms: self.demo.genesis.genesis_time_ms + (self.height + 1) * DAY_MS,
        }
    }

    fn verify(&self, envelope: Envelope) -> VerifiedTx {
        envelope
            .verify(&self.demo.genesis.chain_id)
            .expect("test envelopes are well signed")
    }

    fn commit(&mut self, block: Vec<Envelope>) -> Result<(), RuleError> {
        let txs: Vec<VerifiedTx> = block.into_iter().map(|e| self.verify(e)).collect();
        let writes = execute_block(&self.state, self.context(), &txs)
            .map_err(|e| e.error.rule().expect("memory state does not fail").clone())?;
        self.state.apply(writes);
        self.height += 1;
        Ok(())
    }

    fn sign(&mut self, key: &KeyPair, record: Record) -> Envelope {
        self.nonce += 1;
        Envelope::sign(
            &self.demo.genesis.chain_id,
            &Payload {
                nonce: self.nonce,
                record,
            },
            key,
        )
    }

    /// Submits one transaction in a block of its own; a refusal must leave state untouched.
    fn submit(&mut self, key: &KeyPair, record: Record) -> Result<(), RuleError> {
        let envelope = self.sign(key, record);
        let before = self.state.digest();
        let outcome = self.commit(vec![envelope]);
        if outcome.is_err() {
            assert_eq!(
                self.state.digest(),
                before,
                "a refused transaction changed state"
            );
        }
        outcome
    }

    fn enterprise(&self, index: usize) -> DemoEnterprise {
        self.demo.enterprises[index].clone()
    }
}

fn cable_lot() -> TraceCode {
    "01/06950123450012/10/C2601A".parse().unwrap()
}

fn cooker_lot() -> TraceCode {
    format!("01/{}/10/G2601B", Demo::cooker_gtin())
        .parse()
        .unwrap()
}

fn ship(seller: &DemoEnterprise, buyer: &DemoEnterprise, code: TraceCode, quantity: u64) -> Record {
    Record::Ship(Shipment {
        seller: seller.profile.uscc.clone(),
        buyer: Party::Enterprise {
            uscc: buyer.profile.uscc.clone(),
            name: buyer.profile.name.clone(),
        },
        sold_at_ms: suyuan_ledger::demo::DEMO_GENESIS_TIME_MS,
        lines: vec![ShipmentLine { code, quantity }],
        order_reference: None,
    })
}

fn commission(producer: &DemoEnterprise, gtin: Gtin, code: TraceCode, date: &str) -> Record {
    Record::Commission(Commissioning {
        uscc: producer.profile.uscc.clone(),
        gtin,
        items: Items::Batch { code, quantity: 10 },
        production_date: date.parse().unwrap(),
        factory_number: None,
        inspection_report: ReportRef {
            kind: ReportKind::FactoryInspection,
            number: "R-1".parse().unwrap(),
            issued_by: "QA".parse().unwrap(),
            document_sha256: Default::default(),
        },
    })
}

#[test]
fn demo_story_leaves_the_expected_holdings() {
    let world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let state = &world.state;
    assert_eq!(
        state.holding(&cable_lot(), &cable.profile.uscc).unwrap(),
        200
    );
    // 300 bought, 120 resold to a buyer that is not enrolled: those leave the ledger's custody.
    assert_eq!(
        state
            .holding(&cable_lot(), &distributor.profile.uscc)
            .unwrap(),
        180
    );
    assert!(
        state
            .open_recall(&Subject::Code(cooker_lot()))
            .unwrap()
            .is_some()
    );
}

#[test]
fn only_registrars_enrol() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let mut profile = cable.profile.clone();
    profile.uscc = suyuan_ledger::demo::uscc("91420100MA4K9E2F5");
    let record = Record::RegisterEnterprise(RegisterEnterprise {
        enterprise: profile,
        keys: vec![KeyPair::insecure_from_label("new").public()],
    });
    let outcome = world.submit(&cable.key, record.clone());
    assert!(
        matches!(outcome, Err(RuleError::NotRegistrar { .. })),
        "{outcome:?}"
    );
    let bureau = world.demo.bureau.clone();
    assert_eq!(world.submit(&bureau, record), Ok(()));
}

#[test]
fn enrolling_twice_is_refused() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let bureau = world.demo.bureau.clone();
    let outcome = world.submit(
        &bureau,
        Record::RegisterEnterprise(RegisterEnterprise {
            enterprise: cable.profile.clone(),
            keys: vec![KeyPair::insecure_from_label("another").public()],
        }),
    );
    assert!(
        matches!(outcome, Err(RuleError::EnterpriseExists { .. })),
        "{outcome:?}"
    );
}

#[test]
fn an_enterprise_reports_only_for_itself() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let record = commission(
        &gas,
        Demo::cooker_gtin(),
        format!("01/{}/10/FAKE", Demo::cooker_gtin())
            .parse()
            .unwrap(),
        "2026-01-02",
    );
    let outcome = world.submit(&cable.key, record);
    assert!(
        matches!(outcome, Err(RuleError::WrongEnterprise { .. })),
        "{outcome:?}"
    );
}

#[test]
fn replays_are_refused() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let envelope = world.sign(&cable.key, ship(&cable, &distributor, cable_lot(), 1));
    assert_eq!(world.commit(vec![envelope.clone()]), Ok(()));
    let outcome = world.commit(vec![envelope.clone()]);
    assert!(
        matches!(outcome, Err(RuleError::Replay { .. })),
        "{outcome:?}"
    );
    // Twice in one block is a replay too.
    let again = world.sign(&cable.key, ship(&cable, &distributor, cable_lot(), 1));
    let outcome = world.commit(vec![again.clone(), again]);
    assert!(
        matches!(outcome, Err(RuleError::Replay { .. })),
        "{outcome:?}"
    );
}

#[test]
fn a_sale_moves_only_what_the_seller_holds() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let outcome = world.submit(&cable.key, ship(&cable, &distributor, cable_lot(), 201));
    assert!(
        matches!(
            outcome,
            Err(RuleError::InsufficientHolding {
                held: 200,
                requested: 201,
                ..
            })
        ),
        "{outcome:?}"
    );
    assert_eq!(
        world.submit(&cable.key, ship(&cable, &distributor, cable_lot(), 200)),
        Ok(())
    );
    let outcome = world.submit(&cable.key, ship(&cable, &distributor, cable_lot(), 1));
    assert!(
        matches!(outcome, Err(RuleError::InsufficientHolding { held: 0, .. })),
        "{outcome:?}"
    );
}

#[test]
fn serialised_items_move_one_at_a_time_and_zero_moves_nothing() {
    let mut world = World::new();
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let item: TraceCode = format!("01/{}/21/G26SN00002", Demo::cooker_gtin())
        .parse()
        .unwrap();
    let outcome = world.submit(&gas.key, ship(&gas, &distributor, item.clone(), 2));
    assert!(
        matches!(outcome, Err(RuleError::BadQuantity { .. })),
        "{outcome:?}"
    );
    let outcome = world.submit(&gas.key, ship(&gas, &distributor, item.clone(), 0));
    assert!(
        matches!(outcome, Err(RuleError::BadQuantity { .. })),
        "{outcome:?}"
    );
    assert_eq!(
        world.submit(&gas.key, ship(&gas, &distributor, item, 1)),
        Ok(())
    );
}

#[test]
fn selling_to_oneself_is_refused() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let outcome = world.submit(&cable.key, ship(&cable, &cable, cable_lot(), 1));
    assert!(
        matches!(outcome, Err(RuleError::SaleToSelf { .. })),
        "{outcome:?}"
    );
}

#[test]
fn recalled_goods_cannot_be_sold_until_the_recall_closes() {
    let mut world = World::new();
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let outcome = world.submit(&gas.key, ship(&gas, &distributor, cooker_lot(), 1));
    let Err(RuleError::UnderRecall { recall, .. }) = outcome else {
        panic!("expected UnderRecall, got {outcome:?}");
    };
    // The distributor cannot close it; the bureau can.
    let close = Record::CloseRecall(suyuan_ledger::record::CloseRecall {
        recall,
        resolution: "Valves replaced on all units.".parse().unwrap(),
    });
    let outcome = world.submit(&distributor.key, close.clone());
    assert!(
        matches!(outcome, Err(RuleError::NotRecallCloser { .. })),
        "{outcome:?}"
    );
    let bureau = world.demo.bureau.clone();
    assert_eq!(world.submit(&bureau, close.clone()), Ok(()));
    let outcome = world.submit(&bureau, close);
    assert!(
        matches!(outcome, Err(RuleError::RecallClosed { .. })),
        "{outcome:?}"
    );
    assert_eq!(
        world.submit(&gas.key, ship(&gas, &distributor, cooker_lot(), 1)),
        Ok(())
    );
}

#[test]
fn recalls_come_from_a_regulator_or_the_producer() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let recall = |producer: &DemoEnterprise| {
        Record::Recall(Recall {
            producer: producer.profile.uscc.clone(),
            subjects: vec![Subject::Code(cable_lot())],
            reason: "Insulation thinner than specified.".parse().unwrap(),
            announced_on: "2026-01-05".parse().unwrap(),
        })
    };
    let outcome = world.submit(&distributor.key, recall(&cable));
    assert!(
        matches!(outcome, Err(RuleError::NotRecaller { .. })),
        "{outcome:?}"
    );
    // A producer cannot recall someone else's product by naming itself.
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let outcome = world.submit(&gas.key, recall(&gas));
    assert!(
        matches!(outcome, Err(RuleError::NotProducersProduct { .. })),
        "{outcome:?}"
    );
    assert_eq!(world.submit(&cable.key, recall(&cable)), Ok(()));
}

#[test]
fn only_regulators_and_inspection_bodies_inspect() {
    let mut world = World::new();
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let lab = world.enterprise(who::LAB);
    let inspection = Record::Inspect(Inspection {
        subject: Subject::Model(Demo::cable_gtin()),
        outcome: Outcome::Conformant,
        standards: vec!["GB/T 5023.3-2008".parse().unwrap()],
        inspected_on: "2026-01-03".parse().unwrap(),
        report_number: "X-1".parse().unwrap(),
        document_sha256: Default::default(),
        findings: None,
    });
    let outcome = world.submit(&distributor.key, inspection.clone());
    assert!(
        matches!(outcome, Err(RuleError::NotInspector { .. })),
        "{outcome:?}"
    );
    assert_eq!(world.submit(&lab.key, inspection), Ok(()));
}

#[test]
fn commissioning_checks_model_code_and_dates() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let other_model_code: TraceCode = format!("01/{}/10/L1", Demo::cooker_gtin()).parse().unwrap();
    let outcome = world.submit(
        &cable.key,
        commission(&cable, Demo::cable_gtin(), other_model_code, "2026-01-02"),
    );
    assert!(
        matches!(outcome, Err(RuleError::CodeOfOtherModel { .. })),
        "{outcome:?}"
    );
    let outcome = world.submit(
        &cable.key,
        commission(&cable, Demo::cable_gtin(), cable_lot(), "2026-01-02"),
    );
    assert!(
        matches!(outcome, Err(RuleError::CodeAlreadyCommissioned { .. })),
        "{outcome:?}"
    );
    let fresh: TraceCode = "01/06950123450012/10/C2612Z".parse().unwrap();
    let outcome = world.submit(
        &cable.key,
        commission(&cable, Demo::cable_gtin(), fresh.clone(), "2027-01-01"),
    );
    assert!(
        matches!(outcome, Err(RuleError::InTheFuture { .. })),
        "{outcome:?}"
    );
    let outcome = world.submit(
        &distributor.key,
        commission(
            &distributor,
            Demo::cable_gtin(),
            fresh.clone(),
            "2026-01-02",
        ),
    );
    assert!(
        matches!(outcome, Err(RuleError::NotProducer { .. })),
        "{outcome:?}"
    );
    assert_eq!(
        world.submit(
            &cable.key,
            commission(&cable, Demo::cable_gtin(), fresh, "2026-01-02")
        ),
        Ok(())
    );
}

#[test]
fn commissioning_needs_a_licence_valid_on_the_production_date() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    // The demo licence is valid until 2029-06-30; a CCC certificate issued 2024-03-01.
    let outcome = world.submit(
        &cable.key,
        commission(
            &cable,
            Demo::cable_gtin(),
            "01/06950123450012/10/OLD".parse().unwrap(),
            "2023-12-31",
        ),
    );
    assert!(
        matches!(
            outcome,
            Err(RuleError::DocumentNotHeld {
                document: "CCC certificate",
                ..
            })
        ),
        "{outcome:?}"
    );
}

#[test]
fn revoked_and_rotated_keys_sign_nothing_more() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let new_key = KeyPair::insecure_from_label("cable maker key 2");
    let rotate = Record::RotateKey(RotateKey {
        uscc: cable.profile.uscc.clone(),
        old_key: cable.key.public(),
        new_key: new_key.public(),
    });
    assert_eq!(world.submit(&cable.key, rotate), Ok(()));
    let outcome = world.submit(&cable.key, ship(&cable, &distributor, cable_lot(), 1));
    assert!(
        matches!(outcome, Err(RuleError::KeyRevoked { .. })),
        "{outcome:?}"
    );
    assert_eq!(
        world.submit(&new_key, ship(&cable, &distributor, cable_lot(), 1)),
        Ok(())
    );
    // The association revokes the new key too; it is then refused as well.
    let association = world.demo.association.clone();
    let revoke = Record::RevokeKey(RevokeKey {
        uscc: cable.profile.uscc.clone(),
        key: new_key.public(),
        reason: "Reported lost.".parse().unwrap(),
    });
    assert_eq!(world.submit(&association, revoke), Ok(()));
    let binding = world.state.key_binding(&new_key.public()).unwrap().unwrap();
    assert!(matches!(binding.status, KeyStatus::Revoked { .. }));
    let outcome = world.submit(&new_key, ship(&cable, &distributor, cable_lot(), 1));
    assert!(
        matches!(outcome, Err(RuleError::KeyRevoked { .. })),
        "{outcome:?}"
    );
}

#[test]
fn strangers_sign_nothing() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let stranger = KeyPair::insecure_from_label("stranger");
    let outcome = world.submit(&stranger, ship(&cable, &distributor, cable_lot(), 1));
    assert!(
        matches!(outcome, Err(RuleError::UnknownSigner { .. })),
        "{outcome:?}"
    );
}

#[test]
fn a_refused_transaction_in_a_block_refuses_the_block_but_a_leader_can_skip_it() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let good = world.sign(&cable.key, ship(&cable, &distributor, cable_lot(), 1));
    let bad = world.sign(&cable.key, ship(&cable, &distributor, cable_lot(), 10_000));
    let txs: Vec<VerifiedTx> = [good, bad].into_iter().map(|e| world.verify(e)).collect();
    let refused = execute_block(&world.state, world.context(), &txs).unwrap_err();
    assert_eq!(refused.index, 1);
    let mut executor = Executor::new(&world.state, world.context());
    assert!(executor.apply(&txs[0]).is_ok());
    assert!(executor.apply(&txs[1]).is_err());
    assert_eq!(executor.applied(), 1);
    let writes = executor.finish();
    world.state.apply(writes);
    assert_eq!(
        world
            .state
            .holding(&cable_lot(), &cable.profile.uscc)
            .unwrap(),
        199
    );
}

#[test]
fn execution_is_deterministic() {
    let first = World::new();
    let second = World::new();
    assert_eq!(first.state.digest(), second.state.digest());
}
