//! Commit blocks with their Merkle tree nodes, and check that the roots read back from storage
//! equal a recomputation from scratch in memory, that proofs built from the store at any older
//! height verify against that height's roots, that wrong tree writes are refused, that bad tree
//! nodes on disk are reported as corruption, and that a block is durable with its tree nodes or
//! not at all across `kill -9`.
//!
//! The tree writes follow the contract of `storage/src/trees.rs`: one log leaf per transaction,
//! its bytes the transaction id; the map sends each code a transaction names to that
//! transaction's leaf hash.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rocksdb::{DB, Direction, IteratorMode, Options};
use support::{TempDir, Workload, env_count, spawn_child};
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::merkle::log::{
    LogNode, LogReadError, LogStore, MemLog, NodeId, consistency_proof, inclusion_proof, leaf_hash,
};
use suyuan_ledger::merkle::map::{
    self, MapBatch, MapKey, MapReadError, MapStore, MemMapStore, NodePosition,
};
use suyuan_ledger::merkle::{Blake3, StoreError};
use suyuan_ledger::state::MemState;
use suyuan_ledger::tx::VerifiedTx;
use suyuan_storage::schema::{COLUMN_FAMILIES, cf};
use suyuan_storage::{StorageError, Store, TreeWrites};

/// The log leaf hash of a transaction.
fn leaf(tx: &VerifiedTx) -> Hash32 {
    leaf_hash::<Blake3>(tx.id.as_bytes())
}

/// The map key of every code a transaction names.
fn keys(tx: &VerifiedTx) -> Vec<MapKey> {
    tx.payload
        .record
        .codes()
        .into_iter()
        .map(|code| MapKey::of_code(code.to_string().as_bytes()))
        .collect()
}

/// The tree writes of block `height` holding `txs`, computed over the store, and the roots
/// they give.
fn tree_writes(store: &Store, height: u64, txs: &[VerifiedTx]) -> (TreeWrites, Hash32, Hash32) {
    let mut frontier = store.log_frontier().expect("the frontier loads");
    let mut log_nodes = Vec::new();
    let mut batch = MapBatch::new();
    for tx in txs {
        frontier
            .append(leaf(tx), &mut log_nodes)
            .expect("the log has room");
        for key in keys(tx) {
            batch.insert(key, leaf(tx));
        }
    }
    let update = map::update::<Blake3>(store, height, &batch).expect("the map updates");
    let writes = TreeWrites {
        log_nodes,
        map_nodes: update.nodes,
    };
    (writes, frontier.root(), update.root)
}

/// What the trees hold, kept in memory as the chain grows, one entry per height.
#[derive(Default)]
struct Model {
    /// Every leaf, in commit order.
    leaves: Vec<Hash32>,
    /// Log size at each height, index 0 the genesis.
    sizes: Vec<u64>,
    /// Each code's latest leaf at each height.
    latest: Vec<BTreeMap<MapKey, Hash32>>,
}

impl Model {
    fn new() -> Model {
        Model {
            leaves: Vec::new(),
            sizes: vec![0],
            latest: vec![BTreeMap::new()],
        }
    }

    fn push_block(&mut self, txs: &[VerifiedTx]) {
        let mut latest = self.latest.last().cloned().unwrap_or_default();
        for tx in txs {
            self.leaves.push(leaf(tx));
            for key in keys(tx) {
                latest.insert(key, leaf(tx));
            }
        }
        self.sizes.push(self.leaves.len() as u64);
        self.latest.push(latest);
    }

    /// The log root at `height`, from a fresh in-memory log of its leaves.
    fn log_root(&self, height: u64) -> Hash32 {
        let mut log = MemLog::<Blake3>::new();
        for leaf in &self.leaves[..self.sizes[height as usize] as usize] {
            log.append(*leaf).unwrap();
        }
        log.root()
    }

    /// The map root at `height`, from one batch of every code's latest leaf into an empty map.
    fn map_root(&self, height: u64) -> Hash32 {
        let mut batch = MapBatch::new();
        for (key, value) in &self.latest[height as usize] {
            batch.insert(*key, *value);
        }
        map::update::<Blake3>(&MemMapStore::new(), 1, &batch)
            .unwrap()
            .root
    }
}

