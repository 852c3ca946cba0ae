//! Run validators on loopback sockets and check what reaches whom.
//!
//! Each test builds its own genesis on free ports of 127.0.0.1 and starts real swarms in one
//! runtime; names say the topology and the fault.

use std::time::{Duration, Instant};

use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::genesis::{Genesis, Validator};
use tokio::sync::mpsc;

use libp2p::gossipsub::MessageId;

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
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let _ = stranger.handle.publish_transaction(b"spam".to_vec()).await;
        stranger
            .handle
            .send_consensus(None, &b"vote"[..])
            .await
            .unwrap();
        let _ = stranger.handle.request_blocks(0, 0, 1).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused: u64 = nodes
        .iter()
        .map(|n| n.handle.counters().connections_refused)
        .sum();
    assert!(refused > 0, "the stranger's dials were refused");
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
