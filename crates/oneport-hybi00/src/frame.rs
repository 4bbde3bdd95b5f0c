//! hybi-00 framing (draft-hixie-thewebsocketprotocol-76, section 4.2 for
//! sending and 5.3 for the server's reading rules).
//!
//! A frame starts with a type byte. When its high bit is clear, the payload
//! runs up to the next `0xFF`; type `0x00` is a UTF-8 text message, other
//! types are discarded. When its high bit is set, a length follows in base
//! 128 (seven bits per byte, most significant first, high bit set on all but
//! the last byte), then that many payload bytes, which are discarded, except
//! that type `0xFF` with length zero (`0xFF 0x00`) starts the closing
//! handshake.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use oneport_rfc6455::Utf8Bytes;

use crate::{Config, Error};

/// The most bytes a length prefix may use. Ten base-128 digits hold any
/// 64-bit length; more can only be leading zeros, which are refused so the
/// prefix is bounded too.
pub const MAX_LENGTH_BYTES: usize = 10;

const TEXT: u8 = 0x00;
const SENTINEL: u8 = 0xFF;
const LENGTH_FLAG: u8 = 0x80;

/// A text frame encoded once (`0x00 … 0xFF`), to send the same bytes to
/// many sockets (a broadcast) with `WebSocket::start_send_encoded`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedText(bytes::Bytes);

impl EncodedText {
    /// Encodes `text` as one frame.
    pub fn new(text: &str) -> Self {
        let mut frame = BytesMut::with_capacity(text.len() + 2);
        encode_text(text, &mut frame);
        Self(frame.freeze())
    }

    /// The frame's bytes.
    pub fn as_bytes(&self) -> &bytes::Bytes {
        &self.0
    }
}

/// A frame the application sees. Discarded frames never surface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text message, validated as UTF-8 once, here.
    Text(Utf8Bytes),
    /// The peer started (or answered) the closing handshake with `0xFF 0x00`.
    Close,
}

/// What [`Decoder::decode_part`] gives: a text frame in pieces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramePart {
    /// The next bytes of a text frame, ending on a character boundary
    /// (UTF-8 checked as they come); `fin` on the last.
    Text {
        /// The bytes.
        data: Bytes,
        /// Whether the frame ends here.
        fin: bool,
    },
    /// The closing frame, `0xFF 0x00`.
    Close,
}

/// Incremental hybi-00 frame decoder.
///
/// Call order:
///
/// 1. append bytes read from the peer to one [`BytesMut`];
/// 2. call [`decode`](Decoder::decode) until it returns `Ok(None)`, then read
///    more and repeat.
///
/// Between calls, only append to the buffer: the decoder remembers how far it
/// has searched an unterminated text frame, so each byte is scanned once.
/// Headers and discarded payloads are consumed as they arrive; only an
/// unterminated text payload stays in the buffer, and never more than
/// [`Config::max_frame_size`] of it. After [`Frame::Close`] the rest of the
/// input is discarded. After an error the stream cannot be resynchronised
/// and every later call returns [`Error::Closed`].
///
/// ```
/// use bytes::BytesMut;
/// use oneport_hybi00::{Config, Decoder, Frame};
///
/// let mut decoder = Decoder::new(&Config::default());
/// let mut buf = BytesMut::from(&b"\x00hel"[..]);
/// assert_eq!(decoder.decode(&mut buf)?, None);
/// buf.extend_from_slice(b"lo\xFF\xFF\x00");
/// assert_eq!(decoder.decode(&mut buf)?, Some(Frame::Text("hello".into())));
/// assert_eq!(decoder.decode(&mut buf)?, Some(Frame::Close));
/// # Ok::<(), oneport_hybi00::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Decoder {
    max_frame_size: usize,
    state: State,
}

/// Where the decoder is within the frame grammar of the draft's section 5.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for a frame type byte.
    Type,
    /// Inside a `0x00` text frame; the payload so far sits at the front of
    /// the buffer and its first `scanned` bytes hold no `0xFF`.
    Text { scanned: usize },
    /// Inside a sentinel frame of another type, discarded as it arrives;
    /// `seen` payload bytes so far.
    SkipSentinel { seen: usize },
    /// Reading the base-128 length of a length-prefixed frame.
    Length {
        frame_type: u8,
        length: usize,
        bytes: usize,
    },
    /// Discarding the rest of a length-prefixed frame's payload.
    SkipLength { remaining: usize },
    /// Inside a `0x00` text frame given out in parts; `sent` bytes so far.
    TextParts { sent: u64 },
    /// `0xFF 0x00` was received; everything after it is discarded.
    Closed,
    /// An error was reported.
    Failed,
}

