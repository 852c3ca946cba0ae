//! Plan what each load transaction does: which kind of record, signed by whom, naming what.
//!
//! Two mixes. [`Mix::Commission`] is the first benchmark's load: every transaction commissions
//! a new lot, the enterprises taking turns. [`Mix::Realistic`], the default, looks like the
//! programme: many enterprises in three roles, a skewed share of traffic each, and four kinds of
//! record, some growing the code map and some updating it:
//!
//! | kind | share | signer | names |
//! |---|---|---|---|
//! | commissioning | 35% | a manufacturer | a new lot of its model: a new code |
//! | shipment | 30% | a manufacturer | one of its stock lots, 1 to 100 units, to a merchant |
//! | sale | 25% | a merchant | one of its stock lots, 1 to 3 units, to a person (fresh salt) |
//! | inspection | 10% | the regulator (a fifth) or an inspection body | a manufacturer's stock lot |
//!
//! Roles: 1% of the enterprises (at least one) are inspection bodies, each accredited for the
//! models' category; of the rest, half (rounded up) are manufacturers, each with one model, and
//! half merchants (distributors and retailers, alternately). Within each role, the enterprise of
//! rank `k` signs a share of its role's traffic proportional to `1 / k^s` ([`Zipf`], `s` = 1 by
//! default); the merchant a shipment goes to, and the manufacturer whose lot an inspection
//! names, are drawn by the same law. One in twenty inspections finds the lot non-conformant.
//!
//! No load transaction depends on another, so the nodes may order them as they like: the
//! setup ([`super::workload`]) commissions [`STOCK_LOTS`] lots per manufacturer and stocks
//! each merchant from them, in quantities no load can exhaust; shipments, sales and
//! inspections name only those; commissionings name only new codes.
//!
//! Each transaction's choices are drawn from its own generator, seeded by the run's seed and
//! its number, so that signing threads need not share one and a plan can be replayed.

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde::Serialize;
use suyuan_ledger::hash::hash_parts;
use suyuan_ledger::record::Outcome;

use super::zipf::Zipf;

/// Which load the benchmark offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Mix {
    /// Commissionings, shipments, sales and inspections by many enterprises, skewed.
    Realistic,
    /// Commissionings of new lots only, the enterprises in turn.
    Commission,
}

impl Mix {
    /// The mix's name on the command line and in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Mix::Realistic => "realistic",
            Mix::Commission => "commission",
        }
    }

    /// Enterprises enrolled when `--signers` is not given.
    pub(crate) fn default_signers(self) -> usize {
        match self {
            Mix::Realistic => 10_000,
            Mix::Commission => 16,
        }
    }

    /// The fewest enterprises the mix can run with.
    pub(crate) fn min_signers(self) -> usize {
        match self {
            // An inspection body, a manufacturer and a merchant.
            Mix::Realistic => 3,
            Mix::Commission => 1,
        }
    }
}

/// Most enterprises a run enrols: setup takes about three transactions for each, committed
/// before the load starts.
pub(crate) const MAX_SIGNERS: usize = 100_000;

/// The kinds of load transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LoadKind {
    /// A `commission` of a new lot.
    Commissioning,
    /// A `ship` between enterprises.
    Shipment,
    /// A `ship` to a person.
    Sale,
    /// An `inspect` of a lot.
    Inspection,
}

impl LoadKind {
    /// Every kind, in report order.
    pub(crate) const ALL: [LoadKind; 4] = [
        LoadKind::Commissioning,
        LoadKind::Shipment,
        LoadKind::Sale,
        LoadKind::Inspection,
    ];

    /// The kind's name in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            LoadKind::Commissioning => "commissioning",
            LoadKind::Shipment => "shipment",
            LoadKind::Sale => "sale",
            LoadKind::Inspection => "inspection",
        }
    }

    /// The kind's share of the load in `mix`, percent.
    pub(crate) fn share_percent(self, mix: Mix) -> u32 {
        match mix {
            Mix::Realistic => REALISTIC_SHARES_PERCENT[self as usize],
            Mix::Commission => u32::from(self == LoadKind::Commissioning) * 100,
        }
    }
}

/// The realistic mix's share of each kind, percent, in [`LoadKind::ALL`]'s order.
const REALISTIC_SHARES_PERCENT: [u32; 4] = [35, 30, 25, 10];

