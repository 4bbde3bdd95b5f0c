//! The sans-IO connection: frames in, messages out, and back.

use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};

use crate::close::{CloseCode, CloseFrame, MAX_CLOSE_REASON};
use crate::config::{Config, Role};
use crate::deflate::{Codec, DEFAULT_LEVEL, DEFAULT_MIN_SIZE, DeflateParams};
use crate::error::{CapacityError, Error, LocalError, ProtocolError};
use crate::frame::{Fin, FrameHeader, MAX_CONTROL_PAYLOAD, OpCode, RSV1};
use crate::mask::apply_mask;
use crate::message::{Message, Utf8Bytes};
use crate::utf8::Utf8Validator;

mod parts;

pub use parts::Part;

/// Where a connection is in its life (RFC 6455 §7): the one state of the
/// protocol machine, which every driver reads from
/// [`Connection::state`] rather than keeping its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum State {
    /// Data flows both ways.
    Open,
    /// We sent a Close ("Start the WebSocket Closing Handshake", §7.1.2)
    /// and wait for the peer's; data that still arrives is delivered.
    CloseSent,
    /// The peer's Close arrived first ("The WebSocket Closing Handshake is
    /// Started", §7.1.3). Nothing more is parsed. Our answer, echoing its
    /// code, is owed until [`Connection::poll_transmit`] writes it (or we
    /// send a Close of our own); then the state is [`State::Closed`].
    CloseReceived,
    /// Both Close frames are exchanged: the closing handshake is complete,
    /// and the driver closes the transport (the server first, §7.1.1).
    Closed,
    /// The connection failed ("Fail the WebSocket Connection", §7.1.7): the
    /// peer broke the protocol or ended the stream without a Close, or the
    /// driver gave up on it ([`Connection::fail`]). A Close with the
    /// failure's code is owed (see [`Connection::poll_transmit`]) unless one
    /// was sent already or the stream is gone; nothing more is parsed.
    Failed,
}

/// Whether a data message may be compressed, where permessage-deflate was
/// negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compress {
    /// Compressed when the extension is on and the message is at least
    /// [`DeflateConfig::min_size`](crate::deflate::DeflateConfig::min_size)
    /// long.
    #[default]
    Auto,
    /// Sent as it is: the per-message opt-out, for data that is already
    /// compressed (images, archives) or must not share a compression
    /// context with attacker-chosen text (secrets beside reflected input).
    Never,
}

/// A Close the connection owes the peer. Kept small, since every idle
/// connection carries one: the echo and the protocol-error Close have no
/// reason, and only a driver's `fail` gives one (boxed, it is rare).
#[derive(Debug)]
enum Owed {
    Nothing,
    /// An empty Close (the answer to an empty one).
    Empty,
    /// A Close with this code and no reason.
    Code(CloseCode),
    /// A Close with a reason.
    Frame(Box<CloseFrame>),
}

impl Owed {
    fn close(frame: Option<CloseFrame>) -> Self {
        match frame {
            None => Owed::Empty,
            Some(f) if f.reason.is_empty() => Owed::Code(f.code),
            Some(f) => Owed::Frame(Box::new(f)),
        }
    }

    fn frame(self) -> Option<Option<CloseFrame>> {
        match self {
            Owed::Nothing => None,
            Owed::Empty => Some(None),
            Owed::Code(code) => Some(Some(CloseFrame {
                code,
                reason: Utf8Bytes::default(),
            })),
            Owed::Frame(f) => Some(Some(*f)),
        }
    }
}

