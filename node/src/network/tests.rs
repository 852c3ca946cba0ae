//! Run validators on loopback sockets and check what reaches whom.
//!
//! Each test builds its own genesis on free ports of 127.0.0.1 and starts real swarms in one
//! runtime; names say the topology and the fault.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libp2p::gossipsub::MessageId;
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::genesis::{Genesis, Validator};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::identity::libp2p_keypair;
use super::*;

/// Longest wait for anything the network should do promptly on loopback.
const PROMPT: Duration = Duration::from_secs(10);

/// How long to watch for events that must not come.
const QUIET: Duration = Duration::from_millis(1500);

struct Node {
    handle: NetworkHandle,
    events: mpsc::Receiver<NetworkEvent>,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("bound").port()
}

fn validator(key: &KeyPair, index: usize) -> Validator {
    Validator {
        name: format!("validator {index}").parse().expect("short"),
        public_key: key.public(),
        p2p_address: format!("/ip4/127.0.0.1/tcp/{}", free_port())
            .parse()
            .expect("short"),
        api_url: None,
    }
}

/// `n` validator keys and a genesis naming them on free loopback ports.
fn consortium(label: &str, n: usize) -> (Genesis, Vec<KeyPair>) {
    let keys: Vec<KeyPair> = (0..n)
        .map(|i| KeyPair::insecure_from_label(&format!("{label} {i}")))
        .collect();
    let genesis = Genesis {
        chain_id: "network-test".into(),
        genesis_time_ms: 0,
        validators: keys
            .iter()
            .enumerate()
            .map(|(i, k)| validator(k, i))
            .collect(),
        registrars: Vec::new(),
        regulators: Vec::new(),
        score_weights: None,
        time_windows: None,
        catalogue: None,
        accreditation_required: None,
    };
    genesis.check().expect("a valid genesis");
    (genesis, keys)
}

fn config(seed: u64) -> NetworkConfig {
    NetworkConfig {
        redial_initial: Duration::from_millis(100),
        redial_max: Duration::from_secs(1),
        jitter_seed: Some(seed),
        ..NetworkConfig::default()
    }
}

fn start(genesis: &Genesis, key: &KeyPair, seed: u64) -> Node {
    let (handle, events) = Network::start(config(seed), genesis, key).expect("network starts");
    Node { handle, events }
}

/// Starts every validator and waits until each is connected to all the others.
async fn full_mesh(label: &str, n: usize) -> (Genesis, Vec<KeyPair>, Vec<Node>) {
    let (genesis, keys) = consortium(label, n);
    let nodes: Vec<Node> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| start(&genesis, key, i as u64))
        .collect();
    for node in &nodes {
        wait_connected(node, n - 1).await;
    }
    (genesis, keys, nodes)
}

