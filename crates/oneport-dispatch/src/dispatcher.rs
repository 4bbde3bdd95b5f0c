//! The [`Dispatcher`] trait and what a dispatcher may answer.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use crate::stream::{Security, ServerStream};
use bytes::{Bytes, BytesMut};

use crate::Body;
pub use crate::shutdown::Shutdown;

/// A request as dispatchers see it: the head, and the whole body (read by
/// the server up to [`Limits::max_body_bytes`](oneport_http1::Limits)).
pub type Request = http::Request<Bytes>;

/// A response as dispatchers produce it.
pub type Response = http::Response<Body>;

/// A boxed, sendable future, as returned by [`Dispatcher::dispatch`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a dispatcher did with a request.
#[derive(Debug)]
pub enum Outcome {
    /// Answer with this response; the connection goes on (keep-alive).
    Response(Response),
    /// Not mine: offer the request, unchanged, to the next dispatcher.
    Declined(Request),
    /// Take the connection over (WebSocket upgrade, event stream). The server
    /// writes any responses queued before this request and the takeover's
    /// own answer, then hands the socket to the closure and forgets the
    /// connection except for shutdown.
    Upgrade(Upgrade),
}

/// A dispatcher: offered each request in turn; it answers, declines or takes
/// the connection over.
///
/// This is the Racket web-server model: a dispatcher that declines (its
/// `next-dispatcher`) returns [`Outcome::Declined`] with the request, and
/// combinators such as [`sequencer`](crate::sequencer) and
/// [`filter`](crate::filter) build a site out of small pieces.
///
/// `dispatch` takes `&self` because one dispatcher serves every connection at
/// once; keep per-request state in the future and shared state behind `Arc`.
/// A dispatcher never fails as such: it answers errors with the matching HTTP
/// status. If its future panics, only that connection's task ends.
pub trait Dispatcher: Send + Sync + 'static {
    /// Offers `req` to this dispatcher. `cx` describes the connection.
    fn dispatch<'a>(&'a self, req: Request, cx: &'a Context) -> BoxFuture<'a, Outcome>;

    /// Begins dispatching `req`: the outcome itself when this dispatcher
    /// reaches it without waiting, so that no future is allocated, or
    /// else the future of it. The server calls this rather than
    /// [`dispatch`](Dispatcher::dispatch), and the combinators pass it on:
    /// a [`servlet`](crate::servlet) of a plain function behind
    /// [`filter`](crate::filter)s and a [`sequencer`](crate::sequencer)
    /// answers with no future at all.
    ///
    /// The default is [`Dispatched::Later`] of `dispatch`. An override
    /// must reach the outcome `dispatch` would.
    fn start<'a>(&'a self, req: Request, cx: &'a Context) -> Dispatched<'a> {
        Dispatched::Later(self.dispatch(req, cx))
    }

    /// A quick synchronous test: `false` means this dispatcher would
    /// certainly decline `req`, so a combinator may skip [`dispatch`]
    /// (and the future it allocates). `true` promises nothing.
    ///
    /// The default is `true`. [`filter`](crate::filter) answers from its
    /// pattern; [`sequencer`](crate::sequencer) uses it.
    ///
    /// [`dispatch`]: Dispatcher::dispatch
    fn may_accept(&self, req: &Request) -> bool {
        let _ = req;
        true
    }

    /// How the server should hand this request's body over, asked with
    /// the head alone (the body of `req` is empty): read whole before
    /// [`dispatch`](Dispatcher::dispatch) (the default), or streamed while
    /// it runs ([`streamed_body`](crate::streamed_body)). Combinators ask
    /// the dispatcher that would get the request: [`filter`](crate::filter)
    /// its inner one when it matches, [`sequencer`](crate::sequencer) the
    /// first whose [`may_accept`](Dispatcher::may_accept) holds.
    fn body_mode(&self, req: &Request) -> BodyMode {
        let _ = req;
        BodyMode::Whole
    }
}

/// What [`Dispatcher::start`] gives: the outcome, or its future.
#[must_use = "a dispatched request has an outcome to act on"]
// The large variant is the common one: boxing it would be the allocation
// `start` exists to spare.
#[allow(clippy::large_enum_variant)]
pub enum Dispatched<'a> {
    /// The outcome, reached without waiting.
    Now(Outcome),
    /// The outcome needs waiting for.
    Later(BoxFuture<'a, Outcome>),
}

impl<'a> Dispatched<'a> {
    /// The outcome, waiting for it if need be.
    pub async fn outcome(self) -> Outcome {
        match self {
            Dispatched::Now(outcome) => outcome,
            Dispatched::Later(future) => future.await,
        }
    }

    /// As a future, for a caller that must return one
    /// ([`Dispatcher::dispatch`] built on `start`).
    pub fn boxed(self) -> BoxFuture<'a, Outcome> {
        match self {
            Dispatched::Now(outcome) => Box::pin(std::future::ready(outcome)),
            Dispatched::Later(future) => future,
        }
    }
}

impl fmt::Debug for Dispatched<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dispatched::Now(outcome) => f.debug_tuple("Now").field(outcome).finish(),
            Dispatched::Later(_) => f.write_str("Later(..)"),
        }
    }
}

