//! A WebSocket echo on its own port, in a few lines, like the Racket
//! `rfc6455` package's `ws-serve`: every path is the WebSocket, anything
//! else gets `400`.
//!
//! ```text
//! cargo run --example ws_serve -- --addr 127.0.0.1:8081
//! cargo run --example ws_client -- --url ws://127.0.0.1:8081/
//! ```
//!
//! `examples/ws_client.html`, opened straight from the file system, talks
//! to it too: its origin is `null`, which this echo lets in (see
//! `WsOptions::origin`; a real service should list the pages it serves).
//!
//! The first line on standard output is `listening on ADDR`.

use oneport::prelude::*;

#[path = "cli.rs"]
mod cli;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = cli::option("addr", "127.0.0.1:8081", &["addr"]);
    let echo = |mut ws: WebSocket, _req| async move {
        while let Some(Ok(msg)) = ws.recv().await {
            if msg.is_data() && ws.send(msg).await.is_err() {
                break;
            }
        }
    };
    // Pages opened from files send `Origin: null`; an echo for development
    // lets them in, as the Racket package's client.html expects.
    let options = WsOptions::default().origin(OriginPolicy::AllowList(vec!["null".into()]));
    let server = ws_serve(addr.as_str(), echo, options).await?;
    println!("listening on {}", server.local_addr());
    // Runs until the process is stopped; `server.stop()` would end it.
    server.wait().await
}
