//! Write the files a local testnet needs: keys, a genesis naming them, and one configuration
//! per validator.
//!
//! The layout, which `testnet/*.sh` and the multi-process tests rely on:
//!
//! ```text
//! D/genesis.json
//! D/validator-<i>/validator.key    (mode 0600)
//! D/validator-<i>/config.toml      (data in D/validator-<i>/data)
//! D/keys/bureau.key                (registrar and regulator)
//! D/keys/association.key           (registrar)
//! ```
//!
//! Validator `i` listens on 127.0.0.1 at the first p2p port plus `i` and the first API port
//! plus `i`. Nothing is written unless every file can be: the options are checked and every
//! target path is checked to be free first, and `genesis.json`, written last, marks a complete
//! testnet.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, ensure};
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::genesis::{Genesis, Member, Validator};

use suyuan_node::config::Config;
use suyuan_node::keyfile;

/// What `suyuan testnet init` writes.
pub(crate) struct InitOptions {
    /// Where to write.
    pub(crate) dir: PathBuf,
    /// How many validators.
    pub(crate) validators: usize,
    /// The chain id.
    pub(crate) chain_id: String,
    /// The first validator's p2p port; the others follow.
    pub(crate) first_p2p_port: u16,
    /// The first validator's API port; the others follow.
    pub(crate) first_api_port: u16,
    /// Genesis time, Unix milliseconds.
    pub(crate) genesis_time_ms: u64,
}

/// Most validators a local testnet may have: the machine has to run all of them.
pub(crate) const MAX_LOCAL_VALIDATORS: usize = 64;

/// Generates fresh keys and writes `genesis.json`, one key and one configuration per validator,
/// a registrar and regulator key (one bureau, which is both) and an association registrar key.
pub(crate) fn init(options: &InitOptions) -> anyhow::Result<Genesis> {
    ensure!(
        (1..=MAX_LOCAL_VALIDATORS).contains(&options.validators),
        "--validators must be 1 to {MAX_LOCAL_VALIDATORS}"
    );
    let p2p_ports = port_range("--p2p-port", options.first_p2p_port, options.validators)?;
    let api_ports = port_range("--api-port", options.first_api_port, options.validators)?;
    ensure!(
        p2p_ports.end() < api_ports.start() || api_ports.end() < p2p_ports.start(),
        "the p2p ports {}-{} and the API ports {}-{} overlap",
        p2p_ports.start(),
        p2p_ports.end(),
        api_ports.start(),
        api_ports.end()
    );
    let dir = &options.dir;
    for path in written_paths(dir, options.validators) {
        ensure!(
            !path.exists(),
            "{} exists already: pick an empty --dir",
            path.display()
        );
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;

    let mut validators = Vec::new();
    for (index, (p2p_port, api_port)) in p2p_ports.zip(api_ports).enumerate() {
        let key = KeyPair::generate();
        keyfile::write(&validator_key_path(dir, index), &key)?;
        let config = Config::local(p2p_port, api_port);
        write_new(&config_path(dir, index), config.to_toml().as_bytes())?;
        validators.push(Validator {
            name: format!("validator-{index}").parse()?,
            public_key: key.public(),
            p2p_address: config.p2p.listen.parse()?,
            api_url: Some(format!("http://{}", config.api.listen).parse()?),
        });
    }
    let bureau = KeyPair::generate();
    let association = KeyPair::generate();
    keyfile::write(&bureau_key_path(dir), &bureau)?;
    keyfile::write(&association_key_path(dir), &association)?;
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
        score_weights: None,
        time_windows: None,
        catalogue: None,
        // A new consortium has no chain written before profiles carried accreditations.
        accreditation_required: Some(true),
    };
    genesis.check()?;
    let mut text = serde_json::to_string_pretty(&genesis)?;
    text.push('\n');
    write_new(&genesis_path(dir), text.as_bytes())?;
    Ok(genesis)
}

/// The ports `first`, `first + 1`, … for `count` (at least one) validators; all must be valid.
fn port_range(flag: &str, first: u16, count: usize) -> anyhow::Result<RangeInclusive<u16>> {
    ensure!(first != 0, "{flag} must not be 0");
    let last = u16::try_from(count - 1)
        .ok()
        .and_then(|others| first.checked_add(others))
        .with_context(|| format!("{flag} {first} with {count} validators runs past port 65535"))?;
    Ok(first..=last)
}

/// Every file `init` writes, so that it can refuse before writing any of them.
fn written_paths(dir: &Path, validators: usize) -> Vec<PathBuf> {
    let mut paths = vec![
        genesis_path(dir),
        bureau_key_path(dir),
        association_key_path(dir),
    ];
    for index in 0..validators {
        paths.push(validator_key_path(dir, index));
        paths.push(config_path(dir, index));
    }
    paths
}

