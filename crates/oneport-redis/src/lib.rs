//! A Redis Streams [`Backplane`] for oneport's
//! [`TopicHub`](oneport_dispatch::topics::TopicHub): several server
//! processes share topics, and every subscriber of a topic sees every
//! message published to it, in any process, in one order.
//!
//! # How it carries a message
//!
//! - **Every message goes into the topic's stream** (`XADD` with
//!   `MAXLEN ~`), live-only ones too, marked as such: one stream per topic
//!   is one order per topic, the same in every process, for id'd and
//!   live-only messages alike (pub/sub beside a stream would give two
//!   orders that interleave differently in each process).
//! - **Stream ids are the SSE ids.** A message published with an id (any
//!   value: it marks the message as one to keep) is delivered with the id
//!   Redis gave its entry, so an event stream's `Last-Event-ID` names the
//!   same message in every process.
//! - **One reading connection per process**: a single `XREAD BLOCK` over
//!   every topic this process has subscribers for, and one writing
//!   connection for the publishes. Each process delivers what it reads,
//!   its own publishes included, so it sees the order everyone sees.
//!
//! # Faults
//!
//! - Redis unreachable at start: [`RedisBackplane::connect`] fails with a
//!   clear [`Error`].
//! - Redis goes away while serving: both connections reconnect with
//!   backoff (from [`Config::min_backoff`] doubling to
//!   [`Config::max_backoff`]), and reading resumes after the last entry
//!   seen in each topic, so nothing is skipped that Redis still holds.
//!   Subscribers stay connected meanwhile.
//! - Publishes made while Redis is down are buffered, in order, up to
//!   [`Config::publish_queue`] messages, and written once it is back;
//!   past that bound a publish fails with a [`BackplaneError`] at once.
//! - A publish whose reply was lost (Redis applied it, then went down) is
//!   not written twice: each entry carries its publish's token, and the
//!   writer looks for it among the topic's newest 1 024 entries before
//!   writing again.
//!
//! # Joining
//!
//! When a topic gains its first subscriber in a process, the start point
//! of its reading there is fixed at once (Redis's `TIME`, on a connection
//! kept for such short queries), and the join completes only then: what is
//! published anywhere after a `join` returns reaches the subscriber, even
//! while the reader sits in a blocking read of other topics. Its first
//! delivery may wait for that read to end (at most [`Config::block`]).
//!
//! # Replay across processes
//!
//! When an event stream is a topic's first subscriber in a process, the
//! topic's last entries (as many as the hub's `history_max_events`) are
//! read from Redis (`XREVRANGE`) and kept for replay before it joins, and
//! reading continues right after them: a client that resumes on B with a
//! `Last-Event-ID` it got from A is replayed what followed, and one whose
//! ID is older than what is kept gets the `history-cut` event first.
//! A topic first opened by a WebSocket subscriber replays from what this
//! process read since.
//!
//! # Example
//!
//! ```
//! use oneport_redis::Config;
//!
//! let mut config = Config::default();
//! config.maxlen = 1_000;
//! assert_eq!(config.publish_queue, oneport_redis::DEFAULT_PUBLISH_QUEUE);
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![warn(missing_docs)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use oneport_dispatch::BoxFuture;
use oneport_dispatch::Message;
use oneport_dispatch::topics::{Backplane, BackplaneError, LocalTopics, TopicMessage};
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamRangeReply, StreamReadReply};
use redis::{AsyncConnectionConfig, Client, Value};
use tokio::sync::mpsc;
use tracing::{debug, warn};

/// Default for [`Config::maxlen`]: about 10 000 entries kept per topic.
pub const DEFAULT_MAXLEN: usize = 10_000;
/// Default for [`Config::publish_queue`]: 1 024 messages.
pub const DEFAULT_PUBLISH_QUEUE: usize = 1024;
/// Default for [`Config::block`]: 100 ms.
pub const DEFAULT_BLOCK: Duration = Duration::from_millis(100);
/// Default for [`Config::min_backoff`]: 50 ms.
pub const DEFAULT_MIN_BACKOFF: Duration = Duration::from_millis(50);
/// Default for [`Config::max_backoff`]: 5 s.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Default for [`Config::key_prefix`].
pub const DEFAULT_KEY_PREFIX: &str = "oneport:topic:";

