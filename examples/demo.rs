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
//! | `GET /ws` (upgrade) | echo of every text or binary message; permessage-deflate when offered |
//! | `GET /events` | the event stream; `Last-Event-ID` resumes |
//! | `POST /publish[?id=ID&event=NAME]` | the body becomes one event's data; `204` |
//!
//! The first line on standard output is `listening on ADDR`. SIGINT or
//! SIGTERM stops the server gracefully: WebSockets are closed with 1001 and
//! event streams end. Logs go to standard error (`RUST_LOG=info` for more).

use oneport::dispatch::Server;
use oneport::sse::{Hub, HubConfig};
use tracing_subscriber::EnvFilter;

#[path = "demo_site.rs"]
mod demo_site;

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
    let site = demo_site::site(hub.clone());

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
