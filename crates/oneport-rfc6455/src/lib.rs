//! RFC 6455 WebSockets: a sans-IO frame codec and handshake, plus an
//! optional async socket and client for tokio.
//!
//! The core ([`Connection`], [`handshake`]) does **no I/O**: it turns bytes
//! into [`Message`]s and messages into bytes, checks the opening handshake
//! on `http` types, and leaves sockets, timers and threads to the caller.
//! One extension is built in: permessage-deflate (RFC 7692), switched on
//! with [`Config::deflate`]; [`deflate`] decides its parameters from the
//! [`extension`] lists of the handshake, and [`Connection`] compresses and
//! inflates. TLS is not the core's business: the client reaches `wss://`
//! through `oneport-net` (the `tls` feature), and a server passes its TLS
//! stream to [`WebSocket::from_raw_socket`]. Nor does it do HTTP beyond
//! the upgrade head.
//!
//! ```text
//!            bytes from the peer                     bytes to the peer
//!                    |                                       ^
//!                    v                                       |
//!   BytesMut --> Connection::receive --> Message    Message --> Connection::encode --> BytesMut
//!                (unmask in place, UTF-8 check,             (mask if client)
//!                 limits, fragment assembly)
//!
//!   tokio feature:  WebSocket<S> = socket S + Connection + read/write buffers
//!                   + auto-pong, close handshake, keepalive, timeouts
//! ```
//!
//! # Example
//!
//! A client and a server engine talking through plain buffers:
//!
//! ```
//! use bytes::BytesMut;
//! use oneport_rfc6455::{CloseCode, CloseFrame, Config, Connection, Message, Role, State};
//!
//! let mut client = Connection::new(Role::Client, Config::default());
//! let mut server = Connection::new(Role::Server, Config::default());
//!
//! let mut to_server = BytesMut::new();
//! client.encode(&Message::text("hello"), &mut to_server)?;
//! client.encode(&Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, ""))), &mut to_server)?;
//!
//! assert_eq!(server.receive(&mut to_server)?, Some(Message::text("hello")));
//! let Some(Message::Close(Some(frame))) = server.receive(&mut to_server)? else {
//!     panic!("expected a close frame");
//! };
//! assert_eq!(frame.code, CloseCode::NORMAL);
//!
//! // The closing policy is the engine's: it owes the client the echo of its
//! // code, and writes it when asked what to transmit.
//! assert_eq!(server.state(), State::CloseReceived);
//! let mut to_client = BytesMut::new();
//! assert!(server.poll_transmit(&mut to_client));
//! assert!(matches!(client.receive(&mut to_client)?, Some(Message::Close(_))));
//! assert_eq!((client.state(), server.state()), (State::Closed, State::Closed));
//! # Ok::<(), oneport_rfc6455::Error>(())
//! ```
//!
//! # Cargo features
//!
//! - `tokio` (off by default; `oneport-dispatch` and the `oneport` facade turn
//!   it on): [`WebSocket`] over any tokio
//!   `AsyncRead + AsyncWrite`, its [`split`](WebSocket::split) halves, and
//!   the client [`connect`] / [`connect_with`]. Without it the crate pulls
//!   in no async runtime.
//! - `tls` (off by default): `wss://` for the client, with rustls (ring)
//!   and the platform's roots or a given [`TlsClientConfig`].
// One `unsafe` block, in `mask.rs`: the call of the AVX2 build of the
// masking loop after run-time detection (measured; see there). Denied
// everywhere else, here and in `Cargo.toml`.
#![deny(unsafe_code)]
// Library code never panics on what a peer sends: no unwrap or expect
// outside tests, and a panic only where a documented constructor is given
// a bad pattern by the program itself.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

mod close;
mod config;
mod conn;
pub mod deflate;
mod error;
pub mod extension;
mod fragmenter;
mod frame;
pub mod handshake;
mod mask;
mod message;
mod prepared;
mod utf8;

#[cfg(feature = "tokio")]
mod client;
#[cfg(feature = "tokio")]
mod socket;

pub use crate::close::{CloseCode, CloseFrame, MAX_CLOSE_REASON};
pub use crate::config::{
    Config, DEFAULT_CLOSE_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_FRAME_SIZE,
    DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_STREAMED_MESSAGE_SIZE, DEFAULT_MAX_WRITE_BUFFER_SIZE,
    DEFAULT_WRITE_TIMEOUT, Role,
};
pub use crate::conn::{Compress, Connection, Part, State};
pub use crate::error::{CapacityError, Error, LocalError, ProtocolError};
pub use crate::fragmenter::{Fragment, Fragmenter, MessageKind};
pub use crate::frame::{
    Fin, FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OpCode, RSV1, encode_frame,
};
pub use crate::handshake::{
    GUID, HandshakeError, OriginPolicy, UpgradeRequest, accept_key, check_origin, check_request,
    client_request, is_upgrade_request, negotiate, offer_extensions, response, select_protocol,
    verify_response, verify_response_with,
};
pub use crate::mask::{apply_mask, apply_mask_bytewise};
pub use crate::message::{Message, Utf8Bytes};
pub use crate::prepared::PreparedMessage;
pub use crate::utf8::{InvalidUtf8, Utf8Validator};

#[cfg(feature = "tokio")]
pub use crate::client::{ConnectOptions, DEFAULT_CONNECT_TIMEOUT, connect, connect_with};
#[cfg(feature = "tokio")]
pub use crate::socket::{
    Half, MessageStream, Timers, WakerFanout, WebSocket, WsReceiver, WsSender,
};
/// The client's connection, and the roots it trusts for `wss://`.
#[cfg(feature = "tokio")]
pub use oneport_net::{ClientStream, TlsClientConfig};
