//! The [`ServiceMapper`]: WebSocket routes by path and subprotocol.

use std::sync::Arc;

use http::StatusCode;
use regex::Regex;

use super::upgrade::{Choice, upgrade};
use super::{Handler, WsOptions, is_websocket_request};
use crate::dispatcher::{BoxFuture, Context, Dispatcher, Outcome, Request, Response};

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
/// - A hybi-00 client asks for at most one subprotocol, and the draft's
///   client fails the connection unless the answer echoes it: it is matched
///   the same way, echoed when a route serves it, and refused with `400`
///   otherwise.
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

    fn dispatch<'a>(&'a self, req: Request, cx: &'a Context) -> BoxFuture<'a, Outcome> {
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
            upgrade(req, cx, &self.options, |offered, _version| {
                route.choose(offered)
            })
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
