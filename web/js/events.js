// One Server-Sent Events stream (/api/v1/events) for the whole app: ids,
// kinds, states and times, never case content. The browser reconnects with
// Last-Event-ID by itself after a dropped connection; a refused reconnect
// (the worker restarting: 503) closes the stream for good, so it is opened
// again here, after the last event seen, with a growing pause.
const KINDS = ['offer', 'status', 'due_soon', 'message', 'progress'];
let source = null;
let onEnd = () => {};
let lastSeq = 0;
let retryMs = 2000;
let retryTimer = null;
const listeners = new Map(); // kind or '*' -> Set of functions

function dispatch(kind, e) {
  let data;
  try { data = JSON.parse(e.data); } catch (err) { return; }
  if (Number.isInteger(data.seq) && data.seq > lastSeq) lastSeq = data.seq;
  retryMs = 2000;
  for (const k of [kind, '*'])
    for (const fn of listeners.get(k) || []) fn(data);
}

function open() {
  const after = lastSeq ? `?after=${lastSeq}` : '';
  source = new EventSource(`/api/v1/events${after}`, { withCredentials: true });
  for (const k of KINDS) source.addEventListener(k, (e) => dispatch(k, e));
  source.addEventListener('end', () => { stop(); onEnd(); });
  source.addEventListener('error', () => {
    if (!source || source.readyState !== EventSource.CLOSED) return;
    source = null;
    retryTimer = setTimeout(open, retryMs);
    retryMs = Math.min(retryMs * 2, 60000);
  });
}

export function start(endFn) {
  if (source || retryTimer) return;
  onEnd = endFn || onEnd;
  open();
}

export function stop() {
  clearTimeout(retryTimer);
  retryTimer = null;
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
