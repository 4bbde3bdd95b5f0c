//! The client side over tokio: [`connect`] for tests and tools.

use bytes::BytesMut;
use http::Uri;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{READ_CHUNK, WebSocket};
use crate::handshake::{self, HandshakeError, LOCATION};
use crate::{Config, Error};

/// Connects to `url` (`ws://host[:port]/path?query`) with the default
/// [`Config`] and performs the hybi-00 handshake, checking the server's 16
/// answer bytes.
///
/// # Errors
///
/// As [`connect_with_config`].
pub async fn connect(url: &str) -> Result<WebSocket<TcpStream>, Error> {
    connect_with_config(url, Config::default()).await
}

/// [`connect`] with a configuration; the connection and the handshake
/// together must finish within [`Config::handshake_timeout`].
///
/// # Errors
///
/// [`Error::Unsupported`] for `wss://` (no TLS here),
/// [`HandshakeError::InvalidUrl`] for anything but a `ws://` URL with a
/// host, [`Error::Io`] when the connection fails, [`Error::Timeout`], and
/// the handshake errors of [`client_handshake`].
pub async fn connect_with_config(url: &str, config: Config) -> Result<WebSocket<TcpStream>, Error> {
    let uri: Uri = url
        .parse()
        .map_err(|_| HandshakeError::InvalidUrl("not a URL"))?;
    match uri.scheme_str() {
        Some("ws") => {}
        Some("wss") => return Err(Error::Unsupported("wss:// URLs (no TLS in this crate)")),
        _ => return Err(HandshakeError::InvalidUrl("the scheme must be ws").into()),
    }
    let host = uri.host().ok_or(HandshakeError::InvalidUrl("no host"))?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let limit = config.handshake_timeout;
    let fut = async {
        let io = TcpStream::connect((host.as_str(), port)).await?;
        io.set_nodelay(true)?;
        client_handshake(io, &uri, None, config).await
    };
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or(Err(Error::Timeout))
}

/// The client side of the handshake over any stream: sends the request for
/// `url` (with fresh random keys, an `Origin` of `http://` + the URL's
/// authority, and `protocol` when given) and checks the answer: status
/// `101`, `Upgrade`, `Connection`, `Sec-WebSocket-Location` equal to the
/// URL, and the 16 bytes. Bytes after them are kept for the socket.
///
/// No timeout of its own; wrap it (as [`connect_with_config`] does).
///
/// # Errors
///
/// [`Error::Handshake`] for a wrong or malformed answer (or the connection
/// ending during it), [`Error::Io`] when the stream fails.
pub async fn client_handshake<S>(
    mut io: S,
    url: &Uri,
    protocol: Option<&str>,
    config: Config,
) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let authority = url
        .authority()
        .ok_or(HandshakeError::InvalidUrl("no host"))?;
    let path = url.path_and_query().map_or("/", |pq| pq.as_str());
    let path = if path.is_empty() { "/" } else { path };
    let (key1, key2, key3, expected) = handshake::client_keys();
    let origin = format!("http://{authority}");
    let req = handshake::request(url, Some(&origin), protocol, &key1, &key2)?;
    let mut out = BytesMut::new();
    handshake::encode_request(&req, &key3, &mut out);
    io.write_all(&out).await?;
    io.flush().await?;

    let mut buf = BytesMut::new();
    loop {
        if let Some((res, used)) = handshake::parse_response(&buf, &expected, &config.limits)? {
            let location = format!("ws://{authority}{path}");
            let matches = res
                .headers()
                .get(LOCATION)
                .is_some_and(|v| v.as_bytes() == location.as_bytes());
            if !matches {
                return Err(HandshakeError::InvalidResponse("Sec-WebSocket-Location").into());
            }
            if let Some(p) = protocol {
                let echoed = res
                    .headers()
                    .get(handshake::PROTOCOL)
                    .is_some_and(|v| v.as_bytes() == p.as_bytes());
                if !echoed {
                    return Err(HandshakeError::InvalidResponse("Sec-WebSocket-Protocol").into());
                }
            }
            let leftover = buf.split_off(used);
            return Ok(WebSocket::from_raw_socket(io, config, leftover));
        }
        buf.reserve(READ_CHUNK);
        if io.read_buf(&mut buf).await? == 0 {
            return Err(
                HandshakeError::InvalidResponse("connection ended during the handshake").into(),
            );
        }
    }
}
