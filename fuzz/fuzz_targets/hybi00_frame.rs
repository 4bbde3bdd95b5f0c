#![no_main]
//! The hybi-00 frame decoder over arbitrary bytes, with a small frame limit
//! (from the first byte) and read sizes chosen by the second byte.
//!
//! Invariants: never panics; never consumes more than it was given; while
//! it waits for more input it holds at most `max_frame_size` bytes; text is
//! valid UTF-8 within the limit; and feeding the input whole or in pieces
//! gives the same frames and the same outcome.

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use oneport_hybi00::{Config, Decoder, Frame};

/// Frames and the error (as text) from feeding `input` in chunks of the
/// sizes `sizes` cycles through.
fn run(input: &[u8], max: usize, sizes: &[usize]) -> (Vec<Frame>, Option<String>) {
    let mut decoder = Decoder::new(&Config::default().max_frame_size(max));
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut fed = 0usize;
    let mut consumed = 0usize;
    let mut cycle = sizes.iter().cycle();
    while fed < input.len() {
        let size = cycle.next().copied().unwrap_or(input.len()).max(1);
        let end = (fed + size).min(input.len());
        buf.extend_from_slice(&input[fed..end]);
        fed = end;
        loop {
            let before = buf.len();
            let result = decoder.decode(&mut buf);
            assert!(buf.len() <= before, "the buffer only shrinks");
            consumed += before - buf.len();
            assert!(consumed <= fed, "consumed {consumed} of {fed}");
            match result {
                Ok(Some(frame)) => {
                    if let Frame::Text(t) = &frame {
                        assert!(std::str::from_utf8(t.as_bytes()).is_ok());
                        assert!(t.len() <= max);
                    }
                    frames.push(frame);
                }
                Ok(None) => {
                    assert!(
                        buf.len() <= max,
                        "holds {} with a limit of {max}",
                        buf.len()
                    );
                    break;
                }
                Err(e) => return (frames, Some(e.to_string())),
            }
        }
    }
    (frames, None)
}

fuzz_target!(|data: &[u8]| {
    let [max, seed, input @ ..] = data else {
        return;
    };
    let max = usize::from(*max) * 4;
    let sizes: Vec<usize> = (0..4u32)
        .map(|i| usize::from(seed.rotate_left(i * 2) % 17) + 1)
        .collect();
    let whole = run(input, max, &[input.len()]);
    let split = run(input, max, &sizes);
    let bytewise = run(input, max, &[1]);
    assert_eq!(whole, split);
    assert_eq!(whole, bytewise);
});
