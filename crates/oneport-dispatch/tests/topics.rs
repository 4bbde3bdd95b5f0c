//! The topic hub's guarantees: order per topic, replay bounded by count and
//! bytes, isolation between topics, topics freed when empty, a slow
//! subscriber that does not delay the others, payloads shared rather than
//! copied, and a backplane behind it all.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use oneport_dispatch::Message;
use oneport_dispatch::topics::{
    Backplane, BackplaneError, Lagged, LocalTopics, TopicConfig, TopicHub, TopicMessage, TopicSse,
};
use oneport_sse::{HubConfig, ParsedEvent, Parser};

const LIMIT: Duration = Duration::from_secs(20);

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test timed out")
}

/// The events an SSE subscription has queued now, parsed.
async fn sse_events(sub: &mut TopicSse) -> Vec<ParsedEvent> {
    let mut parser = Parser::default();
    let mut events = Vec::new();
    let mut batch = Vec::new();
    let sub = sub.subscription().expect("subscribed");
    while let Ok(Some(())) =
        tokio::time::timeout(Duration::from_millis(20), sub.next_batch(&mut batch)).await
    {
        for chunk in batch.drain(..) {
            parser.feed(&chunk).expect("valid stream");
            while let Some(e) = parser.poll_event() {
                events.push(e);
            }
        }
    }
    events
}

fn text(m: &Message) -> &str {
    m.as_text().expect("text")
}

#[tokio::test]
async fn every_subscriber_sees_a_topic_in_publish_order() {
    bounded(async {
        let sse = HubConfig::default().keep_alive(None).subscriber_queue(2000);
        let hub = TopicHub::new(TopicConfig::default().ws_queue(2000).sse(sse));
        let mut ws = hub.ws_subscriber();
        ws.join("t").await;
        let mut sse = hub.subscribe_sse("t", None);
        for i in 0..1000 {
            hub.publish("t", TopicMessage::text(i.to_string())).unwrap();
        }
        for i in 0..1000 {
            let (topic, m) = ws.next().await.unwrap().unwrap();
            assert_eq!((&*topic, text(&m)), ("t", i.to_string().as_str()));
        }
        let got: Vec<String> = sse_events(&mut sse)
            .await
            .into_iter()
            .map(|e| e.data)
            .collect();
        let want: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
        assert_eq!(got, want);
    })
    .await;
}

#[tokio::test]
async fn replay_after_last_event_id_is_bounded_by_count_and_bytes() {
    bounded(async {
        let sse = HubConfig::default()
            .keep_alive(None)
            .history_max_events(3)
            .history_max_bytes(1024);
        let hub = TopicHub::new(TopicConfig::default().sse(sse));
        // Someone must follow the topic for it to keep anything.
        let _keeper = hub.subscribe_sse("news", None);
        for i in 1..=5 {
            let m = TopicMessage::text(format!("item {i}"))
                .id(i.to_string())
                .unwrap();
            hub.publish("news", m).unwrap();
        }
        hub.publish("news", TopicMessage::text("live only"))
            .unwrap();
        // Only the last three are kept; replay starts after the id given.
        let mut late = hub.subscribe_sse("news", Some("3"));
        let got: Vec<(String, String)> = sse_events(&mut late)
            .await
            .into_iter()
            .map(|e| (e.last_event_id, e.data))
            .collect();
        assert_eq!(
            got,
            vec![("4".into(), "item 4".into()), ("5".into(), "item 5".into())]
        );
        let mut fresh = hub.subscribe_sse("news", None);
        let ids: Vec<String> = sse_events(&mut fresh)
            .await
            .into_iter()
            .map(|e| e.last_event_id)
            .collect();
        assert_eq!(ids, ["3", "4", "5"], "count-bounded history");

        // Bytes bound: one event larger than half the budget keeps one.
        let small = HubConfig::default().keep_alive(None).history_max_bytes(120);
        let hub = TopicHub::new(TopicConfig::default().sse(small));
        let _keeper = hub.subscribe_sse("big", None);
        for i in 1..=3 {
            let m = TopicMessage::text("x".repeat(80))
                .id(i.to_string())
                .unwrap();
            hub.publish("big", m).unwrap();
        }
        let mut late = hub.subscribe_sse("big", None);
        let ids: Vec<String> = sse_events(&mut late)
            .await
            .into_iter()
            .map(|e| e.last_event_id)
            .collect();
        assert_eq!(ids, ["3"], "byte-bounded history");
    })
    .await;
}

