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

const REQUEST: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: bench\r\n\r\n";
const BODY: &[u8] = b"Hello, World!";

/// The most allocations one pipelined request to a bare servlet may cost.
const MAX_BARE: u64 = 10;
/// The same behind a sequencer of two filters (each dispatcher level boxes
/// its future).
const MAX_ROUTED: u64 = 11;
/// The most heap bytes an idle keep-alive connection may hold: less than
/// one pooled 4 KiB buffer.
const MAX_IDLE_HEAP: u64 = 4096;

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

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
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
    let idle = idle_heap_per_connection();
    println!("heap bytes per idle keep-alive connection (both ends): {idle:.0}");
    // A read or write buffer kept while idle would add at least 4 KiB.
    assert!(
        idle < MAX_IDLE_HEAP as f64,
        "{idle:.0} heap bytes per idle connection, more than {MAX_IDLE_HEAP}"
    );
}
