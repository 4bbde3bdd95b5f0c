//! Request-head parsing against the bare `httparse` floor, and response-head
//! encoding.
//!
//! Run with `cargo bench -p oneport-http1 --bench parse`.

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{Criterion, Throughput};
use oneport_http1::{BodyLength, Limits, Persistence, encode_response_head, parse_request};

/// A typical browser navigation: request line and 11 headers.
const BROWSER_GET: &[u8] = b"GET /articles/2024/sans-io-http?ref=home HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Referer: https://www.example.com/\r\n\
Connection: keep-alive\r\n\
Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark\r\n\
Upgrade-Insecure-Requests: 1\r\n\
Sec-Fetch-Dest: document\r\n\
Sec-Fetch-Mode: navigate\r\n\r\n";

fn parse(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(BROWSER_GET.len() as u64));
    group.bench_function("httparse_floor", |b| {
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut req = httparse::Request::new(&mut headers);
            let status = req.parse(black_box(BROWSER_GET));
            black_box(status.is_ok());
        });
    });
    group.bench_function("parse_request", |b| {
        b.iter(|| {
            let parsed = parse_request(black_box(BROWSER_GET), &limits);
            black_box(parsed.is_ok());
        });
    });
    group.finish();
}

fn encode(c: &mut Criterion) {
    let (parts, ()) = http::Response::builder()
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-cache")
        .header("server", "oneport")
        .body(())
        .expect("static response is valid")
        .into_parts();
    let mut dst = BytesMut::with_capacity(4096);
    c.bench_function("encode_response_head", |b| {
        b.iter(|| {
            dst.clear();
            encode_response_head(
                black_box(&parts),
                BodyLength::Length(1234),
                Persistence::KeepAlive,
                http::Version::HTTP_11,
                &mut dst,
            );
            black_box(dst.len());
        });
    });
}

// What `criterion_main!` expands to, minus its undocumented `pub fn`.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    parse(&mut c);
    encode(&mut c);
    c.final_summary();
}
