//! GS1 EPCIS 2.0 for Suyuan: what producers' ERP and MES systems speak.
//!
//! - [`export`]: a record as the EPCIS event it is, with nothing in it that depends on the
//!   chain it was read from; [`document`] wraps events in an `EPCISDocument` or an
//!   `EPCISQueryDocument` and checks documents against GS1's official JSON Schema.
//! - [`capture`]: an event as the payload that records it, refusing with a reason
//!   ([`CaptureError`]) whatever the ledger could not keep. The capturing enterprise's client
//!   signs the payloads (`suyuan epcis capture`): no node holds an enterprise's key.
//! - [`query`]: the simple event query's parameters, and which events answer them.
//! - [`ids`]: the URIs of codes, models and parties, as EPC URNs or GS1 Digital Links.
//!
//! docs/epcis.md has the mapping table and the extension fields.

pub mod capture;
pub mod document;
mod error;
pub mod export;
pub mod ids;
pub mod query;

pub use error::CaptureError;