/// Settings of a [`RedisBackplane`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Entries kept per topic stream (`XADD ... MAXLEN ~`): the bound on
    /// what Redis holds for replay. Default [`DEFAULT_MAXLEN`].
    pub maxlen: usize,
    /// Publishes buffered while they wait for Redis (it is slow, or down
    /// and being reconnected to); a publish past this fails at once.
    /// Default [`DEFAULT_PUBLISH_QUEUE`].
    pub publish_queue: usize,
    /// How long one `XREAD` waits for entries; also how long a topic that
    /// gains its first subscriber here may wait for its first delivery
    /// (nothing published after the join completes is missed meanwhile).
    /// Default [`DEFAULT_BLOCK`].
    pub block: Duration,
    /// First wait before reconnecting. Default [`DEFAULT_MIN_BACKOFF`].
    pub min_backoff: Duration,
    /// Longest wait between reconnection attempts. Default
    /// [`DEFAULT_MAX_BACKOFF`].
    pub max_backoff: Duration,
    /// What topic names are prefixed with to make stream keys. Default
    /// [`DEFAULT_KEY_PREFIX`].
    pub key_prefix: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            maxlen: DEFAULT_MAXLEN,
            publish_queue: DEFAULT_PUBLISH_QUEUE,
            block: DEFAULT_BLOCK,
            min_backoff: DEFAULT_MIN_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
        }
    }
}

/// Why the backplane could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not a Redis URL.
    #[error("bad Redis URL: {0}")]
    Url(redis::RedisError),
    /// Redis did not answer at start.
    #[error("cannot reach Redis at {url}: {source}")]
    Unreachable {
        /// The URL tried.
        url: String,
        /// What the connection gave.
        source: redis::RedisError,
    },
}

/// The topics this process reads, with the last entry seen in each.
#[derive(Debug, Default)]
struct Reading {
    last: HashMap<String, String>,
}

#[derive(Debug)]
struct Shared {
    client: Client,
    config: Config,
    /// What tells this backplane's entries from every other's (random).
    instance: String,
    reading: Mutex<Reading>,
    /// The connection for short queries (a topic's start, its history),
    /// made on first use and again after it fails.
    control: tokio::sync::Mutex<Option<MultiplexedConnection>>,
}

impl Shared {
    fn key(&self, topic: &str) -> String {
        format!("{}{topic}", self.config.key_prefix)
    }

    fn reading(&self) -> std::sync::MutexGuard<'_, Reading> {
        self.reading.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A connection whose replies may take as long as a blocking read.
    async fn connection(&self) -> redis::RedisResult<MultiplexedConnection> {
        let config = AsyncConnectionConfig::new()
            .set_response_timeout(Some(self.config.block + Duration::from_secs(5)));
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
    }

    /// Runs `cmd` on the control connection (dropped if it fails, so the
    /// next query makes a new one).
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        let mut slot = self.control.lock().await;
        let mut conn = match &*slot {
            Some(c) => c.clone(),
            None => {
                let c = self.connection().await?;
                *slot = Some(c.clone());
                c
            }
        };
        drop(slot);
        let reply = cmd.query_async(&mut conn).await;
        if reply.is_err() {
            *self.control.lock().await = None;
        }
        reply
    }

    /// Where to read a topic from so as to get every entry added from now
    /// on: just before Redis's clock, which every later entry's id is at
    /// or past.
    async fn start_point(&self) -> redis::RedisResult<String> {
        let now = self.query(&redis::cmd("TIME")).await?;
        Ok(start_after(now))
    }

    /// A connection, retried with backoff until Redis answers.
    async fn reconnect(&self, what: &str) -> MultiplexedConnection {
        let mut wait = self.config.min_backoff;
        loop {
            match self.connection().await {
                Ok(c) => return c,
                Err(e) => {
                    warn!(error = %e, what, ?wait, "Redis unreachable; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(self.config.max_backoff);
                }
            }
        }
    }
}

/// A publish waiting for the writer.
#[derive(Debug)]
struct Publish {
    topic: String,
    message: TopicMessage,
}

/// The topic hub's backplane on Redis Streams (see the crate docs).
///
/// ```no_run
/// use oneport_dispatch::topics::{TopicConfig, TopicHub};
/// use oneport_redis::{Config, RedisBackplane};
///
/// # async fn run() -> Result<(), oneport_redis::Error> {
/// let backplane = RedisBackplane::connect("redis://127.0.0.1:6379", Config::default()).await?;
/// let hub = TopicHub::with_backplane(TopicConfig::default(), backplane);
/// # let _ = hub;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RedisBackplane {
    shared: Arc<Shared>,
    publishes: mpsc::Sender<Publish>,
    /// The local subscribers, once the hub hands them over.
    local: Arc<Mutex<Option<LocalTopics>>>,
    wake: Arc<tokio::sync::Notify>,
}

