//! Abuse limits of the web and worker tiers, each a typed [`LimitError`] and a log line.
//!
//! | limit | default | flag / env var | where |
//! | --- | --- | --- | --- |
//! | interview creations per user | 20 a minute | `--max-creations-per-minute` / `PREPPAL_MAX_CREATIONS_PER_MINUTE` | `interview.createSession`, 429 |
//! | live interviews per user | 2 at once | `--max-live-per-user` / `PREPPAL_MAX_LIVE_PER_USER` | interview WebSocket, 429 before the upgrade |
//! | live interviews per process | 500 at once | `--max-live-interviews` / `PREPPAL_MAX_LIVE_INTERVIEWS` | interview WebSocket, 503 before the upgrade |
//! | audio frames per connection | 100 a second, bursts of 2 000 | `--audio-frames-per-second`, `--audio-frame-burst` / `PREPPAL_AUDIO_FRAMES_PER_SECOND`, `PREPPAL_AUDIO_FRAME_BURST` | driver: excess frames dropped, one `ErrorResponse` 429 |
//! | typed answers per connection | 1 a second, bursts of 10 | `--text-messages-per-second`, `--text-message-burst` / `PREPPAL_TEXT_MESSAGES_PER_SECOND`, `PREPPAL_TEXT_MESSAGE_BURST` | driver: excess answers dropped, one `ErrorResponse` 429 per run of drops |
//! | text of one turn | 16 KiB | `--max-turn-text-bytes` / `PREPPAL_MAX_TURN_TEXT_BYTES` | session: typed answer refused with `ErrorResponse` 413, model text left out |
//! | text of one transcript | 1 MiB | `--max-transcript-bytes` / `PREPPAL_MAX_TRANSCRIPT_BYTES` | session: as for one turn |
//!
//! Fixed limits live beside the data they guard: the WebSocket message size
//! ([`preppal_core::codec::MAX_CLIENT_MESSAGE_BYTES`], 64 KiB), the JSON request body
//! ([`crate::server::web::input::MAX_JSON_BODY_BYTES`], 256 KiB), the worker API body
//! ([`preppal_core::codec::MAX_WORKER_MESSAGE_BYTES`], 4 MiB), and the job description and
//! resume size ([`crate::api::library::MAX_DOCUMENT_BYTES`], 64 KiB).
//!
//! The browser sends a 40 ms frame 25 times a second; the default audio rate leaves room for
//! 20 ms frames and for clients that stream a recorded answer faster than real time, while
//! refusing floods of tiny frames.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Default of `--max-creations-per-minute`.
pub const DEFAULT_CREATIONS_PER_MINUTE: u32 = 20;
/// Default of `--max-live-per-user`.
pub const DEFAULT_MAX_LIVE_PER_USER: u32 = 2;
/// Default of `--max-live-interviews`.
pub const DEFAULT_MAX_LIVE_INTERVIEWS: u32 = 500;
/// Default of `--audio-frames-per-second`.
pub const DEFAULT_AUDIO_FRAMES_PER_SECOND: u32 = 100;
/// Default of `--audio-frame-burst`.
pub const DEFAULT_AUDIO_FRAME_BURST: u32 = 2_000;
/// Default of `--text-messages-per-second`.
pub const DEFAULT_TEXT_MESSAGES_PER_SECOND: u32 = 1;
/// Default of `--text-message-burst`.
pub const DEFAULT_TEXT_MESSAGE_BURST: u32 = 10;
/// Users tracked by the creation limiter before idle entries are pruned.
const MAX_TRACKED_USERS: usize = 10_000;

