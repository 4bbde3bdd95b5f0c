//! The accept loop, the per-connection HTTP/1.1 driver and graceful shutdown.
//!
//! The driver keeps protocol state apart from dispatching, as hyper splits
//! `conn` from `dispatch`: this module reads heads and bodies, applies limits
//! and timeouts, encodes responses and batches writes; dispatchers only ever
//! see a [`Request`] and answer with an [`Outcome`].

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::{Method, StatusCode, Version};
use oneport_http1::{BodyKind, BodyLength, ChunkedDecoder, Limits, RequestHead};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout, timeout_at};
use tracing::{debug, info, warn};

use crate::body::Kind as BodyKindInner;
use crate::dispatcher::{Context, Dispatcher, Outcome, Response, Shutdown, Upgraded};

/// Default for [`Builder::header_read_timeout`]: 10 seconds.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for [`Builder::keep_alive_timeout`]: 30 seconds.
pub const DEFAULT_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for [`Builder::body_read_timeout`]: 30 seconds.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for [`Builder::write_timeout`]: 30 seconds.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for [`Builder::max_connections`]: 10 000 (Racket's
/// `max-concurrent` default).
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Default for [`Builder::shutdown_grace`]: 10 seconds.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 4096;
/// Buffers larger than this are not kept for reuse.
const POOL_MAX_CAPACITY: usize = 64 * 1024;
/// Buffers kept per worker thread for reuse.
const POOL_MAX_BUFFERS: usize = 64;
/// Chunk size when streaming a file body.
const FILE_CHUNK: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) limits: Limits,
    pub(crate) header_read_timeout: Duration,
    pub(crate) keep_alive_timeout: Duration,
    pub(crate) body_read_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) shutdown_grace: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            keep_alive_timeout: DEFAULT_KEEP_ALIVE_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

/// Configures and binds a [`Server`].
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use oneport_dispatch::{Server, servlet, Request};
///
/// # #[allow(dead_code)]
/// # async fn run() -> std::io::Result<()> {
/// let server = Server::builder()
///     .header_read_timeout(Duration::from_secs(5))
///     .max_connections(1024)
///     .bind("127.0.0.1:0")
///     .await?;
/// println!("listening on {}", server.local_addr());
/// server.serve(servlet(|_req: Request| "hi")).await
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Builder {
    config: Config,
}

impl Builder {
    /// A builder with every default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parser limits for request heads and bodies.
    ///
    /// Default is [`Limits::default()`].
    pub fn limits(&mut self, limits: Limits) -> &mut Self {
        self.config.limits = limits;
        self
    }

    /// How long a client may take to send a whole request head once it has
    /// sent its first byte (and, on a new connection, to send that byte).
    /// A slow head is answered with `408 Request Timeout`.
    ///
    /// Default is 10 seconds.
    pub fn header_read_timeout(&mut self, d: Duration) -> &mut Self {
        self.config.header_read_timeout = d;
        self
    }

    /// How long a keep-alive connection may sit idle between requests.
    ///
    /// Default is 30 seconds.
    pub fn keep_alive_timeout(&mut self, d: Duration) -> &mut Self {
        self.config.keep_alive_timeout = d;
        self
    }

    /// How long a client may take to send a request body.
    ///
    /// Default is 30 seconds.
    pub fn body_read_timeout(&mut self, d: Duration) -> &mut Self {
        self.config.body_read_timeout = d;
        self
    }

    /// How long one write of responses may take before the connection is
    /// dropped.
    ///
    /// Default is 30 seconds.
    pub fn write_timeout(&mut self, d: Duration) -> &mut Self {
        self.config.write_timeout = d;
        self
    }

    /// The most connections served at once; further clients wait in the
    /// listen backlog.
    ///
    /// Default is 10 000.
    ///
    /// # Panics
    ///
    /// Panics if `n` is zero.
    pub fn max_connections(&mut self, n: usize) -> &mut Self {
        assert!(n > 0, "max_connections must be at least 1");
        self.config.max_connections = n;
        self
    }

