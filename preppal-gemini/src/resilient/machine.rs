//! [`Reconnect`]: the decisions of a [`super::ResilientSession`] as a state machine with no
//! I/O, after the core's `InterviewSession` and quinn-proto's `Connection`.
//!
//! Inputs, each with the caller's `now` (never going backwards):
//!
//! - [`Reconnect::handle_event`]: an event of the current connection (its close included);
//! - [`Reconnect::route_command`] / [`Reconnect::sent`] / [`Reconnect::buffer`]: a command
//!   of the caller, where it goes and what became of it;
//! - [`Reconnect::set_quiet`] and [`Reconnect::set_history`]: what the caller's interview
//!   knows (whether a turn is under way; the transcript that seeds a connection without a
//!   handle);
//! - [`Reconnect::installed`] / [`Reconnect::switch_failed`]: how a switch ended;
//! - [`Reconnect::handle_timeout`] once [`Reconnect::poll_timeout`] has passed.
//!
//! Outputs, pulled after every input: [`Reconnect::poll_event`] (events for the caller)
//! first, then [`Reconnect::poll_action`] (what to do to the connections), then
//! [`Reconnect::front_buffered`] (commands held for the new connection); then wait until
//! [`Reconnect::poll_timeout`].
//!
//! It keeps no transcript and no turns: only facts about the connection (a generation in
//! flight, model output not yet closed by `turnComplete`, a reply owed since `Begin`, a
//! typed answer or an instruction) that its stall watchdog and its switches need.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use preppal_core::session::REPROMPT_INSTRUCTION;
use preppal_core::{ModelCommand, ModelEvent, Speaker, TranscriptEntry};

use super::buffer::InputBuffer;
use super::policy::ReconnectPolicy;
use crate::error::is_retryable_close;
use crate::protocol::{encode_command, history_message};

/// What the shell does to the connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Send this command on the current connection (a re-prompt; not kept for replay).
    Send(ModelCommand),
    /// Send this raw message on the current connection, before anything buffered: the
    /// `clientContent` seed of a connection made without a handle.
    SendMessage(String),
    /// Close the current connection (if any) and connect anew, resuming from `handle`
    /// when there is one; then report [`Reconnect::installed`] or
    /// [`Reconnect::switch_failed`].
    Switch {
        /// The resumption handle to connect with.
        handle: Option<String>,
    },
}

/// Where a command goes (see [`Reconnect::route_command`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// Send it on the current connection, then report [`Reconnect::sent`] (or
    /// [`Reconnect::buffer`] when the write failed).
    Send,
    /// No connection to send it on: hand it to [`Reconnect::buffer`].
    Buffer,
    /// `Close` with a connection: send it; a failed write is [`Reconnect::close_failed`].
    Close,
    /// `Close` during a switch: stop the switch task; the session has ended.
    AbortSwitch,
    /// Dropped (a `Close` with no connection).
    Drop,
    /// The session has ended for good: refuse it.
    Ended,
}

/// How the connection installed by the switch under way is to be started.
#[derive(Debug, Clone, Copy, Default)]
struct SwitchPlan {
    with_handle: bool,
    /// The handle is older than the model's last completed turn: the resumed model may
    /// say that turn again.
    stale_handle: bool,
    /// The switch cut a generation that had been transcribed: without a handle, the
    /// handed transcript's last interviewer entry is that cut line, which the new
    /// connection says again rather than continues.
    cut_transcribed: bool,
    /// A reply was owed (or a generation cut) when the switch started.
    reply_owed: bool,
}

