//! An EPCIS 2.0 event as the Suyuan payload that records it: the reverse of
//! [`crate::export`].
//!
//! An event becomes a record when Suyuan keeps its kind (docs/epcis.md): commissioning,
//! inspecting, shipping and retail selling, holding (a recall and its close), packing and
//! unpacking. Anything the record could not keep is refused with the reason, never dropped:
//! other business steps and event types, sensor data, error declarations, extension fields
//! outside `suyuan:`. The payload's nonce is the event's `suyuan:nonce` where it has one (an
//! event Suyuan exported), else derived from its event id (or, without one, its content), so
//! that capturing the same event twice makes the same transaction, which the ledger refuses.

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use suyuan_ledger::codes::gs1::keys::Gln;
use suyuan_ledger::codes::model::ModelCode;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::event::{EpcisEvent, EventTime, EventUri};
use suyuan_ledger::hash::hash_parts;
use suyuan_ledger::record::{
    CloseRecall, Commissioning, Inspection, Items, Pack, Party, Recall, Record, ReportRef,
    SampledProduct, Shipment, ShipmentLine, Subject, TraceCode, UnitCode, Unpack,
};
use suyuan_ledger::text::{Date, LongText, Reference, ShortText};
use suyuan_ledger::tx::{Payload, TxId};

use crate::error::CaptureError;
use crate::ids::{code_of_uri, gtin_model_of_uri, uscc_of_party};

/// What capturing needs besides the event.
pub struct CaptureContext<'a> {
    /// The enterprise the capturing key speaks for: the producer, seller or packer of an
    /// event that does not name one in `suyuan:enterprise` or `sourceList`.
    pub enterprise: Option<Uscc>,
    /// The transaction of an open recall, by the recall's event id: what a close names.
    pub recall: &'a dyn Fn(&str) -> Option<TxId>,
    /// The enrolled enterprise whose profile claims a party GLN: how a party named by GLN
    /// becomes the enterprise it is ([`crate::ids::party_glns_named`] lists those to look up).
    pub party: &'a dyn Fn(&Gln) -> Option<Uscc>,
}

/// Fields every event may carry.
const COMMON: [&str; 11] = [
    "type",
    "eventID",
    "eventTime",
    "eventTimeZoneOffset",
    "recordTime",
    "action",
    "bizStep",
    "disposition",
    "readPoint",
    "bizLocation",
    "suyuan:nonce",
];

/// The record kinds an event can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Commission,
    Inspect,
    Ship,
    Recall,
    CloseRecall,
    Pack,
    Unpack,
}

impl Kind {
    /// The fields besides [`COMMON`] this kind reads.
    fn fields(self) -> &'static [&'static str] {
        match self {
            Kind::Commission => &[
                "epcList",
                "quantityList",
                "ilmd",
                "suyuan:enterprise",
                "suyuan:model",
                "suyuan:batch",
                "suyuan:inspectionReport",
            ],
            Kind::Inspect => &[
                "epcList",
                "quantityList",
                "suyuan:models",
                "suyuan:sampled",
                "suyuan:inspection",
            ],
            Kind::Ship => &[
                "epcList",
                "quantityList",
                "sourceList",
                "destinationList",
                "suyuan:buyer",
                "suyuan:orderReference",
            ],
            Kind::Recall => &[
                "epcList",
                "quantityList",
                "suyuan:models",
                "suyuan:enterprise",
                "suyuan:recall",
            ],
            Kind::CloseRecall => &["epcList", "suyuan:closeRecall"],
            Kind::Pack => &[
                "parentID",
                "childEPCs",
                "childQuantityList",
                "suyuan:enterprise",
            ],
            Kind::Unpack => &["parentID", "childEPCs", "suyuan:enterprise"],
        }
    }
}

