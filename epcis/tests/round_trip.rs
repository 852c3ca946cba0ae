//! The demo consortium's whole history as EPCIS: exported, checked against GS1's schema,
//! captured into a second consortium with other keys and another genesis, and exported again
//! to the same document; and GS1's own examples, each captured or refused with a reason.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use suyuan_epcis::CaptureError;
use suyuan_epcis::capture::{CaptureContext, capture_event};
use suyuan_epcis::document::{check_schema, document, events_of};
use suyuan_epcis::export::{ExportContext, event_id, export_event};
use suyuan_epcis::ids::{HeldPrefixes, NoPartyGlns, PARTY_BASE, ProfileGlns};
use suyuan_ledger::codes::gs1::check::check_digit;
use suyuan_ledger::codes::gs1::keys::Gln;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::crypto::{KeyPair, PublicKey};
use suyuan_ledger::demo::{Demo, who};
use suyuan_ledger::exec::{BlockContext, execute_block};
use suyuan_ledger::record::{AttestPrefix, Party, Record, UpdateEnterprise};
use suyuan_ledger::state::MemState;
use suyuan_ledger::state::StateReadExt as _;
use suyuan_ledger::tx::{Envelope, Payload, TxId, VerifiedTx};

/// A party GLN lookup that knows no GLN.
fn no_parties(_: &Gln) -> Option<Uscc> {
    None
}

/// A demo block's time, as the demo times its story.
fn block_time(demo: &Demo, height: u64) -> u64 {
    demo.genesis.genesis_time_ms + height * 86_400_000
}

/// Executes one block over `state`.
fn execute(demo: &Demo, state: &mut MemState, height: u64, envelopes: &[Envelope]) {
    let chain = demo.genesis.binding();
    let txs: Vec<VerifiedTx> = envelopes
        .iter()
        .map(|envelope| envelope.clone().verify(&chain).unwrap())
        .collect();
    let context = BlockContext {
        genesis: &demo.genesis,
        height,
        time_ms: block_time(demo, height),
    };
    let writes = execute_block(&*state, context, &txs)
        .unwrap_or_else(|error| panic!("block {height}: {error}"));
    state.apply(writes);
}

/// Runs a story and exports every event in it, in chain order.
fn export_story(demo: &Demo, story: &[Vec<Envelope>]) -> Vec<Value> {
    let chain = demo.genesis.binding();
    let mut state = MemState::new();
    let mut recall_events: HashMap<TxId, String> = HashMap::new();
    let mut events = Vec::new();
    for (index, block) in story.iter().enumerate() {
        let height = index as u64 + 1;
        execute(demo, &mut state, height, block);
        for envelope in block {
            let payload = Payload::parse(&envelope.payload).unwrap();
            if let Record::Recall(_) = payload.record {
                recall_events.insert(envelope.id(&chain), event_id(&payload, &envelope.payload));
            }
            let recall_event_id = match &payload.record {
                Record::CloseRecall(close) => Some(recall_events[&close.recall].clone()),
                _ => None,
            };
            let context = ExportContext {
                lengths: &HeldPrefixes(&state),
                parties: &ProfileGlns(&state),
                block_time_ms: block_time(demo, height),
                recall_event_id,
            };
            events.extend(export_event(&payload, &envelope.payload, &context));
        }
    }
    events
}

/// Each key of `from` paired with the key of the same role in `to`.
fn same_roles(from: &Demo, to: &Demo) -> HashMap<PublicKey, KeyPair> {
    let mut roles = HashMap::new();
    roles.insert(from.bureau.public(), to.bureau.clone());
    roles.insert(from.association.public(), to.association.clone());
    for (a, b) in from.enterprises.iter().zip(&to.enterprises) {
        assert_eq!(a.profile.uscc, b.profile.uscc);
        roles.insert(a.key.public(), b.key.clone());
    }
    roles
}

