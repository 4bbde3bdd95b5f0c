//! The async WebSocket over any tokio `AsyncRead + AsyncWrite`.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::close::{CloseCode, CloseFrame};
use crate::config::{Config, Role};
use crate::conn::{Compress, Connection, State};
use crate::deflate::DeflateParams;
use crate::error::Error;
use crate::message::Message;
use crate::prepared::PreparedMessage;

mod fanout;
mod spare;
mod split;
mod write;

pub use self::fanout::{Half, WakerFanout};
pub use self::split::{WsReceiver, WsSender};
use self::write::WriteQueue;

/// Size of the on-stack buffer each read goes through, so that an idle
/// connection holds no heap read buffer. Large enough that one read takes
/// a 16 KiB message whole, and usually comes back short of it: then the
/// runtime knows the socket is drained and skips the read that would
/// only say "nothing more" (`bench/compare`: three reads per 16 KiB echo
/// became one).
const STACK_READ: usize = 32 * 1024;
/// Largest read made straight into the heap buffer when a big frame is
/// known to be arriving.
const DIRECT_READ: usize = 64 * 1024;
/// How many times larger the read buffer becomes at each step while a
/// large frame arrives.
const GROWTH: usize = 4;
/// A read at least this large makes the next one (from an empty buffer)
/// go straight into a heap buffer sized after it, so that a stream of
/// large messages is not copied out of the stack buffer every time.
const DIRECT_AFTER: usize = 8 * 1024;
/// Room beyond the last read's size in such a buffer, so that a read of
/// the same size comes back short and the runtime knows the socket is
/// drained.
const DIRECT_SLACK: usize = 4 * 1024;

/// The transport under the protocol, whose state lives in [`Connection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// Open: frames may still be read and written.
    Open,
    /// Shut down, failed or given up on: nothing more is read or written,
    /// and `recv` returns `None`.
    Done,
    /// Dropped because the peer stopped reading (the write timeout): like
    /// `Done`, but every send fails with [`Error::WriteTimeout`].
    Stalled,
}

/// What `poll_recv` does after handling a timer.
enum Step<T> {
    /// Loop again (something was queued or the phase changed).
    Again,
    /// Return this.
    Return(Poll<Option<Result<T, Error>>>),
}

/// How the receive loop takes what the engine gives: whole messages
/// ([`Whole`]) or the parts of one ([`Parted`]).
pub(crate) trait Take {
    /// What the user is given.
    type Out;
    /// One step of the engine: a control message, a thing to give, or
    /// nothing yet.
    fn receive(
        &mut self,
        conn: &mut Connection,
        rd: &mut BytesMut,
    ) -> Result<Option<Taken<Self::Out>>, Error>;
    /// A ping or pong, already answered: is the user shown it?
    fn control(msg: Message) -> Option<Self::Out>;
    /// The connection's outcome, once it is over.
    fn outcome(outcome: Result<Message, Error>) -> Option<Result<Self::Out, Error>>;
}

/// What one engine step gave.
pub(crate) enum Taken<T> {
    Control(Message),
    Out(T),
}

/// Whole messages, pings and pongs included: [`WebSocket::recv`].
pub(crate) struct Whole;

impl Take for Whole {
    type Out = Message;

    fn receive(
        &mut self,
        conn: &mut Connection,
        rd: &mut BytesMut,
    ) -> Result<Option<Taken<Message>>, Error> {
        Ok(conn.receive(rd)?.map(|m| {
            if m.is_data() {
                Taken::Out(m)
            } else {
                Taken::Control(m)
            }
        }))
    }

    fn control(msg: Message) -> Option<Message> {
        Some(msg)
    }

    fn outcome(outcome: Result<Message, Error>) -> Option<Result<Message, Error>> {
        Some(outcome)
    }
}

/// The parts of data messages, under a limit: [`WebSocket::recv_stream`].
pub(crate) struct Parted {
    pub(crate) limit: Option<u64>,
}

impl Take for Parted {
    type Out = crate::Part;

    fn receive(
        &mut self,
        conn: &mut Connection,
        rd: &mut BytesMut,
    ) -> Result<Option<Taken<crate::Part>>, Error> {
        Ok(conn.receive_part(rd, self.limit)?.map(|p| match p {
            crate::Part::Control(m) => Taken::Control(m),
            data => Taken::Out(data),
        }))
    }

    fn control(_msg: Message) -> Option<crate::Part> {
        None
    }

    fn outcome(outcome: Result<Message, Error>) -> Option<Result<crate::Part, Error>> {
        // The Close (or the error) that ended it, once, so that a caller
        // can tell how it closed.
        Some(outcome.map(crate::Part::Control))
    }
}

/// Who wakes a socket when the open connection's keepalive ping or idle
/// timeout is due ([`WebSocket::set_timers`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Timers {
    /// The socket arms a tokio timer of its own on its first wait, and
    /// keeps it (112 bytes) while the connection lives. The default.
    #[default]
    Own,
    /// The socket's owner keeps the time: the open connection arms no
    /// timer, and its owner calls [`WebSocket::handle_timeout`] and polls
    /// it again once [`WebSocket::next_timeout`] has passed. For a server
    /// that wakes many sockets from one coarse clock. The closing
    /// handshake's deadline and the write timeout are still kept by
    /// timers of the socket's own, armed only while they run.
    Caller,
}

/// Who keeps the open connection's timers, and, when its owner does,
/// whether it said one may be due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keeper {
    Own,
    Caller(Due),
}

/// Whether the owner said a timer may be due since the last check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    No,
    Maybe,
}

/// What the read buffer's block is (see `Core::block`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    /// Made for a stream of large messages, of bounded size (at most
    /// `DIRECT_READ + DIRECT_SLACK` asked for): worth keeping.
    Reusable,
    /// Anything else (small reads copied from the stack, or a buffer grown
    /// for one large frame, which may be as large as the frame).
    Other,
}

/// What a timer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alarm {
    Ping,
    Idle,
    Deadline,
}

