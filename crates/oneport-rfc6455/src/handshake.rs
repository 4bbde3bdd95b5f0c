//! The opening handshake (RFC 6455 §4): checking a client's upgrade request
//! and building the 101 answer on the server; building the request and
//! verifying the answer on the client. Pure functions over `http` types.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri, Version};
use sha1::{Digest, Sha1};

use crate::config::Config;
use crate::deflate::{DeflateAnswerError, DeflateParams, PERMESSAGE_DEFLATE};
use crate::extension::{Extension, format_extensions, parse_extensions};

/// The GUID appended to the client's key to derive `Sec-WebSocket-Accept`
/// (§1.3).
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The only protocol version this crate speaks.
pub const VERSION: &str = "13";

/// Computes `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`:
/// base64(SHA-1(key ++ GUID)).
///
/// ```
/// // The worked example of RFC 6455 §1.3.
/// assert_eq!(
///     oneport_rfc6455::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
///     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
/// );
/// ```
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    BASE64.encode(sha.finalize())
}

/// Which browser origins may open a WebSocket. Requests without an `Origin`
/// header (non-browser clients) always pass: the check protects against
/// cross-site WebSocket hijacking, which needs a browser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OriginPolicy {
    /// The origin's `host[:port]` must equal the `Host` header (ASCII
    /// case-insensitively; a default port on either side is ignored).
    #[default]
    SameHost,
    /// The origin must equal one of these exactly, such as
    /// `"https://a.example"` (ASCII case-insensitively).
    AllowList(Vec<String>),
    /// Any origin (no protection).
    Any,
}

/// What a valid upgrade request asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UpgradeRequest {
    /// The `Sec-WebSocket-Key`, to pass to [`response`].
    pub key: String,
    /// The subprotocols offered in `Sec-WebSocket-Protocol`, in the
    /// client's order of preference.
    pub protocols: Vec<String>,
    /// The extensions offered in `Sec-WebSocket-Extensions`, in order (see
    /// [`negotiate`]).
    pub extensions: Vec<Extension>,
}

/// Why a handshake failed. On the server, [`status`](HandshakeError::status)
/// and [`to_response`](HandshakeError::to_response) give the HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The request method is not GET (400).
    #[error("the upgrade request method must be GET")]
    MethodNotGet,
    /// The request is not HTTP/1.1 (400).
    #[error("the upgrade request must be HTTP/1.1")]
    NotHttp11,
    /// The `Host` header is missing (400).
    #[error("missing Host header")]
    MissingHost,
    /// `Upgrade` does not list `websocket` (400).
    #[error("the Upgrade header does not list websocket")]
    NoUpgradeWebsocket,
    /// `Connection` does not list `upgrade` (400).
    #[error("the Connection header does not list upgrade")]
    NoConnectionUpgrade,
    /// `Sec-WebSocket-Key` is missing, repeated or not base64 of 16 bytes
    /// (400).
    #[error("missing or invalid Sec-WebSocket-Key")]
    InvalidKey,
    /// `Sec-WebSocket-Version` is missing or not 13 (426, with
    /// `Sec-WebSocket-Version: 13`).
    #[error("unsupported WebSocket version (only 13 is supported)")]
    UnsupportedVersion,
    /// The `Origin` is not allowed by the [`OriginPolicy`] (403).
    #[error("origin not allowed")]
    OriginNotAllowed,
    /// A header value is malformed (400).
    #[error("malformed {0} header")]
    InvalidHeader(&'static str),
    /// The HTTP head could not be parsed (400).
    #[error("malformed HTTP head: {0}")]
    Malformed(String),
    /// The HTTP head has too many fields or is too long (431).
    #[error("HTTP head too large")]
    HeadTooLarge,
    /// Client: the URL is not a valid `ws://` or `wss://` URL.
    #[error("invalid WebSocket URL: {0}")]
    InvalidUrl(String),
    /// Client: the URL scheme is not supported (`ws`, and `wss` with the
    /// `tls` feature).
    #[error("unsupported URL scheme {0:?}")]
    UnsupportedScheme(String),
    /// Client: the server answered with a status other than 101.
    #[error("server answered {0} instead of 101 Switching Protocols")]
    UnexpectedStatus(StatusCode),
    /// Client: `Sec-WebSocket-Accept` is missing or wrong.
    #[error("wrong Sec-WebSocket-Accept")]
    AcceptMismatch,
    /// Client: the server chose a subprotocol we did not offer.
    #[error("server chose subprotocol {0:?}, which was not offered")]
    UnexpectedProtocol(String),
    /// Client: the server enabled an extension we did not offer.
    #[error("server enabled an extension that was not offered")]
    UnexpectedExtension,
    /// Client: the server's permessage-deflate answer cannot be taken.
    #[error("bad permessage-deflate answer: {0}")]
    BadDeflateAnswer(DeflateAnswerError),
}