/// Commits blocks up to `to` with their tree writes, checking the roots after each.
fn commit_with_trees(store: &Store, workload: &Workload, model: &mut Model, to: u64) {
    while store.head().height < to {
        let head = store.head();
        let height = head.height + 1;
        let p = workload.prepare(store, height, head.hash);
        let (writes, log_root, map_root) = tree_writes(store, height, &p.txs);
        store
            .commit_block(&p.block, &p.txs, &p.certificate, &p.writes, &writes)
            .unwrap();
        model.push_block(&p.txs);
        assert_eq!(
            store.log_size_at(height).unwrap(),
            Some(model.sizes[height as usize])
        );
        assert_eq!(store.log_root_at(height).unwrap(), Some(log_root));
        assert_eq!(log_root, model.log_root(height), "log root at {height}");
        assert_eq!(store.map_root_at(height).unwrap(), Some(map_root));
        assert_eq!(map_root, model.map_root(height), "map root at {height}");
    }
}

/// A chain of the demo story and a few generated blocks, so that the log crosses several
/// powers of two and codes get superseded.
fn chain(label: &str) -> (TempDir, Workload, Model) {
    let dir = TempDir::new(label);
    let workload = Workload::new(3);
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    let mut model = Model::new();
    commit_with_trees(&store, &workload, &mut model, 9);
    (dir, workload, model)
}

#[test]
fn roots_match_a_recomputation_and_proofs_verify_at_every_older_height() {
    let (dir, workload, model) = chain("trees-proofs");
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    let head = store.head().height;
    assert_eq!(head, 9);
    assert!(model.leaves.len() > 16, "the log crosses 16 leaves");
    assert_eq!(store.log_size_at(head + 1).unwrap(), None);
    assert_eq!(store.log_root_at(head + 1).unwrap(), None);
    assert_eq!(store.map_root_at(head + 1).unwrap(), None);
    assert_eq!(store.log_frontier().unwrap().root(), model.log_root(head));

    let head_size = model.sizes[head as usize];
    let head_log_root = store.log_root_at(head).unwrap().unwrap();
    let head_map_root = store.map_root_at(head).unwrap().unwrap();
    let absent = MapKey::of_code(b"01/09999999999994/21/NEVER");
    let all_keys: Vec<MapKey> = model.latest[head as usize].keys().copied().collect();
    let mut superseded = 0;

    for height in 0..=head {
        let size = store.log_size_at(height).unwrap().unwrap();
        assert_eq!(size, model.sizes[height as usize]);
        let log_root = store.log_root_at(height).unwrap().unwrap();
        let map_root = store.map_root_at(height).unwrap().unwrap();
        assert_eq!(log_root, model.log_root(height), "log root at {height}");
        assert_eq!(map_root, model.map_root(height), "map root at {height}");

        for index in 0..size {
            let proof = inclusion_proof::<Blake3>(&store, index, size).unwrap();
            let leaf = model.leaves[index as usize];
            assert_eq!(proof.verify::<Blake3>(&leaf, &log_root), Ok(()));
            // The same proof does not hold for another leaf.
            let other = model.leaves[((index + 1) % size) as usize];
            if other != leaf {
                assert!(proof.verify::<Blake3>(&other, &log_root).is_err());
            }
        }
        if size > 0 {
            let proof = consistency_proof::<Blake3>(&store, size, head_size).unwrap();
            assert_eq!(proof.verify::<Blake3>(&log_root, &head_log_root), Ok(()));
        }

        let latest = &model.latest[height as usize];
        for key in all_keys.iter().chain([&absent]) {
            let proof = map::prove::<Blake3>(&store, height, key).unwrap();
            let claim = latest.get(key);
            assert_eq!(
                proof.verify::<Blake3>(&map_root, key, claim),
                Ok(()),
                "map proof of {key} at height {height}"
            );
            // A value superseded since is not the latest at the head.
            let now = model.latest[head as usize].get(key);
            if let (Some(then), Some(now)) = (claim, now)
                && then != now
            {
                superseded += 1;
                let at_head = map::prove::<Blake3>(&store, head, key).unwrap();
                assert!(
                    at_head
                        .verify::<Blake3>(&head_map_root, key, Some(then))
                        .is_err()
                );
            }
        }
    }
    assert!(superseded > 0, "some code is superseded along the chain");
}

