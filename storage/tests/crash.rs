//! Kill a process that commits blocks with SIGKILL at random moments, many times, and check
//! after each kill that the database opens, every acknowledged block and WAL record is there and
//! intact, no half-written block is visible, and the state equals a replay in memory.
//!
//! The child is this test binary run again with [`CHILD_ENV`] set: it opens the database,
//! appends a vote to the WAL and commits the next block in a loop, printing `wal <seq> <height>`
//! and `ack <height>` to stdout only after each call returns. Whatever it printed before the kill
//! was acknowledged and must survive.
//!
//! `SUYUAN_CRASH_KILLS` sets the number of kills (default 100); `SUYUAN_CRASH_SEED` replays the
//! kill timings of an earlier run (the seed is printed).

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{TempDir, Workload, env_count, spawn_child};
use suyuan_ledger::block::BlockHash;
use suyuan_ledger::state::MemState;
use suyuan_storage::{CheckScope, Store};

/// Set in the child: the database directory.
const CHILD_ENV: &str = "SUYUAN_STORAGE_CRASH_CHILD";

/// Records in each generated block: small, so that many blocks commit between kills.
const RECORDS_PER_BLOCK: usize = 8;

/// The child truncates its WAL every this many blocks.
const TRUNCATE_EVERY: u64 = 16;

/// The child's job; a no-op test in normal runs.
#[test]
fn child_process_entry_point() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let workload = Workload::for_child(RECORDS_PER_BLOCK);
    let store =
        Store::open(Path::new(&path), workload.genesis()).expect("the child opens the database");
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {}", store.head().height)
        .and_then(|()| out.flush())
        .expect("stdout");
    loop {
        let head = store.head();
        let height = head.height + 1;
        let prepared = workload.prepare(&store, height, head.hash);
        let seq = store
            .wal_append(vote(height).as_bytes())
            .expect("WAL append");
        writeln!(out, "wal {seq} {height}")
            .and_then(|()| out.flush())
            .expect("stdout");
        prepared.commit_to(&store).expect("commit");
        writeln!(out, "ack {height}")
            .and_then(|()| out.flush())
            .expect("stdout");
        if height.is_multiple_of(TRUNCATE_EVERY) {
            let floor = seq.saturating_sub(8);
            writeln!(out, "truncating {floor}")
                .and_then(|()| out.flush())
                .expect("stdout");
            store.wal_truncate_below(floor).expect("WAL truncation");
            writeln!(out, "truncated {floor}")
                .and_then(|()| out.flush())
                .expect("stdout");
        }
    }
}

fn vote(height: u64) -> String {
    format!("vote for block {height}")
}

/// What the parent knows the children acknowledged.
#[derive(Default)]
struct Acknowledged {
    height: u64,
    /// WAL sequence number → the height its vote names.
    wal: BTreeMap<u64, u64>,
    /// Highest truncation floor any child started; acknowledged records below it may be gone.
    attempted_floor: u64,
    /// Highest truncation floor a child finished; nothing below it may remain.
    floor: u64,
}

impl Acknowledged {
    fn read(&mut self, line: &str) {
        // The test harness prints `test child_process_entry_point ... ` before the first line.
        let line = line.rsplit_once("... ").map_or(line, |(_, rest)| rest);
        let words: Vec<&str> = line.split_whitespace().collect();
        let number = |i: usize| words.get(i).and_then(|w| w.parse::<u64>().ok());
        match (words.first().copied(), number(1), number(2)) {
            (Some("ack"), Some(height), _) => self.height = self.height.max(height),
            (Some("wal"), Some(seq), Some(height)) => {
                self.wal.insert(seq, height);
            }
            (Some("truncating"), Some(floor), _) => {
                self.attempted_floor = self.attempted_floor.max(floor)
            }
            (Some("truncated"), Some(floor), _) => self.floor = self.floor.max(floor),
            _ => {}
        }
    }
}

/// A small deterministic generator for kill delays.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// The in-memory replay of the chain, extended as the database grows.
struct Replay {
    state: MemState,
    /// Block hashes, index 0 the genesis hash.
    hashes: Vec<BlockHash>,
}

impl Replay {
    fn extend_to(&mut self, workload: &Workload, height: u64) {
        while (self.hashes.len() as u64) <= height {
            let next = self.hashes.len() as u64;
            let parent = *self.hashes.last().expect("starts with the genesis hash");
            let prepared = workload.prepare(&self.state, next, parent);
            self.hashes.push(prepared.block.hash());
            self.state.apply(prepared.writes);
        }
    }
}

