// A referral file shown as a case file, read only: the form's sections,
// labels and choices (the same catalogue keys as the form), only what was
// filled in. viewReferral(model, file) -> a node.
import { h } from '../dom.js';
import { t, fmtDate, fmtDateTime, has } from '../i18n.js';

function enumText(n, v) {
  const key = `${n.enumKey}.${v}`;
  return has(key) ? t(key) : String(v);
}

function leafText(n, v) {
  if (n.kind === 'boolean') return v ? t('form.bool.yes') : t('form.bool.no');
  if (n.kind === 'enum') return enumText(n, v);
  if (n.kind === 'date') return fmtDate(v);
  if (n.kind === 'datetime') return fmtDateTime(v);
  if (n.alt && v === n.alt) return t(`form.enum.${n.path}.${n.alt}`);
  return String(v);
}

function value(n, v) {
  if (n.kind === 'object') return facts(n, v);
  if (n.kind === 'array') {
    if (!v.length) return h('span', { class: 'muted' }, t('form.view.none'));
    if (n.checks || n.item.kind !== 'object')
      return h('ul', { class: 'plain' }, v.map((x) => h('li', {}, h('bdi', {}, leafText(n.item, x)))));
    return h('ol', { class: 'view-rows' }, v.map((x) => h('li', {}, facts(n.item, x))));
  }
  // What the caseworker wrote keeps its own direction on a page in the other.
  const text = leafText(n, v);
  if (n.kind === 'text') return h('p', { class: 'view-text', dir: 'auto' }, text);
  return n.kind === 'string' ? h('bdi', {}, text) : text;
}

function facts(n, v) {
  const rows = [];
  for (const p of n.props) {
    if (p.kind === 'const' || !v || v[p.name] === undefined) continue;
    rows.push(h('dt', {}, t(`form.field.${p.path}`)), h('dd', {}, value(p, v[p.name])));
  }
  return h('dl', { class: 'facts' }, rows);
}

// A section: its objects under their own sub-heading, the other members
// together in one list of facts.
export function viewReferral(m, file) {
  return h('div', { class: 'referral-view' }, m.sections.map((s) => {
    const props = m.root.props.filter((p) => p.section === s && file[p.name] !== undefined);
    if (!props.length) return null;
    const parts = [];
    let loose = null;
    for (const p of props) {
      if (p.kind === 'object') {
        loose = null;
        parts.push(h('h4', {}, t(`form.field.${p.path}`)), facts(p, file[p.name]));
      } else {
        if (!loose) { loose = h('dl', { class: 'facts' }); parts.push(loose); }
        loose.append(h('dt', {}, t(`form.field.${p.path}`)), h('dd', {}, value(p, file[p.name])));
      }
    }
    return h('section', {}, h('h3', {}, t(`form.section.${s}`)), parts);
  }));
}
