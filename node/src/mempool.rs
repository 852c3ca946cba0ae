//! Hold transactions that passed admission until a block includes them.
//!
//! The pool is bounded in count and in bytes ([`MempoolLimits`]); a full pool refuses new
//! transactions with `SubmitError::Full` rather than evicting ones already acknowledged to
//! their clients. It is bounded per signer too, so that one key (a compromised or runaway
//! enterprise system) cannot fill it for everyone: a signer with
//! [`MempoolLimits::max_per_signer`] transactions pending gets `SubmitError::SignerLimit`. Transactions leave in arrival order, which is also the order a leader
//! proposes them in, so a client's dependent transactions (enrol, then report) stay in order.
//!
//! Admission itself (`crate::admission`) verifies envelopes in parallel and checks the ledger's
//! rules before the pool is locked; the pool adds duplicate detection and the bounds
//! ([`Mempool::admit_verified`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use suyuan_ledger::crypto::PublicKey;
#[cfg(test)]
use suyuan_ledger::exec::ExecError;
use suyuan_ledger::submit::SubmitError;
#[cfg(test)]
use suyuan_ledger::tx::TxError;
#[cfg(test)]
use suyuan_ledger::tx::{ChainBinding, Envelope};
use suyuan_ledger::tx::{TxId, VerifiedTx};

/// Bounds on what the pool holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MempoolLimits {
    /// Most transactions held.
    pub max_transactions: usize,
    /// Most payload bytes held.
    pub max_bytes: usize,
    /// Most transactions held from one signer.
    pub max_per_signer: usize,
}

impl Default for MempoolLimits {
    fn default() -> Self {
        MempoolLimits {
            max_transactions: 20_000,
            max_bytes: 64 * 1024 * 1024,
            // An eighth of the pool: it takes eight signers at their bound to fill it, and one
            // signer still has a quarter of the largest block pending.
            max_per_signer: 2_500,
        }
    }
}

/// Pending transactions in arrival order.
#[derive(Debug)]
pub struct Mempool {
    limits: MempoolLimits,
    by_arrival: BTreeMap<u64, VerifiedTx>,
    arrival_of: HashMap<TxId, u64>,
    /// Transactions pending per signer; a signer with none has no entry.
    per_signer: HashMap<PublicKey, usize>,
    bytes: usize,
    next_arrival: u64,
}

impl Mempool {
    /// An empty pool.
    pub fn new(limits: MempoolLimits) -> Self {
        Mempool {
            limits,
            by_arrival: BTreeMap::new(),
            arrival_of: HashMap::new(),
            per_signer: HashMap::new(),
            bytes: 0,
            next_arrival: 0,
        }
    }

    /// Checks `envelope` and, if `rules` accepts it, adds it.
    ///
    /// `rules` runs the ledger's execution rules against current state (committed state plus
    /// the pool's earlier transactions, as the caller sees fit); it is not called for a
    /// duplicate or when the pool is full.
    #[cfg(test)]
    pub fn admit(
        &mut self,
        envelope: Envelope,
        chain: &ChainBinding,
        rules: impl FnOnce(&VerifiedTx) -> Result<(), ExecError>,
    ) -> Result<TxId, SubmitError> {
        let size = envelope.payload.len();
        if self.arrival_of.len() >= self.limits.max_transactions
            || self.bytes + size > self.limits.max_bytes
        {
            return Err(SubmitError::Full {
                held: self.arrival_of.len(),
                held_bytes: self.bytes,
            });
        }
        let id = envelope.id(chain);
        if self.arrival_of.contains_key(&id) {
            return Err(SubmitError::Duplicate(id));
        }
        let tx = envelope.verify(chain).map_err(SubmitError::Envelope)?;
        rules(&tx).map_err(SubmitError::Rule)?;
        self.admit_verified(tx)
    }

