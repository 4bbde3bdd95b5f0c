//! The HTTP side of the server over real loopback TCP: servlets, files,
//! filters, sequencer order, keep-alive, pipelining, chunked bodies, and
//! the answers to bad input.

mod support;

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use oneport_dispatch::{Builder, Outcome, Request, files, filter, sequencer, servlet};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn site() -> oneport_dispatch::Sequencer {
    sequencer(vec![
        Box::new(filter("^/hello$", servlet(|_r: Request| "Hello, World!"))),
        Box::new(filter(
            "^/echo$",
            servlet(|r: Request| async move {
                let body: Bytes = r.into_body();
                format!("{} bytes: {}", body.len(), String::from_utf8_lossy(&body))
            }),
        )),
        Box::new(filter("^/order", servlet(|_r: Request| "first"))),
        Box::new(filter("^/order", servlet(|_r: Request| "second"))),
    ])
}

async fn run<F: std::future::Future<Output = ()>>(f: F) {
    tokio::time::timeout(TEST_TIMEOUT, f)
        .await
        .expect("test timed out");
}

#[tokio::test]
async fn servlet_serves_a_page() {
    run(async {
        let s = start(site()).await;
        let r = exchange(
            s.addr,
            b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(status_of(&r), 200);
        assert_eq!(body_of(&r), "Hello, World!");
        assert_eq!(header_of(&r, "content-length"), Some("13"));
        assert!(header_of(&r, "date").is_some());
    })
    .await;
}

#[tokio::test]
async fn nothing_matches_gives_404() {
    run(async {
        let s = start(site()).await;
        let r = exchange(
            s.addr,
            b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(status_of(&r), 404);
    })
    .await;
}

#[tokio::test]
async fn sequencer_tries_in_order_and_filter_matches_path_only() {
    run(async {
        let s = start(site()).await;
        let r = exchange(
            s.addr,
            b"GET /order?x=/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(body_of(&r), "first");
        // The query is not part of the path the filter sees.
        let r = exchange(
            s.addr,
            b"GET /x?/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(status_of(&r), 404);
    })
    .await;
}

#[tokio::test]
async fn declining_dispatcher_passes_the_request_on_unchanged() {
    struct Decline;
    impl oneport_dispatch::Dispatcher for Decline {
        fn dispatch<'a>(
            &'a self,
            mut req: Request,
            _cx: &'a oneport_dispatch::Context,
        ) -> oneport_dispatch::BoxFuture<'a, Outcome> {
            // Declining hands back the same request (we only tag it).
            req.headers_mut()
                .insert("x-seen", "1".parse().expect("value"));
            Box::pin(async move { Outcome::Declined(req) })
        }
    }
    run(async {
        let s = start(sequencer(vec![
            Box::new(Decline),
            Box::new(servlet(|r: Request| {
                format!(
                    "seen={:?} body={}",
                    r.headers().get("x-seen").is_some(),
                    r.body().len()
                )
            })),
        ]))
        .await;
        let r = exchange(
            s.addr,
            b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
        )
        .await;
        assert_eq!(body_of(&r), "seen=true body=3");
    })
    .await;
}

#[tokio::test]
async fn keep_alive_serves_several_requests_on_one_connection() {
    run(async {
        let s = start(site()).await;
        let mut c = TcpStream::connect(s.addr).await.expect("connect");
        for _ in 0..3 {
            c.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .expect("write");
            let r = read_response(&mut c).await;
            assert_eq!(status_of(&r), 200);
            assert_eq!(header_of(&r, "connection"), None);
        }
        // HTTP/1.0 without keep-alive closes after one response.
        let r = exchange(s.addr, b"GET /hello HTTP/1.0\r\n\r\n").await;
        assert_eq!(header_of(&r, "connection"), Some("close"));
        assert_eq!(body_of(&r), "Hello, World!");
        // HTTP/1.0 asking for keep-alive gets it.
        let mut c = TcpStream::connect(s.addr).await.expect("connect");
        c.write_all(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .await
            .expect("write");
        let r = read_response(&mut c).await;
        assert_eq!(header_of(&r, "connection"), Some("keep-alive"));
    })
    .await;
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    run(async {
        let s = start(site()).await;
        let raw = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n\
POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nping\
GET /missing HTTP/1.1\r\nHost: x\r\n\r\n\
GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let r = exchange(s.addr, raw).await;
        let statuses: Vec<&str> = r.matches("HTTP/1.1 ").map(|_| "").collect();
        assert_eq!(statuses.len(), 4, "{r}");
        let order: Vec<usize> = [
            "Hello, World!",
            "4 bytes: ping",
            "not found",
            "Hello, World!",
        ]
        .iter()
        .scan(0usize, |from, needle| {
            let at = r[*from..].find(needle).map(|i| i + *from);
            if let Some(i) = at {
                *from = i + needle.len();
            }
            Some(at.unwrap_or(usize::MAX))
        })
        .collect();
        assert!(order.iter().all(|&i| i != usize::MAX), "out of order: {r}");
    })
    .await;
}

#[tokio::test]
async fn chunked_request_bodies_are_decoded() {
    run(async {
        let s = start(site()).await;
        let r = exchange(
            s.addr,
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: t\r\n\r\n",
        )
        .await;
        assert_eq!(status_of(&r), 200);
        assert_eq!(body_of(&r), "9 bytes: Wikipedia");
    })
    .await;
}

#[tokio::test]
async fn chunked_body_split_over_many_writes() {
    run(async {
        let s = start(site()).await;
        let mut c = TcpStream::connect(s.addr).await.expect("connect");
        let raw = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        for piece in raw.chunks(3) {
            c.write_all(piece).await.expect("write");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let r = read_response(&mut c).await;
        assert_eq!(body_of(&r), "5 bytes: abcde");
    })
    .await;
}

#[tokio::test]
async fn expect_continue_gets_100_before_the_body() {
    run(async {
        let s = start(site()).await;
        let mut c = TcpStream::connect(s.addr).await.expect("connect");
        c.write_all(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
        )
        .await
        .expect("write");
        let mut first = [0u8; 25];
        c.read_exact(&mut first).await.expect("100");
        assert_eq!(&first, b"HTTP/1.1 100 Continue\r\n\r\n");
        c.write_all(b"hi").await.expect("write");
        let r = read_response(&mut c).await;
        assert_eq!(body_of(&r), "2 bytes: hi");
    })
    .await;
}

#[tokio::test]
async fn oversized_head_gets_431() {
    run(async {
        let s = start(site()).await;
        let mut raw = b"GET /hello HTTP/1.1\r\nHost: x\r\n".to_vec();
        for i in 0..2000 {
            raw.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "y".repeat(20)).as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        let r = exchange(s.addr, &raw).await;
        assert_eq!(status_of(&r), 431, "{r}");
    })
    .await;
}

#[tokio::test]
async fn malformed_head_gets_400() {
    run(async {
        let s = start(site()).await;
        for raw in [
            &b"GET /hello HTTP/1.1\r\nHost x\r\n\r\n"[..],
            b"\x01\x02 garbage\r\n\r\n",
            b"GET /hello HTTP/1.1\r\n\r\n", // HTTP/1.1 without Host
        ] {
            let r = exchange(s.addr, raw).await;
            assert_eq!(
                status_of(&r),
                400,
                "{:?} -> {r}",
                String::from_utf8_lossy(raw)
            );
            assert_eq!(header_of(&r, "connection"), Some("close"));
        }
    })
    .await;
}

#[tokio::test]
async fn smuggling_attempts_get_400() {
    run(async {
        let s = start(site()).await;
        for raw in [
            &b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"[..],
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nabc\r\n0\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc",
        ] {
            let r = exchange(s.addr, raw).await;
            assert_eq!(status_of(&r), 400, "{:?} -> {r}", String::from_utf8_lossy(raw));
        }
    })
    .await;
}

#[tokio::test]
async fn body_over_the_limit_gets_413() {
    run(async {
        let mut b = Builder::new();
        b.limits(oneport_http1::Limits::default().max_body_bytes(10));
        let s = start_with(b, site()).await;
        let r = exchange(s.addr, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n01234567890").await;
        assert_eq!(status_of(&r), 413);
        let r = exchange(
            s.addr,
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n6\r\n678901\r\n0\r\n\r\n",
        )
        .await;
        assert_eq!(status_of(&r), 413);
    })
    .await;
}

#[tokio::test]
async fn slow_head_gets_408_after_the_timeout() {
    run(async {
        let mut b = Builder::new();
        b.header_read_timeout(Duration::from_millis(300));
        let s = start_with(b, site()).await;
        let mut c = TcpStream::connect(s.addr).await.expect("connect");
        c.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("write");
        let started = tokio::time::Instant::now();
        let r = read_all(&mut c).await;
        assert_eq!(status_of(&r), 408, "{r}");
        // It waited for the timeout rather than answering at once.
        assert!(started.elapsed() >= Duration::from_millis(250));
    })
    .await;
}

#[tokio::test]
async fn idle_keep_alive_connection_is_closed_after_its_timeout() {
    run(async {
        let mut b = Builder::new();
        b.keep_alive_timeout(Duration::from_millis(200));
        let s = start_with(b, site()).await;
        let mut c = TcpStream::connect(s.addr).await.expect("connect");
        c.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let _ = read_response(&mut c).await;
        let mut rest = Vec::new();
        let n = tokio::time::timeout(Duration::from_secs(3), c.read_to_end(&mut rest))
            .await
            .expect("server should close the idle connection")
            .expect("read");
        assert_eq!(n, 0, "nothing more is sent, the socket is just closed");
    })
    .await;
}

fn temp_site() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "oneport-files-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(dir.join("public/sub")).expect("mkdir");
    std::fs::write(dir.join("public/index.html"), "<h1>home</h1>").expect("write");
    std::fs::write(dir.join("public/style.css"), "body{}").expect("write");
    std::fs::write(dir.join("public/sub/index.html"), "sub home").expect("write");
    std::fs::write(dir.join("secret.txt"), "top secret").expect("write");
    dir
}

#[tokio::test]
async fn files_are_served_with_types_and_validators() {
    run(async {
        let dir = temp_site();
        let s = start(sequencer(vec![Box::new(files(dir.join("public")))])).await;
        let r = exchange(s.addr, b"GET /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert_eq!(status_of(&r), 200);
        assert_eq!(body_of(&r), "body{}");
        assert_eq!(header_of(&r, "content-type"), Some("text/css; charset=utf-8"));
        let last_modified = header_of(&r, "last-modified").expect("last-modified").to_owned();
        let etag = header_of(&r, "etag").expect("etag").to_owned();

        // index.html for a directory, at the root and below.
        let r = exchange(s.addr, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert_eq!(body_of(&r), "<h1>home</h1>");
        let r = exchange(s.addr, b"GET /sub/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert_eq!(body_of(&r), "sub home");

        // HEAD: same headers, no body.
        let r = exchange(s.addr, b"HEAD /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert_eq!(status_of(&r), 200);
        assert_eq!(header_of(&r, "content-length"), Some("6"));
        assert_eq!(body_of(&r), "");

        // Conditional requests.
        let raw = format!("GET /style.css HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: {last_modified}\r\nConnection: close\r\n\r\n");
        let r = exchange(s.addr, raw.as_bytes()).await;
        assert_eq!(status_of(&r), 304);
        assert_eq!(body_of(&r), "");
        let raw = format!("GET /style.css HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\nConnection: close\r\n\r\n");
        let r = exchange(s.addr, raw.as_bytes()).await;
        assert_eq!(status_of(&r), 304);
        let raw = "GET /style.css HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"other\"\r\nConnection: close\r\n\r\n";
        let r = exchange(s.addr, raw.as_bytes()).await;
        assert_eq!(status_of(&r), 200);
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}

#[tokio::test]
async fn traversal_is_not_served() {
    run(async {
        let dir = temp_site();
        let s = start(sequencer(vec![Box::new(files(dir.join("public")))])).await;
        for path in [
            "/../secret.txt",
            "/%2e%2e/secret.txt",
            "/sub/../../secret.txt",
            "/sub/%2e%2e/%2e%2e/secret.txt",
            "/..%2fsecret.txt",
            "/..\\secret.txt",
        ] {
            let raw = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let r = exchange(s.addr, raw.as_bytes()).await;
            assert!(!r.contains("top secret"), "{path} leaked: {r}");
            let st = status_of(&r);
            assert!(st == 404 || st == 400, "{path} -> {st}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.join("secret.txt"), dir.join("public/link.txt"))
                .expect("symlink");
            let r = exchange(
                s.addr,
                b"GET /link.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            )
            .await;
            assert_eq!(status_of(&r), 404, "a link out of the root is not followed");
            // Nor is a precompressed sibling that links out of the root.
            std::fs::write(dir.join("public/app.js"), "plain").expect("write");
            std::os::unix::fs::symlink(dir.join("secret.txt"), dir.join("public/app.js.gz"))
                .expect("symlink");
            let s = start(sequencer(vec![Box::new(
                files(dir.join("public")).precompressed_gzip(),
            )]))
            .await;
            let r = exchange(
                s.addr,
                b"GET /app.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
            )
            .await;
            assert_eq!(body_of(&r), "plain", "the linked sibling is skipped: {r}");
            assert_eq!(header_of(&r, "content-encoding"), None);
        }
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}

/// `GET path` with `headers`, on a fresh connection.
async fn get_with(addr: std::net::SocketAddr, path: &str, headers: &str) -> String {
    let raw = format!("GET {path} HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n");
    exchange(addr, raw.as_bytes()).await
}

#[tokio::test]
async fn ranges_single_suffix_and_unsatisfiable() {
    run(async {
        let dir = temp_site();
        let digits: String = (0..100)
            .map(|i| char::from(b'0' + (i % 10) as u8))
            .collect();
        std::fs::write(dir.join("public/digits.txt"), &digits).expect("write");
        let s = start(sequencer(vec![Box::new(files(dir.join("public")))])).await;

        let whole = get_with(s.addr, "/digits.txt", "").await;
        assert_eq!(status_of(&whole), 200);
        assert_eq!(header_of(&whole, "accept-ranges"), Some("bytes"));
        let last_modified = header_of(&whole, "last-modified").unwrap().to_owned();

        let r = get_with(s.addr, "/digits.txt", "Range: bytes=10-14\r\n").await;
        assert_eq!(status_of(&r), 206);
        assert_eq!(body_of(&r), "01234");
        assert_eq!(header_of(&r, "content-range"), Some("bytes 10-14/100"));
        assert_eq!(header_of(&r, "content-length"), Some("5"));

        let r = get_with(s.addr, "/digits.txt", "Range: bytes=95-\r\n").await;
        assert_eq!((status_of(&r), body_of(&r)), (206, "56789"));
        let r = get_with(s.addr, "/digits.txt", "Range: bytes=-3\r\n").await;
        assert_eq!((status_of(&r), body_of(&r)), (206, "789"));
        assert_eq!(header_of(&r, "content-range"), Some("bytes 97-99/100"));

        let r = get_with(s.addr, "/digits.txt", "Range: bytes=100-\r\n").await;
        assert_eq!(status_of(&r), 416);
        assert_eq!(header_of(&r, "content-range"), Some("bytes */100"));
        assert_eq!(body_of(&r), "");

        // Several ranges, or an If-Range that does not hold: the whole file.
        let r = get_with(s.addr, "/digits.txt", "Range: bytes=0-1,5-6\r\n").await;
        assert_eq!((status_of(&r), body_of(&r).len()), (200, 100));
        let r = get_with(
            s.addr,
            "/digits.txt",
            "Range: bytes=0-1\r\nIf-Range: Sat, 01 Jan 2000 00:00:00 GMT\r\n",
        )
        .await;
        assert_eq!((status_of(&r), body_of(&r).len()), (200, 100));
        let held = format!("Range: bytes=0-1\r\nIf-Range: {last_modified}\r\n");
        let r = get_with(s.addr, "/digits.txt", &held).await;
        assert_eq!((status_of(&r), body_of(&r)), (206, "01"));
        // HEAD: the same answer without the bytes.
        let raw =
            "HEAD /digits.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=-3\r\nConnection: close\r\n\r\n";
        let r = exchange(s.addr, raw.as_bytes()).await;
        assert_eq!(
            (status_of(&r), header_of(&r, "content-length"), body_of(&r)),
            (206, Some("3"), "")
        );
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}

#[tokio::test]
async fn precompressed_siblings_are_chosen_by_accept_encoding() {
    run(async {
        let dir = temp_site();
        std::fs::write(dir.join("public/app.js"), "plain js").expect("write");
        std::fs::write(dir.join("public/app.js.br"), "brotli bytes").expect("write");
        std::fs::write(dir.join("public/app.js.gz"), "gzip bytes").expect("write");
        std::fs::write(dir.join("public/only-gz.css"), "plain css").expect("write");
        std::fs::write(dir.join("public/only-gz.css.gz"), "gz css").expect("write");
        let s = start(sequencer(vec![Box::new(
            files(dir.join("public"))
                .precompressed_gzip()
                .precompressed_br(),
        )]))
        .await;
        let ae = |v: &str| format!("Accept-Encoding: {v}\r\n");

        let r = get_with(s.addr, "/app.js", &ae("gzip, deflate, br")).await;
        assert_eq!(body_of(&r), "brotli bytes", "br is preferred");
        assert_eq!(header_of(&r, "content-encoding"), Some("br"));
        assert_eq!(
            header_of(&r, "content-type"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(header_of(&r, "vary"), Some("accept-encoding"));
        let br_tag = header_of(&r, "etag").unwrap().to_owned();

        let r = get_with(s.addr, "/app.js", &ae("gzip")).await;
        assert_eq!(
            (body_of(&r), header_of(&r, "content-encoding")),
            ("gzip bytes", Some("gzip"))
        );
        let r = get_with(s.addr, "/app.js", &ae("br;q=0, gzip;q=0.5")).await;
        assert_eq!(body_of(&r), "gzip bytes");
        let r = get_with(s.addr, "/app.js", "").await;
        assert_eq!(
            body_of(&r),
            "plain js",
            "no Accept-Encoding: the file itself"
        );
        assert_eq!(header_of(&r, "content-encoding"), None);
        assert_eq!(header_of(&r, "vary"), Some("accept-encoding"));
        assert_ne!(
            header_of(&r, "etag"),
            Some(br_tag.as_str()),
            "each variant its own tag"
        );
        let r = get_with(s.addr, "/only-gz.css", &ae("br")).await;
        assert_eq!(body_of(&r), "plain css", "no .br sibling: the file");
        // The sibling itself is still a file like any other.
        let r = get_with(s.addr, "/app.js.gz", "").await;
        assert_eq!(body_of(&r), "gzip bytes");

        // Without precompressed_*: siblings are never chosen, and no Vary.
        let plain = start(sequencer(vec![Box::new(files(dir.join("public")))])).await;
        let r = get_with(plain.addr, "/app.js", &ae("br, gzip")).await;
        assert_eq!(body_of(&r), "plain js");
        assert_eq!(header_of(&r, "vary"), None);
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    run(async {
        let slow = servlet(|_r: Request| async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            (StatusCode::OK, "finished")
        });
        let s = start(slow).await;
        let mut c = TcpStream::connect(s.addr).await.expect("connect");
        c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        tokio::time::sleep(Duration::from_millis(50)).await;
        s.stop.shutdown();
        let r = read_all(&mut c).await;
        assert_eq!(status_of(&r), 200);
        assert_eq!(body_of(&r), "finished");
        assert_eq!(header_of(&r, "connection"), Some("close"));
        s.task.await.expect("join").expect("serve");
        // The listener is gone.
        assert!(TcpStream::connect(s.addr).await.is_err());
    })
    .await;
}

/// A request still running when the grace period ends is dropped: `serve`
/// returns, the handler's future is dropped (not left running) and the
/// client sees its connection close; a connection finished before then
/// left nothing behind.
#[tokio::test]
async fn after_the_grace_period_connections_still_busy_are_dropped() {
    run(async {
        struct Dropped(std::sync::Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = dropped.clone();
        let stuck = servlet(move |_r: Request| {
            let guard = Dropped(flag.clone());
            async move {
                let _guard = guard;
                std::future::pending::<()>().await;
                (StatusCode::OK, "never")
            }
        });
        let mut b = Builder::new();
        b.shutdown_grace(Duration::from_millis(200));
        let s = start_with(
            b,
            sequencer(vec![
                Box::new(filter("^/quick$", servlet(|_r: Request| "quick"))),
                Box::new(stuck),
            ]),
        )
        .await;
        let r = exchange(
            s.addr,
            b"GET /quick HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(body_of(&r), "quick");
        let mut c = TcpStream::connect(s.addr).await.expect("connect");
        c.write_all(b"GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let began = std::time::Instant::now();
        s.stop.shutdown();
        s.task.await.expect("join").expect("serve");
        assert!(
            began.elapsed() >= Duration::from_millis(200),
            "returned before the grace ended"
        );
        assert!(
            dropped.load(std::sync::atomic::Ordering::SeqCst),
            "the handler still runs"
        );
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf))
            .await
            .expect("the connection is closed, not left open");
        assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    })
    .await;
}

#[tokio::test]
async fn max_connections_bounds_concurrent_connections() {
    run(async {
        let mut b = Builder::new();
        b.max_connections(1);
        let s = start_with(b, site()).await;
        let mut first = TcpStream::connect(s.addr).await.expect("connect");
        first
            .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let _ = read_response(&mut first).await;
        // A second client waits (in the backlog) while the first is open...
        let mut second = TcpStream::connect(s.addr).await.expect("connect");
        second
            .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut buf = [0u8; 16];
        let early = tokio::time::timeout(Duration::from_millis(300), second.read(&mut buf)).await;
        assert!(
            early.is_err(),
            "second connection was served while the first held the only slot"
        );
        // ...and is served once the first goes away.
        drop(first);
        let r = read_all(&mut second).await;
        assert_eq!(status_of(&r), 200);
    })
    .await;
}
