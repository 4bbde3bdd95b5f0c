//! The `/plaintext` path end to end: a servlet behind a filter, served over
//! loopback TCP by the real server loop, as the demo serves it.
//!
//! - `plaintext/one_by_one`: one request, wait for its response, repeat
//!   (a round trip per request, so mostly the kernel's loopback latency).
//! - `plaintext/pipelined_16`: sixteen requests in one write, sixteen
//!   responses read back (the server answers them in one write).
//!
//! The client is a bare TCP socket so that the figures are the server's
//! cost plus the kernel's, not a client library's.

#![allow(missing_docs)]

use std::net::SocketAddr;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oneport_dispatch::{Request, Response, Server, filter, sequencer, servlet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

const REQUEST: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: bench\r\n\r\n";
const BODY: &[u8] = b"Hello, World!";

fn plaintext() -> Response {
    let mut res = Response::new(BODY.into());
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    res
}

fn start(rt: &Runtime) -> SocketAddr {
    rt.block_on(async {
        let server = Server::builder()
            .bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = server.local_addr();
        let site = sequencer(vec![
            Box::new(filter("^/$", servlet(|_r: Request| "home"))),
            Box::new(filter("^/plaintext$", servlet(|_r: Request| plaintext()))),
        ]);
        tokio::spawn(server.serve(site));
        addr
    })
}

/// Reads until `n` complete responses (counted by their bodies) arrived.
async fn read_responses(c: &mut TcpStream, buf: &mut Vec<u8>, n: usize) {
    buf.clear();
    let mut seen = 0;
    let mut scan_from = 0;
    let mut chunk = [0u8; 16 * 1024];
    while seen < n {
        let got = c.read(&mut chunk).await.expect("read");
        assert!(got > 0, "the server closed the connection");
        buf.extend_from_slice(&chunk[..got]);
        while let Some(i) = buf[scan_from..].windows(BODY.len()).position(|w| w == BODY) {
            seen += 1;
            scan_from += i + BODY.len();
        }
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let addr = start(&rt);
    let mut conn = rt.block_on(async {
        let c = TcpStream::connect(addr).await.expect("connect");
        c.set_nodelay(true).expect("nodelay");
        c
    });
    let mut buf = Vec::with_capacity(64 * 1024);
    let pipelined: Vec<u8> = REQUEST.repeat(16);

    let mut g = c.benchmark_group("plaintext");
    g.throughput(Throughput::Elements(1));
    g.bench_function("one_by_one", |b| {
        b.iter(|| {
            rt.block_on(async {
                conn.write_all(REQUEST).await.expect("write");
                read_responses(&mut conn, &mut buf, 1).await;
            })
        })
    });
    g.throughput(Throughput::Elements(16));
    g.bench_function("pipelined_16", |b| {
        b.iter(|| {
            rt.block_on(async {
                conn.write_all(&pipelined).await.expect("write");
                read_responses(&mut conn, &mut buf, 16).await;
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
