//! The async connection over tokio: [`WebSocket`] and the server's
//! [`accept`]. The framing itself is the sans-IO [`Decoder`] and encoders.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::frame::{Decoder, Frame, encode_close, encode_text};
use crate::handshake::{self, HandshakeError, KEY3_LEN};
use crate::{Config, Error};

mod client;

pub use client::{client_handshake, connect, connect_with_config};

/// How much the read buffer grows by before each read.
const READ_CHUNK: usize = 4096;
/// An empty buffer larger than this is given back rather than kept while
/// the connection idles.
const IDLE_BUFFER_KEEP: usize = 64 * 1024;

/// A hybi-00 WebSocket over an async byte stream, after the handshake.
///
/// Text messages only: the draft has no binary messages, pings or close
/// codes ([`send_binary`](WebSocket::send_binary) and
/// [`send_ping`](WebSocket::send_ping) return [`Error::Unsupported`]).
///
/// Writes are buffered (up to [`Config::max_write_buffer_size`]) and flushed
/// at the end of each send, except while another received message is
/// already decoded and waiting: then the flush is deferred to the next
/// [`recv`](WebSocket::recv) that has to wait for the socket (or to
/// [`flush`](WebSocket::flush) / [`close`](WebSocket::close)), so an echo
/// loop over pipelined messages answers them all in one write.
pub struct WebSocket<S> {
    io: S,
    config: Config,
    decoder: Decoder,
    read_buf: BytesMut,
    write_buf: BytesMut,
    /// The next frame, decoded ahead so a send knows more input is waiting.
    pending: Option<Result<Frame, Error>>,
    /// `0xFF 0x00` was sent (or sending became impossible).
    sent_close: bool,
    /// Nothing more will be received: closing handshake done, EOF or error.
    done: bool,
}