/// Options of the abuse limits (part of `preppal serve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct LimitArgs {
    /// Interviews one user may create per minute (idempotent retries count too).
    #[arg(long, env = "PREPPAL_MAX_CREATIONS_PER_MINUTE", default_value_t = DEFAULT_CREATIONS_PER_MINUTE)]
    pub max_creations_per_minute: u32,
    /// Interviews one user may hold live (connected) at once.
    #[arg(long, env = "PREPPAL_MAX_LIVE_PER_USER", default_value_t = DEFAULT_MAX_LIVE_PER_USER)]
    pub max_live_per_user: u32,
    /// Interviews this process holds live (connected) at once, all users together.
    #[arg(long, env = "PREPPAL_MAX_LIVE_INTERVIEWS", default_value_t = DEFAULT_MAX_LIVE_INTERVIEWS)]
    pub max_live_interviews: u32,
    /// Sustained audio frames per second accepted on one interview connection.
    #[arg(long, env = "PREPPAL_AUDIO_FRAMES_PER_SECOND", default_value_t = DEFAULT_AUDIO_FRAMES_PER_SECOND)]
    pub audio_frames_per_second: u32,
    /// Audio frames one connection may send in a burst above the sustained rate.
    #[arg(long, env = "PREPPAL_AUDIO_FRAME_BURST", default_value_t = DEFAULT_AUDIO_FRAME_BURST)]
    pub audio_frame_burst: u32,
    /// Sustained typed answers per second accepted on one interview connection (each one
    /// is a model turn).
    #[arg(long, env = "PREPPAL_TEXT_MESSAGES_PER_SECOND", default_value_t = DEFAULT_TEXT_MESSAGES_PER_SECOND)]
    pub text_messages_per_second: u32,
    /// Typed answers one connection may send in a burst above the sustained rate.
    #[arg(long, env = "PREPPAL_TEXT_MESSAGE_BURST", default_value_t = DEFAULT_TEXT_MESSAGE_BURST)]
    pub text_message_burst: u32,
    /// Largest text of one transcript turn, in bytes; a typed answer past it is refused (413).
    #[arg(long, env = "PREPPAL_MAX_TURN_TEXT_BYTES", default_value_t = preppal_core::session::text_limits::DEFAULT_MAX_TURN_TEXT_BYTES)]
    pub max_turn_text_bytes: usize,
    /// Largest text of one interview's transcript, in bytes; a typed answer past it is
    /// refused (413).
    #[arg(long, env = "PREPPAL_MAX_TRANSCRIPT_BYTES", default_value_t = preppal_core::session::text_limits::DEFAULT_MAX_TRANSCRIPT_BYTES)]
    pub max_transcript_bytes: usize,
}

impl Default for LimitArgs {
    fn default() -> Self {
        Self {
            max_creations_per_minute: DEFAULT_CREATIONS_PER_MINUTE,
            max_live_per_user: DEFAULT_MAX_LIVE_PER_USER,
            max_live_interviews: DEFAULT_MAX_LIVE_INTERVIEWS,
            audio_frames_per_second: DEFAULT_AUDIO_FRAMES_PER_SECOND,
            audio_frame_burst: DEFAULT_AUDIO_FRAME_BURST,
            text_messages_per_second: DEFAULT_TEXT_MESSAGES_PER_SECOND,
            text_message_burst: DEFAULT_TEXT_MESSAGE_BURST,
            max_turn_text_bytes: preppal_core::session::text_limits::DEFAULT_MAX_TURN_TEXT_BYTES,
            max_transcript_bytes: preppal_core::session::text_limits::DEFAULT_MAX_TRANSCRIPT_BYTES,
        }
    }
}

/// A limit was reached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// The user created too many interviews in the last minute.
    #[error("too many interviews created; at most {per_minute} a minute")]
    TooManyCreations {
        /// The limit, per minute.
        per_minute: u32,
    },
    /// The user already holds as many live interviews as allowed.
    #[error("too many live interviews; at most {max} at once")]
    TooManyLive {
        /// The limit.
        max: u32,
    },
    /// The process holds as many live interviews as allowed, all users together.
    #[error("the server is at its limit of {max} live interviews; try again in a few minutes")]
    ServerFull {
        /// The limit.
        max: u32,
    },
    /// The connection sends audio frames faster than allowed; excess frames are dropped.
    #[error("audio frames arrive faster than {per_second} a second; excess frames are dropped")]
    AudioRate {
        /// The sustained limit, frames per second.
        per_second: u32,
    },
    /// The connection sends typed answers faster than allowed; excess answers are dropped.
    #[error("typed answers arrive faster than {per_second} a second (after a burst of {burst}); the last ones were not sent, wait a moment and send them again")]
    TextRate {
        /// The sustained limit, answers per second.
        per_second: u32,
        /// The burst allowed above it.
        burst: u32,
    },
}