impl Decoder {
    /// A decoder enforcing `config.max_frame_size`.
    pub fn new(config: &Config) -> Self {
        Self {
            max_frame_size: config.max_frame_size,
            state: State::Type,
        }
    }

    /// Whether the closing frame has been decoded.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Whether the decoder is between frames (so an end of input here is
    /// clean, not in the middle of a frame).
    pub fn is_between_frames(&self) -> bool {
        matches!(self.state, State::Type | State::Closed)
    }

    /// Consumes bytes from the front of `buf` and returns the next frame, or
    /// `Ok(None)` when more input is needed. Discarded frames are skipped
    /// without returning.
    ///
    /// # Errors
    ///
    /// [`Error::FrameTooLarge`] when a payload exceeds the limit (checked as
    /// soon as the length prefix or the unterminated payload passes it),
    /// [`Error::InvalidUtf8`] for a text frame that is not UTF-8,
    /// [`Error::InvalidFrame`] for a length prefix longer than
    /// [`MAX_LENGTH_BYTES`], and [`Error::Closed`] once an error was
    /// reported.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, Error> {
        let max = self.max_frame_size;
        loop {
            match self.state {
                State::Type => {
                    let Some(&frame_type) = buf.first() else {
                        return Ok(None);
                    };
                    buf.advance(1);
                    self.state = if frame_type & LENGTH_FLAG != 0 {
                        State::Length {
                            frame_type,
                            length: 0,
                            bytes: 0,
                        }
                    } else if frame_type == TEXT {
                        State::Text { scanned: 0 }
                    } else {
                        State::SkipSentinel { seen: 0 }
                    };
                }
                State::Text { scanned } => {
                    // Never look further than one byte past the limit.
                    let limit = buf.len().min(max.saturating_add(1));
                    let found = buf
                        .get(scanned..limit)
                        .and_then(|s| s.iter().position(|&b| b == SENTINEL));
                    let Some(at) = found else {
                        if limit > max {
                            // The payload is at least one byte too long;
                            // report that, whatever the read sizes were.
                            return self.fail(Error::FrameTooLarge { size: limit, max });
                        }
                        self.state = State::Text {
                            scanned: limit.max(scanned),
                        };
                        return Ok(None);
                    };
                    let payload = buf.split_to(scanned + at).freeze();
                    buf.advance(1);
                    self.state = State::Type;
                    return match Utf8Bytes::try_from(payload) {
                        Ok(text) => Ok(Some(Frame::Text(text))),
                        Err(_) => self.fail(Error::InvalidUtf8),
                    };
                }
                // A text frame begun in parts and left: the rest goes.
                State::TextParts { .. } => self.state = State::SkipSentinel { seen: 0 },
                State::SkipSentinel { seen } => {
                    let found = buf.iter().position(|&b| b == SENTINEL);
                    let taken = found.unwrap_or(buf.len());
                    let seen = seen.saturating_add(taken);
                    if seen > max {
                        // As for text: "at least one byte too long", the
                        // same whatever the read sizes were.
                        return self.fail(Error::FrameTooLarge {
                            size: max.saturating_add(1),
                            max,
                        });
                    }
                    match found {
                        Some(at) => {
                            buf.advance(at + 1);
                            self.state = State::Type;
                        }
                        None => {
                            buf.clear();
                            self.state = State::SkipSentinel { seen };
                            return Ok(None);
                        }
                    }
                }
                State::Length {
                    frame_type,
                    length,
                    bytes,
                } => {
                    let Some(&b) = buf.first() else {
                        return Ok(None);
                    };
                    buf.advance(1);
                    let bytes = bytes + 1;
                    if bytes > MAX_LENGTH_BYTES {
                        return self.fail(Error::InvalidFrame("length prefix too long"));
                    }
                    let length = match length
                        .checked_mul(128)
                        .and_then(|l| l.checked_add(usize::from(b & 0x7F)))
                    {
                        Some(l) if l <= max => l,
                        Some(l) => return self.fail(Error::FrameTooLarge { size: l, max }),
                        None => {
                            return self.fail(Error::FrameTooLarge {
                                size: usize::MAX,
                                max,
                            });
                        }
                    };
                    if b & LENGTH_FLAG != 0 {
                        self.state = State::Length {
                            frame_type,
                            length,
                            bytes,
                        };
                    } else if frame_type == SENTINEL && length == 0 {
                        self.state = State::Closed;
                        buf.clear();
                        return Ok(Some(Frame::Close));
                    } else {
                        self.state = State::SkipLength { remaining: length };
                    }
                }
                State::SkipLength { remaining } => {
                    if remaining == 0 {
                        self.state = State::Type;
                        continue;
                    }
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    let n = remaining.min(buf.len());
                    buf.advance(n);
                    self.state = State::SkipLength {
                        remaining: remaining - n,
                    };
                }
                State::Closed => {
                    buf.clear();
                    return Ok(None);
                }
                State::Failed => return Err(Error::Closed),
            }
        }
    }

    fn fail<T>(&mut self, err: Error) -> Result<Option<T>, Error> {
        self.state = State::Failed;
        Err(err)
    }

    /// As [`decode`](Decoder::decode), but a text frame comes in
    /// [`FramePart::Text`] pieces as its bytes arrive, so memory holds one
    /// read whatever the frame's size. `limit` bounds the frame (`None`:
    /// any size) in place of [`Config::max_frame_size`]. A frame begun
    /// with `decode` goes on in parts; one left unfinished in parts is
    /// skipped by a later `decode`.
    ///
    /// # Errors
    ///
    /// As [`decode`](Decoder::decode); [`Error::InvalidUtf8`] at the first
    /// byte that cannot be part of valid UTF-8.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use oneport_hybi00::{Config, Decoder, FramePart};
    ///
    /// let mut decoder = Decoder::new(&Config::default());
    /// let mut buf = BytesMut::from(&b"\x00caf\xC3"[..]);
    /// // The character cut by the read waits for its last byte.
    /// assert_eq!(decoder.decode_part(&mut buf, None)?, Some(FramePart::Text { data: "caf".into(), fin: false }));
    /// buf.extend_from_slice(b"\xA9!\xFF");
    /// assert_eq!(decoder.decode_part(&mut buf, None)?, Some(FramePart::Text { data: "\u{e9}!".into(), fin: true }));
    /// # Ok::<(), oneport_hybi00::Error>(())
    /// ```
    pub fn decode_part(
        &mut self,
        buf: &mut BytesMut,
        limit: Option<u64>,
    ) -> Result<Option<FramePart>, Error> {
        loop {
            let sent = match self.state {
                State::TextParts { sent } => sent,
                // A text frame begun whole goes on in parts.
                State::Text { .. } => 0,
                State::Type if buf.first() == Some(&TEXT) => {
                    buf.advance(1);
                    self.state = State::TextParts { sent: 0 };
                    continue;
                }
                // Anything else as `decode` takes it: the closing frame,
                // frames of other types skipped.
                _ => {
                    return Ok(self.decode(buf)?.map(|frame| match frame {
                        Frame::Close => FramePart::Close,
                        Frame::Text(t) => FramePart::Text {
                            data: t.into_bytes(),
                            fin: true,
                        },
                    }));
                }
            };
            let end = buf.iter().position(|&b| b == SENTINEL);
            let upto = end.unwrap_or(buf.len());
            let valid = match std::str::from_utf8(&buf[..upto]) {
                Ok(_) => upto,
                // Cut inside a character by the read: wait for the rest.
                Err(e) if e.error_len().is_none() && end.is_none() => e.valid_up_to(),
                Err(_) => return self.fail(Error::InvalidUtf8),
            };
            let total = sent.saturating_add(valid as u64);
            if let Some(max) = limit {
                if total > max {
                    let size = usize::try_from(total).unwrap_or(usize::MAX);
                    let max = usize::try_from(max).unwrap_or(usize::MAX);
                    return self.fail(Error::FrameTooLarge { size, max });
                }
            }
            let data = buf.split_to(valid).freeze();
            if end.is_some() {
                buf.advance(1);
                self.state = State::Type;
                return Ok(Some(FramePart::Text { data, fin: true }));
            }
            self.state = State::TextParts { sent: total };
            if data.is_empty() {
                return Ok(None);
            }
            return Ok(Some(FramePart::Text { data, fin: false }));
        }
    }
}

