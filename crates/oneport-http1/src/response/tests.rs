use bytes::BytesMut;
use http::{StatusCode, Version};

use super::*;
use crate::error::{Error, Malformed, Smuggling};

const DATE_VALUE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

/// Encodes with a fixed `Date` so the output is exact.
fn encode(
    status: u16,
    headers: &[(&str, &str)],
    body: BodyLength,
    keep_alive: bool,
    version: Version,
) -> String {
    let mut builder = Response::builder()
        .status(status)
        .header("date", DATE_VALUE);
    for (n, v) in headers {
        builder = builder.header(*n, *v);
    }
    let (parts, ()) = builder.body(()).unwrap().into_parts();
    let mut dst = BytesMut::new();
    let persistence = if keep_alive {
        Persistence::KeepAlive
    } else {
        Persistence::Close
    };
    encode_response_head(&parts, body, persistence, version, &mut dst);
    String::from_utf8(dst.to_vec()).unwrap()
}

fn d() -> String {
    format!("date: {DATE_VALUE}\r\n")
}

#[test]
fn keep_alive_http11_has_no_connection_header() {
    let got = encode(200, &[], BodyLength::Length(5), true, Version::HTTP_11);
    assert_eq!(
        got,
        format!("HTTP/1.1 200 OK\r\n{}Content-Length: 5\r\n\r\n", d())
    );
}

#[test]
fn not_keep_alive_adds_close() {
    let got = encode(200, &[], BodyLength::Length(0), false, Version::HTTP_11);
    assert_eq!(
        got,
        format!(
            "HTTP/1.1 200 OK\r\n{}Content-Length: 0\r\nConnection: close\r\n\r\n",
            d()
        )
    );
}

#[test]
fn keep_alive_for_http10_is_explicit() {
    let got = encode(200, &[], BodyLength::Length(1), true, Version::HTTP_10);
    assert_eq!(
        got,
        format!(
            "HTTP/1.1 200 OK\r\n{}Content-Length: 1\r\nConnection: keep-alive\r\n\r\n",
            d()
        )
    );
    let got = encode(200, &[], BodyLength::Length(1), false, Version::HTTP_10);
    assert!(got.ends_with("Connection: close\r\n\r\n"), "{got}");
}

#[test]
fn existing_connection_options_are_not_repeated() {
    let got = encode(
        200,
        &[("connection", "close")],
        BodyLength::None,
        false,
        Version::HTTP_11,
    );
    assert_eq!(got.matches("onnection").count(), 1, "{got}");
    let got = encode(
        200,
        &[("connection", "Keep-Alive")],
        BodyLength::None,
        true,
        Version::HTTP_10,
    );
    assert_eq!(got.matches("onnection").count(), 1, "{got}");
    // An unrelated option does not stand in for `close`.
    let got = encode(
        101,
        &[("connection", "upgrade")],
        BodyLength::None,
        false,
        Version::HTTP_11,
    );
    assert!(
        got.contains("connection: upgrade\r\nConnection: close\r\n"),
        "{got}"
    );
}

#[test]
fn chunked_framing() {
    let got = encode(
        200,
        &[("content-type", "text/event-stream")],
        BodyLength::Chunked,
        true,
        Version::HTTP_11,
    );
    assert_eq!(
        got,
        format!(
            "HTTP/1.1 200 OK\r\n{}content-type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
            d()
        )
    );
}

#[test]
fn framing_headers_in_parts_are_trusted() {
    let got = encode(
        200,
        &[("content-length", "7")],
        BodyLength::Chunked,
        true,
        Version::HTTP_11,
    );
    assert!(!got.contains("Transfer-Encoding"), "{got}");
    assert_eq!(got.matches("ontent-length").count(), 1, "{got}");
    let got = encode(
        200,
        &[("transfer-encoding", "chunked")],
        BodyLength::Length(3),
        true,
        Version::HTTP_11,
    );
    assert!(!got.contains("Content-Length"), "{got}");
}

