//! Property: no sequence of packing, unpacking, shipping and recalling, by honest enterprises or
//! by ones signing for others, breaks the logistic-unit bookkeeping.
//!
//! Three enterprises of the demo (the two makers and the distributor) sign random pack, unpack,
//! ship and recall records, often naming another enterprise, another's units, codes they do not
//! hold, or units inside other units. After every step:
//!
//! - every code's units across holders are what the story left (no sale leaves the ledger here);
//! - each holder's packed units of a code are exactly what the units it holds contain, and never
//!   more than it holds: nothing is packed twice;
//! - every unit inside another names it as parent, has its holder, and the parent chain ends
//!   within the depth bound: no cycles;
//! - an item inside a unit cannot be shipped on its own;
//! - a refused transaction changes no state (`World::submit` checks the digest).

use std::collections::BTreeMap;

use proptest::prelude::*;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::demo::{Demo, DemoEnterprise, sscc, who};
use suyuan_ledger::limits::MAX_PACKING_DEPTH;
use suyuan_ledger::record::{
    Pack, Party, Recall, Record, Shipment, ShipmentLine, Subject, TraceCode, UnitCode, Unpack,
};
use suyuan_ledger::state::{StateKey, StateValue, UnitState};

#[macro_use]
mod support;
use support::*;

const ACTORS: [usize; 3] = [who::CABLE_MAKER, who::GAS_APPLIANCE_MAKER, who::DISTRIBUTOR];

/// Units under either maker's prefix: the pool every record draws from.
fn unit(n: u8) -> UnitCode {
    let prefix = if n.is_multiple_of(2) {
        Demo::cable_prefix()
    } else {
        Demo::cooker_prefix()
    };
    sscc(&format!("0{}{:09}", prefix.value(), n % 6))
}

/// The product codes the story leaves held: the two lots and the unsold cooker items.
fn product(n: u8) -> (TraceCode, u64) {
    match n % 5 {
        0 => (cable_lot(), 1 + u64::from(n) * 7 % 60),
        1 => (cooker_lot(), 1 + u64::from(n) % 20),
        k => (
            TraceCode::Item {
                gtin: Demo::cooker_gtin(),
                serial: format!("G26SN{:05}", k + 1).parse().unwrap(),
            },
            1,
        ),
    }
}

/// One step, chosen by small integers so that proptest can shrink it: who signs, whom the
/// record names, what kind of record, and three operands.
type Step = (u8, u8, u8, u8, u8, u8);

fn record(world: &World, step: Step) -> (DemoEnterprise, Record) {
    let (signer, named, kind, a, b, c) = step;
    let signer_index = usize::from(signer) % 3;
    let signer = world.enterprise(ACTORS[signer_index]);
    // Mostly honest: the record names the signer, else someone else.
    let named_index = if named % 4 == 0 {
        usize::from(named / 4) % 3
    } else {
        signer_index
    };
    let named = world.enterprise(ACTORS[named_index]);
    // Mostly the units and products the named enterprise could hold: a cable maker's units
    // have even numbers, the gas maker's odd ones; cable is products 0, cookers 1 to 4.
    let own = |n: u8| -> u8 {
        match (n % 4, named_index) {
            (0, _) => n,
            (_, 1) => n | 1,
            _ => n & !1,
        }
    };
    let own_product = |n: u8| -> u8 {
        match (n % 4, named_index) {
            (0, _) => n,
            (_, 1) => 1 + n % 4,
            _ => 0,
        }
    };
    let time_ms = suyuan_ledger::demo::DEMO_GENESIS_TIME_MS;
    let content = |n: u8| -> ShipmentLine {
        if n.is_multiple_of(3) {
            ShipmentLine {
                code: unit(own(n / 3)).as_code().clone(),
                quantity: 1,
            }
        } else {
            let (code, quantity) = product(own_product(n));
            ShipmentLine { code, quantity }
        }
    };
    let record = match kind % 8 {
        0..=2 => Record::Pack(Pack {
            uscc: named.profile.uscc.clone(),
            sscc: unit(own(a)),
            contents: (0..1 + c % 3)
                .map(|i| content(b.wrapping_add(i * 5)))
                .collect(),
            packed_at_ms: time_ms,
        }),
        3 => Record::Unpack(Unpack {
            uscc: named.profile.uscc.clone(),
            sscc: unit(own(a)),
            unpacked_at_ms: time_ms,
        }),
        4..=6 => {
            let buyer = world.enterprise(ACTORS[(named_index + 1 + usize::from(c) % 2) % 3]);
            Record::Ship(Shipment {
                seller: named.profile.uscc.clone(),
                buyer: Party::enterprise(&buyer.profile),
                sold_at_ms: time_ms,
                lines: vec![if a.is_multiple_of(2) {
                    ShipmentLine {
                        code: unit(own(b)).as_code().clone(),
                        quantity: 1,
                    }
                } else {
                    content(b)
                }],
                order_reference: None,
            })
        }
        _ => {
            let subject = match a % 3 {
                0 => Subject::Code(unit(b).as_code().clone()),
                1 => Subject::Code(product(b).0),
                _ => Subject::Model(Demo::cable_gtin().into()),
            };
            Record::Recall(Recall {
                producer: named.profile.uscc.clone(),
                subjects: vec![subject],
                reason: "property test".parse().unwrap(),
                announced_on: "2026-01-04".parse().unwrap(),
            })
        }
    };
    (signer, record)
}

