//! Transcript entries and the accumulator that builds them from model fragments.
//!
//! The Gemini Live API sends transcription as fragments, sometimes split inside words
//! (`"Ca"`, `"n I"`, `" pl"`), with no guaranteed whitespace. [`Transcript`] joins the
//! fragments of a turn exactly as sent (no spaces added, none removed) and turns them into
//! [`TranscriptEntry`] values numbered in the order the turns ended.
//! (Source: gemini-live-protocol notes §4.1, from the cookbook #951 and pipecat PR #3004 threads.)

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::proto;

/// Who spoke. Serialised as the design's `"AI"` and `"USER"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Speaker {
    /// The interviewer (the model).
    #[serde(rename = "AI")]
    Ai,
    /// The candidate.
    #[serde(rename = "USER")]
    User,
}

/// A speaker name other than `AI` or `USER`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown speaker {0:?}")]
pub struct UnknownSpeaker(pub String);

impl Speaker {
    /// `"AI"` or `"USER"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ai => "AI",
            Self::User => "USER",
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Ai => 0,
            Self::User => 1,
        }
    }

    /// Decodes the raw `i32` of a protobuf `Speaker` field.
    ///
    /// # Errors
    /// [`UnknownSpeaker`] for `UNSPECIFIED` and undefined numbers.
    pub fn from_proto_i32(v: i32) -> Result<Self, UnknownSpeaker> {
        match proto::Speaker::try_from(v) {
            Ok(proto::Speaker::Ai) => Ok(Self::Ai),
            Ok(proto::Speaker::User) => Ok(Self::User),
            _ => Err(UnknownSpeaker(v.to_string())),
        }
    }
}

impl From<Speaker> for proto::Speaker {
    fn from(s: Speaker) -> Self {
        match s {
            Speaker::Ai => Self::Ai,
            Speaker::User => Self::User,
        }
    }
}

impl fmt::Display for Speaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Speaker {
    type Err = UnknownSpeaker;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "AI" => Ok(Self::Ai),
            "USER" => Ok(Self::User),
            other => Err(UnknownSpeaker(other.to_owned())),
        }
    }
}

/// One finished turn of the conversation.
///
/// `sequence` numbers entries from 0 in the order their turns ended; stores append
/// idempotently by `(interview, sequence)`. A candidate turn that had audio but no
/// transcription keeps its timing and an empty `text`: words are never invented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptEntry {
    /// Position in the interview, from 0.
    pub sequence: u32,
    /// Who spoke.
    pub speaker: Speaker,
    /// The turn's text, fragments joined exactly as sent.
    pub text: String,
    /// When the turn started, in ms since the interview started.
    pub start_ms: u64,
    /// When the turn's last fragment or audio arrived, in ms since the interview started.
    pub end_ms: u64,
    /// An interviewer turn the candidate cut short by speaking (a barge-in, the Live API's
    /// `interrupted`): its audio stopped playing at `end_ms`. Always `false` for the
    /// candidate's turns.
    #[serde(default)]
    pub interrupted: bool,
    /// For an `interrupted` turn, the part of `text` the candidate heard before the cut (the
    /// transcription fragments that arrived at or before the cut position, joined exactly as
    /// sent); `None` when the turn was not cut.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heard_text: Option<String>,
}

impl From<&TranscriptEntry> for proto::TranscriptEntry {
    fn from(e: &TranscriptEntry) -> Self {
        Self {
            sequence: e.sequence,
            speaker: proto::Speaker::from(e.speaker) as i32,
            text: e.text.clone(),
            start_ms: e.start_ms,
            end_ms: e.end_ms,
            interrupted: e.interrupted,
            heard_text: e.heard_text.clone(),
        }
    }
}

impl TryFrom<proto::TranscriptEntry> for TranscriptEntry {
    type Error = UnknownSpeaker;

    fn try_from(e: proto::TranscriptEntry) -> Result<Self, UnknownSpeaker> {
        Ok(Self {
            sequence: e.sequence,
            speaker: Speaker::from_proto_i32(e.speaker)?,
            text: e.text,
            start_ms: e.start_ms,
            end_ms: e.end_ms.max(e.start_ms),
            heard_text: e.heard_text.filter(|_| e.interrupted),
            interrupted: e.interrupted,
        })
    }
}

/// An interviewer turn the candidate cut short by speaking (barge-in), as it sounded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InterviewerCut {
    /// The interviewer entry's `sequence`.
    pub sequence: u32,
    /// How much of the turn's audio played before the cut, in ms.
    pub played_ms: u64,
    /// The part of the turn's text whose transcription fragments arrived at or before the
    /// cut position: what the candidate heard (fragments joined exactly as sent).
    pub heard_text: String,
}

#[derive(Debug, Clone)]
struct OpenTurn {
    text: String,
    start_ms: u64,
    end_ms: u64,
}

