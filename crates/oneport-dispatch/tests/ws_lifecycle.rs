//! The handler-facing WebSocket over loopback, on both protocol versions:
//! nothing a handler sent is lost when it returns, split halves work from
//! two tasks, the upgrade can be shaped by the application, and hybi-00
//! handshakes are served as old clients send them.

mod support;

use std::time::Duration;

use bytes::BytesMut;
use http::{HeaderMap, HeaderValue, StatusCode};
use oneport_dispatch::{
    CloseCode, Message, OriginPolicy, Request, Response, ServiceMapper, SseOptions, Subprotocol,
    WebSocket, WsOptions, WsVersion, filter, sequencer, service_mapper, sse, text_response,
    websocket,
};
use oneport_rfc6455::{Config, Connection, Role};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn run<F: std::future::Future<Output = ()>>(f: F) {
    tokio::time::timeout(TEST_TIMEOUT, f)
        .await
        .expect("test timed out");
}

const RFC6455_UPGRADE: &str = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n";

/// The draft's own example keys; their answer is `fQJ,fN/4F4!~K~MH`.
const HYBI00_UPGRADE: &str = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key1: 18x 6]8vM;54 *(5:  {   U1]8  z [  8\r\n\
    Sec-WebSocket-Key2: 1_ tx7X d  <  nw  334J702) 7]o}` 0\r\n";
const HYBI00_KEY3: &[u8] = b"Tm[K T2u";
const HYBI00_ANSWER: &[u8] = b"fQJ,fN/4F4!~K~MH";

/// A hybi-00 upgrade with `extra` header lines, then the key bytes, then
/// `after` (frames sent in the same write).
fn hybi00_request(extra: &str, after: &[u8]) -> Vec<u8> {
    let mut raw = format!("{HYBI00_UPGRADE}{extra}\r\n").into_bytes();
    raw.extend_from_slice(HYBI00_KEY3);
    raw.extend_from_slice(after);
    raw
}

/// Sends `raw` to `s`, expects the draft's `101`, and returns everything
/// the server sent after the head, up to its closing frame.
async fn hybi00_exchange(addr: std::net::SocketAddr, raw: &[u8]) -> Vec<u8> {
    let mut io = TcpStream::connect(addr).await.expect("connect");
    let (head, rest) = handshake(&mut io, raw).await;
    assert!(
        head.starts_with("HTTP/1.1 101 WebSocket Protocol Handshake"),
        "{head}"
    );
    hybi00_bytes(&mut io, rest).await
}

/// An RFC 6455 client engine: encodes masked frames, decodes the server's.
fn client() -> Connection {
    Connection::new(Role::Client, Config::default())
}

/// Reads and decodes the server's frames until its Close, answering it;
/// returns every message, the Close last.
async fn rfc6455_messages(s: &mut TcpStream, mut buf: BytesMut) -> Vec<Message> {
    let mut conn = client();
    let mut out = Vec::new();
    loop {
        while let Some(m) = conn.receive(&mut buf).expect("valid frames") {
            let close = m.is_close();
            out.push(m);
            if close {
                let mut answer = BytesMut::new();
                conn.encode(&Message::Close(None), &mut answer)
                    .expect("encode");
                let _ = s.write_all(&answer).await;
                return out;
            }
        }
        let n = s.read_buf(&mut buf).await.expect("read");
        assert!(n > 0, "eof before the server's Close; got {out:?}");
    }
}

/// Reads hybi-00 bytes until the server's `FF 00`, answers it, and returns
/// everything read (the `FF 00` included).
async fn hybi00_bytes(s: &mut TcpStream, mut buf: BytesMut) -> Vec<u8> {
    loop {
        if buf.ends_with(b"\xFF\x00") {
            s.write_all(b"\xFF\x00").await.expect("answer the close");
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest).await;
            assert!(rest.is_empty(), "bytes after the closing frame: {rest:?}");
            return buf.to_vec();
        }
        let n = s.read_buf(&mut buf).await.expect("read");
        assert!(n > 0, "eof before the closing frame: {buf:?}");
    }
}

fn close_code(m: &Message) -> Option<CloseCode> {
    match m {
        Message::Close(Some(f)) => Some(f.code),
        _ => None,
    }
}

// ---------------------------------------------------------------------
// Send, then return: the message, then a Close 1000 (or FF 00).

async fn hello_and_return(mut ws: WebSocket, _req: http::request::Parts) {
    let _ = ws.send_text("Hello world!").await;
}

#[tokio::test]
async fn send_then_return_gives_the_message_then_close_1000() {
    run(async {
        let s = start(filter("^/ws$", websocket(hello_and_return))).await;
        let mut io = TcpStream::connect(s.addr).await.expect("connect");
        let (head, rest) = handshake(&mut io, format!("{RFC6455_UPGRADE}\r\n").as_bytes()).await;
        assert_eq!(status_of(&head), 101, "{head}");
        let got = rfc6455_messages(&mut io, rest).await;
        assert_eq!(got[0], Message::Text("Hello world!".into()));
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(close_code(&got[1]), Some(CloseCode::NORMAL));
        // The server closes the TCP connection after the handshake.
        let mut tail = Vec::new();
        io.read_to_end(&mut tail).await.expect("eof");
        assert!(tail.is_empty());
    })
    .await;
}

#[tokio::test]
async fn hybi00_send_then_return_gives_the_message_then_ff00() {
    run(async {
        let s = start(filter("^/ws$", websocket(hello_and_return))).await;
        let wire = hybi00_exchange(s.addr, &hybi00_request("", b"")).await;
        let mut expected = HYBI00_ANSWER.to_vec();
        expected.extend_from_slice(b"\x00Hello world!\xFF\xFF\x00");
        assert_eq!(wire, expected);
    })
    .await;
}

// ---------------------------------------------------------------------
// Receive one, reply, return, while a second message waits in the same
// read: the reply is deferred for coalescing and must still go out.

async fn reply_once(mut ws: WebSocket, _req: http::request::Parts) {
    if let Some(Ok(Message::Text(t))) = ws.recv().await {
        let _ = ws.send_text(format!("reply:{}", t.as_str())).await;
    }
}

#[tokio::test]
async fn reply_then_return_with_pipelined_input_delivers_the_reply() {
    run(async {
        let s = start(filter("^/ws$", websocket(reply_once))).await;
        let mut io = TcpStream::connect(s.addr).await.expect("connect");
        // The head and both frames in one write: the server reads them at
        // once, so the second frame is buffered when the handler replies.
        let mut raw = BytesMut::from(format!("{RFC6455_UPGRADE}\r\n").as_bytes());
        let mut c = client();
        for t in ["one", "two"] {
            c.encode(&Message::Text(t.into()), &mut raw)
                .expect("encode");
        }
        let (head, rest) = handshake(&mut io, &raw).await;
        assert_eq!(status_of(&head), 101, "{head}");
        let got = rfc6455_messages(&mut io, rest).await;
        assert_eq!(got[0], Message::Text("reply:one".into()), "{got:?}");
        assert_eq!(close_code(&got[1]), Some(CloseCode::NORMAL));
    })
    .await;
}

#[tokio::test]
async fn hybi00_reply_then_return_with_pipelined_input_delivers_the_reply() {
    run(async {
        let s = start(filter("^/ws$", websocket(reply_once))).await;
        let raw = hybi00_request("", b"\x00one\xFF\x00two\xFF");
        let wire = hybi00_exchange(s.addr, &raw).await;
        let mut expected = HYBI00_ANSWER.to_vec();
        expected.extend_from_slice(b"\x00reply:one\xFF\xFF\x00");
        assert_eq!(wire, expected);
    })
    .await;
}

// ---------------------------------------------------------------------
// Split halves: the receiver echoes in one task while another task pushes.

async fn split_chat(ws: WebSocket, _req: http::request::Parts) {
    let (mut rx, mut tx) = ws.split();
    assert!(rx.is_pair_of(&tx));
    let (to_tx, mut from_rx) = tokio::sync::mpsc::channel::<String>(8);
    // The sending half lives in a task of its own: it pushes a broadcast
    // first, then forwards what the receiving half hands it.
    let pusher = tokio::spawn(async move {
        tx.send_text("broadcast").await.expect("push");
        while let Some(text) = from_rx.recv().await {
            if tx.send_text(text).await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(msg)) = rx.recv().await {
        if let Message::Text(t) = msg {
            if to_tx.send(format!("echo:{}", t.as_str())).await.is_err() {
                break;
            }
        }
    }
    drop(to_tx);
    let _ = pusher.await;
}

#[tokio::test]
async fn split_halves_work_from_two_tasks() {
    run(async {
        let s = start(filter("^/ws$", websocket(split_chat))).await;
        let url = format!("ws://{}/ws", s.addr);
        let (mut ws, _) = oneport_rfc6455::connect(&url).await.expect("connect");
        assert_eq!(
            ws.recv().await.expect("open").expect("push"),
            Message::Text("broadcast".into())
        );
        for i in 0..3 {
            ws.send(Message::Text(format!("m{i}").into()))
                .await
                .expect("send");
            assert_eq!(
                ws.recv().await.expect("open").expect("echo"),
                Message::Text(format!("echo:m{i}").into())
            );
        }
        ws.close(None).await.expect("clean close");

        let mut legacy = oneport_hybi00::connect(&url).await.expect("hybi00");
        assert_eq!(
            legacy.recv().await.expect("open").expect("push"),
            Message::Text("broadcast".into())
        );
        legacy.send_text("old").await.expect("send");
        assert_eq!(
            legacy.recv().await.expect("open").expect("echo"),
            Message::Text("echo:old".into())
        );
        legacy.close().await.expect("clean close");
    })
    .await;
}

/// What a client of `/ws` receives: `text`, then a Close 1000, then the
/// end.
async fn text_then_close_1000(addr: std::net::SocketAddr, text: &str) {
    let (mut ws, _) = oneport_rfc6455::connect(&format!("ws://{addr}/ws"))
        .await
        .expect("connect");
    assert_eq!(
        ws.recv().await.expect("open").expect("text"),
        Message::Text(text.to_owned().into())
    );
    match ws.recv().await {
        Some(Ok(Message::Close(Some(f)))) => assert_eq!(f.code, CloseCode::NORMAL),
        other => panic!("expected Close 1000, got {other:?}"),
    }
    assert!(ws.recv().await.is_none());
}

/// Both halves dropped while the handler waits on them: the socket is
/// closed as a returned handler's is.
#[tokio::test]
async fn dropping_both_halves_closes_with_1000() {
    run(async {
        let s = start(filter(
            "^/ws$",
            websocket(|ws: WebSocket, _req| async move {
                let (rx, mut tx) = ws.split();
                tx.send_text("from the sender").await.expect("send");
                drop(tx);
                drop(rx);
                // The handler goes on; the connection must not wait for it.
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }),
        ))
        .await;
        text_then_close_1000(s.addr, "from the sender").await;
    })
    .await;
}

/// The socket moved to another task and dropped there, later, while the
/// handler waits on something else: the connection hears it at once (the
/// wait for the socket's return keeps the task's waker) and closes.
#[tokio::test]
async fn a_socket_dropped_in_another_task_later_closes_with_1000() {
    run(async {
        let s = start(filter(
            "^/ws$",
            websocket(|mut ws: WebSocket, _req| async move {
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    ws.send_text("from elsewhere").await.expect("send");
                });
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }),
        ))
        .await;
        text_then_close_1000(s.addr, "from elsewhere").await;
    })
    .await;
}

// ---------------------------------------------------------------------
// What the socket tells: version, peer, close status.

#[tokio::test]
async fn close_status_peer_and_version() {
    run(async {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let tx = std::sync::Mutex::new(Some(tx));
        let s = start(filter(
            "^/ws$",
            websocket(move |mut ws: WebSocket, _req| {
                let tx = tx.lock().ok().and_then(|mut t| t.take());
                async move {
                    let before = (ws.is_closed(), ws.close_status());
                    while let Some(Ok(_)) = ws.recv().await {}
                    let after = (ws.is_closed(), ws.close_status());
                    let _ = ws.send_text("late").await.map_err(|e| e.is_closed());
                    let late = ws.send_text("late").await.map_err(|e| e.is_closed());
                    if let Some(tx) = tx {
                        let _ = tx.send((ws.version(), ws.peer_addr(), before, after, late));
                    }
                }
            }),
        ))
        .await;
        let (mut ws, _) = oneport_rfc6455::connect(&format!("ws://{}/ws", s.addr))
            .await
            .expect("connect");
        let local = ws.get_ref().tcp().local_addr().expect("addr");
        ws.close(Some(oneport_rfc6455::CloseFrame::new(
            CloseCode::new(4000),
            "bye",
        )))
        .await
        .expect("close");
        let (version, peer, before, after, late) = rx.await.expect("report");
        assert_eq!(version, WsVersion::Rfc6455);
        assert_eq!(peer, Some(local));
        assert_eq!(before, (false, None));
        assert!(after.0);
        let status = after.1.expect("a status");
        assert_eq!(
            (status.code, status.reason.as_str()),
            (CloseCode::new(4000), "bye")
        );
        assert_eq!(late, Err(true), "sending after the close is is_closed()");
    })
    .await;
}

// ---------------------------------------------------------------------
// Any transport: a socket over an in-memory pipe is closed when dropped.

#[tokio::test]
async fn any_transport_closes_on_drop() {
    run(async {
        let (server_io, client_io) = tokio::io::duplex(4096);
        let server = oneport_rfc6455::WebSocket::from_raw_socket(
            server_io,
            Role::Server,
            Config::default(),
            BytesMut::new(),
        );
        let mut ws = WebSocket::from_rfc6455(server, None, None);
        let mut peer = oneport_rfc6455::WebSocket::from_raw_socket(
            client_io,
            Role::Client,
            Config::default(),
            BytesMut::new(),
        );
        ws.feed(Message::Text("queued".into())).await.expect("feed");
        drop(ws);
        assert_eq!(
            peer.recv().await.expect("open").expect("text"),
            Message::Text("queued".into())
        );
        match peer.recv().await {
            Some(Ok(Message::Close(Some(f)))) => assert_eq!(f.code, CloseCode::NORMAL),
            other => panic!("expected Close 1000, got {other:?}"),
        }
    })
    .await;
}

// ---------------------------------------------------------------------
// The upgrade is the application's to shape.

#[allow(clippy::result_large_err)]
fn session_check(req: &Request, headers: &mut HeaderMap) -> Result<(), Response> {
    if req.headers().get("authorization").is_none() {
        return Err(text_response(StatusCode::UNAUTHORIZED, "log in first\n"));
    }
    headers.insert(
        "set-cookie",
        HeaderValue::from_static("session=abc; HttpOnly"),
    );
    Ok(())
}

fn checked_site() -> oneport_dispatch::Sequencer {
    sequencer(vec![Box::new(filter(
        "^/ws$",
        websocket(hello_and_return).check(session_check),
    ))])
}

#[tokio::test]
async fn check_adds_set_cookie_to_the_101_on_both_versions() {
    run(async {
        let s = start(checked_site()).await;
        let mut io = TcpStream::connect(s.addr).await.expect("connect");
        let raw = format!("{RFC6455_UPGRADE}Authorization: Bearer t\r\n\r\n");
        let (head, _) = handshake(&mut io, raw.as_bytes()).await;
        assert_eq!(status_of(&head), 101, "{head}");
        assert_eq!(
            header_of(&head, "set-cookie"),
            Some("session=abc; HttpOnly")
        );

        let mut io = TcpStream::connect(s.addr).await.expect("connect");
        let raw = hybi00_request("Authorization: Bearer t\r\n", b"");
        let (head, _) = handshake(&mut io, &raw).await;
        assert!(head.contains(" 101 "), "{head}");
        assert_eq!(
            header_of(&head, "set-cookie"),
            Some("session=abc; HttpOnly")
        );
    })
    .await;
}

#[tokio::test]
async fn check_refuses_with_401_on_both_versions() {
    run(async {
        let s = start(checked_site()).await;
        let r = exchange(s.addr, format!("{RFC6455_UPGRADE}\r\n").as_bytes()).await;
        assert_eq!(status_of(&r), 401, "{r}");
        assert_eq!(body_of(&r), "log in first\n");
        assert_eq!(header_of(&r, "connection"), Some("close"));
        let r = exchange(s.addr, &hybi00_request("", b"")).await;
        assert_eq!(status_of(&r), 401, "{r}");
    })
    .await;
}

// ---------------------------------------------------------------------
// The seed's two-port setup and pages opened from a file.

#[tokio::test]
async fn ws_serve_with_an_allowlist_accepts_a_page_from_another_port() {
    run(async {
        let page = "http://localhost:8080";
        let options =
            WsOptions::default().origin(OriginPolicy::AllowList(vec![page.into(), "null".into()]));
        let server = oneport_dispatch::ws_serve("127.0.0.1:0", hello_and_return, options)
            .await
            .expect("bind");
        let addr = server.local_addr();
        for (origin, status) in [(page, 101), ("null", 101), ("http://evil.example", 403)] {
            let mut io = TcpStream::connect(addr).await.expect("connect");
            let raw = format!("{RFC6455_UPGRADE}Origin: {origin}\r\n\r\n");
            let (head, _) = handshake(&mut io, raw.as_bytes()).await;
            assert_eq!(status_of(&head), status, "{origin}: {head}");
        }
        // The default refuses the other port, as documented.
        let strict =
            oneport_dispatch::ws_serve("127.0.0.1:0", hello_and_return, WsOptions::default())
                .await
                .expect("bind");
        let mut io = TcpStream::connect(strict.local_addr())
            .await
            .expect("connect");
        let raw = format!("{RFC6455_UPGRADE}Origin: {page}\r\n\r\n");
        let (head, _) = handshake(&mut io, raw.as_bytes()).await;
        assert_eq!(status_of(&head), 403, "{head}");
        server.stop().await.expect("stop");
        strict.stop().await.expect("stop");
        assert!(TcpStream::connect(addr).await.is_err(), "stopped");
    })
    .await;
}

#[tokio::test]
async fn sse_cors_names_allowed_origins_only() {
    run(async {
        let hub = oneport_sse::Hub::new(oneport_sse::HubConfig::default());
        let page = "http://localhost:8080";
        let s = start(
            sse(hub.clone())
                .options(SseOptions::default().cors(OriginPolicy::AllowList(vec![page.into()]))),
        )
        .await;
        for (origin, allowed) in [(page, Some(page)), ("http://evil.example", None)] {
            let mut io = TcpStream::connect(s.addr).await.expect("connect");
            let raw = format!("GET /events HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\n\r\n");
            let (head, _) = handshake(&mut io, raw.as_bytes()).await;
            assert_eq!(status_of(&head), 200, "{head}");
            assert_eq!(
                header_of(&head, "access-control-allow-origin"),
                allowed,
                "{head}"
            );
            assert_eq!(header_of(&head, "vary"), Some("origin"), "{head}");
        }
        let any = start(sse(hub).options(SseOptions::default().cors(OriginPolicy::Any))).await;
        let mut io = TcpStream::connect(any.addr).await.expect("connect");
        let raw = format!("GET / HTTP/1.1\r\nHost: x\r\nOrigin: {page}\r\n\r\n");
        let (head, _) = handshake(&mut io, raw.as_bytes()).await;
        assert_eq!(
            header_of(&head, "access-control-allow-origin"),
            Some("*"),
            "{head}"
        );
    })
    .await;
}

// ---------------------------------------------------------------------
// hybi-00 handshakes as old clients send them.

#[tokio::test]
async fn hybi00_key_bytes_declared_as_a_body_are_served() {
    run(async {
        let s = start(filter("^/ws$", websocket(hello_and_return))).await;
        let raw = hybi00_request("Content-Length: 8\r\n", b"");
        let wire = hybi00_exchange(s.addr, &raw).await;
        let mut expected = HYBI00_ANSWER.to_vec();
        expected.extend_from_slice(b"\x00Hello world!\xFF\xFF\x00");
        assert_eq!(wire, expected);
    })
    .await;
}

fn chat_mapper() -> ServiceMapper {
    service_mapper().route(
        "/chat",
        Subprotocol::Named("chat".into()),
        |mut ws: WebSocket, _req| async move {
            let p = ws.protocol().unwrap_or("none").to_owned();
            let _ = ws.send_text(format!("protocol:{p}")).await;
        },
    )
}

#[tokio::test]
async fn hybi00_subprotocol_is_echoed() {
    run(async {
        let s = start(sequencer(vec![
            Box::new(chat_mapper()),
            Box::new(filter("^/ws$", websocket(hello_and_return))),
        ]))
        .await;
        // The draft's client fails unless the answer echoes its protocol.
        for path in ["/chat", "/ws"] {
            let io = TcpStream::connect(s.addr).await.expect("connect");
            let url: http::Uri = format!("ws://{}{path}", s.addr).parse().expect("url");
            let mut ws = oneport_hybi00::client_handshake(
                io,
                &url,
                Some("chat"),
                oneport_hybi00::Config::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
            let first = ws.recv().await.expect("open").expect("text");
            if path == "/chat" {
                assert_eq!(first, Message::Text("protocol:chat".into()));
            }
            ws.close().await.expect("close");
        }
        // A route that serves no such protocol refuses with 400.
        let mut raw = format!(
            "{}Sec-WebSocket-Protocol: other\r\n\r\n",
            HYBI00_UPGRADE.replace("/ws", "/chat")
        )
        .into_bytes();
        raw.extend_from_slice(HYBI00_KEY3);
        let r = exchange(s.addr, &raw).await;
        assert_eq!(status_of(&r), 400, "{r}");
    })
    .await;
}

// ---------------------------------------------------------------------
// Shutdown while a handler returns: the Close says 1001.

#[tokio::test]
async fn a_socket_dropped_during_shutdown_closes_with_1001() {
    run(async {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let rx = std::sync::Mutex::new(Some(rx));
        let s = start(filter(
            "^/ws$",
            websocket(move |ws: WebSocket, req: http::request::Parts| {
                let rx = rx.lock().ok().and_then(|mut r| r.take());
                async move {
                    drop(req);
                    // Hold the socket until the test has begun the shutdown.
                    if let Some(rx) = rx {
                        let _ = rx.await;
                    }
                    drop(ws);
                }
            }),
        ))
        .await;
        let (mut ws, _) = oneport_rfc6455::connect(&format!("ws://{}/ws", s.addr))
            .await
            .expect("connect");
        s.stop.shutdown();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = tx.send(());
        match ws.recv().await {
            Some(Ok(Message::Close(Some(f)))) => assert_eq!(f.code, CloseCode::AWAY),
            other => panic!("expected Close 1001, got {other:?}"),
        }
    })
    .await;
}

/// Counts the messages it receives with `recv` inside a `select!` beside a
/// 1 ms timer, so that most `recv` futures are dropped part-way (in the
/// middle of a fragmented message, or of a frame), then reports what it
/// got. Nothing may be lost or garbled by those cancellations.
async fn select_counter(mut ws: WebSocket, _req: http::request::Parts) {
    let mut timer = tokio::time::interval(Duration::from_millis(1));
    let (mut got, mut ticks) = (Vec::new(), 0u32);
    loop {
        tokio::select! {
            m = ws.recv() => match m {
                Some(Ok(Message::Text(t))) if t.as_str() == "done" => break,
                Some(Ok(Message::Text(t))) => got.push(t.to_string()),
                Some(Ok(_)) => {}
                _ => return,
            },
            _ = timer.tick() => ticks += 1,
        }
    }
    let want: Vec<String> = (0..60)
        .map(|i| format!("message {i} ").repeat(40))
        .collect();
    let verdict = if got == want {
        format!("all {} intact", got.len())
    } else {
        format!("lost or garbled: {} of {}", got.len(), want.len())
    };
    let _ = ws
        .send_text(format!("{verdict}; ticks {}", ticks.min(1)))
        .await;
}

#[tokio::test]
async fn recv_in_select_with_a_timer_loses_nothing() {
    run(async {
        let s = start(filter("^/ws$", websocket(select_counter))).await;
        let mut io = TcpStream::connect(s.addr).await.unwrap();
        let (head, rest) = handshake(&mut io, format!("{RFC6455_UPGRADE}\r\n").as_bytes()).await;
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        let mut conn = client();
        for i in 0..60 {
            // Each message in three fragments, each written in two pieces
            // a couple of milliseconds apart: the timer fires in between.
            let text = format!("message {i} ").repeat(40);
            let third = text.len() / 3;
            let parts = [&text[..third], &text[third..2 * third], &text[2 * third..]];
            for (k, part) in parts.iter().enumerate() {
                let opcode = if k == 0 {
                    oneport_rfc6455::OpCode::Text
                } else {
                    oneport_rfc6455::OpCode::Continuation
                };
                let fin = if k == 2 {
                    oneport_rfc6455::Fin::Final
                } else {
                    oneport_rfc6455::Fin::More
                };
                let mut frame = BytesMut::new();
                conn.encode_frame(opcode, fin, part.as_bytes(), &mut frame)
                    .unwrap();
                let (a, b) = frame.split_at(frame.len() / 2);
                io.write_all(a).await.unwrap();
                tokio::time::sleep(Duration::from_millis(2)).await;
                io.write_all(b).await.unwrap();
            }
        }
        let mut done = BytesMut::new();
        conn.encode(&Message::text("done"), &mut done).unwrap();
        io.write_all(&done).await.unwrap();
        let messages = rfc6455_messages(&mut io, rest).await;
        let report = messages[0].as_text().unwrap_or_default().to_owned();
        assert_eq!(
            report, "all 60 intact; ticks 1",
            "the timer fired and nothing was lost"
        );
    })
    .await;
}

/// Takes each message with `recv_stream` and answers with its length and
/// the number of chunks it came in.
async fn stream_counter(mut ws: WebSocket, _req: http::request::Parts) {
    while let Some(Ok(mut stream)) = ws.recv_stream().await {
        let text = stream.is_text();
        let (mut n, mut chunks, mut biggest) = (0usize, 0usize, 0usize);
        let mut failed = None;
        while let Some(chunk) = stream.chunk().await {
            match chunk {
                Ok(c) => {
                    n += c.len();
                    chunks += 1;
                    biggest = biggest.max(c.len());
                }
                Err(e) => failed = Some(e.to_string()),
            }
        }
        drop(stream);
        if let Some(e) = failed {
            let _ = ws.send_text(format!("failed: {e}")).await;
            return;
        }
        let many = if chunks > 1 { "many" } else { "one" };
        let small = if biggest <= 256 * 1024 {
            "small"
        } else {
            "big"
        };
        let _ = ws
            .send_text(format!("{n} bytes, text {text}, {many} chunks, {small}"))
            .await;
    }
}

#[tokio::test]
async fn a_handler_takes_a_large_message_as_a_stream_while_pings_are_answered() {
    run(async {
        let s = start(filter("^/ws$", websocket(stream_counter))).await;
        let mut io = TcpStream::connect(s.addr).await.unwrap();
        let (head, rest) = handshake(&mut io, format!("{RFC6455_UPGRADE}\r\n").as_bytes()).await;
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        let mut conn = client();
        let piece = vec![b'x'; 512 * 1024];
        for k in 0..8 {
            let opcode = if k == 0 {
                oneport_rfc6455::OpCode::Binary
            } else {
                oneport_rfc6455::OpCode::Continuation
            };
            let fin = if k == 7 {
                oneport_rfc6455::Fin::Final
            } else {
                oneport_rfc6455::Fin::More
            };
            let mut frame = BytesMut::new();
            conn.encode_frame(opcode, fin, &piece, &mut frame).unwrap();
            if k == 4 {
                conn.encode(&Message::Ping("mid".into()), &mut frame)
                    .unwrap();
            }
            io.write_all(&frame).await.unwrap();
        }
        let mut wire = BytesMut::new();
        conn.encode(&Message::text("small"), &mut wire).unwrap();
        conn.encode(&Message::Close(None), &mut wire).unwrap();
        io.write_all(&wire).await.unwrap();
        let messages = rfc6455_messages(&mut io, rest).await;
        let texts: Vec<&str> = messages.iter().filter_map(|m| m.as_text()).collect();
        assert!(
            messages.contains(&Message::Pong("mid".into())),
            "{messages:?}"
        );
        assert_eq!(
            texts,
            [
                "4194304 bytes, text false, many chunks, small",
                "5 bytes, text true, one chunks, small"
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn hybi00_text_comes_through_recv_stream_too() {
    run(async {
        let s = start(filter("^/ws$", websocket(stream_counter))).await;
        let mut after = b"\x00hello there\xFF".to_vec();
        after.extend_from_slice(b"\xFF\x00");
        let got = hybi00_exchange(s.addr, &hybi00_request("", &after)).await;
        let text = String::from_utf8_lossy(&got);
        assert!(
            text.contains("11 bytes, text true, one chunks, small"),
            "{text}"
        );
    })
    .await;
}

/// Sends, from its sending half, a 2 MiB message produced slowly in 64 KiB
/// chunks, while its receiving half answers pings; a second connection's
/// source fails half-way.
async fn streamer(ws: WebSocket, req: http::request::Parts) {
    let fails = req.uri.query() == Some("fail");
    let (mut rx, mut tx) = ws.split();
    let reader = tokio::spawn(async move { while let Some(Ok(_)) = rx.recv().await {} });
    use futures_util::StreamExt as _;
    let chunks = futures_util::stream::iter(0..32u8).then(move |i| async move {
        tokio::time::sleep(Duration::from_millis(3)).await;
        if fails && i == 16 {
            return Err(std::io::Error::other("the source broke"));
        }
        Ok(bytes::Bytes::from(vec![i; 64 * 1024]))
    });
    let sent = tx
        .send_stream(oneport_dispatch::MessageKind::Binary, chunks, 16 * 1024)
        .await;
    if sent.is_ok() {
        let _ = tx.send_text("sent").await;
    }
    let _ = reader.await;
}

#[tokio::test]
async fn a_stream_goes_out_in_fragments_while_pings_are_answered_between_them() {
    run(async {
        let s = start(filter("^/ws", websocket(streamer))).await;
        let mut io = TcpStream::connect(s.addr).await.unwrap();
        let (head, mut buf) = handshake(&mut io, format!("{RFC6455_UPGRADE}\r\n").as_bytes()).await;
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        let mut conn = client();
        let mut ping = BytesMut::new();
        conn.encode(&Message::Ping("between".into()), &mut ping)
            .unwrap();
        let (mut parts, mut pong_at, mut total, mut sent_ping) = (0usize, None, 0usize, false);
        loop {
            match conn.receive_part(&mut buf, None).unwrap() {
                Some(oneport_rfc6455::Part::Data { data, fin, text }) => {
                    if text {
                        assert_eq!(&data[..], b"sent");
                        break;
                    }
                    total += data.len();
                    parts += 1;
                    if !sent_ping && total > 256 * 1024 {
                        io.write_all(&ping).await.unwrap();
                        sent_ping = true;
                    }
                    assert!(!fin || total == 2 << 20, "fin only at the end");
                }
                Some(oneport_rfc6455::Part::Control(Message::Pong(p))) => {
                    assert_eq!(&p[..], b"between");
                    pong_at = Some(total);
                }
                Some(other) => panic!("{other:?}"),
                None => {
                    let n = io.read_buf(&mut buf).await.unwrap();
                    assert!(n > 0, "eof");
                }
            }
        }
        assert_eq!(total, 2 << 20);
        let at = pong_at.expect("the pong came");
        assert!(
            at < total,
            "the pong came between fragments, after {at} of {total} bytes"
        );
        assert!(parts > 32, "{parts} parts");
    })
    .await;
}

#[tokio::test]
async fn a_failing_source_closes_with_1011_and_hybi00_refuses_a_stream() {
    run(async {
        let s = start(filter("^/ws", websocket(streamer))).await;
        let mut io = TcpStream::connect(s.addr).await.unwrap();
        let upgrade = RFC6455_UPGRADE.replace("GET /ws ", "GET /ws?fail ");
        let (head, mut buf) = handshake(&mut io, format!("{upgrade}\r\n").as_bytes()).await;
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        let mut conn = client();
        let mut total = 0;
        let close = loop {
            match conn.receive_part(&mut buf, None).unwrap() {
                Some(oneport_rfc6455::Part::Data { data, fin, .. }) => {
                    assert!(!fin, "the message never ends");
                    total += data.len();
                }
                Some(oneport_rfc6455::Part::Control(m @ Message::Close(_))) => break m,
                Some(_) => {}
                None => {
                    let n = io.read_buf(&mut buf).await.unwrap();
                    assert!(n > 0, "eof before the Close");
                }
            }
        };
        assert_eq!(close_code(&close), Some(CloseCode::INTERNAL), "{close:?}");
        assert!(total <= 16 * 64 * 1024, "{total}");

        // hybi-00 has no fragments: a typed error, nothing sent.
        async fn legacy(mut ws: WebSocket, _req: http::request::Parts) {
            let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(
                bytes::Bytes::from_static(b"x"),
            )]);
            let err = ws
                .send_stream(oneport_dispatch::MessageKind::Text, chunks, 10)
                .await
                .unwrap_err();
            let _ = ws
                .send_text(format!("unsupported: {}", err.is_unsupported()))
                .await;
        }
        let s = start(filter("^/ws$", websocket(legacy))).await;
        let got = hybi00_exchange(s.addr, &hybi00_request("", b"")).await;
        assert!(
            String::from_utf8_lossy(&got).contains("unsupported: true"),
            "{got:?}"
        );
    })
    .await;
}

/// A Close from the peer while a message streams out: the receiving half
/// echoes it between fragments, and the message is never finished.
#[tokio::test]
async fn a_close_goes_out_between_fragments() {
    run(async {
        let s = start(filter("^/ws", websocket(streamer))).await;
        let mut io = TcpStream::connect(s.addr).await.unwrap();
        let (head, mut buf) = handshake(&mut io, format!("{RFC6455_UPGRADE}\r\n").as_bytes()).await;
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        let mut conn = client();
        let (mut total, mut closed_at) = (0usize, None);
        loop {
            match conn.receive_part(&mut buf, None) {
                Ok(Some(oneport_rfc6455::Part::Data { data, fin, .. })) => {
                    // Fragments already on their way may still come.
                    assert!(!fin, "the message was cut by the close");
                    total += data.len();
                    if total >= 128 * 1024 && closed_at.is_none() {
                        let mut close = BytesMut::new();
                        conn.encode(&Message::Close(None), &mut close).unwrap();
                        io.write_all(&close).await.unwrap();
                        closed_at = Some(total);
                    }
                }
                Ok(Some(oneport_rfc6455::Part::Control(Message::Close(_)))) => break,
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => {
                    let n = io.read_buf(&mut buf).await.unwrap();
                    assert!(n > 0, "eof before the echo");
                }
            }
        }
        assert!(closed_at.is_some());
        assert!(total < 2 << 20, "the rest was never sent: {total}");
    })
    .await;
}

/// A hybi-00 text frame three times the draft's frame size limit, taken
/// through `recv_stream` in many chunks.
#[tokio::test]
async fn a_large_hybi00_text_frame_streams_in_chunks() {
    run(async {
        let s = start(filter("^/ws$", websocket(stream_counter))).await;
        let mut after = vec![0x00];
        after.extend(std::iter::repeat_n(b'y', 3 << 20));
        after.extend_from_slice(b"\xFF\xFF\x00");
        let got = hybi00_exchange(s.addr, &hybi00_request("", &after)).await;
        let text = String::from_utf8_lossy(&got);
        assert!(
            text.contains("3145728 bytes, text true, many chunks, small"),
            "{text}"
        );
    })
    .await;
}

/// `send_reader` sends what an `AsyncRead` gives as fragments of the size
/// asked.
#[tokio::test]
async fn send_reader_sends_a_reader_as_fragments() {
    async fn from_reader(mut ws: WebSocket, _req: http::request::Parts) {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 256) as u8).collect();
        let reader = std::io::Cursor::new(data);
        ws.send_reader(oneport_dispatch::MessageKind::Binary, reader, 30_000)
            .await
            .expect("sent");
    }
    run(async {
        let s = start(filter("^/ws$", websocket(from_reader))).await;
        let mut io = TcpStream::connect(s.addr).await.unwrap();
        let (head, rest) = handshake(&mut io, format!("{RFC6455_UPGRADE}\r\n").as_bytes()).await;
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        // The frames as sent: 30 000-byte fragments, the last with FIN.
        let mut buf = rest;
        let mut sizes = Vec::new();
        loop {
            if let Some((h, n)) = oneport_rfc6455::FrameHeader::parse(&buf).unwrap() {
                let len = h.payload_len as usize;
                if buf.len() >= n + len {
                    let _ = buf.split_to(n + len);
                    sizes.push((len, h.fin));
                    if h.fin {
                        break;
                    }
                    continue;
                }
            }
            assert!(io.read_buf(&mut buf).await.unwrap() > 0, "eof");
        }
        assert_eq!(
            sizes,
            [
                (30_000, false),
                (30_000, false),
                (30_000, false),
                (10_000, true)
            ]
        );
    })
    .await;
}
