//! Proof bundles and consistency proofs served over HTTP by a real server over RocksDB, checked
//! by the same code `suyuan verify` runs ([`ProofBundle::verify`]) against the genesis file
//! alone; then each part of a bundle tampered with in turn, and each rejected with its reason.

mod support;

use reqwest::StatusCode;
use support::{COMMITTED_BLOCKS, Server, assert_error, encode};
use suyuan_consensus::Vote;
use suyuan_ledger::block::Header;
use suyuan_ledger::codec::Writer;
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::Demo;
use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::merkle::log::{LogProofError, inclusion_proof};
use suyuan_ledger::merkle::map::MapProofError;
use suyuan_ledger::trees::{LedgerHash, MemTrees};
use suyuan_ledger::tx::TxError;
use suyuan_proofs::bundle::{BundleError, ConsistencyBundle, ProofBundle, Proven};
use suyuan_proofs::finality::JustificationError;
use suyuan_proofs::justification::Justification;
use suyuan_proofs::signing;

/// The validators that finalize the demo blocks: a quorum of four.
const FINALIZERS: [usize; 3] = [0, 1, 2];

/// The cable lot of the demo story: commissioned in block 3, inspected and shipped in block 4.
fn cable_lot() -> String {
    format!("01/{}/10/C2601A", Demo::cable_gtin())
}

/// A valid lot of the cable model that no record names.
fn unknown_lot() -> String {
    format!("01/{}/10/NEVER-MADE", Demo::cable_gtin())
}

/// `GET /v1/proofs/{code}`, read as a bundle.
async fn bundle(server: &Server, code: &str) -> ProofBundle {
    let (status, body) = server.get(&format!("/v1/proofs/{}", encode(code))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).expect("the answer is a bundle")
}

