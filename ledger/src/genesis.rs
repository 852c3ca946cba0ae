//! Define a consortium: its chain id, validators, registrars and regulators.
//!
//! The genesis file is the one thing every participant must agree on out of band. It is JSON;
//! its hash ([`Genesis::hash`]) is taken over a canonical re-encoding, so that formatting does
//! not matter but every value does. Anyone holding it can check certificates and proofs without
//! trusting a node.
//!
//! Optional sections keep their default when absent and are left out of the canonical JSON, so
//! adding one to the format changes neither the encoding nor the hash of a file without it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::catalogue::{Catalogue, CatalogueError};
use crate::crypto::PublicKey;
use crate::hash::{Hash32, hash_parts};
use crate::limits::{MAX_CHAIN_ID_BYTES, MAX_GENESIS_MEMBERS};
use crate::text::ShortText;
use crate::tx::ChainBinding;

/// The consortium's founding document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// Names the chain; part of every signed message. ASCII letters, digits, `-`, `_`, `.`.
    pub chain_id: String,
    /// Time of the chain's start, Unix milliseconds; block times must be later.
    pub genesis_time_ms: u64,
    /// The validators, in leader-rotation order: n = 3f + 1 of them tolerate f faulty.
    pub validators: Vec<Validator>,
    /// Registrars (regulators' registration offices, industry associations): they enrol
    /// enterprises and bind their keys.
    pub registrars: Vec<Member>,
    /// Regulators: they record inspections and recalls and may close any recall.
    pub regulators: Vec<Member>,
    /// How the consortium weighs the components of an enterprise's traceability score;
    /// [`ScoreWeights::DEFAULT`] when absent (see [`Genesis::score_weights`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_weights: Option<ScoreWeights>,
    /// How far from the block's time the dates and times in records may lie;
    /// [`TimeWindows::DEFAULT`] when absent (see [`Genesis::time_windows`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_windows: Option<TimeWindows>,
    /// The categories of key products and what each requires of its models;
    /// [`Catalogue::programme`] when absent (see [`Genesis::catalogue`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalogue: Option<Catalogue>,
    /// Whether every inspection by an inspection body must name one of the body's
    /// accreditations, even a body whose profile lists none yet (which then cannot inspect);
    /// `false` when absent, so that chains written before profiles carried accreditations
    /// execute unchanged (see [`Genesis::accreditation_required`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accreditation_required: Option<bool>,
}

/// The plausible window around a block's time for each dated field of a record: a date or time
/// is refused if it lies more than its `max_age_days` before the block's time, or more than
/// `clock_skew_ms` after it. Dates (days in China Standard Time) are compared with the dates of
/// those two instants.
///
/// The windows are the consortium's policy on late reporting: a record of an event older than
/// its window is refused, which is what keeps a producer from backdating a production date to
/// a time when an expired licence was still valid, and a seller from dating a sale 1970.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeWindows {
    /// How far after the block's time a record's date or time may lie: the clocks of ERP
    /// systems and of the proposer differ a little. At least [`MIN_CLOCK_SKEW_MS`], so that it
    /// covers the block-time tolerance of every node (see that constant).
    pub clock_skew_ms: u64,
    /// `commission.production_date`: how old a batch may be when first put on the ledger.
    pub production_max_age_days: u32,
    /// `inspect.inspected_on`: how long a test report may take to be recorded.
    pub inspection_max_age_days: u32,
    /// `ship.sold_at_ms`: how late a sale may be reported.
    pub sale_max_age_days: u32,
    /// `recall.announced_on`: how late a recall may be recorded.
    pub recall_max_age_days: u32,
    /// The longest validity a production licence or CCC certificate may claim, counted from
    /// the block's date: an expiry date further out is a typing error or a forgery.
    pub document_max_term_days: u32,
}

impl TimeWindows {
    /// The windows of a genesis that names none.
    pub const DEFAULT: TimeWindows = TimeWindows {
        clock_skew_ms: DEFAULT_CLOCK_SKEW_MS,
        production_max_age_days: 90,
        inspection_max_age_days: 180,
        sale_max_age_days: 90,
        recall_max_age_days: 30,
        // Production licences and CCC certificates run five years; twice that, with leap days.
        document_max_term_days: 3_653,
    };

