//! The load generator for the side-by-side runs. It speaks raw bytes so that
//! no WebSocket or HTTP library of any contestant sits on the client side.
//!
//! ```text
//! load ws   HOST:PORT CONNS MESSAGES SIZE BATCH   # echo: BATCH frames per write, wait for BATCH echoes
//! load http HOST:PORT CONNS REQUESTS PIPELINE     # GET /plaintext, PIPELINE requests per write
//! load idle HOST:PORT CONNS PID [http]            # open CONNS WebSockets (one echo each) or keep-alive connections (one /plaintext each), print PID's RSS growth per connection
//! load sse  HOST:PORT CONNS EVENTS RATE           # CONNS subscribers on GET /events; EVENTS publishes, RATE per second
//! ```
//!
//! `MESSAGES` and `REQUESTS` are per connection. Prints one line of results;
//! exits non-zero if any answer is wrong or missing.
//!
//! In `sse` mode each publish (`POST /publish?id=N`, one keep-alive
//! connection, one at a time) carries the load generator's own clock in
//! nanoseconds as its data; every subscriber reads the event stream and
//! takes the delivery latency against the same clock. Every subscriber must
//! receive every event, in order, or the run fails.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const UPGRADE: &str = "GET /ws HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
const PLAIN: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: bench\r\n\r\n";
const BODY: &[u8] = b"Hello, World!";
const LIMIT: Duration = Duration::from_secs(60);

fn arg<T: std::str::FromStr>(args: &[String], i: usize, name: &str) -> T {
    args.get(i).and_then(|a| a.parse().ok()).unwrap_or_else(|| {
        eprintln!("load: missing or bad {name}");
        std::process::exit(2)
    })
}

/// A masked binary frame from the client with `size` bytes of payload.
fn client_frame(size: usize) -> Vec<u8> {
    client_frame_of(size, false)
}

/// A masked frame of `size` bytes: binary (bytes 0..=255 repeating) or
/// text (ASCII letters, so the server's UTF-8 check runs on every byte).
fn client_frame_of(size: usize, text: bool) -> Vec<u8> {
    let mut f = vec![if text { 0x81u8 } else { 0x82u8 }];
    match size {
        0..=125 => f.push(0x80 | size as u8),
        126..=65535 => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(size as u16).to_be_bytes());
        }
        _ => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(size as u64).to_be_bytes());
        }
    }
    let key = [0x12u8, 0x34, 0x56, 0x78];
    f.extend_from_slice(&key);
    let byte = |i: usize| if text { b'a' + (i % 26) as u8 } else { i as u8 };
    f.extend((0..size).map(|i| byte(i) ^ key[i % 4]));
    f
}

/// Length of the server's unmasked echo of a `size`-byte frame.
fn echo_len(size: usize) -> usize {
    size + match size {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    }
}

async fn ws_connect(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s.write_all(UPGRADE.as_bytes())
        .await
        .expect("write upgrade");
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut b).await.expect("read head");
        assert!(n == 1, "closed during the handshake");
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "no 101: {}",
        String::from_utf8_lossy(&head)
    );
    s
}

async fn ws_conn(addr: String, msgs: usize, size: usize, batch: usize, text: bool) {
    let mut s = ws_connect(&addr).await;
    let frame = client_frame_of(size, text);
    let out: Vec<u8> = frame.repeat(batch);
    let want = echo_len(size) * batch;
    let mut buf = vec![0u8; want.max(64 * 1024)];
    let mut sent = 0;
    while sent < msgs {
        let k = batch.min(msgs - sent);
        s.write_all(&out[..frame.len() * k]).await.expect("write");
        let mut got = 0;
        let need = echo_len(size) * k;
        while got < need {
            let n = s.read(&mut buf).await.expect("read");
            assert!(n > 0, "server closed");
            got += n;
        }
        assert_eq!(got, need, "more bytes than echoed");
        sent += k;
    }
}

