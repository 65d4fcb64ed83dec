//! [`InputBuffer`]: candidate input held for a connection that is not there yet (the switch
//! buffer) or that may need it again (input sent since the last resumption handle).

use std::collections::VecDeque;

use preppal_core::ModelCommand;

/// Commands in order, bounded two ways: audio by bytes (oldest audio dropped first) and
/// other commands by count (oldest dropped first). Counts are kept as it goes, so a push
/// costs no scan unless something must be dropped.
#[derive(Debug, Default)]
pub(crate) struct InputBuffer {
    queue: VecDeque<ModelCommand>,
    /// Bytes of `ModelCommand::Audio` in `queue`.
    audio_bytes: usize,
    /// Commands in `queue` other than audio.
    other: usize,
    /// Bytes of audio dropped by [`InputBuffer::push_bounded`] so far.
    dropped_audio_bytes: u64,
}

impl InputBuffer {
    /// Appends `cmd`, then drops the oldest audio while audio exceeds `max_audio_bytes`
    /// and the oldest other command while they exceed `max_commands`.
    pub(crate) fn push_bounded(
        &mut self,
        cmd: ModelCommand,
        max_audio_bytes: usize,
        max_commands: usize,
    ) {
        self.count_in(&cmd);
        self.queue.push_back(cmd);
        while self.audio_bytes > max_audio_bytes {
            let Some(pos) = self.queue.iter().position(is_audio) else {
                break;
            };
            if let Some(ModelCommand::Audio(old)) = self.queue.remove(pos) {
                self.audio_bytes -= old.len();
                self.dropped_audio_bytes += old.len() as u64;
            }
        }
        while self.other > max_commands {
            let Some(pos) = self.queue.iter().position(|c| !is_audio(c)) else {
                break;
            };
            self.queue.remove(pos);
            self.other -= 1;
        }
    }

    /// Puts `other`'s commands before this buffer's, in their order, with no bound (both
    /// were bounded already).
    pub(crate) fn prepend(&mut self, other: InputBuffer) {
        for cmd in other.queue.into_iter().rev() {
            self.count_in(&cmd);
            self.queue.push_front(cmd);
        }
    }

    /// The oldest command.
    pub(crate) fn front(&self) -> Option<&ModelCommand> {
        self.queue.front()
    }

    /// Removes and returns the oldest command.
    pub(crate) fn pop_front(&mut self) -> Option<ModelCommand> {
        let cmd = self.queue.pop_front()?;
        self.count_out(&cmd);
        Some(cmd)
    }

    /// How many commands other than audio it holds.
    pub(crate) fn others(&self) -> usize {
        self.other
    }

    /// Drops all audio and the `n` oldest commands other than audio.
    pub(crate) fn drop_audio_and_oldest_others(&mut self, n: usize) {
        let mut left = n;
        self.retain_with(|c| {
            if is_audio(c) {
                return false;
            }
            if left > 0 {
                left -= 1;
                return false;
            }
            true
        });
    }

    /// Keeps only the commands for which `keep` is true.
    fn retain_with(&mut self, mut keep: impl FnMut(&ModelCommand) -> bool) {
        self.queue.retain(|c| keep(c));
        self.audio_bytes = 0;
        self.other = 0;
        for i in 0..self.queue.len() {
            match &self.queue[i] {
                ModelCommand::Audio(a) => self.audio_bytes += a.len(),
                _ => self.other += 1,
            }
        }
    }

    /// Bytes of audio dropped by the bound so far.
    pub(crate) fn dropped_audio_bytes(&self) -> u64 {
        self.dropped_audio_bytes
    }

    fn count_in(&mut self, cmd: &ModelCommand) {
        match cmd {
            ModelCommand::Audio(a) => self.audio_bytes += a.len(),
            _ => self.other += 1,
        }
    }

    fn count_out(&mut self, cmd: &ModelCommand) {
        match cmd {
            ModelCommand::Audio(a) => self.audio_bytes -= a.len(),
            _ => self.other -= 1,
        }
    }
}

fn is_audio(cmd: &ModelCommand) -> bool {
    matches!(cmd, ModelCommand::Audio(_))
}
