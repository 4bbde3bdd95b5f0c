//! The event-stream parser: WHATWG HTML §9.2.5 "Parsing an event stream" and
//! §9.2.6 "Interpreting an event stream", incremental and bounded.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use crate::error::ParseError;

/// Default for [`ParserLimits::max_line_len`]: 1 MiB.
pub const DEFAULT_MAX_LINE_LEN: usize = 1024 * 1024;
/// Default for [`ParserLimits::max_data_len`]: 2 MiB.
pub const DEFAULT_MAX_DATA_LEN: usize = 2 * 1024 * 1024;

/// The event type of an event whose stream set none (or set it empty).
pub const DEFAULT_EVENT_TYPE: &str = "message";

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Bounds on what a [`Parser`] buffers for one stream.
///
/// # Examples
///
/// ```
/// use oneport_sse::{Parser, ParserLimits};
///
/// let parser = Parser::new(ParserLimits::default().max_line_len(4096).max_data_len(64 * 1024));
/// # let _ = parser;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParserLimits {
    /// Longest line, in bytes, without its line ending (a leading byte order
    /// mark counts). A longer line, complete or not, fails the parser with
    /// [`ParseError::LineTooLong`]. Default is [`DEFAULT_MAX_LINE_LEN`] (1 MiB).
    pub max_line_len: usize,
    /// Largest data buffer of one event, in UTF-8 bytes, counting the line
    /// feed appended after each `data` line. A larger one fails the parser
    /// with [`ParseError::DataTooLong`]. Default is [`DEFAULT_MAX_DATA_LEN`]
    /// (2 MiB).
    pub max_data_len: usize,
}

impl Default for ParserLimits {
    fn default() -> Self {
        ParserLimits {
            max_line_len: DEFAULT_MAX_LINE_LEN,
            max_data_len: DEFAULT_MAX_DATA_LEN,
        }
    }
}

impl ParserLimits {
    /// Sets [`max_line_len`](Self::max_line_len).
    #[must_use]
    pub fn max_line_len(mut self, n: usize) -> Self {
        self.max_line_len = n;
        self
    }

    /// Sets [`max_data_len`](Self::max_data_len).
    #[must_use]
    pub fn max_data_len(mut self, n: usize) -> Self {
        self.max_data_len = n;
        self
    }
}

/// One dispatched event, as a browser's `MessageEvent` would see it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedEvent {
    /// The event type: the last `event` field of the block, or `"message"`
    /// when there was none or it was empty.
    pub event_type: String,
    /// The `data` lines of the block joined with LF (one trailing LF
    /// removed).
    pub data: String,
    /// The last event ID string when the event was dispatched: the value of
    /// the most recent `id` field of the stream, carried over from earlier
    /// events, or empty.
    pub last_event_id: String,
}

/// An event dispatched by `feed` and not yet taken by `poll_event`. The id
/// is shared, so a stream that sets one long id and then sends many events
/// does not multiply it in memory.
#[derive(Debug)]
struct Pending {
    event_type: String,
    data: String,
    last_event_id: Arc<str>,
}