    /// Adds a transaction whose envelope was verified already (in parallel, outside the
    /// pool's lock) and whose rules the caller checked: only the bounds (the pool's and the
    /// signer's) and duplicates are checked here.
    pub fn admit_verified(&mut self, tx: VerifiedTx) -> Result<TxId, SubmitError> {
        let size = tx.envelope.payload.len();
        if self.arrival_of.len() >= self.limits.max_transactions
            || self.bytes + size > self.limits.max_bytes
        {
            return Err(SubmitError::Full {
                held: self.arrival_of.len(),
                held_bytes: self.bytes,
            });
        }
        if self.arrival_of.contains_key(&tx.id) {
            return Err(SubmitError::Duplicate(tx.id));
        }
        let pending = self.pending_of(&tx.envelope.signer);
        if pending >= self.limits.max_per_signer {
            return Err(SubmitError::SignerLimit {
                signer: tx.envelope.signer,
                pending,
            });
        }
        let id = tx.id;
        self.insert(tx);
        Ok(id)
    }

    /// How many more transactions fit by count, and the bytes held: admission refuses what
    /// cannot fit before spending any signature check on it.
    pub fn room(&self) -> (usize, usize) {
        (
            self.limits
                .max_transactions
                .saturating_sub(self.arrival_of.len()),
            self.bytes,
        )
    }

    /// How many transactions `signer` has pending.
    pub fn pending_of(&self, signer: &PublicKey) -> usize {
        self.per_signer.get(signer).copied().unwrap_or(0)
    }

    /// The bound on one signer's pending transactions.
    pub fn max_per_signer(&self) -> usize {
        self.limits.max_per_signer
    }

    /// A pending transaction.
    pub fn get(&self, id: &TxId) -> Option<&VerifiedTx> {
        let arrival = self.arrival_of.get(id)?;
        self.by_arrival.get(arrival)
    }

    fn insert(&mut self, tx: VerifiedTx) {
        let arrival = self.next_arrival;
        self.next_arrival += 1;
        self.bytes += tx.envelope.payload.len();
        *self.per_signer.entry(tx.envelope.signer).or_default() += 1;
        self.arrival_of.insert(tx.id, arrival);
        self.by_arrival.insert(arrival, tx);
        debug_assert_eq!(self.arrival_of.len(), self.by_arrival.len());
    }

    /// The oldest transactions not in `exclude`, up to `max_count` of them and `max_bytes` of
    /// payload, for a block proposal.
    pub fn candidates(
        &self,
        exclude: &HashSet<TxId>,
        max_count: usize,
        max_bytes: usize,
    ) -> Vec<VerifiedTx> {
        let mut picked = Vec::new();
        let mut bytes = 0;
        for tx in self.by_arrival.values() {
            if picked.len() == max_count {
                break;
            }
            if exclude.contains(&tx.id) {
                continue;
            }
            let size = tx.envelope.payload.len();
            if bytes + size > max_bytes {
                break;
            }
            bytes += size;
            picked.push(tx.clone());
        }
        picked
    }

