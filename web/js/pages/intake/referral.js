// #/referrals/:id: one referral as its caseworker follows it: the facts, a
// timeline of every step with who and when (sent, matched, transferred,
// received, status notes, outcome, no match with each provider's reason),
// live while the page is open; the case's documents and how far each went;
// withdraw with a reason; for a supervisor,
// reassign and authorise a consent override. The file itself is shown
// readably (form/view.js), never as JSON.
import { api } from '../../api.js';
import { h, replace } from '../../dom.js';
import { t, has, fmtDateTime, fmtRelative } from '../../i18n.js';
import { errorBox, infoBox, stateBadge, confirmDialog, announce } from '../../ui.js';
import { onEvent } from '../../events.js';
import { model } from '../../form/schema.js';
import { viewReferral } from '../../form/view.js';
import { stateCell } from './list.js';
import { thread } from '../thread.js';
import { documents } from './documents.js';

// Why a referral is withdrawn, as a router is told it (hv_cancel_codes,
// proto/hv_msg.c; match_refused is the intake's own).
const CANCEL_CODES = ['consent_withdrawn', 'no_longer_needed', 'placed_elsewhere', 'duplicate',
  'entered_in_error', 'other'];

// Over: nothing more will happen. Withdrawn already asked: not again.
const OVER = new Set(['completed', 'failed', 'no_match', 'expired', 'cancelled', 'withdrawn']);
// Where the case is with the provider, so that the two write to each
// other (docs/CONTROL.md "Case messages").
const MESSAGING = new Set(['transferred', 'received', 'in_progress', 'on_hold', 'completed',
  'failed']);
const ENDED = new Set([...OVER, 'cancel_requested', 'withdraw_requested', 'erasure_requested',
  'legal_hold']);

// The worker's own words for a step (services/intake), in the person's
// language; anything else (a provider's note, a reason) is shown as written.
const DETAILS = [
  [/^summary sent to the router$/, 'intake.history.sent'],
  [/^consent override: nothing is sent until a supervisor authorises it$/, 'intake.history.held'],
  [/^consent override authorised at submission; summary sent to the router$/,
    'intake.history.sent_override'],
  [/^consent override authorised; summary sent to the router$/, 'intake.history.authorised'],
  [/^matched with (\S+)$/, 'intake.history.matched', (m) => ({ node: m[1] })],
  [/^case sent end to end to the provider$/, 'intake.history.transferred'],
  [/^signed receipt for the case$/, 'intake.history.received'],
  [/^the provider confirmed erasing the case$/, 'intake.history.erased'],
  [/^assigned to (\S+)$/, 'intake.history.assigned', (m) => ({ staff: m[1] })],
  [/^no answer from the router by the deadline$/, 'intake.history.no_answer'],
  [/^not authorised by the deadline$/, 'intake.history.not_authorised'],
];

function detailOf(row) {
  const d = row.detail || '';
  if (!d) return null;
  for (const [re, key, vars] of DETAILS) {
    const m = re.exec(d);
    if (m) return h('div', {}, t(key, vars ? vars(m) : undefined));
  }
  if (row.state === 'no_match' && d.includes(': ')) {
    return h('div', {}, t('intake.history.no_match'),
      h('ul', { class: 'reasons' }, d.split('; ').map((x) => h('li', { dir: 'auto' }, x))));
  }
  return h('div', { class: 'timeline-note' }, h('span', { class: 'muted' },
    t('intake.history.note')), ' ', h('q', { dir: 'auto' }, d));
}

// "ngo.xa/caseworker-2" -> "caseworker-2 (ngo.xa)"; a node id as it is.
function byOf(by) {
  const i = (by || '').indexOf('/');
  return h('bdi', {}, i > 0
    ? t('intake.history.by_person', { staff: by.slice(i + 1), node: by.slice(0, i) })
    : t('intake.history.by_node', { node: by || '–' }));
}

function timeline(history) {
  return h('ol', { class: 'timeline' }, history.map((row) => h('li', {},
    h('div', { class: 'timeline-at' }, h('time', { datetime: row.at }, fmtDateTime(row.at))),
    h('div', { class: 'timeline-what' }, stateBadge(row.state)),
    detailOf(row),
    h('div', { class: 'timeline-by' }, byOf(row.by)))));
}

// What the router reported of each offer (referral.show's progress,
// docs/CONTROL.md "Progress"): to whom, the answer's deadline, a decline's
// or withdrawal's code in words with the code itself.
function codeOf(code) {
  if (!code) return '';
  for (const k of [`intake.progress.code.${code}`, `intake.cancel.${code}`])
    if (has(k)) return t('intake.progress.coded', { what: t(k), code });
  return code;
}

