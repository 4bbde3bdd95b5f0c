//! The server's side of one connection: plain TCP, or TLS over TCP (with
//! the `tls` feature). Everything above the accept loop (the request loop,
//! event streams, both WebSocket versions) works on this one type.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Whether a connection is encrypted: the clients' type, so that one enum
/// means `ws`/`http` against `wss`/`https` everywhere.
pub use oneport_net::Security;

/// A connection the server accepted: TCP, or TLS over TCP once its
/// handshake is done. Handlers meet it as the transport of a
/// [`WebSocket`](crate::WebSocket) and in [`Upgraded`](crate::Upgraded).
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerStream {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS over TCP (boxed: the session state is large).
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl ServerStream {
    /// Whether the connection is encrypted.
    pub fn security(&self) -> Security {
        match self {
            ServerStream::Tcp(_) => Security::Plain,
            #[cfg(feature = "tls")]
            ServerStream::Tls(_) => Security::Tls,
        }
    }

    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            ServerStream::Tcp(s) => s,
            #[cfg(feature = "tls")]
            ServerStream::Tls(s) => s.get_ref().0,
        }
    }

    /// The client's address.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp().peer_addr()
    }

    /// Ready when a read would make progress: the socket is readable, or
    /// (under TLS) decrypted bytes are already waiting. Holds no buffer,
    /// and no future either: the waker goes to the socket's registration.
    pub(crate) fn poll_ready_to_read(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            ServerStream::Tcp(s) => s.poll_read_ready(cx),
            #[cfg(feature = "tls")]
            ServerStream::Tls(s) => {
                let (tcp, session) = s.get_mut();
                let buffered = session
                    .process_new_packets()
                    .map(|st| st.plaintext_bytes_to_read() > 0)
                    .unwrap_or(true);
                if buffered {
                    // Bytes to hand over (or an error to report) now.
                    return Poll::Ready(Ok(()));
                }
                tcp.poll_read_ready(cx)
            }
        }
    }

    /// Writes what the connection takes now, or fails with `WouldBlock`.
    /// Under TLS the bytes may stay in the session's buffer: see
    /// [`needs_flush`](Self::needs_flush).
    pub(crate) fn try_write_now(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            ServerStream::Tcp(s) => s.try_write(buf),
            #[cfg(feature = "tls")]
            ServerStream::Tls(s) => {
                let mut cx = Context::from_waker(std::task::Waker::noop());
                match Pin::new(s.as_mut()).poll_write(&mut cx, buf) {
                    Poll::Ready(r) => r,
                    Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
                }
            }
        }
    }

    /// Whether written bytes may wait in a buffer of ours until a flush
    /// (TLS records); plain TCP writes straight to the socket.
    pub(crate) fn needs_flush(&self) -> bool {
        !matches!(self, ServerStream::Tcp(_))
    }
}

impl AsyncRead for ServerStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ServerStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ServerStream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ServerStream::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(feature = "tls")]
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            ServerStream::Tcp(s) => s.is_write_vectored(),
            #[cfg(feature = "tls")]
            ServerStream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "tls")]
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
