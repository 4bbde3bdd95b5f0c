use bytes::BytesMut;
use http::{Method, Version};

use super::*;
use crate::error::{Error, Malformed, Smuggling};

fn parse(input: &[u8]) -> Result<Option<(RequestHead, usize)>, Error> {
    parse_request(input, &Limits::default())
}

fn complete(input: &[u8]) -> (RequestHead, usize) {
    match parse(input) {
        Ok(Some(done)) => done,
        other => panic!("expected a complete head for {input:?}, got {other:?}"),
    }
}

/// One `#[test]` per accepted request: `name: bytes => |head, n[, input]| { checks }`.
macro_rules! accept {
    ($($name:ident: $input:expr => |$head:ident, $n:ident $(, $bytes:ident)?| $check:block)*) => {$(
        #[test]
        fn $name() {
            let input: &[u8] = $input;
            let ($head, $n) = complete(input);
            let _ = (&$head, $n);
            $(let $bytes = input;)?
            $check
        }
    )*};
}

/// One `#[test]` per rejected request: `name: bytes => error, status;`.
macro_rules! reject {
    ($($name:ident: $input:expr => $err:expr, $status:literal;)*) => {$(
        #[test]
        fn $name() {
            let input: &[u8] = $input;
            let err = parse(input).expect_err("must be rejected");
            assert_eq!(err, $err);
            assert_eq!(err.status().as_u16(), $status, "{err}");
        }
    )*};
}

