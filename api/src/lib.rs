//! Serve a Suyuan node's HTTP API: submit signed transactions, read status, transactions,
//! blocks and product histories, as JSON.
//!
//! The parts and how they fit:
//!
//! - `state` defines [`Node`], what the API needs from the node that serves it: admitting
//!   envelopes into its mempool, what it knows of transactions it has not committed, and its
//!   status. The node implements it; tests implement it over a real
//!   [`suyuan_storage::Store`]. [`ApiState`] bundles the node, its store (read directly for
//!   committed data) and the [`ApiLimits`].
//! - `router` builds the axum router, [`router()`], with every endpoint and the limits: body
//!   size, request timeout, in-flight requests (more are shed with 503 `overloaded`) and batch
//!   size; [`serve`] runs it on a listener until a shutdown future completes, with the
//!   connection bounds of `server` and `connections` (connections in all and per client, the
//!   time to send headers and to read a response).
//! - `reads` runs the handlers' store reads on the API's own threads, never on tokio's blocking
//!   pool that admission and sync use: a bounded queue (503 `read_queue_full` past it), scans
//!   that leave a thread to point reads, and a budget that stops a scan when its request is
//!   gone or it reads more than one request may (422 `read_limit_exceeded`).
//! - `routes` holds a handler for each endpoint; `extract` reads their bodies, paths and
//!   queries, refusing bad ones with the API's own codes; `committed` reads committed
//!   transactions back from the store with their blocks, for the routes and `profile`.
//! - [`types`] holds every request and response body, shared with clients; [`error`] maps
//!   every failure to a status and a JSON [`types::ErrorBody`] with a stable code.
//! - [`raw`] encodes committed blocks in bulk, as stored, for `GET /v1/blocks/raw`: what
//!   `suyuan audit` reads from a running node.
//! - [`metrics`] times and counts requests by route and exposes them, with the node's
//!   [`Node::metrics`], at `/metrics`.
//! - [`openapi`] describes every endpoint as an OpenAPI document and serves it at
//!   `/openapi.json` ([`schemas`] describes the ledger's and the proof bundles' types for it);
//!   every route is added through one list (`endpoints`) that [`served_routes`] reads back,
//!   and the tests check the document against it.
//! - Enterprises: `profile` gathers what the chain says about one enterprise as of one block
//!   (a storage snapshot); `report` and `html` shape the supplier verification report from it,
//!   `measure` counts what its records show and `score` turns the counts into the weighted,
//!   explainable traceability score; [`views`] holds those bodies. None of them knows HTTP:
//!   `profile` and `committed` fail with errors of their own, which [`error`] maps to
//!   responses.
//!
//! - Resolver: `routes::resolver` answers GS1 Digital Link paths (`/01/…`, `/00/…`, `/414/…`,
//!   `/417/…`) as a GS1-Conformant resolver: redirects to the link asked for, or the RFC 9264
//!   linkset of what the ledger knows of the identified thing, and `/.well-known/gs1resolver`.
//!
//! - Pages: `pages` renders, with `maud`, the pages people read in Chinese or English (a
//!   product's page, what a scanned QR code opens; a model's page), served by `routes::pages`;
//!   each is one self-contained document under a policy that loads nothing.
//!
//! - Proofs: the `/v1/proofs` routes build proof bundles and consistency proofs
//!   ([`suyuan_proofs::bundle`]) at the latest finalized height, and check them before they
//!   answer.
//!
//! The endpoints and error codes are documented for integrators in `docs/api.md`.

mod committed;
mod connections;
mod endpoints;
pub mod error;
mod extract;
mod html;
mod measure;
pub mod metrics;
pub mod openapi;
mod pages;
mod profile;
pub mod raw;
pub mod read_only;
mod reads;
mod report;
mod router;
mod routes;
pub mod schemas;
mod score;
mod server;
mod state;
pub mod types;
pub mod views;

pub use endpoints::ServedRoute;
pub use error::ApiError;
pub use router::{router, serve, served_routes};
pub use routes::resolver::check_public_url;
pub use state::{ApiLimits, ApiState, BoxFuture, LimitsError, Node};
