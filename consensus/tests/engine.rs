//! Drive single engines through the public API: refusals, ordering, evidence, recovery, sync.

use ed25519_dalek::SigningKey;
use suyuan_consensus::{
    Action, Block, Certificate, ChainId, Config, Digest, Engine, Height, Input, Message, Rejection,
    SignedVote, Time, Timeouts, ValidatorIndex, ValidatorSet, View, Vote,
};

struct Net {
    chain: ChainId,
    keys: Vec<SigningKey>,
    validators: ValidatorSet,
    genesis: Block,
}

impl Net {
    fn new(n: u8) -> Net {
        let keys: Vec<SigningKey> = (0..n)
            .map(|i| SigningKey::from_bytes(&[i + 1; 32]))
            .collect();
        let validators =
            ValidatorSet::new(keys.iter().map(|k| k.verifying_key()).collect()).unwrap();
        Net {
            chain: ChainId::from_name("test"),
            keys,
            validators,
            genesis: Block::genesis(Digest([9; 32])),
        }
    }

    fn engine(&self, i: usize) -> Engine {
        Engine::new(Config {
            chain: self.chain,
            validators: self.validators.clone(),
            key: self.keys[i].clone(),
            timeouts: Timeouts::default(),
        })
        .unwrap()
    }

    fn started(&self, i: usize, votes: Vec<SignedVote>) -> (Engine, Vec<Action>) {
        let mut engine = self.engine(i);
        let actions = engine
            .handle(
                Input::Recovered {
                    finalized: self.genesis,
                    votes,
                },
                Time(0),
            )
            .unwrap();
        (engine, actions)
    }

    fn vote(&self, i: usize, vote: Vote) -> SignedVote {
        SignedVote::sign(self.chain, vote, ValidatorIndex(i as u16), &self.keys[i])
    }

    fn certificate(&self, vote: Vote, signers: &[usize]) -> Certificate {
        let sigs = signers
            .iter()
            .map(|&i| (ValidatorIndex(i as u16), self.vote(i, vote).signature))
            .collect();
        Certificate::new(self.chain, vote, sigs).unwrap()
    }
}

fn msg(from: usize, message: Message) -> Input {
    Input::Message {
        from: ValidatorIndex(from as u16),
        message,
    }
}

fn block(view: u64, height: u64, parent: &Block, digest: u8) -> Block {
    Block::new(
        View(view),
        Height(height),
        parent.view(),
        parent.digest(),
        Digest([digest; 32]),
    )
    .unwrap()
}

#[test]
fn refuses_input_before_recovery_and_a_second_recovery() {
    let net = Net::new(4);
    let mut engine = net.engine(0);
    assert_eq!(
        engine.handle(Input::Timeout, Time(0)),
        Err(Rejection::OutOfOrderStart)
    );
    let start = Input::Recovered {
        finalized: net.genesis,
        votes: vec![],
    };
    engine.handle(start.clone(), Time(0)).unwrap();
    assert_eq!(
        engine.handle(start, Time(0)),
        Err(Rejection::OutOfOrderStart)
    );
}

#[test]
fn refuses_bad_votes_with_typed_reasons() {
    let net = Net::new(4);
    let (mut engine, _) = net.started(0, vec![]);
    let b = block(1, 1, &net.genesis, 1);

    let foreign = SignedVote::sign(
        ChainId([0; 32]),
        Vote::Notarize(b),
        ValidatorIndex(1),
        &net.keys[1],
    );
    assert_eq!(
        engine.handle(msg(1, Message::Vote(foreign)), Time(1)),
        Err(Rejection::WrongChain)
    );

    let mut stranger = net.vote(1, Vote::Notarize(b));
    stranger.signer = ValidatorIndex(9);
    let refused = engine.handle(msg(1, Message::Vote(stranger)), Time(1));
    assert_eq!(
        refused,
        Err(Rejection::UnknownSigner {
            signer: ValidatorIndex(9)
        })
    );

    let mut forged = net.vote(1, Vote::Notarize(b));
    forged.signer = ValidatorIndex(2);
    let refused = engine.handle(msg(1, Message::Vote(forged)), Time(1));
    assert_eq!(
        refused,
        Err(Rejection::BadSignature {
            signer: ValidatorIndex(2)
        })
    );
    assert!(refused.unwrap_err().is_fault());

    let far = net.vote(1, Vote::Nullify(View(1_000)));
    let refused = engine
        .handle(msg(1, Message::Vote(far)), Time(1))
        .unwrap_err();
    assert!(matches!(refused, Rejection::TooFarAhead { .. }) && !refused.is_fault());

    let genesis_view = net.vote(1, Vote::Nullify(View(0)));
    // Relayed by another peer (a signer's own stale nullify is answered with help instead).
    let refused = engine
        .handle(msg(2, Message::Vote(genesis_view)), Time(1))
        .unwrap_err();
    assert!(matches!(refused, Rejection::Stale { .. }) && !refused.is_fault());
}

