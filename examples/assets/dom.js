// DOM utilities shared by the screens. Text from users and the model reaches the page through
// `textContent` only.

/** The element with `id`. */
export const $ = (id) => document.getElementById(id);

/** Sets `el`'s text and hides it when the text is empty. */
export function setMessage(el, text) {
  el.textContent = text;
  el.hidden = !text;
}

/** Removes every child of `el`. */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** A `<tag>` with `className` and `text` (both optional). */
export function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

/** A `type="button"` button calling `onClick`; `label` becomes its `aria-label`. */
export function button(text, className, onClick, label) {
  const b = el('button', className, text);
  b.type = 'button';
  if (label) b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

/** Fills `ul` with one `<li>` per item, or "None noted." when there are none. */
export function fillList(ul, items) {
  clear(ul);
  for (const item of items || []) ul.append(el('li', '', item));
  if (!ul.firstChild) ul.append(el('li', 'none', 'None noted.'));
}

/**
 * Shows an error next to the field that caused it: `field` gets `aria-invalid` and
 * `aria-describedby` pointing at `errorEl`; an empty `text` clears both.
 */
export function fieldError(field, errorEl, text) {
  setMessage(errorEl, text);
  if (!field) return;
  if (text) {
    field.setAttribute('aria-invalid', 'true');
    const ids = new Set((field.getAttribute('aria-describedby') || '').split(' ').filter(Boolean));
    ids.add(errorEl.id);
    field.setAttribute('aria-describedby', [...ids].join(' '));
  } else {
    field.removeAttribute('aria-invalid');
  }
}

/** The length of `text` in UTF-8 bytes (what the API's limits count). */
export function utf8Length(text) {
  return new TextEncoder().encode(text).length;
}

/**
 * A live size counter for a text field: "1,234 of 65,536 bytes" (UTF-8) in `counterEl`,
 * in the error colour (and `data-over`) past `max`.
 */
export function counter(field, counterEl, max) {
  const update = () => {
    const n = utf8Length(field.value);
    counterEl.textContent = `${n.toLocaleString('en')} of ${max.toLocaleString('en')} bytes`;
    counterEl.dataset.over = String(n > max);
  };
  field.addEventListener('input', update);
  update();
  return update;
}
