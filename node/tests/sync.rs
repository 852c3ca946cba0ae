//! Block sync against a lying peer: forged or inconsistent justifications fed to
//! [`Driver::commit_run`] are refused and change nothing; the honest run still commits after.
//! Catch-up over runs of notarized blocks longer than a response, or than it can hold, and a
//! peer that asks for blocks in a loop, with real nodes over real libp2p and RocksDB.
//!
//! Every certificate here is built from real ed25519 votes of the demo validators, so a
//! refusal is the check under test and never a malformed fixture.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signature, SigningKey};
use suyuan_consensus::{Certificate, ChainId, Digest, SignedVote, ValidatorIndex, View, Vote};
use suyuan_ledger::block::{Block, Body, Header, leader};
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::Demo;
use suyuan_ledger::exec::{BlockContext, execute_block};
use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::state::MemState;
use suyuan_ledger::trees::MemTrees;
use suyuan_ledger::tx::Envelope;
use suyuan_storage::Store;
use tokio::sync::mpsc;

use suyuan_node::admission::Admission;
use suyuan_node::chain::{Chain, Preverified};
use suyuan_node::config::{BlockSection, ConsensusSection};
use suyuan_node::driver::Driver;
use suyuan_node::frames::SyncedBlock;
use suyuan_node::mempool::{Mempool, MempoolLimits};
use suyuan_node::network::{
    MAX_SYNC_BLOB_BYTES, MAX_SYNC_BLOCKS, MAX_SYNC_REQUESTS_IN_FLIGHT, Network, NetworkConfig,
    NetworkEvent,
};
use suyuan_node::node_api::Shared;
use suyuan_node::service::RunningNode;
use suyuan_node::sync::{
    BlockSync, Outcome, SYNC_BATCH, SYNC_SERVE_BURST_BYTES, SYNC_SERVE_BYTES_PER_SECOND, SyncError,
    SyncLimits, Tip,
};
use suyuan_proofs::finality::{self, Consortium};
use suyuan_proofs::justification::Justification;
use suyuan_proofs::signing;

mod common;
use common::{commissions, config, temp_dir};

const DAY_MS: u64 = 86_400_000;

/// A named edit of a header field.
type HeaderChange = fn(&mut Header);

/// The demo consortium of four validators, to build blocks and sign their certificates with
/// the genesis keys.
struct Signers {
    demo: Demo,
    genesis: Arc<Genesis>,
}

impl Signers {
    /// The demo consortium whose validators' genesis addresses are loopback ports from `p2p`
    /// (nobody listens there unless a test starts a node).
    fn new(p2p: u16) -> Signers {
        let demo = Demo::new(4, p2p);
        let genesis = Arc::new(demo.genesis.clone());
        Signers { demo, genesis }
    }

    fn chain_id(&self) -> ChainId {
        ChainId::from_name(&self.genesis.chain_id)
    }

    fn signing_key(&self, validator: usize) -> SigningKey {
        SigningKey::from_bytes(&self.demo.validators[validator].seed())
    }

    /// A block of `view` on `parent` (genesis when `None`), proposed by the view's leader, its
    /// tree roots grown from `trees` (the parent's), which it then grows.
    fn block(
        &self,
        parent: Option<&Header>,
        trees: &mut MemTrees,
        view: u64,
        time_ms: u64,
        transactions: Vec<Envelope>,
    ) -> Block {
        let (height, parent_hash) = match parent {
            Some(header) => (header.height + 1, header.hash()),
            None => (1, self.genesis.hash()),
        };
        let heads = trees.push(&self.genesis.binding(), &transactions);
        Block::new(
            &self.genesis.chain_id,
            height,
            view,
            parent_hash,
            time_ms,
            *leader(&self.genesis, view),
            Body { transactions },
            heads,
        )
        .unwrap()
    }

    /// What consensus signs for `block`, whose parent was proposed in `parent_view`.
    fn consensus_block(block: &Block, parent_view: u64) -> suyuan_consensus::Block {
        finality::consensus_block(&block.header, parent_view).unwrap()
    }

    /// `vote` signed by each of `validators` with their genesis keys.
    fn signatures(&self, vote: Vote, validators: &[usize]) -> Vec<(ValidatorIndex, Signature)> {
        validators
            .iter()
            .map(|&index| {
                let signer = ValidatorIndex(index as u16);
                let signed =
                    SignedVote::sign(self.chain_id(), vote, signer, &self.signing_key(index));
                (signer, signed.signature)
            })
            .collect()
    }

    /// A certificate of `vote` by `validators`, every signature genuine.
    fn certificate(&self, vote: Vote, validators: &[usize]) -> Certificate {
        let keys: Vec<(u16, &KeyPair)> = validators
            .iter()
            .map(|&index| (index as u16, &self.demo.validators[index]))
            .collect();
        signing::certificate(&self.genesis.chain_id, vote, &keys).unwrap()
    }

    /// `block`, whose parent was proposed in `parent_view` and which skipped no view, with a
    /// genuine notarization, or finalization if `finalized`, by validators 0 to 2.
    fn justified(&self, block: Block, parent_view: u64, finalized: bool) -> SyncedBlock {
        let signed = Self::consensus_block(&block, parent_view);
        let vote = if finalized {
            Vote::Finalize(signed)
        } else {
            Vote::Notarize(signed)
        };
        SyncedBlock {
            justification: Justification::new(self.certificate(vote, &[0, 1, 2]), Vec::new()),
            block,
        }
    }

