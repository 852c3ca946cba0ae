//! Encode committed blocks in bulk, exactly as stored, for auditors and mirrors: the body of
//! `GET /v1/blocks/raw`.
//!
//! ```text
//! Response := count:u32 RawBlock{count}
//! RawBlock := len:u32 Header  len:u32 Body  len:u32 Justification
//! ```
//!
//! `Header` and `Body` are the ledger's canonical encodings (`Header::to_bytes`,
//! `Body::to_bytes`: what the block hash and the header's body hash cover), and
//! `Justification` is the certificate bytes the node stored with the block
//! ([`suyuan_proofs::justification`]), passed on unchanged so that a reader checks exactly what the node
//! holds. One `RawBlock` is laid out as a block in the nodes' block sync. Integers are
//! big-endian. Blocks are consecutive from the height asked for.
//!
//! Nothing here is checked: the parts are handed over as bytes so that a reader can tell which
//! block, and which part of it, fails its checks.

use suyuan_ledger::block::Block;
use suyuan_ledger::codec::{DecodeError, Reader, Writer};
use suyuan_ledger::limits::{MAX_BLOCK_BODY_BYTES, MAX_HEADER_BYTES};
use suyuan_storage::MAX_JUSTIFICATION_BYTES;

/// The `Content-Type` of a raw blocks answer.
pub const RAW_BLOCKS_CONTENT_TYPE: &str = "application/vnd.suyuan.blocks";

/// Most blocks in one answer.
pub const MAX_RAW_BLOCKS: usize = 256;

/// An answer stops adding blocks once it holds this many bytes; a single larger block is still
/// sent, alone.
pub const RAW_RESPONSE_TARGET_BYTES: usize = 8 * 1024 * 1024;

/// Largest answer a reader need accept: the byte target plus one block of the largest size.
pub const MAX_RAW_RESPONSE_BYTES: usize = RAW_RESPONSE_TARGET_BYTES
    + MAX_HEADER_BYTES
    + MAX_BLOCK_BODY_BYTES
    + MAX_JUSTIFICATION_BYTES
    + 64;

/// One committed block's parts, as bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBlock {
    /// `Header::to_bytes`.
    pub header: Vec<u8>,
    /// `Body::to_bytes`.
    pub body: Vec<u8>,
    /// The justification bytes stored with the block.
    pub justification: Vec<u8>,
}

impl RawBlock {
    /// The parts of `block`, with the justification bytes stored beside it.
    pub fn of(block: &Block, justification: Vec<u8>) -> RawBlock {
        RawBlock {
            header: block.header.to_bytes(),
            body: block.body.to_bytes(),
            justification,
        }
    }

    /// Bytes this block takes in an answer.
    pub fn encoded_len(&self) -> usize {
        12 + self.header.len() + self.body.len() + self.justification.len()
    }

    fn write(&self, writer: &mut Writer) {
        writer
            .bytes(&self.header)
            .bytes(&self.body)
            .bytes(&self.justification);
    }

    fn read(reader: &mut Reader<'_>) -> Result<RawBlock, DecodeError> {
        Ok(RawBlock {
            header: reader.bytes(MAX_HEADER_BYTES, "header")?.to_vec(),
            body: reader.bytes(MAX_BLOCK_BODY_BYTES, "body")?.to_vec(),
            justification: reader
                .bytes(MAX_JUSTIFICATION_BYTES, "justification")?
                .to_vec(),
        })
    }
}

/// The answer holding `blocks`, in order.
pub fn encode_blocks(blocks: &[RawBlock]) -> Vec<u8> {
    let mut writer = Writer::new();
    // The handler sends at most MAX_RAW_BLOCKS blocks.
    writer.u32(blocks.len() as u32);
    for block in blocks {
        block.write(&mut writer);
    }
    writer.finish()
}

/// Decodes an answer: at most [`MAX_RAW_BLOCKS`] blocks within [`MAX_RAW_RESPONSE_BYTES`], each
/// part within its bound, nothing after the last.
pub fn decode_blocks(bytes: &[u8]) -> Result<Vec<RawBlock>, DecodeError> {
    if bytes.len() > MAX_RAW_RESPONSE_BYTES {
        return Err(DecodeError::TooLong {
            field: "raw blocks",
            max: MAX_RAW_RESPONSE_BYTES,
            found: bytes.len(),
        });
    }
    let mut reader = Reader::new(bytes);
    let count = reader.u32("block count")? as usize;
    if count > MAX_RAW_BLOCKS {
        return Err(DecodeError::TooLong {
            field: "block count",
            max: MAX_RAW_BLOCKS,
            found: count,
        });
    }
    let blocks = (0..count)
        .map(|_| RawBlock::read(&mut reader))
        .collect::<Result<Vec<_>, _>>()?;
    reader.finish()?;
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seed: u8) -> RawBlock {
        RawBlock {
            header: vec![seed; 40],
            body: vec![seed; 7],
            justification: vec![seed; 3],
        }
    }

    #[test]
    fn answers_round_trip_and_refuse_what_is_out_of_bounds() {
        let blocks = vec![sample(1), sample(2)];
        let bytes = encode_blocks(&blocks);
        assert_eq!(
            bytes.len(),
            4 + blocks.iter().map(RawBlock::encoded_len).sum::<usize>()
        );
        assert_eq!(decode_blocks(&bytes).unwrap(), blocks);
        assert_eq!(decode_blocks(&encode_blocks(&[])).unwrap(), Vec::new());
        for cut in [0, 3, 10, bytes.len() - 1] {
            assert!(decode_blocks(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(
            decode_blocks(&trailing),
            Err(DecodeError::TrailingBytes { count: 1 })
        ));
        let too_many = (MAX_RAW_BLOCKS as u32 + 1).to_be_bytes();
        assert!(matches!(
            decode_blocks(&too_many),
            Err(DecodeError::TooLong {
                field: "block count",
                ..
            })
        ));
        let mut long_header = Writer::new();
        long_header.u32(1).bytes(&vec![0; MAX_HEADER_BYTES + 1]);
        assert!(matches!(
            decode_blocks(&long_header.finish()),
            Err(DecodeError::TooLong {
                field: "header",
                ..
            })
        ));
    }
}