async fn http_conn(addr: String, reqs: usize, pipeline: usize) {
    let mut s = TcpStream::connect(&addr).await.expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let out = PLAIN.repeat(pipeline);
    let mut buf = vec![0u8; 64 * 1024];
    let mut done = 0;
    while done < reqs {
        let k = pipeline.min(reqs - done);
        s.write_all(&out[..PLAIN.len() * k]).await.expect("write");
        let mut seen = 0;
        let mut carry = 0;
        while seen < k {
            let n = s.read(&mut buf[carry..]).await.expect("read");
            assert!(n > 0, "server closed");
            let end = carry + n;
            let mut from = 0;
            while let Some(i) = buf[from..end].windows(BODY.len()).position(|w| w == BODY) {
                seen += 1;
                from += i + BODY.len();
            }
            let keep = (end - from).min(BODY.len() - 1);
            buf.copy_within(end - keep..end, 0);
            carry = keep;
        }
        done += k;
    }
}

/// Nanoseconds since the load generator started: the clock both the
/// publisher and the subscribers read.
fn now_ns(origin: Instant) -> u64 {
    origin.elapsed().as_nanos() as u64
}

/// Subscribes to `/events`; returns once the response head has arrived.
async fn sse_subscribe(addr: &str) -> (TcpStream, Vec<u8>) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s.write_all(b"GET /events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n")
        .await
        .expect("write subscribe");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await.expect("read head");
        assert!(n > 0, "closed before the event-stream head");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            assert!(
                buf.starts_with(b"HTTP/1.1 200"),
                "no 200: {}",
                String::from_utf8_lossy(&buf)
            );
            let rest = buf.split_off(i + 4);
            return (s, rest);
        }
    }
}

/// Reads `events` events from one subscription and returns their latencies
/// in nanoseconds. The body may be chunked (axum) or close-delimited
/// (oneport): only `data:` lines are looked at, and a chunk-size line never
/// starts with `data:`.
async fn sse_read(mut s: TcpStream, mut buf: Vec<u8>, events: usize, origin: Instant) -> Vec<u64> {
    let mut lat = Vec::with_capacity(events);
    let mut chunk = vec![0u8; 16 * 1024];
    let mut from = 0;
    while lat.len() < events {
        while let Some(i) = buf[from..].iter().position(|&b| b == b'\n') {
            let line = &buf[from..from + i];
            from += i + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(v) = line.strip_prefix(b"data:") {
                let v = std::str::from_utf8(v).expect("utf-8 data").trim();
                let sent: u64 = v.parse().expect("a clock reading as data");
                lat.push(now_ns(origin).saturating_sub(sent));
            }
        }
        buf.drain(..from);
        from = 0;
        if lat.len() >= events {
            break;
        }
        let n = s.read(&mut chunk).await.expect("read events");
        assert!(n > 0, "event stream ended after {} events", lat.len());
        buf.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(lat.len(), events, "more events than published");
    lat
}

/// Publishes `events` events, `rate` per second, on one keep-alive
/// connection, each answered `204` before the next.
async fn sse_publish(addr: &str, events: usize, rate: u64, origin: Instant) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate.max(1)));
    let mut buf = [0u8; 1024];
    for id in 1..=events {
        tick.tick().await;
        let body = now_ns(origin).to_string();
        let req = format!(
            "POST /publish?id={id} HTTP/1.1\r\nHost: bench\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.expect("write publish");
        let mut head = Vec::new();
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).await.expect("read publish answer");
            assert!(n > 0, "closed while publishing");
            head.extend_from_slice(&buf[..n]);
        }
        assert!(
            head.starts_with(b"HTTP/1.1 204") || head.starts_with(b"HTTP/1.1 200"),
            "publish refused: {}",
            String::from_utf8_lossy(&head)
        );
    }
}

