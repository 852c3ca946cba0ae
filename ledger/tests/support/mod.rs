//! The demo consortium as a test world: its story executed one block per step, and helpers
//! to submit one record at a time and check that a refusal changes nothing. Shared by the
//! execution-rule tests; each test binary uses part of it.
#![allow(dead_code)]

use suyuan_ledger::codes::gs1::keys::Gtin;
use suyuan_ledger::codes::model::ModelCode;
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{Demo, DemoEnterprise, factory_report};
use suyuan_ledger::exec::{BlockContext, RuleError, execute_block};
use suyuan_ledger::genesis::{Genesis, Member};
use suyuan_ledger::record::{
    AcceptTransfer, BindKey, Commissioning, Items, OfferTransfer, Party, ProductModel, Record,
    Shipment, ShipmentLine, TraceCode,
};
use suyuan_ledger::state::{MemState, StateReadExt};
use suyuan_ledger::tx::{Envelope, Payload, VerifiedTx};

pub(crate) const DAY_MS: u64 = 86_400_000;

/// The demo consortium with its story executed, one block per story step, blocks a day apart.
pub(crate) struct World {
    pub(crate) demo: Demo,
    pub(crate) state: MemState,
    pub(crate) height: u64,
    pub(crate) nonce: u64,
}

impl World {
    /// The demo story under the rules' default time windows (the demo's own are wider).
    pub(crate) fn new() -> World {
        World::with_genesis(|genesis| genesis.time_windows = None)
    }

    /// The demo story over the demo genesis as `amend` changes it.
    pub(crate) fn with_genesis(amend: impl FnOnce(&mut Genesis)) -> World {
        World::of_demo(Demo::new(4, 7100), amend)
    }

    /// The story [`World::new`] executes, its buyers' salts from `salt_seed`: another world's
    /// seed gives that world's very story.
    pub(crate) fn with_salt_seed(salt_seed: [u8; 32]) -> World {
        World::of_demo(Demo::new(4, 7100).with_salt_seed(salt_seed), |genesis| {
            genesis.time_windows = None
        })
    }

    /// The first `blocks` blocks of the demo story over the demo genesis as `amend` changes it
    /// (under the rules' default time windows), for a genesis the whole story would break.
    #[allow(dead_code)]
    pub(crate) fn with_story_start(amend: impl FnOnce(&mut Genesis), blocks: usize) -> World {
        World::of_demo_blocks(
            Demo::new(4, 7100),
            |genesis| {
                genesis.time_windows = None;
                amend(genesis);
            },
            blocks,
        )
    }

    fn of_demo(demo: Demo, amend: impl FnOnce(&mut Genesis)) -> World {
        World::of_demo_blocks(demo, amend, usize::MAX)
    }

    fn of_demo_blocks(mut demo: Demo, amend: impl FnOnce(&mut Genesis), blocks: usize) -> World {
        amend(&mut demo.genesis);
        let mut world = World {
            demo,
            state: MemState::new(),
            height: 0,
            nonce: 1_000,
        };
        for block in world.demo.story().into_iter().take(blocks) {
            world
                .commit(block)
                .expect("the demo story executes cleanly");
        }
        world
    }

