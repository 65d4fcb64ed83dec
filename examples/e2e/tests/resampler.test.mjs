// Unit test of the capture resampler (examples/assets/resampler.js): a 1 kHz tone at
// 48 000 Hz comes out at 16 000 Hz with its frequency intact, and a 12 kHz tone (which
// would alias to 4 kHz without the low-pass) is attenuated by at least 40 dB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FRAME_SAMPLES, OUTPUT_RATE_HZ, Resampler } from '../../assets/resampler.js';

/** Resamples `seconds` of a sine of `hz` at `inRate`, fed in 128-sample blocks. */
function resampleTone(hz, inRate, seconds, amplitude = 0.5) {
  const frames = [];
  const r = new Resampler(inRate, (buf) => frames.push(new Int16Array(buf)));
  const total = Math.round(seconds * inRate);
  for (let start = 0; start < total; start += 128) {
    const n = Math.min(128, total - start);
    const block = new Float32Array(n);
    for (let i = 0; i < n; i += 1) block[i] = amplitude * Math.sin((2 * Math.PI * hz * (start + i)) / inRate);
    r.push([block]);
  }
  for (const f of frames) assert.equal(f.length, FRAME_SAMPLES);
  const out = new Float64Array(frames.length * FRAME_SAMPLES);
  frames.forEach((f, k) => f.forEach((v, i) => (out[k * FRAME_SAMPLES + i] = v / 32768)));
  return out;
}

/** RMS of `x` after skipping the filter's start-up. */
function rms(x, skip = 200) {
  let s = 0;
  for (let i = skip; i < x.length; i += 1) s += x[i] * x[i];
  return Math.sqrt(s / (x.length - skip));
}

/** Magnitude of the DFT of `x` at `hz` (one bin, Goertzel-style sum). */
function toneMagnitude(x, hz, rate, skip = 200) {
  let re = 0;
  let im = 0;
  for (let i = skip; i < x.length; i += 1) {
    re += x[i] * Math.cos((2 * Math.PI * hz * i) / rate);
    im -= x[i] * Math.sin((2 * Math.PI * hz * i) / rate);
  }
  return (2 * Math.hypot(re, im)) / (x.length - skip);
}

test('a 1 kHz tone at 48 kHz keeps its frequency and level at 16 kHz', () => {
  const out = resampleTone(1000, 48000, 1.0);
  // One second in gives about one second out (less the frame still filling).
  assert.ok(out.length >= OUTPUT_RATE_HZ - 2 * FRAME_SAMPLES && out.length <= OUTPUT_RATE_HZ, `${out.length}`);
  // Frequency: count positive-going zero crossings over the steady part.
  const skip = 200;
  let crossings = 0;
  let first = -1;
  let last = -1;
  for (let i = skip + 1; i < out.length; i += 1) {
    if (out[i - 1] < 0 && out[i] >= 0) {
      const at = i - 1 + out[i - 1] / (out[i - 1] - out[i]);
      if (first < 0) first = at;
      last = at;
      crossings += 1;
    }
  }
  const measuredHz = ((crossings - 1) * OUTPUT_RATE_HZ) / (last - first);
  assert.ok(Math.abs(measuredHz - 1000) < 1, `measured ${measuredHz} Hz`);
  // Level: a 0.5 sine has RMS 0.354; the passband is flat within 0.1 dB.
  const gainDb = 20 * Math.log10(rms(out) / (0.5 / Math.SQRT2));
  assert.ok(Math.abs(gainDb) < 0.2, `gain ${gainDb} dB`);
  // Nearly all of the energy sits at 1 kHz.
  assert.ok(toneMagnitude(out, 1000, OUTPUT_RATE_HZ) > 0.49);
});

test('a 12 kHz tone at 48 kHz is attenuated by at least 40 dB (no alias at 4 kHz)', () => {
  const out = resampleTone(12000, 48000, 1.0);
  const inRms = 0.5 / Math.SQRT2;
  const attenuationDb = 20 * Math.log10(inRms / Math.max(rms(out), 1e-12));
  assert.ok(attenuationDb >= 40, `attenuation ${attenuationDb} dB`);
  // The alias a bare decimator would produce (12 kHz folds to 4 kHz at 16 kHz).
  const aliasDb = 20 * Math.log10(Math.max(toneMagnitude(out, 4000, OUTPUT_RATE_HZ), 1e-12) / 0.5);
  assert.ok(aliasDb <= -40, `alias at ${aliasDb} dB`);
});

test('44.1 kHz input is resampled too: 1 kHz stays, 12 kHz goes', () => {
  const pass = resampleTone(1000, 44100, 0.5);
  assert.ok(toneMagnitude(pass, 1000, OUTPUT_RATE_HZ) > 0.49);
  const stop = resampleTone(12000, 44100, 0.5);
  assert.ok(20 * Math.log10((0.5 / Math.SQRT2) / Math.max(rms(stop), 1e-12)) >= 40);
});

test('flush emits the partial frame zero-padded', () => {
  const frames = [];
  const r = new Resampler(48000, (buf) => frames.push(new Int16Array(buf)));
  r.push([new Float32Array(300).fill(0.25)]);
  assert.equal(frames.length, 0);
  r.flush();
  assert.equal(frames.length, 1);
  assert.equal(frames[0].length, FRAME_SAMPLES);
  assert.equal(frames[0][FRAME_SAMPLES - 1], 0);
  assert.ok(frames[0].some((v) => v > 0));
});
