//! The sans-IO engine against wire samples: RFC 6455 §5.7 examples, every
//! framing rule, limits, UTF-8, close codes, and split feeding.

use bytes::{Bytes, BytesMut};
use oneport_rfc6455::{
    CapacityError, CloseCode, CloseFrame, Config, Connection, Error, Fin, LocalError, Message,
    OpCode, ProtocolError, Role, State, encode_frame,
};

/// What feeding some bytes produced: the messages, then the error (as its
/// close code and text) if any.
#[derive(Debug, PartialEq)]
struct Outcome {
    messages: Vec<Message>,
    error: Option<(Option<CloseCode>, String)>,
}

fn run(role: Role, config: &Config, chunks: &[&[u8]]) -> Outcome {
    let mut conn = Connection::new(role, config.clone());
    let mut buf = BytesMut::new();
    let mut messages = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match conn.receive(&mut buf) {
                Ok(Some(m)) => messages.push(m),
                Ok(None) => break,
                Err(e) => {
                    return Outcome {
                        messages,
                        error: Some((e.close_code(), e.to_string())),
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

/// Feeds `bytes` whole, byte by byte, and split at every point; all must
/// agree. Returns the outcome.
fn decode(role: Role, config: &Config, bytes: &[u8]) -> Outcome {
    let whole = run(role, config, &[bytes]);
    let singles: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(run(role, config, &singles), whole, "byte by byte");
    for i in 0..=bytes.len() {
        let (a, b) = bytes.split_at(i);
        assert_eq!(run(role, config, &[a, b]), whole, "split at {i}");
    }
    whole
}

fn server(bytes: &[u8]) -> Outcome {
    decode(Role::Server, &Config::default(), bytes)
}

fn client(bytes: &[u8]) -> Outcome {
    decode(Role::Client, &Config::default(), bytes)
}

fn ok(messages: Vec<Message>) -> Outcome {
    Outcome {
        messages,
        error: None,
    }
}

fn code_of(outcome: &Outcome) -> Option<u16> {
    outcome
        .error
        .as_ref()
        .map(|(c, _)| c.expect("remote errors have a close code").as_u16())
}

/// A masked frame as a client would send it.
fn masked(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(
        opcode,
        Fin::from_bit(fin),
        Some([0x11, 0x22, 0x33, 0x44]),
        payload,
        &mut out,
    );
    out.to_vec()
}

fn unmasked(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(opcode, Fin::from_bit(fin), None, payload, &mut out);
    out.to_vec()
}

fn cat(frames: &[Vec<u8>]) -> Vec<u8> {
    frames.concat()
}

// --- RFC 6455 §5.7 examples -------------------------------------------------

#[test]
fn rfc_single_frame_unmasked_text() {
    let wire = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    assert_eq!(client(&wire), ok(vec![Message::text("Hello")]));
    let mut out = BytesMut::new();
    let mut server = Connection::new(Role::Server, Config::default());
    server.encode(&Message::text("Hello"), &mut out).unwrap();
    assert_eq!(&out[..], &wire);
}

#[test]
fn rfc_single_frame_masked_text() {
    let wire = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(server(&wire), ok(vec![Message::text("Hello")]));
    let mut out = BytesMut::new();
    encode_frame(
        OpCode::Text,
        Fin::Final,
        Some([0x37, 0xfa, 0x21, 0x3d]),
        b"Hello",
        &mut out,
    );
    assert_eq!(&out[..], &wire);
}

#[test]
fn rfc_fragmented_unmasked_text() {
    let wire = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
    assert_eq!(client(&wire), ok(vec![Message::text("Hello")]));
}

#[test]
fn rfc_ping_and_masked_pong() {
    let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    assert_eq!(
        client(&ping),
        ok(vec![Message::Ping(Bytes::from_static(b"Hello"))])
    );
    let pong = [
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(
        server(&pong),
        ok(vec![Message::Pong(Bytes::from_static(b"Hello"))])
    );
}

#[test]
fn rfc_256_byte_and_64k_binary_headers() {
    let payload: Vec<u8> = (0..256u32).map(|i| i as u8).collect();
    let mut wire = vec![0x82, 0x7E, 0x01, 0x00];
    wire.extend_from_slice(&payload);
    let mut out = BytesMut::new();
    Connection::new(Role::Server, Config::default())
        .encode(&Message::binary(payload.clone()), &mut out)
        .unwrap();
    assert_eq!(&out[..], &wire[..]);
    assert_eq!(client(&wire), ok(vec![Message::binary(payload)]));

    let big: Vec<u8> = (0..65536u32).map(|i| (i * 7) as u8).collect();
    let mut wire = vec![0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0];
    wire.extend_from_slice(&big);
    let mut out = BytesMut::new();
    Connection::new(Role::Server, Config::default())
        .encode(&Message::binary(big.clone()), &mut out)
        .unwrap();
    assert_eq!(&out[..], &wire[..]);
    // Whole and byte by byte only (every split of 64 KiB is slow).
    let whole = run(Role::Client, &Config::default(), &[&wire]);
    assert_eq!(whole, ok(vec![Message::binary(big)]));
    let singles: Vec<&[u8]> = wire.chunks(1).collect();
    assert_eq!(run(Role::Client, &Config::default(), &singles), whole);
    let sevens: Vec<&[u8]> = wire.chunks(7777).collect();
    assert_eq!(run(Role::Client, &Config::default(), &sevens), whole);
}

// --- masking by role ----------------------------------------------------------

#[test]
fn server_requires_masked_frames() {
    let out = server(&unmasked(OpCode::Text, true, b"hi"));
    assert_eq!(code_of(&out), Some(1002));
    let lax = Config::default().accept_unmasked_frames(true);
    let out = decode(Role::Server, &lax, &unmasked(OpCode::Text, true, b"hi"));
    assert_eq!(out, ok(vec![Message::text("hi")]));
}

#[test]
fn client_refuses_masked_frames() {
    let out = client(&masked(OpCode::Binary, true, b"x"));
    assert_eq!(code_of(&out), Some(1002));
    assert!(out.error.unwrap().1.contains("masked frame from a server"));
}

#[test]
fn client_masks_with_fresh_keys_and_server_does_not_mask() {
    let mut c = Connection::new(Role::Client, Config::default());
    let mut keys = std::collections::HashSet::new();
    for _ in 0..32 {
        let mut out = BytesMut::new();
        c.encode(&Message::text("same"), &mut out).unwrap();
        assert_eq!(out[1] & 0x80, 0x80, "mask bit");
        keys.insert(out[2..6].to_vec());
        assert_ne!(&out[6..], b"same");
        // The server decodes it.
        let mut s = Connection::new(Role::Server, Config::default());
        assert_eq!(s.receive(&mut out).unwrap(), Some(Message::text("same")));
    }
    assert!(keys.len() > 1, "keys must vary between frames");

    let mut s = Connection::new(Role::Server, Config::default());
    let mut out = BytesMut::new();
    s.encode(&Message::text("same"), &mut out).unwrap();
    assert_eq!(&out[..], b"\x81\x04same");
}

// --- framing rules ----------------------------------------------------------------

#[test]
fn reserved_bits_and_opcodes_fail_with_1002() {
    for b0 in [0xC1u8, 0xA1, 0x91] {
        let mut f = masked(OpCode::Text, true, b"x");
        f[0] = b0;
        assert_eq!(code_of(&server(&f)), Some(1002), "{b0:#x}");
    }
    for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        let mut f = masked(OpCode::Text, true, b"");
        f[0] = 0x80 | op;
        let out = server(&f);
        assert_eq!(code_of(&out), Some(1002), "opcode {op}");
    }
}

#[test]
fn control_frame_rules() {
    // 125 bytes is fine, 126 is not.
    let p125 = vec![b'a'; 125];
    assert_eq!(
        server(&masked(OpCode::Ping, true, &p125)),
        ok(vec![Message::Ping(p125.clone().into())])
    );
    let mut too_long = masked(OpCode::Binary, true, &[0u8; 126]);
    too_long[0] = 0x89;
    assert_eq!(code_of(&server(&too_long)), Some(1002));
    // Fragmented control frame.
    let mut frag = masked(OpCode::Ping, true, b"x");
    frag[0] = 0x09;
    assert_eq!(code_of(&server(&frag)), Some(1002));
}

#[test]
fn length_with_top_bit_set_fails_with_1002() {
    let wire = [0x82u8, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4];
    assert_eq!(code_of(&server(&wire)), Some(1002));
}

#[test]
fn non_minimal_lengths_are_accepted() {
    // "hi" announced with a 16-bit and a 64-bit length.
    let mut w16 = vec![0x81u8, 0xFE, 0x00, 0x02, 0, 0, 0, 0];
    w16.extend_from_slice(b"hi");
    assert_eq!(server(&w16), ok(vec![Message::text("hi")]));
    let mut w64 = vec![0x81u8, 0xFF, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0];
    w64.extend_from_slice(b"hi");
    assert_eq!(server(&w64), ok(vec![Message::text("hi")]));
}

#[test]
fn fragmentation_with_interleaved_control_frames() {
    let wire = cat(&[
        masked(OpCode::Text, false, "fra".as_bytes()),
        masked(OpCode::Ping, true, b"p1"),
        masked(OpCode::Continuation, false, "gmé".as_bytes()),
        masked(OpCode::Pong, true, b""),
        masked(OpCode::Continuation, false, b""),
        masked(OpCode::Continuation, true, "nted".as_bytes()),
        masked(OpCode::Binary, false, &[1, 2]),
        masked(OpCode::Continuation, true, &[3]),
    ]);
    assert_eq!(
        server(&wire),
        ok(vec![
            Message::Ping(Bytes::from_static(b"p1")),
            Message::Pong(Bytes::new()),
            Message::text("fragménted"),
            Message::binary(vec![1, 2, 3]),
        ])
    );
}

#[test]
fn continuation_without_start_fails_with_1002() {
    let out = server(&masked(OpCode::Continuation, true, b"x"));
    assert_eq!(code_of(&out), Some(1002));
    assert!(out.error.unwrap().1.contains("continuation"));
}

#[test]
fn new_data_frame_while_fragmented_fails_with_1002() {
    let wire = cat(&[
        masked(OpCode::Text, false, b"a"),
        masked(OpCode::Text, true, b"b"),
    ]);
    assert_eq!(code_of(&server(&wire)), Some(1002));
    let wire = cat(&[
        masked(OpCode::Binary, false, b"a"),
        masked(OpCode::Binary, false, b"b"),
    ]);
    assert_eq!(code_of(&server(&wire)), Some(1002));
}

// --- close frames -------------------------------------------------------------------

#[test]
fn close_frame_codes() {
    for code in 0..=5000u16 {
        let wire = masked(OpCode::Close, true, &code.to_be_bytes());
        let out = run(Role::Server, &Config::default(), &[&wire]);
        if CloseCode::is_valid_on_wire(code) {
            assert_eq!(
                out,
                ok(vec![Message::Close(Some(CloseFrame::new(
                    CloseCode::new(code),
                    ""
                )))]),
                "code {code}"
            );
        } else {
            assert_eq!(code_of(&out), Some(1002), "code {code}");
        }
    }
}

#[test]
fn close_frame_payloads() {
    assert_eq!(
        server(&masked(OpCode::Close, true, b"")),
        ok(vec![Message::Close(None)])
    );
    assert_eq!(
        code_of(&server(&masked(OpCode::Close, true, b"\x03"))),
        Some(1002)
    );
    let mut reason = 1000u16.to_be_bytes().to_vec();
    reason.extend_from_slice("byé".as_bytes());
    assert_eq!(
        server(&masked(OpCode::Close, true, &reason)),
        ok(vec![Message::Close(Some(CloseFrame::new(
            CloseCode::NORMAL,
            "byé"
        )))])
    );
    let mut bad = 1000u16.to_be_bytes().to_vec();
    bad.extend_from_slice(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80");
    assert_eq!(
        code_of(&server(&masked(OpCode::Close, true, &bad))),
        Some(1007)
    );
}

#[test]
fn nothing_is_parsed_after_close() {
    let wire = cat(&[
        masked(OpCode::Close, true, &1000u16.to_be_bytes()),
        masked(OpCode::Text, true, b"late"),
    ]);
    let mut conn = Connection::new(Role::Server, Config::default());
    let mut buf = BytesMut::from(&wire[..]);
    assert!(matches!(
        conn.receive(&mut buf),
        Ok(Some(Message::Close(Some(_))))
    ));
    let left = buf.len();
    assert_eq!(conn.receive(&mut buf).unwrap(), None);
    assert_eq!(buf.len(), left, "bytes after a close are not consumed");
    assert!(conn.is_close_received());
    assert!(conn.receive_eof().is_ok());
}

// --- limits ---------------------------------------------------------------------------

#[test]
fn huge_declared_length_fails_with_1009_before_allocating() {
    // A masked binary frame header claiming 2^60 bytes, and a few bytes.
    let mut wire = vec![0x82u8, 0xFF];
    wire.extend_from_slice(&(1u64 << 60).to_be_bytes());
    wire.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    let mut conn = Connection::new(Role::Server, Config::default());
    let mut buf = BytesMut::with_capacity(64);
    buf.extend_from_slice(&wire);
    let err = conn.receive(&mut buf).unwrap_err();
    assert_eq!(err.close_code(), Some(CloseCode::TOO_BIG));
    assert!(matches!(
        err,
        Error::Capacity(CapacityError::FrameTooLarge { size, .. }) if size == 1 << 60
    ));
    // Had the decoder reserved the declared length, this process would
    // have aborted; the buffer also kept its small capacity.
    assert!(buf.capacity() <= 64, "capacity {}", buf.capacity());
    // The failed connection refuses further input.
    assert!(matches!(conn.receive(&mut buf), Err(Error::AlreadyClosed)));
    assert_eq!(code_of(&server(&wire)), Some(1009));
}

#[test]
fn frame_size_limit() {
    let config = Config::default().max_frame_size(10);
    let fits = masked(OpCode::Binary, true, &[0; 10]);
    assert_eq!(decode(Role::Server, &config, &fits).error, None);
    // The error comes from the header alone: no payload byte is needed.
    let over = masked(OpCode::Binary, true, &[0; 11]);
    let out = run(Role::Server, &config, &[&over[..6]]);
    assert_eq!(code_of(&out), Some(1009));
}

#[test]
fn message_size_limit_across_fragments() {
    let config = Config::default().max_message_size(10);
    let wire = cat(&[
        masked(OpCode::Binary, false, &[0; 4]),
        masked(OpCode::Continuation, false, &[0; 4]),
        masked(OpCode::Continuation, true, &[0; 3]),
    ]);
    let out = decode(Role::Server, &config, &wire);
    assert_eq!(code_of(&out), Some(1009));
    assert!(out.error.unwrap().1.contains("11 bytes"));
    // Failing at the third header, before its payload arrived.
    let third_header_end = wire.len() - 3;
    let out = run(Role::Server, &config, &[&wire[..third_header_end]]);
    assert_eq!(code_of(&out), Some(1009));
    // Exactly at the limit is fine.
    let wire = cat(&[
        masked(OpCode::Binary, false, &[0; 5]),
        masked(OpCode::Continuation, true, &[0; 5]),
    ]);
    assert_eq!(
        decode(Role::Server, &config, &wire),
        ok(vec![Message::binary(vec![0; 10])])
    );
}

// --- UTF-8 ----------------------------------------------------------------------------

#[test]
fn invalid_utf8_text_fails_with_1007() {
    let out = server(&masked(OpCode::Text, true, b"abc\xff"));
    assert_eq!(code_of(&out), Some(1007));
    // Truncated code point at the end of the message.
    let out = server(&masked(OpCode::Text, true, b"abc\xe2\x82"));
    assert_eq!(code_of(&out), Some(1007));
    // Valid code point cut across fragments.
    let wire = cat(&[
        masked(OpCode::Text, false, b"\xe2"),
        masked(OpCode::Continuation, false, b"\x82"),
        masked(OpCode::Continuation, true, b"\xac"),
    ]);
    assert_eq!(server(&wire), ok(vec![Message::text("€")]));
    // Incomplete at the end of the final fragment.
    let wire = cat(&[
        masked(OpCode::Text, false, b"\xe2"),
        masked(OpCode::Continuation, true, b"\x82"),
    ]);
    assert_eq!(code_of(&server(&wire)), Some(1007));
    // Binary is not validated.
    assert_eq!(server(&masked(OpCode::Binary, true, b"\xff")).error, None);
}

#[test]
fn invalid_utf8_fails_fast_mid_fragment() {
    // Autobahn 6.4.x: the invalid byte is in the middle of the second
    // fragment, whose rest (and the third fragment) has not arrived.
    let valid = "κόσμε".as_bytes();
    let second = b"\xf4\x90\x80\x80rest of fragment";
    let mut wire = masked(OpCode::Text, false, valid);
    let second_start = wire.len();
    wire.extend(masked(OpCode::Continuation, false, second));
    wire.extend(masked(OpCode::Continuation, true, b"end"));
    // Header of fragment 2 is 6 bytes; payload byte 1 (0x90) is invalid
    // after 0xF4, so the error must come once 2 payload bytes are in.
    let cut = second_start + 6 + 2;
    let out = run(Role::Server, &Config::default(), &[&wire[..cut]]);
    assert_eq!(code_of(&out), Some(1007));
    let out = run(Role::Server, &Config::default(), &[&wire[..cut - 1]]);
    assert_eq!(out.error, None, "0xF4 alone is still a valid prefix");

    // Same inside a single frame delivered in chops.
    let single = masked(OpCode::Text, true, b"ok so far \xed\xa0\x80 and more text");
    let bad_at = 6 + 10 + 2; // header, "ok so far ", then 0xED 0xA0
    let out = run(Role::Server, &Config::default(), &[&single[..bad_at]]);
    assert_eq!(code_of(&out), Some(1007));
    let out = run(Role::Server, &Config::default(), &[&single[..bad_at - 1]]);
    assert_eq!(out.error, None);
}

// --- encoding ---------------------------------------------------------------------------

#[test]
fn encoding_refuses_what_the_protocol_forbids() {
    let mut c = Connection::new(Role::Server, Config::default());
    let mut out = BytesMut::new();
    let err = c
        .encode(&Message::Ping(vec![0; 126].into()), &mut out)
        .unwrap_err();
    assert!(matches!(err, Error::Local(LocalError::ControlTooLong(126))));
    assert_eq!(err.close_code(), None);
    let bad_code = Message::Close(Some(CloseFrame::new(CloseCode::NO_STATUS, "")));
    assert!(matches!(
        c.encode(&bad_code, &mut out),
        Err(Error::Local(LocalError::InvalidCloseCode(1005)))
    ));
    let long_reason = Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "x".repeat(124))));
    assert!(c.encode(&long_reason, &mut out).is_err());
    assert!(out.is_empty(), "nothing written on error");
    let max_reason = Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "x".repeat(123))));
    c.encode(&max_reason, &mut out).unwrap();
    assert_eq!(out.len(), 2 + 125);
    assert!(c.is_close_sent());
    assert!(matches!(
        c.encode(&Message::text("late"), &mut out),
        Err(Error::AlreadyClosed)
    ));
}

