//! The server's graceful-shutdown signal, built to cost an idle connection
//! a few bytes.
//!
//! Every connection waits for it, most of them while idle, so it is not a
//! future per waiter (a channel's wait future is 160 bytes, held as long as
//! the connection): a waiter owns a slot in one of a few shared tables,
//! where its waker is kept, and polls the signal directly. Firing sets a
//! flag and wakes every waker in the tables.
//!
//! The same slots carry the keep-alive deadlines: a waiter between two
//! requests writes a deadline on the server's coarse idle clock into its
//! slot ([`Shutdown::poll_wait_until`]), and one task per server
//! ([`Trigger::idle_clock`]) advances the clock and wakes the waiters
//! whose deadline has passed, instead of a 112-byte timer per idle
//! connection.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// How many tables the waiters are spread over, so that connections on
/// different worker threads rarely wait for the same lock.
const SHARDS: usize = 8;

/// A deadline slot that has none.
pub(crate) const NO_DEADLINE: u64 = u64::MAX;

/// Wakers of one table, each with the idle-clock tick its waiter wants to
/// be woken at (or [`NO_DEADLINE`]); a free slot is `None` and its index
/// is kept in `free`.
#[derive(Debug, Default)]
struct Table {
    wakers: Vec<Option<Waker>>,
    deadlines: Vec<u64>,
    free: Vec<u32>,
}

#[derive(Debug, Default)]
struct Signal {
    fired: AtomicBool,
    tables: [Mutex<Table>; SHARDS],
    /// Ticks of the idle clock so far.
    clock: AtomicU64,
    /// The idle clock's tick in milliseconds; 0 while no clock runs.
    tick_ms: AtomicU64,
    /// When the idle clock started: its tick `n` comes no sooner than
    /// `n` ticks after this.
    base: OnceLock<tokio::time::Instant>,
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

