//! A topic hub: one publish reaches a topic's Server-Sent Events
//! subscribers and its WebSocket subscribers, whichever protocol each
//! speaks, through a [`Backplane`] (in-process by default).
//!
//! # Guarantees
//!
//! - **Order per topic.** Subscribers of a topic see its messages in the
//!   order the backplane delivered them; with the in-process backplane,
//!   the order of the `publish` calls. Topics are independent: nothing is
//!   promised across them.
//! - **Replay of id'd events**, for SSE subscribers: a message published
//!   with an id is kept in its topic's history, bounded by count and bytes
//!   ([`HubConfig::history_max_events`], [`HubConfig::history_max_bytes`]),
//!   and replayed after the `Last-Event-ID` a reconnecting client sends.
//!   The history outlives the topic's subscribers: a topic nobody follows
//!   keeps it, idle, among the last [`TopicConfig::idle_topics`] to go
//!   idle, so a client that was a topic's only subscriber resumes it after
//!   a reconnection. (A broker that keeps the history itself, such as
//!   Redis Streams, is read back instead.)
//! - **At most once, live only**, for everything else: a message without
//!   an id, and every message to a WebSocket subscriber, reaches the
//!   subscribers present when it is delivered, once, or not at all (a
//!   subscriber whose bounded queue is full is dropped, not waited for).
//! - **Encode once.** A publish builds its SSE event bytes once (shared by
//!   every SSE subscriber of the topic) and its WebSocket frames once per
//!   protocol (a [`Prepared`], whose bytes every socket of
//!   a protocol writes as they are).
//! - **Bounded.** Each SSE subscriber has the queue of [`HubConfig`]; each
//!   WebSocket subscriber one queue of [`TopicConfig::ws_queue`] messages
//!   for all the topics it joined. A subscriber whose queue is full is
//!   dropped at once, and a slow one never delays the others.
//! - **Topics come and go**: one is made when its first subscriber joins
//!   (or an id'd event is published to it) and, once its last subscriber
//!   has left, kept idle only while it has history and is among the last
//!   [`TopicConfig::idle_topics`] to go idle. Publishing a message without
//!   an id to a topic nobody follows delivers nothing and keeps nothing.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use bytes::Bytes;
use oneport_rfc6455::{CloseCode, Message, Utf8Bytes};
use oneport_sse::{Event, EventError, Hub, HubConfig, Subscription};
use tokio::sync::mpsc;

use crate::websocket::{Prepared, Transport, WsSender};

mod backplane;

pub use backplane::{Backplane, BackplaneError, InProcess, LocalTopics};

/// Default for [`TopicConfig::ws_queue`]: 256 messages.
pub const DEFAULT_WS_QUEUE: usize = 256;
/// Default for [`TopicConfig::idle_topics`]: 64 topics.
pub const DEFAULT_IDLE_TOPICS: usize = 64;

/// Settings of a [`TopicHub`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TopicConfig {
    /// Each topic's SSE side: subscriber queues, the replay history, keep
    /// alive comments and write timeout.
    ///
    /// Default is [`HubConfig::default()`].
    pub sse: HubConfig,
    /// How many messages may wait for one WebSocket subscriber, across all
    /// the topics it joined. A subscriber this far behind is dropped: its
    /// next [`WsSubscriber::next`] says [`Lagged`].
    ///
    /// Default is [`DEFAULT_WS_QUEUE`] (256).
    pub ws_queue: usize,
    /// How many topics with no subscriber keep their replay history, so
    /// that a client that was a topic's only subscriber resumes it after a
    /// reconnection, and events published before anyone subscribes are
    /// replayed. Past this many, the topic idle longest is freed. Memory
    /// kept is at most `idle_topics` times
    /// [`HubConfig::history_max_bytes`]. Only with a backplane that keeps
    /// no history of its own ([`Backplane::keeps_history`]); a broker's
    /// topics are read back from the broker.
    ///
    /// Default is [`DEFAULT_IDLE_TOPICS`] (64); 0 frees a topic with its
    /// last subscriber.
    pub idle_topics: usize,
}