#[test]
fn the_demo_history_exports_captures_into_another_consortium_and_exports_the_same() {
    let first = Demo::new(4, 47_000);
    let story = first.dev_story();
    let exported = export_story(&first, &story);
    let kinds: Vec<&str> = exported
        .iter()
        .map(|event| event["bizStep"].as_str().unwrap())
        .collect();
    for step in [
        "commissioning",
        "inspecting",
        "shipping",
        "retail_selling",
        "holding",
        "packing",
        "unpacking",
    ] {
        assert!(kinds.contains(&step), "the demo exports no {step} event");
    }
    let original = document(exported);
    check_schema(&original).unwrap();
    // The document travels as text, as it would between systems.
    let received: Value = serde_json::from_str(&original.to_string()).unwrap();
    let events = events_of(&received).unwrap();

    // A second consortium: other validators, registrars and enterprise keys, another genesis.
    let second = Demo::new(4, 48_000);
    assert_ne!(first.genesis.hash(), second.genesis.hash());
    let roles = same_roles(&first, &second);
    let chain = second.genesis.binding();
    let mut captured_recalls: HashMap<String, TxId> = HashMap::new();
    let mut next_event = events.iter();
    let mut replayed: Vec<Vec<Envelope>> = Vec::new();
    for block in &story {
        let mut envelopes = Vec::new();
        for envelope in block {
            let payload = Payload::parse(&envelope.payload).unwrap();
            let key = &roles[&envelope.signer];
            let is_event = export_event(
                &payload,
                &envelope.payload,
                &ExportContext {
                    lengths: &suyuan_epcis::ids::NoPrefixLengths,
                    parties: &NoPartyGlns,
                    block_time_ms: 0,
                    recall_event_id: Some(String::new()),
                },
            )
            .is_some();
            if !is_event {
                envelopes.push(Envelope::sign_bytes(&chain, envelope.payload.clone(), key));
                continue;
            }
            let event = next_event
                .next()
                .expect("one exported event per event record");
            let recalls = |id: &str| captured_recalls.get(id).copied();
            let context = CaptureContext {
                enterprise: None,
                recall: &recalls,
                party: &no_parties,
            };
            let captured =
                capture_event(event, &context).unwrap_or_else(|error| panic!("{error}: {event:#}"));
            // Records submitted without event facts come back as the very payloads.
            assert_eq!(captured, payload, "{event:#}");
            let signed = Envelope::sign(&chain, &captured, key);
            if let Record::Recall(_) = captured.record {
                let id = event["eventID"].as_str().unwrap().to_owned();
                captured_recalls.insert(id, signed.id(&chain));
            }
            envelopes.push(signed);
        }
        replayed.push(envelopes);
    }
    assert!(next_event.next().is_none());

    let again = document(export_story(&second, &replayed));
    assert_eq!(again, original);
}

/// The party GLN `uscc`'s profile claims.
fn holder_gln(state: &MemState, uscc: &Uscc) -> Gln {
    state
        .enterprise(uscc)
        .unwrap()
        .unwrap()
        .profile
        .gln
        .unwrap()
}

/// The GLN under a GS1 company prefix with all other digits zero.
fn first_gln_under(prefix: &str) -> Gln {
    let data = format!("{prefix:0<12}");
    let digit = check_digit(data.as_bytes()).unwrap();
    format!("{data}{}", char::from(digit)).parse().unwrap()
}

