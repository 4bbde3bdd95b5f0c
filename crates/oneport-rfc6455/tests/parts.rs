//! Receiving data messages in parts (`Connection::receive_part`): every
//! way of splitting the input gives the same bytes, UTF-8 is checked
//! across parts and fails at once, control frames come between parts, the
//! limit is the caller's, compressed messages come in parts too, and the
//! whole and the parted ways of receiving hand a message over to each
//! other.

use bytes::BytesMut;
use oneport_rfc6455::deflate::{ContextTakeover, DeflateConfig, DeflateParams};
use oneport_rfc6455::{
    CloseCode, Config, Connection, Error, Fin, Message, OpCode, Part, Role, State,
};

fn client() -> Connection {
    Connection::new(Role::Client, Config::default())
}

fn server() -> Connection {
    Connection::new(Role::Server, Config::default())
}

/// A text message of three fragments (multi-byte characters straddling
/// the fragment boundaries) with a ping between the first two.
fn fragmented_with_a_ping(text: &str) -> BytesMut {
    let mut c = client();
    let b = text.as_bytes();
    let (x, y) = (b.len() / 3, 2 * b.len() / 3);
    let mut wire = BytesMut::new();
    c.encode_frame(OpCode::Text, Fin::More, &b[..x], &mut wire)
        .unwrap();
    c.encode(&Message::Ping("p".into()), &mut wire).unwrap();
    c.encode_frame(OpCode::Continuation, Fin::More, &b[x..y], &mut wire)
        .unwrap();
    c.encode_frame(OpCode::Continuation, Fin::Final, &b[y..], &mut wire)
        .unwrap();
    wire
}

/// Feeds `wire` to a fresh server in pieces cut at `cuts`, collecting the
/// data bytes, the control messages, and how many parts the data took.
fn parts_of(wire: &[u8], cuts: &[usize]) -> (Vec<u8>, Vec<Message>, usize) {
    let mut s = server();
    let (mut data, mut controls, mut parts, mut ended) = (Vec::new(), Vec::new(), 0, false);
    let mut inbox = BytesMut::new();
    let mut at = 0;
    for &cut in cuts.iter().chain(std::iter::once(&wire.len())) {
        inbox.extend_from_slice(&wire[at..cut]);
        at = cut;
        while let Some(p) = s.receive_part(&mut inbox, None).expect("valid") {
            match p {
                Part::Control(m) => controls.push(m),
                Part::Data { text, data: d, fin } => {
                    assert!(text);
                    assert!(!ended, "nothing after the last part");
                    data.extend_from_slice(&d);
                    parts += 1;
                    ended = fin;
                }
            }
        }
    }
    assert!(ended, "the last part says so");
    (data, controls, parts)
}

#[test]
fn every_split_gives_the_same_bytes_and_the_ping_between() {
    let text = "caf\u{e9} \u{1f600} na\u{ef}ve \u{4e2d}\u{6587} ".repeat(3);
    let wire = fragmented_with_a_ping(&text);
    for one in 0..wire.len() {
        for two in [one, (one + 7).min(wire.len())] {
            let (data, controls, _) = parts_of(&wire, &[one, two]);
            assert_eq!(data, text.as_bytes(), "cut at {one}, {two}");
            assert_eq!(controls, [Message::Ping("p".into())]);
        }
    }
    // Byte by byte: the message comes in many parts, none assembled.
    let cuts: Vec<usize> = (1..wire.len()).collect();
    let (data, _, parts) = parts_of(&wire, &cuts);
    assert_eq!(data, text.as_bytes());
    assert!(parts > 10, "{parts} parts");
}

