// Formatting for people: durations, dates, speakers, statuses, units.

/** `m:ss` (or `h:mm:ss`) of a duration in ms. */
export function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** A date and time of an epoch time in ms, in the reader's locale. */
export function formatDate(ms) {
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A short date (no time) of an epoch time in ms. */
export function formatShortDate(ms) {
  return new Date(ms).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

/**
 * A span of time in ms for people: "0.8 s", "12 s", "2.5 min" (one unit per value, never
 * raw ms).
 */
export function formatSpan(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(Number(ms))) return '';
  const v = Number(ms);
  if (Math.abs(v) < 10000) return `${(v / 1000).toFixed(1)} s`;
  if (Math.abs(v) < 120000) return `${Math.round(v / 1000)} s`;
  return `${(v / 60000).toFixed(1)} min`;
}

/** "Interviewer" or "You" for a speaker of the JSON API. */
export function speakerLabel(speaker) {
  return speaker === 'AI' ? 'Interviewer' : speaker === 'USER' ? 'You' : speaker;
}

/** An interview status for people. */
export const STATUS_TEXT = {
  PENDING: 'Not started',
  IN_PROGRESS: 'In progress',
  COMPLETED: 'Completed',
  ERROR: 'Ended with an error',
};

/**
 * The job an interview is for: `job_title` (and `company`) when the server names them,
 * else the first line of the job description snapshot, shortened.
 */
export function jobOf(interview) {
  const title = (interview.job_title || '').trim();
  const company = (interview.company || '').trim();
  if (title) return { title, company };
  const first = String(interview.job_description_snapshot || '')
    .split('\n')
    .map((l) => l.replace(/^[#*\s-]+/, '').trim())
    .find((l) => l.length > 0);
  const short = first && first.length > 60 ? `${first.slice(0, 57)}…` : first;
  return { title: short || 'Untitled job', company };
}

/** "Backend engineer at Acme" or "Backend engineer". */
export function jobText(interview) {
  const { title, company } = jobOf(interview);
  return company ? `${title} at ${company}` : title;
}