/// The state shared by [`WebSocket`] and its split halves.
pub(crate) struct Core<S> {
    io: S,
    conn: Connection,
    /// Received bytes not yet parsed; `BytesMut::new()` (no allocation)
    /// whenever empty.
    rd: BytesMut,
    wr: WriteQueue,
    /// Made by `split`: the halves may wait on the transport's writability
    /// from two tasks, which it cannot remember both of. A whole socket is
    /// polled by one task at a time and passes that task's waker on.
    wakers: Option<Arc<WakerFanout>>,
    /// Armed lazily, for the earliest of the keepalive, idle and closing
    /// deadlines (for the closing one only, when the owner keeps the
    /// others).
    timer: Option<Pin<Box<Sleep>>>,
    keeper: Keeper,
    /// Armed while queued frames wait for the peer to take them.
    write_timer: Option<Pin<Box<Sleep>>>,
    last_rx: Instant,
    last_ping: Instant,
    /// When the closing handshake (after our Close) or the final flush and
    /// shutdown (after the outcome is decided) must be over.
    deadline: Option<Instant>,
    transport: Transport,
    /// The size of the last read, which picks the next one's buffer.
    last_read: u32,
    /// Whether the read buffer's block is one of bounded size, made for a
    /// stream of large messages: once empty, its handle is kept as the
    /// thread's spare (see `spare`).
    block: Block,
    /// Returned by `poll_recv` once the connection is closed or failed and
    /// the transport is shut down.
    /// Boxed: it exists only once the connection is over, and an idle
    /// connection pays one pointer for it.
    outcome: Option<Box<Result<Message, Error>>>,
}

