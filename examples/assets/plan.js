// The interview plan on the pages: the lobby's round type and difficulty choices, "what
// this interview will cover", the results' competency scores with their evidence and the
// STAR check of each behavioural answer, and the gentle per-answer countdown.
//
// API fields used (snake_case): createSession {round_type, difficulty,
// answer_time_limit_secs}; Interview.plan {round_type, difficulty, main_questions,
// length_minutes, answer_time_limit_secs, competencies: [{id, name, why, questions}]};
// getFeedback {competency_scores: [{competency_id, name, score, reason, quotes}],
// star_checks: [{question, star: {situation, task, action, result}, i_share_percent}],
// plan_coverage: [{competency_id, covered, terms_mentioned}], dropped_scores, needs_model}.

const el = (tag, text, cls) => {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
};

/** Round types for people. */
export const ROUND_TEXT = {
  behavioral: 'Behavioural',
  technical: 'Technical',
  system_design: 'System design',
  mixed: 'Mixed',
};

/** The plan fields of the setup form, for `interview.createSession`. */
export function planInput(form) {
  const v = (name) => (form.elements[name] ? form.elements[name].value : '');
  const out = { round_type: v('round_type') || 'mixed', difficulty: v('difficulty') || 'mid' };
  const limit = Number(v('answer_time_limit_secs'));
  if (limit > 0) out.answer_time_limit_secs = limit;
  return out;
}

/** Fills `box` with "what this interview will cover" for `plan` (hidden without one). */
export function renderPlan(box, plan) {
  box.replaceChildren();
  box.hidden = !plan;
  if (!plan) return;
  box.append(el('h3', 'What this interview will cover'));
  const limit = plan.answer_time_limit_secs
    ? ` About ${Math.round(plan.answer_time_limit_secs / 60 * 10) / 10} minute(s) per answer.`
    : '';
  box.append(
    el(
      'p',
      `${ROUND_TEXT[plan.round_type] || plan.round_type} round, ${plan.difficulty} level: ` +
        `${plan.main_questions} main question(s) in ${plan.length_minutes} minutes.${limit}`,
    ),
  );
  const ul = el('ul', undefined, 'plan-competencies');
  for (const c of plan.competencies || []) {
    const li = el('li');
    const n = c.questions ? `${c.questions} question(s)` : 'in follow-ups';
    li.append(el('strong', c.name), document.createTextNode(` (${n}). `), el('span', c.why, 'why'));
    ul.append(li);
  }
  box.append(ul);
  box.append(
    el(
      'p',
      'The interviewer will ask for a result, your own part and numbers when an answer lacks them, ' +
        'then move on after two follow-ups.',
    ),
  );
}

const STAR = [
  ['situation', 'S'],
  ['task', 'T'],
  ['action', 'A'],
  ['result', 'R'],
];

/** Fills `box` with the competency scores, evidence and STAR checks of a getFeedback reply. */
export function renderAssessment(box, reply) {
  box.replaceChildren();
  const plan = reply && reply.plan;
  box.hidden = !plan;
  if (!plan) return;
  box.append(el('h3', 'Competencies'));
  const scores = reply.competency_scores || [];
  const coverage = reply.plan_coverage || [];
  const ul = el('ul', undefined, 'competency-scores');
  for (const c of plan.competencies || []) {
    const li = el('li');
    const s = scores.find((x) => x.competency_id === c.id);
    if (s) {
      li.append(el('strong', `${c.name}: ${s.score}/4`), document.createTextNode(` ${s.reason}`));
      for (const q of s.quotes || []) li.append(el('blockquote', `“${q}”`));
    } else {
      const cov = coverage.find((x) => x.competency_id === c.id);
      const terms = cov && cov.terms_mentioned.length ? `mentioned ${cov.terms_mentioned.join(', ')}` : 'no key term mentioned';
      li.append(el('strong', c.name), document.createTextNode(`: not scored (${terms}).`));
    }
    ul.append(li);
  }
  box.append(ul);
  if (reply.dropped_scores) box.append(el('p', `${reply.dropped_scores} score(s) dropped: their quotes were not in the transcript.`));
  for (const n of reply.needs_model || []) box.append(el('p', n, 'note'));
  const stars = reply.star_checks || [];
  if (stars.length) {
    box.append(el('h3', 'STAR check of your behavioural answers'));
    const list = el('ul', undefined, 'star-checks');
    for (const a of stars) {
      const li = el('li');
      const letters = STAR.map(([k, l]) => (a.star[k] ? l : '–')).join(' ');
      const missing = STAR.filter(([k]) => !a.star[k]).map(([k]) => k);
      const share = a.i_share_percent === null || a.i_share_percent === undefined ? '' : `, ${a.i_share_percent}% “I”`;
      li.append(
        el('strong', letters, 'star'),
        document.createTextNode(` ${missing.length ? `missing ${missing.join(', ')}` : 'complete'}${share}. `),
        el('span', a.question, 'why'),
      );
      list.append(li);
    }
    box.append(list);
  }
}

/** The plan's soft limit per answer of `interview`, in seconds (0: none). */
export function answerLimitSecs(interview) {
  return (interview && interview.plan && interview.plan.answer_time_limit_secs) || 0;
}

/**
 * A gentle countdown of a soft limit per answer in `node`, owned by whoever made it (one
 * per live interview). `start(secs)` restarts it (0 hides it), `stop()` ends it. It only
 * informs: nothing is cut when it reaches zero.
 */
export function createCountdown(node) {
  let timer = null;
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = null;
  };
  return {
    start(secs) {
      stop();
      if (!node) return;
      node.hidden = !secs;
      if (!secs) return;
      const end = Date.now() + secs * 1000;
      const tick = () => {
        const left = Math.max(0, Math.round((end - Date.now()) / 1000));
        node.textContent = left > 0
          ? `About ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')} left for this answer.`
          : 'Time to wrap up this answer.';
        if (left === 0) stop();
      };
      tick();
      timer = setInterval(tick, 1000);
    },
    stop() {
      stop();
      if (node) node.hidden = true;
    },
  };
}
