//! Render the supplier search: a form, and the enterprises found, each with its supplier report
//! and registration.

use maud::{Markup, html};
use suyuan_ledger::record::EnterpriseKind;

use crate::pages::Lang;
use crate::types::{EnterpriseSearch, SearchMatch};

/// The page's body: the form with `query` in it, and what it found if anything was asked, or
/// why the query was refused.
pub(crate) fn render(
    lang: Lang,
    query: &str,
    found: Option<&Result<EnterpriseSearch, String>>,
) -> Markup {
    html! {
        section {
            h1 { (lang.pick("查找供应商", "Find a supplier")) }
            form method="get" action="/suppliers" role="search" {
                label for="q" { (lang.pick("企业名称、统一社会信用代码、产品追溯码或条码、GLN", "Name, unified social credit code, product code or barcode, or GLN")) }
                div.search {
                    input id="q" name="q" type="search" value=(query) maxlength="100" required autofocus;
                    input type="hidden" name="lang" value=(lang.param());
                    button type="submit" { (lang.pick("查找", "Search")) }
                }
            }
        }
        @match found {
            Some(Ok(search)) => (results(lang, search)),
            Some(Err(reason)) => section { p.warn { (reason) } },
            None => {},
        }
    }
}

/// The enterprises found.
fn results(lang: Lang, search: &EnterpriseSearch) -> Markup {
    let read_as = match search.matched_by {
        SearchMatch::Uscc => lang.pick("按统一社会信用代码", "by unified social credit code"),
        SearchMatch::Gln => lang.pick("按 GLN", "by GLN"),
        SearchMatch::Code => lang.pick("按产品代码（其生产企业）", "by product code (its maker)"),
        SearchMatch::Name => lang.pick("按企业名称", "by name"),
    };
    html! {
        section {
            h2 { (lang.pick("查找结果", "Results")) " · " span.muted { (read_as) } }
            @if search.items.is_empty() {
                p { (lang.pick("没有找到在联盟登记的企业。", "No enterprise enrolled in the consortium matches.")) }
            }
            ol.hits {
                @for hit in &search.items {
                    li {
                        a href={ "/v1/enterprises/" (hit.uscc) "/report?format=html" } { strong { (hit.name) } }
                        br;
                        span.mono { (hit.uscc) } " · " (kind(lang, hit.kind))
                        br;
                        span.muted { (hit.address) }
                    }
                }
            }
            @if let Some(next) = &search.next {
                p { a href={ "/suppliers?q=" (query_value(&search.query)) "&after=" (next) "&lang=" (lang.param()) } { (lang.pick("更多结果", "More results")) } }
            }
        }
    }
}

/// What an enterprise is, in words.
pub(crate) fn kind(lang: Lang, kind: EnterpriseKind) -> &'static str {
    match kind {
        EnterpriseKind::Manufacturer => lang.pick("生产企业", "manufacturer"),
        EnterpriseKind::Importer => lang.pick("进口商", "importer"),
        EnterpriseKind::Distributor => lang.pick("经销商", "distributor"),
        EnterpriseKind::Retailer => lang.pick("零售商", "retailer"),
        EnterpriseKind::InspectionBody => lang.pick("检验检测机构", "inspection body"),
    }
}

/// `text` percent-encoded for a query value.
fn query_value(text: &str) -> String {
    crate::routes::path_segment(text)
}
