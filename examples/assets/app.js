// The Preppal page: sign in, keep a library of job descriptions and resumes, set up an
// interview, check the microphone and speakers in the lobby, talk (or type) with the AI
// interviewer over the interview WebSocket, then read the feedback and the transcript;
// the history lists past interviews.
//
// Views are sections of index.html chosen by the URL fragment: #new, #library, #history,
// #lobby/{interviewId}, #results/{interviewId}; the live view has no fragment of its own
// (it exists only while its WebSocket does).
//
// Flow (preppal-design.md, "Interview lifecycle"):
//   POST /api/user.getProfile                -> signed in or 401
//   POST /api/auth/methods                   -> {dev, google}: which sign-in to offer
//   POST /api/auth/dev                       -> session cookie (HttpOnly)
//   GET  /api/auth/google/start              -> Google sign-in, back to / with the cookie
//   POST /api/interview.createSession        -> Interview {id, status, ...}
//   POST /api/interview.generateWorkerToken  -> {token, expires_at, ws_url, worker_url}
//   WebSocket ws_url (binary protobuf frames, proto/interview.proto): ws_url is on the
//   worker the web tier chose (worker_url), so a reconnect after a worker died asks for a
//   new token and lands on a live worker
//   POST /api/interview.getById every 1 s until COMPLETED or ERROR
//   POST /api/interview.getFeedback, /api/interview.getTranscript
//
// Every piece of user or model text reaches the page through `textContent`.

import {
  ClientToServerMessageSchema,
  ServerToClientMessageSchema,
  SessionEnded_Reason as SessionEndedReason,
  Speaker,
  create,
  fromBinary,
  toBinary,
} from '/assets/proto.js';
import { answerCountdown, planInput, renderAssessment, renderPlan } from '/assets/plan.js';

/** Rate of the interviewer's audio (AudioResponse), Hz; the playback context runs at it. */
const MODEL_AUDIO_RATE_HZ = 24000;
/** Feedback polling interval, ms. */
const POLL_INTERVAL_MS = 1000;
/** Give up polling after this many tries (3 minutes at 1 s). */
const POLL_MAX_TRIES = 180;
/** Interval of the level meter and the who-is-speaking indicator, ms. */
const LEVEL_INTERVAL_MS = 100;
/** Input level (0..1 on the meter's -60..0 dBFS scale) that counts as speech. */
const SPEECH_LEVEL = 0.35;
/** Speech heard for this long passes the lobby's "say something" check, ms. */
const SAY_CHECK_MS = 300;
/**
 * Waits between reconnection attempts, ms (one attempt per entry): about 70 s in all, a
 * little more than the server's default grace period (60 s) for a dropped connection.
 */
const RECONNECT_DELAYS_MS = [500, 1000, 2000, 4000, ...Array(12).fill(5000)];

const $ = (id) => document.getElementById(id);

const ui = {
  nav: $('nav'),
  userBox: $('user-box'),
  userName: $('user-name'),
  signOut: $('sign-out'),
  signinSection: $('signin'),
  signinForm: $('signin-form'),
  googleForm: $('google-form'),
  email: $('email'),
  name: $('name'),
  signinError: $('signin-error'),
  librarySection: $('library'),
  libraryStatus: $('library-status'),
  setupSection: $('setup'),
  setupForm: $('setup-form'),
  jdPick: $('jd-pick'),
  jdBox: $('job-description-box'),
  jobDescription: $('job-description'),
  resumePick: $('resume-pick'),
  resumeBox: $('resume-box'),
  resume: $('resume'),
  persona: $('persona'),
  personaCustomBox: $('persona-custom-box'),
  personaCustom: $('persona-custom'),
  startButton: $('start'),
  setupError: $('setup-error'),
  lobbySection: $('lobby'),
  lobbyHeading: $('lobby-heading'),
  lobbySummary: $('lobby-summary'),
  micCheck: $('mic-check'),
  micMessage: $('mic-message'),
  micAllow: $('mic-allow'),
  micControls: $('mic-controls'),
  micDevice: $('mic-device'),
  level: $('level'),
  sayCheck: $('say-check'),
  speakerTest: $('speaker-test'),
  speakerStatus: $('speaker-status'),
  join: $('join'),
  lobbyBack: $('lobby-back'),
  lobbyError: $('lobby-error'),
  liveSection: $('live'),
  liveHeading: $('live-heading'),
  liveStatus: $('live-status'),
  speaking: $('speaking'),
  connection: $('connection'),
  playback: $('playback'),
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
  scoresBlock: $('scores-block'),
  scores: $('scores'),
  notesBlock: $('notes-block'),
  notes: $('notes'),
  droppedNotes: $('dropped-notes'),
  metricsBlock: $('metrics-block'),
  metrics: $('metrics'),
  jobTerms: $('job-terms'),
  transcript: $('transcript'),
  exportMd: $('export-md'),
  exportJson: $('export-json'),
  again: $('again'),
  historySection: $('history'),
  progress: $('progress'),
  historyRows: $('history-rows'),
  historyMore: $('history-more'),
  historyStatus: $('history-status'),
  trendTable: $('trend-table'),
  trendRows: $('trend-rows'),
};

// ---------------------------------------------------------------------------
// Wire messages (generated schemas, proto/interview.proto)
// ---------------------------------------------------------------------------

function encodeClient(message) {
  return toBinary(ClientToServerMessageSchema, create(ClientToServerMessageSchema, { message }));
}

/** AudioChunk: PCM16LE mono 16 000 Hz bytes (a Uint8Array). */
const audioChunkMessage = (audioContent) => encodeClient({ case: 'audioChunk', value: { audioContent } });
/** TextInput: a typed answer. */
const textInputMessage = (text) => encodeClient({ case: 'textInput', value: { text } });
/** EndRequest. */
const endRequestMessage = () => encodeClient({ case: 'endRequest', value: {} });

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

