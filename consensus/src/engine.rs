//! Run one validator's side of the protocol as a pure state machine: inputs in, actions out.

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::SigningKey;

use crate::codec::Message;
use crate::error::Rejection;
use crate::limits::{
    MAX_FETCHES_IN_FLIGHT, MAX_RECOVERED_VOTES, MAX_VIEWS_AHEAD, VOTE_RETENTION_VIEWS,
    VOTE_WINDOW_VIEWS,
};
use crate::types::{Block, ChainId, Digest, Time, ValidatorIndex, View};
use crate::vote::{Certificate, Evidence, SignedVote, ValidatorSet, Vote, VoteKind};

/// Timer lengths, all in milliseconds. With Δ the network delay the deployment assumes once the
/// network is stable, the protocol wants a leader timeout of about 2Δ and a view timeout of
/// about 3Δ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// How long to wait for the leader's proposal after entering a view before nullifying it.
    pub leader_ms: u64,
    /// How long to wait for a notarization after entering a view before nullifying it.
    pub view_ms: u64,
    /// After nullifying, how often to resend the nullify vote and the latest certificate.
    pub retry_ms: u64,
    /// How long a certificate fetch may stay unanswered before it is asked again.
    pub fetch_retry_ms: u64,
}

impl Default for Timeouts {
    /// Values for Δ = 500 ms.
    fn default() -> Timeouts {
        Timeouts {
            leader_ms: 1_000,
            view_ms: 1_500,
            retry_ms: 1_000,
            fetch_retry_ms: 1_000,
        }
    }
}

/// Everything an [`Engine`] is built from.
#[derive(Clone, Debug)]
pub struct Config {
    /// The chain every vote names.
    pub chain: ChainId,
    /// The genesis validator set.
    pub validators: ValidatorSet,
    /// This validator's signing key; its public key must be in `validators`.
    pub key: SigningKey,
    /// Timer lengths.
    pub timeouts: Timeouts,
}

/// Why an [`Engine`] could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The signing key's public key is not in the validator set.
    #[error("this key is not in the validator set")]
    NotAValidator,
    /// A timeout of zero would spin.
    #[error("timeouts must be positive")]
    ZeroTimeout,
}

/// What the driver feeds the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The first input, exactly once: the last finalized block the node stored (or genesis) and
    /// every own vote in the write-ahead log for views above it (empty on a fresh start).
    Recovered {
        /// The last finalized block in storage.
        finalized: Block,
        /// The votes from the write-ahead log.
        votes: Vec<SignedVote>,
    },
    /// A message from a peer, after [`Message::decode`].
    Message {
        /// The peer that sent it (the transport's authenticated identity).
        from: ValidatorIndex,
        /// The message.
        message: Message,
    },
    /// The timer set by the last [`Action::SetTimer`] fired (spurious ticks are harmless).
    Timeout,
    /// The application's block for [`Action::RequestProposal`]: the requested parent's child in
    /// the requested view.
    Proposal(Block),
    /// The application's judgement of a block it was asked to [`Action::Verify`].
    Verdict {
        /// The block's view.
        view: View,
        /// The block's digest.
        digest: Digest,
        /// Whether the contents are valid and extend the parent.
        valid: bool,
    },
}

/// A finalized block with what justifies it, delivered in chain order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finalized {
    /// The block.
    pub block: Block,
    /// Its finalization, or its notarization when it was finalized through a descendant's
    /// finalization (delivered after it, in the same batch or a later one).
    pub certificate: Certificate,
    /// Nullifications of every view strictly between the parent's view and the block's view:
    /// with them the chain justifies itself to an auditor.
    pub nullifications: Vec<Certificate>,
}

/// What the engine asks the driver to do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Write this own vote durably (fsync) before executing any later action.
    PersistVote(SignedVote),
    /// Send to every other validator.
    Broadcast(Message),
    /// Send to one validator.
    Send {
        /// The recipient.
        to: ValidatorIndex,
        /// The message.
        message: Message,
    },
    /// Build a block extending `parent` for `view` and answer with [`Input::Proposal`].
    RequestProposal {
        /// The view to propose in.
        view: View,
        /// The block to extend.
        parent: Block,
    },
    /// Check the contents of `block` (fetching them from the leader if needed) and answer with
    /// [`Input::Verdict`].
    Verify(Block),
    /// A block is final: store it with its justification and apply it.
    Finalized(Finalized),
    /// A validator signed two conflicting votes: keep this for audit.
    Evidence(Evidence),
    /// Call `handle(Input::Timeout, ..)` at this time; replaces any earlier timer.
    SetTimer(Time),
    /// Obtain from peers the certificates they hold for this view (send them
    /// [`Message::Request`] or use block sync) and feed each back as [`Input::Message`].
    Fetch(View),
    /// A peer asked for the certificates of a view this engine has finalized and pruned: answer
    /// it from storage (the finalized block's certificate and stored nullifications).
    Serve {
        /// The peer that asked.
        to: ValidatorIndex,
        /// The view asked for.
        view: View,
    },
}

