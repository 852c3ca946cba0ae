//! Build the benchmark's transactions: the enterprises and models it sets up, and the
//! `commission` records it loads the network with, signed on every core.
//!
//! Every run draws fresh USCCs and GTINs, so a second run against the same testnet does not
//! collide with the first (an enterprise or model registered twice is refused). Within a run,
//! each load transaction commissions its own lot, so no two of them touch the same code and any
//! order of them executes.

use std::collections::HashMap;
use std::num::NonZeroUsize;

use anyhow::{Context as _, ensure};
use rand::Rng as _;
use suyuan_ledger::codes::gs1::keys::Gtin;
use suyuan_ledger::codes::prefix::IdPrefix;
use suyuan_ledger::codes::uscc::{ALPHABET, Uscc};
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{Demo, fields, gtin, uscc, who};
use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::hash::hash_parts;
use suyuan_ledger::record::{
    Commissioning, EnterpriseKind, Items, ProductModel, Record, RegisterEnterprise, ReportKind,
    ReportRef, TraceCode,
};
use suyuan_ledger::text::Date;
use suyuan_ledger::tx::{ChainBinding, Envelope, Payload, TxId};

/// How many enterprises the load is spread over: each signs with its own key and commissions
/// lots of its own model, as a consortium's many reporters would.
pub(crate) const BENCH_ENTERPRISES: usize = 16;

/// Units in each commissioned lot.
const LOT_QUANTITY: u64 = 100;

/// One enterprise the benchmark enrols, with its key and the model it commissions lots of.
#[derive(Debug, Clone)]
pub(crate) struct BenchEnterprise {
    /// Its USCC, fresh for the run.
    pub(crate) uscc: Uscc,
    /// The GTIN of its one model, fresh for the run.
    pub(crate) gtin: Gtin,
    /// The key it signs its records with.
    pub(crate) key: KeyPair,
}

/// The run's cast: a registrar and the enterprises it enrols.
#[derive(Debug, Clone)]
pub(crate) struct Workload {
    /// The chain the transactions are signed for.
    chain: ChainBinding,
    /// The date every lot is produced on: the genesis date, so never after any block's date.
    production_date: Date,
    /// A registrar named in genesis.
    registrar: KeyPair,
    /// The enterprises.
    enterprises: Vec<BenchEnterprise>,
    /// A number drawn per run that setup nonces start from.
    run_tag: u32,
}

/// The load transactions, signed, with their ids.
#[derive(Debug)]
pub(crate) struct SignedLoad {
    /// The envelopes, in submission order.
    pub(crate) envelopes: Vec<Envelope>,
    /// Each envelope's id, at the same index.
    pub(crate) ids: Vec<TxId>,
}

impl SignedLoad {
    /// Each id's index in [`SignedLoad::envelopes`].
    pub(crate) fn index_by_id(&self) -> HashMap<TxId, usize> {
        self.ids
            .iter()
            .enumerate()
            .map(|(index, id)| (*id, index))
            .collect()
    }
}

impl Workload {
    /// A cast of [`BENCH_ENTERPRISES`] fresh enterprises for `genesis`, enrolled by `registrar`,
    /// which must be one of its registrars.
    pub(crate) fn new(genesis: &Genesis, registrar: KeyPair) -> anyhow::Result<Workload> {
        ensure!(
            genesis.registrar(&registrar.public()).is_some(),
            "key {} is not a registrar in the genesis file",
            registrar.public()
        );
        let mut rng = rand::thread_rng();
        let enterprises = (0..BENCH_ENTERPRISES)
            .map(|_| BenchEnterprise {
                uscc: random_uscc(&mut rng),
                gtin: random_gtin(&mut rng),
                key: KeyPair::generate(),
            })
            .collect();
        Ok(Workload {
            chain: genesis.binding(),
            production_date: Date::from_unix_ms_china(genesis.genesis_time_ms),
            registrar,
            enterprises,
            run_tag: rng.r#gen(),
        })
    }

    /// The enterprises.
    pub(crate) fn enterprises(&self) -> &[BenchEnterprise] {
        &self.enterprises
    }

    /// The registrar's enrolments of every enterprise with its key: the first setup step.
    pub(crate) fn enrolments(&self) -> Vec<Envelope> {
        let template = Demo::new(1, 1).enterprises[who::CABLE_MAKER]
            .profile
            .clone();
        self.enterprises
            .iter()
            .enumerate()
            .map(|(index, enterprise)| {
                let mut profile = template.clone();
                profile.uscc = enterprise.uscc.clone();
                profile.name = text(&format!("Benchmark Manufacturer {index} Co., Ltd."));
                profile.kind = EnterpriseKind::Manufacturer;
                let record = Record::RegisterEnterprise(RegisterEnterprise {
                    enterprise: profile,
                    keys: vec![enterprise.key.public()],
                    prefixes: vec![IdPrefix::for_single_gtin(&enterprise.gtin)],
                });
                self.sign(&self.registrar, self.setup_nonce(index), record)
            })
            .collect()
    }

