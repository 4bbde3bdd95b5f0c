//! The tokio layer over loopback TCP and in-memory pipes: echo, automatic
//! pong, close echo, protocol errors on the wire, split halves, bounded
//! write buffering, coalesced writes, timers, and the client handshake.

#![cfg(feature = "tokio")]

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use oneport_rfc6455::{
    CloseCode, CloseFrame, Config, ConnectOptions, Connection, Error, Fin, HandshakeError, Message,
    OpCode, OriginPolicy, Role, WebSocket, check_request, connect, connect_with, encode_frame,
    response,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The request head at the start of `buf`, parsed by the server's codec.
fn parse_request(buf: &[u8]) -> Option<(http::Request<()>, usize)> {
    oneport_http1::parse_request(buf, &oneport_http1::Limits::default())
        .unwrap()
        .map(|(head, n)| (head.request, n))
}

/// Every test body runs under this bound.
async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("test timed out")
}

/// The bound for tests on virtual time, where minutes pass instantly.
async fn bounded_virtual<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(3600), f)
        .await
        .expect("test timed out")
}

// --- helpers ---------------------------------------------------------------

fn head_bytes(res: &http::Response<()>) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {}\r\n", res.status()).into_bytes();
    for (name, value) in res.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Accepts one connection and runs the server side of the handshake,
/// choosing `protocol`.
async fn accept(
    listener: &TcpListener,
    config: Config,
    protocol: Option<&str>,
) -> WebSocket<TcpStream> {
    let (mut stream, _) = listener.accept().await.unwrap();
    let mut buf = BytesMut::new();
    let (req, len) = loop {
        if let Some(parsed) = parse_request(&buf) {
            break parsed;
        }
        assert_ne!(stream.read_buf(&mut buf).await.unwrap(), 0);
    };
    let up = check_request(&req, &OriginPolicy::SameHost).unwrap();
    stream
        .write_all(&head_bytes(&response(&up.key, protocol)))
        .await
        .unwrap();
    let leftover = buf.split_off(len);
    WebSocket::from_raw_socket(stream, Role::Server, config, leftover)
}

/// A server and a client WebSocket connected over loopback TCP.
async fn tcp_pair(
    server_config: Config,
    client_config: Config,
) -> (
    WebSocket<TcpStream>,
    WebSocket<oneport_rfc6455::ClientStream>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/socket", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { accept(&listener, server_config, None).await });
    let (client, res) = connect_with(&url, ConnectOptions::default().config(client_config))
        .await
        .unwrap();
    assert_eq!(res.status(), 101);
    (server.await.unwrap(), client)
}

/// The far end of an in-memory pipe, driven with the sans-IO engine so the
/// test sees (and can forge) exact frames.
struct RawPeer {
    io: DuplexStream,
    conn: Connection,
    buf: BytesMut,
}

impl RawPeer {
    fn new(io: DuplexStream, role: Role) -> Self {
        RawPeer {
            io,
            conn: Connection::new(role, Config::default()),
            buf: BytesMut::new(),
        }
    }

    async fn send(&mut self, msg: Message) {
        let mut out = BytesMut::new();
        self.conn.encode(&msg, &mut out).unwrap();
        self.io.write_all(&out).await.unwrap();
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        self.io.write_all(bytes).await.unwrap();
    }

    /// The next message, or `None` at end of stream.
    async fn recv(&mut self) -> Option<Message> {
        loop {
            if let Some(m) = self.conn.receive(&mut self.buf).unwrap() {
                return Some(m);
            }
            if self.io.read_buf(&mut self.buf).await.unwrap() == 0 {
                return None;
            }
        }
    }
}

/// A server WebSocket over a pipe whose other end is a raw client.
fn pipe_server(config: Config) -> (WebSocket<DuplexStream>, RawPeer) {
    let (a, b) = tokio::io::duplex(64 * 1024);
    (
        WebSocket::from_raw_socket(a, Role::Server, config, BytesMut::new()),
        RawPeer::new(b, Role::Client),
    )
}

fn masked(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(
        opcode,
        Fin::from_bit(fin),
        Some([9, 8, 7, 6]),
        payload,
        &mut out,
    );
    out.to_vec()
}

async fn echo<S: AsyncRead + AsyncWrite + Unpin>(
    mut ws: WebSocket<S>,
) -> (WebSocket<S>, Option<Error>) {
    while let Some(next) = ws.recv().await {
        match next {
            Ok(m) if m.is_data() => {
                // Queued: `recv` writes the echoes of one read together.
                if let Err(e) = ws.feed(m).await {
                    return (ws, Some(e));
                }
            }
            Ok(_) => {}
            Err(e) => return (ws, Some(e)),
        }
    }
    (ws, None)
}

// --- echo and close -------------------------------------------------------------

#[tokio::test]
async fn client_server_echo_over_tcp() {
    bounded(async {
        let (server, mut client) = tcp_pair(Config::default(), Config::default()).await;
        let server = tokio::spawn(echo(server));
        let big: Vec<u8> = (0..(1 << 20)).map(|i: u32| (i % 251) as u8).collect();
        let msgs = [
            Message::text("hello"),
            Message::text(""),
            Message::binary(vec![0, 1, 2, 255]),
            Message::text("é".repeat(5000)),
            Message::binary(big),
        ];
        for m in &msgs {
            client.send(m.clone()).await.unwrap();
            assert_eq!(client.recv().await.unwrap().unwrap(), *m);
        }
        client
            .close(Some(CloseFrame::new(CloseCode::NORMAL, "done")))
            .await
            .unwrap();
        let (server, err) = server.await.unwrap();
        assert!(err.is_none(), "{err:?}");
        // Idle or closed, neither side holds a buffer.
        assert_eq!(server.read_buffer_capacity(), 0);
        assert_eq!(server.write_buffer_len(), 0);
        assert_eq!(client.read_buffer_capacity(), 0);
        assert!(client.recv().await.is_none());
    })
    .await;
}

