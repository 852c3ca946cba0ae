//! Encode and decode the direct protocols' messages, refusing any length beyond its bound.
//!
//! Each request-response exchange uses one stream: the requester writes its request and closes
//! its side, the responder reads to that end, answers and closes. Lengths are big-endian.
//!
//! - `/suyuan/consensus/1`: the request is the message's bytes, at most
//!   [`MAX_CONSENSUS_MESSAGE_BYTES`]; the response is the one byte [`CONSENSUS_ACK`], so that a
//!   stream the reader dropped (it refused the message) is not taken for an acknowledgement.
//! - `/suyuan/sync/1`: the request is `from_height: u64, max_blocks: u32` (12 bytes, 1 ≤
//!   max_blocks ≤ [`MAX_SYNC_BLOCKS`]); the response is `count: u32` then `count` times
//!   `length: u32, bytes`, within a [`SyncBudget`].
//!
//! Readers never allocate more than the bytes that actually arrived, so a lying length prefix
//! costs the liar, not the reader.

use std::io;
use std::sync::Arc;

use libp2p::StreamProtocol;
use libp2p::futures::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use libp2p::request_response::{self, Codec};

use super::limits::{
    MAX_CONSENSUS_MESSAGE_BYTES, MAX_SYNC_BLOB_BYTES, MAX_SYNC_BLOCKS, MAX_SYNC_RESPONSE_BYTES,
};

/// The direct consensus protocol.
pub(super) const CONSENSUS_PROTOCOL: StreamProtocol = StreamProtocol::new("/suyuan/consensus/1");

/// The block sync protocol.
pub(super) const SYNC_PROTOCOL: StreamProtocol = StreamProtocol::new("/suyuan/sync/1");

/// The consensus protocol's acknowledgement.
pub(super) const CONSENSUS_ACK: u8 = 1;

/// Size of an encoded sync request.
const SYNC_REQUEST_BYTES: usize = 12;

/// Size of each length prefix in a sync response.
const LENGTH_PREFIX_BYTES: usize = 4;

/// Names one outbound sync request; its response or failure event carries the same id.
pub type SyncRequestId = request_response::OutboundRequestId;

/// Why bytes from the wire, or a response about to go on it, break a bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// More bytes than the message may have.
    #[error("{what} exceeds {max} bytes")]
    TooLarge {
        /// Which message.
        what: &'static str,
        /// The bound.
        max: usize,
    },
    /// A sync request that is not exactly 12 bytes.
    #[error("a sync request is {SYNC_REQUEST_BYTES} bytes; found {found}")]
    RequestLength {
        /// Bytes found.
        found: usize,
    },
    /// A sync request for no blocks or too many.
    #[error("a sync request asks for 1 to {MAX_SYNC_BLOCKS} blocks; found {requested}")]
    BlockCount {
        /// Blocks asked for.
        requested: u32,
    },
    /// A sync response with more blocks than were asked for.
    #[error("a sync response may carry {max} blocks; found {found}")]
    TooManyBlocks {
        /// Blocks found.
        found: u64,
        /// Blocks asked for.
        max: u32,
    },
    /// A sync response that ends inside a block or runs past its last one.
    #[error("a sync response ends inside a block or has bytes after its last")]
    Framing,
}

impl From<WireError> for io::Error {
    fn from(error: WireError) -> Self {
        io::Error::new(io::ErrorKind::InvalidData, error)
    }
}

/// A request for finalized blocks starting at a height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlocksRequest {
    /// The first height wanted.
    pub from_height: u64,
    /// The most blocks wanted: 1 to [`MAX_SYNC_BLOCKS`].
    pub max_blocks: u32,
}

impl BlocksRequest {
    /// A request within the bounds.
    pub(crate) fn new(from_height: u64, max_blocks: u32) -> Result<Self, WireError> {
        if max_blocks == 0 || max_blocks > MAX_SYNC_BLOCKS {
            return Err(WireError::BlockCount {
                requested: max_blocks,
            });
        }
        Ok(BlocksRequest {
            from_height,
            max_blocks,
        })
    }

