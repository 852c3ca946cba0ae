//! Code ownership: an enterprise registers and commissions codes only under the identifier
//! prefixes its registrar attested to it, one holder per prefix, and prefixes change hands only
//! by an offer from the holder and its acceptance by the taker's registrar.
//!
//! The attacker is a dishonest producer squatting a competitor's codes, and a registrar
//! attesting what is not its to attest. Every refusal leaves state unchanged (`World::submit`
//! checks the digest).

use suyuan_ledger::codes::gs1::keys::Gtin;
use suyuan_ledger::codes::prefix::IdPrefix;
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{Demo, DemoEnterprise, gtin, who};
use suyuan_ledger::exec::RuleError;
use suyuan_ledger::record::{
    AttestPrefix, ProductModel, Record, RevokePrefix, TraceCode, TransferPrefix,
};
use suyuan_ledger::state::{AmendmentKind, StateReadExt};
use suyuan_ledger::text::Date;

#[macro_use]
mod support;
use support::*;

/// The next block's date, as the commissioning helper takes it.
fn today(world: &World) -> String {
    Date::from_unix_ms_china(world.context().time_ms).to_string()
}

fn prefix(text: &str) -> IdPrefix {
    text.parse().unwrap()
}

fn attest(enterprise: &DemoEnterprise, prefix: &IdPrefix) -> Record {
    Record::AttestPrefix(AttestPrefix {
        uscc: enterprise.profile.uscc.clone(),
        prefix: prefix.clone(),
        from: None,
    })
}

/// The cable model as registered, re-keyed to `gtin` and `owner`.
fn model_as(world: &World, owner: &DemoEnterprise, gtin: Gtin) -> Record {
    let mut model: ProductModel = world
        .state
        .model(&Demo::cable_gtin().into())
        .unwrap()
        .unwrap()
        .model;
    model.uscc = owner.profile.uscc.clone();
    model.model_code = gtin.into();
    // The gas maker holds no production licence; the CCC certificate is the cable maker's.
    model.production_licence = None;
    model.ccc_certificate = None;
    // A category that needs no document.
    model.category = Some("mandatory_standard_products".parse().unwrap());
    model.fields.clear();
    Record::RegisterProduct(model)
}

#[test]
fn a_gtin_under_a_competitors_prefix_is_refused_and_names_its_holder() {
    let mut world = World::new();
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let cable = world.enterprise(who::CABLE_MAKER);
    // The squatter takes a GTIN under the cable maker's company prefix nobody registered yet.
    let squatted = gtin("0695012345099");
    let outcome = world.submit(&gas.key, model_as(&world, &gas, squatted.clone()));
    assert!(
        matches!(&outcome, Err(RuleError::CodeUnderOthersPrefix { holder, .. }) if *holder == cable.profile.uscc),
        "{outcome:?}"
    );
    // A GTIN under nobody's prefix is refused too: no prefix, no codes.
    assert_refused!(
        world.submit(&gas.key, model_as(&world, &gas, gtin("0690000000001"))),
        RuleError::CodeOutsidePrefixes { .. }
    );
    // The rightful owner registers it.
    assert_eq!(
        world.submit(&cable.key, model_as(&world, &cable, squatted)),
        Ok(())
    );
}

#[test]
fn ecode_and_handle_codes_are_commissioned_only_under_held_prefixes() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let bureau = world.demo.bureau.clone();
    let ecode: TraceCode = "ecode:1000123456789".parse().unwrap();
    let handle: TraceCode = "handle:88.608.24161301/C-0001".parse().unwrap();
    for code in [&ecode, &handle] {
        assert_refused!(
            world.submit(
                &cable.key,
                commission(&cable, Demo::cable_gtin(), code.clone(), &today(&world))
            ),
            RuleError::CodeOutsidePrefixes { .. }
        );
    }
    // The gas maker's registrar attests both prefixes to the gas maker; the cable maker is
    // then refused with the holder named, and the holder's own codes pass.
    for held in ["ecode:100012345", "handle:88.608.24161301"] {
        assert_eq!(world.submit(&bureau, attest(&gas, &prefix(held))), Ok(()));
    }
    let outcome = world.submit(
        &cable.key,
        commission(&cable, Demo::cable_gtin(), ecode.clone(), &today(&world)),
    );
    assert!(
        matches!(&outcome, Err(RuleError::CodeUnderOthersPrefix { holder, .. }) if *holder == gas.profile.uscc),
        "{outcome:?}"
    );
    let cooker_ecode: TraceCode = "ecode:1000123450001".parse().unwrap();
    let cooker_handle: TraceCode = "handle:88.608.24161301.2/G-1".parse().unwrap();
    for code in [cooker_ecode, cooker_handle] {
        assert_eq!(
            world.submit(
                &gas.key,
                commission(&gas, Demo::cooker_gtin(), code, &today(&world))
            ),
            Ok(())
        );
    }
}

