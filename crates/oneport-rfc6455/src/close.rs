//! Close status codes and the Close frame body (RFC 6455 §5.5.1, §7.4).

use std::fmt;

use crate::message::Utf8Bytes;

/// Largest reason that fits a Close frame: 125 payload bytes minus the code.
pub const MAX_CLOSE_REASON: usize = 123;

/// A close status code (RFC 6455 §7.4).
///
/// Any `u16` can be held; [`CloseCode::is_valid_on_wire`] says whether it
/// may appear in a Close frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(u16);

impl CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation,
    /// idle timeout).
    pub const AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer violated the protocol.
    pub const PROTOCOL: CloseCode = CloseCode(1002);
    /// 1003: the endpoint cannot accept this type of data.
    pub const UNSUPPORTED: CloseCode = CloseCode(1003);
    /// 1005: no status code was present. Reserved: never sent on the wire.
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: the connection closed without a Close frame. Reserved: never
    /// sent on the wire.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: a message's data was inconsistent with its type (invalid UTF-8
    /// in a text message).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message violated the endpoint's policy.
    pub const POLICY: CloseCode = CloseCode(1008);
    /// 1009: a message was too big to process.
    pub const TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected the server to negotiate an extension.
    pub const EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL: CloseCode = CloseCode(1011);
    /// 1015: the TLS handshake failed. Reserved: never sent on the wire.
    pub const TLS: CloseCode = CloseCode(1015);

    /// Wraps any code; see [`is_valid_on_wire`](CloseCode::is_valid_on_wire).
    pub const fn new(code: u16) -> Self {
        CloseCode(code)
    }

    /// The numeric code.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// Whether `code` may appear in a Close frame: 1000–1003, 1007–1011
    /// (defined by RFC 6455) and 3000–4999 (registered and private use).
    /// Everything else — below 1000, the reserved 1004/1005/1006/1015,
    /// unassigned 1012–2999 and 5000 and above — is a protocol error.
    pub const fn is_valid_on_wire(code: u16) -> bool {
        matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999)
    }

    /// [`is_valid_on_wire`](CloseCode::is_valid_on_wire) for this code.
    pub const fn is_valid(self) -> bool {
        Self::is_valid_on_wire(self.0)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The body of a Close frame: a status code and a UTF-8 reason of at most
/// [`MAX_CLOSE_REASON`] bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CloseFrame {
    /// Why the connection is closing.
    pub code: CloseCode,
    /// Human-readable detail; may be empty.
    pub reason: Utf8Bytes,
}

impl CloseFrame {
    /// A close frame with the given code and reason.
    pub fn new(code: CloseCode, reason: impl Into<Utf8Bytes>) -> Self {
        CloseFrame {
            code,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for CloseFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reason.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{} ({})", self.code, self.reason)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_code_table() {
        let valid = [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
        ];
        let invalid = [
            0, 1, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999, 5000,
            65535,
        ];
        for c in valid {
            assert!(CloseCode::is_valid_on_wire(c), "{c} must be valid");
        }
        for c in invalid {
            assert!(!CloseCode::is_valid_on_wire(c), "{c} must be invalid");
        }
        let count = (0..=u16::MAX)
            .filter(|&c| CloseCode::is_valid_on_wire(c))
            .count();
        assert_eq!(count, 4 + 5 + 2000);
    }

    #[test]
    fn named_codes() {
        assert_eq!(CloseCode::NORMAL.as_u16(), 1000);
        assert_eq!(CloseCode::AWAY.as_u16(), 1001);
        assert_eq!(CloseCode::PROTOCOL.as_u16(), 1002);
        assert_eq!(CloseCode::UNSUPPORTED.as_u16(), 1003);
        assert_eq!(CloseCode::INVALID_PAYLOAD.as_u16(), 1007);
        assert_eq!(CloseCode::POLICY.as_u16(), 1008);
        assert_eq!(CloseCode::TOO_BIG.as_u16(), 1009);
        assert!(!CloseCode::NO_STATUS.is_valid());
        assert!(!CloseCode::ABNORMAL.is_valid());
        assert!(!CloseCode::TLS.is_valid());
        assert_eq!(u16::from(CloseCode::from(4321)), 4321);
        assert_eq!(
            CloseFrame::new(CloseCode::NORMAL, "bye").to_string(),
            "1000 (bye)"
        );
    }
}
