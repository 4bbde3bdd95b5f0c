//! One-line servers for a single protocol on its own port, like Racket's
//! `ws-serve` and the SSE package's `start-sse-tcp-port`.

use std::io;

use http::StatusCode;
use oneport_sse::Hub;
use tokio::net::ToSocketAddrs;

use crate::dispatcher::Request;
use crate::websocket::Handler;
use crate::{Server, sequencer, servlet, sse, websocket};

/// Serves a WebSocket handler (RFC 6455 and hybi-00) on its own port, on
/// every path. Requests that are not WebSocket upgrades get `400 Bad
/// WebSocket request`, as Racket's `ws-serve` answers.
///
/// # Errors
///
/// Fails if `addr` cannot be bound.
///
/// # Examples
///
/// ```no_run
/// # #[allow(dead_code)]
/// # async fn run() -> std::io::Result<()> {
/// oneport_dispatch::ws_serve("127.0.0.1:8081", |mut ws: oneport_dispatch::WebSocket, _req| async move {
///     while let Some(Ok(m)) = ws.recv().await {
///         if m.is_data() { let _ = ws.send(m).await; }
///     }
/// }).await
/// # }
/// ```
pub async fn ws_serve(addr: impl ToSocketAddrs, handler: impl Handler) -> io::Result<()> {
    let d = sequencer(vec![
        Box::new(websocket(handler)),
        Box::new(servlet(|_req: Request| {
            (StatusCode::BAD_REQUEST, "Bad WebSocket request\n")
        })),
    ]);
    Server::builder().bind(addr).await?.serve(d).await
}

/// Serves an event stream from `hub` on its own port, on every path.
///
/// # Errors
///
/// Fails if `addr` cannot be bound.
///
/// # Examples
///
/// ```no_run
/// # #[allow(dead_code)]
/// # async fn run() -> std::io::Result<()> {
/// use oneport_sse::{Event, Hub, HubConfig};
/// let hub = Hub::new(HubConfig::default());
/// let publisher = hub.clone();
/// tokio::spawn(async move { publisher.publish(Event::new("hello")); });
/// oneport_dispatch::sse_serve("127.0.0.1:8122", hub).await
/// # }
/// ```
pub async fn sse_serve(addr: impl ToSocketAddrs, hub: Hub) -> io::Result<()> {
    Server::builder().bind(addr).await?.serve(sse(hub)).await
}