    /// A chain on genesis with one block per body, block `h` proposed in view `h` a day after
    /// the one before (as the demo story dates its records); finalized where `finalized(h)`,
    /// notarized elsewhere.
    fn chain(
        &self,
        bodies: Vec<Vec<Envelope>>,
        finalized: impl Fn(u64) -> bool,
    ) -> Vec<SyncedBlock> {
        let trees = &mut MemTrees::new();
        let start = self.genesis.genesis_time_ms;
        let mut chain: Vec<SyncedBlock> = Vec::new();
        for (index, body) in bodies.into_iter().enumerate() {
            let height = index as u64 + 1;
            let parent = chain.last().map(|synced| &synced.block.header);
            let parent_view = parent.map_or(0, |header| header.view);
            let block = self.block(parent, trees, height, start + height * DAY_MS, body);
            chain.push(self.justified(block, parent_view, finalized(height)));
        }
        chain
    }

    /// A chain of `length` empty blocks, finalized where `finalized(h)`.
    fn empty_chain(&self, length: u64, finalized: impl Fn(u64) -> bool) -> Vec<SyncedBlock> {
        self.chain(vec![Vec::new(); length as usize], finalized)
    }
}

/// Commits `chain` into a new store at `path`, as a validator that finalized it would have.
fn store_chain(path: &Path, genesis: &Arc<Genesis>, chain: &[SyncedBlock]) {
    let store = Arc::new(Store::open(path, genesis).unwrap());
    let mut pending = Chain::new(Arc::clone(&store), Arc::clone(genesis)).unwrap();
    for synced in chain {
        let hash = synced.block.hash();
        pending
            .adopt_synced(synced.block.clone(), Preverified::default())
            .unwrap();
        pending
            .commit(&hash, &synced.justification.encode())
            .unwrap();
    }
    assert_eq!(store.head().height, chain.len() as u64);
}

/// A validator at genesis that has not synced anything, and the demo consortium around it.
struct Lagging {
    signers: Signers,
    store: Arc<Store>,
    driver: Driver,
    dir: PathBuf,
    _events: mpsc::Receiver<NetworkEvent>,
    _gossip: mpsc::Receiver<Vec<Envelope>>,
}

impl std::ops::Deref for Lagging {
    type Target = Signers;

    fn deref(&self) -> &Signers {
        &self.signers
    }
}

impl Lagging {
    /// Validator 3 of a four-validator demo chain, on a fresh store. Its network listens on
    /// an ephemeral loopback port; the other validators' genesis addresses (ports 1 to 4)
    /// have nobody behind them, so no peer ever connects.
    fn start(name: &str) -> Lagging {
        let dir = temp_dir(&format!("sync-{name}"));
        let signers = Signers::new(1);
        let genesis = Arc::clone(&signers.genesis);
        let store = Arc::new(Store::open(dir.join("db"), &genesis).unwrap());
        let key = signers.demo.validators[3].clone();
        let network_config = NetworkConfig {
            listen_address: Some("/ip4/127.0.0.1/tcp/0".parse().unwrap()),
            ..NetworkConfig::default()
        };
        let (network, events) = Network::start(network_config, &genesis, &key).unwrap();
        let (gossip_tx, gossip_rx) = mpsc::channel(16);
        let admission = Arc::new(Admission::new(
            Arc::clone(&genesis),
            Arc::clone(&store),
            Mempool::new(MempoolLimits::default()),
            gossip_tx,
        ));
        let chain = Chain::new(Arc::clone(&store), Arc::clone(&genesis)).unwrap();
        let driver = Driver::new(
            Arc::clone(&genesis),
            key,
            chain,
            network,
            admission,
            Arc::new(Shared::new(genesis.validators.len())),
            ConsensusSection::default(),
            BlockSection::default(),
        )
        .unwrap();
        Lagging {
            signers,
            store,
            driver,
            dir,
            _events: events,
            _gossip: gossip_rx,
        }
    }

    /// The honest run from genesis: block 1 (view 1, the story's enrolments) and block 2
    /// (view 2, the story's second step) notarized, block 3 (view 4, empty) finalized with
    /// the nullification of the view 3 it skipped.
    fn honest_run(&self) -> Vec<SyncedBlock> {
        let story = self.demo.story();
        let start = self.genesis.genesis_time_ms;
        let trees = &mut MemTrees::new();
        let b1 = self.block(None, trees, 1, start + DAY_MS, story[0].clone());
        let b2 = self.block(
            Some(&b1.header),
            trees,
            2,
            start + 2 * DAY_MS,
            story[1].clone(),
        );
        let b3 = self.block(Some(&b2.header), trees, 4, start + 3 * DAY_MS, Vec::new());
        let quorum = [0, 1, 2];
        vec![
            SyncedBlock {
                justification: Justification::new(
                    self.certificate(Vote::Notarize(Signers::consensus_block(&b1, 0)), &quorum),
                    Vec::new(),
                ),
                block: b1,
            },
            SyncedBlock {
                justification: Justification::new(
                    self.certificate(Vote::Notarize(Signers::consensus_block(&b2, 1)), &[1, 2, 3]),
                    Vec::new(),
                ),
                block: b2,
            },
            SyncedBlock {
                justification: Justification::new(
                    self.certificate(Vote::Finalize(Signers::consensus_block(&b3, 2)), &quorum),
                    vec![self.certificate(Vote::Nullify(View(3)), &[0, 2, 3])],
                ),
                block: b3,
            },
        ]
    }