accept! {
    get_http11_defaults: b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n" => |h, n, input| {
        assert_eq!(n, input.len());
        assert_eq!(h.request.method(), Method::GET);
        assert_eq!(h.request.uri(), "/index.html");
        assert_eq!(h.request.version(), Version::HTTP_11);
        assert_eq!(h.request.headers()["host"], "example.com");
        assert_eq!(h.body, BodyKind::Empty);
        assert!(h.keep_alive);
        assert!(!h.expect_continue);
    }
    head_length_excludes_following_bytes: b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n" => |h, n| {
        assert_eq!(n, 27);
    }
    leading_empty_lines_are_skipped: b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n" => |h, n| {
        assert_eq!(n, 31);
        assert_eq!(h.request.uri(), "/");
    }
    query_is_kept: b"GET /search?q=a+b&x=%20 HTTP/1.1\r\nHost: a\r\n\r\n" => |h, n| {
        assert_eq!(h.request.uri().path(), "/search");
        assert_eq!(h.request.uri().query(), Some("q=a+b&x=%20"));
    }
    http10_closes_by_default_and_needs_no_host: b"GET / HTTP/1.0\r\n\r\n" => |h, n| {
        assert_eq!(h.request.version(), Version::HTTP_10);
        assert!(!h.keep_alive);
    }
    http10_keep_alive_on_request: b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n" => |h, n| {
        assert!(h.keep_alive);
    }
    http10_close_wins_over_keep_alive: b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n" => |h, n| {
        assert!(!h.keep_alive);
    }
    http11_connection_close: b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" => |h, n| {
        assert!(!h.keep_alive);
    }
    http11_close_in_second_connection_header: b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nConnection: foo , CLOSE\r\n\r\n" => |h, n| {
        assert!(!h.keep_alive);
    }
    http11_upgrade_keeps_alive: b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n" => |h, n| {
        assert!(h.keep_alive);
        assert_eq!(h.request.headers()["upgrade"], "websocket");
    }
    content_length_body: b"POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" => |h, n, input| {
        assert_eq!(h.body, BodyKind::Length(5));
        assert_eq!(&input[n..], b"hello");
    }
    content_length_zero_is_empty: b"POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n" => |h, n| {
        assert_eq!(h.body, BodyKind::Empty);
    }
    content_length_at_the_limit: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048576\r\n\r\n" => |h, n| {
        assert_eq!(h.body, BodyKind::Length(1024 * 1024));
    }
    chunked_body: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" => |h, n| {
        assert_eq!(h.body, BodyKind::Chunked);
    }
    chunked_any_case_with_empty_elements: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , Chunked\r\n\r\n" => |h, n| {
        assert_eq!(h.body, BodyKind::Chunked);
    }
    expect_continue_with_body: b"PUT /u HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 9\r\n\r\n" => |h, n| {
        assert!(h.expect_continue);
    }
    expect_continue_with_chunked_body: b"PUT /u HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n" => |h, n| {
        assert!(h.expect_continue);
    }
    expect_continue_ignored_without_body: b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n" => |h, n| {
        assert!(!h.expect_continue);
    }
    expect_continue_ignored_on_http10: b"PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n" => |h, n| {
        assert!(!h.expect_continue);
    }
    other_expectations_are_ignored: b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: something\r\nContent-Length: 1\r\n\r\n" => |h, n| {
        assert!(!h.expect_continue);
    }
    absolute_form: b"GET http://example.com:8080/p?q=1 HTTP/1.1\r\nHost: ignored\r\n\r\n" => |h, n| {
        let uri = h.request.uri();
        assert_eq!(uri.scheme_str(), Some("http"));
        assert_eq!(uri.authority().map(|a| a.as_str()), Some("example.com:8080"));
        assert_eq!(uri.path_and_query().map(|p| p.as_str()), Some("/p?q=1"));
    }
    asterisk_form_for_options: b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n" => |h, n| {
        assert_eq!(h.request.method(), Method::OPTIONS);
        assert_eq!(h.request.uri(), "*");
    }
    authority_form_for_connect: b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n" => |h, n| {
        assert_eq!(h.request.method(), Method::CONNECT);
        assert_eq!(h.request.uri().authority().map(|a| a.as_str()), Some("example.com:443"));
    }
    extension_method: b"PURGE /cache HTTP/1.1\r\nHost: a\r\n\r\n" => |h, n| {
        assert_eq!(h.request.method().as_str(), "PURGE");
    }
    repeated_headers_keep_order: b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\nX-B: 3\r\n\r\n" => |h, n| {
        let all: Vec<_> = h.request.headers().get_all("x-a").iter().collect();
        assert_eq!(all, ["1", "2"]);
        assert_eq!(h.request.headers().len(), 4);
    }
    header_value_whitespace_is_trimmed: b"GET / HTTP/1.1\r\nHost: a\r\nX:  a b \t\r\n\r\n" => |h, n| {
        assert_eq!(h.request.headers()["x"], "a b");
    }
    empty_header_value: b"GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n" => |h, n| {
        assert_eq!(h.request.headers()["x-empty"], "");
    }
    utf8_in_target_is_passed_through: b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n" => |h, n| {
        assert_eq!(h.request.uri().path(), "/caf\u{e9}");
    }
    obs_text_in_value: b"GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n" => |h, n| {
        assert_eq!(h.request.headers()["x"].as_bytes(), b"caf\xc3\xa9");
    }
}

