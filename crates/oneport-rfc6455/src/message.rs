//! Messages as the application sees them, and the UTF-8 byte string that
//! carries text without copying.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

use crate::close::CloseFrame;
use crate::error::Error;

/// An immutable, cheaply cloneable byte string that is always valid UTF-8.
///
/// It wraps [`Bytes`], so text received from the network is shared with the
/// read buffer instead of copied. The invariant is checked on construction;
/// [`as_str`](Utf8Bytes::as_str) re-checks it with a fast SIMD validator
/// rather than using `unsafe`, so prefer holding a `&str` over calling it in
/// a loop.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Text from a static string, without allocating.
    pub const fn from_static(s: &'static str) -> Self {
        Utf8Bytes(Bytes::from_static(s.as_bytes()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // The bytes were validated on construction and are immutable, so
        // this cannot fail; the empty string is an unreachable fallback.
        simdutf8::basic::from_utf8(&self.0).unwrap_or_default()
    }

    /// The length in bytes. Inherent, so that it does not go through
    /// `Deref<Target = str>`, whose `as_str` checks the bytes again.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty (see [`len`](Self::len)).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Unwraps the underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Wraps bytes the caller has already validated. Kept private so that
    /// the invariant only depends on this crate.
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Utf8Bytes(bytes)
    }
}

impl Deref for Utf8Bytes {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Utf8Bytes(Bytes::from(s))
    }
}

impl From<&'static str> for Utf8Bytes {
    fn from(s: &'static str) -> Self {
        Utf8Bytes::from_static(s)
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = Error;

    /// Validates `bytes`.
    ///
    /// # Errors
    ///
    /// [`Error::Utf8`] if they are not valid UTF-8.
    fn try_from(bytes: Bytes) -> Result<Self, Error> {
        match simdutf8::basic::from_utf8(&bytes) {
            Ok(_) => Ok(Utf8Bytes(bytes)),
            Err(_) => Err(Error::Utf8),
        }
    }
}

impl TryFrom<Vec<u8>> for Utf8Bytes {
    type Error = Error;

    /// Validates `bytes`.
    ///
    /// # Errors
    ///
    /// [`Error::Utf8`] if they are not valid UTF-8.
    fn try_from(bytes: Vec<u8>) -> Result<Self, Error> {
        Utf8Bytes::try_from(Bytes::from(bytes))
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(s: Utf8Bytes) -> Self {
        s.0
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// A complete WebSocket message, or a control frame (RFC 6455 §5.6, §5.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message (opcode 0x1), valid UTF-8.
    Text(Utf8Bytes),
    /// A binary message (opcode 0x2).
    Binary(Bytes),
    /// A ping (opcode 0x9), at most 125 bytes.
    Ping(Bytes),
    /// A pong (opcode 0xA), at most 125 bytes.
    Pong(Bytes),
    /// A close frame (opcode 0x8); `None` when it carried no status code.
    Close(Option<CloseFrame>),
}

impl Message {
    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> Self {
        Message::Text(text.into())
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Message::Binary(data.into())
    }

    /// Whether this is a data message (text or binary).
    pub fn is_data(&self) -> bool {
        matches!(self, Message::Text(_) | Message::Binary(_))
    }

    /// Whether this is a control frame (ping, pong or close).
    pub fn is_control(&self) -> bool {
        !self.is_data()
    }

    /// Whether this is a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// Whether this is a binary message.
    pub fn is_binary(&self) -> bool {
        matches!(self, Message::Binary(_))
    }

    /// Whether this is a close frame.
    pub fn is_close(&self) -> bool {
        matches!(self, Message::Close(_))
    }

    /// The payload length in bytes (for a close: code plus reason).
    pub fn len(&self) -> usize {
        match self {
            Message::Text(t) => t.len(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b.len(),
            Message::Close(None) => 0,
            Message::Close(Some(f)) => 2 + f.reason.as_bytes().len(),
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text, if this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(t) => Some(t.as_str()),
            _ => None,
        }
    }

    /// The payload bytes of a text, binary, ping or pong message.
    pub fn into_data(self) -> Bytes {
        match self {
            Message::Text(t) => t.into_bytes(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b,
            Message::Close(None) => Bytes::new(),
            Message::Close(Some(f)) => f.reason.into_bytes(),
        }
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(s.into())
    }
}

impl From<&'static str> for Message {
    fn from(s: &'static str) -> Self {
        Message::Text(s.into())
    }
}

impl From<Utf8Bytes> for Message {
    fn from(s: Utf8Bytes) -> Self {
        Message::Text(s)
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Self {
        Message::Binary(b)
    }
}

impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Self {
        Message::Binary(b.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_bytes_checks_on_construction() {
        assert!(Utf8Bytes::try_from(Bytes::from_static(b"caf\xc3\xa9")).is_ok());
        assert!(matches!(
            Utf8Bytes::try_from(Bytes::from_static(b"caf\xc3")),
            Err(Error::Utf8)
        ));
        assert!(Utf8Bytes::try_from(vec![0xff]).is_err());
        let s = Utf8Bytes::from(String::from("héllo"));
        assert_eq!(s.as_str(), "héllo");
        assert_eq!(&*s, "héllo");
        assert_eq!(s, "héllo");
        assert_eq!(s.to_string(), "héllo");
        assert_eq!(format!("{s:?}"), "\"héllo\"");
        assert_eq!(Utf8Bytes::from_static("x").len(), 1);
    }

    #[test]
    fn message_helpers() {
        let m = Message::text("hi");
        assert!(m.is_data() && m.is_text() && !m.is_control());
        assert_eq!(m.as_text(), Some("hi"));
        assert_eq!(m.len(), 2);
        let m = Message::binary(vec![1, 2, 3]);
        assert!(m.is_binary());
        assert_eq!(m.into_data(), Bytes::from_static(&[1, 2, 3]));
        let c = Message::Close(Some(CloseFrame::new(crate::CloseCode::NORMAL, "ok")));
        assert!(c.is_close() && c.is_control());
        assert_eq!(c.len(), 4);
        assert!(Message::Close(None).is_empty());
    }
}
