// #/referrals: a caseworker's own referrals (created or assigned), or for a
// supervisor every referral of the organisation with who made it and who has
// it. Filters (state, service, country, own reference, dates, assignee) are
// kept in this module's memory only, never in the URL or the browser's
// storage; a change of state arrives by the event stream and refreshes.
import { api } from '../../api.js';
import { h, replace } from '../../dom.js';
import { t, fmtDateTime, fmtRelative, timeZone } from '../../i18n.js';
import { errorBox, stateBadge, pager, table } from '../../ui.js';
import { onEvent } from '../../events.js';
import { localToUtc } from '../../form/controls.js';
import { SERVICES } from '../../labels.js';

// The calendar day after YYYY-MM-DD.
function nextDay(d) {
  const [y, m, day] = d.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, day + 1)).toISOString().slice(0, 10);
}

export const STATES = ['awaiting_authorisation', 'requested', 'accepted', 'transferred',
  'received', 'in_progress', 'on_hold', 'completed', 'failed', 'no_match', 'expired',
  'cancel_requested', 'cancelled', 'withdraw_requested', 'withdrawn', 'erasure_requested',
  'legal_hold', 'transfer_failed'];
const LIMIT = 25;
const FILTERS = ['state', 'service', 'country', 'q', 'since', 'until', 'assigned_to'];
const filters = { state: '', service: '', country: '', q: '', since: '', until: '',
  assigned_to: '', offset: 0 };

function selectOf(id, value, options) {
  return h('select', { id }, h('option', { value: '' }, t('intake.list.any')),
    options.map(([v, l]) => h('option', { value: v, selected: v === value }, l)));
}
function fieldOf(id, label, control) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), control);
}

// "waiting to be sent" beside the state while the outbox holds it, and
// "overdue" once the deadline of its state has passed (its next step in
// the title: the worker's words, docs/REFERRAL.md "Deadlines").
export function stateCell(r) {
  return [stateBadge(r.state), r.outbox === 'waiting'
    ? [' ', h('span', { class: 'badge outbox-waiting' }, t('common.outbox.waiting'))] : null,
  r.overdue
    ? [' ', h('span', { class: 'badge overdue', title: r.overdue.what }, t('common.overdue'))]
    : null];
}

// Each cell names its column, for a narrow screen where the table stacks.
export function labelCells(tbl, columns) {
  for (const tr of tbl.querySelectorAll('tbody tr'))
    [...tr.children].forEach((cell, i) => cell.setAttribute('data-label', columns[i].label));
}

