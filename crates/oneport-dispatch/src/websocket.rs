//! WebSocket dispatchers: one handler for RFC 6455 and hybi-00 clients.
//!
//! - `socket`: the [`WebSocket`] a handler holds, its split halves and its
//!   lifecycle;
//! - `upgrade`: checking an upgrade request and answering it;
//! - `mapper`: the [`ServiceMapper`], which routes by path and subprotocol.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, OnceLock};

use http::HeaderMap;
use http::request::Parts;
use oneport_rfc6455::deflate::DeflateConfig;
use oneport_rfc6455::{Config, OriginPolicy};

use crate::dispatcher::{BoxFuture, Context, Dispatched, Dispatcher, Outcome, Request, Response};

mod mapper;
mod socket;
mod upgrade;

pub use mapper::{ServiceMapper, Subprotocol, service_mapper};
pub use socket::{MessageStream, Prepared, Transport, WebSocket, WsReceiver, WsSender, WsVersion};

/// The handler a WebSocket dispatcher runs for each accepted connection:
/// it gets the socket and the head of the upgrade request (Racket's
/// connection and request state).
///
/// When the handler's future ends, the socket it was given is closed
/// cleanly (see [`WebSocket`]); a handler that handed halves of a
/// [`split`](WebSocket::split) to other tasks keeps the connection open
/// until those halves are dropped too.
pub trait Handler: Send + Sync + 'static {
    /// Drives one connection.
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

/// Looks at a WebSocket upgrade request before it is accepted, after the
/// handshake itself was found valid. It may add headers to the `101`
/// answer (a `Set-Cookie`, say) by inserting them into `headers`, or refuse
/// the upgrade with any response (`401` for a missing session, say); a
/// refused upgrade's connection is closed after the answer.
///
/// Any `Fn(&Request, &mut HeaderMap) -> Result<(), Response>` is one. It
/// runs synchronously in the dispatcher; for a check that must wait (a
/// session store), put a dispatcher of your own in front that answers or
/// declines.
///
/// # Examples
///
/// ```
/// use http::{HeaderMap, HeaderValue, StatusCode};
/// use oneport_dispatch::{Request, Response, WsOptions, text_response};
///
/// fn session(req: &Request, headers: &mut HeaderMap) -> Result<(), Response> {
///     if !req.headers().contains_key("authorization") {
///         return Err(text_response(StatusCode::UNAUTHORIZED, "log in first\n"));
///     }
///     headers.insert("set-cookie", HeaderValue::from_static("seen=1; HttpOnly"));
///     Ok(())
/// }
/// let options = WsOptions::default().check(session);
/// # let _ = options;
/// ```
pub trait UpgradeCheck: Send + Sync + 'static {
    /// Accepts (with `headers` added to the `101`) or refuses `req`.
    ///
    /// # Errors
    ///
    /// The response that refuses the upgrade.
    // A refusal happens at most once per connection, and users write
    // `Err(text_response(..))`: not worth a `Box` in their signature.
    #[allow(clippy::result_large_err)]
    fn check(&self, req: &Request, headers: &mut HeaderMap) -> Result<(), Response>;
}

impl<F> UpgradeCheck for F
where
    F: Fn(&Request, &mut HeaderMap) -> Result<(), Response> + Send + Sync + 'static,
{
    #[allow(clippy::result_large_err)] // as in the trait
    fn check(&self, req: &Request, headers: &mut HeaderMap) -> Result<(), Response> {
        self(req, headers)
    }
}

/// Settings shared by the WebSocket dispatchers and [`ws_serve`](crate::ws_serve).
#[derive(Clone)]
#[non_exhaustive]
pub struct WsOptions {
    /// Which browser origins may open a socket (Cross-Site WebSocket
    /// Hijacking protection). A request without `Origin` (non-browser
    /// clients) always passes.
    ///
    /// Default is [`OriginPolicy::SameHost`]: the origin's host must be the
    /// request's own `Host`. That refuses, with `403`, two cases a
    /// developer meets early:
    ///
    /// - a page served from another port (the seed's page on `:8080`
    ///   talking to `ws_serve` on `:8081`): its origin
    ///   `http://localhost:8080` is not the host `localhost:8081`. Allow it
    ///   by name: `OriginPolicy::AllowList(vec!["http://localhost:8080".into()])`;
    /// - a page opened from a file: browsers send `Origin: null`. Allow it
    ///   with `"null"` in the list, for development only, since every file
    ///   and sandboxed page shares that origin.
    ///
    /// [`OriginPolicy::Any`] turns the check off.
    pub origin: OriginPolicy,
    /// RFC 6455 limits and timeouts.
    ///
    /// Default is [`Config::default()`].
    pub rfc6455: Config,
    /// hybi-00 limits and timeouts, or `None` to refuse hybi-00 clients
    /// (with `426` and `Sec-WebSocket-Version: 13`).
    ///
    /// Default is `Some(oneport_hybi00::Config::default())`: served.
    pub hybi00: Option<oneport_hybi00::Config>,
    /// A check run on each valid upgrade request before it is accepted.
    ///
    /// Default is none: every valid upgrade is accepted.
    pub check: Option<Arc<dyn UpgradeCheck>>,
    /// `rfc6455`, shared by every connection of the dispatcher these
    /// options were given to: made at its first upgrade. Options cannot
    /// change once a dispatcher owns them, so the copy stays the same as
    /// the field.
    shared_rfc6455: OnceLock<Arc<Config>>,
}