/// Appends the text frame `0x00 <text> 0xFF` to `dst`. (A `str` never holds
/// the byte `0xFF`, so every text can be framed.)
pub fn encode_text(text: &str, dst: &mut BytesMut) {
    dst.reserve(text.len() + 2);
    dst.put_u8(TEXT);
    dst.put_slice(text.as_bytes());
    dst.put_u8(SENTINEL);
}

/// Appends the closing frame `0xFF 0x00` to `dst`.
pub fn encode_close(dst: &mut BytesMut) {
    dst.put_slice(&[SENTINEL, 0x00]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(max: usize) -> Config {
        Config::default().max_frame_size(max)
    }

    /// Feeds `input` in the given chunks into one buffer, collecting every
    /// frame until the first error.
    fn run(max: usize, chunks: &[&[u8]]) -> (Vec<Frame>, Option<String>) {
        let mut decoder = Decoder::new(&config(max));
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            loop {
                match decoder.decode(&mut buf) {
                    Ok(Some(f)) => frames.push(f),
                    Ok(None) => break,
                    Err(e) => return (frames, Some(e.to_string())),
                }
            }
        }
        (frames, None)
    }

    /// The same result whole, byte by byte, and split at every point.
    fn split_feed(max: usize, input: &[u8]) -> (Vec<Frame>, Option<String>) {
        let whole = run(max, &[input]);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(run(max, &bytes), whole, "byte by byte");
        for cut in 0..=input.len() {
            let (a, b) = input.split_at(cut);
            assert_eq!(run(max, &[a, b]), whole, "split at {cut}");
        }
        whole
    }

    fn text(s: &str) -> Frame {
        Frame::Text(Utf8Bytes::from(s.to_owned()))
    }

    #[test]
    fn text_and_close_at_every_split() {
        let input = b"\x00hello\xFF\x00\xFF\x00h\xC3\xA9\xE2\x82\xAC\xFF\xFF\x00\x00ignored\xFF";
        let (frames, err) = split_feed(1024, input);
        assert_eq!(err, None);
        assert_eq!(
            frames,
            vec![text("hello"), text(""), text("hé€"), Frame::Close]
        );
    }

    #[test]
    fn discarded_frames_are_skipped_at_every_split() {
        let mut input = Vec::new();
        input.extend_from_slice(b"\x80\x03abc"); // length-prefixed, discarded
        input.extend_from_slice(b"\x00one\xFF");
        input.extend_from_slice(b"\x81\x81\x00"); // 128 bytes follow
        input.extend_from_slice(&[0xFF; 128]);
        input.extend_from_slice(b"\x05junk\x00\x01\xFF"); // sentinel frame, type 5
        input.extend_from_slice(b"\xFF\x02zz"); // 0xFF type with a length
        input.extend_from_slice(b"\x80\x00"); // empty, discarded
        input.extend_from_slice(b"\x00two\xFF");
        input.extend_from_slice(b"\xFF\x80\x00"); // close with a zero-padded length
        let (frames, err) = split_feed(1024, &input);
        assert_eq!(err, None);
        assert_eq!(frames, vec![text("one"), text("two"), Frame::Close]);
    }

    #[test]
    fn invalid_utf8_is_an_error_at_every_split() {
        let (frames, err) = split_feed(64, b"\x00ok\xFF\x00\xC3\x28\xFF\x00never\xFF");
        assert_eq!(frames, vec![text("ok")]);
        assert_eq!(err.as_deref(), Some("text frame is not valid UTF-8"));
        // A truncated multi-byte sequence right before the terminator.
        let (_, err) = split_feed(64, b"\x00\xE2\x82\xFF");
        assert!(err.is_some());
    }

    #[test]
    fn text_limit_is_inclusive_and_bounds_the_search() {
        let (frames, err) = split_feed(4, b"\x00abcd\xFF");
        assert_eq!((frames, err), (vec![text("abcd")], None));
        let (frames, err) = split_feed(4, b"\x00abcde\xFF");
        assert!(frames.is_empty());
        assert!(err.unwrap().contains("limit of 4"));

        // An unterminated frame fails as soon as it passes the limit and the
        // buffer never holds more than limit + 1 payload bytes.
        let mut decoder = Decoder::new(&config(10));
        let mut buf = BytesMut::from(&b"\x00"[..]);
        for i in 0..10 {
            buf.extend_from_slice(b"x");
            assert_eq!(decoder.decode(&mut buf).unwrap(), None, "byte {i}");
        }
        buf.extend_from_slice(b"x");
        let err = decoder.decode(&mut buf).unwrap_err();
        assert!(
            matches!(err, Error::FrameTooLarge { size: 11, max: 10 }),
            "{err}"
        );
        assert!(matches!(decoder.decode(&mut buf), Err(Error::Closed)));
    }

    #[test]
    fn length_prefixed_limit_is_checked_from_the_prefix() {
        // Declares 2^14 + 1 bytes with a limit of 100: fails as soon as the
        // prefix passes the limit (129 after two bytes), before any payload.
        let mut decoder = Decoder::new(&config(100));
        let mut buf = BytesMut::from(&b"\x80\x81"[..]);
        assert_eq!(decoder.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"\x81");
        assert!(matches!(
            decoder.decode(&mut buf),
            Err(Error::FrameTooLarge {
                size: 129,
                max: 100
            })
        ));
        let (frames, err) = split_feed(3, b"\x80\x03abc\x00x\xFF\x80\x04abcd");
        assert_eq!(frames, vec![text("x")]);
        assert!(err.unwrap().contains("limit of 3"));
    }

    #[test]
    fn huge_and_overlong_lengths() {
        // Would overflow usize: a FrameTooLarge, never a panic.
        let mut input = vec![0x80];
        input.extend_from_slice(&[0xFF; 9]);
        input.push(0x7F);
        let (_, err) = run(usize::MAX, &[&input]);
        assert!(err.unwrap().contains("exceeds"));
        // Eleven length bytes of zero padding.
        let mut input = vec![0x80];
        input.extend_from_slice(&[0x80; 10]);
        input.push(0x00);
        let (_, err) = split_feed(100, &input);
        assert_eq!(
            err.as_deref(),
            Some("invalid frame: length prefix too long")
        );
        // Ten are fine.
        let mut input = vec![0x80];
        input.extend_from_slice(&[0x80; 9]);
        input.extend_from_slice(b"\x01z\x00ok\xFF");
        assert_eq!(split_feed(100, &input), (vec![text("ok")], None));
    }

    #[test]
    fn discarded_sentinel_frames_obey_the_limit_without_buffering() {
        let mut decoder = Decoder::new(&config(4));
        let mut buf = BytesMut::from(&b"\x01abc"[..]);
        assert_eq!(decoder.decode(&mut buf).unwrap(), None);
        assert!(buf.is_empty(), "discarded bytes are not kept");
        buf.extend_from_slice(b"de");
        assert!(matches!(
            decoder.decode(&mut buf),
            Err(Error::FrameTooLarge { size: 5, max: 4 })
        ));
        // Same error whatever the splits.
        let (frames, err) = split_feed(4, b"\x00ok\xFF\x01abcdefgh\xFF\x00no\xFF");
        assert_eq!(frames, vec![text("ok")]);
        assert_eq!(
            err.as_deref(),
            Some("frame of at least 5 bytes exceeds the limit of 4 bytes")
        );
        assert_eq!(
            split_feed(4, b"\x01abcd\xFF").1,
            None,
            "the limit is inclusive"
        );
        // A large discarded length-prefixed frame is consumed as it arrives.
        let mut decoder = Decoder::new(&config(1000));
        let mut buf = BytesMut::from(&b"\x80\x87\x68"[..]); // 1000
        buf.extend_from_slice(&[7; 600]);
        assert_eq!(decoder.decode(&mut buf).unwrap(), None);
        assert!(buf.is_empty());
        buf.extend_from_slice(&[7; 400]);
        buf.extend_from_slice(b"\x00a\xFF");
        assert_eq!(decoder.decode(&mut buf).unwrap(), Some(text("a")));
    }

    #[test]
    fn after_close_input_is_discarded() {
        let mut decoder = Decoder::new(&Config::default());
        let mut buf = BytesMut::from(&b"\xFF\x00\x00late\xFF"[..]);
        assert_eq!(decoder.decode(&mut buf).unwrap(), Some(Frame::Close));
        assert!(decoder.is_closed());
        assert!(buf.is_empty());
        buf.extend_from_slice(b"\x00more\xFF");
        assert_eq!(decoder.decode(&mut buf).unwrap(), None);
        assert!(buf.is_empty());
    }

    #[test]
    fn text_payload_is_zero_copy_and_leaves_the_rest() {
        let mut decoder = Decoder::new(&Config::default());
        let mut buf = BytesMut::from(&b"\x00abc\xFF\x00de"[..]);
        assert_eq!(decoder.decode(&mut buf).unwrap(), Some(text("abc")));
        assert!(decoder.is_between_frames());
        assert_eq!(decoder.decode(&mut buf).unwrap(), None);
        assert!(!decoder.is_between_frames());
        assert_eq!(&buf[..], b"de", "the partial payload stays in the buffer");
    }

    #[test]
    fn encoders() {
        let mut out = BytesMut::new();
        encode_text("hé", &mut out);
        encode_text("", &mut out);
        encode_close(&mut out);
        assert_eq!(&out[..], b"\x00h\xC3\xA9\xFF\x00\xFF\xFF\x00");
        let (frames, err) = run(16, &[&out]);
        assert_eq!(err, None);
        assert_eq!(frames, vec![text("hé"), text(""), Frame::Close]);
    }
}
