//! Render the product page: what a phone opens when it scans a batch's, an item's or a logistic
//! unit's QR code. Recall status first, then the product and its maker, the inspections, the
//! flow in time order (a buyer who is a person is never shown), and what the chain proves.

use std::collections::BTreeMap;

use maud::{Markup, PreEscaped, html};
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::record::{Items, Outcome, Party, Record, Subject, TraceCode};
use suyuan_ledger::text::Date;
use suyuan_proofs::bundle::Proven;

use crate::pages::Lang;
use crate::routes::path_segment;
use crate::types::{CodeRecall, CommittedTx, ModelView, ProductView};
use crate::views::{RecallStatus, Validity};

/// Everything the product page shows. The view, the model and the names are read from the
/// store's head (each from its own snapshot), the proof at the latest finalized height.
#[derive(Debug)]
pub(crate) struct ProductPage {
    /// The code's view, as `GET /v1/products/{code}` answers it.
    pub(crate) view: ProductView,
    /// Its model, as `GET /v1/models/{code}` answers it, when the model is registered.
    pub(crate) model: Option<ModelView>,
    /// The names of the enterprises the flow names, by USCC.
    pub(crate) names: BTreeMap<Uscc, String>,
    /// What the proof bundle of the code proves, checked against genesis; or why there is none.
    pub(crate) proof: Result<Proven, String>,
    /// The code's GS1 Digital Link on this node, when it has one: what its QR code holds.
    pub(crate) digital_link: Option<String>,
}

/// The page's body.
pub(crate) fn render(lang: Lang, page: &ProductPage) -> Markup {
    let view = &page.view;
    let title = page.model.as_ref().map_or_else(
        || view.code.to_string(),
        |model| model.model.name.to_string(),
    );
    html! {
        @for recall in view.recalls.iter().filter(|recall| recall.status == RecallStatus::Open) {
            (recall_alert(lang, recall))
        }
        section {
            p.muted { (kind(lang, &view.code)) }
            h1 { (title) }
            dl.facts {
                dt { (lang.pick("追溯码", "Code")) } dd.mono { (view.code) }
                @if let Some(batch) = &view.batch {
                    dt { (lang.pick("所属批次", "Batch")) } dd.mono { a href={ "/products/" (path_segment(&batch.to_string())) "?lang=" (lang.param()) } { (batch) } }
                }
                @if let Some(model) = &page.model {
                    (model_facts(lang, model))
                }
                @if let Some(category) = &view.category {
                    dt { (lang.pick("产品类别", "Category")) } dd { (lang.pick(&category.name_zh, &category.name_en)) }
                }
                @if view.recalls.is_empty() {
                    dt { (lang.pick("召回", "Recalls")) } dd.ok { (lang.pick("无召回记录", "No recall")) }
                }
            }
        }
        @if view.recalls.iter().any(|recall| recall.status == RecallStatus::Closed) {
            section {
                h2 { (lang.pick("已结束的召回", "Closed recalls")) }
                ul {
                    @for recall in view.recalls.iter().filter(|recall| recall.status == RecallStatus::Closed) {
                        li { (recall.announced_on) " · " (recall.reason) }
                    }
                }
            }
        }
        (inspections(lang, view))
        (flow(lang, page))
        (verify(lang, page))
        (links(lang, page))
    }
}

/// A banner for an open recall: what it names and why, impossible to miss.
pub(crate) fn recall_alert(lang: Lang, recall: &CodeRecall) -> Markup {
    let covers = match &recall.subject {
        Subject::Code(TraceCode::Lot { .. }) => {
            lang.pick("本批次已被召回", "This batch is recalled")
        }
        Subject::Code(_) => lang.pick("本产品已被召回", "This product is recalled"),
        Subject::Model(_) => lang.pick("本型号产品已被召回", "This model is recalled"),
        Subject::Sampled(_) => lang.pick("抽检产品已被召回", "The sampled product is recalled"),
    };
    html! {
        div.alert role="alert" {
            h2 { "⚠ " (covers) }
            p { (recall.reason) }
            p { (lang.pick("公告日期：", "Announced on ")) (recall.announced_on)
                (lang.pick("。请停止使用，并联系销售方或生产企业。", ". Stop using it and contact the seller or the maker.")) }
        }
    }
}

/// The model's facts: name, specification, standards, maker, licence and certificate.
pub(crate) fn model_facts(lang: Lang, model: &ModelView) -> Markup {
    let product = &model.model;
    html! {
        dt { (lang.pick("规格型号", "Specification")) } dd { (product.specification) " · " (product.model) }
        @if !product.standards.is_empty() {
            dt { (lang.pick("执行标准", "Standards")) }
            dd { @for (index, standard) in product.standards.iter().enumerate() { @if index > 0 { "，" } (standard) } }
        }
        dt { (lang.pick("生产企业", "Maker")) }
        dd {
            a href={ "/v1/enterprises/" (model.maker.uscc) "/report?format=html" } { (model.maker.name) }
            br; span.mono.muted { (lang.pick("统一社会信用代码 ", "USCC ")) (model.maker.uscc) }
        }
        @if let Some(licence) = &product.production_licence {
            dt { (lang.pick("生产许可证", "Production licence")) }
            dd { span.mono { (licence.number) } " " (validity(lang, licence.validity)) }
        }
        @if let Some(certificate) = &product.ccc_certificate {
            dt { (lang.pick("CCC 认证证书", "CCC certificate")) }
            dd { span.mono { (certificate.number) } " " (validity(lang, certificate.validity)) }
        }
    }
}