    /// How long a graceful shutdown waits for in-flight requests and
    /// upgraded connections before dropping them.
    ///
    /// Default is 10 seconds.
    pub fn shutdown_grace(&mut self, d: Duration) -> &mut Self {
        self.config.shutdown_grace = d;
        self
    }

    /// Binds the listening socket. Port 0 picks a free port; see
    /// [`Server::local_addr`].
    ///
    /// # Errors
    ///
    /// The operating system's error if the address cannot be bound.
    pub async fn bind(&self, addr: impl ToSocketAddrs) -> io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let (tx, _rx) = watch::channel(false);
        Ok(Server {
            listener,
            local_addr,
            config: Arc::new(self.config.clone()),
            shutdown: Arc::new(tx),
        })
    }
}

/// A bound server, ready to [`serve`](Server::serve) a dispatcher.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    config: Arc<Config>,
    shutdown: Arc<watch::Sender<bool>>,
}

/// Starts a graceful shutdown of the server it came from.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    tx: Arc<watch::Sender<bool>>,
}

impl ShutdownHandle {
    /// Begins a graceful shutdown: stop accepting, let in-flight requests
    /// finish (their responses carry `Connection: close`), close idle
    /// connections, signal upgraded connections, then return from
    /// [`Server::serve`] once all are gone or the grace period ends.
    pub fn shutdown(&self) {
        self.tx.send_replace(true);
    }
}

/// Binds `addr` and serves `dispatcher` until the process ends.
///
/// # Errors
///
/// Fails if the address cannot be bound.
pub async fn serve(addr: impl ToSocketAddrs, dispatcher: impl Dispatcher) -> io::Result<()> {
    Server::builder().bind(addr).await?.serve(dispatcher).await
}

impl Server {
    /// A builder with default settings.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// The address the server is bound to (with the real port when 0 was
    /// asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that starts a graceful shutdown.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            tx: self.shutdown.clone(),
        }
    }

    /// Serves connections with `dispatcher` until a shutdown is requested
    /// through a [`ShutdownHandle`], then shuts down gracefully.
    ///
    /// # Errors
    ///
    /// Accept errors are logged and retried, so this returns `Ok` unless
    /// the listener itself breaks.
    pub async fn serve(self, dispatcher: impl Dispatcher) -> io::Result<()> {
        let dispatcher: Arc<dyn Dispatcher> = Arc::new(dispatcher);
        let limit = Arc::new(Semaphore::new(self.config.max_connections));
        let mut tasks = JoinSet::new();
        let mut stop = Shutdown::new(self.shutdown.subscribe());
        info!(addr = %self.local_addr, "listening");
        loop {
            while tasks.try_join_next().is_some() {}
            let permit = tokio::select! {
                p = limit.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
                () = stop.wait() => break,
            };
            let (io, peer) = tokio::select! {
                r = self.listener.accept() => match r {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of file descriptors and the like: back off briefly.
                        warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = stop.wait() => break,
            };
            debug!(%peer, "connection accepted");
            let cx = Context {
                peer,
                local: self.local_addr,
                shutdown: Shutdown::new(self.shutdown.subscribe()),
            };
            let conn = serve_connection(io, cx, self.config.clone(), dispatcher.clone());
            tasks.spawn(async move {
                let _permit = permit;
                if let Err(e) = conn.await {
                    debug!(%peer, error = %e, "connection ended with an error");
                }
            });
        }
        info!(connections = tasks.len(), "shutting down");
        drop(self.listener);
        let drained = timeout(self.config.shutdown_grace, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            warn!(
                remaining = tasks.len(),
                "grace period over, dropping connections"
            );
            tasks.shutdown().await;
        }
        Ok(())
    }
}

