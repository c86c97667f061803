// Talking to the qbsync server, and the few DOM helpers every screen shares.
//
// Every request is JSON, same-origin, with the session cookie; writes carry the CSRF token from the
// session. A failed request throws an ApiError carrying the server's own message, which the screens
// show to the admin in an aria-live region (never silently).

let csrfToken = null;

/** An error answered by the server: `status` is the HTTP status, `code` and `message` its JSON error. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** Remembers the CSRF token of the session (from the session, login or setup answer). */
export function setCsrfToken(token) {
  csrfToken = token || null;
}

/**
 * Sends one request and returns the parsed JSON answer (null for 204).
 * `query` values that are empty, null or undefined are left out of the URL.
 */
export async function request(method, path, options = {}) {
  return (await send(method, path, options)).data;
}

/**
 * Like `request`, for a change: returns `{ data, event }`, `event` being the id of the audit event
 * the server recorded for it (null when it changed nothing), which `POST /api/v1/audit/undo` takes.
 */
export async function change(method, path, body) {
  const { data, res } = await send(method, path, { body: body ?? (method === 'POST' ? {} : undefined) });
  return { data, event: res.headers.get('X-Audit-Event') };
}

async function send(method, path, { body, query, signal } = {}) {
  const url = withQuery(path, query);
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal,
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'The server could not be reached. Check your connection and try again.');
  }
  if (res.status === 204) return { data: null, res };
  const data = await readJson(res);
  if (!res.ok) throw errorFrom(res, data);
  return { data, res };
}

export const get = (path, query, signal) => request('GET', path, { query, signal });
export const post = (path, body) => request('POST', path, { body: body ?? {} });
export const put = (path, body) => request('PUT', path, { body });
export const patch = (path, body) => request('PATCH', path, { body });
export const del = (path) => request('DELETE', path);

/** Checks the answer of a plain GET (e.g. a file download) and returns the error it carries, if any. */
export async function probe(path) {
  const res = await fetch(path, { credentials: 'same-origin' });
  if (res.ok) return null;
  return errorFrom(res, await readJson(res));
}

function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function readJson(res) {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function errorFrom(res, data) {
  const err = data && data.error;
  const message = (err && err.message) || `The server answered ${res.status} ${res.statusText}`.trim();
  return new ApiError(res.status, (err && err.code) || 'http_' + res.status, message);
}

// Set as properties rather than attributes (their attribute is only the initial value, or absent).
const PROPERTIES = new Set(['className', 'textContent', 'value', 'checked', 'disabled', 'type', 'hidden']);

/**
 * Builds an element: `el('p', {className: 'x', 'aria-label': 'y', onclick: fn}, 'text', child)`.
 * Strings become text nodes, so data is never parsed as HTML. Null and false children are skipped.
 */
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (PROPERTIES.has(key)) node[key] = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

/** An inline SVG icon from one or more path strings (24×24 view box, stroked). */
export function icon(paths, className = 'icon') {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', className);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  for (const d of [].concat(paths)) {
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}

export const ICONS = {
  plus: 'M12 5v14M5 12h14',
  close: 'M6 6l12 12M18 6L6 18',
  swap: ['M4 9h15', 'M15 5l4 4-4 4', 'M20 15H5', 'M9 11l-4 4 4 4'],
  search: ['M11 4a7 7 0 1 0 0 14 7 7 0 0 0 0-14z', 'M20 20l-4-4'],
  download: ['M12 4v11', 'M7 10l5 5 5-5', 'M5 20h14'],
  key: ['M4 16a4 4 0 1 0 8 0a4 4 0 1 0-8 0', 'M10.8 13.2L20 4', 'M16.5 7.5l2.5 2.5', 'M14 10l2 2'],
  trash: ['M5 7h14', 'M10 11v6M14 11v6', 'M7 7l1 13h8l1-13', 'M10 7V4h4v3'],
  edit: ['M4 20h4L19 9l-4-4L4 16v4z'],
  history: ['M12 7v5l3 2', 'M4 12a8 8 0 1 0 2.3-5.6', 'M4 4v4h4'],
  link: ['M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1', 'M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1'],
};

/**
 * Shows a message in a live region: `kind` is 'error' (role="alert") or 'ok' (role="status").
 * The region keeps the message until it is dismissed or replaced. `action` ({ label, run }) adds a
 * button (e.g. Undo) that runs it and dismisses the message.
 */
export function showMessage(region, kind, text, action) {
  region.replaceChildren();
  if (!text) {
    region.hidden = true;
    return;
  }
  region.hidden = false;
  region.className = `message message-${kind}`;
  region.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  const dismiss = el('button', { type: 'button', className: 'message-dismiss', 'aria-label': 'Dismiss message',
    onclick: () => showMessage(region, kind, '') }, icon(ICONS.close));
  const actionButton = action && el('button', { type: 'button', className: 'btn btn-small message-action',
    onclick: () => {
      showMessage(region, kind, '');
      action.run();
    } }, action.label);
  region.append(...[el('span', { className: 'message-text' }, text), actionButton, dismiss].filter(Boolean));
}

/** Formats an ISO time as "3 min ago" / "in 2 h" with the full local time as its title. */
export function timeAgo(iso) {
  if (!iso) return el('span', { className: 'muted' }, 'never');
  const when = new Date(iso);
  const seconds = Math.round((Date.now() - when.getTime()) / 1000);
  let text;
  if (Math.abs(seconds) < 45) text = 'just now';
  else if (Math.abs(seconds) < 3600) text = `${Math.round(seconds / 60)} min ago`;
  else if (Math.abs(seconds) < 86400) text = `${Math.round(seconds / 3600)} h ago`;
  else text = `${Math.round(seconds / 86400)} d ago`;
  return el('time', { datetime: when.toISOString(), title: when.toLocaleString() }, text);
}

/** "line1, line2, City, ST 12345" from a QuickBooks-shaped address, or '' when it is empty. */
export function formatAddress(address) {
  if (!address) return '';
  const lines = ['line1', 'line2', 'line3', 'line4', 'line5'].map((k) => address[k]).filter(Boolean);
  const region = [address.state, address.postal_code].filter(Boolean).join(' ');
  const place = [address.city, region].filter(Boolean).join(', ');
  return [...lines, place].filter(Boolean).join(', ');
}

/** True when an address has any part filled in. */
export function hasAddress(address) {
  return Boolean(address) && ['line1', 'line2', 'line3', 'line4', 'line5', 'city', 'state', 'postal_code', 'country']
    .some((k) => address[k]);
}
