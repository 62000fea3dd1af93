// The intake pages (issue 18) in Debian's Chromium, in the suite as ctest workbench_intake:
// it starts a one-country network (tests/cli/flow_lib.sh: a
// broker, the intake ngo.xc, the router and providers) and haven-web with
// the worktree's web/ as its assets, signs in a caseworker and a supervisor,
// fills the form (first with mistakes), with a document (an HTML page named
// .pdf refused at its field, then a real PDF), submits, follows the timeline
// and the document while the shelter accepts and reports (through the CLI),
// withdraws, authorises an override, and writes screenshots in English,
// French and Arabic.
// Run: node tests/browser/wb_intake_pages.mjs BUILD_DIR OUT_DIR   (after npm ci --prefix tests/browser)
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { axe, layout, settle, totp } from './wb_lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const top = resolve(here, '../..');
const [binDir, outDir] = process.argv.slice(2).map((p) => p && resolve(p));
if (!outDir) { console.error('usage: node wb_intake_pages.mjs BUILD_DIR OUT_DIR'); process.exit(2); }
mkdirSync(outDir, { recursive: true });
const PW = 'correct horse battery staple';

// --- the network, in bash with the suite's own helpers; it lives until stdin closes
const env = spawn('bash', ['-c', `
set -u
. "${top}/tests/cli/lib.sh"; . "${top}/tests/cli/flow_lib.sh"; . "${top}/tests/cli/web_lib.sh"
flow_setup "${binDir}" >&2
ln -s "${top}/web" assets
web_setup intake intake ngo.xc
staff intake caseworker-1 caseworker "${PW}"
staff intake caseworker-2 caseworker "${PW}"
staff intake supervisor-1 supervisor "${PW}"
enrol intake supervisor-1
for n in broker intake router shelter-a shelter-b legal; do start "$n"; done
web_start intake
echo "READY ${'$'}{web_base[intake]} $work $(sed -n 's/^secret: //p' totp-intake-supervisor-1.txt)"
cat > /dev/null
`], { stdio: ['pipe', 'pipe', 'inherit'] });
const ready = await new Promise((ok, fail) => {
  let buf = '';
  env.stdout.on('data', (d) => {
    buf += d;
    const m = /READY (\S+) (\S+) (\S+)/.exec(buf);
    if (m) ok({ base: m[1], work: m[2], secret: m[3] });
  });
  env.on('exit', (c) => fail(new Error(`the network did not start (${c})`)));
});
const { base, work, secret } = ready;
const cli = (...args) => execFileSync(join(binDir, 'haven'), args, { cwd: work, encoding: 'utf8' });
console.log(`network up: ${base} in ${work}`);

const profile = mkdtempSync(join(tmpdir(), 'hv-try-'));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'] });
const problems = [];
async function newPage(label) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 900 }, timezoneId: 'Africa/Tunis' });
  context.setDefaultTimeout(15000);
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text()))
      problems.push(`${label}: console: ${m.text()}`);
  });
  page.on('response', (r) => {
    const u = new URL(r.url());
    // The sign-in page's first look, and the deliberate mistakes' located errors, are expected.
    if (r.status() >= 400 && !(u.pathname === '/api/v1/session' && r.status() === 401) &&
        !(/^\/api\/v1\/referrals(\/check)?$/.test(u.pathname) && r.status() === 422) &&
        !(u.pathname === '/api/v1/uploads' && r.status() === 415))
      problems.push(`${label}: ${r.request().method()} ${u.pathname}: ${r.status()}`);
  });
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
  return page;
}
// A screenshot, and the shared checks (axe-core, clipped or overlapping text) noted.
const shot = async (page, name, full = false) => {
  await page.screenshot({ path: join(outDir, `${name}.png`), fullPage: full });
  const who = { page, lang: await page.evaluate(() => document.documentElement.lang) };
  for (const check of [axe, layout]) {
    try { await check(who, name); } catch (e) { problems.push(`${name}: ${e.message.split('\n')[0]}`); }
  }
  console.log(`screenshot ${name}.png`);
};
async function signIn(page, name, code) {
  await page.goto(`${base}/`);
  await page.fill('#signin-name', name);
  await page.fill('#signin-password', PW);
  if (code) await page.fill('#signin-totp', code);
  await page.click('button[type=submit]');
  await page.waitForSelector('#nav a');
}
async function setLang(page, l) {
  await page.selectOption('#lang', l);
  await page.waitForFunction((x) => document.documentElement.lang === x, l);
  await settle(page);
}
const fill = (page, id, v) => page.fill(`#rf-${id}`, v);
const radio = (page, id, i) => page.check(`#rf-${id}-${i}`);

