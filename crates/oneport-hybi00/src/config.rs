//! Limits and timeouts of a hybi-00 connection.

use std::time::Duration;

use oneport_http1::Limits;

/// Default [`Config::max_frame_size`]: 1 MiB. hybi-00 carries text only,
/// from old browsers and devices (chat lines, status updates); a megabyte
/// of UTF-8 is far more than such a message needs, and it is what an
/// unterminated frame can cost before the connection is closed.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 1024 * 1024;
/// Default [`Config::handshake_timeout`]: 10 seconds.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`Config::close_timeout`]: 5 seconds.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Default [`Config::max_write_buffer_size`]: 1 MiB.
pub const DEFAULT_MAX_WRITE_BUFFER_SIZE: usize = 1024 * 1024;
/// Default [`Config::write_timeout`]: 10 seconds, as RFC 6455's.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`Config::idle_timeout`]: 300 seconds, as RFC 6455's.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Default [`Config::frame_timeout`]: 10 seconds.
pub const DEFAULT_FRAME_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// Default is 1 MiB ([`DEFAULT_MAX_FRAME_SIZE`]), for a text-only
    /// protocol.
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
    /// How long queued frames may wait for the peer to take any of them
    /// (the slow-consumer policy): past it the connection is dropped, its
    /// buffers freed, and the pending send and every later one fail with
    /// [`Error::WriteTimeout`](crate::Error::WriteTimeout). Progress of any size
    /// restarts the clock.
    ///
    /// Default is 10 s ([`DEFAULT_WRITE_TIMEOUT`]).
    pub write_timeout: Duration,
    /// When set, a connection that receives nothing for this long is
    /// closed (`0xFF 0x00`, then the transport) and `recv` returns
    /// [`Error::Timeout`](crate::Error::Timeout). hybi-00 has no ping, so a
    /// silent peer cannot be told from a dead one any other way. Only runs
    /// while the socket is being read.
    ///
    /// Default is `Some(`[`DEFAULT_IDLE_TIMEOUT`]`)` (300 s).
    pub idle_timeout: Option<Duration>,
    /// How long a frame may take from its first byte to its `0xFF`. A
    /// frame still open past it closes the connection with
    /// [`Error::FrameTimeout`](crate::Error::FrameTimeout), so a peer
    /// cannot hold a connection with a frame that trickles in and never
    /// ends. Only runs while the socket is being read.
    ///
    /// Default is 10 s ([`DEFAULT_FRAME_TIMEOUT`]).
    pub frame_timeout: Duration,
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
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            frame_timeout: DEFAULT_FRAME_TIMEOUT,
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

    /// Sets [`idle_timeout`](Config::idle_timeout).
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`frame_timeout`](Config::frame_timeout).
    #[must_use]
    pub fn frame_timeout(mut self, timeout: Duration) -> Self {
        self.frame_timeout = timeout;
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
        assert_eq!(c.max_frame_size, 1024 * 1024);
        assert_eq!(c.handshake_timeout, Duration::from_secs(10));
        assert_eq!(c.close_timeout, Duration::from_secs(5));
        assert_eq!(c.max_write_buffer_size, 1024 * 1024);
        assert_eq!(c.write_timeout, Duration::from_secs(10));
        assert_eq!(c.idle_timeout, Some(Duration::from_secs(300)));
        assert_eq!(c.frame_timeout, Duration::from_secs(10));
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
