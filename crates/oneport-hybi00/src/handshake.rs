//! The hybi-00 opening handshake (draft-hixie-thewebsocketprotocol-76,
//! identical to draft-ietf-hybi-thewebsocketprotocol-00, section 5).
//!
//! The client sends two keys, `Sec-WebSocket-Key1` and `Sec-WebSocket-Key2`,
//! and eight more bytes (the third key) right after its request head, without
//! a `Content-Length`. For each key the server concatenates its digits into a
//! number and divides it by the key's count of spaces; the two quotients, as
//! big-endian 32-bit integers, followed by the eight bytes, are hashed with
//! MD5. The 16 bytes of the digest follow the server's `101` response head.
//!
//! Everything here is sans-IO: requests and responses are `http` types, and
//! the encoders append to a caller's [`BytesMut`].

use bytes::{BufMut, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use md5::{Digest, Md5};

mod client;

pub use client::{client_keys, encode_request, parse_response, request};

/// The reason phrase of the server's `101` answer, as the draft spells it.
pub const REASON_PHRASE: &str = "WebSocket Protocol Handshake";
/// Length of the third key, the bytes that follow the client's request head.
pub const KEY3_LEN: usize = 8;
/// Length of the server's answer, the bytes that follow its response head.
pub const ANSWER_LEN: usize = 16;

pub(crate) const KEY1: &str = "sec-websocket-key1";
pub(crate) const KEY2: &str = "sec-websocket-key2";
pub(crate) const ORIGIN: &str = "sec-websocket-origin";
pub(crate) const LOCATION: &str = "sec-websocket-location";
pub(crate) const PROTOCOL: &str = "sec-websocket-protocol";

/// The scheme the server's `Sec-WebSocket-Location` names: `ws://` on a
/// plain connection, `wss://` when the connection is TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `ws://`: plain TCP.
    Ws,
    /// `wss://`: the stream is TLS.
    Wss,
}

