//! **oneport** serves plain HTTP, Server-Sent Events and WebSockets (RFC 6455
//! and the legacy hybi-00 draft) on one port, by composing dispatchers the
//! way Racket's web-server does.
//!
//! This facade re-exports the layered crates:
//!
//! | module | crate | what |
//! |---|---|---|
//! | [`http1`] | `oneport-http1` | sans-IO HTTP/1.1 heads, bodies, limits |
//! | [`ws`] | `oneport-rfc6455` | RFC 6455 framing, handshake, async socket, client |
//! | [`hybi00`] | `oneport-hybi00` | the hixie-76 / hybi-00 draft |
//! | [`sse`] | `oneport-sse` | event-stream encoding, parsing, hub with replay, client |
//! | [`dispatch`] | `oneport-dispatch` | the server and its dispatchers |
//!
//! The [`prelude`] brings in what a typical server needs.
//!
//! # Example
//!
//! ```
//! use oneport::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let hub = Hub::new(HubConfig::default());
//! let site = sequencer(vec![
//!     Box::new(filter("^/events$", sse(hub.clone()))),
//!     Box::new(filter("^/ws$", websocket(|mut ws: WebSocket, _req| async move {
//!         while let Some(Ok(m)) = ws.recv().await {
//!             if m.is_data() && ws.send(m).await.is_err() { break; }
//!         }
//!     }))),
//!     Box::new(servlet(|_req: Request| "Hello, World!")),
//! ]);
//! let server = Server::builder().bind("127.0.0.1:0").await?;
//! let stop = server.shutdown_handle();
//! let task = tokio::spawn(server.serve(site));
//! hub.publish(Event::new("ready"));
//! stop.shutdown();
//! task.await.expect("server task")?;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
// Library code never panics on what a peer sends: no unwrap or expect
// outside tests, and a panic only where a documented constructor is given
// a bad pattern by the program itself.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![warn(missing_docs)]

pub use oneport_dispatch as dispatch;
pub use oneport_http1 as http1;
pub use oneport_hybi00 as hybi00;
pub use oneport_net as net;
pub use oneport_rfc6455 as ws;
pub use oneport_sse as sse;

/// The names a typical server needs.
pub mod prelude {
    pub use oneport_dispatch::topics::{TopicHub, TopicMessage};
    pub use oneport_dispatch::{
        Body, CloseCode, Compress, DeflateConfig, Message, OriginPolicy, Request, RequestBody,
        Response, Server, ServiceMapper, SseOptions, Subprotocol, WebSocket, WsOptions, WsReceiver,
        WsSender, files, filter, html_response, sequencer, serve, service_mapper, servlet, sse,
        sse_serve, streamed_body, text_response, topic_events, websocket, ws_serve,
    };
    pub use oneport_sse::{Event, Hub, HubConfig};
}

/// The README's code, compiled as a doctest so that it cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