impl RedisBackplane {
    /// Connects to Redis at `url` (`redis://host:port/db`) and starts the
    /// reading and writing tasks on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error::Url`] for a bad URL, [`Error::Unreachable`] when Redis
    /// does not answer a `PING`.
    pub async fn connect(url: &str, config: Config) -> Result<Self, Error> {
        let client = Client::open(url).map_err(Error::Url)?;
        let shared = Arc::new(Shared {
            client,
            config,
            instance: format!("{:016x}", rand::random::<u64>()),
            reading: Mutex::default(),
            control: tokio::sync::Mutex::default(),
        });
        let unreachable = |source| Error::Unreachable {
            url: url.to_owned(),
            source,
        };
        let mut writer = shared.connection().await.map_err(unreachable)?;
        let _: String = redis::cmd("PING")
            .query_async(&mut writer)
            .await
            .map_err(unreachable)?;
        let reader = shared.connection().await.map_err(unreachable)?;
        let (tx, rx) = mpsc::channel(shared.config.publish_queue.max(1));
        let backplane = Self {
            shared: Arc::clone(&shared),
            publishes: tx,
            local: Arc::default(),
            wake: Arc::default(),
        };
        tokio::spawn(write(Arc::clone(&shared), writer, rx));
        tokio::spawn(read(
            shared,
            reader,
            Arc::clone(&backplane.local),
            Arc::clone(&backplane.wake),
        ));
        Ok(backplane)
    }

    fn remember_local(&self, local: &LocalTopics) {
        let mut slot = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(local.clone());
        }
    }
}

impl Backplane for RedisBackplane {
    fn publish(
        &self,
        topic: &str,
        message: TopicMessage,
        local: &LocalTopics,
    ) -> Result<(), BackplaneError> {
        self.remember_local(local);
        let publish = Publish {
            topic: topic.to_owned(),
            message,
        };
        self.publishes.try_send(publish).map_err(|e| {
            let why = match e {
                mpsc::error::TrySendError::Full(_) => {
                    "the Redis publish queue is full (Redis is slow or down)"
                }
                mpsc::error::TrySendError::Closed(_) => "the Redis writer has stopped",
            };
            BackplaneError::new(why, None)
        })
    }

    fn open(&self, topic: &str, local: &LocalTopics) -> Option<BoxFuture<'static, ()>> {
        self.remember_local(local);
        // "$" until the start point is fixed: by the future below, or by
        // the reader before its next read if the future is dropped.
        self.shared
            .reading()
            .last
            .entry(topic.to_owned())
            .or_insert_with(|| PENDING.to_owned());
        let (shared, wake, topic) = (
            Arc::clone(&self.shared),
            Arc::clone(&self.wake),
            topic.to_owned(),
        );
        Some(Box::pin(async move {
            match shared.start_point().await {
                Ok(from) => {
                    if let Some(id) = shared.reading().last.get_mut(&topic) {
                        if id == PENDING {
                            *id = from;
                        }
                    }
                }
                // The reader fixes it once Redis answers again.
                Err(e) => warn!(error = %e, topic, "cannot fix where to read the topic from"),
            }
            wake.notify_one();
        }))
    }

    fn open_with_history(
        &self,
        topic: &str,
        max: usize,
        local: &LocalTopics,
    ) -> Option<BoxFuture<'static, Result<Vec<TopicMessage>, BackplaneError>>> {
        self.remember_local(local);
        let (shared, wake, topic) = (
            Arc::clone(&self.shared),
            Arc::clone(&self.wake),
            topic.to_owned(),
        );
        Some(Box::pin(async move {
            // The clock first, then the tail: if the stream is empty, every
            // entry added later is past the clock.
            let now = shared.start_point().await;
            let tail = tail(&shared, &topic, max).await;
            let from = match (&tail, now) {
                (Ok((_, Some(last))), _) => last.clone(),
                (_, Ok(now)) => now,
                // Redis did not answer: the reader fixes it once it does.
                (_, Err(_)) => PENDING.to_owned(),
            };
            shared.reading().last.insert(topic, from);
            wake.notify_one();
            tail.map(|(messages, _)| messages)
        }))
    }

    fn keeps_history(&self) -> bool {
        true
    }

    fn close(&self, topic: &str) {
        self.shared.reading().last.remove(topic);
    }
}

/// A topic's position before its start point is fixed.
const PENDING: &str = "$";

/// The stream position just before the millisecond of Redis's clock
/// `(seconds, microseconds)`: every entry added at or after it is past it.
fn start_after((secs, micros): (u64, u64)) -> String {
    let ms = secs.saturating_mul(1000).saturating_add(micros / 1000);
    format!("{}-{}", ms.saturating_sub(1), u64::MAX)
}