/// A deliberately broken rule, for proving the simulator catches it. Test builds only.
#[cfg(test)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mutation {
    /// Certificates need 2f signers instead of 2f + 1.
    QuorumTwoF,
    /// `Input::Recovered` drops the write-ahead log's votes.
    ForgetVotesOnRestart,
}

/// One validator's consensus state machine (Simplex-style BFT over opaque block digests).
///
/// # Driving it
///
/// 1. Build it with [`Engine::new`], then feed [`Input::Recovered`] first, with the last
///    finalized block in storage and every own vote in the write-ahead log (WAL) for views
///    above it; any other input before that is refused.
/// 2. Feed every other event through [`Engine::handle`] with the current time: decoded peer
///    messages, [`Input::Timeout`] when the timer fires, the application's proposals and
///    verdicts. `now` must not go backwards.
/// 3. Execute the returned actions **in order**. An [`Action::PersistVote`] must be durable
///    before any action after it is executed: the vote is always followed by the broadcast of
///    that same vote, so a crash can never leave a vote sent but forgotten. A failed WAL write
///    is fatal: stop the node rather than continue.
/// 4. Keep one timer: each [`Action::SetTimer`] replaces the previous deadline.
///
/// # What to store
///
/// - The WAL of own votes ([`Action::PersistVote`]); entries for views at or below the last
///   *durably stored* finalized view may be dropped.
/// - Each [`Action::Finalized`] block with its certificate and nullifications, in order; they
///   answer [`Action::Serve`] and block sync.
///
/// # Sync
///
/// On a certificate from a view ahead, the engine moves there at once and can vote without the
/// history in between. Blocks it must deliver or check a proposal against but lacks the
/// certificates for become [`Action::Fetch`] (at most [`MAX_FETCHES_IN_FLIGHT`] at a time,
/// asked again after [`Timeouts::fetch_retry_ms`]); answers come back as ordinary certificate
/// messages. Peers' [`Message::Request`]s are answered from memory (the view's certificates,
/// or own votes when none is held: after a crash of a quorum a certificate may survive only as
/// votes in write-ahead logs), or via [`Action::Serve`] from storage for finalized views.
///
/// # Faults
///
/// Peer input is never trusted: refused messages return a [`Rejection`]
/// ([`Rejection::is_fault`] says whether to penalise the peer); conflicting signed votes become
/// [`Action::Evidence`]. No input panics.
///
/// # Memory
///
/// State is kept per view above the last finalized view: certificates, the leader's proposal
/// and own votes for all of them, vote tallies for the last [`VOTE_RETENTION_VIEWS`] views and
/// up to [`MAX_VIEWS_AHEAD`] views ahead. Finalization prunes everything at or below it.
#[derive(Debug)]
pub struct Engine {
    chain: ChainId,
    validators: ValidatorSet,
    key: SigningKey,
    me: ValidatorIndex,
    quorum: usize,
    timeouts: Timeouts,
    started: bool,
    now: Time,
    view: View,
    /// The view's timers: nullify after these unless the view is settled.
    leader_deadline: Time,
    view_deadline: Time,
    retry_deadline: Option<Time>,
    timer: Option<Time>,
    /// The certificate that brought us into the current view, resent on retries.
    entry: Option<Certificate>,
    /// The last delivered finalized block and the finalization that delivered it, if held.
    finalized: Block,
    last_finalization: Option<Certificate>,
    /// The highest finalization above `finalized` not yet delivered (ancestors missing).
    pending_finalization: Option<Certificate>,
    rounds: BTreeMap<View, Round>,
    /// Views below this have had their vote tallies pruned.
    tallies_pruned_below: View,
    fetching: BTreeMap<View, Time>,
    convicted: BTreeSet<(ValidatorIndex, View)>,
    out: Vec<Action>,
    #[cfg(test)]
    mutation: Option<Mutation>,
}

/// What is known about one view.
#[derive(Debug, Default)]
struct Round {
    /// The leader's first notarize vote: the proposal.
    proposal: Option<Block>,
    /// A parent was chosen and the application asked for a block.
    requested_parent: Option<Block>,
    verify_requested: bool,
    notarizes: BTreeMap<ValidatorIndex, SignedVote>,
    notarize_counts: BTreeMap<Block, usize>,
    nullifies: BTreeMap<ValidatorIndex, SignedVote>,
    finalizes: BTreeMap<ValidatorIndex, SignedVote>,
    finalize_counts: BTreeMap<Block, usize>,
    notarization: Option<Certificate>,
    nullification: Option<Certificate>,
    finalization: Option<Certificate>,
    my_notarize: Option<SignedVote>,
    my_nullify: Option<SignedVote>,
    my_finalize: Option<SignedVote>,
}

impl Round {
    /// The view's notarized block: a finalization implies a notarization.
    fn notarized(&self) -> Option<Block> {
        let cert = self.finalization.as_ref().or(self.notarization.as_ref())?;
        cert.vote().block().copied()
    }

    fn certificates(&self) -> impl Iterator<Item = &Certificate> {
        [&self.notarization, &self.nullification, &self.finalization]
            .into_iter()
            .flatten()
    }