#[tokio::test]
async fn topics_are_isolated_and_one_socket_can_join_several() {
    bounded(async {
        let hub = TopicHub::default();
        let mut a = hub.ws_subscriber();
        a.join("room/a").await;
        let mut both = hub.ws_subscriber();
        both.join("room/a").await;
        both.join("room/b").await;
        both.join("room/b").await; // twice is once
        assert_eq!(hub.subscriber_count("room/a"), 2);
        assert_eq!(hub.subscriber_count("room/b"), 1);
        hub.publish("room/b", TopicMessage::text("for b")).unwrap();
        hub.publish("room/a", TopicMessage::text("for a")).unwrap();
        let (t, m) = a.next().await.unwrap().unwrap();
        assert_eq!((&*t, text(&m)), ("room/a", "for a"));
        let nothing = tokio::time::timeout(Duration::from_millis(50), a.next()).await;
        assert!(nothing.is_err(), "room/a's subscriber saw room/b");
        let mut got = Vec::new();
        for _ in 0..2 {
            let (t, m) = both.next().await.unwrap().unwrap();
            got.push(format!("{t}:{}", text(&m)));
        }
        assert_eq!(got, ["room/b:for b", "room/a:for a"]);
        both.leave("room/a");
        assert_eq!(hub.subscriber_count("room/a"), 1);
        assert_eq!(both.topics().collect::<Vec<_>>(), ["room/b"]);
    })
    .await;
}

#[tokio::test]
async fn empty_topics_are_freed() {
    bounded(async {
        let hub = TopicHub::new(TopicConfig::default().idle_topics(0));
        let mut ws = hub.ws_subscriber();
        ws.join("x").await;
        ws.join("y").await;
        let sse = hub.subscribe_sse("x", None);
        assert_eq!(hub.topic_count(), 2);
        ws.leave("y");
        assert_eq!(hub.topic_count(), 1, "y had no one left");
        drop(ws);
        assert_eq!(hub.topic_count(), 1, "x still has its event stream");
        drop(sse);
        assert_eq!(hub.topic_count(), 0);
        // Publishing to nobody delivers nothing and makes nothing.
        hub.publish("x", TopicMessage::text("lost").id("1").unwrap())
            .unwrap();
        assert_eq!(hub.topic_count(), 0);
        let mut later = hub.subscribe_sse("x", None);
        assert!(sse_events(&mut later).await.is_empty(), "nothing was kept");
    })
    .await;
}

/// A topic's only event stream reconnects and resumes, with what was
/// published while nobody followed; id'd events published before anyone
/// subscribes are replayed; idle topics are bounded in number.
#[tokio::test]
async fn idle_topics_keep_their_history_within_a_bound() {
    bounded(async {
        let hub = TopicHub::new(TopicConfig::default().idle_topics(2));
        let ids = |events: &[ParsedEvent]| {
            events
                .iter()
                .map(|e| e.last_event_id.clone())
                .collect::<Vec<_>>()
        };
        let id = |n: &str| TopicMessage::text(format!("event {n}")).id(n).unwrap();
        let mut only = hub.subscribe_sse("a", None);
        hub.publish("a", id("1")).unwrap();
        hub.publish("a", id("2")).unwrap();
        assert_eq!(ids(&sse_events(&mut only).await), ["1", "2"]);
        drop(only);
        assert_eq!(hub.topic_count(), 1, "idle, with its history");
        hub.publish("a", id("3")).unwrap();
        hub.publish("a", TopicMessage::text("live only")).unwrap();
        let mut back = hub.subscribe_sse("a", Some("1"));
        assert_eq!(ids(&sse_events(&mut back).await), ["2", "3"]);
        drop(back);

        // Before anyone subscribes.
        hub.publish("b", id("7")).unwrap();
        let mut first = hub.subscribe_sse("b", None);
        assert_eq!(ids(&sse_events(&mut first).await), ["7"]);
        drop(first);
        // A message without an id to nobody makes nothing.
        hub.publish("nobody", TopicMessage::text("lost")).unwrap();
        assert_eq!(hub.topic_count(), 2);
        // A third idle topic frees the one idle longest ("a").
        hub.publish("c", id("9")).unwrap();
        assert_eq!(hub.topic_count(), 2);
        let mut again = hub.subscribe_sse("a", None);
        assert!(sse_events(&mut again).await.is_empty(), "a was freed");
        let mut b = hub.subscribe_sse("b", None);
        assert_eq!(ids(&sse_events(&mut b).await), ["7"], "b was kept");
        // A topic with no history goes with its last subscriber.
        let mut ws = hub.ws_subscriber();
        ws.join("plain").await;
        drop(ws);
        assert!(hub.subscriber_count("plain") == 0);
        assert_eq!(
            hub.topic_count(),
            3,
            "a and b followed, c idle; plain freed"
        );
    })
    .await;
}

