//! The waker fan-out that lets two tasks wait on one transport.

use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Wake, Waker};

/// Which half of a split connection is waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Half {
    /// The receiving half (which also flushes pongs and close echoes).
    Receiver = 0,
    /// The sending half.
    Sender = 1,
}

/// Wakes both halves of a split connection. A transport remembers only the
/// last waker given to it for each direction; polling it with this fan-out
/// (`Waker::from(Arc<WakerFanout>)`) instead keeps one half (the receiver
/// flushing a pong, say) from taking the other's wake-up. Each half
/// [`register`](WakerFanout::register)s its own waker before it polls; a
/// wake-up wakes whoever registered since the last one.
///
/// Used by this crate's split halves and by `oneport-dispatch`'s.
#[derive(Debug, Default)]
pub struct WakerFanout {
    slots: Mutex<[Option<Waker>; 2]>,
}

impl WakerFanout {
    /// Records `waker` as the task of `half`, to be woken by the next
    /// wake-up.
    pub fn register(&self, half: Half, waker: &Waker) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut slots[half as usize] {
            Some(w) if w.will_wake(waker) => {}
            s => *s = Some(waker.clone()),
        }
    }
}

impl Wake for WakerFanout {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let woken = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            [slots[0].take(), slots[1].take()]
        };
        for w in woken.into_iter().flatten() {
            w.wake();
        }
    }
}

/// Runs `poll` with the context to poll the transport with for `half`:
/// when the socket is split, one whose waker is the fan-out's (with
/// `cx`'s task registered in it); otherwise `cx` itself, so that a whole
/// socket's writes do not clone its task's waker every time.
pub(crate) fn poll_with<T>(
    wakers: Option<&Arc<WakerFanout>>,
    half: Half,
    cx: &mut Context<'_>,
    poll: impl FnOnce(&mut Context<'_>) -> T,
) -> T {
    match wakers {
        Some(fanout) => {
            fanout.register(half, cx.waker());
            let waker = Waker::from(Arc::clone(fanout));
            poll(&mut Context::from_waker(&waker))
        }
        None => poll(cx),
    }
}
