//! The Server-Sent Events dispatcher.

use std::sync::Arc;

use http::{HeaderValue, Method, header};
use oneport_rfc6455::OriginPolicy;
use oneport_sse::{Hub, Subscription, SubscriptionError};
use tokio::io::{AsyncReadExt, AsyncWrite};
use tracing::debug;

use crate::dispatcher::{BoxFuture, Context, Dispatcher, Outcome, Request, Upgrade};
use crate::topics::{TopicHub, TopicSse};

/// Serves an event stream from `hub` to every `GET` offered to it (other
/// methods are declined), like the Racket SSE package's `sse-dispatcher`.
///
/// The response is `200` with `Content-Type: text/event-stream` and
/// `Cache-Control: no-cache`, delimited by closing the connection (so it
/// works with HTTP/1.0 clients too). A `Last-Event-ID` request header
/// resumes after that id from the hub's kept history. The stream ends when
/// the client goes away, when it falls too far behind (its bounded queue
/// fills), or when the hub is closed or the server shuts down.
///
/// # Examples
///
/// ```
/// use oneport_dispatch::{filter, sse};
/// use oneport_sse::{Hub, HubConfig};
///
/// let hub = Hub::new(HubConfig::default());
/// let events = filter("^/events$", sse(hub.clone()));
/// # let _ = events;
/// ```
pub fn sse(hub: Hub) -> SseDispatcher {
    SseDispatcher {
        source: Source::Hub(hub),
        options: SseOptions::default(),
    }
}

/// Serves the event stream of one topic of `hub` to every `GET` for which
/// `topic_of` names a topic (others are declined): the read-only feed of a
/// chat room beside its WebSockets, say. Replay and `Last-Event-ID` work
/// per topic, as for [`sse`].
///
/// # Examples
///
/// ```
/// use oneport_dispatch::{filter, topic_events, Request};
/// use oneport_dispatch::topics::TopicHub;
///
/// let hub = TopicHub::default();
/// let feed = filter("^/rooms/[a-z]+/events$", topic_events(hub, |req: &Request| {
///     req.uri().path().split('/').nth(2).map(str::to_owned)
/// }));
/// # let _ = feed;
/// ```
pub fn topic_events<F>(hub: TopicHub, topic_of: F) -> SseDispatcher
where
    F: Fn(&Request) -> Option<String> + Send + Sync + 'static,
{
    SseDispatcher {
        source: Source::Topics {
            hub,
            topic_of: Arc::new(topic_of),
        },
        options: SseOptions::default(),
    }
}

/// Names the topic a request's stream follows, or declines it.
type TopicOf = Arc<dyn Fn(&Request) -> Option<String> + Send + Sync>;

/// Where a stream's events come from.
#[derive(Clone)]
enum Source {
    Hub(Hub),
    Topics { hub: TopicHub, topic_of: TopicOf },
}

/// One stream's subscription.
enum Feed {
    Hub(Subscription),
    Topic(TopicSse),
}

impl Feed {
    async fn forward<W: AsyncWrite + Unpin>(self, w: &mut W) -> Result<(), SubscriptionError> {
        match self {
            Feed::Hub(sub) => sub.forward(w).await,
            Feed::Topic(sub) => sub.forward(w).await,
        }
    }
}

/// Settings of the SSE dispatcher and [`sse_serve`](crate::sse_serve).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SseOptions {
    /// Which pages of other origins may read the stream (CORS). A browser
    /// lets an `EventSource` on another origin (another port, or a page
    /// opened from a file, whose origin is `null`) read the events only
    /// when the response names that origin in
    /// `Access-Control-Allow-Origin`:
    ///
    /// - [`OriginPolicy::SameHost`]: no CORS header; only same-origin pages
    ///   can read the stream (a request without `Origin` is served as
    ///   always);
    /// - [`OriginPolicy::AllowList`]: a listed origin is echoed back, with
    ///   `Vary: Origin`; others get no CORS header, so the browser hides
    ///   the stream from them;
    /// - [`OriginPolicy::Any`]: `Access-Control-Allow-Origin: *`.
    ///
    /// Credentials (`withCredentials`) are not allowed.
    ///
    /// Default is [`OriginPolicy::SameHost`].
    pub cors: OriginPolicy,
}

