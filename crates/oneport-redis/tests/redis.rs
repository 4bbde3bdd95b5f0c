//! The Redis backplane against a real `redis-server`, which each test
//! starts on a free loopback port and stops by its PID.
//!
//! These tests need `redis-server` on `PATH`, so `cargo test --workspace`
//! on a machine without it lists them as ignored; `.ci/run` installs Redis
//! and runs them with `--ignored`, where a missing Redis fails.

use std::time::Duration;

use oneport_dispatch::topics::{TopicConfig, TopicHub, TopicMessage};
use oneport_redis::{Config, Error, RedisBackplane};
use oneport_sse::{ParsedEvent, Parser};

#[path = "support/server.rs"]
mod server;

use server::Redis;

const LIMIT: Duration = Duration::from_secs(30);

fn fast() -> Config {
    let mut c = Config::default();
    c.min_backoff = Duration::from_millis(20);
    c.max_backoff = Duration::from_millis(200);
    c
}

async fn hub(redis: &Redis, config: Config) -> TopicHub {
    let backplane = RedisBackplane::connect(&redis.url(), config)
        .await
        .expect("connect");
    TopicHub::with_backplane(TopicConfig::default().ws_queue(10_000), backplane)
}

/// Publishes on `hub` until `ready` says the other side is reading.
async fn until_read<F: FnMut() -> bool>(hub: &TopicHub, topic: &str, mut ready: F) {
    for _ in 0..500 {
        hub.publish(topic, TopicMessage::text("probe"))
            .expect("publish");
        tokio::time::sleep(Duration::from_millis(20)).await;
        if ready() {
            return;
        }
    }
    panic!("the other process never read the topic");
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn a_publish_on_one_hub_reaches_the_other_in_order() {
    tokio::time::timeout(LIMIT, async {
        let redis = Redis::start();
        let (a, b) = (hub(&redis, fast()).await, hub(&redis, fast()).await);
        let mut ws = b.ws_subscriber();
        ws.join("room").await;
        let mut sse = b.subscribe_sse("room", None);
        // Wait until B reads the topic: its subscriber sees a probe.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut ws = {
            let probe = tokio::spawn(async move {
                while let Some(Ok((_, m))) = ws.next().await {
                    if m.as_text() == Some("probe") {
                        let _ = tx.send(());
                        break;
                    }
                }
                ws
            });
            until_read(&a, "room", || rx.try_recv().is_ok()).await;
            probe.await.unwrap()
        };
        for i in 0..100 {
            let m = TopicMessage::text(format!("m{i}")).id("x").unwrap();
            a.publish("room", m).unwrap();
        }
        let mut got = Vec::new();
        while got.len() < 100 {
            let (_, m) = ws.next().await.unwrap().unwrap();
            if m.as_text() != Some("probe") {
                got.push(m.as_text().unwrap().to_owned());
            }
        }
        let want: Vec<String> = (0..100).map(|i| format!("m{i}")).collect();
        assert_eq!(got, want, "every message, in publish order");
        // The SSE subscriber on B sees the same, with Redis's stream ids.
        let events = sse_events(&mut sse, 100).await;
        let data: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
        assert_eq!(data, want.iter().map(String::as_str).collect::<Vec<_>>());
        let ids: Vec<&str> = events.iter().map(|e| e.last_event_id.as_str()).collect();
        assert!(ids.iter().all(|id| id.contains('-')), "stream ids: {ids:?}");
        assert!(ids.windows(2).all(|w| w[0] != w[1]));
    })
    .await
    .expect("test timed out");
}

