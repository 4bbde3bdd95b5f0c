//! One tracing span per connection, carrying the peer address and the
//! protocol the connection ends up speaking, with each request's line and
//! status logged inside it.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use oneport_dispatch::{Request, WebSocket, filter, sequencer, servlet, websocket};
use support::*;
use tokio::io::AsyncWriteExt;

/// Everything the subscriber writes, shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn each_connection_has_a_span_with_its_peer_and_protocol() {
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    tokio::time::timeout(TEST_TIMEOUT, async {
        let site = sequencer(vec![
            Box::new(filter(
                "^/ws$",
                websocket(|mut ws: WebSocket, _req| async move {
                    while let Some(Ok(m)) = ws.recv().await {
                        if m.is_data() && ws.send(m).await.is_err() {
                            break;
                        }
                    }
                }),
            )),
            Box::new(filter("^/page$", servlet(|_r: Request| "page"))),
        ]);
        let s = start(site).await;
        let r = exchange(
            s.addr,
            b"GET /page?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(status_of(&r), 200);
        let (mut ws, _) = oneport_rfc6455::connect(&format!("ws://{}/ws", s.addr))
            .await
            .expect("connect");
        ws.send(oneport_rfc6455::Message::text("hi")).await.unwrap();
        let _ = ws.recv().await;
        let local = ws.get_ref().tcp().local_addr().unwrap();
        ws.close(None).await.unwrap();
        let mut c = tokio::net::TcpStream::connect(s.addr).await.unwrap();
        c.write_all(b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let _ = read_all(&mut c).await;

        let lines = out.lines();
        let page = lines
            .iter()
            .find(|l| l.contains("path=/page"))
            .unwrap_or_else(|| panic!("no request line: {lines:#?}"));
        assert!(
            page.contains("conn{peer=127.0.0.1:") && page.contains("protocol=\"http/1.1\""),
            "{page}"
        );
        assert!(
            page.contains("method=GET") && page.contains("status=200"),
            "{page}"
        );
        let taken = lines
            .iter()
            .find(|l| l.contains("connection taken over"))
            .unwrap_or_else(|| panic!("no takeover line: {lines:#?}"));
        assert!(
            taken.contains(&format!("peer={local}")),
            "the WebSocket's own span: {taken}"
        );
        assert!(taken.contains("protocol=\"websocket\""), "{taken}");
        assert!(!taken.contains("http/1.1"), "named once: {taken}");
        assert!(
            taken.contains("path=/ws") && taken.contains("status=101"),
            "{taken}"
        );
        // The server's 404, inside its own connection's span.
        let missing = lines
            .iter()
            .find(|l| l.contains("not found"))
            .unwrap_or_else(|| panic!("no 404 line: {lines:#?}"));
        assert!(
            missing.contains("conn{peer=") && missing.contains("status=404"),
            "{missing}"
        );
    })
    .await
    .expect("test timed out");
}
