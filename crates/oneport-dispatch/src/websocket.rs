//! WebSocket dispatchers: one handler for RFC 6455 and hybi-00 clients.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, request::Parts};
use oneport_rfc6455::{CloseCode, CloseFrame, Config, Message, OriginPolicy, Role, Utf8Bytes};
use regex::Regex;
use tokio::net::TcpStream;
use tracing::debug;

use crate::dispatcher::{BoxFuture, Context, Dispatcher, Outcome, Request, Response, Upgrade};
use crate::error::{Error, Kind};

/// Which WebSocket protocol a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Version {
    /// RFC 6455 (`Sec-WebSocket-Version: 13`).
    Rfc6455,
    /// The hixie-76 / hybi-00 draft: text messages only.
    Hybi00,
}

enum Inner {
    Rfc6455(Box<oneport_rfc6455::WebSocket<TcpStream>>),
    Hybi00(Box<oneport_hybi00::WebSocket<TcpStream>>),
}

/// A server-side WebSocket, whichever protocol version the client spoke.
///
/// Handlers are written once against this type. What hybi-00 cannot carry
/// is explicit: [`send`](WebSocket::send) of a binary message or a ping on a
/// hybi-00 connection returns an error for which
/// [`Error::is_unsupported`] holds, a pong is a no-op, and a close code is
/// not transmitted. Check [`WebSocket::version`] or
/// [`WebSocket::supports_binary`] to adapt.
///
/// When the server shuts down, [`recv`](WebSocket::recv) closes the
/// connection (code 1001, "going away") and returns `None`.
pub struct WebSocket {
    inner: Inner,
    protocol: Option<String>,
    /// Completes when the server shuts down. Made once and polled by every
    /// `recv`, so that waiting on it costs a registration per connection
    /// rather than one per message.
    stop: BoxFuture<'static, ()>,
    closed: bool,
}

impl std::fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("version", &self.version())
            .field("protocol", &self.protocol)
            .finish()
    }
}

impl WebSocket {
    /// The protocol version in use.
    pub fn version(&self) -> Version {
        match self.inner {
            Inner::Rfc6455(_) => Version::Rfc6455,
            Inner::Hybi00(_) => Version::Hybi00,
        }
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// Whether binary messages (and pings) can be sent.
    pub fn supports_binary(&self) -> bool {
        self.version() == Version::Rfc6455
    }

    /// The next message: text or binary (and pings/pongs on RFC 6455).
    /// Pings are answered automatically. A close from the peer is answered
    /// and reported once as `Message::Close`; then `None`.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        if self.closed {
            return None;
        }
        let next = tokio::select! {
            // The message first: while data keeps arriving the stop signal
            // need not be polled at all.
            biased;
            m = recv_inner(&mut self.inner) => m,
            () = self.stop.as_mut() => {
                self.closed = true;
                let _ = self.close_inner(CloseCode::AWAY, "server shutting down").await;
                return None;
            }
        };
        if next.is_none() {
            self.closed = true;
        }
        next
    }

    /// Sends a message.
    ///
    /// # Errors
    ///
    /// On hybi-00, a binary message or a ping is [`Error::is_unsupported`];
    /// a pong is ignored and a close closes the connection. Socket failures
    /// and use after close are errors too.
    pub async fn send(&mut self, msg: Message) -> Result<(), Error> {
        match &mut self.inner {
            Inner::Rfc6455(ws) => ws.send(msg).await.map_err(ws_err),
            Inner::Hybi00(ws) => match msg {
                Message::Text(t) => ws.send_text(t.as_str()).await.map_err(ws_err),
                Message::Pong(_) => Ok(()),
                Message::Close(_) => ws.close().await.map_err(ws_err),
                Message::Binary(_) => Err(Error::new(Kind::Unsupported)),
                Message::Ping(_) => Err(Error::new(Kind::Unsupported)),
            },
        }
    }

    /// Sends a text message.
    ///
    /// # Errors
    ///
    /// As for [`send`](WebSocket::send).
    pub async fn send_text(&mut self, text: impl Into<String>) -> Result<(), Error> {
        self.send(Message::Text(Utf8Bytes::from(text.into()))).await
    }

    /// Closes the connection with a status code and reason (on hybi-00 the
    /// code and reason are not transmitted), waiting briefly for the peer's
    /// answer.
    ///
    /// # Errors
    ///
    /// Socket failures.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.closed = true;
        self.close_inner(code, reason).await
    }

    async fn close_inner(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        match &mut self.inner {
            Inner::Rfc6455(ws) => ws
                .close(Some(CloseFrame {
                    code,
                    reason: Utf8Bytes::from(reason.to_owned()),
                }))
                .await
                .map_err(ws_err),
            Inner::Hybi00(ws) => ws.close().await.map_err(ws_err),
        }
    }
}