/// A token bucket: `capacity` tokens, refilled at `per_second` tokens a second.
///
/// [`TokenBucket::try_take`] is O(1) and allocates nothing, so it can sit on the audio path.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    capacity: f64,
    tokens: f64,
    per_second: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket of `capacity` tokens (at least 1) refilled at `per_second` tokens a second.
    pub fn new(capacity: u32, per_second: u32, now: Instant) -> Self {
        let capacity = f64::from(capacity.max(1));
        Self {
            capacity,
            tokens: capacity,
            per_second: f64::from(per_second),
            last: now,
        }
    }

    /// Takes one token if there is one; `false` when the bucket is empty.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now.max(self.last);
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn is_full(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens + elapsed * self.per_second >= self.capacity
    }
}

/// The limits in force, shared by the web and worker tiers of one process.
#[derive(Debug)]
pub struct Limits {
    args: LimitArgs,
    creations: Mutex<HashMap<String, TokenBucket>>,
    live: Mutex<HashMap<String, u32>>,
}

impl Limits {
    /// Limits from `args`, with no history.
    pub fn new(args: LimitArgs) -> Self {
        Self {
            args,
            creations: Mutex::new(HashMap::new()),
            live: Mutex::new(HashMap::new()),
        }
    }

    /// The options in force.
    pub fn args(&self) -> LimitArgs {
        self.args
    }

    /// Counts one interview creation by `user_id`.
    ///
    /// # Errors
    /// [`LimitError::TooManyCreations`] (logged) when the user is over the per-minute limit.
    pub fn check_creation(&self, user_id: &str, now: Instant) -> Result<(), LimitError> {
        let per_minute = self.args.max_creations_per_minute;
        let Ok(mut map) = self.creations.lock() else {
            return Ok(());
        };
        if map.len() >= MAX_TRACKED_USERS && !map.contains_key(user_id) {
            map.retain(|_, b| !b.is_full(now));
        }
        let bucket = map
            .entry(user_id.to_owned())
            .or_insert_with(|| TokenBucket::new(per_minute, 0, now));
        // Refill rate per_minute / 60 a second, kept exact by working in minutes.
        bucket.per_second = f64::from(per_minute) / 60.0;
        if bucket.try_take(now) {
            Ok(())
        } else {
            let e = LimitError::TooManyCreations { per_minute };
            tracing::warn!(user = %user_id, error = %e, "interview creation refused");
            Err(e)
        }
    }

    /// Claims one live-interview slot for `user_id`; the slot is given back when the
    /// returned [`LiveSlot`] is dropped.
    ///
    /// # Errors
    /// [`LimitError::ServerFull`] (logged) when the process holds
    /// [`LimitArgs::max_live_interviews`]; [`LimitError::TooManyLive`] (logged) when the
    /// user already holds the maximum.
    pub fn claim_live(self: &Arc<Self>, user_id: &str) -> Result<LiveSlot, LimitError> {
        let max = self.args.max_live_per_user;
        let mut map = self
            .live
            .lock()
            .map_err(|_| LimitError::TooManyLive { max })?;
        let total: u64 = map.values().map(|n| u64::from(*n)).sum();
        if total >= u64::from(self.args.max_live_interviews) {
            let e = LimitError::ServerFull {
                max: self.args.max_live_interviews,
            };
            tracing::warn!(user = %user_id, error = %e, "interview connection refused");
            return Err(e);
        }
        let n = map.entry(user_id.to_owned()).or_insert(0);
        if *n >= max {
            let e = LimitError::TooManyLive { max };
            tracing::warn!(user = %user_id, error = %e, "interview connection refused");
            return Err(e);
        }
        *n += 1;
        Ok(LiveSlot {
            limits: Arc::clone(self),
            user_id: user_id.to_owned(),
        })
    }

