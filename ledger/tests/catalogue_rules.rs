//! The key-product catalogue's rules, one test per rule, over the demo consortium's story: each
//! refusal names its rule and leaves state unchanged (`World::submit` checks the digest).

use suyuan_ledger::catalogue::{Catalogue, Category, DocumentKind};
use suyuan_ledger::codes::gs1::keys::Gtin;
use suyuan_ledger::demo::{Demo, DemoEnterprise, fields, gtin, who};
use suyuan_ledger::exec::RuleError;
use suyuan_ledger::record::{ProductModel, Record};
use suyuan_ledger::state::StateReadExt;

#[macro_use]
mod support;
use support::*;

/// A GTIN under the cable maker's company prefix that the story leaves unregistered.
fn new_cable_gtin() -> Gtin {
    gtin("0695012345002")
}

/// The demo cable model as registered, under a new GTIN: a complete `wires_cables` model.
fn new_cable_model(world: &World) -> ProductModel {
    let mut model = world
        .state
        .model(&Demo::cable_gtin().into())
        .unwrap()
        .expect("the story registers the cable model")
        .model;
    model.model_code = new_cable_gtin().into();
    model
}

fn register(world: &mut World, who: &DemoEnterprise, model: ProductModel) -> Result<(), RuleError> {
    world.submit(&who.key, Record::RegisterProduct(model))
}

fn id<T: std::str::FromStr>(text: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    text.parse().unwrap()
}

#[test]
fn the_demo_models_are_in_real_categories_and_a_complete_model_registers() {
    let mut world = World::new();
    let catalogue = world.demo.genesis.catalogue().clone();
    for gtin in [Demo::cable_gtin(), Demo::cooker_gtin()] {
        let model = world.state.model(&gtin.into()).unwrap().unwrap().model;
        let category = model
            .category
            .as_ref()
            .expect("demo models are categorised");
        assert!(catalogue.category(category).is_some(), "{category}");
    }
    let cable = world.enterprise(who::CABLE_MAKER);
    let model = new_cable_model(&world);
    assert_eq!(register(&mut world, &cable, model), Ok(()));
}

#[test]
fn a_category_the_catalogue_does_not_list_is_refused() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let mut model = new_cable_model(&world);
    model.category = Some(id("nuclear_reactors"));
    assert_refused!(
        register(&mut world, &cable, model),
        RuleError::UnknownCategory { .. }
    );
    assert_eq!(world.state.model(&new_cable_gtin().into()).unwrap(), None);
}

#[test]
fn an_uncategorised_model_is_refused_where_the_catalogue_demands_a_category() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let mut model = new_cable_model(&world);
    model.category = None;
    model.fields.clear();
    assert_refused!(
        register(&mut world, &cable, model.clone()),
        RuleError::UncategorisedModel { .. }
    );
    // A consortium whose catalogue does not demand one takes it, without category fields.
    let mut lenient = World::with_genesis(|genesis| {
        genesis.time_windows = None;
        genesis.catalogue = Some(Catalogue {
            require_category: false,
            ..Catalogue::programme().clone()
        });
    });
    let mut with_fields = model.clone();
    with_fields.fields = fields(&[("rated_voltage", "450/750 V")]);
    assert_refused!(
        register(&mut lenient, &cable, with_fields),
        RuleError::UnknownField { .. }
    );
    assert_eq!(register(&mut lenient, &cable, model), Ok(()));
}

#[test]
fn a_model_must_name_the_documents_its_category_requires() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    // Wires rated 450/750 V and below are under CCC.
    let mut model = new_cable_model(&world);
    model.ccc_certificate = None;
    let outcome = register(&mut world, &cable, model);
    assert!(
        matches!(
            &outcome,
            Err(RuleError::MissingDocument {
                document: DocumentKind::CccCertificate,
                ..
            })
        ),
        "{outcome:?}"
    );
    // Power cables are under the production licence.
    let mut model = new_cable_model(&world);
    model.category = Some(id("power_cables"));
    model.production_licence = None;
    let outcome = register(&mut world, &cable, model.clone());
    assert!(
        matches!(
            &outcome,
            Err(RuleError::MissingDocument {
                document: DocumentKind::ProductionLicence,
                ..
            })
        ),
        "{outcome:?}"
    );
    // Naming a licence is not enough: the enterprise must hold it, valid on the block's date.
    model.production_licence = Some(id("(鄂)XK06-001-99999"));
    assert_refused!(
        register(&mut world, &cable, model.clone()),
        RuleError::DocumentNotHeld { .. }
    );
    model.production_licence = Some(id("(鄂)XK06-001-00231"));
    assert_eq!(register(&mut world, &cable, model), Ok(()));
}