    /// The state the honest run leaves: the story's first two steps at heights 1 and 2.
    fn honest_state_digest(&self) -> Hash32 {
        let mut state = MemState::new();
        for synced in self.honest_run() {
            let txs: Vec<_> = synced
                .block
                .body
                .transactions
                .into_iter()
                .map(|envelope| envelope.verify(&self.genesis.binding()).unwrap())
                .collect();
            let context = BlockContext {
                genesis: &self.genesis,
                height: synced.block.header.height,
                time_ms: synced.block.header.time_ms,
            };
            let writes = execute_block(&state, context, &txs).unwrap();
            state.apply(writes);
        }
        state.digest()
    }

    /// Offers `run` to block sync and expects a refusal naming `why`, with nothing stored.
    fn refuses(&mut self, case: &str, run: Vec<SyncedBlock>, why: &str) {
        let head = self.store.head();
        let state = self.store.state_digest().unwrap();
        let heights: Vec<u64> = run.iter().map(|s| s.block.header.height).collect();
        let error = match self.driver.commit_run(run) {
            Ok(count) => panic!("{case}: a forged run was committed ({count} blocks)"),
            Err(error) => error.to_string(),
        };
        assert!(
            error.contains(why),
            "{case}: refused for another reason: {error}"
        );
        assert_eq!(self.store.head(), head, "{case}: the head moved");
        assert_eq!(
            self.store.state_digest().unwrap(),
            state,
            "{case}: state was written"
        );
        for height in heights {
            if height > head.height {
                assert!(
                    self.store.block(height).unwrap().is_none(),
                    "{case}: block {height} was stored"
                );
            }
        }
        assert_eq!(
            self.driver.chain().pending_count(),
            0,
            "{case}: a refused block is kept pending"
        );
    }

    /// Commits the honest run and checks the node caught up to it.
    fn catches_up(&mut self) {
        let run = self.honest_run();
        let last = run.last().unwrap().block.hash();
        assert!(suyuan_node::sync::ends_run(run.last().unwrap()));
        assert_eq!(self.driver.commit_run(run).unwrap(), 3);
        let head = self.store.head();
        assert_eq!((head.height, head.hash), (3, last));
        assert_eq!(
            self.store.state_digest().unwrap(),
            self.honest_state_digest()
        );
        // What is stored beside each block is the justification that was checked.
        for synced in self.honest_run() {
            let stored = self
                .store
                .justification(synced.block.header.height)
                .unwrap()
                .unwrap();
            assert_eq!(
                Justification::decode(&stored).unwrap(),
                synced.justification
            );
        }
    }
}

impl Drop for Lagging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The certificate of the run's last block replaced by `certificate`.
fn with_last_certificate(mut run: Vec<SyncedBlock>, certificate: Certificate) -> Vec<SyncedBlock> {
    run.last_mut().unwrap().justification.certificate = certificate;
    run
}

