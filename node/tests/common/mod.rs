//! What the node's integration tests share: temporary directories and a validator's
//! configuration on loopback ports.

#![allow(dead_code, reason = "each test binary uses what it needs of these")]

use std::path::{Path, PathBuf};

use suyuan_node::config::{
    ApiSection, BlockSection, Config, ConsensusSection, LogSection, NodeSection, P2pSection,
};
use suyuan_node::mempool::MempoolLimits;

/// A new empty directory for the test `name`, removed first if an earlier run left it.
pub(crate) fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("suyuan-node-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Validator `index`'s configuration under `dir`: p2p and API on loopback at `p2p + index` and
/// `api + index`, short consensus timeouts and block intervals for tests.
pub(crate) fn config(dir: &Path, index: usize, p2p: u16, api: u16) -> Config {
    Config {
        node: NodeSection {
            data_dir: dir.join(format!("validator-{index}")),
            genesis: dir.join("unused-genesis.json"),
            key: dir.join("unused.key"),
        },
        p2p: P2pSection {
            listen: format!("/ip4/127.0.0.1/tcp/{}", usize::from(p2p) + index),
        },
        api: ApiSection::listening_on(format!("127.0.0.1:{}", usize::from(api) + index)),
        consensus: ConsensusSection {
            leader_timeout_ms: 1_000,
            view_timeout_ms: 1_500,
        },
        mempool: MempoolLimits::default(),
        block: BlockSection {
            interval_ms: 50,
            idle_interval_ms: 300,
            ..BlockSection::default()
        },
        log: LogSection::default(),
    }
}
