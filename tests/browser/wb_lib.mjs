// What the workbench's browser tests share: Debian's Chromium with a
// profile of its own per person, sign-in (with TOTP codes computed here as
// RFC 6238 says), the catalogues to find controls by their label in each
// language, and the checks every page gets: no console error, nothing
// loaded from outside haven-web, axe-core's serious and critical findings,
// text that overlaps or is clipped.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// --- TOTP (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits), each step used once
function base32(s) {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of s.replace(/=+$/, '').toUpperCase()) {
    const v = abc.indexOf(c);
    if (v < 0) throw new Error(`not base32: ${c}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const out = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) out.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(out);
}

function hotp(key, counter) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(msg).digest();
  const o = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

const usedStep = new Map();
// A code not yet used for `secret`, waiting for the next step if needed.
export async function totp(secret) {
  let step = Math.floor(Date.now() / 30000);
  while (usedStep.get(secret) >= step) {
    await new Promise((r) => setTimeout(r, 1000));
    step = Math.floor(Date.now() / 30000);
  }
  usedStep.set(secret, step);
  return hotp(base32(secret), step);
}

// --- catalogues: L(lang, key) is what the page shows for `key`
const catalogues = {};
export function loadCatalogues(webDir) {
  for (const l of ['en', 'fr', 'ar']) {
    catalogues[l] = {};
    for (const f of readdirSync(join(webDir, 'i18n', l)))
      Object.assign(catalogues[l], JSON.parse(readFileSync(join(webDir, 'i18n', l, f), 'utf8')));
  }
}
export function L(lang, key, vars) {
  let s = catalogues[lang][key];
  assert.ok(s !== undefined, `no string ${key} in ${lang}`);
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, n) => (n in vars ? String(vars[n]) : m));
  return s;
}

// What the pages are made of, as served: path -> bytes.
export const assetSizes = new Map();
export function assetReport() {
  const all = [...assetSizes.entries()].sort((a, b) => b[1] - a[1]);
  const total = all.reduce((n, [, b]) => n + b, 0);
  return `the workbench's files as served: ${all.length} files, ${(total / 1024).toFixed(1)} KiB ` +
    `in all; largest ${all.slice(0, 3).map(([p, b]) => `${p} ${(b / 1024).toFixed(1)} KiB`).join(', ')}`;
}

// --- a person: a browser profile of their own and the page's guards
export async function person(base, { name, lang = 'en', viewport } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'hv-wb-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--lang=${lang === 'en' ? 'en-GB' : lang}`],
    locale: lang === 'ar' ? 'ar' : lang === 'fr' ? 'fr-FR' : 'en-GB',
    timezoneId: 'Africa/Tunis',
    ignoreHTTPSErrors: true, // the demo's self-signed pair
    viewport: viewport || { width: 1280, height: 900 },
  });
  context.setDefaultTimeout(20000);
  const page = context.pages()[0] || await context.newPage();
  const who = { name, lang, base, profile, context, page, faults: [], outside: [] };
  page.on('pageerror', (e) => who.faults.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // A refused request is shown by the page; the browser's own line about
    // its status is not a fault of the page.
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text()))
      who.faults.push(`console error: ${m.text()}`);
  });
  context.on('response', async (r) => {
    const u = new URL(r.url());
    if (r.request().method() !== 'GET' || u.pathname.startsWith('/api/') || !r.ok()) return;
    const len = Number(r.headers()['content-length'] || 0) ||
      (await r.body().catch(() => Buffer.alloc(0))).length;
    assetSizes.set(u.pathname, len);
  });
  context.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(`${base}/`) && !u.startsWith('data:') && !u.startsWith('blob:'))
      who.outside.push(u);
  });
  return who;
}

export function clean(who, where) {
  assert.deepEqual(who.faults, [], `${who.name} at ${where}: ${who.faults.join('; ')}`);
  assert.deepEqual(who.outside, [], `${who.name} at ${where} loaded from outside haven-web`);
}