impl Default for TopicConfig {
    fn default() -> Self {
        Self {
            sse: HubConfig::default(),
            ws_queue: DEFAULT_WS_QUEUE,
            idle_topics: DEFAULT_IDLE_TOPICS,
        }
    }
}

impl TopicConfig {
    /// Sets [`sse`](TopicConfig::sse).
    pub fn sse(mut self, config: HubConfig) -> Self {
        self.sse = config;
        self
    }

    /// Sets [`ws_queue`](TopicConfig::ws_queue).
    pub fn ws_queue(mut self, messages: usize) -> Self {
        self.ws_queue = messages;
        self
    }

    /// Sets [`idle_topics`](TopicConfig::idle_topics).
    pub fn idle_topics(mut self, topics: usize) -> Self {
        self.idle_topics = topics;
        self
    }
}

/// What a topic carries: text or binary, with an optional id and event
/// name for SSE subscribers. Binary payloads reach WebSocket subscribers
/// only (an event stream carries text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMessage {
    payload: Payload,
    id: Option<String>,
    event: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Payload {
    Text(Utf8Bytes),
    Binary(Bytes),
}

impl TopicMessage {
    /// A text message.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            payload: Payload::Text(Utf8Bytes::from(text.into())),
            id: None,
            event: None,
        }
    }

    /// A binary message (WebSocket subscribers only).
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Self {
            payload: Payload::Binary(data.into()),
            id: None,
            event: None,
        }
    }

    /// Gives the message an id: SSE subscribers see it as the event's id,
    /// and the topic keeps it for replay.
    ///
    /// # Errors
    ///
    /// An id an event stream cannot carry (a line break or a NUL).
    pub fn id(mut self, id: impl Into<String>) -> Result<Self, EventError> {
        let id = id.into();
        Event::new("").id(id.clone())?;
        self.id = Some(id);
        Ok(self)
    }

    /// Gives the message an SSE event name.
    ///
    /// # Errors
    ///
    /// A name an event stream cannot carry (a line break).
    pub fn event(mut self, name: impl Into<String>) -> Result<Self, EventError> {
        let name = name.into();
        Event::new("").event(name.clone())?;
        self.event = Some(name);
        Ok(self)
    }

    /// The id, if any.
    pub fn id_str(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The SSE event name, if any.
    pub fn event_str(&self) -> Option<&str> {
        self.event.as_deref()
    }

    /// The text, for a text message.
    pub fn as_text(&self) -> Option<&str> {
        match &self.payload {
            Payload::Text(t) => Some(t.as_str()),
            Payload::Binary(_) => None,
        }
    }

    /// The message as a WebSocket subscriber receives it (its payload
    /// shared, not copied).
    pub fn to_message(&self) -> Message {
        match &self.payload {
            Payload::Text(t) => Message::Text(t.clone()),
            Payload::Binary(b) => Message::Binary(b.clone()),
        }
    }

    /// The message as an SSE subscriber receives it, for a text message.
    fn to_event(&self) -> Option<Event> {
        let Payload::Text(text) = &self.payload else {
            return None;
        };
        let mut event = Event::new(text.as_str());
        // Both were checked when they were set.
        if let Some(id) = &self.id {
            event = event.id(id.clone()).ok()?;
        }
        if let Some(name) = &self.event {
            event = event.event(name.clone()).ok()?;
        }
        Some(event)
    }
}

/// One topic's subscribers.
struct Topic {
    sse: Hub,
    ws: Vec<Member>,
    /// Set once the backplane carries the topic here and its history
    /// from the backplane (if any) is kept: joins complete and event
    /// streams subscribe only after that.
    filled: Arc<tokio::sync::OnceCell<()>>,
    /// Whether the backplane carries the topic here; not while it is idle
    /// (no subscriber, history kept).
    carried: bool,
}

impl Topic {
    fn is_empty(&self) -> bool {
        self.ws.is_empty() && self.sse.subscriber_count() == 0
    }
}

/// A WebSocket subscriber's entry in a topic: a handle on its one queue.
struct Member {
    id: u64,
    tx: mpsc::Sender<(Arc<str>, Prepared)>,
    lagged: Arc<AtomicBool>,
}

