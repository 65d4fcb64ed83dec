// Library: the candidate's job descriptions and resumes (`jobDescription.*`, `resume.*`).

import { api } from '/assets/api.js';
import { $, button, clear, counter, el, fieldError, setMessage, utf8Length } from '/assets/dom.js';

/** Largest document file read, bytes. */
const MAX_FILE_BYTES = 4 * 1024 * 1024;
/** Longest library text the API takes: 64 KiB of UTF-8. */
export const MAX_TEXT_BYTES = 65536;

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

/** The library screen; `fetchKind(kind)` is shared with the new-interview pickers. */
export function createLibrary() {
  const section = $('library');
  const status = $('library-status');
  const kinds = {
    jobDescription: { noun: 'job description', prefix: 'jd', items: [], editing: null },
    resume: { noun: 'resume', prefix: 'resume', items: [], editing: null },
  };
  for (const lib of Object.values(kinds)) {
    lib.form = $(`${lib.prefix}-form`);
    lib.list = $(`${lib.prefix}-list`);
    lib.title = $(`${lib.prefix}-title`);
    lib.content = $(`${lib.prefix}-content`);
    lib.file = $(`${lib.prefix}-file`);
    lib.formHeading = $(`${lib.prefix}-form-heading`);
    lib.cancel = lib.form.querySelector('.cancel');
    lib.error = $(`${lib.prefix}-content-error`);
    lib.count = counter(lib.content, $(`${lib.prefix}-content-count`), MAX_TEXT_BYTES);
  }

  async function fetchKind(kind) {
    kinds[kind].items = (await api(`${kind}.list`)).items || [];
    return kinds[kind].items;
  }

  async function load() {
    try {
      await Promise.all(Object.keys(kinds).map(fetchKind));
      for (const kind of Object.keys(kinds)) renderList(kind);
    } catch (e) {
      status.textContent = `Could not load the library: ${e.message}`;
    }
  }

  function renderList(kind) {
    const lib = kinds[kind];
    clear(lib.list);
    if (lib.items.length === 0) {
      lib.list.append(el('li', 'none', `No ${lib.noun}s yet.`));
      return;
    }
    for (const doc of lib.items) {
      const li = document.createElement('li');
      const title = el('span', 'title', doc.title);
      title.append(el('span', 'hint', ` (${doc.content.length.toLocaleString('en')} characters)`));
      const actions = el('span', 'actions');
      actions.style.marginTop = '0';
      actions.append(
        button('Edit', 'secondary', () => edit(kind, doc), `Edit ${doc.title}`),
        button('Delete', 'danger', () => remove(kind, doc), `Delete ${doc.title}`),
      );
      li.append(title, actions);
      lib.list.append(li);
    }
  }

  function edit(kind, doc) {
    const lib = kinds[kind];
    lib.editing = doc.id;
    lib.title.value = doc.title;
    lib.content.value = doc.content;
    lib.count();
    lib.formHeading.textContent = `Edit “${doc.title}”`;
    lib.cancel.hidden = false;
    lib.title.focus();
  }

  function resetForm(kind) {
    const lib = kinds[kind];
    lib.editing = null;
    lib.form.reset();
    lib.count();
    fieldError(lib.content, lib.error, '');
    lib.formHeading.textContent = `Add a ${lib.noun}`;
    lib.cancel.hidden = true;
  }

  async function remove(kind, doc) {
    const lib = kinds[kind];
    if (!window.confirm(`Delete the ${lib.noun} “${doc.title}”?`)) return;
    try {
      await api(`${kind}.delete`, { id: doc.id });
      status.textContent = `Deleted “${doc.title}”.`;
      if (lib.editing === doc.id) resetForm(kind);
      await fetchKind(kind);
      renderList(kind);
    } catch (e) {
      status.textContent = `Could not delete: ${e.message}`;
    }
  }

  for (const [kind, lib] of Object.entries(kinds)) {
    lib.form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      fieldError(lib.content, lib.error, '');
      const input = { title: lib.title.value.trim(), content: lib.content.value };
      if (utf8Length(input.content) > MAX_TEXT_BYTES) {
        fieldError(lib.content, lib.error, `The text is too long: at most ${MAX_TEXT_BYTES.toLocaleString('en')} bytes (64 KiB).`);
        lib.content.focus();
        return;
      }
      if (lib.editing) input.id = lib.editing;
      try {
        await api(`${kind}.${lib.editing ? 'update' : 'create'}`, input);
        status.textContent = `Saved “${input.title}”.`;
        resetForm(kind);
        await fetchKind(kind);
        renderList(kind);
      } catch (e) {
        fieldError(lib.content, lib.error, `Could not save the ${lib.noun}: ${e.message}`);
      }
    });
    lib.cancel.addEventListener('click', () => resetForm(kind));
    lib.file.addEventListener('change', async () => {
      const file = lib.file.files && lib.file.files[0];
      if (!file) return;
      fieldError(lib.file, lib.error, '');
      status.textContent = `Reading ${file.name}…`;
      try {
        lib.content.value = await readDocumentFile(file);
        lib.count();
        if (!lib.title.value.trim()) lib.title.value = file.name.replace(/\.[^.]+$/, '');
        status.textContent = `Read ${file.name}: check the text, then save.`;
      } catch (e) {
        status.textContent = `Could not read ${file.name}.`;
        fieldError(lib.file, lib.error, `Could not read ${file.name}: ${e.message}`);
      }
    });
  }

  return { section, load, fetchKind, setStatus: (t) => setMessage(status, t) };
}
