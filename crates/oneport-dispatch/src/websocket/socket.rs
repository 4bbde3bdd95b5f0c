//! The socket a WebSocket handler holds, for both protocol versions, its
//! split halves, and the lifecycle that closes it cleanly when the last of
//! them is dropped.

use std::fmt;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use crate::stream::ServerStream;
use oneport_rfc6455::deflate::DeflateParams;
use oneport_rfc6455::{
    CloseCode, CloseFrame, Compress, Half, Message, Part, PreparedMessage, Timers, Utf8Bytes,
    WakerFanout,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;

mod streamed;

pub use streamed::MessageStream;
use streamed::{ReaderChunks, no_fragments, send_stream_on};

use crate::dispatcher::{BoxFuture, Shutdown};
use crate::error::{Error, Kind};
use crate::shutdown::{NO_DEADLINE, Waiter, Woken};

/// Which WebSocket protocol a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WsVersion {
    /// RFC 6455 (`Sec-WebSocket-Version: 13`).
    Rfc6455,
    /// The hixie-76 / hybi-00 draft: text messages only.
    Hybi00,
}

/// A byte stream a [`WebSocket`] can run over: TCP (the default), and
/// later TLS or Unix sockets, without a new socket type.
pub trait Transport: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Transport for T {}

/// The protocol engine: both have the same shape (RFC 6455's messages in
/// and out), so everything above this enum is written once.
///
/// The legacy draft's engine is boxed: every socket is as large as the
/// larger variant, and the common RFC 6455 one should not pay for the
/// rare one.
#[allow(clippy::large_enum_variant)] // the large variant is the common one
enum Inner<S> {
    Rfc6455(oneport_rfc6455::WebSocket<S>),
    Hybi00(Box<oneport_hybi00::WebSocket<S>>),
}

fn rfc6455_err(e: oneport_rfc6455::Error) -> Error {
    use oneport_rfc6455::Error as E;
    let kind = match e {
        E::AlreadyClosed | E::ConnectionClosed => Kind::Closed,
        E::Timeout | E::WriteTimeout => Kind::Timeout,
        E::Io(_) => Kind::Io,
        _ => Kind::WebSocket,
    };
    Error::with(kind, e)
}

fn hybi00_err(e: oneport_hybi00::Error) -> Error {
    use oneport_hybi00::Error as E;
    let kind = match e {
        E::Unsupported(_) => Kind::Unsupported,
        E::Closed => Kind::Closed,
        E::Timeout | E::WriteTimeout | E::FrameTimeout => Kind::Timeout,
        E::Io(_) => Kind::Io,
        _ => Kind::WebSocket,
    };
    Error::with(kind, e)
}

impl<S: Transport> Inner<S> {
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        match self {
            Inner::Rfc6455(ws) => futures_core::Stream::poll_next(Pin::new(ws), cx)
                .map(|m| m.map(|r| r.map_err(rfc6455_err))),
            Inner::Hybi00(ws) => ws.poll_recv(cx).map(|m| m.map(|r| r.map_err(hybi00_err))),
        }
    }

    /// The next part of a data message (on hybi-00, of a text frame).
    fn poll_recv_part(
        &mut self,
        cx: &mut Context<'_>,
        limit: Option<u64>,
    ) -> Poll<Option<Result<Part, Error>>> {
        match self {
            Inner::Rfc6455(ws) => ws
                .poll_recv_part(cx, limit)
                .map(|m| m.map(|r| r.map_err(rfc6455_err))),
            Inner::Hybi00(ws) => ws.poll_recv_part(cx, limit).map(|m| {
                m.map(|r| {
                    r.map_err(hybi00_err).map(|part| match part {
                        oneport_hybi00::FramePart::Text { data, fin } => Part::Data {
                            text: true,
                            data,
                            fin,
                        },
                        oneport_hybi00::FramePart::Close => Part::Control(Message::Close(None)),
                    })
                })
            }),
        }
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self {
            Inner::Rfc6455(ws) => {
                futures_sink::Sink::poll_ready(Pin::new(ws), cx).map_err(rfc6455_err)
            }
            Inner::Hybi00(ws) => ws.poll_ready(cx).map_err(hybi00_err),
        }
    }

    fn start_send(&mut self, msg: &Message, compress: Compress) -> Result<(), Error> {
        match self {
            Inner::Rfc6455(ws) => ws.start_send_with(msg, compress).map_err(rfc6455_err),
            // The draft has no extensions.
            Inner::Hybi00(ws) => ws.start_send(msg).map_err(hybi00_err),
        }
    }

    fn deflate(&self) -> Option<DeflateParams> {
        match self {
            Inner::Rfc6455(ws) => ws.deflate().copied(),
            Inner::Hybi00(_) => None,
        }
    }

    /// Queues a message encoded once for many sockets: each protocol sends
    /// its own shared frame.
    /// Queues a fragment of a message sent in parts; hybi-00 has no
    /// fragments and says so.
    fn start_send_fragment(&mut self, fragment: oneport_rfc6455::Fragment) -> Result<(), Error> {
        match self {
            Inner::Rfc6455(ws) => ws.start_send_fragment(fragment).map_err(rfc6455_err),
            Inner::Hybi00(_) => Err(no_fragments()),
        }
    }

    /// Fails the connection with 1011 after a message source broke.
    fn fail_source(&mut self) {
        if let Inner::Rfc6455(ws) = self {
            ws.fail_source();
        }
    }

    fn start_send_prepared(&mut self, prepared: &Prepared) -> Result<(), Error> {
        match (self, &prepared.hybi00) {
            (Inner::Rfc6455(ws), _) => ws
                .start_send_prepared(&prepared.rfc6455)
                .map_err(rfc6455_err),
            (Inner::Hybi00(ws), Some(frame)) => ws.start_send_encoded(frame).map_err(hybi00_err),
            // Binary: hybi-00 says it cannot carry it.
            (Inner::Hybi00(ws), None) => ws
                .start_send(prepared.rfc6455.message())
                .map_err(hybi00_err),
        }
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self {
            Inner::Rfc6455(ws) => {
                futures_sink::Sink::poll_flush(Pin::new(ws), cx).map_err(rfc6455_err)
            }
            Inner::Hybi00(ws) => ws.poll_flush(cx).map_err(hybi00_err),
        }
    }

    fn close_timeout(&self) -> Duration {
        match self {
            Inner::Rfc6455(ws) => ws.config().close_timeout,
            Inner::Hybi00(ws) => ws.config().close_timeout,
        }
    }

    fn version(&self) -> WsVersion {
        match self {
            Inner::Rfc6455(_) => WsVersion::Rfc6455,
            Inner::Hybi00(_) => WsVersion::Hybi00,
        }
    }

    /// Leaves the open connection's timers to the server's idle clock
    /// when the clock is fine enough for them: their shortest period at
    /// least [`CLOCK_TICKS_PER_TIMER`] ticks, so that they run at most an
    /// eighth late. RFC 6455 only; the legacy draft keeps its own.
    fn use_clock(&mut self, tick: Duration) {
        let Inner::Rfc6455(ws) = self else {
            return;
        };
        let config = ws.config();
        let shortest = [config.idle_timeout, config.ping_interval]
            .into_iter()
            .flatten()
            .min();
        if shortest.is_none_or(|d| d >= tick.saturating_mul(CLOCK_TICKS_PER_TIMER)) {
            ws.set_timers(Timers::Caller);
        }
    }

    /// The engine keeps its own timers from now on.
    fn own_timers(&mut self) {
        if let Inner::Rfc6455(ws) = self {
            ws.set_timers(Timers::Own);
        }
    }

    /// When the engine wants to be woken for a timer it left to us.
    fn next_timeout(&self) -> Option<tokio::time::Instant> {
        match self {
            Inner::Rfc6455(ws) => ws.next_timeout(),
            Inner::Hybi00(_) => None,
        }
    }

    fn handle_timeout(&mut self) {
        if let Inner::Rfc6455(ws) = self {
            ws.handle_timeout();
        }
    }
}

