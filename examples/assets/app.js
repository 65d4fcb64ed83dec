// The Preppal interview page: sign in, start an interview, talk (or type) with the AI
// interviewer over the interview WebSocket, then read the feedback and the transcript.
//
// Flow (preppal-design.md, "Interview lifecycle"):
//   POST /api/user.getProfile                -> signed in or 401
//   POST /api/auth/dev                       -> session cookie (HttpOnly)
//   POST /api/interview.createSession        -> Interview {id, status, ...}
//   POST /api/interview.generateWorkerToken  -> {token, expires_at, ws_url}
//   WebSocket ws_url (binary protobuf frames, proto/interview.proto)
//   POST /api/interview.getById every 1 s until COMPLETED or ERROR
//   POST /api/interview.getFeedback, /api/interview.getTranscript
//
// Every piece of user or model text reaches the page through `textContent`.

import {
  audioChunkMessage,
  decodeServerMessage,
  endRequestMessage,
  SessionEndedReason,
  textInputMessage,
} from '/assets/proto.js';

/** Rate of the interviewer's audio (AudioResponse), Hz. */
const MODEL_AUDIO_RATE_HZ = 24000;
/** How far ahead of the audio clock playback starts after running dry, seconds. */
const PLAYBACK_LEAD_S = 0.1;
/** Feedback polling interval, ms. */
const POLL_INTERVAL_MS = 1000;
/** Give up polling after this many tries (3 minutes at 1 s). */
const POLL_MAX_TRIES = 180;

const $ = (id) => document.getElementById(id);

const ui = {
  userBox: $('user-box'),
  userName: $('user-name'),
  signOut: $('sign-out'),
  signinSection: $('signin'),
  signinForm: $('signin-form'),
  email: $('email'),
  name: $('name'),
  signinError: $('signin-error'),
  setupSection: $('setup'),
  setupForm: $('setup-form'),
  jobDescription: $('job-description'),
  resume: $('resume'),
  persona: $('persona'),
  duration: $('duration'),
  startButton: $('start'),
  setupError: $('setup-error'),
  liveSection: $('live'),
  liveStatus: $('live-status'),
  micStatus: $('mic-status'),
  clock: $('clock'),
  captions: $('captions'),
  liveError: $('live-error'),
  answerForm: $('answer-form'),
  answer: $('answer'),
  sendButton: $('send'),
  endButton: $('end'),
  resultsSection: $('results'),
  resultsHeading: $('results-heading'),
  resultsStatus: $('results-status'),
  feedback: $('feedback'),
  feedbackSource: $('feedback-source'),
  summary: $('summary'),
  strengths: $('strengths'),
  areas: $('areas'),
  transcript: $('transcript'),
  again: $('again'),
};

// ---------------------------------------------------------------------------
// JSON API
// ---------------------------------------------------------------------------