    fn certificate(&self, kind: VoteKind) -> Option<&Certificate> {
        match kind {
            VoteKind::Notarize => self.notarization.as_ref(),
            VoteKind::Nullify => self.nullification.as_ref(),
            VoteKind::Finalize => self.finalization.as_ref(),
        }
    }

    fn votes(&self, kind: VoteKind) -> &BTreeMap<ValidatorIndex, SignedVote> {
        match kind {
            VoteKind::Notarize => &self.notarizes,
            VoteKind::Nullify => &self.nullifies,
            VoteKind::Finalize => &self.finalizes,
        }
    }

    /// A vote of `kind` by `signer` this round knows of, as a vote or inside a certificate.
    fn known_vote(&self, signer: ValidatorIndex, kind: VoteKind) -> Option<SignedVote> {
        if let Some(sv) = self.votes(kind).get(&signer) {
            return Some(*sv);
        }
        let cert = self.certificate(kind)?;
        let i = cert
            .signers()
            .binary_search_by_key(&signer, |(s, _)| *s)
            .ok()?;
        cert.votes().nth(i)
    }

    fn prune_tallies(&mut self) {
        self.notarizes.clear();
        self.notarize_counts.clear();
        self.nullifies.clear();
        self.finalizes.clear();
        self.finalize_counts.clear();
    }
}

/// What checking a proposal against our certificates concluded.
enum ProposalCheck {
    /// Parent notarized (or finalized), skipped views nullified: ask the application.
    Acceptable,
    /// It can never be valid: nullify the view.
    Invalid,
    /// We lack certificates for these views to decide.
    Missing(Vec<View>),
}

impl Engine {
    /// An engine for the validator holding `config.key`. Feed [`Input::Recovered`] next.
    pub fn new(config: Config) -> Result<Engine, ConfigError> {
        let Config {
            chain,
            validators,
            key,
            timeouts,
        } = config;
        let me = validators
            .index_of(&key.verifying_key())
            .ok_or(ConfigError::NotAValidator)?;
        let t = timeouts;
        if t.leader_ms == 0 || t.view_ms == 0 || t.retry_ms == 0 || t.fetch_retry_ms == 0 {
            return Err(ConfigError::ZeroTimeout);
        }
        let quorum = validators.quorum();
        Ok(Engine {
            chain,
            validators,
            key,
            me,
            quorum,
            timeouts,
            started: false,
            now: Time(0),
            view: View::GENESIS,
            leader_deadline: Time(0),
            view_deadline: Time(0),
            retry_deadline: None,
            timer: None,
            entry: None,
            finalized: Block::genesis(Digest::default()),
            last_finalization: None,
            pending_finalization: None,
            rounds: BTreeMap::new(),
            tallies_pruned_below: View::GENESIS,
            fetching: BTreeMap::new(),
            convicted: BTreeSet::new(),
            out: Vec::new(),
            #[cfg(test)]
            mutation: None,
        })
    }

    /// Break a rule on purpose (test builds only), before `Input::Recovered`.
    #[cfg(test)]
    pub(crate) fn set_mutation(&mut self, mutation: Mutation) {
        if mutation == Mutation::QuorumTwoF {
            self.quorum = 2 * self.validators.max_faulty();
        }
        self.mutation = Some(mutation);
    }

    /// This validator's index.
    pub fn me(&self) -> ValidatorIndex {
        self.me
    }

    /// The current view.
    pub fn view(&self) -> View {
        self.view
    }

    /// The last finalized block delivered (or recovered).
    pub fn finalized(&self) -> &Block {
        &self.finalized
    }

    /// The validator set.
    pub fn validators(&self) -> &ValidatorSet {
        &self.validators
    }

    /// The certificates held for `view` (empty at or below the finalized view: ask storage).
    pub fn certificates(&self, view: View) -> Vec<Certificate> {
        self.rounds
            .get(&view)
            .map(|r| r.certificates().cloned().collect())
            .unwrap_or_default()
    }

    /// Process one input at time `now` and return the actions to execute, in order.
    ///
    /// A refused input changes nothing and returns the reason.
    pub fn handle(&mut self, input: Input, now: Time) -> Result<Vec<Action>, Rejection> {
        debug_assert!(self.out.is_empty(), "actions are drained by every handle");
        self.now = self.now.max(now);
        let handled = match input {
            Input::Recovered { finalized, votes } => self.recover(finalized, votes),
            _ if !self.started => Err(Rejection::OutOfOrderStart),
            Input::Message { from, message } => self.on_message(from, message),
            Input::Timeout => Ok(()),
            Input::Proposal(block) => self.on_proposal(block),
            Input::Verdict {
                view,
                digest,
                valid,
            } => self.on_verdict(view, digest, valid),
        };
        if let Err(rejection) = handled {
            // Refusals happen before any state changes; only harmless replies can be queued.
            self.out.clear();
            return Err(rejection);
        }
        self.on_tick();
        self.update_timer();
        Ok(std::mem::take(&mut self.out))
    }

    // ----- start and recovery -----