#[test]
fn a_prefix_and_everything_overlapping_it_has_one_holder() {
    let mut world = World::new();
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let bureau = world.demo.bureau.clone();
    let association = world.demo.association.clone();
    // The cable maker holds gs1:6950123 (attested at enrolment).
    assert_refused!(
        world.submit(&bureau, attest(&gas, &Demo::cable_prefix())),
        RuleError::PrefixHeld { .. }
    );
    let outcome = world.submit(&bureau, attest(&gas, &prefix("gs1:69501234")));
    assert!(
        matches!(&outcome, Err(RuleError::PrefixUnderHeld { held, .. }) if *held == Demo::cable_prefix()),
        "{outcome:?}"
    );
    assert_refused!(
        world.submit(&bureau, attest(&gas, &prefix("gs1:69501"))),
        RuleError::PrefixCoversHeld { count: 1, .. }
    );
    // Only the enterprise's own registrar (or a regulator) attests: the bureau enrolled the
    // gas maker, the association did not.
    assert_refused!(
        world.submit(&association, attest(&gas, &prefix("gs1:6951111"))),
        RuleError::NotEnterprisesRegistrar { .. }
    );
    assert_refused!(
        world.submit(&gas.key, attest(&gas, &prefix("gs1:6951111"))),
        RuleError::NotRegistrar { .. }
    );
    assert_eq!(
        world.submit(&association, attest(&distributor, &prefix("gs1:6951111"))),
        Ok(())
    );
    // The attestation names who attested it.
    let held = world.state.prefix(&prefix("gs1:6951111")).unwrap().unwrap();
    assert_eq!(held.holder, distributor.profile.uscc);
    assert_eq!(held.attested_by, association.public());
}

#[test]
fn a_prefix_changes_hands_by_the_holders_offer_and_the_takers_registrar() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let bureau = world.demo.bureau.clone();
    let take = |from: &DemoEnterprise| {
        Record::AttestPrefix(AttestPrefix {
            uscc: gas.profile.uscc.clone(),
            prefix: Demo::cable_prefix(),
            from: Some(from.profile.uscc.clone()),
        })
    };
    // No offer yet: the taker's registrar cannot take it.
    assert_refused!(
        world.submit(&bureau, take(&cable)),
        RuleError::NoPrefixOffer { .. }
    );
    // Only the holder offers it.
    let offer = Record::TransferPrefix(TransferPrefix {
        uscc: cable.profile.uscc.clone(),
        prefix: Demo::cable_prefix(),
        to: gas.profile.uscc.clone(),
    });
    assert_refused!(
        world.submit(&gas.key, offer.clone()),
        RuleError::WrongEnterprise { .. }
    );
    assert_eq!(world.submit(&cable.key, offer), Ok(()));
    // While offered, the holder still holds it.
    assert_eq!(
        world.submit(
            &cable.key,
            commission(
                &cable,
                Demo::cable_gtin(),
                format!("01/{}/10/BEFORE", Demo::cable_gtin())
                    .parse()
                    .unwrap(),
                &today(&world)
            )
        ),
        Ok(())
    );
    assert_eq!(world.submit(&bureau, take(&cable)), Ok(()));
    // Now the old holder issues nothing more under it, and the new one registers under it.
    assert_refused!(
        world.submit(
            &cable.key,
            commission(
                &cable,
                Demo::cable_gtin(),
                format!("01/{}/10/AFTER", Demo::cable_gtin())
                    .parse()
                    .unwrap(),
                &today(&world)
            )
        ),
        RuleError::CodeUnderOthersPrefix { .. }
    );
    assert_eq!(
        world.submit(&gas.key, model_as(&world, &gas, gtin("0695012345098"))),
        Ok(())
    );
    // Both histories keep the hand-over.
    let kinds = |uscc| {
        let state = world.state.enterprise(uscc).unwrap().unwrap();
        (0..state.amendments)
            .map(|n| world.state.amendment(uscc, n).unwrap().unwrap().kind)
            .collect::<Vec<_>>()
    };
    assert!(kinds(&cable.profile.uscc).ends_with(&[
        AmendmentKind::PrefixOffered,
        AmendmentKind::PrefixHandedOver
    ]));
    assert_eq!(
        kinds(&gas.profile.uscc).last(),
        Some(&AmendmentKind::PrefixAttested)
    );
    let state = world
        .state
        .enterprise(&cable.profile.uscc)
        .unwrap()
        .unwrap();
    assert!(state.prefixes.is_empty());
}