/// How many idle-clock ticks the shortest open-connection timer must span
/// for the clock to keep it (see [`Inner::use_clock`]).
const CLOCK_TICKS_PER_TIMER: u32 = 8;

/// Whether `e` says the peer stopped reading (the slow-consumer policy
/// dropped it).
fn stalled(e: &Error) -> bool {
    std::error::Error::source(e).is_some_and(|s| {
        matches!(
            s.downcast_ref::<oneport_rfc6455::Error>(),
            Some(oneport_rfc6455::Error::WriteTimeout)
        ) || matches!(
            s.downcast_ref::<oneport_hybi00::Error>(),
            Some(oneport_hybi00::Error::WriteTimeout)
        )
    })
}

/// A text or binary message encoded once for each WebSocket protocol, so
/// that a broadcast writes the same bytes to every socket of a protocol
/// instead of encoding, or copying, the message per socket. Cloning it
/// shares the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    rfc6455: PreparedMessage,
    /// The hybi-00 frame, for text (the draft carries no binary).
    hybi00: Option<oneport_hybi00::EncodedText>,
}

impl Prepared {
    /// Encodes `message` for both protocols.
    ///
    /// # Errors
    ///
    /// A control message (ping, pong, close), which belongs to one
    /// connection ([`Error::is_unsupported`]).
    pub fn new(message: Message) -> Result<Self, Error> {
        let hybi00 = message.as_text().map(oneport_hybi00::EncodedText::new);
        let rfc6455 =
            PreparedMessage::new(message).map_err(|e| Error::with(Kind::Unsupported, e))?;
        Ok(Self { rfc6455, hybi00 })
    }

    /// The message.
    pub fn message(&self) -> &Message {
        self.rfc6455.message()
    }
}

/// The close status RFC 6455 §7.1.5 gives a connection that ended without
/// a code: 1005 when a Close carried none, 1006 when none was exchanged.
fn status(code: CloseCode, reason: &'static str) -> CloseFrame {
    CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }
}

/// Everything one connection holds, shared by the socket and its halves.
struct Conn<S> {
    inner: Inner<S>,
    /// The close's code and reason once known, whoever sent it.
    /// Boxed: known only once the connection closes.
    status: Option<Box<CloseFrame>>,
    protocol: Option<String>,
    peer: Option<SocketAddr>,
    /// The server's shutdown signal, polled whenever the engine waits
    /// (it keeps one waker slot for the connection's life, not a future).
    /// Its slot also carries the engine's next timer deadline on the
    /// server's idle clock, when the engine leaves its timers to us: no
    /// timer of its own per connection.
    waiter: Waiter,
    /// After the server began shutting down and our Close 1001 went out:
    /// what still arrives is discarded until the handshake ends.
    draining: Draining,
    /// The idle-clock tick asked for the engine's next timer, or
    /// [`TICK_UNSET`]. Kept until it comes: the engine's deadline only
    /// moves later while the connection is open, so a tick for an earlier
    /// one can only wake it early, once (and it is not worked out again
    /// on every wait).
    timer_tick: u64,
}

/// No tick asked for yet (the idle clock's ticks asked for are never 0).
const TICK_UNSET: u64 = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Draining {
    No,
    Yes,
}

impl<S: Transport> Conn<S> {
    fn new(
        mut inner: Inner<S>,
        protocol: Option<String>,
        peer: Option<SocketAddr>,
        shutdown: Shutdown,
    ) -> Self {
        if let Some(tick) = shutdown.tick() {
            inner.use_clock(tick);
        }
        Self {
            inner,
            status: None,
            protocol,
            peer,
            waiter: Waiter::new(shutdown),
            draining: Draining::No,
            timer_tick: TICK_UNSET,
        }
    }

    fn note(&mut self, frame: CloseFrame) {
        if self.status.is_none() {
            self.status = Some(Box::new(frame));
        }
    }

    /// Records what a received item says about the close.
    fn note_received(&mut self, item: &Option<Result<Message, Error>>) {
        match item {
            Some(Ok(msg)) => self.note_message(msg),
            Some(Err(e)) => self.note_error(e),
            None => self.note(status(CloseCode::ABNORMAL, "")),
        }
    }

    /// [`note_received`](Conn::note_received) for a part.
    fn note_part(&mut self, item: &Option<Result<Part, Error>>) {
        match item {
            Some(Ok(Part::Control(msg))) => self.note_message(msg),
            Some(Ok(Part::Data { .. })) => {}
            Some(Err(e)) => self.note_error(e),
            None => self.note(status(CloseCode::ABNORMAL, "")),
        }
    }