const _: () = assert!(
    REALISTIC_SHARES_PERCENT[0]
        + REALISTIC_SHARES_PERCENT[1]
        + REALISTIC_SHARES_PERCENT[2]
        + REALISTIC_SHARES_PERCENT[3]
        == 100
);

/// Percent of the enterprises that are inspection bodies (at least one).
const INSPECTION_BODY_PERCENT: usize = 1;

/// Percent of inspections the regulator signs itself, when the run holds a regulator's key.
const REGULATOR_INSPECTION_PERCENT: u32 = 20;

/// Percent of inspections that find the lot non-conformant.
const NON_CONFORMANT_PERCENT: u32 = 5;

/// Lots each manufacturer commissions in setup; the `k`-th stocks merchants through its
/// `k`-th supplier (see [`Roles::supplier`]).
pub(crate) const STOCK_LOTS: usize = 2;

/// Most units one load shipment moves.
pub(crate) const MAX_SHIPMENT_QUANTITY: u64 = 100;

/// Most units one load sale moves.
pub(crate) const MAX_SALE_QUANTITY: u64 = 3;

/// How the enterprises divide into roles: manufacturers first, then merchants, then
/// inspection bodies, each numbered from 0 within its role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Roles {
    /// Manufacturers: they commission, ship and supply.
    #[serde(rename = "manufacturers")]
    pub(crate) makers: usize,
    /// Merchants (distributors and retailers): they receive shipments and sell to persons.
    pub(crate) merchants: usize,
    /// Inspection bodies.
    pub(crate) inspection_bodies: usize,
}

impl Roles {
    /// The roles of `enterprises` in the realistic mix (at least [`Mix::min_signers`]).
    pub(crate) fn realistic(enterprises: usize) -> Roles {
        assert!(
            enterprises >= Mix::Realistic.min_signers(),
            "checked by the command line"
        );
        let inspection_bodies = (enterprises * INSPECTION_BODY_PERCENT / 100).max(1);
        let makers = (enterprises - inspection_bodies).div_ceil(2);
        let roles = Roles {
            makers,
            merchants: enterprises - inspection_bodies - makers,
            inspection_bodies,
        };
        // Each stock lot supplies at most one merchant (see `supplier`), which bounds what
        // setup takes out of it.
        assert!(roles.merchants <= roles.makers && roles.merchants > 0);
        roles
    }

    /// Every enterprise a manufacturer, as the commissioning mix has them.
    pub(crate) fn commission(enterprises: usize) -> Roles {
        Roles {
            makers: enterprises,
            merchants: 0,
            inspection_bodies: 0,
        }
    }

    /// All enterprises.
    pub(crate) fn total(&self) -> usize {
        self.makers + self.merchants + self.inspection_bodies
    }

    /// The manufacturer whose stock lot `lot` stocks merchant `merchant` in setup. Lot `k` of
    /// manufacturer `m` stocks only merchant `m - k` (mod the manufacturers), and there are no
    /// more merchants than manufacturers, so each lot stocks at most one merchant.
    pub(crate) fn supplier(&self, merchant: usize, lot: usize) -> usize {
        debug_assert!(merchant < self.merchants && lot < STOCK_LOTS);
        (merchant + lot) % self.makers
    }
}

/// What one load transaction does, before it is signed. Enterprises are numbered within their
/// role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Planned {
    /// Manufacturer `maker` commissions a new lot.
    Commissioning {
        /// The manufacturer.
        maker: usize,
    },
    /// Manufacturer `maker` ships `quantity` units of its stock lot `lot` to `merchant`.
    Shipment {
        /// The seller.
        maker: usize,
        /// The buyer.
        merchant: usize,
        /// Which of the seller's stock lots.
        lot: usize,
        /// Units moved.
        quantity: u64,
    },
    /// Merchant `merchant` sells `quantity` units of its stock lot `lot` to a person.
    Sale {
        /// The seller.
        merchant: usize,
        /// Which of its stock lots: the one its supplier `lot` stocked it with.
        lot: usize,
        /// Units sold.
        quantity: u64,
    },
    /// `inspector` inspects manufacturer `maker`'s stock lot `lot`.
    Inspection {
        /// Who inspects.
        inspector: Inspector,
        /// Whose lot.
        maker: usize,
        /// Which of its stock lots.
        lot: usize,
        /// What it found.
        outcome: Outcome,
    },
}

