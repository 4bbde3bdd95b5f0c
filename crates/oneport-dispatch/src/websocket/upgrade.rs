//! Checking a WebSocket upgrade request (either version) and answering it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use oneport_rfc6455::Role;
use tracing::debug;

use super::socket::{Engine, WebSocket, WsVersion};
use super::{Handler, WsOptions};
use crate::dispatcher::Context;
use crate::dispatcher::{Outcome, Request, Response, Shutdown, Upgrade};
use crate::stream::{Security, ServerStream};

/// What choosing a handler gives: the subprotocol to answer with and the
/// handler, or the response that refuses the upgrade (boxed: it is the
/// rare path and `Response` is large).
pub(super) type Choice = Result<(Option<String>, Arc<dyn Handler>), Box<Response>>;

/// Validates the upgrade, picks a subprotocol and handler with `choose`
/// (given the client's offer in its order, and the protocol version), runs
/// the application's check, and returns the takeover that answers the
/// handshake and runs the handler.
///
/// A refused upgrade closes the connection after its answer: the client
/// meant to leave HTTP, so the rest of its stream is not trusted as HTTP.
pub(super) fn upgrade<C>(req: Request, cx: &Context, options: &WsOptions, choose: C) -> Outcome
where
    C: FnOnce(&[String], WsVersion) -> Choice,
{
    match try_upgrade(req, cx.security(), options, choose) {
        Outcome::Response(mut res) => {
            res.headers_mut()
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
            Outcome::Response(res)
        }
        other => other,
    }
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

/// Runs the application's check: the headers it adds to the `101`, or its
/// refusal.
#[allow(clippy::result_large_err)] // the refusal is the rare path, returned once
fn check(req: &Request, options: &WsOptions) -> Result<HeaderMap, Response> {
    let mut extra = HeaderMap::new();
    if let Some(check) = &options.check {
        check.check(req, &mut extra)?;
    }
    Ok(extra)
}

fn try_upgrade<C>(req: Request, security: Security, options: &WsOptions, choose: C) -> Outcome
where
    C: FnOnce(&[String], WsVersion) -> Choice,
{
    if req.method() != Method::GET {
        return Outcome::Response(crate::text_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "a WebSocket handshake must use GET\n",
        ));
    }
    let head = head_only(&req);
    if oneport_hybi00::is_hybi00_request(&head) {
        return match &options.hybi00 {
            Some(config) => hybi00(req, head, security, options, config.clone(), choose),
            None => Outcome::Response(version_required()),
        };
    }
    let checked = match oneport_rfc6455::check_request(&head, &options.origin) {
        Ok(c) => c,
        Err(e) => return Outcome::Response(into_body(e.to_response())),
    };
    drop(head);
    let (protocol, handler) = match choose(&checked.protocols, WsVersion::Rfc6455) {
        Ok(p) => p,
        Err(res) => return Outcome::Response(*res),
    };
    let extra = match check(&req, options) {
        Ok(h) => h,
        Err(res) => return Outcome::Response(res),
    };
    let mut head = oneport_rfc6455::response(&checked.key, protocol.as_deref());
    let config = options.shared_rfc6455();
    let deflate = oneport_rfc6455::negotiate(&checked, &config, &mut head);
    head.headers_mut().extend(extra);
    drop(checked);
    let (parts, _body) = req.into_parts();
    // The server writes the `101`; the takeover starts on a switched
    // connection. The closure builds the socket and returns the serving
    // future itself (not an `async` block around it), so that the future
    // that lives as long as the connection keeps no room for what it was
    // built from: the transport, the config, the request head.
    Outcome::Upgrade(
        Upgrade::new(head, move |up| {
            let ws = oneport_rfc6455::WebSocket::from_raw_socket_with(
                up.io,
                Role::Server,
                config,
                deflate,
                up.leftover,
            );
            serve(
                Engine::rfc6455(ws),
                protocol,
                up.peer,
                up.shutdown,
                handler,
                parts,
            )
        })
        .protocol("websocket"),
    )
}

