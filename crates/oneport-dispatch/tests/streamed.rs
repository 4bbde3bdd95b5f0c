//! Streamed response bodies over loopback TCP: chunked when the length is
//! unknown, `Content-Length` when it is known, close-delimited for
//! HTTP/1.0, and a failing or lying stream cut short rather than passed
//! off as complete.

mod support;

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use oneport_dispatch::{Body, Request, Response, filter, sequencer, servlet};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn chunks(
    parts: &'static [&'static str],
) -> impl futures_core::Stream<Item = std::io::Result<Bytes>> {
    futures_util::stream::iter(parts.iter().map(|p| Ok(Bytes::from_static(p.as_bytes()))))
}

fn site() -> oneport_dispatch::Sequencer {
    sequencer(vec![
        Box::new(filter(
            "^/chunked$",
            servlet(|_r: Request| {
                Response::new(Body::stream(chunks(&["one ", "", "two ", "three"])))
            }),
        )),
        Box::new(filter(
            "^/sized$",
            servlet(|_r: Request| Response::new(Body::sized_stream(7, chunks(&["abc", "defg"])))),
        )),
        Box::new(filter(
            "^/short$",
            servlet(|_r: Request| Response::new(Body::sized_stream(100, chunks(&["abc"])))),
        )),
        Box::new(filter(
            "^/fails$",
            servlet(|_r: Request| {
                let good = chunks(&["partial "]);
                let bad = futures_util::stream::iter([Err(std::io::Error::other("source broke"))]);
                Response::new(Body::stream(good.chain(bad)))
            }),
        )),
        Box::new(filter(
            "^/slow$",
            servlet(|_r: Request| {
                let ticks = futures_util::stream::iter(0..3).then(|i| async move {
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    Ok::<_, std::io::Error>(Bytes::from(format!("tick {i}\n")))
                });
                Response::new(Body::stream(ticks))
            }),
        )),
    ])
}

async fn run<F: std::future::Future<Output = ()>>(f: F) {
    tokio::time::timeout(TEST_TIMEOUT, f)
        .await
        .expect("test timed out");
}

#[tokio::test]
async fn an_unknown_length_goes_out_chunked_and_the_connection_stays() {
    run(async {
        let s = start(site()).await;
        let mut c = TcpStream::connect(s.addr).await.unwrap();
        c.write_all(b"GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.ends_with(b"0\r\n\r\n") {
            let n = c.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8(got).unwrap();
        assert_eq!(header_of(&text, "transfer-encoding"), Some("chunked"));
        assert_eq!(header_of(&text, "content-length"), None);
        // The empty chunk is skipped, not sent (it would end the body).
        assert!(
            text.ends_with("\r\n\r\n4\r\none \r\n4\r\ntwo \r\n5\r\nthree\r\n0\r\n\r\n"),
            "{text}"
        );
        // Kept alive: a second request on the same connection.
        c.write_all(b"GET /sized HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let r = read_all(&mut c).await;
        assert_eq!((status_of(&r), body_of(&r)), (200, "abcdefg"));
        assert_eq!(header_of(&r, "content-length"), Some("7"));
        assert_eq!(header_of(&r, "transfer-encoding"), None);
    })
    .await;
}

#[tokio::test]
async fn an_http10_client_gets_the_stream_delimited_by_closing() {
    run(async {
        let s = start(site()).await;
        let r = exchange(s.addr, b"GET /chunked HTTP/1.0\r\nHost: x\r\n\r\n").await;
        assert_eq!(header_of(&r, "transfer-encoding"), None);
        assert_eq!(body_of(&r), "one two three");
    })
    .await;
}

#[tokio::test]
async fn head_gets_the_framing_without_the_body() {
    run(async {
        let s = start(site()).await;
        let r = exchange(
            s.addr,
            b"HEAD /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(header_of(&r, "transfer-encoding"), Some("chunked"));
        assert_eq!(body_of(&r), "");
    })
    .await;
}

#[tokio::test]
async fn a_failing_or_short_stream_is_cut_short_not_passed_off_as_whole() {
    run(async {
        let s = start(site()).await;
        let r = exchange(s.addr, b"GET /fails HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(
            r.contains("8\r\npartial \r\n"),
            "what came before is sent: {r}"
        );
        assert!(
            !r.ends_with("0\r\n\r\n"),
            "no last chunk: the body is incomplete: {r}"
        );
        // Closed (exchange read to the end without a timeout's help).
        let r = exchange(s.addr, b"GET /short HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert_eq!(header_of(&r, "content-length"), Some("100"));
        assert_eq!(body_of(&r), "abc", "closed after what the stream gave");
    })
    .await;
}

#[tokio::test]
async fn chunks_leave_as_they_are_produced() {
    run(async {
        let s = start(site()).await;
        let mut c = TcpStream::connect(s.addr).await.unwrap();
        c.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut got = String::new();
        let mut buf = [0u8; 1024];
        // The first tick arrives on its own, before the stream has ended.
        while !got.contains("tick 0\n") {
            let n = c.read(&mut buf).await.unwrap();
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        assert!(!got.contains("tick 2"), "{got}");
    })
    .await;
}

/// Dropped when the stream it sits in is dropped.
struct Dropped(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_a_stream_is_let_go_after_the_write_timeout() {
    run(async {
        let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = dropped.clone();
        let endless = servlet(move |_r: Request| {
            let guard = Dropped(flag.clone());
            let chunks = futures_util::stream::repeat_with(move || {
                let _ = &guard;
                Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; 64 * 1024]))
            });
            Response::new(Body::stream(chunks))
        });
        let mut b = oneport_dispatch::Builder::new();
        b.write_timeout(Duration::from_millis(300));
        let s = start_with(b, endless).await;
        let mut c = TcpStream::connect(s.addr).await.unwrap();
        c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        // Never read: the socket buffers fill, a write stalls, the timeout
        // ends the connection and drops the stream.
        while !dropped.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(c);
    })
    .await;
}