#[test]
fn fragmented_sending_rules() {
    let mut c = Connection::new(Role::Client, Config::default());
    let mut out = BytesMut::new();
    assert!(matches!(
        c.encode_frame(OpCode::Continuation, Fin::Final, b"x", &mut out),
        Err(Error::Local(LocalError::NoMessageToContinue))
    ));
    c.encode_frame(OpCode::Text, Fin::More, b"he", &mut out)
        .unwrap();
    assert!(matches!(
        c.encode(&Message::text("other"), &mut out),
        Err(Error::Local(LocalError::MessageInProgress))
    ));
    assert!(matches!(
        c.encode_frame(OpCode::Ping, Fin::More, b"", &mut out),
        Err(Error::Local(LocalError::FragmentedControl))
    ));
    c.encode(&Message::Ping(Bytes::from_static(b"mid")), &mut out)
        .unwrap();
    c.encode_frame(OpCode::Continuation, Fin::Final, b"llo", &mut out)
        .unwrap();
    c.encode(&Message::text("next"), &mut out).unwrap();

    let mut s = Connection::new(Role::Server, Config::default());
    let mut got = Vec::new();
    while let Some(m) = s.receive(&mut out).unwrap() {
        got.push(m);
    }
    assert_eq!(
        got,
        vec![
            Message::Ping(Bytes::from_static(b"mid")),
            Message::text("hello"),
            Message::text("next"),
        ]
    );
}

