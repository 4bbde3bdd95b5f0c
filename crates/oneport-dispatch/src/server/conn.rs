//! One connection's reads and writes: request heads and bodies read before
//! their deadlines, queued answers written under the write timeout. What
//! to answer is decided in `http.rs`.

use std::io;
use std::time::Duration;

use crate::stream::ServerStream;
use bytes::{Buf, Bytes, BytesMut};
use http::StatusCode;
use oneport_http1::{BodyKind, ChunkedDecoder, RequestHead};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::time::{Instant, timeout, timeout_at};
use tracing::debug;

use super::Config;
use super::pool::{READ_CHUNK, give_back, take_buffer};
use crate::dispatcher::Context;

/// Chunk size when streaming a file body.
const FILE_CHUNK: usize = 64 * 1024;

/// The socket operations the request loop needs beyond reading and
/// writing: a write that never waits. A trait so that the loop can be
/// tested over a recording stream.
pub(super) trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {
    /// Writes what the socket takes now, or fails with `WouldBlock`.
    fn try_write_now(&mut self, buf: &[u8]) -> io::Result<usize>;

    /// Whether written bytes may wait in a buffer until a flush (TLS).
    fn needs_flush(&self) -> bool {
        false
    }
}

/// A borrowed socket, as a burst holds the connection's.
impl<T: Io + ?Sized> Io for &mut T {
    fn try_write_now(&mut self, buf: &[u8]) -> io::Result<usize> {
        (**self).try_write_now(buf)
    }

    fn needs_flush(&self) -> bool {
        (**self).needs_flush()
    }
}

impl Io for ServerStream {
    fn try_write_now(&mut self, buf: &[u8]) -> io::Result<usize> {
        ServerStream::try_write_now(self, buf)
    }

    fn needs_flush(&self) -> bool {
        ServerStream::needs_flush(self)
    }
}

/// One connection's state between requests.
pub(super) struct Conn<'c, T = ServerStream> {
    pub(super) io: T,
    /// Bytes read and not yet parsed. Empty (unallocated) while idle.
    pub(super) buf: BytesMut,
    /// Responses encoded and not yet written: all the answers to one read
    /// leave in one write.
    pub(super) out: BytesMut,
    pub(super) config: &'c Config,
    /// Whether the connection's span has its `protocol` yet (recorded
    /// once the first request's outcome tells).
    pub(super) named: bool,
}

/// What reading the next request head gave.
pub(super) enum ReadHead {
    Head(Box<RequestHead>),
    /// Everything read is answered and written; wait for the socket.
    Idle,
    /// The connection is over (end of input, or idle past the deadline).
    Done,
    /// The head is bad or too slow: answer with this status and close.
    Refused(StatusCode, String),
}

/// Why a request body could not be read.
pub(super) enum BodyError {
    /// Answer with this status and close.
    Status(StatusCode, String),
    /// The client went away.
    Eof,
    Io(io::Error),
}

/// What one read before a deadline gave.
pub(super) enum Read {
    Bytes,
    Eof,
    TimedOut,
}

