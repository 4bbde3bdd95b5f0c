//! Response bodies.

use std::fmt;
use std::pin::Pin;

use bytes::Bytes;
use futures_core::Stream;

/// The error a streamed body may end with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A streamed body's chunks, as the server polls them.
pub(crate) type Chunks = Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>> + Send>>;

/// The body of a response produced by a dispatcher.
///
/// Bodies are held in memory (`Bytes`, shared without copying), a file
/// that the server streams in bounded chunks, or a [`Stream`] of chunks
/// produced as the response is written (Racket's `response/output`), so
/// that serving something large never holds it whole.
#[derive(Default)]
pub struct Body {
    pub(crate) kind: Kind,
}

#[derive(Default)]
pub(crate) enum Kind {
    #[default]
    Empty,
    Full(Bytes),
    File {
        file: tokio::fs::File,
        len: u64,
    },
    Stream {
        chunks: Chunks,
        len: Option<u64>,
    },
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Empty => f.write_str("Body::Empty"),
            Kind::Full(b) => f.debug_tuple("Body::Full").field(&b.len()).finish(),
            Kind::File { len, .. } => f.debug_struct("Body::File").field("len", len).finish(),
            Kind::Stream { len, .. } => f.debug_struct("Body::Stream").field("len", len).finish(),
        }
    }
}

impl Body {
    /// A body with no bytes.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A body streamed from an open file: `len` bytes from its current
    /// position.
    pub fn file(file: tokio::fs::File, len: u64) -> Self {
        Self {
            kind: Kind::File { file, len },
        }
    }

    /// A body written as `chunks` yields them, of a length not known in
    /// advance: sent with `Transfer-Encoding: chunked` (to an HTTP/1.0
    /// client, delimited by closing the connection).
    ///
    /// The server asks for the next chunk only once the last one is
    /// written (backpressure: memory holds one chunk at a time), and each
    /// write is bounded by the write timeout. Empty chunks are skipped. If
    /// the stream fails, the response cannot be taken back: the connection
    /// is closed without the last chunk, so the client sees the body cut
    /// short rather than complete.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use oneport_dispatch::Body;
    ///
    /// let lines = futures_util::stream::iter(
    ///     (0..3).map(|i| Ok::<_, std::io::Error>(Bytes::from(format!("line {i}\n")))),
    /// );
    /// let body = Body::stream(lines);
    /// assert_eq!(body.len(), None);
    /// ```
    pub fn stream<S, E>(chunks: S) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        Self::streamed(chunks, None)
    }

    /// [`stream`](Body::stream) for a body of exactly `len` bytes, sent
    /// with `Content-Length`. A stream that ends short of `len` or runs
    /// past it is a failed body: the connection is closed.
    pub fn sized_stream<S, E>(len: u64, chunks: S) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        Self::streamed(chunks, Some(len))
    }

    fn streamed<S, E>(chunks: S, len: Option<u64>) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        Self {
            kind: Kind::Stream {
                chunks: Box::pin(ErrInto(Box::pin(chunks))),
                len,
            },
        }
    }

    /// The number of bytes this body will produce; `None` for a stream of
    /// unknown length.
    pub fn len(&self) -> Option<u64> {
        match &self.kind {
            Kind::Empty => Some(0),
            Kind::Full(b) => Some(b.len() as u64),
            Kind::File { len, .. } => Some(*len),
            Kind::Stream { len, .. } => *len,
        }
    }

    /// Whether the body is known to produce no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The in-memory bytes, if the body is held in memory.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match &self.kind {
            Kind::Full(b) => Some(b),
            _ => None,
        }
    }
}

/// A stream whose errors are made [`BoxError`]s. It holds the stream
/// boxed, which makes it `Unpin` without any pin projection.
struct ErrInto<S>(Pin<Box<S>>);

impl<S, E> Stream for ErrInto<S>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Into<BoxError>,
{
    type Item = Result<Bytes, BoxError>;

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.get_mut()
            .0
            .as_mut()
            .poll_next(cx)
            .map(|o| o.map(|r| r.map_err(Into::into)))
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Self {
            kind: Kind::Full(b),
        }
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Bytes::from_static(s.as_bytes()).into()
    }
}

impl From<&'static [u8]> for Body {
    fn from(s: &'static [u8]) -> Self {
        Bytes::from_static(s).into()
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Bytes::from(s).into()
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Self {
        Bytes::from(v).into()
    }
}

impl From<()> for Body {
    fn from(_: ()) -> Self {
        Self::empty()
    }
}
