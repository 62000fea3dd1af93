// haven-web's API (docs/API.md): JSON over HTTPS under /api/v1, as the
// signed-in person. Nothing is cached and nothing is kept in the browser's
// storage; the CSRF token lives in this module's memory only.
import { t } from './i18n.js';

let csrf = '';
// A call made within a moment of the person's own click or key is theirs;
// any other (a refresh on an event, a poll) is the page's, and is marked so
// that it does not keep an unattended session alive.
let lastInput = 0;
for (const ev of ['pointerdown', 'keydown', 'submit'])
  document.addEventListener(ev, () => { lastInput = Date.now(); }, true);
const INPUT_MS = 3000;
let onUnauthorised = () => {};
let onActivity = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.error = (body && body.error) || 'HV_EIO';
    this.code = body && body.code;
    this.errors = body && body.errors;
  }
}

export function setCsrf(token) { csrf = token || ''; }
export function setUnauthorised(fn) { onUnauthorised = fn; }
export function setActivity(fn) { onActivity = fn; }

async function send(method, path, body, type) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = type;
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf;
  const background = Date.now() - lastInput > INPUT_MS;
  if (background) headers['X-Haven-Background'] = '1';
  let r;
  try {
    r = await fetch(`/api/v1${path}`, { method, headers, body, credentials: 'same-origin',
      cache: 'no-store' });
  } catch (e) {
    // No answer at all: the message is already in the person's language.
    throw new ApiError(0, { error: 'network', message: t('common.error.network') });
  }
  let data = null;
  const text = await r.text();
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  if (r.status === 401 && path !== '/session') onUnauthorised(data);
  if (!r.ok) throw new ApiError(r.status, data);
  if (!background) onActivity();
  return data;
}

// `path` is under /api/v1 ('/referrals?state=offered'); `body` is sent as JSON.
export function api(method, path, body) {
  return send(method, path, body === undefined ? undefined : JSON.stringify(body),
    'application/json');
}

// Sends `text` as it is (a referral file for POST /referrals).
export function apiText(method, path, text) {
  return send(method, path, text, 'application/json');
}

// Sends a File's bytes as they are (a document for POST /uploads).
export function apiFile(method, path, file) {
  return send(method, path, file, 'application/octet-stream');
}