    /// Each enterprise's registration of its model: the second setup step, once the
    /// enrolments are committed.
    pub(crate) fn models(&self) -> Vec<Envelope> {
        // The enrolments' profile template holds this CCC certificate, which a model of
        // `wires_cables` must name.
        let certificate = Demo::new(1, 1).enterprises[who::CABLE_MAKER]
            .profile
            .ccc_certificates[0]
            .number
            .clone();
        self.enterprises
            .iter()
            .enumerate()
            .map(|(index, enterprise)| {
                let record = Record::RegisterProduct(ProductModel {
                    uscc: enterprise.uscc.clone(),
                    model_code: enterprise.gtin.clone().into(),
                    name: text("PVC-insulated copper cable"),
                    product_type: text("electric wires and cables"),
                    specification: text("BV 2.5 mm² 450/750 V"),
                    model: text(&format!("BV-2.5-B{index}")),
                    standards: vec![text("GB/T 5023.3-2008")],
                    warranty_months: 24,
                    production_licence: None,
                    ccc_certificate: Some(certificate.clone()),
                    category: Some(text("wires_cables")),
                    fields: fields(&[
                        ("rated_voltage", "450/750 V"),
                        ("conductor_cross_section", "2.5 mm²"),
                    ]),
                });
                self.sign(&enterprise.key, self.setup_nonce(index), record)
            })
            .collect()
    }

    /// Load transaction `number`: enterprise `number mod n` commissions lot `L<number>` of its
    /// model.
    pub(crate) fn load_transaction(&self, number: u64) -> Envelope {
        let enterprise = self.load_enterprise(number);
        let record = Record::Commission(Commissioning {
            uscc: enterprise.uscc.clone(),
            model_code: enterprise.gtin.clone().into(),
            items: Items::Batch {
                code: self.load_code(number),
                quantity: LOT_QUANTITY,
            },
            production_date: self.production_date,
            factory_number: None,
            inspection_report: ReportRef {
                kind: ReportKind::FactoryInspection,
                number: text(&format!("BENCH-FI-{number}")),
                issued_by: text("Quality department"),
                document_sha256: hash_parts("suyuan bench report", &[&number.to_le_bytes()]),
            },
        });
        self.sign(&enterprise.key, number, record)
    }

    /// The lot that load transaction `number` commissions.
    pub(crate) fn load_code(&self, number: u64) -> TraceCode {
        TraceCode::Lot {
            gtin: self.load_enterprise(number).gtin.clone(),
            lot: text(&format!("L{number}")),
        }
    }

    fn load_enterprise(&self, number: u64) -> &BenchEnterprise {
        &self.enterprises[(number % self.enterprises.len() as u64) as usize]
    }

