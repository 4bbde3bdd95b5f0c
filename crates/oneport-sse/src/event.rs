//! Building and encoding one event (WHATWG HTML §9.2.5, "Parsing an event
//! stream", read backwards).
//!
//! The encoder writes only what a conforming parser reads back to the same
//! event: LF line endings, `field: value` with one space after the colon
//! (a parser strips exactly one, so values that start with a space survive),
//! one `data:` line per line of data, and the blank line that dispatches.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::EventError;

/// One server-sent event to encode: data, event type, id, retry hint and a
/// comment, each optional.
///
/// An event without data (for example `Event::default().id("7")?`) is still
/// valid on the wire: a parser dispatches nothing for it, but it does move
/// the client's last event ID (and its reconnection time, for `retry`).
///
/// # Examples
///
/// ```
/// use oneport_sse::Event;
///
/// let ev = Event::new("hello\nworld").event("greeting")?.id("42")?;
/// assert_eq!(
///     &ev.to_bytes()[..],
///     b"event: greeting\nid: 42\ndata: hello\ndata: world\n\n"
/// );
/// # Ok::<(), oneport_sse::EventError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event {
    data: Option<String>,
    event: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
    comment: Option<String>,
}

impl Event {
    /// An event carrying `data`.
    ///
    /// The data may contain CR, LF or CRLF: each one starts a new `data:`
    /// line, so a parser reads every line break back as a single LF.
    pub fn new(data: impl Into<String>) -> Self {
        Event {
            data: Some(data.into()),
            ..Event::default()
        }
    }

    /// Sets the event type (the `event:` field; a browser delivers the event
    /// to `addEventListener(name, ..)` instead of `onmessage`). An empty name
    /// means the default type, `message`.
    ///
    /// # Errors
    ///
    /// [`EventError::InvalidEventName`] if `name` contains CR, LF or NUL.
    pub fn event(mut self, name: impl Into<String>) -> Result<Self, EventError> {
        let name = name.into();
        if !is_single_line(&name) {
            return Err(EventError::InvalidEventName);
        }
        self.event = Some(name);
        Ok(self)
    }

    /// Sets the event id (the `id:` field). The client remembers it and sends
    /// it back in `Last-Event-ID` when it reconnects. An empty id resets the
    /// client's last event ID.
    ///
    /// # Errors
    ///
    /// [`EventError::InvalidId`] if `id` contains CR, LF or NUL (a parser
    /// ignores an `id` field that contains NUL).
    pub fn id(mut self, id: impl Into<String>) -> Result<Self, EventError> {
        let id = id.into();
        if !is_single_line(&id) {
            return Err(EventError::InvalidId);
        }
        self.id = Some(id);
        Ok(self)
    }

    /// Sets an id the caller has already checked to be a single line (a
    /// decimal number from the hub).
    #[cfg(feature = "tokio")]
    pub(crate) fn with_trusted_id(mut self, id: String) -> Self {
        debug_assert!(is_single_line(&id));
        self.id = Some(id);
        self
    }

    /// Sets the reconnection time hint, in milliseconds (the `retry:` field).
    #[must_use]
    pub fn retry(mut self, ms: u64) -> Self {
        self.retry = Some(ms);
        self
    }

    /// Sets a comment, written before the fields. Comments are ignored by
    /// parsers; a comment with line breaks becomes several `:` lines.
    #[must_use]
    pub fn comment(mut self, text: impl Into<String>) -> Self {
        self.comment = Some(text.into());
        self
    }

    /// The data, if any.
    pub fn data(&self) -> Option<&str> {
        self.data.as_deref()
    }

    /// The event type, if one was set.
    pub fn event_type(&self) -> Option<&str> {
        self.event.as_deref()
    }

    /// The id, if one was set.
    pub fn id_str(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The reconnection time hint in milliseconds, if one was set.
    pub fn retry_ms(&self) -> Option<u64> {
        self.retry
    }

    /// Appends the wire form to `dst`: comment lines, then `event:`, `id:`,
    /// `retry:`, the `data:` lines, and the blank line that dispatches.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(self.encoded_len_hint());
        if let Some(comment) = &self.comment {
            put_comment_lines(comment, dst);
        }
        if let Some(event) = &self.event {
            put_field(dst, b"event", event);
        }
        if let Some(id) = &self.id {
            put_field(dst, b"id", id);
        }
        if let Some(ms) = self.retry {
            dst.put_slice(b"retry: ");
            put_decimal(dst, ms);
            dst.put_u8(b'\n');
        }
        if let Some(data) = &self.data {
            for line in Lines::new(data) {
                put_field(dst, b"data", line);
            }
        }
        dst.put_u8(b'\n');
    }

    /// The wire form as one shared buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut dst = BytesMut::with_capacity(self.encoded_len_hint());
        self.encode(&mut dst);
        dst.freeze()
    }

    /// Upper bound of the encoded size, close enough to reserve once.
    fn encoded_len_hint(&self) -> usize {
        // Per line at most "data: " + "\n" of overhead; a CRLF pair that
        // becomes one line saves a byte, so counting every CR and LF as a
        // new line over-estimates.
        fn lines_len(s: &str, per_line: usize) -> usize {
            let breaks = s.bytes().filter(|&b| b == b'\r' || b == b'\n').count();
            s.len() + (breaks + 1) * per_line
        }
        let mut n = 1;
        if let Some(c) = &self.comment {
            n += lines_len(c, 3);
        }
        if let Some(e) = &self.event {
            n += e.len() + 8;
        }
        if let Some(id) = &self.id {
            n += id.len() + 5;
        }
        if self.retry.is_some() {
            n += 28;
        }
        if let Some(d) = &self.data {
            n += lines_len(d, 7);
        }
        n
    }
}

