//! Property tests of the frame codec: whatever is encoded decodes back the
//! same, with discarded frames interleaved, across arbitrary read splits.

use bytes::BytesMut;
use oneport_hybi00::{Config, Decoder, Error, Frame, encode_close, encode_text};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Item {
    Text(String),
    /// A length-prefixed frame (type byte with the high bit set), discarded.
    Prefixed(u8, Vec<u8>),
    /// A sentinel frame of a non-zero type below 0x80, discarded.
    Sentinel(u8, Vec<u8>),
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        4 => any::<String>().prop_map(Item::Text),
        // 0xFF only with a non-empty payload: 0xFF 0x00 is the close frame.
        2 => (0x80u8..=0xFE, proptest::collection::vec(any::<u8>(), 0..300))
            .prop_map(|(t, p)| Item::Prefixed(t, p)),
        1 => proptest::collection::vec(any::<u8>(), 1..40).prop_map(|p| Item::Prefixed(0xFF, p)),
        1 => (1u8..0x80, proptest::collection::vec(0u8..0xFF, 0..40))
            .prop_map(|(t, p)| Item::Sentinel(t, p)),
    ]
}

/// The draft's length prefix: base 128, most significant digit first, high
/// bit set on every byte but the last.
fn put_length(mut len: usize, dst: &mut Vec<u8>) {
    let mut digits = vec![(len & 0x7F) as u8];
    len >>= 7;
    while len > 0 {
        digits.push((len & 0x7F) as u8 | 0x80);
        len >>= 7;
    }
    dst.extend(digits.iter().rev());
}

fn encode(items: &[Item]) -> Vec<u8> {
    let mut out = Vec::new();
    for item in items {
        match item {
            Item::Text(s) => {
                let mut b = BytesMut::new();
                encode_text(s, &mut b);
                out.extend_from_slice(&b);
            }
            Item::Prefixed(t, p) => {
                out.push(*t);
                put_length(p.len(), &mut out);
                out.extend_from_slice(p);
            }
            Item::Sentinel(t, p) => {
                out.push(*t);
                out.extend_from_slice(p);
                out.push(0xFF);
            }
        }
    }
    out
}

/// Feeds `input` cut at `cuts` (sorted, deduplicated here) into one buffer.
fn decode_split(config: &Config, input: &[u8], cuts: &[usize]) -> Result<Vec<Frame>, Error> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts.push(input.len());
    let mut decoder = Decoder::new(config);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut start = 0;
    for end in cuts {
        buf.extend_from_slice(&input[start..end]);
        start = end;
        while let Some(frame) = decoder.decode(&mut buf)? {
            frames.push(frame);
        }
    }
    Ok(frames)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn round_trip_with_discarded_frames(
        items in proptest::collection::vec(item(), 0..20),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut input = encode(&items);
        let mut close = BytesMut::new();
        encode_close(&mut close);
        input.extend_from_slice(&close);
        input.extend_from_slice(b"\x00after the close\xFF");

        let frames = decode_split(&Config::default(), &input, &cuts).unwrap();
        let mut expected: Vec<Frame> = items
            .iter()
            .filter_map(|i| match i {
                Item::Text(s) => Some(Frame::Text(s.clone().into())),
                _ => None,
            })
            .collect();
        expected.push(Frame::Close);
        prop_assert_eq!(frames, expected);
    }

    #[test]
    fn text_over_the_limit_fails_at_any_split(
        text in "[a-zé]{1,64}",
        max in 0usize..64,
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut b = BytesMut::new();
        encode_text(&text, &mut b);
        let config = Config::default().max_frame_size(max);
        let result = decode_split(&config, &b, &cuts);
        if text.len() <= max {
            prop_assert_eq!(result.unwrap(), vec![Frame::Text(text.into())]);
        } else {
            let too_large = matches!(result, Err(Error::FrameTooLarge { .. }));
            prop_assert!(too_large);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_text_is_utf8(
        input in proptest::collection::vec(any::<u8>(), 0..512),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        max in 0usize..128,
    ) {
        let config = Config::default().max_frame_size(max);
        if let Ok(frames) = decode_split(&config, &input, &cuts) {
            for f in frames {
                if let Frame::Text(t) = f {
                    prop_assert!(std::str::from_utf8(t.as_bytes()).is_ok());
                    prop_assert!(t.len() <= max);
                }
            }
        }
    }
}

/// A text frame taken in parts: every split gives the same text, each part
/// ends on a character boundary, an invalid byte fails at once, and the
/// caller's limit replaces the frame size limit.
#[test]
fn text_frames_in_parts() {
    use oneport_hybi00::FramePart;
    let text = "caf\u{e9} \u{1f600} \u{4e2d}\u{6587} ".repeat(5);
    let mut wire = vec![0x00];
    wire.extend_from_slice(text.as_bytes());
    wire.push(0xFF);
    wire.extend_from_slice(b"\xFF\x00");
    for cut in 0..wire.len() {
        let mut d = Decoder::new(&Config::default());
        let mut buf = BytesMut::from(&wire[..cut]);
        let (mut got, mut closed) = (String::new(), false);
        for step in 0..2 {
            if step == 1 {
                buf.extend_from_slice(&wire[cut..]);
            }
            while let Some(p) = d.decode_part(&mut buf, None).unwrap() {
                match p {
                    FramePart::Text { data, .. } => {
                        got.push_str(std::str::from_utf8(&data).expect("whole characters"));
                    }
                    FramePart::Close => closed = true,
                }
            }
        }
        assert_eq!(got, text, "cut at {cut}");
        assert!(closed);
    }
    // Invalid in the middle: fails before the frame ends.
    let mut d = Decoder::new(&Config::default());
    let mut buf = BytesMut::from(&b"\x00fine \xC3\x28 and more"[..]);
    let first = d.decode_part(&mut buf, None);
    assert!(
        matches!(first, Err(oneport_hybi00::Error::InvalidUtf8)),
        "{first:?}"
    );
    // Past the frame size limit, fine in parts; the caller's limit holds.
    let config = Config::default().max_frame_size(10);
    let mut d = Decoder::new(&config);
    let mut buf = BytesMut::from(&b"\x00twenty bytes of text\xFF"[..]);
    let mut n = 0;
    while let Some(FramePart::Text { data, .. }) = d.decode_part(&mut buf, None).unwrap() {
        n += data.len();
    }
    assert_eq!(n, 20);
    let mut d = Decoder::new(&config);
    let mut buf = BytesMut::from(&b"\x00twenty bytes of text\xFF"[..]);
    assert!(d.decode_part(&mut buf, Some(15)).is_err());
}
