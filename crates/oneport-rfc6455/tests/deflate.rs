//! permessage-deflate on the sans-IO engine (RFC 7692 §6, §7.2): what goes
//! on the wire, what is refused, and that every way of splitting the bytes
//! inflates to the same messages.

use bytes::BytesMut;
use oneport_rfc6455::deflate::{ContextTakeover, DeflateConfig, DeflateParams};
use oneport_rfc6455::{
    CapacityError, CloseCode, Compress, Config, Connection, Error, Fin, FrameHeader, Message,
    OpCode, ProtocolError, RSV1, Role, State,
};
use proptest::prelude::*;

const KEEP: ContextTakeover = ContextTakeover::Keep;
const RESET: ContextTakeover = ContextTakeover::Reset;

fn params(own: ContextTakeover, peer: ContextTakeover) -> DeflateParams {
    DeflateParams {
        own_context: own,
        peer_context: peer,
        own_window_bits: 15,
        peer_window_bits: 15,
    }
}

/// A config that compresses every data message, however short.
fn eager() -> Config {
    Config::default().deflate(Some(DeflateConfig {
        min_size: 0,
        ..DeflateConfig::default()
    }))
}

/// A client and a server that agreed on `client` / `server` contexts.
fn pair(client: ContextTakeover, server: ContextTakeover) -> (Connection, Connection) {
    (
        Connection::with_deflate(Role::Client, eager(), Some(params(client, server))),
        Connection::with_deflate(Role::Server, eager(), Some(params(server, client))),
    )
}

fn text_of(n: usize) -> String {
    (0..n).map(|i| char::from(b'a' + (i % 7) as u8)).collect()
}

/// The first frame byte (FIN, RSV, opcode) of what `msg` encodes to.
fn first_byte(conn: &mut Connection, msg: &Message, compress: Compress) -> u8 {
    let mut wire = BytesMut::new();
    conn.encode_with(msg, compress, &mut wire).unwrap();
    wire[0]
}

#[test]
fn a_compressed_message_has_rsv1_and_round_trips() {
    for (client, server) in [(KEEP, KEEP), (RESET, RESET), (KEEP, RESET), (RESET, KEEP)] {
        let (mut c, mut s) = pair(client, server);
        for round in 0..3 {
            for msg in [
                Message::text(text_of(5000)),
                Message::binary(vec![round as u8; 300]),
                Message::text(""),
                Message::text("é€😀 mixed"),
            ] {
                let mut wire = BytesMut::new();
                c.encode(&msg, &mut wire).unwrap();
                assert_eq!(wire[0] & 0x70, 0x40, "RSV1 alone is set");
                assert_eq!(s.receive(&mut wire).unwrap(), Some(msg.clone()));
                assert!(wire.is_empty());
                // And back.
                let mut wire = BytesMut::new();
                s.encode(&msg, &mut wire).unwrap();
                assert_eq!(wire[0] & 0x70, 0x40);
                assert_eq!(c.receive(&mut wire).unwrap(), Some(msg));
            }
        }
    }
}

#[test]
fn compression_shrinks_repetitive_text() {
    let (mut c, _) = pair(KEEP, KEEP);
    let mut wire = BytesMut::new();
    c.encode(&Message::text(text_of(16 * 1024)), &mut wire)
        .unwrap();
    assert!(wire.len() < 1024, "{} bytes on the wire", wire.len());
}

#[test]
fn control_frames_are_never_compressed() {
    let (mut c, mut s) = pair(KEEP, KEEP);
    assert_eq!(
        first_byte(
            &mut c,
            &Message::Ping(vec![b'x'; 100].into()),
            Compress::Auto
        ),
        0x89
    );
    assert_eq!(
        first_byte(
            &mut s,
            &Message::Pong(vec![b'x'; 100].into()),
            Compress::Auto
        ),
        0x8A
    );
    let close = Message::Close(Some(oneport_rfc6455::CloseFrame::new(
        CloseCode::NORMAL,
        "bye",
    )));
    assert_eq!(first_byte(&mut s, &close, Compress::Auto), 0x88);
}

