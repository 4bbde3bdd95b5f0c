//! The connections oneport's clients open: plain TCP (with `TCP_NODELAY`),
//! and with the `tls` feature TLS over it, for `wss://` and `https://`.
//! The RFC 6455 client and the event-stream client both connect through
//! [`connect`], so that the rules (name resolution, `TCP_NODELAY`, server
//! name indication, which roots are trusted) live in one place.
//!
//! TLS is rustls with the ring provider. Roots are the platform's (read
//! once per process, through `rustls-native-certs`) unless a
//! [`TlsClientConfig`] with roots of its own is given.
//!
//! ```
//! use oneport_net::{Security, connect};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let port = listener.local_addr()?.port();
//! tokio::spawn(async move {
//!     let (mut s, _) = listener.accept().await?;
//!     s.write_all(b"hi").await
//! });
//! let mut stream = connect("127.0.0.1", port, Security::Plain, None).await?;
//! let mut got = [0u8; 2];
//! stream.read_exact(&mut got).await?;
//! assert_eq!(&got, b"hi");
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![warn(missing_docs)]

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

#[cfg(feature = "tls")]
mod tls;

#[cfg(feature = "tls")]
pub use tls::TlsClientConfig;

/// Which roots a TLS client trusts. Without the `tls` feature it cannot be
/// made, and [`connect`] refuses [`Security::Tls`].
#[cfg(not(feature = "tls"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsClientConfig {
    never: std::convert::Infallible,
}

/// Whether to speak TLS on the connection: what the URL's scheme says
/// (`ws`/`http` or `wss`/`https`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Security {
    /// Plain TCP.
    Plain,
    /// TLS over TCP.
    Tls,
}

impl Security {
    /// The security a URL scheme asks for: `ws` and `http` are plain,
    /// `wss` and `https` TLS (compared without case); `None` for others.
    pub fn of_scheme(scheme: &str) -> Option<Security> {
        let is = |s: &str| scheme.eq_ignore_ascii_case(s);
        if is("ws") || is("http") {
            Some(Security::Plain)
        } else if is("wss") || is("https") {
            Some(Security::Tls)
        } else {
            None
        }
    }

    /// The port a URL without one means: 80, or 443 under TLS.
    pub fn default_port(self) -> u16 {
        match self {
            Security::Plain => 80,
            Security::Tls => 443,
        }
    }
}

/// A client's connection: TCP, or TLS over TCP.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientStream {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS over TCP (boxed: the session state is large).
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl ClientStream {
    /// Whether the connection is encrypted.
    pub fn security(&self) -> Security {
        match self {
            ClientStream::Tcp(_) => Security::Plain,
            #[cfg(feature = "tls")]
            ClientStream::Tls(_) => Security::Tls,
        }
    }

    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            ClientStream::Tcp(s) => s,
            #[cfg(feature = "tls")]
            ClientStream::Tls(s) => s.get_ref().0,
        }
    }
}

/// Opens a connection to `host:port` with `TCP_NODELAY`, then, for
/// [`Security::Tls`], runs the TLS handshake with `host` as the server
/// name, trusting the roots of `tls` (the platform's when `None`).
///
/// # Errors
///
/// The connect's or the handshake's I/O error; `Unsupported` for
/// [`Security::Tls`] without the `tls` feature.
pub async fn connect(
    host: &str,
    port: u16,
    security: Security,
    tls: Option<&TlsClientConfig>,
) -> io::Result<ClientStream> {
    let tcp = TcpStream::connect((host, port)).await?;
    tcp.set_nodelay(true)?;
    match security {
        Security::Plain => Ok(ClientStream::Tcp(tcp)),
        #[cfg(feature = "tls")]
        Security::Tls => {
            let config = match tls {
                Some(c) => c.clone(),
                None => TlsClientConfig::platform()?,
            };
            config.handshake(host, tcp).await
        }
        #[cfg(not(feature = "tls"))]
        Security::Tls => {
            if let Some(config) = tls {
                match config.never {}
            }
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "TLS needs the `tls` feature",
            ))
        }
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(feature = "tls")]
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            ClientStream::Tcp(s) => s.is_write_vectored(),
            #[cfg(feature = "tls")]
            ClientStream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "tls")]
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_ports() {
        assert_eq!(Security::of_scheme("WSS"), Some(Security::Tls));
        assert_eq!(Security::of_scheme("https"), Some(Security::Tls));
        assert_eq!(Security::of_scheme("ws"), Some(Security::Plain));
        assert_eq!(Security::of_scheme("http"), Some(Security::Plain));
        assert_eq!(Security::of_scheme("ftp"), None);
        assert_eq!(Security::Tls.default_port(), 443);
        assert_eq!(Security::Plain.default_port(), 80);
    }
}
