//! Bound what one client's connections can hold: how many it may have open, and how long a
//! response may wait for it to read.
//!
//! The server ([`crate::server`]) admits each accepted connection through [`PerClient`] and
//! wraps its stream in [`WriteDeadline`]:
//!
//! - Without a bound per client, one address could take every one of the server's connections
//!   and leave none for anyone else. A client is an IPv4 address, or an IPv6 /64 network (one
//!   host commonly holds a whole /64, so counting its addresses one by one would bound
//!   nothing).
//! - Without a write deadline, a client that asks for a large answer and never reads it keeps
//!   the connection, and its slot, forever: the response waits in a full socket buffer.
//!   [`WriteDeadline`] fails a write that has made no progress for the timeout, and hyper then
//!   closes the connection. A client that reads slowly but steadily is not cut off.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Connections open per client, for the per-client bound.
#[derive(Debug)]
pub(crate) struct PerClient {
    limit: usize,
    /// Open connections by client; a client is removed when its last connection ends, so it
    /// holds no more entries than there are connections open. Held only to count.
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl PerClient {
    /// At most `limit` connections per client.
    pub(crate) fn new(limit: usize) -> Arc<PerClient> {
        Arc::new(PerClient {
            limit,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for a connection from `address`, held until the connection ends; None if its
    /// client already holds `limit`.
    pub(crate) fn admit(self: &Arc<Self>, address: IpAddr) -> Option<ClientSlot> {
        let client = client_of(address);
        let mut open = self.lock();
        let count = open.entry(client).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            table: Arc::clone(self),
            client,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        // Nothing panics while counting; a poisoned table is still a valid table.
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One open connection of a client; dropping it gives the slot back.
#[derive(Debug)]
pub(crate) struct ClientSlot {
    table: Arc<PerClient>,
    client: IpAddr,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.table.lock();
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// The client an address belongs to: an IPv4 address (an IPv4-mapped IPv6 address is the IPv4
/// address), or the /64 network of an IPv6 address.
fn client_of(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(network))
            }
        },
    }
}

/// A stream whose writes fail with [`io::ErrorKind::TimedOut`] once one has waited `timeout`
/// without the peer taking a byte. Reads pass through.
#[derive(Debug)]
pub(crate) struct WriteDeadline<S> {
    inner: S,
    timeout: Duration,
    /// Running while a write waits; None while writes go through.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> WriteDeadline<S> {
    /// `inner`, its writes bounded by `timeout`.
    pub(crate) fn new(inner: S, timeout: Duration) -> WriteDeadline<S> {
        WriteDeadline {
            inner,
            timeout,
            stalled: None,
        }
    }

    /// Passes a finished write through and forgets any stall; starts the deadline when the
    /// write must wait, and fails it once the deadline has passed.
    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let timeout = self.timeout;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(Instant::now() + timeout)));
        match stalled.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the client read nothing of the response for {} ms",
                    timeout.as_millis()
                ),
            ))),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.watch(cx, polled)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[test]
    fn a_client_is_an_ipv4_address_or_an_ipv6_network() {
        let parse = |text: &str| text.parse::<IpAddr>().unwrap();
        assert_eq!(client_of(parse("10.0.0.7")), parse("10.0.0.7"));
        assert_eq!(client_of(parse("::ffff:10.0.0.7")), parse("10.0.0.7"));
        assert_eq!(
            client_of(parse("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            parse("2001:db8:1:2::")
        );
        let table = PerClient::new(2);
        let first = table.admit(parse("2001:db8:1:2::1")).unwrap();
        let _second = table.admit(parse("2001:db8:1:2::2")).unwrap();
        assert!(table.admit(parse("2001:db8:1:2::3")).is_none(), "same /64");
        assert!(
            table.admit(parse("2001:db8:1:3::1")).is_some(),
            "another /64"
        );
        drop(first);
        assert!(
            table.admit(parse("2001:db8:1:2::4")).is_some(),
            "room came back"
        );
    }

    #[test]
    fn slots_come_back_and_clients_leave_the_table() {
        let table = PerClient::new(1);
        let address = "127.0.0.9".parse().unwrap();
        let slot = table.admit(address).unwrap();
        assert!(table.admit(address).is_none());
        drop(slot);
        assert!(table.lock().is_empty());
        assert!(table.admit(address).is_some());
    }

    #[tokio::test]
    async fn a_write_the_peer_never_takes_fails_after_the_timeout_and_a_slow_one_does_not() {
        // A pipe with a 1 KiB buffer that nobody reads: the second write waits forever.
        let (ours, _theirs) = tokio::io::duplex(1024);
        let mut stream = WriteDeadline::new(ours, Duration::from_millis(200));
        stream.write_all(&[1; 1024]).await.unwrap();
        let started = std::time::Instant::now();
        let error = stream.write_all(&[2; 10]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(150));

        // A reader that takes 1 KiB every 100 ms keeps a 4 KiB write going past the timeout.
        let (ours, mut theirs_slow) = tokio::io::duplex(1024);
        let mut stream = WriteDeadline::new(ours, Duration::from_millis(300));
        let reader = tokio::spawn(async move {
            let mut total = 0;
            let mut buffer = [0; 1024];
            while total < 4096 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                total += theirs_slow.read(&mut buffer).await.unwrap();
            }
        });
        stream.write_all(&[3; 4096]).await.unwrap();
        reader.await.unwrap();
    }
}