#[test]
fn no_framing_for_1xx_204_304_or_none() {
    for status in [100, 101, 204, 304] {
        let got = encode(status, &[], BodyLength::Length(7), true, Version::HTTP_11);
        assert!(!got.contains("Content-Length"), "{got}");
    }
    let got = encode(304, &[], BodyLength::None, true, Version::HTTP_11);
    assert_eq!(got, format!("HTTP/1.1 304 Not Modified\r\n{}\r\n", d()));
}

/// One rule for which statuses carry no body, shared by the encoder above,
/// the parser and the server.
#[test]
fn statuses_without_a_body() {
    for code in [100, 101, 103, 199, 204, 304] {
        assert!(
            !status_has_body(StatusCode::from_u16(code).unwrap()),
            "{code}"
        );
    }
    for code in [200, 201, 203, 205, 206, 301, 303, 400, 404, 500] {
        assert!(
            status_has_body(StatusCode::from_u16(code).unwrap()),
            "{code}"
        );
    }
}

#[test]
fn the_continue_answer_is_a_bare_status_line() {
    let mut dst = BytesMut::new();
    encode_continue(&mut dst);
    assert_eq!(&dst[..], b"HTTP/1.1 100 Continue\r\n\r\n");
}

#[test]
fn unknown_status_has_empty_reason() {
    let got = encode(599, &[], BodyLength::None, true, Version::HTTP_11);
    assert!(got.starts_with("HTTP/1.1 599 \r\n"), "{got}");
}

#[test]
fn date_is_added_when_missing() {
    let (parts, ()) = Response::new(()).into_parts();
    let mut dst = BytesMut::new();
    encode_response_head(
        &parts,
        BodyLength::None,
        Persistence::KeepAlive,
        Version::HTTP_11,
        &mut dst,
    );
    let text = std::str::from_utf8(&dst).unwrap();
    let date = text
        .strip_prefix("HTTP/1.1 200 OK\r\nDate: ")
        .and_then(|rest| rest.strip_suffix("\r\n\r\n"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(httpdate::parse_http_date(date).is_ok(), "{date}");
}

#[test]
fn appends_to_existing_buffer() {
    let (parts, ()) = Response::new(()).into_parts();
    let mut dst = BytesMut::from(&b"previous"[..]);
    encode_response_head(
        &parts,
        BodyLength::None,
        Persistence::KeepAlive,
        Version::HTTP_11,
        &mut dst,
    );
    assert!(dst.starts_with(b"previousHTTP/1.1 200 OK\r\n"));
}

fn parse(input: &[u8]) -> Result<Option<(ResponseHead, usize)>, Error> {
    parse_response(input, &Limits::default())
}

fn body_of(input: &[u8]) -> ResponseBody {
    match parse(input) {
        Ok(Some((head, _))) => head.body,
        other => panic!("{other:?}"),
    }
}

#[test]
fn response_body_framing() {
    let table: &[(&[u8], ResponseBody)] = &[
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n",
            ResponseBody::Length(3),
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            ResponseBody::Empty,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            ResponseBody::Chunked,
        ),
        (b"HTTP/1.1 200 OK\r\n\r\n", ResponseBody::UntilClose),
        (b"HTTP/1.0 200 OK\r\n\r\n", ResponseBody::UntilClose),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            ResponseBody::UntilClose,
        ),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nContent-Length: 9\r\n\r\n",
            ResponseBody::Empty,
        ),
        (
            b"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n",
            ResponseBody::Empty,
        ),
        (
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
            ResponseBody::Empty,
        ),
        (b"HTTP/1.1 100 Continue\r\n\r\n", ResponseBody::Empty),
    ];
    for (input, want) in table {
        assert_eq!(body_of(input), *want, "{}", String::from_utf8_lossy(input));
    }
}

