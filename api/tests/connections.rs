//! The bounds the server puts on connections, below the router: a client that is slow to send
//! its headers, idle on a kept-alive connection, or that never reads its answer is cut off;
//! connections beyond the limit, in all or from one client, are closed at once.

mod support;

use std::time::{Duration, Instant};

use support::{COMMITTED_BLOCKS, Server};
use suyuan_api::ApiLimits;
use suyuan_ledger::demo::Demo;
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::limits::MAX_LIST_ENTRIES;
use suyuan_ledger::record::{Inspection, Outcome, Record, Subject, TraceCode};
use suyuan_ledger::tx::{Envelope, Payload};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The server's address.
fn address(server: &Server) -> std::net::SocketAddr {
    server.base.trim_start_matches("http://").parse().unwrap()
}

/// Connects to the server's address.
async fn connect(server: &Server) -> TcpStream {
    TcpStream::connect(address(server)).await.unwrap()
}

/// Connects to the server from the loopback address `from`: another client.
async fn connect_from(server: &Server, from: [u8; 4]) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind((std::net::Ipv4Addr::from(from), 0).into())
        .unwrap();
    socket.connect(address(server)).await.unwrap()
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

#[tokio::test]
async fn connections_beyond_the_per_client_limit_are_closed_and_other_clients_are_served() {
    let limits = ApiLimits {
        max_connections_per_ip: 2,
        ..ApiLimits::default()
    };
    let server = Server::start_with("per-client", limits, None).await;
    let _first = connect(&server).await;
    let _second = connect(&server).await;
    // A third from the same address is closed unanswered.
    let mut third = connect(&server).await;
    let _ = third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await;
    let (closed, answer) = read_until_closed(&mut third, Duration::from_secs(5)).await;
    assert!(closed && answer.is_empty(), "closed unanswered: {answer:?}");
    // Another client is served meanwhile.
    let mut other = connect_from(&server, [127, 0, 0, 2]).await;
    other
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (_, answer) = read_until_closed(&mut other, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_header_timeout() {
    let limits = ApiLimits {
        header_read_timeout: Duration::from_millis(300),
        ..ApiLimits::default()
    };
    let server = Server::start_with("idle-keep-alive", limits, None).await;
    let mut idle = connect(&server).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    // The answer comes, then nothing is sent: the server closes the connection.
    let (closed, answer) = read_until_closed(&mut idle, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(closed, "the idle connection is closed");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "not before the timeout: {:?}",
        started.elapsed()
    );
}

/// Inspections of the cable lot of about 18 KB each, enough for a history page of over 8 MB
/// of JSON: more than the socket buffers of both ends hold.
fn big_inspections(chain: &support::Chain) -> Vec<Envelope> {
    (0..200u64)
        .map(|index| {
            let standards = (0..MAX_LIST_ENTRIES)
                .map(|n| {
                    let name = format!("GB/T {index}.{n}-2026 ");
                    format!("{name:x<250}").parse().unwrap()
                })
                .collect();
            let record = Record::Inspect(Inspection {
                subject: Subject::Code(cable_lot()),
                outcome: Outcome::Conformant,
                standards,
                inspected_on: "2026-01-02".parse().unwrap(),
                report_number: format!("BIG-{index}").parse().unwrap(),
                document_sha256: Hash32([3; 32]),
                findings: Some("y".repeat(2_000).parse().unwrap()),
                accreditation: None,
            });
            let payload = Payload {
                nonce: 1_000 + index,
                record,
                event: None,
            };
            Envelope::sign(chain.binding(), &payload, &chain.demo.bureau)
        })
        .collect()
}

/// The demo story's cable lot.
fn cable_lot() -> TraceCode {
    TraceCode::Lot {
        gtin: Demo::cable_gtin(),
        lot: "C2601A".parse().unwrap(),
    }
}

#[tokio::test]
async fn a_client_that_never_reads_a_large_answer_is_cut_off_and_its_slot_freed() {
    let chain = support::Chain::new("never-reads");
    chain.commit(COMMITTED_BLOCKS + 1, big_inspections(&chain));
    let limits = ApiLimits {
        write_timeout: Duration::from_millis(500),
        max_connections_per_ip: 1,
        ..ApiLimits::default()
    };
    let server = Server::serve(chain, limits, None).await;
    let lot = support::encode(&format!("01/{}/10/C2601A", Demo::cable_gtin()));
    let path = format!("/v1/products/{lot}?limit=1000");

    // A client with a small receive buffer asks for the whole history and reads nothing.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(address(&server)).await.unwrap();
    stalled
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let asked = Instant::now();

    // While it holds its client's one slot, that client cannot connect again...
    let mut again = connect(&server).await;
    let _ = again
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await;
    let (closed, answer) = read_until_closed(&mut again, Duration::from_secs(5)).await;
    assert!(closed && answer.is_empty(), "the slot is held: {answer:?}");
    // ...and the deadline frees it: the same client is served again.
    let freed = loop {
        if healthz_answers(&server).await {
            break asked.elapsed();
        }
        assert!(
            asked.elapsed() < Duration::from_secs(20),
            "the stalled connection still holds its slot"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        freed >= Duration::from_millis(400),
        "not before the deadline: {freed:?}"
    );

    // What the stalled client finally reads is a cut-off answer.
    let mut received = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stalled.read_to_end(&mut received))
        .await
        .expect("the server closed the connection");
    let head = String::from_utf8_lossy(&received[..received.len().min(4096)]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length: "))
        .expect("a length")
        .trim()
        .parse()
        .unwrap();
    assert!(length > 5_000_000, "the answer is large: {length} bytes");
    assert!(
        received.len() < length,
        "cut off: {} of {length} bytes",
        received.len()
    );
    eprintln!(
        "a {length}-byte answer, {} bytes taken by the client; its slot was freed {freed:?} \
         after the request",
        received.len()
    );
}