/// Proofs read at the head by other threads while blocks commit (the API's bundles beside the
/// chain's commits, both through the map's cached upper levels) each verify against the root of
/// the height they were read at.
#[test]
fn proofs_read_while_blocks_commit_verify_at_their_height() {
    let (dir, workload, mut model) = chain("trees-concurrent");
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    let mut keys: Vec<MapKey> = model.latest[9].keys().copied().collect();
    keys.push(MapKey::of_code(b"01/09999999999994/21/NEVER"));
    let committing = AtomicBool::new(true);
    let read = std::thread::scope(|scope| {
        let readers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut read = Vec::new();
                    while committing.load(Ordering::Relaxed) {
                        let height = store.head().height;
                        let reader = store.map_reader();
                        for key in &keys {
                            let proof = map::prove::<Blake3>(&reader, height, key).unwrap();
                            read.push((height, *key, proof));
                        }
                    }
                    read
                })
            })
            .collect();
        commit_with_trees(&store, &workload, &mut model, 40);
        committing.store(false, Ordering::Relaxed);
        readers
            .into_iter()
            .flat_map(|reader| reader.join().unwrap())
            .collect::<Vec<_>>()
    });
    let roots: Vec<Hash32> = (0..=40).map(|height| model.map_root(height)).collect();
    let heights: std::collections::BTreeSet<u64> = read.iter().map(|(h, _, _)| *h).collect();
    assert!(heights.len() > 10, "proofs were read at {heights:?}");
    for (height, key, proof) in &read {
        let claim = model.latest[*height as usize].get(key);
        assert_eq!(
            proof.verify::<Blake3>(&roots[*height as usize], key, claim),
            Ok(()),
            "map proof of {key} read at height {height}"
        );
    }
}

#[test]
fn tree_writes_that_do_not_extend_the_stored_log_are_refused() {
    let dir = TempDir::new("trees-refused");
    let workload = Workload::new(3);
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    let mut model = Model::new();
    commit_with_trees(&store, &workload, &mut model, 2);

    let head = store.head();
    let p = workload.prepare(&store, 3, head.hash);
    let (good, _, _) = tree_writes(&store, 3, &p.txs);
    assert!(
        good.log_nodes.len() > good.leaves() as usize,
        "a parent is completed"
    );

    let mut wrong_parent = good.clone();
    let parent = wrong_parent
        .log_nodes
        .iter_mut()
        .find(|node| node.id.level > 0)
        .unwrap();
    parent.hash.0[0] ^= 1;
    let mut missing_parent = good.clone();
    missing_parent.log_nodes.retain(|node| node.id.level == 0);
    let mut misplaced = good.clone();
    misplaced.log_nodes[0] = LogNode {
        id: NodeId {
            level: 0,
            index: 1000,
        },
        hash: misplaced.log_nodes[0].hash,
    };
    for (what, writes) in [
        ("wrong parent", wrong_parent),
        ("missing parent", missing_parent),
        ("misplaced leaf", misplaced),
    ] {
        assert_trees_refused(&store, &p, &writes, what);
    }
    store
        .commit_block(&p.block, &p.txs, &p.certificate, &p.writes, &good)
        .unwrap();
    model.push_block(&p.txs);
    assert_eq!(store.log_root_at(3).unwrap(), Some(model.log_root(3)));
}

/// Committing block 3 (`p`) with `writes` is refused as a trees mismatch, and nothing is
/// written.
fn assert_trees_refused(store: &Store, p: &support::Prepared, writes: &TreeWrites, what: &str) {
    let head = store.head();
    let result = store.commit_block(&p.block, &p.txs, &p.certificate, &p.writes, writes);
    assert!(
        matches!(result, Err(StorageError::TreesMismatch { height: 3, .. })),
        "{what}: {result:?}"
    );
    assert_eq!(store.head(), head, "{what}: nothing is written");
    assert_eq!(store.log_size_at(3).unwrap(), None);
}

/// A block whose records are not appended to the log (no tree nodes, or fewer leaves than
/// transactions) is refused, and nothing is written: every committed record is provable.
#[test]
fn a_block_whose_records_are_not_in_the_log_is_refused() {
    let dir = TempDir::new("trees-none");
    let workload = Workload::new(3);
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    let mut model = Model::new();
    commit_with_trees(&store, &workload, &mut model, 2);
    let head = store.head();
    let p = workload.prepare(&store, 3, head.hash);
    let (good, _, _) = tree_writes(&store, 3, &p.txs);
    let mut one_leaf_short = good.clone();
    let last_leaf = one_leaf_short
        .log_nodes
        .iter()
        .rposition(|node| node.id.level == 0)
        .unwrap();
    one_leaf_short.log_nodes.truncate(last_leaf);
    for (what, writes) in [
        ("no tree nodes", TreeWrites::none()),
        ("one leaf short", one_leaf_short),
    ] {
        assert_trees_refused(&store, &p, &writes, what);
    }
    store
        .commit_block(&p.block, &p.txs, &p.certificate, &p.writes, &good)
        .unwrap();
    assert_eq!(
        store.log_size_at(3).unwrap(),
        Some(store.log_size_at(2).unwrap().unwrap() + p.txs.len() as u64)
    );
}

