//! Build the benchmark's transactions: the enterprises it enrols, what setup gives them, and
//! the load of the chosen [`Mix`], signed on every core.
//!
//! Every run draws fresh USCCs, GTINs and keys, so a second run against the same testnet does
//! not collide with the first (an enterprise or model registered twice is refused). Within a
//! run, no load transaction depends on another: commissionings name new lots, and shipments,
//! sales and inspections name stock lots that setup committed, in quantities no load can
//! exhaust (see [`STOCK_LOT_QUANTITY`]), so any order of them executes.
//!
//! Setup, in [`SetupStep`]s each committed before the next is sent: the registrar enrols every
//! enterprise (manufacturers with the GS1 prefix of their model's GTIN, inspection bodies with
//! an accreditation); each manufacturer registers its model; then, for the realistic mix, each
//! manufacturer commissions [`STOCK_LOTS`] stock lots and ships part of them to the merchants
//! it supplies.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;

use anyhow::{Context as _, ensure};
use rand::Rng as _;
use suyuan_ledger::codes::accreditation::Accreditation;
use suyuan_ledger::codes::gs1::keys::Gtin;
use suyuan_ledger::codes::prefix::IdPrefix;
use suyuan_ledger::codes::uscc::{ALPHABET, Uscc};
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{Demo, DemoEnterprise, fields, gtin, uscc, who};
use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::hash::hash_parts;
use suyuan_ledger::record::{
    AccreditationEntry, Commissioning, EnterpriseKind, EnterpriseProfile, Inspection, Items,
    Outcome, Party, PersonalData, ProductModel, Record, RegisterEnterprise, ReportKind, ReportRef,
    Shipment, ShipmentLine, Subject, TraceCode,
};
use suyuan_ledger::text::Date;
use suyuan_ledger::tx::{ChainBinding, Envelope, Payload, TxId};

use super::mix::{
    Inspector, LoadKind, MAX_SALE_QUANTITY, MAX_SHIPMENT_QUANTITY, MAX_SIGNERS, Mix, Planned,
    RealisticMix, Roles, STOCK_LOTS,
};

/// Most load transactions one run signs and holds in memory (about 1 KiB each).
pub(crate) const MAX_TRANSACTIONS: usize = 5_000_000;

/// Units in each lot the commissioning load commissions.
const LOT_QUANTITY: u64 = 100;

/// Units of each stock lot a merchant receives in setup: more than every sale of a run could
/// take out of it, were all of them of that lot.
const MERCHANT_STOCK: u64 = 1_000_000_000;

/// Units in each stock lot: enough for the one merchant it stocks (see [`Roles::supplier`])
/// and for every shipment of a run, were all of them of that lot. So no order of the load's
/// shipments and sales ever finds a seller short.
const STOCK_LOT_QUANTITY: u64 = MERCHANT_STOCK + MAX_TRANSACTIONS as u64 * MAX_SHIPMENT_QUANTITY;

const _: () = assert!(MAX_TRANSACTIONS as u64 * MAX_SALE_QUANTITY <= MERCHANT_STOCK);

/// How long an inspection body's accreditation has run when the load starts, and how long it
/// still runs after: it is valid on every date the load names and every block's date.
const ACCREDITATION_DAYS_BEFORE: u64 = 365;
const ACCREDITATION_DAYS_AFTER: u64 = 4 * 365;

/// A day, milliseconds.
const DAY_MS: u64 = 86_400_000;

/// The category of every benchmark model: the one the template profiles hold a certificate
/// for, and the scope of every inspection body's accreditation.
const CATEGORY: &str = "wires_cables";

/// The most distinct digits the run block of a GTIN leaves for the manufacturer's number.
const MAX_MAKERS: usize = 100_000;

const _: () = assert!(MAX_SIGNERS <= MAX_MAKERS);

/// Which load, over how many enterprises.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LoadSettings {
    /// The mix.
    pub(crate) mix: Mix,
    /// Enterprises enrolled, each with its own key.
    pub(crate) enterprises: usize,
    /// The exponent of the realistic mix's Zipf law.
    pub(crate) zipf_exponent: f64,
}

/// One enterprise the benchmark enrols, with its key.
#[derive(Debug, Clone)]
pub(crate) struct BenchEnterprise {
    /// Its profile, fresh USCC included.
    pub(crate) profile: EnterpriseProfile,
    /// The key it signs its records with.
    pub(crate) key: KeyPair,
}

