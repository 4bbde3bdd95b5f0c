//! The frame header codec (RFC 6455 §5.2).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               | Masking-key, if MASK set to 1 |
//! +-------------------------------+-------------------------------+
//! ```

use bytes::BytesMut;

use crate::error::ProtocolError;
use crate::mask::apply_mask;

/// The longest possible frame header: 2 + 8 length bytes + 4 key bytes.
pub const MAX_HEADER_LEN: usize = 14;
/// The RSV1 bit in [`FrameHeader::rsv`]: a compressed message's first
/// frame under permessage-deflate (RFC 7692 §6).
pub const RSV1: u8 = 0b100;
/// The largest payload a control frame may carry (§5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame opcode (§5.2, §11.8). Reserved opcodes are not representable;
/// parsing one is [`ProtocolError::ReservedOpcode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: the next fragment of a message.
    Continuation,
    /// 0x1: the first frame of a text message.
    Text,
    /// 0x2: the first frame of a binary message.
    Binary,
    /// 0x8: connection close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
}

impl OpCode {
    /// The opcode for a 4-bit value, or `None` if it is reserved.
    pub const fn from_u8(value: u8) -> Option<OpCode> {
        match value {
            0x0 => Some(OpCode::Continuation),
            0x1 => Some(OpCode::Text),
            0x2 => Some(OpCode::Binary),
            0x8 => Some(OpCode::Close),
            0x9 => Some(OpCode::Ping),
            0xA => Some(OpCode::Pong),
            _ => None,
        }
    }

    /// The 4-bit wire value.
    pub const fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Whether this is a control opcode (close, ping, pong).
    pub const fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// Whether this is the final fragment of a message.
    pub fin: bool,
    /// The RSV1–RSV3 bits, in the low three bits ([`RSV1`] is 0b100). Only
    /// bits an extension negotiated are ever parsed (see
    /// [`FrameHeader::parse_with_rsv`]).
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, if the frame is masked.
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub payload_len: u64,
}

/// Whether a frame ends its message (the FIN bit, §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fin {
    /// The last (or only) frame of a message; control frames are always
    /// final.
    Final,
    /// More fragments of this message follow.
    More,
}

impl Fin {
    /// The FIN bit.
    pub const fn is_final(self) -> bool {
        matches!(self, Fin::Final)
    }

    /// The variant for a FIN bit.
    pub const fn from_bit(fin: bool) -> Self {
        if fin { Fin::Final } else { Fin::More }
    }
}

impl FrameHeader {
    /// A header without RSV bits.
    pub const fn new(fin: Fin, opcode: OpCode, mask: Option<[u8; 4]>, payload_len: u64) -> Self {
        FrameHeader {
            fin: fin.is_final(),
            rsv: 0,
            opcode,
            mask,
            payload_len,
        }
    }

    /// Parses a header at the start of `buf`, returning it and its length in
    /// bytes, or `Ok(None)` if more bytes are needed. Nothing beyond the
    /// header is looked at.
    ///
    /// Rules that hold whatever the role and state are checked here, each
    /// as early as the bytes allow: RSV bits, reserved opcodes, fragmented
    /// or over-long control frames, and 64-bit lengths with the top bit set.
    /// Non-minimal length encodings are accepted. Masking rules and limits
    /// are left to [`Connection`](crate::Connection).
    ///
    /// # Errors
    ///
    /// The [`ProtocolError`] for the first rule broken.
    pub fn parse(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        Self::parse_with_rsv(buf, 0)
    }

