//! Count what an enterprise's records show: the shares the supplier report prints under
//! reporting completeness and the counts the score weighs, from one [`EnterpriseData`], so the
//! two always agree.
//!
//! Every count keeps the records behind it as [`Evidence`], those against the enterprise first.

use suyuan_ledger::genesis::ScoreWeights;
use suyuan_ledger::record::{Outcome, Record};
use suyuan_ledger::state::KeyStatus;
use suyuan_ledger::text::Date;

use crate::profile::EnterpriseData;
use crate::score::{self, Component, Count};
use crate::views::{
    Completeness, ComponentView, Evidence, MissingField, RecordRef, ScoreView, Share, WeightsSource,
};

/// A record committed this long after its event at most is on time.
pub(crate) const ON_TIME_WITHIN_HOURS: u64 = 72;

/// Most evidence listed per score component.
pub(crate) const MAX_EVIDENCE_PER_COMPONENT: usize = 50;

/// Most missing fields the report lists.
pub(crate) const MAX_MISSING_FIELDS_LISTED: usize = 100;

const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 86_400_000;
const CHINA_OFFSET_MS: i64 = 8 * 3_600_000;

/// A count with the records behind it.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// The count.
    pub(crate) count: Count,
    /// What was counted, in order of counting.
    pub(crate) evidence: Vec<Evidence>,
}

impl Tally {
    fn add(&mut self, met: bool, record: Option<RecordRef>, detail: String) {
        self.count.out_of += 1;
        self.count.met += u64::from(met);
        self.evidence.push(Evidence {
            record,
            met,
            detail,
        });
    }

    fn share(&self) -> Share {
        Share {
            met: self.count.met,
            out_of: self.count.out_of,
            bp: self.count.share_bp(),
        }
    }

    /// The evidence, those against first, at most `max`; and how many more there were.
    fn listed(&self, max: usize) -> (Vec<Evidence>, u64) {
        let (against, met): (Vec<&Evidence>, Vec<&Evidence>) =
            self.evidence.iter().partition(|evidence| !evidence.met);
        let listed: Vec<Evidence> = against.into_iter().chain(met).take(max).cloned().collect();
        let omitted = (self.evidence.len() - listed.len()) as u64;
        (listed, omitted)
    }
}

/// One optional field checked in one record.
struct FieldCheck {
    record: RecordRef,
    record_type: &'static str,
    field: &'static str,
    filled: bool,
}

/// The optional fields the SAMR content asks for in the enterprise's own records: a model's
/// executive standards, a commissioning's factory number, a sale's order or invoice number.
fn field_checks(data: &EnterpriseData) -> Vec<FieldCheck> {
    let uscc = data.uscc();
    let mut checks = Vec::new();
    for fact in data.own() {
        let (field, filled) = match &fact.record {
            Record::RegisterProduct(model) if &model.uscc == uscc => {
                ("standards", !model.standards.is_empty())
            }
            Record::Commission(record) if &record.uscc == uscc => {
                ("factory_number", record.factory_number.is_some())
            }
            Record::Ship(sale) if &sale.seller == uscc => {
                ("order_reference", sale.order_reference.is_some())
            }
            _ => continue,
        };
        checks.push(FieldCheck {
            record: fact.reference(),
            record_type: fact.record.type_name(),
            field,
            filled,
        });
    }
    checks
}

/// [`field_checks`], counted.
pub(crate) fn fields(data: &EnterpriseData) -> Tally {
    let mut tally = Tally::default();
    for check in field_checks(data) {
        let state = if check.filled { "filled" } else { "missing" };
        let detail = format!("{} record: {} {state}", check.record_type, check.field);
        tally.add(check.filled, Some(check.record), detail);
    }
    tally
}

