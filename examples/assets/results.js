// Results: waits for the interview to finish, then shows the feedback (summary,
// strengths, areas, scores, each question with its answer, metrics in human units), the
// transcript and the exports.

import { renderAssessment } from '/assets/plan.js';
import { api } from '/assets/api.js';
import { $, clear, el, fillList } from '/assets/dom.js';
import { STATUS_TEXT, formatDate, formatDuration, formatSpan, jobText, speakerLabel } from '/assets/format.js';
import { questionsOf, renderQuestions } from '/assets/questions.js';

/** Feedback polling interval, ms. */
const POLL_INTERVAL_MS = 1000;
/** Give up polling after this many tries (3 minutes at 1 s). */
const POLL_MAX_TRIES = 180;
/** What a metric that needs the candidate's words reads when nothing was transcribed. */
export const NO_TRANSCRIPTION = 'not available: no transcription';

/**
 * Feedback lines meant for whoever runs the server (naming an environment variable such
 * as SOME_API_KEY) are not shown to candidates; nor, when the interviewer is the offline
 * demo that transcribes nothing (`interviewer` from `user.getProfile`), lines blaming the
 * microphone for the missing words.
 */
export function forCandidates(items, interviewer) {
  const deaf = interviewer && interviewer.kind === 'offline_demo' && !interviewer.transcribes_candidate;
  return (items || [])
    .filter((t) => !/\b[A-Z][A-Z0-9]*_[A-Z0-9_]*(KEY|URL|TOKEN|SECRET|ID)\b/.test(String(t)))
    .filter((t) => !deaf || !/microphone/i.test(String(t)));
}

/** A range of ms in one unit: "1.0–3.0 s" or "1.0–2.0 min". */
function spanRange(low, high) {
  const biggest = Math.max(Math.abs(low || 0), Math.abs(high || 0));
  const conv = biggest >= 120000 ? (v) => `${(v / 60000).toFixed(1)}` : (v) => `${(v / 1000).toFixed(1)}`;
  const unit = biggest >= 120000 ? 'min' : 's';
  if (low != null && high != null) return `${conv(low)}–${conv(high)} ${unit}`;
  if (high != null) return `at most ${conv(high)} ${unit}`;
  return `at least ${conv(low)} ${unit}`;
}

/** A reference band for people, in the same unit as its value. */
export function bandText(band) {
  if (!band || (band.low == null && band.high == null)) return '';
  if (band.unit === 'ms') return spanRange(band.low, band.high);
  const isRatio = band.unit === 'ratio' || band.unit === 'share' || (band.high != null && band.high <= 1 && band.unit !== 'count');
  const f = isRatio ? (v) => `${Math.round(v * 100)}%` : (v) => String(v);
  const unit = isRatio ? '' : band.unit === 'wpm' ? ' words per minute' : band.unit ? ` ${band.unit}` : '';
  if (band.low != null && band.high != null) return `${f(band.low)}–${f(band.high)}${unit}`;
  if (band.high != null) return `at most ${f(band.high)}${unit}`;
  return `at least ${f(band.low)}${unit}`;
}

/** Whether any of the candidate's turns has words. */
function transcribed(entries, questions) {
  return entries.some((e) => e.speaker === 'USER' && e.text) || questions.some((q) => q.answer_transcribed);
}

