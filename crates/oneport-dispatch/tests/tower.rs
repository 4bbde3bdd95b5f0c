//! tower interop: a tower service mounted as a dispatcher beside oneport's
//! routes, over loopback TCP; and a oneport dispatcher called as a tower
//! service, with no server at all.

mod support;

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use oneport_dispatch::tower::{DispatcherService, tower_service};
use oneport_dispatch::{Request, files, filter, sequencer, servlet, websocket};
use support::*;
use tower::{Service, ServiceExt};

async fn run<F: std::future::Future<Output = ()>>(f: F) {
    tokio::time::timeout(TEST_TIMEOUT, f)
        .await
        .expect("test timed out");
}

/// A tower service that echoes the request body, names the path, streams
/// a body of unknown length on `/api/stream` and fails on `/api/fail`.
async fn api(
    req: http::Request<Full<Bytes>>,
) -> Result<http::Response<BoxBody<Bytes, Infallible>>, &'static str> {
    let path = req.uri().path().to_owned();
    if path == "/api/fail" {
        return Err("the service failed");
    }
    if path == "/api/stream" {
        let frames = futures_util::stream::iter(
            ["a", "b", "c"].map(|s| Ok::<_, Infallible>(http_body::Frame::data(Bytes::from(s)))),
        );
        return Ok(http::Response::new(StreamBody::new(frames).boxed()));
    }
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let text = format!("{path} got {}", String::from_utf8_lossy(&body));
    let mut res = http::Response::new(Full::new(Bytes::from(text)).boxed());
    res.headers_mut()
        .insert("x-from", http::HeaderValue::from_static("tower"));
    Ok(res)
}

#[tokio::test]
async fn a_tower_service_serves_its_routes_beside_onports() {
    run(async {
        let site = sequencer(vec![
            Box::new(filter("^/api/", tower_service(tower::service_fn(api)))),
            Box::new(servlet(|_r: Request| "oneport")),
        ]);
        let s = start(site).await;
        let raw = b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
        let r = exchange(s.addr, raw).await;
        assert_eq!(status_of(&r), 200);
        assert_eq!(header_of(&r, "x-from"), Some("tower"));
        assert_eq!(header_of(&r, "content-length"), Some("19"), "an exact size keeps its length");
        assert_eq!(body_of(&r), "/api/echo got hello");

        let r = exchange(s.addr, b"GET /api/stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert_eq!(header_of(&r, "transfer-encoding"), Some("chunked"));
        assert!(r.ends_with("1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n"), "{r}");

        let r = exchange(s.addr, b"GET /api/fail HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert_eq!(status_of(&r), 500);

        let r = exchange(s.addr, b"GET /else HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert_eq!(body_of(&r), "oneport");
    })
    .await;
}

async fn collect(res: http::Response<oneport_dispatch::Body>) -> (u16, Bytes) {
    let status = res.status().as_u16();
    (status, res.into_body().collect().await.unwrap().to_bytes())
}

#[tokio::test]
async fn a_dispatcher_answers_as_a_tower_service() {
    run(async {
        let dir = std::env::temp_dir().join(format!("oneport-tower-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("files")).unwrap();
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.join("files/big.bin"), &big).unwrap();
        let site = sequencer(vec![
            Box::new(filter(
                "^/echo$",
                servlet(|r: Request| async move { format!("got {}", r.body().len()) }),
            )),
            Box::new(filter("^/ws$", websocket(|_ws, _req| async {}))),
            Box::new(filter("^/files/", files(dir.clone()))),
        ]);
        let mut svc = DispatcherService::new(filter("^/", sequencer(vec![Box::new(site)])))
            .max_body_bytes(10);
        let req = |path: &str, body: &'static str| {
            http::Request::builder()
                .uri(path)
                .method(if body.is_empty() { "GET" } else { "POST" })
                .body(Full::new(Bytes::from_static(body.as_bytes())))
                .unwrap()
        };
        let res = ServiceExt::<http::Request<Full<Bytes>>>::ready(&mut svc)
            .await
            .unwrap()
            .call(req("/echo", "12345"))
            .await
            .unwrap();
        assert_eq!(collect(res).await, (200, Bytes::from("got 5")));
        let res = ServiceExt::<http::Request<Full<Bytes>>>::ready(&mut svc)
            .await
            .unwrap()
            .call(req("/echo", "far too long a body"))
            .await
            .unwrap();
        assert_eq!(res.status(), 413);
        let res = ServiceExt::<http::Request<Full<Bytes>>>::ready(&mut svc)
            .await
            .unwrap()
            .call(req("/nothing", ""))
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        // A file body, read through http_body::Body.
        let res = ServiceExt::<http::Request<Full<Bytes>>>::ready(&mut svc)
            .await
            .unwrap()
            .call(req("/files/big.bin", ""))
            .await
            .unwrap();
        assert_eq!(
            http_body::Body::size_hint(res.body()).exact(),
            Some(200_000)
        );
        let (status, body) = collect(res).await;
        assert_eq!((status, body[..] == big[..]), (200, true));
        // A takeover cannot be carried.
        let ws = http::Request::builder()
            .uri("/ws")
            .header("host", "x")
            .header("upgrade", "websocket")
            .header("connection", "upgrade")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let res = ServiceExt::<http::Request<Full<Bytes>>>::ready(&mut svc)
            .await
            .unwrap()
            .call(ws)
            .await
            .unwrap();
        assert_eq!(res.status(), 501);
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}
