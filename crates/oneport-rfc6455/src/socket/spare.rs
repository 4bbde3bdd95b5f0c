//! What each thread keeps for the next socket that needs it, one of each:
//! a drained write buffer, a drained chunk queue, and a read block made
//! for a stream of large messages. A socket that writes after every read
//! (an echo, a chat) or reads large message after large message then
//! allocates nothing per message, while an idle socket still holds none
//! of them.

use std::cell::Cell;

use bytes::BytesMut;
use oneport_http1::ChunkQueue;

use super::write::MAX_FIRST_STAGING;
use crate::conn::FIRST_WRITE_BUFFER;

thread_local! {
    static WRITE: Cell<Option<BytesMut>> = const { Cell::new(None) };
    static CHUNKS: Cell<Option<Box<ChunkQueue>>> = const { Cell::new(None) };
    static READ: Cell<Option<BytesMut>> = const { Cell::new(None) };
}

/// This thread's spare write buffer, if it holds at least `want` bytes.
pub(super) fn take_write(want: usize) -> Option<BytesMut> {
    let spare = WRITE.take()?;
    if spare.capacity() >= want {
        Some(spare)
    } else {
        WRITE.set(Some(spare));
        None
    }
}

/// Keeps a drained write buffer as this thread's spare when it is its
/// queue's own (not shared with queued chunks) and not larger than a
/// fresh one may be; drops it otherwise.
pub(super) fn keep_write(mut buf: BytesMut) {
    buf.clear();
    // After a full write the buffer's start has moved to its end: asking
    // for more room than is left moves it back to the start of the
    // allocation, without a copy, when nothing else shares it.
    let reclaimed = buf.try_reclaim(buf.capacity() + 1);
    if reclaimed && (FIRST_WRITE_BUFFER..=MAX_FIRST_STAGING).contains(&buf.capacity()) {
        WRITE.set(Some(buf));
    }
}

/// This thread's spare chunk queue, or a new one.
pub(super) fn take_chunks() -> Box<ChunkQueue> {
    CHUNKS.take().unwrap_or_default()
}

/// Keeps a drained chunk queue (which holds no allocation of its own once
/// drained) as this thread's spare.
pub(super) fn keep_chunks(chunks: Box<ChunkQueue>) {
    if chunks.is_empty() {
        CHUNKS.set(Some(chunks));
    }
}

/// This thread's spare read buffer handle, if any: its block is reused
/// by the next `reserve` when every message read into it is gone.
pub(super) fn take_read() -> Option<BytesMut> {
    READ.take()
}

/// Keeps an empty read buffer's handle (and so its block) as this
/// thread's spare, in place of the last one.
pub(super) fn keep_read(buf: BytesMut) {
    READ.set(Some(buf));
}

/// Whether this thread holds a spare chunk queue.
#[cfg(test)]
pub(super) fn holds_chunks() -> bool {
    holds(&CHUNKS)
}

/// Whether this thread holds a spare read buffer.
#[cfg(test)]
pub(super) fn holds_read() -> bool {
    holds(&READ)
}

#[cfg(test)]
fn holds<T>(slot: &'static std::thread::LocalKey<Cell<Option<T>>>) -> bool {
    let kept = slot.take();
    let holds = kept.is_some();
    slot.set(kept);
    holds
}