#[test]
fn kill9_during_commits_loses_no_acknowledged_block() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let kills: u64 = env_count("SUYUAN_CRASH_KILLS", 100);
    let seed: u64 = std::env::var("SUYUAN_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    eprintln!("crash test: {kills} kills, SUYUAN_CRASH_SEED={seed}");
    let mut rng = XorShift(seed);
    let dir = TempDir::new("crash");
    let workload = Workload::new(RECORDS_PER_BLOCK);
    let mut replay = Replay {
        state: MemState::new(),
        hashes: vec![workload.genesis().hash()],
    };
    let mut acked = Acknowledged::default();
    let mut verified_height = 0;
    let mut unacknowledged_but_durable = 0;
    let started = Instant::now();

    for kill in 0..kills {
        let mut child = spawn_child(
            "child_process_entry_point",
            CHILD_ENV,
            dir.path(),
            &workload,
        );
        let stdout = child.stdout.take().expect("piped");
        let (lines_tx, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        // One kill in five lands at any moment, often while the child starts or recovers; the
        // others wait until it has opened the database, so that they land amid commits.
        let mut seen = Vec::new();
        if rng.below(5) != 0 {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let wait = deadline.saturating_duration_since(Instant::now());
                match lines.recv_timeout(wait) {
                    Ok(line) if line.contains("ready ") => break seen.push(line),
                    Ok(line) => seen.push(line),
                    Err(_) => {
                        panic!("kill {kill}: the child did not open the database within 30 s")
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(rng.below(120)));
        if let Some(status) = child.try_wait().expect("wait") {
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .expect("piped")
                .read_to_string(&mut stderr)
                .ok();
            panic!("child exited by itself with {status} before kill {kill}: {stderr}");
        }
        child.kill().expect("SIGKILL the child");
        child.wait().expect("reap the child");
        reader.join().expect("reader thread");
        let acked_before = acked.height;
        for line in seen.into_iter().chain(lines.try_iter()) {
            acked.read(&line);
        }

        let store = Store::open(dir.path(), workload.genesis())
            .unwrap_or_else(|error| panic!("kill {kill}: the database does not open: {error}"));
        let head = store.head();
        assert!(
            head.height >= acked.height,
            "kill {kill}: acknowledged block {} lost; head is {}",
            acked.height,
            head.height
        );
        assert!(
            head.height >= verified_height,
            "kill {kill}: the head went back"
        );
        if head.height > acked.height.max(acked_before) {
            unacknowledged_but_durable += 1;
        }
        replay.extend_to(&workload, head.height);
        assert_eq!(
            head.hash, replay.hashes[head.height as usize],
            "kill {kill}: head differs from the replay"
        );
        let scope = if kill % 10 == 9 {
            CheckScope::Full
        } else {
            CheckScope::Since(verified_height + 1)
        };
        let report = store
            .check_integrity(scope)
            .unwrap_or_else(|error| panic!("kill {kill}: integrity check failed: {error}"));
        assert_eq!(
            report.state_digest,
            replay.state.digest(),
            "kill {kill}: state differs from the replay"
        );
        check_wal(&store, &acked, kill);
        verified_height = head.height;
    }

    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    let report = store.check_integrity(CheckScope::Full).unwrap();
    eprintln!(
        "crash test: {kills} kills in {:.1} s; {} blocks, {} transactions committed; {} kills \
         left a durable block that was not yet acknowledged",
        started.elapsed().as_secs_f64(),
        report.head.height,
        store.counts().transactions,
        unacknowledged_but_durable
    );
    assert!(
        report.head.height > 50,
        "the children committed too little to test anything"
    );
}

fn check_wal(store: &Store, acked: &Acknowledged, kill: u64) {
    let entries = store.wal_entries().expect("WAL reads");
    let kept: BTreeMap<u64, &[u8]> = entries
        .iter()
        .map(|e| (e.seq, e.record.as_slice()))
        .collect();
    if let Some((&lowest, _)) = kept.first_key_value() {
        assert!(
            lowest >= acked.floor,
            "kill {kill}: WAL record {lowest} survived truncation below {}",
            acked.floor
        );
    }
    for (&seq, &height) in acked.wal.range(acked.attempted_floor..) {
        let record = kept
            .get(&seq)
            .unwrap_or_else(|| panic!("kill {kill}: acknowledged WAL record {seq} lost"));
        assert_eq!(
            *record,
            vote(height).as_bytes(),
            "kill {kill}: WAL record {seq} changed"
        );
    }
}
