//! A stranger besieging the p2p ports of four `suyuan run` processes with sockets that never
//! finish their handshake, while one validator restarts.
//!
//! The stranger is this test: from 25 loopback addresses that are no validator's, it keeps 200
//! TCP connections open to every validator's p2p port, half of them silent and half sending a
//! valid multistream-select header a byte at a time, reopens each one as soon as a validator
//! closes it, and knocks again every 50 ms on a port nobody listens on, so that a restarted
//! validator is besieged from its first moment. What must hold: the validators stay connected to each other; the
//! restarted one is connected to all the others again within 10 s of coming back, and the
//! chain finalizes new blocks on every node; and no stranger's socket stays open much longer
//! than the handshake deadline.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use suyuan_node::network::{
    HANDSHAKE_TIMEOUT, MAX_PENDING_INCOMING_PER_ADDRESS, MAX_PENDING_INCOMING_UNRESERVED,
};
use suyuan_tests::{Testnet, http_get};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

/// Addresses the stranger connects from: 127.0.0.77 and 127.0.2.1 to 127.0.2.24, none of them a
/// validator's (the testnet's validators are all on 127.0.0.1).
fn stranger_addresses() -> Vec<Ipv4Addr> {
    let mut addresses = vec![Ipv4Addr::new(127, 0, 0, 77)];
    addresses.extend((1..STRANGER_ADDRESSES as u8).map(|i| Ipv4Addr::new(127, 0, 2, i)));
    addresses
}

/// Silent and dribbling sockets each stranger address keeps open to each validator: together
/// more than the handshake slots one address may hold, and, over all addresses, more than all
/// the unreserved slots. 800 sockets in all stay below the usual limit of 1,024 open files.
const SOCKETS_PER_ADDRESS_AND_MANNER: usize = 4;

/// How many addresses [`stranger_addresses`] gives.
const STRANGER_ADDRESSES: usize = 25;

const _: () =
    assert!(2 * SOCKETS_PER_ADDRESS_AND_MANNER > MAX_PENDING_INCOMING_PER_ADDRESS as usize);
const _: () = assert!(
    STRANGER_ADDRESSES * MAX_PENDING_INCOMING_PER_ADDRESS as usize
        > MAX_PENDING_INCOMING_UNRESERVED as usize
);

/// How long the stranger waits after a validator closes a socket before opening it again: a
/// real attacker would not wait at all; this keeps the test from burning the machine's CPU.
const REOPEN_DELAY: Duration = Duration::from_millis(250);

/// How long the stranger waits after a refused connect (the validator is down) to try again.
const RETRY_DELAY: Duration = Duration::from_millis(50);

/// The bound on how long the restarted validator may take to rejoin.
const REJOIN_BOUND: Duration = Duration::from_secs(10);

/// How long nodes may take to start, finalize or catch up on a loaded machine.
const GENEROUS: Duration = Duration::from_secs(90);

/// Slack over [`HANDSHAKE_TIMEOUT`] for a validator to close a socket on a loaded machine.
const CLOSE_SLACK: Duration = Duration::from_secs(3);

/// Bound on one HTTP request to a node.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a condition is polled.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// A valid multistream-select header, which the slow sockets send a byte at a time.
const MULTISTREAM_HEADER: &[u8] = b"\x13/multistream/1.0.0\n";

/// How one of the stranger's sockets behaves while it is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Manner {
    Silent,
    /// A byte of [`MULTISTREAM_HEADER`] every 300 ms, then silence.
    Dribbling,
}

/// What the stranger's sockets saw.
#[derive(Debug, Default)]
struct Siege {
    /// Connections the validators accepted.
    opened: u64,
    /// When each socket open now was opened, by task.
    open_since: Vec<Option<Instant>>,
    /// The longest any socket stayed open before its validator closed or reset it.
    longest: Duration,
    /// Sockets still open after four times the deadline (there must be none).
    outlived_patience: u64,
}

impl Siege {
    /// The longest any socket has been open, closed ones and those open now.
    fn longest_open(&self) -> Duration {
        let now = Instant::now();
        self.open_since
            .iter()
            .flatten()
            .map(|since| now - *since)
            .fold(self.longest, Duration::max)
    }
}

