#![no_main]
//! `parse_request` on arbitrary bytes, with default and tiny limits, then
//! the WebSocket checks the server runs on what it parsed.
//!
//! Invariants: never panics; a complete head is never longer than the
//! input or the head limit; "need more" only while the input fits in the
//! head limit; a parsed head, encoded again, parses to the same request; a
//! refused RFC 6455 upgrade maps to 400/403/426/431 (426 with
//! `Sec-WebSocket-Version: 13`) and an accepted one yields a 101 the
//! client-side check accepts, under every origin policy.

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use oneport_http1::{BodyKind, BodyLength, Limits, encode_request_head, parse_request};
use oneport_rfc6455::{OriginPolicy, check_request, is_upgrade_request, response, verify_response};

/// The RFC 6455 server checks on a parsed request, as the dispatcher runs
/// them.
fn websocket_checks(req: &http::Request<()>) {
    let _ = is_upgrade_request(req);
    let policies = [
        OriginPolicy::SameHost,
        OriginPolicy::AllowList(vec!["https://a.example".into(), "null".into()]),
        OriginPolicy::Any,
    ];
    for policy in &policies {
        match check_request(req, policy) {
            Ok(up) => {
                let offered: Vec<&str> = up.protocols.iter().map(String::as_str).collect();
                let chosen = offered.first().copied();
                let res = response(&up.key, chosen);
                assert_eq!(res.status(), 101);
                let verified =
                    verify_response(&res, &up.key, &offered).expect("our own 101 verifies");
                assert_eq!(verified.as_deref(), chosen);
            }
            Err(e) => {
                let res = e.to_response();
                let status = res.status().as_u16();
                assert!(matches!(status, 400 | 403 | 426 | 431), "{e}: {status}");
                if status == 426 {
                    assert_eq!(res.headers()["sec-websocket-version"], "13");
                }
            }
        }
    }
}

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
            websocket_checks(&head.request);
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