/// A document's validity in words, coloured.
fn validity(lang: Lang, validity: Validity) -> Markup {
    let (class, words) = match validity {
        Validity::Valid => ("ok", lang.pick("有效", "valid")),
        Validity::Expired => ("bad", lang.pick("已过期", "expired")),
        Validity::NotYetValid => ("warn", lang.pick("尚未生效", "not yet valid")),
        Validity::NotHeld => ("bad", lang.pick("企业未登记此证", "not held by the maker")),
    };
    html! { span class=(class) { "（" (words) "）" } }
}

/// The inspections among the code's records, newest first.
fn inspections(lang: Lang, view: &ProductView) -> Markup {
    let found: Vec<(&CommittedTx, &suyuan_ledger::record::Inspection)> = view
        .history
        .iter()
        .filter_map(|tx| match &tx.payload.record {
            Record::Inspect(inspection) => Some((tx, inspection)),
            _ => None,
        })
        .rev()
        .collect();
    html! {
        section {
            h2 { (lang.pick("检验", "Inspections")) }
            @if found.is_empty() {
                p.muted { (lang.pick("没有针对该代码的检验记录。", "No inspection names this code.")) }
            }
            @for (_, inspection) in &found {
                p {
                    @match inspection.outcome {
                        Outcome::Conformant => span.ok { (lang.pick("合格", "Conformant")) },
                        Outcome::NonConformant => span.bad { (lang.pick("不合格", "Non-conformant")) },
                    }
                    " · " (inspection.inspected_on) " · "
                    (lang.pick("报告编号 ", "report ")) span.mono { (inspection.report_number) }
                    @if !inspection.standards.is_empty() {
                        br; span.muted { (lang.pick("依据 ", "against ")) @for (index, standard) in inspection.standards.iter().enumerate() { @if index > 0 { "，" } (standard) } }
                    }
                    @if let Some(findings) = &inspection.findings {
                        br; (findings)
                    }
                }
            }
        }
    }
}

/// Every record naming the code, oldest first, in words.
fn flow(lang: Lang, page: &ProductPage) -> Markup {
    let view = &page.view;
    html! {
        section {
            h2 { (lang.pick("流转记录", "Flow")) }
            ol.flow {
                @for tx in &view.history {
                    li {
                        span.when { (lang.pick("区块 ", "block ")) (tx.height) }
                        " " (step(lang, page, tx))
                    }
                }
            }
            @if view.next.is_some() {
                p.muted { (lang.pick("记录较多，仅显示前 100 条；完整记录见数据接口。", "Only the first 100 records are shown; the API has them all.")) }
            }
        }
    }
}

/// One record of the flow, in words; a person who bought is never named.
fn step(lang: Lang, page: &ProductPage, tx: &CommittedTx) -> Markup {
    let name = |uscc: &Uscc| {
        page.names
            .get(uscc)
            .cloned()
            .unwrap_or_else(|| uscc.to_string())
    };
    match &tx.payload.record {
        Record::Commission(commissioning) => {
            let count = match &commissioning.items {
                Items::Batch { quantity, .. } => *quantity,
                Items::Serialised { codes, .. } => codes.len() as u64,
            };
            html! {
                span.what { (lang.pick("生产赋码", "Made and coded")) }
                " · " (name(&commissioning.uscc)) " · " (commissioning.production_date)
                " · " (count) (lang.pick(" 件", " units"))
            }
        }
        Record::Ship(shipment) => {
            let buyer = match &shipment.buyer {
                Party::Enterprise { name, .. } => name.to_string(),
                Party::Person { .. } => lang
                    .pick("个人消费者（个人信息不公开）", "a consumer (not shown)")
                    .to_owned(),
            };
            let quantity: u64 = shipment
                .lines
                .iter()
                .filter(|line| line.code == page.view.code)
                .map(|line| line.quantity)
                .sum();
            html! {
                span.what { (lang.pick("销售", "Sold")) }
                " · " (date_of_ms(shipment.sold_at_ms)) " · " (name(&shipment.seller)) " → " (buyer)
                @if quantity > 0 { " · " (quantity) (lang.pick(" 件", " units")) }
            }
        }
        Record::Inspect(inspection) => html! {
            span.what { (lang.pick("检验", "Inspected")) }
            " · " (inspection.inspected_on) " · "
            @match inspection.outcome {
                Outcome::Conformant => span.ok { (lang.pick("合格", "conformant")) },
                Outcome::NonConformant => span.bad { (lang.pick("不合格", "non-conformant")) },
            }
        },
        Record::Recall(recall) => html! {
            span.what.bad { (lang.pick("召回", "Recalled")) } " · " (recall.announced_on) " · " (recall.reason)
        },
        Record::CloseRecall(close) => html! {
            span.what { (lang.pick("召回结束", "Recall closed")) } " · " (close.resolution)
        },
        Record::Pack(pack) => html! {
            span.what { (lang.pick("装箱", "Packed")) } " · " (date_of_ms(pack.packed_at_ms)) " · "
            (name(&pack.uscc)) " · " span.mono { (pack.sscc.as_code()) }
        },
        Record::Unpack(unpack) => html! {
            span.what { (lang.pick("拆箱", "Unpacked")) } " · " (date_of_ms(unpack.unpacked_at_ms)) " · "
            (name(&unpack.uscc)) " · " span.mono { (unpack.sscc.as_code()) }
        },
        Record::LinkCodes(link) => html! {
            span.what { (lang.pick("关联标识", "Codes linked")) } " · "
            @for (index, alias) in link.aliases.iter().enumerate() { @if index > 0 { "，" } span.mono { (alias) } }
        },
        Record::RegisterProduct(model) => html! {
            span.what { (lang.pick("型号登记", "Model registered")) } " · " (model.name)
        },
        other => html! { span.what { (other.type_name()) } },
    }
}