thread_local! {
    static POOL: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// Takes a read buffer from this thread's pool, or makes one.
fn take_buffer() -> BytesMut {
    POOL.with(|p| p.borrow_mut().pop())
        .unwrap_or_else(|| BytesMut::with_capacity(READ_CHUNK))
}

/// Gives an emptied buffer back to this thread's pool, leaving an
/// unallocated one in its place.
fn give_back(buf: &mut BytesMut) {
    let mut b = std::mem::take(buf);
    if b.capacity() == 0 || b.capacity() > POOL_MAX_CAPACITY {
        return;
    }
    b.clear();
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < POOL_MAX_BUFFERS {
            p.push(b);
        }
    });
}

/// The socket operations the request loop needs beyond reading and
/// writing: a write that never waits. A trait so that the loop can be
/// tested over a recording stream.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {
    /// Writes what the socket takes now, or fails with `WouldBlock`.
    fn try_write_now(&self, buf: &[u8]) -> io::Result<usize>;
}

impl Io for TcpStream {
    fn try_write_now(&self, buf: &[u8]) -> io::Result<usize> {
        self.try_write(buf)
    }
}

/// One connection's state between requests.
struct Conn<'c, T = TcpStream> {
    io: T,
    /// Bytes read and not yet parsed. Empty (unallocated) while idle.
    buf: BytesMut,
    /// Responses encoded and not yet written: all the answers to one read
    /// leave in one write.
    out: BytesMut,
    config: &'c Config,
}

enum ReadHead {
    Head(Box<RequestHead>),
    /// Everything read is answered and written; wait for the socket.
    Idle,
    /// The connection is over (EOF, timeout, or answered with an error).
    Done,
}

/// How a burst of work on a readable connection ended.
enum Burst {
    /// Back to waiting for the next request.
    Idle,
    /// The connection is over.
    Done,
    /// A dispatcher took the connection over; everything queued is written.
    Upgrade(crate::dispatcher::Upgrade),
}

