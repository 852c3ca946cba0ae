//! `suyuan audit` against real RocksDB stores holding the demo story, committed with real
//! certificates (ed25519 votes of the demo validators), real tree nodes and real state, then
//! damaged behind the store's back the way a failing disk or a forger would: a flipped byte,
//! which the storage seal catches, and a validly re-sealed wrong value, which only the replay
//! catches. The API tests serve the stores over real HTTP.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use rocksdb::{DB, IteratorMode, Options};
use suyuan_api::read_only::ReadOnlyNode;
use suyuan_api::{ApiLimits, ApiState};
use suyuan_consensus::{
    Certificate, ChainId, Digest, Height, SignedVote, ValidatorIndex, View, Vote,
};
use suyuan_ledger::block::{Block, Body, leader};
use suyuan_ledger::demo::Demo;
use suyuan_ledger::exec::{BlockContext, execute_block};
use suyuan_ledger::state::{StateKey, StateValue};
use suyuan_ledger::trees;
use suyuan_ledger::tx::{Envelope, VerifiedTx};
use suyuan_proofs::justification::Justification;
use suyuan_storage::schema::{COLUMN_FAMILIES, cf, seal};
use suyuan_storage::{Store, TreeWrites};

use super::report::{FindingKind, NoteKind, Summary};
use super::source::{DataDir, Remote, Source};
use super::{AuditArgs, audit, quorum_of, run};

