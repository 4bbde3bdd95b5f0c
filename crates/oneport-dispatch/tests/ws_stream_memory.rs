//! A handler takes a 1 GiB WebSocket message with `recv_stream`, then sends
//! one of 1 GiB with `send_stream`, while the whole process's heap stays a
//! few MiB: neither message is ever held.
//! Counted by a global allocator (server and client, one thread), so it
//! runs without the test harness.

use bytes::BytesMut;
use futures_util::StreamExt;
use oneport_dispatch::{Message, Server, WebSocket, websocket};
use oneport_rfc6455::{Config, Connection, Fin, OpCode, Role};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const FRAME: usize = 1 << 20;
const FRAMES: usize = 1024; // 1 GiB
/// The most the heap may hold at its peak: far below the message.
const MAX_PEAK: usize = 32 << 20;

async fn count(mut ws: WebSocket, _req: http::request::Parts) {
    let mut stream = ws
        .recv_stream_with(None)
        .await
        .expect("a message")
        .expect("it starts");
    let mut n = 0u64;
    while let Some(chunk) = stream.chunk().await {
        n += chunk.expect("the message arrives").len() as u64;
    }
    drop(stream);
    let _ = ws.send_text(n.to_string()).await;
    // And as much back, produced as it goes.
    let chunks = futures_util::stream::iter(0..FRAMES * 16)
        .map(|i| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![(i % 251) as u8; FRAME / 16])));
    ws.send_stream(oneport_dispatch::MessageKind::Binary, chunks, 256 * 1024)
        .await
        .expect("sent");
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let answer = rt.block_on(async {
        let server = Server::builder().bind("127.0.0.1:0").await.expect("bind");
        let addr = server.local_addr();
        let stop = server.shutdown_handle();
        let task = tokio::spawn(server.serve(websocket(count)));
        let mut io = tokio::net::TcpStream::connect(addr).await.expect("connect");
        io.write_all(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .expect("write");
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut b = [0u8; 1];
            io.read_exact(&mut b).await.expect("the 101");
            head.push(b[0]);
        }
        // One masked frame of each kind, encoded once and sent again and
        // again: the client's cost stays out of the way.
        let mut conn = Connection::new(Role::Client, Config::default());
        let payload = vec![7u8; FRAME];
        let mut first = BytesMut::new();
        conn.encode_frame(OpCode::Binary, Fin::More, &payload, &mut first)
            .expect("encode");
        let mut middle = BytesMut::new();
        conn.encode_frame(OpCode::Continuation, Fin::More, &payload, &mut middle)
            .expect("encode");
        let mut last = BytesMut::new();
        conn.encode_frame(OpCode::Continuation, Fin::Final, &payload, &mut last)
            .expect("encode");
        drop(payload);
        io.write_all(&first).await.expect("write");
        for _ in 1..FRAMES - 1 {
            io.write_all(&middle).await.expect("write");
        }
        io.write_all(&last).await.expect("write");
        let mut buf = BytesMut::new();
        let reply = loop {
            if let Some(m) = conn.receive(&mut buf).expect("valid") {
                break m;
            }
            assert!(
                io.read_buf(&mut buf).await.expect("read") > 0,
                "closed early"
            );
        };
        // The message back, counted in parts as it comes.
        let mut back = 0u64;
        loop {
            match conn.receive_part(&mut buf, None).expect("valid") {
                Some(oneport_rfc6455::Part::Data { data, fin, .. }) => {
                    back += data.len() as u64;
                    if fin {
                        break;
                    }
                }
                Some(_) => {}
                None => {
                    assert!(
                        io.read_buf(&mut buf).await.expect("read") > 0,
                        "closed early"
                    );
                }
            }
        }
        assert_eq!(back, (FRAME * FRAMES) as u64, "every byte came back");
        stop.shutdown();
        let _ = task.await;
        reply
    });
    let stats = dhat::HeapStats::get();
    let want = ((FRAME * FRAMES) as u64).to_string();
    assert_eq!(
        answer,
        Message::text(want),
        "the handler counted every byte"
    );
    assert!(
        stats.max_bytes < MAX_PEAK,
        "heap peak {} B for 1 GiB each way (limit {MAX_PEAK})",
        stats.max_bytes
    );
    println!(
        "ws_stream_memory: 1 GiB received and 1 GiB sent as streams, heap peak {} KiB",
        stats.max_bytes / 1024
    );
    println!("1 passed, 0 failed");
}