    fn recover(&mut self, finalized: Block, votes: Vec<SignedVote>) -> Result<(), Rejection> {
        if self.started {
            return Err(Rejection::OutOfOrderStart);
        }
        if votes.len() > MAX_RECOVERED_VOTES {
            return Err(Rejection::TooManyRecoveredVotes { got: votes.len() });
        }
        for sv in &votes {
            if sv.signer != self.me {
                return Err(Rejection::NotMyVote { signer: sv.signer });
            }
            sv.verify(&self.chain, &self.validators)?;
        }
        #[cfg(test)]
        let votes = if self.mutation == Some(Mutation::ForgetVotesOnRestart) {
            Vec::new()
        } else {
            votes
        };
        self.started = true;
        self.finalized = finalized;
        let mut start = finalized.view().next();
        for sv in votes
            .into_iter()
            .filter(|sv| sv.vote.view() > finalized.view())
        {
            let view = sv.vote.view();
            let round = self.rounds.entry(view).or_default();
            let slot = match sv.vote {
                Vote::Notarize(_) => &mut round.my_notarize,
                Vote::Nullify(_) => &mut round.my_nullify,
                Vote::Finalize(_) => &mut round.my_finalize,
            };
            *slot = Some(sv);
            // A finalize means we saw the view notarized and had moved on to the next one.
            let resume = if let Vote::Finalize(_) = sv.vote {
                view.next()
            } else {
                view
            };
            start = start.max(resume);
        }
        let own: Vec<SignedVote> = self
            .rounds
            .values()
            .flat_map(|r| [r.my_notarize, r.my_nullify, r.my_finalize])
            .flatten()
            .collect();
        for sv in own {
            self.tally(sv);
        }
        if self.view < start {
            self.enter_view(start);
        }
        // Resend the votes of the views peers may still be collecting.
        let recent: Vec<SignedVote> = self
            .rounds
            .range(View(start.0.saturating_sub(1))..)
            .flat_map(|(_, r)| [r.my_notarize, r.my_nullify, r.my_finalize])
            .flatten()
            .collect();
        for sv in recent {
            self.out.push(Action::Broadcast(Message::Vote(sv)));
        }
        Ok(())
    }

    // ----- peer messages -----

    fn on_message(&mut self, from: ValidatorIndex, message: Message) -> Result<(), Rejection> {
        match message {
            Message::Vote(sv) => self.on_vote(from, sv),
            Message::Certificate(cert) => self.on_certificate(cert),
            Message::Request(view) => {
                self.on_request(from, view);
                Ok(())
            }
        }
    }

    fn on_vote(&mut self, from: ValidatorIndex, sv: SignedVote) -> Result<(), Rejection> {
        if sv.chain != self.chain {
            return Err(Rejection::WrongChain);
        }
        if self.validators.key(sv.signer).is_none() {
            return Err(Rejection::UnknownSigner { signer: sv.signer });
        }
        let view = sv.vote.view();
        // A nullify for a view we have left is a straggler's retry: help it catch up.
        if matches!(sv.vote, Vote::Nullify(_)) && sv.signer == from && view < self.view {
            self.help_straggler(from, view);
            if view <= self.finalized.view() {
                return Ok(());
            }
        }
        if view <= self.finalized.view() {
            return Err(Rejection::Stale {
                view,
                finalized: self.finalized.view(),
            });
        }
        let limit = View(self.view.0.saturating_add(MAX_VIEWS_AHEAD));
        if view > limit {
            return Err(Rejection::TooFarAhead { view, limit });
        }
        let kind = sv.vote.kind();
        if let Some(round) = self.rounds.get(&view) {
            if let Some(known) = round.known_vote(sv.signer, kind) {
                if known.vote == sv.vote {
                    return Ok(()); // a duplicate
                }
                sv.verify(&self.chain, &self.validators)?;
                self.convict(known, sv);
                return Ok(());
            }
            // Once the certificate exists, more of the same votes add nothing; skip their
            // signature check unless they might convict their signer of a nullify/finalize clash.
            let settled = round
                .certificate(kind)
                .is_some_and(|c| c.vote() == &sv.vote);
            if settled && self.cross_conflict(round, &sv).is_none() {
                return Ok(());
            }
        }
        if view < self.tallies_pruned_below {
            return Ok(()); // too old to tally; certificates for it still count
        }
        sv.verify(&self.chain, &self.validators)?;
        if let Some(round) = self.rounds.get(&view)
            && let Some(other) = self.cross_conflict(round, &sv)
        {
            self.convict(other, sv);
        }
        self.tally(sv);
        self.progress();
        Ok(())
    }

    /// The signer's nullify if `sv` is its finalize of the same view, or the other way round.
    fn cross_conflict(&self, round: &Round, sv: &SignedVote) -> Option<SignedVote> {
        let other = match sv.vote.kind() {
            VoteKind::Nullify => VoteKind::Finalize,
            VoteKind::Finalize => VoteKind::Nullify,
            VoteKind::Notarize => return None,
        };
        round.known_vote(sv.signer, other)
    }

