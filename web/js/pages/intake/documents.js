// The case's documents at the intake (attachment.list): name, title, type,
// size and how far each went to the provider ("waiting for the provider",
// "sending, 2 of 5 parts", "sent, 5 of 5 parts"). The intake keeps its copy
// whole; it sends the parts only after the case's transfer, a few at a
// time, so the section asks again every few seconds while parts remain to
// go to a provider holding the case, and on the referral page's events.
import { api } from '../../api.js';
import { h, replace } from '../../dom.js';
import { t, fmtSize } from '../../i18n.js';
import { errorBox } from '../../ui.js';

const TYPES = { 'application/pdf': 'PDF', 'image/jpeg': 'JPEG', 'image/png': 'PNG' };
// Where the intake sends a case's documents (services/intake s_send_documents).
const SENDING = new Set(['transferred', 'received', 'in_progress', 'on_hold']);

function progressOf(d, state) {
  const parts = { have: String(d.have), chunks: String(d.chunks) };
  if (d.have >= d.chunks)
    return h('span', { class: 'badge state-completed' }, t('intake.docs.sent', parts));
  if (d.have > 0 || SENDING.has(state))
    return h('span', { class: 'badge state-on_hold' }, t('intake.docs.sending', parts));
  return h('span', { class: 'badge' }, t('intake.docs.waiting'));
}

// A section that loads itself; reload(state) with the referral's state on
// each of the page's loads; stop() when the page goes.
export function documents(id) {
  let timer = null;
  const box = h('div', {});
  const section = h('section', { class: 'card in-docs', 'aria-labelledby': 'in-docs-h',
    hidden: true }, h('h2', { id: 'in-docs-h' }, t('intake.docs.title')), box);
  async function reload(state) {
    clearTimeout(timer);
    let r;
    try { r = await api('GET', `/referrals/${encodeURIComponent(id)}/attachments`); } catch (e) {
      section.hidden = false;
      replace(box, errorBox(e));
      return;
    }
    const items = r.items || [];
    section.hidden = items.length === 0;
    if (SENDING.has(state) && items.some((d) => d.have < d.chunks))
      timer = setTimeout(() => reload(state), 3000);
    replace(box, h('table', { class: 'table' },
      h('caption', { class: 'visually-hidden' }, t('intake.docs.title')),
      h('thead', {}, h('tr', {}, ['title', 'name', 'type', 'size', 'state'].map((c) =>
        h('th', { scope: 'col' }, t(`intake.docs.col_${c}`))))),
      h('tbody', {}, items.map((d) => h('tr', { 'data-n': String(d.n) },
        h('th', { scope: 'row' }, h('bdi', {}, d.title || '–')),
        h('td', {}, h('bdi', {}, d.name || '–')),
        h('td', {}, TYPES[d.type] || d.type || '–'),
        h('td', {}, fmtSize(d.size || 0)),
        h('td', {}, progressOf(d, state)))))));
  }
  return { section, reload, stop: () => clearTimeout(timer) };
}
