#![no_main]
//! The hybi-00 handshake on arbitrary bytes: the input is parsed as a
//! request head (as the server does) and, when it is a hybi-00 request, the
//! keys, the challenge and the response are computed from it with the next
//! eight bytes as the third key. `key_number` also runs on the whole input.
//!
//! Invariants: never panics; an encoded response always starts with the
//! draft's status line, ends with the challenge answer, and is accepted by
//! the client-side check with exactly its own length consumed; a refusal is
//! always a complete 4xx/5xx response.

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use oneport_hybi00::handshake::{
    self, KEY3_LEN, Scheme, challenge, encode_rejection, encode_response, is_hybi00_request,
    key_number, parse_response, response,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(n) = key_number(text) {
            let digits: u64 = text
                .bytes()
                .filter(u8::is_ascii_digit)
                .fold(0, |acc, d| acc * 10 + u64::from(d - b'0'));
            let spaces = text.bytes().filter(|&b| b == b' ').count() as u64;
            assert_eq!(u64::from(n) * spaces, digits);
        }
    }

    let limits = oneport_http1::Limits::default();
    let Ok(Some((head, used))) = oneport_http1::parse_request(data, &limits) else {
        return;
    };
    assert!(used <= data.len());
    let req = head.request;
    if !is_hybi00_request(&req) {
        assert_eq!(
            response(&req, Scheme::Ws, None).unwrap_err(),
            handshake::HandshakeError::NotHybi00Request
        );
        return;
    }
    for name in ["sec-websocket-key1", "sec-websocket-key2"] {
        if let Some(Ok(key)) = req.headers().get(name).map(|v| v.to_str()) {
            let _ = key_number(key);
        }
    }
    let mut key3 = [0u8; KEY3_LEN];
    if let Some(bytes) = data.get(used..used + KEY3_LEN) {
        key3.copy_from_slice(bytes);
    }
    let scheme = if used % 2 == 1 {
        Scheme::Wss
    } else {
        Scheme::Ws
    };
    let protocol = if used % 3 == 0 { Some("chat") } else { None };
    let _ = response(&req, scheme, protocol);

    let mut out = BytesMut::new();
    match encode_response(&req, &key3, scheme, protocol, &mut out) {
        Ok(()) => {
            let key1 = req.headers()["sec-websocket-key1"].to_str().unwrap();
            let key2 = req.headers()["sec-websocket-key2"].to_str().unwrap();
            let answer = challenge(key1, key2, &key3).expect("keys were accepted");
            assert!(out.starts_with(b"HTTP/1.1 101 WebSocket Protocol Handshake\r\n"));
            assert!(out.ends_with(&answer));
            match parse_response(&out, &answer, &limits) {
                Ok(Some((res, n))) => {
                    assert_eq!(n, out.len());
                    assert!(res.headers().contains_key("sec-websocket-location"));
                }
                other => panic!("own response refused: {other:?}"),
            }
        }
        Err(e) => {
            assert!(out.is_empty(), "nothing written on error");
            encode_rejection(&e, &mut out);
            assert!(out.starts_with(b"HTTP/1.1 4") || out.starts_with(b"HTTP/1.1 5"));
            let body = e.to_string().len() + 1;
            let text = std::str::from_utf8(&out).unwrap();
            assert!(text.contains(&format!("Content-Length: {body}\r\n")));
        }
    }
});
