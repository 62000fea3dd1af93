// Pieces the provider's pages share: state badges, labels of enumerations,
// the non-identifying summary of an offer, and the answer to an offer
// (accept, or decline with a reason code and a note).
import { api } from '../../api.js';
import { h, replace } from '../../dom.js';
import { t } from '../../i18n.js';
import { countdown, errorBox, announce } from '../../ui.js';
import { enumLabel, joinList, langList } from '../../labels.js';

export { SERVICES, joinList, langName, langList } from '../../labels.js';

// The reason codes a provider may give (hv_decline_codes, proto/hv_msg.c).
export const DECLINE_CODES = ['no_capacity', 'not_suitable', 'language', 'region', 'minors',
  'other'];
export const OFFER_STATES = ['offered', 'accepted', 'declined', 'withdrawn', 'expired', 'erased'];
export const CASE_STATES = ['received', 'in_progress', 'on_hold', 'completed', 'failed'];

// A label for `value` of the enumeration `group` (provider.GROUP.VALUE).
export function label(group, value) { return enumLabel('provider', group, value); }

export function badge(state) {
  if (!state) return null;
  return h('span', { class: `badge state-${state}` }, label('state', state));
}

export function yesNo(b) { return t(b ? 'provider.common.yes' : 'provider.common.no'); }

export function shortId(id) { return String(id || '').slice(0, 8); }

// Text from the case or the network, isolated so that its own direction
// holds inside a page of the other (English notes on an Arabic page).
export function data(v) {
  return v === undefined || v === null || v === '' ? '–' : h('bdi', {}, String(v));
}

// A term list: [[label, value], ...]; a value may be a node or text.
export function terms(rows, cls) {
  return h('dl', { class: cls || 'pv-terms' }, rows.filter(Boolean).map(([k, v]) => [
    h('dt', {}, k), h('dd', {}, v instanceof Node ? v : data(v))]));
}

// The non-identifying summary an offer carries (hv_summary_json).
export function summaryTerms(s) {
  s = s || {};
  const needs = joinList((s.needs || []).map((n) =>
    `${label('service', n.category)} (${label('urgency', n.urgency)})`));
  return terms([
    [t('provider.summary.service'), label('service', s.service)],
    [t('provider.summary.urgency'), h('span', { class: `pv-urgency pv-urgency-${s.urgency}` },
      label('urgency', s.urgency))],
    [t('provider.summary.sex'), label('sex', s.sex)],
    [t('provider.summary.age_band'), label('age', s.age_band)],
    [t('provider.summary.minor'), yesNo(s.minor)],
    [t('provider.summary.languages'), langList(s.languages)],
    [t('provider.summary.interpreter'), yesNo(s.interpreter)],
    [t('provider.summary.region'), s.region || t('provider.summary.any_region')],
    needs && [t('provider.summary.needs'), needs],
  ]);
}

// "waiting to be sent" / "sent" for what the agency said (the worker's
// `outbox` member: the broker may be unreachable); nothing when the worker
// does not say. Lists show only what waits.
export function outboxNote(item, quiet) {
  if (item.outbox === 'waiting')
    return h('span', { class: 'badge pv-outbox-waiting' }, t('provider.outbox.waiting'));
  if (item.outbox === 'sent' && !quiet)
    return h('span', { class: 'badge pv-outbox-sent' }, t('provider.outbox.sent'));
  return null;
}

// The answer-by countdown of an open offer, or its time once answered.
export function deadline(item) {
  if (item.offer === 'offered' && item.respond_by) return countdown(item.respond_by);
  return null;
}

// Accept (with the agency's own reference, optional) or decline with a
// reason code and a note. Only supervisors answer offers (CONTROL.md);
// others see why there is nothing to press. `done(what)` runs afterwards.
export function offerActions(item, session, done) {
  if (item.offer !== 'offered') return null;
  if (session.role !== 'supervisor')
    return h('p', { class: 'muted' }, t('provider.offer.supervisor_answers'));
  const id = item.id;
  const err = h('div', {});
  const ref = h('input', { id: `ref-${id}`, type: 'text', maxlength: '64',
    autocomplete: 'off' });
  const reason = h('select', { id: `reason-${id}`, required: true },
    h('option', { value: '' }, t('provider.decline.choose')),
    DECLINE_CODES.map((c) => h('option', { value: c }, label('reason', c))));
  const note = h('textarea', { id: `note-${id}`, rows: '2', maxlength: '500' });
  const reasonErr = h('p', { id: `reason-err-${id}`, class: 'field-error', role: 'alert',
    hidden: true });
  let busy = false;
  async function run(path, body, what) {
    if (busy) return;
    busy = true;
    replace(err);
    try {
      await api('POST', `/inbox/${id}/${path}`, body);
      announce(t(what));
      done(path);
    } catch (e) {
      err.append(errorBox(e));
    } finally {
      busy = false;
    }
  }
  const form = h('form', { class: 'pv-decline', hidden: true, novalidate: true, onsubmit: (ev) => {
    ev.preventDefault();
    if (!reason.value) {
      reasonErr.textContent = t('provider.decline.reason_required');
      reasonErr.hidden = false;
      reason.setAttribute('aria-invalid', 'true');
      reason.focus();
      return;
    }
    const body = { reason_code: reason.value };
    if (note.value.trim()) body.note = note.value.trim();
    run('decline', body, 'provider.decline.done');
  } },
  h('div', { class: 'field' }, h('label', { for: reason.id }, t('provider.decline.reason')),
    reason, reasonErr),
  h('div', { class: 'field' }, h('label', { for: note.id }, t('provider.decline.note')),
    h('p', { class: 'field-hint', id: `note-hint-${id}` }, t('provider.decline.note_hint')),
    note),
  h('div', { class: 'pv-row' },
    h('button', { type: 'submit', class: 'btn btn-danger' }, t('provider.decline.confirm')),
    h('button', { type: 'button', class: 'btn btn-quiet', onclick: () => {
      form.hidden = true; toggle.setAttribute('aria-expanded', 'false'); toggle.focus();
    } }, t('provider.decline.cancel'))));
  reason.setAttribute('aria-describedby', reasonErr.id);
  note.setAttribute('aria-describedby', `note-hint-${id}`);
  const toggle = h('button', { type: 'button', class: 'btn', 'aria-expanded': 'false',
    'aria-controls': `decline-${id}`, onclick: () => {
      form.hidden = !form.hidden;
      toggle.setAttribute('aria-expanded', String(!form.hidden));
      if (!form.hidden) reason.focus();
    } }, t('provider.offer.decline'));
  form.id = `decline-${id}`;
  return h('div', { class: 'pv-actions' },
    h('div', { class: 'pv-row' },
      h('div', { class: 'field pv-inline' },
        h('label', { for: ref.id }, t('provider.offer.reference')), ref),
      h('button', { type: 'button', class: 'btn btn-primary', onclick: () => {
        const body = ref.value.trim() ? { reference: ref.value.trim() } : undefined;
        run('accept', body, 'provider.offer.accepted');
      } }, t('provider.offer.accept')),
      toggle),
    form, err);
}

// Calls `fn` (at most every 300 ms) on every event about the inbox; returns
// the unsubscribe function.
export function onInboxEvents(onEvent, fn, only) {
  let timer = null;
  const kick = (e) => {
    if (only && e.referral !== only) return;
    clearTimeout(timer);
    timer = setTimeout(fn, 300);
  };
  const offs = ['offer', 'status', 'due_soon'].map((k) => onEvent(k, kick));
  return () => { clearTimeout(timer); offs.forEach((o) => o()); };
}
