//! Render a node's answers for people: status, codes, enterprises, records, supplier reports,
//! scores and rankings, as the text `suyuan status` and `suyuan query` print (`--json` prints
//! the API's JSON instead).

use serde::Serialize;
use suyuan_api::types::{CatalogueView, CodeView, NodeStatus, SyncState};
use suyuan_api::views::{
    BusinessLicenceView, CertificateView, ComputedAt, EnterpriseRecordsPage, EnterpriseView,
    KeyHolder, KeyView, LicenceView, Reads, RecallStatus, Registration, ScoreRanking, ScoreView,
    Share, SupplierReport,
};
use suyuan_client::wire_name;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::record::{Outcome as InspectionOutcome, Subject};

/// Most inspections or recalls the summary of `query report` lists; `--json` has them all.
const MAX_LISTED: usize = 10;

/// The key-product catalogue for people: one block per category.
pub(crate) fn describe_catalogue(catalogue: &CatalogueView) -> String {
    let source = if catalogue.in_genesis {
        "named in genesis"
    } else {
        "the programme catalogue (the genesis names none)"
    };
    let mut out = format!(
        "key-product catalogue: {source}; {} categories; a model {} name one\n",
        catalogue.categories.len(),
        if catalogue.require_category {
            "must"
        } else {
            "may"
        },
    );
    for category in &catalogue.categories {
        let documents = if category.documents.is_empty() {
            "none".to_owned()
        } else {
            category.documents.join(", ")
        };
        let fields: Vec<String> = category
            .fields
            .iter()
            .map(|field| format!("{} ({} {})", field.id, field.name_zh, field.name_en))
            .collect();
        out.push_str(&format!(
            "\n{}  {}  {}\n  documents  {documents}\n  fields     {}\n",
            category.id,
            category.name_zh,
            category.name_en,
            fields.join(", "),
        ));
    }
    out
}

/// A node's status for people.
pub(crate) fn describe_status(status: &NodeStatus) -> String {
    let sync = match &status.sync {
        SyncState::Synced => "synced".to_owned(),
        SyncState::CatchingUp { target_height } => format!("catching up to {target_height}"),
    };
    let mut out = format!(
        "chain      {} (genesis {})\n\
         node       {} {} ({})\n\
         height     {} (head {})\n\
         view       {}\n\
         sync       {sync}\n\
         mempool    {} transactions, {} bytes\n\
         version    {}\n\
         validators\n",
        status.chain_id,
        status.genesis_hash,
        status.node.index,
        status.node.name,
        status.node.public_key,
        status.height,
        status.head_hash,
        status.view,
        status.mempool.transactions,
        status.mempool.bytes,
        status.version,
    );
    for validator in &status.validators {
        let link = if validator.is_self {
            "self"
        } else if validator.connected {
            "connected"
        } else {
            "not connected"
        };
        out.push_str(&format!(
            "  {:>3}  {link:<13}  {}  {}  {}\n",
            validator.index,
            validator.p2p_address,
            validator.api_url.as_deref().unwrap_or("-"),
            validator.name,
        ));
    }
    out
}

/// A code and the ledger's latest record of it, for people.
pub(crate) fn describe_code(view: &CodeView) -> String {
    let mut out = format!("kind          {}", view.kind);
    if !view.also_valid_as.is_empty() {
        let others: Vec<String> = view.also_valid_as.iter().map(ToString::to_string).collect();
        out.push_str(&format!(" (also valid as {})", others.join(", ")));
    }
    let check = match view.check_digit_valid {
        Some(true) => "valid",
        Some(false) => "wrong",
        None => "none in this kind of code",
    };
    out.push_str(&format!(
        "\nnormalized    {}\ncheck digits  {check}\n",
        view.normalized
    ));
    let width = view.fields.keys().map(String::len).max().unwrap_or(0);
    for (name, value) in &view.fields {
        out.push_str(&format!("  {name:<width$}  {value}\n"));
    }
    for ai in &view.ais {
        out.push_str(&format!("  ({}) {}: {}\n", ai.ai, ai.title, ai.value));
    }
    match (&view.trace_code, &view.latest) {
        (None, _) => out.push_str("trace code    none: it names no batch, item or logistic unit\n"),
        (Some(code), None) => {
            out.push_str(&format!("trace code    {code}\nlatest        no committed record names it\n"));
        }
        (Some(code), Some(latest)) => out.push_str(&format!(
            "trace code    {code}\nlatest        {} at height {}, index {}, tx {}\nhistory       {}\n",
            latest.record_type, latest.height, latest.index, latest.id, latest.product
        )),
    }
    out
}

