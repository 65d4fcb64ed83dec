//! The simulated interviewer's voice: espeak-ng speech resampled to 24 kHz, or silence of
//! a plausible length.

use std::io::Cursor;
use std::time::Duration;

use rubato::{FftFixedIn, Resampler as _};

/// Output sample rate of Gemini Live audio: 24 000 Hz (§5).
pub const OUTPUT_SAMPLE_RATE_HZ: u32 = 24_000;

/// Speaking rate assumed for silent speech: 2.5 words per second.
pub const SILENT_WORDS_PER_SECOND: f64 = 2.5;

/// How the simulator makes the audio of a line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpeechMode {
    /// espeak-ng when the `espeak-ng` binary runs, silence otherwise.
    #[default]
    Auto,
    /// Always espeak-ng; a line it cannot speak falls back to silence, with a warning.
    Espeak,
    /// Always silence: about [`SILENT_WORDS_PER_SECOND`] words per second of zeros.
    Silence,
}

/// Whether the `espeak-ng` binary can be run.
pub fn espeak_available() -> bool {
    std::process::Command::new("espeak-ng")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Silence for `line`: PCM16 samples (all zero) at 24 000 Hz, lasting the line's word count
/// divided by [`SILENT_WORDS_PER_SECOND`], at least 0.5 s.
pub fn silence_for(line: &str) -> Vec<i16> {
    let words = line.split_whitespace().count().max(1) as f64;
    let seconds = (words / SILENT_WORDS_PER_SECOND).max(0.5);
    vec![0; (seconds * f64::from(OUTPUT_SAMPLE_RATE_HZ)) as usize]
}

/// Duration of `samples` mono samples at 24 000 Hz.
pub(super) fn duration_of(samples: usize) -> Duration {
    Duration::from_secs_f64(samples as f64 / f64::from(OUTPUT_SAMPLE_RATE_HZ))
}

/// Speaks `line` with `espeak-ng --stdout -v en-us` and returns mono PCM16 at 24 000 Hz.
///
/// espeak-ng writes a WAV stream at 22 050 Hz whose header holds a placeholder length, so
/// the samples are read until the data ends; they are then resampled with rubato's FFT
/// resampler.
///
/// # Errors
/// A message when espeak-ng cannot be run, fails, or writes something that is not a
/// 16-bit WAV.
pub async fn espeak(line: &str) -> Result<Vec<i16>, String> {
    let output = tokio::process::Command::new("espeak-ng")
        .args(["--stdout", "-v", "en-us", "--", line])
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run espeak-ng: {e}"))?;
    if !output.status.success() {
        return Err(format!("espeak-ng exited with {}", output.status));
    }
    let reader = hound::WavReader::new(Cursor::new(output.stdout))
        .map_err(|e| format!("espeak-ng WAV: {e}"))?;
    let spec = reader.spec();
    if spec.bits_per_sample != 16 || spec.sample_format != hound::SampleFormat::Int {
        return Err(format!("espeak-ng WAV is not PCM16: {spec:?}"));
    }
    let channels = usize::from(spec.channels.max(1));
    // The header's length is a placeholder: stop at the first read error (end of data).
    let interleaved: Vec<i16> = reader.into_samples::<i16>().map_while(Result::ok).collect();
    let mono: Vec<f32> = interleaved
        .chunks(channels)
        .map(|frame| {
            frame.iter().map(|&s| f32::from(s)).sum::<f32>() / (channels as f32 * 32_768.0)
        })
        .collect();
    let resampled = tokio::task::spawn_blocking(move || {
        resample(&mono, spec.sample_rate, OUTPUT_SAMPLE_RATE_HZ)
    })
    .await
    .map_err(|e| format!("resampler task: {e}"))??;
    Ok(resampled
        .into_iter()
        .map(|s| (s * 32_767.0).clamp(-32_768.0, 32_767.0) as i16)
        .collect())
}

/// Resamples mono `input` from `from_hz` to `to_hz` with rubato's synchronous FFT
/// resampler, compensating its delay so the output lines up with the input and has
/// `input.len() * to_hz / from_hz` samples.
///
/// # Errors
/// A message when the rates are invalid (zero).
pub fn resample(input: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>, String> {
    if from_hz == to_hz {
        return Ok(input.to_vec());
    }
    const CHUNK: usize = 1024;
    let mut resampler = FftFixedIn::<f32>::new(from_hz as usize, to_hz as usize, CHUNK, 2, 1)
        .map_err(|e| format!("resampler: {e}"))?;
    let delay = resampler.output_delay();
    let expected = (input.len() as u64 * u64::from(to_hz) / u64::from(from_hz)) as usize;
    let mut out = Vec::with_capacity(expected + delay + CHUNK * 2);
    let mut pos = 0;
    while pos < input.len() {
        let need = resampler.input_frames_next();
        let end = (pos + need).min(input.len());
        let chunk = [&input[pos..end]];
        let produced = if end - pos == need {
            resampler.process(&chunk[..], None)
        } else {
            resampler.process_partial(Some(&chunk[..]), None)
        }
        .map_err(|e| format!("resampler: {e}"))?;
        out.extend_from_slice(&produced[0]);
        pos = end;
    }
    // Flush the delay line.
    while out.len() < expected + delay {
        let produced = resampler
            .process_partial::<&[f32]>(None, None)
            .map_err(|e| format!("resampler: {e}"))?;
        if produced[0].is_empty() {
            break;
        }
        out.extend_from_slice(&produced[0]);
    }
    let start = delay.min(out.len());
    let end = (delay + expected).min(out.len());
    Ok(out[start..end].to_vec())
}

/// The audio of `line` in `mode`: PCM16 samples at 24 000 Hz.
pub async fn speak(line: &str, mode: SpeechMode) -> Vec<i16> {
    let use_espeak = match mode {
        SpeechMode::Silence => false,
        SpeechMode::Espeak => true,
        SpeechMode::Auto => {
            static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
            match AVAILABLE.get() {
                Some(&known) => known,
                None => {
                    let found = tokio::task::spawn_blocking(espeak_available)
                        .await
                        .unwrap_or(false);
                    *AVAILABLE.get_or_init(|| found)
                }
            }
        }
    };
    if use_espeak {
        match espeak(line).await {
            Ok(samples) if !samples.is_empty() => return samples,
            Ok(_) => tracing::warn!("espeak-ng produced no audio; using silence"),
            Err(e) => tracing::warn!(error = %e, "espeak-ng failed; using silence"),
        }
    }
    silence_for(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_has_a_plausible_length() {
        let s = silence_for("one two three four five");
        assert_eq!(s.len(), 2 * 24_000);
        assert!(s.iter().all(|&x| x == 0));
        assert_eq!(silence_for("").len(), 12_000);
        assert_eq!(duration_of(48_000), Duration::from_secs(2));
    }

    #[test]
    fn resampling_keeps_length_and_tone() {
        // 0.5 s of a 440 Hz tone at 22 050 Hz becomes 12 000 samples at 24 000 Hz.
        let input: Vec<f32> = (0..11_025)
            .map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 22_050.0).sin() * 0.5)
            .collect();
        let out = resample(&input, 22_050, 24_000).unwrap();
        assert_eq!(out.len(), 12_000);
        let mid = &out[2_000..10_000];
        let rms = (mid.iter().map(|x| x * x).sum::<f32>() / mid.len() as f32).sqrt();
        assert!((rms - 0.5 / 2f32.sqrt()).abs() < 0.05, "rms {rms}");
        // Zero crossings match 440 Hz: about 880 per second.
        let crossings = mid
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        let expected = 880.0 * mid.len() as f32 / 24_000.0;
        assert!(
            (crossings as f32 - expected).abs() < 10.0,
            "{crossings} vs {expected}"
        );
    }
}
