#![no_main]
//! The `Sec-WebSocket-Extensions` grammar and permessage-deflate
//! negotiation on arbitrary text: both read what a peer sends.
//!
//! Invariants: never panics; a parsed list stays within the extension and
//! parameter bounds, formats to text that parses back to the same list; an
//! accepted offer's answer parses back to itself and names only the four
//! RFC 7692 parameters with in-range windows; the client-side answer check
//! never panics on the same list.

use libfuzzer_sys::fuzz_target;
use oneport_rfc6455::deflate::{ContextTakeover, DeflateConfig};
use oneport_rfc6455::extension::{
    MAX_EXTENSION_PARAMS, MAX_EXTENSIONS, format_extensions, parse_list,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut list = Vec::new();
    if parse_list(text, &mut list).is_err() {
        return;
    }
    assert!(list.len() <= MAX_EXTENSIONS);
    assert!(list.iter().all(|e| e.params.len() <= MAX_EXTENSION_PARAMS));
    let again_text = format_extensions(&list);
    let mut again = Vec::new();
    parse_list(&again_text, &mut again).expect("formatted list parses");
    assert_eq!(again, list, "{again_text}");

    let strict = DeflateConfig {
        own_context: ContextTakeover::Reset,
        peer_context: ContextTakeover::Reset,
        own_max_window_bits: 10,
        peer_max_window_bits: 9,
        ..DeflateConfig::default()
    };
    for config in [DeflateConfig::default(), strict] {
        if let Some((agreed, answer)) = config.accept(&list) {
            assert!((8..=15).contains(&agreed.own_window_bits), "{agreed:?}");
            assert!((8..=15).contains(&agreed.peer_window_bits), "{agreed:?}");
            let answer_text = format_extensions(std::slice::from_ref(&answer));
            let mut parsed = Vec::new();
            parse_list(&answer_text, &mut parsed).expect("answer parses");
            assert_eq!(parsed, [answer.clone()]);
            for (k, v) in &answer.params {
                match k.as_str() {
                    "server_no_context_takeover" | "client_no_context_takeover" => {
                        assert!(v.is_none())
                    }
                    "server_max_window_bits" | "client_max_window_bits" => {
                        let n: u8 = v.as_deref().expect("a window has a value").parse().unwrap();
                        assert!((8..=15).contains(&n));
                    }
                    other => panic!("answer names {other}"),
                }
            }
        }
        let _ = config.check_answer(&list);
    }
});