/// Runs `handler` on the socket, and closes the socket when the handler
/// lets go of it: when it returns, or drops both halves of a split, even
/// if it goes on with other work.
///
/// A plain function, not an `async fn`: the engine moves into the socket's
/// box before the future is made, so the future that lives as long as the
/// connection does not also keep room for the engine it was given.
fn serve(
    engine: Engine<ServerStream>,
    protocol: Option<String>,
    peer: SocketAddr,
    shutdown: Shutdown,
    handler: Arc<dyn Handler>,
    parts: Parts,
) -> impl Future<Output = ()> + Send + 'static {
    let (ws, mut home) = WebSocket::homed(engine, protocol, Some(peer), shutdown);
    let mut handled = Some(handler.call(ws, parts));
    // Both polled until both are done, in one small poll function (a
    // `join!` keeps each future's output slot and more, for the
    // connection's whole life).
    std::future::poll_fn(move |cx| {
        if let Some(h) = handled.as_mut() {
            if h.as_mut().poll(cx).is_ready() {
                handled = None;
            } else if !home.may_have_news() {
                return std::task::Poll::Pending;
            }
        }
        match home.poll_finish(cx) {
            std::task::Poll::Ready(()) if handled.is_none() => std::task::Poll::Ready(()),
            _ => std::task::Poll::Pending,
        }
    })
}

/// The hybi-00 branch: the answer needs the eight key bytes that follow
/// the head, so it is written by the takeover, not before it.
fn hybi00<C>(
    req: Request,
    head: http::Request<()>,
    security: Security,
    options: &WsOptions,
    config: oneport_hybi00::Config,
    choose: C,
) -> Outcome
where
    C: FnOnce(&[String], WsVersion) -> Choice,
{
    if let Err(e) = oneport_rfc6455::check_origin(&head, &options.origin) {
        return Outcome::Response(into_body(e.to_response()));
    }
    // The draft's client asks for at most one subprotocol, and fails the
    // connection unless the answer carries exactly that one.
    let offered: Vec<String> = head
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| vec![p.to_owned()])
        .unwrap_or_default();
    let (protocol, handler) = match choose(&offered, WsVersion::Hybi00) {
        Ok(p) => p,
        Err(res) => return Outcome::Response(*res),
    };
    // Everything about the answer but the key bytes is known now, so a bad
    // key is answered here, like any other bad request.
    // `Sec-WebSocket-Location` names the scheme the client used.
    let scheme = match security {
        Security::Plain => oneport_hybi00::Scheme::Ws,
        Security::Tls => oneport_hybi00::Scheme::Wss,
    };
    let mut res = match oneport_hybi00::handshake::response(&head, scheme, protocol.as_deref()) {
        Ok(res) => res,
        Err(e) => {
            let mut r = crate::text_response(e.status(), format!("{e}\n"));
            r.headers_mut()
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
            return Outcome::Response(r);
        }
    };
    match check(&req, options) {
        Ok(extra) => res.headers_mut().extend(extra),
        Err(refused) => return Outcome::Response(refused),
    }
    let (parts, body) = req.into_parts();
    Outcome::Upgrade(
        Upgrade::answered_by_closure(move |up| {
            // The handshake's state (the head, the answer, the key bytes)
            // is boxed and freed once the handshake is over: the future
            // that lives as long as the connection holds only the serving.
            let handshake = Box::pin(async move {
                // A client that declared the key bytes as a body (`Content-Length:
                // 8`, as Autobahn's hixie-76 client does) had them read by the
                // server already: they come first, then whatever followed.
                let leftover = if body.is_empty() {
                    up.leftover
                } else {
                    let mut all = BytesMut::with_capacity(body.len() + up.leftover.len());
                    all.extend_from_slice(&body);
                    all.extend_from_slice(&up.leftover);
                    all
                };
                drop(body);
                let accepted =
                    oneport_hybi00::accept_with_response(up.io, &head, &res, leftover, config)
                        .await;
                drop(head);
                drop(res);
                match accepted {
                    Ok(ws) => Some(serve(
                        Engine::hybi00(ws),
                        protocol,
                        up.peer,
                        up.shutdown,
                        handler,
                        parts,
                    )),
                    Err(e) => {
                        debug!(error = %e, "hybi-00 handshake failed");
                        None
                    }
                }
            });
            async move {
                if let Some(served) = handshake.await {
                    served.await;
                }
            }
        })
        .protocol("hybi-00"),
    )
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
