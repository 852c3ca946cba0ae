//! Shape an enterprise's registration view and its supplier verification report from what
//! [`crate::profile`] gathered, judging every licence and certificate against the date of the
//! block the view was computed at.

use suyuan_ledger::record::{CertificateEntry, EnterpriseProfile, Items, Record};
use suyuan_ledger::state::{KeyStatus, ModelState};
use suyuan_ledger::text::Date;

use crate::measure;
use crate::profile::{EnterpriseData, Registered};
use crate::types::CategoryView;
use crate::views::{
    AccreditationView, BatchKind, BatchView, BusinessLicenceView, CertificateView,
    CoveringDocument, EnterpriseView, History, InspectionView, KeyState, KeyView, LicenceView,
    ProductModelView, RecallStatus, RecallView, Registration, SupplierReport, TransferView,
    Validity,
};

/// The answer to `GET /v1/enterprises/{uscc}`.
pub(crate) fn enterprise_view(registered: Registered) -> EnterpriseView {
    let today = registered.computed_at.date;
    let keys = key_views(&registered);
    let registration = registration(&registered);
    let profile = registered.state.profile;
    EnterpriseView {
        business_licence: business_licence(&profile, today),
        production_licences: licences(&profile, today),
        ccc_certificates: certificates(&profile, today),
        accreditations: accreditations(&profile, today),
        uscc: profile.uscc,
        computed_at: registered.computed_at,
        name: profile.name,
        kind: profile.kind,
        address: profile.address,
        contact: profile.contact,
        gln: profile.gln,
        registration,
        keys,
    }
}

/// The answer to `GET /v1/enterprises/{uscc}/report`.
pub(crate) fn supplier_report(data: &EnterpriseData) -> SupplierReport {
    let registered = &data.registered;
    let profile = &registered.state.profile;
    let today = registered.computed_at.date;
    SupplierReport {
        uscc: profile.uscc.clone(),
        computed_at: registered.computed_at.clone(),
        name: profile.name.clone(),
        kind: profile.kind,
        address: profile.address.clone(),
        registration: registration(registered),
        business_licence: business_licence(profile, today),
        production_licences: licences(profile, today),
        ccc_certificates: certificates(profile, today),
        accreditations: accreditations(profile, today),
        keys: key_views(registered),
        products: products(data, today),
        batches: batches(data),
        inspections: inspections(data),
        recalls: recalls(data),
        history: history(data),
        completeness: measure::completeness(data),
        reads: data.reads.clone(),
    }
}

/// Validity of a document valid from `from` (if known) to `until` inclusive, on `today`.
fn validity(from: Option<Date>, until: Option<Date>, today: Date) -> Validity {
    if from.is_some_and(|from| today < from) {
        Validity::NotYetValid
    } else if until.is_some_and(|until| today > until) {
        Validity::Expired
    } else {
        Validity::Valid
    }
}

fn registration(registered: &Registered) -> Registration {
    Registration {
        registered_by: registered.registrar.clone(),
        registered_at_height: registered.state.registered_at_height,
        registrar: registered.current_registrar.clone(),
        pending_transfer: registered
            .state
            .pending_transfer
            .as_ref()
            .and_then(|pending| {
                let (from, to) = registered.pending_transfer.clone()?;
                Some(TransferView {
                    from,
                    to,
                    offered_at_height: pending.offered_at_height,
                })
            }),
        amendments: registered.state.amendments,
        prefixes: registered.state.prefixes.clone(),
    }
}

fn business_licence(profile: &EnterpriseProfile, today: Date) -> BusinessLicenceView {
    let licence = &profile.business_licence;
    BusinessLicenceView {
        issued_by: licence.issued_by.clone(),
        issued_on: licence.issued_on,
        valid_until: licence.valid_until,
        validity: validity(Some(licence.issued_on), licence.valid_until, today),
    }
}

fn licences(profile: &EnterpriseProfile, today: Date) -> Vec<LicenceView> {
    profile
        .production_licences
        .iter()
        .map(|licence| LicenceView {
            number: licence.number.clone(),
            product: licence.product.clone(),
            valid_until: licence.valid_until,
            validity: validity(None, Some(licence.valid_until), today),
        })
        .collect()
}

