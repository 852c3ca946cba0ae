//! Build a small, realistic consortium and its records, for demos, tests and benchmarks.
//!
//! Everything here is deterministic but one seed: keys come from
//! [`KeyPair::insecure_from_label`], so the same demo has the same keys and genesis on every
//! machine. The salts of its private buyers' commitments come from a salt seed that
//! [`Demo::new`] draws from the operating system, as a real client draws each salt
//! ([`PersonalData::commit_fresh`]): a constant salt would teach by example the mistake the
//! ledger's `commitment_reused` rule refuses. A demo's story is fixed once the demo is built, so
//! [`Demo::story`] gives the same transactions on every call; two demos give the same story
//! only with the same seed, which [`Demo::salt_seed`] reads and [`Demo::with_salt_seed`] sets
//! (a test that rebuilds the story in another process passes the seed along). The companies are
//! fictional; their codes are valid (check characters and digits are computed).
//!
//! The story: a provincial market-regulation bureau and an industry association run the
//! registry; a cable maker and a gas-appliance maker report production; an accredited lab
//! inspects; a distributor buys and resells; one batch of gas cookers fails inspection and is
//! recalled. The development story ([`Demo::dev_story`], what `suyuan dev` loads) adds a block
//! of logistics: the cable maker packs part of its lot on a pallet (an SSCC under its company
//! prefix) and ships the pallet to the distributor, which unpacks it; the gas-appliance maker
//! packs two cookers in a case it keeps.

use std::collections::BTreeMap;

use crate::block::{Block, BlockHash, Body, leader};
use crate::catalogue::FieldId;
use crate::codes::accreditation::Accreditation;
use crate::codes::gs1::check::check_digit;
use crate::codes::gs1::keys::{Gln, Gtin};
use crate::codes::model::ModelCode;
use crate::codes::prefix::IdPrefix;
use crate::codes::uscc::{Uscc, check_character};
use crate::crypto::KeyPair;
use crate::exec::{BlockContext, execute_block};
use crate::genesis::{Genesis, MAX_WINDOW_DAYS, Member, TimeWindows, Validator};
use crate::hash::Hash32;
use crate::merkle::log::Frontier;
use crate::merkle::map::MapStore;
use crate::record::{
    AccreditationEntry, AttestPrefix, BusinessLicence, CertificateEntry, Commissioning,
    EnterpriseKind, EnterpriseProfile, Inspection, Items, LicenceEntry, LinkCodes, Outcome, Pack,
    Party, PersonalData, ProductModel, Recall, Record, RegisterEnterprise, ReportKind, ReportRef,
    SampledProduct, Shipment, ShipmentLine, Subject, TraceCode, UnitCode, Unpack, UpdateEnterprise,
};
use crate::state::{MemState, StateRead, WriteSet};
use crate::text::ShortText;
use crate::trees::{BlockTrees, LedgerHash, grow};
use crate::tx::{Envelope, Payload, VerifiedTx};

/// Chain id of the demo consortium.
pub const DEMO_CHAIN_ID: &str = "suyuan-demo";

/// Genesis time of the demo consortium: 2026-01-01T00:00:00Z.
pub const DEMO_GENESIS_TIME_MS: u64 = 1_767_225_600_000;

/// A USCC built from its first 17 characters, with the check character computed.
///
/// # Panics
/// If `body` is not 17 characters of the USCC alphabet: demo data is written by us.
pub fn uscc(body: &str) -> Uscc {
    let check = check_character(body).expect("demo USCC bodies are 17 alphabet characters");
    format!("{body}{check}")
        .parse()
        .expect("a computed check character makes a valid USCC")
}

/// A GTIN-14 built from its first 13 digits, with the check digit computed.
///
/// # Panics
/// If `body` is not 13 ASCII digits: demo data is written by us.
pub fn gtin(body: &str) -> Gtin {
    assert_eq!(body.len(), 13, "a GTIN-14 body has 13 digits");
    let check = check_digit(body.as_bytes()).expect("demo GTIN bodies are digits");
    format!("{body}{}", check as char)
        .parse()
        .expect("a computed check digit makes a valid GTIN")
}

/// A logistic unit's code, `00/{SSCC}`, built from the SSCC's first 17 digits (extension
/// digit, company prefix, serial reference), with the check digit computed.
///
/// # Panics
/// If `body` is not 17 ASCII digits: demo data is written by us.
pub fn sscc(body: &str) -> UnitCode {
    assert_eq!(body.len(), 17, "an SSCC body has 17 digits");
    let check = check_digit(body.as_bytes()).expect("demo SSCC bodies are digits");
    format!("00/{body}{}", check as char)
        .parse()
        .expect("a computed check digit makes a valid SSCC")
}

/// The demo consortium's time windows: its story is dated January 2026 and is replayed on live
/// chains at any later time (`suyuan dev`, the node's tests), so it accepts records as old as
/// any genesis may. Its documents run to 2029, when the story will need new ones.
pub const DEMO_TIME_WINDOWS: TimeWindows = TimeWindows {
    production_max_age_days: MAX_WINDOW_DAYS,
    inspection_max_age_days: MAX_WINDOW_DAYS,
    sale_max_age_days: MAX_WINDOW_DAYS,
    recall_max_age_days: MAX_WINDOW_DAYS,
    ..TimeWindows::DEFAULT
};

