//! A plain-TCP (`ws://`) client: connect, handshake, hand over to
//! [`WebSocket`].

use std::time::Duration;

use bytes::BytesMut;
use http::{HeaderMap, Response, Uri};
use oneport_http1::{BodyLength, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::{Config, Role};
use crate::error::Error;
use crate::handshake::{self, HandshakeError};
use crate::socket::WebSocket;

/// Default for [`ConnectOptions::timeout`]: 30 seconds.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How [`connect_with`] opens a connection.
///
/// ```
/// use oneport_rfc6455::{Config, ConnectOptions};
///
/// let opts = ConnectOptions::default()
///     .protocols(["chat.v2", "chat.v1"])
///     .config(Config::default().max_message_size(1 << 20));
/// assert_eq!(opts.protocols, ["chat.v2", "chat.v1"]);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// Subprotocols to offer, in order of preference. The server may pick
    /// one of them or none; picking another fails the connection.
    ///
    /// Default is empty (none offered).
    pub protocols: Vec<String>,
    /// Extra request headers (`Origin`, `Authorization`, `Cookie`, ...).
    /// Handshake headers set by the client itself are ignored.
    ///
    /// Default is empty.
    pub headers: HeaderMap,
    /// Configuration of the resulting WebSocket.
    ///
    /// Default is [`Config::default()`].
    pub config: Config,
    /// Limit for the TCP connect plus the opening handshake.
    ///
    /// Default is [`DEFAULT_CONNECT_TIMEOUT`] (30 seconds).
    pub timeout: Duration,
    /// Limits on the server's answer head, which `oneport-http1` parses as
    /// it parses every HTTP head in oneport.
    ///
    /// Default is [`Limits::default()`].
    pub limits: Limits,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            protocols: Vec::new(),
            headers: HeaderMap::new(),
            config: Config::default(),
            timeout: DEFAULT_CONNECT_TIMEOUT,
            limits: Limits::default(),
        }
    }
}

impl ConnectOptions {
    /// Sets [`protocols`](ConnectOptions::protocols).
    #[must_use]
    pub fn protocols<I, P>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`headers`](ConnectOptions::headers).
    #[must_use]
    pub fn headers(mut self, headers: HeaderMap) -> Self {
        self.headers = headers;
        self
    }

    /// Sets [`config`](ConnectOptions::config).
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Sets [`timeout`](ConnectOptions::timeout).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets [`limits`](ConnectOptions::limits).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// Connects to a `ws://host[:port]/path` URL with default options.
///
/// ```no_run
/// # async fn run() -> Result<(), oneport_rfc6455::Error> {
/// use oneport_rfc6455::{Message, connect};
///
/// let (mut ws, _response) = connect("ws://127.0.0.1:9001/echo").await?;
/// ws.send(Message::text("hello")).await?;
/// if let Some(reply) = ws.recv().await {
///     println!("{:?}", reply?);
/// }
/// ws.close(None).await?;
/// # Ok(()) }
/// # let _ = run;
/// ```
///
/// # Errors
///
/// As [`connect_with`].
pub async fn connect(url: &str) -> Result<(WebSocket<TcpStream>, Response<()>), Error> {
    connect_with(url, ConnectOptions::default()).await
}

/// Connects to a `ws://host[:port]/path` URL: opens TCP (with
/// `TCP_NODELAY`), sends the upgrade request with a random key, offered
/// subprotocols and extra headers, and verifies the 101 response (accept
/// key, no extension, a subprotocol we offered or none). Returns the client
/// WebSocket and the server's response head; the chosen subprotocol is its
/// `Sec-WebSocket-Protocol` header.
///
/// # Errors
///
/// [`Error::Handshake`] for a bad URL (including `wss://`: TLS is not
/// provided here) or a refused or malformed answer, [`Error::Io`] for
/// connection failures, [`Error::Timeout`] past
/// [`ConnectOptions::timeout`].
pub async fn connect_with(
    url: &str,
    opts: ConnectOptions,
) -> Result<(WebSocket<TcpStream>, Response<()>), Error> {
    let uri: Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| HandshakeError::InvalidUrl(format!("{url}: {e}")))?;
    match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("ws") => {}
        Some(s) => return Err(HandshakeError::UnsupportedScheme(s.to_owned()).into()),
        None => return Err(HandshakeError::InvalidUrl(format!("{url}: no scheme")).into()),
    }
    let host = uri
        .host()
        .ok_or_else(|| HandshakeError::InvalidUrl(format!("{url}: no host")))?;
    // `Uri::host` keeps the brackets of an IPv6 literal.
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let timeout = opts.timeout;
    tokio::time::timeout(timeout, handshake_over_tcp(uri, host, port, opts))
        .await
        .map_err(|_| Error::Timeout)?
}

async fn handshake_over_tcp(
    uri: Uri,
    host: String,
    port: u16,
    opts: ConnectOptions,
) -> Result<(WebSocket<TcpStream>, Response<()>), Error> {
    let protocols: Vec<&str> = opts.protocols.iter().map(String::as_str).collect();
    let (mut request, key) = handshake::client_request(&uri, &protocols, &opts.headers)?;
    handshake::offer_extensions(&opts.config, &mut request);
    let mut stream = TcpStream::connect((host.as_str(), port)).await?;
    stream.set_nodelay(true)?;
    let mut head = BytesMut::with_capacity(256);
    oneport_http1::encode_request_head(&request, BodyLength::None, &mut head);
    stream.write_all(&head).await?;

    let mut buf = BytesMut::with_capacity(1024);
    let (response, len) = loop {
        match oneport_http1::parse_response(&buf, &opts.limits) {
            Ok(Some((head, len))) => break (head.response, len),
            Ok(None) => {}
            Err(e) => return Err(head_error(e).into()),
        }
        buf.reserve(1024);
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(Error::ConnectionClosed);
        }
    };
    let (_, deflate) = handshake::verify_response_with(&response, &key, &protocols, &opts.config)?;
    let leftover = buf.split_off(len);
    let ws = WebSocket::from_raw_socket_with(stream, Role::Client, opts.config, deflate, leftover);
    Ok((ws, response))
}

/// The handshake error for a response head `oneport-http1` refused.
fn head_error(e: oneport_http1::Error) -> HandshakeError {
    match e {
        oneport_http1::Error::HeadTooLarge { .. } | oneport_http1::Error::TooManyHeaders => {
            HandshakeError::HeadTooLarge
        }
        e => HandshakeError::Malformed(e.to_string()),
    }
}