/// What the proof bundle proves, in words, and how to check it without trusting this node.
fn verify(lang: Lang, page: &ProductPage) -> Markup {
    html! {
        section {
            h2 { (lang.pick("核验", "Verify")) }
            @match &page.proof {
                Ok(proven) => {
                    p {
                        @if let Some(record) = &proven.record {
                            (lang.pick("该代码的最新记录（", "The latest record of this code ("))
                            span.mono { (record.record_type) } ", "
                            (lang.pick("交易 ", "transaction ")) span.mono { (short(&record.tx_id.to_hex())) }
                            (lang.pick("）已写入第 ", ") is in the record log of block "))
                            (proven.finality.height)
                            (lang.pick(" 号区块的记录日志，", ", "))
                        } @else {
                            (lang.pick("账本在第 ", "As of block "))
                            (proven.finality.height)
                            (lang.pick(" 号区块时没有该代码的记录，", ", no record names this code; "))
                        }
                        (lang.pick("该区块已由 ", "which "))
                        (proven.finality.signers) " / " (proven.finality.validators)
                        (lang.pick(" 个验证节点签名最终确认（至少需要 ", " validators signed as final (a quorum is "))
                        (proven.finality.quorum)
                        (lang.pick(" 个）。", ")."))
                    }
                    p.muted {
                        (lang.pick(
                            "本节点已用创世文件核对过这份证明。您无需信任本节点：下载证明包，用 suyuan verify --genesis genesis.json bundle.json 自行核验。",
                            "This node checked the proof against the genesis file. You need not trust this node: download the proof bundle and check it yourself with suyuan verify --genesis genesis.json bundle.json.",
                        ))
                    }
                }
                Err(reason) => {
                    p.warn { (lang.pick("暂时无法给出证明：", "No proof yet: ")) (reason) }
                }
            }
            p { a href={ "/v1/proofs/" (path_segment(&page.view.code.to_string())) } download="bundle.json" { (lang.pick("下载证明包", "Download the proof bundle")) } }
        }
    }
}

/// The machine-readable forms, and the code's QR code to print.
fn links(lang: Lang, page: &ProductPage) -> Markup {
    let code = path_segment(&page.view.code.to_string());
    html! {
        section {
            h2 { (lang.pick("数据与二维码", "Data and QR code")) }
            ul {
                li { a href={ "/v1/products/" (code) } { (lang.pick("记录（JSON）", "Records (JSON)")) } }
                li { a href={ "/v1/products/" (code) "/epcis" } { (lang.pick("GS1 EPCIS 2.0 事件文档", "GS1 EPCIS 2.0 document")) } }
            }
            @if let Some(link) = &page.digital_link {
                @if let Ok(qr) = suyuan_labels::Qr::encode(link) {
                    figure {
                        // Drawn by us from the link alone: no record text is in it.
                        div style="width:10rem" { (PreEscaped(qr.to_svg(30.0))) }
                        figcaption.mono { (link) }
                    }
                }
            }
        }
    }
}

/// What kind of code it is.
fn kind(lang: Lang, code: &TraceCode) -> &'static str {
    match code {
        TraceCode::Lot { .. } => lang.pick("批次", "Batch"),
        TraceCode::Item { .. } => lang.pick("单品", "Item"),
        TraceCode::Sscc(_) => lang.pick("物流单元", "Logistic unit"),
        TraceCode::Ecode(_) | TraceCode::Handle(_) => lang.pick("标识", "Code"),
    }
}

/// The date, in China Standard Time, of a time in Unix milliseconds.
fn date_of_ms(ms: u64) -> Date {
    Date::from_unix_ms_china(ms)
}

/// The first 16 hex digits of an id, enough for people to compare.
fn short(hex: &str) -> &str {
    hex.get(..16).unwrap_or(hex)
}