/// A demo chain's block `height` comes this long after genesis.
const DEMO_BLOCK_INTERVAL_MS: u64 = 86_400_000;

/// A demo block executed over its parent: what committing it needs.
#[derive(Debug, Clone)]
pub struct DemoBlock {
    /// The block, its header's tree roots filled in.
    pub block: Block,
    /// Its transactions, verified.
    pub txs: Vec<VerifiedTx>,
    /// What executing it writes to the state.
    pub writes: WriteSet,
    /// What it does to the proof trees.
    pub trees: BlockTrees,
}

/// Executes `envelopes` as block `height` of a demo chain of `genesis` on top of `parent`, over
/// `state` and the proof trees as of the parent (`log`'s right edge, `map` at `height - 1`):
/// view `height`, proposed by that view's leader, timed `height` days after genesis (as
/// [`Demo::story_state`] times the story).
///
/// # Panics
/// If an envelope is not signed for `genesis`, the block exceeds a bound, a transaction breaks
/// a rule or the map cannot be read: tests and tools build demo blocks to execute cleanly.
pub fn execute_demo_block(
    genesis: &Genesis,
    state: &(impl StateRead + ?Sized),
    (log, map): (&Frontier<LedgerHash>, &impl MapStore),
    height: u64,
    parent: BlockHash,
    envelopes: Vec<Envelope>,
) -> DemoBlock {
    let chain = genesis.binding();
    let txs: Vec<VerifiedTx> = envelopes
        .iter()
        .map(|envelope| envelope.clone().verify(&chain))
        .collect::<Result<_, _>>()
        .expect("demo transactions are signed for the demo chain");
    let trees = grow(log, map, height, &txs)
        .unwrap_or_else(|error| panic!("demo block {height}'s trees: {error}"));
    let block = Block::new(
        &genesis.chain_id,
        height,
        height,
        parent,
        genesis.genesis_time_ms + height * DEMO_BLOCK_INTERVAL_MS,
        *leader(genesis, height),
        Body {
            transactions: envelopes,
        },
        trees.heads,
    )
    .expect("demo blocks are within bounds");
    let context = BlockContext {
        genesis,
        height,
        time_ms: block.header.time_ms,
    };
    let writes = execute_block(state, context, &txs)
        .unwrap_or_else(|error| panic!("demo block {height} executes cleanly: {error}"));
    DemoBlock {
        block,
        txs,
        writes,
        trees,
    }
}

/// The keys and identities of the demo consortium, and the seed of its buyers' salts.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The genesis file.
    pub genesis: Genesis,
    /// Validator keys, in genesis order.
    pub validators: Vec<KeyPair>,
    /// The provincial bureau: registrar and regulator.
    pub bureau: KeyPair,
    /// The industry association: registrar only.
    pub association: KeyPair,
    /// Enterprises, each with its key.
    pub enterprises: Vec<DemoEnterprise>,
    /// What the salts of the story's buyer commitments derive from; see [`Demo::salt_seed`].
    salt_seed: [u8; 32],
}

/// One demo enterprise.
#[derive(Debug, Clone)]
pub struct DemoEnterprise {
    /// Its profile.
    pub profile: EnterpriseProfile,
    /// Its signing key.
    pub key: KeyPair,
    /// The identifier prefixes its registrar attests at enrolment.
    pub prefixes: Vec<IdPrefix>,
}

/// Indexes into [`Demo::enterprises`].
pub mod who {
    /// The cable maker.
    pub const CABLE_MAKER: usize = 0;
    /// The gas-appliance maker.
    pub const GAS_APPLIANCE_MAKER: usize = 1;
    /// The distributor.
    pub const DISTRIBUTOR: usize = 2;
    /// The accredited lab.
    pub const LAB: usize = 3;
}

/// The label of the story's retail sale, for [`Demo::buyer_salt`].
const RETAIL_SALE: &str = "RT-000311";

fn text<T: std::str::FromStr>(value: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    value.parse().expect("demo text is valid")
}

impl Demo {
    /// The demo consortium with `validator_count` validators listening on loopback from
    /// `first_p2p_port` upwards, its buyers' salt seed drawn from the operating system: two
    /// demos built with `new` have the same keys and genesis but different stories (the sale
    /// to a person carries a different commitment). Fix the seed with [`Demo::with_salt_seed`]
    /// where two demos must tell the same story.
    pub fn new(validator_count: usize, first_p2p_port: u16) -> Demo {
        use rand_core::RngCore;

        let mut salt_seed = [0; 32];
        rand_core::OsRng.fill_bytes(&mut salt_seed);
        let validators: Vec<KeyPair> = (0..validator_count)
            .map(|i| KeyPair::insecure_from_label(&format!("demo validator {i}")))
            .collect();
        let operators = [
            "Hubei Administration for Market Regulation",
            "China Electrical Equipment Industry Association",
            "State Grid Procurement Centre",
            "China Gas Appliance Association",
        ];
        let bureau = KeyPair::insecure_from_label("demo bureau");
        let association = KeyPair::insecure_from_label("demo association");
        let genesis = Genesis {
            chain_id: DEMO_CHAIN_ID.into(),
            genesis_time_ms: DEMO_GENESIS_TIME_MS,
            validators: validators
                .iter()
                .enumerate()
                .map(|(i, key)| Validator {
                    name: text(&format!("{} node {}", operators[i % operators.len()], i)),
                    public_key: key.public(),
                    p2p_address: text(&format!(
                        "/ip4/127.0.0.1/tcp/{}",
                        usize::from(first_p2p_port) + i
                    )),
                    api_url: None,
                })
                .collect(),
            registrars: vec![
                Member {
                    name: text("Hubei Administration for Market Regulation"),
                    public_key: bureau.public(),
                },
                Member {
                    name: text("China Electrical Equipment Industry Association"),
                    public_key: association.public(),
                },
            ],
            regulators: vec![Member {
                name: text("Hubei Administration for Market Regulation"),
                public_key: bureau.public(),
            }],
            score_weights: None,
            time_windows: Some(DEMO_TIME_WINDOWS),
            catalogue: None,
            accreditation_required: None,
        };
        Demo {
            genesis,
            validators,
            bureau,
            association,
            enterprises: demo_enterprises(),
            salt_seed,
        }
    }