pub(crate) struct Inner {
    config: TopicConfig,
    backplane: Box<dyn Backplane>,
    topics: Mutex<HashMap<Arc<str>, Topic>>,
    /// The idle topics, the one idle longest first (taken after `topics`).
    idle: Mutex<std::collections::VecDeque<Arc<str>>>,
    next_id: AtomicU64,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<str>, Topic>> {
        self.topics.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands `message` to this process's subscribers of `topic`; returns
    /// how many took it.
    pub(crate) fn deliver(&self, topic: &str, message: &TopicMessage) -> usize {
        let mut topics = self.lock();
        let Some(t) = topics.get_mut(topic) else {
            // Nobody follows it: an id'd event is still kept for replay,
            // in an idle topic, when idle topics are kept here.
            if message.id.is_some() && self.keeps_idle() {
                if let Some(event) = message.to_event() {
                    let t = self.make(&mut topics, topic);
                    t.carried = false;
                    t.sse.remember(&event);
                    self.idle(&mut topics, topic);
                }
            }
            return 0;
        };
        let mut delivered = 0;
        if let Some(event) = message.to_event() {
            delivered += t.sse.publish(event);
        }
        if !t.ws.is_empty() {
            let name: Arc<str> = Arc::from(topic);
            // Encoded once, for every WebSocket subscriber.
            let Ok(msg) = Prepared::new(message.to_message()) else {
                return delivered;
            };
            t.ws.retain(|m| match m.tx.try_send((name.clone(), msg.clone())) {
                Ok(()) => {
                    delivered += 1;
                    true
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // Dropped, not waited for: it may not delay the others.
                    m.lagged.store(true, Ordering::SeqCst);
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
        }
        delivered
    }

    /// Whether topics without subscribers keep their history here.
    fn keeps_idle(&self) -> bool {
        self.config.idle_topics > 0 && !self.backplane.keeps_history()
    }

    /// Frees `topic` if nobody follows it any more, or keeps it idle with
    /// its history (see [`TopicConfig::idle_topics`]).
    fn release(&self, topic: &str) {
        let mut topics = self.lock();
        let Some(t) = topics.get_mut(topic).filter(|t| t.carried && t.is_empty()) else {
            return;
        };
        if self.keeps_idle() && t.sse.history_len() > 0 {
            t.carried = false;
            // A subscriber that comes back opens it again.
            t.filled = Arc::default();
            self.idle(&mut topics, topic);
        } else if let Some(t) = topics.remove(topic) {
            t.sse.close();
        }
        drop(topics);
        self.backplane.close(topic);
    }

    /// Records `topic` as idle, freeing the one idle longest past the
    /// bound.
    fn idle(&self, topics: &mut HashMap<Arc<str>, Topic>, topic: &str) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.push_back(Arc::from(topic));
        while idle.len() > self.config.idle_topics {
            let Some(oldest) = idle.pop_front() else {
                break;
            };
            if topics.get(&oldest).is_some_and(|t| !t.carried) {
                if let Some(t) = topics.remove(&oldest) {
                    t.sse.close();
                }
            }
        }
    }

    fn make<'a>(&self, topics: &'a mut HashMap<Arc<str>, Topic>, name: &str) -> &'a mut Topic {
        topics.entry(Arc::from(name)).or_insert_with(|| Topic {
            sse: Hub::new(self.config.sse.clone()),
            ws: Vec::new(),
            filled: Arc::default(),
            carried: true,
        })
    }

    /// The topic, made if it does not exist; `opened` is set when the
    /// backplane must now be told to carry it (it was new, or idle).
    fn topic<'a>(
        &self,
        topics: &'a mut HashMap<Arc<str>, Topic>,
        name: &str,
        opened: &mut bool,
    ) -> &'a mut Topic {
        let idle = topics.get(name).is_some_and(|t| !t.carried);
        if idle {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|t| &**t != name);
        }
        *opened = idle || !topics.contains_key(name);
        let t = self.make(topics, name);
        t.carried = true;
        t
    }

    /// Keeps `message` in `topic`'s history without sending it.
    fn remember(&self, topic: &str, message: &TopicMessage) {
        if let (Some(t), Some(event)) = (self.lock().get(topic), message.to_event()) {
            t.sse.remember(&event);
        }
    }
}