impl<S> fmt::Debug for Core<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("role", &self.conn.role())
            .field("state", &self.conn.state())
            .field("transport", &self.transport)
            .field("read_buffered", &self.rd.len())
            .field("write_buffered", &self.wr.len())
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Core<S> {
    fn new(
        io: S,
        role: Role,
        config: Arc<Config>,
        deflate: Option<DeflateParams>,
        leftover: BytesMut,
    ) -> Self {
        let now = Instant::now();
        Core {
            io,
            conn: Connection::with_deflate(role, config, deflate),
            rd: if leftover.is_empty() {
                BytesMut::new()
            } else {
                leftover
            },
            wr: WriteQueue::default(),
            wakers: None,
            timer: None,
            keeper: Keeper::Own,
            write_timer: None,
            last_rx: now,
            last_ping: now,
            deadline: None,
            transport: Transport::Open,
            last_read: 0,
            block: Block::Other,
            outcome: None,
        }
    }

    fn config(&self) -> &Config {
        self.conn.config()
    }

    /// Drops the read buffer's allocation once everything in it is parsed.
    /// Its capacity is no test: a buffer whose last bytes were split off
    /// has none left but still shares the allocation with the message.
    fn release_read_buffer(&mut self) {
        if self.rd.is_empty() {
            if self.block == Block::Reusable {
                self.keep_block();
            } else {
                self.rd = BytesMut::new();
            }
        }
    }

    /// Gives an empty reusable buffer's handle to this thread's spare.
    #[cold]
    fn keep_block(&mut self) {
        let rd = std::mem::take(&mut self.rd);
        if rd.capacity() != 0 {
            spare::keep_read(rd);
        }
        self.block = Block::Other;
    }

    /// Queues a frame we decided to send ourselves (pong, close); failures
    /// (already closed) are not the user's business.
    fn queue_internal(&mut self, msg: &Message) {
        let _ = self.wr.push(&mut self.conn, msg, Compress::Auto);
    }

    /// The outcome is decided: what `recv` reports once the Close the
    /// connection owes (if any) is written and the transport shut down,
    /// within the close timeout.
    fn finish(&mut self, outcome: Result<Message, Error>) {
        self.rd = BytesMut::new();
        self.outcome = Some(Box::new(outcome));
        self.deadline = Some(Instant::now() + self.config().close_timeout);
    }

    /// Nothing more is read or written.
    fn end(&mut self) {
        self.transport = Transport::Done;
        self.timer = None;
        self.write_timer = None;
        self.rd = BytesMut::new();
    }

    /// Writes what is queued. When the peer takes none of it for the write
    /// timeout, it has stopped reading: the connection is dropped, its
    /// buffers freed, and every half waiting on it woken to learn so.
    fn poll_write(&mut self, cx: &mut Context<'_>, half: Half) -> Poll<Result<(), Error>> {
        if self.transport == Transport::Stalled {
            return Poll::Ready(Err(Error::WriteTimeout));
        }
        let before = self.wr.len();
        if let Poll::Ready(res) = self
            .wr
            .poll_flush(&mut self.io, cx, self.wakers.as_ref(), half)
        {
            self.write_timer = None;
            return Poll::Ready(res.map_err(Error::from));
        }
        let deadline = Instant::now() + self.config().write_timeout;
        let progressed = self.wr.len() < before;
        let timer = self
            .write_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if progressed {
            timer.as_mut().reset(deadline);
        }
        // Through the fan-out, so that whichever half is waiting hears it.
        ready!(fanout::poll_with(self.wakers.as_ref(), half, cx, |cx| {
            let fired = timer.as_mut().poll(cx);
            if fired.is_ready() {
                cx.waker().wake_by_ref();
            }
            fired
        }));
        self.end();
        self.transport = Transport::Stalled;
        self.wr = WriteQueue::default();
        self.outcome = None;
        Poll::Ready(Err(Error::WriteTimeout))
    }

    /// Whether the protocol is over (closed or failed) and only the final
    /// flush and shutdown remain.
    fn is_finishing(&self) -> bool {
        self.transport == Transport::Open
            && matches!(
                self.conn.state(),
                State::CloseReceived | State::Closed | State::Failed
            )
    }

    /// Handles a received control frame; returns it if the user should
    /// see it.
    fn on_control(&mut self, msg: Message) -> Option<Message> {
        match msg {
            Message::Ping(payload) => {
                if !self.conn.is_close_sent() {
                    self.queue_internal(&Message::Pong(payload.clone()));
                }
                Some(Message::Ping(payload))
            }
            Message::Close(frame) => {
                // The core owes the echo; it goes out before the shutdown.
                self.finish(Ok(Message::Close(frame)));
                None
            }
            other => Some(other),
        }
    }

    fn next_deadline(&self) -> Option<(Instant, Alarm)> {
        if self.transport != Transport::Open {
            return None;
        }
        match self.conn.state() {
            State::Open => {
                let config = self.config();
                let idle = config.idle_timeout.map(|d| (self.last_rx + d, Alarm::Idle));
                let ping = config
                    .ping_interval
                    .map(|d| (self.last_rx.max(self.last_ping) + d, Alarm::Ping));
                match (idle, ping) {
                    (Some(i), Some(p)) => Some(if p.0 < i.0 { p } else { i }),
                    (i, p) => i.or(p),
                }
            }
            _ => self.deadline.map(|d| (d, Alarm::Deadline)),
        }
    }

    /// The open connection's next timer deadline when its owner keeps it
    /// ([`Timers::Caller`]); `None` otherwise, or once closing.
    fn owner_deadline(&self) -> Option<Instant> {
        if self.owner_keeps_timers() {
            self.next_deadline().map(|(at, _)| at)
        } else {
            None
        }
    }

    /// Whether the owner keeps the timers now: it asked to, and the
    /// connection is open (a closing one times itself).
    fn owner_keeps_timers(&self) -> bool {
        matches!(self.keeper, Keeper::Caller(_))
            && self.transport == Transport::Open
            && self.conn.state() == State::Open
    }

    /// Ready with the alarm that is due; otherwise arms the timer (unless
    /// the owner keeps it: then the clock is read only when the owner said
    /// a deadline may have passed).
    fn poll_alarm(&mut self, cx: &mut Context<'_>) -> Poll<Alarm> {
        if self.owner_keeps_timers() {
            if self.keeper == Keeper::Caller(Due::No) {
                return Poll::Pending;
            }
            // Told so: every alarm that is due runs (a ping, then the idle
            // timeout that is past too), until none is.
            if let Some((at, alarm)) = self.next_deadline() {
                if at <= Instant::now() {
                    return Poll::Ready(alarm);
                }
            }
            self.keeper = Keeper::Caller(Due::No);
            return Poll::Pending;
        }
        loop {
            let Some((at, alarm)) = self.next_deadline() else {
                return Poll::Pending;
            };
            // A timer armed for this deadline or an earlier one needs only
            // polling, not the clock (read on every wait otherwise): if it
            // is past due, it fires at the runtime's next timer tick.
            if let Some(t) = self.timer.as_mut() {
                if t.deadline() <= at && !t.is_elapsed() {
                    ready!(t.as_mut().poll(cx));
                    continue;
                }
            }
            if at <= Instant::now() {
                return Poll::Ready(alarm);
            }
            match &mut self.timer {
                // A timer set for a later deadline is moved earlier; one
                // that was early has fired and is moved to `at`.
                Some(t) => t.as_mut().reset(at),
                None => self.timer = Some(Box::pin(tokio::time::sleep_until(at))),
            }
            let Some(timer) = self.timer.as_mut() else {
                return Poll::Pending;
            };
            ready!(timer.as_mut().poll(cx));
        }
    }

    /// Reads more bytes into `rd`: through a stack buffer normally, or
    /// straight into the heap buffer while a large frame is arriving, or
    /// when the last read was large (messages that are large one after the
    /// other are then read where they stay, not copied from the stack).
    fn poll_read_more(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let remaining = self.conn.frame_remaining();
        let last = self.last_read as usize;
        let room = if remaining > STACK_READ {
            // Room past the frame too, so the read comes back short when
            // the frame was all there (see `STACK_READ`). The buffer grows
            // fourfold, not twofold, while a large frame arrives, so it is
            // copied once or twice rather than at every doubling; it never
            // reserves more than three times what has arrived (plus one
            // read), so a peer that announces a large frame and sends
            // nothing gets no large buffer.
            let step = DIRECT_READ.max(self.rd.len().saturating_mul(GROWTH - 1));
            // This block may grow to the frame's size: not one to keep.
            self.block = Block::Other;
            Some(remaining.min(step).saturating_add(STACK_READ))
        } else if self.rd.is_empty() && last >= DIRECT_AFTER {
            // A bounded block, reused while the messages read into it
            // are gone by the next read (an echo's are).
            if self.rd.capacity() == 0 {
                if let Some(spare) = spare::take_read() {
                    self.rd = spare;
                }
            }
            self.block = Block::Reusable;
            Some(last.min(DIRECT_READ).saturating_add(DIRECT_SLACK))
        } else {
            None
        };
        let read = if let Some(room) = room {
            // Into the heap buffer's spare capacity, which `read_buf`
            // fills without zeroing it first. The future holds nothing but
            // the two borrows, so making one per poll is free and
            // dropping it when pending loses nothing.
            self.rd.reserve(room);
            let read = std::pin::pin!(tokio::io::AsyncReadExt::read_buf(
                &mut self.io,
                &mut self.rd
            ));
            ready!(read.poll(cx))
        } else {
            ready!(self.poll_read_stack(cx))
        };
        if let Ok(n) = &read {
            self.last_read = u32::try_from(*n).unwrap_or(u32::MAX);
        }
        Poll::Ready(read)
    }

    /// One read through the stack buffer, appended to `rd`.
    fn poll_read_stack(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        // Uninitialised: zeroing 32 KiB before every read attempt (most of
        // which find one small frame, or nothing) costs more than the read.
        let mut stack = [const { std::mem::MaybeUninit::<u8>::uninit() }; STACK_READ];
        let mut buf = ReadBuf::uninit(&mut stack);
        ready!(Pin::new(&mut self.io).poll_read(cx, &mut buf))?;
        let filled = buf.filled();
        if self.rd.capacity() == 0 {
            // A fresh buffer made from the bytes at once: cheaper than
            // growing an empty one (the common case, the buffer having
            // gone with the last message).
            self.rd = BytesMut::from(filled);
        } else {
            self.rd.extend_from_slice(filled);
        }
        Poll::Ready(Ok(filled.len()))
    }

    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        self.poll_take(cx, &mut Whole)
    }

    /// The next part of a data message (see [`WebSocket::recv_stream`]).
    pub(crate) fn poll_recv_part(
        &mut self,
        cx: &mut Context<'_>,
        limit: Option<u64>,
    ) -> Poll<Option<Result<crate::Part, Error>>> {
        self.poll_take(cx, &mut Parted { limit })
    }

    fn poll_take<M: Take>(
        &mut self,
        cx: &mut Context<'_>,
        mode: &mut M,
    ) -> Poll<Option<Result<M::Out, Error>>> {
        loop {
            if self.transport != Transport::Open {
                return Poll::Ready(None);
            }
            if self.is_finishing() {
                // The Close the core owes (its echo of the peer's, or the
                // one that fails the connection) goes out last.
                self.wr.push_owed(&mut self.conn);
                let done = self
                    .wr
                    .poll_shutdown(&mut self.io, cx, self.wakers.as_ref(), Half::Receiver)
                    .is_ready();
                if done || self.poll_alarm(cx).is_ready() {
                    self.end();
                    return Poll::Ready(self.outcome.take().and_then(|o| M::outcome(*o)));
                }
                return Poll::Pending;
            }

            match mode.receive(&mut self.conn, &mut self.rd) {
                Ok(Some(Taken::Out(out))) => {
                    self.release_read_buffer();
                    return Poll::Ready(Some(Ok(out)));
                }
                Ok(Some(Taken::Control(msg))) => {
                    self.release_read_buffer();
                    if let Some(out) = self.on_control(msg).and_then(M::control) {
                        return Poll::Ready(Some(Ok(out)));
                    }
                    continue;
                }
                Ok(None) => self.release_read_buffer(),
                Err(e) => {
                    // The core owes the Close with the error's code.
                    self.finish(Err(e));
                    continue;
                }
            }

            // Everything produced while handling the last read leaves now,
            // in one write, before the next read.
            match self.poll_write(cx, Half::Receiver) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => {
                    if self.transport == Transport::Open {
                        self.end();
                    }
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Pending if self.wr.len() > self.config().max_write_buffer_size => {
                    // The peer does not read: stop reading its pings too.
                    match self.on_pending(cx) {
                        Step::Again => continue,
                        Step::Return(out) => return out,
                    }
                }
                Poll::Pending => {}
            }

            match self.poll_read_more(cx) {
                Poll::Ready(Ok(0)) => {
                    // A Close would have ended the protocol already: this
                    // end of stream is abnormal (status 1006).
                    let eof = self.conn.receive_eof();
                    self.end();
                    return Poll::Ready(M::outcome(eof.map(|()| Message::Close(None))));
                }
                Poll::Ready(Ok(_)) => self.last_rx = Instant::now(),
                Poll::Ready(Err(e)) => {
                    self.end();
                    return Poll::Ready(Some(Err(e.into())));
                }
                Poll::Pending => match self.on_pending(cx) {
                    Step::Again => {}
                    Step::Return(out) => return out,
                },
            }
        }
    }

    /// Nothing to read (or to write): handles a due timer, arming it
    /// otherwise.
    fn on_pending<T>(&mut self, cx: &mut Context<'_>) -> Step<T> {
        let Poll::Ready(alarm) = self.poll_alarm(cx) else {
            return Step::Return(Poll::Pending);
        };
        match alarm {
            Alarm::Ping => {
                self.last_ping = Instant::now();
                self.queue_internal(&Message::Ping(bytes::Bytes::new()));
                Step::Again
            }
            Alarm::Idle => {
                self.conn
                    .fail(CloseFrame::new(CloseCode::AWAY, "idle timeout"));
                self.finish(Err(Error::Timeout));
                Step::Again
            }
            Alarm::Deadline => {
                // The peer did not answer our Close in time.
                let _ =
                    self.wr
                        .poll_shutdown(&mut self.io, cx, self.wakers.as_ref(), Half::Receiver);
                self.end();
                Step::Return(Poll::Ready(Some(Err(Error::Timeout))))
            }
        }
    }

    pub(crate) fn poll_ready(
        &mut self,
        cx: &mut Context<'_>,
        half: Half,
    ) -> Poll<Result<(), Error>> {
        if self.transport == Transport::Stalled {
            return Poll::Ready(Err(Error::WriteTimeout));
        }
        if self.wr.len() >= self.config().max_write_buffer_size {
            ready!(self.poll_write(cx, half))?;
        }
        Poll::Ready(Ok(()))
    }

    pub(crate) fn start_send(&mut self, msg: &Message, compress: Compress) -> Result<(), Error> {
        match self.transport {
            Transport::Open => {}
            Transport::Done => return Err(Error::AlreadyClosed),
            Transport::Stalled => return Err(Error::WriteTimeout),
        }
        self.wr.push(&mut self.conn, msg, compress)?;
        if msg.is_close() && self.conn.state() == State::CloseSent {
            self.deadline = Some(Instant::now() + self.config().close_timeout);
        }
        Ok(())
    }

    pub(crate) fn poll_flush(
        &mut self,
        cx: &mut Context<'_>,
        half: Half,
    ) -> Poll<Result<(), Error>> {
        self.poll_write(cx, half)
    }

    pub(crate) fn start_send_fragment(
        &mut self,
        opcode: crate::OpCode,
        fin: crate::Fin,
        payload: Bytes,
    ) -> Result<(), Error> {
        match self.transport {
            Transport::Open => {}
            Transport::Done => return Err(Error::AlreadyClosed),
            Transport::Stalled => return Err(Error::WriteTimeout),
        }
        self.wr.push_fragment(&mut self.conn, opcode, fin, payload)
    }

    /// Fails the connection with 1011 for a message source that broke,
    /// queueing the Close (the cut message is never completed).
    pub(crate) fn fail_source(&mut self) {
        self.conn.fail(CloseFrame::new(
            CloseCode::INTERNAL,
            "the message source failed",
        ));
        self.wr.push_owed(&mut self.conn);
    }

    pub(crate) fn start_send_prepared(&mut self, prepared: &PreparedMessage) -> Result<(), Error> {
        match self.transport {
            Transport::Open => {}
            Transport::Done => return Err(Error::AlreadyClosed),
            Transport::Stalled => return Err(Error::WriteTimeout),
        }
        self.wr.push_prepared(&mut self.conn, prepared)
    }

    /// Sends our Close (if not sent) for `Sink::poll_close` and flushes.
    pub(crate) fn poll_close_sink(
        &mut self,
        cx: &mut Context<'_>,
        half: Half,
    ) -> Poll<Result<(), Error>> {
        if self.conn.state() == State::Open {
            self.start_send(
                &Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, ""))),
                Compress::Never,
            )?;
        }
        self.poll_flush(cx, half)
    }

    /// When the closing handshake must be over.
    fn close_deadline(&self) -> Instant {
        self.deadline
            .unwrap_or_else(|| Instant::now() + self.config().close_timeout)
    }

    /// Queues our Close unless the handshake already started.
    fn begin_close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        if self.conn.state() == State::Open {
            self.start_send(&Message::Close(frame), Compress::Never)?;
        }
        Ok(())
    }
}

