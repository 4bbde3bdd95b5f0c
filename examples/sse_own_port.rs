//! A page on one port and its event stream on another, as in the first
//! version of the Racket SSE package (page on 8080, events on 8122): the
//! page's `EventSource` reaches across ports, so the stream sends the CORS
//! header that lets the page's origin read it.
//!
//! An event with an id is sent at start and replayed to every page; send
//! more with `curl -d 'text' http://PAGE_ADDR/send`.
//!
//! ```text
//! cargo run --example sse_own_port -- --addr 127.0.0.1:8080 --sse-addr 127.0.0.1:8122
//! ```
//!
//! Standard output starts with `listening on PAGE_ADDR`, then
//! `events on SSE_ADDR`.

use oneport::prelude::*;

#[path = "cli.rs"]
mod cli;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let known = ["addr", "sse-addr"];
    let addr = cli::option("addr", "127.0.0.1:8080", &known);
    let sse_addr = cli::option("sse-addr", "127.0.0.1:8122", &known);

    let page_server = Server::builder().bind(addr.as_str()).await?;
    let page_addr = page_server.local_addr();
    // The page's own origin, by address and by name, may read the stream.
    let origins = vec![
        format!("http://{page_addr}"),
        format!("http://localhost:{}", page_addr.port()),
    ];
    let hub = Hub::new(HubConfig::default());
    let events = sse_serve(
        sse_addr.as_str(),
        hub.clone(),
        SseOptions::default().cors(OriginPolicy::AllowList(origins)),
    )
    .await?;
    let events_addr = events.local_addr();
    if let Ok(kept) = Event::new("Hello World! (from the other port)").id("1") {
        hub.publish(kept);
    }

    let page = format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Events test</title></head>
<body>
<h1>Events from another port</h1>
<textarea id="events" readonly rows="10" cols="60"></textarea>
<script>
  const area = document.getElementById("events");
  const source = new EventSource("//" + location.hostname + ":{port}/");
  source.onmessage = (e) => {{ area.value = e.data + "\n" + area.value; }};
</script>
</body></html>
"#,
        port = events_addr.port()
    );
    let send_hub = hub.clone();
    let site = sequencer(vec![
        Box::new(filter(
            "^/send$",
            servlet(move |req: Request| {
                let text = String::from_utf8_lossy(req.body()).into_owned();
                send_hub.publish(Event::new(text));
                "sent\n"
            }),
        )),
        Box::new(servlet(move |_req: Request| html_response(page.clone()))),
    ]);
    println!("listening on {page_addr}");
    println!("events on {events_addr}");
    page_server.serve(site).await
}
