//! The tokio layer over loopback TCP: handshake, echo, closing, errors.
#![cfg(feature = "tokio")]

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use oneport_hybi00::handshake::{self, HandshakeError};
use oneport_hybi00::{
    CloseCode, Config, Error, Message, Scheme, WebSocket, accept, connect, connect_with_config,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const LIMIT: Duration = Duration::from_secs(20);

/// Reads one request head the way the server in front of this crate does
/// and returns it with the bytes read past it.
async fn read_head(io: &mut TcpStream) -> (http::Request<()>, BytesMut) {
    let mut buf = BytesMut::new();
    loop {
        let limits = oneport_http1::Limits::default();
        if let Some((head, n)) = oneport_http1::parse_request(&buf, &limits).unwrap() {
            assert_eq!(head.body, oneport_http1::BodyKind::Empty, "no body framing");
            let leftover = buf.split_off(n);
            return (head.request, leftover);
        }
        assert!(
            io.read_buf(&mut buf).await.unwrap() > 0,
            "EOF inside the head"
        );
    }
}

/// Accepts one connection and runs the hybi-00 handshake on it.
async fn serve_once(config: Config) -> (String, JoinHandle<Result<WebSocket<TcpStream>, Error>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (mut io, _) = listener.accept().await.unwrap();
        let (req, leftover) = read_head(&mut io).await;
        assert!(handshake::is_hybi00_request(&req));
        accept(io, &req, leftover, Scheme::Ws, None, config).await
    });
    (format!("127.0.0.1:{}", addr.port()), task)
}

/// An echo server for one connection; returns what `recv` ended with.
async fn echo_once(config: Config) -> (String, JoinHandle<Option<Error>>) {
    let (addr, task) = serve_once(config).await;
    let echo = tokio::spawn(async move {
        let mut ws = task.await.unwrap().unwrap();
        while let Some(msg) = ws.recv().await {
            match msg {
                Ok(Message::Text(text)) => ws.send_text(&text).await.unwrap(),
                Ok(Message::Close(None)) => {}
                Ok(other) => panic!("hybi-00 delivered {other:?}"),
                Err(e) => return Some(e),
            }
        }
        None
    });
    (addr, echo)
}

fn raw_request(addr: &str, key1: &str, key2: &str) -> Vec<u8> {
    format!(
        "GET /demo HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\n\
         Origin: http://{addr}\r\nSec-WebSocket-Key1: {key1}\r\nSec-WebSocket-Key2: {key2}\r\n\r\n"
    )
    .into_bytes()
}

/// A raw client: sends the request and `extra` (key bytes and more) and
/// returns the stream after checking the server's answer.
async fn raw_client(addr: &str, extra: &[u8]) -> (TcpStream, BytesMut) {
    let (k1, k2, k3, expected) = handshake::client_keys();
    let mut io = TcpStream::connect(addr).await.unwrap();
    let mut out = raw_request(addr, &k1, &k2);
    out.extend_from_slice(&k3);
    out.extend_from_slice(extra);
    io.write_all(&out).await.unwrap();
    let mut buf = BytesMut::new();
    loop {
        if let Some((res, used)) =
            handshake::parse_response(&buf, &expected, &Config::default().limits).unwrap()
        {
            assert_eq!(
                res.headers()["sec-websocket-location"],
                format!("ws://{addr}/demo").as_str()
            );
            let rest = buf.split_off(used);
            return (io, rest);
        }
        assert!(io.read_buf(&mut buf).await.unwrap() > 0);
    }
}

async fn read_to_end(io: &mut TcpStream, mut already: BytesMut) -> Vec<u8> {
    let mut rest = Vec::new();
    io.read_to_end(&mut rest).await.unwrap();
    already.extend_from_slice(&rest);
    already.to_vec()
}