/// The payload that records `event`.
pub fn capture_event(event: &Value, context: &CaptureContext<'_>) -> Result<Payload, CaptureError> {
    let event = event
        .as_object()
        .ok_or_else(|| CaptureError::NotADocument {
            reason: "an event is a JSON object".into(),
        })?;
    let kind = kind_of(event)?;
    check_fields(event, kind)?;
    check_disposition(event, kind)?;
    let facts = facts_of(event)?;
    let time = facts.time.ok_or(CaptureError::Missing {
        field: "eventTime",
        why: "every event has a time",
    })?;
    let time_ms = || {
        u64::try_from(time.unix_ms()).map_err(|_| CaptureError::invalid("eventTime", "before 1970"))
    };
    let record = match kind {
        Kind::Commission => Record::Commission(commission(event, context, time)?),
        Kind::Inspect => Record::Inspect(inspection(event, time)?),
        Kind::Ship => Record::Ship(shipment(event, context, time_ms()?)?),
        Kind::Recall => Record::Recall(recall(event, context, time)?),
        Kind::CloseRecall => Record::CloseRecall(close_recall(event, context)?),
        Kind::Pack => Record::Pack(Pack {
            uscc: enterprise(event, context)?,
            sscc: unit(event)?,
            contents: lines(event, "childEPCs", "childQuantityList")?,
            packed_at_ms: time_ms()?,
        }),
        Kind::Unpack => {
            if list(event, "childEPCs")?.is_some_and(|children| !children.is_empty()) {
                return Err(CaptureError::unsupported(
                    "unpacking part of a logistic unit: Suyuan unpacks the whole unit, so an \
                     unpacking event lists no childEPCs",
                ));
            }
            Record::Unpack(Unpack {
                uscc: enterprise(event, context)?,
                sscc: unit(event)?,
                unpacked_at_ms: time_ms()?,
            })
        }
    };
    let mut payload = Payload {
        nonce: nonce(event)?,
        record,
        event: None,
    };
    // An event Suyuan exported from a record without event facts carries the id derived from
    // that record's payload bytes: captured back, it is that very payload, so that capturing
    // an export of a chain's own records again is a replay rather than a second record. A
    // location the record did not have keeps the facts (and makes another transaction).
    let exported_bare = facts.read_point.is_none()
        && facts.biz_location.is_none()
        && facts.id.as_ref().is_some_and(|id| {
            id.to_string() == crate::export::event_id(&payload, &payload.to_bytes())
        });
    if !exported_bare {
        payload.event = Some(facts);
    }
    Ok(payload)
}

/// Which record the event's type, action and business step make.
fn kind_of(event: &Map<String, Value>) -> Result<Kind, CaptureError> {
    let event_type = text(event, "type")?.unwrap_or_default();
    let action = text(event, "action")?.unwrap_or_default();
    let step = text(event, "bizStep")?.map(|step| bare(step, "bizstep"));
    let disposition = text(event, "disposition")?.map(|d| bare(d, "disp"));
    let kind = match (event_type, action, step.as_deref()) {
        ("ObjectEvent", "ADD", Some("commissioning")) => Kind::Commission,
        ("ObjectEvent", "OBSERVE", Some("inspecting")) => Kind::Inspect,
        ("ObjectEvent", "OBSERVE", Some("shipping" | "retail_selling")) => Kind::Ship,
        ("ObjectEvent", "OBSERVE", Some("holding")) => match disposition.as_deref() {
            Some("recalled") => Kind::Recall,
            Some("active") if event.contains_key("suyuan:closeRecall") => Kind::CloseRecall,
            _ => {
                return Err(CaptureError::unsupported(
                    "a holding event other than a recall (disposition recalled) or the close of \
                     one (disposition active with suyuan:closeRecall)",
                ));
            }
        },
        ("AggregationEvent", "ADD", Some("packing")) => Kind::Pack,
        ("AggregationEvent", "DELETE", Some("unpacking")) => Kind::Unpack,
        ("ObjectEvent" | "AggregationEvent", action, step) => {
            return Err(CaptureError::unsupported(format!(
                "{event_type} with action {action} and business step {}: Suyuan records \
                 commissioning (ADD), inspecting, shipping, retail_selling and holding \
                 (OBSERVE) object events, and packing (ADD) and unpacking (DELETE) aggregations",
                step.unwrap_or("(none)")
            )));
        }
        (other, _, _) => {
            return Err(CaptureError::unsupported(format!(
                "event type {other:?}: Suyuan records ObjectEvents and AggregationEvents only"
            )));
        }
    };
    Ok(kind)
}