/// The last `max` id'd messages of `topic`'s stream, oldest first, and the
/// id of its last entry. Live-only entries in between are skipped; the
/// scan reads at most four times `max` entries, newest first, in pages.
async fn tail(
    shared: &Shared,
    topic: &str,
    max: usize,
) -> Result<(Vec<TopicMessage>, Option<String>), BackplaneError> {
    let failed = |e: redis::RedisError| {
        BackplaneError::new("reading the history from Redis", Some(Box::new(e)))
    };
    let max = max.max(1);
    let (mut newest_first, mut last, mut end) = (Vec::new(), None, "+".to_owned());
    let mut scanned = 0;
    while newest_first.len() < max && scanned < max.saturating_mul(4) {
        let mut cmd = redis::cmd("XREVRANGE");
        cmd.arg(shared.key(topic))
            .arg(&end)
            .arg("-")
            .arg("COUNT")
            .arg(max);
        let reply: StreamRangeReply = shared.query(&cmd).await.map_err(failed)?;
        let Some(oldest) = reply.ids.last() else {
            break;
        };
        end = format!("({}", oldest.id);
        scanned += reply.ids.len();
        if last.is_none() {
            last = reply.ids.first().map(|e| e.id.clone());
        }
        newest_first.extend(
            reply
                .ids
                .iter()
                .filter_map(|e| message_of(&e.id, &e.map))
                .filter(|m| m.id_str().is_some()),
        );
    }
    newest_first.truncate(max);
    newest_first.reverse();
    Ok((newest_first, last))
}

/// The stream entry's fields for `message`: whether it is kept (`k`: `i`
/// for id'd, `l` for live-only), its kind (`t`: text or binary), its event
/// name (`e`), its data (`d`) and the publish's token (`p`, which tells
/// whether a publish whose reply was lost was written).
fn fields(message: &TopicMessage, token: &str) -> Vec<(&'static str, Bytes)> {
    let kept = if message.id_str().is_some() { "i" } else { "l" };
    let (kind, data) = match message.to_message() {
        Message::Text(t) => ("t", t.into_bytes()),
        Message::Binary(b) => ("b", b),
        _ => ("t", Bytes::new()),
    };
    let mut out = vec![
        ("k", Bytes::from_static(kept.as_bytes())),
        ("t", Bytes::from_static(kind.as_bytes())),
        ("d", data),
        ("p", Bytes::copy_from_slice(token.as_bytes())),
    ];
    if let Some(e) = message.event_str() {
        out.push(("e", Bytes::copy_from_slice(e.as_bytes())));
    }
    out
}

/// The message an entry carries, with the entry's id as its id when it
/// was published with one.
fn message_of(id: &str, map: &HashMap<String, Value>) -> Option<TopicMessage> {
    let field = |name: &str| match map.get(name) {
        Some(Value::BulkString(b)) => Some(b.clone()),
        Some(Value::SimpleString(s)) => Some(s.clone().into_bytes()),
        _ => None,
    };
    let data = field("d")?;
    let mut message = match field("t").as_deref() {
        Some(b"b") => TopicMessage::binary(data),
        _ => TopicMessage::text(String::from_utf8(data).ok()?),
    };
    if field("k").as_deref() == Some(b"i") {
        message = message.id(id).ok()?;
    }
    if let Some(e) = field("e") {
        message = message.event(String::from_utf8(e).ok()?).ok()?;
    }
    Some(message)
}

/// Writes publishes in order; a publish that fails is retried after a
/// reconnection, so none is dropped or reordered while Redis is away. A
/// failed `XADD` may still have been written (Redis applied it and went
/// down before replying): before writing it again, the topic's newest
/// entries are searched for its token, so it is not written twice.
async fn write(
    shared: Arc<Shared>,
    mut conn: MultiplexedConnection,
    mut rx: mpsc::Receiver<Publish>,
) {
    let mut seq: u64 = 0;
    while let Some(publish) = rx.recv().await {
        let key = shared.key(&publish.topic);
        seq += 1;
        let token = format!("{}:{seq}", shared.instance);
        let fields = fields(&publish.message, &token);
        let mut uncertain = false;
        loop {
            if uncertain {
                match written(&mut conn, &key, &token).await {
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(e) => {
                        warn!(error = %e, topic = publish.topic, "cannot check a publish; reconnecting");
                        tokio::time::sleep(shared.config.min_backoff).await;
                        conn = shared.reconnect("writer").await;
                        continue;
                    }
                }
            }
            let mut cmd = redis::cmd("XADD");
            cmd.arg(&key)
                .arg("MAXLEN")
                .arg("~")
                .arg(shared.config.maxlen)
                .arg("*");
            for (k, v) in &fields {
                cmd.arg(*k).arg(v.as_ref());
            }
            match cmd.query_async::<String>(&mut conn).await {
                Ok(_) => break,
                Err(e) => {
                    warn!(error = %e, topic = publish.topic, "XADD failed; reconnecting");
                    uncertain = true;
                    tokio::time::sleep(shared.config.min_backoff).await;
                    conn = shared.reconnect("writer").await;
                }
            }
        }
    }
}

