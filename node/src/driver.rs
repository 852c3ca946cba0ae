//! Drive consensus: feed the engine what the network, the clock and the application say, and
//! carry out what it asks, in order.
//!
//! One task owns the [`Engine`], the [`Chain`] of pending blocks and the sync state, so none
//! of them needs a lock. The rules it keeps:
//!
//! - an own vote is appended to the write-ahead log (synced) before anything after it is sent;
//! - a leader sends its full block ([`Frame::Proposal`]) before the notarize vote naming it;
//! - a block is voted for only after it executed over its ancestors ([`Chain::check_proposal`]);
//! - finalized blocks are committed in height order, each with its justification; one whose
//!   contents this node lacks is fetched by block sync ([`crate::sync`]), as is any run of
//!   blocks it missed;
//! - when block sync moved the store past what the engine knows, the engine is rebuilt from
//!   the store's head and the write-ahead log, exactly as after a restart;
//! - block times (see [`crate::clock`]): a leader stamps its block `max(now, parent + 1 ms)`
//!   and proposes a block interval after it learned the parent, never waiting on a parent time
//!   in its future; a follower votes only for blocks at most the clock tolerance (the leader
//!   timeout) ahead of its own clock, and nullifies the view otherwise, keeping the block;
//! - the write-ahead log keeps own votes of the newest [`VOTE_WINDOW_VIEWS`] views at most,
//!   which is all safety needs (the engine never votes further back);
//! - a leader's proposals are held only for views near the current one, at most
//!   [`MAX_PROPOSALS_PER_VIEW`] per view and [`MAX_HELD_BYTES_PER_PROPOSER`] per proposer, so a
//!   leader cannot fill memory with proposals for its future views;
//! - peers' faults are counted and logged at a bounded rate ([`PeerFaults`]);
//! - a proposal whose block has not arrived [`MISSING_CONTENTS_GRACE`] after consensus asked
//!   about it is judged as not valid (the view is nullified at once): a leader sends its block
//!   before its vote on the same ordered channel, so a vote without its block is a leader that
//!   equivocates or lost its block, and waiting for the view timeout would only delay the next
//!   leader.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use suyuan_consensus::limits::VOTE_WINDOW_VIEWS;
use suyuan_consensus::{
    Action, Config as EngineConfig, Digest, Engine, Finalized, Input, Message, SignedVote, Time,
    ValidatorIndex, View, Vote,
};
use suyuan_ledger::block::{Block, BlockHash};
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::limits::{ENVELOPE_OVERHEAD_BYTES, MAX_HEADER_BYTES};
use suyuan_proofs::finality::Consortium;
use suyuan_proofs::justification::Justification;
use tokio::sync::{mpsc, watch};

use crate::admission::{Admission, GossipMessage};
use crate::byzantine::Misbehaviour;
use crate::chain::{Chain, CommitError, Undecided};
use crate::clock::{Clock, clock_tolerance_ms, judge_block_time, proposal_due};
use crate::config::{BlockSection, ConsensusSection};
use crate::frames::{Frame, SyncedBlock};
use crate::network::{GossipVerdict, NetworkEvent, NetworkHandle, SyncRequestId, ValidatorPeer};
use crate::node_api::Shared;
use crate::peer_faults::PeerFaults;
use crate::sync::{self, BlockSync, SYNC_BATCH, SYNC_TICK};

/// Proposals held for one view: its leader's block, and one more so that a leader that
/// equivocates cannot make this node miss the block the others vote for. A third is refused.
pub const MAX_PROPOSALS_PER_VIEW: usize = 2;

/// Proposals are held for views at most this far ahead of this node's view: a node a few views
/// behind (its certificates still in flight) keeps the proposals it will be asked about.
pub const MAX_PROPOSAL_VIEWS_AHEAD: u64 = 16;

/// Proposals for views this far behind this node's view are still taken (consensus may still
/// ask about a view it has just left while its certificates settle); older ones are ignored.
const PROPOSAL_VIEWS_BEHIND: u64 = 2;

/// Bytes of proposals held for one proposer, oldest evicted first: four of the largest
/// blocks, so that each leader has room for its next proposals whatever the others send.
pub const MAX_HELD_BYTES_PER_PROPOSER: usize = 4 * crate::frames::MAX_BLOCK_BYTES;

/// How long a verification consensus asked for waits for its block before the view is
/// nullified. The leader's block precedes its vote on the one channel from the leader, so
/// after this long it is not coming: the leader voted for a block it never sent (it
/// equivocates), or its block was dropped. A tenth of the default leader timeout: long
/// enough for the block frame still being decoded or queued behind others.
pub const MISSING_CONTENTS_GRACE: Duration = Duration::from_millis(250);

/// How often the driver logs its progress.
const PROGRESS_LOG: Duration = Duration::from_secs(10);

