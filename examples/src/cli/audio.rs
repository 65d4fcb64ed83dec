//! Candidate audio for the command-line client: any WAV file in, 16 000 Hz mono PCM16LE out.
//!
//! The interview socket takes candidate audio as PCM16LE, mono, 16 000 Hz, in frames of
//! 40-100 ms (`proto/interview.proto`, `AudioChunk`). Recorded answers come in whatever
//! format the recorder chose, so [`load_wav_16k_mono`] reads the WAV header and converts:
//!
//! 1. decode PCM integer samples of 8, 16, 24 or 32 bits, or 32-bit float samples, to `f32`
//!    in `[-1, 1]`;
//! 2. downmix every channel to mono by averaging;
//! 3. resample to 16 000 Hz with rubato's FFT resampler ([`rubato::FftFixedIn`]), whose
//!    windowed-sinc anti-aliasing filter removes what lies above the 8 000 Hz Nyquist
//!    frequency of the output (skipped when the file is already 16 000 Hz);
//! 4. round and clamp to `i16`.
//!
//! [`frames`] then cuts the samples into PCM16LE frames for `AudioChunk` messages.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use bytes::{BufMut, Bytes, BytesMut};
use rubato::{FftFixedIn, Resampler};

/// Sample rate of candidate audio on the interview socket, in Hz.
pub const SAMPLE_RATE_HZ: u32 = 16_000;

/// Samples per millisecond at [`SAMPLE_RATE_HZ`] (16).
pub const SAMPLES_PER_MS: usize = (SAMPLE_RATE_HZ / 1000) as usize;

/// Least number of input frames per resampler call (per channel); the FFT (and so the
/// anti-aliasing filter) is at least this long.
const RESAMPLER_MIN_CHUNK_FRAMES: usize = 1024;

/// Why a WAV file could not be turned into 16 000 Hz mono samples.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    /// The file could not be opened (missing, no permission). Check the path.
    #[error("cannot open {path}")]
    Open {
        /// The file that was asked for.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a readable WAV file: a bad RIFF/WAVE header, a truncated data chunk
    /// or an I/O error while reading samples.
    #[error("cannot read WAV file {path}")]
    Decode {
        /// The file being read.
        path: PathBuf,
        /// What the WAV reader said.
        #[source]
        source: hound::Error,
    },
    /// The WAV header describes a format this reader does not convert: float samples of
    /// other than 32 bits, integer samples of more than 32 bits, no channels or a sample
    /// rate of 0 Hz. Convert the file to PCM16 first (for example with sox).
    #[error("unsupported WAV format in {path}: {detail}")]
    Unsupported {
        /// The file being read.
        path: PathBuf,
        /// What is wrong with the format.
        detail: String,
    },
    /// The resampler refused its configuration or its input (a bug in this module or an
    /// extreme sample rate).
    #[error("cannot resample {path} from {from_hz} Hz to 16000 Hz: {message}")]
    Resample {
        /// The file being converted.
        path: PathBuf,
        /// The file's sample rate, in Hz.
        from_hz: u32,
        /// What the resampler said.
        message: String,
    },
}

/// Reads a WAV file and returns its audio as mono samples at 16 000 Hz.
///
/// Accepts PCM integer samples of 8, 16, 24 or 32 bits and IEEE float samples of 32 bits
/// (including `WAVE_FORMAT_EXTENSIBLE` headers), with any number of channels (averaged to
/// mono) and any sample rate (resampled with an FFT resampler that low-passes below the
/// 8 000 Hz Nyquist frequency of the output). The result has
/// `round(frames * 16000 / rate)` samples, where `frames` is the number of sample frames
/// in the file, so its duration matches the file's.
///
/// # Errors
/// - [`AudioError::Open`] when the file cannot be opened;
/// - [`AudioError::Decode`] for a malformed or truncated WAV file;
/// - [`AudioError::Unsupported`] for a sample format listed above as not converted;
/// - [`AudioError::Resample`] if the resampler fails.
pub fn load_wav_16k_mono(path: impl AsRef<Path>) -> Result<Vec<i16>, AudioError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|source| AudioError::Open {
        path: path.to_owned(),
        source,
    })?;
    let reader =
        hound::WavReader::new(BufReader::new(file)).map_err(|source| AudioError::Decode {
            path: path.to_owned(),
            source,
        })?;
    let spec = reader.spec();
    let unsupported = |detail: String| AudioError::Unsupported {
        path: path.to_owned(),
        detail,
    };
    if spec.channels == 0 {
        return Err(unsupported("the header declares no channels".to_owned()));
    }
    if spec.sample_rate == 0 {
        return Err(unsupported(
            "the header declares a sample rate of 0 Hz".to_owned(),
        ));
    }
    let decode_err = |source| AudioError::Decode {
        path: path.to_owned(),
        source,
    };
    let interleaved: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => reader
            .into_samples::<f32>()
            .collect::<Result<Vec<_>, _>>()
            .map_err(decode_err)?,
        (hound::SampleFormat::Int, bits @ 1..=32) => {
            let scale = 1.0 / (1u64 << (bits - 1)) as f64;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| (f64::from(v) * scale) as f32))
                .collect::<Result<Vec<_>, _>>()
                .map_err(decode_err)?
        }
        (format, bits) => {
            return Err(unsupported(format!(
                "{bits}-bit {} samples",
                match format {
                    hound::SampleFormat::Float => "float",
                    hound::SampleFormat::Int => "integer",
                }
            )))
        }
    };
    let mono = downmix(&interleaved, usize::from(spec.channels));
    let resampled =
        resample_to_16k(&mono, spec.sample_rate).map_err(|message| AudioError::Resample {
            path: path.to_owned(),
            from_hz: spec.sample_rate,
            message,
        })?;
    Ok(resampled.iter().map(|&s| to_i16(s)).collect())
}

