//! The `Date` header value, formatted at most once per second per thread.

use std::cell::Cell;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;

/// Length of an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) const DATE_LEN: usize = 29;

/// Last second `httpdate` can format (9999-12-31T23:59:59Z).
const MAX_SECS: u64 = 253_402_300_799;

thread_local! {
    /// `(unix seconds, formatted date)`; `u64::MAX` means "not yet filled".
    static CACHE: Cell<(u64, [u8; DATE_LEN])> = const { Cell::new((u64::MAX, [0; DATE_LEN])) };
}

/// Appends the whole `Date: <date>\r\n` header line in one copy (the
/// response encoder's path: one capacity check instead of three).
pub(crate) fn write_date_line(dst: &mut BytesMut) {
    let mut line = *b"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n";
    if let Some(slot) = line.get_mut(6..6 + DATE_LEN) {
        slot.copy_from_slice(&current());
    }
    dst.extend_from_slice(&line);
}

/// The current date, formatted: from the cache unless the second changed.
fn current() -> [u8; DATE_LEN] {
    let secs = unix_secs(SystemTime::now());
    let (cached, mut text) = CACHE.get();
    if cached != secs {
        text = render(secs);
        CACHE.set((secs, text));
    }
    text
}

/// Appends the current date as an IMF-fixdate (RFC 9110 §5.6.7).
///
/// The formatted text is cached per thread and re-rendered only when the
/// wall-clock second changes, so the common path is a clock read and a
/// 29-byte copy, with no allocation.
#[cfg(test)]
pub(crate) fn write_date(dst: &mut BytesMut) {
    dst.extend_from_slice(&current());
}

/// Seconds since the epoch, clamped to what an HTTP date can express.
fn unix_secs(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .min(MAX_SECS)
}

/// Formats `secs` (already clamped) without allocating.
pub(crate) fn render(secs: u64) -> [u8; DATE_LEN] {
    let date = httpdate::HttpDate::from(UNIX_EPOCH + Duration::from_secs(secs.min(MAX_SECS)));
    let mut out = Fixed {
        buf: [0; DATE_LEN],
        len: 0,
    };
    // `Fixed` refuses to overflow; an IMF-fixdate is always exactly 29 bytes.
    let _ = fmt::write(&mut out, format_args!("{date}"));
    out.buf
}

/// A `fmt::Write` sink over a fixed array.
struct Fixed {
    buf: [u8; DATE_LEN],
    len: usize,
}

impl fmt::Write for Fixed {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_rfc_example() {
        // RFC 9110 §5.6.7: 784111777 is Sun, 06 Nov 1994 08:49:37 GMT.
        assert_eq!(&render(784_111_777), b"Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    fn clamps_instead_of_panicking() {
        assert_eq!(&render(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(&render(u64::MAX), b"Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(unix_secs(UNIX_EPOCH - Duration::from_secs(5)), 0);
    }

    #[test]
    fn the_date_line_is_the_header_around_the_date() {
        let mut line = BytesMut::new();
        write_date_line(&mut line);
        let mut date = BytesMut::new();
        write_date(&mut date);
        assert!(line.starts_with(b"Date: ") && line.ends_with(b"\r\n"));
        assert_eq!(line.len(), 6 + DATE_LEN + 2);
        // The same second, or the next if the clock ticked in between.
        let text = std::str::from_utf8(&line[6..6 + DATE_LEN]).unwrap();
        let when = httpdate::parse_http_date(text).unwrap();
        let also = httpdate::parse_http_date(std::str::from_utf8(&date).unwrap()).unwrap();
        let gap = also.duration_since(when).unwrap_or_default();
        assert!(
            gap <= Duration::from_secs(1),
            "{text} then {:?}",
            std::str::from_utf8(&date)
        );
    }

    #[test]
    fn write_date_appends_a_parsable_current_date() {
        let mut dst = BytesMut::from(&b"x"[..]);
        write_date(&mut dst);
        write_date(&mut dst);
        assert_eq!(dst.len(), 1 + 2 * DATE_LEN);
        let first = std::str::from_utf8(&dst[1..1 + DATE_LEN]).unwrap();
        let parsed = httpdate::parse_http_date(first).unwrap();
        let age = SystemTime::now().duration_since(parsed).unwrap();
        assert!(age < Duration::from_secs(60), "{first}");
    }
}