/// Accumulates the live conversation into ordered [`TranscriptEntry`] values.
///
/// Each speaker has at most one open turn at a time. Fragments and activity extend it;
/// [`Transcript::finalize`] closes it and gives it the next sequence number. The session
/// decides when a turn ends (model turn complete, interrupted, first model output after
/// candidate speech, end of the interview); this type only keeps the books.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    entries: Vec<TranscriptEntry>,
    open: [Option<OpenTurn>; 2],
}

impl Transcript {
    /// An empty transcript.
    pub fn new() -> Self {
        Self::default()
    }

    /// A transcript that continues after `entries` (for example after a reconnect);
    /// new entries are numbered after the highest sequence in `entries`.
    pub fn with_entries(mut entries: Vec<TranscriptEntry>) -> Self {
        entries.sort_by_key(|e| e.sequence);
        Self {
            entries,
            open: [None, None],
        }
    }

    /// Appends a fragment to `speaker`'s open turn, opening one at `at_ms` if needed.
    /// The fragment is kept exactly as given.
    pub fn append(&mut self, speaker: Speaker, fragment: &str, at_ms: u64) {
        let turn = self.open_turn(speaker, at_ms);
        turn.text.push_str(fragment);
        turn.end_ms = turn.end_ms.max(at_ms);
    }

    /// Notes that `speaker` was active (audio, no text) at `at_ms`, opening a turn if needed.
    pub fn mark_activity(&mut self, speaker: Speaker, at_ms: u64) {
        let turn = self.open_turn(speaker, at_ms);
        turn.end_ms = turn.end_ms.max(at_ms);
    }

    fn open_turn(&mut self, speaker: Speaker, at_ms: u64) -> &mut OpenTurn {
        self.open[speaker.index()].get_or_insert_with(|| OpenTurn {
            text: String::new(),
            start_ms: at_ms,
            end_ms: at_ms,
        })
    }

    /// Sets the start and end of `speaker`'s open turn, in ms since the interview started,
    /// replacing the arrival times of its fragments and activity: for timing measured on
    /// the audio's own clock (the interviewer's playback, the candidate's samples). The end
    /// is never before the start. Does nothing when `speaker` has no open turn.
    pub fn set_open_span(&mut self, speaker: Speaker, start_ms: u64, end_ms: u64) {
        if let Some(t) = self.open[speaker.index()].as_mut() {
            t.start_ms = start_ms;
            t.end_ms = end_ms.max(start_ms);
        }
    }

    /// Moves the end of the finished entry `sequence` to `end_ms` (never before its start),
    /// for example when the client reports where its playback of the turn really stopped.
    /// Returns the entry, or `None` when there is no such finished entry.
    pub fn set_end(&mut self, sequence: u32, end_ms: u64) -> Option<&TranscriptEntry> {
        let e = self.entries.iter_mut().find(|e| e.sequence == sequence)?;
        e.end_ms = end_ms.max(e.start_ms);
        Some(e)
    }

    /// Notes on the finished entry `sequence` whether a barge-in cut it:
    /// `Some(heard_text)` makes it `interrupted` with the part of its text heard before the
    /// cut (see [`TranscriptEntry::heard_text`]); `None` makes it a turn that played whole.
    /// Returns the entry, or `None` when there is no such finished entry.
    pub fn set_interrupted(
        &mut self,
        sequence: u32,
        heard_text: Option<String>,
    ) -> Option<&TranscriptEntry> {
        let e = self.entries.iter_mut().find(|e| e.sequence == sequence)?;
        e.interrupted = heard_text.is_some();
        e.heard_text = heard_text;
        Some(e)
    }

    /// Whether `speaker` has an open turn.
    pub fn is_open(&self, speaker: Speaker) -> bool {
        self.open[speaker.index()].is_some()
    }

    /// The text so far of `speaker`'s open turn.
    pub fn open_text(&self, speaker: Speaker) -> Option<&str> {
        self.open[speaker.index()].as_ref().map(|t| t.text.as_str())
    }

    /// The start of `speaker`'s open turn, in ms since the interview started.
    pub fn open_start_ms(&self, speaker: Speaker) -> Option<u64> {
        self.open[speaker.index()].as_ref().map(|t| t.start_ms)
    }

    /// When `speaker`'s open turn was last active, in ms since the interview started.
    pub fn open_end_ms(&self, speaker: Speaker) -> Option<u64> {
        self.open[speaker.index()].as_ref().map(|t| t.end_ms)
    }

    /// Drops `speaker`'s open turn without making an entry of it (a model turn that said
    /// nothing worth keeping). Returns whether one was open.
    pub fn discard_open(&mut self, speaker: Speaker) -> bool {
        self.open[speaker.index()].take().is_some()
    }

