//! permessage-deflate through the server, over loopback: the handshake's
//! answer, compressed frames on the wire, the client's side, and a
//! broadcast whose compressed bytes every subscriber shares.

mod support;

use std::time::Duration;

use bytes::BytesMut;
use oneport_dispatch::topics::{TopicHub, TopicMessage};
use oneport_dispatch::{
    Compress, ContextTakeover, DeflateConfig, DeflateParams, Message, WebSocket, WsOptions, filter,
    sequencer, websocket,
};
use oneport_rfc6455::{Config, ConnectOptions, Connection, FrameHeader, RSV1, Role};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn run<F: std::future::Future<Output = ()>>(f: F) {
    tokio::time::timeout(TEST_TIMEOUT, f)
        .await
        .expect("test timed out");
}

fn eager() -> DeflateConfig {
    DeflateConfig {
        min_size: 0,
        ..DeflateConfig::default()
    }
}

async fn echo(mut ws: WebSocket, _req: http::request::Parts) {
    while let Some(Ok(msg)) = ws.recv().await {
        if msg.is_data() && ws.send(msg).await.is_err() {
            break;
        }
    }
}

fn upgrade(path: &str, extensions: Option<&str>) -> Vec<u8> {
    let mut raw = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    );
    if let Some(e) = extensions {
        raw.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
    }
    raw.push_str("\r\n");
    raw.into_bytes()
}

/// Reads one whole server frame (unmasked) off the socket: its header and
/// its payload.
async fn read_frame(s: &mut TcpStream, buf: &mut BytesMut) -> (FrameHeader, Vec<u8>) {
    loop {
        if let Some((h, n)) = FrameHeader::parse_with_rsv(buf, RSV1).unwrap() {
            let len = h.payload_len as usize;
            if buf.len() >= n + len {
                let frame = buf.split_to(n + len);
                return (h, frame[n..].to_vec());
            }
        }
        assert!(s.read_buf(buf).await.unwrap() > 0, "eof");
    }
}

/// The client side of what the server answered with `server_no_context_takeover`.
fn client_params() -> DeflateParams {
    DeflateParams {
        own_context: ContextTakeover::Keep,
        peer_context: ContextTakeover::Reset,
        own_window_bits: 15,
        peer_window_bits: 15,
    }
}

fn client_conn() -> Connection {
    let config = Config::default().deflate(Some(eager()));
    Connection::with_deflate(Role::Client, config, Some(client_params()))
}

#[tokio::test]
async fn the_server_answers_an_offer_and_echoes_compressed_frames() {
    run(async {
        let site = websocket(echo).options(WsOptions::default().deflate(eager()));
        let server = start(site).await;
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        let (head, mut buf) = handshake(
            &mut s,
            &upgrade("/", Some("permessage-deflate; client_max_window_bits")),
        )
        .await;
        assert_eq!(status_of(&head), 101, "{head}");
        assert_eq!(
            header_of(&head, "sec-websocket-extensions"),
            Some("permessage-deflate; server_no_context_takeover")
        );
        let mut client = client_conn();
        let text = "the quick brown fox jumps over the lazy dog. ".repeat(400);
        let mut wire = BytesMut::new();
        client
            .encode(&Message::text(text.clone()), &mut wire)
            .unwrap();
        assert_eq!(wire[0], 0xC1, "the client's frame is compressed");
        s.write_all(&wire).await.unwrap();

        let (h, payload) = read_frame(&mut s, &mut buf).await;
        assert_eq!(h.rsv, RSV1, "the echo is compressed");
        assert!(payload.len() < text.len() / 10, "{} bytes", payload.len());
        // Re-frame it for the client engine to inflate.
        let mut frame = BytesMut::new();
        h.encode(&mut frame);
        frame.extend_from_slice(&payload);
        assert_eq!(
            client.receive(&mut frame).unwrap(),
            Some(Message::text(text))
        );

        // Control frames stay plain: a ping is answered by a plain pong.
        let mut ping = BytesMut::new();
        client
            .encode(&Message::Ping(b"hi"[..].into()), &mut ping)
            .unwrap();
        s.write_all(&ping).await.unwrap();
        let (h, payload) = read_frame(&mut s, &mut buf).await;
        assert_eq!(
            (h.rsv, h.opcode, &payload[..]),
            (0, oneport_rfc6455::OpCode::Pong, &b"hi"[..])
        );
        server.stop.shutdown();
    })
    .await;
}