#[test]
fn a_revoked_prefix_issues_nothing_and_may_be_attested_again() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let bureau = world.demo.bureau.clone();
    let association = world.demo.association.clone();
    let revoke = Record::RevokePrefix(RevokePrefix {
        uscc: cable.profile.uscc.clone(),
        prefix: Demo::cable_prefix(),
        reason: "GS1 membership lapsed.".parse().unwrap(),
    });
    // Not another registrar, nor another enterprise.
    assert_refused!(
        world.submit(&association, revoke.clone()),
        RuleError::NotEnterprisesRegistrar { .. }
    );
    assert_refused!(
        world.submit(&gas.key, revoke.clone()),
        RuleError::NotRegistrar { .. }
    );
    assert_eq!(world.submit(&bureau, revoke.clone()), Ok(()));
    assert_refused!(
        world.submit(&bureau, revoke),
        RuleError::PrefixNotHeld { .. }
    );
    assert_refused!(
        world.submit(&cable.key, model_as(&world, &cable, gtin("0695012345097"))),
        RuleError::CodeOutsidePrefixes { .. }
    );
    // Its history stays: the model registered under it is still there.
    assert!(
        world
            .state
            .model(&Demo::cable_gtin().into())
            .unwrap()
            .is_some()
    );
    // The prefix and shorter ones are free again.
    assert_eq!(
        world.submit(&bureau, attest(&gas, &prefix("gs1:695012"))),
        Ok(())
    );
    let stranger = KeyPair::insecure_from_label("stranger");
    assert_refused!(
        world.submit(&stranger, attest(&gas, &prefix("gs1:6952222"))),
        RuleError::UnknownSigner { .. }
    );
}

#[test]
fn an_ma_unit_main_code_is_held_by_one_unit_and_covers_whole_segments() {
    let mut world = World::new();
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let cable = world.enterprise(who::CABLE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let bureau = world.demo.bureau.clone();
    let association = world.demo.association.clone();
    let unit = prefix("ecode:MA.156.M0.100204");
    assert_eq!(world.submit(&bureau, attest(&gas, &unit)), Ok(()));
    // A block inside the unit's code space, or the whole industry class, cannot be held by
    // another enterprise.
    let outcome = world.submit(
        &association,
        attest(&distributor, &prefix("ecode:MA.156.M0.100204.7")),
    );
    assert!(
        matches!(&outcome, Err(RuleError::PrefixUnderHeld { holder, .. }) if *holder == gas.profile.uscc),
        "{outcome:?}"
    );
    assert_refused!(
        world.submit(&bureau, attest(&gas, &prefix("ecode:MA.156.M0.100204"))),
        RuleError::PrefixHeld { .. }
    );
    // The squatter is refused with the holder named; a neighbouring unit code that merely
    // starts with the same characters is not under the prefix.
    let squatted: TraceCode = "ecode:MA.156.M0.100204.13351764.L2601".parse().unwrap();
    let outcome = world.submit(
        &cable.key,
        commission(&cable, Demo::cable_gtin(), squatted.clone(), &today(&world)),
    );
    assert!(
        matches!(&outcome, Err(RuleError::CodeUnderOthersPrefix { holder, .. }) if *holder == gas.profile.uscc),
        "{outcome:?}"
    );
    let neighbour: TraceCode = "ecode:MA.156.M0.1002045.13351764.L2601".parse().unwrap();
    assert_refused!(
        world.submit(
            &gas.key,
            commission(&gas, Demo::cooker_gtin(), neighbour, &today(&world))
        ),
        RuleError::CodeOutsidePrefixes { .. }
    );
    // The holder registers a model by its MA code and commissions under both models.
    let mut model = world.registered_model(&Demo::cooker_gtin().into());
    model.model_code = "ecode:MA.156.M0.100204.13351764".parse().unwrap();
    assert_eq!(
        world.submit(&gas.key, Record::RegisterProduct(model.clone())),
        Ok(())
    );
    assert_eq!(
        world.submit(
            &gas.key,
            commission(&gas, Demo::cooker_gtin(), squatted.clone(), &today(&world))
        ),
        Ok(())
    );
    let state = world.state.code(&squatted).unwrap().unwrap();
    assert_eq!(state.model_code, Demo::cooker_gtin().into());
    // The model's own code is not a batch code, and the unit's main code is no code at all.
    assert!("ecode:MA.156.M0.100204".parse::<TraceCode>().is_err());
}
