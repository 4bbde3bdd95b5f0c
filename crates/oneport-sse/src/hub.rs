//! A broadcast hub with a bounded replay history (feature `tokio`), after
//! the Racket `net/sse` package: `make-sse` is [`Hub::new`],
//! `send-new-event` is [`Hub::publish`], and events published with an id are
//! replayed to subscribers that arrive later.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use oneport_http1::ChunkQueue;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{Notify, mpsc};

use crate::error::SubscriptionError;
use crate::event::Event;

/// Default for [`HubConfig::subscriber_queue`]: 256 events.
pub const DEFAULT_SUBSCRIBER_QUEUE: usize = 256;
/// Default for [`HubConfig::history_max_events`]: 1024 events.
pub const DEFAULT_HISTORY_MAX_EVENTS: usize = 1024;
/// Default for [`HubConfig::history_max_bytes`]: 1 MiB.
pub const DEFAULT_HISTORY_MAX_BYTES: usize = 1024 * 1024;
/// Default for [`HubConfig::keep_alive`]: 15 seconds.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Default for [`HubConfig::write_timeout`]: 10 seconds, as a WebSocket's.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The comment written when a subscriber has been idle for
/// [`HubConfig::keep_alive`].
const KEEP_ALIVE_COMMENT: &[u8] = b": keep-alive\n\n";

/// More chunks than this are gathered into one buffer rather than passed to
/// one vectored write (operating systems cap the number of slices).
const MAX_WRITE_SLICES: usize = 64;

/// The name of the event a subscriber gets first when the
/// `Last-Event-ID` it resumes from is not in the history (trimmed away,
/// or from before a restart): the events it missed cannot all be
/// replayed, so it is told rather than silently given a gap. Its data is
/// the ID it asked for; what follows is the whole history kept. A page
/// listens with `addEventListener("history-cut", ...)` and reloads its
/// state.
pub const HISTORY_CUT_EVENT: &str = "history-cut";

/// Settings of a [`Hub`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use oneport_sse::HubConfig;
///
/// let config = HubConfig::default()
///     .history_max_events(100)
///     .retry(Some(Duration::from_secs(2)));
/// assert_eq!(config.subscriber_queue, 256);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubConfig {
    /// Events buffered per subscriber; a subscriber whose queue is full when
    /// an event is published is dropped (its stream ends with
    /// [`SubscriptionError::Lagged`]). Values below 1 count as 1. Default is
    /// [`DEFAULT_SUBSCRIBER_QUEUE`] (256).
    pub subscriber_queue: usize,
    /// Most events with an id kept for replay; the oldest is evicted first.
    /// `0` keeps none. Default is [`DEFAULT_HISTORY_MAX_EVENTS`] (1024).
    pub history_max_events: usize,
    /// Most encoded bytes of kept events; the oldest are evicted first, and
    /// an event larger than this on its own is not kept. Default is
    /// [`DEFAULT_HISTORY_MAX_BYTES`] (1 MiB).
    pub history_max_bytes: usize,
    /// A comment is written to a subscriber idle this long, so proxies and
    /// client read timeouts do not close a quiet stream; `None` writes none.
    /// Default is `Some(`[`DEFAULT_KEEP_ALIVE`]`)` (15 s).
    pub keep_alive: Option<Duration>,
    /// A `retry:` reconnection hint written first on every subscription;
    /// `None` writes none (browsers then wait a few seconds). Default is
    /// `None`.
    pub retry: Option<Duration>,
    /// Longest time one batch may take to be written and flushed; a
    /// subscriber whose socket stays unwritable longer is dropped with
    /// [`SubscriptionError::WriteTimeout`]. Default is
    /// [`DEFAULT_WRITE_TIMEOUT`] (10 s).
    pub write_timeout: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            subscriber_queue: DEFAULT_SUBSCRIBER_QUEUE,
            history_max_events: DEFAULT_HISTORY_MAX_EVENTS,
            history_max_bytes: DEFAULT_HISTORY_MAX_BYTES,
            keep_alive: Some(DEFAULT_KEEP_ALIVE),
            retry: None,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
        }
    }
}

impl HubConfig {
    /// Sets [`subscriber_queue`](Self::subscriber_queue).
    #[must_use]
    pub fn subscriber_queue(mut self, n: usize) -> Self {
        self.subscriber_queue = n;
        self
    }

    /// Sets [`history_max_events`](Self::history_max_events).
    #[must_use]
    pub fn history_max_events(mut self, n: usize) -> Self {
        self.history_max_events = n;
        self
    }

