//! Log lines for events that a peer can repeat at will (refused frames): the first of a
//! run, then at most one line per period with the count of those not logged.

use std::time::{Duration, Instant};

/// Logs the first of a run of like events, then at most one line per period with the
/// number not logged since.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogThrottle {
    last: Option<Instant>,
    suppressed: u64,
}

impl LogThrottle {
    /// Counts one event at `now`; `Some(n)` when it should be logged, with `n` the events
    /// not logged since the last line.
    pub fn hit(&mut self, now: Instant, period: Duration) -> Option<u64> {
        match self.last {
            Some(at) if now.saturating_duration_since(at) < period => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_logged_first_then_once_a_period_with_a_count() {
        let mut t = LogThrottle::default();
        let t0 = Instant::now();
        let period = Duration::from_secs(10);
        assert_eq!(t.hit(t0, period), Some(0));
        let logged = (1..20_000)
            .filter(|i| t.hit(t0 + Duration::from_micros(*i), period).is_some())
            .count();
        assert_eq!(logged, 0, "20 000 refusals in 20 ms: one line");
        assert_eq!(t.hit(t0 + period, period), Some(19_999));
    }
}
