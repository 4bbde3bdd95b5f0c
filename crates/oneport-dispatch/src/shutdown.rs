//! The server's graceful-shutdown signal, built to cost an idle connection
//! a few bytes.
//!
//! Every connection waits for it, most of them while idle, so it is not a
//! future per waiter (a channel's wait future is 160 bytes, held as long as
//! the connection): a waiter owns a slot in one of a few shared tables,
//! where its waker is kept, and polls the signal directly. Firing sets a
//! flag and wakes every waker in the tables.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// How many tables the waiters are spread over, so that connections on
/// different worker threads rarely wait for the same lock.
const SHARDS: usize = 8;

/// Wakers of one table; a free slot is `None` and its index is kept in
/// `free`.
#[derive(Debug, Default)]
struct Table {
    wakers: Vec<Option<Waker>>,
    free: Vec<u32>,
}

#[derive(Debug, Default)]
struct Signal {
    fired: AtomicBool,
    tables: [Mutex<Table>; SHARDS],
}

impl Signal {
    fn table(&self, shard: usize) -> MutexGuard<'_, Table> {
        // A panic while a table is locked leaves it consistent: a slot
        // is written whole or not at all.
        self.tables[shard]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn fire(&self) {
        self.fired.store(true, Ordering::SeqCst);
        for shard in 0..SHARDS {
            let wakers: Vec<Waker> = self
                .table(shard)
                .wakers
                .iter_mut()
                .filter_map(Option::take)
                .collect();
            // Woken outside the lock: a woken task may poll at once.
            wakers.into_iter().for_each(Waker::wake);
        }
    }
}

/// The server's end: fires the signal on [`fire`](Trigger::fire), or when
/// the last handle is dropped (a server that is gone has shut down).
#[derive(Debug, Clone)]
pub(crate) struct Trigger {
    owner: Arc<Owner>,
}

#[derive(Debug)]
struct Owner(Arc<Signal>);

impl Drop for Owner {
    fn drop(&mut self) {
        self.0.fire();
    }
}

impl Trigger {
    pub(crate) fn new() -> Self {
        Self {
            owner: Arc::new(Owner(Arc::new(Signal::default()))),
        }
    }

    /// Begins the shutdown; every [`Shutdown`] of this trigger fires.
    pub(crate) fn fire(&self) {
        self.owner.0.fire();
    }

    /// A new signal for a connection or a task.
    pub(crate) fn subscribe(&self) -> Shutdown {
        Shutdown {
            signal: Some(self.owner.0.clone()),
            slot: None,
        }
    }
}

/// A signal that fires once when the server begins a graceful shutdown.
///
/// Cloning gives an independent signal of the same server.
#[derive(Debug)]
pub struct Shutdown {
    signal: Option<Arc<Signal>>,
    /// The table and index of this waiter's waker, from its first wait
    /// until it is dropped.
    slot: Option<(u8, u32)>,
}

impl Clone for Shutdown {
    fn clone(&self) -> Self {
        Self {
            signal: self.signal.clone(),
            slot: None,
        }
    }
}

impl Drop for Shutdown {
    fn drop(&mut self) {
        if let (Some(signal), Some((shard, index))) = (&self.signal, self.slot) {
            let mut table = signal.table(shard as usize);
            table.wakers[index as usize] = None;
            table.free.push(index);
        }
    }
}

impl Shutdown {
    /// A signal that never fires (for connections served outside a server).
    pub fn never() -> Self {
        Self {
            signal: None,
            slot: None,
        }
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.signal
            .as_ref()
            .is_some_and(|s| s.fired.load(Ordering::SeqCst))
    }

    /// Completes when shutdown begins (at once if it already has).
    ///
    /// Cancel-safe, and cheap to call again and again (in a `select!`
    /// loop): the waiter's slot is taken once and kept by this `Shutdown`.
    pub async fn wait(&mut self) {
        poll_fn(|cx| self.poll_wait(cx)).await;
    }

    /// Ready once shutdown has begun; otherwise keeps `cx`'s waker to be
    /// woken when it does.
    pub(crate) fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(signal) = &self.signal else {
            return Poll::Pending;
        };
        if signal.fired.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        match self.slot {
            Some((shard, index)) => {
                let mut table = signal.table(shard as usize);
                let slot = &mut table.wakers[index as usize];
                match slot {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *slot = Some(cx.waker().clone()),
                }
            }
            None => {
                let shard = next_shard() % SHARDS;
                let mut table = signal.table(shard);
                let index = match table.free.pop() {
                    Some(i) => {
                        table.wakers[i as usize] = Some(cx.waker().clone());
                        i
                    }
                    None => {
                        table.wakers.push(Some(cx.waker().clone()));
                        (table.wakers.len() - 1) as u32
                    }
                };
                self.slot = Some((shard as u8, index));
            }
        }
        // Checked again after the waker is in place: a fire that took the
        // table's wakers before ours went in has set the flag by now.
        if signal.fired.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// Round-robin over the tables for new waiters.
fn next_shard() -> usize {
    use std::sync::atomic::AtomicUsize;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn every_waiter_wakes_when_fired_and_late_ones_at_once() {
        let trigger = Trigger::new();
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let mut s = trigger.subscribe();
            tasks.push(tokio::spawn(async move { s.wait().await }));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(tasks.iter().all(|t| !t.is_finished()));
        trigger.fire();
        for t in tasks {
            tokio::time::timeout(Duration::from_secs(5), t)
                .await
                .expect("woken")
                .expect("task");
        }
        let mut late = trigger.subscribe();
        assert!(late.is_shutting_down());
        late.wait().await;
    }

    #[tokio::test]
    async fn dropping_the_last_trigger_fires() {
        let trigger = Trigger::new();
        let mut s = trigger.subscribe();
        let t = tokio::spawn(async move { s.wait().await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(trigger);
        tokio::time::timeout(Duration::from_secs(5), t)
            .await
            .expect("woken")
            .expect("task");
    }

    #[test]
    fn a_dropped_waiter_gives_its_slot_back() {
        let trigger = Trigger::new();
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        for _ in 0..1000 {
            let mut s = trigger.subscribe();
            assert!(s.poll_wait(&mut cx).is_pending());
        }
        let held: usize = (0..SHARDS)
            .map(|i| {
                let t = trigger.owner.0.table(i);
                t.wakers.iter().filter(|w| w.is_some()).count()
            })
            .sum();
        assert_eq!(held, 0, "wakers left behind by dropped waiters");
        let slots: usize = (0..SHARDS)
            .map(|i| trigger.owner.0.table(i).wakers.len())
            .sum();
        assert!(slots <= SHARDS, "slots are reused, not grown: {slots}");
    }

    #[test]
    fn never_stays_pending() {
        let mut s = Shutdown::never();
        let mut cx = Context::from_waker(Waker::noop());
        assert!(s.poll_wait(&mut cx).is_pending());
        assert!(!s.is_shutting_down());
    }
}
