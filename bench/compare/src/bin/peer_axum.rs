//! axum 0.8: `/plaintext`, a WebSocket echo on `/ws` with its built-in
//! `WebSocketUpgrade` extractor, and the demo's `/events` and `POST
//! /publish` with its built-in `Sse` response over a `tokio::sync::broadcast`
//! channel (live fan-out only: unlike the demo it keeps no history for
//! `Last-Event-ID`, which only spares it work).

use std::collections::HashMap;
use std::convert::Infallible;

use axum::Router;
use axum::extract::{Query, State};
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use bytes::Bytes;
use tokio::sync::broadcast;

/// One published event: its id (if any) and its data.
type Published = (Option<String>, String);

/// How many events a slow subscriber may fall behind before it misses some
/// (counted as lost by the load generator).
const BACKLOG: usize = 4096;

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

async fn events(State(tx): State<broadcast::Sender<Published>>) -> impl IntoResponse {
    let rx = tx.subscribe();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok((id, data)) => {
                    let mut ev = Event::default().data(data);
                    if let Some(id) = id {
                        ev = ev.id(id);
                    }
                    return Some((Ok::<_, Infallible>(ev), rx));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn publish(
    State(tx): State<broadcast::Sender<Published>>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> StatusCode {
    let data = String::from_utf8_lossy(&body).into_owned();
    let _ = tx.send((q.get("id").cloned(), data));
    StatusCode::NO_CONTENT
}

async fn plaintext() -> impl IntoResponse {
    ([("content-type", "text/plain")], "Hello, World!")
}

#[tokio::main]
async fn main() {
    let listener = oneport_compare::bind_from_args().await;
    let app = Router::new()
        .route("/plaintext", get(plaintext))
        .route("/ws", get(ws))
        .route("/events", get(events))
        .route("/publish", post(publish))
        .with_state(broadcast::channel::<Published>(BACKLOG).0);
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await.expect("serve");
}
