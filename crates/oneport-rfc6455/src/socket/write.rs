//! The bounded write queue and the waker fan-out that lets two tasks wait
//! on the same socket's writability.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker, ready};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::AsyncWrite;

use crate::config::Role;
use crate::conn::Connection;
use crate::error::Error;
use crate::frame::OpCode;
use crate::message::Message;

/// Payloads at least this long are queued by reference (server role, no
/// masking) instead of being copied next to their header.
const ZERO_COPY_MIN: usize = 4 * 1024;
/// Most buffers handed to one vectored write.
const MAX_IOVECS: usize = 64;

/// Which half is waiting for the socket to become writable.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Slot {
    /// The receiving side (flushing pongs and close echoes).
    Rx = 0,
    /// The sending side.
    Tx = 1,
}

/// Wakes every task waiting for writability. A socket remembers only the
/// last waker given to `poll_write`; passing it this fan-out instead keeps
/// the receiving half (flushing pongs) from stealing the sending half's
/// wake-up, and vice versa.
#[derive(Debug, Default)]
pub(crate) struct WriteWakers {
    slots: Mutex<[Option<Waker>; 2]>,
}

impl WriteWakers {
    fn register(&self, slot: Slot, waker: &Waker) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut slots[slot as usize] {
            Some(w) if w.will_wake(waker) => {}
            s => *s = Some(waker.clone()),
        }
    }
}

impl Wake for WriteWakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let woken = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            [slots[0].take(), slots[1].take()]
        };
        for w in woken.into_iter().flatten() {
            w.wake();
        }
    }
}

/// Encoded frames waiting to be written: small frames are coalesced in
/// `staging`, large unmasked payloads are kept as their own `Bytes` and
/// written with their header in one vectored write.
#[derive(Debug, Default)]
pub(crate) struct WriteQueue {
    chunks: VecDeque<Bytes>,
    staging: BytesMut,
    len: usize,
    /// Bytes were written since the last `poll_flush` of the socket.
    unflushed: bool,
}

impl WriteQueue {
    /// Bytes waiting to be written.
    pub(crate) fn len(&self) -> usize {
        self.len
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
                let header = conn.prepare(opcode, true, payload.len())?;
                header.encode(&mut self.staging);
                self.seal();
                self.chunks.push_back(payload.clone());
                self.len += header.encoded_len() + payload.len();
            }
            _ => {
                let before = self.staging.len();
                conn.encode(msg, &mut self.staging)?;
                self.len += self.staging.len() - before;
            }
        }
        Ok(())
    }

    /// Moves the coalesced bytes into the chunk list.
    fn seal(&mut self) {
        if !self.staging.is_empty() {
            self.chunks.push_back(self.staging.split().freeze());
        }
    }

    fn advance(&mut self, mut n: usize) {
        self.len -= n.min(self.len);
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                return;
            };
            if n < front.len() {
                front.advance(n);
                return;
            }
            n -= front.len();
            self.chunks.pop_front();
        }
    }

    /// Writes everything queued, then flushes the socket. Wakes the task in
    /// `slot` (through the fan-out) when the socket becomes writable.
    pub(crate) fn poll_flush<S: AsyncWrite + Unpin>(
        &mut self,
        io: &mut S,
        cx: &mut Context<'_>,
        wakers: &Arc<WriteWakers>,
        slot: Slot,
    ) -> Poll<io::Result<()>> {
        if self.len == 0 && !self.unflushed {
            return Poll::Ready(Ok(()));
        }
        wakers.register(slot, cx.waker());
        let waker = Waker::from(Arc::clone(wakers));
        let mut cx = Context::from_waker(&waker);
        self.seal();
        while !self.chunks.is_empty() {
            let n = if self.chunks.len() > 1 && io.is_write_vectored() {
                let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                let mut count = 0;
                for (slice, chunk) in slices.iter_mut().zip(&self.chunks) {
                    *slice = IoSlice::new(chunk);
                    count += 1;
                }
                ready!(Pin::new(&mut *io).poll_write_vectored(&mut cx, &slices[..count]))?
            } else {
                let first = self.chunks.front().map_or(&[][..], |c| &c[..]);
                ready!(Pin::new(&mut *io).poll_write(&mut cx, first))?
            };
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.unflushed = true;
            self.advance(n);
        }
        // Idle connections keep no write buffer either.
        self.chunks = VecDeque::new();
        self.staging = BytesMut::new();
        self.len = 0;
        ready!(Pin::new(&mut *io).poll_flush(&mut cx))?;
        self.unflushed = false;
        Poll::Ready(Ok(()))
    }

    /// Flushes, then shuts the socket's write side down.
    pub(crate) fn poll_shutdown<S: AsyncWrite + Unpin>(
        &mut self,
        io: &mut S,
        cx: &mut Context<'_>,
        wakers: &Arc<WriteWakers>,
        slot: Slot,
    ) -> Poll<io::Result<()>> {
        ready!(self.poll_flush(io, cx, wakers, slot))?;
        wakers.register(slot, cx.waker());
        let waker = Waker::from(Arc::clone(wakers));
        let mut cx = Context::from_waker(&waker);
        Pin::new(io).poll_shutdown(&mut cx)
    }
}