    /// This demo with its buyers' salts derived from `salt_seed`: for a test or tool that must
    /// rebuild the very story another demo told (in another process, say), given that demo's
    /// [`Demo::salt_seed`]. Never a constant in a demo shown to users: see the module doc.
    pub fn with_salt_seed(mut self, salt_seed: [u8; 32]) -> Demo {
        self.salt_seed = salt_seed;
        self
    }

    /// The seed this demo's buyer salts derive from, to hand to [`Demo::with_salt_seed`].
    pub fn salt_seed(&self) -> [u8; 32] {
        self.salt_seed
    }

    /// The salt of the story's sale `label` to a private buyer: derived from the salt seed, a
    /// different one for each sale, as a client draws a fresh one for each.
    pub fn buyer_salt(&self, label: &str) -> [u8; 32] {
        let mut hasher = blake3::Hasher::new_derive_key("suyuan demo buyer salt v1");
        hasher.update(&self.salt_seed);
        hasher.update(label.as_bytes());
        *hasher.finalize().as_bytes()
    }

    /// The private buyer of the story's retail sale, and the salt the seller keeps with the
    /// data: what a regulator would be handed to check the sale's commitment.
    pub fn retail_buyer(&self) -> (PersonalData, [u8; 32]) {
        let data = PersonalData {
            name: "Li Hua".into(),
            address: "Hongshan District, Wuhan".into(),
            contact: "+86 27 0000 0000".into(),
        };
        (data, self.buyer_salt(RETAIL_SALE))
    }

    /// The cable model's GTIN.
    pub fn cable_gtin() -> Gtin {
        gtin("0695012345001")
    }

    /// The gas cooker model's GTIN.
    pub fn cooker_gtin() -> Gtin {
        gtin("0695098765001")
    }

    /// The cable maker's GS1 company prefix, which its model's GTIN lies under.
    pub fn cable_prefix() -> IdPrefix {
        IdPrefix::gs1("6950123").expect("a valid company prefix")
    }

    /// The gas-appliance maker's GS1 company prefix.
    pub fn cooker_prefix() -> IdPrefix {
        IdPrefix::gs1("6950987").expect("a valid company prefix")
    }

    fn sign(&self, key: &KeyPair, nonce: u64, record: Record) -> Envelope {
        Envelope::sign(
            &self.genesis.binding(),
            &Payload {
                nonce,
                record,
                event: None,
            },
            key,
        )
    }

    /// The state after the story, executed block by block, block `h` timed `h` days after
    /// genesis (as `suyuan demo` runs it).
    ///
    /// # Panics
    /// If the story does not execute cleanly: it is written to, and tested to.
    pub fn story_state(&self) -> MemState {
        self.state_after(self.story())
    }

    /// The state after [`Demo::dev_story`], timed as [`Demo::story_state`].
    ///
    /// # Panics
    /// If the story does not execute cleanly: it is written to, and tested to.
    pub fn dev_story_state(&self) -> MemState {
        self.state_after(self.dev_story())
    }

    fn state_after(&self, story: Vec<Vec<Envelope>>) -> MemState {
        let mut state = MemState::new();
        let chain = self.genesis.binding();
        for (index, block) in story.into_iter().enumerate() {
            let height = index as u64 + 1;
            let txs: Vec<_> = block
                .into_iter()
                .map(|envelope| envelope.verify(&chain))
                .collect::<Result<_, _>>()
                .expect("demo transactions are well signed");
            let context = BlockContext {
                genesis: &self.genesis,
                height,
                time_ms: self.genesis.genesis_time_ms + height * DEMO_BLOCK_INTERVAL_MS,
            };
            let writes = execute_block(&state, context, &txs).expect("the demo story executes");
            state.apply(writes);
        }
        state
    }