reject! {
    missing_host_on_http11: b"GET / HTTP/1.1\r\n\r\n" => Error::Malformed(Malformed::MissingHost), 400;
    two_host_headers: b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" => Error::Malformed(Malformed::DuplicateHost), 400;
    two_host_headers_on_http10: b"GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n" => Error::Malformed(Malformed::DuplicateHost), 400;
    content_length_and_chunked: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
        => Error::Smuggling(Smuggling::ContentLengthAndTransferEncoding), 400;
    chunked_and_content_length: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
        => Error::Smuggling(Smuggling::ContentLengthAndTransferEncoding), 400;
    duplicate_equal_content_length: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"
        => Error::Smuggling(Smuggling::DuplicateContentLength), 400;
    conflicting_content_length: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
        => Error::Smuggling(Smuggling::DuplicateContentLength), 400;
    content_length_list: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n"
        => Error::Smuggling(Smuggling::DuplicateContentLength), 400;
    content_length_negative: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n" => Error::Malformed(Malformed::ContentLength), 400;
    content_length_plus_sign: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n" => Error::Malformed(Malformed::ContentLength), 400;
    content_length_hex: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n" => Error::Malformed(Malformed::ContentLength), 400;
    content_length_empty: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n" => Error::Malformed(Malformed::ContentLength), 400;
    content_length_inner_space: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n" => Error::Malformed(Malformed::ContentLength), 400;
    content_length_overflow: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n"
        => Error::Malformed(Malformed::ContentLength), 400;
    content_length_over_limit: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n"
        => Error::BodyTooLarge { size: 1_048_577, max: 1_048_576 }, 413;
    transfer_coding_not_chunked: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"
        => Error::Smuggling(Smuggling::ChunkedNotFinal), 400;
    chunked_before_gzip: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
        => Error::Smuggling(Smuggling::ChunkedNotFinal), 400;
    chunked_then_gzip_in_second_header: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n"
        => Error::Smuggling(Smuggling::ChunkedNotFinal), 400;
    gzip_then_chunked_is_not_implemented: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        => Error::UnsupportedTransferCoding, 501;
    chunked_twice: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"
        => Error::Smuggling(Smuggling::ChunkedTwice), 400;
    chunked_with_parameter: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n"
        => Error::Malformed(Malformed::TransferEncoding), 400;
    empty_transfer_encoding: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n"
        => Error::Malformed(Malformed::TransferEncoding), 400;
    transfer_encoding_on_http10: b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
        => Error::Smuggling(Smuggling::TransferEncodingInHttp10), 400;
    http2_version: b"GET / HTTP/2.0\r\nHost: a\r\n\r\n" => Error::UnsupportedVersion, 505;
    http12_version: b"GET / HTTP/1.2\r\nHost: a\r\n\r\n" => Error::UnsupportedVersion, 505;
    http09_request_line: b"GET /\r\n\r\n" => Error::Malformed(Malformed::Token), 400;
    bad_method_byte: b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n" => Error::Malformed(Malformed::Token), 400;
    double_space_in_request_line: b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n" => Error::Malformed(Malformed::Token), 400;
    bare_lf_everywhere: b"GET / HTTP/1.1\nHost: a\n\n" => Error::Malformed(Malformed::BareLf), 400;
    bare_lf_in_one_header: b"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n" => Error::Malformed(Malformed::BareLf), 400;
    bare_lf_ending_head: b"GET / HTTP/1.1\r\nHost: a\r\n\n" => Error::Malformed(Malformed::BareLf), 400;
    bare_cr: b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n" => Error::Malformed(Malformed::HeaderValue), 400;
    obs_fold: b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n  folded\r\n\r\n" => Error::Malformed(Malformed::HeaderName), 400;
    space_before_colon: b"GET / HTTP/1.1\r\nHost : a\r\n\r\n" => Error::Malformed(Malformed::HeaderName), 400;
    control_byte_in_value: b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n" => Error::Malformed(Malformed::HeaderValue), 400;
    nul_in_value: b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n" => Error::Malformed(Malformed::HeaderValue), 400;
    asterisk_with_get: b"GET * HTTP/1.1\r\nHost: a\r\n\r\n" => Error::Malformed(Malformed::TargetForm), 400;
    authority_form_with_get: b"GET example.com:80 HTTP/1.1\r\nHost: a\r\n\r\n" => Error::Malformed(Malformed::TargetForm), 400;
    connect_with_origin_form: b"CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n" => Error::Malformed(Malformed::TargetForm), 400;
    connect_without_port: b"CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n" => Error::Malformed(Malformed::TargetForm), 400;
    connect_with_absolute_form: b"CONNECT http://example.com:80/ HTTP/1.1\r\nHost: a\r\n\r\n" => Error::Malformed(Malformed::TargetForm), 400;
    unparsable_uri: b"GET http://[::1/ HTTP/1.1\r\nHost: a\r\n\r\n" => Error::Malformed(Malformed::Uri), 400;
}