/// Writes a new file (refusing to replace one) and syncs it.
fn write_new(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

/// Where the genesis file goes.
pub(crate) fn genesis_path(dir: &Path) -> PathBuf {
    dir.join("genesis.json")
}

/// Where validator `index`'s key goes.
pub(crate) fn validator_key_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("validator-{index}/validator.key"))
}

/// Where validator `index`'s configuration goes.
pub(crate) fn config_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("validator-{index}/config.toml"))
}

/// Where the bureau's key (a registrar and regulator) goes.
pub(crate) fn bureau_key_path(dir: &Path) -> PathBuf {
    dir.join("keys/bureau.key")
}

/// Where the association's key (a registrar) goes.
pub(crate) fn association_key_path(dir: &Path) -> PathBuf {
    dir.join("keys/association.key")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh, empty directory for one test.
    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("suyuan-testnet-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn options(dir: &Path, validators: usize, p2p: u16, api: u16) -> InitOptions {
        InitOptions {
            dir: dir.to_path_buf(),
            validators,
            chain_id: "suyuan-test".into(),
            first_p2p_port: p2p,
            first_api_port: api,
            genesis_time_ms: 1_767_225_600_000,
        }
    }

    #[test]
    fn configs_load_back_with_ports_and_paths_of_each_validator() {
        let dir = temp_dir("configs");
        let genesis = init(&options(&dir, 3, 17_100, 18_100)).unwrap();
        assert_eq!(genesis.validators.len(), 3);
        for (index, validator) in genesis.validators.iter().enumerate() {
            let path = config_path(&dir, index);
            let config = Config::load(&path, std::iter::empty()).unwrap();
            let p2p = format!("/ip4/127.0.0.1/tcp/{}", 17_100 + index);
            let api = format!("127.0.0.1:{}", 18_100 + index);
            assert_eq!(config.p2p.listen, p2p);
            assert_eq!(config.api.listen, api);
            assert_eq!(validator.p2p_address.to_string(), p2p);
            let api_url = validator.api_url.as_ref().map(ToString::to_string);
            assert_eq!(api_url, Some(format!("http://{api}")));

            let node_dir = dir.join(format!("validator-{index}"));
            assert_eq!(config.node.data_dir, node_dir.join("data"));
            assert_eq!(config.node.key, validator_key_path(&dir, index));
            assert_eq!(
                fs::canonicalize(&config.node.genesis).unwrap(),
                fs::canonicalize(genesis_path(&dir)).unwrap()
            );
            let key = keyfile::read(&config.node.key).unwrap();
            assert_eq!(key.public(), validator.public_key);
            // Everything but the local parts is the node's default.
            let mut expected = Config::local(17_100 + index as u16, 18_100 + index as u16);
            expected.node = config.node.clone();
            assert_eq!(config, expected);
        }
        let written = fs::read(genesis_path(&dir)).unwrap();
        assert_eq!(Genesis::from_json(&written).unwrap(), genesis);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_ports_are_refused_and_nothing_is_written() {
        let dir = temp_dir("bad-ports");
        for (validators, p2p, api, expected) in [
            (4, 65_534, 8_100, "runs past port 65535"),
            (4, 7_100, 7_102, "overlap"),
            (4, 8_103, 8_100, "overlap"),
            (1, 0, 8_100, "must not be 0"),
            (0, 7_100, 8_100, "--validators"),
            (MAX_LOCAL_VALIDATORS + 1, 7_100, 8_100, "--validators"),
        ] {
            let error = init(&options(&dir, validators, p2p, api)).unwrap_err();
            assert!(error.to_string().contains(expected), "{error:#}");
            assert!(!dir.exists(), "a refused init created {}", dir.display());
        }
        // The last ports fit exactly.
        init(&options(&dir, 2, 65_534, 8_100)).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_partly_occupied_dir_is_refused_before_writing() {
        let dir = temp_dir("occupied");
        let config = config_path(&dir, 2);
        fs::create_dir_all(config.parent().unwrap()).unwrap();
        fs::write(&config, "mine").unwrap();
        let error = init(&options(&dir, 4, 7_100, 8_100)).unwrap_err();
        assert!(error.to_string().contains("config.toml"), "{error:#}");
        assert!(!validator_key_path(&dir, 0).exists());
        assert!(!genesis_path(&dir).exists());
        assert_eq!(fs::read_to_string(&config).unwrap(), "mine");
        fs::remove_dir_all(&dir).unwrap();
    }
}
