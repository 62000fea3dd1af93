// #/inbox: the open offers as cards (summary, answer-by countdown, accept
// or decline), then every offer and case in a table with filters and
// paging. New offers and state changes come in by the event stream.
import { api } from '../../api.js';
import { h, replace } from '../../dom.js';
import { t, fmtDateTime } from '../../i18n.js';
import { onEvent } from '../../events.js';
import { errorBox, pager, announce } from '../../ui.js';
import { badge, label, summaryTerms, offerActions, deadline, outboxNote, shortId,
  onInboxEvents, OFFER_STATES, CASE_STATES, SERVICES } from './parts.js';

const LIMIT = 25;

export async function render(main, params, ctx) {
  const filter = {
    state: OFFER_STATES.includes(params.state) || CASE_STATES.includes(params.state)
      ? params.state : '',
    service: SERVICES.includes(params.service) ? params.service : '',
    q: '',
    offset: Math.max(0, parseInt(params.offset, 10) || 0),
  };
  const offersBox = h('div', { class: 'pv-offers' });
  const tableBox = h('div', {});
  const count = h('p', { class: 'muted', id: 'pv-open-count' });

  const stateSel = h('select', { id: 'pv-f-state', onchange: () => {
    filter.state = stateSel.value; filter.offset = 0; loadTable();
  } },
  h('option', { value: '' }, t('provider.inbox.any_state')),
  h('optgroup', { label: t('provider.inbox.offer_states') },
    OFFER_STATES.map((s) => h('option', { value: s, selected: s === filter.state },
      label('state', s)))),
  h('optgroup', { label: t('provider.inbox.case_states') },
    CASE_STATES.map((s) => h('option', { value: s, selected: s === filter.state },
      label('state', s)))));
  const serviceSel = h('select', { id: 'pv-f-service', onchange: () => {
    filter.service = serviceSel.value; filter.offset = 0; loadTable();
  } },
  h('option', { value: '' }, t('provider.inbox.any_service')),
  SERVICES.map((s) => h('option', { value: s, selected: s === filter.service },
    label('service', s))));
  const q = h('input', { id: 'pv-f-q', type: 'search', maxlength: '64', autocomplete: 'off' });
  const toolbar = h('form', { class: 'toolbar', role: 'search',
    'aria-label': t('provider.inbox.filters'), onsubmit: (ev) => {
      ev.preventDefault(); filter.q = q.value.trim(); filter.offset = 0; loadTable();
    } },
  h('div', { class: 'field' }, h('label', { for: stateSel.id }, t('provider.inbox.state')),
    stateSel),
  h('div', { class: 'field' }, h('label', { for: serviceSel.id }, t('provider.inbox.service')),
    serviceSel),
  h('div', { class: 'field' }, h('label', { for: q.id }, t('provider.inbox.reference')), q),
  h('button', { type: 'submit', class: 'btn' }, t('provider.inbox.search')));

  main.append(
    h('h1', {}, t('provider.inbox.title')),
    h('section', { 'aria-labelledby': 'pv-open-h' },
      h('h2', { id: 'pv-open-h' }, t('provider.inbox.open_offers')), count, offersBox),
    h('section', { 'aria-labelledby': 'pv-all-h' },
      h('h2', { id: 'pv-all-h' }, t('provider.inbox.all')), toolbar, tableBox));

  let known = null; // ids of open offers already shown
  async function loadOffers() {
    let r;
    try {
      r = await api('GET', '/inbox?state=offered&limit=200');
    } catch (e) {
      replace(offersBox, errorBox(e));
      return;
    }
    const items = r.items || [];
    items.sort((a, b) => String(a.respond_by).localeCompare(String(b.respond_by)));
    if (known) {
      const fresh = items.filter((i) => !known.has(i.id)).length;
      if (fresh) announce(t('provider.inbox.new_offers', { n: fresh }));
    }
    known = new Set(items.map((i) => i.id));
    count.textContent = t('provider.inbox.open_count', { n: items.length });
    replace(offersBox, items.length ? items.map(offerCard)
      : h('p', { class: 'muted' }, t('provider.inbox.no_offers')));
  }

  function offerCard(it) {
    const s = it.summary || {};
    const hid = `pv-offer-${it.id}`;
    return h('article', { class: 'card pv-offer', 'aria-labelledby': hid },
      h('div', { class: 'pv-offer-head' },
        h('h3', { id: hid },
          h('a', { href: `#/inbox/${it.id}` },
            t('provider.inbox.offer_title', { service: label('service', s.service),
              id: shortId(it.id) }))),
        badge(it.offer), outboxNote(it, true)),
      h('p', { class: 'pv-deadline' }, deadline(it), ' ',
        h('span', { class: 'muted' }, t('provider.inbox.answer_by',
          { at: fmtDateTime(it.respond_by) }))),
      summaryTerms(s),
      offerActions(it, ctx.session, () => refresh()));
  }

  let poll = null; // while an answer waits in the outbox, the table looks again
  async function loadTable() {
    clearTimeout(poll);
    const p = new URLSearchParams();
    if (filter.state) p.set('state', filter.state);
    if (filter.service) p.set('service', filter.service);
    if (filter.q) p.set('q', filter.q);
    p.set('limit', String(LIMIT));
    p.set('offset', String(filter.offset));
    let r;
    try {
      r = await api('GET', `/inbox?${p}`);
    } catch (e) {
      replace(tableBox, errorBox(e));
      return;
    }
    const items = r.items || [];
    if (items.some((i) => i.outbox === 'waiting')) poll = setTimeout(loadTable, 5000);
    if (!items.length) {
      replace(tableBox, h('p', { class: 'muted' }, t('provider.inbox.nothing')));
      return;
    }
    const th = (k) => h('th', { scope: 'col' }, t(k));
    replace(tableBox,
      h('div', { class: 'pv-scroll' }, h('table', { class: 'table' },
        h('caption', { class: 'visually-hidden' }, t('provider.inbox.all')),
        h('thead', {}, h('tr', {}, th('provider.inbox.col_referral'),
          th('provider.inbox.col_service'), th('provider.inbox.col_urgency'),
          th('provider.inbox.col_offer'), th('provider.inbox.col_case'),
          th('provider.inbox.col_assigned'), th('provider.inbox.col_offered'),
          th('provider.inbox.col_answer_by'), th('provider.inbox.col_reference'))),
        h('tbody', {}, items.map((it) => h('tr', {},
          h('th', { scope: 'row' }, h('a', { href: `#/inbox/${it.id}`,
            'aria-label': t('provider.inbox.open_referral', { id: shortId(it.id) }) },
          shortId(it.id))),
          h('td', {}, label('service', it.summary && it.summary.service)),
          h('td', {}, label('urgency', it.summary && it.summary.urgency)),
          h('td', {}, badge(it.offer), ' ', outboxNote(it, true)),
          h('td', {}, it.case ? badge(it.case) : h('span', { class: 'muted' },
            t('provider.inbox.no_case'))),
          h('td', {}, it.assigned_to || h('span', { class: 'muted' },
            t('provider.inbox.nobody'))),
          h('td', {}, fmtDateTime(it.offered_at)),
          h('td', {}, it.offer === 'offered' ? deadline(it) : fmtDateTime(it.respond_by)),
          h('td', {}, it.reference || '–')))))),
      pager({ total: r.total || 0, limit: LIMIT, offset: filter.offset, onPage: (off) => {
        filter.offset = off; loadTable();
      } }));
  }

  function refresh() { return Promise.all([loadOffers(), loadTable()]); }
  await refresh();
  const off = onInboxEvents(onEvent, refresh);
  return () => { clearTimeout(poll); off(); };
}
