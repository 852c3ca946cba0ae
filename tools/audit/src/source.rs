//! Read a chain to audit, block by block: from a stopped node's data directory, or from a
//! node's API.
//!
//! A source hands over each block's header, body and justification bytes separately, each one
//! either read or the reason it could not be, so that a corrupt part becomes a finding that
//! names its height instead of ending the audit. Only failing to reach the source at all (no
//! database, a node that does not answer) is an error.

use std::path::Path;

use anyhow::{Context as _, bail};
use suyuan_api::raw::{MAX_RAW_BLOCKS, RawBlock};
use suyuan_ledger::block::{Body, Header};
use suyuan_ledger::genesis::Genesis;
use suyuan_storage::{StorageError, Store};

use suyuan_client::{ApiClient, ClientError};

/// One block as a source delivered it: each part, or why it could not be read.
#[derive(Debug, Clone)]
pub(crate) struct Delivered {
    /// The height asked for.
    pub(crate) height: u64,
    /// The header.
    pub(crate) header: Result<Header, String>,
    /// The body.
    pub(crate) body: Result<Body, String>,
    /// The justification bytes stored with the block.
    pub(crate) justification: Result<Vec<u8>, String>,
}

impl Delivered {
    /// A block of which nothing could be read, for `reason`.
    fn unreadable(height: u64, reason: String) -> Delivered {
        Delivered {
            height,
            header: Err(reason.clone()),
            body: Err(reason.clone()),
            justification: Err(reason),
        }
    }

    /// A block from its bytes as an API served them; a part that does not decode is
    /// unreadable.
    fn decode(height: u64, raw: RawBlock) -> Delivered {
        Delivered {
            height,
            header: Header::from_bytes(&raw.header)
                .map_err(|error| format!("the served header does not decode: {error}")),
            body: Body::from_bytes(&raw.body)
                .map_err(|error| format!("the served body does not decode: {error}")),
            justification: Ok(raw.justification),
        }
    }
}

/// Where an audit reads a chain from. Shared between the thread that reads blocks ahead and the
/// one that replays them.
pub(crate) trait Source: Sync {
    /// The data directory or URL, for findings.
    fn name(&self) -> &str;

    /// The height of the source's head now.
    fn head(&self) -> anyhow::Result<u64>;

    /// Consecutive blocks from `from`, at most up to `to`: at least one when `from <= to`,
    /// unless the source has none to give (a node that stopped serving).
    fn blocks(&self, from: u64, to: u64) -> anyhow::Result<Vec<Delivered>>;

    /// The store under the source, when the audit reads one directly: its stored trees and
    /// state are then compared with the replay.
    fn store(&self) -> Option<&Store>;
}

/// A stopped node's data directory.
pub(crate) struct DataDir {
    name: String,
    store: Store,
}

/// Blocks a data directory source reads per call.
const DATA_DIR_BATCH: u64 = 64;

impl DataDir {
    /// Opens the database in `dir` for `genesis`'s chain. Refuses a directory that holds no
    /// database (rather than creating one), and says what to do when a running node holds it.
    pub(crate) fn open(dir: &Path, genesis: &Genesis) -> anyhow::Result<DataDir> {
        if !dir.join("CURRENT").is_file() {
            bail!(
                "{} holds no node database (no RocksDB CURRENT file): give the data_dir of a \
                 node's configuration",
                dir.display()
            );
        }
        let store = Store::open(dir, genesis).map_err(|error| match error {
            StorageError::Backend { ref message, .. } if message.contains("lock") => {
                anyhow::anyhow!(
                    "{}: {error}; is the node still running? Stop it first, or audit it through \
                     its API with --api",
                    dir.display()
                )
            }
            other => anyhow::Error::new(other).context(format!("opening {}", dir.display())),
        })?;
        Ok(DataDir {
            name: dir.display().to_string(),
            store,
        })
    }

    fn read(&self, height: u64) -> Delivered {
        let missing = || format!("missing below the head {}", self.store.head().height);
        let header = match self.store.header(height) {
            Ok(Some(header)) => Ok(header),
            Ok(None) => Err(missing()),
            Err(error) => Err(error.to_string()),
        };
        let body = match &header {
            Ok(_) => match self.store.block(height) {
                Ok(Some(block)) => Ok(block.body),
                Ok(None) => Err(missing()),
                Err(error) => Err(error.to_string()),
            },
            Err(reason) => Err(reason.clone()),
        };
        let justification = match self.store.justification(height) {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(format!("no certificate stored for block {height}")),
            Err(error) => Err(error.to_string()),
        };
        Delivered {
            height,
            header,
            body,
            justification,
        }
    }
}

impl Source for DataDir {
    fn name(&self) -> &str {
        &self.name
    }

    fn head(&self) -> anyhow::Result<u64> {
        Ok(self.store.head().height)
    }

    fn blocks(&self, from: u64, to: u64) -> anyhow::Result<Vec<Delivered>> {
        let last = to.min(from.saturating_add(DATA_DIR_BATCH - 1));
        Ok((from..=last).map(|height| self.read(height)).collect())
    }

    fn store(&self) -> Option<&Store> {
        Some(&self.store)
    }
}

/// A node's API, read through `GET /v1/blocks/raw`.
pub(crate) struct Remote {
    name: String,
    client: ApiClient,
    runtime: tokio::runtime::Runtime,
}

impl Remote {
    /// A source reading the API at `url`.
    pub(crate) fn new(url: &str) -> anyhow::Result<Remote> {
        let client = ApiClient::new(url)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        Ok(Remote {
            name: client.base_url().to_string(),
            client,
            runtime,
        })
    }
}

impl Source for Remote {
    fn name(&self) -> &str {
        &self.name
    }

    fn head(&self) -> anyhow::Result<u64> {
        match self.runtime.block_on(self.client.latest_block()) {
            Ok(block) => Ok(block.height),
            Err(error) if error.is_not_found() => Ok(0),
            Err(error) => Err(error).with_context(|| format!("reading {}'s head", self.name)),
        }
    }

    fn blocks(&self, from: u64, to: u64) -> anyhow::Result<Vec<Delivered>> {
        let limit = to
            .saturating_sub(from)
            .saturating_add(1)
            .min(MAX_RAW_BLOCKS as u64) as usize;
        match self.runtime.block_on(self.client.raw_blocks(from, limit)) {
            Ok(blocks) => Ok(blocks
                .into_iter()
                .zip(from..)
                .map(|(raw, height)| Delivered::decode(height, raw))
                .collect()),
            // The node answered, for exactly this block: what it holds cannot be read.
            Err(ClientError::Refused { body, .. }) if body.code == "storage_error" => {
                Ok(vec![Delivered::unreadable(
                    from,
                    format!("the node cannot read it: {}", body.message),
                )])
            }
            Err(error) => {
                Err(error).with_context(|| format!("reading blocks from {} of {}", from, self.name))
            }
        }
    }

    fn store(&self) -> Option<&Store> {
        None
    }
}
