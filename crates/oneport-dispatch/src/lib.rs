//! Serve HTTP pages, Server-Sent Events and WebSockets on **one port** by
//! composing *dispatchers*, the way Racket's web-server does.
//!
//! A server reads one HTTP/1.1 request head at a time and offers the request
//! to a [`Dispatcher`]. The dispatcher answers it, declines it (so the next
//! one is tried), or takes the connection over (a WebSocket upgrade, an event
//! stream). Protocols are just dispatchers:
//!
//! ```text
//!  TCP ──► server loop ──► sequencer ─┬─ filter("^/events$", sse(hub))
//!          (http1 heads,              ├─ filter("^/ws$", websocket(h))  RFC 6455 + hybi-00
//!           limits, timeouts,         ├─ files("./public")
//!           keep-alive)               └─ servlet(page)
//!                                       all declined ──► 404
//! ```
//!
//! What this crate does not do: TLS (terminate it in front), HTTP/2, or
//! request bodies larger than [`Limits::max_body_bytes`](oneport_http1::Limits)
//! (they are read whole before dispatch; larger ones get `413`).
//!
//! # Example
//!
//! ```
//! use oneport_dispatch::{filter, sequencer, servlet, websocket, Server, Request, WebSocket};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let site = sequencer(vec![
//!     Box::new(filter("^/ws$", websocket(|mut ws: WebSocket, _req| async move {
//!         while let Some(Ok(msg)) = ws.recv().await {
//!             if msg.is_data() && ws.send(msg).await.is_err() {
//!                 break;
//!             }
//!         }
//!     }))),
//!     Box::new(filter("^/$", servlet(|_req: Request| "Hello, World!"))),
//! ]);
//! let server = Server::builder().bind("127.0.0.1:0").await?;
//! let addr = server.local_addr();
//! let stop = server.shutdown_handle();
//! let running = tokio::spawn(server.serve(site));
//!
//! // ... clients talk to `addr` ...
//! # let _ = addr;
//! stop.shutdown();
//! running.await.expect("server task")?;
//! # Ok(())
//! # }
//! ```
//!
//! # Logging
//!
//! Through `tracing`: connections accepted (debug), one line per request with
//! method, path and status (info), files sent, requests nobody served (404).
//! Payloads are never logged.
#![forbid(unsafe_code)]
// Library code never panics on what a peer sends: no unwrap or expect
// outside tests, and a panic only where a documented constructor is given
// a bad pattern by the program itself.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

mod body;
mod dispatcher;
mod error;
mod files;
mod filter;
mod request_body;
mod sequencer;
mod server;
mod servlet;
mod shutdown;
mod sse;
mod standalone;
mod stream;
#[cfg(feature = "tls")]
mod tls;
pub mod topics;
#[cfg(feature = "tower")]
pub mod tower;
mod websocket;

pub use body::{Body, BoxError};
pub use dispatcher::{
    BodyMode, BoxFuture, Context, Dispatched, Dispatcher, Outcome, Request, Response, Shutdown,
    Upgrade, Upgraded, html_response, text_response,
};
pub use error::Error;
pub use files::{Files, files};
pub use filter::{Filter, filter};
pub use request_body::{RequestBody, RequestBodyError, StreamedBody, streamed_body};
pub use sequencer::{Sequencer, sequencer};
pub use server::{
    Builder, DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_KEEP_ALIVE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_SHUTDOWN_GRACE, DEFAULT_WRITE_TIMEOUT, Server, ShutdownHandle,
    serve,
};
pub use servlet::{IntoResponse, Servlet, ServletFn, markers, servlet};
pub use sse::{SseDispatcher, SseOptions, sse, topic_events};
pub use standalone::{Serving, sse_serve, ws_serve};
pub use stream::{Security, ServerStream};
#[cfg(feature = "tls")]
pub use tls::{DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_HANDSHAKES, TlsConfig, TlsError};
pub use websocket::{
    Handler, MessageStream, Prepared, ServiceMapper, Subprotocol, Transport, UpgradeCheck,
    WebSocket, WebSocketDispatcher, WsOptions, WsReceiver, WsSender, WsVersion,
    is_websocket_request, service_mapper, websocket,
};

/// permessage-deflate's settings, for
/// [`Config::deflate`](oneport_rfc6455::Config::deflate).
pub use oneport_rfc6455::deflate::{ContextTakeover, DeflateConfig, DeflateParams};
/// The WebSocket message and close types handlers use.
pub use oneport_rfc6455::{
    CloseCode, CloseFrame, Compress, Message, MessageKind, OriginPolicy, Utf8Bytes,
};