    /// The server's idle clock, to be spawned once per trigger: every
    /// `tick` it advances and wakes the waiters whose deadline has passed,
    /// until the shutdown fires. Deadlines are kept to within a tick
    /// (late, never early).
    pub(crate) fn idle_clock(&self, tick: Duration) -> impl Future<Output = ()> + Send + 'static {
        let signal = Arc::clone(&self.owner.0);
        let tick = tick.max(Duration::from_millis(1));
        let tick_ms = u64::try_from(tick.as_millis()).unwrap_or(u64::MAX);
        // Before the interval below is made, so that its ticks come no
        // sooner than whole ticks after the base.
        let _ = signal.base.set(tokio::time::Instant::now());
        signal.tick_ms.store(tick_ms, Ordering::SeqCst);
        async move {
            // A tick the runtime was too busy to run comes as soon as it
            // can (the interval's default), so that tick `n` comes about
            // `n` ticks after the base and deadlines worked out from the
            // base do not drift later with every late tick.
            let mut ticks = tokio::time::interval(tick);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            ticks.tick().await;
            while !signal.fired.load(Ordering::SeqCst) {
                ticks.tick().await;
                let now = signal.clock.fetch_add(1, Ordering::SeqCst) + 1;
                for shard in 0..SHARDS {
                    let due: Vec<Waker> = {
                        let mut table = signal.table(shard);
                        let Table {
                            wakers, deadlines, ..
                        } = &mut *table;
                        wakers
                            .iter_mut()
                            .zip(deadlines.iter_mut())
                            .filter(|(_, at)| **at <= now)
                            .filter_map(|(waker, at)| {
                                *at = NO_DEADLINE;
                                waker.take()
                            })
                            .collect()
                    };
                    due.into_iter().for_each(Waker::wake);
                }
            }
            signal.tick_ms.store(0, Ordering::SeqCst);
        }
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
            table.deadlines[index as usize] = NO_DEADLINE;
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
        match self.poll_wait_until(cx, NO_DEADLINE) {
            Poll::Ready(Woken::Shutdown) => Poll::Ready(()),
            _ => Poll::Pending,
        }
    }

    /// The idle-clock tick at least `after` from now, for
    /// [`poll_wait_until`](Shutdown::poll_wait_until); `None` when no
    /// idle clock runs (a signal that never fires, or a server that has
    /// not started one), and the caller needs a timer of its own.
    ///
    /// Counted from the clock's ticks so far rather than from an instant
    /// ([`tick_at`](Shutdown::tick_at)): the wait between two requests
    /// reads no clock.
    pub(crate) fn idle_deadline(&self, after: Duration) -> Option<u64> {
        let signal = self.signal.as_ref()?;
        let tick_ms = signal.tick_ms.load(Ordering::SeqCst);
        if tick_ms == 0 {
            return None;
        }
        let after_ms = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
        // The clock may be just about to tick: one more tick makes the
        // wait at least `after`.
        let ticks = after_ms.div_ceil(tick_ms).saturating_add(1);
        Some(signal.clock.load(Ordering::SeqCst).saturating_add(ticks))
    }

    /// The server's idle-clock tick, while one runs.
    pub(crate) fn tick(&self) -> Option<Duration> {
        let tick_ms = self.signal.as_ref()?.tick_ms.load(Ordering::SeqCst);
        (tick_ms != 0).then(|| Duration::from_millis(tick_ms))
    }

    /// The idle-clock tick by which `at` has certainly passed, for
    /// [`poll_wait_until`](Shutdown::poll_wait_until), and never one that
    /// has already come (a deadline already past waits for the next
    /// tick, so that a waiter whose deadline its owner does not yet see
    /// as due cannot spin). `None` when no idle clock runs.
    pub(crate) fn tick_at(&self, at: tokio::time::Instant) -> Option<u64> {
        let signal = self.signal.as_ref()?;
        let tick_ms = signal.tick_ms.load(Ordering::SeqCst);
        let base = signal.base.get()?;
        if tick_ms == 0 {
            return None;
        }
        let since =
            u64::try_from(at.saturating_duration_since(*base).as_nanos()).unwrap_or(u64::MAX);
        let ticks = since.div_ceil(tick_ms.saturating_mul(1_000_000));
        let next = signal.clock.load(Ordering::SeqCst).saturating_add(1);
        Some(ticks.max(next))
    }

    /// [`poll_wait`](Shutdown::poll_wait), also ready once the server's
    /// idle clock reaches `deadline` (from
    /// [`idle_deadline`](Shutdown::idle_deadline)); the deadline is kept
    /// in this waiter's slot, where the clock finds it. A later call
    /// replaces it.
    pub(crate) fn poll_wait_until(&mut self, cx: &mut Context<'_>, deadline: u64) -> Poll<Woken> {
        let Some(signal) = &self.signal else {
            return Poll::Pending;
        };
        if signal.fired.load(Ordering::SeqCst) {
            return Poll::Ready(Woken::Shutdown);
        }
        if signal.clock.load(Ordering::SeqCst) >= deadline {
            return Poll::Ready(Woken::Deadline);
        }
        match self.slot {
            Some((shard, index)) => {
                let mut table = signal.table(shard as usize);
                table.deadlines[index as usize] = deadline;
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
                        table.deadlines[i as usize] = deadline;
                        i
                    }
                    None => {
                        table.wakers.push(Some(cx.waker().clone()));
                        table.deadlines.push(deadline);
                        (table.wakers.len() - 1) as u32
                    }
                };
                self.slot = Some((shard as u8, index));
            }
        }
        // Checked again after the waker is in place: a fire (or a tick)
        // that took the table's wakers before ours went in has moved the
        // flag (or the clock) by now.
        if signal.fired.load(Ordering::SeqCst) {
            Poll::Ready(Woken::Shutdown)
        } else if signal.clock.load(Ordering::SeqCst) >= deadline {
            Poll::Ready(Woken::Deadline)
        } else {
            Poll::Pending
        }
    }
}

/// What ended a [`Shutdown::poll_wait_until`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Woken {
    /// The server began shutting down.
    Shutdown,
    /// The idle clock reached the deadline.
    Deadline,
}

/// A [`Shutdown`] for a waiter that waits often with the same waker (a
/// WebSocket waits at every message): it remembers what its slot holds,
/// so that such a wait need not lock the table. 24 bytes more than a
/// bare signal, which the keep-alive wait (once per idle spell) does
/// without.
#[derive(Debug)]
pub(crate) struct Waiter {
    shutdown: Shutdown,
    /// What the slot holds since the last write.
    kept: Option<Kept>,
}

