//! Accept connections and serve HTTP/1.1 on them, with bounds that a router cannot give: how
//! many connections are open at once, in all and per client, how long a client may take to
//! send a request's headers, and how long a response may wait for its client to read it.
//!
//! Without the first, each idle or slow client holds a socket and a task forever, and one
//! client can hold them all; without the second, a client that sends one header byte a minute
//! ties a connection up indefinitely (slowloris); without the third, a client that never reads
//! a large answer does (`crate::connections`). The router's own limits (body size, request
//! time, requests in flight) start only once the headers are in.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt as _;

use crate::connections::{PerClient, WriteDeadline};
use crate::state::ApiLimits;

/// How long shutdown waits for in-flight requests before it returns anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

/// A pause after a failed accept (for example when the process is out of file descriptors),
/// so that the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `app` on `listener` until `shutdown` completes; then stops accepting, lets every
/// connection finish its request in flight (for at most [`DRAIN_TIMEOUT`]), and returns. At
/// most `limits.max_connections` are open at once, and `limits.max_connections_per_ip` from
/// one client: a connection beyond either is closed as soon as it is accepted. A client slower
/// than `limits.header_read_timeout` to send a request's headers, or than
/// `limits.write_timeout` to read any of a response, is cut off.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ApiLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let ApiLimits {
        max_connections,
        max_connections_per_ip,
        header_read_timeout,
        write_timeout,
        ..
    } = limits;
    let open = Arc::new(Semaphore::new(max_connections));
    let per_client = PerClient::new(max_connections_per_ip);
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accepting an API connection failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
            tracing::debug!(%peer, max_connections, "API connection refused: too many open");
            drop(stream);
            continue;
        };
        let Some(slot) = per_client.admit(peer.ip()) else {
            tracing::debug!(%peer, max_connections_per_ip, "API connection refused: too many from its client");
            drop(stream);
            continue;
        };
        // Handlers that need the client's address (submissions) read it from the request.
        let service = TowerToHyperService::new(app.clone().map_request(
            move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            },
        ));
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            let stream = WriteDeadline::new(stream, write_timeout);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                // The only change ever sent is the stop.
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = ended {
                // A client that stopped reading, sent bad HTTP or was too slow: its own doing.
                tracing::debug!(%peer, %error, "API connection closed on an error");
            }
            drop(slot);
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a permit until it ends: all of them back means all have ended.
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, open.acquire_many(all)).await;
    Ok(())
}