    /// Each age window (in days) by its field's name, in a fixed order.
    pub fn ages_by_name(&self) -> [(&'static str, u32); 5] {
        [
            ("production_max_age_days", self.production_max_age_days),
            ("inspection_max_age_days", self.inspection_max_age_days),
            ("sale_max_age_days", self.sale_max_age_days),
            ("recall_max_age_days", self.recall_max_age_days),
            ("document_max_term_days", self.document_max_term_days),
        ]
    }

    /// Checks the skew against [`MIN_CLOCK_SKEW_MS`] and [`MAX_CLOCK_SKEW_MS`], and every
    /// window in days against 1 and [`MAX_WINDOW_DAYS`].
    pub fn check(&self) -> Result<(), GenesisError> {
        let out_of_range = |window: &'static str, min: u64, max: u64, found: u64| {
            GenesisError::TimeWindowOutOfRange {
                window,
                min,
                max,
                found,
            }
        };
        if !(MIN_CLOCK_SKEW_MS..=MAX_CLOCK_SKEW_MS).contains(&self.clock_skew_ms) {
            return Err(out_of_range(
                "clock_skew_ms",
                MIN_CLOCK_SKEW_MS,
                MAX_CLOCK_SKEW_MS,
                self.clock_skew_ms,
            ));
        }
        for (window, days) in self.ages_by_name() {
            if !(1..=MAX_WINDOW_DAYS).contains(&days) {
                return Err(out_of_range(window, 1, MAX_WINDOW_DAYS.into(), days.into()));
            }
        }
        Ok(())
    }
}

impl Default for TimeWindows {
    fn default() -> Self {
        TimeWindows::DEFAULT
    }
}

/// The clock skew of a genesis that names none: five minutes.
pub const DEFAULT_CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;

/// The smallest clock skew a genesis may set. A node votes for a block timed up to its
/// block-time tolerance ahead of its own clock, and a node's tolerance is at most this (its
/// configuration is refused otherwise), so an honest client whose clock is as far ahead of the
/// block's proposer as consensus tolerates between validators still has its records accepted.
pub const MIN_CLOCK_SKEW_MS: u64 = 60 * 1000;

/// The largest clock skew a genesis may set: one hour. More would let records be dated after
/// events that have not happened yet.
pub const MAX_CLOCK_SKEW_MS: u64 = 60 * 60 * 1000;

/// The widest window in days a genesis may set: ten years and leap days.
pub const MAX_WINDOW_DAYS: u32 = 3_653;

const _: () = assert!(MIN_CLOCK_SKEW_MS <= DEFAULT_CLOCK_SKEW_MS);
const _: () = assert!(DEFAULT_CLOCK_SKEW_MS <= MAX_CLOCK_SKEW_MS);

/// How much each component of an enterprise's traceability score counts, in relative units:
/// a component's share of the score is its weight over the sum of the weights of the
/// components that apply to the enterprise. Whole numbers, so that every node of the
/// consortium computes the same score to the last digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreWeights {
    /// Optional fields that the SAMR content asks for, filled in.
    pub completeness: u32,
    /// Records committed soon after the event they report.
    pub timeliness: u32,
    /// Commissioned batches and items with a sale or shipment record.
    pub sale_coverage: u32,
    /// Inspections of the enterprise's products that found them conformant.
    pub inspection_outcomes: u32,
    /// Commissioned batches and items never recalled.
    pub recalls: u32,
    /// The enterprise's keys never revoked (a rotation is not a revocation).
    pub key_revocations: u32,
}

impl ScoreWeights {
    /// The weights of a genesis that names none: they sum to 100.
    pub const DEFAULT: ScoreWeights = ScoreWeights {
        completeness: 20,
        timeliness: 15,
        sale_coverage: 15,
        inspection_outcomes: 25,
        recalls: 15,
        key_revocations: 10,
    };