/** POSTs `body` (JSON, or raw bytes with `contentType`) to `/api/{path}`; returns the reply. */
async function api(path, body = {}, contentType = 'application/json') {
  let res;
  try {
    res = await fetch(`/api/${path}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': contentType },
      body: contentType === 'application/json' ? JSON.stringify(body) : body,
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

const sections = () => [
  ui.signinSection,
  ui.librarySection,
  ui.setupSection,
  ui.lobbySection,
  ui.liveSection,
  ui.resultsSection,
  ui.historySection,
];

function show(section) {
  for (const s of sections()) s.hidden = s !== section;
  for (const a of ui.nav.querySelectorAll('a')) {
    if (a.dataset.view === section.id) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const heading = section.querySelector('h2');
  document.title = heading ? `${heading.textContent} · Preppal` : 'Preppal';
}

function setMessage(el, text) {
  el.textContent = text;
  el.hidden = !text;
}

function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
}

function button(text, className, onClick, label) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  if (className) b.className = className;
  if (label) b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

/** `m:ss` (or `h:mm:ss`) of a duration in ms. */
function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

function formatDate(ms) {
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

function speakerLabel(speaker) {
  return speaker === 'AI' ? 'Interviewer' : speaker === 'USER' ? 'You' : speaker;
}

const STATUS_TEXT = {
  PENDING: 'Not started',
  IN_PROGRESS: 'In progress',
  COMPLETED: 'Completed',
  ERROR: 'Ended with an error',
};

/** Signed-in user, or null. */
let user = null;

/** Shows the view the URL fragment names. */
async function route() {
  if (!user) {
    show(ui.signinSection);
    return;
  }
  if (live && !live.ended) {
    // The live view stays until the interview ends.
    show(ui.liveSection);
    return;
  }
  stopLobby();
  const [name, id] = location.hash.replace(/^#/, '').split('/');
  switch (name) {
    case 'library':
      show(ui.librarySection);
      await loadLibrary();
      break;
    case 'history':
      show(ui.historySection);
      await loadHistory();
      break;
    case 'lobby':
      if (id) await openLobby(id);
      break;
    case 'results':
      if (id) await showResults(id, '');
      break;
    default:
      show(ui.setupSection);
      await fillSetupPickers();
      break;
  }
}

window.addEventListener('hashchange', () => {
  route();
});

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// ---------------------------------------------------------------------------
// Sign-in
// ---------------------------------------------------------------------------

function signedIn(u) {
  user = u;
  ui.userName.textContent = u.name ? `${u.name} (${u.email})` : u.email;
  ui.userBox.hidden = false;
  ui.nav.hidden = false;
}

/** What the page says when Google sign-in comes back with `?signin_error=CODE`. */
const SIGNIN_ERRORS = {
  provider_refused: 'Google sign-in was cancelled or refused.',
  no_attempt: 'The Google sign-in took too long or was started elsewhere; try again.',
  provider_unavailable: 'Google could not be reached; try again in a moment.',
  email_not_verified: 'Your Google account has no verified email address.',
};

/** Shows the sign-in methods the server offers: Google when configured, dev credentials when on. */
async function loadSignInMethods() {
  let methods = { dev: true, google: false };
  try {
    methods = await api('auth/methods');
  } catch {
    // An older server: dev sign-in only.
  }
  ui.googleForm.hidden = !methods.google;
  ui.signinForm.hidden = !methods.dev;
  const code = new URLSearchParams(location.search).get('signin_error');
  if (code) {
    setMessage(ui.signinError, SIGNIN_ERRORS[code] || `Google sign-in failed (${code}); try again.`);
    history.replaceState(null, '', location.pathname + location.hash);
  } else if (!methods.dev && !methods.google) {
    setMessage(ui.signinError, 'No sign-in method is configured on this server.');
  }
}

async function checkProfile() {
  try {
    signedIn(await api('user.getProfile'));
  } catch (e) {
    user = null;
    ui.userBox.hidden = true;
    ui.nav.hidden = true;
    if (e.status !== 401) setMessage(ui.signinError, e.message);
    await loadSignInMethods();
  }
  await route();
}

ui.signinForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  setMessage(ui.signinError, '');
  const b = ui.signinForm.querySelector('button');
  b.disabled = true;
  try {
    const reply = await api('auth/dev', { email: ui.email.value.trim(), name: ui.name.value.trim() });
    signedIn(reply.user);
    await route();
    ui.jdPick.focus();
  } catch (e) {
    setMessage(ui.signinError, `Sign-in failed: ${e.message}`);
  } finally {
    b.disabled = false;
  }
});

ui.signOut.addEventListener('click', async () => {
  try {
    await api('auth/signout');
  } catch {
    // The cookie may already be gone; the sign-in form is shown either way.
  }
  user = null;
  ui.userBox.hidden = true;
  ui.nav.hidden = true;
  await loadSignInMethods();
  show(ui.signinSection);
  if (!ui.signinForm.hidden) ui.email.focus();
});

// ---------------------------------------------------------------------------
// Library: job descriptions and resumes
// ---------------------------------------------------------------------------

/** Largest document file read, bytes (the API takes 64 KiB of text). */
const MAX_FILE_BYTES = 4 * 1024 * 1024;

const library = {
  jobDescription: { noun: 'job description', prefix: 'jd', items: [], editing: null },
  resume: { noun: 'resume', prefix: 'resume', items: [], editing: null },
};
for (const lib of Object.values(library)) {
  lib.form = $(`${lib.prefix}-form`);
  lib.list = $(`${lib.prefix}-list`);
  lib.title = $(`${lib.prefix}-title`);
  lib.content = $(`${lib.prefix}-content`);
  lib.file = $(`${lib.prefix}-file`);
  lib.formHeading = $(`${lib.prefix}-form-heading`);
  lib.cancel = lib.form.querySelector('.cancel');
}

async function fetchLibrary(kind) {
  library[kind].items = (await api(`${kind}.list`)).items || [];
  return library[kind].items;
}

async function loadLibrary() {
  try {
    await Promise.all(Object.keys(library).map(fetchLibrary));
    for (const kind of Object.keys(library)) renderDocList(kind);
  } catch (e) {
    ui.libraryStatus.textContent = `Could not load the library: ${e.message}`;
  }
}

function renderDocList(kind) {
  const lib = library[kind];
  clear(lib.list);
  if (lib.items.length === 0) {
    const li = document.createElement('li');
    li.className = 'none';
    li.textContent = `No ${lib.noun}s yet.`;
    lib.list.append(li);
    return;
  }
  for (const doc of lib.items) {
    const li = document.createElement('li');
    const title = document.createElement('span');
    title.className = 'title';
    title.textContent = doc.title;
    const size = document.createElement('span');
    size.className = 'hint';
    size.textContent = ` (${doc.content.length} characters)`;
    title.append(size);
    const actions = document.createElement('span');
    actions.className = 'actions';
    actions.style.marginTop = '0';
    actions.append(
      button('Edit', 'secondary', () => editDoc(kind, doc), `Edit ${doc.title}`),
      button('Delete', 'danger', () => deleteDoc(kind, doc), `Delete ${doc.title}`),
    );
    li.append(title, actions);
    lib.list.append(li);
  }
}

function editDoc(kind, doc) {
  const lib = library[kind];
  lib.editing = doc.id;
  lib.title.value = doc.title;
  lib.content.value = doc.content;
  lib.formHeading.textContent = `Edit “${doc.title}”`;
  lib.cancel.hidden = false;
  lib.title.focus();
}

function resetDocForm(kind) {
  const lib = library[kind];
  lib.editing = null;
  lib.form.reset();
  lib.formHeading.textContent = `Add a ${lib.noun}`;
  lib.cancel.hidden = true;
}

async function deleteDoc(kind, doc) {
  const lib = library[kind];
  if (!window.confirm(`Delete the ${lib.noun} “${doc.title}”?`)) return;
  try {
    await api(`${kind}.delete`, { id: doc.id });
    ui.libraryStatus.textContent = `Deleted “${doc.title}”.`;
    if (lib.editing === doc.id) resetDocForm(kind);
    await fetchLibrary(kind);
    renderDocList(kind);
  } catch (e) {
    ui.libraryStatus.textContent = `Could not delete: ${e.message}`;
  }
}

/** The text of a .txt, .md or .pdf file (PDF text is extracted by the server). */
async function readDocumentFile(file) {
  if (file.size > MAX_FILE_BYTES) throw new Error(`the file is larger than ${MAX_FILE_BYTES / 1048576} MiB`);
  const name = file.name.toLowerCase();
  if (name.endsWith('.pdf') || file.type === 'application/pdf') {
    try {
      const reply = await api('document.extractText', await file.arrayBuffer(), 'application/pdf');
      return reply.text;
    } catch (e) {
      if (e.status === 404) throw new Error('this server cannot read PDF files yet; paste the text instead');
      throw e;
    }
  }
  if (name.endsWith('.txt') || name.endsWith('.md') || file.type.startsWith('text/')) {
    return file.text();
  }
  throw new Error('only .txt, .md and .pdf files can be read');
}

for (const [kind, lib] of Object.entries(library)) {
  lib.form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const input = { title: lib.title.value.trim(), content: lib.content.value };
    if (lib.editing) input.id = lib.editing;
    try {
      await api(`${kind}.${lib.editing ? 'update' : 'create'}`, input);
      ui.libraryStatus.textContent = `Saved “${input.title}”.`;
      resetDocForm(kind);
      await fetchLibrary(kind);
      renderDocList(kind);
    } catch (e) {
      ui.libraryStatus.textContent = `Could not save the ${lib.noun}: ${e.message}`;
    }
  });
  lib.cancel.addEventListener('click', () => resetDocForm(kind));
  lib.file.addEventListener('change', async () => {
    const file = lib.file.files && lib.file.files[0];
    if (!file) return;
    ui.libraryStatus.textContent = `Reading ${file.name}…`;
    try {
      lib.content.value = await readDocumentFile(file);
      if (!lib.title.value.trim()) lib.title.value = file.name.replace(/\.[^.]+$/, '');
      ui.libraryStatus.textContent = `Read ${file.name}: check the text, then save.`;
    } catch (e) {
      ui.libraryStatus.textContent = `Could not read ${file.name}: ${e.message}`;
    }
  });
}

// ---------------------------------------------------------------------------
// New interview
// ---------------------------------------------------------------------------

/** Idempotency key of the createSession attempt in flight (kept across network retries). */
let pendingKey = null;

function fillPicker(select, items) {
  const keep = select.value;
  while (select.options.length > 1) select.remove(1);
  for (const doc of items) select.add(new Option(doc.title, doc.id));
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
}

function syncSetupBoxes() {
  ui.jdBox.hidden = ui.jdPick.value !== '';
  ui.resumeBox.hidden = ui.resumePick.value !== '';
  ui.personaCustomBox.hidden = ui.persona.value !== 'custom';
}

async function fillSetupPickers() {
  try {
    const [jds, resumes] = await Promise.all([fetchLibrary('jobDescription'), fetchLibrary('resume')]);
    fillPicker(ui.jdPick, jds);
    fillPicker(ui.resumePick, resumes);
  } catch (e) {
    setMessage(ui.setupError, `Could not load the library: ${e.message}`);
  }
  syncSetupBoxes();
}

for (const el of [ui.jdPick, ui.resumePick, ui.persona]) el.addEventListener('change', syncSetupBoxes);

/** Answer mode chosen for each interview (voice or text), kept for the lobby. */
function modeOf(interviewId) {
  return sessionStorage.getItem(`preppal.mode.${interviewId}`) === 'text' ? 'text' : 'voice';
}

ui.setupForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  setMessage(ui.setupError, '');
  const input = {
    persona: ui.persona.value === 'custom' ? ui.personaCustom.value.trim() : ui.persona.value,
    duration_minutes: Number(ui.setupForm.elements.duration.value),
    ...planInput(ui.setupForm),
  };
  if (ui.jdPick.value) input.job_description_id = ui.jdPick.value;
  else input.job_description = ui.jobDescription.value;
  if (ui.resumePick.value) input.resume_id = ui.resumePick.value;
  else input.resume = ui.resume.value;
  if (!input.job_description_id && !input.job_description.trim()) {
    setMessage(ui.setupError, 'Choose a job description or paste one.');
    ui.jobDescription.focus();
    return;
  }
  if (!input.resume_id && !input.resume.trim()) {
    setMessage(ui.setupError, 'Choose a resume or paste one.');
    ui.resume.focus();
    return;
  }
  ui.startButton.disabled = true;
  try {
    if (!pendingKey) pendingKey = uuid();
    const interview = await api('interview.createSession', { ...input, idempotency_key: pendingKey });
    pendingKey = null;
    sessionStorage.setItem(`preppal.mode.${interview.id}`, ui.setupForm.elements.mode.value);
    go(`#lobby/${interview.id}`);
  } catch (e) {
    if (e.status !== 0) pendingKey = null; // only a network failure is retried as-is
    setMessage(ui.setupError, `Could not create the interview: ${e.message}`);
  } finally {
    ui.startButton.disabled = false;
  }
});

