//! [`SimulatorConfig`]: what a [`super::Simulator`] plays.

use std::net::SocketAddr;
use std::time::Duration;

use super::{Fault, FaultTrigger, FeedbackBehaviour, ScriptedFault, SpeechMode};
#[cfg(doc)]
use super::{InterviewScript, Simulator, SimulatorHandle, DEADLINE_EXPIRED};

/// Settings of a [`Simulator`]. Start from `Default` and use the `with_*` setters.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SimulatorConfig {
    /// Where to listen; default `127.0.0.1:0` (a free port on loopback).
    pub addr: SocketAddr,
    /// How many questions the interviewer asks, clamped to 4..=6; default 5. When the
    /// setup's system instruction states the interview's length
    /// ([`crate::timed_interviewer_instruction`]), the interviewer plans questions for the
    /// whole length instead ([`InterviewScript::from_instruction`]), unless
    /// `plan_by_length` is off.
    pub questions: usize,
    /// Plan the questions from the interview length the instruction states; default
    /// `true`. [`SimulatorConfig::with_questions`] turns it off, so the interviewer asks
    /// exactly that many ([`InterviewScript::with_question_count`]).
    pub plan_by_length: bool,
    /// How lines are voiced; default [`SpeechMode::Auto`].
    pub voice: SpeechMode,
    /// Pace audio at 100 ms per 100 ms chunk. Default `false`: send as fast as possible, as
    /// the real service sends faster than real time (§4.1, §5).
    pub realtime: bool,
    /// Hold `turnComplete` until the line's audio duration has passed on the wall clock, as
    /// the real server does while it assumes playback (§4.1). Default `true`. When `false`,
    /// `turnComplete` follows `generationComplete` at once and the line can no longer be
    /// interrupted after it: handy for fast tests.
    pub hold_turn_for_playback: bool,
    /// Send `{"goAway": {"timeLeft": "50s"}}` this long after the connection opens.
    pub go_away_after: Option<Duration>,
    /// Close the connection this long after it opens, with this code and reason.
    pub close_after: Option<(Duration, u16, String)>,
    /// Send server messages in Binary frames (as the real server does, §2); `false` for
    /// Text frames. Default `true`.
    pub binary_frames: bool,
    /// Pretty-print server JSON (as the real server does, §2); `false` for compact JSON.
    /// Default `true`.
    pub pretty_json: bool,
    /// Send `goAway` this long after each connection opens, and again every such interval
    /// while it stays open. Default `None`.
    pub go_away_every: Option<Duration>,
    /// With [`SimulatorConfig::go_away_every`]: `timeLeft` of each `goAway`, and close the
    /// connection with 1011 [`DEADLINE_EXPIRED`] that long after it unless the client left
    /// first (§4.3). Default `None`: `timeLeft` 50 s and no close.
    pub go_away_close_after: Option<Duration>,
    /// Faults to play, each on its trigger. Default none.
    pub faults: Vec<ScriptedFault>,
    /// Refuse the first upgrades with these HTTP statuses, one per attempt, in order (for
    /// example `[429]`: quota, §1.2); later upgrades are accepted. Default none.
    pub refuse_upgrades: Vec<u16>,
    /// Honour `setup.sessionResumption` (send handles, resume by handle). Default `true`;
    /// `false` plays a server that ignores it and never sends a handle.
    pub resumption: bool,
    /// What the REST `generateContent` endpoint ([`SimulatorHandle::rest_url`]) returns;
    /// default [`FeedbackBehaviour::FromTranscript`].
    pub feedback: FeedbackBehaviour,
    /// When the system instruction carries an interview plan, answer a typed answer that
    /// the plan's follow-up policy finds lacking with a follow-up instead of the next
    /// question. Default `false`: the script's lines in order, whatever the answers, as
    /// tests that pin the lines need; `preppal serve` turns it on.
    pub follow_ups: bool,
    /// What the candidate says in each spoken turn, in order ([`super::hearing`]): the
    /// simulator sends them as `inputTranscription` word by word while the turn's audio
    /// arrives, when the setup asked for `inputAudioTranscription`. Default empty: the
    /// simulator does no speech recognition and stays deaf.
    pub candidate_transcripts: std::sync::Arc<[String]>,
    /// How many of the last words of each spoken turn arrive late: after the reply's first
    /// audio message instead of before the reply. Default 0.
    pub late_transcription_words: usize,
    /// Where the REST side (`generateContent`, `auth_tokens`) listens; default `None`: a
    /// free port on the Live address's IP.
    pub rest_addr: Option<SocketAddr>,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            questions: 5,
            plan_by_length: true,
            voice: SpeechMode::Auto,
            realtime: false,
            hold_turn_for_playback: true,
            go_away_after: None,
            close_after: None,
            binary_frames: true,
            pretty_json: true,
            go_away_every: None,
            go_away_close_after: None,
            faults: Vec::new(),
            refuse_upgrades: Vec::new(),
            resumption: true,
            feedback: FeedbackBehaviour::default(),
            follow_ups: false,
            candidate_transcripts: Vec::new().into(),
            late_transcription_words: 0,
            rest_addr: None,
        }
    }
}

