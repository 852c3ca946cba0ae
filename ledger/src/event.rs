//! What a transaction keeps of the GS1 EPCIS 2.0 event it records, when the producer's system
//! reported it as one: the event's id, its time with the offset of the place it happened, and
//! where (the read point and business location).
//!
//! The record itself carries what Suyuan checks (who, which codes, how many); these facts are
//! kept beside it so that an event captured from EPCIS is exported again as the same event, and
//! so that a producer cannot record one event twice: an event id is used once among the records
//! of the party that signs it (an enterprise, or a regulator's key), which the execution rules
//! enforce (`duplicate_event`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::hash::{Hash32, hash_parts};
use crate::text::{civil_from_days, days_from_civil, days_in_month};

/// Longest event id or location URI accepted, in bytes.
pub const MAX_EVENT_URI_BYTES: usize = 256;

/// The EPCIS facts of one event, all optional; at least one must be given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EpcisEvent {
    /// The event's `eventID`: a URI, used once among the signing party's events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<EventUri>,
    /// `eventTime`, written in the offset of `eventTimeZoneOffset`. For a shipment, packing or
    /// unpacking it must be the record's own time to the millisecond.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<EventTime>,
    /// `readPoint.id`: where the event was observed, a URI (an SGLN, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_point: Option<EventUri>,
    /// `bizLocation.id`: where the objects are afterwards, a URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biz_location: Option<EventUri>,
}

impl EpcisEvent {
    /// Whether nothing is given.
    pub fn is_empty(&self) -> bool {
        self.id.is_none()
            && self.time.is_none()
            && self.read_point.is_none()
            && self.biz_location.is_none()
    }
}

/// The state key under which `party` records having used event id `id`: `party` is the
/// signing enterprise's USCC, or for a regulator or registrar its public key in hex.
pub fn event_key(party: &str, id: &EventUri) -> Hash32 {
    hash_parts(
        "suyuan epcis event id v1",
        &[party.as_bytes(), id.as_str().as_bytes()],
    )
}

/// A URI as EPCIS uses for ids and locations: 1 to [`MAX_EVENT_URI_BYTES`] printable ASCII
/// characters without spaces, quotes or angle brackets, starting with a scheme (`urn:`,
/// `https:`, `ni:`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventUri(String);

/// Why a string is not an [`EventUri`] or an [`EventTime`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Longer than [`MAX_EVENT_URI_BYTES`].
    #[error("a URI of {found} bytes exceeds the limit of {max}")]
    TooLong {
        /// The bound.
        max: usize,
        /// The length found.
        found: usize,
    },
    /// No `scheme:` at the start.
    #[error("a URI starts with a scheme and a colon (urn:, https:)")]
    NoScheme,
    /// A character a URI may not hold.
    #[error("character {character:?} at byte {position} may not appear in a URI")]
    Character {
        /// Byte offset.
        position: usize,
        /// The character.
        character: char,
    },
    /// Not `YYYY-MM-DDThh:mm:ss[.sss](Z|+hh:mm|-hh:mm)`.
    #[error("an event time is YYYY-MM-DDThh:mm:ss[.sss] and Z or an offset +hh:mm; {reason}")]
    Time {
        /// What is wrong.
        reason: &'static str,
    },
}

impl EventUri {
    /// The URI.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for EventUri {
    type Err = EventError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > MAX_EVENT_URI_BYTES {
            return Err(EventError::TooLong {
                max: MAX_EVENT_URI_BYTES,
                found: s.len(),
            });
        }
        let allowed = |c: char| c.is_ascii_graphic() && !matches!(c, '"' | '<' | '>' | '\\');
        if let Some((position, character)) = s.char_indices().find(|&(_, c)| !allowed(c)) {
            return Err(EventError::Character {
                position,
                character,
            });
        }
        let scheme = s.split_once(':').map(|(scheme, _)| scheme);
        let valid_scheme = scheme.is_some_and(|scheme| {
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        });
        if !valid_scheme {
            return Err(EventError::NoScheme);
        }
        Ok(EventUri(s.to_owned()))
    }
}

impl fmt::Display for EventUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EventUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// An instant to the millisecond and the UTC offset of the place, as EPCIS's `eventTime` and
/// `eventTimeZoneOffset` give them together. Written `YYYY-MM-DDThh:mm:ss.sss+hh:mm`, in local
/// time at the offset (`Z` is read as `+00:00`); years 1970 to 9999.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventTime {
    unix_ms: i64,
    offset_minutes: i16,
}

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;
/// The largest offset EPCIS allows: ±14:00.
const MAX_OFFSET_MINUTES: i16 = 14 * 60;

