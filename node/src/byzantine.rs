//! Misbehave on purpose, so that tests can show what honest validators survive.
//!
//! A [`Misbehaviour`] makes a validator faulty in the ways issue 14 names: a skewed clock, a
//! flood of valid-looking gossip, malformed frames, withheld votes, conflicting votes. It is
//! off in every production node: the `suyuan` binary only ever starts a node with
//! [`Misbehaviour::default`] (honest), and no configuration file or variable can change that.
//! Only the test binary `suyuan-byzantine` (tools/byzantine) builds another one, from its
//! command line, and starts the same node code with it.

use std::time::Duration;

use rand::RngCore as _;
use suyuan_ledger::crypto::{KeyPair, Signature};
use suyuan_ledger::tx::{ChainBinding, Envelope};

use crate::clock::Clock;
use crate::frames::{MAX_BATCH_TRANSACTIONS, encode_batch};
use crate::network::NetworkHandle;

/// How a validator misbehaves; the default is honest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Misbehaviour {
    /// Added to the wall clock this validator stamps and judges block times with, in ms.
    pub clock_offset_ms: i64,
    /// Publish this many gossip batches per second of freshly signed transactions that no
    /// ledger rule admits (unknown signers): each costs every honest node a signature check.
    pub flood_batches_per_second: u32,
    /// Envelopes in each flooded batch.
    pub flood_batch_transactions: usize,
    /// Flood with random bytes in place of signatures: free to make, and every batch fails
    /// the receivers' batch signature check, the most expensive refusal there is.
    pub flood_forged: bool,
    /// Send this many malformed consensus frames per second to every other validator.
    pub invalid_frames_per_second: u32,
    /// Never send own votes (they are still written to the write-ahead log).
    pub withhold_votes: bool,
    /// Send, after each own notarize vote, a second signed notarize of another block in the
    /// same view to every other validator.
    pub equivocate: bool,
}

impl Misbehaviour {
    /// Whether this is an honest node.
    pub fn is_honest(&self) -> bool {
        *self == Misbehaviour::default()
    }

    /// The clock this validator's driver uses.
    pub fn clock(&self) -> Clock {
        Clock::skewed(self.clock_offset_ms)
    }

    /// Starts the background misbehaviours (floods, malformed frames) on the current runtime.
    pub fn spawn(&self, chain: &ChainBinding, network: &NetworkHandle) {
        if self.flood_batches_per_second > 0 {
            let count = self
                .flood_batch_transactions
                .clamp(1, MAX_BATCH_TRANSACTIONS);
            tokio::spawn(flood(
                chain.clone(),
                network.clone(),
                self.flood_batches_per_second,
                count,
                self.flood_forged,
            ));
        }
        if self.invalid_frames_per_second > 0 {
            tokio::spawn(noise(network.clone(), self.invalid_frames_per_second));
        }
    }
}

/// Publishes `per_second` batches of `count` envelopes no ledger rule admits: signed by a
/// key no one enrolled, or with random bytes for signatures when `forged`.
async fn flood(
    chain: ChainBinding,
    network: NetworkHandle,
    per_second: u32,
    count: usize,
    forged: bool,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1) / per_second);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sequence = 0u64;
    loop {
        tick.tick().await;
        let chain = chain.clone();
        let first = sequence;
        sequence += count as u64;
        let batch = tokio::task::spawn_blocking(move || {
            let key = KeyPair::generate();
            let envelopes: Vec<Envelope> = (first..first + count as u64)
                .map(|n| {
                    let payload = format!(r#"{{"flood":{n},"nonce":{}}}"#, rand::random::<u64>());
                    if forged {
                        let mut signature = [0u8; 64];
                        rand::thread_rng().fill_bytes(&mut signature);
                        return Envelope {
                            payload: payload.into_bytes(),
                            signer: key.public(),
                            signature: Signature::from_bytes(signature),
                        };
                    }
                    Envelope::sign_bytes(&chain, payload.into_bytes(), &key)
                })
                .collect();
            encode_batch(envelopes)
        })
        .await;
        let Ok(batch) = batch else { return };
        if network.publish_transaction(batch).await.is_err() {
            tracing::debug!("flood: publish refused");
        }
    }
}

/// Sends `per_second` frames of random bytes to every other validator.
async fn noise(network: NetworkHandle, per_second: u32) {
    let mut tick = tokio::time::interval(Duration::from_secs(1) / per_second);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let mut frame = vec![0u8; 64 + (rand::random::<usize>() % 512)];
        rand::thread_rng().fill_bytes(&mut frame);
        // Past the frame kinds the node knows, so that no random frame ever decodes.
        frame[0] = 0xEE;
        if network.send_consensus(None, frame).await.is_err() {
            return;
        }
    }
}
