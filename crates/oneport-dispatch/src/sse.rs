//! The Server-Sent Events dispatcher.

use http::Method;
use oneport_sse::Hub;
use tokio::io::AsyncReadExt;
use tracing::debug;

use crate::dispatcher::{BoxFuture, Context, Dispatcher, Outcome, Request, Upgrade};

/// Serves an event stream from `hub` to every `GET` offered to it (other
/// methods are declined), like the Racket SSE package's `sse-dispatcher`.
///
/// The response is `200` with `Content-Type: text/event-stream` and
/// `Cache-Control: no-cache`, delimited by closing the connection (so it
/// works with HTTP/1.0 clients too). A `Last-Event-ID` request header
/// resumes after that id from the hub's kept history. The stream ends when
/// the client goes away, when it falls too far behind (its bounded queue
/// fills), or when the hub is closed or the server shuts down.
///
/// # Examples
///
/// ```
/// use oneport_dispatch::{filter, sse};
/// use oneport_sse::{Hub, HubConfig};
///
/// let hub = Hub::new(HubConfig::default());
/// let events = filter("^/events$", sse(hub.clone()));
/// # let _ = events;
/// ```
pub fn sse(hub: Hub) -> SseDispatcher {
    SseDispatcher { hub }
}

/// The dispatcher returned by [`sse`].
#[derive(Clone)]
pub struct SseDispatcher {
    hub: Hub,
}

impl std::fmt::Debug for SseDispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseDispatcher")
            .field("subscribers", &self.hub.subscriber_count())
            .finish()
    }
}

impl Dispatcher for SseDispatcher {
    fn may_accept(&self, req: &Request) -> bool {
        req.method() == Method::GET
    }

    fn dispatch<'a>(&'a self, req: Request, _cx: &'a Context) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            if req.method() != Method::GET {
                return Outcome::Declined(req);
            }
            let last_id = req
                .headers()
                .get("last-event-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let version = req.version();
            let sub = self.hub.subscribe(last_id.as_deref());
            Outcome::Upgrade(Upgrade::new(move |up| async move {
                let mut io = up.io;
                let mut shutdown = up.shutdown;
                let (parts, ()) = oneport_sse::response_head().into_parts();
                let mut head = bytes::BytesMut::new();
                oneport_http1::encode_response_head(
                    &parts,
                    oneport_http1::BodyLength::None,
                    false,
                    version,
                    &mut head,
                );
                let (mut rd, mut wr) = io.split();
                if tokio::io::AsyncWriteExt::write_all(&mut wr, &head)
                    .await
                    .is_err()
                {
                    return;
                }
                // The client sends nothing more; reading tells us when it
                // goes away even while no events flow.
                let gone = async {
                    let mut scratch = [0u8; 64];
                    loop {
                        match rd.read(&mut scratch).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                    }
                };
                tokio::select! {
                    r = sub.forward(&mut wr) => {
                        if let Err(e) = r {
                            debug!(error = %e, "event stream ended");
                        }
                    }
                    () = gone => debug!("event-stream client went away"),
                    () = shutdown.wait() => debug!("event stream closed for shutdown"),
                }
                let _ = tokio::io::AsyncWriteExt::shutdown(&mut wr).await;
            }))
        })
    }
}
