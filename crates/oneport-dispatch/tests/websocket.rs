//! WebSocket dispatchers over loopback: one handler for RFC 6455 and
//! hybi-00, origin policy, version negotiation, the service mapper and
//! shutdown.

mod support;

use std::time::Duration;

use oneport_dispatch::{
    CloseCode, Message, OriginPolicy, Request, ServiceMapper, Subprotocol, WebSocket, WsOptions,
    WsVersion, filter, sequencer, servlet, websocket,
};
use support::*;

async fn run<F: std::future::Future<Output = ()>>(f: F) {
    tokio::time::timeout(TEST_TIMEOUT, f)
        .await
        .expect("test timed out");
}

async fn echo(mut ws: WebSocket, _req: http::request::Parts) {
    while let Some(Ok(msg)) = ws.recv().await {
        if msg.is_data() && ws.send(msg).await.is_err() {
            break;
        }
    }
}

/// Tags each echo with the protocol version, to prove one handler saw both.
async fn tagged_echo(mut ws: WebSocket, _req: http::request::Parts) {
    let tag = match ws.version() {
        WsVersion::Rfc6455 => "rfc6455",
        WsVersion::Hybi00 => "hybi00",
        _ => "other",
    };
    while let Some(Ok(msg)) = ws.recv().await {
        if let Message::Text(t) = msg {
            if ws.send_text(format!("{tag}:{}", t.as_str())).await.is_err() {
                break;
            }
        }
    }
}

fn site() -> oneport_dispatch::Sequencer {
    sequencer(vec![
        Box::new(filter("^/ws$", websocket(tagged_echo))),
        Box::new(filter("^/echo$", websocket(echo))),
        Box::new(servlet(|_r: Request| "page")),
    ])
}

#[tokio::test]
async fn one_handler_serves_rfc6455_and_hybi00_at_once() {
    run(async {
        let s = start(site()).await;
        let url = format!("ws://{}/ws", s.addr);
        let (mut modern, _) = oneport_rfc6455::connect(&url)
            .await
            .expect("rfc6455 connect");
        let mut legacy = oneport_hybi00::connect(&url).await.expect("hybi00 connect");
        for i in 0..5 {
            modern
                .send(Message::Text(format!("m{i}").into()))
                .await
                .expect("send");
            legacy.send_text(&format!("l{i}")).await.expect("send");
            match modern.recv().await {
                Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), format!("rfc6455:m{i}")),
                other => panic!("unexpected {other:?}"),
            }
            let got = legacy.recv().await.expect("open").expect("text");
            assert_eq!(got, Message::Text(format!("hybi00:l{i}").into()));
        }
        // Plain HTTP still works on the same port.
        let r = exchange(
            s.addr,
            b"GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(body_of(&r), "page");
        modern.close(None).await.expect("close");
        legacy.close().await.expect("close");
    })
    .await;
}