/** The results screen. */
export function createResults(app) {
  const ui = {
    section: $('results'),
    heading: $('results-heading'),
    job: $('results-job'),
    status: $('results-status'),
    feedback: $('feedback'),
    source: $('feedback-source'),
    summary: $('summary'),
    strengths: $('strengths'),
    areas: $('areas'),
    scoresBlock: $('scores-block'),
    scores: $('scores'),
    questionsBlock: $('questions-block'),
    questions: $('questions'),
    droppedNotes: $('dropped-notes'),
    metricsBlock: $('metrics-block'),
    metrics: $('metrics'),
    jobTerms: $('job-terms'),
    transcript: $('transcript'),
    exportMd: $('export-md'),
    exportJson: $('export-json'),
    again: $('again'),
  };
  /** What the results page shows, for the exports. */
  let shown = null;
  /** Increments on each visit so an older poll stops. */
  let visits = 0;

  function setState(state, text) {
    ui.status.dataset.state = state;
    ui.status.textContent = text;
  }

  async function open(interviewId) {
    const visit = (visits += 1);
    const reason = app.endedReason ? `${app.endedReason} ` : '';
    app.endedReason = '';
    app.show(ui.section);
    ui.feedback.hidden = true;
    ui.exportMd.disabled = true;
    ui.exportJson.disabled = true;
    ui.job.textContent = '';
    shown = null;
    clear(ui.transcript);
    setState('polling', `${reason}Waiting for the interview to finish…`);
    ui.heading.focus();

    let interview = null;
    for (let i = 0; i < POLL_MAX_TRIES; i += 1) {
      if (visit !== visits) return;
      try {
        interview = await api('interview.getById', { interview_id: interviewId });
        ui.job.textContent = jobText(interview);
        if (interview.status === 'COMPLETED' || interview.status === 'ERROR') break;
        setState('polling', `${reason}Status: ${STATUS_TEXT[interview.status] || interview.status}. Preparing your feedback… (check ${i + 1})`);
      } catch (e) {
        if (e.status !== 0) {
          setState('error', `Could not read the interview: ${e.message}`);
          return;
        }
      }
      await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
    }
    if (visit !== visits) return;
    if (!interview || (interview.status !== 'COMPLETED' && interview.status !== 'ERROR')) {
      setState('timeout', 'Feedback is taking longer than expected. Reload the page later to see it.');
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
      setState('error', `Could not load the feedback: ${e.message}`);
      return;
    }
    if (visit !== visits) return;

    if (interview.status === 'ERROR') {
      const why = interview.error_message || interview.ended_reason || 'no reason was recorded';
      setState('ready', `${reason}The interview ended with an error: ${why}`);
    } else {
      setState('ready', `${reason}${feedback ? 'Your feedback is ready.' : 'The interview is complete; no feedback was written.'}`);
    }
    const questions = questionsOf(feedback, entries);
    renderFeedback(feedback, entries, questions);
    renderAssessment(document.getElementById('assessment'), reply);
    renderTranscript(entries);
    shown = { interview, feedback, entries, questions };
    ui.exportMd.disabled = false;
    ui.exportJson.disabled = false;
  }

  function renderFeedback(feedback, entries, questions) {
    clear(ui.questions);
    ui.questionsBlock.hidden = questions.length === 0;
    renderQuestions(ui.questions, questions);
    if (!feedback) {
      ui.feedback.hidden = questions.length === 0;
      for (const b of [ui.scoresBlock, ui.metricsBlock]) b.hidden = true;
      ui.source.textContent = 'No feedback was written';
      ui.summary.textContent = '';
      fillList(ui.strengths, []);
      fillList(ui.areas, []);
      return;
    }
    const sources = {
      deterministic: 'Automatic summary from your timing and words (no AI model)',
      simulator: 'Practice feedback from the offline demo (no AI model)',
    };
    ui.source.textContent = sources[feedback.source] || 'Written by the AI model';
    ui.summary.textContent = feedback.summary || '';
    fillList(ui.strengths, forCandidates(feedback.strengths, app.user && app.user.interviewer));
    fillList(ui.areas, forCandidates(feedback.areas_to_improve, app.user && app.user.interviewer));
    renderScores(feedback.scores);
    const dropped = feedback.dropped_notes || 0;
    ui.droppedNotes.hidden = dropped === 0;
    ui.droppedNotes.textContent = `${dropped} note(s) were left out because their quote is not in the transcript.`;
    const answered = entries.some((e) => e.speaker === 'USER');
    renderMetrics(feedback.metrics, transcribed(entries, questions), answered);
    ui.feedback.hidden = false;
  }

  function renderScores(scores) {
    clear(ui.scores);
    ui.scoresBlock.hidden = !scores;
    if (!scores) return;
    for (const [name, key] of [['Content', 'content'], ['Structure', 'structure'], ['Clarity', 'clarity']]) {
      const s = scores[key];
      if (s) ui.scores.append(el('li', '', `${name}: ${s.value} out of 5. ${s.reason || ''}`));
    }
  }

  /** The metrics in human units; one that needs words reads NO_TRANSCRIPTION without them. */
  function renderMetrics(m, hasWords, answered) {
    clear(ui.metrics);
    ui.metricsBlock.hidden = !m;
    if (!m) return;
    const bands = m.bands || {};
    const missing = answered ? NO_TRANSCRIPTION : 'not available: no answers';
    const words = (v, f = String) => (!hasWords ? missing : v == null ? 'not available' : f(v));
    const timed = (v, f) => (v == null ? 'not available: no audio' : f(v));
    const perMin = (v) => `${Math.round(v * 10) / 10} per minute`;
    const rows = [
      ['Words', words(m.words), ''],
      ['Speaking time', formatSpan(m.speaking_time_ms || 0), ''],
      ['Pace', words(m.words_per_minute, (v) => `${Math.round(v)} words per minute`), bandText(bands.words_per_minute)],
      ['Filler words', words(m.filler_words), ''],
      ['Filler words per minute', words(m.filler_words_per_minute, perMin), bandText(bands.filler_words_per_minute)],
      ['Pauses over 1 s', timed(m.pauses_over_1s, String), bandText(bands.pauses_over_1s)],
      ['Time to start answering (median)', m.response_latency_ms == null ? 'not available' : formatSpan(m.response_latency_ms), bandText(bands.response_latency_ms)],
      ['Your share of the talk time', m.talk_time_ratio == null ? 'not available' : `${Math.round(m.talk_time_ratio * 100)}%`, bandText(bands.talk_time_ratio)],
      ['Longest answer', formatSpan(m.longest_answer_ms || 0), bandText(bands.answer_speaking_time_ms)],
      ['Times you spoke over the interviewer', String(m.interruptions ?? 0), ''],
    ];
    const head = el('tr');
    for (const h of ['Measure', 'You', 'Usual range']) {
      const th = el('th', '', h);
      th.scope = 'col';
      head.append(th);
    }
    ui.metrics.append(head);
    for (const [name, value, band] of rows) {
      const tr = el('tr');
      const th = el('th', '', name);
      th.scope = 'row';
      tr.append(th, el('td', value === missing ? 'none' : '', value), el('td', '', band));
      ui.metrics.append(tr);
    }
    const terms = m.job_terms || { covered: [], missing: [] };
    const list = (v) => (v && v.length ? v.join(', ') : 'none');
    ui.jobTerms.textContent = hasWords
      ? `Job-description terms you mentioned: ${list(terms.covered)}. Not mentioned: ${list(terms.missing)}.`
      : 'Job-description terms: not available: no transcription of your answers.';
  }

  /**
   * The transcript, one block per entry. Consecutive turns of one speaker without words
   * (speech that was not transcribed) share one block, so they do not bury the text.
   */
  function renderTranscript(entries) {
    clear(ui.transcript);
    if (entries.length === 0) {
      ui.transcript.append(el('p', '', 'No transcript was kept.'));
      return;
    }
    let untranscribed = null;
    for (const e of entries) {
      if (!e.text && untranscribed && untranscribed.entry.speaker === e.speaker) {
        untranscribed.count += 1;
        untranscribed.text.textContent = `(spoken, not transcribed: ${untranscribed.count} turns)`;
        continue;
      }
      const row = el('div', `entry entry-${String(e.speaker).toLowerCase()}`);
      const head = el('p', 'entry-head');
      head.append(el('strong', '', speakerLabel(e.speaker)), el('span', 'when', ` at ${formatDuration(e.start_ms)}`));
      const text = el('p', 'entry-text');
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

  /** The results as Markdown: job, summary, strengths, areas, questions, metrics, transcript. */
  function toMarkdown({ interview, feedback, entries, questions }) {
    const lines = [`# Interview feedback`, '', `- Job: ${jobText(interview)}`, `- Date: ${formatDate(interview.created_at_ms)}`];
    lines.push(`- Interviewer: ${interview.persona}`, `- Status: ${STATUS_TEXT[interview.status] || interview.status}`);
    if (interview.started_at_ms && interview.ended_at_ms) {
      lines.push(`- Length: ${formatDuration(interview.ended_at_ms - interview.started_at_ms)}`);
    }
    lines.push('');
    if (feedback) {
      lines.push('## Summary', '', feedback.summary || '', '');
      for (const [title, items] of [
        ['Strengths', forCandidates(feedback.strengths, app.user && app.user.interviewer)],
        ['Areas to improve', forCandidates(feedback.areas_to_improve, app.user && app.user.interviewer)],
      ]) {
        lines.push(`## ${title}`, '');
        for (const item of items.length ? items : ['None noted.']) lines.push(`- ${item}`);
        lines.push('');
      }
    }
    if (questions.length) {
      lines.push('## Question by question', '');
      questions.forEach((q, i) => {
        lines.push(`${i + 1}. **${q.question}**`, `   - Your answer: ${q.answer_transcribed && q.answer ? q.answer : '(spoken, not transcribed)'}`);
        if (q.answer_duration_ms != null) lines.push(`   - Length: ${formatSpan(q.answer_duration_ms)}`);
        if (q.response_latency_ms != null) lines.push(`   - Started after: ${formatSpan(q.response_latency_ms)}`);
        if (q.note) lines.push(`   - Note: ${q.note}${q.quote ? ` (“${q.quote}”)` : ''}`);
      });
      lines.push('');
    }
    const m = feedback && feedback.metrics;
    if (m) {
      lines.push('## Delivery metrics', '');
      for (const tr of ui.metrics.querySelectorAll('tr')) {
        const cells = [...tr.children].map((c) => c.textContent);
        if (tr.querySelector('td')) lines.push(`- ${cells[0]}: ${cells[1]}${cells[2] ? ` (usual range ${cells[2]})` : ''}`);
      }
      lines.push('');
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
    const { interview, feedback, entries, questions } = shown;
    const out = {
      interview: {
        id: interview.id,
        status: interview.status,
        persona: interview.persona,
        job_title: interview.job_title || '',
        company: interview.company || '',
        duration_ms: interview.duration_ms,
        created_at_ms: interview.created_at_ms,
        started_at_ms: interview.started_at_ms,
        ended_at_ms: interview.ended_at_ms,
        ended_reason: interview.ended_reason,
        error_message: interview.error_message || null,
      },
      feedback,
      questions,
      transcript: entries,
    };
    download(`interview-${interview.id}.json`, 'application/json', `${JSON.stringify(out, null, 2)}\n`);
  });

  ui.again.addEventListener('click', () => app.go('#new'));

  return { section: ui.section, open };
}
