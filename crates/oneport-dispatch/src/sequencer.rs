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
    fn dispatch<'a>(&'a self, req: Request, cx: &'a Context) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let mut req = req;
            for d in &self.dispatchers {
                match d.dispatch(req, cx).await {
                    Outcome::Declined(r) => req = r,
                    other => return other,
                }
            }
            Outcome::Declined(req)
        })
    }
}
