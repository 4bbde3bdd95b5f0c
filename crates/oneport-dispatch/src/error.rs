//! The dispatcher crate's error type.

use std::fmt;

/// An error from the server or from a WebSocket served by it.
///
/// The error is opaque so that new failure modes can be added without a
/// breaking change: ask it what it is with the `is_*` predicates, and reach
/// the underlying error through [`std::error::Error::source`]. Its `Display`
/// text and the types it may be downcast to are not stable API.
pub struct Error {
    kind: Kind,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Binding or accepting failed.
    Io,
    /// The WebSocket protocol was violated or the socket failed.
    WebSocket,
    /// The operation cannot be carried by this protocol version (hybi-00
    /// has no binary messages, pings or close codes).
    Unsupported,
    /// The connection is closed.
    Closed,
    /// A wait ran past its timeout (an idle peer, an unanswered Close, a
    /// write that made no progress).
    Timeout,
}

impl Error {
    pub(crate) fn new(kind: Kind) -> Self {
        Self { kind, source: None }
    }

    pub(crate) fn with(
        kind: Kind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    /// An I/O error (binding, accepting, reading or writing).
    pub fn is_io(&self) -> bool {
        self.kind == Kind::Io
    }

    /// A WebSocket protocol error or failure of an upgraded connection.
    pub fn is_websocket(&self) -> bool {
        self.kind == Kind::WebSocket
    }

    /// The protocol version in use cannot carry what was asked (for
    /// example a binary message or a ping on a hybi-00 connection).
    pub fn is_unsupported(&self) -> bool {
        self.kind == Kind::Unsupported
    }

    /// The connection is closed: a Close was sent or received, or the
    /// peer went away.
    pub fn is_closed(&self) -> bool {
        self.kind == Kind::Closed
    }

    /// A wait ran past its timeout: the idle timeout, an unanswered Close,
    /// or a write that made no progress.
    pub fn is_timeout(&self) -> bool {
        self.kind == Kind::Timeout
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind);
        if let Some(s) = &self.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            Kind::Io => "i/o error",
            Kind::WebSocket => "websocket error",
            Kind::Unsupported => "not supported by this protocol version",
            Kind::Closed => "connection closed",
            Kind::Timeout => "timed out",
        };
        match &self.source {
            Some(s) => write!(f, "{what}: {s}"),
            None => f.write_str(what),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Self::with(Kind::Io, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_io_and_nothing_else() {
        let e = Error::from(std::io::Error::from(std::io::ErrorKind::AddrInUse));
        assert!(e.is_io());
        assert!(!(e.is_websocket() || e.is_unsupported() || e.is_closed() || e.is_timeout()));
        assert!(std::error::Error::source(&e).is_some(), "the cause is kept");
    }
}