/// A hub of named topics, each followed by SSE and WebSocket subscribers
/// (see the [module docs](self) for its guarantees). Cloning is cheap: the
/// clones share the topics.
///
/// # Examples
///
/// ```
/// use oneport_dispatch::topics::{TopicHub, TopicMessage};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let hub = TopicHub::default();
/// let mut socket = hub.ws_subscriber();
/// socket.join("room/1").await;
/// let mut feed = hub.subscribe_sse("room/1", None);
///
/// hub.publish("room/1", TopicMessage::text("hello").id("1")?)?;
/// hub.publish("room/2", TopicMessage::text("nobody hears this"))?;
///
/// let (topic, msg) = socket.next().await.expect("open")?;
/// assert_eq!((&*topic, msg.as_text()), ("room/1", Some("hello")));
/// assert_eq!(hub.subscriber_count("room/1"), 2);
/// # let _ = &mut feed;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TopicHub {
    inner: Arc<Inner>,
}

impl fmt::Debug for TopicHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TopicHub")
            .field("config", &self.inner.config)
            .field("topics", &self.topic_count())
            .finish_non_exhaustive()
    }
}

impl Default for TopicHub {
    fn default() -> Self {
        Self::new(TopicConfig::default())
    }
}

impl TopicHub {
    /// A hub on the in-process backplane.
    pub fn new(config: TopicConfig) -> Self {
        Self::with_backplane(config, InProcess)
    }

    /// A hub whose publishes travel through `backplane` (a broker shared by
    /// several processes, say).
    pub fn with_backplane(config: TopicConfig, backplane: impl Backplane) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                backplane: Box::new(backplane),
                topics: Mutex::new(HashMap::new()),
                idle: Mutex::default(),
                next_id: AtomicU64::new(1),
            }),
        }
    }

    fn local(&self) -> LocalTopics {
        LocalTopics::new(Arc::downgrade(&self.inner))
    }

    /// Publishes `message` to `topic`'s subscribers, through the backplane.
    ///
    /// # Errors
    ///
    /// The backplane's, when it cannot carry the message (the in-process
    /// one never fails).
    pub fn publish(&self, topic: &str, message: TopicMessage) -> Result<(), BackplaneError> {
        self.inner.backplane.publish(topic, message, &self.local())
    }

    /// Subscribes an event stream to `topic`, replaying the kept events
    /// after `last_event_id` first. Dropping the subscription leaves the
    /// topic (and frees it if it was the last subscriber).
    pub fn subscribe_sse(&self, topic: &str, last_event_id: Option<&str>) -> TopicSse {
        let mut opened = false;
        let sub = {
            let mut topics = self.inner.lock();
            let t = self.inner.topic(&mut topics, topic, &mut opened);
            t.sse.subscribe(last_event_id)
        };
        if opened {
            // Not awaited: a broker starts carrying the topic here soon
            // after (see `subscribe_sse_resuming` for a join that waits).
            drop(self.inner.backplane.open(topic, &self.local()));
        }
        TopicSse {
            sub: Some(sub),
            topic: Arc::from(topic),
            hub: Arc::downgrade(&self.inner),
        }
    }

    /// [`subscribe_sse`](TopicHub::subscribe_sse) for an event stream that
    /// may resume from an id published in another process: when the topic
    /// opens here with this subscriber, its history is first filled from
    /// the backplane ([`Backplane::open_with_history`]), so that
    /// `last_event_id` is found if the broker still keeps it, and a
    /// `history-cut` event says so if it does not. Later subscribers wait
    /// for that fill. With the in-process backplane it is
    /// `subscribe_sse`.
    pub async fn subscribe_sse_resuming(
        &self,
        topic: &str,
        last_event_id: Option<&str>,
    ) -> TopicSse {
        loop {
            let (opened, filled) = {
                let mut topics = self.inner.lock();
                let mut opened = false;
                let t = self.inner.topic(&mut topics, topic, &mut opened);
                (opened, Arc::clone(&t.filled))
            };
            let (history, started) = if opened {
                let max = self.inner.config.sse.history_max_events;
                let local = self.local();
                match self.inner.backplane.open_with_history(topic, max, &local) {
                    Some(history) => (Some(history), None),
                    None => (None, self.inner.backplane.open(topic, &local)),
                }
            } else {
                (None, None)
            };
            let inner = Arc::clone(&self.inner);
            let name = topic.to_owned();
            filled
                .get_or_init(|| async move {
                    if let Some(started) = started {
                        started.await;
                    }
                    let Some(history) = history else {
                        return;
                    };
                    match history.await {
                        Ok(messages) => {
                            for m in &messages {
                                inner.remember(&name, m);
                            }
                        }
                        Err(e) => tracing::warn!(topic = name, error = %e, "no history from the backplane"),
                    }
                })
                .await;
            let mut topics = self.inner.lock();
            // The topic may have been freed and made again meanwhile (its
            // other subscribers left): then fill the new one.
            let Some(t) = topics
                .get_mut(topic)
                .filter(|t| Arc::ptr_eq(&t.filled, &filled))
            else {
                continue;
            };
            let sub = t.sse.subscribe(last_event_id);
            return TopicSse {
                sub: Some(sub),
                topic: Arc::from(topic),
                hub: Arc::downgrade(&self.inner),
            };
        }
    }

    /// A WebSocket subscriber: one bounded queue that the topics it joins
    /// feed. Forward what it yields to a socket's sending half.
    pub fn ws_subscriber(&self) -> WsSubscriber {
        let (tx, rx) = mpsc::channel(self.inner.config.ws_queue.max(1));
        WsSubscriber {
            id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
            hub: self.clone(),
            tx,
            rx,
            lagged: Arc::default(),
            topics: Vec::new(),
        }
    }

    /// How many subscribers (SSE and WebSocket) follow `topic` in this
    /// process: presence.
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.inner
            .lock()
            .get(topic)
            .map_or(0, |t| t.ws.len() + t.sse.subscriber_count())
    }

    /// How many topics have subscribers.
    pub fn topic_count(&self) -> usize {
        self.inner.lock().len()
    }
}

