//! Simulate a network of validators deterministically from a seed, with faults and skewed
//! clocks, checking safety after every step and liveness once the network heals.
//!
//! Compiled for this crate's tests and, with the `sim` feature, for other crates (the node's
//! tests can reuse [`run`] and [`Scenario`]). Everything random comes from one seeded
//! generator and events are ordered by (time, sequence number), so a seed replays exactly.
//!
//! Set `SUYUAN_SIM_TRACE=1` when replaying a seed to print every refused input and, on a
//! liveness failure, each node's view and finalized tip.
//!
//! A run has two phases. Until `chaos_ms` (the global stabilisation time, GST) the network
//! delays, drops, duplicates and reorders messages and partitions form and heal; honest
//! validators crash (sometimes between persisting a vote and sending it) and restart from their
//! write-ahead log. From GST on, for `window_ms`, the network is synchronous: no partition, no
//! loss, every message delivered within `healed_max_latency_ms`, and honest validators are up.
//! Byzantine validators misbehave throughout (see [`Behavior`]).
//!
//! Each validator's wall clock runs at simulated time plus its own fixed offset, and the
//! simulated application gives every block a time by the node's rule (the `clock` module):
//! leaders stamp `max(own clock, parent + 1 ms)` and never wait on a parent time in their
//! future; followers refuse a block timed before its parent or more than the tolerance
//! τ = `Timeouts::leader_ms` ahead of their own clock.
//!
//! Checked after every step:
//! - no two honest validators finalize different blocks at one height; each honest chain
//!   extends its previous block (so chains are prefixes of one another); every finalized block
//!   carries a valid certificate and the nullifications of the views it skips; no finalized
//!   block has contents the application judged invalid; no honest validator signs two
//!   conflicting votes; evidence never convicts an honest validator;
//! - block times never go back along a finalized chain (each block's time is at least its
//!   parent's), and when an honest validator finalizes a block at simulated time t, the
//!   block's time is at most τ ahead of the k-th fastest honest wall clock at t, where
//!   k = q − b (q the quorum, b the Byzantine validators): a majority of the honest
//!   validators' clocks. Why this holds: the notarization every finalized block has contains
//!   at least k honest signers. An honest follower signs only after checking the time against
//!   its own clock; an honest leader stamps either its own clock, or its parent's time + 1 ms
//!   read at least 1 ms after it knew the parent notarized, when by induction k honest clocks
//!   were already within τ of the parent's time (genesis is behind every clock).
//!
//! Checked after GST ([`Scenario::leader_bound_ms`] is the bound B, derived from the timeouts):
//! - every *punctual* honest validator (see [`Scenario`]) gets a block it led finalized within
//!   B of GST, and never again goes B without one;
//! - every honest validator has finalized every block that any honest validator had finalized
//!   B before the end.
//!
//! The tests also compare how many blocks a run finalizes over the window with the same seed
//! on a network that never failed, and, for skewed clocks, with every clock exact.

mod clock;
mod rng;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::fmt;
use std::rc::Rc;

use ed25519_dalek::SigningKey;

#[cfg(test)]
use crate::engine::Mutation;
use crate::engine::{Action, Config, Engine, Finalized, Input, Timeouts};
use crate::limits::MAX_MESSAGE_BYTES;
use crate::vote::{Certificate, Evidence, SignedVote, ValidatorSet, Vote, VoteKind};
use crate::{Block, ChainId, Digest, Height, Message, Time, ValidatorIndex, View};
#[cfg(test)]
pub(crate) use clock::ClockMutation;
pub use clock::MAX_CLOCK_OFFSET_MS;
use clock::{Clocks, GENESIS_TIME_MS};
use rng::Rng;

/// How a Byzantine validator misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behavior {
    /// Sends nothing at all.
    Silent,
    /// As leader, proposes two different valid blocks, each to half of the validators.
    EquivocatingLeader,
    /// Besides each honest vote, signs a conflicting one and sends it to some validators.
    DoubleVoter,
    /// Approves every block it is asked about; as leader proposes, in turn, blocks with invalid
    /// contents, blocks forking from genesis, blocks timed before their parent or beyond every
    /// honest clock's tolerance, and blocks timed at the very edge of what a quorum accepts.
    InvalidBlocks,
    /// Sends malformed, forged, foreign-chain, oversize and far-future messages.
    Garbage,
    /// Runs honestly but also resends old messages it has heard to random validators.
    Replayer,
    /// Two honest-looking instances share the key, each hearing a different half of the network.
    Twins,
}

/// Network faults before and after stabilisation.
#[derive(Clone, Copy, Debug)]
pub struct NetworkFaults {
    /// Least one-way delay.
    pub min_latency_ms: u64,
    /// Largest one-way delay before stabilisation (latency is uniform in between: jitter and
    /// reordering).
    pub max_latency_ms: u64,
    /// Message loss before stabilisation, per mille.
    pub loss_per_mille: u32,
    /// Probability a message is delivered twice, per mille.
    pub duplicate_per_mille: u32,
    /// Whether partitions form and heal before stabilisation.
    pub partitions: bool,
    /// Longest a partition lasts.
    pub max_partition_ms: u64,
    /// Largest one-way delay after stabilisation (Δ); nothing is lost then.
    pub healed_max_latency_ms: u64,
}

impl NetworkFaults {
    /// This seed's network: latency bound and loss drawn at random up to the given maxima.
    fn draw(&self, rng: &mut Rng) -> NetworkFaults {
        let max_latency_ms = rng.range(self.min_latency_ms, self.max_latency_ms);
        NetworkFaults {
            max_latency_ms,
            loss_per_mille: rng.range(0, self.loss_per_mille.into()) as u32,
            duplicate_per_mille: rng.range(0, self.duplicate_per_mille.into()) as u32,
            healed_max_latency_ms: max_latency_ms.min(self.healed_max_latency_ms),
            ..*self
        }
    }

    /// A network that never fails: the latency of a healed one from the start.
    pub fn stable(&self) -> NetworkFaults {
        NetworkFaults {
            max_latency_ms: self.healed_max_latency_ms.max(self.min_latency_ms),
            loss_per_mille: 0,
            duplicate_per_mille: 0,
            partitions: false,
            ..*self
        }
    }
}

impl Default for NetworkFaults {
    fn default() -> NetworkFaults {
        NetworkFaults {
            min_latency_ms: 5,
            max_latency_ms: 80,
            loss_per_mille: 100,
            duplicate_per_mille: 50,
            partitions: true,
            max_partition_ms: 900,
            healed_max_latency_ms: 40,
        }
    }
}

