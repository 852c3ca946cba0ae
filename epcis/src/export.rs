//! A record as the EPCIS 2.0 event it is (docs/epcis.md has the table).
//!
//! Every field EPCIS has a place for goes there (the codes as EPCs and quantities, the time,
//! business step, disposition, parties and locations); what only Suyuan keeps (the inspection
//! report's digest, the model, the buyer's commitment, the nonce) goes in extension fields
//! under the `suyuan:` prefix, so that [`crate::capture`] rebuilds the same record from the
//! event. What an event takes from the chain beyond the record is how to name things in
//! GS1's terms: where a company prefix ends ([`PrefixLengths`]) and the party GLN an
//! enterprise's profile claims ([`PartyGlns`]); the same history exports as the same events
//! from any consortium that holds it.

use serde_json::{Map, Value, json};
use suyuan_ledger::codes::model::ModelCode;
use suyuan_ledger::event::EventTime;
use suyuan_ledger::hash::hash_parts;
use suyuan_ledger::record::{Items, Outcome, Party, Record, ShipmentLine, Subject, TraceCode};
use suyuan_ledger::text::Date;
use suyuan_ledger::tx::Payload;

use crate::ids::{
    PartyGlns, PrefixLengths, code_uri, is_class, model_uri, owning_party_uri, party_uri,
};

/// Minutes east of UTC of the time a record without a time of its own is written in: China
/// Standard Time, where the ledger's dates are.
pub const CHINA_OFFSET_MINUTES: i16 = 8 * 60;

/// What an export needs besides the record.
pub struct ExportContext<'a> {
    /// The company prefix lengths, for EPC URNs.
    pub lengths: &'a dyn PrefixLengths,
    /// The party GLNs of enterprises, for the owning parties of a transfer.
    pub parties: &'a dyn PartyGlns,
    /// The time of the block that holds the record, Unix milliseconds: the event time of a
    /// record that has none of its own (closing a recall).
    pub block_time_ms: u64,
    /// For a close of a recall: the event id of the recall it closes.
    pub recall_event_id: Option<String>,
}