// ---------------------------------------------------------------------------
// Lobby: microphone permission, device, level, speakers
// ---------------------------------------------------------------------------

/** Lobby state; kept into the live view (the audio contexts and microphone carry over). */
let lobby = null;

function makeAudioContext(options) {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return null;
  try {
    return new Ctx(options);
  } catch {
    return null;
  }
}

/** The capture context (the device's rate) and the playback context (24 000 Hz). */
function ensureContexts(state) {
  if (!state.captureCtx) state.captureCtx = makeAudioContext({ latencyHint: 'interactive' });
  if (!state.playbackCtx) {
    state.playbackCtx = makeAudioContext({ sampleRate: MODEL_AUDIO_RATE_HZ, latencyHint: 'interactive' });
  }
  for (const ctx of [state.captureCtx, state.playbackCtx]) {
    if (ctx && ctx.state === 'suspended') ctx.resume().catch(() => {});
  }
}

async function openLobby(interviewId) {
  let interview;
  try {
    interview = await api('interview.getById', { interview_id: interviewId });
  } catch (e) {
    show(ui.setupSection);
    setMessage(ui.setupError, `Could not open the interview: ${e.message}`);
    return;
  }
  if (interview.status === 'COMPLETED' || interview.status === 'ERROR') {
    go(`#results/${interviewId}`);
    return;
  }
  const mode = modeOf(interviewId);
  lobby = {
    interview,
    mode,
    captureCtx: null,
    playbackCtx: null,
    stream: null,
    source: null,
    analyser: null,
    levelTimer: null,
    heardMs: 0,
    refused: false,
  };
  show(ui.lobbySection);
  setMessage(ui.lobbyError, '');
  ui.lobbySummary.textContent =
    `Interviewer: ${interview.persona}. Length: ${Math.round(interview.duration_ms / 60000)} minutes. ` +
    (mode === 'voice' ? 'You answer by voice, and can type too.' : 'You answer by typing.');
  renderPlan(document.getElementById('lobby-plan'), interview.plan);
  ui.micCheck.hidden = mode !== 'voice';
  ui.micControls.hidden = true;
  ui.micAllow.hidden = false;
  ui.micMessage.className = 'status';
  ui.micMessage.textContent =
    'Preppal needs your microphone to hear your answers. Your browser will ask for permission.';
  ui.level.value = 0;
  ui.sayCheck.className = 'status';
  ui.sayCheck.textContent = 'Say something: the meter should move.';
  ui.speakerStatus.textContent = '';
  ui.lobbyHeading.focus();
}

