//! Limits and timeouts of a hybi-00 connection.

use std::time::Duration;

use oneport_http1::Limits;

/// Default [`Config::max_frame_size`]: 16 MiB.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 16 * 1024 * 1024;
/// Default [`Config::handshake_timeout`]: 10 seconds.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`Config::close_timeout`]: 5 seconds.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Default [`Config::max_write_buffer_size`]: 1 MiB.
pub const DEFAULT_MAX_WRITE_BUFFER_SIZE: usize = 1024 * 1024;
/// Default [`Config::write_timeout`]: 30 seconds.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Limits and timeouts of a hybi-00 connection.
///
/// Every limit is finite by default. Build one with the chainable setters:
///
/// ```
/// use std::time::Duration;
/// let config = oneport_hybi00::Config::default()
///     .max_frame_size(64 * 1024)
///     .handshake_timeout(Duration::from_secs(2));
/// assert_eq!(config.max_frame_size, 64 * 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The largest frame payload accepted, in bytes, for both text frames and
    /// the length-prefixed frames that are read and discarded. A larger frame
    /// is an [`Error::FrameTooLarge`](crate::Error::FrameTooLarge) and the
    /// connection is closed. It also bounds how far the decoder searches for
    /// the `0xFF` that ends a text frame, so an unterminated frame never makes
    /// it buffer more than this.
    ///
    /// Default is 16 MiB ([`DEFAULT_MAX_FRAME_SIZE`]).
    pub max_frame_size: usize,
    /// How long the server waits for the 8 bytes that follow the request head
    /// (the third key). When they do not arrive in time the client gets a
    /// `400 Bad Request`. The client side uses it as its whole handshake
    /// deadline.
    ///
    /// Default is 10 s ([`DEFAULT_HANDSHAKE_TIMEOUT`]).
    pub handshake_timeout: Duration,
    /// How long [`close`](crate::WebSocket::close) waits for the peer's
    /// `0xFF 0x00` before it shuts the connection down anyway.
    ///
    /// Default is 5 s ([`DEFAULT_CLOSE_TIMEOUT`]).
    pub close_timeout: Duration,
    /// How many encoded bytes may wait in the write buffer. A send that
    /// would overflow it writes the buffer out first, so memory stays
    /// bounded however fast the application sends.
    ///
    /// Default is 1 MiB ([`DEFAULT_MAX_WRITE_BUFFER_SIZE`]).
    pub max_write_buffer_size: usize,
    /// How long one write to the socket may take before the connection is
    /// given up with [`Error::Timeout`](crate::Error::Timeout) (a peer that
    /// stops reading cannot block a sender forever).
    ///
    /// Default is 30 s ([`DEFAULT_WRITE_TIMEOUT`]).
    pub write_timeout: Duration,
    /// The client's limits on the server's answer head, which
    /// `oneport-http1` parses as it parses every HTTP head in oneport.
    ///
    /// Default is [`Limits::default()`].
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            max_write_buffer_size: DEFAULT_MAX_WRITE_BUFFER_SIZE,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            limits: Limits::default(),
        }
    }
}

impl Config {
    /// Sets [`max_frame_size`](Config::max_frame_size).
    #[must_use]
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes;
        self
    }

    /// Sets [`handshake_timeout`](Config::handshake_timeout).
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets [`close_timeout`](Config::close_timeout).
    #[must_use]
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Sets [`max_write_buffer_size`](Config::max_write_buffer_size).
    #[must_use]
    pub fn max_write_buffer_size(mut self, bytes: usize) -> Self {
        self.max_write_buffer_size = bytes;
        self
    }

    /// Sets [`write_timeout`](Config::write_timeout).
    #[must_use]
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Sets [`limits`](Config::limits).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_finite_and_documented_values() {
        let c = Config::default();
        assert_eq!(c.max_frame_size, 16 * 1024 * 1024);
        assert_eq!(c.handshake_timeout, Duration::from_secs(10));
        assert_eq!(c.close_timeout, Duration::from_secs(5));
        assert_eq!(c.max_write_buffer_size, 1024 * 1024);
        assert_eq!(c.write_timeout, Duration::from_secs(30));
    }

    #[test]
    fn setters_chain() {
        let c = Config::default()
            .max_frame_size(10)
            .handshake_timeout(Duration::from_millis(1))
            .close_timeout(Duration::from_millis(2))
            .max_write_buffer_size(3)
            .write_timeout(Duration::from_millis(4));
        assert_eq!(c.max_frame_size, 10);
        assert_eq!(c.handshake_timeout, Duration::from_millis(1));
        assert_eq!(c.close_timeout, Duration::from_millis(2));
        assert_eq!(c.max_write_buffer_size, 3);
        assert_eq!(c.write_timeout, Duration::from_millis(4));
    }
}
