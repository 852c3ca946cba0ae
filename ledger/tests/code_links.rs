//! One thing, one record across code schemes: a producer links the Ecodes, Handle ids and GS1
//! codes a batch or item also carries to the code it was commissioned under. Every refusal
//! names its rule and leaves state unchanged (`World::submit` checks the digest).

use suyuan_ledger::demo::{Demo, DemoEnterprise, who};
use suyuan_ledger::exec::RuleError;
use suyuan_ledger::limits::MAX_CODE_ALIASES;
use suyuan_ledger::record::{LinkCodes, Record, Subject, TraceCode};
use suyuan_ledger::state::StateReadExt;

#[macro_use]
mod support;
use support::*;

/// The story with the dev story's non-GS1 blocks: the cable maker holds an Ecode prefix.
fn world() -> World {
    let mut world = World::new();
    for block in world.demo.non_gs1_models() {
        world.commit(block).expect("the non-GS1 blocks execute");
    }
    world
}

fn code(text: &str) -> TraceCode {
    text.parse().unwrap()
}

/// An Ecode under the cable maker's registrant prefix.
fn cable_ecode(n: u32) -> TraceCode {
    code(&format!("ecode:1001269501{n:08}"))
}

fn link(by: &DemoEnterprise, linked: TraceCode, aliases: Vec<TraceCode>) -> Record {
    Record::LinkCodes(LinkCodes {
        uscc: by.profile.uscc.clone(),
        code: linked,
        aliases,
    })
}

#[test]
fn a_linked_code_stands_for_its_batch_and_is_named_by_no_other_record() {
    let mut world = world();
    let cable = world.enterprise(who::CABLE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let alias = cable_ecode(1);
    let same_gtin_lot = code(&format!("01/{}/10/C2601A-E", Demo::cable_gtin()));
    let record = link(
        &cable,
        cable_lot(),
        vec![alias.clone(), same_gtin_lot.clone()],
    );
    assert_eq!(world.submit(&cable.key, record), Ok(()));
    assert_eq!(world.state.alias(&alias).unwrap(), Some(cable_lot()));
    let state = world.state.code(&cable_lot()).unwrap().unwrap();
    assert_eq!(state.aliases, [alias.clone(), same_gtin_lot]);

    // Records move, recall and commission the thing by its commissioned code only.
    let sale = ship(&cable, &distributor, alias.clone(), 1);
    assert_refused!(
        world.submit(&cable.key, sale),
        RuleError::CodeIsAlias { .. }
    );
    let recall = Record::Recall(suyuan_ledger::record::Recall {
        producer: cable.profile.uscc.clone(),
        subjects: vec![Subject::Code(alias.clone())],
        reason: "test".parse().unwrap(),
        announced_on: "2026-01-04".parse().unwrap(),
    });
    assert_refused!(
        world.submit(&cable.key, recall),
        RuleError::CodeIsAlias { .. }
    );
    let again = commission(&cable, Demo::cable_gtin(), alias.clone(), "2026-01-03");
    assert_refused!(
        world.submit(&cable.key, again),
        RuleError::CodeIsAlias { .. }
    );
    // An alias stands for one code, and never becomes a model's code.
    let record = link(&cable, Demo::ecode_batch(), vec![alias.clone()]);
    assert_refused!(
        world.submit(&cable.key, record),
        RuleError::AliasTaken { .. }
    );
    let mut model = world.registered_model(&Demo::ecode_model());
    model.model_code = alias.to_string().parse().unwrap();
    assert_refused!(
        world.submit(&cable.key, Record::RegisterProduct(model)),
        RuleError::ModelCodeClash { .. }
    );
}

#[test]
fn an_alias_that_names_something_else_is_refused() {
    let mut world = world();
    let cable = world.enterprise(who::CABLE_MAKER);
    let cases = [
        // A commissioned code, a model's code, a logistic unit.
        (Demo::ecode_batch(), "code_already_commissioned"),
        (code(&Demo::ecode_model().to_string()), "model_code_clash"),
        (code("00/069501230000000019"), "not_a_product_code"),
        // A GS1 code of another model, or of the other kind.
        (
            code(&format!("01/{}/10/C2601A", Demo::cooker_gtin())),
            "code_of_other_model",
        ),
        (
            code(&format!("01/{}/21/C2601A-1", Demo::cable_gtin())),
            "alias_of_other_kind",
        ),
        // Under the gas maker's Handle prefix, and under no one's.
        (
            code("handle:88.118.8/batch/C2601A"),
            "code_under_others_prefix",
        ),
        (code("ecode:100999000001"), "code_outside_prefixes"),
    ];
    for (alias, rule) in cases {
        let record = link(&cable, cable_lot(), vec![alias.clone()]);
        let refusal = world.submit(&cable.key, record).unwrap_err();
        assert_eq!(refusal.code(), rule, "{alias}: {refusal}");
    }
    let twice = link(&cable, cable_lot(), vec![cable_ecode(1), cable_ecode(1)]);
    assert_refused!(world.submit(&cable.key, twice), RuleError::Duplicate { .. });
}

#[test]
fn only_the_producer_links_and_only_so_many() {
    let mut world = world();
    let cable = world.enterprise(who::CABLE_MAKER);
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    // The gas maker, for itself, of the cable maker's lot; and signing for the cable maker.
    let record = link(&gas, cable_lot(), vec![cable_ecode(1)]);
    assert_refused!(
        world.submit(&gas.key, record),
        RuleError::NotProducersProduct { .. }
    );
    let record = link(&cable, cable_lot(), vec![cable_ecode(1)]);
    assert_refused!(
        world.submit(&gas.key, record),
        RuleError::WrongEnterprise { .. }
    );
    // Up to the bound in all, over several records.
    let first = (1..=MAX_CODE_ALIASES as u32 - 1).map(cable_ecode).collect();
    assert_eq!(
        world.submit(&cable.key, link(&cable, cable_lot(), first)),
        Ok(())
    );
    let over = vec![cable_ecode(100), cable_ecode(101)];
    assert_refused!(
        world.submit(&cable.key, link(&cable, cable_lot(), over)),
        RuleError::TooMany { .. }
    );
    let last = vec![cable_ecode(100)];
    assert_eq!(
        world.submit(&cable.key, link(&cable, cable_lot(), last)),
        Ok(())
    );
    // An alias is no code to link to.
    let record = link(&cable, cable_ecode(100), vec![cable_ecode(200)]);
    assert_refused!(
        world.submit(&cable.key, record),
        RuleError::CodeIsAlias { .. }
    );
}