    /// Each weight by its component's name, in a fixed order.
    pub fn by_name(&self) -> [(&'static str, u32); 6] {
        [
            ("completeness", self.completeness),
            ("timeliness", self.timeliness),
            ("sale_coverage", self.sale_coverage),
            ("inspection_outcomes", self.inspection_outcomes),
            ("recalls", self.recalls),
            ("key_revocations", self.key_revocations),
        ]
    }

    /// Checks that no weight is over [`MAX_SCORE_WEIGHT`] and that at least one is not zero.
    pub fn check(&self) -> Result<(), GenesisError> {
        for (component, weight) in self.by_name() {
            if weight > MAX_SCORE_WEIGHT {
                return Err(GenesisError::ScoreWeightTooLarge {
                    component,
                    max: MAX_SCORE_WEIGHT,
                    found: weight,
                });
            }
        }
        if self.by_name().iter().all(|(_, weight)| *weight == 0) {
            return Err(GenesisError::ScoreWeightsAllZero);
        }
        Ok(())
    }
}

impl Default for ScoreWeights {
    fn default() -> Self {
        ScoreWeights::DEFAULT
    }
}

/// The largest score weight: weights are relative, and a bound keeps every product of a weight
/// and a score far inside `u64`.
pub const MAX_SCORE_WEIGHT: u32 = 10_000;

/// A validator node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Validator {
    /// Operator's name, e.g. "SAMR Hubei" or "China Electrical Equipment Industry Association".
    pub name: ShortText,
    /// Its consensus and network key.
    pub public_key: PublicKey,
    /// Where peers reach it, as a libp2p multiaddress (e.g. `/ip4/10.0.0.1/tcp/7100`).
    pub p2p_address: ShortText,
    /// Where clients reach its HTTP API, e.g. `https://node.example.org`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<ShortText>,
}

/// A registrar or regulator: a named key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// The organisation.
    pub name: ShortText,
    /// The key it signs with.
    pub public_key: PublicKey,
}

/// Why a genesis file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// The file is not valid genesis JSON.
    #[error("genesis is not valid: {0}")]
    Parse(String),
    /// The chain id is empty, too long or has other characters.
    #[error(
        "chain id must be 1 to {MAX_CHAIN_ID_BYTES} characters of A-Z a-z 0-9 - _ .; found {0:?}"
    )]
    ChainId(String),
    /// No validators.
    #[error("genesis names no validators")]
    NoValidators,
    /// Too many members in one role.
    #[error("genesis names {found} {role}; at most {max} allowed")]
    TooMany {
        /// Which list.
        role: &'static str,
        /// The bound.
        max: usize,
        /// How many were given.
        found: usize,
    },
    /// A score weight is over [`MAX_SCORE_WEIGHT`]. (A negative or fractional weight does not
    /// parse: weights are whole numbers.)
    #[error("score weight {component} is {found}; at most {max} allowed")]
    ScoreWeightTooLarge {
        /// The component.
        component: &'static str,
        /// The bound.
        max: u32,
        /// The weight given.
        found: u32,
    },
    /// A time window is outside the range a genesis may set.
    #[error("time window {window} is {found}; it must be {min} to {max}")]
    TimeWindowOutOfRange {
        /// The window's field.
        window: &'static str,
        /// The least allowed.
        min: u64,
        /// The most allowed.
        max: u64,
        /// The value given.
        found: u64,
    },
    /// Every score weight is zero, so no score could be computed.
    #[error("score weights are all zero; at least one must be positive")]
    ScoreWeightsAllZero,
    /// The catalogue repeats an entry or is too long.
    #[error("catalogue: {0}")]
    Catalogue(#[from] CatalogueError),
    /// A key appears twice in one list.
    #[error("key {key} appears twice among the {role}")]
    DuplicateKey {
        /// Which list.
        role: &'static str,
        /// The key.
        key: PublicKey,
    },
}

impl Genesis {
    /// Parses and checks a genesis file.
    pub fn from_json(bytes: &[u8]) -> Result<Genesis, GenesisError> {
        let genesis: Genesis =
            serde_json::from_slice(bytes).map_err(|e| GenesisError::Parse(e.to_string()))?;
        genesis.check()?;
        Ok(genesis)
    }