#[test]
fn invalid_utf8_in_the_middle_fails_at_once_with_1007() {
    let mut c = client();
    let mut wire = BytesMut::new();
    c.encode_frame(
        OpCode::Text,
        Fin::More,
        "fine so far ".as_bytes(),
        &mut wire,
    )
    .unwrap();
    let bad_at = wire.len() + 6 + 3; // header, mask, then "abc"
    c.encode_frame(OpCode::Continuation, Fin::More, b"abc\xFFdef", &mut wire)
        .unwrap();
    c.encode_frame(OpCode::Continuation, Fin::Final, b"never read", &mut wire)
        .unwrap();
    let mut s = server();
    let mut inbox = BytesMut::from(&wire[..bad_at]);
    // Everything before the bad byte comes through.
    let mut got = Vec::new();
    while let Some(Part::Data { data, .. }) = s.receive_part(&mut inbox, None).unwrap() {
        got.extend_from_slice(&data);
    }
    assert_eq!(got, b"fine so far abc");
    // The bad byte alone fails the message: the rest is never needed.
    inbox.extend_from_slice(&wire[bad_at..bad_at + 1]);
    assert!(matches!(s.receive_part(&mut inbox, None), Err(Error::Utf8)));
    let mut out = BytesMut::new();
    assert!(s.poll_transmit(&mut out));
    let mut c2 = client();
    let close = c2.receive(&mut out).unwrap();
    assert!(matches!(close, Some(Message::Close(Some(f))) if f.code == CloseCode::INVALID_PAYLOAD));
    // A character cut between parts is fine; one that cannot end is not.
    let mut s = server();
    let mut c = client();
    let mut wire = BytesMut::new();
    c.encode_frame(OpCode::Text, Fin::More, b"\xE4\xB8", &mut wire)
        .unwrap();
    c.encode_frame(OpCode::Continuation, Fin::Final, b"\xAD", &mut wire)
        .unwrap();
    let mut all = Vec::new();
    while let Some(Part::Data { data, .. }) = s.receive_part(&mut wire, None).unwrap() {
        all.extend_from_slice(&data);
    }
    assert_eq!(String::from_utf8(all).unwrap(), "\u{4e2d}");
    let mut s = server();
    let mut wire = BytesMut::new();
    client()
        .encode_frame(OpCode::Text, Fin::Final, b"\xE4\xB8", &mut wire)
        .unwrap();
    let r = loop {
        let r = s.receive_part(&mut wire, None);
        if !matches!(r, Ok(Some(_))) {
            break r;
        }
    };
    assert!(
        matches!(r, Err(Error::Utf8)),
        "a message may not end inside a character: {r:?}"
    );
}

#[test]
fn the_limit_is_the_callers_and_none_is_none() {
    let config = Config::default().max_message_size(100);
    let mut c = client();
    let mut wire = BytesMut::new();
    for k in 0..5 {
        let (op, fin) = match k {
            0 => (OpCode::Binary, Fin::More),
            4 => (OpCode::Continuation, Fin::Final),
            _ => (OpCode::Continuation, Fin::More),
        };
        c.encode_frame(op, fin, &[k as u8; 50], &mut wire).unwrap();
    }
    // 250 bytes: over the whole-message limit, yet fine in parts unbounded.
    let mut s = Connection::new(Role::Server, config.clone());
    let mut inbox = wire.clone();
    let mut n = 0;
    while let Some(Part::Data { data, .. }) = s.receive_part(&mut inbox, None).unwrap() {
        n += data.len();
    }
    assert_eq!(n, 250);
    // With a limit of 120 it fails with 1009 once past it.
    let mut s = Connection::new(Role::Server, config);
    let mut inbox = wire;
    let mut r = Ok(None);
    for _ in 0..10 {
        r = s.receive_part(&mut inbox, Some(120));
        if r.is_err() {
            break;
        }
    }
    let e = r.unwrap_err();
    assert_eq!(e.close_code(), Some(CloseCode::TOO_BIG));
    assert_eq!(s.state(), State::Failed);
}

