//! Write what an import refused in the form it came in, for the user to fix and import again.
//!
//! For a CSV file: the refused rows with the file's own header and three comment columns added,
//! `_row` (the row in the original file), `_error` (the rule or check, e.g. `not_held`,
//! `invalid_value`) and `_message` (in words, naming the column where one is at fault). Import
//! ignores comment columns, so the report, corrected, is a file to import as it is. For an
//! EPCIS document: a document of the refused events, unchanged.

use std::path::Path;

use serde_json::Value;
use suyuan_api::types::ErrorBody;

use crate::pipeline::Outcome;
use crate::source::{CsvFile, Item};

/// The error of an outcome that is a refusal.
pub fn refusal(outcome: &Outcome) -> Option<&ErrorBody> {
    match outcome {
        Outcome::Refused { error, .. } | Outcome::Rejected { error, .. } => Some(error),
        Outcome::Committed { .. } | Outcome::Unfinished => None,
    }
}

/// The rule a refusal names: a rule violation's `rule`, else its code.
pub fn rule_of(error: &ErrorBody) -> &str {
    error
        .details
        .get("rule")
        .and_then(Value::as_str)
        .unwrap_or(&error.code)
}

/// Writes the refused rows of `file` to `path` as CSV; returns how many.
pub fn write_csv(
    path: &Path,
    file: &CsvFile,
    items: &[Item],
    outcomes: &[Outcome],
) -> std::io::Result<usize> {
    let mut writer = csv::Writer::from_path(path)?;
    let original: Vec<&str> = file
        .header
        .iter()
        .map(String::as_str)
        .filter(|name| !is_report_column(name))
        .collect();
    let keep: Vec<usize> = file
        .header
        .iter()
        .enumerate()
        .filter(|(_, name)| !is_report_column(name))
        .map(|(position, _)| position)
        .collect();
    let mut header = original.clone();
    header.extend(["_row", "_error", "_message"]);
    writer.write_record(&header)?;
    let mut written = 0;
    for ((item, outcome), (_, cells)) in items.iter().zip(outcomes).zip(&file.rows) {
        let Some(error) = refusal(outcome) else {
            continue;
        };
        let mut record: Vec<String> = keep
            .iter()
            .map(|&position| cells.get(position).cloned().unwrap_or_default())
            .collect();
        record.push(item.position.to_string());
        record.push(rule_of(error).to_owned());
        record.push(error.message.clone());
        writer.write_record(&record)?;
        written += 1;
    }
    writer.flush()?;
    Ok(written)
}

/// Whether a column is one a report adds (an earlier report's, when a report is imported).
fn is_report_column(name: &str) -> bool {
    matches!(name.trim(), "_row" | "_error" | "_message")
}

/// The refused events of `events`, as a document to fix and import again; `None` if none
/// was refused.
pub fn refused_events(events: &[Value], outcomes: &[Outcome]) -> Option<Value> {
    let refused: Vec<Value> = events
        .iter()
        .zip(outcomes)
        .filter(|(_, outcome)| refusal(outcome).is_some())
        .map(|(event, _)| event.clone())
        .collect();
    (!refused.is_empty()).then(|| suyuan_epcis::document::document(refused))
}
