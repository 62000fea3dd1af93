// The referral form's single fields: a widget per schema leaf (text, long
// text, whole number, date, date and time, choice, yes/no) in a labelled box
// with its hint and error. A widget is {el, label, get(), set(v), locate(),
// showError(msg), clear(), focusEl()}; get() gives the file's value or
// undefined for "not filled in". Labels and hints come from form.json.
import { h } from '../dom.js';
import { t, has, lang, timeZone, fmtSize } from '../i18n.js';
import { holds } from './schema.js';

export const idFor = (cpath) =>
  `rf-${cpath.replace(/[^A-Za-z0-9_]+/g, '-').replace(/^-|-$/g, '') || 'root'}`;

// The error element and its wiring to `controls` (aria-describedby, aria-invalid).
function errorParts(id, hintText, controls, extraHint) {
  const hint = hintText ? h('div', { class: 'field-hint', id: `${id}-hint` }, hintText,
    extraHint ? h('span', { class: 'field-hint-extra' }, ' ', extraHint) : null) : null;
  const err = h('div', { class: 'field-error', id: `${id}-error`, role: 'alert', hidden: true });
  const describe = (withErr) => {
    const ids = [hint ? hint.id : null, withErr ? err.id : null].filter(Boolean).join(' ');
    for (const c of controls) {
      if (ids) c.setAttribute('aria-describedby', ids); else c.removeAttribute('aria-describedby');
      if (withErr) c.setAttribute('aria-invalid', 'true'); else c.removeAttribute('aria-invalid');
    }
  };
  describe(false);
  const messages = [];
  return {
    hint, err,
    show(msg) {
      messages.push(msg);
      err.replaceChildren(...messages.flatMap((m, i) => (i ? [h('br', {}), m] : [m])));
      err.hidden = false;
      describe(true);
    },
    clear() { messages.length = 0; err.replaceChildren(); err.hidden = true; describe(false); },
  };
}

function reqMark(required) {
  return required ? h('span', { class: 'req' }, ' ', h('abbr', { title: t('form.required') }, '*'))
    : null;
}

// A box for one control: label, hint, control, error.
export function box({ id, label, hint, required, control, extraHint }) {
  control.id = id;
  const e = errorParts(id, hint, [control], extraHint);
  if (required) control.setAttribute('aria-required', 'true');
  const el = h('div', { class: 'field' }, h('label', { for: id }, label, reqMark(required)),
    e.hint, control, e.err);
  return { el, e };
}

// A fieldset for a group (radios, checkboxes, an object, a list).
export function group({ id, label, hint, required, content, cls }) {
  const el = h('fieldset', { class: `field-group ${cls || ''}`.trim(), id });
  const e = errorParts(id, hint, [el]);
  el.append(h('legend', {}, label, reqMark(required)), ...[e.hint, e.err].filter(Boolean),
    ...(Array.isArray(content) ? content : [content]));
  return { el, e };
}

// A UTC time "YYYY-MM-DDTHH:MM:SSZ" and the value of a datetime-local input
// in the person's time zone, both ways.
function offsetMs(utcMs, tz) {
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-US', {
    timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(new Date(utcMs)).map((x) => [x.type, x.value]));
  return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second) - utcMs;
}
export function localToUtc(local, tz) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local || '');
  if (!m) return undefined;
  const guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  let at = guess - offsetMs(guess, tz);
  at = guess - offsetMs(at, tz);
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
export function utcToLocal(iso, tz) {
  const ms = Date.parse(iso || '');
  if (Number.isNaN(ms)) return '';
  return new Date(ms + offsetMs(ms, tz)).toISOString().slice(0, 16);
}

function input(n, cpath) {
  // Typed text keeps its own direction (an Arabic name on an English page).
  const a = { type: 'text', name: cpath, autocomplete: 'off', dir: 'auto' };
  if (n.kind === 'integer') Object.assign(a, { type: 'number', step: 1, min: n.min, max: n.max,
    inputmode: 'numeric', dir: null });
  if (n.kind === 'date') Object.assign(a, { type: 'date', dir: null });
  if (n.kind === 'datetime') Object.assign(a, { type: 'datetime-local', dir: null });
  if (n.kind === 'string' && n.maxLength) a.maxlength = n.maxLength;
  if (n.kind === 'text') {
    return h('textarea', { name: cpath, rows: n.maxLength > 1000 ? 6 : 3,
      maxlength: n.maxLength, dir: 'auto' });
  }
  if (/^\^\[A-Z\]\{2\}\$$/.test(n.pattern || ''))
    Object.assign(a, { size: 4, class: 'code', dir: 'ltr' });
  return h('input', a);
}