#[tokio::test]
async fn a_slow_subscriber_is_dropped_and_does_not_delay_the_others() {
    bounded(async {
        let hub = TopicHub::new(TopicConfig::default().ws_queue(4));
        let mut slow = hub.ws_subscriber();
        slow.join("t").await;
        let mut fast = hub.ws_subscriber();
        fast.join("t").await;
        for i in 0..100 {
            // Publishing never waits for anyone.
            hub.publish("t", TopicMessage::text(i.to_string())).unwrap();
            let (_, m) = fast.next().await.unwrap().unwrap();
            assert_eq!(text(&m), i.to_string());
        }
        assert_eq!(hub.subscriber_count("t"), 1, "the slow one was dropped");
        assert_eq!(slow.next().await, Some(Err(Lagged)));
    })
    .await;
}

#[tokio::test]
async fn a_payload_is_shared_by_every_websocket_subscriber_not_copied() {
    bounded(async {
        let hub = TopicHub::default();
        let mut a = hub.ws_subscriber();
        let mut b = hub.ws_subscriber();
        a.join("t").await;
        b.join("t").await;
        let payload = Bytes::from(vec![7u8; 64 * 1024]);
        let at = payload.as_ptr();
        hub.publish("t", TopicMessage::binary(payload)).unwrap();
        for sub in [&mut a, &mut b] {
            let (_, m) = sub.next().await.unwrap().unwrap();
            let Message::Binary(got) = m else {
                panic!("binary expected");
            };
            assert_eq!(got.as_ptr(), at, "the same bytes, not a copy");
        }
    })
    .await;
}

/// A backplane that holds publishes until told to deliver them, as a
/// broker round trip would, and records which topics it was asked to carry.
#[derive(Clone)]
struct Held {
    queue: Arc<Mutex<Vec<(String, TopicMessage, LocalTopics)>>>,
    log: Arc<Mutex<Vec<String>>>,
    /// Whether the broker has started carrying opened topics (so that
    /// their opening completes).
    start: Arc<tokio::sync::watch::Sender<bool>>,
    started: tokio::sync::watch::Receiver<bool>,
}

impl Default for Held {
    fn default() -> Self {
        Self::starting(true)
    }
}

impl Backplane for Held {
    fn publish(
        &self,
        topic: &str,
        message: TopicMessage,
        local: &LocalTopics,
    ) -> Result<(), BackplaneError> {
        if topic == "refused" {
            return Err(BackplaneError::new("broker unreachable", None));
        }
        self.queue
            .lock()
            .unwrap()
            .push((topic.to_owned(), message, local.clone()));
        Ok(())
    }

    fn open(
        &self,
        topic: &str,
        _local: &LocalTopics,
    ) -> Option<oneport_dispatch::BoxFuture<'static, ()>> {
        self.log.lock().unwrap().push(format!("open {topic}"));
        let mut started = self.started.clone();
        Some(Box::pin(async move {
            // Waits until the test says the broker has started the topic.
            let _ = started.wait_for(|s| *s).await;
        }))
    }

    fn close(&self, topic: &str) {
        self.log.lock().unwrap().push(format!("close {topic}"));
    }
}

impl Held {
    /// A backplane whose topics start at once, or only once `start_all`.
    fn starting(at_once: bool) -> Self {
        let (start, started) = tokio::sync::watch::channel(at_once);
        Self {
            queue: Arc::default(),
            log: Arc::default(),
            start: Arc::new(start),
            started,
        }
    }

    fn start_all(&self) {
        self.start.send_replace(true);
    }

    fn deliver_all(&self) {
        for (topic, message, local) in self.queue.lock().unwrap().drain(..) {
            local.deliver(&topic, &message);
        }
    }
}

#[tokio::test]
async fn a_backplane_carries_publishes_and_is_told_which_topics_to_carry() {
    bounded(async {
        let held = Held::default();
        let hub = TopicHub::with_backplane(TopicConfig::default(), held.clone());
        let mut ws = hub.ws_subscriber();
        ws.join("t").await;
        hub.publish("t", TopicMessage::text("via the broker"))
            .unwrap();
        let early = tokio::time::timeout(Duration::from_millis(30), ws.next()).await;
        assert!(early.is_err(), "nothing before the backplane delivers");
        held.deliver_all();
        let (_, m) = ws.next().await.unwrap().unwrap();
        assert_eq!(text(&m), "via the broker");
        let err = hub.publish("refused", TopicMessage::text("x")).unwrap_err();
        assert!(err.to_string().contains("broker unreachable"), "{err}");
        drop(ws);
        assert_eq!(*held.log.lock().unwrap(), ["open t", "close t"]);
    })
    .await;
}

