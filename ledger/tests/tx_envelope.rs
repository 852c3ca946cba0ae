//! Envelopes: signatures bound to chain and payload, size limits, typed payload errors, and
//! golden vectors for the wire form and the hashes.

use suyuan_ledger::block::{Block, Body, Header, Parent};
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::Demo;
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::limits::MAX_PAYLOAD_BYTES;
use suyuan_ledger::merkle::log::Frontier;
use suyuan_ledger::merkle::map::MemMapStore;
use suyuan_ledger::trees::grow;
use suyuan_ledger::tx::{ChainBinding, Envelope, TxError};

fn demo_envelope() -> (Demo, Envelope) {
    let demo = Demo::new(4, 7100);
    let envelope = demo.story()[0][0].clone();
    (demo, envelope)
}

#[test]
fn a_tampered_payload_or_another_chain_fails_the_signature() {
    let (demo, envelope) = demo_envelope();
    assert!(envelope.clone().verify(&demo.genesis.binding()).is_ok());
    let mut tampered = envelope.clone();
    let last = tampered.payload.len() - 2;
    tampered.payload[last] ^= 1;
    assert!(matches!(
        tampered.verify(&demo.genesis.binding()),
        Err(TxError::BadSignature { .. })
    ));
    let another_chain = ChainBinding::new("another-chain", demo.genesis.hash());
    assert!(matches!(
        envelope.verify(&another_chain),
        Err(TxError::BadSignature { .. })
    ));
}

/// Two consortia that chose the same chain id (every `suyuan dev` is `suyuan-local`) differ in
/// their genesis: a transaction signed for one neither verifies on the other nor has the same id
/// there.
#[test]
fn a_transaction_for_another_genesis_under_the_same_chain_id_fails_the_signature() {
    let (demo, envelope) = demo_envelope();
    let mut other = demo.genesis.clone();
    other.genesis_time_ms += 1;
    assert_eq!(other.chain_id, demo.genesis.chain_id);
    assert_ne!(other.hash(), demo.genesis.hash());
    assert_ne!(
        envelope.id(&other.binding()),
        envelope.id(&demo.genesis.binding())
    );
    assert!(matches!(
        envelope.verify(&other.binding()),
        Err(TxError::BadSignature { .. })
    ));
}