// The example referral, typed in as a caseworker would.
async function fillExample(page, { override = false } = {}) {
  await fill(page, 'subject-names-0-given', 'Amina');
  await fill(page, 'subject-names-0-family', 'Example-Testcase');
  await page.click('text=Add a name the person is known by');
  await fill(page, 'subject-aliases-0', 'Mina T.');
  await fill(page, 'subject-date_of_birth', '1998-04-17');
  await radio(page, 'subject-sex', 0);
  await page.click('text=Add a nationality');
  await fill(page, 'subject-nationalities-0', 'XA');
  await fill(page, 'subject-languages-0', 'ti');
  await radio(page, 'subject-interpreter_needed', 0);
  await page.selectOption('#rf-subject-safe_contact-method', 'phone');
  await fill(page, 'subject-safe_contact-value', '+000 555 0100 (synthetic)');
  await radio(page, 'minor', 1);
  await radio(page, 'identification-status', 0);
  await page.check('#rf-exploitation-1');
  await radio(page, 'smuggled_migrant', 0);
  await radio(page, 'risk-level', 2);
  await radio(page, 'consent-services', override ? 1 : 0);
  if (override) {
    await fill(page, 'consent-override-reason', 'The person is unconscious in hospital; life at risk.');
    await fill(page, 'consent-override-authorised_by', 'supervisor-1');
    await radio(page, 'consent-legal_basis', 1);
  } else {
    await page.check('#rf-consent-share_with-0');
    await radio(page, 'consent-obtained_from', 0);
    await fill(page, 'consent-obtained_at', '2026-11-20T10:30');
    await fill(page, 'consent-obtained_by', 'Caseworker 14');
    await radio(page, 'consent-legal_basis', 0);
  }
  await page.selectOption('#rf-stage', 'first_assistance');
  await page.selectOption('#rf-needs-0-category', 'shelter');
  await radio(page, 'needs-0-urgency', 2);
  await page.selectOption('#rf-request-service', 'shelter');
  await fill(page, 'request-reason', 'Immediate safe accommodation.');
  await fill(page, 'request-respond_by', '2099-12-31T12:00');
  await fill(page, 'destination-country', 'xc');
}