impl Planned {
    /// Its kind.
    pub(crate) fn kind(&self) -> LoadKind {
        match self {
            Planned::Commissioning { .. } => LoadKind::Commissioning,
            Planned::Shipment { .. } => LoadKind::Shipment,
            Planned::Sale { .. } => LoadKind::Sale,
            Planned::Inspection { .. } => LoadKind::Inspection,
        }
    }
}

/// Who signs an inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inspector {
    /// The regulator whose key the run holds.
    Regulator,
    /// Inspection body number `n`, under its accreditation.
    Body(usize),
}

/// The realistic mix over a cast of enterprises: draws each load transaction's plan.
#[derive(Debug, Clone)]
pub(crate) struct RealisticMix {
    exponent: f64,
    makers: Zipf,
    merchants: Zipf,
    bodies: Zipf,
    /// Whether the run holds a regulator's key to sign inspections with.
    regulator: bool,
    seed: [u8; 32],
}

impl RealisticMix {
    /// The mix over `roles`, skewed by `exponent`, drawn from `seed`; `regulator` says whether
    /// the regulator signs a share of the inspections.
    pub(crate) fn new(roles: Roles, exponent: f64, regulator: bool, seed: [u8; 32]) -> Self {
        RealisticMix {
            exponent,
            makers: Zipf::new(roles.makers, exponent),
            merchants: Zipf::new(roles.merchants, exponent),
            bodies: Zipf::new(roles.inspection_bodies, exponent),
            regulator,
            seed,
        }
    }

    /// The exponent of the traffic's Zipf law.
    pub(crate) fn exponent(&self) -> f64 {
        self.exponent
    }

    /// Whether the regulator signs a share of the inspections.
    pub(crate) fn regulator_inspects(&self) -> bool {
        self.regulator
    }

    /// What load transaction `number` does.
    pub(crate) fn plan(&self, number: u64) -> Planned {
        let seed = hash_parts("suyuan bench plan", &[&self.seed, &number.to_le_bytes()]);
        let mut rng = StdRng::from_seed(seed.0);
        let percentile = rng.gen_range(0..100);
        match kind_at(percentile) {
            LoadKind::Commissioning => Planned::Commissioning {
                maker: self.makers.sample(&mut rng),
            },
            LoadKind::Shipment => Planned::Shipment {
                maker: self.makers.sample(&mut rng),
                merchant: self.merchants.sample(&mut rng),
                lot: rng.gen_range(0..STOCK_LOTS),
                quantity: rng.gen_range(1..=MAX_SHIPMENT_QUANTITY),
            },
            LoadKind::Sale => Planned::Sale {
                merchant: self.merchants.sample(&mut rng),
                lot: rng.gen_range(0..STOCK_LOTS),
                quantity: rng.gen_range(1..=MAX_SALE_QUANTITY),
            },
            LoadKind::Inspection => {
                let by_regulator =
                    self.regulator && rng.gen_range(0..100) < REGULATOR_INSPECTION_PERCENT;
                Planned::Inspection {
                    inspector: if by_regulator {
                        Inspector::Regulator
                    } else {
                        Inspector::Body(self.bodies.sample(&mut rng))
                    },
                    maker: self.makers.sample(&mut rng),
                    lot: rng.gen_range(0..STOCK_LOTS),
                    outcome: if rng.gen_range(0..100) < NON_CONFORMANT_PERCENT {
                        Outcome::NonConformant
                    } else {
                        Outcome::Conformant
                    },
                }
            }
        }
    }
}

