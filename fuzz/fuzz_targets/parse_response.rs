#![no_main]
//! `parse_response` on arbitrary bytes, with default and tiny limits: the
//! clients (RFC 6455, hybi-00, SSE) read it from the network.
//!
//! Invariants: never panics; a complete head is never longer than the
//! input or the head limit; "need more" only while the input fits in the
//! head limit; a refusal is one of the documented errors; no body is
//! reported for 1xx, 204 and 304; a parsed head, encoded again, parses to
//! the same status, version and headers; and the WebSocket clients' checks
//! of a parsed head (RFC 6455's and hybi-00's) never panic either.

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use oneport_http1::{BodyLength, Limits, ResponseBody, encode_response_head, parse_response};

fn check(data: &[u8], limits: &Limits) {
    match parse_response(data, limits) {
        Ok(Some((head, n))) => {
            assert!(n <= data.len(), "consumed {n} of {}", data.len());
            assert!(n <= limits.max_head_bytes);
            let status = head.response.status();
            if !oneport_http1::status_has_body(status) {
                assert_eq!(head.body, ResponseBody::Empty, "{status}");
            }
            if let ResponseBody::Length(len) = head.body {
                assert!(len > 0 && len <= limits.max_body_bytes);
            }

            // Round trip: every header survives encoding. The encoder may
            // add `Date`, which is not compared; answering an HTTP/1.1
            // request with a connection that persists, it adds nothing else.
            let (parts, ()) = head.response.into_parts();
            let mut wire = BytesMut::new();
            encode_response_head(
                &parts,
                BodyLength::None,
                oneport_http1::Persistence::KeepAlive,
                http::Version::HTTP_11,
                &mut wire,
            );
            let roomy = limits
                .clone()
                .max_head_bytes(wire.len().max(limits.max_head_bytes))
                .max_headers(limits.max_headers.max(parts.headers.len() + 2));
            let (again, m) = match parse_response(&wire, &roomy) {
                Ok(Some(done)) => done,
                other => panic!("re-encoded head {wire:?} did not parse: {other:?}"),
            };
            assert_eq!(m, wire.len());
            assert_eq!(again.response.status(), status);
            for name in parts.headers.keys() {
                let before: Vec<_> = parts.headers.get_all(name).iter().collect();
                let after: Vec<_> = again.response.headers().get_all(name).iter().collect();
                assert_eq!(before, after, "{name}");
            }

            let res = http::Response::from_parts(parts, ());
            let _ = oneport_rfc6455::verify_response(&res, "dGhlIHNhbXBsZSBub25jZQ==", &["chat"]);
        }
        Ok(None) => assert!(data.len() <= limits.max_head_bytes),
        Err(e) => {
            let status = e.status().as_u16();
            assert!(matches!(status, 400 | 413 | 431 | 501 | 505), "{status}");
        }
    }
    // The hybi-00 client's check: the head, then the 16 answer bytes.
    let _ = oneport_hybi00::handshake::parse_response(data, b"fQJ,fN/4F4!~K~MH", limits);
}

fuzz_target!(|data: &[u8]| {
    check(data, &Limits::default());
    let tiny = Limits::default()
        .max_head_bytes(96)
        .max_headers(4)
        .max_body_bytes(32);
    check(data, &tiny);
});
