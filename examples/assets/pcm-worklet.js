// Audio worklet processors of the Preppal interview page.
//
// 'pcm-capture' (in the capture context, at its own rate, usually 48 000 or 44 100 Hz):
//   turns the microphone into PCM16LE mono at 16 000 Hz in frames of 40 ms (640 samples =
//   1 280 bytes) with the band-limited Resampler of resampler.js, and posts each frame's
//   ArrayBuffer to the page (transferred, not copied). `{ type: 'flush' }` from the page
//   posts any partial frame, zero-padded.
//
// 'pcm-playback' (in the playback context, created at 24 000 Hz, the rate of the
//   interviewer's AudioResponse): a jitter buffer with gapless output.
//   - `{ type: 'chunk', samples: Float32Array }` queues audio. After running dry, output
//     starts again once JITTER_TARGET_MS are queued, or JITTER_MAX_WAIT_MS after the first
//     new chunk when less arrives (the end of a short line); chunks then play back to back
//     with no gap or overlap, sample-exact on the render timeline.
//   - `{ type: 'flush' }` (barge-in): the next render quantum fades what is playing out
//     over FADE_SAMPLES (2 ms) and drops everything queued, so playback stops within one
//     render quantum (128 samples, 5.3 ms at 24 000 Hz) without a click.
//   It posts `{ type: 'state', playing, bufferedMs, playedMs, flushes, droppedMs,
//   underruns }` on every change of `playing` and about every 100 ms while playing.

import { Resampler } from '/assets/resampler.js';

/** Audio queued before output starts (re)playing, ms. */
const JITTER_TARGET_MS = 150;
/** Longest wait for JITTER_TARGET_MS to arrive before playing what there is, ms. */
const JITTER_MAX_WAIT_MS = 200;
/** Length of the fade-out on flush, samples at the playback rate. */
const FADE_SAMPLES = 48;
/** Interval of state reports while playing, ms. */
const REPORT_MS = 100;

class PcmCaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    // `sampleRate` is the AudioWorkletGlobalScope's rate: the context's, in Hz.
    this.resampler = new Resampler(sampleRate, (frame) => this.port.postMessage(frame, [frame]));
    this.port.onmessage = (e) => {
      if (e.data && e.data.type === 'flush') this.resampler.flush();
    };
  }

  process(inputs) {
    const input = inputs[0];
    if (input && input.length > 0 && input[0].length > 0) this.resampler.push(input);
    return true;
  }
}

class PcmPlaybackProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.queue = []; // Float32Arrays
    this.readAt = 0; // index into queue[0]
    this.buffered = 0; // samples queued
    this.playing = false;
    this.waitStart = -1; // currentFrame when the first chunk after running dry arrived
    this.flushRequested = false;
    this.played = 0;
    this.flushes = 0;
    this.dropped = 0;
    this.underruns = 0;
    this.lastReport = 0;
    this.target = Math.round((JITTER_TARGET_MS / 1000) * sampleRate);
    this.maxWait = Math.round((JITTER_MAX_WAIT_MS / 1000) * sampleRate);
    this.port.onmessage = (e) => {
      const m = e.data;
      if (!m) return;
      if (m.type === 'chunk' && m.samples && m.samples.length > 0) {
        this.queue.push(m.samples);
        this.buffered += m.samples.length;
        if (!this.playing && this.waitStart < 0) this.waitStart = currentFrame;
      } else if (m.type === 'flush') {
        this.flushRequested = true;
      }
    };
  }

  report() {
    this.lastReport = currentFrame;
    const ms = (n) => Math.round((n / sampleRate) * 1000);
    this.port.postMessage({
      type: 'state',
      playing: this.playing,
      bufferedMs: ms(this.buffered),
      playedMs: ms(this.played),
      flushes: this.flushes,
      droppedMs: ms(this.dropped),
      underruns: this.underruns,
    });
  }

  /** Copies up to `n` queued samples into `out` from `at`; returns how many. */
  take(out, at, n) {
    let done = 0;
    while (done < n && this.queue.length > 0) {
      const head = this.queue[0];
      const k = Math.min(n - done, head.length - this.readAt);
      out.set(head.subarray(this.readAt, this.readAt + k), at + done);
      this.readAt += k;
      done += k;
      if (this.readAt === head.length) {
        this.queue.shift();
        this.readAt = 0;
      }
    }
    this.buffered -= done;
    return done;
  }

  process(_inputs, outputs) {
    const out = outputs[0][0];
    const n = out.length;
    out.fill(0);
    if (this.flushRequested) {
      this.flushRequested = false;
      if (this.playing) {
        const k = this.take(out, 0, Math.min(FADE_SAMPLES, n));
        for (let i = 0; i < k; i += 1) out[i] *= 1 - (i + 1) / k;
        this.played += k;
      }
      this.dropped += this.buffered;
      this.queue = [];
      this.readAt = 0;
      this.buffered = 0;
      this.flushes += 1;
      this.waitStart = -1;
      this.playing = false;
      this.report();
      return true;
    }
    if (!this.playing && this.buffered > 0) {
      const waited = currentFrame - this.waitStart;
      if (this.buffered >= this.target || waited >= this.maxWait) {
        this.playing = true;
        this.waitStart = -1;
        this.report();
      }
    }
    if (this.playing) {
      const k = this.take(out, 0, n);
      this.played += k;
      if (this.buffered === 0) {
        if (k < n) this.underruns += 1;
        this.playing = false;
        this.report();
      } else if (currentFrame - this.lastReport >= (REPORT_MS / 1000) * sampleRate) {
        this.report();
      }
    }
    // Any further output channels carry the same mono signal.
    for (let c = 1; c < outputs[0].length; c += 1) outputs[0][c].set(out);
    return true;
  }
}

registerProcessor('pcm-capture', PcmCaptureProcessor);
registerProcessor('pcm-playback', PcmPlaybackProcessor);