/** Stops the lobby's meter; `keepAudio` hands the contexts and microphone to the live view. */
function stopLobby(keepAudio = false) {
  if (!lobby) return;
  clearInterval(lobby.levelTimer);
  if (!keepAudio) {
    if (lobby.stream) lobby.stream.getTracks().forEach((t) => t.stop());
    for (const ctx of [lobby.captureCtx, lobby.playbackCtx]) if (ctx) ctx.close().catch(() => {});
  }
  lobby = null;
}

function micErrorText(e) {
  if (e.name === 'NotAllowedError' || e.name === 'SecurityError') {
    return 'Microphone access was refused. To answer by voice, allow the microphone for this site in the browser’s address bar, then press “Allow the microphone” again. You can also answer by typing.';
  }
  if (e.name === 'NotFoundError' || e.name === 'OverconstrainedError') {
    return 'No microphone was found. Plug one in and try again, or answer by typing.';
  }
  return `The microphone could not be opened (${e.name}). You can answer by typing.`;
}

/** Opens the microphone (the chosen device, or the default); true when it is on. */
async function openMicrophone(state, deviceId) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    ui.micMessage.className = 'error';
    ui.micMessage.textContent =
      'Microphone capture needs a secure page (https or localhost). You can answer by typing.';
    return false;
  }
  const audio = { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  if (deviceId) audio.deviceId = { exact: deviceId };
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio });
  } catch (e) {
    state.refused = true;
    ui.micMessage.className = 'error';
    ui.micMessage.textContent = micErrorText(e);
    return false;
  }
  if (state !== lobby) {
    stream.getTracks().forEach((t) => t.stop());
    return false;
  }
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  if (state.source) state.source.disconnect();
  state.stream = stream;
  state.refused = false;
  const ctx = state.captureCtx;
  if (ctx) {
    state.source = ctx.createMediaStreamSource(stream);
    state.analyser = ctx.createAnalyser();
    state.analyser.fftSize = 1024;
    state.source.connect(state.analyser);
    clearInterval(state.levelTimer);
    state.levelTimer = setInterval(() => lobbyLevel(state), LEVEL_INTERVAL_MS);
  }
  ui.micMessage.className = 'ok';
  ui.micMessage.textContent = 'The microphone is on.';
  ui.micAllow.hidden = true;
  ui.micControls.hidden = false;
  await listDevices(stream);
  return true;
}

async function listDevices(stream) {
  let devices = [];
  try {
    devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audioinput');
  } catch {
    devices = [];
  }
  const track = stream.getAudioTracks()[0];
  const current = track && track.getSettings ? track.getSettings().deviceId : '';
  clear(ui.micDevice);
  devices.forEach((d, i) => ui.micDevice.add(new Option(d.label || `Microphone ${i + 1}`, d.deviceId)));
  if (current) ui.micDevice.value = current;
}

/** Input level of an analyser on a 0..1 scale (-60..0 dBFS). */
function levelOf(analyser) {
  const data = new Float32Array(analyser.fftSize);
  analyser.getFloatTimeDomainData(data);
  let sum = 0;
  for (const v of data) sum += v * v;
  const rms = Math.sqrt(sum / data.length);
  const db = 20 * Math.log10(rms + 1e-9);
  return Math.min(1, Math.max(0, (db + 60) / 60));
}

function lobbyLevel(state) {
  if (!state.analyser) return;
  const level = levelOf(state.analyser);
  ui.level.value = level;
  if (level >= SPEECH_LEVEL) {
    state.heardMs += LEVEL_INTERVAL_MS;
    if (state.heardMs >= SAY_CHECK_MS && ui.sayCheck.className !== 'ok') {
      ui.sayCheck.className = 'ok';
      ui.sayCheck.textContent = 'We hear you: the microphone works.';
    }
  }
}

ui.micAllow.addEventListener('click', async () => {
  if (!lobby) return;
  ensureContexts(lobby);
  await openMicrophone(lobby, '');
});

ui.micDevice.addEventListener('change', async () => {
  if (!lobby) return;
  lobby.heardMs = 0;
  ui.sayCheck.className = 'status';
  ui.sayCheck.textContent = 'Say something: the meter should move.';
  await openMicrophone(lobby, ui.micDevice.value);
});

ui.speakerTest.addEventListener('click', () => {
  if (!lobby) return;
  ensureContexts(lobby);
  const ctx = lobby.playbackCtx;
  if (!ctx) {
    ui.speakerStatus.textContent = 'This browser cannot play audio here.';
    return;
  }
  // A 440 Hz tone for 0.6 s with 20 ms fades.
  const t = ctx.currentTime + 0.05;
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.frequency.value = 440;
  gain.gain.setValueAtTime(0, t);
  gain.gain.linearRampToValueAtTime(0.3, t + 0.02);
  gain.gain.setValueAtTime(0.3, t + 0.58);
  gain.gain.linearRampToValueAtTime(0, t + 0.6);
  osc.connect(gain).connect(ctx.destination);
  osc.start(t);
  osc.stop(t + 0.62);
  ui.speakerStatus.textContent = 'Playing a short tone. If you heard nothing, check the volume and the output device.';
});

ui.lobbyBack.addEventListener('click', () => go('#new'));

ui.join.addEventListener('click', async () => {
  const state = lobby;
  if (!state) return;
  setMessage(ui.lobbyError, '');
  ui.join.disabled = true;
  // Both contexts are made inside the click so that the browser lets them play.
  ensureContexts(state);
  try {
    if (state.mode === 'voice' && !state.stream && !state.refused) await openMicrophone(state, '');
    const token = await api('interview.generateWorkerToken', { interview_id: state.interview.id });
    stopLobby(true);
    await startLive(state, token.ws_url);
  } catch (e) {
    setMessage(ui.lobbyError, `Could not start the interview: ${e.message}`);
  } finally {
    ui.join.disabled = false;
  }
});

// ---------------------------------------------------------------------------
// Playback: interviewer audio, PCM16LE mono 24 000 Hz, through the jitter buffer of the
// 'pcm-playback' worklet (pcm-worklet.js) in a 24 000 Hz context
// ---------------------------------------------------------------------------

class Player {
  /** `node` is the 'pcm-playback' AudioWorkletNode; `onState` gets its state reports. */
  constructor(node, onState) {
    this.node = node;
    this.chunks = 0;
    node.port.onmessage = (e) => {
      if (e.data && e.data.type === 'state') onState(e.data);
    };
  }