#[test]
fn the_opt_out_and_the_threshold_send_plain_frames() {
    let (mut c, mut s) = pair(KEEP, KEEP);
    let msg = Message::text(text_of(2000));
    let mut wire = BytesMut::new();
    c.encode_with(&msg, Compress::Never, &mut wire).unwrap();
    assert_eq!(wire[0], 0x81, "FIN, no RSV1, text");
    assert_eq!(s.receive(&mut wire).unwrap(), Some(msg));

    // The default threshold: short messages go plain, long ones compressed.
    let config = Config::default().deflate(Some(DeflateConfig::default()));
    let mut c = Connection::with_deflate(Role::Client, config, Some(params(KEEP, KEEP)));
    let short = Message::text(text_of(1023));
    let long = Message::text(text_of(1024));
    assert_eq!(first_byte(&mut c, &short, Compress::Auto), 0x81);
    assert_eq!(first_byte(&mut c, &long, Compress::Auto), 0xC1);
}

#[test]
fn rsv1_without_negotiation_is_still_1002() {
    let mut s = Connection::new(Role::Server, eager());
    let mut c = Connection::with_deflate(Role::Client, eager(), Some(params(KEEP, KEEP)));
    let mut wire = BytesMut::new();
    c.encode(&Message::text("hello hello"), &mut wire).unwrap();
    let err = s.receive(&mut wire).unwrap_err();
    assert!(
        matches!(err, Error::Protocol(ProtocolError::ReservedBits(4))),
        "{err:?}"
    );
    assert_eq!(s.state(), State::Failed);
    let mut out = BytesMut::new();
    assert!(s.poll_transmit(&mut out));
    assert_eq!(&out[..], b"\x88\x02\x03\xea");
}

/// A masked client frame with the given first byte and payload.
fn client_frame(b0: u8, payload: &[u8]) -> BytesMut {
    let mut wire = BytesMut::new();
    let mut c = Connection::new(Role::Client, Config::default());
    let opcode = OpCode::from_u8(b0 & 0x0F).unwrap();
    let fin = Fin::from_bit(b0 & 0x80 != 0);
    if opcode == OpCode::Continuation {
        c.encode_frame(OpCode::Binary, Fin::More, b"", &mut BytesMut::new())
            .unwrap();
    }
    c.encode_frame(opcode, fin, payload, &mut wire).unwrap();
    wire[0] = b0;
    wire
}

/// Raw deflate of `data` with the tail stripped, as a peer would send it:
/// the payload of a server's compressed frame.
fn deflated(data: &[u8]) -> Vec<u8> {
    let mut s = Connection::with_deflate(Role::Server, eager(), Some(params(RESET, RESET)));
    let mut frame = BytesMut::new();
    s.encode(&Message::binary(data.to_vec()), &mut frame)
        .unwrap();
    let (header, n) = FrameHeader::parse_with_rsv(&frame, RSV1).unwrap().unwrap();
    assert_eq!(header.rsv, RSV1);
    frame[n..].to_vec()
}

#[test]
fn rsv1_on_a_continuation_or_a_control_frame_is_1002() {
    for (first, second) in [
        // A compressed first fragment, then a continuation with RSV1.
        (Some(client_frame(0x42, b"")), client_frame(0xC0, b"")),
        // A ping with RSV1.
        (None, client_frame(0xC9, b"")),
        // A plain first fragment, then RSV1 on its continuation.
        (Some(client_frame(0x02, b"ab")), client_frame(0xC0, b"cd")),
    ] {
        let mut s = Connection::with_deflate(Role::Server, eager(), Some(params(KEEP, KEEP)));
        if let Some(mut f) = first {
            assert_eq!(s.receive(&mut f).unwrap(), None);
        }
        let mut f = second;
        let err = s.receive(&mut f).unwrap_err();
        assert!(
            matches!(err, Error::Protocol(ProtocolError::ReservedBits(_))),
            "{err:?}"
        );
        assert_eq!(err.close_code(), Some(CloseCode::PROTOCOL));
    }
}

#[test]
fn rsv2_and_rsv3_stay_refused_with_deflate() {
    for b0 in [0xA1, 0x91, 0xE1] {
        let mut s = Connection::with_deflate(Role::Server, eager(), Some(params(KEEP, KEEP)));
        let mut f = client_frame(b0, b"x");
        let err = s.receive(&mut f).unwrap_err();
        assert_eq!(err.close_code(), Some(CloseCode::PROTOCOL), "{b0:#x}");
    }
}