#[tokio::test]
async fn sixteen_mib_message_echo() {
    bounded(async {
        let (server, mut client) = tcp_pair(Config::default(), Config::default()).await;
        let server = tokio::spawn(echo(server));
        let big = Bytes::from(vec![b'a'; 16 << 20]);
        client
            .send(Message::Text(big.clone().try_into().unwrap()))
            .await
            .unwrap();
        match client.recv().await.unwrap().unwrap() {
            Message::Text(t) => assert_eq!(t.as_bytes(), &big),
            other => panic!("{other:?}"),
        }
        client.close(None).await.unwrap();
        assert!(server.await.unwrap().1.is_none());
    })
    .await;
}

#[tokio::test]
async fn idle_connection_holds_no_read_buffer() {
    bounded(async {
        let (mut server, mut peer) = pipe_server(Config::default());
        assert_eq!(server.read_buffer_capacity(), 0);
        peer.send(Message::text("one")).await;
        assert_eq!(server.recv().await.unwrap().unwrap(), Message::text("one"));
        assert_eq!(server.read_buffer_capacity(), 0, "released once parsed");
        // A partial frame is kept, then released when completed.
        let frame = masked(OpCode::Binary, true, &[1; 100]);
        peer.send_raw(&frame[..50]).await;
        let pending = tokio::time::timeout(Duration::from_millis(50), server.recv()).await;
        assert!(pending.is_err());
        assert!(server.read_buffer_len() > 0);
        peer.send_raw(&frame[50..]).await;
        assert_eq!(
            server.recv().await.unwrap().unwrap(),
            Message::binary(vec![1; 100])
        );
        assert_eq!(server.read_buffer_capacity(), 0);
    })
    .await;
}

#[tokio::test]
async fn pings_are_answered_automatically() {
    bounded(async {
        let (mut server, mut peer) = pipe_server(Config::default());
        peer.send(Message::Ping(Bytes::from_static(b"are you there")))
            .await;
        // recv reports the ping (already answered)...
        assert_eq!(
            server.recv().await.unwrap().unwrap(),
            Message::Ping(Bytes::from_static(b"are you there"))
        );
        // ...and the pong leaves before the next read.
        let server = tokio::spawn(async move {
            let next = server.recv().await;
            (server, next)
        });
        assert_eq!(
            peer.recv().await.unwrap(),
            Message::Pong(Bytes::from_static(b"are you there"))
        );
        peer.send(Message::Pong(Bytes::from_static(b"unsolicited")))
            .await;
        let (_, next) = server.await.unwrap();
        assert_eq!(
            next.unwrap().unwrap(),
            Message::Pong(Bytes::from_static(b"unsolicited"))
        );
    })
    .await;
}

#[tokio::test]
async fn close_is_echoed_with_the_peers_code() {
    bounded(async {
        for (sent, echoed) in [
            (
                Some(CloseFrame::new(CloseCode::new(4001), "bye")),
                Some(CloseFrame::new(CloseCode::new(4001), "")),
            ),
            (
                Some(CloseFrame::new(CloseCode::AWAY, "")),
                Some(CloseFrame::new(CloseCode::AWAY, "")),
            ),
            (None, None),
        ] {
            let (mut server, mut peer) = pipe_server(Config::default());
            peer.send(Message::Close(sent.clone())).await;
            assert_eq!(server.recv().await.unwrap().unwrap(), Message::Close(sent));
            assert!(server.recv().await.is_none());
            assert!(matches!(
                server.send(Message::text("late")).await,
                Err(Error::AlreadyClosed)
            ));
            assert_eq!(peer.recv().await.unwrap(), Message::Close(echoed));
            // The server shut its side down after the handshake.
            assert!(peer.recv().await.is_none());
        }
    })
    .await;
}

#[tokio::test]
async fn eof_without_close_is_connection_closed() {
    bounded(async {
        let (mut server, peer) = pipe_server(Config::default());
        drop(peer);
        assert!(matches!(
            server.recv().await,
            Some(Err(Error::ConnectionClosed))
        ));
        assert!(server.recv().await.is_none());
    })
    .await;
}

// --- protocol errors close with their code -------------------------------------------

