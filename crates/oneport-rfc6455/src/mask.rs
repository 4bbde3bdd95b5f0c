//! Payload masking (RFC 6455 §5.3): 32 bytes a step, with AVX2 where the
//! CPU has it (the crate's one `unsafe` block, a call guarded by run-time
//! feature detection), else the widest the target has.

/// XORs `buf` with the masking `key`, as if `buf` started at byte `offset`
/// of the payload (so a payload can be unmasked piece by piece as it
/// arrives). Masking and unmasking are the same operation.
///
/// ```
/// use oneport_rfc6455::apply_mask;
///
/// let key = [0x37, 0xfa, 0x21, 0x3d];
/// let mut data = *b"Hello";
/// apply_mask(&mut data, key, 0);
/// assert_eq!(data, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// // Unmask in two pieces.
/// apply_mask(&mut data[..2], key, 0);
/// apply_mask(&mut data[2..], key, 2);
/// assert_eq!(&data, b"Hello");
/// ```
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    // The key as seen from payload byte `offset`: rotating the bytes left
    // by one is rotating their little-endian word right by eight bits.
    let shift = 8 * (offset & 3) as u32;
    let key = u32::from_le_bytes(key).rotate_right(shift).to_le_bytes();
    #[cfg(target_arch = "x86_64")]
    if buf.len() >= WIDE_MIN && std::arch::is_x86_feature_detected!("avx2") {
        #[allow(unsafe_code)]
        // SAFETY: `mask_avx2` is safe code compiled with AVX2 enabled; its
        // one requirement is a CPU that has AVX2, checked just above.
        unsafe {
            mask_avx2(buf, key);
        }
        return;
    }
    mask_words(buf, key);
}

/// Payloads at least this long take the AVX2 path where the CPU has it.
/// Shorter ones take the portable loop inlined: for a 64-byte frame the
/// check and the call (a function built for other features is never
/// inlined) cost more than the wider steps save.
#[cfg(target_arch = "x86_64")]
const WIDE_MIN: usize = 256;

/// [`mask_words`] compiled for AVX2, 32 bytes a step instead of 16
/// (x86-64's baseline, SSE2, has 16-byte registers only). Profiles
/// showed unmasking as the largest user-space cost of large text and
/// binary echoes: 23 % of a 16 KiB text echo's instructions, 43 % of a
/// 1 MiB one's (`docs/benchmarks.md`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn mask_avx2(buf: &mut [u8], key: [u8; 4]) {
    mask_words(buf, key);
}

/// XORs `buf` with `key` from key offset 0: 32 bytes a step (which the
/// compiler turns into the widest XOR the target has), then words, then
/// bytes. Inlined into each caller so that each is compiled for its own
/// target features.
#[inline(always)]
fn mask_words(buf: &mut [u8], key: [u8; 4]) {
    let mut wide = [0u8; 32];
    for (w, k) in wide.iter_mut().zip(key.iter().cycle()) {
        *w = *k;
    }
    let mut chunks = buf.chunks_exact_mut(32);
    for chunk in &mut chunks {
        for (b, k) in chunk.iter_mut().zip(wide.iter()) {
            *b ^= k;
        }
    }
    // 32 is a multiple of 4, so the remainder starts at key offset 0
    // again, and so does each of its whole words.
    let mut words = chunks.into_remainder().chunks_exact_mut(4);
    let key_word = u32::from_ne_bytes(key);
    for chunk in &mut words {
        if let Ok(bytes) = <[u8; 4]>::try_from(&*chunk) {
            chunk.copy_from_slice(&(u32::from_ne_bytes(bytes) ^ key_word).to_ne_bytes());
        }
    }
    apply_mask_bytewise(words.into_remainder(), key, 0);
}

/// The reference byte-at-a-time version of [`apply_mask`]; same result,
/// several times slower on long payloads.
pub fn apply_mask_bytewise(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[(i + offset) & 3];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_equals_bytewise_for_all_lengths_and_offsets() {
        let key = [0x12, 0x9a, 0xfe, 0x07];
        let data: Vec<u8> = (0..200u32).map(|i| (i * 31 + 7) as u8).collect();
        for len in 0..200 {
            for offset in 0..8 {
                for start in 0..4 {
                    if start > len {
                        continue;
                    }
                    let mut wide = data[..len].to_vec();
                    let mut slow = wide.clone();
                    // Also vary the slice's position in memory.
                    apply_mask(&mut wide[start..], key, offset);
                    apply_mask_bytewise(&mut slow[start..], key, offset);
                    assert_eq!(wide, slow, "len {len} offset {offset} start {start}");
                }
            }
        }
    }

    /// Both wide paths (the portable one, and AVX2 where this CPU has
    /// it) against the byte-wise reference, over lengths around every
    /// step boundary and long payloads, at every key offset.
    #[test]
    fn every_path_equals_bytewise_on_long_payloads() {
        let key = [0xa5, 0x3c, 0x0f, 0xf0];
        let data: Vec<u8> = (0..70_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let lengths = (0..300).chain([1023, 1024, 1025, 16_384, 16_411, 65_536, 69_999]);
        for len in lengths {
            for offset in 0..4 {
                let mut reference = data[..len].to_vec();
                apply_mask_bytewise(&mut reference, key, offset);
                let mut public = data[..len].to_vec();
                apply_mask(&mut public, key, offset);
                assert_eq!(public, reference, "apply_mask, len {len} offset {offset}");
                let rotated = u32::from_le_bytes(key)
                    .rotate_right(8 * offset as u32)
                    .to_le_bytes();
                let mut portable = data[..len].to_vec();
                mask_words(&mut portable, rotated);
                assert_eq!(portable, reference, "portable, len {len} offset {offset}");
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    let mut wide = data[..len].to_vec();
                    #[allow(unsafe_code)]
                    // SAFETY: the CPU has AVX2, checked just above.
                    unsafe {
                        mask_avx2(&mut wide, rotated);
                    }
                    assert_eq!(wide, reference, "avx2, len {len} offset {offset}");
                }
            }
        }
    }

    #[test]
    fn masking_twice_restores_and_pieces_compose() {
        let key = [1, 2, 3, 4];
        let orig: Vec<u8> = (0..100).collect();
        let mut whole = orig.clone();
        apply_mask(&mut whole, key, 0);
        assert_ne!(whole, orig);
        for cut in 0..=orig.len() {
            let mut pieces = orig.clone();
            let (a, b) = pieces.split_at_mut(cut);
            apply_mask(a, key, 0);
            apply_mask(b, key, cut);
            assert_eq!(pieces, whole, "cut at {cut}");
        }
        apply_mask(&mut whole, key, 0);
        assert_eq!(whole, orig);
    }
}
