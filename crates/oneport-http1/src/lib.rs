//! Sans-IO HTTP/1.1: request-head parsing, body framing and response-head
//! encoding, for the oneport server and its clients.
//!
//! What this crate does **not** do: it performs no I/O. It never reads or
//! writes a socket, spawns a task or sets a timer; you hand it bytes and it
//! hands back `http` types, body bytes, or encoded bytes in your own
//! `BytesMut`. Timeouts, buffering policy, routing and connection reuse
//! belong to the caller (in oneport, `oneport-dispatch`). It does not speak
//! HTTP/2, and it does not implement content or transfer codings other than
//! `chunked`.
//!
//! ```text
//!   bytes read ──► parse_request(buf, &limits)
//!                   ├─ Ok(None): read more (buf is within max_head_bytes)
//!                   ├─ Err(e): answer e.status(), close
//!                   └─ Ok(Some((RequestHead, n))): body starts at buf[n..]
//!                         │ head.body
//!                         ├─ Empty
//!                         ├─ Length(len) ─► take len bytes
//!                         └─ Chunked ─────► ChunkedDecoder::decode ─► body bytes
//!
//!   http::response::Parts ─► encode_response_head ─┐
//!   body bytes ─► encode_chunk / encode_last_chunk ┴─► BytesMut ─► bytes to write
//! ```
//!
//! Every parser is bounded by [`Limits`], and every error knows the HTTP
//! status to answer with ([`Error::status`]). The framing rules that stop
//! request smuggling (both `Content-Length` and `Transfer-Encoding`,
//! duplicate lengths, `chunked` not last, bare LF, ...) are listed on
//! [`parse_request`] and [`Smuggling`]; the design notes are in the
//! repository's `docs/http1.md`.
//!
//! # Example
//!
//! ```
//! use bytes::BytesMut;
//! use oneport_http1::{encode_response_head, parse_request, BodyKind, BodyLength, Limits, Persistence};
//!
//! let limits = Limits::default();
//! let wire = b"GET /hello?name=you HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
//!
//! // Parse: the head is complete, and nothing follows it.
//! let (head, n) = parse_request(wire, &limits)?.expect("a complete head");
//! assert_eq!(n, wire.len());
//! assert_eq!(head.request.method(), http::Method::GET);
//! assert_eq!(head.request.uri().path(), "/hello");
//! assert_eq!(head.request.headers()["accept"], "*/*");
//! assert_eq!(head.body, BodyKind::Empty);
//! assert!(head.keep_alive);
//!
//! // Answer: encode the head into a caller-owned buffer, then the body.
//! let body = b"hi you";
//! let (parts, ()) = http::Response::builder()
//!     .header("content-type", "text/plain")
//!     .body(())
//!     .expect("valid response")
//!     .into_parts();
//! let mut out = BytesMut::with_capacity(256);
//! encode_response_head(
//!     &parts,
//!     BodyLength::Length(body.len() as u64),
//!     if head.keep_alive { Persistence::KeepAlive } else { Persistence::Close },
//!     head.request.version(),
//!     &mut out,
//! );
//! out.extend_from_slice(body);
//! assert!(out.starts_with(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nDate: "));
//! assert!(out.ends_with(b"\r\nContent-Length: 6\r\n\r\nhi you"));
//! # Ok::<(), oneport_http1::Error>(())
//! ```
//!
//! # Cargo features
//!
//! This crate has no cargo features; it depends only on `bytes`, `http`,
//! `httparse`, `httpdate` and `thiserror`.
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

mod body;
mod date;
mod error;
mod head;
mod limits;
mod queue;
mod request;
mod response;

pub use crate::body::{
    CHUNK_END, ChunkedDecoder, encode_chunk, encode_chunk_head, encode_last_chunk,
};
pub use crate::error::{Error, InvalidChunk, Malformed, Smuggling};
pub use crate::limits::{
    DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CHUNK_LINE_BYTES, DEFAULT_MAX_HEAD_BYTES,
    DEFAULT_MAX_HEADERS, DEFAULT_MAX_TRAILER_BYTES, DEFAULT_MAX_URI_LEN, Limits,
};
pub use crate::queue::ChunkQueue;
pub use crate::request::{BodyKind, RequestHead, encode_request_head, parse_request};
pub use crate::response::{
    BodyLength, Persistence, ResponseBody, ResponseHead, encode_continue, encode_response_head,
    parse_response, status_has_body,
};