#[tokio::test]
async fn accept_and_connect_echo() {
    tokio::time::timeout(LIMIT, async {
        let (addr, echo) = echo_once(Config::default()).await;
        let mut ws = connect(&format!("ws://{addr}/demo?x=1")).await.unwrap();
        let long = "ü".repeat(100_000);
        for msg in ["hello", "", "héllo wörld €", long.as_str()] {
            ws.send_text(msg).await.unwrap();
            let got = ws.recv().await.unwrap().unwrap();
            assert_eq!(got, Message::Text(msg.to_owned().into()));
        }
        ws.close().await.unwrap();
        assert!(ws.recv().await.is_none(), "nothing after close");
        assert!(matches!(ws.send_text("late").await, Err(Error::Closed)));
        ws.close().await.unwrap();
        assert!(echo.await.unwrap().is_none(), "server saw a clean close");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn server_initiated_close_is_answered() {
    tokio::time::timeout(LIMIT, async {
        // A close timeout longer than the test: only the peer's answer can
        // end the server's close in time.
        let config = Config::default().close_timeout(Duration::from_secs(3600));
        let (addr, task) = serve_once(config).await;
        let server = tokio::spawn(async move {
            let mut ws = task.await.unwrap().unwrap();
            ws.send_text("bye").await.unwrap();
            ws.close().await.unwrap();
            assert!(ws.recv().await.is_none());
        });
        let mut ws = connect(&format!("ws://{addr}/")).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::Text("bye".into())
        );
        // The server's 0xFF 0x00 arrives as a Close without a code, already
        // answered; then the stream ends.
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::Close(None));
        assert!(ws.recv().await.is_none(), "the close ends the stream");
        assert!(matches!(ws.send_text("x").await, Err(Error::Closed)));
        server.await.unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn close_frame_bytes_on_the_wire() {
    tokio::time::timeout(LIMIT, async {
        let (addr, echo) = echo_once(Config::default()).await;
        let (mut io, rest) = raw_client(&addr, b"\x00ping\xFF").await;
        io.write_all(b"\xFF\x00").await.unwrap();
        let wire = read_to_end(&mut io, rest).await;
        assert_eq!(
            wire, b"\x00ping\xFF\xFF\x00",
            "echo, then the answering close, then EOF"
        );
        assert!(echo.await.unwrap().is_none());
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn invalid_utf8_closes_the_connection() {
    tokio::time::timeout(LIMIT, async {
        let (addr, echo) = echo_once(Config::default()).await;
        let (mut io, rest) = raw_client(&addr, b"\x00ok\xFF\x00\xC3\x28\xFF\x00never\xFF").await;
        let wire = read_to_end(&mut io, rest).await;
        assert_eq!(wire, b"\x00ok\xFF\xFF\x00", "no echo after the bad frame");
        let err = echo.await.unwrap().expect("an error");
        assert!(matches!(err, Error::InvalidUtf8), "{err}");
        assert_eq!(err.close_code(), Some(CloseCode::INVALID_PAYLOAD));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn oversized_frame_closes_the_connection() {
    tokio::time::timeout(LIMIT, async {
        let (addr, echo) = echo_once(Config::default().max_frame_size(8)).await;
        let (mut io, rest) = raw_client(&addr, b"\x0012345678\xFF\x00123456789").await;
        let wire = read_to_end(&mut io, rest).await;
        assert_eq!(wire, b"\x0012345678\xFF\xFF\x00");
        let err = echo.await.unwrap().expect("an error");
        assert!(
            matches!(err, Error::FrameTooLarge { size: 9, max: 8 }),
            "{err}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn discarded_frames_and_leftover_after_the_key_bytes() {
    tokio::time::timeout(LIMIT, async {
        let (addr, echo) = echo_once(Config::default()).await;
        // Frames sent in the same write as the key bytes end up in the
        // leftover and are decoded first.
        let (mut io, rest) =
            raw_client(&addr, b"\x80\x02zz\x00a\xFF\x05skip\xFF\x00b\xFF\xFF\x00").await;
        let wire = read_to_end(&mut io, rest).await;
        assert_eq!(wire, b"\x00a\xFF\x00b\xFF\xFF\x00");
        assert!(echo.await.unwrap().is_none());
    })
    .await
    .unwrap();
}

/// Sends a request (and `body`) and returns the whole answer up to EOF and
/// the server's result.
async fn refused(
    config: Config,
    key1: &str,
    key2: &str,
    body: &[u8],
    eof: bool,
) -> (String, Error) {
    let (addr, task) = serve_once(config).await;
    let mut io = TcpStream::connect(&addr).await.unwrap();
    let mut out = raw_request(&addr, key1, key2);
    out.extend_from_slice(body);
    io.write_all(&out).await.unwrap();
    if eof {
        io.shutdown().await.unwrap();
    }
    let mut answer = Vec::new();
    io.read_to_end(&mut answer).await.unwrap();
    let err = task.await.unwrap().expect_err("handshake must fail");
    (String::from_utf8(answer).unwrap(), err)
}

const KEY1: &str = "18x 6]8vM;54 *(5:  {   U1]8  z [  8";
const KEY2: &str = "1_ tx7X d  <  nw  334J702) 7]o}` 0";

#[tokio::test]
async fn draft_example_over_the_wire() {
    tokio::time::timeout(LIMIT, async {
        let (addr, task) = serve_once(Config::default()).await;
        let mut io = TcpStream::connect(&addr).await.unwrap();
        let mut out = raw_request(&addr, KEY1, KEY2);
        out.extend_from_slice(b"Tm[K T2u");
        io.write_all(&out).await.unwrap();
        let ws = task.await.unwrap().unwrap();
        drop(ws);
        let mut answer = Vec::new();
        io.read_to_end(&mut answer).await.unwrap();
        let expected = format!(
            "HTTP/1.1 101 WebSocket Protocol Handshake\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Origin: http://{addr}\r\nSec-WebSocket-Location: ws://{addr}/demo\r\n\r\n\
             fQJ,fN/4F4!~K~MH"
        );
        assert_eq!(String::from_utf8(answer).unwrap(), expected);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn key_without_spaces_is_a_400() {
    tokio::time::timeout(LIMIT, async {
        let (answer, err) =
            refused(Config::default(), "1868545188", KEY2, b"Tm[K T2u", false).await;
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        assert!(answer.ends_with("key contains no spaces\n"), "{answer}");
        assert!(
            matches!(err, Error::Handshake(HandshakeError::KeyNoSpaces)),
            "{err}"
        );
        assert_eq!(err.status(), Some(http::StatusCode::BAD_REQUEST));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn key_not_a_multiple_is_a_400() {
    tokio::time::timeout(LIMIT, async {
        let (answer, err) = refused(
            Config::default(),
            KEY1,
            "1_ tx7X d  <  nw  334J702) 7]o}` 3",
            b"Tm[K T2u",
            false,
        )
        .await;
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        assert!(
            matches!(err, Error::Handshake(HandshakeError::KeyNotMultiple)),
            "{err}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn short_body_then_timeout_is_a_400() {
    tokio::time::timeout(LIMIT, async {
        let config = Config::default().handshake_timeout(Duration::from_millis(200));
        // Three of the eight bytes, and the connection stays open.
        let (answer, err) = refused(config, KEY1, KEY2, b"Tm[", false).await;
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        assert!(answer.contains("Connection: close\r\n"), "{answer}");
        assert!(
            matches!(err, Error::Handshake(HandshakeError::Timeout)),
            "{err}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn short_body_then_eof_is_a_400() {
    tokio::time::timeout(LIMIT, async {
        let (answer, err) = refused(Config::default(), KEY1, KEY2, b"Tm[K", true).await;
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        assert!(
            matches!(err, Error::Handshake(HandshakeError::ShortBody)),
            "{err}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn key_bytes_arriving_late_in_pieces_are_fine() {
    tokio::time::timeout(LIMIT, async {
        let (addr, task) = serve_once(Config::default()).await;
        let mut io = TcpStream::connect(&addr).await.unwrap();
        io.write_all(&raw_request(&addr, KEY1, KEY2)).await.unwrap();
        for piece in [&b"Tm["[..], b"K T", b"2u\x00hi\xFF"] {
            tokio::time::sleep(Duration::from_millis(20)).await;
            io.write_all(piece).await.unwrap();
        }
        let mut ws = task.await.unwrap().unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::Text("hi".into())
        );
        let mut answer = vec![0u8; 512];
        let n = io.read(&mut answer).await.unwrap();
        assert!(answer[..n].ends_with(b"fQJ,fN/4F4!~K~MH"));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn what_hybi00_cannot_carry_is_a_typed_error() {
    tokio::time::timeout(LIMIT, async {
        let (addr, echo) = echo_once(Config::default()).await;
        let mut ws = connect(&format!("ws://{addr}/")).await.unwrap();
        assert!(matches!(
            ws.send(Message::Binary(bytes::Bytes::from_static(b"\x01")))
                .await,
            Err(Error::Unsupported(_))
        ));
        assert!(matches!(
            ws.send(Message::Ping(bytes::Bytes::new())).await,
            Err(Error::Unsupported(_))
        ));
        // A pong is accepted and sends nothing.
        ws.send(Message::Pong(bytes::Bytes::new())).await.unwrap();
        // The connection is still fine.
        ws.send_text("still here").await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::Text("still here".into())
        );
        ws.close().await.unwrap();
        assert!(echo.await.unwrap().is_none());
        assert!(matches!(
            connect("wss://127.0.0.1:1/").await,
            Err(Error::Unsupported(_))
        ));
        assert!(matches!(
            connect("http://127.0.0.1:1/").await,
            Err(Error::Handshake(HandshakeError::InvalidUrl(_)))
        ));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn client_refuses_a_wrong_answer() {
    tokio::time::timeout(LIMIT, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fake = tokio::spawn(async move {
            let (mut io, _) = listener.accept().await.unwrap();
            let (_req, _leftover) = read_head(&mut io).await;
            io.write_all(
                format!(
                    "HTTP/1.1 101 WebSocket Protocol Handshake\r\nUpgrade: WebSocket\r\n\
                     Connection: Upgrade\r\nSec-WebSocket-Location: ws://{addr}/\r\n\r\n0123456789abcdef"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
            let mut sink = Vec::new();
            let _ = io.read_to_end(&mut sink).await;
        });
        let err = connect(&format!("ws://{addr}/")).await.unwrap_err();
        assert!(matches!(err, Error::Handshake(HandshakeError::ChallengeMismatch)), "{err}");
        fake.await.unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn client_handshake_times_out_on_a_silent_server() {
    tokio::time::timeout(LIMIT, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let silent = tokio::spawn(async move {
            let (mut io, _) = listener.accept().await.unwrap();
            let mut sink = Vec::new();
            let _ = io.read_to_end(&mut sink).await;
        });
        let config = Config::default().handshake_timeout(Duration::from_millis(200));
        let err = connect_with_config(&format!("ws://{addr}/"), config)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Timeout), "{err}");
        silent.await.unwrap();
    })
    .await
    .unwrap();
}

/// Counts the writes that reach the stream.
struct Counting<S> {
    inner: S,
    writes: Arc<AtomicUsize>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counting<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counting<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let res = Pin::new(&mut this.inner).poll_write(cx, buf);
        if res.is_ready() {
            this.writes.fetch_add(1, Ordering::SeqCst);
        }
        res
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// A 16-byte text frame: `0x00`, "message 0000…", `0xFF`.
fn echo_frame(i: usize) -> Vec<u8> {
    let mut frame = vec![0x00];
    frame.extend_from_slice(format!("message {i:06}").as_bytes());
    frame.push(0xFF);
    assert_eq!(frame.len(), 16);
    frame
}

/// Echoes `count` pipelined frames over a counting stream and returns how
/// many writes it took and what the peer received.
async fn pipelined_echo(count: usize, config: Config) -> (usize, Vec<u8>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut client = TcpStream::connect(addr).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    let mut input = Vec::new();
    for i in 0..count {
        input.extend_from_slice(&echo_frame(i));
    }
    input.extend_from_slice(b"\xFF\x00");
    let writes = Arc::new(AtomicUsize::new(0));
    let io = Counting {
        inner: server,
        writes: writes.clone(),
    };
    // Everything arrives in the leftover, as after a pipelined handshake.
    let mut ws = WebSocket::from_raw_socket(io, config, BytesMut::from(&input[..]));
    while let Some(msg) = ws.recv().await {
        match msg.unwrap() {
            // Queued: `recv` writes the echoes of one read together.
            Message::Text(text) => ws.feed(Message::Text(text)).await.unwrap(),
            Message::Close(None) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    drop(ws);
    let mut wire = Vec::new();
    client.read_to_end(&mut wire).await.unwrap();
    (writes.load(Ordering::SeqCst), wire)
}

#[tokio::test]
async fn pipelined_echoes_leave_in_one_write() {
    tokio::time::timeout(LIMIT, async {
        let (writes, wire) = pipelined_echo(50, Config::default()).await;
        let mut expected = Vec::new();
        for i in 0..50 {
            expected.extend_from_slice(&echo_frame(i));
        }
        expected.extend_from_slice(b"\xFF\x00");
        assert_eq!(wire, expected);
        // 50 echoes and the closing frame: one write (a second only if the
        // kernel took a partial write), not 51.
        assert!(writes <= 2, "{writes} writes");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn the_write_buffer_is_bounded() {
    tokio::time::timeout(LIMIT, async {
        // Each echo is 16 bytes; a 40-byte buffer holds two.
        let config = Config::default().max_write_buffer_size(40);
        let (writes, wire) = pipelined_echo(20, config).await;
        assert_eq!(wire.len(), 20 * 16 + 2);
        assert!(
            writes >= 10,
            "the buffer was flushed as it filled: {writes} writes"
        );
        // A message larger than the whole buffer still goes through.
        let (addr, echo) = echo_once(Config::default().max_write_buffer_size(16)).await;
        let mut ws = connect(&format!("ws://{addr}/")).await.unwrap();
        let big = "x".repeat(10_000);
        ws.send_text(&big).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::Text(big.clone().into())
        );
        ws.close().await.unwrap();
        assert!(echo.await.unwrap().is_none());
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn eof_ends_the_stream() {
    tokio::time::timeout(LIMIT, async {
        let (addr, echo) = echo_once(Config::default()).await;
        let (io, _rest) = raw_client(&addr, b"\x00partial").await;
        drop(io);
        assert!(echo.await.unwrap().is_none(), "EOF is None, not an error");
    })
    .await
    .unwrap();
}

/// The dispatcher runs handlers on a multi-threaded runtime: the socket
/// and its futures must be `Send`.
#[allow(dead_code)]
fn futures_are_send(ws: &mut WebSocket<TcpStream>, req: &http::Request<()>) {
    fn send<T: Send>(_: T) {}
    send(ws.recv());
    send(ws.send_text("x"));
    send(ws.close());
    send(ws.flush());
    send(accept(
        tokio::io::empty(),
        req,
        BytesMut::new(),
        Scheme::Ws,
        None,
        Config::default(),
    ));
    send(connect("ws://127.0.0.1:1/"));
}

/// A text frame encoded once goes out as exactly its bytes from every
/// socket, after what the socket had queued itself, and the same bytes are
/// shared, not copied.
#[tokio::test]
async fn an_encoded_frame_is_shared_by_every_socket() {
    tokio::time::timeout(LIMIT, async {
        let frame = oneport_hybi00::EncodedText::new("to everyone");
        let shared = frame.as_bytes().as_ptr();
        for _ in 0..2 {
            let (a, mut b) = tokio::io::duplex(4096);
            let mut ws = WebSocket::from_raw_socket(a, Config::default(), BytesMut::new());
            ws.feed(Message::Text("own".into())).await.unwrap();
            ws.start_send_encoded(&frame).unwrap();
            ws.flush().await.unwrap();
            let mut wire = vec![0u8; 5 + 13];
            b.read_exact(&mut wire).await.unwrap();
            assert_eq!(&wire[..], b"\x00own\xFF\x00to everyone\xFF");
            assert_eq!(frame.clone().as_bytes().as_ptr(), shared);
        }
    })
    .await
    .unwrap();
}

/// A message sent while received bytes still wait in the read buffer is
/// written at once, not left for a `recv` that may never come.
#[tokio::test]
async fn a_send_is_written_even_if_recv_is_not_called_again() {
    tokio::time::timeout(LIMIT, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let input = [echo_frame(1), echo_frame(2)].concat();
        let mut ws =
            WebSocket::from_raw_socket(server, Config::default(), BytesMut::from(&input[..]));
        assert!(matches!(ws.recv().await, Some(Ok(Message::Text(_)))));
        ws.send_text("reply").await.unwrap();
        let mut got = [0u8; 7];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"\x00reply\xFF");
        ws.send(Message::text("again")).await.unwrap();
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"\x00again\xFF");
    })
    .await
    .unwrap();
}
