//! An `EventSource`-style client (feature `tokio`): HTTP/1.1 over TCP for
//! `http://` URLs, reconnecting with `Last-Event-ID` as WHATWG HTML §9.2.3
//! describes.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use futures_core::Stream;
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, HOST, HeaderValue};
use http::{Request, StatusCode, Uri};
use oneport_http1::{BodyLength, ChunkedDecoder, Limits, ResponseBody};
use oneport_net::{ClientStream, Security, TlsClientConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::ClientError;
use crate::parser::{ParsedEvent, Parser, ParserLimits};

/// Default for [`ClientConfig::connect_timeout`]: 10 seconds.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for [`ClientConfig::read_timeout`]: 60 seconds (four times the
/// hub's default keep-alive interval).
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Default for [`ClientConfig::retry`]: 3 seconds.
pub const DEFAULT_RETRY: Duration = Duration::from_secs(3);
/// Default for [`ClientConfig::max_retry`]: 60 seconds.
pub const DEFAULT_MAX_RETRY: Duration = Duration::from_secs(60);
/// Default for [`ClientConfig::max_reconnect_attempts`]: 16.
pub const DEFAULT_MAX_RECONNECT_ATTEMPTS: u32 = 16;
/// Default for [`ClientConfig::max_head_bytes`]: 16 KiB.
pub const DEFAULT_MAX_RESPONSE_HEAD: usize = 16 * 1024;

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 8 * 1024;

/// Settings of an [`EventSource`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use oneport_sse::{ClientConfig, ParserLimits};
///
/// let config = ClientConfig::default()
///     .retry(Duration::from_millis(500))
///     .last_event_id("41")
///     .parser_limits(ParserLimits::default().max_data_len(64 * 1024));
/// assert_eq!(config.max_reconnect_attempts, 16);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Longest wait to connect, name lookup included; it also bounds sending
    /// the request. Default is [`DEFAULT_CONNECT_TIMEOUT`] (10 s).
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes from the server, for the response
    /// head and for the stream; it should exceed the server's keep-alive
    /// interval. Default is [`DEFAULT_READ_TIMEOUT`] (60 s).
    pub read_timeout: Duration,
    /// Wait before reconnecting, until the stream sets its own with a
    /// `retry` field. Default is [`DEFAULT_RETRY`] (3 s).
    pub retry: Duration,
    /// Cap on the wait before reconnecting, whatever the stream asks for.
    /// Default is [`DEFAULT_MAX_RETRY`] (60 s).
    pub max_retry: Duration,
    /// Connection attempts in a row that may fail (to connect, or to get a
    /// response head) before the client gives up with
    /// [`ClientError::ReconnectLimit`]. A successful connection resets the
    /// count. Default is [`DEFAULT_MAX_RECONNECT_ATTEMPTS`] (16).
    pub max_reconnect_attempts: u32,
    /// Largest response head. Default is [`DEFAULT_MAX_RESPONSE_HEAD`]
    /// (16 KiB).
    pub max_head_bytes: usize,
    /// Bounds on the event-stream parser. Default is
    /// [`ParserLimits::default()`].
    pub parser: ParserLimits,
    /// Last event ID to start from, sent in `Last-Event-ID` on the first
    /// connection (to resume a stream read earlier). Default is empty (none
    /// sent).
    pub last_event_id: String,
    /// The roots trusted for `https://` (the `tls` feature). Default is
    /// `None`: the platform's root certificates.
    pub tls: Option<TlsClientConfig>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            retry: DEFAULT_RETRY,
            max_retry: DEFAULT_MAX_RETRY,
            max_reconnect_attempts: DEFAULT_MAX_RECONNECT_ATTEMPTS,
            max_head_bytes: DEFAULT_MAX_RESPONSE_HEAD,
            parser: ParserLimits::default(),
            last_event_id: String::new(),
            tls: None,
        }
    }
}

