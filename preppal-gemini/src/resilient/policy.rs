//! [`ReconnectPolicy`]: how a [`super::ResilientSession`] reconnects and how much it keeps
//! while it does.

use std::time::Duration;

use backon::ExponentialBuilder;

/// How a [`super::ResilientSession`] reconnects. Start from `Default` and use the `with_*`
/// setters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconnectPolicy {
    /// First backoff delay between connection attempts. Default 200 ms.
    pub min_delay: Duration,
    /// Largest backoff delay (the cap of the exponential). Default 5 s.
    pub max_delay: Duration,
    /// Connection attempts per switch after the first one fails. Default 6.
    pub max_retries: usize,
    /// No model output for this long while a reply is owed or a generation is under way
    /// counts as a stall. Default 15 s.
    pub stall_timeout: Duration,
    /// After `goAway`, switch no later than this long before `timeLeft` runs out (capped at
    /// half of `timeLeft`). Default 5 s.
    pub go_away_margin: Duration,
    /// Candidate audio kept during a switch, in bytes of PCM16LE at 16 000 Hz (32 000 bytes
    /// per second). Default 320 000 (10 s); older audio is dropped first.
    pub max_buffered_audio_bytes: usize,
    /// Other commands (text, instructions) kept during a switch. Default 64; older ones are
    /// dropped first.
    pub max_buffered_commands: usize,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retries: 6,
            stall_timeout: Duration::from_secs(15),
            go_away_margin: Duration::from_secs(5),
            max_buffered_audio_bytes: 320_000,
            max_buffered_commands: 64,
        }
    }
}

impl ReconnectPolicy {
    /// Sets [`ReconnectPolicy::min_delay`] and [`ReconnectPolicy::max_delay`].
    pub fn with_backoff(mut self, min_delay: Duration, max_delay: Duration) -> Self {
        self.min_delay = min_delay;
        self.max_delay = max_delay.max(min_delay);
        self
    }
    /// Sets [`ReconnectPolicy::max_retries`].
    pub fn with_max_retries(mut self, max_retries: usize) -> Self {
        self.max_retries = max_retries;
        self
    }
    /// Sets [`ReconnectPolicy::stall_timeout`].
    pub fn with_stall_timeout(mut self, stall_timeout: Duration) -> Self {
        self.stall_timeout = stall_timeout;
        self
    }
    /// Sets [`ReconnectPolicy::go_away_margin`].
    pub fn with_go_away_margin(mut self, margin: Duration) -> Self {
        self.go_away_margin = margin;
        self
    }
    /// Sets [`ReconnectPolicy::max_buffered_audio_bytes`].
    pub fn with_max_buffered_audio_bytes(mut self, bytes: usize) -> Self {
        self.max_buffered_audio_bytes = bytes;
        self
    }

    /// The backoff between connection attempts: exponential from `min_delay` to
    /// `max_delay`, `max_retries` times, with jitter.
    pub(crate) fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries)
            .with_jitter()
    }
}