#[test]
fn oversized_and_malformed_payloads_are_refused_with_a_reason() {
    let key = KeyPair::insecure_from_label("client");
    let chain = ChainBinding::new("c", Hash32::ZERO);
    let big = Envelope::sign_bytes(&chain, vec![b' '; MAX_PAYLOAD_BYTES + 1], &key);
    assert!(matches!(
        big.verify(&chain),
        Err(TxError::PayloadTooLarge { .. })
    ));
    for (payload, expected) in [
        (&b"{"[..], "EOF"),
        (&br#"{"nonce": 1, "record": {"type": "teleport"}}"#[..], "unknown variant"),
        (
            &br#"{"nonce": 1, "record": {"type": "close_recall", "recall": "0000000000000000000000000000000000000000000000000000000000000000", "resolution": "done"}, "extra": 1}"#[..],
            "unknown field",
        ),
        (&br#"{"nonce": -1, "record": {"type": "recall"}}"#[..], "invalid value"),
    ] {
        let envelope = Envelope::sign_bytes(&chain, payload.to_vec(), &key);
        match envelope.verify(&chain) {
            Err(TxError::BadPayload { reason }) => {
                assert!(reason.contains(expected), "{reason} should mention {expected}")
            }
            other => panic!("expected BadPayload, got {other:?}"),
        }
    }
}

#[test]
fn invalid_codes_inside_a_payload_are_named() {
    let key = KeyPair::insecure_from_label("client");
    let payload =
        br#"{"nonce":1,"record":{"type":"bind_key","uscc":"91350100M000100Y4Z","key":"00"}}"#;
    let chain = ChainBinding::new("c", Hash32::ZERO);
    let envelope = Envelope::sign_bytes(&chain, payload.to_vec(), &key);
    let Err(TxError::BadPayload { reason }) = envelope.verify(&chain) else {
        panic!("expected BadPayload");
    };
    assert!(reason.to_lowercase().contains("check"), "{reason}");
}

#[test]
fn the_id_ignores_nothing_signed_and_nothing_else() {
    let (demo, envelope) = demo_envelope();
    let chain = demo.genesis.binding();
    let id = envelope.id(&chain);
    assert_ne!(
        id,
        envelope.id(&ChainBinding::new("another-chain", demo.genesis.hash()))
    );
    let mut other = envelope.clone();
    other.payload.push(b' ');
    assert_ne!(id, other.id(&chain));
}

#[test]
fn binary_form_round_trips_and_refuses_trailing_bytes() {
    let (_, envelope) = demo_envelope();
    let bytes = envelope.to_bytes();
    assert_eq!(Envelope::from_bytes(&bytes).unwrap(), envelope);
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Envelope::from_bytes(&longer).is_err());
    assert!(Envelope::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    let json = serde_json::to_string(&envelope).unwrap();
    assert_eq!(serde_json::from_str::<Envelope>(&json).unwrap(), envelope);
}

fn golden_block(demo: &Demo) -> Block {
    let body = Body {
        transactions: demo.story()[0].clone(),
    };
    let txs: Vec<_> = body
        .transactions
        .iter()
        .map(|envelope| envelope.clone().verify(&demo.genesis.binding()).unwrap())
        .collect();
    let trees = grow(&Frontier::new(), &MemMapStore::new(), 1, &txs).unwrap();
    Block::new(
        &demo.genesis.chain_id,
        1,
        1,
        demo.genesis.hash(),
        demo.genesis.genesis_time_ms + 1_000,
        demo.validators[1].public(),
        body,
        trees.heads,
    )
    .unwrap()
}

/// Golden vectors: these hashes change only when a wire or hash format changes on purpose, and
/// then every node of a consortium must upgrade together.
#[test]
fn golden_vectors() {
    let golden: serde_json::Value =
        serde_json::from_str(include_str!("testdata/golden.json")).unwrap();
    let (demo, envelope) = demo_envelope();
    let block = golden_block(&demo);
    let actual = serde_json::json!({
        "genesis_hash": demo.genesis.hash().to_string(),
        "first_tx_id": envelope.id(&demo.genesis.binding()).to_string(),
        "first_tx_envelope_blake3": blake3::hash(&envelope.to_bytes()).to_hex().to_string(),
        "block_1_header_hex": hex::encode(block.header.to_bytes()),
        "block_1_hash": block.hash().to_string(),
    });
    assert_eq!(
        actual, golden,
        "a wire or hash format changed: if on purpose, update testdata/golden.json"
    );
}

/// The demo's genesis file and first envelope, published beside the golden hashes so that a
/// client in another language can check its genesis hash, signing message, id and signature
/// against real bytes: the files are what the demo produces, and the golden hashes are theirs.
#[test]
fn the_published_demo_genesis_and_first_envelope_are_the_demos() {
    let (demo, envelope) = demo_envelope();
    let genesis = include_str!("testdata/demo-genesis.json");
    assert_eq!(
        genesis,
        serde_json::to_string_pretty(&demo.genesis).unwrap() + "\n",
        "testdata/demo-genesis.json is not the demo's genesis: run the ignored test \
         write_published_demo_files if it changed on purpose"
    );
    let published: Envelope =
        serde_json::from_str(include_str!("testdata/demo-first-envelope.json")).unwrap();
    assert_eq!(published, envelope, "testdata/demo-first-envelope.json");
    assert_eq!(
        include_bytes!("testdata/demo-first-payload.json").as_slice(),
        envelope.payload.as_slice(),
        "testdata/demo-first-payload.json holds the signed payload bytes exactly"
    );
    // The published files alone give the golden hashes.
    let golden: serde_json::Value =
        serde_json::from_str(include_str!("testdata/golden.json")).unwrap();
    let genesis = suyuan_ledger::genesis::Genesis::from_json(genesis.as_bytes()).unwrap();
    assert_eq!(genesis.hash().to_string(), golden["genesis_hash"]);
    let verified = published.verify(&genesis.binding()).unwrap();
    assert_eq!(verified.id.to_string(), golden["first_tx_id"]);
}

/// The members of each genesis object in canonical order, as docs/operators.md ("The genesis
/// hash, exactly") lists them, and the kind of each member's value: an object kind, an array of
/// one, or `""` for a string, number or boolean.
fn genesis_members(kind: &str) -> &'static [(&'static str, &'static str)] {
    match kind {
        "genesis" => &[
            ("chain_id", ""),
            ("genesis_time_ms", ""),
            ("validators", "validator"),
            ("registrars", "member"),
            ("regulators", "member"),
            ("score_weights", "score_weights"),
            ("time_windows", "time_windows"),
            ("catalogue", "catalogue"),
            ("accreditation_required", ""),
        ],
        "validator" => &[
            ("name", ""),
            ("public_key", ""),
            ("p2p_address", ""),
            ("api_url", ""),
        ],
        "member" => &[("name", ""), ("public_key", "")],
        "score_weights" => &[
            ("completeness", ""),
            ("timeliness", ""),
            ("sale_coverage", ""),
            ("inspection_outcomes", ""),
            ("recalls", ""),
            ("key_revocations", ""),
        ],
        "time_windows" => &[
            ("clock_skew_ms", ""),
            ("production_max_age_days", ""),
            ("inspection_max_age_days", ""),
            ("sale_max_age_days", ""),
            ("recall_max_age_days", ""),
            ("document_max_term_days", ""),
        ],
        "catalogue" => &[("require_category", ""), ("categories", "category")],
        "category" => &[
            ("id", ""),
            ("name_zh", ""),
            ("name_en", ""),
            ("documents", ""),
            ("fields", "field"),
        ],
        "field" => &[("id", ""), ("name_zh", ""), ("name_en", "")],
        other => panic!("no genesis object {other}"),
    }
}

/// The canonical form by the documented rules alone, from JSON whose member order is lost.
fn canonical_by_the_docs(value: &serde_json::Value, kind: &str, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(members) => {
            let order = genesis_members(kind);
            for name in members.keys() {
                assert!(
                    order.iter().any(|(listed, _)| listed == name),
                    "{kind}.{name} is not in the documented order"
                );
            }
            out.push('{');
            let mut first = true;
            for (name, child) in order {
                let Some(member) = members.get(*name).filter(|member| !member.is_null()) else {
                    continue;
                };
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(&format!("\"{name}\":"));
                canonical_by_the_docs(member, child, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                canonical_by_the_docs(item, kind, out);
            }
            out.push(']');
        }
        Value::String(text) => {
            out.push('"');
            out.push_str(&text.replace('\\', "\\\\").replace('"', "\\\""));
            out.push('"');
        }
        Value::Number(number) => out.push_str(&number.as_u64().expect("whole").to_string()),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Null => unreachable!("null members are skipped"),
    }
}

/// docs/operators.md states the genesis hash's canonical form exactly: re-encoding by those
/// rules alone gives the parser's canonical bytes and the golden hash, for the published demo
/// file and for a genesis naming every optional section.
#[test]
fn the_documented_genesis_canonical_form_is_the_one_hashed() {
    use suyuan_ledger::catalogue::Catalogue;
    use suyuan_ledger::genesis::{Genesis, ScoreWeights, TimeWindows};
    use suyuan_ledger::hash::hash_parts;
    let file = include_str!("testdata/demo-genesis.json");
    let golden: serde_json::Value =
        serde_json::from_str(include_str!("testdata/golden.json")).unwrap();
    let mut canonical = String::new();
    canonical_by_the_docs(
        &serde_json::from_str(file).unwrap(),
        "genesis",
        &mut canonical,
    );
    let genesis = Genesis::from_json(file.as_bytes()).unwrap();
    assert_eq!(canonical.as_bytes(), genesis.to_canonical_json().as_slice());
    assert_eq!(
        hash_parts("suyuan genesis v1", &[canonical.as_bytes()]).to_string(),
        golden["genesis_hash"]
    );

    let mut full = genesis.clone();
    full.score_weights = Some(ScoreWeights::DEFAULT);
    full.time_windows = Some(TimeWindows::DEFAULT);
    full.catalogue = Some(Catalogue::programme().clone());
    full.accreditation_required = Some(true);
    full.validators[0].api_url = Some("https://node0.example/\"quoted\"\\path".parse().unwrap());
    full.registrars[0].name = "湖北省市场监督管理局 \"登记\"".parse().unwrap();
    let mut canonical = String::new();
    canonical_by_the_docs(
        &serde_json::to_value(&full).unwrap(),
        "genesis",
        &mut canonical,
    );
    assert_eq!(canonical.as_bytes(), full.to_canonical_json().as_slice());
    assert_eq!(
        hash_parts("suyuan genesis v1", &[canonical.as_bytes()]),
        full.hash()
    );
}

#[test]
#[ignore = "rewrites testdata/demo-*.json: run on purpose after a format changed"]
fn write_published_demo_files() {
    let (demo, envelope) = demo_envelope();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata");
    let genesis = serde_json::to_string_pretty(&demo.genesis).unwrap() + "\n";
    std::fs::write(dir.join("demo-genesis.json"), genesis).unwrap();
    let text = serde_json::to_string_pretty(&envelope).unwrap() + "\n";
    std::fs::write(dir.join("demo-first-envelope.json"), text).unwrap();
    std::fs::write(dir.join("demo-first-payload.json"), &envelope.payload).unwrap();
}

#[test]
fn headers_check_their_parent_and_body() {
    let demo = Demo::new(4, 7100);
    let block = golden_block(&demo);
    block.check_body().unwrap();
    block
        .header
        .check_extends(Parent::Genesis(&demo.genesis), &demo.genesis)
        .unwrap();
    assert_eq!(
        Header::from_bytes(&block.header.to_bytes()).unwrap(),
        block.header
    );
    assert_eq!(
        Body::from_bytes(&block.body.to_bytes()).unwrap(),
        block.body
    );

    let mut wrong_proposer = block.header.clone();
    wrong_proposer.proposer = demo.validators[2].public();
    assert!(
        wrong_proposer
            .check_extends(Parent::Genesis(&demo.genesis), &demo.genesis)
            .is_err()
    );

    let mut swapped_body = block.clone();
    swapped_body.body.transactions.pop();
    assert!(swapped_body.check_body().is_err());

    let mut child = golden_block(&demo).header;
    child.height = 2;
    child.view = 1;
    child.parent = block.hash();
    assert!(matches!(
        child.check_extends(Parent::Block(&block.header), &demo.genesis),
        Err(suyuan_ledger::block::BlockError::ViewNotAfterParent { .. })
    ));
}
