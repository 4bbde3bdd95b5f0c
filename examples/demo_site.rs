//! The demo's site, shared by `examples/demo.rs` and the facade's
//! integration tests (which include this file), so that the tests exercise
//! exactly the routes the demo serves.

use http::{Method, StatusCode, header};
use oneport::dispatch::topics::{TopicHub, TopicMessage};
use oneport::dispatch::{
    DeflateConfig, Dispatcher, Request, Response, WebSocket, WsOptions, filter, sequencer, servlet,
    text_response, topic_events, websocket,
};

const PAGE: &str = include_str!("demo_page.html");

/// The topic `/publish` publishes to and `/events` follows.
pub(crate) const EVENTS: &str = "events";

/// Every route of the demo, in the order they are tried; events published
/// on `/publish` go to `hub`'s topic [`EVENTS`], which `/events` streams
/// (as an event stream, or to a WebSocket that asks there).
pub(crate) fn site(hub: TopicHub) -> impl Dispatcher {
    let (publish_hub, follow_hub) = (hub.clone(), hub.clone());
    sequencer(vec![
        Box::new(filter("^/$", servlet(|_req: Request| page()))),
        Box::new(filter("^/plaintext$", servlet(|_req: Request| plaintext()))),
        // permessage-deflate on, with the lean defaults: every browser,
        // Node's `ws` and Python's `websockets` offer it.
        Box::new(filter(
            "^/ws$",
            // The upgrade request is dropped here, before the handler's
            // future is made: that future lives as long as the connection,
            // and an argument it takes keeps its room for all that time.
            websocket(|ws, _req| echo(ws))
                .options(WsOptions::default().deflate(DeflateConfig::default())),
        )),
        // The same events to a WebSocket (it declines any other request,
        // which the event stream below then takes).
        Box::new(filter(
            "^/events$",
            websocket(move |ws: WebSocket, _req| follow(ws, follow_hub.clone())),
        )),
        Box::new(filter(
            "^/events$",
            topic_events(hub, |_req: &Request| Some(EVENTS.to_owned())),
        )),
        Box::new(filter(
            "^/publish$",
            servlet(move |req: Request| publish(&publish_hub, req)),
        )),
    ])
}

fn page() -> Response {
    let mut res = Response::new(PAGE.into());
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}

fn plaintext() -> Response {
    let mut res = Response::new("Hello, World!".into());
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    res
}

/// Echoes every text and binary message; pings are answered by the socket
/// itself and a close is completed by it.
async fn echo(mut ws: WebSocket) {
    while let Some(Ok(msg)) = ws.recv().await {
        // Queued, not written: the next `recv` writes every echo of one
        // read together before it waits (and the socket writes what is
        // left when the handler returns).
        if msg.is_data() && ws.feed(msg).await.is_err() {
            break;
        }
    }
}

/// Sends every event published from now on to the socket as a text
/// message of its data; what the peer sends is read (so that pings are
/// answered and a close completed) and otherwise ignored.
async fn follow(ws: WebSocket, hub: TopicHub) {
    let (mut rx, mut tx) = ws.split();
    let mut sub = hub.ws_subscriber();
    sub.join(EVENTS).await;
    tokio::select! {
        _ = sub.forward(&mut tx) => {}
        () = async { while let Some(Ok(_)) = rx.recv().await {} } => {}
    }
}

fn publish(hub: &TopicHub, req: Request) -> Response {
    if req.method() != Method::POST {
        let mut res = text_response(StatusCode::METHOD_NOT_ALLOWED, "use POST\n");
        res.headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return res;
    }
    let Ok(data) = std::str::from_utf8(req.body()) else {
        return text_response(StatusCode::BAD_REQUEST, "the body must be UTF-8 text\n");
    };
    let mut event = TopicMessage::text(data);
    let query = req.uri().query().unwrap_or("");
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let set = match &*key {
            "id" => event.clone().id(value),
            "event" => event.clone().event(value),
            _ => Ok(event.clone()),
        };
        match set {
            Ok(e) => event = e,
            Err(e) => return text_response(StatusCode::BAD_REQUEST, format!("{e}\n")),
        }
    }
    // A broker that cannot take it (Redis down past the publish queue):
    // the publisher learns the event is lost.
    if let Err(e) = hub.publish(EVENTS, event) {
        return text_response(StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n"));
    }
    let mut res = Response::new(().into());
    *res.status_mut() = StatusCode::NO_CONTENT;
    res
}
