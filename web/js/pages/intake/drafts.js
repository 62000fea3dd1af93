// #/drafts: the referrals a caseworker has started and saved (a supervisor
// sees everyone's): resume one in the form, or delete it. Drafts are kept
// by the worker, sealed like a case; the list shows who is concerned by
// opening each draft (only names and the requested service).
import { api, ApiError } from '../../api.js';
import { h, replace } from '../../dom.js';
import { t, fmtDateTime, has } from '../../i18n.js';
import { errorBox, infoBox, confirmDialog, announce, table } from '../../ui.js';
import { labelCells } from './list.js';

function whoOf(d) {
  const r = (d && d.draft && d.draft.referral) || {};
  const names = ((r.subject && r.subject.names) || [])
    .map((n) => [n.given, n.family].filter(Boolean).join(' ')).filter(Boolean);
  return names.length ? names.join(', ') : t('intake.drafts.unnamed');
}
function serviceOf(d) {
  const s = d && d.draft && d.draft.referral && d.draft.referral.request
    && d.draft.referral.request.service;
  return s && has(`common.service.${s}`) ? t(`common.service.${s}`) : '–';
}

export async function render(main, params, ctx) {
  const sup = ctx.session.role === 'supervisor';
  main.append(h('h1', {}, t('intake.drafts.title')));
  const note = h('div', {});
  const results = h('div', {});
  main.append(h('p', { class: 'muted' }, t('intake.drafts.intro')), note, results);

  async function remove(d) {
    const ok = await confirmDialog({ title: t('intake.drafts.delete_title'),
      text: t('intake.drafts.delete_text', { who: whoOf(d) }), danger: true,
      confirm: t('intake.drafts.delete') });
    if (!ok) return;
    try {
      await api('DELETE', `/drafts/${d.id}`);
      replace(note, infoBox(t('intake.drafts.deleted')));
      announce(t('intake.drafts.deleted'));
    } catch (e) { replace(note, errorBox(e)); }
    await load();
  }

  async function load() {
    let list;
    try { list = await api('GET', '/drafts'); } catch (e) {
      if (e instanceof ApiError && e.status === 404)
        replace(results, infoBox(t('intake.drafts.unavailable')));
      else replace(results, errorBox(e));
      return;
    }
    const items = list.items || [];
    // The list holds no content; each draft is opened for its names.
    const full = await Promise.all(items.map((d) =>
      api('GET', `/drafts/${d.id}`).catch(() => d)));
    const columns = [
      { label: t('intake.drafts.person'), cell: (d) => h('a', { href: `#/referrals/new?draft=${d.id}`,
        dir: 'auto' }, whoOf(d)) },
      { label: t('intake.list.service'), cell: serviceOf },
      { label: t('intake.drafts.updated'), cell: (d) => fmtDateTime(d.updated) },
      { label: t('intake.drafts.created'), cell: (d) => fmtDateTime(d.created) },
    ];
    if (sup) columns.push({ label: t('intake.list.created_by'), cell: (d) => d.created_by });
    columns.push({ label: t('intake.drafts.actions'), cell: (d) => h('div', { class: 'row-actions' },
      h('a', { class: 'btn', href: `#/referrals/new?draft=${d.id}` }, t('intake.drafts.resume')),
      ' ',
      h('button', { type: 'button', class: 'btn btn-quiet', onclick: () => remove(d),
        'aria-label': t('intake.drafts.delete_label', { who: whoOf(d) }) },
      t('intake.drafts.delete'))) });
    const tbl = table({ caption: t('intake.drafts.title'), columns, rows: full,
      empty: t('intake.drafts.empty') });
    labelCells(tbl, columns);
    replace(results, tbl);
  }
  await load();
}