#[test]
fn frame_remaining_tracks_a_partial_payload() {
    let wire = masked(OpCode::Binary, true, &[7; 300]);
    let mut s = Connection::new(Role::Server, Config::default());
    let mut buf = BytesMut::from(&wire[..8 + 100]);
    assert_eq!(s.receive(&mut buf).unwrap(), None);
    assert_eq!(s.frame_remaining(), 200);
    buf.extend_from_slice(&wire[108..]);
    assert_eq!(
        s.receive(&mut buf).unwrap(),
        Some(Message::binary(vec![7; 300]))
    );
    assert_eq!(s.frame_remaining(), 0);
    assert!(buf.is_empty());
}

#[test]
fn eof_without_close_is_abnormal() {
    let mut s = Connection::new(Role::Server, Config::default());
    assert!(matches!(s.receive_eof(), Err(Error::ConnectionClosed)));
    assert_eq!(
        Error::from(ProtocolError::UnexpectedContinuation).close_code(),
        Some(CloseCode::PROTOCOL)
    );
}

// --- the closing policy and the state (§7) -----------------------------------------

/// Every frame `conn` wrote to `wire`, as the peer (`role`) reads them.
fn read_as(role: Role, wire: &mut BytesMut) -> Vec<Message> {
    let mut peer = Connection::new(role, Config::default());
    let mut got = Vec::new();
    while let Ok(Some(m)) = peer.receive(wire) {
        got.push(m);
    }
    got
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame::new(
        CloseCode::new(code),
        reason.to_owned(),
    )))
}