/// The last block's finalize vote, as the honest run signs it.
fn last_vote(run: &[SyncedBlock]) -> Vote {
    *run.last().unwrap().justification.certificate.vote()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_refuses_certificates_without_a_genesis_quorum_then_catches_up() {
    let mut node = Lagging::start("quorum");
    let vote = last_vote(&node.honest_run());

    // Two genuine signatures of four validators: below the quorum of three.
    let few = node.certificate(vote, &[0, 1]);
    node.refuses(
        "too few signers",
        with_last_certificate(node.honest_run(), few),
        "the certificate has 2 signers; 3 of the 4 validators are needed",
    );

    // Three signatures under the genesis indices, by keys that are not the genesis keys.
    let strangers: Vec<(ValidatorIndex, Signature)> = (0..3u8)
        .map(|index| {
            let stranger = SigningKey::from_bytes(&[index + 100; 32]);
            let signer = ValidatorIndex(u16::from(index));
            let signed = SignedVote::sign(node.chain_id(), vote, signer, &stranger);
            (signer, signed.signature)
        })
        .collect();
    let forged = Certificate::new(node.chain_id(), vote, strangers).unwrap();
    node.refuses(
        "keys not in genesis",
        with_last_certificate(node.honest_run(), forged),
        "the signature of validator #0",
    );

    // A signer index genesis does not have, beside three genuine signatures, and a fifth
    // signer on a four-validator chain.
    let outsider = SigningKey::from_bytes(&[7; 32]);
    let chain = node.chain_id();
    let outsider_signature = |index: u16| {
        let signer = ValidatorIndex(index);
        (
            signer,
            SignedVote::sign(chain, vote, signer, &outsider).signature,
        )
    };
    let mut signers = node.signatures(vote, &[0, 1, 2]);
    signers.push(outsider_signature(4));
    let forged = Certificate::new(node.chain_id(), vote, signers).unwrap();
    node.refuses(
        "signer index outside genesis",
        with_last_certificate(node.honest_run(), forged),
        "certificate signer #4 is not a genesis validator",
    );
    let mut signers = node.signatures(vote, &[0, 1, 2, 3]);
    signers.push(outsider_signature(4));
    let forged = Certificate::new(node.chain_id(), vote, signers).unwrap();
    node.refuses(
        "more signers than validators",
        with_last_certificate(node.honest_run(), forged),
        "impossible signer count 5",
    );

    // A quorum of the genesis keys, but for another chain.
    let other_chain = ChainId::from_name("another-chain");
    let signers = [0, 1, 2]
        .map(|index| {
            let signer = ValidatorIndex(index as u16);
            let key = node.signing_key(index);
            (
                signer,
                SignedVote::sign(other_chain, vote, signer, &key).signature,
            )
        })
        .to_vec();
    let forged = Certificate::new(other_chain, vote, signers).unwrap();
    node.refuses(
        "another chain",
        with_last_certificate(node.honest_run(), forged),
        "another chain",
    );

    node.catches_up();
}

/// A duplicated signer cannot even be carried: the certificate's constructor and every decoder
/// of a synced block refuse it, so it never reaches the justification check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_refuses_a_certificate_with_a_duplicated_signer() {
    let node = Lagging::start("duplicate");
    let run = node.honest_run();
    let vote = last_vote(&run);
    let mut signers = node.signatures(vote, &[0, 1, 2]);
    signers[2] = signers[1];
    assert!(Certificate::new(node.chain_id(), vote, signers).is_err());

    // The same, forged on the wire: the last signer entry (a big-endian u16 index and a
    // 64-byte signature) overwritten with the one before it.
    let last = run.last().unwrap();
    let honest = last.justification.certificate.encode();
    let entry = 2 + 64;
    let mut duplicated = honest.clone();
    let end = duplicated.len();
    duplicated.copy_within(end - 2 * entry..end - entry, end - entry);
    assert!(Certificate::decode(&duplicated).is_err());
    let justification = last.justification.encode();
    let at = justification
        .windows(honest.len())
        .position(|window| window == honest.as_slice())
        .expect("a justification holds its certificate's encoding");
    let mut forged = justification.clone();
    forged[at..at + honest.len()].copy_from_slice(&duplicated);
    let blob = SyncedBlock::encode(&last.block, &forged);
    assert!(SyncedBlock::decode(&blob).is_err());
    // The untouched blob decodes, so the refusal is the duplicate's.
    let blob = SyncedBlock::encode(&last.block, &justification);
    assert_eq!(&SyncedBlock::decode(&blob).unwrap(), last);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_refuses_signatures_over_another_block_or_view_then_catches_up() {
    let mut node = Lagging::start("moved-signatures");
    let run = node.honest_run();
    let Vote::Finalize(honest) = last_vote(&run) else {
        panic!("the honest run ends in a finalization");
    };

    // Signatures over another digest, carried by a certificate naming this block.
    let other = suyuan_consensus::Block::new(
        honest.view(),
        honest.height(),
        honest.parent_view(),
        honest.parent(),
        Digest([0xAB; 32]),
    )
    .unwrap();
    let signers = node.signatures(Vote::Finalize(other), &[0, 1, 2]);
    let forged = Certificate::new(node.chain_id(), Vote::Finalize(honest), signers).unwrap();
    node.refuses(
        "signatures over another digest",
        with_last_certificate(node.honest_run(), forged),
        "on the certificate does not verify",
    );

    // Signatures over the same digest in another view.
    let other_view = suyuan_consensus::Block::new(
        View(honest.view().0 + 1),
        honest.height(),
        honest.parent_view(),
        honest.parent(),
        honest.digest(),
    )
    .unwrap();
    let signers = node.signatures(Vote::Finalize(other_view), &[0, 1, 2]);
    let forged = Certificate::new(node.chain_id(), Vote::Finalize(honest), signers).unwrap();
    node.refuses(
        "signatures over another view",
        with_last_certificate(node.honest_run(), forged),
        "on the certificate does not verify",
    );

    // Notarize signatures relabelled as a finalization: the kind is signed too.
    let signers = node.signatures(Vote::Notarize(honest), &[0, 1, 2]);
    let forged = Certificate::new(node.chain_id(), Vote::Finalize(honest), signers).unwrap();
    node.refuses(
        "notarize signatures as a finalization",
        with_last_certificate(node.honest_run(), forged),
        "on the certificate does not verify",
    );

    // A genuine finalization, but of another block.
    let genuine = node.certificate(Vote::Finalize(other), &[0, 1, 2]);
    node.refuses(
        "a finalization of another block",
        with_last_certificate(node.honest_run(), genuine),
        "the header is not the block that was certified",
    );

    // A genuine nullification in the certificate's place.
    let nullification = node.certificate(Vote::Nullify(honest.view()), &[0, 1, 2]);
    node.refuses(
        "a nullification as the block's certificate",
        with_last_certificate(node.honest_run(), nullification),
        "not a notarization or finalization of the block",
    );

    // A genuine notarization of block 1 attached to block 2 of the run.
    let mut run = node.honest_run();
    run[1].justification.certificate = run[0].justification.certificate.clone();
    node.refuses(
        "block 1's notarization on block 2",
        run,
        "synced block 2's justification: the certificate notarizes a block whose hash",
    );

    node.catches_up();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_refuses_a_certified_block_whose_contents_changed_then_catches_up() {
    let mut node = Lagging::start("changed-contents");

    // Header fields change the hash the certificates sign; those that commit to the body no
    // longer match it, which is found first.
    let certificate = "the header is not the block that was certified";
    let body = "body does not match its header";
    let changes: [(&str, HeaderChange, &str); 4] = [
        ("time", |header| header.time_ms += 1, certificate),
        ("view", |header| header.view += 1, certificate),
        (
            "body hash",
            |header| header.body_hash = Hash32([7; 32]),
            body,
        ),
        ("transaction count", |header| header.tx_count += 1, body),
    ];
    for (field, change, why) in changes {
        for index in 0..3 {
            let mut run = node.honest_run();
            change(&mut run[index].block.header);
            node.refuses(
                &format!("block {} with another {field}", index + 1),
                run,
                why,
            );
        }
    }

    // The body is not in the hash, only the header's commitment to it: a changed body passes
    // the certificate check and is refused, before anything is stored, as not the header's.
    let story = node.demo.story();
    let mut run = node.honest_run();
    run.truncate(1);
    let b1 = run[0].block.clone();
    run[0].justification.certificate =
        node.certificate(Vote::Finalize(Signers::consensus_block(&b1, 0)), &[0, 1, 2]);
    let mut dropped = run.clone();
    dropped[0].block.body.transactions.pop();
    node.refuses("block 1 with a transaction dropped", dropped, body);
    let mut swapped = run.clone();
    swapped[0].block.body.transactions[0] = story[1][0].clone();
    node.refuses("block 1 with a transaction swapped", swapped, body);

    node.catches_up();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_refuses_nullifications_of_views_the_block_did_not_skip_then_catches_up() {
    let mut node = Lagging::start("nullifications");
    let quorum = [0, 1, 2];

    // Block 3 (view 4) follows block 2 (view 2): only view 3 was skipped.
    for view in [1, 2, 4, 5] {
        let mut run = node.honest_run();
        run[2]
            .justification
            .nullifications
            .push(node.certificate(Vote::Nullify(View(view)), &quorum));
        node.refuses(
            &format!("a nullification of view {view}"),
            run,
            &format!("a nullification of view {view} is carried as the nullification of a view the block skipped"),
        );
    }

    // Block 2 (view 2) follows block 1 (view 1): it skipped nothing.
    let mut run = node.honest_run();
    run[1]
        .justification
        .nullifications
        .push(node.certificate(Vote::Nullify(View(1)), &quorum));
    node.refuses(
        "a nullification on a block that skipped nothing",
        run,
        "synced block 2's justification: a nullification of view 1 is carried as",
    );

    // A notarization in a nullification's place, of the skipped view.
    let mut run = node.honest_run();
    let b3 = run[2].block.clone();
    let skipped_view = {
        let mut block = b3.clone();
        block.header.view = 3;
        block.header.proposer = *leader(&node.genesis, 3);
        Signers::consensus_block(&block, 2)
    };
    run[2].justification.nullifications[0] =
        node.certificate(Vote::Notarize(skipped_view), &quorum);
    node.refuses(
        "a notarization as a nullification",
        run,
        "a notarization of view 3 is carried as the nullification",
    );

    // The skipped view's nullification without a quorum, or with forged signatures.
    let mut run = node.honest_run();
    run[2].justification.nullifications[0] = node.certificate(Vote::Nullify(View(3)), &[0, 1]);
    node.refuses(
        "a nullification with too few signers",
        run,
        "the nullification of view 3: the certificate has 2 signers",
    );
    let mut run = node.honest_run();
    let signers = node.signatures(Vote::Nullify(View(5)), &quorum);
    run[2].justification.nullifications[0] =
        Certificate::new(node.chain_id(), Vote::Nullify(View(3)), signers).unwrap();
    node.refuses(
        "a nullification signed for another view",
        run,
        "the nullification of view 3: the signature of validator",
    );

    node.catches_up();
}

/// Nullifications come in ascending view order, each view once, as consensus delivers them; a
/// peer that repeats one is refused. (A justification that lacks some is accepted: consensus
/// itself delivers only the nullifications it holds, see `check_justification`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_refuses_repeated_nullifications_then_catches_up() {
    let mut node = Lagging::start("repeated-nullification");
    let mut run = node.honest_run();
    let again = run[2].justification.nullifications[0].clone();
    run[2].justification.nullifications.push(again);
    node.refuses(
        "block 3 with the nullification of view 3 twice",
        run,
        "the nullification of view 3 repeats a view or is out of order",
    );
    node.catches_up();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_refuses_runs_that_do_not_join_the_head_then_catches_up() {
    let mut node = Lagging::start("links");
    let quorum = [0, 1, 2];

    // A gap: the run starts at height 2, above a head at genesis.
    let mut run = node.honest_run();
    run.remove(0);
    node.refuses(
        "a run starting above the head",
        run,
        "synced block 2 does not extend",
    );

    // A gap inside the run.
    let mut run = node.honest_run();
    run.remove(1);
    node.refuses(
        "a run missing its middle block",
        run,
        "synced block 3 does not extend",
    );

    // A fork: block 3 on a sibling of block 2, every certificate genuine.
    let run = node.honest_run();
    let start = node.genesis.genesis_time_ms;
    let trees = &mut MemTrees::new();
    trees.push(&node.genesis.binding(), &run[0].block.body.transactions);
    let sibling = node.block(
        Some(&run[0].block.header),
        trees,
        2,
        start + 2 * DAY_MS,
        Vec::new(),
    );
    let on_sibling = node.block(
        Some(&sibling.header),
        trees,
        4,
        start + 3 * DAY_MS,
        Vec::new(),
    );
    let mut forked = run.clone();
    forked[2] = SyncedBlock {
        justification: Justification::new(
            node.certificate(
                Vote::Finalize(Signers::consensus_block(&on_sibling, 2)),
                &quorum,
            ),
            vec![node.certificate(Vote::Nullify(View(3)), &quorum)],
        ),
        block: on_sibling,
    };
    node.refuses("a run that forks", forked, "synced block 3 does not extend");

    // A fork at the head: a block 1 on another parent.
    let mut run = node.honest_run();
    run.truncate(1);
    let mut stray = run[0].block.clone();
    stray.header.parent = Hash32([3; 32]);
    run[0] = SyncedBlock {
        justification: Justification::new(
            node.certificate(Vote::Finalize(Signers::consensus_block(&stray, 0)), &quorum),
            Vec::new(),
        ),
        block: stray,
    };
    node.refuses(
        "a block 1 on another parent",
        run,
        "synced block 1 does not extend",
    );

    node.catches_up();

    // Once caught up, the same run again no longer joins the head.
    node.refuses(
        "the committed run again",
        node.honest_run(),
        "synced block 1 does not extend",
    );
}

/// A run is committed only when its last block claims a finalization: block sync splits what a
/// peer sends at such blocks ([`suyuan_node::sync::ends_run`]), and keeps a notarized tail uncommitted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_commits_a_run_only_at_a_finalization() {
    let mut node = Lagging::start("finalization");
    let run = node.honest_run();
    assert!(!suyuan_node::sync::ends_run(&run[0]));
    assert!(!suyuan_node::sync::ends_run(&run[1]));
    assert!(suyuan_node::sync::ends_run(&run[2]));

    // A finalization claim that is forged ends the run, and the run is refused whole.
    let vote = last_vote(&run);
    let forged = with_last_certificate(run.clone(), node.certificate(vote, &[0, 1]));
    assert!(suyuan_node::sync::ends_run(forged.last().unwrap()));
    node.refuses(
        "a run ending in a forged finalization",
        forged,
        "certificate has 2 signers",
    );

    // The notarized last block of a run, when it really was finalized, ends it too.
    let mut notarized_end = node.honest_run();
    let b3 = notarized_end[2].block.clone();
    notarized_end[2].justification.certificate =
        node.certificate(Vote::Notarize(Signers::consensus_block(&b3, 2)), &[0, 1, 2]);
    assert!(!suyuan_node::sync::ends_run(&notarized_end[2]));

    node.catches_up();
}

/// The body is outside the hash the certificates sign, so a changed body of a run's later block
/// passes every certificate check; every body is checked against its header before anything is
/// committed, so the run is refused whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_refuses_whole_a_run_whose_last_body_changed() {
    let mut node = Lagging::start("changed-last-body");
    let story = node.demo.story();
    let mut run = node.honest_run();
    run[2].block.body.transactions = story[2].clone();
    node.refuses(
        "block 3 with another body",
        run,
        "synced block 3's body does not match its header",
    );
    node.catches_up();
}

/// Ports for a test: distinct per test and process, away from other test binaries' ranges.
fn base_port(salt: u16) -> u16 {
    30_000 + (std::process::id() % 400) as u16 * 20 + salt * 5
}

async fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asserts that `store` holds exactly the blocks of `chain` up to `height`, and nothing above.
fn holds_chain_to(store: &Store, chain: &[SyncedBlock], height: u64) {
    assert_eq!(store.head().height, height);
    for synced in &chain[..height as usize] {
        let stored = store.header(synced.block.header.height).unwrap().unwrap();
        assert_eq!(stored.hash(), synced.block.hash());
    }
}

/// Validator 0 stores a run of notarized-only blocks three responses long, ended by a
/// finalization, and above it a notarized tail that nothing finalizes. Validator 3 starts on
/// an empty store (the other two are down, so consensus cannot move): it catches up to the
/// finalized block over several responses, and never commits the tail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n2_catches_up_over_a_notarized_run_longer_than_a_response() {
    let dir = temp_dir("sync-long-run");
    let p2p = base_port(0);
    let api = p2p + 4;
    let signers = Signers::new(p2p);
    let finalized = 3 * u64::from(SYNC_BATCH) + 5;
    let chain = signers.empty_chain(finalized + 3, |height| height == finalized);
    let server_config = config(&dir, 0, p2p, api);
    store_chain(&server_config.node.data_dir, &signers.genesis, &chain);

    let server = RunningNode::start_with(
        &server_config,
        signers.demo.genesis.clone(),
        signers.demo.validators[0].clone(),
    )
    .await
    .unwrap();
    let late = RunningNode::start_with(
        &config(&dir, 3, p2p, api),
        signers.demo.genesis.clone(),
        signers.demo.validators[3].clone(),
    )
    .await
    .unwrap();
    let store = Arc::clone(&late.store);
    wait_until("validator 3 catches up", Duration::from_secs(90), || {
        store.head().height >= finalized
    })
    .await;
    // A few sync ticks more: the notarized tail stays uncommitted.
    tokio::time::sleep(Duration::from_secs(3)).await;
    holds_chain_to(&store, &chain, finalized);
    assert_eq!(server.store.head().height, finalized + 3);
    late.stop().await.unwrap();
    server.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Peers as catch-up sees them: each answers a request with up to [`SYNC_BATCH`] blocks of
/// its own chain from the height asked for, as a server would.
struct Peers {
    chains: Vec<Vec<SyncedBlock>>,
}

impl Peers {
    fn answer(&self, peer: usize, from_height: u64) -> Vec<Vec<u8>> {
        let chain = &self.chains[peer];
        let from = (from_height.max(1) - 1) as usize;
        chain
            .iter()
            .skip(from)
            .take(SYNC_BATCH as usize)
            .map(|synced| SyncedBlock::encode(&synced.block, &synced.justification.encode()))
            .collect()
    }
}

/// What one catch-up left: blocks downloaded, and the refusals met.
struct Walked {
    downloaded: usize,
    refusals: Vec<SyncError>,
}

/// Drives `sync` against `peers` (connected in index order) until it is caught up, committing
/// what it hands out through `node`'s driver (which checks every block again).
fn catch_up(node: &mut Lagging, sync: &mut BlockSync, peers: &Peers) -> Walked {
    let consortium = Consortium::from_genesis(&node.genesis).unwrap();
    for peer in 0..peers.chains.len() {
        sync.connected(peer);
    }
    sync.wanted = true;
    let mut walked = Walked {
        downloaded: 0,
        refusals: Vec::new(),
    };
    for _ in 0..1_000 {
        let head = Tip::head_of(node.driver.chain());
        let Some(request) = sync.next_request(head) else {
            return walked;
        };
        let blobs = peers.answer(request.peer, request.from_height);
        walked.downloaded += blobs.len();
        let answer = sync.on_blocks(&consortium, head, request, blobs);
        node.driver.commit_run(answer.commit).unwrap();
        match answer.outcome {
            Outcome::CaughtUp => return walked,
            Outcome::Refused(error) => walked.refusals.push(error),
            Outcome::Progress | Outcome::Stale | Outcome::Unfinished => {}
        }
    }
    panic!("catch-up did not settle in 1,000 requests");
}

/// Catch-up that can hold 4 blocks and track 8 crosses a run of 20 notarized blocks before a
/// finalization: it commits what it held, fetches what it tracked again, and walks on to the
/// finalized block it could not track, which it then knows by hash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_commits_a_run_longer_than_it_can_hold_or_track() {
    let mut node = Lagging::start("beyond-limits");
    let chain = node.empty_chain(23, |height| height == 21);
    let limits = SyncLimits {
        held_bytes: usize::MAX,
        held_blocks: 4,
        tracked_blocks: 8,
    };
    let mut sync = BlockSync::with_limits(limits);
    let walked = catch_up(
        &mut node,
        &mut sync,
        &Peers {
            chains: vec![chain.clone()],
        },
    );
    assert!(walked.refusals.is_empty());
    holds_chain_to(&node.store, &chain, 21);
    // Each walk commits its 4 held blocks and confirms 4 more, so blocks were fetched again;
    // never more than a walk to the finalized block for every 8 committed.
    assert!(
        walked.downloaded > 23 && walked.downloaded <= 4 * 23,
        "downloaded {}",
        walked.downloaded
    );

    // Held by bytes instead: one block at a time (the first block is always held).
    let mut node = Lagging::start("beyond-held-bytes");
    let limits = SyncLimits {
        held_bytes: 1,
        held_blocks: 1024,
        tracked_blocks: 1024,
    };
    let mut sync = BlockSync::with_limits(limits);
    let walked = catch_up(
        &mut node,
        &mut sync,
        &Peers {
            chains: vec![chain.clone()],
        },
    );
    assert!(walked.refusals.is_empty());
    holds_chain_to(&node.store, &chain, 21);
}