#[test]
fn every_proper_prefix_is_incomplete() {
    let input = b"POST /upload?x=1 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\nX-Long: abc def\r\n\r\nabc";
    let (_, n) = complete(input);
    assert_eq!(n, input.len() - 3);
    for cut in 0..n {
        assert!(
            matches!(parse(&input[..cut]), Ok(None)),
            "prefix of {cut} bytes"
        );
    }
    for cut in n..=input.len() {
        let (head, m) = complete(&input[..cut]);
        assert_eq!(m, n);
        assert_eq!(head.body, BodyKind::Length(3));
    }
}

#[test]
fn head_limit_is_inclusive() {
    let input = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let exact = Limits::default().max_head_bytes(input.len());
    assert!(matches!(parse_request(input, &exact), Ok(Some((_, 27)))));
    let under = Limits::default().max_head_bytes(input.len() - 1);
    assert_eq!(
        parse_request(input, &under).unwrap_err(),
        Error::HeadTooLarge { size: 27, max: 26 }
    );
}

#[test]
fn partial_head_waits_until_the_limit_then_fails() {
    let limits = Limits::default().max_head_bytes(32);
    let mut input = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
    input.resize(32, b'x');
    assert!(matches!(parse_request(&input, &limits), Ok(None)));
    input.push(b'x');
    let err = parse_request(&input, &limits).unwrap_err();
    assert_eq!(err, Error::HeadTooLarge { size: 33, max: 32 });
    assert_eq!(err.status().as_u16(), 431);
}

#[test]
fn large_head_is_not_scanned_past_the_limit() {
    // A huge buffer with the head end beyond the limit fails at once.
    let limits = Limits::default().max_head_bytes(64);
    let mut input = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
    input.resize(100_000, b'x');
    input.extend_from_slice(b"\r\n\r\n");
    assert!(matches!(
        parse_request(&input, &limits),
        Err(Error::HeadTooLarge { max: 64, .. })
    ));
}

#[test]
fn uri_limit_applies_to_complete_heads() {
    let limits = Limits::default().max_uri_len(10);
    let ok = b"GET /123456789 HTTP/1.1\r\nHost: a\r\n\r\n";
    assert!(parse_request(ok, &limits).unwrap().is_some());
    let long = b"GET /1234567890 HTTP/1.1\r\nHost: a\r\n\r\n";
    let err = parse_request(long, &limits).unwrap_err();
    assert_eq!(err, Error::UriTooLong { size: 11, max: 10 });
    assert_eq!(err.status().as_u16(), 414);
}

#[test]
fn uri_limit_applies_before_the_target_ends() {
    let limits = Limits::default().max_uri_len(10);
    assert!(matches!(
        parse_request(b"GET /123456789", &limits),
        Ok(None)
    ));
    assert!(matches!(
        parse_request(b"\r\nGET /123456789", &limits),
        Ok(None)
    ));
    assert_eq!(
        parse_request(b"GET /1234567890", &limits).unwrap_err(),
        Error::UriTooLong { size: 11, max: 10 }
    );
    // Also once the target is complete but the head is not.
    assert_eq!(
        parse_request(b"GET /1234567890 HTTP/1.1\r\nHo", &limits).unwrap_err(),
        Error::UriTooLong { size: 11, max: 10 }
    );
}

#[test]
fn default_uri_limit_is_reported_before_the_head_limit() {
    let mut input = b"GET /".to_vec();
    input.resize(20_000, b'a');
    let err = parse(&input).unwrap_err();
    assert!(
        matches!(err, Error::UriTooLong { max: 8192, .. }),
        "{err:?}"
    );
}

fn with_headers(count: usize) -> Vec<u8> {
    let mut input = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
    for i in 1..count {
        input.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
    }
    input.extend_from_slice(b"\r\n");
    input
}