#[test]
fn the_peers_close_is_echoed_by_the_core() {
    let mut s = Connection::new(Role::Server, Config::default());
    assert_eq!(s.state(), State::Open);
    let mut buf = BytesMut::from(&masked(OpCode::Close, true, b"\x0f\xa0bye")[..]);
    assert_eq!(s.receive(&mut buf).unwrap(), Some(close(4000, "bye")));
    assert_eq!(s.state(), State::CloseReceived);
    assert!(s.has_owed_close() && !s.is_close_sent());
    assert!(matches!(
        s.encode(&Message::text("late"), &mut BytesMut::new()),
        Err(Error::AlreadyClosed)
    ));
    let mut out = BytesMut::new();
    assert!(s.poll_transmit(&mut out));
    assert_eq!(s.state(), State::Closed);
    assert!(!s.poll_transmit(&mut out), "owed once");
    // The echo carries the code and no reason (§5.5.1).
    assert_eq!(read_as(Role::Client, &mut out), vec![close(4000, "")]);
}

#[test]
fn an_empty_close_is_answered_with_an_empty_close() {
    let mut s = Connection::new(Role::Server, Config::default());
    let mut buf = BytesMut::from(&masked(OpCode::Close, true, b"")[..]);
    assert_eq!(s.receive(&mut buf).unwrap(), Some(Message::Close(None)));
    let mut out = BytesMut::new();
    assert!(s.poll_transmit(&mut out));
    assert_eq!(&out[..], b"\x88\x00");
}

