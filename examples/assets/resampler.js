// Band-limited resampling of the microphone to 16 000 Hz, PCM16LE, in fixed frames. Pure
// code (no Web Audio), shared by the capture worklet and the resampler's unit test.
//
// Resampling is band-limited interpolation with a windowed-sinc FIR low-pass:
//   y(t) = sum_k x[k] * h(t - k),  h(u) = 2 fc sinc(2 fc u) * blackman(u / H)
// where t is the output instant in input samples, fc is the cutoff in cycles per input
// sample and H the half-width of the kernel in input samples. The cutoff (the -6 dB
// point) sits at 90 % of the output Nyquist frequency: 7 200 Hz for 16 000 Hz out. The
// kernel spans 24 zero crossings (H = 12 / (2 fc): 40 input samples each side at
// 48 000 Hz, 80 taps). At 48 000 and 44 100 Hz in: flat within 0.1 dB up to 6 000 Hz,
// -21 dB at 8 000 Hz, -45 dB at 8 500 Hz and below -75 dB from 9 000 Hz, so what would
// alias back into the band is removed before decimation.
// Fractional positions are quantised to PHASES sub-sample phases whose kernels are
// computed once; each phase is normalised to unity gain at DC. The latency is H input
// samples (under 1 ms).

/** Rate of the candidate's audio on the wire (AudioChunk), Hz. */
export const OUTPUT_RATE_HZ = 16000;
/** Samples per frame: 40 ms at 16 000 Hz (1 280 bytes of PCM16LE). */
export const FRAME_SAMPLES = 640;
/** Cutoff of the low-pass, as a fraction of the output Nyquist frequency. */
export const CUTOFF_FRACTION = 0.9;
const ZERO_CROSSINGS_EACH_SIDE = 12;
const PHASES = 256;

/** Blackman window on |x| <= 1 (x = 0 at the centre). */
function blackman(x) {
  if (Math.abs(x) >= 1) return 0;
  const n = (x + 1) / 2; // 0..1 across the window
  return 0.42 - 0.5 * Math.cos(2 * Math.PI * n) + 0.08 * Math.cos(4 * Math.PI * n);
}

function sinc(x) {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

/**
 * The polyphase kernels for `inputRateHz` in: `taps` coefficients per phase; phase p
 * serves a fractional offset p / PHASES and tap j multiplies input sample
 * `center - half + 1 + j`.
 */
export function buildKernels(inputRateHz) {
  const ratio = Math.min(1, OUTPUT_RATE_HZ / inputRateHz);
  const fc = 0.5 * ratio * CUTOFF_FRACTION; // cycles per input sample
  const half = Math.ceil(ZERO_CROSSINGS_EACH_SIDE / (2 * fc));
  const taps = 2 * half;
  const table = new Float32Array((PHASES + 1) * taps);
  for (let p = 0; p <= PHASES; p += 1) {
    const frac = p / PHASES;
    let sum = 0;
    for (let j = 0; j < taps; j += 1) {
      const u = j - half + 1 - frac; // input sample position minus output instant
      const h = 2 * fc * sinc(2 * fc * u) * blackman(u / half);
      table[p * taps + j] = h;
      sum += h;
    }
    for (let j = 0; j < taps; j += 1) table[p * taps + j] /= sum;
  }
  return { table, half, taps };
}

/** A float sample in [-1, 1] as a PCM16 integer (clipped). */
export function toInt16(s) {
  const c = s > 1 ? 1 : s < -1 ? -1 : s;
  return c < 0 ? Math.round(c * 32768) : Math.round(c * 32767);
}

/**
 * Streaming resampler from `inputRateHz` (mono, float) to 16 000 Hz PCM16LE frames of
 * FRAME_SAMPLES samples. `push` takes the channels of one block (arrays of floats, mixed
 * to mono) and calls `onFrame(ArrayBuffer)` for every full frame (1 280 bytes).
 */
export class Resampler {
  constructor(inputRateHz, onFrame) {
    this.step = inputRateHz / OUTPUT_RATE_HZ; // input samples per output sample
    const { table, half, taps } = buildKernels(inputRateHz);
    this.table = table;
    this.half = half;
    this.taps = taps;
    this.onFrame = onFrame;
    // Input history; starts with `half` zeros so the first output has a full window.
    this.buf = new Float32Array(4096 + taps);
    this.len = half;
    this.pos = half - 1; // output instant, in input samples from buf[0]
    this.frame = new DataView(new ArrayBuffer(FRAME_SAMPLES * 2));
    this.frameFill = 0;
  }

  /** Appends one block: `channels` is an array of equally long Float32Arrays. */
  push(channels) {
    const n = channels.length > 0 ? channels[0].length : 0;
    if (n === 0) return;
    if (this.len + n > this.buf.length) {
      const bigger = new Float32Array((this.len + n) * 2);
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
    const k = channels.length;
    for (let i = 0; i < n; i += 1) {
      let s = 0;
      for (let c = 0; c < k; c += 1) s += channels[c][i];
      this.buf[this.len + i] = s / k;
    }
    this.len += n;
    this.resample();
  }

  /** Emits a partial frame, zero-padded to FRAME_SAMPLES (end of speech). */
  flush() {
    const missing = this.frameFill === 0 ? 0 : FRAME_SAMPLES - this.frameFill;
    for (let i = 0; i < missing; i += 1) this.pushSample(0);
  }

  pushSample(s) {
    this.frame.setInt16(this.frameFill * 2, toInt16(s), true); // little-endian
    this.frameFill += 1;
    if (this.frameFill === FRAME_SAMPLES) {
      const out = this.frame.buffer;
      this.frame = new DataView(new ArrayBuffer(FRAME_SAMPLES * 2));
      this.frameFill = 0;
      this.onFrame(out);
    }
  }

  resample() {
    const { buf, table, half, taps } = this;
    // An output at instant pos needs input up to floor(pos) + half (+ 1 when its
    // fractional phase rounds up to the next sample).
    while (Math.floor(this.pos) + half + 1 < this.len) {
      let center = Math.floor(this.pos);
      let phase = Math.round((this.pos - center) * PHASES);
      if (phase === PHASES) {
        center += 1;
        phase = 0;
      }
      const start = center - half + 1;
      const base = phase * taps;
      let y = 0;
      for (let j = 0; j < taps; j += 1) y += buf[start + j] * table[base + j];
      this.pushSample(y);
      this.pos += this.step;
    }
    // Drop input no later output will reach (keep `half` samples before the next centre).
    const drop = Math.floor(this.pos) - half + 1;
    if (drop > 0) {
      buf.copyWithin(0, drop, this.len);
      this.len -= drop;
      this.pos -= drop;
    }
  }
}