/// Checks the disposition against the business step's.
fn check_disposition(event: &Map<String, Value>, kind: Kind) -> Result<(), CaptureError> {
    let step = text(event, "bizStep")?.map(|step| bare(step, "bizstep"));
    let disposition = text(event, "disposition")?.map(|d| bare(d, "disp"));
    let expected = match kind {
        Kind::Commission | Kind::CloseRecall => &["active"][..],
        Kind::Inspect => &["conformant", "non_conformant"][..],
        Kind::Ship if step.as_deref() == Some("shipping") => &["in_transit"][..],
        Kind::Ship => &["retail_sold"][..],
        Kind::Recall => &["recalled"][..],
        Kind::Pack | Kind::Unpack => &["in_progress"][..],
    };
    match disposition.as_deref() {
        Some(found) if !expected.contains(&found) => Err(CaptureError::invalid(
            "disposition",
            format!(
                "{found} where this business step takes {}",
                expected.join(" or ")
            ),
        )),
        None if kind == Kind::Inspect => Err(CaptureError::Missing {
            field: "disposition",
            why: "an inspection's outcome is conformant or non_conformant",
        }),
        _ => Ok(()),
    }
}

/// A CBV value without its URI prefix: `shipping` from `shipping`,
/// `urn:epcglobal:cbv:bizstep:shipping` or `https://ref.gs1.org/cbv/BizStep-shipping`.
fn bare(value: &str, vocabulary: &str) -> String {
    let urn = format!("urn:epcglobal:cbv:{vocabulary}:");
    let web = match vocabulary {
        "bizstep" => "https://ref.gs1.org/cbv/BizStep-",
        _ => "https://ref.gs1.org/cbv/Disp-",
    };
    value
        .strip_prefix(urn.as_str())
        .or_else(|| value.strip_prefix(web))
        .unwrap_or(value)
        .to_owned()
}

/// Refuses every field the record could not keep.
fn check_fields(event: &Map<String, Value>, kind: Kind) -> Result<(), CaptureError> {
    let known: BTreeSet<&str> = COMMON.iter().chain(kind.fields()).copied().collect();
    for field in event.keys() {
        if known.contains(field.as_str()) {
            continue;
        }
        let what = match field.as_str() {
            "sensorElementList" => "sensor data (sensorElementList)".to_owned(),
            "errorDeclaration" => "error declarations: a record on the ledger is never \
                                   withdrawn; record a correcting event instead"
                .to_owned(),
            "persistentDisposition" => "persistent dispositions".to_owned(),
            "certificationInfo" => "certificationInfo: Suyuan keeps the inspection report \
                                    in suyuan:inspectionReport or suyuan:inspection"
                .to_owned(),
            "bizTransactionList" => "business transaction lists: give an order reference as \
                                     suyuan:orderReference"
                .to_owned(),
            other => format!("the field {other} in this kind of event"),
        };
        return Err(CaptureError::unsupported(what));
    }
    Ok(())
}

/// The event's id, time and locations.
fn facts_of(event: &Map<String, Value>) -> Result<EpcisEvent, CaptureError> {
    let id = text(event, "eventID")?
        .map(|id| {
            id.parse::<EventUri>()
                .map_err(|e| CaptureError::invalid("eventID", e))
        })
        .transpose()?;
    let time = match text(event, "eventTime")? {
        Some(time) => Some(event_time(time, text(event, "eventTimeZoneOffset")?)?),
        None => None,
    };
    let location = |field: &'static str| -> Result<Option<EventUri>, CaptureError> {
        match event.get(field) {
            None => Ok(None),
            Some(value) => value
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| CaptureError::invalid(field, "a location is {\"id\": URI}"))?
                .parse()
                .map(Some)
                .map_err(|e| CaptureError::invalid(field, e)),
        }
    };
    Ok(EpcisEvent {
        id,
        time,
        read_point: location("readPoint")?,
        biz_location: location("bizLocation")?,
    })
}

