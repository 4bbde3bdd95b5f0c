//! A hybi-00 frame that never ends costs the server at most the frame
//! limit: the connection is closed as the bytes pass it, and the server's
//! memory does not grow by what the client sends. Alone in its test binary,
//! so that the process's resident memory is this test's.

mod support;

use std::time::Duration;

use oneport_dispatch::{WebSocket, filter, websocket};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc/self/status")
}

#[tokio::test]
async fn an_unterminated_hybi00_frame_is_closed_at_the_limit_without_the_memory() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let handler_saw = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
        let saw = handler_saw.clone();
        let s = start(filter(
            "^/ws$",
            websocket(move |mut ws: WebSocket, _req| {
                let saw = saw.clone();
                async move {
                    if let Some(Err(e)) = ws.recv().await {
                        *saw.lock().expect("lock") = Some(e.to_string());
                    }
                }
            }),
        ))
        .await;
        // Everything the client will send, allocated before the baseline.
        let chunk = vec![b'a'; 64 * 1024];
        let total = 10 * 1024 * 1024;
        let before = rss_kib();

        let mut io = TcpStream::connect(s.addr).await.expect("connect");
        io.write_all(
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key1: 18x 6]8vM;54 *(5:  {   U1]8  z [  8\r\n\
              Sec-WebSocket-Key2: 1_ tx7X d  <  nw  334J702) 7]o}` 0\r\n\r\nTm[K T2u\x00",
        )
        .await
        .expect("upgrade");
        let (mut rd, mut wr) = io.into_split();
        let writer = tokio::spawn(async move {
            let mut sent = 0;
            while sent < total {
                if wr.write_all(&chunk).await.is_err() {
                    break;
                }
                sent += chunk.len();
            }
            sent
        });
        // The server answers, then closes: its closing frame, then the end.
        let mut got = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), rd.read_to_end(&mut got))
            .await
            .expect("the connection is closed")
            .ok();
        let _sent = writer.await.expect("writer");
        let grown = rss_kib().saturating_sub(before);

        assert!(
            got.ends_with(b"\xFF\x00"),
            "the closing frame last: {:?}",
            &got[got.len().saturating_sub(4)..]
        );
        let saw = handler_saw.lock().expect("lock").clone();
        assert!(
            saw.as_deref()
                .is_some_and(|e| e.contains("exceeds the limit")),
            "the handler learns why: {saw:?}"
        );
        // The default frame limit is 1 MiB; 10 MiB were offered.
        assert!(grown < 4 * 1024, "the server grew by {grown} KiB");
    })
    .await
    .expect("test timed out");
}
