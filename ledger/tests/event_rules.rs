//! A payload's EPCIS event facts: only on records that are events, never empty, a sale's time
//! its own, and an event id once per signing party, so that an ERP resending an event cannot
//! record it twice and no enterprise can take another's event id first. Every refusal leaves
//! state unchanged.

use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{Demo, DemoEnterprise, who};
use suyuan_ledger::event::{EpcisEvent, EventTime};
use suyuan_ledger::exec::RuleError;
use suyuan_ledger::record::{Party, PersonalData, Record, Shipment, ShipmentLine, TraceCode};
use suyuan_ledger::tx::{Envelope, Payload};

#[macro_use]
mod support;
use support::*;

/// Signs `record` with `event` and commits it alone; a refusal must change nothing.
fn submit_event(
    world: &mut World,
    key: &KeyPair,
    record: Record,
    event: EpcisEvent,
) -> Result<(), RuleError> {
    world.nonce += 1;
    let payload = Payload {
        nonce: world.nonce,
        record,
        event: Some(event),
    };
    let envelope = Envelope::sign(&world.demo.genesis.binding(), &payload, key);
    let before = world.state.digest();
    let outcome = world.commit(vec![envelope]);
    if outcome.is_err() {
        assert_eq!(
            world.state.digest(),
            before,
            "a refused event changed state"
        );
    }
    outcome
}

/// A sale of one gas cooker the story leaves with its maker, to a person.
fn sale(seller: &DemoEnterprise, serial: u32, sold_at_ms: u64) -> Record {
    let buyer = PersonalData {
        name: "Li Lei".into(),
        address: "Hongshan District, Wuhan".into(),
        contact: "+86 27 0000 0002".into(),
    };
    let code: TraceCode = format!("01/{}/21/G26SN{serial:05}", Demo::cooker_gtin())
        .parse()
        .unwrap();
    Record::Ship(Shipment {
        seller: seller.profile.uscc.clone(),
        buyer: Party::Person {
            commitment: buyer.commit_fresh().commitment,
            data_reference: "crm://orders/2026/000501".parse().unwrap(),
        },
        sold_at_ms,
        lines: vec![ShipmentLine { code, quantity: 1 }],
        order_reference: None,
    })
}

fn event(id: &str, time: Option<EventTime>) -> EpcisEvent {
    EpcisEvent {
        id: Some(id.parse().unwrap()),
        time,
        read_point: Some("urn:epc:id:sgln:6950124.00001.0".parse().unwrap()),
        biz_location: None,
    }
}

const SOLD_AT_MS: u64 = suyuan_ledger::demo::DEMO_GENESIS_TIME_MS;

#[test]
fn an_event_id_is_recorded_once_per_signing_party() {
    let mut world = World::new();
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let time = EventTime::new(SOLD_AT_MS as i64, 8 * 60);
    let id = "urn:uuid:0b7e6f52-3d1c-8c4e-9a57-2f0d7c1b9e11";
    assert_eq!(
        submit_event(
            &mut world,
            &gas.key,
            sale(&gas, 2, SOLD_AT_MS),
            event(id, time)
        ),
        Ok(())
    );
    // The same event id again, for another sale: refused, naming the first transaction.
    let refused = submit_event(
        &mut world,
        &gas.key,
        sale(&gas, 3, SOLD_AT_MS),
        event(id, time),
    );
    assert!(
        matches!(&refused, Err(RuleError::DuplicateEvent { id: found, .. }) if found == id),
        "{refused:?}"
    );
    assert_eq!(refused.unwrap_err().code(), "duplicate_event");
    // Another event id: accepted.
    let other = "urn:uuid:0b7e6f52-3d1c-8c4e-9a57-2f0d7c1b9e12";
    assert_eq!(
        submit_event(
            &mut world,
            &gas.key,
            sale(&gas, 3, SOLD_AT_MS),
            event(other, time)
        ),
        Ok(())
    );
    // Another enterprise's records are another scope: its use of the same id takes nothing
    // from the gas maker, and the gas maker's took nothing from it.
    let cable = world.enterprise(who::CABLE_MAKER);
    let distributor = world.enterprise(who::DISTRIBUTOR);
    let resale = ship(&cable, &distributor, cable_lot(), 1);
    assert_eq!(
        submit_event(&mut world, &cable.key, resale, event(id, None)),
        Ok(())
    );
}

#[test]
fn a_sales_event_time_is_its_own_time() {
    let mut world = World::new();
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let later = EventTime::new(SOLD_AT_MS as i64 + 1, 8 * 60);
    let refused = submit_event(
        &mut world,
        &gas.key,
        sale(&gas, 2, SOLD_AT_MS),
        event("urn:uuid:0b7e6f52-3d1c-8c4e-9a57-2f0d7c1b9e13", later),
    );
    assert_eq!(
        refused,
        Err(RuleError::EventTimeMismatch {
            record_ms: SOLD_AT_MS,
            event_ms: SOLD_AT_MS as i64 + 1,
        })
    );
    assert_eq!(refused.unwrap_err().code(), "event_time_mismatch");
}

#[test]
fn event_facts_belong_to_events_only_and_say_something() {
    let mut world = World::new();
    let gas = world.enterprise(who::GAS_APPLIANCE_MAKER);
    let bureau = world.demo.bureau.clone();
    let bind = Record::BindKey(suyuan_ledger::record::BindKey {
        uscc: gas.profile.uscc.clone(),
        key: KeyPair::generate().public(),
    });
    let refused = submit_event(
        &mut world,
        &bureau,
        bind,
        event("urn:uuid:0b7e6f52-3d1c-8c4e-9a57-2f0d7c1b9e14", None),
    );
    assert_eq!(refused, Err(RuleError::NotAnEvent { record: "bind_key" }));
    assert_eq!(refused.unwrap_err().code(), "not_an_event");
    let empty = EpcisEvent {
        id: None,
        time: None,
        read_point: None,
        biz_location: None,
    };
    let refused = submit_event(&mut world, &gas.key, sale(&gas, 2, SOLD_AT_MS), empty);
    assert_eq!(refused, Err(RuleError::EmptyEvent));
    assert_eq!(refused.unwrap_err().code(), "empty_event");
}

#[test]
fn event_facts_parse_strictly_and_old_payloads_are_unchanged() {
    // A payload without event facts is the bytes it always was.
    let payload = Payload {
        nonce: 7,
        record: sale(
            &Demo::new(4, 46_000).enterprises[who::GAS_APPLIANCE_MAKER],
            2,
            SOLD_AT_MS,
        ),
        event: None,
    };
    let text = String::from_utf8(payload.to_bytes()).unwrap();
    assert!(!text.contains("event"), "{text}");
    // Unknown fields, malformed times and URIs without a scheme are refused by the parser.
    let with = |event: &str| {
        format!(
            r#"{{"nonce":7,"record":{},"event":{event}}}"#,
            serde_json::to_string(&payload.record).unwrap()
        )
    };
    assert!(Payload::parse(with(r#"{"id":"urn:uuid:1"}"#).as_bytes()).is_ok());
    for bad in [
        r#"{"id":"no scheme"}"#,
        r#"{"time":"2026-03-14 09:30:00+08:00"}"#,
        r#"{"time":"2026-03-14T09:30:00.1234+08:00"}"#,
        r#"{"where":"urn:x:y"}"#,
    ] {
        assert!(Payload::parse(with(bad).as_bytes()).is_err(), "{bad}");
    }
}