    /// The demo story as signed transactions, in an order that executes cleanly, with block
    /// times from `start_ms`. Each inner list is one block.
    pub fn story(&self) -> Vec<Vec<Envelope>> {
        let cable = &self.enterprises[who::CABLE_MAKER];
        let gas = &self.enterprises[who::GAS_APPLIANCE_MAKER];
        let distributor = &self.enterprises[who::DISTRIBUTOR];
        let lab = &self.enterprises[who::LAB];
        let enrol = |registrar: &KeyPair, enterprise: &DemoEnterprise, nonce| {
            self.sign(
                registrar,
                nonce,
                Record::RegisterEnterprise(RegisterEnterprise {
                    enterprise: enterprise.profile.clone(),
                    keys: vec![enterprise.key.public()],
                    prefixes: enterprise.prefixes.clone(),
                }),
            )
        };
        let enrolments = vec![
            enrol(&self.bureau, cable, 1),
            enrol(&self.bureau, gas, 2),
            enrol(&self.association, distributor, 3),
            enrol(&self.bureau, lab, 4),
        ];
        let models = vec![
            self.sign(&cable.key, 1, Record::RegisterProduct(cable_model(cable))),
            self.sign(&gas.key, 1, Record::RegisterProduct(cooker_model(gas))),
        ];
        let cable_lot = lot(Self::cable_gtin(), "C2601A");
        let cooker_lot = lot(Self::cooker_gtin(), "G2601B");
        let cooker_serials: Vec<TraceCode> = (1..=5)
            .map(|n| TraceCode::Item {
                gtin: Self::cooker_gtin(),
                serial: text(&format!("G26SN{n:05}")),
            })
            .collect();
        let production = vec![
            self.sign(
                &cable.key,
                2,
                Record::Commission(Commissioning {
                    uscc: cable.profile.uscc.clone(),
                    model_code: Self::cable_gtin().into(),
                    items: Items::Batch {
                        code: cable_lot.clone(),
                        quantity: 500,
                    },
                    production_date: text("2026-01-02"),
                    factory_number: Some(text("WH-L3")),
                    inspection_report: report(
                        ReportKind::FactoryInspection,
                        "CJ-FI-2601-017",
                        "cable",
                    ),
                }),
            ),
            self.sign(
                &gas.key,
                2,
                Record::Commission(Commissioning {
                    uscc: gas.profile.uscc.clone(),
                    model_code: Self::cooker_gtin().into(),
                    items: Items::Batch {
                        code: cooker_lot.clone(),
                        quantity: 200,
                    },
                    production_date: text("2026-01-02"),
                    factory_number: None,
                    inspection_report: report(
                        ReportKind::TypeInspection,
                        "NB-TI-2025-332",
                        "cooker",
                    ),
                }),
            ),
            self.sign(
                &gas.key,
                3,
                Record::Commission(Commissioning {
                    uscc: gas.profile.uscc.clone(),
                    model_code: Self::cooker_gtin().into(),
                    items: Items::Serialised {
                        codes: cooker_serials.clone(),
                        batch: None,
                    },
                    production_date: text("2026-01-02"),
                    factory_number: None,
                    inspection_report: report(
                        ReportKind::FactoryInspection,
                        "NB-FI-2601-004",
                        "cooker serials",
                    ),
                }),
            ),
        ];
        let (retail_data, retail_salt) = self.retail_buyer();
        let flows = vec![
            self.sign(
                &lab.key,
                1,
                Record::Inspect(Inspection {
                    subject: Subject::Code(cable_lot.clone()),
                    outcome: Outcome::Conformant,
                    standards: vec![text("GB/T 5023.3-2008")],
                    inspected_on: text("2026-01-02"),
                    report_number: text("WHCT-2026-00091"),
                    document_sha256: Hash32(*blake3::hash(b"demo lab report cable").as_bytes()),
                    findings: None,
                    accreditation: None,
                }),
            ),
            self.sign(
                &self.bureau,
                5,
                Record::Inspect(Inspection {
                    subject: Subject::Code(cooker_lot.clone()),
                    outcome: Outcome::NonConformant,
                    standards: vec![text("GB 16410-2020")],
                    inspected_on: text("2026-01-02"),
                    report_number: text("HBAMR-CC-2026-0007"),
                    document_sha256: Hash32(*blake3::hash(b"demo bureau report cooker").as_bytes()),
                    findings: Some(text(
                        "Flame-failure device closes after 92 s; the standard allows 60 s.",
                    )),
                    accreditation: None,
                }),
            ),
            self.sign(
                &cable.key,
                3,
                Record::Ship(Shipment {
                    seller: cable.profile.uscc.clone(),
                    buyer: Party::enterprise(&distributor.profile),
                    sold_at_ms: DEMO_GENESIS_TIME_MS + 2 * 86_400_000,
                    lines: vec![ShipmentLine {
                        code: cable_lot.clone(),
                        quantity: 300,
                    }],
                    order_reference: Some(text("SO-2026-0012")),
                }),
            ),
            self.sign(
                &gas.key,
                4,
                Record::Ship(Shipment {
                    seller: gas.profile.uscc.clone(),
                    buyer: Party::Person {
                        commitment: retail_data.commitment(&retail_salt),
                        data_reference: text("crm://orders/2026/000311"),
                    },
                    sold_at_ms: DEMO_GENESIS_TIME_MS + 2 * 86_400_000,
                    lines: vec![ShipmentLine {
                        code: cooker_serials[0].clone(),
                        quantity: 1,
                    }],
                    order_reference: Some(text(RETAIL_SALE)),
                }),
            ),
        ];
        let resale_and_recall = vec![
            self.sign(
                &distributor.key,
                1,
                Record::Ship(Shipment {
                    seller: distributor.profile.uscc.clone(),
                    buyer: construction_company(),
                    sold_at_ms: DEMO_GENESIS_TIME_MS + 3 * 86_400_000,
                    lines: vec![ShipmentLine {
                        code: cable_lot.clone(),
                        quantity: 120,
                    }],
                    order_reference: Some(text("PO-CCCE-2026-0458")),
                }),
            ),
            self.sign(
                &self.bureau,
                6,
                Record::Recall(Recall {
                    producer: gas.profile.uscc.clone(),
                    subjects: vec![Subject::Code(cooker_lot)],
                    reason: text("Flame-failure device too slow (inspection HBAMR-CC-2026-0007): risk of gas leak."),
                    announced_on: text("2026-01-03"),
                }),
            ),
        ];
        vec![enrolments, models, production, flows, resale_and_recall]
    }