async fn fails_with(wire: Vec<u8>, code: CloseCode) {
    let (mut server, mut peer) = pipe_server(Config::default());
    peer.send_raw(&wire).await;
    let err = loop {
        match server.recv().await.unwrap() {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    assert_eq!(err.close_code(), Some(code), "{err}");
    assert!(server.recv().await.is_none());
    assert_eq!(server.read_buffer_capacity(), 0);
    assert_eq!(
        peer.recv().await.unwrap(),
        Message::Close(Some(CloseFrame::new(code, "")))
    );
    assert!(peer.recv().await.is_none());
}

#[tokio::test]
async fn protocol_errors_are_closed_with_their_code() {
    bounded(async {
        let mut unmasked = BytesMut::new();
        encode_frame(OpCode::Text, Fin::Final, None, b"hi", &mut unmasked);
        fails_with(unmasked.to_vec(), CloseCode::PROTOCOL).await;
        fails_with(
            masked(OpCode::Continuation, true, b"x"),
            CloseCode::PROTOCOL,
        )
        .await;
        fails_with(
            masked(OpCode::Text, true, b"\xce\xba\xff"),
            CloseCode::INVALID_PAYLOAD,
        )
        .await;
        // Fail fast: the rest of the fragment never arrives, yet the error does.
        let mut partial = masked(OpCode::Text, false, b"ok");
        partial.extend(&masked(OpCode::Continuation, true, b"\xed\xa0\x80 and much more")[..9]);
        fails_with(partial, CloseCode::INVALID_PAYLOAD).await;
        let mut huge = vec![0x82u8, 0xFF];
        huge.extend_from_slice(&(1u64 << 60).to_be_bytes());
        huge.extend_from_slice(&[1, 2, 3, 4]);
        fails_with(huge, CloseCode::TOO_BIG).await;
    })
    .await;
}

// --- split -----------------------------------------------------------------------------

/// Both halves wait for room on one stalled transport, which remembers a
/// single waker for writes (as tokio's pipe and a socket's registration
/// do): when the peer drains it, both must hear it, through the fan-out
/// that `split` makes.
#[tokio::test]
async fn split_halves_both_wake_when_a_full_transport_drains() {
    bounded(async {
        let (a, b) = tokio::io::duplex(256);
        let server =
            WebSocket::from_raw_socket(a, Role::Server, Config::default(), BytesMut::new());
        let mut client =
            WebSocket::from_raw_socket(b, Role::Client, Config::default(), BytesMut::new());
        let (mut rx, mut tx) = server.split();
        // On this single-threaded runtime each yield lets the spawned
        // tasks run until they wait.
        let settle = || async {
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }
        };
        let sender = tokio::spawn(async move {
            for i in 0..20u8 {
                tx.send(Message::binary(vec![i; 100])).await.unwrap();
            }
            tx
        });
        settle().await;
        assert!(!sender.is_finished(), "the pipe is full: the sender waits");
        // The receiver now owes a pong and waits for room too, from its own
        // task, after the sender did.
        client
            .send(Message::Ping(Bytes::from_static(b"p")))
            .await
            .unwrap();
        let receiver = tokio::spawn(async move {
            while let Some(m) = rx.next().await {
                if m.is_err() {
                    break;
                }
            }
        });
        settle().await;
        let (mut data, mut pongs) = (Vec::new(), 0);
        while data.len() < 20 || pongs < 1 {
            match client.recv().await.unwrap().unwrap() {
                Message::Binary(b) => data.push(b[0]),
                Message::Pong(_) => pongs += 1,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(data, (0..20).collect::<Vec<u8>>());
        drop(sender.await.unwrap());
        drop(client);
        receiver.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn split_halves_work_from_two_tasks() {
    bounded(async {
        let (server, mut client) = tcp_pair(Config::default(), Config::default()).await;
        let (mut rx, mut tx) = server.split();
        assert!(rx.is_pair_of(&tx));
        // The sender streams 200 messages while the receiver, in another
        // task, collects the client's messages and answers its pings.
        let sender = tokio::spawn(async move {
            for i in 0..200 {
                tx.send(Message::text(format!("s{i}"))).await.unwrap();
            }
            tx
        });
        let receiver = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(m) = rx.next().await {
                match m.unwrap() {
                    Message::Text(t) => got.push(t.to_string()),
                    Message::Close(_) => {}
                    _ => {}
                }
            }
            got
        });
        let mut from_server = Vec::new();
        let mut pongs = 0;
        for i in 0..200 {
            client.send(Message::text(format!("c{i}"))).await.unwrap();
            if i % 20 == 0 {
                client
                    .send(Message::Ping(Bytes::from(format!("p{i}"))))
                    .await
                    .unwrap();
            }
        }
        while from_server.len() < 200 || pongs < 10 {
            match client.recv().await.unwrap().unwrap() {
                Message::Text(t) => from_server.push(t.to_string()),
                Message::Pong(_) => pongs += 1,
                other => panic!("{other:?}"),
            }
        }
        let expected: Vec<String> = (0..200).map(|i| format!("s{i}")).collect();
        assert_eq!(from_server, expected);
        let mut tx = sender.await.unwrap();
        tx.close(Some(CloseFrame::new(CloseCode::NORMAL, "")))
            .await
            .unwrap();
        // The client sees the server's close, answers it, and the receiving
        // half ends.
        assert_eq!(
            client.recv().await.unwrap().unwrap(),
            Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))
        );
        let got = receiver.await.unwrap();
        let expected: Vec<String> = (0..200).map(|i| format!("c{i}")).collect();
        assert_eq!(got, expected);
    })
    .await;
}

// --- write buffering -------------------------------------------------------------------

#[tokio::test]
async fn send_waits_when_the_peer_does_not_read() {
    bounded(async {
        let max = 64 * 1024;
        let (a, _b) = tokio::io::duplex(16 * 1024);
        let mut ws = WebSocket::from_raw_socket(
            a,
            Role::Server,
            Config::default().max_write_buffer_size(max),
            BytesMut::new(),
        );
        let msg = Message::binary(vec![7u8; 10 * 1024]);
        // Sink::feed queues without flushing, until the buffer is full.
        let mut fed = 0;
        loop {
            let feed = tokio::time::timeout(Duration::from_millis(100), ws.feed(msg.clone())).await;
            assert!(ws.write_buffer_len() <= max + 10 * 1024 + 14);
            match feed {
                Ok(r) => r.unwrap(),
                Err(_) => break,
            }
            fed += 1;
            assert!(fed < 100, "feeding never blocked");
        }
        assert!(fed >= 6, "the buffer takes about max bytes first ({fed})");
        // send() blocks too.
        let send = tokio::time::timeout(Duration::from_millis(100), ws.send(msg.clone())).await;
        assert!(send.is_err());
        assert!(ws.write_buffer_len() <= max + 2 * (10 * 1024 + 14));
    })
    .await;
}

/// The slow-consumer policy: a peer that reads nothing for the write
/// timeout is dropped, the pending send and every later one fail with
/// `WriteTimeout`, and the buffers are freed.
#[tokio::test(start_paused = true)]
async fn a_peer_that_stops_reading_is_dropped_after_the_write_timeout() {
    bounded_virtual(async {
        let (a, mut b) = tokio::io::duplex(16 * 1024);
        let config = Config::default()
            .max_write_buffer_size(64 * 1024)
            .write_timeout(Duration::from_secs(2));
        let mut ws = WebSocket::from_raw_socket(a, Role::Server, config, BytesMut::new());
        let msg = Message::binary(vec![7u8; 64 * 1024]);
        let started = tokio::time::Instant::now();
        let mut sent = 0;
        let err = loop {
            match ws.send(msg.clone()).await {
                Ok(()) => sent += 1,
                Err(e) => break e,
            }
            assert!(sent < 100, "sending never failed");
        };
        assert!(matches!(err, Error::WriteTimeout), "{err}");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(2) && waited < Duration::from_secs(3),
            "dropped after {waited:?}"
        );
        assert_eq!(ws.write_buffer_len(), 0, "the buffers are freed");
        assert!(matches!(ws.send(msg).await, Err(Error::WriteTimeout)));
        assert!(ws.recv().await.is_none());
        // The transport is dropped: the peer reads what was written, then EOF.
        drop(ws);
        let mut rest = Vec::new();
        b.read_to_end(&mut rest).await.unwrap();
    })
    .await;
}

/// A peer that reads slowly but steadily is not a slow consumer: every bit
/// of progress restarts the write timeout.
#[tokio::test(start_paused = true)]
async fn a_slow_but_steady_reader_is_kept() {
    bounded_virtual(async {
        let (a, mut b) = tokio::io::duplex(4 * 1024);
        let config = Config::default()
            .max_write_buffer_size(8 * 1024)
            .write_timeout(Duration::from_secs(2));
        let mut ws = WebSocket::from_raw_socket(a, Role::Server, config, BytesMut::new());
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let mut total = 0;
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                match b.read(&mut buf).await {
                    Ok(0) | Err(_) => return total,
                    Ok(n) => total += n,
                }
            }
        });
        // 40 KiB at 1 KiB a second: far longer than the write timeout.
        for _ in 0..10 {
            ws.send(Message::binary(vec![1u8; 4 * 1024])).await.unwrap();
        }
        ws.flush().await.unwrap();
        drop(ws);
        assert!(reader.await.unwrap() >= 40 * 1024);
    })
    .await;
}