/// One simulated setting; [`run`] plays it for one seed.
///
/// An honest validator is *punctual* when at least a quorum of honest validators (itself
/// included) have clocks no more than τ = `timeouts.leader_ms` behind its own: those
/// followers accept the time it stamps on its blocks, so liveness requires its blocks to be
/// finalized. A validator whose clock runs further ahead is not required to lead (the
/// simulator checks instead, in the tests, that its blocks are refused).
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Number of validators.
    pub n: usize,
    /// Byzantine validators, one behaviour each (at most f for liveness to be required).
    pub byzantine: Vec<Behavior>,
    /// Network faults: each seed draws its latency bound, loss and duplication up to these.
    pub network: NetworkFaults,
    /// Crash-restarts of honest validators before stabilisation, at most.
    pub crashes: u32,
    /// The global stabilisation time.
    pub chaos_ms: u64,
    /// How long the run goes on after stabilisation; liveness and the finalized rate are
    /// judged over it. At least [`Scenario::leader_bound_ms`].
    pub window_ms: u64,
    /// The validators' timers; `leader_ms` is also the block-time tolerance τ.
    pub timeouts: Timeouts,
    /// How long after its parent's time a leader proposes (the node's `[block]` interval).
    pub block_interval_ms: u64,
    /// Each validator's wall-clock offset from simulated time, by validator index (missing
    /// entries are 0); at most [`MAX_CLOCK_OFFSET_MS`] either way.
    pub clock_offsets_ms: Vec<i64>,
    /// Each validator's offset also gets a per-seed draw, uniform in ± this.
    pub clock_jitter_ms: u64,
    /// Check finalized blocks' certificates (turned off to show the fork check alone works).
    pub check_certificates: bool,
    #[cfg(test)]
    pub(crate) mutation: Option<Mutation>,
    #[cfg(test)]
    pub(crate) clock_mutation: Option<ClockMutation>,
}

/// Longest a leader takes to build its block once it is due, and shortest: at least 1 ms, as
/// the block-time invariant's proof needs (see the module documentation).
const BUILD_MS: (u64, u64) = (1, 5);
/// Shortest and longest an application takes to judge a proposal.
const VERIFY_MS: (u64, u64) = (1, 10);
/// Certificate fetch rounds the leader bound allows for right after stabilisation: a fetch
/// asks two random peers, and both may be Byzantine or lacking the certificate.
const FETCH_ROUNDS: u64 = 2;

impl Scenario {
    /// `n` validators, the given Byzantine ones, and default faults and timings: clocks
    /// within ±50 ms of each other, Δ = 40 ms after stabilisation.
    pub fn new(n: usize, byzantine: Vec<Behavior>) -> Scenario {
        let mut scenario = Scenario {
            n,
            byzantine,
            network: NetworkFaults::default(),
            crashes: 3,
            chaos_ms: 4_000,
            window_ms: 0,
            timeouts: Timeouts {
                leader_ms: 250,
                view_ms: 400,
                retry_ms: 250,
                fetch_retry_ms: 250,
            },
            block_interval_ms: 100,
            clock_offsets_ms: Vec::new(),
            clock_jitter_ms: 50,
            check_certificates: true,
            #[cfg(test)]
            mutation: None,
            #[cfg(test)]
            clock_mutation: None,
        };
        scenario.window_ms = scenario.leader_bound_ms(n - scenario.byzantine.len());
        scenario
    }

    /// The same setting on a network that never fails: no partition, loss, duplication or
    /// crash, the healed latency from the start, and the window beginning at once.
    pub fn stable(&self) -> Scenario {
        Scenario {
            network: self.network.stable(),
            crashes: 0,
            chaos_ms: 0,
            ..self.clone()
        }
    }

    /// The bound B within which, after stabilisation, every punctual honest leader gets a
    /// block finalized, and again after each one; also how far any honest validator may lag
    /// behind the finalized chain. `punctual` is how many validators are punctual and honest;
    /// [`Scenario::new`] sets the window to the bound with every honest validator punctual.
    ///
    /// With Δ the healed latency, λ, ν, ρ, φ the leader, view, retry and fetch-retry timeouts,
    /// I the block interval, and b, v the longest build and verification:
    ///
    /// 1. Views align within S = ν + ρ + 2Δ: an honest validator that has not nullified its
    ///    view does so within ν, then resends its nullify vote and the certificate that
    ///    brought it there every ρ; within Δ every honest validator holds the highest such
    ///    certificate and the nullify votes to leave that view.
    /// 2. Certificates a validator lacks (a parent to propose on, skipped views to check a
    ///    proposal or deliver a finalization) arrive within F = `FETCH_ROUNDS`·(φ + 2Δ).
    /// 3. From then on honest validators enter each view within Δ of the first of them. A
    ///    punctual leader's view lasts at most G = I + b + v + 3Δ and is notarized: its
    ///    proposal comes at most I + b after it entered, reaches every follower within Δ
    ///    (before their leader timeout: I + b + 2Δ < λ), is judged within v, and the votes take
    ///    Δ more (before the view timeout: G < ν); [`run`] asserts both. Any other view lasts
    ///    at most N = ν + 2Δ: nullified ν after entry, the votes Δ later.
    /// 4. Every leader's turn comes within one rotation of n views, and a punctual leader's
    ///    block is finalized Δ after its notarization (no honest validator nullified its view).
    ///
    /// So B = S + F + (n − p)·N + p·G + Δ, with p punctual leaders.
    pub fn leader_bound_ms(&self, punctual: usize) -> u64 {
        let t = self.timeouts;
        let delta = self.network.healed_max_latency_ms;
        let align = t.view_ms + t.retry_ms + 2 * delta;
        let fetch = FETCH_ROUNDS * (t.fetch_retry_ms + 2 * delta);
        let good = self.good_view_ms();
        let bad = t.view_ms + 2 * delta;
        let punctual = punctual.min(self.n) as u64;
        align + fetch + (self.n as u64 - punctual) * bad + punctual * good + delta
    }

    /// The longest a punctual leader's view lasts after stabilisation (G above).
    fn good_view_ms(&self) -> u64 {
        let delta = self.network.healed_max_latency_ms;
        self.block_interval_ms + BUILD_MS.1 + VERIFY_MS.1 + 3 * delta
    }

    /// Panic unless the timings let a punctual leader's view succeed after stabilisation (the
    /// leader bound's step 3) and the window is long enough to judge the bound.
    fn check(&self, leader_bound_ms: u64) {
        let t = self.timeouts;
        let delta = self.network.healed_max_latency_ms;
        assert!(
            self.block_interval_ms + BUILD_MS.1 + 2 * delta < t.leader_ms,
            "a proposal must reach followers within the leader timeout"
        );
        assert!(
            self.good_view_ms() < t.view_ms,
            "a punctual leader's view must be notarized within the view timeout"
        );
        assert!(
            self.window_ms >= leader_bound_ms,
            "the window ({} ms) must be at least the leader bound ({leader_bound_ms} ms)",
            self.window_ms
        );
    }
}

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// Two honest validators finalized different blocks at one height.
    Fork {
        /// The height.
        height: Height,
        /// The block finalized first.
        first: Digest,
        /// The other block.
        second: Digest,
    },
    /// An honest validator finalized a block that does not extend its previous one.
    BrokenChain {
        /// The validator.
        validator: ValidatorIndex,
        /// The block.
        block: Box<Block>,
    },
    /// A finalized block came without a valid certificate or nullifications.
    BadCertificate {
        /// The validator.
        validator: ValidatorIndex,
        /// What is wrong.
        reason: String,
    },
    /// An honest validator finalized a block the application judged invalid.
    InvalidBlockFinalized {
        /// The block.
        block: Box<Block>,
    },
    /// An honest validator signed two conflicting votes.
    HonestEquivocation {
        /// The validator.
        validator: ValidatorIndex,
        /// The first vote.
        first: Box<Vote>,
        /// The conflicting vote.
        second: Box<Vote>,
    },
    /// Evidence convicted an honest validator, or did not verify.
    FalseEvidence {
        /// The convicted validator.
        validator: ValidatorIndex,
    },
    /// A finalized block's time is below its parent's.
    TimeWentBack {
        /// The block.
        block: Box<Block>,
        /// Its time.
        time_ms: u64,
        /// Its parent's time.
        parent_time_ms: u64,
    },
    /// When an honest validator finalized a block, its time was more than τ ahead of the
    /// k-th fastest honest clock (see the module documentation).
    TimeAhead {
        /// The block.
        block: Box<Block>,
        /// Its time.
        time_ms: u64,
        /// The k-th fastest honest clock plus τ at that moment.
        bound_ms: u64,
    },
    /// After stabilisation a punctual honest leader went longer than the leader bound without
    /// a block it led being finalized.
    LeaderStarved {
        /// The leader.
        leader: ValidatorIndex,
        /// Since when (stabilisation, or its last finalized block).
        since: Time,
    },
    /// At the end an honest validator lagged more than the leader bound behind the finalized
    /// chain.
    Liveness {
        /// The validator.
        validator: ValidatorIndex,
        /// Its finalized height.
        height: Height,
        /// The height it had to reach.
        wanted: Height,
    },
    /// The run did not end within its event budget.
    Runaway,
}