/// Once the seller and the buyer of the demo's sales claim party GLNs, the sales export with
/// both owning parties as PGLNs and are captured back to the same records by looking the GLNs
/// up; a GLN nobody claims is refused by name, never taken for a party it might be.
#[test]
fn parties_claiming_glns_export_as_pglns_and_are_captured_back_by_them() {
    let demo = Demo::new(4, 50_000);
    let mut story = demo.dev_story();
    let cable = &demo.enterprises[who::CABLE_MAKER];
    let distributor = &demo.enterprises[who::DISTRIBUTOR];
    let cable_gln = first_gln_under("6950123");
    let distributor_gln = first_gln_under("6950555");
    let chain = demo.genesis.binding();
    let sign = |nonce, record| {
        let payload = Payload {
            nonce,
            record,
            event: None,
        };
        Envelope::sign(&chain, &payload, &demo.bureau)
    };
    let naming = |profile: &suyuan_ledger::record::EnterpriseProfile, gln: &Gln| {
        let mut profile = profile.clone();
        profile.gln = Some(gln.clone());
        Record::UpdateEnterprise(UpdateEnterprise {
            enterprise: profile,
        })
    };
    story.push(vec![
        sign(
            90_001,
            Record::AttestPrefix(AttestPrefix {
                uscc: distributor.profile.uscc.clone(),
                prefix: "gs1:6950555".parse().unwrap(),
                from: None,
            }),
        ),
        sign(90_002, naming(&cable.profile, &cable_gln)),
        sign(90_003, naming(&distributor.profile, &distributor_gln)),
    ]);
    let mut state = MemState::new();
    for (index, block) in story.iter().enumerate() {
        execute(&demo, &mut state, index as u64 + 1, block);
    }
    let holder = |gln: &Gln| state.gln_holder(gln).unwrap();
    let mut both_by_gln = 0;
    for envelope in story.iter().flatten() {
        let payload = Payload::parse(&envelope.payload).unwrap();
        let Record::Ship(ship) = &payload.record else {
            continue;
        };
        let context = ExportContext {
            lengths: &HeldPrefixes(&state),
            parties: &ProfileGlns(&state),
            block_time_ms: 0,
            recall_event_id: None,
        };
        let event = export_event(&payload, &envelope.payload, &context).unwrap();
        let source = event["sourceList"][0]["source"].as_str().unwrap();
        let destination = event["destinationList"][0]["destination"].as_str();
        let pgln_of = |uscc: &Uscc| {
            if *uscc == cable.profile.uscc {
                Some("urn:epc:id:pgln:6950123.00000")
            } else if *uscc == distributor.profile.uscc {
                Some("urn:epc:id:pgln:6950555.00000")
            } else {
                None
            }
        };
        match pgln_of(&ship.seller) {
            Some(pgln) => assert_eq!(source, pgln, "{event:#}"),
            None => assert!(source.starts_with(PARTY_BASE), "{source}"),
        }
        if let Party::Enterprise { uscc, .. } = &ship.buyer {
            match pgln_of(uscc) {
                Some(pgln) => assert_eq!(destination, Some(pgln), "{event:#}"),
                None => assert!(destination.unwrap().starts_with(PARTY_BASE)),
            }
            if pgln_of(&ship.seller).is_some() && pgln_of(uscc).is_some() {
                both_by_gln += 1;
            }
        }
        let captured = |event: &Value, party: &dyn Fn(&Gln) -> Option<Uscc>| {
            let no_recalls = |_: &str| None;
            capture_event(
                event,
                &CaptureContext {
                    enterprise: None,
                    recall: &no_recalls,
                    party,
                },
            )
        };
        assert_eq!(
            captured(&event, &holder).unwrap().record,
            payload.record,
            "{event:#}"
        );
        if !source.starts_with("urn:epc:id:pgln:") {
            continue;
        }
        // The same party as a Digital Link reads the same.
        let seller_gln = holder_gln(&state, &ship.seller);
        let mut linked = event.clone();
        linked["sourceList"][0]["source"] = format!("https://id.gs1.org/417/{seller_gln}").into();
        assert_eq!(captured(&linked, &holder).unwrap().record, payload.record);
        // Without the lookup, or with a GLN no enterprise claims, the party is unknown.
        let refused = captured(&event, &no_parties).unwrap_err();
        assert_eq!(refused.code(), "unknown_party", "{refused}");
        let mut stranger = event.clone();
        stranger["sourceList"][0]["source"] = "urn:epc:id:pgln:6950123.99999".into();
        let refused = captured(&stranger, &holder).unwrap_err();
        assert_eq!(
            refused,
            CaptureError::UnknownParty {
                gln: first_gln_under("695012399999").to_string()
            }
        );
        // A location is not a party.
        let mut location = event.clone();
        location["sourceList"][0]["source"] = "urn:epc:id:sgln:6950123.00000.0".into();
        assert_eq!(
            captured(&location, &holder).unwrap_err().code(),
            "epcis_identifier"
        );
    }
    assert!(
        both_by_gln >= 2,
        "{both_by_gln} sales named both parties by GLN"
    );
}

