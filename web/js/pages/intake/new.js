// #/referrals/new: the referral form, built from the schema that haven-web
// serves (GET /api/v1/schema/referral); ?draft=ID resumes a saved draft.
// Check asks the worker's own checker (POST /referrals/check) and shows every
// error at its field; Save keeps the form as a draft at the worker (sealed
// like a case, nothing in the browser); Submit sends it and opens the referral.
// Documents (the file's "attachments") are uploaded as they are chosen
// (POST /uploads) and go with the submission as their upload ids, in the
// file's order (?uploads=ID,...), as `haven referral submit` sends them. A
// draft keeps no document: its rows are not saved, and the page says so.
import { api, apiText, apiFile, ApiError } from '../../api.js';
import { h, replace } from '../../dom.js';
import { t, fmtDateTime } from '../../i18n.js';
import { errorBox, infoBox, announce } from '../../ui.js';
import { model } from '../../form/schema.js';
import { buildForm } from '../../form/render.js';

const DRAFT_FORMAT = 'haven-draft/1';

export async function render(main, params, ctx) {
  main.append(h('h1', {}, t('intake.new.title')));
  const status = h('div', { class: 'form-status' });
  let schema;
  try {
    schema = await api('GET', '/schema/referral');
  } catch (e) { main.append(errorBox(e)); return undefined; }
  const upload = (file) => apiFile('POST', `/uploads?name=${encodeURIComponent(file.name)}`, file);
  const form = buildForm(model(schema), { upload });
  const reference = h('input', { type: 'text', id: 'rf-reference', maxlength: 64,
    autocomplete: 'off', 'aria-describedby': 'rf-reference-hint' });
  const refBox = h('div', { class: 'field card' },
    h('label', { for: 'rf-reference' }, t('intake.new.reference')),
    h('div', { class: 'field-hint', id: 'rf-reference-hint' }, t('intake.new.reference_hint')),
    reference);

  let draftId = params.draft && /^[0-9a-f]{32}$/.test(params.draft) ? params.draft : null;
  if (draftId) {
    try {
      const d = await api('GET', `/drafts/${draftId}`);
      const c = d.draft || {};
      form.set(c.referral || {});
      reference.value = c.reference || '';
      status.replaceChildren(infoBox(t('intake.new.resumed', { at: fmtDateTime(d.updated) })));
    } catch (e) {
      draftId = null;
      status.replaceChildren(errorBox(e));
    }
  }
  // Redrawn in another language or time zone: what was typed comes back
  // (kept in this page's memory by the shell, nowhere else).
  if (params.kept) {
    form.set(params.kept.referral || {});
    reference.value = params.kept.reference || '';
    draftId = params.kept.draftId || draftId;
  }

  const text = () => JSON.stringify(form.get(), null, 2);
  const busy = (on) => { for (const b of buttons) b.disabled = on; };
  // The uploads of the documents in the file's order, once every upload
  // has finished; null after showing, at its field, each one that has none
  // (refused, or a draft's document to choose again).
  const uploads = async (v) => {
    const ws = (v.attachments || []).map((_, i) => form.widgetAt(`attachments[${i}].file`));
    await Promise.all(ws.map((w) => (w && w.settled ? w.settled() : null)));
    const missing = ws.map((w, i) => [w, i]).filter(([w]) => !w || !w.uploadId());
    if (missing.length) {
      form.showErrors(missing.map(([, i]) => ({ path: `attachments[${i}].file`,
        message: t('form.file.not_uploaded') })));
      return null;
    }
    return ws.map((w) => w.uploadId());
  };
  const problem = (e) => {
    if (e instanceof ApiError && Array.isArray(e.errors) && e.errors.length) {
      const n = form.showErrors(e.errors);
      status.replaceChildren();
      announce(t('form.errors.title', { n }));
      return;
    }
    if (e instanceof ApiError && e.error === 'HV_EUNROUTABLE') {
      form.showErrors([{ path: 'destination.country', message: t('intake.new.unroutable') }]);
      status.replaceChildren();
      return;
    }
    status.replaceChildren(errorBox(e));
  };

  const check = h('button', { type: 'button', class: 'btn', onclick: async () => {
    busy(true);
    form.clearErrors();
    try {
      const r = await apiText('POST', '/referrals/check', text());
      status.replaceChildren(infoBox(t('intake.new.check_ok', { router: r.router || '–' })));
      announce(t('intake.new.check_ok', { router: r.router || '–' }));
    } catch (e) { problem(e); } finally { busy(false); }
  } }, t('intake.new.check'));

  const save = h('button', { type: 'button', class: 'btn', onclick: async () => {
    busy(true);
    const referral = form.get();
    const docs = Array.isArray(referral.attachments) && referral.attachments.length > 0;
    delete referral.attachments;
    const body = { format: DRAFT_FORMAT, referral, reference: reference.value.trim() };
    try {
      const d = draftId ? await api('PUT', `/drafts/${draftId}`, body)
        : await api('POST', '/drafts', body);
      draftId = d.id;
      const msg = t('intake.new.saved', { at: fmtDateTime(d.updated || Date.now()) }) +
        (docs ? ` ${t('intake.new.saved_no_documents')}` : '');
      status.replaceChildren(infoBox(msg));
      announce(msg);
    } catch (e) { problem(e); } finally { busy(false); }
  } }, t('intake.new.save'));

  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, t('intake.new.submit'));
  const buttons = [check, save, submit];
  const el = h('form', { class: 'referral', novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    busy(true);
    form.clearErrors();
    const q = new URLSearchParams();
    if (reference.value.trim()) q.set('reference', reference.value.trim());
    if (draftId) q.set('draft', draftId);
    const v = form.get();
    const ids = await uploads(v);
    if (!ids) { busy(false); return; }
    if (ids.length) q.set('uploads', ids.join(','));
    const send = () => apiText('POST', `/referrals${q.toString() ? `?${q}` : ''}`,
      JSON.stringify(v, null, 2));
    try {
      let r;
      try {
        r = await send();
      } catch (e) {
        // The draft was deleted elsewhere: nothing was stored, so the
        // referral goes on its own.
        if (!(e.status === 404 && draftId)) throw e;
        draftId = null;
        q.delete('draft');
        r = await send();
      }
      announce(t('intake.new.submitted'));
      ctx.navigate(`/referrals/${r.id}`);
    } catch (e) { problem(e); busy(false); }
  } }, refBox, form.el, status,
  h('div', { class: 'form-actions' }, check, save, submit));
  main.append(h('p', { class: 'muted' }, t('intake.new.intro')), el);
  const cleanup = () => {};
  cleanup.keep = () => ({ referral: form.memo(), reference: reference.value, draftId });
  return cleanup;
}
