//! Sign the envelopes the yardstick is loaded with, on every core, before the clock starts.
//!
//! [`commissioning_load`] is the one place the load's shape is chosen. Today it is the load
//! `suyuan bench` has sent since issue 5 (each transaction a `commission` of a new lot, by one
//! of a few enterprises in turn, about 400 bytes); when the benchmark's realistic mix can be
//! called from here, this function is what changes, and the service needs nothing new: it
//! verifies and indexes any record.

use std::num::NonZeroUsize;

use suyuan_ledger::codes::gs1::keys::Gtin;
use suyuan_ledger::codes::uscc::{ALPHABET, Uscc};
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{DEMO_GENESIS_TIME_MS, gtin, uscc};
use suyuan_ledger::hash::hash_parts;
use suyuan_ledger::record::{Commissioning, Items, Record, ReportKind, ReportRef, TraceCode};
use suyuan_ledger::text::Date;
use suyuan_ledger::tx::{ChainBinding, Envelope, Payload, TxId};

/// Enterprises signing the load unless told otherwise: as many as `suyuan bench` uses.
pub const DEFAULT_SIGNERS: usize = 16;

/// Most signers a load may have: each is a key generated before signing.
pub const MAX_SIGNERS: usize = 100_000;

/// Units in each commissioned lot, as in `suyuan bench`.
const LOT_QUANTITY: u64 = 100;

/// Signed envelopes with their ids, at the same index, in the order they are sent.
#[derive(Debug)]
pub struct SignedLoad {
    /// The envelopes.
    pub envelopes: Vec<Envelope>,
    /// Their ids.
    pub ids: Vec<TxId>,
}

/// One enterprise of the load.
#[derive(Debug)]
struct Signer {
    uscc: Uscc,
    gtin: Gtin,
    key: KeyPair,
}

/// `count` transactions signed for `chain`: transaction `n` is a `commission` of lot `L<n>` by
/// enterprise `n mod signers`, each enterprise with its own fresh key, USCC and GTIN, so that
/// two loads never share a transaction. Signed on every core.
///
/// # Panics
/// If `signers` is 0 or above [`MAX_SIGNERS`]: the command line checks.
pub fn commissioning_load(chain: &ChainBinding, signers: usize, count: usize) -> SignedLoad {
    assert!(
        (1..=MAX_SIGNERS).contains(&signers),
        "checked by the command line"
    );
    let mut rng = rand::thread_rng();
    let signers: Vec<Signer> = (0..signers)
        .map(|_| Signer {
            uscc: random_uscc(&mut rng),
            gtin: random_gtin(&mut rng),
            key: KeyPair::generate(),
        })
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let chunk = count.div_ceil(threads).max(1);
    let parts: Vec<Vec<(Envelope, TxId)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .step_by(chunk)
            .map(|start| {
                let signers = &signers;
                scope.spawn(move || {
                    (start..(start + chunk).min(count))
                        .map(|number| {
                            let envelope = commission(chain, signers, number as u64);
                            let id = envelope.id(chain);
                            (envelope, id)
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("signing threads do not panic"))
            .collect()
    });
    let (envelopes, ids) = parts.into_iter().flatten().unzip();
    SignedLoad { envelopes, ids }
}

/// Transaction `number`: its signer commissions lot `L<number>` of its model.
fn commission(chain: &ChainBinding, signers: &[Signer], number: u64) -> Envelope {
    let signer = &signers[(number % signers.len() as u64) as usize];
    let record = Record::Commission(Commissioning {
        uscc: signer.uscc.clone(),
        model_code: signer.gtin.clone().into(),
        items: Items::Batch {
            code: TraceCode::Lot {
                gtin: signer.gtin.clone(),
                lot: text(&format!("L{number}")),
            },
            quantity: LOT_QUANTITY,
        },
        production_date: Date::from_unix_ms_china(DEMO_GENESIS_TIME_MS),
        factory_number: None,
        inspection_report: ReportRef {
            kind: ReportKind::FactoryInspection,
            number: text(&format!("BASELINE-FI-{number}")),
            issued_by: text("Quality department"),
            document_sha256: hash_parts("suyuan pg-baseline report", &[&number.to_le_bytes()]),
        },
    });
    Envelope::sign(
        chain,
        &Payload {
            nonce: number,
            record,
            event: None,
        },
        &signer.key,
    )
}

/// A random USCC of a company (authority 9, category 1) registered in Wuhan (420100).
fn random_uscc(rng: &mut impl rand::Rng) -> Uscc {
    let alphabet = ALPHABET.as_bytes();
    let organisation: String = (0..9)
        .map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())]))
        .collect();
    uscc(&format!("91420100{organisation}"))
}

/// A random GTIN-14 under the Chinese GS1 prefix range 690-699.
fn random_gtin(rng: &mut impl rand::Rng) -> Gtin {
    gtin(&format!("069{:010}", rng.gen_range(0..10_000_000_000u64)))
}

/// Parses text the load writes itself.
///
/// # Panics
/// If the text is invalid for its type: every call passes a literal or a short formatted number.
fn text<T: std::str::FromStr>(value: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    value
        .parse()
        .unwrap_or_else(|error| panic!("load text {value:?} is invalid: {error:?}"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::yardstick_binding;

    #[test]
    fn every_envelope_verifies_once_and_ids_match() {
        let chain = yardstick_binding("load-test");
        let load = commissioning_load(&chain, 3, 25);
        assert_eq!(load.envelopes.len(), 25);
        let signers: HashSet<_> = load.envelopes.iter().map(|e| e.signer).collect();
        assert_eq!(signers.len(), 3);
        assert_eq!(load.ids.iter().collect::<HashSet<_>>().len(), 25);
        for (envelope, id) in load.envelopes.iter().zip(&load.ids) {
            let tx = envelope.clone().verify(&chain).expect("well signed");
            assert_eq!(&tx.id, id);
        }
        // Signed for one chain, valid on no other.
        let other = yardstick_binding("another chain");
        assert!(load.envelopes[0].clone().verify(&other).is_err());
        assert!(commissioning_load(&chain, 1, 0).envelopes.is_empty());
    }
}