    /// Live interviews `user_id` holds now.
    pub fn live_of(&self, user_id: &str) -> u32 {
        self.live
            .lock()
            .map(|m| m.get(user_id).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// A fresh audio bucket for one connection.
    pub fn audio_bucket(&self, now: Instant) -> TokenBucket {
        TokenBucket::new(
            self.args.audio_frame_burst,
            self.args.audio_frames_per_second,
            now,
        )
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::new(LimitArgs::default())
    }
}

/// One of a user's live-interview slots; dropping it gives the slot back.
#[derive(Debug)]
pub struct LiveSlot {
    limits: Arc<Limits>,
    user_id: String,
}

impl Drop for LiveSlot {
    fn drop(&mut self) {
        if let Ok(mut map) = self.limits.live.lock() {
            if let Some(n) = map.get_mut(&self.user_id) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    map.remove(&self.user_id);
                }
            }
        }
    }
}

/// Per-connection audio rate state of the driver: the bucket and whether the client was
/// told about dropped frames already (it is told once per connection).
#[derive(Debug, Clone, Copy)]
pub struct AudioRate {
    bucket: TokenBucket,
    per_second: u32,
    told: bool,
    dropped: u64,
}

/// What to do with one audio frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameVerdict {
    /// Within the limit: pass it on.
    Accept,
    /// Over the limit: drop it and tell the client with this error (first drop only).
    DropAndTell(LimitError),
    /// Over the limit: drop it silently (the client was told already).
    Drop,
}

impl AudioRate {
    /// The audio rate state of a new connection under `limits`.
    pub fn new(limits: &Limits, now: Instant) -> Self {
        Self {
            bucket: limits.audio_bucket(now),
            per_second: limits.args.audio_frames_per_second,
            told: false,
            dropped: 0,
        }
    }

    /// Judges one audio frame arriving at `now`; O(1), no allocation.
    pub fn frame(&mut self, now: Instant) -> FrameVerdict {
        if self.bucket.try_take(now) {
            return FrameVerdict::Accept;
        }
        self.dropped += 1;
        if self.told {
            FrameVerdict::Drop
        } else {
            self.told = true;
            FrameVerdict::DropAndTell(LimitError::AudioRate {
                per_second: self.per_second,
            })
        }
    }

    /// Frames dropped on this connection so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// Per-connection rate state of typed answers: a bucket of `--text-message-burst`
/// refilled at `--text-messages-per-second`. The client is told once per run of dropped
/// answers (the first drop after an accepted one), not once per drop.
#[derive(Debug, Clone, Copy)]
pub struct TextRate {
    bucket: TokenBucket,
    per_second: u32,
    burst: u32,
    told: bool,
    dropped: u64,
}

impl TextRate {
    /// The typed-answer rate state of a new connection under `limits`.
    pub fn new(limits: &Limits, now: Instant) -> Self {
        let a = limits.args;
        Self {
            bucket: TokenBucket::new(a.text_message_burst, a.text_messages_per_second, now),
            per_second: a.text_messages_per_second,
            burst: a.text_message_burst,
            told: false,
            dropped: 0,
        }
    }

    /// Judges one typed answer arriving at `now`; O(1), no allocation.
    pub fn message(&mut self, now: Instant) -> FrameVerdict {
        if self.bucket.try_take(now) {
            self.told = false;
            return FrameVerdict::Accept;
        }
        self.dropped += 1;
        if self.told {
            FrameVerdict::Drop
        } else {
            self.told = true;
            FrameVerdict::DropAndTell(LimitError::TextRate {
                per_second: self.per_second,
                burst: self.burst,
            })
        }
    }

