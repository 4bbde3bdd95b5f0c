//! The demo's own routes (the same `site` function `examples/demo.rs`
//! serves), over loopback TCP.

#[path = "../../../examples/demo_site.rs"]
mod demo_site;

use std::net::SocketAddr;
use std::time::Duration;

use oneport::dispatch::Server;
use oneport::dispatch::topics::TopicHub;
use oneport::sse::EventSource;
use oneport::ws::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LIMIT: Duration = Duration::from_secs(20);

async fn start() -> (SocketAddr, TopicHub) {
    let hub = TopicHub::default();
    let server = Server::builder().bind("127.0.0.1:0").await.expect("bind");
    let addr = server.local_addr();
    tokio::spawn(server.serve(demo_site::site(hub.clone())));
    (addr, hub)
}

async fn get(addr: SocketAddr, raw: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(raw.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .expect("the server closes after Connection: close")
        .expect("read");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn ws_echoes_to_a_hybi00_and_an_rfc6455_client_at_once() {
    tokio::time::timeout(LIMIT, async {
        let (addr, _hub) = start().await;
        let url = format!("ws://{addr}/ws");
        let (mut modern, _) = oneport::ws::connect(&url).await.expect("rfc6455 connect");
        let mut legacy = oneport::hybi00::connect(&url)
            .await
            .expect("hybi-00 connect");
        // Both connections are open at the same time and interleave.
        for i in 0..5 {
            let a = format!("modern {i}");
            let b = format!("legacy {i} \u{e9}\u{1f600}");
            modern
                .send(Message::Text(a.clone().into()))
                .await
                .expect("send");
            legacy.send_text(&b).await.expect("send");
            match modern.recv().await {
                Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), a),
                other => panic!("rfc6455 echo: {other:?}"),
            }
            let got = legacy.recv().await.expect("open").expect("frame");
            assert_eq!(got, Message::Text(b.into()));
        }
        // Binary only exists on the modern protocol; the same handler echoes it.
        modern
            .send(Message::Binary(vec![0u8, 159, 146, 150].into()))
            .await
            .expect("send");
        match modern.recv().await {
            Some(Ok(Message::Binary(b))) => assert_eq!(&b[..], &[0u8, 159, 146, 150]),
            other => panic!("binary echo: {other:?}"),
        }
        legacy.close().await.expect("hybi-00 close");
        modern.close(None).await.expect("rfc6455 close");
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn page_plaintext_and_not_found() {
    tokio::time::timeout(LIMIT, async {
        let (addr, _hub) = start().await;
        let r = get(
            addr,
            "GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(
            r.to_ascii_lowercase()
                .contains("content-type: text/plain\r\n"),
            "{r}"
        );
        assert!(r.ends_with("\r\n\r\nHello, World!"), "{r}");

        let r = get(
            addr,
            "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(
            r.to_ascii_lowercase().contains("content-type: text/html"),
            "{r}"
        );
        assert!(
            r.contains("new WebSocket") && r.contains("new EventSource"),
            "{r}"
        );

        let r = get(
            addr,
            "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(r.starts_with("HTTP/1.1 404 "), "{r}");
        let r = get(
            addr,
            "GET /publish HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(r.starts_with("HTTP/1.1 405 "), "{r}");
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn publish_reaches_events_and_last_event_id_resumes() {
    tokio::time::timeout(LIMIT, async {
        let (addr, hub) = start().await;
        let post = |q: &str, body: &str| {
            format!(
                "POST /publish{q} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        };
        let r = get(addr, &post("?id=1&event=note", "first\nline two")).await;
        assert!(r.starts_with("HTTP/1.1 204 "), "{r}");
        let r = get(addr, &post("?id=2", "second")).await;
        assert!(r.starts_with("HTTP/1.1 204 "), "{r}");
        // An id with a line break is refused, never altered.
        let r = get(addr, &post("?id=a%0Ab", "x")).await;
        assert!(r.starts_with("HTTP/1.1 400 "), "{r}");

        // A new client gets the kept events, in order.
        let mut es = EventSource::new(&format!("http://{addr}/events")).expect("url");
        let e = es.next_event().await.expect("event").expect("ok");
        assert_eq!((e.event_type.as_str(), e.data.as_str(), e.last_event_id.as_str()), ("note", "first\nline two", "1"));
        let e = es.next_event().await.expect("event").expect("ok");
        assert_eq!((e.data.as_str(), e.last_event_id.as_str()), ("second", "2"));
        drop(es);

        // Resuming after id 1 replays only what followed it.
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1\r\n\r\n")
            .await
            .expect("write");
        let mut got = String::new();
        let mut buf = [0u8; 1024];
        while !got.contains("data: second\n") {
            let n = s.read(&mut buf).await.expect("read");
            assert!(n > 0, "stream ended early: {got}");
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        assert!(!got.contains("first"), "{got}");
        drop(hub);
    })
    .await
    .expect("test timed out");
}

/// `/events` asked for a WebSocket gives the same events, each one's data
/// as a text message, in the order they were published; the event stream
/// on the same path is untouched.
#[tokio::test]
async fn events_reach_a_websocket_on_the_same_path() {
    tokio::time::timeout(LIMIT, async {
        let (addr, _hub) = start().await;
        let post = |body: String| {
            format!(
                "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        };
        let (mut ws, _) = oneport::ws::connect(&format!("ws://{addr}/events"))
            .await
            .expect("connect");
        // The socket joins once its handler runs: publish until it hears.
        loop {
            assert!(get(addr, &post("probe".into())).await.starts_with("HTTP/1.1 204 "));
            match tokio::time::timeout(Duration::from_millis(50), ws.recv()).await {
                Ok(Some(Ok(Message::Text(t)))) if t.as_str() == "probe" => break,
                Ok(other) => panic!("{other:?}"),
                Err(_) => {}
            }
        }
        for i in 0..20 {
            assert!(get(addr, &post(format!("n{i}"))).await.starts_with("HTTP/1.1 204 "));
        }
        let mut got = Vec::new();
        while got.len() < 20 {
            match ws.recv().await {
                Some(Ok(Message::Text(t))) if t.as_str() != "probe" => got.push(t.to_string()),
                Some(Ok(Message::Text(_))) => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(got, (0..20).map(|i| format!("n{i}")).collect::<Vec<_>>());
        ws.close(None).await.expect("the close handshake completes");
        // The plain GET is still the event stream.
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let mut head = String::new();
        let mut buf = [0u8; 1024];
        while !head.contains("\r\n\r\n") {
            let n = s.read(&mut buf).await.expect("read");
            assert!(n > 0, "ended early: {head}");
            head.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        assert!(head.to_ascii_lowercase().contains("content-type: text/event-stream"), "{head}");
    })
    .await
    .expect("test timed out");
}

/// `/publish`'s query string is form-decoded: `+` is a space, `%XX` a
/// byte, and a key without `=` has an empty value.
#[tokio::test]
async fn publish_decodes_its_query_string() {
    tokio::time::timeout(LIMIT, async {
        let (addr, _hub) = start().await;
        let raw = "POST /publish?event=two+words%21&id=caf%C3%A9&flag HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody";
        let r = get(addr, raw).await;
        assert!(r.starts_with("HTTP/1.1 204 "), "{r}");
        let mut es = EventSource::new(&format!("http://{addr}/events")).expect("url");
        let e = es.next_event().await.expect("event").expect("ok");
        assert_eq!(
            (e.event_type.as_str(), e.last_event_id.as_str(), e.data.as_str()),
            ("two words!", "caf\u{e9}", "body")
        );
    })
    .await
    .expect("test timed out");
}