    fn note_message(&mut self, msg: &Message) {
        if let Message::Close(frame) = msg {
            let frame = frame
                .clone()
                .unwrap_or_else(|| status(CloseCode::NO_STATUS, ""));
            self.note(frame);
        }
    }

    fn note_error(&mut self, e: &Error) {
        let sent = std::error::Error::source(e).and_then(|s| {
            if let Some(e) = s.downcast_ref::<oneport_rfc6455::Error>() {
                e.close_code()
            } else if let Some(e) = s.downcast_ref::<oneport_hybi00::Error>() {
                e.close_code()
            } else {
                None
            }
        });
        let frame = match sent {
            Some(code) => status(code, ""),
            None if stalled(e) => status(CloseCode::ABNORMAL, "the peer stopped reading"),
            None if e.is_timeout() => status(CloseCode::AWAY, "idle timeout"),
            None => status(CloseCode::ABNORMAL, ""),
        };
        self.note(frame);
    }

    fn start_send(&mut self, msg: &Message, compress: Compress) -> Result<(), Error> {
        self.inner.start_send(msg, compress)?;
        if let Message::Close(frame) = msg {
            let frame = frame
                .clone()
                .unwrap_or_else(|| status(CloseCode::NO_STATUS, ""));
            self.note(frame);
        }
        Ok(())
    }

    /// The next message; on shutdown, closes with 1001 and ends.
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        loop {
            // The message first: while data keeps arriving the stop signal
            // need not be polled at all.
            if let Poll::Ready(item) = self.inner.poll_recv(cx) {
                self.note_received(&item);
                if self.draining == Draining::Yes && item.is_some() {
                    continue;
                }
                return Poll::Ready(item);
            }
            if !self.poll_wake(cx) {
                return Poll::Pending;
            }
        }
    }

    /// The next part of a data message, as [`poll_recv`](Conn::poll_recv)
    /// for whole ones.
    fn poll_recv_part(
        &mut self,
        cx: &mut Context<'_>,
        limit: Option<u64>,
    ) -> Poll<Option<Result<Part, Error>>> {
        loop {
            if let Poll::Ready(item) = self.inner.poll_recv_part(cx, limit) {
                self.note_part(&item);
                if self.draining == Draining::Yes && item.is_some() {
                    continue;
                }
                return Poll::Ready(item);
            }
            if !self.poll_wake(cx) {
                return Poll::Pending;
            }
        }
    }

    /// Once the engine is waiting: waits for the server's shutdown and
    /// for the engine's next timer, if it left that to the server's
    /// clock. True when the engine must be polled again: the shutdown
    /// began just now (the Close 1001 is queued), or a timer may be due.
    fn poll_wake(&mut self, cx: &mut Context<'_>) -> bool {
        if self.draining == Draining::Yes {
            return false;
        }
        if self.timer_tick == TICK_UNSET {
            self.timer_tick = match self.inner.next_timeout() {
                None => NO_DEADLINE,
                Some(at) => match self.waiter.shutdown().tick_at(at) {
                    Some(tick) => tick,
                    None => {
                        // The clock stopped: the engine times itself again.
                        self.inner.own_timers();
                        return true;
                    }
                },
            };
        }
        match self.waiter.poll_wait_until(cx, self.timer_tick) {
            Poll::Pending => return false,
            Poll::Ready(Woken::Deadline) => {
                self.timer_tick = TICK_UNSET;
                self.inner.handle_timeout();
                return true;
            }
            Poll::Ready(Woken::Shutdown) => {}
        }
        self.draining = Draining::Yes;
        // The clock stops with the shutdown; the closing handshake's
        // deadline is the engine's own anyway.
        self.inner.own_timers();
        // If a Close was already sent this fails, and the handshake under
        // way simply finishes.
        let _ = self.start_send(
            &Message::Close(Some(status(CloseCode::AWAY, "server shutting down"))),
            Compress::Never,
        );
        true
    }

    /// Records a send's failure when it says the peer stopped reading.
    #[inline]
    fn note_send_error<T>(&mut self, result: Result<T, Error>) -> Result<T, Error> {
        if let Err(e) = &result {
            if stalled(e) {
                self.note(status(CloseCode::ABNORMAL, "the peer stopped reading"));
            }
        }
        result
    }

    /// Queues `msg` once there is room (taking it out of the option), and
    /// with [`After::Flush`] writes everything queued: the one way
    /// `feed`, `send` and `send_with` go, as a poll function, so that
    /// their futures hold a single copy of the message.
    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        msg: &mut Option<Message>,
        compress: Compress,
        after: After,
    ) -> Poll<Result<(), Error>> {
        if let Some(m) = msg {
            let ready = ready!(self.inner.poll_ready(cx));
            self.note_send_error(ready)?;
            self.start_send(m, compress)?;
            *msg = None;
        }
        if after == After::Queue {
            return Poll::Ready(Ok(()));
        }
        let flushed = ready!(self.inner.poll_flush(cx));
        Poll::Ready(self.note_send_error(flushed))
    }

    async fn flush(&mut self) -> Result<(), Error> {
        let flushed = poll_fn(|cx| self.inner.poll_flush(cx)).await;
        self.note_send_error(flushed)
    }

    /// The whole closing handshake: our Close (unless one went out), the
    /// peer's answer within the close timeout, then the transport closed.
    async fn close(&mut self, frame: CloseFrame) -> Result<(), Error> {
        self.note(frame.clone());
        match &mut self.inner {
            Inner::Rfc6455(ws) => ws.close(Some(frame)).await.map_err(rfc6455_err),
            Inner::Hybi00(ws) => ws.close().await.map_err(hybi00_err),
        }
    }

    /// What happens when the last handle is dropped: whatever is queued
    /// goes out, then a Close (1000, or 1001 during shutdown) unless one
    /// was sent, then the peer's Close is awaited for at most the close
    /// timeout, and the transport is closed.
    async fn finish(mut self: Box<Self>) {
        let code = if self.waiter.shutdown().is_shutting_down() {
            status(CloseCode::AWAY, "server shutting down")
        } else {
            status(CloseCode::NORMAL, "")
        };
        // The engines bound every step by the close timeout already; this
        // is a backstop against a transport that never completes a write.
        let limit = self.inner.close_timeout().saturating_mul(2);
        let _ = tokio::time::timeout(limit, self.close(code)).await;
    }
}

