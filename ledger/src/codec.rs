//! Encode and decode the ledger's canonical binary forms, with a bound on every length.
//!
//! Block headers, block bodies and transaction envelopes have exactly one byte form each: the
//! one they are hashed and stored in. Integers are big-endian; variable-length fields carry a
//! u32 length prefix and a named maximum that the decoder enforces before it allocates.

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended before `field` was complete.
    #[error("input ends inside {field}")]
    Truncated {
        /// The field being read.
        field: &'static str,
    },
    /// A length prefix exceeds the field's bound.
    #[error("{field} is {found} long; at most {max} allowed")]
    TooLong {
        /// The field being read.
        field: &'static str,
        /// Its bound.
        max: usize,
        /// The length claimed.
        found: usize,
    },
    /// Bytes remain after the last field.
    #[error("{count} bytes follow the end of the value")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// A field's content is not valid for its type.
    #[error("{field} is invalid: {reason}")]
    Invalid {
        /// The field being read.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// Appends fields to a byte buffer in canonical form.
#[derive(Debug, Default)]
pub struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one byte.
    pub fn u8(&mut self, value: u8) -> &mut Self {
        self.bytes.push(value);
        self
    }

    /// Appends a big-endian u32.
    pub fn u32(&mut self, value: u32) -> &mut Self {
        self.bytes.extend_from_slice(&value.to_be_bytes());
        self
    }

    /// Appends a big-endian u64.
    pub fn u64(&mut self, value: u64) -> &mut Self {
        self.bytes.extend_from_slice(&value.to_be_bytes());
        self
    }

    /// Appends bytes of a length both sides know.
    pub fn fixed(&mut self, value: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(value);
        self
    }

    /// Appends a u32 length and then the bytes.
    ///
    /// Callers bound their fields far below 4 GiB (see [`crate::limits`]); a longer field is a
    /// bug on our side, not input, hence the panic.
    pub fn bytes(&mut self, value: &[u8]) -> &mut Self {
        let len = u32::try_from(value.len()).expect("fields are bounded far below 4 GiB");
        self.u32(len).fixed(value)
    }

    /// The encoded bytes.
    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// Reads fields back from a byte slice, refusing anything out of bounds.
#[derive(Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    /// Reads `len` bytes.
    pub fn fixed(&mut self, len: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < len {
            return Err(DecodeError::Truncated { field });
        }
        let (head, tail) = self.rest.split_at(len);
        self.rest = tail;
        Ok(head)
    }

    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.fixed(N, field)?);
        Ok(out)
    }

    /// Reads one byte.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    /// Reads a big-endian u32.
    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    /// Reads a big-endian u64.
    pub fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// Reads a length-prefixed field of at most `max` bytes, checking the bound before taking.
    pub fn bytes(&mut self, max: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.u32(field)? as usize;
        if len > max {
            return Err(DecodeError::TooLong {
                field,
                max,
                found: len,
            });
        }
        self.fixed(len, field)
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Ends decoding, refusing trailing bytes.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                count: self.rest.len(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bounds() {
        let mut writer = Writer::new();
        writer.u8(7).u32(9).u64(11).bytes(b"abc").fixed(&[1, 2]);
        let bytes = writer.finish();
        let mut reader = Reader::new(&bytes);
        assert_eq!(reader.u8("a"), Ok(7));
        assert_eq!(reader.u32("b"), Ok(9));
        assert_eq!(reader.u64("c"), Ok(11));
        assert_eq!(reader.bytes(3, "d"), Ok(&b"abc"[..]));
        assert_eq!(reader.fixed(2, "e"), Ok(&[1u8, 2][..]));
        assert_eq!(reader.finish(), Ok(()));

        let mut reader = Reader::new(&bytes[13..]);
        assert_eq!(
            reader.bytes(2, "d"),
            Err(DecodeError::TooLong {
                field: "d",
                max: 2,
                found: 3
            })
        );
        let mut reader = Reader::new(&bytes[..3]);
        assert_eq!(reader.u64("x"), Err(DecodeError::Truncated { field: "x" }));
    }
}