function progressLine(p) {
  const node = p.provider || '–';
  switch (p.event) {
    case 'offered':
      return p.respond_by ? t('intake.progress.offered_by', { node, at: fmtDateTime(p.respond_by) })
        : t('intake.progress.offered', { node });
    case 'declined':
      return p.code ? t('intake.progress.declined_code', { node, code: codeOf(p.code) })
        : t('intake.progress.declined', { node });
    case 'not_answered': return t('intake.progress.not_answered', { node });
    case 'withdrawn_offer':
      return p.code ? t('intake.progress.withdrawn_code', { node, code: codeOf(p.code) })
        : t('intake.progress.withdrawn', { node });
    default: return `${p.event} (${node})`;
  }
}

function progressList(progress) {
  return h('ol', { class: 'offers' }, progress.map((p) => h('li', {
    class: `progress-${p.event}` },
  h('div', { class: 'timeline-at' }, h('time', { datetime: p.at }, fmtDateTime(p.at))),
  h('div', { class: 'timeline-what' }, h('bdi', {}, progressLine(p))))));
}

// What a supervisor decides on: the override's reason and legal basis.
function overrideOf(file) {
  const c = file && file.consent;
  if (!c || !c.override) return null;
  const basis = `form.enum.consent.legal_basis.${c.legal_basis}`;
  return h('dl', { class: 'facts override' },
    fact(t('form.field.consent.override.reason'), c.override.reason || '–'),
    fact(t('form.field.consent.legal_basis'), has(basis) ? t(basis) : String(c.legal_basis)),
    fact(t('form.field.consent.override.authorised_by'), c.override.authorised_by || '–'));
}

function fact(label, value) { return [h('dt', {}, label), h('dd', {}, value)]; }