/// `eventTime` seen at `eventTimeZoneOffset`.
fn event_time(time: &str, offset: Option<&str>) -> Result<EventTime, CaptureError> {
    let instant = instant(time).map_err(|e| CaptureError::invalid("eventTime", e))?;
    let offset = offset.ok_or(CaptureError::Missing {
        field: "eventTimeZoneOffset",
        why: "EPCIS gives every event time the offset of its place",
    })?;
    let minutes = EventTime::parse_offset(offset)
        .map_err(|e| CaptureError::invalid("eventTimeZoneOffset", e))?;
    instant
        .at_offset(minutes)
        .ok_or_else(|| CaptureError::invalid("eventTime", "outside the years 1970 to 9999"))
}

/// An RFC 3339 time as EPCIS writes them, any number of fraction digits: those beyond the
/// millisecond are dropped, the precision the ledger keeps.
pub(crate) fn instant(time: &str) -> Result<EventTime, suyuan_ledger::event::EventError> {
    let truncated = match time.split_once('.') {
        Some((whole, rest)) => {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let (fraction, zone) = rest.split_at(digits);
            format!("{whole}.{}{zone}", &fraction[..fraction.len().min(3)])
        }
        None => time.to_owned(),
    };
    truncated.parse()
}

/// The local date of an event time.
fn local_date(time: EventTime) -> Result<Date, CaptureError> {
    let text = time.to_string();
    text[..10]
        .parse()
        .map_err(|e| CaptureError::invalid("eventTime", e))
}

fn nonce(event: &Map<String, Value>) -> Result<u64, CaptureError> {
    if let Some(nonce) = text(event, "suyuan:nonce")? {
        return nonce
            .parse()
            .map_err(|_| CaptureError::invalid("suyuan:nonce", "a decimal u64, as a string"));
    }
    let basis = match text(event, "eventID")? {
        Some(id) => id.as_bytes().to_vec(),
        None => serde_json::to_vec(event).map_err(|e| CaptureError::invalid("event", e))?,
    };
    let digest = hash_parts("suyuan epcis capture nonce v1", &[&basis]);
    let mut bytes = [0_u8; 8];
    bytes.copy_from_slice(&digest.as_bytes()[..8]);
    Ok(u64::from_le_bytes(bytes))
}

fn commission(
    event: &Map<String, Value>,
    context: &CaptureContext<'_>,
    time: EventTime,
) -> Result<Commissioning, CaptureError> {
    let epcs = list(event, "epcList")?.unwrap_or_default();
    let classes = quantities(event, "quantityList")?;
    let items = match (epcs.is_empty(), classes.as_slice()) {
        (true, [(code, Some(quantity))]) => Items::Batch {
            code: code.clone(),
            quantity: *quantity,
        },
        (false, []) => Items::Serialised {
            codes: epcs,
            batch: text(event, "suyuan:batch")?.map(code_of_uri).transpose()?,
        },
        _ => {
            return Err(CaptureError::invalid(
                "epcList",
                "a commissioning names serialised items in epcList, or one batch with its \
                 quantity in quantityList",
            ));
        }
    };
    let model_code = match text(event, "suyuan:model")? {
        Some(model) => model
            .parse::<ModelCode>()
            .map_err(|e| CaptureError::invalid("suyuan:model", e))?,
        None => model_of(&items)?,
    };
    let ilmd = event.get("ilmd").and_then(Value::as_object);
    let ilmd_field = |name: &str| ilmd.and_then(|ilmd| ilmd.get(name));
    if let Some(ilmd) = ilmd
        && let Some(other) = ilmd
            .keys()
            .find(|k| !matches!(k.as_str(), "suyuan:productionDate" | "suyuan:factoryNumber"))
    {
        return Err(CaptureError::unsupported(format!(
            "the lot master data field {other}: Suyuan keeps suyuan:productionDate and \
             suyuan:factoryNumber"
        )));
    }
    let production_date = match ilmd_field("suyuan:productionDate") {
        Some(value) => parse::<Date>(value, "ilmd.suyuan:productionDate")?,
        None => local_date(time)?,
    };
    Ok(Commissioning {
        uscc: enterprise(event, context)?,
        model_code,
        items,
        production_date,
        factory_number: ilmd_field("suyuan:factoryNumber")
            .map(|value| parse::<ShortText>(value, "ilmd.suyuan:factoryNumber"))
            .transpose()?,
        inspection_report: parse::<ReportRef>(
            event
                .get("suyuan:inspectionReport")
                .ok_or(CaptureError::Missing {
                    field: "suyuan:inspectionReport",
                    why: "a commissioning names the type or factory inspection report that covers \
                      the items (kind, number, issued_by, document_sha256)",
                })?,
            "suyuan:inspectionReport",
        )?,
    })
}