/// The consensus driver of one validator.
pub struct Driver {
    engine: Engine,
    engine_config: EngineConfig,
    chain: Chain,
    genesis: Arc<Genesis>,
    key: KeyPair,
    network: NetworkHandle,
    admission: Arc<Admission>,
    shared: Arc<Shared>,
    block: BlockSection,
    started: Instant,
    timer: Option<Time>,
    /// Full blocks received from leaders, by hash.
    proposals: HashMap<BlockHash, Block>,
    /// The proposals held for each proposer (by genesis index), oldest first.
    held: Vec<HeldProposals>,
    /// Blocks consensus asked to verify whose contents (or parent) are not here yet.
    awaiting: HashMap<BlockHash, suyuan_consensus::Block>,
    /// Of those, the ones whose own contents are missing, with when consensus asked: judged
    /// not valid at [`MISSING_CONTENTS_GRACE`] after.
    contents_due: HashMap<BlockHash, Instant>,
    /// The proposal consensus asked this node for, not yet built.
    owed_proposal: Option<(View, suyuan_consensus::Block)>,
    /// Finalized blocks not yet committed, by height.
    finalized: BTreeMap<u64, Finalized>,
    /// Sequence numbers and views of own votes in the write-ahead log, oldest first.
    wal: VecDeque<(u64, View)>,
    sync: BlockSync,
    /// The genesis validators, for checking synced blocks.
    consortium: Consortium,
    /// Engine inputs waiting to be handled, in order.
    inputs: VecDeque<Input>,
    /// Frames to send, in order, after the inputs that produced them are handled: `None`
    /// sends to every other validator.
    outbox: Vec<(Option<usize>, Vec<u8>)>,
    /// The wall clock block times are stamped and judged with.
    clock: Clock,
    /// How far ahead of `clock` a block may be for this node to vote for it.
    tolerance_ms: u64,
    /// Faults of each validator peer.
    faults: PeerFaults,
    /// How this validator misbehaves: honest except in tests ([`crate::byzantine`]).
    misbehaviour: Misbehaviour,
}

/// The proposals held for one proposer, oldest first, and their size.
#[derive(Debug, Default)]
struct HeldProposals {
    blocks: VecDeque<(u64, BlockHash, usize)>,
    bytes: usize,
}

