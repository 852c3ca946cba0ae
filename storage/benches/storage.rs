//! Measure the store on a real disk: blocks of 1,000 records committed per second with sync on,
//! point lookups per second by code, and bytes on disk per record.
//!
//! Run with `cargo bench -p suyuan-storage --bench storage` (release profile). Transactions are
//! signed before any timing; verification and execution happen between commits and are not
//! timed: only `Store::commit_block`, `Store::code_latest` and `StateRead::get` are.
//!
//! `SUYUAN_BENCH_BLOCKS` sets the number of 1,000-record blocks (default 60);
//! `SUYUAN_BENCH_DIR` puts the database on another disk (default: the system temp dir).

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::{STORY_BLOCKS, TempDir, Workload};
use suyuan_ledger::record::TraceCode;
use suyuan_ledger::state::{StateKey, StateRead};
use suyuan_storage::Store;

const RECORDS_PER_BLOCK: usize = 1_000;
const LOOKUPS: usize = 100_000;

fn main() {
    let blocks: u64 = std::env::var("SUYUAN_BENCH_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let dir = match std::env::var_os("SUYUAN_BENCH_DIR") {
        Some(base) => {
            println!("database under {}", Path::new(&base).display());
            TempDir::new_in(Path::new(&base), "bench")
        }
        None => TempDir::new("bench"),
    };
    let workload = Workload::new(RECORDS_PER_BLOCK);
    let store = Store::open(dir.path(), workload.genesis()).expect("open");
    for height in 1..=STORY_BLOCKS {
        let p = workload.prepare(&store, height, store.head().hash);
        p.commit_to(&store).expect("commit");
    }

    let first = STORY_BLOCKS + 1;
    let signing = Instant::now();
    let signed: Vec<_> = (first..first + blocks)
        .map(|h| workload.envelopes(h))
        .collect();
    println!(
        "signed {} transactions in {:.1} s (not timed below)",
        blocks as usize * RECORDS_PER_BLOCK,
        signing.elapsed().as_secs_f64()
    );

    let mut commits = Vec::with_capacity(blocks as usize);
    let mut records = 0usize;
    for (height, envelopes) in (first..).zip(signed) {
        let p = workload.prepare_signed(&store, height, store.head().hash, envelopes);
        records += p.txs.len();
        let started = Instant::now();
        p.commit_to(&store).expect("commit");
        commits.push(started.elapsed());
    }
    report_commits(&mut commits, records);

    let codes: Vec<TraceCode> = (first..first + blocks)
        .flat_map(|h| {
            (0..RECORDS_PER_BLOCK)
                .filter(|i| i % 4 < 2)
                .map(move |i| Workload::lot(h, i))
        })
        .collect();
    store.compact().expect("compact");
    report_lookups(&store, &codes);
    report_size(dir.path(), store.counts().transactions);
}

fn report_commits(commits: &mut [Duration], records: usize) {
    let total: Duration = commits.iter().sum();
    commits.sort_unstable();
    let at = |q: f64| commits[((commits.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
    println!(
        "commit, sync on: {} blocks of {} records in {:.2} s = {:.1} blocks/s = {:.0} records/s; \
         latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        commits.len(),
        RECORDS_PER_BLOCK,
        total.as_secs_f64(),
        commits.len() as f64 / total.as_secs_f64(),
        records as f64 / total.as_secs_f64(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

fn report_lookups(store: &Store, codes: &[TraceCode]) {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let picks: Vec<&TraceCode> = (0..LOOKUPS)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            &codes[(state % codes.len() as u64) as usize]
        })
        .collect();
    let started = Instant::now();
    for code in &picks {
        let found = store.code_latest(code).expect("lookup");
        assert!(found.is_some(), "every committed code is found");
    }
    let latest = started.elapsed();
    let keys: Vec<StateKey> = picks
        .iter()
        .map(|code| StateKey::Code((*code).clone()))
        .collect();
    let started = Instant::now();
    for key in &keys {
        assert!(store.get(key).expect("lookup").is_some());
    }
    let state_reads = started.elapsed();
    println!(
        "point lookups over {} codes, random order, after compaction: \
         code_latest (index + transaction, checked) {:.0}/s ({:.1} µs each); \
         state get of a code {:.0}/s ({:.1} µs each)",
        codes.len(),
        LOOKUPS as f64 / latest.as_secs_f64(),
        latest.as_secs_f64() * 1e6 / LOOKUPS as f64,
        LOOKUPS as f64 / state_reads.as_secs_f64(),
        state_reads.as_secs_f64() * 1e6 / LOOKUPS as f64,
    );
}

fn report_size(dir: &Path, transactions: u64) {
    let mut sst = 0u64;
    let mut total = 0u64;
    for entry in std::fs::read_dir(dir)
        .expect("read the database directory")
        .flatten()
    {
        let size = entry.metadata().map_or(0, |m| m.len());
        total += size;
        if entry.path().extension().is_some_and(|e| e == "sst") {
            sst += size;
        }
    }
    println!(
        "on disk after flush and compaction: {} records, SST {:.1} MiB = {:.0} bytes/record; \
         whole directory (with WAL and logs) {:.1} MiB = {:.0} bytes/record",
        transactions,
        sst as f64 / 1048576.0,
        sst as f64 / transactions as f64,
        total as f64 / 1048576.0,
        total as f64 / transactions as f64,
    );
}