/// One end of a WebSocket connection, without I/O (RFC 6455 §5, §7).
///
/// It turns received bytes into [`Message`]s and messages into frames,
/// enforcing the framing rules for its [`Role`] and the limits of its
/// [`Config`], and it keeps the closing policy, so that every driver gets
/// it: the peer's Close is answered by echoing its code, and a protocol
/// error is answered by a Close with the error's code. It never reads or
/// writes a socket, never answers a ping by itself and has no timers: the
/// caller (such as the `tokio` layer's `WebSocket`) decides when to write,
/// when to close the transport and how long to wait.
///
/// # Call order
///
/// 1. Append bytes read from the peer to a `BytesMut` and call
///    [`receive`](Connection::receive) until it returns `Ok(None)`. Only
///    *append* to that buffer between calls: the header of a frame still
///    arriving has been consumed and its payload prefix already unmasked
///    and validated in place.
/// 2. For each message to send, call [`encode`](Connection::encode) (or
///    [`encode_frame`](Connection::encode_frame) for fragments) and write
///    the bytes out.
/// 3. After a [`Message::Close`] or an error from `receive`, and after
///    [`fail`](Connection::fail), call
///    [`poll_transmit`](Connection::poll_transmit) and write what it adds:
///    the Close the connection owes the peer. Once the [`state`] is
///    [`State::Closed`] or [`State::Failed`] and that is written, close the
///    transport.
/// 4. On end of input, [`receive_eof`](Connection::receive_eof) tells
///    whether the close was clean.
///
/// [`state`]: Connection::state
///
/// ```
/// use bytes::BytesMut;
/// use oneport_rfc6455::{Config, Connection, Message, Role};
///
/// let mut client = Connection::new(Role::Client, Config::default());
/// let mut server = Connection::new(Role::Server, Config::default());
///
/// let mut wire = BytesMut::new();
/// client.encode(&Message::text("hi"), &mut wire)?;
/// // Deliver the bytes in two pieces, as a socket might.
/// let mut inbox = BytesMut::new();
/// inbox.extend_from_slice(&wire[..3]);
/// assert_eq!(server.receive(&mut inbox)?, None);
/// inbox.extend_from_slice(&wire[3..]);
/// assert_eq!(server.receive(&mut inbox)?, Some(Message::text("hi")));
/// # Ok::<(), oneport_rfc6455::Error>(())
/// ```
#[derive(Debug)]
pub struct Connection {
    role: Role,
    /// Shared: a server's connections all have the same one, and each
    /// would otherwise carry its own copy (128 bytes) for its whole life.
    config: Arc<Config>,
    /// The frame whose header was consumed while its payload arrives.
    frame: Option<InFrame>,
    /// A data message whose final fragment has not arrived yet. Boxed:
    /// fragmented messages are rare, and every connection would carry its
    /// room otherwise.
    message: Option<Box<Partial>>,
    /// Validates the text message being received, across fragments.
    utf8: Utf8Validator,
    state: State,
    /// The Close we owe the peer (an echo, or the one that fails the
    /// connection), until `poll_transmit` writes it.
    owed: Owed,
    /// We are in the middle of sending a fragmented message.
    sending_fragments: bool,
    /// permessage-deflate, when negotiated. Boxed: its compressor and
    /// decompressor are made on first use, and a connection without the
    /// extension pays one pointer.
    deflate: Option<Box<Codec>>,
    /// The bytes handed over so far of the data message being received in
    /// parts ([`receive_part`](Connection::receive_part)), while there is
    /// one.
    parted: Option<u64>,
}

#[derive(Debug)]
struct InFrame {
    header: FrameHeader,
    /// The payload length (within the limits, so it fits).
    len: usize,
    /// How many payload bytes at the start of the buffer are already
    /// unmasked and validated.
    done: usize,
    /// How many payload bytes were already inflated and taken off the
    /// buffer (compressed frames only: their bytes are not kept).
    taken: usize,
    /// Whether the payload is text to validate.
    text: bool,
    /// Whether the frame belongs to a compressed message.
    compressed: bool,
}

#[derive(Debug)]
struct Partial {
    text: bool,
    /// The fragments so far; empty for a compressed message, which is
    /// inflated into the codec as it arrives.
    data: BytesMut,
    compressed: bool,
}

/// The capacity a drained write buffer starts again with.
pub(crate) const FIRST_WRITE_BUFFER: usize = 1024;

/// Makes room for `need` more bytes in a write buffer. A fresh one (it is
/// released whenever it drains) is made at once with room for a burst of
/// small frames, rather than grown by doubling from the first one (five
/// reallocations for sixteen 64-byte echoes).
pub(crate) fn reserve_write(dst: &mut BytesMut, need: usize) {
    if dst.capacity() == 0 {
        *dst = BytesMut::with_capacity(need.max(FIRST_WRITE_BUFFER));
    } else {
        dst.reserve(need);
    }
}

/// Payloads at least this long are split off the read buffer even when
/// they are all it holds, so that the buffer's block can serve again.
const SPLIT_MIN: usize = 4 * 1024;

impl Connection {
    /// A connection at the start of the data transfer phase, without
    /// extensions. `config` is a [`Config`], or an `Arc<Config>` that
    /// many connections share.
    pub fn new(role: Role, config: impl Into<Arc<Config>>) -> Self {
        Self::with_deflate(role, config, None)
    }