impl Driver {
    /// Builds the driver and replays the write-ahead log into a fresh engine.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        genesis: Arc<Genesis>,
        key: KeyPair,
        chain: Chain,
        network: NetworkHandle,
        admission: Arc<Admission>,
        shared: Arc<Shared>,
        consensus: ConsensusSection,
        block: BlockSection,
    ) -> anyhow::Result<Driver> {
        let consortium = Consortium::from_genesis(&genesis).context("the genesis validator set")?;
        let engine_config = EngineConfig {
            chain: consortium.chain,
            validators: consortium.validators.clone(),
            key: ed25519_dalek::SigningKey::from_bytes(&key.seed()),
            timeouts: suyuan_consensus::Timeouts {
                leader_ms: consensus.leader_timeout_ms,
                view_ms: consensus.view_timeout_ms,
                retry_ms: consensus.leader_timeout_ms,
                fetch_retry_ms: consensus.leader_timeout_ms,
            },
        };
        let engine = Engine::new(engine_config.clone()).context("starting consensus")?;
        let genesis_validators = genesis.validators.len();
        let mut driver = Driver {
            engine,
            engine_config,
            chain,
            genesis,
            key,
            network,
            admission,
            shared,
            block,
            started: Instant::now(),
            timer: None,
            proposals: HashMap::new(),
            held: (0..genesis_validators)
                .map(|_| HeldProposals::default())
                .collect(),
            awaiting: HashMap::new(),
            contents_due: HashMap::new(),
            owed_proposal: None,
            finalized: BTreeMap::new(),
            wal: VecDeque::new(),
            sync: BlockSync::default(),
            consortium,
            inputs: VecDeque::new(),
            outbox: Vec::new(),
            clock: Clock::default(),
            tolerance_ms: clock_tolerance_ms(consensus.leader_timeout_ms),
            faults: PeerFaults::new(genesis_validators),
            misbehaviour: Misbehaviour::default(),
        };
        driver.recover()?;
        Ok(driver)
    }

    /// Makes this driver misbehave: for tests only ([`crate::byzantine`]).
    pub fn misbehave(mut self, misbehaviour: Misbehaviour) -> Driver {
        self.clock = misbehaviour.clock();
        self.misbehaviour = misbehaviour;
        self
    }

    /// Feeds the engine the store's head and the votes of the write-ahead log above it.
    fn recover(&mut self) -> anyhow::Result<()> {
        let finalized = self.chain.head_consensus_block()?;
        let mut votes = Vec::new();
        self.wal.clear();
        for entry in self.chain.store().wal_entries()? {
            let vote = SignedVote::decode(&entry.record).map_err(|error| {
                anyhow::anyhow!("write-ahead log entry {} is corrupt: {error}", entry.seq)
            })?;
            self.wal.push_back((entry.seq, vote.vote.view()));
            if vote.vote.view() > finalized.view() {
                votes.push(vote);
            }
        }
        tracing::info!(
            height = finalized.height().0,
            view = finalized.view().0,
            votes = votes.len(),
            "consensus recovered from storage"
        );
        self.inputs.push_back(Input::Recovered { finalized, votes });
        // A log written before the window rule, or by a node that went long without
        // finalizing, shrinks to the window now rather than at the next vote.
        self.forget_votes_outside_window()?;
        self.drain_inputs()
    }

    fn now(&self) -> Time {
        Time(u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    fn instant_of(&self, time: Time) -> Instant {
        self.started + Duration::from_millis(time.0)
    }

    /// Runs until `shutdown` turns true or the network stops.
    pub async fn run(
        mut self,
        mut events: mpsc::Receiver<NetworkEvent>,
        mut shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        let mut sync_tick = tokio::time::interval(SYNC_TICK);
        let mut progress_tick = tokio::time::interval(PROGRESS_LOG);
        let admission = Arc::clone(&self.admission);
        loop {
            let timer = self.timer.map(|time| self.instant_of(time));
            let proposal_due = self.proposal_due();
            let contents_due = self.contents_due.values().min().copied();
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        tracing::info!("consensus driver stopping");
                        return Ok(());
                    }
                }
                event = events.recv() => {
                    let Some(event) = event else {
                        bail!("the network stopped");
                    };
                    self.on_network(event).await?;
                }
                () = sleep_until(timer) => {
                    self.timer = None;
                    self.inputs.push_back(Input::Timeout);
                }
                () = sleep_until(proposal_due) => {
                    // Building a block executes it: off the runtime's worker (see below).
                    tokio::task::block_in_place(|| self.propose())?;
                }
                () = sleep_until(contents_due) => self.give_up_on_missing_contents(),
                () = admission.arrived.notified(), if self.owed_proposal.is_some() => {}
                _ = sync_tick.tick() => {
                    self.sync_step().await?;
                }
                _ = progress_tick.tick() => self.log_progress(),
            }
            // Handling inputs may check and execute a whole block and commit it with a synced
            // write: the runtime hands this worker's other tasks to the others meanwhile, so
            // the API and the network stay responsive while a large block executes.
            tokio::task::block_in_place(|| self.drain_inputs())?;
            self.execute_pending_network().await;
            self.publish_status();
        }
    }

    /// When the owed proposal should be built: after the block interval since its parent if
    /// transactions wait, after the idle interval if none do, at once when a block is full;
    /// counted from the parent's time, or from when this node learned the parent if that is
    /// sooner ([`proposal_due`]).
    fn proposal_due(&self) -> Option<Instant> {
        let (_, parent) = self.owed_proposal.as_ref()?;
        let parent_hash = Hash32(parent.digest().0);
        let parent_time = self.parent_time(&parent_hash)?;
        let learned = self.chain.learned(&parent_hash).unwrap_or(self.started);
        let (pending, _) = self.admission.pool_size();
        let wait_ms = if pending >= self.block.max_transactions {
            0
        } else if pending > 0 {
            self.block.interval_ms
        } else {
            self.block.idle_interval_ms
        };
        Some(proposal_due(
            parent_time,
            learned,
            wait_ms,
            self.clock.now_ms(),
            Instant::now(),
        ))
    }

    fn parent_time(&self, parent: &BlockHash) -> Option<u64> {
        if let Some(pending) = self.chain.pending(parent) {
            return Some(pending.block.header.time_ms);
        }
        match self.chain.head_header() {
            Some(header) if header.hash() == *parent => Some(header.time_ms),
            None if *parent == self.genesis.hash() => Some(0),
            _ => None,
        }
    }

    /// Builds and sends the owed proposal.
    fn propose(&mut self) -> anyhow::Result<()> {
        let Some((view, parent)) = self.owed_proposal.take() else {
            return Ok(());
        };
        if self.engine.view() != view {
            return Ok(());
        }
        let parent_hash = Hash32(parent.digest().0);
        let (max_count, max_bytes) = (self.block.max_transactions, self.block.max_bytes);
        let admission = &self.admission;
        let built = self.chain.propose(
            view.0,
            &parent_hash,
            self.key.public(),
            self.clock.now_ms(),
            Duration::from_millis(self.block.max_execution_ms),
            |exclude| admission.candidates(exclude, max_count, max_bytes),
        );
        let (block, refused) = match built {
            Ok(built) => built,
            Err(Undecided::UnknownParent) => {
                tracing::warn!(
                    view = view.0,
                    "cannot propose: the parent block's contents are not here"
                );
                return Ok(());
            }
            Err(Undecided::Trees(error)) => {
                bail!("cannot propose: the stored proof trees cannot be read: {error}");
            }
            Err(Undecided::State(error)) => {
                // The store failed, not the transactions: propose nothing, drop nothing; the
                // view times out if this node cannot lead it.
                tracing::error!(view = view.0, %error, "cannot propose: committed state cannot be read");
                return Ok(());
            }
        };
        self.admission.drop_refused(refused);
        let hash = block.hash();
        let Some(proposal) = parent.child(view, Digest(*hash.as_bytes())) else {
            bail!("proposal height overflows");
        };
        tracing::debug!(
            view = view.0,
            height = block.header.height,
            txs = block.header.tx_count,
            "proposing"
        );
        self.outbox.push((None, Frame::Proposal(block).encode()));
        self.inputs.push_back(Input::Proposal(proposal));
        Ok(())
    }
}