#[test]
fn refuses_certificates_with_too_few_repeated_or_unknown_signers() {
    let net = Net::new(4);
    let (mut engine, _) = net.started(0, vec![]);
    let vote = Vote::Nullify(View(1));

    let short = net.certificate(vote, &[1, 2]);
    let refused = engine.handle(msg(1, Message::Certificate(short)), Time(1));
    assert_eq!(refused, Err(Rejection::TooFewSigners { got: 2, quorum: 3 }));

    let sig = net.vote(1, vote).signature;
    let repeated = vec![
        (ValidatorIndex(1), sig),
        (ValidatorIndex(1), sig),
        (ValidatorIndex(2), sig),
    ];
    assert_eq!(
        Certificate::new(net.chain, vote, repeated),
        Err(Rejection::SignersNotAscending)
    );

    let unknown = vec![
        (ValidatorIndex(1), sig),
        (ValidatorIndex(2), sig),
        (ValidatorIndex(7), sig),
    ];
    let unknown = Certificate::new(net.chain, vote, unknown).unwrap();
    let refused = engine.handle(msg(1, Message::Certificate(unknown)), Time(1));
    assert_eq!(
        refused,
        Err(Rejection::UnknownSigner {
            signer: ValidatorIndex(7)
        })
    );

    // Validator 1's signature under validator 3's name.
    let forged = vec![
        (ValidatorIndex(1), sig),
        (ValidatorIndex(2), net.vote(2, vote).signature),
        (ValidatorIndex(3), sig),
    ];
    let forged = Certificate::new(net.chain, vote, forged).unwrap();
    let refused = engine.handle(msg(1, Message::Certificate(forged)), Time(1));
    assert_eq!(
        refused,
        Err(Rejection::BadSignature {
            signer: ValidatorIndex(3)
        })
    );
    assert_eq!(
        engine.view(),
        View(1),
        "a refused certificate changes nothing"
    );
}

#[test]
fn leader_persists_its_proposal_before_sending_it() {
    let net = Net::new(4);
    // Validator 1 leads view 1.
    let (mut engine, actions) = net.started(1, vec![]);
    assert!(actions.contains(&Action::RequestProposal {
        view: View(1),
        parent: net.genesis
    }));
    let b = net.genesis.child(View(1), Digest([1; 32])).unwrap();
    let actions = engine.handle(Input::Proposal(b), Time(5)).unwrap();
    let persist = actions
        .iter()
        .position(|a| matches!(a, Action::PersistVote(sv) if sv.vote == Vote::Notarize(b)));
    let send = actions.iter().position(
        |a| matches!(a, Action::Broadcast(Message::Vote(sv)) if sv.vote == Vote::Notarize(b)),
    );
    assert!(
        persist.unwrap() < send.unwrap(),
        "persist before send: {actions:?}"
    );
    // A second proposal for the same view is not asked for and not signed.
    let other = net.genesis.child(View(1), Digest([2; 32])).unwrap();
    assert_eq!(
        engine.handle(Input::Proposal(other), Time(6)),
        Err(Rejection::Unrequested { view: View(1) })
    );
}