    /// Removes transactions, typically those a finalized block included.
    pub fn remove<'a>(&mut self, ids: impl IntoIterator<Item = &'a TxId>) {
        for id in ids {
            if let Some(arrival) = self.arrival_of.remove(id) {
                let tx = self
                    .by_arrival
                    .remove(&arrival)
                    .expect("both maps hold the same transactions");
                self.bytes -= tx.envelope.payload.len();
                let signer = tx.envelope.signer;
                let count = self
                    .per_signer
                    .get_mut(&signer)
                    .expect("every pending transaction is counted for its signer");
                *count -= 1;
                if *count == 0 {
                    self.per_signer.remove(&signer);
                }
            }
        }
        debug_assert_eq!(self.arrival_of.len(), self.by_arrival.len());
    }

    /// Whether a transaction is pending.
    pub fn contains(&self, id: &TxId) -> bool {
        self.arrival_of.contains_key(id)
    }

    /// Whether no transaction is pending.
    pub fn is_empty(&self) -> bool {
        self.arrival_of.is_empty()
    }

    /// How many transactions are pending.
    pub fn len(&self) -> usize {
        self.arrival_of.len()
    }

    /// Payload bytes pending.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use suyuan_ledger::crypto::KeyPair;
    use suyuan_ledger::demo::Demo;

    fn envelopes() -> (ChainBinding, Vec<Envelope>) {
        let demo = Demo::new(4, 7100);
        let all = demo.story().into_iter().flatten().collect();
        (demo.genesis.binding(), all)
    }

    #[test]
    fn admits_in_order_refuses_duplicates_and_bounds() {
        let (chain, envelopes) = envelopes();
        let first_bytes = envelopes[0].payload.len() + envelopes[1].payload.len();
        let mut pool = Mempool::new(MempoolLimits {
            max_transactions: 3,
            max_bytes: 1 << 20,
            max_per_signer: 3,
        });
        let mut ids = Vec::new();
        for envelope in &envelopes[..3] {
            ids.push(pool.admit(envelope.clone(), &chain, |_| Ok(())).unwrap());
        }
        assert_eq!(
            pool.admit(envelopes[0].clone(), &chain, |_| Ok(())),
            Err(SubmitError::Full {
                held: 3,
                held_bytes: pool.bytes()
            })
        );
        pool.remove(&ids[2..]);
        assert_eq!(
            pool.admit(envelopes[0].clone(), &chain, |_| Ok(())),
            Err(SubmitError::Duplicate(ids[0]))
        );
        let picked = pool.candidates(&HashSet::new(), 10, 1 << 20);
        assert_eq!(picked.iter().map(|tx| tx.id).collect::<Vec<_>>(), ids[..2]);
        assert_eq!(pool.bytes(), first_bytes);
        let skip_first: HashSet<TxId> = [ids[0]].into();
        assert_eq!(pool.candidates(&skip_first, 10, 1 << 20)[0].id, ids[1]);
        assert!(pool.candidates(&HashSet::new(), 10, 1).is_empty());
    }

    #[test]
    fn bad_envelopes_and_rule_failures_are_not_admitted() {
        let (chain, envelopes) = envelopes();
        let mut pool = Mempool::new(MempoolLimits::default());
        let mut forged = envelopes[0].clone();
        forged.signer = KeyPair::insecure_from_label("forger").public();
        assert!(matches!(
            pool.admit(forged, &chain, |_| Ok(())),
            Err(SubmitError::Envelope(TxError::BadSignature { .. }))
        ));
        let refused = pool.admit(envelopes[0].clone(), &chain, |_| {
            Err(ExecError::State(suyuan_ledger::state::StateError::Backend(
                "test".into(),
            )))
        });
        assert!(matches!(refused, Err(SubmitError::Rule(_))));
        assert_eq!(pool.len(), 0);
    }

    #[test]
    fn one_signer_holds_at_most_its_bound_and_gets_room_back_as_it_commits() {
        let demo = Demo::new(4, 7100);
        let chain = demo.genesis.binding();
        let story = demo.story();
        let registrar = demo.bureau.public();
        let enrolments: Vec<&Envelope> = story[0]
            .iter()
            .filter(|envelope| envelope.signer == registrar)
            .collect();
        assert_eq!(enrolments.len(), 3, "the bureau enrols three enterprises");
        let mut pool = Mempool::new(MempoolLimits {
            max_per_signer: 2,
            ..MempoolLimits::default()
        });
        let first = pool
            .admit(enrolments[0].clone(), &chain, |_| Ok(()))
            .unwrap();
        pool.admit(enrolments[1].clone(), &chain, |_| Ok(()))
            .unwrap();
        assert_eq!(
            pool.admit(enrolments[2].clone(), &chain, |_| Ok(())),
            Err(SubmitError::SignerLimit {
                signer: registrar,
                pending: 2
            })
        );
        assert_eq!(pool.pending_of(&registrar), 2);
        // Another signer is not held back by this one.
        let other = story[0]
            .iter()
            .find(|envelope| envelope.signer != registrar)
            .expect("the association enrols one");
        pool.admit(other.clone(), &chain, |_| Ok(())).unwrap();
        pool.remove(&[first]);
        assert_eq!(pool.pending_of(&registrar), 1);
        pool.admit(enrolments[2].clone(), &chain, |_| Ok(()))
            .unwrap();
    }
}
