//! Response heads: encoding (server side) and parsing (client side).

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http::{Response, StatusCode, Version};

use crate::date;
use crate::error::{Error, Malformed, Smuggling};
use crate::head::{self, STACK_HEADERS};
use crate::limits::Limits;

/// How the body of an outgoing message is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLength {
    /// Exactly this many bytes follow; writes `Content-Length: n`.
    Length(u64),
    /// A chunked body follows (write it with
    /// [`encode_chunk`](crate::encode_chunk) and
    /// [`encode_last_chunk`](crate::encode_last_chunk)); writes
    /// `Transfer-Encoding: chunked`. Do not use it to answer HTTP/1.0
    /// requests, which cannot read chunked bodies.
    Chunked,
    /// No framing header. For messages without a body (101, 204, 304, the
    /// answer to `HEAD`), or a body delimited by closing the connection
    /// (with [`Persistence::Close`]).
    None,
}

/// How the body of a parsed response is framed (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseBody {
    /// No body: status 1xx, 204 or 304, or `Content-Length: 0`. (The answer
    /// to a `HEAD` request has no body either; only the caller knows that.)
    Empty,
    /// Exactly this many bytes follow (never 0).
    Length(u64),
    /// A chunked body follows.
    Chunked,
    /// The body runs until the server closes the connection: no framing
    /// header, or a `Transfer-Encoding` whose last coding is not `chunked`.
    UntilClose,
}

/// Whether the connection stays open after a response
/// ([`encode_response_head`] writes the `Connection` header that says so).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// The connection goes on: `Connection: keep-alive` is written for an
    /// HTTP/1.0 request (HTTP/1.1 persists by default).
    KeepAlive,
    /// The connection closes after this response: `Connection: close`.
    Close,
}

/// Whether a response with `status` may carry a body: never for 1xx, 204
/// and 304 (RFC 9110 §6.4.1, §15.3.5, §15.4.5). The one place oneport
/// states this rule: the encoder, the parser and the server all ask it.
pub fn status_has_body(status: StatusCode) -> bool {
    !(status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED)
}

/// A parsed response head.
#[derive(Debug)]
pub struct ResponseHead {
    /// Status, version (1.0 or 1.1) and headers; the reason phrase is
    /// dropped and the body is `()`.
    pub response: Response<()>,
    /// How the body is framed.
    pub body: ResponseBody,
}