/// Each code's units across all holders.
fn totals(world: &World) -> BTreeMap<TraceCode, u64> {
    let mut totals = BTreeMap::new();
    for (key, value) in world.state.entries() {
        if let (StateKey::Holding(code, _), StateValue::Holding(units)) = (key, value) {
            *totals.entry(code.clone()).or_default() += units;
        }
    }
    totals
}

fn check_invariants(world: &mut World, expected_totals: &BTreeMap<TraceCode, u64>) {
    assert_eq!(&totals(world), expected_totals, "units are conserved");
    let mut units: BTreeMap<UnitCode, UnitState> = BTreeMap::new();
    let mut holdings = BTreeMap::new();
    let mut packed: BTreeMap<(TraceCode, Uscc), u64> = BTreeMap::new();
    let mut contained = BTreeMap::new();
    for (key, value) in world.state.entries() {
        match (key, value) {
            (StateKey::Unit(code), StateValue::Unit(state)) => {
                units.insert(code.clone(), state.clone());
            }
            (StateKey::Holding(code, uscc), StateValue::Holding(n)) => {
                holdings.insert((code.clone(), uscc.clone()), *n);
            }
            (StateKey::Packed(code, uscc), StateValue::Packed(n)) => {
                assert!(*n > 0, "a zero count is deleted");
                packed.insert((code.clone(), uscc.clone()), *n);
            }
            (StateKey::Contained(code, unit), StateValue::Contained(n)) => {
                contained.insert((code.clone(), unit.clone()), *n);
            }
            _ => {}
        }
    }
    // What the units say they contain, and what each holder holds packed because of it.
    let mut expected_contained = BTreeMap::new();
    let mut expected_packed: BTreeMap<(TraceCode, Uscc), u64> = BTreeMap::new();
    for (code, state) in &units {
        assert!(state.depth >= 1 && state.depth <= MAX_PACKING_DEPTH);
        for line in &state.contents {
            expected_contained.insert((line.code.clone(), code.clone()), line.quantity);
            match UnitCode::try_from(line.code.clone()) {
                Ok(inner) => {
                    let inner_state = &units[&inner];
                    assert_eq!(inner_state.parent.as_ref(), Some(code));
                    assert_eq!(inner_state.holder, state.holder);
                    assert!(inner_state.depth < state.depth);
                }
                Err(_) => {
                    *expected_packed
                        .entry((line.code.clone(), state.holder.clone()))
                        .or_default() += line.quantity;
                }
            }
        }
        // The parent chain ends, each parent listing the unit below it: no cycles.
        let (mut child, mut at) = (code.clone(), state.parent.clone());
        let mut steps = 0;
        while let Some(parent) = at {
            steps += 1;
            assert!(
                steps < MAX_PACKING_DEPTH,
                "a parent chain longer than the bound"
            );
            let parent_state = &units[&parent];
            assert!(
                parent_state
                    .contents
                    .iter()
                    .any(|l| &l.code == child.as_code()),
                "{parent} does not list {child}, which names it as parent"
            );
            at = parent_state.parent.clone();
            child = parent;
        }
    }
    assert_eq!(
        contained, expected_contained,
        "contained entries match units"
    );
    assert_eq!(packed, expected_packed, "packed counts match units held");
    for ((code, uscc), n) in &packed {
        let held = holdings.get(&(code.clone(), uscc.clone())).copied();
        assert!(held.unwrap_or(0) >= *n, "{code} packed beyond holding");
    }
    // An item held only inside units never ships on its own.
    for ((code, uscc), n) in &packed {
        if holdings[&(code.clone(), uscc.clone())] != *n {
            continue;
        }
        let seller = ACTORS
            .iter()
            .map(|&i| world.enterprise(i))
            .find(|e| &e.profile.uscc == uscc)
            .expect("only the actors hold packed units");
        let buyer = world.enterprise(
            if seller.profile.uscc == world.enterprise(who::DISTRIBUTOR).profile.uscc {
                who::CABLE_MAKER
            } else {
                who::DISTRIBUTOR
            },
        );
        let sale = ship(&seller, &buyer, code.clone(), 1);
        let refusal = world.submit(&seller.key, sale).unwrap_err();
        assert!(
            matches!(refusal.code(), "code_packed" | "under_recall"),
            "{refusal}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn packing_bookkeeping_holds_under_any_sequence(
        steps in proptest::collection::vec(any::<Step>(), 1..40)
    ) {
        let mut world = World::new();
        let expected = totals(&world);
        for step in steps {
            let (signer, record) = record(&world, step);
            // Accepted or refused, the invariants hold; a refusal's digest is checked inside.
            let _ = world.submit(&signer.key, record);
            check_invariants(&mut world, &expected);
        }
    }
}