const DAY_MS: u64 = 86_400_000;

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("suyuan-audit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How a block is justified: its certificate's kind and signers, and nullifications stored
/// with it (view, signers).
struct Seal {
    finalize: bool,
    signers: Vec<usize>,
    nullified: Vec<(u64, Vec<usize>)>,
}

impl Seal {
    fn notarized(signers: &[usize]) -> Seal {
        Seal {
            finalize: false,
            signers: signers.to_vec(),
            nullified: Vec::new(),
        }
    }

    fn finalized(signers: &[usize]) -> Seal {
        Seal {
            finalize: true,
            ..Seal::notarized(signers)
        }
    }

    fn with_nullification(mut self, view: u64, signers: &[usize]) -> Seal {
        self.nullified.push((view, signers.to_vec()));
        self
    }
}

/// The demo consortium, signing real votes.
struct Consortium {
    demo: Demo,
}

impl Consortium {
    fn new() -> Consortium {
        Consortium {
            demo: Demo::new(4, 1),
        }
    }

    fn chain(&self) -> ChainId {
        ChainId::from_name(&self.demo.genesis.chain_id)
    }

    fn certificate(&self, vote: Vote, signers: &[usize]) -> Certificate {
        let signatures = signers
            .iter()
            .map(|&index| {
                let key = SigningKey::from_bytes(&self.demo.validators[index].seed());
                let signer = ValidatorIndex(index as u16);
                (
                    signer,
                    SignedVote::sign(self.chain(), vote, signer, &key).signature,
                )
            })
            .collect();
        Certificate::new(self.chain(), vote, signatures).unwrap()
    }

    /// Executes `envelopes` as the next block of `store` in `view`, and commits it with its
    /// tree nodes and a justification made by `seal`; returns the block and, for each state
    /// key it writes, the key's bytes.
    fn commit(
        &self,
        store: &Store,
        view: u64,
        envelopes: Vec<Envelope>,
        seal: &Seal,
    ) -> (Block, Vec<Vec<u8>>) {
        let genesis = &self.demo.genesis;
        let head = store.head();
        let height = head.height + 1;
        let parent_view = store.header(head.height).unwrap().map_or(0, |h| h.view);
        let txs: Vec<VerifiedTx> = envelopes
            .iter()
            .map(|envelope| envelope.clone().verify(&genesis.binding()).unwrap())
            .collect();
        let time_ms = genesis.genesis_time_ms + height * DAY_MS;
        let context = BlockContext {
            genesis,
            height,
            time_ms,
        };
        let writes = execute_block(store, context, &txs).unwrap();
        let grown = trees::grow(&store.log_frontier().unwrap(), store, height, &txs).unwrap();
        let block = Block::new(
            &genesis.chain_id,
            height,
            view,
            head.hash,
            time_ms,
            *leader(genesis, view),
            Body {
                transactions: envelopes,
            },
            grown.heads,
        )
        .unwrap();
        let named = suyuan_consensus::Block::new(
            View(view),
            Height(height),
            View(parent_view),
            Digest(*head.hash.as_bytes()),
            Digest(*block.hash().as_bytes()),
        )
        .unwrap();
        let vote = if seal.finalize {
            Vote::Finalize(named)
        } else {
            Vote::Notarize(named)
        };
        let nullifications = seal
            .nullified
            .iter()
            .map(|(view, signers)| self.certificate(Vote::Nullify(View(*view)), signers))
            .collect();
        let justification =
            Justification::new(self.certificate(vote, &seal.signers), nullifications).encode();
        let keys = writes.keys().map(StateKey::to_bytes).collect();
        store
            .commit_block(
                &block,
                &txs,
                &justification,
                &writes,
                &TreeWrites::from(&grown),
            )
            .unwrap();
        (block, keys)
    }
}

/// The story committed as five blocks: view 3 skipped (and nullified) before block 3, blocks
/// 2 and 5 finalized. What it records: for each state key, the height that last wrote it.
struct StoryChain {
    records: u64,
    written: BTreeMap<Vec<u8>, u64>,
}

fn commit_story(consortium: &Consortium, store: &Store) -> StoryChain {
    let story = consortium.demo.story();
    let seals = [
        (1, Seal::notarized(&[0, 1, 2])),
        (2, Seal::finalized(&[1, 2, 3])),
        (
            4,
            Seal::notarized(&[0, 1, 2]).with_nullification(3, &[0, 2, 3]),
        ),
        (5, Seal::notarized(&[0, 1, 3])),
        (6, Seal::finalized(&[0, 1, 2])),
    ];
    let mut chain = StoryChain {
        records: 0,
        written: BTreeMap::new(),
    };
    for (envelopes, (view, seal)) in story.into_iter().zip(seals) {
        chain.records += envelopes.len() as u64;
        let (block, keys) = consortium.commit(store, view, envelopes, &seal);
        for key in keys {
            chain.written.insert(key, block.header.height);
        }
    }
    chain
}

/// A data directory holding the story, closed.
fn story_dir(name: &str) -> (TempDir, Consortium, StoryChain) {
    let dir = TempDir::new(name);
    let consortium = Consortium::new();
    let store = Store::open(dir.path(), &consortium.demo.genesis).unwrap();
    let chain = commit_story(&consortium, &store);
    drop(store);
    (dir, consortium, chain)
}

fn audit_dirs(consortium: &Consortium, dirs: &[&Path]) -> Summary {
    let genesis = &consortium.demo.genesis;
    let quorum = quorum_of(genesis).unwrap();
    let sources: Vec<Box<dyn Source>> = dirs
        .iter()
        .map(|dir| Box::new(DataDir::open(dir, genesis).unwrap()) as Box<dyn Source>)
        .collect();
    audit(genesis, &quorum, &sources, 2).unwrap()
}

/// Raw RocksDB over a closed store's directory, as a failing disk or a forger sees it.
fn raw(dir: &Path) -> DB {
    DB::open_cf(&Options::default(), dir, COLUMN_FAMILIES).unwrap()
}

/// Flips a bit of the stored value under `key` in `family`.
fn flip(dir: &Path, family: &str, key: &[u8]) {
    let db = raw(dir);
    let handle = db.cf_handle(family).unwrap();
    let mut value = db.get_cf(handle, key).unwrap().expect("the value exists");
    let last = value.len() - 1;
    value[last] ^= 0x04;
    db.put_cf(handle, key, value).unwrap();
}

/// Replaces the payload under `key` in `family` with `payload`, sealed as the store would.
fn reseal(dir: &Path, family: &str, key: &[u8], payload: &[u8]) {
    let db = raw(dir);
    db.put_cf(
        db.cf_handle(family).unwrap(),
        key,
        seal(family, key, payload),
    )
    .unwrap();
}

/// The stored payload (checksum removed) under `key` in `family`.
fn payload(dir: &Path, family: &str, key: &[u8]) -> Vec<u8> {
    let db = raw(dir);
    let value = db
        .get_cf(db.cf_handle(family).unwrap(), key)
        .unwrap()
        .unwrap();
    value[suyuan_storage::schema::CHECKSUM_BYTES..].to_vec()
}

fn findings_of(summary: &Summary, kind: FindingKind) -> Vec<(u64, String)> {
    summary
        .findings
        .iter()
        .filter(|finding| finding.kind == kind)
        .map(|finding| (finding.height, finding.message.clone()))
        .collect()
}

#[track_caller]
fn assert_found(summary: &Summary, kind: FindingKind, height: u64, words: &str) {
    let found = findings_of(summary, kind);
    assert!(
        found
            .iter()
            .any(|(at, message)| *at == height && message.contains(words)),
        "expected a {kind:?} finding at height {height} saying {words:?}; got {}",
        summary.to_text()
    );
}

#[test]
fn the_story_audits_clean_from_a_data_directory() {
    let (dir, consortium, chain) = story_dir("clean");
    let summary = audit_dirs(&consortium, &[dir.path()]);
    assert!(summary.is_clean(), "{}", summary.to_text());
    let source = &summary.sources[0];
    assert_eq!(source.head, 5);
    assert_eq!(source.blocks_replayed, 5);
    assert_eq!(source.records, chain.records);
    assert_eq!(source.finalized, 5);
    assert!(source.stored_state_digest.is_some());
    assert_eq!(source.stored_state_digest, source.replayed_state_digest);
    assert_eq!(summary.validators_seen, 4);
    assert!(
        summary.notes.is_empty(),
        "every skipped view is nullified: {:?}",
        summary.notes
    );
    let text = summary.to_text();
    assert!(text.contains("result: clean"), "{text}");
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["findings"], serde_json::json!([]));
    assert_eq!(json["sources"][0]["records"], chain.records);
}

