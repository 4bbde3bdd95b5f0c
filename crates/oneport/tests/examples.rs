//! The seed programs in `examples/`, run as the user runs them (the built
//! example binaries, on port 0) and driven over loopback.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use oneport::ws::{ConnectOptions, Message, connect, connect_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
        .stderr(Stdio::null())
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
