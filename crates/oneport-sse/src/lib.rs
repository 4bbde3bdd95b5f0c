//! Server-Sent Events: the WHATWG `text/event-stream` format (HTML §9.2).
//!
//! The core of this crate is sans-IO. [`Event`] encodes one event into bytes
//! and [`Parser`] turns bytes back into [`ParsedEvent`]s; neither reads or
//! writes a socket, owns a timer or knows about HTTP. They follow the
//! specification's parsing and interpretation algorithm to the letter (CR,
//! LF and CRLF line endings, a leading byte order mark, `retry` digits only,
//! ids with NUL ignored, last event ID carried between events), and every
//! buffer is bounded by [`ParserLimits`].
//!
//! With the `tokio` feature the crate adds the I/O on top: a broadcast
//! [`Hub`] that keeps a bounded history of events with an id and replays it
//! to subscribers that arrive later or resume with `Last-Event-ID`, modelled
//! on the Racket `net/sse` package, and an [`EventSource`] client that
//! reconnects the way a browser does, sending `Last-Event-ID`. The hub does
//! **not** write HTTP response heads or route requests: [`response_head`]
//! gives the head as an `http::Response`, and serving it is the
//! dispatcher's job.
//!
//! ```text
//!            publish(Event)                     EventSource (client)
//!                 |                                   ^
//!           Event::encode  (once, shared Bytes)       | ParsedEvent
//!                 v                                   |
//!   Hub --> history (id'd events, bounded)      Parser::poll_event
//!     |          |  replay on subscribe               ^
//!     v          v                                    | Parser::feed(&[u8])
//!   bounded queue per Subscription  --forward-->  socket bytes
//! ```
//!
//! # Example
//!
//! Encode an event and parse it back:
//!
//! ```
//! use oneport_sse::{Event, Parser};
//!
//! let event = Event::new("line one\nline two").event("update")?.id("17")?;
//! let wire = event.to_bytes();
//! assert_eq!(&wire[..], b"event: update\nid: 17\ndata: line one\ndata: line two\n\n");
//!
//! let mut parser = Parser::default();
//! parser.feed(&wire)?;
//! let parsed = parser.poll_event().expect("one event");
//! assert_eq!(parsed.event_type, "update");
//! assert_eq!(parsed.data, "line one\nline two");
//! assert_eq!(parsed.last_event_id, "17");
//! assert!(parser.poll_event().is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Cargo features
//!
//! * `tokio` (off by default; `oneport-dispatch` and the `oneport` facade turn
//!   it on, with `http` and `oneport-http1` for the client): [`Hub`], [`Subscription`], [`HubConfig`],
//!   [`response_head`], and the [`EventSource`] client with
//!   [`ClientConfig`]. Pulls in `tokio` and `futures-core`. Without it the
//!   crate is the sans-IO codec only.
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
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod event;
mod parser;

#[cfg(feature = "tokio")]
mod client;
#[cfg(feature = "tokio")]
mod hub;

#[cfg(feature = "tokio")]
pub use crate::error::{ClientError, SubscriptionError};
pub use crate::error::{EventError, ParseError};
pub use crate::event::{Event, encode_comment};
pub use crate::parser::{
    DEFAULT_EVENT_TYPE, DEFAULT_MAX_DATA_LEN, DEFAULT_MAX_LINE_LEN, ParsedEvent, Parser,
    ParserLimits,
};

#[cfg(feature = "tokio")]
pub use crate::client::{
    ClientConfig, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RECONNECT_ATTEMPTS,
    DEFAULT_MAX_RESPONSE_HEAD, DEFAULT_MAX_RETRY, DEFAULT_READ_TIMEOUT, DEFAULT_RETRY, EventSource,
};
#[cfg(feature = "tokio")]
pub use crate::hub::{
    DEFAULT_HISTORY_MAX_BYTES, DEFAULT_HISTORY_MAX_EVENTS, DEFAULT_KEEP_ALIVE,
    DEFAULT_SUBSCRIBER_QUEUE, DEFAULT_WRITE_TIMEOUT, HISTORY_CUT_EVENT, Hub, HubConfig,
    Subscription, response_head,
};