  /** Queues one PCM16LE chunk (a Uint8Array; a trailing odd byte is ignored). */
  enqueue(pcm) {
    const n = Math.floor(pcm.length / 2);
    if (n === 0) return;
    const view = new DataView(pcm.buffer, pcm.byteOffset, n * 2);
    const samples = new Float32Array(n);
    for (let i = 0; i < n; i += 1) samples[i] = view.getInt16(i * 2, true) / 32768;
    this.node.port.postMessage({ type: 'chunk', samples }, [samples.buffer]);
    this.chunks += 1;
  }

  /** Barge-in: queued audio stops within one render quantum, with a 2 ms fade. */
  flush() {
    this.node.port.postMessage({ type: 'flush' });
  }
}

// ---------------------------------------------------------------------------
// Live interview
// ---------------------------------------------------------------------------

/** State of the interview on screen; null when none is live. */
let live = null;

async function startLive(state, wsUrl) {
  const interview = state.interview;
  clear(ui.captions);
  setMessage(ui.liveError, '');
  setMessage(ui.micStatus, '');
  ui.clock.textContent = '';
  ui.liveStatus.textContent = 'Connecting to the interviewer…';
  setConnection('connecting', 'Connecting…');
  setSpeaking('none');
  ui.answer.value = '';
  ui.answer.disabled = true;
  ui.sendButton.disabled = true;
  ui.endButton.disabled = false;
  ui.nav.hidden = true;
  for (const [k, v] of Object.entries({ chunks: 0, playedMs: 0, flushes: 0, droppedMs: 0, playing: false })) {
    ui.playback.dataset[k] = String(v);
  }
  ui.playback.textContent = '';
  live = {
    interviewId: interview.id,
    mode: state.mode,
    ws: null,
    captureCtx: state.captureCtx,
    playbackCtx: state.playbackCtx,
    stream: state.stream,
    source: state.source,
    analyser: state.analyser,
    capture: null,
    player: null,
    aiPlaying: false,
    started: false,
    ended: false,
    reconnects: 0,
    startedAt: 0,
    maxDurationMs: interview.duration_ms || 0,
    clockTimer: null,
    levelTimer: null,
    lines: { AI: null, USER: null },
  };
  const session = live;
  show(ui.liveSection);
  ui.liveHeading.focus();
  await startPlayback(session);
  connect(session, wsUrl);
  if (session.mode === 'voice') await startCapture(session);
  else setMessage(ui.micStatus, 'Text mode: type your answers below.');
  session.levelTimer = setInterval(() => updateSpeaking(session), LEVEL_INTERVAL_MS);
}

function connect(session, wsUrl) {
  const ws = new WebSocket(wsUrl);
  ws.binaryType = 'arraybuffer';
  session.ws = ws;
  ws.onopen = () => {
    if (session.ws !== ws) return;
    setConnection('open', session.reconnects > 0 ? 'Reconnected' : 'Connected');
  };
  ws.onmessage = (e) => {
    if (session.ws === ws) onServerMessage(session, e.data);
  };
  ws.onclose = (e) => {
    if (session.ws === ws) onSocketClosed(session, e);
  };
  ws.onerror = () => {
    // onclose follows with the details.
  };
}

function setConnection(state, text) {
  ui.connection.dataset.state = state;
  ui.connection.textContent = text;
}

function setSpeaking(who) {
  if (ui.speaking.dataset.who === who) return;
  ui.speaking.dataset.who = who;
  ui.speaking.textContent = who === 'ai' ? 'Interviewer speaking' : who === 'user' ? 'You are speaking' : 'Waiting';
}

function updateSpeaking(session) {
  if (session.ended) return;
  const userLevel = session.analyser && session.capture ? levelOf(session.analyser) : 0;
  setSpeaking(session.aiPlaying ? 'ai' : userLevel >= SPEECH_LEVEL ? 'user' : 'none');
}

async function startPlayback(session) {
  const ctx = session.playbackCtx;
  if (!ctx || !ctx.audioWorklet) {
    setMessage(ui.liveError, 'This browser cannot play the interviewer’s audio here; captions are shown.');
    return;
  }
  try {
    await ctx.audioWorklet.addModule('/assets/pcm-worklet.js');
    const node = new AudioWorkletNode(ctx, 'pcm-playback', { numberOfInputs: 0, outputChannelCount: [1] });
    node.connect(ctx.destination);
    session.player = new Player(node, (s) => {
      session.aiPlaying = s.playing;
      ui.playback.dataset.playing = String(s.playing);
      ui.playback.dataset.playedMs = String(s.playedMs);
      ui.playback.dataset.flushes = String(s.flushes);
      ui.playback.dataset.droppedMs = String(s.droppedMs);
      ui.playback.textContent = `Interviewer audio: ${(s.playedMs / 1000).toFixed(1)} s played${
        s.flushes > 0 ? `, cut ${s.flushes} time(s) when you spoke` : ''
      }.`;
      updateSpeaking(session);
    });
  } catch (e) {
    setMessage(ui.liveError, `Audio playback failed (${e.message}); captions are shown.`);
  }
}

/** Starts capture from the lobby's microphone: 40 ms PCM16LE 16 000 Hz frames. */
async function startCapture(session) {
  const ctx = session.captureCtx;
  if (!session.stream || !ctx || !ctx.audioWorklet) {
    setMessage(ui.micStatus, 'The microphone is off: you can answer by typing.');
    return;
  }
  try {
    await ctx.audioWorklet.addModule('/assets/pcm-worklet.js');
    const node = new AudioWorkletNode(ctx, 'pcm-capture', { numberOfOutputs: 0 });
    node.port.onmessage = (e) => {
      // One 40 ms PCM16LE frame at 16 000 Hz (1 280 bytes); sent once the interviewer is up.
      const ws = session.ws;
      if (session.started && !session.ended && ws && ws.readyState === WebSocket.OPEN) {
        ws.send(audioChunkMessage(new Uint8Array(e.data)));
      }
    };
    session.source.connect(node);
    session.capture = node;
    setMessage(ui.micStatus, 'Microphone on: speak your answers, or type them below.');
  } catch (e) {
    setMessage(ui.micStatus, `Microphone capture failed (${e.message}). You can answer by typing.`);
  }
}

function releaseAudio(session) {
  if (session.capture) {
    session.capture.port.onmessage = null;
    try {
      session.source.disconnect();
      session.capture.disconnect();
    } catch {
      // Already disconnected.
    }
  }
  session.capture = null;
  if (session.stream) session.stream.getTracks().forEach((t) => t.stop());
  if (session.captureCtx) session.captureCtx.close().catch(() => {});
  // Let queued interviewer audio finish, then release the audio device.
  const ctx = session.playbackCtx;
  if (ctx) setTimeout(() => ctx.close().catch(() => {}), session.aiPlaying ? 3000 : 250);
}