export async function render(main, params, ctx) {
  const sup = ctx.session.role === 'supervisor';
  // A link may name filters (#/referrals?state=requested); the pages never write them there.
  const given = FILTERS.filter((k) => typeof params[k] === 'string');
  if (given.length) {
    for (const k of FILTERS) filters[k] = given.includes(k) ? params[k] : '';
    filters.offset = 0;
  }
  main.append(h('h1', {}, t(sup ? 'intake.list.title_all' : 'intake.list.title')));
  main.append(h('p', {}, h('a', { class: 'btn btn-primary', href: '#/referrals/new' },
    t('intake.nav.new'))));
  const c = {
    state: selectOf('fl-state', filters.state, STATES.map((s) => [s, t(`common.state.${s}`)])),
    service: selectOf('fl-service', filters.service,
      SERVICES.map((s) => [s, t(`common.service.${s}`)])),
    country: h('input', { id: 'fl-country', type: 'text', size: 4, maxlength: 2, class: 'code',
      value: filters.country, autocomplete: 'off' }),
    q: h('input', { id: 'fl-q', type: 'search', maxlength: 64, value: filters.q,
      autocomplete: 'off' }),
    since: h('input', { id: 'fl-since', type: 'date', value: filters.since }),
    until: h('input', { id: 'fl-until', type: 'date', value: filters.until }),
    assigned_to: h('input', { id: 'fl-assigned', type: 'text', size: 14, maxlength: 64,
      value: filters.assigned_to, autocomplete: 'off' }),
  };
  const results = h('div', { class: 'results', 'aria-live': 'polite' });
  const apply = (ev) => {
    if (ev) ev.preventDefault();
    for (const k of Object.keys(c)) filters[k] = c[k].value.trim();
    filters.country = filters.country.toUpperCase();
    filters.offset = 0;
    load();
  };
  const clear = () => {
    for (const k of Object.keys(c)) { c[k].value = ''; filters[k] = ''; }
    filters.offset = 0;
    load();
  };
  main.append(h('form', { class: 'toolbar card', role: 'search', onsubmit: apply,
    'aria-label': t('intake.list.filters') },
  fieldOf('fl-state', t('intake.list.state'), c.state),
  fieldOf('fl-service', t('intake.list.service'), c.service),
  fieldOf('fl-country', t('intake.list.country'), c.country),
  fieldOf('fl-q', t('intake.list.q'), c.q),
  fieldOf('fl-since', t('intake.list.since'), c.since),
  fieldOf('fl-until', t('intake.list.until'), c.until),
  sup ? fieldOf('fl-assigned', t('intake.list.assigned_to'), c.assigned_to) : null,
  h('button', { type: 'submit', class: 'btn btn-primary' }, t('common.action.search')),
  h('button', { type: 'button', class: 'btn btn-quiet', onclick: clear }, t('intake.list.clear'))),
  results);

  let shown = new Set();
  async function load() {
    const q = new URLSearchParams();
    for (const k of FILTERS)
      if (filters[k] && (k !== 'assigned_to' || sup)) q.set(k, filters[k]);
    // A day is the person's day, from their midnight to the next.
    if (filters.since) q.set('since', localToUtc(`${filters.since}T00:00`, timeZone()));
    if (filters.until) q.set('until', localToUtc(`${nextDay(filters.until)}T00:00`, timeZone()));
    q.set('limit', LIMIT);
    q.set('offset', filters.offset);
    let data;
    try { data = await api('GET', `/referrals?${q}`); } catch (e) {
      replace(results, errorBox(e));
      return;
    }
    const rows = data.items || [];
    shown = new Set(rows.map((r) => r.id));
    const columns = [
      { label: t('intake.list.referral'), cell: (r) => h('a', { href: `#/referrals/${r.id}` },
        r.reference ? h('bdi', {}, r.reference)
          : t('intake.list.no_reference', { id: r.id.slice(0, 8) })) },
      { label: t('intake.list.state'), cell: stateCell },
      { label: t('intake.list.service'), cell: (r) => t(`common.service.${r.service}`) },
      { label: t('intake.list.country'), cell: (r) => r.country },
      { label: t('intake.list.respond_by'), cell: (r) => h('span', { title: fmtRelative(
        Date.parse(r.respond_by) - Date.now()) }, fmtDateTime(r.respond_by)) },
      { label: t('intake.list.changed'), cell: (r) => fmtDateTime(r.updated || r.created) },
    ];
    if (sup) columns.push(
      { label: t('intake.list.created_by'), cell: (r) => r.created_by || t('intake.list.host') },
      { label: t('intake.list.assigned_to'), cell: (r) => r.assigned_to || t('intake.list.nobody') });
    const tbl = table({ caption: t(sup ? 'intake.list.title_all' : 'intake.list.title'), columns,
      rows, empty: t('intake.list.empty') });
    labelCells(tbl, columns);
    replace(results,
      h('p', { class: 'muted' }, t('intake.list.count', { n: data.total || 0 })),
      tbl,
      (data.total || 0) > LIMIT ? pager({ total: data.total, limit: LIMIT, offset: filters.offset,
        onPage: (o) => { filters.offset = o; load(); } }) : null);
  }
  await load();
  // A new referral or a change of state: the list again, at most once a second.
  let timer = null;
  const off = onEvent('*', (e) => {
    if (!shown.has(e.referral) && e.kind !== 'status') return;
    clearTimeout(timer);
    timer = setTimeout(load, 1000);
  });
  return () => { off(); clearTimeout(timer); };
}
