//! Turn one CSV row into the record it describes, by the column layout of its record kind.
//!
//! Each kind an enterprise, an inspection body or a regulator writes in bulk has one layout
//! ([`RecordKind::columns`], printed by `suyuan import --template KIND` and listed in
//! docs/import.md). A file holds one kind (`--kind`) or several, told apart by a `type` column;
//! a mixed file has the union of the kinds' columns and each row fills those of its own kind.
//! A cell is parsed by the record's own types (the same rule as a signed JSON record), so an
//! error names the column and says what the value must be. Lists inside a cell are separated
//! by `|`, which no GS1 character set allows in a code. Columns whose name starts with `_` or
//! `#` are comments (an import report's `_row`, `_error`, `_message`), ignored.

use std::collections::{BTreeMap, HashMap};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use suyuan_ledger::catalogue::CategoryId;
use suyuan_ledger::codes::accreditation::Accreditation;
use suyuan_ledger::codes::ccc::CccCertificate;
use suyuan_ledger::codes::gs1::keys::{Gln, Gtin};
use suyuan_ledger::codes::inspect::read_trace_code;
use suyuan_ledger::codes::licence::ProductionLicence;
use suyuan_ledger::codes::model::ModelCode;
use suyuan_ledger::codes::region::RegionCode;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::event::{EventTime, EventUri};
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::record::{Outcome, Record, ReportKind, UnitCode};
use suyuan_ledger::text::{Date, LongText, Reference, ShortText};

/// The separator of list items inside one cell.
pub const LIST_SEPARATOR: char = '|';
/// The most columns a file may have.
pub const MAX_COLUMNS: usize = 256;
/// The most items a list cell may hold (the ledger's own bounds are lower for most lists).
pub const MAX_LIST_ITEMS: usize = 10_000;

/// The record kinds a CSV file may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
    /// A product model (`register_product`).
    RegisterProduct,
    /// A batch or serialised items made (`commission`).
    Commission,
    /// An inspection result (`inspect`).
    Inspect,
    /// A sale or shipment (`ship`).
    Ship,
    /// A recall (`recall`).
    Recall,
    /// The close of a recall (`close_recall`).
    CloseRecall,
    /// Codes packed into a logistic unit (`pack`).
    Pack,
    /// A logistic unit unpacked (`unpack`).
    Unpack,
    /// Other codes a batch or item carries (`link_codes`).
    LinkCodes,
}

/// One column of a layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Its header name.
    pub name: &'static str,
    /// Whether every row of the kind must fill it; columns that are one of several
    /// alternatives say so in `doc` and are checked together.
    pub required: bool,
    /// What it holds, for people.
    pub doc: &'static str,
}

const fn required(name: &'static str, doc: &'static str) -> Column {
    Column {
        name,
        required: true,
        doc,
    }
}

const fn optional(name: &'static str, doc: &'static str) -> Column {
    Column {
        name,
        required: false,
        doc,
    }
}

/// Columns any kind may fill.
pub const COMMON_COLUMNS: &[Column] = &[
    optional(
        "type",
        "the record kind of the row (register_product, commission, inspect, ship, recall, \
         close_recall, pack, unpack, link_codes); required unless the file is imported with --kind",
    ),
    optional(
        "event_id",
        "an id of the business event, unique for the signer (a UUID urn:uuid:… or any URI), \
         e.g. from the ERP's document number: the same event is then never recorded twice",
    ),
    optional(
        "nonce",
        "the payload's nonce (0 to 2^64-1); by default one derived from the signer and the row, \
         so that importing the same row again is recognised as the same transaction",
    ),
];

const REGISTER_PRODUCT: &[Column] = &[
    required("uscc", "the maker's or importer's USCC"),
    optional("gtin", "the model's GTIN (one of gtin and model_code)"),
    optional(
        "model_code",
        "the model's Ecode (ecode:…) or industrial-internet id (handle:…), for a model without a GTIN",
    ),
    required("name", "product name"),
    required("product_type", "product type, e.g. 电线电缆"),
    required("specification", "specification, e.g. BV 2.5 mm² 450/750 V"),
    required("model", "model designation"),
    optional("standards", "applicable standards, separated by |"),
    required("warranty_months", "warranty period in months"),
    optional(
        "production_licence",
        "the production licence that covers it",
    ),
    optional("ccc_certificate", "the CCC certificate that covers it"),
    optional("category", "its category in the consortium's catalogue"),
    optional(
        "field.<id>",
        "one column per catalogue field the category requires, e.g. field.rated_voltage",
    ),
];

const COMMISSION: &[Column] = &[
    required("uscc", "the producer's USCC"),
    optional("gtin", "the model's GTIN (one of gtin and model_code)"),
    optional("model_code", "the model's Ecode or industrial-internet id"),
    optional(
        "code",
        "a batch: its lot code (GS1 element string or Digital Link, Ecode, Handle); with quantity",
    ),
    optional("quantity", "units in the batch"),
    optional(
        "codes",
        "serialised items: their codes, separated by | (instead of code)",
    ),
    optional(
        "batch",
        "the batch the serialised items belong to, commissioned earlier",
    ),
    required("production_date", "production date, YYYY-MM-DD"),
    optional(
        "factory_number",
        "factory number, if the product carries one",
    ),
    required("report_kind", "type_inspection or factory_inspection"),
    required("report_number", "the inspection report's number"),
    required("report_issued_by", "who issued the report"),
    required(
        "report_sha256",
        "SHA-256 of the report document, 64 hex digits",
    ),
];