impl HandshakeError {
    /// The HTTP status a server answers with: 426 for a version mismatch,
    /// 403 for a refused origin, 431 for an oversized head, otherwise 400.
    pub fn status(&self) -> StatusCode {
        match self {
            HandshakeError::UnsupportedVersion => StatusCode::UPGRADE_REQUIRED,
            HandshakeError::OriginNotAllowed => StatusCode::FORBIDDEN,
            HandshakeError::HeadTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The error response head (empty body): [`status`](Self::status), plus
    /// `Sec-WebSocket-Version: 13` on a 426 (§4.4).
    pub fn to_response(&self) -> Response<()> {
        let mut res = Response::new(());
        *res.status_mut() = self.status();
        if matches!(self, HandshakeError::UnsupportedVersion) {
            res.headers_mut().insert(
                header::SEC_WEBSOCKET_VERSION,
                HeaderValue::from_static(VERSION),
            );
        }
        res
    }
}

/// Iterates the comma-separated tokens of every `name` header, trimmed.
fn tokens<'a>(headers: &'a HeaderMap, name: &HeaderName) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    tokens(headers, name).any(|t| t.eq_ignore_ascii_case(token))
}

/// The value of a header that must appear exactly once.
fn single<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a HeaderValue> {
    let mut all = headers.get_all(name).iter();
    let first = all.next()?;
    if all.next().is_some() {
        None
    } else {
        Some(first)
    }
}

/// Quick test for dispatchers: whether the request's `Upgrade` header lists
/// `websocket`. Says nothing about the rest of the handshake.
pub fn is_upgrade_request<B>(req: &Request<B>) -> bool {
    has_token(req.headers(), &header::UPGRADE, "websocket")
}

