//! A 100 MiB streamed response, and a 100 MiB request body streamed to a
//! handler, leave the heap's peak a few chunks high: neither body is ever
//! held whole.
//! Counted by a global allocator over the whole process (server and
//! client, one thread), so it runs without the test harness.

use bytes::Bytes;
use futures_util::StreamExt;
use oneport_dispatch::{
    Body, Request, RequestBody, Response, Server, filter, sequencer, servlet, streamed_body,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const CHUNK: usize = 64 * 1024;
const CHUNKS: usize = 1600; // 100 MiB
/// The most the heap may hold at its peak while it streams: a few chunks
/// and the connections' buffers, nothing near the body's size.
const MAX_PEAK: u64 = 4 * 1024 * 1024;

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let received = rt.block_on(async {
        let download = servlet(|_req: Request| {
            let chunks = futures_util::stream::iter(0..CHUNKS).map(|i| {
                // A fresh allocation per chunk, as a real producer makes.
                Ok::<_, std::io::Error>(Bytes::from(vec![(i % 251) as u8; CHUNK]))
            });
            Response::new(Body::stream(chunks))
        });
        let upload = streamed_body(
            servlet(|mut req: Request| async move {
                let mut body = RequestBody::take(&mut req).expect("a body");
                let mut n = 0usize;
                while let Some(chunk) = body.chunk().await {
                    n += chunk.expect("the body arrives").len();
                }
                n.to_string()
            }),
            1 << 30,
        );
        let site = sequencer(vec![Box::new(filter("^/up$", upload)), Box::new(download)]);
        let server = Server::builder().bind("127.0.0.1:0").await.expect("bind");
        let addr = server.local_addr();
        let stop = server.shutdown_handle();
        let task = tokio::spawn(server.serve(site));

        let mut c = tokio::net::TcpStream::connect(addr).await.expect("connect");
        c.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let mut buf = vec![0u8; 256 * 1024];
        let (mut total, mut tail) = (0u64, Vec::new());
        loop {
            let n = c.read(&mut buf).await.expect("read");
            assert!(n > 0, "the server closed before the last chunk");
            total += n as u64;
            tail.extend_from_slice(&buf[..n]);
            let keep = tail.len().saturating_sub(5);
            tail.drain(..keep);
            if tail == b"0\r\n\r\n" {
                break;
            }
        }

        // Upload as much, from one reused buffer.
        let mut c = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let size = CHUNKS * CHUNK;
        let head = format!(
            "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
        );
        c.write_all(head.as_bytes()).await.expect("write");
        let piece = vec![7u8; CHUNK];
        for _ in 0..CHUNKS {
            c.write_all(&piece).await.expect("write the body");
        }
        let mut answer = Vec::new();
        c.read_to_end(&mut answer).await.expect("read");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.ends_with(&format!("\r\n\r\n{size}")), "{answer}");
        stop.shutdown();
        let _ = task.await;
        total
    });
    let stats = dhat::HeapStats::get();
    // Each chunk is framed as "10000\r\n" + data + "\r\n".
    let body = (CHUNKS * (CHUNK + 9)) as u64 + 5;
    assert!(
        received > body,
        "{received} bytes received, the body alone is {body}"
    );
    assert!(
        stats.max_bytes < MAX_PEAK as usize,
        "heap peak {} B while streaming {} MiB each way (limit {MAX_PEAK})",
        stats.max_bytes,
        (CHUNKS * CHUNK) >> 20,
    );
    println!(
        "streamed_memory: {} MiB sent and received, heap peak {} KiB",
        (CHUNKS * CHUNK) >> 20,
        stats.max_bytes / 1024
    );
    println!("1 passed, 0 failed");
}