export async function signIn(who, { staff, password, secret }) {
  const { page, lang } = who;
  await page.goto(`${who.base}/`);
  await page.locator('#signin-name').waitFor();
  // The page starts in the browser's language; choose another only if it differs.
  if (await page.evaluate(() => document.documentElement.lang) !== lang) {
    await page.locator('#lang').selectOption(lang);
    await page.waitForFunction((l) => document.documentElement.lang === l, lang);
  }
  await page.getByRole('heading', { level: 1, name: L(lang, 'common.signin.title') }).waitFor();
  await page.fill('#signin-name', staff);
  await page.fill('#signin-password', password);
  if (secret) await page.fill('#signin-totp', await totp(secret));
  await page.getByRole('button', { name: L(lang, 'common.signin.submit') }).click();
  await page.locator('#signout:not([hidden])').waitFor();
  // A language saved earlier wins over the browser's: choose this one again.
  if (await page.evaluate(() => document.documentElement.lang) !== lang) {
    await page.locator('#lang').selectOption(lang);
    await page.waitForFunction((l) => document.documentElement.lang === l, lang);
  }
}

export async function signOut(who) {
  await who.page.locator('#signout').click();
  await who.page.getByRole('heading', { level: 1,
    name: L(who.lang, 'common.signin.title') }).waitFor();
}

// axe-core's serious and critical findings on the page as it is now. The
// script goes in through the DevTools protocol, not a <script>: the
// page's Content-Security-Policy stays as strict as it is.
export async function axe(who, where) {
  await who.page.evaluate(axeSource);
  const found = await who.page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  });
  assert.deepEqual(found, [], `axe at ${where} (${who.lang}): ${found.join('; ')}`);
  return found.length;
}

// Visible text that is clipped by its box, or boxes of text that overlap
// each other: what breaks when a translation is longer or runs right to left.
export async function layout(who, where) {
  const faults = await who.page.evaluate(() => {
    const out = [];
    const leaves = [];
    for (const el of document.querySelectorAll('body *')) {
      // Not drawn: hidden, display none, or inside a closed <details>.
      if (!el.checkVisibility({ visibilityProperty: true })) continue;
      const cs = getComputedStyle(el);
      if (el.classList.contains('visually-hidden') || el.closest('.visually-hidden')) continue;
      const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!own) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const clips = ['hidden', 'clip'].includes(cs.overflowX) || ['hidden', 'clip'].includes(cs.overflowY);
      if (clips && (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1) &&
          el.tagName !== 'SELECT' && el.tagName !== 'OPTION')
        out.push(`clipped: ${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 40)}"`);
      // the text's own extent, not the element's (a block is as wide as its parent)
      const range = document.createRange();
      range.selectNodeContents(el);
      for (const rr of range.getClientRects()) if (rr.width > 0 && rr.height > 0) leaves.push({ el, r: rr });
    }
    for (let i = 0; i < leaves.length; i++) {
      for (let j = i + 1; j < leaves.length; j++) {
        const a = leaves[i], b = leaves[j];
        if (a.el === b.el || a.el.contains(b.el) || b.el.contains(a.el)) continue;
        const x = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
        const y = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
        if (x > 2 && y > 2)
          out.push(`overlap: "${a.el.textContent.trim().slice(0, 30)}" and "${b.el.textContent.trim().slice(0, 30)}"`);
      }
    }
    return [...new Set(out)].slice(0, 10);
  });
  assert.deepEqual(faults, [], `layout at ${where} (${who.lang}): ${faults.join('; ')}`);
}

// Two frames: what the page drew last is on the screen (countdowns, lists).
export function settle(page) {
  return page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

// Every check a page gets, and a screenshot when `shots` is a folder.
export async function checkPage(who, where, shots) {
  await settle(who.page);
  await axe(who, where);
  await layout(who, where);
  clean(who, where);
  if (shots) await who.page.screenshot({ path: join(shots, `${where}-${who.lang}.png`),
    fullPage: true });
}

let steps = 0;
export async function step(what, fn) {
  const t0 = Date.now();
  try {
    await fn();
    steps++;
    console.log(`ok - ${what} (${Date.now() - t0} ms)`);
  } catch (e) {
    console.log(`not ok - ${what}\n${String(e.stack || e).replace(/^/gm, '    ')}`);
    throw e;
  }
}
export function stepsPassed() { return steps; }
