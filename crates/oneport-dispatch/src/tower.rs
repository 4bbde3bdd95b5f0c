//! `tower` interop (the `tower` feature): any `tower::Service` as a
//! dispatcher, and a dispatcher as a `tower::Service`.
//!
//! # A tower service as a dispatcher
//!
//! [`tower_service`] mounts an axum `Router`, a tower-http stack or any
//! `Service<http::Request<Full<Bytes>>>` beside oneport's own routes: put
//! it behind a [`filter`](crate::filter) for the paths it owns, or last in
//! a [`sequencer`](crate::sequencer) as the fallback (a service answers
//! every request it gets, 404s included). The request body, read whole by
//! the server under its body limit, reaches the service as an
//! [`http_body_util::Full`]; the service's response body, whatever its
//! type, is streamed out frame by frame ([`Body::stream`], or
//! [`Body::sized_stream`] when its size is exact), under the same
//! backpressure and write timeout as any streamed body. Trailers are
//! dropped (HTTP/1.1 clients rarely read them). A service error is a 500.
//!
//! # A dispatcher as a tower service
//!
//! [`DispatcherService`] makes a dispatcher a `Service<http::Request<B>>`
//! for any request body, collected (up to a limit) before dispatch. Its
//! [`Body`] implements [`http_body::Body`], so the response goes back to
//! hyper, axum or a tower-http middleware as it is. What it cannot carry is
//! a takeover: an [`Outcome::Upgrade`] (a WebSocket, an event stream)
//! needs the connection itself, which a tower service never holds, so it
//! is answered `501 Not Implemented`; serve those routes with oneport's
//! server, which runs tower services too. A declined request is `404`.
//!
//! ```
//! use oneport_dispatch::tower::tower_service;
//! use oneport_dispatch::{filter, sequencer, servlet, Request};
//!
//! // Any tower service: here one made from a closure.
//! let api = tower::service_fn(|_req: http::Request<_>| async {
//!     Ok::<_, std::convert::Infallible>(http::Response::new(String::from("from tower")))
//! });
//! let site = sequencer(vec![
//!     Box::new(filter("^/api/", tower_service(api))),
//!     Box::new(servlet(|_req: Request| "from oneport")),
//! ]);
//! # let _ = site;
//! ```

use std::convert::Infallible;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bytes::{Buf, Bytes, BytesMut};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use tokio::io::{AsyncRead, ReadBuf};
use tower_service::Service;

use crate::body::{BoxError, Kind};
use crate::dispatcher::{BoxFuture, Context, Dispatcher, Outcome, Request, Response, Shutdown};
use crate::{Body, Security, text_response};

/// Serves every request it is offered with `service` (see the [module
/// docs](self)). The service is cloned for each request, as hyper does, so
/// that `poll_ready` and `call` have it to themselves.
pub fn tower_service<S, B>(service: S) -> TowerDispatcher<S>
where
    S: Service<http::Request<Full<Bytes>>, Response = http::Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    TowerDispatcher { service }
}

/// The dispatcher returned by [`tower_service`].
#[derive(Clone)]
pub struct TowerDispatcher<S> {
    service: S,
}

impl<S> fmt::Debug for TowerDispatcher<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TowerDispatcher").finish_non_exhaustive()
    }
}

impl<S, B> Dispatcher for TowerDispatcher<S>
where
    S: Service<http::Request<Full<Bytes>>, Response = http::Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    fn dispatch<'a>(&'a self, req: Request, _cx: &'a Context) -> BoxFuture<'a, Outcome> {
        let mut service = self.service.clone();
        Box::pin(async move {
            let req = req.map(Full::new);
            let answered = async {
                std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
                service.call(req).await
            };
            match answered.await {
                Ok(res) => Outcome::Response(res.map(body_of)),
                Err(e) => {
                    let e: BoxError = e.into();
                    tracing::warn!(error = %e, "the tower service failed");
                    Outcome::Response(text_response(
                        http::StatusCode::INTERNAL_SERVER_ERROR,
                        "internal server error\n",
                    ))
                }
            }
        })
    }
}