    /// Sets [`history_max_bytes`](Self::history_max_bytes).
    #[must_use]
    pub fn history_max_bytes(mut self, n: usize) -> Self {
        self.history_max_bytes = n;
        self
    }

    /// Sets [`keep_alive`](Self::keep_alive).
    #[must_use]
    pub fn keep_alive(mut self, every: Option<Duration>) -> Self {
        self.keep_alive = every;
        self
    }

    /// Sets [`retry`](Self::retry).
    #[must_use]
    pub fn retry(mut self, hint: Option<Duration>) -> Self {
        self.retry = hint;
        self
    }

    /// Sets [`write_timeout`](Self::write_timeout).
    #[must_use]
    pub fn write_timeout(mut self, limit: Duration) -> Self {
        self.write_timeout = limit;
        self
    }
}

/// Response head for an event stream: `200 OK`, `Content-Type:
/// text/event-stream`, `Cache-Control: no-cache`. The body is the bytes a
/// [`Subscription`] writes; delimit it by closing the connection (or chunk
/// it).
pub fn response_head() -> http::Response<()> {
    let mut response = http::Response::new(());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// A broadcast point for server-sent events with a bounded replay history.
///
/// Cloning is cheap (the clones share one hub). Publishing encodes the
/// event once into [`Bytes`] that every subscriber shares, and never waits:
/// each subscriber has a bounded queue, and one that is full is dropped.
/// Events published with an id are also kept in a history bounded by count
/// and bytes, and [`subscribe`](Self::subscribe) replays it; events without
/// an id are live only.
///
/// When the last clone is dropped, or [`close`](Self::close) is called,
/// every subscription's stream ends.
///
/// # Examples
///
/// ```
/// use oneport_sse::{Event, Hub, HubConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let hub = Hub::new(HubConfig::default());
/// hub.publish(Event::new("not kept"));
/// let id = hub.publish_with_id(Event::new("kept"));
/// assert_eq!(id, "1");
///
/// // A late subscriber gets the kept event, then the live ones.
/// let sub = hub.subscribe(None);
/// hub.publish(Event::new("live"));
/// hub.close();
/// let mut out = Vec::new();
/// sub.forward(&mut out).await?;
/// assert_eq!(out, b"id: 1\ndata: kept\n\ndata: live\n\n");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    config: HubConfig,
    /// `retry: N` plus blank line, encoded once.
    retry_hint: Option<Bytes>,
    state: Mutex<State>,
}

/// Everything `publish` and `subscribe` must see together, so that a new
/// subscriber gets exactly the kept events before it and the live events
/// after it, with no gap and no duplicate.
#[derive(Default)]
struct State {
    closed: bool,
    /// The id `publish_with_id` assigns next; always above every numeric id
    /// published so far.
    next_id: u64,
    history: VecDeque<Kept>,
    history_bytes: usize,
    subscribers: Vec<Subscriber>,
}

struct Kept {
    id: String,
    bytes: Bytes,
}

struct Subscriber {
    tx: mpsc::Sender<Bytes>,
    lagged: Arc<Lagged>,
}

/// Set by the hub when it drops a subscriber for falling behind, and
/// signalled, so that a write blocked on that subscriber's socket is given
/// up at once rather than when it times out.
#[derive(Default)]
struct Lagged {
    flag: AtomicBool,
    signal: Notify,
}

impl Lagged {
    fn set(&self) {
        self.flag.store(true, Ordering::SeqCst);
        // A stored permit: a forward that is not waiting yet still sees it.
        self.signal.notify_one();
    }

    fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Hub")
            .field("config", &self.inner.config)
            .field("closed", &state.closed)
            .field("subscribers", &state.subscribers.len())
            .field("history_len", &state.history.len())
            .field("history_bytes", &state.history_bytes)
            .finish()
    }
}

impl Hub {
    /// A new, open hub with no subscribers and an empty history.
    pub fn new(config: HubConfig) -> Self {
        let retry_hint = config.retry.map(|d| {
            let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
            Event::default().retry(ms).to_bytes()
        });
        Hub {
            inner: Arc::new(Inner {
                config,
                retry_hint,
                state: Mutex::new(State {
                    next_id: 1,
                    ..State::default()
                }),
            }),
        }
    }