/// Validates a server-side upgrade request (§4.2.1): GET, HTTP/1.1, `Host`
/// present, `Upgrade` listing `websocket` and `Connection` listing
/// `upgrade` (case-insensitively), `Sec-WebSocket-Key` the base64 of 16
/// bytes, `Sec-WebSocket-Version: 13`, and the `Origin` allowed by
/// `origin`. Extensions offered are ignored (none is supported).
///
/// ```
/// use oneport_rfc6455::{OriginPolicy, check_request, response};
///
/// let req = http::Request::get("/chat")
///     .header("Host", "server.example.com")
///     .header("Upgrade", "websocket")
///     .header("Connection", "Upgrade")
///     .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
///     .header("Origin", "http://server.example.com")
///     .header("Sec-WebSocket-Protocol", "chat, superchat")
///     .header("Sec-WebSocket-Version", "13")
///     .body(())?;
/// let up = check_request(&req, &OriginPolicy::SameHost)?;
/// assert_eq!(up.protocols, ["chat", "superchat"]);
/// let res = response(&up.key, Some("chat"));
/// assert_eq!(res.status(), 101);
/// assert_eq!(res.headers()["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// The first [`HandshakeError`] found; answer it with
/// [`HandshakeError::to_response`] (400, 403 or 426).
pub fn check_request(
    req: &Request<()>,
    origin: &OriginPolicy,
) -> Result<UpgradeRequest, HandshakeError> {
    if req.method() != Method::GET {
        return Err(HandshakeError::MethodNotGet);
    }
    if req.version() != Version::HTTP_11 {
        return Err(HandshakeError::NotHttp11);
    }
    let headers = req.headers();
    if single(headers, &header::HOST).is_none() {
        return Err(HandshakeError::MissingHost);
    }
    if !has_token(headers, &header::UPGRADE, "websocket") {
        return Err(HandshakeError::NoUpgradeWebsocket);
    }
    if !has_token(headers, &header::CONNECTION, "upgrade") {
        return Err(HandshakeError::NoConnectionUpgrade);
    }
    match single(headers, &header::SEC_WEBSOCKET_VERSION) {
        Some(v) if v.as_bytes().trim_ascii() == VERSION.as_bytes() => {}
        _ => return Err(HandshakeError::UnsupportedVersion),
    }
    let key = single(headers, &header::SEC_WEBSOCKET_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .ok_or(HandshakeError::InvalidKey)?;
    match BASE64.decode(key) {
        Ok(raw) if raw.len() == 16 => {}
        _ => return Err(HandshakeError::InvalidKey),
    }
    check_origin(req, origin)?;
    let protocols = tokens(headers, &header::SEC_WEBSOCKET_PROTOCOL)
        .map(str::to_owned)
        .collect();
    let extensions = parse_extensions(headers)
        .map_err(|_| HandshakeError::InvalidHeader("Sec-WebSocket-Extensions"))?;
    Ok(UpgradeRequest {
        key: key.to_owned(),
        protocols,
        extensions,
    })
}

/// Server: accepts the extensions `config` enables from what the client
/// offered, adding the answer (`Sec-WebSocket-Extensions`) to `res`, the
/// 101 from [`response`]. Returns the permessage-deflate parameters to
/// build the connection with ([`Connection::with_deflate`]), or `None`
/// when [`Config::deflate`] is off or no offer can be honoured whole.
///
/// ```
/// use http::Request;
/// use oneport_rfc6455::deflate::DeflateConfig;
/// use oneport_rfc6455::handshake::{check_request, negotiate, response};
/// use oneport_rfc6455::{Config, OriginPolicy};
///
/// let req = Request::get("/chat")
///     .header("host", "example.com")
///     .header("upgrade", "websocket")
///     .header("connection", "Upgrade")
///     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
///     .header("sec-websocket-version", "13")
///     .header("sec-websocket-extensions", "permessage-deflate; client_max_window_bits")
///     .body(())?;
/// let up = check_request(&req, &OriginPolicy::SameHost)?;
/// let mut res = response(&up.key, None);
/// let config = Config::default().deflate(Some(DeflateConfig::default()));
/// let agreed = negotiate(&up, &config, &mut res);
/// assert!(agreed.is_some());
/// assert_eq!(
///     res.headers()["sec-websocket-extensions"],
///     "permessage-deflate; server_no_context_takeover"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`Connection::with_deflate`]: crate::Connection::with_deflate
pub fn negotiate(
    req: &UpgradeRequest,
    config: &Config,
    res: &mut Response<()>,
) -> Option<DeflateParams> {
    let (params, answer) = config.deflate?.accept(&req.extensions)?;
    let value = HeaderValue::from_str(&format_extensions(&[answer])).ok()?;
    res.headers_mut()
        .insert(header::SEC_WEBSOCKET_EXTENSIONS, value);
    Some(params)
}

/// Checks only the `Origin` header against `policy` (also useful for the
/// hybi-00 handshake). A request without `Origin` passes.
///
/// # Errors
///
/// [`HandshakeError::OriginNotAllowed`] (403) when the origin is refused,
/// including a repeated or non-ASCII `Origin`.
pub fn check_origin(req: &Request<()>, policy: &OriginPolicy) -> Result<(), HandshakeError> {
    let headers = req.headers();
    let mut all = headers.get_all(header::ORIGIN).iter();
    let Some(value) = all.next() else {
        return Ok(());
    };
    if matches!(policy, OriginPolicy::Any) {
        return Ok(());
    }
    if all.next().is_some() {
        return Err(HandshakeError::OriginNotAllowed);
    }
    let origin = value
        .to_str()
        .map_err(|_| HandshakeError::OriginNotAllowed)?
        .trim();
    let allowed = match policy {
        OriginPolicy::Any => true,
        OriginPolicy::AllowList(list) => list.iter().any(|o| o.eq_ignore_ascii_case(origin)),
        OriginPolicy::SameHost => {
            let host = single(headers, &header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::trim);
            host.is_some_and(|host| same_host(origin, host))
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(HandshakeError::OriginNotAllowed)
    }
}

/// Whether `origin` (`scheme://host[:port]`) names the same authority as a
/// `Host` header value, ignoring the scheme's default port.
fn same_host(origin: &str, host: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false; // "null" and other opaque origins
    };
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return false;
    }
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => ":80",
        "https" | "wss" => ":443",
        _ => "",
    };
    strip_port(authority, default_port).eq_ignore_ascii_case(strip_port(host, default_port))
}

/// `authority` without `default_port` (such as `":443"`) at its end.
fn strip_port<'a>(authority: &'a str, default_port: &str) -> &'a str {
    match authority.strip_suffix(default_port) {
        Some(rest) if !default_port.is_empty() && !rest.is_empty() => rest,
        _ => authority,
    }
}