    /// A connection at the start of the data transfer phase, with the
    /// permessage-deflate parameters its handshake agreed on, if any (from
    /// [`handshake::negotiate`](crate::handshake::negotiate) on a server,
    /// [`handshake::verify_response_with`](crate::handshake::verify_response_with)
    /// on a client). The level and size threshold come from
    /// [`Config::deflate`], or their defaults if it is `None`. `config` is
    /// a [`Config`] or a shared `Arc<Config>`.
    pub fn with_deflate(
        role: Role,
        config: impl Into<Arc<Config>>,
        deflate: Option<DeflateParams>,
    ) -> Self {
        let config = config.into();
        let (level, min_size) = config
            .deflate
            .map_or((DEFAULT_LEVEL, DEFAULT_MIN_SIZE), |d| (d.level, d.min_size));
        let deflate = deflate.map(|p| Box::new(Codec::new(p, u32::from(level.min(9)), min_size)));
        Connection {
            role,
            config,
            frame: None,
            message: None,
            utf8: Utf8Validator::new(),
            state: State::Open,
            owed: Owed::Nothing,
            sending_fragments: false,
            deflate,
            parted: None,
        }
    }

    /// The permessage-deflate parameters in force, if it was negotiated.
    pub fn deflate(&self) -> Option<&DeflateParams> {
        self.deflate.as_deref().map(Codec::params)
    }

    /// Whether a message compressed once from a fresh context, at this
    /// window and level, is what this connection would send for it: a
    /// server that negotiated deflate without keeping its own context.
    /// Returns the window bits and level to compress with.
    #[cfg(feature = "tokio")]
    pub(crate) fn fresh_deflate(&self, len: usize) -> Option<(u8, u32)> {
        let codec = self.deflate.as_deref()?;
        (self.role == Role::Server && codec.compresses_fresh() && codec.wants(len))
            .then(|| (codec.params().own_window_bits, codec.level()))
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether the peer's Close frame was received.
    pub fn is_close_received(&self) -> bool {
        matches!(self.state, State::CloseReceived | State::Closed)
    }

    /// Whether nothing more may be sent: our Close was encoded (or, after a
    /// failure, is owed or cannot be sent).
    pub fn is_close_sent(&self) -> bool {
        match self.state {
            State::Open => false,
            State::CloseSent | State::Closed | State::Failed => true,
            State::CloseReceived => matches!(self.owed, Owed::Nothing),
        }
    }

    /// Whether the connection can no longer carry messages: both Close
    /// frames were exchanged, or it failed.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed | State::Failed)
    }

    /// Whether [`poll_transmit`](Connection::poll_transmit) has a Close to
    /// write.
    pub fn has_owed_close(&self) -> bool {
        !matches!(self.owed, Owed::Nothing)
    }

    /// Appends the Close the connection owes the peer, if any: the echo of
    /// the peer's Close (its code, no reason; an empty Close answers an
    /// empty one), or the Close with the code of the failure. Returns
    /// whether it appended anything. A client masks it, as every frame.
    #[must_use]
    pub fn poll_transmit(&mut self, dst: &mut BytesMut) -> bool {
        let Some(frame) = std::mem::replace(&mut self.owed, Owed::Nothing).frame() else {
            return false;
        };
        // Our own frames were checked when they were made; an echo of a
        // code the peer may send is one we may send, but fall back to an
        // empty Close rather than fail here.
        let payload = close_payload(frame.as_ref()).unwrap_or_default();
        let header = FrameHeader::new(Fin::Final, OpCode::Close, self.mask(), payload.len() as u64);
        self.put_frame(header, &payload, dst);
        if self.state == State::CloseReceived {
            self.state = State::Closed;
        }
        true
    }

    /// Fails the connection for a reason of the driver's (an idle peer, a
    /// timeout), sending `close` unless a Close was sent: the state becomes
    /// [`State::Failed`] and [`poll_transmit`](Connection::poll_transmit)
    /// writes the Close. After the peer's Close this does nothing: the
    /// handshake is ending anyway.
    pub fn fail(&mut self, close: CloseFrame) {
        match self.state {
            State::Open => {
                self.owed = Owed::close(Some(close));
                self.state = State::Failed;
            }
            State::CloseSent => self.state = State::Failed,
            State::CloseReceived | State::Closed | State::Failed => {}
        }
    }

    /// Payload bytes still missing from the frame being received (0 between
    /// frames). A reader may size its next read with it.
    pub fn frame_remaining(&self) -> usize {
        self.frame.as_ref().map_or(0, |f| f.len - f.done - f.taken)
    }