impl<T: Io> Conn<'_, T> {
    /// Writes everything queued in `out`.
    async fn flush(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        // Most answers fit the socket's send buffer: write without arming
        // a timer, and wait (with the timeout) only for what is left.
        let mut sent = 0;
        while sent < self.out.len() {
            match self.io.try_write_now(&self.out[sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        if sent == self.out.len() {
            self.out.clear();
            return Ok(());
        }
        let rest = &self.out[sent..];
        let res = timeout(self.config.write_timeout, self.io.write_all(rest)).await;
        self.out.clear();
        match res {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "write timed out")),
        }
    }

    /// Reads more bytes into `buf` before `deadline`. `Ok(0)` is EOF.
    async fn read_more(&mut self, deadline: Instant) -> io::Result<Option<usize>> {
        self.flush().await?;
        if self.buf.capacity() == 0 {
            self.buf = take_buffer();
        }
        self.buf.reserve(READ_CHUNK);
        match timeout_at(deadline, self.io.read_buf(&mut self.buf)).await {
            Ok(r) => r.map(Some),
            Err(_) => Ok(None),
        }
    }

    /// Reads and parses the next request head. With nothing buffered and
    /// `woken` false (the bytes of the last read are used up), it writes
    /// what is queued, returns both buffers to the pool and reports
    /// [`ReadHead::Idle`] instead of waiting.
    async fn read_head(&mut self, woken: &mut bool, cx: &Context) -> io::Result<ReadHead> {
        if self.buf.is_empty() && !std::mem::take(woken) {
            self.flush().await?;
            give_back(&mut self.buf);
            give_back(&mut self.out);
            return Ok(ReadHead::Idle);
        }
        *woken = false;
        let deadline = Instant::now() + self.config.header_read_timeout;
        loop {
            if !self.buf.is_empty() {
                match oneport_http1::parse_request(&self.buf, &self.config.limits) {
                    Ok(Some((head, n))) => {
                        self.buf.advance(n);
                        return Ok(ReadHead::Head(Box::new(head)));
                    }
                    Ok(None) => {}
                    Err(e) => {
                        debug!(peer = %cx.peer, error = %e, "bad request head");
                        self.answer_error(e.status(), &e.to_string()).await?;
                        return Ok(ReadHead::Done);
                    }
                }
            }
            match self.read_more(deadline).await? {
                Some(0) => {
                    if !self.buf.is_empty() {
                        debug!(peer = %cx.peer, "eof in the middle of a request head");
                    }
                    return Ok(ReadHead::Done);
                }
                Some(_) => {}
                None => {
                    if self.buf.is_empty() {
                        return Ok(ReadHead::Done);
                    }
                    debug!(peer = %cx.peer, "request head timed out");
                    self.answer_error(StatusCode::REQUEST_TIMEOUT, "request head timed out")
                        .await?;
                    return Ok(ReadHead::Done);
                }
            }
        }
    }

    /// Queues a plain-text error response with `Connection: close` and
    /// writes everything queued.
    async fn answer_error(&mut self, status: StatusCode, msg: &str) -> io::Result<()> {
        let res = crate::text_response(status, format!("{msg}\n"));
        if let Some(file) = self.encode(res, Version::HTTP_11, false, false) {
            Box::pin(self.send_file_body(file)).await?;
        }
        self.flush().await?;
        let _ = self.io.shutdown().await;
        Ok(())
    }

    /// Reads the body announced by `kind`.
    async fn read_body(&mut self, kind: BodyKind) -> Result<Bytes, BodyError> {
        let deadline = Instant::now() + self.config.body_read_timeout;
        match kind {
            BodyKind::Empty => Ok(Bytes::new()),
            BodyKind::Length(n) => {
                let max = self.config.limits.max_body_bytes;
                if n > max {
                    return Err(BodyError::Status(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("body of {n} bytes is over the limit of {max}"),
                    ));
                }
                // `n <= max_body_bytes`, which is a usize-sized limit.
                let n = usize::try_from(n).map_err(|_| {
                    BodyError::Status(StatusCode::PAYLOAD_TOO_LARGE, "body too large".into())
                })?;
                while self.buf.len() < n {
                    self.buf.reserve(n - self.buf.len());
                    match timeout_at(deadline, self.io.read_buf(&mut self.buf)).await {
                        Ok(Ok(0)) => return Err(BodyError::Eof),
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => return Err(BodyError::Io(e)),
                        Err(_) => {
                            return Err(BodyError::Status(
                                StatusCode::REQUEST_TIMEOUT,
                                "request body timed out".into(),
                            ));
                        }
                    }
                }
                Ok(self.buf.split_to(n).freeze())
            }
            BodyKind::Chunked => {
                let mut decoder = ChunkedDecoder::new(&self.config.limits);
                let mut body = BytesMut::new();
                loop {
                    let used = decoder
                        .decode(&self.buf, &mut body)
                        .map_err(|e| BodyError::Status(e.status(), e.to_string()))?;
                    self.buf.advance(used);
                    if decoder.is_done() {
                        return Ok(body.freeze());
                    }
                    if self.buf.capacity() == 0 {
                        self.buf = take_buffer();
                    }
                    self.buf.reserve(READ_CHUNK);
                    match timeout_at(deadline, self.io.read_buf(&mut self.buf)).await {
                        Ok(Ok(0)) => return Err(BodyError::Eof),
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => return Err(BodyError::Io(e)),
                        Err(_) => {
                            return Err(BodyError::Status(
                                StatusCode::REQUEST_TIMEOUT,
                                "request body timed out".into(),
                            ));
                        }
                    }
                }
            }
        }
    }

    /// Writes what is queued, then streams a file body. Callers box this
    /// future: file streaming is rare next to small answers, and its state
    /// would otherwise widen every request's future.
    async fn send_file_body(&mut self, (file, len): (tokio::fs::File, u64)) -> io::Result<()> {
        self.flush().await?;
        send_file(&mut self.io, file, len, self.config.write_timeout).await
    }

    /// Encodes `res` into `out`, except for a file body, which is returned
    /// for the caller to stream.
    fn encode(
        &mut self,
        res: Response,
        version: Version,
        keep_alive: bool,
        head_only: bool,
    ) -> Option<(tokio::fs::File, u64)> {
        let (parts, body) = res.into_parts();
        let no_body = parts.status.is_informational()
            || parts.status == StatusCode::NO_CONTENT
            || parts.status == StatusCode::NOT_MODIFIED;
        let framing = if no_body {
            BodyLength::None
        } else {
            BodyLength::Length(body.len())
        };
        if self.out.capacity() == 0 {
            self.out = take_buffer();
        }
        oneport_http1::encode_response_head(&parts, framing, keep_alive, version, &mut self.out);
        if head_only || no_body {
            return None;
        }
        match body.kind {
            BodyKindInner::Empty => None,
            BodyKindInner::Full(b) => {
                self.out.extend_from_slice(&b);
                None
            }
            BodyKindInner::File { file, len } => Some((file, len)),
        }
    }
}