    /// The story with more blocks: [`Demo::logistics`], [`Demo::accreditation`],
    /// [`Demo::market_sampling`], the two of [`Demo::non_gs1_models`] and
    /// [`Demo::code_links`]. What `suyuan dev` loads.
    pub fn dev_story(&self) -> Vec<Vec<Envelope>> {
        let mut story = self.story();
        story.push(self.logistics());
        story.push(self.accreditation());
        story.push(self.market_sampling());
        story.extend(self.non_gs1_models());
        story.push(self.code_links());
        story
    }

    /// The block after [`Demo::non_gs1_models`]: each maker links the other code its GS1 lot
    /// carries, an Ecode under the cable maker's registrant prefix ([`Demo::cable_lot_ecode`])
    /// and a Handle id under the gas-appliance maker's enterprise prefix
    /// ([`Demo::cooker_lot_handle`]); a scan of either finds the lot.
    pub fn code_links(&self) -> Vec<Envelope> {
        let link = |enterprise: &DemoEnterprise, code: &str, alias: TraceCode| {
            self.sign(
                &enterprise.key,
                12,
                Record::LinkCodes(LinkCodes {
                    uscc: enterprise.profile.uscc.clone(),
                    code: text(code),
                    aliases: vec![alias],
                }),
            )
        };
        let cable = &self.enterprises[who::CABLE_MAKER];
        let gas = &self.enterprises[who::GAS_APPLIANCE_MAKER];
        vec![
            link(
                cable,
                &format!("01/{}/10/C2601A", Self::cable_gtin()),
                Self::cable_lot_ecode(),
            ),
            link(
                gas,
                &format!("01/{}/10/G2601B", Self::cooker_gtin()),
                Self::cooker_lot_handle(),
            ),
        ]
    }

    /// The Ecode the cable lot `C2601A` also carries, linked in [`Demo::code_links`].
    pub fn cable_lot_ecode() -> TraceCode {
        text("ecode:100126950100002601")
    }

    /// The Handle id the cooker lot `G2601B` also carries, linked in [`Demo::code_links`].
    pub fn cooker_lot_handle() -> TraceCode {
        text("handle:88.118.8/batch/G2601B")
    }

    /// The lab's accreditation, recorded in [`Demo::market_sampling`].
    pub fn lab_accreditation() -> Accreditation {
        text("CNAS L5678")
    }

    /// The block after [`Demo::logistics`]: the bureau, the lab's registrar, records the lab's
    /// CNAS accreditation, scoped to wires and cables.
    pub fn accreditation(&self) -> Vec<Envelope> {
        let mut accredited = self.enterprises[who::LAB].profile.clone();
        accredited.accreditations = vec![AccreditationEntry {
            number: Self::lab_accreditation(),
            scope: vec![text("wires_cables")],
            valid_from: text("2024-03-01"),
            valid_until: text("2030-02-28"),
        }];
        vec![self.sign(
            &self.bureau,
            7,
            Record::UpdateEnterprise(UpdateEnterprise {
                enterprise: accredited,
            }),
        )]
    }

    /// The block after [`Demo::accreditation`]: the lab inspects the cable lot again under its
    /// accreditation, and fails a cable sampled in a Wuhan hardware market that the cable
    /// maker's label names but that is on no ledger, which lowers the cable maker's score.
    pub fn market_sampling(&self) -> Vec<Envelope> {
        let cable = &self.enterprises[who::CABLE_MAKER];
        let lab = &self.enterprises[who::LAB];
        let inspection = |subject, outcome, report: &str, findings: Option<&str>| Inspection {
            subject,
            outcome,
            standards: vec![text("GB/T 5023.3-2008")],
            inspected_on: text("2026-01-07"),
            report_number: text(report),
            document_sha256: Hash32(*blake3::hash(report.as_bytes()).as_bytes()),
            findings: findings.map(text),
            accreditation: Some(Self::lab_accreditation()),
        };
        let sampled = SampledProduct {
            maker: cable.profile.uscc.clone(),
            maker_name: cable.profile.name.clone(),
            product_name: text("PVC-insulated copper cable"),
            model: text("BV 4 mm² 450/750 V"),
            category: text("wires_cables"),
            batch: Some(text("20251108")),
            printed_code: None,
            sampled_on: text("2026-01-05"),
            sampled_in: text("420104"),
            place: text("Hanzheng Street hardware market, stall 2-117"),
        };
        vec![
            self.sign(
                &lab.key,
                2,
                Record::Inspect(inspection(
                    Subject::Code(lot(Self::cable_gtin(), "C2601A")),
                    Outcome::Conformant,
                    "WHCT-2026-00107",
                    None,
                )),
            ),
            self.sign(
                &lab.key,
                3,
                Record::Inspect(inspection(
                    Subject::Sampled(Box::new(sampled)),
                    Outcome::NonConformant,
                    "WHCT-2026-S0012",
                    Some("Conductor resistance 5.21 Ω/km; the standard allows at most 4.61 Ω/km."),
                )),
            ),
        ]
    }

