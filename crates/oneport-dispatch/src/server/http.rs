//! The HTTP/1.1 driver: the per-read burst that answers every request a
//! read brought (pipelined ones in one write), keep-alive between bursts,
//! and the handover to a takeover once its answer is written.

use std::io;
use std::sync::Arc;
use std::task::Poll;

use crate::stream::ServerStream;
use bytes::{Bytes, BytesMut};
use http::{Method, StatusCode, Version};
use oneport_http1::{BodyKind, BodyLength, Persistence, RequestHead};
use tokio::io::AsyncWriteExt;
use tracing::{debug, info};

use super::Config;
use super::conn::{BodyError, Conn, Io, ReadHead};
use super::intake::{self, Intake};
use super::pool::{give_back, take_buffer};
use super::streamed::{self, Framing, Streamed};
use crate::body::Kind as BodyKindInner;
use crate::dispatcher::{
    Context, Dispatched, Dispatcher, Outcome, Response, Shutdown, Upgrade, Upgraded,
};
use crate::shutdown::Woken;

/// How a burst of work on a readable connection ended.
enum Burst {
    /// Back to waiting for the next request.
    Idle,
    /// The connection is over.
    Done,
    /// A dispatcher took the connection over; everything queued, its own
    /// answer included, is written.
    Upgrade(Upgrade),
}

/// Whether a response is sent whole or, for a `HEAD` request, without its
/// body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    Whole,
    HeadOnly,
}

/// Serves one connection: HTTP until it ends or a dispatcher takes it over,
/// then the takeover. An error that ends the HTTP part is logged here.
///
/// The HTTP part runs boxed, so that a taken-over connection (a WebSocket,
/// an event stream) keeps none of its state: this task then holds only the
/// takeover's future.
pub(super) fn serve_connection(
    io: ServerStream,
    cx: Context,
    config: Arc<Config>,
    dispatcher: Arc<dyn Dispatcher>,
) -> impl Future<Output = ()> + Send + 'static {
    // A plain function rather than an `async fn`, so that the arguments
    // are moved into the box and not kept a second time in this future.
    let http = Box::pin(serve_http(io, cx, config, dispatcher));
    async move {
        if let Some(takeover) = http.await {
            takeover.await;
        }
    }
}

/// Serves HTTP requests in order, pipelined ones answered in one write per
/// read, until close, error (logged here), shutdown or a takeover (whose
/// future is returned, not yet polled).
///
/// While idle this future is what a keep-alive connection costs, so it
/// holds little: it waits for the socket to become readable with no
/// buffer, then runs a boxed [`burst`] that reads, answers and writes until
/// everything read is answered. The burst's larger state lives only while
/// there is work.
fn serve_http(
    io: ServerStream,
    cx: Context,
    config: Arc<Config>,
    dispatcher: Arc<dyn Dispatcher>,
) -> impl Future<Output = Option<crate::dispatcher::BoxFuture<'static, ()>>> + Send + 'static {
    let _ = io.tcp().set_nodelay(true);
    // All of the state in one value that the future captures and uses in
    // place: an `async fn`'s arguments, or a captured value moved into a
    // local, are kept twice in its future (the arguments' slots stay
    // reserved), and this future is what an idle keep-alive connection
    // costs.
    let mut http = Http {
        io,
        config,
        named: false,
        cx,
        dispatcher,
    };
    async move {
        // Logged here rather than by a wrapper future: one that awaited
        // this one would keep room for it twice.
        let ended = |e: io::Error, cx: &Context| {
            debug!(peer = %cx.peer, error = %e, "connection ended with an error");
            None
        };
        let mut first = true;
        loop {
            let idle = if first {
                http.config.header_read_timeout
            } else {
                http.config.keep_alive_timeout
            };
            first = false;
            // Polled here rather than through an `async fn`, whose
            // future would keep its arguments a second time.
            let woke = {
                // On the server's coarse idle clock, kept in the shutdown
                // signal's slot; a timer of its own only where no clock
                // runs.
                let deadline = http.cx.shutdown.idle_deadline(idle);
                let mut own_timer = match deadline {
                    Some(_) => None,
                    None => Some(Box::pin(tokio::time::sleep(idle))),
                };
                let (io, shutdown) = (&mut http.io, &mut http.cx.shutdown);
                std::future::poll_fn(|cx| poll_idle(io, shutdown, deadline, own_timer.as_mut(), cx))
                    .await
            };
            match woke {
                Ok(Woke::Readable) => {}
                Ok(Woke::TimedOut | Woke::Shutdown) => return None,
                Err(e) => return ended(e, &http.cx),
            }
            let (end, leftover) = Box::pin(run_burst(
                &mut http.io,
                &mut http.named,
                &http.config,
                &http.cx,
                &*http.dispatcher,
            ))
            .await;
            match end {
                Ok(Burst::Idle) => {}
                Ok(Burst::Done) => return None,
                Err(e) => return ended(e, &http.cx),
                Ok(Burst::Upgrade(up)) => {
                    let upgraded = Upgraded {
                        io: http.io,
                        peer: http.cx.peer,
                        leftover,
                        shutdown: http.cx.shutdown,
                    };
                    // Started here, run by the caller once this state is
                    // freed.
                    return Some((up.run)(upgraded));
                }
            }
        }
    }
}

