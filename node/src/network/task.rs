//! Run the swarm: turn handle commands into libp2p calls and libp2p events into node events.
//!
//! One task owns the swarm and every piece of network state; nothing here blocks or awaits
//! except the loop's `select!`, so a slow node never stalls connections (its events wait in the
//! [`EventSink`]'s per-validator queues, or are dropped from them, instead).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use libp2p::futures::StreamExt as _;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageId};
use libp2p::request_response::{self, InboundRequestId, Message, OutboundRequestId};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{DialError, ListenError, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, ping};
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use tokio::sync::{mpsc, oneshot};
use tokio::time::MissedTickBehavior;

use super::behaviour::{Behaviour, BehaviourEvent};
use super::codec::SyncRequestId;
use super::codec::{BlocksRequest, SyncBudget};
use super::config::NetworkConfig;
use super::error::NetworkError;
use super::events::{BlockReply, EventSink, NetworkEvent};
use super::handle::{Command, Counters, GossipVerdict};
use super::handshakes::NoHandshakeSlot;
use super::limits::{MAX_SYNC_REQUESTS_IN_FLIGHT, REDIAL_TICK};
use super::outbox::Outbox;
use super::peers::{Backoff, DialSchedule, ValidatorPeer, Validators};

/// The swarm and all state around it. Build it, [`SwarmTask::listen`], then spawn
/// [`SwarmTask::run`].
pub(super) struct SwarmTask {
    swarm: Swarm<Behaviour>,
    validators: Validators,
    schedule: DialSchedule,
    outboxes: Vec<Outbox>,
    consensus_in_flight: HashMap<OutboundRequestId, usize>,
    sync_in_flight: HashMap<OutboundRequestId, (usize, u32)>,
    /// Block responses handed to libp2p and not yet written, each with whom to tell.
    responses_in_flight: HashMap<InboundRequestId, oneshot::Sender<Result<(), NetworkError>>>,
    commands: mpsc::Receiver<Command>,
    events: EventSink,
    counters: Arc<Counters>,
    topic: IdentTopic,
    rng: StdRng,
}