    fn encode(&self) -> [u8; SYNC_REQUEST_BYTES] {
        let mut out = [0; SYNC_REQUEST_BYTES];
        out[..8].copy_from_slice(&self.from_height.to_be_bytes());
        out[8..].copy_from_slice(&self.max_blocks.to_be_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let bytes: [u8; SYNC_REQUEST_BYTES] = bytes
            .try_into()
            .map_err(|_| WireError::RequestLength { found: bytes.len() })?;
        let (height, count) = bytes.split_at(8);
        BlocksRequest::new(
            u64::from_be_bytes(height.try_into().expect("split at 8 of 12")),
            u32::from_be_bytes(count.try_into().expect("the other 4 of 12")),
        )
    }
}

/// The bounds one sync response must fit: at most `max_blocks` blobs, each at most
/// [`MAX_SYNC_BLOB_BYTES`], at most [`MAX_SYNC_RESPONSE_BYTES`] in all with length prefixes.
#[derive(Debug, Clone, Copy)]
pub(super) struct SyncBudget {
    max_blocks: u32,
    blocks: u32,
    bytes: usize,
}

impl SyncBudget {
    /// The budget of a response to a request for `max_blocks`.
    pub(super) fn new(max_blocks: u32) -> Self {
        SyncBudget {
            max_blocks: max_blocks.min(MAX_SYNC_BLOCKS),
            blocks: 0,
            bytes: LENGTH_PREFIX_BYTES,
        }
    }

    /// Checks that `count` blocks may follow.
    pub(super) fn check_count(&self, count: u64) -> Result<(), WireError> {
        if count > u64::from(self.max_blocks) {
            return Err(WireError::TooManyBlocks {
                found: count,
                max: self.max_blocks,
            });
        }
        Ok(())
    }

    /// Takes one blob of `len` bytes out of the budget.
    pub(super) fn admit(&mut self, len: usize) -> Result<(), WireError> {
        self.check_count(u64::from(self.blocks) + 1)?;
        if len > MAX_SYNC_BLOB_BYTES {
            return Err(WireError::TooLarge {
                what: "a block in a sync response",
                max: MAX_SYNC_BLOB_BYTES,
            });
        }
        self.bytes += LENGTH_PREFIX_BYTES + len;
        if self.bytes > MAX_SYNC_RESPONSE_BYTES {
            return Err(WireError::TooLarge {
                what: "a sync response",
                max: MAX_SYNC_RESPONSE_BYTES,
            });
        }
        self.blocks += 1;
        Ok(())
    }

    /// Checks a whole response before it is sent.
    pub(super) fn check_all(max_blocks: u32, blobs: &[Vec<u8>]) -> Result<(), WireError> {
        let mut budget = SyncBudget::new(max_blocks);
        budget.check_count(blobs.len() as u64)?;
        blobs.iter().try_for_each(|blob| budget.admit(blob.len()))
    }
}

/// The consensus protocol's codec: opaque bytes in, a one-byte acknowledgement back.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ConsensusCodec;

impl Codec for ConsensusCodec {
    type Protocol = StreamProtocol;
    type Request = Arc<[u8]>;
    type Response = ();

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Arc<[u8]>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let what = "a consensus message";
        Ok(read_to_end(io, MAX_CONSENSUS_MESSAGE_BYTES, what)
            .await?
            .into())
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<()>
    where
        T: AsyncRead + Unpin + Send,
    {
        let ack = read_to_end(io, 1, "a consensus acknowledgement").await?;
        if ack != [CONSENSUS_ACK] {
            return Err(WireError::Framing.into());
        }
        Ok(())
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        message: Arc<[u8]>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&message).await
    }

    async fn write_response<T>(&mut self, _: &StreamProtocol, io: &mut T, (): ()) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&[CONSENSUS_ACK]).await
    }
}

/// The sync protocol's codec: a [`BlocksRequest`] out, a list of opaque block blobs back.
///
/// The response reader checks the protocol-wide bounds; the swarm task checks the count against
/// the `max_blocks` it asked for.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SyncCodec;

