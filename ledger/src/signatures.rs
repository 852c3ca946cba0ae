//! Check many envelopes' signatures at once, on every core.
//!
//! Signature checks are what a node's CPU should spend its time on, so they run as batches
//! ([`Envelope::verify_batch`]: one combined equation per batch, each signer's key counted once),
//! one batch per thread, with no copies beyond the one each [`VerifiedTx`] keeps.

use std::num::NonZeroUsize;
use std::thread;

use crate::tx::{ChainBinding, Envelope, TxError, VerifiedTx};

/// Below this many envelopes one thread is faster than starting others.
const PARALLEL_THRESHOLD: usize = 32;

/// Verifies each envelope for `chain` ([`Envelope::verify_batch`]), in order, spreading the work
/// over `threads` threads (at most the machine's cores).
pub fn verify_all(
    envelopes: Vec<Envelope>,
    chain: &ChainBinding,
    threads: usize,
) -> Vec<Result<VerifiedTx, TxError>> {
    spread(envelopes, threads, |part| {
        Envelope::verify_batch(part, chain)
    })
}

/// [`verify_all`] for batches from senders not trusted to sign correctly: once a thread's part
/// fails its batch equation, finding the invalid signatures in it may cost at most
/// `split_per_signature` signature checks per envelope of the part
/// ([`Envelope::verify_batch_within`]); `None` for each envelope left unsettled.
pub fn verify_all_within(
    envelopes: Vec<Envelope>,
    chain: &ChainBinding,
    threads: usize,
    split_per_signature: usize,
) -> Vec<Option<Result<VerifiedTx, TxError>>> {
    spread(envelopes, threads, |part| {
        let budget = part.len().saturating_mul(split_per_signature);
        Envelope::verify_batch_within(part, chain, budget)
    })
}

/// Runs `verify` over consecutive parts of `envelopes`, one part per thread, and joins the
/// verdicts in order.
fn spread<T: Send>(
    envelopes: Vec<Envelope>,
    threads: usize,
    verify: impl Fn(Vec<Envelope>) -> Vec<T> + Sync,
) -> Vec<T> {
    let cores = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let threads = threads.clamp(1, cores);
    if envelopes.len() < PARALLEL_THRESHOLD || threads == 1 {
        return verify(envelopes);
    }
    let chunk = envelopes.len().div_ceil(threads);
    let mut chunks: Vec<Vec<Envelope>> = Vec::with_capacity(threads);
    let mut rest = envelopes.into_iter();
    loop {
        let part: Vec<Envelope> = rest.by_ref().take(chunk).collect();
        if part.is_empty() {
            break;
        }
        chunks.push(part);
    }
    let verify = &verify;
    thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|part| scope.spawn(move || verify(part)))
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("verification does not panic"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::Demo;

    #[test]
    fn parallel_verification_keeps_order_and_finds_bad_signatures() {
        let demo = Demo::new(4, 7100);
        let chain = demo.genesis.binding();
        let mut envelopes: Vec<Envelope> = Vec::new();
        while envelopes.len() < 100 {
            envelopes.extend(demo.story().into_iter().flatten());
        }
        envelopes[57].signature = envelopes[3].signature;
        let results = verify_all(envelopes.clone(), &chain, 2);
        assert_eq!(results.len(), envelopes.len());
        for (index, (result, envelope)) in results.iter().zip(&envelopes).enumerate() {
            match result {
                Ok(tx) => assert_eq!(&tx.envelope, envelope, "order kept at {index}"),
                Err(error) => {
                    assert_eq!(index, 57);
                    assert!(matches!(error, TxError::BadSignature { .. }));
                }
            }
        }
        assert!(results[57].is_err());
    }
}
