// The workbench's shell: who is signed in, the language, the menu of the
// person's pages and the hash router (#/path?query). Each area (intake,
// provider, router, admin) lists its pages in pages/AREA/routes.js.
import { api, setCsrf, setUnauthorised, setActivity } from './api.js';
import { h, replace } from './dom.js';
import { load, t, LANGS, lang, fmtDuration } from './i18n.js';
import * as events from './events.js';
import { errorBox } from './ui.js';
import * as signin from './pages/signin.js';

const AREAS = { intake: ['intake', 'form'], provider: ['provider'], router: ['router'] };
const WARN_MS = 2 * 60 * 1000; // "your session ends in 2 min" from here

const app = { session: null, routes: [], home: '/', cleanup: null, idleMs: 0, idleEnds: 0,
  absEnds: 0, chosenLang: null };

function $(id) { return document.getElementById(id); }

function pickLang() {
  if (app.chosenLang) return app.chosenLang;
  if (app.session && app.session.lang) return app.session.lang;
  const nav = (navigator.language || 'en').slice(0, 2);
  return LANGS.includes(nav) ? nav : 'en';
}

// The person's saved zone, else this computer's.
function zoneOf(session) {
  if (session.time_zone_saved) return session.time_zone;
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch (e) { return 'UTC'; }
}

function zones(current) {
  let all = [];
  try { all = Intl.supportedValuesOf('timeZone'); } catch (e) { all = []; }
  return [...new Set(['UTC', current, ...all])];
}

function areasOf(session) {
  if (!session) return ['common'];
  const own = session.role === 'admin' ? [] : AREAS[session.kind] || [];
  return ['common', ...own, 'admin'];
}

async function loadRoutes(session) {
  app.routes = [];
  app.home = '/';
  const areas = session.role === 'admin' ? ['admin'] : [AREAS[session.kind][0], 'admin'];
  for (const a of areas) {
    const m = await import(`./pages/${a}/routes.js`);
    for (const r of m.routes)
      if (r.roles.includes(session.role)) app.routes.push({ ...r, parts: r.path.split('/') });
    if (app.home === '/' && m.home && m.home[session.role]) app.home = m.home[session.role];
  }
}

function match(path) {
  const parts = path.split('/');
  for (const r of app.routes) {
    if (r.parts.length !== parts.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      if (!r.parts[i].startsWith(':')) { ok = r.parts[i] === parts[i]; continue; }
      // An id in the address is hex and nothing else (no path of its own).
      let v = '';
      try { v = decodeURIComponent(parts[i]); } catch (e) { ok = false; }
      ok = ok && /^[0-9a-f]{32}$/.test(v);
      params[r.parts[i].slice(1)] = v;
    }
    if (ok) return { route: r, params };
  }
  return null;
}

export function navigate(hash) {
  if (location.hash === `#${hash}`) show();
  else location.hash = hash;
}

function renderChrome() {
  $('brand').textContent = t('common.app.name');
  $('skip').textContent = t('common.app.skip');
  $('lang-label').textContent = t('common.lang.label');
  replace($('lang'), LANGS.map((l) => h('option', { value: l, selected: l === lang() },
    t(`common.lang.${l}`))));
  const s = app.session;
  const tz = $('tz');
  tz.hidden = !s;
  $('tz-label').textContent = t('common.tz.label');
  if (s) {
    const zone = zoneOf(s);
    replace(tz, zones(zone).map((z) => h('option', { value: z, selected: z === zone }, z)));
  }
  $('signout').hidden = !s;
  $('signout').textContent = t('common.action.signout');
  replace($('who'), s ? [h('span', { class: 'who-name' }, s.staff), ' · ',
    t(`common.role.${s.role}`), ' · ', h('span', { class: 'who-node' }, s.node)] : []);
  const nav = $('nav');
  nav.setAttribute('aria-label', t('common.nav.label'));
  replace(nav, s ? h('ul', {}, app.routes.filter((r) => r.nav).map((r) =>
    h('li', {}, h('a', { href: `#${r.path}`, 'data-path': r.path }, t(r.nav))))) : []);
  document.title = t('common.app.name');
  tickClock();
}