#[test]
fn a_compressed_message_comes_in_parts_held_small() {
    let params = |_| DeflateParams {
        own_context: ContextTakeover::Reset,
        peer_context: ContextTakeover::Reset,
        own_window_bits: 15,
        peer_window_bits: 15,
    };
    let config = Config::default().deflate(Some(DeflateConfig {
        min_size: 0,
        ..DeflateConfig::default()
    }));
    let mut c = Connection::with_deflate(Role::Client, config.clone(), Some(params(())));
    let mut s = Connection::with_deflate(Role::Server, config, Some(params(())));
    let text: String = (0..1_000_000)
        .map(|i| char::from(b'a' + (i % 23) as u8))
        .collect();
    let mut wire = BytesMut::new();
    c.encode(&Message::text(text.clone()), &mut wire).unwrap();
    assert!(wire.len() < 100_000, "it compressed");
    let (mut got, mut biggest) = (Vec::new(), 0);
    let mut inbox = BytesMut::new();
    for piece in wire.chunks(4096) {
        inbox.extend_from_slice(piece);
        while let Some(p) = s.receive_part(&mut inbox, None).unwrap() {
            let Part::Data { data, .. } = p else {
                panic!("{p:?}")
            };
            biggest = biggest.max(data.len());
            got.extend_from_slice(&data);
        }
    }
    assert_eq!(got, text.as_bytes());
    assert!(
        biggest <= 64 * 1024,
        "a part is held to 64 KiB, not the message: {biggest}"
    );
    // The context is reset and the connection goes on with whole messages.
    let mut wire = BytesMut::new();
    c.encode(&Message::text("next"), &mut wire).unwrap();
    assert_eq!(s.receive(&mut wire).unwrap(), Some(Message::text("next")));
}

#[test]
fn whole_and_parted_receiving_hand_a_message_over() {
    let text = "one two three four five six seven eight nine ten";
    // Begun whole (two fragments assembled), finished in parts.
    let wire = fragmented_with_a_ping(text);
    let mut s = server();
    let split = wire.len() - 8;
    let mut inbox = BytesMut::from(&wire[..split]);
    assert_eq!(
        s.receive(&mut inbox).unwrap(),
        Some(Message::Ping("p".into()))
    );
    assert_eq!(s.receive(&mut inbox).unwrap(), None);
    let mut got = Vec::new();
    inbox.extend_from_slice(&wire[split..]);
    while let Some(Part::Data { data, .. }) = s.receive_part(&mut inbox, None).unwrap() {
        got.extend_from_slice(&data);
    }
    assert_eq!(got, text.as_bytes());
    // Begun in parts, left: the next whole receive skips its rest.
    let mut c = client();
    let mut wire = BytesMut::new();
    c.encode_frame(OpCode::Binary, Fin::More, b"left", &mut wire)
        .unwrap();
    let mut s = server();
    assert!(matches!(
        s.receive_part(&mut wire, None).unwrap(),
        Some(Part::Data { .. })
    ));
    c.encode_frame(OpCode::Continuation, Fin::Final, b" behind", &mut wire)
        .unwrap();
    c.encode(&Message::text("after"), &mut wire).unwrap();
    assert_eq!(s.receive(&mut wire).unwrap(), Some(Message::text("after")));
}

#[test]
fn a_single_frame_begun_whole_is_finished_in_parts_compressed_or_not() {
    let config = Config::default().deflate(Some(DeflateConfig {
        min_size: 0,
        ..DeflateConfig::default()
    }));
    let params = DeflateParams {
        own_context: ContextTakeover::Reset,
        peer_context: ContextTakeover::Reset,
        own_window_bits: 15,
        peer_window_bits: 15,
    };
    let text: String = (0..50_000)
        .map(|i| char::from(b'a' + (i % 19) as u8))
        .collect();
    for deflate in [None, Some(params)] {
        let mut c = Connection::with_deflate(Role::Client, config.clone(), deflate);
        let mut s = Connection::with_deflate(Role::Server, config.clone(), deflate);
        let mut wire = BytesMut::new();
        c.encode(&Message::text(text.clone()), &mut wire).unwrap();
        let half = wire.len() / 2;
        let mut inbox = BytesMut::from(&wire[..half]);
        assert_eq!(s.receive(&mut inbox).unwrap(), None, "half a frame");
        inbox.extend_from_slice(&wire[half..]);
        let mut got = Vec::new();
        while let Some(p) = s.receive_part(&mut inbox, None).unwrap() {
            let Part::Data { data, .. } = p else {
                panic!("{p:?}")
            };
            got.extend_from_slice(&data);
        }
        assert_eq!(got, text.as_bytes(), "deflate: {}", deflate.is_some());
    }
}