/// A peer that withholds finalizations (it sends its notarization instead) ends its walk
/// unfinished; a peer serving a branch that conflicts with a block proven final is refused;
/// catch-up still reaches the finalized block through the honest peer, and stores its blocks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_progresses_past_peers_that_withhold_or_serve_another_branch() {
    let mut node = Lagging::start("faulty-peers");
    let honest = node.empty_chain(23, |height| height == 21);
    let withholding = node.empty_chain(23, |_| false);
    // The same first 4 blocks, then a certified branch whose block 5 has another time.
    let mut branch = honest[..4].to_vec();
    let trees = &mut MemTrees::new();
    for _ in 0..4 {
        trees.push(&node.genesis.binding(), &[]);
    }
    for height in 5..=23u64 {
        let parent = &branch.last().unwrap().block.header;
        let time = parent.time_ms + DAY_MS / 2;
        let block = node.block(Some(parent), trees, height, time, Vec::new());
        branch.push(node.justified(block, height - 1, false));
    }
    assert_ne!(branch[4].block.hash(), honest[4].block.hash());
    let limits = SyncLimits {
        held_bytes: usize::MAX,
        held_blocks: 4,
        tracked_blocks: 8,
    };
    let mut sync = BlockSync::with_limits(limits);
    let walked = catch_up(
        &mut node,
        &mut sync,
        &Peers {
            chains: vec![withholding, honest.clone(), branch],
        },
    );
    holds_chain_to(&node.store, &honest, 21);
    assert!(
        walked
            .refusals
            .iter()
            .any(|error| matches!(error, SyncError::NotFinal { height: 5, .. })),
        "the branch was not refused as conflicting with a final block: {:?}",
        walked
            .refusals
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    );
}