#[test]
fn votes_after_verdict_and_finalizes_on_notarization() {
    let net = Net::new(4);
    let (mut engine, _) = net.started(0, vec![]);
    let b = block(1, 1, &net.genesis, 1);
    let actions = engine
        .handle(
            msg(1, Message::Vote(net.vote(1, Vote::Notarize(b)))),
            Time(1),
        )
        .unwrap();
    assert!(actions.contains(&Action::Verify(b)));
    let actions = engine
        .handle(
            Input::Verdict {
                view: View(1),
                digest: b.digest(),
                valid: true,
            },
            Time(2),
        )
        .unwrap();
    assert!(actions.contains(&Action::PersistVote(net.vote(0, Vote::Notarize(b)))));
    let actions = engine
        .handle(
            msg(2, Message::Vote(net.vote(2, Vote::Notarize(b)))),
            Time(3),
        )
        .unwrap();
    assert!(
        actions.contains(&Action::PersistVote(net.vote(0, Vote::Finalize(b)))),
        "{actions:?}"
    );
    assert_eq!(engine.view(), View(2));
    // Two more finalize votes make the finalization: the block is delivered.
    engine
        .handle(
            msg(1, Message::Vote(net.vote(1, Vote::Finalize(b)))),
            Time(4),
        )
        .unwrap();
    let actions = engine
        .handle(
            msg(2, Message::Vote(net.vote(2, Vote::Finalize(b)))),
            Time(5),
        )
        .unwrap();
    let delivered: Vec<_> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Finalized(f) => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].block, b);
    delivered[0]
        .certificate
        .verify(&net.chain, &net.validators)
        .unwrap();
}

#[test]
fn conflicting_votes_become_evidence() {
    let net = Net::new(4);
    let (mut engine, _) = net.started(0, vec![]);
    let a = block(1, 1, &net.genesis, 1);
    let b = block(1, 1, &net.genesis, 2);
    engine
        .handle(
            msg(1, Message::Vote(net.vote(1, Vote::Notarize(a)))),
            Time(1),
        )
        .unwrap();
    let actions = engine
        .handle(
            msg(1, Message::Vote(net.vote(1, Vote::Notarize(b)))),
            Time(2),
        )
        .unwrap();
    let evidence = actions
        .iter()
        .find_map(|a| match a {
            Action::Evidence(e) => Some(*e),
            _ => None,
        })
        .unwrap();
    assert_eq!(evidence.signer(), ValidatorIndex(1));
    evidence.verify(&net.chain, &net.validators).unwrap();
}

#[test]
fn recovered_votes_are_never_contradicted() {
    let net = Net::new(4);
    let a = block(1, 1, &net.genesis, 1);
    let b = block(1, 1, &net.genesis, 2);
    // Before the crash validator 0 notarized a in view 1 and then nullified view 1.
    let wal = vec![
        net.vote(0, Vote::Notarize(a)),
        net.vote(0, Vote::Nullify(View(1))),
    ];
    let (mut engine, actions) = net.started(0, wal.clone());
    // The recovered votes are resent, and nothing is signed anew.
    assert!(actions.contains(&Action::Broadcast(Message::Vote(wal[0]))));
    assert!(!actions.iter().any(|a| matches!(a, Action::PersistVote(_))));
    // The leader's other proposal is not voted for.
    let actions = engine
        .handle(
            msg(1, Message::Vote(net.vote(1, Vote::Notarize(b)))),
            Time(1),
        )
        .unwrap();
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::Verify(_) | Action::PersistVote(_)))
    );
    // A notarization of a does not draw a finalize: view 1 was nullified.
    let cert = net.certificate(Vote::Notarize(a), &[1, 2, 3]);
    let actions = engine
        .handle(msg(2, Message::Certificate(cert)), Time(2))
        .unwrap();
    assert!(
        !actions.iter().any(|x| matches!(x, Action::PersistVote(_))),
        "{actions:?}"
    );
    assert_eq!(engine.view(), View(2));
}

