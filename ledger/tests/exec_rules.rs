//! Execution rules, one test per rule, over the demo consortium's story.

use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{Demo, DemoEnterprise, who};
use suyuan_ledger::exec::{Executor, RuleError, execute_block};
use suyuan_ledger::genesis::TimeWindows;
use suyuan_ledger::record::{
    EnterpriseKind, Inspection, Outcome, Recall, Record, RegisterEnterprise, RevokeKey, RotateKey,
    Subject, TraceCode, UpdateEnterprise, WithdrawTransfer,
};
use suyuan_ledger::state::{AmendmentKind, KeyStatus, StateReadExt};
use suyuan_ledger::text::Date;
use suyuan_ledger::tx::VerifiedTx;

#[macro_use]
mod support;
use support::*;

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
        prefixes: Vec::new(),
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
            prefixes: Vec::new(),
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
        subject: Subject::Model(Demo::cable_gtin().into()),
        outcome: Outcome::Conformant,
        standards: vec!["GB/T 5023.3-2008".parse().unwrap()],
        inspected_on: "2026-01-03".parse().unwrap(),
        report_number: "X-1".parse().unwrap(),
        document_sha256: Default::default(),
        findings: None,
        accreditation: None,
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
    // The demo licence is valid until 2029-06-30; a CCC certificate issued 2024-03-01. The
    // default window refuses a production date that old; a consortium that accepts it still
    // checks the documents on that date.
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
            Err(RuleError::TooOld {
                field: "production_date",
                ..
            })
        ),
        "{outcome:?}"
    );
    let mut world = World::with_genesis(|genesis| {
        genesis.time_windows = Some(TimeWindows {
            production_max_age_days: 3_000,
            ..TimeWindows::DEFAULT
        })
    });
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
    // Its registrar, the bureau, revokes the new key too; it is then refused as well.
    let bureau = world.demo.bureau.clone();
    let revoke = Record::RevokeKey(RevokeKey {
        uscc: cable.profile.uscc.clone(),
        key: new_key.public(),
        reason: "Reported lost.".parse().unwrap(),
    });
    assert_eq!(world.submit(&bureau, revoke), Ok(()));
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
    // One story (the same buyers' salt seed) executed twice gives one state.
    let first = World::new();
    let second = World::with_salt_seed(first.demo.salt_seed());
    assert_eq!(first.state.digest(), second.state.digest());
}

#[test]
fn a_registrar_amends_only_the_enterprises_it_answers_for() {
    let mut world = World::new();
    // The bureau enrolled the cable maker; the association is another registrar.
    let cable = world.enterprise(who::CABLE_MAKER);
    let association = world.demo.association.clone();
    let mut profile = cable.profile.clone();
    profile.kind = EnterpriseKind::Distributor;
    profile.production_licences.clear();
    let squatter_key = KeyPair::insecure_from_label("the association's own key");
    let cross_writes = [
        Record::UpdateEnterprise(UpdateEnterprise {
            enterprise: profile.clone(),
        }),
        bind(&cable, "the association's own key"),
        Record::RevokeKey(RevokeKey {
            uscc: cable.profile.uscc.clone(),
            key: cable.key.public(),
            reason: "Taken over.".parse().unwrap(),
        }),
    ];
    for record in cross_writes {
        // `submit` checks that each refusal leaves the state as it was.
        assert_refused!(
            world.submit(&association, record),
            RuleError::NotEnterprisesRegistrar { .. }
        );
    }
    // Nothing it tried took hold: the key it would have bound signs nothing.
    assert_refused!(
        world.submit(
            &squatter_key,
            ship(&cable, &world.enterprise(who::DISTRIBUTOR), cable_lot(), 1)
        ),
        RuleError::UnknownSigner { .. }
    );
    // An enterprise key is no registrar at all.
    assert_refused!(
        world.submit(
            &cable.key,
            Record::UpdateEnterprise(UpdateEnterprise {
                enterprise: profile.clone()
            })
        ),
        RuleError::NotRegistrar { .. }
    );
    // The association amends its own member; the bureau, a regulator, amends anyone's.
    let distributor = world.enterprise(who::DISTRIBUTOR);
    assert_eq!(
        world.submit(&association, bind(&distributor, "distributor key 2")),
        Ok(())
    );
    let bureau = world.demo.bureau.clone();
    assert_eq!(
        world.submit(&bureau, bind(&distributor, "distributor key 3")),
        Ok(())
    );
}