// Radios for a small enumeration or yes/no; a select for a longer one.
function choices(n, cpath, id, label, hint, required) {
  const opts = n.kind === 'boolean'
    ? [[true, t('form.bool.yes')], [false, t('form.bool.no')]]
    : n.values.map((v) => [v, t(`${n.enumKey}.${v}`)]);
  if (n.kind === 'enum' && opts.length > 4) {
    const sel = h('select', { name: cpath },
      h('option', { value: '' }, t('form.choose')),
      opts.map(([v, l]) => h('option', { value: v }, l)));
    const { el, e } = box({ id, label, hint, required, control: sel });
    const offer = (v) => {
      for (const o of sel.options) {
        const ok = !n.valueWhen || !n.valueWhen[o.value] || holds(n.valueWhen[o.value], v);
        o.hidden = !ok; o.disabled = !ok;
        if (!ok && o.selected) sel.value = '';
      }
    };
    return { el, e, control: sel, offer,
      get: () => (sel.value === '' ? undefined : sel.value),
      set: (v) => { sel.value = v === undefined ? '' : String(v); } };
  }
  const radios = opts.map(([v], i) => h('input', { type: 'radio', name: id, value: String(v),
    id: `${id}-${i}` }));
  const content = h('div', { class: n.kind === 'boolean' ? 'choices choices-inline' : 'choices' },
    opts.map(([, l], i) => h('div', { class: 'choice' }, radios[i],
      h('label', { for: radios[i].id }, l))));
  const { el, e } = group({ id, label, hint, required, content });
  el.setAttribute('role', 'radiogroup');
  if (required) el.setAttribute('aria-required', 'true');
  const offer = (v) => {
    radios.forEach((r) => {
      const cond = n.valueWhen && n.valueWhen[r.value];
      const ok = !cond || holds(cond, v);
      r.disabled = !ok;
      r.parentNode.hidden = !ok;
      if (!ok) r.checked = false;
    });
  };
  return { el, e, control: radios[0], offer,
    get: () => {
      const r = radios.find((x) => x.checked);
      if (!r) return undefined;
      return n.kind === 'boolean' ? r.value === 'true' : r.value;
    },
    set: (v) => { for (const r of radios) r.checked = v !== undefined && r.value === String(v); },
    focus: () => (radios.find((x) => x.checked) || radios[0]) };
}

const TYPES = { 'application/pdf': 'PDF', 'image/jpeg': 'JPEG', 'image/png': 'PNG' };

// A refusal in the person's language, with the worker's own words after it
// on a French or Arabic page (as errorBox does).
function refusal(err) {
  const msg = (err && err.message) || String(err);
  const key = `common.error.${err && err.error}`;
  if (lang() === 'en' || !has(key)) return msg;
  return `${t(key)} (${msg})`;
}

// A document of the case (x-haven-input "file"): chosen, it is uploaded at
// once through `upload(file)` -> {upload, type, size} (the intake's
// POST /uploads), its type found from the content and its size shown, or
// its refusal at the field. The file's value is its name; the upload's id
// is the widget's (uploadId()), for the submission. memo() keeps both, so
// that a list's rows redrawn (one removed) keep their uploads.
function fileLeaf(n, cpath, id, lab, hint, req, upload) {
  const control = h('input', { type: 'file', name: cpath,
    accept: 'application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png' });
  const { el, e } = box({ id, label: lab, hint, required: req, control });
  const status = h('div', { class: 'field-status', id: `${id}-status`, role: 'status' });
  el.append(status);
  let st = null; // {name, upload, type, size} or {name, pending} or {name, failed}
  const show = () => {
    if (!st) { status.replaceChildren(); return; }
    if (st.pending) status.textContent = t('form.file.uploading', { name: st.name });
    else if (st.upload) status.textContent = t('form.file.uploaded', { name: st.name,
      type: TYPES[st.type] || st.type, size: fmtSize(st.size) });
    else if (st.kept) status.textContent = t('form.file.choose_again', { name: st.name });
    else status.replaceChildren();
  };
  control.addEventListener('change', () => {
    e.clear();
    const f = control.files && control.files[0];
    if (!f) { st = null; show(); return; }
    const mine = { name: f.name };
    st = mine;
    mine.pending = upload(f).then((r) => {
      if (st !== mine) return;
      Object.assign(mine, { upload: r.upload, type: r.type, size: r.size, pending: null });
      show();
    }, (err) => {
      if (st !== mine) return;
      Object.assign(mine, { pending: null, failed: true });
      control.value = '';
      show();
      e.show(refusal(err));
    });
    show();
  });
  const w = finish(el, e, lab, () => (st ? st.name : undefined), (v) => {
    // A memo of this widget's (a row redrawn) keeps its upload; a bare
    // name (a draft, a file written elsewhere) has no bytes here.
    if (v && typeof v === 'object') st = { ...v };
    else st = v ? { name: String(v), kept: true } : null;
    if (!st || !st.upload) control.value = '';
    e.clear();
    show();
  }, () => control);
  w.memo = () => (el.hidden || !st ? undefined : { ...st });
  w.uploadId = () => (st && st.upload) || null;
  w.settled = () => (st && st.pending ? st.pending : Promise.resolve());
  return w;
}