/// An enterprise's registration for people.
pub(crate) fn describe_enterprise(view: &EnterpriseView) -> String {
    let mut out = format!(
        "{}\n\
         uscc          {}\n\
         kind          {}\n\
         address       {}\n\
         contact       {}\n",
        view.name,
        view.uscc,
        words(&view.kind),
        view.address,
        view.contact,
    );
    out.push_str(&describe_registration(
        &view.registration,
        &view.computed_at,
    ));
    out.push_str(&describe_documents(
        &view.business_licence,
        &view.production_licences,
        &view.ccc_certificates,
        &view.keys,
    ));
    out
}

/// Who enrolled an enterprise, and the block a view is as of.
pub(crate) fn describe_registration(registration: &Registration, at: &ComputedAt) -> String {
    let prefixes = if registration.prefixes.is_empty() {
        String::new()
    } else {
        let held: Vec<String> = registration
            .prefixes
            .iter()
            .map(ToString::to_string)
            .collect();
        format!("prefixes      {}\n", held.join(", "))
    };
    format!(
        "registered    at height {} by {}\n{prefixes}\
         as of         height {}, block {}, {} (China Standard Time)\n",
        registration.registered_at_height,
        describe_holder(&registration.registered_by),
        at.height,
        at.block_hash,
        at.date,
    )
}

/// Licences, certificates and keys, one a line, each led by its validity or status.
pub(crate) fn describe_documents(
    licence: &BusinessLicenceView,
    licences: &[LicenceView],
    certificates: &[CertificateView],
    keys: &[KeyView],
) -> String {
    let term = licence.valid_until.map_or_else(
        || "unlimited term".to_owned(),
        |until| format!("valid until {until}"),
    );
    let mut out = format!(
        "\nbusiness licence\n  {:<14} issued {} by {}, {term}\n",
        words(&licence.validity),
        licence.issued_on,
        licence.issued_by,
    );
    out.push_str(&describe_list("production licences", licences, |licence| {
        format!(
            "{:<14} {}  {}, valid until {}",
            words(&licence.validity),
            licence.number,
            licence.product,
            licence.valid_until,
        )
    }));
    out.push_str(&describe_list(
        "ccc certificates",
        certificates,
        |certificate| {
            format!(
                "{:<14} {}  {}, {} to {}",
                words(&certificate.validity),
                certificate.number,
                certificate.product,
                certificate.issued_on,
                certificate.valid_until,
            )
        },
    ));
    out.push_str(&describe_list("keys", keys, |key| {
        let revoked = key
            .revoked_at_height
            .map(|height| format!(", revoked at height {height}"))
            .unwrap_or_default();
        format!(
            "{:<14} {}  bound at height {}{revoked}",
            words(&key.status),
            key.public_key,
            key.bound_at_height,
        )
    }));
    out
}

/// A heading, then each item's line indented under it, or `  none` when there are none.
pub(crate) fn describe_list<T>(heading: &str, items: &[T], line: impl Fn(&T) -> String) -> String {
    let mut out = format!("{heading}\n");
    for item in items {
        out.push_str(&format!("  {}\n", line(item)));
    }
    if items.is_empty() {
        out.push_str("  none\n");
    }
    out
}

/// A page of an enterprise's records, one a line; `all` says it is every record `--all` read.
pub(crate) fn describe_records(page: &EnterpriseRecordsPage, all: bool) -> String {
    let mut out = format!(
        "{}: {} records, {} first\n",
        page.uscc,
        page.records.len(),
        wire_name(&page.order),
    );
    if !page.records.is_empty() {
        out.push_str(&format!(
            "{:>8}  {:>5}  {:<22}  id\n",
            "height", "index", "type"
        ));
    }
    for tx in &page.records {
        out.push_str(&format!(
            "{:>8}  {:>5}  {:<22}  {}\n",
            tx.height,
            tx.index,
            tx.payload.record.type_name(),
            tx.id,
        ));
    }
    match (&page.next, all) {
        (Some(next), true) => out.push_str(&format!(
            "stopped after {} records; go on with --all --after {next}\n",
            page.records.len()
        )),
        (Some(next), false) => out.push_str(&format!("next page: --after {next}\n")),
        (None, _) => {}
    }
    out
}