/// What a flooding peer got: bytes of blocks, answers, refusals, and over how long.
struct Flood {
    bytes: u64,
    answered: usize,
    failed: usize,
    elapsed: Duration,
}

/// Validator 1's network alone asks validator 0 for every block from height 1, keeping as many
/// requests outstanding as its network allows, for `duration`; then waits for the last answers.
/// Requests other validators send it are dropped unanswered.
async fn flood_requests(
    network: &suyuan_node::network::NetworkHandle,
    events: &mut mpsc::Receiver<NetworkEvent>,
    duration: Duration,
) -> Flood {
    loop {
        match events.recv().await.expect("the network runs") {
            NetworkEvent::PeerConnected(peer) if peer.index == 0 => break,
            _ => {}
        }
    }
    let started = Instant::now();
    let mut flood = Flood {
        bytes: 0,
        answered: 0,
        failed: 0,
        elapsed: Duration::ZERO,
    };
    let mut outstanding = 0;
    loop {
        let flooding = started.elapsed() < duration;
        while flooding && outstanding < MAX_SYNC_REQUESTS_IN_FLIGHT {
            match network.request_blocks(0, 1, MAX_SYNC_BLOCKS).await {
                Ok(_) => outstanding += 1,
                Err(_) => break,
            }
        }
        if !flooding && outstanding == 0 {
            break;
        }
        let event = tokio::time::timeout(Duration::from_secs(90), events.recv())
            .await
            .expect("an answer within the request timeout")
            .expect("the network runs");
        match event {
            NetworkEvent::BlockResponse { blocks, .. } => {
                outstanding -= 1;
                flood.answered += 1;
                flood.bytes += blocks.iter().map(|blob| blob.len() as u64).sum::<u64>();
            }
            NetworkEvent::BlockRequestFailed { .. } => {
                outstanding -= 1;
                flood.failed += 1;
            }
            _ => {}
        }
    }
    flood.elapsed = started.elapsed();
    flood
}

