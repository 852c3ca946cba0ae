//! Party GLNs in enterprise profiles: a GLN lies under a GS1 company prefix its enterprise
//! holds and names one enterprise at a time, so that an EPCIS party named by its GLN is one
//! enterprise.
//!
//! The attacker is an enterprise (through a registrar that records what it is told) naming as
//! its own a location another company numbers, or a competitor's GLN, to have events naming
//! that party read as its own. Every refusal leaves state unchanged (`World::submit` checks the
//! digest).

use suyuan_ledger::codes::gs1::keys::Gln;
use suyuan_ledger::codes::prefix::IdPrefix;
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{Demo, DemoEnterprise, uscc, who};
use suyuan_ledger::exec::RuleError;
use suyuan_ledger::record::{
    AttestPrefix, EnterpriseProfile, Party, Record, RegisterEnterprise, RevokePrefix,
    UpdateEnterprise,
};
use suyuan_ledger::state::StateReadExt;

#[macro_use]
mod support;
use support::*;

/// A GLN under the cable maker's company prefix 6950123.
const CABLE_GLN: &str = "6950123000019";

fn gln(text: &str) -> Gln {
    text.parse().unwrap()
}

/// The update of `enterprise`'s profile, for its registrar to sign, naming `gln`.
fn naming(enterprise: &DemoEnterprise, gln: Option<&str>) -> Record {
    let mut profile = enterprise.profile.clone();
    profile.gln = gln.map(|text| text.parse().unwrap());
    Record::UpdateEnterprise(UpdateEnterprise {
        enterprise: profile,
    })
}

fn profile_of(world: &World, enterprise: &DemoEnterprise) -> EnterpriseProfile {
    world
        .state
        .enterprise(&enterprise.profile.uscc)
        .unwrap()
        .unwrap()
        .profile
}

#[test]
fn a_gln_under_a_held_prefix_is_the_enterprises_and_its_buyers_name_it() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let bureau = world.demo.bureau.clone();
    assert_eq!(
        world.submit(&bureau, naming(&cable, Some(CABLE_GLN))),
        Ok(())
    );
    assert_eq!(
        world.state.gln_holder(&gln(CABLE_GLN)).unwrap(),
        Some(cable.profile.uscc.clone())
    );
    let profile = profile_of(&world, &cable);
    match Party::enterprise(&profile) {
        Party::Enterprise { gln: named, .. } => assert_eq!(named, Some(gln(CABLE_GLN))),
        other => panic!("{other:?}"),
    }
    // Naming it again changes nothing; naming none releases it.
    assert_eq!(
        world.submit(&bureau, naming(&cable, Some(CABLE_GLN))),
        Ok(())
    );
    assert_eq!(world.submit(&bureau, naming(&cable, None)), Ok(()));
    assert_eq!(world.state.gln_holder(&gln(CABLE_GLN)).unwrap(), None);
}

#[test]
fn a_gln_under_another_companys_prefix_is_refused() {
    let mut world = World::new();
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let bureau = world.demo.bureau.clone();
    assert_refused!(
        world.submit(&bureau, naming(&gas, Some(CABLE_GLN))),
        RuleError::GlnNotUnderPrefix { .. }
    );
    // Under its own prefix, 6950987, it passes.
    assert_eq!(
        world.submit(&bureau, naming(&gas, Some("6950987000019"))),
        Ok(())
    );
}

/// The cable maker's prefix lapses and is attested to the gas maker, while the cable maker's
/// profile still names its GLN: the new holder of the prefix cannot take the GLN until the
/// cable maker's profile lets it go.
#[test]
fn a_gln_another_enterprise_names_is_refused_until_released() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let bureau = world.demo.bureau.clone();
    assert_eq!(
        world.submit(&bureau, naming(&cable, Some(CABLE_GLN))),
        Ok(())
    );
    let revoke = Record::RevokePrefix(RevokePrefix {
        uscc: cable.profile.uscc.clone(),
        prefix: Demo::cable_prefix(),
        reason: "GS1 membership lapsed.".parse().unwrap(),
    });
    assert_eq!(world.submit(&bureau, revoke), Ok(()));
    let attest = Record::AttestPrefix(AttestPrefix {
        uscc: gas.profile.uscc.clone(),
        prefix: Demo::cable_prefix(),
        from: None,
    });
    assert_eq!(world.submit(&bureau, attest), Ok(()));
    let outcome = world.submit(&bureau, naming(&gas, Some(CABLE_GLN)));
    assert!(
        matches!(&outcome, Err(RuleError::GlnTaken { holder, .. }) if *holder == cable.profile.uscc),
        "{outcome:?}"
    );
    assert_eq!(world.submit(&bureau, naming(&cable, None)), Ok(()));
    assert_eq!(world.submit(&bureau, naming(&gas, Some(CABLE_GLN))), Ok(()));
    assert_eq!(
        world.state.gln_holder(&gln(CABLE_GLN)).unwrap(),
        Some(gas.profile.uscc.clone())
    );
}