/// What a send does once its message is queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    /// Nothing: it leaves with the next write (`feed`).
    Queue,
    /// Write everything queued (`send`).
    Flush,
}

/// The future of a send on the whole socket: one poll function over
/// [`Conn::poll_send`] (a handler's future holds it for as long as the
/// connection lives, and nested `async fn`s each kept a copy of the
/// message: an echo handler's future was 616 bytes).
fn sending<S: Transport>(
    mut conn: Option<&mut Conn<S>>,
    msg: Message,
    compress: Compress,
    after: After,
) -> impl Future<Output = Result<(), Error>> + Send + '_ {
    let mut msg = Some(msg);
    poll_fn(move |cx| match conn.as_deref_mut() {
        Some(conn) => conn.poll_send(cx, &mut msg, compress, after),
        None => Poll::Ready(Err(gone())),
    })
}

/// Where a socket goes when its last handle is dropped.
enum Home<S> {
    /// The connection's task waits for it, and finishes it.
    Task(oneshot::Sender<Box<Conn<S>>>),
    /// Nobody waits: it is finished on a task of its own.
    Detached,
}

impl<S: Transport> Home<S> {
    fn send(self, conn: Box<Conn<S>>) {
        let conn = match self {
            Home::Task(tx) => match tx.send(conn) {
                Ok(()) => return,
                Err(conn) => conn,
            },
            Home::Detached => conn,
        };
        // Outside a runtime nothing can run the handshake: the transport
        // is simply dropped.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(conn.finish());
        }
    }
}

/// Waits for the socket made by [`WebSocket::homed`] to be dropped, then
/// finishes its closing handshake.
pub(crate) struct Homecoming<S> {
    stage: HomeStage<S>,
}

enum HomeStage<S> {
    /// The handler (or a half) still holds the socket.
    Away(oneshot::Receiver<Box<Conn<S>>>),
    /// The same, once the channel has this task's waker: it wakes the
    /// task when the socket comes home.
    Listening(oneshot::Receiver<Box<Conn<S>>>),
    /// The closing handshake, boxed so that an idle connection does not
    /// carry its state until it runs.
    Closing(BoxFuture<'static, ()>),
    Done,
}

impl<S: Transport> Homecoming<S> {
    /// Ready when the handler's socket (or its last half) was dropped and
    /// the connection is closed. A poll function rather than a future, so
    /// that the serving future can poll it beside the handler's without
    /// a join's bookkeeping. Polled by one task throughout.
    pub(crate) fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match &mut self.stage {
                HomeStage::Away(rx) | HomeStage::Listening(rx) => {
                    match Pin::new(&mut *rx).poll(cx) {
                        // A pending poll has left this task's waker with
                        // the channel, unless the runtime's budget for this
                        // task ran out first (then it returned at once).
                        Poll::Pending => {
                            let registered = tokio::task::coop::has_budget_remaining();
                            if let (HomeStage::Away(_), true) = (&self.stage, registered) {
                                let stage = std::mem::replace(&mut self.stage, HomeStage::Done);
                                if let HomeStage::Away(rx) = stage {
                                    self.stage = HomeStage::Listening(rx);
                                }
                            }
                            return Poll::Pending;
                        }
                        Poll::Ready(Ok(conn)) => {
                            self.stage = HomeStage::Closing(Box::pin(conn.finish()));
                        }
                        Poll::Ready(Err(_)) => self.stage = HomeStage::Done,
                    }
                }
                HomeStage::Closing(closing) => {
                    ready!(closing.as_mut().poll(cx));
                    self.stage = HomeStage::Done;
                }
                HomeStage::Done => return Poll::Ready(()),
            }
        }
    }

    /// Whether a poll could find anything new while the handler still
    /// runs: not while the channel, which already has this task's waker,
    /// is empty (one atomic load, where a poll costs the runtime's budget
    /// and the waker's check at every wake-up of the connection). A
    /// socket dropped without a word (forgotten) closes the channel
    /// without filling it: that is seen once the handler is done, when
    /// the caller polls regardless.
    pub(crate) fn may_have_news(&self) -> bool {
        !matches!(&self.stage, HomeStage::Listening(rx) if rx.is_empty())
    }
}

/// A server-side WebSocket, whichever protocol version the client spoke,
/// over any [`Transport`] (TCP by default).
///
/// Handlers are written once against this type. What hybi-00 cannot carry
/// is explicit: [`send`](WebSocket::send) of a binary message or a ping on
/// a hybi-00 connection returns an error for which
/// [`Error::is_unsupported`] holds, a pong is a no-op, and a close code is
/// not transmitted. Check [`WebSocket::version`] or
/// [`WebSocket::supports_binary`] to adapt.
///
/// # Receiving
///
/// [`recv`](WebSocket::recv) (or the `Stream` impl) returns text and binary
/// messages, and on RFC 6455 pings and pongs too (pings are answered
/// already). A Close from the peer is answered and returned once as
/// [`Message::Close`], then `None`. When the server shuts down, `recv`
/// closes the connection with 1001 ("going away") and returns `None`.
/// `recv` is cancel-safe: dropping its future loses nothing, so it can
/// wait in a `select!` beside a timer, a channel or a topic (Racket's
/// `ws-recv-evt`); `tests/ws_lifecycle.rs` shows it with a 1 ms timer
/// cancelling it in the middle of fragments.
///
/// # Sending
///
/// [`send`](WebSocket::send) queues a message and writes it out (with
/// anything queued before it) before it returns: a frame sent never waits
/// for a later call. [`feed`](WebSocket::feed) only queues; what is queued
/// leaves at the next `send` or [`flush`](WebSocket::flush), or before
/// `recv` waits for the socket. So an echo handler that answers with
/// `feed` answers a burst of pipelined messages in one write. The `Sink`
/// impl's `start_send` queues like `feed`.
///
/// # Closing, and what happens when the handler returns
///
/// [`close`](WebSocket::close) runs the closing handshake. A socket that is
/// dropped (when the handler returns, or when both halves of a
/// [`split`](WebSocket::split) are dropped) is closed the same way: what is
/// queued is written, a Close 1000 (1001 during shutdown; `FF 00` on
/// hybi-00) is sent unless one was, the peer's Close is awaited for at most
/// the close timeout, and then the connection is closed. No frame a
/// handler sent is lost by returning.
///
/// # Splitting
///
/// [`split`](WebSocket::split) gives a [`WsReceiver`] and a [`WsSender`]
/// that can live in different tasks: the receiver keeps answering pings and
/// the closing handshake while the sender sends.
pub struct WebSocket<S: Transport = ServerStream> {
    /// Always `Some` while the user holds the socket; taken by `split`
    /// and `drop`.
    conn: Option<Box<Conn<S>>>,
    home: Option<Home<S>>,
}

