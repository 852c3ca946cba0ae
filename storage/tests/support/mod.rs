//! Build a deterministic chain over the demo consortium, and temporary database directories,
//! for the storage tests and the benchmark.
//!
//! Heights 1 to 5 are the demo story; every later block holds `records_per_block` generated
//! records that execute cleanly: the cable maker commissions lots, ships some of them to the
//! distributor and the lab inspects others, so that every index (codes, models, enterprises)
//! and state deletions (holdings sold out) are exercised. Block `h` depends only on `h` and the
//! demo's buyers' salt seed, which [`Workload::new`] draws afresh: a child process that must
//! build the same chain gets the parent's seed through [`spawn_child`] and
//! [`Workload::for_child`].

#![allow(
    dead_code,
    reason = "each test binary uses a part of the support module"
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use suyuan_ledger::block::{Block, BlockHash, Body, leader};
use suyuan_ledger::demo::{Demo, who};
use suyuan_ledger::exec::{BlockContext, execute_block};
use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::record::{
    Commissioning, Inspection, Items, Outcome, Party, Record, ReportKind, ReportRef, Shipment,
    ShipmentLine, Subject, TraceCode,
};
use suyuan_ledger::state::{StateRead, WriteSet};
use suyuan_ledger::tx::{Envelope, Payload, VerifiedTx};
use suyuan_storage::{StorageError, Store, TreeWrites};

/// Milliseconds in a day.
pub(crate) const DAY_MS: u64 = 86_400_000;

/// Blocks of the demo story at the start of every workload chain.
pub(crate) const STORY_BLOCKS: u64 = 5;

/// The demo consortium and the shape of its generated blocks.
pub(crate) struct Workload {
    /// The consortium and its keys.
    pub(crate) demo: Demo,
    /// Records in each generated block (after the story).
    pub(crate) records_per_block: usize,
    story: Vec<Vec<Envelope>>,
}

/// A block ready to commit: executed over some state, with its write set.
pub(crate) struct Prepared {
    /// The block.
    pub(crate) block: Block,
    /// Its transactions, verified.
    pub(crate) txs: Vec<VerifiedTx>,
    /// The certificate bytes to store with it.
    pub(crate) certificate: Vec<u8>,
    /// The state changes of executing it.
    pub(crate) writes: WriteSet,
}

impl Prepared {
    /// Commits the block to `store` with the tree nodes it adds, grown over the store as a
    /// node grows them (one log leaf per transaction).
    pub(crate) fn commit_to(&self, store: &Store) -> Result<(), StorageError> {
        let frontier = store.log_frontier()?;
        let trees =
            suyuan_ledger::trees::grow(&frontier, store, self.block.header.height, &self.txs)
                .expect("the store's trees grow");
        store.commit_block(
            &self.block,
            &self.txs,
            &self.certificate,
            &self.writes,
            &TreeWrites::from(&trees),
        )
    }
}

impl Workload {
    /// A workload whose generated blocks hold `records_per_block` records, over a demo with a
    /// fresh salt seed.
    pub(crate) fn new(records_per_block: usize) -> Workload {
        Workload::of_demo(Demo::new(4, 7100), records_per_block)
    }

    /// The workload [`spawn_child`]'s parent built: its salt seed from [`SALT_SEED_ENV`].
    ///
    /// # Panics
    /// If the variable is unset or not 64 hex digits: only `spawn_child` starts a child.
    pub(crate) fn for_child(records_per_block: usize) -> Workload {
        let hex = std::env::var(SALT_SEED_ENV).expect("the parent passes its salt seed");
        let seed: Hash32 = hex.parse().expect("the salt seed is 64 hex digits");
        let seed = seed.0;
        Workload::of_demo(Demo::new(4, 7100).with_salt_seed(seed), records_per_block)
    }

    fn of_demo(demo: Demo, records_per_block: usize) -> Workload {
        let story = demo.story();
        Workload {
            demo,
            records_per_block,
            story,
        }
    }

    /// The consortium's genesis.
    pub(crate) fn genesis(&self) -> &Genesis {
        &self.demo.genesis
    }

    /// Block `height`'s time: a day apart through the story, a second apart after.
    pub(crate) fn time_ms(&self, height: u64) -> u64 {
        let start = self.demo.genesis.genesis_time_ms;
        if height <= STORY_BLOCKS {
            start + height * DAY_MS
        } else {
            start + STORY_BLOCKS * DAY_MS + (height - STORY_BLOCKS) * 1_000
        }
    }

    /// The lot code commissioned by record `index` of block `height`.
    pub(crate) fn lot(height: u64, index: usize) -> TraceCode {
        TraceCode::Lot {
            gtin: Demo::cable_gtin(),
            lot: format!("H{height}N{index}")
                .parse()
                .expect("short lot numbers are valid"),
        }
    }

    /// The signed transactions of block `height`.
    pub(crate) fn envelopes(&self, height: u64) -> Vec<Envelope> {
        assert!(height >= 1, "block heights start at 1");
        if height <= STORY_BLOCKS {
            return self.story[(height - 1) as usize].clone();
        }
        (0..self.records_per_block)
            .map(|index| self.generated(height, index))
            .collect()
    }