const INSPECT: &[Column] = &[
    optional(
        "code",
        "the batch, item or logistic unit inspected (one subject column)",
    ),
    optional(
        "subject_model",
        "or the model inspected: its GTIN, ecode:… or handle:…",
    ),
    optional(
        "sampled_maker",
        "or a product sampled on the market: the maker's USCC",
    ),
    optional("sampled_maker_name", "the maker's name as on the label"),
    optional("sampled_product_name", "the product's name"),
    optional("sampled_model", "its model or specification"),
    optional("sampled_category", "its catalogue category"),
    optional("sampled_batch", "the batch or lot as printed"),
    optional("sampled_printed_code", "the code printed on it, as text"),
    optional("sampled_on", "when it was sampled, YYYY-MM-DD"),
    optional(
        "sampled_in",
        "the 6-digit administrative division it was sampled in",
    ),
    optional("sampled_place", "the shop, market or platform"),
    required("outcome", "conformant or non_conformant"),
    optional("standards", "standards inspected against, separated by |"),
    required("inspected_on", "date of inspection, YYYY-MM-DD"),
    required("report_number", "the report's number"),
    required("report_sha256", "SHA-256 of the report document"),
    optional("findings", "what was found"),
    optional(
        "accreditation",
        "the accreditation the inspection body worked under",
    ),
];

const SHIP: &[Column] = &[
    required("seller", "the seller's USCC"),
    optional(
        "buyer_uscc",
        "a business buyer's USCC; name, address and contact are read from its registration \
         when the row leaves them empty",
    ),
    optional("buyer_name", "the business buyer's name"),
    optional("buyer_address", "its address"),
    optional("buyer_contact", "its business contact"),
    optional("buyer_gln", "its party GLN"),
    optional(
        "buyer_commitment",
        "a private buyer: the commitment to their data (64 hex digits; docs/records.md)",
    ),
    optional(
        "buyer_data_reference",
        "where the seller keeps the private buyer's data",
    ),
    required(
        "sold_at",
        "time of sale: 2026-03-05 14:30:00 (China time), RFC 3339 with an offset, or Unix ms",
    ),
    required("codes", "the codes that move, separated by |"),
    optional(
        "quantities",
        "units of each code, separated by |; 1 each when empty",
    ),
    optional("order_reference", "the order or invoice number"),
];

const RECALL: &[Column] = &[
    required("producer", "the producer's USCC"),
    optional("codes", "the codes recalled, separated by |"),
    optional(
        "models",
        "the models recalled (GTIN, ecode:…, handle:…), separated by |",
    ),
    required("reason", "the defect and the hazard"),
    required("announced_on", "date announced, YYYY-MM-DD"),
];

const CLOSE_RECALL: &[Column] = &[
    required("recall", "the recall's transaction id, 64 hex digits"),
    required("resolution", "how it was resolved"),
];

const PACK: &[Column] = &[
    required("uscc", "the packer's USCC"),
    required("sscc", "the logistic unit's SSCC"),
    required("codes", "what goes in, separated by |"),
    optional(
        "quantities",
        "units of each code, separated by |; 1 each when empty",
    ),
    required("packed_at", "time of packing, as sold_at"),
];

const UNPACK: &[Column] = &[
    required("uscc", "the unit's holder"),
    required("sscc", "the logistic unit's SSCC"),
    required("unpacked_at", "time of unpacking, as sold_at"),
];

const LINK_CODES: &[Column] = &[
    required("uscc", "the producer that commissioned code"),
    required("code", "the code as commissioned"),
    required("aliases", "the other codes it carries, separated by |"),
];

impl RecordKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [RecordKind; 9] = [
        RecordKind::RegisterProduct,
        RecordKind::Commission,
        RecordKind::Inspect,
        RecordKind::Ship,
        RecordKind::Recall,
        RecordKind::CloseRecall,
        RecordKind::Pack,
        RecordKind::Unpack,
        RecordKind::LinkCodes,
    ];

    /// Its name: the record's `type`.
    pub fn name(self) -> &'static str {
        match self {
            RecordKind::RegisterProduct => "register_product",
            RecordKind::Commission => "commission",
            RecordKind::Inspect => "inspect",
            RecordKind::Ship => "ship",
            RecordKind::Recall => "recall",
            RecordKind::CloseRecall => "close_recall",
            RecordKind::Pack => "pack",
            RecordKind::Unpack => "unpack",
            RecordKind::LinkCodes => "link_codes",
        }
    }

    /// The kind named `name`.
    pub fn from_name(name: &str) -> Option<RecordKind> {
        RecordKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// Its own columns (besides [`COMMON_COLUMNS`]).
    pub fn columns(self) -> &'static [Column] {
        match self {
            RecordKind::RegisterProduct => REGISTER_PRODUCT,
            RecordKind::Commission => COMMISSION,
            RecordKind::Inspect => INSPECT,
            RecordKind::Ship => SHIP,
            RecordKind::Recall => RECALL,
            RecordKind::CloseRecall => CLOSE_RECALL,
            RecordKind::Pack => PACK,
            RecordKind::Unpack => UNPACK,
            RecordKind::LinkCodes => LINK_CODES,
        }
    }

    /// Whether the kind has a column named `name`.
    fn has_column(self, name: &str) -> bool {
        self.columns().iter().any(|column| column.name == name)
            || (self == RecordKind::RegisterProduct && name.starts_with(FIELD_PREFIX))
    }
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The prefix of a catalogue field's column.
const FIELD_PREFIX: &str = "field.";

/// Why a file's header row cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// A column no layout has (a typo, most often).
    #[error("column {column:?} is in no record layout (see suyuan import --template KIND)")]
    UnknownColumn {
        /// The column as written.
        column: String,
    },
    /// Two columns with one name.
    #[error("column {column:?} appears twice")]
    DuplicateColumn {
        /// The column.
        column: String,
    },
    /// No `type` column and no `--kind`.
    #[error("the file has no type column: add one, or import it with --kind KIND")]
    NoKind,
    /// More columns than [`MAX_COLUMNS`].
    #[error("the file has {columns} columns; at most {MAX_COLUMNS} are read")]
    TooManyColumns {
        /// How many.
        columns: usize,
    },
    /// `--kind` names one kind and a column belongs to none of its layout.
    #[error("column {column:?} is not in the {kind} layout")]
    NotInLayout {
        /// The column.
        column: String,
        /// The kind imported.
        kind: RecordKind,
    },
}