/// How a request's body reaches a dispatcher (see
/// [`Dispatcher::body_mode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyMode {
    /// Read whole by the server, up to
    /// [`Limits::max_body_bytes`](oneport_http1::Limits), and given as the
    /// request's body.
    Whole,
    /// Streamed to the dispatcher as it arrives, through the
    /// [`RequestBody`](crate::RequestBody) in the request's extensions, up
    /// to `max_bytes` (a body past it is answered `413`).
    Streamed {
        /// The most bytes the body may have.
        max_bytes: u64,
    },
}

impl<D: Dispatcher + ?Sized> Dispatcher for Arc<D> {
    fn dispatch<'a>(&'a self, req: Request, cx: &'a Context) -> BoxFuture<'a, Outcome> {
        (**self).dispatch(req, cx)
    }

    fn start<'a>(&'a self, req: Request, cx: &'a Context) -> Dispatched<'a> {
        (**self).start(req, cx)
    }

    fn may_accept(&self, req: &Request) -> bool {
        (**self).may_accept(req)
    }

    fn body_mode(&self, req: &Request) -> BodyMode {
        (**self).body_mode(req)
    }
}

impl<D: Dispatcher + ?Sized> Dispatcher for Box<D> {
    fn dispatch<'a>(&'a self, req: Request, cx: &'a Context) -> BoxFuture<'a, Outcome> {
        (**self).dispatch(req, cx)
    }

    fn start<'a>(&'a self, req: Request, cx: &'a Context) -> Dispatched<'a> {
        (**self).start(req, cx)
    }

    fn may_accept(&self, req: &Request) -> bool {
        (**self).may_accept(req)
    }

    fn body_mode(&self, req: &Request) -> BodyMode {
        (**self).body_mode(req)
    }
}

/// What a dispatcher knows about the connection a request came on.
#[derive(Debug, Clone)]
pub struct Context {
    pub(crate) peer: SocketAddr,
    /// Shared: the same for every connection a listener accepts, and an
    /// idle connection keeps its context (24 bytes less than a copy).
    pub(crate) local: Arc<SocketAddr>,
    pub(crate) shutdown: Shutdown,
    pub(crate) security: Security,
}

impl Context {
    /// Whether the connection is TLS (`https://`, `wss://`) or plain.
    pub fn security(&self) -> Security {
        self.security
    }

    /// The client's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The address the server accepted the connection on.
    pub fn local_addr(&self) -> SocketAddr {
        *self.local
    }

    /// The server's shutdown signal, for long-lived work.
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }
}

/// A taken-over connection, handed to an [`Upgrade`] closure.
#[derive(Debug)]
#[non_exhaustive]
pub struct Upgraded {
    /// The connection: TCP, or TLS over TCP.
    pub io: ServerStream,
    /// The client's address.
    pub peer: SocketAddr,
    /// Bytes the server had already read past the request head.
    pub leftover: BytesMut,
    /// The server's shutdown signal: close the connection when it fires.
    pub shutdown: Shutdown,
}

type UpgradeFn = Box<dyn FnOnce(Upgraded) -> BoxFuture<'static, ()> + Send>;

/// A connection takeover: the server writes the answer, then the closure
/// owns the socket.
pub struct Upgrade {
    pub(crate) head: Option<http::Response<()>>,
    pub(crate) run: UpgradeFn,
    pub(crate) protocol: &'static str,
}

impl Upgrade {
    /// A takeover answered with `head`: a `101 Switching Protocols`, or the
    /// `200` of a stream whose body runs until the connection closes (an
    /// event stream). The server encodes the head with `oneport-http1`
    /// (adding `Connection: close` to anything but a `101`), writes it
    /// under its write timeout after the responses queued before it, logs
    /// it, and only then runs `f` with the socket. If the head cannot be
    /// written, `f` never runs.
    pub fn new<F, Fut>(head: http::Response<()>, f: F) -> Self
    where
        F: FnOnce(Upgraded) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self {
            head: Some(head),
            run: Box::new(move |u| Box::pin(f(u))),
            protocol: DEFAULT_PROTOCOL,
        }
    }

    /// A takeover whose closure writes its own answer. Only for an answer
    /// the server cannot write before the takeover: hybi-00's, whose
    /// `101` must be followed by bytes computed from the eight key bytes
    /// that follow the request head (and whose status line the draft
    /// spells its own way).
    pub fn answered_by_closure<F, Fut>(f: F) -> Self
    where
        F: FnOnce(Upgraded) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self {
            head: None,
            run: Box::new(move |u| Box::pin(f(u))),
            protocol: DEFAULT_PROTOCOL,
        }
    }

    /// Names the protocol the connection speaks once taken over
    /// (`websocket`, `hybi-00`, `sse`, ...): the connection's tracing span
    /// records it as its `protocol`. Default `takeover`.
    pub fn protocol(mut self, name: &'static str) -> Self {
        self.protocol = name;
        self
    }
}

/// What an [`Upgrade`] that does not name its protocol is recorded as.
const DEFAULT_PROTOCOL: &str = "takeover";

impl fmt::Debug for Upgrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upgrade")
            .field("status", &self.head.as_ref().map(|h| h.status()))
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

/// Builds a response with a status and a plain-text body.
pub fn text_response(status: http::StatusCode, text: impl Into<Body>) -> Response {
    let mut res = http::Response::new(text.into());
    *res.status_mut() = status;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

/// Builds a `200` response with an HTML body (`text/html; charset=utf-8`).
pub fn html_response(html: impl Into<Body>) -> Response {
    let mut res = http::Response::new(html.into());
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}