/// Incremental parser for `text/event-stream` bodies.
///
/// Implements the WHATWG algorithm exactly: the stream is UTF-8 (invalid
/// sequences become U+FFFD, one leading byte order mark is dropped); lines
/// end in CRLF, LF or CR, and a CRLF split across two `feed` calls is still
/// one line ending; a blank line dispatches the event; a line starting with
/// `:` is a comment; a line without a colon is a field name with an empty
/// value; one space after the colon is dropped; `id` values containing NUL
/// are ignored; `retry` is taken only when it is all ASCII digits (and not
/// empty); unknown fields are ignored; an event whose data buffer is empty
/// is not dispatched, but still sets the last event ID.
///
/// # Call order
///
/// 1. [`feed`](Self::feed) the bytes of the response body as they arrive;
/// 2. after each `feed`, take every dispatched event with
///    [`poll_event`](Self::poll_event) until it returns `None` (events queue
///    up inside the parser until taken);
/// 3. when the connection ends, call [`receive_eof`](Self::receive_eof): the
///    incomplete event is discarded, as the specification requires, and the
///    parser is ready for the stream of the next connection, keeping
///    [`last_event_id`](Self::last_event_id) and [`retry`](Self::retry) for
///    the reconnection.
///
/// # Examples
///
/// ```
/// use oneport_sse::Parser;
///
/// let mut p = Parser::default();
/// p.feed(b"event: add\ndata: 73857293\r")?;
/// assert!(p.poll_event().is_none()); // not dispatched before the blank line
/// p.feed(b"\n\r\n")?;
/// let ev = p.poll_event().unwrap();
/// assert_eq!((ev.event_type.as_str(), ev.data.as_str()), ("add", "73857293"));
/// # Ok::<(), oneport_sse::ParseError>(())
/// ```
#[derive(Debug, Default)]
pub struct Parser {
    limits: ParserLimits,
    /// The incomplete line carried over from the previous `feed`.
    line: Vec<u8>,
    /// The previous `feed` ended in CR: a leading LF completes that CRLF.
    skip_lf: bool,
    /// No line of this stream has been processed yet (the BOM check).
    started: bool,
    data: String,
    event_type: String,
    id_buffer: Arc<str>,
    last_event_id: Arc<str>,
    retry: Option<Duration>,
    queue: VecDeque<Pending>,
    failed: Option<ParseError>,
}

impl Parser {
    /// A parser with the given limits.
    pub fn new(limits: ParserLimits) -> Self {
        Parser {
            limits,
            ..Parser::default()
        }
    }