impl SseOptions {
    /// Sets the CORS policy.
    pub fn cors(mut self, policy: OriginPolicy) -> Self {
        self.cors = policy;
        self
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`.
    fn allow_origin(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        match &self.cors {
            OriginPolicy::Any => Some(HeaderValue::from_static("*")),
            OriginPolicy::AllowList(list) => {
                let origin = origin?;
                let text = origin.to_str().ok()?.trim();
                list.iter()
                    .any(|o| o.eq_ignore_ascii_case(text))
                    .then(|| origin.clone())
            }
            // Same-host pages need no CORS header (and a policy added later
            // allows nothing until it is handled here).
            _ => None,
        }
    }
}

/// The dispatcher returned by [`sse`] and [`topic_events`].
#[derive(Clone)]
pub struct SseDispatcher {
    source: Source,
    options: SseOptions,
}

impl SseDispatcher {
    /// Replaces the options.
    pub fn options(mut self, options: SseOptions) -> Self {
        self.options = options;
        self
    }
}

impl std::fmt::Debug for SseDispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("SseDispatcher");
        match &self.source {
            Source::Hub(hub) => d.field("subscribers", &hub.subscriber_count()),
            Source::Topics { hub, .. } => d.field("topics", &hub.topic_count()),
        };
        d.field("options", &self.options).finish()
    }
}

impl Dispatcher for SseDispatcher {
    fn may_accept(&self, req: &Request) -> bool {
        req.method() == Method::GET
    }

    fn dispatch<'a>(&'a self, req: Request, _cx: &'a Context) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            if req.method() != Method::GET {
                return Outcome::Declined(req);
            }
            let topic = match &self.source {
                Source::Hub(_) => None,
                Source::Topics { topic_of, .. } => match topic_of(&req) {
                    Some(t) => Some(t),
                    None => return Outcome::Declined(req),
                },
            };
            let last_id = req
                .headers()
                .get("last-event-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let mut head = oneport_sse::response_head();
            if let Some(allow) = self.options.allow_origin(req.headers().get(header::ORIGIN)) {
                head.headers_mut()
                    .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
            }
            if matches!(self.options.cors, OriginPolicy::AllowList(_)) {
                head.headers_mut()
                    .insert(header::VARY, HeaderValue::from_static("origin"));
            }
            let sub = match (&self.source, topic) {
                (Source::Hub(hub), _) => Feed::Hub(hub.subscribe(last_id.as_deref())),
                (Source::Topics { hub, .. }, Some(topic)) => {
                    Feed::Topic(hub.subscribe_sse_resuming(&topic, last_id.as_deref()).await)
                }
                (Source::Topics { .. }, None) => return Outcome::Declined(req),
            };
            // The server writes the head (a `200` whose body runs until the
            // connection closes); the takeover streams the events.
            Outcome::Upgrade(
                Upgrade::new(head, move |up| async move {
                    let mut shutdown = up.shutdown;
                    // Owned halves: under TLS both sides share one session.
                    let (mut rd, mut wr) = tokio::io::split(up.io);
                    // The client sends nothing more; reading tells us when it
                    // goes away even while no events flow.
                    let gone = async {
                        let mut scratch = [0u8; 64];
                        loop {
                            match rd.read(&mut scratch).await {
                                Ok(0) | Err(_) => return,
                                Ok(_) => {}
                            }
                        }
                    };
                    tokio::select! {
                        r = sub.forward(&mut wr) => {
                            if let Err(e) = r {
                                debug!(error = %e, "event stream ended");
                            }
                        }
                        () = gone => debug!("event-stream client went away"),
                        () = shutdown.wait() => debug!("event stream closed for shutdown"),
                    }
                    let _ = tokio::io::AsyncWriteExt::shutdown(&mut wr).await;
                })
                .protocol("sse"),
            )
        })
    }
}
