//! The broadcast hub: replay semantics, slow subscribers, history bounds,
//! keep-alive, batching into one write, write timeouts.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use oneport_sse::{Event, Hub, HubConfig, ParsedEvent, Parser, Subscription, SubscriptionError};
use tokio::io::{AsyncReadExt, AsyncWrite};

const LIMIT: Duration = Duration::from_secs(30);

fn quiet() -> HubConfig {
    HubConfig::default().keep_alive(None)
}

/// Everything a subscription yields until the hub is closed, parsed.
async fn collect(mut sub: Subscription) -> Vec<ParsedEvent> {
    let mut parser = Parser::default();
    let mut out = Vec::new();
    let mut events = Vec::new();
    while sub.next_batch(&mut out).await.is_some() {
        for chunk in out.drain(..) {
            parser.feed(&chunk).unwrap();
        }
        events.extend(std::iter::from_fn(|| parser.poll_event()));
    }
    events
}

fn data(events: &[ParsedEvent]) -> Vec<&str> {
    events.iter().map(|e| e.data.as_str()).collect()
}

#[tokio::test]
async fn late_subscriber_sees_only_events_with_an_id() {
    tokio::time::timeout(LIMIT, async {
        let hub = Hub::new(quiet());
        hub.publish(Event::new("no id"));
        hub.publish(Event::new("with id").id("a").unwrap());
        let sub = hub.subscribe(None);
        hub.publish(Event::new("live"));
        hub.close();
        let events = collect(sub).await;
        assert_eq!(data(&events), ["with id", "live"]);
        assert_eq!(events[0].last_event_id, "a");
        assert_eq!(events[1].last_event_id, "a");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn last_event_id_resumes_exactly_after_that_id() {
    tokio::time::timeout(LIMIT, async {
        let hub = Hub::new(quiet());
        for i in 1..=5 {
            assert_eq!(
                hub.publish_with_id(Event::new(format!("e{i}"))),
                i.to_string()
            );
            hub.publish(Event::new(format!("live-only{i}")));
        }
        let resumed = hub.subscribe(Some("3"));
        let from_start = hub.subscribe(None);
        let empty_id = hub.subscribe(Some(""));
        let unknown = hub.subscribe(Some("no such id"));
        let at_end = hub.subscribe(Some("5"));
        hub.publish_with_id(Event::new("e6"));
        hub.close();
        assert_eq!(data(&collect(resumed).await), ["e4", "e5", "e6"]);
        let all = ["e1", "e2", "e3", "e4", "e5", "e6"];
        assert_eq!(data(&collect(from_start).await), all);
        assert_eq!(data(&collect(empty_id).await), all);
        // An id that is not kept: first a `history-cut` event whose data
        // is the id asked for, then everything kept.
        let mut told = vec!["no such id"];
        told.extend(all);
        assert_eq!(data(&collect(unknown).await), told);
        assert_eq!(data(&collect(at_end).await), ["e6"]);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn resume_uses_the_most_recent_event_with_a_repeated_id() {
    tokio::time::timeout(LIMIT, async {
        let hub = Hub::new(quiet());
        hub.publish(Event::new("a").id("x").unwrap());
        hub.publish(Event::new("b").id("y").unwrap());
        hub.publish(Event::new("c").id("x").unwrap());
        hub.publish(Event::new("d").id("z").unwrap());
        let sub = hub.subscribe(Some("x"));
        hub.close();
        assert_eq!(data(&collect(sub).await), ["d"]);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn publish_with_id_never_reuses_numeric_ids() {
    tokio::time::timeout(LIMIT, async {
        let hub = Hub::new(quiet());
        assert_eq!(hub.publish_with_id(Event::new("a")), "1");
        hub.publish(Event::new("b").id("10").unwrap());
        assert_eq!(hub.publish_with_id(Event::new("c")), "11");
        hub.publish(Event::new("d").id("5").unwrap());
        hub.publish(Event::new("e").id("not a number").unwrap());
        // An id the event already had is replaced.
        assert_eq!(
            hub.publish_with_id(Event::new("f").id("zzz").unwrap()),
            "12"
        );
        let sub = hub.subscribe(Some("11"));
        hub.close();
        let events = collect(sub).await;
        assert_eq!(data(&events), ["d", "e", "f"]);
        assert_eq!(events[2].last_event_id, "12");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn history_is_bounded_by_count() {
    tokio::time::timeout(LIMIT, async {
        let hub = Hub::new(quiet().history_max_events(3));
        for i in 1..=5 {
            hub.publish_with_id(Event::new(format!("e{i}")));
        }
        assert_eq!(hub.history_len(), 3);
        let sub = hub.subscribe(None);
        hub.close();
        assert_eq!(data(&collect(sub).await), ["e3", "e4", "e5"]);
        assert_eq!(hub.history_len(), 0, "close drops the history");

        let hub = Hub::new(quiet().history_max_events(0));
        hub.publish_with_id(Event::new("x"));
        assert_eq!(hub.history_len(), 0);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn history_is_bounded_by_bytes() {
    tokio::time::timeout(LIMIT, async {
        // "id: N\ndata: xxxx\n\n" is 18 bytes for a one-digit id.
        let one = Event::new("xxxx").id("1").unwrap().to_bytes().len();
        assert_eq!(one, 18);
        let hub = Hub::new(quiet().history_max_bytes(2 * one + 1));
        for i in 1..=4 {
            hub.publish_with_id(Event::new("xxxx"));
            assert!(hub.history_bytes() <= 2 * one + 1);
            assert_eq!(hub.history_len(), i.min(2));
        }
        assert_eq!(hub.history_bytes(), 2 * one);
        // A bigger event evicts as many old ones as it needs.
        hub.publish_with_id(Event::new("x".repeat(one - 4)));
        assert_eq!(hub.history_len(), 1);
        assert_eq!(hub.history_bytes(), one + 10);
        // An event too big to keep at all is live only, and evicts nothing.
        hub.publish_with_id(Event::new("x".repeat(3 * one)));
        assert_eq!(hub.history_len(), 1);
        let sub = hub.subscribe(None);
        hub.close();
        let events = collect(sub).await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].last_event_id, "5");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_while_publishing_leaves_no_gap_and_no_duplicate() {
    tokio::time::timeout(LIMIT, async {
        const TOTAL: u64 = 2000;
        const SUBSCRIBERS: u64 = 50;
        let hub = Hub::new(quiet().history_max_events(16).subscriber_queue(4096));
        let published = Arc::new(AtomicUsize::new(0));
        let publisher = {
            let hub = hub.clone();
            let published = Arc::clone(&published);
            std::thread::spawn(move || {
                for _ in 0..TOTAL {
                    hub.publish_with_id(Event::new("x"));
                    published.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        // Subscribe at points spread over the run, racing the publisher.
        let mut subs = Vec::new();
        for k in 0..SUBSCRIBERS {
            let at = usize::try_from(k * TOTAL / SUBSCRIBERS).unwrap();
            while published.load(Ordering::SeqCst) < at && !publisher.is_finished() {
                tokio::task::yield_now().await;
            }
            subs.push(hub.subscribe(None));
        }
        publisher.join().unwrap();
        subs.push(hub.subscribe(None));
        hub.close();
        for sub in subs {
            let ids: Vec<u64> = collect(sub)
                .await
                .iter()
                .map(|e| e.last_event_id.parse().unwrap())
                .collect();
            let first = ids[0];
            let expected: Vec<u64> = (first..=TOTAL).collect();
            assert_eq!(ids, expected);
        }
    })
    .await
    .unwrap();
}

/// A subscriber that never reads does not hold up 100 others, is dropped
/// once its bounded queue is full, and never holds more than that queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_subscriber_is_dropped_without_delaying_others() {
    tokio::time::timeout(LIMIT, async {
        const QUEUE: usize = 8;
        const FAST: usize = 100;
        const EVENTS: usize = 50;
        let hub = Hub::new(quiet().subscriber_queue(QUEUE));
        let stalled = hub.subscribe(None);
        let acked = Arc::new(AtomicUsize::new(0));
        let notify = Arc::new(tokio::sync::Notify::new());
        let mut readers = Vec::new();
        for _ in 0..FAST {
            let mut sub = hub.subscribe(None);
            let acked = Arc::clone(&acked);
            let notify = Arc::clone(&notify);
            readers.push(tokio::spawn(async move {
                let mut parser = Parser::default();
                let mut got = Vec::new();
                let mut out = Vec::new();
                while sub.next_batch(&mut out).await.is_some() {
                    for chunk in out.drain(..) {
                        parser.feed(&chunk).unwrap();
                    }
                    while let Some(ev) = parser.poll_event() {
                        got.push(ev.data);
                        acked.fetch_add(1, Ordering::SeqCst);
                        notify.notify_one();
                    }
                }
                got
            }));
        }
        assert_eq!(hub.subscriber_count(), FAST + 1);
        for i in 0..EVENTS {
            let queued_to = hub.publish(Event::new(i.to_string()));
            // The stalled one takes QUEUE events, then is dropped.
            let expected = if i < QUEUE { FAST + 1 } else { FAST };
            assert_eq!(queued_to, expected, "event {i}");
            assert!(stalled.queued() <= QUEUE);
            while acked.load(Ordering::SeqCst) < FAST * (i + 1) {
                notify.notified().await;
            }
        }
        assert_eq!(hub.subscriber_count(), FAST);
        assert!(stalled.is_lagged());
        assert_eq!(stalled.queued(), QUEUE, "memory stays at the queue bound");
        let mut sink = Vec::new();
        assert!(matches!(
            stalled.forward(&mut sink).await,
            Err(SubscriptionError::Lagged)
        ));
        assert!(sink.is_empty());
        hub.close();
        let expected: Vec<String> = (0..EVENTS).map(|i| i.to_string()).collect();
        for reader in readers {
            assert_eq!(reader.await.unwrap(), expected);
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn dropped_subscriptions_are_not_counted() {
    tokio::time::timeout(LIMIT, async {
        let hub = Hub::new(quiet());
        let a = hub.subscribe(None);
        let b = hub.subscribe(None);
        assert_eq!(hub.subscriber_count(), 2);
        drop(a);
        assert_eq!(hub.subscriber_count(), 1);
        assert_eq!(hub.publish(Event::new("x")), 1);
        drop(b);
        assert_eq!(hub.publish(Event::new("x")), 0);
        assert_eq!(hub.subscriber_count(), 0);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn close_drains_then_ends_and_later_subscribers_get_an_ended_stream() {
    tokio::time::timeout(LIMIT, async {
        let hub = Hub::new(quiet().retry(Some(Duration::from_secs(1))));
        let sub = hub.subscribe(None);
        hub.publish(Event::new("queued before close"));
        hub.close();
        assert!(hub.is_closed());
        assert_eq!(hub.publish(Event::new("after")), 0);
        let mut out = Vec::new();
        sub.forward(&mut out).await.unwrap();
        assert_eq!(out, b"retry: 1000\n\ndata: queued before close\n\n");

        let late = hub.subscribe(None);
        assert_eq!(late.queued(), 0);
        let mut out = Vec::new();
        late.forward(&mut out).await.unwrap();
        assert!(out.is_empty());
        assert_eq!(hub.subscriber_count(), 0);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn dropping_every_hub_handle_ends_the_streams() {
    tokio::time::timeout(LIMIT, async {
        let hub = Hub::new(quiet());
        let sub = hub.subscribe(None);
        let task = tokio::spawn(async move {
            let mut out = Vec::new();
            sub.forward(&mut out).await.map(|()| out)
        });
        hub.publish(Event::new("last"));
        drop(hub);
        assert_eq!(task.await.unwrap().unwrap(), b"data: last\n\n");
    })
    .await
    .unwrap();
}

#[tokio::test(start_paused = true)]
async fn keep_alive_comment_when_idle() {
    tokio::time::timeout(LIMIT * 4, async {
        let every = Duration::from_secs(15);
        let hub = Hub::new(HubConfig::default().keep_alive(Some(every)));
        let sub = hub.subscribe(None);
        let (mut client, mut server) = tokio::io::duplex(1024);
        let started = tokio::time::Instant::now();
        let task = tokio::spawn(async move { sub.forward(&mut server).await });

        let mut buf = [0u8; 64];
        let n = client.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b": keep-alive\n\n");
        assert_eq!(started.elapsed(), every);

        // Events reset the idle timer; the parser ignores the comments.
        tokio::time::sleep(Duration::from_secs(10)).await;
        hub.publish(Event::new("x"));
        let n = client.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"data: x\n\n");
        let n = client.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b": keep-alive\n\n");
        assert_eq!(started.elapsed(), every * 2 + Duration::from_secs(10));

        let mut parser = Parser::default();
        parser
            .feed(b": keep-alive\n\ndata: y\n\n: keep-alive\n\n")
            .unwrap();
        assert_eq!(parser.poll_event().unwrap().data, "y");
        assert!(parser.poll_event().is_none());

        hub.close();
        task.await.unwrap().unwrap();
    })
    .await
    .unwrap();
}

/// An `AsyncWrite` that counts the calls that write data.
#[derive(Default)]
struct CountingWriter {
    vectored: bool,
    /// Never completes a write (a peer that stopped reading).
    stuck: bool,
    writes: usize,
    data: Vec<u8>,
}

impl AsyncWrite for CountingWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.stuck {
            return Poll::Pending;
        }
        self.writes += 1;
        self.data.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.stuck {
            return Poll::Pending;
        }
        self.writes += 1;
        let mut n = 0;
        for b in bufs {
            self.data.extend_from_slice(b);
            n += b.len();
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        self.vectored
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn queued_events_leave_in_one_write() {
    tokio::time::timeout(LIMIT, async {
        for vectored in [true, false] {
            let hub = Hub::new(quiet().retry(Some(Duration::from_millis(500))));
            hub.publish_with_id(Event::new("replayed"));
            let sub = hub.subscribe(None);
            let mut expected = b"retry: 500\n\nid: 1\ndata: replayed\n\n".to_vec();
            for i in 0..5 {
                let ev = Event::new(format!("live {i}"));
                expected.extend_from_slice(&ev.to_bytes());
                hub.publish(ev);
            }
            hub.close();
            let mut w = CountingWriter {
                vectored,
                ..CountingWriter::default()
            };
            sub.forward(&mut w).await.unwrap();
            assert_eq!(w.writes, 1, "vectored: {vectored}");
            assert_eq!(w.data, expected);
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn many_queued_events_still_leave_in_one_write() {
    tokio::time::timeout(LIMIT, async {
        let hub = Hub::new(quiet());
        let sub = hub.subscribe(None);
        for i in 0..200 {
            hub.publish(Event::new(i.to_string()));
        }
        hub.close();
        let mut w = CountingWriter {
            vectored: true,
            ..CountingWriter::default()
        };
        sub.forward(&mut w).await.unwrap();
        assert_eq!(w.writes, 1);
        let mut parser = Parser::default();
        parser.feed(&w.data).unwrap();
        assert_eq!(std::iter::from_fn(|| parser.poll_event()).count(), 200);
    })
    .await
    .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_socket_that_stays_unwritable_is_dropped() {
    tokio::time::timeout(LIMIT * 4, async {
        let timeout = Duration::from_secs(5);
        let hub = Hub::new(quiet().write_timeout(timeout));
        let sub = hub.subscribe(None);
        hub.publish(Event::new("x"));
        let mut w = CountingWriter {
            stuck: true,
            ..CountingWriter::default()
        };
        let started = tokio::time::Instant::now();
        let result = sub.forward(&mut w).await;
        assert!(matches!(result, Err(SubscriptionError::WriteTimeout)));
        assert_eq!(started.elapsed(), timeout);
    })
    .await
    .unwrap();
}

/// A subscriber whose write is blocked (its client stopped reading) is
/// ended as soon as the hub drops it for falling behind, long before its
/// write timeout.
#[tokio::test(start_paused = true)]
async fn a_dropped_subscriber_ends_at_once_even_while_its_write_is_blocked() {
    tokio::time::timeout(LIMIT, async {
        let hub = Hub::new(
            quiet()
                .subscriber_queue(2)
                .write_timeout(Duration::from_secs(3600)),
        );
        let sub = hub.subscribe(None);
        hub.publish(Event::new("first"));
        let forward = tokio::spawn(async move {
            let mut w = CountingWriter {
                stuck: true,
                ..CountingWriter::default()
            };
            let started = tokio::time::Instant::now();
            (sub.forward(&mut w).await, started.elapsed())
        });
        // Let the forward take the first event and block on writing it.
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(hub.subscriber_count(), 1);
        // The queue fills; the next publish drops the subscriber.
        for i in 0..3 {
            hub.publish(Event::new(format!("more {i}")));
        }
        assert_eq!(hub.subscriber_count(), 0);
        let (result, waited) = forward.await.unwrap();
        assert!(
            matches!(result, Err(SubscriptionError::Lagged)),
            "{result:?}"
        );
        assert!(waited < Duration::from_secs(1), "ended after {waited:?}");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn next_batch_is_cancel_safe() {
    tokio::time::timeout(LIMIT, async {
        let hub = Hub::new(quiet());
        let mut sub = hub.subscribe(None);
        let mut out: Vec<Bytes> = Vec::new();
        // Nothing queued: the wait is cancelled, nothing is lost.
        let waited =
            tokio::time::timeout(Duration::from_millis(10), sub.next_batch(&mut out)).await;
        assert!(waited.is_err());
        assert!(out.is_empty());
        hub.publish(Event::new("a"));
        hub.publish(Event::new("b"));
        sub.next_batch(&mut out).await.unwrap();
        assert_eq!(out.len(), 2);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn retry_hint_comes_first_then_the_replay() {
    tokio::time::timeout(LIMIT, async {
        let hub = Hub::new(quiet().retry(Some(Duration::from_millis(2500))));
        hub.publish(Event::new("kept").id("1").unwrap());
        let mut sub = hub.subscribe(None);
        let mut out = Vec::new();
        sub.next_batch(&mut out).await.expect("a batch");
        let wire: Vec<u8> = out.iter().flat_map(|b| b.iter().copied()).collect();
        assert!(
            wire.starts_with(b"retry: 2500\n\n"),
            "{:?}",
            String::from_utf8_lossy(&wire)
        );
        assert!(
            wire.ends_with(b"id: 1\ndata: kept\n\n"),
            "{:?}",
            String::from_utf8_lossy(&wire)
        );
        // A client applies the hint.
        let mut parser = Parser::default();
        parser.feed(&wire).unwrap();
        assert_eq!(parser.poll_event().unwrap().data, "kept");
        assert_eq!(parser.retry(), Some(Duration::from_millis(2500)));
        hub.close();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn generated_ids_are_numbers_that_resume() {
    tokio::time::timeout(LIMIT, async {
        let hub = Hub::new(quiet());
        let a = hub.publish_with_id(Event::new("a"));
        let b = hub.publish_with_id(Event::new("b"));
        assert_ne!(a, b);
        assert!(
            a.parse::<u64>().is_ok() && b.parse::<u64>().is_ok(),
            "{a} {b}"
        );
        let sub = hub.subscribe(Some(&a));
        hub.close();
        let events = collect(sub).await;
        assert_eq!(data(&events), ["b"]);
        assert_eq!(events[0].last_event_id, b);
    })
    .await
    .unwrap();
}
