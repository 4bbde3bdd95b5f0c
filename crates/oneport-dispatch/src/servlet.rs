//! Wrap a plain `request -> response` function as a dispatcher.

use std::future::Future;
use std::marker::PhantomData;

use crate::Body;
use crate::dispatcher::{BoxFuture, Context, Dispatched, Dispatcher, Outcome, Request, Response};

/// Something a servlet may return: a full response, or just a body (sent
/// as `200 OK`), or a status with a body.
pub trait IntoResponse {
    /// Converts into a response.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        crate::text_response(http::StatusCode::OK, self)
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        crate::text_response(http::StatusCode::OK, self)
    }
}

impl<B: Into<Body>> IntoResponse for (http::StatusCode, B) {
    fn into_response(self) -> Response {
        let mut res = http::Response::new(self.1.into());
        *res.status_mut() = self.0;
        res
    }
}

/// The markers that tell the two kinds of [`ServletFn`] apart. Code never
/// names them; they only let one `servlet` accept both kinds of function.
pub mod markers {
    /// Marks a servlet function that returns its response.
    #[derive(Debug)]
    pub enum SyncFn {}
    /// Marks a servlet function that returns a future of its response.
    #[derive(Debug)]
    pub enum AsyncFn {}
}

use markers::{AsyncFn, SyncFn};

/// A function usable as a servlet: `Fn(Request) -> R` or
/// `Fn(Request) -> impl Future<Output = R>`, with `R:` [`IntoResponse`].
/// The marker `M` only tells the two kinds apart.
pub trait ServletFn<M>: Send + Sync + 'static {
    /// Runs the function.
    fn call(&self, req: Request) -> BoxFuture<'_, Response>;

    /// Runs the function if it answers without waiting (a plain function
    /// does), or gives the request back. The default gives it back.
    ///
    /// # Errors
    ///
    /// The request, untouched, when the function must be
    /// [`call`](ServletFn::call)ed and awaited instead.
    // The request comes back as it went in, unboxed: boxing it would
    // cost the allocation this spares.
    #[allow(clippy::result_large_err)]
    fn call_now(&self, req: Request) -> Result<Response, Request> {
        Err(req)
    }
}

impl<F, R> ServletFn<(SyncFn, R)> for F
where
    F: Fn(Request) -> R + Send + Sync + 'static,
    R: IntoResponse,
{
    fn call(&self, req: Request) -> BoxFuture<'_, Response> {
        let res = self(req).into_response();
        Box::pin(std::future::ready(res))
    }

    fn call_now(&self, req: Request) -> Result<Response, Request> {
        Ok(self(req).into_response())
    }
}

impl<F, Fut, R> ServletFn<(AsyncFn, Fut, R)> for F
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoResponse,
{
    fn call(&self, req: Request) -> BoxFuture<'_, Response> {
        let fut = self(req);
        Box::pin(async move { fut.await.into_response() })
    }
}

/// Wraps a function from request to response, sync or async, as a
/// dispatcher that handles every request offered to it.
///
/// Like Racket's `dispatch/servlet`. Combine with [`filter`](crate::filter)
/// to give it a path.
///
/// # Examples
///
/// ```
/// use oneport_dispatch::{servlet, Request};
///
/// let hello = servlet(|_req: Request| "Hello, World!");
/// let slow = servlet(|req: Request| async move { format!("you asked for {}", req.uri()) });
/// # let _ = (hello, slow);
/// ```
pub fn servlet<M, F: ServletFn<M>>(f: F) -> Servlet<F, M> {
    Servlet {
        f,
        _marker: PhantomData,
    }
}

/// The dispatcher returned by [`servlet`].
pub struct Servlet<F, M> {
    f: F,
    _marker: PhantomData<fn() -> M>,
}

impl<F, M> std::fmt::Debug for Servlet<F, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Servlet(..)")
    }
}

impl<F: ServletFn<M>, M: 'static> Dispatcher for Servlet<F, M> {
    fn dispatch<'a>(&'a self, req: Request, cx: &'a Context) -> BoxFuture<'a, Outcome> {
        self.start(req, cx).boxed()
    }

    /// A plain function answers at once; an async one is awaited.
    fn start<'a>(&'a self, req: Request, _cx: &'a Context) -> Dispatched<'a> {
        match self.f.call_now(req) {
            Ok(res) => Dispatched::Now(Outcome::Response(res)),
            Err(req) => Dispatched::Later(Box::pin(async move {
                Outcome::Response(self.f.call(req).await)
            })),
        }
    }
}
