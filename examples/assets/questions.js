// The answer-by-answer view of an interview's results: each question with the candidate's
// answer, its length and response latency, and the model's note with its quote.

import { el } from '/assets/dom.js';
import { formatSpan } from '/assets/format.js';

/** Whether `quote` appears in `answer` (case and spacing ignored). */
function quoted(answer, quote) {
  const norm = (s) => String(s || '').toLowerCase().replace(/\s+/g, ' ').trim();
  return norm(quote).length > 0 && norm(answer).includes(norm(quote));
}

/**
 * The questions of an interview: `feedback.questions` when the server sends them, else
 * built from the transcript (each interviewer turn and the candidate's turns after it),
 * the metrics' per-answer timing and the feedback's per-question notes.
 * Each: `{question, answer, answer_transcribed, answer_duration_ms, response_latency_ms,
 * note, quote}` (durations in ms; null when unknown).
 */
export function questionsOf(feedback, entries) {
  if (feedback && Array.isArray(feedback.questions)) return feedback.questions;
  const answers = (feedback && feedback.metrics && feedback.metrics.answers) || [];
  const notes = (feedback && feedback.notes) || [];
  const out = [];
  let current = null;
  for (const e of entries) {
    if (e.speaker === 'AI') {
      current = {
        question: e.text || '',
        answer: '',
        answer_transcribed: false,
        answer_duration_ms: null,
        response_latency_ms: null,
        note: '',
        quote: '',
        question_end_ms: e.end_ms,
        answered: false,
      };
      out.push(current);
      continue;
    }
    if (!current) continue;
    const timing = answers.find((a) => a.sequence === e.sequence);
    if (!current.answered) {
      current.answered = true;
      current.answer_duration_ms = 0;
      current.response_latency_ms = timing && timing.response_latency_ms != null
        ? timing.response_latency_ms
        : e.start_ms >= current.question_end_ms ? e.start_ms - current.question_end_ms : null;
    }
    if (e.text) {
      current.answer = current.answer ? `${current.answer} ${e.text}` : e.text;
      current.answer_transcribed = true;
    }
    current.answer_duration_ms += timing ? timing.speaking_time_ms : Math.max(0, (e.end_ms || 0) - (e.start_ms || 0));
  }
  for (const n of notes) {
    const q = out.find((x) => x.question.trim() === String(n.question || '').trim())
      || out.find((x) => quoted(x.answer, n.quote));
    if (q) {
      q.note = n.note || '';
      q.quote = n.quote || '';
    }
  }
  // The questions the candidate had a turn after (the closing line is not a question).
  return out
    .filter((q) => q.answered)
    .map(({ question_end_ms: _end, answered: _answered, ...q }) => q);
}

/** Renders `questions` into the ordered list `ol`. */
export function renderQuestions(ol, questions) {
  for (const [i, q] of questions.entries()) {
    const li = el('li', 'question');
    li.append(el('p', 'q-text', q.question || '(the interviewer’s words were not transcribed)'));
    const answer = el('p', 'q-answer');
    answer.append(el('strong', '', 'Your answer: '));
    if (q.answer_transcribed && q.answer) answer.append(document.createTextNode(q.answer));
    else answer.append(el('span', 'none', 'spoken, not transcribed'));
    li.append(answer);
    const facts = [];
    // A typed answer has no speaking time.
    if (q.answer_duration_ms) facts.push(`answered for ${formatSpan(q.answer_duration_ms)}`);
    if (q.response_latency_ms != null) facts.push(`started ${formatSpan(q.response_latency_ms)} after the question`);
    if (facts.length) li.append(el('p', 'when', facts.join(', ')));
    if (q.note) {
      const note = el('div', 'q-note');
      note.append(el('p', '', q.note));
      if (q.quote) note.append(el('blockquote', '', q.quote));
      li.append(note);
    }
    li.dataset.index = String(i + 1);
    ol.append(li);
  }
}