/// Appends a comment block: one `: text` line per line of `text`, then a
/// blank line.
///
/// A comment is ignored by parsers, and the blank line after it dispatches
/// nothing (the data buffer is empty), so this is the usual keep-alive: it
/// keeps proxies and the client's read timeout from closing an idle stream
/// without the client seeing anything. Write it only between events, never
/// inside one (the [`Hub`](crate::Hub) writes whole events, so it does).
///
/// ```
/// let mut buf = bytes::BytesMut::new();
/// oneport_sse::encode_comment("keep-alive", &mut buf);
/// assert_eq!(&buf[..], b": keep-alive\n\n");
/// ```
pub fn encode_comment(text: &str, dst: &mut BytesMut) {
    dst.reserve(text.len() + 4);
    put_comment_lines(text, dst);
    dst.put_u8(b'\n');
}

fn put_comment_lines(text: &str, dst: &mut BytesMut) {
    for line in Lines::new(text) {
        dst.put_u8(b':');
        if !line.is_empty() {
            dst.put_u8(b' ');
            dst.put_slice(line.as_bytes());
        }
        dst.put_u8(b'\n');
    }
}

/// `name: value\n`, or `name:\n` for an empty value.
fn put_field(dst: &mut BytesMut, name: &[u8], value: &str) {
    dst.put_slice(name);
    dst.put_u8(b':');
    if !value.is_empty() {
        dst.put_u8(b' ');
        dst.put_slice(value.as_bytes());
    }
    dst.put_u8(b'\n');
}

fn put_decimal(dst: &mut BytesMut, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        if let Some(d) = digits.get_mut(start) {
            // `n % 10` is below 10, so the cast cannot truncate.
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    dst.put_slice(digits.get(start..).unwrap_or_default());
}

fn is_single_line(s: &str) -> bool {
    !s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

/// The lines of `s`, split at CRLF, CR or LF. Always yields at least one
/// (possibly empty) line, and a trailing line break yields a final empty
/// line, so joining the lines with LF gives `s` with normalised line breaks.
#[derive(Debug)]
pub(crate) struct Lines<'a> {
    rest: Option<&'a str>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Lines { rest: Some(s) }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        match s.find(['\r', '\n']) {
            None => {
                self.rest = None;
                Some(s)
            }
            Some(i) => {
                let line = s.get(..i).unwrap_or_default();
                let after = if s.get(i..i + 2) == Some("\r\n") {
                    i + 2
                } else {
                    i + 1
                };
                self.rest = Some(s.get(after..).unwrap_or_default());
                Some(line)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(ev: &Event) -> String {
        String::from_utf8(ev.to_bytes().to_vec()).unwrap()
    }

    #[test]
    fn data_lines_split_at_every_line_break_kind() {
        let ev = Event::new("a\nb\r\nc\rd");
        assert_eq!(wire(&ev), "data: a\ndata: b\ndata: c\ndata: d\n\n");
    }

    #[test]
    fn trailing_and_empty_lines_are_kept() {
        assert_eq!(wire(&Event::new("")), "data:\n\n");
        assert_eq!(wire(&Event::new("a\n")), "data: a\ndata:\n\n");
        assert_eq!(wire(&Event::new("\r\n")), "data:\ndata:\n\n");
        assert_eq!(wire(&Event::new(" lead")), "data:  lead\n\n");
    }

    #[test]
    fn field_order_is_comment_event_id_retry_data() {
        let ev = Event::new("x")
            .comment("c1\nc2")
            .retry(3000)
            .id("7")
            .unwrap()
            .event("tick")
            .unwrap();
        assert_eq!(
            wire(&ev),
            ": c1\n: c2\nevent: tick\nid: 7\nretry: 3000\ndata: x\n\n"
        );
    }

    #[test]
    fn retry_encodes_extremes() {
        assert_eq!(wire(&Event::default().retry(0)), "retry: 0\n\n");
        assert_eq!(
            wire(&Event::default().retry(u64::MAX)),
            "retry: 18446744073709551615\n\n"
        );
    }

    #[test]
    fn empty_event_and_id_values() {
        let ev = Event::default().id("").unwrap().event("").unwrap();
        assert_eq!(wire(&ev), "event:\nid:\n\n");
    }

    #[test]
    fn single_line_fields_reject_cr_lf_nul() {
        for bad in ["a\nb", "a\rb", "a\0b", "\n", "\r\n"] {
            assert_eq!(
                Event::new("x").event(bad).unwrap_err(),
                EventError::InvalidEventName
            );
            assert_eq!(Event::new("x").id(bad).unwrap_err(), EventError::InvalidId);
        }
        assert_eq!(Event::new("x").id("é 1").unwrap().id_str(), Some("é 1"));
    }

    #[test]
    fn comment_helper() {
        let mut b = BytesMut::new();
        encode_comment("", &mut b);
        encode_comment("a\r\nb", &mut b);
        assert_eq!(&b[..], b":\n\n: a\n: b\n\n");
    }

    #[test]
    fn size_hint_is_an_upper_bound() {
        let evs = [
            Event::default(),
            Event::new("\r\n\r\n\n\r"),
            Event::new("x".repeat(100)).comment("\n\n").retry(u64::MAX),
            Event::new("a").id("1").unwrap().event("e").unwrap(),
        ];
        for ev in evs {
            assert!(ev.to_bytes().len() <= ev.encoded_len_hint(), "{ev:?}");
        }
    }

    #[test]
    fn lines_iterator() {
        let v: Vec<_> = Lines::new("").collect();
        assert_eq!(v, [""]);
        let v: Vec<_> = Lines::new("a\r\n\r\rb\n").collect();
        assert_eq!(v, ["a", "", "", "b", ""]);
    }
}