#[tokio::test]
async fn without_the_setting_an_offer_gets_no_answer() {
    run(async {
        let server = start(websocket(echo)).await;
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        let (head, _) = handshake(&mut s, &upgrade("/", Some("permessage-deflate"))).await;
        assert_eq!(status_of(&head), 101);
        assert_eq!(header_of(&head, "sec-websocket-extensions"), None);
        server.stop.shutdown();
    })
    .await;
}

#[tokio::test]
async fn the_client_negotiates_and_echoes_a_mebibyte_both_ways() {
    run(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let handler = move |mut ws: WebSocket, _req| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(ws.compression());
                while let Some(Ok(msg)) = ws.recv().await {
                    // Echo compressed, then the same again opted out.
                    if !msg.is_data()
                        || ws.send(msg.clone()).await.is_err()
                        || ws.send_with(msg, Compress::Never).await.is_err()
                    {
                        break;
                    }
                }
            }
        };
        let site = sequencer(vec![Box::new(filter(
            "^/ws$",
            websocket(handler).options(WsOptions::default().deflate(DeflateConfig::default())),
        ))]);
        let server = start(site).await;
        let url = format!("ws://{}/ws", server.addr);
        let opts = ConnectOptions::default()
            .config(Config::default().deflate(Some(DeflateConfig::default())));
        let (mut ws, res) = oneport_rfc6455::connect_with(&url, opts).await.unwrap();
        assert!(res.headers().contains_key("sec-websocket-extensions"));
        let agreed = ws.deflate().copied().expect("the client agreed");
        let server_side = rx.recv().await.unwrap().expect("the server agreed");
        assert_eq!(agreed.own_context, server_side.peer_context);
        assert_eq!(agreed.peer_context, server_side.own_context);
        assert_eq!(server_side.own_context, ContextTakeover::Reset);

        let big: String = (0..(1 << 20))
            .map(|i| char::from(b'a' + (i % 23) as u8))
            .collect();
        for _ in 0..2 {
            ws.send(Message::text(big.clone())).await.unwrap();
            for _ in 0..2 {
                let got = ws.recv().await.unwrap().unwrap();
                assert_eq!(got.as_text().map(str::len), Some(big.len()));
                assert_eq!(got, Message::text(big.clone()));
            }
        }
        ws.close(None).await.unwrap();
        server.stop.shutdown();
    })
    .await;
}

#[tokio::test]
async fn a_broadcast_reaches_every_subscriber_as_the_same_compressed_bytes() {
    run(async {
        let hub = TopicHub::default();
        let (joined_tx, mut joined) = tokio::sync::mpsc::unbounded_channel();
        let sub_hub = hub.clone();
        let handler = move |ws: WebSocket, _req| {
            let hub = sub_hub.clone();
            let joined_tx = joined_tx.clone();
            async move {
                let (mut rx, mut tx) = ws.split();
                let mut sub = hub.ws_subscriber();
                sub.join("news").await;
                let _ = joined_tx.send(());
                tokio::select! {
                    _ = sub.forward(&mut tx) => {}
                    _ = rx.recv() => {}
                }
            }
        };
        let server = start(websocket(handler).options(WsOptions::default().deflate(eager()))).await;
        let mut clients = Vec::new();
        for _ in 0..3 {
            let mut s = TcpStream::connect(server.addr).await.unwrap();
            let (head, buf) = handshake(&mut s, &upgrade("/", Some("permessage-deflate"))).await;
            assert_eq!(status_of(&head), 101);
            joined.recv().await.unwrap();
            clients.push((s, buf));
        }
        let text = "{\"price\": 101.5, \"symbol\": \"ACME\"} ".repeat(300);
        hub.publish("news", TopicMessage::text(text.clone()))
            .unwrap();
        let mut frames = Vec::new();
        for (s, buf) in &mut clients {
            let (h, payload) = tokio::time::timeout(Duration::from_secs(5), read_frame(s, buf))
                .await
                .unwrap();
            assert_eq!(h.rsv, RSV1);
            frames.push(payload);
        }
        assert!(frames.windows(2).all(|w| w[0] == w[1]), "the same bytes");
        assert!(frames[0].len() < text.len() / 10);
        let mut c = client_conn();
        let h = FrameHeader {
            fin: true,
            rsv: RSV1,
            opcode: oneport_rfc6455::OpCode::Text,
            mask: None,
            payload_len: frames[0].len() as u64,
        };
        let mut frame = BytesMut::new();
        h.encode(&mut frame);
        frame.extend_from_slice(&frames[0]);
        assert_eq!(c.receive(&mut frame).unwrap(), Some(Message::text(text)));
        server.stop.shutdown();
    })
    .await;
}