function onServerMessage(session, data) {
  if (!(data instanceof ArrayBuffer)) return; // the protocol is binary only
  let msg;
  try {
    msg = fromBinary(ServerToClientMessageSchema, new Uint8Array(data)).message;
  } catch (e) {
    setMessage(ui.liveError, `Unreadable message from the server (${e.message}).`);
    return;
  }
  const v = msg.value;
  switch (msg.case) {
    case 'sessionStarted':
      if (Number(v.maxDurationMs) > 0) session.maxDurationMs = Number(v.maxDurationMs);
      if (session.started) break; // a reconnection: the clock keeps running
      session.started = true;
      session.startedAt = performance.now();
      ui.liveStatus.textContent = 'The interviewer is connected.';
      ui.answer.disabled = false;
      ui.sendButton.disabled = false;
      ui.answer.focus();
      tickClock(session);
      session.clockTimer = setInterval(() => tickClock(session), 1000);
      break;
    case 'sessionResumed':
      onResumed(session, v);
      break;
    case 'transcriptUpdate':
      onTranscript(session, v);
      break;
    case 'audioResponse':
      if (session.player) {
        session.player.enqueue(v.audioContent);
        ui.playback.dataset.chunks = String(session.player.chunks);
      }
      break;
    case 'interrupted':
      if (session.player) session.player.flush();
      if (session.lines.AI) {
        session.lines.AI.row.classList.add('final');
        session.lines.AI = null;
      }
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
    case SessionEndedReason.SERVER_SHUTDOWN:
      return 'The server shut down; the interview was saved with what was said.';
    default:
      return 'The interview has ended.';
  }
}

/**
 * Captions: fragments are appended to the speaker's current line (shown as partial
 * text); a final update replaces that line's text with the whole turn, and the speaker's
 * next update opens a new line.
 */
function onTranscript(session, u, status = true) {
  const speaker = u.speaker === 'AI' || u.speaker === 'USER' ? u.speaker : 'AI';
  if (!status) {
    // A replayed entry: the status line is set once the replay is drawn.
  } else if (u.turnComplete && speaker === 'AI') {
    ui.liveStatus.textContent = 'Your turn: answer aloud or type below.';
    answerCountdown(document.getElementById('answer-countdown'));
  }
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

/**
 * A reconnection was accepted: the server replays the transcript so far. The captions are
 * drawn again from it (so nothing shown twice and nothing missed while the connection was
 * down); the turns still under way stay open for the fragments that follow.
 */
function onResumed(session, r) {
  clear(ui.captions);
  session.lines = { AI: null, USER: null };
  const name = (s) => (s === Speaker.USER ? 'USER' : 'AI');
  for (const e of r.transcript) {
    onTranscript(session, { speaker: name(e.speaker), text: e.text, isFinal: true, turnComplete: false }, false);
  }
  for (const e of r.openTurns) {
    onTranscript(session, { speaker: name(e.speaker), text: e.text, isFinal: false, turnComplete: false }, false);
  }
  if (session.player) session.player.flush();
  if (Number(r.maxDurationMs) > 0) session.maxDurationMs = Number(r.maxDurationMs);
  session.startedAt = performance.now() - Number(r.elapsedMs);
  if (!session.started) {
    session.started = true;
    ui.answer.disabled = false;
    ui.sendButton.disabled = false;
    session.clockTimer = setInterval(() => tickClock(session), 1000);
  }
  tickClock(session);
  const last = r.transcript[r.transcript.length - 1];
  ui.liveStatus.textContent = r.openTurns.length === 0 && last && last.speaker === Speaker.AI
    ? 'Reconnected. Your turn: answer aloud or type below.'
    : 'Reconnected. The interview goes on.';
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
  if (!text || !live || live.ended || !live.ws || live.ws.readyState !== WebSocket.OPEN) return;
  live.ws.send(textInputMessage(text));
  ui.answer.value = '';
  ui.answer.focus();
});

ui.endButton.addEventListener('click', () => {
  if (!live || live.ended) return;
  ui.endButton.disabled = true;
  ui.liveStatus.textContent = 'Ending the interview…';
  if (live.ws && live.ws.readyState === WebSocket.OPEN) {
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
    show(ui.lobbySection);
    setMessage(
      ui.lobbyError,
      `The interview connection closed before it started (code ${e.code}${e.reason ? `: ${e.reason}` : ''}).`,
    );
    go('#history');
    return;
  }
  if (session.reconnecting) return; // a failed attempt: the loop below goes on
  reconnect(session);
}

/**
 * The socket dropped mid-interview: shows the indicator and tries again with a fresh
 * token, RECONNECT_DELAYS_MS apart. A server that has already ended the interview
 * refuses the token (409), and the page moves on to the results.
 */
async function reconnect(session) {
  session.ws = null;
  session.reconnecting = true;
  try {
    await reconnectLoop(session);
  } finally {
    session.reconnecting = false;
  }
}

async function reconnectLoop(session) {
  for (let attempt = 0; attempt < RECONNECT_DELAYS_MS.length; attempt += 1) {
    setConnection('reconnecting', `Connection lost. Reconnecting (attempt ${attempt + 1} of ${RECONNECT_DELAYS_MS.length})…`);
    ui.liveStatus.textContent = 'The connection dropped; trying to reconnect.';
    await new Promise((r) => setTimeout(r, RECONNECT_DELAYS_MS[attempt]));
    if (session.ended) return;
    let token;
    try {
      token = await api('interview.generateWsToken', { interview_id: session.interviewId });
    } catch (e) {
      if (e.status === 0 || e.status >= 500) continue; // the network or the server is still down
      setConnection('lost', 'Connection lost: the interview has ended.');
      endLive(session, 'The connection dropped and the interview ended.');
      return;
    }
    session.reconnects += 1;
    const opened = await new Promise((resolve) => {
      connect(session, token.ws_url);
      const ws = session.ws;
      const done = (ok) => {
        ws.removeEventListener('open', onOpen);
        ws.removeEventListener('close', onClose);
        resolve(ok);
      };
      const onOpen = () => done(true);
      const onClose = () => done(false);
      ws.addEventListener('open', onOpen);
      ws.addEventListener('close', onClose);
    });
    if (opened) {
      ui.liveStatus.textContent = 'Reconnected.';
      return;
    }
  }
  setConnection('lost', 'Connection lost.');
  endLive(session, 'The connection to the interviewer was lost.');
}

/** Ends the live view; with `reason` set, moves on to the feedback. */
function endLive(session, reason) {
  if (session.ended) return;
  session.ended = true;
  clearInterval(session.clockTimer);
  clearInterval(session.levelTimer);
  setSpeaking('none');
  ui.answer.disabled = true;
  ui.sendButton.disabled = true;
  const ws = session.ws;
  if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) {
    ws.close(1000, 'interview ended');
  }
  releaseAudio(session);
  if (live === session) live = null;
  ui.nav.hidden = !user;
  if (reason !== null) {
    pendingReason = reason;
    go(`#results/${session.interviewId}`);
  }
}

// ---------------------------------------------------------------------------
// Feedback and transcript
// ---------------------------------------------------------------------------

/** Why the last interview ended, shown once on its results. */
let pendingReason = '';
/** What the results page shows, for the exports. */
let shown = null;
/** Increments on each results visit so an older poll stops. */
let resultsVisit = 0;

