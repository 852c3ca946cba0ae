//! Simulate a network of validators deterministically from a seed, with faults, checking safety
//! after every step and liveness once the network heals.
//!
//! Compiled for this crate's tests and, with the `sim` feature, for other crates (the node's
//! tests can reuse [`run`] and [`Scenario`]). Everything random comes from one seeded
//! generator and events are ordered by (time, sequence number), so a seed replays exactly.
//!
//! Set `SUYUAN_SIM_TRACE=1` when replaying a seed to print every refused input and, on a
//! liveness failure, each node's view and finalized tip.
//!
//! A run has two phases. Until `chaos_ms` (the global stabilisation time) the network delays,
//! drops, duplicates and reorders messages and partitions form and heal; honest validators
//! crash (sometimes between persisting a vote and sending it) and restart from their
//! write-ahead log. After it the network is partition-free and honest validators are up;
//! every honest validator must then finalize `liveness_blocks` new blocks within
//! `liveness_bound_ms`. Byzantine validators misbehave throughout (see [`Behavior`]).
//!
//! Checked after every step: no two honest validators finalize different blocks at one height;
//! each honest chain extends its previous block (so chains are prefixes of one another); every
//! finalized block carries a valid certificate and the nullifications of the views it skips;
//! no finalized block is invalid; no honest validator signs two conflicting votes; evidence
//! never convicts an honest validator.

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
    /// Approves every block it is asked about; as leader proposes invalid blocks or blocks
    /// forking from genesis.
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
    /// Largest one-way delay after stabilisation.
    pub healed_max_latency_ms: u64,
    /// Message loss after stabilisation, per mille.
    pub healed_loss_per_mille: u32,
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
            healed_loss_per_mille: 20,
        }
    }
}

/// One simulated setting; [`run`] plays it for one seed.
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
    /// Blocks each honest validator must finalize after stabilisation.
    pub liveness_blocks: u64,
    /// Simulated time allowed for that.
    pub liveness_bound_ms: u64,
    /// The validators' timers.
    pub timeouts: Timeouts,
    /// Check finalized blocks' certificates (turned off to show the fork check alone works).
    pub check_certificates: bool,
    #[cfg(test)]
    pub(crate) mutation: Option<Mutation>,
}

impl Scenario {
    /// `n` validators, the given Byzantine ones, and default faults and timings.
    pub fn new(n: usize, byzantine: Vec<Behavior>) -> Scenario {
        Scenario {
            n,
            byzantine,
            network: NetworkFaults::default(),
            crashes: 3,
            chaos_ms: 4_000,
            liveness_blocks: 3,
            liveness_bound_ms: 20_000,
            timeouts: Timeouts {
                leader_ms: 250,
                view_ms: 400,
                retry_ms: 250,
                fetch_retry_ms: 250,
            },
            check_certificates: true,
            #[cfg(test)]
            mutation: None,
        }
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
    /// An honest validator did not finalize enough blocks in time after stabilisation.
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
        !matches!(self, Violation::Liveness { .. } | Violation::Runaway)
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

/// What a passing run did.
#[derive(Clone, Copy, Debug, Default)]
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
    /// Simulated milliseconds from stabilisation until every honest validator had finalized
    /// its `liveness_blocks`.
    pub recovery_ms: u64,
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
    Proposal {
        node: NodeId,
        incarnation: u32,
        block: Block,
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
    /// The application's view of every block ever proposed: digest -> valid.
    blocks: BTreeMap<Digest, bool>,
    checker: Checker,
    /// Honest heights at stabilisation, once reached.
    heights_at_gst: Option<Vec<u64>>,
    report: Report,
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
        blocks.insert(genesis.digest(), true);
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
            checker,
            heights_at_gst: None,
            report: Report::default(),
        }
    }

