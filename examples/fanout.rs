//! Fan-out from one topic to many WebSocket and SSE subscribers: delivery
//! latency, the server's CPU per delivered message, and the heap the
//! server allocates per publish.
//!
//! ```text
//! cargo build --release --example fanout
//! target/release/examples/fanout [SUBSCRIBERS_PER_KIND] [PUBLISHES]   # default 1000 and 200
//! ```
//!
//! The binary runs twice: as the measuring client (the default), and, as
//! its child, as the server (`--serve`), so that the server's CPU time and
//! its allocations are its own. The server has one `TopicHub` topic,
//! `/ws` (a subscriber forwarding the topic to its socket), `/events` (the
//! topic as an event stream), `/publish` (the body becomes one message)
//! and `/stats` (bytes and allocations so far, counted by a wrapping global
//! allocator). Each message carries the wall-clock time it was published;
//! the subscribers note when it arrives. Loopback only.
//!
//! ```text
//! target/release/examples/fanout --redis redis://127.0.0.1:6379 [SUBSCRIBERS] [PUBLISHES]
//! ```
//!
//! compares one process with SUBSCRIBERS (default 1000, half WebSocket,
//! half SSE) on the in-process hub against two processes sharing the
//! topic through Redis, the subscribers split evenly and every publish
//! made on the first: delivery latency at 100 publishes a second, and
//! the publishes per second a burst sustains until every subscriber has
//! every message.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use oneport::dispatch::topics::{TopicHub, TopicMessage};
use oneport::prelude::*;
use oneport::ws::connect;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// Counts the server's heap (dhat's allocator passes straight through to
// the system's unless a profiler runs, which only the counting run starts).
#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Whether this server runs the heap profiler.
static COUNTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

async fn serve(redis: Option<&str>) -> std::io::Result<()> {
    let hub = match redis {
        None => TopicHub::default(),
        Some(url) => {
            let backplane =
                oneport_redis::RedisBackplane::connect(url, oneport_redis::Config::default())
                    .await
                    .map_err(std::io::Error::other)?;
            TopicHub::with_backplane(oneport::dispatch::topics::TopicConfig::default(), backplane)
        }
    };
    let (ws_hub, pub_hub) = (hub.clone(), hub.clone());
    let site = sequencer(vec![
        Box::new(filter(
            "^/ws$",
            websocket(move |ws: WebSocket, _req| {
                let hub = ws_hub.clone();
                async move {
                    let (mut rx, mut tx) = ws.split();
                    let mut sub = hub.ws_subscriber();
                    sub.join("t").await;
                    let forward = tokio::spawn(async move { sub.forward(&mut tx).await });
                    while rx.recv().await.is_some() {}
                    forward.abort();
                }
            }),
        )),
        Box::new(filter(
            "^/events$",
            topic_events(hub, |_req: &Request| Some("t".to_owned())),
        )),
        Box::new(filter(
            "^/publish$",
            servlet(move |req: Request| {
                let text = String::from_utf8_lossy(req.body()).into_owned();
                let _ = pub_hub.publish("t", TopicMessage::text(text));
                "ok"
            }),
        )),
        Box::new(filter(
            "^/stats$",
            servlet(|_req: Request| {
                // Zeros when no profiler runs (the timing run).
                if COUNTING.load(Ordering::Relaxed) {
                    let s = dhat::HeapStats::get();
                    format!("{} {}", s.total_bytes, s.total_blocks)
                } else {
                    "0 0".to_owned()
                }
            }),
        )),
    ]);
    let server = Server::builder().bind("127.0.0.1:0").await?;
    println!("listening on {}", server.local_addr());
    server.serve(site).await
}

