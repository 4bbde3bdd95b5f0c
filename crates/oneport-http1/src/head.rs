//! Pieces shared by request and response heads: header maps built from
//! `httparse` output, body-framing headers, token lists and number output.

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::error::{Error, Malformed, Smuggling};

/// Header slots kept on the stack; larger `max_headers` use a heap buffer.
pub(crate) const STACK_HEADERS: usize = 64;

/// Rejects heads whose lines end in a bare LF.
///
/// `httparse` accepts both CRLF and a bare LF as line ends, and rejects any
/// CR that is not followed by LF. So in a head it accepted, every CR starts
/// a CRLF, and there is a bare LF exactly when there are more LFs than CRs.
///
/// Counting vectorises where a scan for `[^\r]\n` would not: each block of
/// 127 bytes is summed in a wrapping `u8` (`+1` per LF, `-1` per CR), whose
/// true value lies in `-127..=127` and so reads back exactly as an `i8`.
pub(crate) fn check_line_endings(head: &[u8]) -> Result<(), Error> {
    let balance: i64 = head
        .chunks(127)
        .map(|block| {
            let sum = block.iter().fold(0u8, |acc, &b| {
                acc.wrapping_add(u8::from(b == b'\n'))
                    .wrapping_sub(u8::from(b == b'\r'))
            });
            i64::from(i8::from_ne_bytes([sum]))
        })
        .sum();
    if balance == 0 {
        Ok(())
    } else {
        Err(Error::Malformed(Malformed::BareLf))
    }
}

/// Position of `part` inside `whole`, if `part` is a sub-slice of it.
pub(crate) fn offset_in(whole: &[u8], part: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some(start..end)
}

/// A `Bytes` view of `part`, sharing `shared` (a copy of `base`) when
/// `part` lies inside `base`, else a fresh copy.
pub(crate) fn share(base: &[u8], shared: &Bytes, part: &[u8]) -> Bytes {
    match offset_in(base, part) {
        Some(range) if range.end <= shared.len() => shared.slice(range),
        _ => Bytes::copy_from_slice(part),
    }
}

/// Builds a `HeaderMap`; values share one copy of the head instead of one
/// allocation each.
pub(crate) fn header_map(
    headers: &[httparse::Header<'_>],
    base: &[u8],
    shared: &Bytes,
) -> Result<HeaderMap, Error> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for h in headers {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| Error::Malformed(Malformed::HeaderName))?;
        let value = HeaderValue::from_maybe_shared(share(base, shared, h.value))
            .map_err(|_| Error::Malformed(Malformed::HeaderValue))?;
        map.append(name, value);
    }
    Ok(map)
}

/// Splits a comma-separated list, trimming optional whitespace and skipping
/// empty elements (RFC 9110 §5.6.1).
pub(crate) fn list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// `tchar` from RFC 9110 §5.6.2.
pub(crate) fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.'
        | b'^' | b'_' | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Does any `name` header list `token` (ASCII case-insensitive)?
pub(crate) fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .flat_map(|v| list(v.as_bytes()))
        .any(|t| t.eq_ignore_ascii_case(token.as_bytes()))
}

/// The `close` and `keep-alive` options of the `Connection` header.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ConnectionOptions {
    pub(crate) close: bool,
    pub(crate) keep_alive: bool,
}

impl ConnectionOptions {
    /// Adds the options one `Connection` header value lists.
    pub(crate) fn add(&mut self, value: &[u8]) {
        for token in list(value) {
            if token.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if token.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            }
        }
    }
}

/// The single `Content-Length`, if any.
///
/// Strict on purpose: a second `Content-Length` header, or a list value
/// (even `5, 5`), is [`Smuggling::DuplicateContentLength`]; RFC 9110 §8.6
/// allows accepting identical lists, but rejecting them is simpler and no
/// legitimate client sends them.
pub(crate) fn content_length(headers: &HeaderMap) -> Result<Option<u64>, Error> {
    let mut values = headers.get_all(CONTENT_LENGTH).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() || value.as_bytes().contains(&b',') {
        return Err(Error::Smuggling(Smuggling::DuplicateContentLength));
    }
    parse_decimal(value.as_bytes())
        .map(Some)
        .ok_or(Error::Malformed(Malformed::ContentLength))
}