impl Violation {
    /// Whether this is a safety violation (anything but liveness or a runaway run).
    pub fn is_safety(&self) -> bool {
        !matches!(
            self,
            Violation::Liveness { .. } | Violation::LeaderStarved { .. } | Violation::Runaway
        )
    }
}

/// A failed run: what broke, when, and how to replay it.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The seed.
    pub seed: u64,
    /// Simulated time of the violation.
    pub at: Time,
    /// What broke.
    pub violation: Violation,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seed {} at {} ms: {:?}",
            self.seed, self.at.0, self.violation
        )
    }
}

/// One block of the finalized chain, as honest validators first finalized it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainBlock {
    /// The block.
    pub block: Block,
    /// The leader of its view.
    pub leader: ValidatorIndex,
    /// Its time, as the application stamped it.
    pub time_ms: u64,
    /// Its parent's time.
    pub parent_time_ms: u64,
    /// When its leader built it.
    pub built_at: Time,
    /// When an honest validator first finalized it.
    pub finalized_at: Time,
}

/// What a passing run did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The highest view an honest validator reached.
    pub views: u64,
    /// The lowest finalized height among honest validators at the end.
    pub min_height: u64,
    /// Messages handed to the network (before loss).
    pub messages: u64,
    /// Messages the engines refused.
    pub rejected: u64,
    /// Evidence actions raised by honest validators.
    pub evidence: u64,
    /// Simulated milliseconds.
    pub simulated_ms: u64,
    /// Honest crash-restarts.
    pub crashes: u64,
    /// Certificate fetches honest validators asked for.
    pub fetches: u64,
    /// Partitions that formed.
    pub partitions: u64,
    /// Stabilisation (GST).
    pub stabilised_at: Time,
    /// The leader bound the run was held to ([`Scenario::leader_bound_ms`] for its punctual
    /// validators).
    pub leader_bound_ms: u64,
    /// Simulated milliseconds from stabilisation until every punctual honest leader had a
    /// block finalized.
    pub recovery_ms: u64,
    /// The longest a punctual honest leader went without a finalized block after
    /// stabilisation (counting from stabilisation, up to the end).
    pub longest_leader_gap_ms: u64,
    /// The finalized chain, height 1 upward.
    pub chain: Vec<ChainBlock>,
    /// The punctual honest validators (see [`Scenario`]).
    pub punctual: Vec<ValidatorIndex>,
}

impl Report {
    /// Finalized blocks built from stabilisation on: the throughput of the healed network.
    pub fn window_blocks(&self) -> u64 {
        let after = |b: &&ChainBlock| b.built_at >= self.stabilised_at;
        self.chain.iter().filter(after).count() as u64
    }

    /// Blocks led by `leader` in the finalized chain.
    pub fn led_by(&self, leader: ValidatorIndex) -> impl Iterator<Item = &ChainBlock> {
        self.chain.iter().filter(move |b| b.leader == leader)
    }
}

/// Play `scenario` with `seed`.
pub fn run(scenario: &Scenario, seed: u64) -> Result<Report, Failure> {
    let mut sim = Sim::new(scenario, seed);
    sim.run().map_err(|violation| Failure {
        seed,
        at: sim.now,
        violation,
    })?;
    Ok(sim.report())
}

const MAX_EVENTS: u64 = 20_000_000;
const REPLAY_MEMORY: usize = 256;
/// Chance per vote, per mille, that an honest validator crashes right after persisting it.
const CRASH_AFTER_PERSIST_PER_MILLE: u32 = 4;

type NodeId = usize;

#[derive(Debug)]
enum Event {
    Deliver {
        to: NodeId,
        from: ValidatorIndex,
        bytes: Rc<[u8]>,
    },
    Timer {
        node: NodeId,
        incarnation: u32,
        at: Time,
    },
    /// A leader's block is built: stamp its time and hand it to the engine.
    Build {
        node: NodeId,
        incarnation: u32,
        view: View,
        parent: Block,
    },
    Verdict {
        node: NodeId,
        incarnation: u32,
        block: Block,
        valid: bool,
    },
    Crash {
        node: NodeId,
    },
    Restart {
        node: NodeId,
    },
    Partition,
    Heal,
}

struct Scheduled {
    at: Time,
    seq: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

struct Node {
    index: ValidatorIndex,
    behavior: Option<Behavior>,
    engine: Option<Engine>,
    incarnation: u32,
    /// The durable write-ahead log of own votes.
    wal: Vec<SignedVote>,
    /// Durable storage: the last finalized block and certificates by view (for `Serve`).
    tip: Block,
    store: BTreeMap<View, Vec<Certificate>>,
    timer: Option<Time>,
    heard: Vec<Rc<[u8]>>,
    /// For twins: which half of the senders this instance hears.
    twin_side: Option<u16>,
    group: u8,
}

impl Node {
    fn honest(&self) -> bool {
        self.behavior.is_none()
    }
}

struct Sim<'a> {
    scenario: &'a Scenario,
    /// `SUYUAN_SIM_TRACE` set: print refusals and, on a liveness failure, every node's state.
    trace: bool,
    network: NetworkFaults,
    rng: Rng,
    now: Time,
    seq: u64,
    queue: BinaryHeap<Reverse<Scheduled>>,
    chain: ChainId,
    genesis: Block,
    validators: ValidatorSet,
    keys: Vec<SigningKey>,
    nodes: Vec<Node>,
    partitioned: bool,
    crashes_left: u32,
    /// The application's view of every block ever proposed.
    blocks: BTreeMap<Digest, AppBlock>,
    clocks: Clocks,
    /// The k-th fastest honest clock's offset, k = q − b: see the module documentation.
    /// None when the Byzantine validators alone could form a quorum.
    majority_offset_ms: Option<i64>,
    /// Which validators are punctual and honest (see [`Scenario`]).
    punctual: Vec<bool>,
    /// [`Scenario::leader_bound_ms`] for this run's punctual validators.
    leader_bound_ms: u64,
    /// For each validator, when a block it led was last first finalized at or after
    /// stabilisation.
    last_led: Vec<Option<Time>>,
    checker: Checker,
    report: Report,
}