impl<S: Transport> fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("WebSocket");
        if let Some(c) = &self.conn {
            d.field("version", &c.inner.version())
                .field("protocol", &c.protocol)
                .field("status", &c.status);
        }
        d.finish_non_exhaustive()
    }
}

impl<S: Transport> Drop for WebSocket<S> {
    fn drop(&mut self) {
        if let (Some(conn), Some(home)) = (self.conn.take(), self.home.take()) {
            home.send(conn);
        }
    }
}

/// The error for a socket used after it was taken apart (which the API
/// does not allow; kept for completeness instead of a panic).
fn gone() -> Error {
    Error::new(Kind::Closed)
}

impl<S: Transport> WebSocket<S> {
    fn with_home(
        inner: Inner<S>,
        protocol: Option<String>,
        peer: Option<SocketAddr>,
        shutdown: Shutdown,
        home: Home<S>,
    ) -> Self {
        Self {
            conn: Some(Box::new(Conn::new(inner, protocol, peer, shutdown))),
            home: Some(home),
        }
    }

    /// A socket whose connection task waits, through the returned
    /// [`Homecoming`], to finish it once the handler lets go of it.
    pub(crate) fn homed(
        inner: Engine<S>,
        protocol: Option<String>,
        peer: Option<SocketAddr>,
        shutdown: Shutdown,
    ) -> (Self, Homecoming<S>) {
        let (tx, rx) = oneshot::channel();
        let ws = Self::with_home(inner.0, protocol, peer, shutdown, Home::Task(tx));
        (
            ws,
            Homecoming {
                stage: HomeStage::Away(rx),
            },
        )
    }

    /// Wraps an RFC 6455 socket whose handshake is done, over any
    /// transport; `protocol` is the subprotocol agreed and `peer` the
    /// client's address, if known. Dropped, it is closed on a task of its
    /// own (see the type's docs).
    pub fn from_rfc6455(
        ws: oneport_rfc6455::WebSocket<S>,
        protocol: Option<String>,
        peer: Option<SocketAddr>,
    ) -> Self {
        Self::with_home(
            Inner::Rfc6455(ws),
            protocol,
            peer,
            Shutdown::never(),
            Home::Detached,
        )
    }

    /// Wraps a hybi-00 socket whose handshake is done, as
    /// [`from_rfc6455`](WebSocket::from_rfc6455).
    pub fn from_hybi00(
        ws: oneport_hybi00::WebSocket<S>,
        protocol: Option<String>,
        peer: Option<SocketAddr>,
    ) -> Self {
        Self::with_home(
            Inner::Hybi00(Box::new(ws)),
            protocol,
            peer,
            Shutdown::never(),
            Home::Detached,
        )
    }

    fn conn(&mut self) -> Result<&mut Conn<S>, Error> {
        self.conn.as_deref_mut().ok_or_else(gone)
    }

    /// The protocol version in use.
    pub fn version(&self) -> WsVersion {
        self.conn
            .as_ref()
            .map_or(WsVersion::Rfc6455, |c| c.inner.version())
    }

    /// Whether binary messages (and pings) can be sent.
    pub fn supports_binary(&self) -> bool {
        self.version() == WsVersion::Rfc6455
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.conn.as_ref().and_then(|c| c.protocol.as_deref())
    }