    /// Appends a late `fragment` to the finished entry `sequence` (its timing unchanged) and
    /// returns it, or `None` when there is no such entry. The entry's text still starts with
    /// what it was, so a store that already holds it extends it in place.
    pub fn amend(&mut self, sequence: u32, fragment: &str) -> Option<&TranscriptEntry> {
        let entry = self
            .entries
            .iter_mut()
            .rev()
            .find(|e| e.sequence == sequence)?;
        entry.text.push_str(fragment);
        Some(entry)
    }

    /// Closes `speaker`'s open turn and returns the new entry, or `None` when no turn was open.
    pub fn finalize(&mut self, speaker: Speaker) -> Option<&TranscriptEntry> {
        let turn = self.open[speaker.index()].take()?;
        let sequence = self.next_sequence();
        self.entries.push(TranscriptEntry {
            sequence,
            speaker,
            text: turn.text,
            start_ms: turn.start_ms,
            end_ms: turn.end_ms,
            interrupted: false,
            heard_text: None,
        });
        self.entries.last()
    }

    /// Closes every open turn, earliest start first; returns how many entries were added.
    pub fn finalize_all(&mut self) -> usize {
        let mut speakers = [Speaker::Ai, Speaker::User];
        speakers.sort_by_key(|s| self.open_start_ms(*s).unwrap_or(u64::MAX));
        speakers
            .into_iter()
            .filter(|s| self.finalize(*s).is_some())
            .count()
    }

    /// The open turns as they stand, as provisional entries numbered as they will be when
    /// they finish: earliest start first, from [`Transcript::next_sequence`] (the order in
    /// which the session finishes them). Empty when no turn is open. A store that keeps
    /// these and later receives the finished entry under the same sequence keeps the
    /// finished one: its text extends the provisional text.
    pub fn open_entries(&self) -> Vec<TranscriptEntry> {
        let mut speakers = [Speaker::Ai, Speaker::User];
        speakers.sort_by_key(|s| self.open_start_ms(*s).unwrap_or(u64::MAX));
        let mut sequence = self.next_sequence();
        let mut out = Vec::new();
        for s in speakers {
            if let Some(t) = &self.open[s.index()] {
                out.push(TranscriptEntry {
                    sequence,
                    speaker: s,
                    text: t.text.clone(),
                    start_ms: t.start_ms,
                    end_ms: t.end_ms,
                    interrupted: false,
                    heard_text: None,
                });
                sequence += 1;
            }
        }
        out
    }

    /// The sequence number the next finished turn will get.
    pub fn next_sequence(&self) -> u32 {
        self.entries.last().map_or(0, |e| e.sequence + 1)
    }

    /// Finished entries in order.
    pub fn entries(&self) -> &[TranscriptEntry] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_join_exactly_as_sent() {
        let mut t = Transcript::new();
        for (i, f) in ["Ca", "n I", " pl", "ay?"].iter().enumerate() {
            t.append(Speaker::Ai, f, 100 + i as u64);
        }
        let e = t.finalize(Speaker::Ai).unwrap().clone();
        assert_eq!(e.text, "Can I play?");
        assert_eq!((e.sequence, e.start_ms, e.end_ms), (0, 100, 103));
        assert!(t.finalize(Speaker::Ai).is_none());
    }

    #[test]
    fn silent_candidate_turn_keeps_timing_and_empty_text() {
        let mut t = Transcript::new();
        t.mark_activity(Speaker::User, 1_000);
        t.mark_activity(Speaker::User, 4_000);
        let e = t.finalize(Speaker::User).unwrap();
        assert_eq!(e.text, "");
        assert_eq!((e.start_ms, e.end_ms), (1_000, 4_000));
    }

    #[test]
    fn finalize_all_orders_by_start_and_numbers_on() {
        let mut t = Transcript::with_entries(vec![TranscriptEntry {
            sequence: 4,
            speaker: Speaker::Ai,
            text: "Hello".into(),
            start_ms: 0,
            end_ms: 10,
            interrupted: false,
            heard_text: None,
        }]);
        t.append(Speaker::Ai, "late", 500);
        t.append(Speaker::User, "early", 200);
        assert_eq!(t.finalize_all(), 2);
        let e = t.entries();
        assert_eq!(e[1].speaker, Speaker::User);
        assert_eq!(e[1].sequence, 5);
        assert_eq!(e[2].speaker, Speaker::Ai);
        assert_eq!(e[2].sequence, 6);
    }

    #[test]
    fn speaker_names() {
        assert_eq!("AI".parse::<Speaker>(), Ok(Speaker::Ai));
        assert!("ai".parse::<Speaker>().is_err());
        assert!(Speaker::from_proto_i32(0).is_err());
        assert_eq!(serde_json::to_string(&Speaker::User).unwrap(), "\"USER\"");
    }
}