#[test]
fn a_flipped_byte_in_a_stored_block_body_is_found_at_its_height() {
    let (dir, consortium, _) = story_dir("flipped-body");
    let key = [3u64.to_be_bytes().as_slice(), &0u32.to_be_bytes()].concat();
    flip(dir.path(), cf::BLOCK_TXS, &key);
    let summary = audit_dirs(&consortium, &[dir.path()]);
    assert_found(
        &summary,
        FindingKind::Unreadable,
        3,
        "checksum does not match",
    );
    assert!(
        summary
            .notes
            .iter()
            .any(|note| note.kind == NoteKind::ReplayStopped && note.height == 3),
        "{:?}",
        summary.notes
    );
    // Links and certificates above it are still checked: the chain is finalized at 5.
    assert_eq!(summary.sources[0].blocks, 5);
    assert_eq!(summary.sources[0].finalized, 5);
    assert!(!findings_of(&summary, FindingKind::Storage).is_empty());
}

#[test]
fn a_resealed_wrong_transaction_in_a_stored_block_is_found_at_its_height() {
    let (dir, consortium, _) = story_dir("resealed-body");
    let other = consortium.demo.story()[0][0].to_bytes();
    let key = [4u64.to_be_bytes().as_slice(), &0u32.to_be_bytes()].concat();
    reseal(dir.path(), cf::BLOCK_TXS, &key, &other);
    let summary = audit_dirs(&consortium, &[dir.path()]);
    assert_found(
        &summary,
        FindingKind::Unreadable,
        4,
        "does not hash to the header's body hash",
    );
}

