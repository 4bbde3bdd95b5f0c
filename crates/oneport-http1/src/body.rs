//! Chunked transfer coding (RFC 9112 §7.1): the decoder and the encoders.

use bytes::{BufMut, BytesMut};

use crate::error::{Error, InvalidChunk};
use crate::head;
use crate::limits::Limits;

/// Where the decoder is in the `chunked-body` grammar of RFC 9112 §7.1:
///
/// ```text
/// chunked-body   = *chunk last-chunk trailer-section CRLF
/// chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
/// last-chunk     = 1*("0") [ chunk-ext ] CRLF
/// chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
/// chunk-ext-val  = token / quoted-string
/// trailer-section = *( field-line CRLF )
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkedState {
    /// `chunk-size`: hex digits.
    Size,
    /// `BWS` after the size or an extension value; only `;` may follow.
    SizeBws,
    /// `BWS` after `;`, before `chunk-ext-name`.
    ExtNameStart,
    /// Inside `chunk-ext-name`.
    ExtName,
    /// `BWS` after the name; `=` or `;` must follow.
    ExtNameBws,
    /// `BWS` after `=`, before `chunk-ext-val`.
    ExtValueStart,
    /// Inside a token `chunk-ext-val`.
    ExtToken,
    /// Inside a quoted-string `chunk-ext-val`.
    ExtQuoted,
    /// After a backslash in the quoted-string (`quoted-pair`).
    ExtQuotedPair,
    /// After the closing quote of a quoted-string value.
    ExtValueEnd,
    /// CR of the chunk-size line seen; LF expected.
    SizeLf,
    /// Inside `chunk-data`.
    Data,
    /// After `chunk-data`; CR expected.
    DataCr,
    /// After `chunk-data` CR; LF expected.
    DataLf,
    /// Start of a trailer `field-line`, or of the final CRLF.
    TrailerStart,
    /// Inside a trailer field name.
    TrailerName,
    /// Inside a trailer field value.
    TrailerValue,
    /// CR of a trailer line seen; LF expected.
    TrailerLf,
    /// CR of the final CRLF seen; LF expected.
    EndLf,
    /// The whole chunked body has been read.
    Done,
    /// An error was returned; the stream is unusable.
    Poisoned,
}

impl ChunkedState {
    fn in_size_line(self) -> bool {
        use ChunkedState::*;
        matches!(
            self,
            Size | SizeBws
                | ExtNameStart
                | ExtName
                | ExtNameBws
                | ExtValueStart
                | ExtToken
                | ExtQuoted
                | ExtQuotedPair
                | ExtValueEnd
                | SizeLf
        )
    }
}