impl Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = BlocksRequest;
    type Response = Vec<Vec<u8>>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<BlocksRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_to_end(io, SYNC_REQUEST_BYTES, "a sync request").await?;
        Ok(BlocksRequest::decode(&bytes)?)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<Vec<u8>>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_blobs(io, SyncBudget::new(MAX_SYNC_BLOCKS)).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: BlocksRequest,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&request.encode()).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        blobs: Vec<Vec<u8>>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        SyncBudget::check_all(MAX_SYNC_BLOCKS, &blobs)?;
        io.write_all(&(blobs.len() as u32).to_be_bytes()).await?;
        for blob in &blobs {
            io.write_all(&(blob.len() as u32).to_be_bytes()).await?;
            io.write_all(blob).await?;
        }
        Ok(())
    }
}

/// Reads to the end of the stream, refusing more than `max` bytes.
async fn read_to_end<T>(io: &mut T, max: usize, what: &'static str) -> io::Result<Vec<u8>>
where
    T: AsyncRead + Unpin,
{
    let mut bytes = Vec::new();
    (&mut *io)
        .take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .await?;
    if bytes.len() > max {
        return Err(WireError::TooLarge { what, max }.into());
    }
    Ok(bytes)
}

/// Reads `count: u32` then that many length-prefixed blobs, within `budget`, then the end.
async fn read_blobs<T>(io: &mut T, mut budget: SyncBudget) -> io::Result<Vec<Vec<u8>>>
where
    T: AsyncRead + Unpin,
{
    let count = read_u32(io).await?;
    budget.check_count(u64::from(count))?;
    let mut blobs = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let len = read_u32(io).await? as usize;
        budget.admit(len)?;
        let mut blob = Vec::new();
        (&mut *io).take(len as u64).read_to_end(&mut blob).await?;
        if blob.len() != len {
            return Err(WireError::Framing.into());
        }
        blobs.push(blob);
    }
    let mut trailing = Vec::new();
    (&mut *io).take(1).read_to_end(&mut trailing).await?;
    if !trailing.is_empty() {
        return Err(WireError::Framing.into());
    }
    Ok(blobs)
}

async fn read_u32<T>(io: &mut T) -> io::Result<u32>
where
    T: AsyncRead + Unpin,
{
    let mut bytes = [0; 4];
    io.read_exact(&mut bytes)
        .await
        .map_err(|_| io::Error::from(WireError::Framing))?;
    Ok(u32::from_be_bytes(bytes))
}

#[cfg(test)]
mod unit_tests {
    use libp2p::futures::executor::block_on;

    use super::*;

    fn wire_error(error: io::Error) -> WireError {
        let inner = error.into_inner().expect("a wire error");
        inner
            .downcast_ref::<WireError>()
            .expect("a wire error")
            .clone()
    }

    #[test]
    fn sync_request_golden_bytes_round_trip() {
        let request = BlocksRequest::new(0x0102_0304_0506_0708, 64).unwrap();
        let mut wire = Vec::new();
        block_on(SyncCodec.write_request(&SYNC_PROTOCOL, &mut wire, request)).unwrap();
        assert_eq!(hex::encode(&wire), "010203040506070800000040");
        let read = block_on(SyncCodec.read_request(&SYNC_PROTOCOL, &mut wire.as_slice()));
        assert_eq!(read.unwrap(), request);
    }

    #[test]
    fn sync_request_for_zero_or_too_many_blocks_is_refused() {
        assert!(BlocksRequest::new(1, 0).is_err());
        assert!(BlocksRequest::new(1, MAX_SYNC_BLOCKS + 1).is_err());
        let mut wire = 5u64.to_be_bytes().to_vec();
        wire.extend_from_slice(&(MAX_SYNC_BLOCKS + 1).to_be_bytes());
        let error = block_on(SyncCodec.read_request(&SYNC_PROTOCOL, &mut wire.as_slice()));
        assert_eq!(
            wire_error(error.unwrap_err()),
            WireError::BlockCount {
                requested: MAX_SYNC_BLOCKS + 1
            }
        );
        let long = [0u8; 13];
        let error = block_on(SyncCodec.read_request(&SYNC_PROTOCOL, &mut &long[..]));
        assert!(error.is_err());
    }