/// What the simulated application knows of a block.
#[derive(Clone, Copy, Debug)]
struct AppBlock {
    /// Whether its contents are valid.
    contents_valid: bool,
    /// Its time, in Unix milliseconds.
    time_ms: u64,
    /// When it was built, in simulated time.
    built_at: Time,
}

impl<'a> Sim<'a> {
    fn new(scenario: &'a Scenario, seed: u64) -> Sim<'a> {
        let mut rng = Rng::new(seed ^ 0x5359_5955_414e_0001);
        let keys: Vec<SigningKey> = (0..scenario.n)
            .map(|_| SigningKey::from_bytes(&rng.bytes32()))
            .collect();
        let validators = ValidatorSet::new(keys.iter().map(|k| k.verifying_key()).collect())
            .expect("simulated validator keys are distinct and few");
        let chain = ChainId(rng.bytes32());
        let genesis = Block::genesis(Digest(rng.bytes32()));
        // Byzantine validators sit at random positions, so any of them may lead any view.
        let mut order: Vec<usize> = (0..scenario.n).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut behaviors = vec![None; scenario.n];
        for (slot, behavior) in order.iter().zip(&scenario.byzantine) {
            behaviors[*slot] = Some(*behavior);
        }
        let mut nodes = Vec::new();
        for (i, behavior) in behaviors.iter().enumerate() {
            let twins: &[Option<u16>] = if *behavior == Some(Behavior::Twins) {
                &[Some(0), Some(1)]
            } else {
                &[None]
            };
            for &twin_side in twins {
                nodes.push(Node {
                    index: ValidatorIndex(i as u16),
                    behavior: *behavior,
                    engine: None,
                    incarnation: 0,
                    wal: Vec::new(),
                    tip: genesis,
                    store: BTreeMap::new(),
                    timer: None,
                    heard: Vec::new(),
                    twin_side,
                    group: 0,
                });
            }
        }
        let honest: Vec<bool> = behaviors.iter().map(Option::is_none).collect();
        let checker = Checker::new(
            chain,
            validators.clone(),
            honest,
            scenario.check_certificates,
        );
        let mut blocks = BTreeMap::new();
        let genesis_app = AppBlock {
            contents_valid: true,
            time_ms: GENESIS_TIME_MS,
            built_at: Time(0),
        };
        blocks.insert(genesis.digest(), genesis_app);
        let offsets: Vec<i64> = (0..scenario.n)
            .map(|i| {
                let jitter = scenario.clock_jitter_ms;
                let drawn = rng.range(0, 2 * jitter) as i64 - jitter as i64;
                scenario.clock_offsets_ms.get(i).copied().unwrap_or(0) + drawn
            })
            .collect();
        let clocks = Clocks::new(
            offsets,
            scenario.timeouts.leader_ms,
            scenario.block_interval_ms,
        );
        #[cfg(test)]
        let clocks = clocks.with_mutation(scenario.clock_mutation);
        let honest_offsets: Vec<i64> = (0..scenario.n)
            .filter(|&i| behaviors[i].is_none())
            .map(|i| clocks.offset_ms(ValidatorIndex(i as u16)))
            .collect();
        let majority_offset_ms =
            kth_fastest_offset(&honest_offsets, validators.quorum(), scenario.n);
        let tolerance = scenario.timeouts.leader_ms as i64;
        let punctual: Vec<bool> = (0..scenario.n)
            .map(|i| {
                let own = clocks.offset_ms(ValidatorIndex(i as u16));
                let near = honest_offsets.iter().filter(|&&o| o >= own - tolerance);
                behaviors[i].is_none() && near.count() >= validators.quorum()
            })
            .collect();
        Sim {
            scenario,
            trace: std::env::var_os("SUYUAN_SIM_TRACE").is_some(),
            network: scenario.network.draw(&mut rng),
            rng,
            now: Time(0),
            seq: 0,
            queue: BinaryHeap::new(),
            chain,
            genesis,
            validators,
            keys,
            nodes,
            partitioned: false,
            crashes_left: scenario.crashes,
            blocks,
            clocks,
            majority_offset_ms,
            leader_bound_ms: scenario.leader_bound_ms(punctual.iter().filter(|&&p| p).count()),
            punctual,
            last_led: vec![None; scenario.n],
            checker,
            report: Report::default(),
        }
    }

    fn run(&mut self) -> Result<(), Violation> {
        self.scenario.check(self.leader_bound_ms);
        for id in 0..self.nodes.len() {
            self.start_node(id)?;
        }
        self.schedule_faults();
        let end = self.stabilised().plus_ms(self.scenario.window_ms);
        let mut events = 0u64;
        while let Some(Reverse(next)) = self.queue.pop() {
            events += 1;
            if events > MAX_EVENTS {
                return Err(Violation::Runaway);
            }
            if next.at > end {
                break;
            }
            self.now = next.at;
            self.dispatch(next.event)?;
        }
        self.now = end;
        self.check_liveness()
    }

    fn stabilised(&self) -> Time {
        Time(self.scenario.chaos_ms)
    }

    fn schedule_faults(&mut self) {
        let chaos = self.scenario.chaos_ms;
        if self.network.partitions {
            let mut t = self.rng.range(100, 600);
            while t + 300 < chaos {
                let longest = self.network.max_partition_ms.max(101);
                let length = self.rng.range(100, longest).min(chaos - t);
                self.schedule(Time(t), Event::Partition);
                self.schedule(Time(t + length), Event::Heal);
                t += length + self.rng.range(100, 700);
            }
        }
        let honest: Vec<NodeId> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].honest())
            .collect();
        for _ in 0..self.scenario.crashes / 2 {
            if let Some(&node) = self.rng.pick(&honest) {
                let at = self.rng.range(50, chaos.saturating_sub(1_000).max(60));
                self.schedule(Time(at), Event::Crash { node });
            }
        }
    }

    fn schedule(&mut self, at: Time, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at,
            seq: self.seq,
            event,
        }));
    }

    fn start_node(&mut self, id: NodeId) -> Result<(), Violation> {
        let node = &mut self.nodes[id];
        if node.behavior == Some(Behavior::Silent) || node.behavior == Some(Behavior::Garbage) {
            return Ok(());
        }
        let config = Config {
            chain: self.chain,
            validators: self.validators.clone(),
            key: self.keys[usize::from(node.index.0)].clone(),
            timeouts: self.scenario.timeouts,
        };
        let mut engine = Engine::new(config).expect("simulated keys are validators");
        #[cfg(test)]
        if let Some(mutation) = self.scenario.mutation {
            engine.set_mutation(mutation);
        }
        let finalized = node.tip;
        let votes = node
            .wal
            .iter()
            .filter(|v| v.vote.view() > finalized.view())
            .copied()
            .collect();
        let actions = engine
            .handle(Input::Recovered { finalized, votes }, self.now)
            .expect("recovery of an own, intact write-ahead log succeeds");
        node.engine = Some(engine);
        self.execute(id, actions)
    }

    fn dispatch(&mut self, event: Event) -> Result<(), Violation> {
        match event {
            Event::Deliver { to, from, bytes } => self.deliver(to, from, bytes),
            Event::Timer {
                node,
                incarnation,
                at,
            } => {
                let n = &self.nodes[node];
                if n.incarnation == incarnation && n.timer == Some(at) {
                    self.input(node, Input::Timeout)?;
                }
                Ok(())
            }
            Event::Build {
                node,
                incarnation,
                view,
                parent,
            } => {
                if self.nodes[node].incarnation == incarnation {
                    self.build(node, view, parent)?;
                }
                Ok(())
            }
            Event::Verdict {
                node,
                incarnation,
                block,
                valid,
            } => {
                if self.nodes[node].incarnation == incarnation {
                    let input = Input::Verdict {
                        view: block.view(),
                        digest: block.digest(),
                        valid,
                    };
                    self.input(node, input)?;
                }
                Ok(())
            }
            Event::Crash { node } => {
                self.crash(node);
                Ok(())
            }
            Event::Restart { node } => self.start_node(node),
            Event::Partition => {
                self.partitioned = true;
                self.report.partitions += 1;
                let count = self.nodes.len();
                let cut = self.rng.range(1, count as u64 - 1) as usize;
                let mut order: Vec<usize> = (0..count).collect();
                for i in (1..count).rev() {
                    order.swap(i, self.rng.below(i as u64 + 1) as usize);
                }
                for (rank, &id) in order.iter().enumerate() {
                    self.nodes[id].group = u8::from(rank < cut);
                }
                Ok(())
            }
            Event::Heal => {
                self.partitioned = false;
                Ok(())
            }
        }
    }

    fn crash(&mut self, id: NodeId) {
        let node = &mut self.nodes[id];
        if node.engine.is_none() || self.crashes_left == 0 {
            return;
        }
        self.crashes_left -= 1;
        self.report.crashes += 1;
        if self.trace {
            eprintln!("T {} n{} CRASH", self.now.0, node.index.0);
        }
        node.engine = None;
        node.incarnation += 1;
        node.timer = None;
        let latest = Time(self.scenario.chaos_ms.saturating_sub(50));
        let at = self
            .now
            .plus_ms(self.rng.range(50, 800))
            .min(latest)
            .max(self.now);
        self.schedule(at, Event::Restart { node: id });
    }

    fn deliver(
        &mut self,
        to: NodeId,
        from: ValidatorIndex,
        bytes: Rc<[u8]>,
    ) -> Result<(), Violation> {
        match self.nodes[to].behavior {
            Some(Behavior::Silent) => return Ok(()),
            Some(Behavior::Garbage) => {
                self.send_garbage(to, &bytes);
                return Ok(());
            }
            Some(Behavior::Replayer) => self.replay(to, &bytes),
            _ => {}
        }
        if self.nodes[to].engine.is_none() {
            return Ok(());
        }
        match Message::decode(&bytes) {
            Ok(message) => self.input(to, Input::Message { from, message }),
            Err(_) => {
                self.report.rejected += 1;
                Ok(())
            }
        }
    }

    fn input(&mut self, id: NodeId, input: Input) -> Result<(), Violation> {
        let Some(engine) = self.nodes[id].engine.as_mut() else {
            return Ok(());
        };
        match engine.handle(input, self.now) {
            Ok(actions) => self.execute(id, actions),
            Err(e) => {
                if self.trace {
                    let s = format!("{e:?}");
                    eprintln!("REJ {}", &s[..s.find([' ', '(', '{']).unwrap_or(s.len())]);
                }
                self.report.rejected += 1;
                Ok(())
            }
        }
    }

    /// Carry out a node's actions in order, as a real driver would.
    fn execute(&mut self, id: NodeId, actions: Vec<Action>) -> Result<(), Violation> {
        let index = self.nodes[id].index;
        let honest = self.nodes[id].honest();
        for action in actions {
            if self.trace && honest {
                match &action {
                    Action::PersistVote(sv) => {
                        eprintln!("T {} n{} vote {:?}", self.now.0, index.0, sv.vote)
                    }
                    Action::Fetch(v) => eprintln!("T {} n{} fetch {v:?}", self.now.0, index.0),
                    Action::Broadcast(Message::Certificate(c)) => {
                        eprintln!("T {} n{} cert {:?}", self.now.0, index.0, c.vote())
                    }
                    Action::Finalized(f) => {
                        eprintln!("T {} n{} FINAL {:?}", self.now.0, index.0, f.block)
                    }
                    Action::Verify(b) => eprintln!("T {} n{} verify {b:?}", self.now.0, index.0),
                    Action::RequestProposal { view, parent } => eprintln!(
                        "T {} n{} propose {view:?} on {parent:?}",
                        self.now.0, index.0
                    ),
                    _ => {}
                }
            }
            match action {
                Action::PersistVote(sv) => {
                    self.nodes[id].wal.push(sv);
                    if honest {
                        self.checker.own_vote(&sv)?;
                        if self.now.0 + 1_000 < self.scenario.chaos_ms
                            && self.rng.chance(CRASH_AFTER_PERSIST_PER_MILLE)
                        {
                            // Crash after the write, before the send: recovery must cope.
                            self.crash(id);
                            if self.nodes[id].engine.is_none() {
                                return Ok(());
                            }
                        }
                    }
                }
                Action::Broadcast(message) => self.broadcast_from(id, message),
                Action::Send { to, message } => self.send(id, to, message.encode().into()),
                Action::RequestProposal { view, parent } => self.propose(id, view, parent),
                Action::Verify(block) => {
                    let approves_all = self.nodes[id].behavior == Some(Behavior::InvalidBlocks);
                    let valid = approves_all || self.judge(index, &block);
                    let at = self.now.plus_ms(self.rng.range(VERIFY_MS.0, VERIFY_MS.1));
                    let incarnation = self.nodes[id].incarnation;
                    self.schedule(
                        at,
                        Event::Verdict {
                            node: id,
                            incarnation,
                            block,
                            valid,
                        },
                    );
                }
                Action::Finalized(finalized) => self.finalized(id, finalized)?,
                Action::Evidence(evidence) => {
                    if honest {
                        self.report.evidence += 1;
                        self.checker.evidence(&evidence)?;
                    }
                }
                Action::SetTimer(at) => {
                    self.nodes[id].timer = Some(at);
                    let incarnation = self.nodes[id].incarnation;
                    self.schedule(
                        at,
                        Event::Timer {
                            node: id,
                            incarnation,
                            at,
                        },
                    );
                }
                Action::Fetch(view) => {
                    self.report.fetches += u64::from(honest);
                    let bytes: Rc<[u8]> = Message::Request(view).encode().into();
                    for _ in 0..2 {
                        let to = self.random_peer(index);
                        self.send(id, to, bytes.clone());
                    }
                }
                Action::Serve { to, view } => {
                    let certs = self.nodes[id].store.get(&view).cloned().unwrap_or_default();
                    for cert in certs {
                        self.send(id, to, Message::Certificate(cert).encode().into());
                    }
                }
            }
        }
        Ok(())
    }

    /// The honest application's verdict on a proposal: valid contents, and a time the block-time
    /// rule accepts on this follower's clock now.
    fn judge(&self, follower: ValidatorIndex, block: &Block) -> bool {
        let (Some(app), Some(parent)) = (
            self.blocks.get(&block.digest()),
            self.blocks.get(&block.parent()),
        ) else {
            return false;
        };
        app.contents_valid
            && self
                .clocks
                .acceptable(follower, self.now, app.time_ms, parent.time_ms)
    }

    fn finalized(&mut self, id: NodeId, finalized: Finalized) -> Result<(), Violation> {
        let node = &self.nodes[id];
        if node.honest() {
            let bound_ms = self.majority_offset_ms.map(|offset| {
                Clocks::wall_at_offset_ms(offset, self.now) + self.scenario.timeouts.leader_ms
            });
            let first = self.checker.finalized(
                node.index,
                &node.tip,
                &finalized,
                &self.blocks,
                bound_ms,
                self.now,
            )?;
            if let Some(first) = first {
                self.first_finalized(first)?;
            }
        }
        let node = &mut self.nodes[id];
        node.tip = finalized.block;
        node.store
            .entry(finalized.block.view())
            .or_default()
            .push(finalized.certificate);
        for null in finalized.nullifications {
            node.store.entry(null.view()).or_default().push(null);
        }
        Ok(())
    }

    /// A block honest validators finalize for the first time: hold its leader to the bound.
    fn first_finalized(&mut self, block: ChainBlock) -> Result<(), Violation> {
        let gst = self.stabilised();
        let leader = usize::from(block.leader.0);
        if block.finalized_at >= gst {
            let since = self.last_led[leader].unwrap_or(gst);
            self.leader_gap(block.leader, since, block.finalized_at)?;
            self.last_led[leader] = Some(block.finalized_at);
        }
        self.report.chain.push(block);
        Ok(())
    }

    /// Record a punctual leader's gap without a finalized block; fail if it exceeds the bound.
    fn leader_gap(
        &mut self,
        leader: ValidatorIndex,
        since: Time,
        until: Time,
    ) -> Result<(), Violation> {
        if !self.punctual[usize::from(leader.0)] {
            return Ok(());
        }
        let gap = until.0 - since.0;
        self.report.longest_leader_gap_ms = self.report.longest_leader_gap_ms.max(gap);
        if since == self.stabilised() {
            self.report.recovery_ms = self.report.recovery_ms.max(gap);
        }
        if gap > self.leader_bound_ms {
            return Err(Violation::LeaderStarved { leader, since });
        }
        Ok(())
    }

    /// The application is asked for a block: build it once the leader's wait is over.
    fn propose(&mut self, id: NodeId, view: View, parent: Block) {
        let Some(parent_app) = self.blocks.get(&parent.digest()) else {
            return; // engines only build on notarized blocks, which the application has
        };
        let wait = self
            .clocks
            .proposal_wait_ms(self.nodes[id].index, self.now, parent_app.time_ms);
        let at = self
            .now
            .plus_ms(wait + self.rng.range(BUILD_MS.0, BUILD_MS.1));
        let incarnation = self.nodes[id].incarnation;
        self.schedule(
            at,
            Event::Build {
                node: id,
                incarnation,
                view,
                parent,
            },
        );
    }

    /// Build a leader's block now: an honest one stamped by the rule; an `InvalidBlocks` one,
    /// turn by turn, invalid, forking from genesis, badly timed or timed at the edge.
    fn build(&mut self, id: NodeId, view: View, parent: Block) -> Result<(), Violation> {
        let index = self.nodes[id].index;
        let parent_ms = self.blocks.get(&parent.digest()).map_or(0, |p| p.time_ms);
        let honest_time = self.clocks.block_time_ms(index, self.now, parent_ms);
        let digest = Digest(self.rng.bytes32());
        let mut app = AppBlock {
            contents_valid: true,
            time_ms: honest_time,
            built_at: self.now,
        };
        if self.nodes[id].behavior == Some(Behavior::InvalidBlocks) {
            let turn = view.0 / self.scenario.n as u64;
            match turn % 5 {
                0 => app.contents_valid = false,
                1 => {
                    // Fork from genesis: a valid-looking block whose parent link skips history.
                    self.blocks.insert(digest, app);
                    if let Some(block) = self.genesis.child(view, digest) {
                        let sv = self.sign(id, Vote::Notarize(block));
                        self.broadcast_from(id, Message::Vote(sv));
                    }
                    return Ok(());
                }
                2 => app.time_ms = parent_ms.saturating_sub(1),
                3 => app.time_ms = self.fastest_honest_wall_ms() + self.clocks.tolerance_ms() + 1,
                _ => app.time_ms = self.edge_time_ms().max(parent_ms),
            }
        }
        self.blocks.insert(digest, app);
        match parent.child(view, digest) {
            Some(block) => self.input(id, Input::Proposal(block)),
            None => Ok(()),
        }
    }

    /// The fastest honest clock now.
    fn fastest_honest_wall_ms(&self) -> u64 {
        (0..self.scenario.n)
            .filter(|&i| self.checker.honest[i])
            .map(|i| self.clocks.wall_ms(ValidatorIndex(i as u16), self.now))
            .max()
            .unwrap_or(0)
    }

    /// The latest time a quorum can accept now: τ past the (q − 1)-th fastest honest clock, so
    /// that with the Byzantine leader's own vote exactly a quorum approves.
    fn edge_time_ms(&self) -> u64 {
        let mut walls: Vec<u64> = (0..self.scenario.n)
            .filter(|&i| self.checker.honest[i])
            .map(|i| self.clocks.wall_ms(ValidatorIndex(i as u16), self.now))
            .collect();
        walls.sort_unstable_by(|a, b| b.cmp(a));
        let k = self.validators.quorum().saturating_sub(2);
        let wall = walls.get(k).or(walls.last()).copied().unwrap_or(0);
        wall + self.clocks.tolerance_ms()
    }

    fn sign(&self, id: NodeId, vote: Vote) -> SignedVote {
        let index = self.nodes[id].index;
        SignedVote::sign(self.chain, vote, index, &self.keys[usize::from(index.0)])
    }

    fn broadcast_from(&mut self, id: NodeId, message: Message) {
        let behavior = self.nodes[id].behavior;
        let me = self.nodes[id].index;
        if let Message::Vote(sv) = &message {
            let is_proposal = matches!(sv.vote, Vote::Notarize(_))
                && self.validators.leader(sv.vote.view()) == me;
            match behavior {
                Some(Behavior::EquivocatingLeader) if is_proposal => {
                    return self.equivocate(id, sv);
                }
                Some(Behavior::DoubleVoter) => self.double_vote(id, sv),
                _ => {}
            }
        }
        self.report.messages += self.validators.len() as u64;
        let bytes: Rc<[u8]> = message.encode().into();
        for to in 0..self.validators.len() {
            let to = ValidatorIndex(to as u16);
            if to != me {
                self.send(id, to, bytes.clone());
            }
        }
    }

    /// Send one proposal to half the validators and a different valid block to the rest.
    fn equivocate(&mut self, id: NodeId, sv: &SignedVote) {
        let Some(block) = sv.vote.block() else { return };
        let Some(&app) = self.blocks.get(&block.digest()) else {
            return;
        };
        let digest = Digest(self.rng.bytes32());
        self.blocks.insert(digest, app);
        let Ok(other) = Block::new(
            block.view(),
            block.height(),
            block.parent_view(),
            block.parent(),
            digest,
        ) else {
            return;
        };
        let second = self.sign(id, Vote::Notarize(other));
        let me = self.nodes[id].index;
        let a: Rc<[u8]> = Message::Vote(*sv).encode().into();
        let b: Rc<[u8]> = Message::Vote(second).encode().into();
        for to in 0..self.validators.len() {
            let to = ValidatorIndex(to as u16);
            if to != me {
                let bytes = if self.rng.chance(500) {
                    a.clone()
                } else {
                    b.clone()
                };
                self.send(id, to, bytes);
            }
        }
    }

    /// Sign a vote conflicting with `sv` and send it to a random half.
    fn double_vote(&mut self, id: NodeId, sv: &SignedVote) {
        let view = sv.vote.view();
        let conflicting = match sv.vote {
            Vote::Notarize(b) => Block::new(
                view,
                b.height(),
                b.parent_view(),
                b.parent(),
                Digest(self.rng.bytes32()),
            )
            .ok()
            .map(Vote::Notarize),
            Vote::Finalize(_) => Some(Vote::Nullify(view)),
            Vote::Nullify(_) => self
                .genesis
                .child(view, Digest(self.rng.bytes32()))
                .map(Vote::Finalize),
        };
        let Some(vote) = conflicting else { return };
        let second: Rc<[u8]> = Message::Vote(self.sign(id, vote)).encode().into();
        let me = self.nodes[id].index;
        for to in 0..self.validators.len() {
            let to = ValidatorIndex(to as u16);
            if to != me && self.rng.chance(500) {
                self.send(id, to, second.clone());
            }
        }
    }

    fn replay(&mut self, id: NodeId, bytes: &Rc<[u8]>) {
        let node = &mut self.nodes[id];
        if node.heard.len() < REPLAY_MEMORY {
            node.heard.push(bytes.clone());
        } else {
            let slot = self.rng.below(REPLAY_MEMORY as u64) as usize;
            node.heard[slot] = bytes.clone();
        }
        if self.rng.chance(300) {
            let old = self.rng.pick(&self.nodes[id].heard).cloned();
            let to = self.random_peer(self.nodes[id].index);
            if let Some(old) = old {
                self.send(id, to, old);
            }
        }
    }

    fn send_garbage(&mut self, id: NodeId, heard: &Rc<[u8]>) {
        if !self.rng.chance(500) {
            return;
        }
        let me = self.nodes[id].index;
        let n = self.validators.len() as u64;
        let view = View(self.rng.range(1, 200));
        let block = self.genesis.child(view, Digest(self.rng.bytes32()));
        let bytes: Vec<u8> = match self.rng.below(10) {
            0 => (0..self.rng.below(300))
                .map(|_| self.rng.next_u64() as u8)
                .collect(),
            1 => {
                let mut b = heard.to_vec();
                if !b.is_empty() {
                    let i = self.rng.below(b.len() as u64) as usize;
                    b[i] ^= 1 << self.rng.below(8);
                }
                b
            }
            2 => heard[..self.rng.below(heard.len() as u64 + 1) as usize].to_vec(),
            3 => [heard.as_ref(), &[0]].concat(),
            4 => {
                let key = &self.keys[usize::from(me.0)];
                let vote = Vote::Nullify(view);
                Message::Vote(SignedVote::sign(ChainId([7; 32]), vote, me, key)).encode()
            }
            5 => {
                let far = View(self.rng.range(1_000, u64::MAX / 2));
                Message::Vote(self.sign(id, Vote::Nullify(far))).encode()
            }
            6 => {
                // Claim another validator's identity with our own signature.
                let mut sv = self.sign(id, Vote::Nullify(view));
                sv.signer = ValidatorIndex(self.rng.below(n) as u16);
                Message::Vote(sv).encode()
            }
            7 => {
                // A "certificate" of our one signature under every index, or from a stranger.
                let sv = self.sign(id, block.map_or(Vote::Nullify(view), Vote::Finalize));
                let stranger = self.rng.chance(500);
                let signers = (0..n as u16)
                    .map(|i| {
                        (
                            ValidatorIndex(if stranger { i + n as u16 } else { i }),
                            sv.signature,
                        )
                    })
                    .collect();
                Certificate::new(self.chain, sv.vote, signers)
                    .map(|c| Message::Certificate(c).encode())
                    .unwrap_or_default()
            }
            8 => vec![1; MAX_MESSAGE_BYTES + 1],
            _ => Message::Request(View(self.rng.next_u64())).encode(),
        };
        let to = self.random_peer(me);
        self.send(id, to, bytes.into());
    }

    fn random_peer(&mut self, me: ValidatorIndex) -> ValidatorIndex {
        let n = self.validators.len() as u64;
        let pick = self.rng.below(n - 1) as u16;
        ValidatorIndex(if pick >= me.0 { pick + 1 } else { pick })
    }

    /// Put one message on the simulated wire to every instance of validator `to`.
    fn send(&mut self, from_node: NodeId, to: ValidatorIndex, bytes: Rc<[u8]>) {
        let from = self.nodes[from_node].index;
        let stable = self.now.0 >= self.scenario.chaos_ms;
        let net = self.network;
        let (max_latency, loss) = if stable {
            (net.healed_max_latency_ms, 0)
        } else {
            (net.max_latency_ms, net.loss_per_mille)
        };
        for dst in 0..self.nodes.len() {
            let node = &self.nodes[dst];
            if node.index != to || node.twin_side.is_some_and(|side| side != from.0 % 2) {
                continue;
            }
            if self.partitioned && node.group != self.nodes[from_node].group {
                continue;
            }
            if self.rng.chance(loss) {
                continue;
            }
            let copies = if self.rng.chance(net.duplicate_per_mille) {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let at = self
                    .now
                    .plus_ms(self.rng.range(net.min_latency_ms, max_latency));
                self.schedule(
                    at,
                    Event::Deliver {
                        to: dst,
                        from,
                        bytes: bytes.clone(),
                    },
                );
            }
        }
    }

    /// At the end: every punctual leader's last gap, and every honest validator's lag.
    fn check_liveness(&mut self) -> Result<(), Violation> {
        let gst = self.stabilised();
        for leader in 0..self.scenario.n {
            let since = self.last_led[leader].unwrap_or(gst);
            if let Err(violation) = self.leader_gap(ValidatorIndex(leader as u16), since, self.now)
            {
                self.trace_nodes();
                return Err(violation);
            }
        }
        let settled = Time(self.now.0.saturating_sub(self.leader_bound_ms));
        let wanted = self
            .report
            .chain
            .iter()
            .filter(|b| b.finalized_at <= settled)
            .map(|b| b.block.height())
            .max()
            .unwrap_or_default();
        let lagging = self
            .nodes
            .iter()
            .find(|n| n.honest() && n.tip.height() < wanted);
        if let Some(node) = lagging {
            let violation = Violation::Liveness {
                validator: node.index,
                height: node.tip.height(),
                wanted,
            };
            self.trace_nodes();
            return Err(violation);
        }
        Ok(())
    }

    fn trace_nodes(&self) {
        if !self.trace {
            return;
        }
        for n in &self.nodes {
            eprintln!(
                "node {} {:?} clock {:+} ms view {:?} tip {:?} timer {:?} now {:?}",
                n.index.0,
                n.behavior,
                self.clocks.offset_ms(n.index),
                n.engine.as_ref().map(|e| e.view()),
                n.tip,
                n.timer,
                self.now
            );
        }
    }

    fn report(&mut self) -> Report {
        let honest = self.nodes.iter().filter(|n| n.honest());
        Report {
            views: honest
                .clone()
                .filter_map(|n| n.engine.as_ref())
                .map(|e| e.view().0)
                .max()
                .unwrap_or(0),
            min_height: honest.map(|n| n.tip.height().0).min().unwrap_or(0),
            simulated_ms: self.now.0,
            stabilised_at: self.stabilised(),
            leader_bound_ms: self.leader_bound_ms,
            chain: std::mem::take(&mut self.report.chain),
            punctual: (0..self.scenario.n)
                .filter(|&i| self.punctual[i])
                .map(|i| ValidatorIndex(i as u16))
                .collect(),
            ..self.report
        }
    }
}