/// The 101 Switching Protocols response head for a checked request
/// (§4.2.2): `Upgrade: websocket`, `Connection: Upgrade`,
/// `Sec-WebSocket-Accept`, and `Sec-WebSocket-Protocol` when `protocol` is
/// chosen (it should be one the client offered; see [`select_protocol`]).
/// A `protocol` that is not a valid header value is left out.
pub fn response(key: &str, protocol: Option<&str>) -> Response<()> {
    let mut res = Response::new(());
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = res.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&accept_key(key.as_bytes())) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    if let Some(Ok(p)) = protocol.map(HeaderValue::from_str) {
        headers.insert(header::SEC_WEBSOCKET_PROTOCOL, p);
    }
    res
}

/// Picks the subprotocol to answer with: the first of the client's
/// `offered` protocols (in the client's order of preference) that the
/// server `supported`s, compared exactly.
///
/// ```
/// use oneport_rfc6455::select_protocol;
///
/// let offered = vec!["v2.chat".to_owned(), "v1.chat".to_owned()];
/// assert_eq!(select_protocol(&offered, &["v1.chat", "v2.chat"]), Some("v2.chat"));
/// assert_eq!(select_protocol(&offered, &["mqtt"]), None);
/// ```
pub fn select_protocol<'a>(offered: &'a [String], supported: &[&str]) -> Option<&'a str> {
    offered
        .iter()
        .map(String::as_str)
        .find(|p| supported.contains(p))
}

/// Handshake headers the client sets itself; extra headers with these names
/// are ignored by [`client_request`].
const CLIENT_OWNED: [HeaderName; 5] = [
    header::UPGRADE,
    header::CONNECTION,
    header::SEC_WEBSOCKET_KEY,
    header::SEC_WEBSOCKET_VERSION,
    header::SEC_WEBSOCKET_PROTOCOL,
];

/// Whether `s` is an HTTP token (RFC 9110 §5.6.2), as subprotocol names
/// must be.
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(crate::extension::is_tchar)
}

