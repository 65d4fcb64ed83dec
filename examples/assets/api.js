// The JSON API client: POST /api/{procedure} with the session cookie.

/** An API call failed; `status` is the HTTP status (0 when the network failed). */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/** POSTs `body` (JSON, or raw bytes with `contentType`) to `/api/{path}`; returns the reply. */
export async function api(path, body = {}, contentType = 'application/json') {
  let res;
  try {
    res = await fetch(`/api/${path}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': contentType },
      body: contentType === 'application/json' ? JSON.stringify(body) : body,
    });
  } catch (e) {
    throw new ApiError(0, `The server could not be reached (${e.message}).`);
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const message = data && data.error && data.error.message ? data.error.message : res.statusText;
    throw new ApiError(res.status, message || `HTTP ${res.status}`);
  }
  return data;
}

/** A v4 UUID; crypto.randomUUID exists only in secure contexts. */
export function uuid() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