    fn help_straggler(&mut self, to: ValidatorIndex, view: View) {
        if view > self.finalized.view() {
            self.send_view(to, view);
        } else if let Some(cert) = self.last_finalization.clone() {
            self.out.push(Action::Send {
                to,
                message: Message::Certificate(cert),
            });
        }
    }

    /// Send a peer what we have of `view`: its certificates or, holding none, our own votes
    /// (after a crash of a quorum, certificates may survive only as votes in write-ahead logs).
    fn send_view(&mut self, to: ValidatorIndex, view: View) {
        let certs = self.certificates(view);
        let votes = if certs.is_empty() {
            self.own_votes(view)
        } else {
            Vec::new()
        };
        for cert in certs {
            self.out.push(Action::Send {
                to,
                message: Message::Certificate(cert),
            });
        }
        for sv in votes {
            self.out.push(Action::Send {
                to,
                message: Message::Vote(sv),
            });
        }
    }

    fn on_certificate(&mut self, cert: Certificate) -> Result<(), Rejection> {
        if cert.chain() != &self.chain {
            return Err(Rejection::WrongChain);
        }
        let view = cert.view();
        if view <= self.finalized.view() {
            return Err(Rejection::Stale {
                view,
                finalized: self.finalized.view(),
            });
        }
        cert.check_shape(&self.chain, &self.validators, self.quorum)?;
        let round = self.rounds.get(&view);
        if round
            .and_then(|r| r.certificate(cert.vote().kind()))
            .is_some_and(|c| c == &cert)
        {
            return Ok(()); // already held
        }
        // Signatures already verified as individual votes need no second check.
        let known = |sv: &SignedVote| {
            round
                .and_then(|r| r.votes(sv.vote.kind()).get(&sv.signer))
                .is_some_and(|k| k == sv)
        };
        cert.verify_with(&self.chain, &self.validators, self.quorum, known)?;
        self.add_certificate(cert);
        self.progress();
        Ok(())
    }

    fn on_request(&mut self, from: ValidatorIndex, view: View) {
        if view <= self.finalized.view() {
            self.out.push(Action::Serve { to: from, view });
        } else {
            self.send_view(from, view);
        }
    }

    // ----- application answers -----

    fn on_proposal(&mut self, block: Block) -> Result<(), Rejection> {
        let view = block.view();
        if view < self.view {
            return Ok(()); // too late: the view is over
        }
        let round = self.rounds.get(&view);
        let parent = round.and_then(|r| r.requested_parent.filter(|_| r.my_notarize.is_none()));
        let expected = parent.and_then(|p| p.child(view, block.digest()));
        if view != self.view || expected != Some(block) {
            return Err(Rejection::Unrequested { view });
        }
        let sv = self.vote(Vote::Notarize(block));
        self.rounds
            .entry(view)
            .or_default()
            .proposal
            .get_or_insert(block);
        self.tally(sv);
        self.progress();
        Ok(())
    }

    fn on_verdict(&mut self, view: View, digest: Digest, valid: bool) -> Result<(), Rejection> {
        if view < self.view {
            return Ok(()); // too late: the view is over
        }
        let round = self.rounds.get(&view);
        let open = round.filter(|r| r.verify_requested && r.my_notarize.is_none());
        let proposal = open
            .and_then(|r| r.proposal)
            .filter(|b| b.digest() == digest);
        let Some(block) = proposal.filter(|_| view == self.view) else {
            return Err(Rejection::Unrequested { view });
        };
        if valid {
            let sv = self.vote(Vote::Notarize(block));
            self.tally(sv);
        } else {
            self.nullify_current();
        }
        self.progress();
        Ok(())
    }

    // ----- votes and certificates -----

    /// Sign, persist and broadcast an own vote, recording it so it is never contradicted.
    fn vote(&mut self, vote: Vote) -> SignedVote {
        let sv = SignedVote::sign(self.chain, vote, self.me, &self.key);
        let round = self.rounds.entry(vote.view()).or_default();
        let slot = match vote {
            Vote::Notarize(_) => &mut round.my_notarize,
            Vote::Nullify(_) => &mut round.my_nullify,
            Vote::Finalize(_) => &mut round.my_finalize,
        };
        // Safety rests on these two; crashing beats signing conflicting votes.
        assert!(slot.is_none(), "one own vote of each kind per view");
        *slot = Some(sv);
        assert!(
            !(round.my_nullify.is_some() && round.my_finalize.is_some()),
            "never both nullify and finalize a view"
        );
        self.out.push(Action::PersistVote(sv));
        self.out.push(Action::Broadcast(Message::Vote(sv)));
        sv
    }