/// `1*DIGIT` into a `u64`; no sign, no whitespace, no overflow.
pub(crate) fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        let digit = u64::from(b.checked_sub(b'0').filter(|d| *d < 10)?);
        acc.checked_mul(10)?.checked_add(digit)
    })
}

/// What the `Transfer-Encoding` header(s) say, once syntax is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Codings {
    /// The final coding is `chunked`.
    pub(crate) chunked_last: bool,
    /// Some coding other than `chunked` is listed.
    pub(crate) others: bool,
}

impl Codings {
    /// No codings at all (only used when the header is absent).
    pub(crate) const NONE: Self = Self {
        chunked_last: false,
        others: false,
    };
}

/// Reads all `Transfer-Encoding` headers as one coding list.
///
/// Returns `None` without the header. `chunked` twice, `chunked` with
/// parameters, an empty list or a non-token coding name are errors.
pub(crate) fn transfer_codings(headers: &HeaderMap) -> Result<Option<Codings>, Error> {
    let mut values = headers.get_all(TRANSFER_ENCODING).iter().peekable();
    if values.peek().is_none() {
        return Ok(None);
    }
    let mut seen_any = false;
    let mut chunked = false;
    let mut codings = Codings {
        chunked_last: false,
        others: false,
    };
    for coding in values.flat_map(|v| list(v.as_bytes())) {
        seen_any = true;
        // A coding is `token *( OWS ";" OWS transfer-parameter )`.
        let name = trim_ows(coding.split(|&b| b == b';').next().unwrap_or_default());
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return Err(Error::Malformed(Malformed::TransferEncoding));
        }
        if name.eq_ignore_ascii_case(b"chunked") {
            if name.len() != coding.len() {
                // `chunked` takes no parameters (RFC 9112 §7).
                return Err(Error::Malformed(Malformed::TransferEncoding));
            }
            if chunked {
                return Err(Error::Smuggling(Smuggling::ChunkedTwice));
            }
            chunked = true;
            codings.chunked_last = true;
        } else {
            codings.others = true;
            codings.chunked_last = false;
        }
    }
    if !seen_any {
        return Err(Error::Malformed(Malformed::TransferEncoding));
    }
    Ok(Some(codings))
}

/// Appends `n` in decimal.
pub(crate) fn put_decimal(n: u64, dst: &mut BytesMut) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        // `n % 10 < 10`, so the cast cannot truncate.
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    dst.put_slice(&buf[i..]);
}

/// Appends `n` in lowercase hex without leading zeros.
pub(crate) fn put_hex(n: u64, dst: &mut BytesMut) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 16];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = DIGITS[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    dst.put_slice(&buf[i..]);
}

/// Appends `name: value\r\n`.
pub(crate) fn put_header(name: &[u8], value: &[u8], dst: &mut BytesMut) {
    dst.put_slice(name);
    dst.put_slice(b": ");
    dst.put_slice(value);
    dst.put_slice(b"\r\n");
}