/// Opens the database with plain RocksDB, as a failing disk would see it.
fn raw(dir: &TempDir) -> DB {
    DB::open_cf(&Options::default(), dir.path(), COLUMN_FAMILIES).unwrap()
}

/// Replaces the value under `key` in `family` by `change(value)`; `None` deletes it.
fn rewrite(dir: &TempDir, family: &str, key: &[u8], change: impl Fn(Vec<u8>) -> Option<Vec<u8>>) {
    let db = raw(dir);
    let handle = db.cf_handle(family).unwrap();
    let value = db.get_cf(handle, key).unwrap().expect("the key is stored");
    match change(value) {
        Some(value) => db.put_cf(handle, key, value).unwrap(),
        None => db.delete_cf(handle, key).unwrap(),
    }
}

fn flip_last_byte(mut value: Vec<u8>) -> Option<Vec<u8>> {
    *value.last_mut().unwrap() ^= 0x01;
    Some(value)
}

fn is_corrupt(error: &StorageError, family: &str) -> bool {
    matches!(error, StorageError::Corrupt { what, .. } if *what == family)
}

#[test]
fn a_corrupt_or_missing_log_node_is_reported_not_served() {
    let (dir, workload, model) = chain("trees-corrupt-log");
    let size = model.sizes[9];
    // The largest perfect node of the head's log: the first node of its root's cover.
    let top = NodeId {
        level: (63 - size.leading_zeros()) as u8,
        index: 0,
    };
    let leaf0 = NodeId { level: 0, index: 0 };
    rewrite(&dir, cf::LOG_NODES, &leaf0.to_bytes(), flip_last_byte);
    rewrite(&dir, cf::LOG_NODES, &top.to_bytes(), flip_last_byte);
    {
        let store = Store::open(dir.path(), workload.genesis()).unwrap();
        // The proof of leaf 1 holds leaf 0.
        let error = inclusion_proof::<Blake3>(&store, 1, size).unwrap_err();
        assert!(
            matches!(error, LogReadError::Store(StoreError::Corrupt { ref node, .. })
                if node.contains("level 0, index 0")),
            "{error:?}"
        );
        assert!(matches!(
            store.log_node(leaf0),
            Err(StoreError::Corrupt { .. })
        ));
        let error = store.log_root_at(9).unwrap_err();
        assert!(is_corrupt(&error, cf::LOG_NODES), "{error}");
        assert!(store.log_frontier().is_err());
        // A node the block cannot extend from refuses the commit, and nothing is written.
        let head = store.head();
        let p = workload.prepare(&store, 10, head.hash);
        let writes = TreeWrites {
            log_nodes: vec![LogNode {
                id: NodeId {
                    level: 0,
                    index: size,
                },
                hash: leaf(&p.txs[0]),
            }],
            map_nodes: BTreeMap::new(),
        };
        let error = store
            .commit_block(&p.block, &p.txs, &p.certificate, &p.writes, &writes)
            .unwrap_err();
        assert!(is_corrupt(&error, cf::LOG_NODES), "{error}");
        assert_eq!(store.head(), head);
    }
    rewrite(&dir, cf::LOG_NODES, &top.to_bytes(), |_| None);
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    let error = store.log_root_at(9).unwrap_err();
    assert!(is_corrupt(&error, cf::LOG_NODES), "{error}");
    assert!(error.to_string().contains("missing"), "{error}");
}

#[test]
fn a_corrupt_map_node_is_reported_not_served() {
    let (dir, workload, model) = chain("trees-corrupt-map");
    // The root as of the head: the last version that wrote the root position.
    let root_key = {
        let db = raw(&dir);
        let handle = db.cf_handle(cf::MAP_NODES).unwrap();
        let prefix = NodePosition::ROOT.to_bytes();
        db.iterator_cf(handle, IteratorMode::From(&prefix, Direction::Forward))
            .map(|item| item.unwrap().0)
            .take_while(|key| key.starts_with(&prefix))
            .last()
            .expect("the root is stored")
            .to_vec()
    };
    let version = u64::from_be_bytes(root_key[34..].try_into().unwrap());
    rewrite(&dir, cf::MAP_NODES, &root_key, flip_last_byte);
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    let error = store.map_root_at(9).unwrap_err();
    assert!(is_corrupt(&error, cf::MAP_NODES), "{error}");
    let key = *model.latest[9].keys().next().unwrap();
    let error = map::prove::<Blake3>(&store, version, &key).unwrap_err();
    assert!(
        matches!(error, MapReadError::Store(StoreError::Corrupt { ref node, .. })
            if node.contains(&format!("version {version}"))),
        "{error:?}"
    );
    assert!(store.map_node(&NodePosition::ROOT, version).is_err());
    // Versions before the corrupt one read their own, intact, root.
    if version > 1 {
        assert_eq!(
            store.map_root_at(version - 1).unwrap(),
            Some(model.map_root(version - 1))
        );
    }
}

