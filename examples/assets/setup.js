// New interview: job description and resume (from the library or pasted), persona,
// length, answer mode; `interview.createSession` with an idempotency key.

import { api, uuid } from '/assets/api.js';
import { planInput } from '/assets/plan.js';
import { $, counter, fieldError, setMessage, utf8Length } from '/assets/dom.js';
import { MAX_TEXT_BYTES } from '/assets/library.js';

/** Answer mode chosen for an interview (voice or text), kept in this tab's session storage. */
export function modeOf(interviewId) {
  return sessionStorage.getItem(`preppal.mode.${interviewId}`) === 'text' ? 'text' : 'voice';
}

/** The new-interview screen; `library` gives the pickers their items. */
export function createSetup(app, library) {
  const ui = {
    section: $('setup'),
    form: $('setup-form'),
    jdPick: $('jd-pick'),
    jdBox: $('job-description-box'),
    jobDescription: $('job-description'),
    jdError: $('job-description-error'),
    resumePick: $('resume-pick'),
    resumeBox: $('resume-box'),
    resume: $('resume'),
    resumeError: $('resume-error'),
    persona: $('persona'),
    personaCustomBox: $('persona-custom-box'),
    personaCustom: $('persona-custom'),
    start: $('start'),
    error: $('setup-error'),
  };
  counter(ui.jobDescription, $('job-description-count'), MAX_TEXT_BYTES);
  counter(ui.resume, $('resume-count'), MAX_TEXT_BYTES);
  /** Idempotency key of the createSession attempt in flight (kept across network retries). */
  let pendingKey = null;

  function fillPicker(select, items) {
    const keep = select.value;
    while (select.options.length > 1) select.remove(1);
    for (const doc of items) select.add(new Option(doc.title, doc.id));
    if ([...select.options].some((o) => o.value === keep)) select.value = keep;
  }

  function syncBoxes() {
    ui.jdBox.hidden = ui.jdPick.value !== '';
    ui.resumeBox.hidden = ui.resumePick.value !== '';
    ui.personaCustomBox.hidden = ui.persona.value !== 'custom';
  }

  async function open() {
    app.show(ui.section);
    try {
      const [jds, resumes] = await Promise.all([library.fetchKind('jobDescription'), library.fetchKind('resume')]);
      fillPicker(ui.jdPick, jds);
      fillPicker(ui.resumePick, resumes);
    } catch (e) {
      setMessage(ui.error, `Could not load the library: ${e.message}`);
    }
    syncBoxes();
  }

  for (const s of [ui.jdPick, ui.resumePick, ui.persona]) s.addEventListener('change', syncBoxes);

  function check(field, errorEl, empty) {
    const v = field.value;
    if (!v.trim()) return empty;
    if (utf8Length(v) > MAX_TEXT_BYTES) return `Too long: at most ${MAX_TEXT_BYTES.toLocaleString('en')} bytes (64 KiB).`;
    fieldError(field, errorEl, '');
    return '';
  }

  ui.form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    setMessage(ui.error, '');
    fieldError(ui.jobDescription, ui.jdError, '');
    fieldError(ui.resume, ui.resumeError, '');
    const input = {
      persona: ui.persona.value === 'custom' ? ui.personaCustom.value.trim() : ui.persona.value,
      duration_minutes: Number(ui.form.elements.duration.value),
      ...planInput(ui.form),
    };
    if (ui.jdPick.value) input.job_description_id = ui.jdPick.value;
    else {
      const problem = check(ui.jobDescription, ui.jdError, 'Choose a job description or paste one.');
      if (problem) {
        fieldError(ui.jobDescription, ui.jdError, problem);
        ui.jobDescription.focus();
        return;
      }
      input.job_description = ui.jobDescription.value;
    }
    if (ui.resumePick.value) input.resume_id = ui.resumePick.value;
    else {
      const problem = check(ui.resume, ui.resumeError, 'Choose a resume or paste one.');
      if (problem) {
        fieldError(ui.resume, ui.resumeError, problem);
        ui.resume.focus();
        return;
      }
      input.resume = ui.resume.value;
    }
    ui.start.disabled = true;
    try {
      if (!pendingKey) pendingKey = uuid();
      const interview = await api('interview.createSession', { ...input, idempotency_key: pendingKey });
      pendingKey = null;
      sessionStorage.setItem(`preppal.mode.${interview.id}`, ui.form.elements.mode.value);
      app.go(`#lobby/${interview.id}`);
    } catch (e) {
      if (e.status !== 0) pendingKey = null; // only a network failure is retried as-is
      setMessage(ui.error, `Could not create the interview: ${e.message}`);
    } finally {
      ui.start.disabled = false;
    }
  });

  return { section: ui.section, open };
}
