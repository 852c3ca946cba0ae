//! Packing, unpacking and shipping logistic units, and items belonging to batches: one test per
//! rule over the demo consortium's story; each refusal names its rule and leaves state
//! unchanged (`World::submit` checks the digest).

use suyuan_ledger::demo::{Demo, DemoEnterprise, factory_report, sscc, who};
use suyuan_ledger::exec::RuleError;
use suyuan_ledger::limits::MAX_PACKING_DEPTH;
use suyuan_ledger::record::{
    Commissioning, Items, Pack, Party, Recall, Record, ShipmentLine, Subject, TraceCode, UnitCode,
    Unpack,
};
use suyuan_ledger::state::StateReadExt;

#[macro_use]
mod support;
use support::*;

/// A pallet under the cable maker's company prefix.
fn cable_pallet(n: u32) -> UnitCode {
    sscc(&format!("0{}{n:09}", Demo::cable_prefix().value()))
}

/// A case under the gas-appliance maker's company prefix.
fn cooker_case(n: u32) -> UnitCode {
    sscc(&format!("0{}{n:09}", Demo::cooker_prefix().value()))
}

fn line(code: &TraceCode, quantity: u64) -> ShipmentLine {
    ShipmentLine {
        code: code.clone(),
        quantity,
    }
}

fn unit_line(unit: &UnitCode) -> ShipmentLine {
    line(unit.as_code(), 1)
}

fn pack(by: &DemoEnterprise, unit: &UnitCode, contents: Vec<ShipmentLine>) -> Record {
    Record::Pack(Pack {
        uscc: by.profile.uscc.clone(),
        sscc: unit.clone(),
        contents,
        packed_at_ms: suyuan_ledger::demo::DEMO_GENESIS_TIME_MS,
    })
}

fn unpack(by: &DemoEnterprise, unit: &UnitCode) -> Record {
    Record::Unpack(Unpack {
        uscc: by.profile.uscc.clone(),
        sscc: unit.clone(),
        unpacked_at_ms: suyuan_ledger::demo::DEMO_GENESIS_TIME_MS,
    })
}

fn cooker_serial(n: u32) -> TraceCode {
    TraceCode::Item {
        gtin: Demo::cooker_gtin(),
        serial: format!("G26SN{n:05}").parse().unwrap(),
    }
}

fn cable_item(serial: &str) -> TraceCode {
    TraceCode::Item {
        gtin: Demo::cable_gtin(),
        serial: serial.parse().unwrap(),
    }
}

fn commission_items(
    producer: &DemoEnterprise,
    codes: Vec<TraceCode>,
    batch: Option<TraceCode>,
) -> Record {
    let gtin = codes[0].gtin().unwrap().clone();
    Record::Commission(Commissioning {
        uscc: producer.profile.uscc.clone(),
        model_code: gtin.into(),
        items: Items::Serialised { codes, batch },
        production_date: "2026-01-03".parse().unwrap(),
        factory_number: None,
        inspection_report: factory_report("R-2", "QA"),
    })
}

fn recall(producer: &DemoEnterprise, subjects: Vec<Subject>) -> Record {
    Record::Recall(Recall {
        producer: producer.profile.uscc.clone(),
        subjects,
        reason: "test".parse().unwrap(),
        announced_on: "2026-01-04".parse().unwrap(),
    })
}

fn holding(world: &World, code: &TraceCode, who: &DemoEnterprise) -> (u64, u64) {
    let uscc = &who.profile.uscc;
    (
        world.state.holding(code, uscc).unwrap(),
        world.state.packed(code, uscc).unwrap(),
    )
}

/// `by` packs `contents` into `unit`: the setup a test goes on from.
fn packed(world: &mut World, by: &DemoEnterprise, unit: &UnitCode, contents: Vec<ShipmentLine>) {
    assert_eq!(world.submit(&by.key, pack(by, unit, contents)), Ok(()));
}

#[test]
fn a_shipped_pallet_moves_its_contents_and_the_buyer_unpacks_it() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let lot = cable_lot();
    assert_eq!(holding(&world, &lot, &cable), (200, 0));
    assert_eq!(holding(&world, &lot, &distributor), (180, 0));
    let pallet = cable_pallet(1);
    packed(&mut world, &cable, &pallet, vec![line(&lot, 100)]);
    assert_eq!(holding(&world, &lot, &cable), (200, 100));
    assert_eq!(world.state.contained(&lot, &pallet).unwrap(), 100);
    let shipped = ship(&cable, &distributor, pallet.as_code().clone(), 1);
    assert_eq!(world.submit(&cable.key, shipped), Ok(()));
    assert_eq!(holding(&world, &lot, &cable), (100, 0));
    assert_eq!(holding(&world, &lot, &distributor), (280, 100));
    let unit = world.state.unit(&pallet).unwrap().unwrap();
    assert_eq!(unit.holder, distributor.profile.uscc);
    assert_eq!(unit.packer, cable.profile.uscc);
    assert_eq!(
        world.submit(&distributor.key, unpack(&distributor, &pallet)),
        Ok(())
    );
    assert_eq!(holding(&world, &lot, &distributor), (280, 0));
    assert!(world.state.unit(&pallet).unwrap().is_none());
    assert_eq!(world.state.contained(&lot, &pallet).unwrap(), 0);
    // Loose again, the units ship one by one.
    let resale = ship(&distributor, &cable, lot, 250);
    assert_eq!(world.submit(&distributor.key, resale), Ok(()));
}