impl HeaderError {
    /// The stable machine-readable name of the error.
    pub fn code(&self) -> &'static str {
        match self {
            HeaderError::UnknownColumn { .. } => "unknown_column",
            HeaderError::DuplicateColumn { .. } => "duplicate_column",
            HeaderError::NoKind => "no_type_column",
            HeaderError::TooManyColumns { .. } => "too_many_columns",
            HeaderError::NotInLayout { .. } => "not_in_layout",
        }
    }
}

/// Why one row does not make a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", .column.as_ref().map(|c| format!("column {c}: ")).unwrap_or_default())]
pub struct RowError {
    /// The stable machine-readable name: `missing_value`, `invalid_value`,
    /// `unexpected_value`, `unknown_type`, `invalid_row`, `unknown_buyer`.
    pub code: &'static str,
    /// The column at fault, when one is.
    pub column: Option<String>,
    /// What is wrong, for people.
    pub message: String,
}

impl RowError {
    fn at(code: &'static str, column: &str, message: impl Into<String>) -> RowError {
        RowError {
            code,
            column: Some(column.to_owned()),
            message: message.into(),
        }
    }

    fn row(message: impl Into<String>) -> RowError {
        RowError {
            code: "invalid_row",
            column: None,
            message: message.into(),
        }
    }
}

/// A file's header: its columns, checked against the layouts.
#[derive(Debug, Clone)]
pub struct Header {
    names: Vec<String>,
    index: HashMap<String, usize>,
    kind: Option<RecordKind>,
}

impl Header {
    /// Reads the header row. `kind` is the one kind of every row (`--kind`); without it the
    /// file needs a `type` column. Names are trimmed and read case-insensitively.
    pub fn new(names: &[&str], kind: Option<RecordKind>) -> Result<Header, HeaderError> {
        if names.len() > MAX_COLUMNS {
            return Err(HeaderError::TooManyColumns {
                columns: names.len(),
            });
        }
        let names: Vec<String> = names.iter().map(|n| n.trim().to_lowercase()).collect();
        let mut index = HashMap::with_capacity(names.len());
        for (position, name) in names.iter().enumerate() {
            if is_comment(name) {
                continue;
            }
            let known = COMMON_COLUMNS.iter().any(|c| c.name == name)
                || RecordKind::ALL.iter().any(|kind| kind.has_column(name));
            if !known {
                return Err(HeaderError::UnknownColumn {
                    column: name.clone(),
                });
            }
            if let Some(kind) = kind {
                let common = COMMON_COLUMNS.iter().any(|c| c.name == name);
                if !common && !kind.has_column(name) {
                    return Err(HeaderError::NotInLayout {
                        column: name.clone(),
                        kind,
                    });
                }
            }
            if index.insert(name.clone(), position).is_some() {
                return Err(HeaderError::DuplicateColumn {
                    column: name.clone(),
                });
            }
        }
        if kind.is_none() && !index.contains_key("type") {
            return Err(HeaderError::NoKind);
        }
        Ok(Header { names, index, kind })
    }

    /// The column names, as read (trimmed, lower case).
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// Whether a column is a comment, ignored.
fn is_comment(name: &str) -> bool {
    name.starts_with('_') || name.starts_with('#')
}

/// Looks up a registered enterprise's name, address and contact, to complete a business
/// buyer named by its USCC alone.
pub trait Registry {
    /// The enterprise's `(name, address, contact)`, or `None` if it is not enrolled.
    fn contact_of(&self, uscc: &Uscc) -> Option<(String, String, String)>;
}

/// A registry that knows no enterprise: rows must name their buyers in full.
pub struct NoRegistry;

impl Registry for NoRegistry {
    fn contact_of(&self, _: &Uscc) -> Option<(String, String, String)> {
        None
    }
}

/// What one row says besides its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowMeta {
    /// The record kind.
    pub kind: RecordKind,
    /// The `event_id` cell, checked.
    pub event_id: Option<suyuan_ledger::event::EventUri>,
    /// The `nonce` cell.
    pub nonce: Option<u64>,
}

/// One row, read against its header.
pub struct Row<'a> {
    header: &'a Header,
    /// The cells, trimmed; codes in any form the ledger reads (element strings, Digital Links)
    /// rewritten in its canonical form.
    cells: Vec<String>,
    kind: RecordKind,
}

