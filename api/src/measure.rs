//! Explain an enterprise's figures: the shares the supplier report prints under reporting
//! completeness and the counts the score weighs, each the figure execution keeps over the
//! whole history ([`suyuan_ledger::facts`]), with the newest evidence behind it.
//!
//! The counting rules live in the ledger, once; here each component only pairs its count with
//! the records [`crate::profile`] read, judged by the same per-record rules, those against the
//! enterprise first.

use suyuan_ledger::facts::{self, Count as Figure, ON_TIME_WITHIN_HOURS};
use suyuan_ledger::genesis::ScoreWeights;
use suyuan_ledger::record::{Outcome, Record};
use suyuan_ledger::state::KeyStatus;

use crate::profile::EnterpriseData;
use crate::score::{self, Component, Count};
use crate::views::{
    Completeness, ComponentView, Evidence, MissingField, RecordRef, ScoreView, Share, WeightsSource,
};

/// Most evidence listed per score component.
pub(crate) const MAX_EVIDENCE_PER_COMPONENT: usize = 50;

/// Most missing fields the report lists.
pub(crate) const MAX_MISSING_FIELDS_LISTED: usize = crate::profile::MAX_REGISTRATIONS_READ;

const HOUR_MS: u64 = facts::HOUR_MS;

/// A whole-history count with the newest evidence behind it.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// The count, over the whole history.
    pub(crate) count: Count,
    /// What was read of it, newest first.
    pub(crate) evidence: Vec<Evidence>,
}

impl Tally {
    fn of(figure: Figure) -> Tally {
        Tally {
            count: Count {
                met: figure.met,
                out_of: figure.out_of,
            },
            evidence: Vec::new(),
        }
    }

    fn add(&mut self, met: bool, record: Option<RecordRef>, detail: String) {
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

    /// The evidence, those against first, at most `max`; and how many more were counted.
    fn listed(&self, max: usize) -> (Vec<Evidence>, u64) {
        let (against, met): (Vec<&Evidence>, Vec<&Evidence>) =
            self.evidence.iter().partition(|evidence| !evidence.met);
        let listed: Vec<Evidence> = against.into_iter().chain(met).take(max).cloned().collect();
        let omitted = self.count.out_of.saturating_sub(listed.len() as u64);
        (listed, omitted)
    }
}

/// One optional field checked in one record, by [`facts::field_check`].
struct FieldCheck {
    record: Option<RecordRef>,
    record_type: &'static str,
    field: &'static str,
    filled: bool,
}

/// The field checks behind [`EnterpriseFacts::fields_filled`]: each model's current
/// registration, then each commissioning and own sale, newest first.
///
/// [`EnterpriseFacts::fields_filled`]: suyuan_ledger::facts::EnterpriseFacts::fields_filled
fn field_checks(data: &EnterpriseData) -> Vec<FieldCheck> {
    let uscc = data.uscc();
    // Commissionings may be large: they are checked in place, not copied.
    let check = |record: Option<RecordRef>, checked: &Record| {
        let (field, filled) = facts::field_check(checked, uscc)?;
        Some(FieldCheck {
            record,
            record_type: checked.type_name(),
            field,
            filled,
        })
    };
    let models = data.models.iter().filter_map(|model| {
        let reference = model.registration.as_ref().map(|fact| fact.reference());
        check(
            reference,
            &Record::RegisterProduct(model.state.model.clone()),
        )
    });
    let events =
        (data.events.iter()).filter_map(|fact| check(Some(fact.reference()), &fact.record));
    models.chain(events).collect()
}

/// Optional fields filled: each model once, each commissioning and own sale.
pub(crate) fn fields(data: &EnterpriseData) -> Tally {
    let mut tally = Tally::of(data.facts.fields_filled);
    for check in field_checks(data) {
        let state = if check.filled { "filled" } else { "missing" };
        let detail = format!("{} record: {} {state}", check.record_type, check.field);
        tally.add(check.filled, check.record, detail);
    }
    tally
}

/// Commissionings and own sales committed within [`ON_TIME_WITHIN_HOURS`] of their event
/// ([`facts::reporting_delay`]).
pub(crate) fn timeliness(data: &EnterpriseData) -> Tally {
    let mut tally = Tally::of(data.facts.reported_on_time);
    for fact in &data.events {
        let Some((what, delay_ms, on_time)) =
            facts::reporting_delay(&fact.record, data.uscc(), fact.block_time_ms)
        else {
            continue;
        };
        let detail = format!("{what}: committed {} h later", delay_ms / HOUR_MS);
        tally.add(on_time, Some(fact.reference()), detail);
    }
    tally
}

/// Commissioned codes with a sale or shipment record, by any seller.
pub(crate) fn sale_coverage(data: &EnterpriseData) -> Tally {
    let mut tally = Tally::of(data.facts.codes_sold);
    for code in &data.codes {
        let detail = match code.facts.shipments {
            0 => format!("{}: no sale or shipment recorded", code.code),
            n => format!("{}: {n} sale or shipment records", code.code),
        };
        let sold = code.facts.shipments > 0;
        tally.add(sold, Some(code.commissioned.reference()), detail);
    }
    tally
}

/// Commissioned codes with an inspection of the code itself or of its model.
pub(crate) fn codes_inspected(data: &EnterpriseData) -> Tally {
    let mut tally = Tally::of(data.facts.codes_inspected);
    for code in &data.codes {
        let inspections = code.inspections();
        let detail = format!("{}: {inspections} inspections", code.code);
        tally.add(inspections > 0, Some(code.commissioned.reference()), detail);
    }
    tally
}

/// Inspections of the enterprise's codes and models that found them conformant.
pub(crate) fn inspection_outcomes(data: &EnterpriseData) -> Tally {
    let mut tally = Tally::of(data.facts.inspections_conformant);
    for (fact, inspection) in &data.inspections {
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
    let mut tally = Tally::of(data.facts.codes_never_recalled);
    for code in &data.codes {
        if !code.recalled() {
            let detail = format!("{}: never recalled", code.code);
            tally.add(true, Some(code.commissioned.reference()), detail);
            continue;
        }
        let state = if code.open_recall { "open" } else { "closed" };
        let detail = format!("{}: recalled ({state})", code.code);
        let record = match data.recall_of(code) {
            Some(recall) => recall.fact.reference(),
            None => code.commissioned.reference(),
        };
        tally.add(false, Some(record), detail);
    }
    tally
}

/// The enterprise's keys never revoked by a `revoke_key` record; a key retired by a rotation
/// counts as never revoked.
pub(crate) fn key_revocations(data: &EnterpriseData) -> Tally {
    let mut tally = Tally::of(data.facts.keys_never_revoked);
    for (key, binding) in &data.registered.keys {
        let KeyStatus::Revoked { at_height } = binding.status else {
            tally.add(true, None, format!("key {key}: active"));
            continue;
        };
        match data.retired.get(key) {
            Some(fact) if matches!(fact.record, Record::RotateKey(_)) => tally.add(
                true,
                Some(fact.reference()),
                format!("key {key}: rotated at height {at_height}"),
            ),
            retired => tally.add(
                false,
                retired.map(|fact| fact.reference()),
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
        .filter_map(|check| {
            Some(MissingField {
                record: check.record?,
                field: format!("record.{}", check.field),
            })
        })
        .take(MAX_MISSING_FIELDS_LISTED)
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
