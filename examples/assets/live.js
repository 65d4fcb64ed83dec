// The live interview: the interview WebSocket, the interviewer's audio and captions in
// step with it, the microphone (level meter, mute), who is speaking, the clock,
// reconnection, and PlaybackReport when an interviewer turn's playback drains or is cut.
//
// State lives in one session object per interview (null between interviews).

import { answerLimitSecs, createCountdown } from '/assets/plan.js';
import { api } from '/assets/api.js';
import { LEVEL_INTERVAL_MS, SPEECH_LEVEL, levelOf } from '/assets/audio.js';
import { Captions } from '/assets/captions.js';
import { $, setMessage } from '/assets/dom.js';
import { formatDuration } from '/assets/format.js';
import { offlineNotice } from '/assets/lobby.js';
import { Player } from '/assets/player.js';
import { SessionEnded_Reason as SessionEndedReason, Speaker } from '/assets/proto.js';
import { audioChunkMessage, decodeServer, endRequestMessage, playbackReportMessage, textInputMessage } from '/assets/wire.js';

/**
 * Waits between reconnection attempts, ms (one attempt per entry): about 70 s in all, a
 * little more than the server's default grace period (60 s) for a dropped connection.
 */
const RECONNECT_DELAYS_MS = [500, 1000, 2000, 4000, ...Array(12).fill(5000)];
/** The candidate counts as speaking after this much speech, ms. */
const USER_ON_MS = 200;
/** ... and as silent after this much quiet (an answer's short pauses keep the indicator), ms. */
const USER_OFF_MS = 1200;
/** The interviewer counts as silent after its audio stopped for this long, ms. */
const AI_OFF_MS = 400;

/** What the page says when the server ends the interview. */
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

function warnBeforeLeaving(ev) {
  ev.preventDefault();
  ev.returnValue = ''; // older browsers need it set to show the warning
}