/// The event id of a transaction: the id its event facts carry, or else one derived from its
/// payload bytes alone (a name-based UUID under BLAKE3), so that it is the same on every
/// consortium that holds the payload.
pub fn event_id(payload: &Payload, payload_bytes: &[u8]) -> String {
    if let Some(id) = payload.event.as_ref().and_then(|event| event.id.as_ref()) {
        return id.to_string();
    }
    let digest = hash_parts("suyuan epcis event uuid v1", &[payload_bytes]);
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest.as_bytes()[..16]);
    // RFC 9562 version 8 (custom), variant 10.
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The EPCIS event a transaction records, or `None` for a record that is no event (enrolment,
/// keys, prefixes, product registration, code links).
pub fn export_event(
    payload: &Payload,
    payload_bytes: &[u8],
    context: &ExportContext<'_>,
) -> Option<Value> {
    let lengths = context.lengths;
    let mut event = Map::new();
    let own_time = match &payload.record {
        Record::Commission(record) => {
            object_event(&mut event, "ADD", "commissioning", "active");
            match &record.items {
                Items::Batch { code, quantity } => {
                    event.insert(
                        "quantityList".into(),
                        json!([quantity_entry(code, Some(*quantity), lengths)]),
                    );
                }
                Items::Serialised { codes, batch } => {
                    let uris: Vec<String> = codes.iter().map(|c| code_uri(c, lengths)).collect();
                    event.insert("epcList".into(), json!(uris));
                    if let Some(batch) = batch {
                        event.insert("suyuan:batch".into(), json!(code_uri(batch, lengths)));
                    }
                }
            }
            event.insert("suyuan:enterprise".into(), json!(party_uri(&record.uscc)));
            event.insert("suyuan:model".into(), json!(record.model_code.to_string()));
            let mut ilmd = Map::new();
            ilmd.insert(
                "suyuan:productionDate".into(),
                json!(record.production_date),
            );
            if let Some(number) = &record.factory_number {
                ilmd.insert("suyuan:factoryNumber".into(), json!(number));
            }
            event.insert("ilmd".into(), Value::Object(ilmd));
            event.insert(
                "suyuan:inspectionReport".into(),
                serde_json::to_value(&record.inspection_report).ok()?,
            );
            date_time(record.production_date)
        }
        Record::Inspect(record) => {
            let disposition = match record.outcome {
                Outcome::Conformant => "conformant",
                Outcome::NonConformant => "non_conformant",
            };
            object_event(&mut event, "OBSERVE", "inspecting", disposition);
            subjects(&mut event, std::slice::from_ref(&record.subject), lengths);
            let mut inspection = Map::new();
            inspection.insert("standards".into(), json!(record.standards));
            inspection.insert("inspectedOn".into(), json!(record.inspected_on));
            inspection.insert("reportNumber".into(), json!(record.report_number));
            inspection.insert("documentSha256".into(), json!(record.document_sha256));
            if let Some(findings) = &record.findings {
                inspection.insert("findings".into(), json!(findings));
            }
            if let Some(accreditation) = &record.accreditation {
                inspection.insert("accreditation".into(), json!(accreditation));
            }
            event.insert("suyuan:inspection".into(), Value::Object(inspection));
            date_time(record.inspected_on)
        }
        Record::Ship(record) => {
            let (step, disposition) = match &record.buyer {
                Party::Enterprise { .. } => ("shipping", "in_transit"),
                Party::Person { .. } => ("retail_selling", "retail_sold"),
            };
            object_event(&mut event, "OBSERVE", step, disposition);
            lines(
                &mut event,
                &record.lines,
                "epcList",
                "quantityList",
                lengths,
            );
            event.insert(
                "sourceList".into(),
                json!([{
                    "type": "owning_party",
                    "source": owning_party_uri(&record.seller, context.parties, lengths),
                }]),
            );
            if let Party::Enterprise { uscc, .. } = &record.buyer {
                event.insert(
                    "destinationList".into(),
                    json!([{
                        "type": "owning_party",
                        "destination": owning_party_uri(uscc, context.parties, lengths),
                    }]),
                );
            }
            event.insert(
                "suyuan:buyer".into(),
                serde_json::to_value(&record.buyer).ok()?,
            );
            if let Some(reference) = &record.order_reference {
                event.insert("suyuan:orderReference".into(), json!(reference));
            }
            EventTime::new(i64::try_from(record.sold_at_ms).ok()?, CHINA_OFFSET_MINUTES)
        }
        Record::Recall(record) => {
            object_event(&mut event, "OBSERVE", "holding", "recalled");
            subjects(&mut event, &record.subjects, lengths);
            event.insert(
                "suyuan:enterprise".into(),
                json!(party_uri(&record.producer)),
            );
            event.insert(
                "suyuan:recall".into(),
                json!({"reason": record.reason, "announcedOn": record.announced_on}),
            );
            date_time(record.announced_on)
        }
        Record::CloseRecall(record) => {
            object_event(&mut event, "OBSERVE", "holding", "active");
            event.insert("epcList".into(), json!([]));
            event.insert(
                "suyuan:closeRecall".into(),
                json!({
                    "recall": context.recall_event_id.clone()?,
                    "resolution": record.resolution,
                }),
            );
            EventTime::new(
                i64::try_from(context.block_time_ms).ok()?,
                CHINA_OFFSET_MINUTES,
            )
        }
        Record::Pack(record) => {
            aggregation_event(&mut event, "ADD", "packing");
            event.insert(
                "parentID".into(),
                json!(code_uri(record.sscc.as_code(), lengths)),
            );
            lines(
                &mut event,
                &record.contents,
                "childEPCs",
                "childQuantityList",
                lengths,
            );
            event.insert("suyuan:enterprise".into(), json!(party_uri(&record.uscc)));
            EventTime::new(
                i64::try_from(record.packed_at_ms).ok()?,
                CHINA_OFFSET_MINUTES,
            )
        }
        Record::Unpack(record) => {
            aggregation_event(&mut event, "DELETE", "unpacking");
            event.insert(
                "parentID".into(),
                json!(code_uri(record.sscc.as_code(), lengths)),
            );
            event.insert("childEPCs".into(), json!([]));
            event.insert("suyuan:enterprise".into(), json!(party_uri(&record.uscc)));
            EventTime::new(
                i64::try_from(record.unpacked_at_ms).ok()?,
                CHINA_OFFSET_MINUTES,
            )
        }
        Record::RegisterEnterprise(_)
        | Record::UpdateEnterprise(_)
        | Record::BindKey(_)
        | Record::RotateKey(_)
        | Record::RevokeKey(_)
        | Record::OfferTransfer(_)
        | Record::AcceptTransfer(_)
        | Record::WithdrawTransfer(_)
        | Record::AttestPrefix(_)
        | Record::TransferPrefix(_)
        | Record::RevokePrefix(_)
        | Record::RegisterProduct(_)
        | Record::LinkCodes(_) => return None,
    };
    let facts = payload.event.as_ref();
    let time = facts.and_then(|facts| facts.time).or(own_time)?;
    event.insert("eventID".into(), json!(event_id(payload, payload_bytes)));
    event.insert("eventTime".into(), json!(time.to_string()));
    event.insert("eventTimeZoneOffset".into(), json!(time.offset()));
    if let Some(read_point) = facts.and_then(|facts| facts.read_point.as_ref()) {
        event.insert("readPoint".into(), json!({"id": read_point}));
    }
    if let Some(location) = facts.and_then(|facts| facts.biz_location.as_ref()) {
        event.insert("bizLocation".into(), json!({"id": location}));
    }
    event.insert("suyuan:nonce".into(), json!(payload.nonce.to_string()));
    Some(Value::Object(event))
}

fn object_event(event: &mut Map<String, Value>, action: &str, step: &str, disposition: &str) {
    event.insert("type".into(), json!("ObjectEvent"));
    event.insert("action".into(), json!(action));
    event.insert("bizStep".into(), json!(step));
    event.insert("disposition".into(), json!(disposition));
}

fn aggregation_event(event: &mut Map<String, Value>, action: &str, step: &str) {
    event.insert("type".into(), json!("AggregationEvent"));
    event.insert("action".into(), json!(action));
    event.insert("bizStep".into(), json!(step));
    event.insert("disposition".into(), json!("in_progress"));
}

/// Midnight of a ledger date in China Standard Time.
fn date_time(date: Date) -> Option<EventTime> {
    let local_ms = date.days_since_epoch().checked_mul(86_400_000)?;
    EventTime::new(
        local_ms - i64::from(CHINA_OFFSET_MINUTES) * 60_000,
        CHINA_OFFSET_MINUTES,
    )
}

fn quantity_entry(code: &TraceCode, quantity: Option<u64>, lengths: &dyn PrefixLengths) -> Value {
    match quantity {
        Some(quantity) => json!({"epcClass": code_uri(code, lengths), "quantity": quantity}),
        None => json!({"epcClass": code_uri(code, lengths)}),
    }
}

/// Lines that move: batches (and Ecode or Handle codes of more than one unit) as classes with
/// their quantities, everything else as instances.
fn lines(
    event: &mut Map<String, Value>,
    lines: &[ShipmentLine],
    instances: &str,
    classes: &str,
    lengths: &dyn PrefixLengths,
) {
    let (mut epcs, mut quantities) = (Vec::new(), Vec::new());
    for line in lines {
        if is_class(&line.code) || line.quantity != 1 {
            quantities.push(quantity_entry(&line.code, Some(line.quantity), lengths));
        } else {
            epcs.push(json!(code_uri(&line.code, lengths)));
        }
    }
    event.insert(instances.into(), Value::Array(epcs));
    if !quantities.is_empty() {
        event.insert(classes.into(), Value::Array(quantities));
    }
}

/// What an inspection or recall is about: items and units in `epcList`, batches and GTIN
/// models as classes in `quantityList`, Ecode and Handle models in `suyuan:models`, a
/// sampled product in `suyuan:sampled`.
fn subjects(event: &mut Map<String, Value>, subjects: &[Subject], lengths: &dyn PrefixLengths) {
    let (mut epcs, mut classes, mut models) = (Vec::new(), Vec::new(), Vec::new());
    for subject in subjects {
        match subject {
            Subject::Code(code) if is_class(code) => {
                classes.push(quantity_entry(code, None, lengths))
            }
            Subject::Code(code) => epcs.push(json!(code_uri(code, lengths))),
            Subject::Model(model @ ModelCode::Gtin(_)) => {
                classes.push(json!({"epcClass": model_uri(model, lengths)}));
            }
            Subject::Model(model) => models.push(json!(model.to_string())),
            Subject::Sampled(sampled) => {
                if let Ok(value) = serde_json::to_value(sampled) {
                    event.insert("suyuan:sampled".into(), value);
                }
            }
        }
    }
    event.insert("epcList".into(), Value::Array(epcs));
    if !classes.is_empty() {
        event.insert("quantityList".into(), Value::Array(classes));
    }
    if !models.is_empty() {
        event.insert("suyuan:models".into(), Value::Array(models));
    }
}
