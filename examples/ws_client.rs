//! A WebSocket client, like the Racket `rfc6455` package's `client.rkt`:
//! connect, send a message, print the answer, close.
//!
//! ```text
//! cargo run --example ws_client -- --url ws://127.0.0.1:8081/ --message 'Hello world!'
//! ```

use oneport::ws::{CloseCode, CloseFrame, Message, connect};

#[path = "cli.rs"]
mod cli;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let known = ["url", "message"];
    let url = cli::option("url", "ws://127.0.0.1:8081/", &known);
    let text = cli::option("message", "Hello world!", &known);
    let (mut ws, _response) = connect(&url).await?;
    ws.send(Message::text(text)).await?;
    match ws.recv().await {
        Some(Ok(Message::Text(answer))) => println!("{}", answer.as_str()),
        Some(Ok(other)) => println!("{other:?}"),
        Some(Err(e)) => return Err(e.into()),
        None => return Err("the server closed the connection".into()),
    }
    ws.close(Some(CloseFrame::new(CloseCode::NORMAL, "done")))
        .await?;
    Ok(())
}