/// The offset of the k-th fastest honest clock, k = q − b with b = n − (honest validators):
/// the honest signers every quorum contains. None when the Byzantine validators alone could
/// form a quorum.
fn kth_fastest_offset(honest: &[i64], quorum: usize, n: usize) -> Option<i64> {
    let k = quorum.checked_sub(n - honest.len())?;
    let mut fastest_first = honest.to_vec();
    fastest_first.sort_unstable_by(|a, b| b.cmp(a));
    fastest_first.get(k.checked_sub(1)?).copied()
}

/// The invariants, checked incrementally as honest validators act.
struct Checker {
    chain: ChainId,
    validators: ValidatorSet,
    honest: Vec<bool>,
    check_certificates: bool,
    /// The first block any honest validator finalized at each height.
    heights: BTreeMap<u64, Digest>,
    /// Every vote honest validators signed: (signer, view) -> votes.
    votes: BTreeMap<(ValidatorIndex, View), Vec<Vote>>,
    /// Signatures already verified: (signer, signature bytes, vote).
    verified: BTreeSet<(ValidatorIndex, [u8; 64], Vote)>,
}

impl Checker {
    fn new(
        chain: ChainId,
        validators: ValidatorSet,
        honest: Vec<bool>,
        check_certificates: bool,
    ) -> Checker {
        Checker {
            chain,
            validators,
            honest,
            check_certificates,
            heights: BTreeMap::new(),
            votes: BTreeMap::new(),
            verified: BTreeSet::new(),
        }
    }

