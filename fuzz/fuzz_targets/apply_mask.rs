//! Unmasks arbitrary payloads with `apply_mask` (the AVX2 path where the
//! CPU has it, the portable one otherwise) at an arbitrary key, offset and
//! split point, and checks the result against the byte-wise reference.
//!
//! Input: four key bytes, one offset byte, two split bytes, then the
//! payload. Invariants: never panics; equals `apply_mask_bytewise`;
//! unmasking in two pieces equals unmasking whole; masking twice restores
//! the payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oneport_rfc6455::{apply_mask, apply_mask_bytewise};

fuzz_target!(|data: &[u8]| {
    let Some((head, payload)) = data.split_first_chunk::<7>() else {
        return;
    };
    let key = [head[0], head[1], head[2], head[3]];
    let offset = usize::from(head[4]);
    let split = usize::from(u16::from_le_bytes([head[5], head[6]])) % (payload.len() + 1);

    let mut reference = payload.to_vec();
    apply_mask_bytewise(&mut reference, key, offset);
    let mut whole = payload.to_vec();
    apply_mask(&mut whole, key, offset);
    assert_eq!(whole, reference);

    let mut pieces = payload.to_vec();
    let (a, b) = pieces.split_at_mut(split);
    apply_mask(a, key, offset);
    apply_mask(b, key, offset + split);
    assert_eq!(pieces, reference);

    apply_mask(&mut whole, key, offset);
    assert_eq!(whole, payload);
});