/// Writes a response head into `dst`.
///
/// Writes, in order:
/// - the status line, always `HTTP/1.1` (RFC 9110 §6.2), with the
///   canonical reason phrase when the status has one;
/// - every header of `parts`, names in the lowercase the `http` crate keeps;
/// - `Date`, unless `parts` has one: cached per thread and re-formatted
///   once per second;
/// - `Content-Length: n` or `Transfer-Encoding: chunked` per `body`, unless
///   `parts` already has either header (then `parts` is trusted) or the
///   status has no body ([`status_has_body`]: 1xx, 204 and 304);
/// - `Connection: close` for [`Persistence::Close`], or
///   `Connection: keep-alive` for [`Persistence::KeepAlive`] when the request
///   was HTTP/1.0; skipped when `parts` already lists that option;
/// - the empty line ending the head.
///
/// Everything goes into the caller's buffer; nothing else is allocated.
///
/// Returns the persistence the head announces: [`Persistence::Close`] when
/// `persistence` is, or when the response's own `Connection` header lists
/// `close` (a handler that ends the connection that way), so that the
/// caller closes after it.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use oneport_http1::{encode_response_head, BodyLength, Persistence};
///
/// let (parts, ()) = http::Response::builder()
///     .status(404)
///     .header("content-type", "text/plain")
///     .header("date", "Sun, 06 Nov 1994 08:49:37 GMT")
///     .body(())?
///     .into_parts();
/// let mut dst = BytesMut::new();
/// encode_response_head(&parts, BodyLength::Length(9), Persistence::Close, http::Version::HTTP_11, &mut dst);
/// assert_eq!(
///     &dst[..],
///     &b"HTTP/1.1 404 Not Found\r\n\
///        content-type: text/plain\r\n\
///        date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
///        Content-Length: 9\r\n\
///        Connection: close\r\n\r\n"[..]
/// );
/// # Ok::<(), http::Error>(())
/// ```
pub fn encode_response_head(
    parts: &http::response::Parts,
    body: BodyLength,
    persistence: Persistence,
    request_version: Version,
    dst: &mut BytesMut,
) -> Persistence {
    let headers = &parts.headers;
    let status = parts.status;
    // Status line + Date + framing + Connection + blank line fit in 128.
    dst.reserve(128 + head::encoded_len(headers));

    match common_status_line(status) {
        Some(line) => dst.put_slice(line),
        None => {
            dst.put_slice(b"HTTP/1.1 ");
            dst.put_slice(status.as_str().as_bytes());
            dst.put_u8(b' ');
            if let Some(reason) = status.canonical_reason() {
                dst.put_slice(reason.as_bytes());
            }
            dst.put_slice(b"\r\n");
        }
    }

    // What the server adds depends on a few headers: noted in the one
    // pass that writes them (comparing standard names is a tag compare),
    // rather than by a hashed lookup of each.
    let (mut dated, mut framed) = (false, false);
    let mut conn = head::ConnectionOptions::default();
    for (name, value) in headers {
        head::put_header(name.as_str().as_bytes(), value.as_bytes(), dst);
        if name == DATE {
            dated = true;
        } else if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            framed = true;
        } else if name == CONNECTION {
            conn.add(value.as_bytes());
        }
    }
    if !dated {
        date::write_date_line(dst);
    }
    if !framed && status_has_body(status) {
        match body {
            BodyLength::Length(n) => {
                dst.put_slice(b"Content-Length: ");
                head::put_decimal(n, dst);
                dst.put_slice(b"\r\n");
            }
            BodyLength::Chunked => dst.put_slice(b"Transfer-Encoding: chunked\r\n"),
            BodyLength::None => {}
        }
    }
    match persistence {
        Persistence::Close if !conn.close => dst.put_slice(b"Connection: close\r\n"),
        Persistence::KeepAlive if request_version == Version::HTTP_10 && !conn.keep_alive => {
            dst.put_slice(b"Connection: keep-alive\r\n");
        }
        _ => {}
    }
    dst.put_slice(b"\r\n");
    if conn.close {
        Persistence::Close
    } else {
        persistence
    }
}

/// The whole status line of the statuses most answers have, so that
/// they are written in one copy rather than five.
fn common_status_line(status: StatusCode) -> Option<&'static [u8]> {
    Some(match status.as_u16() {
        101 => b"HTTP/1.1 101 Switching Protocols\r\n",
        200 => b"HTTP/1.1 200 OK\r\n",
        204 => b"HTTP/1.1 204 No Content\r\n",
        206 => b"HTTP/1.1 206 Partial Content\r\n",
        304 => b"HTTP/1.1 304 Not Modified\r\n",
        404 => b"HTTP/1.1 404 Not Found\r\n",
        _ => return None,
    })
}

/// Writes the interim `100 Continue` answer to a request with `Expect:
/// 100-continue` (RFC 9110 §10.1.1): a status line and no header, so the
/// client sends its body.
pub fn encode_continue(dst: &mut BytesMut) {
    dst.put_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
}