impl ClientConfig {
    /// Sets the roots trusted for `https://` ([`tls`](Self::tls)).
    #[must_use]
    pub fn tls(mut self, tls: TlsClientConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    #[must_use]
    pub fn connect_timeout(mut self, limit: Duration) -> Self {
        self.connect_timeout = limit;
        self
    }

    /// Sets [`read_timeout`](Self::read_timeout).
    #[must_use]
    pub fn read_timeout(mut self, limit: Duration) -> Self {
        self.read_timeout = limit;
        self
    }

    /// Sets [`retry`](Self::retry).
    #[must_use]
    pub fn retry(mut self, wait: Duration) -> Self {
        self.retry = wait;
        self
    }

    /// Sets [`max_retry`](Self::max_retry).
    #[must_use]
    pub fn max_retry(mut self, cap: Duration) -> Self {
        self.max_retry = cap;
        self
    }

    /// Sets [`max_reconnect_attempts`](Self::max_reconnect_attempts).
    #[must_use]
    pub fn max_reconnect_attempts(mut self, n: u32) -> Self {
        self.max_reconnect_attempts = n;
        self
    }

    /// Sets [`max_head_bytes`](Self::max_head_bytes).
    #[must_use]
    pub fn max_head_bytes(mut self, n: usize) -> Self {
        self.max_head_bytes = n;
        self
    }

    /// Sets [`parser`](Self::parser).
    #[must_use]
    pub fn parser_limits(mut self, limits: ParserLimits) -> Self {
        self.parser = limits;
        self
    }

    /// Sets [`last_event_id`](Self::last_event_id).
    #[must_use]
    pub fn last_event_id(mut self, id: impl Into<String>) -> Self {
        self.last_event_id = id.into();
        self
    }
}

/// An async stream of events from an `http://` URL, like a browser's
/// `EventSource`.
///
/// It sends `GET` with `Accept: text/event-stream`, checks for `200` and
/// `Content-Type: text/event-stream`, and parses the body (plain,
/// `Content-Length` or chunked). When the connection ends or fails it waits
/// the reconnection time (the stream's `retry`, else
/// [`ClientConfig::retry`], capped at [`ClientConfig::max_retry`]) and
/// connects again with `Last-Event-ID`. Network errors are yielded as
/// non-fatal errors before reconnecting; a wrong status, content type or
/// malformed response ends the stream, and `204 No Content` ends it
/// without an error. Redirects are not followed, and `https://` is not
/// supported.
///
/// It implements [`Stream`]; [`next_event`](Self::next_event) is the same
/// without the trait. Both are cancel-safe: a call dropped while waiting
/// loses nothing, the next call continues where it stopped.
///
/// # Examples
///
/// ```no_run
/// use oneport_sse::EventSource;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), oneport_sse::ClientError> {
/// let mut source = EventSource::new("http://127.0.0.1:8080/events")?;
/// while let Some(item) = source.next_event().await {
///     match item {
///         Ok(event) => println!("{}: {}", event.event_type, event.data),
///         Err(e) if e.is_fatal() => return Err(e),
///         Err(e) => eprintln!("reconnecting after: {e}"),
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub struct EventSource {
    state: State,
    last_event_id: String,
}

type Step = (Box<Inner>, Option<Result<ParsedEvent, ClientError>>);

enum State {
    Idle(Box<Inner>),
    Busy(Pin<Box<dyn Future<Output = Step> + Send>>),
    Done,
}

impl fmt::Debug for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Idle(_) => "idle",
            State::Busy(_) => "waiting",
            State::Done => "done",
        };
        f.debug_struct("EventSource")
            .field("state", &state)
            .field("last_event_id", &self.last_event_id)
            .finish()
    }
}

impl EventSource {
    /// An event source for `url` with the default [`ClientConfig`]. Nothing
    /// connects until the first event is asked for.
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidUrl`] if `url` is not an absolute `http://`
    /// URL with a host.
    pub fn new(url: &str) -> Result<Self, ClientError> {
        Self::with_config(url, ClientConfig::default())
    }

    /// An event source for `url` with `config`.
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidUrl`] if `url` is not an absolute `http://`
    /// URL with a host.
    pub fn with_config(url: &str, config: ClientConfig) -> Result<Self, ClientError> {
        let target = Target::parse(url)?;
        let mut parser = Parser::new(config.parser.clone());
        parser.set_last_event_id(&config.last_event_id);
        let last_event_id = config.last_event_id.clone();
        let inner = Inner {
            config,
            target,
            parser,
            conn: None,
            buf: BytesMut::new(),
            attempts: 0,
            first: true,
            failed: None,
            done: false,
        };
        Ok(EventSource {
            state: State::Idle(Box::new(inner)),
            last_event_id,
        })
    }