    fn own_vote(&mut self, sv: &SignedVote) -> Result<(), Violation> {
        let votes = self.votes.entry((sv.signer, sv.vote.view())).or_default();
        if let Some(first) = votes.iter().find(|v| v.conflicts_with(&sv.vote)) {
            return Err(Violation::HonestEquivocation {
                validator: sv.signer,
                first: Box::new(*first),
                second: Box::new(sv.vote),
            });
        }
        if !votes.contains(&sv.vote) {
            votes.push(sv.vote);
        }
        Ok(())
    }

    fn evidence(&mut self, evidence: &Evidence) -> Result<(), Violation> {
        let validator = evidence.signer();
        let honest = self
            .honest
            .get(usize::from(validator.0))
            .copied()
            .unwrap_or(false);
        if honest || evidence.verify(&self.chain, &self.validators).is_err() {
            return Err(Violation::FalseEvidence { validator });
        }
        Ok(())
    }

    /// Check a block an honest validator finalized at `now`, given the application's blocks and
    /// the time bound of the moment (None: no bound applies); return it when it is the first
    /// finalization at its height.
    fn finalized(
        &mut self,
        validator: ValidatorIndex,
        tip: &Block,
        finalized: &Finalized,
        blocks: &BTreeMap<Digest, AppBlock>,
        bound_ms: Option<u64>,
        now: Time,
    ) -> Result<Option<ChainBlock>, Violation> {
        let block = finalized.block;
        let extends = block.parent() == tip.digest()
            && block.parent_view() == tip.view()
            && block.height().0 == tip.height().0 + 1;
        if !extends {
            return Err(Violation::BrokenChain {
                validator,
                block: Box::new(block),
            });
        }
        let is_first = !self.heights.contains_key(&block.height().0);
        let first = *self
            .heights
            .entry(block.height().0)
            .or_insert(block.digest());
        if first != block.digest() {
            return Err(Violation::Fork {
                height: block.height(),
                first,
                second: block.digest(),
            });
        }
        let (Some(app), Some(parent)) = (blocks.get(&block.digest()), blocks.get(&tip.digest()))
        else {
            return Err(Violation::InvalidBlockFinalized {
                block: Box::new(block),
            });
        };
        if !app.contents_valid {
            return Err(Violation::InvalidBlockFinalized {
                block: Box::new(block),
            });
        }
        if app.time_ms < parent.time_ms {
            return Err(Violation::TimeWentBack {
                block: Box::new(block),
                time_ms: app.time_ms,
                parent_time_ms: parent.time_ms,
            });
        }
        if let Some(bound_ms) = bound_ms.filter(|&b| app.time_ms > b) {
            return Err(Violation::TimeAhead {
                block: Box::new(block),
                time_ms: app.time_ms,
                bound_ms,
            });
        }
        if self.check_certificates {
            self.check_justification(finalized)
                .map_err(|reason| Violation::BadCertificate { validator, reason })?;
        }
        Ok(is_first.then(|| ChainBlock {
            block,
            leader: self.validators.leader(block.view()),
            time_ms: app.time_ms,
            parent_time_ms: parent.time_ms,
            built_at: app.built_at,
            finalized_at: now,
        }))
    }