/// The supplier verification report in brief: registration and documents in full, products,
/// then counts with the first few inspections and recalls, and the completeness shares.
pub(crate) fn describe_report(report: &SupplierReport) -> String {
    let mut out = format!(
        "supplier verification report: {}\n\
         uscc          {}\n\
         kind          {}\n\
         address       {}\n",
        report.name,
        report.uscc,
        words(&report.kind),
        report.address,
    );
    out.push_str(&describe_registration(
        &report.registration,
        &report.computed_at,
    ));
    out.push_str(&describe_documents(
        &report.business_licence,
        &report.production_licences,
        &report.ccc_certificates,
        &report.keys,
    ));
    out.push_str(&format!("products ({})\n", report.products.len()));
    for product in &report.products {
        let documents = [
            ("production licence", &product.production_licence),
            ("CCC certificate", &product.ccc_certificate),
        ]
        .into_iter()
        .filter_map(|(what, document)| {
            document.as_ref().map(|document| {
                format!("; {what} {} {}", document.number, words(&document.validity))
            })
        })
        .collect::<String>();
        let category = product
            .category
            .as_ref()
            .map(|category| format!("; {} {}", category.name_zh, category.name_en))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {}  {}, model {}{category}{documents}\n",
            product.model_code, product.name, product.model
        ));
    }
    let recalled = |status| {
        report
            .batches
            .iter()
            .filter(|batch| batch.recall == Some(status))
            .count()
    };
    out.push_str(&format!(
        "batches and items: {} commissioned, {} under open recall, {} under a closed one\n",
        report.batches.len(),
        recalled(RecallStatus::Open),
        recalled(RecallStatus::Closed),
    ));
    let failed = report
        .inspections
        .iter()
        .filter(|inspection| inspection.outcome != InspectionOutcome::Conformant)
        .count();
    out.push_str(&format!(
        "inspections ({}, {failed} non-conformant)\n",
        report.inspections.len()
    ));
    for inspection in report.inspections.iter().take(MAX_LISTED) {
        out.push_str(&format!(
            "  {:<14} {}  {}, report {} by {}\n",
            words(&inspection.outcome),
            inspection.inspected_on,
            describe_subject(&inspection.subject),
            inspection.report_number,
            inspection
                .inspector
                .name
                .as_deref()
                .unwrap_or("an unknown key"),
        ));
    }
    out.push_str(&more_listed(report.inspections.len()));
    let open = report
        .recalls
        .iter()
        .filter(|recall| recall.status == RecallStatus::Open)
        .count();
    out.push_str(&format!(
        "recalls ({}, {open} open)\n",
        report.recalls.len()
    ));
    for recall in report.recalls.iter().take(MAX_LISTED) {
        let subjects: Vec<String> = recall.subjects.iter().map(describe_subject).collect();
        out.push_str(&format!(
            "  {:<14} {}  {}: {}\n",
            words(&recall.status),
            recall.announced_on,
            subjects.join(", "),
            recall.reason,
        ));
    }
    out.push_str(&more_listed(report.recalls.len()));
    let completeness = &report.completeness;
    out.push_str(&format!(
        "completeness\n\
         \x20 codes inspected   {}\n\
         \x20 codes sold        {}\n\
         \x20 fields filled     {}\n\
         \x20 reported on time  {} (within {} hours)\n",
        describe_share(&completeness.codes_inspected),
        describe_share(&completeness.codes_sold),
        describe_share(&completeness.fields_filled),
        describe_share(&completeness.reported_on_time),
        completeness.on_time_within_hours,
    ));
    if report.reads.truncated {
        out.push_str(&truncated_note(&report.uscc, &report.reads));
    }
    out.push_str("the whole report: --json, or --html FILE for a page to read or print\n");
    out
}

/// A score's total and its components as a table.
pub(crate) fn describe_score(view: &ScoreView) -> String {
    let total = view.total_bp.map_or_else(
        || "none: no weighted component has anything to count".to_owned(),
        |bp| format!("{} ({bp} bp)", percent(bp)),
    );
    let mut out = format!(
        "{} ({})\n\
         as of         height {}, block {}, {} (China Standard Time)\n\
         total         {total}\n\
         weights       {}\n\n\
         {:<20}  {:>15}  {:>8}  {:>6}  {:>12}\n",
        view.name,
        view.uscc,
        view.computed_at.height,
        view.computed_at.block_hash,
        view.computed_at.date,
        wire_name(&view.weights),
        "component",
        "met / out of",
        "value",
        "weight",
        "contribution",
    );
    for component in &view.components {
        let value = component.share.bp.map_or_else(|| "-".to_owned(), percent);
        out.push_str(&format!(
            "{:<20}  {:>15}  {value:>8}  {:>6}  {:>12}\n",
            component.component,
            format!("{} / {}", component.share.met, component.share.out_of),
            component.weight,
            percent(component.contribution_bp),
        ));
    }
    out.push_str("(a component with nothing to count, value -, does not count)\n");
    if view.reads.truncated {
        out.push_str(&truncated_note(&view.uscc, &view.reads));
    }
    out
}