    /// The next event, or a non-fatal error followed by a reconnection, or a
    /// fatal error; `None` once the stream has ended.
    pub async fn next_event(&mut self) -> Option<Result<ParsedEvent, ClientError>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// The last event ID: the id of the last event yielded, or a later id
    /// the stream set without data. It is sent as `Last-Event-ID` on
    /// reconnection.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }
}

impl Stream for EventSource {
    type Item = Result<ParsedEvent, ClientError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            match std::mem::replace(&mut this.state, State::Done) {
                State::Done => return Poll::Ready(None),
                State::Idle(mut inner) => {
                    this.state = State::Busy(Box::pin(async move {
                        let item = inner.next().await;
                        (inner, item)
                    }));
                }
                State::Busy(mut fut) => {
                    let Poll::Ready((inner, item)) = fut.as_mut().poll(cx) else {
                        this.state = State::Busy(fut);
                        return Poll::Pending;
                    };
                    match &item {
                        Some(Ok(ev)) if inner.parser.pending_events() > 0 => {
                            this.last_event_id.clone_from(&ev.last_event_id);
                        }
                        _ => this.last_event_id = inner.parser.last_event_id().to_owned(),
                    }
                    if item.is_some() {
                        this.state = State::Idle(inner);
                    }
                    return Poll::Ready(item);
                }
            }
        }
    }
}

/// Where to connect and what to ask for.
#[derive(Debug)]
struct Target {
    /// Plain or TLS, from the scheme.
    security: Security,
    /// Host for the socket (IPv6 without brackets).
    host: String,
    port: u16,
    /// `Host` header value.
    host_header: HeaderValue,
    /// Origin-form request target.
    path: Uri,
}

impl Target {
    fn parse(url: &str) -> Result<Self, ClientError> {
        let invalid = |why: &str| ClientError::InvalidUrl(format!("{url}: {why}"));
        let uri: Uri = url.parse().map_err(|_| invalid("not a URI"))?;
        let security = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("http") => Security::Plain,
            Some(s) if s.eq_ignore_ascii_case("https") && cfg!(feature = "tls") => Security::Tls,
            _ if cfg!(feature = "tls") => {
                return Err(invalid("only http:// and https:// URLs are supported"));
            }
            _ => {
                return Err(invalid(
                    "only http:// URLs are supported (https:// needs the tls feature)",
                ));
            }
        };
        let authority = uri.authority().ok_or_else(|| invalid("no host"))?;
        let host = authority.host();
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let port = authority.port_u16().unwrap_or(security.default_port());
        let host_header = match authority.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        let host_header = HeaderValue::from_str(&host_header).map_err(|_| invalid("bad host"))?;
        let path = uri
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .parse::<Uri>()
            .map_err(|_| invalid("bad path"))?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .to_owned();
        Ok(Target {
            security,
            host,
            port,
            host_header,
            path,
        })
    }
}

/// How the body of the current response ends.
#[derive(Debug)]
enum Body {
    Chunked(ChunkedDecoder),
    Length(u64),
    UntilClose,
}

#[derive(Debug)]
struct Conn {
    stream: ClientStream,
    body: Body,
}

/// What one connection attempt ended with, besides a connection.
enum ConnectError {
    /// `204 No Content`: the server asks the client to stop.
    Stop,
    Failed(ClientError),
}

impl From<ClientError> for ConnectError {
    fn from(e: ClientError) -> Self {
        ConnectError::Failed(e)
    }
}

/// The client's state machine; lives inside the future while one is running.
#[derive(Debug)]
struct Inner {
    config: ClientConfig,
    target: Target,
    parser: Parser,
    conn: Option<Conn>,
    /// Bytes read from the socket and not yet handled.
    buf: BytesMut,
    /// Connection attempts that failed in a row.
    attempts: u32,
    /// No connection has been attempted yet (no wait before it).
    first: bool,
    /// An error to yield once the events before it are taken.
    failed: Option<ClientError>,
    /// The stream has ended; only queued events remain.
    done: bool,
}