/** The live screen of `app`; `lobbyRefused(text)` shows a refusal in the lobby. */
export function createLive(app, lobbyRefused) {
  const ui = {
    section: $('live'),
    heading: $('live-heading'),
    status: $('live-status'),
    offline: $('live-offline'),
    speaking: $('speaking'),
    connection: $('connection'),
    playback: $('playback'),
    micStatus: $('mic-status'),
    micBox: $('live-mic'),
    level: $('live-level'),
    mute: $('mute'),
    clock: $('clock'),
    captions: $('captions'),
    partial: $('partial'),
    error: $('live-error'),
    form: $('answer-form'),
    answer: $('answer'),
    send: $('send'),
    end: $('end'),
  };
  /** The interview on screen; null when none is live. */
  let live = null;

  function setConnection(state, text) {
    ui.connection.dataset.state = state;
    ui.connection.textContent = text;
  }

  function setSpeaking(who) {
    if (ui.speaking.dataset.who === who) return;
    ui.speaking.dataset.who = who;
    ui.speaking.textContent = who === 'ai' ? 'Interviewer speaking' : who === 'user' ? 'You are speaking' : 'Waiting';
  }

  /** Who is speaking, with hysteresis: short pauses do not flip the indicator. */
  function updateSpeaking(session) {
    if (session.ended) return;
    const s = session.speech;
    const level = session.analyser && session.capture && !session.muted ? levelOf(session.analyser) : 0;
    ui.level.value = level;
    if (level >= SPEECH_LEVEL) {
      s.loudMs += LEVEL_INTERVAL_MS;
      s.quietMs = 0;
    } else {
      s.quietMs += LEVEL_INTERVAL_MS;
      if (s.quietMs >= USER_OFF_MS) s.loudMs = 0;
    }
    const user = s.loudMs >= USER_ON_MS && s.quietMs < USER_OFF_MS;
    if (session.aiPlaying) s.aiQuietMs = 0;
    else s.aiQuietMs += LEVEL_INTERVAL_MS;
    const aiLately = s.aiQuietMs < AI_OFF_MS && ui.speaking.dataset.who === 'ai';
    setSpeaking(session.aiPlaying ? 'ai' : user ? 'user' : aiLately ? 'ai' : 'none');
  }

  /**
   * The stream position the captions are revealed against; null (reveal at once) with no
   * player, or when the browser keeps the playback context from running (nothing plays).
   */
  function clockOf(session) {
    if (!session.player || (session.playbackCtx && session.playbackCtx.state !== 'running')) return null;
    return session.player.consumedMs();
  }

  /** The interviewer turn taking audio and words, opened at the current end of the queue. */
  function aiTurn(session) {
    if (!session.turn || session.turn.complete || session.turn.cut) {
      session.turn = {
        startMs: session.player ? session.player.queuedMs() : 0,
        queuedMs: 0,
        complete: false,
        cut: false,
        reported: false,
      };
    }
    return session.turn;
  }

  function send(session, bytes) {
    const ws = session.ws;
    if (bytes && ws && ws.readyState === WebSocket.OPEN) ws.send(bytes);
  }

  /** Sends PlaybackReport once per turn: what of its audio was played, and whether it was cut. */
  function reportPlayback(session, turn, playedMs, cut) {
    if (turn.reported || turn.queuedMs === 0) return;
    turn.reported = true;
    const played = Math.min(turn.queuedMs, Math.max(0, playedMs));
    ui.playback.dataset.reports = String(Number(ui.playback.dataset.reports || 0) + 1);
    ui.playback.dataset.lastReportMs = String(Math.round(played));
    send(session, playbackReportMessage(played, cut));
  }

  function onPlayerState(session, s, previous) {
    session.aiPlaying = s.playing;
    const turn = session.turn;
    const consumed = s.playedMs + s.droppedMs;
    if (turn) {
      if (s.flushes > previous.flushes) {
        // The barge-in flush: what played of the cut turn is where the stream stood before
        // the drop.
        const cut = session.cutTurn || turn;
        session.cutTurn = null;
        reportPlayback(session, cut, s.playedMs + previous.droppedMs - cut.startMs, true);
      } else if (!s.playing && s.bufferedMs === 0 && turn.complete && consumed >= turn.startMs + turn.queuedMs - 1) {
        reportPlayback(session, turn, turn.queuedMs, false);
      }
      ui.playback.dataset.turnPlayedMs = String(Math.max(0, Math.round(Math.min(consumed - turn.startMs, turn.queuedMs))));
      ui.playback.dataset.turnQueuedMs = String(Math.round(turn.queuedMs));
    }
    ui.playback.dataset.playing = String(s.playing);
    ui.playback.dataset.playedMs = String(s.playedMs);
    ui.playback.dataset.flushes = String(s.flushes);
    ui.playback.dataset.droppedMs = String(s.droppedMs);
    session.captions.tick();
    if (!s.playing && turn && turn.complete && !session.captions.hasPending()) {
      ui.status.textContent = 'Your turn: answer aloud or type below.';
    }
    updateSpeaking(session);
  }

  async function startPlayback(session) {
    const ctx = session.playbackCtx;
    if (!ctx || !ctx.audioWorklet) {
      setMessage(ui.error, 'This browser cannot play the interviewer’s audio here; captions are shown.');
      return;
    }
    try {
      await ctx.audioWorklet.addModule('/assets/pcm-worklet.js');
      const node = new AudioWorkletNode(ctx, 'pcm-playback', { numberOfInputs: 0, outputChannelCount: [1] });
      node.connect(ctx.destination);
      session.player = new Player(node, (s, previous) => onPlayerState(session, s, previous));
    } catch (e) {
      setMessage(ui.error, `Audio playback failed (${e.message}); captions are shown.`);
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
        if (session.started && !session.ended) send(session, audioChunkMessage(new Uint8Array(e.data)));
      };
      session.source.connect(node);
      session.capture = node;
      ui.micBox.hidden = false;
      setMessage(ui.micStatus, 'Microphone on: speak your answers, or type them below.');
    } catch (e) {
      setMessage(ui.micStatus, `Microphone capture failed (${e.message}). You can answer by typing.`);
    }
  }

  /** Mute: the microphone's track sends silence (the interview's audio timeline goes on). */
  function setMuted(session, muted) {
    session.muted = muted;
    if (session.stream) session.stream.getAudioTracks().forEach((t) => { t.enabled = !muted; });
    ui.mute.setAttribute('aria-pressed', String(muted));
    ui.mute.textContent = muted ? 'Unmute microphone' : 'Mute microphone';
    setMessage(ui.micStatus, muted ? 'Your microphone is muted: the interviewer hears silence.' : 'Microphone on: speak your answers, or type them below.');
  }

  ui.mute.addEventListener('click', () => {
    if (live && !live.ended) setMuted(live, !live.muted);
  });

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

  function onTranscript(session, u) {
    const speaker = u.speaker === 'USER' ? 'USER' : 'AI';
    if (speaker === 'USER') {
      if (u.isFinal) session.captions.userFinal(u.text);
      else session.captions.userFragment(u.text);
      return;
    }
    const turn = aiTurn(session);
    if (u.text && !u.isFinal) {
      // The fragment's audio position: the one it came with, else the end of the audio
      // queued when it arrived (fragments arrive with their audio).
      const offset = typeof u.audioOffsetMs === 'number' && (u.audioOffsetMs > 0 || turn.queuedMs > 0) ? u.audioOffsetMs : null;
      const at = session.player ? (offset !== null ? turn.startMs + offset : session.player.queuedMs()) : null;
      session.captions.aiFragment(u.text, at);
      ui.status.textContent = 'The interviewer is speaking…';
    }
    if (u.isFinal) session.captions.aiFinal(u.text, session.player ? turn.startMs : null);
    if (u.turnComplete) {
      turn.complete = true;
      session.countdown.start(session.answerLimitSecs);
      if (!session.player) ui.status.textContent = 'Your turn: answer aloud or type below.';
      else if (session.player) onPlayerState(session, session.player.state, session.player.state);
    }
  }

  function onServerMessage(session, data) {
    if (!(data instanceof ArrayBuffer)) return; // the protocol is binary only
    let msg;
    try {
      msg = decodeServer(new Uint8Array(data));
    } catch (e) {
      setMessage(ui.error, `Unreadable message from the server (${e.message}).`);
      return;
    }
    const v = msg.value;
    switch (msg.case) {
      case 'sessionStarted':
        if (Number(v.maxDurationMs) > 0) session.maxDurationMs = Number(v.maxDurationMs);
        if (session.started) break; // a reconnection: the clock keeps running
        session.started = true;
        session.startedAt = performance.now();
        ui.status.textContent = 'The interviewer is connected.';
        ui.answer.disabled = false;
        ui.send.disabled = false;
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
          const turn = aiTurn(session);
          turn.queuedMs += session.player.enqueue(v.audioContent);
          ui.playback.dataset.chunks = String(session.player.chunks);
        }
        break;
      case 'interrupted':
        if (session.player) session.player.flush();
        if (session.turn) {
          session.turn.cut = true;
          session.cutTurn = session.turn;
        }
        session.captions.aiCut();
        break;
      case 'errorResponse':
        setMessage(ui.error, `The interviewer reported a problem: ${v.message}`);
        break;
      case 'modelStatus':
        if (v.message) ui.status.textContent = v.message;
        break;
      case 'sessionEnded':
        endLive(session, endedText(v.reason));
        break;
      default:
        break; // a message kind this page does not know yet
    }
  }

  /**
   * A reconnection was accepted: the server replays the transcript so far. The captions are
   * drawn again from it (nothing shown twice, nothing missed while the connection was down);
   * the turns still under way stay open for the fragments that follow.
   */
  function onResumed(session, r) {
    const name = (s) => (s === Speaker.USER ? 'USER' : 'AI');
    if (session.player) session.player.flush();
    session.turn = null;
    // That flush cuts no turn of this connection: nothing to report for it.
    session.cutTurn = { startMs: 0, queuedMs: 0, reported: true };
    session.captions.replay(
      r.transcript.map((e) => ({ speaker: name(e.speaker), text: e.text })),
      r.openTurns.map((e) => ({ speaker: name(e.speaker), text: e.text })),
    );
    if (Number(r.maxDurationMs) > 0) session.maxDurationMs = Number(r.maxDurationMs);
    session.startedAt = performance.now() - Number(r.elapsedMs);
    if (!session.started) {
      session.started = true;
      ui.answer.disabled = false;
      ui.send.disabled = false;
      session.clockTimer = setInterval(() => tickClock(session), 1000);
    }
    tickClock(session);
    const last = r.transcript[r.transcript.length - 1];
    ui.status.textContent = r.openTurns.length === 0 && last && last.speaker === Speaker.AI
      ? 'Reconnected. Your turn: answer aloud or type below.'
      : 'Reconnected. The interview goes on.';
  }

  function tickClock(session) {
    const elapsed = performance.now() - session.startedAt;
    const parts = [`Elapsed ${formatDuration(elapsed)}`];
    if (session.maxDurationMs > 0) parts.push(`remaining ${formatDuration(session.maxDurationMs - elapsed)}`);
    ui.clock.textContent = parts.join(' · ');
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

  function onSocketClosed(session, e) {
    if (session.ended) return;
    if (!session.started) {
      // The worker refused or dropped the connection before the interview began.
      endLive(session, null);
      lobbyRefused(`The interview connection closed before it started (code ${e.code}${e.reason ? `: ${e.reason}` : ''}).`);
      app.go('#history');
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
      ui.status.textContent = 'The connection dropped; trying to reconnect.';
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
        ui.status.textContent = 'Reconnected.';
        return;
      }
    }
    setConnection('lost', 'Connection lost.');
    endLive(session, 'The connection to the interviewer was lost.');
  }

  /** Ends the live view; with `reason` set, moves on to the results. */
  function endLive(session, reason) {
    if (session.ended) return;
    session.ended = true;
    clearInterval(session.clockTimer);
    clearInterval(session.levelTimer);
    clearInterval(session.captionTimer);
    session.countdown.stop();
    window.removeEventListener('beforeunload', warnBeforeLeaving);
    setSpeaking('none');
    ui.level.value = 0;
    ui.answer.disabled = true;
    ui.send.disabled = true;
    ui.mute.disabled = true;
    const ws = session.ws;
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) {
      ws.close(1000, 'interview ended');
    }
    releaseAudio(session);
    if (live === session) live = null;
    app.nav.hidden = !app.user;
    if (reason !== null) {
      app.endedReason = reason;
      app.go(`#results/${session.interviewId}`);
    }
  }

  /** Opens the live view with the lobby's `state` (audio contexts, microphone) on `wsUrl`. */
  async function start(state, wsUrl) {
    const interview = state.interview;
    setMessage(ui.error, '');
    setMessage(ui.micStatus, '');
    setMessage(ui.offline, offlineNotice(app.user && app.user.interviewer));
    ui.clock.textContent = '';
    ui.status.textContent = 'Connecting to the interviewer…';
    setConnection('connecting', 'Connecting…');
    setSpeaking('none');
    ui.answer.value = '';
    ui.answer.disabled = true;
    ui.send.disabled = true;
    ui.end.disabled = false;
    ui.mute.disabled = false;
    ui.micBox.hidden = true;
    ui.level.value = 0;
    app.nav.hidden = true;
    for (const [k, v] of Object.entries({ chunks: 0, playedMs: 0, flushes: 0, droppedMs: 0, playing: false, reports: 0 })) {
      ui.playback.dataset[k] = String(v);
    }
    const session = {
      interviewId: interview.id,
      mode: state.mode,
      answerLimitSecs: answerLimitSecs(interview),
      countdown: createCountdown(document.getElementById('answer-countdown')),
      ws: null,
      captureCtx: state.captureCtx,
      playbackCtx: state.playbackCtx,
      stream: state.stream,
      source: state.source,
      analyser: state.analyser,
      capture: null,
      player: null,
      turn: null,
      cutTurn: null,
      aiPlaying: false,
      muted: false,
      started: false,
      ended: false,
      reconnects: 0,
      startedAt: 0,
      maxDurationMs: interview.duration_ms || 0,
      clockTimer: null,
      levelTimer: null,
      captionTimer: null,
      speech: { loudMs: 0, quietMs: USER_OFF_MS, aiQuietMs: AI_OFF_MS },
      captions: null,
    };
    session.captions = new Captions(ui.captions, ui.partial, () => clockOf(session));
    session.captions.reset();
    live = session;
    setMuted(session, false);
    setMessage(ui.micStatus, '');
    window.addEventListener('beforeunload', warnBeforeLeaving);
    app.show(ui.section);
    ui.heading.focus();
    await startPlayback(session);
    connect(session, wsUrl);
    if (session.mode === 'voice') await startCapture(session);
    else setMessage(ui.micStatus, 'Text mode: type your answers below.');
    session.levelTimer = setInterval(() => updateSpeaking(session), LEVEL_INTERVAL_MS);
    // Captions between the player's reports (every 100 ms while playing).
    session.captionTimer = setInterval(() => session.captions.tick(), 50);
  }

  ui.form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = ui.answer.value.trim();
    if (!text || !live || live.ended || !live.ws || live.ws.readyState !== WebSocket.OPEN) return;
    live.ws.send(textInputMessage(text));
    ui.answer.value = '';
    ui.answer.focus();
  });

  ui.end.addEventListener('click', () => {
    if (!live || live.ended) return;
    ui.end.disabled = true;
    ui.status.textContent = 'Ending the interview…';
    if (live.ws && live.ws.readyState === WebSocket.OPEN) live.ws.send(endRequestMessage());
    else endLive(live, 'The interview has ended.');
  });

  return { section: ui.section, start, isLive: () => live !== null && !live.ended };
}
