//! Receiving a data message in parts, as its bytes arrive, so that memory
//! holds what one read brought (or what it inflates to) rather than the
//! message.
//!
//! A part ends wherever the input did: inside a frame, between fragments,
//! and for text possibly inside a character (the message is still checked
//! as UTF-8 across parts, and fails with 1007 at the first byte that
//! cannot belong to a valid sequence).

use bytes::{Buf, Bytes, BytesMut};

use super::{Connection, InFrame, Partial};
use crate::error::{CapacityError, Error, ProtocolError};
use crate::frame::{OpCode, RSV1};
use crate::message::Message;

/// The most bytes one part of a compressed message inflates to: what a
/// small input may expand to is held to this, the rest left pending.
const PART_INFLATED: usize = 64 * 1024;

/// What [`Connection::receive_part`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// A ping, pong or close, as [`receive`](Connection::receive) returns
    /// it: it may come between two parts of a data message.
    Control(Message),
    /// The next bytes of a data message.
    Data {
        /// Whether the message is text.
        text: bool,
        /// The bytes (possibly none, on the last part).
        data: Bytes,
        /// Whether these end the message.
        fin: bool,
    },
}

impl Connection {
    /// As [`receive`](Connection::receive), but a data message comes in
    /// [`Part::Data`] pieces as its bytes arrive, never assembled. `limit`
    /// bounds the whole message (`None`: no bound); past it the connection
    /// fails with [`Error::Capacity`] (1009). Control frames between the
    /// parts come as [`Part::Control`].
    ///
    /// A message begun with `receive` goes on in parts from where it was
    /// (its fragments so far come first, as one part). One left unfinished
    /// in parts is skipped by a later `receive`.
    ///
    /// # Errors
    ///
    /// As [`receive`](Connection::receive).
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use oneport_rfc6455::{Config, Connection, Message, Part, Role};
    ///
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// let mut wire = BytesMut::new();
    /// client.encode(&Message::text("hello, world"), &mut wire)?;
    /// // The 6-byte header (a client masks) and two payload bytes.
    /// let mut inbox = BytesMut::new();
    /// inbox.extend_from_slice(&wire[..8]);
    /// let first = server.receive_part(&mut inbox, None)?;
    /// assert_eq!(first, Some(Part::Data { text: true, data: "he".into(), fin: false }));
    /// inbox.extend_from_slice(&wire[8..]);
    /// let rest = server.receive_part(&mut inbox, None)?;
    /// assert_eq!(rest, Some(Part::Data { text: true, data: "llo, world".into(), fin: true }));
    /// # Ok::<(), oneport_rfc6455::Error>(())
    /// ```
    pub fn receive_part(
        &mut self,
        buf: &mut BytesMut,
        limit: Option<u64>,
    ) -> Result<Option<Part>, Error> {
        if let Some(stop) = self.receiving() {
            return stop;
        }
        let result = self.receive_part_inner(buf, limit);
        self.received(result, |p| match p {
            Part::Control(Message::Close(frame)) => Some(frame),
            _ => None,
        })
    }

