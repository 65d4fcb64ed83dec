// Audio code shared by the lobby and the live screen: the two audio contexts and the
// input level.

/** Rate of the interviewer's audio (AudioResponse), Hz; the playback context runs at it. */
export const MODEL_AUDIO_RATE_HZ = 24000;
/** Interval of level meters and the who-is-speaking indicator, ms. */
export const LEVEL_INTERVAL_MS = 100;
/** Input level (0..1 on the meter's -60..0 dBFS scale) that counts as speech. */
export const SPEECH_LEVEL = 0.35;

function makeAudioContext(options) {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return null;
  try {
    return new Ctx(options);
  } catch {
    return null;
  }
}

/** Makes the capture context (the device's rate) and the playback context (24 000 Hz) of `state`. */
export function ensureContexts(state) {
  if (!state.captureCtx) state.captureCtx = makeAudioContext({ latencyHint: 'interactive' });
  if (!state.playbackCtx) {
    state.playbackCtx = makeAudioContext({ sampleRate: MODEL_AUDIO_RATE_HZ, latencyHint: 'interactive' });
  }
  for (const ctx of [state.captureCtx, state.playbackCtx]) {
    if (ctx && ctx.state === 'suspended') ctx.resume().catch(() => {});
  }
}

/** Input level of an analyser on a 0..1 scale (-60..0 dBFS). */
export function levelOf(analyser) {
  const data = new Float32Array(analyser.fftSize);
  analyser.getFloatTimeDomainData(data);
  let sum = 0;
  for (const v of data) sum += v * v;
  const rms = Math.sqrt(sum / data.length);
  const db = 20 * Math.log10(rms + 1e-9);
  return Math.min(1, Math.max(0, (db + 60) / 60));
}
