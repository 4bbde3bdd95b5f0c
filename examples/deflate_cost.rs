//! What permessage-deflate costs a server, measured from outside it: the
//! server runs as a child process (this same binary with `--serve MODE`),
//! and its CPU time (`/proc/PID/stat`), the bytes it read and wrote
//! (`/proc/PID/io`) and its resident memory (`/proc/PID/status`) are read
//! around a run of echoes driven by the oneport client in this process.
//!
//! ```text
//! cargo build --release --example deflate_cost
//! target/release/examples/deflate_cost            # every mode and size
//! ```
//!
//! Modes (the server's setting; the client offers compression as a
//! browser does, keeping its own context, and compresses every message):
//!
//! - `off`: no compression;
//! - `reset`: `DeflateConfig::default()` (the server keeps no context),
//!   with `min_size` 0 so that even 64 B messages are compressed;
//! - `keep`: as `reset`, but the server keeps its context;
//! - `reset-level1`: as `reset`, at deflate level 1 instead of 6.
//!
//! Messages are text: JSON-like records, compressible as a live page's
//! messages are. Linux only. One server thread, four client connections.

use std::time::Duration;

use bytes::BytesMut;
use oneport::dispatch::{
    ContextTakeover, DeflateConfig, Server, WebSocket, WsOptions, filter, websocket,
};
use oneport::ws::{Config, ConnectOptions, Connection, Message, Role, connect_with};

#[path = "child.rs"]
mod child;
use child::{cpu_seconds, rss_kib};

const CONNECTIONS: usize = 4;
const IDLE_CONNECTIONS: usize = 500;

fn deflate_for(mode: &str) -> Option<DeflateConfig> {
    let reset = DeflateConfig {
        min_size: 0,
        ..DeflateConfig::default()
    };
    match mode {
        "off" => None,
        "reset" => Some(reset),
        "keep" => Some(DeflateConfig {
            own_context: ContextTakeover::Keep,
            ..reset
        }),
        "reset-level1" => Some(DeflateConfig { level: 1, ..reset }),
        _ => {
            eprintln!("modes: off, reset, keep");
            std::process::exit(2)
        }
    }
}

async fn echo(mut ws: WebSocket, _req: http::request::Parts) {
    while let Some(Ok(msg)) = ws.recv().await {
        if msg.is_data() && ws.send(msg).await.is_err() {
            break;
        }
    }
}

async fn serve(mode: &str) -> std::io::Result<()> {
    let mut options = WsOptions::default();
    options.rfc6455.deflate = deflate_for(mode);
    let site = filter("^/ws$", websocket(echo).options(options));
    let server = Server::builder().bind("127.0.0.1:0").await?;
    println!("listening on {}", server.local_addr());
    server.serve(site).await
}

/// Bytes process `pid` wrote through system calls (its sockets).
fn io_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("wchar:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// `size` bytes of JSON-like chat records, each with its own sequence
/// number, user and words (a fixed pseudo-random sequence from `seed`):
/// about as compressible as a live page's messages, and each message
/// different from the last, so a kept context helps only as much as it
/// would on a real page.
fn message(size: usize, seed: u32) -> Message {
    const WORDS: [&str; 32] = [
        "hello", "price", "update", "room", "the", "a", "is", "now", "online", "left", "joined",
        "typing", "message", "order", "filled", "cancel", "news", "alert", "blue", "green",
        "market", "open", "closed", "ok", "error", "retry", "server", "client", "page", "live",
        "chart", "tick",
    ];
    let mut out = String::with_capacity(size + 128);
    let mut x: u32 = 0x2545_f491 ^ seed.wrapping_mul(0x9e37_79b9);
    let mut seq = 0u32;
    while out.len() < size {
        let mut pick = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        let user = pick() % 1000;
        let (a, b, c) = (
            pick() as usize % 32,
            pick() as usize % 32,
            pick() as usize % 32,
        );
        out.push_str(&format!(
            "{{\"seq\":{seq},\"user\":\"u{user}\",\"text\":\"{} {} {}\",\"v\":{}}}\n",
            WORDS[a],
            WORDS[b],
            WORDS[c],
            pick() % 100_000
        ));
        seq += 1;
    }
    out.truncate(size);
    Message::text(out)
}

fn client_options() -> ConnectOptions {
    client_keeping(ContextTakeover::Keep)
}

/// A client that compresses every message, keeping its context (as a
/// browser does) or not.
fn client_keeping(own: ContextTakeover) -> ConnectOptions {
    let deflate = DeflateConfig {
        own_context: own,
        min_size: 0,
        ..DeflateConfig::default()
    };
    ConnectOptions::default().config(Config::default().deflate(Some(deflate)))
}

/// Echoes `count` messages of `size` bytes over each of the connections
/// and returns (server CPU µs per echo, bytes in per echo, bytes out per
/// echo). Bytes out are what the server wrote; bytes in are the client's
/// frames, as the client's engine encodes them in steady state (the
/// server's socket reads are not counted by `/proc/PID/io`).
async fn measure(pid: u32, addr: &str, size: usize, count: usize) -> (f64, f64, f64) {
    let url = format!("ws://{addr}/ws");
    let mut sockets = Vec::new();
    for _ in 0..CONNECTIONS {
        let (mut ws, _) = connect_with(&url, client_options()).await.expect("connect");
        // One warm-up echo: lazily made state is not counted.
        ws.send(message(size, 0)).await.expect("send");
        ws.recv().await.expect("echo").expect("echo");
        sockets.push(ws);
    }
    // Different messages, cycled.
    let pool: Vec<Message> = (1..=16).map(|seed| message(size, seed)).collect();
    let agreed = sockets.first().and_then(|ws| ws.deflate().copied());
    let mut engine = Connection::with_deflate(Role::Client, client_options().config, agreed);
    let mut frame = BytesMut::new();
    for msg in pool.iter().cycle().take(32) {
        engine.encode(msg, &mut frame).expect("encode");
    }
    let bytes_in = frame.len() as f64 / 32.0;
    let (cpu0, out0) = (cpu_seconds(pid), io_bytes(pid));
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|mut ws| {
            let pool = pool.clone();
            tokio::spawn(async move {
                for msg in pool.iter().cycle().take(count) {
                    ws.send(msg.clone()).await.expect("send");
                    let got = ws.recv().await.expect("echo").expect("echo");
                    assert_eq!(&got, msg);
                }
                ws
            })
        })
        .collect();
    let mut done = Vec::new();
    for t in tasks {
        done.push(t.await.expect("client task"));
    }
    let (cpu1, out1) = (cpu_seconds(pid), io_bytes(pid));
    for mut ws in done {
        let _ = ws.close(None).await;
    }
    let n = (count * CONNECTIONS) as f64;
    ((cpu1 - cpu0) * 1e6 / n, bytes_in, (out1 - out0) as f64 / n)
}