/// `GET /v1/proofs/consistency?from=`, read as a consistency proof.
async fn consistency(server: &Server, from: u64) -> ConsistencyBundle {
    let (status, body) = server
        .get(&format!("/v1/proofs/consistency?from={from}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).expect("the answer is a consistency proof")
}

fn genesis(server: &Server) -> &Genesis {
    &server.chain.demo.genesis
}

#[tokio::test]
async fn a_bundle_for_a_known_code_proves_its_latest_record() {
    let server = Server::start("proofs-known").await;
    let store = &server.chain.store;
    let bundle = bundle(&server, &cable_lot()).await;
    let proven = bundle.verify(genesis(&server)).expect("the bundle holds");

    let latest = store
        .code_latest(&cable_lot().parse().unwrap())
        .unwrap()
        .unwrap();
    let record = proven.record.as_ref().expect("the lot has records");
    assert_eq!(record.tx_id, latest.id);
    assert_eq!(record.reported_height, latest.location.height);
    assert_eq!(record.record_type, "ship");
    assert_eq!(record.signer, latest.envelope.signer);
    assert_eq!(
        record.enterprise.as_ref(),
        Some(&server.chain.demo.enterprises[0].profile.uscc)
    );
    let before = store
        .log_size_at(latest.location.height - 1)
        .unwrap()
        .unwrap();
    assert_eq!(record.log_index, before + u64::from(latest.location.index));
    assert_eq!(proven.finality.height, COMMITTED_BLOCKS);
    assert_eq!(
        proven.finality.hash,
        store.header(COMMITTED_BLOCKS).unwrap().unwrap().hash()
    );
    assert_eq!(
        (
            proven.finality.signers,
            proven.finality.validators,
            proven.finality.quorum
        ),
        (3, 4, 3)
    );
    let words = proven.to_string();
    assert!(words.contains("is the latest for code"), "{words}");
    assert!(words.contains("finalized by 3 of 4 validators"), "{words}");

    // The JSON form reads back to the same bundle, and Digital Link or element-string forms of
    // the code get the same canonical bundle.
    let json = serde_json::to_string(&bundle).unwrap();
    assert_eq!(serde_json::from_str::<ProofBundle>(&json).unwrap(), bundle);
    let link = format!("https://id.gs1.org/01/{}/10/C2601A", Demo::cable_gtin());
    let (status, by_link) = server.get(&format!("/v1/proofs/{}", encode(&link))).await;
    assert_eq!(status, StatusCode::OK, "{by_link}");
    assert_eq!(by_link["code"], cable_lot());
}

#[tokio::test]
async fn an_unknown_code_is_proven_absent_and_a_malformed_one_refused() {
    let server = Server::start("proofs-absent").await;
    let bundle = bundle(&server, &unknown_lot()).await;
    assert_eq!(bundle.record, None);
    let proven = bundle.verify(genesis(&server)).expect("the absence holds");
    assert_eq!(proven.record, None);
    assert!(
        proven.to_string().contains("has no record as of height 4"),
        "{proven}"
    );

    let malformed = server.get("/v1/proofs/09520123456789").await;
    assert_error(&malformed, StatusCode::BAD_REQUEST, "invalid_code");
    assert_eq!(malformed.1["field"], "code");

    // Served routes are labelled by template in the metrics, never by the raw code.
    let (_, metrics) = server.get("/metrics").await;
    let text = metrics.as_str().expect("metrics are text");
    assert!(text.contains(r#"route="/v1/proofs/{code}""#), "{text}");
    assert!(!text.contains("NEVER-MADE"), "{text}");
}

/// One way to tamper with a bundle, and the rejection it must get.
struct Tamper {
    name: &'static str,
    change: Box<dyn Fn(&mut ProofBundle)>,
    rejected: fn(&BundleError) -> bool,
}

fn tamper(
    name: &'static str,
    change: impl Fn(&mut ProofBundle) + 'static,
    rejected: fn(&BundleError) -> bool,
) -> Tamper {
    Tamper {
        name,
        change: Box::new(change),
        rejected,
    }
}

/// Flips the lowest bit of `hash`.
fn flip(hash: &mut Hash32) {
    hash.0[31] ^= 1;
}

/// A justification holding `certificate` bytes (encoded by hand) and no nullifications.
fn justification_hex(certificate: &[u8]) -> String {
    let mut writer = Writer::new();
    writer.bytes(certificate).u32(0);
    hex::encode(writer.finish())
}

/// The demo block's justification re-signed: `vote` of `header` (demo views equal heights)
/// by `signers`, each an index and the key it signs with.
fn resigned(header: &Header, signers: &[(u16, &KeyPair)], notarize: bool) -> String {
    let block = suyuan_proofs::finality::consensus_block(header, header.height - 1).unwrap();
    let vote = match notarize {
        true => Vote::Notarize(block),
        false => Vote::Finalize(block),
    };
    let certificate = signing::certificate(&header.chain_id, vote, signers).unwrap();
    hex::encode(Justification::new(certificate, Vec::new()).encode())
}

#[tokio::test]
async fn each_tampered_part_of_a_bundle_is_rejected_with_its_reason() {
    let server = Server::start("proofs-tamper").await;
    let demo = server.chain.demo.clone();
    let store = server.chain.store.clone();
    let good = bundle(&server, &cable_lot()).await;
    good.verify(&demo.genesis)
        .expect("the untouched bundle holds");
    let absent = bundle(&server, &unknown_lot()).await;

    // The lot's first record, its commissioning in block 3, with its true inclusion proof in
    // the log of block 4: superseded by the inspection and the shipment of block 4.
    let commissioning = store
        .code_history(
            &cable_lot().parse().unwrap(),
            suyuan_storage::PageRequest::first(1),
        )
        .unwrap()
        .items
        .remove(0);
    let superseded_index = store
        .log_size_at(commissioning.location.height - 1)
        .unwrap()
        .unwrap()
        + u64::from(commissioning.location.index);
    let superseded_inclusion =
        inclusion_proof::<LedgerHash>(&*store, superseded_index, good.header.trees.log_size)
            .unwrap();

    let validators = demo.validators.clone();
    let outsider = KeyPair::insecure_from_label("not a validator");
    let header = good.header.clone();
    let signed_by = move |signers: &[usize], stranger: Option<(u16, &KeyPair)>, notarize| {
        let mut keys: Vec<(u16, &KeyPair)> = signers
            .iter()
            .map(|&i| (i as u16, &validators[i]))
            .collect();
        keys.extend(stranger);
        keys.sort_by_key(|(index, _)| *index);
        resigned(&header, &keys, notarize)
    };
    let too_few = signed_by(&[0, 1], None, false);
    let unknown_signer = signed_by(&[0, 1, 2], Some((4, &outsider)), false);
    let impostor = signed_by(&[0, 1], Some((2, &outsider)), false);
    let notarization = signed_by(&FINALIZERS, None, true);
    // Signers 0, 1, 1: validator 1's genuine signature twice, encoded by hand, since
    // `Certificate::new` refuses to build it. Each signer entry is an index (u16) and a
    // 64-byte signature; the count (u16) precedes them.
    let duplicated = {
        let stored = hex::decode(&good.justification).unwrap();
        let certificate = Justification::decode(&stored).unwrap().certificate.encode();
        let entries = &certificate[certificate.len() - 3 * 66..];
        let mut bytes = certificate[..certificate.len() - 3 * 66 - 2].to_vec();
        bytes.extend_from_slice(&3u16.to_be_bytes());
        bytes.extend_from_slice(&entries[..66]);
        bytes.extend_from_slice(&entries[66..132]);
        bytes.extend_from_slice(&entries[66..132]);
        assert_eq!(bytes.len(), certificate.len());
        justification_hex(&bytes)
    };

    let tampers = vec![
        tamper(
            "format tag",
            |b| b.format = "suyuan-proof-bundle/0".into(),
            |e| matches!(e, BundleError::Format { .. }),
        ),
        tamper(
            "a payload byte of the record",
            |b| {
                let record = b.record.as_mut().unwrap();
                let last = record.envelope.payload.len() - 2;
                record.envelope.payload[last] ^= 0x01;
            },
            |e| matches!(e, BundleError::Envelope(TxError::BadSignature { .. })),
        ),
        tamper(
            "the record's signature",
            |b| {
                let envelope = &mut b.record.as_mut().unwrap().envelope;
                let mut bytes = *envelope.signature.as_bytes();
                bytes[0] ^= 0x01;
                envelope.signature = suyuan_ledger::crypto::Signature::from_bytes(bytes);
            },
            |e| matches!(e, BundleError::Envelope(TxError::BadSignature { .. })),
        ),
        tamper(
            "the stated tx id",
            |b| flip(&mut b.record.as_mut().unwrap().tx_id),
            |e| matches!(e, BundleError::WrongTxId { .. }),
        ),
        tamper(
            "a hash of the inclusion path",
            |b| flip(&mut b.record.as_mut().unwrap().inclusion.path[0]),
            |e| {
                matches!(
                    e,
                    BundleError::Inclusion(LogProofError::RootMismatch { .. })
                )
            },
        ),
        tamper(
            "the inclusion proof's leaf index",
            |b| b.record.as_mut().unwrap().inclusion.leaf_index -= 1,
            |e| matches!(e, BundleError::Inclusion(_)),
        ),
        tamper(
            "the inclusion proof's tree size",
            |b| b.record.as_mut().unwrap().inclusion.tree_size += 1,
            |e| {
                matches!(
                    e,
                    BundleError::WrongLogSize {
                        what: "inclusion",
                        ..
                    }
                )
            },
        ),
        tamper(
            "a sibling of the map proof",
            |b| flip(&mut b.map_proof.siblings[0]),
            |e| matches!(e, BundleError::MapProof(MapProofError::RootMismatch { .. })),
        ),
        tamper(
            "the map leaf's value",
            |b| flip(&mut b.map_proof.leaf.as_mut().unwrap().value),
            |e| matches!(e, BundleError::MapProof(MapProofError::RootMismatch { .. })),
        ),
        tamper(
            "the header's log root",
            |b| flip(&mut b.header.trees.log_root),
            |e| {
                matches!(
                    e,
                    BundleError::Finality(JustificationError::CertificateForOtherBlock {
                        field: "hash",
                        ..
                    })
                )
            },
        ),
        tamper(
            "the header's map root",
            |b| flip(&mut b.header.trees.map_root),
            |e| {
                matches!(
                    e,
                    BundleError::Finality(JustificationError::CertificateForOtherBlock {
                        field: "hash",
                        ..
                    })
                )
            },
        ),
        tamper(
            "the header's log size",
            |b| b.header.trees.log_size += 1,
            |e| {
                matches!(
                    e,
                    BundleError::Finality(JustificationError::CertificateForOtherBlock {
                        field: "hash",
                        ..
                    })
                )
            },
        ),
        tamper(
            "the header's height",
            |b| b.header.height += 1,
            |e| {
                matches!(
                    e,
                    BundleError::Finality(JustificationError::CertificateForOtherBlock {
                        field: "hash",
                        ..
                    })
                )
            },
        ),
        tamper(
            "the header's time",
            |b| b.header.time_ms += 1,
            |e| {
                matches!(
                    e,
                    BundleError::Finality(JustificationError::CertificateForOtherBlock {
                        field: "hash",
                        ..
                    })
                )
            },
        ),
        tamper(
            "a signature in the certificate",
            |b| {
                // The justification ends with the last signer's signature, then the u32
                // count of nullifications.
                let mut bytes = hex::decode(&b.justification).unwrap();
                let at = bytes.len() - 5;
                bytes[at] ^= 0x01;
                b.justification = hex::encode(bytes);
            },
            |e| {
                matches!(
                    e,
                    BundleError::Finality(JustificationError::BadCertificateSignature {
                        signer: 2,
                        ..
                    })
                )
            },
        ),
        tamper(
            "a certificate signer not in genesis",
            move |b| b.justification = unknown_signer.clone(),
            |e| {
                matches!(
                    e,
                    BundleError::Finality(JustificationError::SignerNotInGenesis {
                        signer: 4,
                        validators: 4
                    })
                )
            },
        ),
        tamper(
            "an outsider signing as a genesis validator",
            move |b| b.justification = impostor.clone(),
            |e| {
                matches!(
                    e,
                    BundleError::Finality(JustificationError::BadCertificateSignature {
                        signer: 2,
                        ..
                    })
                )
            },
        ),
        tamper(
            "a duplicated signer",
            move |b| b.justification = duplicated.clone(),
            |e| matches!(e, BundleError::Justification(_)),
        ),
        tamper(
            "too few signers",
            move |b| b.justification = too_few.clone(),
            |e| {
                matches!(
                    e,
                    BundleError::Finality(JustificationError::TooFewSigners {
                        signers: 2,
                        quorum: 3,
                        validators: 4
                    })
                )
            },
        ),
        tamper(
            "a notarization instead of a finalization",
            move |b| b.justification = notarization.clone(),
            |e| {
                matches!(
                    e,
                    BundleError::Finality(JustificationError::NotFinalization {
                        found: "notarization"
                    })
                )
            },
        ),
        tamper(
            "a justification that is not hex",
            |b| b.justification.push('z'),
            |e| matches!(e, BundleError::JustificationHex(_)),
        ),
        tamper(
            "an older, superseded record presented as the latest",
            move |b| {
                let record = b.record.as_mut().unwrap();
                record.tx_id = commissioning.id;
                record.height = commissioning.location.height;
                record.index = commissioning.location.index;
                record.envelope = commissioning.envelope.clone();
                record.inclusion = superseded_inclusion.clone();
            },
            |e| matches!(e, BundleError::NotLatest { .. }),
        ),
        tamper(
            "the record withheld from a known code",
            |b| b.record = None,
            |e| matches!(e, BundleError::RecordWithheld { .. }),
        ),
        tamper(
            "another code named",
            |b| b.code = unknown_lot(),
            |e| matches!(e, BundleError::WrongMapKey { .. }),
        ),
        tamper(
            "the code in a non-canonical form",
            |b| b.code = format!("(01){}(10)C2601A", Demo::cable_gtin()),
            |e| {
                matches!(
                    e,
                    BundleError::Code { .. } | BundleError::CodeNotCanonical { .. }
                )
            },
        ),
        tamper(
            "another chain id",
            |b| b.chain_id = "another-chain".into(),
            |e| matches!(e, BundleError::WrongChain { what: "bundle", .. }),
        ),
        tamper(
            "another genesis hash",
            |b| flip(&mut b.genesis_hash),
            |e| matches!(e, BundleError::WrongGenesis { .. }),
        ),
    ];
    for Tamper {
        name,
        change,
        rejected,
    } in &tampers
    {
        let mut bundle = good.clone();
        change(&mut bundle);
        assert_ne!(bundle, good, "{name}: the change changes the bundle");
        // Through JSON, as a verifier reads it.
        let bundle: ProofBundle =
            serde_json::from_str(&serde_json::to_string(&bundle).unwrap()).unwrap();
        match bundle.verify(&demo.genesis) {
            Ok(proven) => panic!("{name}: accepted as {proven}"),
            Err(error) => {
                assert!(
                    rejected(&error),
                    "{name}: rejected for another reason: {error}"
                );
                assert!(!error.to_string().is_empty());
            }
        }
    }

    // An absence bundle does not hold once the map proof is swapped for a known code's, nor
    // when it claims a record the map does not hold.
    let mut swapped = absent.clone();
    swapped.map_proof = good.map_proof.clone();
    assert!(matches!(
        swapped.verify(&demo.genesis),
        Err(BundleError::MapProof(MapProofError::LeafOffPath { .. }))
    ));
    let mut claimed = absent.clone();
    claimed.record = good.record.clone();
    assert!(matches!(
        claimed.verify(&demo.genesis),
        Err(BundleError::NoRecordInMap)
    ));

    // Another consortium's genesis (other validators, same chain name) refuses the bundle,
    // and so does a genesis of another chain name.
    let mut other = Demo::new(4, 9100).genesis;
    other.validators.rotate_left(1);
    assert!(matches!(
        good.verify(&other),
        Err(BundleError::WrongGenesis { .. })
    ));
    let mut renamed = demo.genesis.clone();
    renamed.chain_id = "another-chain".into();
    assert!(matches!(
        good.verify(&renamed),
        Err(BundleError::WrongChain { .. })
    ));
}

#[tokio::test]
async fn a_client_that_kept_an_older_head_checks_the_newer_one_extends_it() {
    let server = Server::start("proofs-consistency").await;
    let genesis = genesis(&server).clone();
    let old: Proven = bundle(&server, &cable_lot())
        .await
        .verify(&genesis)
        .unwrap();
    let old_bundle = bundle(&server, &cable_lot()).await;
    let old_header = old_bundle.header.clone();
    let same_height = consistency(&server, COMMITTED_BLOCKS).await;

    let story = server.chain.story.clone();
    server.chain.commit(
        COMMITTED_BLOCKS + 1,
        story[COMMITTED_BLOCKS as usize].clone(),
    );
    let proof = consistency(&server, COMMITTED_BLOCKS).await;
    let extended = proof
        .verify(&genesis, &old_header)
        .expect("the log extends");
    assert_eq!(extended.old_height, old.finality.height);
    assert_eq!(extended.finality.height, COMMITTED_BLOCKS + 1);
    assert_eq!(extended.old_log_size, old_header.trees.log_size);
    assert!(extended.new_log_size > extended.old_log_size);
    assert!(extended.to_string().contains("extends the log at height 4"));
    // At equal heights the headers must be one.
    same_height.verify(&genesis, &old_header).unwrap();

    // A proof hash changed, or sizes that are not the headers', do not hold.
    let mut bent = proof.clone();
    flip(&mut bent.proof.as_mut().unwrap().path[0]);
    assert!(matches!(
        bent.verify(&genesis, &old_header),
        Err(BundleError::Consistency(_))
    ));
    let mut shrunk = proof.clone();
    shrunk.proof.as_mut().unwrap().new_size -= 1;
    assert!(matches!(
        shrunk.verify(&genesis, &old_header),
        Err(BundleError::WrongLogSize { .. })
    ));
    let mut elsewhere = proof.clone();
    elsewhere.from_height = 3;
    assert!(matches!(
        elsewhere.verify(&genesis, &old_header),
        Err(BundleError::WrongStart { from: 3, old: 4 })
    ));
    let mut missing = proof.clone();
    missing.proof = None;
    assert!(matches!(
        missing.verify(&genesis, &old_header),
        Err(BundleError::ConsistencyShape(_))
    ));

    // A forked history: block 4 finalized (by a quorum that equivocated) over the same
    // records in another order. Its log has the same size and another root, so the served
    // log does not extend it; at equal heights the two headers are a fork.
    let mut trees = MemTrees::new();
    for block in &story[..3] {
        trees.push(&genesis.binding(), block);
    }
    let mut reordered = story[3].clone();
    reordered.reverse();
    let forked = Header {
        trees: trees.push(&genesis.binding(), &reordered),
        ..old_header.clone()
    };
    assert_eq!(forked.trees.log_size, old_header.trees.log_size);
    assert_ne!(forked.trees.log_root, old_header.trees.log_root);
    let forked_justification = signing::finalization(
        &forked,
        forked.height - 1,
        &server.chain.demo.validators,
        &FINALIZERS,
    );
    suyuan_proofs::bundle::check_finalized(
        &genesis,
        &forked,
        &hex::encode(forked_justification.encode()),
    )
    .expect("the forked header carries a valid finalization");
    assert!(matches!(
        proof.verify(&genesis, &forked),
        Err(BundleError::Consistency(
            LogProofError::OldRootMismatch { .. }
        ))
    ));
    assert!(matches!(
        same_height.verify(&genesis, &forked),
        Err(BundleError::Fork { height: 4, .. })
    ));
    // A newer header below the one kept: the log would have shrunk.
    let newest = proof.header.clone();
    assert!(matches!(
        same_height.verify(&genesis, &newest),
        Err(BundleError::NewerIsOlder { old: 5, new: 4 })
    ));

    // Bad requests.
    assert_error(
        &server.get("/v1/proofs/consistency?from=0").await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
    assert_error(
        &server.get("/v1/proofs/consistency").await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
    let above = server.get("/v1/proofs/consistency?from=99").await;
    assert_error(&above, StatusCode::NOT_FOUND, "unknown_block");
    assert_eq!(above.1["field"], "from");
}
