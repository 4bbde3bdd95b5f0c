//! The all-in-one demo: a page, plain text, a WebSocket echo (RFC 6455 and
//! hybi-00) and an event stream with publishing, all on one port.
//!
//! ```text
//! cargo run --release --example demo -- --addr 127.0.0.1:8080
//! ```
//!
//! | request | answer |
//! |---|---|
//! | `GET /` | a page that opens an `EventSource` on `/events` and a `WebSocket` on `/ws` |
//! | `GET /plaintext` | `Hello, World!` |
//! | `GET /ws` (upgrade) | echo of every text or binary message |
//! | `GET /events` | the event stream; `Last-Event-ID` resumes |
//! | `POST /publish[?id=ID&event=NAME]` | the body becomes one event's data; `204` |
//!
//! The first line on standard output is `listening on ADDR`. SIGINT or
//! SIGTERM stops the server gracefully: WebSockets are closed with 1001 and
//! event streams end. Logs go to standard error (`RUST_LOG=info` for more).

use http::{Method, StatusCode, header};
use oneport::dispatch::{
    Request, Response, Server, WebSocket, filter, sequencer, servlet, sse, text_response, websocket,
};
use oneport::sse::{Event, Hub, HubConfig};
use tracing_subscriber::EnvFilter;

const PAGE: &str = include_str!("demo_page.html");

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();

    let addr = parse_addr();
    let hub = Hub::new(HubConfig::default());

    let publish_hub = hub.clone();
    let site = sequencer(vec![
        Box::new(filter("^/$", servlet(|_req: Request| page()))),
        Box::new(filter("^/plaintext$", servlet(|_req: Request| plaintext()))),
        Box::new(filter("^/ws$", websocket(echo))),
        Box::new(filter("^/events$", sse(hub.clone()))),
        Box::new(filter(
            "^/publish$",
            servlet(move |req: Request| publish(&publish_hub, req)),
        )),
    ]);

    let server = Server::builder().bind(addr.as_str()).await?;
    println!("listening on {}", server.local_addr());
    let stop = server.shutdown_handle();
    tokio::spawn(async move {
        wait_for_signal().await;
        stop.shutdown();
        hub.close();
    });
    server.serve(site).await
}

fn parse_addr() -> String {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:8080".to_owned();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--addr" => match args.next() {
                Some(v) => addr = v,
                None => usage(),
            },
            _ => usage(),
        }
    }
    addr
}

fn usage() -> ! {
    eprintln!("usage: demo [--addr HOST:PORT]");
    std::process::exit(2)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn page() -> Response {
    let mut res = Response::new(PAGE.into());
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}

fn plaintext() -> Response {
    let mut res = Response::new("Hello, World!".into());
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    res
}

/// Echoes every text and binary message; pings are answered by the socket
/// itself and a close is completed by it.
async fn echo(mut ws: WebSocket, req: http::request::Parts) {
    // This handler has no use for the upgrade request. Dropping it frees
    // its headers now rather than when the connection ends.
    drop(req);
    while let Some(Ok(msg)) = ws.recv().await {
        if msg.is_data() && ws.send(msg).await.is_err() {
            break;
        }
    }
}

fn publish(hub: &Hub, req: Request) -> Response {
    if req.method() != Method::POST {
        let mut res = text_response(StatusCode::METHOD_NOT_ALLOWED, "use POST\n");
        res.headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return res;
    }
    let Ok(data) = std::str::from_utf8(req.body()) else {
        return text_response(StatusCode::BAD_REQUEST, "the body must be UTF-8 text\n");
    };
    let mut event = Event::new(data);
    for (key, value) in query_pairs(req.uri().query().unwrap_or("")) {
        let set = match key.as_str() {
            "id" => event.clone().id(value),
            "event" => event.clone().event(value),
            _ => Ok(event.clone()),
        };
        match set {
            Ok(e) => event = e,
            Err(e) => return text_response(StatusCode::BAD_REQUEST, format!("{e}\n")),
        }
    }
    hub.publish(event);
    let mut res = Response::new(().into());
    *res.status_mut() = StatusCode::NO_CONTENT;
    res
}

/// Splits a query string into decoded `key=value` pairs.
fn query_pairs(q: &str) -> impl Iterator<Item = (String, String)> + '_ {
    q.split('&').filter(|p| !p.is_empty()).map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        (decode(k), decode(v))
    })
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