/// Incremental decoder for a `Transfer-Encoding: chunked` body.
///
/// Feed it the bytes after the request head, in pieces of any size; it
/// appends the decoded body to your buffer and tells you how many input
/// bytes it consumed. Once [`is_done`](Self::is_done), the rest of the input
/// belongs to the next message (pipelining).
///
/// Strict by design: every line must end in CRLF (a bare LF is an error,
/// since disagreeing on it is a known smuggling vector), chunk sizes are
/// hex digits only (no sign, `0x` or whitespace before the size),
/// extensions must follow the RFC grammar and are discarded, and trailer
/// fields are checked for syntax, counted against
/// [`Limits::max_trailer_bytes`] and discarded (obsolete line folding
/// included, which is rejected).
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use oneport_http1::{ChunkedDecoder, Limits};
///
/// let mut dec = ChunkedDecoder::new(&Limits::default());
/// let mut body = BytesMut::new();
/// let input = b"4;note=x\r\nWiki\r\n0\r\nExpires: never\r\n\r\nNEXT";
/// let used = dec.decode(&input[..7], &mut body)?;
/// let used = used + dec.decode(&input[used..], &mut body)?;
/// assert!(dec.is_done());
/// assert_eq!(&body[..], b"Wiki");
/// assert_eq!(&input[used..], b"NEXT");
/// # Ok::<(), oneport_http1::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: ChunkedState,
    /// The chunk-size being read, then the bytes left of the chunk's data.
    size: u64,
    /// Hex digits read in the current chunk-size.
    digits: usize,
    /// Bytes of the current chunk-size line so far.
    line_len: usize,
    /// Bytes of trailer field lines so far.
    trailer_len: usize,
    /// Decoded body bytes announced so far.
    total: u64,
    max_body: u64,
    max_line: usize,
    max_trailer: usize,
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body, bounded by `limits`
    /// (`max_body_bytes`, `max_chunk_line_bytes`, `max_trailer_bytes`).
    #[must_use]
    pub fn new(limits: &Limits) -> Self {
        Self {
            state: ChunkedState::Size,
            size: 0,
            digits: 0,
            line_len: 0,
            trailer_len: 0,
            total: 0,
            max_body: limits.max_body_bytes,
            max_line: limits.max_chunk_line_bytes,
            max_trailer: limits.max_trailer_bytes,
        }
    }

    /// Consumes bytes from `input`, appending decoded body bytes to `out`.
    /// Returns how many bytes of `input` were consumed: all of them, unless
    /// the body ended inside `input`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidChunk`] for bad framing (400),
    /// [`Error::BodyTooLarge`] as soon as a chunk-size line would take the
    /// body past `max_body_bytes` (413), and [`Error::TrailersTooLarge`]
    /// (431). After an error the decoder only returns
    /// [`InvalidChunk::Poisoned`].
    pub fn decode(&mut self, input: &[u8], out: &mut BytesMut) -> Result<usize, Error> {
        let mut pos = 0;
        while let Some(rest) = input.get(pos..).filter(|r| !r.is_empty()) {
            match self.state {
                ChunkedState::Done => break,
                ChunkedState::Data => {
                    let take = usize::try_from(self.size).map_or(rest.len(), |s| s.min(rest.len()));
                    out.extend_from_slice(rest.get(..take).unwrap_or_default());
                    pos += take;
                    // `take <= self.size`, so this cannot underflow.
                    self.size -= take as u64;
                    if self.size == 0 {
                        self.state = ChunkedState::DataCr;
                    }
                }
                _ => {
                    for &b in rest {
                        pos += 1;
                        if let Err(e) = self.step(b) {
                            self.state = ChunkedState::Poisoned;
                            return Err(e);
                        }
                        if matches!(self.state, ChunkedState::Data | ChunkedState::Done) {
                            break;
                        }
                    }
                }
            }
        }
        if self.state == ChunkedState::Poisoned {
            return Err(Error::InvalidChunk(InvalidChunk::Poisoned));
        }
        Ok(pos)
    }

    /// Whether the last chunk, the trailers and the final CRLF have been read.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.state == ChunkedState::Done
    }

    /// Body bytes announced by the chunk-size lines read so far.
    #[must_use]
    pub fn body_bytes(&self) -> u64 {
        self.total
    }

    /// Advances the grammar by one byte outside `chunk-data`.
    fn step(&mut self, b: u8) -> Result<(), Error> {
        use ChunkedState::*;
        if self.state.in_size_line() {
            self.line_len += 1;
            if self.line_len > self.max_line {
                return Err(Error::InvalidChunk(InvalidChunk::LineTooLong {
                    max: self.max_line,
                }));
            }
        } else if matches!(self.state, TrailerName | TrailerValue | TrailerLf)
            || (self.state == TrailerStart && b != b'\r')
        {
            self.trailer_len += 1;
            if self.trailer_len > self.max_trailer {
                return Err(Error::TrailersTooLarge {
                    max: self.max_trailer,
                });
            }
        }
        if b == b'\n' && self.state.in_size_line() && self.state != SizeLf {
            // A bare LF ending the chunk-size line.
            return Err(Error::InvalidChunk(InvalidChunk::NewLine));
        }
        let ext = Error::InvalidChunk(InvalidChunk::Extension);
        let newline = Error::InvalidChunk(InvalidChunk::NewLine);
        let trailer = Error::InvalidChunk(InvalidChunk::Trailer);
        let ws = b == b' ' || b == b'\t';
        self.state = match self.state {
            Size => match b {
                _ if b.is_ascii_hexdigit() => {
                    if self.size > u64::MAX >> 4 {
                        return Err(Error::InvalidChunk(InvalidChunk::SizeOverflow));
                    }
                    self.size = (self.size << 4) | u64::from(hex_value(b));
                    self.digits += 1;
                    Size
                }
                _ if self.digits == 0 => return Err(Error::InvalidChunk(InvalidChunk::Size)),
                b'\r' => SizeLf,
                b';' => ExtNameStart,
                _ if ws => SizeBws,
                _ => return Err(Error::InvalidChunk(InvalidChunk::Size)),
            },
            SizeBws | ExtValueEnd | ExtToken | ExtName | ExtNameBws if b == b';' => ExtNameStart,
            ExtValueEnd | ExtToken | ExtName if b == b'\r' => SizeLf,
            SizeBws | ExtValueEnd | ExtToken if ws => SizeBws,
            ExtName | ExtNameBws if ws => ExtNameBws,
            ExtName | ExtNameBws if b == b'=' => ExtValueStart,
            ExtNameStart | ExtValueStart if ws => self.state,
            ExtNameStart | ExtName if head::is_tchar(b) => ExtName,
            ExtValueStart | ExtToken if head::is_tchar(b) => ExtToken,
            ExtValueStart if b == b'"' => ExtQuoted,
            ExtQuoted => match b {
                b'"' => ExtValueEnd,
                b'\\' => ExtQuotedPair,
                _ if is_qdtext(b) => ExtQuoted,
                _ => return Err(ext),
            },
            ExtQuotedPair if is_field_vchar(b) => ExtQuoted,
            SizeBws | ExtNameStart | ExtName | ExtNameBws | ExtValueStart | ExtToken
            | ExtQuotedPair | ExtValueEnd => return Err(ext),
            SizeLf if b == b'\n' => self.end_size_line()?,
            DataCr if b == b'\r' => DataLf,
            DataLf if b == b'\n' => {
                self.size = 0;
                self.digits = 0;
                self.line_len = 0;
                Size
            }
            TrailerStart if b == b'\r' => EndLf,
            TrailerStart | TrailerName if head::is_tchar(b) => TrailerName,
            TrailerName if b == b':' => TrailerValue,
            TrailerValue if b == b'\r' => TrailerLf,
            TrailerValue if is_field_vchar(b) => TrailerValue,
            TrailerStart | TrailerName | TrailerValue => return Err(trailer),
            TrailerLf if b == b'\n' => TrailerStart,
            EndLf if b == b'\n' => Done,
            SizeLf | DataCr | DataLf | TrailerLf | EndLf => return Err(newline),
            // `decode` never steps in these states.
            Data | Done | Poisoned => return Err(Error::InvalidChunk(InvalidChunk::Poisoned)),
        };
        Ok(())
    }

    /// The chunk-size line is complete: account for the chunk and move on.
    fn end_size_line(&mut self) -> Result<ChunkedState, Error> {
        if self.size == 0 {
            return Ok(ChunkedState::TrailerStart);
        }
        let total = self.total.saturating_add(self.size);
        if total > self.max_body {
            return Err(Error::BodyTooLarge {
                size: total,
                max: self.max_body,
            });
        }
        self.total = total;
        Ok(ChunkedState::Data)
    }
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// `qdtext` (RFC 9110 §5.6.4): HTAB, SP, VCHAR except `"` and `\`, obs-text.
fn is_qdtext(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21 | 0x23..=0x5B | 0x5D..=0x7E | 0x80..=0xFF)
}