// A leaf of the schema as a widget. `label` overrides the field's own
// (a list's rows: "Language 2"); `upload` sends a document (kind file).
export function leaf(n, cpath, { label, required, upload } = {}) {
  const id = idFor(cpath);
  const lab = label || t(`form.field.${n.path}`);
  const hint = label ? null : t(`form.hint.${n.path}`);
  const req = required !== undefined ? required : n.required;
  if (n.kind === 'file') return fileLeaf(n, cpath, id, lab, hint, req, upload);
  if (n.kind === 'enum' || n.kind === 'boolean') {
    const c = choices(n, cpath, id, lab, hint, req);
    const w = finish(c.el, c.e, lab, c.get, c.set, () => (c.focus ? c.focus() : c.control));
    if (n.valueWhen) w.offer = c.offer;
    return w;
  }
  const control = input(n, cpath);
  const tz = timeZone();
  const extra = n.kind === 'datetime' ? t('form.zone', { zone: tz }) : null;
  let alt = null;
  const { el, e } = box({ id, label: lab, hint, required: req, control, extraHint: extra });
  if (n.alt) {
    // "stateless" instead of a code: a checkbox beside the input.
    alt = h('input', { type: 'checkbox', id: `${id}-alt`,
      onchange: () => { control.disabled = alt.checked; } });
    el.append(h('div', { class: 'choice' }, alt,
      h('label', { for: alt.id }, t(`form.enum.${n.path}.${n.alt}`))));
  }
  const upper = /^\^\[A-Z\]\{2\}\$$/.test(n.pattern || '');
  const get = () => {
    if (alt && alt.checked) return n.alt;
    const v = control.value.trim();
    if (v === '') return undefined;
    if (n.kind === 'integer') return /^-?\d+$/.test(v) ? Number(v) : Number.isFinite(+v) ? +v : v;
    if (n.kind === 'datetime') return localToUtc(v, tz) || v;
    return upper ? v.toUpperCase() : v;
  };
  const set = (v) => {
    if (alt) { alt.checked = v === n.alt; control.disabled = alt.checked; }
    if (v === undefined || v === null || v === n.alt) { control.value = ''; return; }
    control.value = n.kind === 'datetime' ? utcToLocal(v, tz) : String(v);
  };
  return finish(el, e, lab, get, set, () => control);
}

function finish(el, e, label, get, set, focusEl) {
  const w = { el, label, get: () => (el.hidden ? undefined : get()), set,
    locate: () => (el.hidden ? null : w), showError: (m) => e.show(m), clear: () => e.clear(),
    focusEl };
  return w;
}

// A group of checkboxes for a list of choices (forms of exploitation).
export function checks(n, cpath) {
  const id = idFor(cpath);
  const item = n.item;
  const boxes = item.values.map((v, i) => h('input', { type: 'checkbox', value: v,
    id: `${id}-${i}`, name: cpath }));
  const content = h('div', { class: 'choices choices-grid' }, item.values.map((v, i) =>
    h('div', { class: 'choice' }, boxes[i], h('label', { for: boxes[i].id },
      t(`${item.enumKey}.${v}`)))));
  const label = t(`form.field.${n.path}`);
  const { el, e } = group({ id, label, hint: t(`form.hint.${n.path}`),
    required: n.required && n.minItems > 0, content });
  const get = () => {
    const v = boxes.filter((b) => b.checked).map((b) => b.value);
    return v.length || n.required ? v : undefined;
  };
  const set = (v) => { for (const b of boxes) b.checked = Array.isArray(v) && v.includes(b.value); };
  return finish(el, e, label, get, set, () => boxes[0]);
}