#[test]
fn a_transfer_needs_both_registrars_and_moves_the_right_to_amend() {
    let mut world = world_with_chamber();
    // The association enrolled the distributor.
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let uscc = distributor.profile.uscc.clone();
    let association = world.demo.association.clone();
    let bureau = world.demo.bureau.clone();
    let chamber = chamber();
    let stranger = KeyPair::insecure_from_label("not a registrar");

    assert_refused!(
        world.submit(&chamber, accept(&distributor, &association)),
        RuleError::NoTransferOffer { .. }
    );
    assert_refused!(
        world.submit(&chamber, offer(&distributor, &chamber)),
        RuleError::NotEnterprisesRegistrar { .. }
    );
    assert_refused!(
        world.submit(&association, offer(&distributor, &stranger)),
        RuleError::UnknownRegistrar { .. }
    );
    assert_refused!(
        world.submit(&association, offer(&distributor, &association)),
        RuleError::AlreadyRegistrar { .. }
    );
    assert_eq!(
        world.submit(&association, offer(&distributor, &chamber)),
        Ok(())
    );
    // The offer alone changes no registrar; only the registrar offered accepts, naming the
    // registrar that offered.
    let state = world.state.enterprise(&uscc).unwrap().unwrap();
    assert_eq!(state.registrar(), association.public());
    assert_refused!(
        world.submit(&chamber, bind(&distributor, "too early")),
        RuleError::NotEnterprisesRegistrar { .. }
    );
    assert_refused!(
        world.submit(&bureau, accept(&distributor, &association)),
        RuleError::NoTransferOffer { .. }
    );
    assert_refused!(
        world.submit(&chamber, accept(&distributor, &bureau)),
        RuleError::NoTransferOffer { .. }
    );
    assert_eq!(
        world.submit(&chamber, accept(&distributor, &association)),
        Ok(())
    );
    let state = world.state.enterprise(&uscc).unwrap().unwrap();
    assert_eq!(state.registrar(), chamber.public());
    assert_eq!(state.registered_by, association.public());
    assert_eq!(state.pending_transfer, None);

    // The new registrar amends; the old one no longer does.
    assert_refused!(
        world.submit(&association, bind(&distributor, "old registrar's")),
        RuleError::NotEnterprisesRegistrar { .. }
    );
    assert_refused!(
        world.submit(&association, offer(&distributor, &association)),
        RuleError::NotEnterprisesRegistrar { .. }
    );
    assert_eq!(
        world.submit(&chamber, bind(&distributor, "new registrar's")),
        Ok(())
    );

    // Every amendment is in the enterprise's history, with its signer and height (refused
    // transactions commit no block, so heights count the accepted ones).
    let state = world.state.enterprise(&uscc).unwrap().unwrap();
    let history: Vec<_> = (0..state.amendments)
        .map(|n| world.state.amendment(&uscc, n).unwrap().unwrap())
        .collect();
    let summary: Vec<_> = history
        .iter()
        .map(|a| (a.kind, a.by, a.at.height))
        .collect();
    assert_eq!(
        summary,
        vec![
            (AmendmentKind::Enrolment, association.public(), 1),
            (AmendmentKind::TransferOffered, association.public(), 6),
            (AmendmentKind::TransferAccepted, chamber.public(), 7),
            (AmendmentKind::BindKey, chamber.public(), 8),
        ]
    );
    assert_eq!(
        world.state.amendment(&uscc, state.amendments).unwrap(),
        None
    );
}

#[test]
fn a_withdrawn_transfer_cannot_be_accepted() {
    let mut world = world_with_chamber();
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let association = world.demo.association.clone();
    let chamber = chamber();
    let withdraw = Record::WithdrawTransfer(WithdrawTransfer {
        uscc: distributor.profile.uscc.clone(),
    });
    assert_refused!(
        world.submit(&association, withdraw.clone()),
        RuleError::NoTransferOffer { .. }
    );
    assert_eq!(
        world.submit(&association, offer(&distributor, &chamber)),
        Ok(())
    );
    // Neither a third registrar withdraws it...
    let bureau = world.demo.bureau.clone();
    assert_refused!(
        world.submit(&bureau, withdraw.clone()),
        RuleError::NoTransferOffer { .. }
    );
    // ...but the registrar offered may decline it.
    assert_eq!(world.submit(&chamber, withdraw), Ok(()));
    assert_refused!(
        world.submit(&chamber, accept(&distributor, &association)),
        RuleError::NoTransferOffer { .. }
    );
    let state = world
        .state
        .enterprise(&distributor.profile.uscc)
        .unwrap()
        .unwrap();
    assert_eq!(state.registrar(), association.public());
}

/// The next block's time, as `World::context` sets it.
fn next_block_ms(world: &World) -> u64 {
    world.context().time_ms
}

