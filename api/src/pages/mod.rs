//! Render the pages people read, server-side, in Chinese or English: what a phone opens when it
//! scans a product's QR code, and the pages buyers, associations and regulators read.
//!
//! Every page is one self-contained HTML document: inline style, no script, no external asset,
//! served with [`crate::html::CONTENT_SECURITY_POLICY`], which loads nothing. Pages are written
//! with `maud`, which escapes every value it inserts, so no record's text can add markup.
//!
//! The language is [`Lang::negotiate`]d: `?lang=zh` or `?lang=en` first, then the
//! `Accept-Language` header, Chinese when neither says. Every page links to itself in the other
//! language.

pub(crate) mod product;
pub(crate) mod search;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::error::ApiError;
use crate::extract::weighted;
use crate::html::CONTENT_SECURITY_POLICY;

/// A language the pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    /// Simplified Chinese: the default.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The language asked for by `?lang=`, else the one `Accept-Language` weighs highest among
    /// Chinese and English, else Chinese.
    pub(crate) fn negotiate(asked: Option<Lang>, headers: &HeaderMap) -> Lang {
        if let Some(lang) = asked {
            return lang;
        }
        let mut best: Option<(f32, Lang)> = None;
        for (tag, weight) in weighted(headers, header::ACCEPT_LANGUAGE) {
            let lang = match tag.split('-').next().unwrap_or("") {
                "zh" => Lang::Zh,
                "en" => Lang::En,
                _ => continue,
            };
            if weight > 0.0 && best.is_none_or(|(highest, _)| weight > highest) {
                best = Some((weight, lang));
            }
        }
        best.map_or(Lang::Zh, |(_, lang)| lang)
    }

    /// The text in this language: `zh` or `en`.
    pub(crate) fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// Its BCP 47 tag, for `lang` attributes and `Content-Language`.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The other language, for the switch at the top of every page.
    fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// Its value of `?lang=`.
    pub(crate) fn param(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// Its own name, as the switch shows it.
    fn name(self) -> &'static str {
        match self {
            Lang::Zh => "中文",
            Lang::En => "English",
        }
    }
}

