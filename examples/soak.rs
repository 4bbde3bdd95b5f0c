//! A bounded soak of the demo server on loopback: well-behaved clients
//! (keep-alive HTTP, WebSocket echo, SSE subscribers with a publisher) run
//! beside misbehaving ones (WebSocket and SSE clients that never read,
//! slowloris heads, a connection flood, unterminated hybi-00 frames), and
//! the server's memory is sampled throughout.
//!
//! ```text
//! cargo build --release --example demo --example soak
//! target/release/examples/soak [SECONDS]      # default 60, at most 300
//! ```
//!
//! It starts `demo` (next to this binary) on `127.0.0.1:0`, stops it at the
//! end, and prints what was served, the errors the well-behaved clients
//! saw, what became of the misbehaving ones, and the server's resident
//! memory at the start, its peak and at the end. Linux only (it reads
//! `/proc/PID/status`). Not part of `cargo test`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use std::time::{Duration, Instant};

use oneport::ws::{Message, connect};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[path = "child.rs"]
mod child;
use child::rss_kib;

const MAX_SECONDS: u64 = 300;

#[derive(Default)]
struct Counts {
    http_requests: AtomicU64,
    ws_echoes: AtomicU64,
    sse_events: AtomicU64,
    published: AtomicU64,
    errors: AtomicU64,
    /// Misbehaving connections started, by kind.
    misbehaving: [AtomicUsize; KINDS.len()],
    /// Of those, the ones the server let go of (closed, reset or answered
    /// with an error) before the end, by kind.
    let_go: [AtomicUsize; KINDS.len()],
}

/// The kinds of misbehaving client.
const KINDS: [&str; 5] = [
    "WebSocket client that never reads (64 KiB echo requests)",
    "SSE subscriber that never reads",
    "slowloris (a head byte a second)",
    "connection flood (500 connections that send nothing)",
    "hybi-00 frame that never ends",
];
const WS_NON_READER: usize = 0;
const SSE_NON_READER: usize = 1;
const SLOWLORIS: usize = 2;
const FLOOD: usize = 3;
const UNTERMINATED: usize = 4;

impl Counts {
    fn start(&self, kind: usize, n: usize) {
        self.misbehaving[kind].fetch_add(n, Ordering::Relaxed);
    }

    fn let_go(&self, kind: usize) {
        self.let_go[kind].fetch_add(1, Ordering::Relaxed);
    }
}

