//! The bounded write queue and the waker fan-out that lets two tasks wait
//! on the same socket's writability.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes, BytesMut};
use oneport_http1::ChunkQueue;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::fanout::{self, Half, WakerFanout};
use super::spare;
use crate::config::Role;
use crate::conn::{Compress, Connection};
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
    /// Payloads written as their own slices of a vectored write, and the
    /// coalesced bytes before them. Made when first needed (a large
    /// payload, a prepared frame) and dropped once written, so that a
    /// socket of small messages carries a pointer, not the queue.
    chunks: Option<Box<ChunkQueue>>,
    staging: BytesMut,
    /// Bytes were written since the last `poll_flush` of the socket.
    unflushed: bool,
    /// How long the last run written from `staging` was: the next run's
    /// buffer starts at that size (up to [`MAX_FIRST_STAGING`]), so that a
    /// burst of small echoes does not outgrow its buffer and copy it again
    /// every time.
    last_run: u32,
}

/// The largest buffer a run of small frames starts with, whatever the
/// last run was: a run larger than that grows as it needs.
pub(super) const MAX_FIRST_STAGING: usize = 16 * 1024;

impl WriteQueue {
    /// Bytes waiting to be written.
    pub(crate) fn len(&self) -> usize {
        self.chunks.as_ref().map_or(0, |c| c.len()) + self.staging.len()
    }

    /// The chunk queue, made when first needed (this thread's spare
    /// when it has one).
    fn chunks(&mut self) -> &mut ChunkQueue {
        self.chunks.get_or_insert_with(spare::take_chunks)
    }

