//! Outgoing bytes as a queue of shared chunks.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

/// Bytes waiting to be written, as a queue of shared [`Bytes`] chunks: an
/// encoded head next to a payload that is not copied, or many encoded
/// events shared by every subscriber.
///
/// It is a [`Buf`] whose [`chunks_vectored`](Buf::chunks_vectored) lists
/// the queued chunks, so a writer that takes a `Buf` (tokio's
/// `write_all_buf`, for one) writes them in one vectored write and resumes
/// where a partial write stopped: [`advance`](Buf::advance) drops what was
/// written and keeps the rest. This is the one write queue of oneport; the
/// WebSocket and the event-stream writers both use it.
///
/// An empty queue holds no allocation, and neither does a queue of one
/// or two chunks: those are kept inline, so the common writes of one
/// encoded frame or event, or of a head and the payload after it,
/// allocate nothing for the queue itself.
///
/// ```
/// use bytes::{Buf, Bytes};
/// use oneport_http1::ChunkQueue;
///
/// let mut q = ChunkQueue::new();
/// q.push(Bytes::from_static(b"head;"));
/// q.push(Bytes::from_static(b"payload"));
/// assert_eq!(q.remaining(), 12);
/// q.advance(7); // a partial write took 7 bytes
/// assert_eq!(q.chunk(), b"yload");
/// assert_eq!(q.chunk_count(), 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ChunkQueue {
    /// The chunk being written; empty only when `second` is empty too.
    first: Bytes,
    /// The chunk after it; empty only when `rest` is empty too.
    second: Bytes,
    rest: VecDeque<Bytes>,
    len: usize,
}

impl ChunkQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a chunk (an empty one is skipped).
    pub fn push(&mut self, chunk: Bytes) {
        if chunk.is_empty() {
            return;
        }
        self.len += chunk.len();
        if self.first.is_empty() {
            self.first = chunk;
        } else if self.second.is_empty() {
            self.second = chunk;
        } else {
            self.rest.push_back(chunk);
        }
    }

    /// Bytes queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Chunks queued.
    pub fn chunk_count(&self) -> usize {
        usize::from(!self.first.is_empty()) + usize::from(!self.second.is_empty()) + self.rest.len()
    }

    /// Copies every chunk into one, for a writer without vectored writes
    /// (one write instead of one per chunk).
    pub fn gather(&mut self) {
        if !self.second.is_empty() {
            let mut one = BytesMut::with_capacity(self.len);
            one.extend_from_slice(&self.first);
            one.extend_from_slice(&self.second);
            for c in &self.rest {
                one.extend_from_slice(c);
            }
            self.rest = VecDeque::new();
            self.second = Bytes::new();
            self.first = one.freeze();
        }
    }

    /// Drops everything queued and the queue's allocation.
    pub fn clear(&mut self) {
        self.first = Bytes::new();
        self.second = Bytes::new();
        self.rest = VecDeque::new();
        self.len = 0;
    }
}

impl Buf for ChunkQueue {
    fn remaining(&self) -> usize {
        self.len
    }

    fn chunk(&self) -> &[u8] {
        &self.first
    }

    fn advance(&mut self, mut n: usize) {
        self.len -= n.min(self.len);
        while n > 0 && !self.first.is_empty() {
            if n < self.first.len() {
                self.first.advance(n);
                break;
            }
            n -= self.first.len();
            self.first = std::mem::take(&mut self.second);
            self.second = self.rest.pop_front().unwrap_or_default();
        }
        if self.rest.is_empty() && self.rest.capacity() != 0 {
            // Idle writers keep no allocation.
            self.rest = VecDeque::new();
        }
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        if self.first.is_empty() {
            return 0;
        }
        let mut n = 0;
        let second = Some(&self.second).filter(|c| !c.is_empty());
        let chunks = std::iter::once(&self.first).chain(second).chain(&self.rest);
        for (slot, c) in dst.iter_mut().zip(chunks) {
            *slot = IoSlice::new(c);
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(parts: &[&'static [u8]]) -> ChunkQueue {
        let mut q = ChunkQueue::new();
        for p in parts {
            q.push(Bytes::from_static(p));
        }
        q
    }

    /// Whatever sizes the writes take, the bytes come out once, in order.
    #[test]
    fn partial_writes_of_every_size_resume_where_they_stopped() {
        let parts: [&[u8]; 4] = [b"abc", b"", b"defgh", b"ij"];
        let whole: Vec<u8> = parts.concat();
        for step in 1..=whole.len() {
            let mut q = queue(&parts);
            let mut out = Vec::new();
            while q.has_remaining() {
                let mut slices = [IoSlice::new(&[]); 8];
                let n = q.chunks_vectored(&mut slices);
                let avail: Vec<u8> = slices[..n].iter().flat_map(|s| s.iter().copied()).collect();
                assert_eq!(avail.len(), q.remaining(), "every chunk is offered");
                let took = step.min(avail.len());
                out.extend_from_slice(&avail[..took]);
                q.advance(took);
            }
            assert_eq!(out, whole, "step {step}");
            assert!(q.is_empty() && q.chunk_count() == 0);
        }
    }

    #[test]
    fn one_or_two_chunks_are_queued_without_allocating_a_list() {
        let mut q = queue(&[b"only"]);
        assert_eq!(q.rest.capacity(), 0);
        q.advance(2);
        assert_eq!(q.chunk(), b"ly");
        q.advance(2);
        assert!(q.is_empty() && q.chunk().is_empty());
        let mut q = queue(&[b"head", b"payload"]);
        assert_eq!(q.rest.capacity(), 0);
        assert_eq!(q.chunk_count(), 2);
        q.advance(5);
        assert_eq!((q.chunk(), q.chunk_count()), (&b"ayload"[..], 1));
        q.push(Bytes::from_static(b"next"));
        q.push(Bytes::from_static(b"third"));
        assert_eq!(q.chunk_count(), 3);
        q.advance(6);
        assert_eq!(q.chunk(), b"next");
    }

    #[test]
    fn empty_chunks_are_not_queued_and_gather_makes_one() {
        let mut q = queue(&[b"", b"ab", b"", b"cd"]);
        assert_eq!((q.len(), q.chunk_count()), (4, 2));
        q.gather();
        assert_eq!(q.chunk_count(), 1);
        assert_eq!(q.chunk(), b"abcd");
        q.clear();
        assert!(q.is_empty() && !q.has_remaining());
    }
}