async fn wait_connected(node: &Node, count: usize) {
    let deadline = Instant::now() + PROMPT;
    while node.handle.connected_peers().await.expect("running").len() != count {
        assert!(
            Instant::now() < deadline,
            "{count} peers not connected in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The first event `pick` accepts; events it passes over are dropped.
async fn expect_event<T>(node: &mut Node, mut pick: impl FnMut(NetworkEvent) -> Option<T>) -> T {
    let wait = async {
        loop {
            let event = node.events.recv().await.expect("the network runs");
            if let Some(found) = pick(event) {
                return found;
            }
        }
    };
    tokio::time::timeout(PROMPT, wait)
        .await
        .expect("event in time")
}

/// Waits [`QUIET`], then returns the data events (anything but peers up and down) that reached
/// any of `nodes` meanwhile.
async fn data_events_within_quiet(nodes: &mut [Node]) -> Vec<NetworkEvent> {
    tokio::time::sleep(QUIET).await;
    let mut found = Vec::new();
    for node in nodes {
        while let Ok(event) = node.events.try_recv() {
            if !matches!(
                event,
                NetworkEvent::PeerConnected(_) | NetworkEvent::PeerDisconnected(_)
            ) {
                found.push(event);
            }
        }
    }
    found
}

/// Publishes once some peer has subscribed (subscriptions follow the connections by a moment).
async fn publish(node: &Node, data: &[u8]) -> MessageId {
    let deadline = Instant::now() + PROMPT;
    loop {
        match node.handle.publish_transaction(data.to_vec()).await {
            Ok(id) => return id,
            Err(NetworkError::Publish(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(error) => panic!("publish failed: {error}"),
        }
    }
}

#[tokio::test]
async fn n4_gossiped_transaction_reaches_every_validator_exactly_once() {
    let (_, _, mut nodes) = full_mesh("gossip", 4).await;
    let data = vec![0xab; MAX_TRANSACTION_BYTES];
    let id = publish(&nodes[0], &data).await;
    assert_eq!(id, gossip_message_id(&data), "ids are content hashes");
    for node in &mut nodes[1..] {
        let (got, author, via, bytes) = expect_event(node, |e| match e {
            NetworkEvent::Transaction {
                id,
                author,
                via,
                data,
            } => Some((id, author, via, data)),
            _ => None,
        })
        .await;
        assert_eq!(
            (got.clone(), author.index, bytes.len()),
            (id.clone(), 0, data.len())
        );
        node.handle
            .report_validation(got, via.peer_id, GossipVerdict::Accept)
            .await
            .unwrap();
    }
    let again = nodes[2].handle.publish_transaction(data.clone()).await;
    assert!(
        matches!(again, Err(NetworkError::Publish(_))),
        "a content id seen already is a duplicate, whoever publishes it"
    );
    assert!(data_events_within_quiet(&mut nodes).await.is_empty());
}

#[tokio::test]
async fn n4_consensus_send_to_all_and_to_one_reaches_exactly_them() {
    let (_, _, mut nodes) = full_mesh("consensus", 4).await;
    let vote = vec![7u8; MAX_CONSENSUS_MESSAGE_BYTES];
    nodes[1]
        .handle
        .send_consensus(None, vote.clone())
        .await
        .unwrap();
    for i in [0, 2, 3] {
        let (from, data) = expect_event(&mut nodes[i], |e| match e {
            NetworkEvent::Consensus { from, data } => Some((from, data)),
            _ => None,
        })
        .await;
        assert_eq!((from.index, &data[..]), (1, &vote[..]));
    }
    nodes[1]
        .handle
        .send_consensus(Some(3), &b"to three"[..])
        .await
        .unwrap();
    let data = expect_event(&mut nodes[3], |e| match e {
        NetworkEvent::Consensus { data, .. } => Some(data),
        _ => None,
    })
    .await;
    assert_eq!(&data[..], b"to three");
    assert!(data_events_within_quiet(&mut nodes[..3]).await.is_empty());
    assert_eq!(nodes[1].handle.counters(), NetworkCounters::default());
    let to_self = nodes[1].handle.send_consensus(Some(1), &b"x"[..]).await;
    assert_eq!(to_self, Err(NetworkError::UnknownValidator(1)));
}

#[tokio::test]
async fn n2_block_sync_request_and_response_round_trip() {
    let (_, _, mut nodes) = full_mesh("sync", 2).await;
    let asked = nodes[0].handle.request_blocks(1, 5, 3).await.unwrap();
    let (from, from_height, max_blocks, reply) = expect_event(&mut nodes[1], |e| match e {
        NetworkEvent::BlockRequest {
            from,
            from_height,
            max_blocks,
            reply,
        } => Some((from, from_height, max_blocks, reply)),
        _ => None,
    })
    .await;
    assert_eq!((from.index, from_height, max_blocks), (0, 5, 3));
    let blocks = vec![b"block 5".to_vec(), b"block 6".to_vec()];
    nodes[1]
        .handle
        .respond_blocks(reply, blocks.clone())
        .await
        .unwrap();
    let (from, id, got) = expect_event(&mut nodes[0], |e| match e {
        NetworkEvent::BlockResponse {
            from,
            request_id,
            blocks,
        } => Some((from, request_id, blocks)),
        _ => None,
    })
    .await;
    assert_eq!((from.index, id, got), (1, asked, blocks));
}

#[tokio::test]
async fn n2_a_block_response_settles_when_written_or_when_its_asker_left() {
    let (_, _, mut nodes) = full_mesh("sync delivery", 2).await;
    nodes[0].handle.request_blocks(1, 1, 1).await.unwrap();
    let reply = expect_event(&mut nodes[1], |e| match e {
        NetworkEvent::BlockRequest { reply, .. } => Some(reply),
        _ => None,
    })
    .await;
    // The asker is gone before the answer: the answer settles as not delivered, at once
    // rather than at the request timeout.
    nodes[0].handle.shutdown().await;
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        nodes[1]
            .handle
            .respond_blocks(reply, vec![b"block 1".to_vec()]),
    )
    .await
    .expect("settles long before the request timeout");
    assert!(
        matches!(answer, Err(NetworkError::ResponseNotDelivered(_))),
        "{answer:?}"
    );
}

#[tokio::test]
async fn n2_block_sync_bounds_are_enforced_on_both_ends() {
    let (_, _, mut nodes) = full_mesh("sync bounds", 2).await;
    let too_many = nodes[0]
        .handle
        .request_blocks(1, 0, MAX_SYNC_BLOCKS + 1)
        .await;
    assert!(matches!(too_many, Err(NetworkError::Wire(_))));
    assert_eq!(
        nodes[0].handle.request_blocks(0, 0, 1).await,
        Err(NetworkError::UnknownValidator(0))
    );
    let asked = nodes[0].handle.request_blocks(1, 0, 1).await.unwrap();
    let reply = expect_event(&mut nodes[1], |e| match e {
        NetworkEvent::BlockRequest { reply, .. } => Some(reply),
        _ => None,
    })
    .await;
    let two = vec![b"a".to_vec(), b"b".to_vec()];
    let answer = nodes[1].handle.respond_blocks(reply, two).await;
    assert!(
        matches!(
            answer,
            Err(NetworkError::Wire(WireError::TooManyBlocks { .. }))
        ),
        "more blocks than asked for is refused before sending"
    );
    let (from, id, reason) = expect_event(&mut nodes[0], |e| match e {
        NetworkEvent::BlockRequestFailed {
            from,
            request_id,
            reason,
        } => Some((from, request_id, reason)),
        _ => None,
    })
    .await;
    assert_eq!(
        (from.index, id),
        (1, asked),
        "a dropped reply fails the request: {reason}"
    );
}

#[tokio::test]
async fn stranger_with_a_valid_stack_is_refused_and_gets_nothing_through() {
    let (genesis, _, mut nodes) = full_mesh("permissioned", 3).await;
    let stranger_key = KeyPair::insecure_from_label("stranger");
    let mut forged = genesis.clone();
    forged.validators.push(validator(&stranger_key, 3));
    let stranger = start(&forged, &stranger_key, 99);
    let refused = || -> u64 {
        nodes
            .iter()
            .map(|n| n.handle.counters().connections_refused)
            .sum()
    };
    // Three seconds of spam at least; on a loaded machine the stranger's first dial may come
    // later, so go on (at most 20 s) until a refusal is counted.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3)
        || (refused() == 0 && started.elapsed() < Duration::from_secs(20))
    {
        let _ = stranger.handle.publish_transaction(b"spam".to_vec()).await;
        stranger
            .handle
            .send_consensus(None, &b"vote"[..])
            .await
            .unwrap();
        let _ = stranger.handle.request_blocks(0, 0, 1).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused() > 0, "the stranger's dials were refused");
    assert!(data_events_within_quiet(&mut nodes).await.is_empty());
    for node in &nodes {
        let peers = node.handle.connected_peers().await.unwrap();
        assert_eq!(peers.len(), 2, "only the genesis peers are connected");
        assert_eq!(node.handle.counters().strangers_ignored, 0);
    }
}

#[tokio::test]
async fn n4_restarted_validator_is_reconnected_within_bounded_time() {
    let (genesis, keys, mut nodes) = full_mesh("restart", 4).await;
    nodes[2].handle.shutdown().await;
    for i in [0, 1, 3] {
        let gone = expect_event(&mut nodes[i], |e| match e {
            NetworkEvent::PeerDisconnected(peer) => Some(peer),
            _ => None,
        })
        .await;
        assert_eq!(gone.index, 2);
    }
    tokio::time::sleep(Duration::from_secs(2)).await; // several failed redials
    let restarted_at = Instant::now();
    nodes[2] = start(&genesis, &keys[2], 22);
    for i in [0, 1, 3] {
        let back = expect_event(&mut nodes[i], |e| match e {
            NetworkEvent::PeerConnected(peer) => Some(peer),
            _ => None,
        })
        .await;
        assert_eq!(back, nodes[2].handle.local());
    }
    wait_connected(&nodes[2], 3).await;
    let took = restarted_at.elapsed();
    assert!(took < Duration::from_secs(5), "reconnected in {took:?}");
    nodes[0]
        .handle
        .send_consensus(Some(2), &b"welcome back"[..])
        .await
        .unwrap();
    let data = expect_event(&mut nodes[2], |e| match e {
        NetworkEvent::Consensus { data, .. } => Some(data),
        _ => None,
    })
    .await;
    assert_eq!(&data[..], b"welcome back");
}

#[tokio::test]
async fn n2_oversized_messages_are_refused_at_the_handle_and_on_the_wire() {
    let (_, _, mut nodes) = full_mesh("oversized", 2).await;
    let big_tx = nodes[0]
        .handle
        .publish_transaction(vec![0; MAX_TRANSACTION_BYTES + 1])
        .await;
    assert!(matches!(big_tx, Err(NetworkError::TooLarge { .. })));
    let big_vote = vec![0; MAX_CONSENSUS_MESSAGE_BYTES + 1];
    let refused = nodes[0].handle.send_consensus(None, big_vote.clone()).await;
    assert!(matches!(refused, Err(NetworkError::TooLarge { .. })));
    nodes[0].handle.send_consensus_unchecked(1, big_vote).await;
    let deadline = Instant::now() + PROMPT;
    while nodes[0].handle.counters().consensus_send_failed == 0 {
        assert!(Instant::now() < deadline, "the oversized send never failed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(data_events_within_quiet(&mut nodes[1..]).await.is_empty());
}

#[test]
fn a_key_outside_genesis_cannot_start_a_network() {
    let (genesis, _) = consortium("outsider", 1);
    let outsider = KeyPair::insecure_from_label("outsider");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let error = Network::start(NetworkConfig::default(), &genesis, &outsider).unwrap_err();
    assert_eq!(error, NetworkError::NotAValidator(outsider.public()));
}

#[test]
fn peer_ids_derive_from_genesis_keys() {
    let key = KeyPair::insecure_from_label("peer id");
    let from_genesis = peer_id_of(&key.public()).unwrap();
    assert_eq!(from_genesis, libp2p_keypair(&key).public().to_peer_id());
}

/// Distinct gossip batches of `bytes`, numbered from `first`.
fn batch(first: u64, bytes: usize) -> Vec<u8> {
    let mut data = vec![0x5a; bytes];
    data[..8].copy_from_slice(&first.to_be_bytes());
    data
}

/// Publishes, waiting while gossip's send queues are full.
async fn publish_patiently(node: &NetworkHandle, data: Vec<u8>) {
    let deadline = Instant::now() + PROMPT;
    while let Err(error) = node.publish_transaction(data.clone()).await {
        assert!(Instant::now() < deadline, "publish kept failing: {error}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn n3_one_validator_flooding_gossip_loses_only_its_own_events_and_consensus_goes_first() {
    let (_, _, mut nodes) = full_mesh("flood", 3).await;
    // Validator 2 reads nothing for now, like a node executing a large block. Validator 0
    // floods it with gossip, far beyond its share of the queues.
    let batch_bytes = 16 * 1024;
    let flood =
        TRANSACTION_EVENTS_PER_PEER.max(TRANSACTION_EVENT_BYTES_PER_PEER / batch_bytes) + 512;
    let flooder = nodes[0].handle.clone();
    let flooding = tokio::spawn(async move {
        for n in 0..flood as u64 {
            publish_patiently(&flooder, batch(n, batch_bytes)).await;
        }
    });
    let deadline = Instant::now() + PROMPT;
    while nodes[2].handle.events_dropped_by_peer()[0].transactions == 0 {
        assert!(
            Instant::now() < deadline,
            "the flood never filled validator 0's share"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Meanwhile validator 1 sends its consensus messages and a little gossip of its own.
    let votes = 200usize;
    for n in 0..votes {
        let vote = format!("vote {n}").into_bytes();
        nodes[1].handle.send_consensus(Some(2), vote).await.unwrap();
    }
    let honest_gossip = 20u64;
    for n in 0..honest_gossip {
        publish_patiently(&nodes[1].handle, batch(1_000_000 + n, 1024)).await;
    }
    flooding.await.expect("the flood ran");
    tokio::time::sleep(QUIET).await;

    let mut data_events = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout(QUIET, nodes[2].events.recv()).await {
        if matches!(
            event,
            NetworkEvent::Consensus { .. } | NetworkEvent::Transaction { .. }
        ) {
            data_events.push(event);
        }
    }
    let votes_at: Vec<(usize, Vec<u8>)> = data_events
        .iter()
        .enumerate()
        .filter_map(|(at, e)| match e {
            NetworkEvent::Consensus { from, data } if from.index == 1 => Some((at, data.to_vec())),
            _ => None,
        })
        .collect();
    // Direct sends travel on concurrent streams, so they may arrive in any order.
    let mut expected: Vec<Vec<u8>> = (0..votes)
        .map(|n| format!("vote {n}").into_bytes())
        .collect();
    let mut received: Vec<Vec<u8>> = votes_at.iter().map(|(_, v)| v.clone()).collect();
    expected.sort();
    received.sort();
    assert!(
        received == expected,
        "every consensus message of validator 1 arrived once"
    );
    let last_vote = votes_at.last().expect("votes arrived").0;
    let bound = EVENT_CHANNEL_CAPACITY + votes + votes / PRIORITY_EVENTS_BEFORE_GOSSIP + 1;
    assert!(
        last_vote < bound,
        "consensus went ahead of the waiting gossip: the last vote was data event {last_vote}, \
         past {bound}"
    );
    let honest = data_events
        .iter()
        .filter(|e| matches!(e, NetworkEvent::Transaction { author, .. } if author.index == 1))
        .count();
    assert_eq!(
        honest as u64, honest_gossip,
        "validator 1's own gossip all arrived"
    );
    let drops = nodes[2].handle.events_dropped_by_peer();
    assert_eq!(
        drops[1],
        PeerEventDrops::default(),
        "nothing of validator 1 was dropped"
    );
    assert_eq!(drops[0].consensus, 0);
    let flood_arrived = data_events
        .iter()
        .filter(|e| matches!(e, NetworkEvent::Transaction { author, .. } if author.index == 0))
        .count() as u64;
    assert!(drops[0].transactions > 0);
    assert!(
        flood_arrived + drops[0].transactions <= flood as u64,
        "no batch of validator 0 was both delivered and counted as dropped"
    );
    assert_eq!(
        nodes[2].handle.counters().events_dropped,
        drops[0].transactions
    );
}

/// Bytes of a valid multistream-select header, which a slow stranger sends one at a time.
const MULTISTREAM_HEADER: &[u8] = b"\x13/multistream/1.0.0\n";

/// How a stranger's socket behaves while it is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Manner {
    /// Says nothing.
    Silent,
    /// Sends a valid multistream-select header a byte every 300 ms, then nothing.
    Dribbling,
}

/// Connects from `source` to `port` on 127.0.0.1.
async fn connect_from(source: Ipv4Addr, port: u16) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    socket
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
}

/// Behaves as `manner` until the other end closes or resets `stream`; returns how long that
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

/// What a stranger's sockets saw: how long each stayed open before the node closed it.
#[derive(Debug, Default)]
struct Lifetimes {
    closed: Vec<Duration>,
    outlived_patience: usize,
}

/// Keeps `sockets` connections from `source` to `port` open, reopening each after the node
/// closes it, until aborted; records lifetimes in `seen`.
fn besiege(
    source: Ipv4Addr,
    port: u16,
    sockets: usize,
    manner: Manner,
    seen: &Arc<Mutex<Lifetimes>>,
) -> Vec<JoinHandle<()>> {
    (0..sockets)
        .map(|_| {
            let seen = Arc::clone(seen);
            tokio::spawn(async move {
                loop {
                    if let Ok(stream) = connect_from(source, port).await {
                        let held = hold_open(stream, manner, 4 * HANDSHAKE_TIMEOUT).await;
                        let mut seen = seen.lock().unwrap();
                        match held {
                            Some(lifetime) => seen.closed.push(lifetime),
                            None => seen.outlived_patience += 1,
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            })
        })
        .collect()
}

fn p2p_port(genesis: &Genesis, index: usize) -> u16 {
    let address: libp2p::Multiaddr = genesis.validators[index]
        .p2p_address
        .as_str()
        .parse()
        .unwrap();
    address
        .iter()
        .find_map(|part| match part {
            libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
            _ => None,
        })
        .expect("a TCP address")
}

#[tokio::test]
async fn stranger_handshakes_are_bounded_per_address_and_cut_at_the_deadline() {
    let (genesis, _, nodes) = full_mesh("handshake slots", 2).await;
    let port = p2p_port(&genesis, 0);
    let per_address = MAX_PENDING_INCOMING_PER_ADDRESS as usize;
    let silent_source = Ipv4Addr::new(127, 0, 0, 77);
    let mut silent = Vec::new();
    for _ in 0..per_address + 20 {
        silent.push(
            connect_from(silent_source, port)
                .await
                .expect("TCP accepts"),
        );
    }
    let slow = connect_from(Ipv4Addr::new(127, 0, 0, 78), port)
        .await
        .unwrap();
    let patience = HANDSHAKE_TIMEOUT + Duration::from_secs(5);
    let slow = tokio::spawn(hold_open(slow, Manner::Dribbling, patience));
    let held: Vec<JoinHandle<Option<Duration>>> = silent
        .into_iter()
        .map(|s| tokio::spawn(hold_open(s, Manner::Silent, patience)))
        .collect();
    let mut lifetimes = Vec::new();
    for socket in held {
        lifetimes.push(socket.await.unwrap().expect("closed by the deadline"));
    }
    lifetimes.sort();
    let (refused, admitted) = lifetimes.split_at(lifetimes.len() - per_address);
    let early = HANDSHAKE_TIMEOUT / 2;
    assert!(
        refused.iter().all(|t| *t < early),
        "sockets beyond the address's slots are closed at once: {refused:?}"
    );
    let on_time = HANDSHAKE_TIMEOUT - Duration::from_millis(500)..patience;
    assert!(
        admitted.iter().all(|t| on_time.contains(t)),
        "sockets holding a slot are closed at the deadline: {admitted:?}"
    );
    let slow = slow
        .await
        .unwrap()
        .expect("the dribbling socket was closed");
    assert!(
        on_time.contains(&slow),
        "a dribbled handshake is cut at the deadline: {slow:?}"
    );
    // The swarm counts a refusal or failure just after the socket closes.
    let deadline = Instant::now() + PROMPT;
    loop {
        let counters = nodes[0].handle.counters();
        assert!(counters.handshakes_refused <= 20, "{counters:?}");
        if counters.handshakes_refused == 20 && counters.handshakes_failed > per_address as u64 {
            break;
        }
        assert!(Instant::now() < deadline, "not counted: {counters:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(nodes[0].handle.connected_peers().await.unwrap().len(), 1);
}

#[tokio::test]
async fn n3_strangers_holding_every_unreserved_slot_cannot_keep_a_restarted_validator_out() {
    let (genesis, keys, mut nodes) = full_mesh("reserved slots", 3).await;
    let per_address = MAX_PENDING_INCOMING_PER_ADDRESS as usize;
    let addresses = (MAX_PENDING_INCOMING_UNRESERVED as usize).div_ceil(per_address) + 2;
    let seen = Arc::new(Mutex::new(Lifetimes::default()));
    let mut siege = Vec::new();
    for index in 0..3 {
        for a in 0..addresses {
            let source = Ipv4Addr::new(127, 0, 1, a as u8);
            let manner = if a % 2 == 0 {
                Manner::Silent
            } else {
                Manner::Dribbling
            };
            let port = p2p_port(&genesis, index);
            siege.extend(besiege(source, port, per_address + 2, manner, &seen));
        }
    }
    let deadline = Instant::now() + PROMPT;
    while nodes
        .iter()
        .any(|n| n.handle.counters().handshakes_refused == 0)
    {
        assert!(
            Instant::now() < deadline,
            "the strangers never filled the slots"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    nodes[2].handle.shutdown().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let restarted_at = Instant::now();
    nodes[2] = start(&genesis, &keys[2], 22);
    for node in &nodes {
        wait_connected(node, 2).await;
    }
    let took = restarted_at.elapsed();
    assert!(took < PROMPT, "reconnected in {took:?}");
    // The strangers kept at it all along: the restarted node refused them too.
    tokio::time::sleep(HANDSHAKE_TIMEOUT).await;
    assert!(nodes[2].handle.counters().handshakes_refused > 0);
    for task in &siege {
        task.abort();
    }
    let seen = seen.lock().unwrap();
    let longest = seen.closed.iter().max().copied().unwrap_or_default();
    assert_eq!(seen.outlived_patience, 0);
    assert!(
        longest < HANDSHAKE_TIMEOUT + Duration::from_secs(3),
        "every stranger's socket was closed by the deadline; the longest lived {longest:?}"
    );
}
