//! axum 0.8: `/plaintext` and a WebSocket echo on `/ws` with its built-in
//! `WebSocketUpgrade` extractor.

use axum::Router;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::response::IntoResponse;
use axum::routing::get;

async fn echo(mut ws: WebSocket) {
    while let Some(Ok(msg)) = ws.recv().await {
        let data = matches!(
            msg,
            axum::extract::ws::Message::Text(_) | axum::extract::ws::Message::Binary(_)
        );
        if data && ws.send(msg).await.is_err() {
            break;
        }
    }
}

async fn ws(up: WebSocketUpgrade) -> impl IntoResponse {
    up.on_upgrade(echo)
}

async fn plaintext() -> impl IntoResponse {
    ([("content-type", "text/plain")], "Hello, World!")
}

#[tokio::main]
async fn main() {
    let listener = oneport_compare::bind_from_args().await;
    let app = Router::new()
        .route("/plaintext", get(plaintext))
        .route("/ws", get(ws));
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await.expect("serve");
}
