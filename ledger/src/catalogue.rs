//! Name the categories of key industrial products and what a model of each must carry.
//!
//! SAMR's draft implementation opinions on the quality and safety traceability of key industrial
//! products start with the products under production-licence (工业产品生产许可证) and compulsory
//! certification (强制性产品认证, CCC) management (electric wires and cables, gas appliances,
//! electric bicycles, cold-rolled ribbed steel bars), extend to every product under either
//! regime, and then to products bearing on health, life and property that mandatory national
//! standards govern. A [`Catalogue`] lists such categories; each [`Category`] says which of the
//! two documents its producers must hold ([`DocumentKind`]) and which fields its models must
//! carry ([`FieldSpec`]).
//!
//! The consortium's catalogue is part of its genesis ([`crate::genesis::Genesis::catalogue`]):
//! the file's own, or [`Catalogue::programme`] when the file names none. Execution
//! ([`crate::exec`]) checks every `register_product` against it: the category must be known,
//! named when the catalogue requires one, and never changed once registered; the model must name
//! the documents its category requires (and, as for any model, the enterprise must hold them,
//! valid) and carry each of its fields. Changing the catalogue of a running chain takes a new
//! genesis: there is no amendment record, because every node must judge a block by the same
//! catalogue and the genesis hash is what they agree on.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::text::ShortText;

/// Most categories a catalogue may list.
pub const MAX_CATEGORIES: usize = 64;

/// Most fields one category may require.
pub const MAX_CATEGORY_FIELDS: usize = 16;

/// Longest category or field id, in bytes.
pub const MAX_ID_BYTES: usize = 32;

/// The field id that stands for the model's own `standards` list (which must then not be
/// empty), rather than an entry of its `fields`.
pub const STANDARDS_FIELD: &str = "standards";

/// The consortium's categories of key products.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// Whether every product model must name a category (`uncategorised_model` otherwise).
    pub require_category: bool,
    /// The categories, each id once.
    pub categories: Vec<Category>,
}

/// One category of key products.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Its stable id, which models name: `wires_cables`.
    pub id: CategoryId,
    /// Its Chinese name, as the regulations write it.
    pub name_zh: ShortText,
    /// Its English name.
    pub name_en: ShortText,
    /// The documents a model of it must name, each once.
    pub documents: Vec<DocumentKind>,
    /// The fields a model of it must carry, each once: [`STANDARDS_FIELD`] for the model's
    /// standards, any other id for an entry of the model's `fields`.
    pub fields: Vec<FieldSpec>,
}

/// A field a category's models must carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Its id, the key in a model's `fields`: `rated_voltage`.
    pub id: FieldId,
    /// Its Chinese name.
    pub name_zh: ShortText,
    /// Its English name.
    pub name_en: ShortText,
}

/// A document a category requires of its producers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// An industrial product production licence (工业产品生产许可证): the model names it in
    /// `production_licence`.
    ProductionLicence,
    /// A compulsory product certification certificate (CCC, 强制性产品认证证书): the model names it
    /// in `ccc_certificate`.
    CccCertificate,
}

impl DocumentKind {
    /// Its name in messages: "production licence", "CCC certificate".
    pub fn describe(self) -> &'static str {
        match self {
            DocumentKind::ProductionLicence => "production licence",
            DocumentKind::CccCertificate => "CCC certificate",
        }
    }
}

/// A category's id: 1 to [`MAX_ID_BYTES`] of `a-z`, `0-9` and `_`, starting with a letter.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CategoryId(String);

/// A field's id, of the same form as a [`CategoryId`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(String);

/// Why a string is not a category or field id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "an id is 1 to {MAX_ID_BYTES} characters of a-z 0-9 _, starting with a letter; found {0:?}"
)]
pub struct IdError(String);

fn check_id(text: &str) -> Result<String, IdError> {
    let ok = !text.is_empty()
        && text.len() <= MAX_ID_BYTES
        && text.as_bytes()[0].is_ascii_lowercase()
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(text.to_owned())
    } else {
        Err(IdError(text.to_owned()))
    }
}

macro_rules! id_type {
    ($type:ident) => {
        impl $type {
            /// The id.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $type {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                check_id(s).map($type)
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        crate::serde_as_string!($type);
    };
}

id_type!(CategoryId);
id_type!(FieldId);

/// Why a catalogue is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// More categories than [`MAX_CATEGORIES`], or fields than [`MAX_CATEGORY_FIELDS`].
    #[error("{what} has {found} entries; at most {max} allowed")]
    TooMany {
        /// The list.
        what: String,
        /// The bound.
        max: usize,
        /// How many were given.
        found: usize,
    },
    /// An id, a document or a field appears twice in one list.
    #[error("{what} lists {value} twice")]
    Duplicate {
        /// The list.
        what: String,
        /// The repeated entry.
        value: String,
    },
}