#[test]
fn an_sscc_outside_the_packers_prefixes_is_refused() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let pallet = cable_pallet(2);
    // The distributor holds cable but no company prefix.
    let record = pack(&distributor, &pallet, vec![line(&cable_lot(), 10)]);
    assert_refused!(
        world.submit(&distributor.key, record),
        RuleError::CodeUnderOthersPrefix { .. }
    );
    let record = pack(&gas, &pallet, vec![line(&cooker_serial(2), 1)]);
    assert_refused!(
        world.submit(&gas.key, record),
        RuleError::CodeUnderOthersPrefix { .. }
    );
    let nobodys = sscc("09999999000000001");
    let record = pack(&cable, &nobodys, vec![line(&cable_lot(), 10)]);
    assert_refused!(
        world.submit(&cable.key, record),
        RuleError::CodeOutsidePrefixes { .. }
    );
}

#[test]
fn an_sscc_is_packed_again_only_once_unpacked() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let pallet = cable_pallet(3);
    packed(&mut world, &cable, &pallet, vec![line(&cable_lot(), 10)]);
    let again = pack(&cable, &pallet, vec![line(&cable_lot(), 5)]);
    assert_refused!(
        world.submit(&cable.key, again.clone()),
        RuleError::UnitAlreadyPacked { .. }
    );
    assert_eq!(world.submit(&cable.key, unpack(&cable, &pallet)), Ok(()));
    assert_eq!(world.submit(&cable.key, again), Ok(()));
    assert_eq!(holding(&world, &cable_lot(), &cable), (200, 5));
}

#[test]
fn only_loose_units_are_packed_or_shipped_one_by_one() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let lot = cable_lot();
    packed(&mut world, &cable, &cable_pallet(4), vec![line(&lot, 150)]);
    let second = pack(&cable, &cable_pallet(5), vec![line(&lot, 100)]);
    assert_refused!(
        world.submit(&cable.key, second),
        RuleError::CodePacked {
            loose: 50,
            requested: 100,
            ..
        }
    );
    let too_many = pack(&cable, &cable_pallet(5), vec![line(&lot, 300)]);
    assert_refused!(
        world.submit(&cable.key, too_many),
        RuleError::InsufficientHolding { .. }
    );
    assert_refused!(
        world.submit(&cable.key, ship(&cable, &distributor, lot.clone(), 60)),
        RuleError::CodePacked { loose: 50, .. }
    );
    assert_eq!(
        world.submit(&cable.key, ship(&cable, &distributor, lot, 50)),
        Ok(())
    );
    // A packed serialised item ships only inside its case.
    let case = cooker_case(1);
    packed(&mut world, &gas, &case, vec![line(&cooker_serial(2), 1)]);
    let record = ship(&gas, &distributor, cooker_serial(2), 1);
    assert_refused!(
        world.submit(&gas.key, record),
        RuleError::CodePacked { loose: 0, .. }
    );
    let record = pack(&gas, &cooker_case(2), vec![line(&cooker_serial(2), 1)]);
    assert_refused!(world.submit(&gas.key, record), RuleError::CodePacked { .. });
}

#[test]
fn only_the_holder_of_a_unit_ships_packs_or_unpacks_it() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let pallet = cable_pallet(6);
    packed(&mut world, &cable, &pallet, vec![line(&cable_lot(), 10)]);
    assert_refused!(
        world.submit(&distributor.key, unpack(&distributor, &pallet)),
        RuleError::NotUnitHolder { .. }
    );
    let record = ship(&distributor, &cable, pallet.as_code().clone(), 1);
    assert_refused!(
        world.submit(&distributor.key, record),
        RuleError::NotUnitHolder { .. }
    );
    // Nor may anyone sign for the holder.
    assert_refused!(
        world.submit(&distributor.key, unpack(&cable, &pallet)),
        RuleError::WrongEnterprise { .. }
    );
    let unknown = cable_pallet(7);
    assert_refused!(
        world.submit(&cable.key, unpack(&cable, &unknown)),
        RuleError::UnknownUnit { .. }
    );
    let record = ship(&cable, &distributor, unknown.as_code().clone(), 1);
    assert_refused!(
        world.submit(&cable.key, record),
        RuleError::UnknownUnit { .. }
    );
    let record = ship(&cable, &distributor, pallet.as_code().clone(), 2);
    assert_refused!(
        world.submit(&cable.key, record),
        RuleError::BadQuantity { .. }
    );
}

