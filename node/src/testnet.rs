//! Write the files a local testnet needs: keys, and a genesis naming them.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, ensure};
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::genesis::{Genesis, Member, Validator};

use crate::keyfile;

/// What `suyuan testnet init` writes.
pub(crate) struct InitOptions {
    /// Where to write.
    pub(crate) dir: PathBuf,
    /// How many validators.
    pub(crate) validators: usize,
    /// The chain id.
    pub(crate) chain_id: String,
    /// The first validator's p2p port; the others follow.
    pub first_p2p_port: u16,
    /// The first validator's API port; the others follow.
    pub(crate) first_api_port: u16,
    /// Genesis time, Unix milliseconds.
    pub(crate) genesis_time_ms: u64,
}

/// Most validators a local testnet may have: the machine has to run all of them.
pub(crate) const MAX_LOCAL_VALIDATORS: usize = 64;

/// Generates fresh keys and writes `genesis.json`, one key per validator, a registrar and
/// regulator key (one bureau, which is both) and an association registrar key.
pub(crate) fn init(options: &InitOptions) -> anyhow::Result<Genesis> {
    ensure!(
        (1..=MAX_LOCAL_VALIDATORS).contains(&options.validators),
        "--validators must be 1 to {MAX_LOCAL_VALIDATORS}"
    );
    let genesis_path = options.dir.join("genesis.json");
    ensure!(
        !genesis_path.exists(),
        "{} exists already: pick an empty --dir",
        genesis_path.display()
    );
    fs::create_dir_all(&options.dir)
        .with_context(|| format!("creating {}", options.dir.display()))?;
    let mut validators = Vec::new();
    for index in 0..options.validators {
        let key = KeyPair::generate();
        keyfile::write(&validator_key_path(&options.dir, index), &key)?;
        let p2p_port = u32::from(options.first_p2p_port) + index as u32;
        let api_port = u32::from(options.first_api_port) + index as u32;
        validators.push(Validator {
            name: format!("validator-{index}").parse()?,
            public_key: key.public(),
            p2p_address: format!("/ip4/127.0.0.1/tcp/{p2p_port}").parse()?,
            api_url: Some(format!("http://127.0.0.1:{api_port}").parse()?),
        });
    }
    let bureau = KeyPair::generate();
    let association = KeyPair::generate();
    keyfile::write(&options.dir.join("keys/bureau.key"), &bureau)?;
    keyfile::write(&options.dir.join("keys/association.key"), &association)?;
    let bureau_member = Member {
        name: "Market regulation bureau (testnet)".parse()?,
        public_key: bureau.public(),
    };
    let genesis = Genesis {
        chain_id: options.chain_id.clone(),
        genesis_time_ms: options.genesis_time_ms,
        validators,
        registrars: vec![
            bureau_member.clone(),
            Member {
                name: "Industry association (testnet)".parse()?,
                public_key: association.public(),
            },
        ],
        regulators: vec![bureau_member],
    };
    genesis.check()?;
    let mut text = serde_json::to_string_pretty(&genesis)?;
    text.push('\n');
    fs::write(&genesis_path, text)?;
    Ok(genesis)
}

/// Where validator `index`'s key goes.
pub(crate) fn validator_key_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("validator-{index}/validator.key"))
}
