//! Cutting a message whose bytes come in pieces into fragments (sans-IO):
//! what a streamed send writes, one fragment at a time.

use bytes::Bytes;

use crate::frame::{Fin, OpCode};
use crate::utf8::{InvalidUtf8, Utf8Validator};

/// Whether a message sent in fragments is text or binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// Text: its bytes must be UTF-8 as a whole.
    Text,
    /// Binary.
    Binary,
}

/// One fragment ready to be encoded
/// ([`Connection::encode_frame`](crate::Connection::encode_frame)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// `Text` or `Binary` for the first, `Continuation` after.
    pub opcode: OpCode,
    /// `Final` on the last.
    pub fin: Fin,
    /// The bytes.
    pub payload: Bytes,
}

/// Cuts a message into fragments of at most a chosen size as its bytes
/// come, holding one back so that the last fragment carries FIN (an empty
/// final fragment only when the bytes end on a boundary), and checking a
/// text message as UTF-8 across the pieces.
///
/// # Call order
///
/// [`push`](Fragmenter::push) each piece, taking [`next`](Fragmenter::next)
/// until it is `None` after each; then [`finish`](Fragmenter::finish) and
/// take `next` once more for the final fragment.
///
/// ```
/// use bytes::Bytes;
/// use oneport_rfc6455::{Fin, Fragmenter, MessageKind, OpCode};
///
/// let mut f = Fragmenter::new(MessageKind::Binary, 4);
/// f.push(Bytes::from_static(b"abcdefghij")).unwrap();
/// let mut out = Vec::new();
/// while let Some(frag) = f.next() {
///     out.push((frag.opcode, frag.fin, frag.payload));
/// }
/// f.finish().unwrap();
/// out.extend(f.next().map(|frag| (frag.opcode, frag.fin, frag.payload)));
/// assert_eq!(out, [
///     (OpCode::Binary, Fin::More, Bytes::from_static(b"abcd")),
///     (OpCode::Continuation, Fin::More, Bytes::from_static(b"efgh")),
///     (OpCode::Continuation, Fin::Final, Bytes::from_static(b"ij")),
/// ]);
/// ```
#[derive(Debug)]
pub struct Fragmenter {
    kind: MessageKind,
    size: usize,
    utf8: Option<Utf8Validator>,
    /// Bytes pushed and not yet cut.
    pending: Bytes,
    /// The last fragment cut, not yet given out.
    held: Option<Bytes>,
    first: bool,
    finished: bool,
    done: bool,
}

impl Fragmenter {
    /// A message of `kind`, in fragments of at most `size` bytes (at
    /// least 1).
    pub fn new(kind: MessageKind, size: usize) -> Self {
        Fragmenter {
            kind,
            size: size.max(1),
            utf8: (kind == MessageKind::Text).then(Utf8Validator::new),
            pending: Bytes::new(),
            held: None,
            first: true,
            finished: false,
            done: false,
        }
    }

    /// Takes the next bytes of the message. Give out what
    /// [`next`](Fragmenter::next) has before pushing again.
    ///
    /// # Errors
    ///
    /// [`InvalidUtf8`] for a text message whose bytes cannot be UTF-8.
    pub fn push(&mut self, chunk: Bytes) -> Result<(), InvalidUtf8> {
        if let Some(v) = self.utf8.as_mut() {
            v.feed(&chunk)?;
        }
        if self.pending.is_empty() {
            self.pending = chunk;
        } else {
            // Only if `next` was not drained: keep both, in order.
            let mut both = Vec::with_capacity(self.pending.len() + chunk.len());
            both.extend_from_slice(&self.pending);
            both.extend_from_slice(&chunk);
            self.pending = Bytes::from(both);
        }
        Ok(())
    }

    /// Says the message's bytes are all pushed.
    ///
    /// # Errors
    ///
    /// [`InvalidUtf8`] for a text message that ends inside a character.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        if let Some(v) = &self.utf8 {
            v.finish()?;
        }
        self.finished = true;
        Ok(())
    }

    /// The next fragment ready to go out, if any.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Fragment> {
        if self.done {
            return None;
        }
        loop {
            if !self.pending.is_empty() {
                let take = self.pending.len().min(self.size);
                let piece = self.pending.split_to(take);
                if let Some(ready) = self.held.replace(piece) {
                    return Some(self.fragment(Fin::More, ready));
                }
                continue;
            }
            if self.finished {
                self.done = true;
                let last = self.held.take().unwrap_or_default();
                return Some(self.fragment(Fin::Final, last));
            }
            return None;
        }
    }

    fn fragment(&mut self, fin: Fin, payload: Bytes) -> Fragment {
        let opcode = match (std::mem::take(&mut self.first), self.kind) {
            (true, MessageKind::Text) => OpCode::Text,
            (true, MessageKind::Binary) => OpCode::Binary,
            (false, _) => OpCode::Continuation,
        };
        Fragment {
            opcode,
            fin,
            payload,
        }
    }
}