    /// [`parse`](Self::parse), letting through the RSV bits in `allowed`
    /// (such as [`RSV1`] once permessage-deflate is negotiated). Which
    /// frames may carry them is the extension's rule, left to the caller.
    ///
    /// # Errors
    ///
    /// As for [`parse`](Self::parse), for an RSV bit outside `allowed`.
    pub fn parse_with_rsv(
        buf: &[u8],
        allowed: u8,
    ) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let Some(&b0) = buf.first() else {
            return Ok(None);
        };
        let rsv = (b0 >> 4) & 0x7;
        if rsv & !allowed != 0 {
            return Err(ProtocolError::ReservedBits(rsv));
        }
        let opcode = OpCode::from_u8(b0 & 0xF).ok_or(ProtocolError::ReservedOpcode(b0 & 0xF))?;
        let fin = b0 & 0x80 != 0;
        if opcode.is_control() && !fin {
            return Err(ProtocolError::FragmentedControl);
        }
        let Some(&b1) = buf.get(1) else {
            return Ok(None);
        };
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7F;
        if opcode.is_control() && usize::from(len7) > MAX_CONTROL_PAYLOAD {
            // 126 and 127 announce extended lengths, necessarily > 125.
            return Err(ProtocolError::ControlTooLong(u64::from(len7)));
        }
        let (payload_len, mut pos) = match len7 {
            126 => {
                let Some(&[a, b]) = buf.get(2..4).and_then(|s| <&[u8; 2]>::try_from(s).ok()) else {
                    return Ok(None);
                };
                (u64::from(u16::from_be_bytes([a, b])), 4)
            }
            127 => {
                let Some(bytes) = buf.get(2..10).and_then(|s| <[u8; 8]>::try_from(s).ok()) else {
                    return Ok(None);
                };
                let len = u64::from_be_bytes(bytes);
                if len >> 63 != 0 {
                    return Err(ProtocolError::LengthOverflow);
                }
                (len, 10)
            }
            n => (u64::from(n), 2),
        };
        let mask = if masked {
            let Some(key) = buf
                .get(pos..pos + 4)
                .and_then(|s| <[u8; 4]>::try_from(s).ok())
            else {
                return Ok(None);
            };
            pos += 4;
            Some(key)
        } else {
            None
        };
        Ok(Some((
            FrameHeader {
                fin,
                rsv,
                opcode,
                mask,
                payload_len,
            },
            pos,
        )))
    }

    /// How many bytes [`encode`](FrameHeader::encode) writes (2 to 14).
    pub const fn encoded_len(&self) -> usize {
        let len = if self.payload_len < 126 {
            2
        } else if self.payload_len <= 0xFFFF {
            4
        } else {
            10
        };
        if self.mask.is_some() { len + 4 } else { len }
    }

    /// Appends the header in its shortest length encoding.
    pub fn encode(&self, dst: &mut BytesMut) {
        // Built on the stack and appended once: one capacity check and one
        // copy, rather than one per field (this runs for every frame sent).
        let mut head = [0u8; MAX_HEADER_LEN];
        let b0 = (u8::from(self.fin) << 7) | ((self.rsv & 0x7) << 4) | self.opcode.as_u8();
        if self.payload_len < 126 && self.mask.is_none() {
            // A server's small frame, the common case: two bytes of a
            // known length, which compile to a store instead of a copy
            // call. Lossless: checked just above.
            dst.extend_from_slice(&[b0, self.payload_len as u8]);
            return;
        }
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let [first, second, rest @ ..] = &mut head;
        *first = b0;
        let mut n = 2;
        if self.payload_len < 126 {
            // Lossless: checked just above.
            *second = mask_bit | (self.payload_len as u8);
        } else if let Ok(len) = u16::try_from(self.payload_len) {
            *second = mask_bit | 126;
            let [a, b, ..] = rest;
            [*a, *b] = len.to_be_bytes();
            n += 2;
        } else {
            *second = mask_bit | 127;
            let [a, b, c, d, e, f, g, h, ..] = rest;
            [*a, *b, *c, *d, *e, *f, *g, *h] = self.payload_len.to_be_bytes();
            n += 8;
        }
        if let Some(key) = self.mask {
            if let Some(slot) = head.get_mut(n..n + 4) {
                slot.copy_from_slice(&key);
            }
            n += 4;
        }
        dst.extend_from_slice(head.get(..n).unwrap_or_default());
    }
}

