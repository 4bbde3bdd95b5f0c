#![no_main]
//! `ChunkedDecoder` on arbitrary bytes: decoding in pieces must give the
//! same body, bytes consumed, end state and error as decoding in one go.
//!
//! The first input byte seeds the piece sizes and picks the limits; the
//! rest is the chunked body.

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use oneport_http1::{ChunkedDecoder, Error, Limits};

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    body: BytesMut,
    consumed: usize,
    done: bool,
    error: Option<Error>,
}

/// Feeds `input` in pieces of the given sizes (cycled), keeping unconsumed
/// bytes the way a server buffer does.
fn run(input: &[u8], limits: &Limits, sizes: &[usize]) -> Outcome {
    let mut dec = ChunkedDecoder::new(limits);
    let mut body = BytesMut::new();
    let mut consumed = 0;
    let mut end = 0;
    let mut sizes = sizes.iter().cycle();
    while !dec.is_done() && consumed < input.len() {
        end = (end + sizes.next().copied().unwrap_or(input.len()))
            .min(input.len())
            .max(consumed);
        let given = end - consumed;
        match dec.decode(&input[consumed..end], &mut body) {
            Ok(used) => {
                assert!(used <= given, "consumed {used} of {given}");
                // Stopping short is only allowed once the body is complete.
                assert!(used == given || dec.is_done(), "stopped early");
                consumed += used;
            }
            Err(error) => {
                // Where an error is noticed is comparable; how much was
                // consumed before that call is not.
                return Outcome {
                    body,
                    consumed: 0,
                    done: false,
                    error: Some(error),
                };
            }
        }
    }
    Outcome {
        body,
        consumed,
        done: dec.is_done(),
        error: None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, input)) = data.split_first() else {
        return;
    };
    let limits = if seed & 0x80 == 0 {
        Limits::default()
    } else {
        Limits::default()
            .max_body_bytes(64)
            .max_chunk_line_bytes(12)
            .max_trailer_bytes(16)
    };
    // Piece sizes 1..=8 from a tiny xorshift generator seeded by `seed`.
    let mut state = u32::from(seed) | 0x100;
    let sizes: Vec<usize> = (0..16)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state % 8) as usize + 1
        })
        .collect();

    let whole = run(input, &limits, &[input.len().max(1)]);
    let pieces = run(input, &limits, &sizes);
    let bytes = run(input, &limits, &[1]);
    assert_eq!(pieces, whole);
    assert_eq!(bytes, whole);
    if let Some(e) = &whole.error {
        assert!(matches!(e.status().as_u16(), 400 | 413 | 431));
    }
});
