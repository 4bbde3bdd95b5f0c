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
//! | `GET /events` (upgrade) | the same events, each one's data as a WebSocket text message |
//! | `POST /publish[?id=ID&event=NAME]` | the body becomes one event's data; `204` |
//!
//! The first line on standard output is `listening on ADDR`. SIGINT or
//! SIGTERM stops the server gracefully: WebSockets are closed with 1001 and
//! event streams end. Logs go to standard error (`RUST_LOG=info` for more).
//!
//! With `--tls-cert FILE --tls-key FILE` (PEM) everything is served over
//! TLS on the same port: `https://`, `wss://`, the event stream. SIGHUP
//! reads the two files again: new connections get the new certificate,
//! open ones keep theirs.
//!
//! With `--redis redis://127.0.0.1:6379`, several demo processes share
//! their events through Redis Streams: an event published on one reaches
//! the subscribers of every other, in one order, and an event stream
//! resumes on any of them. An event published with an id is then given the
//! id of its Redis stream entry (the same in every process) in place of
//! the one asked for: that is the id subscribers see and send back as
//! `Last-Event-ID`. Without `--redis` the events stay in this process, with
//! the ids they were published with.

use oneport::dispatch::topics::{TopicConfig, TopicHub};
use oneport::dispatch::{Server, TlsConfig};
use oneport_redis::{Config as RedisConfig, RedisBackplane};
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

    let args = parse_args();
    let hub = match &args.redis {
        None => TopicHub::default(),
        Some(url) => match RedisBackplane::connect(url, RedisConfig::default()).await {
            Ok(backplane) => TopicHub::with_backplane(TopicConfig::default(), backplane),
            Err(e) => {
                eprintln!("demo: {e}");
                std::process::exit(1)
            }
        },
    };
    let site = demo_site::site(hub);

    let mut builder = Server::builder();
    if let Some((cert, key)) = &args.tls {
        let tls = match TlsConfig::from_pem_files(cert, key) {
            Ok(tls) => tls,
            Err(e) => {
                eprintln!("demo: {e}");
                std::process::exit(1)
            }
        };
        builder.tls(tls.clone());
        tokio::spawn(reload_on_hangup(tls));
    }
    let server = builder.bind(args.addr.as_str()).await?;
    println!("listening on {}", server.local_addr());
    let stop = server.shutdown_handle();
    tokio::spawn(async move {
        // Event streams end and WebSockets close with 1001.
        wait_for_signal().await;
        stop.shutdown();
    });
    server.serve(site).await
}

struct Args {
    addr: String,
    /// The certificate and key files, when serving TLS.
    tls: Option<(String, String)>,
    /// The Redis URL, when sharing events with other processes.
    redis: Option<String>,
}

fn parse_args() -> Args {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:8080".to_owned();
    let (mut cert, mut key, mut redis) = (None, None, None);
    while let Some(a) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--addr" => addr = value,
            "--tls-cert" => cert = Some(value),
            "--tls-key" => key = Some(value),
            "--redis" => redis = Some(value),
            _ => usage(),
        }
    }
    let tls = match (cert, key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => usage(),
    };
    Args { addr, tls, redis }
}

fn usage() -> ! {
    eprintln!(
        "usage: demo [--addr HOST:PORT] [--tls-cert FILE --tls-key FILE] [--redis redis://HOST:PORT]"
    );
    std::process::exit(2)
}

/// Reads the certificate and key again on each SIGHUP.
async fn reload_on_hangup(tls: TlsConfig) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            return;
        };
        while hup.recv().await.is_some() {
            match tls.reload() {
                Ok(()) => tracing::warn!("TLS certificate reloaded"),
                Err(e) => {
                    tracing::error!(error = %e, "TLS reload failed; the old certificate stays")
                }
            }
        }
    }
    #[cfg(not(unix))]
    drop(tls);
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
