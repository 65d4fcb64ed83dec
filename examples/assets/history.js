// History: the candidate's interviews (newest first) and their progress, grouped by job
// and by answer mode (voice or text), each metric in human units with its direction and
// a small chart across interviews, and each competency of the interview plans with its
// rubric scores (1 to 4) across interviews and their trend.

import { api } from '/assets/api.js';
import { sparkline } from '/assets/chart.js';
import { $, button, clear, el } from '/assets/dom.js';
import { STATUS_TEXT, formatDate, formatDuration, formatShortDate, formatSpan, jobText } from '/assets/format.js';
import { NO_TRANSCRIPTION } from '/assets/results.js';
import { ROUND_TEXT } from '/assets/plan.js';
import { modeOf } from '/assets/setup.js';

/**
 * The measures followed across interviews: `better` 1 when higher is better, -1 when lower
 * is, 0 when the usual range decides; `words` when the measure needs transcribed words,
 * `voice` when it means something only for spoken answers (not shown for text interviews).
 */
const MEASURES = [
  { key: 'words_per_minute', name: 'Pace', better: 0, words: true, voice: true, band: 'words_per_minute', fmt: (v) => `${Math.round(v)} words per minute` },
  { key: 'filler_words_per_minute', name: 'Filler words', better: -1, words: true, voice: true, band: 'filler_words_per_minute', fmt: (v) => `${(Math.round(v * 10) / 10).toFixed(1)} per minute` },
  { key: 'response_latency_ms', name: 'Time to start answering', better: -1, band: 'response_latency_ms', fmt: formatSpan },
  { key: 'talk_time_ratio', name: 'Your share of the talk time', better: 0, voice: true, band: 'talk_time_ratio', fmt: (v) => `${Math.round(v * 100)}%` },
  { key: 'longest_answer_ms', name: 'Longest answer', better: 0, voice: true, band: 'answer_speaking_time_ms', fmt: formatSpan },
  { key: 'pauses_over_1s', name: 'Pauses over 1 s', better: -1, voice: true, band: 'pauses_over_1s', fmt: String },
  { key: 'interruptions', name: 'Times you spoke over the interviewer', better: -1, fmt: String },
  { key: 'scores.content', name: 'Content score', better: 1, fmt: (v) => `${v} out of 5` },
  { key: 'scores.structure', name: 'Structure score', better: 1, fmt: (v) => `${v} out of 5` },
  { key: 'scores.clarity', name: 'Clarity score', better: 1, fmt: (v) => `${v} out of 5` },
];

const TREND_TEXT = {
  improving: 'improving',
  declining: 'declining',
  steady: 'steady',
  unknown: 'one score so far',
};

const DIRECTION_TEXT = {
  better: 'better than your first',
  worse: 'worse than your first',
  within_band: 'within the usual range',
  outside_band: 'outside the usual range',
  same: 'no change',
  unknown: 'one interview so far',
};

/** A value of a server-side metric for people, by its unit. */
function formatByUnit(v, unit) {
  if (v === null || v === undefined) return 'not available';
  if (unit === 'ms') return formatSpan(v);
  if (unit === 'ratio' || unit === 'share') return `${Math.round(v * 100)}%`;
  if (unit === 'wpm') return `${Math.round(v)} words per minute`;
  const r = Math.round(v * 10) / 10;
  return unit ? `${r} ${unit}` : String(r);
}

/** Direction of `values` (oldest first) for a measure. */
function directionOf(measure, values, band) {
  const vs = values.filter((v) => v !== null && v !== undefined);
  if (vs.length === 0) return 'unknown';
  const last = vs[vs.length - 1];
  if (measure.better === 0) {
    if (band && (band.low != null || band.high != null)) {
      const inside = (band.low == null || last >= band.low) && (band.high == null || last <= band.high);
      return inside ? 'within_band' : 'outside_band';
    }
    return vs.length < 2 ? 'unknown' : 'same';
  }
  if (vs.length < 2) return 'unknown';
  const change = last - vs[0];
  if (change === 0) return 'same';
  return change * measure.better > 0 ? 'better' : 'worse';
}

