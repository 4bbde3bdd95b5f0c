//! A message encoded once, to send to many peers.

use std::sync::{Arc, OnceLock};

use bytes::{Bytes, BytesMut};

#[cfg(feature = "tokio")]
use crate::deflate::compress_fresh;
use crate::error::{Error, LocalError};
#[cfg(feature = "tokio")]
use crate::frame::RSV1;
use crate::frame::{Fin, FrameHeader, OpCode};
use crate::message::Message;

/// A text or binary message encoded once as a server's frame (unmasked,
/// FIN set), so that a broadcast sends the same bytes to every peer
/// instead of encoding, or copying, the message once per peer.
///
/// Send it with the socket's `send_prepared`; the engine checks and
/// records the frame as it would an `encode`d one. A client, which must
/// mask every frame with a fresh key, encodes [`message`] itself instead.
///
/// Under permessage-deflate, a connection that compresses each message
/// from a fresh context (no server context takeover, the default) sends
/// the message compressed once, on first use, and shared by every clone:
/// the same bytes go to every such peer with the same window and level.
/// A connection that keeps its context compresses the message itself.
///
/// ```
/// use oneport_rfc6455::{Message, PreparedMessage};
///
/// let p = PreparedMessage::new(Message::text("to everyone"))?;
/// assert_eq!(&p.frame()[..2], b"\x81\x0b");
/// assert_eq!(p.message(), &Message::text("to everyone"));
/// # Ok::<(), oneport_rfc6455::Error>(())
/// ```
///
/// [`message`]: PreparedMessage::message
#[derive(Debug, Clone)]
pub struct PreparedMessage {
    message: Message,
    frame: Bytes,
    /// The compressed frame, with the window bits and level it was made
    /// with; shared by the clones. Only sockets (the `tokio` feature) send
    /// prepared messages.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    deflated: Arc<OnceLock<(u8, u32, Bytes)>>,
}

impl PartialEq for PreparedMessage {
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message
    }
}

impl Eq for PreparedMessage {}

impl PreparedMessage {
    /// Encodes `message`.
    ///
    /// # Errors
    ///
    /// [`Error::Local`] for a control message (ping, pong, close): those
    /// belong to one connection, not to a broadcast.
    pub fn new(message: Message) -> Result<Self, Error> {
        let (opcode, payload) = match &message {
            Message::Text(t) => (OpCode::Text, t.as_bytes().clone()),
            Message::Binary(b) => (OpCode::Binary, b.clone()),
            _ => return Err(LocalError::NotBroadcastable.into()),
        };
        let header = FrameHeader::new(Fin::Final, opcode, None, payload.len() as u64);
        let mut frame = BytesMut::with_capacity(header.encoded_len() + payload.len());
        header.encode(&mut frame);
        frame.extend_from_slice(&payload);
        Ok(Self {
            message,
            frame: frame.freeze(),
            deflated: Arc::default(),
        })
    }

    /// The frame compressed from a fresh context with this window and
    /// level (RSV1 set), made once for the first window and level asked
    /// and shared by the clones; another window or level is compressed
    /// each time it is asked for.
    #[cfg(feature = "tokio")]
    pub(crate) fn deflated_frame(&self, window_bits: u8, level: u32) -> Result<Bytes, Error> {
        if let Some((bits, lvl, frame)) = self.deflated.get() {
            if (*bits, *lvl) == (window_bits, level) {
                return Ok(frame.clone());
            }
            return self.deflate(window_bits, level);
        }
        let frame = self.deflate(window_bits, level)?;
        let (bits, lvl, shared) = self
            .deflated
            .get_or_init(|| (window_bits, level, frame.clone()));
        if (*bits, *lvl) == (window_bits, level) {
            Ok(shared.clone())
        } else {
            Ok(frame)
        }
    }

    #[cfg(feature = "tokio")]
    fn deflate(&self, window_bits: u8, level: u32) -> Result<Bytes, Error> {
        let data: &[u8] = match &self.message {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
            _ => &[],
        };
        let payload = compress_fresh(data, window_bits, level)?;
        let mut header = FrameHeader::new(Fin::Final, self.opcode(), None, payload.len() as u64);
        header.rsv = RSV1;
        let mut frame = BytesMut::with_capacity(header.encoded_len() + payload.len());
        header.encode(&mut frame);
        frame.extend_from_slice(&payload);
        Ok(frame.freeze())
    }

    /// The message.
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// The encoded frame: header and payload, unmasked.
    pub fn frame(&self) -> &Bytes {
        &self.frame
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn opcode(&self) -> OpCode {
        match self.message {
            Message::Text(_) => OpCode::Text,
            _ => OpCode::Binary,
        }
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn payload_len(&self) -> usize {
        self.message.len()
    }
}
