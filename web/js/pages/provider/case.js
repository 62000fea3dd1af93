// #/inbox/:id: one referral at the provider. Before acceptance the
// non-identifying summary with the answer-by countdown and the answer;
// after receipt the case file with the consent record first, status
// updates, assignment (supervisors) and export; after a withdrawal, what
// was erased and when. The worker decides what this person may see.
import { api } from '../../api.js';
import { h, replace } from '../../dom.js';
import { t, fmtDateTime } from '../../i18n.js';
import { onEvent } from '../../events.js';
import { errorBox, announce } from '../../ui.js';
import { joinList, badge, label, summaryTerms, offerActions, deadline, outboxNote, shortId, terms,
  onInboxEvents, data, DECLINE_CODES } from './parts.js';
import { consentRecord, caseSections } from './casefile.js';
import { thread } from '../thread.js';
import { documents } from './documents.js';

// The states a case may move to from each state (s_status_allowed in
// services/provider/provider.c).
const NEXT = {
  received: ['in_progress', 'on_hold', 'failed'],
  in_progress: ['on_hold', 'completed', 'failed'],
  on_hold: ['in_progress', 'completed', 'failed'],
};

// A node id inside a sentence, isolated (FSI…PDI) so that "ngo.xc" keeps
// its place in an Arabic sentence.
const iso = (x) => `\u2068${x || '–'}\u2069`;