#[test]
fn response_errors() {
    let table: &[(&[u8], Error, u16)] = &[
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            Error::Smuggling(Smuggling::ContentLengthAndTransferEncoding),
            400,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
            Error::Smuggling(Smuggling::DuplicateContentLength),
            400,
        ),
        (
            b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            Error::Smuggling(Smuggling::TransferEncodingInHttp10),
            400,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
            Error::Smuggling(Smuggling::ChunkedTwice),
            400,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            Error::UnsupportedTransferCoding,
            501,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1048577\r\n\r\n",
            Error::BodyTooLarge {
                size: 1_048_577,
                max: 1_048_576,
            },
            413,
        ),
        (b"HTTP/2.0 200 OK\r\n\r\n", Error::UnsupportedVersion, 505),
        (
            b"HTTP/1.1 099 Odd\r\n\r\n",
            Error::Malformed(Malformed::Status),
            400,
        ),
        (
            b"HTTP/1.1 20x OK\r\n\r\n",
            Error::Malformed(Malformed::Status),
            400,
        ),
        (
            b"HTTP/1.1 200 OK\nA: b\r\n\r\n",
            Error::Malformed(Malformed::BareLf),
            400,
        ),
        (
            b"HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n",
            Error::Malformed(Malformed::HeaderName),
            400,
        ),
    ];
    for (input, err, status) in table {
        let got = parse(input).expect_err(&String::from_utf8_lossy(input));
        assert_eq!(got, *err, "{}", String::from_utf8_lossy(input));
        assert_eq!(got.status().as_u16(), *status);
    }
}

#[test]
fn response_prefixes_and_limits() {
    let input = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX: y\r\n\r\nhi";
    let (head, n) = parse(input).unwrap().unwrap();
    assert_eq!(&input[n..], b"hi");
    assert_eq!(head.response.status(), StatusCode::OK);
    assert_eq!(head.response.headers()["x"], "y");
    for cut in 0..n {
        assert!(matches!(parse(&input[..cut]), Ok(None)), "{cut}");
    }
    let small = Limits::default().max_head_bytes(n - 1);
    assert!(matches!(
        parse_response(input, &small),
        Err(Error::HeadTooLarge { .. })
    ));
    assert!(matches!(parse_response(&input[..n - 1], &small), Ok(None)));
    let few = Limits::default().max_headers(1);
    assert_eq!(
        parse_response(input, &few).unwrap_err(),
        Error::TooManyHeaders
    );
    let many = Limits::default().max_headers(100);
    assert!(parse_response(input, &many).unwrap().is_some());
}

#[test]
fn encoded_head_parses_back() {
    let (parts, ()) = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .body(())
        .unwrap()
        .into_parts();
    let mut dst = BytesMut::new();
    encode_response_head(
        &parts,
        BodyLength::None,
        Persistence::KeepAlive,
        Version::HTTP_11,
        &mut dst,
    );
    let (head, n) = parse(&dst).unwrap().unwrap();
    assert_eq!(n, dst.len());
    assert_eq!(head.response.status(), 101);
    assert_eq!(head.response.headers()["upgrade"], "websocket");
    assert!(head.response.headers().contains_key("date"));
    assert_eq!(head.body, ResponseBody::Empty);
}

#[test]
fn the_common_status_lines_are_what_the_general_path_writes() {
    for code in [101u16, 200, 204, 206, 304, 404] {
        let status = StatusCode::from_u16(code).unwrap();
        let line = super::common_status_line(status).unwrap();
        let general = format!(
            "HTTP/1.1 {} {}\r\n",
            status.as_str(),
            status.canonical_reason().unwrap()
        );
        assert_eq!(line, general.as_bytes(), "{code}");
    }
    assert!(super::common_status_line(StatusCode::IM_A_TEAPOT).is_none());
}

#[test]
fn the_head_says_close_when_the_response_asks_for_it() {
    let persist = |headers: &[(&str, &str)], asked: Persistence| {
        let mut b = Response::builder().status(200).header("date", DATE_VALUE);
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        let (parts, ()) = b.body(()).unwrap().into_parts();
        let mut dst = BytesMut::new();
        encode_response_head(
            &parts,
            BodyLength::Length(0),
            asked,
            Version::HTTP_11,
            &mut dst,
        )
    };
    assert_eq!(persist(&[], Persistence::KeepAlive), Persistence::KeepAlive);
    assert_eq!(persist(&[], Persistence::Close), Persistence::Close);
    assert_eq!(
        persist(&[("connection", "Upgrade, Close")], Persistence::KeepAlive),
        Persistence::Close
    );
    assert_eq!(
        persist(&[("connection", "keep-alive")], Persistence::KeepAlive),
        Persistence::KeepAlive
    );
}
