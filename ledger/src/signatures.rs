//! Check many envelopes' signatures at once, on every core.
//!
//! Signature checks are what a node's CPU should spend its time on, so they run as batches
//! ([`Envelope::verify_batch`]: one combined equation per batch, each signer's key counted once),
//! one batch per thread, with no copies beyond the one each [`VerifiedTx`] keeps.

use std::num::NonZeroUsize;
use std::thread;

use crate::tx::{Envelope, TxError, VerifiedTx};

/// Below this many envelopes one thread is faster than starting others.
const PARALLEL_THRESHOLD: usize = 32;

/// Verifies each envelope for `chain_id` ([`Envelope::verify_batch`]), in order, spreading the work
/// over `threads` threads (at most the machine's cores).
pub fn verify_all(
    envelopes: Vec<Envelope>,
    chain_id: &str,
    threads: usize,
) -> Vec<Result<VerifiedTx, TxError>> {
    let cores = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let threads = threads.clamp(1, cores);
    if envelopes.len() < PARALLEL_THRESHOLD || threads == 1 {
        return Envelope::verify_batch(envelopes, chain_id);
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
    thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|part| scope.spawn(move || Envelope::verify_batch(part, chain_id)))
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
        let chain = demo.genesis.chain_id.clone();
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
