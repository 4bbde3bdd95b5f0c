//! Offer only requests whose path matches a regular expression.

use regex::Regex;

use crate::dispatcher::{BoxFuture, Context, Dispatcher, Outcome, Request};

/// Offers `inner` only the requests whose URL path (without the query)
/// matches `pattern`; the rest are declined.
///
/// Like Racket's `filter:make`. The pattern is searched, not anchored, so
/// write `^/ws$` for an exact path.
///
/// # Panics
///
/// Panics if `pattern` is not a valid regular expression: patterns are
/// written in the program, so a bad one is a bug found at start-up. Use
/// [`Filter::new`] to handle the error instead.
pub fn filter<D: Dispatcher>(pattern: &str, inner: D) -> Filter<D> {
    match Filter::new(pattern, inner) {
        Ok(f) => f,
        Err(e) => panic!("invalid filter pattern {pattern:?}: {e}"),
    }
}

/// The dispatcher returned by [`filter`].
#[derive(Debug)]
pub struct Filter<D> {
    regex: Regex,
    inner: D,
}

impl<D: Dispatcher> Filter<D> {
    /// Builds a filter, reporting an invalid pattern as an error.
    ///
    /// # Errors
    ///
    /// The regex crate's error when `pattern` does not compile.
    pub fn new(pattern: &str, inner: D) -> Result<Self, regex::Error> {
        Ok(Self {
            regex: Regex::new(pattern)?,
            inner,
        })
    }
}

impl<D: Dispatcher> Dispatcher for Filter<D> {
    fn dispatch<'a>(&'a self, req: Request, cx: &'a Context) -> BoxFuture<'a, Outcome> {
        if self.regex.is_match(req.uri().path()) {
            self.inner.dispatch(req, cx)
        } else {
            Box::pin(std::future::ready(Outcome::Declined(req)))
        }
    }
}
