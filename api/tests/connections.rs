//! The bounds the server puts on connections, below the router: a client that is slow to send
//! its headers is cut off, and connections beyond the limit are closed at once.

mod support;

use std::time::{Duration, Instant};

use support::Server;
use suyuan_api::ApiLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Connects to the server's address.
async fn connect(server: &Server) -> TcpStream {
    TcpStream::connect(server.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server closes the connection or `limit` passes; whether it closed, and
/// what it sent.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (bool, String) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Err(_) => return (false, String::from_utf8_lossy(&received).into()),
            Ok(Ok(0) | Err(_)) => return (true, String::from_utf8_lossy(&received).into()),
            Ok(Ok(read)) => received.extend_from_slice(&buffer[..read]),
        }
    }
}

/// A whole request on a fresh connection answers 200.
async fn healthz_answers(server: &Server) -> bool {
    let mut stream = connect(server).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (_, answer) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    answer.starts_with("HTTP/1.1 200")
}

#[tokio::test]
async fn a_client_slow_to_send_its_headers_is_cut_off() {
    let limits = ApiLimits {
        header_read_timeout: Duration::from_millis(300),
        ..ApiLimits::default()
    };
    let server = Server::start_with("slow-headers", limits, None).await;
    let mut slow = connect(&server).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHo")
        .await
        .unwrap();
    let started = Instant::now();
    let (closed, _) = read_until_closed(&mut slow, Duration::from_secs(5)).await;
    assert!(closed, "the connection is closed");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "not before the timeout: {:?}",
        started.elapsed()
    );
    // Other clients are served meanwhile and after.
    assert!(healthz_answers(&server).await);
}

#[tokio::test]
async fn connections_beyond_the_limit_are_closed_and_room_comes_back() {
    let limits = ApiLimits {
        max_connections: 2,
        ..ApiLimits::default()
    };
    let server = Server::start_with("max-connections", limits, None).await;
    let first = connect(&server).await;
    let mut second = connect(&server).await;
    // The second one is served: both are within the limit.
    second
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(5), second.read(&mut buffer))
        .await
        .expect("an answer within the limit")
        .unwrap();
    assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));

    // A third is closed without an answer.
    let mut third = connect(&server).await;
    let _ = third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await;
    let (closed, answer) = read_until_closed(&mut third, Duration::from_secs(5)).await;
    assert!(closed && answer.is_empty(), "closed unanswered: {answer:?}");

    // Closing one makes room again.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !healthz_answers(&server).await {
        assert!(Instant::now() < deadline, "room came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