    /// Two blocks in which products without a GTIN are made and sold: the bureau attests an
    /// Ecode registrant prefix to the cable maker and a Handle enterprise prefix to the
    /// gas-appliance maker; each registers a model under it ([`Demo::ecode_model`],
    /// [`Demo::handle_model`]) and commissions a batch ([`Demo::ecode_batch`],
    /// [`Demo::handle_batch`]). In the second block both batches are sold to the distributor and
    /// the bureau recalls the whole Handle model.
    pub fn non_gs1_models(&self) -> Vec<Vec<Envelope>> {
        let cable = &self.enterprises[who::CABLE_MAKER];
        let gas = &self.enterprises[who::GAS_APPLIANCE_MAKER];
        let distributor = &self.enterprises[who::DISTRIBUTOR];
        let attest = |nonce, enterprise: &DemoEnterprise, prefix: IdPrefix| {
            self.sign(
                &self.bureau,
                nonce,
                Record::AttestPrefix(AttestPrefix {
                    uscc: enterprise.profile.uscc.clone(),
                    prefix,
                    from: None,
                }),
            )
        };
        let register = |enterprise: &DemoEnterprise, mut model: ProductModel, code| {
            model.model_code = code;
            self.sign(&enterprise.key, 6, Record::RegisterProduct(model))
        };
        let commission = |enterprise: &DemoEnterprise, model_code, code: TraceCode, number| {
            self.sign(
                &enterprise.key,
                7,
                Record::Commission(Commissioning {
                    uscc: enterprise.profile.uscc.clone(),
                    model_code,
                    items: Items::Batch {
                        code,
                        quantity: 200,
                    },
                    production_date: text("2026-01-06"),
                    factory_number: None,
                    inspection_report: factory_report(number, "in-house laboratory"),
                }),
            )
        };
        let sell = |enterprise: &DemoEnterprise, code: TraceCode, order: &str| {
            self.sign(
                &enterprise.key,
                8,
                Record::Ship(Shipment {
                    seller: enterprise.profile.uscc.clone(),
                    buyer: Party::enterprise(&distributor.profile),
                    sold_at_ms: DEMO_GENESIS_TIME_MS + 7 * 86_400_000,
                    lines: vec![ShipmentLine { code, quantity: 80 }],
                    order_reference: Some(text(order)),
                }),
            )
        };
        let made = vec![
            attest(8, cable, Self::ecode_prefix()),
            attest(9, gas, Self::handle_prefix()),
            register(cable, cable_model(cable), Self::ecode_model()),
            register(gas, cooker_model(gas), Self::handle_model()),
            commission(
                cable,
                Self::ecode_model(),
                Self::ecode_batch(),
                "CJ-FI-2601-031",
            ),
            commission(
                gas,
                Self::handle_model(),
                Self::handle_batch(),
                "GA-FI-2601-009",
            ),
        ];
        let sold_and_recalled = vec![
            sell(cable, Self::ecode_batch(), "SO-2026-0040"),
            sell(gas, Self::handle_batch(), "SO-2026-0041"),
            self.sign(
                &self.bureau,
                10,
                Record::Recall(Recall {
                    producer: gas.profile.uscc.clone(),
                    subjects: vec![Subject::Model(Self::handle_model())],
                    reason: text("Ignition electrode may crack on the JZT-2B42 Handle-coded series: risk of delayed ignition."),
                    announced_on: text("2026-01-07"),
                }),
            ),
        ];
        vec![made, sold_and_recalled]
    }

    /// The Ecode registrant prefix the cable maker holds in the dev story: version 1, numbering
    /// system 0012, registrant block 69501.
    pub fn ecode_prefix() -> IdPrefix {
        IdPrefix::ecode("1001269501").expect("a valid Ecode registrant prefix")
    }

    /// The Handle enterprise prefix the gas-appliance maker holds in the dev story, under the
    /// national root `88`.
    pub fn handle_prefix() -> IdPrefix {
        IdPrefix::handle("88.118.8").expect("a valid Handle enterprise prefix")
    }

    /// The cable model the dev story identifies only by an Ecode.
    pub fn ecode_model() -> ModelCode {
        "ecode:100126950100001"
            .parse()
            .expect("a valid Ecode model code")
    }

    /// The batch of [`Demo::ecode_model`] the dev story commissions.
    pub fn ecode_batch() -> TraceCode {
        "ecode:10012695010000126010"
            .parse()
            .expect("a valid Ecode batch code")
    }