    /// Answers dropped on this connection so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_refills_at_its_rate_and_caps_at_capacity() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(3, 10, t0);
        assert!((0..3).all(|_| b.try_take(t0)));
        assert!(!b.try_take(t0), "empty after the burst");
        assert!(
            b.try_take(t0 + Duration::from_millis(100)),
            "one token in 100 ms"
        );
        assert!(!b.try_take(t0 + Duration::from_millis(100)));
        // A long pause refills to capacity, not beyond.
        let later = t0 + Duration::from_secs(3600);
        assert_eq!((0..10).filter(|_| b.try_take(later)).count(), 3);
    }

    #[test]
    fn creations_are_limited_per_user() {
        let l = Limits::new(LimitArgs {
            max_creations_per_minute: 2,
            ..LimitArgs::default()
        });
        let t0 = Instant::now();
        assert!(l.check_creation("a", t0).is_ok());
        assert!(l.check_creation("a", t0).is_ok());
        assert_eq!(
            l.check_creation("a", t0),
            Err(LimitError::TooManyCreations { per_minute: 2 })
        );
        assert!(l.check_creation("b", t0).is_ok(), "per user");
        assert!(l.check_creation("a", t0 + Duration::from_secs(30)).is_ok());
    }

    #[test]
    fn live_slots_are_given_back_on_drop() {
        let l = Arc::new(Limits::new(LimitArgs {
            max_live_per_user: 1,
            ..LimitArgs::default()
        }));
        let s = l.claim_live("a").unwrap();
        assert_eq!(
            l.claim_live("a").unwrap_err(),
            LimitError::TooManyLive { max: 1 }
        );
        assert!(l.claim_live("b").is_ok());
        drop(s);
        assert_eq!(l.live_of("a"), 0);
        assert!(l.claim_live("a").is_ok());
    }

    #[test]
    fn live_interviews_are_capped_per_process() {
        let l = Arc::new(Limits::new(LimitArgs {
            max_live_interviews: 2,
            ..LimitArgs::default()
        }));
        let a = l.claim_live("a").unwrap();
        let _b = l.claim_live("b").unwrap();
        assert_eq!(
            l.claim_live("c").unwrap_err(),
            LimitError::ServerFull { max: 2 }
        );
        drop(a);
        assert!(l.claim_live("c").is_ok());
    }

    #[test]
    fn audio_over_the_rate_is_dropped_and_told_once() {
        let l = Limits::new(LimitArgs {
            audio_frames_per_second: 50,
            audio_frame_burst: 5,
            ..LimitArgs::default()
        });
        let t0 = Instant::now();
        let mut a = AudioRate::new(&l, t0);
        let verdicts: Vec<_> = (0..8).map(|_| a.frame(t0)).collect();
        assert!(verdicts[..5].iter().all(|v| *v == FrameVerdict::Accept));
        assert_eq!(
            verdicts[5],
            FrameVerdict::DropAndTell(LimitError::AudioRate { per_second: 50 })
        );
        assert_eq!(verdicts[6..], [FrameVerdict::Drop, FrameVerdict::Drop]);
        assert_eq!(a.dropped(), 3);
        assert_eq!(
            a.frame(t0 + Duration::from_millis(20)),
            FrameVerdict::Accept
        );
    }

    #[test]
    fn typed_answers_past_the_burst_are_dropped_and_told_once_per_run() {
        let l = Limits::default();
        let t0 = Instant::now();
        let mut r = TextRate::new(&l, t0);
        let first: Vec<_> = (0..30).map(|_| r.message(t0)).collect();
        assert!(first[..10].iter().all(|v| *v == FrameVerdict::Accept));
        assert!(matches!(
            first[10],
            FrameVerdict::DropAndTell(LimitError::TextRate {
                per_second: 1,
                burst: 10
            })
        ));
        assert!(first[11..].iter().all(|v| *v == FrameVerdict::Drop));
        assert_eq!(r.dropped(), 20);
        // A second later one more is accepted; the next run of drops is told once again.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(r.message(t1), FrameVerdict::Accept);
        assert!(matches!(r.message(t1), FrameVerdict::DropAndTell(_)));
        assert_eq!(r.message(t1), FrameVerdict::Drop);
    }
}
