//! The legacy hixie-76 / hybi-00 WebSocket draft
//! (draft-hixie-thewebsocketprotocol-76, identical to
//! draft-ietf-hybi-thewebsocketprotocol-00): its opening handshake with
//! `Sec-WebSocket-Key1`, `Sec-WebSocket-Key2` and the 8-byte third key
//! answered by an MD5 challenge, its `0x00 <UTF-8> 0xFF` text frames and its
//! `0xFF 0x00` closing handshake.
//!
//! # What this crate does not do
//!
//! The core ([`handshake`], [`Decoder`], [`encode_text`], [`encode_close`])
//! performs no I/O: bytes and `http` types in, frames and bytes out. It does
//! not parse HTTP request heads from a socket (the server in front of it
//! does; the eight key bytes are whatever follows the head), does not do
//! TLS, and does not speak RFC 6455. hybi-00 itself cannot carry binary
//! messages, pings or close codes: those are [`Error::Unsupported`], and
//! the length-prefixed frames the draft reserves are read and discarded.
//!
//! ```text
//!  request head + 8 bytes ──► handshake::encode_response ──► 101 head + 16 bytes
//!
//!  socket bytes ──► BytesMut ──► Decoder::decode ──► Frame::Text(Utf8Bytes) / Frame::Close
//!                                   (discards length-prefixed frames)
//!  &str ──► encode_text ──► 0x00 … 0xFF ──► socket        encode_close ──► 0xFF 0x00
//!
//!  feature `tokio`:  accept / connect ──► WebSocket<S> { recv, send, feed, flush, close }
//!                    Message::Text in and out, Message::Close(None) for 0xFF 0x00
//! ```
//!
//! # Example
//!
//! The draft's worked example, then a frame each way:
//!
//! ```
//! use bytes::BytesMut;
//! use oneport_hybi00::{encode_text, handshake, Config, Decoder, Frame};
//!
//! let answer = handshake::challenge(
//!     "18x 6]8vM;54 *(5:  {   U1]8  z [  8",
//!     "1_ tx7X d  <  nw  334J702) 7]o}` 0",
//!     b"Tm[K T2u",
//! )?;
//! assert_eq!(&answer, b"fQJ,fN/4F4!~K~MH");
//!
//! let mut wire = BytesMut::new();
//! encode_text("hello", &mut wire);
//! assert_eq!(&wire[..], b"\x00hello\xFF");
//!
//! let mut decoder = Decoder::new(&Config::default());
//! assert_eq!(decoder.decode(&mut wire)?, Some(Frame::Text("hello".into())));
//! assert_eq!(decoder.decode(&mut wire)?, None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Cargo features
//!
//! - `tokio` (off by default; `oneport-dispatch` and the `oneport` facade turn
//!   it on): [`WebSocket`] over any `AsyncRead + AsyncWrite`
//!   (with `Stream` and `Sink`), the server's [`accept`] and the client's
//!   [`connect`]. Without it the crate
//!   pulls in no tokio.
//!
//! Design notes and limits: `docs/hybi00.md` in the repository.
#![forbid(unsafe_code)]
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

mod config;
mod error;
mod frame;
pub mod handshake;

#[cfg(feature = "tokio")]
mod conn;

pub use config::{
    Config, DEFAULT_CLOSE_TIMEOUT, DEFAULT_FRAME_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_WRITE_BUFFER_SIZE,
    DEFAULT_WRITE_TIMEOUT,
};
pub use error::Error;
pub use frame::{
    Decoder, EncodedText, Frame, FramePart, MAX_LENGTH_BYTES, encode_close, encode_text,
};
pub use handshake::{HandshakeError, Scheme, is_hybi00_request};
/// The message model, shared with RFC 6455 so that one handler serves both.
pub use oneport_rfc6455::{CloseCode, CloseFrame, Message, Utf8Bytes};

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use conn::{
    WebSocket, accept, accept_with_response, client_handshake, connect, connect_with_config,
};