    /// The gas-cooker model the dev story identifies only by a Handle id, and recalls.
    pub fn handle_model() -> ModelCode {
        "handle:88.118.8/model/JZT-2B42H"
            .parse()
            .expect("a valid Handle model code")
    }

    /// The batch of [`Demo::handle_model`] the dev story commissions.
    pub fn handle_batch() -> TraceCode {
        "handle:88.118.8/batch/JZT-2B42H/2601"
            .parse()
            .expect("a valid Handle batch code")
    }

    /// The block after the story in which goods move in logistic units: the cable maker packs
    /// 100 units of its lot on [`Demo::pallet`] and ships the pallet to the distributor, which
    /// unpacks it; the gas-appliance maker packs its last two cooker items in
    /// [`Demo::cooker_case`] and keeps it.
    pub fn logistics(&self) -> Vec<Envelope> {
        let cable = &self.enterprises[who::CABLE_MAKER];
        let gas = &self.enterprises[who::GAS_APPLIANCE_MAKER];
        let distributor = &self.enterprises[who::DISTRIBUTOR];
        let cable_lot = lot(Self::cable_gtin(), "C2601A");
        let cooker_items = [4, 5].map(|n| TraceCode::Item {
            gtin: Self::cooker_gtin(),
            serial: text(&format!("G26SN{n:05}")),
        });
        let pallet = Self::pallet();
        vec![
            self.sign(
                &cable.key,
                4,
                Record::Pack(Pack {
                    uscc: cable.profile.uscc.clone(),
                    sscc: pallet.clone(),
                    contents: vec![ShipmentLine {
                        code: cable_lot.clone(),
                        quantity: 100,
                    }],
                    packed_at_ms: DEMO_GENESIS_TIME_MS + 4 * 86_400_000,
                }),
            ),
            self.sign(
                &cable.key,
                5,
                Record::Ship(Shipment {
                    seller: cable.profile.uscc.clone(),
                    buyer: Party::enterprise(&distributor.profile),
                    sold_at_ms: DEMO_GENESIS_TIME_MS + 4 * 86_400_000,
                    lines: vec![ShipmentLine {
                        code: pallet.as_code().clone(),
                        quantity: 1,
                    }],
                    order_reference: Some(text("SO-2026-0031")),
                }),
            ),
            self.sign(
                &distributor.key,
                2,
                Record::Unpack(Unpack {
                    uscc: distributor.profile.uscc.clone(),
                    sscc: pallet,
                    unpacked_at_ms: DEMO_GENESIS_TIME_MS + 5 * 86_400_000,
                }),
            ),
            self.sign(
                &gas.key,
                5,
                Record::Pack(Pack {
                    uscc: gas.profile.uscc.clone(),
                    sscc: Self::cooker_case(),
                    contents: cooker_items
                        .iter()
                        .map(|code| ShipmentLine {
                            code: code.clone(),
                            quantity: 1,
                        })
                        .collect(),
                    packed_at_ms: DEMO_GENESIS_TIME_MS + 5 * 86_400_000,
                }),
            ),
        ]
    }

    /// The pallet the cable maker packs 100 units of its lot on, ships to the distributor,
    /// which unpacks it: an SSCC under the cable maker's company prefix.
    pub fn pallet() -> UnitCode {
        sscc("06950123000000001")
    }

    /// The case the gas-appliance maker packs two cooker items in and keeps in stock.
    pub fn cooker_case() -> UnitCode {
        sscc("06950987000000001")
    }
}

/// The distributor's customer: a company that is not enrolled, named in full, with its GLN.
fn construction_company() -> Party {
    Party::Enterprise {
        uscc: uscc("91420100MA4K7C8Q1"),
        name: text("Central China Construction Engineering Co., Ltd."),
        address: text("7 Zhongbei Road, Wuchang District, Wuhan, Hubei"),
        contact: text("+86 27 8700 0000 (procurement office)"),
        gln: Some(gln("695055500001")),
    }
}

/// A GLN built from its first 12 digits, with the check digit computed.
///
/// # Panics
/// If `body` is not 12 ASCII digits: demo data is written by us.
fn gln(body: &str) -> Gln {
    assert_eq!(body.len(), 12, "a GLN body has 12 digits");
    let check = check_digit(body.as_bytes()).expect("demo GLN bodies are digits");
    format!("{body}{}", check as char)
        .parse()
        .expect("a computed check digit makes a valid GLN")
}

fn lot(gtin: Gtin, lot: &str) -> TraceCode {
    TraceCode::Lot {
        gtin,
        lot: text(lot),
    }
}

/// A factory inspection report numbered `number`, issued by `issued_by`, with no document
/// hash: what generated commissionings in tests and benchmarks cite.
///
/// # Panics
/// If `number` or `issued_by` is not valid short text: callers pass literals.
pub fn factory_report(number: &str, issued_by: &str) -> ReportRef {
    ReportRef {
        kind: ReportKind::FactoryInspection,
        number: text(number),
        issued_by: text(issued_by),
        document_sha256: Default::default(),
    }
}

fn report(kind: ReportKind, number: &str, document: &str) -> ReportRef {
    ReportRef {
        kind,
        number: text(number),
        issued_by: text("Quality department"),
        document_sha256: Hash32(*blake3::hash(document.as_bytes()).as_bytes()),
    }
}