impl EventTime {
    /// The instant `unix_ms` seen at `offset_minutes` east of UTC; `None` outside the years
    /// 1970 to 9999 or an offset beyond ±14:00.
    pub fn new(unix_ms: i64, offset_minutes: i16) -> Option<EventTime> {
        let local = unix_ms.checked_add(i64::from(offset_minutes) * 60_000)?;
        let in_range = (0..253_402_300_800_000).contains(&local) && unix_ms >= 0;
        (in_range && offset_minutes.abs() <= MAX_OFFSET_MINUTES).then_some(EventTime {
            unix_ms,
            offset_minutes,
        })
    }

    /// The instant, Unix milliseconds.
    pub fn unix_ms(&self) -> i64 {
        self.unix_ms
    }

    /// Minutes east of UTC.
    pub fn offset_minutes(&self) -> i16 {
        self.offset_minutes
    }

    /// The offset as EPCIS writes `eventTimeZoneOffset`: `+08:00`, `-06:00`.
    pub fn offset(&self) -> String {
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let minutes = self.offset_minutes.unsigned_abs();
        format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    }

    /// The same instant at another offset.
    pub fn at_offset(&self, offset_minutes: i16) -> Option<EventTime> {
        EventTime::new(self.unix_ms, offset_minutes)
    }

    /// Parses an offset `Z`, `+hh:mm` or `-hh:mm` into minutes east of UTC.
    pub fn parse_offset(text: &str) -> Result<i16, EventError> {
        if text == "Z" {
            return Ok(0);
        }
        let bad = EventError::Time {
            reason: "the offset is Z, +hh:mm or -hh:mm, at most 14:00",
        };
        let bytes = text.as_bytes();
        if bytes.len() != 6 || bytes[3] != b':' {
            return Err(bad);
        }
        let sign = match bytes[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return Err(bad),
        };
        let hours = digits(&text[1..3]).ok_or(bad.clone())?;
        let minutes = digits(&text[4..6]).ok_or(bad.clone())?;
        let total = i16::try_from(hours * 60 + minutes).map_err(|_| bad.clone())?;
        if minutes >= 60 || total > MAX_OFFSET_MINUTES {
            return Err(bad);
        }
        Ok(sign * total)
    }
}

/// The value of an all-digit string, or `None`.
fn digits(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl FromStr for EventTime {
    type Err = EventError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let shape = EventError::Time {
            reason: "the text does not have that shape",
        };
        if !s.is_ascii() || s.len() < 20 || s.len() > 35 {
            return Err(shape);
        }
        let b = s.as_bytes();
        if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') || b[13] != b':' {
            return Err(shape);
        }
        if b[16] != b':' {
            return Err(shape);
        }
        let field = |range: std::ops::Range<usize>| digits(&s[range]).ok_or(shape.clone());
        let (year, month, day) = (field(0..4)?, field(5..7)?, field(8..10)?);
        let (hour, minute, second) = (field(11..13)?, field(14..16)?, field(17..19)?);
        let rest = &s[19..];
        let (millis, offset) = match rest.strip_prefix('.') {
            Some(fraction) => {
                let end = fraction
                    .find(|c: char| !c.is_ascii_digit())
                    .ok_or(shape.clone())?;
                let (digits_text, offset) = fraction.split_at(end);
                if digits_text.is_empty() || digits_text.len() > 3 {
                    return Err(EventError::Time {
                        reason: "at most three fraction digits (milliseconds)",
                    });
                }
                let scale = 10_i64.pow(3 - digits_text.len() as u32);
                (digits(digits_text).ok_or(shape.clone())? * scale, offset)
            }
            None => (0, rest),
        };
        let offset_minutes = EventTime::parse_offset(offset)?;
        let month_days = u32::try_from(month)
            .ok()
            .filter(|m| (1..=12).contains(m))
            .map(|m| days_in_month(year as u32, m));
        let valid_day = month_days.is_some_and(|days| day >= 1 && day <= i64::from(days));
        if !valid_day || hour > 23 || minute > 59 || second > 59 {
            return Err(EventError::Time {
                reason: "no such date or time of day",
            });
        }
        let local = days_from_civil(year, month, day) * DAY_MS
            + ((hour * 60 + minute) * 60 + second) * 1000
            + millis;
        let unix_ms = local - i64::from(offset_minutes) * 60_000;
        EventTime::new(unix_ms, offset_minutes).ok_or(EventError::Time {
            reason: "outside the years 1970 to 9999",
        })
    }
}

impl fmt::Display for EventTime {
    /// Local time at the offset, always with milliseconds and a numeric offset.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = self.unix_ms + i64::from(self.offset_minutes) * 60_000;
        let (year, month, day) = civil_from_days(local.div_euclid(DAY_MS));
        let in_day = local.rem_euclid(DAY_MS);
        let (seconds, millis) = (in_day / 1000, in_day % 1000);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}{}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60,
            self.offset()
        )
    }
}

impl fmt::Debug for EventTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventTime({self})")
    }
}

crate::serde_as_string!(EventUri);
crate::serde_as_string!(EventTime);