    /// The configuration this hub was built with.
    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held; if something ever did, the
        // state is still consistent enough to keep serving.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `event` to every subscriber and, if it has an id, keeps it for
    /// replay. Returns the number of subscribers it was queued to.
    ///
    /// The event is encoded once into [`Bytes`] shared by all subscribers.
    /// This never waits for a slow subscriber: the event is offered to each
    /// bounded queue without blocking, and a subscriber whose queue is full
    /// is dropped (its stream ends with [`SubscriptionError::Lagged`]; it can
    /// reconnect with `Last-Event-ID` and catch up from the history). Events
    /// with an id are kept in the bounded history (oldest evicted first, by
    /// count and by bytes); events without an id are live only. A numeric
    /// id also moves the counter of [`publish_with_id`](Self::publish_with_id)
    /// past it. After [`close`](Self::close) this does nothing and returns 0.
    pub fn publish(&self, event: Event) -> usize {
        let bytes = event.to_bytes();
        let mut state = self.lock();
        if state.closed {
            return 0;
        }
        if let Some(id) = event.id_str() {
            if let Ok(n) = id.parse::<u64>() {
                state.next_id = state.next_id.max(n.saturating_add(1));
            }
            state.keep(&self.inner.config, id, &bytes);
        }
        state.broadcast(&bytes)
    }

    /// Keeps `event` in the history for replay without sending it to
    /// anyone: for a history filled from elsewhere (another process's
    /// events, read back from a broker) before subscribers join. An event
    /// without an id is not kept. Returns whether it was kept.
    pub fn remember(&self, event: &Event) -> bool {
        let Some(id) = event.id_str() else {
            return false;
        };
        let mut state = self.lock();
        if state.closed {
            return false;
        }
        if let Ok(n) = id.parse::<u64>() {
            state.next_id = state.next_id.max(n.saturating_add(1));
        }
        state.keep(&self.inner.config, id, &event.to_bytes());
        true
    }

    /// Gives `event` the next numeric id (replacing any id it had), then
    /// publishes it as [`publish`](Self::publish) does; returns the id.
    ///
    /// Ids count up from 1 and never repeat, including ids the caller gave
    /// to [`publish`](Self::publish) that parse as numbers.
    pub fn publish_with_id(&self, event: Event) -> String {
        let mut state = self.lock();
        let id = state.next_id;
        state.next_id = id.saturating_add(1);
        let id = id.to_string();
        if state.closed {
            return id;
        }
        // Encoded under the lock so that ids leave in increasing order.
        let bytes = event.with_trusted_id(id.clone()).to_bytes();
        state.keep(&self.inner.config, &id, &bytes);
        state.broadcast(&bytes);
        id
    }

    /// A new subscription: the `retry:` hint if configured, then the replay
    /// from the history, then every event published after this call.
    ///
    /// * `None` (or an empty id): replay every kept event, as the Racket
    ///   package does for a new client.
    /// * `Some(id)`: replay the kept events after the most recent event
    ///   with that id.
    /// * `Some(id)` for an id no longer (or never) in the history: replay
    ///   every kept event. The id was either evicted, in which case the
    ///   client has already missed events and the oldest kept ones are the
    ///   best it can get, or it comes from an earlier run of the server,
    ///   whose ids mean nothing now. Replaying may repeat events the client
    ///   has seen (it can skip them by id); replaying nothing would lose
    ///   events silently.
    ///
    /// After [`close`](Self::close) the subscription's stream is already
    /// ended.
    pub fn subscribe(&self, last_event_id: Option<&str>) -> Subscription {
        let config = &self.inner.config;
        let capacity = config.subscriber_queue.max(1);
        let (tx, rx) = mpsc::channel(capacity);
        let lagged = Arc::new(Lagged::default());
        let mut pending = Vec::new();
        {
            let mut state = self.lock();
            if !state.closed {
                pending.reserve(state.history.len() + 1);
                pending.extend(self.inner.retry_hint.iter().cloned());
                let asked = last_event_id.filter(|id| !id.is_empty());
                let found = asked.and_then(|id| state.history.iter().rposition(|k| k.id == id));
                if let (Some(id), None) = (asked, found) {
                    pending.push(history_cut(id));
                }
                let start = found.map_or(0, |at| at + 1);
                pending.extend(state.history.iter().skip(start).map(|k| k.bytes.clone()));
                state.subscribers.retain(|s| !s.tx.is_closed());
                state.subscribers.push(Subscriber {
                    tx,
                    lagged: Arc::clone(&lagged),
                });
            }
        }
        Subscription {
            pending,
            rx,
            lagged,
            capacity,
            keep_alive: config.keep_alive,
            write_timeout: config.write_timeout,
        }
    }

