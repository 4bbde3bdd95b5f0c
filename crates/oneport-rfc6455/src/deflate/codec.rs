//! The compressor and decompressor of one connection (RFC 7692 §7.2), made
//! when first needed and, under no-context-takeover, given back after each
//! message.
//!
//! Each message is compressed with a sync flush and loses the 4-byte
//! `00 00 ff ff` tail that flush ends with; the receiver puts the tail back
//! before its final inflate (§7.2.1, §7.2.2). Inflating writes into a
//! buffer that never grows past the message limit plus one byte, so a
//! compression bomb fails with 1009 as soon as its output passes the limit,
//! before the memory is spent.
//!
//! A compressor is large (a 64 Ki-entry hash table and twice the window),
//! so where a context is not kept it goes back to a one-slot spare per
//! thread instead of being freed: the next message on any connection of
//! that thread resets it rather than allocating a new one. The connection
//! itself holds nothing between messages.

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::{ContextTakeover, DeflateParams, MAX_WINDOW_BITS, MIN_COMPRESS_WINDOW_BITS};
use crate::error::{CapacityError, Error};

/// What a sync flush ends with, and the receiver appends (§7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Inflated output grows by at least this much at a time.
const MIN_GROWTH: usize = 4 * 1024;

/// zlib-style deflate has no 8-bit window: 8 means 9 on both sides.
fn window(bits: u8) -> u8 {
    bits.clamp(MIN_COMPRESS_WINDOW_BITS, MAX_WINDOW_BITS)
}

/// The level to compress with under a window: below 9 bits, level 0,
/// whose stored blocks refer back to nothing and so fit any window.
fn level_for(bits: u8, level: u32) -> u32 {
    if bits < MIN_COMPRESS_WINDOW_BITS {
        0
    } else {
        level
    }
}

thread_local! {
    /// One reset compressor per thread, with its window and level.
    static SPARE_DEFLATE: RefCell<Option<(u8, u32, Compress)>> = const { RefCell::new(None) };
    /// One reset decompressor per thread, with its window.
    static SPARE_INFLATE: RefCell<Option<(u8, Decompress)>> = const { RefCell::new(None) };
}

fn take_compressor(bits: u8, level: u32) -> Compress {
    let spare = SPARE_DEFLATE.with(|s| match s.try_borrow_mut() {
        Ok(mut slot) => match slot.take() {
            Some((b, l, c)) if b == bits && l == level => Some(c),
            other => {
                *slot = other;
                None
            }
        },
        Err(_) => None,
    });
    spare.unwrap_or_else(|| Compress::new_with_window_bits(Compression::new(level), false, bits))
}

fn give_compressor(bits: u8, level: u32, mut c: Compress) {
    c.reset();
    SPARE_DEFLATE.with(|s| {
        if let Ok(mut slot) = s.try_borrow_mut() {
            *slot = Some((bits, level, c));
        }
    });
}

fn take_decompressor(bits: u8) -> Decompress {
    let spare = SPARE_INFLATE.with(|s| match s.try_borrow_mut() {
        Ok(mut slot) => match slot.take() {
            Some((b, d)) if b == bits => Some(d),
            other => {
                *slot = other;
                None
            }
        },
        Err(_) => None,
    });
    spare.unwrap_or_else(|| Decompress::new_with_window_bits(false, bits))
}

fn give_decompressor(bits: u8, mut d: Decompress) {
    d.reset(false);
    SPARE_INFLATE.with(|s| {
        if let Ok(mut slot) = s.try_borrow_mut() {
            *slot = Some((bits, d));
        }
    });
}

/// Compresses one message from a fresh context, as a connection that keeps
/// none would: the bytes are the same for every peer with this window and
/// level, which is what lets a broadcast compress once.
pub(crate) fn compress_fresh(input: &[u8], window_bits: u8, level: u32) -> Result<Vec<u8>, Error> {
    let level = level_for(window_bits, level);
    let bits = window(window_bits);
    let mut c = take_compressor(bits, level);
    let mut out = Vec::new();
    let result = compress_into(&mut c, input, &mut out);
    give_compressor(bits, level, c);
    result.map(|()| out)
}