crate::string_schema!(
    EventUri,
    "EventUri",
    format!(
        "an EPCIS event id or location: a URI of 1 to {MAX_EVENT_URI_BYTES} printable ASCII \
         characters, no spaces, quotes or angle brackets"
    ),
    "minLength": 1,
    "maxLength": MAX_EVENT_URI_BYTES,
    "pattern": "^[A-Za-z][A-Za-z0-9+.-]*:[!#-;=?-\\[\\]-~]*$",
    "examples": ["urn:uuid:6f2a0e4c-91c1-4c37-9c55-0c7a5d1a9e01", "urn:epc:id:sgln:6901234.00001.0"],
);
crate::string_schema!(
    EventTime,
    "EventTime",
    "an EPCIS eventTime in the offset of its eventTimeZoneOffset: \
     YYYY-MM-DDThh:mm:ss[.sss] then Z or +hh:mm / -hh:mm; at most millisecond precision",
    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,3})?(Z|[+-][0-9]{2}:[0-9]{2})$",
    "examples": ["2026-03-14T09:30:00.000+08:00"],
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_time_keeps_its_instant_and_its_offset() {
        let time: EventTime = "2005-04-03T20:33:31.116-06:00".parse().unwrap();
        assert_eq!(time.unix_ms(), 1_112_582_011_116);
        assert_eq!(time.offset(), "-06:00");
        assert_eq!(time.to_string(), "2005-04-03T20:33:31.116-06:00");
        let utc: EventTime = "2005-04-04T02:33:31.116Z".parse().unwrap();
        assert_eq!(utc.unix_ms(), time.unix_ms());
        assert_eq!(utc.to_string(), "2005-04-04T02:33:31.116+00:00");
        assert_eq!(
            utc.at_offset(8 * 60).unwrap().to_string(),
            "2005-04-04T10:33:31.116+08:00"
        );
        let whole: EventTime = "2026-03-14T09:30:00+08:00".parse().unwrap();
        assert_eq!(whole.to_string(), "2026-03-14T09:30:00.000+08:00");
        let tenth: EventTime = "2026-03-14T09:30:00.5+08:00".parse().unwrap();
        assert_eq!(tenth.unix_ms() % 1000, 500);
    }

    #[test]
    fn every_written_time_reads_back_the_same() {
        for unix_ms in [
            0,
            1,
            951_782_400_000,
            1_709_251_199_999,
            253_402_200_000_000,
        ] {
            for offset in [-14 * 60, -330, 0, 345, 8 * 60] {
                if let Some(time) = EventTime::new(unix_ms, offset) {
                    let again: EventTime = time.to_string().parse().unwrap();
                    assert_eq!(again, time, "{time}");
                }
            }
        }
        // A leap day, and the last millisecond of a year.
        let leap: EventTime = "2024-02-29T23:59:59.999+00:00".parse().unwrap();
        assert_eq!(leap.to_string(), "2024-02-29T23:59:59.999+00:00");
    }

    #[test]
    fn malformed_times_are_refused() {
        for text in [
            "2026-03-14 09:30:00+08:00",
            "2026-03-14T09:30:00",
            "2026-02-30T09:30:00Z",
            "2026-03-14T24:00:00Z",
            "2026-03-14T09:30:00.1234Z",
            "2026-03-14T09:30:00+15:00",
            "2026-03-14T09:30:00+08:60",
            "1969-12-31T23:59:59Z",
            "２026-03-14T09:30:00Z",
            "2026-03-14T09:30:00.Z",
        ] {
            assert!(text.parse::<EventTime>().is_err(), "{text} was accepted");
        }
    }

    #[test]
    fn uris_need_a_scheme_and_printable_ascii() {
        for good in [
            "urn:uuid:6f2a0e4c-91c1-4c37-9c55-0c7a5d1a9e01",
            "ni:///sha-256;df7bb3c352fef055578554f09f5e2aa41782150ced7bd0b8af24dd3ccb30ba69?ver=CBV2.0",
            "https://id.gs1.org/414/6901234000014",
        ] {
            assert_eq!(good.parse::<EventUri>().unwrap().as_str(), good);
        }
        assert_eq!("".parse::<EventUri>(), Err(EventError::NoScheme));
        assert_eq!("no-scheme".parse::<EventUri>(), Err(EventError::NoScheme));
        assert_eq!("1urn:x".parse::<EventUri>(), Err(EventError::NoScheme));
        assert!(matches!(
            "urn:a b".parse::<EventUri>(),
            Err(EventError::Character { position: 5, .. })
        ));
        assert!(matches!(
            "urn:名".parse::<EventUri>(),
            Err(EventError::Character { .. })
        ));
        let long = format!("urn:{}", "x".repeat(MAX_EVENT_URI_BYTES));
        assert!(matches!(
            long.parse::<EventUri>(),
            Err(EventError::TooLong { .. })
        ));
    }
}
