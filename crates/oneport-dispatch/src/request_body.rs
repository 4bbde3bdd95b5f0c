//! Request bodies streamed to a dispatcher as they arrive.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use http::StatusCode;
use tokio::sync::mpsc;

use crate::dispatcher::{BodyMode, BoxFuture, Context, Dispatcher, Outcome, Request};

/// Serves `dispatcher` with its requests' bodies streamed rather than read
/// whole: the request's own body is empty, and a [`RequestBody`] in its
/// extensions (for a request that has a body) yields the bytes as they
/// arrive, up to `max_bytes` (a body
/// announced or found to be larger is answered `413`, whatever the
/// dispatcher answers). Memory stays at a few chunks whatever the size.
///
/// ```
/// use oneport_dispatch::{RequestBody, Request, filter, servlet, streamed_body};
///
/// let upload = streamed_body(
///     servlet(|mut req: Request| async move {
///         // None: the request had no body.
///         let Some(mut body) = RequestBody::take(&mut req) else {
///             return "0 bytes".to_owned();
///         };
///         let mut total = 0;
///         while let Some(chunk) = body.chunk().await {
///             match chunk {
///                 Ok(bytes) => total += bytes.len(),
///                 Err(e) => return format!("failed: {e}"),
///             }
///         }
///         format!("{total} bytes")
///     }),
///     1 << 30,
/// );
/// let site = filter("^/upload$", upload);
/// # let _ = site;
/// ```
pub fn streamed_body<D: Dispatcher>(dispatcher: D, max_bytes: u64) -> StreamedBody<D> {
    StreamedBody {
        inner: dispatcher,
        max_bytes,
    }
}

/// The dispatcher returned by [`streamed_body`].
#[derive(Debug, Clone)]
pub struct StreamedBody<D> {
    inner: D,
    max_bytes: u64,
}

impl<D: Dispatcher> Dispatcher for StreamedBody<D> {
    fn dispatch<'a>(&'a self, req: Request, cx: &'a Context) -> BoxFuture<'a, Outcome> {
        self.inner.dispatch(req, cx)
    }

    fn start<'a>(&'a self, req: Request, cx: &'a Context) -> crate::Dispatched<'a> {
        self.inner.start(req, cx)
    }

    fn may_accept(&self, req: &Request) -> bool {
        self.inner.may_accept(req)
    }

    fn body_mode(&self, _req: &Request) -> BodyMode {
        BodyMode::Streamed {
            max_bytes: self.max_bytes,
        }
    }
}

/// Why a streamed request body ended before its end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestBodyError {
    /// The body went past the limit: the server answers `413`.
    #[error("the request body is over the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The client sent nothing for the body read timeout: `408`.
    #[error("the request body timed out")]
    TimedOut,
    /// Bad chunked framing: `400`.
    #[error("malformed request body: {0}")]
    Malformed(String),
    /// The connection ended in the middle of the body.
    #[error("the connection ended in the middle of the request body")]
    Closed,
}

impl RequestBodyError {
    /// The status the server answers with once the body failed this way
    /// (`None` when the connection is gone and nothing can be answered).
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            RequestBodyError::TooLarge { .. } => Some(StatusCode::PAYLOAD_TOO_LARGE),
            RequestBodyError::TimedOut => Some(StatusCode::REQUEST_TIMEOUT),
            RequestBodyError::Malformed(_) => Some(StatusCode::BAD_REQUEST),
            RequestBodyError::Closed => None,
        }
    }
}

/// One chunk of a streamed body, or why it ended early.
pub(crate) type Chunk = Result<Bytes, RequestBodyError>;

/// A request body as it arrives (see [`streamed_body`]): a `Stream` of
/// chunks, also read with [`chunk`](RequestBody::chunk). It ends (`None`)
/// after the last byte, or after one error. Take it out of the request
/// with [`RequestBody::take`].
pub struct RequestBody {
    rx: mpsc::Receiver<Chunk>,
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody").finish_non_exhaustive()
    }
}

/// What a request's extensions hold until the handler takes the body (the
/// extensions want `Clone`).
#[derive(Clone)]
pub(crate) struct Slot(Arc<Mutex<Option<RequestBody>>>);

impl RequestBody {
    /// A body fed through `rx`, placed in `req`'s extensions.
    pub(crate) fn attach(req: &mut Request, rx: mpsc::Receiver<Chunk>) {
        req.extensions_mut()
            .insert(Slot(Arc::new(Mutex::new(Some(RequestBody { rx })))));
    }

    /// Takes the streamed body out of `req`: `None` if the request had no
    /// body, if the body was read whole (the dispatcher is not behind
    /// [`streamed_body`]), or if it was taken already.
    pub fn take(req: &mut Request) -> Option<RequestBody> {
        let slot = req.extensions_mut().remove::<Slot>()?;
        slot.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    /// The next chunk; `None` once the body is over. Cancel-safe.
    pub async fn chunk(&mut self) -> Option<Result<Bytes, RequestBodyError>> {
        self.rx.recv().await
    }
}

impl futures_core::Stream for RequestBody {
    type Item = Result<Bytes, RequestBodyError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().rx.poll_recv(cx)
    }
}