/// The model of commissioned GS1 codes: their GTIN.
fn model_of(items: &Items) -> Result<ModelCode, CaptureError> {
    let first = match items {
        Items::Batch { code, .. } => Some(code),
        Items::Serialised { codes, .. } => codes.first(),
    };
    first
        .and_then(TraceCode::gtin)
        .map(|gtin| ModelCode::Gtin(gtin.clone()))
        .ok_or(CaptureError::Missing {
            field: "suyuan:model",
            why: "Ecode and Handle codes do not name their model",
        })
}

fn inspection(event: &Map<String, Value>, time: EventTime) -> Result<Inspection, CaptureError> {
    let outcome = match text(event, "disposition")?
        .map(|d| bare(d, "disp"))
        .as_deref()
    {
        Some("non_conformant") => suyuan_ledger::record::Outcome::NonConformant,
        _ => suyuan_ledger::record::Outcome::Conformant,
    };
    let mut subjects = subjects(event)?;
    if let Some(sampled) = event.get("suyuan:sampled") {
        subjects.push(Subject::Sampled(Box::new(parse::<SampledProduct>(
            sampled,
            "suyuan:sampled",
        )?)));
    }
    let [subject] = <[Subject; 1]>::try_from(subjects).map_err(|found| {
        CaptureError::invalid(
            "epcList",
            format!(
                "an inspection is of one code, model or sampled product; this event names {}",
                found.len()
            ),
        )
    })?;
    let details = event
        .get("suyuan:inspection")
        .and_then(Value::as_object)
        .ok_or(CaptureError::Missing {
            field: "suyuan:inspection",
            why: "an inspection names its standards, report number and the report's SHA-256",
        })?;
    let field = |name: &'static str| details.get(name);
    let required = |name: &'static str| {
        field(name).ok_or(CaptureError::Missing {
            field: name,
            why: "suyuan:inspection has standards, reportNumber and documentSha256",
        })
    };
    Ok(Inspection {
        subject,
        outcome,
        standards: parse(required("standards")?, "suyuan:inspection.standards")?,
        inspected_on: match field("inspectedOn") {
            Some(value) => parse(value, "suyuan:inspection.inspectedOn")?,
            None => local_date(time)?,
        },
        report_number: parse(required("reportNumber")?, "suyuan:inspection.reportNumber")?,
        document_sha256: parse(
            required("documentSha256")?,
            "suyuan:inspection.documentSha256",
        )?,
        findings: field("findings")
            .map(|value| parse::<LongText>(value, "suyuan:inspection.findings"))
            .transpose()?,
        accreditation: field("accreditation")
            .map(|value| parse(value, "suyuan:inspection.accreditation"))
            .transpose()?,
    })
}

fn shipment(
    event: &Map<String, Value>,
    context: &CaptureContext<'_>,
    sold_at_ms: u64,
) -> Result<Shipment, CaptureError> {
    let seller = match party_of(event, context, "sourceList", "source")? {
        Some(seller) => seller,
        None => enterprise(event, context)?,
    };
    let buyer: Party = parse(
        event.get("suyuan:buyer").ok_or(CaptureError::Missing {
            field: "suyuan:buyer",
            why: "a sale names the buyer: a company's USCC, name, address and contact, or a \
                  person's salted commitment and data reference",
        })?,
        "suyuan:buyer",
    )?;
    if let (Some(destination), Party::Enterprise { uscc, .. }) = (
        party_of(event, context, "destinationList", "destination")?,
        &buyer,
    ) && &destination != uscc
    {
        return Err(CaptureError::invalid(
            "destinationList",
            format!("the owning party {destination} is not the buyer {uscc}"),
        ));
    }
    Ok(Shipment {
        seller,
        buyer,
        sold_at_ms,
        lines: lines(event, "epcList", "quantityList")?,
        order_reference: event
            .get("suyuan:orderReference")
            .map(|value| parse::<Reference>(value, "suyuan:orderReference"))
            .transpose()?,
    })
}

