// The case's documents at the provider (attachment.list): name, title,
// type, size and whether each arrived whole ("incomplete, 2 of 5 parts"),
// and a download of a complete one. The download is haven-web's
// GET /api/v1/inbox/ID/attachments/N, sent as a file to save
// (Content-Disposition: attachment, nosniff, a CSP sandbox): never shown
// inside the workbench.
import { api } from '../../api.js';
import { h, replace } from '../../dom.js';
import { t } from '../../i18n.js';
import { errorBox } from '../../ui.js';
import { data } from './parts.js';

const TYPES = { 'application/pdf': 'PDF', 'image/jpeg': 'JPEG', 'image/png': 'PNG' };

function size(n) {
  if (n >= 1048576) return t('provider.docs.mib', { n: (n / 1048576).toLocaleString(undefined,
    { maximumFractionDigits: 1 }) });
  if (n >= 1024) return t('provider.docs.kib', { n: Math.ceil(n / 1024).toLocaleString() });
  return t('provider.docs.bytes', { n: n.toLocaleString() });
}

function stateOf(d) {
  if (d.state === 'complete') return h('span', { class: 'badge state-completed' }, t('provider.docs.complete'));
  if (d.state === 'refused') return h('span', { class: 'badge state-failed' }, t('provider.docs.refused'));
  return h('span', { class: 'badge state-on_hold' }, t('provider.docs.incomplete',
    { have: String(d.have), chunks: String(d.chunks) }));
}

// A section that loads itself, and again every few seconds while a
// document is still arriving; reload() for the page's events, stop() when
// the page goes.
export function documents(id) {
  let timer = null;
  const box = h('div', {});
  const section = h('section', { class: 'card pv-docs', 'aria-labelledby': 'pv-docs-h', hidden: true },
    h('h2', { id: 'pv-docs-h' }, t('provider.docs.title')), box);
  async function reload() {
    clearTimeout(timer);
    let r;
    try { r = await api('GET', `/inbox/${encodeURIComponent(id)}/attachments`); } catch (e) {
      section.hidden = false;
      replace(box, errorBox(e));
      return;
    }
    const items = r.items || [];
    section.hidden = items.length === 0;
    if (items.some((d) => d.state === 'incomplete')) timer = setTimeout(reload, 3000);
    replace(box, h('table', { class: 'table' },
      h('caption', { class: 'visually-hidden' }, t('provider.docs.title')),
      h('thead', {}, h('tr', {}, ['name', 'title', 'type', 'size', 'state', 'save'].map((c) =>
        h('th', { scope: 'col' }, t(`provider.docs.col_${c}`))))),
      h('tbody', {}, items.map((d) => h('tr', { 'data-n': String(d.n) },
        h('td', {}, data(d.name)),
        h('td', {}, d.title ? data(d.title) : '–'),
        h('td', {}, TYPES[d.type] || d.type || '–'),
        h('td', {}, size(d.size || 0)),
        h('td', {}, stateOf(d)),
        h('td', {}, d.state === 'complete'
          ? h('a', { class: 'btn', download: d.name || '',
            href: `/api/v1/inbox/${encodeURIComponent(id)}/attachments/${d.n}`,
            'aria-label': t('provider.docs.save_named', { name: d.name || '' }) },
          t('provider.docs.save'))
          : h('span', { class: 'muted' }, t('provider.docs.not_yet'))))))));
  }
  return { section, reload, stop: () => clearTimeout(timer) };
}
