//! Heap allocations per request on the `/plaintext` path, counted by a
//! global allocator over the whole process (server and client, one thread).
//!
//! The count is deterministic for a given build, so the bound below is a
//! regression alarm: a change that makes the hot path allocate more per
//! request fails here. `docs/benchmarks.md` lists what the remaining
//! allocations are and why each is there.
//!
//! Runs without the test harness (one `main`) so that nothing else
//! allocates while it counts.

use oneport_dispatch::{Request, Response, Server, filter, sequencer, servlet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// The most allocations one more WebSocket subscriber may add to a publish.
const MAX_PER_SUBSCRIBER: f64 = 0.25;

const REQUEST: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: bench\r\n\r\n";
const BODY: &[u8] = b"Hello, World!";

/// The most allocations one pipelined request to a bare servlet may cost:
/// measured at 7.06 (9.06 while every dispatcher boxed a future).
const MAX_BARE: u64 = 8;
/// The same behind a sequencer of two filters: measured at 7.06, as bare,
/// since a plain function's answer passes up through `Dispatcher::start`
/// with no future at any level (10.06 when each level boxed its own).
const MAX_ROUTED: u64 = 8;
/// The most heap bytes an idle keep-alive connection may hold, both ends
/// of the socket together: measured at 1 064 (1 088 while each context
/// kept its own copy of the listener's address, 1 264 before the idle
/// clock replaced the per-connection timer, 1 496 while the serving
/// future kept its arguments twice; 1 832 before the idle wait became one
/// poll function and the shutdown signal a waker slot), and a pooled
/// buffer kept while idle would add 4 KiB.
const MAX_IDLE_HEAP: u64 = 1536;
/// The same for an idle WebSocket after one echo: measured at 1 624 since
/// the chunk queue and a fragmented message's state are made only when
/// used (1 720 with them inline, which this bound no longer admits), and
/// the server's idle clock keeps the socket's ping and idle timers (1 792
/// with a 112-byte timer of its own;
/// 1 848 while every socket had a waker fan-out, which only split halves
/// need; 3 144 before the takeover future stopped keeping room for what
/// built it, the shutdown waiter and the copied config went, and the
/// legacy engine was boxed).
const MAX_IDLE_WS_HEAP: u64 = 1680;
/// The most allocations a 16 KiB WebSocket echo may make, one message at
/// a time: measured at 0.00 once the read buffer's block serves the next
/// message (4.00 while each message's block was freed and a new one made;
/// 3.00 without the split that keeps the block's handle; 1.00 while the
/// write queue kept a payload after its header in a list of its own).
const MAX_LARGE_ECHO: f64 = 0.5;

fn plaintext() -> Response {
    let mut res = Response::new(BODY.into());
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    res
}

async fn round(c: &mut tokio::net::TcpStream, batch: &[u8], n: usize, buf: &mut [u8]) {
    c.write_all(batch).await.expect("write");
    let mut seen = 0;
    let mut carry = 0usize;
    while seen < n {
        let got = c.read(&mut buf[carry..]).await.expect("read");
        assert!(got > 0, "server closed");
        let end = carry + got;
        let mut from = 0;
        while let Some(i) = buf[from..end].windows(BODY.len()).position(|w| w == BODY) {
            seen += 1;
            from += i + BODY.len();
        }
        // Keep a tail that may hold the start of a body split across reads.
        let keep = (end - from).min(BODY.len() - 1);
        buf.copy_within(end - keep..end, 0);
        carry = keep;
    }
}

/// Serves `site` on loopback on a one-thread runtime, runs `client` against
/// it, then shuts the server down.
fn with_server<T>(
    site: impl oneport_dispatch::Dispatcher,
    client: impl AsyncFnOnce(std::net::SocketAddr) -> T,
) -> T {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let server = Server::builder().bind("127.0.0.1:0").await.expect("bind");
        let addr = server.local_addr();
        let stop = server.shutdown_handle();
        let task = tokio::spawn(server.serve(site));
        let out = client(addr).await;
        stop.shutdown();
        let _ = task.await;
        out
    })
}

/// Allocations per request over 200 rounds of 16 pipelined requests, after
/// a warm-up.
fn per_request(site: impl oneport_dispatch::Dispatcher) -> f64 {
    with_server(site, async |addr| {
        let mut c = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let batch = REQUEST.repeat(16);
        let mut buf = vec![0u8; 64 * 1024];
        // Warm up: buffers, the date cache, the regex caches.
        for _ in 0..50 {
            round(&mut c, &batch, 16, &mut buf).await;
        }
        let rounds = 200u64;
        let before = dhat::HeapStats::get().total_blocks;
        for _ in 0..rounds {
            round(&mut c, &batch, 16, &mut buf).await;
        }
        let after = dhat::HeapStats::get().total_blocks;
        (after - before) as f64 / (rounds * 16) as f64
    })
}

