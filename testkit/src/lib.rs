//! Commit demo chains to a real store, for tests and benchmarks across the workspace.
//!
//! A demo chain is committed without running consensus, but with justifications that verify:
//! a quorum of the demo's validators signs each block's finalization with keys held in memory
//! ([`suyuan_proofs::signing`]), so proof bundles and audits over it hold.
//!
//! [`commit_demo_block`] commits one block; [`served::Fixture`] serves a demo chain through the
//! real API server on loopback, for the client's and the CLI's tests.

pub mod served;

use suyuan_ledger::demo::{Demo, DemoBlock, execute_demo_block};
use suyuan_ledger::tx::Envelope;
use suyuan_proofs::signing::finalization;
use suyuan_storage::{StorageError, Store, TreeWrites};

/// Executes `envelopes` as the next block of `demo`'s chain over `store` (proposed in the view
/// equal to its height, as demo blocks are) and commits it with its tree nodes and a
/// finalization signed by the first quorum of the demo's validators, as a node would store it.
///
/// # Panics
/// As [`execute_demo_block`] does, if the envelopes do not make a valid demo block.
pub fn commit_demo_block(
    store: &Store,
    demo: &Demo,
    envelopes: Vec<Envelope>,
) -> Result<DemoBlock, StorageError> {
    let head = store.head();
    let height = head.height + 1;
    let frontier = store.log_frontier()?;
    let committed = execute_demo_block(
        &demo.genesis,
        store,
        (&frontier, store),
        height,
        head.hash,
        envelopes,
    );
    let signers: Vec<usize> = (0..demo.genesis.quorum()).collect();
    let justification = finalization(
        &committed.block.header,
        height - 1,
        &demo.validators,
        &signers,
    );
    store.commit_block(
        &committed.block,
        &committed.txs,
        &justification.encode(),
        &committed.writes,
        &TreeWrites::from(&committed.trees),
    )?;
    Ok(committed)
}
