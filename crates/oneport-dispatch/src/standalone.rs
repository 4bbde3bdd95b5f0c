//! One-line servers for a single protocol on its own port, like Racket's
//! `ws-serve` and the SSE package's `start-sse-tcp-port`.

use std::io;
use std::net::SocketAddr;

use http::StatusCode;
use oneport_sse::Hub;
use tokio::net::ToSocketAddrs;
use tokio::task::JoinHandle;

use crate::dispatcher::{Dispatcher, Request};
use crate::sse::SseOptions;
use crate::websocket::{Handler, WsOptions};
use crate::{Server, ShutdownHandle, sequencer, servlet, sse, websocket};

/// A server started by [`ws_serve`] or [`sse_serve`], running on a task
/// of its own. [`stop`](Serving::stop) ends it, like the procedure
/// Racket's `ws-serve` returns. Dropping the handle leaves the server
/// running.
#[derive(Debug)]
pub struct Serving {
    addr: SocketAddr,
    stop: ShutdownHandle,
    task: JoinHandle<io::Result<()>>,
}

impl Serving {
    async fn start(addr: impl ToSocketAddrs, dispatcher: impl Dispatcher) -> io::Result<Self> {
        let server = Server::builder().bind(addr).await?;
        let addr = server.local_addr();
        let stop = server.shutdown_handle();
        let task = tokio::spawn(server.serve(dispatcher));
        Ok(Self { addr, stop, task })
    }

    /// The address the server listens on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle that starts the graceful shutdown from elsewhere.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.stop.clone()
    }

    /// Stops the server gracefully (no new connections; WebSockets closed
    /// with 1001, event streams ended) and waits until it has stopped.
    ///
    /// # Errors
    ///
    /// The server's own error, if its listener failed.
    pub async fn stop(self) -> io::Result<()> {
        self.stop.shutdown();
        self.wait().await
    }

    /// Waits until the server stops (after a shutdown started through
    /// [`shutdown_handle`](Serving::shutdown_handle)).
    ///
    /// # Errors
    ///
    /// The server's own error, if its listener failed.
    pub async fn wait(self) -> io::Result<()> {
        self.task.await.map_err(io::Error::other)?
    }
}

/// Serves a WebSocket handler (RFC 6455 and hybi-00) on its own port, on
/// every path, with `options` (origin policy, limits, the upgrade check),
/// and returns once it listens. Requests that are not WebSocket upgrades
/// get `400 Bad WebSocket request`, as Racket's `ws-serve` answers.
///
/// A page served from another port needs its origin allowed: see
/// [`WsOptions::origin`].
///
/// # Errors
///
/// Fails if `addr` cannot be bound.
///
/// # Examples
///
/// ```no_run
/// use oneport_dispatch::{OriginPolicy, WebSocket, WsOptions, ws_serve};
///
/// # #[allow(dead_code)]
/// # async fn run() -> std::io::Result<()> {
/// // The page comes from another port of this machine.
/// let options = WsOptions::default()
///     .origin(OriginPolicy::AllowList(vec!["http://localhost:8080".into()]));
/// let server = ws_serve("127.0.0.1:8081", |mut ws: WebSocket, _req| async move {
///     while let Some(Ok(m)) = ws.recv().await {
///         if m.is_data() { let _ = ws.send(m).await; }
///     }
/// }, options).await?;
/// // ... later:
/// server.stop().await
/// # }
/// ```
pub async fn ws_serve(
    addr: impl ToSocketAddrs,
    handler: impl Handler,
    options: WsOptions,
) -> io::Result<Serving> {
    let d = sequencer(vec![
        Box::new(websocket(handler).options(options)),
        Box::new(servlet(|_req: Request| {
            (StatusCode::BAD_REQUEST, "Bad WebSocket request\n")
        })),
    ]);
    Serving::start(addr, d).await
}

/// Serves an event stream from `hub` on its own port, on every path, with
/// `options` (the CORS policy a page on another port needs), and returns
/// once it listens.
///
/// # Errors
///
/// Fails if `addr` cannot be bound.
///
/// # Examples
///
/// ```no_run
/// use oneport_dispatch::{OriginPolicy, SseOptions, sse_serve};
/// use oneport_sse::{Event, Hub, HubConfig};
///
/// # #[allow(dead_code)]
/// # async fn run() -> std::io::Result<()> {
/// let hub = Hub::new(HubConfig::default());
/// let options = SseOptions::default()
///     .cors(OriginPolicy::AllowList(vec!["http://localhost:8080".into()]));
/// let server = sse_serve("127.0.0.1:8122", hub.clone(), options).await?;
/// hub.publish(Event::new("hello"));
/// server.stop().await
/// # }
/// ```
pub async fn sse_serve(
    addr: impl ToSocketAddrs,
    hub: Hub,
    options: SseOptions,
) -> io::Result<Serving> {
    Serving::start(addr, sse(hub).options(options)).await
}