    /// Count a verified vote; form the certificate when it reaches the quorum.
    fn tally(&mut self, sv: SignedVote) {
        let view = sv.vote.view();
        let quorum = self.quorum;
        let is_proposal =
            matches!(sv.vote, Vote::Notarize(_)) && sv.signer == self.validators.leader(view);
        let round = self.rounds.entry(view).or_default();
        let (votes, counts) = match sv.vote {
            Vote::Notarize(_) => (&mut round.notarizes, Some(&mut round.notarize_counts)),
            Vote::Nullify(_) => (&mut round.nullifies, None),
            Vote::Finalize(_) => (&mut round.finalizes, Some(&mut round.finalize_counts)),
        };
        if votes.contains_key(&sv.signer) {
            return;
        }
        votes.insert(sv.signer, sv);
        let count = match (counts, sv.vote.block()) {
            (Some(counts), Some(block)) => {
                let c = counts.entry(*block).or_default();
                *c += 1;
                *c
            }
            _ => votes.len(),
        };
        let signers: Vec<_> = if count == quorum {
            votes
                .values()
                .filter(|v| v.vote == sv.vote)
                .map(|v| (v.signer, v.signature))
                .collect()
        } else {
            Vec::new()
        };
        if is_proposal && round.proposal.is_none() {
            round.proposal = sv.vote.block().copied();
        }
        if signers.is_empty() || round.certificate(sv.vote.kind()).is_some() {
            return;
        }
        debug_assert_eq!(signers.len(), quorum);
        // Signers come ascending from the BTreeMap, distinct, and number quorum >= 1.
        if let Ok(cert) = Certificate::new(self.chain, sv.vote, signers) {
            self.add_certificate(cert);
        }
    }

    /// Take in a valid certificate: store it, pass it on, react to it.
    fn add_certificate(&mut self, cert: Certificate) {
        let view = cert.view();
        let kind = cert.vote().kind();
        let round = self.rounds.entry(view).or_default();
        if let Some(held) = round.certificate(kind) {
            if held.vote() != cert.vote() {
                let held = held.clone();
                self.convict_certificates(&held, &cert);
            }
            return;
        }
        let clash = match kind {
            VoteKind::Nullify => round.finalization.clone(),
            VoteKind::Finalize => round.nullification.clone(),
            VoteKind::Notarize => None,
        };
        if let Some(clash) = clash {
            self.convict_certificates(&clash, &cert);
        }
        self.convict_signers(&cert);
        let round = self.rounds.entry(view).or_default();
        let slot = match kind {
            VoteKind::Notarize => &mut round.notarization,
            VoteKind::Nullify => &mut round.nullification,
            VoteKind::Finalize => &mut round.finalization,
        };
        *slot = Some(cert.clone());
        if view.next() >= self.view {
            self.out
                .push(Action::Broadcast(Message::Certificate(cert.clone())));
        }
        if let Vote::Notarize(block) | Vote::Finalize(block) = cert.vote() {
            self.finalize_if_allowed(*block);
        }
        if kind == VoteKind::Finalize {
            let higher = self
                .pending_finalization
                .as_ref()
                .is_none_or(|p| p.view() < view);
            if higher {
                self.pending_finalization = Some(cert.clone());
            }
        }
        self.fetching.remove(&view);
        if view >= self.view {
            self.entry = Some(cert);
            self.enter_view(view.next());
        }
        self.try_deliver();
    }

    /// Rule 3: on a notarization, vote finalize unless we nullified the view, and never more
    /// than [`VOTE_WINDOW_VIEWS`] below the current view (the write-ahead log keeps only that
    /// window of own votes; the block is then finalized through a descendant).
    fn finalize_if_allowed(&mut self, block: Block) {
        if block.view().0.saturating_add(VOTE_WINDOW_VIEWS) < self.view.0 {
            return;
        }
        let round = self.rounds.entry(block.view()).or_default();
        if round.my_nullify.is_none() && round.my_finalize.is_none() {
            let sv = self.vote(Vote::Finalize(block));
            self.tally(sv);
        }
    }

    fn convict(&mut self, first: SignedVote, second: SignedVote) {
        let Some(evidence) = Evidence::new(first, second) else {
            return;
        };
        if self.convicted.insert((evidence.signer(), evidence.view())) {
            self.out.push(Action::Evidence(evidence));
        }
    }

    /// Two valid conflicting certificates of one view share at least f + 1 signers, each of
    /// whom signed both: convict them all.
    fn convict_certificates(&mut self, a: &Certificate, b: &Certificate) {
        let a_votes: BTreeMap<ValidatorIndex, SignedVote> =
            a.votes().map(|sv| (sv.signer, sv)).collect();
        let pairs: Vec<_> = b
            .votes()
            .filter_map(|sv| Some((*a_votes.get(&sv.signer)?, sv)))
            .collect();
        for (first, second) in pairs {
            self.convict(first, second);
        }
    }

    /// Convict any certificate signer whose vote we hold conflicts with the one it signed.
    fn convict_signers(&mut self, cert: &Certificate) {
        let Some(round) = self.rounds.get(&cert.view()) else {
            return;
        };
        let pairs: Vec<_> = cert
            .votes()
            .filter_map(|sv| {
                let same_kind = round.votes(sv.vote.kind()).get(&sv.signer);
                let other = same_kind.filter(|k| k.vote != sv.vote).copied();
                Some((other.or_else(|| self.cross_conflict(round, &sv))?, sv))
            })
            .collect();
        for (first, second) in pairs {
            self.convict(first, second);
        }
    }

    // ----- views -----