#[test]
fn our_own_close_may_answer_the_peers_instead_of_the_echo() {
    let mut s = Connection::new(Role::Server, Config::default());
    let mut buf = BytesMut::from(&masked(OpCode::Close, true, b"\x03\xe8")[..]);
    s.receive(&mut buf).unwrap();
    let mut out = BytesMut::new();
    s.encode(&close(1001, "going"), &mut out).unwrap();
    assert_eq!(s.state(), State::Closed);
    assert!(!s.poll_transmit(&mut out), "the echo is no longer owed");
    assert_eq!(read_as(Role::Client, &mut out), vec![close(1001, "going")]);
}

#[test]
fn a_protocol_error_fails_the_connection_with_its_code() {
    for (wire, code) in [
        (unmasked(OpCode::Text, true, b"x"), CloseCode::PROTOCOL),
        (
            masked(OpCode::Text, true, b"\xff"),
            CloseCode::INVALID_PAYLOAD,
        ),
    ] {
        let mut s = Connection::new(Role::Server, Config::default());
        let mut buf = BytesMut::from(&wire[..]);
        let err = s.receive(&mut buf).unwrap_err();
        assert_eq!(err.close_code(), Some(code));
        assert_eq!(s.state(), State::Failed);
        assert!(matches!(s.receive(&mut buf), Err(Error::AlreadyClosed)));
        let mut out = BytesMut::new();
        assert!(s.poll_transmit(&mut out));
        let got = read_as(Role::Client, &mut out);
        assert!(
            matches!(&got[..], [Message::Close(Some(f))] if f.code == code),
            "{got:?}"
        );
    }
}