    pub(crate) fn context(&self) -> BlockContext<'_> {
        BlockContext {
            genesis: &self.demo.genesis,
            height: self.height + 1,
            time_ms: self.demo.genesis.genesis_time_ms + (self.height + 1) * DAY_MS,
        }
    }

    pub(crate) fn verify(&self, envelope: Envelope) -> VerifiedTx {
        envelope
            .verify(&self.demo.genesis.binding())
            .expect("test envelopes are well signed")
    }

    pub(crate) fn commit(&mut self, block: Vec<Envelope>) -> Result<(), RuleError> {
        let txs: Vec<VerifiedTx> = block.into_iter().map(|e| self.verify(e)).collect();
        let writes = execute_block(&self.state, self.context(), &txs)
            .map_err(|e| e.error.rule().expect("memory state does not fail").clone())?;
        self.state.apply(writes);
        self.height += 1;
        Ok(())
    }

    pub(crate) fn sign(&mut self, key: &KeyPair, record: Record) -> Envelope {
        self.nonce += 1;
        Envelope::sign(
            &self.demo.genesis.binding(),
            &Payload {
                nonce: self.nonce,
                record,
                event: None,
            },
            key,
        )
    }

    /// Submits one transaction in a block of its own; a refusal must leave state untouched.
    pub(crate) fn submit(&mut self, key: &KeyPair, record: Record) -> Result<(), RuleError> {
        let envelope = self.sign(key, record);
        let before = self.state.digest();
        let outcome = self.commit(vec![envelope]);
        if outcome.is_err() {
            assert_eq!(
                self.state.digest(),
                before,
                "a refused transaction changed state"
            );
        }
        outcome
    }

    pub(crate) fn enterprise(&self, index: usize) -> DemoEnterprise {
        self.demo.enterprises[index].clone()
    }

    /// A registered model as it stands, to re-register changed.
    pub(crate) fn registered_model(&self, model_code: &ModelCode) -> ProductModel {
        self.state
            .model(model_code)
            .unwrap()
            .expect("the model is registered")
            .model
    }
}

pub(crate) fn cable_lot() -> TraceCode {
    "01/06950123450012/10/C2601A".parse().unwrap()
}

pub(crate) fn cooker_lot() -> TraceCode {
    format!("01/{}/10/G2601B", Demo::cooker_gtin())
        .parse()
        .unwrap()
}

pub(crate) fn ship(
    seller: &DemoEnterprise,
    buyer: &DemoEnterprise,
    code: TraceCode,
    quantity: u64,
) -> Record {
    Record::Ship(Shipment {
        seller: seller.profile.uscc.clone(),
        buyer: Party::enterprise(&buyer.profile),
        sold_at_ms: suyuan_ledger::demo::DEMO_GENESIS_TIME_MS,
        lines: vec![ShipmentLine { code, quantity }],
        order_reference: None,
    })
}

pub(crate) fn commission(
    producer: &DemoEnterprise,
    gtin: Gtin,
    code: TraceCode,
    date: &str,
) -> Record {
    Record::Commission(Commissioning {
        uscc: producer.profile.uscc.clone(),
        model_code: gtin.into(),
        items: Items::Batch { code, quantity: 10 },
        production_date: date.parse().unwrap(),
        factory_number: None,
        inspection_report: factory_report("R-1", "QA"),
    })
}

/// A third registrar that is no regulator, so that a transfer away from it leaves it nothing.
pub(crate) fn chamber() -> KeyPair {
    KeyPair::insecure_from_label("test chamber of commerce")
}

pub(crate) fn world_with_chamber() -> World {
    World::with_genesis(|genesis| {
        genesis.time_windows = None;
        genesis.registrars.push(Member {
            name: "Wuhan General Chamber of Commerce".parse().unwrap(),
            public_key: chamber().public(),
        })
    })
}

pub(crate) fn bind(enterprise: &DemoEnterprise, label: &str) -> Record {
    Record::BindKey(BindKey {
        uscc: enterprise.profile.uscc.clone(),
        key: KeyPair::insecure_from_label(label).public(),
    })
}

pub(crate) fn offer(enterprise: &DemoEnterprise, to: &KeyPair) -> Record {
    Record::OfferTransfer(OfferTransfer {
        uscc: enterprise.profile.uscc.clone(),
        to: to.public(),
    })
}

pub(crate) fn accept(enterprise: &DemoEnterprise, from: &KeyPair) -> Record {
    Record::AcceptTransfer(AcceptTransfer {
        uscc: enterprise.profile.uscc.clone(),
        from: from.public(),
    })
}

#[allow(unused_macros)]
macro_rules! assert_refused {
    ($outcome:expr, $pattern:pat) => {
        let outcome = $outcome;
        assert!(matches!(outcome, Err($pattern)), "{outcome:?}");
    };
}