impl Driver {
    /// Handles queued engine inputs and carries out the actions, until none are left.
    fn drain_inputs(&mut self) -> anyhow::Result<()> {
        while let Some(input) = self.inputs.pop_front() {
            let now = self.now();
            let actions = match self.engine.handle(input, now) {
                Ok(actions) => actions,
                Err(rejection) => {
                    if rejection.is_fault() {
                        tracing::warn!(%rejection, "refused a faulty consensus input");
                    } else {
                        tracing::trace!(%rejection, "ignored a consensus input");
                    }
                    continue;
                }
            };
            for action in actions {
                self.act(action)?;
            }
        }
        Ok(())
    }

    /// Carries out one engine action.
    fn act(&mut self, action: Action) -> anyhow::Result<()> {
        match action {
            Action::PersistVote(vote) => {
                let seq = self
                    .chain
                    .store()
                    .wal_append(&vote.encode())
                    .context("writing an own vote to the write-ahead log")?;
                self.wal.push_back((seq, vote.vote.view()));
                self.forget_votes_outside_window()?;
            }
            Action::Broadcast(message) => {
                if self.withholds(&message) {
                    return Ok(());
                }
                self.equivocate(&message);
                self.outbox.push((None, Frame::Consensus(message).encode()));
            }
            Action::Send { to, message } => {
                if self.withholds(&message) {
                    return Ok(());
                }
                self.outbox
                    .push((Some(usize::from(to.0)), Frame::Consensus(message).encode()));
            }
            Action::RequestProposal { view, parent } => {
                self.owed_proposal = Some((view, parent));
            }
            Action::Verify(block) => self.verify(block),
            Action::Finalized(finalized) => {
                let height = finalized.block.height().0;
                self.sync.target = self.sync.target.max(height);
                self.finalized.insert(height, finalized);
                self.commit_finalized()?;
            }
            Action::Evidence(evidence) => {
                tracing::error!(
                    validator = evidence.signer().0,
                    view = evidence.view().0,
                    first = %hex::encode(evidence.first().encode()),
                    second = %hex::encode(evidence.second().encode()),
                    "a validator signed two conflicting votes"
                );
                self.shared.evidence.fetch_add(1, Ordering::Relaxed);
            }
            Action::SetTimer(time) => self.timer = Some(time),
            Action::Fetch(view) => {
                self.outbox
                    .push((None, Frame::Consensus(Message::Request(view)).encode()));
                self.sync.wanted = true;
            }
            Action::Serve { to, view } => self.serve_certificates(to, view)?,
        }
        Ok(())
    }

    /// Drops own votes of views more than [`VOTE_WINDOW_VIEWS`] below the newest one from the
    /// write-ahead log: the engine never votes that far back, so they cannot matter to safety,
    /// and the log stays bounded however long the consortium goes without finalizing.
    fn forget_votes_outside_window(&mut self) -> anyhow::Result<()> {
        let Some(newest) = self.wal.iter().map(|(_, view)| view.0).max() else {
            return Ok(());
        };
        let floor = newest.saturating_sub(VOTE_WINDOW_VIEWS);
        let Some(below) = self
            .wal
            .iter()
            .find(|(_, view)| view.0 >= floor)
            .map(|(seq, _)| *seq)
        else {
            return Ok(());
        };
        self.forget_votes_below(below)
    }

    /// Counts and (at a bounded rate) logs a fault of validator `peer`.
    fn peer_fault(&mut self, peer: usize, what: &'static str, why: impl std::fmt::Display) {
        self.faults.record(peer, what, why);
        self.shared.record_peer_fault(peer);
    }

    /// Drops own votes of sequence numbers below `below` from the write-ahead log.
    fn forget_votes_below(&mut self, below: u64) -> anyhow::Result<()> {
        if self.wal.front().is_some_and(|(seq, _)| *seq < below) {
            self.chain.store().wal_truncate_below(below)?;
            self.wal.retain(|(seq, _)| *seq >= below);
        }
        Ok(())
    }

    /// Whether this (misbehaving) validator keeps `message` to itself.
    fn withholds(&self, message: &Message) -> bool {
        self.misbehaviour.withhold_votes && matches!(message, Message::Vote(_))
    }