#[tokio::test]
async fn rfc6455_echo_carries_binary_and_answers_ping() {
    run(async {
        let s = start(site()).await;
        let (mut ws, _) = oneport_rfc6455::connect(&format!("ws://{}/echo", s.addr))
            .await
            .expect("connect");
        ws.send(Message::Binary(vec![0u8, 1, 2, 255].into()))
            .await
            .expect("send");
        match ws.recv().await {
            Some(Ok(Message::Binary(b))) => assert_eq!(&b[..], &[0, 1, 2, 255]),
            other => panic!("unexpected {other:?}"),
        }
        ws.send(Message::Ping(bytes::Bytes::from_static(b"hb")))
            .await
            .expect("ping");
        match ws.recv().await {
            Some(Ok(Message::Pong(p))) => assert_eq!(&p[..], b"hb"),
            other => panic!("expected the pong, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn hybi00_cannot_send_binary_and_says_so() {
    run(async {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let tx = std::sync::Mutex::new(Some(tx));
        let d = websocket(move |mut ws: WebSocket, _req| {
            let tx = tx.lock().ok().and_then(|mut t| t.take());
            async move {
                let bin = ws.send(Message::Binary(vec![1u8].into())).await;
                let ping = ws.send(Message::Ping(bytes::Bytes::new())).await;
                let pong = ws.send(Message::Pong(bytes::Bytes::new())).await;
                if let Some(tx) = tx {
                    let _ = tx.send((
                        bin.map_err(|e| e.is_unsupported()),
                        ping.map_err(|e| e.is_unsupported()),
                        pong.is_ok(),
                        ws.supports_binary(),
                    ));
                }
                let _ = ws.send_text("still open").await;
            }
        });
        let s = start(d).await;
        let mut legacy = oneport_hybi00::connect(&format!("ws://{}/", s.addr))
            .await
            .expect("connect");
        let (bin, ping, pong_ok, supports) = rx.await.expect("result");
        assert_eq!(bin, Err(true));
        assert_eq!(ping, Err(true));
        assert!(pong_ok, "a pong is a no-op");
        assert!(!supports);
        let got = legacy.recv().await.expect("open").expect("text");
        assert_eq!(got, Message::Text("still open".into()));
    })
    .await;
}

fn upgrade_request(extra: &str) -> String {
    format!(
        "GET /echo HTTP/1.1\r\nHost: example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
    )
}

#[tokio::test]
async fn handshake_answers() {
    run(async {
        let s = start(site()).await;
        // Accepted, with the RFC's own accept value.
        let mut c = tokio::net::TcpStream::connect(s.addr).await.expect("connect");
        tokio::io::AsyncWriteExt::write_all(&mut c, upgrade_request("Sec-WebSocket-Version: 13\r\n").as_bytes())
            .await
            .expect("write");
        let mut buf = vec![0u8; 1024];
        let n = tokio::io::AsyncReadExt::read(&mut c, &mut buf).await.expect("read");
        let r = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert_eq!(status_of(&r), 101, "{r}");
        assert_eq!(header_of(&r, "sec-websocket-accept"), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));

        // Wrong version: 426 naming the one we speak.
        let r = exchange(s.addr, upgrade_request("Sec-WebSocket-Version: 8\r\n").as_bytes()).await;
        assert_eq!(status_of(&r), 426, "{r}");
        assert_eq!(header_of(&r, "sec-websocket-version"), Some("13"));
        // A refused upgrade ends the connection rather than staying in HTTP.
        assert_eq!(header_of(&r, "connection"), Some("close"));
        let mut c = tokio::net::TcpStream::connect(s.addr).await.expect("connect");
        tokio::io::AsyncWriteExt::write_all(&mut c, upgrade_request("Sec-WebSocket-Version: 8\r\n").as_bytes())
            .await
            .expect("write");
        let mut all = Vec::new();
        let eof = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            tokio::io::AsyncReadExt::read_to_end(&mut c, &mut all),
        )
        .await;
        assert!(matches!(eof, Ok(Ok(_))), "the server kept the connection open");
        assert_eq!(status_of(&String::from_utf8_lossy(&all)), 426);

        // A bad key: 400.
        let bad = "GET /echo HTTP/1.1\r\nHost: example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n";
        let r = exchange(s.addr, bad.as_bytes()).await;
        assert_eq!(status_of(&r), 400, "{r}");

        // A foreign browser origin: 403 (Cross-Site WebSocket Hijacking).
        let r = exchange(
            s.addr,
            upgrade_request("Sec-WebSocket-Version: 13\r\nOrigin: https://evil.test\r\n").as_bytes(),
        )
        .await;
        assert_eq!(status_of(&r), 403, "{r}");

        // The page's own origin passes.
        let mut c = tokio::net::TcpStream::connect(s.addr).await.expect("connect");
        tokio::io::AsyncWriteExt::write_all(
            &mut c,
            upgrade_request("Sec-WebSocket-Version: 13\r\nOrigin: http://example.test\r\n").as_bytes(),
        )
        .await
        .expect("write");
        let n = tokio::io::AsyncReadExt::read(&mut c, &mut buf).await.expect("read");
        assert_eq!(status_of(&String::from_utf8_lossy(&buf[..n])), 101);
    })
    .await;
}

#[tokio::test]
async fn origin_allowlist_and_any() {
    run(async {
        let allow =
            websocket(echo).origin(OriginPolicy::AllowList(vec!["https://app.test".into()]));
        let s = start(allow).await;
        let ok = upgrade_request("Sec-WebSocket-Version: 13\r\nOrigin: https://app.test\r\n");
        let mut c = tokio::net::TcpStream::connect(s.addr)
            .await
            .expect("connect");
        tokio::io::AsyncWriteExt::write_all(&mut c, ok.as_bytes())
            .await
            .expect("write");
        let mut buf = vec![0u8; 512];
        let n = tokio::io::AsyncReadExt::read(&mut c, &mut buf)
            .await
            .expect("read");
        assert_eq!(status_of(&String::from_utf8_lossy(&buf[..n])), 101);
        // The request's own host is not enough once a list is given.
        let r = exchange(
            s.addr,
            upgrade_request("Sec-WebSocket-Version: 13\r\nOrigin: http://example.test\r\n")
                .as_bytes(),
        )
        .await;
        assert_eq!(status_of(&r), 403);

        let any = websocket(echo).origin(OriginPolicy::Any);
        let s = start(any).await;
        let mut c = tokio::net::TcpStream::connect(s.addr)
            .await
            .expect("connect");
        let req = upgrade_request("Sec-WebSocket-Version: 13\r\nOrigin: https://evil.test\r\n");
        tokio::io::AsyncWriteExt::write_all(&mut c, req.as_bytes())
            .await
            .expect("write");
        let n = tokio::io::AsyncReadExt::read(&mut c, &mut buf)
            .await
            .expect("read");
        assert_eq!(status_of(&String::from_utf8_lossy(&buf[..n])), 101);
    })
    .await;
}

fn mapper() -> ServiceMapper {
    ServiceMapper::new()
        .route(
            "/chat",
            Subprotocol::Named("chat.v2".into()),
            |mut ws: WebSocket, _r| async move {
                let _ = ws.send_text("v2").await;
                while ws.recv().await.is_some() {}
            },
        )
        .route(
            "/chat",
            Subprotocol::Named("chat.v1".into()),
            |mut ws: WebSocket, _r| async move {
                let _ = ws.send_text("v1").await;
                while ws.recv().await.is_some() {}
            },
        )
        .route(
            "/chat",
            Subprotocol::None,
            |mut ws: WebSocket, _r| async move {
                let _ = ws.send_text("none").await;
                while ws.recv().await.is_some() {}
            },
        )
        .route(
            "/strict/[0-9]+",
            Subprotocol::Named("only".into()),
            |mut ws: WebSocket, _r| async move {
                let _ = ws.send_text("only").await;
                while ws.recv().await.is_some() {}
            },
        )
}

async fn first_text(url: &str, protocols: &[&str]) -> Result<(String, Option<String>), String> {
    let opts = oneport_rfc6455::ConnectOptions::default()
        .protocols(protocols.iter().map(|p| p.to_string()));
    let (mut ws, res) = oneport_rfc6455::connect_with(url, opts)
        .await
        .map_err(|e| e.to_string())?;
    let proto = res
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match ws.recv().await {
        Some(Ok(Message::Text(t))) => Ok((t.as_str().to_owned(), proto)),
        other => Err(format!("{other:?}")),
    }
}

#[tokio::test]
async fn service_mapper_routes_by_path_and_subprotocol() {
    run(async {
        let s = start(sequencer(vec![
            Box::new(mapper()),
            Box::new(servlet(|_r: Request| "fallthrough")),
        ]))
        .await;
        let chat = format!("ws://{}/chat", s.addr);
        // The client's order decides among the route's protocols.
        assert_eq!(first_text(&chat, &["chat.v1", "chat.v2"]).await, Ok(("v1".into(), Some("chat.v1".into()))));
        assert_eq!(first_text(&chat, &["x", "chat.v2"]).await, Ok(("v2".into(), Some("chat.v2".into()))));
        // No header: the "no subprotocol" arm.
        assert_eq!(first_text(&chat, &[]).await, Ok(("none".into(), None)));
        // Offered protocols none of which is served: a clear 400, not the None arm.
        let raw = "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: nope\r\n\r\n";
        let r = exchange(s.addr, raw.as_bytes()).await;
        assert_eq!(status_of(&r), 400);
        assert!(body_of(&r).contains("chat.v1"), "{r}");
        // A route without a None arm refuses a client that offers nothing.
        let raw = "GET /strict/7 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        assert_eq!(status_of(&exchange(s.addr, raw.as_bytes()).await), 400);
        assert_eq!(
            first_text(&format!("ws://{}/strict/7", s.addr), &["only"]).await,
            Ok(("only".into(), Some("only".into())))
        );
        // The path must match whole; other paths fall through to the next dispatcher.
        let raw = "GET /strict/7/x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        assert_eq!(body_of(&exchange(s.addr, raw.as_bytes()).await), "fallthrough");
        // Plain GETs are not the mapper's business.
        let r = exchange(s.addr, b"GET /chat HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").await;
        assert_eq!(body_of(&r), "fallthrough");
    })
    .await;
}

#[tokio::test]
async fn shutdown_closes_websockets_with_1001() {
    run(async {
        let s = start(site()).await;
        let (mut ws, _) = oneport_rfc6455::connect(&format!("ws://{}/echo", s.addr))
            .await
            .expect("connect");
        ws.send(Message::Text("hi".into())).await.expect("send");
        assert!(matches!(ws.recv().await, Some(Ok(Message::Text(_)))));
        s.stop.shutdown();
        let mut code = None;
        while let Some(Ok(m)) = ws.recv().await {
            if let Message::Close(Some(f)) = m {
                code = Some(f.code);
            }
        }
        assert_eq!(code, Some(CloseCode::AWAY));
        tokio::time::timeout(Duration::from_secs(5), s.task)
            .await
            .expect("server stops after its sockets close")
            .expect("join")
            .expect("serve");
    })
    .await;
}

#[tokio::test]
async fn ws_serve_owns_its_port() {
    run(async {
        let server = oneport_dispatch::ws_serve("127.0.0.1:0", echo, WsOptions::default())
            .await
            .expect("bind");
        let addr = server.local_addr();
        // Any path is the WebSocket.
        let (mut ws, _) = oneport_rfc6455::connect(&format!("ws://{addr}/any/path"))
            .await
            .expect("connect");
        ws.send(Message::Text("standalone".into()))
            .await
            .expect("send");
        match ws.recv().await {
            Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), "standalone"),
            other => panic!("echo: {other:?}"),
        }
        // Anything else is refused with 400, as Racket's ws-serve answers.
        let r = exchange(
            addr,
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(status_of(&r), 400, "{r}");
        assert!(body_of(&r).contains("Bad WebSocket request"), "{r}");
        // The stop handle ends it: the open socket is closed with 1001 and
        // the port stops answering.
        let stopped = tokio::spawn(server.stop());
        let mut code = None;
        while let Some(m) = ws.recv().await {
            if let Ok(Message::Close(Some(f))) = m {
                code = Some(f.code);
            }
        }
        assert_eq!(code, Some(CloseCode::AWAY));
        stopped.await.expect("join").expect("stopped cleanly");
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "still listening"
        );
    })
    .await;
}
