//! Prepare the network for the load, untimed: check that the nodes run the testnet's chain,
//! then send the workload's setup steps through the first node, each committed before the
//! next is sent (admission checks records against committed state), and wait until every node
//! has executed the last of them.
//!
//! A step of tens of thousands of transactions goes in waves that fit the node's bounds: a
//! wave is sent in batches no larger than the API takes, holds no more than the mempool holds
//! (or, when one key signs the whole step, than one signer may have pending), and is
//! committed before the next wave goes. Refusals that mean "later" (busy, throttled, mempool
//! full, signer limit) are retried; any other refusal stops the run: setup transactions are
//! built to be valid.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use suyuan_api::types::ErrorBody;
use suyuan_client::{ApiClient, ClientError};
use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::tx::{ChainBinding, Envelope, TxId};

use super::workload::{SetupStep, Workload};

/// How long setup waits for the nodes to answer, and for each wave to be committed.
const SETUP_TIMEOUT: Duration = Duration::from_secs(120);

/// How often setup retries a node that does not answer yet, or polls for commits.
const RETRY_INTERVAL: Duration = Duration::from_millis(250);

/// Envelopes per batch request: the API's default `max_batch`.
pub(crate) const SETUP_BATCH: usize = 1_000;

/// Most transactions of one signer in a wave: under the mempool's default bound on one
/// signer's pending transactions (2,500).
pub(crate) const ONE_SIGNER_WAVE: usize = 2_000;

/// Most transactions in a wave of many signers: half the mempool's default bound (20,000), so
/// that the gossip of the wave before does not fill it.
pub(crate) const MANY_SIGNERS_WAVE: usize = 10_000;

const _: () = assert!(SETUP_BATCH <= ONE_SIGNER_WAVE && ONE_SIGNER_WAVE <= MANY_SIGNERS_WAVE);

/// Error codes that ask the client to send again later.
const RETRY_LATER: [&str; 5] = [
    "busy",
    "throttled",
    "mempool_full",
    "signer_limit",
    "unavailable",
];

/// What setup did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SetupFigures {
    /// Transactions committed.
    pub(crate) transactions: usize,
    /// How long it took, seconds.
    pub(crate) seconds: f64,
}

/// Waits until every node answers, and checks that each runs `genesis`'s chain.
pub(crate) async fn check_network(clients: &[ApiClient], genesis: &Genesis) -> anyhow::Result<()> {
    let genesis_hash = genesis.hash();
    for (index, client) in clients.iter().enumerate() {
        let status = status_when_up(client).await?;
        ensure!(
            status.chain_id == genesis.chain_id && status.genesis_hash == genesis_hash,
            "validator {index} at {} runs chain {} (genesis {}), not the testnet's {} ({genesis_hash})",
            client.base_url(),
            status.chain_id,
            status.genesis_hash,
            genesis.chain_id
        );
        ensure!(
            status.node.index == index,
            "the API at {} is validator {}, but genesis lists it as validator {index}",
            client.base_url(),
            status.node.index
        );
    }
    Ok(())
}

/// The node's status, retrying while it does not answer, for up to [`SETUP_TIMEOUT`].
async fn status_when_up(client: &ApiClient) -> anyhow::Result<suyuan_api::types::NodeStatus> {
    let deadline = tokio::time::Instant::now() + SETUP_TIMEOUT;
    loop {
        match client.status().await {
            Ok(status) => return Ok(status),
            Err(error) if tokio::time::Instant::now() >= deadline => {
                return Err(error)
                    .with_context(|| format!("the node at {} did not answer", client.base_url()));
            }
            Err(_) => tokio::time::sleep(RETRY_INTERVAL).await,
        }
    }
}