#[test]
fn a_flipped_certificate_byte_is_found_at_its_height() {
    let (dir, consortium, _) = story_dir("flipped-certificate");
    flip(dir.path(), cf::JUSTIFICATIONS, &4u64.to_be_bytes());
    let summary = audit_dirs(&consortium, &[dir.path()]);
    assert_found(&summary, FindingKind::Unreadable, 4, "certificate");
    assert_found(
        &summary,
        FindingKind::Unreadable,
        4,
        "checksum does not match",
    );
    // The rest of the chain still replays: the state is compared and agrees.
    assert_eq!(summary.sources[0].blocks_replayed, 5);
    assert!(findings_of(&summary, FindingKind::State).is_empty());
}

#[test]
fn resealed_certificates_of_another_block_or_with_a_bad_signature_are_found() {
    let (dir, consortium, _) = story_dir("resealed-certificate");
    let third = payload(dir.path(), cf::JUSTIFICATIONS, &3u64.to_be_bytes());
    reseal(dir.path(), cf::JUSTIFICATIONS, &4u64.to_be_bytes(), &third);
    let mut fifth = Justification::decode(&payload(
        dir.path(),
        cf::JUSTIFICATIONS,
        &5u64.to_be_bytes(),
    ))
    .unwrap();
    let vote = *fifth.certificate.vote();
    let mut signers = fifth.certificate.signers().to_vec();
    let mut bytes = signers[1].1.to_bytes();
    bytes[10] ^= 1;
    signers[1].1 = ed25519_dalek::Signature::from_bytes(&bytes);
    fifth.certificate = Certificate::new(consortium.chain(), vote, signers).unwrap();
    reseal(
        dir.path(),
        cf::JUSTIFICATIONS,
        &5u64.to_be_bytes(),
        &fifth.encode(),
    );

    let summary = audit_dirs(&consortium, &[dir.path()]);
    assert_found(
        &summary,
        FindingKind::Certificate,
        4,
        "is not of this block",
    );
    assert_found(
        &summary,
        FindingKind::Certificate,
        5,
        "signatures that do not verify: #1",
    );
    // Without block 5's finalization, only block 2's stands.
    assert_eq!(summary.sources[0].finalized, 2);
    assert_found(&summary, FindingKind::NotFinalized, 5, "blocks 3 to 5");
}

#[test]
fn flipped_and_resealed_state_entries_are_found_with_the_height_that_wrote_them() {
    let (dir, consortium, chain) = story_dir("state");
    let db = raw(dir.path());
    let state = db.cf_handle(cf::STATE).unwrap();
    let keys: Vec<Vec<u8>> = db
        .iterator_cf(state, IteratorMode::Start)
        .map(|item| item.unwrap().0.to_vec())
        .collect();
    drop(db);
    let holding = keys
        .iter()
        .find(|key| matches!(StateKey::from_bytes(key), Ok(StateKey::Holding(..))))
        .expect("the story holds stock")
        .clone();
    let StateValue::Holding(units) = StateValue::from_bytes(
        &StateKey::from_bytes(&holding).unwrap(),
        &payload(dir.path(), cf::STATE, &holding),
    )
    .unwrap() else {
        panic!("a holding key holds units");
    };
    reseal(
        dir.path(),
        cf::STATE,
        &holding,
        &StateValue::Holding(units + 1000).to_bytes(),
    );
    let flipped = keys
        .iter()
        .find(|key| matches!(StateKey::from_bytes(key), Ok(StateKey::Enterprise(_))))
        .unwrap()
        .clone();
    flip(dir.path(), cf::STATE, &flipped);

    let summary = audit_dirs(&consortium, &[dir.path()]);
    let holding_name = StateKey::from_bytes(&holding).unwrap().to_string();
    let holding_height = chain.written[&holding];
    assert_found(
        &summary,
        FindingKind::State,
        holding_height,
        &format!(
            "state entry {holding_name}: stored {{\"holding\":{}}}",
            units + 1000
        ),
    );
    assert_found(
        &summary,
        FindingKind::State,
        holding_height,
        &format!(
            "the replay gives {{\"holding\":{units}}} (last written at height {holding_height})"
        ),
    );
    let flipped_name = StateKey::from_bytes(&flipped).unwrap().to_string();
    assert_found(
        &summary,
        FindingKind::State,
        chain.written[&flipped],
        &format!("state entry {flipped_name}: unreadable"),
    );
    let source = &summary.sources[0];
    assert_ne!(source.stored_state_digest, source.replayed_state_digest);
}