/// One request on a keep-alive connection; returns the body.
async fn get(s: &mut TcpStream, req: &[u8]) -> String {
    s.write_all(req).await.expect("write");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = s.read(&mut chunk).await.expect("read");
        assert!(n > 0, "closed");
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length").then_some(value)
                })
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if body.len() >= len {
                return body[..len].to_owned();
            }
        }
    }
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields 14 and 15 (utime, stime), after the parenthesised name.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let f = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    f(11) + f(12)
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("--serve") => {
            let redis = std::env::args().nth(3);
            if let Err(e) = serve(redis.as_deref()).await {
                eprintln!("fanout server: {e}");
            }
            return;
        }
        Some("--serve-counting") => {
            let _profiler = dhat::Profiler::builder().testing().build();
            COUNTING.store(true, Ordering::Relaxed);
            if let Err(e) = serve(None).await {
                eprintln!("fanout server: {e}");
            }
            return;
        }
        Some("--redis") => {
            let url = std::env::args().nth(2).expect("--redis URL");
            let arg = |i: usize, d: usize| {
                std::env::args()
                    .nth(i)
                    .and_then(|a| a.parse().ok())
                    .unwrap_or(d)
            };
            split(&url, arg(3, 1000), arg(4, 200)).await;
            return;
        }
        _ => {}
    }
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let publishes: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let timing = run(n, publishes, "--serve").await;
    let counting = run(n, publishes, "--serve-counting").await;
    println!("fanout: {n} WebSocket + {n} SSE subscribers, {publishes} publishes, 10 ms apart");
    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| messages delivered | {} of {} |",
        timing.delivered, timing.expected
    );
    println!(
        "| delivery latency p50 / p99 | {} µs / {} µs |",
        timing.p50, timing.p99
    );
    println!(
        "| server CPU per delivered message | {:.2} µs |",
        timing.cpu_per_message_us
    );
    println!(
        "| server heap allocated per publish (counting run) | {:.0} bytes in {:.1} allocations |",
        counting.bytes_per_publish, counting.allocs_per_publish
    );
    println!(
        "| the same, per subscriber | {:.1} bytes |",
        counting.bytes_per_publish / (2 * n) as f64
    );
}

struct Figures {
    delivered: u64,
    expected: u64,
    p50: u64,
    p99: u64,
    cpu_per_message_us: f64,
    bytes_per_publish: f64,
    allocs_per_publish: f64,
}