#[test]
fn a_fragmented_compressed_message_with_a_ping_inside() {
    let data = text_of(10_000);
    let payload = deflated(data.as_bytes());
    let (a, b) = payload.split_at(payload.len() / 2);
    let mut wire = client_frame(0x41, a); // text, RSV1, not final
    wire.extend_from_slice(&client_frame(0x89, b"ping"));
    wire.extend_from_slice(&client_frame(0x80, b)); // continuation, final
    let mut s = Connection::with_deflate(Role::Server, eager(), Some(params(KEEP, KEEP)));
    assert_eq!(
        s.receive(&mut wire).unwrap(),
        Some(Message::Ping(b"ping"[..].into()))
    );
    assert_eq!(s.receive(&mut wire).unwrap(), Some(Message::text(data)));
}

#[test]
fn a_compression_bomb_closes_with_1009() {
    let config = eager().max_message_size(1 << 20);
    let bomb = deflated(&vec![0u8; 8 << 20]);
    assert!(bomb.len() < 64 * 1024);
    let mut s = Connection::with_deflate(Role::Server, config, Some(params(KEEP, KEEP)));
    let mut wire = client_frame(0xC2, &bomb);
    let err = s.receive(&mut wire).unwrap_err();
    assert!(
        matches!(err, Error::Capacity(CapacityError::MessageTooLarge { max, .. }) if max == 1 << 20),
        "{err:?}"
    );
    let mut out = BytesMut::new();
    assert!(s.poll_transmit(&mut out));
    assert_eq!(&out[..], b"\x88\x02\x03\xf1");
}

#[test]
fn invalid_utf8_inside_a_compressed_text_is_1007() {
    let mut bad = text_of(3000).into_bytes();
    bad[2000] = 0xFF;
    let mut s = Connection::with_deflate(Role::Server, eager(), Some(params(KEEP, KEEP)));
    let mut wire = client_frame(0xC1, &deflated(&bad));
    let err = s.receive(&mut wire).unwrap_err();
    assert!(matches!(err, Error::Utf8), "{err:?}");
    assert_eq!(err.close_code(), Some(CloseCode::INVALID_PAYLOAD));
}

#[test]
fn data_that_is_not_deflate_is_1007() {
    let mut s = Connection::with_deflate(Role::Server, eager(), Some(params(KEEP, KEEP)));
    let mut wire = client_frame(0xC2, &[0xFF; 32]);
    let err = s.receive(&mut wire).unwrap_err();
    assert!(matches!(err, Error::Compression), "{err:?}");
    assert_eq!(err.close_code(), Some(CloseCode::INVALID_PAYLOAD));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every way of cutting the wire into two reads, and reads of any
    /// fixed size, inflate to the same messages, with kept contexts (where
    /// a lost byte would corrupt every later message).
    #[test]
    fn any_split_gives_the_same_messages(
        sizes in proptest::collection::vec(0usize..3000, 1..5),
        cut in any::<prop::sample::Index>(),
        step in 1usize..700,
    ) {
        let (mut c, _) = pair(KEEP, KEEP);
        let mut wire = BytesMut::new();
        let mut expected = Vec::new();
        for (i, n) in sizes.iter().enumerate() {
            let msg = if i % 2 == 0 {
                Message::text(text_of(*n))
            } else {
                Message::binary(vec![i as u8; *n])
            };
            c.encode(&msg, &mut wire).unwrap();
            expected.push(msg);
        }
        let at = cut.index(wire.len() + 1);
        for pieces in [
            vec![&wire[..at], &wire[at..]],
            wire.chunks(step).collect::<Vec<_>>(),
        ] {
            let mut s = Connection::with_deflate(Role::Server, eager(), Some(params(KEEP, KEEP)));
            let mut inbox = BytesMut::new();
            let mut got = Vec::new();
            for piece in pieces {
                inbox.extend_from_slice(piece);
                while let Some(m) = s.receive(&mut inbox).unwrap() {
                    got.push(m);
                }
            }
            prop_assert_eq!(&got, &expected);
        }
    }
}