/// Sends the workload's setup steps through `clients[0]`, each committed before the next,
/// then waits until every node has reached the height of the last commit, so that each node
/// admits the load against the same state. `progress` hears of each step.
pub(crate) async fn set_up(
    clients: &[ApiClient],
    workload: &Workload,
    progress: impl Fn(&str),
) -> anyhow::Result<SetupFigures> {
    let start = Instant::now();
    let mut transactions = 0;
    let mut height = 0;
    for step in workload.setup_steps() {
        progress(&format!(
            "setup: {} ({} transactions)",
            step.name,
            step.envelopes.len()
        ));
        height = commit_step(&clients[0], workload.chain(), &step).await?;
        transactions += step.envelopes.len();
    }
    for client in clients {
        wait_for_height(client, height).await?;
    }
    Ok(SetupFigures {
        transactions,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Commits `step` in waves; returns the height of the block that held its last transaction.
async fn commit_step(
    client: &ApiClient,
    chain: &ChainBinding,
    step: &SetupStep,
) -> anyhow::Result<u64> {
    let wave = if step.one_signer {
        ONE_SIGNER_WAVE
    } else {
        MANY_SIGNERS_WAVE
    };
    let mut height = 0;
    for envelopes in step.envelopes.chunks(wave) {
        height = commit_wave(client, chain, envelopes)
            .await
            .with_context(|| format!("{} through {}", step.name, client.base_url()))?;
    }
    Ok(height)
}

/// Submits `envelopes` and follows the node's blocks until every one is committed; returns
/// the height of the block that held the last.
async fn commit_wave(
    client: &ApiClient,
    chain: &ChainBinding,
    envelopes: &[Envelope],
) -> anyhow::Result<u64> {
    let deadline = Instant::now() + SETUP_TIMEOUT;
    let mut next_height = client.status().await?.height + 1;
    let mut waiting: HashSet<TxId> = envelopes
        .iter()
        .map(|envelope| envelope.id(chain))
        .collect();
    ensure!(
        waiting.len() == envelopes.len(),
        "setup built the same transaction twice"
    );
    for batch in envelopes.chunks(SETUP_BATCH) {
        submit_until_admitted(client, batch, deadline).await?;
    }
    loop {
        let height = client.status().await?.height;
        while next_height <= height {
            let block = client.block(next_height).await?;
            for id in &block.transactions {
                waiting.remove(id);
            }
            if waiting.is_empty() {
                return Ok(next_height);
            }
            next_height += 1;
        }
        if Instant::now() >= deadline {
            let id = waiting.iter().next().expect("some are still waiting");
            let state = client.transaction(id).await;
            bail!(
                "{} transactions not committed after {} s; {id}: {state:?}",
                waiting.len(),
                SETUP_TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(RETRY_INTERVAL).await;
    }
}

/// Submits `batch` until the node has admitted every envelope, sending again those it asked
/// to send later; fails on any other refusal, or at `deadline`.
async fn submit_until_admitted(
    client: &ApiClient,
    batch: &[Envelope],
    deadline: Instant,
) -> anyhow::Result<()> {
    let mut unsent: Vec<Envelope> = batch.to_vec();
    while !unsent.is_empty() {
        ensure!(
            Instant::now() < deadline,
            "{} transactions still refused after {} s",
            unsent.len(),
            SETUP_TIMEOUT.as_secs()
        );
        let later = match client.submit_batch(&unsent).await {
            Ok(results) => {
                let mut later = Vec::new();
                for (envelope, result) in unsent.into_iter().zip(results) {
                    match result {
                        // A duplicate is already pending: admitted before.
                        Ok(_) => {}
                        Err(body) if body.code == "duplicate" => {}
                        Err(body) if retry_later(&body) => later.push(envelope),
                        Err(body) => bail!("a setup transaction was refused: {body}"),
                    }
                }
                later
            }
            Err(ClientError::Refused { body, .. }) if retry_later(&body) => unsent,
            Err(error) => return Err(error.into()),
        };
        if !later.is_empty() {
            tokio::time::sleep(RETRY_INTERVAL).await;
        }
        unsent = later;
    }
    Ok(())
}

/// Whether the node refused with a code that asks to send again later.
fn retry_later(body: &ErrorBody) -> bool {
    RETRY_LATER.contains(&body.code.as_str())
}

/// Waits until `client`'s node has finalized `height`.
async fn wait_for_height(client: &ApiClient, height: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + SETUP_TIMEOUT;
    loop {
        let reached = client.status().await?.height;
        if reached >= height {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "the node at {} is at height {reached} after {} s, not {height}",
            client.base_url(),
            SETUP_TIMEOUT.as_secs()
        );
        tokio::time::sleep(RETRY_INTERVAL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The waves fit the bounds a node has by default; a node configured tighter refuses with
    /// codes setup retries.
    #[test]
    fn waves_fit_a_default_node() {
        let mempool = suyuan_node::mempool::MempoolLimits::default();
        assert!(ONE_SIGNER_WAVE < mempool.max_per_signer);
        assert!(MANY_SIGNERS_WAVE <= mempool.max_transactions / 2);
        assert!(SETUP_BATCH <= suyuan_api::ApiLimits::default().max_batch);
    }
}