/// What a connection's HTTP future keeps from one request to the next:
/// no buffer (a burst has its own, given back to the pool when it ends).
struct Http {
    io: ServerStream,
    config: Arc<Config>,
    /// Whether the connection's span has its `protocol` yet.
    named: bool,
    cx: Context,
    dispatcher: Arc<dyn Dispatcher>,
}

/// Runs one [`burst`] over the socket with buffers of its own, and
/// returns how it ended with, for a takeover, the bytes read past its
/// head.
async fn run_burst(
    io: &mut ServerStream,
    named: &mut bool,
    config: &Config,
    cx: &Context,
    dispatcher: &dyn Dispatcher,
) -> (io::Result<Burst>, BytesMut) {
    let mut conn = Conn {
        io,
        buf: BytesMut::new(),
        out: BytesMut::new(),
        config,
        named: *named,
    };
    let end = burst(&mut conn, cx, dispatcher).await;
    *named = conn.named;
    give_back(&mut conn.out);
    let leftover = match end {
        Ok(Burst::Upgrade(_)) => std::mem::take(&mut conn.buf),
        _ => {
            give_back(&mut conn.buf);
            BytesMut::new()
        }
    };
    (end, leftover)
}

/// How an idle wait between requests ended.
enum Woke {
    Readable,
    TimedOut,
    Shutdown,
}

/// Polls the wait between requests, which holds no buffer: ready when
/// the socket is readable, the idle deadline has passed, or the server
/// shuts down (which wins over a readable socket: a request not yet read
/// is not in flight; a readable socket wins over the deadline).
///
/// This is what an idle keep-alive connection holds, so it is one poll
/// function over two registrations that keep their wakers themselves:
/// the socket's, and the shutdown signal's slot, which also carries the
/// deadline on the server's idle clock. `own_timer` is the timer used
/// instead where no idle clock runs (`deadline` is `None`).
fn poll_idle(
    io: &mut ServerStream,
    shutdown: &mut Shutdown,
    deadline: Option<u64>,
    own_timer: Option<&mut std::pin::Pin<Box<tokio::time::Sleep>>>,
    cx: &mut std::task::Context<'_>,
) -> Poll<io::Result<Woke>> {
    let due = match deadline {
        Some(at) => match shutdown.poll_wait_until(cx, at) {
            Poll::Ready(Woken::Shutdown) => return Poll::Ready(Ok(Woke::Shutdown)),
            Poll::Ready(Woken::Deadline) => true,
            Poll::Pending => false,
        },
        None => {
            if shutdown.poll_wait(cx).is_ready() {
                return Poll::Ready(Ok(Woke::Shutdown));
            }
            own_timer.is_some_and(|t| t.as_mut().poll(cx).is_ready())
        }
    };
    if let Poll::Ready(r) = io.poll_ready_to_read(cx) {
        return Poll::Ready(r.map(|()| Woke::Readable));
    }
    if due {
        return Poll::Ready(Ok(Woke::TimedOut));
    }
    Poll::Pending
}

