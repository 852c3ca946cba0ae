//! A GS1-Conformant resolver on every node: the path and query of a GS1 Digital Link URI
//! (`/01/{gtin}/10/{lot}`, `/00/{sscc}`, `/417/{gln}`, …), asked of any node, answer with the
//! links the ledger has for what the link identifies (docs/api.md, "Resolver").
//!
//! How a request is answered:
//!
//! 1. The path and query are read as a Digital Link under GS1's canonical stem, leniently
//!    ([`DigitalLink::parse_lenient`]). What is no Digital Link, or has a stem before its primary
//!    key, is 400 `invalid_digital_link`. A link written in a form GS1's reference parser
//!    refuses (a GTIN-8, -12 or -13 in the path) is answered with 307 to its canonical path,
//!    keeping `linkType`.
//! 2. The identified thing is looked up at the most specific level the ledger knows, walking up
//!    the key's qualifiers as the resolver standard does: an item or batch the ledger has no
//!    record of (or an item whose recorded batch is not the one the link names) resolves as its
//!    GTIN's model, and the linkset's `anchor` then names the GTIN alone, so a client sees what
//!    matched. Nothing known at any level is 404.
//! 3. `linkType=linkset` (or `all`), or an `Accept` preferring `application/linkset+json`,
//!    gives the RFC 9264 linkset (200); `linkType=gs1:…` redirects (307) to that link, or to the
//!    default link when there is none of that type; a browser (an `Accept` preferring HTML)
//!    asking for no type is sent to the page people read (`gs1:pip`); anything else to the
//!    default link, the JSON view.
//!
//! What an attacker cannot do with it: every `Location` is a path on the answering node, built
//! from the parsed identifier, never from the request's host or any parameter's text (no open
//! redirect); the linkset's `anchor` is the identifier under GS1's own stem, the same on every
//! node whatever the request's `Host`; absolute link targets use the operator's
//! `[api] public_url` when set, and otherwise a `Host` header checked to be a bare host and
//! port.

use axum::Json;
use axum::extract::{FromRef, OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use suyuan_ledger::codes::gs1::digital_link::{
    CANONICAL_STEM, DigitalLink, percent_decode, percent_encode_into,
};
use suyuan_ledger::codes::gs1::keys::{Gln, Gtin};
use suyuan_ledger::codes::inspect::read_trace_code;
use suyuan_ledger::codes::model::ModelCode;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::record::TraceCode;
use suyuan_ledger::state::StateReadExt as _;
use suyuan_storage::Store;

use crate::error::ApiError;
use crate::extract::{PathParam, weighted};
use crate::routes::{StoreReads, path_segment, storage};
use crate::state::RouterState;

/// The media type of an RFC 9264 linkset in JSON.
pub(crate) const LINKSET_MEDIA_TYPE: &str = "application/linkset+json";

/// GS1's JSON-LD context for linksets, announced in a `Link` header beside every linkset.
pub(crate) const LINKSET_CONTEXT: &str = "https://ref.gs1.org/standards/resolver/linkset-context";

/// The namespace of GS1's link types (`gs1:pip` is `https://gs1.org/voc/pip`).
pub(crate) const VOCABULARY: &str = "https://gs1.org/voc/";

/// The older namespace GS1 published its link types under, still read in `linkType`.
const OLD_VOCABULARY: &str = "https://ref.gs1.org/voc/";

/// The primary keys this resolver answers: the ones the ledger stores things under.
pub(crate) const SUPPORTED_PRIMARY_KEYS: [&str; 4] = ["00", "01", "414", "417"];

/// The GS1 link types a Suyuan node offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkType {
    /// Where a request without `linkType` goes, but for a browser's.
    DefaultLink,
    /// The page people read: where a browser (a phone that scanned a QR code) goes.
    Pip,
    /// The records naming the thing, in chain order.
    Traceability,
    /// The recalls covering it.
    RecallStatus,
    /// The licences and certificates of the enterprise behind it.
    CertificationInfo,
    /// A proof that the record is in the chain, checkable without trusting the node.
    VerificationService,
    /// Its history as a GS1 EPCIS 2.0 document.
    Epcis,
    /// The product model as registered.
    MasterData,
    /// The enterprise's registration.
    RegistryEntry,
    /// What is known of a location (a GLN asked as a location, `/414/`).
    LocationInfo,
}

