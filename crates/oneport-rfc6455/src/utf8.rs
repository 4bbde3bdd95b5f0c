//! Incremental UTF-8 validation that fails at the first impossible byte,
//! even when a message arrives in many fragments or partial reads.

/// Validates a text message fed in arbitrary pieces.
///
/// The bulk of each piece is checked with `simdutf8`; only a code point cut
/// by a piece boundary (at most 3 bytes) is kept and checked byte by byte.
/// A sequence that is merely incomplete at the end of a piece is accepted
/// until [`finish`](Utf8Validator::finish); a byte that can never lead to a
/// valid sequence (`0xFF`, an overlong or surrogate prefix such as
/// `0xE0 0x80` or `0xED 0xA0`, a code point above U+10FFFF) is an error as
/// soon as it is fed.
///
/// ```
/// use oneport_rfc6455::Utf8Validator;
///
/// let mut v = Utf8Validator::new();
/// assert!(v.feed(b"caf\xC3").is_ok()); // cut mid code point: fine so far
/// assert!(v.feed(b"\xA9").is_ok());
/// assert!(v.finish().is_ok());
///
/// let mut v = Utf8Validator::new();
/// assert!(v.feed(b"\xED\xA0").is_err()); // a surrogate: fails at once
/// ```
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    /// Bytes of a code point cut at the end of the previous piece.
    partial: [u8; 4],
    /// How many bytes of `partial` are filled (0 when none is pending).
    have: u8,
    /// The full length of the pending code point.
    need: u8,
}

/// Invalid UTF-8 was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8;

impl Utf8Validator {
    /// A validator at the start of a message.
    pub const fn new() -> Self {
        Utf8Validator {
            partial: [0; 4],
            have: 0,
            need: 0,
        }
    }

    /// Forgets any pending partial code point (start of a new message).
    pub fn reset(&mut self) {
        self.have = 0;
        self.need = 0;
    }

    /// Whether a code point is cut at the end of what was fed so far.
    pub fn is_incomplete(&self) -> bool {
        self.have != 0
    }

    /// Validates the next piece of the message.
    ///
    /// # Errors
    ///
    /// [`InvalidUtf8`] as soon as the bytes fed so far cannot be the start
    /// of valid UTF-8. The validator is then in an unspecified state.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), InvalidUtf8> {
        // First finish the code point cut by the previous piece.
        while self.have != 0 {
            let Some((&b, rest)) = data.split_first() else {
                return Ok(());
            };
            if !continues(self.partial[0], self.have, b) {
                return Err(InvalidUtf8);
            }
            if let Some(slot) = self.partial.get_mut(usize::from(self.have)) {
                *slot = b;
            }
            self.have += 1;
            if self.have == self.need {
                self.have = 0;
                self.need = 0;
            }
            data = rest;
        }
        match simdutf8::compat::from_utf8(data) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_some() => Err(InvalidUtf8),
            Err(e) => {
                // The piece ends inside a code point: check that the tail is
                // a possible prefix ourselves and keep it.
                let tail = data.get(e.valid_up_to()..).unwrap_or_default();
                self.start(tail)
            }
        }
    }

    /// Checks that the message does not end inside a code point.
    ///
    /// # Errors
    ///
    /// [`InvalidUtf8`] if a code point is still incomplete.
    pub fn finish(&self) -> Result<(), InvalidUtf8> {
        if self.have == 0 {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }

    /// Validates a whole buffer at once (no state).
    ///
    /// # Errors
    ///
    /// [`InvalidUtf8`] if `data` is not valid UTF-8.
    pub fn validate(data: &[u8]) -> Result<(), InvalidUtf8> {
        simdutf8::basic::from_utf8(data)
            .map(|_| ())
            .map_err(|_| InvalidUtf8)
    }

    /// Stores an incomplete trailing code point after checking it.
    fn start(&mut self, tail: &[u8]) -> Result<(), InvalidUtf8> {
        let Some((&lead, rest)) = tail.split_first() else {
            return Ok(());
        };
        let need = sequence_len(lead).ok_or(InvalidUtf8)?;
        if rest.len() + 1 >= usize::from(need) {
            // A complete sequence would have been accepted or rejected by
            // the bulk validator; reaching here means it is invalid.
            return Err(InvalidUtf8);
        }
        self.partial[0] = lead;
        self.have = 1;
        self.need = need;
        for &b in rest {
            if !continues(lead, self.have, b) {
                return Err(InvalidUtf8);
            }
            if let Some(slot) = self.partial.get_mut(usize::from(self.have)) {
                *slot = b;
            }
            self.have += 1;
        }
        Ok(())
    }
}

