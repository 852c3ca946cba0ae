//! Import records in bulk from what producers' systems export: CSV files (one column layout
//! per record kind) and GS1 EPCIS 2.0 documents of any length.
//!
//! The parts, in the order an import runs them:
//! - [`text`] decodes the file: UTF-8, or GBK when asked (a GBK file is never guessed into
//!   the data);
//! - [`layout`] turns a CSV row into its record, naming the column at fault;
//! - [`source`] reads the whole file into items and signs each with the enterprise's key,
//!   under a nonce derived from the row, so that a row signed again is the same transaction;
//! - [`journal`] remembers what earlier runs committed;
//! - [`pipeline`] submits batches, follows commits, retries through node restarts and
//!   overload, and resubmits a record refused only because what it depends on was still
//!   pending;
//! - [`report`] writes the refused rows back, with the rule that refused each, as a file to
//!   fix and import again.
//!
//! The `suyuan import` command (docs/import.md) wires them to a node's API ([`node`]) with a
//! progress bar; the signing key never leaves the client.

pub mod journal;
pub mod layout;
mod node;
pub mod pipeline;
pub mod report;
pub mod source;
pub mod text;
