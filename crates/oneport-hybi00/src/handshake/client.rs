//! The client half of the handshake: random keys, the request, and the
//! check of the server's answer.

use bytes::{BufMut, BytesMut};
use http::header::{self, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use oneport_http1::{BodyLength, Limits};
use rand::Rng;

use super::{ANSWER_LEN, HandshakeError, KEY1, KEY2, KEY3_LEN, PROTOCOL, challenge, single};

/// Fresh random keys for a client, generated as the draft describes, and the
/// answer the server must send back: `(key1, key2, key3, expected_answer)`.
///
/// ```
/// use oneport_hybi00::handshake::{challenge, client_keys};
/// let (key1, key2, key3, expected) = client_keys();
/// assert_eq!(challenge(&key1, &key2, &key3)?, expected);
/// # Ok::<(), oneport_hybi00::handshake::HandshakeError>(())
/// ```
pub fn client_keys() -> (String, String, [u8; KEY3_LEN], [u8; ANSWER_LEN]) {
    let mut rng = rand::rng();
    let key1 = random_key(&mut rng);
    let key2 = random_key(&mut rng);
    let mut key3 = [0u8; KEY3_LEN];
    rng.fill(&mut key3);
    // The generated keys always satisfy key_number (tested below); the
    // fallback only keeps this function total.
    let expected = challenge(&key1, &key2, &key3).unwrap_or([0; ANSWER_LEN]);
    (key1, key2, key3, expected)
}

/// One key: a multiple of 1..=12 spaces, written in decimal, with 1 to 12
/// random non-digit characters and the spaces inserted at random places
/// (never first or last).
fn random_key(rng: &mut impl Rng) -> String {
    let spaces: u32 = rng.random_range(1..=12);
    let number: u32 = rng.random_range(0..=u32::MAX / spaces);
    let product = u64::from(number) * u64::from(spaces);
    let mut key: Vec<u8> = product.to_string().into_bytes();
    for _ in 0..rng.random_range(1..=12u8) {
        // U+0021..=U+002F and U+003A..=U+007E: printable, not a digit or space.
        let r: u8 = rng.random_range(0..84);
        let c = if r < 15 { 0x21 + r } else { 0x3A + (r - 15) };
        let at = rng.random_range(0..=key.len());
        key.insert(at, c);
    }
    for _ in 0..spaces {
        let at = rng.random_range(1..key.len());
        key.insert(at, b' ');
    }
    key.into_iter().map(char::from).collect()
}

/// The client's request for `url` (`ws://host[:port]/path?query`), with
/// `Host`, `Upgrade: WebSocket`, `Connection: Upgrade`, both keys, `Origin`
/// when given and `Sec-WebSocket-Protocol` when given. Encode it with
/// [`encode_request`].
///
/// # Errors
///
/// [`InvalidHeader`](HandshakeError::InvalidHeader) when the URL has no host
/// or a value cannot be a header.
pub fn request(
    url: &Uri,
    origin: Option<&str>,
    protocol: Option<&str>,
    key1: &str,
    key2: &str,
) -> Result<Request<()>, HandshakeError> {
    let authority = url
        .authority()
        .ok_or(HandshakeError::InvalidHeader("Host"))?;
    let path = url.path_and_query().map_or("/", |pq| pq.as_str());
    let path = if path.is_empty() { "/" } else { path };
    let value =
        |s: &str, name| HeaderValue::from_str(s).map_err(|_| HandshakeError::InvalidHeader(name));
    let mut req = Request::new(());
    *req.uri_mut() = path
        .parse()
        .map_err(|_| HandshakeError::InvalidHeader("path"))?;
    let h = req.headers_mut();
    h.insert(header::HOST, value(authority.as_str(), "Host")?);
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("WebSocket"));
    if let Some(o) = origin {
        h.insert(header::ORIGIN, value(o, "Origin")?);
    }
    if let Some(p) = protocol {
        h.insert(
            HeaderName::from_static(PROTOCOL),
            value(p, "Sec-WebSocket-Protocol")?,
        );
    }
    h.insert(
        HeaderName::from_static(KEY1),
        value(key1, "Sec-WebSocket-Key1")?,
    );
    h.insert(
        HeaderName::from_static(KEY2),
        value(key2, "Sec-WebSocket-Key2")?,
    );
    Ok(req)
}