/** An API call failed; `status` is the HTTP status (0 when the network failed). */
class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/** POSTs `body` as JSON to `/api/{path}` and returns the parsed reply. */
async function api(path, body = {}) {
  let res;
  try {
    res = await fetch(`/api/${path}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, `The server could not be reached (${e.message}).`);
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const message = data && data.error && data.error.message ? data.error.message : res.statusText;
    throw new ApiError(res.status, message || `HTTP ${res.status}`);
  }
  return data;
}

/** A v4 UUID; crypto.randomUUID exists only in secure contexts. */
function uuid() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ---------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------

function show(section) {
  for (const s of [ui.signinSection, ui.setupSection, ui.liveSection, ui.resultsSection]) {
    s.hidden = s !== section;
  }
}

function setMessage(el, text) {
  el.textContent = text;
  el.hidden = !text;
}

function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** `m:ss` (or `h:mm:ss`) of a duration in ms. */
function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

function speakerLabel(speaker) {
  return speaker === 'AI' ? 'Interviewer' : speaker === 'USER' ? 'You' : speaker;
}

// ---------------------------------------------------------------------------
// Sign-in
// ---------------------------------------------------------------------------

function signedIn(user) {
  ui.userName.textContent = user.name ? `${user.name} (${user.email})` : user.email;
  ui.userBox.hidden = false;
  show(ui.setupSection);
}

async function checkProfile() {
  try {
    signedIn(await api('user.getProfile'));
  } catch (e) {
    ui.userBox.hidden = true;
    show(ui.signinSection);
    if (e.status !== 401) setMessage(ui.signinError, e.message);
  }
}

ui.signinForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  setMessage(ui.signinError, '');
  const button = ui.signinForm.querySelector('button');
  button.disabled = true;
  try {
    const reply = await api('auth/dev', { email: ui.email.value.trim(), name: ui.name.value.trim() });
    signedIn(reply.user);
    ui.jobDescription.focus();
  } catch (e) {
    setMessage(ui.signinError, `Sign-in failed: ${e.message}`);
  } finally {
    button.disabled = false;
  }
});

ui.signOut.addEventListener('click', async () => {
  try {
    await api('auth/signout');
  } catch {
    // The cookie may already be gone; the sign-in form is shown either way.
  }
  ui.userBox.hidden = true;
  show(ui.signinSection);
  ui.email.focus();
});

// ---------------------------------------------------------------------------
// Playback: interviewer audio, PCM16LE mono 24 000 Hz, scheduled back to back
// ---------------------------------------------------------------------------

/**
 * Plays AudioResponse chunks gaplessly: each chunk becomes an AudioBuffer at 24 000 Hz
 * started exactly where the previous one ends on the context's timeline. When the queue
 * has run dry the next chunk starts PLAYBACK_LEAD_S ahead of the clock, so a late chunk
 * does not click. `stopAll` drops everything queued (barge-in).
 */
class Player {
  constructor(ctx) {
    this.ctx = ctx;
    this.nextStart = 0;
    this.sources = new Set();
  }

  /** Queues one PCM16LE chunk (a Uint8Array; a trailing odd byte is ignored). */
  enqueue(pcm) {
    const samples = Math.floor(pcm.length / 2);
    if (samples === 0) return;
    const view = new DataView(pcm.buffer, pcm.byteOffset, samples * 2);
    const buffer = this.ctx.createBuffer(1, samples, MODEL_AUDIO_RATE_HZ);
    const data = buffer.getChannelData(0);
    for (let i = 0; i < samples; i += 1) data[i] = view.getInt16(i * 2, true) / 32768;
    const source = this.ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(this.ctx.destination);
    const now = this.ctx.currentTime;
    if (this.nextStart < now + 0.01) this.nextStart = now + PLAYBACK_LEAD_S;
    source.start(this.nextStart);
    this.nextStart += buffer.duration;
    this.sources.add(source);
    source.onended = () => this.sources.delete(source);
  }

  /** Stops every scheduled or playing chunk at once. */
  stopAll() {
    for (const s of this.sources) {
      try {
        s.stop();
      } catch {
        // Already stopped.
      }
    }
    this.sources.clear();
    this.nextStart = 0;
  }
}

// ---------------------------------------------------------------------------
// Live interview
// ---------------------------------------------------------------------------

/** State of the interview on screen; null when none is live. */
let live = null;
/** Idempotency key of the createSession attempt in flight (kept across network retries). */
let pendingKey = null;

ui.setupForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  setMessage(ui.setupError, '');
  ui.startButton.disabled = true;
  // The audio context is made inside the click so that the browser lets it play.
  const ctx = makeAudioContext();
  try {
    if (!pendingKey) pendingKey = uuid();
    const interview = await api('interview.createSession', {
      job_description: ui.jobDescription.value,
      resume: ui.resume.value,
      persona: ui.persona.value.trim(),
      duration_minutes: Number(ui.duration.value),
      idempotency_key: pendingKey,
    });
    pendingKey = null;
    const token = await api('interview.generateWorkerToken', { interview_id: interview.id });
    await startLive(interview, token.ws_url, ctx);
  } catch (e) {
    if (e.status !== 0) pendingKey = null; // only a network failure is retried as-is
    if (ctx) ctx.close().catch(() => {});
    setMessage(ui.setupError, `Could not start the interview: ${e.message}`);
  } finally {
    ui.startButton.disabled = false;
  }
});

function makeAudioContext() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return null;
  try {
    return new Ctx();
  } catch {
    return null;
  }
}

async function startLive(interview, wsUrl, ctx) {
  clear(ui.captions);
  setMessage(ui.liveError, '');
  setMessage(ui.micStatus, '');
  ui.clock.textContent = '';
  ui.liveStatus.textContent = 'Connecting to the interviewer…';
  ui.answer.value = '';
  ui.answer.disabled = true;
  ui.sendButton.disabled = true;
  ui.endButton.disabled = false;
  show(ui.liveSection);

  const ws = new WebSocket(wsUrl);
  ws.binaryType = 'arraybuffer';
  live = {
    interviewId: interview.id,
    ws,
    ctx,
    player: ctx ? new Player(ctx) : null,
    mic: null,
    started: false,
    ended: false,
    startedAt: 0,
    maxDurationMs: interview.duration_ms || 0,
    clockTimer: null,
    lines: { AI: null, USER: null },
  };
  const session = live;
  ws.onmessage = (e) => onServerMessage(session, e.data);
  ws.onclose = (e) => onSocketClosed(session, e);
  ws.onerror = () => {
    // onclose follows with the details.
  };
  if (ctx && ctx.state === 'suspended') ctx.resume().catch(() => {});
  if (!ctx) setMessage(ui.micStatus, 'This browser has no Web Audio: you can answer by typing.');
  session.mic = await startMicrophone(session);
}

/** Starts capture; returns `{stream, node, source}` or null (the message says why). */
async function startMicrophone(session) {
  const { ctx } = session;
  if (!ctx) return null;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    setMessage(
      ui.micStatus,
      'Microphone capture needs a secure page (https or localhost). You can answer by typing.',
    );
    return null;
  }
  if (!ctx.audioWorklet) {
    setMessage(ui.micStatus, 'This browser cannot process microphone audio here. You can answer by typing.');
    return null;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
  } catch (e) {
    const why =
      e.name === 'NotAllowedError' || e.name === 'SecurityError'
        ? 'Microphone access was refused.'
        : e.name === 'NotFoundError' || e.name === 'OverconstrainedError'
          ? 'No microphone was found.'
          : `The microphone could not be opened (${e.name}).`;
    setMessage(ui.micStatus, `${why} You can answer by typing.`);
    return null;
  }
  if (session.ended) {
    stream.getTracks().forEach((t) => t.stop());
    return null;
  }
  try {
    await ctx.audioWorklet.addModule('/assets/pcm-worklet.js');
    const source = ctx.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(ctx, 'pcm-capture', { numberOfOutputs: 0 });
    node.port.onmessage = (e) => {
      // One 40 ms PCM16LE frame at 16 000 Hz (1 280 bytes); sent once the interviewer is up.
      if (session.started && !session.ended && session.ws.readyState === WebSocket.OPEN) {
        session.ws.send(audioChunkMessage(new Uint8Array(e.data)));
      }
    };
    source.connect(node);
    setMessage(ui.micStatus, 'Microphone on: speak your answers, or type them below.');
    return { stream, node, source };
  } catch (e) {
    stream.getTracks().forEach((t) => t.stop());
    setMessage(ui.micStatus, `Microphone capture failed (${e.message}). You can answer by typing.`);
    return null;
  }
}

function stopMicrophone(session) {
  const mic = session.mic;
  session.mic = null;
  if (!mic) return;
  try {
    mic.source.disconnect();
    mic.node.disconnect();
    mic.node.port.onmessage = null;
  } catch {
    // Already disconnected.
  }
  mic.stream.getTracks().forEach((t) => t.stop());
}

function onServerMessage(session, data) {
  if (!(data instanceof ArrayBuffer)) return; // the protocol is binary only
  let msg;
  try {
    msg = decodeServerMessage(data).message;
  } catch (e) {
    setMessage(ui.liveError, `Unreadable message from the server (${e.message}).`);
    return;
  }
  const v = msg.value;
  switch (msg.case) {
    case 'sessionStarted':
      session.started = true;
      session.startedAt = performance.now();
      if (v.maxDurationMs > 0) session.maxDurationMs = v.maxDurationMs;
      ui.liveStatus.textContent = 'The interviewer is connected.';
      ui.answer.disabled = false;
      ui.sendButton.disabled = false;
      ui.answer.focus();
      tickClock(session);
      session.clockTimer = setInterval(() => tickClock(session), 1000);
      break;
    case 'transcriptUpdate':
      onTranscript(session, v);
      break;
    case 'audioResponse':
      if (session.player) session.player.enqueue(v.audioContent);
      break;
    case 'interrupted':
      if (session.player) session.player.stopAll();
      break;
    case 'errorResponse':
      setMessage(ui.liveError, `Error ${v.code}: ${v.message}`);
      break;
    case 'sessionEnded':
      endLive(session, endedText(v.reason));
      break;
    default:
      break; // a message kind this page does not know yet
  }
}

function endedText(reason) {
  switch (reason) {
    case SessionEndedReason.USER_ENDED:
      return 'You ended the interview.';
    case SessionEndedReason.TIMEOUT:
      return 'The time is up.';
    case SessionEndedReason.MODEL_ENDED:
      return 'The interviewer closed the interview.';
    case SessionEndedReason.ERROR:
      return 'The interview ended because of an error.';
    default:
      return 'The interview has ended.';
  }
}

/**
 * Captions: fragments are appended to the speaker's current line; a final update
 * replaces that line's text with the whole turn, and the speaker's next update opens a
 * new line.
 */
function onTranscript(session, u) {
  const speaker = u.speaker === 'AI' || u.speaker === 'USER' ? u.speaker : 'AI';
  if (u.turnComplete && speaker === 'AI') ui.liveStatus.textContent = 'Your turn: answer aloud or type below.';
  else if (speaker === 'AI') ui.liveStatus.textContent = 'The interviewer is speaking…';
  let line = session.lines[speaker];
  if (!line && !u.text) {
    // A turn with no words (speech that was not transcribed) gets no caption line; the
    // transcript in the results still lists it.
    return;
  }
  if (!line) {
    const row = document.createElement('p');
    row.className = `caption caption-${speaker.toLowerCase()}`;
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = `${speakerLabel(speaker)}: `;
    const text = document.createElement('span');
    text.className = 'text';
    row.append(who, text);
    ui.captions.append(row);
    line = { row, text };
    session.lines[speaker] = line;
  }
  if (u.isFinal) {
    // A final update holds the whole turn; an empty one keeps the fragments shown.
    if (u.text) line.text.textContent = u.text;
    line.row.classList.add('final');
    session.lines[speaker] = null;
  } else {
    line.text.textContent += u.text;
  }
  ui.captions.scrollTop = ui.captions.scrollHeight;
}

function tickClock(session) {
  const elapsed = performance.now() - session.startedAt;
  const parts = [`Elapsed ${formatDuration(elapsed)}`];
  if (session.maxDurationMs > 0) {
    parts.push(`remaining ${formatDuration(session.maxDurationMs - elapsed)}`);
  }
  ui.clock.textContent = parts.join(' · ');
}

ui.answerForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = ui.answer.value.trim();
  if (!text || !live || live.ended || live.ws.readyState !== WebSocket.OPEN) return;
  live.ws.send(textInputMessage(text));
  ui.answer.value = '';
  ui.answer.focus();
});

ui.endButton.addEventListener('click', () => {
  if (!live || live.ended) return;
  ui.endButton.disabled = true;
  ui.liveStatus.textContent = 'Ending the interview…';
  if (live.ws.readyState === WebSocket.OPEN) {
    live.ws.send(endRequestMessage());
  } else {
    endLive(live, 'The interview has ended.');
  }
});

function onSocketClosed(session, e) {
  if (session.ended) return;
  if (!session.started) {
    // The worker refused or dropped the connection before the interview began.
    endLive(session, null);
    show(ui.setupSection);
    setMessage(
      ui.setupError,
      `The interview connection closed before it started (code ${e.code}${e.reason ? `: ${e.reason}` : ''}).`,
    );
    return;
  }
  endLive(session, 'The connection to the interviewer closed.');
}

/** Ends the live view; with `reason` set, moves on to the feedback. */
function endLive(session, reason) {
  if (session.ended) return;
  session.ended = true;
  clearInterval(session.clockTimer);
  stopMicrophone(session);
  if (session.ws.readyState === WebSocket.OPEN || session.ws.readyState === WebSocket.CONNECTING) {
    session.ws.close(1000, 'interview ended');
  }
  // Let queued interviewer audio finish, then release the audio device.
  if (session.ctx) {
    const left = session.player ? Math.max(0, session.player.nextStart - session.ctx.currentTime) : 0;
    setTimeout(() => session.ctx.close().catch(() => {}), left * 1000 + 250);
  }
  if (live === session) live = null;
  if (reason !== null) showResults(session.interviewId, reason);
}

// ---------------------------------------------------------------------------
// Feedback and transcript
// ---------------------------------------------------------------------------

async function showResults(interviewId, reason) {
  show(ui.resultsSection);
  ui.feedback.hidden = true;
  clear(ui.transcript);
  ui.resultsStatus.textContent = `${reason} Generating feedback…`;
  ui.resultsHeading.focus();

  let interview = null;
  for (let i = 0; i < POLL_MAX_TRIES; i += 1) {
    try {
      interview = await api('interview.getById', { interview_id: interviewId });
      if (interview.status === 'COMPLETED' || interview.status === 'ERROR') break;
    } catch (e) {
      if (e.status !== 0) {
        ui.resultsStatus.textContent = `Could not read the interview: ${e.message}`;
        return;
      }
    }
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
  if (!interview || (interview.status !== 'COMPLETED' && interview.status !== 'ERROR')) {
    ui.resultsStatus.textContent = 'Feedback is taking longer than expected. Reload the page later to see it.';
    return;
  }

  let feedback = null;
  let entries = [];
  try {
    const [f, t] = await Promise.all([
      api('interview.getFeedback', { interview_id: interviewId }),
      api('interview.getTranscript', { interview_id: interviewId }),
    ]);
    feedback = f.feedback;
    entries = t.entries || [];
  } catch (e) {
    ui.resultsStatus.textContent = `Could not load the feedback: ${e.message}`;
    return;
  }

  if (interview.status === 'ERROR') {
    const why = interview.error_message || interview.ended_reason || 'unknown cause';
    ui.resultsStatus.textContent = `The interview ended with an error (${why}).`;
  } else {
    ui.resultsStatus.textContent = feedback ? 'Your feedback is ready.' : 'The interview is complete; no feedback was written.';
  }
  renderFeedback(feedback);
  renderTranscript(entries);
}

function fillList(ul, items) {
  clear(ul);
  for (const item of items || []) {
    const li = document.createElement('li');
    li.textContent = item;
    ul.append(li);
  }
  if (!ul.firstChild) {
    const li = document.createElement('li');
    li.className = 'none';
    li.textContent = 'None noted.';
    ul.append(li);
  }
}

function renderFeedback(feedback) {
  if (!feedback) {
    ui.feedback.hidden = true;
    return;
  }
  ui.feedbackSource.textContent =
    feedback.source === 'deterministic' ? 'Automatic summary (no AI model)' : 'Written by the AI model';
  ui.summary.textContent = feedback.summary || '';
  fillList(ui.strengths, feedback.strengths);
  fillList(ui.areas, feedback.areas_to_improve);
  ui.feedback.hidden = false;
}

/**
 * The transcript, one block per entry. Consecutive turns of one speaker without words
 * (speech that was not transcribed) share one block, so they do not bury the text.
 */
function renderTranscript(entries) {
  clear(ui.transcript);
  if (entries.length === 0) {
    const p = document.createElement('p');
    p.textContent = 'No transcript was kept.';
    ui.transcript.append(p);
    return;
  }
  let untranscribed = null; // { entry, count, text } of the block being merged into
  for (const e of entries) {
    if (!e.text && untranscribed && untranscribed.entry.speaker === e.speaker) {
      untranscribed.count += 1;
      untranscribed.text.textContent = `(spoken, not transcribed: ${untranscribed.count} turns)`;
      continue;
    }
    const row = document.createElement('div');
    row.className = `entry entry-${String(e.speaker).toLowerCase()}`;
    const head = document.createElement('p');
    head.className = 'entry-head';
    const who = document.createElement('strong');
    who.textContent = speakerLabel(e.speaker);
    const when = document.createElement('span');
    when.className = 'when';
    when.textContent = ` at ${formatDuration(e.start_ms)}`;
    head.append(who, when);
    const text = document.createElement('p');
    text.className = 'entry-text';
    if (e.text) {
      text.textContent = e.text;
      untranscribed = null;
    } else {
      text.classList.add('none');
      text.textContent = '(spoken, not transcribed)';
      untranscribed = { entry: e, count: 1, text };
    }
    row.append(head, text);
    ui.transcript.append(row);
  }
}

ui.again.addEventListener('click', () => {
  show(ui.setupSection);
  ui.jobDescription.focus();
});

checkProfile();
