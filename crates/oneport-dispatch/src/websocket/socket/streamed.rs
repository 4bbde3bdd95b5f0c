//! Messages as streams on the handler's socket: received as their bytes
//! arrive ([`MessageStream`]) and sent from a stream as fragments.

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};

use oneport_rfc6455::{CloseCode, Message, Part};
use tokio::io::AsyncRead;

use super::{
    Conn, Error, ServerStream, Transport, WsSender, WsVersion, gone, hybi00_err, rfc6455_err,
    status,
};

/// hybi-00's answer to a streamed send: the draft has no fragments.
pub(super) fn no_fragments() -> Error {
    hybi00_err(oneport_hybi00::Error::Unsupported(
        "messages sent in fragments (hybi-00 has none)",
    ))
}

/// What a streamed send needs of a socket, whole or its sending half.
pub(super) trait Sending {
    fn version_now(&self) -> WsVersion;
    fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>>;
    fn queue_fragment(&mut self, fragment: oneport_rfc6455::Fragment) -> Result<(), Error>;
    fn poll_out(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>>;
    /// Closes with 1011 (queued) after the source broke.
    fn source_broke(&mut self);
}

impl<S: Transport> Sending for Conn<S> {
    fn version_now(&self) -> WsVersion {
        self.inner.version()
    }

    fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let ready = std::task::ready!(self.inner.poll_ready(cx));
        Poll::Ready(self.note_send_error(ready))
    }

    fn queue_fragment(&mut self, fragment: oneport_rfc6455::Fragment) -> Result<(), Error> {
        self.inner.start_send_fragment(fragment)
    }

    fn poll_out(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let flushed = std::task::ready!(self.inner.poll_flush(cx));
        Poll::Ready(self.note_send_error(flushed))
    }

    fn source_broke(&mut self) {
        self.inner.fail_source();
        self.note(status(CloseCode::INTERNAL, "the message source failed"));
    }
}

/// Sends one message from `source` as fragments of at most `fragment`
/// bytes through `port` (see [`WebSocket::send_stream`]).
pub(super) async fn send_stream_on<P, St, E>(
    port: &mut P,
    kind: oneport_rfc6455::MessageKind,
    source: St,
    fragment: usize,
) -> Result<(), Error>
where
    P: Sending,
    St: futures_core::Stream<Item = Result<bytes::Bytes, E>>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if port.version_now() == WsVersion::Hybi00 {
        return Err(no_fragments());
    }
    let mut source = std::pin::pin!(source);
    let mut cutter = oneport_rfc6455::Fragmenter::new(kind, fragment);
    loop {
        let invalid = |_| "invalid UTF-8 in a text message".into();
        let cut: Result<(), Box<dyn std::error::Error + Send + Sync>> =
            match poll_fn(|cx| source.as_mut().poll_next(cx)).await {
                None => cutter.finish().map_err(invalid),
                Some(Ok(chunk)) => cutter.push(chunk).map_err(invalid),
                Some(Err(e)) => Err(e.into()),
            };
        if let Err(why) = cut {
            port.source_broke();
            let _ = poll_fn(|cx| port.poll_out(cx)).await;
            return Err(rfc6455_err(oneport_rfc6455::Error::Source(why)));
        }
        while let Some(f) = cutter.next() {
            let last = f.fin.is_final();
            poll_fn(|cx| port.poll_room(cx)).await?;
            port.queue_fragment(f)?;
            poll_fn(|cx| port.poll_out(cx)).await?;
            if last {
                return Ok(());
            }
        }
    }
}

/// A reader's bytes as a stream of chunks of up to `size`.
pub(super) struct ReaderChunks<R> {
    pub(super) reader: R,
    pub(super) size: usize,
}

impl<R: AsyncRead + Unpin> futures_core::Stream for ReaderChunks<R> {
    type Item = std::io::Result<bytes::Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut buf = bytes::BytesMut::zeroed(this.size);
        let mut read = tokio::io::ReadBuf::new(&mut buf);
        match std::task::ready!(Pin::new(&mut this.reader).poll_read(cx, &mut read)) {
            Err(e) => Poll::Ready(Some(Err(e))),
            Ok(()) => {
                let n = read.filled().len();
                if n == 0 {
                    return Poll::Ready(None);
                }
                buf.truncate(n);
                Poll::Ready(Some(Ok(buf.freeze())))
            }
        }
    }
}

/// A data message being received as it arrives, from
/// [`WebSocket::recv_stream`](super::WebSocket::recv_stream): its bytes in order, read with
/// [`chunk`](MessageStream::chunk) or as a `Stream`. Text is checked as
/// UTF-8 as it comes (a chunk may end inside a character; an invalid byte
/// fails the message at once with 1007). Dropped before its end, the rest
/// of its message is skipped by the next receive.
pub struct MessageStream<'a, S: Transport = ServerStream> {
    pub(super) conn: &'a mut Conn<S>,
    pub(super) text: bool,
    pub(super) first: Option<bytes::Bytes>,
    pub(super) done: bool,
    pub(super) limit: Option<u64>,
}

impl<S: Transport> fmt::Debug for MessageStream<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageStream")
            .field("text", &self.text)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<S: Transport> MessageStream<'_, S> {
    /// Whether the message is text.
    pub fn is_text(&self) -> bool {
        self.text
    }

    /// The next bytes of the message; `None` after the last. An error
    /// (invalid UTF-8, the limit, a close or a lost connection before the
    /// end) ends the message. Cancel-safe.
    pub async fn chunk(&mut self) -> Option<Result<bytes::Bytes, Error>> {
        poll_fn(|cx| self.poll_chunk(cx)).await
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<bytes::Bytes, Error>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        if self.done {
            return Poll::Ready(None);
        }
        loop {
            let item = std::task::ready!(self.conn.poll_recv_part(cx, self.limit));
            return Poll::Ready(match item {
                Some(Ok(Part::Data { data, fin, .. })) => {
                    self.done = fin;
                    Some(Ok(data))
                }
                // A ping or pong between the parts: answered already.
                Some(Ok(Part::Control(Message::Ping(_) | Message::Pong(_)))) => continue,
                Some(Ok(Part::Control(_))) | None => {
                    self.done = true;
                    Some(Err(gone()))
                }
                Some(Err(e)) => {
                    self.done = true;
                    Some(Err(e))
                }
            });
        }
    }
}

impl<S: Transport> futures_core::Stream for MessageStream<'_, S> {
    type Item = Result<bytes::Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}

impl<S: Transport> Sending for WsSender<S> {
    fn version_now(&self) -> WsVersion {
        self.shared
            .with(|c| c.inner.version())
            .unwrap_or(WsVersion::Rfc6455)
    }

    fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll_ready_half(cx)
    }

    fn queue_fragment(&mut self, fragment: oneport_rfc6455::Fragment) -> Result<(), Error> {
        match self.shared.lock().as_deref_mut() {
            Some(conn) => conn.inner.start_send_fragment(fragment),
            None => Err(gone()),
        }
    }

    fn poll_out(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll_flush_half(cx)
    }

    fn source_broke(&mut self) {
        if let Some(conn) = self.shared.lock().as_deref_mut() {
            conn.source_broke();
        }
    }
}