    /// The client's address, when the transport has one.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.conn.as_ref().and_then(|c| c.peer)
    }

    /// Whether the closing handshake has begun (a Close was sent or
    /// received) or the connection ended: nothing more can be sent.
    pub fn is_closed(&self) -> bool {
        self.conn.as_ref().is_none_or(|c| c.status.is_some())
    }

    /// The close's code and reason once known, whoever sent it first: the
    /// peer's Close, ours, or for a connection that failed the code we
    /// closed it with. Per RFC 6455 §7.1.5, a Close without a code reads
    /// as 1005 and a connection that ended without a Close as 1006. On
    /// hybi-00, whose closing frame has no code, a close from the peer
    /// reads as 1005.
    pub fn close_status(&self) -> Option<CloseFrame> {
        self.conn
            .as_ref()
            .and_then(|c| c.status.as_deref().cloned())
    }

    /// The next message: text or binary (and pings/pongs on RFC 6455).
    /// Pings are answered automatically. A close from the peer is answered
    /// and reported once as `Message::Close`; then `None`. Cancel-safe.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        let conn = self.conn.as_deref_mut()?;
        poll_fn(|cx| conn.poll_recv(cx)).await
    }

    /// The next data message as a stream of its bytes as they arrive
    /// (Racket's `ws-recv-stream`), so that a message of any size holds
    /// one read in memory: see [`MessageStream`]. The limit is the
    /// connection's `max_streamed_message_size` (1 GiB by default; 1009
    /// past it). Pings are answered meanwhile; `None` once the connection
    /// is closed. Cancel-safe. On hybi-00 a text frame streams the same
    /// way (its chunks end on character boundaries).
    pub async fn recv_stream(&mut self) -> Option<Result<MessageStream<'_, S>, Error>> {
        let limit = match &self.conn.as_deref()?.inner {
            Inner::Rfc6455(ws) => ws.config().max_streamed_message_size,
            // The draft's config has no streamed limit: the RFC 6455 default.
            Inner::Hybi00(_) => Some(oneport_rfc6455::DEFAULT_MAX_STREAMED_MESSAGE_SIZE),
        };
        self.recv_stream_with(limit).await
    }

    /// Sends one message whose bytes come from `source` (a `Stream` of
    /// `Bytes`) as fragments of at most `fragment` bytes (Racket's
    /// `ws-send!` with `#:final-fragment?`), so a message of any size holds
    /// one fragment in memory. Each fragment waits for room and goes out
    /// under the write timeout; with split halves the receiving half
    /// answers pings (and may close) between fragments. If the source
    /// fails, or gives invalid UTF-8 for text, the connection is closed
    /// with 1011 and the peer never gets a corrupt message.
    ///
    /// # Errors
    ///
    /// The source's failure (the connection closed with 1011), socket
    /// failures, and on hybi-00 [`Error::is_unsupported`] at once, nothing
    /// read or sent: the draft has no fragments.
    pub async fn send_stream<St, E>(
        &mut self,
        kind: oneport_rfc6455::MessageKind,
        source: St,
        fragment: usize,
    ) -> Result<(), Error>
    where
        St: futures_core::Stream<Item = Result<bytes::Bytes, E>>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        send_stream_on(self.conn()?, kind, source, fragment).await
    }

    /// [`send_stream`](WebSocket::send_stream) from an `AsyncRead`, read
    /// `fragment` bytes at a time.
    ///
    /// # Errors
    ///
    /// As [`send_stream`](WebSocket::send_stream).
    pub async fn send_reader<R: AsyncRead + Unpin>(
        &mut self,
        kind: oneport_rfc6455::MessageKind,
        reader: R,
        fragment: usize,
    ) -> Result<(), Error> {
        let size = fragment.max(1);
        self.send_stream(kind, ReaderChunks { reader, size }, size)
            .await
    }

    /// [`recv_stream`](WebSocket::recv_stream) with this message's own
    /// limit (`None`: any size).
    pub async fn recv_stream_with(
        &mut self,
        limit: Option<u64>,
    ) -> Option<Result<MessageStream<'_, S>, Error>> {
        let conn = self.conn.as_deref_mut()?;
        loop {
            match poll_fn(|cx| conn.poll_recv_part(cx, limit)).await? {
                Ok(Part::Data { text, data, fin }) => {
                    return Some(Ok(MessageStream {
                        conn,
                        text,
                        first: Some(data),
                        done: fin,
                        limit,
                    }));
                }
                // A close (noted by the connection): no more messages.
                Ok(Part::Control(Message::Close(_))) => return None,
                Ok(Part::Control(_)) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// Sends a message, written out before this returns.
    ///
    /// # Errors
    ///
    /// On hybi-00, a binary message or a ping is [`Error::is_unsupported`];
    /// a pong is ignored and a close starts the closing handshake. After a
    /// Close, [`Error::is_closed`]; socket failures are errors too.
    ///
    /// The future is one poll function (queue once there is room, then
    /// flush), not nested `async fn`s: a handler's future holds it for as
    /// long as the connection lives, and each nested level kept its own
    /// copy of the message (an echo handler's future was 616 bytes).
    pub fn send(&mut self, msg: Message) -> impl Future<Output = Result<(), Error>> + Send + '_ {
        sending(self.conn.as_deref_mut(), msg, Compress::Auto, After::Flush)
    }

    /// Sends a text message.
    ///
    /// # Errors
    ///
    /// As for [`send`](WebSocket::send).
    pub async fn send_text(&mut self, text: impl Into<String>) -> Result<(), Error> {
        self.send(Message::Text(Utf8Bytes::from(text.into()))).await
    }

    /// Queues a message without writing it, waiting only while the write
    /// queue is full. [`flush`](WebSocket::flush), the next `send` or the
    /// next `recv` that waits for the socket writes it.
    ///
    /// # Errors
    ///
    /// As for [`send`](WebSocket::send).
    ///
    /// One poll function, like [`send`](WebSocket::send)'s future.
    pub fn feed(&mut self, msg: Message) -> impl Future<Output = Result<(), Error>> + Send + '_ {
        sending(self.conn.as_deref_mut(), msg, Compress::Auto, After::Queue)
    }

    /// Sends a message, choosing whether it may be compressed where
    /// permessage-deflate was negotiated: [`Compress::Never`] is the
    /// per-message opt-out (data already compressed, or secrets that must
    /// not share a compression context with text an attacker chooses).
    /// Without the extension, and on hybi-00, it is [`send`](WebSocket::send).
    ///
    /// # Errors
    ///
    /// As for [`send`](WebSocket::send).
    pub fn send_with(
        &mut self,
        msg: Message,
        compress: Compress,
    ) -> impl Future<Output = Result<(), Error>> + Send + '_ {
        sending(self.conn.as_deref_mut(), msg, compress, After::Flush)
    }

    /// The permessage-deflate parameters the handshake agreed on, if any
    /// (see [`WsOptions::rfc6455`](crate::WsOptions::rfc6455) and
    /// [`Config::deflate`](oneport_rfc6455::Config::deflate)).
    pub fn compression(&self) -> Option<DeflateParams> {
        self.conn.as_ref().and_then(|c| c.inner.deflate())
    }

    /// Writes everything queued.
    ///
    /// # Errors
    ///
    /// Socket failures.
    pub async fn flush(&mut self) -> Result<(), Error> {
        self.conn()?.flush().await
    }

    /// Closes the connection with a status code and reason (on hybi-00 the
    /// code and reason are not transmitted), waiting at most the close
    /// timeout for the peer's answer.
    ///
    /// # Errors
    ///
    /// An invalid code or reason (nothing is sent), a timeout or a socket
    /// failure.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from(reason.to_owned()),
        };
        self.conn()?.close(frame).await
    }

    /// Splits into a receiving and a sending half that can be used from
    /// different tasks. They share the connection behind a mutex held only
    /// for the duration of each poll (never across an await). With split
    /// halves every send writes through. The connection is closed, as a
    /// dropped socket is, when both halves are dropped.
    pub fn split(mut self) -> (WsReceiver<S>, WsSender<S>) {
        let shared = Arc::new(Shared {
            conn: Mutex::new(self.conn.take()),
            home: self.home.take(),
            wakers: Arc::default(),
        });
        (
            WsReceiver {
                shared: Arc::clone(&shared),
            },
            WsSender { shared },
        )
    }
}

/// A protocol engine, ready to be wrapped in a [`WebSocket`].
pub(crate) struct Engine<S>(Inner<S>);