    /// A misbehaving validator's second, conflicting notarize after each of its own.
    fn equivocate(&mut self, message: &Message) {
        if !self.misbehaviour.equivocate {
            return;
        }
        let Message::Vote(vote) = message else { return };
        let Vote::Notarize(block) = vote.vote else {
            return;
        };
        let mut digest = block.digest();
        digest.0[0] ^= 0xFF;
        let Ok(other) = suyuan_consensus::Block::new(
            block.view(),
            block.height(),
            block.parent_view(),
            block.parent(),
            digest,
        ) else {
            return;
        };
        let conflicting = SignedVote::sign(
            self.engine_config.chain,
            Vote::Notarize(other),
            vote.signer,
            &self.engine_config.key,
        );
        self.outbox
            .push((None, Frame::Consensus(Message::Vote(conflicting)).encode()));
    }

    /// Checks a proposal consensus asks about, if its contents are here; parks it if not.
    fn verify(&mut self, block: suyuan_consensus::Block) {
        let hash = Hash32(block.digest().0);
        let Some(contents) = self.proposals.get(&hash).cloned() else {
            self.awaiting.insert(hash, block);
            self.contents_due
                .entry(hash)
                .or_insert_with(|| Instant::now() + MISSING_CONTENTS_GRACE);
            return;
        };
        self.contents_due.remove(&hash);
        let known = self.admission.preverified(&contents.body.transactions);
        let time_ms = contents.header.time_ms;
        let proposer = usize::from(self.engine_config.validators.leader(block.view()).0);
        let outcome = self.chain.check_proposal(contents, &block, known);
        let valid = match outcome {
            Ok(Ok(())) => match judge_block_time(time_ms, self.clock.now_ms(), self.tolerance_ms) {
                Ok(()) => true,
                Err(beyond_ms) => {
                    // Kept pending (others may finalize it), but not voted for.
                    let tolerance_ms = self.tolerance_ms;
                    self.peer_fault(
                        proposer,
                        "proposal from the future",
                        format_args!(
                            "block time {time_ms} ms is {beyond_ms} ms beyond the {tolerance_ms} ms this node's clock allows; check both clocks (NTP)"
                        ),
                    );
                    false
                }
            },
            Ok(Err(error)) => {
                tracing::warn!(view = block.view().0, height = block.height().0, %error, "refusing an invalid proposal");
                false
            }
            Err(Undecided::UnknownParent) => {
                self.awaiting.insert(hash, block);
                return;
            }
            Err(Undecided::Trees(error)) => {
                // Not a verdict on the block: this node's store failed. It casts no vote, and the
                // view times out if others cannot decide without it.
                tracing::error!(view = block.view().0, %error, "cannot judge a proposal: the stored proof trees cannot be read");
                return;
            }
            Err(Undecided::State(error)) => {
                tracing::error!(view = block.view().0, %error, "cannot judge a proposal: committed state cannot be read");
                return;
            }
        };
        self.awaiting.remove(&hash);
        self.contents_due.remove(&hash);
        self.inputs.push_back(Input::Verdict {
            view: block.view(),
            digest: block.digest(),
            valid,
        });
        if valid {
            self.retry_awaiting();
        }
    }

    /// Judges not valid every parked verification whose block is past its due time, so that
    /// consensus nullifies the view now rather than at its timeout.
    fn give_up_on_missing_contents(&mut self) {
        let now = Instant::now();
        let late: Vec<BlockHash> = self
            .contents_due
            .iter()
            .filter(|(_, due)| **due <= now)
            .map(|(hash, _)| *hash)
            .collect();
        for hash in late {
            self.contents_due.remove(&hash);
            let Some(block) = self.awaiting.remove(&hash) else {
                continue;
            };
            tracing::debug!(
                view = block.view().0,
                "nullifying: the leader's block never arrived"
            );
            self.inputs.push_back(Input::Verdict {
                view: block.view(),
                digest: block.digest(),
                valid: false,
            });
        }
    }

    /// Retries parked verifications whose contents or parent may have arrived.
    fn retry_awaiting(&mut self) {
        let ready: Vec<suyuan_consensus::Block> = self
            .awaiting
            .iter()
            .filter(|(hash, block)| {
                self.proposals.contains_key(*hash)
                    && self.parent_time(&Hash32(block.parent().0)).is_some()
            })
            .map(|(_, block)| *block)
            .collect();
        for block in ready {
            self.verify(block);
        }
    }

    /// Commits finalized blocks in height order while their contents are here.
    fn commit_finalized(&mut self) -> anyhow::Result<()> {
        while let Some(entry) = self.finalized.first_entry() {
            let height = *entry.key();
            let head = self.chain.head();
            let hash = Hash32(entry.get().block.digest().0);
            if height <= head.height {
                let stored = self
                    .chain
                    .store()
                    .header(height)?
                    .map(|header| header.hash());
                if stored != Some(hash) {
                    bail!(
                        "consensus finalized block {hash} at height {height}, but this node stored {stored:?} there: \
                         the chain has forked, which needs more than f faulty validators; stopping"
                    );
                }
                entry.remove();
                continue;
            }
            if height > head.height + 1 || self.chain.pending(&hash).is_none() {
                self.sync.wanted = true;
                return Ok(());
            }
            let finalized = entry.remove();
            let justification =
                Justification::new(finalized.certificate, finalized.nullifications).encode();
            self.commit(&hash, &justification)?;
            self.shared
                .record_finalized(self.chain.head_header().map(|header| header.time_ms));
        }
        Ok(())
    }