/// Deflates `input` with a sync flush into `out`, without the tail.
fn compress_into(c: &mut Compress, input: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
    out.reserve(input.len() / 2 + 64);
    let start = c.total_in();
    loop {
        let consumed = usize::try_from(c.total_in() - start).unwrap_or(input.len());
        let rest = input.get(consumed..).unwrap_or_default();
        c.compress_vec(rest, out, FlushCompress::Sync)
            .map_err(|_| Error::Compression)?;
        let consumed = usize::try_from(c.total_in() - start).unwrap_or(input.len());
        // The flush is complete once all input is taken and the output
        // was not filled up.
        if consumed >= input.len() && out.len() < out.capacity() {
            break;
        }
        out.reserve(out.capacity().max(MIN_GROWTH));
    }
    if out.ends_with(&TAIL) {
        out.truncate(out.len() - TAIL.len());
        Ok(())
    } else if out.is_empty() {
        // Nothing was pending and there was no input (an empty message
        // right after another flush): send the one byte that, with the
        // tail the receiver adds, is an empty stored block (§7.2.3.6).
        out.push(0x00);
        Ok(())
    } else {
        Err(Error::Compression)
    }
}

/// Inflates `input` into `out`, which may hold at most `limit` bytes.
/// Returns whether the peer ended the deflate stream (a final block).
fn inflate_into(
    d: &mut Decompress,
    mut input: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<bool, Error> {
    let too_big = |size: usize| {
        Error::from(CapacityError::MessageTooLarge {
            size: size as u64,
            max: limit,
        })
    };
    loop {
        if out.len() == out.capacity() {
            // Room for one byte past the limit, to see it passed.
            let room = limit.saturating_add(1).saturating_sub(out.len());
            if room == 0 {
                return Err(too_big(out.len()));
            }
            out.reserve_exact(out.len().max(MIN_GROWTH).min(room));
        }
        let (in_before, out_before) = (d.total_in(), out.len());
        let status = d
            .decompress_vec(input, out, FlushDecompress::Sync)
            .map_err(|_| Error::Compression)?;
        let used = usize::try_from(d.total_in() - in_before).unwrap_or(input.len());
        input = input.get(used..).unwrap_or_default();
        if out.len() > limit {
            return Err(too_big(out.len()));
        }
        if status == Status::StreamEnd {
            return Ok(true);
        }
        let room_left = out.len() < out.capacity();
        let progress = used > 0 || out.len() > out_before;
        if input.is_empty() && (room_left || !progress) {
            return Ok(false);
        }
        if !progress && room_left {
            // No progress with input and room: the data is not deflate.
            return Err(Error::Compression);
        }
    }
}

/// The compression state of one connection that negotiated
/// permessage-deflate.
#[derive(Debug)]
pub(crate) struct Codec {
    params: DeflateParams,
    level: u32,
    min_size: usize,
    /// Kept between messages only under context takeover. Boxed, as the
    /// decompressor: a connection that never compresses pays a pointer.
    compressor: Option<Box<Compress>>,
    /// Kept between messages only under the peer's context takeover.
    decompressor: Option<Box<Decompress>>,
    /// The message being inflated.
    out: Vec<u8>,
    /// The peer ended its deflate stream within this message.
    ended: bool,
}

impl Codec {
    pub(crate) fn new(params: DeflateParams, level: u32, min_size: usize) -> Self {
        Codec {
            params,
            level,
            min_size,
            compressor: None,
            decompressor: None,
            out: Vec::new(),
            ended: false,
        }
    }

    pub(crate) fn params(&self) -> &DeflateParams {
        &self.params
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn level(&self) -> u32 {
        self.level
    }

    /// Whether a message of `len` bytes is worth compressing.
    pub(crate) fn wants(&self, len: usize) -> bool {
        len >= self.min_size
    }

    /// Whether this connection compresses each message from a fresh
    /// context, so that a message compressed once for many peers fits it.
    pub(crate) fn compresses_fresh(&self) -> bool {
        self.params.own_context == ContextTakeover::Reset
    }

    /// Compresses one message, without the tail.
    pub(crate) fn compress(&mut self, input: &[u8]) -> Result<Vec<u8>, Error> {
        if self.compresses_fresh() {
            return compress_fresh(input, self.params.own_window_bits, self.level);
        }
        let level = level_for(self.params.own_window_bits, self.level);
        let bits = window(self.params.own_window_bits);
        let c = self.compressor.get_or_insert_with(|| {
            Box::new(Compress::new_with_window_bits(
                Compression::new(level),
                false,
                bits,
            ))
        });
        let mut out = Vec::new();
        compress_into(c, input, &mut out)?;
        Ok(out)
    }

    /// Inflates the next compressed bytes of the message being received,
    /// its output bounded by `limit`. Returns where the new output starts
    /// in [`inflated`](Self::inflated).
    pub(crate) fn inflate(&mut self, input: &[u8], limit: usize) -> Result<usize, Error> {
        let start = self.out.len();
        if self.ended || input.is_empty() {
            // Whatever follows a final block is not part of the stream.
            return Ok(start);
        }
        let bits = window(self.params.peer_window_bits);
        let d = self
            .decompressor
            .get_or_insert_with(|| Box::new(take_decompressor(bits)));
        self.ended = inflate_into(d, input, &mut self.out, limit)?;
        Ok(start)
    }

    /// The message inflated so far.
    pub(crate) fn inflated(&self) -> &[u8] {
        &self.out
    }

    /// Takes what was inflated so far (a message begun whole, handed over
    /// to be received in parts).
    pub(crate) fn take_inflated(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Inflates from `input` at most `cap` bytes of output, for a message
    /// received in parts; returns how much input it used and the output.
    /// An output of exactly `cap` may mean more is pending: call again
    /// (with the rest of the input, or none) until it is shorter.
    pub(crate) fn inflate_capped(
        &mut self,
        mut input: &[u8],
        cap: usize,
    ) -> Result<(usize, Vec<u8>), Error> {
        let mut out = Vec::with_capacity(cap);
        if self.ended {
            // Whatever follows a final block is not part of the stream.
            return Ok((input.len(), out));
        }
        let bits = window(self.params.peer_window_bits);
        let d = self
            .decompressor
            .get_or_insert_with(|| Box::new(take_decompressor(bits)));
        let mut used = 0;
        while out.len() < cap {
            let (in_before, out_before) = (d.total_in(), out.len());
            let status = d
                .decompress_vec(input, &mut out, FlushDecompress::Sync)
                .map_err(|_| Error::Compression)?;
            let n = usize::try_from(d.total_in() - in_before).unwrap_or(input.len());
            used += n;
            input = input.get(n..).unwrap_or_default();
            if status == Status::StreamEnd {
                self.ended = true;
                used += input.len();
                break;
            }
            if n == 0 && out.len() == out_before {
                // No progress: the input is used up (or is not deflate,
                // which the next call with more of it will say).
                break;
            }
        }
        Ok((used, out))
    }

    /// Ends the message: inflates the tail and hands the message over.
    /// Returns where the tail's output starts, and the message.
    pub(crate) fn finish(&mut self, limit: usize) -> Result<(usize, Vec<u8>), Error> {
        let start = self.inflate(&TAIL, limit)?;
        let message = std::mem::take(&mut self.out);
        let bits = window(self.params.peer_window_bits);
        if self.ended {
            // A final block ends the peer's context: the next message
            // starts a new stream.
            self.decompressor = None;
            self.ended = false;
        } else if self.params.peer_context == ContextTakeover::Reset {
            if let Some(d) = self.decompressor.take() {
                give_decompressor(bits, *d);
            }
        }
        Ok((start, message))
    }

    /// Drops a message being inflated (the connection failed).
    pub(crate) fn abandon(&mut self) {
        self.out = Vec::new();
        self.decompressor = None;
        self.ended = false;
    }

    /// Bytes held for compression state between messages: zero unless a
    /// context is kept and was used.
    #[cfg(test)]
    pub(crate) fn holds_state(&self) -> bool {
        self.compressor.is_some() || self.decompressor.is_some() || self.out.capacity() > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_tail_is_removed_and_restored() {
        let mut tx = Codec::new(params(KEEP, KEEP), 6, 0);
        let mut rx = Codec::new(params(KEEP, KEEP), 6, 0);
        for msg in [&b"Hello"[..], b"Hello", b"", &[7u8; 70_000]] {
            let wire = tx.compress(msg).unwrap();
            assert!(!wire.ends_with(&TAIL) || wire.len() < 4, "tail left on");
            rx.inflate(&wire, 1 << 20).unwrap();
            assert_eq!(rx.finish(1 << 20).unwrap().1, msg);
        }
    }

    #[test]
    fn rfc7692_examples_inflate() {
        // §7.2.3.1: "Hello" compressed; §7.2.3.2: the same again with the
        // context kept, which shrinks to 5 bytes.
        let mut rx = Codec::new(params(KEEP, KEEP), 6, 0);
        rx.inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 100)
            .unwrap();
        assert_eq!(rx.finish(100).unwrap().1, b"Hello");
        rx.inflate(&[0xf2, 0x00, 0x11, 0x00, 0x00], 100).unwrap();
        assert_eq!(rx.finish(100).unwrap().1, b"Hello");
        // §7.2.3.3: a stored block; §7.2.3.4: a final block.
        let mut rx = Codec::new(params(KEEP, KEEP), 6, 0);
        rx.inflate(
            &[
                0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
            ],
            100,
        )
        .unwrap();
        assert_eq!(rx.finish(100).unwrap().1, b"Hello");
        rx.inflate(&[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 100)
            .unwrap();
        assert_eq!(rx.finish(100).unwrap().1, b"Hello");
        // After a final block the next message is a new stream.
        rx.inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 100)
            .unwrap();
        assert_eq!(rx.finish(100).unwrap().1, b"Hello");
    }

    #[test]
    fn a_kept_context_shrinks_a_repeat_and_a_reset_one_does_not() {
        let mut keep = Codec::new(params(KEEP, KEEP), 6, 0);
        let mut reset = Codec::new(params(RESET, KEEP), 6, 0);
        let msg = b"{\"user\":\"ada\",\"text\":\"the same message again\"}";
        let (k1, r1) = (keep.compress(msg).unwrap(), reset.compress(msg).unwrap());
        assert_eq!(k1, r1);
        let (k2, r2) = (keep.compress(msg).unwrap(), reset.compress(msg).unwrap());
        assert!(k2.len() < k1.len() / 2, "{} vs {}", k2.len(), k1.len());
        assert_eq!(r2, r1, "a fresh context compresses the same way each time");
        assert!(keep.holds_state());
        assert!(!reset.holds_state());
    }

    #[test]
    fn a_bomb_stops_at_the_limit_without_growing_past_it() {
        let mut tx = Codec::new(params(RESET, RESET), 9, 0);
        let bomb = tx.compress(&vec![0u8; 10 << 20]).unwrap();
        assert!(bomb.len() < 20_000, "{}", bomb.len());
        let mut rx = Codec::new(params(RESET, RESET), 6, 0);
        let limit = 1 << 20;
        let err = rx.inflate(&bomb, limit).unwrap_err();
        assert!(matches!(
            err,
            Error::Capacity(CapacityError::MessageTooLarge { .. })
        ));
        assert!(rx.out.capacity() <= limit + 1, "{}", rx.out.capacity());
        // Exactly at the limit is fine.
        let mut rx = Codec::new(params(RESET, RESET), 6, 0);
        let wire = tx.compress(&vec![0u8; limit]).unwrap();
        rx.inflate(&wire, limit).unwrap();
        assert_eq!(rx.finish(limit).unwrap().1.len(), limit);
    }

    #[test]
    fn an_eight_bit_window_sends_stored_blocks() {
        for own in [KEEP, RESET] {
            let p = DeflateParams {
                own_window_bits: 8,
                ..params(own, KEEP)
            };
            let mut tx = Codec::new(p, 9, 0);
            let msg = b"abcabcabcabcabcabcabcabcabcabc".repeat(50);
            for _ in 0..2 {
                let wire = tx.compress(&msg).unwrap();
                // Stored blocks: each a 5-byte header (type 00), then the
                // bytes as they are.
                assert!(wire.len() >= msg.len(), "{own:?}: {} bytes", wire.len());
                assert_eq!(wire[0], 0x00, "{own:?}: a stored block");
                assert_eq!(&wire[5..105], &msg[..100], "{own:?}");
                let mut rx = Codec::new(params(KEEP, KEEP), 6, 0);
                rx.inflate(&wire, usize::MAX).unwrap();
                assert_eq!(rx.finish(usize::MAX).unwrap().1, msg);
            }
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_hang() {
        let mut rx = Codec::new(params(KEEP, KEEP), 6, 0);
        let err = rx.inflate(&[0xff; 64], 1 << 20).unwrap_err();
        assert!(matches!(err, Error::Compression));
    }

    #[test]
    fn inflating_in_pieces_gives_the_same_message() {
        let mut tx = Codec::new(params(KEEP, KEEP), 6, 0);
        let text: Vec<u8> = (0..50_000u32)
            .flat_map(|i| (i % 251).to_be_bytes())
            .collect();
        let wire = tx.compress(&text).unwrap();
        for piece in [1, 7, 4096] {
            let mut rx = Codec::new(params(KEEP, KEEP), 6, 0);
            for chunk in wire.chunks(piece) {
                rx.inflate(chunk, usize::MAX).unwrap();
            }
            assert_eq!(rx.finish(usize::MAX).unwrap().1, text);
        }
    }
}
