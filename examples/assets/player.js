// Playback of the interviewer's audio (PCM16LE mono 24 000 Hz) through the jitter buffer of
// the 'pcm-playback' worklet (pcm-worklet.js) in a 24 000 Hz context.
//
// Positions are on the stream timeline: ms of audio ever queued, at 24 000 Hz. A chunk
// queued when `queuedMs()` was Q plays from Q; the worklet has consumed
// `playedMs + droppedMs` of the stream (played, or dropped by a barge-in).

import { MODEL_AUDIO_RATE_HZ } from '/assets/audio.js';

export class Player {
  /** `node` is the 'pcm-playback' AudioWorkletNode; `onState` gets its state reports. */
  constructor(node, onState) {
    this.node = node;
    this.chunks = 0;
    this.queuedSamples = 0;
    this.state = { playing: false, bufferedMs: 0, playedMs: 0, flushes: 0, droppedMs: 0 };
    this.stateAt = performance.now();
    node.port.onmessage = (e) => {
      if (e.data && e.data.type === 'state') {
        const previous = this.state;
        this.state = e.data;
        this.stateAt = performance.now();
        onState(e.data, previous);
      }
    };
  }

  /** Queues one PCM16LE chunk (a Uint8Array; a trailing odd byte is ignored); returns its ms. */
  enqueue(pcm) {
    const n = Math.floor(pcm.length / 2);
    if (n === 0) return 0;
    const view = new DataView(pcm.buffer, pcm.byteOffset, n * 2);
    const samples = new Float32Array(n);
    for (let i = 0; i < n; i += 1) samples[i] = view.getInt16(i * 2, true) / 32768;
    this.node.port.postMessage({ type: 'chunk', samples }, [samples.buffer]);
    this.chunks += 1;
    this.queuedSamples += n;
    return (n * 1000) / MODEL_AUDIO_RATE_HZ;
  }

  /** ms of audio ever queued: where the next chunk will play on the stream timeline. */
  queuedMs() {
    return (this.queuedSamples * 1000) / MODEL_AUDIO_RATE_HZ;
  }

  /**
   * How far the stream has been consumed (played or dropped), ms, between reports moved on
   * by the time since the last report while playing.
   */
  consumedMs() {
    const s = this.state;
    const base = s.playedMs + s.droppedMs;
    if (!s.playing) return base;
    return base + Math.min(performance.now() - this.stateAt, s.bufferedMs);
  }

  /** Barge-in: queued audio stops within one render quantum, with a 2 ms fade. */
  flush() {
    this.node.port.postMessage({ type: 'flush' });
  }
}