fn licence_entry(number: &str, product: &str) -> LicenceEntry {
    LicenceEntry {
        number: text(number),
        product: text(product),
        valid_until: text("2029-06-30"),
    }
}

fn certificate_entry(number: &str, product: &str) -> CertificateEntry {
    CertificateEntry {
        number: text(number),
        product: text(product),
        issued_on: text("2024-03-01"),
        valid_until: text("2029-02-28"),
    }
}

fn profile(
    uscc_body: &str,
    name: &str,
    kind: EnterpriseKind,
    address: &str,
    licences: Vec<LicenceEntry>,
    certificates: Vec<CertificateEntry>,
) -> EnterpriseProfile {
    EnterpriseProfile {
        uscc: uscc(uscc_body),
        name: text(name),
        kind,
        address: text(address),
        contact: text("+86 27 8000 0000 (quality office)"),
        business_licence: BusinessLicence {
            issued_by: text("Wuhan Administration for Market Regulation"),
            issued_on: text("2015-06-01"),
            valid_until: None,
        },
        production_licences: licences,
        ccc_certificates: certificates,
        accreditations: Vec::new(),
        gln: None,
    }
}

fn demo_enterprises() -> Vec<DemoEnterprise> {
    let entries = [
        (
            "cable maker",
            profile(
                "91420100MA4K3B7X2",
                "Wuhan Changjiang Cable Co., Ltd.",
                EnterpriseKind::Manufacturer,
                "18 Gaoxin Avenue, East Lake High-tech Zone, Wuhan, Hubei",
                vec![licence_entry(
                    "(鄂)XK06-001-00231",
                    "electric wires and cables",
                )],
                vec![certificate_entry(
                    "2024010105123456",
                    "PVC-insulated cables",
                )],
            ),
        ),
        (
            "gas appliance maker",
            profile(
                "91330200MA2H4N6P1",
                "Ningbo Anran Gas Appliance Co., Ltd.",
                EnterpriseKind::Manufacturer,
                "66 Binhai Road, Beilun District, Ningbo, Zhejiang",
                vec![],
                vec![certificate_entry(
                    "2024010802345678",
                    "domestic gas cookers",
                )],
            ),
        ),
        (
            "distributor",
            profile(
                "91420100MA4K5D9T3",
                "Central China Building Materials Trading Co., Ltd.",
                EnterpriseKind::Distributor,
                "9 Hanzheng Street, Qiaokou District, Wuhan, Hubei",
                vec![],
                vec![],
            ),
        ),
        (
            "lab",
            profile(
                "12420000MB1A2C3D4",
                "Hubei Wire and Cable Testing Centre",
                EnterpriseKind::InspectionBody,
                "3 Luoyu Road, Hongshan District, Wuhan, Hubei",
                vec![],
                vec![],
            ),
        ),
    ];
    entries
        .into_iter()
        .map(|(label, profile)| {
            let prefixes = match label {
                "cable maker" => vec![Demo::cable_prefix()],
                "gas appliance maker" => vec![Demo::cooker_prefix()],
                _ => Vec::new(),
            };
            DemoEnterprise {
                profile,
                key: KeyPair::insecure_from_label(&format!("demo enterprise {label}")),
                prefixes,
            }
        })
        .collect()
}

fn cable_model(cable: &DemoEnterprise) -> ProductModel {
    ProductModel {
        uscc: cable.profile.uscc.clone(),
        model_code: Demo::cable_gtin().into(),
        name: text("PVC-insulated copper cable"),
        product_type: text("electric wires and cables"),
        specification: text("BV 2.5 mm² 450/750 V"),
        model: text("BV-2.5"),
        standards: vec![text("GB/T 5023.3-2008")],
        warranty_months: 24,
        production_licence: Some(text("(鄂)XK06-001-00231")),
        ccc_certificate: Some(text("2024010105123456")),
        category: Some(text("wires_cables")),
        fields: fields(&[
            ("rated_voltage", "450/750 V"),
            ("conductor_cross_section", "2.5 mm²"),
        ]),
    }
}

fn cooker_model(gas: &DemoEnterprise) -> ProductModel {
    ProductModel {
        uscc: gas.profile.uscc.clone(),
        model_code: Demo::cooker_gtin().into(),
        name: text("Two-burner domestic gas cooker"),
        product_type: text("gas appliances"),
        specification: text("natural gas 12T, 2 × 4.2 kW"),
        model: text("JZT-2B42"),
        standards: vec![text("GB 16410-2020")],
        warranty_months: 36,
        production_licence: None,
        ccc_certificate: Some(text("2024010802345678")),
        category: Some(text("gas_appliances")),
        fields: fields(&[
            ("gas_type", "natural gas 12T"),
            ("rated_heat_input", "2 × 4.2 kW"),
        ]),
    }
}

/// A model's category fields from (id, value) pairs.
///
/// # Panics
/// If an id or a value is not valid: callers pass literals.
pub fn fields(pairs: &[(&str, &str)]) -> BTreeMap<FieldId, ShortText> {
    pairs
        .iter()
        .map(|(id, value)| (text(id), text(value)))
        .collect()
}