/// HTAB, SP, VCHAR or obs-text: what a field value or quoted-pair may hold.
fn is_field_vchar(b: u8) -> bool {
    matches!(b, b'\t' | b' '..=0x7E | 0x80..=0xFF)
}

/// Appends one chunk, `<hex size>\r\n<data>\r\n`. Writes nothing for empty
/// `data`, since an empty chunk would end the body.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use oneport_http1::{encode_chunk, encode_last_chunk};
///
/// let mut dst = BytesMut::new();
/// encode_chunk(b"hello, world", &mut dst);
/// encode_chunk(b"", &mut dst);
/// encode_last_chunk(&mut dst);
/// assert_eq!(&dst[..], b"c\r\nhello, world\r\n0\r\n\r\n");
/// ```
pub fn encode_chunk(data: &[u8], dst: &mut BytesMut) {
    if data.is_empty() {
        return;
    }
    dst.reserve(data.len() + 20);
    encode_chunk_head(data.len(), dst);
    dst.put_slice(data);
    dst.put_slice(CHUNK_END);
}

/// Appends the head of a chunk of `len` bytes, `<hex size>\r\n`, for a
/// writer that sends the data from its own buffer (a vectored write of the
/// head, the data and [`CHUNK_END`]) rather than copying it. `len` must
/// not be 0: an empty chunk ends the body.
///
/// ```
/// use bytes::BytesMut;
/// use oneport_http1::{CHUNK_END, encode_chunk_head};
///
/// let mut head = BytesMut::new();
/// encode_chunk_head(300, &mut head);
/// assert_eq!(&head[..], b"12c\r\n");
/// assert_eq!(CHUNK_END, b"\r\n");
/// ```
pub fn encode_chunk_head(len: usize, dst: &mut BytesMut) {
    debug_assert!(len > 0, "an empty chunk would end the body");
    head::put_hex(len as u64, dst);
    dst.put_slice(b"\r\n");
}

/// What follows a chunk's data.
pub const CHUNK_END: &[u8] = b"\r\n";

/// Appends the last chunk and an empty trailer section: `0\r\n\r\n`.
pub fn encode_last_chunk(dst: &mut BytesMut) {
    dst.put_slice(b"0\r\n\r\n");
}

#[cfg(test)]
mod tests;