/// What load the run offers.
#[derive(Debug, Clone)]
enum Load {
    /// Each transaction commissions a new lot, the manufacturers in turn.
    Commission,
    /// The realistic mix.
    Realistic(RealisticMix),
}

/// A step of setup: transactions that may execute in any order, all committed before the
/// next step is sent.
#[derive(Debug)]
pub(crate) struct SetupStep {
    /// What the step does, for progress and errors.
    pub(crate) name: &'static str,
    /// Its transactions.
    pub(crate) envelopes: Vec<Envelope>,
    /// Whether one key signs them all (the registrar's), so that a node's bound on one
    /// signer's pending transactions limits how many may be sent at once.
    pub(crate) one_signer: bool,
}

/// The run's cast and load: a registrar, the enterprises it enrols, and the mix.
#[derive(Debug, Clone)]
pub(crate) struct Workload {
    /// The chain the transactions are signed for.
    chain: ChainBinding,
    /// The instant every record is dated: its day is the production, inspection and sale date.
    dated_ms: u64,
    /// A registrar named in genesis.
    registrar: KeyPair,
    /// How the enterprises divide into roles; they are stored in this order.
    roles: Roles,
    /// The enterprises: manufacturers, then merchants, then inspection bodies.
    enterprises: Vec<BenchEnterprise>,
    /// Each manufacturer's model.
    gtins: Vec<Gtin>,
    /// A number drawn per run that setup nonces start from.
    run_tag: u32,
    load: Load,
}

/// The load transactions, signed, with their ids and kinds.
#[derive(Debug)]
pub(crate) struct SignedLoad {
    /// The envelopes, in submission order.
    pub(crate) envelopes: Vec<Envelope>,
    /// Each envelope's id, at the same index.
    pub(crate) ids: Vec<TxId>,
    /// Each envelope's kind, at the same index.
    pub(crate) kinds: Vec<LoadKind>,
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

    /// How many distinct keys signed the load.
    pub(crate) fn distinct_signers(&self) -> usize {
        self.envelopes
            .iter()
            .map(|envelope| envelope.signer)
            .collect::<HashSet<_>>()
            .len()
    }
}

impl Workload {
    /// A fresh cast for `genesis` as `settings` ask, enrolled by `registrar`, which must be one
    /// of its registrars; if it is also a regulator, it signs a share of the inspections.
    /// Records are dated `dated_ms`, which must lie within the genesis's time windows of every
    /// block the load lands in.
    pub(crate) fn new(
        genesis: &Genesis,
        registrar: KeyPair,
        settings: LoadSettings,
        dated_ms: u64,
    ) -> anyhow::Result<Workload> {
        ensure!(
            genesis.registrar(&registrar.public()).is_some(),
            "key {} is not a registrar in the genesis file",
            registrar.public()
        );
        let mut rng = rand::thread_rng();
        let roles = match settings.mix {
            Mix::Realistic => Roles::realistic(settings.enterprises),
            Mix::Commission => Roles::commission(settings.enterprises),
        };
        let load = match settings.mix {
            Mix::Commission => Load::Commission,
            Mix::Realistic => Load::Realistic(RealisticMix::new(
                roles,
                settings.zipf_exponent,
                genesis.regulator(&registrar.public()).is_some(),
                rng.r#gen(),
            )),
        };
        let gtin_block: u32 = rng.gen_range(0..100_000);
        let gtins = (0..roles.makers)
            .map(|maker| gtin(&format!("069{gtin_block:05}{maker:05}")))
            .collect();
        let templates = Demo::new(1, 1).enterprises;
        let dates = Dates::of(dated_ms);
        let mut usccs = HashSet::new();
        let enterprises = (0..roles.total())
            .map(|index| {
                let uscc = loop {
                    let uscc = random_uscc(&mut rng);
                    if usccs.insert(uscc.clone()) {
                        break uscc;
                    }
                };
                BenchEnterprise {
                    profile: profile(&templates, roles, index, uscc, &dates),
                    key: KeyPair::generate(),
                }
            })
            .collect();
        Ok(Workload {
            chain: genesis.binding(),
            dated_ms,
            registrar,
            roles,
            enterprises,
            gtins,
            run_tag: rng.r#gen(),
            load,
        })
    }

    /// The chain the transactions are signed for.
    pub(crate) fn chain(&self) -> &ChainBinding {
        &self.chain
    }

