//! The `EventSource` client against small loopback servers written with raw
//! `TcpListener`s: reconnection with `Last-Event-ID`, body framings, fatal
//! and non-fatal errors, and a round trip through a real `Hub`.

use std::time::Duration;

use bytes::BytesMut;
use futures_util::StreamExt;
use oneport_sse::{
    ClientConfig, ClientError, Event, EventSource, Hub, HubConfig, ParsedEvent, ParserLimits,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LIMIT: Duration = Duration::from_secs(30);

fn ev(data: &str, id: &str) -> ParsedEvent {
    ParsedEvent {
        event_type: "message".into(),
        data: data.into(),
        last_event_id: id.into(),
    }
}

/// Fast reconnection for tests.
fn config() -> ClientConfig {
    ClientConfig::default()
        .retry(Duration::from_millis(10))
        .read_timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(10))
}

async fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events?x=1", listener.local_addr().unwrap());
    (listener, url)
}

/// Reads a request head (up to the blank line), lowercased.
async fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert!(head.len() < 16 * 1024, "head too long");
        assert_eq!(s.read(&mut byte).await.unwrap(), 1, "client closed early");
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap().to_ascii_lowercase()
}

/// Accepts one connection, reads its head, writes `response` and closes.
async fn serve_once(listener: &TcpListener, response: &[u8]) -> String {
    let (mut s, _) = listener.accept().await.unwrap();
    let head = read_head(&mut s).await;
    s.write_all(response).await.unwrap();
    s.shutdown().await.unwrap();
    head
}

async fn collect(mut source: EventSource) -> Vec<Result<ParsedEvent, ClientError>> {
    let mut items = Vec::new();
    while let Some(item) = source.next().await {
        items.push(item);
    }
    items
}

fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