/// Parses a response head from the start of `buf` (for clients, e.g. a
/// WebSocket or SSE client reading the server's answer).
///
/// Same contract as [`parse_request`](crate::parse_request): `Ok(None)`
/// means "need more bytes" (only while `buf.len() <= max_head_bytes`), and
/// `Ok(Some((head, n)))` means the head is `buf[..n]`.
///
/// # Errors
///
/// Head and header-count limits, syntax (bare LF and obsolete line folding
/// included), a version other than 1.0/1.1, a status below 100, and the
/// framing rules of RFC 9112 §6.3: `Content-Length` with
/// `Transfer-Encoding`, duplicate or list `Content-Length`, `chunked`
/// twice, `Transfer-Encoding` in HTTP/1.0,
/// [`Error::UnsupportedTransferCoding`] for codings before a final
/// `chunked`, and [`Error::BodyTooLarge`] when `Content-Length` exceeds
/// `max_body_bytes`.
///
/// # Examples
///
/// ```
/// use oneport_http1::{parse_response, Limits, ResponseBody};
///
/// let buf = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00";
/// let (head, n) = parse_response(buf, &Limits::default())?.expect("complete head");
/// assert_eq!(head.response.status(), 101);
/// assert_eq!(head.body, ResponseBody::Empty);
/// assert_eq!(&buf[n..], b"\x81\x00");
/// # Ok::<(), oneport_http1::Error>(())
/// ```
pub fn parse_response(buf: &[u8], limits: &Limits) -> Result<Option<(ResponseHead, usize)>, Error> {
    if limits.max_headers <= STACK_HEADERS {
        let mut slots = [httparse::EMPTY_HEADER; STACK_HEADERS];
        let slots = slots.get_mut(..limits.max_headers).unwrap_or_default();
        parse_with(buf, limits, slots)
    } else {
        parse_with(
            buf,
            limits,
            &mut vec![httparse::EMPTY_HEADER; limits.max_headers],
        )
    }
}

fn parse_with<'b>(
    buf: &'b [u8],
    limits: &Limits,
    slots: &mut [httparse::Header<'b>],
) -> Result<Option<(ResponseHead, usize)>, Error> {
    let window = buf.get(..limits.max_head_bytes).unwrap_or(buf);
    // (`httparse` has no uninitialised-slots variant for responses.)
    let mut res = httparse::Response::new(slots);
    let n = match res.parse(window)? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial if buf.len() > limits.max_head_bytes => {
            return Err(Error::HeadTooLarge {
                size: buf.len(),
                max: limits.max_head_bytes,
            });
        }
        httparse::Status::Partial => return Ok(None),
    };
    let head_bytes = window.get(..n).unwrap_or(window);
    head::check_line_endings(head_bytes)?;
    let version = match res.version {
        Some(0) => Version::HTTP_10,
        Some(1) => Version::HTTP_11,
        _ => return Err(Error::UnsupportedVersion),
    };
    let status = res
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or(Error::Malformed(Malformed::Status))?;
    let shared = Bytes::copy_from_slice(head_bytes);
    let headers = head::header_map(res.headers, head_bytes, &shared)?;
    let body = response_body(&headers, status, version, limits)?;

    let mut response = Response::new(());
    *response.status_mut() = status;
    *response.version_mut() = version;
    *response.headers_mut() = headers;
    Ok(Some((ResponseHead { response, body }, n)))
}

/// RFC 9112 §6.3 body length rules for responses.
fn response_body(
    headers: &http::HeaderMap,
    status: StatusCode,
    version: Version,
    limits: &Limits,
) -> Result<ResponseBody, Error> {
    if !status_has_body(status) {
        return Ok(ResponseBody::Empty);
    }
    if headers.contains_key(TRANSFER_ENCODING) {
        if version == Version::HTTP_10 {
            return Err(Error::Smuggling(Smuggling::TransferEncodingInHttp10));
        }
        if headers.contains_key(CONTENT_LENGTH) {
            return Err(Error::Smuggling(
                Smuggling::ContentLengthAndTransferEncoding,
            ));
        }
        let codings = head::transfer_codings(headers)?.unwrap_or(head::Codings::NONE);
        return match (codings.chunked_last, codings.others) {
            (true, false) => Ok(ResponseBody::Chunked),
            (true, true) => Err(Error::UnsupportedTransferCoding),
            (false, _) => Ok(ResponseBody::UntilClose),
        };
    }
    match head::content_length(headers)? {
        None => Ok(ResponseBody::UntilClose),
        Some(0) => Ok(ResponseBody::Empty),
        Some(n) if n > limits.max_body_bytes => Err(Error::BodyTooLarge {
            size: n,
            max: limits.max_body_bytes,
        }),
        Some(n) => Ok(ResponseBody::Length(n)),
    }
}

#[cfg(test)]
mod tests;