#[test]
fn n4_stranger_holding_silent_and_slow_handshakes_cannot_keep_a_restarted_validator_out() {
    let testnet = Testnet::init("siege", 4, 0);
    testnet.start(&[]);
    wait_until("all validators connected", GENEROUS, || {
        (0..4).all(|node| connected_peers(&testnet, node) == Some(3))
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let siege = Arc::new(Mutex::new(Siege::default()));
    let mut tasks = Vec::new();
    for node in 0..4 {
        let port = testnet.p2p_port(node);
        for source in stranger_addresses() {
            for manner in [Manner::Silent, Manner::Dribbling] {
                for _ in 0..SOCKETS_PER_ADDRESS_AND_MANNER {
                    let socket = Socket {
                        source,
                        port,
                        manner,
                        slot: tasks.len(),
                    };
                    siege.lock().unwrap().open_since.push(None);
                    tasks.push(runtime.spawn(hold_socket(socket, Arc::clone(&siege))));
                }
            }
        }
    }
    // Let the siege settle: every slot a stranger can hold is held, the rest refused.
    std::thread::sleep(HANDSHAKE_TIMEOUT + Duration::from_secs(1));
    for node in 0..4 {
        assert_eq!(
            connected_peers(&testnet, node),
            Some(3),
            "validator {node} lost a peer to the siege"
        );
    }

    // Operators see the siege in /metrics.
    for node in 0..4 {
        let cut = testnet
            .metric(node, "suyuan_network_handshakes_failed_total")
            .expect("metrics");
        let refused = testnet
            .metric(node, "suyuan_network_handshakes_refused_total")
            .expect("metrics");
        assert!(
            cut > 0.0 && refused > 0.0,
            "validator {node} shows the siege: {cut} handshakes cut, {refused} refused"
        );
    }

    let before = Instant::now();
    testnet.restart(&[2]);
    let restarted = Instant::now();
    wait_until("the restarted validator rejoined", REJOIN_BOUND, || {
        connected_peers(&testnet, 2) == Some(3)
            && [0, 1, 3]
                .iter()
                .all(|&node| peer_connected(&testnet, node, 2) == Some(true))
    });
    eprintln!(
        "validator 2 rejoined {:?} after its API came back ({:?} after the restart began)",
        restarted.elapsed(),
        before.elapsed()
    );

    let heights: Vec<u64> = (0..4)
        .map(|node| height(&testnet, node).expect("answers"))
        .collect();
    let target = heights.iter().max().unwrap() + 3;
    wait_until("every node finalized new blocks", GENEROUS, || {
        (0..4).all(|node| height(&testnet, node).is_some_and(|h| h >= target))
    });

    let longest = siege.lock().unwrap().longest_open();
    for task in &tasks {
        task.abort();
    }
    drop(runtime);
    let siege = siege.lock().unwrap();
    eprintln!(
        "the stranger opened {} connections; the longest lived {longest:?}",
        siege.opened
    );
    assert!(
        siege.opened > 2 * tasks.len() as u64,
        "the stranger kept reopening: {} connections",
        siege.opened
    );
    assert_eq!(
        siege.outlived_patience, 0,
        "a socket outlived four deadlines"
    );
    assert!(
        longest <= HANDSHAKE_TIMEOUT + CLOSE_SLACK,
        "every stranger's socket was closed by the deadline; the longest lived {longest:?}"
    );
}

/// One of the stranger's sockets.
#[derive(Debug, Clone, Copy)]
struct Socket {
    source: Ipv4Addr,
    port: u16,
    manner: Manner,
    /// Its entry in [`Siege::open_since`].
    slot: usize,
}

/// Keeps `socket` open as its manner says, reopening it after the validator closes it, until
/// the task is aborted.
async fn hold_socket(socket: Socket, siege: Arc<Mutex<Siege>>) {
    loop {
        let Ok(stream) = connect_from(socket.source, socket.port).await else {
            tokio::time::sleep(RETRY_DELAY).await;
            continue;
        };
        {
            let mut siege = siege.lock().unwrap();
            siege.opened += 1;
            siege.open_since[socket.slot] = Some(Instant::now());
        }
        let held = hold_open(stream, socket.manner, 4 * HANDSHAKE_TIMEOUT).await;
        {
            let mut siege = siege.lock().unwrap();
            siege.open_since[socket.slot] = None;
            match held {
                Some(lifetime) => siege.longest = siege.longest.max(lifetime),
                None => siege.outlived_patience += 1,
            }
        }
        tokio::time::sleep(REOPEN_DELAY).await;
    }
}

/// Connects from `source` to `port` on 127.0.0.1.
async fn connect_from(source: Ipv4Addr, port: u16) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    socket
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
}

/// Behaves as `manner` until the validator closes or resets `stream`; returns how long that
/// took, or `None` if it stayed open longer than `patience`.
async fn hold_open(mut stream: TcpStream, manner: Manner, patience: Duration) -> Option<Duration> {
    let opened = Instant::now();
    let (mut reader, mut writer) = stream.split();
    let mut sent = 0;
    let mut buffer = [0u8; 256];
    let mut drip = tokio::time::interval(Duration::from_millis(300));
    let held = async {
        loop {
            tokio::select! {
                read = reader.read(&mut buffer) => match read {
                    Ok(0) | Err(_) => return opened.elapsed(),
                    Ok(_) => {}
                },
                _ = drip.tick(), if manner == Manner::Dribbling && sent < MULTISTREAM_HEADER.len() => {
                    if writer.write_all(&MULTISTREAM_HEADER[sent..=sent]).await.is_err() {
                        return opened.elapsed();
                    }
                    sent += 1;
                }
            }
        }
    };
    tokio::time::timeout(patience, held).await.ok()
}

/// `node`'s `/v1/status`, or `None` if it does not answer.
fn status(testnet: &Testnet, node: usize) -> Option<Value> {
    let response = http_get(&testnet.api_url(node), "/v1/status", HTTP_TIMEOUT).ok()?;
    (response.status == 200)
        .then(|| serde_json::from_slice(&response.body).ok())
        .flatten()
}

/// How many other validators `node` reports connected.
fn connected_peers(testnet: &Testnet, node: usize) -> Option<usize> {
    let status = status(testnet, node)?;
    let validators = status["validators"].as_array()?;
    Some(
        validators
            .iter()
            .filter(|v| v["is_self"] == false && v["connected"] == true)
            .count(),
    )
}

/// Whether `node` reports validator `peer` connected.
fn peer_connected(testnet: &Testnet, node: usize, peer: usize) -> Option<bool> {
    status(testnet, node)?["validators"][peer]["connected"].as_bool()
}

/// `node`'s committed height.
fn height(testnet: &Testnet, node: usize) -> Option<u64> {
    status(testnet, node)?["height"].as_u64()
}

/// Polls `condition` until it holds; panics after `bound`.
fn wait_until(what: &str, bound: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + bound;
    while !condition() {
        assert!(Instant::now() < deadline, "not within {bound:?}: {what}");
        std::thread::sleep(POLL_INTERVAL);
    }
}
