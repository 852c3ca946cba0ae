//! Name the values consensus orders: views, heights, digests, chain ids, blocks and time.

use std::fmt;

/// A view (round) number. View 0 belongs to genesis; the protocol runs views 1, 2, 3, ...
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct View(pub u64);

impl View {
    /// The view of the genesis block.
    pub const GENESIS: View = View(0);

    /// The view after this one (saturating: the protocol never gets near `u64::MAX`).
    pub fn next(self) -> View {
        View(self.0.saturating_add(1))
    }
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// A block height: genesis is 0, every block is its parent's height plus one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Height(pub u64);

/// A point in time in milliseconds, on whatever clock the driver uses. Consensus never reads a
/// clock: the driver passes `now` with every input and gets deadlines back as [`Time`] values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub u64);

impl Time {
    /// `self` plus `ms` milliseconds (saturating).
    pub fn plus_ms(self, ms: u64) -> Time {
        Time(self.0.saturating_add(ms))
    }
}

/// The opaque 32-byte digest the application computes for a block. Consensus never looks inside.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(pub [u8; 32]);

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0[..6] {
            write!(f, "{b:02x}")?;
        }
        f.write_str("..")
    }
}

/// The chain id every vote names, so that a vote for one chain is worthless on another.
/// Derive it from the genesis file (for example its BLAKE3 hash).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChainId(pub [u8; 32]);

impl ChainId {
    /// A chain id derived from a human-readable name (BLAKE3 in key-derivation mode).
    pub fn from_name(name: &str) -> ChainId {
        ChainId(blake3::derive_key(
            "suyuan consensus chain id v1",
            name.as_bytes(),
        ))
    }
}

/// The position of a validator in the genesis validator list; leaders rotate over it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ValidatorIndex(pub u16);

impl fmt::Display for ValidatorIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Why a [`Block`] could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidBlock {
    /// Only genesis may sit at view 0 or height 0.
    #[error("a block after genesis needs view >= 1 and height >= 1")]
    ZeroViewOrHeight,
    /// A block's parent must come from an earlier view.
    #[error("parent view {parent_view} is not before block view {view}")]
    ParentNotEarlier {
        /// The block's view.
        view: View,
        /// The claimed parent view.
        parent_view: View,
    },
}

/// What consensus knows of a block: its digest and where it hangs in the chain.
///
/// The application computes the digest over the block's contents (which should include the
/// parent digest and height); consensus signs all five fields, so a certificate binds the parent
/// link even if the application's digest did not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Block {
    view: View,
    height: Height,
    parent_view: View,
    parent: Digest,
    digest: Digest,
}

impl Block {
    /// A non-genesis block: `view >= 1`, `height >= 1`, `parent_view < view`.
    pub fn new(
        view: View,
        height: Height,
        parent_view: View,
        parent: Digest,
        digest: Digest,
    ) -> Result<Block, InvalidBlock> {
        if view.0 == 0 || height.0 == 0 {
            return Err(InvalidBlock::ZeroViewOrHeight);
        }
        if parent_view >= view {
            return Err(InvalidBlock::ParentNotEarlier { view, parent_view });
        }
        Ok(Block {
            view,
            height,
            parent_view,
            parent,
            digest,
        })
    }

    /// The genesis block: view 0, height 0, with the digest the genesis file fixes.
    pub fn genesis(digest: Digest) -> Block {
        Block {
            view: View::GENESIS,
            height: Height(0),
            parent_view: View::GENESIS,
            parent: Digest::default(),
            digest,
        }
    }

    /// The child of `self` proposed in `view` with `digest` (`None` if `view` is not later).
    pub fn child(&self, view: View, digest: Digest) -> Option<Block> {
        Block::new(
            view,
            Height(self.height.0.checked_add(1)?),
            self.view,
            self.digest,
            digest,
        )
        .ok()
    }

    /// The view the block was proposed in.
    pub fn view(&self) -> View {
        self.view
    }

    /// The block's height.
    pub fn height(&self) -> Height {
        self.height
    }

    /// The view of the parent block.
    pub fn parent_view(&self) -> View {
        self.parent_view
    }

    /// The digest of the parent block.
    pub fn parent(&self) -> Digest {
        self.parent
    }

    /// The block's digest.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// Whether `self` is the genesis block (view 0).
    pub fn is_genesis(&self) -> bool {
        self.view == View::GENESIS
    }
}