/// Builds a client's upgrade request for `uri` (`ws://host[:port]/path`;
/// `wss`, `http` and `https` are accepted too) with a fresh random key,
/// returning the request (its URI in origin form, `/path?query`, as sent on
/// the wire) and the key to pass to [`verify_response`].
///
/// `protocols` are offered in order in `Sec-WebSocket-Protocol`. `extra`
/// headers (such as `Origin`, `Authorization` or `Cookie`) are appended,
/// except those the handshake sets itself (`Upgrade`, `Connection`,
/// `Sec-WebSocket-Key`, `-Version`, `-Protocol`); an extra `Host` replaces
/// the one derived from the URI.
///
/// # Errors
///
/// [`HandshakeError::InvalidUrl`], [`HandshakeError::UnsupportedScheme`],
/// or [`HandshakeError::InvalidHeader`] for a protocol that is not a token.
pub fn client_request(
    uri: &Uri,
    protocols: &[&str],
    extra: &HeaderMap,
) -> Result<(Request<()>, String), HandshakeError> {
    match uri.scheme_str() {
        Some(s)
            if ["ws", "wss", "http", "https"]
                .iter()
                .any(|k| s.eq_ignore_ascii_case(k)) => {}
        Some(s) => return Err(HandshakeError::UnsupportedScheme(s.to_owned())),
        None => return Err(HandshakeError::InvalidUrl(format!("{uri}: no scheme"))),
    }
    let authority = uri
        .authority()
        .ok_or_else(|| HandshakeError::InvalidUrl(format!("{uri}: no host")))?;
    if authority.as_str().contains('@') {
        return Err(HandshakeError::InvalidUrl(format!(
            "{uri}: user info is not supported"
        )));
    }
    let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let target = if target.is_empty() { "/" } else { target };
    let key = BASE64.encode(rand::random::<[u8; 16]>());

    let mut req = Request::new(());
    *req.method_mut() = Method::GET;
    *req.version_mut() = Version::HTTP_11;
    *req.uri_mut() = target
        .parse()
        .map_err(|e: http::uri::InvalidUri| HandshakeError::InvalidUrl(e.to_string()))?;
    let headers = req.headers_mut();
    let host = HeaderValue::from_str(authority.as_str())
        .map_err(|_| HandshakeError::InvalidHeader("Host"))?;
    headers.insert(header::HOST, host);
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    let key_value = HeaderValue::from_str(&key).map_err(|_| HandshakeError::InvalidKey)?;
    headers.insert(header::SEC_WEBSOCKET_KEY, key_value);
    headers.insert(
        header::SEC_WEBSOCKET_VERSION,
        HeaderValue::from_static(VERSION),
    );
    if !protocols.is_empty() {
        if !protocols.iter().all(|p| is_token(p)) {
            return Err(HandshakeError::InvalidHeader("Sec-WebSocket-Protocol"));
        }
        let joined = HeaderValue::from_str(&protocols.join(", "))
            .map_err(|_| HandshakeError::InvalidHeader("Sec-WebSocket-Protocol"))?;
        headers.insert(header::SEC_WEBSOCKET_PROTOCOL, joined);
    }
    if extra.contains_key(header::HOST) {
        headers.remove(header::HOST);
    }
    for (name, value) in extra {
        if !CLIENT_OWNED.contains(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    Ok((req, key))
}

/// Client: adds the extension offer `config` makes (permessage-deflate,
/// when [`Config::deflate`] is set) to a request from [`client_request`].
pub fn offer_extensions(config: &Config, req: &mut Request<()>) {
    let Some(deflate) = config.deflate else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&format_extensions(&[deflate.offer()])) {
        req.headers_mut()
            .insert(header::SEC_WEBSOCKET_EXTENSIONS, value);
    }
}

/// Verifies the server's answer to a request built by [`client_request`]
/// (§4.1): status 101, `Upgrade: websocket`, `Connection: upgrade`, the
/// right `Sec-WebSocket-Accept`, no extension, and at most one subprotocol,
/// one we offered. Returns the chosen subprotocol, if any.
///
/// # Errors
///
/// The first [`HandshakeError`] found; the client must then drop the
/// connection.
pub fn verify_response(
    resp: &Response<()>,
    key: &str,
    protocols: &[&str],
) -> Result<Option<String>, HandshakeError> {
    verify_response_with(resp, key, protocols, &Config::default()).map(|(p, _)| p)
}

/// [`verify_response`] for a request that [`offer_extensions`] gave
/// `config`'s offer: the server may enable permessage-deflate within that
/// offer and nothing else. Returns the chosen subprotocol and the
/// permessage-deflate parameters for [`Connection::with_deflate`].
///
/// # Errors
///
/// As for [`verify_response`], with [`HandshakeError::BadDeflateAnswer`]
/// for an answer that breaks the offer.
///
/// [`Connection::with_deflate`]: crate::Connection::with_deflate
pub fn verify_response_with(
    resp: &Response<()>,
    key: &str,
    protocols: &[&str],
    config: &Config,
) -> Result<(Option<String>, Option<DeflateParams>), HandshakeError> {
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        return Err(HandshakeError::UnexpectedStatus(resp.status()));
    }
    let headers = resp.headers();
    if !has_token(headers, &header::UPGRADE, "websocket") {
        return Err(HandshakeError::NoUpgradeWebsocket);
    }
    if !has_token(headers, &header::CONNECTION, "upgrade") {
        return Err(HandshakeError::NoConnectionUpgrade);
    }
    let accept = single(headers, &header::SEC_WEBSOCKET_ACCEPT)
        .map(|v| v.as_bytes().trim_ascii())
        .ok_or(HandshakeError::AcceptMismatch)?;
    if accept != accept_key(key.as_bytes()).as_bytes() {
        return Err(HandshakeError::AcceptMismatch);
    }
    let answer = parse_extensions(headers)
        .map_err(|_| HandshakeError::InvalidHeader("Sec-WebSocket-Extensions"))?;
    let deflate = match config.deflate {
        _ if answer.is_empty() => None,
        Some(offered) => {
            if answer
                .iter()
                .any(|e| !e.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE))
            {
                return Err(HandshakeError::UnexpectedExtension);
            }
            offered
                .check_answer(&answer)
                .map_err(HandshakeError::BadDeflateAnswer)?
        }
        None => return Err(HandshakeError::UnexpectedExtension),
    };
    let mut chosen = headers.get_all(header::SEC_WEBSOCKET_PROTOCOL).iter();
    let Some(first) = chosen.next() else {
        return Ok((None, deflate));
    };
    let name = first
        .to_str()
        .map_err(|_| HandshakeError::InvalidHeader("Sec-WebSocket-Protocol"))?
        .trim();
    if chosen.next().is_some() || !protocols.contains(&name) {
        return Err(HandshakeError::UnexpectedProtocol(name.to_owned()));
    }
    Ok((Some(name.to_owned()), deflate))
}