async fn recv_inner(inner: &mut Inner) -> Option<Result<Message, Error>> {
    match inner {
        Inner::Rfc6455(ws) => ws.recv().await.map(|r| r.map_err(ws_err)),
        Inner::Hybi00(ws) => match ws.recv().await? {
            Ok(bytes) => Some(text_from_hybi00(bytes)),
            Err(e) => Some(Err(ws_err(e))),
        },
    }
}

fn text_from_hybi00(bytes: Bytes) -> Result<Message, Error> {
    // The hybi-00 decoder has validated the UTF-8 already; this checks again
    // (cheaply) rather than trusting across a crate boundary.
    Utf8Bytes::try_from(bytes)
        .map(Message::Text)
        .map_err(|e| Error::with(Kind::WebSocket, e))
}

fn ws_err(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::with(Kind::WebSocket, e)
}

/// The handler a WebSocket dispatcher runs for each accepted connection:
/// it gets the socket and the request head of the upgrade.
pub trait Handler: Send + Sync + 'static {
    /// Drives one connection to its end.
    fn call(&self, ws: WebSocket, req: Parts) -> BoxFuture<'static, ()>;
}

impl<F, Fut> Handler for F
where
    F: Fn(WebSocket, Parts) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    fn call(&self, ws: WebSocket, req: Parts) -> BoxFuture<'static, ()> {
        Box::pin(self(ws, req))
    }
}

/// Settings shared by the WebSocket dispatchers.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WsOptions {
    /// Which browser origins may open a socket (Cross-Site WebSocket
    /// Hijacking protection). A request without `Origin` (non-browser
    /// clients) always passes.
    ///
    /// Default is [`OriginPolicy::SameHost`]: the origin's host must be the
    /// request's own `Host`.
    pub origin: OriginPolicy,
    /// RFC 6455 limits and timeouts.
    ///
    /// Default is [`Config::default()`].
    pub config: Config,
    /// hybi-00 limits and timeouts.
    ///
    /// Default is `oneport_hybi00::Config::default()`.
    pub hybi00: oneport_hybi00::Config,
    /// Whether hybi-00 clients are served.
    ///
    /// Default is `true`.
    pub allow_hybi00: bool,
}

impl Default for WsOptions {
    fn default() -> Self {
        Self {
            origin: OriginPolicy::SameHost,
            config: Config::default(),
            hybi00: oneport_hybi00::Config::default(),
            allow_hybi00: true,
        }
    }
}

impl WsOptions {
    /// Sets the origin policy.
    pub fn origin(mut self, policy: OriginPolicy) -> Self {
        self.origin = policy;
        self
    }

    /// Sets the RFC 6455 configuration.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Sets the hybi-00 configuration.
    pub fn hybi00(mut self, config: oneport_hybi00::Config) -> Self {
        self.hybi00 = config;
        self
    }

    /// Serves (or refuses) hybi-00 clients.
    pub fn allow_hybi00(mut self, allow: bool) -> Self {
        self.allow_hybi00 = allow;
        self
    }
}

