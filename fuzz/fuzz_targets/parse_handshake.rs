//! Parses arbitrary bytes as an HTTP request head and, when one parses, runs
//! the RFC 6455 server checks under every origin policy; also parses them as
//! a response head and verifies it as a client would.
//!
//! Invariants: never panics; consumed length within the input; a refused
//! request maps to 400/403/426/431 (426 with `Sec-WebSocket-Version: 13`);
//! an accepted one yields a 101 that the client-side verification accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oneport_rfc6455::handshake::{MAX_HEAD_SIZE, parse_request, parse_response};
use oneport_rfc6455::{OriginPolicy, check_request, is_upgrade_request, response, verify_response};

fuzz_target!(|data: &[u8]| {
    match parse_request(data) {
        Ok(Some((req, len))) => {
            assert!(len <= data.len() && len <= MAX_HEAD_SIZE);
            let _ = is_upgrade_request(&req);
            let policies = [
                OriginPolicy::SameHost,
                OriginPolicy::AllowList(vec!["https://a.example".into()]),
                OriginPolicy::Any,
            ];
            for policy in &policies {
                match check_request(&req, policy) {
                    Ok(up) => {
                        let offered: Vec<&str> = up.protocols.iter().map(String::as_str).collect();
                        let chosen = offered.first().copied();
                        let res = response(&up.key, chosen);
                        assert_eq!(res.status(), 101);
                        let verified = verify_response(&res, &up.key, &offered)
                            .expect("our own 101 verifies");
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
        Ok(None) => assert!(data.len() < MAX_HEAD_SIZE),
        Err(_) => {}
    }
    if let Ok(Some((res, len))) = parse_response(data) {
        assert!(len <= data.len());
        let _ = verify_response(&res, "dGhlIHNhbXBsZSBub25jZQ==", &["chat"]);
    }
});
