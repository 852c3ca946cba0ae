//! Encode what the node puts on the wire and beside each block in storage.
//!
//! The network moves opaque bytes; this module gives them their shape:
//!
//! - [`Frame`]: one message on the direct consensus channel: a consensus [`Message`], or a
//!   leader's full block proposal (header and body), sent before its notarize vote;
//! - [`Justification`] (defined in [`suyuan_proofs::justification`]): the bytes stored beside
//!   a block and sent with it in block sync;
//! - [`SyncedBlock`]: one finalized block in a block-sync response: header, body and
//!   justification;
//! - [`encode_batch`]/[`decode_batch`]: a gossip message, a batch of transaction envelopes.
//!
//! Every decoder is bounded and refuses trailing bytes, so a peer's bytes either decode to
//! exactly one value or to a typed [`DecodeError`].

use suyuan_consensus::Message;
use suyuan_consensus::limits::MAX_MESSAGE_BYTES;
use suyuan_ledger::block::{Block, Body, Header};
use suyuan_ledger::codec::{DecodeError, Reader, Writer};
use suyuan_ledger::limits::{MAX_BLOCK_BODY_BYTES, MAX_ENVELOPE_BYTES, MAX_HEADER_BYTES};
use suyuan_ledger::tx::Envelope;
use suyuan_proofs::justification::{Justification, MAX_JUSTIFICATION_BYTES};

/// Largest encoded consensus message inside a frame: consensus decodes none larger.
const MAX_CONSENSUS_BYTES: usize = MAX_MESSAGE_BYTES;

/// Largest encoded block: header and body with their length prefixes.
pub const MAX_BLOCK_BYTES: usize = 4 + MAX_HEADER_BYTES + 4 + MAX_BLOCK_BODY_BYTES;

/// Largest frame: a tag and the larger of a consensus message and a full block proposal.
pub const MAX_FRAME_BYTES: usize = 1 + if MAX_BLOCK_BYTES > 4 + MAX_CONSENSUS_BYTES {
    MAX_BLOCK_BYTES
} else {
    4 + MAX_CONSENSUS_BYTES
};

/// Largest synced block: the block and its justification with its length prefix.
pub const MAX_SYNCED_BLOCK_BYTES: usize = MAX_BLOCK_BYTES + 4 + MAX_JUSTIFICATION_BYTES;

/// Most envelopes in one gossip batch.
pub const MAX_BATCH_TRANSACTIONS: usize = 1024;

const FRAME_CONSENSUS: u8 = 0;
const FRAME_PROPOSAL: u8 = 1;

/// One message on the direct consensus channel.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A vote, certificate or request of the consensus protocol.
    Consensus(Message),
    /// A leader's block for its view, sent before the notarize vote that names it.
    Proposal(Block),
}

impl Frame {
    /// The frame's bytes: a tag, then the content.
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = Writer::new();
        match self {
            Frame::Consensus(message) => {
                writer.u8(FRAME_CONSENSUS).bytes(&message.encode());
            }
            Frame::Proposal(block) => {
                writer.u8(FRAME_PROPOSAL);
                write_block(&mut writer, block);
            }
        }
        writer.finish()
    }

    /// Decodes a frame a peer sent.
    pub fn decode(bytes: &[u8]) -> Result<Frame, DecodeError> {
        let mut reader = Reader::new(bytes);
        let frame = match reader.u8("frame tag")? {
            FRAME_CONSENSUS => {
                let message = reader.bytes(MAX_CONSENSUS_BYTES, "consensus message")?;
                Frame::Consensus(Message::decode(message).map_err(|error| {
                    DecodeError::Invalid {
                        field: "consensus message",
                        reason: error.to_string(),
                    }
                })?)
            }
            FRAME_PROPOSAL => Frame::Proposal(read_block(&mut reader)?),
            tag => {
                return Err(DecodeError::Invalid {
                    field: "frame tag",
                    reason: format!("unknown tag {tag}"),
                });
            }
        };
        reader.finish()?;
        Ok(frame)
    }
}