/// Set in the crash test's child: the database directory.
const CHILD_ENV: &str = "SUYUAN_STORAGE_TREES_CRASH_CHILD";

/// The crash test's child: commits the next block with its trees in a loop, printing
/// `ack <height>` only after each commit returns. A no-op test in normal runs.
#[test]
fn trees_child_process_entry_point() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let workload = Workload::for_child(8);
    let store = Store::open(Path::new(&path), workload.genesis()).expect("the child opens");
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {}", store.head().height)
        .and_then(|()| out.flush())
        .expect("stdout");
    loop {
        let head = store.head();
        let height = head.height + 1;
        let p = workload.prepare(&store, height, head.hash);
        let (writes, _, _) = tree_writes(&store, height, &p.txs);
        store
            .commit_block(&p.block, &p.txs, &p.certificate, &p.writes, &writes)
            .expect("commit");
        writeln!(out, "ack {height}")
            .and_then(|()| out.flush())
            .expect("stdout");
    }
}

/// Kills a child that commits blocks with their trees at varied moments, and checks after each
/// kill that the head's tree nodes are all there (the roots equal a replay's) and that nothing
/// of a block that is not visible was written. `SUYUAN_TREES_CRASH_KILLS` sets the number of
/// kills (default 20).
#[test]
fn kill9_leaves_each_block_with_its_tree_nodes_or_neither() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let kills: u64 = env_count("SUYUAN_TREES_CRASH_KILLS", 20);
    let dir = TempDir::new("trees-crash");
    let workload = Workload::new(8);
    let mut state = MemState::new();
    let mut parent = workload.genesis().hash();
    let mut model = Model::new();
    let mut acked = 0;
    for kill in 0..kills {
        let mut child = spawn_child(
            "trees_child_process_entry_point",
            CHILD_ENV,
            dir.path(),
            &workload,
        );
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        // The test harness prints its own lines first.
        let ready = lines
            .by_ref()
            .map_while(Result::ok)
            .any(|line| line.contains("ready "));
        assert!(ready, "kill {kill}: the child did not open the database");
        // From 0 to 95 ms of commits, varied with the kill number.
        std::thread::sleep(Duration::from_millis(kill * 37 % 96));
        child.kill().expect("SIGKILL the child");
        child.wait().expect("reap the child");
        for line in lines.map_while(Result::ok) {
            if let Some(height) = line
                .rsplit_once("ack ")
                .and_then(|(_, h)| h.trim().parse::<u64>().ok())
            {
                acked = acked.max(height);
            }
        }

        let store = Store::open(dir.path(), workload.genesis())
            .unwrap_or_else(|error| panic!("kill {kill}: the database does not open: {error}"));
        let head = store.head().height;
        assert!(
            head >= acked,
            "kill {kill}: acknowledged block {acked} lost"
        );
        while (model.sizes.len() as u64) <= head {
            let height = model.sizes.len() as u64;
            let p = workload.prepare(&state, height, parent);
            parent = p.block.hash();
            state.apply(p.writes);
            model.push_block(&p.txs);
        }
        let size = model.sizes[head as usize];
        assert_eq!(store.log_size_at(head).unwrap(), Some(size), "kill {kill}");
        assert_eq!(
            store.log_root_at(head).unwrap(),
            Some(model.log_root(head)),
            "kill {kill}: log root at head {head}"
        );
        assert_eq!(
            store.map_root_at(head).unwrap(),
            Some(model.map_root(head)),
            "kill {kill}: map root at head {head}"
        );
        // Nothing of the block above the head: no leaf beyond the log, no map version above.
        assert_eq!(
            store.log_node(NodeId {
                level: 0,
                index: size
            }),
            Ok(None),
            "kill {kill}: a leaf of an invisible block is stored"
        );
        assert_eq!(
            map::root::<Blake3>(&store, head + 1),
            Ok(model.map_root(head)),
            "kill {kill}: map nodes of an invisible block are stored"
        );
    }
    assert!(
        acked > 10,
        "the children committed too little to test anything"
    );
}
