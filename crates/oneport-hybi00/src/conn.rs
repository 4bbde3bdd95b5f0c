//! The async connection over tokio: [`WebSocket`] and the server's
//! [`accept`]. The framing itself is the sans-IO [`Decoder`] and encoders.

use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use oneport_http1::ChunkQueue;
use oneport_rfc6455::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::frame::{Decoder, EncodedText, Frame, FramePart, encode_close, encode_text};
use crate::handshake::{self, HandshakeError, KEY3_LEN, Scheme};
use crate::{Config, Error};

mod client;

pub use client::{client_handshake, connect, connect_with_config};

/// How much the handshake's read buffer grows by before each read.
const READ_CHUNK: usize = 4096;
/// Size of the on-stack buffer each read goes through, so that an idle
/// connection holds no heap read buffer.
const STACK_READ: usize = 4096;

/// Where the connection is in the draft's closing handshake (sections 4.2
/// and 5.3: `0xFF 0x00` each way, then the TCP connection is closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Text flows both ways.
    Open,
    /// We sent `0xFF 0x00` and wait for the peer's until `deadline`,
    /// discarding any text still arriving.
    CloseSent { deadline: Instant },
    /// The outcome is decided (the peer's closing frame arrived and ours
    /// is queued, or the peer broke the framing): flush, shut the write
    /// side down until `deadline`, then report the outcome.
    Finishing { deadline: Instant },
    /// Nothing more is sent or received.
    Closed,
    /// Dropped because the peer stopped reading (the write timeout): as
    /// `Closed`, but every send fails with [`Error::WriteTimeout`].
    Stalled,
}

/// A hybi-00 WebSocket over an async byte stream, after the handshake.
///
/// It speaks RFC 6455's message model ([`Message`]), so code written for
/// both versions handles one type:
///
/// - text arrives as [`Message::Text`] (validated as UTF-8 once, by the
///   decoder) and the peer's closing frame `0xFF 0x00` as
///   [`Message::Close`]`(None)`, answered automatically; then
///   [`recv`](WebSocket::recv) returns `None`;
/// - sending [`Message::Text`] writes a `0x00 … 0xFF` frame and
///   [`Message::Close`] starts the closing handshake (the draft carries no
///   code or reason); [`Message::Pong`] is accepted and sends nothing (no
///   hybi-00 peer pings); [`Message::Binary`] and [`Message::Ping`] are
///   [`Error::Unsupported`], since the draft cannot carry them.
///
/// # Writing
///
/// [`send`](WebSocket::send) queues the frame and writes it out before it
/// returns: a frame sent never waits for a later call.
/// [`feed`](WebSocket::feed) only queues; queued frames leave at the next
/// `send`, [`flush`](WebSocket::flush) or [`close`](WebSocket::close), or
/// before [`recv`](WebSocket::recv) waits for the socket, so an echo loop
/// that answers with `feed` answers a burst of pipelined messages in one
/// write. The queue is bounded by
/// [`Config::max_write_buffer_size`]: beyond it a send waits for the socket.
/// A write that makes no progress for [`Config::write_timeout`] fails with
/// [`Error::Timeout`] and the connection is unusable.
///
/// `Stream` and `Sink` are implemented for use with stream combinators.
///
/// # Memory
///
/// An idle connection holds no read or write buffer: reads go through a
/// stack buffer, only unparsed bytes are kept on the heap, and both buffers
/// are released whenever they empty.
pub struct WebSocket<S> {
    io: S,
    config: Config,
    decoder: Decoder,
    /// Received bytes not yet decoded; unallocated whenever empty.
    rd: BytesMut,
    /// Frames encoded here and not yet queued; unallocated whenever empty.
    wr: BytesMut,
    /// Frames queued for writing, shared ones (encoded once for many
    /// sockets) beside this socket's own; empty holds nothing.
    out: ChunkQueue,
    state: State,
    /// Armed while a write makes no progress.
    write_timer: Option<Pin<Box<Sleep>>>,
    /// Armed for the closing handshake's deadline.
    close_timer: Option<Pin<Box<Sleep>>>,
    /// Armed while reading, for the idle or the frame deadline.
    read_timer: Option<Pin<Box<Sleep>>>,
    /// When the last bytes arrived.
    last_rx: Instant,
    /// When the frame still arriving started, if one is.
    frame_started: Option<Instant>,
    /// What `recv` returns once `Finishing` is over.
    outcome: Option<Result<Message, Error>>,
}

impl<S> fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("state", &self.state)
            .field("buffered_read", &self.rd.len())
            .field("buffered_write", &(self.wr.len() + self.out.len()))
            .finish_non_exhaustive()
    }
}

