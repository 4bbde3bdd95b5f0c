//! Payload masking (RFC 6455 §5.3), XOR-ing 16 bytes at a time in safe code.

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
    // Four copies of the key, in memory order whatever the endianness.
    let word = u128::from(u32::from_ne_bytes(key)) * 0x0000_0001_0000_0001_0000_0001_0000_0001;
    let mut chunks = buf.chunks_exact_mut(16);
    for chunk in &mut chunks {
        if let Ok(bytes) = <[u8; 16]>::try_from(&*chunk) {
            chunk.copy_from_slice(&(u128::from_ne_bytes(bytes) ^ word).to_ne_bytes());
        }
    }
    // 16 is a multiple of 4, so the remainder starts at key offset 0 again,
    // and so does each of its whole words.
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