/// An RFC 6455 WebSocket over a byte stream `S` (after the opening
/// handshake).
///
/// # Receiving
///
/// [`recv`](WebSocket::recv) (or the [`Stream`](futures_core::Stream)
/// impl) returns text and binary messages, and pings and pongs too:
/// a ping has already been answered (the pong is queued and flushed before
/// the next socket read), so they can simply be ignored. A Close from the
/// peer is answered by echoing its status code, returned once as
/// [`Message::Close`], and then `recv` returns `None`. When the peer breaks
/// the protocol, a Close with [`Error::close_code`] (1002, 1007 or 1009) is
/// sent, the error is returned, and then `None`. End of stream without a
/// Close is [`Error::ConnectionClosed`].
///
/// Timers ([`Config::ping_interval`], [`Config::idle_timeout`],
/// [`Config::close_timeout`]) run while `recv` is being awaited. When the
/// idle timeout expires, a Close 1001 is sent and `recv` returns
/// [`Error::Timeout`].
///
/// # Sending
///
/// [`send`](WebSocket::send) writes a message as one frame and returns
/// once it is written to the transport: a frame sent is never left waiting
/// for a later call. [`feed`](WebSocket::feed) (and the
/// [`Sink`](futures_sink::Sink) impl's `start_send`) only queues it; queued
/// frames go out together, in one (vectored) write, at the next `send` or
/// [`flush`](WebSocket::flush), or before `recv` waits for the socket. So
/// an echo loop that answers with `feed` answers a burst of pipelined
/// messages with a single write, and pongs join them.
///
/// The write buffer is bounded by [`Config::max_write_buffer_size`]:
/// beyond it, sending waits for the socket, and receiving stops reading
/// until queued pongs drain.
///
/// # Memory
///
/// An idle connection holds no read or write buffer: reads go through a
/// stack buffer and only the bytes that arrive are copied to the heap; both
/// buffers are released whenever they empty. Each thread keeps one
/// drained write buffer (at most 16 KiB) and one read block made for a
/// stream of large messages (at most 68 KiB) for the next socket that
/// needs one, so that an echo of large messages allocates nothing per
/// message.
///
/// # Example
///
/// An echo loop:
///
/// ```no_run
/// use oneport_rfc6455::{Error, WebSocket};
/// use tokio::net::TcpStream;
///
/// async fn echo(mut ws: WebSocket<TcpStream>) -> Result<(), Error> {
///     while let Some(msg) = ws.recv().await {
///         let msg = msg?;
///         if msg.is_data() {
///             ws.send(msg).await?;
///         }
///     }
///     Ok(())
/// }
/// # let _ = echo;
/// ```
pub struct WebSocket<S> {
    core: Core<S>,
}