/// The enterprise's dated records (commissionings by production date, its sales by time of
/// sale) committed within [`ON_TIME_WITHIN_HOURS`] of their event. A date's event is taken at
/// the end of that day in China Standard Time, so a record is never late for the hours of its
/// own day.
pub(crate) fn timeliness(data: &EnterpriseData) -> Tally {
    let uscc = data.uscc();
    let mut tally = Tally::default();
    for fact in data.own() {
        let (what, event_ms) = match &fact.record {
            Record::Commission(record) if &record.uscc == uscc => (
                "commissioning, after its production date",
                end_of_day_ms(record.production_date),
            ),
            Record::Ship(sale) if &sale.seller == uscc => ("sale, after its time", sale.sold_at_ms),
            _ => continue,
        };
        let delay_ms = fact.block_time_ms.saturating_sub(event_ms);
        let on_time = delay_ms <= ON_TIME_WITHIN_HOURS * HOUR_MS;
        let detail = format!("{what}: committed {} h later", delay_ms / HOUR_MS);
        tally.add(on_time, Some(fact.reference()), detail);
    }
    tally
}

/// Commissioned codes with a sale or shipment record, by any seller.
pub(crate) fn sale_coverage(data: &EnterpriseData) -> Tally {
    let mut tally = Tally::default();
    for code in &data.codes {
        let sales = data
            .code_history(code)
            .filter(|fact| matches!(fact.record, Record::Ship(_)))
            .count();
        let detail = match sales {
            0 => format!("{}: no sale or shipment recorded", code.code),
            n => format!("{}: {n} sale or shipment records", code.code),
        };
        let commissioned = data.fact(&code.commissioned).reference();
        tally.add(sales > 0, Some(commissioned), detail);
    }
    tally
}

/// Commissioned codes with an inspection of the code itself or of its model.
pub(crate) fn codes_inspected(data: &EnterpriseData) -> Tally {
    let mut tally = Tally::default();
    for code in &data.codes {
        let inspections = data.inspections_of(code).count();
        let detail = format!("{}: {inspections} inspections", code.code);
        let commissioned = data.fact(&code.commissioned).reference();
        tally.add(inspections > 0, Some(commissioned), detail);
    }
    tally
}

/// Inspections of the enterprise's codes and models that found them conformant.
pub(crate) fn inspection_outcomes(data: &EnterpriseData) -> Tally {
    let mut tally = Tally::default();
    for (fact, inspection) in data.inspections() {
        let conformant = inspection.outcome == Outcome::Conformant;
        let outcome = if conformant {
            "conformant"
        } else {
            "non-conformant"
        };
        let detail = format!("inspection {}: {outcome}", inspection.report_number);
        tally.add(conformant, Some(fact.reference()), detail);
    }
    tally
}

/// Commissioned codes never covered by a recall, open or closed, of the code or its model.
pub(crate) fn recalls(data: &EnterpriseData) -> Tally {
    let mut tally = Tally::default();
    for code in &data.codes {
        match data.recalls_of(code).next() {
            Some(recall) => {
                let state = if recall.closing.is_some() {
                    "closed"
                } else {
                    "open"
                };
                let detail = format!("{}: recalled ({state})", code.code);
                tally.add(false, Some(recall.fact.reference()), detail);
            }
            None => {
                let commissioned = data.fact(&code.commissioned).reference();
                tally.add(
                    true,
                    Some(commissioned),
                    format!("{}: never recalled", code.code),
                );
            }
        }
    }
    tally
}

/// The enterprise's keys never revoked by a `revoke_key` record; a key retired by a rotation
/// counts as never revoked.
pub(crate) fn key_revocations(data: &EnterpriseData) -> Tally {
    let uscc = data.uscc();
    let mut tally = Tally::default();
    for (key, binding) in &data.registered.keys {
        let KeyStatus::Revoked { at_height } = binding.status else {
            tally.add(true, None, format!("key {key}: active"));
            continue;
        };
        let retired_by = data.own().find(|fact| match &fact.record {
            Record::RevokeKey(record) => &record.key == key && &record.uscc == uscc,
            Record::RotateKey(record) => &record.old_key == key && &record.uscc == uscc,
            _ => false,
        });
        match retired_by {
            Some(fact) if matches!(fact.record, Record::RotateKey(_)) => tally.add(
                true,
                Some(fact.reference()),
                format!("key {key}: rotated at height {at_height}"),
            ),
            Some(fact) => tally.add(
                false,
                Some(fact.reference()),
                format!("key {key}: revoked at height {at_height}"),
            ),
            // Its record lies beyond what was read (`reads.truncated`): count what state says.
            None => tally.add(
                false,
                None,
                format!("key {key}: revoked at height {at_height}"),
            ),
        }
    }
    tally
}