impl Inner {
    async fn next(&mut self) -> Option<Result<ParsedEvent, ClientError>> {
        loop {
            if let Some(ev) = self.parser.poll_event() {
                return Some(Ok(ev));
            }
            if let Some(err) = self.failed.take() {
                if err.is_fatal() {
                    self.done = true;
                }
                return Some(Err(err));
            }
            if self.done {
                return None;
            }
            if self.conn.is_none() {
                if self.attempts >= self.config.max_reconnect_attempts {
                    self.done = true;
                    return Some(Err(ClientError::ReconnectLimit(self.attempts)));
                }
                if !self.first {
                    tokio::time::sleep(self.reconnect_delay()).await;
                }
                self.first = false;
                match self.connect().await {
                    Ok(conn) => {
                        self.attempts = 0;
                        self.conn = Some(conn);
                    }
                    Err(ConnectError::Stop) => self.done = true,
                    Err(ConnectError::Failed(err)) => {
                        self.attempts = self.attempts.saturating_add(1);
                        self.failed = Some(err);
                    }
                }
                continue;
            }
            match self.read_body().await {
                Ok(true) => {}
                Ok(false) => self.end_connection(),
                Err(err) => {
                    self.end_connection();
                    self.failed = Some(err);
                }
            }
        }
    }

    fn reconnect_delay(&self) -> Duration {
        self.parser
            .retry()
            .unwrap_or(self.config.retry)
            .min(self.config.max_retry)
    }

    fn end_connection(&mut self) {
        self.conn = None;
        self.buf.clear();
        self.parser.receive_eof();
    }

    /// Connects, sends the request and reads the response head.
    async fn connect(&mut self) -> Result<Conn, ConnectError> {
        self.buf.clear();
        let target = &self.target;
        let connect_timeout = self.config.connect_timeout;
        // TCP (with TCP_NODELAY: events are small and latency matters
        // more than packet count), then TLS for https://.
        let mut stream = tokio::time::timeout(
            connect_timeout,
            oneport_net::connect(
                &target.host,
                target.port,
                target.security,
                self.config.tls.as_ref(),
            ),
        )
        .await
        .map_err(|_| ClientError::ConnectTimeout)?
        .map_err(ClientError::Connect)?;

        let mut request = Request::new(());
        *request.uri_mut() = target.path.clone();
        let headers = request.headers_mut();
        headers.insert(HOST, target.host_header.clone());
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        let id = self.parser.last_event_id();
        if !id.is_empty() {
            // An id with control characters cannot be a header value; then
            // the server sees a fresh client.
            if let Ok(value) = HeaderValue::from_bytes(id.as_bytes()) {
                headers.insert("last-event-id", value);
            }
        }
        let mut head = BytesMut::new();
        oneport_http1::encode_request_head(&request, BodyLength::None, &mut head);
        let send = async {
            stream.write_all(&head).await?;
            // Under TLS the records may wait in the session until flushed.
            stream.flush().await
        };
        tokio::time::timeout(connect_timeout, send)
            .await
            .map_err(|_| ClientError::ConnectTimeout)?
            .map_err(ClientError::Io)?;

        // The body of an event stream has no length limit: it is consumed
        // as it arrives, and the parser bounds what is buffered.
        let limits = Limits::default()
            .max_head_bytes(self.config.max_head_bytes)
            .max_body_bytes(u64::MAX);
        let (response, used) = loop {
            if let Some(parsed) =
                oneport_http1::parse_response(&self.buf, &limits).map_err(ClientError::Http)?
            {
                break parsed;
            }
            if self.read_more(&mut stream).await? == 0 {
                return Err(ClientError::Io(std::io::ErrorKind::UnexpectedEof.into()).into());
            }
        };
        self.buf.advance(used);

        let status = response.response.status();
        if status == StatusCode::NO_CONTENT {
            return Err(ConnectError::Stop);
        }
        if status != StatusCode::OK {
            return Err(ClientError::Status(status).into());
        }
        let is_event_stream = response
            .response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/event-stream"));
        if !is_event_stream {
            return Err(ClientError::ContentType.into());
        }
        let body = match response.body {
            ResponseBody::Empty => Body::Length(0),
            ResponseBody::Length(n) => Body::Length(n),
            ResponseBody::Chunked => Body::Chunked(ChunkedDecoder::new(&limits)),
            ResponseBody::UntilClose => Body::UntilClose,
        };
        Ok(Conn { stream, body })
    }

