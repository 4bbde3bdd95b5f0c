//! Where an idle connection's heap goes: serves the demo's site in this
//! process under dhat's counting allocator, has a child process (this same
//! binary, `--client`) open N connections of one kind and leave them idle,
//! then lists the heap still held, per allocation site, divided by N.
//!
//! ```text
//! cargo build --release --example idle_heap
//! target/release/examples/idle_heap ws 2000     # WebSockets, each after one echo
//! target/release/examples/idle_heap http 2000   # keep-alive connections, each after one request
//! ```
//!
//! Only the server's heap is counted (the clients are another process), so
//! the total is below the resident-memory figure of `idle_memory`, which
//! also sees the kernel's per-socket pages, the allocator's slack and the
//! runtime's slab of socket registrations. dhat writes the full profile to
//! `dhat-heap.json` for `dh_view`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use oneport::dispatch::Server;
use oneport::dispatch::topics::TopicHub;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[path = "demo_site.rs"]
#[allow(dead_code)]
mod demo_site;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const UPGRADE: &[u8] = b"GET /ws HTTP/1.1\r\nHost: idle\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";
const PLAIN: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: idle\r\n\r\n";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--client") {
        return client(&args[2], &args[3], args[4].parse().expect("N"));
    }
    let kind = args.get(1).cloned().unwrap_or_else(|| "ws".into());
    let n: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(2000);
    if kind != "ws" && kind != "http" {
        eprintln!("usage: idle_heap ws|http [N]");
        std::process::exit(2);
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut profiler = Some(dhat::Profiler::new_heap());
    let (addr, server) = rt.block_on(async {
        let server = Server::builder().bind("127.0.0.1:0").await.expect("bind");
        let addr = server.local_addr().to_string();
        let task = tokio::spawn(server.serve(demo_site::site(TopicHub::default())));
        (addr, task)
    });
    // One connection of the kind first, so lazily built shared state (the
    // runtime's slabs, pools, caches) is counted before the baseline.
    run_client(&kind, &addr, 1, |_| {
        std::thread::sleep(Duration::from_millis(300));
        let base = dhat::HeapStats::get();
        run_client(&kind, &addr, n, |_| {
            std::thread::sleep(Duration::from_millis(700));
            let now = dhat::HeapStats::get();
            println!(
                "{n} idle {kind} connections: {} heap bytes in {} blocks per connection",
                (now.curr_bytes - base.curr_bytes) / n,
                (now.curr_blocks - base.curr_blocks) / n
            );
            // The profile is written now, while the connections are held.
            drop(profiler.take());
        });
    });
    server.abort();
    drop(rt);
    report(n);
}

/// Starts the client process, waits until its connections are open, runs
/// `f` while they are held, then lets the client go.
fn run_client(kind: &str, addr: &str, n: usize, f: impl FnOnce(&mut std::process::Child)) {
    let exe = std::env::current_exe().expect("own path");
    let mut child = Command::new(exe)
        .args(["--client", kind, addr, &n.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("client process");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("client ready");
    assert_eq!(line.trim(), "ready", "the client failed");
    f(&mut child);
    // Closing its standard input ends the client.
    drop(child.stdin.take());
    let _ = child.wait();
}

/// The client: N connections, one exchange each, held until stdin closes.
fn client(kind: &str, addr: &str, n: usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let held = rt.block_on(async {
        let mut held = Vec::with_capacity(n);
        for _ in 0..n {
            let mut s = TcpStream::connect(addr).await.expect("connect");
            let mut buf = vec![0u8; 1024];
            if kind == "ws" {
                s.write_all(UPGRADE).await.expect("upgrade");
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") {
                    let k = s.read(&mut buf[..1]).await.expect("head");
                    assert_eq!(k, 1, "closed in the handshake");
                    head.push(buf[0]);
                }
                // A masked binary frame of two bytes, then its echo.
                s.write_all(&[0x82, 0x82, 1, 2, 3, 4, 0x61 ^ 1, 0x62 ^ 2])
                    .await
                    .expect("frame");
                s.read_exact(&mut buf[..4]).await.expect("echo");
            } else {
                s.write_all(PLAIN).await.expect("request");
                let mut got = Vec::new();
                while !got.ends_with(b"Hello, World!") {
                    let k = s.read(&mut buf).await.expect("response");
                    assert!(k > 0, "closed");
                    got.extend_from_slice(&buf[..k]);
                }
            }
            held.push(s);
        }
        held
    });
    println!("ready");
    std::io::stdout().flush().expect("flush");
    let mut rest = String::new();
    let _ = std::io::stdin().read_line(&mut rest);
    drop(held);
}

/// Reads the profile dhat wrote and prints the sites whose heap was still
/// held at the end (the connections were open then), largest first.
fn report(n: usize) {
    let text = std::fs::read_to_string("dhat-heap.json").expect("dhat-heap.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("dhat's JSON");
    let frames: Vec<&str> = v["ftbl"]
        .as_array()
        .expect("ftbl")
        .iter()
        .map(|f| f.as_str().unwrap_or(""))
        .collect();
    // The same site reached through different inlining is merged by its
    // shortened stack.
    let mut by_site: std::collections::HashMap<String, (u64, u64)> = Default::default();
    for pp in v["pps"].as_array().expect("pps") {
        let (Some(bytes), Some(blocks), Some(fs)) =
            (pp["eb"].as_u64(), pp["ebk"].as_u64(), pp["fs"].as_array())
        else {
            continue;
        };
        let stack: Vec<String> = fs
            .iter()
            .filter_map(|i| frames.get(i.as_u64()? as usize))
            .filter(|f| !f.contains("dhat::") && !f.contains("alloc::") && !f.contains("[root]"))
            .take(3)
            .map(|f| short(f))
            .collect();
        let e = by_site.entry(stack.join(" <- ")).or_default();
        e.0 += bytes;
        e.1 += blocks;
    }
    // Sites that hold about one block or more per connection.
    let mut sites: Vec<(u64, u64, String)> = by_site
        .into_iter()
        .filter(|(_, (_, blocks))| *blocks as usize >= n * 9 / 10)
        .map(|(stack, (bytes, blocks))| (bytes, blocks, stack))
        .collect();
    sites.sort_by_key(|s| std::cmp::Reverse(s.0));
    println!("| bytes per connection | blocks | allocated at |");
    println!("|---|---|---|");
    for (bytes, blocks, stack) in sites {
        println!(
            "| {} | {:.1} | {stack} |",
            bytes as usize / n,
            blocks as f64 / n as f64
        );
    }
}

/// A frame's function name without its address and generic noise.
fn short(frame: &str) -> String {
    let f = frame.split_once(": ").map_or(frame, |(_, f)| f);
    let f = f.split(" (").next().unwrap_or(f);
    f.replace("{{closure}}", "{c}").chars().take(110).collect()
}
