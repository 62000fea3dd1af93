// The case's messages between the intake and the provider that holds the
// case (docs/CONTROL.md "Case messages"), on both sides' pages: the thread
// (who, when, the text, "delivered …, read …" or "not delivered: why"), a
// form to write one (the limit is the worker's: 8,000 bytes, refused over
// it with its message, never cut here) and the other side's messages
// marked read once shown. `base` is the API path of the referral or inbox
// entry ('/referrals/ID', '/inbox/ID'); `side` is this node's ('intake' or
// 'provider'). Returns the section and reload(), for the page's events.
import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { t, fmtDateTime } from '../i18n.js';
import { errorBox, announce } from '../ui.js';

export const MESSAGE_MAX = 8000;
const utf8 = new TextEncoder();

function marks(m, mine) {
  if (!mine) return null;
  if (m.failed)
    return h('p', { class: 'thread-marks thread-failed', role: 'note' },
      t('common.thread.failed', { reason: m.failed }));
  const parts = [];
  if (m.delivered_at) parts.push(t('common.thread.delivered', { at: fmtDateTime(m.delivered_at) }));
  if (m.read_at) parts.push(t('common.thread.read', { at: fmtDateTime(m.read_at) }));
  return h('p', { class: 'thread-marks muted' },
    parts.length ? parts.join(t('common.thread.sep')) : t('common.thread.sending'));
}

// "ngo.xa/cw-1" -> "cw-1 (ngo.xa)"; a node id as it is.
function who(by) {
  const i = (by || '').indexOf('/');
  return h('bdi', {}, i > 0 ? t('common.thread.by_person', { staff: by.slice(i + 1),
    node: by.slice(0, i) }) : (by || '–'));
}

export function thread(base, side) {
  const list = h('div', { class: 'thread-list', 'aria-live': 'polite' });
  const err = h('div', {});
  const text = h('textarea', { id: 'msg-text', name: 'text', rows: '4', required: true,
    'aria-describedby': 'msg-hint msg-count' });
  const count = h('p', { id: 'msg-count', class: 'field-hint' });
  const counted = () => {
    const n = utf8.encode(text.value).length;
    count.textContent = t('common.thread.count', { n: n.toLocaleString(),
      max: MESSAGE_MAX.toLocaleString() });
    count.classList.toggle('field-error', n > MESSAGE_MAX);
  };
  text.addEventListener('input', counted);
  counted();
  let busy = false;
  const form = h('form', { class: 'thread-form', novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    if (busy || !text.value.trim()) { text.focus(); return; }
    busy = true;
    replace(err);
    try {
      // The text as written: the worker refuses one over the limit.
      await api('POST', `${base}/messages`, { text: text.value });
      text.value = '';
      counted();
      announce(t('common.thread.sent'));
      await reload();
    } catch (e) {
      err.append(errorBox(e));
    }
    busy = false;
  } },
  h('div', { class: 'field' }, h('label', { for: 'msg-text' }, t('common.thread.write')),
    h('p', { id: 'msg-hint', class: 'field-hint' }, t('common.thread.hint',
      { max: MESSAGE_MAX.toLocaleString() })), text, count),
  h('button', { type: 'submit', class: 'btn btn-primary' }, t('common.thread.send')));

  async function reload() {
    let r;
    try { r = await api('GET', `${base}/messages`); } catch (e) {
      replace(list, errorBox(e));
      return;
    }
    const items = r.items || [];
    replace(list, items.length ? h('ol', { class: 'thread' }, items.map((m) => {
      const mine = m.from === side;
      return h('li', { class: `thread-msg ${mine ? 'thread-mine' : 'thread-theirs'}`,
        'data-n': String(m.n), 'data-from': m.from },
      h('div', { class: 'thread-head' }, who(m.by), ' ',
        h('time', { class: 'muted', datetime: m.at }, fmtDateTime(m.at))),
      h('p', { class: 'thread-text', dir: 'auto' }, m.text),
      marks(m, mine));
    })) : h('p', { class: 'muted' }, t('common.thread.none')));
    // Shown now: the other side's are read up to the last one here.
    const unread = items.filter((m) => m.from !== side && !m.read_at);
    if (unread.length) {
      const n = Math.max(...items.filter((m) => m.from !== side).map((m) => m.n));
      try { await api('POST', `${base}/messages/read`, { n }); } catch (e) { /* shown next time */ }
    }
  }

  const section = h('section', { class: 'card thread-card', 'aria-labelledby': 'msg-h' },
    h('h2', { id: 'msg-h' }, t('common.thread.title')), list, form, err);
  return { section, reload };
}
