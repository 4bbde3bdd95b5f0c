//! Choosing a precompressed sibling (`.br`, `.gz`) by `Accept-Encoding`.

/// A content coding a precompressed sibling may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    /// `br`, a `.br` file.
    Brotli,
    /// `gzip`, a `.gz` file.
    Gzip,
}

impl Coding {
    /// The token in `Content-Encoding` and `Accept-Encoding`.
    pub(crate) fn token(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gzip",
        }
    }

    /// The sibling's file-name suffix.
    pub(crate) fn suffix(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gz",
        }
    }
}

/// Whether `accept` (an `Accept-Encoding` value) takes `coding`: named
/// with a q-value above zero, or matched by `*` when not named. `x-gzip`
/// is `gzip` (RFC 9110 section 8.4.1.3).
pub(crate) fn accepts(accept: &str, coding: Coding) -> bool {
    let mut star = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let named = name.eq_ignore_ascii_case(coding.token())
            || (coding == Coding::Gzip && name.eq_ignore_ascii_case("x-gzip"));
        if named {
            return q > 0.0;
        }
        if name == "*" {
            star = Some(q > 0.0);
        }
    }
    star.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codings_are_taken_by_name_and_q_value() {
        assert!(accepts("gzip, deflate, br, zstd", Coding::Brotli));
        assert!(accepts("gzip, deflate, br, zstd", Coding::Gzip));
        assert!(!accepts("gzip", Coding::Brotli));
        assert!(!accepts("br;q=0, gzip", Coding::Brotli));
        assert!(accepts("br;q=0.5", Coding::Brotli));
        assert!(accepts("*", Coding::Brotli));
        assert!(!accepts("*, br;q=0", Coding::Brotli));
        assert!(!accepts("*;q=0", Coding::Gzip));
        assert!(accepts("X-GZIP", Coding::Gzip));
        assert!(!accepts("identity", Coding::Gzip));
        assert!(!accepts("", Coding::Gzip));
    }
}
