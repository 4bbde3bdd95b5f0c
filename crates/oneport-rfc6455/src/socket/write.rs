//! The bounded write queue and the waker fan-out that lets two tasks wait
//! on the same socket's writability.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker, ready};

use bytes::BytesMut;
use oneport_http1::ChunkQueue;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::fanout::{Half, WakerFanout};
use crate::config::Role;
use crate::conn::Connection;
use crate::error::Error;
use crate::frame::{Fin, OpCode};
use crate::message::Message;
use crate::prepared::PreparedMessage;

/// Payloads at least this long are queued by reference (server role, no
/// masking) instead of being copied next to their header.
const ZERO_COPY_MIN: usize = 4 * 1024;

/// Encoded frames waiting to be written: small frames are coalesced in
/// `staging`, large unmasked payloads are kept as their own `Bytes` and
/// written with their header in one vectored write (the shared
/// [`ChunkQueue`], written by tokio's `write_all_buf`).
#[derive(Debug, Default)]
pub(crate) struct WriteQueue {
    chunks: ChunkQueue,
    staging: BytesMut,
    /// Bytes were written since the last `poll_flush` of the socket.
    unflushed: bool,
}

impl WriteQueue {
    /// Bytes waiting to be written.
    pub(crate) fn len(&self) -> usize {
        self.chunks.len() + self.staging.len()
    }

    /// Encodes `msg` at the end of the queue.
    pub(crate) fn push(&mut self, conn: &mut Connection, msg: &Message) -> Result<(), Error> {
        let large = match msg {
            Message::Binary(b) if b.len() >= ZERO_COPY_MIN => Some((OpCode::Binary, b)),
            Message::Text(t) if t.len() >= ZERO_COPY_MIN => Some((OpCode::Text, t.as_bytes())),
            _ => None,
        };
        match large {
            Some((opcode, payload)) if conn.role() == Role::Server => {
                let header = conn.prepare(opcode, Fin::Final, payload.len())?;
                header.encode(&mut self.staging);
                self.seal();
                self.chunks.push(payload.clone());
            }
            _ => conn.encode(msg, &mut self.staging)?,
        }
        Ok(())
    }

    /// Queues a frame encoded once for many peers, after checking it with
    /// the engine as an encoded one would be (a server's only: a client
    /// masks, so it encodes the message itself).
    pub(crate) fn push_prepared(
        &mut self,
        conn: &mut Connection,
        prepared: &PreparedMessage,
    ) -> Result<(), Error> {
        if conn.role() == Role::Client {
            return self.push(conn, prepared.message());
        }
        let _header = conn.prepare(prepared.opcode(), Fin::Final, prepared.payload_len())?;
        self.seal();
        self.chunks.push(prepared.frame().clone());
        Ok(())
    }

    /// Queues the Close the connection owes the peer (the echo of its
    /// Close, or the Close that fails the connection), if any.
    pub(crate) fn push_owed(&mut self, conn: &mut Connection) {
        let _ = conn.poll_transmit(&mut self.staging);
    }

    /// Moves the coalesced bytes into the chunk list.
    fn seal(&mut self) {
        if !self.staging.is_empty() {
            self.chunks.push(self.staging.split().freeze());
        }
    }

    /// Writes everything queued, then flushes the socket. Wakes the task in
    /// `half` (through the fan-out) when the socket becomes writable.
    pub(crate) fn poll_flush<S: AsyncWrite + Unpin>(
        &mut self,
        io: &mut S,
        cx: &mut Context<'_>,
        wakers: &Arc<WakerFanout>,
        half: Half,
    ) -> Poll<io::Result<()>> {
        if self.len() == 0 && !self.unflushed {
            return Poll::Ready(Ok(()));
        }
        wakers.register(half, cx.waker());
        let waker = Waker::from(Arc::clone(wakers));
        let mut cx = Context::from_waker(&waker);
        self.seal();
        if !self.chunks.is_empty() {
            // The future holds only the two borrows; what a partial write
            // took is already dropped from the queue, so making one per
            // poll and dropping it when pending loses nothing.
            let write = std::pin::pin!(io.write_all_buf(&mut self.chunks));
            let written = write.poll(&mut cx);
            self.unflushed = true;
            ready!(written)?;
        }
        // Idle connections keep no write buffer either.
        self.staging = BytesMut::new();
        ready!(Pin::new(&mut *io).poll_flush(&mut cx))?;
        self.unflushed = false;
        Poll::Ready(Ok(()))
    }

    /// Flushes, then shuts the socket's write side down.
    pub(crate) fn poll_shutdown<S: AsyncWrite + Unpin>(
        &mut self,
        io: &mut S,
        cx: &mut Context<'_>,
        wakers: &Arc<WakerFanout>,
        half: Half,
    ) -> Poll<io::Result<()>> {
        ready!(self.poll_flush(io, cx, wakers, half))?;
        wakers.register(half, cx.waker());
        let waker = Waker::from(Arc::clone(wakers));
        let mut cx = Context::from_waker(&waker);
        Pin::new(io).poll_shutdown(&mut cx)
    }
}
