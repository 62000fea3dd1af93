// The referral form built from the schema's model (schema.js): sections,
// objects, lists with rows to add and remove, a choice between members
// (date of birth or estimated age), and parts shown only when they apply
// (x-haven-when: a minor's guardian, an override without consent).
//
// buildForm(model) -> {el, get(), set(value), showErrors(errors), clearErrors(),
// onChange(fn)}: get() is the referral file as an object; showErrors takes the
// checker's located errors and puts each at its field (errors.js).
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { idFor, leaf, checks, group } from './controls.js';
import { holds, splitPath } from './schema.js';
import { showErrors as place } from './errors.js';

function widget(n, cpath, ctx, opts) {
  let w;
  if (n.kind === 'object') w = object(n, cpath, ctx, opts);
  else if (n.kind === 'array') w = n.checks ? checks(n, cpath) : list(n, cpath, ctx);
  else w = leaf(n, cpath, { ...opts, upload: ctx.upload });
  if (n.when) ctx.cond.push({ w, when: n.when });
  if (w.offer) ctx.offers.push(w);
  return w;
}

function object(n, cpath, ctx, opts = {}) {
  const id = idFor(cpath);
  const members = new Map();
  const content = [];
  let choice = null;
  for (const p of n.props) {
    const sub = widget(p, cpath ? `${cpath}.${p.name}` : p.name, ctx);
    members.set(p.name, sub);
    if (n.choice && n.choice.includes(p.name)) {
      if (!choice) { choice = makeChoice(n, cpath, members); content.push(choice.el); }
      choice.add(p.name, sub);
    } else content.push(sub.el);
  }
  const label = opts.label || t(`form.field.${n.path}`);
  const hint = opts.label ? null : t(`form.hint.${n.path}`);
  // An object's own required mark says nothing its fields do not say.
  const { el, e } = group({ id, label, hint, required: false, content,
    cls: opts.row ? 'row' : 'object' });
  if (opts.remove) el.append(opts.remove);
  const w = {
    el, label, members,
    get() {
      if (el.hidden) return undefined;
      const v = {};
      for (const [k, m] of members) {
        const x = m.get();
        if (x !== undefined) v[k] = x;
      }
      return Object.keys(v).length || n.required ? v : undefined;
    },
    // As get(), but with what a member keeps beyond the file's value (a
    // document's upload): for redrawing a list's rows.
    memo() {
      if (el.hidden) return undefined;
      const v = {};
      for (const [k, m] of members) {
        const x = m.memo ? m.memo() : m.get();
        if (x !== undefined) v[k] = x;
      }
      return Object.keys(v).length ? v : undefined;
    },
    set(v) {
      if (choice) choice.pick(v);
      for (const [k, m] of members) m.set(v ? v[k] : undefined);
    },
    locate(parts) {
      if (el.hidden) return null;
      if (!parts.length) return w;
      const m = members.get(parts[0]);
      return (m && m.locate(parts.slice(1))) || (choice && choice.has(parts[0]) ? choice.w : w);
    },
    showError: (m) => e.show(m),
    clear() { e.clear(); if (choice) choice.w.clear(); for (const m of members.values()) m.clear(); },
    focusEl: () => {
      const first = members.values().next().value;
      return first ? first.focusEl() : el;
    },
  };
  return w;
}

// "Date of birth known" / "Estimated age": radios that show one member.
function makeChoice(n, cpath, members) {
  const id = `${idFor(cpath)}-choice`;
  const names = n.choice;
  const radios = names.map((m, i) => h('input', { type: 'radio', name: id, value: m,
    id: `${id}-${i}`, checked: i === 0, onchange: () => show() }));
  const holders = h('div', { class: 'choice-members' });
  const { el: radioGroup, e } = group({ id, label: t(`form.choice.${n.path}`), required: true,
    content: h('div', { class: 'choices choices-inline' }, names.map((m, i) =>
      h('div', { class: 'choice' }, radios[i], h('label', { for: radios[i].id },
        t(`form.choice.${n.path}.${m}`))))) });
  radioGroup.setAttribute('role', 'radiogroup');
  const el = h('div', { class: 'choice-block' }, radioGroup, holders);
  const show = () => {
    for (const m of names)
      if (members.has(m)) members.get(m).el.hidden = !radios[names.indexOf(m)].checked;
  };
  const c = {
    el,
    add(name, sub) { holders.append(sub.el); show(); },
    pick(v) {
      const m = names.find((x) => v && v[x] !== undefined);
      if (m) radios[names.indexOf(m)].checked = true;
      show();
    },
    has: (name) => names.includes(name),
    w: { el: radioGroup, label: t(`form.choice.${n.path}`), showError: (m) => e.show(m), clear: () => e.clear(),
      focusEl: () => radios.find((r) => r.checked) || radios[0], locate: () => c.w },
  };
  return c;
}