/// Writes `GET <path> HTTP/1.1`, the request's headers, an empty line and
/// the eight bytes of the third key into `dst`.
pub fn encode_request(req: &Request<()>, key3: &[u8; KEY3_LEN], dst: &mut BytesMut) {
    oneport_http1::encode_request_head(req, BodyLength::None, dst);
    dst.put_slice(key3);
}

/// Checks the server's answer at the start of `buf`, parsed by
/// `oneport-http1` under `limits` like every HTTP head in oneport: a `101` head with
/// `Upgrade: WebSocket` and `Connection: Upgrade`, followed by 16 bytes equal
/// to `expected` (from [`client_keys`] or [`challenge`]).
///
/// Returns `Ok(None)` while more bytes are needed, else the response head
/// and how many bytes of `buf` it and the answer took; what follows is
/// already WebSocket data.
///
/// # Errors
///
/// [`UnexpectedStatus`](HandshakeError::UnexpectedStatus),
/// [`InvalidResponse`](HandshakeError::InvalidResponse),
/// [`ResponseTooLarge`](HandshakeError::ResponseTooLarge) past
/// [`Limits::max_head_bytes`], or
/// [`ChallengeMismatch`](HandshakeError::ChallengeMismatch).
pub fn parse_response(
    buf: &[u8],
    expected: &[u8; ANSWER_LEN],
    limits: &Limits,
) -> Result<Option<(Response<()>, usize)>, HandshakeError> {
    let (head, head_len) = match oneport_http1::parse_response(buf, limits) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => return Ok(None),
        Err(oneport_http1::Error::HeadTooLarge { max, .. }) => {
            return Err(HandshakeError::ResponseTooLarge(max));
        }
        Err(oneport_http1::Error::TooManyHeaders) => {
            return Err(HandshakeError::InvalidResponse("too many headers"));
        }
        Err(_) => return Err(HandshakeError::InvalidResponse("malformed head")),
    };
    let res = head.response;
    if res.status() != StatusCode::SWITCHING_PROTOCOLS {
        return Err(HandshakeError::UnexpectedStatus(res.status().as_u16()));
    }
    let is = |name: &str, display, want: &str| -> Result<(), HandshakeError> {
        match single(res.headers(), name, display)? {
            Some(v) if v.as_bytes().eq_ignore_ascii_case(want.as_bytes()) => Ok(()),
            _ => Err(HandshakeError::InvalidResponse(display)),
        }
    };
    is("upgrade", "Upgrade", "WebSocket")?;
    is("connection", "Connection", "Upgrade")?;
    let Some(answer) = buf.get(head_len..head_len + ANSWER_LEN) else {
        return Ok(None);
    };
    if answer != expected {
        return Err(HandshakeError::ChallengeMismatch);
    }
    Ok(Some((res, head_len + ANSWER_LEN)))
}

#[cfg(test)]
mod tests {
    use super::super::{Scheme, encode_response, is_hybi00_request, key_number, response};
    use super::*;