/// The length of the sequence a lead byte starts, or `None` if the byte
/// cannot start one (continuation bytes, overlong `0xC0`/`0xC1`, `0xF5..`).
fn sequence_len(lead: u8) -> Option<u8> {
    match lead {
        0xC2..=0xDF => Some(2),
        0xE0..=0xEF => Some(3),
        0xF0..=0xF4 => Some(4),
        _ => None,
    }
}

/// Whether `b` may be byte number `index` (1-based after the lead) of a
/// sequence led by `lead` (Unicode Table 3-7: the second byte's range rules
/// out overlongs, surrogates and code points above U+10FFFF).
fn continues(lead: u8, index: u8, b: u8) -> bool {
    if index == 1 {
        match lead {
            0xE0 => (0xA0..=0xBF).contains(&b),
            0xED => (0x80..=0x9F).contains(&b),
            0xF0 => (0x90..=0xBF).contains(&b),
            0xF4 => (0x80..=0x8F).contains(&b),
            _ => (0x80..=0xBF).contains(&b),
        }
    } else {
        (0x80..=0xBF).contains(&b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `data` split at every pair of points and compares with std.
    fn agrees_with_std(data: &[u8]) {
        let expect = std::str::from_utf8(data).is_ok();
        for i in 0..=data.len() {
            for j in i..=data.len() {
                let mut v = Utf8Validator::new();
                let ok = v.feed(&data[..i]).is_ok()
                    && v.feed(&data[i..j]).is_ok()
                    && v.feed(&data[j..]).is_ok()
                    && v.finish().is_ok();
                assert_eq!(ok, expect, "{data:x?} split at {i},{j}");
            }
        }
    }

    /// The first prefix length at which std says the bytes can no longer be
    /// valid UTF-8, if any.
    fn first_bad_prefix(data: &[u8]) -> Option<usize> {
        match std::str::from_utf8(data) {
            Ok(_) => None,
            Err(e) => e.error_len().map(|_| {
                (1..=data.len())
                    .find(|&n| {
                        matches!(std::str::from_utf8(&data[..n]), Err(e) if e.error_len().is_some())
                    })
                    .unwrap_or(data.len())
            }),
        }
    }

    #[test]
    fn samples_agree_with_std_at_every_split() {
        let samples: &[&[u8]] = &[
            b"",
            b"hello",
            "κόσμε".as_bytes(),
            "\u{10FFFF}\u{FFFF}\u{800}\u{80}".as_bytes(),
            "ascii then 𝄞 clef".as_bytes(),
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
            b"\xf4\x90\x80\x80",
            b"\xf0\x8f\xbf\xbf",
            b"\xe0\x9f\xbf",
            b"\xc0\xaf",
            b"\xc1\xbf",
            b"\xf5\x80\x80\x80",
            b"\xff",
            b"\x80",
            b"ab\xc3",
            b"\xe2\x82",
            b"\xf0\x9f\x98",
            b"\xed\x9f\xbf\xed\xa0\x80",
        ];
        for s in samples {
            agrees_with_std(s);
        }
    }

    #[test]
    fn fails_at_the_first_impossible_byte() {
        // Fed one byte at a time, the error must come exactly when std says
        // the prefix became impossible.
        let samples: &[&[u8]] = &[
            b"ok\xed\xa0\x80rest",
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80\x65\x64",
            b"abc\xe0\x80zz",
            b"\xf0\x80",
            b"x\xffy",
        ];
        for s in samples {
            let bad = first_bad_prefix(s).expect("sample is invalid");
            let mut v = Utf8Validator::new();
            let mut failed_at = None;
            for (i, b) in s.iter().enumerate() {
                if v.feed(std::slice::from_ref(b)).is_err() {
                    failed_at = Some(i + 1);
                    break;
                }
            }
            assert_eq!(failed_at, Some(bad), "{s:x?}");
        }
    }

    #[test]
    fn exhaustive_two_and_three_byte_sequences() {
        for a in 0x80..=0xFFu8 {
            for b in 0..=0xFFu8 {
                agrees_with_std(&[a, b]);
            }
        }
        for a in [0xE0u8, 0xE1, 0xED, 0xEF, 0xF0, 0xF4] {
            for b in 0x70..=0xC0u8 {
                for c in [0x7F, 0x80, 0xBF, 0xC0] {
                    agrees_with_std(&[a, b, c]);
                }
            }
        }
    }

    #[test]
    fn incomplete_end_is_reported_by_finish() {
        let mut v = Utf8Validator::new();
        assert!(v.feed(b"\xf0\x9f\x98").is_ok());
        assert!(v.is_incomplete());
        assert!(v.finish().is_err());
        assert!(v.feed(b"\x80").is_ok());
        assert!(!v.is_incomplete());
        assert!(v.finish().is_ok());
        v.reset();
        assert!(Utf8Validator::validate("ok".as_bytes()).is_ok());
        assert!(Utf8Validator::validate(b"\xc3").is_err());
    }
}