/// An enterprise enrolled with a prefix may name a GLN under it in the same record; without
/// the prefix, the whole enrolment is refused.
#[test]
fn an_enrolment_names_a_gln_under_a_prefix_it_attests() {
    let mut world = World::new();
    let bureau = world.demo.bureau.clone();
    let mut profile = world.enterprise(who::DISTRIBUTOR).profile;
    profile.uscc = uscc("91420100MA4K9G1N7");
    profile.gln = Some(gln("6950555000014"));
    let enrol = |prefixes: Vec<IdPrefix>| {
        Record::RegisterEnterprise(RegisterEnterprise {
            enterprise: profile.clone(),
            keys: vec![KeyPair::generate().public()],
            prefixes,
        })
    };
    assert_refused!(
        world.submit(&bureau, enrol(Vec::new())),
        RuleError::GlnNotUnderPrefix { .. }
    );
    assert_eq!(
        world.submit(&bureau, enrol(vec![IdPrefix::gs1("6950555").unwrap()])),
        Ok(())
    );
    assert_eq!(
        world.state.gln_holder(&gln("6950555000014")).unwrap(),
        Some(profile.uscc.clone())
    );
}

/// The sale `record` with its business buyer named by `gln`.
fn buyer_named(record: Record, named: Option<&str>) -> Record {
    let Record::Ship(mut sale) = record else {
        panic!("not a sale");
    };
    if let Party::Enterprise { gln: buyer_gln, .. } = &mut sale.buyer {
        *buyer_gln = named.map(gln);
    }
    Record::Ship(sale)
}

/// The attacker is a seller naming its buyer by a competitor's GLN, so that EPCIS readers take
/// the competitor for the buyer: a buyer's GLN is its own, as its profile says, or for a buyer
/// not enrolled, no enrolled enterprise's.
#[test]
fn a_sale_names_its_buyer_only_by_the_buyers_own_gln() {
    let mut world = World::new();
    let cable = world.enterprise(who::CABLE_MAKER);
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let bureau = world.demo.bureau.clone();
    const GAS_GLN: &str = "6950987000019";
    const DISTRIBUTOR_GLN: &str = "6950555000014";
    assert_eq!(world.submit(&bureau, naming(&gas, Some(GAS_GLN))), Ok(()));
    let sale = || ship(&cable, &distributor, cable_lot(), 1);
    // The gas maker's GLN, and a GLN the distributor's profile does not claim.
    for named in [GAS_GLN, DISTRIBUTOR_GLN] {
        assert_refused!(
            world.submit(&cable.key, buyer_named(sale(), Some(named))),
            RuleError::BuyerGlnNotTheirs { .. }
        );
    }
    // A buyer not enrolled: a GLN an enrolled enterprise claims is refused, another passes.
    let mut stranger = distributor.clone();
    stranger.profile.uscc = uscc("91420100MA4K9G1N7");
    let to_stranger = || ship(&cable, &stranger, cable_lot(), 1);
    assert_refused!(
        world.submit(&cable.key, buyer_named(to_stranger(), Some(GAS_GLN))),
        RuleError::BuyerGlnNotTheirs { .. }
    );
    assert_eq!(
        world.submit(
            &cable.key,
            buyer_named(to_stranger(), Some(DISTRIBUTOR_GLN))
        ),
        Ok(())
    );
    // Once the distributor claims its GLN, a sale naming it by that GLN passes, and one
    // naming no GLN still does.
    let attest = Record::AttestPrefix(AttestPrefix {
        uscc: distributor.profile.uscc.clone(),
        prefix: IdPrefix::gs1("6950555").unwrap(),
        from: None,
    });
    assert_eq!(world.submit(&bureau, attest), Ok(()));
    assert_eq!(
        world.submit(&bureau, naming(&distributor, Some(DISTRIBUTOR_GLN))),
        Ok(())
    );
    assert_eq!(
        world.submit(&cable.key, buyer_named(sale(), Some(DISTRIBUTOR_GLN))),
        Ok(())
    );
    assert_eq!(world.submit(&cable.key, buyer_named(sale(), None)), Ok(()));
}

/// A profile without a GLN has the bytes it had before profiles could name one.
#[test]
fn a_profile_without_a_gln_keeps_its_bytes() {
    let world = World::new();
    let profile = world.enterprise(who::CABLE_MAKER).profile;
    let json = serde_json::to_string(&profile).unwrap();
    assert!(!json.contains("gln"), "{json}");
}
