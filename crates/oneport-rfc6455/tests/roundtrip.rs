//! Property: whatever one end encodes (whole or fragmented, with control
//! frames interleaved), the other decodes to the same messages, however the
//! bytes are split by the transport.

use bytes::{Bytes, BytesMut};
use oneport_rfc6455::{Config, Connection, Fin, Message, OpCode, Role};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// A data message, sent in fragments of the given sizes (the last one
    /// takes the rest), with a ping after each non-final fragment if set.
    Data {
        text: bool,
        payload: Vec<u8>,
        cuts: Vec<usize>,
        interleave: bool,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (
            any::<bool>(),
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..40),
                proptest::collection::vec(any::<u8>(), 100..400),
                proptest::collection::vec(any::<u8>(), 65530..65540),
            ],
            proptest::collection::vec(0usize..50, 0..4),
            any::<bool>(),
        )
            .prop_map(|(text, payload, cuts, interleave)| Op::Data {
                text,
                payload,
                cuts,
                interleave
            }),
        1 => proptest::collection::vec(any::<u8>(), 0..=125).prop_map(Op::Ping),
        1 => proptest::collection::vec(any::<u8>(), 0..=125).prop_map(Op::Pong),
    ]
}

/// Makes arbitrary bytes valid UTF-8 (lossy), so text payloads carry
/// multi-byte code points that fragments may cut.
fn as_text(payload: &[u8]) -> String {
    String::from_utf8_lossy(payload).into_owned()
}

/// Encodes `ops` with `sender`, returning the wire bytes and the messages
/// the receiver must produce, in order.
fn encode(sender: &mut Connection, ops: &[Op]) -> (BytesMut, Vec<Message>) {
    let mut wire = BytesMut::new();
    let mut expected = Vec::new();
    for op in ops {
        match op {
            Op::Ping(p) => {
                sender
                    .encode(&Message::Ping(p.clone().into()), &mut wire)
                    .unwrap();
                expected.push(Message::Ping(p.clone().into()));
            }
            Op::Pong(p) => {
                sender
                    .encode(&Message::Pong(p.clone().into()), &mut wire)
                    .unwrap();
                expected.push(Message::Pong(p.clone().into()));
            }
            Op::Data {
                text,
                payload,
                cuts,
                interleave,
            } => {
                let (bytes, msg) = if *text {
                    let s = as_text(payload);
                    (s.clone().into_bytes(), Message::text(s))
                } else {
                    (payload.clone(), Message::binary(payload.clone()))
                };
                if cuts.is_empty() {
                    sender.encode(&msg, &mut wire).unwrap();
                    expected.push(msg);
                    continue;
                }
                let mut rest = &bytes[..];
                let mut first = true;
                for &cut in cuts {
                    let (piece, tail) = rest.split_at(cut.min(rest.len()));
                    let opcode = match (first, text) {
                        (false, _) => OpCode::Continuation,
                        (true, true) => OpCode::Text,
                        (true, false) => OpCode::Binary,
                    };
                    sender
                        .encode_frame(opcode, Fin::More, piece, &mut wire)
                        .unwrap();
                    if *interleave {
                        let ping = Message::Ping(Bytes::from_static(b"between"));
                        sender.encode(&ping, &mut wire).unwrap();
                        expected.push(ping);
                    }
                    first = false;
                    rest = tail;
                }
                sender
                    .encode_frame(OpCode::Continuation, Fin::Final, rest, &mut wire)
                    .unwrap();
                expected.push(msg);
            }
        }
    }
    (wire, expected)
}

/// Decodes `wire` delivered in pieces of the given sizes (cycled).
fn decode(receiver: &mut Connection, wire: &[u8], sizes: &[usize]) -> Vec<Message> {
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    let mut pos = 0;
    let mut i = 0;
    while pos < wire.len() {
        let n = sizes
            .get(i % sizes.len().max(1))
            .copied()
            .unwrap_or(wire.len())
            .max(1);
        let end = (pos + n).min(wire.len());
        buf.extend_from_slice(&wire[pos..end]);
        pos = end;
        i += 1;
        while let Some(m) = receiver.receive(&mut buf).unwrap() {
            got.push(m);
        }
    }
    assert!(buf.is_empty(), "all bytes consumed");
    got
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn client_to_server(ops in proptest::collection::vec(op(), 0..8),
                        sizes in proptest::collection::vec(1usize..3000, 1..6)) {
        let mut client = Connection::new(Role::Client, Config::default());
        let mut server = Connection::new(Role::Server, Config::default());
        let (wire, expected) = encode(&mut client, &ops);
        prop_assert_eq!(decode(&mut server, &wire, &sizes), expected);
    }

    #[test]
    fn server_to_client(ops in proptest::collection::vec(op(), 0..8),
                        sizes in proptest::collection::vec(1usize..3000, 1..6)) {
        let mut server = Connection::new(Role::Server, Config::default());
        let mut client = Connection::new(Role::Client, Config::default());
        let (wire, expected) = encode(&mut server, &ops);
        prop_assert_eq!(decode(&mut client, &wire, &sizes), expected);
    }

    #[test]
    fn byte_by_byte_equals_whole(ops in proptest::collection::vec(op(), 0..4)) {
        let mut client = Connection::new(Role::Client, Config::default());
        let (wire, expected) = encode(&mut client, &ops);
        prop_assume!(wire.len() < 5000);
        let mut one = Connection::new(Role::Server, Config::default());
        prop_assert_eq!(decode(&mut one, &wire, &[1]), expected.clone());
        let mut whole = Connection::new(Role::Server, Config::default());
        prop_assert_eq!(decode(&mut whole, &wire, &[wire.len()]), expected);
    }
}