#[tokio::test]
async fn pongs_for_a_non_reading_peer_are_bounded() {
    bounded(async {
        let max = 8 * 1024;
        let (a, b) = tokio::io::duplex(4 * 1024);
        let mut ws = WebSocket::from_raw_socket(
            a,
            Role::Server,
            Config::default().max_write_buffer_size(max),
            BytesMut::new(),
        );
        let (_read_half, mut write_half) = tokio::io::split(b);
        // The peer floods pings and never reads the pongs.
        let flood = tokio::spawn(async move {
            let ping = masked(OpCode::Ping, true, &[0u8; 125]);
            let mut sent = 0usize;
            loop {
                let w =
                    tokio::time::timeout(Duration::from_millis(200), write_half.write_all(&ping))
                        .await;
                match w {
                    Ok(Ok(())) => sent += 1,
                    _ => return sent,
                }
            }
        });
        let mut received = 0usize;
        while let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(300), ws.recv()).await {
            assert!(matches!(m, Ok(Message::Ping(_))));
            received += 1;
            assert!(
                ws.write_buffer_len() <= max + 8 * 1024 + 200,
                "{}",
                ws.write_buffer_len()
            );
        }
        let sent = flood.await.unwrap();
        assert!(sent < 1000, "the peer was throttled (sent {sent})");
        assert!(received > 0);
    })
    .await;
}

/// Counts the write calls that reach the stream.
struct CountWrites<S> {
    inner: S,
    writes: Arc<AtomicUsize>,
}

impl<S: AsyncRead + Unpin> AsyncRead for CountWrites<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for CountWrites<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn answers_to_one_read_leave_in_one_write() {
    bounded(async {
        let (a, b) = tokio::io::duplex(256 * 1024);
        let writes = Arc::new(AtomicUsize::new(0));
        let io = CountWrites {
            inner: a,
            writes: Arc::clone(&writes),
        };
        let server =
            WebSocket::from_raw_socket(io, Role::Server, Config::default(), BytesMut::new());
        let mut peer = RawPeer::new(b, Role::Client);
        // Ten messages and a ping in one burst.
        let mut burst = BytesMut::new();
        for i in 0..10 {
            peer.conn
                .encode(&Message::text(format!("m{i}")), &mut burst)
                .unwrap();
            if i == 4 {
                peer.conn
                    .encode(&Message::Ping(Bytes::from_static(b"p")), &mut burst)
                    .unwrap();
            }
        }
        peer.send_raw(&burst).await;
        let server = tokio::spawn(echo(server));
        for i in 0..10 {
            assert_eq!(peer.recv().await.unwrap(), Message::text(format!("m{i}")));
            if i == 4 {
                assert_eq!(
                    peer.recv().await.unwrap(),
                    Message::Pong(Bytes::from_static(b"p"))
                );
            }
        }
        assert_eq!(
            writes.load(Ordering::SeqCst),
            1,
            "ten echoes and a pong, one write"
        );
        peer.send(Message::Close(None)).await;
        assert_eq!(peer.recv().await.unwrap(), Message::Close(None));
        assert!(server.await.unwrap().1.is_none());
    })
    .await;
}