    /// Subscribers currently connected (dropped subscriptions are not
    /// counted).
    pub fn subscriber_count(&self) -> usize {
        let mut state = self.lock();
        state.subscribers.retain(|s| !s.tx.is_closed());
        state.subscribers.len()
    }

    /// Events currently kept in the history.
    pub fn history_len(&self) -> usize {
        self.lock().history.len()
    }

    /// Encoded bytes of the events currently kept in the history.
    pub fn history_bytes(&self) -> usize {
        self.lock().history_bytes
    }

    /// Closes the hub, for graceful shutdown: every subscription's stream
    /// ends once it has written what was already queued to it, the history
    /// is dropped, later [`publish`](Self::publish) calls do nothing and
    /// later [`subscribe`](Self::subscribe) calls get an ended stream.
    pub fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.subscribers.clear();
        state.history.clear();
        state.history_bytes = 0;
    }

    /// Whether [`close`](Self::close) has been called.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }
}

impl State {
    fn keep(&mut self, config: &HubConfig, id: &str, bytes: &Bytes) {
        if config.history_max_events == 0 || bytes.len() > config.history_max_bytes {
            return;
        }
        self.history.push_back(Kept {
            id: id.to_owned(),
            bytes: bytes.clone(),
        });
        self.history_bytes += bytes.len();
        while self.history.len() > config.history_max_events
            || self.history_bytes > config.history_max_bytes
        {
            let Some(old) = self.history.pop_front() else {
                break;
            };
            self.history_bytes -= old.bytes.len();
        }
    }