    /// Parses the next message or control frame from the start of `buf`.
    ///
    /// Consumes the bytes it parses. Returns `Ok(None)` when `buf` holds no
    /// complete message yet (then it has consumed any complete frame
    /// header and fragments, and checked the partial payload: a text
    /// message fails at its first invalid byte, not at its end). A complete
    /// single-frame payload is split off `buf` without copying and unmasked
    /// in place; fragmented messages are assembled in a separate buffer.
    /// A small payload that is all `buf` holds takes `buf` itself (leaving
    /// it empty, with no capacity); a payload of 4 KiB or more in a block
    /// with room beyond it is split off even then, so that `buf` keeps a
    /// handle on the block, which `reserve` reuses once the message is
    /// dropped.
    ///
    /// Pings, pongs and closes are returned as they arrive, also between
    /// the fragments of a message. After a Close, nothing more is parsed
    /// and `Ok(None)` is returned.
    ///
    /// # Errors
    ///
    /// A protocol violation ([`Error::Protocol`], close code 1002), invalid
    /// UTF-8 ([`Error::Utf8`], 1007) or a limit exceeded
    /// ([`Error::Capacity`], 1009; detected from the frame header, before
    /// any payload is buffered). After an error the connection is failed
    /// and every later call returns [`Error::AlreadyClosed`].
    pub fn receive(&mut self, buf: &mut BytesMut) -> Result<Option<Message>, Error> {
        if let Some(stop) = self.receiving() {
            return stop;
        }
        // Between frames with nothing buffered there is nothing to parse:
        // the common case of a socket asked again after its last message
        // (twice per echo), answered without the parser's steps.
        if buf.is_empty() && self.frame.is_none() && self.parted.is_none() {
            return Ok(None);
        }
        let result = self.receive_whole(buf);
        self.received(result, |m| match m {
            Message::Close(frame) => Some(frame),
            _ => None,
        })
    }

    /// `Some` when the state allows no receiving: what to return instead.
    fn receiving<T>(&self) -> Option<Result<Option<T>, Error>> {
        match self.state {
            State::Failed => Some(Err(Error::AlreadyClosed)),
            State::CloseReceived | State::Closed => Some(Ok(None)),
            State::Open | State::CloseSent => None,
        }
    }

    /// What a receive gave, after the state has taken it in: a Close moves
    /// the closing handshake on, an error fails the connection.
    fn received<T>(
        &mut self,
        result: Result<Option<T>, Error>,
        close_of: impl Fn(&T) -> Option<&Option<CloseFrame>>,
    ) -> Result<Option<T>, Error> {
        match &result {
            Ok(Some(got)) => {
                if let Some(frame) = close_of(got) {
                    if self.state == State::Open {
                        // Echo the peer's status code (§5.5.1); empty if it
                        // sent none.
                        let echo = frame.as_ref().map(|f| CloseFrame {
                            code: f.code,
                            reason: Utf8Bytes::default(),
                        });
                        self.owed = Owed::close(echo);
                        self.state = State::CloseReceived;
                    } else {
                        self.state = State::Closed;
                    }
                }
            }
            Ok(None) => {}
            Err(e) => {
                if self.state == State::Open {
                    self.owed = match e.close_code() {
                        Some(code) => Owed::Code(code),
                        None => Owed::Empty,
                    };
                }
                self.state = State::Failed;
                self.frame = None;
                self.message = None;
                self.parted = None;
                if let Some(codec) = self.deflate.as_deref_mut() {
                    codec.abandon();
                }
            }
        }
        result
    }

    /// [`receive`](Connection::receive)'s work: a message received in
    /// parts and left unfinished is skipped first.
    fn receive_whole(&mut self, buf: &mut BytesMut) -> Result<Option<Message>, Error> {
        while self.parted.is_some() {
            match self.receive_part_inner(buf, None)? {
                Some(Part::Control(m)) => return Ok(Some(m)),
                Some(Part::Data { .. }) => {}
                None => return Ok(None),
            }
        }
        self.receive_inner(buf)
    }

    /// Reports the end of the input.
    ///
    /// # Errors
    ///
    /// [`Error::ConnectionClosed`] if the peer's Close frame was not
    /// received: the connection ended abnormally (status 1006).
    pub fn receive_eof(&mut self) -> Result<(), Error> {
        if self.is_close_received() {
            Ok(())
        } else {
            // Nobody is left to send a Close to.
            self.owed = Owed::Nothing;
            self.state = State::Failed;
            Err(Error::ConnectionClosed)
        }
    }