// --- timers (virtual time) ---------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn keepalive_pings_when_idle() {
    bounded_virtual(async {
        let config = Config::default()
            .ping_interval(Some(Duration::from_secs(10)))
            .idle_timeout(None);
        let (mut server, mut peer) = pipe_server(config);
        let server_task =
            tokio::spawn(async move { server.recv().await.map(|r| r.map_err(|e| e.to_string())) });
        let start = tokio::time::Instant::now();
        assert_eq!(peer.recv().await.unwrap(), Message::Ping(Bytes::new()));
        assert!(start.elapsed() >= Duration::from_secs(10));
        assert_eq!(peer.recv().await.unwrap(), Message::Ping(Bytes::new()));
        assert!(start.elapsed() >= Duration::from_secs(20));
        peer.send(Message::text("alive")).await;
        assert_eq!(
            server_task.await.unwrap().unwrap().unwrap(),
            Message::text("alive")
        );
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn idle_timeout_closes_with_1001() {
    bounded_virtual(async {
        let config = Config::default().idle_timeout(Some(Duration::from_secs(60)));
        let (mut server, mut peer) = pipe_server(config);
        let start = tokio::time::Instant::now();
        assert!(matches!(server.recv().await, Some(Err(Error::Timeout))));
        assert!(start.elapsed() >= Duration::from_secs(60));
        assert!(server.recv().await.is_none());
        assert_eq!(
            peer.recv().await.unwrap(),
            Message::Close(Some(CloseFrame::new(CloseCode::AWAY, "idle timeout")))
        );
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn activity_postpones_the_idle_timeout() {
    bounded_virtual(async {
        let config = Config::default().idle_timeout(Some(Duration::from_secs(60)));
        let (mut server, mut peer) = pipe_server(config);
        let start = tokio::time::Instant::now();
        let talker = tokio::spawn(async move {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_secs(40)).await;
                peer.send(Message::text("tick")).await;
            }
            peer
        });
        for _ in 0..3 {
            assert_eq!(server.recv().await.unwrap().unwrap(), Message::text("tick"));
        }
        assert!(matches!(server.recv().await, Some(Err(Error::Timeout))));
        assert!(start.elapsed() >= Duration::from_secs(180));
        drop(talker.await.unwrap());
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn close_waits_for_the_peer_at_most_close_timeout() {
    bounded_virtual(async {
        let (mut server, mut peer) = pipe_server(Config::default());
        let start = tokio::time::Instant::now();
        // The peer never answers.
        let result = server
            .close(Some(CloseFrame::new(CloseCode::NORMAL, "")))
            .await;
        assert!(matches!(result, Err(Error::Timeout)), "{result:?}");
        assert!(start.elapsed() >= Duration::from_secs(5));
        assert_eq!(
            peer.recv().await.unwrap(),
            Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))
        );
        // A peer that answers completes the handshake at once.
        let (mut server, mut peer) = pipe_server(Config::default());
        let answer = tokio::spawn(async move {
            let got = peer.recv().await.unwrap();
            peer.send(Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, ""))))
                .await;
            got
        });
        let start = tokio::time::Instant::now();
        server
            .close(Some(CloseFrame::new(CloseCode::NORMAL, "bye")))
            .await
            .unwrap();
        assert!(start.elapsed() < Duration::from_secs(1));
        assert_eq!(
            answer.await.unwrap(),
            Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "bye")))
        );
        assert!(server.close(None).await.is_ok(), "closing twice is fine");
    })
    .await;
}

// --- client handshake ----------------------------------------------------------------------

#[tokio::test]
async fn connect_offers_protocols_and_headers() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = BytesMut::new();
            let (req, len) = loop {
                if let Some(p) = parse_request(&buf) {
                    break p;
                }
                stream.read_buf(&mut buf).await.unwrap();
            };
            let up = check_request(&req, &OriginPolicy::Any).unwrap();
            assert_eq!(up.protocols, ["v2", "v1"]);
            assert_eq!(req.headers()["authorization"], "Bearer t");
            assert_eq!(req.uri(), "/path?q=1");
            // Answer and immediately send a frame in the same write.
            let mut out = head_bytes(&response(&up.key, Some("v1")));
            let mut frame = BytesMut::new();
            encode_frame(OpCode::Text, Fin::Final, None, b"welcome", &mut frame);
            out.extend_from_slice(&frame);
            stream.write_all(&out).await.unwrap();
            let ws = WebSocket::from_raw_socket(
                stream,
                Role::Server,
                Config::default(),
                buf.split_off(len),
            );
            echo(ws).await
        });
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", "Bearer t".parse().unwrap());
        let opts = ConnectOptions::default()
            .protocols(["v2", "v1"])
            .headers(headers);
        let (mut ws, res) = connect_with(&format!("ws://{addr}/path?q=1"), opts)
            .await
            .unwrap();
        assert_eq!(res.headers()["sec-websocket-protocol"], "v1");
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("welcome"));
        ws.close(None).await.unwrap();
        assert!(server.await.unwrap().1.is_none());
    })
    .await;
}

#[tokio::test]
async fn connect_rejects_an_unoffered_protocol_and_bad_urls() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let server = tokio::spawn(async move { accept(&listener, Config::default(), Some("rogue")).await });
        let err = connect_with(&url, ConnectOptions::default().protocols(["chat"])).await.unwrap_err();
        assert!(matches!(err, Error::Handshake(HandshakeError::UnexpectedProtocol(ref p)) if p == "rogue"), "{err}");
        drop(server.await.unwrap());

        assert!(matches!(
            connect("ftp://127.0.0.1:1/").await,
            Err(Error::Handshake(HandshakeError::UnsupportedScheme(_)))
        ));
        // wss:// is a scheme of its own, taken only with the tls feature
        // (and then refused here by the closed port).
        let wss = connect("wss://127.0.0.1:1/").await;
        if cfg!(feature = "tls") {
            assert!(matches!(wss, Err(Error::Io(_))), "{wss:?}");
        } else {
            assert!(matches!(wss, Err(Error::Handshake(HandshakeError::UnsupportedScheme(_)))));
        }
        assert!(matches!(connect("not a url").await, Err(Error::Handshake(_))));
    })
    .await;
}

