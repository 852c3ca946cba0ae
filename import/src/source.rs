//! Read an import file into items: each row (CSV) or event (EPCIS) with its payload, or why it
//! has none.
//!
//! A payload's nonce is derived from the signer, the record and how many identical records
//! came before it in the file ([`derived_nonce`]), unless the row gives one: importing the same
//! file again, after an interruption or with the refused rows fixed, signs the same
//! transactions, which the ledger recognises (`replay`), so nothing is recorded twice.

use std::collections::HashMap;

use serde_json::Value;
use suyuan_epcis::capture::{CaptureContext, capture_event};
use suyuan_epcis::export::event_id;
use suyuan_ledger::codes::gs1::keys::Gln;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::crypto::{KeyPair, PublicKey};
use suyuan_ledger::event::EpcisEvent;
use suyuan_ledger::hash::hash_parts;
use suyuan_ledger::record::Record;
use suyuan_ledger::tx::{ChainBinding, Envelope, Payload, TxId};

use crate::layout::{Header, HeaderError, RecordKind, Registry, Row, RowError};

/// The most rows or events one import reads.
pub const MAX_ITEMS: usize = 1_000_000;

/// One row or event of the file.
#[derive(Debug, Clone)]
pub struct Item {
    /// Where it is: the CSV row number as a spreadsheet shows it (the header is row 1), or
    /// the event's index in the EPCIS document (from 0).
    pub position: u64,
    /// The signed record, or why the row or event gives none.
    pub signed: Result<Signed, ItemError>,
}

/// A record signed for the chain.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The envelope.
    pub envelope: Envelope,
    /// Its id on the chain.
    pub id: TxId,
}

impl Signed {
    fn new(chain: &ChainBinding, payload: &Payload, key: &KeyPair) -> Signed {
        let envelope = Envelope::sign(chain, payload, key);
        let id = envelope.id(chain);
        Signed { envelope, id }
    }
}

/// Why a row or event gives no record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ItemError {
    /// Stable machine-readable name (`missing_value`, `invalid_value`, an EPCIS capture
    /// error's code, …).
    pub code: String,
    /// The column at fault, for a CSV row.
    pub column: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl From<RowError> for ItemError {
    fn from(error: RowError) -> Self {
        ItemError {
            code: error.code.to_owned(),
            message: error.to_string(),
            column: error.column,
        }
    }
}

/// Why a file cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The header row.
    #[error("the header row: {0}")]
    Header(#[from] HeaderError),
    /// The CSV syntax.
    #[error("the CSV is malformed: {0}")]
    Csv(#[from] csv::Error),
    /// An empty file.
    #[error("the file has no header row")]
    Empty,
    /// More rows or events than [`MAX_ITEMS`].
    #[error("the file has more than {MAX_ITEMS} rows or events; split it")]
    TooManyItems,
}

/// A CSV file, read: its header and its rows' cells (kept for the report of refused rows).
#[derive(Debug, Clone)]
pub struct CsvFile {
    /// The header row as written.
    pub header: Vec<String>,
    /// Each data row's cells with its row number.
    pub rows: Vec<(u64, Vec<String>)>,
    layout: Header,
}

impl CsvFile {
    /// Parses `text`: the header row first, then one row per record. `kind` is the kind of
    /// every row (`--kind`), else each row's `type` cell says it.
    pub fn parse(text: &str, kind: Option<RecordKind>) -> Result<CsvFile, SourceError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut records = reader.records();
        let header: Vec<String> = match records.next() {
            Some(record) => record?.iter().map(str::to_owned).collect(),
            None => return Err(SourceError::Empty),
        };
        let names: Vec<&str> = header.iter().map(String::as_str).collect();
        let layout = Header::new(&names, kind)?;
        let mut rows = Vec::new();
        for (index, record) in records.enumerate() {
            let record = record?;
            if record.iter().all(|cell| cell.trim().is_empty()) {
                continue;
            }
            if rows.len() == MAX_ITEMS {
                return Err(SourceError::TooManyItems);
            }
            rows.push((index as u64 + 2, record.iter().map(str::to_owned).collect()));
        }
        Ok(CsvFile {
            header,
            rows,
            layout,
        })
    }

    /// The business buyers named by USCC alone, whose registrations complete their rows.
    pub fn buyers_to_complete(&self) -> Vec<Uscc> {
        let mut buyers: Vec<Uscc> = Vec::new();
        let position = |name: &str| self.layout.names().iter().position(|n| n == name);
        let (Some(uscc), name) = (position("buyer_uscc"), position("buyer_name")) else {
            return buyers;
        };
        for (_, cells) in &self.rows {
            let named = name
                .and_then(|n| cells.get(n))
                .is_some_and(|cell| !cell.trim().is_empty());
            if named {
                continue;
            }
            let buyer = cells.get(uscc).map(|cell| cell.trim().parse::<Uscc>());
            if let Some(Ok(buyer)) = buyer
                && !buyers.contains(&buyer)
            {
                buyers.push(buyer);
            }
        }
        buyers
    }

    /// Each row as an item, signed with `key` for `chain`.
    pub fn items(&self, chain: &ChainBinding, key: &KeyPair, registry: &dyn Registry) -> Vec<Item> {
        let signer = key.public();
        let mut nonces = NonceDeriver::new(&signer);
        self.rows
            .iter()
            .map(|(position, cells)| {
                let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
                let signed = Row::new(&self.layout, &cells)
                    .and_then(|row| row.record(registry))
                    .map_err(ItemError::from)
                    .map(|(record, meta)| {
                        let event = meta.event_id.map(|id| EpcisEvent {
                            id: Some(id),
                            time: None,
                            read_point: None,
                            biz_location: None,
                        });
                        Signed::new(chain, &nonces.payload(record, event, meta.nonce), key)
                    });
                Item {
                    position: *position,
                    signed,
                }
            })
            .collect()
    }
}

