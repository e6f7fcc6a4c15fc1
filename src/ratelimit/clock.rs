//! governor's clock over the gateway's injected clock, so quotas are tested with
//! [`crate::clock::FakeClock`] and never with `sleep`.
//!
//! The injected clock is wall time, which can step backwards (NTP, an operator). A backward
//! step must not throttle every caller until wall time catches up, so this clock only ever
//! moves forward: it follows forward movements of the source and ignores backward ones.

use crate::clock::{Millis, SharedClock};
use governor::nanos::Nanos;
use std::sync::{Arc, Mutex};

/// A monotonic governor clock reading a [`SharedClock`]. Clones share one timeline, so every
/// rule's limiter sees the same time.
#[derive(Clone)]
pub struct GovernorClock {
    inner: Arc<Inner>,
}

struct Inner {
    source: SharedClock,
    /// The last reading of `source`, and the monotonic time (ms since this clock was made).
    state: Mutex<(Millis, u64)>,
}

impl GovernorClock {
    pub fn new(source: SharedClock) -> Self {
        let start = source.now_ms();
        GovernorClock {
            inner: Arc::new(Inner {
                source,
                state: Mutex::new((start, 0)),
            }),
        }
    }

    /// Monotonic milliseconds since this clock was made.
    pub fn now_mono_ms(&self) -> u64 {
        let raw = self.inner.source.now_ms();
        let mut state = self
            .inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (last_raw, mono) = *state;
        let step = u64::try_from(raw.saturating_sub(last_raw)).unwrap_or(0);
        let next = mono.saturating_add(step);
        *state = (raw, next);
        next
    }
}

impl governor::clock::Clock for GovernorClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::new(self.now_mono_ms().saturating_mul(1_000_000))
    }
}

impl std::fmt::Debug for GovernorClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GovernorClock").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;

    #[test]
    fn follows_the_source_forward_and_ignores_backward_steps() {
        let fake = FakeClock::new(10_000);
        let clock = GovernorClock::new(Arc::new(fake.clone()));
        assert_eq!(clock.now_mono_ms(), 0);
        fake.advance_ms(250);
        assert_eq!(clock.now_mono_ms(), 250);
        fake.advance_ms(-5_000);
        assert_eq!(
            clock.now_mono_ms(),
            250,
            "a backward step does not move time"
        );
        fake.advance_ms(100);
        assert_eq!(
            clock.now_mono_ms(),
            350,
            "forward movement after the step counts"
        );
    }
}