/// The report's reporting-completeness section.
pub(crate) fn completeness(data: &EnterpriseData) -> Completeness {
    let missing_fields = field_checks(data)
        .into_iter()
        .filter(|check| !check.filled)
        .take(MAX_MISSING_FIELDS_LISTED)
        .map(|check| MissingField {
            record: check.record,
            field: format!("record.{}", check.field),
        })
        .collect();
    Completeness {
        codes_inspected: codes_inspected(data).share(),
        codes_sold: sale_coverage(data).share(),
        fields_filled: fields(data).share(),
        reported_on_time: timeliness(data).share(),
        on_time_within_hours: ON_TIME_WITHIN_HOURS,
        missing_fields,
    }
}

/// The enterprise's score under the consortium's weights (`source` says whether its genesis
/// names them), with each component explained.
pub(crate) fn score_view(
    data: &EnterpriseData,
    weights: &ScoreWeights,
    source: WeightsSource,
) -> ScoreView {
    let tallies: Vec<(Component, Tally)> = Component::ALL
        .iter()
        .map(|&component| (component, tally(data, component)))
        .collect();
    let counts: Vec<(Component, Count)> = tallies
        .iter()
        .map(|(component, tally)| (*component, tally.count))
        .collect();
    let score = score::score(weights, &counts);
    let components = score
        .components
        .iter()
        .zip(&tallies)
        .map(|(part, (_, tally))| {
            let (evidence, evidence_omitted) = tally.listed(MAX_EVIDENCE_PER_COMPONENT);
            ComponentView {
                component: part.component.name().to_owned(),
                measures: description(part.component),
                share: tally.share(),
                weight: part.weight,
                contribution_bp: part.contribution_bp,
                evidence,
                evidence_omitted,
            }
        })
        .collect();
    let registered = &data.registered;
    ScoreView {
        uscc: registered.state.profile.uscc.clone(),
        name: registered.state.profile.name.clone(),
        computed_at: registered.computed_at.clone(),
        total_bp: score.total_bp,
        weights: source,
        components,
        reads: data.reads.clone(),
    }
}

/// What `component` measures, in words.
fn description(component: Component) -> String {
    match component {
        Component::Completeness => "optional fields the SAMR content asks for, filled in the \
            enterprise's own records: a model's standards, a commissioning's factory number, a \
            sale's order reference"
            .to_owned(),
        Component::Timeliness => format!(
            "commissionings and sales committed within {ON_TIME_WITHIN_HOURS} hours of the end \
             of the production date or of the time of sale"
        ),
        Component::SaleCoverage => "commissioned codes with a sale or shipment record".to_owned(),
        Component::InspectionOutcomes => {
            "inspections of the enterprise's codes and models that found them conformant".to_owned()
        }
        Component::Recalls => {
            "commissioned codes never covered by a recall of the code or its model".to_owned()
        }
        Component::KeyRevocations => {
            "keys never revoked by a revoke_key record (a rotation is not a revocation)".to_owned()
        }
    }
}

/// The tally of one component.
fn tally(data: &EnterpriseData, component: Component) -> Tally {
    match component {
        Component::Completeness => fields(data),
        Component::Timeliness => timeliness(data),
        Component::SaleCoverage => sale_coverage(data),
        Component::InspectionOutcomes => inspection_outcomes(data),
        Component::Recalls => recalls(data),
        Component::KeyRevocations => key_revocations(data),
    }
}

/// The first millisecond after `date` ends in China Standard Time (0 before 1970).
fn end_of_day_ms(date: Date) -> u64 {
    let next_day_ms = (date.days_since_epoch() + 1).saturating_mul(DAY_MS as i64);
    u64::try_from(next_day_ms - CHINA_OFFSET_MS).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_ends_at_midnight_china_time() {
        let date: Date = "2026-01-02".parse().unwrap();
        // 2026-01-03T00:00+08:00 is 2026-01-02T16:00Z.
        assert_eq!(end_of_day_ms(date), 1_767_369_600_000);
        assert_eq!(
            Date::from_unix_ms_china(end_of_day_ms(date) - 1),
            date,
            "the last millisecond of the day is still that day"
        );
        assert_eq!(end_of_day_ms("1900-01-01".parse().unwrap()), 0);
    }
}
