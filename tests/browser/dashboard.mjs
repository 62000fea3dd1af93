// The brokers' dashboards as an operator reads them (issue 23), in Debian's
// Chromium driven by playwright-core; test_dashboard_browser.sh makes the
// network and calls this once per phase:
//   network XA_URL XB_URL        XA's page: the stopped provider, its queue's
//                                oldest age, the dead letter with its reason and
//                                commands, the charts, the whole route up
//   down XA_URL XB_URL SHOT.png  after broker.xc stopped: XB's page shows its
//                                link to XC down with its duration; XA's route
//                                view shows XB ⇄ XC down, then broker.xc unknown
// axe-core's serious and critical findings fail the test; no console error.
// Exits 0 when every step passed, 1 at the first that did not.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const [phase, xa, xb, shot] = process.argv.slice(2);
if (!xb || (phase === 'down' && !shot)) {
  console.error('usage: node dashboard.mjs network|down XA_URL XB_URL [SHOT.png]');
  process.exit(2);
}

async function step(what, fn) {
  try {
    await fn();
    console.log(`ok - ${what}`);
  } catch (e) {
    console.log(`not ok - ${what}\n${String(e.stack || e).replace(/^/gm, '    ')}`);
    throw e;
  }
}

const profile = mkdtempSync(join(tmpdir(), 'hv-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium', headless: true, viewport: { width: 1400, height: 1300 },
  args: ['--no-sandbox', '--disable-gpu'],
});
const errors = [];
async function open(url) {
  const page = await context.newPage();
  // A failed load is judged by its response below (the browser's own ask
  // for /favicon.ico, which the broker does not serve, is not the page's).
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico') errors.push(`${r.status()} ${r.url()}`);
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  return page;
}
// The row of the table in region `region` that holds `text`, and its cells' texts.
function row(page, region, text) {
  return page.getByRole('region', { name: region, exact: true }).getByRole('row').filter({ hasText: text });
}
async function cells(r) {
  return (await r.getByRole('cell').allTextContents()).map((t) => t.trim());
}
async function axe(page, where) {
  await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  });
  assert.deepEqual(found, [], `axe at ${where}: ${found.join('; ')}`);
}
const T = { timeout: 20000 };

try {
  if (phase === 'network') {
    const page = await open(xa);
    await step('the operator opens XA\'s dashboard and sees which broker it is', async () => {
      await page.getByRole('heading', { level: 1, name: 'Haven broker broker.xa (XA)' }).waitFor(T);
    });
    await step('sees the stopped provider as disconnected, last seen, with a case waiting', async () => {
      const r = row(page, 'Nodes of this broker', 'shelter.xa');
      await r.getByRole('cell', { name: 'disconnected' }).waitFor(T);
      const c = await cells(r);
      assert.equal(c[1], 'provider');
      assert.match(c[3], /^last seen \d\d:\d\d:\d\d UTC, \d+ s ago$/);
      assert.equal(c[4], '1');
      assert.match(c[5], /^\d+ s$/);
      const ngo = await cells(row(page, 'Nodes of this broker', 'ngo.xa'));
      assert.equal(ngo[2], 'connected');
      assert.match(ngo[3], /^since \d\d:\d\d:\d\d UTC, \d+ (s|min)$/);
    });
    await step('sees the queue of shelter.xa with its oldest message\'s age', async () => {
      const c = await cells(row(page, 'Queues', 'shelter.xa'));
      assert.equal(c[1], '1');
      assert.match(c[2], /^\d+ s$/);
    });
    await step('sees the dead letter with its reason and the commands to act on it', async () => {
      const r = row(page, 'Dead letters', 'ngo.xa');
      await r.waitFor(T);
      const c = await cells(r);
      assert.match(c[0], /^[0-9a-f]{32}$/);
      assert.deepEqual(c.slice(1, 4), ['STATUS', 'legal.xa', 'ngo.xa']);
      assert.match(c[4], /^HV_ECRYPTO: /);
      const commands = await r.locator('code').allTextContents();
      assert.equal(commands.length, 2);
      assert.ok(commands[0].startsWith(`haven deadletters show ${c[0]} `), commands[0]);
      assert.ok(commands[1].startsWith(`haven deadletters requeue ${c[0]} `), commands[1]);
      assert.match(commands[0], / --broker broker\.xa /);
    });
    await step('sees rates and latency percentiles, and the last hour drawn', async () => {
      await page.getByRole('img', { name: 'messages per second over the last hour' })
        .locator('polyline').first().waitFor({ state: 'attached', timeout: 20000 });
      const pct = await page.locator('#latency_pct').textContent();
      assert.match(pct, /^(-|[\d.]+) \/ (-|[\d.]+) \/ (-|[\d.]+)$/);
    });
    await step('sees the whole route up: XA ⇄ XB ⇄ XC, and each broker heard of', async () => {
      for (const link of ['broker.xa \u21c4 broker.xb', 'broker.xb \u21c4 broker.xc']) {
        const r = row(page, 'Links between brokers', link);
        await r.getByRole('cell', { name: 'up', exact: true }).waitFor(T);
      }
      const c = await cells(row(page, 'Brokers', 'broker.xc'));
      assert.equal(c[1], 'up');
      assert.match(c[2], /^\d+ s ago \(via broker\.xb\)$/);
      assert.equal((await cells(row(page, 'Brokers', 'broker.xa')))[1], 'this broker');
    });
    await step('the page passes axe-core', async () => axe(page, 'XA network'));
  } else {
    const b = await open(xb);
    await step('XB\'s operator sees the link to broker.xc down, since when and for how long', async () => {
      const r = row(b, 'Peer brokers', 'broker.xc');
      await r.getByRole('cell', { name: /^DOWN since / }).first().waitFor(T);
      const c = await cells(r);
      assert.match(c[2], /^DOWN since \d\d:\d\d:\d\d UTC, \d+ s$/);
    });
    const page = await open(xa);
    await step('XA\'s route view shows XB ⇄ XC down with its duration, as XB reports it', async () => {
      const r = row(page, 'Links between brokers', 'broker.xb \u21c4 broker.xc');
      await r.getByRole('cell', { name: 'down', exact: true }).waitFor(T);
      const c = await cells(r);
      assert.match(c[2], /^\d\d:\d\d:\d\d UTC, \d+ s$/);
      assert.equal(c[3], 'broker.xb');
      assert.equal((await cells(row(page, 'Links between brokers', 'broker.xa \u21c4 broker.xb')))[1], 'up');
    });
    await step('broker.xc, which no longer shares, is shown as unknown, not healthy', async () => {
      const r = row(page, 'Brokers', 'broker.xc');
      await r.getByRole('cell', { name: 'unknown', exact: true }).waitFor(T);
      assert.match((await cells(r))[2], /^\d+ s ago \(via broker\.xb\)$/);
      assert.equal((await cells(row(page, 'Brokers', 'broker.xb')))[1], 'up');
      await page.getByRole('img', { name: 'the brokers of the route and their links' })
        .getByText('broker.xc ?').waitFor(T);
    });
    await step('the page passes axe-core', async () => axe(page, 'XA with XC gone'));
    await step('a screenshot of XA\'s dashboard is saved', async () => {
      await page.screenshot({ path: shot, fullPage: true });
    });
  }
  await step('no console error on any page', async () => assert.deepEqual(errors, []));
} catch {
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