impl LinkType {
    /// Every link type, in the order a linkset lists them.
    pub(crate) const ALL: [LinkType; 10] = [
        LinkType::DefaultLink,
        LinkType::Pip,
        LinkType::Traceability,
        LinkType::RecallStatus,
        LinkType::CertificationInfo,
        LinkType::VerificationService,
        LinkType::Epcis,
        LinkType::MasterData,
        LinkType::RegistryEntry,
        LinkType::LocationInfo,
    ];

    /// Its term in GS1's vocabulary.
    pub(crate) fn term(self) -> &'static str {
        match self {
            LinkType::DefaultLink => "defaultLink",
            LinkType::Pip => "pip",
            LinkType::Traceability => "traceability",
            LinkType::RecallStatus => "recallStatus",
            LinkType::CertificationInfo => "certificationInfo",
            LinkType::VerificationService => "verificationService",
            LinkType::Epcis => "epcis",
            LinkType::MasterData => "masterData",
            LinkType::RegistryEntry => "registryEntry",
            LinkType::LocationInfo => "locationInfo",
        }
    }

    /// Its full URI, as a linkset's relation.
    pub(crate) fn uri(self) -> String {
        format!("{VOCABULARY}{}", self.term())
    }

    /// The link type `text` names, as `gs1:term` or the term's full URI; `None` for any other.
    fn read(text: &str) -> Option<LinkType> {
        let term = text
            .strip_prefix("gs1:")
            .or_else(|| text.strip_prefix(VOCABULARY))
            .or_else(|| text.strip_prefix(OLD_VOCABULARY))?;
        LinkType::ALL.into_iter().find(|kind| kind.term() == term)
    }
}

/// One link of a resolution: its type, its target as a path on this node, a title, and the
/// media type of what it answers.
#[derive(Debug, Clone)]
struct Link {
    kind: LinkType,
    path: String,
    title: String,
    media_type: &'static str,
}

/// What the JSON routes answer.
const JSON: &str = "application/json";

/// What the pages answer.
const HTML: &str = "text/html";

/// What a Digital Link resolved to: the identifier at the level the ledger knows, a
/// description, and the links.
#[derive(Debug)]
struct Resolution {
    /// The identifier at the level that matched: a Digital Link under GS1's stem
    /// (`https://id.gs1.org/01/{gtin}` for a model), or an `ecode:` or `handle:` code.
    anchor: String,
    /// The model's name, when there is one.
    description: Option<String>,
    /// The links, default first.
    links: Vec<Link>,
}

impl Resolution {
    fn link(&self, kind: LinkType) -> Option<&Link> {
        self.links.iter().find(|link| link.kind == kind)
    }

    /// The default link: there is always one.
    fn default_link(&self) -> Result<&Link, ApiError> {
        self.link(LinkType::DefaultLink)
            .ok_or_else(|| ApiError::internal("a resolution without a default link"))
    }
}

/// The base of absolute addresses on this node: the operator's `[api] public_url`, if set.
#[derive(Debug, Clone)]
pub(crate) struct PublicUrl(Option<std::sync::Arc<str>>);

impl FromRef<RouterState> for PublicUrl {
    fn from_ref(state: &RouterState) -> PublicUrl {
        PublicUrl(state.api.public_url.as_deref().map(std::sync::Arc::from))
    }
}

impl PublicUrl {
    /// The configured base, or `http://` and the request's `Host` when none is configured;
    /// 400 `invalid_host` if that header is missing or is more than a host and a port.
    pub(crate) fn base(&self, headers: &HeaderMap) -> Result<String, ApiError> {
        if let Some(url) = &self.0 {
            return Ok(url.to_string());
        }
        let host = headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .filter(|host| is_host_and_port(host))
            .ok_or_else(ApiError::invalid_host)?;
        Ok(format!("http://{host}"))
    }
}

/// Whether `text` is a host name, an IPv4 address or a bracketed IPv6 address, with an
/// optional port: nothing that could end the authority early or start a path.
fn is_host_and_port(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 255
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// Checks an operator's `public_url`: `http://` or `https://`, a host with an optional port,
/// and nothing after it but an optional `/`, which is dropped.
pub fn check_public_url(text: &str) -> Result<String, String> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(|| format!("{text:?} must start with https:// or http://"))?;
    let host = rest.strip_suffix('/').unwrap_or(rest);
    if !is_host_and_port(host) {
        return Err(format!(
            "{text:?} must be a scheme and a host with an optional port, without a path, query \
             or fragment"
        ));
    }
    Ok(text.strip_suffix('/').unwrap_or(text).to_owned())
}

