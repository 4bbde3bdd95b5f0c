//! Feeds arbitrary bytes to a server-side RFC 6455 connection with small
//! limits, in chunks whose size comes from the first input byte; its top
//! bit switches permessage-deflate on (both contexts kept), so compressed
//! frames are inflated under the same limits.
//!
//! Invariants: never panics; every error names a close code; splitting the
//! input never changes the outcome; received messages respect the limits and
//! re-encode to themselves.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use oneport_rfc6455::deflate::{ContextTakeover, DeflateParams};
use oneport_rfc6455::{CloseCode, Config, Connection, Message, Role};

const MAX_FRAME: usize = 4096;
const MAX_MESSAGE: usize = 16 * 1024;

#[derive(Debug, PartialEq)]
struct Outcome {
    messages: Vec<Message>,
    error: Option<CloseCode>,
}

fn config() -> Config {
    Config::default()
        .max_frame_size(MAX_FRAME)
        .max_message_size(MAX_MESSAGE)
}

const DEFLATE: DeflateParams = DeflateParams {
    own_context: ContextTakeover::Keep,
    peer_context: ContextTakeover::Keep,
    own_window_bits: 15,
    peer_window_bits: 15,
};

fn run(input: &[u8], chunk: usize, deflate: Option<DeflateParams>) -> Outcome {
    let mut conn = Connection::with_deflate(Role::Server, config(), deflate);
    let mut buf = BytesMut::new();
    let mut messages = Vec::new();
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            let before = buf.len();
            let result = conn.receive(&mut buf);
            assert!(buf.len() <= before, "never grows the input");
            match result {
                Ok(Some(msg)) => messages.push(msg),
                Ok(None) => break,
                Err(e) => {
                    let code = e.close_code();
                    assert!(code.is_some(), "remote error without a close code: {e}");
                    return Outcome {
                        messages,
                        error: code,
                    };
                }
            }
        }
    }
    Outcome {
        messages,
        error: None,
    }
}

fn check_message(msg: &Message) {
    match msg {
        Message::Text(t) => {
            assert!(std::str::from_utf8(t.as_bytes()).is_ok());
            assert!(t.len() <= MAX_MESSAGE);
        }
        Message::Binary(b) => assert!(b.len() <= MAX_MESSAGE),
        Message::Ping(p) | Message::Pong(p) => assert!(p.len() <= 125),
        Message::Close(Some(f)) => {
            assert!(f.code.is_valid());
            assert!(f.reason.len() <= 123);
        }
        Message::Close(None) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first % 64) + 1;
    let deflate = (first & 0x80 != 0).then_some(DEFLATE);
    let chunked = run(input, chunk, deflate);
    let whole = run(input, input.len().max(1), deflate);
    assert_eq!(chunked, whole, "outcome depends on how the input is split");

    // What was received re-encodes (server to client) to the same messages.
    let mut server = Connection::new(Role::Server, Config::default());
    let mut client = Connection::new(Role::Client, Config::default());
    let mut wire = BytesMut::new();
    for msg in &chunked.messages {
        check_message(msg);
        if server.is_close_sent() {
            break;
        }
        server
            .encode(msg, &mut wire)
            .expect("a received message can be sent");
        assert_eq!(
            client.receive(&mut wire).expect("decodes"),
            Some(msg.clone())
        );
        assert!(wire.is_empty());
    }
});