/// The general WebSocket dispatcher: every WebSocket upgrade offered to it
/// runs `handler`; other requests are declined.
///
/// Like Racket's `make-general-websockets-dispatcher`, it speaks both RFC
/// 6455 and hybi-00 and gives the same handler the same [`WebSocket`] API.
/// A malformed upgrade gets its HTTP answer (400, 426 with
/// `Sec-WebSocket-Version: 13`, or 403 for a foreign `Origin`).
///
/// # Examples
///
/// ```
/// use oneport_dispatch::{filter, websocket, WebSocket};
///
/// let echo = filter("^/ws$", websocket(|mut ws: WebSocket, _req| async move {
///     while let Some(Ok(msg)) = ws.recv().await {
///         if msg.is_data() && ws.send(msg).await.is_err() {
///             break;
///         }
///     }
/// }));
/// # let _ = echo;
/// ```
pub fn websocket<H: Handler>(handler: H) -> WebSocketDispatcher {
    WebSocketDispatcher {
        handler: Arc::new(handler),
        options: WsOptions::default(),
    }
}

/// The dispatcher returned by [`websocket`].
#[derive(Clone)]
pub struct WebSocketDispatcher {
    handler: Arc<dyn Handler>,
    options: WsOptions,
}

impl std::fmt::Debug for WebSocketDispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketDispatcher")
            .field("options", &self.options)
            .finish()
    }
}

impl WebSocketDispatcher {
    /// Replaces the options.
    pub fn options(mut self, options: WsOptions) -> Self {
        self.options = options;
        self
    }

    /// Sets the origin policy.
    pub fn origin(mut self, policy: OriginPolicy) -> Self {
        self.options.origin = policy;
        self
    }
}

impl Dispatcher for WebSocketDispatcher {
    fn may_accept(&self, req: &Request) -> bool {
        is_websocket_request(req)
    }

    fn dispatch<'a>(&'a self, req: Request, _cx: &'a Context) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            if !is_websocket_request(&req) {
                return Outcome::Declined(req);
            }
            upgrade(req, &self.options, |_offered| {
                Ok((None, self.handler.clone()))
            })
        })
    }
}

/// Whether a request asks for a WebSocket of either version.
pub fn is_websocket_request<B>(req: &http::Request<B>) -> bool {
    oneport_rfc6455::is_upgrade_request(req) || oneport_hybi00::is_hybi00_request(req)
}

/// The same request without its body (the wire crates take `Request<()>`).
fn head_only<B>(req: &http::Request<B>) -> http::Request<()> {
    let mut r = http::Request::new(());
    *r.method_mut() = req.method().clone();
    *r.uri_mut() = req.uri().clone();
    *r.version_mut() = req.version();
    *r.headers_mut() = req.headers().clone();
    r
}

/// What choosing a handler gives: the subprotocol to answer with and the
/// handler, or the response that refuses the upgrade (boxed: it is the
/// rare path and `Response` is large).
type Choice = Result<(Option<String>, Arc<dyn Handler>), Box<Response>>;

/// Validates the upgrade, picks a subprotocol and handler with `choose`
/// (given the client's offer in its order), and returns the takeover that
/// answers the handshake and runs the handler.
///
/// A refused upgrade closes the connection after its answer: the client
/// meant to leave HTTP, so the rest of its stream is not trusted as HTTP.
fn upgrade<C>(req: Request, options: &WsOptions, choose: C) -> Outcome
where
    C: FnOnce(&[String]) -> Choice,
{
    match try_upgrade(req, options, choose) {
        Outcome::Response(mut res) => {
            res.headers_mut()
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
            Outcome::Response(res)
        }
        other => other,
    }
}