// A list of rows (names, languages, needs): add and remove, at least
// minItems rows, at most maxItems.
function list(n, cpath, ctx) {
  const id = idFor(cpath);
  const rowsEl = h('div', { class: 'rows' });
  const add = h('button', { type: 'button', class: 'btn btn-quiet add-row',
    onclick: () => { const v = values(); v.push(undefined); rebuild(v); focusRow(rows.length - 1); } },
  t(`form.add.${n.path}`));
  const label = t(`form.field.${n.path}`);
  // A list that may be empty (nationalities) is not marked as required.
  const { el, e } = group({ id, label, hint: t(`form.hint.${n.path}`),
    required: n.required && n.minItems > 0, content: [rowsEl, add], cls: 'list' });
  let rows = [];
  let map = []; // the file's index -> the row it came from, as of the last get()
  const values = () => rows.map((r) => (r.memo ? r.memo() : r.get()));
  const focusRow = (i) => { const r = rows[Math.max(0, Math.min(i, rows.length - 1))];
    (r ? r.focusEl() : add).focus(); };
  function makeRow(i) {
    const cp = `${cpath}[${i}]`;
    const remove = h('button', { type: 'button', class: 'btn btn-quiet remove-row',
      onclick: () => { const v = values(); v.splice(i, 1); rebuild(v); focusRow(i - 1); } },
    t(`form.remove.${n.path}`, { n: i + 1 }));
    const rowLabel = t(`form.item.${n.path}`, { n: i + 1 });
    if (n.item.kind === 'object')
      return object(n.item, cp, ctx, { label: rowLabel, row: true, remove });
    const w = leaf(n.item, cp, { label: rowLabel, required: true, upload: ctx.upload });
    w.el.classList.add('row-leaf');
    w.el.append(remove);
    return w;
  }
  function rebuild(v) {
    rows = [];
    const count = Math.min(n.maxItems, Math.max(n.minItems, v.length));
    rowsEl.replaceChildren();
    for (let i = 0; i < count; i++) {
      rows.push(null);
      rows[i] = makeRow(i);
      rowsEl.append(rows[i].el);
      rows[i].set(v[i]);
    }
    for (const r of rowsEl.querySelectorAll('.remove-row')) r.hidden = rows.length <= n.minItems;
    add.disabled = rows.length >= n.maxItems;
    ctx.changed();
  }
  rebuild([]);
  const w = {
    el, label,
    get() {
      if (el.hidden) return undefined;
      const out = [];
      map = [];
      rows.forEach((r, i) => { const x = r.get(); if (x !== undefined) { out.push(x); map.push(i); } });
      return out.length || n.required ? out : undefined;
    },
    memo() { return el.hidden ? undefined : values(); },
    set(v) { rebuild(Array.isArray(v) ? v : []); },
    locate(parts) {
      if (el.hidden) return null;
      if (!parts.length || typeof parts[0] !== 'number') return w;
      const r = rows[map[parts[0]] !== undefined ? map[parts[0]] : parts[0]];
      return (r && r.locate(parts.slice(1))) || w;
    },
    showError: (m) => e.show(m),
    clear() { e.clear(); for (const r of rows) r.clear(); },
    focusEl: () => (rows[0] ? rows[0].focusEl() : add),
  };
  return w;
}

// `upload(file)` sends a document of the case (controls.js fileLeaf).
export function buildForm(model, { upload } = {}) {
  const listeners = [];
  const ctx = { cond: [], offers: [], changed: () => {}, upload };
  const summary = h('div', { class: 'form-summary' });
  const bySection = new Map(model.sections.map((s) => [s, []]));
  const members = new Map();
  const constant = {};
  for (const p of model.root.props) {
    if (p.kind === 'const') { constant[p.name] = p.value; continue; }
    const w = widget(p, p.name, ctx);
    members.set(p.name, w);
    bySection.get(p.section).push(w.el);
  }
  const sections = model.sections.map((s) => h('section', { class: 'form-section card',
    'aria-labelledby': `rf-section-${s}` }, h('h2', { id: `rf-section-${s}` },
    t(`form.section.${s}`)), bySection.get(s)));
  const el = h('div', { class: 'referral-form' }, summary, sections);
  const root = {
    get() {
      const v = { ...constant };
      for (const [k, m] of members) { const x = m.get(); if (x !== undefined) v[k] = x; }
      return v;
    },
    locate(parts) {
      const m = parts.length ? members.get(parts[0]) : null;
      return m ? m.locate(parts.slice(1)) : null;
    },
  };
  // Shows what applies: twice, so that a part shown makes its own conditions true.
  const refresh = () => {
    for (let i = 0; i < 2; i++) {
      const v = root.get();
      for (const c of ctx.cond) c.w.el.hidden = !holds(c.when, v);
      for (const w of ctx.offers) w.offer(v);
    }
  };
  ctx.changed = refresh;
  el.addEventListener('change', () => { refresh(); for (const f of listeners) f(); });
  el.addEventListener('input', () => { for (const f of listeners) f(); });
  refresh();
  return {
    el,
    get: () => root.get(),
    // The form's values with the documents' uploads, to redraw it as it was.
    memo() {
      const v = { ...constant };
      for (const [k, m] of members) {
        const x = m.memo ? m.memo() : m.get();
        if (x !== undefined) v[k] = x;
      }
      return v;
    },
    // The widget of a path of the file as get() gave it last ("attachments[1].file").
    widgetAt: (path) => root.locate(splitPath(path)),
    set(v) {
      for (const [k, m] of members) m.set(v ? v[k] : undefined);
      refresh();
    },
    clearErrors() { summary.replaceChildren(); for (const m of members.values()) m.clear(); },
    showErrors(errors) {
      this.clearErrors();
      return place(errors, root, summary);
    },
    onChange(fn) { listeners.push(fn); },
  };
}