/** The history screen. */
export function createHistory(app) {
  const ui = {
    section: $('history'),
    progress: $('progress'),
    groups: $('progress-groups'),
    rows: $('history-rows'),
    more: $('history-more'),
    status: $('history-status'),
  };
  /** `next_cursor` of the last page, and the interviews listed so far. */
  let cursor = null;
  let items = [];

  async function open(more = false) {
    app.show(ui.section);
    if (!more) {
      cursor = null;
      items = [];
      clear(ui.rows);
    }
    ui.status.textContent = 'Loading…';
    try {
      const page = await api('interview.getHistory', { limit: 20, cursor: more ? cursor : undefined });
      cursor = page.next_cursor || null;
      items = items.concat(page.items || []);
      for (const i of page.items || []) ui.rows.append(row(i));
      ui.more.hidden = !cursor;
      ui.status.textContent = items.length === 0 ? 'No interviews yet.' : '';
      renderSummary();
      if (!more) await loadProgress();
    } catch (e) {
      ui.status.textContent = `Could not load the history: ${e.message}`;
    }
  }

  function actualLength(i) {
    return i.started_at_ms && i.ended_at_ms ? i.ended_at_ms - i.started_at_ms : null;
  }

  function row(i) {
    const tr = document.createElement('tr');
    const cell = (label, text) => {
      const td = el('td', '', text);
      td.dataset.label = label;
      tr.append(td);
      return td;
    };
    const date = formatDate(i.created_at_ms);
    cell('Date', date);
    cell('Job', jobText(i));
    cell('Status', STATUS_TEXT[i.status] || i.status);
    const length = actualLength(i);
    const planned = Math.round(i.duration_ms / 60000);
    cell('Length', length !== null ? `${formatDuration(length)} of ${planned} min` : `${planned} min planned`);
    const actions = cell('Actions', '');
    const terminal = i.status === 'COMPLETED' || i.status === 'ERROR';
    actions.append(
      button(
        terminal ? 'Open' : 'Resume',
        'secondary',
        () => app.go(terminal ? `#results/${i.id}` : `#lobby/${i.id}`),
        `${terminal ? 'Open' : 'Resume'} the interview of ${date}`,
      ),
      document.createTextNode(' '),
      button('Delete', 'danger', () => remove(i, tr), `Delete the interview of ${date}`),
    );
    return tr;
  }

  async function remove(i, tr) {
    if (!window.confirm(`Delete the interview of ${formatDate(i.created_at_ms)} with its transcript and feedback?`)) return;
    try {
      await api('interview.delete', { interview_id: i.id });
      tr.remove();
      items = items.filter((x) => x.id !== i.id);
      ui.status.textContent = 'The interview was deleted.';
      renderSummary();
      await loadProgress();
    } catch (e) {
      ui.status.textContent = `Could not delete the interview: ${e.message}`;
    }
  }

  function renderSummary() {
    const completed = items.filter((i) => i.status === 'COMPLETED');
    const practised = items.reduce((sum, i) => sum + (actualLength(i) || 0), 0);
    ui.progress.textContent = items.length === 0
      ? 'Your interviews will be listed here.'
      : `${items.length} interview(s), ${completed.length} completed, ${formatDuration(practised)} of practice in total.`;
  }

  /**
   * Groups of progress: the server's `groups` when it sends them, else built here from
   * the points of `interview.getProgress`, the job of each interview and its mode (the one
   * chosen in this browser, else text when no audio was measured).
   */
  function groupsFrom(progress) {
    if (Array.isArray(progress.groups)) {
      const competencies = Array.isArray(progress.competencies) ? progress.competencies : [];
      return progress.groups.map((g) => ({
        competencies: competencies.filter((c) => c.job === g.job && c.mode === g.mode),
        title: `${g.job || 'Untitled job'} · ${g.mode === 'text' ? 'text' : 'voice'}`,
        mode: g.mode === 'text' ? 'text' : 'voice',
        count: (g.interviews || []).length,
        dates: (g.interviews || []).map((i) => (i && i.created_at_ms ? formatShortDate(i.created_at_ms) : '')),
        metrics: (g.metrics || []).map((m) => ({
          name: m.name.replaceAll('_', ' ').replace(/^./, (c) => c.toUpperCase()),
          values: m.values || [],
          fmt: (v) => formatByUnit(v, m.unit),
          direction: m.direction || 'unknown',
          band: null,
          words: false,
        })),
      }));
    }
    const byId = new Map(items.map((i) => [i.id, i]));
    const groups = new Map();
    for (const p of progress.points || []) {
      const i = byId.get(p.interview_id);
      const job = i ? jobText(i) : 'An earlier interview';
      const stored = sessionStorage.getItem(`preppal.mode.${p.interview_id}`);
      const mode = stored ? modeOf(p.interview_id) : p.metrics && p.metrics.pauses_over_1s === null ? 'text' : 'voice';
      const key = `${job}\u0000${mode}`;
      if (!groups.has(key)) groups.set(key, { title: `${job} · ${mode}`, mode, points: [] });
      groups.get(key).points.push(p);
    }
    const bands = progress.bands || {};
    return [...groups.values()].map((g) => ({
      title: g.title,
      mode: g.mode,
      count: g.points.length,
      dates: g.points.map((p) => formatShortDate(p.created_at_ms)),
      metrics: MEASURES.filter((m) => g.mode === 'voice' || !m.voice).map((m) => {
        const [group, key] = m.key.includes('.') ? m.key.split('.') : ['metrics', m.key];
        const values = g.points.map((p) => (p[group] && p[group][key] != null ? Number(p[group][key]) : null));
        const band = m.band ? bands[m.band] || null : null;
        return { name: m.name, values, fmt: m.fmt, direction: directionOf(m, values, band), band, words: m.words };
      }).filter((m) => m.values.some((v) => v !== null) || m.words),
    }));
  }

  function renderGroups(groups) {
    clear(ui.groups);
    for (const g of groups) {
      const box = el('section', 'progress-group');
      box.dataset.mode = g.mode;
      const h = el('h3', '', g.title);
      box.append(h, el('p', 'hint', `${g.count} completed interview(s)${g.dates.length ? `: ${g.dates.join(', ')}` : ''}`));
      const list = el('ul', 'metric-cards');
      for (const m of g.metrics) {
        const li = el('li', 'metric-card');
        const known = m.values.filter((v) => v !== null && v !== undefined);
        const last = known.length ? known[known.length - 1] : null;
        li.append(el('span', 'metric-name', m.name));
        if (last === null) {
          li.append(el('span', 'metric-value none', m.words ? NO_TRANSCRIPTION : 'not available'));
        } else {
          li.append(el('span', 'metric-value', `Latest: ${m.fmt(last)}`));
          const d = el('span', `direction direction-${m.direction}`, DIRECTION_TEXT[m.direction] || m.direction);
          d.dataset.direction = m.direction;
          li.append(d);
          const label = `${m.name} across interviews: ${m.values.map((v) => (v === null ? 'not available' : m.fmt(v))).join(', ')}`;
          li.append(sparkline(m.values, label, m.band));
        }
        list.append(li);
      }
      box.append(list);
      if (g.competencies && g.competencies.length) box.append(competencyBlock(g.competencies));
      ui.groups.append(box);
    }
  }

  /**
   * The "Competencies" block of a group: per competency (`interview.getProgress`'s
   * `competencies` of this job and mode), its name, round type, latest score out of 4,
   * trend and a chart of its scores on a fixed 1 to 4 scale.
   */
  function competencyBlock(competencies) {
    const block = el('div', 'competency-progress');
    block.append(el('h4', '', 'Competencies'));
    const list = el('ul', 'metric-cards');
    for (const c of competencies) {
      const li = el('li', 'metric-card competency-card');
      li.dataset.competency = c.competency_id;
      const scores = c.scores || [];
      const round = ROUND_TEXT[c.round_type] || c.round_type;
      li.append(el('span', 'metric-name', c.name || c.competency_id), el('span', 'hint', `${round} round`));
      if (c.latest === null || c.latest === undefined) {
        li.append(el('span', 'metric-value none', 'not scored yet'));
      } else {
        li.append(el('span', 'metric-value', `Latest: ${c.latest} out of 4`));
        const trend = c.trend || 'unknown';
        const t = el('span', `direction trend-${trend}`, TREND_TEXT[trend] || trend);
        t.dataset.trend = trend;
        li.append(t);
        const label = `${c.name} across interviews: ${scores.map((v) => (v === null ? 'not scored' : `${v} out of 4`)).join(', ')}`;
        li.append(sparkline(scores, label, null, { min: 1, max: 4 }));
      }
      list.append(li);
    }
    block.append(list);
    return block;
  }

  async function loadProgress() {
    clear(ui.groups);
    try {
      const progress = await api('interview.getProgress', { limit: 50 });
      const points = progress.points || [];
      if (!progress.bands && points.length > 0) {
        // The usual ranges, from the newest interview's feedback.
        try {
          const f = await api('interview.getFeedback', { interview_id: points[points.length - 1].interview_id });
          progress.bands = (f.feedback && f.feedback.metrics && f.feedback.metrics.bands) || {};
        } catch {
          progress.bands = {};
        }
      }
      renderGroups(groupsFrom(progress));
    } catch (e) {
      ui.status.textContent = `Could not load your progress: ${e.message}`;
    }
  }

  ui.more.addEventListener('click', () => open(true));

  return { section: ui.section, open };
}