impl<S> Engine<S> {
    pub(crate) fn rfc6455(ws: oneport_rfc6455::WebSocket<S>) -> Self {
        Engine(Inner::Rfc6455(ws))
    }

    pub(crate) fn hybi00(ws: oneport_hybi00::WebSocket<S>) -> Self {
        Engine(Inner::Hybi00(Box::new(ws)))
    }
}

impl<S: Transport> futures_core::Stream for WebSocket<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.get_mut().conn.as_deref_mut() {
            Some(conn) => conn.poll_recv(cx),
            None => Poll::Ready(None),
        }
    }
}

impl<S: Transport> futures_sink::Sink<Message> for WebSocket<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self.get_mut().conn() {
            Ok(conn) => conn.inner.poll_ready(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        self.get_mut().conn()?.start_send(&item, Compress::Auto)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self.get_mut().conn() {
            Ok(conn) => conn.inner.poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// Sends a Close 1000 (unless one was sent) and flushes. The peer's
    /// answer is read by `recv` / the `Stream` side.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self.get_mut().conn() {
            Ok(conn) => conn.poll_close_sink(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl<S: Transport> Conn<S> {
    fn poll_close_sink(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.status.is_none() {
            self.start_send(
                &Message::Close(Some(status(CloseCode::NORMAL, ""))),
                Compress::Never,
            )?;
        }
        self.inner.poll_flush(cx)
    }
}

/// The connection shared by two halves; dropping the last half sends it
/// home to be closed.
struct Shared<S: Transport> {
    conn: Mutex<Option<Box<Conn<S>>>>,
    home: Option<Home<S>>,
    /// Kept apart from the connection so that a waker held by the
    /// transport never keeps the connection itself alive.
    wakers: Arc<WakerFanout>,
}

impl<S: Transport> Shared<S> {
    fn lock(&self) -> MutexGuard<'_, Option<Box<Conn<S>>>> {
        // A panic while polling cannot leave the connection half-updated
        // in a way that matters more than the panic itself; keep going.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Polls `f` on the connection with the fan-out waker, registering
    /// `half`'s task in it.
    fn poll<T>(
        &self,
        half: Half,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut Conn<S>, &mut Context<'_>) -> Poll<T>,
        gone: impl FnOnce() -> T,
    ) -> Poll<T> {
        self.wakers.register(half, cx.waker());
        let waker = Waker::from(Arc::clone(&self.wakers));
        let mut cx = Context::from_waker(&waker);
        match self.lock().as_deref_mut() {
            Some(conn) => f(conn, &mut cx),
            None => Poll::Ready(gone()),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&Conn<S>) -> T) -> Option<T> {
        self.lock().as_deref().map(f)
    }
}

impl<S: Transport> Drop for Shared<S> {
    fn drop(&mut self) {
        let conn = self
            .conn
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let (Some(conn), Some(home)) = (conn, self.home.take()) {
            home.send(conn);
        }
    }
}

/// The receiving half of a [`WebSocket`], from
/// [`split`](WebSocket::split): a `Stream` of messages. It keeps answering
/// pings and the peer's Close, and ends with 1001 on server shutdown, as
/// [`WebSocket::recv`] does.
pub struct WsReceiver<S: Transport = ServerStream> {
    shared: Arc<Shared<S>>,
}

/// The sending half of a [`WebSocket`], from
/// [`split`](WebSocket::split): a `Sink` of messages. Every send writes
/// through.
pub struct WsSender<S: Transport = ServerStream> {
    shared: Arc<Shared<S>>,
}

impl<S: Transport> fmt::Debug for WsReceiver<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsReceiver").finish_non_exhaustive()
    }
}

impl<S: Transport> fmt::Debug for WsSender<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsSender").finish_non_exhaustive()
    }
}

/// What both halves can tell about the connection.
macro_rules! half_info {
    () => {
        /// The protocol version in use.
        pub fn version(&self) -> WsVersion {
            self.shared
                .with(|c| c.inner.version())
                .unwrap_or(WsVersion::Rfc6455)
        }

        /// The subprotocol agreed in the handshake, if any.
        pub fn protocol(&self) -> Option<String> {
            self.shared.with(|c| c.protocol.clone()).flatten()
        }

        /// The client's address, when the transport has one.
        pub fn peer_addr(&self) -> Option<SocketAddr> {
            self.shared.with(|c| c.peer).flatten()
        }

        /// As [`WebSocket::is_closed`].
        pub fn is_closed(&self) -> bool {
            self.shared.with(|c| c.status.is_some()).unwrap_or(true)
        }

        /// As [`WebSocket::close_status`].
        pub fn close_status(&self) -> Option<CloseFrame> {
            self.shared.with(|c| c.status.as_deref().cloned()).flatten()
        }
    };
}

impl<S: Transport> WsReceiver<S> {
    half_info!();

    /// Whether both halves come from the same [`WebSocket`].
    pub fn is_pair_of(&self, sender: &WsSender<S>) -> bool {
        Arc::ptr_eq(&self.shared, &sender.shared)
    }

    /// The next message, as [`WebSocket::recv`]. Cancel-safe.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        poll_fn(|cx| {
            self.shared
                .poll(Half::Receiver, cx, |c, cx| c.poll_recv(cx), || None)
        })
        .await
    }
}

impl<S: Transport> WsSender<S> {
    half_info!();