    fn broadcast(&mut self, bytes: &Bytes) -> usize {
        let mut queued = 0;
        self.subscribers
            .retain(|s| match s.tx.try_send(bytes.clone()) {
                Ok(()) => {
                    queued += 1;
                    true
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // Set before the sender is dropped, so the receiver sees
                    // the flag when it sees the end of the channel.
                    s.lagged.set();
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
        queued
    }
}

/// One subscriber's view of a [`Hub`]: the replay, then the live events,
/// until the hub closes or the subscriber falls behind.
///
/// Drive it with [`forward`](Self::forward) onto a socket, or take batches
/// with [`next_batch`](Self::next_batch). Dropping it unsubscribes.
pub struct Subscription {
    /// The `retry:` hint and the replay, written before any live event.
    pending: Vec<Bytes>,
    rx: mpsc::Receiver<Bytes>,
    lagged: Arc<Lagged>,
    capacity: usize,
    keep_alive: Option<Duration>,
    write_timeout: Duration,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("pending", &self.pending.len())
            .field("queued", &self.rx.len())
            .field("capacity", &self.capacity)
            .field("lagged", &self.is_lagged())
            .finish()
    }
}

impl Subscription {
    /// Writes the stream to `w` until the hub closes (`Ok`), the subscriber
    /// falls behind, or a write fails or times out.
    ///
    /// First the `retry:` hint if the hub has one, then the replayed events,
    /// then live events. All the events queued when the writer wakes leave
    /// in one write (one vectored write, or one gathered buffer when `w`
    /// does not support vectored writes or there are very many). When
    /// nothing arrives for [`HubConfig::keep_alive`] a comment is written.
    /// Each write (and its flush) is bounded by [`HubConfig::write_timeout`].
    /// This writes no HTTP head: send [`response_head`] first.
    ///
    /// # Errors
    ///
    /// [`SubscriptionError::Lagged`] if the hub dropped this subscriber
    /// because its queue was full, [`SubscriptionError::WriteTimeout`] or
    /// [`SubscriptionError::Io`] if writing failed.
    pub async fn forward<W>(mut self, w: &mut W) -> Result<(), SubscriptionError>
    where
        W: AsyncWrite + Unpin,
    {
        let mut batch = Vec::new();
        loop {
            batch.clear();
            let next = match self.keep_alive {
                None => self.next_batch(&mut batch).await,
                Some(idle) => match tokio::time::timeout(idle, self.next_batch(&mut batch)).await {
                    Ok(next) => next,
                    Err(_elapsed) => {
                        batch.clear();
                        batch.push(Bytes::from_static(KEEP_ALIVE_COMMENT));
                        Some(())
                    }
                },
            };
            if next.is_none() {
                if self.is_lagged() {
                    return Err(SubscriptionError::Lagged);
                }
                return Ok(());
            }
            let write = async {
                write_gathered(w, &mut batch).await?;
                w.flush().await
            };
            // A write blocked on a client that does not read ends as soon as
            // the hub drops this subscriber, not only at the write timeout.
            let dropped = self.lagged.signal.notified();
            if self.is_lagged() {
                return Err(SubscriptionError::Lagged);
            }
            tokio::select! {
                written = tokio::time::timeout(self.write_timeout, write) => match written {
                    Ok(result) => result?,
                    Err(_elapsed) => return Err(SubscriptionError::WriteTimeout),
                },
                () = dropped => return Err(SubscriptionError::Lagged),
            }
        }
    }

    /// Appends the next batch of encoded chunks to `out`: on the first call
    /// the `retry:` hint and the replay plus whatever is already queued,
    /// later every queued event (at least one; this waits for it). Returns
    /// `None`, leaving `out` as it was, once the hub has closed and the queue
    /// is drained, or as soon as this subscriber has been dropped for
    /// falling behind (see [`is_lagged`](Self::is_lagged)).
    ///
    /// Cancel-safe: if the future is dropped before it completes, no event
    /// is lost.
    pub async fn next_batch(&mut self, out: &mut Vec<Bytes>) -> Option<()> {
        if self.is_lagged() {
            return None;
        }
        let start = out.len();
        if !self.pending.is_empty() {
            out.append(&mut self.pending);
            while out.len() - start < self.capacity {
                match self.rx.try_recv() {
                    Ok(bytes) => out.push(bytes),
                    Err(_) => break,
                }
            }
            return Some(());
        }
        if self.rx.recv_many(out, self.capacity).await == 0 || self.is_lagged() {
            out.truncate(start);
            return None;
        }
        Some(())
    }

    /// Whether the hub dropped this subscriber because its queue was full.
    pub fn is_lagged(&self) -> bool {
        self.lagged.is_set()
    }

    /// Encoded events waiting to be written: the replay not yet taken plus
    /// the live queue (which never holds more than
    /// [`HubConfig::subscriber_queue`]).
    pub fn queued(&self) -> usize {
        self.pending.len() + self.rx.len()
    }
}

/// Writes every chunk, as one vectored write when `w` supports it and there
/// are few enough chunks, otherwise as one gathered buffer. Partial writes
/// continue where they stopped: the queue is oneport's one write queue,
/// written by tokio's `write_all_buf`.
async fn write_gathered<W>(w: &mut W, chunks: &mut Vec<Bytes>) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    let mut queue = ChunkQueue::new();
    for c in chunks.drain(..) {
        queue.push(c);
    }
    if queue.chunk_count() > 1 && (!w.is_write_vectored() || queue.chunk_count() > MAX_WRITE_SLICES)
    {
        queue.gather();
    }
    w.write_all_buf(&mut queue).await
}

/// The notice for a `Last-Event-ID` that the history no longer holds.
fn history_cut(asked: &str) -> Bytes {
    // The ID came from a request header: one line, no CR or LF (the
    // parser that read it splits lines on them), so it is safe as data.
    let mut event = Event::new(asked);
    if let Ok(named) = event.clone().event(HISTORY_CUT_EVENT) {
        event = named;
    }
    event.to_bytes()
}

#[cfg(test)]
mod tests {
    use std::io::IoSlice;

    use super::*;

    fn text(chunks: &[Bytes]) -> String {
        chunks
            .iter()
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect()
    }

    #[test]
    fn response_head_is_an_event_stream() {
        let head = response_head();
        assert_eq!(head.status(), http::StatusCode::OK);
        assert_eq!(head.headers()[CONTENT_TYPE], "text/event-stream");
        assert_eq!(head.headers()[CACHE_CONTROL], "no-cache");
    }

    #[test]
    fn config_setters() {
        let c = HubConfig::default()
            .subscriber_queue(1)
            .history_max_events(2)
            .history_max_bytes(3)
            .keep_alive(None)
            .retry(Some(Duration::from_millis(4)))
            .write_timeout(Duration::from_secs(5));
        assert_eq!(
            (
                c.subscriber_queue,
                c.history_max_events,
                c.history_max_bytes
            ),
            (1, 2, 3)
        );
        assert_eq!(c.keep_alive, None);
        assert_eq!(c.retry, Some(Duration::from_millis(4)));
        assert_eq!(c.write_timeout, Duration::from_secs(5));
    }