/// The reconnect logic of one resumable Live session. See the module docs.
#[derive(Debug)]
pub(crate) struct Reconnect {
    policy: ReconnectPolicy,
    events: VecDeque<ModelEvent>,
    actions: VecDeque<Action>,
    /// A connection is installed and open.
    connected: bool,
    /// A switch is under way: [`Action::Switch`] was given and not yet reported done.
    switch: Option<SwitchPlan>,
    /// The next `setupComplete` is the installed connection's: report `Resumed`.
    resumed_with_handle: Option<bool>,
    /// Commands held while no connection takes them.
    buffer: InputBuffer,
    /// A write of the buffer failed on this connection: stop flushing (its close follows).
    flush_blocked: bool,
    /// Candidate input sent since the last resumable handle (and typed answers, `Begin` and
    /// instructions the model has not begun answering), to send again on a connection
    /// resumed from it.
    since_handle: InputBuffer,
    /// How many of `since_handle`'s commands other than audio (the oldest) the model has
    /// begun answering: a resumable handle that comes after covers them. One that came
    /// before does not, so until then they stay to be sent again on a resumed connection.
    answered_others: usize,
    handle: Option<String>,
    /// The last resumable handle came after the model's last output.
    handle_fresh: bool,
    /// Connection fact: a generation is in flight (output since the last
    /// `generationComplete`, `turnComplete` or `interrupted`).
    generating: bool,
    /// Connection fact: model output came that no `turnComplete` has closed yet.
    output_unclosed: bool,
    /// Connection fact: the output not yet closed by `turnComplete` or `interrupted` was
    /// transcribed.
    output_transcribed: bool,
    /// Connection fact: a reply is owed since this instant (`Begin`, a typed answer or an
    /// instruction, and no model output since).
    reply_owed_since: Option<Instant>,
    last_model_output: Instant,
    /// What the caller's interview says: no interviewer turn open, no candidate answer
    /// under way. `true` until the caller says otherwise.
    caller_quiet: bool,
    /// The transcript the caller handed for seeding the next connection, as
    /// `(speaker, text)`; taken when that connection is installed.
    history: Vec<(Speaker, String)>,
    /// The interviewer's last line, whose repetition as the first turn of a connection
    /// resumed from a stale handle is dropped.
    repeat_of: Option<String>,
    /// Events of the new connection's first turn, held while it could be that repetition.
    held: Vec<ModelEvent>,
    held_text: String,
    /// A switch happened and the new connection has said nothing since.
    silent_since_switch: bool,
    begun: bool,
    migrate_wanted: bool,
    migrate_at: Option<Instant>,
    closing: bool,
    ended: bool,
    switches: u32,
}

impl Reconnect {
    /// A machine for a first connection opened at `now`.
    pub(crate) fn new(policy: ReconnectPolicy, now: Instant) -> Self {
        Self {
            policy,
            events: VecDeque::new(),
            actions: VecDeque::new(),
            connected: true,
            switch: None,
            resumed_with_handle: None,
            buffer: InputBuffer::default(),
            flush_blocked: false,
            since_handle: InputBuffer::default(),
            answered_others: 0,
            handle: None,
            handle_fresh: false,
            generating: false,
            output_unclosed: false,
            output_transcribed: false,
            reply_owed_since: None,
            last_model_output: now,
            caller_quiet: true,
            history: Vec::new(),
            repeat_of: None,
            held: Vec::new(),
            held_text: String::new(),
            silent_since_switch: false,
            begun: false,
            migrate_wanted: false,
            migrate_at: None,
            closing: false,
            ended: false,
            switches: 0,
        }
    }

    /// The policy it follows.
    pub(crate) fn policy(&self) -> &ReconnectPolicy {
        &self.policy
    }

    /// The last resumption handle that came with `resumable: true`.
    pub(crate) fn resumption_handle(&self) -> Option<&str> {
        self.handle.as_deref()
    }

    /// Switches started so far.
    pub(crate) fn switches(&self) -> u32 {
        self.switches
    }

    /// Bytes of candidate audio dropped because the switch buffer was full.
    pub(crate) fn dropped_buffered_audio_bytes(&self) -> u64 {
        self.buffer.dropped_audio_bytes()
    }

    /// Whether a switch is under way.
    pub(crate) fn is_switching(&self) -> bool {
        self.switch.is_some()
    }

    /// Whether the session has ended for good (its `Closed` is queued or was polled).
    pub(crate) fn is_ended(&self) -> bool {
        self.ended
    }

    /// The caller's interview is quiet (`true`: no interviewer turn open and no candidate
    /// answer under way) or not. A `goAway` switch waits for quiet.
    pub(crate) fn set_quiet(&mut self, quiet: bool) {
        self.caller_quiet = quiet;
    }

    /// The caller's transcript, to seed the next connection made without a handle (and to
    /// recognise the resumed model repeating the interviewer's last line). Kept until that
    /// connection is installed.
    pub(crate) fn set_history(&mut self, entries: &[TranscriptEntry]) {
        self.history = turns_of(entries);
    }

    /// The seed of a first connection for an interview under way (`entries` as a
    /// `clientContent` history, with `turnComplete: true` when the candidate spoke last),
    /// or `None` with no entries.
    pub(crate) fn seed_first(
        &mut self,
        entries: &[TranscriptEntry],
        now: Instant,
    ) -> Option<String> {
        let history = turns_of(entries);
        if history.is_empty() {
            return None;
        }
        self.begun = true;
        let reply_now = history.last().is_some_and(|(s, _)| *s == Speaker::User);
        if reply_now {
            self.reply_owed_since = Some(now);
        }
        Some(history_message(&history, reply_now))
    }

