//! Decode an import file's bytes into text: UTF-8, or GBK (GB 18030) when asked for.
//!
//! Chinese ERP systems and spreadsheets often export CSV in GBK. Read as UTF-8, such a file
//! fails at its first Chinese character; read as GBK by guess, a UTF-8 file would silently turn
//! into other characters. So the encoding is never guessed into the data: a file that is not
//! UTF-8 but reads cleanly as GBK is refused with [`TextError::LooksLikeGbk`], which names the
//! option that converts it, and `--encoding gbk` converts (refusing any byte GBK does not map).

/// The encodings an import file may be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8, with or without a byte-order mark (Excel writes one).
    #[default]
    Utf8,
    /// GBK and its superset GB 18030, as Chinese Windows software writes CSV.
    Gbk,
}

/// Why an import file's bytes are not text in the expected encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Not UTF-8, but every byte reads as GBK text: convert it with `--encoding gbk`.
    #[error(
        "the file is not UTF-8 (line {line}) but reads as GBK, as Chinese Windows software writes CSV; \
         import it with --encoding gbk, or save it as UTF-8"
    )]
    LooksLikeGbk {
        /// The first line (from 1) that is not UTF-8.
        line: usize,
    },
    /// Neither UTF-8 nor GBK.
    #[error("the file is not UTF-8 text: line {line} has bytes no text encoding here reads")]
    NotUtf8 {
        /// The first line (from 1) that is not UTF-8.
        line: usize,
    },
    /// Asked to read GBK, and a byte sequence is not GBK.
    #[error("the file is not GBK text: line {line} has a byte sequence GBK does not map")]
    NotGbk {
        /// The first line (from 1) holding it.
        line: usize,
    },
}

impl TextError {
    /// The stable machine-readable name of the error.
    pub fn code(&self) -> &'static str {
        match self {
            TextError::LooksLikeGbk { .. } => "gbk_not_converted",
            TextError::NotUtf8 { .. } => "not_utf8",
            TextError::NotGbk { .. } => "not_gbk",
        }
    }
}

/// The UTF-8 byte-order mark.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// `bytes` as text in `encoding`, without a leading byte-order mark.
pub fn decode(bytes: &[u8], encoding: Encoding) -> Result<String, TextError> {
    match encoding {
        Encoding::Utf8 => {
            let body = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
            match std::str::from_utf8(body) {
                Ok(text) => Ok(text.to_owned()),
                Err(error) => {
                    let line = line_of(body, error.valid_up_to());
                    if reads_as_gbk(body) {
                        Err(TextError::LooksLikeGbk { line })
                    } else {
                        Err(TextError::NotUtf8 { line })
                    }
                }
            }
        }
        Encoding::Gbk => {
            match encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(bytes) {
                Some(text) => Ok(text.into_owned()),
                None => Err(TextError::NotGbk {
                    line: first_gbk_error_line(bytes),
                }),
            }
        }
    }
}

/// Whether `bytes` decode as GB 18030 with no malformed sequence.
fn reads_as_gbk(bytes: &[u8]) -> bool {
    encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .is_some()
}

/// The line (from 1) of the first sequence GB 18030 does not map.
fn first_gbk_error_line(bytes: &[u8]) -> usize {
    let mut decoder = encoding_rs::GB18030.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(bytes.len() * 3 + 16);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        encoding_rs::DecoderResult::Malformed(bad, _) => {
            line_of(bytes, read.saturating_sub(usize::from(bad)))
        }
        _ => line_of(bytes, read),
    }
}

/// The line (from 1) holding byte `offset` of `bytes`.
fn line_of(bytes: &[u8], offset: usize) -> usize {
    1 + bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(text: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
        assert!(!unmappable);
        bytes.into_owned()
    }

    #[test]
    fn utf8_with_a_byte_order_mark_reads_without_it() {
        let mut bytes = UTF8_BOM.to_vec();
        bytes.extend_from_slice("type,uscc\n电线,1\n".as_bytes());
        assert_eq!(
            decode(&bytes, Encoding::Utf8).unwrap(),
            "type,uscc\n电线,1\n"
        );
    }

    #[test]
    fn a_gbk_file_is_refused_as_utf8_naming_the_option_and_converted_when_asked() {
        let bytes = gbk("type,name\nregister_product,聚氯乙烯绝缘电线\n");
        let error = decode(&bytes, Encoding::Utf8).unwrap_err();
        assert_eq!(error, TextError::LooksLikeGbk { line: 2 });
        assert!(error.to_string().contains("--encoding gbk"));
        assert_eq!(
            decode(&bytes, Encoding::Gbk).unwrap(),
            "type,name\nregister_product,聚氯乙烯绝缘电线\n"
        );
    }

    #[test]
    fn bytes_no_encoding_reads_are_refused_with_their_line() {
        let bytes = b"a,b\n1,2\n\xFF\xFF\xFF\n";
        assert_eq!(
            decode(bytes, Encoding::Utf8).unwrap_err(),
            TextError::NotUtf8 { line: 3 }
        );
        assert_eq!(
            decode(bytes, Encoding::Gbk).unwrap_err(),
            TextError::NotGbk { line: 3 }
        );
    }
}