/// Averages interleaved frames of `channels` samples into one mono sample each.
/// A trailing partial frame is dropped.
fn downmix(interleaved: &[f32], channels: usize) -> Vec<f32> {
    if channels == 1 {
        return interleaved.to_vec();
    }
    let inv = 1.0 / channels as f32;
    interleaved
        .chunks_exact(channels)
        .map(|frame| frame.iter().sum::<f32>() * inv)
        .collect()
}

/// Resamples mono `input` at `rate_hz` to 16 000 Hz, compensating the resampler's delay
/// so that output sample `n` lines up with input time `n / 16000` s.
fn resample_to_16k(input: &[f32], rate_hz: u32) -> Result<Vec<f32>, String> {
    if rate_hz == SAMPLE_RATE_HZ {
        return Ok(input.to_vec());
    }
    let expected = usize::try_from(
        (input.len() as u64 * u64::from(SAMPLE_RATE_HZ) + u64::from(rate_hz) / 2)
            / u64::from(rate_hz),
    )
    .map_err(|e| e.to_string())?;
    if expected == 0 {
        return Ok(Vec::new());
    }
    let mut resampler = FftFixedIn::<f32>::new(
        rate_hz as usize,
        SAMPLE_RATE_HZ as usize,
        chunk_frames(rate_hz),
        1,
        1,
    )
    .map_err(|e| e.to_string())?;
    let delay = resampler.output_delay();
    let mut out = Vec::with_capacity(expected + delay + resampler.output_frames_max());
    let mut pos = 0;
    loop {
        let need = resampler.input_frames_next();
        if input.len() - pos < need {
            break;
        }
        let chunk = resampler
            .process(&[&input[pos..pos + need]], None)
            .map_err(|e| e.to_string())?;
        out.extend_from_slice(&chunk[0]);
        pos += need;
    }
    if pos < input.len() {
        let chunk = resampler
            .process_partial(Some(&[&input[pos..]]), None)
            .map_err(|e| e.to_string())?;
        out.extend_from_slice(&chunk[0]);
    }
    // Flush the filter's tail: feed silence until the delayed output has come out.
    while out.len() < delay + expected {
        let chunk = resampler
            .process_partial::<&[f32]>(None, None)
            .map_err(|e| e.to_string())?;
        if chunk[0].is_empty() {
            break;
        }
        out.extend_from_slice(&chunk[0]);
    }
    out.drain(..delay.min(out.len()));
    out.truncate(expected);
    Ok(out)
}

/// Input chunk length for the FFT resampler, in frames.
///
/// The FFT resampler works in blocks of `k * rate_hz / gcd` input frames and
/// `k * 16000 / gcd` output frames. Choosing `k` a power of two keeps both FFT lengths
/// products of small primes (fast), where a fixed chunk length could make them large
/// primes (for 48 000 Hz, 4096 frames would give an output FFT of 2 * 683 points).
fn chunk_frames(rate_hz: u32) -> usize {
    let gcd = gcd(rate_hz, SAMPLE_RATE_HZ) as usize;
    let block_in = rate_hz as usize / gcd;
    let mut k = 1;
    while k * block_in < RESAMPLER_MIN_CHUNK_FRAMES {
        k *= 2;
    }
    k * block_in
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn to_i16(s: f32) -> i16 {
    // Float to int casts saturate in Rust; NaN becomes 0.
    (s * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16
}

/// Cuts 16 000 Hz mono samples into PCM16LE frames of `frame_ms` milliseconds.
///
/// Each frame holds `16 * frame_ms` samples (`32 * frame_ms` bytes, little-endian); the
/// last frame holds the remaining samples and may be shorter, but always whole samples
/// (an even number of bytes). A `frame_ms` of 0 is treated as 1 ms. Empty input gives no
/// frames.
pub fn frames(samples: &[i16], frame_ms: u32) -> impl Iterator<Item = Bytes> + '_ {
    let per_frame = SAMPLES_PER_MS * (frame_ms.max(1) as usize);
    samples.chunks(per_frame).map(pcm16le)
}

/// Encodes samples as PCM16LE bytes.
fn pcm16le(samples: &[i16]) -> Bytes {
    let mut buf = BytesMut::with_capacity(samples.len() * 2);
    for &s in samples {
        buf.put_i16_le(s);
    }
    buf.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downmix_averages_channels() {
        assert_eq!(downmix(&[1.0, 0.0, -0.5, -0.5, 0.25], 2), vec![0.5, -0.5]);
    }

    #[test]
    fn to_i16_clamps_and_rounds() {
        assert_eq!(to_i16(1.5), i16::MAX);
        assert_eq!(to_i16(-1.5), i16::MIN);
        assert_eq!(to_i16(0.5), 16_384);
        assert_eq!(to_i16(f32::NAN), 0);
    }

    #[test]
    fn chunks_are_whole_blocks_of_at_least_the_minimum() {
        assert_eq!(chunk_frames(48_000), 1_536);
        assert_eq!(chunk_frames(44_100), 1_764);
        assert_eq!(chunk_frames(8_000), 1_024);
        assert_eq!(chunk_frames(22_050), 1_764);
    }

    #[test]
    fn resampling_keeps_duration_for_short_inputs() {
        for len in [1usize, 7, 100, 4095, 4096, 4097, 20_000] {
            let input = vec![0.1f32; len];
            let out = resample_to_16k(&input, 48_000).unwrap();
            assert_eq!(out.len(), (len * 16_000 + 24_000) / 48_000, "len {len}");
        }
    }
}