/// Derives each payload's nonce from its signer, its content and its occurrence.
struct NonceDeriver<'a> {
    signer: &'a PublicKey,
    seen: HashMap<[u8; 32], u64>,
}

impl<'a> NonceDeriver<'a> {
    fn new(signer: &'a PublicKey) -> NonceDeriver<'a> {
        NonceDeriver {
            signer,
            seen: HashMap::new(),
        }
    }

    /// The payload of `record` with `event`, under `nonce` if given, else a derived one.
    fn payload(
        &mut self,
        record: Record,
        event: Option<EpcisEvent>,
        nonce: Option<u64>,
    ) -> Payload {
        let mut payload = Payload {
            nonce: 0,
            record,
            event,
        };
        payload.nonce = match nonce {
            Some(nonce) => nonce,
            None => {
                let content = *blake3::hash(&payload.to_bytes()).as_bytes();
                let occurrence = self.seen.entry(content).or_insert(0);
                let nonce = derived_nonce(self.signer, &content, *occurrence);
                *occurrence += 1;
                nonce
            }
        };
        payload
    }
}

/// The nonce import gives the `occurrence`-th (from 0) payload with content hash `content`
/// signed by `signer`: BLAKE3 in the domain `suyuan import nonce v1`, first 8 bytes.
pub fn derived_nonce(signer: &PublicKey, content: &[u8; 32], occurrence: u64) -> u64 {
    let hash = hash_parts(
        "suyuan import nonce v1",
        &[
            signer.as_bytes().as_slice(),
            content.as_slice(),
            &occurrence.to_be_bytes(),
        ],
    );
    u64::from_be_bytes(
        hash.as_bytes()[..8]
            .try_into()
            .expect("a hash is longer than 8 bytes"),
    )
}

/// The events of an EPCIS document (as `all_events_of` returns them, checked against the
/// schema), mapped to records and signed with `key` for `chain`.
///
/// A `suyuan:closeRecall` names its recall by event id; `recalls` answers for recalls on the
/// chain, and recalls earlier in the same document are found by their signed ids; `parties`
/// answers which enrolled enterprise claims a party GLN an event names. Capture
/// keeps a document's `suyuan:nonce` and otherwise derives the nonce from the event itself,
/// which is already the same at every import.
pub fn epcis_items(
    events: &[Value],
    chain: &ChainBinding,
    key: &KeyPair,
    enterprise: Option<&Uscc>,
    recalls: &dyn Fn(&str) -> Option<TxId>,
    parties: &dyn Fn(&Gln) -> Option<Uscc>,
) -> Result<Vec<Item>, SourceError> {
    if events.len() > MAX_ITEMS {
        return Err(SourceError::TooManyItems);
    }
    let mut captured_recalls: HashMap<String, TxId> = HashMap::new();
    let mut items = Vec::with_capacity(events.len());
    for (index, event) in events.iter().enumerate() {
        let payload = {
            let lookup = |id: &str| captured_recalls.get(id).copied().or_else(|| recalls(id));
            let context = CaptureContext {
                enterprise: enterprise.cloned(),
                recall: &lookup,
                party: parties,
            };
            capture_event(event, &context)
        };
        let signed = payload
            .map(|payload| {
                let signed = Signed::new(chain, &payload, key);
                if let Record::Recall(_) = payload.record {
                    let id = event_id(&payload, &signed.envelope.payload);
                    captured_recalls.insert(id, signed.id);
                }
                signed
            })
            .map_err(|error| ItemError {
                code: error.code().to_owned(),
                column: None,
                message: error.to_string(),
            });
        items.push(Item {
            position: index as u64,
            signed,
        });
    }
    Ok(items)
}