fn days_before(world: &World, days: u64) -> Date {
    Date::from_unix_ms_china(next_block_ms(world) - days * DAY_MS)
}

#[test]
fn production_dates_must_lie_in_the_window() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let lot = |name: &str| -> TraceCode { format!("01/06950123450012/10/{name}").parse().unwrap() };
    let window = TimeWindows::DEFAULT.production_max_age_days.into();
    let too_old = days_before(&world, window + 1).to_string();
    assert_refused!(
        world.submit(
            &cable.key,
            commission(&cable, Demo::cable_gtin(), lot("W1"), &too_old)
        ),
        RuleError::TooOld {
            field: "production_date",
            ..
        }
    );
    let tomorrow = Date::from_unix_ms_china(next_block_ms(&world) + DAY_MS).to_string();
    assert_refused!(
        world.submit(
            &cable.key,
            commission(&cable, Demo::cable_gtin(), lot("W2"), &tomorrow)
        ),
        RuleError::InTheFuture {
            field: "production_date",
            ..
        }
    );
    let oldest = days_before(&world, window).to_string();
    assert_eq!(
        world.submit(
            &cable.key,
            commission(&cable, Demo::cable_gtin(), lot("W3"), &oldest)
        ),
        Ok(())
    );
}

#[test]
fn a_backdated_production_date_does_not_revive_an_expired_licence() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let bureau = world.demo.bureau.clone();
    // The registrar records that the production licence ran out yesterday.
    let yesterday = days_before(&world, 1);
    let mut profile = cable.profile.clone();
    profile.production_licences[0].valid_until = yesterday;
    assert_eq!(
        world.submit(
            &bureau,
            Record::UpdateEnterprise(UpdateEnterprise {
                enterprise: profile
            })
        ),
        Ok(())
    );
    // Dated the day the licence was still valid, the batch is refused on the block's date.
    let block_date = Date::from_unix_ms_china(next_block_ms(&world));
    let outcome = world.submit(
        &cable.key,
        commission(
            &cable,
            Demo::cable_gtin(),
            "01/06950123450012/10/BACK1".parse().unwrap(),
            &days_before(&world, 2).to_string(),
        ),
    );
    assert_eq!(
        outcome,
        Err(RuleError::DocumentNotHeld {
            uscc: cable.profile.uscc.clone(),
            document: "production licence",
            number: cable.profile.production_licences[0].number.to_string(),
            on: block_date,
        })
    );
}

#[test]
fn sale_times_must_lie_in_the_window() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let windows = TimeWindows::DEFAULT;
    let block_ms = next_block_ms(&world);
    let sale_at = |sold_at_ms: u64| {
        let mut record = ship(&cable, &distributor, cable_lot(), 1);
        if let Record::Ship(shipment) = &mut record {
            shipment.sold_at_ms = sold_at_ms;
        }
        record
    };
    let oldest_ms = block_ms - u64::from(windows.sale_max_age_days) * DAY_MS;
    for absurd in [0, 1, oldest_ms - 1] {
        assert_refused!(
            world.submit(&cable.key, sale_at(absurd)),
            RuleError::TooOld {
                field: "sold_at_ms",
                ..
            }
        );
    }
    assert_refused!(
        world.submit(
            &cable.key,
            sale_at(next_block_ms(&world) + windows.clock_skew_ms + 1)
        ),
        RuleError::InTheFuture {
            field: "sold_at_ms",
            ..
        }
    );
    let block_ms = next_block_ms(&world);
    assert_eq!(
        world.submit(&cable.key, sale_at(block_ms + windows.clock_skew_ms)),
        Ok(())
    );
    let oldest_ms = next_block_ms(&world) - u64::from(windows.sale_max_age_days) * DAY_MS;
    assert_eq!(world.submit(&cable.key, sale_at(oldest_ms)), Ok(()));
}

