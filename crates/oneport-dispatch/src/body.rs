//! Response bodies.

use bytes::Bytes;

/// The body of a response produced by a dispatcher.
///
/// Bodies are either held in memory (`Bytes`, shared without copying) or a
/// file that the server streams in bounded chunks, so serving a large file
/// never loads it whole.
#[derive(Debug, Default)]
pub struct Body {
    pub(crate) kind: Kind,
}

#[derive(Debug, Default)]
pub(crate) enum Kind {
    #[default]
    Empty,
    Full(Bytes),
    File {
        file: tokio::fs::File,
        len: u64,
    },
}

impl Body {
    /// A body with no bytes.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A body streamed from an open file of `len` bytes.
    pub fn file(file: tokio::fs::File, len: u64) -> Self {
        Self {
            kind: Kind::File { file, len },
        }
    }

    /// The number of bytes this body will produce.
    pub fn len(&self) -> u64 {
        match &self.kind {
            Kind::Empty => 0,
            Kind::Full(b) => b.len() as u64,
            Kind::File { len, .. } => *len,
        }
    }

    /// Whether the body produces no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The in-memory bytes, if the body is held in memory.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match &self.kind {
            Kind::Full(b) => Some(b),
            _ => None,
        }
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
