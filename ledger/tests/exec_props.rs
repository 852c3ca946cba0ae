//! Property: no sequence of transactions signed by one enterprise writes for another.
//!
//! Enterprise A (the cable maker) signs random records, many naming enterprise B (the gas
//! appliance maker) or B's products and keys. Whatever A manages to get accepted, B's
//! registration, keys, models and codes never change, and B's holdings only grow, and only by
//! A shipping to B.

use proptest::prelude::*;
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{Demo, factory_report, who};
use suyuan_ledger::exec::{BlockContext, Executor};
use suyuan_ledger::record::{
    BindKey, Commissioning, Items, Party, ProductModel, Recall, Record, RevokeKey, RotateKey,
    Shipment, ShipmentLine, Subject, TraceCode,
};
use suyuan_ledger::state::{MemState, StateKey, StateValue};
use suyuan_ledger::tx::{Envelope, Payload};

/// The parts of state that belong to B and that A must not be able to change.
fn owned_by_b(state: &MemState, demo: &Demo) -> Vec<(StateKey, StateValue)> {
    let b = &demo.enterprises[who::GAS_APPLIANCE_MAKER];
    state
        .entries()
        .filter(|(key, value)| match (key, value) {
            (StateKey::Enterprise(uscc), _) => uscc == &b.profile.uscc,
            (StateKey::Key(_), StateValue::Key(binding)) => binding.uscc == b.profile.uscc,
            (StateKey::Model(_), StateValue::Model(model)) => model.model.uscc == b.profile.uscc,
            (StateKey::Code(_), StateValue::Code(code)) => code.producer == b.profile.uscc,
            _ => false,
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn b_holdings(state: &MemState, demo: &Demo) -> Vec<(StateKey, u64)> {
    let b = &demo.enterprises[who::GAS_APPLIANCE_MAKER];
    state
        .entries()
        .filter_map(|(key, value)| match (key, value) {
            (StateKey::Holding(_, uscc), StateValue::Holding(units)) if uscc == &b.profile.uscc => {
                Some((key.clone(), *units))
            }
            _ => None,
        })
        .collect()
}

/// A record A might try, chosen by small integers so that proptest can shrink it.
fn record(demo: &Demo, choice: (u8, bool, bool, u8)) -> Record {
    let (kind, name_b, b_code, amount) = choice;
    let a = &demo.enterprises[who::CABLE_MAKER];
    let b = &demo.enterprises[who::GAS_APPLIANCE_MAKER];
    let uscc = if name_b {
        &b.profile.uscc
    } else {
        &a.profile.uscc
    };
    let gtin = if b_code {
        Demo::cooker_gtin()
    } else {
        Demo::cable_gtin()
    };
    let lot: TraceCode = format!("01/{gtin}/10/L{}", amount % 4).parse().unwrap();
    let existing: TraceCode = if b_code {
        format!("01/{gtin}/10/G2601B").parse().unwrap()
    } else {
        format!("01/{gtin}/10/C2601A").parse().unwrap()
    };
    let key = if b_code {
        b.key.public()
    } else {
        a.key.public()
    };
    let fresh_key = KeyPair::insecure_from_label(&format!("fresh {amount}")).public();
    match kind % 8 {
        0 => Record::RegisterProduct(ProductModel {
            uscc: uscc.clone(),
            model_code: gtin.into(),
            name: "x".parse().unwrap(),
            product_type: "x".parse().unwrap(),
            specification: "x".parse().unwrap(),
            model: "x".parse().unwrap(),
            standards: vec![],
            warranty_months: 1,
            production_licence: None,
            ccc_certificate: None,
            category: None,
            fields: Default::default(),
        }),
        1 => Record::Commission(Commissioning {
            uscc: uscc.clone(),
            model_code: gtin.into(),
            items: Items::Batch {
                code: lot,
                quantity: u64::from(amount) + 1,
            },
            production_date: "2026-01-02".parse().unwrap(),
            factory_number: None,
            inspection_report: factory_report("r", "q"),
        }),
        2 => Record::Ship(Shipment {
            seller: uscc.clone(),
            buyer: Party::Enterprise {
                uscc: if name_b {
                    a.profile.uscc.clone()
                } else {
                    b.profile.uscc.clone()
                },
                name: "buyer".parse().unwrap(),
                address: "1 Buyer Road, Wuhan".parse().unwrap(),
                contact: "+86 27 8000 0001".parse().unwrap(),
                gln: None,
            },
            // Inside the sale window, so that the sale is refused, if it is, for who signs it.
            sold_at_ms: demo.genesis.genesis_time_ms,
            lines: vec![ShipmentLine {
                code: existing,
                quantity: u64::from(amount % 3) + 1,
            }],
            order_reference: None,
        }),
        3 => Record::Recall(Recall {
            producer: uscc.clone(),
            subjects: vec![Subject::Code(existing)],
            reason: "r".parse().unwrap(),
            announced_on: "2026-01-02".parse().unwrap(),
        }),
        4 => Record::RotateKey(RotateKey {
            uscc: uscc.clone(),
            old_key: key,
            new_key: fresh_key,
        }),
        5 => Record::RevokeKey(RevokeKey {
            uscc: uscc.clone(),
            key,
            reason: "r".parse().unwrap(),
        }),
        6 => Record::BindKey(BindKey {
            uscc: uscc.clone(),
            key: fresh_key,
        }),
        _ => Record::Recall(Recall {
            producer: uscc.clone(),
            subjects: vec![Subject::Model(gtin.into())],
            reason: "r".parse().unwrap(),
            announced_on: "2026-01-02".parse().unwrap(),
        }),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_sequence_lets_a_write_for_b(choices in prop::collection::vec((any::<u8>(), any::<bool>(), any::<bool>(), any::<u8>()), 1..24)) {
        let demo = Demo::new(4, 7100);
        let mut state = demo.story_state();
        let a = &demo.enterprises[who::CABLE_MAKER];
        let b_before = owned_by_b(&state, &demo);
        let mut holdings_before = b_holdings(&state, &demo);
        for (nonce, choice) in choices.into_iter().enumerate() {
            let record = record(&demo, choice);
            let is_sale_to_b = matches!(&record, Record::Ship(s) if s.seller == a.profile.uscc);
            let envelope = Envelope::sign(&demo.genesis.binding(), &Payload { nonce: nonce as u64, record, event: None }, &a.key);
            let tx = envelope.verify(&demo.genesis.binding()).unwrap();
            let context = BlockContext { genesis: &demo.genesis, height: 10 + nonce as u64, time_ms: demo.genesis.genesis_time_ms + 86_400_000 * 5 };
            let mut executor = Executor::new(&state, context);
            let accepted = executor.apply(&tx).is_ok();
            let writes = executor.finish();
            state.apply(writes);
            prop_assert_eq!(&owned_by_b(&state, &demo), &b_before);
            let holdings_after = b_holdings(&state, &demo);
            if !(accepted && is_sale_to_b) {
                prop_assert_eq!(&holdings_after, &holdings_before);
            } else {
                for (key, units) in &holdings_before {
                    let after = holdings_after.iter().find(|(k, _)| k == key).map(|(_, u)| *u).unwrap_or(0);
                    prop_assert!(after >= *units, "A's sale reduced B's holding of {key}");
                }
            }
            holdings_before = holdings_after;
        }
    }
}