    /// How the enterprises divide into roles.
    pub(crate) fn roles(&self) -> Roles {
        self.roles
    }

    /// The exponent of the traffic's Zipf law; `None` for the commissioning mix, whose
    /// enterprises take turns.
    pub(crate) fn zipf_exponent(&self) -> Option<f64> {
        match &self.load {
            Load::Commission => None,
            Load::Realistic(mix) => Some(mix.exponent()),
        }
    }

    /// Whether the registrar's key is also a regulator's, and signs a share of the
    /// inspections.
    pub(crate) fn regulator_inspects(&self) -> bool {
        match &self.load {
            Load::Commission => false,
            Load::Realistic(mix) => mix.regulator_inspects(),
        }
    }

    /// Setup's steps, in order.
    pub(crate) fn setup_steps(&self) -> Vec<SetupStep> {
        let mut steps = vec![
            SetupStep {
                name: "enrolling the enterprises",
                envelopes: self.enrolments(),
                one_signer: true,
            },
            SetupStep {
                name: "registering the manufacturers' models",
                envelopes: self.models(),
                one_signer: false,
            },
        ];
        if let Load::Realistic(_) = self.load {
            steps.push(SetupStep {
                name: "commissioning the manufacturers' stock lots",
                envelopes: self.stock_lots(),
                one_signer: false,
            });
            steps.push(SetupStep {
                name: "stocking the merchants",
                envelopes: self.stocking(),
                one_signer: false,
            });
        }
        steps
    }

    /// The registrar's enrolments of every enterprise with its key (and a manufacturer's GS1
    /// prefix: its model's GTIN).
    fn enrolments(&self) -> Vec<Envelope> {
        self.enterprises
            .iter()
            .enumerate()
            .map(|(index, enterprise)| {
                let prefixes = match self.gtins.get(index) {
                    Some(gtin) => vec![IdPrefix::for_single_gtin(gtin)],
                    None => Vec::new(),
                };
                let record = Record::RegisterEnterprise(RegisterEnterprise {
                    enterprise: enterprise.profile.clone(),
                    keys: vec![enterprise.key.public()],
                    prefixes,
                });
                self.sign(&self.registrar, self.setup_nonce(index), record)
            })
            .collect()
    }

    /// Each manufacturer's registration of its model.
    fn models(&self) -> Vec<Envelope> {
        // The manufacturers' template profile holds this CCC certificate, which a model of
        // `wires_cables` must name.
        let certificate = self.maker(0).profile.ccc_certificates[0].number.clone();
        (0..self.roles.makers)
            .map(|maker| {
                let record = Record::RegisterProduct(ProductModel {
                    uscc: self.maker(maker).profile.uscc.clone(),
                    model_code: self.gtins[maker].clone().into(),
                    name: text("PVC-insulated copper cable"),
                    product_type: text("electric wires and cables"),
                    specification: text("BV 2.5 mm² 450/750 V"),
                    model: text(&format!("BV-2.5-B{maker}")),
                    standards: vec![text("GB/T 5023.3-2008")],
                    warranty_months: 24,
                    production_licence: None,
                    ccc_certificate: Some(certificate.clone()),
                    category: Some(text(CATEGORY)),
                    fields: fields(&[
                        ("rated_voltage", "450/750 V"),
                        ("conductor_cross_section", "2.5 mm²"),
                    ]),
                });
                self.sign(&self.maker(maker).key, self.setup_nonce(maker), record)
            })
            .collect()
    }

    /// Each manufacturer's commissioning of its [`STOCK_LOTS`] stock lots.
    fn stock_lots(&self) -> Vec<Envelope> {
        (0..self.roles.makers)
            .flat_map(|maker| (0..STOCK_LOTS).map(move |lot| (maker, lot)))
            .map(|(maker, lot)| {
                let code = self.stock_lot(maker, lot);
                let record = self.commissioning(maker, code, STOCK_LOT_QUANTITY, "STOCK");
                self.sign(&self.maker(maker).key, self.setup_nonce(lot), record)
            })
            .collect()
    }

