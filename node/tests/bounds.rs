//! The bounds that must agree do agree at their extremes: the largest justification consensus
//! may form, for the largest validator set a genesis may name and a block that skipped many
//! views, is accepted by the one finality rule, stored by RocksDB, carried by block sync and
//! served raw by the API.

use suyuan_api::raw::{RawBlock, decode_blocks, encode_blocks};
use suyuan_consensus::{View, Vote};
use suyuan_ledger::block::{Block, Body, leader};
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::Demo;
use suyuan_ledger::limits::MAX_GENESIS_MEMBERS;
use suyuan_ledger::state::WriteSet;
use suyuan_ledger::trees::genesis_heads;
use suyuan_node::frames::{MAX_SYNCED_BLOCK_BYTES, SyncedBlock};
use suyuan_proofs::finality::{Consortium, Required, consensus_block};
use suyuan_proofs::justification::{Justification, MAX_JUSTIFICATION_BYTES, MAX_NULLIFICATIONS};
use suyuan_proofs::signing::certificate;
use suyuan_storage::{Store, TreeWrites};

mod common;
use common::temp_dir;

#[test]
fn n256_block_after_100_skipped_views_with_the_largest_justification_commits() {
    // The largest validator set a genesis may name (consensus allows more; genesis is the
    // tighter bound).
    let demo = Demo::new(MAX_GENESIS_MEMBERS, 7100);
    let genesis = &demo.genesis;
    let consortium = Consortium::from_genesis(genesis).unwrap();
    let quorum = consortium.validators.quorum();
    let view = 101;
    let block = Block::new(
        &genesis.chain_id,
        1,
        view,
        genesis.hash(),
        genesis.genesis_time_ms + 1,
        *leader(genesis, view),
        Body {
            transactions: Vec::new(),
        },
        genesis_heads(),
    )
    .unwrap();
    // Every signer of every certificate: a quorum is the most a certificate carries.
    let signers: Vec<(u16, &KeyPair)> = demo.validators[..quorum]
        .iter()
        .enumerate()
        .map(|(index, key)| (u16::try_from(index).unwrap(), key))
        .collect();
    let finalization = certificate(
        &genesis.chain_id,
        Vote::Finalize(consensus_block(&block.header, 0).unwrap()),
        &signers,
    )
    .unwrap();
    // Views 1 to 100 were skipped; a justification keeps the first and last 32.
    let nullifications = (1..view)
        .map(|skipped| {
            certificate(&genesis.chain_id, Vote::Nullify(View(skipped)), &signers).unwrap()
        })
        .collect();
    let justification = Justification::new(finalization, nullifications);
    assert_eq!(justification.nullifications.len(), MAX_NULLIFICATIONS);
    let bytes = justification.encode();
    assert!(
        bytes.len() <= MAX_JUSTIFICATION_BYTES,
        "{} bytes > {MAX_JUSTIFICATION_BYTES}",
        bytes.len()
    );
    // Far more than a certificate alone: the bound must cover the nullifications too.
    assert!(
        bytes.len() > 64 * justification.certificate.encode().len(),
        "{} bytes",
        bytes.len()
    );

    let justified = consortium
        .check(
            &block.header,
            Some(0),
            &justification,
            Required::Finalization,
        )
        .unwrap();
    assert!(justified.finalized);
    assert_eq!(justified.signers, quorum);
    assert_eq!(
        justified.missing_nullifications,
        (view - 1) - MAX_NULLIFICATIONS as u64
    );

    let synced = SyncedBlock::encode(&block, &bytes);
    assert!(synced.len() <= MAX_SYNCED_BLOCK_BYTES);
    let decoded = SyncedBlock::decode(&synced).unwrap();
    assert_eq!(decoded.justification, justification);
    assert_eq!(decoded.block, block);

    let dir = temp_dir("bounds");
    let store = Store::open(&dir, genesis).unwrap();
    store
        .commit_block(
            &block,
            &[],
            &bytes,
            &WriteSet::default(),
            &TreeWrites::none(),
        )
        .unwrap();
    assert_eq!(store.head().height, 1);
    assert_eq!(store.justification(1).unwrap(), Some(bytes.clone()));
    let stored = store.block(1).unwrap().unwrap();
    let raw = RawBlock::of(&stored, store.justification(1).unwrap().unwrap());
    let served = decode_blocks(&encode_blocks(&[raw])).unwrap();
    assert_eq!(served[0].justification, bytes);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