/// A ranking of members by score, one a line.
pub(crate) fn describe_ranking(ranking: &ScoreRanking) -> String {
    let whose = match &ranking.registrar {
        Some(registrar) => format!("members of {}", registrar.name),
        None => "every enrolled enterprise".to_owned(),
    };
    let at = &ranking.computed_at;
    let mut out = format!(
        "{whose}: {} ranked, as of height {}, block {}, {}\n",
        ranking.members, at.height, at.block_hash, at.date,
    );
    if ranking.truncated {
        out.push_str(&format!(
            "note: only the first {} members in USCC order were ranked\n",
            ranking.max_ranked
        ));
    }
    if !ranking.ranking.is_empty() {
        out.push_str(&format!(
            "{:>4}  {:>8}  {:<18}  name\n",
            "rank", "score", "uscc"
        ));
    }
    for member in &ranking.ranking {
        let score = member.total_bp.map_or_else(|| "-".to_owned(), percent);
        let cut = if member.truncated {
            " (score of the newest part of its history)"
        } else {
            ""
        };
        out.push_str(&format!(
            "{:>4}  {score:>8}  {:<18}  {}{cut}\n",
            member.rank, member.uscc, member.name,
        ));
    }
    if let Some(offset) = ranking.next_offset {
        out.push_str(&format!("next page: --offset {offset}\n"));
    }
    out
}

/// A value of the API's in words: `not yet valid`, `inspection body`.
pub(crate) fn words(value: &impl Serialize) -> String {
    wire_name(value).replace('_', " ")
}

/// Basis points as a percentage with two decimals: `49.99 %`.
pub(crate) fn percent(bp: u32) -> String {
    format!("{}.{:02} %", bp / 100, bp % 100)
}

/// A share as `2 / 4 = 50.00 %`, or `none to count`.
pub(crate) fn describe_share(share: &Share) -> String {
    match share.bp {
        Some(bp) => format!("{} / {} = {}", share.met, share.out_of, percent(bp)),
        None => "none to count".to_owned(),
    }
}

/// Who holds a key: name, roles, enterprise, and the key.
pub(crate) fn describe_holder(holder: &KeyHolder) -> String {
    let mut text = holder
        .name
        .clone()
        .unwrap_or_else(|| "a key nobody holds".to_owned());
    let roles: Vec<&str> = [
        (holder.registrar, "registrar"),
        (holder.regulator, "regulator"),
    ]
    .into_iter()
    .filter_map(|(is, role)| is.then_some(role))
    .collect();
    if !roles.is_empty() {
        text.push_str(&format!(" ({})", roles.join(", ")));
    }
    if let Some(uscc) = &holder.uscc {
        text.push_str(&format!(" [{uscc}]"));
    }
    text.push_str(&format!(", key {}", holder.public_key));
    text
}

/// An inspection's or a recall's subject.
pub(crate) fn describe_subject(subject: &Subject) -> String {
    match subject {
        Subject::Code(code) => code.to_string(),
        Subject::Model(model_code) => format!("every item of model {model_code}"),
        Subject::Sampled(product) => format!(
            "{} {} of {} ({}), sampled {} at {} ({}), not on the ledger",
            product.product_name,
            product.model,
            product.maker_name,
            product.maker,
            product.sampled_on,
            product.place,
            product.sampled_in
        ),
    }
}

/// How many a summary left out of a list of `count`, if any.
pub(crate) fn more_listed(count: usize) -> String {
    if count > MAX_LISTED {
        format!(
            "  … and {} more (--json lists them all)\n",
            count - MAX_LISTED
        )
    } else {
        String::new()
    }
}

/// Says that the lists of evidence show the newest part of the enterprise's history.
/// With where the rest of each cut listing pages from.
pub(crate) fn truncated_note(uscc: &Uscc, reads: &Reads) -> String {
    let mut note = format!(
        "note: the lists show the newest evidence only ({} of at most {} entries, {} of at most \
         {} codes); the figures cover the whole history\n",
        reads.records_read, reads.max_records, reads.codes_read, reads.max_codes
    );
    for listing in &reads.listings {
        if let Some(before) = listing.next_before {
            let name = wire_name(&listing.listing);
            note.push_str(&format!(
                "  {before} older {name} of {}: GET /v1/enterprises/{uscc}/evidence?listing={name}&before={before}\n",
                listing.total
            ));
        }
    }
    note
}
