//! The two halves of a split WebSocket.

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};

use super::Core;
use super::fanout::Half;
use crate::close::CloseFrame;
use crate::conn::Compress;
use crate::error::Error;
use crate::message::Message;

pub(super) fn split<S>(mut core: Core<S>) -> (WsReceiver<S>, WsSender<S>) {
    // From now on two tasks may wait on the transport's writability.
    core.wakers = Some(Arc::default());
    let shared = Arc::new(Mutex::new(core));
    (
        WsReceiver {
            shared: Arc::clone(&shared),
        },
        WsSender { shared },
    )
}

fn lock<S>(shared: &Mutex<Core<S>>) -> MutexGuard<'_, Core<S>> {
    // A panic while polling cannot leave the core half-updated in a way
    // that matters more than the panic itself; keep going.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The receiving half of a [`WebSocket`](crate::WebSocket), from
/// [`split`](crate::WebSocket::split): a [`Stream`](futures_core::Stream)
/// of messages. It keeps answering pings and the peer's Close, writing
/// through the shared connection.
pub struct WsReceiver<S> {
    shared: Arc<Mutex<Core<S>>>,
}

/// The sending half of a [`WebSocket`](crate::WebSocket), from
/// [`split`](crate::WebSocket::split): a [`Sink`](futures_sink::Sink) of
/// messages.
pub struct WsSender<S> {
    shared: Arc<Mutex<Core<S>>>,
}

impl<S> fmt::Debug for WsReceiver<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WsReceiver")
            .field(&*lock(&self.shared))
            .finish()
    }
}

impl<S> fmt::Debug for WsSender<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WsSender")
            .field(&*lock(&self.shared))
            .finish()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsReceiver<S> {
    /// The next message, as [`WebSocket::recv`](crate::WebSocket::recv).
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        poll_fn(|cx| lock(&self.shared).poll_recv(cx)).await
    }

    /// Whether both halves come from the same WebSocket.
    pub fn is_pair_of(&self, sender: &WsSender<S>) -> bool {
        Arc::ptr_eq(&self.shared, &sender.shared)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsSender<S> {
    /// Sends a message as one frame and writes it out, waiting while the
    /// write buffer is full.
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send`](crate::WebSocket::send).
    pub async fn send(&mut self, msg: Message) -> Result<(), Error> {
        self.send_with(msg, Compress::Auto).await
    }

    /// [`send`](Self::send), choosing whether the message may be
    /// compressed, as [`WebSocket::send_with`](crate::WebSocket::send_with).
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send`](crate::WebSocket::send).
    pub async fn send_with(&mut self, msg: Message, compress: Compress) -> Result<(), Error> {
        poll_fn(|cx| lock(&self.shared).poll_ready(cx, Half::Sender)).await?;
        lock(&self.shared).start_send(&msg, compress)?;
        self.flush().await
    }

    /// Writes every queued frame out.
    ///
    /// # Errors
    ///
    /// [`Error::Io`].
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| lock(&self.shared).poll_flush(cx, Half::Sender)).await
    }

    /// Sends a Close with `frame` (unless one was already sent) and flushes
    /// it, within [`Config::close_timeout`](crate::Config::close_timeout).
    /// The receiving half then gets the peer's answer and ends.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`], [`Error::Local`] for an invalid close frame, or
    /// [`Error::Io`].
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        let deadline = {
            let mut core = lock(&self.shared);
            core.begin_close(frame)?;
            core.close_deadline()
        };
        tokio::time::timeout_at(deadline, self.flush())
            .await
            .map_err(|_| Error::Timeout)?
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_core::Stream for WsReceiver<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        lock(&self.shared).poll_recv(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_sink::Sink<Message> for WsSender<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        lock(&self.shared).poll_ready(cx, Half::Sender)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        lock(&self.shared).start_send(&item, Compress::Auto)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        lock(&self.shared).poll_flush(cx, Half::Sender)
    }

    /// Sends a Close 1000 (unless one was sent) and flushes.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        lock(&self.shared).poll_close_sink(cx, Half::Sender)
    }
}