#[test]
fn header_count_limit_is_inclusive() {
    let limits = Limits::default().max_headers(3);
    let (head, _) = parse_request(&with_headers(3), &limits).unwrap().unwrap();
    assert_eq!(head.request.headers().len(), 3);
    let err = parse_request(&with_headers(4), &limits).unwrap_err();
    assert_eq!(err, Error::TooManyHeaders);
    assert_eq!(err.status().as_u16(), 431);
}

#[test]
fn default_header_count_limit() {
    assert!(parse(&with_headers(64)).unwrap().is_some());
    assert_eq!(parse(&with_headers(65)).unwrap_err(), Error::TooManyHeaders);
}

#[test]
fn header_limits_above_the_stack_slots_use_the_heap() {
    let limits = Limits::default().max_headers(100);
    let (head, _) = parse_request(&with_headers(100), &limits).unwrap().unwrap();
    assert_eq!(head.request.headers().len(), 100);
    assert_eq!(
        parse_request(&with_headers(101), &limits).unwrap_err(),
        Error::TooManyHeaders
    );
}

#[test]
fn zero_headers_allowed_for_http10() {
    let limits = Limits::default().max_headers(0);
    assert!(
        parse_request(b"GET / HTTP/1.0\r\n\r\n", &limits)
            .unwrap()
            .is_some()
    );
    assert_eq!(
        parse_request(b"GET / HTTP/1.0\r\nA: b\r\n\r\n", &limits).unwrap_err(),
        Error::TooManyHeaders
    );
}

#[test]
fn body_limit_applies_to_content_length() {
    let limits = Limits::default().max_body_bytes(4);
    let req = |n: u32| format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {n}\r\n\r\n");
    let (head, _) = parse_request(req(4).as_bytes(), &limits).unwrap().unwrap();
    assert_eq!(head.body, BodyKind::Length(4));
    assert_eq!(
        parse_request(req(5).as_bytes(), &limits).unwrap_err(),
        Error::BodyTooLarge { size: 5, max: 4 }
    );
}

fn encode(req: &Request<()>, body: BodyLength) -> Vec<u8> {
    let mut dst = BytesMut::new();
    encode_request_head(req, body, &mut dst);
    dst.to_vec()
}

#[test]
fn encodes_origin_form_with_framing() {
    let req = Request::post("/submit?x=1")
        .header("host", "a")
        .header("x-y", "z")
        .body(())
        .unwrap();
    assert_eq!(
        encode(&req, BodyLength::Length(12)),
        b"POST /submit?x=1 HTTP/1.1\r\nhost: a\r\nx-y: z\r\nContent-Length: 12\r\n\r\n"
    );
    assert_eq!(
        encode(&req, BodyLength::Chunked),
        b"POST /submit?x=1 HTTP/1.1\r\nhost: a\r\nx-y: z\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
}

#[test]
fn encoding_trusts_existing_framing_headers() {
    let req = Request::post("/")
        .header("host", "a")
        .header("content-length", "3")
        .body(())
        .unwrap();
    assert_eq!(
        encode(&req, BodyLength::Chunked),
        b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\n\r\n"
    );
}

#[test]
fn encodes_absolute_form_and_adds_host() {
    let req = Request::get("http://example.com:8080/a?b")
        .body(())
        .unwrap();
    let wire = encode(&req, BodyLength::None);
    assert_eq!(
        wire,
        b"GET http://example.com:8080/a?b HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"
    );
    let (head, _) = complete(&wire);
    assert_eq!(head.request.uri(), req.uri());
}

#[test]
fn encodes_connect_options_and_http10() {
    let req = Request::connect("example.com:443").body(()).unwrap();
    assert_eq!(
        encode(&req, BodyLength::None),
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
    );
    let req = Request::options("*").header("host", "a").body(()).unwrap();
    assert_eq!(
        encode(&req, BodyLength::None),
        b"OPTIONS * HTTP/1.1\r\nhost: a\r\n\r\n"
    );
    let req = Request::get("/")
        .version(Version::HTTP_10)
        .body(())
        .unwrap();
    assert_eq!(encode(&req, BodyLength::None), b"GET / HTTP/1.0\r\n\r\n");
}
