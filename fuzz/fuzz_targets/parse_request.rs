#![no_main]
//! `parse_request` on arbitrary bytes, with default and tiny limits.
//!
//! Invariants: never panics; a complete head is never longer than the
//! input or the head limit; "need more" only while the input fits in the
//! head limit; and a parsed head, encoded again, parses to the same request.

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use oneport_http1::{BodyKind, BodyLength, Limits, encode_request_head, parse_request};

fn check(data: &[u8], limits: &Limits) {
    match parse_request(data, limits) {
        Ok(Some((head, n))) => {
            assert!(n <= data.len(), "consumed {n} of {}", data.len());
            assert!(n <= limits.max_head_bytes);
            if let BodyKind::Length(len) = head.body {
                assert!(len > 0 && len <= limits.max_body_bytes);
            }

            // Round trip: encode the parsed head and parse it again.
            let body = match head.body {
                BodyKind::Empty => BodyLength::None,
                BodyKind::Length(len) => BodyLength::Length(len),
                BodyKind::Chunked => BodyLength::Chunked,
            };
            let mut wire = BytesMut::new();
            encode_request_head(&head.request, body, &mut wire);
            // Encoding may add to the head: `http` gives an absolute URI
            // with no path the path `/`, and the encoder writes the `Host`
            // an absolute-form request implies. So the second parse gets
            // room for what was encoded; the limits were tested on the input.
            let roomy = limits
                .clone()
                .max_head_bytes(wire.len().max(limits.max_head_bytes))
                .max_uri_len(wire.len().max(limits.max_uri_len))
                .max_headers(limits.max_headers.max(head.request.headers().len() + 1));
            let (again, m) = match parse_request(&wire, &roomy) {
                Ok(Some(done)) => done,
                other => panic!("re-encoded head {wire:?} did not parse: {other:?}"),
            };
            assert_eq!(m, wire.len());
            assert_eq!(again.request.method(), head.request.method());
            assert_eq!(again.request.version(), head.request.version());
            assert_eq!(again.request.uri(), head.request.uri());
            for name in head.request.headers().keys() {
                let before: Vec<_> = head.request.headers().get_all(name).iter().collect();
                let after: Vec<_> = again.request.headers().get_all(name).iter().collect();
                assert_eq!(before, after, "{name}");
            }
            assert_eq!(again.body, head.body);
            assert_eq!(again.keep_alive, head.keep_alive);
            assert_eq!(again.expect_continue, head.expect_continue);
        }
        Ok(None) => assert!(data.len() <= limits.max_head_bytes),
        Err(e) => {
            let status = e.status().as_u16();
            assert!(
                matches!(status, 400 | 413 | 414 | 431 | 501 | 505),
                "{status}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(data, &Limits::default());
    let tiny = Limits::default()
        .max_head_bytes(96)
        .max_headers(4)
        .max_uri_len(24)
        .max_body_bytes(32);
    check(data, &tiny);
});
