//! Request heads: parsing (server side) and encoding (client side).

use std::mem::MaybeUninit;

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, EXPECT, HOST, TRANSFER_ENCODING};
use http::{Method, Request, Uri, Version};

use crate::error::{Error, Malformed, Smuggling};
use crate::head::{self, STACK_HEADERS};
use crate::limits::Limits;
use crate::response::BodyLength;

/// How the body of a request is framed (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body follows the head (no framing header, or `Content-Length: 0`).
    Empty,
    /// Exactly this many body bytes follow (never 0).
    Length(u64),
    /// A chunked body follows; decode it with
    /// [`ChunkedDecoder`](crate::ChunkedDecoder).
    Chunked,
}

/// A parsed and validated request head.
#[derive(Debug)]
pub struct RequestHead {
    /// Method, target, version (1.0 or 1.1) and headers; the body is `()`.
    ///
    /// The URI is in origin-form (`/path?query`), absolute-form
    /// (`http://host/path`; its authority takes precedence over `Host`, RFC
    /// 9112 §3.2.2), `*` (only with `OPTIONS`) or authority-form
    /// (`host:port`, only and always with `CONNECT`).
    pub request: Request<()>,
    /// How the body is framed.
    pub body: BodyKind,
    /// Whether the connection may carry another request after this one:
    /// HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with
    /// `Connection: keep-alive` (and no `close`).
    pub keep_alive: bool,
    /// The client sent `Expect: 100-continue` on HTTP/1.1 and a body is
    /// expected, so it waits for `100 Continue` (or a final status) before
    /// sending that body. Always `false` for HTTP/1.0 (RFC 9110 §10.1.1) and
    /// for requests without a body.
    pub expect_continue: bool,
}

/// Parses a request head from the start of `buf`.
///
/// Returns `Ok(None)` when `buf` holds only part of a head (call again with
/// more bytes; this never happens once `buf` is longer than
/// [`Limits::max_head_bytes`]), and `Ok(Some((head, n)))` when the head is
/// `buf[..n]`; the body or the next request starts at `buf[n..]`.
///
/// # Errors
///
/// Any [`Error`]; [`Error::status`] is the response to send before closing
/// the connection. The rules, in the order they are checked:
///
/// - head larger than `max_head_bytes` (431), target longer than
///   `max_uri_len` (414, reported even for a partial head), more than
///   `max_headers` headers (431);
/// - syntax: invalid tokens, header names with whitespace before the colon,
///   obsolete line folding, bare LF line ends, control bytes in values (400);
/// - version other than HTTP/1.0 or HTTP/1.1 (505);
/// - target form not matching the method (400);
/// - HTTP/1.1 without `Host`, or more than one `Host` (400);
/// - body framing, see [`Smuggling`]: `Transfer-Encoding`
///   with `Content-Length` or in HTTP/1.0, duplicate or list
///   `Content-Length`, `chunked` not last or twice (400); another coding
///   before `chunked` (501); `Content-Length` above `max_body_bytes` (413).
///
/// # Examples
///
/// ```
/// use oneport_http1::{parse_request, BodyKind, Limits};
///
/// let buf = b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET";
/// let (head, n) = parse_request(buf, &Limits::default())?.expect("complete head");
/// assert_eq!(head.request.uri(), "/form");
/// assert_eq!(head.body, BodyKind::Length(3));
/// assert_eq!(&buf[n..], b"abcGET");
///
/// assert!(parse_request(b"GET / HT", &Limits::default())?.is_none());
/// # Ok::<(), oneport_http1::Error>(())
/// ```
pub fn parse_request(buf: &[u8], limits: &Limits) -> Result<Option<(RequestHead, usize)>, Error> {
    if limits.max_headers <= STACK_HEADERS {
        let mut slots = [const { MaybeUninit::uninit() }; STACK_HEADERS];
        let slots = slots.get_mut(..limits.max_headers).unwrap_or_default();
        parse_with(buf, limits, slots)
    } else {
        let mut slots = Vec::with_capacity(limits.max_headers);
        slots.resize_with(limits.max_headers, MaybeUninit::uninit);
        parse_with(buf, limits, &mut slots)
    }
}