/// The value at quantile `q` of sorted `v`.
fn quantile(v: &[u64], q: f64) -> u64 {
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// Runs `conns` connections at once, each its own task, to the end.
async fn on_each_conn<F, Fut>(conns: usize, conn: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let tasks: Vec<_> = (0..conns).map(|_| tokio::spawn(conn())).collect();
    for t in tasks {
        t.await.expect("connection task");
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("");
    let addr: String = arg(&args, 2, "HOST:PORT");
    let conns: usize = arg(&args, 3, "CONNS");
    let start = Instant::now();
    let work = async {
        match mode {
            "ws" => {
                let (msgs, size, batch): (usize, usize, usize) = (
                    arg(&args, 4, "MESSAGES"),
                    arg(&args, 5, "SIZE"),
                    arg(&args, 6, "BATCH"),
                );
                let text = args.get(7).map(String::as_str) == Some("text");
                on_each_conn(conns, || ws_conn(addr.clone(), msgs, size, batch, text)).await;
                let total = conns * msgs;
                let secs = start.elapsed().as_secs_f64();
                println!(
                    "ws: {conns} conns x {msgs} msgs of {size} B, batch {batch}: {secs:.3} s, {:.0} msgs/s",
                    total as f64 / secs
                );
            }
            "http" => {
                let (reqs, pipeline): (usize, usize) =
                    (arg(&args, 4, "REQUESTS"), arg(&args, 5, "PIPELINE"));
                on_each_conn(conns, || http_conn(addr.clone(), reqs, pipeline)).await;
                let total = conns * reqs;
                let secs = start.elapsed().as_secs_f64();
                println!(
                    "http: {conns} conns x {reqs} reqs, pipeline {pipeline}: {secs:.3} s, {:.0} req/s",
                    total as f64 / secs
                );
            }
            "idle" => {
                let pid: u32 = arg(&args, 4, "PID");
                let http = args.get(5).map(String::as_str) == Some("http");
                let open = async || {
                    if http {
                        let mut s = TcpStream::connect(&addr).await.expect("connect");
                        s.set_nodelay(true).expect("nodelay");
                        s.write_all(PLAIN).await.expect("write");
                        let mut got = Vec::new();
                        let mut b = [0u8; 1024];
                        while !got.windows(BODY.len()).any(|w| w == BODY) {
                            let n = s.read(&mut b).await.expect("read");
                            assert!(n > 0, "server closed");
                            got.extend_from_slice(&b[..n]);
                        }
                        s
                    } else {
                        let mut s = ws_connect(&addr).await;
                        s.write_all(&client_frame(2)).await.expect("write");
                        let mut b = [0u8; 4];
                        s.read_exact(&mut b).await.expect("echo");
                        s
                    }
                };
                // One connection first, so lazily built state is not counted.
                let mut keep = vec![open().await];
                tokio::time::sleep(Duration::from_millis(500)).await;
                let before = rss_kib(pid);
                for _ in 0..conns {
                    keep.push(open().await);
                }
                tokio::time::sleep(Duration::from_millis(700)).await;
                let after = rss_kib(pid);
                let kind = if http { "keep-alive connections" } else { "WebSockets" };
                println!(
                    "idle: {conns} {kind}, server RSS +{} KiB, {:.0} bytes per connection",
                    after.saturating_sub(before),
                    after.saturating_sub(before) as f64 * 1024.0 / conns as f64
                );
            }
            "sse" => {
                let (events, rate): (usize, u64) = (arg(&args, 4, "EVENTS"), arg(&args, 5, "RATE"));
                let origin = Instant::now();
                let mut subs = Vec::with_capacity(conns);
                for _ in 0..conns {
                    subs.push(sse_subscribe(&addr).await);
                }
                // Every server has subscribed by the time its head is out,
                // or just after: a moment for the last one to register.
                tokio::time::sleep(Duration::from_millis(300)).await;
                let readers: Vec<_> = subs
                    .into_iter()
                    .map(|(s, rest)| tokio::spawn(sse_read(s, rest, events, origin)))
                    .collect();
                sse_publish(&addr, events, rate, origin).await;
                let mut lat = Vec::with_capacity(conns * events);
                for r in readers {
                    lat.extend(r.await.expect("subscriber task"));
                }
                lat.sort_unstable();
                println!(
                    "sse: {conns} subscribers x {events} events at {rate}/s: delivered {} of {}, latency p50 {:.3} ms, p99 {:.3} ms",
                    lat.len(),
                    conns * events,
                    quantile(&lat, 0.5) as f64 / 1e6,
                    quantile(&lat, 0.99) as f64 / 1e6
                );
            }
            _ => {
                eprintln!("usage: load ws HOST:PORT CONNS MESSAGES SIZE BATCH [text] | http HOST:PORT CONNS REQUESTS PIPELINE | idle HOST:PORT CONNS PID [http] | sse HOST:PORT CONNS EVENTS RATE");
                std::process::exit(2);
            }
        }
    };
    if tokio::time::timeout(LIMIT, work).await.is_err() {
        eprintln!("load: gave up after {LIMIT:?}");
        std::process::exit(1);
    }
}