#[test]
fn after_our_close_the_peers_completes_the_handshake_and_nothing_is_owed() {
    let mut c = Connection::new(Role::Client, Config::default());
    let mut out = BytesMut::new();
    c.encode(&close(1000, ""), &mut out).unwrap();
    assert_eq!(c.state(), State::CloseSent);
    // Data still arriving after our Close is delivered (§7.1.2).
    let mut buf = BytesMut::from(&unmasked(OpCode::Text, true, b"tail")[..]);
    buf.extend_from_slice(&unmasked(OpCode::Close, true, b"\x03\xe8"));
    assert_eq!(c.receive(&mut buf).unwrap(), Some(Message::text("tail")));
    assert_eq!(c.receive(&mut buf).unwrap(), Some(close(1000, "")));
    assert_eq!(c.state(), State::Closed);
    assert!(!c.poll_transmit(&mut BytesMut::new()));
    assert!(c.receive_eof().is_ok());
}

#[test]
fn a_driver_failure_sends_its_close_unless_one_was_sent() {
    let mut s = Connection::new(Role::Server, Config::default());
    s.fail(CloseFrame::new(CloseCode::AWAY, "idle timeout"));
    assert_eq!(s.state(), State::Failed);
    let mut out = BytesMut::new();
    assert!(s.poll_transmit(&mut out));
    assert_eq!(
        read_as(Role::Client, &mut out),
        vec![close(1001, "idle timeout")]
    );

    let mut t = Connection::new(Role::Server, Config::default());
    t.encode(&close(1000, ""), &mut BytesMut::new()).unwrap();
    t.fail(CloseFrame::new(CloseCode::AWAY, "idle timeout"));
    assert_eq!(t.state(), State::Failed);
    assert!(!t.poll_transmit(&mut BytesMut::new()), "one Close only");
}