    /// Where `cmd` goes. Notes the reply a `Begin`, a typed answer or an instruction asks
    /// for, and a `Close` ends the session (with [`Route::AbortSwitch`] it has ended).
    pub(crate) fn route_command(&mut self, cmd: &ModelCommand, now: Instant) -> Route {
        if self.ended {
            return Route::Ended;
        }
        match cmd {
            ModelCommand::Close => {
                self.closing = true;
                return if self.switch.take().is_some() {
                    self.finish(1000, String::new());
                    Route::AbortSwitch
                } else if self.connected {
                    Route::Close
                } else {
                    Route::Drop
                };
            }
            ModelCommand::Begin => {
                self.begun = true;
                self.reply_owed_since = Some(now);
            }
            ModelCommand::Text(_) | ModelCommand::Instruct(_) => self.reply_owed_since = Some(now),
            _ => {}
        }
        if self.connected && self.switch.is_none() {
            Route::Send
        } else {
            Route::Buffer
        }
    }

    /// `cmd` was written to the current connection: kept (bounded) to send again on a
    /// connection resumed from a handle older than it.
    pub(crate) fn sent(&mut self, cmd: ModelCommand) {
        if matches!(
            cmd,
            ModelCommand::Audio(_)
                | ModelCommand::Text(_)
                | ModelCommand::Begin
                | ModelCommand::Instruct(_)
        ) {
            self.since_handle.push_bounded(
                cmd,
                self.policy.max_buffered_audio_bytes,
                self.policy.max_buffered_commands,
            );
        }
    }

    /// Holds `cmd` for the next connection (bounded: oldest audio, then oldest other
    /// command, dropped first).
    pub(crate) fn buffer(&mut self, cmd: ModelCommand) {
        self.buffer.push_bounded(
            cmd,
            self.policy.max_buffered_audio_bytes,
            self.policy.max_buffered_commands,
        );
    }

    /// The `Close` could not be written: the session has ended.
    pub(crate) fn close_failed(&mut self) {
        self.connected = false;
        self.finish(1000, String::new());
    }

    /// The oldest command held for the installed connection, to be written now; report
    /// [`Reconnect::buffered_sent`] or [`Reconnect::buffered_failed`].
    pub(crate) fn front_buffered(&self) -> Option<&ModelCommand> {
        if !self.connected
            || self.switch.is_some()
            || self.flush_blocked
            || !self.actions.is_empty()
        {
            return None;
        }
        self.buffer.front()
    }

    /// The command [`Reconnect::front_buffered`] gave was written.
    pub(crate) fn buffered_sent(&mut self) {
        if let Some(cmd) = self.buffer.pop_front() {
            self.sent(cmd);
        }
    }

    /// The command [`Reconnect::front_buffered`] gave could not be written: it stays, and
    /// flushing stops until the next connection.
    pub(crate) fn buffered_failed(&mut self) {
        self.flush_blocked = true;
    }

    /// The next event for the caller.
    pub(crate) fn poll_event(&mut self) -> Option<ModelEvent> {
        self.events.pop_front()
    }

    /// The next action, once every event has been polled. A `goAway` switch due at a quiet
    /// moment starts here.
    pub(crate) fn poll_action(&mut self) -> Option<Action> {
        if let Some(action) = self.actions.pop_front() {
            return Some(action);
        }
        if self.events.is_empty()
            && self.migrate_wanted
            && !self.generating
            && self.caller_quiet
            && (self.handle_fresh || self.handle.is_none())
            && self.connected
            && self.switch.is_none()
            && !self.closing
            && !self.ended
        {
            self.start_switch("goAway".to_owned());
            return self.actions.pop_front();
        }
        None
    }