impl SwarmTask {
    pub(super) fn new(
        swarm: Swarm<Behaviour>,
        config: &NetworkConfig,
        validators: Validators,
        commands: mpsc::Receiver<Command>,
        events: EventSink,
        counters: Arc<Counters>,
        topic: IdentTopic,
    ) -> Self {
        let backoff = Backoff::new(config.redial_initial, config.redial_max);
        let others = validators.others().map(|p| p.index);
        let schedule = DialSchedule::new(others, Instant::now(), &backoff);
        let rng = match config.jitter_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_entropy(),
        };
        SwarmTask {
            outboxes: (0..validators.len()).map(|_| Outbox::default()).collect(),
            swarm,
            validators,
            schedule,
            consensus_in_flight: HashMap::new(),
            sync_in_flight: HashMap::new(),
            responses_in_flight: HashMap::new(),
            commands,
            events,
            counters,
            topic,
            rng,
        }
    }

    /// Binds the listener now, so that a taken port is an error of `start`.
    pub(super) fn listen(&mut self, address: Multiaddr) -> Result<(), NetworkError> {
        self.swarm
            .listen_on(address)
            .map_err(|e| NetworkError::Transport(format!("listening: {e}")))?;
        Ok(())
    }

    /// Runs until shutdown, until every handle is dropped, or until the event receiver is.
    pub(super) async fn run(mut self) {
        let mut redial = tokio::time::interval(REDIAL_TICK);
        redial.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown { done }) => {
                        drop(self);
                        let _ = done.send(());
                        return;
                    }
                    Some(command) => self.on_command(command),
                    None => return,
                },
                _ = redial.tick() => self.dial_due(),
                () = self.events.flush_one(), if self.events.has_backlog() => {}
            }
            if self.events.is_closed() {
                return;
            }
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish { data, done } => {
                let _ = done.send(self.publish(data));
            }
            Command::ReportValidation { id, via, verdict } => {
                let verdict = match verdict {
                    GossipVerdict::Accept => MessageAcceptance::Accept,
                    GossipVerdict::Reject => MessageAcceptance::Reject,
                    GossipVerdict::Ignore => MessageAcceptance::Ignore,
                };
                self.report(&id, &via, verdict);
            }
            Command::SendConsensus { to, data } => self.send_consensus(to, data),
            Command::RequestBlocks {
                peer,
                request,
                done,
            } => {
                let _ = done.send(self.request_blocks(peer, request));
            }
            Command::RespondBlocks {
                reply,
                blocks,
                delivered,
            } => self.respond_blocks(reply, blocks, delivered),
            #[cfg(test)]
            Command::ConnectedPeers { done } => {
                let _ = done.send(self.connected_peers());
            }
            Command::Shutdown { .. } => unreachable!("run handles shutdown"),
        }
    }

    fn publish(&mut self, data: Vec<u8>) -> Result<MessageId, NetworkError> {
        let topic = self.topic.clone();
        let gossip = &mut self.swarm.behaviour_mut().gossip;
        gossip
            .publish(topic, data)
            .map_err(|e| NetworkError::Publish(e.to_string()))
    }

    fn report(&mut self, id: &MessageId, via: &PeerId, verdict: MessageAcceptance) {
        let gossip = &mut self.swarm.behaviour_mut().gossip;
        gossip.report_message_validation_result(id, via, verdict);
    }

    fn send_consensus(&mut self, to: Option<usize>, data: Arc<[u8]>) {
        let targets: Vec<usize> = match to {
            Some(index) => vec![index],
            None => self.validators.others().map(|p| p.index).collect(),
        };
        for index in targets {
            let dropped = match self.schedule.is_connected(index) {
                true => self.outboxes[index].push(Arc::clone(&data)),
                false => 1,
            };
            self.counters
                .consensus_dropped
                .fetch_add(dropped, Ordering::Relaxed);
            self.pump_consensus(index);
        }
    }

    /// Hands `index`'s queued consensus messages to libp2p, up to the in-flight bound.
    fn pump_consensus(&mut self, index: usize) {
        let Some(peer) = self.validators.at(index) else {
            return;
        };
        while let Some(message) = self.outboxes[index].next_to_send() {
            let consensus = &mut self.swarm.behaviour_mut().consensus;
            let id = consensus.send_request(&peer.peer_id, message);
            self.consensus_in_flight.insert(id, index);
        }
    }

    fn request_blocks(
        &mut self,
        index: usize,
        request: BlocksRequest,
    ) -> Result<SyncRequestId, NetworkError> {
        let peer = self
            .validators
            .at(index)
            .filter(|p| *p != self.validators.local())
            .ok_or(NetworkError::UnknownValidator(index))?;
        if !self.schedule.is_connected(index) {
            return Err(NetworkError::NotConnected(index));
        }
        if self.sync_in_flight.len() >= MAX_SYNC_REQUESTS_IN_FLIGHT {
            return Err(NetworkError::TooManySyncRequests);
        }
        let id = self
            .swarm
            .behaviour_mut()
            .sync
            .send_request(&peer.peer_id, request);
        self.sync_in_flight.insert(id, (index, request.max_blocks));
        Ok(id)
    }

    /// Hands a response to libp2p; `delivered` hears when it is written or has failed.
    fn respond_blocks(
        &mut self,
        reply: BlockReply,
        blocks: Vec<Vec<u8>>,
        delivered: oneshot::Sender<Result<(), NetworkError>>,
    ) {
        let sync = &mut self.swarm.behaviour_mut().sync;
        if sync.send_response(reply.channel, blocks).is_err() {
            tracing::debug!("sync response too late: the request timed out or its peer left");
            let _ = delivered.send(Err(NetworkError::ResponseNotDelivered(
                "the request timed out or its peer left".to_owned(),
            )));
            return;
        }
        self.responses_in_flight.insert(reply.request_id, delivered);
    }

    /// A response handed over by [`SwarmTask::respond_blocks`] was written, or failed.
    fn response_done(&mut self, request_id: InboundRequestId, outcome: Result<(), String>) {
        if let Some(delivered) = self.responses_in_flight.remove(&request_id) {
            let _ = delivered.send(outcome.map_err(NetworkError::ResponseNotDelivered));
        }
    }

    #[cfg(test)]
    fn connected_peers(&self) -> Vec<ValidatorPeer> {
        self.validators
            .others()
            .filter(|p| self.schedule.is_connected(p.index))
            .collect()
    }

    fn dial_due(&mut self) {
        let now = Instant::now();
        for index in self.schedule.take_due(now) {
            let peer = self
                .validators
                .at(index)
                .expect("the schedule holds genesis indexes");
            let opts = DialOpts::peer_id(peer.peer_id)
                .addresses(vec![self.validators.address(index).clone()])
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            if let Err(error) = self.swarm.dial(opts) {
                tracing::debug!(validator = index, %error, "dial not started");
                self.schedule.on_dial_failed(index, now, &mut self.rng);
            }
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                ..
            } => self.on_connected(peer_id, num_established.get()),
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                ..
            } => self.on_closed(peer_id, num_established),
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                self.on_dial_error(peer_id, &error)
            }
            SwarmEvent::IncomingConnectionError { error, .. } => self.on_incoming_error(&error),
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "p2p listening");
            }
            _ => {}
        }
    }

    fn on_connected(&mut self, peer_id: PeerId, connections: u32) {
        let Some(peer) = self.known(&peer_id) else {
            let _ = self.swarm.disconnect_peer_id(peer_id);
            return;
        };
        if connections == 1 {
            tracing::info!(validator = peer.index, %peer_id, "validator connected");
            self.schedule.on_connected(peer.index);
            self.emit(NetworkEvent::PeerConnected(peer));
        }
    }

    fn on_closed(&mut self, peer_id: PeerId, remaining: u32) {
        let Some(peer) = self.validators.lookup(&peer_id) else {
            return;
        };
        if remaining > 0 {
            return;
        }
        tracing::info!(validator = peer.index, %peer_id, "validator disconnected");
        self.schedule
            .on_disconnected(peer.index, Instant::now(), &mut self.rng);
        let dropped = self.outboxes[peer.index].clear();
        self.counters
            .consensus_dropped
            .fetch_add(dropped, Ordering::Relaxed);
        self.emit(NetworkEvent::PeerDisconnected(peer));
    }

    fn on_dial_error(&mut self, peer_id: Option<PeerId>, error: &DialError) {
        if matches!(error, DialError::Denied { .. }) {
            self.counters
                .connections_refused
                .fetch_add(1, Ordering::Relaxed);
        }
        let Some(peer) = peer_id.and_then(|p| self.validators.lookup(&p)) else {
            return;
        };
        tracing::debug!(validator = peer.index, %error, "dial failed");
        self.schedule
            .on_dial_failed(peer.index, Instant::now(), &mut self.rng);
    }

    fn on_incoming_error(&mut self, error: &ListenError) {
        let ListenError::Denied { cause } = error else {
            tracing::debug!(%error, "incoming handshake failed");
            self.counters
                .handshakes_failed
                .fetch_add(1, Ordering::Relaxed);
            return;
        };
        tracing::debug!(%cause, "incoming connection refused");
        self.counters
            .connections_refused
            .fetch_add(1, Ordering::Relaxed);
        if cause.downcast_ref::<NoHandshakeSlot>().is_some() {
            self.counters
                .handshakes_refused
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Gossip(event) => self.on_gossip(event),
            BehaviourEvent::Consensus(event) => self.on_consensus(event),
            BehaviourEvent::Sync(event) => self.on_sync(event),
            BehaviourEvent::Ping(event) => self.on_ping(event),
            BehaviourEvent::Allowed(never) => match never {},
            BehaviourEvent::Handshakes(never) => match never {},
            BehaviourEvent::Limits(never) => match never {},
        }
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        let gossipsub::Event::Message {
            propagation_source,
            message_id,
            message,
        } = event
        else {
            return;
        };
        let author = message.source.and_then(|p| self.validators.lookup(&p));
        let (Some(via), Some(author)) = (self.known(&propagation_source), author) else {
            self.report(&message_id, &propagation_source, MessageAcceptance::Reject);
            return;
        };
        let event = NetworkEvent::Transaction {
            id: message_id,
            author,
            via,
            data: message.data,
        };
        self.emit(event);
    }

    fn on_consensus(&mut self, event: request_response::Event<Arc<[u8]>, ()>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                Message::Request {
                    request, channel, ..
                } => {
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .consensus
                        .send_response(channel, ());
                    if let Some(from) = self.known(&peer) {
                        let data = request;
                        self.emit(NetworkEvent::Consensus { from, data });
                    }
                }
                Message::Response { request_id, .. } => self.consensus_done(request_id),
            },
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                tracing::debug!(%error, "consensus send failed");
                self.counters
                    .consensus_send_failed
                    .fetch_add(1, Ordering::Relaxed);
                self.consensus_done(request_id);
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound consensus message failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn consensus_done(&mut self, request_id: OutboundRequestId) {
        if let Some(index) = self.consensus_in_flight.remove(&request_id) {
            self.outboxes[index].on_done();
            self.pump_consensus(index);
        }
    }

    fn on_sync(&mut self, event: request_response::Event<BlocksRequest, Vec<Vec<u8>>>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                Message::Request {
                    request_id,
                    request,
                    channel,
                } => self.on_block_request(peer, request_id, request, channel),
                Message::Response {
                    request_id,
                    response,
                } => self.on_blocks(request_id, Ok(response)),
            },
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => self.on_blocks(request_id, Err(error.to_string())),
            request_response::Event::InboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                tracing::debug!(%peer, %error, "inbound sync request failed");
                self.response_done(request_id, Err(error.to_string()));
            }
            request_response::Event::ResponseSent { request_id, .. } => {
                self.response_done(request_id, Ok(()));
            }
        }
    }

    fn on_block_request(
        &mut self,
        peer: PeerId,
        request_id: InboundRequestId,
        request: BlocksRequest,
        channel: request_response::ResponseChannel<Vec<Vec<u8>>>,
    ) {
        let Some(from) = self.known(&peer) else {
            return;
        };
        let reply = BlockReply {
            request_id,
            channel,
            max_blocks: request.max_blocks,
        };
        self.emit(NetworkEvent::BlockRequest {
            from,
            from_height: request.from_height,
            max_blocks: request.max_blocks,
            reply,
        });
    }

    fn on_blocks(&mut self, request_id: OutboundRequestId, result: Result<Vec<Vec<u8>>, String>) {
        let Some((index, max_blocks)) = self.sync_in_flight.remove(&request_id) else {
            return;
        };
        let from = self
            .validators
            .at(index)
            .expect("requests go to genesis indexes");
        let checked = result.and_then(|blocks| {
            let count = SyncBudget::new(max_blocks).check_count(blocks.len() as u64);
            count.map(|()| blocks).map_err(|e| e.to_string())
        });
        let event = match checked {
            Ok(blocks) => NetworkEvent::BlockResponse {
                from,
                request_id,
                blocks,
            },
            Err(reason) => NetworkEvent::BlockRequestFailed {
                from,
                request_id,
                reason,
            },
        };
        self.emit(event);
    }

    /// Queues `event` for the node. A transaction dropped on the way (its author over quota) is
    /// reported to gossip as ignored: neither forwarded nor held for a verdict.
    fn emit(&mut self, event: NetworkEvent) {
        for dropped in self.events.emit(event) {
            if let NetworkEvent::Transaction { id, via, .. } = dropped {
                self.report(&id, &via.peer_id, MessageAcceptance::Ignore);
            }
        }
    }

    fn on_ping(&mut self, event: ping::Event) {
        if let Err(error) = event.result {
            tracing::debug!(peer = %event.peer, %error, "ping failed; closing the connection");
            self.swarm.close_connection(event.connection);
        }
    }

    /// The validator behind `peer_id`; a stranger is counted and `None`. The allow-list refuses
    /// strangers' connections, so this only catches a broken refusal.
    fn known(&self, peer_id: &PeerId) -> Option<ValidatorPeer> {
        let peer = self.validators.lookup(peer_id);
        if peer.is_none() {
            tracing::warn!(%peer_id, "message from a peer outside genesis ignored");
            self.counters
                .strangers_ignored
                .fetch_add(1, Ordering::Relaxed);
        }
        peer
    }
}