impl<T: Io> Conn<'_, T> {
    /// Writes everything queued in `out`, within the write timeout.
    pub(super) async fn flush(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        // Most answers fit the socket's send buffer: write without arming
        // a timer, and wait (with the timeout) only for what is left.
        let mut sent = 0;
        while sent < self.out.len() {
            match self.io.try_write_now(&self.out[sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        if sent == self.out.len() && !self.io.needs_flush() {
            self.out.clear();
            return Ok(());
        }
        let rest = &self.out[sent..];
        let res = timeout(self.config.write_timeout, async {
            self.io.write_all(rest).await?;
            self.io.flush().await
        })
        .await;
        self.out.clear();
        match res {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "write timed out")),
        }
    }

    /// The one way this connection reads: at least `want` more bytes of
    /// room in `buf` (a pooled buffer when it has none), one read, before
    /// `deadline`.
    pub(super) async fn read_before(&mut self, deadline: Instant, want: usize) -> io::Result<Read> {
        if self.buf.capacity() == 0 {
            self.buf = take_buffer();
        }
        self.buf.reserve(want);
        match timeout_at(deadline, self.io.read_buf(&mut self.buf)).await {
            Ok(Ok(0)) => Ok(Read::Eof),
            Ok(Ok(_)) => Ok(Read::Bytes),
            Ok(Err(e)) => Err(e),
            Err(_) => Ok(Read::TimedOut),
        }
    }

    /// Reads and parses the next request head. With nothing buffered and
    /// `woken` false (the bytes of the last read are used up), it writes
    /// what is queued, returns both buffers to the pool and reports
    /// [`ReadHead::Idle`] instead of waiting.
    pub(super) async fn read_head(
        &mut self,
        woken: &mut bool,
        cx: &Context,
    ) -> io::Result<ReadHead> {
        if self.buf.is_empty() && !std::mem::take(woken) {
            self.flush().await?;
            give_back(&mut self.buf);
            give_back(&mut self.out);
            return Ok(ReadHead::Idle);
        }
        *woken = false;
        // Fixed at the first read this head needs: a pipelined head already
        // in the buffer asks nothing of the clock.
        let mut deadline = None;
        loop {
            if !self.buf.is_empty() {
                match oneport_http1::parse_request(&self.buf, &self.config.head_limits) {
                    Ok(Some((head, n))) => {
                        self.buf.advance(n);
                        return Ok(ReadHead::Head(Box::new(head)));
                    }
                    Ok(None) => {}
                    Err(e) => {
                        debug!(peer = %cx.peer, error = %e, "bad request head");
                        return Ok(ReadHead::Refused(e.status(), e.to_string()));
                    }
                }
            }
            self.flush().await?;
            let timeout = self.config.header_read_timeout;
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + timeout);
            match self.read_before(deadline, READ_CHUNK).await? {
                Read::Bytes => {}
                Read::Eof => {
                    if !self.buf.is_empty() {
                        debug!(peer = %cx.peer, "eof in the middle of a request head");
                    }
                    return Ok(ReadHead::Done);
                }
                Read::TimedOut if self.buf.is_empty() => return Ok(ReadHead::Done),
                Read::TimedOut => {
                    debug!(peer = %cx.peer, "request head timed out");
                    return Ok(ReadHead::Refused(
                        StatusCode::REQUEST_TIMEOUT,
                        "request head timed out".into(),
                    ));
                }
            }
        }
    }

    /// Reads the body announced by `kind`, within the body timeout.
    pub(super) async fn read_body(&mut self, kind: BodyKind) -> Result<Bytes, BodyError> {
        if kind == BodyKind::Empty {
            // The common case asks nothing of the clock.
            return Ok(Bytes::new());
        }
        let deadline = Instant::now() + self.config.body_read_timeout;
        match kind {
            BodyKind::Empty => Ok(Bytes::new()),
            BodyKind::Length(n) => {
                let max = self.config.limits.max_body_bytes;
                if n > max {
                    return Err(BodyError::Status(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("body of {n} bytes is over the limit of {max}"),
                    ));
                }
                // `n <= max_body_bytes`, which is a usize-sized limit.
                let n = usize::try_from(n).map_err(|_| {
                    BodyError::Status(StatusCode::PAYLOAD_TOO_LARGE, "body too large".into())
                })?;
                while self.buf.len() < n {
                    let want = n - self.buf.len();
                    self.body_read(deadline, want).await?;
                }
                Ok(self.buf.split_to(n).freeze())
            }
            BodyKind::Chunked => {
                let mut decoder = ChunkedDecoder::new(&self.config.limits);
                let mut body = BytesMut::new();
                loop {
                    let used = decoder
                        .decode(&self.buf, &mut body)
                        .map_err(|e| BodyError::Status(e.status(), e.to_string()))?;
                    self.buf.advance(used);
                    if decoder.is_done() {
                        return Ok(body.freeze());
                    }
                    self.body_read(deadline, READ_CHUNK).await?;
                }
            }
        }
    }

    /// One read of body bytes; what ends the body early is an error.
    async fn body_read(&mut self, deadline: Instant, want: usize) -> Result<(), BodyError> {
        match self.read_before(deadline, want).await {
            Ok(Read::Bytes) => Ok(()),
            Ok(Read::Eof) => Err(BodyError::Eof),
            Ok(Read::TimedOut) => Err(BodyError::Status(
                StatusCode::REQUEST_TIMEOUT,
                "request body timed out".into(),
            )),
            Err(e) => Err(BodyError::Io(e)),
        }
    }

    /// Writes what is queued, then streams a file body. Callers box this
    /// future: file streaming is rare next to small answers, and its state
    /// would otherwise widen every request's future.
    pub(super) async fn send_file_body(
        &mut self,
        (file, len): (tokio::fs::File, u64),
    ) -> io::Result<()> {
        self.flush().await?;
        send_file(&mut self.io, file, len, self.config.write_timeout).await
    }
}

/// Streams `len` bytes of `file` to `io`, within eight write timeouts.
async fn send_file(
    io: &mut (impl tokio::io::AsyncWrite + Unpin),
    file: tokio::fs::File,
    len: u64,
    write_timeout: Duration,
) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(FILE_CHUNK, file.take(len));
    let copy = async {
        loop {
            let chunk = reader.fill_buf().await?;
            if chunk.is_empty() {
                // TLS records may still wait in the session's buffer.
                io.flush().await?;
                return Ok::<_, io::Error>(());
            }
            let n = chunk.len();
            io.write_all(chunk).await?;
            reader.consume(n);
        }
    };
    match timeout(write_timeout.saturating_mul(8), copy).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "file send timed out",
        )),
    }
}
