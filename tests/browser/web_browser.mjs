// haven-web in a real browser: Debian's Chromium driven by playwright-core.
// A caseworker signs in through the test's page (fixture/, in haven-web's
// assets folder) and the browser-facing properties of the session are
// checked as the browser itself enforces them: the cookie is HttpOnly,
// Secure, SameSite=Strict and __Host-; state changes need the CSRF token;
// the Content-Security-Policy stops inline script; a request from another
// site carries no session.
// usage: node web_browser.mjs BASE_URL NAME PASSWORD REFERRAL_JSON
// Exits 0 when every step passed, 1 at the first that did not.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, name, password, referralFile] = process.argv.slice(2);
if (!referralFile) {
  console.error('usage: node web_browser.mjs BASE_URL NAME PASSWORD REFERRAL_JSON');
  process.exit(2);
}
const referral = readFileSync(referralFile, 'utf8');

let passed = 0;
async function step(what, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok - ${what}`);
  } catch (e) {
    console.log(`not ok - ${what}\n${String(e.stack || e).replace(/^/gm, '    ')}`);
    throw e;
  }
}

// Another site: a plain page on 127.0.0.2 (a different host, so a
// different site from 127.0.0.1) with a link to haven-web and a way to
// fetch from it with credentials.
const other = createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><title>Another site</title>
<a id="to-haven" href="${base}/api/v1/referrals">referrals</a>`);
});
await new Promise((ok, fail) => other.listen(0, '127.0.0.2', ok).on('error', fail));
const otherBase = `http://127.0.0.2:${other.address().port}`;

const profile = mkdtempSync(join(tmpdir(), 'hv-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  ignoreHTTPSErrors: true, // the test's own self-signed pair
});
context.setDefaultTimeout(15000);
// Before any page script: note every CSP violation the browser reports.
await context.addInitScript(() => {
  window.hvViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.hvViolations.push({ directive: e.effectiveDirective, blocked: e.blockedURI });
  });
});

let rc = 1;
try {
  const page = context.pages()[0] || await context.newPage();
  const call = (method, path, body, withToken = true) =>
    page.evaluate(([m, p, b, t]) => window.haven.call(m, p, b, t),
                  [method, path, body, withToken]);

  await step('caseworker opens the page and its module script runs', async () => {
    const res = await page.goto(`${base}/`);
    assert.equal(res.status(), 200);
    await page.waitForFunction(() => document.body.dataset.module === 'ran');
  });

  await step('caseworker signs in', async () => {
    await page.fill('#name', name);
    await page.fill('#password', password);
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.getElementById('status').dataset.code);
    assert.equal(await page.getAttribute('#status', 'data-code'), '201');
    assert.equal(await page.textContent('#status'), `signed in as ${name}`);
  });

  await step('the session cookie is __Host-, HttpOnly, Secure, SameSite=Strict, Path=/', async () => {
    const cookies = await context.cookies(base);
    assert.equal(cookies.length, 1, JSON.stringify(cookies));
    const c = cookies[0];
    assert.ok(c.name.startsWith('__Host-'), c.name);
    assert.equal(c.httpOnly, true);
    assert.equal(c.secure, true);
    assert.equal(c.sameSite, 'Strict');
    assert.equal(c.path, '/');
    assert.equal(c.domain, '127.0.0.1'); // host-only: no Domain attribute
  });

  await step("the page's script cannot read the session cookie", async () => {
    assert.equal(await page.evaluate(() => document.cookie), '');
  });

  await step('caseworker lists referrals: none yet', async () => {
    const r = await call('GET', '/api/v1/referrals');
    assert.equal(r.status, 200);
    assert.equal(r.json.total, 0);
  });

  await step('a referral sent without the CSRF token is refused and creates nothing', async () => {
    const r = await call('POST', '/api/v1/referrals', referral, false);
    assert.equal(r.status, 403);
    assert.equal(r.json.error, 'HV_EFORBIDDEN');
    const list = await call('GET', '/api/v1/referrals');
    assert.equal(list.status, 200);
    assert.equal(list.json.total, 0);
  });

  await step('caseworker sends a referral with the CSRF token and sees it listed', async () => {
    const r = await call('POST', '/api/v1/referrals', referral);
    assert.equal(r.status, 201, JSON.stringify(r.json));
    assert.match(r.json.id, /^[0-9a-f]{32}$/);
    const list = await call('GET', '/api/v1/referrals');
    assert.equal(list.status, 200);
    assert.equal(list.json.total, 1);
  });

  await step('the Content-Security-Policy stops an inline script in an asset page', async () => {
    const res = await page.goto(`${base}/inline.html`);
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-security-policy'], /^default-src 'self'/);
    await page.waitForFunction(() => document.body.dataset.module === 'ran'); // page loaded
    assert.equal(await page.textContent('#marker'), 'untouched');
    const v = await page.evaluate(() => window.hvViolations);
    assert.equal(v.length, 1, JSON.stringify(v));
    assert.match(v[0].directive, /^script-src/);
    assert.equal(v[0].blocked, 'inline');
  });

  const otherPage = await context.newPage();
  await step('a link from another site to the API arrives without the session (401)', async () => {
    await otherPage.goto(`${otherBase}/`);
    const [res] = await Promise.all([otherPage.waitForNavigation(), otherPage.click('#to-haven')]);
    assert.equal(res.status(), 401);
    assert.equal(JSON.parse(await res.text()).error, 'HV_EAUTH');
  });

  await step("another site's fetch with credentials carries no session (401)", async () => {
    await otherPage.goto(`${otherBase}/`);
    const seen = otherPage.waitForResponse((r) => r.url() === `${base}/api/v1/referrals`);
    // haven-web allows no other origin (no CORS headers), so the page
    // itself may read nothing ('no-cors': an opaque answer); the browser's
    // own record of the exchange says what haven-web answered.
    const inPage = await otherPage.evaluate((url) =>
      fetch(url, { credentials: 'include', mode: 'no-cors' }).then((r) => r.type),
      `${base}/api/v1/referrals`);
    const res = await seen;
    assert.equal(inPage, 'opaque');
    assert.equal(res.status(), 401);
    assert.equal((await res.request().allHeaders()).cookie, undefined);
  });

  await step('the session is still good on its own site', async () => {
    await page.goto(`${base}/`);
    await page.waitForFunction(() => document.body.dataset.module === 'ran');
    // A new page load has no token in memory: a read needs none.
    const r = await call('GET', '/api/v1/referrals');
    assert.equal(r.status, 200);
    assert.equal(r.json.total, 1);
  });

  await step('caseworker signs in again and signing out without the token is refused', async () => {
    await page.fill('#name', name);
    await page.fill('#password', password);
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.getElementById('status').dataset.code);
    assert.equal(await page.getAttribute('#status', 'data-code'), '201');
    const r = await call('DELETE', '/api/v1/session', undefined, false);
    assert.equal(r.status, 403);
    assert.equal(r.json.error, 'HV_EFORBIDDEN');
    assert.equal((await call('GET', '/api/v1/referrals')).status, 200);
  });

  await step('caseworker signs out with the token; the list is then 401', async () => {
    const r = await call('DELETE', '/api/v1/session');
    assert.equal(r.status, 200);
    const list = await call('GET', '/api/v1/referrals');
    assert.equal(list.status, 401);
    assert.equal(list.json.error, 'HV_EAUTH');
  });
  rc = 0;
} catch {
  rc = 1;
} finally {
  await context.close();
  other.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`${passed} steps passed${rc ? ', then one failed' : ''}`);
process.exit(rc);