    /// Encodes `msg` at the end of the queue, compressed if the connection
    /// negotiated deflate and `compress` lets it.
    pub(crate) fn push(
        &mut self,
        conn: &mut Connection,
        msg: &Message,
        compress: Compress,
    ) -> Result<(), Error> {
        self.make_room();
        if let Some((header, payload)) = conn.deflate_message(msg, compress)? {
            if conn.role() == Role::Server && payload.len() >= ZERO_COPY_MIN {
                header.encode(&mut self.staging);
                self.seal();
                self.chunks().push(Bytes::from(payload));
            } else {
                conn.put_frame(header, &payload, &mut self.staging);
            }
            return Ok(());
        }
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
                self.chunks().push(payload.clone());
            }
            // Not compressed: decided above, not asked again.
            _ => conn.encode_with(msg, Compress::Never, &mut self.staging)?,
        }
        Ok(())
    }

    /// Queues one fragment of a message being sent in parts (a server's
    /// large payload as its own chunk, not copied).
    pub(crate) fn push_fragment(
        &mut self,
        conn: &mut Connection,
        opcode: OpCode,
        fin: Fin,
        payload: Bytes,
    ) -> Result<(), Error> {
        if conn.role() == Role::Server && payload.len() >= ZERO_COPY_MIN {
            let header = conn.prepare(opcode, fin, payload.len())?;
            header.encode(&mut self.staging);
            self.seal();
            self.chunks().push(payload);
        } else {
            conn.encode_frame(opcode, fin, &payload, &mut self.staging)?;
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
            return self.push(conn, prepared.message(), Compress::Auto);
        }
        let frame = match conn.fresh_deflate(prepared.payload_len()) {
            // Compressed once for every connection with this window and
            // level, from a fresh context as this one compresses.
            Some((bits, level)) => {
                conn.prepare(prepared.opcode(), Fin::Final, prepared.payload_len())?;
                prepared.deflated_frame(bits, level)?
            }
            // A kept context is this connection's own: compress here.
            None if conn.deflate().is_some() => {
                return self.push(conn, prepared.message(), Compress::Auto);
            }
            None => {
                conn.prepare(prepared.opcode(), Fin::Final, prepared.payload_len())?;
                prepared.frame().clone()
            }
        };
        if frame.len() < ZERO_COPY_MIN {
            // A small frame is copied next to what else is queued, like an
            // encoded one: cheaper than counting a reference to a block
            // that every subscriber's thread shares, and no chunk queue.
            self.make_room();
            crate::conn::reserve_write(&mut self.staging, frame.len());
            self.staging.extend_from_slice(&frame);
            return Ok(());
        }
        self.seal();
        self.chunks().push(frame);
        Ok(())
    }

    /// Queues the Close the connection owes the peer (the echo of its
    /// Close, or the Close that fails the connection), if any.
    pub(crate) fn push_owed(&mut self, conn: &mut Connection) {
        let _ = conn.poll_transmit(&mut self.staging);
    }

    /// Gives an empty queue a staging buffer: this thread's spare when it
    /// has one large enough, else one the size of the last run when that
    /// was more than the engine's first buffer (which it gives otherwise).
    fn make_room(&mut self) {
        if self.staging.capacity() != 0 {
            return;
        }
        let last = self.last_run as usize;
        let want = last.clamp(crate::conn::FIRST_WRITE_BUFFER, MAX_FIRST_STAGING);
        if let Some(spare) = spare::take_write(want) {
            self.staging = spare;
        } else if last > crate::conn::FIRST_WRITE_BUFFER {
            self.staging = BytesMut::with_capacity(want);
        }
    }

    /// Moves the coalesced bytes into the chunk list.
    fn seal(&mut self) {
        if !self.staging.is_empty() {
            let run = self.staging.split().freeze();
            self.chunks().push(run);
        }
    }

    /// Writes everything queued, then flushes the socket. Wakes the task in
    /// `half` (through the fan-out) when the socket becomes writable.
    pub(crate) fn poll_flush<S: AsyncWrite + Unpin>(
        &mut self,
        io: &mut S,
        cx: &mut Context<'_>,
        wakers: Option<&Arc<WakerFanout>>,
        half: Half,
    ) -> Poll<io::Result<()>> {
        if self.len() == 0 && !self.unflushed {
            return Poll::Ready(Ok(()));
        }
        fanout::poll_with(wakers, half, cx, |cx| self.poll_write_all(io, cx))
    }

    /// [`poll_flush`](WriteQueue::poll_flush)'s work, under the context
    /// it chose.
    fn poll_write_all<S: AsyncWrite + Unpin>(
        &mut self,
        io: &mut S,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        if self.chunks.as_ref().is_none_or(|c| c.is_empty()) {
            // One run of coalesced bytes (small messages): written from
            // where they were encoded with a plain write, not sealed into
            // a chunk for a vectored one.
            self.last_run = u32::try_from(self.staging.len()).unwrap_or(u32::MAX);
            while !self.staging.is_empty() {
                self.unflushed = true;
                let n = ready!(Pin::new(&mut *io).poll_write(cx, &self.staging))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                self.staging.advance(n);
            }
        } else {
            self.seal();
            let chunks = self.chunks();
            // The future holds only the two borrows; what a partial write
            // took is already dropped from the queue, so making one per
            // poll and dropping it when pending loses nothing.
            let write = std::pin::pin!(io.write_all_buf(chunks));
            let written = write.poll(cx);
            self.unflushed = true;
            ready!(written)?;
            // Idle connections keep no chunk queue: it goes to this
            // thread's spare, for the next large payload.
            if let Some(chunks) = self.chunks.take() {
                spare::keep_chunks(chunks);
            }
        }
        // Nor a write buffer: it goes to this thread's spare, for the next
        // socket with something to send.
        spare::keep_write(std::mem::take(&mut self.staging));
        ready!(Pin::new(&mut *io).poll_flush(cx))?;
        self.unflushed = false;
        Poll::Ready(Ok(()))
    }

    /// Flushes, then shuts the socket's write side down.
    pub(crate) fn poll_shutdown<S: AsyncWrite + Unpin>(
        &mut self,
        io: &mut S,
        cx: &mut Context<'_>,
        wakers: Option<&Arc<WakerFanout>>,
        half: Half,
    ) -> Poll<io::Result<()>> {
        ready!(self.poll_flush(io, cx, wakers, half))?;
        fanout::poll_with(wakers, half, cx, |cx| Pin::new(io).poll_shutdown(cx))
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use bytes::Buf;

    use super::*;
    use crate::config::Config;
    use crate::deflate::{ContextTakeover, DeflateConfig, DeflateParams};

    fn server(own: ContextTakeover) -> Connection {
        let params = DeflateParams {
            own_context: own,
            peer_context: ContextTakeover::Keep,
            own_window_bits: 15,
            peer_window_bits: 15,
        };
        let config = Config::default().deflate(Some(DeflateConfig::default()));
        Connection::with_deflate(Role::Server, config, Some(params))
    }

    /// Where the first queued chunk's bytes live.
    fn first_chunk(q: &mut WriteQueue) -> (*const u8, Vec<u8>) {
        q.seal();
        let queue: &ChunkQueue = q.chunks();
        let chunk = queue.chunk();
        (chunk.as_ptr(), chunk.to_vec())
    }

    #[test]
    fn a_prepared_message_is_compressed_once_for_fresh_contexts() {
        let prepared = PreparedMessage::new(Message::text("tick ".repeat(1000))).unwrap();
        let copy = prepared.clone();
        let mut queued = Vec::new();
        for p in [&prepared, &copy, &prepared] {
            let mut conn = server(ContextTakeover::Reset);
            let mut q = WriteQueue::default();
            q.push_prepared(&mut conn, p).unwrap();
            // A small frame is copied next to the rest, not queued apart.
            assert!(q.chunks.is_none());
            queued.push(q.staging.to_vec());
        }
        let bytes = &queued[0];
        assert_eq!(bytes[0], 0xC1, "compressed: RSV1 and text");
        assert!(bytes.len() < 200, "{}", bytes.len());
        assert!(queued.iter().all(|b| b == bytes));
        // Compressed once: the clones share the frame made for this window
        // and level.
        let conn = server(ContextTakeover::Reset);
        let (bits, level) = conn.fresh_deflate(prepared.payload_len()).unwrap();
        let (one, two) = (
            prepared.deflated_frame(bits, level).unwrap(),
            copy.deflated_frame(bits, level).unwrap(),
        );
        assert_eq!(one.as_ptr(), two.as_ptr(), "not a second compression");
        // A kept context compresses on its own connection, into its own
        // bytes (the same ones for a first message).
        let mut conn = server(ContextTakeover::Keep);
        let mut q = WriteQueue::default();
        q.push_prepared(&mut conn, &prepared).unwrap();
        assert_eq!(&q.staging.to_vec(), bytes);
        // A large frame is queued by reference: every queue writes the
        // same allocation.
        let mut x: u32 = 1;
        let noise: Vec<u8> = (0..16 * 1024)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (x >> 24) as u8
            })
            .collect();
        let large = PreparedMessage::new(Message::binary(noise)).unwrap();
        let mut at = Vec::new();
        for _ in 0..2 {
            let mut conn = server(ContextTakeover::Reset);
            let mut q = WriteQueue::default();
            q.push_prepared(&mut conn, &large).unwrap();
            at.push(first_chunk(&mut q));
        }
        assert!(at[0].1.len() >= ZERO_COPY_MIN);
        assert_eq!(at[0], at[1], "the same allocation");
    }

    #[test]
    fn a_fresh_staging_buffer_is_as_large_as_the_last_run() {
        let mut conn = Connection::new(Role::Server, Config::default());
        let mut q = WriteQueue::default();
        let mut sink = Vec::new();
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let msg = Message::binary(vec![7u8; 64]);
        for _ in 0..40 {
            q.push(&mut conn, &msg, Compress::Auto).unwrap();
        }
        let run = q.len();
        assert!(run > crate::conn::FIRST_WRITE_BUFFER, "{run}");
        let flushed = q.poll_flush(&mut sink, &mut cx, None, Half::Sender);
        assert!(matches!(flushed, Poll::Ready(Ok(()))));
        assert_eq!(sink.len(), run);
        assert_eq!(q.staging.capacity(), 0, "a drained queue keeps no buffer");
        // The next run starts with room for one like the last, instead of
        // growing (and copying) as it fills.
        q.push(&mut conn, &msg, Compress::Auto).unwrap();
        assert!(q.staging.capacity() >= run, "{}", q.staging.capacity());
    }

    #[test]
    fn a_drained_buffer_serves_the_next_queue_on_this_thread() {
        let mut conn = Connection::new(Role::Server, Config::default());
        let mut cx = Context::from_waker(Waker::noop());
        let msg = Message::binary(vec![1u8; 64]);
        let mut first = WriteQueue::default();
        for _ in 0..40 {
            first.push(&mut conn, &msg, Compress::Auto).unwrap();
        }
        let run = first.len();
        let mut sink = Vec::new();
        let flushed = first.poll_flush(&mut sink, &mut cx, None, Half::Sender);
        assert!(matches!(flushed, Poll::Ready(Ok(()))));
        assert_eq!(first.staging.capacity(), 0, "the idle queue holds none");
        // Another socket's queue on this thread, which has written nothing
        // yet (a fresh one would get 1 KiB), gets that buffer back whole,
        // its start moved back to the beginning.
        let mut second = WriteQueue::default();
        second.push(&mut conn, &msg, Compress::Auto).unwrap();
        assert!(
            second.staging.capacity() >= run,
            "{} < {run}",
            second.staging.capacity()
        );
        assert_eq!(second.staging.len(), 66);
        // It is this thread's only spare: a third queue makes its own.
        let mut third = WriteQueue::default();
        third.push(&mut conn, &msg, Compress::Auto).unwrap();
        assert_eq!(third.staging.capacity(), crate::conn::FIRST_WRITE_BUFFER);
    }

    #[test]
    fn a_written_chunk_queue_serves_the_next_large_payload_on_this_thread() {
        let mut conn = Connection::new(Role::Server, Config::default());
        let mut cx = Context::from_waker(Waker::noop());
        let large = Message::binary(vec![2u8; ZERO_COPY_MIN]);
        let mut first = WriteQueue::default();
        first.push(&mut conn, &large, Compress::Auto).unwrap();
        assert!(first.chunks.is_some(), "a chunk queue for the payload");
        assert!(!spare::holds_chunks());
        let mut sink = Vec::new();
        let flushed = first.poll_flush(&mut sink, &mut cx, None, Half::Sender);
        assert!(matches!(flushed, Poll::Ready(Ok(()))));
        assert_eq!(sink.len(), 4 + ZERO_COPY_MIN);
        assert!(first.chunks.is_none(), "the idle queue holds none");
        assert!(spare::holds_chunks(), "kept as the thread's spare");
        let mut second = WriteQueue::default();
        second.push(&mut conn, &large, Compress::Auto).unwrap();
        assert!(second.chunks.is_some());
        assert!(!spare::holds_chunks(), "taken, not made anew");
    }
}