impl<'a> Row<'a> {
    /// The row's cells under `header`; its kind from `--kind` or its `type` cell.
    pub fn new(header: &'a Header, cells: &[&str]) -> Result<Row<'a>, RowError> {
        let kind = match header.kind {
            Some(kind) => kind,
            None => {
                let written = cell(header, cells, "type")
                    .ok_or_else(|| RowError::at("missing_value", "type", "the row has no type"))?;
                RecordKind::from_name(&written.to_lowercase()).ok_or_else(|| {
                    RowError::at(
                        "unknown_type",
                        "type",
                        format!("{written:?} is not a record kind import reads"),
                    )
                })?
            }
        };
        let cells = cells
            .iter()
            .enumerate()
            .map(|(position, cell)| {
                let name = header.names.get(position).map_or("", String::as_str);
                canonical_codes(name, cell.trim())
            })
            .collect();
        Ok(Row {
            header,
            cells,
            kind,
        })
    }

    /// The row's kind.
    pub fn kind(&self) -> RecordKind {
        self.kind
    }

    /// The row's record, its event id and nonce. `registry` completes business buyers.
    pub fn record(&self, registry: &dyn Registry) -> Result<(Record, RowMeta), RowError> {
        self.check_cells()?;
        let record = match self.kind {
            RecordKind::RegisterProduct => self.register_product()?,
            RecordKind::Commission => self.commission()?,
            RecordKind::Inspect => self.inspect()?,
            RecordKind::Ship => self.ship(registry)?,
            RecordKind::Recall => self.recall()?,
            RecordKind::CloseRecall => json!({
                "recall": self.text("recall")?,
                "resolution": self.text("resolution")?,
            }),
            RecordKind::Pack => json!({
                "uscc": self.text("uscc")?,
                "sscc": self.text("sscc")?,
                "contents": self.lines()?,
                "packed_at_ms": self.time_ms("packed_at")?,
            }),
            RecordKind::Unpack => json!({
                "uscc": self.text("uscc")?,
                "sscc": self.text("sscc")?,
                "unpacked_at_ms": self.time_ms("unpacked_at")?,
            }),
            RecordKind::LinkCodes => json!({
                "uscc": self.text("uscc")?,
                "code": self.text("code")?,
                "aliases": self.list("aliases", true)?,
            }),
        };
        let mut record = record;
        record
            .as_object_mut()
            .expect("every layout builds an object")
            .insert("type".into(), self.kind.name().into());
        let record: Record = serde_json::from_value(record).map_err(|error| {
            RowError::row(format!("the row is not a {} record: {error}", self.kind))
        })?;
        let meta = RowMeta {
            kind: self.kind,
            event_id: self.parsed("event_id")?,
            nonce: self.number("nonce")?,
        };
        Ok((record, meta))
    }

    /// Checks every filled cell: each value by its column's type, so that an error names the
    /// column; a filled cell in a column of another kind is a mistake in the row, not dropped.
    fn check_cells(&self) -> Result<(), RowError> {
        for name in &self.header.names {
            let Some(text) = self.get(name) else {
                continue;
            };
            if is_comment(name) {
                continue;
            }
            let common = COMMON_COLUMNS.iter().any(|c| c.name == name);
            if !common && !self.kind.has_column(name) {
                return Err(RowError::at(
                    "unexpected_value",
                    name,
                    format!("a {} row leaves this column empty", self.kind),
                ));
            }
            let values: Vec<&str> = if LIST_COLUMNS.contains(&name.as_str()) {
                self.split(name)?
            } else {
                vec![text]
            };
            for value in values {
                check_value(name, value)
                    .map_err(|message| RowError::at("invalid_value", name, message))?;
            }
        }
        Ok(())
    }

    fn register_product(&self) -> Result<Value, RowError> {
        let mut record = Map::new();
        record.insert("uscc".into(), self.text("uscc")?);
        self.model_code(&mut record)?;
        for column in ["name", "product_type", "specification", "model"] {
            record.insert(column.into(), self.text(column)?);
        }
        record.insert("standards".into(), self.list("standards", false)?);
        record.insert(
            "warranty_months".into(),
            self.required_number::<u32>("warranty_months")?.into(),
        );
        for column in ["production_licence", "ccc_certificate", "category"] {
            if let Some(value) = self.get(column) {
                record.insert(column.into(), value.into());
            }
        }
        let mut fields = BTreeMap::new();
        for (name, &position) in &self.header.index {
            let value = non_empty(self.cells.get(position).map(String::as_str));
            if let (Some(field), Some(value)) = (name.strip_prefix(FIELD_PREFIX), value) {
                fields.insert(field.to_owned(), Value::from(value));
            }
        }
        if !fields.is_empty() {
            record.insert("fields".into(), Value::Object(fields.into_iter().collect()));
        }
        Ok(Value::Object(record))
    }

    fn commission(&self) -> Result<Value, RowError> {
        let mut record = Map::new();
        record.insert("uscc".into(), self.text("uscc")?);
        self.model_code(&mut record)?;
        let items = match (self.get("code"), self.get("codes")) {
            (Some(code), None) => {
                if self.get("batch").is_some() {
                    return Err(RowError::at(
                        "unexpected_value",
                        "batch",
                        "a batch row names its code in code; batch is for serialised items",
                    ));
                }
                json!({"batch": {"code": code, "quantity": self.required_number::<u64>("quantity")?}})
            }
            (None, Some(_)) => {
                if self.get("quantity").is_some() {
                    return Err(RowError::at(
                        "unexpected_value",
                        "quantity",
                        "serialised items are one unit each",
                    ));
                }
                let mut items = Map::new();
                items.insert("codes".into(), self.list("codes", true)?);
                if let Some(batch) = self.get("batch") {
                    items.insert("batch".into(), batch.into());
                }
                json!({"serialised": items})
            }
            (Some(_), Some(_)) => {
                return Err(RowError::row(
                    "a row commissions a batch (code) or serialised items (codes), not both",
                ));
            }
            (None, None) => {
                return Err(RowError::at(
                    "missing_value",
                    "code",
                    "name the batch in code (with quantity) or the items in codes",
                ));
            }
        };
        record.insert("items".into(), items);
        record.insert(
            "production_date".into(),
            self.date("production_date")?.into(),
        );
        if let Some(number) = self.get("factory_number") {
            record.insert("factory_number".into(), number.into());
        }
        record.insert(
            "inspection_report".into(),
            json!({
                "kind": self.text("report_kind")?,
                "number": self.text("report_number")?,
                "issued_by": self.text("report_issued_by")?,
                "document_sha256": self.text("report_sha256")?,
            }),
        );
        Ok(Value::Object(record))
    }

    fn inspect(&self) -> Result<Value, RowError> {
        let sampled = INSPECT
            .iter()
            .any(|c| c.name.starts_with("sampled_") && self.get(c.name).is_some());
        let subject = match (self.get("code"), self.get("subject_model"), sampled) {
            (Some(code), None, false) => json!({"code": code}),
            (None, Some(model), false) => json!({"model": model}),
            (None, None, true) => json!({"sampled": self.sampled()?}),
            (None, None, false) => {
                return Err(RowError::at(
                    "missing_value",
                    "code",
                    "name what was inspected: code, subject_model or the sampled_ columns",
                ));
            }
            _ => {
                return Err(RowError::row(
                    "name one subject: code, subject_model or the sampled_ columns",
                ));
            }
        };
        let mut record = Map::new();
        record.insert("subject".into(), subject);
        record.insert("outcome".into(), self.text("outcome")?);
        record.insert("standards".into(), self.list("standards", false)?);
        record.insert("inspected_on".into(), self.date("inspected_on")?.into());
        record.insert("report_number".into(), self.text("report_number")?);
        record.insert("document_sha256".into(), self.text("report_sha256")?);
        for column in ["findings", "accreditation"] {
            if let Some(value) = self.get(column) {
                record.insert(column.into(), value.into());
            }
        }
        Ok(Value::Object(record))
    }

    fn sampled(&self) -> Result<Value, RowError> {
        let mut product = Map::new();
        product.insert("maker".into(), self.text("sampled_maker")?);
        product.insert("maker_name".into(), self.text("sampled_maker_name")?);
        product.insert("product_name".into(), self.text("sampled_product_name")?);
        product.insert("model".into(), self.text("sampled_model")?);
        product.insert("category".into(), self.text("sampled_category")?);
        if let Some(batch) = self.get("sampled_batch") {
            product.insert("batch".into(), batch.into());
        }
        if let Some(code) = self.get("sampled_printed_code") {
            product.insert("printed_code".into(), code.into());
        }
        product.insert("sampled_on".into(), self.date("sampled_on")?.into());
        product.insert("sampled_in".into(), self.text("sampled_in")?);
        product.insert("place".into(), self.text("sampled_place")?);
        Ok(Value::Object(product))
    }

    fn ship(&self, registry: &dyn Registry) -> Result<Value, RowError> {
        let buyer = match (self.get("buyer_uscc"), self.get("buyer_commitment")) {
            (Some(uscc), None) => self.business_buyer(uscc, registry)?,
            (None, Some(commitment)) => json!({"person": {
                "commitment": commitment,
                "data_reference": self.text("buyer_data_reference")?,
            }}),
            (Some(_), Some(_)) => {
                return Err(RowError::row(
                    "a buyer is a business (buyer_uscc) or a person (buyer_commitment), not both",
                ));
            }
            (None, None) => {
                return Err(RowError::at(
                    "missing_value",
                    "buyer_uscc",
                    "name the buyer: buyer_uscc, or buyer_commitment for a private person",
                ));
            }
        };
        let mut record = Map::new();
        record.insert("seller".into(), self.text("seller")?);
        record.insert("buyer".into(), buyer);
        record.insert("sold_at_ms".into(), self.time_ms("sold_at")?.into());
        record.insert("lines".into(), self.lines()?);
        if let Some(reference) = self.get("order_reference") {
            record.insert("order_reference".into(), reference.into());
        }
        Ok(Value::Object(record))
    }

    fn business_buyer(&self, uscc: &str, registry: &dyn Registry) -> Result<Value, RowError> {
        let parsed: Uscc = self.parsed_text("buyer_uscc", uscc)?;
        if self.get("buyer_data_reference").is_some() {
            return Err(RowError::at(
                "unexpected_value",
                "buyer_data_reference",
                "a business buyer is named in full, with no data reference",
            ));
        }
        let written = (
            self.get("buyer_name"),
            self.get("buyer_address"),
            self.get("buyer_contact"),
        );
        let (name, address, contact) = match written {
            (Some(name), Some(address), Some(contact)) => {
                (name.to_owned(), address.to_owned(), contact.to_owned())
            }
            (None, None, None) => registry.contact_of(&parsed).ok_or_else(|| {
                RowError::at(
                    "unknown_buyer",
                    "buyer_uscc",
                    "the buyer is not enrolled: fill buyer_name, buyer_address and buyer_contact",
                )
            })?,
            _ => {
                return Err(RowError::at(
                    "missing_value",
                    "buyer_name",
                    "fill buyer_name, buyer_address and buyer_contact together, or none to read \
                     them from the buyer's registration",
                ));
            }
        };
        let mut buyer = Map::new();
        buyer.insert("uscc".into(), uscc.into());
        buyer.insert("name".into(), name.into());
        buyer.insert("address".into(), address.into());
        buyer.insert("contact".into(), contact.into());
        if let Some(gln) = self.get("buyer_gln") {
            buyer.insert("gln".into(), gln.into());
        }
        Ok(json!({ "enterprise": buyer }))
    }

    fn recall(&self) -> Result<Value, RowError> {
        let mut subjects: Vec<Value> = Vec::new();
        for code in self.split("codes")? {
            subjects.push(json!({"code": code}));
        }
        for model in self.split("models")? {
            subjects.push(json!({"model": model}));
        }
        if subjects.is_empty() {
            return Err(RowError::at(
                "missing_value",
                "codes",
                "name what is recalled: codes, models or both",
            ));
        }
        Ok(json!({
            "producer": self.text("producer")?,
            "subjects": subjects,
            "reason": self.text("reason")?,
            "announced_on": self.date("announced_on")?,
        }))
    }

    /// `codes` with `quantities` as shipment lines.
    fn lines(&self) -> Result<Value, RowError> {
        let codes = self.split("codes")?;
        if codes.is_empty() {
            return Err(RowError::at("missing_value", "codes", "no code is named"));
        }
        let quantities: Vec<u64> = match self.get("quantities") {
            None => vec![1; codes.len()],
            Some(_) => self
                .split("quantities")?
                .into_iter()
                .map(|q| {
                    q.parse().map_err(|_| {
                        RowError::at(
                            "invalid_value",
                            "quantities",
                            format!("{q:?} is not a whole number of units"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        if quantities.len() != codes.len() {
            return Err(RowError::at(
                "invalid_value",
                "quantities",
                format!(
                    "{} quantities for {} codes: give one per code, or none",
                    quantities.len(),
                    codes.len()
                ),
            ));
        }
        Ok(Value::Array(
            codes
                .into_iter()
                .zip(quantities)
                .map(|(code, quantity)| json!({"code": code, "quantity": quantity}))
                .collect(),
        ))
    }

    /// `gtin` or `model_code`, whichever the row fills, as the record names it.
    fn model_code(&self, record: &mut Map<String, Value>) -> Result<(), RowError> {
        match (self.get("gtin"), self.get("model_code")) {
            (Some(gtin), None) => {
                record.insert("gtin".into(), gtin.into());
            }
            (None, Some(code)) => {
                record.insert("model_code".into(), code.into());
            }
            (Some(_), Some(_)) => {
                return Err(RowError::row(
                    "a model is named by gtin or by model_code, not both",
                ));
            }
            (None, None) => {
                return Err(RowError::at(
                    "missing_value",
                    "gtin",
                    "name the model by gtin, or by model_code when it has no GTIN",
                ));
            }
        }
        Ok(())
    }

    /// The trimmed cell of `column`, `None` when the column is absent or the cell empty.
    fn get(&self, column: &str) -> Option<&str> {
        cell(self.header, &self.cells, column)
    }

    /// A required cell, as a JSON string.
    fn text(&self, column: &str) -> Result<Value, RowError> {
        self.get(column)
            .map(Value::from)
            .ok_or_else(|| RowError::at("missing_value", column, "the cell is empty"))
    }

    /// A list cell's items, trimmed, empty items dropped.
    fn split(&self, column: &str) -> Result<Vec<&str>, RowError> {
        let items: Vec<&str> = self
            .get(column)
            .map(|cell| {
                cell.split(LIST_SEPARATOR)
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if items.len() > MAX_LIST_ITEMS {
            return Err(RowError::at(
                "invalid_value",
                column,
                format!("{} items; at most {MAX_LIST_ITEMS}", items.len()),
            ));
        }
        Ok(items)
    }

    /// A list cell as a JSON array; `required` refuses an empty one.
    fn list(&self, column: &str, required: bool) -> Result<Value, RowError> {
        let items = self.split(column)?;
        if required && items.is_empty() {
            return Err(RowError::at("missing_value", column, "the cell is empty"));
        }
        Ok(Value::Array(items.into_iter().map(Value::from).collect()))
    }

    fn number<T: std::str::FromStr>(&self, column: &str) -> Result<Option<T>, RowError> {
        self.get(column)
            .map(|text| {
                text.parse().map_err(|_| {
                    RowError::at(
                        "invalid_value",
                        column,
                        format!("{text:?} is not a whole number in range"),
                    )
                })
            })
            .transpose()
    }

    fn required_number<T: std::str::FromStr>(&self, column: &str) -> Result<T, RowError> {
        self.number(column)?
            .ok_or_else(|| RowError::at("missing_value", column, "the cell is empty"))
    }

    /// An optional cell parsed by its type's own rule.
    fn parsed<T: DeserializeOwned>(&self, column: &str) -> Result<Option<T>, RowError> {
        self.get(column)
            .map(|text| self.parsed_text(column, text))
            .transpose()
    }

    fn parsed_text<T: DeserializeOwned>(&self, column: &str, text: &str) -> Result<T, RowError> {
        serde_json::from_value(Value::from(text))
            .map_err(|error| RowError::at("invalid_value", column, error.to_string()))
    }

    /// A required date, read leniently (see [`read_date`]).
    fn date(&self, column: &str) -> Result<String, RowError> {
        let text = self
            .get(column)
            .ok_or_else(|| RowError::at("missing_value", column, "the cell is empty"))?;
        read_date(text).map(|date| date.to_string()).ok_or_else(|| {
            RowError::at(
                "invalid_value",
                column,
                format!("{text:?} is not a date: write YYYY-MM-DD"),
            )
        })
    }

    /// A required instant as Unix milliseconds (see [`read_time_ms`]).
    fn time_ms(&self, column: &str) -> Result<u64, RowError> {
        let text = self
            .get(column)
            .ok_or_else(|| RowError::at("missing_value", column, "the cell is empty"))?;
        read_time_ms(text).ok_or_else(|| {
            RowError::at(
                "invalid_value",
                column,
                format!(
                    "{text:?} is not a time: write 2026-03-05 14:30:00 (China time), \
                     2026-03-05T14:30:00+08:00, or Unix milliseconds"
                ),
            )
        })
    }
}

/// The columns whose cells hold lists.
const LIST_COLUMNS: &[&str] = &["codes", "quantities", "aliases", "models", "standards"];

/// Checks one value of `column` by the type the record gives it; columns without a type of
/// their own are checked with the whole record.
fn check_value(column: &str, text: &str) -> Result<(), String> {
    fn parse<T: DeserializeOwned>(text: &str) -> Result<(), String> {
        serde_json::from_value::<T>(Value::from(text))
            .map(drop)
            .map_err(|error| error.to_string())
    }
    match column {
        "uscc" | "seller" | "producer" | "buyer_uscc" | "sampled_maker" => parse::<Uscc>(text),
        "gtin" => parse::<Gtin>(text),
        "buyer_gln" => parse::<Gln>(text),
        "model_code" | "subject_model" | "models" => parse::<ModelCode>(text),
        "code" | "codes" | "batch" | "aliases" => read_trace_code(text).map(drop),
        "sscc" => read_trace_code(text).and_then(|code| {
            UnitCode::try_from(code)
                .map(drop)
                .map_err(|error| error.to_string())
        }),
        "report_sha256" | "recall" | "buyer_commitment" => parse::<Hash32>(text),
        "event_id" => parse::<EventUri>(text),
        "report_kind" => parse::<ReportKind>(text),
        "outcome" => parse::<Outcome>(text),
        "order_reference" | "buyer_data_reference" => parse::<Reference>(text),
        "production_licence" => parse::<ProductionLicence>(text),
        "ccc_certificate" => parse::<CccCertificate>(text),
        "category" | "sampled_category" => parse::<CategoryId>(text),
        "accreditation" => parse::<Accreditation>(text),
        "sampled_in" => parse::<RegionCode>(text),
        "findings" | "reason" | "resolution" | "buyer_address" => parse::<LongText>(text),
        "name"
        | "product_type"
        | "specification"
        | "model"
        | "standards"
        | "factory_number"
        | "report_number"
        | "report_issued_by"
        | "buyer_name"
        | "buyer_contact"
        | "sampled_maker_name"
        | "sampled_product_name"
        | "sampled_model"
        | "sampled_batch"
        | "sampled_printed_code"
        | "sampled_place" => parse::<ShortText>(text),
        field if field.starts_with(FIELD_PREFIX) => parse::<ShortText>(text),
        _ => Ok(()),
    }
}

/// The trimmed, non-empty cell of `column`.
fn cell<'c, S: AsRef<str>>(header: &Header, cells: &'c [S], column: &str) -> Option<&'c str> {
    let position = *header.index.get(column)?;
    non_empty(cells.get(position).map(AsRef::as_ref))
}

/// The columns whose values are trace codes (`sscc` too, a logistic unit's).
const CODE_COLUMNS: &[&str] = &["code", "codes", "batch", "aliases", "sscc"];

/// `cell` with each code of a code column in the ledger's canonical form, where it reads as
/// one; values that do not are left for [`check_value`] to refuse with the reason.
fn canonical_codes(column: &str, cell: &str) -> String {
    if !CODE_COLUMNS.contains(&column) {
        return cell.to_owned();
    }
    let canonical = |code: &str| {
        let code = code.trim();
        read_trace_code(code).map_or_else(|_| code.to_owned(), |code| code.to_string())
    };
    if LIST_COLUMNS.contains(&column) {
        cell.split(LIST_SEPARATOR)
            .map(canonical)
            .collect::<Vec<_>>()
            .join("|")
    } else {
        canonical(cell)
    }
}

fn non_empty(cell: Option<&str>) -> Option<&str> {
    cell.map(str::trim).filter(|cell| !cell.is_empty())
}

/// A date as spreadsheets write it: `2026-03-05`, `2026/3/5`, `2026.03.05` or `20260305`.
pub fn read_date(text: &str) -> Option<Date> {
    let parts: Vec<&str> = text.split(['-', '/', '.']).collect();
    let (year, month, day) = match parts.as_slice() {
        [year, month, day] => (*year, *month, *day),
        [compact] if compact.len() == 8 => (&compact[..4], &compact[4..6], &compact[6..]),
        _ => return None,
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if year.len() != 4 || month.len() > 2 || day.len() > 2 {
        return None;
    }
    if ![year, month, day].into_iter().all(all_digits) {
        return None;
    }
    format!("{year}-{month:0>2}-{day:0>2}").parse().ok()
}

/// China's offset from UTC, which a time written without one is read in.
const CHINA_OFFSET: &str = "+08:00";

/// An instant: Unix milliseconds, RFC 3339 with an offset (`2026-03-05T14:30:00+08:00`), or a
/// spreadsheet's local time in China (`2026-03-05 14:30`, `2026/3/5 14:30:00.250`).
pub fn read_time_ms(text: &str) -> Option<u64> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    if let Ok(time) = text.parse::<EventTime>() {
        return u64::try_from(time.unix_ms()).ok();
    }
    let (date, clock) = text.split_once([' ', 'T'])?;
    let date = read_date(date)?;
    let clock = clock.trim();
    let mut parts = clock.splitn(3, ':');
    let hour = parts.next()?;
    let minute = parts.next()?;
    let second = parts.next().unwrap_or("00");
    let (second, fraction) = second.split_once('.').unwrap_or((second, ""));
    let two = |s: &str| s.len() <= 2 && !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !two(hour) || !two(minute) || !two(second) {
        return None;
    }
    let fraction = if fraction.is_empty() {
        String::new()
    } else {
        format!(".{fraction}")
    };
    let canonical = format!("{date}T{hour:0>2}:{minute:0>2}:{second:0>2}{fraction}{CHINA_OFFSET}");
    let time: EventTime = canonical.parse().ok()?;
    u64::try_from(time.unix_ms()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const USCC: &str = "91350100M000100Y43";

    fn row_record(header: &[&str], cells: &[&str]) -> Result<(Record, RowMeta), RowError> {
        let header = Header::new(header, None).unwrap();
        let row = Row::new(&header, cells)?;
        row.record(&NoRegistry)
    }

    #[test]
    fn dates_and_times_read_as_spreadsheets_write_them() {
        for text in ["2026-03-05", "2026/3/5", "2026.03.05", "20260305"] {
            assert_eq!(read_date(text).unwrap().to_string(), "2026-03-05", "{text}");
        }
        for text in ["2026-3", "26-03-05", "2026-02-30", "2026-03-05x"] {
            assert!(read_date(text).is_none(), "{text}");
        }
        let expected = 1_772_692_200_000; // 2026-03-05T06:30:00Z
        for text in [
            "2026-03-05 14:30",
            "2026/3/5 14:30:00",
            "2026-03-05T14:30:00+08:00",
            "2026-03-05T06:30:00Z",
            "1772692200000",
        ] {
            assert_eq!(read_time_ms(text), Some(expected), "{text}");
        }
        assert_eq!(
            read_time_ms("2026-03-05 14:30:00.250"),
            Some(expected + 250)
        );
        for text in ["2026-03-05", "14:30", "2026-03-05 25:00", "soon"] {
            assert_eq!(read_time_ms(text), None, "{text}");
        }
    }

    #[test]
    fn a_batch_and_serialised_items_commission_by_their_columns() {
        let header = [
            "type",
            "uscc",
            "gtin",
            "code",
            "quantity",
            "codes",
            "batch",
            "production_date",
            "report_kind",
            "report_number",
            "report_issued_by",
            "report_sha256",
        ];
        let sha = "ab".repeat(32);
        let lot = "(01)06950123450012(10)L1";
        let (batch, meta) = row_record(
            &header,
            &[
                "commission",
                USCC,
                "06950123450012",
                lot,
                "500",
                "",
                "",
                "2026/3/1",
                "factory_inspection",
                "R-1",
                "质检所",
                &sha,
            ],
        )
        .unwrap();
        assert_eq!(meta.kind, RecordKind::Commission);
        let json = serde_json::to_value(&batch).unwrap();
        assert_eq!(json["items"]["batch"]["quantity"], 500);
        assert_eq!(json["production_date"], "2026-03-01");
        let serials = "(01)06950123450012(21)S1 | https://id.gs1.org/01/06950123450012/21/S2";
        let (items, _) = row_record(
            &header,
            &[
                "commission",
                USCC,
                "06950123450012",
                "",
                "",
                serials,
                lot,
                "2026-03-01",
                "factory_inspection",
                "R-1",
                "质检所",
                &sha,
            ],
        )
        .unwrap();
        let json = serde_json::to_value(&items).unwrap();
        assert_eq!(
            json["items"]["serialised"]["codes"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        // Element strings and Digital Links are recorded in the ledger's canonical form.
        assert_eq!(
            json["items"]["serialised"]["batch"],
            "01/06950123450012/10/L1"
        );
        assert_eq!(
            json["items"]["serialised"]["codes"][1],
            "01/06950123450012/21/S2"
        );
    }

    #[test]
    fn a_bad_cell_is_named_by_its_column() {
        let header = ["type", "uscc", "sscc", "unpacked_at"];
        let error = row_record(
            &header,
            &[
                "unpack",
                "9135",
                "(00)069501230000000019",
                "2026-03-05 10:00",
            ],
        )
        .unwrap_err();
        assert_eq!(
            (error.code, error.column.as_deref()),
            ("invalid_value", Some("uscc"))
        );
        let error =
            row_record(&header, &["unpack", USCC, "(00)069501230000000019", "noon"]).unwrap_err();
        assert_eq!(
            (error.code, error.column.as_deref()),
            ("invalid_value", Some("unpacked_at"))
        );
        let error = row_record(&header, &["unpack", USCC, "", "2026-03-05 10:00"]).unwrap_err();
        assert_eq!(
            (error.code, error.column.as_deref()),
            ("missing_value", Some("sscc"))
        );
        let ship = [
            "type",
            "seller",
            "buyer_commitment",
            "buyer_data_reference",
            "sold_at",
            "codes",
            "order_reference",
        ];
        let commitment = "cd".repeat(32);
        let cells = [
            "ship",
            USCC,
            &commitment,
            "crm:1",
            "2026-03-05 10:00",
            "01/06950123450012/10/L1",
            "SO(1)",
        ];
        let error = row_record(&ship, &cells).unwrap_err();
        assert_eq!(
            (error.code, error.column.as_deref()),
            ("invalid_value", Some("order_reference"))
        );
        let error = row_record(&header, &["unpakc", USCC, "", ""]).unwrap_err();
        assert_eq!(error.code, "unknown_type");
    }

    #[test]
    fn a_cell_of_another_kind_is_refused_not_dropped() {
        let header = ["type", "uscc", "sscc", "unpacked_at", "quantities"];
        let error = row_record(
            &header,
            &[
                "unpack",
                USCC,
                "(00)069501230000000019",
                "2026-03-05 10:00",
                "5",
            ],
        )
        .unwrap_err();
        assert_eq!(
            (error.code, error.column.as_deref()),
            ("unexpected_value", Some("quantities"))
        );
    }

    #[test]
    fn headers_with_typos_duplicates_or_no_kind_are_refused() {
        let error = Header::new(&["type", "prodution_date"], None).unwrap_err();
        assert_eq!(error.code(), "unknown_column");
        let error = Header::new(&["type", "uscc", "USCC "], None).unwrap_err();
        assert_eq!(error.code(), "duplicate_column");
        assert_eq!(
            Header::new(&["uscc"], None).unwrap_err(),
            HeaderError::NoKind
        );
        let error = Header::new(&["uscc", "seller"], Some(RecordKind::Pack)).unwrap_err();
        assert_eq!(error.code(), "not_in_layout");
        Header::new(
            &["uscc", "sscc", "_row", "_error", "# note"],
            Some(RecordKind::Unpack),
        )
        .unwrap();
    }

    #[test]
    fn a_business_buyer_is_completed_from_its_registration() {
        struct One;
        impl Registry for One {
            fn contact_of(&self, uscc: &Uscc) -> Option<(String, String, String)> {
                (uscc.as_str() == "91330200MA2H4N6P1L")
                    .then(|| ("国网物资".into(), "北京市西城区".into(), "010-1234".into()))
            }
        }
        let header =
            Header::new(&["type", "seller", "buyer_uscc", "sold_at", "codes"], None).unwrap();
        let cells = [
            "ship",
            USCC,
            "91330200MA2H4N6P1L",
            "2026-03-05 10:00",
            "(01)06950123450012(10)L1",
        ];
        let row = Row::new(&header, &cells).unwrap();
        let (record, _) = row.record(&One).unwrap();
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["buyer"]["enterprise"]["name"], "国网物资");
        assert_eq!(json["lines"][0]["quantity"], 1);
        let error = row.record(&NoRegistry).unwrap_err();
        assert_eq!(error.code, "unknown_buyer");
    }
}