/// A join completes only once the backplane carries the topic here, for
/// the subscriber that opened the topic and for one that joins meanwhile:
/// what a member is told after joining, it hears.
#[tokio::test]
async fn a_join_waits_for_the_backplane_to_start_the_topic() {
    bounded(async {
        let held = Held::starting(false);
        let hub = TopicHub::with_backplane(TopicConfig::default(), held.clone());
        let (mut first, mut second) = (hub.ws_subscriber(), hub.ws_subscriber());
        {
            let joins = async {
                tokio::join!(first.join("t"), async {
                    tokio::task::yield_now().await;
                    second.join("t").await;
                })
            };
            tokio::pin!(joins);
            let early = tokio::time::timeout(Duration::from_millis(50), &mut joins).await;
            assert!(
                early.is_err(),
                "joins wait while the broker starts the topic"
            );
            held.start_all();
            joins.await;
        }
        assert_eq!(*held.log.lock().unwrap(), ["open t"], "opened once");
        assert_eq!(hub.subscriber_count("t"), 2);
        // A topic already carried is joined at once.
        let mut third = hub.ws_subscriber();
        third.join("t").await;
        hub.publish("t", TopicMessage::text("to all")).unwrap();
        held.deliver_all();
        for sub in [&mut first, &mut second, &mut third] {
            let (_, m) = sub.next().await.unwrap().unwrap();
            assert_eq!(text(&m), "to all");
        }
    })
    .await;
}

/// A room on one port: WebSocket members publish what they send to the
/// room and get what others send; a read-only event stream of the same
/// room gets it too.
#[tokio::test]
async fn a_room_over_websockets_and_its_event_stream_on_one_port() {
    use oneport_dispatch::{Request, WebSocket, filter, sequencer, topic_events, websocket};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    bounded(async {
        let hub = TopicHub::default();
        let members = hub.clone();
        let room = websocket(move |ws: WebSocket, req: http::request::Parts| {
            let hub = members.clone();
            async move {
                let room = req.uri.path().trim_start_matches("/room/").to_owned();
                let (mut rx, mut tx) = ws.split();
                let mut sub = hub.ws_subscriber();
                sub.join(&room).await;
                let forward = tokio::spawn(async move { sub.forward(&mut tx).await });
                while let Some(Ok(msg)) = rx.recv().await {
                    if let Some(text) = msg.as_text() {
                        let _ = hub.publish(&room, TopicMessage::text(text));
                    }
                }
                forward.abort();
            }
        });
        let feed = topic_events(hub.clone(), |req: &Request| {
            req.uri()
                .path()
                .strip_prefix("/room/")
                .and_then(|p| p.strip_suffix("/events"))
                .map(str::to_owned)
        });
        let server = oneport_dispatch::Server::builder()
            .bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = server.local_addr();
        let stop = server.shutdown_handle();
        let running = tokio::spawn(server.serve(sequencer(vec![
            Box::new(filter("^/room/[a-z]+/events$", feed)),
            Box::new(filter("^/room/[a-z]+$", room)),
        ])));

        let url = |room: &str| format!("ws://{addr}/room/{room}");
        let (mut alice, _) = oneport_rfc6455::connect(&url("blue")).await.expect("alice");
        let mut bob = oneport_hybi00::connect(&url("blue")).await.expect("bob");
        let (mut eve, _) = oneport_rfc6455::connect(&url("red")).await.expect("eve");
        let mut reader = tokio::net::TcpStream::connect(addr).await.expect("feed");
        reader
            .write_all(b"GET /room/blue/events HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("subscribe");
        while hub.subscriber_count("blue") < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }

        alice
            .send(Message::Text("hi from alice".into()))
            .await
            .expect("send");
        // Both members get it, whichever protocol they speak.
        assert_eq!(
            alice.recv().await.expect("open").expect("msg"),
            Message::Text("hi from alice".into())
        );
        assert_eq!(
            bob.recv().await.expect("open").expect("msg"),
            Message::Text("hi from alice".into())
        );
        // So does the read-only feed.
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        while !String::from_utf8_lossy(&seen).contains("data: hi from alice\n\n") {
            let n = reader.read(&mut buf).await.expect("read");
            assert!(n > 0, "the feed ended");
            seen.extend_from_slice(&buf[..n]);
        }
        // Another room hears none of it.
        let quiet = tokio::time::timeout(Duration::from_millis(50), eve.recv()).await;
        assert!(quiet.is_err(), "red heard blue: {quiet:?}");

        drop((alice, bob, eve, reader));
        stop.shutdown();
        let _ = running.await;
    })
    .await;
}