    /// The frame whose payload is arriving, or the next one whose header
    /// is whole in `buf` (checked and consumed); `None` until there is one.
    fn current_frame(&mut self, buf: &mut BytesMut) -> Result<Option<InFrame>, Error> {
        if let Some(frame) = self.frame.take() {
            return Ok(Some(frame));
        }
        let allowed = if self.deflate.is_some() { RSV1 } else { 0 };
        let Some((header, n)) = FrameHeader::parse_with_rsv(buf, allowed)? else {
            return Ok(None);
        };
        let frame = self.start_frame(header)?;
        buf.advance(n);
        Ok(Some(frame))
    }

    /// Unmasks in place the payload bytes of `frame` that arrived since
    /// the last call (at the front of `buf`), checking them as UTF-8 if
    /// they are uncompressed text; `frame.done` then covers them. The mask
    /// offset counts the bytes already taken off (`frame.taken`).
    fn unmask_arrived(&mut self, frame: &mut InFrame, buf: &mut BytesMut) -> Result<(), Error> {
        let avail = buf.len().min(frame.len - frame.taken);
        if avail > frame.done {
            let fresh = buf.get_mut(frame.done..avail).unwrap_or_default();
            if let Some(key) = frame.header.mask {
                apply_mask(fresh, key, frame.taken + frame.done);
            }
            if frame.text && !frame.compressed {
                self.utf8.feed(fresh).map_err(|_| Error::Utf8)?;
            }
            frame.done = avail;
        }
        Ok(())
    }

    fn receive_inner(&mut self, buf: &mut BytesMut) -> Result<Option<Message>, Error> {
        loop {
            let Some(mut frame) = self.current_frame(buf)? else {
                return Ok(None);
            };
            if frame.compressed {
                if self.inflate_frame(&mut frame, buf)? {
                    self.frame = Some(frame);
                    return Ok(None);
                }
                if let Some(msg) = self.finish_compressed(&frame)? {
                    return Ok(Some(msg));
                }
                continue;
            }
            self.unmask_arrived(&mut frame, buf)?;
            if frame.done < frame.len {
                self.frame = Some(frame);
                return Ok(None);
            }
            if let Some(msg) = self.finish_frame(&frame, buf)? {
                return Ok(Some(msg));
            }
        }
    }

    /// Checks a new frame header against the role, the fragmentation state
    /// and the limits.
    fn start_frame(&mut self, header: FrameHeader) -> Result<InFrame, Error> {
        match (self.role, header.mask) {
            (Role::Server, None) if !self.config.accept_unmasked_frames => {
                return Err(ProtocolError::UnmaskedFrame.into());
            }
            (Role::Client, Some(_)) => return Err(ProtocolError::MaskedFrame.into()),
            _ => {}
        }
        let (text, compressed) = match header.opcode {
            OpCode::Continuation => match &self.message {
                Some(m) => (m.text, m.compressed),
                None => return Err(ProtocolError::UnexpectedContinuation.into()),
            },
            OpCode::Text | OpCode::Binary if self.message.is_some() => {
                return Err(ProtocolError::ExpectedContinuation.into());
            }
            OpCode::Text => (true, header.rsv & RSV1 != 0),
            OpCode::Binary => (false, header.rsv & RSV1 != 0),
            _ => (false, false),
        };
        // RSV1 marks a compressed message on its first frame only, never a
        // continuation or a control frame (RFC 7692 §6.1).
        let first_data = matches!(header.opcode, OpCode::Text | OpCode::Binary);
        if header.rsv & RSV1 != 0 && !first_data {
            return Err(ProtocolError::ReservedBits(header.rsv).into());
        }
        let too_big = CapacityError::FrameTooLarge {
            size: header.payload_len,
            max: self.config.max_frame_size,
        };
        let len = usize::try_from(header.payload_len).map_err(|_| too_big)?;
        if len > self.config.max_frame_size {
            return Err(too_big.into());
        }
        if !header.opcode.is_control() && !compressed {
            let so_far = self.message.as_ref().map_or(0, |m| m.data.len());
            let total = so_far.saturating_add(len);
            if total > self.config.max_message_size {
                return Err(CapacityError::MessageTooLarge {
                    size: total as u64,
                    max: self.config.max_message_size,
                }
                .into());
            }
        }
        if header.opcode == OpCode::Text {
            self.utf8.reset();
        }
        Ok(InFrame {
            header,
            len,
            done: 0,
            taken: 0,
            text,
            compressed,
        })
    }

