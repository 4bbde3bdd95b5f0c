//! The crate's error type and the HTTP status each error maps to.

use http::StatusCode;

/// Everything that can go wrong while parsing a head or decoding a body.
///
/// Every variant describes bad or oversized input from the peer, and
/// [`Error::status`] gives the status code a server should answer with
/// before closing the connection. "Need more bytes" is never an error: the
/// parsers return `Ok(None)` (heads) or consume what they can (bodies).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The head is larger than [`Limits::max_head_bytes`](crate::Limits::max_head_bytes). Status 431.
    #[error("message head is larger than {max} bytes (have {size})")]
    HeadTooLarge {
        /// Bytes seen so far (a lower bound on the real size).
        size: usize,
        /// The limit.
        max: usize,
    },
    /// More header lines than [`Limits::max_headers`](crate::Limits::max_headers). Status 431.
    #[error("too many header lines")]
    TooManyHeaders,
    /// The request target is longer than [`Limits::max_uri_len`](crate::Limits::max_uri_len). Status 414.
    #[error("request target is longer than {max} bytes (have {size})")]
    UriTooLong {
        /// Bytes of the target seen so far (a lower bound on the real size).
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The declared or decoded body is larger than
    /// [`Limits::max_body_bytes`](crate::Limits::max_body_bytes). Status 413.
    #[error("body is larger than {max} bytes (at least {size})")]
    BodyTooLarge {
        /// Declared `Content-Length`, or decoded chunked bytes so far.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// The trailer section of a chunked body is larger than
    /// [`Limits::max_trailer_bytes`](crate::Limits::max_trailer_bytes). Status 431.
    #[error("chunked trailer section is larger than {max} bytes")]
    TrailersTooLarge {
        /// The limit.
        max: usize,
    },
    /// The head is not valid HTTP/1.x syntax or breaks a message rule. Status 400.
    #[error("malformed message head: {0}")]
    Malformed(Malformed),
    /// The chunked body framing is invalid. Status 400.
    #[error("invalid chunked body: {0}")]
    InvalidChunk(InvalidChunk),
    /// The body framing is ambiguous in a way that request smuggling
    /// exploits. Status 400; the connection must be closed.
    #[error("ambiguous message framing: {0}")]
    Smuggling(Smuggling),
    /// `Transfer-Encoding` names a coding other than `chunked` before the
    /// final `chunked` (for example `gzip, chunked`). Status 501.
    #[error("unsupported transfer coding")]
    UnsupportedTransferCoding,
    /// The HTTP version is not 1.0 or 1.1. Status 505.
    #[error("unsupported HTTP version")]
    UnsupportedVersion,
}

impl Error {
    /// The status code a server should send for this error (400, 413, 414,
    /// 431, 501 or 505) before closing the connection.
    ///
    /// # Examples
    ///
    /// ```
    /// use oneport_http1::{parse_request, Limits};
    ///
    /// let err = parse_request(b"GET / HTTP/1.1\r\n\r\n", &Limits::default()).unwrap_err();
    /// assert_eq!(err.status(), http::StatusCode::BAD_REQUEST); // no Host header
    /// ```
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Error::HeadTooLarge { .. } | Error::TooManyHeaders | Error::TrailersTooLarge { .. } => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            Error::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            Error::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Malformed(_) | Error::InvalidChunk(_) | Error::Smuggling(_) => {
                StatusCode::BAD_REQUEST
            }
            Error::UnsupportedTransferCoding => StatusCode::NOT_IMPLEMENTED,
            Error::UnsupportedVersion => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
        }
    }
}

/// The one place `httparse` errors are translated.
impl From<httparse::Error> for Error {
    fn from(e: httparse::Error) -> Self {
        match e {
            httparse::Error::HeaderName => Error::Malformed(Malformed::HeaderName),
            httparse::Error::HeaderValue => Error::Malformed(Malformed::HeaderValue),
            httparse::Error::NewLine => Error::Malformed(Malformed::NewLine),
            httparse::Error::Status => Error::Malformed(Malformed::Status),
            httparse::Error::Token => Error::Malformed(Malformed::Token),
            httparse::Error::TooManyHeaders => Error::TooManyHeaders,
            httparse::Error::Version => Error::UnsupportedVersion,
        }
    }
}