fn recall(
    event: &Map<String, Value>,
    context: &CaptureContext<'_>,
    time: EventTime,
) -> Result<Recall, CaptureError> {
    let details = event
        .get("suyuan:recall")
        .and_then(Value::as_object)
        .ok_or(CaptureError::Missing {
            field: "suyuan:recall",
            why: "a recall gives its reason (the defect and the hazard)",
        })?;
    Ok(Recall {
        producer: enterprise(event, context)?,
        subjects: subjects(event)?,
        reason: parse(
            details.get("reason").ok_or(CaptureError::Missing {
                field: "suyuan:recall.reason",
                why: "a recall gives its reason",
            })?,
            "suyuan:recall.reason",
        )?,
        announced_on: match details.get("announcedOn") {
            Some(value) => parse(value, "suyuan:recall.announcedOn")?,
            None => local_date(time)?,
        },
    })
}

fn close_recall(
    event: &Map<String, Value>,
    context: &CaptureContext<'_>,
) -> Result<CloseRecall, CaptureError> {
    if list(event, "epcList")?.is_some_and(|epcs| !epcs.is_empty()) {
        return Err(CaptureError::invalid(
            "epcList",
            "closing a recall names the recall, not codes",
        ));
    }
    let details = event
        .get("suyuan:closeRecall")
        .and_then(Value::as_object)
        .ok_or_else(|| CaptureError::invalid("suyuan:closeRecall", "an object"))?;
    let recall_event =
        details
            .get("recall")
            .and_then(Value::as_str)
            .ok_or(CaptureError::Missing {
                field: "suyuan:closeRecall.recall",
                why: "the event id of the recall closed",
            })?;
    let recall = (context.recall)(recall_event).ok_or_else(|| CaptureError::UnknownRecall {
        event_id: recall_event.to_owned(),
    })?;
    Ok(CloseRecall {
        recall,
        resolution: parse(
            details.get("resolution").ok_or(CaptureError::Missing {
                field: "suyuan:closeRecall.resolution",
                why: "how the recall was resolved",
            })?,
            "suyuan:closeRecall.resolution",
        )?,
    })
}

/// The enterprise an event is by: `suyuan:enterprise`, else the capturing enterprise.
fn enterprise(
    event: &Map<String, Value>,
    context: &CaptureContext<'_>,
) -> Result<Uscc, CaptureError> {
    match text(event, "suyuan:enterprise")? {
        Some(party) => uscc_of_party(party, context.party),
        None => context.enterprise.clone().ok_or(CaptureError::Missing {
            field: "suyuan:enterprise",
            why: "the event does not say which enterprise it is by, and the capture names none",
        }),
    }
}

/// The owning party of a source or destination list, if it names one.
fn party_of(
    event: &Map<String, Value>,
    context: &CaptureContext<'_>,
    list: &str,
    field: &str,
) -> Result<Option<Uscc>, CaptureError> {
    let Some(entries) = event.get(list).and_then(Value::as_array) else {
        return Ok(None);
    };
    let mut owner = None;
    for entry in entries {
        let kind = entry
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if bare(kind, "sdt") != "owning_party" && !kind.ends_with("SDT-owning_party") {
            return Err(CaptureError::unsupported(format!(
                "a {list} entry of type {kind}: Suyuan keeps the owning parties"
            )));
        }
        let uri = entry.get(field).and_then(Value::as_str).unwrap_or_default();
        owner = Some(uscc_of_party(uri, context.party)?);
    }
    Ok(owner)
}

/// The logistic unit an aggregation names.
fn unit(event: &Map<String, Value>) -> Result<UnitCode, CaptureError> {
    let parent = text(event, "parentID")?.ok_or(CaptureError::Missing {
        field: "parentID",
        why: "packing and unpacking name the logistic unit's SSCC",
    })?;
    let code = code_of_uri(parent)?;
    UnitCode::try_from(code).map_err(|e| CaptureError::invalid("parentID", e))
}

