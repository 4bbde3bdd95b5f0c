//! The crate's error type: remote violations (each with the close code to
//! answer with), local misuse, and I/O.

use crate::close::CloseCode;
use crate::handshake::HandshakeError;

/// Everything that can go wrong on a WebSocket.
///
/// Errors caused by the peer report the close code to answer with through
/// [`Error::close_code`]; errors caused by the caller (see
/// [`LocalError`]) or by the transport do not.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer broke the framing rules (close code 1002).
    #[error("protocol violation: {0}")]
    Protocol(#[from] ProtocolError),
    /// The peer sent a frame or message larger than the configured limit
    /// (close code 1009).
    #[error(transparent)]
    Capacity(#[from] CapacityError),
    /// A text message or close reason was not valid UTF-8 (close code 1007).
    #[error("invalid UTF-8 in a text message or close reason")]
    Utf8,
    /// A compressed message (permessage-deflate, RFC 7692) did not
    /// inflate: its data is not deflate (close code 1007, as data
    /// inconsistent with its message). Also reported, without a close code
    /// of its own, if our compressor fails.
    #[error("a compressed message is not valid deflate data")]
    Compression,
    /// The transport failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The WebSocket was used after the closing handshake started (for
    /// sending) or finished (for receiving).
    #[error("the WebSocket is already closed")]
    AlreadyClosed,
    /// The peer closed the transport without a closing handshake (the
    /// situation RFC 6455 reports as status 1006).
    #[error("the connection closed without a closing handshake")]
    ConnectionClosed,
    /// The opening handshake failed.
    #[error("handshake failed: {0}")]
    Handshake(#[from] HandshakeError),
    /// A wait ran out of time: the idle timeout, the closing handshake, or a
    /// client connect.
    #[error("timed out")]
    Timeout,
    /// The peer took none of our queued frames for
    /// [`Config::write_timeout`](crate::Config::write_timeout): it stopped
    /// reading. The connection was dropped; every later send fails the same
    /// way.
    #[error("the peer read nothing for the write timeout; the connection was dropped")]
    WriteTimeout,
    /// The source of a message sent as a stream failed part-way (or gave
    /// invalid UTF-8 for a text message): the connection was closed with
    /// 1011, so the peer never takes the cut message for a whole one.
    #[error("the source of a streamed message failed: {0}")]
    Source(Box<dyn std::error::Error + Send + Sync>),
    /// The caller asked for something the protocol does not allow.
    #[error("invalid use: {0}")]
    Local(#[from] LocalError),
}

impl Error {
    /// The close code to send the peer for this error: 1002 for protocol
    /// violations, 1007 for invalid UTF-8 or deflate data, 1009 for oversize frames and
    /// messages; `None` for local, transport and handshake errors.
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            Error::Protocol(_) => Some(CloseCode::PROTOCOL),
            Error::Utf8 | Error::Compression => Some(CloseCode::INVALID_PAYLOAD),
            Error::Capacity(_) => Some(CloseCode::TOO_BIG),
            _ => None,
        }
    }
}

/// A framing rule the peer broke (RFC 6455 §5). Answered with close code
/// 1002.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// RSV1–3 bits set although no extension was negotiated (§5.2).
    #[error("reserved bits {0:#05b} set without a negotiated extension")]
    ReservedBits(u8),
    /// A reserved opcode (0x3–0x7, 0xB–0xF) (§5.2).
    #[error("reserved opcode {0:#x}")]
    ReservedOpcode(u8),
    /// A client sent an unmasked frame (§5.1).
    #[error("unmasked frame from a client")]
    UnmaskedFrame,
    /// A server sent a masked frame (§5.1).
    #[error("masked frame from a server")]
    MaskedFrame,
    /// A control frame without FIN (§5.5).
    #[error("fragmented control frame")]
    FragmentedControl,
    /// A control frame with more than 125 payload bytes (§5.5).
    #[error("control frame payload of {0} bytes exceeds 125")]
    ControlTooLong(u64),
    /// A 64-bit payload length with its most significant bit set (§5.2).
    #[error("64-bit payload length with the most significant bit set")]
    LengthOverflow,
    /// A continuation frame when no fragmented message was open (§5.4).
    #[error("continuation frame without a message to continue")]
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message was open (§5.4).
    #[error("new data frame while a fragmented message is open")]
    ExpectedContinuation,
    /// A close frame with a one-byte payload (§5.5.1).
    #[error("close frame with a one-byte payload")]
    CloseTooShort,
    /// A close frame with a code that may not appear on the wire (§7.4).
    #[error("invalid close code {0}")]
    InvalidCloseCode(u16),
}

/// A frame or message larger than the configured limit. Answered with close
/// code 1009.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CapacityError {
    /// One frame's declared payload exceeds
    /// [`Config::max_frame_size`](crate::Config::max_frame_size).
    #[error("frame of {size} bytes exceeds the limit of {max}")]
    FrameTooLarge {
        /// The declared payload length.
        size: u64,
        /// The limit.
        max: usize,
    },
    /// A message (all its fragments so far plus the next frame) exceeds
    /// [`Config::max_message_size`](crate::Config::max_message_size).
    #[error("message of at least {size} bytes exceeds the limit of {max}")]
    MessageTooLarge {
        /// The message size including the frame that exceeded the limit.
        size: u64,
        /// The limit.
        max: usize,
    },
}

impl CapacityError {
    /// The size that exceeded the limit.
    pub fn size(&self) -> u64 {
        match *self {
            CapacityError::FrameTooLarge { size, .. }
            | CapacityError::MessageTooLarge { size, .. } => size,
        }
    }

    /// The limit that was exceeded.
    pub fn max(&self) -> usize {
        match *self {
            CapacityError::FrameTooLarge { max, .. }
            | CapacityError::MessageTooLarge { max, .. } => max,
        }
    }
}

/// Something the caller asked for that the protocol forbids; nothing was
/// sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LocalError {
    /// A ping, pong or close payload of more than 125 bytes.
    #[error("control frame payload of {0} bytes exceeds 125")]
    ControlTooLong(usize),
    /// A close code that may not be sent (1005, 1006, 1015, ...).
    #[error("close code {0} may not be sent")]
    InvalidCloseCode(u16),
    /// A fragmented control frame was requested.
    #[error("control frames cannot be fragmented")]
    FragmentedControl,
    /// A continuation frame without a fragmented message in progress.
    #[error("no fragmented message to continue")]
    NoMessageToContinue,
    /// A new message while a fragmented message is still being sent.
    #[error("a fragmented message is still being sent")]
    MessageInProgress,
    /// A control message cannot be prepared for a broadcast.
    #[error("only text and binary messages can be prepared for many peers")]
    NotBroadcastable,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_for_remote_errors() {
        let e = Error::from(ProtocolError::ReservedOpcode(3));
        assert_eq!(e.close_code(), Some(CloseCode::PROTOCOL));
        assert_eq!(Error::Utf8.close_code(), Some(CloseCode::INVALID_PAYLOAD));
        let e = Error::from(CapacityError::FrameTooLarge { size: 10, max: 5 });
        assert_eq!(e.close_code(), Some(CloseCode::TOO_BIG));
        assert_eq!(e.to_string(), "frame of 10 bytes exceeds the limit of 5");
        assert_eq!(Error::AlreadyClosed.close_code(), None);
        assert_eq!(Error::Timeout.close_code(), None);
        assert_eq!(
            Error::from(LocalError::ControlTooLong(200)).close_code(),
            None
        );
        let c = CapacityError::MessageTooLarge { size: 9, max: 8 };
        assert_eq!((c.size(), c.max()), (9, 8));
    }
}
