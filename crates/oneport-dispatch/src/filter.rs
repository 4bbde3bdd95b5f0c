//! Offer only requests whose path matches a regular expression.

use regex::Regex;

use crate::dispatcher::{BoxFuture, Context, Dispatched, Dispatcher, Outcome, Request};

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
#[allow(clippy::panic)] // documented: a bad pattern is a bug in the program
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
    /// For a pattern of the form `^literal$` (the common `^/ws$`), the
    /// literal: a string comparison answers the same as the regex, faster.
    exact: Option<String>,
    inner: D,
}

/// The literal a `^literal$` pattern matches exactly, if it is one.
fn exact_literal(pattern: &str) -> Option<String> {
    let inner = pattern.strip_prefix('^')?.strip_suffix('$')?;
    let meta = |c: char| "\\.+*?()|[]{}^$#&-~".contains(c) || c.is_whitespace();
    (!inner.chars().any(meta)).then(|| inner.to_owned())
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
            exact: exact_literal(pattern),
            inner,
        })
    }

    fn matches(&self, path: &str) -> bool {
        match &self.exact {
            Some(lit) => path == lit,
            None => self.regex.is_match(path),
        }
    }
}

impl<D: Dispatcher> Dispatcher for Filter<D> {
    fn may_accept(&self, req: &Request) -> bool {
        self.matches(req.uri().path()) && self.inner.may_accept(req)
    }

    fn body_mode(&self, req: &Request) -> crate::BodyMode {
        if self.matches(req.uri().path()) {
            self.inner.body_mode(req)
        } else {
            crate::BodyMode::Whole
        }
    }

    fn dispatch<'a>(&'a self, req: Request, cx: &'a Context) -> BoxFuture<'a, Outcome> {
        self.start(req, cx).boxed()
    }

    fn start<'a>(&'a self, req: Request, cx: &'a Context) -> Dispatched<'a> {
        if self.matches(req.uri().path()) {
            self.inner.start(req, cx)
        } else {
            Dispatched::Now(Outcome::Declined(req))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_anchored_literals_take_the_fast_path() {
        assert_eq!(exact_literal("^/ws$").as_deref(), Some("/ws"));
        assert_eq!(
            exact_literal("^/a/b_c,d:e@f=g!h'$").as_deref(),
            Some("/a/b_c,d:e@f=g!h'")
        );
        for p in [
            "/ws",
            "^/ws",
            "/ws$",
            "^/w.s$",
            "^/ws/[0-9]+$",
            "^/a|/b$",
            "^(?i)/ws$",
            "^/a b$",
            "^/a\\$$",
        ] {
            assert_eq!(exact_literal(p), None, "{p}");
        }
    }

    #[test]
    fn the_fast_path_agrees_with_the_regex() {
        let patterns = ["^/ws$", "^/$", "^/a/b_c,d:e@f=g!h'$", "^$"];
        let paths = [
            "/ws",
            "/ws/",
            "/WS",
            "/",
            "",
            "/a/b_c,d:e@f=g!h'",
            "x/ws",
            "/wsx",
        ];
        for p in patterns {
            let lit = exact_literal(p).expect("a literal");
            let re = Regex::new(p).expect("valid");
            for path in paths {
                assert_eq!(path == lit, re.is_match(path), "{p} on {path:?}");
            }
        }
    }
}
