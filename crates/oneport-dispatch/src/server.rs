//! The server: its builder and settings, the accept loop and graceful
//! shutdown.
//!
//! The connection driver keeps protocol state apart from dispatching, as
//! hyper splits `conn` from `dispatch`: `server/conn.rs` reads heads and
//! bodies before their deadlines and writes under the write timeout,
//! `server/http.rs` answers (limits, keep-alive, pipelined answers in one
//! write, takeovers), and `server/pool.rs` lends buffers only while there is
//! work. Dispatchers only ever see a [`Request`](crate::Request) and answer
//! with an [`Outcome`](crate::Outcome).

mod conn;
mod http;
mod intake;
mod pool;
mod streamed;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use oneport_http1::Limits;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::timeout;
use tracing::{debug, info, warn};

use self::http::serve_connection;
use crate::dispatcher::{Context, Dispatcher};
use crate::shutdown::Trigger;
use crate::stream::{Security, ServerStream};

/// Serves one accepted connection on its own task: over TLS once the
/// handshake is done, when the server has a certificate.
///
/// The plain path spawns the connection's future as it is, and the TLS
/// path boxes its handshake: the task's allocation is the largest state
/// its future holds at any await, and it lasts as long as the connection,
/// so it must not keep room for a handshake it never runs (or ran once).
fn spawn_connection(
    tasks: &mut JoinSet<()>,
    tcp: tokio::net::TcpStream,
    cx: Context,
    config: Arc<Config>,
    dispatcher: Arc<dyn Dispatcher>,
    permit: tokio::sync::OwnedSemaphorePermit,
) {
    let peer = cx.peer;
    // One span per connection: the peer, and the protocol it ends up
    // speaking (recorded at a takeover); every request's log line is
    // inside it. Disabled, and then not even held, unless a subscriber
    // wants INFO from this crate.
    let span = tracing::info_span!("conn", %peer, protocol = tracing::field::Empty);
    #[cfg(feature = "tls")]
    if let Some(tls) = config.tls.clone() {
        spawn_in(tasks, span, async move {
            let _permit = permit;
            let _ = tcp.set_nodelay(true);
            let io = match Box::pin(tls.accept(tcp)).await {
                Ok(io) => io,
                Err(e) => {
                    debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
            };
            let cx = Context {
                security: io.security(),
                ..cx
            };
            serve_connection(io, cx, config, dispatcher).await;
        });
        return;
    }
    // The task lives as long as the connection, so it keeps only the
    // permit and the connection's future (the error is logged inside).
    let conn = serve_connection(ServerStream::Tcp(tcp), cx, config, dispatcher);
    spawn_in(tasks, span, async move {
        let _permit = permit;
        conn.await;
    });
}

/// Spawns `connection` inside `span`, or as it is when nothing listens to
/// the span: then the task neither holds it nor enters it on every poll.
fn spawn_in<F>(tasks: &mut JoinSet<()>, span: tracing::Span, connection: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    if span.is_disabled() {
        tasks.spawn(connection);
    } else {
        tasks.spawn(tracing::Instrument::instrument(connection, span));
    }
}

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

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) limits: Limits,
    /// `limits` with no body limit, which request heads are parsed with:
    /// the body's size is left to the server, which knows only after
    /// routing whether the body is read whole (`limits.max_body_bytes`)
    /// or streamed under a route's own limit
    /// ([`streamed_body`](crate::streamed_body)). Kept beside `limits`
    /// rather than made per request.
    pub(crate) head_limits: Limits,
    pub(crate) header_read_timeout: Duration,
    pub(crate) keep_alive_timeout: Duration,
    pub(crate) body_read_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) shutdown_grace: Duration,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<crate::tls::TlsConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            head_limits: Limits::default().max_body_bytes(u64::MAX),
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            keep_alive_timeout: DEFAULT_KEEP_ALIVE_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            #[cfg(feature = "tls")]
            tls: None,
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
        self.config.head_limits = limits.clone().max_body_bytes(u64::MAX);
        self.config.limits = limits;
        self
    }

    /// How long a client may take to send a whole request head once it has
    /// sent its first byte (and, on a new connection, to send that byte).
    /// A slow head is answered with `408 Request Timeout`.
    ///
    /// The wait for a new connection's first byte, like the wait between
    /// requests, runs on the server's coarse idle clock: it may end up to
    /// an eighth of the shorter of this and
    /// [`keep_alive_timeout`](Builder::keep_alive_timeout) late (at most a
    /// second), never early.
    ///
    /// Default is 10 seconds.
    pub fn header_read_timeout(&mut self, d: Duration) -> &mut Self {
        self.config.header_read_timeout = d;
        self
    }

    /// How long a keep-alive connection may sit idle between requests.
    ///
    /// Measured on the server's coarse idle clock, one for all
    /// connections rather than a timer each: the connection is closed up
    /// to an eighth of the shorter idle timeout late (at most a second),
    /// never early.
    ///
    /// The same clock keeps an RFC 6455 WebSocket's keepalive ping and
    /// idle timeout when their shorter period spans at least eight of its
    /// ticks (so they run at most an eighth late, never early); shorter
    /// ones, and every closing handshake's deadline, keep a timer of the
    /// socket's own.
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

    /// Serves every connection over TLS with this certificate (the `tls`
    /// feature): HTTP, event streams and both WebSocket versions, all on
    /// the one port, as `https://` and `wss://`. Keep a clone of `tls` to
    /// [`reload`](crate::TlsConfig::reload) the certificate later. Each
    /// handshake runs on its connection's task, under
    /// [`TlsConfig::handshake_timeout`](crate::TlsConfig::handshake_timeout),
    /// so that a client that stalls or sends garbage delays no one.
    ///
    /// Default is none: plain TCP.
    #[cfg(feature = "tls")]
    pub fn tls(&mut self, tls: crate::tls::TlsConfig) -> &mut Self {
        self.config.tls = Some(tls);
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
        Ok(Server {
            listener,
            local_addr,
            config: Arc::new(self.config.clone()),
            shutdown: Trigger::new(),
        })
    }
}

/// A bound server, ready to [`serve`](Server::serve) a dispatcher.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    config: Arc<Config>,
    shutdown: Trigger,
}

/// Starts a graceful shutdown of the server it came from.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    tx: Trigger,
}

impl ShutdownHandle {
    /// Begins a graceful shutdown: stop accepting, let in-flight requests
    /// finish (their responses carry `Connection: close`), close idle
    /// connections, signal upgraded connections, then return from
    /// [`Server::serve`] once all are gone or the grace period ends.
    pub fn shutdown(&self) {
        self.tx.fire();
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
        let mut stop = self.shutdown.subscribe();
        let local = Arc::new(self.local_addr);
        // One clock for every idle keep-alive connection's deadline.
        let idle_clock = tokio::spawn(self.shutdown.idle_clock(idle_tick(&self.config)));
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
                local: Arc::clone(&local),
                shutdown: self.shutdown.subscribe(),
                security: Security::Plain,
            };
            spawn_connection(
                &mut tasks,
                io,
                cx,
                self.config.clone(),
                dispatcher.clone(),
                permit,
            );
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
        idle_clock.abort();
        Ok(())
    }
}

/// The idle clock's tick: an eighth of the shorter idle timeout, between
/// 10 ms and a second, so that an idle connection is closed at most that
/// late (never early).
fn idle_tick(config: &Config) -> Duration {
    let shortest = config.keep_alive_timeout.min(config.header_read_timeout);
    (shortest / 8).clamp(Duration::from_millis(10), Duration::from_secs(1))
}