/// Rough size of the header lines of `headers` once written.
pub(crate) fn encoded_len(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (n, v) in pairs {
            m.append(*n, HeaderValue::from_static(v));
        }
        m
    }

    #[test]
    fn line_endings() {
        assert!(check_line_endings(b"a\r\nb\r\n\r\n").is_ok());
        assert_eq!(
            check_line_endings(b"a\r\nb\n\r\n"),
            Err(Error::Malformed(Malformed::BareLf))
        );
        assert!(check_line_endings(b"\n").is_err());
        // Block boundaries: a CRLF split across blocks, and many lines.
        let mut long = vec![b'x'; 126];
        long.extend_from_slice(b"\r\n");
        long.extend(b"ab\r\n".repeat(200));
        assert!(check_line_endings(&long).is_ok());
        for i in 0..long.len() {
            if long[i] == b'\r' {
                let mut bad = long.clone();
                bad[i] = b'x';
                assert!(check_line_endings(&bad).is_err(), "{i}");
            }
        }
    }

    #[test]
    fn offsets() {
        let whole = b"hello world";
        assert_eq!(offset_in(whole, &whole[6..]), Some(6..11));
        assert_eq!(offset_in(whole, b"other"), None);
        let shared = Bytes::copy_from_slice(whole);
        assert_eq!(share(whole, &shared, &whole[0..5]), "hello");
        assert_eq!(share(whole, &shared, b"x"), "x");
    }

    #[test]
    fn lists_trim_and_skip_empty() {
        let got: Vec<&[u8]> = list(b" a ,, b\t,c, ").collect();
        assert_eq!(got, [&b"a"[..], b"b", b"c"]);
        assert_eq!(list(b" , ,").count(), 0);
    }

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal(b"0"), Some(0));
        assert_eq!(parse_decimal(b"00012"), Some(12));
        assert_eq!(parse_decimal(b"18446744073709551615"), Some(u64::MAX));
        for bad in [
            &b""[..],
            b"18446744073709551616",
            b"+1",
            b"-1",
            b" 1",
            b"1 ",
            b"0x1",
            b"1a",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
        for n in [0, 1, 9, 10, 12345, u64::MAX] {
            let mut b = BytesMut::new();
            put_decimal(n, &mut b);
            assert_eq!(b, n.to_string().as_bytes());
        }
        for n in [0u64, 1, 15, 16, 0xabc, u64::MAX] {
            let mut b = BytesMut::new();
            put_hex(n, &mut b);
            assert_eq!(b, format!("{n:x}").as_bytes());
        }
    }

    #[test]
    fn content_length_rules() {
        assert_eq!(content_length(&map(&[])), Ok(None));
        assert_eq!(
            content_length(&map(&[("content-length", "42")])),
            Ok(Some(42))
        );
        let dup = Err(Error::Smuggling(Smuggling::DuplicateContentLength));
        assert_eq!(content_length(&map(&[("content-length", "5, 5")])), dup);
        assert_eq!(
            content_length(&map(&[("content-length", "5"), ("content-length", "5")])),
            dup
        );
        assert_eq!(
            content_length(&map(&[("content-length", "-5")])),
            Err(Error::Malformed(Malformed::ContentLength))
        );
    }

    #[test]
    fn transfer_coding_rules() {
        let te = |v: &[&'static str]| {
            let pairs: Vec<_> = v.iter().map(|v| ("transfer-encoding", *v)).collect();
            transfer_codings(&map(&pairs))
        };
        let chunked = Codings {
            chunked_last: true,
            others: false,
        };
        assert_eq!(transfer_codings(&map(&[])), Ok(None));
        assert_eq!(te(&["chunked"]), Ok(Some(chunked)));
        assert_eq!(te(&["CHUNKED"]), Ok(Some(chunked)));
        assert_eq!(te(&[" , chunked ,"]), Ok(Some(chunked)));
        assert_eq!(
            te(&["gzip", "chunked"]),
            Ok(Some(Codings {
                chunked_last: true,
                others: true
            }))
        );
        assert_eq!(
            te(&["chunked, gzip"]),
            Ok(Some(Codings {
                chunked_last: false,
                others: true
            }))
        );
        let twice = Err(Error::Smuggling(Smuggling::ChunkedTwice));
        assert_eq!(te(&["chunked, chunked"]), twice);
        assert_eq!(te(&["chunked", "chunked"]), twice);
        let bad = Err(Error::Malformed(Malformed::TransferEncoding));
        assert_eq!(te(&[""]), bad);
        assert_eq!(te(&["chunked;q=1"]), bad);
        assert_eq!(te(&["chu\"nked"]), bad);
        assert_eq!(te(&[";x"]), bad);
    }

    #[test]
    fn connection_tokens() {
        let mut o = ConnectionOptions::default();
        o.add(b"Upgrade, Keep-Alive");
        assert!(o.keep_alive && !o.close);
        let mut o = ConnectionOptions::default();
        o.add(b"foo");
        o.add(b" CLOSE ");
        assert!(o.close && !o.keep_alive);
        assert!(has_token(
            &map(&[("expect", "100-Continue")]),
            &http::header::EXPECT,
            "100-continue"
        ));
    }
}