    /// Commits one pending block and clears what it settles.
    fn commit(&mut self, hash: &BlockHash, justification: &[u8]) -> anyhow::Result<()> {
        let ids = match self.chain.commit(hash, justification) {
            Ok(ids) => ids,
            Err(CommitError::NotPending) => bail!("committing block {hash} that is not pending"),
            Err(CommitError::Storage(error)) => {
                return Err(error).context("committing a finalized block");
            }
        };
        self.admission.remove_committed(&ids);
        let head = self.chain.head();
        let committed_view = self.chain.head_header().map_or(0, |header| header.view);
        // Own votes at or below the committed view are no longer needed after a restart.
        let keep_from = self
            .wal
            .iter()
            .find(|(_, view)| view.0 > committed_view)
            .map(|(seq, _)| *seq);
        let below = keep_from.unwrap_or_else(|| self.wal.back().map_or(0, |(seq, _)| seq + 1));
        self.forget_votes_below(below)?;
        self.proposals
            .retain(|_, block| block.header.height > head.height);
        for held in &mut self.held {
            held.retain(&self.proposals);
        }
        self.shared.record_commit(ids.len());
        tracing::info!(height = head.height, hash = %head.hash, txs = ids.len(), "committed");
        Ok(())
    }

    /// Answers a peer's request for certificates of a view this engine has pruned, from the
    /// justifications in storage.
    fn serve_certificates(&mut self, to: ValidatorIndex, view: View) -> anyhow::Result<()> {
        let store = Arc::clone(self.chain.store());
        let head = store.head().height;
        // Views grow with height: find the first block at or after `view`.
        let (mut low, mut high) = (1, head + 1);
        while low < high {
            let middle = low + (high - low) / 2;
            let Some(header) = store.header(middle)? else {
                break;
            };
            if header.view < view.0 {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        if low > head {
            return Ok(());
        }
        let Some(bytes) = store.justification(low)? else {
            return Ok(());
        };
        let justification = Justification::decode(&bytes)
            .with_context(|| format!("stored justification of block {low} is corrupt"))?;
        for certificate in std::iter::once(&justification.certificate)
            .chain(&justification.nullifications)
            .filter(|certificate| certificate.view() == view)
        {
            self.outbox.push((
                Some(usize::from(to.0)),
                Frame::Consensus(Message::Certificate(certificate.clone())).encode(),
            ));
        }
        Ok(())
    }

    /// Sends the frames the last inputs produced.
    async fn execute_pending_network(&mut self) {
        for (to, frame) in std::mem::take(&mut self.outbox) {
            if let Err(error) = self.network.send_consensus(to, frame).await {
                tracing::debug!(%error, ?to, "consensus send failed");
            }
        }
    }

    /// Handles one network event.
    async fn on_network(&mut self, event: NetworkEvent) -> anyhow::Result<()> {
        match event {
            NetworkEvent::PeerConnected(peer) => {
                self.sync.connected(peer.index);
                self.shared.set_connected(peer.index, true);
            }
            NetworkEvent::PeerDisconnected(peer) => {
                self.sync.disconnected(peer.index);
                self.shared.set_connected(peer.index, false);
            }
            NetworkEvent::Transaction {
                id,
                author,
                via,
                data,
            } => {
                tracing::trace!(
                    author = author.index,
                    via = via.index,
                    bytes = data.len(),
                    "gossip"
                );
                // Queued for the admission worker without waiting; what its author's queue has
                // no room for is dropped and counted there.
                let message = GossipMessage {
                    id,
                    author: author.index,
                    via: via.peer_id,
                    data,
                };
                if let Some(dropped) = self.admission.queue_gossip(message) {
                    let ignored = self.network.report_validation(
                        dropped.id,
                        dropped.via,
                        GossipVerdict::Ignore,
                    );
                    if let Err(error) = ignored.await {
                        tracing::debug!(%error, "could not report dropped gossip");
                    }
                }
            }
            NetworkEvent::Consensus { from, data } => self.on_frame(from, &data),
            NetworkEvent::BlockRequest {
                from,
                from_height,
                max_blocks,
                reply,
            } => self.sync.serve(
                Arc::clone(self.chain.store()),
                self.network.clone(),
                from,
                from_height,
                max_blocks,
                reply,
            ),
            NetworkEvent::BlockResponse {
                from,
                request_id,
                blocks,
            } => self.on_blocks(from, request_id, blocks).await?,
            NetworkEvent::BlockRequestFailed {
                from,
                request_id,
                reason,
            } => {
                if self.sync.take_answer(request_id) {
                    tracing::debug!(peer = from.index, %reason, "block sync request failed");
                }
            }
        }
        Ok(())
    }

    /// Handles one frame from a validator.
    fn on_frame(&mut self, from: ValidatorPeer, data: &[u8]) {
        let frame = match Frame::decode(data) {
            Ok(frame) => frame,
            Err(error) => {
                self.peer_fault(from.index, "malformed consensus frame", error);
                return;
            }
        };
        match frame {
            Frame::Consensus(message) => self.inputs.push_back(Input::Message {
                from: ValidatorIndex(from.index as u16),
                message,
            }),
            Frame::Proposal(block) => self.on_proposal(from, block),
        }
    }

    /// Keeps a leader's block until consensus asks about it.
    fn on_proposal(&mut self, from: ValidatorPeer, block: Block) {
        let view = block.header.view;
        let leader = suyuan_ledger::block::leader(&self.genesis, view);
        let from_leader = self
            .genesis
            .validators
            .get(from.index)
            .is_some_and(|validator| &validator.public_key == leader);
        if !from_leader || block.header.proposer != *leader {
            self.peer_fault(
                from.index,
                "proposal",
                format_args!("view {view} is not its to lead"),
            );
            return;
        }
        if block.header.height <= self.chain.head().height {
            return;
        }
        let current = self.engine.view().0;
        if view.saturating_add(PROPOSAL_VIEWS_BEHIND) < current {
            return; // over: consensus will not ask about it
        }
        if view > current.saturating_add(MAX_PROPOSAL_VIEWS_AHEAD) {
            self.peer_fault(
                from.index,
                "proposal",
                format_args!(
                    "view {view} is more than {MAX_PROPOSAL_VIEWS_AHEAD} views ahead of {current}"
                ),
            );
            return;
        }
        let hash = block.hash();
        if self.proposals.contains_key(&hash) {
            return;
        }
        let Some(held) = self.held.get_mut(from.index) else {
            return;
        };
        if held.in_view(view) >= MAX_PROPOSALS_PER_VIEW {
            self.peer_fault(
                from.index,
                "proposal",
                format_args!("more than {MAX_PROPOSALS_PER_VIEW} blocks for view {view}"),
            );
            return;
        }
        let bytes = proposal_bytes(&block);
        for evicted in held.push(view, hash, bytes) {
            self.proposals.remove(&evicted);
        }
        self.proposals.insert(hash, block);
        if let Some(block) = self.awaiting.get(&hash).copied() {
            self.verify(block);
        }
    }

    /// Asks a peer for the next blocks when this node is behind.
    async fn sync_step(&mut self) -> anyhow::Result<()> {
        let Some(request) = self.sync.next_request(sync::Tip::head_of(&self.chain)) else {
            return Ok(());
        };
        let (peer, from) = (request.peer, request.from_height);
        match self.network.request_blocks(peer, from, SYNC_BATCH).await {
            Ok(id) => self.sync.sent(id, request),
            Err(error) => tracing::debug!(%error, peer, "could not ask for blocks"),
        }
        Ok(())
    }

    /// Checks blocks a peer sent, commits those proven final, then asks for more or stops
    /// syncing.
    async fn on_blocks(
        &mut self,
        from: ValidatorPeer,
        request_id: SyncRequestId,
        blobs: Vec<Vec<u8>>,
    ) -> anyhow::Result<()> {
        let Some(request) = self.sync.answered(request_id) else {
            return Ok(());
        };
        let head = sync::Tip::head_of(&self.chain);
        // Checking certificates and executing blocks: off the runtime's worker, as in `run`.
        let (outcome, committed) = tokio::task::block_in_place(|| {
            let answer = self.sync.on_blocks(&self.consortium, head, request, blobs);
            let committed = match self.commit_checked(answer.commit)? {
                Ok(count) => count,
                Err((count, error)) => {
                    tracing::error!(peer = from.index, %error, "cannot execute a synced block proven final");
                    self.sync.forget_run();
                    count
                }
            };
            anyhow::Ok((answer.outcome, committed))
        })?;
        if committed > 0 {
            let head = self.chain.head();
            tracing::info!(
                peer = from.index,
                committed,
                height = head.height,
                "caught up by block sync"
            );
            self.sync.target = self.sync.target.max(head.height);
            self.commit_finalized()?;
        }
        match outcome {
            sync::Outcome::Progress | sync::Outcome::Stale => self.sync_step().await?,
            sync::Outcome::CaughtUp => {
                // This node is as far as its peers: consensus takes it from here.
                self.sync.wanted = !self.finalized.is_empty();
                if self.engine.finalized().height().0 < self.chain.head().height {
                    self.rebuild_engine()?;
                }
            }
            sync::Outcome::Unfinished => {
                tracing::debug!(
                    peer = from.index,
                    "the peer's blocks end before a finalization"
                );
            }
            sync::Outcome::Refused(error) => {
                tracing::warn!(peer = from.index, %error, "refused synced blocks");
            }
        }
        Ok(())
    }

    /// The chain of pending blocks over the store.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// Commits a run of synced blocks that extends the head and ends in a finalized block,
    /// after [`sync::check_run`] accepted all of it; how many blocks it committed.
    pub fn commit_run(&mut self, run: Vec<SyncedBlock>) -> anyhow::Result<usize> {
        sync::check_run(&self.consortium, sync::Tip::head_of(&self.chain), &run)?;
        match self.commit_checked(run)? {
            Ok(count) => Ok(count),
            Err((_, error)) => bail!("synced block does not execute: {error}"),
        }
    }

    /// Executes and commits synced blocks that were checked and are known final, in order;
    /// how many it committed, or how many before the first that does not execute, and why.
    /// A storage fault is the outer error: it stops the node.
    fn commit_checked(
        &mut self,
        run: Vec<SyncedBlock>,
    ) -> anyhow::Result<Result<usize, (usize, crate::chain::InvalidBlock)>> {
        let mut count = 0;
        for synced in run {
            let hash = synced.block.hash();
            let known = self.admission.preverified(&synced.block.body.transactions);
            if let Err(error) = self.chain.adopt_synced(synced.block, known) {
                return Ok(Err((count, error)));
            }
            self.commit(&hash, &synced.justification.encode())?;
            count += 1;
        }
        Ok(Ok(count))
    }

    /// Restarts the engine from the store's head and the write-ahead log, after block sync
    /// moved the store past the engine's finalized block.
    fn rebuild_engine(&mut self) -> anyhow::Result<()> {
        tracing::info!(
            height = self.chain.head().height,
            "restarting consensus at the synced head"
        );
        self.engine = Engine::new(self.engine_config.clone()).context("restarting consensus")?;
        self.timer = None;
        self.owed_proposal = None;
        self.awaiting.clear();
        self.contents_due.clear();
        self.finalized.clear();
        self.recover()
    }

    /// Logs where the node is and what the network dropped, for operators.
    fn log_progress(&self) {
        let head = self.chain.head();
        let network = self.network.counters();
        let gossip = self.admission.gossip_stats();
        tracing::info!(
            height = head.height,
            hash = %head.hash,
            view = self.engine.view().0,
            peers = self.sync.peers(),
            mempool = self.admission.pool_size().0,
            sync_target = self.sync.target,
            blocks_committed = self.shared.blocks_committed.load(Ordering::Relaxed),
            transactions_committed = self.shared.transactions_committed.load(Ordering::Relaxed),
            consensus_dropped = network.consensus_dropped,
            consensus_send_failed = network.consensus_send_failed,
            events_dropped = network.events_dropped,
            connections_refused = network.connections_refused,
            handshakes_refused = network.handshakes_refused,
            peer_faults = ?self.faults.totals(),
            gossip_queued_bytes = gossip.queued_bytes,
            gossip_dropped = gossip.dropped.iter().sum::<u64>(),
            "progress"
        );
    }

    /// Publishes what the API's status shows.
    fn publish_status(&self) {
        self.shared
            .view
            .store(self.engine.view().0, Ordering::Relaxed);
        let head = self.chain.head().height;
        let behind = self.sync.target > head || self.sync.in_flight();
        self.shared.sync_target.store(
            if behind {
                self.sync.target.max(head + 1)
            } else {
                0
            },
            Ordering::Relaxed,
        );
    }
}

impl HeldProposals {
    /// How many proposals are held for `view`.
    fn in_view(&self, view: u64) -> usize {
        self.blocks
            .iter()
            .filter(|(held, _, _)| *held == view)
            .count()
    }

    /// Holds a proposal of `bytes`, evicting the oldest while over
    /// [`MAX_HELD_BYTES_PER_PROPOSER`] (never the new one); the evicted hashes.
    fn push(&mut self, view: u64, hash: BlockHash, bytes: usize) -> Vec<BlockHash> {
        self.blocks.push_back((view, hash, bytes));
        self.bytes += bytes;
        let mut evicted = Vec::new();
        while self.bytes > MAX_HELD_BYTES_PER_PROPOSER && self.blocks.len() > 1 {
            if let Some((_, old, size)) = self.blocks.pop_front() {
                self.bytes -= size;
                evicted.push(old);
            }
        }
        evicted
    }

    /// Forgets proposals no longer held.
    fn retain(&mut self, proposals: &HashMap<BlockHash, Block>) {
        self.blocks
            .retain(|(_, hash, _)| proposals.contains_key(hash));
        self.bytes = self.blocks.iter().map(|(_, _, size)| size).sum();
    }
}

/// About how many bytes a proposal holds in memory.
fn proposal_bytes(block: &Block) -> usize {
    MAX_HEADER_BYTES
        + block
            .body
            .transactions
            .iter()
            .map(|envelope| envelope.payload.len() + ENVELOPE_OVERHEAD_BYTES)
            .sum::<usize>()
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}