    /// Checks the rules a parsed genesis must meet.
    pub fn check(&self) -> Result<(), GenesisError> {
        let id = &self.chain_id;
        let id_ok = !id.is_empty()
            && id.len() <= MAX_CHAIN_ID_BYTES
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !id_ok {
            return Err(GenesisError::ChainId(id.clone()));
        }
        if self.validators.is_empty() {
            return Err(GenesisError::NoValidators);
        }
        let validator_keys: Vec<PublicKey> = self.validators.iter().map(|v| v.public_key).collect();
        check_keys("validators", &validator_keys)?;
        let registrar_keys: Vec<PublicKey> = self.registrars.iter().map(|m| m.public_key).collect();
        check_keys("registrars", &registrar_keys)?;
        let regulator_keys: Vec<PublicKey> = self.regulators.iter().map(|m| m.public_key).collect();
        check_keys("regulators", &regulator_keys)?;
        if let Some(windows) = &self.time_windows {
            windows.check()?;
        }
        if let Some(catalogue) = &self.catalogue {
            catalogue.check()?;
        }
        match &self.score_weights {
            Some(weights) => weights.check(),
            None => Ok(()),
        }
    }

    /// Whether an inspection body must name an accreditation on every inspection: the file's
    /// `accreditation_required`, else `false`. Without it, a body whose registrar has recorded
    /// no accreditation may inspect without naming one; `suyuan testnet init` writes `true`.
    pub fn accreditation_required(&self) -> bool {
        self.accreditation_required.unwrap_or(false)
    }

    /// The consortium's time windows: the file's, else [`TimeWindows::DEFAULT`].
    pub fn time_windows(&self) -> TimeWindows {
        self.time_windows.unwrap_or_default()
    }

    /// The consortium's catalogue of key products: the file's, else
    /// [`Catalogue::programme`]. A file without one keeps its hash, and its chain runs under the
    /// programme catalogue of this protocol version, which changes only on purpose; a
    /// consortium that wants its catalogue named in its genesis hash writes it in (`suyuan
    /// catalogue --json` prints the programme's).
    pub fn catalogue(&self) -> &Catalogue {
        self.catalogue
            .as_ref()
            .unwrap_or_else(|| Catalogue::programme())
    }

    /// The consortium's score weights: the file's, else [`ScoreWeights::DEFAULT`].
    pub fn score_weights(&self) -> ScoreWeights {
        self.score_weights.unwrap_or_default()
    }

    /// The canonical JSON encoding: what [`Genesis::hash`] covers and what tools write.
    pub fn to_canonical_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("genesis holds only strings, numbers and lists")
    }

    /// The genesis hash, which every block chain descends from and every proof names.
    pub fn hash(&self) -> Hash32 {
        hash_parts("suyuan genesis v1", &[&self.to_canonical_json()])
    }

    /// What every transaction of this consortium signs besides its payload: the chain id and
    /// this genesis's hash. Computing it hashes the genesis; keep it rather than call it per
    /// transaction.
    pub fn binding(&self) -> ChainBinding {
        ChainBinding::new(&self.chain_id, self.hash())
    }

    /// The number of faulty validators tolerated: f where n ≥ 3f + 1.
    pub fn max_faulty(&self) -> usize {
        (self.validators.len() - 1) / 3
    }

    /// Votes needed for a certificate: n − f, which is 2f + 1 when n = 3f + 1.
    pub fn quorum(&self) -> usize {
        self.validators.len() - self.max_faulty()
    }

    /// The registrar with this key, if any.
    pub fn registrar(&self, key: &PublicKey) -> Option<&Member> {
        self.registrars.iter().find(|m| &m.public_key == key)
    }

    /// The regulator with this key, if any.
    pub fn regulator(&self, key: &PublicKey) -> Option<&Member> {
        self.regulators.iter().find(|m| &m.public_key == key)
    }

    /// The validator with this key, if any, with its index in rotation order.
    pub fn validator(&self, key: &PublicKey) -> Option<(usize, &Validator)> {
        self.validators
            .iter()
            .enumerate()
            .find(|(_, v)| &v.public_key == key)
    }
}

