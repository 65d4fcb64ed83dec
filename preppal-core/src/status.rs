//! The interview lifecycle of the design.
//!
//! ```text
//!             start            end (user, time limit, model closed)
//!  PENDING ───────────► IN_PROGRESS ───────────────────────────────► COMPLETED
//!     │                      │
//!     │                      │ nothing could be saved
//!     └──────────────────────┴─────────────────────────────────────► ERROR
//! ```
//!
//! Moves go forward only. Moving to the status an interview already has is allowed
//! ([`InterviewStatus::check_transition`] returns `Ok(false)`), so retried writes are safe.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::proto;

/// Where an interview is in its lifecycle.
///
/// Serialised as the design's upper-case names: `"PENDING"`, `"IN_PROGRESS"`,
/// `"COMPLETED"`, `"ERROR"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InterviewStatus {
    /// Created, nobody connected yet.
    Pending,
    /// The conversation is live (or was, and has not been finalized yet).
    InProgress,
    /// Finished; the transcript and feedback are kept.
    Completed,
    /// Finished without anything worth keeping; the interview says why.
    Error,
}

/// A lifecycle move that the design does not allow, for example COMPLETED -> PENDING.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("illegal status transition {from} -> {to}")]
pub struct IllegalTransition {
    /// The status the interview has.
    pub from: InterviewStatus,
    /// The status that was asked for.
    pub to: InterviewStatus,
}

/// A status name that is not one of the four the design knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown interview status {0:?}")]
pub struct UnknownStatus(pub String);

impl InterviewStatus {
    /// All statuses, in lifecycle order.
    pub const ALL: [Self; 4] = [
        Self::Pending,
        Self::InProgress,
        Self::Completed,
        Self::Error,
    ];

    /// The design's name: `PENDING`, `IN_PROGRESS`, `COMPLETED` or `ERROR`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::InProgress => "IN_PROGRESS",
            Self::Completed => "COMPLETED",
            Self::Error => "ERROR",
        }
    }

    /// COMPLETED and ERROR are terminal: nothing moves an interview out of them.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Error)
    }

    /// Checks a move from `self` to `to`.
    ///
    /// Returns `Ok(true)` for a real move, `Ok(false)` when `to == self` (an idempotent
    /// retry).
    ///
    /// # Errors
    /// [`IllegalTransition`] for any other move: backwards, out of a terminal status, or
    /// PENDING -> COMPLETED (an interview that never ran cannot complete; it may go to ERROR).
    pub fn check_transition(self, to: Self) -> Result<bool, IllegalTransition> {
        use InterviewStatus::*;
        match (self, to) {
            (a, b) if a == b => Ok(false),
            (Pending, InProgress)
            | (Pending, Error)
            | (InProgress, Completed)
            | (InProgress, Error) => Ok(true),
            (from, to) => Err(IllegalTransition { from, to }),
        }
    }
}

impl fmt::Display for InterviewStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InterviewStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

impl From<InterviewStatus> for proto::InterviewStatus {
    fn from(s: InterviewStatus) -> Self {
        match s {
            InterviewStatus::Pending => Self::Pending,
            InterviewStatus::InProgress => Self::InProgress,
            InterviewStatus::Completed => Self::Completed,
            InterviewStatus::Error => Self::Error,
        }
    }
}

impl TryFrom<proto::InterviewStatus> for InterviewStatus {
    type Error = UnknownStatus;

    fn try_from(s: proto::InterviewStatus) -> Result<Self, UnknownStatus> {
        match s {
            proto::InterviewStatus::Pending => Ok(Self::Pending),
            proto::InterviewStatus::InProgress => Ok(Self::InProgress),
            proto::InterviewStatus::Completed => Ok(Self::Completed),
            proto::InterviewStatus::Error => Ok(Self::Error),
            proto::InterviewStatus::Unspecified => Err(UnknownStatus("UNSPECIFIED".into())),
        }
    }
}

impl InterviewStatus {
    /// Decodes the raw `i32` of a protobuf `InterviewStatus` field.
    ///
    /// # Errors
    /// [`UnknownStatus`] for `UNSPECIFIED` and for numbers the schema does not define.
    pub fn from_proto_i32(v: i32) -> Result<Self, UnknownStatus> {
        proto::InterviewStatus::try_from(v)
            .map_err(|_| UnknownStatus(v.to_string()))
            .and_then(Self::try_from)
    }
}

#[cfg(test)]
mod tests {
    use super::InterviewStatus::*;
    use super::*;

    #[test]
    fn forward_moves_only() {
        assert_eq!(Pending.check_transition(InProgress), Ok(true));
        assert_eq!(InProgress.check_transition(Completed), Ok(true));
        assert_eq!(InProgress.check_transition(Error), Ok(true));
        assert_eq!(Pending.check_transition(Error), Ok(true));
        assert_eq!(Completed.check_transition(Completed), Ok(false));
        for (from, to) in [
            (Completed, InProgress),
            (Completed, Error),
            (Error, Completed),
            (InProgress, Pending),
            (Pending, Completed),
        ] {
            assert_eq!(
                from.check_transition(to),
                Err(IllegalTransition { from, to })
            );
        }
    }

    #[test]
    fn names_round_trip() {
        for s in InterviewStatus::ALL {
            assert_eq!(s.as_str().parse::<InterviewStatus>(), Ok(s));
            let p: proto::InterviewStatus = s.into();
            assert_eq!(InterviewStatus::from_proto_i32(p as i32), Ok(s));
        }
        assert!("DONE".parse::<InterviewStatus>().is_err());
        assert!(InterviewStatus::from_proto_i32(0).is_err());
        assert!(InterviewStatus::from_proto_i32(99).is_err());
        assert_eq!(
            serde_json::to_string(&InProgress).unwrap(),
            "\"IN_PROGRESS\""
        );
    }
}
