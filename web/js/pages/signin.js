// Sign-in: name, password and, where the role needs it, the code from the
// authenticator app. Errors from haven-web are shown as they come (wrong
// name or password, locked out, code needed).
import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { field, errorBox, infoBox } from '../ui.js';

export function render(main, params, ctx) {
  const name = h('input', { type: 'text', name: 'name', autocomplete: 'username', required: true,
    autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { type: 'password', name: 'password', required: true,
    autocomplete: 'current-password' });
  const totp = h('input', { type: 'text', name: 'totp', inputmode: 'numeric',
    autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: '6' });
  const msg = h('div', { class: 'signin-msg' });
  const button = h('button', { type: 'submit', class: 'btn btn-primary' },
    t('common.signin.submit'));
  const form = h('form', { class: 'card signin', novalidate: true },
    field({ id: 'signin-name', label: t('common.signin.name'), control: name, required: true }),
    field({ id: 'signin-password', label: t('common.signin.password'), control: password,
      required: true }),
    field({ id: 'signin-totp', label: t('common.signin.totp'), hint: t('common.signin.totp_hint'),
      control: totp }),
    button);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    replace(msg);
    if (!name.value || !password.value) {
      msg.append(errorBox(new Error(t('common.signin.missing'))));
      (name.value ? password : name).focus();
      return;
    }
    button.disabled = true;
    const body = { name: name.value.trim(), password: password.value };
    if (totp.value) body.totp = totp.value.trim();
    try {
      const session = await api('POST', '/session', body);
      password.value = '';
      await ctx.signedIn(session);
    } catch (err) {
      button.disabled = false;
      password.value = '';
      msg.append(errorBox(err));
      (err.status === 401 && /code|TOTP/i.test(err.message) ? totp : password).focus();
    }
  });
  replace(main, h('h1', {}, t('common.signin.title')),
    params.message ? infoBox(params.message) : null, msg, form,
    h('p', { class: 'muted small' }, t('common.signin.help')));
  name.focus();
}