fn check_keys(role: &'static str, keys: &[PublicKey]) -> Result<(), GenesisError> {
    if keys.len() > MAX_GENESIS_MEMBERS {
        return Err(GenesisError::TooMany {
            role,
            max: MAX_GENESIS_MEMBERS,
            found: keys.len(),
        });
    }
    let mut seen = BTreeSet::new();
    for key in keys {
        if !seen.insert(key) {
            return Err(GenesisError::DuplicateKey { role, key: *key });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::Demo;

    #[test]
    fn a_genesis_without_score_weights_keeps_its_encoding_and_hash() {
        let genesis = Demo::new(4, 7100).genesis;
        assert_eq!(genesis.score_weights, None);
        let json = genesis.to_canonical_json();
        assert!(!String::from_utf8_lossy(&json).contains("score_weights"));
        let parsed = Genesis::from_json(&json).unwrap();
        assert_eq!(parsed, genesis);
        assert_eq!(parsed.hash(), genesis.hash());
        assert_eq!(genesis.score_weights(), ScoreWeights::DEFAULT);
    }

    #[test]
    fn score_weights_round_trip_and_change_the_hash() {
        let plain = Demo::new(4, 7100).genesis;
        let weights = ScoreWeights {
            recalls: 40,
            ..ScoreWeights::DEFAULT
        };
        let weighted = Genesis {
            score_weights: Some(weights),
            ..plain.clone()
        };
        let parsed = Genesis::from_json(&weighted.to_canonical_json()).unwrap();
        assert_eq!(parsed.score_weights(), weights);
        assert_ne!(weighted.hash(), plain.hash());
        let defaults_named = Genesis {
            score_weights: Some(ScoreWeights::DEFAULT),
            ..plain.clone()
        };
        assert_ne!(
            defaults_named.hash(),
            plain.hash(),
            "naming the weights is a different file, even with the default values"
        );
    }

    #[test]
    fn bad_score_weights_are_refused_with_typed_errors() {
        let base = serde_json::to_value(Demo::new(4, 7100).genesis).unwrap();
        let with = |weights: serde_json::Value| {
            let mut json = base.clone();
            json["score_weights"] = weights;
            Genesis::from_json(json.to_string().as_bytes())
        };
        let all = |value: serde_json::Value| {
            serde_json::json!({
                "completeness": value, "timeliness": value, "sale_coverage": value,
                "inspection_outcomes": value, "recalls": value, "key_revocations": value
            })
        };
        assert_eq!(with(all(0.into())), Err(GenesisError::ScoreWeightsAllZero));
        let mut too_large = all(1.into());
        too_large["timeliness"] = (MAX_SCORE_WEIGHT + 1).into();
        assert_eq!(
            with(too_large),
            Err(GenesisError::ScoreWeightTooLarge {
                component: "timeliness",
                max: MAX_SCORE_WEIGHT,
                found: MAX_SCORE_WEIGHT + 1
            })
        );
        for bad in [
            serde_json::json!(-1),
            serde_json::json!(1.5),
            serde_json::json!("1"),
        ] {
            let mut weights = all(1.into());
            weights["recalls"] = bad.clone();
            assert!(
                matches!(with(weights), Err(GenesisError::Parse(_))),
                "{bad} is not a weight"
            );
        }
        let mut missing = all(1.into());
        missing.as_object_mut().unwrap().remove("recalls");
        assert!(matches!(with(missing), Err(GenesisError::Parse(_))));
        let mut unknown = all(1.into());
        unknown["popularity"] = 5.into();
        assert!(matches!(with(unknown), Err(GenesisError::Parse(_))));
        let mut one = all(0.into());
        one["recalls"] = 1.into();
        assert!(with(one).is_ok(), "one positive weight is enough");
    }

    #[test]
    fn accreditation_is_optional_when_absent_and_changes_the_hash_when_named() {
        let plain = Demo::new(4, 7100).genesis;
        assert_eq!(plain.accreditation_required, None);
        assert!(!plain.accreditation_required());
        let text = String::from_utf8_lossy(&plain.to_canonical_json()).into_owned();
        assert!(!text.contains("accreditation_required"));
        let strict = Genesis {
            accreditation_required: Some(true),
            ..plain.clone()
        };
        let parsed = Genesis::from_json(&strict.to_canonical_json()).unwrap();
        assert!(parsed.accreditation_required());
        assert_ne!(parsed.hash(), plain.hash());
    }

    #[test]
    fn time_windows_default_when_absent_and_change_the_hash_when_named() {
        let plain = Genesis {
            time_windows: None,
            ..Demo::new(4, 7100).genesis
        };
        assert_eq!(plain.time_windows(), TimeWindows::DEFAULT);
        assert!(!String::from_utf8_lossy(&plain.to_canonical_json()).contains("time_windows"));
        let windows = TimeWindows {
            sale_max_age_days: 7,
            ..TimeWindows::DEFAULT
        };
        let windowed = Genesis {
            time_windows: Some(windows),
            ..plain.clone()
        };
        let parsed = Genesis::from_json(&windowed.to_canonical_json()).unwrap();
        assert_eq!(parsed.time_windows(), windows);
        assert_ne!(parsed.hash(), plain.hash());
        let other = Genesis {
            time_windows: Some(TimeWindows {
                sale_max_age_days: 8,
                ..windows
            }),
            ..plain
        };
        assert_ne!(other.hash(), windowed.hash(), "every value is in the hash");
    }

    #[test]
    fn a_catalogue_defaults_to_the_programme_and_changes_the_hash_when_named() {
        let plain = Demo::new(4, 7100).genesis;
        assert_eq!(plain.catalogue, None);
        assert_eq!(plain.catalogue(), Catalogue::programme());
        assert!(!String::from_utf8_lossy(&plain.to_canonical_json()).contains("catalogue"));
        let mut own = Catalogue::programme().clone();
        own.require_category = false;
        own.categories.truncate(2);
        let named = Genesis {
            catalogue: Some(own.clone()),
            ..plain.clone()
        };
        let parsed = Genesis::from_json(&named.to_canonical_json()).unwrap();
        assert_eq!(parsed.catalogue(), &own);
        assert_ne!(parsed.hash(), plain.hash());
        let mut repeated = own;
        repeated.categories.push(repeated.categories[0].clone());
        let mut json = serde_json::to_value(&plain).unwrap();
        json["catalogue"] = serde_json::to_value(repeated).unwrap();
        assert!(matches!(
            Genesis::from_json(json.to_string().as_bytes()),
            Err(GenesisError::Catalogue(_))
        ));
    }

    #[test]
    fn time_windows_out_of_range_are_refused_with_typed_errors() {
        let base = serde_json::to_value(Demo::new(4, 7100).genesis).unwrap();
        let with = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut windows = serde_json::to_value(TimeWindows::DEFAULT).unwrap();
            edit(&mut windows);
            let mut json = base.clone();
            json["time_windows"] = windows;
            Genesis::from_json(json.to_string().as_bytes())
        };
        assert_eq!(
            with(&|w| w["clock_skew_ms"] = (MIN_CLOCK_SKEW_MS - 1).into()),
            Err(GenesisError::TimeWindowOutOfRange {
                window: "clock_skew_ms",
                min: MIN_CLOCK_SKEW_MS,
                max: MAX_CLOCK_SKEW_MS,
                found: MIN_CLOCK_SKEW_MS - 1,
            })
        );
        assert!(matches!(
            with(&|w| w["clock_skew_ms"] = (MAX_CLOCK_SKEW_MS + 1).into()),
            Err(GenesisError::TimeWindowOutOfRange {
                window: "clock_skew_ms",
                ..
            })
        ));
        for (window, _) in TimeWindows::DEFAULT.ages_by_name() {
            for bad in [0, MAX_WINDOW_DAYS + 1] {
                assert_eq!(
                    with(&|w| w[window] = bad.into()),
                    Err(GenesisError::TimeWindowOutOfRange {
                        window,
                        min: 1,
                        max: MAX_WINDOW_DAYS.into(),
                        found: bad.into(),
                    })
                );
            }
        }
        assert!(matches!(
            with(&|w| {
                w.as_object_mut().unwrap().remove("sale_max_age_days");
            }),
            Err(GenesisError::Parse(_))
        ));
        assert!(matches!(
            with(&|w| w["sale_max_age_days"] = (-1).into()),
            Err(GenesisError::Parse(_))
        ));
        assert!(with(&|_| {}).is_ok());
    }
}