#[test]
fn the_same_event_captured_twice_is_refused_by_the_ledger() {
    let demo = Demo::new(4, 49_000);
    let story = demo.dev_story();
    let events = export_story(&demo, &story);
    let mut shipping = events
        .iter()
        .find(|event| event["bizStep"] == "shipping")
        .unwrap()
        .clone();
    // As a partner's system reports it, under its own event id (an export's own id would make
    // the chain's very payload, whose replay the first test covers).
    shipping["eventID"] = "urn:uuid:5e1f3c2a-0000-8000-8000-0000000000aa".into();
    let chain = demo.genesis.binding();
    // The chain as it stood before the shipment.
    let ships_in = story
        .iter()
        .position(|block| {
            block.iter().any(|envelope| {
                matches!(
                    Payload::parse(&envelope.payload).unwrap().record,
                    Record::Ship(_)
                )
            })
        })
        .unwrap();
    let mut state = MemState::new();
    for (index, block) in story[..ships_in].iter().enumerate() {
        execute(&demo, &mut state, index as u64 + 1, block);
    }
    let height = ships_in as u64 + 1;
    let seller = demo
        .enterprises
        .iter()
        .find(|e| {
            let source = shipping["sourceList"][0]["source"].as_str().unwrap();
            source.ends_with(&e.profile.uscc.to_string())
        })
        .unwrap();
    let no_recalls = |_: &str| None;
    let context = CaptureContext {
        enterprise: None,
        recall: &no_recalls,
        party: &no_parties,
    };
    let sign = |payload: &Payload| {
        Envelope::sign(&chain, payload, &seller.key)
            .verify(&chain)
            .unwrap()
    };
    let payload = capture_event(&shipping, &context).unwrap();
    let mut executor = suyuan_ledger::exec::Executor::new(
        &state,
        BlockContext {
            genesis: &demo.genesis,
            height,
            time_ms: block_time(&demo, height),
        },
    );
    executor
        .apply(&sign(&payload))
        .unwrap_or_else(|error| panic!("{error}"));
    // Captured again, the event is the same transaction: a replay.
    let again = capture_event(&shipping, &context).unwrap();
    assert_eq!(again, payload);
    let error = executor.apply(&sign(&again)).unwrap_err();
    assert!(error.to_string().contains("already committed"), "{error}");
    // With another nonce, it is the same event id from the same seller: refused by the rule.
    let mut renamed = payload.clone();
    renamed.nonce += 1;
    let error = executor.apply(&sign(&renamed)).unwrap_err();
    assert!(error.to_string().contains("already recorded"), "{error}");
    // Another event id goes through the ordinary rules (and the seller holds no more).
    let mut other = renamed.clone();
    if let Some(facts) = other.event.as_mut() {
        facts.id = Some(
            "urn:uuid:00000000-0000-8000-8000-000000000001"
                .parse()
                .unwrap(),
        );
    }
    let error = executor.apply(&sign(&other)).unwrap_err();
    assert!(!error.to_string().contains("already"), "{error}");
}

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/examples")
}

fn example_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(example_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "jsonld") {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn every_gs1_example_is_captured_or_refused_with_a_reason() {
    let files = example_files(&vectors());
    assert!(files.len() >= 40, "only {} example files", files.len());
    let no_recalls = |_: &str| None;
    let context = CaptureContext {
        enterprise: None,
        recall: &no_recalls,
        party: &no_parties,
    };
    let mut events = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.strip_prefix(vectors()).unwrap().display().to_string();
        let Ok(document) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let listed = match document["type"].as_str() {
            Some("EPCISDocument") => events_of(&document).map(<[Value]>::to_vec),
            _ => {
                let refused = events_of(&document).unwrap_err();
                assert!(
                    matches!(refused, CaptureError::NotADocument { .. }),
                    "{name}"
                );
                continue;
            }
        };
        let Ok(list) = listed else {
            // The schema refuses it: the refusal names where.
            assert!(matches!(listed, Err(CaptureError::Schema { .. })), "{name}");
            continue;
        };
        for event in &list {
            events += 1;
            match capture_event(event, &context) {
                Ok(payload) => panic!("{name}: GS1's example became {:?}", payload.record),
                Err(error) => {
                    eprintln!("{name}: {} ({error})", error.code());
                    assert!(
                        matches!(
                            error,
                            CaptureError::Unsupported { .. }
                                | CaptureError::Identifier { .. }
                                | CaptureError::Missing { .. }
                                | CaptureError::Invalid { .. }
                                | CaptureError::UnknownParty { .. }
                        ),
                        "{name}: {error:?}"
                    );
                }
            }
        }
    }
    assert!(events >= 40, "only {events} events read");
}