export async function render(main, params, ctx) {
  const id = String(params.id || '');
  const heading = h('h1', {}, t('provider.case.title', { id: shortId(id) }));
  const body = h('div', {});
  const docsBox = h('div', {});
  const messages = h('div', {});
  main.append(heading, body, docsBox, messages);
  let msgs = null;
  let docs = null;
  const keep = { state: '', note: '', staff: '' }; // what the person typed, across redraws

  // While a message about this referral waits in the outbox (the broker
  // unreachable), look again every few seconds until it has gone.
  let poll = null;
  async function load() {
    clearTimeout(poll);
    let it;
    try {
      it = await api('GET', `/inbox/${encodeURIComponent(id)}`);
    } catch (e) {
      replace(body, errorBox(e), h('p', {}, h('a', { href: '#/inbox' },
        t('provider.case.back'))));
      return;
    }
    draw(it);
    // The thread with the intake while this provider holds the case.
    if (it.case_file && typeof it.case_file === 'object' && !it.erased_at) {
      if (!msgs) {
        msgs = thread(`/inbox/${encodeURIComponent(id)}`, 'provider');
        replace(messages, msgs.section);
        docs = documents(id);
        replace(docsBox, docs.section);
      }
      await Promise.all([msgs.reload(), docs.reload()]);
    } else if (msgs) {
      msgs = null;
      docs.stop();
      docs = null;
      replace(messages);
      replace(docsBox);
    }
    if (it.outbox === 'waiting') poll = setTimeout(load, 5000);
  }

  function draw(it) {
    const s = it.summary || {};
    const f = it.case_file && typeof it.case_file === 'object' ? it.case_file : null;
    const erased = erasure(it);
    replace(body,
      h('p', {}, h('a', { href: '#/inbox' }, t('provider.case.back'))),
      terms([
        [t('provider.case.offer_state'), badge(it.offer)],
        [t('provider.case.case_state'), it.case ? badge(it.case)
          : erased ? badge('erased') : t('provider.case.not_received')],
        [t('provider.case.service'), label('service', s.service)],
        [t('provider.case.from'), t('provider.case.from_via', { intake: iso(it.intake),
          router: iso(it.router) })],
        [t('provider.case.offered_at'), fmtDateTime(it.offered_at)],
        [t('provider.case.assigned_to'), it.assigned_to || t('provider.inbox.nobody')],
        it.reference && [t('provider.case.reference'), it.reference],
        it.outbox && [t('provider.case.outbox'), outboxNote(it)],
      ], 'pv-terms pv-head'),
      erased,
      it.offer === 'offered' && h('section', { class: 'card', 'aria-labelledby': 'pv-sum-h' },
        h('h2', { id: 'pv-sum-h' }, t('provider.case.summary')),
        h('p', { class: 'pv-deadline' }, deadline(it), ' ', h('span', { class: 'muted' },
          t('provider.inbox.answer_by', { at: fmtDateTime(it.respond_by) }))),
        summaryTerms(s),
        offerActions(it, ctx.session, load)),
      !f && !erased && it.offer === 'accepted' &&
        h('div', { class: 'alert alert-info', role: 'note' }, t('provider.case.waiting_case')),
      !f && !erased && it.offer !== 'offered' && h('section', { class: 'card',
        'aria-labelledby': 'pv-sum-h' }, h('h2', { id: 'pv-sum-h' }, t('provider.case.summary')),
      summaryTerms(s)),
      f && consentRecord(f.consent),
      f && work(it),
      f && caseSections(f),
      history(it));
  }

  // What was erased and when, once the intake withdrew the case (or the
  // retention period ended). wb-api adds erased_at and erased; without
  // them the history's erasure row says when.
  function erasure(it) {
    const rows = it.history || [];
    const row = [...rows].reverse().find((r) => /erased/.test(r.detail || '') ||
      r.state === 'erased');
    if (!it.erased_at && !row && it.offer !== 'erased') return null;
    const at = it.erased_at || (row && row.at);
    const what = Array.isArray(it.erased) && it.erased.length
      ? joinList(it.erased.map((x) => label('erased_item', x))) : t('provider.erased.what_default');
    return h('section', { class: 'alert alert-info pv-erased', role: 'note',
      'aria-labelledby': 'pv-erased-h' },
    h('h2', { id: 'pv-erased-h' }, t('provider.erased.title')),
    h('p', {}, at ? t('provider.erased.when', { at: fmtDateTime(at) })
      : t('provider.erased.when_unknown')),
    h('p', {}, t('provider.erased.what', { what })),
    h('p', { class: 'muted' }, t('provider.erased.kept')));
  }

  // Status with a note, assignment and export, for a received case.
  function work(it) {
    const next = NEXT[it.case] || [];
    const err = h('div', {});
    const parts = [];
    if (next.length) {
      if (!next.includes(keep.state)) keep.state = next[0];
      const sel = h('select', { id: 'pv-status', onchange: () => {
        keep.state = sel.value; noteLabel.textContent = noteText();
        note.required = needsNote();
      } }, next.map((s) => h('option', { value: s, selected: s === keep.state },
        label('state', s))));
      const needsNote = () => keep.state === 'completed' || keep.state === 'failed';
      const noteText = () => t(keep.state === 'completed' ? 'provider.status.outcome'
        : keep.state === 'failed' ? 'provider.status.failure' : 'provider.status.note');
      const noteLabel = h('label', { for: 'pv-status-note' }, noteText());
      const noteErr = h('p', { id: 'pv-status-err', class: 'field-error', role: 'alert',
        hidden: true });
      const note = h('textarea', { id: 'pv-status-note', rows: '3', maxlength: '500',
        'aria-describedby': 'pv-status-hint pv-status-err', value: keep.note,
        oninput: () => { keep.note = note.value; } });
      note.required = needsNote();
      parts.push(h('form', { class: 'pv-status-form', 'aria-labelledby': 'pv-status-h',
        novalidate: true,
        onsubmit: async (ev) => {
          ev.preventDefault();
          const text = note.value.trim();
          if (needsNote() && !text) {
            noteErr.textContent = t('provider.status.note_required');
            noteErr.hidden = false;
            note.setAttribute('aria-invalid', 'true');
            note.focus();
            return;
          }
          replace(err);
          try {
            await api('POST', `/inbox/${it.id}/status`,
              text ? { state: keep.state, note: text } : { state: keep.state });
            announce(t('provider.status.done', { state: label('state', keep.state) }));
            keep.note = ''; keep.state = '';
            await load();
          } catch (e) {
            err.append(errorBox(e));
          }
        } },
      h('h3', { id: 'pv-status-h' }, t('provider.status.title')),
      h('div', { class: 'field' }, h('label', { for: sel.id }, t('provider.status.state')), sel),
      h('div', { class: 'field' }, noteLabel,
        h('p', { class: 'field-hint', id: 'pv-status-hint' }, t('provider.status.hint')),
        note, noteErr),
      h('button', { type: 'submit', class: 'btn btn-primary' }, t('provider.status.send'))));
    } else {
      parts.push(h('p', { class: 'muted' }, t('provider.status.closed')));
    }
    if (ctx.session.role === 'supervisor') {
      const who = h('input', { id: 'pv-assign', type: 'text', pattern: '[a-z0-9._\\-]{1,64}',
        maxlength: '64', autocomplete: 'off', value: keep.staff || it.assigned_to || '',
        'aria-describedby': 'pv-assign-hint', oninput: () => { keep.staff = who.value; } });
      parts.push(h('form', { class: 'pv-assign-form', 'aria-labelledby': 'pv-assign-h',
        onsubmit: async (ev) => {
          ev.preventDefault();
          replace(err);
          try {
            await api('POST', `/inbox/${it.id}/assign`, { staff: who.value.trim() });
            announce(t('provider.assign.done', { staff: who.value.trim() }));
            keep.staff = '';
            await load();
          } catch (e) {
            err.append(errorBox(e));
          }
        } },
      h('h3', { id: 'pv-assign-h' }, t('provider.assign.title')),
      h('div', { class: 'field' }, h('label', { for: who.id }, t('provider.assign.staff')),
        h('p', { class: 'field-hint', id: 'pv-assign-hint' }, t('provider.assign.hint')), who),
      h('button', { type: 'submit', class: 'btn' }, t('provider.assign.send'))));
    }
    parts.push(h('div', { class: 'pv-export' },
      h('h3', {}, t('provider.export.title')),
      h('p', { class: 'field-hint' }, t('provider.export.hint')),
      h('button', { type: 'button', class: 'btn', onclick: () => exportCase(it.id, err) },
        t('provider.export.button'))));
    return h('section', { class: 'card pv-work', 'aria-label': t('provider.case.work') },
      h('div', { class: 'pv-work-grid' }, parts), err);
  }

  await load();
  const off = onInboxEvents(onEvent, load, id);
  const offMsg = onEvent('message', (e) => { if (e.referral === id && msgs) msgs.reload(); });
  return () => { clearTimeout(poll); off(); offMsg(); if (docs) docs.stop(); };
}