    /// Unmasks and inflates what arrived of a compressed frame, taking it
    /// off `buf`. Returns whether the frame still misses bytes.
    fn inflate_frame(&mut self, frame: &mut InFrame, buf: &mut BytesMut) -> Result<bool, Error> {
        let avail = buf.len().min(frame.len - frame.taken);
        if avail > 0 {
            let chunk = buf.get_mut(..avail).unwrap_or_default();
            if let Some(key) = frame.header.mask {
                apply_mask(chunk, key, frame.taken);
            }
            let Some(codec) = self.deflate.as_deref_mut() else {
                return Err(ProtocolError::ReservedBits(RSV1).into());
            };
            let start = codec.inflate(chunk, self.config.max_message_size)?;
            if frame.text {
                let fresh = codec.inflated().get(start..).unwrap_or_default();
                self.utf8.feed(fresh).map_err(|_| Error::Utf8)?;
            }
            buf.advance(avail);
            frame.taken += avail;
        }
        Ok(frame.taken < frame.len)
    }

    /// A compressed frame is all in: ends its message if it is the last.
    fn finish_compressed(&mut self, frame: &InFrame) -> Result<Option<Message>, Error> {
        if !frame.header.fin {
            if frame.header.opcode != OpCode::Continuation {
                self.message = Some(Box::new(Partial {
                    text: frame.text,
                    data: BytesMut::new(),
                    compressed: true,
                }));
            }
            return Ok(None);
        }
        self.message = None;
        let Some(codec) = self.deflate.as_deref_mut() else {
            return Err(ProtocolError::ReservedBits(RSV1).into());
        };
        let (start, data) = codec.finish(self.config.max_message_size)?;
        if frame.text {
            let fresh = data.get(start..).unwrap_or_default();
            self.utf8.feed(fresh).map_err(|_| Error::Utf8)?;
        }
        self.complete(frame.text, Bytes::from(data)).map(Some)
    }

    /// Takes a complete frame's payload off `buf`; returns a message if the
    /// frame completed one.
    fn finish_frame(
        &mut self,
        frame: &InFrame,
        buf: &mut BytesMut,
    ) -> Result<Option<Message>, Error> {
        let fin = frame.header.fin;
        match frame.header.opcode {
            OpCode::Ping => Ok(Some(Message::Ping(take(buf, frame.len)))),
            OpCode::Pong => Ok(Some(Message::Pong(take(buf, frame.len)))),
            OpCode::Close => Ok(Some(Message::Close(parse_close(take(buf, frame.len))?))),
            OpCode::Text | OpCode::Binary => {
                // A payload that is all the buffer holds (one message per
                // read, the common case) takes the buffer itself: splitting
                // would make its block shared, an allocation and two
                // atomic counts per message. A large one is split off even
                // then when the block has room beyond it: the buffer keeps
                // a handle on the block, which its owner may reuse once the
                // message is gone (an allocation of that size costs far
                // more than the counts). A block that is all payload could
                // serve nothing again: taken whole.
                let reusable = frame.len >= SPLIT_MIN && buf.capacity() > frame.len;
                let data = if buf.len() == frame.len && !reusable {
                    std::mem::take(buf)
                } else {
                    buf.split_to(frame.len)
                };
                if fin {
                    Ok(Some(self.complete(frame.text, data.freeze())?))
                } else {
                    self.message = Some(Box::new(Partial {
                        text: frame.text,
                        data,
                        compressed: false,
                    }));
                    Ok(None)
                }
            }
            OpCode::Continuation => {
                let Some(partial) = self.message.as_mut() else {
                    return Err(ProtocolError::UnexpectedContinuation.into());
                };
                partial
                    .data
                    .extend_from_slice(buf.get(..frame.len).unwrap_or_default());
                buf.advance(frame.len);
                if fin {
                    match self.message.take() {
                        Some(m) => {
                            let Partial { text, data, .. } = *m;
                            Ok(Some(self.complete(text, data.freeze())?))
                        }
                        None => Ok(None),
                    }
                } else {
                    Ok(None)
                }
            }
        }
    }

    fn complete(&mut self, text: bool, data: Bytes) -> Result<Message, Error> {
        if text {
            self.utf8.finish().map_err(|_| Error::Utf8)?;
            Ok(Message::Text(Utf8Bytes::from_validated(data)))
        } else {
            Ok(Message::Binary(data))
        }
    }