/// `GET /01/{key}`, `/00/…`, `/414/…`, `/417/…`: resolve a GS1 Digital Link.
#[utoipa::path(
    get,
    path = "/01/{*key}",
    tag = "resolver",
    params(
        ("*key" = String, Path, description = "The GTIN, then any qualifiers as GS1 Digital Link writes them: `{gtin}`, `{gtin}/10/{lot}`, `{gtin}/21/{serial}`, `{gtin}/10/{lot}/21/{serial}`; data attributes (`?17=…`) may follow"),
        ("linkType" = Option<String>, Query, description = "`linkset` (or `all`) for the linkset; `gs1:traceability`, `gs1:recallStatus`, … for that link"),
    ),
    responses(
        (status = 200, description = "The linkset (RFC 9264), for `linkType=linkset` or an `Accept` preferring `application/linkset+json`", body = Object, content_type = "application/linkset+json"),
        (status = 307, description = "To the link asked for by `linkType`, else the default link; or, for a GTIN-8, -12 or -13, to the canonical path"),
        (status = 400, description = "`invalid_digital_link` or `invalid_host`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_code`: nothing the link names is known at any level", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn resolve_gtin(
    reads: State<StoreReads>,
    public_url: State<PublicUrl>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    resolve(reads, public_url, uri, headers).await
}

/// `GET /00/{sscc}`: resolve a logistic unit's Digital Link.
#[utoipa::path(
    get,
    path = "/00/{*key}",
    tag = "resolver",
    params(
        ("*key" = String, Path, description = "The SSCC, 18 digits"),
        ("linkType" = Option<String>, Query, description = "`linkset` (or `all`), or a GS1 link type"),
    ),
    responses(
        (status = 200, description = "The linkset", body = Object, content_type = "application/linkset+json"),
        (status = 307, description = "To the link asked for, else the default link"),
        (status = 400, description = "`invalid_digital_link` or `invalid_host`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_code`", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn resolve_sscc(
    reads: State<StoreReads>,
    public_url: State<PublicUrl>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    resolve(reads, public_url, uri, headers).await
}

/// `GET /414/{gln}`: resolve a location GLN, which Suyuan knows as the GLN an enterprise's
/// profile claims.
#[utoipa::path(
    get,
    path = "/414/{*key}",
    tag = "resolver",
    params(
        ("*key" = String, Path, description = "The GLN, 13 digits, and optionally `/254/{extension}` or `/7040/{code}`"),
        ("linkType" = Option<String>, Query, description = "`linkset` (or `all`), or a GS1 link type"),
    ),
    responses(
        (status = 200, description = "The linkset", body = Object, content_type = "application/linkset+json"),
        (status = 307, description = "To the link asked for, else the default link"),
        (status = 400, description = "`invalid_digital_link` or `invalid_host`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_party`: no enterprise's profile claims the GLN", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn resolve_location(
    reads: State<StoreReads>,
    public_url: State<PublicUrl>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    resolve(reads, public_url, uri, headers).await
}

/// `GET /417/{gln}`: resolve a party GLN to the enterprise whose profile claims it.
#[utoipa::path(
    get,
    path = "/417/{*key}",
    tag = "resolver",
    params(
        ("*key" = String, Path, description = "The party GLN, 13 digits"),
        ("linkType" = Option<String>, Query, description = "`linkset` (or `all`), or a GS1 link type"),
    ),
    responses(
        (status = 200, description = "The linkset", body = Object, content_type = "application/linkset+json"),
        (status = 307, description = "To the link asked for, else the default link"),
        (status = 400, description = "`invalid_digital_link` or `invalid_host`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_party`: no enterprise's profile claims the GLN", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn resolve_party(
    reads: State<StoreReads>,
    public_url: State<PublicUrl>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    resolve(reads, public_url, uri, headers).await
}

/// Every resolver route: read the link, redirect a lenient form, look it up, answer.
async fn resolve(
    State(reads): State<StoreReads>,
    State(public_url): State<PublicUrl>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let path_and_query = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let link_type = link_type_asked(uri.query().unwrap_or(""))?;
    let read = DigitalLink::parse_lenient(&format!("{CANONICAL_STEM}{path_and_query}"))
        .map_err(ApiError::invalid_digital_link)?;
    if read.link().stem() != CANONICAL_STEM {
        return Err(ApiError::invalid_digital_link(
            "a path on this resolver starts with the primary key (/01/, /00/, /414/, /417/), \
             with no segments before it",
        ));
    }
    let canonical_path = read.link().to_uri("");
    if !read.is_canonical() {
        let mut location = canonical_path;
        if let Some(asked) = &link_type {
            location.push(if location.contains('?') { '&' } else { '?' });
            location.push_str("linkType=");
            percent_encode_into(&mut location, asked);
        }
        return redirect(&location, None);
    }
    let link = read.into_link();
    let linkset = format!(
        "{}?linkType=linkset",
        canonical_path.split('?').next().unwrap_or("")
    );
    let lookup = move |store: &Store| resolve_link(store, &link);
    answer(&reads, &public_url, &headers, link_type, &linkset, lookup).await
}

/// The answer to a resolver request whose identifier `lookup` resolves: the linkset, or 307 to
/// the link asked for, the page for a browser, or the default link. `linkset` is the path of
/// the identifier's linkset, announced beside every redirect.
async fn answer(
    reads: &StoreReads,
    public_url: &PublicUrl,
    headers: &HeaderMap,
    link_type: Option<String>,
    linkset: &str,
    lookup: impl FnOnce(&Store) -> Result<Resolution, ApiError> + Send + 'static,
) -> Result<Response, ApiError> {
    let resolution = reads.point(lookup).await?;
    let linkset_asked = matches!(link_type.as_deref(), Some("linkset" | "all"))
        || (link_type.is_none() && prefers_linkset(headers));
    if linkset_asked {
        let base = public_url.base(headers)?;
        return linkset_response(&resolution, &base);
    }
    // A browser asking for nothing in particular gets the page people read.
    let asked = match link_type.as_deref() {
        Some(asked) => LinkType::read(asked),
        None if prefers_html(headers) => Some(LinkType::Pip),
        None => None,
    };
    let target = asked
        .and_then(|kind| resolution.link(kind))
        .map_or_else(|| resolution.default_link(), Ok)?;
    redirect(&target.path, Some(linkset))
}

/// `GET /ecode/{code}`: resolve an Ecode, of a batch or item or of a model.
#[utoipa::path(
    get,
    path = "/ecode/{code}",
    tag = "resolver",
    params(
        ("code" = String, Path, description = "The Ecode, without `ecode:`"),
        ("linkType" = Option<String>, Query, description = "`linkset` (or `all`), or a GS1 link type"),
    ),
    responses(
        (status = 200, description = "The linkset", body = Object, content_type = "application/linkset+json"),
        (status = 307, description = "To the link asked for, the page for a browser, else the default link"),
        (status = 400, description = "`invalid_code`, `invalid_digital_link` (a `linkType` that does not decode) or `invalid_host`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_code`", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn resolve_ecode(
    State(reads): State<StoreReads>,
    State(public_url): State<PublicUrl>,
    PathParam(code): PathParam,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let code = format!("ecode:{code}");
    resolve_other(&reads, &public_url, &headers, &code, query.as_deref()).await
}

/// `GET /handle/{prefix}/{suffix}`: resolve an industrial-internet identifier (Handle), of a
/// batch or item or of a model.
#[utoipa::path(
    get,
    path = "/handle/{*id}",
    tag = "resolver",
    params(
        ("*id" = String, Path, description = "The identifier, without `handle:`: `{prefix}/{suffix}`, e.g. `88.118.8/G2601B`"),
        ("linkType" = Option<String>, Query, description = "`linkset` (or `all`), or a GS1 link type"),
    ),
    responses(
        (status = 200, description = "The linkset", body = Object, content_type = "application/linkset+json"),
        (status = 307, description = "To the link asked for, the page for a browser, else the default link"),
        (status = 400, description = "`invalid_code`, `invalid_digital_link` (a `linkType` that does not decode) or `invalid_host`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_code`", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn resolve_handle(
    State(reads): State<StoreReads>,
    State(public_url): State<PublicUrl>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let code = format!("handle:{id}");
    resolve_other(&reads, &public_url, &headers, &code, query.as_deref()).await
}

/// An Ecode or Handle code (`ecode:…`, `handle:…`), resolved as a batch or item the ledger
/// has records of, else as a registered model.
async fn resolve_other(
    reads: &StoreReads,
    public_url: &PublicUrl,
    headers: &HeaderMap,
    code: &str,
    query: Option<&str>,
) -> Result<Response, ApiError> {
    let link_type = link_type_asked(query.unwrap_or(""))?;
    let trace_code = read_trace_code(code).ok();
    let model_code = code.parse::<ModelCode>().ok();
    if trace_code.is_none() && model_code.is_none() {
        let reason = read_trace_code(code).err().unwrap_or_default();
        return Err(ApiError::invalid_code(reason));
    }
    let Some((scheme, rest)) = code.split_once(':') else {
        return Err(ApiError::internal(
            "an Ecode or Handle code without its scheme",
        ));
    };
    let segments: Vec<String> = rest.split('/').map(path_segment).collect();
    let linkset = format!("/{scheme}/{}?linkType=linkset", segments.join("/"));
    let named = code.to_owned();
    let lookup = move |store: &Store| {
        if let Some(code) = &trace_code
            && let Some(resolution) = code_resolution(store, code, None)?
        {
            return Ok(resolution);
        }
        match &model_code {
            Some(model) => model_resolution(store, model)?,
            None => None,
        }
        .ok_or_else(|| ApiError::unknown_code(&named))
    };
    answer(reads, public_url, headers, link_type, &linkset, lookup).await
}

/// The linkset anchor of a code the ledger knows: its Digital Link under GS1's stem, or the
/// Ecode or Handle code itself.
fn anchor_of(code: &TraceCode) -> String {
    match code {
        TraceCode::Lot { .. } | TraceCode::Item { .. } | TraceCode::Sscc(_) => {
            format!("{CANONICAL_STEM}/{code}")
        }
        TraceCode::Ecode(_) | TraceCode::Handle(_) => code.to_string(),
    }
}

/// The `linkType` query parameter, percent-decoded; the first if there are several.
fn link_type_asked(query: &str) -> Result<Option<String>, ApiError> {
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name == "linkType" {
            return percent_decode(value, 0, true)
                .map(Some)
                .map_err(ApiError::invalid_digital_link);
        }
    }
    Ok(None)
}

/// Whether the `Accept` header prefers a linkset: it names `application/linkset+json` with a
/// weight above zero, and no other type with a higher weight.
fn prefers_linkset(headers: &HeaderMap) -> bool {
    let mut linkset = 0.0_f32;
    let mut others = 0.0_f32;
    for (media_type, weight) in weighted(headers, header::ACCEPT) {
        if media_type == LINKSET_MEDIA_TYPE {
            linkset = linkset.max(weight);
        } else {
            others = others.max(weight);
        }
    }
    linkset > 0.0 && linkset >= others
}

/// Whether the `Accept` header prefers HTML to JSON, as a browser's does.
fn prefers_html(headers: &HeaderMap) -> bool {
    let mut html = 0.0_f32;
    let mut json = 0.0_f32;
    for (media_type, weight) in weighted(headers, header::ACCEPT) {
        match media_type.as_str() {
            "text/html" | "application/xhtml+xml" => html = html.max(weight),
            "application/json" => json = json.max(weight),
            _ => {}
        }
    }
    html > 0.0 && html >= json
}

/// 307 to `location` (a path on this node), announcing the linkset at `linkset` if given.
fn redirect(location: &str, linkset: Option<&str>) -> Result<Response, ApiError> {
    let value = |text: &str| {
        HeaderValue::from_str(text)
            .map_err(|_| ApiError::internal(format!("{text:?} is not a header value")))
    };
    let mut response = StatusCode::TEMPORARY_REDIRECT.into_response();
    let response_headers = response.headers_mut();
    response_headers.insert(header::LOCATION, value(location)?);
    if let Some(linkset) = linkset {
        response_headers.insert(
            header::LINK,
            value(&format!(
                "<{linkset}>; rel=\"linkset\"; type=\"{LINKSET_MEDIA_TYPE}\""
            ))?,
        );
    }
    common_headers(response_headers);
    Ok(response)
}

/// Headers on every resolver answer: any page may read it, and it depends on `Accept`.
fn common_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
}

/// The linkset of `resolution`, its targets absolute under `base`.
fn linkset_response(resolution: &Resolution, base: &str) -> Result<Response, ApiError> {
    let mut entry = Map::new();
    entry.insert("anchor".into(), Value::String(resolution.anchor.clone()));
    if let Some(description) = &resolution.description {
        entry.insert("itemDescription".into(), Value::String(description.clone()));
    }
    for kind in LinkType::ALL {
        let targets: Vec<Value> = resolution
            .links
            .iter()
            .filter(|link| link.kind == kind)
            .map(|link| {
                let mut target = json!({
                    "href": format!("{base}{}", link.path),
                    "title": link.title,
                    "type": link.media_type,
                });
                if link.media_type == HTML {
                    target["hreflang"] = json!(["zh-CN", "en"]);
                }
                target
            })
            .collect();
        if !targets.is_empty() {
            entry.insert(kind.uri(), Value::Array(targets));
        }
    }
    let mut response = Json(json!({ "linkset": [entry] })).into_response();
    let response_headers = response.headers_mut();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(LINKSET_MEDIA_TYPE),
    );
    response_headers.insert(
        header::LINK,
        HeaderValue::from_str(&format!(
            "<{LINKSET_CONTEXT}>; rel=\"http://www.w3.org/ns/json-ld#context\"; \
             type=\"application/ld+json\""
        ))
        .map_err(|_| ApiError::internal("the linkset context is not a header value"))?,
    );
    common_headers(response_headers);
    Ok(response)
}

/// Looks up what `link` identifies, at the most specific level the ledger knows.
fn resolve_link(store: &Store, link: &DigitalLink) -> Result<Resolution, ApiError> {
    let (key, value) = link.primary_key();
    let qualifier = |ai: &str| {
        link.qualifiers()
            .find(|(qualifier, _)| qualifier.as_str() == ai)
            .map(|(_, value)| value)
    };
    fn invalid(error: impl std::fmt::Display) -> ApiError {
        ApiError::invalid_digital_link(error)
    }
    match key.as_str() {
        "01" => {
            let gtin: Gtin = value.parse().map_err(invalid)?;
            let lot = qualifier("10")
                .map(str::parse)
                .transpose()
                .map_err(invalid)?;
            let serial = qualifier("21")
                .map(str::parse)
                .transpose()
                .map_err(invalid)?;
            let code = match (serial, lot.clone()) {
                (Some(serial), _) => Some(TraceCode::Item {
                    gtin: gtin.clone(),
                    serial,
                }),
                (None, Some(lot)) => Some(TraceCode::Lot {
                    gtin: gtin.clone(),
                    lot,
                }),
                (None, None) => None,
            };
            let batch_named = lot.map(|lot| TraceCode::Lot {
                gtin: gtin.clone(),
                lot,
            });
            if let Some(code) = code
                && let Some(resolution) = code_resolution(store, &code, batch_named.as_ref())?
            {
                return Ok(resolution);
            }
            model_resolution(store, &ModelCode::Gtin(gtin.clone()))?
                .ok_or_else(|| ApiError::unknown_code(&link.to_uri("")))
        }
        "00" => {
            let code = TraceCode::Sscc(value.parse().map_err(invalid)?);
            code_resolution(store, &code, None)?
                .ok_or_else(|| ApiError::unknown_code(&code.to_string()))
        }
        "414" | "417" => {
            let gln: Gln = value.parse().map_err(invalid)?;
            party_resolution(store, &gln, key.as_str())
        }
        other => Err(ApiError::invalid_digital_link(format!(
            "primary key {other} is not one Suyuan stores; this resolver answers {}",
            SUPPORTED_PRIMARY_KEYS.join(", ")
        ))),
    }
}

/// The links of a batch, item or logistic unit the ledger has records of; `None` if it has
/// none, or if the item's recorded batch is not `batch_named`.
fn code_resolution(
    store: &Store,
    code: &TraceCode,
    batch_named: Option<&TraceCode>,
) -> Result<Option<Resolution>, ApiError> {
    let state_error = |error: suyuan_ledger::state::StateError| ApiError::state_unreadable(&error);
    let code = store
        .alias(code)
        .map_err(state_error)?
        .unwrap_or_else(|| code.clone());
    if store.code_latest(&code).map_err(storage)?.is_none() {
        return Ok(None);
    }
    let snapshot = store.snapshot();
    let state = snapshot.code(&code).map_err(state_error)?;
    if let (Some(named), Some(state)) = (batch_named, &state)
        && matches!(code, TraceCode::Item { .. })
        && state.batch.as_ref().is_some_and(|batch| batch != named)
    {
        return Ok(None);
    }
    let path = path_segment(&code.to_string());
    let records = format!("/v1/products/{path}");
    let mut links = vec![
        link(
            LinkType::DefaultLink,
            &records,
            format!("Records of {code}"),
        ),
        page_link(
            &format!("/products/{path}"),
            format!("The page of {code}: recall status, maker, inspections, flow, proof"),
        ),
        link(
            LinkType::Traceability,
            &records,
            format!("Records of {code}, oldest first"),
        ),
        link(
            LinkType::RecallStatus,
            &records,
            format!("Recalls covering {code}, its batch and its model"),
        ),
        link(
            LinkType::VerificationService,
            &format!("/v1/proofs/{path}"),
            format!("Proof that {code}'s latest record is in the chain"),
        ),
        link(
            LinkType::Epcis,
            &format!("/v1/products/{path}/epcis"),
            format!("{code}'s history as a GS1 EPCIS 2.0 document"),
        ),
    ];
    let mut description = None;
    if let Some(state) = state {
        if let Some(model) = snapshot.model(&state.model_code).map_err(state_error)? {
            description = Some(model.model.name.to_string());
        }
        links.push(link(
            LinkType::MasterData,
            &format!("/v1/models/{}", path_segment(&state.model_code.to_string())),
            format!("The product model {}", state.model_code),
        ));
        links.push(certification(&state.producer));
    }
    Ok(Some(Resolution {
        anchor: anchor_of(&code),
        description,
        links,
    }))
}

/// The links of a registered model; `None` if no enterprise registered one under `code`.
fn model_resolution(store: &Store, code: &ModelCode) -> Result<Option<Resolution>, ApiError> {
    let snapshot = store.snapshot();
    let Some(model) = snapshot
        .model(code)
        .map_err(|error| ApiError::state_unreadable(&error))?
    else {
        return Ok(None);
    };
    let view = format!("/v1/models/{}", path_segment(&code.to_string()));
    let anchor = match code {
        ModelCode::Gtin(gtin) => format!("{CANONICAL_STEM}/01/{gtin}"),
        other => other.to_string(),
    };
    Ok(Some(Resolution {
        anchor,
        description: Some(model.model.name.to_string()),
        links: vec![
            link(
                LinkType::DefaultLink,
                &view,
                format!("The product model {code}"),
            ),
            page_link(
                &format!("/models/{}", path_segment(&code.to_string())),
                format!("The page of the product model {code}"),
            ),
            link(
                LinkType::MasterData,
                &view,
                format!("The product model {code}"),
            ),
            link(
                LinkType::RecallStatus,
                &view,
                format!("Recalls of the whole model {code}"),
            ),
            certification(&model.model.uscc),
        ],
    }))
}

/// The links of the enterprise whose profile claims `gln`, asked under AI `key` (414 or 417).
fn party_resolution(store: &Store, gln: &Gln, key: &str) -> Result<Resolution, ApiError> {
    let holder = store
        .snapshot()
        .gln_holder(gln)
        .map_err(|error| ApiError::state_unreadable(&error))?
        .ok_or_else(|| ApiError::unknown_party(gln))?;
    let registration = format!("/v1/enterprises/{holder}");
    let mut links = vec![
        link(
            LinkType::DefaultLink,
            &registration,
            format!("The registration of enterprise {holder}"),
        ),
        page_link(
            &format!("/v1/enterprises/{holder}/report?format=html"),
            format!("The supplier report of enterprise {holder}"),
        ),
        link(
            LinkType::RegistryEntry,
            &registration,
            format!("The registration of enterprise {holder}"),
        ),
        certification(&holder),
        link(
            LinkType::Epcis,
            &format!("/v1/enterprises/{holder}/epcis"),
            format!("Enterprise {holder}'s events as a GS1 EPCIS 2.0 document"),
        ),
    ];
    if key == "414" {
        links.push(link(
            LinkType::LocationInfo,
            &registration,
            format!("The registered address of enterprise {holder}"),
        ));
    }
    Ok(Resolution {
        anchor: format!("{CANONICAL_STEM}/{key}/{gln}"),
        description: None,
        links,
    })
}

/// The supplier report of `uscc`: its licences and certificates, with their validity.
fn certification(uscc: &Uscc) -> Link {
    link(
        LinkType::CertificationInfo,
        &format!("/v1/enterprises/{uscc}/report"),
        format!("Licences and certificates of enterprise {uscc}"),
    )
}

/// A link to a JSON route.
fn link(kind: LinkType, path: &str, title: String) -> Link {
    Link {
        kind,
        path: path.to_owned(),
        title,
        media_type: JSON,
    }
}

/// A link to a page people read.
fn page_link(path: &str, title: String) -> Link {
    Link {
        kind: LinkType::Pip,
        path: path.to_owned(),
        title,
        media_type: HTML,
    }
}

/// `GET /.well-known/gs1resolver`: the resolver description file.
#[utoipa::path(
    get,
    path = "/.well-known/gs1resolver",
    tag = "resolver",
    responses(
        (status = 200, description = "The GS1 resolver description: the node's root, the primary keys and the link types it answers", body = Object, content_type = "application/json"),
        (status = 400, description = "`invalid_host`: no `[api] public_url` is set and the `Host` header is no host and port", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn description(
    State(public_url): State<PublicUrl>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let root = public_url.base(&headers)?;
    let mut response = Json(json!({
        "name": "Suyuan traceability node",
        "resolverRoot": root,
        "supportedPrimaryKeys": SUPPORTED_PRIMARY_KEYS,
        "linkTypeDefaultCanBeLinkset": false,
        "supportedLinkType": [{
            "namespace": VOCABULARY,
            "prefix": "gs1:",
            "profile": format!("{VOCABULARY}?show=linktypes"),
        }],
    }))
    .into_response();
    common_headers(response.headers_mut());
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn a_linkset_is_given_to_who_prefers_it() {
        assert!(prefers_linkset(&accept("application/linkset+json")));
        assert!(prefers_linkset(&accept(
            "application/linkset+json, application/json;q=0.5"
        )));
        assert!(!prefers_linkset(&accept(
            "text/html,application/xhtml+xml,*/*;q=0.8"
        )));
        assert!(!prefers_linkset(&accept("application/json")));
        assert!(!prefers_linkset(&accept("application/linkset+json;q=0")));
        assert!(!prefers_linkset(&accept(
            "text/html, application/linkset+json;q=0.5"
        )));
        assert!(!prefers_linkset(&HeaderMap::new()));
    }

    #[test]
    fn link_types_are_read_by_prefix_or_uri() {
        assert_eq!(LinkType::read("gs1:epcis"), Some(LinkType::Epcis));
        assert_eq!(
            LinkType::read("https://gs1.org/voc/recallStatus"),
            Some(LinkType::RecallStatus)
        );
        assert_eq!(
            LinkType::read("https://ref.gs1.org/voc/traceability"),
            Some(LinkType::Traceability)
        );
        assert_eq!(LinkType::read("gs1:pip"), Some(LinkType::Pip));
        assert_eq!(LinkType::read("gs1:smartLabel"), None);
        assert_eq!(LinkType::read("epcis"), None);
        for kind in LinkType::ALL {
            assert_eq!(LinkType::read(&format!("gs1:{}", kind.term())), Some(kind));
        }
    }

    #[test]
    fn hosts_and_public_urls_are_checked() {
        assert!(is_host_and_port("node1.example.org:8100"));
        assert!(is_host_and_port("127.0.0.1:8100"));
        assert!(is_host_and_port("[::1]:8100"));
        for bad in [
            "",
            "evil.example/path",
            "a b",
            "user@host",
            "host?x",
            "host#f",
        ] {
            assert!(!is_host_and_port(bad), "{bad:?}");
        }
        assert_eq!(
            check_public_url("https://trace.example.org/").unwrap(),
            "https://trace.example.org"
        );
        assert_eq!(
            check_public_url("http://10.0.0.5:8100").unwrap(),
            "http://10.0.0.5:8100"
        );
        for bad in [
            "trace.example.org",
            "ftp://trace.example.org",
            "https://trace.example.org/resolver",
            "https://trace.example.org?x=1",
            "https://",
        ] {
            assert!(check_public_url(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_link_type_is_read_from_the_query() {
        assert_eq!(
            link_type_asked("17=270101&linkType=gs1%3Aepcis").unwrap(),
            Some("gs1:epcis".to_owned())
        );
        assert_eq!(link_type_asked("").unwrap(), None);
        assert_eq!(link_type_asked("linktype=all").unwrap(), None);
        assert!(link_type_asked("linkType=%zz").is_err());
    }
}