    pub(super) fn receive_part_inner(
        &mut self,
        buf: &mut BytesMut,
        limit: Option<u64>,
    ) -> Result<Option<Part>, Error> {
        if self.parted.is_none() {
            if let Some(begun) = self.begun_whole() {
                return self.counted(begun, limit).map(Some);
            }
        }
        loop {
            let Some(mut frame) = self.current_frame(buf)? else {
                return Ok(None);
            };
            // A message's first frame starts its count.
            if self.parted.is_none() && matches!(frame.header.opcode, OpCode::Text | OpCode::Binary)
            {
                self.parted = Some(0);
            }
            if frame.header.opcode.is_control() {
                return Ok(self.control(frame, buf)?.map(Part::Control));
            }
            let text = frame.text;
            let (data, frame_over, fin) = if frame.compressed {
                let (mut data, pending) = self.inflate_part(&mut frame, buf)?;
                let frame_over = frame.taken == frame.len && !pending;
                let fin = frame_over && frame.header.fin;
                if fin {
                    let Some(codec) = self.deflate.as_deref_mut() else {
                        return Err(ProtocolError::ReservedBits(RSV1).into());
                    };
                    let (start, tail) = codec.finish(self.config.max_message_size)?;
                    if text {
                        let fresh = tail.get(start..).unwrap_or_default();
                        self.utf8.feed(fresh).map_err(|_| Error::Utf8)?;
                    }
                    data.extend_from_slice(&tail);
                }
                (Bytes::from(data), frame_over, fin)
            } else {
                self.unmask_arrived(&mut frame, buf)?;
                let taken = std::mem::take(&mut frame.done);
                frame.taken += taken;
                let frame_over = frame.taken == frame.len;
                // The payload as it lies in the buffer: no copy.
                (
                    buf.split_to(taken).freeze(),
                    frame_over,
                    frame_over && frame.header.fin,
                )
            };
            if fin {
                if text {
                    self.utf8.finish().map_err(|_| Error::Utf8)?;
                }
                self.message = None;
            } else if frame_over {
                if frame.header.opcode != OpCode::Continuation {
                    self.message = Some(Box::new(Partial {
                        text,
                        data: BytesMut::new(),
                        compressed: frame.compressed,
                    }));
                }
            } else {
                self.frame = Some(frame);
            }
            if data.is_empty() && !fin {
                if frame_over {
                    continue;
                }
                return Ok(None);
            }
            let part = Part::Data { text, data, fin };
            return self.counted(part, limit).map(Some);
        }
    }

    /// Counts a data part against the message's limit, ending the message
    /// on its last part.
    fn counted(&mut self, part: Part, limit: Option<u64>) -> Result<Part, Error> {
        if let Part::Data { data, fin, .. } = &part {
            let total = self.parted.unwrap_or(0).saturating_add(data.len() as u64);
            if let Some(max) = limit {
                if total > max {
                    return Err(CapacityError::MessageTooLarge {
                        size: total,
                        max: usize::try_from(max).unwrap_or(usize::MAX),
                    }
                    .into());
                }
            }
            self.parted = if *fin { None } else { Some(total) };
        }
        Ok(part)
    }

    /// A data message that `receive` had begun assembling, handed over as
    /// its first part: its fragments so far, or what it inflated to.
    fn begun_whole(&mut self) -> Option<Part> {
        let inflated = self
            .deflate
            .as_deref_mut()
            .map(super::Codec::take_inflated)
            .unwrap_or_default();
        let (text, data) = match (self.message.as_mut(), &self.frame) {
            (Some(m), _) => {
                let assembled = std::mem::take(&mut m.data).freeze();
                let data = if m.compressed {
                    Bytes::from(inflated)
                } else {
                    assembled
                };
                (m.text, data)
            }
            // The first frame of a message, part-way in.
            (None, Some(f)) if !f.header.opcode.is_control() => (f.text, Bytes::from(inflated)),
            _ => return None,
        };
        self.parted = Some(0);
        Some(Part::Data {
            text,
            data,
            fin: false,
        })
    }

    /// Unmasks what arrived of a compressed frame and inflates at most
    /// [`PART_INFLATED`] bytes from it, taking off `buf` the input used;
    /// whether more output may be pending.
    fn inflate_part(
        &mut self,
        frame: &mut InFrame,
        buf: &mut BytesMut,
    ) -> Result<(Vec<u8>, bool), Error> {
        self.unmask_arrived(frame, buf)?;
        let Some(codec) = self.deflate.as_deref_mut() else {
            return Err(ProtocolError::ReservedBits(RSV1).into());
        };
        let input = buf.get(..frame.done).unwrap_or_default();
        let (used, out) = codec.inflate_capped(input, PART_INFLATED)?;
        if frame.text {
            self.utf8.feed(&out).map_err(|_| Error::Utf8)?;
        }
        buf.advance(used);
        frame.taken += used;
        frame.done -= used;
        let pending = out.len() == PART_INFLATED;
        Ok((out, pending))
    }

    /// A control frame, unmasked in place until it is whole.
    fn control(
        &mut self,
        mut frame: InFrame,
        buf: &mut BytesMut,
    ) -> Result<Option<Message>, Error> {
        self.unmask_arrived(&mut frame, buf)?;
        if frame.done < frame.len {
            self.frame = Some(frame);
            return Ok(None);
        }
        self.finish_frame(&frame, buf)
    }
}
