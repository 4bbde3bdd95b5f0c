//! A per-thread pool of read and write buffers, so that a connection holds
//! one only while it has work: taken when the socket becomes readable,
//! given back when everything read is answered.

use std::cell::RefCell;

use bytes::BytesMut;

/// Bytes asked of the socket per read, and the size of a new buffer.
pub(super) const READ_CHUNK: usize = 4096;
/// Buffers larger than this are not kept for reuse.
const POOL_MAX_CAPACITY: usize = 64 * 1024;
/// Buffers kept per worker thread for reuse.
const POOL_MAX_BUFFERS: usize = 64;

thread_local! {
    static POOL: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// Takes a buffer from this thread's pool, or makes one.
pub(super) fn take_buffer() -> BytesMut {
    POOL.with(|p| p.borrow_mut().pop())
        .unwrap_or_else(|| BytesMut::with_capacity(READ_CHUNK))
}

/// Gives an emptied buffer back to this thread's pool, leaving an
/// unallocated one in its place.
pub(super) fn give_back(buf: &mut BytesMut) {
    let mut b = std::mem::take(buf);
    if b.capacity() == 0 || b.capacity() > POOL_MAX_CAPACITY {
        return;
    }
    b.clear();
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < POOL_MAX_BUFFERS {
            p.push(b);
        }
    });
}
