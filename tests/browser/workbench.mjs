// The workbench across the three-country demo network, driven only through
// its pages in Debian's Chromium: a caseworker at ngo.xa fills the form
// (first with a mistake, to see the located errors) and submits; a
// supervisor at shelter.xc sees the offer arrive without a reload and
// accepts; a caseworker there opens the case file and reports in_progress,
// the two caseworkers write to each other on their pages (each sees the
// other's message live, the shelter's is marked read), then completed; the
// caseworker at ngo.xa sees each step on the timeline.
// The same flow runs in English, French and Arabic, and every page is
// checked (axe-core, layout, console, nothing from outside haven-web) and
// photographed. In English also: the form by keyboard alone, a referral
// written while the country's broker is down ("waiting to be sent"), a
// withdrawal that the shelter sees as erased, the NGO's supervisor, the
// coordinator and the admins; last, after sign-out, nothing of the person
// is in any browser's storage or profile on disk.
// usage: node workbench.mjs WEB_DIR ACCOUNTS_FILE DEMO_DIR [SCREENSHOT_DIR]
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { appendFileSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { L, loadCatalogues, person, signIn, signOut, checkPage, clean, step,
  stepsPassed, assetReport } from './wb_lib.mjs';

const [webDir, accountsFile, demoDir, shots] = process.argv.slice(2);
if (!demoDir) {
  console.error('usage: node workbench.mjs WEB_DIR ACCOUNTS_FILE DEMO_DIR [SCREENSHOT_DIR]');
  process.exit(2);
}
loadCatalogues(webDir);
const shotDir = shots || null;

// The demo's accounts: "NODE NAME ROLE password PW [TOTP secret S]".
const accounts = {};
for (const line of readFileSync(accountsFile, 'utf8').split('\n')) {
  const f = line.trim().split(/\s+/);
  if (f.length < 5) continue;
  accounts[`${f[1]}@${f[0]}`] = { staff: f[1], password: f[4], secret: f[7] };
}
const BASE = { 'ngo-xa': 'https://127.0.0.1:8443', 'shelter-xc': 'https://127.0.0.1:8444',
  'router-xc': 'https://127.0.0.1:8445' };
const everyone = [];
async function open(node, staff, lang, { checkSignin = false } = {}) {
  const who = await person(BASE[node], { name: `${staff}@${node}`, lang });
  everyone.push(who);
  if (checkSignin) {
    await who.page.goto(`${who.base}/`);
    await who.page.locator('#signin-name').waitFor();
    await checkPage(who, 'signin', null);
  }
  await signIn(who, accounts[`${staff}@${node}`]);
  return who;
}

// A synthetic person; the markers are searched for in the browsers' profiles.
const FAMILY = 'Wbtestperson';
const PHONE = '+000 555 0177';

// --- the form, by mouse or by keyboard alone
function formOps(who, keyboard) {
  const { page } = who;
  async function tabTo(selector) {
    for (let i = 0; i < 400; i++) {
      if (await page.evaluate((s) => document.activeElement &&
        document.activeElement.matches(s), selector)) return;
      await page.keyboard.press('Tab');
    }
    throw new Error(`Tab never reached ${selector}`);
  }
  return {
    async text(id, v) {
      const sel = `#rf-${id}`;
      if (!keyboard) { await page.fill(sel, v); return; }
      await tabTo(sel);
      const type = await page.getAttribute(sel, 'type');
      if (type === 'date') { const [y, m, d] = v.split('-'); await page.keyboard.type(`${d}${m}${y}`); }
      else if (type === 'datetime-local') {
        const [date, time] = v.split('T'); const [y, m, d] = date.split('-');
        // A year takes up to six digits: Tab moves on to the hours, which
        // this Chromium shows on a 12-hour clock with AM/PM.
        const [hh, mm] = time.split(':').map(Number);
        await page.keyboard.type(`${d}${m}${y}`);
        await page.keyboard.press('Tab');
        await page.keyboard.type(`${String(hh % 12 || 12).padStart(2, '0')}${String(mm).padStart(2, '0')}`);
        await page.keyboard.type(hh < 12 ? 'A' : 'P');
      } else await page.keyboard.type(v);
      assert.equal(await page.inputValue(sel), v, `typed into ${sel}`);
    },
    async radio(id, i) {
      const sel = `#rf-${id}-${i}`;
      if (!keyboard) { await page.check(sel); return; }
      await tabTo(`[name="${await page.getAttribute(sel, 'name')}"]`);
      // Arrows move and select within a group; Space selects the first.
      await page.keyboard.press('Space');
      for (let k = 0; k < 10 && !(await page.isChecked(sel)); k++)
        await page.keyboard.press(who.lang === 'ar' ? 'ArrowLeft' : 'ArrowRight');
      assert.ok(await page.isChecked(sel), `${sel} chosen by keyboard`);
    },
    async check(sel) {
      if (!keyboard) { await page.check(sel); return; }
      await tabTo(sel);
      await page.keyboard.press('Space');
      assert.ok(await page.isChecked(sel), `${sel} ticked by keyboard`);
    },
    async select(id, value) {
      const sel = `#rf-${id}`;
      if (!keyboard) { await page.selectOption(sel, value); return; }
      await tabTo(sel);
      for (let k = 0; k < 40 && (await page.inputValue(sel)) !== value; k++)
        await page.keyboard.press('ArrowDown');
      assert.equal(await page.inputValue(sel), value, `${sel} chosen by keyboard`);
    },
    async button(name) {
      const b = page.getByRole('button', { name, exact: true }).first();
      if (!keyboard) { await b.click(); return; }
      await b.evaluate((el) => { el.dataset.hvTarget = '1'; });
      await tabTo('[data-hv-target="1"]');
      await page.evaluate(() => document.querySelector('[data-hv-target]').removeAttribute('data-hv-target'));
      await page.keyboard.press('Enter');
    },
  };
}

async function fillReferral(who, { keyboard = false, given = 'Amina', ref } = {}) {
  const f = formOps(who, keyboard);
  const lang = who.lang;
  if (ref) await f.text('reference', ref);
  await f.text('subject-names-0-given', given);
  await f.text('subject-names-0-family', FAMILY);
  // Day and month alike: typed the same whichever order the locale's date field has.
  await f.text('subject-date_of_birth', '1998-04-04');
  await f.radio('subject-sex', 0);
  await f.button(L(lang, 'form.add.subject.nationalities'));
  await f.text('subject-nationalities-0', 'XA');
  await f.text('subject-languages-0', 'ti');
  await f.button(L(lang, 'form.add.subject.languages'));
  await f.text('subject-languages-1', 'en');
  await f.radio('subject-interpreter_needed', 0);
  await f.select('subject-safe_contact-method', 'phone');
  await f.text('subject-safe_contact-value', PHONE);
  await f.radio('minor', 1);
  await f.radio('identification-status', 0);
  await f.check('#rf-exploitation-1');
  await f.radio('smuggled_migrant', 0);
  await f.radio('risk-level', 2);
  await f.radio('consent-services', 0);
  await f.check('#rf-consent-share_with-0');
  await f.radio('consent-obtained_from', 0);
  await f.text('consent-obtained_at', '2026-11-11T10:30');
  await f.text('consent-obtained_by', 'Caseworker 14');
  await f.radio('consent-legal_basis', 0);
  await f.select('stage', 'first_assistance');
  await f.select('needs-0-category', 'shelter');
  await f.radio('needs-0-urgency', 2);
  await f.select('request-service', 'shelter');
  await f.text('request-reason', 'Immediate safe accommodation.');
  await f.text('request-respond_by', '2099-12-12T12:00');
  await f.text('destination-country', 'XC');
  return f;
}

async function newReferral(cw) {
  await cw.page.locator('#nav').getByRole('link', { name: L(cw.lang, 'intake.nav.new'), exact: true }).click();
  await cw.page.waitForSelector('.referral-form');
}

async function submitted(cw) {
  await cw.page.waitForURL(/#\/referrals\/[0-9a-f]{32}$/);
  await cw.page.waitForSelector('.timeline li');
  return cw.page.url().split('/').pop();
}

// The inbox lists each open offer with its own Accept button; after the
// link to one offer is clicked, its case page (the only one with the
// summary heading) is the one whose Accept is meant, not the inbox's,
// which may still be drawn and may hold other open offers.
async function acceptOnCasePage(who, lang) {
  const summary = who.page.locator('section[aria-labelledby="pv-sum-h"]');
  await summary.waitFor();
  await summary.getByRole('button', { name: L(lang, 'provider.offer.accept'), exact: true }).click();
}

const timelineHas = (cw, state) =>
  cw.page.waitForSelector(`.timeline .state-${state}`, { timeout: 45000 });

// --- the whole life of one referral, in one language
async function lifecycle(lang) {
  let sup, cw, pcw, id;
  await step(`${lang}: the shelter's supervisor signs in and waits on the inbox`, async () => {
    sup = await open('shelter-xc', 'supervisor-1', lang, { checkSignin: true });
    await sup.page.waitForSelector('h1');
    await checkPage(sup, 'inbox', shotDir);
  });
  await step(`${lang}: the NGO's caseworker makes a mistake and sees every error at its field`, async () => {
    cw = await open('ngo-xa', 'caseworker-1', lang);
    await checkPage(cw, 'referrals', shotDir);
    await newReferral(cw);
    await checkPage(cw, 'new-referral', shotDir);
    await cw.page.fill('#rf-subject-names-0-given', 'Amina');
    await cw.page.fill('#rf-subject-languages-0', 'Tigrinya');
    await cw.page.check('#rf-minor-0');
    await cw.page.getByRole('button', { name: L(lang, 'intake.new.submit') }).click();
    await cw.page.waitForSelector('.form-summary .alert-error');
    const located = await cw.page.locator('.field-error:not([hidden])').count();
    assert.ok(located >= 3, `only ${located} errors shown at their fields`);
    await cw.page.locator('#rf-subject-languages-0-error:not([hidden])').waitFor();
    assert.equal(await cw.page.getAttribute('#rf-subject-languages-0', 'aria-invalid'), 'true');
    assert.equal(cw.page.url().includes('/referrals/new'), true, 'nothing was submitted');
    await checkPage(cw, 'new-referral-errors', shotDir);
  });
  await step(`${lang}: the caseworker fills the form and submits`, async () => {
    await cw.page.goto(`${BASE['ngo-xa']}/#/referrals`);
    await cw.page.waitForSelector('h1');
    await newReferral(cw);
    await fillReferral(cw, { ref: `WB-${lang}` });
    await cw.page.getByRole('button', { name: L(lang, 'intake.new.submit') }).click();
    id = await submitted(cw);
    await checkPage(cw, 'referral-requested', shotDir);
  });
  await step(`${lang}: the offer appears in the open inbox without a reload; the supervisor accepts`, async () => {
    const link = sup.page.locator(`.pv-offer a[href="#/inbox/${id}"]`);
    await link.waitFor({ timeout: 45000 });
    await sup.page.locator('.pv-offer .countdown').first().waitFor();
    await checkPage(sup, 'inbox-offer', shotDir);
    await link.click();
    await acceptOnCasePage(sup, lang);
    await sup.page.waitForSelector('.pv-consent', { timeout: 45000 });
    await sup.page.fill('#pv-assign', 'caseworker-1');
    await sup.page.getByRole('button', { name: L(lang, 'provider.assign.send'), exact: true }).click();
    await sup.page.getByText(L(lang, 'provider.assign.done', { staff: 'caseworker-1' })).first().waitFor();
  });
  await step(`${lang}: the shelter's caseworker reads the case file, reports progress, writes with the NGO's caseworker (both pages, live, read marks) and reports the outcome`, async () => {
    pcw = await open('shelter-xc', 'caseworker-1', lang);
    await pcw.page.goto(`${BASE['shelter-xc']}/#/inbox/${id}`);
    await pcw.page.waitForSelector('.pv-consent');
    const file = await pcw.page.locator('main').innerText();
    assert.ok(file.includes(FAMILY) && file.includes(PHONE), 'the case file names the person');
    assert.ok(!/"subject"\s*:/.test(file), 'the case file is not JSON');
    await checkPage(pcw, 'case-file', shotDir);
    await pcw.page.selectOption('#pv-status', 'in_progress');
    await pcw.page.fill('#pv-status-note', 'Arrived at the shelter.');
    await pcw.page.getByRole('button', { name: L(lang, 'provider.status.send') }).click();
    await pcw.page.waitForFunction(() => document.querySelector('.pv-head .state-in_progress'));
    // Case messages page to page, across the border: each side sees the
    // other's live, and the shelter's is marked delivered, then read.
    const fromShelter = `Room 4 is ready for her (${lang}).`, fromNgo = `Thank you; the interpreter comes too (${lang}).`;
    await pcw.page.fill('#msg-text', fromShelter);
    await pcw.page.getByRole('button', { name: L(lang, 'common.thread.send'), exact: true }).click();
    await pcw.page.locator('.thread-mine[data-n="1"]').waitFor();
    const got = cw.page.locator('.thread-theirs[data-n="1"] .thread-text');
    await got.waitFor({ timeout: 60000 });
    assert.equal(await got.textContent(), fromShelter);
    await cw.page.fill('#msg-text', fromNgo);
    await cw.page.getByRole('button', { name: L(lang, 'common.thread.send'), exact: true }).click();
    const answer = pcw.page.locator('.thread-theirs[data-n="1"] .thread-text');
    await answer.waitFor({ timeout: 60000 });
    assert.equal(await answer.textContent(), fromNgo);
    const readMark = L(lang, 'common.thread.read', { at: '' }).trim();
    await pcw.page.waitForFunction((r) => ((document.querySelector('.thread-mine[data-n="1"] .thread-marks') || {})
      .textContent || '').includes(r), readMark, { timeout: 60000 });
    await checkPage(pcw, 'case-messages', shotDir);
    await checkPage(cw, 'referral-messages', shotDir);
    await pcw.page.selectOption('#pv-status', 'completed');
    await pcw.page.fill('#pv-status-note', 'Placed in long-term accommodation.');
    await pcw.page.getByRole('button', { name: L(lang, 'provider.status.send') }).click();
    await pcw.page.waitForFunction(() => document.querySelector('.pv-head .state-completed'));
    await checkPage(pcw, 'case-completed', shotDir);
  });
  await step(`${lang}: the NGO's caseworker sees every step on the timeline`, async () => {
    await timelineHas(cw, 'completed');
    for (const s of ['requested', 'accepted', 'transferred', 'received', 'in_progress', 'completed'])
      assert.ok(await cw.page.locator(`.timeline .state-${s}`).count() > 0, `the timeline shows ${s}`);
    const tl = await cw.page.locator('.timeline').innerText();
    assert.ok(tl.includes('caseworker-1'), 'the timeline says who');
    await checkPage(cw, 'referral-completed', shotDir);
  });
  return { sup, cw, pcw, id };
}

// XA's broker among the daemons the demo recorded (and any this test started).
function brokerXaPid() {
  const pids = readFileSync(join(demoDir, 'pids'), 'utf8').trim().split(/\s+/).map(Number);
  const alive = pids.filter((p) => {
    try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('broker-xa.ini'); } catch (e) { return false; }
  });
  assert.ok(alive.length > 0, "XA's broker is not running");
  return alive[alive.length - 1];
}

let rc = 0;
const openOffers = []; // referrals the English run leaves offered to the shelter
try {
  const en = await lifecycle('en');

  await step('en: a withdrawal from the intake shows as erased at the shelter', async () => {
    const { cw, sup } = en;
    await newReferral(cw);
    await fillReferral(cw, { given: 'Sara' });
    await cw.page.getByRole('button', { name: L('en', 'intake.new.submit') }).click();
    const id = await submitted(cw);
    await sup.page.goto(`${BASE['shelter-xc']}/#/inbox`);
    const link = sup.page.locator(`.pv-offer a[href="#/inbox/${id}"]`);
    await link.waitFor({ timeout: 45000 });
    await link.click();
    await acceptOnCasePage(sup, 'en');
    await sup.page.waitForSelector('.pv-consent', { timeout: 45000 });
    await timelineHas(cw, 'received');
    await cw.page.getByRole('button', { name: L('en', 'intake.withdraw.button') }).click();
    await cw.page.fill('#wd-reason', 'consent withdrawn');
    await cw.page.locator('dialog button[type=submit]').click();
    await sup.page.waitForSelector('.pv-erased', { timeout: 45000 });
    assert.ok(!(await sup.page.locator('main').innerText()).includes('Sara'), 'the name is gone');
    await checkPage(sup, 'case-erased', shotDir);
  });

  await step('en: with the broker of XA down, a new referral waits to be sent, then goes', async () => {
    const { cw } = en;
    const xa = brokerXaPid();
    process.kill(xa, 'SIGTERM');
    for (let i = 0; i < 100; i++) {
      try { process.kill(xa, 0); } catch (e) { break; }
      await new Promise((r) => setTimeout(r, 100));
    }
    await newReferral(cw);
    await fillReferral(cw, { given: 'Leila', ref: 'WB-OUTAGE' });
    await cw.page.getByRole('button', { name: L('en', 'intake.new.submit') }).click();
    const id = await submitted(cw);
    openOffers.push(id);
    await cw.page.goto(`${BASE['ngo-xa']}/#/referrals?q=WB-OUTAGE`);
    await cw.page.locator('.outbox-waiting').first().waitFor({ timeout: 20000 });
    await checkPage(cw, 'referrals-waiting', shotDir);
    const log = openSync(join(demoDir, 'broker-xa.log'), 'a');
    const bin = process.env.HV_BIN; // the demo's binaries (test_workbench.sh)
    const broker = spawn(join(bin, 'haven-broker'), ['-c', 'broker-xa.ini'],
      { cwd: demoDir, stdio: ['ignore', 'ignore', log], detached: true });
    appendFileSync(join(demoDir, 'pids'), `${broker.pid}\n`);
    broker.unref();
    // Sent once the broker is back: the list no longer says it waits.
    let waiting = true;
    for (let i = 0; i < 100 && waiting; i++) {
      await new Promise((r) => setTimeout(r, 300));
      await cw.page.getByRole('button', { name: L('en', 'common.action.search') }).click();
      await cw.page.waitForSelector(`a[href="#/referrals/${id}"]`);
      waiting = await cw.page.locator('.outbox-waiting').count() > 0;
    }
    assert.equal(waiting, false, 'the referral still waits to be sent after the broker came back');
  });

  await step('en: a draft is saved at the worker, listed and resumed', async () => {
    const { cw } = en;
    await newReferral(cw);
    await cw.page.fill('#rf-subject-names-0-given', 'Draftperson');
    await cw.page.fill('#rf-subject-names-0-family', FAMILY);
    // Another language redraws the form with what was typed.
    for (const l of ['fr', 'en']) {
      await cw.page.locator('#lang').selectOption(l);
      await cw.page.waitForFunction((x) => document.documentElement.lang === x, l);
      await cw.page.waitForFunction(() => document.querySelector('#rf-subject-names-0-given') &&
        document.querySelector('#rf-subject-names-0-given').value === 'Draftperson');
    }
    await cw.page.getByRole('button', { name: L('en', 'intake.new.save') }).click();
    await cw.page.getByText(L('en', 'intake.new.saved', { at: '' }).split('(')[0].trim()).first().waitFor();
    await cw.page.locator('#nav').getByRole('link', { name: L('en', 'intake.nav.drafts') }).click();
    await cw.page.locator('table').getByText(new RegExp(FAMILY)).first().waitFor();
    await checkPage(cw, 'drafts', shotDir);
    await cw.page.getByRole('link', { name: L('en', 'intake.drafts.resume') }).first().click();
    await cw.page.waitForSelector('.referral-form');
    await cw.page.waitForFunction(() => document.querySelector('#rf-subject-names-0-given').value === 'Draftperson');
  });

  await step('en: the new-referral form by keyboard alone', async () => {
    const { cw } = en;
    await cw.page.goto(`${BASE['ngo-xa']}/#/referrals/new`);
    await cw.page.waitForSelector('.referral-form');
    await cw.page.locator('h1').focus();
    const f = await fillReferral(cw, { keyboard: true, given: 'Nour', ref: 'WB-KEYS' });
    await f.button(L('en', 'intake.new.submit'));
    openOffers.push(await submitted(cw));
  });

  await step('en: the shelter declines both open offers with a reason code; the NGO sees no match', async () => {
    const { sup, cw } = en;
    for (const id of openOffers) {
      await sup.page.goto(`${BASE['shelter-xc']}/#/inbox`);
      const card = sup.page.locator('.pv-offer', { has: sup.page.locator(`a[href="#/inbox/${id}"]`) });
      await card.waitFor({ timeout: 45000 });
      await card.getByRole('button', { name: L('en', 'provider.offer.decline') }).click();
      await sup.page.selectOption(`#reason-${id}`, 'not_suitable');
      await card.getByRole('button', { name: L('en', 'provider.decline.confirm') }).click();
      await card.waitFor({ state: 'detached' });
      await cw.page.goto(`${BASE['ngo-xa']}/#/referrals/${id}`);
      await timelineHas(cw, 'no_match');
      // The router's progress says who declined and why, as it happened.
      const declined = cw.page.locator('.offers .progress-declined .timeline-what').first();
      await declined.waitFor({ timeout: 30000 });
      assert.match(await declined.textContent(), /^Declined by shelter\.xc: not suitable \(not_suitable\)$/);
      assert.ok(await cw.page.locator('.offers .progress-offered').count() > 0, 'the offer itself is listed');
    }
    await checkPage(cw, 'referral-no-match', shotDir);
  });

  await step('en: the NGO\'s supervisor, the coordinator and the admins', async () => {
    const sv = await open('ngo-xa', 'supervisor-1', 'en');
    await sv.page.waitForSelector('table.table');
    await checkPage(sv, 'supervisor-referrals', shotDir);
    const co = await open('router-xc', 'coordinator-1', 'en');
    await co.page.waitForSelector('h1');
    await checkPage(co, 'pathway', shotDir);
    for (const node of ['ngo-xa', 'shelter-xc', 'router-xc']) {
      const ad = await open(node, 'admin-1', 'en');
      await ad.page.waitForSelector('table.table');
      await checkPage(ad, `staff-${node}`, node === 'ngo-xa' ? shotDir : null);
      await ad.page.getByRole('link', { name: L('en', 'admin.nav.tokens') }).click();
      await ad.page.waitForSelector('h1');
      await checkPage(ad, `tokens-${node}`, null);
      assert.ok(!(await ad.page.locator('body').innerText()).includes(FAMILY), 'an admin sees no case');
    }
  });

  for (const lang of ['fr', 'ar']) {
    for (const who of everyone.splice(0)) { await signOut(who); await who.context.close(); }
    await lifecycle(lang);
  }

  await step('after sign-out nothing of the person is in any browser\'s storage or profile', async () => {
    for (const who of everyone) {
      await signOut(who);
      // Back, after signing out, brings back no page that was open before.
      await who.page.goBack().catch(() => {});
      await who.page.getByRole('heading', { level: 1,
        name: L(who.lang, 'common.signin.title') }).waitFor();
      assert.ok(!(await who.page.locator('body').innerText()).includes(FAMILY),
        `${who.name}: Back after sign-out shows the person`);
      const kept = await who.page.evaluate(async () => ({
        local: localStorage.length, session: sessionStorage.length,
        idb: (await indexedDB.databases()).length, caches: (await caches.keys()).length }));
      assert.deepEqual(kept, { local: 0, session: 0, idb: 0, caches: 0 }, `${who.name} keeps data`);
      clean(who, 'sign-out');
      await who.context.close();
      for (const marker of [FAMILY, PHONE]) {
        let found = '';
        try {
          found = execFileSync('grep', ['-rlaF', marker, who.profile], { encoding: 'utf8' });
        } catch (e) { found = e.status === 1 ? '' : `grep failed: ${e.message}`; }
        assert.equal(found, '', `${who.name}'s profile holds "${marker}": ${found}`);
      }
      rmSync(who.profile, { recursive: true, force: true });
    }
  });
} catch (e) {
  rc = 1;
  let i = 0;
  for (const who of everyone)
    try { await who.page.screenshot({ path: `/tmp/wb-failure-${i++}.png`, fullPage: true }); } catch (x) { /* closed */ }
} finally {
  for (const who of everyone) await who.context.close().catch(() => {});
}
console.log(assetReport());
console.log(`${stepsPassed()} steps passed`);
process.exit(rc);