fn try_upgrade<C>(req: Request, options: &WsOptions, choose: C) -> Outcome
where
    C: FnOnce(&[String]) -> Choice,
{
    let head = head_only(&req);
    if req.method() != Method::GET {
        return Outcome::Response(crate::text_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "a WebSocket handshake must use GET\n",
        ));
    }
    if oneport_hybi00::is_hybi00_request(&head) {
        if !options.allow_hybi00 {
            return Outcome::Response(version_required());
        }
        if let Err(e) = oneport_rfc6455::check_origin(&head, &options.origin) {
            return Outcome::Response(into_body(e.to_response()));
        }
        let offered: Vec<String> = head
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok())
            .map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let (protocol, handler) = match choose(&offered) {
            Ok(p) => p,
            Err(res) => return Outcome::Response(*res),
        };
        let config = options.hybi00.clone();
        let (parts, _body) = req.into_parts();
        return Outcome::Upgrade(Upgrade::new(move |up| async move {
            let accepted = oneport_hybi00::accept(
                up.io,
                &head,
                up.leftover,
                false,
                protocol.as_deref(),
                config,
            )
            .await;
            drop(head);
            match accepted {
                Ok(ws) => {
                    let ws = WebSocket {
                        inner: Inner::Hybi00(Box::new(ws)),
                        protocol,
                        stop: up.shutdown.waiter(),
                        closed: false,
                    };
                    handler.call(ws, parts).await;
                }
                Err(e) => debug!(error = %e, "hybi-00 handshake failed"),
            }
        }));
    }
    let checked = match oneport_rfc6455::check_request(&head, &options.origin) {
        Ok(c) => c,
        Err(e) => return Outcome::Response(into_body(e.to_response())),
    };
    let (protocol, handler) = match choose(&checked.protocols) {
        Ok(p) => p,
        Err(res) => return Outcome::Response(*res),
    };
    let config = options.config.clone();
    let (parts, _body) = req.into_parts();
    Outcome::Upgrade(Upgrade::new(move |up| async move {
        let mut io = up.io;
        // The handshake's buffers are freed before the handler runs: this
        // future lives as long as the WebSocket, idle or not.
        let written = {
            let out = switching_protocols(&checked.key, protocol.as_deref());
            drop(checked);
            tokio::io::AsyncWriteExt::write_all(&mut io, &out).await
        };
        if let Err(e) = written {
            debug!(error = %e, "writing the 101 response failed");
            return;
        }
        let ws = oneport_rfc6455::WebSocket::from_raw_socket(io, Role::Server, config, up.leftover);
        let ws = WebSocket {
            inner: Inner::Rfc6455(Box::new(ws)),
            protocol,
            stop: up.shutdown.waiter(),
            closed: false,
        };
        handler.call(ws, parts).await;
    }))
}

/// The encoded `101 Switching Protocols` answer for `key`.
fn switching_protocols(key: &str, protocol: Option<&str>) -> bytes::BytesMut {
    let (parts, ()) = oneport_rfc6455::response(key, protocol).into_parts();
    let mut out = bytes::BytesMut::new();
    oneport_http1::encode_response_head(
        &parts,
        oneport_http1::BodyLength::None,
        true,
        http::Version::HTTP_11,
        &mut out,
    );
    out
}

fn into_body(res: http::Response<()>) -> Response {
    let (parts, ()) = res.into_parts();
    let msg = format!(
        "{}\n",
        parts
            .status
            .canonical_reason()
            .unwrap_or("bad WebSocket request")
    );
    http::Response::from_parts(parts, msg.into())
}

fn version_required() -> Response {
    let mut res = crate::text_response(
        StatusCode::UPGRADE_REQUIRED,
        "this endpoint speaks WebSocket version 13 only\n",
    );
    res.headers_mut()
        .insert("sec-websocket-version", HeaderValue::from_static("13"));
    res
}

/// Which subprotocol a [`ServiceMapper`] route answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subprotocol {
    /// The client sent no `Sec-WebSocket-Protocol` header.
    None,
    /// The client offered this subprotocol (compared exactly).
    Named(String),
}

struct Route {
    path: Regex,
    arms: Vec<(Subprotocol, Arc<dyn Handler>)>,
}

/// Routes WebSocket upgrades by URL path and subprotocol, like Racket's
/// `ws-service-mapper`.
///
/// - The path regex must match the whole path (the query is ignored); the
///   first route whose regex matches is used. Requests matching no route,
///   and requests that are not WebSocket upgrades, are declined.
/// - The client's offered subprotocols are tried in the client's order
///   against the route's named arms; the first match is accepted and echoed
///   in `Sec-WebSocket-Protocol`. The [`Subprotocol::None`] arm serves
///   clients that offer no subprotocol at all.
/// - A client that offers subprotocols none of which the route serves, or
///   offers none when the route has no `None` arm, gets `400 Bad Request`
///   naming what is supported (Racket does not fall back to the "no
///   header" arm either).
///
/// # Examples
///
/// ```
/// use oneport_dispatch::{ServiceMapper, Subprotocol, WebSocket};
///
/// let mapper = ServiceMapper::new()
///     .route("/chat", Subprotocol::Named("chat.v1".into()), |ws: WebSocket, _req| async move {
///         let _ = ws;
///     })
///     .route("/chat", Subprotocol::None, |ws: WebSocket, _req| async move {
///         let _ = ws;
///     });
/// # let _ = mapper;
/// ```
#[derive(Default)]
pub struct ServiceMapper {
    routes: Vec<Route>,
    options: WsOptions,
}

