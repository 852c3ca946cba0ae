//! Add routes to the router while recording each, so that what the router serves can be
//! listed: the API's tests check the OpenAPI document against that list.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{get, post};

use crate::state::RouterState;

/// A route the router serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServedRoute {
    /// The HTTP method, lower case as OpenAPI writes it: `get`, `post`.
    pub method: &'static str,
    /// The path template, `/v1/blocks/{height}`.
    pub path: &'static str,
}

/// A router being built, and the routes added so far. The only way to add a route to the
/// API, so none escapes the list.
pub(crate) struct Endpoints {
    router: Router<RouterState>,
    served: Vec<ServedRoute>,
}

impl Endpoints {
    /// No routes yet.
    pub(crate) fn new() -> Endpoints {
        Endpoints {
            router: Router::new(),
            served: Vec::new(),
        }
    }

    /// Serves `GET path` with `handler`.
    pub(crate) fn get<H, T>(mut self, path: &'static str, handler: H) -> Endpoints
    where
        H: Handler<T, RouterState>,
        T: 'static,
    {
        self.router = self.router.route(path, get(handler));
        self.served.push(ServedRoute {
            method: "get",
            path,
        });
        self
    }

    /// Serves `POST path` with `handler`.
    pub(crate) fn post<H, T>(mut self, path: &'static str, handler: H) -> Endpoints
    where
        H: Handler<T, RouterState>,
        T: 'static,
    {
        self.router = self.router.route(path, post(handler));
        self.served.push(ServedRoute {
            method: "post",
            path,
        });
        self
    }

    /// The router, and every route it serves.
    pub(crate) fn into_parts(self) -> (Router<RouterState>, Vec<ServedRoute>) {
        (self.router, self.served)
    }
}