impl<S> fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core.fmt(f)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Wraps a stream on which the opening handshake is done. `leftover`
    /// holds bytes already read past the HTTP head (the peer's first
    /// frames), or is empty.
    /// `config` is a [`Config`], or an `Arc<Config>` shared by many sockets.
    pub fn from_raw_socket(
        io: S,
        role: Role,
        config: impl Into<Arc<Config>>,
        leftover: BytesMut,
    ) -> Self {
        Self::from_raw_socket_with(io, role, config, None, leftover)
    }

    /// [`from_raw_socket`](Self::from_raw_socket) for a handshake that
    /// agreed on permessage-deflate: `deflate` is what
    /// [`handshake::negotiate`](crate::handshake::negotiate) (a server) or
    /// [`handshake::verify_response_with`](crate::handshake::verify_response_with)
    /// (a client) returned.
    pub fn from_raw_socket_with(
        io: S,
        role: Role,
        config: impl Into<Arc<Config>>,
        deflate: Option<DeflateParams>,
        leftover: BytesMut,
    ) -> Self {
        WebSocket {
            core: Core::new(io, role, config.into(), deflate, leftover),
        }
    }

    /// The next message; `None` once the connection is closed. See the
    /// type's docs for what is returned when.
    ///
    /// Cancel-safe: every byte read is kept in the socket, not in the
    /// future, so `recv` can wait in a `select!` beside other events (as
    /// Racket's `ws-recv-evt` does) and a dropped call loses nothing.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        poll_fn(|cx| self.core.poll_recv(cx)).await
    }

    /// The next data message as a stream of its bytes, as they arrive
    /// (Racket's `ws-recv-stream`): memory holds what one read brought,
    /// whatever the message's size, up to
    /// [`Config::max_streamed_message_size`] (1009 past it). Pings are
    /// answered meanwhile; `None` once the connection is closed. Cancel-safe,
    /// as [`recv`](WebSocket::recv).
    ///
    /// A [`MessageStream`] dropped before its end leaves the rest of its
    /// message to be skipped by the next receive.
    pub async fn recv_stream(&mut self) -> Option<Result<MessageStream<'_, S>, Error>> {
        let limit = self.core.config().max_streamed_message_size;
        self.recv_stream_with(limit).await
    }

    /// Sends one message whose bytes come from `source`, a stream of
    /// chunks, as fragments of at most `fragment` bytes (Racket's `ws-send!`
    /// with `#:final-fragment?`): memory holds one fragment, whatever the
    /// message's size. Each fragment waits for room in the write buffer and
    /// is written under the write timeout; pongs owed and a close may go
    /// out between fragments (from a split receiving half). Fragments are
    /// not compressed.
    ///
    /// If `source` fails, or gives invalid UTF-8 for a text message, the
    /// connection is closed with 1011 and [`Error::Source`] returned: the
    /// peer never takes the cut message for a whole one.
    ///
    /// # Errors
    ///
    /// [`Error::Source`], or what [`send`](WebSocket::send) returns.
    pub async fn send_stream<St, E>(
        &mut self,
        kind: crate::MessageKind,
        source: St,
        fragment: usize,
    ) -> Result<(), Error>
    where
        St: futures_core::Stream<Item = Result<Bytes, E>>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let mut source = std::pin::pin!(source);
        let mut cutter = crate::Fragmenter::new(kind, fragment);
        loop {
            let next = std::future::poll_fn(|cx| source.as_mut().poll_next(cx)).await;
            let cut = match next {
                None => cutter.finish(),
                Some(Ok(chunk)) => cutter.push(chunk),
                Some(Err(e)) => return Err(self.source_failed(e.into()).await),
            };
            if cut.is_err() {
                return Err(self
                    .source_failed("invalid UTF-8 in a text message".into())
                    .await);
            }
            while let Some(f) = cutter.next() {
                let last = f.fin.is_final();
                poll_fn(|cx| self.core.poll_ready(cx, Half::Sender)).await?;
                self.core.start_send_fragment(f.opcode, f.fin, f.payload)?;
                poll_fn(|cx| self.core.poll_flush(cx, Half::Sender)).await?;
                if last {
                    return Ok(());
                }
            }
        }
    }

    /// Queues one fragment of a message sent in parts (see
    /// [`Fragmenter`](crate::Fragmenter)), as
    /// [`start_send_with`](WebSocket::start_send_with) queues a message:
    /// for a wrapper that drives its own send loop.
    ///
    /// # Errors
    ///
    /// As [`send`](WebSocket::send).
    pub fn start_send_fragment(&mut self, fragment: crate::Fragment) -> Result<(), Error> {
        self.core
            .start_send_fragment(fragment.opcode, fragment.fin, fragment.payload)
    }

    /// Fails the connection with 1011 (a message source broke part-way)
    /// and queues the Close, for a wrapper that drives its own send loop;
    /// flush to write it.
    pub fn fail_source(&mut self) {
        self.core.fail_source();
    }

    /// Closes with 1011 after a source failed; the error to return.
    async fn source_failed(&mut self, why: Box<dyn std::error::Error + Send + Sync>) -> Error {
        self.core.fail_source();
        let _ = poll_fn(|cx| self.core.poll_flush(cx, Half::Sender)).await;
        Error::Source(why)
    }

    /// The next part of a data message, as
    /// [`Connection::receive_part`](crate::Connection::receive_part) gives
    /// them, with the socket's timers, pongs and closing handshake: the
    /// poll behind [`recv_stream`](WebSocket::recv_stream), for a wrapper
    /// that keeps its own state. The Close that ends the connection comes
    /// once as a [`Part::Control`](crate::Part::Control), then `None`.
    pub fn poll_recv_part(
        &mut self,
        cx: &mut Context<'_>,
        limit: Option<u64>,
    ) -> Poll<Option<Result<crate::Part, Error>>> {
        self.core.poll_recv_part(cx, limit)
    }

    /// [`recv_stream`](WebSocket::recv_stream) with this message's own
    /// limit (`None`: any size).
    pub async fn recv_stream_with(
        &mut self,
        limit: Option<u64>,
    ) -> Option<Result<MessageStream<'_, S>, Error>> {
        match poll_fn(|cx| self.core.poll_recv_part(cx, limit)).await? {
            Ok(crate::Part::Data { text, data, fin }) => Some(Ok(MessageStream {
                ws: self,
                text,
                first: Some(data),
                done: fin,
                limit,
            })),
            Ok(crate::Part::Control(_)) => None,
            Err(e) => Some(Err(e)),
        }
    }

    /// Sends a message as one frame, written to the transport (with
    /// anything queued before it) before this returns. Waits while the
    /// write buffer is full.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyClosed`] after a Close was sent (including the
    /// automatic answer to the peer's), [`Error::Local`] for a control
    /// payload over 125 bytes or an invalid close code, or [`Error::Io`].
    pub async fn send(&mut self, msg: Message) -> Result<(), Error> {
        self.send_with(msg, Compress::Auto).await
    }

    /// [`send`](WebSocket::send), choosing whether a data message may be
    /// compressed where permessage-deflate was negotiated:
    /// [`Compress::Never`] is the per-message opt-out.
    ///
    /// # Errors
    ///
    /// As [`send`](WebSocket::send).
    pub async fn send_with(&mut self, msg: Message, compress: Compress) -> Result<(), Error> {
        poll_fn(|cx| self.core.poll_ready(cx, Half::Sender)).await?;
        self.core.start_send(&msg, compress)?;
        poll_fn(|cx| self.core.poll_flush(cx, Half::Sender)).await
    }

    /// Queues a message as one frame without writing it, waiting only
    /// while the write buffer is full. It goes out with the next
    /// [`flush`](WebSocket::flush) or `send`, or before the next `recv`
    /// waits for the socket: an echo loop that answers with `feed` answers
    /// a burst of pipelined messages with one write.
    ///
    /// # Errors
    ///
    /// As [`send`](WebSocket::send), without [`Error::Io`] (nothing is
    /// written).
    pub async fn feed(&mut self, msg: Message) -> Result<(), Error> {
        poll_fn(|cx| self.core.poll_ready(cx, Half::Sender)).await?;
        self.core.start_send(&msg, Compress::Auto)
    }

    /// Writes every queued frame out.
    ///
    /// # Errors
    ///
    /// [`Error::Io`].
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.core.poll_flush(cx, Half::Sender)).await
    }

    /// Sends a message encoded once for many peers (see
    /// [`PreparedMessage`]), as [`send`](WebSocket::send) sends one.
    ///
    /// # Errors
    ///
    /// As [`send`](WebSocket::send).
    pub async fn send_prepared(&mut self, prepared: &PreparedMessage) -> Result<(), Error> {
        poll_fn(|cx| self.core.poll_ready(cx, Half::Sender)).await?;
        self.core.start_send_prepared(prepared)?;
        poll_fn(|cx| self.core.poll_flush(cx, Half::Sender)).await
    }

    /// Queues a message after [`Sink::poll_ready`](futures_sink::Sink::poll_ready)
    /// said there is room, as `Sink::start_send` does, choosing whether it
    /// may be compressed.
    ///
    /// # Errors
    ///
    /// As [`send`](WebSocket::send).
    pub fn start_send_with(&mut self, msg: &Message, compress: Compress) -> Result<(), Error> {
        self.core.start_send(msg, compress)
    }

    /// Queues a prepared message after [`Sink::poll_ready`](futures_sink::Sink::poll_ready)
    /// said there is room, as `Sink::start_send` queues a message.
    ///
    /// # Errors
    ///
    /// As [`send`](WebSocket::send).
    pub fn start_send_prepared(&mut self, prepared: &PreparedMessage) -> Result<(), Error> {
        self.core.start_send_prepared(prepared)
    }

    /// Runs the closing handshake: sends a Close with `frame` (unless one
    /// was already sent), then reads until the peer's Close, discarding
    /// other messages, for at most [`Config::close_timeout`]; then shuts
    /// the write side down. Returns `Ok` at once if already closed.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] if the peer did not answer in time,
    /// [`Error::Local`] for an invalid close code or reason (nothing is
    /// sent), or the error that ended the connection meanwhile.
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        match self.core.transport {
            Transport::Open => {}
            Transport::Done => return Ok(()),
            Transport::Stalled => return Err(Error::WriteTimeout),
        }
        // The closing handshake is this call's to time.
        self.set_timers(Timers::Own);
        self.core.begin_close(frame)?;
        let deadline = self.core.close_deadline();
        match tokio::time::timeout_at(deadline, self.flush()).await {
            Ok(result) => result?,
            Err(_) => {
                self.core.end();
                return Err(Error::Timeout);
            }
        }
        while let Some(next) = self.recv().await {
            match next {
                Ok(_) | Err(Error::ConnectionClosed) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Splits into a receiving and a sending half, usable from different
    /// tasks. They share the connection behind a `std::sync::Mutex` held
    /// only for the duration of each poll (never across an await), so the
    /// receiving half still answers pings and the close handshake while
    /// the sending half sends. With split halves, every send writes
    /// through (no deferral).
    pub fn split(mut self) -> (WsReceiver<S>, WsSender<S>) {
        // The halves' owners cannot share one keeper of the time.
        self.set_timers(Timers::Own);
        split::split(self.core)
    }

    /// Chooses who wakes the socket for the open connection's keepalive
    /// ping and idle timeout (see [`Timers`]); [`Timers::Own`] unless set.
    /// Takes effect at the next poll. [`split`](Self::split) and
    /// [`close`](Self::close) go back to [`Timers::Own`].
    pub fn set_timers(&mut self, timers: Timers) {
        self.core.keeper = match timers {
            Timers::Own => Keeper::Own,
            Timers::Caller => {
                // No own timer is kept for those deadlines any more.
                self.core.timer = None;
                Keeper::Caller(Due::No)
            }
        };
    }

    /// Who wakes the socket for its open connection's timers.
    pub fn timers(&self) -> Timers {
        match self.core.keeper {
            Keeper::Own => Timers::Own,
            Keeper::Caller(_) => Timers::Caller,
        }
    }

    /// With [`Timers::Caller`], when the open connection's next timer (the
    /// idle timeout or the keepalive ping) is due: its owner calls
    /// [`handle_timeout`](Self::handle_timeout) and polls the socket again
    /// at that instant or after it. `None` when none is set, with
    /// [`Timers::Own`], or once the connection is closing. While the
    /// connection is open it never moves earlier, only later (whenever
    /// bytes arrive, and after each ping), so a wake-up for an earlier
    /// value may find nothing due.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.core.owner_deadline()
    }

    /// With [`Timers::Caller`], says that [`next_timeout`](Self::next_timeout)
    /// may have passed: the next poll of [`recv`](Self::recv) (or of
    /// [`poll_recv_part`](Self::poll_recv_part)) reads the clock and runs
    /// what is due (a ping, or the idle timeout's Close 1001). Without
    /// this, a socket whose owner keeps the time never reads the clock.
    pub fn handle_timeout(&mut self) {
        if let Keeper::Caller(_) = self.core.keeper {
            self.core.keeper = Keeper::Caller(Due::Maybe);
        }
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.core.io
    }

    /// The underlying stream, mutably. Reading or writing it directly
    /// corrupts the WebSocket.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.core.io
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.core.conn.role()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        self.core.config()
    }

    /// The permessage-deflate parameters the handshake agreed on, if any.
    pub fn deflate(&self) -> Option<&DeflateParams> {
        self.core.conn.deflate()
    }

    /// Bytes of outgoing frames not yet written to the stream.
    pub fn write_buffer_len(&self) -> usize {
        self.core.wr.len()
    }

    /// Bytes received but not yet returned as messages.
    pub fn read_buffer_len(&self) -> usize {
        self.core.rd.len()
    }

    /// Heap capacity currently held by the read buffer (0 when idle).
    pub fn read_buffer_capacity(&self) -> usize {
        self.core.rd.capacity()
    }
}