/// Server memory per idle connection after one echo of `size` bytes, with
/// clients that keep their context or not.
async fn idle(pid: u32, addr: &str, size: usize, client: ContextTakeover) -> f64 {
    let url = format!("ws://{addr}/ws");
    let mut keep = Vec::new();
    let (mut warm, _) = connect_with(&url, client_keeping(client))
        .await
        .expect("connect");
    warm.send(message(size, 0)).await.expect("send");
    warm.recv().await.expect("echo").expect("echo");
    keep.push(warm);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base = rss_kib(pid);
    for _ in 0..IDLE_CONNECTIONS {
        let (mut ws, _) = connect_with(&url, client_keeping(client))
            .await
            .expect("connect");
        ws.send(message(size, 0)).await.expect("send");
        ws.recv().await.expect("echo").expect("echo");
        keep.push(ws);
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let grown = rss_kib(pid).saturating_sub(base);
    drop(keep);
    grown as f64 * 1024.0 / IDLE_CONNECTIONS as f64
}

fn start(mode: &str) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let exe = std::env::current_exe().expect("own path");
    let mut child = std::process::Command::new(exe)
        .args(["--serve", mode])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the server");
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    (
        child,
        line.trim().trim_start_matches("listening on ").to_owned(),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        let mode = args.get(1).cloned().unwrap_or_default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        if let Err(e) = rt.block_on(serve(&mode)) {
            eprintln!("deflate_cost server: {e}");
            std::process::exit(1);
        }
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "| server setting | message | server CPU per echo | bytes in per echo | bytes out per echo |"
    );
    println!("|---|---|---|---|---|");
    let mut idle_rows = Vec::new();
    for mode in ["off", "reset", "keep", "reset-level1"] {
        let (mut child, addr) = start(mode);
        let pid = child.id();
        rt.block_on(async {
            for (size, label, count) in [
                (64, "64 B", 50_000),
                (16 * 1024, "16 KiB", 10_000),
                (1 << 20, "1 MiB", 200),
            ] {
                let (cpu, rx, tx) = measure(pid, &addr, size, count).await;
                println!("| {mode} | {label} | {cpu:.1} µs | {rx:.0} | {tx:.0} |");
            }
        });
        let _ = child.kill();
        let _ = child.wait();
        // Memory on a fresh server each time, so that what one run freed
        // does not hide what the next one holds.
        for client in [ContextTakeover::Keep, ContextTakeover::Reset] {
            let (mut child, addr) = start(mode);
            let bytes = rt.block_on(idle(child.id(), &addr, 16 * 1024, client));
            idle_rows.push((mode, client, bytes));
            let _ = child.kill();
            let _ = child.wait();
        }
    }
    println!();
    println!(
        "| server setting | the client keeps its context | server RSS per idle WebSocket, after one 16 KiB echo |"
    );
    println!("|---|---|---|");
    for (mode, client, bytes) in idle_rows {
        let kept = if client == ContextTakeover::Keep {
            "yes"
        } else {
            "no"
        };
        println!("| {mode} | {kept} | {bytes:.0} B |");
    }
}