/// What one decoding step gave the receive loop.
enum Decoded<T> {
    Item(T),
    Close,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Wraps a stream whose handshake is complete. `leftover` holds bytes
    /// already read past the handshake; they are decoded first.
    pub fn from_raw_socket(io: S, config: Config, leftover: BytesMut) -> Self {
        Self {
            io,
            decoder: Decoder::new(&config),
            config,
            rd: if leftover.is_empty() {
                BytesMut::new()
            } else {
                leftover
            },
            wr: BytesMut::new(),
            out: ChunkQueue::new(),
            state: State::Open,
            write_timer: None,
            close_timer: None,
            read_timer: None,
            last_rx: Instant::now(),
            frame_started: None,
            outcome: None,
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

    /// Whether a closing frame was sent or received, or the connection
    /// failed: nothing more can be sent.
    pub fn is_closed(&self) -> bool {
        self.state != State::Open
    }

    /// Bytes of outgoing frames not yet written to the stream.
    pub fn write_buffer_len(&self) -> usize {
        self.queued()
    }

    fn queued(&self) -> usize {
        self.wr.len() + self.out.len()
    }

    /// Queues a text frame encoded once for many sockets (see
    /// [`EncodedText`]): its bytes are shared, not copied. Call
    /// [`poll_ready`](WebSocket::poll_ready) first to keep the queue
    /// bounded.
    ///
    /// # Errors
    ///
    /// As [`start_send`](WebSocket::start_send) for a text message.
    pub fn start_send_encoded(&mut self, frame: &EncodedText) -> Result<(), Error> {
        self.check_open()?;
        self.seal();
        self.out.push(frame.as_bytes().clone());
        Ok(())
    }

    /// Moves the frames encoded here into the queue, after what is there.
    fn seal(&mut self) {
        if !self.wr.is_empty() {
            self.out.push(self.wr.split().freeze());
        }
    }

    /// Bytes received but not yet returned as messages.
    pub fn read_buffer_len(&self) -> usize {
        self.rd.len()
    }

    /// The next message: [`Message::Text`], or once [`Message::Close`]`(None)`
    /// when the peer sent its closing frame (already answered); `None` once
    /// the connection is over, including at end of input.
    ///
    /// Queued writes are flushed before waiting for the socket.
    ///
    /// Cancel-safe: dropping the future loses nothing, so it can sit in a
    /// `select!`.
    ///
    /// # Errors
    ///
    /// A frame error ([`Error::InvalidUtf8`], [`Error::FrameTooLarge`],
    /// [`Error::InvalidFrame`]) closes the connection (the closing frame is
    /// sent, best effort) and is returned once; socket errors and
    /// [`Error::Timeout`] for a write that could not finish too. After that,
    /// `None`.
    ///
    /// Cancel-safe: what was read stays in the socket, so `recv` can wait
    /// in a `select!` and a dropped call loses nothing.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Sends a message (see the type's docs for what each kind does),
    /// written before this returns. Waits while the write queue is full.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] for binary messages and pings (nothing is
    /// sent and the connection goes on), [`Error::Closed`] after the closing
    /// frame was sent or the connection ended, [`Error::Io`] or
    /// [`Error::Timeout`] when the socket fails; then the connection is
    /// unusable.
    pub async fn send(&mut self, msg: Message) -> Result<(), Error> {
        self.feed(msg).await?;
        self.flush().await
    }

    /// Sends a text message without copying it into a [`Message`] first.
    ///
    /// # Errors
    ///
    /// As [`send`](WebSocket::send).
    pub async fn send_text(&mut self, text: &str) -> Result<(), Error> {
        let frame_len = text.len().saturating_add(2);
        poll_fn(|cx| self.poll_room(cx, frame_len)).await?;
        self.check_open()?;
        encode_text(text, &mut self.wr);
        self.flush().await
    }

    /// Queues a message without writing it (unless the queue is full: then
    /// it waits for room first).
    ///
    /// # Errors
    ///
    /// As [`send`](WebSocket::send).
    pub async fn feed(&mut self, msg: Message) -> Result<(), Error> {
        let frame_len = match &msg {
            Message::Text(t) => t.len().saturating_add(2),
            _ => 2,
        };
        poll_fn(|cx| self.poll_room(cx, frame_len)).await?;
        self.start_send(&msg)
    }

    /// Writes out everything queued.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] or [`Error::Timeout`].
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_flush(cx)).await
    }

