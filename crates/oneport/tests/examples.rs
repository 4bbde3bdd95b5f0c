//! The seed programs in `examples/`, run as the user runs them (the built
//! example binaries, on port 0) and driven over loopback.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use oneport::ws::{ConnectOptions, Message, connect, connect_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[path = "../../oneport-redis/tests/support/server.rs"]
mod redis_server;

use redis_server::Redis;

const LIMIT: Duration = Duration::from_secs(30);

/// A running example, stopped when dropped.
struct Example {
    child: Child,
    /// The lines it printed first (`listening on ADDR`, ...).
    lines: Vec<String>,
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary(name: &str) -> PathBuf {
    // Integration tests run from target/<profile>/deps; `cargo test` builds
    // the examples into target/<profile>/examples before running them (a
    // run limited with `--test examples` does not: build them first).
    let exe = std::env::current_exe().expect("test binary path");
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let path = profile.join("examples").join(name);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// Starts `name` with `args` and reads its first `lines` lines.
fn start(name: &str, args: &[&str], lines: usize) -> Example {
    let mut child = Command::new(binary(name))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(if name == "chat" {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .env("RUST_LOG", "info,oneport_redis=debug")
        .spawn()
        .expect("start the example");
    let out = child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(out);
    let mut got = Vec::new();
    for _ in 0..lines {
        let mut line = String::new();
        reader.read_line(&mut line).expect("read a line");
        got.push(line.trim().to_owned());
    }
    Example { child, lines: got }
}

fn addr_of(line: &str, prefix: &str) -> String {
    line.strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{line:?} does not start with {prefix:?}"))
        .to_owned()
}

/// Sends `raw` and reads until `want` appears in the answer (or the end).
async fn read_until(addr: &str, raw: &[u8], want: &str) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(raw).await.expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(want) {
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

async fn bounded<F: std::future::Future<Output = ()>>(f: F) {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test timed out");
}

#[tokio::test]
async fn ws_client_talks_to_ws_serve() {
    bounded(async {
        let server = start("ws_serve", &["--addr", "127.0.0.1:0"], 1);
        let addr = addr_of(&server.lines[0], "listening on ");
        let out = tokio::task::spawn_blocking(move || {
            Command::new(binary("ws_client"))
                .args([
                    "--url",
                    &format!("ws://{addr}/any/path"),
                    "--message",
                    "Hello world!",
                ])
                .output()
                .expect("run ws_client")
        })
        .await
        .expect("join");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello world!\n");
        // ws_serve refuses what is not a WebSocket, as Racket's ws-serve.
        let addr = addr_of(&server.lines[0], "listening on ");
        let r = read_until(&addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    })
    .await;
}

#[tokio::test]
async fn sse_same_port_replays_only_the_events_with_ids() {
    bounded(async {
        let ex = start("sse_same_port", &["--addr", "127.0.0.1:0"], 1);
        let addr = addr_of(&ex.lines[0], "listening on ");
        let page = read_until(&addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "</html>").await;
        assert!(page.contains("new EventSource(\"/sse/\")"), "{page}");
        let first = read_until(
            &addr,
            b"GET /sse/ HTTP/1.1\r\nHost: x\r\n\r\n",
            "replayed)\n\n",
        )
        .await;
        assert!(
            first.contains("data: Hello world (sent with an id: replayed)"),
            "{first}"
        );
        assert!(
            !first.contains("never seen"),
            "a live-only event was replayed: {first}"
        );
        let sent = read_until(
            &addr,
            b"POST /send?id=2 HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nsecond",
            "\r\n\r\n",
        )
        .await;
        assert!(sent.starts_with("HTTP/1.1 202"), "{sent}");
        let later = read_until(
            &addr,
            b"GET /sse/ HTTP/1.1\r\nHost: x\r\n\r\n",
            "second\n\n",
        )
        .await;
        assert!(
            later.contains("id: 1\n") && later.contains("id: 2\ndata: second"),
            "{later}"
        );
    })
    .await;
}

#[tokio::test]
async fn ws_same_port_answers_hello_then_closes_cleanly() {
    bounded(async {
        let ex = start("ws_same_port", &["--addr", "127.0.0.1:0"], 1);
        let addr = addr_of(&ex.lines[0], "listening on ");
        let page = read_until(&addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "</html>").await;
        assert!(page.contains("/ws_test"), "{page}");
        let (mut ws, _) = connect(&format!("ws://{addr}/ws_test"))
            .await
            .expect("connect");
        ws.send(Message::text("Hello")).await.expect("send");
        assert_eq!(
            ws.recv().await.expect("open").expect("answer"),
            Message::text("Hello world!")
        );
        // The handler returned: the socket closed itself with 1000.
        match ws.recv().await {
            Some(Ok(Message::Close(Some(f)))) => assert_eq!(f.code.as_u16(), 1000),
            other => panic!("expected Close 1000, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn ws_service_mapper_routes_by_subprotocol() {
    bounded(async {
        let ex = start("ws_service_mapper", &["--addr", "127.0.0.1:0"], 1);
        let addr = addr_of(&ex.lines[0], "listening on ");
        let url = format!("ws://{addr}/ws_test");
        let (mut plain, _) = connect(&url).await.expect("connect");
        plain.send(Message::text("Hello")).await.expect("send");
        assert_eq!(
            plain.recv().await.expect("open").expect("answer"),
            Message::text("Hello world!")
        );
        let (mut sub, res) =
            connect_with(&url, ConnectOptions::default().protocols(["subprotocol"]))
                .await
                .expect("connect");
        assert_eq!(res.headers()["sec-websocket-protocol"], "subprotocol");
        assert_eq!(
            sub.recv().await.expect("open").expect("answer"),
            Message::text("You requested a subprotocol")
        );
        let refused = connect_with(&url, ConnectOptions::default().protocols(["other"])).await;
        assert!(refused.is_err(), "an unknown subprotocol is refused");
    })
    .await;
}

#[tokio::test]
async fn sse_own_port_serves_the_page_and_the_cors_the_browser_needs() {
    bounded(async {
        let ex = start(
            "sse_own_port",
            &["--addr", "127.0.0.1:0", "--sse-addr", "127.0.0.1:0"],
            2,
        );
        let page_addr = addr_of(&ex.lines[0], "listening on ");
        let sse_addr = addr_of(&ex.lines[1], "events on ");
        let sse_port = sse_addr.rsplit(':').next().expect("port");
        let page = read_until(&page_addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "</html>").await;
        assert!(page.contains(&format!(":{sse_port}/")), "{page}");
        let origin = format!("http://{page_addr}");
        let stream = read_until(
            &sse_addr,
            format!("GET / HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\n\r\n").as_bytes(),
            "other port)\n\n",
        )
        .await;
        assert!(
            stream.contains(&format!("access-control-allow-origin: {origin}\r\n")),
            "{stream}"
        );
        assert!(
            stream.contains("data: Hello World! (from the other port)"),
            "{stream}"
        );
        // Another origin is not allowed to read it.
        let foreign = read_until(
            &sse_addr,
            b"GET / HTTP/1.1\r\nHost: x\r\nOrigin: http://evil.example\r\n\r\n",
            "\r\n\r\n",
        )
        .await;
        assert!(
            !foreign.contains("access-control-allow-origin"),
            "{foreign}"
        );
    })
    .await;
}

/// A chat member over the tutorial's protocol.
async fn member(addr: &str, room: &str) -> oneport::ws::WebSocket<oneport::ws::ClientStream> {
    let opts = ConnectOptions::default().protocols(["beej-chat-protocol"]);
    let (ws, res) = connect_with(&format!("ws://{addr}/chat/{room}"), opts)
        .await
        .expect("join the room");
    assert_eq!(
        res.headers()["sec-websocket-protocol"],
        "beej-chat-protocol"
    );
    ws
}

async fn say(
    ws: &mut oneport::ws::WebSocket<oneport::ws::ClientStream>,
    packet: serde_json::Value,
) {
    ws.send(Message::text(packet.to_string()))
        .await
        .expect("send");
}

/// The next packet, parsed.
async fn hear(ws: &mut oneport::ws::WebSocket<oneport::ws::ClientStream>) -> serde_json::Value {
    match tokio::time::timeout(Duration::from_secs(5), ws.recv()).await {
        Ok(Some(Ok(Message::Text(t)))) => serde_json::from_str(t.as_str()).expect("JSON"),
        other => panic!("expected a packet, got {other:?}"),
    }
}

async fn silent(ws: &mut oneport::ws::WebSocket<oneport::ws::ClientStream>) -> bool {
    tokio::time::timeout(Duration::from_millis(200), ws.recv())
        .await
        .is_err()
}

#[tokio::test]
async fn chat_speaks_the_tutorials_protocol_carefully() {
    use serde_json::json;
    bounded(async {
        let ex = start("chat", &["--addr", "127.0.0.1:0"], 1);
        let addr = addr_of(&ex.lines[0], "listening on ");

        // The handshake: the tutorial's subprotocol, and the page's origin.
        let url = format!("ws://{addr}/chat/lobby");
        let wrong = connect_with(&url, ConnectOptions::default().protocols(["other"])).await;
        assert!(wrong.is_err(), "another subprotocol is refused");
        let up = |origin: &str| {
            format!(
                "GET /chat/lobby HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                 Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: beej-chat-protocol\r\n\
                 Origin: {origin}\r\n\r\n"
            )
        };
        let foreign = read_until(&addr, up("http://evil.example").as_bytes(), "\r\n\r\n").await;
        assert!(foreign.starts_with("HTTP/1.1 403"), "{foreign}");
        let own = read_until(&addr, up(&format!("http://{addr}")).as_bytes(), "\r\n\r\n").await;
        assert!(own.starts_with("HTTP/1.1 101"), "{own}");
        let none = read_until(
            &addr,
            up(&format!("http://{addr}")).replace("Sec-WebSocket-Protocol: beej-chat-protocol\r\n", "").as_bytes(),
            "\r\n\r\n",
        )
        .await;
        assert!(none.starts_with("HTTP/1.1 400"), "no subprotocol: {none}");

        let mut alice = member(&addr, "lobby").await;
        let mut bob = member(&addr, "lobby").await;
        let long = format!("  {}  ", "b".repeat(40));
        say(&mut bob, json!({"type": "chat-join", "payload": {"username": long}})).await;
        let joined = hear(&mut alice).await;
        assert_eq!(joined["type"], "chat-join");
        assert_eq!(joined["payload"]["username"], "b".repeat(32), "trimmed and cut");
        assert_eq!(hear(&mut bob).await, joined, "the room includes the sender");

        // Empty messages and unknown types are not broadcast.
        say(&mut bob, json!({"type": "chat-message", "payload": {"username": "bob", "message": "   "}})).await;
        say(&mut bob, json!({"type": "chat-dance", "payload": {}})).await;
        assert!(silent(&mut alice).await, "nothing for alice");
        // Malformed JSON gets an error back, to its sender alone.
        bob.send(Message::text("{not json")).await.expect("send");
        assert_eq!(hear(&mut bob).await["type"], "chat-error");
        assert!(silent(&mut alice).await, "the error went to bob only");

        say(&mut bob, json!({"type": "chat-message", "payload": {"username": " bob ", "message": " hi "}})).await;
        let said = hear(&mut alice).await;
        assert_eq!(said, json!({"type": "chat-message", "payload": {"username": "bob", "message": "hi"}}));

        // A newcomer first gets the room's recent packets; the page's own
        // address (as the tutorial's single-room server had it) is the lobby.
        let opts = ConnectOptions::default().protocols(["beej-chat-protocol"]);
        let (mut carol, _) = connect_with(&format!("ws://{addr}/"), opts)
            .await
            .expect("join the lobby at /");
        assert_eq!(hear(&mut carol).await, joined);
        assert_eq!(hear(&mut carol).await, said);

        // Another room hears none of it.
        let mut eve = member(&addr, "elsewhere").await;
        say(&mut alice, json!({"type": "chat-message", "payload": {"username": "alice", "message": "lobby only"}})).await;
        assert!(silent(&mut eve).await, "another room heard the lobby");

        // Bob goes abruptly (no closing handshake): the room is told, under
        // the name he last used.
        drop(bob);
        let mut left = hear(&mut alice).await;
        while left["type"] != "chat-leave" {
            left = hear(&mut alice).await;
        }
        assert_eq!(left["payload"]["username"], "bob");
    })
    .await;
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn two_chat_processes_share_a_room_through_redis() {
    use serde_json::json;
    bounded(async {
        let redis = Redis::start();
        let url = redis.url();
        let a = start("chat", &["--addr", "127.0.0.1:0", "--redis", &url], 1);
        let b = start("chat", &["--addr", "127.0.0.1:0", "--redis", &url], 1);
        let (addr_a, addr_b) = (
            addr_of(&a.lines[0], "listening on "),
            addr_of(&b.lines[0], "listening on "),
        );
        let mut ada = member(&addr_a, "kitchen").await;
        let mut bob = member(&addr_b, "kitchen").await;
        // Bob's handler joins the room after the handshake: Ada speaks until
        // Bob hears her. By then Ada's own join is complete (her handler
        // reads only after it), so what Bob says next, she hears.
        say(&mut bob, json!({"type": "chat-join", "payload": {"username": "bob"}})).await;
        let mut heard = None;
        for i in 0..100 {
            let said = json!({"type": "chat-message", "payload": {"username": "ada", "message": format!("hi {i}")}});
            say(&mut ada, said).await;
            if let Ok(Some(Ok(Message::Text(t)))) =
                tokio::time::timeout(Duration::from_millis(100), bob.recv()).await
            {
                let packet: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
                if packet["payload"]["username"] == "ada" {
                    heard = Some(packet);
                    break;
                }
            }
        }
        let heard = heard.expect("bob, on process B, heard ada, on process A");
        assert_eq!(heard["type"], "chat-message");
        // And back: Bob's words reach Ada (skipping what she hears of her own).
        say(&mut bob, json!({"type": "chat-message", "payload": {"username": "bob", "message": "hello from B"}})).await;
        loop {
            let p = hear(&mut ada).await;
            if p["payload"]["message"] == "hello from B" {
                assert_eq!(p["payload"]["username"], "bob");
                break;
            }
        }
        drop(redis);
    })
    .await;
}

/// A demo server on Redis, and its address.
fn demo_on(redis: &Redis) -> (Example, String) {
    let ex = start(
        "demo",
        &["--addr", "127.0.0.1:0", "--redis", &redis.url()],
        1,
    );
    let addr = addr_of(&ex.lines[0], "listening on ");
    (ex, addr)
}

/// Publishes `body` on the demo at `addr`; the status.
async fn publish(addr: &str, query: &str, body: &str) -> u16 {
    let raw = format!(
        "POST /publish{query} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let r = read_until(addr, raw.as_bytes(), "\r\n\r\n").await;
    r.get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status: {r:?}"))
}

/// An event stream read over one TCP connection, never reconnected, so a
/// dropped subscriber shows.
struct RawEvents {
    stream: TcpStream,
    parser: oneport::sse::Parser,
}

impl RawEvents {
    async fn open(addr: &str, last_event_id: Option<&str>) -> Self {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let resume = last_event_id.map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
        let raw = format!("GET /events HTTP/1.1\r\nHost: x\r\n{resume}\r\n");
        stream.write_all(raw.as_bytes()).await.expect("write");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            let n = stream.read(&mut byte).await.expect("read the head");
            assert!(n == 1, "closed before the head: {head:?}");
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        Self {
            stream,
            parser: oneport::sse::Parser::default(),
        }
    }

    /// The next event with data (the stream must stay open).
    async fn next(&mut self) -> oneport::sse::ParsedEvent {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(e) = self.parser.poll_event() {
                return e;
            }
            let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut buf))
                .await
                .expect("an event within 10 s")
                .expect("read");
            assert!(n > 0, "the event stream was closed");
            self.parser.feed(&buf[..n]).expect("a valid event stream");
        }
    }
}

/// A WebSocket on the demo's `/events`.
async fn ws_events(addr: &str) -> oneport::ws::WebSocket<oneport::ws::ClientStream> {
    connect(&format!("ws://{addr}/events"))
        .await
        .expect("connect")
        .0
}

async fn ws_text(ws: &mut oneport::ws::WebSocket<oneport::ws::ClientStream>) -> String {
    match tokio::time::timeout(Duration::from_secs(10), ws.recv()).await {
        Ok(Some(Ok(Message::Text(t)))) => t.to_string(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

/// Publishes probes on `addr` until `sse` and `ws` (on another process)
/// have each heard one, so that both are subscribed there.
async fn until_subscribed(
    addr: &str,
    sse: &mut RawEvents,
    ws: &mut oneport::ws::WebSocket<oneport::ws::ClientStream>,
) {
    let (mut sse_heard, mut ws_heard) = (false, false);
    for _ in 0..200 {
        assert_eq!(publish(addr, "", "probe").await, 204);
        if !sse_heard {
            sse_heard = tokio::time::timeout(Duration::from_millis(50), sse.next())
                .await
                .is_ok_and(|e| e.data == "probe");
        }
        if !ws_heard {
            ws_heard = tokio::time::timeout(Duration::from_millis(50), ws.recv())
                .await
                .is_ok_and(|m| matches!(m, Some(Ok(Message::Text(t))) if t.as_str() == "probe"));
        }
        if sse_heard && ws_heard {
            // Drain the probes still on their way.
            assert_eq!(publish(addr, "", "last probe").await, 204);
            while sse.next().await.data != "last probe" {}
            while ws_text(ws).await != "last probe" {}
            return;
        }
    }
    panic!("the subscribers never heard the publisher's process");
}

/// A stream entry id, `MILLISECONDS-SEQUENCE`, as a comparable pair.
fn stream_id(id: &str) -> (u64, u64) {
    let (ms, seq) = id
        .split_once('-')
        .unwrap_or_else(|| panic!("not a stream id: {id:?}"));
    (ms.parse().expect("ms"), seq.parse().expect("seq"))
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn events_published_on_a_reach_sse_and_websocket_subscribers_on_b_in_order() {
    bounded(async {
        let redis = Redis::start();
        let ((_a, a), (_b, b)) = (demo_on(&redis), demo_on(&redis));
        let mut sse = RawEvents::open(&b, None).await;
        let mut ws = ws_events(&b).await;
        until_subscribed(&a, &mut sse, &mut ws).await;
        for i in 0..50 {
            let query = if i % 2 == 0 { "?id=x&event=tick" } else { "" };
            assert_eq!(publish(&a, query, &format!("n{i}")).await, 204);
        }
        let mut last = (0, 0);
        for i in 0..50 {
            let e = sse.next().await;
            assert_eq!(e.data, format!("n{i}"), "in order on the event stream");
            if i % 2 == 0 {
                // Ids are the Redis stream ids, increasing.
                assert_eq!(e.event_type, "tick");
                let id = stream_id(&e.last_event_id);
                assert!(id > last, "{id:?} after {last:?}");
                last = id;
            }
            assert_eq!(
                ws_text(&mut ws).await,
                format!("n{i}"),
                "in order on the WebSocket"
            );
        }
        ws.close(None).await.expect("close handshake");
    })
    .await;
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn last_event_id_from_a_resumes_on_b() {
    bounded(async {
        let redis = Redis::start();
        let ((_a, a), (_b, b)) = (demo_on(&redis), demo_on(&redis));
        for i in 1..=3 {
            assert_eq!(publish(&a, "?id=x", &format!("e{i}")).await, 204);
        }
        // A client of A gets the kept events, with their stream ids...
        let mut on_a = RawEvents::open(&a, None).await;
        let mut ids = Vec::new();
        for i in 1..=3 {
            let e = on_a.next().await;
            assert_eq!(e.data, format!("e{i}"));
            ids.push(e.last_event_id);
        }
        drop(on_a);
        // ...loses its connection, more is published on A meanwhile...
        for i in 4..=5 {
            assert_eq!(publish(&a, "?id=x", &format!("e{i}")).await, 204);
        }
        // ...and resumes on B after the second one.
        let mut on_b = RawEvents::open(&b, Some(&ids[1])).await;
        for i in 3..=5 {
            let e = on_b.next().await;
            assert_eq!(e.data, format!("e{i}"), "B replays what followed, once");
        }
    })
    .await;
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn a_redis_restart_mid_stream_loses_no_event_with_an_id() {
    bounded(async {
        let redis = Redis::start();
        let ((_a, a), (_b, b)) = (demo_on(&redis), demo_on(&redis));
        let mut sse = RawEvents::open(&b, None).await;
        let mut ws = ws_events(&b).await;
        until_subscribed(&a, &mut sse, &mut ws).await;
        for i in 0..30 {
            assert_eq!(publish(&a, "?id=x", &format!("n{i}")).await, 204);
        }
        // Killed without a goodbye, and started again on its data.
        let redis = redis.restart();
        // Published while A reconnects: buffered within its bound.
        for i in 30..60 {
            assert_eq!(publish(&a, "?id=x", &format!("n{i}")).await, 204);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut ids = Vec::new();
        for i in 0..60 {
            let e = sse.next().await;
            assert_eq!(e.data, format!("n{i}"), "every event, once, in order");
            ids.push(stream_id(&e.last_event_id));
            assert_eq!(
                ws_text(&mut ws).await,
                format!("n{i}"),
                "the WebSocket stayed too"
            );
        }
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        ws.close(None).await.expect("close handshake");
        drop(redis);
    })
    .await;
}

#[tokio::test]
async fn with_axum_serves_the_routers_routes_and_onports_on_one_port() {
    bounded(async {
        let ex = start("with_axum", &["--addr", "127.0.0.1:0"], 1);
        let addr = addr_of(&ex.lines[0], "listening on ");

        // axum's routes.
        let r = read_until(&addr, b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "}").await;
        assert!(r.starts_with("HTTP/1.1 200 "), "{r}");
        assert!(r.to_ascii_lowercase().contains("content-type: application/json"), "{r}");
        let body: serde_json::Value = serde_json::from_str(r.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body, serde_json::json!({"status": "ok"}));
        let sent = r#"{"a":[1,2,{"b":"c"}],"n":null}"#;
        let raw = format!(
            "POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{sent}",
            sent.len()
        );
        let r = read_until(&addr, raw.as_bytes(), "null}").await;
        assert!(r.starts_with("HTTP/1.1 200 "), "{r}");
        let echoed: serde_json::Value = serde_json::from_str(r.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(echoed, serde_json::from_str::<serde_json::Value>(sent).unwrap());
        // The router's own 404 answers under /api/.
        let r = read_until(&addr, b"GET /api/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 404 "), "{r}");

        // oneport's: the WebSocket echo, the event stream and publishing.
        let (mut ws, _) = connect(&format!("ws://{addr}/ws")).await.expect("ws");
        ws.send(Message::text("through oneport")).await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("through oneport"));
        ws.close(None).await.unwrap();
        let body = "an event";
        let raw = format!(
            "POST /publish?id=1 HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let r = read_until(&addr, raw.as_bytes(), "\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 204 "), "{r}");
        let r = read_until(&addr, b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n", "data: an event\n").await;
        assert!(r.contains("text/event-stream") && r.contains("id: 1\n"), "{r}");
    })
    .await;
}

#[tokio::test]
async fn ws_upload_streams_each_binary_message_to_a_file_of_any_size() {
    use sha2::{Digest, Sha256};
    bounded(async {
        let dir = std::env::temp_dir().join(format!("oneport-uploads-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let ex = start(
            "ws_upload",
            &["--addr", "127.0.0.1:0", "--dir", dir.to_str().unwrap()],
            1,
        );
        let addr = addr_of(&ex.lines[0], "listening on ");
        let (mut ws, _) = connect(&format!("ws://{addr}/upload"))
            .await
            .expect("connect");
        // 70 MiB: past the 64 MiB a whole message may have.
        let size = 70usize << 20;
        let piece = |i: usize| bytes::Bytes::from(vec![(i % 251) as u8; 1 << 20]);
        let mut want = Sha256::new();
        for i in 0..size >> 20 {
            want.update(piece(i));
        }
        let want: String = want.finalize().iter().map(|b| format!("{b:02x}")).collect();
        let source =
            futures_util::stream::iter((0..size >> 20).map(|i| Ok::<_, std::io::Error>(piece(i))));
        ws.send_stream(oneport::ws::MessageKind::Binary, source, 1 << 20)
            .await
            .expect("sent");
        let answer = match ws.recv().await {
            Some(Ok(Message::Text(t))) => {
                serde_json::from_str::<serde_json::Value>(t.as_str()).unwrap()
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(
            answer,
            serde_json::json!({"bytes": size as u64, "sha256": want})
        );
        // The files under DIR.
        let files = || -> Vec<std::path::PathBuf> {
            std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect()
        };
        let first = files();
        assert_eq!(first.len(), 1, "{first:?}");
        assert_eq!(std::fs::metadata(&first[0]).unwrap().len(), size as u64);
        // A second message is a second file; text is refused.
        ws.send(Message::binary(&b"small"[..])).await.unwrap();
        let second = match ws.recv().await {
            Some(Ok(Message::Text(t))) => {
                serde_json::from_str::<serde_json::Value>(t.as_str()).unwrap()
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(second["bytes"], 5);
        let both = files();
        assert_eq!(both.len(), 2, "a second file: {both:?}");
        let new: Vec<_> = both.iter().filter(|p| !first.contains(p)).collect();
        assert_eq!(std::fs::read(new[0]).unwrap(), b"small");
        ws.send(Message::text("not a file")).await.unwrap();
        match ws.recv().await {
            Some(Ok(Message::Text(t))) => assert!(t.as_str().contains("error"), "{t}"),
            other => panic!("{other:?}"),
        }
        ws.close(None).await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}