#[test]
fn inspection_and_recall_dates_must_lie_in_their_windows() {
    let mut world = World::new();
    let bureau = world.demo.bureau.clone();
    let windows = TimeWindows::DEFAULT;
    let inspection = |on: Date| {
        Record::Inspect(Inspection {
            subject: Subject::Code(cable_lot()),
            outcome: Outcome::Conformant,
            standards: vec!["GB/T 5023.3-2008".parse().unwrap()],
            inspected_on: on,
            report_number: "HBAMR-2026-1".parse().unwrap(),
            document_sha256: Default::default(),
            findings: None,
            accreditation: None,
        })
    };
    let producer = world.enterprise(who::CABLE_MAKER).profile.uscc;
    let recall = |on: Date| {
        Record::Recall(Recall {
            producer: producer.clone(),
            subjects: vec![Subject::Code(cable_lot())],
            reason: "Insulation too thin.".parse().unwrap(),
            announced_on: on,
        })
    };
    let old_inspection = inspection(days_before(
        &world,
        u64::from(windows.inspection_max_age_days) + 1,
    ));
    assert_refused!(
        world.submit(&bureau, old_inspection),
        RuleError::TooOld {
            field: "inspected_on",
            ..
        }
    );
    let future = Date::from_unix_ms_china(next_block_ms(&world) + DAY_MS);
    assert_refused!(
        world.submit(&bureau, inspection(future)),
        RuleError::InTheFuture {
            field: "inspected_on",
            ..
        }
    );
    let old_recall = recall(days_before(
        &world,
        u64::from(windows.recall_max_age_days) + 1,
    ));
    assert_refused!(
        world.submit(&bureau, old_recall),
        RuleError::TooOld {
            field: "announced_on",
            ..
        }
    );
    let future = Date::from_unix_ms_china(next_block_ms(&world) + DAY_MS);
    assert_refused!(
        world.submit(&bureau, recall(future)),
        RuleError::InTheFuture {
            field: "announced_on",
            ..
        }
    );
    let oldest = days_before(&world, windows.inspection_max_age_days.into());
    assert_eq!(world.submit(&bureau, inspection(oldest)), Ok(()));
    let oldest = days_before(&world, windows.recall_max_age_days.into());
    assert_eq!(world.submit(&bureau, recall(oldest)), Ok(()));
}

#[test]
fn licence_and_certificate_dates_must_be_plausible() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let bureau = world.demo.bureau.clone();
    let tomorrow = Date::from_unix_ms_china(next_block_ms(&world) + DAY_MS);
    let update = |edit: &dyn Fn(&mut suyuan_ledger::record::EnterpriseProfile)| {
        let mut profile = cable.profile.clone();
        edit(&mut profile);
        Record::UpdateEnterprise(UpdateEnterprise {
            enterprise: profile,
        })
    };
    assert_refused!(
        world.submit(
            &bureau,
            update(&|p| p.ccc_certificates[0].issued_on = tomorrow)
        ),
        RuleError::InTheFuture {
            field: "ccc_certificates.issued_on",
            ..
        }
    );
    assert_refused!(
        world.submit(
            &bureau,
            update(&|p| p.business_licence.issued_on = tomorrow)
        ),
        RuleError::InTheFuture {
            field: "business_licence.issued_on",
            ..
        }
    );
    assert_refused!(
        world.submit(
            &bureau,
            update(&|p| p.ccc_certificates[0].valid_until = "2024-02-29".parse().unwrap())
        ),
        RuleError::ExpiresBeforeIssue {
            document: "CCC certificate",
            ..
        }
    );
    assert_refused!(
        world.submit(
            &bureau,
            update(&|p| p.business_licence.valid_until = Some("2015-05-31".parse().unwrap()))
        ),
        RuleError::ExpiresBeforeIssue {
            document: "business licence",
            ..
        }
    );
    assert_refused!(
        world.submit(
            &bureau,
            update(&|p| p.production_licences[0].valid_until = "2099-12-31".parse().unwrap())
        ),
        RuleError::ValidityTooLong {
            document: "production licence",
            ..
        }
    );
    // Enrolment checks the same dates.
    let mut profile = cable.profile.clone();
    profile.uscc = suyuan_ledger::demo::uscc("91420100MA4K9E2F5");
    profile.ccc_certificates[0].valid_until = "2099-12-31".parse().unwrap();
    assert_refused!(
        world.submit(
            &bureau,
            Record::RegisterEnterprise(RegisterEnterprise {
                enterprise: profile,
                keys: vec![KeyPair::insecure_from_label("new").public()],
                prefixes: Vec::new(),
            })
        ),
        RuleError::ValidityTooLong {
            document: "CCC certificate",
            ..
        }
    );
}

#[test]
fn a_consortium_sets_its_own_windows_in_genesis() {
    let windows = TimeWindows {
        // The story reports its sales two days late.
        sale_max_age_days: 2,
        ..TimeWindows::DEFAULT
    };
    let mut world = World::with_genesis(|genesis| genesis.time_windows = Some(windows));
    let cable = world.enterprise(who::CABLE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    // The demo's sale helper dates the sale at genesis, six days before the next block.
    assert_refused!(
        world.submit(&cable.key, ship(&cable, &distributor, cable_lot(), 1)),
        RuleError::TooOld {
            field: "sold_at_ms",
            ..
        }
    );
}
