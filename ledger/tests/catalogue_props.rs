//! Property: whatever dishonest producers sign, no committed model lacks what its category
//! requires.
//!
//! The demo's cable and gas-appliance makers register random models, one block each, under
//! GTINs of their own prefixes (the story's models among them): in a random category of the
//! programme catalogue or none or an unlisted one, naming their own documents, each other's, a
//! forged one or none, with a random part of the category's fields, sometimes one more, and
//! standards or none. About half are honest (complete for their category). Between them the
//! registrar withdraws and restores a maker's CCC certificates. After every block, each model
//! in state:
//! - names a category the catalogue lists, the one it was first registered in;
//! - names every document its category requires and carries every field of it, and no other;
//! - if registered in this block, the documents it names were held by its producer and valid
//!   on the block's date.

use std::collections::BTreeMap;

use proptest::prelude::*;
use suyuan_ledger::catalogue::{Catalogue, CategoryId, DocumentKind, STANDARDS_FIELD};
use suyuan_ledger::codes::gs1::keys::Gtin;
use suyuan_ledger::demo::{Demo, gtin, who};
use suyuan_ledger::record::{ProductModel, Record, UpdateEnterprise};
use suyuan_ledger::state::{MemState, StateKey, StateValue};
use suyuan_ledger::text::Date;

#[allow(unused_macros)]
#[macro_use]
mod support;
use support::*;

/// GTIN bodies under each maker's company prefix; the first is the story's model.
const GTINS: [[&str; 3]; 2] = [
    ["0695012345001", "0695012345002", "0695012345003"],
    ["0695098765001", "0695098765002", "0695098765003"],
];

const LICENCES: [Option<&str>; 3] = [None, Some("(鄂)XK06-001-00231"), Some("(鄂)XK06-001-99999")];

/// None, the cable maker's, the gas maker's.
const CERTIFICATES: [Option<&str>; 3] = [None, Some("2024010105123456"), Some("2024010802345678")];

#[derive(Debug, Clone)]
struct Step {
    /// 0 the cable maker, 1 the gas maker.
    producer: usize,
    /// Withdraw (Some(false)) or restore (Some(true)) the producer's CCC certificates instead.
    certificates: Option<bool>,
    gtin: usize,
    /// An index into the catalogue; one past it is no category, two past an unlisted one.
    category: usize,
    honest: bool,
    licence: usize,
    certificate: usize,
    /// Which of the category's fields are filled, by bit.
    fields: u16,
    extra_field: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0..2usize,
        prop::option::weighted(0.1, any::<bool>()),
        0..3usize,
        0..13usize,
        any::<bool>(),
        (0..3usize, 0..3usize),
        any::<u16>(),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(
                producer,
                certificates,
                gtin,
                category,
                honest,
                (licence, certificate),
                fields,
                extra_field,
            )| Step {
                producer,
                certificates,
                gtin,
                category,
                honest,
                licence,
                certificate,
                fields,
                extra_field,
            },
        )
}

fn parse<T: std::str::FromStr>(text: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    text.parse().unwrap()
}

/// The model a step registers: the story's cable model, reshaped.
fn model(world: &World, step: &Step) -> ProductModel {
    let catalogue = Catalogue::programme();
    let producer = world.enterprise([who::CABLE_MAKER, who::GAS_APPLIANCE_MAKER][step.producer]);
    let mut model = world
        .state_model(&Demo::cable_gtin())
        .expect("the story registers the cable model");
    model.uscc = producer.profile.uscc.clone();
    model.model_code = gtin(GTINS[step.producer][step.gtin]).into();
    model.category = match step.category {
        n if n < catalogue.categories.len() => Some(catalogue.categories[n].id.clone()),
        n if n == catalogue.categories.len() => None,
        _ => Some(parse("unlisted_things")),
    };
    model.production_licence = LICENCES[step.licence].map(parse);
    model.ccc_certificate = CERTIFICATES[step.certificate].map(parse);
    model.fields.clear();
    let category = model
        .category
        .as_ref()
        .and_then(|id| catalogue.category(id));
    let specs = category.map(|c| c.fields.clone()).unwrap_or_default();
    let mut standards_filled = true;
    for (bit, spec) in specs.iter().enumerate() {
        let filled = step.honest || step.fields & (1 << bit) != 0;
        if spec.id.as_str() == STANDARDS_FIELD {
            standards_filled = filled;
        } else if filled {
            model.fields.insert(spec.id.clone(), parse("value"));
        }
    }
    if !standards_filled {
        model.standards.clear();
    }
    if step.honest {
        // Its own documents, for whatever its category requires.
        let own = producer.profile.clone();
        for document in category.map(|c| c.documents.clone()).unwrap_or_default() {
            match document {
                DocumentKind::ProductionLicence => {
                    model.production_licence =
                        own.production_licences.first().map(|l| l.number.clone())
                }
                DocumentKind::CccCertificate => {
                    model.ccc_certificate = own.ccc_certificates.first().map(|c| c.number.clone())
                }
            }
        }
    } else if step.extra_field {
        model.fields.insert(parse("max_speed"), parse("25 km/h"));
    }
    model
}

