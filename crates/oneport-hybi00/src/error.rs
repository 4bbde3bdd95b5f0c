//! The crate's error type.

use http::StatusCode;
use oneport_rfc6455::CloseCode;

use crate::handshake::HandshakeError;

/// Everything that can go wrong on a hybi-00 connection.
///
/// Remote violations (a bad handshake, an oversized frame, invalid UTF-8)
/// close the connection. hybi-00 has no close codes on the wire; for logs and
/// for code that serves RFC 6455 too, [`Error::close_code`] names the RFC 6455
/// code the same fault would get there, and [`Error::status`] the HTTP status
/// of a handshake failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The opening handshake failed; a server answers `400 Bad Request`.
    #[error("hybi-00 handshake failed: {0}")]
    Handshake(#[from] HandshakeError),
    /// A frame's payload is larger than
    /// [`Config::max_frame_size`](crate::Config::max_frame_size). For a
    /// length-prefixed frame `size` is its length as far as the prefix was
    /// read when it passed the limit; for a frame ended by `0xFF` it is
    /// `max + 1` (the frame is at least that long), so the error is the same
    /// however the input was split.
    #[error("frame of at least {size} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// The frame's payload length (at least).
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// A text frame is not valid UTF-8.
    #[error("text frame is not valid UTF-8")]
    InvalidUtf8,
    /// A frame is malformed: a length prefix with more length bytes than any
    /// representable length needs.
    #[error("invalid frame: {0}")]
    InvalidFrame(&'static str),
    /// The socket failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A wait ran past its configured timeout (the idle timeout, the
    /// handshake).
    #[error("timed out")]
    Timeout,
    /// The peer took none of our queued frames for
    /// [`Config::write_timeout`](crate::Config::write_timeout): it stopped
    /// reading. The connection was dropped; every later send fails the same
    /// way.
    #[error("the peer read nothing for the write timeout; the connection was dropped")]
    WriteTimeout,
    /// A frame did not end within
    /// [`Config::frame_timeout`](crate::Config::frame_timeout).
    #[error("a frame did not end within the frame timeout")]
    FrameTimeout,
    /// The connection is closed (or the decoder already reported an error);
    /// nothing more can be sent or received.
    #[error("connection closed")]
    Closed,
    /// hybi-00 cannot carry this (binary messages, pings, close codes).
    #[error("{0} cannot be carried by hybi-00")]
    Unsupported(&'static str),
}

impl Error {
    /// The HTTP status a server answers a failed handshake with (`400`), or
    /// `None` when the error happened after the handshake.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Handshake(e) => Some(e.status()),
            _ => None,
        }
    }

    /// The RFC 6455 close code the same fault would get on an RFC 6455
    /// connection: 1009 for a frame too large, 1007 for invalid UTF-8, 1002
    /// for a malformed frame. hybi-00 never sends it (its closing frame has
    /// no code); it is for logs and for servers that present both versions
    /// alike. `None` for local and handshake errors.
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            Error::FrameTooLarge { .. } => Some(CloseCode::TOO_BIG),
            Error::InvalidUtf8 => Some(CloseCode::INVALID_PAYLOAD),
            Error::InvalidFrame(_) => Some(CloseCode::PROTOCOL),
            Error::FrameTimeout => Some(CloseCode::POLICY),
            _ => None,
        }
    }

    /// Whether the peer caused this error (as opposed to local misuse, a
    /// timeout or the socket).
    pub fn is_remote(&self) -> bool {
        matches!(
            self,
            Error::Handshake(_)
                | Error::FrameTooLarge { .. }
                | Error::InvalidUtf8
                | Error::InvalidFrame(_)
                | Error::FrameTimeout
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_answers() {
        let e = Error::from(HandshakeError::KeyNoSpaces);
        assert_eq!(e.status(), Some(StatusCode::BAD_REQUEST));
        assert_eq!(e.close_code(), None);
        assert!(e.is_remote());
        let e = Error::FrameTooLarge { size: 2, max: 1 };
        assert_eq!(e.close_code(), Some(CloseCode::TOO_BIG));
        assert_eq!(e.status(), None);
        assert_eq!(
            Error::InvalidUtf8.close_code(),
            Some(CloseCode::INVALID_PAYLOAD)
        );
        assert_eq!(
            Error::InvalidFrame("x").close_code(),
            Some(CloseCode::PROTOCOL)
        );
        assert!(!Error::Unsupported("binary messages").is_remote());
        assert_eq!(
            Error::Unsupported("binary messages").to_string(),
            "binary messages cannot be carried by hybi-00"
        );
    }

    #[test]
    fn error_is_send_sync_static() {
        fn check<T: std::error::Error + Send + Sync + 'static>() {}
        check::<Error>();
    }
}
