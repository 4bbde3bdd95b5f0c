//! Which end of the connection we are, and the limits and timers that bound it.

use std::time::Duration;

use crate::deflate::DeflateConfig;

/// Default for [`Config::max_frame_size`]: 16 MiB.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 16 << 20;
/// Default for [`Config::max_message_size`]: 64 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 << 20;
/// Default for [`Config::max_streamed_message_size`]: 1 GiB.
pub const DEFAULT_MAX_STREAMED_MESSAGE_SIZE: u64 = 1 << 30;
/// Default for [`Config::max_write_buffer_size`]: 1 MiB.
pub const DEFAULT_MAX_WRITE_BUFFER_SIZE: usize = 1 << 20;
/// Default for [`Config::idle_timeout`]: 300 seconds (as in Racket's web server).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Default for [`Config::close_timeout`]: 5 seconds.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Default [`Config::write_timeout`]: 10 seconds.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The end of the connection this endpoint plays (RFC 6455 §5.1).
///
/// It decides the masking rules: a client masks every frame it sends and
/// refuses masked frames; a server sends unmasked frames and requires masked
/// ones (unless [`Config::accept_unmasked_frames`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The endpoint that opened the connection.
    Client,
    /// The endpoint that accepted the connection.
    Server,
}

/// Limits and timers of one WebSocket connection.
///
/// Every limit is finite by default. Build one with [`Config::default`] and
/// the chainable setters:
///
/// ```
/// use std::time::Duration;
/// use oneport_rfc6455::Config;
///
/// let config = Config::default()
///     .max_message_size(1 << 20)
///     .ping_interval(Some(Duration::from_secs(30)));
/// assert_eq!(config.max_message_size, 1 << 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Largest payload of a single frame that is accepted. A larger frame
    /// header fails the connection with close code 1009 before any of its
    /// payload is buffered.
    ///
    /// Default is [`DEFAULT_MAX_FRAME_SIZE`] (16 MiB).
    pub max_frame_size: usize,
    /// Largest message (sum of its fragments) that is accepted. Checked
    /// against each frame header, so exceeding it fails the connection with
    /// close code 1009 without allocating the declared length first.
    ///
    /// Default is [`DEFAULT_MAX_MESSAGE_SIZE`] (64 MiB).
    pub max_message_size: usize,
    /// Largest message received in parts (`recv_stream`), which is never
    /// held whole; `None` for no limit. Past it the connection fails with
    /// 1009. A handler may ask for another limit per message.
    ///
    /// Default is [`DEFAULT_MAX_STREAMED_MESSAGE_SIZE`] (1 GiB).
    pub max_streamed_message_size: Option<u64>,
    /// Whether a server accepts unmasked frames from its client, which
    /// RFC 6455 §5.1 forbids. Has no effect on a client.
    ///
    /// Default is `false` (strict).
    pub accept_unmasked_frames: bool,
    /// How many bytes of outgoing frames may wait in the write buffer.
    /// Sending waits for the socket to take bytes once this is reached, and
    /// receiving stops reading while queued pongs exceed it, so a peer that
    /// does not read cannot make us buffer without bound. A single message
    /// larger than this is still sent.
    ///
    /// Default is [`DEFAULT_MAX_WRITE_BUFFER_SIZE`] (1 MiB).
    pub max_write_buffer_size: usize,
    /// When set, a ping is sent after this long without receiving anything.
    /// Only runs while the socket is being read (`recv` is pending).
    ///
    /// Default is `None` (no keepalive pings).
    pub ping_interval: Option<Duration>,
    /// When set, a connection that receives nothing (not even a pong) for
    /// this long is closed with code 1001 and `recv` returns
    /// [`Error::Timeout`](crate::Error::Timeout). Only runs while the socket is
    /// being read. Combine with [`ping_interval`](Config::ping_interval) to
    /// keep healthy idle peers alive.
    ///
    /// Default is `Some(`[`DEFAULT_IDLE_TIMEOUT`]`)` (300 seconds).
    pub idle_timeout: Option<Duration>,
    /// How long the closing handshake may take: waiting for the peer's Close
    /// after sending ours, and flushing our Close after an error.
    ///
    /// Default is [`DEFAULT_CLOSE_TIMEOUT`] (5 seconds).
    pub close_timeout: Duration,
    /// How long queued frames may wait for the peer to take any of them.
    /// This is the slow-consumer policy: a peer that reads nothing for this
    /// long, while frames wait (a send blocked on a full write buffer, or a
    /// flush), has stopped reading. Its connection is dropped without a
    /// closing handshake (there is no way to deliver a Close to it), the
    /// buffers are freed, and the pending send and every later one fail
    /// with [`Error::WriteTimeout`](crate::Error::WriteTimeout). Progress
    /// of any size restarts the clock.
    ///
    /// Default is [`DEFAULT_WRITE_TIMEOUT`] (10 seconds).
    pub write_timeout: Duration,
    /// permessage-deflate (RFC 7692): `Some` offers it (a client) or
    /// accepts a client's offer (a server), with these parameters.
    /// Compression is used only where the handshake agreed on it.
    ///
    /// Default is `None` (no compression).
    pub deflate: Option<DeflateConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_streamed_message_size: Some(DEFAULT_MAX_STREAMED_MESSAGE_SIZE),
            accept_unmasked_frames: false,
            max_write_buffer_size: DEFAULT_MAX_WRITE_BUFFER_SIZE,
            ping_interval: None,
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            deflate: None,
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

    /// Sets [`max_message_size`](Config::max_message_size).
    #[must_use]
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Sets [`max_streamed_message_size`](Config::max_streamed_message_size).
    #[must_use]
    pub fn max_streamed_message_size(mut self, bytes: Option<u64>) -> Self {
        self.max_streamed_message_size = bytes;
        self
    }

    /// Sets [`accept_unmasked_frames`](Config::accept_unmasked_frames).
    #[must_use]
    pub fn accept_unmasked_frames(mut self, accept: bool) -> Self {
        self.accept_unmasked_frames = accept;
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

    /// Sets [`ping_interval`](Config::ping_interval).
    #[must_use]
    pub fn ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.ping_interval = interval;
        self
    }

    /// Sets [`idle_timeout`](Config::idle_timeout).
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`deflate`](Config::deflate).
    #[must_use]
    pub fn deflate(mut self, deflate: Option<DeflateConfig>) -> Self {
        self.deflate = deflate;
        self
    }

    /// Sets [`close_timeout`](Config::close_timeout).
    #[must_use]
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_finite_and_documented() {
        let c = Config::default();
        assert_eq!(c.max_frame_size, 16 * 1024 * 1024);
        assert_eq!(c.max_message_size, 64 * 1024 * 1024);
        assert!(!c.accept_unmasked_frames);
        assert_eq!(c.max_write_buffer_size, 1024 * 1024);
        assert_eq!(c.ping_interval, None);
        assert_eq!(c.idle_timeout, Some(Duration::from_secs(300)));
        assert_eq!(c.close_timeout, Duration::from_secs(5));
        assert_eq!(c.write_timeout, Duration::from_secs(10));
        assert_eq!(c.deflate, None);
    }

    #[test]
    fn setters_chain() {
        let c = Config::default()
            .max_frame_size(1)
            .max_message_size(2)
            .accept_unmasked_frames(true)
            .max_write_buffer_size(3)
            .ping_interval(Some(Duration::from_secs(4)))
            .idle_timeout(None)
            .close_timeout(Duration::from_secs(6))
            .deflate(Some(DeflateConfig::default()));
        assert_eq!(c.max_frame_size, 1);
        assert_eq!(c.max_message_size, 2);
        assert!(c.accept_unmasked_frames);
        assert_eq!(c.max_write_buffer_size, 3);
        assert_eq!(c.ping_interval, Some(Duration::from_secs(4)));
        assert_eq!(c.idle_timeout, None);
        assert_eq!(c.close_timeout, Duration::from_secs(6));
        assert_eq!(c.deflate, Some(DeflateConfig::default()));
    }
}