#[tokio::test]
async fn connect_reports_a_refused_upgrade() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let _ = stream.read(&mut buf).await;
            let _ = stream
                .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                .await;
        });
        let err = connect(&url).await.unwrap_err();
        assert!(
            matches!(err, Error::Handshake(HandshakeError::UnexpectedStatus(s)) if s == 403),
            "{err}"
        );
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn connect_times_out() {
    bounded_virtual(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        // Accepts but never answers.
        let _hold = tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(3600)).await;
            drop(s);
        });
        let opts = ConnectOptions::default().timeout(Duration::from_secs(2));
        assert!(matches!(
            connect_with(&url, opts).await,
            Err(Error::Timeout)
        ));
    })
    .await;
}

#[tokio::test]
async fn stream_and_sink_impls() {
    bounded(async {
        let (server, client) = tcp_pair(Config::default(), Config::default()).await;
        let server = tokio::spawn(echo(server));
        let (mut sink, mut stream) = StreamExt::split(client);
        sink.send(Message::text("via sink")).await.unwrap();
        assert_eq!(
            stream.next().await.unwrap().unwrap(),
            Message::text("via sink")
        );
        SinkExt::close(&mut sink).await.unwrap();
        let mut rest = Vec::new();
        while let Some(m) = stream.next().await {
            rest.push(m.unwrap());
        }
        assert_eq!(
            rest,
            vec![Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))]
        );
        assert!(server.await.unwrap().1.is_none());
    })
    .await;
}

#[tokio::test]
async fn frames_after_the_peers_close_are_ignored() {
    bounded(async {
        let (mut server, mut peer) = pipe_server(Config::default());
        let mut burst = masked(OpCode::Close, true, &1000u16.to_be_bytes());
        burst.extend(masked(OpCode::Text, true, b"after close"));
        burst.extend(masked(OpCode::Ping, true, b"late ping"));
        peer.send_raw(&burst).await;
        assert_eq!(
            server.recv().await.unwrap().unwrap(),
            Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))
        );
        assert!(server.recv().await.is_none());
        // Only the close echo comes back: no pong for the late ping.
        assert_eq!(
            peer.recv().await.unwrap(),
            Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))
        );
        assert!(peer.recv().await.is_none());
    })
    .await;
}

#[tokio::test]
async fn ping_inside_a_fragmented_message_is_answered_before_it_completes() {
    bounded(async {
        let (server, mut peer) = pipe_server(Config::default());
        let server = tokio::spawn(echo(server));
        let mut first = masked(OpCode::Text, false, b"Hel");
        first.extend(masked(OpCode::Ping, true, b"mid"));
        peer.send_raw(&first).await;
        assert_eq!(
            peer.recv().await.unwrap(),
            Message::Pong(Bytes::from_static(b"mid"))
        );
        peer.send_raw(&masked(OpCode::Continuation, true, b"lo"))
            .await;
        assert_eq!(peer.recv().await.unwrap(), Message::text("Hello"));
        peer.send(Message::Close(None)).await;
        assert_eq!(peer.recv().await.unwrap(), Message::Close(None));
        assert!(server.await.unwrap().1.is_none());
    })
    .await;
}

/// A message prepared once goes out as the same bytes from every server
/// socket, is checked by the engine like any other (nothing after a
/// Close), and a client, which must mask, encodes it itself.
#[tokio::test]
async fn a_prepared_message_is_sent_as_encoded_once() {
    bounded(async {
        let prepared = oneport_rfc6455::PreparedMessage::new(Message::text("to all")).unwrap();
        assert!(oneport_rfc6455::PreparedMessage::new(Message::Ping(Bytes::new())).is_err());
        for role in [Role::Server, Role::Client] {
            let (a, b) = tokio::io::duplex(64 * 1024);
            let mut ws = WebSocket::from_raw_socket(a, role, Config::default(), BytesMut::new());
            let peer_role = match role {
                Role::Server => Role::Client,
                Role::Client => Role::Server,
            };
            let mut peer =
                WebSocket::from_raw_socket(b, peer_role, Config::default(), BytesMut::new());
            ws.send_prepared(&prepared).await.unwrap();
            assert_eq!(peer.recv().await.unwrap().unwrap(), Message::text("to all"));
            ws.send(Message::Close(None)).await.unwrap();
            assert!(matches!(
                ws.send_prepared(&prepared).await,
                Err(Error::AlreadyClosed)
            ));
        }
        // The server's frame is exactly the prepared bytes.
        let (a, mut b) = tokio::io::duplex(64 * 1024);
        let mut ws =
            WebSocket::from_raw_socket(a, Role::Server, Config::default(), BytesMut::new());
        ws.send_prepared(&prepared).await.unwrap();
        let mut wire = vec![0u8; prepared.frame().len()];
        b.read_exact(&mut wire).await.unwrap();
        assert_eq!(&wire[..], &prepared.frame()[..]);
    })
    .await;
}

/// A message sent while received bytes still wait in the read buffer is
/// written at once, not left for a `recv` that may never come.
#[tokio::test]
async fn a_send_is_written_even_if_recv_is_not_called_again() {
    bounded(async {
        let (a, b) = tokio::io::duplex(64 * 1024);
        let mut ws =
            WebSocket::from_raw_socket(a, Role::Client, Config::default(), BytesMut::new());
        let mut peer = RawPeer::new(b, Role::Server);
        let mut burst = BytesMut::new();
        for text in ["first", "second"] {
            peer.conn.encode(&Message::text(text), &mut burst).unwrap();
        }
        peer.send_raw(&burst).await;
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("first"));
        assert!(
            ws.read_buffer_len() > 0,
            "the second message waits in the buffer"
        );
        ws.send(Message::text("reply")).await.unwrap();
        // Nothing more is asked of `ws`: the reply must already be out.
        assert_eq!(peer.recv().await.unwrap(), Message::text("reply"));
        // `feed` queues only, and `flush` writes.
        ws.feed(Message::text("queued")).await.unwrap();
        let early = tokio::time::timeout(Duration::from_millis(50), peer.recv()).await;
        assert!(early.is_err(), "feed does not write");
        ws.flush().await.unwrap();
        assert_eq!(peer.recv().await.unwrap(), Message::text("queued"));
    })
    .await;
}

