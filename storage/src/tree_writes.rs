//! Say which nodes of the two proof trees a block adds: what the node computes and
//! [`Store::commit_block`](crate::Store::commit_block) writes in the
//! block's own batch.

use std::collections::BTreeMap;

use suyuan_ledger::merkle::log::LogNode;
use suyuan_ledger::merkle::map::{MapNode, NodePosition};
use suyuan_ledger::trees::BlockTrees;

/// One block's nodes of the two trees, as the node computed them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeWrites {
    /// Every perfect log node the block's leaves complete, in the order
    /// `Frontier::append` pushed them (each leaf, then the parents it completes).
    pub log_nodes: Vec<LogNode>,
    /// Every map node the block's version writes (`MapUpdate::nodes` of version = height).
    pub map_nodes: BTreeMap<NodePosition, MapNode>,
}

impl TreeWrites {
    /// A block that grows neither tree.
    pub fn none() -> Self {
        Self::default()
    }

    /// Leaves appended to the log: the level-0 nodes.
    pub fn leaves(&self) -> u64 {
        self.log_nodes
            .iter()
            .filter(|node| node.id.level == 0)
            .count() as u64
    }
}

impl From<&BlockTrees> for TreeWrites {
    fn from(trees: &BlockTrees) -> Self {
        TreeWrites {
            log_nodes: trees.log_nodes.clone(),
            map_nodes: trees.map.nodes.clone(),
        }
    }
}
