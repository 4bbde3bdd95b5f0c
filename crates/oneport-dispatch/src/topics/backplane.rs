//! What carries a publish to the subscribers: this process only, or every
//! process that serves the topic.

use std::fmt;
use std::sync::Weak;

use super::{Inner, TopicMessage};
use crate::dispatcher::BoxFuture;

/// Carries each publish of a [`TopicHub`](super::TopicHub) to the
/// subscribers of its topic in every process that serves it, this one
/// included.
///
/// The in-process [`InProcess`] delivers at once. A broker-backed one
/// (Redis Streams, say) sends the message to the broker in
/// [`publish`](Backplane::publish), reads each topic it was told to
/// [`open`](Backplane::open) with one connection per process, and hands
/// what it reads to [`LocalTopics::deliver`]. The hub's API stays the same
/// whichever backplane is behind it.
///
/// # Ordering
///
/// For one topic, deliveries must reach `deliver` in one order, the same
/// in every process; that order is what subscribers see.
pub trait Backplane: Send + Sync + 'static {
    /// Carries `message` for `topic`, delivering it through `local` here
    /// (now or once the broker echoes it back).
    ///
    /// # Errors
    ///
    /// When the message cannot be carried (the broker is unreachable and
    /// nothing is buffered): the caller learns that this publish is lost.
    fn publish(
        &self,
        topic: &str,
        message: TopicMessage,
        local: &LocalTopics,
    ) -> Result<(), BackplaneError>;

    /// `topic` gained its first subscriber in this process: start carrying
    /// it here. The in-process backplane has nothing to do.
    ///
    /// A broker may need a round trip to fix where this process starts
    /// reading the topic. It then returns a future that completes once it
    /// has: every message published anywhere after that completes reaches
    /// `local`. The hub awaits it before a subscriber's join completes
    /// ([`WsSubscriber::join`](super::WsSubscriber::join)), so that what a
    /// subscriber is told after joining it hears. `None` (the default)
    /// when carrying starts at once.
    fn open(&self, topic: &str, local: &LocalTopics) -> Option<BoxFuture<'static, ()>> {
        let _ = (topic, local);
        None
    }

    /// `topic` gains its first subscriber in this process and it is an
    /// event stream, which may resume from an id published elsewhere: in
    /// place of [`open`](Backplane::open), start carrying the topic here
    /// and return the last `max` id'd messages the broker keeps for it,
    /// oldest first, each with its id, such that what is delivered next
    /// follows the last of them with no gap and no repeat. The hub keeps
    /// them for replay before the subscriber joins.
    ///
    /// `None` (the default, and the in-process backplane's answer) when the
    /// broker keeps nothing beyond what this process saw; the hub then
    /// calls [`open`](Backplane::open).
    fn open_with_history(
        &self,
        topic: &str,
        max: usize,
        local: &LocalTopics,
    ) -> Option<BoxFuture<'static, Result<Vec<TopicMessage>, BackplaneError>>> {
        let _ = (topic, max, local);
        None
    }

    /// Whether the broker keeps each topic's id'd messages itself (and
    /// gives them back through
    /// [`open_with_history`](Backplane::open_with_history)). When it does
    /// not (the default, and the in-process backplane), the hub keeps the
    /// history of topics nobody follows here for a while
    /// ([`TopicConfig::idle_topics`](super::TopicConfig::idle_topics)).
    fn keeps_history(&self) -> bool {
        false
    }

    /// `topic` lost its last subscriber in this process: stop carrying it
    /// here.
    fn close(&self, topic: &str) {
        let _ = topic;
    }
}

/// Why a backplane could not carry a publish.
#[derive(Debug, thiserror::Error)]
#[error("the backplane could not carry the publish: {reason}")]
pub struct BackplaneError {
    reason: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl BackplaneError {
    /// An error with a reason and, optionally, its cause.
    pub fn new(
        reason: impl Into<String>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            reason: reason.into(),
            source,
        }
    }
}

/// The subscribers of this process, as a backplane reaches them. Cheap to
/// clone; it does not keep the hub alive.
#[derive(Clone)]
pub struct LocalTopics {
    inner: Weak<Inner>,
}

impl fmt::Debug for LocalTopics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalTopics")
            .field("alive", &(self.inner.strong_count() > 0))
            .finish()
    }
}

impl LocalTopics {
    pub(super) fn new(inner: Weak<Inner>) -> Self {
        Self { inner }
    }

    /// Hands `message` to this process's subscribers of `topic`; returns
    /// how many took it (0 once the hub is gone).
    pub fn deliver(&self, topic: &str, message: &TopicMessage) -> usize {
        self.inner
            .upgrade()
            .map_or(0, |inner| inner.deliver(topic, message))
    }
}

/// The default backplane: one process, delivered at once, in the order of
/// the `publish` calls.
#[derive(Debug, Clone, Copy, Default)]
pub struct InProcess;

impl Backplane for InProcess {
    fn publish(
        &self,
        topic: &str,
        message: TopicMessage,
        local: &LocalTopics,
    ) -> Result<(), BackplaneError> {
        local.deliver(topic, &message);
        Ok(())
    }
}
