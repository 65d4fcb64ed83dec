// Live captions.
//
// The interviewer's words are revealed as its audio plays: each fragment is scheduled at
// a position on the player's stream timeline (player.js) and shown once playback reaches
// it; a barge-in drops the fragments whose audio was never played, so the caption stops
// where the audio stopped. The candidate's words show live in their own box (partial
// text, `role="status"`) and move to the caption log when their turn is final.

import { el, clear } from '/assets/dom.js';
import { speakerLabel } from '/assets/format.js';

/** The player reports whole ms: positions within this of the clock count as reached. */
const ROUNDING_MS = 5;

export class Captions {
  /**
   * `log` is the caption log element, `partial` the box of the candidate's words as they
   * speak, `clock()` the stream position played so far in ms (null: no audio, reveal at
   * once).
   */
  constructor(log, partial, clock) {
    this.log = log;
    this.partial = partial;
    this.clock = clock;
    /** The interviewer's line taking fragments, or null. */
    this.ai = null;
    /** Lines with fragments still to reveal. */
    this.revealing = [];
    /** The candidate's words of the turn under way. */
    this.userText = '';
    this.onReveal = null;
  }

  /** Clears everything (a new interview, or a replay after reconnecting). */
  reset() {
    clear(this.log);
    this.ai = null;
    this.revealing = [];
    this.setPartial('');
  }

  newAiLine() {
    const line = { row: null, text: null, pending: [], closing: false, shown: '' };
    this.ai = line;
    this.revealing.push(line);
    return line;
  }

  /** An interviewer fragment whose audio starts at stream position `atMs` (null: now). */
  aiFragment(text, atMs) {
    if (!text) return;
    const line = this.ai || this.newAiLine();
    line.pending.push({ at: atMs, text });
    line.fragments = (line.fragments || 0) + 1;
    this.tick();
  }

  /**
   * The interviewer's turn is final. `text` is the whole turn: used only when no fragment
   * came (then it is revealed from `atMs`, where the turn's audio starts).
   */
  aiFinal(text, atMs) {
    const line = this.ai || this.newAiLine();
    if (!line.fragments && text) line.pending.push({ at: atMs, text });
    line.closing = true;
    this.ai = null;
    this.tick();
  }

  /** A barge-in cut the interviewer's audio: what was not played is never shown. */
  aiCut() {
    for (const line of this.revealing) {
      const cut = line.pending.length > 0;
      line.pending = [];
      line.closing = true;
      if (line.row) {
        line.row.classList.add('final');
        if (cut) {
          line.row.classList.add('cut');
          line.row.append(el('span', 'cut-mark', ' … (you spoke)'));
        }
      }
    }
    this.revealing = [];
    this.ai = null;
  }

  /** Reveals the fragments whose position playback has reached. */
  tick() {
    const now = this.clock();
    let changed = false;
    for (const line of this.revealing) {
      while (line.pending.length > 0 && (now === null || line.pending[0].at === null || line.pending[0].at <= now + ROUNDING_MS)) {
        const f = line.pending.shift();
        if (!line.row) {
          line.row = this.row('AI');
          line.text = line.row.querySelector('.text');
        }
        line.text.textContent += f.text;
        changed = true;
      }
      if (line.closing && line.pending.length === 0 && line.row) line.row.classList.add('final');
    }
    this.revealing = this.revealing.filter((l) => l.pending.length > 0 || !l.closing);
    if (changed) {
      this.log.scrollTop = this.log.scrollHeight;
      if (this.onReveal) this.onReveal();
    }
  }

  /** Whether interviewer words wait for their audio. */
  hasPending() {
    return this.revealing.some((l) => l.pending.length > 0);
  }

  row(speaker) {
    const row = el('p', `caption caption-${speaker.toLowerCase()}`);
    row.append(el('span', 'who', `${speakerLabel(speaker)}: `), el('span', 'text'));
    this.log.append(row);
    return row;
  }

  setPartial(text) {
    this.userText = text;
    this.partial.querySelector('.text').textContent = text;
    this.partial.hidden = !text;
  }

  /** A fragment of the candidate's words as they speak. */
  userFragment(text) {
    if (text) this.setPartial(this.userText + text);
  }

  /** The candidate's turn is final: its text (or the fragments shown) goes to the log. */
  userFinal(text) {
    const words = text || this.userText;
    this.setPartial('');
    if (!words) return; // speech with no words: the results list the turn
    const row = this.row('USER');
    row.querySelector('.text').textContent = words;
    row.classList.add('final');
    this.log.scrollTop = this.log.scrollHeight;
  }

  /**
   * Draws the transcript replayed after a reconnection at once: `entries` final, `open`
   * the turns under way ({speaker: 'AI'|'USER', text}).
   */
  replay(entries, open) {
    this.reset();
    for (const e of entries) {
      if (e.speaker === 'USER') this.userFinal(e.text);
      else if (e.text) {
        const row = this.row('AI');
        row.querySelector('.text').textContent = e.text;
        row.classList.add('final');
      }
    }
    for (const e of open) {
      if (e.speaker === 'USER') this.userFragment(e.text);
      else if (e.text) {
        const line = this.newAiLine();
        line.row = this.row('AI');
        line.text = line.row.querySelector('.text');
        line.text.textContent = e.text;
        line.fragments = 1;
      }
    }
  }
}