impl std::fmt::Debug for ServiceMapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceMapper")
            .field("routes", &self.routes.len())
            .field("options", &self.options)
            .finish()
    }
}

/// Starts a [`ServiceMapper`].
pub fn service_mapper() -> ServiceMapper {
    ServiceMapper::new()
}

impl ServiceMapper {
    /// An empty mapper.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a handler for `path` (a regex matched against the whole path)
    /// and `protocol`. Arms for the same path pattern share one route.
    ///
    /// # Panics
    ///
    /// Panics if `path` is not a valid regular expression; use
    /// [`ServiceMapper::try_route`] to handle that.
    #[allow(clippy::panic)] // documented: a bad pattern is a bug in the program
    pub fn route(self, path: &str, protocol: Subprotocol, handler: impl Handler) -> Self {
        match self.try_route(path, protocol, handler) {
            Ok(m) => m,
            Err(e) => panic!("invalid route pattern {path:?}: {e}"),
        }
    }

    /// Like [`route`](ServiceMapper::route), reporting a bad pattern.
    ///
    /// # Errors
    ///
    /// The regex crate's error when `path` does not compile.
    pub fn try_route(
        mut self,
        path: &str,
        protocol: Subprotocol,
        handler: impl Handler,
    ) -> Result<Self, regex::Error> {
        let anchored = format!("^(?:{path})$");
        let handler: Arc<dyn Handler> = Arc::new(handler);
        if let Some(r) = self.routes.iter_mut().find(|r| r.path.as_str() == anchored) {
            r.arms.push((protocol, handler));
        } else {
            self.routes.push(Route {
                path: Regex::new(&anchored)?,
                arms: vec![(protocol, handler)],
            });
        }
        Ok(self)
    }

    /// Replaces the options (origin policy, limits).
    pub fn options(mut self, options: WsOptions) -> Self {
        self.options = options;
        self
    }
}

impl Dispatcher for ServiceMapper {
    fn may_accept(&self, req: &Request) -> bool {
        is_websocket_request(req)
            && self
                .routes
                .iter()
                .any(|r| r.path.is_match(req.uri().path()))
    }

    fn dispatch<'a>(&'a self, req: Request, _cx: &'a Context) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            if !is_websocket_request(&req) {
                return Outcome::Declined(req);
            }
            let Some(route) = self
                .routes
                .iter()
                .find(|r| r.path.is_match(req.uri().path()))
            else {
                return Outcome::Declined(req);
            };
            upgrade(req, &self.options, |offered| route.choose(offered))
        })
    }
}

impl Route {
    /// Picks the arm for the client's offer (in the client's order).
    fn choose(&self, offered: &[String]) -> Choice {
        if offered.is_empty() {
            return match self.arms.iter().find(|(p, _)| *p == Subprotocol::None) {
                Some((_, h)) => Ok((None, h.clone())),
                None => Err(Box::new(protocol_refused(self, offered))),
            };
        }
        for want in offered {
            let arm = self
                .arms
                .iter()
                .find(|(p, _)| matches!(p, Subprotocol::Named(n) if n == want));
            if let Some((_, h)) = arm {
                return Ok((Some(want.clone()), h.clone()));
            }
        }
        Err(Box::new(protocol_refused(self, offered)))
    }
}

fn protocol_refused(route: &Route, offered: &[String]) -> Response {
    let supported: Vec<&str> = route
        .arms
        .iter()
        .map(|(p, _)| match p {
            Subprotocol::None => "(none)",
            Subprotocol::Named(n) => n.as_str(),
        })
        .collect();
    crate::text_response(
        StatusCode::BAD_REQUEST,
        format!(
            "no handler for the offered subprotocols [{}]; this endpoint serves: {}\n",
            offered.join(", "),
            supported.join(", ")
        ),
    )
}
