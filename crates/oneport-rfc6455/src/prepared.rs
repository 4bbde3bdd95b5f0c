//! A message encoded once, to send to many peers.

use bytes::{Bytes, BytesMut};

use crate::error::{Error, LocalError};
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedMessage {
    message: Message,
    frame: Bytes,
}

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
        })
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
