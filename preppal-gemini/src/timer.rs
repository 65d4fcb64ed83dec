//! [`DeadlineTimer`]: one reusable tokio timer for a driver loop whose deadline is
//! recomputed on every turn of the loop.
//!
//! A `tokio::time::sleep_until` made anew in each `tokio::select!` registers a timer entry
//! and removes it again on every message relayed: at 50 candidate frames a second per
//! interview that is a measurable share of the relay's CPU (`benches/README.md`). This timer
//! keeps one entry per loop and moves it only when the deadline comes earlier. A deadline
//! that moves later (a stall deadline pushed back by every model chunk) is picked up lazily,
//! when the earlier one fires.

use std::pin::Pin;

use tokio::time::{Instant, Sleep};

/// A timer that waits for the deadline last given to [`DeadlineTimer::set`].
///
/// [`DeadlineTimer::wait`] returns once that deadline has passed; with no deadline it waits
/// forever. Setting the deadline costs nothing unless it comes earlier than the one the
/// underlying timer is armed for.
#[derive(Debug)]
pub struct DeadlineTimer {
    sleep: Pin<Box<Sleep>>,
    /// The underlying timer is set for a deadline not later than `wanted`.
    armed: bool,
    wanted: Option<Instant>,
}

impl Default for DeadlineTimer {
    fn default() -> Self {
        Self::new()
    }
}

impl DeadlineTimer {
    /// A timer with no deadline.
    ///
    /// # Panics
    /// Outside a tokio runtime with its time driver enabled (as `tokio::time::sleep`).
    pub fn new() -> Self {
        Self {
            sleep: Box::pin(tokio::time::sleep_until(Instant::now())),
            armed: false,
            wanted: None,
        }
    }

    /// Sets the deadline [`DeadlineTimer::wait`] waits for (`None`: no deadline).
    pub fn set(&mut self, deadline: Option<Instant>) {
        self.wanted = deadline;
        if let Some(at) = deadline {
            if !self.armed || at < self.sleep.deadline() {
                self.sleep.as_mut().reset(at);
                self.armed = true;
            }
        }
    }

    /// The deadline last set.
    pub fn deadline(&self) -> Option<Instant> {
        self.wanted
    }

    /// Waits until the deadline has passed; pending forever while there is none.
    ///
    /// Cancel-safe: dropping the future loses nothing, and the next call waits for the same
    /// deadline.
    pub async fn wait(&mut self) {
        loop {
            let Some(at) = self.wanted else {
                return std::future::pending().await;
            };
            if !self.armed {
                self.sleep.as_mut().reset(at);
                self.armed = true;
            }
            self.sleep.as_mut().await;
            self.armed = false;
            match self.wanted {
                Some(at) if at <= Instant::now() => return,
                // Moved later since the timer was armed: wait for the rest.
                _ => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn waits_for_a_deadline_moved_later() {
        let start = Instant::now();
        let mut timer = DeadlineTimer::new();
        timer.set(Some(start + Duration::from_secs(1)));
        // Moved later before it fired: the earlier arming must not end the wait.
        timer.set(Some(start + Duration::from_secs(5)));
        timer.wait().await;
        assert!(Instant::now() >= start + Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_moved_earlier_rearms() {
        let start = Instant::now();
        let mut timer = DeadlineTimer::new();
        timer.set(Some(start + Duration::from_secs(60)));
        timer.set(Some(start + Duration::from_secs(2)));
        timer.wait().await;
        let waited = Instant::now() - start;
        assert!(waited >= Duration::from_secs(2) && waited < Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn no_deadline_waits_forever_and_a_cancelled_wait_keeps_the_deadline() {
        let start = Instant::now();
        let mut timer = DeadlineTimer::new();
        let waited = tokio::time::timeout(Duration::from_secs(3600), timer.wait()).await;
        assert!(waited.is_err(), "no deadline: the wait never ends");
        timer.set(Some(Instant::now() + Duration::from_secs(10)));
        let cut = tokio::time::timeout(Duration::from_secs(4), timer.wait()).await;
        assert!(cut.is_err());
        timer.wait().await;
        assert!(Instant::now() >= start + Duration::from_secs(3610));
        assert!(timer.deadline().is_some());
        // Cleared: waits forever again.
        timer.set(None);
        let waited = tokio::time::timeout(Duration::from_secs(3600), timer.wait()).await;
        assert!(waited.is_err());
    }
}
