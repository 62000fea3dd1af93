// One Server-Sent Events stream (/api/v1/events) for the whole app: ids,
// kinds, states and times, never case content. The browser reconnects with
// Last-Event-ID by itself, so nothing is missed across a short outage.
const KINDS = ['offer', 'status', 'due_soon'];
let source = null;
let onEnd = () => {};
const listeners = new Map(); // kind or '*' -> Set of functions

function dispatch(kind, e) {
  let data;
  try { data = JSON.parse(e.data); } catch (err) { return; }
  for (const k of [kind, '*'])
    for (const fn of listeners.get(k) || []) fn(data);
}

export function start(endFn) {
  if (source) return;
  onEnd = endFn || onEnd;
  source = new EventSource('/api/v1/events', { withCredentials: true });
  for (const k of KINDS) source.addEventListener(k, (e) => dispatch(k, e));
  source.addEventListener('end', () => { stop(); onEnd(); });
}

export function stop() {
  if (source) source.close();
  source = null;
}

// Calls fn(event) for each event of `kind` ('*' for every kind); returns
// the function that stops it.
export function onEvent(kind, fn) {
  if (!listeners.has(kind)) listeners.set(kind, new Set());
  listeners.get(kind).add(fn);
  return () => listeners.get(kind).delete(fn);
}
