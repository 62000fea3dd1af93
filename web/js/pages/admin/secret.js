// A secret shown once (an API token, a second factor's key): in a read-only
// field to copy, with the warning that it will not be shown again, and a
// button that removes it from the page. It is kept nowhere else.
import { h } from '../../dom.js';
import { t } from '../../i18n.js';

export function shownOnce(title, rows, hint) {
  const box = h('section', { class: 'alert alert-info ad-once', role: 'alert',
    'aria-labelledby': 'ad-once-h' },
  h('h2', { id: 'ad-once-h' }, title),
  h('p', { class: 'ad-once-warn' }, h('strong', {}, t('admin.once.warning'))),
  rows.map(([id, label, value]) => h('div', { class: 'field' },
    h('label', { for: id }, label),
    h('input', { id, type: 'text', readonly: true, value, class: 'ad-secret', spellcheck: 'false',
      autocomplete: 'off', onfocus: (e) => e.target.select() }))),
  hint ? h('p', { class: 'field-hint' }, hint) : null,
  h('button', { type: 'button', class: 'btn', onclick: () => box.remove() },
    t('admin.once.done')));
  return box;
}