/// An event stream's subscription to a topic: drive it with
/// [`forward`](TopicSse::forward) onto the response's socket.
pub struct TopicSse {
    sub: Option<Subscription>,
    topic: Arc<str>,
    hub: Weak<Inner>,
}

impl fmt::Debug for TopicSse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TopicSse")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl TopicSse {
    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The underlying subscription (replay first, then live events).
    pub fn subscription(&mut self) -> Option<&mut Subscription> {
        self.sub.as_mut()
    }

    /// Writes the stream to `w`, as [`Subscription::forward`]; the topic is
    /// left when it ends.
    ///
    /// # Errors
    ///
    /// As [`Subscription::forward`].
    pub async fn forward<W>(mut self, w: &mut W) -> Result<(), oneport_sse::SubscriptionError>
    where
        W: tokio::io::AsyncWrite + Unpin,
    {
        match self.sub.take() {
            Some(sub) => sub.forward(w).await,
            None => Ok(()),
        }
    }
}

impl Drop for TopicSse {
    fn drop(&mut self) {
        // The receiver goes first, so that the topic sees it gone.
        drop(self.sub.take());
        if let Some(hub) = self.hub.upgrade() {
            hub.release(&self.topic);
        }
    }
}

/// The subscriber dropped for falling behind: its queue was full when a
/// message came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the subscriber fell behind and was dropped")]
pub struct Lagged;

/// A WebSocket's subscriptions: the topics it joined, feeding one bounded
/// queue. Dropping it leaves every topic.
pub struct WsSubscriber {
    id: u64,
    hub: TopicHub,
    tx: mpsc::Sender<(Arc<str>, Prepared)>,
    rx: mpsc::Receiver<(Arc<str>, Prepared)>,
    lagged: Arc<AtomicBool>,
    topics: Vec<Arc<str>>,
}

impl fmt::Debug for WsSubscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsSubscriber")
            .field("topics", &self.topics)
            .field("queued", &self.rx.len())
            .finish_non_exhaustive()
    }
}

