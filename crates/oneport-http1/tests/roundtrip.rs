//! Property tests: encode-then-parse round trips for request and response
//! heads, and split-independence of the chunked decoder.

use bytes::BytesMut;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Version};
use oneport_http1::{
    BodyKind, BodyLength, ChunkedDecoder, Limits, Persistence, ResponseBody, encode_request_head,
    encode_response_head, parse_request, parse_response,
};
use proptest::prelude::*;

fn method() -> impl Strategy<Value = Method> {
    prop::sample::select(vec![
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::HEAD,
        Method::OPTIONS,
        Method::TRACE,
        Method::from_bytes(b"PURGE").expect("valid method"),
        Method::from_bytes(b"X-CUSTOM-METHOD-LONGER-THAN-15").expect("valid method"),
    ])
}

fn path() -> impl Strategy<Value = String> {
    (
        "(/[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,12}){1,4}",
        prop::option::of("[A-Za-z0-9._~%!$&'()*+,;=:@/?-]{0,20}"),
    )
        .prop_map(|(p, q)| match q {
            Some(q) => format!("{p}?{q}"),
            None => p,
        })
}

/// Header names that do not change framing or connection handling.
fn header_name() -> impl Strategy<Value = HeaderName> {
    "x-[a-z0-9-]{1,16}".prop_map(|n| HeaderName::from_bytes(n.as_bytes()).expect("token"))
}

/// Visible ASCII with inner spaces; no leading or trailing whitespace,
/// which HTTP trims.
fn header_value() -> impl Strategy<Value = HeaderValue> {
    "([!-~]([ !-~]{0,30}[!-~])?)?".prop_map(|v| HeaderValue::from_str(&v).expect("visible ASCII"))
}

fn headers() -> impl Strategy<Value = HeaderMap> {
    prop::collection::vec((header_name(), header_value()), 0..12).prop_map(|pairs| {
        let mut map = HeaderMap::new();
        for (n, v) in pairs {
            map.append(n, v);
        }
        map
    })
}

fn version() -> impl Strategy<Value = Version> {
    prop::sample::select(vec![Version::HTTP_10, Version::HTTP_11])
}

fn body_length() -> impl Strategy<Value = BodyLength> {
    prop_oneof![
        Just(BodyLength::None),
        Just(BodyLength::Chunked),
        (0u64..=1024 * 1024).prop_map(BodyLength::Length),
    ]
}

proptest! {
    #[test]
    fn request_heads_round_trip(
        method in method(),
        path in path(),
        headers in headers(),
        version in version(),
        body in body_length(),
        trailing in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        // HTTP/1.0 has no chunked coding; send a length instead.
        let body = match (version, body) {
            (Version::HTTP_10, BodyLength::Chunked) => BodyLength::Length(7),
            (_, b) => b,
        };
        let mut req = Request::new(());
        *req.method_mut() = method;
        *req.uri_mut() = path.parse().expect("valid origin-form");
        *req.version_mut() = version;
        *req.headers_mut() = headers;
        req.headers_mut().insert("host", HeaderValue::from_static("example.com"));

        let mut wire = BytesMut::new();
        encode_request_head(&req, body, &mut wire);
        let head_len = wire.len();
        wire.extend_from_slice(&trailing);

        let (head, n) = parse_request(&wire, &Limits::default())
            .expect("parses")
            .expect("complete");
        prop_assert_eq!(n, head_len);
        prop_assert_eq!(head.request.method(), req.method());
        prop_assert_eq!(head.request.uri(), req.uri());
        prop_assert_eq!(head.request.version(), version);
        let mut expected = req.headers().clone();
        match body {
            BodyLength::Length(len) => {
                expected.insert("content-length", len.into());
            }
            BodyLength::Chunked => {
                expected.insert("transfer-encoding", HeaderValue::from_static("chunked"));
            }
            BodyLength::None => {}
        }
        prop_assert_eq!(head.request.headers(), &expected);
        let kind = match body {
            BodyLength::Length(0) | BodyLength::None => BodyKind::Empty,
            BodyLength::Length(len) => BodyKind::Length(len),
            BodyLength::Chunked => BodyKind::Chunked,
        };
        prop_assert_eq!(head.body, kind);
        prop_assert_eq!(head.keep_alive, version == Version::HTTP_11);

        // Any proper prefix of the head is incomplete, never an error.
        let cut = n * 3 / 4;
        prop_assert!(matches!(parse_request(&wire[..cut], &Limits::default()), Ok(None)));
    }

    #[test]
    fn response_heads_round_trip(
        status in 100u16..=599,
        headers in headers(),
        body in body_length(),
        keep_alive in any::<bool>(),
        request_version in version(),
    ) {
        let mut res = Response::new(());
        *res.status_mut() = StatusCode::from_u16(status).expect("valid status");
        *res.headers_mut() = headers;
        let (parts, ()) = res.into_parts();

        let mut wire = BytesMut::new();
        let persistence = if keep_alive { Persistence::KeepAlive } else { Persistence::Close };
        encode_response_head(&parts, body, persistence, request_version, &mut wire);
        let (head, n) = parse_response(&wire, &Limits::default())
            .expect("parses")
            .expect("complete");
        prop_assert_eq!(n, wire.len());
        prop_assert_eq!(head.response.status(), parts.status);
        prop_assert_eq!(head.response.version(), Version::HTTP_11);

        let got = head.response.headers();
        for (name, value) in &parts.headers {
            let all: Vec<_> = got.get_all(name).iter().collect();
            let want: Vec<_> = parts.headers.get_all(name).iter().collect();
            prop_assert_eq!(all, want, "{}: {:?}", name, value);
        }
        prop_assert_eq!(got.get_all("date").iter().count(), 1);
        let connection = got.get("connection").map(|v| v.to_str().expect("ascii"));
        let want_connection = match (keep_alive, request_version) {
            (false, _) => Some("close"),
            (true, Version::HTTP_10) => Some("keep-alive"),
            (true, _) => None,
        };
        prop_assert_eq!(connection, want_connection);

        let status = parts.status;
        let bodiless = status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED;
        let want = match body {
            _ if bodiless => ResponseBody::Empty,
            BodyLength::Length(0) => ResponseBody::Empty,
            BodyLength::Length(len) => ResponseBody::Length(len),
            BodyLength::Chunked => ResponseBody::Chunked,
            BodyLength::None => ResponseBody::UntilClose,
        };
        prop_assert_eq!(head.body, want);
    }
}