// The export as a file download: a Blob in memory, handed to the browser's
// download and released at once; nothing is stored by the page.
async function exportCase(id, err) {
  replace(err);
  try {
    const x = await api('GET', `/inbox/${id}/export`);
    const blob = new Blob([JSON.stringify(x, null, 2) + '\n'], { type: 'application/json' });
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: `case-${id}.json`, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 0);
    announce(t('provider.export.done'));
  } catch (e) {
    err.append(errorBox(e));
  }
}

// A row's detail; a decline's reason code in words, and whether its note
// went, sealed, to the referring organisation ("no_capacity (note sealed
// to the intake)": the note itself is not kept here, PROTOCOL.md §9.1).
// A decline recorded before that ("no_capacity: full") as it was written.
function detail(r) {
  if (!r.detail) return null;
  const s = r.state === 'declined' && /^([a-z_]+) \(note sealed to the intake\)$/.exec(r.detail);
  if (s && DECLINE_CODES.includes(s[1]))
    return [label('reason', s[1]), ' — ', t('provider.history.note_sealed')];
  const m = r.state === 'declined' && /^([a-z_]+)(?:: ([\s\S]*))?$/.exec(r.detail);
  if (m && DECLINE_CODES.includes(m[1]))
    return [label('reason', m[1]), m[2] ? [': ', data(m[2])] : null];
  return data(r.detail);
}

function history(it) {
  const rows = it.history || [];
  return h('section', { class: 'card', 'aria-labelledby': 'pv-hist-h' },
    h('h2', { id: 'pv-hist-h' }, t('provider.history.title')),
    rows.length ? h('ol', { class: 'timeline' }, rows.map((r) => h('li', {},
      h('span', { class: 'timeline-at' }, fmtDateTime(r.at)), ' ',
      h('span', { class: 'timeline-what' }, badge(r.state), ' ', detail(r)),
      ' ', h('span', { class: 'timeline-by' }, t('provider.history.by', { by: r.by || '–' })))))
      : h('p', { class: 'muted' }, t('provider.history.none')));
}