// The menu entry of the page: the longest that the path is or lies under
// (#/referrals/new is "New referral", not also "Referrals").
function markNav(path) {
  const links = [...document.querySelectorAll('#nav a')];
  const under = (p) => path === p || path.startsWith(`${p}/`);
  const best = links.filter((a) => under(a.dataset.path))
    .sort((a, b) => b.dataset.path.length - a.dataset.path.length)[0];
  for (const a of links) {
    if (a === best) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

// show({redraw: true}) draws the same page again (another language or time
// zone) and hands it what it kept of itself, in memory only.
async function show({ redraw = false } = {}) {
  let kept = null;
  if (app.cleanup) {
    try {
      if (redraw && app.cleanup.keep) kept = app.cleanup.keep();
      app.cleanup();
    } catch (e) { console.warn(e); }
    app.cleanup = null;
  }
  // Each page draws into a view of its own: a page still loading when the
  // person moves on draws into a view that is no longer on the screen.
  const main = h('div', { class: 'view' });
  replace($('main'), main);
  if (!app.session) return;
  const raw = location.hash.replace(/^#/, '') || app.home;
  const [path, query] = raw.split('?');
  const found = match(path);
  if (!found) { navigate(app.home); return; }
  const params = { ...Object.fromEntries(new URLSearchParams(query || '')), ...found.params };
  if (kept) params.kept = kept;
  markNav(path);
  try {
    const page = await found.route.load();
    const cleanup = await page.render(main, params, { session: app.session, navigate });
    // A page that finished after the person moved on stops at once.
    if (typeof cleanup === 'function') {
      if (main.isConnected) app.cleanup = cleanup; else cleanup();
    }
  } catch (e) {
    if (e && e.status === 401) return;
    console.warn(e);
    main.append(errorBox(e));
  }
  if (!main.isConnected) return; // the person has moved on
  const h1 = main.querySelector('h1');
  // The title names the page, never a referral: titles go into the
  // browser's history on disk.
  document.title = found.route.nav ? `${t(found.route.nav)} · ${t('common.app.name')}`
    : t('common.app.name');
  if (h1) {
    h1.setAttribute('tabindex', '-1');
    h1.focus({ preventScroll: true });
  }
}

// --- the session's clock: idle and absolute ends, warning before the end
function setClock(s) {
  const now = Date.now();
  // In this computer's time: its clock may be off from haven-web's.
  const server = s.now_ms || now;
  app.idleMs = Math.max(0, s.idle_ends_ms - server);
  app.absEnds = now + ((s.absolute_ends_ms || s.ends_ms) - server);
  app.idleEnds = now + app.idleMs;
}

function activity() { if (app.session) app.idleEnds = Date.now() + app.idleMs; }

function tickClock() {
  const el = $('session-left');
  if (!app.session) { el.textContent = ''; replace($('banner')); return; }
  const left = Math.min(app.idleEnds, app.absEnds) - Date.now();
  if (left <= 0) { ended(); return; }
  el.textContent = t('common.session.ends', { d: fmtDuration(left) });
  const banner = $('banner');
  if (left < WARN_MS && !banner.firstChild) {
    // Staying helps only against the idle end; the absolute end is final.
    const stay = app.absEnds <= app.idleEnds ? null : h('button', { type: 'button',
      class: 'btn btn-primary', onclick: async () => {
        try { setClock(await api('GET', '/session')); } catch (e) { /* 401 handled */ }
        replace(banner); } }, t('common.session.stay'));
    replace(banner, h('div', { class: 'alert alert-info', role: 'alert' },
      t('common.session.warning', { d: fmtDuration(left) }), ' ', stay));
  } else if (left >= WARN_MS && banner.firstChild) replace(banner);
}

// --- signing in and out
async function signedIn(session) {
  app.session = session;
  setCsrf(session.csrf_token);
  setClock(session);
  if (app.chosenLang && app.chosenLang !== session.lang) await savePreferences({ lang: app.chosenLang });
  await load(pickLang(), areasOf(session), zoneOf(session));
  await loadRoutes(session);
  renderChrome();
  // Admins see no referrals, so they have no events to follow.
  if (session.role !== 'admin') events.start(() => ended());
  await show();
}

async function savePreferences(body) {
  try {
    Object.assign(app.session, await api('PUT', '/session/preferences', body));
  } catch (e) {
    console.warn('preferences not saved', e.message);
  }
}

function showSignin(message) {
  events.stop();
  app.session = null;
  setCsrf('');
  renderChrome();
  if (app.cleanup) { app.cleanup(); app.cleanup = null; }
  signin.render($('main'), { message }, { signedIn });
}

// The session ended (timed out, signed out elsewhere, or a 401): the page
// is reloaded so that nothing of a case stays in this document's memory.
function ended() {
  if (!app.session) return;
  location.replace('/#/?ended=1');
  location.reload();
}

// Signed out only when haven-web says so; otherwise the person is told and
// stays where they are (a reload would find the session still open).
async function signOut() {
  try {
    await api('DELETE', '/session');
  } catch (e) {
    if (e.status !== 401) {
      replace($('banner'), errorBox(e));
      return;
    }
  }
  app.session = null;
  location.replace('/');
}

// A page brought back from the browser's back-forward cache after a
// sign-out would show what was on it: it is loaded afresh instead.
window.addEventListener('pageshow', (e) => { if (e.persisted) location.reload(); });

async function boot() {
  setUnauthorised(() => ended());
  setActivity(activity);
  $('skip').addEventListener('click', () => $('main').focus());
  $('signout').addEventListener('click', signOut);
  $('lang').addEventListener('change', async (e) => {
    app.chosenLang = e.target.value;
    if (app.session) {
      await savePreferences({ lang: app.chosenLang });
      await load(app.chosenLang, areasOf(app.session), zoneOf(app.session));
      renderChrome();
      await show({ redraw: true });
    } else {
      // The name typed so far stays (never the password: it is typed again).
      const typed = $('signin-name') ? $('signin-name').value : '';
      await load(app.chosenLang, ['common']);
      showSignin();
      if ($('signin-name')) $('signin-name').value = typed;
    }
  });
  $('tz').addEventListener('change', async (e) => {
    await savePreferences({ time_zone: e.target.value });
    await load(lang(), areasOf(app.session), zoneOf(app.session));
    renderChrome();
    await show({ redraw: true });
  });
  window.addEventListener('hashchange', () => { if (app.session) show(); });
  setInterval(tickClock, 1000);
  let session = null;
  try { session = await api('GET', '/session'); } catch (e) { session = null; }
  if (session) { await signedIn(session); return; }
  await load(pickLang(), ['common']);
  const ended_ = location.hash.includes('ended=1');
  showSignin(ended_ ? t('common.session.ended') : null);
}

boot().catch((e) => {
  console.error(e);
  replace($('main'), h('p', { role: 'alert' }, String(e.message || e)));
});