/// Entries searched, newest first, for a publish whose reply was lost:
/// what other processes may add to the topic between that publish and
/// the check. A publish further back than this is written again.
const RECHECK_DEPTH: usize = 1024;

/// Whether an entry of `key`'s stream, among its newest
/// [`RECHECK_DEPTH`], carries `token`.
async fn written(
    conn: &mut MultiplexedConnection,
    key: &str,
    token: &str,
) -> redis::RedisResult<bool> {
    let (mut end, mut scanned) = ("+".to_owned(), 0);
    while scanned < RECHECK_DEPTH {
        let reply: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(key)
            .arg(&end)
            .arg("-")
            .arg("COUNT")
            .arg(128)
            .query_async(conn)
            .await?;
        let Some(oldest) = reply.ids.last() else {
            return Ok(false);
        };
        let ours = |v: Option<&Value>| match v {
            Some(Value::BulkString(b)) => b == token.as_bytes(),
            _ => false,
        };
        if reply.ids.iter().any(|e| ours(e.map.get("p"))) {
            debug!(
                key,
                token, "a publish whose reply was lost had been written"
            );
            return Ok(true);
        }
        end = format!("({}", oldest.id);
        scanned += reply.ids.len();
    }
    Ok(false)
}

/// Reads every open topic with one blocking `XREAD` at a time, delivers
/// what it reads, and resumes after the last entry seen when the
/// connection comes back.
async fn read(
    shared: Arc<Shared>,
    mut conn: MultiplexedConnection,
    local: Arc<Mutex<Option<LocalTopics>>>,
    wake: Arc<tokio::sync::Notify>,
) {
    loop {
        let topics: Vec<(String, String)> = shared
            .reading()
            .last
            .iter()
            .map(|(t, id)| (t.clone(), id.clone()))
            .collect();
        if topics.is_empty() {
            wake.notified().await;
            continue;
        }
        // A topic whose start was not fixed when it opened (Redis did not
        // answer then) starts at Redis's clock, fixed now, so that a
        // reconnection later never skips what was added meanwhile.
        if topics.iter().any(|(_, id)| id == PENDING) {
            match redis::cmd("TIME").query_async(&mut conn).await {
                Ok(now) => {
                    let from = start_after(now);
                    let mut reading = shared.reading();
                    for id in reading.last.values_mut().filter(|id| *id == PENDING) {
                        id.clone_from(&from);
                    }
                }
                Err(e) => {
                    warn!(error = %e, "TIME failed; reconnecting");
                    tokio::time::sleep(shared.config.min_backoff).await;
                    conn = shared.reconnect("reader").await;
                }
            }
            continue;
        }
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("BLOCK")
            .arg(shared.config.block.as_millis() as u64)
            .arg("STREAMS");
        for (topic, _) in &topics {
            cmd.arg(shared.key(topic));
        }
        for (_, id) in &topics {
            cmd.arg(id);
        }
        let reply: Option<StreamReadReply> = match cmd.query_async(&mut conn).await {
            Ok(r) => r,
            Err(e) => {
                warn!(error = %e, "XREAD failed; reconnecting");
                tokio::time::sleep(shared.config.min_backoff).await;
                conn = shared.reconnect("reader").await;
                continue;
            }
        };
        let Some(reply) = reply else {
            continue;
        };
        let local = local.lock().unwrap_or_else(PoisonError::into_inner).clone();
        for stream in reply.keys {
            let Some(topic) = stream.key.strip_prefix(&shared.config.key_prefix) else {
                continue;
            };
            for entry in &stream.ids {
                match message_of(&entry.id, &entry.map) {
                    Some(m) => {
                        if let Some(local) = &local {
                            local.deliver(topic, &m);
                        }
                    }
                    None => debug!(topic, id = entry.id, "an entry that is not a message"),
                }
            }
            if let Some(last) = stream.ids.last() {
                if let Some(seen) = shared.reading().last.get_mut(topic) {
                    *seen = last.id.clone();
                }
            }
        }
    }
}
