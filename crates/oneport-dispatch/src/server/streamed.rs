//! Writing a streamed response body: one chunk at a time, each write under
//! the write timeout, framed by length, by chunks, or by closing.

use std::io;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::time::timeout;
use tracing::warn;

use crate::body::Chunks;

/// How the body's end is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// `Content-Length`: exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Closing the connection (an HTTP/1.0 client, unknown length).
    Close,
}

/// A streamed body waiting to be written after its head.
pub(super) struct Streamed {
    pub(super) chunks: Chunks,
    pub(super) framing: Framing,
}

/// Writes every chunk of `body` to `io`, asking for the next only once the
/// last is written. A stream that fails, or whose length is not the one
/// it promised, is an error: the caller closes the connection, and with
/// chunked framing the last chunk never goes out, so the client sees the
/// body cut short.
pub(super) async fn send<W>(io: &mut W, body: Streamed, write_timeout: Duration) -> io::Result<()>
where
    W: tokio::io::AsyncWrite + Unpin,
{
    let Streamed {
        mut chunks,
        framing,
    } = body;
    let mut head = BytesMut::new();
    let mut sent: u64 = 0;
    while let Some(next) = std::future::poll_fn(|cx| chunks.as_mut().poll_next(cx)).await {
        let chunk = match next {
            Ok(c) => c,
            Err(e) => {
                warn!(error = %e, sent, "a streamed response body failed; closing");
                return Err(io::Error::other(e));
            }
        };
        if chunk.is_empty() {
            continue;
        }
        let len = chunk.len() as u64;
        if let Framing::Length(n) = framing {
            if sent + len > n {
                warn!(
                    promised = n,
                    "a streamed response body ran past its length; closing"
                );
                return Err(io::Error::other("streamed body longer than its length"));
            }
        }
        let write = async {
            if framing == Framing::Chunked {
                head.clear();
                oneport_http1::encode_chunk_head(chunk.len(), &mut head);
                // The head, the data from its own buffer, and the CRLF, in
                // one vectored write where the transport has them.
                let mut all = (&head[..])
                    .chain(&chunk[..])
                    .chain(oneport_http1::CHUNK_END);
                io.write_all_buf(&mut all).await
            } else {
                io.write_all(&chunk).await
            }
        };
        timed(write_timeout, write).await?;
        sent += len;
    }
    match framing {
        Framing::Length(n) if sent != n => {
            warn!(
                promised = n,
                sent, "a streamed response body ended short; closing"
            );
            return Err(io::Error::other("streamed body shorter than its length"));
        }
        Framing::Chunked => {
            head.clear();
            oneport_http1::encode_last_chunk(&mut head);
            timed(write_timeout, io.write_all(&head)).await?;
        }
        _ => {}
    }
    // TLS records may still wait in the session's buffer.
    timed(write_timeout, io.flush()).await
}

async fn timed<F: Future<Output = io::Result<()>>>(limit: Duration, f: F) -> io::Result<()> {
    match timeout(limit, f).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "write timed out")),
    }
}
