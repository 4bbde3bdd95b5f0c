//! The client: connect (`ws://`, or `wss://` with the `tls` feature),
//! handshake, hand over to [`WebSocket`].

use std::time::Duration;

use bytes::BytesMut;
use http::{HeaderMap, Response, Uri};
use oneport_http1::{BodyLength, Limits};
use oneport_net::{ClientStream, Security, TlsClientConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    /// The roots trusted for `wss://` (the `tls` feature).
    ///
    /// Default is `None`: the platform's root certificates.
    pub tls: Option<TlsClientConfig>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            protocols: Vec::new(),
            headers: HeaderMap::new(),
            config: Config::default(),
            timeout: DEFAULT_CONNECT_TIMEOUT,
            limits: Limits::default(),
            tls: None,
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

    /// Sets the roots trusted for `wss://` ([`tls`](Self::tls)).
    #[must_use]
    pub fn tls(mut self, tls: TlsClientConfig) -> Self {
        self.tls = Some(tls);
        self
    }
}

/// Connects to a `ws://` or `wss://` URL with default options.
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
pub async fn connect(url: &str) -> Result<(WebSocket<ClientStream>, Response<()>), Error> {
    connect_with(url, ConnectOptions::default()).await
}

/// Connects to a `ws://host[:port]/path` or `wss://host[:port]/path` URL:
/// opens TCP (with `TCP_NODELAY`) and for `wss://` TLS over it (the `tls`
/// feature; roots from [`ConnectOptions::tls`], the platform's by
/// default), sends the upgrade request with a random key, offered
/// subprotocols, extensions and extra headers, and verifies the 101
/// response (accept key, extensions within our offer, a subprotocol we
/// offered or none). Returns the client WebSocket and the server's
/// response head; the chosen subprotocol is its `Sec-WebSocket-Protocol`
/// header.
///
/// # Errors
///
/// [`Error::Handshake`] for a bad URL (including `wss://` without the
/// `tls` feature) or a refused or malformed answer, [`Error::Io`] for
/// connection and TLS failures (an untrusted certificate among them),
/// [`Error::Timeout`] past [`ConnectOptions::timeout`].
pub async fn connect_with(
    url: &str,
    opts: ConnectOptions,
) -> Result<(WebSocket<ClientStream>, Response<()>), Error> {
    let uri: Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| HandshakeError::InvalidUrl(format!("{url}: {e}")))?;
    let security = match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("ws") => Security::Plain,
        Some(s) if s.eq_ignore_ascii_case("wss") && cfg!(feature = "tls") => Security::Tls,
        Some(s) => return Err(HandshakeError::UnsupportedScheme(s.to_owned()).into()),
        None => return Err(HandshakeError::InvalidUrl(format!("{url}: no scheme")).into()),
    };
    let host = uri
        .host()
        .ok_or_else(|| HandshakeError::InvalidUrl(format!("{url}: no host")))?;
    // `Uri::host` keeps the brackets of an IPv6 literal.
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(security.default_port());
    let timeout = opts.timeout;
    tokio::time::timeout(timeout, handshake(uri, host, port, security, opts))
        .await
        .map_err(|_| Error::Timeout)?
}

async fn handshake(
    uri: Uri,
    host: String,
    port: u16,
    security: Security,
    opts: ConnectOptions,
) -> Result<(WebSocket<ClientStream>, Response<()>), Error> {
    let protocols: Vec<&str> = opts.protocols.iter().map(String::as_str).collect();
    let (mut request, key) = handshake::client_request(&uri, &protocols, &opts.headers)?;
    handshake::offer_extensions(&opts.config, &mut request);
    let mut stream = oneport_net::connect(&host, port, security, opts.tls.as_ref()).await?;
    let mut head = BytesMut::with_capacity(256);
    oneport_http1::encode_request_head(&request, BodyLength::None, &mut head);
    stream.write_all(&head).await?;
    // Under TLS the records may wait in the session until flushed.
    stream.flush().await?;

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