/// A waiter's record of its slot's contents: the waker's identity (the
/// parts `Waker::will_wake` compares) and the deadline written with it.
#[derive(Debug, Clone, Copy)]
struct Kept {
    data: usize,
    vtable: &'static std::task::RawWakerVTable,
    deadline: u64,
}

impl Kept {
    fn of(waker: &Waker, deadline: u64) -> Self {
        Self {
            data: waker.data() as usize,
            vtable: waker.vtable(),
            deadline,
        }
    }

    fn same_waker(&self, waker: &Waker) -> bool {
        self.data == waker.data() as usize && std::ptr::eq(self.vtable, waker.vtable())
    }
}

impl Waiter {
    pub(crate) fn new(shutdown: Shutdown) -> Self {
        Self {
            shutdown,
            kept: None,
        }
    }

    /// The signal waited on.
    pub(crate) fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// [`Shutdown::poll_wait_until`], without the table's lock when the
    /// slot already holds this waker and a deadline no later than this
    /// one.
    pub(crate) fn poll_wait_until(&mut self, cx: &mut Context<'_>, deadline: u64) -> Poll<Woken> {
        if let (Some(signal), Some(kept)) = (&self.shutdown.signal, self.kept) {
            if signal.fired.load(Ordering::SeqCst) {
                return Poll::Ready(Woken::Shutdown);
            }
            let now = signal.clock.load(Ordering::SeqCst);
            if now >= deadline {
                return Poll::Ready(Woken::Deadline);
            }
            // The slot still holds this waker (the clock takes it only
            // once past the deadline written with it, and a fire sets the
            // flag first) and will wake it no later than wanted: nothing
            // to write. A deadline kept earlier than this one wakes the
            // waiter early once, and that wait writes the new one.
            if kept.deadline > now && kept.deadline <= deadline && kept.same_waker(cx.waker()) {
                return Poll::Pending;
            }
        }
        self.kept = Some(Kept::of(cx.waker(), deadline));
        self.shutdown.poll_wait_until(cx, deadline)
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

    /// A waker counting its wakes.
    struct Counter(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A waiter's wait that skips the table (same waker, no earlier deadline) must
    /// not skip it when the waker changed: the new one is woken.
    #[test]
    fn a_wait_with_another_waker_is_woken_through_it() {
        let trigger = Trigger::new();
        let mut s = Waiter::new(trigger.subscribe());
        let first = Arc::new(Counter(0.into()));
        let second = Arc::new(Counter(0.into()));
        let (w1, w2) = (Waker::from(first.clone()), Waker::from(second.clone()));
        for w in [&w1, &w1, &w2] {
            let waited = s.poll_wait_until(&mut Context::from_waker(w), NO_DEADLINE);
            assert!(waited.is_pending());
        }
        trigger.fire();
        assert_eq!(second.0.load(Ordering::SeqCst), 1, "the current waker");
        assert_eq!(first.0.load(Ordering::SeqCst), 0, "replaced");
    }

    /// On virtual time: a deadline moved earlier with the same waker is
    /// written (the waiter wakes at the earlier one), and a waiter whose
    /// slot the clock emptied registers again on its next wait.
    #[tokio::test(start_paused = true)]
    async fn an_earlier_deadline_or_an_emptied_slot_is_written() {
        let trigger = Trigger::new();
        let clock = tokio::spawn(trigger.idle_clock(Duration::from_millis(100)));
        let mut s = Waiter::new(trigger.subscribe());
        let fire = trigger.clone();
        // One task throughout, so that every wait has the same waker, and
        // nothing but the signal to wake it.
        let waiter = tokio::spawn(async move {
            let clock = s.shutdown();
            let far = clock
                .idle_deadline(Duration::from_secs(60))
                .expect("a clock");
            let near = clock
                .idle_deadline(Duration::from_millis(300))
                .expect("a clock");
            let started = tokio::time::Instant::now();
            let mut first = true;
            let woken = poll_fn(|cx| {
                if std::mem::take(&mut first) {
                    assert!(s.poll_wait_until(cx, far).is_pending());
                }
                s.poll_wait_until(cx, near)
            })
            .await;
            let at_near = started.elapsed();
            // The clock took the waker with that deadline: a wait for the
            // shutdown alone must put it back, or the fire is never heard.
            poll_fn(|cx| s.poll_wait_until(cx, NO_DEADLINE)).await;
            (woken, at_near, started.elapsed())
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        fire.fire();
        let (woken, at_near, at_fire) = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken at the earlier deadline, then by the fire")
            .expect("waiter");
        assert_eq!(woken, Woken::Deadline);
        assert!(at_near <= Duration::from_millis(500), "{at_near:?}");
        assert!(at_fire >= Duration::from_secs(1), "{at_fire:?}");
        clock.await.expect("clock");
    }

    /// On virtual time: ticks the runtime could not run on time (here five
    /// seconds skipped at once) are caught up, so that a deadline worked
    /// out from an instant still comes about when asked, not later by all
    /// the ticks missed before.
    #[tokio::test(start_paused = true)]
    async fn missed_ticks_are_caught_up_and_deadlines_do_not_drift() {
        let trigger = Trigger::new();
        let clock = tokio::spawn(trigger.idle_clock(Duration::from_millis(100)));
        tokio::task::yield_now().await;
        tokio::time::advance(Duration::from_secs(5)).await;
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        let mut s = trigger.subscribe();
        let started = tokio::time::Instant::now();
        let at = s
            .tick_at(started + Duration::from_millis(300))
            .expect("a clock");
        let woken = tokio::time::timeout(
            Duration::from_secs(10),
            poll_fn(|cx| s.poll_wait_until(cx, at)),
        )
        .await
        .expect("woken");
        assert_eq!(woken, Woken::Deadline);
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(300) && waited <= Duration::from_millis(500),
            "{waited:?}"
        );
        trigger.fire();
        clock.await.expect("clock");
    }

    /// On virtual time: a deadline a second away, on a clock that ticks
    /// every 100 ms, wakes its waiter after at least a second and at most
    /// a tick more; shutdown still wins afterwards.
    #[tokio::test(start_paused = true)]
    async fn the_idle_clock_wakes_a_waiter_at_its_deadline_and_not_before() {
        let trigger = Trigger::new();
        let mut s = trigger.subscribe();
        assert_eq!(
            s.idle_deadline(Duration::from_secs(1)),
            None,
            "no clock yet"
        );
        let clock = tokio::spawn(trigger.idle_clock(Duration::from_millis(100)));
        let deadline = s
            .idle_deadline(Duration::from_secs(1))
            .expect("a clock runs");
        let started = tokio::time::Instant::now();
        let woken = tokio::time::timeout(
            Duration::from_secs(10),
            poll_fn(|cx| s.poll_wait_until(cx, deadline)),
        )
        .await
        .expect("the clock wakes the waiter");
        assert_eq!(woken, Woken::Deadline);
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(1), "early: {waited:?}");
        assert!(waited <= Duration::from_millis(1200), "late: {waited:?}");
        // Many waiters with different deadlines each wake at their own.
        let mut waiters = Vec::new();
        for i in 1..=5u64 {
            let mut w = trigger.subscribe();
            waiters.push(tokio::spawn(async move {
                let at = w
                    .idle_deadline(Duration::from_millis(300 * i))
                    .expect("a clock runs");
                let from = tokio::time::Instant::now();
                let woken = poll_fn(|cx| w.poll_wait_until(cx, at)).await;
                (woken, from.elapsed(), Duration::from_millis(300 * i))
            }));
        }
        for w in waiters {
            let (woken, waited, asked) = w.await.expect("waiter");
            assert_eq!(woken, Woken::Deadline);
            assert!(
                waited >= asked && waited <= asked + Duration::from_millis(200),
                "{waited:?} for {asked:?}"
            );
        }
        trigger.fire();
        assert_eq!(
            poll_fn(|cx| s.poll_wait_until(cx, u64::MAX)).await,
            Woken::Shutdown
        );
        clock.await.expect("the clock stops once shut down");
        assert_eq!(
            Shutdown::never().idle_deadline(Duration::from_secs(1)),
            None
        );
    }

    #[test]
    fn never_stays_pending() {
        let mut s = Shutdown::never();
        let mut cx = Context::from_waker(Waker::noop());
        assert!(s.poll_wait(&mut cx).is_pending());
        assert!(!s.is_shutting_down());
    }
}
