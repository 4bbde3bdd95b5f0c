//! A page and a WebSocket on one port, with the general WebSocket
//! dispatcher, as in the blog post on Racket's dispatchers: the page sends
//! "Hello" on `/ws_test`, the server answers "Hello world!", and the page
//! puts the answer in a textarea. The handler answers once and returns;
//! the socket is then closed cleanly for it.
//!
//! ```text
//! cargo run --example ws_same_port -- --addr 127.0.0.1:8080
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
    let hello = |mut ws: WebSocket, _req| async move {
        if let Some(Ok(Message::Text(text))) = ws.recv().await {
            let _ = ws.send_text(format!("{} world!", text.as_str())).await;
        }
    };
    let site = sequencer(vec![
        Box::new(filter("^/ws_test", websocket(hello))),
        Box::new(servlet(|_req: Request| html_response(hello_page::PAGE))),
    ]);
    let server = Server::builder().bind(addr.as_str()).await?;
    println!("listening on {}", server.local_addr());
    server.serve(site).await
}
