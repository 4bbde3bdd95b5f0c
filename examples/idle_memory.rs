//! Measures what an idle connection costs the demo server: it starts the
//! demo as a child process, opens N keep-alive HTTP connections (each after
//! one request) and then N WebSockets (each after one echo), and reports
//! the growth of the server's resident memory per connection.
//!
//! ```text
//! cargo build --release --example demo --example idle_memory
//! target/release/examples/idle_memory [N]
//! ```
//!
//! Linux only (reads `/proc/PID/status`). The figure includes the kernel's
//! per-socket bookkeeping that lands in the process, the tokio task and its
//! registration, and whatever the connection holds while idle.

use std::time::Duration;

use oneport::ws::{Message, connect};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[path = "child.rs"]
mod child;
use child::rss_kib;

async fn settle() {
    tokio::time::sleep(Duration::from_millis(700)).await;
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5000);
    let (mut child, addr) = child::start_demo();
    let pid = child.id();

    // Warm up: one of each, so lazily built state is not counted.
    let mut keep = Vec::new();
    let mut sockets = Vec::new();
    keep.push(http_once(&addr).await);
    sockets.push(ws_once(&addr).await);
    settle().await;

    let base = rss_kib(pid);
    for _ in 0..n {
        keep.push(http_once(&addr).await);
    }
    settle().await;
    let after_http = rss_kib(pid);
    for _ in 0..n {
        sockets.push(ws_once(&addr).await);
    }
    settle().await;
    let after_ws = rss_kib(pid);

    let per = |a: u64, b: u64| (b.saturating_sub(a) as f64 * 1024.0) / n as f64;
    println!("idle connections: {n} of each");
    println!("| connection kind | server RSS growth | bytes per connection |");
    println!("|---|---|---|");
    println!(
        "| HTTP keep-alive, after one request | {} KiB | {:.0} |",
        after_http.saturating_sub(base),
        per(base, after_http)
    );
    println!(
        "| WebSocket (RFC 6455), after one echo | {} KiB | {:.0} |",
        after_ws.saturating_sub(after_http),
        per(after_http, after_ws)
    );
    drop(keep);
    drop(sockets);
    let _ = child.kill();
    let _ = child.wait();
}

async fn http_once(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 256];
    let mut got = 0;
    while !buf[..got].ends_with(b"Hello, World!") {
        let n = s.read(&mut buf[got..]).await.expect("read");
        assert!(n > 0, "closed early");
        got += n;
    }
    s
}

async fn ws_once(addr: &str) -> oneport::ws::WebSocket<oneport::ws::ClientStream> {
    let (mut ws, _) = connect(&format!("ws://{addr}/ws"))
        .await
        .expect("ws connect");
    ws.send(Message::Text("hi".into())).await.expect("send");
    let _ = ws.recv().await;
    ws
}