    /// Each merchant's stock: [`MERCHANT_STOCK`] units of one stock lot from each of its
    /// suppliers.
    fn stocking(&self) -> Vec<Envelope> {
        (0..self.roles.merchants)
            .flat_map(|merchant| (0..STOCK_LOTS).map(move |lot| (merchant, lot)))
            .map(|(merchant, lot)| {
                let supplier = self.roles.supplier(merchant, lot);
                let record = self.shipment(
                    supplier,
                    Party::enterprise(&self.merchant(merchant).profile),
                    self.stock_lot(supplier, lot),
                    MERCHANT_STOCK,
                    &format!("SO-STOCK-{merchant}-{lot}"),
                );
                let nonce = self.setup_nonce(merchant * STOCK_LOTS + lot);
                self.sign(&self.maker(supplier).key, nonce, record)
            })
            .collect()
    }

    /// Load transaction `number`, signed, with its kind.
    pub(crate) fn load_transaction(&self, number: u64) -> (LoadKind, Envelope) {
        let planned = self.plan(number);
        let (key, record) = match planned {
            Planned::Commissioning { maker } => (
                &self.maker(maker).key,
                self.commissioning(maker, self.new_lot(maker, number), LOT_QUANTITY, "LOAD"),
            ),
            Planned::Shipment {
                maker,
                merchant,
                lot,
                quantity,
            } => (
                &self.maker(maker).key,
                self.shipment(
                    maker,
                    Party::enterprise(&self.merchant(merchant).profile),
                    self.stock_lot(maker, lot),
                    quantity,
                    &format!("SO-{number}"),
                ),
            ),
            Planned::Sale {
                merchant,
                lot,
                quantity,
            } => (
                &self.merchant(merchant).key,
                self.sale(merchant, lot, quantity, number),
            ),
            Planned::Inspection {
                inspector,
                maker,
                lot,
                outcome,
            } => {
                let (key, accreditation) = match inspector {
                    Inspector::Regulator => (&self.registrar, None),
                    Inspector::Body(body) => {
                        let body = self.body(body);
                        let accreditation = body.profile.accreditations[0].number.clone();
                        (&body.key, Some(accreditation))
                    }
                };
                let code = self.stock_lot(maker, lot);
                (key, self.inspection(code, outcome, accreditation, number))
            }
        };
        (planned.kind(), self.sign(key, number, record))
    }

    /// The code load transaction `number` names: the lot it commissions, moves or inspects.
    pub(crate) fn load_code(&self, number: u64) -> TraceCode {
        match self.plan(number) {
            Planned::Commissioning { maker } => self.new_lot(maker, number),
            Planned::Shipment { maker, lot, .. } | Planned::Inspection { maker, lot, .. } => {
                self.stock_lot(maker, lot)
            }
            Planned::Sale { merchant, lot, .. } => {
                self.stock_lot(self.roles.supplier(merchant, lot), lot)
            }
        }
    }

    /// What load transaction `number` does.
    fn plan(&self, number: u64) -> Planned {
        match &self.load {
            Load::Commission => Planned::Commissioning {
                maker: (number % self.roles.makers as u64) as usize,
            },
            Load::Realistic(mix) => mix.plan(number),
        }
    }