    #[tokio::test]
    async fn remembered_events_are_replayed_not_sent() {
        tokio::time::timeout(Duration::from_secs(10), async {
            let hub = Hub::new(HubConfig::default().keep_alive(None));
            let mut live = hub.subscribe(None);
            assert!(hub.remember(&Event::new("old").id("7").unwrap()));
            assert!(!hub.remember(&Event::new("no id")));
            hub.publish(Event::new("new").id("8").unwrap());
            let mut out = Vec::new();
            live.next_batch(&mut out).await.unwrap();
            assert_eq!(text(&out), "id: 8\ndata: new\n\n", "remembered, not sent");
            let mut out = Vec::new();
            hub.subscribe(Some("7")).next_batch(&mut out).await.unwrap();
            assert_eq!(text(&out), "id: 8\ndata: new\n\n");
            let mut out = Vec::new();
            hub.subscribe(None).next_batch(&mut out).await.unwrap();
            assert_eq!(text(&out), "id: 7\ndata: old\n\nid: 8\ndata: new\n\n");
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn a_resume_from_outside_the_history_is_told_so() {
        tokio::time::timeout(Duration::from_secs(10), async {
            let hub = Hub::new(HubConfig::default().history_max_events(2).keep_alive(None));
            for _ in 0..5 {
                hub.publish_with_id(Event::new("e"));
            }
            // "1" was trimmed: the notice, then what is kept (4 and 5).
            let mut out = Vec::new();
            hub.subscribe(Some("1")).next_batch(&mut out).await.unwrap();
            assert_eq!(
                text(&out),
                "event: history-cut\ndata: 1\n\nid: 4\ndata: e\n\nid: 5\ndata: e\n\n"
            );
            // "4" is kept: no notice, only what followed it.
            let mut out = Vec::new();
            hub.subscribe(Some("4")).next_batch(&mut out).await.unwrap();
            assert_eq!(text(&out), "id: 5\ndata: e\n\n");
            // No ID: what is kept, and no notice (nothing was asked for).
            let mut out = Vec::new();
            hub.subscribe(None).next_batch(&mut out).await.unwrap();
            assert_eq!(text(&out), "id: 4\ndata: e\n\nid: 5\ndata: e\n\n");
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn retry_hint_comes_first() {
        tokio::time::timeout(Duration::from_secs(10), async {
            let hub = Hub::new(HubConfig::default().retry(Some(Duration::from_millis(2500))));
            hub.publish_with_id(Event::new("a"));
            let mut sub = hub.subscribe(None);
            let mut out = Vec::new();
            sub.next_batch(&mut out).await.unwrap();
            assert_eq!(text(&out), "retry: 2500\n\nid: 1\ndata: a\n\n");
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn zero_queue_counts_as_one() {
        tokio::time::timeout(Duration::from_secs(10), async {
            let hub = Hub::new(HubConfig::default().subscriber_queue(0));
            let mut sub = hub.subscribe(None);
            assert_eq!(hub.publish(Event::new("a")), 1);
            assert_eq!(hub.publish(Event::new("b")), 0);
            let mut out = Vec::new();
            assert_eq!(sub.next_batch(&mut out).await, None);
            assert!(sub.is_lagged());
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn partial_vectored_writes_resume() {
        /// Accepts at most three bytes per call.
        struct Trickle(Vec<u8>);
        impl AsyncWrite for Trickle {
            fn poll_write(
                mut self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<io::Result<usize>> {
                let n = buf.len().min(3);
                self.0.extend_from_slice(&buf[..n]);
                std::task::Poll::Ready(Ok(n))
            }
            fn poll_write_vectored(
                mut self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> std::task::Poll<io::Result<usize>> {
                let mut n = 0;
                for b in bufs {
                    let take = b.len().min(3 - n);
                    self.0.extend_from_slice(&b[..take]);
                    n += take;
                    if n == 3 {
                        break;
                    }
                }
                std::task::Poll::Ready(Ok(n))
            }
            fn is_write_vectored(&self) -> bool {
                true
            }
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }
            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }
        }
        tokio::time::timeout(Duration::from_secs(10), async {
            let mut w = Trickle(Vec::new());
            let mut chunks = vec![
                Bytes::from_static(b"ab"),
                Bytes::new(),
                Bytes::from_static(b"cdefg"),
                Bytes::from_static(b"h"),
            ];
            write_gathered(&mut w, &mut chunks).await.unwrap();
            assert_eq!(w.0, b"abcdefgh");
        })
        .await
        .unwrap();
    }
}
