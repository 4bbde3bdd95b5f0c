//! Try dispatchers in order.

use crate::dispatcher::{BoxFuture, Context, Dispatched, Dispatcher, Outcome, Request};

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
        Box::pin(self.dispatch_from(0, req, cx))
    }

    /// Offers `req` in order without a future while each dispatcher
    /// answers at once; the first that needs waiting is awaited in a
    /// future that goes on from the next one (none is offered it twice).
    fn start<'a>(&'a self, mut req: Request, cx: &'a Context) -> Dispatched<'a> {
        for (i, d) in self.dispatchers.iter().enumerate() {
            if !d.may_accept(&req) {
                continue;
            }
            match d.start(req, cx) {
                Dispatched::Now(Outcome::Declined(r)) => req = r,
                Dispatched::Now(outcome) => return Dispatched::Now(outcome),
                Dispatched::Later(future) => {
                    return Dispatched::Later(Box::pin(async move {
                        match future.await {
                            Outcome::Declined(r) => self.dispatch_from(i + 1, r, cx).await,
                            outcome => outcome,
                        }
                    }));
                }
            }
        }
        Dispatched::Now(Outcome::Declined(req))
    }
}

impl Sequencer {
    /// Offers `req` to the dispatchers from index `first` on, in order.
    async fn dispatch_from(&self, first: usize, mut req: Request, cx: &Context) -> Outcome {
        for d in self.dispatchers.iter().skip(first) {
            if !d.may_accept(&req) {
                continue;
            }
            match d.start(req, cx).outcome().await {
                Outcome::Declined(r) => req = r,
                outcome => return outcome,
            }
        }
        Outcome::Declined(req)
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
            local: std::sync::Arc::new(addr),
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

    /// Declines at once through `start`, counting its calls.
    struct DeclinesNow {
        calls: Arc<AtomicUsize>,
    }

    impl Dispatcher for DeclinesNow {
        fn dispatch<'a>(&'a self, req: Request, cx: &'a Context) -> BoxFuture<'a, Outcome> {
            self.start(req, cx).boxed()
        }

        fn start<'a>(&'a self, req: Request, _cx: &'a Context) -> Dispatched<'a> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Dispatched::Now(Outcome::Declined(req))
        }
    }

    fn get(path: &str) -> Request {
        http::Request::builder()
            .uri(path)
            .body(bytes::Bytes::new())
            .expect("request")
    }

    fn body(outcome: Outcome) -> Vec<u8> {
        match outcome {
            Outcome::Response(r) => r.body().as_bytes().map(|b| b.to_vec()).unwrap_or_default(),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_plain_function_answers_through_every_level_at_once() {
        let site = sequencer(vec![
            Box::new(crate::filter("^/$", crate::servlet(|_r: Request| "home"))),
            Box::new(crate::filter(
                "^/plaintext$",
                crate::servlet(|_r: Request| "plain"),
            )),
        ]);
        let cx = cx();
        match site.start(get("/plaintext"), &cx) {
            Dispatched::Now(outcome) => assert_eq!(body(outcome), b"plain"),
            Dispatched::Later(_) => panic!("a plain function needs no future"),
        }
        // Nothing matches: declined at once, the request given back.
        match site.start(get("/nowhere"), &cx) {
            Dispatched::Now(Outcome::Declined(r)) => assert_eq!(r.uri().path(), "/nowhere"),
            other => panic!("{other:?}"),
        }
        // An async function is awaited, and its future answers.
        let slow = crate::servlet(|_r: Request| async { "slow" });
        match slow.start(get("/"), &cx) {
            Dispatched::Later(future) => assert_eq!(body(future.await), b"slow"),
            Dispatched::Now(_) => panic!("an async function is awaited"),
        }
    }

    #[tokio::test]
    async fn start_offers_each_dispatcher_the_request_once_in_order() {
        let first = Arc::new(AtomicUsize::new(0));
        let waits = Arc::new(AtomicUsize::new(0));
        let after = Arc::new(AtomicUsize::new(0));
        let site = sequencer(vec![
            Box::new(DeclinesNow {
                calls: first.clone(),
            }),
            // Declines, but only once awaited (the default `start`).
            Box::new(Counting {
                calls: waits.clone(),
                hint: true,
            }),
            Box::new(crate::servlet(|_r: Request| "answer")),
            Box::new(DeclinesNow {
                calls: after.clone(),
            }),
        ]);
        let cx = cx();
        let outcome = match site.start(get("/x"), &cx) {
            Dispatched::Later(future) => future.await,
            Dispatched::Now(_) => panic!("the second dispatcher must be awaited"),
        };
        assert_eq!(body(outcome), b"answer");
        assert_eq!(first.load(Ordering::SeqCst), 1, "offered once, not again");
        assert_eq!(waits.load(Ordering::SeqCst), 1);
        assert_eq!(after.load(Ordering::SeqCst), 0, "never reached");
        // `dispatch` reaches the same outcome the same way.
        assert_eq!(body(site.dispatch(get("/x"), &cx).await), b"answer");
        assert_eq!(first.load(Ordering::SeqCst), 2);
        assert_eq!(after.load(Ordering::SeqCst), 0);
    }
}