    #[test]
    fn random_keys_are_valid_and_varied() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            let (k1, k2, k3, expected) = client_keys();
            for k in [&k1, &k2] {
                assert!(!k.starts_with(' ') && !k.ends_with(' '), "{k:?}");
                assert!(k.bytes().all(|b| (0x20..0x7F).contains(&b)), "{k:?}");
                assert!(k.bytes().any(|b| !b.is_ascii_digit() && b != b' '), "{k:?}");
                let spaces = k.bytes().filter(|&b| b == b' ').count();
                assert!((1..=12).contains(&spaces), "{k:?}");
                key_number(k).unwrap();
            }
            assert_eq!(challenge(&k1, &k2, &k3).unwrap(), expected);
            seen.insert(k1);
        }
        assert!(seen.len() > 1990, "keys should be random");
    }

    #[test]
    fn client_request_round_trips_through_server() {
        let (k1, k2, k3, expected) = client_keys();
        let url: Uri = "ws://127.0.0.1:9001/chat?room=1".parse().unwrap();
        let req = request(&url, Some("http://127.0.0.1"), Some("chat"), &k1, &k2).unwrap();
        assert!(is_hybi00_request(&req));
        let mut wire = BytesMut::new();
        encode_request(&req, &k3, &mut wire);
        assert!(wire.starts_with(b"GET /chat?room=1 HTTP/1.1\r\n"));
        assert!(wire.ends_with(&k3));

        // Parse it back as the server does.
        let (head, n) = oneport_http1::parse_request(&wire, &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(&wire[n..], &k3);
        let server_req = head.request;
        let mut answer = BytesMut::new();
        encode_response(&server_req, &k3, Scheme::Ws, Some("chat"), &mut answer).unwrap();
        answer.extend_from_slice(b"\x00hi\xFF");

        let (res, used) = parse_response(&answer, &expected, &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(&answer[used..], b"\x00hi\xFF");
        assert_eq!(
            res.headers()["sec-websocket-location"],
            "ws://127.0.0.1:9001/chat?room=1"
        );
        assert_eq!(res.headers()["sec-websocket-protocol"], "chat");
        assert_eq!(res.headers()["sec-websocket-origin"], "http://127.0.0.1");
        let same = response(&server_req, Scheme::Ws, Some("chat")).unwrap();
        assert_eq!(same.headers(), res.headers());

        // Every prefix is "need more", never an error.
        for cut in 0..used {
            assert!(
                parse_response(&answer[..cut], &expected, &Limits::default())
                    .unwrap()
                    .is_none(),
                "cut {cut}"
            );
        }
        // A wrong answer is refused.
        let mut wrong = expected;
        wrong[0] ^= 1;
        assert_eq!(
            parse_response(&answer, &wrong, &Limits::default()).unwrap_err(),
            HandshakeError::ChallengeMismatch
        );
    }

    #[test]
    fn bad_responses() {
        let e = [0u8; 16];
        assert_eq!(
            parse_response(b"HTTP/1.1 400 Bad Request\r\n\r\n", &e, &Limits::default())
                .unwrap_err(),
            HandshakeError::UnexpectedStatus(400)
        );
        assert_eq!(
            parse_response(
                b"HTTP/1.1 101 X\r\nUpgrade: websocket\r\n\r\n",
                &e,
                &Limits::default()
            )
            .unwrap_err(),
            HandshakeError::InvalidResponse("Connection")
        );
        assert_eq!(
            parse_response(
                b"HTTP/1.1 101 X\r\nConnection: upgrade\r\n\r\n",
                &e,
                &Limits::default()
            )
            .unwrap_err(),
            HandshakeError::InvalidResponse("Upgrade")
        );
        assert_eq!(
            parse_response(b"garbage\r\n\r\n", &e, &Limits::default()).unwrap_err(),
            HandshakeError::InvalidResponse("malformed head")
        );
        let max = Limits::default().max_head_bytes;
        let big = vec![b'a'; max + 1];
        let mut long = b"HTTP/1.1 101 X\r\nX: ".to_vec();
        long.extend_from_slice(&big);
        assert_eq!(
            parse_response(&long, &e, &Limits::default()).unwrap_err(),
            HandshakeError::ResponseTooLarge(max)
        );
    }

    #[test]
    fn request_needs_a_host() {
        let url: Uri = "/only-a-path".parse().unwrap();
        assert_eq!(
            request(&url, None, None, "1 1", "1 1").unwrap_err(),
            HandshakeError::InvalidHeader("Host")
        );
    }
}