impl fmt::Debug for WsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsOptions")
            .field("origin", &self.origin)
            .field("rfc6455", &self.rfc6455)
            .field("hybi00", &self.hybi00)
            .field("check", &self.check.as_ref().map(|_| ".."))
            .finish()
    }
}

impl Default for WsOptions {
    fn default() -> Self {
        Self {
            origin: OriginPolicy::SameHost,
            rfc6455: Config::default(),
            hybi00: Some(oneport_hybi00::Config::default()),
            check: None,
            shared_rfc6455: OnceLock::new(),
        }
    }
}

impl WsOptions {
    /// The RFC 6455 configuration as one value that the dispatcher's
    /// connections share, rather than a copy in each.
    pub(crate) fn shared_rfc6455(&self) -> Arc<Config> {
        self.shared_rfc6455
            .get_or_init(|| Arc::new(self.rfc6455.clone()))
            .clone()
    }

    /// Sets the origin policy.
    pub fn origin(mut self, policy: OriginPolicy) -> Self {
        self.origin = policy;
        self
    }

    /// Sets the RFC 6455 configuration.
    pub fn rfc6455(mut self, config: Config) -> Self {
        self.rfc6455 = config;
        self
    }

    /// Switches permessage-deflate (RFC 7692) on for RFC 6455 clients that
    /// offer it, with these settings: the one setting compression needs.
    /// The same as setting [`Config::deflate`] in
    /// [`rfc6455`](WsOptions::rfc6455).
    ///
    /// ```
    /// use oneport_dispatch::{DeflateConfig, WsOptions};
    ///
    /// let options = WsOptions::default().deflate(DeflateConfig::default());
    /// assert!(options.rfc6455.deflate.is_some());
    /// ```
    pub fn deflate(mut self, deflate: DeflateConfig) -> Self {
        self.rfc6455.deflate = Some(deflate);
        self
    }

    /// Serves hybi-00 clients with this configuration.
    pub fn hybi00(mut self, config: oneport_hybi00::Config) -> Self {
        self.hybi00 = Some(config);
        self
    }

    /// Refuses hybi-00 clients (`426` with `Sec-WebSocket-Version: 13`).
    pub fn refuse_hybi00(mut self) -> Self {
        self.hybi00 = None;
        self
    }

    /// Sets the check run on each upgrade request (see [`UpgradeCheck`]).
    pub fn check(mut self, check: impl UpgradeCheck) -> Self {
        self.check = Some(Arc::new(check));
        self
    }
}

/// The general WebSocket dispatcher: every WebSocket upgrade offered to it
/// runs `handler`; other requests are declined.
///
/// Like Racket's `make-general-websockets-dispatcher`, it speaks both RFC
/// 6455 and hybi-00 and gives the same handler the same [`WebSocket`] API.
/// A malformed upgrade gets its HTTP answer (400, 426 with
/// `Sec-WebSocket-Version: 13`, or 403 for a foreign `Origin`). It accepts
/// no RFC 6455 subprotocol (use a [`ServiceMapper`] to choose one), and
/// echoes the one a hybi-00 client asks for, since the draft's client fails
/// the connection otherwise.
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

impl fmt::Debug for WebSocketDispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

    /// Sets the check run on each upgrade request (see [`UpgradeCheck`]).
    pub fn check(mut self, check: impl UpgradeCheck) -> Self {
        self.options.check = Some(Arc::new(check));
        self
    }
}

impl Dispatcher for WebSocketDispatcher {
    fn may_accept(&self, req: &Request) -> bool {
        is_websocket_request(req)
    }

    fn dispatch<'a>(&'a self, req: Request, cx: &'a Context) -> BoxFuture<'a, Outcome> {
        self.start(req, cx).boxed()
    }

    /// The handshake is checked and answered without waiting.
    fn start<'a>(&'a self, req: Request, cx: &'a Context) -> Dispatched<'a> {
        if !is_websocket_request(&req) {
            return Dispatched::Now(Outcome::Declined(req));
        }
        Dispatched::Now(upgrade::upgrade(
            req,
            cx,
            &self.options,
            |offered, version| {
                let protocol = match version {
                    WsVersion::Hybi00 => offered.first().cloned(),
                    _ => None,
                };
                Ok((protocol, self.handler.clone()))
            },
        ))
    }
}

/// Whether a request asks for a WebSocket of either version.
pub fn is_websocket_request<B>(req: &http::Request<B>) -> bool {
    oneport_rfc6455::is_upgrade_request(req) || oneport_hybi00::is_hybi00_request(req)
}