/// The next `n` events of `sub` that are not probes.
async fn sse_events(sub: &mut oneport_dispatch::topics::TopicSse, n: usize) -> Vec<ParsedEvent> {
    let mut parser = Parser::default();
    let mut events = Vec::new();
    let mut batch = Vec::new();
    let sub = sub.subscription().expect("subscribed");
    while events.len() < n {
        sub.next_batch(&mut batch)
            .await
            .expect("the stream goes on");
        for chunk in batch.drain(..) {
            parser.feed(&chunk).expect("valid stream");
            while let Some(e) = parser.poll_event() {
                if e.data != "probe" {
                    events.push(e);
                }
            }
        }
    }
    events
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn an_unreachable_redis_at_start_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let err = RedisBackplane::connect(&format!("redis://127.0.0.1:{port}/"), Config::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains(&port.to_string()), "{err}");
    assert!(matches!(
        RedisBackplane::connect("http://nope", Config::default()).await,
        Err(Error::Url(_))
    ));
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn a_redis_restart_loses_no_event_and_keeps_subscribers() {
    tokio::time::timeout(LIMIT, async {
        let redis = Redis::start();
        let (a, b) = (hub(&redis, fast()).await, hub(&redis, fast()).await);
        let mut ws = b.ws_subscriber();
        ws.join("feed").await;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let collector = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(Ok((_, m))) = ws.next().await {
                let t = m.as_text().unwrap_or_default().to_owned();
                if t == "probe" {
                    let _ = tx.send(());
                    continue;
                }
                got.push(t);
                if got.len() == 60 {
                    break;
                }
            }
            got
        });
        until_read(&a, "feed", || rx.try_recv().is_ok()).await;
        for i in 0..20 {
            a.publish("feed", TopicMessage::text(format!("e{i}")).id("x").unwrap())
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let redis = redis.restart();
        // Published while Redis comes back: buffered, then written.
        for i in 20..60 {
            a.publish("feed", TopicMessage::text(format!("e{i}")).id("x").unwrap())
                .unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let got = collector.await.unwrap();
        let want: Vec<String> = (0..60).map(|i| format!("e{i}")).collect();
        assert_eq!(got, want, "every event, once, in order, across the restart");
        drop(redis);
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn publishes_past_the_queue_fail_while_redis_is_down() {
    tokio::time::timeout(LIMIT, async {
        let redis = Redis::start();
        let mut config = fast();
        config.publish_queue = 8;
        config.max_backoff = Duration::from_secs(5);
        let a = hub(&redis, config).await;
        drop(redis);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let results: Vec<bool> = (0..50)
            .map(|i| a.publish("t", TopicMessage::text(format!("{i}"))).is_ok())
            .collect();
        let accepted = results.iter().filter(|ok| **ok).count();
        // The queue, plus the one the writer holds while it retries.
        assert!((8..=9).contains(&accepted), "{accepted} accepted");
        assert!(!results[49], "a publish past the bound fails at once");
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn last_event_id_from_one_hub_resumes_on_the_other() {
    tokio::time::timeout(LIMIT, async {
        let redis = Redis::start();
        let a = hub(&redis, fast()).await;
        // A's own event stream learns the stream ids of what A publishes.
        let mut watch = a.subscribe_sse_resuming("news", None).await;
        for i in 0..10 {
            a.publish("news", TopicMessage::text(format!("n{i}")).id("x").unwrap())
                .unwrap();
            // Live-only messages are carried but never replayed.
            a.publish("news", TopicMessage::text("live")).unwrap();
        }
        let seen: Vec<ParsedEvent> = sse_events(&mut watch, 20)
            .await
            .into_iter()
            .filter(|e| e.data != "live")
            .collect();
        assert_eq!(seen.len(), 10);
        let id_of = |i: usize| seen[i].last_event_id.clone();

        // B has never read the topic; a client resumes there after n4.
        let b_config = TopicConfig::default().sse(
            oneport_sse::HubConfig::default()
                .history_max_events(8)
                .keep_alive(None),
        );
        let b = TopicHub::with_backplane(
            b_config.clone(),
            RedisBackplane::connect(&redis.url(), fast()).await.unwrap(),
        );
        let mut resumed = b.subscribe_sse_resuming("news", Some(&id_of(4))).await;
        a.publish("news", TopicMessage::text("n10").id("x").unwrap())
            .unwrap();
        let got = sse_events(&mut resumed, 6).await;
        let data: Vec<&str> = got.iter().map(|e| e.data.as_str()).collect();
        assert_eq!(
            data,
            ["n5", "n6", "n7", "n8", "n9", "n10"],
            "replayed, then live"
        );
        assert_eq!(
            got[0].last_event_id,
            id_of(5),
            "the same ids in both processes"
        );

        // A third process that keeps only 8 entries: n0's id is not kept.
        let c = TopicHub::with_backplane(
            b_config,
            RedisBackplane::connect(&redis.url(), fast()).await.unwrap(),
        );
        let mut late = c.subscribe_sse_resuming("news", Some(&id_of(0))).await;
        let got = sse_events(&mut late, 1).await;
        assert_eq!(got[0].event_type, "history-cut", "{got:?}");
        assert_eq!(got[0].data, id_of(0));
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn two_topics_opened_at_once_are_both_read() {
    tokio::time::timeout(LIMIT, async {
        let redis = Redis::start();
        let (a, b) = (hub(&redis, fast()).await, hub(&redis, fast()).await);
        let mut on_a = a.ws_subscriber();
        on_a.join("private/0").await;
        on_a.join("room").await;
        let mut on_b = b.ws_subscriber();
        on_b.join("private/0").await;
        on_b.join("room").await;
        let mut heard = false;
        for i in 0..100 {
            b.publish("room", TopicMessage::text(format!("b{i}")))
                .unwrap();
            if let Ok(Some(Ok((topic, _)))) =
                tokio::time::timeout(Duration::from_millis(100), on_a.next()).await
            {
                if &*topic == "room" {
                    heard = true;
                    break;
                }
            }
        }
        assert!(heard, "A never read the room B publishes to");
    })
    .await
    .expect("test timed out");
}

/// Once a join completes, a message published right after it, in another
/// process, is heard, even while this process's reader sits in a long
/// blocking read of other topics (the topic's start point is fixed by the
/// join, not by the reader's next turn).
#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn a_join_hears_what_is_published_right_after_it() {
    tokio::time::timeout(LIMIT, async {
        let redis = Redis::start();
        let mut slow = fast();
        slow.block = Duration::from_secs(2);
        let (a, b) = (hub(&redis, slow).await, hub(&redis, fast()).await);
        let mut busy = a.ws_subscriber();
        busy.join("busy").await;
        // A's reader is now in a 2 s XREAD on "busy" alone.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut member = a.ws_subscriber();
        member.join("fresh").await;
        b.publish("fresh", TopicMessage::text("right after the join"))
            .unwrap();
        let (topic, m) = member.next().await.unwrap().unwrap();
        assert_eq!(
            (&*topic, m.as_text()),
            ("fresh", Some("right after the join"))
        );
    })
    .await
    .expect("test timed out");
}

/// Redis keeps about `maxlen` entries per topic: a client resuming from an
/// id trimmed away is told so with `history-cut`, and one resuming from an
/// id still kept is replayed exactly what followed it.
#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn replay_is_bounded_by_maxlen_and_a_trimmed_id_is_told() {
    tokio::time::timeout(LIMIT, async {
        let redis = Redis::start();
        let mut short = fast();
        short.maxlen = 50;
        let a = hub(&redis, short).await;
        let client = redis::Client::open(redis.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let key = format!("{}news", oneport_redis::DEFAULT_KEY_PREFIX);
        // The first event's id, as every process knows it.
        a.publish("news", TopicMessage::text("n0").id("x").unwrap())
            .unwrap();
        let first = loop {
            let oldest: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
                .arg(&key)
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(1)
                .query_async(&mut conn)
                .await
                .unwrap();
            if let Some(e) = oldest.ids.first() {
                break e.id.clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        for i in 1..600 {
            a.publish("news", TopicMessage::text(format!("n{i}")).id("x").unwrap())
                .unwrap();
        }
        // Wait until the last one is written.
        let newest = loop {
            let last: redis::streams::StreamRangeReply = redis::cmd("XREVRANGE")
                .arg(&key)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(11)
                .query_async(&mut conn)
                .await
                .unwrap();
            let data = |e: &redis::streams::StreamId| match e.map.get("d") {
                Some(redis::Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
                _ => String::new(),
            };
            if last.ids.first().map(data).as_deref() == Some("n599") {
                break last.ids;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let len: usize = redis::cmd("XLEN")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        // `MAXLEN ~` trims whole nodes (100 entries by default): about 50.
        assert!((50..=150).contains(&len), "{len} entries kept");

        // A fresh process, whose hub would keep 1 024: Redis has fewer.
        let c = hub(&redis, fast()).await;
        let mut late = c.subscribe_sse_resuming("news", Some(&first)).await;
        let got = sse_events(&mut late, 1).await;
        assert_eq!(got[0].event_type, "history-cut", "{got:?}");
        assert_eq!(got[0].data, first, "it names the id that was cut");
        drop(late);
        // The 11th newest is kept: the 10 after it are replayed, in order.
        let from = &newest[10].id;
        let mut resumed = c.subscribe_sse_resuming("news", Some(from)).await;
        let got = sse_events(&mut resumed, 10).await;
        let data: Vec<String> = got.iter().map(|e| e.data.clone()).collect();
        let want: Vec<String> = (590..600).map(|i| format!("n{i}")).collect();
        assert_eq!(data, want);
    })
    .await
    .expect("test timed out");
}
