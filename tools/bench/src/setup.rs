//! Prepare the network for the load, untimed: check that the nodes run the testnet's chain,
//! then enrol the benchmark's enterprises and register their models, each step committed
//! before the next is sent (admission checks records against committed state).

use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use suyuan_client::ApiClient;
use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::tx::Envelope;

use super::workload::Workload;

/// How long setup waits for the nodes to answer, and for each setup step to be committed.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);

/// How often setup retries a node that does not answer yet.
const RETRY_INTERVAL: Duration = Duration::from_millis(250);

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

/// Enrols the workload's enterprises and registers their models through `client`, waiting
/// for each step to be committed.
pub(crate) async fn set_up(client: &ApiClient, workload: &Workload) -> anyhow::Result<()> {
    commit_all(
        client,
        "enrolling the benchmark's enterprises",
        &workload.enrolments(),
    )
    .await?;
    commit_all(
        client,
        "registering the benchmark's models",
        &workload.models(),
    )
    .await
}

/// Submits `envelopes` as one batch and waits until every one is committed.
async fn commit_all(client: &ApiClient, step: &str, envelopes: &[Envelope]) -> anyhow::Result<()> {
    let results = client
        .submit_batch(envelopes)
        .await
        .with_context(|| format!("{step}: submitting to {}", client.base_url()))?;
    let mut ids = Vec::with_capacity(results.len());
    for (index, result) in results.into_iter().enumerate() {
        match result {
            Ok(id) => ids.push(id),
            Err(body) => bail!("{step}: transaction {index} was refused: {body}"),
        }
    }
    for id in ids {
        client
            .wait_committed(&id, SETUP_TIMEOUT)
            .await
            .with_context(|| format!("{step}: waiting for {id} to be committed"))?;
    }
    Ok(())
}