fn parse_with<'b>(
    buf: &'b [u8],
    limits: &Limits,
    slots: &mut [MaybeUninit<httparse::Header<'b>>],
) -> Result<Option<(RequestHead, usize)>, Error> {
    // Never look past the head limit: bounds the work per call, and a head
    // that does not end inside the window is too large.
    let window = buf.get(..limits.max_head_bytes).unwrap_or(buf);
    let mut req = httparse::Request::new(&mut []);
    let n = match req.parse_with_uninit_headers(window, slots)? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => {
            let target = req
                .path
                .map_or_else(|| partial_target_len(window), str::len);
            if target > limits.max_uri_len {
                return Err(Error::UriTooLong {
                    size: target,
                    max: limits.max_uri_len,
                });
            }
            if buf.len() > limits.max_head_bytes {
                return Err(Error::HeadTooLarge {
                    size: buf.len(),
                    max: limits.max_head_bytes,
                });
            }
            return Ok(None);
        }
    };
    let head_bytes = window.get(..n).unwrap_or(window);
    let (Some(method), Some(path), Some(minor)) = (req.method, req.path, req.version) else {
        // httparse fills all three before it reports a complete head.
        return Err(Error::Malformed(Malformed::Token));
    };
    if path.len() > limits.max_uri_len {
        return Err(Error::UriTooLong {
            size: path.len(),
            max: limits.max_uri_len,
        });
    }
    head::check_line_endings(head_bytes)?;
    let version = match minor {
        0 => Version::HTTP_10,
        1 => Version::HTTP_11,
        _ => return Err(Error::UnsupportedVersion),
    };
    let method =
        Method::from_bytes(method.as_bytes()).map_err(|_| Error::Malformed(Malformed::Token))?;

    // One copy of the head; the URI and every header value borrow from it.
    let shared = Bytes::copy_from_slice(head_bytes);
    let uri = Uri::from_maybe_shared(head::share(head_bytes, &shared, path.as_bytes()))
        .map_err(|_| Error::Malformed(Malformed::Uri))?;
    check_target_form(&method, path, &uri)?;
    let headers = head::header_map(req.headers, head_bytes, &shared)?;
    let noted = Noted::of(req.headers);

    match noted.hosts {
        0 if version == Version::HTTP_11 => {
            return Err(Error::Malformed(Malformed::MissingHost));
        }
        2.. => return Err(Error::Malformed(Malformed::DuplicateHost)),
        _ => {}
    }

    let body = if noted.framed {
        request_body(&headers, version, limits)?
    } else {
        BodyKind::Empty
    };
    let conn = noted.connection;
    let keep_alive = if version == Version::HTTP_11 {
        !conn.close
    } else {
        conn.keep_alive && !conn.close
    };
    let expect_continue = version == Version::HTTP_11
        && body != BodyKind::Empty
        && head::has_token(&headers, &EXPECT, "100-continue");

    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    *request.headers_mut() = headers;
    Ok(Some((
        RequestHead {
            request,
            body,
            keep_alive,
            expect_continue,
        },
        n,
    )))
}

/// What the rules after parsing ask of a request's headers, noted in one
/// pass over the parsed names (a length check and a case-insensitive
/// compare each) rather than by a hashed lookup per rule.
struct Noted {
    /// How many `Host` headers (more than one is refused).
    hosts: u8,
    /// Whether `Content-Length` or `Transfer-Encoding` is present: only
    /// then are the framing rules looked at.
    framed: bool,
    connection: head::ConnectionOptions,
}

