//! Render the supplier verification report as one self-contained HTML page: inline style, no
//! script, no external asset, every piece of record text escaped.
//!
//! Markup is only ever `&'static str` written here ([`Page::markup`]); text from records goes
//! through [`Page::text`], which escapes it. So no record can add markup, whatever it holds.

use std::fmt::Display;

use suyuan_ledger::record::{EnterpriseKind, Outcome, SampledProduct, Subject};
use suyuan_ledger::text::Date;

use crate::views::{
    EvidenceListing, KeyHolder, KeyState, RecallStatus, RecordRef, Share, SupplierReport, Validity,
};

/// The `Content-Security-Policy` the page is served with: nothing loads, inline style only.
pub(crate) const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

const STYLE: &str = "
body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1d2430}
h1{margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #ccd;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e3e6ec;vertical-align:top}
th{background:#f3f5f8}.muted{color:#667}.mono{font-family:ui-monospace,monospace;font-size:.85em;word-break:break-all}
.ok{color:#136c2e;font-weight:600}.warn{color:#8a5a00;font-weight:600}.bad{color:#b3261e;font-weight:600}
ul.summary li{margin:.2rem 0}.note{background:#fff6db;padding:.5rem 1rem;border-left:4px solid #e0b000}
";

/// The report as an HTML page.
pub(crate) fn report_page(report: &SupplierReport) -> String {
    let mut page = Page::default();
    page.markup("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    page.markup("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    page.markup("<title>Supplier report: ");
    page.text(&report.name);
    page.markup("</title><style>");
    page.markup(STYLE);
    page.markup("</style></head><body>");
    header(&mut page, report);
    summary(&mut page, report);
    documents(&mut page, report);
    products(&mut page, report);
    batches(&mut page, report);
    inspections(&mut page, report);
    recalls(&mut page, report);
    completeness(&mut page, report);
    keys(&mut page, report);
    page.markup("<p class=\"muted\">The same report as JSON: the same address without <code>format=html</code>. Every figure is as of the block above; another node at that height gives the same figures.</p>");
    page.markup("</body></html>\n");
    page.0
}

/// An HTML page being written.
#[derive(Debug, Default)]
struct Page(String);

impl Page {
    /// Markup written here, never text from a request or a record.
    fn markup(&mut self, markup: &'static str) {
        self.0.push_str(markup);
    }

    /// Text, escaped.
    fn text(&mut self, text: &dyn Display) {
        escape_into(&mut self.0, &text.to_string());
    }

    /// A table cell holding `text`.
    fn cell(&mut self, text: &dyn Display) {
        self.markup("<td>");
        self.text(text);
        self.markup("</td>");
    }

    /// A table cell holding `text` in a monospace font.
    fn mono_cell(&mut self, text: &dyn Display) {
        self.markup("<td class=\"mono\">");
        self.text(text);
        self.markup("</td>");
    }

    /// A cell holding `text` styled by `class` (`ok`, `warn`, `bad`).
    fn status_cell(&mut self, class: Class, text: &dyn Display) {
        self.markup(class.open_td());
        self.text(text);
        self.markup("</td>");
    }

    /// A table's head row.
    fn head(&mut self, columns: &[&'static str]) {
        self.markup("<table><thead><tr>");
        for column in columns {
            self.markup("<th>");
            self.markup(column);
            self.markup("</th>");
        }
        self.markup("</tr></thead><tbody>");
    }

    fn end_table(&mut self) {
        self.markup("</tbody></table>");
    }

    /// A summary line styled by `class`.
    fn point(&mut self, class: Class, text: &dyn Display) {
        self.markup(class.open_li());
        self.text(text);
        self.markup("</li>");
    }
}

/// Escapes the five characters that matter in HTML text and attribute values.
pub(crate) fn escape_into(out: &mut String, text: &str) {
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
}

/// How a value reads to an officer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Ok,
    Warn,
    Bad,
}

impl Class {
    fn open_td(self) -> &'static str {
        match self {
            Class::Ok => "<td class=\"ok\">",
            Class::Warn => "<td class=\"warn\">",
            Class::Bad => "<td class=\"bad\">",
        }
    }

    fn open_li(self) -> &'static str {
        match self {
            Class::Ok => "<li class=\"ok\">",
            Class::Warn => "<li class=\"warn\">",
            Class::Bad => "<li class=\"bad\">",
        }
    }
}

fn validity(validity: Validity) -> (Class, &'static str) {
    match validity {
        Validity::Valid => (Class::Ok, "valid"),
        Validity::Expired => (Class::Bad, "expired"),
        Validity::NotYetValid => (Class::Warn, "not yet valid"),
        Validity::NotHeld => (Class::Bad, "not held"),
    }
}

/// A share as `met / out_of (87.50 %)`, or `none to count`.
fn share(share: &Share) -> String {
    match share.bp {
        Some(bp) => format!(
            "{} / {} ({}.{:02} %)",
            share.met,
            share.out_of,
            bp / 100,
            bp % 100
        ),
        None => "none to count".to_owned(),
    }
}

fn holder(holder: &KeyHolder) -> String {
    let mut text = holder
        .name
        .clone()
        .unwrap_or_else(|| format!("key {}", holder.public_key));
    if holder.regulator {
        text.push_str(" (regulator)");
    } else if holder.registrar {
        text.push_str(" (registrar)");
    }
    if let Some(uscc) = &holder.uscc {
        text.push_str(&format!(" [{uscc}]"));
    }
    text
}

/// An enterprise kind as the JSON names it, with spaces: `inspection body`.
fn kind_name(kind: EnterpriseKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|value| value.as_str().map(|name| name.replace('_', " ")))
        .unwrap_or_default()
}

fn subject(subject: &Subject) -> String {
    match subject {
        Subject::Code(code) => code.to_string(),
        Subject::Model(model_code) => format!("every item of model {model_code}"),
        Subject::Sampled(product) => sampled_description(product),
    }
}

/// A product sampled on the market that is not on the ledger, as its report describes it.
fn sampled_description(product: &SampledProduct) -> String {
    format!(
        "{} {} sampled {} at {} ({}), not on the ledger",
        product.product_name, product.model, product.sampled_on, product.place, product.sampled_in
    )
}

fn record(record: &RecordRef) -> String {
    format!(
        "block {} #{} ({}) tx {}",
        record.height,
        record.index,
        Date::from_unix_ms_china(record.block_time_ms),
        record.id
    )
}

fn header(page: &mut Page, report: &SupplierReport) {
    page.markup("<h1>");
    page.text(&report.name);
    page.markup(
        "</h1><p class=\"muted\">Supplier verification report · USCC <span class=\"mono\">",
    );
    page.text(&report.uscc);
    page.markup("</span> · ");
    page.text(&kind_name(report.kind));
    page.markup("<br>");
    page.text(&report.address);
    page.markup("</p><p>Computed at block <strong>");
    page.text(&report.computed_at.height);
    page.markup("</strong> (");
    page.text(&report.computed_at.date);
    page.markup(", China time), block hash <span class=\"mono\">");
    page.text(&report.computed_at.block_hash);
    page.markup("</span>. Enrolled at block ");
    page.text(&report.registration.registered_at_height);
    page.markup(" by ");
    page.text(&holder(&report.registration.registered_by));
    page.markup(".</p>");
    if !report.registration.prefixes.is_empty() {
        page.markup("<p>Identifier prefixes attested by its registrar: <span class=\"mono\">");
        let prefixes: Vec<String> = report
            .registration
            .prefixes
            .iter()
            .map(ToString::to_string)
            .collect();
        page.text(&prefixes.join(", "));
        page.markup("</span>.</p>");
    }
    if report.reads.truncated {
        page.markup("<p class=\"note\">This enterprise has more evidence than one report lists (");
        page.text(&format!(
            "{} records, {} codes",
            report.reads.max_records, report.reads.max_codes
        ));
        page.markup("): the lists below show the newest; the figures cover its whole history.");
        page.markup(" The rest of each list pages in JSON from:</p><ul class=\"note\">");
        for listing in report.reads.listings.iter() {
            let Some(before) = listing.next_before else {
                continue;
            };
            page.markup("<li><code>");
            page.text(&format!(
                "/v1/enterprises/{}/evidence?listing={}&before={before}",
                report.uscc,
                listing_name(listing.listing),
            ));
            page.markup("</code> (");
            page.text(&format!("{} of {} not shown", before, listing.total));
            page.markup(")</li>");
        }
        page.markup("</ul>");
    }
}

/// A listing as `?listing=` names it.
fn listing_name(listing: EvidenceListing) -> &'static str {
    match listing {
        EvidenceListing::Models => "models",
        EvidenceListing::Codes => "codes",
        EvidenceListing::Inspections => "inspections",
        EvidenceListing::Recalls => "recalls",
        EvidenceListing::Events => "events",
    }
}

fn summary(page: &mut Page, report: &SupplierReport) {
    page.markup("<h2>Summary</h2><ul class=\"summary\">");
    let (class, word) = validity(report.business_licence.validity);
    page.point(class, &format!("Business licence: {word}"));
    let documents: Vec<Validity> = report
        .production_licences
        .iter()
        .map(|l| l.validity)
        .chain(report.ccc_certificates.iter().map(|c| c.validity))
        .collect();
    let invalid = documents.iter().filter(|v| **v != Validity::Valid).count();
    let class = if invalid == 0 { Class::Ok } else { Class::Bad };
    page.point(
        class,
        &format!(
            "Production licences and CCC certificates: {} of {} valid",
            documents.len() - invalid,
            documents.len()
        ),
    );
    let open = report
        .recalls
        .iter()
        .filter(|r| r.status == RecallStatus::Open)
        .count();
    let class = match (open, report.recalls.len()) {
        (0, 0) => Class::Ok,
        (0, _) => Class::Warn,
        _ => Class::Bad,
    };
    page.point(
        class,
        &format!(
            "Recalls: {open} open, {} closed",
            report.recalls.len() - open
        ),
    );
    let failed = report
        .inspections
        .iter()
        .filter(|i| i.outcome == Outcome::NonConformant)
        .count();
    let class = if failed == 0 { Class::Ok } else { Class::Bad };
    page.point(
        class,
        &format!(
            "Inspections: {failed} non-conformant of {}",
            report.inspections.len()
        ),
    );
    let revoked = report
        .keys
        .iter()
        .filter(|k| k.status == KeyState::Revoked)
        .count();
    page.point(
        Class::Ok,
        &format!(
            "Keys: {} active, {revoked} revoked or rotated",
            report.keys.len() - revoked
        ),
    );
    page.markup("</ul>");
}

fn documents(page: &mut Page, report: &SupplierReport) {
    page.markup("<h2>Licences and certificates</h2>");
    page.head(&["Document", "Number", "Covers", "Valid", "Status"]);
    let licence = &report.business_licence;
    page.markup("<tr>");
    page.cell(&"Business licence");
    page.mono_cell(&report.uscc);
    page.cell(&licence.issued_by);
    let until = licence
        .valid_until
        .map_or("unlimited term".to_owned(), |d| d.to_string());
    page.cell(&format!("{} to {until}", licence.issued_on));
    let (class, word) = validity(licence.validity);
    page.status_cell(class, &word);
    page.markup("</tr>");
    for entry in &report.production_licences {
        page.markup("<tr>");
        page.cell(&"Production licence");
        page.mono_cell(&entry.number);
        page.cell(&entry.product);
        page.cell(&format!("until {}", entry.valid_until));
        let (class, word) = validity(entry.validity);
        page.status_cell(class, &word);
        page.markup("</tr>");
    }
    for entry in &report.ccc_certificates {
        page.markup("<tr>");
        page.cell(&"CCC certificate");
        page.mono_cell(&entry.number);
        page.cell(&entry.product);
        page.cell(&format!("{} to {}", entry.issued_on, entry.valid_until));
        let (class, word) = validity(entry.validity);
        page.status_cell(class, &word);
        page.markup("</tr>");
    }
    page.end_table();
}

fn products(page: &mut Page, report: &SupplierReport) {
    page.markup("<h2>Product models</h2>");
    if report.products.is_empty() {
        page.markup("<p class=\"muted\">None registered.</p>");
        return;
    }
    page.head(&[
        "GTIN",
        "Product",
        "Category",
        "Specification",
        "Standards",
        "Licence",
        "CCC",
    ]);
    for product in &report.products {
        page.markup("<tr>");
        page.mono_cell(&product.model_code);
        page.cell(&format!("{} ({})", product.name, product.model));
        match &product.category {
            Some(category) => page.cell(&format!("{} {}", category.name_zh, category.name_en)),
            None => page.cell(&"none named"),
        }
        let fields: Vec<String> = product
            .fields
            .iter()
            .map(|(id, value)| format!("{id}: {value}"))
            .collect();
        let mut specification = product.specification.to_string();
        if !fields.is_empty() {
            specification = format!("{specification} ({})", fields.join("; "));
        }
        page.cell(&specification);
        let standards: Vec<String> = product.standards.iter().map(|s| s.to_string()).collect();
        page.cell(&standards.join("; "));
        for document in [
            product
                .production_licence
                .as_ref()
                .map(|d| (d.number.to_string(), d.validity)),
            product
                .ccc_certificate
                .as_ref()
                .map(|d| (d.number.to_string(), d.validity)),
        ] {
            match document {
                Some((number, status)) => {
                    let (class, word) = validity(status);
                    page.status_cell(class, &format!("{number}: {word}"));
                }
                None => page.cell(&"none named"),
            }
        }
        page.markup("</tr>");
    }
    page.end_table();
}

fn batches(page: &mut Page, report: &SupplierReport) {
    page.markup("<h2>Batches and items commissioned</h2>");
    if report.batches.is_empty() {
        page.markup("<p class=\"muted\">None.</p>");
        return;
    }
    page.head(&[
        "Code",
        "Quantity",
        "Produced",
        "Own report",
        "Inspections",
        "Sales",
        "Recall",
    ]);
    for batch in &report.batches {
        page.markup("<tr>");
        page.mono_cell(&batch.code);
        page.cell(&batch.quantity);
        page.cell(&batch.production_date);
        page.cell(&batch.inspection_report.number);
        let class = match (batch.inspections, batch.non_conformant_inspections) {
            (0, _) => Class::Warn,
            (_, 0) => Class::Ok,
            _ => Class::Bad,
        };
        page.status_cell(
            class,
            &format!(
                "{} ({} non-conformant)",
                batch.inspections, batch.non_conformant_inspections
            ),
        );
        page.cell(&batch.shipments);
        match batch.recall {
            None => page.status_cell(Class::Ok, &"none"),
            Some(RecallStatus::Open) => page.status_cell(Class::Bad, &"open"),
            Some(RecallStatus::Closed) => page.status_cell(Class::Warn, &"closed"),
        }
        page.markup("</tr>");
    }
    page.end_table();
}

fn inspections(page: &mut Page, report: &SupplierReport) {
    page.markup("<h2>Inspections</h2>");
    if report.inspections.is_empty() {
        page.markup("<p class=\"muted\">None recorded.</p>");
        return;
    }
    page.head(&[
        "Date", "Subject", "Result", "By", "Report", "Findings", "Record",
    ]);
    for inspection in &report.inspections {
        page.markup("<tr>");
        page.cell(&inspection.inspected_on);
        page.mono_cell(&subject(&inspection.subject));
        match inspection.outcome {
            Outcome::Conformant => page.status_cell(Class::Ok, &"conformant"),
            Outcome::NonConformant => page.status_cell(Class::Bad, &"non-conformant"),
        }
        page.cell(&holder(&inspection.inspector));
        page.cell(&inspection.report_number);
        let findings = inspection
            .findings
            .as_ref()
            .map_or(String::new(), |f| f.to_string());
        page.cell(&findings);
        page.mono_cell(&record(&inspection.record));
        page.markup("</tr>");
    }
    page.end_table();
}

fn recalls(page: &mut Page, report: &SupplierReport) {
    page.markup("<h2>Recalls</h2>");
    if report.recalls.is_empty() {
        page.markup("<p class=\"muted\">None.</p>");
        return;
    }
    page.head(&[
        "Announced",
        "Subjects",
        "Reason",
        "Issued by",
        "Status",
        "Record",
    ]);
    for recall in &report.recalls {
        page.markup("<tr>");
        page.cell(&recall.announced_on);
        let subjects: Vec<String> = recall.subjects.iter().map(subject).collect();
        page.mono_cell(&subjects.join("; "));
        page.cell(&recall.reason);
        page.cell(&holder(&recall.issued_by));
        match (&recall.status, &recall.resolution) {
            (RecallStatus::Open, _) => page.status_cell(Class::Bad, &"open"),
            (RecallStatus::Closed, resolution) => {
                let resolution = resolution.as_ref().map_or(String::new(), |r| r.to_string());
                page.status_cell(Class::Warn, &format!("closed: {resolution}"));
            }
        }
        page.mono_cell(&record(&recall.record));
        page.markup("</tr>");
    }
    page.end_table();
}

fn completeness(page: &mut Page, report: &SupplierReport) {
    let completeness = &report.completeness;
    page.markup("<h2>Reporting completeness</h2>");
    page.head(&["Measure", "Share"]);
    let rows = [
        (
            "Codes with an inspection of the code or its model",
            &completeness.codes_inspected,
        ),
        (
            "Codes with a sale or shipment record",
            &completeness.codes_sold,
        ),
        (
            "Optional fields the SAMR content asks for, filled",
            &completeness.fields_filled,
        ),
    ];
    for (label, value) in rows {
        page.markup("<tr>");
        page.cell(&label);
        page.cell(&share(value));
        page.markup("</tr>");
    }
    page.markup("<tr>");
    page.cell(&format!(
        "Records committed within {} hours of their event",
        completeness.on_time_within_hours
    ));
    page.cell(&share(&completeness.reported_on_time));
    page.markup("</tr>");
    page.end_table();
    if !completeness.missing_fields.is_empty() {
        page.markup("<p>Fields left empty:</p><ul>");
        for missing in &completeness.missing_fields {
            page.markup("<li><span class=\"mono\">");
            page.text(&missing.field);
            page.markup("</span> in ");
            page.text(&record(&missing.record));
            page.markup("</li>");
        }
        page.markup("</ul>");
    }
}

fn keys(page: &mut Page, report: &SupplierReport) {
    page.markup("<h2>Signing keys</h2>");
    page.head(&["Key", "Bound at block", "Status"]);
    for key in &report.keys {
        page.markup("<tr>");
        page.mono_cell(&key.public_key);
        page.cell(&key.bound_at_height);
        match key.revoked_at_height {
            None => page.status_cell(Class::Ok, &"active"),
            Some(height) => page.status_cell(Class::Warn, &format!("revoked at block {height}")),
        }
        page.markup("</tr>");
    }
    page.end_table();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        let mut out = String::new();
        escape_into(&mut out, "<script>alert('x')</script> & \"q\"");
        assert_eq!(
            out,
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        let mut page = Page::default();
        page.text(&"<img src=x onerror=alert(1)>");
        assert!(!page.0.contains('<') && !page.0.contains('>'));
    }
}
