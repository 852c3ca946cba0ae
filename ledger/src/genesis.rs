//! Define a consortium: its chain id, validators, registrars and regulators.
//!
//! The genesis file is the one thing every participant must agree on out of band. It is JSON;
//! its hash ([`Genesis::hash`]) is taken over a canonical re-encoding, so that formatting does
//! not matter but every value does. Anyone holding it can check certificates and proofs without
//! trusting a node.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::crypto::PublicKey;
use crate::hash::{Hash32, hash_parts};
use crate::limits::{MAX_CHAIN_ID_BYTES, MAX_GENESIS_MEMBERS};
use crate::text::ShortText;

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
}

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
        check_keys("regulators", &regulator_keys)
    }

    /// The canonical JSON encoding: what [`Genesis::hash`] covers and what tools write.
    pub fn to_canonical_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("genesis holds only strings, numbers and lists")
    }

    /// The genesis hash, which every block chain descends from and every proof names.
    pub fn hash(&self) -> Hash32 {
        hash_parts("suyuan genesis v1", &[&self.to_canonical_json()])
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