/// Why a head was rejected as malformed (all map to 400).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// Invalid byte in the method or the request target, or an empty target.
    #[error("invalid token in request line")]
    Token,
    /// Invalid byte in a header name, whitespace before the colon, or an
    /// obsolete line folding (`obs-fold`).
    #[error("invalid header name")]
    HeaderName,
    /// Invalid byte in a header value.
    #[error("invalid header value")]
    HeaderValue,
    /// A line does not end where it should.
    #[error("invalid line ending")]
    NewLine,
    /// A line ends in a bare LF instead of CRLF.
    #[error("bare LF line ending")]
    BareLf,
    /// Invalid status code in a response.
    #[error("invalid status code")]
    Status,
    /// The request target is not a valid URI.
    #[error("invalid request target")]
    Uri,
    /// The request target form does not fit the method: `*` other than
    /// with `OPTIONS`, authority-form other than with `CONNECT`, or
    /// `CONNECT` without `host:port`.
    #[error("request target form not allowed for this method")]
    TargetForm,
    /// An HTTP/1.1 request without a `Host` header.
    #[error("missing Host header")]
    MissingHost,
    /// More than one `Host` header.
    #[error("more than one Host header")]
    DuplicateHost,
    /// A `Content-Length` value that is not a plain decimal number that
    /// fits in 64 bits.
    #[error("invalid Content-Length")]
    ContentLength,
    /// A `Transfer-Encoding` value that is not a list of codings.
    #[error("invalid Transfer-Encoding")]
    TransferEncoding,
}

/// Why a chunked body was rejected (all map to 400).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidChunk {
    /// The chunk-size is missing or has a byte that is not a hex digit
    /// (signs, `0x` prefixes and whitespace included).
    #[error("invalid chunk size")]
    Size,
    /// The chunk-size does not fit in 64 bits.
    #[error("chunk size overflows")]
    SizeOverflow,
    /// The chunk-size line is longer than
    /// [`Limits::max_chunk_line_bytes`](crate::Limits::max_chunk_line_bytes).
    #[error("chunk-size line is longer than {max} bytes")]
    LineTooLong {
        /// The limit.
        max: usize,
    },
    /// A chunk extension is not `;name` or `;name=value` with a token or
    /// quoted-string value.
    #[error("invalid chunk extension")]
    Extension,
    /// A line (chunk-size line, chunk data end, trailer) does not end in CRLF.
    #[error("missing CRLF")]
    NewLine,
    /// A trailer line is not a valid `name: value` field line.
    #[error("invalid trailer field")]
    Trailer,
    /// The decoder was used again after it returned an error.
    #[error("decoder used after an error")]
    Poisoned,
}

/// Framing that request smuggling exploits (all map to 400).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Smuggling {
    /// Both `Content-Length` and `Transfer-Encoding` are present.
    #[error("both Content-Length and Transfer-Encoding")]
    ContentLengthAndTransferEncoding,
    /// More than one `Content-Length` header, or a list value such as
    /// `5, 5` (even when all values agree).
    #[error("more than one Content-Length")]
    DuplicateContentLength,
    /// `Transfer-Encoding` in a request whose last coding is not `chunked`.
    #[error("chunked is not the final transfer coding")]
    ChunkedNotFinal,
    /// `chunked` appears more than once in `Transfer-Encoding`.
    #[error("chunked applied more than once")]
    ChunkedTwice,
    /// `Transfer-Encoding` in an HTTP/1.0 message.
    #[error("Transfer-Encoding in an HTTP/1.0 message")]
    TransferEncodingInHttp10,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_maps_to_its_documented_status() {
        let table: &[(Error, u16)] = &[
            (Error::HeadTooLarge { size: 2, max: 1 }, 431),
            (Error::TooManyHeaders, 431),
            (Error::TrailersTooLarge { max: 1 }, 431),
            (Error::UriTooLong { size: 2, max: 1 }, 414),
            (Error::BodyTooLarge { size: 2, max: 1 }, 413),
            (Error::Malformed(Malformed::MissingHost), 400),
            (Error::InvalidChunk(InvalidChunk::Size), 400),
            (Error::Smuggling(Smuggling::ChunkedNotFinal), 400),
            (Error::UnsupportedTransferCoding, 501),
            (Error::UnsupportedVersion, 505),
        ];
        for (err, status) in table {
            assert_eq!(err.status().as_u16(), *status, "{err:?}");
        }
    }

    #[test]
    fn httparse_errors_map_to_one_variant_each() {
        use httparse::Error as H;
        let table: &[(H, Error)] = &[
            (H::HeaderName, Error::Malformed(Malformed::HeaderName)),
            (H::HeaderValue, Error::Malformed(Malformed::HeaderValue)),
            (H::NewLine, Error::Malformed(Malformed::NewLine)),
            (H::Status, Error::Malformed(Malformed::Status)),
            (H::Token, Error::Malformed(Malformed::Token)),
            (H::TooManyHeaders, Error::TooManyHeaders),
            (H::Version, Error::UnsupportedVersion),
        ];
        for (h, want) in table {
            assert_eq!(Error::from(*h), *want);
        }
        assert_eq!(Error::from(H::TooManyHeaders).status().as_u16(), 431);
        assert_eq!(Error::from(H::Version).status().as_u16(), 505);
    }

    #[test]
    fn display_mentions_the_limit() {
        let e = Error::BodyTooLarge { size: 10, max: 5 };
        assert!(e.to_string().contains('5'), "{e}");
    }
}
