//! Measure the Merkle trees: log appends, inclusion proofs served and checked, code-map updates
//! in blocks of 1,000 codes, map proofs, and proof sizes.
//!
//! Run: `cargo bench --workspace --bench merkle` (release profile). Prints one line per figure;
//! `SUYUAN_BENCH_ENTRIES` sets the number of log records and map codes (default 100,000). Stores
//! are the in-memory ones, so the figures are the trees' own cost, without storage.

use std::time::Instant;

use suyuan_ledger::hash::Hash32;
use suyuan_ledger::merkle::log::{
    Frontier, InclusionProof, MemLog, consistency_proof, inclusion_proof, leaf_hash,
};
use suyuan_ledger::merkle::map::{
    MapBatch, MapKey, MapProof, MemMapStore, prove, root as map_root, update,
};
use suyuan_ledger::merkle::{Blake3, Sha256, TreeHash};

/// Codes per block in the map benchmark.
const BATCH: usize = 1_000;

/// Proofs generated and checked per figure.
const SAMPLES: usize = 100_000;

fn main() {
    let entries: usize = std::env::var("SUYUAN_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    println!("entries: {entries}; one core; in-memory stores");
    let log = bench_log(entries);
    bench_log_sha256(entries);
    bench_log_proofs(&log);
    bench_map(entries);
}

fn record(i: u64) -> Hash32 {
    Blake3::hash(&[b"record", &i.to_be_bytes()])
}

fn bench_log(entries: usize) -> MemLog<Blake3> {
    let leaves: Vec<Hash32> = (0..entries as u64)
        .map(|i| leaf_hash::<Blake3>(record(i).as_bytes()))
        .collect();

    let start = Instant::now();
    let mut frontier = Frontier::<Blake3>::new();
    let mut completed = Vec::new();
    for leaf in &leaves {
        frontier.append(*leaf, &mut completed).unwrap();
    }
    let root = frontier.root();
    report(
        "log appends, BLAKE3 (frontier, nodes listed)",
        entries,
        start,
    );
    println!(
        "  nodes to persist: {} ({:.2} per leaf, 41 bytes each as key + value)",
        completed.len(),
        completed.len() as f64 / entries as f64
    );

    let start = Instant::now();
    let mut log = MemLog::<Blake3>::new();
    for leaf in &leaves {
        log.append(*leaf).unwrap();
    }
    report(
        "log appends, BLAKE3 (frontier + in-memory node store)",
        entries,
        start,
    );
    assert_eq!(log.root(), root);

    let start = Instant::now();
    let loaded = Frontier::<Blake3>::load(&log, entries as u64).unwrap();
    let loaded_root = loaded.root();
    println!(
        "  frontier load from stored nodes at {entries}: {:.1} µs",
        start.elapsed().as_secs_f64() * 1e6
    );
    assert_eq!(loaded_root, root);
    log
}

fn bench_log_sha256(entries: usize) {
    let leaves: Vec<Hash32> = (0..entries as u64)
        .map(|i| leaf_hash::<Sha256>(record(i).as_bytes()))
        .collect();
    let start = Instant::now();
    let mut frontier = Frontier::<Sha256>::new();
    let mut completed = Vec::new();
    for leaf in &leaves {
        completed.clear();
        frontier.append(*leaf, &mut completed).unwrap();
    }
    std::hint::black_box(frontier.root());
    report(
        "log appends, SHA-256 (frontier, nodes listed)",
        entries,
        start,
    );
}

fn bench_log_proofs(log: &MemLog<Blake3>) {
    let size = log.size();
    let root = log.root();
    let indices: Vec<u64> = Sampler::new(1).take(SAMPLES).map(|x| x % size).collect();

    let start = Instant::now();
    let proofs: Vec<InclusionProof> = indices
        .iter()
        .map(|&i| inclusion_proof::<Blake3>(log, i, size).unwrap())
        .collect();
    report("inclusion proofs generated", SAMPLES, start);

    let leaves: Vec<Hash32> = indices
        .iter()
        .map(|&i| leaf_hash::<Blake3>(record(i).as_bytes()))
        .collect();
    let start = Instant::now();
    for (proof, leaf) in proofs.iter().zip(&leaves) {
        proof.verify::<Blake3>(leaf, &root).unwrap();
    }
    report("inclusion proofs verified", SAMPLES, start);

    let (binary, json) = sizes(
        proofs
            .iter()
            .map(|p| (p.to_bytes().len(), serde_json::to_string(p).unwrap().len())),
    );
    println!(
        "  inclusion proof at {size}: {} hashes max; binary {binary}; JSON {json}",
        proofs.iter().map(|p| p.path.len()).max().unwrap_or(0)
    );

    let old_sizes: Vec<u64> = Sampler::new(2)
        .take(SAMPLES / 10)
        .map(|x| 1 + x % size)
        .collect();
    let start = Instant::now();
    let consistency: Vec<_> = old_sizes
        .iter()
        .map(|&old| consistency_proof::<Blake3>(log, old, size).unwrap())
        .collect();
    report("consistency proofs generated", old_sizes.len(), start);
    let old_roots: Vec<Hash32> = old_sizes
        .iter()
        .map(|&old| suyuan_ledger::merkle::log::root_at::<Blake3>(log, old).unwrap())
        .collect();
    let start = Instant::now();
    for (proof, old_root) in consistency.iter().zip(&old_roots) {
        proof.verify::<Blake3>(old_root, &root).unwrap();
    }
    report("consistency proofs verified", old_sizes.len(), start);
    let (binary, json) = sizes(
        consistency
            .iter()
            .map(|p| (p.to_bytes().len(), serde_json::to_string(p).unwrap().len())),
    );
    println!("  consistency proof to {size}: binary {binary}; JSON {json}");
}

fn bench_map(entries: usize) {
    let keys: Vec<MapKey> = (0..entries)
        .map(|i| MapKey::of_code(format!("01/06901234567892/21/SN{i:07}").as_bytes()))
        .collect();
    let mut store = MemMapStore::new();
    let mut version = 0u64;
    let mut update_seconds = 0.0;
    let mut apply_seconds = 0.0;
    let mut nodes_written = 0usize;
    for chunk in keys.chunks(BATCH) {
        version += 1;
        let mut batch = MapBatch::new();
        for (n, key) in chunk.iter().enumerate() {
            batch.insert(*key, record(version * BATCH as u64 + n as u64));
        }
        let start = Instant::now();
        let written = update::<Blake3>(&store, version, &batch).unwrap();
        update_seconds += start.elapsed().as_secs_f64();
        nodes_written += written.nodes.len();
        let start = Instant::now();
        store.apply(&written);
        apply_seconds += start.elapsed().as_secs_f64();
    }
    println!(
        "map updates, new codes in blocks of {BATCH} (0 to {entries} codes): {:.0} per second; \
         {:.2} nodes written per code; in-memory apply {:.0} per second",
        entries as f64 / update_seconds,
        nodes_written as f64 / entries as f64,
        entries as f64 / apply_seconds
    );

    // Blocks of 1,000 on the full map: half new codes, half codes already there.
    let blocks = 20;
    let mut sampler = Sampler::new(3);
    let start = Instant::now();
    for block in 0..blocks {
        version += 1;
        let mut batch = MapBatch::new();
        for n in 0..BATCH {
            let key = match n % 2 {
                0 => keys[(sampler.next().unwrap() % entries as u64) as usize],
                _ => MapKey::of_code(format!("NEW/{block}/{n}").as_bytes()),
            };
            batch.insert(key, record(version * BATCH as u64 + n as u64));
        }
        let written = update::<Blake3>(&store, version, &batch).unwrap();
        store.apply(&written);
    }
    report(
        &format!("map updates, blocks of {BATCH} on a map of {entries} (half new), with apply"),
        blocks * BATCH,
        start,
    );

    let root = map_root::<Blake3>(&store, version).unwrap();
    let members: Vec<MapKey> = Sampler::new(4)
        .take(SAMPLES)
        .map(|x| keys[(x % entries as u64) as usize])
        .collect();
    let start = Instant::now();
    let proofs: Vec<MapProof> = members
        .iter()
        .map(|key| prove::<Blake3>(&store, version, key).unwrap())
        .collect();
    report("map proofs generated (members)", SAMPLES, start);
    let start = Instant::now();
    for (proof, key) in proofs.iter().zip(&members) {
        let value = proof.resolve::<Blake3>(&root, key).unwrap();
        assert!(value.is_some());
    }
    report("map proofs verified (members)", SAMPLES, start);
    let (binary, json) = sizes(
        proofs
            .iter()
            .map(|p| (p.to_bytes().len(), serde_json::to_string(p).unwrap().len())),
    );
    println!(
        "  membership proof at {entries} codes: {} siblings max; binary {binary}; JSON {json}",
        proofs.iter().map(|p| p.siblings.len()).max().unwrap_or(0)
    );

    let strangers: Vec<MapKey> = (0..SAMPLES / 10)
        .map(|i| MapKey::of_code(format!("ABSENT/{i}").as_bytes()))
        .collect();
    let absent: Vec<MapProof> = strangers
        .iter()
        .map(|key| prove::<Blake3>(&store, version, key).unwrap())
        .collect();
    for (proof, key) in absent.iter().zip(&strangers) {
        proof.verify::<Blake3>(&root, key, None).unwrap();
    }
    let (binary, json) = sizes(
        absent
            .iter()
            .map(|p| (p.to_bytes().len(), serde_json::to_string(p).unwrap().len())),
    );
    let ended_at_leaf = absent.iter().filter(|p| p.leaf.is_some()).count();
    println!(
        "  absence proof at {entries} codes: binary {binary}; JSON {json}; \
         {:.0}% end at another code's leaf",
        100.0 * ended_at_leaf as f64 / absent.len() as f64
    );
    println!("  map nodes kept over all versions: {}", store.len());
}

/// "mean M bytes (max X)" for binary and JSON sizes.
fn sizes(items: impl Iterator<Item = (usize, usize)>) -> (String, String) {
    let (mut count, mut binary_sum, mut json_sum, mut binary_max, mut json_max) = (0, 0, 0, 0, 0);
    for (binary, json) in items {
        count += 1;
        binary_sum += binary;
        json_sum += json;
        binary_max = binary_max.max(binary);
        json_max = json_max.max(json);
    }
    let count = count.max(1);
    (
        format!("mean {} bytes (max {binary_max})", binary_sum / count),
        format!("mean {} bytes (max {json_max})", json_sum / count),
    )
}

/// A deterministic xorshift64 sequence, so runs are comparable.
struct Sampler(u64);

impl Sampler {
    fn new(seed: u64) -> Self {
        Sampler(0x9E37_79B9_7F4A_7C15 ^ seed)
    }
}

impl Iterator for Sampler {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Some(self.0)
    }
}

fn report(what: &str, count: usize, start: Instant) {
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{what}: {:.0} per second ({count} in {seconds:.3} s)",
        count as f64 / seconds
    );
}