/// One chunk: data, and how its size line is dressed up.
#[derive(Debug, Clone)]
struct Chunk {
    data: Vec<u8>,
    upper_hex: bool,
    leading_zeros: usize,
    extensions: Vec<(String, Option<String>)>,
}

fn chunk() -> impl Strategy<Value = Chunk> {
    (
        prop::collection::vec(any::<u8>(), 1..64),
        any::<bool>(),
        0usize..3,
        prop::collection::vec(
            (
                "[a-z][a-z0-9-]{0,6}",
                prop::option::of(prop_oneof![
                    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,8}",
                    "\"([ !#-\\[\\]-~]|\\\\[!-~]){0,8}\"",
                ]),
            ),
            0..3,
        ),
    )
        .prop_map(|(data, upper_hex, leading_zeros, extensions)| Chunk {
            data,
            upper_hex,
            leading_zeros,
            extensions,
        })
}

fn trailer() -> impl Strategy<Value = (String, String)> {
    ("[A-Za-z][A-Za-z0-9-]{0,10}", "[ -~]{0,20}")
}

fn encode_chunked(chunks: &[Chunk], trailers: &[(String, String)]) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut size_line = |size: usize, c: Option<&Chunk>| {
        let zeros = c.map_or(0, |c| c.leading_zeros);
        wire.extend(std::iter::repeat_n(b'0', zeros));
        let hex = if c.is_some_and(|c| c.upper_hex) {
            format!("{size:X}")
        } else {
            format!("{size:x}")
        };
        wire.extend_from_slice(hex.as_bytes());
        for (name, value) in c.map_or(&[][..], |c| &c.extensions) {
            wire.push(b';');
            wire.extend_from_slice(name.as_bytes());
            if let Some(v) = value {
                wire.push(b'=');
                wire.extend_from_slice(v.as_bytes());
            }
        }
        wire.extend_from_slice(b"\r\n");
        if let Some(c) = c {
            wire.extend_from_slice(&c.data);
            wire.extend_from_slice(b"\r\n");
        }
    };
    for c in chunks {
        size_line(c.data.len(), Some(c));
    }
    size_line(0, None);
    for (name, value) in trailers {
        wire.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    wire.extend_from_slice(b"\r\n");
    wire
}

/// Feeds `wire` in the pieces delimited by `cuts`, keeping unconsumed bytes
/// like a server buffer. Returns (body, bytes consumed, done).
fn decode_in_pieces(wire: &[u8], cuts: &[usize]) -> (Vec<u8>, usize, bool) {
    let mut dec = ChunkedDecoder::new(&Limits::default());
    let mut out = BytesMut::new();
    let mut consumed = 0;
    for &end in cuts.iter().chain([&wire.len()]) {
        let end = end.max(consumed);
        let used = dec
            .decode(&wire[consumed..end], &mut out)
            .expect("valid chunked body");
        assert!(used <= end - consumed);
        consumed += used;
        if dec.is_done() {
            break;
        }
    }
    (out.to_vec(), consumed, dec.is_done())
}

proptest! {
    #[test]
    fn chunked_decoding_ignores_how_input_is_split(
        chunks in prop::collection::vec(chunk(), 0..6),
        trailers in prop::collection::vec(trailer(), 0..3),
        raw_cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        next in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut wire = encode_chunked(&chunks, &trailers);
        let body_len = wire.len();
        wire.extend_from_slice(&next);
        let mut cuts: Vec<usize> = raw_cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        cuts.sort_unstable();

        let expected: Vec<u8> = chunks.iter().flat_map(|c| c.data.iter().copied()).collect();
        let (body, consumed, done) = decode_in_pieces(&wire, &cuts);
        prop_assert!(done);
        prop_assert_eq!(consumed, body_len);
        prop_assert_eq!(&body, &expected);

        let (one_shot, consumed, _) = decode_in_pieces(&wire, &[]);
        prop_assert_eq!(consumed, body_len);
        prop_assert_eq!(one_shot, expected);
    }

    #[test]
    fn chunk_encoder_round_trips(pieces in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8)) {
        let mut wire = BytesMut::new();
        for p in &pieces {
            oneport_http1::encode_chunk(p, &mut wire);
        }
        oneport_http1::encode_last_chunk(&mut wire);
        let (body, consumed, done) = decode_in_pieces(&wire, &[]);
        prop_assert!(done);
        prop_assert_eq!(consumed, wire.len());
        prop_assert_eq!(body, pieces.concat());
    }
}