fn accreditations(profile: &EnterpriseProfile, today: Date) -> Vec<AccreditationView> {
    profile
        .accreditations
        .iter()
        .map(|entry| AccreditationView {
            number: entry.number.clone(),
            scope: entry.scope.clone(),
            valid_from: entry.valid_from,
            valid_until: entry.valid_until,
            validity: validity(Some(entry.valid_from), Some(entry.valid_until), today),
        })
        .collect()
}

fn certificates(profile: &EnterpriseProfile, today: Date) -> Vec<CertificateView> {
    profile
        .ccc_certificates
        .iter()
        .map(|certificate| certificate_view(certificate, today))
        .collect()
}

/// A profile's CCC certificate entry, with its validity `today`.
pub(crate) fn certificate_view(certificate: &CertificateEntry, today: Date) -> CertificateView {
    CertificateView {
        number: certificate.number.clone(),
        product: certificate.product.clone(),
        issued_on: certificate.issued_on,
        valid_until: certificate.valid_until,
        validity: validity(
            Some(certificate.issued_on),
            Some(certificate.valid_until),
            today,
        ),
    }
}

fn key_views(registered: &Registered) -> Vec<KeyView> {
    registered
        .keys
        .iter()
        .map(|(key, binding)| {
            let revoked_at_height = match binding.status {
                KeyStatus::Active => None,
                KeyStatus::Revoked { at_height } => Some(at_height),
            };
            KeyView {
                public_key: *key,
                bound_at_height: binding.bound_at_height,
                status: match revoked_at_height {
                    None => KeyState::Active,
                    Some(_) => KeyState::Revoked,
                },
                revoked_at_height,
            }
        })
        .collect()
}

/// Each model with the validity today of the licence and certificate it names.
fn products(data: &EnterpriseData, today: Date) -> Vec<ProductModelView> {
    let profile = &data.registered.state.profile;
    data.models
        .iter()
        .map(|entry| product_model_view(profile, &entry.state, entry.category.clone(), today))
        .collect()
}

/// A model of the enterprise whose profile is `profile`, with the validity on `today` of the
/// licence and certificate it names: the best of the profile's entries with that number, or
/// `not_held` if the profile lists none.
pub(crate) fn product_model_view(
    profile: &EnterpriseProfile,
    state: &ModelState,
    category: Option<CategoryView>,
    today: Date,
) -> ProductModelView {
    let licence_validity = |number| {
        let held = profile.production_licences.iter();
        best(
            held.filter(|entry| &entry.number == number)
                .map(|entry| validity(None, Some(entry.valid_until), today)),
        )
    };
    let certificate_validity = |number| {
        let held = profile.ccc_certificates.iter();
        best(
            held.filter(|entry| &entry.number == number)
                .map(|entry| validity(Some(entry.issued_on), Some(entry.valid_until), today)),
        )
    };
    let model = &state.model;
    ProductModelView {
        gtin: model.model_code.gtin().cloned(),
        model_code: model.model_code.clone(),
        name: model.name.clone(),
        product_type: model.product_type.clone(),
        specification: model.specification.clone(),
        model: model.model.clone(),
        standards: model.standards.clone(),
        category,
        fields: model.fields.clone(),
        production_licence: model
            .production_licence
            .as_ref()
            .map(|number| CoveringDocument {
                validity: licence_validity(number),
                number: number.to_string(),
            }),
        ccc_certificate: model
            .ccc_certificate
            .as_ref()
            .map(|number| CoveringDocument {
                validity: certificate_validity(number),
                number: number.to_string(),
            }),
        registered_at_height: state.registered_at_height,
    }
}

/// The most favourable of several entries' validity: valid, else not yet valid, else expired;
/// `not_held` with no entry.
fn best(validities: impl Iterator<Item = Validity>) -> Validity {
    let rank = |validity: &Validity| match validity {
        Validity::Valid => 0,
        Validity::NotYetValid => 1,
        Validity::Expired => 2,
        Validity::NotHeld => 3,
    };
    validities.min_by_key(rank).unwrap_or(Validity::NotHeld)
}