async fn run(n: usize, publishes: usize, mode: &str) -> Figures {
    let (mut child, addr) = server(&[mode]);
    let pid = child.id();

    let latencies = Arc::new(std::sync::Mutex::new(Vec::with_capacity(2 * n * publishes)));
    let received = Arc::new(AtomicU64::new(0));
    let tasks = subscribers(&addr, n, publishes, &latencies, &received).await;
    // Let every subscription settle before measuring.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut control = TcpStream::connect(&addr).await.expect("control");
    let stats = |body: String| -> (u64, u64) {
        let mut it = body.split_whitespace().map(|v| v.parse().unwrap_or(0));
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    };
    let before = stats(get(&mut control, b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n").await);
    let cpu_before = cpu_ticks(pid);
    let started = Instant::now();
    for _ in 0..publishes {
        let body = now_us().to_string();
        let req = format!(
            "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        get(&mut control, req.as_bytes()).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let expected = (2 * n * publishes) as u64;
    while received.load(Ordering::Relaxed) < expected
        && started.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cpu = cpu_ticks(pid) - cpu_before;
    let after = stats(get(&mut control, b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n").await);
    for t in tasks {
        t.abort();
    }
    let _ = child.kill();
    let _ = child.wait();

    let mut lat = latencies.lock().expect("lock").clone();
    lat.sort_unstable();
    let delivered = received.load(Ordering::Relaxed);
    let ticks_per_second = 100.0; // USER_HZ on Linux
    let cpu_us = cpu as f64 / ticks_per_second * 1e6;
    // The two /stats requests and the publish requests are counted too;
    // both are the same whatever the number of subscribers.
    let bytes = after.0.saturating_sub(before.0) as f64 / publishes as f64;
    let allocs = after.1.saturating_sub(before.1) as f64 / publishes as f64;
    Figures {
        delivered,
        expected,
        p50: percentile(&lat, 0.5),
        p99: percentile(&lat, 0.99),
        cpu_per_message_us: cpu_us / delivered.max(1) as f64,
        bytes_per_publish: bytes,
        allocs_per_publish: allocs,
    }
}

/// A server child of this binary, started with `args` (`--serve`,
/// `--serve-counting`, `--serve --redis URL`).
fn server(args: &[&str]) -> (std::process::Child, String) {
    let exe = std::env::current_exe().expect("own path");
    let mut child = Command::new(exe)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server");
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let addr = line.trim().trim_start_matches("listening on ").to_owned();
    assert!(!addr.is_empty(), "the server did not start");
    (child, addr)
}

/// `count` WebSocket and `count` SSE subscribers on `addr`; each records
/// the latency of every message it gets, until it has `publishes`.
async fn subscribers(
    addr: &str,
    count: usize,
    publishes: usize,
    latencies: &Arc<std::sync::Mutex<Vec<u64>>>,
    received: &Arc<AtomicU64>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for _ in 0..count {
        let (mut ws, _) = connect(&format!("ws://{addr}/ws")).await.expect("ws");
        let (lat, got) = (latencies.clone(), received.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(Ok(m)) = ws.recv().await {
                let t: u64 = m.as_text().and_then(|t| t.parse().ok()).unwrap_or(0);
                mine.push(now_us().saturating_sub(t));
                got.fetch_add(1, Ordering::Relaxed);
                if mine.len() == publishes {
                    break;
                }
            }
            lat.lock().expect("lock").extend(mine);
        }));
        let mut s = TcpStream::connect(addr).await.expect("sse");
        s.write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("subscribe");
        let (lat, got) = (latencies.clone(), received.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut buf = vec![0u8; 16 * 1024];
            let mut pending = String::new();
            while mine.len() < publishes {
                let Ok(k) = s.read(&mut buf).await else { break };
                if k == 0 {
                    break;
                }
                pending.push_str(&String::from_utf8_lossy(&buf[..k]));
                while let Some(at) = pending.find("\n\n") {
                    let event: String = pending.drain(..at + 2).collect();
                    if let Some(t) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                        mine.push(now_us().saturating_sub(t.parse().unwrap_or(0)));
                        got.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            lat.lock().expect("lock").extend(mine);
        }));
    }
    tasks
}

/// Publishes `publishes` messages on `addr`, `pause` apart, and waits until
/// `expected` deliveries arrived (at most two minutes). Returns the
/// latencies and the publishes per second from the first publish to the
/// last delivery.
async fn measure(
    servers: &[&str],
    per_kind: usize,
    publishes: usize,
    pause: Option<Duration>,
) -> (Vec<u64>, u64, f64) {
    let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let received = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for addr in servers {
        tasks.extend(subscribers(addr, per_kind, publishes, &latencies, &received).await);
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut control = TcpStream::connect(servers[0]).await.expect("control");
    let started = Instant::now();
    for _ in 0..publishes {
        let body = now_us().to_string();
        let req = format!(
            "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        get(&mut control, req.as_bytes()).await;
        if let Some(p) = pause {
            tokio::time::sleep(p).await;
        }
    }
    let expected = (2 * per_kind * servers.len() * publishes) as u64;
    while received.load(Ordering::Relaxed) < expected
        && started.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = publishes as f64 / started.elapsed().as_secs_f64();
    for t in tasks {
        t.abort();
    }
    let mut lat = latencies.lock().expect("lock").clone();
    lat.sort_unstable();
    (lat, received.load(Ordering::Relaxed), rate)
}

/// One process on the in-process hub against two sharing Redis.
async fn split(url: &str, total: usize, publishes: usize) {
    println!(
        "| setup | delivered | latency p50 / p99 (100 publishes/s) | publishes per second, burst |"
    );
    println!("|---|---|---|---|");
    for redis in [None, Some(url)] {
        let mut children = Vec::new();
        let args: Vec<&str> = match redis {
            None => vec!["--serve"],
            Some(url) => vec!["--serve", "--redis", url],
        };
        let (c, a) = server(&args);
        children.push(c);
        let mut addrs = vec![a];
        if redis.is_some() {
            let (c, b) = server(&args);
            children.push(c);
            addrs.push(b);
        }
        let servers: Vec<&str> = addrs.iter().map(String::as_str).collect();
        let per_kind = total / 2 / servers.len();
        let (lat, delivered, _) = measure(
            &servers,
            per_kind,
            publishes,
            Some(Duration::from_millis(10)),
        )
        .await;
        let (_, burst_delivered, rate) = measure(&servers, per_kind, publishes, None).await;
        let expected = (2 * per_kind * servers.len() * publishes) as u64;
        let name = match redis {
            None => format!("one process, in-process hub, {total} subscribers"),
            Some(_) => format!(
                "two processes on Redis, {} + {} subscribers",
                total / 2,
                total / 2
            ),
        };
        println!(
            "| {name} | {delivered} of {expected} (burst: {burst_delivered}) | {} µs / {} µs | {rate:.0} |",
            percentile(&lat, 0.5),
            percentile(&lat, 0.99)
        );
        for mut c in children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