/// Instances (quantity 1 each) and classes with their quantities, as lines.
fn lines(
    event: &Map<String, Value>,
    instances: &str,
    classes: &str,
) -> Result<Vec<ShipmentLine>, CaptureError> {
    let mut lines: Vec<ShipmentLine> = list(event, instances)?
        .unwrap_or_default()
        .into_iter()
        .map(|code| ShipmentLine { code, quantity: 1 })
        .collect();
    for (code, quantity) in quantities(event, classes)? {
        let quantity = quantity.ok_or(CaptureError::Missing {
            field: "quantity",
            why: "a class that moves says how many units",
        })?;
        lines.push(ShipmentLine { code, quantity });
    }
    Ok(lines)
}

/// What an inspection or recall names: codes, batches, GTIN models in `quantityList`, and
/// Ecode or Handle models in `suyuan:models`.
fn subjects(event: &Map<String, Value>) -> Result<Vec<Subject>, CaptureError> {
    let mut subjects: Vec<Subject> = list(event, "epcList")?
        .unwrap_or_default()
        .into_iter()
        .map(Subject::Code)
        .collect();
    for entry in event
        .get("quantityList")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let class = entry
            .get("epcClass")
            .and_then(Value::as_str)
            .ok_or_else(|| CaptureError::invalid("quantityList", "an entry names an epcClass"))?;
        subjects.push(match gtin_model_of_uri(class)? {
            Some(model) => Subject::Model(model),
            None => Subject::Code(code_of_uri(class)?),
        });
    }
    if let Some(models) = event.get("suyuan:models") {
        let models: Vec<ModelCode> = parse(models, "suyuan:models")?;
        subjects.extend(models.into_iter().map(Subject::Model));
    }
    Ok(subjects)
}

/// The codes of an EPC list, if the event has one.
fn list(event: &Map<String, Value>, field: &str) -> Result<Option<Vec<TraceCode>>, CaptureError> {
    let Some(value) = event.get(field) else {
        return Ok(None);
    };
    let uris = value
        .as_array()
        .ok_or_else(|| CaptureError::invalid(field, "a list of URIs"))?;
    uris.iter()
        .map(|uri| {
            uri.as_str()
                .ok_or_else(|| CaptureError::invalid(field, "a list of URIs"))
                .and_then(code_of_uri)
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The classes of a quantity list with their quantities (whole units, no unit of measure).
fn quantities(
    event: &Map<String, Value>,
    field: &str,
) -> Result<Vec<(TraceCode, Option<u64>)>, CaptureError> {
    let Some(entries) = event.get(field).and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    entries
        .iter()
        .map(|entry| {
            let class = entry
                .get("epcClass")
                .and_then(Value::as_str)
                .ok_or_else(|| CaptureError::invalid(field, "an entry names an epcClass"))?;
            if entry.get("uom").is_some() {
                return Err(CaptureError::unsupported(format!(
                    "a quantity with a unit of measure in {field}: Suyuan counts whole units"
                )));
            }
            if gtin_model_of_uri(class)?.is_some() {
                return Err(CaptureError::unsupported(format!(
                    "a whole model ({class}) in {field}: Suyuan moves batches, items and units"
                )));
            }
            let quantity = match entry.get("quantity") {
                None => None,
                Some(value) => Some(value.as_u64().filter(|q| *q > 0).ok_or_else(|| {
                    CaptureError::invalid(field, "a quantity is a whole number of units, above 0")
                })?),
            };
            Ok((code_of_uri(class)?, quantity))
        })
        .collect()
}

fn text<'a>(event: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, CaptureError> {
    match event.get(field) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(CaptureError::invalid(field, "a string")),
    }
}

/// A value as Suyuan's own type, with the parser's reason when it is not one.
fn parse<T: DeserializeOwned>(value: &Value, field: &str) -> Result<T, CaptureError> {
    serde_json::from_value(value.clone()).map_err(|e| CaptureError::invalid(field, e))
}