#[tokio::test]
async fn reconnects_with_last_event_id_after_the_server_closes() {
    tokio::time::timeout(LIMIT, async {
        let (listener, url) = listen().await;
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let first = serve_once(
                &listener,
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n\
                  retry: 20\nid: 1\ndata: one\n\nid: 2\ndata: two\n\nid: 3\ndata: cut off",
            )
            .await;
            // Chunked this time, with a CRLF split across two chunks.
            let mut body = b"HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream; charset=utf-8\r\n\
                             Transfer-Encoding: chunked\r\n\r\n"
                .to_vec();
            body.extend(chunk(b"data: three\n\ndata: fo"));
            body.extend(chunk(b"ur\r"));
            body.extend(chunk(b"\n\r\n"));
            body.extend(b"0\r\n\r\n");
            let second = serve_once(&listener, &body).await;
            let third = serve_once(&listener, b"HTTP/1.1 204 No Content\r\n\r\n").await;
            (first, second, third)
        });

        let source = EventSource::with_config(&url, config()).unwrap();
        assert_eq!(source.last_event_id(), "");
        let items = collect(source).await;
        let events: Vec<ParsedEvent> = items.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            events,
            [
                ev("one", "1"),
                ev("two", "2"),
                ev("three", "2"),
                ev("four", "2")
            ]
        );

        let (first, second, third) = server.await.unwrap();
        assert!(first.starts_with("get /events?x=1 http/1.1\r\n"), "{first}");
        assert!(first.contains(&format!("\r\nhost: 127.0.0.1:{port}\r\n")));
        assert!(first.contains("\r\naccept: text/event-stream\r\n"));
        assert!(!first.contains("last-event-id"));
        // The incomplete event "id: 3" was discarded, so the id is 2.
        assert!(second.contains("\r\nlast-event-id: 2\r\n"), "{second}");
        assert!(third.contains("\r\nlast-event-id: 2\r\n"), "{third}");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn content_length_body_and_initial_last_event_id() {
    tokio::time::timeout(LIMIT, async {
        let (listener, url) = listen().await;
        let server = tokio::spawn(async move {
            let body = b"id: 8\ndata: a\n\n";
            let mut response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            response.extend_from_slice(body);
            let (mut s, _) = listener.accept().await.unwrap();
            let first = read_head(&mut s).await;
            s.write_all(&response).await.unwrap();
            // The connection stays open; the length ends the body.
            let second = serve_once(&listener, b"HTTP/1.1 204 No Content\r\n\r\n").await;
            drop(s);
            (first, second)
        });
        let source = EventSource::with_config(&url, config().last_event_id("7")).unwrap();
        let events: Vec<_> = collect(source)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(events, [ev("a", "8")]);
        let (first, second) = server.await.unwrap();
        assert!(first.contains("\r\nlast-event-id: 7\r\n"));
        assert!(second.contains("\r\nlast-event-id: 8\r\n"));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_status_other_than_200_is_fatal() {
    tokio::time::timeout(LIMIT, async {
        let (listener, url) = listen().await;
        let server = tokio::spawn(async move {
            serve_once(
                &listener,
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
            )
            .await
        });
        let items = collect(EventSource::with_config(&url, config()).unwrap()).await;
        assert_eq!(items.len(), 1);
        let err = items.into_iter().next().unwrap().unwrap_err();
        assert!(err.is_fatal());
        assert_eq!(err.status(), Some(http::StatusCode::SERVICE_UNAVAILABLE));
        server.await.unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_wrong_content_type_is_fatal() {
    tokio::time::timeout(LIMIT, async {
        let (listener, url) = listen().await;
        let server = tokio::spawn(async move {
            serve_once(
                &listener,
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\ndata: x\n\n",
            )
            .await
        });
        let items = collect(EventSource::with_config(&url, config()).unwrap()).await;
        assert!(matches!(items.as_slice(), [Err(ClientError::ContentType)]));
        server.await.unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_malformed_response_is_fatal() {
    tokio::time::timeout(LIMIT, async {
        let (listener, url) = listen().await;
        let server =
            tokio::spawn(async move { serve_once(&listener, b"HTTP/9.9 200 OK\r\n\r\n").await });
        let items = collect(EventSource::with_config(&url, config()).unwrap()).await;
        assert!(matches!(items.as_slice(), [Err(ClientError::Http(_))]));
        server.await.unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn refused_connections_are_retried_then_given_up() {
    tokio::time::timeout(LIMIT, async {
        let (listener, url) = listen().await;
        drop(listener);
        let source = EventSource::with_config(&url, config().max_reconnect_attempts(3)).unwrap();
        let items = collect(source).await;
        assert_eq!(items.len(), 4, "{items:?}");
        for item in &items[..3] {
            let err = item.as_ref().unwrap_err();
            assert!(matches!(err, ClientError::Connect(_)), "{err:?}");
            assert!(!err.is_fatal());
        }
        assert!(matches!(items[3], Err(ClientError::ReconnectLimit(3))));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_silent_server_times_out_and_the_client_reconnects() {
    tokio::time::timeout(LIMIT, async {
        let (listener, url) = listen().await;
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            read_head(&mut s).await;
            s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nid: 5\ndata: x\n\n",
            )
            .await
            .unwrap();
            // Say nothing more until the client gives up on this connection.
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).await.unwrap();
            serve_once(&listener, b"HTTP/1.1 204 No Content\r\n\r\n").await
        });
        let source =
            EventSource::with_config(&url, config().read_timeout(Duration::from_millis(200)))
                .unwrap();
        let items = collect(source).await;
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(items[0].as_ref().unwrap(), &ev("x", "5"));
        let err = items[1].as_ref().unwrap_err();
        assert!(matches!(err, ClientError::ReadTimeout));
        assert!(!err.is_fatal());
        let second = server.await.unwrap();
        assert!(second.contains("\r\nlast-event-id: 5\r\n"));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn parser_limits_bound_the_client() {
    tokio::time::timeout(LIMIT, async {
        let (listener, url) = listen().await;
        let server = tokio::spawn(async move {
            let mut response =
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: ok\n\ndata: "
                    .to_vec();
            response.extend(std::iter::repeat_n(b'x', 10_000));
            serve_once(&listener, &response).await
        });
        let limits = ParserLimits::default().max_line_len(1000);
        let source = EventSource::with_config(&url, config().parser_limits(limits)).unwrap();
        let items = collect(source).await;
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(items[0].as_ref().unwrap(), &ev("ok", ""));
        let err = items[1].as_ref().unwrap_err();
        assert!(matches!(err, ClientError::Parse(_)));
        assert!(err.is_fatal());
        server.await.unwrap();
    })
    .await
    .unwrap();
}

/// A minimal event-stream server over a real `Hub`: answers each
/// connection with the response head and forwards a subscription that
/// resumes from the request's `Last-Event-ID`. Returns the ids received.
async fn hub_server(listener: TcpListener, hub: Hub, connections: usize) -> Vec<Option<String>> {
    let mut seen = Vec::new();
    for _ in 0..connections {
        let (mut s, _) = listener.accept().await.unwrap();
        let head = read_head(&mut s).await;
        let id = head
            .lines()
            .find_map(|l| l.strip_prefix("last-event-id: "))
            .map(str::to_owned);
        let sub = hub.subscribe(id.as_deref());
        seen.push(id);
        let (parts, ()) = oneport_sse::response_head().into_parts();
        let mut out = BytesMut::new();
        oneport_http1::encode_response_head(
            &parts,
            oneport_http1::BodyLength::None,
            oneport_http1::Persistence::Close,
            http::Version::HTTP_11,
            &mut out,
        );
        s.write_all(&out).await.unwrap();
        // Serve until the hub publishes the "bye" marker, then drop the
        // connection so the client has to reconnect.
        let mut buf = Vec::new();
        let mut batch = Vec::new();
        let mut sub = sub;
        'conn: while sub.next_batch(&mut batch).await.is_some() {
            for chunk in batch.drain(..) {
                buf.extend_from_slice(&chunk);
                if chunk.ends_with(b"data: bye\n\n") {
                    s.write_all(&buf).await.unwrap();
                    break 'conn;
                }
            }
            s.write_all(&buf).await.unwrap();
            buf.clear();
        }
    }
    seen
}

#[tokio::test]
async fn hub_to_client_resumes_exactly_after_the_last_id() {
    tokio::time::timeout(LIMIT, async {
        let (listener, url) = listen().await;
        let hub = Hub::new(HubConfig::default().retry(Some(Duration::from_millis(10))));
        let server = tokio::spawn(hub_server(listener, hub.clone(), 2));
        let mut source = EventSource::with_config(&url, config()).unwrap();

        hub.publish(Event::new("live only, before anyone"));
        hub.publish_with_id(Event::new("a"));
        assert_eq!(source.next_event().await.unwrap().unwrap(), ev("a", "1"));
        hub.publish_with_id(Event::new("b"));
        assert_eq!(source.next_event().await.unwrap().unwrap(), ev("b", "2"));
        // The server drops the connection after "bye"; these are published
        // while the client is away and must be replayed, and only these.
        hub.publish_with_id(Event::new("bye"));
        assert_eq!(source.next_event().await.unwrap().unwrap(), ev("bye", "3"));
        assert_eq!(source.last_event_id(), "3");
        hub.publish_with_id(Event::new("missed 1"));
        hub.publish_with_id(Event::new("missed 2"));
        assert_eq!(
            source.next_event().await.unwrap().unwrap(),
            ev("missed 1", "4")
        );
        assert_eq!(
            source.next_event().await.unwrap().unwrap(),
            ev("missed 2", "5")
        );
        hub.close();
        // The hub closed: the server ends the stream, the client tries to
        // reconnect and is refused.
        let seen = server.await.unwrap();
        assert_eq!(seen, [None, Some("3".to_owned())]);
        drop(source);
    })
    .await
    .unwrap();
}