#[test]
fn end_of_input_without_a_close_fails_with_nothing_owed() {
    let mut s = Connection::new(Role::Server, Config::default());
    assert!(matches!(s.receive_eof(), Err(Error::ConnectionClosed)));
    assert_eq!(s.state(), State::Failed);
    assert!(!s.poll_transmit(&mut BytesMut::new()));
}

/// The state after each way of splitting a Close is the same.
#[test]
fn the_close_moves_the_state_at_every_split() {
    let wire = cat(&[
        masked(OpCode::Text, true, b"hello"),
        masked(OpCode::Close, true, b"\x03\xe8done"),
    ]);
    for cut in 0..=wire.len() {
        let mut s = Connection::new(Role::Server, Config::default());
        let mut buf = BytesMut::from(&wire[..cut]);
        let mut got = Vec::new();
        while let Some(m) = s.receive(&mut buf).unwrap() {
            got.push(m);
        }
        buf.extend_from_slice(&wire[cut..]);
        while let Some(m) = s.receive(&mut buf).unwrap() {
            got.push(m);
        }
        assert_eq!(
            got,
            vec![Message::text("hello"), close(1000, "done")],
            "cut {cut}"
        );
        assert_eq!(s.state(), State::CloseReceived, "cut {cut}");
    }
}