impl<S> fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("config", &self.config)
            .field("buffered_read", &self.read_buf.len())
            .field("buffered_write", &self.write_buf.len())
            .field("sent_close", &self.sent_close)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Wraps a stream whose handshake is complete. `leftover` holds bytes
    /// already read past the handshake; they are decoded first.
    pub fn from_raw_socket(io: S, config: Config, leftover: BytesMut) -> Self {
        Self {
            io,
            decoder: Decoder::new(&config),
            config,
            read_buf: leftover,
            write_buf: BytesMut::new(),
            pending: None,
            sent_close: false,
            done: false,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The next text message (valid UTF-8), or `None` once the connection is
    /// over: after the closing handshake (a received `0xFF 0x00` is answered
    /// with one unless this side sent it first, and the stream is shut
    /// down) or at end of input.
    ///
    /// Buffered writes are flushed before waiting for the socket.
    ///
    /// # Errors
    ///
    /// A frame error ([`Error::InvalidUtf8`], [`Error::FrameTooLarge`],
    /// [`Error::InvalidFrame`]) closes the connection (the closing frame is
    /// sent, best effort) and is returned once; socket errors too. After
    /// that, `None`.
    pub async fn recv(&mut self) -> Option<Result<Bytes, Error>> {
        if self.done {
            return None;
        }
        let next = match self.pending.take() {
            Some(Ok(frame)) => Ok(Some(frame)),
            Some(Err(e)) => Err(e),
            None => self.next_frame().await,
        };
        match next {
            Ok(Some(Frame::Text(text))) => {
                self.decode_ahead();
                Some(Ok(text))
            }
            Ok(Some(Frame::Close)) => {
                self.done = true;
                self.shut_down().await;
                None
            }
            Ok(None) => {
                self.done = true;
                self.sent_close = true;
                None
            }
            Err(e) => {
                self.done = true;
                if e.is_remote() {
                    self.shut_down().await;
                } else {
                    self.sent_close = true;
                }
                Some(Err(e))
            }
        }
    }

    /// Sends a text message.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] after the closing frame was sent or the connection
    /// ended, [`Error::Io`] or [`Error::Timeout`] (past
    /// [`Config::write_timeout`]) when the socket fails; then the connection
    /// is unusable.
    pub async fn send_text(&mut self, text: &str) -> Result<(), Error> {
        if self.sent_close {
            return Err(Error::Closed);
        }
        let frame_len = text.len().saturating_add(2);
        let max = self.config.max_write_buffer_size;
        if !self.write_buf.is_empty() && self.write_buf.len().saturating_add(frame_len) > max {
            self.flush_buf().await?;
        }
        if frame_len > max {
            // Too big to buffer: write it straight from the caller's memory.
            let mut frame = Buf::chain(Buf::chain(&[0x00u8][..], text.as_bytes()), &[0xFFu8][..]);
            let io = &mut self.io;
            let res = with_timeout(self.config.write_timeout, async {
                io.write_all_buf(&mut frame).await?;
                Ok(())
            })
            .await;
            self.note_write(res)?;
        } else {
            encode_text(text, &mut self.write_buf);
        }
        if self.pending.is_none() {
            self.flush_buf().await?;
        }
        Ok(())
    }

    /// Always [`Error::Unsupported`]: hybi-00 has no binary messages (its
    /// length-prefixed frames are discarded by receivers).
    ///
    /// # Errors
    ///
    /// Always.
    pub async fn send_binary(&mut self, _data: &[u8]) -> Result<(), Error> {
        Err(Error::Unsupported("binary messages"))
    }

    /// Always [`Error::Unsupported`]: hybi-00 has no ping frames.
    ///
    /// # Errors
    ///
    /// Always.
    pub async fn send_ping(&mut self, _data: &[u8]) -> Result<(), Error> {
        Err(Error::Unsupported("pings"))
    }

    /// Writes out everything buffered.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] or [`Error::Timeout`].
    pub async fn flush(&mut self) -> Result<(), Error> {
        self.flush_buf().await
    }

    /// Starts (or completes) the closing handshake: sends `0xFF 0x00`, waits
    /// up to [`Config::close_timeout`] for the peer's (discarding any text
    /// still arriving), then shuts the stream down. A peer that does not
    /// answer in time is not an error; the connection is closed anyway.
    /// Closing twice is a no-op.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] or [`Error::Timeout`] when the closing frame cannot be
    /// written.
    pub async fn close(&mut self) -> Result<(), Error> {
        if self.done && self.sent_close {
            return Ok(());
        }
        let sent = if self.sent_close {
            Ok(())
        } else {
            self.sent_close = true;
            encode_close(&mut self.write_buf);
            self.flush_buf().await
        };
        if sent.is_ok() && !self.done {
            let limit = self.config.close_timeout;
            let wait = async {
                let mut next = match self.pending.take() {
                    Some(Ok(frame)) => Ok(Some(frame)),
                    Some(Err(e)) => Err(e),
                    None => self.next_frame().await,
                };
                while let Ok(Some(Frame::Text(_))) = next {
                    next = self.next_frame().await;
                }
            };
            let _ = tokio::time::timeout(limit, wait).await;
        }
        self.done = true;
        let _ = tokio::time::timeout(self.config.close_timeout, self.io.shutdown()).await;
        sent
    }

    /// Decodes the next frame, flushing and reading as needed; `Ok(None)` at
    /// end of input.
    async fn next_frame(&mut self) -> Result<Option<Frame>, Error> {
        loop {
            if let Some(frame) = self.decoder.decode(&mut self.read_buf)? {
                return Ok(Some(frame));
            }
            self.flush_buf().await?;
            if self.read_buf.is_empty() && self.read_buf.capacity() > IDLE_BUFFER_KEEP {
                self.read_buf = BytesMut::new();
            }
            self.read_buf.reserve(READ_CHUNK);
            if self.io.read_buf(&mut self.read_buf).await? == 0 {
                return Ok(None);
            }
        }
    }

    /// Decodes the next frame from bytes already read, if there is one.
    fn decode_ahead(&mut self) {
        if self.read_buf.is_empty() {
            return;
        }
        self.pending = match self.decoder.decode(&mut self.read_buf) {
            Ok(Some(frame)) => Some(Ok(frame)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        };
    }

    async fn flush_buf(&mut self) -> Result<(), Error> {
        if self.write_buf.is_empty() {
            return Ok(());
        }
        let io = &mut self.io;
        let buf = &mut self.write_buf;
        let res = with_timeout(self.config.write_timeout, async {
            io.write_all_buf(buf).await?;
            io.flush().await?;
            Ok(())
        })
        .await;
        if self.write_buf.capacity() > IDLE_BUFFER_KEEP {
            self.write_buf = BytesMut::new();
        }
        self.note_write(res)
    }

    /// A failed write leaves the stream in an unknown state: nothing more
    /// may be sent.
    fn note_write(&mut self, res: Result<(), Error>) -> Result<(), Error> {
        if res.is_err() {
            self.sent_close = true;
            self.write_buf.clear();
        }
        res
    }

    /// Answers (or sends) the closing frame and shuts the stream down, best
    /// effort, within the close timeout.
    async fn shut_down(&mut self) {
        let timeout = self.config.close_timeout;
        let send_close = !self.sent_close;
        self.sent_close = true;
        let _ = tokio::time::timeout(timeout, async {
            if send_close {
                encode_close(&mut self.write_buf);
            }
            let _ = self.io.write_all_buf(&mut self.write_buf).await;
            let _ = self.io.shutdown().await;
        })
        .await;
        self.write_buf.clear();
    }
}

/// Runs `fut` within `limit`, turning a timeout into [`Error::Timeout`].
async fn with_timeout<T>(
    limit: Duration,
    fut: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or(Err(Error::Timeout))
}

/// The server side of the handshake over `io`, for a request whose head was
/// already read (`leftover` holds the bytes read past it).
///
/// The keys are checked first; then the eight bytes of the third key are
/// taken from `leftover` and, if it holds fewer, read from `io` within
/// [`Config::handshake_timeout`]. On success the `101` response and the 16
/// answer bytes are written and the socket is returned, keeping whatever
/// followed the eight bytes.
///
/// # Errors
///
/// [`Error::Handshake`] after writing a `400 Bad Request` (bad keys, no
/// hybi-00 request, eight bytes not received in time or before end of
/// input); [`Error::Io`] or [`Error::Timeout`] when the answer cannot be
/// written.
pub async fn accept<S>(
    mut io: S,
    req: &http::Request<()>,
    mut leftover: BytesMut,
    secure: bool,
    protocol: Option<&str>,
    config: Config,
) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if let Err(e) = handshake::response(req, secure, protocol) {
        return Err(reject(&mut io, e, &config).await);
    }
    let read = tokio::time::timeout(config.handshake_timeout, read_key3(&mut io, &mut leftover));
    let key3 = match read.await {
        Ok(Ok(key3)) => key3,
        Ok(Err(Error::Handshake(e))) => return Err(reject(&mut io, e, &config).await),
        Ok(Err(e)) => return Err(e),
        Err(_) => return Err(reject(&mut io, HandshakeError::Timeout, &config).await),
    };
    let mut out = BytesMut::new();
    if let Err(e) = handshake::encode_response(req, &key3, secure, protocol, &mut out) {
        return Err(reject(&mut io, e, &config).await);
    }
    with_timeout(config.write_timeout, async {
        io.write_all(&out).await?;
        io.flush().await?;
        Ok(())
    })
    .await?;
    Ok(WebSocket::from_raw_socket(io, config, leftover))
}

/// Takes the third key from `leftover`, reading more from `io` while it
/// holds fewer than eight bytes.
async fn read_key3<S: AsyncRead + Unpin>(
    io: &mut S,
    leftover: &mut BytesMut,
) -> Result<[u8; KEY3_LEN], Error> {
    loop {
        if let Some(bytes) = leftover.get(..KEY3_LEN) {
            let mut key3 = [0u8; KEY3_LEN];
            key3.copy_from_slice(bytes);
            leftover.advance(KEY3_LEN);
            return Ok(key3);
        }
        leftover.reserve(READ_CHUNK);
        if io.read_buf(leftover).await? == 0 {
            return Err(HandshakeError::ShortBody.into());
        }
    }
}

/// Writes the refusal for `err` (best effort, within the write timeout),
/// shuts the stream down and returns the error to report.
async fn reject<S: AsyncWrite + Unpin>(io: &mut S, err: HandshakeError, config: &Config) -> Error {
    let mut out = BytesMut::new();
    handshake::encode_rejection(&err, &mut out);
    let _ = tokio::time::timeout(config.write_timeout, async {
        let _ = io.write_all(&out).await;
        let _ = io.shutdown().await;
    })
    .await;
    Error::Handshake(err)
}