/// Validator 0 stores 8 blocks of 2,500 commissioning records each (about 8 MB). Validator 1
/// asks it for all of them in a loop for 15 s; meanwhile validator 3 starts empty and catches
/// up from validator 0. Validator 1 is read for at most its budget (the burst, the rate over
/// the time, and one block), its extra requests are refused, and validator 3 is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n3_a_peer_asking_in_a_loop_is_read_for_its_budget_while_another_catches_up() {
    let dir = temp_dir("sync-flood");
    let p2p = base_port(1);
    let api = p2p + 4;
    let signers = Signers::new(p2p);
    let story = signers.demo.story();
    let mut bodies = vec![story[0].clone(), story[1].clone()];
    bodies.extend(
        commissions(&signers.demo, 8 * 2_500)
            .chunks(2_500)
            .map(<[Envelope]>::to_vec),
    );
    let length = bodies.len() as u64;
    let chain = signers.chain(bodies, |height| height == length);
    let server_config = config(&dir, 0, p2p, api);
    store_chain(&server_config.node.data_dir, &signers.genesis, &chain);
    let chain_bytes: usize = chain
        .iter()
        .map(|synced| SyncedBlock::encode(&synced.block, &synced.justification.encode()).len())
        .sum();

    let server = RunningNode::start_with(
        &server_config,
        signers.demo.genesis.clone(),
        signers.demo.validators[0].clone(),
    )
    .await
    .unwrap();
    let flooder_config = NetworkConfig {
        listen_address: Some(format!("/ip4/127.0.0.1/tcp/{}", p2p + 1).parse().unwrap()),
        ..NetworkConfig::default()
    };
    let (flooder, mut flooder_events) = Network::start(
        flooder_config,
        &signers.genesis,
        &signers.demo.validators[1],
    )
    .unwrap();
    let flood = tokio::spawn(async move {
        let flood = flood_requests(&flooder, &mut flooder_events, Duration::from_secs(15)).await;
        flooder.shutdown().await;
        flood
    });
    let late = RunningNode::start_with(
        &config(&dir, 3, p2p, api),
        signers.demo.genesis.clone(),
        signers.demo.validators[3].clone(),
    )
    .await
    .unwrap();
    let store = Arc::clone(&late.store);
    let catching_up = Instant::now();
    wait_until("validator 3 catches up", Duration::from_secs(120), || {
        store.head().height >= length
    })
    .await;
    let caught_up_in = catching_up.elapsed();
    let flood = flood.await.unwrap();
    holds_chain_to(&store, &chain, length);

    let budget = SYNC_SERVE_BURST_BYTES as f64
        + flood.elapsed.as_secs_f64() * SYNC_SERVE_BYTES_PER_SECOND as f64
        + MAX_SYNC_BLOB_BYTES as f64;
    eprintln!(
        "flooder: {} answers ({:.1} MiB), {} refused in {:.1} s; budget {:.1} MiB; \
         chain {:.1} MiB; validator 3 caught up in {:.1} s",
        flood.answered,
        flood.bytes as f64 / 1048576.0,
        flood.failed,
        flood.elapsed.as_secs_f64(),
        budget / 1048576.0,
        chain_bytes as f64 / 1048576.0,
        caught_up_in.as_secs_f64(),
    );
    assert!(flood.answered >= 2, "the flooder was served nothing");
    assert!(
        flood.bytes as f64 <= budget,
        "the flooder got {} bytes; its budget is {budget}",
        flood.bytes
    );
    assert!(flood.failed > 0, "no request of the flooder was refused");
    late.stop().await.unwrap();
    server.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