#[test]
fn a_validator_that_signed_conflicting_votes_is_reported_with_both_signed_messages() {
    let dir = TempDir::new("equivocation");
    let consortium = Consortium::new();
    let store = Store::open(dir.path(), &consortium.demo.genesis).unwrap();
    let story = consortium.demo.story();
    consortium.commit(&store, 1, story[0].clone(), &Seal::finalized(&[0, 1, 2]));
    // Validators 1 and 2 finalized block 2 in view 2, and also signed a nullification of
    // view 2, which block 3 carries.
    consortium.commit(&store, 2, story[1].clone(), &Seal::finalized(&[0, 1, 2]));
    consortium.commit(
        &store,
        3,
        story[2].clone(),
        &Seal::finalized(&[0, 1, 3]).with_nullification(2, &[1, 2, 3]),
    );
    drop(store);

    let summary = audit_dirs(&consortium, &[dir.path()]);
    let found = findings_of(&summary, FindingKind::Equivocation);
    assert_eq!(found.len(), 2, "{}", summary.to_text());
    for (index, (height, message)) in found.iter().enumerate() {
        let validator = index + 1;
        assert_eq!(*height, 3);
        assert!(
            message.contains(&format!("validator #{validator} ")),
            "{message}"
        );
        assert!(message.contains("in view 2"), "{message}");
        assert!(message.contains("finalize(block "), "{message}");
        assert!(message.contains("nullify(view 2)"), "{message}");
        assert_eq!(message.matches("with signature ").count(), 2, "{message}");
        assert_eq!(message.matches("[signed vote ").count(), 2, "{message}");
    }
    assert_found(&summary, FindingKind::Nullification, 3, "view 2");
}