fn write_block(writer: &mut Writer, block: &Block) {
    writer
        .bytes(&block.header.to_bytes())
        .bytes(&block.body.to_bytes());
}

fn read_block(reader: &mut Reader<'_>) -> Result<Block, DecodeError> {
    let header = Header::from_bytes(reader.bytes(MAX_HEADER_BYTES, "header")?)?;
    let body = Body::from_bytes(reader.bytes(MAX_BLOCK_BODY_BYTES, "body")?)?;
    Ok(Block { header, body })
}

/// A finalized block as block sync carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncedBlock {
    /// The block.
    pub block: Block,
    /// Its justification, as stored.
    pub justification: Justification,
}

impl SyncedBlock {
    /// The blob sent in a sync response.
    pub fn encode(block: &Block, justification: &[u8]) -> Vec<u8> {
        let mut writer = Writer::new();
        write_block(&mut writer, block);
        writer.bytes(justification);
        writer.finish()
    }

    /// Decodes a blob a peer sent.
    pub fn decode(bytes: &[u8]) -> Result<SyncedBlock, DecodeError> {
        let mut reader = Reader::new(bytes);
        let block = read_block(&mut reader)?;
        let justification =
            Justification::decode(reader.bytes(MAX_JUSTIFICATION_BYTES, "justification")?)?;
        reader.finish()?;
        Ok(SyncedBlock {
            block,
            justification,
        })
    }
}

/// A gossip message: the same encoding as a block body (a count, then each envelope).
pub fn encode_batch(transactions: Vec<Envelope>) -> Vec<u8> {
    Body { transactions }.to_bytes()
}

/// Decodes a gossip message: 1 to [`MAX_BATCH_TRANSACTIONS`] envelopes.
pub fn decode_batch(bytes: &[u8]) -> Result<Vec<Envelope>, DecodeError> {
    let envelopes = Body::from_bytes(bytes)?.transactions;
    let count = envelopes.len();
    if count == 0 || count > MAX_BATCH_TRANSACTIONS {
        return Err(DecodeError::Invalid {
            field: "batch count",
            reason: format!("{count} envelopes; 1 to {MAX_BATCH_TRANSACTIONS} allowed"),
        });
    }
    Ok(envelopes)
}

/// Largest gossip batch in bytes: a full batch of the largest envelopes would not fit, so
/// batches are cut at this size too.
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;

// A single envelope of the largest size always fits one batch.
const _: () = assert!(MAX_ENVELOPE_BYTES + 64 <= MAX_BATCH_BYTES);

#[cfg(test)]
mod tests {
    use super::*;
    use suyuan_ledger::demo::Demo;

    #[test]
    fn frames_round_trip_and_refuse_garbage() {
        let demo = Demo::new(4, 7100);
        let envelopes: Vec<Envelope> = demo.story().into_iter().flatten().collect();
        let block = Block::new(
            &demo.genesis.chain_id,
            1,
            1,
            demo.genesis.hash(),
            demo.genesis.genesis_time_ms,
            demo.validators[1].public(),
            Body {
                transactions: envelopes.clone(),
            },
            suyuan_ledger::trees::MemTrees::new()
                .peek(&demo.genesis.binding(), &envelopes)
                .heads,
        )
        .unwrap();
        let frame = Frame::Proposal(block.clone());
        let bytes = frame.encode();
        assert_eq!(Frame::decode(&bytes).unwrap(), frame);
        for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
            assert!(Frame::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(
            Frame::decode(&trailing),
            Err(DecodeError::TrailingBytes { .. })
        ));
        assert!(Frame::decode(&[9]).is_err());

        let batch = encode_batch(envelopes.clone());
        assert_eq!(decode_batch(&batch).unwrap(), envelopes);
        assert!(decode_batch(&encode_batch(Vec::new())).is_err());
        assert!(decode_batch(&batch[..batch.len() - 1]).is_err());
    }
}