    fn enter_view(&mut self, view: View) {
        debug_assert!(view > self.view, "views only move forward");
        self.view = view;
        self.leader_deadline = self.now.plus_ms(self.timeouts.leader_ms);
        self.view_deadline = self.now.plus_ms(self.timeouts.view_ms);
        let nullified = self
            .rounds
            .get(&view)
            .is_some_and(|r| r.my_nullify.is_some());
        self.retry_deadline = nullified.then_some(self.now);
        self.prune_tallies();
        self.progress();
    }

    /// Do what the current view allows now: propose as leader, or check the leader's proposal.
    fn progress(&mut self) {
        let view = self.view;
        let round = self.rounds.entry(view).or_default();
        if round.my_notarize.is_some() || round.verify_requested {
            return;
        }
        if self.validators.leader(view) == self.me {
            if round.requested_parent.is_none() {
                self.try_propose();
            }
            return;
        }
        let Some(block) = round.proposal else {
            return;
        };
        match self.check_proposal(&block) {
            ProposalCheck::Acceptable => {
                self.rounds.entry(view).or_default().verify_requested = true;
                self.out.push(Action::Verify(block));
            }
            ProposalCheck::Invalid => self.nullify_current(),
            ProposalCheck::Missing(views) => views.into_iter().for_each(|v| self.fetch(v)),
        }
    }

    /// Rule 1: extend the highest notarized block whose later views are all nullified.
    fn try_propose(&mut self) {
        let view = self.view;
        let mut w = View(view.0 - 1);
        let parent = loop {
            if w <= self.finalized.view() {
                break self.finalized;
            }
            let round = self.rounds.get(&w);
            if let Some(block) = round.and_then(Round::notarized) {
                break block;
            }
            if round.is_some_and(|r| r.nullification.is_some()) {
                w = View(w.0 - 1);
                continue;
            }
            self.fetch(w);
            return;
        };
        self.rounds.entry(view).or_default().requested_parent = Some(parent);
        self.out.push(Action::RequestProposal { view, parent });
    }

    /// Rule 2's conditions on the chain: the parent is notarized (or our finalized block) and
    /// every view between the parent's and the proposal's is nullified.
    fn check_proposal(&self, block: &Block) -> ProposalCheck {
        let finalized = &self.finalized;
        let parent = if block.parent_view() < finalized.view() {
            return ProposalCheck::Invalid;
        } else if block.parent_view() == finalized.view() {
            Some(*finalized)
        } else {
            self.rounds
                .get(&block.parent_view())
                .and_then(Round::notarized)
        };
        let mut missing = Vec::new();
        match parent {
            Some(p) if p.digest() != block.parent() || p.height().0 + 1 != block.height().0 => {
                return ProposalCheck::Invalid;
            }
            Some(_) => {}
            None => missing.push(block.parent_view()),
        }
        let skipped = (block.parent_view().0 + 1..block.view().0).map(View);
        for w in skipped {
            if self
                .rounds
                .get(&w)
                .is_none_or(|r| r.nullification.is_none())
            {
                missing.push(w);
                if missing.len() >= MAX_FETCHES_IN_FLIGHT {
                    break;
                }
            }
        }
        if missing.is_empty() {
            ProposalCheck::Acceptable
        } else {
            ProposalCheck::Missing(missing)
        }
    }

    /// Rule 6 (and a bad proposal): nullify the current view, then keep resending.
    fn nullify_current(&mut self) {
        let view = self.view;
        let round = self.rounds.entry(view).or_default();
        if round.my_nullify.is_some() || round.my_finalize.is_some() {
            return;
        }
        let sv = self.vote(Vote::Nullify(view));
        self.retry_deadline = Some(self.now.plus_ms(self.timeouts.retry_ms));
        self.tally(sv);
    }

    fn on_tick(&mut self) {
        let now = self.now;
        let round = self.rounds.entry(self.view).or_default();
        let settled = round.my_nullify.is_some() || round.my_finalize.is_some();
        let no_proposal = round.proposal.is_none();
        if !settled && (now >= self.view_deadline || (now >= self.leader_deadline && no_proposal)) {
            self.nullify_current();
        }
        if let Some(at) = self.retry_deadline
            && now >= at
        {
            self.retry_deadline = Some(now.plus_ms(self.timeouts.retry_ms));
            self.resend();
        }
        let expired = self.timeouts.fetch_retry_ms;
        let before = self.fetching.len();
        self.fetching
            .retain(|_, asked| now < asked.plus_ms(expired));
        if self.fetching.len() < before {
            self.try_deliver();
            self.progress();
        }
    }

    /// Rule 6's resend: votes are sent once and may be lost, so while stuck in a view resend
    /// all own votes of it and what brought us here: the entry certificate or, when we got here
    /// without one (recovery), own votes of the previous view.
    fn resend(&mut self) {
        let mut votes = self.own_votes(self.view);
        match self.entry.clone() {
            Some(cert) => self.out.push(Action::Broadcast(Message::Certificate(cert))),
            None => votes.extend(self.own_votes(View(self.view.0 - 1))),
        }
        for sv in votes {
            self.out.push(Action::Broadcast(Message::Vote(sv)));
        }
    }