// --- messages received as streams ------------------------------------------------

/// A large fragmented message received with `recv_stream`: in many chunks
/// (never assembled), with a ping in the middle answered meanwhile, and
/// the socket usable afterwards.
#[tokio::test]
async fn recv_stream_takes_a_message_as_it_arrives_and_answers_pings() {
    bounded(async {
        let (mut ws, mut peer) = pipe_server(Config::default());
        let server = tokio::spawn(async move {
            let mut stream = ws.recv_stream().await.unwrap().unwrap();
            assert!(!stream.is_text());
            let (mut n, mut chunks, mut sum) = (0usize, 0usize, 0u64);
            while let Some(chunk) = stream.chunk().await {
                let chunk = chunk.unwrap();
                assert!(chunk.len() <= 256 * 1024, "a read's worth, not the message");
                n += chunk.len();
                chunks += 1;
                sum += chunk.iter().map(|&b| u64::from(b)).sum::<u64>();
            }
            drop(stream);
            let next = ws.recv().await.unwrap().unwrap();
            (n, chunks, sum, next, ws)
        });
        let piece: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
        let mut expected = 0u64;
        for k in 0..40 {
            let opcode = if k == 0 {
                OpCode::Binary
            } else {
                OpCode::Continuation
            };
            peer.send_raw(&masked(opcode, k == 39, &piece)).await;
            expected += piece.iter().map(|&b| u64::from(b)).sum::<u64>();
            if k == 20 {
                peer.send(Message::Ping(Bytes::from_static(b"mid"))).await;
                assert_eq!(
                    peer.recv().await,
                    Some(Message::Pong(Bytes::from_static(b"mid")))
                );
            }
        }
        peer.send(Message::text("after")).await;
        let (n, chunks, sum, next, _ws) = server.await.unwrap();
        assert_eq!((n, sum), (4_000_000, expected));
        assert!(chunks >= 40, "{chunks} chunks");
        assert_eq!(next, Message::text("after"));
    })
    .await;
}

