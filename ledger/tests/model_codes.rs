//! Models identified by an Ecode or a Handle id rather than a GTIN: the dev story's block of
//! them, one test per rule they meet (each refusal names its rule and leaves state unchanged,
//! `World::submit` checks the digest), and their wire form.

use suyuan_ledger::codes::model::ModelCode;
use suyuan_ledger::demo::{Demo, factory_report, who};
use suyuan_ledger::exec::RuleError;
use suyuan_ledger::record::{Commissioning, Items, ProductModel, Record, Subject, TraceCode};
use suyuan_ledger::state::StateReadExt;

#[macro_use]
mod support;
use support::*;

/// The world after the dev story's logistics and non-GS1 blocks.
fn dev_world() -> World {
    let mut world = World::new();
    let logistics = world.demo.logistics();
    world
        .commit(logistics)
        .expect("the logistics block executes");
    for block in world.demo.non_gs1_models() {
        world.commit(block).expect("the non-GS1 blocks execute");
    }
    world
}

fn commission_under(world: &World, model_code: ModelCode, code: &str) -> Record {
    Record::Commission(Commissioning {
        uscc: world.enterprise(who::CABLE_MAKER).profile.uscc,
        model_code,
        items: Items::Batch {
            code: code.parse().unwrap(),
            quantity: 10,
        },
        production_date: "2026-01-06".parse().unwrap(),
        factory_number: None,
        inspection_report: factory_report("R-1", "QA"),
    })
}

#[test]
fn the_dev_story_makes_sells_and_recalls_products_without_a_gtin() {
    let world = dev_world();
    let cable = world.enterprise(who::CABLE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    for (model, batch) in [
        (Demo::ecode_model(), Demo::ecode_batch()),
        (Demo::handle_model(), Demo::handle_batch()),
    ] {
        assert_eq!(model.gtin(), None);
        let registered = world.state.model(&model).unwrap().unwrap();
        assert_eq!(registered.model.model_code, model);
        let state = world.state.code(&batch).unwrap().unwrap();
        assert_eq!(state.model_code, model);
        assert_eq!(
            world
                .state
                .holding(&batch, &distributor.profile.uscc)
                .unwrap(),
            80
        );
    }
    assert_eq!(
        world
            .state
            .model(&Demo::ecode_model())
            .unwrap()
            .unwrap()
            .model
            .uscc,
        cable.profile.uscc
    );
    let recalled = Subject::Model(Demo::handle_model());
    assert!(world.state.open_recall(&recalled).unwrap().is_some());
    assert!(
        world
            .state
            .open_recall(&Subject::Model(Demo::ecode_model()))
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_gs1_lot_under_an_ecode_model_is_refused() {
    let mut world = dev_world();
    let cable = world.enterprise(who::CABLE_MAKER);
    let lot = format!("01/{}/10/X1", Demo::cable_gtin());
    let record = commission_under(&world, Demo::ecode_model(), &lot);
    assert_refused!(
        world.submit(&cable.key, record),
        RuleError::GtinCodeOfNonGtinModel { .. }
    );
}

#[test]
fn a_model_under_a_prefix_not_held_is_refused() {
    let mut world = dev_world();
    let cable = world.enterprise(who::CABLE_MAKER);
    let mut model = world.registered_model(&Demo::ecode_model());
    // Under the gas-appliance maker's Handle prefix.
    model.model_code = "handle:88.118.8/model/BV-2.5".parse().unwrap();
    assert_refused!(
        world.submit(&cable.key, Record::RegisterProduct(model.clone())),
        RuleError::CodeUnderOthersPrefix { .. }
    );
    // Under no one's.
    model.model_code = "ecode:100999000001".parse().unwrap();
    assert_refused!(
        world.submit(&cable.key, Record::RegisterProduct(model)),
        RuleError::CodeOutsidePrefixes { .. }
    );
}

#[test]
fn an_ecode_batch_of_another_model_is_refused_as_a_batch() {
    let mut world = dev_world();
    let cable = world.enterprise(who::CABLE_MAKER);
    // The cable maker's Ecode batch is of its Ecode model, not its GTIN model.
    let record = Record::Commission(Commissioning {
        uscc: cable.profile.uscc.clone(),
        model_code: Demo::cable_gtin().into(),
        items: Items::Serialised {
            codes: vec!["ecode:10012695019999".parse().unwrap()],
            batch: Some(Demo::ecode_batch()),
        },
        production_date: "2026-01-06".parse().unwrap(),
        factory_number: None,
        inspection_report: factory_report("R-1", "QA"),
    });
    assert_refused!(
        world.submit(&cable.key, record),
        RuleError::CodeOfOtherModel { .. }
    );
}

#[test]
fn one_ecode_never_names_both_a_model_and_a_batch() {
    let mut world = dev_world();
    let cable = world.enterprise(who::CABLE_MAKER);
    // A batch carrying the Ecode model's own code.
    let batch = commission_under(
        &world,
        Demo::ecode_model(),
        &Demo::ecode_model().to_string(),
    );
    assert_refused!(
        world.submit(&cable.key, batch),
        RuleError::ModelCodeClash { .. }
    );
    // A new model under the code of the Ecode batch.
    let mut model = world.registered_model(&Demo::ecode_model());
    model.model_code = Demo::ecode_batch().to_string().parse().unwrap();
    assert_refused!(
        world.submit(&cable.key, Record::RegisterProduct(model)),
        RuleError::ModelCodeClash { .. }
    );
}

#[test]
fn a_gtin_model_keeps_its_wire_form_and_others_name_model_code() {
    let world = World::new();
    let cable = world
        .state
        .model(&Demo::cable_gtin().into())
        .unwrap()
        .unwrap()
        .model;
    let json = serde_json::to_value(&cable).unwrap();
    assert_eq!(json["gtin"], Demo::cable_gtin().to_string());
    assert!(json.get("model_code").is_none());
    let mut ecode = cable.clone();
    ecode.model_code = Demo::ecode_model();
    let json = serde_json::to_value(&ecode).unwrap();
    assert_eq!(json["model_code"], "ecode:100126950100001");
    assert!(json.get("gtin").is_none());
    assert_eq!(
        serde_json::from_value::<ProductModel>(json.clone()).unwrap(),
        ecode
    );
    let mut both = json.clone();
    both["gtin"] = serde_json::Value::String(Demo::cable_gtin().to_string());
    assert!(serde_json::from_value::<ProductModel>(both).is_err());
    let mut gtin_as_code = json.clone();
    gtin_as_code["model_code"] = serde_json::Value::String(Demo::cable_gtin().to_string());
    assert!(serde_json::from_value::<ProductModel>(gtin_as_code).is_err());
    let mut neither = json;
    neither.as_object_mut().unwrap().remove("model_code");
    assert!(serde_json::from_value::<ProductModel>(neither).is_err());
    let subject = serde_json::to_string(&Subject::Model(Demo::cable_gtin().into())).unwrap();
    assert_eq!(subject, format!("{{\"model\":\"{}\"}}", Demo::cable_gtin()));
    let code: TraceCode = "ecode:10012695010000126010".parse().unwrap();
    assert_eq!(code, Demo::ecode_batch());
}