    fn run(&mut self) -> Result<(), Violation> {
        for id in 0..self.nodes.len() {
            self.start_node(id)?;
        }
        self.schedule_faults();
        let deadline = Time(self.scenario.chaos_ms + self.scenario.liveness_bound_ms);
        let mut events = 0u64;
        while let Some(Reverse(next)) = self.queue.pop() {
            events += 1;
            if events > MAX_EVENTS {
                return Err(Violation::Runaway);
            }
            if next.at > deadline {
                return Err(self.liveness_violation());
            }
            self.now = next.at;
            if self.heights_at_gst.is_none() && self.now.0 >= self.scenario.chaos_ms {
                self.heights_at_gst = Some(self.honest_heights());
            }
            self.dispatch(next.event)?;
            if self.live() {
                return Ok(());
            }
        }
        Err(self.liveness_violation())
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
            Event::Proposal {
                node,
                incarnation,
                block,
            } => {
                if self.nodes[node].incarnation == incarnation {
                    self.input(node, Input::Proposal(block))?;
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
                    let valid = approves_all || self.blocks.get(&block.digest()) == Some(&true);
                    let at = self.now.plus_ms(self.rng.range(1, 10));
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

    fn finalized(&mut self, id: NodeId, finalized: Finalized) -> Result<(), Violation> {
        let node = &mut self.nodes[id];
        if node.honest() {
            self.checker
                .finalized(node.index, &node.tip, &finalized, &self.blocks)?;
        }
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

    fn propose(&mut self, id: NodeId, view: View, parent: Block) {
        let behavior = self.nodes[id].behavior;
        let digest = Digest(self.rng.bytes32());
        if behavior == Some(Behavior::InvalidBlocks) {
            if view.0 % 2 == 1 {
                // Fork from genesis: a valid-looking block whose parent link skips history.
                self.blocks.insert(digest, true);
                if let Some(block) = self.genesis.child(view, digest) {
                    let sv = self.sign(id, Vote::Notarize(block));
                    self.broadcast_from(id, Message::Vote(sv));
                }
                return;
            }
            self.blocks.insert(digest, false);
        } else {
            self.blocks.insert(digest, true);
        }
        if let Some(block) = parent.child(view, digest) {
            let at = self.now.plus_ms(self.rng.range(1, 5));
            let incarnation = self.nodes[id].incarnation;
            self.schedule(
                at,
                Event::Proposal {
                    node: id,
                    incarnation,
                    block,
                },
            );
        }
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
        let digest = Digest(self.rng.bytes32());
        self.blocks.insert(digest, true);
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
            (net.healed_max_latency_ms, net.healed_loss_per_mille)
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

    fn honest_heights(&self) -> Vec<u64> {
        self.nodes
            .iter()
            .filter(|n| n.honest())
            .map(|n| n.tip.height().0)
            .collect()
    }

    fn live(&self) -> bool {
        let Some(start) = &self.heights_at_gst else {
            return false;
        };
        let want = self.scenario.liveness_blocks;
        self.honest_heights()
            .iter()
            .zip(start)
            .all(|(now, then)| *now >= then + want)
    }

    fn liveness_violation(&self) -> Violation {
        if self.trace {
            for n in &self.nodes {
                eprintln!(
                    "node {} {:?} view {:?} tip {:?} timer {:?} now {:?}",
                    n.index.0,
                    n.behavior,
                    n.engine.as_ref().map(|e| e.view()),
                    n.tip,
                    n.timer,
                    self.now
                );
            }
        }
        let start = self
            .heights_at_gst
            .clone()
            .unwrap_or_else(|| self.honest_heights());
        let honest = self.nodes.iter().filter(|n| n.honest());
        for (node, then) in honest.zip(start) {
            let wanted = then + self.scenario.liveness_blocks;
            if node.tip.height().0 < wanted {
                return Violation::Liveness {
                    validator: node.index,
                    height: node.tip.height(),
                    wanted: Height(wanted),
                };
            }
        }
        Violation::Runaway
    }

    fn report(&self) -> Report {
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
            recovery_ms: self.now.0.saturating_sub(self.scenario.chaos_ms),
            ..self.report
        }
    }
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

    fn finalized(
        &mut self,
        validator: ValidatorIndex,
        tip: &Block,
        finalized: &Finalized,
        blocks: &BTreeMap<Digest, bool>,
    ) -> Result<(), Violation> {
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
        if blocks.get(&block.digest()) != Some(&true) {
            return Err(Violation::InvalidBlockFinalized {
                block: Box::new(block),
            });
        }
        if self.check_certificates {
            self.check_justification(finalized)
                .map_err(|reason| Violation::BadCertificate { validator, reason })?;
        }
        Ok(())
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