/// Style for every page: readable on a phone (one column, large type), and printable.
const STYLE: &str = "
*{box-sizing:border-box}
body{font:16px/1.6 system-ui,'PingFang SC','Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header.top{background:#17324d;color:#fff;padding:.6rem 1rem;display:flex;justify-content:space-between;align-items:center;gap:1rem}
header.top a{color:#fff;text-decoration:none}header.top .brand{font-weight:700;font-size:1.1rem}
main{max-width:56rem;margin:0 auto;padding:1rem}
section{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:.8rem 1rem;margin:1rem 0}
h1{font-size:1.5rem;margin:.4rem 0}h2{font-size:1.15rem;margin:.2rem 0 .6rem}
dl.facts{display:grid;grid-template-columns:minmax(6rem,max-content) 1fr;gap:.3rem 1rem;margin:0}
dl.facts dt{color:#556}dl.facts dd{margin:0;word-break:break-word}
.mono{font-family:ui-monospace,monospace;font-size:.9em;word-break:break-all}
.alert{background:#b3261e;color:#fff;border-radius:6px;padding:1rem;margin:1rem 0}
.alert h2{color:#fff;margin:0 0 .4rem;font-size:1.3rem}.alert p{margin:.2rem 0}
.ok{color:#136c2e;font-weight:600}.warn{color:#8a5a00;font-weight:600}.bad{color:#b3261e;font-weight:600}
ol.flow{list-style:none;padding:0;margin:0}ol.flow li{border-left:3px solid #9db3c9;padding:.2rem 0 .6rem .8rem;margin-left:.3rem}
ol.flow .when{color:#556;font-size:.9em}ol.flow .what{font-weight:600}
form label{display:block;margin-bottom:.3rem;color:#556}div.search{display:flex;gap:.5rem}
div.search input[type=search]{flex:1;min-width:0;font:inherit;padding:.5rem;border:1px solid #9aa5b1;border-radius:4px}
div.search button{font:inherit;padding:.5rem 1rem;border:0;border-radius:4px;background:#17324d;color:#fff}
ol.hits{padding-left:1.2rem}ol.hits li{margin:.6rem 0}
.muted{color:#667}footer{max-width:56rem;margin:0 auto;padding:1rem;color:#667;font-size:.9em}
a{color:#0b57a4}
@media print{header.top,footer{display:none}body{background:#fff}section{border:none}}
";

/// A whole page: the header with the language switch, `body`, and the footer. `path` is the
/// page's own path (without query), for the switch.
pub(crate) fn page(lang: Lang, title: &str, path: &str, body: Markup) -> Markup {
    let other = lang.other();
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (lang.pick("溯源", "Suyuan")) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header.top {
                    a.brand href={ "/?lang=" (lang.param()) } { (lang.pick("溯源 · 产品质量安全追溯", "Suyuan · product traceability")) }
                    a href={ (path) "?lang=" (other.param()) } lang=(other.tag()) hreflang=(other.tag()) { (other.name()) }
                }
                main { (body) }
                footer {
                    (lang.pick(
                        "本页由联盟节点根据已最终确认的区块生成；任何节点在同一高度给出相同内容。",
                        "This page is generated by a consortium node from finalized blocks; every node gives the same content at the same height.",
                    ))
                }
            }
        }
    }
}

/// The policy of a page with a search form: it loads nothing, and its form goes to this node
/// only.
pub(crate) const FORM_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'";

/// A page as a response with `status`: HTML in `lang`, under the policy that loads nothing.
pub(crate) fn respond(status: StatusCode, lang: Lang, markup: Markup) -> Response {
    respond_under(status, lang, markup, CONTENT_SECURITY_POLICY)
}

/// A page as [`respond`] serves it, under `policy` (a policy that loads nothing).
pub(crate) fn respond_under(
    status: StatusCode,
    lang: Lang,
    markup: Markup,
    policy: &'static str,
) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy),
    );
    headers.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.tag()),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    response
}

/// An error as a page people can read: what went wrong in words, and the API's code for it.
pub(crate) fn error_page(lang: Lang, path: &str, error: &ApiError) -> Response {
    let (title, explanation) = match error.status.as_u16() {
        404 => (
            lang.pick("未找到", "Not found"),
            lang.pick(
                "账本中没有这个代码的记录。请核对代码；如果产品上的二维码指向这里，它可能不是联盟成员登记的产品。",
                "The ledger has no record of this code. Check the code; if a product's QR code led here, the product may not be one a consortium member recorded.",
            ),
        ),
        400..=499 => (
            lang.pick("无法识别", "Not understood"),
            lang.pick(
                "这不是一个有效的代码。",
                "This is not a valid code.",
            ),
        ),
        _ => (
            lang.pick("暂时无法回答", "Cannot answer now"),
            lang.pick(
                "节点暂时无法回答，请稍后再试。",
                "The node cannot answer now; try again shortly.",
            ),
        ),
    };
    let body = html! {
        section {
            h1 { (title) }
            p { (explanation) }
            p.muted { (error.body.message) " (" span.mono { (error.body.code) } ")" }
        }
    };
    respond(error.status, lang, page(lang, title, path, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn languages(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn the_reader_s_language_is_asked_then_preferred_then_chinese() {
        let negotiate = |value: &str| Lang::negotiate(None, &languages(value));
        assert_eq!(negotiate("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh);
        assert_eq!(negotiate("en-US,en;q=0.9"), Lang::En);
        assert_eq!(negotiate("en-GB,en;q=0.9,zh;q=0.95"), Lang::En);
        assert_eq!(negotiate("de-DE,zh-TW;q=0.5,en;q=0.4"), Lang::Zh);
        assert_eq!(negotiate("fr-FR"), Lang::Zh);
        assert_eq!(negotiate("en;q=0"), Lang::Zh);
        assert_eq!(Lang::negotiate(None, &HeaderMap::new()), Lang::Zh);
        assert_eq!(
            Lang::negotiate(Some(Lang::En), &languages("zh-CN")),
            Lang::En
        );
    }
}
