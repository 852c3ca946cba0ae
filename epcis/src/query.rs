//! The simple event query of EPCIS 2.0, as `GET /epcis/events` takes it in the query string.
//!
//! Parameters: `eventType`, `GE_eventTime`, `LT_eventTime`, `GE_recordTime`, `LT_recordTime`,
//! `EQ_action`, `EQ_bizStep`, `EQ_disposition`, `EQ_readPoint`, `EQ_bizLocation`,
//! `EQ_eventID`, `MATCH_epc`, `MATCH_parentID`, `MATCH_anyEPC`, `MATCH_epcClass`,
//! `MATCH_anyEPCClass`, `perPage` and `nextPageToken`. A list takes values separated by commas
//! or the parameter repeated; the values of one parameter are alternatives, the parameters
//! together all apply. EPCs are compared as the codes they name, so an EPC URN matches the
//! same code's Digital Link. Any other parameter is refused by name, never ignored.

use serde_json::Value;
use suyuan_ledger::event::EventTime;
use suyuan_ledger::record::TraceCode;

use crate::capture::instant;
use crate::error::CaptureError;
use crate::ids::code_of_uri;

/// Most events one page holds, and the page size when `perPage` is not given.
pub const MAX_PER_PAGE: usize = 1000;

/// The page size when `perPage` is not given.
pub const DEFAULT_PER_PAGE: usize = 100;

/// A parsed simple event query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// `eventType`: `ObjectEvent`, `AggregationEvent`.
    pub event_types: Vec<String>,
    /// `GE_eventTime`, Unix milliseconds.
    pub event_time_from: Option<i64>,
    /// `LT_eventTime`, Unix milliseconds.
    pub event_time_before: Option<i64>,
    /// `GE_recordTime`: the block's time, Unix milliseconds.
    pub record_time_from: Option<i64>,
    /// `LT_recordTime`.
    pub record_time_before: Option<i64>,
    /// `EQ_action`.
    pub actions: Vec<String>,
    /// `EQ_bizStep`, bare CBV words.
    pub biz_steps: Vec<String>,
    /// `EQ_disposition`, bare CBV words.
    pub dispositions: Vec<String>,
    /// `EQ_readPoint`.
    pub read_points: Vec<String>,
    /// `EQ_bizLocation`.
    pub biz_locations: Vec<String>,
    /// `EQ_eventID`.
    pub event_ids: Vec<String>,
    /// `MATCH_epc`: codes in `epcList` or `childEPCs`.
    pub epcs: Vec<TraceCode>,
    /// `MATCH_parentID`.
    pub parents: Vec<TraceCode>,
    /// `MATCH_anyEPC`: codes anywhere (instances, parent, classes).
    pub any_epcs: Vec<TraceCode>,
    /// `MATCH_epcClass`: classes in `quantityList` or `childQuantityList`.
    pub classes: Vec<TraceCode>,
    /// `MATCH_anyEPCClass`.
    pub any_classes: Vec<TraceCode>,
    /// `perPage`.
    pub per_page: usize,
    /// `nextPageToken`, as the previous page gave it.
    pub page_token: Option<String>,
}