function setResultsState(state, text) {
  ui.resultsStatus.dataset.state = state;
  ui.resultsStatus.textContent = text;
}

async function showResults(interviewId) {
  const visit = (resultsVisit += 1);
  const reason = pendingReason ? `${pendingReason} ` : '';
  pendingReason = '';
  show(ui.resultsSection);
  ui.feedback.hidden = true;
  ui.exportMd.disabled = true;
  ui.exportJson.disabled = true;
  shown = null;
  clear(ui.transcript);
  setResultsState('polling', `${reason}Waiting for the interview to finish…`);
  ui.resultsHeading.focus();

  let interview = null;
  for (let i = 0; i < POLL_MAX_TRIES; i += 1) {
    if (visit !== resultsVisit) return;
    try {
      interview = await api('interview.getById', { interview_id: interviewId });
      if (interview.status === 'COMPLETED' || interview.status === 'ERROR') break;
      setResultsState(
        'polling',
        `${reason}Status: ${STATUS_TEXT[interview.status] || interview.status}. Generating feedback… (check ${i + 1})`,
      );
    } catch (e) {
      if (e.status !== 0) {
        setResultsState('error', `Could not read the interview: ${e.message}`);
        return;
      }
    }
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
  if (visit !== resultsVisit) return;
  if (!interview || (interview.status !== 'COMPLETED' && interview.status !== 'ERROR')) {
    setResultsState('timeout', 'Feedback is taking longer than expected. Reload the page later to see it.');
    return;
  }

  let feedback = null;
  let entries = [];
  let reply = null;
  try {
    const [f, t] = await Promise.all([
      api('interview.getFeedback', { interview_id: interviewId }),
      api('interview.getTranscript', { interview_id: interviewId }),
    ]);
    feedback = f.feedback;
    reply = f;
    entries = t.entries || [];
  } catch (e) {
    setResultsState('error', `Could not load the feedback: ${e.message}`);
    return;
  }
  if (visit !== resultsVisit) return;

  if (interview.status === 'ERROR') {
    const why = interview.error_message || interview.ended_reason || 'unknown cause';
    setResultsState('ready', `${reason}The interview ended with an error (${why}).`);
  } else {
    setResultsState(
      'ready',
      `${reason}${feedback ? 'Your feedback is ready.' : 'The interview is complete; no feedback was written.'}`,
    );
  }
  renderFeedback(feedback);
  renderAssessment(document.getElementById('assessment'), reply);
  renderTranscript(entries);
  shown = { interview, feedback, entries };
  ui.exportMd.disabled = false;
  ui.exportJson.disabled = false;
}

/** Offers `text` as a file download. */
function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** The results as Markdown: summary, strengths, areas, metrics, transcript. */
function toMarkdown({ interview, feedback, entries }) {
  const lines = [`# Interview feedback`, '', `- Date: ${formatDate(interview.created_at_ms)}`];
  lines.push(`- Interviewer: ${interview.persona}`, `- Status: ${STATUS_TEXT[interview.status] || interview.status}`);
  if (interview.started_at_ms && interview.ended_at_ms) {
    lines.push(`- Length: ${formatDuration(interview.ended_at_ms - interview.started_at_ms)}`);
  }
  lines.push('');
  if (feedback) {
    lines.push('## Summary', '', feedback.summary || '', '');
    for (const [title, items] of [
      ['Strengths', feedback.strengths],
      ['Areas to improve', feedback.areas_to_improve],
    ]) {
      lines.push(`## ${title}`, '');
      for (const item of items && items.length ? items : ['None noted.']) lines.push(`- ${item}`);
      lines.push('');
    }
    const m = feedback.metrics;
    if (m) {
      lines.push('## Delivery metrics', '');
      for (const [k, v] of Object.entries(m)) {
        if (v === null || typeof v !== 'object') lines.push(`- ${k.replaceAll('_', ' ')}: ${v === null ? 'n/a' : v}`);
      }
      lines.push('');
    }
  }
  lines.push('## Transcript', '');
  for (const e of entries) {
    lines.push(`**${speakerLabel(e.speaker)}** (${formatDuration(e.start_ms)}): ${e.text || '(spoken, not transcribed)'}`, '');
  }
  return lines.join('\n');
}

ui.exportMd.addEventListener('click', () => {
  if (shown) download(`interview-${shown.interview.id}.md`, 'text/markdown', toMarkdown(shown));
});

ui.exportJson.addEventListener('click', () => {
  if (!shown) return;
  const { interview, feedback, entries } = shown;
  const out = {
    interview: {
      id: interview.id,
      status: interview.status,
      persona: interview.persona,
      duration_ms: interview.duration_ms,
      created_at_ms: interview.created_at_ms,
      started_at_ms: interview.started_at_ms,
      ended_at_ms: interview.ended_at_ms,
      ended_reason: interview.ended_reason,
    },
    feedback,
    transcript: entries,
  };
  download(`interview-${interview.id}.json`, 'application/json', `${JSON.stringify(out, null, 2)}\n`);
});

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
  const sources = {
    deterministic: 'Automatic summary (no AI model)',
    simulator: 'Simulated feedback (offline simulator, no AI model)',
  };
  ui.feedbackSource.textContent = sources[feedback.source] || 'Written by the AI model';
  ui.summary.textContent = feedback.summary || '';
  fillList(ui.strengths, feedback.strengths);
  fillList(ui.areas, feedback.areas_to_improve);
  renderScores(feedback.scores);
  renderNotes(feedback.notes || [], feedback.dropped_notes || 0);
  renderMetrics(feedback.metrics);
  ui.feedback.hidden = false;
}

function renderScores(scores) {
  clear(ui.scores);
  ui.scoresBlock.hidden = !scores;
  if (!scores) return;
  for (const [name, key] of [['Content', 'content'], ['Structure', 'structure'], ['Clarity', 'clarity']]) {
    const s = scores[key];
    if (!s) continue;
    const li = document.createElement('li');
    li.textContent = `${name}: ${s.value}/5. ${s.reason || ''}`;
    ui.scores.append(li);
  }
}

/** Notes, each with the candidate's own words (checked against the transcript). */
function renderNotes(notes, dropped) {
  clear(ui.notes);
  ui.notesBlock.hidden = notes.length === 0 && dropped === 0;
  for (const n of notes) {
    const li = document.createElement('li');
    const q = document.createElement('em');
    q.textContent = n.question || '';
    const quote = document.createElement('blockquote');
    quote.textContent = n.quote || '';
    const note = document.createElement('p');
    note.textContent = n.note || '';
    li.append(q, quote, note);
    ui.notes.append(li);
  }
  ui.droppedNotes.hidden = dropped === 0;
  ui.droppedNotes.textContent = `${dropped} note(s) were left out because their quote is not in the transcript.`;
}

function bandText(band) {
  if (!band) return '';
  const range = band.low != null && band.high != null ? `${band.low}–${band.high}`
    : band.high != null ? `≤ ${band.high}` : band.low != null ? `≥ ${band.low}` : '';
  return `${range} ${band.unit}`.trim();
}

