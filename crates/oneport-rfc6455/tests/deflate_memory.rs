//! What permessage-deflate holds per connection between messages, counted
//! by a global allocator: almost nothing once negotiated, nothing more
//! under no-context-takeover after messages, and a compressor or a
//! decompressor for each context that is kept. It prints the figures
//! `docs/benchmarks.md` quotes.
//!
//! Runs without the test harness (one `main`) so that nothing else
//! allocates while it counts.

use bytes::BytesMut;
use oneport_rfc6455::deflate::{ContextTakeover, DeflateConfig, DeflateParams};
use oneport_rfc6455::{Config, Connection, Message, Role};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const CONNECTIONS: usize = 20;
const KEEP: ContextTakeover = ContextTakeover::Keep;
const RESET: ContextTakeover = ContextTakeover::Reset;

fn held() -> i64 {
    dhat::HeapStats::get().curr_bytes as i64
}

/// A connection of `role` that keeps its own context or not, facing a peer
/// that keeps its own or not.
fn conn(role: Role, own: ContextTakeover, peer: ContextTakeover, bits: u8) -> Connection {
    let params = DeflateParams {
        own_context: own,
        peer_context: peer,
        own_window_bits: bits,
        peer_window_bits: bits,
    };
    let config = Config::default().deflate(Some(DeflateConfig::default()));
    Connection::with_deflate(role, config, Some(params))
}

/// Bytes one server connection holds after one compressed message each
/// way, beyond what it held before. The client's frames are made before
/// counting and the server's answers are dropped, so only what the server
/// keeps is counted; the thread's spare (de)compressor is warmed first.
fn held_after_traffic(own: ContextTakeover, peer: ContextTakeover, bits: u8) -> i64 {
    let msg = Message::text("a message long enough to be compressed. ".repeat(100));
    let frame = |c: &mut Connection| {
        let mut wire = BytesMut::new();
        c.encode(&msg, &mut wire).unwrap();
        wire
    };
    let mut servers: Vec<Connection> = (0..=CONNECTIONS)
        .map(|_| conn(Role::Server, own, peer, bits))
        .collect();
    let mut frames: Vec<BytesMut> = (0..=CONNECTIONS)
        .map(|_| frame(&mut conn(Role::Client, peer, own, bits)))
        .collect();
    let step = |s: &mut Connection, wire: &mut BytesMut| {
        assert_eq!(s.receive(wire).unwrap().as_ref(), Some(&msg));
        drop(frame(s));
    };
    step(&mut servers[0], &mut frames[0]);
    let before = held();
    for (s, w) in servers.iter_mut().zip(frames.iter_mut()).skip(1) {
        step(s, w);
    }
    (held() - before) / CONNECTIONS as i64
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let per_conn = |make: &dyn Fn() -> Connection| {
        let before = held();
        let conns: Vec<Connection> = (0..CONNECTIONS).map(|_| make()).collect();
        let each = (held() - before) / CONNECTIONS as i64;
        drop(conns);
        each
    };
    let plain = per_conn(&|| Connection::new(Role::Server, Config::default()));
    let negotiated = per_conn(&|| conn(Role::Server, RESET, KEEP, 15));
    let rows = [
        ("no", "no", 15, held_after_traffic(RESET, RESET, 15)),
        (
            "no",
            "yes (the default)",
            15,
            held_after_traffic(RESET, KEEP, 15),
        ),
        ("yes", "no", 15, held_after_traffic(KEEP, RESET, 15)),
        ("yes", "yes", 15, held_after_traffic(KEEP, KEEP, 15)),
        ("no", "yes", 12, held_after_traffic(RESET, KEEP, 12)),
        ("yes", "yes", 12, held_after_traffic(KEEP, KEEP, 12)),
    ];
    println!("heap held by one server connection, in bytes:");
    println!("  uncompressed connection: {plain}");
    println!("  deflate negotiated, before any message: {negotiated}");
    println!("  after one compressed message each way, beyond that:");
    for (own, peer, bits, bytes) in rows {
        println!(
            "    server keeps its context: {own}; client keeps its: {peer}; {bits}-bit windows: {bytes}"
        );
    }
    // Made lazily: negotiating costs only the codec's box.
    assert!(negotiated - plain <= 64, "{negotiated} vs {plain}");
    // No context kept on either side: nothing held between messages.
    assert!(rows[0].3.abs() < 64, "{}", rows[0].3);
    // Each kept context holds its state: a decompressor (a 32 KiB window
    // and more), a compressor (far more), both.
    assert!(rows[1].3 > 32 * 1024, "{}", rows[1].3);
    assert!(rows[2].3 > 128 * 1024, "{}", rows[2].3);
    assert!(rows[3].3 > rows[2].3 + 32 * 1024, "{:?}", rows[3]);
    // A smaller window shrinks the compressor (zlib-rs's decompressor
    // holds a full-size window whatever the window bits).
    assert!(rows[5].3 < rows[3].3 - 32 * 1024, "{:?}", rows[5]);
    assert!(rows[4].3 <= rows[1].3, "{:?}", rows[4]);
    println!("deflate_memory: ok");
}