/// A validator restarted from a write-ahead log that kept only the newest views' votes never
/// votes in the older views: a late notarization of a view below the window draws no finalize,
/// even though the log no longer says whether it nullified that view.
#[test]
fn never_votes_below_the_window_the_write_ahead_log_keeps() {
    let net = Net::new(4);
    let window = suyuan_consensus::limits::VOTE_WINDOW_VIEWS;
    let latest = View(window + 10);
    // The log's newest vote: a nullify of view `latest`; everything older was dropped.
    let (mut engine, _) = net.started(0, vec![net.vote(0, Vote::Nullify(latest))]);
    assert_eq!(engine.view(), latest);
    let old = block(5, 1, &net.genesis, 1);
    let cert = net.certificate(Vote::Notarize(old), &[1, 2, 3]);
    let actions = engine
        .handle(msg(1, Message::Certificate(cert)), Time(1))
        .unwrap();
    assert!(
        !actions.iter().any(|a| matches!(a, Action::PersistVote(_))),
        "voted in view 5, {} views below the newest logged vote: {actions:?}",
        latest.0 - 5
    );
    // A view inside the window still gets its finalize vote.
    let recent = block(latest.0 - 3, 1, &net.genesis, 2);
    let cert = net.certificate(Vote::Notarize(recent), &[1, 2, 3]);
    let actions = engine
        .handle(msg(1, Message::Certificate(cert)), Time(2))
        .unwrap();
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::PersistVote(sv) if sv.vote == Vote::Finalize(recent))),
        "{actions:?}"
    );
}

#[test]
fn jumps_ahead_on_a_certificate_and_fetches_missing_history() {
    let net = Net::new(4);
    let (mut engine, _) = net.started(0, vec![]);
    let b5 = block(
        5,
        3,
        &Block::new(
            View(4),
            Height(2),
            View(2),
            Digest([7; 32]),
            Digest([8; 32]),
        )
        .unwrap(),
        5,
    );
    let actions = engine
        .handle(
            msg(
                1,
                Message::Certificate(net.certificate(Vote::Finalize(b5), &[1, 2, 3])),
            ),
            Time(1),
        )
        .unwrap();
    assert_eq!(engine.view(), View(6));
    // It cannot deliver b5 without the chain below: it asks for view 4 (the parent).
    assert!(actions.contains(&Action::Fetch(View(4))), "{actions:?}");
    assert!(!actions.iter().any(|a| matches!(a, Action::Finalized(_))));
}

/// Four engines on a perfect network finalize a chain, each block with a valid certificate.
#[test]
fn n4_perfect_network_finalizes_in_order() {
    let net = Net::new(4);
    let mut engines: Vec<Engine> = Vec::new();
    let mut queue = std::collections::VecDeque::new();
    for i in 0..4 {
        let (engine, actions) = net.started(i, vec![]);
        engines.push(engine);
        queue.extend(actions.into_iter().map(|a| (i, a)));
    }
    let mut chains: Vec<Vec<Block>> = vec![vec![net.genesis]; 4];
    let mut steps = 0;
    while let Some((i, action)) = queue.pop_front() {
        steps += 1;
        assert!(steps < 100_000);
        let inputs: Vec<(usize, Input)> = match action {
            Action::Broadcast(m) => (0..4)
                .filter(|&j| j != i)
                .map(|j| (j, msg(i, m.clone())))
                .collect(),
            Action::Send { to, message } => vec![(usize::from(to.0), msg(i, message))],
            Action::RequestProposal { view, parent } if view.0 <= 20 => {
                vec![(
                    i,
                    Input::Proposal(parent.child(view, Digest([view.0 as u8; 32])).unwrap()),
                )]
            }
            Action::Verify(b) => vec![(
                i,
                Input::Verdict {
                    view: b.view(),
                    digest: b.digest(),
                    valid: true,
                },
            )],
            Action::Finalized(f) => {
                f.certificate.verify(&net.chain, &net.validators).unwrap();
                assert_eq!(f.block.parent(), chains[i].last().unwrap().digest());
                chains[i].push(f.block);
                vec![]
            }
            _ => vec![],
        };
        for (j, input) in inputs {
            match engines[j].handle(input, Time(0)) {
                Ok(actions) => queue.extend(actions.into_iter().map(|a| (j, a))),
                // Late messages for finalized views are expected; nothing else is.
                Err(refused) => assert!(!refused.is_fault(), "{refused}"),
            }
        }
    }
    for chain in &chains {
        assert!(chain.len() >= 19, "finalized {} blocks", chain.len() - 1);
        assert_eq!(chain[..19], chains[0][..19]);
    }
}