    /// Sends a message and writes it out, waiting while the write queue is
    /// full.
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send`].
    ///
    /// One poll function, like [`WebSocket::send`]'s future (the future a
    /// sending task holds while it waits keeps one copy of the message).
    pub fn send(&mut self, msg: Message) -> impl Future<Output = Result<(), Error>> + Send + '_ {
        self.sending(msg, Compress::Auto, After::Flush)
    }

    /// Sends a message, choosing whether it may be compressed, as
    /// [`WebSocket::send_with`].
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send`].
    pub fn send_with(
        &mut self,
        msg: Message,
        compress: Compress,
    ) -> impl Future<Output = Result<(), Error>> + Send + '_ {
        self.sending(msg, compress, After::Flush)
    }

    /// Sends a text message.
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send`].
    pub async fn send_text(&mut self, text: impl Into<String>) -> Result<(), Error> {
        self.send(Message::Text(Utf8Bytes::from(text.into()))).await
    }

    /// Sends a message encoded once for many sockets (a broadcast): the
    /// same frame bytes go to every socket of a protocol, with no copy.
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send`].
    pub async fn send_prepared(&mut self, prepared: &Prepared) -> Result<(), Error> {
        poll_fn(|cx| self.poll_ready_half(cx)).await?;
        match self.shared.lock().as_deref_mut() {
            Some(conn) => conn.inner.start_send_prepared(prepared)?,
            None => return Err(gone()),
        }
        self.flush().await
    }

    /// Queues a message without writing it, as [`WebSocket::feed`].
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send`].
    pub fn feed(&mut self, msg: Message) -> impl Future<Output = Result<(), Error>> + Send + '_ {
        self.sending(msg, Compress::Auto, After::Queue)
    }

    /// The future of a send on this half: one poll function, as
    /// [`sending`] is for the whole socket.
    fn sending(
        &mut self,
        msg: Message,
        compress: Compress,
        after: After,
    ) -> impl Future<Output = Result<(), Error>> + Send + '_ {
        let mut msg = Some(msg);
        poll_fn(move |cx| {
            if let Some(m) = &msg {
                ready!(self.poll_ready_half(cx))?;
                self.start_send_half(m, compress)?;
                msg = None;
            }
            if after == After::Queue {
                return Poll::Ready(Ok(()));
            }
            self.poll_flush_half(cx)
        })
    }

    /// Writes everything queued.
    ///
    /// # Errors
    ///
    /// Socket failures.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_flush_half(cx)).await
    }

    /// Sends a Close with `code` and `reason` (unless one was sent) and
    /// writes it out within the close timeout. The receiving half then
    /// gets the peer's answer and ends; if it was dropped, the connection
    /// is closed when this half is dropped too.
    ///
    /// # Errors
    ///
    /// An invalid code or reason (nothing is sent), a timeout or a socket
    /// failure.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from(reason.to_owned()),
        };
        let limit = self
            .shared
            .with(|c| c.inner.close_timeout())
            .ok_or_else(gone)?;
        poll_fn(|cx| self.poll_ready_half(cx)).await?;
        if !self.is_closed() {
            self.start_send_half(&Message::Close(Some(frame)), Compress::Never)?;
        }
        tokio::time::timeout(limit, self.flush())
            .await
            .unwrap_or_else(|_| Err(Error::new(Kind::Timeout)))
    }

    /// Sends one message from a stream as fragments, as
    /// [`WebSocket::send_stream`]; the receiving half goes on answering
    /// pings meanwhile.
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send_stream`].
    pub async fn send_stream<St, E>(
        &mut self,
        kind: oneport_rfc6455::MessageKind,
        source: St,
        fragment: usize,
    ) -> Result<(), Error>
    where
        St: futures_core::Stream<Item = Result<bytes::Bytes, E>>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        send_stream_on(self, kind, source, fragment).await
    }

    fn poll_ready_half(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.shared.poll(
            Half::Sender,
            cx,
            |c, cx| c.inner.poll_ready(cx),
            || Err(gone()),
        )
    }

    fn start_send_half(&self, msg: &Message, compress: Compress) -> Result<(), Error> {
        match self.shared.lock().as_deref_mut() {
            Some(conn) => conn.start_send(msg, compress),
            None => Err(gone()),
        }
    }

    fn poll_flush_half(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.shared.poll(
            Half::Sender,
            cx,
            |c, cx| c.inner.poll_flush(cx),
            || Err(gone()),
        )
    }
}

impl<S: Transport> futures_core::Stream for WsReceiver<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.shared
            .poll(Half::Receiver, cx, |c, cx| c.poll_recv(cx), || None)
    }
}

impl<S: Transport> futures_sink::Sink<Message> for WsSender<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll_ready_half(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        self.start_send_half(&item, Compress::Auto)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll_flush_half(cx)
    }

    /// Sends a Close 1000 (unless one was sent) and flushes.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.shared.poll(
            Half::Sender,
            cx,
            |c, cx| c.poll_close_sink(cx),
            || Err(gone()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which predicates hold, in the order io, websocket, unsupported,
    /// closed, timeout.
    fn predicates(e: &Error) -> [bool; 5] {
        [
            e.is_io(),
            e.is_websocket(),
            e.is_unsupported(),
            e.is_closed(),
            e.is_timeout(),
        ]
    }

    const IO: [bool; 5] = [true, false, false, false, false];
    const WEBSOCKET: [bool; 5] = [false, true, false, false, false];
    const UNSUPPORTED: [bool; 5] = [false, false, true, false, false];
    const CLOSED: [bool; 5] = [false, false, false, true, false];
    const TIMEOUT: [bool; 5] = [false, false, false, false, true];

    #[test]
    fn each_predicate_holds_for_its_rfc6455_errors_only() {
        use oneport_rfc6455::Error as E;
        let broken = || std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let cases = [
            (E::Io(broken()), IO),
            (E::Utf8, WEBSOCKET),
            (
                E::Protocol(oneport_rfc6455::ProtocolError::UnmaskedFrame),
                WEBSOCKET,
            ),
            (E::AlreadyClosed, CLOSED),
            (E::ConnectionClosed, CLOSED),
            (E::Timeout, TIMEOUT),
            (E::WriteTimeout, TIMEOUT),
        ];
        for (e, want) in cases {
            let shown = e.to_string();
            assert_eq!(predicates(&rfc6455_err(e)), want, "{shown}");
        }
    }

    #[test]
    fn each_predicate_holds_for_its_hybi00_errors_only() {
        use oneport_hybi00::Error as E;
        let broken = || std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let cases = [
            (E::Io(broken()), IO),
            (E::InvalidUtf8, WEBSOCKET),
            (E::FrameTooLarge { size: 2, max: 1 }, WEBSOCKET),
            (E::Unsupported("binary messages"), UNSUPPORTED),
            (E::Closed, CLOSED),
            (E::Timeout, TIMEOUT),
            (E::WriteTimeout, TIMEOUT),
            (E::FrameTimeout, TIMEOUT),
        ];
        for (e, want) in cases {
            let shown = e.to_string();
            assert_eq!(predicates(&hybi00_err(e)), want, "{shown}");
        }
    }

    #[test]
    fn a_socket_taken_apart_reports_closed() {
        assert_eq!(predicates(&gone()), CLOSED);
    }
}