impl EventQuery {
    /// Parses the query string's pairs (already percent-decoded).
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<EventQuery, CaptureError> {
        let mut query = EventQuery {
            per_page: DEFAULT_PER_PAGE,
            ..EventQuery::default()
        };
        for (name, value) in pairs {
            let values = || value.split(',').map(str::trim).filter(|v| !v.is_empty());
            let strings = || values().map(str::to_owned).collect::<Vec<_>>();
            let codes =
                || -> Result<Vec<TraceCode>, CaptureError> { values().map(code_of_uri).collect() };
            match name {
                "eventType" => query.event_types.extend(strings()),
                "GE_eventTime" => query.event_time_from = Some(time(name, value)?),
                "LT_eventTime" => query.event_time_before = Some(time(name, value)?),
                "GE_recordTime" => query.record_time_from = Some(time(name, value)?),
                "LT_recordTime" => query.record_time_before = Some(time(name, value)?),
                "EQ_action" => query.actions.extend(strings()),
                "EQ_bizStep" => query.biz_steps.extend(values().map(bare_word)),
                "EQ_disposition" => query.dispositions.extend(values().map(bare_word)),
                "EQ_readPoint" => query.read_points.extend(strings()),
                "EQ_bizLocation" => query.biz_locations.extend(strings()),
                "EQ_eventID" => query.event_ids.extend(strings()),
                "MATCH_epc" => query.epcs.extend(codes()?),
                "MATCH_parentID" => query.parents.extend(codes()?),
                "MATCH_anyEPC" => query.any_epcs.extend(codes()?),
                "MATCH_epcClass" => query.classes.extend(codes()?),
                "MATCH_anyEPCClass" => query.any_classes.extend(codes()?),
                "perPage" => {
                    query.per_page = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_PER_PAGE).contains(n))
                        .ok_or_else(|| {
                            CaptureError::invalid(
                                "perPage",
                                format!("a page holds 1 to {MAX_PER_PAGE} events"),
                            )
                        })?;
                }
                "nextPageToken" => query.page_token = Some(value.to_owned()),
                other => {
                    return Err(CaptureError::unsupported(format!(
                        "the query parameter {other}"
                    )));
                }
            }
        }
        Ok(query)
    }

    /// The codes the query names, if it names any: where a node can look them up by index
    /// instead of reading the whole chain.
    pub fn named_codes(&self) -> Vec<&TraceCode> {
        let mut codes: Vec<&TraceCode> = self
            .epcs
            .iter()
            .chain(&self.parents)
            .chain(&self.any_epcs)
            .chain(&self.classes)
            .chain(&self.any_classes)
            .collect();
        codes.sort();
        codes.dedup();
        codes
    }

    /// Whether an exported event, recorded in a block of time `record_time_ms`, answers the
    /// query.
    pub fn matches(&self, event: &Value, record_time_ms: i64) -> bool {
        let field = |name: &str| event.get(name).and_then(Value::as_str).unwrap_or_default();
        let one_of =
            |wanted: &[String], found: &str| wanted.is_empty() || wanted.iter().any(|w| w == found);
        let event_time = field("eventTime")
            .parse::<EventTime>()
            .map(|t| t.unix_ms())
            .unwrap_or(i64::MIN);
        let within = |value: i64, from: Option<i64>, before: Option<i64>| {
            from.is_none_or(|from| value >= from) && before.is_none_or(|before| value < before)
        };
        let location = |name: &str| {
            event
                .get(name)
                .and_then(|l| l.get("id"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let instances = codes_in(event, &["epcList", "childEPCs"]);
        let parent = codes_in(event, &["parentID"]);
        let classes = class_codes(event);
        let any = |wanted: &[TraceCode], found: &[TraceCode]| {
            wanted.is_empty() || wanted.iter().any(|w| found.contains(w))
        };
        let everything: Vec<TraceCode> = instances
            .iter()
            .chain(&parent)
            .chain(&classes)
            .cloned()
            .collect();
        one_of(&self.event_types, field("type"))
            && within(event_time, self.event_time_from, self.event_time_before)
            && within(
                record_time_ms,
                self.record_time_from,
                self.record_time_before,
            )
            && one_of(&self.actions, field("action"))
            && one_of(&self.biz_steps, field("bizStep"))
            && one_of(&self.dispositions, field("disposition"))
            && one_of(&self.read_points, &location("readPoint"))
            && one_of(&self.biz_locations, &location("bizLocation"))
            && one_of(&self.event_ids, field("eventID"))
            && any(&self.epcs, &instances)
            && any(&self.parents, &parent)
            && any(&self.any_epcs, &everything)
            && any(&self.classes, &classes)
            && any(&self.any_classes, &classes)
    }
}

/// A CBV value as the bare word Suyuan writes.
fn bare_word(value: &str) -> String {
    let value = value.rsplit(':').next().unwrap_or(value);
    let value = value.rsplit('/').next().unwrap_or(value);
    value
        .strip_prefix("BizStep-")
        .or_else(|| value.strip_prefix("Disp-"))
        .unwrap_or(value)
        .to_owned()
}

fn time(name: &str, value: &str) -> Result<i64, CaptureError> {
    instant(value)
        .map(|t| t.unix_ms())
        .map_err(|e| CaptureError::invalid(name, e))
}

/// The codes named in string or list fields of an event.
fn codes_in(event: &Value, fields: &[&str]) -> Vec<TraceCode> {
    let mut codes = Vec::new();
    for field in fields {
        match event.get(*field) {
            Some(Value::String(uri)) => codes.extend(code_of_uri(uri).ok()),
            Some(Value::Array(uris)) => codes.extend(
                uris.iter()
                    .filter_map(Value::as_str)
                    .filter_map(|uri| code_of_uri(uri).ok()),
            ),
            _ => {}
        }
    }
    codes
}

/// The classes of an event's quantity lists.
fn class_codes(event: &Value) -> Vec<TraceCode> {
    ["quantityList", "childQuantityList"]
        .iter()
        .filter_map(|field| event.get(*field).and_then(Value::as_array))
        .flatten()
        .filter_map(|entry| entry.get("epcClass")?.as_str())
        .filter_map(|uri| code_of_uri(uri).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parameters_are_read_and_unknown_ones_refused() {
        let query = EventQuery::parse([
            ("eventType", "ObjectEvent"),
            ("EQ_bizStep", "urn:epcglobal:cbv:bizstep:shipping,receiving"),
            ("MATCH_anyEPC", "urn:epc:id:sgtin:0614141.812345.6789"),
            ("GE_eventTime", "2026-01-01T00:00:00.000000+08:00"),
            ("perPage", "10"),
        ])
        .unwrap();
        assert_eq!(query.biz_steps, ["shipping", "receiving"]);
        assert_eq!(query.per_page, 10);
        assert_eq!(query.named_codes().len(), 1);
        assert!(matches!(
            EventQuery::parse([("EQ_userExtension", "x")]),
            Err(CaptureError::Unsupported { .. })
        ));
        assert!(EventQuery::parse([("perPage", "0")]).is_err());
        assert!(EventQuery::parse([("perPage", "1001")]).is_err());
    }

    #[test]
    fn an_epc_matches_the_same_code_in_either_form() {
        let event = json!({
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "bizStep": "shipping",
            "eventTime": "2026-03-14T09:30:00.000+08:00",
            "epcList": ["https://id.gs1.org/01/80614141123458/21/6789"],
        });
        let wanted =
            EventQuery::parse([("MATCH_epc", "urn:epc:id:sgtin:0614141.812345.6789")]).unwrap();
        assert!(wanted.matches(&event, 0));
        let other =
            EventQuery::parse([("MATCH_epc", "urn:epc:id:sgtin:0614141.812345.6790")]).unwrap();
        assert!(!other.matches(&event, 0));
        let later = EventQuery::parse([("GE_eventTime", "2026-03-14T01:30:00.001Z")]).unwrap();
        assert!(!later.matches(&event, 0));
        let step = EventQuery::parse([("EQ_bizStep", "receiving")]).unwrap();
        assert!(!step.matches(&event, 0));
    }
}