#[test]
fn a_document_the_category_requires_must_be_valid_at_the_records_time() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let bureau = world.demo.bureau.clone();
    // The registrar records that the CCC certificate expired the day before the next block.
    let mut profile = cable.profile.clone();
    let expired: suyuan_ledger::text::Date = id("2026-01-05");
    profile.ccc_certificates[0].valid_until = expired;
    let update = Record::UpdateEnterprise(suyuan_ledger::record::UpdateEnterprise {
        enterprise: profile,
    });
    assert_eq!(world.submit(&bureau, update), Ok(()));
    assert!(world.context().time_ms > expired_end_ms());
    let model = new_cable_model(&world);
    assert_refused!(
        register(&mut world, &cable, model),
        RuleError::DocumentNotHeld { .. }
    );
}

/// The end of 2026-01-05 in China, as Unix milliseconds.
fn expired_end_ms() -> u64 {
    suyuan_ledger::demo::DEMO_GENESIS_TIME_MS + 5 * DAY_MS - 8 * 3_600_000
}

#[test]
fn a_model_must_carry_every_field_of_its_category() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let mut model = new_cable_model(&world);
    model.fields.remove(&id("rated_voltage"));
    let outcome = register(&mut world, &cable, model);
    assert!(
        matches!(&outcome, Err(RuleError::MissingField { field, .. }) if field.as_str() == "rated_voltage"),
        "{outcome:?}"
    );
    // `standards` is the model's own list, which must then not be empty.
    let mut model = new_cable_model(&world);
    model.standards.clear();
    let outcome = register(&mut world, &cable, model);
    assert!(
        matches!(&outcome, Err(RuleError::MissingField { field, .. }) if field.as_str() == "standards"),
        "{outcome:?}"
    );
}

#[test]
fn a_field_the_category_does_not_define_is_refused() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    for extra in ["max_speed", "standards"] {
        let mut model = new_cable_model(&world);
        model.fields.insert(id(extra), id("25 km/h"));
        assert_refused!(
            register(&mut world, &cable, model),
            RuleError::UnknownField { .. }
        );
    }
}

#[test]
fn a_later_registration_cannot_change_a_models_category() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let registered = world
        .state
        .model(&Demo::cable_gtin().into())
        .unwrap()
        .unwrap();
    let mut moved = registered.model.clone();
    moved.category = Some(id("power_cables"));
    assert_refused!(
        register(&mut world, &cable, moved),
        RuleError::CategoryChanged { .. }
    );
    let mut dropped = registered.model.clone();
    dropped.category = None;
    dropped.fields.clear();
    assert_refused!(
        register(&mut world, &cable, dropped),
        RuleError::CategoryChanged { .. }
    );
    assert_eq!(
        world.state.model(&Demo::cable_gtin().into()).unwrap(),
        Some(registered.clone())
    );
    // Within its category, a model may be amended.
    let mut amended = registered.model;
    amended.fields = fields(&[
        ("rated_voltage", "300/500 V"),
        ("conductor_cross_section", "1.5 mm²"),
    ]);
    assert_eq!(register(&mut world, &cable, amended), Ok(()));
}

#[test]
fn the_consortiums_own_catalogue_is_the_one_enforced() {
    let own = Catalogue {
        require_category: true,
        categories: vec![Category {
            id: id("lifts"),
            name_zh: id("电梯"),
            name_en: id("lifts"),
            documents: vec![DocumentKind::ProductionLicence],
            fields: Catalogue::programme().categories[0].fields[..1].to_vec(),
        }],
    };
    // The story's models are in programme categories that this catalogue does not list.
    let mut demo = Demo::new(4, 7100);
    demo.genesis.catalogue = Some(own);
    let story = demo.story();
    let mut world = World::with_genesis(|_| {});
    world.demo = demo;
    world.state = Default::default();
    world.height = 0;
    world.commit(story[0].clone()).expect("enrolments");
    let refused = world.commit(story[1].clone());
    assert!(
        matches!(refused, Err(RuleError::UnknownCategory { .. })),
        "{refused:?}"
    );
    let cable = world.enterprise(who::CABLE_MAKER);
    let mut model = new_model_from_story(&world);
    model.category = Some(id("lifts"));
    model.fields.clear();
    assert_eq!(register(&mut world, &cable, model), Ok(()));
}

/// The cable model as the story registers it, before any of it is committed.
fn new_model_from_story(world: &World) -> ProductModel {
    let story = world.demo.story();
    let envelope = story[1][0].clone();
    let tx = world.verify(envelope);
    match tx.payload.record {
        Record::RegisterProduct(model) => model,
        other => panic!("the story's first model record is {other:?}"),
    }
}