    #[test]
    fn sync_response_golden_bytes_round_trip() {
        let blobs = vec![b"ab".to_vec(), Vec::new(), b"c".to_vec()];
        let mut wire = Vec::new();
        block_on(SyncCodec.write_response(&SYNC_PROTOCOL, &mut wire, blobs.clone())).unwrap();
        assert_eq!(hex::encode(&wire), "00000003000000026162000000000000000163");
        let read = block_on(SyncCodec.read_response(&SYNC_PROTOCOL, &mut wire.as_slice()));
        assert_eq!(read.unwrap(), blobs);
    }

    #[test]
    fn sync_response_with_lying_lengths_or_trailing_bytes_is_refused() {
        let truncated = hex::decode("0000000100000010616263").unwrap();
        let error = block_on(SyncCodec.read_response(&SYNC_PROTOCOL, &mut truncated.as_slice()));
        assert_eq!(wire_error(error.unwrap_err()), WireError::Framing);
        let trailing = hex::decode("000000010000000161ff").unwrap();
        let error = block_on(SyncCodec.read_response(&SYNC_PROTOCOL, &mut trailing.as_slice()));
        assert_eq!(wire_error(error.unwrap_err()), WireError::Framing);
        let huge_count = (MAX_SYNC_BLOCKS + 1).to_be_bytes();
        let error = block_on(SyncCodec.read_response(&SYNC_PROTOCOL, &mut &huge_count[..]));
        assert!(matches!(
            wire_error(error.unwrap_err()),
            WireError::TooManyBlocks { .. }
        ));
        let mut huge_blob = 1u32.to_be_bytes().to_vec();
        huge_blob.extend_from_slice(&(MAX_SYNC_BLOB_BYTES as u32 + 1).to_be_bytes());
        let error = block_on(SyncCodec.read_response(&SYNC_PROTOCOL, &mut huge_blob.as_slice()));
        assert!(matches!(
            wire_error(error.unwrap_err()),
            WireError::TooLarge { .. }
        ));
    }

    #[test]
    fn sync_budget_bounds_count_blob_and_total_size() {
        assert!(SyncBudget::check_all(2, &[vec![0; 10], vec![0; 10]]).is_ok());
        assert!(SyncBudget::check_all(1, &[vec![0; 10], vec![0; 10]]).is_err());
        let big = vec![0; MAX_SYNC_BLOB_BYTES];
        assert!(SyncBudget::check_all(3, std::slice::from_ref(&big)).is_ok());
        assert!(SyncBudget::check_all(3, &[big.clone(), big]).is_err());
    }

    #[test]
    fn consensus_message_over_its_bound_is_refused_and_acks_are_one_byte() {
        let at_bound = vec![7u8; MAX_CONSENSUS_MESSAGE_BYTES];
        let read = block_on(ConsensusCodec.read_request(&CONSENSUS_PROTOCOL, &mut &at_bound[..]));
        assert_eq!(read.unwrap().len(), MAX_CONSENSUS_MESSAGE_BYTES);
        let over = vec![7u8; MAX_CONSENSUS_MESSAGE_BYTES + 1];
        let error = block_on(ConsensusCodec.read_request(&CONSENSUS_PROTOCOL, &mut &over[..]));
        assert!(matches!(
            wire_error(error.unwrap_err()),
            WireError::TooLarge { .. }
        ));
        let mut ack = Vec::new();
        block_on(ConsensusCodec.write_response(&CONSENSUS_PROTOCOL, &mut ack, ())).unwrap();
        assert_eq!(ack, [CONSENSUS_ACK]);
        let read = |bytes: &[u8]| {
            let mut bytes = bytes;
            block_on(ConsensusCodec.read_response(&CONSENSUS_PROTOCOL, &mut bytes))
        };
        assert!(read(&ack).is_ok());
        assert!(read(b"").is_err(), "a dropped stream is no acknowledgement");
        assert!(read(&[CONSENSUS_ACK, 0]).is_err());
    }
}