impl Noted {
    fn of(headers: &[httparse::Header<'_>]) -> Self {
        let mut noted = Noted {
            hosts: 0,
            framed: false,
            connection: head::ConnectionOptions::default(),
        };
        for h in headers {
            let name = h.name.as_bytes();
            match name.len() {
                4 if name.eq_ignore_ascii_case(b"host") => {
                    noted.hosts = noted.hosts.saturating_add(1);
                }
                10 if name.eq_ignore_ascii_case(b"connection") => noted.connection.add(h.value),
                14 if name.eq_ignore_ascii_case(b"content-length") => noted.framed = true,
                17 if name.eq_ignore_ascii_case(b"transfer-encoding") => noted.framed = true,
                _ => {}
            }
        }
        noted
    }
}

/// Length of the (possibly unfinished) request target in a partial head.
fn partial_target_len(buf: &[u8]) -> usize {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let line = buf.get(start..).unwrap_or_default();
    let Some(sp) = line.iter().position(|&b| b == b' ') else {
        return 0;
    };
    let target = line.get(sp + 1..).unwrap_or_default();
    target
        .iter()
        .position(|&b| matches!(b, b' ' | b'\r' | b'\n'))
        .unwrap_or(target.len())
}

/// RFC 9112 §3.2: which request-target form each method may use.
fn check_target_form(method: &Method, raw: &str, uri: &Uri) -> Result<(), Error> {
    let bad = Err(Error::Malformed(Malformed::TargetForm));
    if *method == Method::CONNECT {
        // authority-form, and only that: `host:port`.
        let authority_form = uri.scheme().is_none()
            && uri
                .authority()
                .is_some_and(|a| a.port().is_some() && a.as_str() == raw);
        return if authority_form { Ok(()) } else { bad };
    }
    if raw == "*" {
        return if *method == Method::OPTIONS {
            Ok(())
        } else {
            bad
        };
    }
    if raw.starts_with('/') || uri.scheme().is_some() {
        Ok(()) // origin-form or absolute-form
    } else {
        bad
    }
}

/// RFC 9112 §6.3 body length rules for requests, strict where the RFC
/// allows a choice.
fn request_body(
    headers: &http::HeaderMap,
    version: Version,
    limits: &Limits,
) -> Result<BodyKind, Error> {
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
        if !codings.chunked_last {
            return Err(Error::Smuggling(Smuggling::ChunkedNotFinal));
        }
        if codings.others {
            return Err(Error::UnsupportedTransferCoding);
        }
        return Ok(BodyKind::Chunked);
    }
    match head::content_length(headers)? {
        None | Some(0) => Ok(BodyKind::Empty),
        Some(n) if n > limits.max_body_bytes => Err(Error::BodyTooLarge {
            size: n,
            max: limits.max_body_bytes,
        }),
        Some(n) => Ok(BodyKind::Length(n)),
    }
}

/// Writes a request head for `req` into `dst` (for clients and tests).
///
/// The request line uses the URI as given: authority-form for `CONNECT`,
/// absolute-form when the URI has a scheme, else origin-form (`/` when the
/// URI has no path). The version is HTTP/1.0 for [`Version::HTTP_10`] and
/// HTTP/1.1 otherwise. Headers are written in order; then `Host` (from the
/// URI's authority) if missing, then `Content-Length: n` or
/// `Transfer-Encoding: chunked` per `body` unless either header is already
/// present. `BodyLength::Length(0)` writes `Content-Length: 0`.
///
/// The caller is responsible for the headers being consistent with
/// `body`; nothing is validated.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use oneport_http1::{encode_request_head, BodyLength};
///
/// let req = http::Request::get("/chat").header("host", "example.com").body(())?;
/// let mut dst = BytesMut::new();
/// encode_request_head(&req, BodyLength::None, &mut dst);
/// assert_eq!(&dst[..], b"GET /chat HTTP/1.1\r\nhost: example.com\r\n\r\n");
/// # Ok::<(), http::Error>(())
/// ```
pub fn encode_request_head(req: &Request<()>, body: BodyLength, dst: &mut BytesMut) {
    let uri = req.uri();
    let headers = req.headers();
    dst.reserve(64 + uri_len_hint(uri) + head::encoded_len(headers));
    dst.put_slice(req.method().as_str().as_bytes());
    dst.put_u8(b' ');
    write_target(req.method(), uri, dst);
    dst.put_slice(if req.version() == Version::HTTP_10 {
        b" HTTP/1.0\r\n"
    } else {
        b" HTTP/1.1\r\n"
    });
    for (name, value) in headers {
        head::put_header(name.as_str().as_bytes(), value.as_bytes(), dst);
    }
    if !headers.contains_key(HOST) {
        if let Some(authority) = uri.authority() {
            head::put_header(b"Host", authority.as_str().as_bytes(), dst);
        }
    }
    if !headers.contains_key(CONTENT_LENGTH) && !headers.contains_key(TRANSFER_ENCODING) {
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
    dst.put_slice(b"\r\n");
}

fn write_target(method: &Method, uri: &Uri, dst: &mut BytesMut) {
    if *method == Method::CONNECT {
        if let Some(authority) = uri.authority() {
            dst.put_slice(authority.as_str().as_bytes());
            return;
        }
    }
    if let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) {
        dst.put_slice(scheme.as_str().as_bytes());
        dst.put_slice(b"://");
        dst.put_slice(authority.as_str().as_bytes());
    }
    match uri.path_and_query() {
        Some(pq) if !pq.as_str().is_empty() => dst.put_slice(pq.as_str().as_bytes()),
        _ => dst.put_u8(b'/'),
    }
}

/// Cheap length estimate for `reserve`.
fn uri_len_hint(uri: &Uri) -> usize {
    uri.authority().map_or(0, |a| a.as_str().len() + 10)
        + uri.path_and_query().map_or(1, |p| p.as_str().len())
}

#[cfg(test)]
mod tests;