/// Reads and discards until the server closes the connection, or `until`.
async fn wait_closed(mut s: TcpStream, until: Instant) -> bool {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

async fn http_client(addr: String, c: Arc<Counts>, until: Instant) {
    let Ok(mut s) = TcpStream::connect(&addr).await else {
        c.errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let mut buf = vec![0u8; 4096];
    while Instant::now() < until {
        if s.write_all(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .is_err()
        {
            c.errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut got = 0;
        loop {
            match s.read(&mut buf[got..]).await {
                Ok(0) | Err(_) => {
                    c.errors.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Ok(n) => got += n,
            }
            if buf[..got].ends_with(b"Hello, World!") {
                break;
            }
        }
        c.http_requests.fetch_add(1, Ordering::Relaxed);
    }
}

async fn ws_client(addr: String, c: Arc<Counts>, until: Instant) {
    let Ok((mut ws, _)) = connect(&format!("ws://{addr}/ws")).await else {
        c.errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let mut i = 0u64;
    while Instant::now() < until {
        i += 1;
        let text = format!("message {i}");
        if ws.send(Message::Text(text.clone().into())).await.is_err() {
            c.errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
        match ws.recv().await {
            Some(Ok(Message::Text(t))) if t.as_str() == text => {
                c.ws_echoes.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                c.errors.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    }
    let _ = ws.close(None).await;
}

async fn sse_client(addr: String, c: Arc<Counts>, until: Instant) {
    let Ok(mut s) = TcpStream::connect(&addr).await else {
        c.errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    if s.write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .is_err()
    {
        c.errors.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let mut buf = vec![0u8; 16 * 1024];
    let mut tail = Vec::new();
    while Instant::now() < until {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => return,
            Ok(Ok(0)) | Ok(Err(_)) => {
                c.errors.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(Ok(n)) => {
                tail.extend_from_slice(&buf[..n]);
                let events = tail.windows(6).filter(|w| *w == b"data: ").count();
                c.sse_events.fetch_add(events as u64, Ordering::Relaxed);
                let keep = tail.len().saturating_sub(5);
                tail.drain(..keep);
            }
        }
    }
}

async fn publisher(addr: String, c: Arc<Counts>, until: Instant) {
    let Ok(mut s) = TcpStream::connect(&addr).await else {
        c.errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    // 8 KiB every 10 ms: enough to fill a non-reader's socket buffers and
    // then its queue within seconds.
    let body = "x".repeat(8 * 1024);
    let req = format!(
        "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut buf = [0u8; 512];
    while Instant::now() < until {
        if s.write_all(req.as_bytes()).await.is_err() || s.read(&mut buf).await.is_err() {
            c.errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
        c.published.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Asks for echoes of 64 KiB messages and never reads the answers.
async fn ws_non_reader(addr: String, c: Arc<Counts>, until: Instant) {
    c.start(WS_NON_READER, 1);
    let Ok((ws, _)) = connect(&format!("ws://{addr}/ws")).await else {
        return;
    };
    let (_rx, mut tx) = ws.split();
    let payload = Message::Binary(vec![1u8; 64 * 1024].into());
    let flood = async {
        loop {
            if tx.send(payload.clone()).await.is_err() {
                return;
            }
        }
    };
    let left = until.saturating_duration_since(Instant::now());
    if tokio::time::timeout(left, flood).await.is_ok() {
        c.let_go(WS_NON_READER);
    }
}

/// Subscribes to the event stream and never reads it.
async fn sse_non_reader(addr: String, c: Arc<Counts>, until: Instant) {
    c.start(SSE_NON_READER, 1);
    let Ok(mut s) = TcpStream::connect(&addr).await else {
        return;
    };
    let _ = s
        .write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    // Never read until the end: then see whether the server closed it.
    tokio::time::sleep_until(until.into()).await;
    if wait_closed(s, Instant::now() + Duration::from_millis(200)).await {
        c.let_go(SSE_NON_READER);
    }
}

/// Sends a request head one byte a second.
async fn slowloris(addr: String, c: Arc<Counts>, until: Instant) {
    c.start(SLOWLORIS, 1);
    let Ok(mut s) = TcpStream::connect(&addr).await else {
        return;
    };
    for b in b"GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Slow: "
        .iter()
        .cycle()
    {
        if Instant::now() >= until {
            return;
        }
        if s.write_all(&[*b]).await.is_err() {
            break;
        }
        let mut one = [0u8; 1];
        if let Ok(r) = tokio::time::timeout(Duration::from_secs(1), s.read(&mut one)).await {
            // An answer (408) or the end: the server let go.
            let _ = r;
            break;
        }
    }
    c.let_go(SLOWLORIS);
}

/// Opens a burst of connections that send nothing.
async fn flood(addr: String, c: Arc<Counts>, until: Instant) {
    let mut conns = Vec::new();
    for _ in 0..500 {
        if let Ok(s) = TcpStream::connect(&addr).await {
            conns.push(s);
        }
    }
    c.start(FLOOD, conns.len());
    let deadline = until.min(Instant::now() + Duration::from_secs(30));
    let waits: Vec<_> = conns
        .into_iter()
        .map(|s| tokio::spawn(wait_closed(s, deadline)))
        .collect();
    for w in waits {
        if w.await.unwrap_or(false) {
            c.let_go(FLOOD);
        }
    }
}

/// Opens a hybi-00 text frame and streams bytes into it, never ending it.
async fn unterminated_frame(addr: String, c: Arc<Counts>, until: Instant) {
    c.start(UNTERMINATED, 1);
    let Ok(mut s) = TcpStream::connect(&addr).await else {
        return;
    };
    let head = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key1: 18x 6]8vM;54 *(5:  {   U1]8  z [  8\r\n\
        Sec-WebSocket-Key2: 1_ tx7X d  <  nw  334J702) 7]o}` 0\r\n\r\nTm[K T2u\x00";
    if s.write_all(head).await.is_err() {
        return;
    }
    let chunk = vec![b'a'; 64 * 1024];
    while Instant::now() < until {
        if s.write_all(&chunk).await.is_err() {
            c.let_go(UNTERMINATED);
            return;
        }
    }
}

#[tokio::main]
async fn main() {
    let seconds = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(60u64)
        .min(MAX_SECONDS);
    let (mut child, addr) = child::start_demo();
    let pid = child.id();

    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let start_rss = rss_kib(pid);
    let peak = Arc::new(AtomicU64::new(start_rss));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            while Instant::now() < until {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };

    let c = Arc::new(Counts::default());
    let mut tasks = Vec::new();
    let mut spawn = |f: tokio::task::JoinHandle<()>| tasks.push(f);
    for _ in 0..16 {
        spawn(tokio::spawn(http_client(addr.clone(), c.clone(), until)));
        spawn(tokio::spawn(ws_client(addr.clone(), c.clone(), until)));
    }
    for _ in 0..32 {
        spawn(tokio::spawn(sse_client(addr.clone(), c.clone(), until)));
    }
    spawn(tokio::spawn(publisher(addr.clone(), c.clone(), until)));
    // The misbehaving clients arrive over the first half of the run.
    let half = Duration::from_secs(seconds / 2).max(Duration::from_secs(1));
    let waves = 5u32;
    for wave in 0..waves {
        tokio::time::sleep(half / waves).await;
        for _ in 0..4 {
            spawn(tokio::spawn(ws_non_reader(addr.clone(), c.clone(), until)));
            spawn(tokio::spawn(sse_non_reader(addr.clone(), c.clone(), until)));
            spawn(tokio::spawn(slowloris(addr.clone(), c.clone(), until)));
            spawn(tokio::spawn(unterminated_frame(
                addr.clone(),
                c.clone(),
                until,
            )));
        }
        if wave == 0 {
            spawn(tokio::spawn(flood(addr.clone(), c.clone(), until)));
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    let _ = sampler.await;
    // Let the server release what the last connections held.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let end_rss = rss_kib(pid);
    let _ = child.kill();
    let _ = child.wait();

    let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
    println!("soak: {seconds} s against the demo on loopback");
    println!("| what | count |");
    println!("|---|---|");
    println!(
        "| HTTP /plaintext requests answered (16 keep-alive clients) | {} |",
        n(&c.http_requests)
    );
    println!("| WebSocket echoes (16 clients) | {} |", n(&c.ws_echoes));
    println!("| events published | {} |", n(&c.published));
    println!(
        "| events received (32 subscribers) | {} |",
        n(&c.sse_events)
    );
    println!(
        "| errors seen by the well-behaved clients | {} |",
        n(&c.errors)
    );
    for (k, kind) in KINDS.iter().enumerate() {
        println!(
            "| {kind}: let go by the server | {} of {} |",
            c.let_go[k].load(Ordering::Relaxed),
            c.misbehaving[k].load(Ordering::Relaxed)
        );
    }
    println!(
        "| server RSS: start, peak, end | {} KiB, {} KiB, {} KiB |",
        start_rss,
        peak.load(Ordering::Relaxed),
        end_rss
    );
}