impl Catalogue {
    /// The programme's catalogue, which a genesis that names none holds: the categories SAMR's
    /// draft names first (and a few more it covers by regime), with the regime each falls under
    /// in Chinese practice, and a last category for the other products that mandatory national
    /// standards govern. Every model must name one.
    ///
    /// It is part of the rules of every chain whose genesis names no catalogue, so it changes
    /// only on purpose: a test pins its hash.
    pub fn programme() -> &'static Catalogue {
        static PROGRAMME: LazyLock<Catalogue> = LazyLock::new(programme_catalogue);
        &PROGRAMME
    }

    /// The category with this id, if the catalogue lists it.
    pub fn category(&self, id: &CategoryId) -> Option<&Category> {
        self.categories.iter().find(|category| &category.id == id)
    }

    /// Checks the bounds and that no id, document or field repeats.
    pub fn check(&self) -> Result<(), CatalogueError> {
        check_unique(
            "catalogue.categories",
            self.categories.iter().map(|c| c.id.to_string()),
            MAX_CATEGORIES,
        )?;
        for category in &self.categories {
            check_unique(
                &format!("category {} documents", category.id),
                category.documents.iter().map(|d| d.describe().to_owned()),
                2,
            )?;
            check_unique(
                &format!("category {} fields", category.id),
                category.fields.iter().map(|f| f.id.to_string()),
                MAX_CATEGORY_FIELDS,
            )?;
        }
        Ok(())
    }
}

impl Category {
    /// Whether a model of this category must carry `field` (by id).
    pub fn requires_field(&self, field: &FieldId) -> bool {
        self.fields.iter().any(|spec| &spec.id == field)
    }
}

fn check_unique(
    what: &str,
    values: impl ExactSizeIterator<Item = String>,
    max: usize,
) -> Result<(), CatalogueError> {
    if values.len() > max {
        return Err(CatalogueError::TooMany {
            what: what.to_owned(),
            max,
            found: values.len(),
        });
    }
    let mut seen = std::collections::BTreeSet::new();
    for value in values {
        if !seen.insert(value.clone()) {
            return Err(CatalogueError::Duplicate {
                what: what.to_owned(),
                value,
            });
        }
    }
    Ok(())
}

/// The programme catalogue as data: (id, Chinese name, English name, documents, fields as
/// (id, Chinese name, English name)).
type CategoryRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static [DocumentKind],
    &'static [(&'static str, &'static str, &'static str)],
);

const STANDARDS: (&str, &str, &str) = (STANDARDS_FIELD, "执行标准", "applicable standards");

/// Which regime covers which category follows the State Council's production-licence catalogue
/// (工业产品生产许可证管理目录) and SAMR's CCC catalogue (强制性产品认证目录): wires and cables
/// rated 450/750 V and below, domestic gas appliances, electric bicycles and children's products
/// (toys, prams and child seats) need CCC; power cables, building steel bars, fertilisers,
/// hazardous chemicals and food-contact products need a production licence.
const PROGRAMME_ROWS: &[CategoryRow] = &[
    (
        "wires_cables",
        "电线电缆（额定电压450/750V及以下）",
        "wires and cables rated 450/750 V and below",
        &[DocumentKind::CccCertificate],
        &[
            STANDARDS,
            ("rated_voltage", "额定电压", "rated voltage"),
            (
                "conductor_cross_section",
                "导体标称截面",
                "nominal conductor cross-section",
            ),
        ],
    ),
    (
        "power_cables",
        "电力电缆及架空绞线",
        "power cables and overhead conductors",
        &[DocumentKind::ProductionLicence],
        &[
            STANDARDS,
            ("rated_voltage", "额定电压", "rated voltage"),
            (
                "conductor_cross_section",
                "导体标称截面",
                "nominal conductor cross-section",
            ),
        ],
    ),
    (
        "gas_appliances",
        "家用燃气器具",
        "domestic gas appliances",
        &[DocumentKind::CccCertificate],
        &[
            STANDARDS,
            ("gas_type", "适用燃气种类", "gas type"),
            ("rated_heat_input", "额定热负荷", "rated heat input"),
        ],
    ),
    (
        "electric_bicycles",
        "电动自行车",
        "electric bicycles",
        &[DocumentKind::CccCertificate],
        &[
            STANDARDS,
            ("max_speed", "最高设计车速", "maximum design speed"),
            (
                "battery_voltage",
                "蓄电池标称电压",
                "nominal battery voltage",
            ),
        ],
    ),
    (
        "cold_rolled_ribbed_bars",
        "冷轧带肋钢筋",
        "cold-rolled ribbed steel bars",
        &[DocumentKind::ProductionLicence],
        &[
            STANDARDS,
            ("grade", "牌号", "grade"),
            ("nominal_diameter", "公称直径", "nominal diameter"),
        ],
    ),
    (
        "childrens_products",
        "儿童用品（玩具、童车、儿童安全座椅）",
        "children's products (toys, prams, child seats)",
        &[DocumentKind::CccCertificate],
        &[STANDARDS, ("age_range", "适用年龄", "intended age range")],
    ),
    (
        "fertilisers",
        "化肥",
        "fertilisers",
        &[DocumentKind::ProductionLicence],
        &[
            STANDARDS,
            ("nutrient_content", "养分含量", "declared nutrient content"),
        ],
    ),
    (
        "hazardous_chemicals",
        "危险化学品",
        "hazardous chemicals",
        &[DocumentKind::ProductionLicence],
        &[
            STANDARDS,
            ("cas_number", "CAS号", "CAS registry number"),
            ("hazard_class", "危险性类别", "hazard class"),
        ],
    ),
    (
        "food_contact_products",
        "食品相关产品（直接接触食品的材料等）",
        "food-contact products",
        &[DocumentKind::ProductionLicence],
        &[STANDARDS, ("material", "材质", "material")],
    ),
    (
        "mandatory_standard_products",
        "其他涉及强制性国家标准的产品",
        "other products under mandatory national standards",
        &[],
        &[STANDARDS],
    ),
];

