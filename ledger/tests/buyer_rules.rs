//! Buyers: a company named in full, a person by a commitment under a fresh salt that no
//! earlier sale used, and references that are identifiers, never prose.

use suyuan_ledger::demo::{Demo, DemoEnterprise, who};
use suyuan_ledger::exec::RuleError;
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::record::{Party, PersonalData, Record, Shipment, ShipmentLine, TraceCode};
use suyuan_ledger::state::{StateKey, StateRead, StateReadExt, StateValue};
use suyuan_ledger::tx::{Envelope, Payload, TxError};

#[macro_use]
mod support;
use support::*;

/// One of the gas cookers the story leaves with its maker (it sold item 1 to a person).
fn cooker_item(n: u32) -> TraceCode {
    format!("01/{}/21/G26SN{n:05}", Demo::cooker_gtin())
        .parse()
        .unwrap()
}

fn sell_to_person(seller: &DemoEnterprise, code: TraceCode, commitment: Hash32) -> Record {
    Record::Ship(Shipment {
        seller: seller.profile.uscc.clone(),
        buyer: Party::Person {
            commitment,
            data_reference: "crm://orders/2026/000400".parse().unwrap(),
        },
        sold_at_ms: suyuan_ledger::demo::DEMO_GENESIS_TIME_MS,
        lines: vec![ShipmentLine { code, quantity: 1 }],
        order_reference: Some("RT-000400".parse().unwrap()),
    })
}

fn buyer() -> PersonalData {
    PersonalData {
        name: "Wang Fang".into(),
        address: "Wuchang District, Wuhan".into(),
        contact: "+86 27 0000 0001".into(),
    }
}

/// The story's retail sale: its id and the commitment it used.
fn retail_sale(world: &World) -> (Hash32, Hash32) {
    let envelope = &world.demo.story()[3][3];
    let payload = Payload::parse(&envelope.payload).unwrap();
    let Record::Ship(Shipment {
        buyer: Party::Person { commitment, .. },
        ..
    }) = payload.record
    else {
        panic!("the story's fourth flow is the retail sale")
    };
    (envelope.id(&world.demo.genesis.binding()), commitment)
}

#[test]
fn a_sale_records_its_buyer_commitment_as_used() {
    let world = World::new();
    let (sale, commitment) = retail_sale(&world);
    let (data, salt) = world.demo.retail_buyer();
    assert_eq!(data.commitment(&salt), commitment);
    assert_eq!(
        world.state.buyer_commitment(&commitment).unwrap(),
        Some(sale)
    );
    assert_eq!(
        world
            .state
            .get(&StateKey::BuyerCommitment(commitment))
            .unwrap(),
        Some(StateValue::BuyerCommitment(sale))
    );
}

#[test]
fn a_reused_buyer_commitment_is_refused() {
    let mut world = World::new();
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let (sale, commitment) = retail_sale(&world);
    // The same buyer again under the same salt: the commitment would link the two purchases.
    let outcome = world.submit(&gas.key, sell_to_person(&gas, cooker_item(2), commitment));
    assert_refused!(outcome.clone(), RuleError::CommitmentReused { .. });
    assert_eq!(
        outcome,
        Err(RuleError::CommitmentReused { commitment, sale })
    );
    assert_eq!(
        RuleError::CommitmentReused { commitment, sale }.code(),
        "commitment_reused"
    );
    // The same buyer under a fresh salt is another commitment, and is accepted.
    let fresh = world.demo.retail_buyer().0.commit_fresh();
    assert_ne!(fresh.commitment, commitment);
    assert_eq!(
        world.submit(
            &gas.key,
            sell_to_person(&gas, cooker_item(2), fresh.commitment)
        ),
        Ok(())
    );
}

#[test]
fn a_commitment_used_earlier_in_the_same_block_is_refused() {
    let mut world = World::new();
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let commitment = buyer().commit_fresh().commitment;
    let first = world.sign(&gas.key, sell_to_person(&gas, cooker_item(2), commitment));
    let second = world.sign(&gas.key, sell_to_person(&gas, cooker_item(3), commitment));
    let first_id = first.id(&world.demo.genesis.binding());
    let before = world.state.digest();
    let outcome = world.commit(vec![first.clone(), second]);
    assert_eq!(
        outcome,
        Err(RuleError::CommitmentReused {
            commitment,
            sale: first_id
        })
    );
    assert_eq!(
        world.state.digest(),
        before,
        "a refused block changed state"
    );
    // Alone, the first sale goes through.
    assert_eq!(world.commit(vec![first]), Ok(()));
}

#[test]
fn fresh_salts_give_fresh_commitments_for_the_same_person() {
    let data = buyer();
    let commitments: std::collections::BTreeSet<Hash32> =
        (0..16).map(|_| data.commit_fresh().commitment).collect();
    assert_eq!(commitments.len(), 16);
    let fresh = data.commit_fresh();
    assert_eq!(data.commitment(&fresh.salt), fresh.commitment);
}

