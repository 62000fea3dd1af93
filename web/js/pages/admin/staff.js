// #/staff: the accounts of this node's haven-web (name, role, enabled,
// second factor, lockout) with what an administrator does to them: add,
// disable or enable, reset the password, change the role, lift a lockout,
// enrol a second factor (its secret shown once), and lift an address's
// sign-in throttle. Administrators see no case content.
import { api } from '../../api.js';
import { h, replace } from '../../dom.js';
import { t } from '../../i18n.js';
import { errorBox, announce } from '../../ui.js';
import { shownOnce } from './secret.js';

// The roles a node's staff may have (hv_web_role_valid).
function roles(session) {
  return session.kind === 'router' ? ['coordinator', 'admin']
    : ['caseworker', 'supervisor', 'admin'];
}

const NAME = '[a-z0-9._\\-]{1,64}';
const NAME_RE = /^[a-z0-9._-]{1,64}$/;

// Checks a control before sending: the error in the person's language at
// the field (not the browser's bubble), linked by aria-describedby.
function check(control, ok, key) {
  const id = `${control.id}-err`;
  let err = document.getElementById(id);
  if (!err) {
    err = h('p', { id, class: 'field-error', role: 'alert', hidden: true });
    control.after(err);
    const d = control.getAttribute('aria-describedby');
    control.setAttribute('aria-describedby', d ? `${d} ${id}` : id);
  }
  err.hidden = ok;
  err.textContent = ok ? '' : t(key);
  if (ok) control.removeAttribute('aria-invalid');
  else { control.setAttribute('aria-invalid', 'true'); control.focus(); }
  return ok;
}