/// Answers every request that arrives while the connection has data,
/// starting from a readable socket.
async fn burst<T: Io>(
    conn: &mut Conn<'_, T>,
    cx: &Context,
    dispatcher: &dyn Dispatcher,
) -> io::Result<Burst> {
    let mut woken = true;
    loop {
        let head = match conn.read_head(&mut woken, cx).await? {
            ReadHead::Head(h) => *h,
            ReadHead::Idle => return Ok(Burst::Idle),
            ReadHead::Done => return Ok(Burst::Done),
            ReadHead::Refused(status, msg) => {
                conn.answer_error(status, &msg).await?;
                return Ok(Burst::Done);
            }
        };
        let RequestHead {
            request,
            body,
            keep_alive,
            expect_continue,
            ..
        } = head;
        let (parts, ()) = request.into_parts();
        let version = parts.version;
        let mut req = http::Request::from_parts(parts, Bytes::new());
        // Asked only of requests with a body: routing twice would cost
        // every GET.
        let intake = if body == BodyKind::Empty {
            crate::BodyMode::Whole
        } else {
            dispatcher.body_mode(&req)
        };
        let limit = match intake {
            crate::BodyMode::Streamed { max_bytes } => max_bytes,
            _ => conn.config.limits.max_body_bytes,
        };
        if let BodyKind::Length(n) = body {
            if n > limit {
                conn.answer_error(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
                    .await?;
                return Ok(Burst::Done);
            }
        }
        if expect_continue && body != BodyKind::Empty {
            if conn.out.capacity() == 0 {
                conn.out = take_buffer();
            }
            oneport_http1::encode_continue(&mut conn.out);
            conn.flush().await?;
        }
        let streamed = matches!(intake, crate::BodyMode::Streamed { .. });
        if !streamed {
            match conn.read_body(body).await {
                Ok(b) => *req.body_mut() = b,
                Err(BodyError::Status(status, msg)) => {
                    debug!(peer = %cx.peer, %status, %msg, "bad request body");
                    conn.answer_error(status, &msg).await?;
                    return Ok(Burst::Done);
                }
                Err(BodyError::Eof) => return Ok(Burst::Done),
                Err(BodyError::Io(e)) => return Err(e),
            }
        }
        let method = req.method().clone();
        let mode = if method == Method::HEAD {
            Reply::HeadOnly
        } else {
            Reply::Whole
        };
        // The path is copied for the log only when the log line is wanted.
        let line = tracing::enabled!(tracing::Level::INFO).then(|| RequestLine::new(&req));
        let outcome = if streamed {
            let (outcome, end) =
                Box::pin(dispatch_streaming(conn, req, body, limit, cx, dispatcher)).await;
            match end {
                Intake::Complete => outcome,
                Intake::Failed(e) => {
                    // The request was bad whatever the dispatcher made of it.
                    debug!(peer = %cx.peer, error = %e, "bad streamed request body");
                    let status = e.status().unwrap_or(StatusCode::BAD_REQUEST);
                    conn.answer_error(status, &e.to_string()).await?;
                    return Ok(Burst::Done);
                }
                Intake::Gone => return Ok(Burst::Done),
                Intake::Io(e) => return Err(e),
            }
        } else {
            // Most answers need no waiting: then no future is allocated.
            match dispatcher.start(req, cx) {
                Dispatched::Now(outcome) => outcome,
                Dispatched::Later(future) => future.await,
            }
        };
        // The span's protocol: the takeover's, or HTTP/1.1 once the first
        // request is answered (a later takeover records its own).
        match &outcome {
            Outcome::Upgrade(up) => {
                tracing::Span::current().record("protocol", up.protocol);
                conn.named = true;
            }
            _ if !conn.named => {
                tracing::Span::current().record("protocol", "http/1.1");
                conn.named = true;
            }
            _ => {}
        }
        let mut keep_alive = keep_alive && !cx.shutdown.is_shutting_down();
        match outcome {
            Outcome::Response(res) => {
                if let Some(line) = &line {
                    info!(peer = %cx.peer, method = %line.method, path = %line.path, status = res.status().as_u16(), "request");
                }
                let (deferred, persisting) =
                    conn.encode(res, version, persistence(keep_alive), mode);
                keep_alive &= persisting == Persistence::KeepAlive;
                conn.send_deferred(deferred).await?;
            }
            Outcome::Declined(_) => {
                if let Some(line) = &line {
                    info!(peer = %cx.peer, method = %line.method, path = %line.path, status = 404, "not found");
                }
                let res = crate::text_response(StatusCode::NOT_FOUND, "not found\n");
                let (deferred, _) = conn.encode(res, version, persistence(keep_alive), mode);
                conn.send_deferred(deferred).await?;
            }
            Outcome::Upgrade(mut up) => {
                // The takeover's answer leaves through the server, after
                // the answers queued before it and under the write timeout;
                // the connection is handed over only once it is written.
                let status = up.head.take().map(|head| {
                    let status = head.status();
                    let (parts, ()) = head.into_parts();
                    conn.encode_head(
                        &parts,
                        BodyLength::None,
                        takeover_persistence(status),
                        version,
                    );
                    status
                });
                conn.flush().await?;
                if let Some(line) = &line {
                    match status {
                        Some(s) => {
                            info!(peer = %cx.peer, method = %line.method, path = %line.path, status = s.as_u16(), "connection taken over")
                        }
                        None => {
                            info!(peer = %cx.peer, method = %line.method, path = %line.path, "connection taken over; it answers itself")
                        }
                    }
                }
                return Ok(Burst::Upgrade(up));
            }
        }
        if !keep_alive {
            conn.flush().await?;
            let _ = conn.io.shutdown().await;
            return Ok(Burst::Done);
        }
    }
}

/// Dispatches `req` while its body streams to the dispatcher, then reads
/// (and drops) whatever the dispatcher left unread, so the connection can
/// go on.
async fn dispatch_streaming<T: Io>(
    conn: &mut Conn<'_, T>,
    mut req: crate::Request,
    kind: BodyKind,
    limit: u64,
    cx: &Context,
    dispatcher: &dyn Dispatcher,
) -> (Outcome, Intake) {
    let (tx, rx) = tokio::sync::mpsc::channel(intake::QUEUE);
    crate::RequestBody::attach(&mut req, rx);
    let mut dispatch = dispatcher.dispatch(req, cx);
    let pump = conn.pump_body(kind, limit, tx);
    tokio::pin!(pump);
    let mut end = None;
    let outcome = loop {
        tokio::select! {
            outcome = &mut dispatch => break outcome,
            e = &mut pump, if end.is_none() => end = Some(e),
        }
    };
    let end = match end {
        Some(e) => e,
        None => pump.await,
    };
    (outcome, end)
}

/// The parts of a request line kept for the log after the request moved.
struct RequestLine {
    method: Method,
    path: String,
}

impl RequestLine {
    fn new<B>(req: &http::Request<B>) -> Self {
        Self {
            method: req.method().clone(),
            path: req.uri().path().to_owned(),
        }
    }
}

fn persistence(keep_alive: bool) -> Persistence {
    if keep_alive {
        Persistence::KeepAlive
    } else {
        Persistence::Close
    }
}

/// A `101` switches protocols on a connection that goes on; any other
/// takeover answer (an event stream's `200`) has a body that runs until the
/// connection closes.
fn takeover_persistence(status: StatusCode) -> Persistence {
    if status == StatusCode::SWITCHING_PROTOCOLS {
        Persistence::KeepAlive
    } else {
        Persistence::Close
    }
}

impl<T: Io> Conn<'_, T> {
    /// Queues a plain-text error response with `Connection: close` and
    /// writes everything queued.
    async fn answer_error(&mut self, status: StatusCode, msg: &str) -> io::Result<()> {
        let res = crate::text_response(status, format!("{msg}\n"));
        let (deferred, _) = self.encode(res, Version::HTTP_11, Persistence::Close, Reply::Whole);
        self.send_deferred(deferred).await?;
        self.flush().await?;
        let _ = self.io.shutdown().await;
        Ok(())
    }

    /// Encodes a response head into `out`.
    fn encode_head(
        &mut self,
        parts: &http::response::Parts,
        framing: BodyLength,
        persistence: Persistence,
        version: Version,
    ) -> Persistence {
        if self.out.capacity() == 0 {
            self.out = take_buffer();
        }
        oneport_http1::encode_response_head(parts, framing, persistence, version, &mut self.out)
    }

    /// Encodes `res` into `out`, except for a file or streamed body, which
    /// is returned for the caller to write after the head; with the
    /// persistence the head announced (a body delimited by closing the
    /// connection makes it `Close`).
    fn encode(
        &mut self,
        res: Response,
        version: Version,
        persistence: Persistence,
        mode: Reply,
    ) -> (Option<Deferred>, Persistence) {
        let (parts, body) = res.into_parts();
        let has_body = oneport_http1::status_has_body(parts.status);
        let (framing, persistence) = match body.len() {
            _ if !has_body => (BodyLength::None, persistence),
            Some(n) => (BodyLength::Length(n), persistence),
            None if version == Version::HTTP_10 => (BodyLength::None, Persistence::Close),
            None => (BodyLength::Chunked, persistence),
        };
        // A dispatcher ends the connection by answering with `Connection:
        // close` (failed upgrades do): the encoder says so.
        let persistence = self.encode_head(&parts, framing, persistence, version);
        if mode == Reply::HeadOnly || !has_body {
            return (None, persistence);
        }
        let deferred = match body.kind {
            BodyKindInner::Empty => None,
            BodyKindInner::Full(b) => {
                self.out.extend_from_slice(&b);
                None
            }
            BodyKindInner::File { file, len } => Some(Deferred::File(file, len)),
            BodyKindInner::Stream { chunks, .. } => Some(Deferred::Stream(Streamed {
                chunks,
                framing: match framing {
                    BodyLength::Length(n) => Framing::Length(n),
                    BodyLength::Chunked => Framing::Chunked,
                    BodyLength::None => Framing::Close,
                },
            })),
        };
        (deferred, persistence)
    }

    /// Writes what is queued, then a body that follows its head.
    async fn send_deferred(&mut self, deferred: Option<Deferred>) -> io::Result<()> {
        match deferred {
            None => Ok(()),
            // Boxed: rare next to small answers, and their state would
            // otherwise widen every request's future.
            Some(Deferred::File(file, len)) => Box::pin(self.send_file_body((file, len))).await,
            Some(Deferred::Stream(body)) => {
                Box::pin(async {
                    self.flush().await?;
                    streamed::send(&mut self.io, body, self.config.write_timeout).await
                })
                .await
            }
        }
    }
}

