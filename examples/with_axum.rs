//! An axum `Router` beside oneport's routes, on one port.
//!
//! ```text
//! cargo run --example with_axum -- --addr 127.0.0.1:8080
//! ```
//!
//! | request | answered by |
//! |---|---|
//! | `GET /api/health` | axum: `{"status":"ok"}` |
//! | `POST /api/echo` | axum: the JSON body it was sent (`400`/`415` if it is not JSON) |
//! | `GET /ws`, `GET /events`, `POST /publish`, `GET /`, `GET /plaintext` | oneport, as in the demo |
//!
//! The axum routes are mounted with `tower_service` behind a filter on
//! `/api/`: the router answers everything under it (its own 404s
//! included), and everything else goes on to oneport's dispatchers, which
//! also take over the connections for WebSockets and event streams. The
//! first line on standard output is `listening on ADDR`.

use axum::Json;
use axum::routing::{get, post};
use oneport::dispatch::topics::TopicHub;
use oneport::dispatch::tower::tower_service;
use oneport::dispatch::{Server, filter, sequencer};
use serde_json::{Value, json};

#[path = "cli.rs"]
mod cli;
#[path = "demo_site.rs"]
mod demo_site;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = cli::option("addr", "127.0.0.1:8080", &["addr"]);
    let api = axum::Router::new()
        .route(
            "/api/health",
            get(|| async { Json(json!({"status": "ok"})) }),
        )
        .route(
            "/api/echo",
            post(|Json(body): Json<Value>| async move { Json(body) }),
        );
    let site = sequencer(vec![
        Box::new(filter("^/api/", tower_service(api))),
        Box::new(demo_site::site(TopicHub::default())),
    ]);
    let server = Server::builder().bind(addr.as_str()).await?;
    println!("listening on {}", server.local_addr());
    server.serve(site).await
}