// A small valid PDF (one empty page), its cross-reference table at the
// right offsets, and an HTML page given a .pdf name.
function minimalPdf() {
  const objs = ['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>'];
  let out = '%PDF-1.4\n';
  const at = objs.map((o, i) => { const x = out.length; out += `${i + 1} 0 obj\n${o}\nendobj\n`; return x; });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n`;
  for (const x of at) out += `${String(x).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
const PDF = { name: 'report.pdf', mimeType: 'application/pdf', buffer: minimalPdf() };
const HTML = { name: 'letter.pdf', mimeType: 'application/pdf',
  buffer: Buffer.from('<!doctype html><html><body><p>Not a PDF.</p></body></html>\n') };

let rc = 0;
try {
  const cw = await newPage('caseworker');
  await signIn(cw, 'caseworker-1');
  await shot(cw, 'en-list-empty');
  await cw.click('#nav a[href="#/referrals/new"]');
  await cw.waitForSelector('.referral-form');
  await shot(cw, 'en-new-empty');
  // A deliberate mistake: a minor without guardian, a language's name, no dates.
  await fill(cw, 'subject-names-0-given', 'Amina');
  await fill(cw, 'subject-languages-0', 'Tigrinya');
  await radio(cw, 'minor', 0);
  await cw.click('button[type=submit]');
  await cw.waitForSelector('.form-summary .alert-error');
  const n = await cw.locator('.form-summary li').count();
  const focused = await cw.evaluate(() => document.activeElement && document.activeElement.id);
  console.log(`errors shown: ${n}; focus on ${focused}`);
  // Parts that apply: a minor's guardian and child protection, an override without consent.
  const shown = (id) => cw.isVisible(`#rf-${id}`);
  await radio(cw, 'minor', 0);
  await radio(cw, 'consent-services', 1);
  const when = [await shown('guardian'), await shown('child_protection'), await shown('unaccompanied'),
    await shown('consent-override'), await shown('consent-share_with'),
    await shown('consent-legal_basis-0')];
  if (when.join() !== 'true,true,true,true,false,false') throw new Error(`conditional parts: ${when}`);
  await radio(cw, 'minor', 1);
  await radio(cw, 'consent-services', 0);
  if (await shown('guardian') || await shown('consent-override') || !await shown('consent-share_with'))
    throw new Error('conditional parts do not go away');
  await radio(cw, 'minor', 0);
  // By keyboard: a link of the summary takes the focus to its field; a new row gets it.
  await cw.focus('.form-summary li:last-child a');
  await cw.keyboard.press('Enter');
  const toField = await cw.evaluate(() => document.activeElement.id);
  if (toField !== 'rf-destination-country') throw new Error(`the summary's link went to ${toField}`);
  await cw.focus('button:text-is("Add a language")');
  await cw.keyboard.press('Enter');
  const toRow = await cw.evaluate(() => document.activeElement.id);
  if (toRow !== 'rf-subject-languages-1') throw new Error(`a new row left the focus on ${toRow}`);
  await cw.keyboard.press('Tab');
  await cw.keyboard.press('Enter'); // its remove button
  const back = await cw.evaluate(() => [document.activeElement.id,
    document.querySelectorAll('input[id^="rf-subject-languages-"]').length]);
  console.log(`keyboard: summary link -> ${toField}, add -> ${toRow}, remove -> ${back[0]} (${back[1]} rows)`);
  await cw.click('button[type=submit]');
  await cw.waitForSelector('.form-summary .alert-error');
  await shot(cw, 'en-new-errors');
  await shot(cw, 'en-new-errors-full', true);
  await setLang(cw, 'ar');
  await cw.waitForSelector('.referral-form');
  await cw.click('button[type=submit]');
  await cw.waitForSelector('.form-summary .alert-error');
  await shot(cw, 'ar-new-errors');
  await setLang(cw, 'en');

  await cw.goto(`${base}/#/referrals/new`);
  await cw.waitForSelector('.referral-form');
  await cw.fill('#rf-reference', 'CASE-0042');
  await fillExample(cw);
  // A document chosen before the draft is saved: the draft does not keep it, and says so.
  await cw.click('button:text-is("Add a document")');
  await cw.setInputFiles('#rf-attachments-0-file', PDF);
  await cw.waitForSelector('#rf-attachments-0-file-status:has-text("uploaded")');
  // Saved as a draft, found in Drafts, resumed, checked and submitted from it.
  await cw.click('button:text-is("Save draft")');
  await cw.waitForSelector('.form-status .alert:has-text("Draft saved")');
  const savedSays = (await cw.textContent('.form-status .alert')).trim();
  if (!savedSays.endsWith('Its documents are not kept in a draft: choose them again before you submit.'))
    throw new Error(`the draft's message: "${savedSays}"`);
  await cw.click('#nav a[href="#/drafts"]');
  await cw.waitForSelector('table.table');
  await shot(cw, 'en-drafts');
  await cw.click('a.btn:text-is("Resume")');
  await cw.waitForSelector('.form-status .alert:has-text("Draft resumed")');
  const resumed = await cw.inputValue('#rf-subject-names-0-given');
  if (resumed !== 'Amina') throw new Error(`the draft resumed with "${resumed}"`);
  if (await cw.locator('#rf-attachments-0-file').count() !== 0)
    throw new Error('the draft came back with a document row');
  // The documents again: an HTML page named .pdf is refused at its field in
  // the worker's words; the real PDF then shows its type and size.
  await cw.click('button:text-is("Add a document")');
  await cw.fill('#rf-attachments-0-title', 'Medical report');
  await cw.setInputFiles('#rf-attachments-0-file', HTML);
  await cw.waitForSelector('#rf-attachments-0-file-error:not([hidden])');
  const refused = (await cw.textContent('#rf-attachments-0-file-error')).trim();
  if (refused !== 'letter.pdf is not a PDF, JPEG or PNG document by its content (whatever its name says)')
    throw new Error(`the refusal at the field: "${refused}"`);
  await shot(cw, 'en-new-document-refused');
  await cw.setInputFiles('#rf-attachments-0-file', PDF);
  const uploadedSays = `report.pdf: PDF, ${PDF.buffer.length} bytes, uploaded`;
  await cw.waitForSelector(`#rf-attachments-0-file-status:text-is("${uploadedSays}")`);
  if (await cw.isVisible('#rf-attachments-0-file-error')) throw new Error('the refusal stayed');
  console.log(`document: ${refused} / ${uploadedSays}`);
  await cw.click('button:text-is("Check")');
  await cw.waitForSelector('.form-status .alert:has-text("No problems found")');
  console.log(`check: ${(await cw.textContent('.form-status')).trim()}`);
  await cw.click('button[type=submit]');
  await cw.waitForURL(/#\/referrals\/[0-9a-f]{32}$/);
  const id = cw.url().split('/').pop();
  await cw.waitForSelector('.timeline li');
  // The case's document, listed with how far it went: nowhere yet.
  await cw.waitForSelector('.in-docs tbody tr');
  const docRow = async () => (await cw.locator('.in-docs tbody tr').first().locator('th, td')
    .allTextContents()).map((x) => x.trim()).join(' | ');
  const waiting = `Medical report | report.pdf | PDF | ${PDF.buffer.length} bytes | waiting for a provider to accept`;
  if (await docRow() !== waiting) throw new Error(`the document's row: "${await docRow()}"`);
  await shot(cw, 'en-referral-requested');
  const left = JSON.parse(cli('referral', 'list', '--json', '--config', 'intake.ini')).result.items;
  console.log(`referrals at the intake: ${left.length}`);

  // The shelter accepts and reports, through its own CLI; the timeline follows live.
  const waitState = async (state) => {
    for (let i = 0; i < 150; i++) {
      if (JSON.parse(cli('inbox', 'list', '--json', '--config', 'shelter-a.ini')).result
        .items.some((x) => x.id === id && (x.offer === state || x.case === state))) return;
      await cw.waitForTimeout(200);
    }
    throw new Error(`shelter never saw ${state}`);
  };
  await waitState('offered');
  // The router's PROGRESS: the offer, to whom and by when, live.
  await cw.waitForSelector('.progress-offered', { timeout: 30000 });
  const offered = (await cw.textContent('.progress-offered .timeline-what')).trim();
  if (!/^Offered to shelter-a\.xc, answer by \S/.test(offered)) throw new Error(`progress: "${offered}"`);
  cli('inbox', 'accept', '--config', 'shelter-a.ini', id);
  await waitState('received');
  // Its parts go after the transfer; the row follows, and the shelter has it whole.
  await cw.waitForSelector('.in-docs .badge:text-is("sent, 1 of 1 parts")', { timeout: 30000 });
  const sent = await docRow();
  if (sent !== `Medical report | report.pdf | PDF | ${PDF.buffer.length} bytes | sent, 1 of 1 parts`)
    throw new Error(`the document's row once sent: "${sent}"`);
  const atShelter = async () => JSON.parse(cli('attachment', 'list', '--json', '--config', 'shelter-a.ini', id)).result.items;
  for (let i = 0; i < 150 && !(await atShelter()).some((d) => d.state === 'complete'); i++)
    await cw.waitForTimeout(200);
  const whole = (await atShelter())[0] || {};
  if (whole.state !== 'complete' || whole.type !== 'application/pdf' || whole.size !== PDF.buffer.length)
    throw new Error(`at the shelter: ${JSON.stringify(await atShelter())}`);
  console.log(`document: "${sent}"; at the shelter: ${whole.state}`);
  await shot(cw, 'en-referral-document-sent', true);
  cli('inbox', 'status', '--config', 'shelter-a.ini', id, '--state', 'in_progress', '--note', 'Arrived safely.');
  // Case messages both ways: written on the page, answered by the shelter's CLI.
  await cw.waitForSelector('.thread-card #msg-text', { timeout: 30000 });
  await cw.fill('#msg-text', 'Her interpreter can come on Wednesday.');
  if ((await cw.textContent('#msg-count')).trim() !== '38 of 8,000 bytes')
    throw new Error(`the count says "${await cw.textContent('#msg-count')}"`);
  await cw.click('button:text-is("Send the message")');
  await cw.waitForSelector('.thread-mine[data-n="1"]');
  const shelterThread = () => JSON.parse(cli('message', 'list', '--json', '--config', 'shelter-a.ini', id)).result.items;
  const until = async (ok, what) => {
    for (let i = 0; i < 150; i++) {
      const x = shelterThread();
      if (ok(x)) return x;
      await cw.waitForTimeout(200);
    }
    throw new Error(`the shelter's thread never ${what}: ${JSON.stringify(shelterThread())}`);
  };
  const got = await until((x) => x.length === 1, 'got the message');
  if (got[0].from !== 'intake' || got[0].text !== 'Her interpreter can come on Wednesday.' ||
      got[0].by !== 'ngo.xc') throw new Error(`the shelter got ${JSON.stringify(got)}`);
  // The shelter's delivered mark comes back live.
  await cw.waitForFunction(() => /^delivered /.test(document.querySelector('.thread-mine[data-n="1"] .thread-marks').textContent), null, { timeout: 30000 });
  cli('message', 'send', '--config', 'shelter-a.ini', id, 'Thank you, Wednesday at 10:00 suits us.');
  await cw.waitForSelector('.thread-theirs[data-n="1"]', { timeout: 30000 });
  const theirs = (await cw.textContent('.thread-theirs[data-n="1"] .thread-text')).trim();
  if (theirs !== 'Thank you, Wednesday at 10:00 suits us.') throw new Error(`the page shows "${theirs}"`);
  // Shown on the page, so read: the shelter is told.
  await until((x) => x.length === 2 && x[1].from === 'provider' && x[1].read_at !== '', 'saw its answer read');
  await shot(cw, 'en-referral-messages');
  await setLang(cw, 'ar');
  await cw.waitForSelector('.thread-theirs[data-n="1"]');
  await shot(cw, 'ar-referral-messages');
  await setLang(cw, 'en');
  // The referral's case: each service asked for with its state, and back.
  await cw.waitForSelector('#rf-case');
  await cw.click('#rf-case');
  await cw.waitForURL(/#\/cases\/[0-9a-f]{32}$/);
  await cw.waitForSelector(`a.case-referral[href="#/referrals/${id}"]`);
  const caseRows = await cw.locator('table.table tbody tr').count();
  const caseState = (await cw.textContent('table.table tbody tr .badge')).trim();
  if (caseRows !== 1 || caseState !== 'in progress') throw new Error(`the case shows ${caseRows} row(s), "${caseState}"`);
  await shot(cw, 'en-case');
  await setLang(cw, 'ar');
  await cw.waitForSelector('a.case-referral');
  await shot(cw, 'ar-case');
  await setLang(cw, 'en');
  await cw.click(`a.case-referral[href="#/referrals/${id}"]`);
  await cw.waitForSelector('.thread-card');
  cli('inbox', 'status', '--config', 'shelter-a.ini', id, '--state', 'completed', '--note', 'Placed in long-term accommodation');
  await cw.waitForSelector('.timeline .state-completed', { timeout: 30000 });
  await shot(cw, 'en-referral-completed');
  for (const l of ['fr', 'ar']) { await setLang(cw, l); await shot(cw, `${l}-referral-completed`); }
  await setLang(cw, 'en');

  // A second referral, withdrawn while requested.
  await cw.goto(`${base}/#/referrals/new`);
  await cw.waitForSelector('.referral-form');
  await fillExample(cw);
  await cw.click('button[type=submit]');
  await cw.waitForURL(/#\/referrals\/[0-9a-f]{32}$/);
  await cw.click('text=Withdraw the referral');
  // The router is told the code chosen; the words stay in the intake's timeline.
  await cw.selectOption('#wd-code', 'no_longer_needed');
  await cw.fill('#wd-reason', 'consent withdrawn');
  await cw.click('dialog button[type=submit]');
  await cw.waitForSelector('.timeline .state-cancelled, .timeline .state-cancel_requested');
  await cw.waitForSelector('.timeline q:text-is("no_longer_needed: consent withdrawn")');
  await shot(cw, 'en-referral-withdrawn');

  // A referral without consent, held for the supervisor.
  await cw.goto(`${base}/#/referrals/new`);
  await cw.waitForSelector('.referral-form');
  await fillExample(cw, { override: true });
  await cw.click('button[type=submit]');
  await cw.waitForURL(/#\/referrals\/[0-9a-f]{32}$/);
  await cw.waitForSelector('.timeline .state-awaiting_authorisation');
  const held = cw.url().split('/').pop();
  await cw.goto(`${base}/#/referrals`);
  await cw.waitForSelector('table.table');
  await shot(cw, 'en-list');
  for (const l of ['fr', 'ar']) { await setLang(cw, l); await shot(cw, `${l}-list`); }
  await setLang(cw, 'ar');
  await cw.goto(`${base}/#/referrals/new`);
  await cw.waitForSelector('.referral-form');
  await shot(cw, 'ar-new-empty');
  await setLang(cw, 'en');

  // The caseworker is done for now: their browser closes before the supervisor's opens.
  await cw.context().close();
  const sv = await newPage('supervisor');
  await signIn(sv, 'supervisor-1', await totp(secret));
  await sv.waitForSelector('table.table');
  await shot(sv, 'en-supervisor-list');
  await sv.goto(`${base}/#/referrals/${held}`);
  await sv.waitForSelector('text=Authorise without consent');
  await shot(sv, 'en-supervisor-authorise', true);
  await sv.click('text=Authorise without consent');
  await sv.click('dialog button[type=submit]');
  await sv.waitForSelector('.timeline .state-requested');
  await sv.click('button:text("Reassign")');
  await sv.fill('#as-staff', 'caseworker-2');
  await sv.click('dialog button[type=submit]');
  await sv.waitForSelector('text=Assigned to caseworker-2.');
  await shot(sv, 'en-supervisor-after');
  // A narrow screen, in French: the list and the form stack.
  await sv.setViewportSize({ width: 390, height: 844 });
  await setLang(sv, 'fr');
  await sv.goto(`${base}/#/referrals`);
  await sv.waitForSelector('table.table');
  await shot(sv, 'fr-narrow-list', true);
  await sv.goto(`${base}/#/referrals/new`);
  await sv.waitForSelector('.referral-form');
  await shot(sv, 'fr-narrow-new');
} catch (e) {
  console.log(`FAILED: ${e.stack || e}`);
  rc = 1;
  let i = 0;
  for (const c of browser.contexts()) for (const p of c.pages()) await shot(p, `failure-${i++}`);
} finally {
  await browser.close();
  env.stdin.end();
  rmSync(profile, { recursive: true, force: true });
}
for (const p of problems) console.log(`problem: ${p}`);
process.exit(rc || (problems.length ? 1 : 0));