/// Heap bytes held per idle keep-alive connection, after one request each,
/// server and client side together (both ends live in this process).
fn idle_heap_per_connection() -> f64 {
    with_server(servlet(|_r: Request| plaintext()), async |addr| {
        let mut buf = vec![0u8; 4096];
        let mut warm = tokio::net::TcpStream::connect(addr).await.expect("connect");
        round(&mut warm, REQUEST, 1, &mut buf).await;
        let n = 500;
        let mut idle = Vec::with_capacity(n);
        tokio::task::yield_now().await;
        let before = dhat::HeapStats::get().curr_bytes;
        for _ in 0..n {
            let mut c = tokio::net::TcpStream::connect(addr).await.expect("connect");
            round(&mut c, REQUEST, 1, &mut buf).await;
            idle.push(c);
        }
        // Let the server tasks reach their idle wait.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        let after = dhat::HeapStats::get().curr_bytes;
        (after as f64 - before as f64) / n as f64
    })
}

/// Heap bytes held per idle WebSocket after one echo each, server and
/// client side together. The handler is written as the guide advises:
/// the upgrade request is dropped in the closure, so the handler's future
/// (which lives as long as the connection) keeps no room for it.
/// The WebSocket handler the counts below run: an echo, as the demo's.
async fn ws_echo(mut ws: oneport_dispatch::WebSocket) {
    while let Some(Ok(msg)) = ws.recv().await {
        if msg.is_data() && ws.feed(msg).await.is_err() {
            break;
        }
    }
}