    fn generated(&self, height: u64, index: usize) -> Envelope {
        let cable = &self.demo.enterprises[who::CABLE_MAKER];
        let distributor = &self.demo.enterprises[who::DISTRIBUTOR];
        let lab = &self.demo.enterprises[who::LAB];
        let (key, record) = match index % 4 {
            0 | 1 => (
                &cable.key,
                Record::Commission(Commissioning {
                    uscc: cable.profile.uscc.clone(),
                    model_code: Demo::cable_gtin().into(),
                    items: Items::Batch {
                        code: Self::lot(height, index),
                        quantity: 100,
                    },
                    production_date: text("2026-01-02"),
                    factory_number: Some(text("WH-L3")),
                    inspection_report: ReportRef {
                        kind: ReportKind::FactoryInspection,
                        number: text(&format!("CJ-FI-{height}-{index}")),
                        issued_by: text("Quality department"),
                        document_sha256: Hash32([index as u8; 32]),
                    },
                }),
            ),
            2 => (
                &cable.key,
                Record::Ship(Shipment {
                    seller: cable.profile.uscc.clone(),
                    buyer: Party::enterprise(&distributor.profile),
                    sold_at_ms: self.time_ms(height),
                    lines: vec![ShipmentLine {
                        code: Self::lot(height, index - 2),
                        quantity: 100,
                    }],
                    order_reference: Some(text(&format!("SO-{height}-{index}"))),
                }),
            ),
            _ => (
                &lab.key,
                Record::Inspect(Inspection {
                    subject: Subject::Code(Self::lot(height, index - 3)),
                    outcome: Outcome::Conformant,
                    standards: vec![text("GB/T 5023.3-2008")],
                    inspected_on: text("2026-01-02"),
                    report_number: text(&format!("WHCT-{height}-{index}")),
                    document_sha256: Hash32([3; 32]),
                    findings: None,
                    accreditation: None,
                }),
            ),
        };
        let payload = Payload {
            nonce: height * 100_000 + index as u64,
            record,
            event: None,
        };
        Envelope::sign(&self.demo.genesis.binding(), &payload, key)
    }

    /// Block `height` over `parent` holding `envelopes`; view = height, proposer its leader.
    /// Its header carries the empty trees' roots: storage does not check a header's roots
    /// (the node does), and the tree tests commit trees of their own.
    pub(crate) fn block(&self, height: u64, parent: BlockHash, envelopes: Vec<Envelope>) -> Block {
        let genesis = &self.demo.genesis;
        Block::new(
            &genesis.chain_id,
            height,
            height,
            parent,
            self.time_ms(height),
            *leader(genesis, height),
            Body {
                transactions: envelopes,
            },
            suyuan_ledger::trees::genesis_heads(),
        )
        .expect("workload blocks are within bounds")
    }

    /// Opaque certificate bytes for block `height` (consensus encodes real ones).
    pub(crate) fn certificate(height: u64) -> Vec<u8> {
        format!("certificate of block {height}").into_bytes()
    }

    /// Verifies already signed `envelopes` into block `height` over `parent` and executes it
    /// over `state`.
    pub(crate) fn prepare_signed(
        &self,
        state: &(impl StateRead + ?Sized),
        height: u64,
        parent: BlockHash,
        envelopes: Vec<Envelope>,
    ) -> Prepared {
        let genesis = &self.demo.genesis;
        let txs: Vec<VerifiedTx> = envelopes
            .iter()
            .map(|e| {
                e.clone()
                    .verify(&genesis.binding())
                    .expect("workload envelopes are well signed")
            })
            .collect();
        let block = self.block(height, parent, envelopes);
        let context = BlockContext {
            genesis,
            height,
            time_ms: block.header.time_ms,
        };
        let writes = execute_block(state, context, &txs)
            .unwrap_or_else(|error| panic!("workload block {height} executes cleanly: {error}"));
        Prepared {
            block,
            txs,
            certificate: Self::certificate(height),
            writes,
        }
    }

    /// Signs, verifies and executes block `height` over `state`.
    pub(crate) fn prepare(
        &self,
        state: &(impl StateRead + ?Sized),
        height: u64,
        parent: BlockHash,
    ) -> Prepared {
        self.prepare_signed(state, height, parent, self.envelopes(height))
    }
}

/// Parses workload text that is valid by construction.
fn text<T: std::str::FromStr>(value: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    value.parse().expect("workload text is valid")
}

/// A fresh directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty directory under the system temp dir whose name starts with `label`.
    pub(crate) fn new(label: &str) -> TempDir {
        Self::new_in(&std::env::temp_dir(), label)
    }

    /// A new, empty directory under `base` whose name starts with `label`.
    pub(crate) fn new_in(base: &Path, label: &str) -> TempDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "suyuan-storage-{label}-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = base.join(name);
        std::fs::create_dir_all(&path).expect("the temp dir is writable");
        TempDir(path)
    }

    /// Its path.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside it.
    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Set in a child process: the parent's demo salt seed in hex, so that the child builds the
/// parent's chain ([`Workload::for_child`]).
pub(crate) const SALT_SEED_ENV: &str = "SUYUAN_STORAGE_CHILD_SALT_SEED";

/// Runs this test binary again as a child process that runs only the test `entry_point`, with
/// the environment variable `env` naming `dir` and [`SALT_SEED_ENV`] holding `workload`'s demo
/// salt seed; its stdout and stderr are piped. The crash tests kill such children mid-commit.
pub(crate) fn spawn_child(entry_point: &str, env: &str, dir: &Path, workload: &Workload) -> Child {
    Command::new(std::env::current_exe().expect("the test binary knows its path"))
        .args(["--exact", entry_point, "--nocapture", "--test-threads=1"])
        .env(env, dir)
        .env(SALT_SEED_ENV, Hash32(workload.demo.salt_seed()).to_hex())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the child")
}

/// The number in the environment variable `name`, or `default` when it is unset or not one.
pub(crate) fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}