/// Serves `store` on a loopback port; returns its base URL.
async fn serve(consortium: &Consortium, store: Arc<Store>) -> String {
    let genesis = &consortium.demo.genesis;
    let node = ReadOnlyNode::new(genesis, Arc::clone(&store), 0);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = ApiState {
        store,
        node: Arc::new(node),
        limits: ApiLimits::default(),
        public_url: None,
    };
    tokio::spawn(suyuan_api::serve(listener, state, std::future::pending()));
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_their_apis_a_diverging_node_is_named_and_a_node_behind_is_not() {
    let consortium = Consortium::new();
    let genesis = &consortium.demo.genesis;
    let story = consortium.demo.story();
    let open = |dir: &TempDir| Arc::new(Store::open(dir.path(), genesis).unwrap());
    let dirs = [
        TempDir::new("api-a"),
        TempDir::new("api-b"),
        TempDir::new("api-c"),
    ];
    let (a, b, c) = (open(&dirs[0]), open(&dirs[1]), open(&dirs[2]));
    for store in [&a, &b, &c] {
        consortium.commit(store, 1, story[0].clone(), &Seal::notarized(&[0, 1, 2]));
        consortium.commit(store, 2, story[1].clone(), &Seal::finalized(&[0, 1, 2]));
    }
    // A and B each finalize a different block 3 in view 3: validators 1 and 2 signed both.
    consortium.commit(&a, 3, story[2].clone(), &Seal::finalized(&[0, 1, 2]));
    consortium.commit(&b, 3, Vec::new(), &Seal::finalized(&[1, 2, 3]));

    let urls = [
        serve(&consortium, Arc::clone(&a)).await,
        serve(&consortium, Arc::clone(&a)).await,
        serve(&consortium, Arc::clone(&b)).await,
        serve(&consortium, Arc::clone(&c)).await,
    ];
    let genesis = genesis.clone();
    let audited = urls.clone();
    let summary = tokio::task::spawn_blocking(move || {
        let quorum = quorum_of(&genesis).unwrap();
        let sources: Vec<Box<dyn Source>> = audited
            .iter()
            .map(|url| Box::new(Remote::new(url).unwrap()) as Box<dyn Source>)
            .collect();
        audit(&genesis, &quorum, &sources, 2).unwrap()
    })
    .await
    .unwrap();

    let text = summary.to_text();
    let divergent = findings_of(&summary, FindingKind::Divergence);
    assert_eq!(divergent.len(), 1, "{text}");
    assert_eq!(divergent[0].0, 3);
    assert!(
        summary
            .findings
            .iter()
            .any(|finding| finding.kind == FindingKind::Divergence
                && finding.source.starts_with(&urls[2])),
        "B is the divergent node: {text}"
    );
    assert_eq!(
        findings_of(&summary, FindingKind::Equivocation).len(),
        2,
        "{text}"
    );
    let behind: Vec<_> = summary
        .notes
        .iter()
        .filter(|note| note.kind == NoteKind::Behind)
        .collect();
    assert_eq!(behind.len(), 1, "{text}");
    assert!(behind[0].source.starts_with(&urls[3]), "{text}");
    // Each node's own chain is sound: nothing else is wrong.
    assert_eq!(summary.findings.len(), 3, "{text}");
    for source in &summary.sources {
        assert_eq!(source.blocks_replayed, source.head, "{text}");
    }
}

#[test]
fn the_command_exits_0_when_clean_1_on_a_finding_and_fails_when_it_cannot_read_the_source() {
    let (dir, consortium, _) = story_dir("exit");
    let files = TempDir::new("exit-files");
    let genesis = files.path().join("genesis.json");
    std::fs::write(&genesis, consortium.demo.genesis.to_canonical_json()).unwrap();
    let args = |data_dir: &Path| AuditArgs {
        genesis: genesis.clone(),
        data_dirs: vec![data_dir.to_path_buf()],
        apis: Vec::new(),
        json: true,
        threads: Some(1),
    };
    assert_eq!(
        run(args(dir.path())).unwrap(),
        std::process::ExitCode::SUCCESS
    );
    flip(dir.path(), cf::JUSTIFICATIONS, &2u64.to_be_bytes());
    assert_eq!(
        run(args(dir.path())).unwrap(),
        std::process::ExitCode::from(1)
    );
    let error = run(args(&files.path().join("nothing"))).unwrap_err();
    assert!(
        error.to_string().contains("holds no node database"),
        "{error:#}"
    );
    let store = Store::open(dir.path(), &consortium.demo.genesis).unwrap();
    let error = run(args(dir.path())).unwrap_err();
    assert!(
        error.to_string().contains("is the node still running?"),
        "{error:#}"
    );
    drop(store);
}

#[test]
fn resealed_wrong_tree_nodes_are_found_at_the_height_that_wrote_them() {
    let (dir, consortium, _) = story_dir("log-node");
    let node = suyuan_ledger::merkle::log::NodeId { level: 1, index: 0 };
    reseal(dir.path(), cf::LOG_NODES, &node.to_bytes(), &[7; 32]);
    let summary = audit_dirs(&consortium, &[dir.path()]);
    assert_found(
        &summary,
        FindingKind::StoredTrees,
        1,
        "stored log node (level 1, index 0) is 0707",
    );
    assert_found(
        &summary,
        FindingKind::Storage,
        5,
        "log node (level 1, index 0) is corrupt: is not the hash of its two children",
    );
    assert_eq!(findings_of(&summary, FindingKind::StoredTrees).len(), 1);

    let (dir, consortium, _) = story_dir("map-node");
    let root = suyuan_ledger::merkle::map::NodePosition::ROOT.storage_key(4);
    let mut forged = payload(dir.path(), cf::MAP_NODES, &root);
    forged[40] ^= 1;
    reseal(dir.path(), cf::MAP_NODES, &root, &forged);
    let summary = audit_dirs(&consortium, &[dir.path()]);
    assert_found(
        &summary,
        FindingKind::StoredTrees,
        4,
        "map root from the stored nodes",
    );
    assert_found(
        &summary,
        FindingKind::Storage,
        5,
        "does not hold the hash of its right child",
    );
    // The headers' roots are the replay's: only the store's copy is wrong.
    assert!(findings_of(&summary, FindingKind::Trees).is_empty());
}

/// A forger adds a map node under a version that did not write its position: proofs as of that
/// version would serve it, yet every node the blocks wrote and every root is still right. Only
/// the count of stored map nodes against the replay's tells.
#[test]
fn a_map_node_no_block_wrote_is_found_by_the_count() {
    let (dir, consortium, _) = story_dir("stray-map-node");
    let clean = audit_dirs(&consortium, &[dir.path()]);
    assert!(clean.is_clean(), "{}", clean.to_text());
    let head = clean.sources[0].head;
    let db = raw(dir.path());
    let family = db.cf_handle(cf::MAP_NODES).unwrap();
    let keys: Vec<Vec<u8>> = db
        .iterator_cf(family, rocksdb::IteratorMode::Start)
        .map(|item| item.unwrap().0.to_vec())
        .collect();
    drop(db);
    let version_of = |key: &[u8]| u64::from_be_bytes(key[34..].try_into().unwrap());
    let (source, stray) = keys
        .iter()
        .find_map(|key| {
            let version = version_of(key);
            let mut next = key.clone();
            next[34..].copy_from_slice(&(version + 1).to_be_bytes());
            (version < head && !keys.contains(&next)).then(|| (key.clone(), next))
        })
        .expect("some position is not rewritten by the next block");
    reseal(
        dir.path(),
        cf::MAP_NODES,
        &stray,
        &payload(dir.path(), cf::MAP_NODES, &source),
    );
    let summary = audit_dirs(&consortium, &[dir.path()]);
    let stored = keys.len() + 1;
    assert_found(
        &summary,
        FindingKind::StoredTrees,
        head,
        &format!(
            "the store holds {stored} map nodes, the replay wrote {}",
            keys.len()
        ),
    );
    assert_eq!(summary.findings.len(), 1, "{}", summary.to_text());
}

#[test]
fn a_raw_block_is_laid_out_as_block_sync_sends_it() {
    let dir = TempDir::new("raw-layout");
    let consortium = Consortium::new();
    let store = Store::open(dir.path(), &consortium.demo.genesis).unwrap();
    let (block, _) = consortium.commit(
        &store,
        1,
        consortium.demo.story()[0].clone(),
        &Seal::finalized(&[0, 1, 2]),
    );
    let justification = store.justification(1).unwrap().unwrap();
    let raw = suyuan_api::raw::RawBlock::of(&block, justification.clone());
    let answer = suyuan_api::raw::encode_blocks(std::slice::from_ref(&raw));
    assert_eq!(
        answer[4..],
        suyuan_node::frames::SyncedBlock::encode(&block, &justification)[..]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_an_api_a_block_the_node_cannot_read_is_found_at_its_height() {
    let (dir, consortium, _) = story_dir("api-corrupt");
    let key = [3u64.to_be_bytes().as_slice(), &0u32.to_be_bytes()].concat();
    flip(dir.path(), cf::BLOCK_TXS, &key);
    let store = Arc::new(Store::open(dir.path(), &consortium.demo.genesis).unwrap());
    let url = serve(&consortium, store).await;
    let genesis = consortium.demo.genesis.clone();
    let summary = tokio::task::spawn_blocking(move || {
        let quorum = quorum_of(&genesis).unwrap();
        let sources: Vec<Box<dyn Source>> = vec![Box::new(Remote::new(&url).unwrap())];
        audit(&genesis, &quorum, &sources, 2).unwrap()
    })
    .await
    .unwrap();
    assert_found(
        &summary,
        FindingKind::Unreadable,
        3,
        "the node cannot read it: the node could not read its store: stored block_txs at height 3 \
         index 0 is corrupt",
    );
    assert_eq!(summary.sources[0].blocks, 2, "{}", summary.to_text());
    assert_eq!(summary.findings.len(), 1, "{}", summary.to_text());
    assert_eq!(summary.sources[0].head, 5);
}
