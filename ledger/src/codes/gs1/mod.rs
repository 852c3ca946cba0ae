//! Validate GS1 identifiers: keys, Application Identifier element strings, Digital Link URIs and
//! EPC URNs.

pub mod check;
pub mod keys;
pub mod dictionary;
pub mod linters;
pub mod element;
pub mod digital_link;
pub mod epc;