#[test]
fn a_company_buyer_carries_its_name_uscc_address_and_contact() {
    let world = World::new();
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let Party::Enterprise {
        uscc,
        name,
        address,
        contact,
        gln,
    } = Party::enterprise(&distributor.profile)
    else {
        panic!("an enterprise party")
    };
    assert_eq!(uscc, distributor.profile.uscc);
    assert_eq!(name, distributor.profile.name);
    assert_eq!(address, distributor.profile.address);
    assert_eq!(contact, distributor.profile.contact);
    assert_eq!(gln, None);
    // The story's resale names a buyer that is not enrolled, in full, with its party GLN.
    let resale = Payload::parse(&world.demo.story()[4][0].payload).unwrap();
    let json = serde_json::to_value(&resale.record).unwrap();
    let buyer = &json["buyer"]["enterprise"];
    for field in ["uscc", "name", "address", "contact", "gln"] {
        assert!(buyer[field].is_string(), "{field} in {buyer}");
    }
}

/// A payload whose sale to a person carries `data_reference` and `order_reference` as given.
fn sale_payload(data_reference: &str, order_reference: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "nonce": 9,
        "record": {
            "type": "ship",
            "seller": "91330200MA2H4N6P1L",
            "buyer": {"person": {"commitment": "11".repeat(32), "data_reference": data_reference}},
            "sold_at_ms": 1767398400000u64,
            "lines": [{"code": "01/06950987650016/21/G26SN00002", "quantity": 1}],
            "order_reference": order_reference,
        }
    }))
    .unwrap()
}

#[test]
fn prose_where_a_reference_belongs_is_refused_with_a_typed_error() {
    assert!(Payload::parse(&sale_payload("crm://orders/2026/000400", "RT-000400")).is_ok());
    for (data_reference, order_reference) in [
        ("Li Hua, Hongshan District, Wuhan", "RT-000400"),
        ("li.hua@example.com", "RT-000400"),
        ("13800000000", "RT-000400"),
        ("crm://orders/2026/000400", "Li Hua +86 138 0000 0000"),
        ("crm://orders/2026/000400", &"A".repeat(65)),
    ] {
        let outcome = Payload::parse(&sale_payload(data_reference, order_reference));
        assert!(
            matches!(&outcome, Err(TxError::BadPayload { reason }) if reason.contains("reference")),
            "{data_reference} / {order_reference}: {outcome:?}"
        );
    }
    // Signed and submitted, such a payload is refused before execution: it changes nothing.
    let mut world = World::new();
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let envelope = Envelope::sign_bytes(
        &world.demo.genesis.binding(),
        sale_payload("Li Hua, Hongshan District, Wuhan", "RT-000400"),
        &gas.key,
    );
    assert!(matches!(
        envelope.verify(&world.demo.genesis.binding()),
        Err(TxError::BadPayload { .. })
    ));
    let before = world.state.digest();
    assert_eq!(
        world.submit(
            &gas.key,
            sell_to_person(&gas, cooker_item(2), buyer().commit_fresh().commitment)
        ),
        Ok(())
    );
    assert_ne!(world.state.digest(), before);
}

#[test]
fn the_demo_draws_its_salt_seed_and_one_seed_tells_one_story() {
    let one = Demo::new(4, 7100);
    let other = Demo::new(4, 7100);
    assert_ne!(one.salt_seed(), other.salt_seed());
    assert_ne!(
        one.story(),
        other.story(),
        "the retail sale's commitment differs"
    );
    assert_eq!(
        one.story(),
        one.story(),
        "a demo's story is fixed once built"
    );
    let again = Demo::new(4, 7100).with_salt_seed(one.salt_seed());
    assert_eq!(again.story(), one.story());
    assert_eq!(again.story_state().digest(), one.story_state().digest());
    assert_ne!(one.buyer_salt("a"), one.buyer_salt("b"));
}

/// The commitment's encoding as docs/records.md states it, with the vector published there: a
/// client in another language checks its own implementation against these bytes.
#[test]
fn the_documented_commitment_vector_holds() {
    let salt: [u8; 32] = std::array::from_fn(|i| i as u8);
    let data = PersonalData {
        name: "李华".into(),
        address: "武汉市洪山区珞喻路3号".into(),
        contact: "+86 138 0013 8000".into(),
    };
    let commitment = data.commitment(&salt);
    // By the documented encoding, without the library's helper.
    let mut hasher = blake3::Hasher::new_derive_key("suyuan buyer commitment v1");
    for part in [
        salt.as_slice(),
        data.name.as_bytes(),
        data.address.as_bytes(),
        data.contact.as_bytes(),
    ] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    assert_eq!(commitment.as_bytes(), hasher.finalize().as_bytes());
    let docs = include_str!("../../docs/records.md");
    assert!(
        docs.contains(&commitment.to_string()),
        "docs/records.md does not give the vector's commitment {commitment}"
    );
}