#[test]
fn cases_nest_in_a_pallet_that_moves_and_unpacks_level_by_level() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let lot = cable_lot();
    let (case_a, case_b, pallet) = (cable_pallet(10), cable_pallet(11), cable_pallet(12));
    for (case, units) in [(&case_a, 20), (&case_b, 30)] {
        packed(&mut world, &cable, case, vec![line(&lot, units)]);
    }
    packed(
        &mut world,
        &cable,
        &pallet,
        vec![unit_line(&case_a), unit_line(&case_b)],
    );
    let state = world.state.unit(&pallet).unwrap().unwrap();
    assert_eq!((state.depth, state.lines), (2, 2));
    // An inner case moves and unpacks only with, then after, its pallet.
    let record = ship(&cable, &distributor, case_a.as_code().clone(), 1);
    assert_refused!(
        world.submit(&cable.key, record),
        RuleError::UnitInUnit { .. }
    );
    assert_refused!(
        world.submit(&cable.key, unpack(&cable, &case_a)),
        RuleError::UnitInUnit { .. }
    );
    let record = pack(&cable, &cable_pallet(13), vec![unit_line(&case_a)]);
    assert_refused!(
        world.submit(&cable.key, record),
        RuleError::UnitInUnit { .. }
    );
    let record = ship(&cable, &distributor, pallet.as_code().clone(), 1);
    assert_eq!(world.submit(&cable.key, record), Ok(()));
    assert_eq!(holding(&world, &lot, &distributor), (230, 50));
    assert_eq!(holding(&world, &lot, &cable), (150, 0));
    for unit in [&pallet, &case_a, &case_b] {
        let state = world.state.unit(unit).unwrap().unwrap();
        assert_eq!(state.holder, distributor.profile.uscc, "{unit}");
    }
    let record = unpack(&distributor, &pallet);
    assert_eq!(world.submit(&distributor.key, record), Ok(()));
    assert_eq!(holding(&world, &lot, &distributor), (230, 50));
    let record = unpack(&distributor, &case_a);
    assert_eq!(world.submit(&distributor.key, record), Ok(()));
    assert_eq!(holding(&world, &lot, &distributor), (230, 30));
    // The loose case ships on its own now.
    let record = ship(&distributor, &cable, case_b.as_code().clone(), 1);
    assert_eq!(world.submit(&distributor.key, record), Ok(()));
    assert_eq!(holding(&world, &lot, &cable), (180, 30));
}

#[test]
fn packing_deeper_than_the_bound_is_refused() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let mut inner = cable_pallet(20);
    packed(&mut world, &cable, &inner, vec![line(&cable_lot(), 1)]);
    for level in 2..=u32::from(MAX_PACKING_DEPTH) {
        let outer = cable_pallet(20 + level);
        let record = pack(&cable, &outer, vec![unit_line(&inner)]);
        assert_eq!(world.submit(&cable.key, record), Ok(()), "level {level}");
        inner = outer;
    }
    let record = pack(&cable, &cable_pallet(30), vec![unit_line(&inner)]);
    assert_refused!(
        world.submit(&cable.key, record),
        RuleError::PackingTooDeep { depth: 5, .. }
    );
}

#[test]
fn malformed_contents_are_refused() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let (lot, pallet) = (cable_lot(), cable_pallet(40));
    let cases = [
        (vec![], "empty"),
        (vec![line(&lot, 1), line(&lot, 2)], "duplicate"),
        (vec![line(&lot, 0)], "bad_quantity"),
        (vec![line(&cable_item("NEVER"), 1)], "unknown_code"),
        (vec![unit_line(&cable_pallet(41))], "unknown_unit"),
        (vec![unit_line(&pallet)], "unknown_unit"),
    ];
    for (contents, rule) in cases {
        let record = pack(&cable, &pallet, contents);
        let refusal = world.submit(&cable.key, record).unwrap_err();
        assert_eq!(refusal.code(), rule, "{refusal}");
    }
    let case = cable_pallet(42);
    packed(&mut world, &cable, &case, vec![line(&lot, 1)]);
    let record = pack(&cable, &pallet, vec![line(case.as_code(), 2)]);
    assert_refused!(
        world.submit(&cable.key, record),
        RuleError::BadQuantity { .. }
    );
}