    /// One read, bounded by the read timeout.
    async fn read_more(&mut self, stream: &mut ClientStream) -> Result<usize, ClientError> {
        self.buf.reserve(READ_CHUNK);
        tokio::time::timeout(self.config.read_timeout, stream.read_buf(&mut self.buf))
            .await
            .map_err(|_| ClientError::ReadTimeout)?
            .map_err(ClientError::Io)
    }

    /// Feeds buffered body bytes to the parser, reading first if there are
    /// none. `Ok(false)` when the body (or the connection) has ended.
    async fn read_body(&mut self) -> Result<bool, ClientError> {
        let Some(mut conn) = self.conn.take() else {
            return Ok(false);
        };
        if matches!(conn.body, Body::Length(0)) {
            return Ok(false);
        }
        if self.buf.is_empty() {
            let read = self.read_more(&mut conn.stream).await;
            match read {
                Ok(0) => return Ok(false),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        let open = match &mut conn.body {
            Body::UntilClose => {
                self.parser.feed(&self.buf)?;
                self.buf.clear();
                true
            }
            Body::Length(left) => {
                let take = usize::try_from(*left).map_or(self.buf.len(), |l| l.min(self.buf.len()));
                let chunk = self.buf.split_to(take);
                *left -= chunk.len() as u64;
                self.parser.feed(&chunk)?;
                *left > 0
            }
            Body::Chunked(decoder) => {
                let mut decoded = BytesMut::with_capacity(self.buf.len());
                let used = decoder.decode(&self.buf, &mut decoded)?;
                self.buf.advance(used);
                self.parser.feed(&decoded)?;
                !decoder.is_done()
            }
        };
        if open {
            self.conn = Some(conn);
        }
        Ok(open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = Target::parse("http://example.com/events?x=1").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("example.com", 80));
        assert_eq!(t.host_header, "example.com");
        assert_eq!(t.path, "/events?x=1");

        let t = Target::parse("HTTP://[::1]:8080").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 8080));
        assert_eq!(t.host_header, "[::1]:8080");
        assert_eq!(t.path, "/");

        // https:// with the tls feature, on port 443 by default.
        let https = Target::parse("https://example.com/e");
        if cfg!(feature = "tls") {
            let t = https.unwrap();
            assert_eq!((t.security, t.port), (Security::Tls, 443));
        } else {
            assert!(matches!(https, Err(ClientError::InvalidUrl(_))));
        }
        for bad in [
            "ws://example.com/",
            "/relative",
            "example.com",
            "http://",
            "not a url",
        ] {
            assert!(
                matches!(Target::parse(bad), Err(ClientError::InvalidUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn reconnect_delay_is_capped() {
        let config = ClientConfig::default()
            .retry(Duration::from_secs(2))
            .max_retry(Duration::from_secs(5));
        let mut source = EventSource::with_config("http://localhost/", config).unwrap();
        let State::Idle(inner) = &mut source.state else {
            panic!("idle");
        };
        assert_eq!(inner.reconnect_delay(), Duration::from_secs(2));
        inner.parser.feed(b"retry: 4000\n").unwrap();
        assert_eq!(inner.reconnect_delay(), Duration::from_secs(4));
        inner.parser.feed(b"retry: 999999999\n").unwrap();
        assert_eq!(inner.reconnect_delay(), Duration::from_secs(5));
    }

    #[test]
    fn config_setters() {
        let c = ClientConfig::default()
            .connect_timeout(Duration::from_secs(1))
            .read_timeout(Duration::from_secs(2))
            .max_reconnect_attempts(3)
            .max_head_bytes(4);
        assert_eq!(c.connect_timeout, Duration::from_secs(1));
        assert_eq!(c.read_timeout, Duration::from_secs(2));
        assert_eq!((c.max_reconnect_attempts, c.max_head_bytes), (3, 4));
    }
}
