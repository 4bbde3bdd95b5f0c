//! A page and its event stream on one port, as in the blog post on
//! Racket's dispatchers: the page's `EventSource` on `/sse/` fills a
//! textarea.
//!
//! Two events are sent when the server starts, to show the replay rules:
//! one without an id, which only pages already open would see (none are,
//! so nobody sees it), and one with an id, which the server keeps and
//! replays to every page that opens later. Send more with
//! `curl -d 'text' 'http://ADDR/send?id=2'` (leave out `id` for a live-only
//! event).
//!
//! ```text
//! cargo run --example sse_same_port -- --addr 127.0.0.1:8080
//! ```
//!
//! The first line on standard output is `listening on ADDR`.

use oneport::prelude::*;

#[path = "cli.rs"]
mod cli;

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Events test</title></head>
<body>
<h1>Events on the same port</h1>
<textarea id="events" readonly rows="10" cols="60"></textarea>
<script>
  const area = document.getElementById("events");
  const source = new EventSource("/sse/");
  source.onmessage = (e) => { area.value = e.data + "\n" + area.value; };
</script>
</body></html>
"#;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = cli::option("addr", "127.0.0.1:8080", &["addr"]);
    let hub = Hub::new(HubConfig::default());
    hub.publish(Event::new(
        "sent before anyone came, without an id: never seen",
    ));
    if let Ok(kept) = Event::new("Hello world (sent with an id: replayed)").id("1") {
        hub.publish(kept);
    }
    let send_hub = hub.clone();
    let site = sequencer(vec![
        Box::new(filter("^/sse/", sse(hub))),
        Box::new(filter(
            "^/send$",
            servlet(move |req: Request| send(&send_hub, &req)),
        )),
        Box::new(servlet(|_req: Request| html_response(PAGE))),
    ]);
    let server = Server::builder().bind(addr.as_str()).await?;
    println!("listening on {}", server.local_addr());
    server.serve(site).await
}

/// `POST /send[?id=ID]`: the body becomes an event, kept for replay when
/// it has an id.
fn send(hub: &Hub, req: &Request) -> Response {
    let Ok(text) = std::str::from_utf8(req.body()) else {
        return text_response(http::StatusCode::BAD_REQUEST, "the body must be text\n");
    };
    let id = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("id=")));
    let event = match id {
        Some(id) => Event::new(text).id(id),
        None => Ok(Event::new(text)),
    };
    match event {
        Ok(event) => {
            hub.publish(event);
            text_response(http::StatusCode::ACCEPTED, "sent\n")
        }
        Err(e) => text_response(http::StatusCode::BAD_REQUEST, format!("{e}\n")),
    }
}