#[test]
fn a_logistic_unit_is_no_recall_subject_and_recalled_contents_do_not_ship() {
    let mut world = World::new();
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let case = cooker_case(3);
    // The story recalls the cooker lot; its units may be packed for return, not shipped.
    packed(&mut world, &gas, &case, vec![line(&cooker_lot(), 10)]);
    let record = recall(&gas, vec![Subject::Code(case.as_code().clone())]);
    assert_refused!(
        world.submit(&gas.key, record),
        RuleError::NotAProductCode { .. }
    );
    let record = ship(&gas, &distributor, case.as_code().clone(), 1);
    assert_refused!(
        world.submit(&gas.key, record),
        RuleError::UnderRecall { .. }
    );
}

#[test]
fn a_unit_sold_outside_the_ledger_leaves_with_its_contents() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let (lot, pallet) = (cable_lot(), cable_pallet(50));
    packed(&mut world, &cable, &pallet, vec![line(&lot, 40)]);
    let Record::Ship(mut sale) = ship(&cable, &cable, pallet.as_code().clone(), 1) else {
        unreachable!()
    };
    sale.buyer = Party::Person {
        commitment: suyuan_ledger::hash::Hash32([7; 32]),
        data_reference: "crm://orders/77".parse().unwrap(),
    };
    assert_eq!(world.submit(&cable.key, Record::Ship(sale)), Ok(()));
    assert_eq!(holding(&world, &lot, &cable), (160, 0));
    assert!(world.state.unit(&pallet).unwrap().is_none());
    assert_eq!(world.state.contained(&lot, &pallet).unwrap(), 0);
    // Its SSCC is free for another unit.
    packed(&mut world, &cable, &pallet, vec![line(&lot, 1)]);
}

#[test]
fn items_name_their_batch_and_a_recall_of_the_batch_covers_them() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let items = vec![cable_item("C2601A-0001"), cable_item("C2601A-0002")];
    let record = commission_items(&cable, items.clone(), Some(cable_lot()));
    assert_eq!(world.submit(&cable.key, record), Ok(()));
    let state = world.state.code(&items[0]).unwrap().unwrap();
    assert_eq!(state.batch, Some(cable_lot()));
    let record = ship(&cable, &distributor, items[0].clone(), 1);
    assert_eq!(world.submit(&cable.key, record), Ok(()));
    let record = recall(&cable, vec![Subject::Code(cable_lot())]);
    assert_eq!(world.submit(&cable.key, record), Ok(()));
    let record = ship(&cable, &distributor, items[1].clone(), 1);
    assert_refused!(
        world.submit(&cable.key, record),
        RuleError::UnderRecall { .. }
    );
    // Items of the recalled cooker lot are refused as well, once they name it.
    let record = commission_items(&gas, vec![cooker_serial(90)], Some(cooker_lot()));
    assert_eq!(world.submit(&gas.key, record), Ok(()));
    let record = ship(&gas, &distributor, cooker_serial(90), 1);
    assert_refused!(
        world.submit(&gas.key, record),
        RuleError::UnderRecall { .. }
    );
}

#[test]
fn a_batch_must_be_a_commissioned_lot_of_the_same_model() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let item = vec![cable_item("X-1")];
    let cases = [
        (Some(cable_item("X-0")), "not_a_batch"),
        (Some(cable_pallet(60).as_code().clone()), "not_a_batch"),
        (
            Some("01/06950123450012/10/NEVER".parse().unwrap()),
            "unknown_code",
        ),
    ];
    for (batch, rule) in cases {
        let record = commission_items(&cable, item.clone(), batch);
        let refusal = world.submit(&cable.key, record).unwrap_err();
        assert_eq!(refusal.code(), rule, "{refusal}");
    }
    let record = commission_items(&gas, vec![cooker_serial(91)], Some(cable_lot()));
    assert_refused!(
        world.submit(&gas.key, record),
        RuleError::CodeOfOtherModel { .. }
    );
    // A serialised item is nobody's batch.
    let record = commission_items(&cable, item.clone(), Some(cable_lot()));
    assert_eq!(world.submit(&cable.key, record), Ok(()));
    let record = commission_items(&cable, vec![cable_item("X-2")], Some(item[0].clone()));
    assert_refused!(
        world.submit(&cable.key, record),
        RuleError::NotABatch { .. }
    );
}

#[test]
fn the_dev_storys_logistics_block_moves_a_pallet_and_keeps_a_case() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let block = world.demo.logistics();
    assert_eq!(world.commit(block), Ok(()));
    assert_eq!(holding(&world, &cable_lot(), &cable), (100, 0));
    assert_eq!(holding(&world, &cable_lot(), &distributor), (280, 0));
    assert!(world.state.unit(&Demo::pallet()).unwrap().is_none());
    let case = world.state.unit(&Demo::cooker_case()).unwrap().unwrap();
    assert_eq!(case.holder, gas.profile.uscc);
    assert_eq!(holding(&world, &cooker_serial(5), &gas), (1, 1));
}