/// Appends one complete frame: the header, then `payload` masked with
/// `mask` if given. No protocol rule is checked; see
/// [`Connection::encode_frame`](crate::Connection::encode_frame) for the
/// checked, role-aware version.
///
/// ```
/// use bytes::BytesMut;
/// use oneport_rfc6455::{Fin, OpCode, encode_frame};
///
/// let mut out = BytesMut::new();
/// encode_frame(OpCode::Text, Fin::Final, None, b"Hello", &mut out);
/// assert_eq!(&out[..], b"\x81\x05Hello");
/// ```
pub fn encode_frame(
    opcode: OpCode,
    fin: Fin,
    mask: Option<[u8; 4]>,
    payload: &[u8],
    dst: &mut BytesMut,
) {
    let header = FrameHeader::new(fin, opcode, mask, payload.len() as u64);
    dst.reserve(header.encoded_len() + payload.len());
    header.encode(dst);
    let start = dst.len();
    dst.extend_from_slice(payload);
    if let Some(key) = mask {
        if let Some(tail) = dst.get_mut(start..) {
            apply_mask(tail, key, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(bytes: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        // Every proper prefix must be incomplete or fail the same way.
        let full = FrameHeader::parse(bytes);
        for cut in 0..bytes.len() {
            match FrameHeader::parse(&bytes[..cut]) {
                Ok(None) => {}
                Ok(Some(_)) => panic!("prefix of {cut} bytes parsed"),
                Err(e) => assert_eq!(Err(e), full.map(|_| ())),
            }
        }
        full
    }

    #[test]
    fn lengths_7_16_64() {
        let (h, n) = parse_all(b"\x82\x7d").unwrap().unwrap();
        assert_eq!((h.payload_len, n), (125, 2));
        let (h, n) = parse_all(b"\x82\x7e\x01\x00").unwrap().unwrap();
        assert_eq!((h.payload_len, n), (256, 4));
        let (h, n) = parse_all(b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00")
            .unwrap()
            .unwrap();
        assert_eq!((h.payload_len, n), (65536, 10));
        // Non-minimal encodings are accepted.
        let (h, _) = parse_all(b"\x82\x7e\x00\x05").unwrap().unwrap();
        assert_eq!(h.payload_len, 5);
        let (h, _) = parse_all(b"\x82\x7f\x00\x00\x00\x00\x00\x00\x00\x05")
            .unwrap()
            .unwrap();
        assert_eq!(h.payload_len, 5);
        // Top bit set.
        assert_eq!(
            parse_all(b"\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00"),
            Err(ProtocolError::LengthOverflow)
        );
    }

    #[test]
    fn rules_checked_from_the_first_bytes() {
        assert_eq!(parse_all(b"\xc1\x00"), Err(ProtocolError::ReservedBits(4)));
        assert_eq!(parse_all(b"\x91"), Err(ProtocolError::ReservedBits(1)));
        for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            assert_eq!(
                parse_all(&[0x80 | op, 0]),
                Err(ProtocolError::ReservedOpcode(op))
            );
        }
        assert_eq!(
            parse_all(b"\x09\x00"),
            Err(ProtocolError::FragmentedControl)
        );
        assert_eq!(
            parse_all(b"\x89\x7e\x00\x7e"),
            Err(ProtocolError::ControlTooLong(126))
        );
        assert!(parse_all(b"\x89\x7d").unwrap().is_some());
    }

    #[test]
    fn encode_parse_round_trip() {
        for len in [0u64, 1, 125, 126, 65535, 65536, 1 << 40] {
            for mask in [None, Some([1, 2, 3, 4])] {
                for op in [OpCode::Text, OpCode::Binary, OpCode::Continuation] {
                    for fin in [true, false] {
                        let h = FrameHeader::new(Fin::from_bit(fin), op, mask, len);
                        let mut out = BytesMut::new();
                        h.encode(&mut out);
                        assert_eq!(out.len(), h.encoded_len());
                        assert_eq!(parse_all(&out), Ok(Some((h, out.len()))));
                    }
                }
            }
        }
    }

    #[test]
    fn opcodes() {
        for v in 0..16u8 {
            if let Some(op) = OpCode::from_u8(v) {
                assert_eq!(op.as_u8(), v);
                assert_eq!(op.is_control(), v >= 8);
            } else {
                assert!(matches!(v, 3..=7 | 0xB..=0xF));
            }
        }
    }
}