/// A data message being received in parts, from
/// [`WebSocket::recv_stream`]: its bytes in order, as they arrive. For a
/// text message they are UTF-8 as a whole (checked as they come; a chunk
/// may end inside a character).
pub struct MessageStream<'a, S> {
    ws: &'a mut WebSocket<S>,
    text: bool,
    first: Option<Bytes>,
    done: bool,
    limit: Option<u64>,
}

impl<S> fmt::Debug for MessageStream<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageStream")
            .field("text", &self.text)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> MessageStream<'_, S> {
    /// Whether the message is text.
    pub fn is_text(&self) -> bool {
        self.text
    }

    /// The next bytes of the message; `None` after the last. An error
    /// (invalid UTF-8, the limit, the connection lost) ends the message
    /// and fails the connection. Cancel-safe.
    pub async fn chunk(&mut self) -> Option<Result<Bytes, Error>> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Error>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        if self.done {
            return Poll::Ready(None);
        }
        match ready!(self.ws.core.poll_recv_part(cx, self.limit)) {
            Some(Ok(crate::Part::Data { data, fin, .. })) => {
                self.done = fin;
                Poll::Ready(Some(Ok(data)))
            }
            Some(Ok(crate::Part::Control(_))) | None => {
                self.done = true;
                Poll::Ready(Some(Err(Error::ConnectionClosed)))
            }
            Some(Err(e)) => {
                self.done = true;
                Poll::Ready(Some(Err(e)))
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_core::Stream for MessageStream<'_, S> {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_core::Stream for WebSocket<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().core.poll_recv(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_sink::Sink<Message> for WebSocket<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().core.poll_ready(cx, Half::Sender)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        self.get_mut().core.start_send(&item, Compress::Auto)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().core.poll_flush(cx, Half::Sender)
    }

    /// Sends a Close 1000 (unless one was sent) and flushes. The peer's
    /// answer is read by `recv` / the `Stream` side.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().core.poll_close_sink(cx, Half::Sender)
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use tokio::io::AsyncWriteExt;

    use super::*;
    use crate::frame::{FrameHeader, OpCode};

    /// The header of a masked binary frame of `len` bytes.
    fn header(len: u64) -> BytesMut {
        let mut out = BytesMut::new();
        FrameHeader::new(crate::Fin::Final, OpCode::Binary, Some([1, 2, 3, 4]), len)
            .encode(&mut out);
        out
    }

    /// A server's engine over one end of a pipe, and the other end.
    fn server() -> (Core<tokio::io::DuplexStream>, tokio::io::DuplexStream) {
        let (server_io, client) = tokio::io::duplex(4 << 20);
        let ws =
            WebSocket::from_raw_socket(server_io, Role::Server, Config::default(), BytesMut::new());
        (ws.core, client)
    }

    /// Polls the server's receive once; it must still be waiting.
    fn poll_pending(core: &mut Core<tokio::io::DuplexStream>) {
        let mut cx = Context::from_waker(Waker::noop());
        assert!(core.poll_recv(&mut cx).is_pending());
    }

    #[tokio::test]
    async fn a_large_frame_grows_its_buffer_by_what_arrived() {
        let (mut core, mut client) = server();
        // A frame of 8 MiB announced, 100 KiB of it sent: the buffer holds
        // what came and room for about three times as much, not the frame.
        client.write_all(&header(8 << 20)).await.unwrap();
        let sent = 100 * 1024;
        client.write_all(&vec![0u8; sent]).await.unwrap();
        for _ in 0..8 {
            poll_pending(&mut core);
        }
        let held = core.rd.capacity();
        assert!(held >= sent, "{held}");
        assert!(
            held <= GROWTH * sent + DIRECT_READ + STACK_READ,
            "{held} for {sent} arrived"
        );

        // A 1 MiB frame arriving 64 KiB at a time reaches its size in a
        // few steps (each a copy), not one per doubling.
        let (mut core, mut client) = server();
        let len = 1 << 20;
        client.write_all(&header(len as u64)).await.unwrap();
        let mut capacities = vec![core.rd.capacity()];
        let chunk = vec![0u8; 64 * 1024];
        for _ in 0..(len / chunk.len() - 1) {
            client.write_all(&chunk).await.unwrap();
            poll_pending(&mut core);
            if capacities.last() != Some(&core.rd.capacity()) {
                capacities.push(core.rd.capacity());
            }
        }
        client.write_all(&chunk).await.unwrap();
        let mut cx = Context::from_waker(Waker::noop());
        match core.poll_recv(&mut cx) {
            Poll::Ready(Some(Ok(Message::Binary(b)))) => assert_eq!(b.len(), len),
            other => panic!("{other:?}"),
        }
        // From nothing: the first buffer, then at most two growths (four
        // when the buffer only doubled, ending at 2 MiB).
        assert!(capacities.len() <= 4, "{capacities:?}");
    }

    /// A client's binary frame of `len` bytes of `fill`, masked with a
    /// zero key (so the payload reads as sent).
    fn frame(len: usize, fill: u8) -> Vec<u8> {
        let mut f = vec![0x82];
        if let Ok(short) = u16::try_from(len) {
            f.push(0x80 | 126);
            f.extend_from_slice(&short.to_be_bytes());
        } else {
            f.push(0x80 | 127);
            f.extend_from_slice(&(len as u64).to_be_bytes());
        }
        f.extend_from_slice(&[0; 4]);
        f.resize(f.len() + len, fill);
        f
    }

    async fn next_binary(ws: &mut WebSocket<tokio::io::DuplexStream>) -> Bytes {
        match ws.recv().await {
            Some(Ok(Message::Binary(b))) => b,
            other => panic!("expected a binary message, got {other:?}"),
        }
    }

    /// Large messages one after the other are read into one block: once a
    /// message is gone, the next is read where it was (the block stays
    /// alive in the thread's spare, so no new allocation could be given
    /// the same address).
    #[tokio::test]
    async fn a_stream_of_large_messages_reuses_one_block() {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let mut ws =
            WebSocket::from_raw_socket(a, Role::Server, Config::default(), BytesMut::new());
        let mut at = Vec::new();
        for i in 0..4u8 {
            b.write_all(&frame(16 * 1024, i)).await.unwrap();
            let msg = next_binary(&mut ws).await;
            assert!(msg.iter().all(|&x| x == i));
            at.push(msg.as_ptr() as usize);
        }
        // The first came through the stack buffer; the second was read
        // into a block of its own, which every later one reuses.
        assert!(spare::holds_read());
        assert_eq!(at[2], at[1]);
        assert_eq!(at[3], at[1]);
        // A message still held keeps its block: the next goes elsewhere.
        b.write_all(&frame(16 * 1024, 9)).await.unwrap();
        let held = next_binary(&mut ws).await;
        b.write_all(&frame(16 * 1024, 10)).await.unwrap();
        let next = next_binary(&mut ws).await;
        assert_ne!(next.as_ptr(), held.as_ptr());
        assert!(held.iter().all(|&x| x == 9) && next.iter().all(|&x| x == 10));
    }

    /// A buffer grown for one large frame (up to the frame's size) is not
    /// kept once its message is taken.
    #[tokio::test]
    async fn a_buffer_grown_for_a_large_frame_is_not_kept() {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let mut ws =
            WebSocket::from_raw_socket(a, Role::Server, Config::default(), BytesMut::new());
        b.write_all(&frame(16 * 1024, 1)).await.unwrap();
        next_binary(&mut ws).await;
        assert!(!spare::holds_read(), "the first came through the stack");
        let big = frame(300 * 1024, 2);
        let writer = tokio::spawn(async move {
            b.write_all(&big).await.unwrap();
            b
        });
        let msg = next_binary(&mut ws).await;
        assert_eq!(msg.len(), 300 * 1024);
        assert!(!spare::holds_read(), "a grown block is not kept");
        drop(writer.await.unwrap());
    }
}
