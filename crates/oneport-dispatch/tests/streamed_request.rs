//! Request bodies streamed to a handler (`streamed_body`): read under the
//! route's own limit, larger than the server's whole-body limit, chunked
//! or not; past the limit, 413; unread bytes drained so the connection
//! goes on.

mod support;

use oneport_dispatch::{Request, RequestBody, filter, sequencer, servlet, streamed_body};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LIMIT: u64 = 8 * 1024 * 1024;

/// Counts the bytes and sums them, as the body arrives.
async fn count(mut req: Request) -> String {
    let Some(mut body) = RequestBody::take(&mut req) else {
        return "no body".to_owned();
    };
    let (mut n, mut sum, mut chunks) = (0usize, 0u64, 0usize);
    while let Some(chunk) = body.chunk().await {
        match chunk {
            Ok(b) => {
                n += b.len();
                chunks += 1;
                sum += b.iter().map(|&x| u64::from(x)).sum::<u64>();
            }
            Err(e) => return format!("error: {e}"),
        }
    }
    format!(
        "{n} bytes, sum {sum}, {}",
        if chunks > 1 { "in pieces" } else { "whole" }
    )
}

fn site() -> oneport_dispatch::Sequencer {
    sequencer(vec![
        Box::new(filter("^/upload$", streamed_body(servlet(count), LIMIT))),
        Box::new(filter(
            "^/ignore$",
            streamed_body(servlet(|_r: Request| "not read"), LIMIT),
        )),
        Box::new(filter(
            "^/whole$",
            servlet(|r: Request| format!("{} bytes", r.body().len())),
        )),
    ])
}

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

fn sum(p: &[u8]) -> u64 {
    p.iter().map(|&x| u64::from(x)).sum()
}

async fn run<F: std::future::Future<Output = ()>>(f: F) {
    tokio::time::timeout(TEST_TIMEOUT, f)
        .await
        .expect("test timed out");
}

#[tokio::test]
async fn a_body_larger_than_the_whole_body_limit_streams_under_its_own() {
    run(async {
        let s = start(site()).await;
        let body = payload(3 * 1024 * 1024);
        let mut c = TcpStream::connect(s.addr).await.unwrap();
        let head = format!(
            "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        c.write_all(head.as_bytes()).await.unwrap();
        c.write_all(&body).await.unwrap();
        let r = read_all(&mut c).await;
        assert_eq!(status_of(&r), 200, "{r}");
        assert_eq!(
            body_of(&r),
            format!("{} bytes, sum {}, in pieces", body.len(), sum(&body))
        );
        // The same body to a route that reads bodies whole: over 1 MiB.
        let mut c = TcpStream::connect(s.addr).await.unwrap();
        let head = format!(
            "POST /whole HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        c.write_all(head.as_bytes()).await.unwrap();
        let r = read_all(&mut c).await;
        assert_eq!(status_of(&r), 413);
    })
    .await;
}

#[tokio::test]
async fn a_chunked_body_streams_too() {
    run(async {
        let s = start(site()).await;
        let body = payload(300_000);
        let mut wire = b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
        for part in body.chunks(70_000) {
            wire.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
            wire.extend_from_slice(part);
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(b"0\r\n\r\n");
        let r = exchange(s.addr, &wire).await;
        assert_eq!(body_of(&r), format!("300000 bytes, sum {}, in pieces", sum(&body)));
    })
    .await;
}

#[tokio::test]
async fn past_the_limit_is_413() {
    run(async {
        let s = start(site()).await;
        // Announced too large: refused before the handler runs.
        let raw = format!(
            "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            LIMIT + 1
        );
        let r = exchange(s.addr, raw.as_bytes()).await;
        assert_eq!(status_of(&r), 413, "{r}");
        // Found too large while it streams (chunked): 413 all the same.
        let mut c = TcpStream::connect(s.addr).await.unwrap();
        c.write_all(b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await
            .unwrap();
        let part = vec![7u8; 1024 * 1024];
        let mut answer = Vec::new();
        for _ in 0..9 {
            let mut chunk = format!("{:x}\r\n", part.len()).into_bytes();
            chunk.extend_from_slice(&part);
            chunk.extend_from_slice(b"\r\n");
            if c.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = c.read_to_end(&mut answer).await;
        let r = String::from_utf8_lossy(&answer);
        assert_eq!(status_of(&r), 413, "{r}");
    })
    .await;
}

#[tokio::test]
async fn an_unread_body_is_drained_and_the_connection_goes_on() {
    run(async {
        let s = start(site()).await;
        let body = payload(200_000);
        let mut c = TcpStream::connect(s.addr).await.unwrap();
        let mut wire = format!("POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        wire.extend_from_slice(&body);
        wire.extend_from_slice(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
        c.write_all(&wire).await.unwrap();
        let r = read_all(&mut c).await;
        assert!(r.contains("not read"), "{r}");
        assert!(r.contains("3 bytes, sum 294, whole"), "the next request on the connection: {r}");
        // A request without a body gets no RequestBody.
        let r = exchange(s.addr, b"GET /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert_eq!(body_of(&r), "no body");
    })
    .await;
}