impl SimulatorConfig {
    /// Sets [`SimulatorConfig::addr`].
    pub fn with_addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }
    /// Sets [`SimulatorConfig::questions`], asked whatever the interview's length
    /// ([`SimulatorConfig::plan_by_length`] off).
    pub fn with_questions(mut self, questions: usize) -> Self {
        self.questions = questions;
        self.plan_by_length = false;
        self
    }
    /// Sets [`SimulatorConfig::voice`].
    pub fn with_voice(mut self, voice: SpeechMode) -> Self {
        self.voice = voice;
        self
    }
    /// Sets [`SimulatorConfig::realtime`].
    pub fn with_realtime(mut self, realtime: bool) -> Self {
        self.realtime = realtime;
        self
    }
    /// Sets [`SimulatorConfig::hold_turn_for_playback`].
    pub fn with_hold_turn_for_playback(mut self, hold: bool) -> Self {
        self.hold_turn_for_playback = hold;
        self
    }
    /// Sets [`SimulatorConfig::go_away_after`].
    pub fn with_go_away_after(mut self, after: Duration) -> Self {
        self.go_away_after = Some(after);
        self
    }
    /// Sets [`SimulatorConfig::close_after`].
    pub fn with_close_after(
        mut self,
        after: Duration,
        code: u16,
        reason: impl Into<String>,
    ) -> Self {
        self.close_after = Some((after, code, reason.into()));
        self
    }
    /// Sets [`SimulatorConfig::binary_frames`].
    pub fn with_binary_frames(mut self, binary: bool) -> Self {
        self.binary_frames = binary;
        self
    }
    /// Sets [`SimulatorConfig::pretty_json`].
    pub fn with_pretty_json(mut self, pretty: bool) -> Self {
        self.pretty_json = pretty;
        self
    }
    /// Sets [`SimulatorConfig::go_away_every`].
    pub fn with_go_away_every(mut self, every: Duration) -> Self {
        self.go_away_every = Some(every);
        self
    }
    /// Sets [`SimulatorConfig::go_away_close_after`].
    pub fn with_go_away_close_after(mut self, after: Duration) -> Self {
        self.go_away_close_after = Some(after);
        self
    }
    /// Adds `fault` at `trigger` on the first connection (see [`ScriptedFault`] for others).
    pub fn with_fault(mut self, trigger: FaultTrigger, fault: Fault) -> Self {
        self.faults.push(ScriptedFault::new(trigger, fault));
        self
    }
    /// Adds a [`ScriptedFault`].
    pub fn with_scripted_fault(mut self, fault: ScriptedFault) -> Self {
        self.faults.push(fault);
        self
    }
    /// Sets [`SimulatorConfig::resumption`].
    pub fn with_resumption(mut self, on: bool) -> Self {
        self.resumption = on;
        self
    }
    /// Sets [`SimulatorConfig::follow_ups`].
    pub fn with_follow_ups(mut self, on: bool) -> Self {
        self.follow_ups = on;
        self
    }
    /// Sets [`SimulatorConfig::candidate_transcripts`]: one entry per spoken candidate turn,
    /// in order (for example the words of the fixture WAVs a test speaks).
    pub fn with_candidate_transcripts(mut self, transcripts: Vec<String>) -> Self {
        self.candidate_transcripts = transcripts.into();
        self
    }
    /// Sets [`SimulatorConfig::rest_addr`].
    pub fn with_rest_addr(mut self, addr: SocketAddr) -> Self {
        self.rest_addr = Some(addr);
        self
    }
    /// Sets [`SimulatorConfig::late_transcription_words`].
    pub fn with_late_transcription_words(mut self, words: usize) -> Self {
        self.late_transcription_words = words;
        self
    }
    /// Sets [`SimulatorConfig::refuse_upgrades`].
    pub fn with_refused_upgrades(mut self, statuses: impl IntoIterator<Item = u16>) -> Self {
        self.refuse_upgrades = statuses.into_iter().collect();
        self
    }
}