#[tokio::test]
async fn recv_stream_fails_invalid_utf8_at_once_and_honours_its_limit() {
    bounded(async {
        let (mut ws, mut peer) = pipe_server(Config::default());
        peer.send_raw(&masked(OpCode::Text, false, "caf\u{e9} ".as_bytes()))
            .await;
        let server = tokio::spawn(async move {
            let mut stream = ws.recv_stream().await.unwrap().unwrap();
            assert!(stream.is_text());
            let first = stream.chunk().await.unwrap().unwrap();
            let bad = stream.chunk().await.unwrap();
            (first, bad.err().map(|e| e.close_code()))
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        // Invalid in the middle; the rest never needs to come.
        peer.send_raw(&masked(OpCode::Continuation, false, b"ok \xC3\x28"))
            .await;
        let (first, code) = server.await.unwrap();
        assert_eq!(&first[..], "caf\u{e9} ".as_bytes());
        assert_eq!(code, Some(Some(CloseCode::INVALID_PAYLOAD)));
        let close = peer.recv().await.unwrap();
        assert!(matches!(close, Message::Close(Some(f)) if f.code == CloseCode::INVALID_PAYLOAD));

        // The limit is the message's, set per call.
        let (mut ws, mut peer) = pipe_server(Config::default());
        peer.send_raw(&masked(OpCode::Binary, false, &[1; 600]))
            .await;
        peer.send_raw(&masked(OpCode::Continuation, true, &[2; 600]))
            .await;
        let mut stream = ws.recv_stream_with(Some(1000)).await.unwrap().unwrap();
        let mut failed = None;
        while let Some(c) = stream.chunk().await {
            if let Err(e) = c {
                failed = e.close_code();
            }
        }
        assert_eq!(failed, Some(CloseCode::TOO_BIG));
    })
    .await;
}

// --- messages sent as streams ----------------------------------------------------

fn chunked(
    parts: Vec<Result<Bytes, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::iter(parts)
}

/// Frames as the peer sees them: (opcode, fin, payload length), up to a
/// final data frame or a Close (then followed by (Close, true, its code)).
async fn frames_until_final(peer: &mut RawPeer) -> Vec<(OpCode, bool, usize)> {
    let mut out = Vec::new();
    loop {
        while peer.buf.len() >= 2 {
            let Some((h, n)) = oneport_rfc6455::FrameHeader::parse(&peer.buf).unwrap() else {
                break;
            };
            let len = h.payload_len as usize;
            if peer.buf.len() < n + len {
                break;
            }
            let frame = peer.buf.split_to(n + len);
            out.push((h.opcode, h.fin, len));
            if h.fin && !h.opcode.is_control() {
                return out;
            }
            if h.opcode == OpCode::Close {
                // A server's frames are not masked: the code is as sent.
                let code = u16::from_be_bytes([frame[n], frame[n + 1]]);
                out.push((OpCode::Close, true, usize::from(code)));
                return out;
            }
        }
        let n = peer.io.read_buf(&mut peer.buf).await.unwrap();
        assert!(n > 0, "eof after {out:?}");
    }
}

#[tokio::test]
async fn send_stream_sends_fragments_of_the_chosen_size_the_last_with_fin() {
    bounded(async {
        let (mut ws, mut peer) = pipe_server(Config::default());
        let source = chunked(vec![
            Ok(Bytes::from(vec![1u8; 2500])),
            Ok(Bytes::new()),
            Ok(Bytes::from(vec![2u8; 700])),
        ]);
        ws.send_stream(oneport_rfc6455::MessageKind::Binary, source, 1000)
            .await
            .unwrap();
        let frames = frames_until_final(&mut peer).await;
        assert_eq!(
            frames,
            [
                (OpCode::Binary, false, 1000),
                (OpCode::Continuation, false, 1000),
                (OpCode::Continuation, false, 500),
                (OpCode::Continuation, true, 700),
            ]
        );
        // And as a message, whole and in order.
        let text = "\u{4e2d}\u{6587} ".repeat(100);
        let bytes = Bytes::from(text.clone());
        // Cut inside characters on purpose: the message is UTF-8 as a whole.
        let source = chunked(vec![Ok(bytes.slice(..7)), Ok(bytes.slice(7..))]);
        ws.send_stream(oneport_rfc6455::MessageKind::Text, source, 64)
            .await
            .unwrap();
        assert_eq!(peer.recv().await, Some(Message::text(text)));
    })
    .await;
}

#[tokio::test]
async fn a_source_that_fails_midway_closes_with_1011_and_never_completes_the_message() {
    bounded(async {
        for bad in ["io", "utf8"] {
            let (mut ws, mut peer) = pipe_server(Config::default());
            let second = match bad {
                "io" => Err(std::io::Error::other("disk gone")),
                _ => Ok(Bytes::from_static(b"\xFF\xFE")),
            };
            let kind = if bad == "io" {
                oneport_rfc6455::MessageKind::Binary
            } else {
                oneport_rfc6455::MessageKind::Text
            };
            let source = chunked(vec![Ok(Bytes::from(vec![b'a'; 3000])), second]);
            let err = ws.send_stream(kind, source, 1000).await.unwrap_err();
            assert!(matches!(err, Error::Source(_)), "{err:?}");
            // The peer gets fragments, then a Close 1011: never the end.
            let frames = frames_until_final(&mut peer).await;
            assert!(
                frames.iter().all(|f| !f.1 || f.0.is_control()),
                "{frames:?}"
            );
            assert_eq!(
                frames.last(),
                Some(&(OpCode::Close, true, 1011)),
                "{frames:?}"
            );
        }
    })
    .await;
}

/// Polls `ws.recv()` once.
fn recv_once(ws: &mut WebSocket<DuplexStream>) -> Poll<Option<Result<Message, Error>>> {
    let waker = std::task::Waker::noop();
    let mut cx = Context::from_waker(waker);
    let recv = std::pin::pin!(ws.recv());
    recv.poll(&mut cx)
}

/// With its owner keeping the time, an open socket arms no timer and
/// never reads the clock by itself: a ping and an idle timeout long past
/// do nothing until `handle_timeout`, and then run at once.
#[tokio::test(start_paused = true)]
async fn owner_kept_timers_run_when_the_owner_says() {
    bounded_virtual(async {
        let (a, mut b) = tokio::io::duplex(4096);
        let config = Config::default()
            .ping_interval(Some(Duration::from_secs(5)))
            .idle_timeout(Some(Duration::from_secs(60)));
        let mut ws = WebSocket::from_raw_socket(a, Role::Server, config, BytesMut::new());
        assert_eq!(ws.timers(), oneport_rfc6455::Timers::Own);
        assert_eq!(ws.next_timeout(), None, "its own timers keep it");
        ws.set_timers(oneport_rfc6455::Timers::Caller);
        let start = tokio::time::Instant::now();
        assert_eq!(ws.next_timeout(), Some(start + Duration::from_secs(5)));
        assert!(recv_once(&mut ws).is_pending());
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(recv_once(&mut ws).is_pending());
        let mut buf = [0u8; 64];
        assert!(
            tokio::time::timeout(Duration::from_millis(1), b.read(&mut buf))
                .await
                .is_err(),
            "no ping before the owner says"
        );
        let pinged = tokio::time::Instant::now();
        ws.handle_timeout();
        assert!(recv_once(&mut ws).is_pending());
        let n = b.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], &[0x89, 0x00], "an empty ping");
        assert_eq!(
            ws.next_timeout(),
            Some(pinged + Duration::from_secs(5)),
            "the next ping, from this one"
        );
        // A wake-up with nothing due does nothing.
        ws.handle_timeout();
        assert!(recv_once(&mut ws).is_pending());
        // The idle timeout, long past, then closes with 1001 at once.
        tokio::time::advance(Duration::from_secs(120)).await;
        assert!(recv_once(&mut ws).is_pending(), "not told yet");
        ws.handle_timeout();
        let out = ws.recv().await;
        assert!(matches!(out, Some(Err(Error::Timeout))), "{out:?}");
        // The ping due on the way, then the Close.
        let n = b.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..2], &[0x89, 0x00], "the ping due too");
        assert_eq!(&buf[2..6], &[0x88, n as u8 - 4, 0x03, 0xE9], "Close 1001");
        assert_eq!(ws.next_timeout(), None, "closed");
    })
    .await;
}

/// Split halves cannot share one keeper of the time: `split` hands the
/// timers back to the socket, whose receiving half then times out on its
/// own.
#[tokio::test(start_paused = true)]
async fn split_halves_keep_their_own_timers() {
    bounded_virtual(async {
        let (a, _b) = tokio::io::duplex(4096);
        let config = Config::default().idle_timeout(Some(Duration::from_secs(10)));
        let mut ws = WebSocket::from_raw_socket(a, Role::Server, config, BytesMut::new());
        ws.set_timers(oneport_rfc6455::Timers::Caller);
        let (mut rx, _tx) = ws.split();
        let started = tokio::time::Instant::now();
        let out = rx.recv().await;
        assert!(matches!(out, Some(Err(Error::Timeout))), "{out:?}");
        assert!(started.elapsed() >= Duration::from_secs(10));
    })
    .await;
}
