//! What the node's integration tests share: temporary directories, a validator's
//! configuration on loopback ports, and signed transactions to fill blocks with.

#![allow(dead_code, reason = "each test binary uses what it needs of these")]

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use suyuan_ledger::demo::{Demo, who};
use suyuan_ledger::record::{Items, Record, TraceCode};
use suyuan_ledger::tx::{Envelope, Payload};
use suyuan_node::config::{
    ApiSection, BlockSection, Config, ConsensusSection, LogSection, NodeSection, P2pSection,
};
use suyuan_node::mempool::MempoolLimits;

/// The address in-process submissions come from, as if from a client on the same host.
pub(crate) const LOCAL_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

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
            max_execution_ms: 300,
            ..BlockSection::default()
        },
        log: LogSection::default(),
    }
}

/// `count` commissioning records by the demo's cable maker, each of its own lot, signed.
pub(crate) fn commissions(demo: &Demo, count: usize) -> Vec<Envelope> {
    let chain = &demo.genesis.binding();
    let template = demo
        .story()
        .concat()
        .into_iter()
        .find_map(
            |envelope| match Payload::parse(&envelope.payload).unwrap().record {
                Record::Commission(commission)
                    if commission.model_code == Demo::cable_gtin().into() =>
                {
                    Some(commission)
                }
                _ => None,
            },
        )
        .expect("the story commissions a cable lot");
    let key = &demo.enterprises[who::CABLE_MAKER].key;
    (0..count)
        .map(|index| {
            let mut commission = template.clone();
            commission.items = Items::Batch {
                code: TraceCode::Lot {
                    gtin: Demo::cable_gtin(),
                    lot: format!("R{index}").parse().unwrap(),
                },
                quantity: 10,
            };
            let payload = Payload {
                nonce: 1_000_000 + index as u64,
                record: Record::Commission(commission),
                event: None,
            };
            Envelope::sign(chain, &payload, key)
        })
        .collect()
}
