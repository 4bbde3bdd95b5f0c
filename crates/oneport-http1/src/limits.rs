//! Size limits applied while parsing heads and decoding bodies.

/// Default for [`Limits::max_head_bytes`]: 16 KiB.
pub const DEFAULT_MAX_HEAD_BYTES: usize = 16 * 1024;
/// Default for [`Limits::max_headers`]: 64 header lines.
pub const DEFAULT_MAX_HEADERS: usize = 64;
/// Default for [`Limits::max_uri_len`]: 8 KiB.
pub const DEFAULT_MAX_URI_LEN: usize = 8 * 1024;
/// Default for [`Limits::max_body_bytes`]: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1024 * 1024;
/// Default for [`Limits::max_chunk_line_bytes`]: 1 KiB.
pub const DEFAULT_MAX_CHUNK_LINE_BYTES: usize = 1024;
/// Default for [`Limits::max_trailer_bytes`]: 8 KiB.
pub const DEFAULT_MAX_TRAILER_BYTES: usize = 8 * 1024;

/// Upper bounds on everything a peer can make the parser hold or count.
///
/// Every limit is finite by default. Exceeding one yields an
/// [`Error`](crate::Error) whose [`status`](crate::Error::status) is the HTTP
/// answer to send (431, 414, 413 or 400, as noted on each field).
///
/// # Defaults
///
/// | field | default | status when exceeded |
/// |---|---|---|
/// | `max_head_bytes` | 16 KiB | 431 |
/// | `max_headers` | 64 | 431 |
/// | `max_uri_len` | 8 KiB | 414 |
/// | `max_body_bytes` | 1 MiB | 413 |
/// | `max_chunk_line_bytes` | 1 KiB | 400 |
/// | `max_trailer_bytes` | 8 KiB | 431 |
///
/// # Examples
///
/// ```
/// use oneport_http1::Limits;
///
/// let limits = Limits::default().max_body_bytes(64 * 1024).max_headers(32);
/// assert_eq!(limits.max_body_bytes, 64 * 1024);
/// assert_eq!(limits.max_headers, 32);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest request (or response) head, request line and final empty line
    /// included. A larger head fails with 431. Default is 16 KiB.
    pub max_head_bytes: usize,
    /// Most header lines in one head. More fail with 431. Default is 64.
    pub max_headers: usize,
    /// Longest request target. A longer one fails with 414. Default is 8 KiB.
    pub max_uri_len: usize,
    /// Largest body: the `Content-Length` value, or the decoded total of a
    /// chunked body. A larger one fails with 413. Default is 1 MiB.
    pub max_body_bytes: u64,
    /// Longest chunk-size line, chunk extensions and CRLF included. A longer
    /// one fails with 400. Default is 1 KiB.
    pub max_chunk_line_bytes: usize,
    /// Largest trailer section of a chunked body: all trailer field lines
    /// together, their CRLFs included but not the final empty line (so 0
    /// still accepts bodies without trailers). A larger one fails with 431.
    /// Default is 8 KiB.
    pub max_trailer_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head_bytes: DEFAULT_MAX_HEAD_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
            max_uri_len: DEFAULT_MAX_URI_LEN,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_chunk_line_bytes: DEFAULT_MAX_CHUNK_LINE_BYTES,
            max_trailer_bytes: DEFAULT_MAX_TRAILER_BYTES,
        }
    }
}

impl Limits {
    /// Sets [`max_head_bytes`](Self::max_head_bytes).
    #[must_use]
    pub fn max_head_bytes(mut self, n: usize) -> Self {
        self.max_head_bytes = n;
        self
    }

    /// Sets [`max_headers`](Self::max_headers).
    #[must_use]
    pub fn max_headers(mut self, n: usize) -> Self {
        self.max_headers = n;
        self
    }

    /// Sets [`max_uri_len`](Self::max_uri_len).
    #[must_use]
    pub fn max_uri_len(mut self, n: usize) -> Self {
        self.max_uri_len = n;
        self
    }

    /// Sets [`max_body_bytes`](Self::max_body_bytes).
    #[must_use]
    pub fn max_body_bytes(mut self, n: u64) -> Self {
        self.max_body_bytes = n;
        self
    }

    /// Sets [`max_chunk_line_bytes`](Self::max_chunk_line_bytes).
    #[must_use]
    pub fn max_chunk_line_bytes(mut self, n: usize) -> Self {
        self.max_chunk_line_bytes = n;
        self
    }

    /// Sets [`max_trailer_bytes`](Self::max_trailer_bytes).
    #[must_use]
    pub fn max_trailer_bytes(mut self, n: usize) -> Self {
        self.max_trailer_bytes = n;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_values() {
        let l = Limits::default();
        assert_eq!(l.max_head_bytes, 16 * 1024);
        assert_eq!(l.max_headers, 64);
        assert_eq!(l.max_uri_len, 8 * 1024);
        assert_eq!(l.max_body_bytes, 1024 * 1024);
        assert_eq!(l.max_chunk_line_bytes, 1024);
        assert_eq!(l.max_trailer_bytes, 8 * 1024);
    }

    #[test]
    fn each_setter_changes_only_its_field() {
        let d = Limits::default();
        let l = d.clone().max_head_bytes(1);
        assert_eq!((l.max_head_bytes, l.max_headers), (1, d.max_headers));
        let l = d.clone().max_headers(2);
        assert_eq!((l.max_headers, l.max_uri_len), (2, d.max_uri_len));
        let l = d.clone().max_uri_len(3);
        assert_eq!((l.max_uri_len, l.max_body_bytes), (3, d.max_body_bytes));
        let l = d.clone().max_body_bytes(4);
        assert_eq!(
            (l.max_body_bytes, l.max_chunk_line_bytes),
            (4, d.max_chunk_line_bytes)
        );
        let l = d.clone().max_chunk_line_bytes(5);
        assert_eq!(
            (l.max_chunk_line_bytes, l.max_trailer_bytes),
            (5, d.max_trailer_bytes)
        );
        let l = d.clone().max_trailer_bytes(6);
        assert_eq!(
            (l.max_trailer_bytes, l.max_head_bytes),
            (6, d.max_head_bytes)
        );
    }
}