    /// Signs load transactions `0..count` on `threads` threads, in order, with their ids.
    pub(crate) fn sign_load(&self, count: usize, threads: NonZeroUsize) -> SignedLoad {
        let chunk = count.div_ceil(threads.get()).max(1);
        let parts: Vec<Vec<(Envelope, TxId)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..count)
                .step_by(chunk)
                .map(|start| {
                    let end = (start + chunk).min(count);
                    scope.spawn(move || {
                        (start..end)
                            .map(|number| {
                                let envelope = self.load_transaction(number as u64);
                                let id = envelope.id(&self.chain);
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
        let mut load = SignedLoad {
            envelopes: Vec::with_capacity(count),
            ids: Vec::with_capacity(count),
        };
        for (envelope, id) in parts.into_iter().flatten() {
            load.envelopes.push(envelope);
            load.ids.push(id);
        }
        debug_assert_eq!(load.envelopes.len(), count);
        load
    }

    /// A setup transaction's nonce: distinct per run, so that enrolling the same record twice
    /// on purpose would still be two transactions.
    fn setup_nonce(&self, index: usize) -> u64 {
        (u64::from(self.run_tag) << 16) | index as u64
    }

    fn sign(&self, key: &KeyPair, nonce: u64, record: Record) -> Envelope {
        Envelope::sign(&self.chain, &Payload { nonce, record }, key)
    }
}

/// Reads the number of threads to sign on: every core.
pub(crate) fn signing_threads() -> NonZeroUsize {
    std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
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

/// Parses text the benchmark writes itself.
///
/// # Panics
/// If the text is invalid for its type: every call passes a literal or a short formatted number.
fn text<T: std::str::FromStr>(value: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    value
        .parse()
        .unwrap_or_else(|error| panic!("benchmark text {value:?} is invalid: {error:?}"))
}

/// Context for errors about the registrar key file.
pub(crate) fn read_registrar(path: &std::path::Path) -> anyhow::Result<KeyPair> {
    suyuan_node::keyfile::read(path)
        .with_context(|| format!("reading the registrar key {}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use suyuan_ledger::exec::{BlockContext, ExecError, RuleError, execute_block};
    use suyuan_ledger::state::MemState;
    use suyuan_ledger::tx::VerifiedTx;

    use super::*;

    fn verified(genesis: &Genesis, envelopes: Vec<Envelope>) -> Vec<VerifiedTx> {
        envelopes
            .into_iter()
            .map(|envelope| envelope.verify(&genesis.binding()).expect("well signed"))
            .collect()
    }

    /// Executes `blocks` in turn over `state`, each a day after genesis times its height.
    fn execute(
        genesis: &Genesis,
        state: &mut MemState,
        first_height: u64,
        txs: &[VerifiedTx],
    ) -> Result<(), suyuan_ledger::exec::BlockExecError> {
        let context = BlockContext {
            genesis,
            height: first_height,
            time_ms: genesis.genesis_time_ms + first_height * 1_000,
        };
        let writes = execute_block(&*state, context, txs)?;
        state.apply(writes);
        Ok(())
    }

    fn workload() -> (Demo, Workload) {
        let demo = Demo::new(4, 7100);
        let workload = Workload::new(&demo.genesis, demo.bureau.clone()).expect("bureau registers");
        (demo, workload)
    }

    #[test]
    fn setup_then_load_executes_under_the_ledger_rules() {
        let (demo, workload) = workload();
        let genesis = &demo.genesis;
        let mut state = MemState::new();
        execute(
            genesis,
            &mut state,
            1,
            &verified(genesis, workload.enrolments()),
        )
        .expect("enrolments execute");
        execute(
            genesis,
            &mut state,
            2,
            &verified(genesis, workload.models()),
        )
        .expect("models execute");
        let load = workload.sign_load(500, NonZeroUsize::new(3).unwrap());
        let load_txs = verified(genesis, load.envelopes.clone());
        for (tx, id) in load_txs.iter().zip(&load.ids) {
            assert_eq!(&tx.id, id, "ids are computed for the right envelope");
        }
        // Every load transaction in one block: no two of them conflict.
        execute(genesis, &mut state, 3, &load_txs).expect("load executes");
        // And a second run's workload against the same chain does not collide with the first.
        let second = Workload::new(genesis, demo.bureau.clone()).unwrap();
        execute(
            genesis,
            &mut state,
            4,
            &verified(genesis, second.enrolments()),
        )
        .expect("a second run enrols fresh enterprises");
    }

    #[test]
    fn load_before_models_is_refused() {
        let (demo, workload) = workload();
        let genesis = &demo.genesis;
        let mut state = MemState::new();
        execute(
            genesis,
            &mut state,
            1,
            &verified(genesis, workload.enrolments()),
        )
        .unwrap();
        let load = verified(genesis, vec![workload.load_transaction(0)]);
        let refused = execute(genesis, &mut state, 2, &load).expect_err("no model yet");
        assert!(
            matches!(&refused.error, ExecError::Rule(rule) if matches!(**rule, RuleError::UnknownModel { .. })),
            "{refused}"
        );
    }

    #[test]
    fn signing_on_threads_gives_the_same_transactions_in_order() {
        let (_, workload) = workload();
        let one = workload.sign_load(37, NonZeroUsize::MIN);
        let four = workload.sign_load(37, NonZeroUsize::new(4).unwrap());
        assert_eq!(one.envelopes, four.envelopes);
        assert_eq!(one.ids, four.ids);
        assert_eq!(one.ids.iter().collect::<HashSet<_>>().len(), 37);
        assert_eq!(four.index_by_id()[&four.ids[36]], 36);
        assert!(
            workload
                .sign_load(0, NonZeroUsize::new(2).unwrap())
                .envelopes
                .is_empty()
        );
    }

    #[test]
    fn a_non_registrar_key_is_refused() {
        let demo = Demo::new(4, 7100);
        let error = Workload::new(&demo.genesis, KeyPair::insecure_from_label("nobody"))
            .expect_err("not a registrar");
        assert!(error.to_string().contains("not a registrar"), "{error}");
    }
}
