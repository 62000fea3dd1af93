// Small widgets every page uses: state badges, errors, dialogs, paging,
// countdowns, labelled fields and the live region.
import { h, replace } from './dom.js';
import { t, has, lang, fmtDuration, fmtDateTime } from './i18n.js';

export function stateBadge(state) {
  const key = `common.state.${state}`;
  return h('span', { class: `badge state-${state}` }, has(key) ? t(key) : state);
}

// An alert for an ApiError or Error; role=alert, so it is read out.
// haven-web's messages are English: on a French or Arabic page the error's
// meaning comes from the catalogue, and the message follows as its detail.
export function errorBox(err) {
  const msg = err && err.message ? err.message : String(err);
  const key = `common.error.${err && err.error}`;
  const local = lang() !== 'en' && err && err.error && has(key);
  return h('div', { class: 'alert alert-error', role: 'alert' },
    h('strong', {}, t('common.error.title')), ' ', local ? t(key) : msg,
    local ? h('div', { class: 'small muted' }, `${t('common.error.detail')}: `,
      h('span', { lang: 'en', dir: 'ltr' }, msg)) : null);
}

export function infoBox(text) {
  return h('div', { class: 'alert alert-info', role: 'status' }, text);
}

// Writes `text` to the live region, for screen readers.
export function announce(text) {
  const s = document.getElementById('status');
  if (s) { s.textContent = ''; setTimeout(() => { s.textContent = text; }, 20); }
}

let fieldSeq = 0;
export function nextId(prefix) { fieldSeq += 1; return `${prefix || 'f'}-${fieldSeq}`; }

// A labelled control: the label's for=, hint and error linked by
// aria-describedby, aria-invalid when there is an error.
export function field({ id, label, hint, control, error, required }) {
  const cid = id || control.id || nextId('field');
  control.id = cid;
  const described = [];
  const parts = [h('label', { for: cid }, label, required ? h('span', { class: 'req',
    'aria-hidden': 'true' }, ' *') : null)];
  if (hint) {
    parts.push(h('div', { class: 'field-hint', id: `${cid}-hint` }, hint));
    described.push(`${cid}-hint`);
  }
  parts.push(control);
  const err = h('div', { class: 'field-error', id: `${cid}-error`, hidden: !error }, error || '');
  parts.push(err);
  if (error) { described.push(`${cid}-error`); control.setAttribute('aria-invalid', 'true'); }
  if (required) control.setAttribute('aria-required', 'true');
  if (described.length) control.setAttribute('aria-describedby', described.join(' '));
  return h('div', { class: 'field' }, parts);
}

// Shows or clears the error of a control made by field().
export function setFieldError(control, message) {
  const err = document.getElementById(`${control.id}-error`);
  if (!err) return;
  const hint = document.getElementById(`${control.id}-hint`);
  err.textContent = message || '';
  err.hidden = !message;
  const ids = [hint ? hint.id : null, message ? err.id : null].filter(Boolean);
  if (ids.length) control.setAttribute('aria-describedby', ids.join(' '));
  else control.removeAttribute('aria-describedby');
  if (message) control.setAttribute('aria-invalid', 'true');
  else control.removeAttribute('aria-invalid');
}

// A modal dialog; resolves with null (cancelled) or the values of its
// inputs by name. `body` is a list of nodes (fields) to show.
export function confirmDialog({ title, text, body, confirm, danger }) {
  return new Promise((resolve) => {
    const form = h('form', { method: 'dialog', class: 'dialog-form' });
    const titleId = nextId('dlg');
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': titleId },
      h('h2', { id: titleId }, title), text ? h('p', {}, text) : null, form);
    const cancel = h('button', { type: 'button', class: 'btn btn-quiet',
      onclick: () => { dlg.close(); } }, t('common.action.cancel'));
    const ok = h('button', { type: 'submit', class: danger ? 'btn btn-danger' : 'btn btn-primary' },
      confirm || t('common.action.confirm'));
    replace(form, ...(body || []), h('div', { class: 'dialog-actions' }, cancel, ok));
    let result = null;
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!form.reportValidity()) return;
      result = Object.fromEntries(new FormData(form).entries());
      dlg.close();
    });
    dlg.addEventListener('close', () => { dlg.remove(); resolve(result); });
    document.body.append(dlg);
    dlg.showModal();
  });
}

// Previous/next and "21–40 of 130".
export function pager({ total, limit, offset, onPage }) {
  const from = total === 0 ? 0 : offset + 1, to = Math.min(offset + limit, total);
  return h('nav', { class: 'pager', 'aria-label': t('common.pager.label') },
    h('button', { type: 'button', class: 'btn btn-quiet', disabled: offset === 0,
      onclick: () => onPage(Math.max(0, offset - limit)) }, t('common.pager.previous')),
    h('span', { class: 'muted' }, t('common.pager.range', { from, to, total })),
    h('button', { type: 'button', class: 'btn btn-quiet', disabled: to >= total,
      onclick: () => onPage(offset + limit) }, t('common.pager.next')));
}

const ticking = new Set();
setInterval(() => { for (const f of ticking) f(); }, 1000);

// A live "answer within 3 h 20 min" for an answer-by time; .urgent under
// an hour, "time is up" once past. Stops when removed from the page.
export function countdown(at) {
  const end = new Date(at).getTime();
  const el = h('span', { class: 'countdown', title: fmtDateTime(at) });
  const tick = () => {
    if (!el.isConnected && el.dataset.started) { ticking.delete(tick); return; }
    el.dataset.started = '1';
    const left = end - Date.now();
    if (Number.isNaN(end)) el.textContent = '–';
    else if (left <= 0) el.textContent = t('common.countdown.over');
    else el.textContent = t('common.countdown.left', { d: fmtDuration(left) });
    el.classList.toggle('urgent', left < 3600 * 1000);
  };
  tick();
  ticking.add(tick);
  return el;
}

// Rows as a table with a caption; columns: [{key, label, cell(row) -> node|string, num}].
export function table({ caption, columns, rows, empty }) {
  if (!rows.length) return h('p', { class: 'muted empty' }, empty || t('common.list.empty'));
  return h('table', { class: 'table' },
    caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col',
      class: c.num ? 'num' : null }, c.label)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c, i) => h(i === 0 ? 'th' : 'td',
      { scope: i === 0 ? 'row' : null, class: c.num ? 'num' : null }, c.cell(r)))))));
}