/// A service's response body as oneport's: streamed frame by frame (data
/// only), with `Content-Length` when its size is exact.
fn body_of<B>(body: B) -> Body
where
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let exact = body.size_hint().exact();
    if exact == Some(0) && body.is_end_stream() {
        return Body::empty();
    }
    let chunks = DataChunks(Box::pin(body));
    match exact {
        Some(n) => Body::sized_stream(n, chunks),
        None => Body::stream(chunks),
    }
}

/// The data frames of an `http_body::Body`, as a stream of `Bytes`.
struct DataChunks<B>(Pin<Box<B>>);

impl<B> futures_core::Stream for DataChunks<B>
where
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    type Item = Result<Bytes, BoxError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let body = &mut self.get_mut().0;
        loop {
            return match body.as_mut().poll_frame(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(mut data) => Poll::Ready(Some(Ok(data.copy_to_bytes(data.remaining())))),
                    // Trailers: dropped.
                    Err(_) => continue,
                },
            };
        }
    }
}

/// Default for [`DispatcherService::max_body_bytes`]: 1 MiB, the server's
/// own default body limit.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// A dispatcher as a `tower::Service` (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct DispatcherService<D> {
    dispatcher: std::sync::Arc<D>,
    max_body_bytes: usize,
}

impl<D: Dispatcher> DispatcherService<D> {
    /// Wraps `dispatcher`; request bodies up to
    /// [`DEFAULT_MAX_BODY_BYTES`].
    pub fn new(dispatcher: D) -> Self {
        Self {
            dispatcher: std::sync::Arc::new(dispatcher),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// Sets the largest request body collected; a larger one is `413`.
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.max_body_bytes = n;
        self
    }
}

impl<D, B> Service<http::Request<B>> for DispatcherService<D>
where
    D: Dispatcher,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let dispatcher = std::sync::Arc::clone(&self.dispatcher);
        let limit = self.max_body_bytes;
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let body = match Limited::new(body, limit).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                    return Ok(text_response(
                        http::StatusCode::PAYLOAD_TOO_LARGE,
                        "request body too large\n",
                    ));
                }
                Err(_) => {
                    return Ok(text_response(
                        http::StatusCode::BAD_REQUEST,
                        "the request body could not be read\n",
                    ));
                }
            };
            // No connection of ours: the peer is unknown here.
            let unknown = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
            let cx = Context {
                peer: unknown,
                local: std::sync::Arc::new(unknown),
                shutdown: Shutdown::never(),
                security: Security::Plain,
            };
            let outcome = dispatcher
                .dispatch(http::Request::from_parts(parts, body), &cx)
                .await;
            Ok(match outcome {
                Outcome::Response(res) => res,
                Outcome::Declined(_) => text_response(http::StatusCode::NOT_FOUND, "not found\n"),
                Outcome::Upgrade(_) => text_response(
                    http::StatusCode::NOT_IMPLEMENTED,
                    "this route takes the connection over, which a tower service cannot give\n",
                ),
            })
        })
    }
}

/// Size of one read of a file body served through `http_body::Body`.
const FILE_READ: usize = 64 * 1024;

impl HttpBody for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match &mut this.kind {
            Kind::Empty => Poll::Ready(None),
            Kind::Full(_) => {
                let Kind::Full(b) = std::mem::take(&mut this.kind) else {
                    return Poll::Ready(None);
                };
                Poll::Ready((!b.is_empty()).then(|| Ok(Frame::data(b))))
            }
            Kind::File { file, len } => {
                if *len == 0 {
                    this.kind = Kind::Empty;
                    return Poll::Ready(None);
                }
                let want = (*len).min(FILE_READ as u64) as usize;
                let mut buf = BytesMut::zeroed(want);
                let mut read = ReadBuf::new(&mut buf);
                match Pin::new(file).poll_read(cx, &mut read) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e.into()))),
                    Poll::Ready(Ok(())) => {
                        let n = read.filled().len();
                        if n == 0 {
                            return Poll::Ready(Some(Err("the file ended early".into())));
                        }
                        *len -= n as u64;
                        buf.truncate(n);
                        Poll::Ready(Some(Ok(Frame::data(buf.freeze()))))
                    }
                }
            }
            Kind::Stream { chunks, .. } => match chunks.as_mut().poll_next(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Ready(Some(r)) => Poll::Ready(Some(r.map(Frame::data))),
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Full(b) => b.is_empty(),
            Kind::File { len, .. } => *len == 0,
            Kind::Stream { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self.len() {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}