/** The metrics table; `null` values (not measurable here) read "n/a". */
function renderMetrics(m) {
  clear(ui.metrics);
  ui.metricsBlock.hidden = !m;
  if (!m) return;
  const bands = m.bands || {};
  const na = (v, unit = '') => (v == null ? 'n/a' : `${v}${unit}`);
  const rows = [
    ['Metric', 'Value', 'Usual range'],
    ['Words', na(m.words), ''],
    ['Speaking time', `${((m.speaking_time_ms || 0) / 1000).toFixed(1)} s`, ''],
    ['Words per minute', na(m.words_per_minute), bandText(bands.words_per_minute)],
    ['Filler words', na(m.filler_words), ''],
    ['Filler words per minute', na(m.filler_words_per_minute), bandText(bands.filler_words_per_minute)],
    ['Pauses over 1 s', na(m.pauses_over_1s), bandText(bands.pauses_over_1s)],
    ['Response latency (median)', na(m.response_latency_ms, ' ms'), bandText(bands.response_latency_ms)],
    ['Talk-time ratio', na(m.talk_time_ratio), bandText(bands.talk_time_ratio)],
    ['Longest answer', `${((m.longest_answer_ms || 0) / 1000).toFixed(1)} s`, bandText(bands.answer_speaking_time_ms)],
    ['Interruptions', na(m.interruptions), ''],
  ];
  rows.forEach((cells, i) => {
    const tr = document.createElement('tr');
    for (const c of cells) {
      const cell = document.createElement(i === 0 ? 'th' : 'td');
      cell.textContent = c;
      tr.append(cell);
    }
    ui.metrics.append(tr);
  });
  const terms = m.job_terms || { covered: [], missing: [] };
  const list = (v) => (v && v.length ? v.join(', ') : 'none');
  ui.jobTerms.textContent =
    `Job-description terms you mentioned: ${list(terms.covered)}. Not mentioned: ${list(terms.missing)}.`;
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

ui.again.addEventListener('click', () => go('#new'));

// ---------------------------------------------------------------------------
// History
// ---------------------------------------------------------------------------

/** `next_cursor` of the last history page, or null. */
let historyCursor = null;
/** Interviews listed so far (for the progress line). */
let historyItems = [];

async function loadHistory(more = false) {
  if (!more) {
    historyCursor = null;
    historyItems = [];
    clear(ui.historyRows);
  }
  ui.historyStatus.textContent = 'Loading…';
  try {
    const page = await api('interview.getHistory', { limit: 20, cursor: more ? historyCursor : undefined });
    historyCursor = page.next_cursor || null;
    historyItems = historyItems.concat(page.items || []);
    for (const i of page.items || []) ui.historyRows.append(historyRow(i));
    ui.historyMore.hidden = !historyCursor;
    ui.historyStatus.textContent = historyItems.length === 0 ? 'No interviews yet.' : '';
    renderProgress();
    if (!more) await loadTrend();
  } catch (e) {
    ui.historyStatus.textContent = `Could not load the history: ${e.message}`;
  }
}

function actualLength(i) {
  return i.started_at_ms && i.ended_at_ms ? i.ended_at_ms - i.started_at_ms : null;
}

function historyRow(i) {
  const tr = document.createElement('tr');
  const cell = (text) => {
    const td = document.createElement('td');
    td.textContent = text;
    tr.append(td);
    return td;
  };
  const date = formatDate(i.created_at_ms);
  cell(date);
  cell(STATUS_TEXT[i.status] || i.status);
  const length = actualLength(i);
  cell(
    length !== null
      ? `${formatDuration(length)} of ${Math.round(i.duration_ms / 60000)} min`
      : `${Math.round(i.duration_ms / 60000)} min planned`,
  );
  cell(i.persona);
  const actions = cell('');
  const terminal = i.status === 'COMPLETED' || i.status === 'ERROR';
  actions.append(
    button(
      terminal ? 'Open' : 'Resume',
      'secondary',
      () => go(terminal ? `#results/${i.id}` : `#lobby/${i.id}`),
      `${terminal ? 'Open' : 'Resume'} the interview of ${date}`,
    ),
    document.createTextNode(' '),
    button('Delete', 'danger', () => deleteInterview(i, tr), `Delete the interview of ${date}`),
  );
  return tr;
}

async function deleteInterview(i, tr) {
  if (!window.confirm(`Delete the interview of ${formatDate(i.created_at_ms)} with its transcript and feedback?`)) {
    return;
  }
  try {
    await api('interview.delete', { interview_id: i.id });
    tr.remove();
    historyItems = historyItems.filter((x) => x.id !== i.id);
    ui.historyStatus.textContent = 'The interview was deleted.';
    renderProgress();
  } catch (e) {
    ui.historyStatus.textContent = `Could not delete the interview: ${e.message}`;
  }
}

/** Progress across the interviews listed: how many, completed, practice time. */
function renderProgress() {
  const completed = historyItems.filter((i) => i.status === 'COMPLETED');
  const practised = historyItems.reduce((sum, i) => sum + (actualLength(i) || 0), 0);
  ui.progress.textContent =
    historyItems.length === 0
      ? 'Your interviews will be listed here.'
      : `${historyItems.length} interview(s), ${completed.length} completed, ` +
        `${formatDuration(practised)} of practice in total.`;
}

/** Names of the measures `interview.getProgress` follows, for people. */
const TREND_NAMES = {
  'metrics.words_per_minute': 'Words per minute',
  'metrics.filler_words_per_minute': 'Filler words per minute',
  'metrics.talk_time_ratio': 'Your share of talk time',
  'metrics.response_latency_ms': 'Time to start an answer (ms)',
  'metrics.longest_answer_ms': 'Longest answer (ms)',
  'metrics.pauses_over_1s': 'Pauses over 1 s',
  'metrics.interruptions': 'Interruptions',
  'scores.content': 'Content score (1-5)',
  'scores.structure': 'Structure score (1-5)',
  'scores.clarity': 'Clarity score (1-5)',
};

/** The trend of each measure across completed interviews (`interview.getProgress`). */
async function loadTrend() {
  clear(ui.trendRows);
  ui.trendTable.hidden = true;
  try {
    const progress = await api('interview.getProgress', { limit: 50 });
    const trend = progress.trend || {};
    for (const [key, name] of Object.entries(TREND_NAMES)) {
      const t = trend[key];
      if (!t || t.points < 2) continue;
      const tr = document.createElement('tr');
      const round = (v) => String(Math.round(v * 100) / 100);
      for (const text of [name, round(t.first), round(t.last), (t.change > 0 ? '+' : '') + round(t.change), String(t.points)]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      ui.trendRows.append(tr);
    }
    ui.trendTable.hidden = ui.trendRows.childElementCount === 0;
  } catch (e) {
    ui.historyStatus.textContent = `Could not load your progress: ${e.message}`;
  }
}

ui.historyMore.addEventListener('click', () => loadHistory(true));

checkProfile();