fn batches(data: &EnterpriseData) -> Vec<BatchView> {
    data.codes
        .iter()
        .filter_map(|code| {
            let fact = &code.commissioned;
            let Record::Commission(record) = &fact.record else {
                return None;
            };
            Some(BatchView {
                code: code.code.clone(),
                kind: match record.items {
                    Items::Batch { .. } => BatchKind::Batch,
                    Items::Serialised { .. } => BatchKind::Item,
                },
                gtin: code.state.model_code.gtin().cloned(),
                model_code: code.state.model_code.clone(),
                quantity: code.state.quantity,
                production_date: record.production_date,
                inspection_report: record.inspection_report.clone(),
                commissioned: fact.reference(),
                inspections: to_usize(code.inspections()),
                non_conformant_inspections: to_usize(code.failed_inspections()),
                shipments: to_usize(code.facts.shipments),
                recall: code.recalled().then_some(if code.open_recall {
                    RecallStatus::Open
                } else {
                    RecallStatus::Closed
                }),
            })
        })
        .collect()
}

/// A count for a view; no history holds more records than a `usize` counts.
fn to_usize(count: u64) -> usize {
    usize::try_from(count).unwrap_or(usize::MAX)
}

/// The figures of the whole history.
fn history(data: &EnterpriseData) -> History {
    let facts = &data.facts;
    History {
        models: facts.models,
        codes: facts.codes_sold.out_of,
        inspections: facts.inspections_conformant.out_of,
        failed_inspections: facts.failed_inspections(),
        recalls: facts.recalls,
        open_recalls: facts.open_recalls,
        last_production_date: facts.last_production_date,
        last_sold_at_ms: facts.last_sold_at_ms,
        last_inspected_on: facts.last_inspected_on,
        last_recall_on: facts.last_recall_on,
    }
}

fn inspections(data: &EnterpriseData) -> Vec<InspectionView> {
    data.inspections
        .iter()
        .map(|(fact, inspection)| InspectionView {
            subject: inspection.subject.clone(),
            outcome: inspection.outcome,
            inspector: data.holder(&fact.signer),
            inspected_on: inspection.inspected_on,
            report_number: inspection.report_number.clone(),
            document_sha256: inspection.document_sha256,
            standards: inspection.standards.clone(),
            findings: inspection.findings.clone(),
            accreditation: inspection.accreditation.clone(),
            record: fact.reference(),
        })
        .collect()
}

fn recalls(data: &EnterpriseData) -> Vec<RecallView> {
    data.recalls
        .iter()
        .map(|recall| RecallView {
            subjects: recall.recall.subjects.clone(),
            reason: recall.recall.reason.clone(),
            announced_on: recall.recall.announced_on,
            issued_by: data.holder(&recall.fact.signer),
            record: recall.fact.reference(),
            status: match recall.closing {
                None => RecallStatus::Open,
                Some(_) => RecallStatus::Closed,
            },
            closed: recall.closing.as_ref().map(|fact| fact.reference()),
            closed_by: recall
                .closing
                .as_ref()
                .map(|fact| data.holder(&fact.signer)),
            resolution: recall.closing.as_ref().and_then(|fact| match &fact.record {
                Record::CloseRecall(close) => Some(close.resolution.clone()),
                _ => None,
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    #[test]
    fn validity_is_judged_on_the_day_inclusive() {
        let today = date("2026-03-01");
        let cases = [
            (Some("2026-03-01"), Some("2026-03-01"), Validity::Valid),
            (
                Some("2026-03-02"),
                Some("2027-01-01"),
                Validity::NotYetValid,
            ),
            (None, Some("2026-02-28"), Validity::Expired),
            (Some("2024-01-01"), None, Validity::Valid),
            (None, None, Validity::Valid),
        ];
        for (from, until, expected) in cases {
            assert_eq!(
                validity(from.map(date), until.map(date), today),
                expected,
                "{from:?}..{until:?}"
            );
        }
    }

    #[test]
    fn the_best_entry_decides_a_product_document() {
        use Validity::*;
        assert_eq!(best([Expired, Valid].into_iter()), Valid);
        assert_eq!(best([Expired, NotYetValid].into_iter()), NotYetValid);
        assert_eq!(best([Expired].into_iter()), Expired);
        assert_eq!(best([].into_iter()), NotHeld);
    }
}
