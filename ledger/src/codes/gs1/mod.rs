//! Validate GS1 identifiers: keys, Application Identifier element strings, Digital Link URIs and
//! EPC URNs.

pub mod check;
pub mod dictionary;
pub mod digital_link;
pub mod element;
pub mod epc;
pub mod epc_link;
pub mod keys;
pub mod linters;
pub mod party;