fn certificates_update(world: &World, step: &Step, restore: bool) -> Record {
    let index = [who::CABLE_MAKER, who::GAS_APPLIANCE_MAKER][step.producer];
    let mut profile = world
        .state_enterprise(&world.enterprise(index).profile.uscc)
        .profile;
    profile.ccc_certificates = if restore {
        world.enterprise(index).profile.ccc_certificates
    } else {
        Vec::new()
    };
    Record::UpdateEnterprise(UpdateEnterprise {
        enterprise: profile,
    })
}

impl World {
    fn state_model(&self, gtin: &Gtin) -> Option<ProductModel> {
        use suyuan_ledger::state::StateReadExt;
        self.state
            .model(&gtin.clone().into())
            .unwrap()
            .map(|state| state.model)
    }

    fn state_enterprise(
        &self,
        uscc: &suyuan_ledger::codes::uscc::Uscc,
    ) -> suyuan_ledger::state::EnterpriseState {
        use suyuan_ledger::state::StateReadExt;
        self.state.enterprise(uscc).unwrap().unwrap()
    }
}

/// Checks every model in `state` against the catalogue; `first` holds each model's first
/// category and learns new models'.
fn check_models(
    world: &World,
    state: &MemState,
    first: &mut BTreeMap<suyuan_ledger::codes::model::ModelCode, Option<CategoryId>>,
) -> Result<(), TestCaseError> {
    let catalogue = world.demo.genesis.catalogue();
    let block_date =
        Date::from_unix_ms_china(world.demo.genesis.genesis_time_ms + world.height * DAY_MS);
    for (key, value) in state.entries() {
        let (StateKey::Model(gtin), StateValue::Model(registered)) = (key, value) else {
            continue;
        };
        let model = &registered.model;
        let was = first.entry(gtin.clone()).or_insert(model.category.clone());
        prop_assert_eq!(&*was, &model.category, "the category of {} changed", gtin);
        let id = model.category.as_ref();
        prop_assert!(id.is_some(), "model {} has no category", gtin);
        let category = catalogue.category(id.unwrap());
        prop_assert!(
            category.is_some(),
            "model {} names an unlisted category",
            gtin
        );
        let category = category.unwrap();
        for document in &category.documents {
            let named = match document {
                DocumentKind::ProductionLicence => model.production_licence.is_some(),
                DocumentKind::CccCertificate => model.ccc_certificate.is_some(),
            };
            prop_assert!(named, "model {} names no {:?}", gtin, document);
        }
        for spec in &category.fields {
            let filled = if spec.id.as_str() == STANDARDS_FIELD {
                !model.standards.is_empty()
            } else {
                model.fields.contains_key(&spec.id)
            };
            prop_assert!(filled, "model {} lacks field {}", gtin, spec.id);
        }
        for field in model.fields.keys() {
            prop_assert!(
                field.as_str() != STANDARDS_FIELD && category.requires_field(field),
                "model {} carries field {}",
                gtin,
                field
            );
        }
        if registered.registered_at_height == world.height {
            let profile = world.state_enterprise(&model.uscc).profile;
            if let Some(licence) = &model.production_licence {
                let held = profile
                    .production_licences
                    .iter()
                    .any(|held| &held.number == licence && held.valid_until >= block_date);
                prop_assert!(held, "model {} names licence {} not held", gtin, licence);
            }
            if let Some(certificate) = &model.ccc_certificate {
                let held = profile.ccc_certificates.iter().any(|held| {
                    &held.number == certificate
                        && held.issued_on <= block_date
                        && held.valid_until >= block_date
                });
                prop_assert!(
                    held,
                    "model {} names certificate {} not held",
                    gtin,
                    certificate
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn no_committed_model_lacks_what_its_category_requires(steps in prop::collection::vec(step(), 1..30)) {
        let mut world = World::new();
        let mut first = BTreeMap::new();
        check_models(&world, &world.state.clone(), &mut first)?;
        let bureau = world.demo.bureau.clone();
        for step in &steps {
            let producer = world.enterprise([who::CABLE_MAKER, who::GAS_APPLIANCE_MAKER][step.producer]);
            // `submit` checks that a refusal leaves state unchanged.
            let _ = match step.certificates {
                Some(restore) => {
                    let record = certificates_update(&world, step, restore);
                    world.submit(&bureau, record)
                }
                None => {
                    let record = Record::RegisterProduct(model(&world, step));
                    world.submit(&producer.key, record)
                }
            };
            let state = world.state.clone();
            check_models(&world, &state, &mut first)?;
        }
    }
}

#[test]
fn honest_registrations_are_accepted() {
    // The property is not vacuous: an honest producer's complete model in a category whose
    // documents it holds registers.
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let step = Step {
        producer: 0,
        certificates: None,
        gtin: 1,
        category: 0,
        honest: true,
        licence: 0,
        certificate: 0,
        fields: 0,
        extra_field: false,
    };
    let record = Record::RegisterProduct(model(&world, &step));
    assert_eq!(world.submit(&cable.key, record), Ok(()));
}
