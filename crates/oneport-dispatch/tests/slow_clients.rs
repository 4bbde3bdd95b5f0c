//! Clients that never read, and frames that never end, over loopback: each
//! is let go within its configured timeout while other clients are served
//! as usual. Every test is bounded in time.

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use oneport_dispatch::{Message, WebSocket, WsOptions, filter, sequencer, sse, websocket};
use oneport_sse::{Event, Hub, HubConfig};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn run<F: std::future::Future<Output = ()>>(f: F) {
    tokio::time::timeout(TEST_TIMEOUT, f)
        .await
        .expect("test timed out");
}

const RFC6455_UPGRADE: &[u8] = b"GET /flood HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// The draft's example keys and their third key.
fn hybi00_upgrade() -> Vec<u8> {
    let mut raw = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key1: 18x 6]8vM;54 *(5:  {   U1]8  z [  8\r\n\
        Sec-WebSocket-Key2: 1_ tx7X d  <  nw  334J702) 7]o}` 0\r\n\r\n"
        .to_vec();
    raw.extend_from_slice(b"Tm[K T2u");
    raw
}

async fn echo(mut ws: WebSocket, _req: http::request::Parts) {
    while let Some(Ok(msg)) = ws.recv().await {
        if msg.is_data() && ws.send(msg).await.is_err() {
            break;
        }
    }
}

/// What the flooding handler saw: how many messages went out before a send
/// failed, how long it took, and whether the failure was the timeout.
type FloodReport = (usize, Duration, bool);

#[tokio::test]
async fn a_websocket_client_that_never_reads_is_dropped_within_the_write_timeout() {
    run(async {
        let write_timeout = Duration::from_millis(500);
        let (tx, rx) = tokio::sync::oneshot::channel::<FloodReport>();
        let tx = std::sync::Mutex::new(Some(tx));
        let options = WsOptions::default().rfc6455(
            oneport_rfc6455::Config::default()
                .max_write_buffer_size(64 * 1024)
                .write_timeout(write_timeout),
        );
        let flood = websocket(move |mut ws: WebSocket, _req| {
            let tx = tx.lock().ok().and_then(|mut t| t.take());
            async move {
                // One shared payload: the flood itself allocates nothing.
                let payload = Message::Binary(Bytes::from(vec![7u8; 64 * 1024]));
                let started = Instant::now();
                let mut sent = 0;
                let timed_out = loop {
                    match ws.send(payload.clone()).await {
                        Ok(()) => sent += 1,
                        Err(e) => break e.is_timeout(),
                    }
                    if sent > 4096 {
                        break false;
                    }
                };
                if let Some(tx) = tx {
                    let _ = tx.send((sent, started.elapsed(), timed_out));
                }
            }
        })
        .options(options);
        let s = start(sequencer(vec![
            Box::new(filter("^/flood$", flood)),
            Box::new(filter("^/ws$", websocket(echo))),
        ]))
        .await;

        // The client asks to be flooded and never reads.
        let mut stuck = TcpStream::connect(s.addr).await.expect("connect");
        stuck.write_all(RFC6455_UPGRADE).await.expect("upgrade");

        // Meanwhile another client is served as usual.
        let (mut ok, _) = oneport_rfc6455::connect(&format!("ws://{}/ws", s.addr))
            .await
            .expect("connect");
        for i in 0..20 {
            ok.send(Message::Text(format!("m{i}").into()))
                .await
                .expect("send");
            assert_eq!(
                ok.recv().await.expect("open").expect("echo"),
                Message::Text(format!("m{i}").into())
            );
        }

        let (sent, took, timed_out) = rx.await.expect("the flood ended");
        assert!(timed_out, "the send failed with the write timeout");
        // What the server took before giving up is the kernel's buffers
        // plus one write queue, not what the handler tried to send.
        assert!(sent < 512, "{sent} messages of 64 KiB went out");
        assert!(
            took < write_timeout * 10,
            "let go after {took:?}, with a write timeout of {write_timeout:?}"
        );
        // And the well-behaved client is still served.
        ok.send(Message::Text("after".into())).await.expect("send");
        assert_eq!(
            ok.recv().await.expect("open").expect("echo"),
            Message::Text("after".into())
        );
        drop(stuck);
    })
    .await;
}

#[tokio::test]
async fn an_sse_subscriber_that_never_reads_is_dropped_and_disconnected() {
    run(async {
        // A small queue: the hub drops the subscriber once it is full.
        let hub = Hub::new(
            HubConfig::default()
                .keep_alive(None)
                .subscriber_queue(8)
                .write_timeout(Duration::from_secs(3600)),
        );
        let s = start(filter("^/events$", sse(hub.clone()))).await;
        let mut stuck = TcpStream::connect(s.addr).await.expect("connect");
        let (head, _) = handshake(&mut stuck, b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert_eq!(status_of(&head), 200, "{head}");
        // A subscriber that reads everything, as fast as it comes.
        let mut good = TcpStream::connect(s.addr).await.expect("connect");
        handshake(&mut good, b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let (seen_tx, mut seen) = tokio::sync::watch::channel(0usize);
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            let mut total = 0;
            loop {
                match good.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        total += n;
                        let _ = seen_tx.send(total);
                    }
                }
            }
        });
        while hub.subscriber_count() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }

        let big = "x".repeat(64 * 1024);
        let started = Instant::now();
        let mut published = 0;
        while hub.subscriber_count() > 1 {
            hub.publish(Event::new(big.as_str()));
            published += 1;
            // The good subscriber keeps up: wait until it has this event.
            let want = published * (big.len() + 8);
            seen.wait_for(|&n| n >= want)
                .await
                .expect("the good reader runs");
            assert!(published < 4000, "never dropped");
        }
        // Dropped when its queue filled, not at the hour-long write timeout,
        // and its connection is closed: what is buffered, then the end.
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stuck.read_to_end(&mut rest))
            .await
            .expect("the stalled connection is closed")
            .expect("read");
        assert!(started.elapsed() < Duration::from_secs(10));
        // The good subscriber is still served.
        let before = *seen.borrow();
        hub.publish(Event::new("still here"));
        seen.wait_for(|&n| n > before).await.expect("still served");
        reader.abort();
    })
    .await;
}

#[tokio::test]
async fn an_sse_subscriber_that_stays_unwritable_past_the_write_timeout_is_disconnected() {
    run(async {
        // A queue large enough never to fill: only the write timeout acts.
        let write_timeout = Duration::from_millis(500);
        let hub = Hub::new(
            HubConfig::default()
                .keep_alive(None)
                .subscriber_queue(100_000)
                .write_timeout(write_timeout),
        );
        let s = start(filter("^/events$", sse(hub.clone()))).await;
        let mut stuck = TcpStream::connect(s.addr).await.expect("connect");
        handshake(&mut stuck, b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n").await;
        while hub.subscriber_count() < 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Fill the kernel's buffers, then stop publishing.
        let big = Event::new("y".repeat(64 * 1024));
        for _ in 0..400 {
            hub.publish(big.clone());
        }
        let started = Instant::now();
        while hub.subscriber_count() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert!(started.elapsed() < write_timeout * 10, "never dropped");
        }
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stuck.read_to_end(&mut rest))
            .await
            .expect("the unwritable connection is closed")
            .expect("read");
    })
    .await;
}

#[tokio::test]
async fn a_silent_hybi00_client_is_closed_by_the_idle_timeout() {
    run(async {
        let idle = Duration::from_millis(300);
        let options =
            WsOptions::default().hybi00(oneport_hybi00::Config::default().idle_timeout(Some(idle)));
        let s = start(filter("^/ws$", websocket(echo).options(options))).await;
        let mut io = TcpStream::connect(s.addr).await.expect("connect");
        let (head, mut rest) = handshake(&mut io, &hybi00_upgrade()).await;
        assert!(head.contains(" 101 "), "{head}");
        let started = Instant::now();
        let mut tail = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), io.read_to_end(&mut tail))
            .await
            .expect("closed by the idle timeout")
            .expect("read");
        let waited = started.elapsed();
        rest.extend_from_slice(&tail);
        // The 16 answer bytes, then the closing frame, then the end.
        assert_eq!(&rest[16..], b"\xFF\x00", "{rest:?}");
        assert!(
            waited >= idle && waited < idle * 10,
            "closed after {waited:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_hybi00_frame_that_never_ends_is_closed_by_the_frame_timeout() {
    run(async {
        let frame_timeout = Duration::from_millis(300);
        let options = WsOptions::default()
            .hybi00(oneport_hybi00::Config::default().frame_timeout(frame_timeout));
        let s = start(filter("^/ws$", websocket(echo).options(options))).await;
        let mut io = TcpStream::connect(s.addr).await.expect("connect");
        let mut raw = hybi00_upgrade();
        raw.extend_from_slice(b"\x00a frame that trickles");
        let (head, _) = handshake(&mut io, &raw).await;
        assert!(head.contains(" 101 "), "{head}");
        let started = Instant::now();
        // A byte now and then keeps the connection from idling, but the
        // frame never ends.
        let mut closed = false;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if io.write_all(b"z").await.is_err() {
                closed = true;
                break;
            }
            let mut b = [0u8; 64];
            if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(1), io.read(&mut b)).await
            {
                closed = true;
                break;
            }
        }
        assert!(closed, "the connection stayed open");
        assert!(started.elapsed() < frame_timeout * 10);
    })
    .await;
}

/// What a silent RFC 6455 client receives until the server closes, and
/// when each frame came: (frame's first bytes, time since the handshake).
async fn frames_until_closed(io: &mut TcpStream) -> Vec<(Vec<u8>, Duration)> {
    let started = Instant::now();
    let mut frames = Vec::new();
    loop {
        let mut buf = [0u8; 256];
        let n = tokio::time::timeout(Duration::from_secs(10), io.read(&mut buf))
            .await
            .expect("closed by the server")
            .expect("read");
        if n == 0 {
            return frames;
        }
        frames.push((buf[..n].to_vec(), started.elapsed()));
    }
}

/// The server's idle clock keeps an RFC 6455 socket's keepalive ping and
/// idle timeout when it is fine enough for them (here a 100 ms tick for a
/// 1 s ping and a 2 s idle timeout): each runs on time, at most a tick
/// and a bit late, never early.
#[tokio::test]
async fn a_silent_client_is_pinged_then_closed_on_the_servers_clock() {
    run(async {
        let (ping, idle) = (Duration::from_secs(1), Duration::from_secs(2));
        let options = WsOptions::default().rfc6455(
            oneport_rfc6455::Config::default()
                .ping_interval(Some(ping))
                .idle_timeout(Some(idle)),
        );
        let mut b = oneport_dispatch::Builder::new();
        // An eighth of 800 ms: a 100 ms tick.
        b.keep_alive_timeout(Duration::from_millis(800))
            .header_read_timeout(Duration::from_millis(800));
        let s = start_with(b, filter("^/flood$", websocket(echo).options(options))).await;
        let mut io = TcpStream::connect(s.addr).await.expect("connect");
        let (head, rest) = handshake(&mut io, RFC6455_UPGRADE).await;
        assert!(head.contains(" 101 "), "{head}");
        assert!(rest.is_empty());
        let frames = frames_until_closed(&mut io).await;
        let slack = Duration::from_millis(400);
        let (first, at) = &frames[0];
        assert_eq!(&first[..2], b"\x89\x00", "a ping first: {frames:?}");
        assert!(*at >= ping && *at < ping + slack, "pinged after {at:?}");
        let (last, at) = frames.last().expect("frames");
        let close = last
            .windows(4)
            .position(|w| w[0] == 0x88 && w[2..] == [0x03, 0xE9])
            .is_some();
        assert!(close, "a Close 1001 last: {frames:?}");
        assert!(*at >= idle && *at < idle + slack, "closed after {at:?}");
    })
    .await;
}

/// A clock too coarse for the socket's timers (the default 1 s tick for a
/// 300 ms idle timeout) leaves them to the socket's own timer, on time.
#[tokio::test]
async fn a_short_idle_timeout_keeps_its_own_timer() {
    run(async {
        let idle = Duration::from_millis(300);
        let options = WsOptions::default()
            .rfc6455(oneport_rfc6455::Config::default().idle_timeout(Some(idle)));
        let s = start(filter("^/flood$", websocket(echo).options(options))).await;
        let mut io = TcpStream::connect(s.addr).await.expect("connect");
        let (head, _) = handshake(&mut io, RFC6455_UPGRADE).await;
        assert!(head.contains(" 101 "), "{head}");
        let frames = frames_until_closed(&mut io).await;
        let (last, at) = frames.last().expect("a Close");
        assert_eq!(&last[..1], b"\x88", "{frames:?}");
        assert!(
            *at >= idle && *at < Duration::from_millis(800),
            "closed after {at:?}, not on the server's 1 s clock"
        );
    })
    .await;
}
