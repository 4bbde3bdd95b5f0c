//! Try dispatchers in order.

use crate::dispatcher::{BoxFuture, Context, Dispatcher, Outcome, Request};

/// Tries each dispatcher in order; the first that does not decline wins.
/// If all decline, the sequencer declines too (and the server answers 404).
///
/// Like Racket's `sequencer:make`.
///
/// # Examples
///
/// ```
/// use oneport_dispatch::{filter, sequencer, servlet, Request};
///
/// let site = sequencer(vec![
///     Box::new(filter("^/hello$", servlet(|_req: Request| "hello"))),
///     Box::new(servlet(|_req: Request| "everything else")),
/// ]);
/// # let _ = site;
/// ```
pub fn sequencer(dispatchers: Vec<Box<dyn Dispatcher>>) -> Sequencer {
    Sequencer { dispatchers }
}

/// The dispatcher returned by [`sequencer`].
pub struct Sequencer {
    dispatchers: Vec<Box<dyn Dispatcher>>,
}

impl Sequencer {
    /// Appends a dispatcher, tried after those already present.
    pub fn push(mut self, d: impl Dispatcher) -> Self {
        self.dispatchers.push(Box::new(d));
        self
    }
}

impl std::fmt::Debug for Sequencer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequencer")
            .field("dispatchers", &self.dispatchers.len())
            .finish()
    }
}

impl Dispatcher for Sequencer {
    fn may_accept(&self, req: &Request) -> bool {
        self.dispatchers.iter().any(|d| d.may_accept(req))
    }

    fn body_mode(&self, req: &Request) -> crate::BodyMode {
        self.dispatchers
            .iter()
            .find(|d| d.may_accept(req))
            .map_or(crate::BodyMode::Whole, |d| d.body_mode(req))
    }

    fn dispatch<'a>(&'a self, req: Request, cx: &'a Context) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let mut req = req;
            for d in &self.dispatchers {
                if !d.may_accept(&req) {
                    continue;
                }
                match d.dispatch(req, cx).await {
                    Outcome::Declined(r) => req = r,
                    other => return other,
                }
            }
            Outcome::Declined(req)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::dispatcher::Shutdown;

    /// Declines everything, counting the calls; `may_accept` is `hint`.
    struct Counting {
        calls: Arc<AtomicUsize>,
        hint: bool,
    }

    impl Dispatcher for Counting {
        fn dispatch<'a>(&'a self, req: Request, _cx: &'a Context) -> BoxFuture<'a, Outcome> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(std::future::ready(Outcome::Declined(req)))
        }

        fn may_accept(&self, _req: &Request) -> bool {
            self.hint
        }
    }

    fn cx() -> Context {
        let addr = "127.0.0.1:1".parse().expect("addr");
        Context {
            peer: addr,
            local: addr,
            shutdown: Shutdown::never(),
            security: crate::Security::Plain,
        }
    }

    #[tokio::test]
    async fn dispatchers_that_would_decline_are_skipped() {
        let skipped = Arc::new(AtomicUsize::new(0));
        let tried = Arc::new(AtomicUsize::new(0));
        let site = sequencer(vec![
            Box::new(Counting {
                calls: skipped.clone(),
                hint: false,
            }),
            Box::new(Counting {
                calls: tried.clone(),
                hint: true,
            }),
            Box::new(crate::filter(
                "^/other$",
                crate::servlet(|_r: Request| "other"),
            )),
            Box::new(crate::servlet(|_r: Request| "last")),
        ]);
        let req = http::Request::builder()
            .uri("/x")
            .body(bytes::Bytes::new())
            .expect("request");
        assert!(site.may_accept(&req));
        match site.dispatch(req, &cx()).await {
            Outcome::Response(r) => {
                assert_eq!(r.body().as_bytes().map(|b| &b[..]), Some(&b"last"[..]))
            }
            _ => panic!("the last servlet answers"),
        }
        assert_eq!(skipped.load(Ordering::SeqCst), 0);
        assert_eq!(tried.load(Ordering::SeqCst), 1);

        // A sequencer of filters that all miss says so without dispatching.
        let only = sequencer(vec![Box::new(crate::filter(
            "^/a$",
            crate::servlet(|_r: Request| "a"),
        ))]);
        let req = http::Request::builder()
            .uri("/b")
            .body(bytes::Bytes::new())
            .expect("request");
        assert!(!only.may_accept(&req));
    }
}