    /// Appends `msg` as one frame (FIN set; data messages are never
    /// fragmented, whatever their size). A client masks it with a fresh
    /// random key.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyClosed`] after our Close was encoded;
    /// [`Error::Local`] for a control payload over 125 bytes, a close
    /// code that may not be sent, or a data message while a fragmented one
    /// is being sent with [`encode_frame`](Connection::encode_frame).
    pub fn encode(&mut self, msg: &Message, dst: &mut BytesMut) -> Result<(), Error> {
        self.encode_with(msg, Compress::Auto, dst)
    }

    /// [`encode`](Connection::encode), choosing whether a data message may
    /// be compressed. Where permessage-deflate was negotiated, a text or
    /// binary message that [`Compress::Auto`] lets through is deflated and
    /// sent as one frame with RSV1 set. Control frames are never
    /// compressed.
    ///
    /// # Errors
    ///
    /// As for [`encode`](Connection::encode), and [`Error::Compression`]
    /// if the compressor fails.
    pub fn encode_with(
        &mut self,
        msg: &Message,
        compress: Compress,
        dst: &mut BytesMut,
    ) -> Result<(), Error> {
        if let Some((header, payload)) = self.deflate_message(msg, compress)? {
            self.put_frame(header, &payload, dst);
            return Ok(());
        }
        match msg {
            Message::Text(t) => self.encode_frame(OpCode::Text, Fin::Final, t.as_bytes(), dst),
            Message::Binary(b) => self.encode_frame(OpCode::Binary, Fin::Final, b, dst),
            Message::Ping(b) => self.encode_frame(OpCode::Ping, Fin::Final, b, dst),
            Message::Pong(b) => self.encode_frame(OpCode::Pong, Fin::Final, b, dst),
            Message::Close(frame) => {
                let payload = close_payload(frame.as_ref())?;
                self.encode_frame(OpCode::Close, Fin::Final, &payload, dst)
            }
        }
    }

    /// Appends one frame, for sending a message in fragments: a `Text` or
    /// `Binary` frame with [`Fin::More`], then `Continuation` frames, the
    /// last with [`Fin::Final`]. Control frames may be sent in between.
    ///
    /// # Errors
    ///
    /// As for [`encode`](Connection::encode), plus [`Error::Local`] for a
    /// continuation without a started message or a fragmented control
    /// frame.
    pub fn encode_frame(
        &mut self,
        opcode: OpCode,
        fin: Fin,
        payload: &[u8],
        dst: &mut BytesMut,
    ) -> Result<(), Error> {
        let header = self.prepare(opcode, fin, payload.len())?;
        self.put_frame(header, payload, dst);
        Ok(())
    }

    /// Compresses a data message that should be, returning its checked
    /// header (RSV1 set) and the deflated payload; `None` when it goes out
    /// as it is. The state is checked before the compressor runs, so that
    /// a refused message never advances a kept context.
    ///
    /// Inlined up to the check for a compressor, so that a connection
    /// without one (most) pays a test, not a call, per message.
    #[inline]
    pub(crate) fn deflate_message(
        &mut self,
        msg: &Message,
        compress: Compress,
    ) -> Result<Option<(FrameHeader, Vec<u8>)>, Error> {
        if self.deflate.is_none() || compress == Compress::Never {
            return Ok(None);
        }
        self.deflate_message_now(msg, compress)
    }

    /// [`deflate_message`](Connection::deflate_message) once there is a
    /// compressor that may run.
    fn deflate_message_now(
        &mut self,
        msg: &Message,
        compress: Compress,
    ) -> Result<Option<(FrameHeader, Vec<u8>)>, Error> {
        let (opcode, payload) = match msg {
            Message::Text(t) => (OpCode::Text, t.as_bytes()),
            Message::Binary(b) => (OpCode::Binary, b),
            _ => return Ok(None),
        };
        match self.deflate.as_deref() {
            Some(codec) if compress == Compress::Auto && codec.wants(payload.len()) => {}
            _ => return Ok(None),
        }
        let mut header = self.prepare(opcode, Fin::Final, payload.len())?;
        let Some(codec) = self.deflate.as_deref_mut() else {
            return Ok(None);
        };
        let deflated = codec.compress(payload)?;
        header.rsv = RSV1;
        header.payload_len = deflated.len() as u64;
        Ok(Some((header, deflated)))
    }