/// Streams `len` bytes of `file` to `io`, within eight write timeouts.
async fn send_file(
    io: &mut (impl tokio::io::AsyncWrite + Unpin),
    file: tokio::fs::File,
    len: u64,
    write_timeout: Duration,
) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(FILE_CHUNK, file.take(len));
    let copy = async {
        loop {
            let chunk = reader.fill_buf().await?;
            if chunk.is_empty() {
                return Ok::<_, io::Error>(());
            }
            let n = chunk.len();
            io.write_all(chunk).await?;
            reader.consume(n);
        }
    };
    match timeout(write_timeout.saturating_mul(8), copy).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "file send timed out",
        )),
    }
}

enum BodyError {
    Status(StatusCode, String),
    Eof,
    Io(io::Error),
}

/// Serves one connection: HTTP until it ends or a dispatcher takes it over,
/// then the takeover.
///
/// The HTTP part runs boxed, so that a taken-over connection (a WebSocket,
/// an event stream) keeps none of its state: this task then holds only the
/// takeover's future.
fn serve_connection(
    io: TcpStream,
    cx: Context,
    config: Arc<Config>,
    dispatcher: Arc<dyn Dispatcher>,
) -> impl Future<Output = io::Result<()>> + Send + 'static {
    // A plain function rather than an `async fn`, so that the arguments
    // are moved into the box and not kept a second time in this future.
    let http = Box::pin(serve_http(io, cx, config, dispatcher));
    async move {
        if let Some(takeover) = http.await? {
            takeover.await;
        }
        Ok(())
    }
}