    /// Parses `data`, the next bytes of the stream, queueing the events it
    /// dispatches for [`poll_event`](Self::poll_event). Any split is fine:
    /// the result never depends on how the stream is cut into calls.
    ///
    /// # Errors
    ///
    /// A [`ParseError`] if the stream breaks a limit. The parser is then
    /// failed: events dispatched before the offending line can still be
    /// polled, and every later `feed` returns the same error until
    /// [`receive_eof`](Self::receive_eof).
    pub fn feed(&mut self, data: &[u8]) -> Result<(), ParseError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        let result = self.feed_inner(data);
        if let Err(err) = result {
            self.failed = Some(err);
        }
        result
    }

    fn feed_inner(&mut self, mut rest: &[u8]) -> Result<(), ParseError> {
        if self.skip_lf {
            if let Some((&first, after)) = rest.split_first() {
                self.skip_lf = false;
                if first == b'\n' {
                    rest = after;
                }
            }
        }
        while !rest.is_empty() {
            let Some(end) = rest.iter().position(|&b| b == b'\r' || b == b'\n') else {
                // An incomplete line: keep it for the next feed.
                self.check_line_len(self.line.len().saturating_add(rest.len()))?;
                self.line.extend_from_slice(rest);
                return Ok(());
            };
            let (content, tail) = rest.split_at(end);
            let ending_len = match tail {
                [b'\r', b'\n', ..] => 2,
                [b'\r'] => {
                    self.skip_lf = true;
                    1
                }
                _ => 1,
            };
            rest = tail.get(ending_len..).unwrap_or_default();
            if self.line.is_empty() {
                self.check_line_len(content.len())?;
                self.process_line(content)?;
            } else {
                self.check_line_len(self.line.len().saturating_add(content.len()))?;
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(content);
                let processed = self.process_line(&line);
                line.clear();
                self.line = line;
                processed?;
            }
        }
        Ok(())
    }

    fn check_line_len(&self, size: usize) -> Result<(), ParseError> {
        let max = self.limits.max_line_len;
        if size > max {
            return Err(ParseError::LineTooLong { size, max });
        }
        Ok(())
    }

    /// §9.2.6: one complete line, without its line ending.
    fn process_line(&mut self, mut line: &[u8]) -> Result<(), ParseError> {
        if !self.started {
            self.started = true;
            if let Some(after) = line.strip_prefix(BOM) {
                line = after;
            }
        }
        if line.is_empty() {
            self.dispatch();
            return Ok(());
        }
        if line.first() == Some(&b':') {
            return Ok(());
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = line.get(colon + 1..).unwrap_or_default();
                let value = value.strip_prefix(b" ").unwrap_or(value);
                (line.get(..colon).unwrap_or_default(), value)
            }
            None => (line, &[][..]),
        };
        match name {
            b"event" => self.event_type = String::from_utf8_lossy(value).into_owned(),
            b"data" => {
                let value = String::from_utf8_lossy(value);
                let size = self
                    .data
                    .len()
                    .saturating_add(value.len())
                    .saturating_add(1);
                let max = self.limits.max_data_len;
                if size > max {
                    return Err(ParseError::DataTooLong { size, max });
                }
                self.data.push_str(&value);
                self.data.push('\n');
            }
            b"id" if !value.contains(&0) => {
                let id = String::from_utf8_lossy(value);
                if *id != *self.id_buffer {
                    self.id_buffer = Arc::from(id);
                }
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                let ms = value.iter().fold(0u64, |n, &d| {
                    n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                });
                self.retry = Some(Duration::from_millis(ms));
            }
            _ => {}
        }
        Ok(())
    }

    /// §9.2.6 "dispatch the event".
    fn dispatch(&mut self) {
        self.last_event_id = Arc::clone(&self.id_buffer);
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        if self.data.ends_with('\n') {
            self.data.pop();
        }
        self.queue.push_back(Pending {
            event_type: std::mem::take(&mut self.event_type),
            data: std::mem::take(&mut self.data),
            last_event_id: Arc::clone(&self.last_event_id),
        });
    }

    /// The next dispatched event, oldest first; `None` when every event fed
    /// so far has been taken.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ParsedEvent> {
        let p = self.queue.pop_front()?;
        Some(ParsedEvent {
            event_type: if p.event_type.is_empty() {
                DEFAULT_EVENT_TYPE.to_owned()
            } else {
                p.event_type
            },
            data: p.data,
            last_event_id: p.last_event_id.to_string(),
        })
    }

    /// Events dispatched by `feed` and not yet taken with `poll_event`.
    pub fn pending_events(&self) -> usize {
        self.queue.len()
    }

    /// Ends the current stream (the connection closed): the incomplete line
    /// and the incomplete event are discarded (an `id` field of the
    /// incomplete event included), the parser error (if any) is cleared,
    /// and the next `feed` starts a new stream (which may begin with a byte
    /// order mark again). Events already dispatched stay queued; the last
    /// event ID and the reconnection time are kept, and the new stream's
    /// last event ID buffer starts from that ID, as browsers do.
    pub fn receive_eof(&mut self) {
        self.id_buffer = Arc::clone(&self.last_event_id);
        self.line.clear();
        self.skip_lf = false;
        self.started = false;
        self.data.clear();
        self.event_type.clear();
        self.failed = None;
    }

    /// The last event ID string: the value of the last `id` field as of the
    /// last dispatch (a blank line), or empty. This is what a client sends
    /// back in `Last-Event-ID`. It reflects everything fed so far, which may
    /// be ahead of the events not yet taken with `poll_event`.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Sets the last event ID, for example to resume from an id saved
    /// earlier. A later `id` field replaces it.
    pub fn set_last_event_id(&mut self, id: &str) {
        let id: Arc<str> = Arc::from(id);
        self.id_buffer = Arc::clone(&id);
        self.last_event_id = id;
    }

    /// The reconnection time the stream last set with a `retry` field, if
    /// any. Values too large for `u64` milliseconds saturate.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// The limits this parser enforces.
    pub fn limits(&self) -> &ParserLimits {
        &self.limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event_type: &str, data: &str, id: &str) -> ParsedEvent {
        ParsedEvent {
            event_type: event_type.into(),
            data: data.into(),
            last_event_id: id.into(),
        }
    }

    fn drain(p: &mut Parser) -> Vec<ParsedEvent> {
        std::iter::from_fn(|| p.poll_event()).collect()
    }

    /// Events from one feed, after checking that feeding the same bytes
    /// byte by byte and split at every single point gives the same events,
    /// the same last event ID and the same retry.
    fn parse(input: &[u8]) -> Vec<ParsedEvent> {
        let mut whole = Parser::default();
        whole.feed(input).unwrap();
        let expected = drain(&mut whole);

        let mut bytewise = Parser::default();
        let mut got = Vec::new();
        for b in input {
            bytewise.feed(std::slice::from_ref(b)).unwrap();
            got.extend(drain(&mut bytewise));
        }
        assert_eq!(got, expected, "byte by byte");
        assert_eq!(bytewise.last_event_id(), whole.last_event_id());
        assert_eq!(bytewise.retry(), whole.retry());

        for split in 0..=input.len() {
            let (a, b) = input.split_at(split);
            let mut p = Parser::default();
            p.feed(a).unwrap();
            let mut got = drain(&mut p);
            p.feed(b).unwrap();
            got.extend(drain(&mut p));
            assert_eq!(got, expected, "split at {split}");
            assert_eq!(p.last_event_id(), whole.last_event_id());
            assert_eq!(p.retry(), whole.retry());
        }
        expected
    }

    // The example streams of WHATWG HTML §9.2.6.

    #[test]
    fn spec_example_multi_line_data() {
        assert_eq!(
            parse(b"data: YHOO\ndata: +2\ndata: 10\n\n"),
            [ev("message", "YHOO\n+2\n10", "")]
        );
    }

    #[test]
    fn spec_example_ids_and_comment() {
        let stream = b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n";
        assert_eq!(
            parse(stream),
            [
                ev("message", "first event", "1"),
                ev("message", "second event", ""),
                ev("message", " third event", ""),
            ]
        );
        // Without the final blank line the third event is never dispatched.
        let cut = &stream[..stream.len() - 1];
        assert_eq!(parse(cut).len(), 2);
    }

    #[test]
    fn spec_example_empty_data() {
        let mut p = Parser::default();
        p.feed(b"data\n\ndata\ndata\n\ndata:").unwrap();
        assert_eq!(
            drain(&mut p),
            [ev("message", "", ""), ev("message", "\n", "")]
        );
        // The last block is discarded at the end of the stream.
        p.receive_eof();
        p.feed(b"\n").unwrap();
        assert_eq!(drain(&mut p), []);
        assert_eq!(parse(b"data\n\ndata\ndata\n\ndata:").len(), 2);
    }

    #[test]
    fn spec_example_space_after_colon_is_optional() {
        assert_eq!(
            parse(b"data:test\n\ndata: test\n\n"),
            [ev("message", "test", ""), ev("message", "test", "")]
        );
    }

    #[test]
    fn spec_example_event_types() {
        let stream = b"event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n";
        assert_eq!(
            parse(stream),
            [
                ev("add", "73857293", ""),
                ev("remove", "2153", ""),
                ev("add", "113411", ""),
            ]
        );
    }

    #[test]
    fn every_line_ending_kind() {
        let expected = [ev("message", "a\nb", "1"), ev("x", "c", "1")];
        for nl in ["\n", "\r", "\r\n"] {
            let s = format!("id: 1{nl}data: a{nl}data: b{nl}{nl}event: x{nl}data: c{nl}{nl}");
            assert_eq!(parse(s.as_bytes()), expected, "{nl:?}");
        }
        // Mixed endings; "\n\r" is two line endings, "\r\n" one.
        assert_eq!(
            parse(b"data: a\r\ndata: b\n\rdata: c\r\r"),
            [ev("message", "a\nb", ""), ev("message", "c", "")]
        );
    }

    #[test]
    fn crlf_split_across_feeds_is_one_line_ending() {
        let mut p = Parser::default();
        p.feed(b"data: a\r").unwrap();
        p.feed(b"\n").unwrap();
        p.feed(b"data: b\r").unwrap();
        p.feed(b"").unwrap();
        p.feed(b"\n\r").unwrap();
        p.feed(b"\n").unwrap();
        assert_eq!(drain(&mut p), [ev("message", "a\nb", "")]);
    }

    #[test]
    fn byte_order_mark_is_dropped_once() {
        assert_eq!(parse(b"\xEF\xBB\xBFdata: x\n\n"), [ev("message", "x", "")]);
        // A second BOM is part of the field name, so the line is ignored.
        assert_eq!(parse(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\n"), []);
        // A BOM after the first line is not special either.
        assert_eq!(parse(b"\n\xEF\xBB\xBFdata: x\n\n"), []);
        // A BOM-only first line is a blank line.
        assert_eq!(
            parse(b"\xEF\xBB\xBF\ndata: y\n\n"),
            [ev("message", "y", "")]
        );
        // Each new stream may start with a BOM.
        let mut p = Parser::default();
        p.feed(b"\xEF\xBB\xBFdata: 1\n\n").unwrap();
        p.receive_eof();
        p.feed(b"\xEF\xBB\xBFdata: 2\n\n").unwrap();
        assert_eq!(
            drain(&mut p),
            [ev("message", "1", ""), ev("message", "2", "")]
        );
    }

    #[test]
    fn retry_takes_only_ascii_digits() {
        let mut p = Parser::default();
        p.feed(b"retry: 3000\n").unwrap();
        assert_eq!(p.retry(), Some(Duration::from_millis(3000)));
        for bad in [
            &b"retry: 1000x\n"[..],
            b"retry: -1\n",
            b"retry: 1.5\n",
            b"retry:  10\n",
            b"retry: 10 \n",
            b"retry: +10\n",
            b"retry:\n",
            b"retry\n",
            b"retry: \xD9\xA1\n", // ARABIC-INDIC DIGIT ONE is not ASCII
        ] {
            p.feed(bad).unwrap();
            assert_eq!(p.retry(), Some(Duration::from_millis(3000)), "{bad:?}");
        }
        p.feed(b"retry:03000\n").unwrap();
        assert_eq!(p.retry(), Some(Duration::from_millis(3000)));
        p.feed(b"retry: 0\n").unwrap();
        assert_eq!(p.retry(), Some(Duration::ZERO));
        p.feed(b"retry: 99999999999999999999999999\n").unwrap();
        assert_eq!(p.retry(), Some(Duration::from_millis(u64::MAX)));
        // No event is dispatched by retry alone.
        p.feed(b"\n").unwrap();
        assert_eq!(p.poll_event(), None);
    }

    #[test]
    fn id_with_nul_is_ignored() {
        assert_eq!(
            parse(b"id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n"),
            [ev("message", "a", "1"), ev("message", "b", "1")]
        );
    }

    #[test]
    fn last_event_id_is_set_at_dispatch_even_without_data() {
        let mut p = Parser::default();
        p.feed(b"id: 5\n").unwrap();
        assert_eq!(p.last_event_id(), "");
        p.feed(b"\n").unwrap();
        assert_eq!(p.last_event_id(), "5");
        assert_eq!(p.poll_event(), None);
        p.feed(b"data: x\n\n").unwrap();
        assert_eq!(p.poll_event(), Some(ev("message", "x", "5")));
    }

    #[test]
    fn empty_data_block_resets_event_type() {
        assert_eq!(parse(b"event: a\n\ndata: x\n\n"), [ev("message", "x", "")]);
        assert_eq!(parse(b"event:\ndata: x\n\n"), [ev("message", "x", "")]);
    }

    #[test]
    fn fields_without_colon_and_unknown_fields() {
        assert_eq!(
            parse(b"data\nfoo: bar\nevent\nDATA: no\ndata :no\n: data: no\ndata\n\n"),
            [ev("message", "\n", "")]
        );
        // Only the first colon separates; only one space is stripped.
        assert_eq!(parse(b"data:  a: b\n\n"), [ev("message", " a: b", "")]);
        assert_eq!(parse(b"data:\tx\n\n"), [ev("message", "\tx", "")]);
    }

    #[test]
    fn invalid_utf8_becomes_replacement_character() {
        assert_eq!(
            parse(b"data: a\xFFb\xE2\x82\n\n"),
            [ev("message", "a\u{FFFD}b\u{FFFD}", "")]
        );
        assert_eq!(
            parse("event: é\ndata: ü\n\n".as_bytes()),
            [ev("é", "ü", "")]
        );
    }

    #[test]
    fn incomplete_trailing_line_is_not_processed() {
        let mut p = Parser::default();
        p.feed(b"id: 9\n\nid: 10").unwrap();
        assert_eq!(p.last_event_id(), "9");
        p.receive_eof();
        p.feed(b"\n\n").unwrap();
        assert_eq!(p.last_event_id(), "9");
    }

    #[test]
    fn id_of_an_incomplete_event_is_discarded_at_eof() {
        let mut p = Parser::default();
        p.feed(b"id: 1\ndata: a\n\nid: 2\ndata: cut").unwrap();
        let _ = drain(&mut p);
        p.receive_eof();
        assert_eq!(p.last_event_id(), "1");
        p.feed(b"data: b\n\n").unwrap();
        assert_eq!(drain(&mut p), [ev("message", "b", "1")]);
    }

    #[test]
    fn id_survives_reconnection() {
        let mut p = Parser::default();
        p.feed(b"retry: 10\nid: 3\ndata: a\n\n").unwrap();
        let _ = drain(&mut p);
        p.receive_eof();
        p.feed(b"data: b\n\n").unwrap();
        assert_eq!(drain(&mut p), [ev("message", "b", "3")]);
        assert_eq!(p.retry(), Some(Duration::from_millis(10)));
    }

    #[test]
    fn set_last_event_id_seeds_the_stream() {
        let mut p = Parser::default();
        p.set_last_event_id("41");
        p.feed(b"data: a\n\nid: 42\ndata: b\n\n").unwrap();
        assert_eq!(
            drain(&mut p),
            [ev("message", "a", "41"), ev("message", "b", "42")]
        );
    }

    #[test]
    fn line_limit_counts_lines_split_across_feeds() {
        let limits = ParserLimits::default().max_line_len(8);
        let mut p = Parser::new(limits.clone());
        p.feed(b"data: 12\n\n").unwrap(); // exactly 8
        assert_eq!(p.poll_event(), Some(ev("message", "12", "")));
        p.feed(b"data:").unwrap();
        assert_eq!(
            p.feed(b"1234"),
            Err(ParseError::LineTooLong { size: 9, max: 8 })
        );
        // Failed: the same error again.
        assert_eq!(
            p.feed(b"\n\n"),
            Err(ParseError::LineTooLong { size: 9, max: 8 })
        );
        // A new stream starts fresh.
        p.receive_eof();
        p.feed(b"data: 1\n\n").unwrap();
        assert_eq!(p.poll_event(), Some(ev("message", "1", "")));

        // Events before the long line are still delivered.
        let mut p = Parser::new(limits);
        assert!(matches!(
            p.feed(b"data: a\n\n: a long comment\n"),
            Err(ParseError::LineTooLong { .. })
        ));
        assert_eq!(p.poll_event(), Some(ev("message", "a", "")));
    }

    #[test]
    fn data_limit_counts_the_whole_event() {
        let limits = ParserLimits::default().max_data_len(6);
        let mut p = Parser::new(limits);
        p.feed(b"data: ab\ndata: cd\n\n").unwrap(); // "ab\ncd\n" = 6 bytes
        assert_eq!(p.poll_event(), Some(ev("message", "ab\ncd", "")));
        p.feed(b"data: ab\ndata: cd\n").unwrap();
        assert_eq!(
            p.feed(b"data\n"),
            Err(ParseError::DataTooLong { size: 7, max: 6 })
        );
    }

    #[test]
    fn many_events_share_one_long_id() {
        let mut input = b"id: ".to_vec();
        input.extend(std::iter::repeat_n(b'x', 1000));
        input.extend(b"\n");
        input.extend(b"data\n\n".repeat(100));
        let mut p = Parser::default();
        p.feed(&input).unwrap();
        assert_eq!(p.queue.len(), 100);
        let first = p.queue.front().unwrap();
        // Every queued event points at the parser's one copy of the id.
        assert!(
            p.queue
                .iter()
                .all(|e| Arc::ptr_eq(&e.last_event_id, &first.last_event_id))
        );
        assert!(Arc::ptr_eq(&first.last_event_id, &p.last_event_id));
        assert_eq!(drain(&mut p).len(), 100);
    }
}