impl WsSubscriber {
    /// Joins `topic` (again is a no-op). Once it returns, every message
    /// published to `topic` after that, in this process or (through a
    /// broker) any other, reaches this subscriber: with the in-process
    /// backplane at once, with a broker once it has fixed where this
    /// process starts reading the topic (one round trip, for the topic's
    /// first subscriber here; later ones wait for the same).
    ///
    /// Cancel-safe in the sense that matters: if the join is dropped
    /// before it completes, the subscriber has joined anyway, and only
    /// the wait is lost.
    pub async fn join(&mut self, topic: &str) {
        if self.topics.iter().any(|t| &**t == topic) {
            return;
        }
        let mut opened = false;
        let started = {
            let mut topics = self.hub.inner.lock();
            let t = self.hub.inner.topic(&mut topics, topic, &mut opened);
            t.ws.push(Member {
                id: self.id,
                tx: self.tx.clone(),
                lagged: self.lagged.clone(),
            });
            Arc::clone(&t.filled)
        };
        self.topics.push(Arc::from(topic));
        let start = if opened {
            self.hub.inner.backplane.open(topic, &self.hub.local())
        } else {
            None
        };
        started
            .get_or_init(|| async move {
                if let Some(start) = start {
                    start.await;
                }
            })
            .await;
    }

    /// Leaves `topic` (a topic not joined is a no-op), freeing it if this
    /// was its last subscriber.
    pub fn leave(&mut self, topic: &str) {
        let Some(at) = self.topics.iter().position(|t| &**t == topic) else {
            return;
        };
        self.topics.swap_remove(at);
        {
            let mut topics = self.hub.inner.lock();
            if let Some(t) = topics.get_mut(topic) {
                t.ws.retain(|m| m.id != self.id);
            }
        }
        self.hub.inner.release(topic);
    }

    /// The topics joined.
    pub fn topics(&self) -> impl Iterator<Item = &str> {
        self.topics.iter().map(|t| &**t)
    }

    /// The next message of any joined topic, with its topic; `Err(Lagged)`
    /// once the subscriber was dropped for falling behind (then it has left
    /// the topics whose messages it missed). Cancel-safe: it can sit in a
    /// `select!` beside the socket's `recv`.
    pub async fn next(&mut self) -> Option<Result<(Arc<str>, Message), Lagged>> {
        self.next_prepared()
            .await
            .map(|r| r.map(|(topic, p)| (topic, p.message().clone())))
    }

    /// As [`next`](WsSubscriber::next), with the message as it was encoded
    /// once for every subscriber: send it with `WsSender::send_prepared`
    /// so that every socket writes the same bytes.
    pub async fn next_prepared(&mut self) -> Option<Result<(Arc<str>, Prepared), Lagged>> {
        if self.lagged.load(Ordering::SeqCst) {
            return Some(Err(Lagged));
        }
        // The queue never closes while this holds a sender too.
        let item = self.rx.recv().await?;
        if self.lagged.load(Ordering::SeqCst) {
            return Some(Err(Lagged));
        }
        Some(Ok(item))
    }

    /// Sends every message of the joined topics to `tx`, the sending half
    /// of a socket, until the socket fails (then `Ok`: the connection is
    /// over) or this subscriber falls behind (then `Err(Lagged)`, after
    /// closing the socket with 1008, since its peer has missed messages).
    ///
    /// # Errors
    ///
    /// [`Lagged`], as above.
    pub async fn forward<S: Transport>(mut self, tx: &mut WsSender<S>) -> Result<(), Lagged> {
        while let Some(next) = self.next_prepared().await {
            match next {
                Ok((_topic, prepared)) => {
                    if tx.send_prepared(&prepared).await.is_err() {
                        return Ok(());
                    }
                }
                Err(Lagged) => {
                    let _ = tx.close(CloseCode::POLICY, "fell behind the topic").await;
                    return Err(Lagged);
                }
            }
        }
        Ok(())
    }
}

impl Drop for WsSubscriber {
    fn drop(&mut self) {
        for topic in std::mem::take(&mut self.topics) {
            {
                let mut topics = self.hub.inner.lock();
                if let Some(t) = topics.get_mut(&*topic) {
                    t.ws.retain(|m| m.id != self.id);
                }
            }
            self.hub.inner.release(&topic);
        }
    }
}
