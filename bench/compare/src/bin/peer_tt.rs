//! tokio-tungstenite: a WebSocket echo on every path, the way its README
//! serves one (`accept_async`, then read and send each message).

use futures_util::{SinkExt, StreamExt};

async fn echo(tcp: tokio::net::TcpStream) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    while let Some(Ok(msg)) = ws.next().await {
        if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
            break;
        }
    }
}

#[tokio::main]
async fn main() {
    let listener = oneport_compare::bind_from_args().await;
    oneport_compare::accept_each(listener, echo).await;
}
