// Lobby: microphone permission, device, level, speakers; then the live screen.

import { renderPlan } from '/assets/plan.js';
import { api } from '/assets/api.js';
import { LEVEL_INTERVAL_MS, SPEECH_LEVEL, ensureContexts, levelOf } from '/assets/audio.js';
import { $, clear, setMessage } from '/assets/dom.js';
import { formatDuration, jobText } from '/assets/format.js';
import { modeOf } from '/assets/setup.js';

/** Speech heard for this long passes the lobby's "say something" check, ms. */
const SAY_CHECK_MS = 300;

/**
 * What the candidate is told about the offline demo interviewer, or '' when the real one
 * runs (or the server does not say): `interviewer` is `user.getProfile().interviewer`.
 */
export function offlineNotice(interviewer) {
  if (!interviewer || interviewer.kind !== 'offline_demo') return '';
  const hears = interviewer.transcribes_candidate
    ? 'It shows your words from a prepared transcript, not from your voice.'
    : 'It does not understand what you say, so your spoken words are not transcribed.';
  return (
    'Offline demo: this interviewer is a script, not an AI. It asks questions drawn from the job ' +
    'description and moves on when you stop speaking. It cannot answer questions, repeat itself ' +
    `or follow up on your answers, and your persona choice does not change it. ${hears} ` +
    'Use it to practise speaking and timing.'
  );
}

/** The lobby screen; `live` is the live screen it hands the audio and the token to. */
export function createLobby(app, live) {
  const ui = {
    section: $('lobby'),
    heading: $('lobby-heading'),
    summary: $('lobby-summary'),
    offline: $('lobby-offline'),
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
    back: $('lobby-back'),
    error: $('lobby-error'),
  };
  /** The lobby's state; handed to the live screen on join. */
  let lobby = null;

  async function open(interviewId) {
    let interview;
    try {
      interview = await api('interview.getById', { interview_id: interviewId });
    } catch (e) {
      app.go('#new');
      app.notice(`Could not open the interview: ${e.message}`);
      return;
    }
    if (interview.status === 'COMPLETED' || interview.status === 'ERROR') {
      app.go(`#results/${interviewId}`);
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
    app.show(ui.section);
    setMessage(ui.error, '');
    const minutes = Math.round(interview.duration_ms / 60000);
    ui.summary.textContent =
      `${jobText(interview)}. Interviewer: ${interview.persona}. Length: ${minutes} minutes. ` +
      (mode === 'voice' ? 'You answer by voice, and can type too.' : 'You answer by typing.');
    renderPlan(document.getElementById('lobby-plan'), interview.plan);
    ui.join.textContent = 'Start the interview';
    if (interview.status === 'IN_PROGRESS') {
      const since = interview.started_at_ms ? Date.now() - interview.started_at_ms : 0;
      const at = since > 0 ? `, ${formatDuration(since)} in` : '';
      ui.summary.textContent += ' This interview is in progress: rejoin it where you left off.';
      ui.join.textContent = `Rejoin your interview${at}`;
    }
    setMessage(ui.offline, offlineNotice(app.user && app.user.interviewer));
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
    ui.heading.focus();
  }

  /** Stops the lobby's meter; `keepAudio` hands the contexts and microphone to the live view. */
  function stop(keepAudio = false) {
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
      state.levelTimer = setInterval(() => showLevel(state), LEVEL_INTERVAL_MS);
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

  function showLevel(state) {
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

  ui.back.addEventListener('click', () => app.go('#new'));

  ui.join.addEventListener('click', async () => {
    const state = lobby;
    if (!state) return;
    setMessage(ui.error, '');
    ui.join.disabled = true;
    // Both contexts are made inside the click so that the browser lets them play.
    ensureContexts(state);
    try {
      if (state.mode === 'voice' && !state.stream && !state.refused) await openMicrophone(state, '');
      const token = await api('interview.generateWorkerToken', { interview_id: state.interview.id });
      stop(true);
      await live.start(state, token.ws_url);
    } catch (e) {
      setMessage(ui.error, `Could not start the interview: ${e.message}`);
    } finally {
      ui.join.disabled = false;
    }
  });

  /** The worker closed the connection before the interview began. */
  function refused(text) {
    app.show(ui.section);
    setMessage(ui.error, text);
  }

  return { section: ui.section, open, stop, refused };
}
