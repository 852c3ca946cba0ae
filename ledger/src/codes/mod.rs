//! Parse and validate the traceability codes that products and enterprises carry.
//!
//! Every identifier is a newtype that can only hold a valid value: its `FromStr` is the one place
//! where its rule lives, and its error says what is wrong and where. The kinds:
//!
//! | module | identifier |
//! |---|---|
//! | [`uscc`] | unified social credit code of an enterprise (GB 32100) |
//! | [`gs1`] | GS1 keys (GTIN, GLN, SSCC), Application Identifier element strings, Digital Link URIs, EPC URNs |
//! | [`ccc`] | China Compulsory Certification certificate number |
//! | [`licence`] | industrial product production licence number |
//! | [`handle`] | industrial-internet (Handle-style) identifier, the "digital identity code" |
//! | [`ecode`] | Ecode IoT identification code (GB/T 31866), structure only |
//! | [`accreditation`] | accreditation number of a testing or inspection body (CMA, CNAS) |
//! | [`region`] | administrative division code (GB/T 2260) |
//! | [`model`] | a product model's code: GTIN, Ecode or industrial-internet id |
//! | [`prefix`] | the identifier prefixes enterprises hold (GS1 company prefix, Handle prefix, Ecode registrant) |
//!
//! [`inspect`] detects which kind an arbitrary string is and reports its parsed fields; it is what
//! `suyuan code inspect` and the API's code lookup print.

pub mod accreditation;
pub mod ccc;
pub mod ecode;
pub mod gs1;
pub mod handle;
pub mod inspect;
pub mod licence;
pub mod model;
pub mod prefix;
pub mod region;
pub mod uscc;
