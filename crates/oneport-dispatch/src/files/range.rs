//! The `Range` request header (RFC 9110 section 14), for one range of
//! bytes.

/// What a `Range` header asks of a representation of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ranged {
    /// No usable range (absent, not `bytes`, malformed, or several
    /// ranges): the whole representation, `200`.
    Whole,
    /// Bytes `start..=end`, `206`.
    Part {
        /// First byte.
        start: u64,
        /// Last byte, included.
        end: u64,
    },
    /// A well-formed range that no byte satisfies: `416`.
    Unsatisfiable,
}

/// Parses `Range: bytes=...` against a length. Several ranges are
/// answered whole (which RFC 9110 allows), sparing a multipart body; a
/// header that does not parse is ignored, as the RFC asks.
pub(crate) fn parse(header: &str, len: u64) -> Ranged {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return Ranged::Whole;
    };
    let spec = spec.trim();
    if spec.contains(',') {
        return Ranged::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ranged::Whole;
    };
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.trim().is_empty(), number(first), number(last)) {
        // bytes=-N: the last N bytes.
        (true, _, Some(n)) => {
            if n == 0 || len == 0 {
                Ranged::Unsatisfiable
            } else {
                Ranged::Part {
                    start: len.saturating_sub(n),
                    end: len - 1,
                }
            }
        }
        // bytes=A- or bytes=A-B.
        (false, Some(start), end) => {
            if !last.trim().is_empty() && end.is_none() {
                return Ranged::Whole;
            }
            if end.is_some_and(|e| e < start) {
                return Ranged::Whole;
            }
            if start >= len {
                return Ranged::Unsatisfiable;
            }
            let end = end.map_or(len - 1, |e| e.min(len - 1));
            Ranged::Part { start, end }
        }
        _ => Ranged::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges() {
        let part = |start, end| Ranged::Part { start, end };
        assert_eq!(parse("bytes=0-9", 100), part(0, 9));
        assert_eq!(parse("bytes=90-", 100), part(90, 99));
        assert_eq!(parse("bytes=90-1000", 100), part(90, 99));
        assert_eq!(parse("bytes=-10", 100), part(90, 99));
        assert_eq!(parse("bytes=-1000", 100), part(0, 99));
        assert_eq!(parse(" bytes= 5 - 5 ", 100), part(5, 5));
    }

    #[test]
    fn unsatisfiable_ranges() {
        assert_eq!(parse("bytes=100-", 100), Ranged::Unsatisfiable);
        assert_eq!(parse("bytes=100-200", 100), Ranged::Unsatisfiable);
        assert_eq!(parse("bytes=-0", 100), Ranged::Unsatisfiable);
        assert_eq!(parse("bytes=0-", 0), Ranged::Unsatisfiable);
    }

    #[test]
    fn what_is_ignored_gets_the_whole() {
        for h in [
            "",
            "items=0-1",
            "bytes=",
            "bytes=-",
            "bytes=a-b",
            "bytes=5-1",
            "bytes=0-1,5-6",
            "bytes=1",
            "bytes=+1-2",
            "bytes=0-x",
        ] {
            assert_eq!(parse(h, 100), Ranged::Whole, "{h:?}");
        }
    }
}