/// Serves HTTP requests in order, pipelined ones answered in one write per
/// read, until close, error, shutdown or a takeover (whose future is
/// returned, not yet polled).
///
/// While idle this future is what a keep-alive connection costs, so it
/// holds little: it waits for the socket to become readable with no
/// buffer, then runs a boxed [`burst`] that reads, answers and writes until
/// everything read is answered. The burst's larger state lives only while
/// there is work.
async fn serve_http(
    io: TcpStream,
    mut cx: Context,
    config: Arc<Config>,
    dispatcher: Arc<dyn Dispatcher>,
) -> io::Result<Option<crate::dispatcher::BoxFuture<'static, ()>>> {
    let config = &*config;
    let dispatcher = &*dispatcher;
    let _ = io.set_nodelay(true);
    let mut conn = Conn {
        io,
        buf: BytesMut::new(),
        out: BytesMut::new(),
        config,
    };
    let mut first = true;
    loop {
        let idle = if first {
            config.header_read_timeout
        } else {
            config.keep_alive_timeout
        };
        first = false;
        tokio::select! {
            r = timeout(idle, conn.io.readable()) => match r {
                Ok(r) => r?,
                Err(_) => return Ok(None),
            },
            () = cx.shutdown.wait() => return Ok(None),
        }
        match Box::pin(burst(&mut conn, &cx, dispatcher)).await? {
            Burst::Idle => {}
            Burst::Done => {
                give_back(&mut conn.buf);
                give_back(&mut conn.out);
                return Ok(None);
            }
            Burst::Upgrade(up) => {
                give_back(&mut conn.out);
                let upgraded = Upgraded {
                    io: conn.io,
                    peer: cx.peer,
                    leftover: conn.buf,
                    shutdown: cx.shutdown,
                };
                // Started here, run by the caller once this state is freed.
                return Ok(Some((up.run)(upgraded)));
            }
        }
    }
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
        if expect_continue && body != BodyKind::Empty {
            if let BodyKind::Length(n) = body {
                if n > conn.config.limits.max_body_bytes {
                    conn.answer_error(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
                        .await?;
                    return Ok(Burst::Done);
                }
            }
            conn.out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
            conn.flush().await?;
        }
        let body = match conn.read_body(body).await {
            Ok(b) => b,
            Err(BodyError::Status(status, msg)) => {
                debug!(peer = %cx.peer, %status, %msg, "bad request body");
                conn.answer_error(status, &msg).await?;
                return Ok(Burst::Done);
            }
            Err(BodyError::Eof) => return Ok(Burst::Done),
            Err(BodyError::Io(e)) => return Err(e),
        };
        let req = http::Request::from_parts(parts, body);
        let method = req.method().clone();
        let head_only = method == Method::HEAD;
        // The path is copied for the log only when the log line is wanted.
        let line = tracing::enabled!(tracing::Level::INFO).then(|| RequestLine::new(&req));
        let outcome = dispatcher.dispatch(req, cx).await;
        let mut keep_alive = keep_alive && !cx.shutdown.is_shutting_down();
        match outcome {
            Outcome::Response(res) => {
                // A dispatcher ends the connection by answering with
                // `Connection: close` (failed upgrades do).
                keep_alive &= !asks_to_close(res.headers());
                if let Some(line) = &line {
                    info!(peer = %cx.peer, method = %line.method, path = %line.path, status = res.status().as_u16(), "request");
                }
                if let Some(file) = conn.encode(res, version, keep_alive, head_only) {
                    Box::pin(conn.send_file_body(file)).await?;
                }
            }
            Outcome::Declined(_) => {
                if let Some(line) = &line {
                    info!(peer = %cx.peer, method = %line.method, path = %line.path, status = 404, "not found");
                }
                let res = crate::text_response(StatusCode::NOT_FOUND, "not found\n");
                if let Some(file) = conn.encode(res, version, keep_alive, head_only) {
                    Box::pin(conn.send_file_body(file)).await?;
                }
            }
            Outcome::Upgrade(up) => {
                if let Some(line) = &line {
                    info!(peer = %cx.peer, method = %line.method, path = %line.path, "connection taken over");
                }
                conn.flush().await?;
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

/// Whether a response's own `Connection` header holds the `close` token.
fn asks_to_close(headers: &http::HeaderMap) -> bool {
    headers.get_all(http::header::CONNECTION).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
    })
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

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::sync::Mutex;
    use std::task::Poll;

    use tokio::io::ReadBuf;

    use super::*;

    /// A stream that serves queued reads (then waits forever) and records
    /// every write it is given.
    #[derive(Default)]
    struct Recorder {
        reads: VecDeque<Vec<u8>>,
        writes: Mutex<Vec<Vec<u8>>>,
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
            Poll::Ready(Ok(self.record(buf)))
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
        fn try_write_now(&self, buf: &[u8]) -> io::Result<usize> {
            Ok(self.record(buf))
        }
    }

    fn context() -> Context {
        let addr: SocketAddr = "127.0.0.1:1".parse().expect("address");
        Context {
            peer: addr,
            local: addr,
            shutdown: Shutdown::never(),
        }
    }

    /// A connection over `io` as the server holds it between requests.
    fn idle_conn(io: Recorder, config: &Config) -> Conn<'_, Recorder> {
        Conn {
            io,
            buf: BytesMut::new(),
            out: BytesMut::new(),
            config,
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
}