    fn check_justification(&mut self, finalized: &Finalized) -> Result<(), String> {
        let block = finalized.block;
        let cert = &finalized.certificate;
        let names_block =
            matches!(cert.vote(), Vote::Notarize(b) | Vote::Finalize(b) if *b == block);
        if !names_block {
            return Err(format!(
                "certificate {:?} is not for {block:?}",
                cert.vote()
            ));
        }
        self.check_certificate(cert)?;
        let skipped: Vec<View> = (block.parent_view().0 + 1..block.view().0)
            .map(View)
            .collect();
        let got: Vec<View> = finalized
            .nullifications
            .iter()
            .map(Certificate::view)
            .collect();
        if got != skipped {
            return Err(format!(
                "nullifications for {got:?}, skipped views {skipped:?}"
            ));
        }
        for null in &finalized.nullifications {
            if null.vote().kind() != VoteKind::Nullify {
                return Err("a skipped view's certificate is not a nullification".into());
            }
            self.check_certificate(null)?;
        }
        Ok(())
    }

    /// Verify independently of the engine: true quorum, distinct known signers, signatures.
    fn check_certificate(&mut self, cert: &Certificate) -> Result<(), String> {
        let quorum = self.validators.quorum();
        cert.check_shape(&self.chain, &self.validators, quorum)
            .map_err(|e| e.to_string())?;
        for sv in cert.votes() {
            let key = (sv.signer, sv.signature.to_bytes(), sv.vote);
            if !self.verified.contains(&key) {
                sv.verify(&self.chain, &self.validators)
                    .map_err(|e| e.to_string())?;
                self.verified.insert(key);
            }
        }
        Ok(())
    }
}