/// The kind whose share covers `percentile` (0 to 99) when the shares are laid end to end.
fn kind_at(percentile: u32) -> LoadKind {
    let mut end = 0;
    for kind in LoadKind::ALL {
        end += kind.share_percent(Mix::Realistic);
        if percentile < end {
            return kind;
        }
    }
    unreachable!("the shares sum to 100 and the percentile is under 100")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn mix(enterprises: usize) -> RealisticMix {
        RealisticMix::new(Roles::realistic(enterprises), 1.0, true, [7; 32])
    }

    #[test]
    fn roles_split_as_documented() {
        let roles = Roles::realistic(10_000);
        assert_eq!(
            roles,
            Roles {
                makers: 4_950,
                merchants: 4_950,
                inspection_bodies: 100
            }
        );
        let smallest = Roles::realistic(3);
        assert_eq!((smallest.makers, smallest.merchants), (1, 1));
        assert_eq!(smallest.inspection_bodies, 1);
        let odd = Roles::realistic(16);
        assert_eq!(
            (odd.makers, odd.merchants, odd.inspection_bodies),
            (8, 7, 1)
        );
        for enterprises in [3, 4, 5, 16, 101, 10_000, MAX_SIGNERS] {
            assert_eq!(Roles::realistic(enterprises).total(), enterprises);
        }
    }

    #[test]
    fn each_stock_lot_supplies_at_most_one_merchant() {
        for enterprises in [3, 4, 7, 16, 250] {
            let roles = Roles::realistic(enterprises);
            let mut supplied = HashMap::new();
            for merchant in 0..roles.merchants {
                for lot in 0..STOCK_LOTS {
                    let maker = roles.supplier(merchant, lot);
                    assert!(maker < roles.makers);
                    assert_eq!(supplied.insert((maker, lot), merchant), None);
                }
            }
        }
    }

    #[test]
    fn kinds_come_in_their_shares() {
        let mix = mix(10_000);
        let draws = 100_000u64;
        let mut counts: HashMap<LoadKind, u64> = HashMap::new();
        let mut by_regulator = 0;
        let mut non_conformant = 0;
        for number in 0..draws {
            let planned = mix.plan(number);
            *counts.entry(planned.kind()).or_default() += 1;
            if let Planned::Inspection {
                inspector, outcome, ..
            } = planned
            {
                by_regulator += u64::from(inspector == Inspector::Regulator);
                non_conformant += u64::from(outcome == Outcome::NonConformant);
            }
        }
        for kind in LoadKind::ALL {
            let observed = counts[&kind] as f64 / draws as f64;
            let expected = f64::from(kind.share_percent(Mix::Realistic)) / 100.0;
            assert!(
                (observed - expected).abs() < 0.01,
                "{kind:?}: {observed} drawn, {expected} expected"
            );
        }
        let inspections = counts[&LoadKind::Inspection] as f64;
        assert!((by_regulator as f64 / inspections - 0.20).abs() < 0.02);
        assert!((non_conformant as f64 / inspections - 0.05).abs() < 0.01);
    }

    #[test]
    fn traffic_is_skewed_within_each_role() {
        let mix = mix(10_000);
        let roles = Roles::realistic(10_000);
        let mut commissions = vec![0u64; roles.makers];
        let mut sales = vec![0u64; roles.merchants];
        for number in 0..200_000 {
            match mix.plan(number) {
                Planned::Commissioning { maker } => commissions[maker] += 1,
                Planned::Sale { merchant, .. } => sales[merchant] += 1,
                _ => {}
            }
        }
        for (counts, role_size) in [(&commissions, roles.makers), (&sales, roles.merchants)] {
            let total: u64 = counts.iter().sum();
            let top = counts[0] as f64 / total as f64;
            let expected = Zipf::new(role_size, 1.0).share(0);
            assert!(
                (top - expected).abs() < 0.1 * expected,
                "top: {top}, expected {expected}"
            );
            // The top 1% of the role carries about half its traffic (s = 1).
            let top_percent: u64 = counts[..role_size / 100].iter().sum();
            let top_percent = top_percent as f64 / total as f64;
            assert!((0.4..0.6).contains(&top_percent), "{top_percent}");
        }
    }

    #[test]
    fn plans_are_a_function_of_seed_and_number() {
        let mix = mix(500);
        assert_eq!(mix.plan(42), mix.plan(42));
        let other = RealisticMix::new(Roles::realistic(500), 1.0, true, [8; 32]);
        assert!((0..100).any(|number| mix.plan(number) != other.plan(number)));
        let without_regulator = RealisticMix::new(Roles::realistic(500), 1.0, false, [7; 32]);
        assert!((0..10_000).all(|number| !matches!(
            without_regulator.plan(number),
            Planned::Inspection {
                inspector: Inspector::Regulator,
                ..
            }
        )));
    }
}
