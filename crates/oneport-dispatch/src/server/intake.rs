//! Streaming a request body to a dispatcher while it runs (see
//! [`streamed_body`](crate::streamed_body)): the connection reads the body
//! chunk by chunk and hands each to the dispatcher's
//! [`RequestBody`](crate::RequestBody) through a queue of two, so memory
//! holds a few chunks whatever the body's size.

use std::io;

use bytes::{Buf, BytesMut};
use oneport_http1::{BodyKind, ChunkedDecoder};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::conn::{Conn, Io, Read};
use crate::request_body::{Chunk, RequestBodyError};

/// Most bytes read for one chunk.
const CHUNK: usize = 64 * 1024;

/// Chunks waiting for the dispatcher: the backpressure on the client.
pub(super) const QUEUE: usize = 2;

/// How a streamed body ended.
pub(super) enum Intake {
    /// Every byte was read (and given to the dispatcher, or dropped once
    /// it stopped reading).
    Complete,
    /// The body broke its limit, its framing or its timeout: answer with
    /// the error's status and close.
    Failed(RequestBodyError),
    /// The connection ended in the middle of the body.
    Gone,
    Io(io::Error),
}

impl<T: Io> Conn<'_, T> {
    /// Reads the body announced by `kind` (at most `max_bytes`), sending
    /// each chunk to `tx` and waiting while its queue is full. Once the
    /// dispatcher drops its end, the rest is read and dropped, so that
    /// the connection can go on. Each read waits at most the body read
    /// timeout.
    pub(super) async fn pump_body(
        &mut self,
        kind: BodyKind,
        max_bytes: u64,
        tx: mpsc::Sender<Chunk>,
    ) -> Intake {
        let mut tx = Some(tx);
        let give = async |tx: &mut Option<mpsc::Sender<Chunk>>, chunk: Chunk| {
            if let Some(t) = tx {
                if t.send(chunk).await.is_err() {
                    // The dispatcher is done with the body: drop the rest.
                    *tx = None;
                }
            }
        };
        let end = match kind {
            BodyKind::Empty => Intake::Complete,
            BodyKind::Length(n) if n > max_bytes => {
                Intake::Failed(RequestBodyError::TooLarge { limit: max_bytes })
            }
            BodyKind::Length(n) => {
                let mut left = n;
                loop {
                    if !self.buf.is_empty() && left > 0 {
                        let take = self
                            .buf
                            .len()
                            .min(usize::try_from(left).unwrap_or(usize::MAX));
                        let chunk = self.buf.split_to(take).freeze();
                        left -= take as u64;
                        give(&mut tx, Ok(chunk)).await;
                    }
                    if left == 0 {
                        break Intake::Complete;
                    }
                    let want = usize::try_from(left).unwrap_or(usize::MAX).min(CHUNK);
                    if let Some(end) = self.read_more(want).await {
                        break end;
                    }
                }
            }
            BodyKind::Chunked => {
                let mut limits = self.config.limits.clone();
                limits.max_body_bytes = max_bytes;
                let mut decoder = ChunkedDecoder::new(&limits);
                let mut out = BytesMut::new();
                loop {
                    match decoder.decode(&self.buf, &mut out) {
                        Ok(used) => self.buf.advance(used),
                        Err(e) if e.status() == http::StatusCode::PAYLOAD_TOO_LARGE => {
                            break Intake::Failed(RequestBodyError::TooLarge { limit: max_bytes });
                        }
                        Err(e) => break Intake::Failed(RequestBodyError::Malformed(e.to_string())),
                    }
                    if !out.is_empty() {
                        give(&mut tx, Ok(out.split().freeze())).await;
                    }
                    if decoder.is_done() {
                        break Intake::Complete;
                    }
                    if let Some(end) = self.read_more(CHUNK).await {
                        break end;
                    }
                }
            }
        };
        // The dispatcher learns why its body stopped short.
        match &end {
            Intake::Failed(e) => give(&mut tx, Err(e.clone())).await,
            Intake::Gone | Intake::Io(_) => give(&mut tx, Err(RequestBodyError::Closed)).await,
            Intake::Complete => {}
        }
        end
    }

    /// One read of body bytes within the body read timeout; `Some` when
    /// it ends the body.
    async fn read_more(&mut self, want: usize) -> Option<Intake> {
        let deadline = Instant::now() + self.config.body_read_timeout;
        match self.read_before(deadline, want).await {
            Ok(Read::Bytes) => None,
            Ok(Read::Eof) => Some(Intake::Gone),
            Ok(Read::TimedOut) => Some(Intake::Failed(RequestBodyError::TimedOut)),
            Err(e) => Some(Intake::Io(e)),
        }
    }
}
