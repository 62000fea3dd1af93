// #/tokens: the API tokens of the organisation's own systems: the list (ids
// and scopes, never the tokens), a new token (shown once), revocation.
import { api } from '../../api.js';
import { h, replace } from '../../dom.js';
import { t, fmtDateTime } from '../../i18n.js';
import { errorBox, announce } from '../../ui.js';
import { shownOnce } from './secret.js';

const SCOPES = ['read', 'submit', 'provider'];

export async function render(main, params, ctx) {
  const once = h('div', {});
  const msg = h('div', {});
  const listBox = h('div', {});

  async function load() {
    let r;
    try {
      r = await api('GET', '/tokens');
    } catch (e) {
      replace(listBox, errorBox(e));
      return;
    }
    const items = r.items || [];
    if (!items.length) {
      replace(listBox, h('p', { class: 'muted' }, t('admin.tokens.none')));
      return;
    }
    const th = (k) => h('th', { scope: 'col' }, t(k));
    replace(listBox, h('div', { class: 'ad-scroll' }, h('table', { class: 'table' },
      h('caption', { class: 'visually-hidden' }, t('admin.tokens.list')),
      h('thead', {}, h('tr', {}, th('admin.tokens.col_id'), th('admin.tokens.col_scope'),
        th('admin.tokens.col_created'), th('admin.tokens.col_by'), th('admin.tokens.col_state'),
        th('admin.tokens.col_actions'))),
      h('tbody', {}, items.map((k) => h('tr', {},
        h('th', { scope: 'row' }, h('code', {}, k.id)),
        h('td', {}, t(`admin.scope.${k.scope}`)),
        h('td', {}, fmtDateTime(k.created_ms)),
        h('td', {}, k.created_by || '–'),
        h('td', {}, h('span', { class: `badge ${k.revoked ? 'ad-off' : 'ad-on'}` },
          t(k.revoked ? 'admin.tokens.revoked' : 'admin.tokens.active'))),
        h('td', {}, k.revoked ? '–' : h('button', { type: 'button', class: 'btn btn-danger',
          'aria-label': t('admin.tokens.revoke_one', { id: k.id.slice(0, 8) }),
          onclick: () => revoke(k.id) }, t('admin.tokens.revoke')))))))));
  }

  async function revoke(id) {
    replace(msg);
    try {
      await api('DELETE', `/tokens/${encodeURIComponent(id)}`);
      announce(t('admin.tokens.revoked_done', { id: id.slice(0, 8) }));
      replace(msg, h('p', { class: 'alert alert-info' },
        t('admin.tokens.revoked_done', { id: id.slice(0, 8) })));
      await load();
    } catch (e) {
      replace(msg, errorBox(e));
    }
  }

  const scope = h('select', { id: 'ad-scope', 'aria-describedby': 'ad-scope-hint' },
    SCOPES.map((s) => h('option', { value: s }, t(`admin.scope.${s}`))));
  const hint = h('p', { class: 'field-hint', id: 'ad-scope-hint' },
    t(`admin.scope.${SCOPES[0]}_hint`));
  scope.addEventListener('change', () => { hint.textContent = t(`admin.scope.${scope.value}_hint`); });
  const form = h('form', { class: 'card', 'aria-labelledby': 'ad-new-token-h',
    onsubmit: async (ev) => {
      ev.preventDefault();
      replace(msg);
      try {
        const r = await api('POST', '/tokens', { scope: scope.value });
        replace(once, shownOnce(t('admin.tokens.created', { scope: t(`admin.scope.${r.scope}`) }),
          [['ad-token', t('admin.tokens.token'), r.token || '']], t('admin.tokens.use_hint')));
        once.querySelector('input').focus();
        await load();
      } catch (e) {
        replace(msg, errorBox(e));
      }
    } },
  h('h2', { id: 'ad-new-token-h' }, t('admin.tokens.new')),
  h('div', { class: 'field' }, h('label', { for: scope.id }, t('admin.tokens.scope')), hint,
    scope),
  h('button', { type: 'submit', class: 'btn btn-primary' }, t('admin.tokens.create')));

  main.append(h('h1', {}, t('admin.tokens.title')),
    h('p', { class: 'muted' }, t('admin.tokens.lead')), once, msg,
    h('section', { 'aria-labelledby': 'ad-tokens-h' },
      h('h2', { id: 'ad-tokens-h' }, t('admin.tokens.list')), listBox),
    form);
  await load();
}
