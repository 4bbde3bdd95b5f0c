//! WebSocket routes by path and subprotocol beside a page, with the
//! service mapper, as in the blog post on Racket's dispatchers and the
//! `rfc6455` package's `ws-service-mapper`: `/ws_test` answers "Hello" with
//! "Hello world!" for a client that asks for no subprotocol (the page),
//! and says so to one that asks for `subprotocol`; any other subprotocol
//! gets `400`.
//!
//! ```text
//! cargo run --example ws_service_mapper -- --addr 127.0.0.1:8080
//! ```
//!
//! The first line on standard output is `listening on ADDR`.

use oneport::prelude::*;

#[path = "cli.rs"]
mod cli;

#[path = "hello_page.rs"]
mod hello_page;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = cli::option("addr", "127.0.0.1:8080", &["addr"]);
    let mapper = service_mapper()
        .route(
            "^/ws_test",
            Subprotocol::None,
            |mut ws: WebSocket, _req| async move {
                if let Some(Ok(Message::Text(text))) = ws.recv().await {
                    let _ = ws.send_text(format!("{} world!", text.as_str())).await;
                }
            },
        )
        .route(
            "^/ws_test",
            Subprotocol::Named("subprotocol".into()),
            |mut ws: WebSocket, _req| async move {
                let _ = ws.send_text("You requested a subprotocol").await;
            },
        );
    let site = sequencer(vec![
        Box::new(mapper),
        Box::new(servlet(|_req: Request| html_response(hello_page::PAGE))),
    ]);
    let server = Server::builder().bind(addr.as_str()).await?;
    println!("listening on {}", server.local_addr());
    server.serve(site).await
}