    /// When [`Reconnect::handle_timeout`] is next due: the stall watchdog (a reply owed or
    /// a generation under way) or the `goAway` deadline.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if !self.connected || self.switch.is_some() || self.closing || self.ended {
            return None;
        }
        let stall = if self.generating {
            Some(self.last_model_output + self.policy.stall_timeout)
        } else {
            self.reply_owed_since
                .map(|since| since + self.policy.stall_timeout)
        };
        [stall, self.migrate_at].into_iter().flatten().min()
    }

    /// Fires what is due at `now`: the `goAway` deadline switches (mid-generation if need
    /// be); a stall switches, or re-prompts a new connection that has said nothing yet.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.migrate_at.is_some_and(|at| at <= now) && self.switch.is_none() && self.connected {
            tracing::info!("goAway deadline near; moving to a new connection mid-generation");
            self.start_switch("goAway deadline".to_owned());
        } else if self.poll_timeout().is_some_and(|at| at <= now) {
            if self.silent_since_switch {
                // A fresh connection that says nothing is not helped by another one: ask
                // the model to go on instead (once per switch).
                tracing::warn!("no model output on the new connection; re-prompting");
                self.silent_since_switch = false;
                self.actions.push_back(Action::Send(ModelCommand::Instruct(
                    REPROMPT_INSTRUCTION.to_owned(),
                )));
                self.reply_owed_since = Some(now);
                self.last_model_output = now;
            } else {
                tracing::warn!("no model output; the connection looks stalled");
                self.start_switch("stall".to_owned());
            }
        }
    }

    /// An event of the current connection. Its `Closed` (or the end of its stream, given
    /// as `Closed` with 1006) switches when retryable and ends the session otherwise.
    pub(crate) fn handle_event(&mut self, event: ModelEvent, now: Instant) {
        match &event {
            ModelEvent::SetupComplete => {
                if let Some(with_handle) = self.resumed_with_handle.take() {
                    self.events.push_back(ModelEvent::Resumed { with_handle });
                    return;
                }
            }
            ModelEvent::Audio(_) | ModelEvent::Text(_) | ModelEvent::OutputTranscription(_) => {
                self.output_unclosed = true;
                self.generating = true;
                self.output_transcribed |= matches!(event, ModelEvent::OutputTranscription(_));
                self.reply_owed_since = None;
                self.last_model_output = now;
                self.handle_fresh = false;
                self.silent_since_switch = false;
                // The model is answering: the turns asked of it were heard on this
                // connection. The next resumable handle covers them; the last one may not.
                self.answered_others = self.since_handle.others();
            }
            ModelEvent::GenerationComplete => {
                self.generating = false;
                self.last_model_output = now;
            }
            ModelEvent::Interrupted => {
                self.generating = false;
                self.output_transcribed = false;
            }
            ModelEvent::TurnComplete => {
                self.generating = false;
                self.output_unclosed = false;
                self.output_transcribed = false;
                self.reply_owed_since = None;
            }
            ModelEvent::ResumptionUpdate { handle, resumable }
                if *resumable && !handle.is_empty() =>
            {
                self.handle = Some(handle.clone());
                self.handle_fresh = !self.generating;
                // The handle covers the audio streamed so far, and the typed answers and
                // requests the model had begun answering. One it has not begun answering
                // may have crossed the handle on the wire: it is kept until answered.
                self.since_handle
                    .drop_audio_and_oldest_others(self.answered_others);
                self.answered_others = 0;
            }
            ModelEvent::GoAway { time_left_ms } => {
                let left = Duration::from_millis(*time_left_ms);
                let margin = self.policy.go_away_margin.min(left / 2);
                self.migrate_wanted = true;
                self.migrate_at = Some(now + (left - margin));
            }
            ModelEvent::Closed { code, reason } => {
                self.connected = false;
                if self.closing || !is_retryable_close(*code, reason) {
                    self.finish(*code, reason.clone());
                } else {
                    tracing::warn!(code, %reason, "Gemini Live closed a connection; resuming");
                    self.start_switch(format!("closed {code}: {reason}"));
                }
                return;
            }
            _ => {}
        }
        if self.repeat_of.is_some() {
            self.hold_repeat(event);
        } else {
            self.events.push_back(event);
        }
    }

    /// The switch's new connection is open (its `setupComplete` not read yet): it gets the
    /// seed built from the handed transcript when it came without a handle, then the
    /// buffered commands ([`Reconnect::front_buffered`]).
    pub(crate) fn installed(&mut self, now: Instant) {
        let Some(plan) = self.switch.take() else {
            return;
        };
        self.connected = true;
        self.flush_blocked = false;
        self.last_model_output = now;
        if plan.reply_owed {
            self.reply_owed_since = Some(now);
        }
        let mut history = std::mem::take(&mut self.history);
        if plan.stale_handle {
            self.repeat_of = history
                .iter()
                .rev()
                .find(|(speaker, _)| *speaker == Speaker::Ai)
                .map(|(_, text)| text.clone())
                .filter(|text| !text.trim().is_empty());
        }
        if plan.with_handle {
            return;
        }
        if plan.cut_transcribed {
            // The cut line is not part of the conversation: the new connection says it again.
            if let Some(pos) = history
                .iter()
                .rposition(|(speaker, _)| *speaker == Speaker::Ai)
            {
                history.remove(pos);
            }
        }
        history.retain(|(_, text)| !text.trim().is_empty());
        // Without a handle the new connection knows nothing: give it the conversation so
        // far, and let it answer at once if the candidate spoke last or a reply was owed.
        let seed = if history.is_empty() {
            self.begun
                .then(|| encode_command(&ModelCommand::Begin).unwrap_or_default())
        } else {
            let reply_now = plan.reply_owed
                || history
                    .last()
                    .is_some_and(|(speaker, _)| *speaker == Speaker::User);
            Some(history_message(&history, reply_now))
        };
        if let Some(seed) = seed {
            self.actions.push_front(Action::SendMessage(seed));
        }
    }

    /// The switch could not make a new connection: the session ends with `code` and
    /// `reason`.
    pub(crate) fn switch_failed(&mut self, code: u16, reason: String) {
        self.switch = None;
        self.finish(code, reason);
    }

    /// Ends what the old connection left open and asks for a switch: close the old
    /// connection, connect with the handle (or, without one, seeded when installed).
    fn start_switch(&mut self, reason: String) {
        let cut = self.generating;
        if cut {
            self.events.push_back(ModelEvent::Interrupted);
        }
        if self.output_unclosed {
            self.events.push_back(ModelEvent::TurnComplete);
        }
        let with_handle = self.handle.is_some();
        let plan = SwitchPlan {
            with_handle,
            // A handle older than the last completed model turn: the resumed model will
            // say that turn again; drop it when it does.
            stale_handle: with_handle && !self.handle_fresh && !cut,
            cut_transcribed: cut && self.output_transcribed,
            reply_owed: self.reply_owed_since.take().is_some() || cut,
        };
        self.repeat_of = None;
        self.held.clear();
        self.held_text.clear();
        self.silent_since_switch = true;
        self.generating = false;
        self.output_unclosed = false;
        self.output_transcribed = false;
        self.migrate_wanted = false;
        self.migrate_at = None;
        self.connected = false;
        self.events.push_back(ModelEvent::Reconnecting { reason });
        self.resumed_with_handle = Some(with_handle);
        // Input sent after the handle is not part of the session it resumes: send it again,
        // before what was buffered since. Without a handle the history seeds the session.
        let replay = std::mem::take(&mut self.since_handle);
        self.answered_others = 0;
        if with_handle {
            self.buffer.prepend(replay);
        }
        self.switches += 1;
        self.switch = Some(plan);
        self.actions.push_back(Action::Switch {
            handle: self.handle.clone(),
        });
    }

    /// After a switch with a handle older than the last completed model turn, the new
    /// connection's first turn is held while its transcription could be that turn said
    /// again: dropped whole if it is, passed on as soon as it is not.
    fn hold_repeat(&mut self, event: ModelEvent) {
        let Some(repeat) = self.repeat_of.as_deref() else {
            self.events.push_back(event);
            return;
        };
        match &event {
            ModelEvent::OutputTranscription(t) => {
                self.held_text.push_str(t);
                let differs = !repeat.trim().starts_with(self.held_text.trim());
                self.held.push(event);
                if differs {
                    self.release_held();
                }
            }
            ModelEvent::Audio(_)
            | ModelEvent::Text(_)
            | ModelEvent::GenerationComplete
            | ModelEvent::Usage(_)
            | ModelEvent::TurnCompleteReason { .. } => self.held.push(event),
            ModelEvent::TurnComplete if self.held_text.trim() == repeat.trim() => {
                tracing::info!("the resumed model repeated its last turn; dropped");
                self.held.clear();
                self.held_text.clear();
                self.repeat_of = None;
            }
            ModelEvent::TurnComplete | ModelEvent::Interrupted => {
                self.held.push(event);
                self.release_held();
            }
            _ => self.events.push_back(event),
        }
    }

    fn release_held(&mut self) {
        self.repeat_of = None;
        self.held_text.clear();
        self.events.extend(self.held.drain(..));
    }

    fn finish(&mut self, code: u16, reason: String) {
        if !self.ended {
            self.events.push_back(ModelEvent::Closed { code, reason });
            self.ended = true;
        }
    }
}

/// `(speaker, text)` per entry, as [`history_message`] takes them.
fn turns_of(entries: &[TranscriptEntry]) -> Vec<(Speaker, String)> {
    entries
        .iter()
        .map(|e| (e.speaker, e.text.clone()))
        .collect()
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
