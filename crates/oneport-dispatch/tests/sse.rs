//! The SSE dispatcher over loopback, on the same port as pages.

mod support;

use oneport_dispatch::{Request, SseOptions, filter, sequencer, servlet, sse};
use oneport_sse::{Event, EventSource, Hub, HubConfig};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn run<F: std::future::Future<Output = ()>>(f: F) {
    tokio::time::timeout(TEST_TIMEOUT, f)
        .await
        .expect("test timed out");
}

#[tokio::test]
async fn event_stream_headers_and_replay_on_the_same_port() {
    run(async {
        let hub = Hub::new(HubConfig::default());
        let s = start(sequencer(vec![
            Box::new(filter("^/events$", sse(hub.clone()))),
            Box::new(servlet(|_r: Request| "page")),
        ]))
        .await;
        hub.publish(Event::new("live only"));
        hub.publish(Event::new("kept").id("1").expect("id"));
        hub.publish(Event::new("kept too").id("2").expect("id"));

        let mut c = tokio::net::TcpStream::connect(s.addr)
            .await
            .expect("connect");
        c.write_all(b"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1\r\n\r\n")
            .await
            .expect("write");
        let mut got = String::new();
        let mut buf = [0u8; 1024];
        while !got.contains("kept too") {
            let n = c.read(&mut buf).await.expect("read");
            assert!(n > 0, "stream ended early: {got}");
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        assert_eq!(status_of(&got), 200);
        assert_eq!(header_of(&got, "content-type"), Some("text/event-stream"));
        assert_eq!(header_of(&got, "cache-control"), Some("no-cache"));
        assert!(!got.contains("data: kept\n"), "resumed after id 1: {got}");
        assert!(
            !got.contains("live only"),
            "id-less events are not replayed"
        );

        // The page is still served on the same port.
        let r = exchange(
            s.addr,
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(body_of(&r), "page");
    })
    .await;
}

#[tokio::test]
async fn client_receives_published_events_and_stream_ends_on_shutdown() {
    run(async {
        let hub = Hub::new(HubConfig::default());
        let s = start(filter("^/events$", sse(hub.clone()))).await;
        let mut es = EventSource::new(&format!("http://{}/events", s.addr)).expect("url");
        // Wait until the subscription exists before publishing.
        let publisher = hub.clone();
        tokio::spawn(async move {
            while publisher.subscriber_count() == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            publisher.publish(
                Event::new("one\ntwo")
                    .event("note")
                    .expect("event")
                    .id("7")
                    .expect("id"),
            );
        });
        let e = es.next_event().await.expect("event").expect("ok");
        assert_eq!(e.event_type, "note");
        assert_eq!(e.data, "one\ntwo");
        assert_eq!(e.last_event_id, "7");
        s.stop.shutdown();
        s.task.await.expect("join").expect("serve");
        assert_eq!(hub.subscriber_count(), 0);
    })
    .await;
}

#[tokio::test]
async fn sse_serve_streams_on_every_path_of_its_port() {
    run(async {
        let hub = Hub::new(HubConfig::default());
        hub.publish(Event::new("kept").id("1").expect("id"));
        let server = oneport_dispatch::sse_serve("127.0.0.1:0", hub.clone(), SseOptions::default())
            .await
            .expect("bind");
        let addr = server.local_addr();
        let mut es = EventSource::new(&format!("http://{addr}/whatever")).expect("url");
        let e = es.next_event().await.expect("event").expect("ok");
        assert_eq!((e.data.as_str(), e.last_event_id.as_str()), ("kept", "1"));
        hub.publish(Event::new("live"));
        let e = es.next_event().await.expect("event").expect("ok");
        assert_eq!(e.data, "live");
        drop(es);
        // The stop handle ends open streams and the server.
        let mut raw = tokio::net::TcpStream::connect(addr).await.expect("connect");
        raw.write_all(b"GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let mut first = [0u8; 12];
        raw.read_exact(&mut first).await.expect("head");
        assert_eq!(&first, b"HTTP/1.1 200");
        tokio::time::timeout(std::time::Duration::from_secs(10), server.stop())
            .await
            .expect("stops in time")
            .expect("stopped cleanly");
        let mut rest = Vec::new();
        raw.read_to_end(&mut rest).await.expect("the stream ended");
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "still listening"
        );
    })
    .await;
}