/// A raw client connection upgraded to a WebSocket, after one echo.
async fn ws_open(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    let mut c = tokio::net::TcpStream::connect(addr).await.expect("connect");
    c.write_all(
        b"GET /ws HTTP/1.1\r\nHost: idle\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .expect("upgrade");
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            c.read(&mut b).await.expect("head"),
            1,
            "closed in the handshake"
        );
        head.push(b[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "no 101");
    // A masked binary frame of two bytes, and its echo.
    c.write_all(&[0x82, 0x82, 1, 2, 3, 4, b'a' ^ 1, b'b' ^ 2])
        .await
        .expect("frame");
    let mut echo = [0u8; 4];
    c.read_exact(&mut echo).await.expect("echo");
    assert_eq!(echo, [0x82, 2, b'a', b'b']);
    c
}

/// Allocations per echo of a 16 KiB binary message, one at a time, after
/// a warm-up (the client is a raw socket writing prepared frames, so
/// every allocation counted is the server's).
fn allocations_per_large_echo() -> f64 {
    use oneport_dispatch::websocket;
    const LEN: usize = 16 * 1024;
    let key = [1u8, 2, 3, 4];
    let mut frame = vec![0x82, 0xFE];
    frame.extend_from_slice(&u16::try_from(LEN).expect("len").to_be_bytes());
    frame.extend_from_slice(&key);
    frame.extend((0..LEN).map(|i| (i as u8) ^ key[i % 4]));
    with_server(websocket(|ws, _req| ws_echo(ws)), async |addr| {
        let mut c = ws_open(addr).await;
        let mut echo = vec![0u8; 4 + LEN];
        let mut round = async |c: &mut tokio::net::TcpStream, n: usize| {
            for _ in 0..n {
                c.write_all(&frame).await.expect("frame");
                c.read_exact(&mut echo).await.expect("echo");
                assert_eq!(
                    echo[..4],
                    [0x82, 126, 0x40, 0x00],
                    "an unmasked 16 KiB frame"
                );
                assert_eq!(echo[4 + 1000], (1000 % 256) as u8, "unmasked");
            }
        };
        round(&mut c, 20).await;
        let before = dhat::HeapStats::get().total_blocks;
        let n = 200;
        round(&mut c, n).await;
        let after = dhat::HeapStats::get().total_blocks;
        (after - before) as f64 / n as f64
    })
}

fn idle_ws_heap_per_connection() -> f64 {
    use oneport_dispatch::websocket;
    with_server(websocket(|ws, _req| ws_echo(ws)), async |addr| {
        let warm = ws_open(addr).await;
        let n = 500;
        let mut idle = Vec::with_capacity(n);
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        let before = dhat::HeapStats::get().curr_bytes;
        for _ in 0..n {
            idle.push(ws_open(addr).await);
        }
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        let after = dhat::HeapStats::get().curr_bytes;
        drop(warm);
        (after as f64 - before as f64) / n as f64
    })
}

/// Heap allocations per delivery to one more WebSocket subscriber of a
/// topic, sockets included: the slope between a small and a large fan-out.
/// A publish is encoded once and written as shared bytes, and the queues'
/// blocks are reused once warm, so one more subscriber should cost nothing.
fn allocations_per_extra_subscriber() -> f64 {
    use oneport_dispatch::WebSocket;
    use oneport_dispatch::topics::{TopicConfig, TopicHub, TopicMessage};

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut blocks = Vec::new();
        for n in [16usize, 256] {
            let hub = TopicHub::new(TopicConfig::default().ws_queue(4096));
            let mut readers = Vec::new();
            let received = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            for _ in 0..n {
                let (a, mut b) = tokio::io::duplex(1 << 20);
                let engine = oneport_rfc6455::WebSocket::from_raw_socket(
                    a,
                    oneport_rfc6455::Role::Server,
                    oneport_rfc6455::Config::default(),
                    bytes::BytesMut::new(),
                );
                let (_rx, mut tx) = WebSocket::from_rfc6455(engine, None, None).split();
                let mut sub = hub.ws_subscriber();
                sub.join("t").await;
                tokio::spawn(async move {
                    let _keep = _rx;
                    let _ = sub.forward(&mut tx).await;
                });
                let received = received.clone();
                readers.push(tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(k) = b.read(&mut buf).await {
                        if k == 0 {
                            break;
                        }
                        received.fetch_add(k, std::sync::atomic::Ordering::Relaxed);
                    }
                }));
            }
            let publish_round = |count: usize| {
                for i in 0..count {
                    let _ = hub.publish("t", TopicMessage::text(format!("event {i:08}")));
                }
            };
            // Warm up: every queue, socket and pipe reaches its steady state.
            publish_round(64);
            for _ in 0..50 {
                tokio::task::yield_now().await;
            }
            let rounds = 256;
            let before = dhat::HeapStats::get().total_blocks;
            for _ in 0..rounds / 32 {
                publish_round(32);
                for _ in 0..20 {
                    tokio::task::yield_now().await;
                }
            }
            let after = dhat::HeapStats::get().total_blocks;
            // Each event is a 14-byte text frame: 2 header bytes, 14 payload.
            let expected = n * (64 + rounds) * (2 + 14);
            assert_eq!(
                received.load(std::sync::atomic::Ordering::Relaxed),
                expected,
                "every subscriber received every event while measured"
            );
            blocks.push((n, (after - before) as f64 / rounds as f64));
            for r in readers {
                r.abort();
            }
        }
        let ((small, at_small), (large, at_large)) = (blocks[0], blocks[1]);
        (at_large - at_small) / (large - small) as f64
    })
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let slope = allocations_per_extra_subscriber();
    println!("allocations per publish per extra WebSocket subscriber: {slope:.3}");
    // Measured at 0.000; a copy or a buffer per delivery anywhere in the
    // publish or write path costs at least 1.
    assert!(
        slope < MAX_PER_SUBSCRIBER,
        "{slope:.3} allocations per publish per extra subscriber, more than {MAX_PER_SUBSCRIBER}"
    );
    let bare = per_request(servlet(|_r: Request| plaintext()));
    let routed = per_request(sequencer(vec![
        Box::new(filter("^/$", servlet(|_r: Request| "home"))),
        Box::new(filter("^/plaintext$", servlet(|_r: Request| plaintext()))),
    ]));
    println!(
        "allocations per pipelined /plaintext request: {bare:.2} from a bare servlet, {routed:.2} behind sequencer and filters"
    );
    assert!(
        bare <= MAX_BARE as f64,
        "{bare:.2} allocations per request from a bare servlet, more than {MAX_BARE}"
    );
    assert!(
        routed <= MAX_ROUTED as f64,
        "{routed:.2} allocations per routed request, more than {MAX_ROUTED}"
    );
    let large = allocations_per_large_echo();
    println!("allocations per 16 KiB WebSocket echo: {large:.2}");
    assert!(
        large <= MAX_LARGE_ECHO,
        "{large:.2} allocations per 16 KiB echo, more than {MAX_LARGE_ECHO}"
    );
    let idle_ws = idle_ws_heap_per_connection();
    println!("heap bytes per idle WebSocket (both ends): {idle_ws:.0}");
    assert!(
        idle_ws < MAX_IDLE_WS_HEAP as f64,
        "{idle_ws:.0} heap bytes per idle WebSocket, more than {MAX_IDLE_WS_HEAP}"
    );
    let idle = idle_heap_per_connection();
    println!("heap bytes per idle keep-alive connection (both ends): {idle:.0}");
    assert!(
        idle < MAX_IDLE_HEAP as f64,
        "{idle:.0} heap bytes per idle connection, more than {MAX_IDLE_HEAP}"
    );
}