export async function render(main, params, ctx) {
  const once = h('div', {});
  const msg = h('div', {});
  const listBox = h('div', {});
  const roleList = roles(ctx.session);
  let openRow = '';

  async function act(fn, what, vars) {
    replace(msg);
    try {
      const r = await fn();
      announce(t(what, vars));
      replace(msg, h('p', { class: 'alert alert-info' }, t(what, vars)));
      await load();
      return r || true;
    } catch (e) {
      replace(msg, errorBox(e));
      return null;
    }
  }
  const post = (name, op, body) =>
    api('POST', `/staff/${encodeURIComponent(name)}/${op}`, body);

  async function enrol(name) {
    replace(msg);
    try {
      const r = await post(name, 'totp');
      replace(once, shownOnce(t('admin.totp.title', { name }), [
        ['ad-totp-secret', t('admin.totp.secret'), r.secret || ''],
        ['ad-totp-uri', t('admin.totp.uri'), r.otpauth_uri || ''],
      ], t('admin.totp.hint')));
      once.querySelector('input').focus();
      await load();
    } catch (e) {
      replace(msg, errorBox(e));
    }
  }

  function row(s) {
    const rid = `ad-${s.name}`;
    const roleSel = h('select', { id: `${rid}-role` }, roleList.map((r) =>
      h('option', { value: r, selected: r === s.role }, t(`admin.role.${r}`))));
    const pw = h('input', { id: `${rid}-pw`, type: 'password', minlength: '12',
      autocomplete: 'new-password', required: true, 'aria-describedby': 'ad-pw-hint' });
    return h('tr', {},
      h('th', { scope: 'row' }, s.name),
      h('td', {}, t(`admin.role.${s.role}`)),
      h('td', {}, h('span', { class: `badge ${s.disabled ? 'ad-off' : 'ad-on'}` },
        t(s.disabled ? 'admin.staff.disabled' : 'admin.staff.enabled'))),
      h('td', {}, t(s.totp ? 'admin.staff.totp_yes' : 'admin.staff.totp_no')),
      h('td', {}, s.locked ? h('span', { class: 'badge ad-locked' }, t('admin.staff.locked'))
        : t('admin.staff.not_locked')),
      h('td', {}, manage(s.name, h('div', { class: 'ad-manage-body', id: `${rid}-panel`,
        hidden: openRow !== s.name },
          h('div', { class: 'ad-row' },
            h('button', { type: 'button', class: s.disabled ? 'btn' : 'btn btn-danger',
              onclick: () => act(() => post(s.name, s.disabled ? 'enable' : 'disable'),
                s.disabled ? 'admin.staff.enabled_done' : 'admin.staff.disabled_done',
                { name: s.name }) },
            t(s.disabled ? 'admin.staff.enable' : 'admin.staff.disable')),
            s.locked && h('button', { type: 'button', class: 'btn',
              onclick: () => act(() => post(s.name, 'unlock'), 'admin.staff.unlocked_done',
                { name: s.name }) }, t('admin.staff.unlock')),
            h('button', { type: 'button', class: 'btn', onclick: () => enrol(s.name) },
              t(s.totp ? 'admin.totp.reenrol' : 'admin.totp.enrol'))),
          h('form', { class: 'ad-row', onsubmit: (ev) => {
            ev.preventDefault();
            act(() => post(s.name, 'role', { role: roleSel.value }), 'admin.staff.role_done',
              { name: s.name, role: t(`admin.role.${roleSel.value}`) });
          } },
          h('div', { class: 'field' }, h('label', { for: roleSel.id }, t('admin.staff.role')),
            roleSel),
          h('button', { type: 'submit', class: 'btn' }, t('admin.staff.change_role'))),
          h('form', { class: 'ad-row', novalidate: true, onsubmit: (ev) => {
            ev.preventDefault();
            if (!check(pw, pw.value.length >= 12, 'admin.staff.password_short')) return;
            act(() => post(s.name, 'reset-password', { password: pw.value }),
              'admin.staff.password_done', { name: s.name });
          } },
          h('div', { class: 'field' }, h('label', { for: pw.id }, t('admin.staff.new_password')),
            pw),
          h('button', { type: 'submit', class: 'btn' }, t('admin.staff.reset_password')))))));
  }

  // A row's actions behind a disclosure button; the open one stays open
  // when the list is drawn again after an action.
  function manage(name, panel) {
    const toggle = h('button', { type: 'button', class: 'btn btn-quiet ad-toggle',
      'aria-expanded': String(!panel.hidden), 'aria-controls': panel.id, onclick: () => {
        panel.hidden = !panel.hidden;
        toggle.setAttribute('aria-expanded', String(!panel.hidden));
        openRow = panel.hidden ? '' : name;
      } }, t('admin.staff.manage', { name }));
    return [toggle, panel];
  }

  async function load() {
    let r;
    try {
      r = await api('GET', '/staff');
    } catch (e) {
      replace(listBox, errorBox(e));
      return;
    }
    const th = (k) => h('th', { scope: 'col' }, t(k));
    replace(listBox, h('div', { class: 'ad-scroll' }, h('table', { class: 'table' },
      h('caption', { class: 'visually-hidden' }, t('admin.staff.list')),
      h('thead', {}, h('tr', {}, th('admin.staff.col_name'), th('admin.staff.col_role'),
        th('admin.staff.col_account'), th('admin.staff.col_totp'), th('admin.staff.col_locked'),
        th('admin.staff.col_actions'))),
      h('tbody', {}, (r.items || []).map(row)))));
  }

  const name = h('input', { id: 'ad-new-name', type: 'text', required: true, pattern: NAME,
    maxlength: '64', autocomplete: 'off', 'aria-describedby': 'ad-name-hint' });
  const role = h('select', { id: 'ad-new-role' }, roleList.map((r) =>
    h('option', { value: r }, t(`admin.role.${r}`))));
  const pw = h('input', { id: 'ad-new-pw', type: 'password', required: true, minlength: '12',
    autocomplete: 'new-password', 'aria-describedby': 'ad-pw-hint' });
  const addForm = h('form', { class: 'card ad-add', 'aria-labelledby': 'ad-add-h',
    novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      const n = name.value.trim();
      const pwOk = check(pw, pw.value.length >= 12, 'admin.staff.password_short');
      if (!check(name, NAME_RE.test(n), 'admin.staff.name_invalid') || !pwOk) return;
      const ok = await act(() => api('POST', '/staff', { name: n, role: role.value,
        password: pw.value }), 'admin.staff.added', { name: n, role: t(`admin.role.${role.value}`) });
      if (ok) { name.value = ''; pw.value = ''; }
    } },
  h('h2', { id: 'ad-add-h' }, t('admin.staff.add')),
  h('div', { class: 'grid-2' },
    h('div', { class: 'field' }, h('label', { for: name.id }, t('admin.staff.name')),
      h('p', { class: 'field-hint', id: 'ad-name-hint' }, t('admin.staff.name_hint')), name),
    h('div', { class: 'field' }, h('label', { for: role.id }, t('admin.staff.role')), role)),
  h('div', { class: 'field' }, h('label', { for: pw.id }, t('admin.staff.password')),
    h('p', { class: 'field-hint', id: 'ad-pw-hint' }, t('admin.staff.password_hint')), pw),
  h('button', { type: 'submit', class: 'btn btn-primary' }, t('admin.staff.add_button')));

  const addr = h('input', { id: 'ad-addr', type: 'text', required: true, maxlength: '64',
    autocomplete: 'off', 'aria-describedby': 'ad-addr-hint' });
  const addrForm = h('form', { class: 'card ad-addr', 'aria-labelledby': 'ad-addr-h',
    novalidate: true, onsubmit: (ev) => {
      ev.preventDefault();
      const a = addr.value.trim();
      if (!check(addr, a !== '', 'admin.address.required')) return;
      act(() => api('POST', '/staff/unlock-address', { address: a }),
        'admin.address.done', { address: a }).then((ok) => { if (ok) addr.value = ''; });
    } },
  h('h2', { id: 'ad-addr-h' }, t('admin.address.title')),
  h('div', { class: 'field' }, h('label', { for: addr.id }, t('admin.address.label')),
    h('p', { class: 'field-hint', id: 'ad-addr-hint' }, t('admin.address.hint')), addr),
  h('button', { type: 'submit', class: 'btn' }, t('admin.address.button')));

  main.append(h('h1', {}, t('admin.staff.title')),
    h('p', { class: 'muted' }, t('admin.staff.lead')), once, msg,
    h('section', { 'aria-labelledby': 'ad-list-h' },
      h('h2', { id: 'ad-list-h' }, t('admin.staff.list')), listBox),
    h('div', { class: 'grid-2' }, addForm, addrForm));
  await load();
}