    /// Writes a checked header and its payload, masked with the header's
    /// key.
    pub(crate) fn put_frame(&self, header: FrameHeader, payload: &[u8], dst: &mut BytesMut) {
        reserve_write(dst, header.encoded_len() + payload.len());
        header.encode(dst);
        let start = dst.len();
        dst.extend_from_slice(payload);
        if let Some(key) = header.mask {
            apply_mask(dst.get_mut(start..).unwrap_or_default(), key, 0);
        }
    }

    /// A fresh masking key for a client's frame; none for a server's.
    /// Inlined, so that a server's frame does not pay a call for `None`.
    #[inline]
    fn mask(&self) -> Option<[u8; 4]> {
        match self.role {
            Role::Client => Some(fresh_key()),
            Role::Server => None,
        }
    }

    /// Checks that a frame may be sent now, updates the sending state and
    /// returns its header (with a fresh mask key for a client). The caller
    /// writes the header and the payload, masked with the header's key.
    pub(crate) fn prepare(
        &mut self,
        opcode: OpCode,
        fin: Fin,
        len: usize,
    ) -> Result<FrameHeader, Error> {
        match self.state {
            State::Open => {}
            // Our own Close may still answer the peer's, in place of the
            // echo that is owed.
            State::CloseReceived if opcode == OpCode::Close && self.has_owed_close() => {}
            State::CloseReceived | State::CloseSent | State::Closed | State::Failed => {
                return Err(Error::AlreadyClosed);
            }
        }
        let fin = fin.is_final();
        if opcode.is_control() {
            if !fin {
                return Err(LocalError::FragmentedControl.into());
            }
            if len > MAX_CONTROL_PAYLOAD {
                return Err(LocalError::ControlTooLong(len).into());
            }
        }
        match opcode {
            OpCode::Continuation if !self.sending_fragments => {
                return Err(LocalError::NoMessageToContinue.into());
            }
            OpCode::Continuation => self.sending_fragments = !fin,
            OpCode::Text | OpCode::Binary if self.sending_fragments => {
                return Err(LocalError::MessageInProgress.into());
            }
            OpCode::Text | OpCode::Binary => self.sending_fragments = !fin,
            OpCode::Close => {
                self.owed = Owed::Nothing;
                self.state = match self.state {
                    State::CloseReceived => State::Closed,
                    _ => State::CloseSent,
                };
            }
            OpCode::Ping | OpCode::Pong => {}
        }
        Ok(FrameHeader::new(
            Fin::from_bit(fin),
            opcode,
            self.mask(),
            len as u64,
        ))
    }
}

/// Splits `len` bytes off `buf` as frozen bytes.
fn take(buf: &mut BytesMut, len: usize) -> Bytes {
    if len == 0 {
        Bytes::new()
    } else {
        buf.split_to(len).freeze()
    }
}

/// Decodes a Close payload (§5.5.1): empty, or a valid code and a UTF-8
/// reason.
fn parse_close(payload: Bytes) -> Result<Option<CloseFrame>, Error> {
    match payload.get(..2) {
        None if payload.is_empty() => Ok(None),
        None => Err(ProtocolError::CloseTooShort.into()),
        Some(&[hi, lo]) => {
            let code = u16::from_be_bytes([hi, lo]);
            if !CloseCode::is_valid_on_wire(code) {
                return Err(ProtocolError::InvalidCloseCode(code).into());
            }
            let reason = Utf8Bytes::try_from(payload.slice(2..))?;
            Ok(Some(CloseFrame {
                code: CloseCode::new(code),
                reason,
            }))
        }
        Some(_) => Err(ProtocolError::CloseTooShort.into()),
    }
}

/// Encodes a Close payload, checking what we may send.
fn close_payload(frame: Option<&CloseFrame>) -> Result<Vec<u8>, Error> {
    let Some(frame) = frame else {
        return Ok(Vec::new());
    };
    if !frame.code.is_valid() {
        return Err(LocalError::InvalidCloseCode(frame.code.as_u16()).into());
    }
    let reason = frame.reason.as_bytes();
    if reason.len() > MAX_CLOSE_REASON {
        return Err(LocalError::ControlTooLong(2 + reason.len()).into());
    }
    let mut payload = Vec::with_capacity(2 + reason.len());
    payload.extend_from_slice(&frame.code.as_u16().to_be_bytes());
    payload.extend_from_slice(reason);
    Ok(payload)
}

/// A random masking key (RFC 6455 §5.3), kept out of line so that the
/// server's path through [`Connection::mask`] stays small.
#[inline(never)]
fn fresh_key() -> [u8; 4] {
    rand::random::<[u8; 4]>()
}
