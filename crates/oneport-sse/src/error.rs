//! Error types, one per operation.
//!
//! * [`EventError`]: local misuse while building an [`Event`](crate::Event)
//!   (a field that cannot be written on one line).
//! * [`ParseError`]: the remote stream broke a [`ParserLimits`](crate::ParserLimits)
//!   bound. An event stream has no error answer on the wire: the reaction to
//!   any remote error is to close the connection (the WHATWG processing model
//!   calls it "fail the connection").
//! * `SubscriptionError` and `ClientError` (feature `tokio`): the async
//!   hub writer and the client.

use thiserror::Error;

/// A field given to an [`Event`](crate::Event) builder cannot be encoded.
///
/// `event` and `id` are single-line fields: a CR or LF would end the line
/// early and let the rest be read as another field, and a NUL makes a
/// conforming parser ignore the `id` field altogether.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EventError {
    /// The `event` name contains CR, LF or NUL.
    #[error("event name contains CR, LF or NUL")]
    InvalidEventName,
    /// The `id` contains CR, LF or NUL.
    #[error("event id contains CR, LF or NUL")]
    InvalidId,
}

/// The remote event stream exceeded a [`ParserLimits`](crate::ParserLimits)
/// bound.
///
/// After an error the [`Parser`](crate::Parser) is failed: events queued
/// before the offending line can still be taken with
/// [`Parser::poll_event`](crate::Parser::poll_event), and every later
/// [`Parser::feed`](crate::Parser::feed) returns the same error. The right
/// reaction is to close the connection; there is no error answer on the
/// wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A line (without its line ending) is longer than
    /// [`ParserLimits::max_line_len`](crate::ParserLimits::max_line_len).
    #[error("event-stream line of at least {size} bytes exceeds the limit of {max}")]
    LineTooLong {
        /// Bytes of the line seen so far (at least `max + 1`).
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// The data buffer of the event being assembled is larger than
    /// [`ParserLimits::max_data_len`](crate::ParserLimits::max_data_len).
    #[error("event data of {size} bytes exceeds the limit of {max}")]
    DataTooLong {
        /// Size of the data buffer, in UTF-8 bytes, including the line feed
        /// appended after each `data` line.
        size: usize,
        /// The configured limit.
        max: usize,
    },
}

/// Why [`Subscription::forward`](crate::Subscription::forward) stopped
/// writing (feature `tokio`).
///
/// A hub that closes ends the forwarding with `Ok(())`; these are the other
/// endings. Every one of them means the connection should be closed; the
/// client reconnects with `Last-Event-ID` and catches up from the history.
#[cfg(feature = "tokio")]
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SubscriptionError {
    /// The subscriber's bounded queue was full when an event was published,
    /// so the hub dropped it rather than wait for it or buffer without end.
    #[error("subscriber fell behind and was dropped (its queue was full)")]
    Lagged,
    /// The socket did not accept a batch within
    /// [`HubConfig::write_timeout`](crate::HubConfig::write_timeout).
    #[error("write to the subscriber timed out")]
    WriteTimeout,
    /// Writing to the socket failed.
    #[error("write to the subscriber failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Why an [`EventSource`](crate::EventSource) yielded an error (feature
/// `tokio`).
///
/// Errors for which [`is_fatal`](Self::is_fatal) is `false` are reported
/// and then the client reconnects, as a browser's `EventSource` does after a
/// network error; after a fatal error the stream ends. The client's answer
/// on the wire to every remote error is to close the connection.
#[cfg(feature = "tokio")]
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL is not an absolute `http://` URL. Fatal.
    #[error("invalid event-source URL: {0}")]
    InvalidUrl(String),
    /// Connecting (name lookup included) failed. The client reconnects.
    #[error("connect failed: {0}")]
    Connect(std::io::Error),
    /// Connecting took longer than
    /// [`ClientConfig::connect_timeout`](crate::ClientConfig::connect_timeout).
    /// The client reconnects.
    #[error("connect timed out")]
    ConnectTimeout,
    /// Nothing arrived for
    /// [`ClientConfig::read_timeout`](crate::ClientConfig::read_timeout).
    /// The client reconnects.
    #[error("no data from the server within the read timeout")]
    ReadTimeout,
    /// Reading or writing the connection failed, or it closed before the
    /// response head was complete. The client reconnects.
    #[error("connection failed: {0}")]
    Io(std::io::Error),
    /// The response head or the chunked body framing was invalid, or too
    /// large. Fatal.
    #[error("invalid HTTP response: {0}")]
    Http(#[from] oneport_http1::Error),
    /// The server answered with a status other than `200 OK` (and other than
    /// `204 No Content`, which ends the stream without an error). Fatal, as
    /// the WHATWG processing model requires.
    #[error("server answered {0} instead of 200")]
    Status(http::StatusCode),
    /// The response is not `text/event-stream`. Fatal.
    #[error("response content type is not text/event-stream")]
    ContentType,
    /// The event stream broke a [`ParserLimits`](crate::ParserLimits) bound.
    /// Fatal: reconnecting would most likely fetch the same stream again.
    #[error("event stream rejected: {0}")]
    Parse(#[from] ParseError),
    /// [`ClientConfig::max_reconnect_attempts`](crate::ClientConfig::max_reconnect_attempts)
    /// connection attempts in a row failed. Fatal.
    #[error("gave up after {0} failed connection attempts in a row")]
    ReconnectLimit(u32),
}

#[cfg(feature = "tokio")]
impl ClientError {
    /// Whether the stream ends after this error (otherwise the client
    /// reconnects).
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            ClientError::Connect(_)
                | ClientError::ConnectTimeout
                | ClientError::ReadTimeout
                | ClientError::Io(_)
        )
    }

    /// The status the server answered with, for [`ClientError::Status`].
    pub fn status(&self) -> Option<http::StatusCode> {
        match self {
            ClientError::Status(s) => Some(*s),
            _ => None,
        }
    }
}