/// A body written after its head rather than queued with it.
enum Deferred {
    File(tokio::fs::File, u64),
    Stream(Streamed),
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::sync::Mutex;
    use std::task::Poll;

    use tokio::io::ReadBuf;

    use std::net::SocketAddr;

    use super::*;
    use crate::dispatcher::Shutdown;

    /// A stream that serves queued reads (then waits forever) and records
    /// every write it is given.
    #[derive(Default)]
    struct Recorder {
        reads: VecDeque<Vec<u8>>,
        writes: Mutex<Vec<Vec<u8>>>,
        /// Every write fails, as on a connection the peer reset.
        broken: bool,
    }

    impl Recorder {
        fn record(&self, buf: &[u8]) -> usize {
            self.writes.lock().expect("lock").push(buf.to_vec());
            buf.len()
        }

        fn writes(&self) -> Vec<String> {
            let w = self.writes.lock().expect("lock");
            w.iter()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect()
        }
    }

    impl tokio::io::AsyncRead for Recorder {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            match self.reads.pop_front() {
                Some(chunk) => {
                    assert!(chunk.len() <= buf.remaining(), "test chunks fit one read");
                    buf.put_slice(&chunk);
                    Poll::Ready(Ok(()))
                }
                None => Poll::Pending,
            }
        }
    }

    impl tokio::io::AsyncWrite for Recorder {
        fn poll_write(
            self: Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(self.get_mut().try_write_now(buf))
        }

        fn poll_flush(
            self: Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(
            self: Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    impl Io for Recorder {
        fn try_write_now(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.broken {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            Ok(self.record(buf))
        }
    }

    fn context() -> Context {
        let addr: SocketAddr = "127.0.0.1:1".parse().expect("address");
        Context {
            peer: addr,
            local: std::sync::Arc::new(addr),
            shutdown: Shutdown::never(),
            security: crate::Security::Plain,
        }
    }

    /// A connection over `io` as the server holds it between requests.
    fn idle_conn(io: Recorder, config: &Config) -> Conn<'_, Recorder> {
        Conn {
            io,
            buf: BytesMut::new(),
            out: BytesMut::new(),
            config,
            named: false,
        }
    }

    const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    #[tokio::test]
    async fn the_answers_to_one_read_leave_in_one_write() {
        let config = Config::default();
        let mut io = Recorder::default();
        io.reads.push_back(GET.repeat(16));
        io.reads.push_back(GET.repeat(3));
        let mut conn = idle_conn(io, &config);
        let site = crate::servlet(|_r: crate::Request| "hi");
        let cx = context();
        for _ in 0..2 {
            let end = burst(&mut conn, &cx, &site).await.expect("burst");
            assert!(matches!(end, Burst::Idle), "the connection stays open");
        }
        let writes = conn.io.writes();
        assert_eq!(writes.len(), 2, "one write per read: {writes:?}");
        assert_eq!(writes[0].matches("HTTP/1.1 200 OK\r\n").count(), 16);
        assert_eq!(writes[1].matches("HTTP/1.1 200 OK\r\n").count(), 3);
        // Idle again: neither buffer is held.
        assert_eq!(conn.buf.capacity(), 0);
        assert_eq!(conn.out.capacity(), 0);
    }

    #[tokio::test]
    async fn a_head_split_over_reads_is_answered_in_one_write() {
        let config = Config::default();
        let mut io = Recorder::default();
        let (a, b) = GET.split_at(9);
        io.reads.push_back(a.to_vec());
        io.reads.push_back(b.to_vec());
        let mut conn = idle_conn(io, &config);
        let site = crate::servlet(|_r: crate::Request| "hi");
        let end = burst(&mut conn, &context(), &site).await.expect("burst");
        assert!(matches!(end, Burst::Idle));
        let writes = conn.io.writes();
        assert_eq!(writes.len(), 1, "{writes:?}");
        assert!(writes[0].starts_with("HTTP/1.1 200 OK\r\n") && writes[0].ends_with("\r\n\r\nhi"));
    }

    /// Takes every request over, answering with a `101` that names the
    /// path, and records whether its closure ran.
    struct Takeover {
        ran: Arc<std::sync::atomic::AtomicBool>,
    }

    impl Dispatcher for Takeover {
        fn dispatch<'a>(
            &'a self,
            req: crate::Request,
            _cx: &'a Context,
        ) -> crate::BoxFuture<'a, Outcome> {
            let ran = self.ran.clone();
            Box::pin(async move {
                if req.uri().path() != "/up" {
                    return Outcome::Response(crate::text_response(StatusCode::OK, "page"));
                }
                let mut head = http::Response::new(());
                *head.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
                head.headers_mut()
                    .insert("upgrade", http::HeaderValue::from_static("test"));
                Outcome::Upgrade(Upgrade::new(head, move |_up| async move {
                    ran.store(true, std::sync::atomic::Ordering::SeqCst);
                }))
            })
        }
    }

    const UP: &[u8] =
        b"GET /up HTTP/1.1\r\nHost: x\r\nUpgrade: test\r\nConnection: upgrade\r\n\r\n";

    #[tokio::test]
    async fn a_takeover_answer_is_written_by_the_server_before_the_handover() {
        let config = Config::default();
        let mut io = Recorder::default();
        let mut wire = GET.to_vec();
        wire.extend_from_slice(UP);
        io.reads.push_back(wire);
        let mut conn = idle_conn(io, &config);
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let site = Takeover { ran: ran.clone() };
        let end = burst(&mut conn, &context(), &site).await.expect("burst");
        assert!(matches!(end, Burst::Upgrade(_)), "taken over");
        // Both answers, the page's and the takeover's, left in one write
        // before the handover, encoded by oneport-http1 (it adds `Date`).
        let writes = conn.io.writes();
        assert_eq!(writes.len(), 1, "{writes:?}");
        let (page, up) = writes[0]
            .split_once("HTTP/1.1 101 Switching Protocols\r\n")
            .expect("a 101 after the page");
        assert!(
            page.starts_with("HTTP/1.1 200 OK\r\n") && page.ends_with("page"),
            "{page}"
        );
        assert!(
            up.contains("upgrade: test\r\n") && up.contains("Date: "),
            "{up}"
        );
        assert!(
            !up.contains("Connection: close") && up.ends_with("\r\n\r\n"),
            "{up}"
        );
        assert!(
            !ran.load(std::sync::atomic::Ordering::SeqCst),
            "not run by the burst"
        );
    }

    #[tokio::test]
    async fn a_takeover_whose_answer_cannot_be_written_is_never_run() {
        let config = Config::default();
        let mut io = Recorder {
            broken: true,
            ..Recorder::default()
        };
        io.reads.push_back(UP.to_vec());
        let mut conn = idle_conn(io, &config);
        let site = Takeover {
            ran: Arc::default(),
        };
        let end = burst(&mut conn, &context(), &site).await;
        assert!(end.is_err(), "the write error ends the connection");
    }

    #[tokio::test]
    async fn a_304_goes_out_without_its_body() {
        let config = Config::default();
        let mut io = Recorder::default();
        io.reads.push_back(GET.to_vec());
        let mut conn = idle_conn(io, &config);
        let site = crate::servlet(|_r: crate::Request| {
            (StatusCode::NOT_MODIFIED, "a body that must not be sent")
        });
        let end = burst(&mut conn, &context(), &site).await.expect("burst");
        assert!(matches!(end, Burst::Idle));
        let writes = conn.io.writes();
        assert_eq!(writes.len(), 1, "{writes:?}");
        assert!(
            writes[0].starts_with("HTTP/1.1 304 Not Modified\r\n"),
            "{writes:?}"
        );
        assert!(writes[0].ends_with("\r\n\r\n"), "no body: {writes:?}");
        assert!(!writes[0].contains("Content-Length"), "{writes:?}");
    }
}