fn programme_catalogue() -> Catalogue {
    let text = |value: &str| -> ShortText { value.parse().expect("programme names are short") };
    let categories = PROGRAMME_ROWS
        .iter()
        .map(|(id, zh, en, documents, fields)| Category {
            id: id.parse().expect("programme ids are well formed"),
            name_zh: text(zh),
            name_en: text(en),
            documents: documents.to_vec(),
            fields: fields
                .iter()
                .map(|(id, zh, en)| FieldSpec {
                    id: id.parse().expect("programme field ids are well formed"),
                    name_zh: text(zh),
                    name_en: text(en),
                })
                .collect(),
        })
        .collect();
    let catalogue = Catalogue {
        require_category: true,
        categories,
    };
    catalogue
        .check()
        .expect("the programme catalogue is within bounds and repeats nothing");
    catalogue
}

const _: () = assert!(PROGRAMME_ROWS.len() <= MAX_CATEGORIES);

crate::string_schema!(
    CategoryId,
    "CategoryId",
    format!("a catalogue category's id: 1 to {MAX_ID_BYTES} of a-z 0-9 _, starting with a letter"),
    "maxLength": MAX_ID_BYTES,
    "pattern": "^[a-z][a-z0-9_]*$",
    "examples": ["wires_cables"],
);
crate::string_schema!(
    FieldId,
    "FieldId",
    format!("a catalogue field's id: 1 to {MAX_ID_BYTES} of a-z 0-9 _, starting with a letter"),
    "maxLength": MAX_ID_BYTES,
    "pattern": "^[a-z][a-z0-9_]*$",
    "examples": ["rated_voltage"],
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::hash_parts;

    #[test]
    fn the_programme_catalogue_changes_only_on_purpose() {
        let json = serde_json::to_vec(Catalogue::programme()).unwrap();
        // Every chain whose genesis names no catalogue runs under this one: a change to it is
        // a change of the rules, to be made with a new genesis (or a new protocol version).
        assert_eq!(
            hash_parts("suyuan catalogue", &[&json]).to_string(),
            "40081a2939c15adb340b292258cd371e1fda1c69db2600baf27556bcb31fc122"
        );
        let parsed: Catalogue = serde_json::from_slice(&json).unwrap();
        assert_eq!(&parsed, Catalogue::programme());
    }

    #[test]
    fn ids_are_snake_case_and_bounded() {
        for good in ["wires_cables", "a", "x9_1"] {
            assert!(good.parse::<CategoryId>().is_ok(), "{good}");
        }
        for bad in [
            "",
            "Wires",
            "9a",
            "_a",
            "a-b",
            "电线",
            &"a".repeat(MAX_ID_BYTES + 1),
        ] {
            assert!(bad.parse::<FieldId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn repeated_entries_are_refused() {
        let mut catalogue = Catalogue::programme().clone();
        catalogue.categories.push(catalogue.categories[0].clone());
        assert!(matches!(
            catalogue.check(),
            Err(CatalogueError::Duplicate { .. })
        ));
        let mut catalogue = Catalogue::programme().clone();
        let field = catalogue.categories[0].fields[0].clone();
        catalogue.categories[0].fields.push(field);
        assert!(matches!(
            catalogue.check(),
            Err(CatalogueError::Duplicate { .. })
        ));
        let mut catalogue = Catalogue::programme().clone();
        catalogue.categories[0].documents = vec![DocumentKind::CccCertificate; 2];
        assert!(catalogue.check().is_err());
        let mut catalogue = Catalogue::programme().clone();
        let spare = catalogue.categories[0].clone();
        catalogue.categories = (0..=MAX_CATEGORIES)
            .map(|n| Category {
                id: format!("c{n}").parse().unwrap(),
                ..spare.clone()
            })
            .collect();
        assert!(matches!(
            catalogue.check(),
            Err(CatalogueError::TooMany { .. })
        ));
    }
}