    fn own_votes(&self, view: View) -> Vec<SignedVote> {
        let round = self.rounds.get(&view);
        round
            .map(|r| {
                [r.my_notarize, r.my_nullify, r.my_finalize]
                    .into_iter()
                    .flatten()
                    .collect()
            })
            .unwrap_or_default()
    }

    fn update_timer(&mut self) {
        let round = self.rounds.get(&self.view);
        let settled = round.is_some_and(|r| r.my_nullify.is_some() || r.my_finalize.is_some());
        let no_proposal = round.is_none_or(|r| r.proposal.is_none());
        let mut next = self.retry_deadline;
        if !settled {
            next = min_time(next, Some(self.view_deadline));
            if no_proposal {
                next = min_time(next, Some(self.leader_deadline));
            }
        }
        let fetch_retry = self
            .fetching
            .values()
            .min()
            .map(|t| t.plus_ms(self.timeouts.fetch_retry_ms));
        next = min_time(next, fetch_retry);
        if let Some(at) = next
            && self.timer != Some(at)
        {
            self.timer = Some(at);
            self.out.push(Action::SetTimer(at));
        }
    }

    fn fetch(&mut self, view: View) {
        if view <= self.finalized.view()
            || self.fetching.contains_key(&view)
            || self.fetching.len() >= MAX_FETCHES_IN_FLIGHT
        {
            return;
        }
        self.fetching.insert(view, self.now);
        self.out.push(Action::Fetch(view));
    }

    // ----- finalization -----

    /// Rule 5: deliver the pending finalization's block and every undelivered ancestor, oldest
    /// first, once the chain down to our last finalized block is known.
    fn try_deliver(&mut self) {
        let Some(target) = self.pending_finalization.clone() else {
            return;
        };
        let Some(&top) = target.vote().block() else {
            return;
        };
        let mut chain = Vec::new();
        let mut missing = Vec::new();
        let mut block = top;
        loop {
            chain.push(block);
            let skipped = (block.parent_view().0 + 1..block.view().0).map(View);
            for w in skipped {
                if self
                    .rounds
                    .get(&w)
                    .is_none_or(|r| r.nullification.is_none())
                {
                    missing.push(w);
                }
            }
            if block.parent_view() <= self.finalized.view() {
                let links = block.parent_view() == self.finalized.view()
                    && block.parent() == self.finalized.digest()
                    && block.height().0 == self.finalized.height().0 + 1;
                if !links {
                    // Impossible with at most f faults: the finalized chain cannot fork.
                    return;
                }
                break;
            }
            match self
                .rounds
                .get(&block.parent_view())
                .and_then(Round::notarized)
            {
                Some(p) if p.digest() == block.parent() && p.height().0 + 1 == block.height().0 => {
                    block = p;
                }
                Some(_) => return, // impossible with at most f faults, as above
                None => {
                    missing.push(block.parent_view());
                    break;
                }
            }
        }
        if !missing.is_empty() {
            missing
                .into_iter()
                .take(MAX_FETCHES_IN_FLIGHT)
                .for_each(|v| self.fetch(v));
            return;
        }
        for block in chain.into_iter().rev() {
            self.deliver(block);
        }
        self.pending_finalization = None;
        self.prune_finalized();
    }

    fn deliver(&mut self, block: Block) {
        let round = self.rounds.get(&block.view());
        let own = round
            .and_then(|r| r.finalization.clone())
            .filter(|c| c.vote().block() == Some(&block));
        let certificate = own
            .clone()
            .or_else(|| round.and_then(|r| r.notarization.clone()));
        // try_deliver found this block through a notarization or finalization of its view.
        let Some(certificate) = certificate else {
            debug_assert!(false, "delivered block {block:?} lacks a certificate");
            return;
        };
        let nullifications = (block.parent_view().0 + 1..block.view().0)
            .filter_map(|w| self.rounds.get(&View(w))?.nullification.clone())
            .collect();
        debug_assert!(
            block.parent() == self.finalized.digest(),
            "delivery extends the chain"
        );
        self.finalized = block;
        if own.is_some() {
            self.last_finalization = own;
        }
        self.out.push(Action::Finalized(Finalized {
            block,
            certificate,
            nullifications,
        }));
    }

    fn prune_finalized(&mut self) {
        let floor = self.finalized.view();
        self.rounds = self.rounds.split_off(&floor.next());
        self.fetching = self.fetching.split_off(&floor.next());
        self.convicted.retain(|(_, v)| *v > floor);
        if self.view <= floor {
            self.enter_view(floor.next());
        }
    }

    fn prune_tallies(&mut self) {
        let below = View(self.view.0.saturating_sub(VOTE_RETENTION_VIEWS));
        if below <= self.tallies_pruned_below {
            return;
        }
        for (_, round) in self.rounds.range_mut(self.tallies_pruned_below..below) {
            round.prune_tallies();
        }
        self.tallies_pruned_below = below;
    }
}

fn min_time(a: Option<Time>, b: Option<Time>) -> Option<Time> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