export async function render(main, params, ctx) {
  const id = params.id;
  const sup = ctx.session.role === 'supervisor';
  const title = h('h1', {}, t('intake.referral.title'));
  const body = h('div', {});
  const note = h('div', {});
  const messages = h('div', {});
  const docs = documents(id);
  main.append(h('p', {}, h('a', { href: '#/referrals' }, t('intake.referral.back'))), title, note,
    body, docs.section, messages);
  let msgs = null;
  let schemaModel = null;
  try { schemaModel = model(await api('GET', '/schema/referral')); } catch (e) { schemaModel = null; }

  async function act(path, payload, done) {
    try {
      await api('POST', `/referrals/${id}/${path}`, payload);
      replace(note, infoBox(done));
      announce(done);
    } catch (e) { replace(note, errorBox(e)); }
    await load();
  }

  // The code is what a router is told; the words stay here and go only to
  // a provider holding the case (proto/PROTOCOL.md §9.1).
  async function withdraw() {
    const code = h('select', { id: 'wd-code', name: 'code' },
      CANCEL_CODES.map((c) => h('option', { value: c, selected: c === 'consent_withdrawn' },
        t(`intake.cancel.${c}`))));
    const reason = h('textarea', { id: 'wd-reason', name: 'reason', rows: 3, required: true,
      maxlength: 1000, 'aria-describedby': 'wd-reason-hint' });
    const v = await confirmDialog({ title: t('intake.withdraw.title'),
      text: t('intake.withdraw.text'), danger: true, confirm: t('intake.withdraw.confirm'),
      body: [h('div', { class: 'field' }, h('label', { for: 'wd-code' },
        t('intake.withdraw.code')), code),
      h('div', { class: 'field' }, h('label', { for: 'wd-reason' },
        t('intake.withdraw.reason')),
      h('p', { id: 'wd-reason-hint', class: 'field-hint' }, t('intake.withdraw.reason_hint')), reason)] });
    if (v && v.reason.trim())
      await act('withdraw', { code: v.code, reason: v.reason.trim() }, t('intake.withdraw.done'));
  }
  async function assign(current) {
    const staff = h('input', { id: 'as-staff', name: 'staff', type: 'text', required: true,
      pattern: '[a-z0-9._\\-]{1,64}', value: current || '', autocomplete: 'off',
      'aria-describedby': 'as-staff-hint' });
    const v = await confirmDialog({ title: t('intake.assign.title'), confirm: t('intake.assign.confirm'),
      body: [h('div', { class: 'field' }, h('label', { for: 'as-staff' }, t('intake.assign.staff')),
        h('div', { class: 'field-hint', id: 'as-staff-hint' }, t('intake.assign.hint')), staff)] });
    if (v && v.staff.trim())
      await act('assign', { staff: v.staff.trim() },
        t('intake.assign.done', { staff: v.staff.trim() }));
  }
  async function authorise() {
    const v = await confirmDialog({ title: t('intake.authorise.title'),
      text: t('intake.authorise.text'), confirm: t('intake.authorise.confirm') });
    if (v) await act('authorise', undefined, t('intake.authorise.done'));
  }

  // Only the latest load draws: an older answer that arrives late is dropped.
  let loads = 0;
  async function load() {
    const mine = ++loads;
    let r;
    try { r = await api('GET', `/referrals/${id}?case=true`); } catch (e) {
      if (mine === loads) replace(body, errorBox(e));
      return;
    }
    if (mine !== loads) return;
    title.textContent = r.reference ? t('intake.referral.title_ref', { ref: r.reference })
      : t('intake.referral.title');
    let file = null;
    try { file = r.case ? JSON.parse(r.case) : null; } catch (e) { file = null; }
    const actions = [];
    if (sup && r.state === 'awaiting_authorisation')
      actions.push(h('button', { type: 'button', class: 'btn btn-primary', onclick: authorise },
        t('intake.authorise.button')));
    if (sup && !OVER.has(r.state)) actions.push(h('button', { type: 'button', class: 'btn', onclick: () => assign(r.assigned_to) },
      t('intake.assign.button')));
    if (!ENDED.has(r.state))
      actions.push(h('button', { type: 'button', class: 'btn btn-danger', onclick: withdraw },
        t('intake.withdraw.button')));
    const waitingAuth = r.state === 'awaiting_authorisation'
      ? h('div', { class: 'alert alert-info' }, t(sup ? 'intake.referral.authorise_needed'
        : 'intake.referral.authorise_waiting'), overrideOf(file)) : null;
    // Past the deadline of its state: what was due and the next step (the worker's words).
    const overdue = r.overdue
      ? h('div', { class: 'alert alert-warning', role: 'status' },
        h('strong', {}, t('common.overdue')), ': ', r.overdue.what) : null;
    replace(body,
      waitingAuth,
      overdue,
      h('div', { class: 'referral-layout' },
      h('section', { class: 'card', 'aria-labelledby': 'rf-facts' },
        h('h2', { id: 'rf-facts' }, t('intake.referral.facts')),
        h('dl', { class: 'facts' },
          fact(t('intake.list.state'), stateCell(r)),
          fact(t('intake.list.service'), t(`common.service.${r.service}`)),
          fact(t('intake.list.country'), r.country),
          fact(t('intake.referral.router'), r.router || '–'),
          fact(t('intake.referral.provider'), r.provider || t('intake.referral.none_yet')),
          fact(t('intake.referral.created'), fmtDateTime(r.created)),
          fact(t('intake.list.respond_by'), [fmtDateTime(r.respond_by), ' ',
            h('span', { class: 'muted' }, `(${fmtRelative(Date.parse(r.respond_by) - Date.now())})`)]),
          fact(t('intake.list.created_by'), r.created_by || t('intake.list.host')),
          fact(t('intake.list.assigned_to'), r.assigned_to || t('intake.list.nobody')),
          fact(t('intake.referral.id'), h('code', {}, r.id)),
          r.case_id ? fact(t('intake.case.label'), h('a', { href: `#/cases/${r.case_id}`,
            id: 'rf-case' }, t('intake.case.link', { id: r.case_id.slice(0, 8) }))) : null),
        actions.length ? h('div', { class: 'form-actions' }, actions) : null),
      h('section', { class: 'card', 'aria-labelledby': 'rf-history' },
        h('h2', { id: 'rf-history' }, t('intake.referral.history')),
        timeline(r.history || [])),
      Array.isArray(r.progress) && r.progress.length
        ? h('section', { class: 'card', 'aria-labelledby': 'rf-progress' },
          h('h2', { id: 'rf-progress' }, t('intake.progress.title')),
          h('p', { class: 'field-hint' }, t('intake.progress.lead')),
          progressList(r.progress)) : null),
      file && schemaModel ? h('section', { class: 'card', 'aria-labelledby': 'rf-file' },
        h('h2', { id: 'rf-file' }, t('intake.referral.file')),
        viewReferral(schemaModel, file)) : null);
    if (!r.erased_at) await docs.reload(r.state);
    else docs.section.hidden = true;
    if (MESSAGING.has(r.state) && !r.erased_at) {
      if (!msgs) {
        msgs = thread(`/referrals/${id}`, 'intake');
        replace(messages, msgs.section);
      }
      await msgs.reload();
    } else if (msgs) {
      msgs = null;
      replace(messages);
    }
  }
  // Listening before the first load: an event that comes while it is under
  // way (the router's PROGRESS a moment after the submission) loads again,
  // where it was lost before and the page stayed as first drawn.
  let timer = null;
  const off = onEvent('*', (e) => {
    if (e.referral !== id) return;
    if (e.kind === 'message') { if (msgs) msgs.reload(); return; }
    clearTimeout(timer);
    timer = setTimeout(async () => {
      await load();
      const key = `common.state.${e.state}`;
      announce(t('intake.referral.updated', { state: has(key) ? t(key) : e.state }));
    }, 300);
  });
  await load();
  return () => { off(); clearTimeout(timer); docs.stop(); };
}