    /// Signs load transactions `0..count` on `threads` threads, in order, with their ids.
    pub(crate) fn sign_load(&self, count: usize, threads: NonZeroUsize) -> SignedLoad {
        let chunk = count.div_ceil(threads.get()).max(1);
        let parts: Vec<Vec<(LoadKind, Envelope, TxId)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..count)
                .step_by(chunk)
                .map(|start| {
                    let end = (start + chunk).min(count);
                    scope.spawn(move || {
                        (start..end)
                            .map(|number| {
                                let (kind, envelope) = self.load_transaction(number as u64);
                                let id = envelope.id(&self.chain);
                                (kind, envelope, id)
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
            kinds: Vec::with_capacity(count),
        };
        for (kind, envelope, id) in parts.into_iter().flatten() {
            load.envelopes.push(envelope);
            load.ids.push(id);
            load.kinds.push(kind);
        }
        debug_assert_eq!(load.envelopes.len(), count);
        load
    }

    fn maker(&self, maker: usize) -> &BenchEnterprise {
        debug_assert!(maker < self.roles.makers);
        &self.enterprises[maker]
    }

    fn merchant(&self, merchant: usize) -> &BenchEnterprise {
        debug_assert!(merchant < self.roles.merchants);
        &self.enterprises[self.roles.makers + merchant]
    }

    fn body(&self, body: usize) -> &BenchEnterprise {
        debug_assert!(body < self.roles.inspection_bodies);
        &self.enterprises[self.roles.makers + self.roles.merchants + body]
    }

    /// Stock lot `lot` of manufacturer `maker`, commissioned in setup.
    fn stock_lot(&self, maker: usize, lot: usize) -> TraceCode {
        TraceCode::Lot {
            gtin: self.gtins[maker].clone(),
            lot: text(&format!("S{lot}")),
        }
    }

    /// The new lot load transaction `number` commissions.
    fn new_lot(&self, maker: usize, number: u64) -> TraceCode {
        TraceCode::Lot {
            gtin: self.gtins[maker].clone(),
            lot: text(&format!("L{number}")),
        }
    }

    fn commissioning(&self, maker: usize, code: TraceCode, quantity: u64, tag: &str) -> Record {
        let report_number = format!("BENCH-FI-{tag}-{code}");
        Record::Commission(Commissioning {
            uscc: self.maker(maker).profile.uscc.clone(),
            model_code: self.gtins[maker].clone().into(),
            items: Items::Batch { code, quantity },
            production_date: self.date(),
            factory_number: None,
            inspection_report: ReportRef {
                kind: ReportKind::FactoryInspection,
                number: text(&report_number),
                issued_by: text("Quality department"),
                document_sha256: hash_parts("suyuan bench report", &[report_number.as_bytes()]),
            },
        })
    }

    fn shipment(
        &self,
        maker: usize,
        buyer: Party,
        code: TraceCode,
        quantity: u64,
        order: &str,
    ) -> Record {
        Record::Ship(Shipment {
            seller: self.maker(maker).profile.uscc.clone(),
            buyer,
            sold_at_ms: self.dated_ms,
            lines: vec![ShipmentLine { code, quantity }],
            order_reference: Some(text(order)),
        })
    }

    /// Load transaction `number`: `merchant` sells `quantity` units of its stock from supplier
    /// `lot` to a person, committed to under a salt drawn from the operating system for this
    /// sale alone, as a seller's system does.
    fn sale(&self, merchant: usize, lot: usize, quantity: u64, number: u64) -> Record {
        let buyer = PersonalData {
            name: format!("Benchmark customer {number}"),
            address: "Hongshan District, Wuhan".into(),
            contact: "+86 27 0000 0000".into(),
        };
        let supplier = self.roles.supplier(merchant, lot);
        Record::Ship(Shipment {
            seller: self.merchant(merchant).profile.uscc.clone(),
            buyer: Party::Person {
                commitment: buyer.commit_fresh().commitment,
                data_reference: text(&format!("crm://orders/{number}")),
            },
            sold_at_ms: self.dated_ms,
            lines: vec![ShipmentLine {
                code: self.stock_lot(supplier, lot),
                quantity,
            }],
            order_reference: Some(text(&format!("RT-{number}"))),
        })
    }

    fn inspection(
        &self,
        code: TraceCode,
        outcome: Outcome,
        accreditation: Option<Accreditation>,
        number: u64,
    ) -> Record {
        let report_number = format!("BENCH-IR-{number}");
        Record::Inspect(Inspection {
            subject: Subject::Code(code),
            outcome,
            standards: vec![text("GB/T 5023.3-2008")],
            inspected_on: self.date(),
            document_sha256: hash_parts("suyuan bench report", &[report_number.as_bytes()]),
            report_number: text(&report_number),
            findings: (outcome == Outcome::NonConformant).then(|| {
                text("Conductor resistance 5.21 Ω/km; the standard allows at most 4.61 Ω/km.")
            }),
            accreditation,
        })
    }

    /// The day records are dated, in China Standard Time.
    fn date(&self) -> Date {
        Date::from_unix_ms_china(self.dated_ms)
    }

    /// A setup transaction's nonce: distinct per run, so that enrolling the same record twice
    /// on purpose would still be two transactions.
    fn setup_nonce(&self, index: usize) -> u64 {
        (u64::from(self.run_tag) << 32) | index as u64
    }

    fn sign(&self, key: &KeyPair, nonce: u64, record: Record) -> Envelope {
        Envelope::sign(
            &self.chain,
            &Payload {
                nonce,
                record,
                event: None,
            },
            key,
        )
    }
}

/// The validity of the inspection bodies' accreditations around the load's date.
struct Dates {
    accredited_from: Date,
    accredited_until: Date,
}

impl Dates {
    fn of(dated_ms: u64) -> Dates {
        Dates {
            accredited_from: Date::from_unix_ms_china(
                dated_ms.saturating_sub(ACCREDITATION_DAYS_BEFORE * DAY_MS),
            ),
            accredited_until: Date::from_unix_ms_china(
                dated_ms + ACCREDITATION_DAYS_AFTER * DAY_MS,
            ),
        }
    }
}

/// The profile of enterprise `index` of a cast divided as `roles`, from the demo's profile of
/// its role: the cable maker's licences and certificate for a manufacturer, the distributor's
/// for a merchant, the lab's for an inspection body, with a CMA accreditation of its own.
fn profile(
    templates: &[DemoEnterprise],
    roles: Roles,
    index: usize,
    uscc: Uscc,
    dates: &Dates,
) -> EnterpriseProfile {
    let (template, kind, name) = if index < roles.makers {
        (
            who::CABLE_MAKER,
            EnterpriseKind::Manufacturer,
            format!("Benchmark Manufacturer {index} Co., Ltd."),
        )
    } else if index < roles.makers + roles.merchants {
        let merchant = index - roles.makers;
        let kind = if merchant.is_multiple_of(2) {
            EnterpriseKind::Distributor
        } else {
            EnterpriseKind::Retailer
        };
        (
            who::DISTRIBUTOR,
            kind,
            format!("Benchmark Trading {merchant} Co., Ltd."),
        )
    } else {
        let body = index - roles.makers - roles.merchants;
        (
            who::LAB,
            EnterpriseKind::InspectionBody,
            format!("Benchmark Testing Centre {body}"),
        )
    };
    let mut profile = templates[template].profile.clone();
    profile.uscc = uscc;
    profile.name = text(&name);
    profile.kind = kind;
    if kind == EnterpriseKind::InspectionBody {
        profile.accreditations = vec![AccreditationEntry {
            number: text(&format!("{:012}", 221_000_000_000u64 + index as u64)),
            scope: vec![text(CATEGORY)],
            valid_from: dates.accredited_from,
            valid_until: dates.accredited_until,
        }];
    }
    profile
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
    use std::collections::{BTreeMap, HashSet};

    use rand::SeedableRng as _;
    use rand::rngs::StdRng;
    use rand::seq::SliceRandom as _;
    use suyuan_ledger::exec::{BlockContext, ExecError, Executor, RuleError, execute_block};
    use suyuan_ledger::state::MemState;
    use suyuan_ledger::tx::VerifiedTx;

    use super::*;

    /// The demo consortium under the rules a fresh testnet has (`suyuan testnet init`): the
    /// default time windows, and inspections by bodies naming an accreditation.
    fn testnet_like() -> Demo {
        let mut demo = Demo::new(4, 7100);
        demo.genesis.time_windows = None;
        demo.genesis.accreditation_required = Some(true);
        demo
    }

    fn workload(demo: &Demo, mix: Mix, enterprises: usize) -> Workload {
        let settings = LoadSettings {
            mix,
            enterprises,
            zipf_exponent: 1.0,
        };
        Workload::new(
            &demo.genesis,
            demo.bureau.clone(),
            settings,
            demo.genesis.genesis_time_ms,
        )
        .expect("the bureau is a registrar")
    }

    fn verified(genesis: &Genesis, envelopes: &[Envelope]) -> Vec<VerifiedTx> {
        envelopes
            .iter()
            .map(|envelope| {
                envelope
                    .clone()
                    .verify(&genesis.binding())
                    .expect("well signed")
            })
            .collect()
    }

    /// A chain in memory: blocks a second apart from genesis.
    struct Chain<'g> {
        genesis: &'g Genesis,
        state: MemState,
        height: u64,
    }

    impl<'g> Chain<'g> {
        fn new(genesis: &'g Genesis) -> Self {
            Chain {
                genesis,
                state: MemState::new(),
                height: 0,
            }
        }

        fn next_context(&self) -> BlockContext<'g> {
            BlockContext {
                genesis: self.genesis,
                height: self.height + 1,
                time_ms: self.genesis.genesis_time_ms + (self.height + 1) * 1_000,
            }
        }

        /// Executes `txs` as one block that every one of them must pass.
        fn commit_all(&mut self, txs: &[VerifiedTx]) -> Result<(), String> {
            let writes = execute_block(&self.state, self.next_context(), txs)
                .map_err(|error| error.to_string())?;
            self.state.apply(writes);
            self.height += 1;
            Ok(())
        }

        /// Executes `txs` as one block from which refused ones are left out, as a proposer
        /// does; returns the refusals by rule.
        fn commit_valid(&mut self, txs: &[VerifiedTx]) -> BTreeMap<String, usize> {
            let mut refusals = BTreeMap::new();
            let mut executor = Executor::new(&self.state, self.next_context());
            for tx in txs {
                if let Err(error) = executor.apply(tx) {
                    *refusals.entry(refusal_name(&error)).or_default() += 1;
                }
            }
            let writes = executor.finish();
            self.state.apply(writes);
            self.height += 1;
            refusals
        }

        /// Sets up `workload`, each step in a block of its own.
        fn set_up(&mut self, workload: &Workload) {
            for step in workload.setup_steps() {
                let txs = verified(self.genesis, &step.envelopes);
                self.commit_all(&txs)
                    .unwrap_or_else(|error| panic!("{}: {error}", step.name));
            }
        }
    }

    fn refusal_name(error: &ExecError) -> String {
        error
            .rule()
            .map_or_else(|| error.to_string(), |rule| rule.code().to_owned())
    }

    fn kind_counts(kinds: &[LoadKind]) -> BTreeMap<LoadKind, usize> {
        let mut counts = BTreeMap::new();
        for kind in kinds {
            *counts.entry(*kind).or_default() += 1;
        }
        counts
    }

    /// The default cast (10,000 enterprises) is set up, then a load of every kind executes in
    /// a shuffled order, in blocks, with no refusal; and each load transaction also executes
    /// alone over the setup: none depends on another.
    #[test]
    fn realistic_setup_then_shuffled_load_executes_without_refusal() {
        let demo = testnet_like();
        let genesis = &demo.genesis;
        let workload = workload(&demo, Mix::Realistic, Mix::Realistic.default_signers());
        let steps = workload.setup_steps();
        let sizes: Vec<usize> = steps.iter().map(|step| step.envelopes.len()).collect();
        assert_eq!(sizes, vec![10_000, 4_950, 9_900, 9_900]);
        let mut chain = Chain::new(genesis);
        chain.set_up(&workload);

        let load = workload.sign_load(6_000, NonZeroUsize::new(2).unwrap());
        let counts = kind_counts(&load.kinds);
        assert_eq!(counts.len(), 4, "every kind is in the load: {counts:?}");
        let mut txs = verified(genesis, &load.envelopes);
        for (tx, id) in txs.iter().zip(&load.ids) {
            assert_eq!(&tx.id, id, "ids are computed for the right envelope");
        }
        for tx in &txs {
            let mut alone = Executor::new(&chain.state, chain.next_context());
            alone
                .apply(tx)
                .unwrap_or_else(|error| panic!("alone over the setup: {error}"));
        }
        txs.shuffle(&mut StdRng::seed_from_u64(16));
        let mut refusals = BTreeMap::new();
        for block in txs.chunks(700) {
            for (rule, count) in chain.commit_valid(block) {
                *refusals.entry(rule).or_insert(0) += count;
            }
        }
        assert!(refusals.is_empty(), "refusals by rule: {refusals:?}");
    }

    /// The smallest realistic cast (one of each role) and a small one run the same way.
    #[test]
    fn small_realistic_casts_execute_in_any_order() {
        let demo = testnet_like();
        for enterprises in [3, 16] {
            let workload = workload(&demo, Mix::Realistic, enterprises);
            let mut chain = Chain::new(&demo.genesis);
            chain.set_up(&workload);
            let load = workload.sign_load(2_000, NonZeroUsize::MIN);
            let mut txs = verified(&demo.genesis, &load.envelopes);
            txs.reverse();
            let refusals = chain.commit_valid(&txs);
            assert!(refusals.is_empty(), "{enterprises}: {refusals:?}");
        }
    }

    /// The stock lots hold what the bounds say, and sales never reuse a commitment: each
    /// draws its salt from the operating system, so signing a sale twice gives two.
    #[test]
    fn sales_commit_under_fresh_salts() {
        let demo = testnet_like();
        let workload = workload(&demo, Mix::Realistic, 100);
        let sale = (0..)
            .find(|&number| matches!(workload.plan(number), Planned::Sale { .. }))
            .unwrap();
        let commitment = |envelope: &Envelope| {
            let payload = Payload::parse(&envelope.payload).expect("our payloads decode");
            match payload.record {
                Record::Ship(Shipment {
                    buyer: Party::Person { commitment, .. },
                    ..
                }) => commitment,
                other => panic!("not a sale: {other:?}"),
            }
        };
        let (_, first) = workload.load_transaction(sale);
        let (_, second) = workload.load_transaction(sale);
        assert_ne!(commitment(&first), commitment(&second));
        let load = workload.sign_load(3_000, NonZeroUsize::new(3).unwrap());
        let commitments: Vec<_> = load
            .envelopes
            .iter()
            .zip(&load.kinds)
            .filter(|(_, kind)| **kind == LoadKind::Sale)
            .map(|(envelope, _)| commitment(envelope))
            .collect();
        assert!(commitments.len() > 500);
        assert_eq!(
            commitments.iter().collect::<HashSet<_>>().len(),
            commitments.len()
        );
    }

    /// Threads change nothing but the sales' fresh salts.
    #[test]
    fn signing_on_threads_gives_the_same_transactions_in_order() {
        let demo = testnet_like();
        let commission = workload(&demo, Mix::Commission, 16);
        let one = commission.sign_load(37, NonZeroUsize::MIN);
        let four = commission.sign_load(37, NonZeroUsize::new(4).unwrap());
        assert_eq!(one.envelopes, four.envelopes);
        assert_eq!(one.ids, four.ids);
        assert_eq!(one.ids.iter().collect::<HashSet<_>>().len(), 37);
        assert_eq!(four.index_by_id()[&four.ids[36]], 36);
        assert_eq!(one.distinct_signers(), 16);
        assert!(
            commission
                .sign_load(0, NonZeroUsize::new(2).unwrap())
                .envelopes
                .is_empty()
        );
        let realistic = workload(&demo, Mix::Realistic, 500);
        let one = realistic.sign_load(300, NonZeroUsize::MIN);
        let three = realistic.sign_load(300, NonZeroUsize::new(3).unwrap());
        assert_eq!(one.kinds, three.kinds);
        for ((kind, a), b) in one.kinds.iter().zip(&one.envelopes).zip(&three.envelopes) {
            assert_eq!(a.signer, b.signer);
            assert_eq!(*kind == LoadKind::Sale, a != b, "{kind:?}");
        }
    }

    /// The commissioning mix is the first benchmark's load: 16 manufacturers in turn, one new
    /// lot each; a second run's cast does not collide with the first.
    #[test]
    fn commission_mix_executes_and_runs_do_not_collide() {
        let demo = testnet_like();
        let genesis = &demo.genesis;
        let first = workload(&demo, Mix::Commission, 16);
        assert_eq!(first.zipf_exponent(), None);
        let steps = first.setup_steps();
        assert_eq!(steps.len(), 2);
        let mut chain = Chain::new(genesis);
        chain.set_up(&first);
        let load = first.sign_load(500, NonZeroUsize::new(3).unwrap());
        assert!(
            load.kinds
                .iter()
                .all(|kind| *kind == LoadKind::Commissioning)
        );
        // Every load transaction in one block: no two of them conflict.
        chain
            .commit_all(&verified(genesis, &load.envelopes))
            .expect("the load executes");
        let second = workload(&demo, Mix::Commission, 16);
        chain.set_up(&second);
    }

    #[test]
    fn load_before_models_is_refused() {
        let demo = testnet_like();
        let workload = workload(&demo, Mix::Commission, 4);
        let mut chain = Chain::new(&demo.genesis);
        let enrolments = &workload.setup_steps()[0];
        chain
            .commit_all(&verified(&demo.genesis, &enrolments.envelopes))
            .unwrap();
        let (_, envelope) = workload.load_transaction(0);
        let refusals = chain.commit_valid(&verified(&demo.genesis, &[envelope]));
        assert_eq!(refusals, BTreeMap::from([("unknown_model".to_owned(), 1)]));
        assert_eq!(
            RuleError::UnknownModel {
                model: workload.gtins[0].clone().into()
            }
            .code(),
            "unknown_model"
        );
    }

    #[test]
    fn a_non_registrar_key_is_refused() {
        let demo = testnet_like();
        let settings = LoadSettings {
            mix: Mix::Realistic,
            enterprises: 10,
            zipf_exponent: 1.0,
        };
        let error = Workload::new(
            &demo.genesis,
            KeyPair::insecure_from_label("nobody"),
            settings,
            demo.genesis.genesis_time_ms,
        )
        .expect_err("not a registrar");
        assert!(error.to_string().contains("not a registrar"), "{error}");
    }
}