    /// Runs the closing handshake: sends `0xFF 0x00` (unless it was sent),
    /// waits up to [`Config::close_timeout`] for the peer's (discarding any
    /// text still arriving), then shuts the stream down. A peer that does
    /// not answer in time is not an error; the connection is closed anyway.
    /// Closing twice is a no-op.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] or [`Error::Timeout`] when the closing frame cannot be
    /// written.
    pub async fn close(&mut self) -> Result<(), Error> {
        if self.state == State::Stalled {
            return Err(Error::WriteTimeout);
        }
        if self.state == State::Open {
            self.start_send(&Message::Close(None))?;
        }
        let mut result = Ok(());
        while let Some(next) = self.recv().await {
            if let Err(e) = next {
                if !e.is_remote() {
                    result = Err(e);
                }
            }
        }
        result
    }

    /// Ready when a message may be queued: the write queue is below
    /// [`Config::max_write_buffer_size`], flushing it first otherwise.
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll_room(cx, 1)
    }

    /// Ready when `frame_len` more bytes fit in the write queue, flushing
    /// it first when they would not (a frame larger than the whole queue
    /// goes into an empty one).
    fn poll_room(&mut self, cx: &mut Context<'_>, frame_len: usize) -> Poll<Result<(), Error>> {
        let max = self.config.max_write_buffer_size;
        if self.queued() != 0 && self.queued().saturating_add(frame_len) > max {
            ready!(self.poll_flush(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    /// Queues `msg` (see the type's docs). Call [`poll_ready`] first to
    /// keep the queue bounded.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] for binary messages and pings,
    /// [`Error::Closed`] once closing or closed.
    ///
    /// [`poll_ready`]: WebSocket::poll_ready
    pub fn start_send(&mut self, msg: &Message) -> Result<(), Error> {
        match msg {
            Message::Binary(_) => Err(Error::Unsupported("binary messages")),
            Message::Ping(_) => Err(Error::Unsupported("pings")),
            Message::Pong(_) => self.check_open(),
            Message::Text(text) => {
                self.check_open()?;
                encode_text(text, &mut self.wr);
                Ok(())
            }
            Message::Close(_) => {
                self.check_open()?;
                encode_close(&mut self.wr);
                self.state = State::CloseSent {
                    deadline: Instant::now() + self.config.close_timeout,
                };
                Ok(())
            }
        }
    }

    /// Writes out everything queued.
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let res = ready!(self.poll_write_out(cx));
        if res.is_err() {
            self.fail();
        }
        Poll::Ready(res)
    }

    /// The next message, as [`recv`](WebSocket::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        self.poll_decoded(
            cx,
            |d, rd| {
                Ok(d.decode(rd)?.map(|frame| match frame {
                    Frame::Text(text) => Decoded::Item(Message::Text(text)),
                    Frame::Close => Decoded::Close,
                }))
            },
            Some,
        )
    }

    /// The next part of a text frame, as
    /// [`Decoder::decode_part`](crate::Decoder::decode_part) gives them
    /// (`limit` for the frame; `None`: any size), with the socket's
    /// timers and closing handshake. The closing frame comes as
    /// [`FramePart::Close`](crate::FramePart::Close), then `None`.
    pub fn poll_recv_part(
        &mut self,
        cx: &mut Context<'_>,
        limit: Option<u64>,
    ) -> Poll<Option<Result<FramePart, Error>>> {
        let got = self.poll_decoded(
            cx,
            |d, rd| {
                Ok(d.decode_part(rd, limit)?.map(|part| match part {
                    FramePart::Close => Decoded::Close,
                    text => Decoded::Item(text),
                }))
            },
            |outcome| Some(outcome.map(|_| FramePart::Close)),
        );
        if let Poll::Ready(Some(Ok(FramePart::Text { fin: false, .. }))) = &got {
            // A part is progress: the frame timeout starts again.
            self.frame_started = Some(Instant::now());
        }
        got
    }

    fn poll_decoded<T>(
        &mut self,
        cx: &mut Context<'_>,
        mut decode: impl FnMut(&mut Decoder, &mut BytesMut) -> Result<Option<Decoded<T>>, Error>,
        closed: impl Fn(Result<Message, Error>) -> Option<Result<T, Error>>,
    ) -> Poll<Option<Result<T, Error>>> {
        loop {
            match self.state {
                State::Closed | State::Stalled => return Poll::Ready(None),
                State::Finishing { deadline } => {
                    let done = self.poll_shutdown_io(cx).is_ready();
                    if done || self.poll_deadline(deadline, cx).is_ready() {
                        self.end();
                        return Poll::Ready(self.outcome.take().and_then(&closed));
                    }
                    return Poll::Pending;
                }
                State::Open | State::CloseSent { .. } => {}
            }

            let decoded = decode(&mut self.decoder, &mut self.rd);
            self.frame_started = if self.decoder.is_between_frames() {
                None
            } else {
                Some(self.frame_started.unwrap_or_else(Instant::now))
            };
            match decoded {
                Ok(Some(Decoded::Item(item))) => {
                    self.release_read_buffer();
                    if self.state == State::Open {
                        return Poll::Ready(Some(Ok(item)));
                    }
                    // Text after our closing frame is discarded.
                    continue;
                }
                Ok(Some(Decoded::Close)) => {
                    self.finish(Ok(Message::Close(None)));
                    continue;
                }
                Ok(None) => self.release_read_buffer(),
                Err(e) => {
                    self.finish(Err(e));
                    continue;
                }
            }

            // Everything produced while handling the last read leaves now,
            // in one write, before the next read.
            match self.poll_write_out(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => {
                    self.fail();
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Pending if self.queued() > self.config.max_write_buffer_size => {
                    // The peer does not read: stop reading from it too.
                    return self.poll_close_deadline(cx);
                }
                Poll::Pending => {}
            }

            match self.poll_read_more(cx) {
                Poll::Ready(Ok(0)) => {
                    // End of input ends the stream, whether or not the peer
                    // sent its closing frame first (old clients often just
                    // close the connection).
                    self.end();
                    return Poll::Ready(None);
                }
                Poll::Ready(Ok(_)) => self.last_rx = Instant::now(),
                Poll::Ready(Err(e)) => {
                    self.fail();
                    return Poll::Ready(Some(Err(e.into())));
                }
                Poll::Pending => {
                    if self.state == State::Open {
                        if let Poll::Ready(e) = self.poll_read_deadline(cx) {
                            // Closed with our closing frame, like any fault.
                            self.finish(Err(e));
                            continue;
                        }
                    }
                    return self.poll_close_deadline(cx);
                }
            }
        }
    }

    /// Nothing to read: ends the connection if our closing frame went
    /// unanswered for too long.
    fn poll_close_deadline<T>(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, Error>>> {
        if let State::CloseSent { deadline } = self.state {
            if self.poll_deadline(deadline, cx).is_ready() {
                let _ = self.poll_shutdown_io(cx);
                self.end();
                return Poll::Ready(None);
            }
        }
        Poll::Pending
    }

    /// Ready with the error to close with once the frame still arriving
    /// has taken longer than the frame timeout, or nothing has arrived for
    /// the idle timeout.
    fn poll_read_deadline(&mut self, cx: &mut Context<'_>) -> Poll<Error> {
        let (at, fault) = match self.frame_started {
            Some(started) => (started + self.config.frame_timeout, Error::FrameTimeout),
            None => match self.config.idle_timeout {
                Some(idle) => (self.last_rx + idle, Error::Timeout),
                None => {
                    self.read_timer = None;
                    return Poll::Pending;
                }
            },
        };
        if at <= Instant::now() {
            return Poll::Ready(fault);
        }
        let timer = match &mut self.read_timer {
            Some(t) => {
                if t.deadline() != at {
                    t.as_mut().reset(at);
                }
                t
            }
            None => self
                .read_timer
                .insert(Box::pin(tokio::time::sleep_until(at))),
        };
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(fault)
    }

    fn check_open(&self) -> Result<(), Error> {
        match self.state {
            State::Open => Ok(()),
            State::Stalled => Err(Error::WriteTimeout),
            _ => Err(Error::Closed),
        }
    }

    /// The outcome is decided: answer with our closing frame unless it was
    /// sent, then flush and shut down within the close timeout.
    fn finish(&mut self, outcome: Result<Message, Error>) {
        if self.state == State::Open {
            encode_close(&mut self.wr);
        }
        self.rd = BytesMut::new();
        self.outcome = Some(outcome);
        self.state = State::Finishing {
            deadline: Instant::now() + self.config.close_timeout,
        };
    }

    /// The connection is over: free everything.
    fn end(&mut self) {
        if self.state != State::Stalled {
            self.state = State::Closed;
        }
        self.rd = BytesMut::new();
        self.wr = BytesMut::new();
        self.out.clear();
        self.write_timer = None;
        self.close_timer = None;
        self.read_timer = None;
        self.frame_started = None;
    }

    /// A write failed: the stream is in an unknown state.
    fn fail(&mut self) {
        self.end();
        self.outcome = None;
    }

    /// Drops the read buffer's allocation once everything in it is parsed
    /// (an empty buffer may have no capacity left and still share its
    /// allocation with the message split off it).
    fn release_read_buffer(&mut self) {
        if self.rd.is_empty() {
            self.rd = BytesMut::new();
        }
    }

    /// Ready once `deadline` has passed.
    fn poll_deadline(&mut self, deadline: Instant, cx: &mut Context<'_>) -> Poll<()> {
        if deadline <= Instant::now() {
            return Poll::Ready(());
        }
        let timer = match &mut self.close_timer {
            Some(t) => {
                if t.deadline() != deadline {
                    t.as_mut().reset(deadline);
                }
                t
            }
            None => self
                .close_timer
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        timer.as_mut().poll(cx)
    }

    /// Reads more bytes into `rd` through a stack buffer.
    fn poll_read_more(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let mut stack = [std::mem::MaybeUninit::<u8>::uninit(); STACK_READ];
        let mut buf = ReadBuf::uninit(&mut stack);
        ready!(Pin::new(&mut self.io).poll_read(cx, &mut buf))?;
        let filled = buf.filled();
        self.rd.extend_from_slice(filled);
        Poll::Ready(Ok(filled.len()))
    }

    /// Writes the queue out and flushes the stream, failing with
    /// [`Error::Timeout`] when no progress is made for the write timeout.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.seal();
        if !self.out.is_empty() {
            let before = self.out.len();
            // The future holds only the two borrows; what a partial write
            // took is already dropped from the queue.
            let write = std::pin::pin!(self.io.write_all_buf(&mut self.out));
            match write.poll(cx) {
                Poll::Ready(Ok(())) => self.write_timer = None,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                Poll::Pending => {
                    if self.out.len() < before {
                        // Progress restarts the clock.
                        self.write_timer = None;
                    }
                    return self.poll_write_timeout(cx);
                }
            }
        }
        if self.wr.capacity() != 0 {
            self.wr = BytesMut::new();
        }
        match Pin::new(&mut self.io).poll_flush(cx) {
            Poll::Ready(res) => {
                self.write_timer = None;
                Poll::Ready(res.map_err(Error::from))
            }
            Poll::Pending => self.poll_write_timeout(cx),
        }
    }

    /// A write is blocked: pending until the write timeout, then an error.
    fn poll_write_timeout(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let limit = self.config.write_timeout;
        let timer = self
            .write_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        ready!(timer.as_mut().poll(cx));
        // The peer stopped reading: drop it, and say so to every send.
        self.state = State::Stalled;
        self.end();
        Poll::Ready(Err(Error::WriteTimeout))
    }

    /// Flushes, then shuts the write side down.
    fn poll_shutdown_io(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        ready!(self.poll_write_out(cx))?;
        Pin::new(&mut self.io)
            .poll_shutdown(cx)
            .map_err(Error::from)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_core::Stream for WebSocket<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_sink::Sink<Message> for WebSocket<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        WebSocket::poll_ready(self.get_mut(), cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        WebSocket::start_send(self.get_mut(), &item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        WebSocket::poll_flush(self.get_mut(), cx)
    }

    /// Sends the closing frame (unless it was sent) and flushes. The
    /// peer's answer is read by `recv` / the `Stream` side.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if this.state == State::Open {
            this.start_send(&Message::Close(None))?;
        }
        this.poll_flush(cx)
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
    leftover: BytesMut,
    scheme: Scheme,
    protocol: Option<&str>,
    config: Config,
) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match handshake::response(req, scheme, protocol) {
        Ok(res) => accept_with_response(io, req, &res, leftover, config).await,
        Err(e) => Err(reject(&mut io, e, &config).await),
    }
}

/// [`accept`] with the `101` response already built by
/// [`handshake::response`], perhaps with headers the application added
/// (a `Set-Cookie`, say).
///
/// # Errors
///
/// As [`accept`].
pub async fn accept_with_response<S>(
    mut io: S,
    req: &http::Request<()>,
    res: &http::Response<()>,
    mut leftover: BytesMut,
    config: Config,
) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let read = tokio::time::timeout(config.handshake_timeout, read_key3(&mut io, &mut leftover));
    let key3 = match read.await {
        Ok(Ok(key3)) => key3,
        Ok(Err(Error::Handshake(e))) => return Err(reject(&mut io, e, &config).await),
        Ok(Err(e)) => return Err(e),
        Err(_) => return Err(reject(&mut io, HandshakeError::Timeout, &config).await),
    };
    let mut out = BytesMut::new();
    if let Err(e) = handshake::encode_answer(req, res, &key3, &mut out) {
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