/// Why an opening handshake failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The request is not a hybi-00 upgrade (see [`is_hybi00_request`]).
    #[error("not a hybi-00 WebSocket request")]
    NotHybi00Request,
    /// A required header is absent.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A header that must appear once appears several times.
    #[error("duplicate {0} header")]
    DuplicateHeader(&'static str),
    /// A header's value cannot be used.
    #[error("invalid {0} header")]
    InvalidHeader(&'static str),
    /// A key has no spaces, so its number cannot be divided by their count.
    #[error("key contains no spaces")]
    KeyNoSpaces,
    /// A key's number is not an integral multiple of its count of spaces.
    #[error("key number is not a multiple of its spaces")]
    KeyNotMultiple,
    /// A key's digits make a number larger than 4294967295.
    #[error("key number does not fit in 32 bits")]
    KeyTooLarge,
    /// The eight bytes of the third key did not arrive in time.
    #[error("timed out waiting for the 8 key bytes after the request head")]
    Timeout,
    /// The connection ended before the eight bytes of the third key.
    #[error("connection ended before the 8 key bytes after the request head")]
    ShortBody,
    /// The subprotocol the server chose is not a valid header value (local
    /// misuse; answered with `500`).
    #[error("the chosen subprotocol is not a valid header value")]
    InvalidProtocol,
    /// Client side: the URL to connect to is not a usable `ws://` URL (local
    /// misuse).
    #[error("invalid WebSocket URL: {0}")]
    InvalidUrl(&'static str),
    /// Client side: the server answered with another status than `101`.
    #[error("server answered with status {0} instead of 101")]
    UnexpectedStatus(u16),
    /// Client side: the server's response is malformed.
    #[error("invalid handshake response: {0}")]
    InvalidResponse(&'static str),
    /// Client side: the server's response head is larger than the limit.
    #[error("handshake response head larger than {0} bytes")]
    ResponseTooLarge(usize),
    /// Client side: the server's 16 bytes are not the expected answer.
    #[error("the server's challenge answer does not match")]
    ChallengeMismatch,
}

impl HandshakeError {
    /// The status a server answers with: `400 Bad Request` for anything the
    /// client did wrong, `500` for the local mistakes
    /// [`InvalidProtocol`](Self::InvalidProtocol) and
    /// [`InvalidUrl`](Self::InvalidUrl).
    /// The client-side variants (the server's answer was wrong) report
    /// `502 Bad Gateway`; nothing is sent for them.
    pub fn status(&self) -> StatusCode {
        match self {
            HandshakeError::InvalidProtocol | HandshakeError::InvalidUrl(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            HandshakeError::UnexpectedStatus(_)
            | HandshakeError::InvalidResponse(_)
            | HandshakeError::ResponseTooLarge(_)
            | HandshakeError::ChallengeMismatch => StatusCode::BAD_GATEWAY,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// Whether `req` asks for a hybi-00 WebSocket: a `GET` with
/// `Sec-WebSocket-Key1`, `Sec-WebSocket-Key2` and `Upgrade: WebSocket`
/// (compared case-insensitively). The keys are checked by [`response`].
pub fn is_hybi00_request<B>(req: &Request<B>) -> bool {
    let headers = req.headers();
    req.method() == Method::GET
        && headers.contains_key(KEY1)
        && headers.contains_key(KEY2)
        && headers.get_all(header::UPGRADE).iter().any(|v| {
            v.to_str()
                .is_ok_and(|s| s.trim().eq_ignore_ascii_case("websocket"))
        })
}

/// The number a key stands for: its digits read as a decimal number, divided
/// by its count of spaces (U+0020). Every other character is ignored.
///
/// # Errors
///
/// [`KeyNoSpaces`](HandshakeError::KeyNoSpaces) when it has no spaces,
/// [`KeyNotMultiple`](HandshakeError::KeyNotMultiple) when the number is not
/// an integral multiple of them, [`KeyTooLarge`](HandshakeError::KeyTooLarge)
/// when the digits exceed 4294967295.
///
/// ```
/// use oneport_hybi00::handshake::key_number;
/// assert_eq!(key_number("18x 6]8vM;54 *(5:  {   U1]8  z [  8"), Ok(155712099));
/// ```
pub fn key_number(key: &str) -> Result<u32, HandshakeError> {
    let mut number: u64 = 0;
    let mut spaces: u64 = 0;
    for b in key.bytes() {
        match b {
            b'0'..=b'9' => {
                number = number * 10 + u64::from(b - b'0');
                if number > u64::from(u32::MAX) {
                    return Err(HandshakeError::KeyTooLarge);
                }
            }
            b' ' => spaces += 1,
            _ => {}
        }
    }
    if spaces == 0 {
        return Err(HandshakeError::KeyNoSpaces);
    }
    if number % spaces != 0 {
        return Err(HandshakeError::KeyNotMultiple);
    }
    u32::try_from(number / spaces).map_err(|_| HandshakeError::KeyTooLarge)
}

/// The 16-byte answer: MD5 of the big-endian 32-bit numbers of both keys
/// followed by the eight bytes of the third key.
///
/// # Errors
///
/// As [`key_number`] for either key.
///
/// ```
/// use oneport_hybi00::handshake::challenge;
/// let answer = challenge("4 @1  46546xW%0l 1 5", "12998 5 Y3 1  .P00", b"^n:ds[4U")?;
/// assert_eq!(&answer, b"8jKS'y:G*Co,Wxa-");
/// # Ok::<(), oneport_hybi00::handshake::HandshakeError>(())
/// ```
pub fn challenge(
    key1: &str,
    key2: &str,
    key3: &[u8; KEY3_LEN],
) -> Result<[u8; ANSWER_LEN], HandshakeError> {
    let n1 = key_number(key1)?;
    let n2 = key_number(key2)?;
    let mut md5 = Md5::new();
    md5.update(n1.to_be_bytes());
    md5.update(n2.to_be_bytes());
    md5.update(key3);
    Ok(md5.finalize().into())
}

/// The server's `101` response to a hybi-00 request, without the 16 answer
/// bytes (see [`encode_response`], which also writes the draft's reason
/// phrase that `http::Response` cannot hold).
///
/// Headers, in this order: `Upgrade: WebSocket`, `Connection: Upgrade`,
/// `Sec-WebSocket-Origin` (the request's `Origin`, when it has one),
/// `Sec-WebSocket-Location` (`ws://`, or `wss://` for [`Scheme::Wss`], then the
/// request's `Host` and path with query) and `Sec-WebSocket-Protocol` when
/// `protocol` is given. Both keys are checked, so a response is only built
/// for a request whose answer can be computed.
///
/// # Errors
///
/// [`NotHybi00Request`](HandshakeError::NotHybi00Request), a missing,
/// duplicate or invalid key, `Host` or `Origin`, a key error as in
/// [`key_number`], or [`InvalidProtocol`](HandshakeError::InvalidProtocol).
pub fn response<B>(
    req: &Request<B>,
    scheme: Scheme,
    protocol: Option<&str>,
) -> Result<Response<()>, HandshakeError> {
    let (key1, key2) = keys(req)?;
    key_number(key1)?;
    key_number(key2)?;
    let host = host(req)?;
    let path = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let path = if path.starts_with('/') { path } else { "/" };
    let scheme = match scheme {
        Scheme::Ws => "ws",
        Scheme::Wss => "wss",
    };
    let location = HeaderValue::from_str(&format!("{scheme}://{host}{path}"))
        .map_err(|_| HandshakeError::InvalidHeader("Host"))?;

    let mut res = Response::new(());
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = res.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("WebSocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Some(origin) = single(req.headers(), header::ORIGIN.as_str(), "Origin")? {
        headers.insert(HeaderName::from_static(ORIGIN), origin.clone());
    }
    headers.insert(HeaderName::from_static(LOCATION), location);
    if let Some(p) = protocol {
        if p.is_empty() {
            return Err(HandshakeError::InvalidProtocol);
        }
        let value = HeaderValue::from_str(p).map_err(|_| HandshakeError::InvalidProtocol)?;
        headers.insert(HeaderName::from_static(PROTOCOL), value);
    }
    Ok(res)
}

/// Writes the whole server answer into `dst`: the status line
/// `HTTP/1.1 101 WebSocket Protocol Handshake`, the headers of [`response`]
/// (with the draft's capitalisation), an empty line and the 16 bytes of
/// [`challenge`]. Nothing is written on error.
///
/// # Errors
///
/// As [`response`] and [`challenge`].
pub fn encode_response<B>(
    req: &Request<B>,
    key3: &[u8; KEY3_LEN],
    scheme: Scheme,
    protocol: Option<&str>,
    dst: &mut BytesMut,
) -> Result<(), HandshakeError> {
    let res = response(req, scheme, protocol)?;
    encode_answer(req, &res, key3, dst)
}

/// Writes `res` (a [`response`] for `req`, to which the application may
/// have added headers such as `Set-Cookie`) and the 16 answer bytes for
/// `req`'s keys and `key3` into `dst`. The status line is always the
/// draft's `HTTP/1.1 101 WebSocket Protocol Handshake`, which old clients
/// compare byte for byte.
///
/// # Errors
///
/// The key errors of [`challenge`].
pub fn encode_answer<B>(
    req: &Request<B>,
    res: &Response<()>,
    key3: &[u8; KEY3_LEN],
    dst: &mut BytesMut,
) -> Result<(), HandshakeError> {
    let (key1, key2) = keys(req)?;
    let answer = challenge(key1, key2, key3)?;
    dst.reserve(256);
    dst.put_slice(b"HTTP/1.1 101 ");
    dst.put_slice(REASON_PHRASE.as_bytes());
    dst.put_slice(b"\r\n");
    put_headers(res.headers(), dst);
    dst.put_slice(b"\r\n");
    dst.put_slice(&answer);
    Ok(())
}

/// Writes the answer to a refused handshake into `dst`: a complete response
/// with [`HandshakeError::status`], `Connection: close` and the error's
/// message as a short `text/plain` body.
pub fn encode_rejection(err: &HandshakeError, dst: &mut BytesMut) {
    let mut body = err.to_string();
    body.push('\n');
    let mut res = Response::new(());
    *res.status_mut() = err.status();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    let (parts, ()) = res.into_parts();
    // An ordinary HTTP answer, so the one HTTP codec writes its head.
    oneport_http1::encode_response_head(
        &parts,
        oneport_http1::BodyLength::Length(body.len() as u64),
        oneport_http1::Persistence::Close,
        http::Version::HTTP_11,
        dst,
    );
    dst.put_slice(body.as_bytes());
}

/// Both keys of a request, each present exactly once.
fn keys<B>(req: &Request<B>) -> Result<(&str, &str), HandshakeError> {
    if !is_hybi00_request(req) {
        return Err(HandshakeError::NotHybi00Request);
    }
    let key1 = required_str(req.headers(), KEY1, "Sec-WebSocket-Key1")?;
    let key2 = required_str(req.headers(), KEY2, "Sec-WebSocket-Key2")?;
    Ok((key1, key2))
}

/// The request's host: its `Host` header, else the authority of an
/// absolute-form target. User information is refused.
fn host<B>(req: &Request<B>) -> Result<&str, HandshakeError> {
    let host = match single(req.headers(), header::HOST.as_str(), "Host")? {
        Some(v) => v
            .to_str()
            .map_err(|_| HandshakeError::InvalidHeader("Host"))?,
        None => req
            .uri()
            .authority()
            .map(|a| a.as_str())
            .ok_or(HandshakeError::MissingHeader("Host"))?,
    };
    let valid =
        !host.is_empty() && host.parse::<http::uri::Authority>().is_ok() && !host.contains('@');
    if valid {
        Ok(host)
    } else {
        Err(HandshakeError::InvalidHeader("Host"))
    }
}

/// The value of a header that may appear at most once.
pub(crate) fn single<'a>(
    headers: &'a HeaderMap,
    name: &str,
    display: &'static str,
) -> Result<Option<&'a HeaderValue>, HandshakeError> {
    let mut all = headers.get_all(name).iter();
    let first = all.next();
    if all.next().is_some() {
        return Err(HandshakeError::DuplicateHeader(display));
    }
    Ok(first)
}

/// The text of a header that must appear exactly once.
fn required_str<'a>(
    headers: &'a HeaderMap,
    name: &str,
    display: &'static str,
) -> Result<&'a str, HandshakeError> {
    single(headers, name, display)?
        .ok_or(HandshakeError::MissingHeader(display))?
        .to_str()
        .map_err(|_| HandshakeError::InvalidHeader(display))
}

/// Writes `Name: value\r\n` lines, spelling the names as the draft does
/// (`http` stores them in lower case; early clients compared them exactly).
pub(crate) fn put_headers(headers: &HeaderMap, dst: &mut BytesMut) {
    for (name, value) in headers {
        put_name(name.as_str(), dst);
        dst.put_slice(b": ");
        dst.put_slice(value.as_bytes());
        dst.put_slice(b"\r\n");
    }
}

fn put_name(name: &str, dst: &mut BytesMut) {
    let known = match name {
        "upgrade" => Some("Upgrade"),
        "connection" => Some("Connection"),
        "host" => Some("Host"),
        "origin" => Some("Origin"),
        KEY1 => Some("Sec-WebSocket-Key1"),
        KEY2 => Some("Sec-WebSocket-Key2"),
        ORIGIN => Some("Sec-WebSocket-Origin"),
        LOCATION => Some("Sec-WebSocket-Location"),
        PROTOCOL => Some("Sec-WebSocket-Protocol"),
        _ => None,
    };
    if let Some(k) = known {
        dst.put_slice(k.as_bytes());
        return;
    }
    // Title-Case the rest: upper-case the first letter of each dash-separated word.
    let mut upper = true;
    for b in name.bytes() {
        dst.put_u8(if upper { b.to_ascii_uppercase() } else { b });
        upper = b == b'-';
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The second worked example of the draft (the one with the 8 bytes
    // `Tm[K T2u`).
    const DRAFT_KEY1: &str = "18x 6]8vM;54 *(5:  {   U1]8  z [  8";
    const DRAFT_KEY2: &str = "1_ tx7X d  <  nw  334J702) 7]o}` 0";
    const DRAFT_KEY3: &[u8; 8] = b"Tm[K T2u";
    const DRAFT_ANSWER: &[u8; 16] = b"fQJ,fN/4F4!~K~MH";

    fn draft_request() -> Request<()> {
        Request::builder()
            .method("GET")
            .uri("/demo")
            .header("Host", "example.com")
            .header("Connection", "Upgrade")
            .header("Sec-WebSocket-Key2", DRAFT_KEY2)
            .header("Upgrade", "WebSocket")
            .header("Sec-WebSocket-Key1", DRAFT_KEY1)
            .header("Origin", "http://example.com")
            .body(())
            .unwrap()
    }

    #[test]
    fn draft_key_numbers() {
        // 1868545188 / 12 and 1733470270 / 10.
        assert_eq!(key_number(DRAFT_KEY1), Ok(155_712_099));
        assert_eq!(key_number(DRAFT_KEY2), Ok(173_347_027));
    }

    #[test]
    fn draft_worked_example_answer() {
        assert_eq!(
            &challenge(DRAFT_KEY1, DRAFT_KEY2, DRAFT_KEY3).unwrap(),
            DRAFT_ANSWER
        );
    }

    #[test]
    fn draft_introduction_example_answer() {
        let answer = challenge("4 @1  46546xW%0l 1 5", "12998 5 Y3 1  .P00", b"^n:ds[4U");
        assert_eq!(&answer.unwrap(), b"8jKS'y:G*Co,Wxa-");
    }

    #[test]
    fn draft_worked_example_full_response_bytes() {
        let req = draft_request();
        assert!(is_hybi00_request(&req));
        let mut out = BytesMut::new();
        encode_response(&req, DRAFT_KEY3, Scheme::Ws, Some("sample"), &mut out).unwrap();
        let expected: &[u8] = b"HTTP/1.1 101 WebSocket Protocol Handshake\r\n\
            Upgrade: WebSocket\r\n\
            Connection: Upgrade\r\n\
            Sec-WebSocket-Origin: http://example.com\r\n\
            Sec-WebSocket-Location: ws://example.com/demo\r\n\
            Sec-WebSocket-Protocol: sample\r\n\
            \r\n\
            fQJ,fN/4F4!~K~MH";
        assert_eq!(&out[..], expected);
    }

    #[test]
    fn response_headers() {
        let req = draft_request();
        let res = response(&req, Scheme::Wss, None).unwrap();
        assert_eq!(res.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(res.headers()["upgrade"], "WebSocket");
        assert_eq!(res.headers()["connection"], "Upgrade");
        assert_eq!(res.headers()[ORIGIN], "http://example.com");
        assert_eq!(res.headers()[LOCATION], "wss://example.com/demo");
        assert!(!res.headers().contains_key(PROTOCOL));
    }

    #[test]
    fn location_keeps_query_and_port_and_defaults_path() {
        let mut req = draft_request();
        *req.uri_mut() = "/chat/room?id=7&x=y".parse().unwrap();
        req.headers_mut()
            .insert("host", HeaderValue::from_static("127.0.0.1:8080"));
        let res = response(&req, Scheme::Ws, None).unwrap();
        assert_eq!(
            res.headers()[LOCATION],
            "ws://127.0.0.1:8080/chat/room?id=7&x=y"
        );
        *req.uri_mut() = "*".parse().unwrap();
        let res = response(&req, Scheme::Ws, None).unwrap();
        assert_eq!(res.headers()[LOCATION], "ws://127.0.0.1:8080/");
    }

    #[test]
    fn no_origin_no_origin_header() {
        let mut req = draft_request();
        req.headers_mut().remove("origin");
        let res = response(&req, Scheme::Ws, None).unwrap();
        assert!(!res.headers().contains_key(ORIGIN));
    }

    #[test]
    fn recognition() {
        let mut req = draft_request();
        req.headers_mut()
            .insert("upgrade", HeaderValue::from_static("websocket"));
        assert!(is_hybi00_request(&req), "Upgrade is case-insensitive");
        let mut r = draft_request();
        r.headers_mut().remove(KEY1);
        assert!(!is_hybi00_request(&r));
        let mut r = draft_request();
        r.headers_mut().remove(KEY2);
        assert!(!is_hybi00_request(&r));
        let mut r = draft_request();
        r.headers_mut().remove("upgrade");
        assert!(!is_hybi00_request(&r));
        let mut r = draft_request();
        *r.method_mut() = Method::POST;
        assert!(!is_hybi00_request(&r));
        assert_eq!(
            response(&r, Scheme::Ws, None).unwrap_err(),
            HandshakeError::NotHybi00Request
        );
        // An RFC 6455 request is not hybi-00.
        let rfc = Request::builder()
            .uri("/")
            .header("Host", "x")
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
            .body(())
            .unwrap();
        assert!(!is_hybi00_request(&rfc));
    }

    #[test]
    fn key_errors() {
        assert_eq!(key_number("12345678"), Err(HandshakeError::KeyNoSpaces));
        assert_eq!(key_number(""), Err(HandshakeError::KeyNoSpaces));
        assert_eq!(key_number("1 1 1"), Err(HandshakeError::KeyNotMultiple));
        assert_eq!(key_number("1 0"), Ok(10));
        assert_eq!(key_number("7  "), Err(HandshakeError::KeyNotMultiple));
        assert_eq!(key_number("4294967296 "), Err(HandshakeError::KeyTooLarge));
        assert_eq!(
            key_number("99999999999999999999999999 "),
            Err(HandshakeError::KeyTooLarge)
        );
        assert_eq!(key_number("4294967295 "), Ok(u32::MAX));
        assert_eq!(key_number("0 "), Ok(0));
        assert_eq!(key_number(" a b "), Ok(0));
        assert_eq!(key_number("1 2"), Ok(12));
        // Non-ASCII characters are ignored like any other non-digit.
        assert_eq!(key_number("é4 ٣ 2"), Ok(21));
    }

    #[test]
    fn bad_keys_refuse_the_response() {
        let mut req = draft_request();
        req.headers_mut()
            .insert(KEY1, HeaderValue::from_static("123456"));
        assert_eq!(
            response(&req, Scheme::Ws, None).unwrap_err(),
            HandshakeError::KeyNoSpaces
        );
        let mut out = BytesMut::new();
        assert!(encode_response(&req, DRAFT_KEY3, Scheme::Ws, None, &mut out).is_err());
        assert!(out.is_empty(), "nothing written on error");

        let mut req = draft_request();
        req.headers_mut()
            .insert(KEY2, HeaderValue::from_static("1 2 3"));
        assert_eq!(
            response(&req, Scheme::Ws, None).unwrap_err(),
            HandshakeError::KeyNotMultiple
        );
    }

    #[test]
    fn header_problems() {
        let mut req = draft_request();
        req.headers_mut()
            .append(KEY1, HeaderValue::from_static("1 1"));
        assert_eq!(
            response(&req, Scheme::Ws, None).unwrap_err(),
            HandshakeError::DuplicateHeader("Sec-WebSocket-Key1")
        );
        let mut req = draft_request();
        req.headers_mut().remove("host");
        assert_eq!(
            response(&req, Scheme::Ws, None).unwrap_err(),
            HandshakeError::MissingHeader("Host")
        );
        let mut req = draft_request();
        req.headers_mut()
            .insert("host", HeaderValue::from_static("user@evil"));
        assert_eq!(
            response(&req, Scheme::Ws, None).unwrap_err(),
            HandshakeError::InvalidHeader("Host")
        );
        let req = draft_request();
        assert_eq!(
            response(&req, Scheme::Ws, Some("a\r\nb")).unwrap_err(),
            HandshakeError::InvalidProtocol
        );
        assert_eq!(
            response(&req, Scheme::Ws, Some("")).unwrap_err(),
            HandshakeError::InvalidProtocol
        );
        // Absolute-form target and no Host: the authority is used.
        let mut req = draft_request();
        req.headers_mut().remove("host");
        *req.uri_mut() = "http://example.org:81/a".parse().unwrap();
        let res = response(&req, Scheme::Ws, None).unwrap();
        assert_eq!(res.headers()[LOCATION], "ws://example.org:81/a");
    }

    #[test]
    fn rejection_bytes() {
        let mut out = BytesMut::new();
        encode_rejection(&HandshakeError::KeyNoSpaces, &mut out);
        let text = std::str::from_utf8(&out).unwrap();
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
        assert!(text.contains("Connection: close\r\n"));
        let body = "key contains no spaces\n";
        assert!(text.contains(&format!("Content-Length: {}\r\n", body.len())));
        assert!(text.ends_with(&format!("\r\n\r\n{body}")));
        assert_eq!(HandshakeError::Timeout.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            HandshakeError::KeyNotMultiple.status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            HandshakeError::InvalidProtocol.status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn unknown_header_names_are_title_cased() {
        let mut h = HeaderMap::new();
        h.insert("x-custom-thing", HeaderValue::from_static("v"));
        let mut out = BytesMut::new();
        put_headers(&h, &mut out);
        assert_eq!(&out[..], b"X-Custom-Thing: v\r\n");
    }
}
