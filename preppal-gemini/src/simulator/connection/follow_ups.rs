//! Follow-ups on typed answers, as the interview plan's policy asks
//! ([`crate::simulator::PlannedFollowUp`]).

use super::{Connection, Step};

impl Connection {
    /// After a typed answer `text`: the follow-up line the plan's policy asks for, counted
    /// in `self.probes`; `None` to go on to the next question (and the count restarts).
    pub(super) fn follow_up_for(&mut self, text: &str) -> Option<String> {
        let planned = self.script.follow_up.as_ref()?;
        if !self.config.follow_ups || self.finishing || !self.started || self.asked == 0 {
            return None;
        }
        match planned.policy.next_probe(text, self.probes) {
            Some(probe) => {
                self.probes += 1;
                Some(planned.manner.probe_line(probe, self.probes).to_owned())
            }
            None => {
                self.probes = 0;
                None
            }
        }
    }

    /// A typed answer ended: a follow-up when the plan asks for one, else the next line.
    pub(super) async fn typed_answer_ended(&mut self, text: &str) -> Step {
        match self.follow_up_for(text) {
            Some(line) => {
                let index = self.asked.saturating_sub(1);
                self.speak_line(index, line, false).await
            }
            None => self.candidate_turn_ended().await,
        }
    }
}
