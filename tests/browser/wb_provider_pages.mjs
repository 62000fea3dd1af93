// The provider, coordinator and admin pages in Debian's Chromium (ctest workbench_provider)
// against real processes: the one-country network of tests/cli/flow_lib.sh
// (broker, intake, router, three providers) with haven-web in front of the
// provider shelter-a.xc and the router, web/ as the assets folder. Two
// referrals are submitted with the CLI; the pages then answer, work and
// export them; one is withdrawn and shows as erased. Screenshots in English
// and Arabic (and French) go to OUT_DIR.
// Run (from the top, after `npm ci --prefix tests/browser`): node tests/browser/wb_provider_pages.mjs build [OUT_DIR]
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';
import { axe, layout, settle, totp } from './wb_lib.mjs';

const [bin, outArg] = process.argv.slice(2);
if (!bin) { console.error('usage: node wb_provider_pages.mjs BUILD_DIR [OUT_DIR]'); process.exit(2); }
const top = resolve(new URL('../..', import.meta.url).pathname);
const out = resolve(outArg || 'wb-provider-shots');
mkdirSync(out, { recursive: true });
const pw = 'correct horse battery staple';

// ---- the network, kept up by one bash that waits for "stop" on stdin
const setup = `
set -u
pw='${pw}'
. "${top}/tests/cli/lib.sh"; . "${top}/tests/cli/flow_lib.sh"; . "${top}/tests/cli/web_lib.sh"
flow_setup "${resolve(bin)}" >&2
ln -s "${top}/web" assets
web_setup shelter-a provider shelter-a.xc
web_setup router router router.xc
web_setup shelter-b provider shelter-b.xc
staff shelter-b sup-b supervisor "$pw"; enrol shelter-b sup-b
# every browser context of the try-out comes from 127.0.0.1
sed -i 's/^connections_per_address = .*/connections_per_address = 64/' web-shelter-a.ini web-router.ini web-shelter-b.ini
for w in sup-a:supervisor cw-a:caseworker admin-a:admin; do staff shelter-a \${w%%:*} \${w#*:} "$pw"; done
for w in coord-1:coordinator admin-r:admin; do staff router \${w%%:*} \${w#*:} "$pw"; done
enrol shelter-a sup-a; enrol shelter-a admin-a; enrol router admin-r
for n in broker intake router shelter-a shelter-b legal; do start "$n" >&2; done
web_start shelter-a; web_start router; web_start shelter-b
jq '.request.respond_by = "2099-12-31T00:00:00Z"' "${top}/deploy/example/referrals/example-adult.json" > a.json
jq '.subject.names = [{"given": "Leila", "family": "Example-Second"}] | .needs[0].urgency = "urgent"' a.json > b.json
# a minor, shared without consent on an override (sent at once from the host): shelter-b takes minors
jq '.minor = true | .unaccompanied = true | .subject.names = [{"given": "Sami", "family": "Example-Minor"}]
  | .subject.date_of_birth = "2010-03-02" | .subject.languages = ["fr", "ar"]
  | .child_protection = {"authority": "Example Child Protection Office XC", "case_reference": "CP-2026-118"}
  | .consent.services = false | .consent.obtained_from = "caregiver" | .consent.legal_basis = "best_interests_of_child"
  | .consent.override = {"reason": "The child is in immediate danger; the guardian cannot be reached.",
                         "authorised_by": "Supervisor 3, Example Origin Support NGO"}' a.json > m.json
# a's documents: a PDF of 2.5 MiB (three pieces of attachment.read) and a small PNG
python3 - <<'PY'
import random, struct, zlib
rnd = random.Random(21)
body = bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz0123456789 \\n") for _ in range(2621440))
open("report.pdf", "wb").write(b"%PDF-1.7\\n" + body + b"\\n%%EOF\\n")
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open("photo.png", "wb").write(b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    + chunk(b"IDAT", zlib.compress(b"\\x00\\xff\\x00\\x00")) + chunk(b"IEND", b""))
PY
jq '. + {schema: "haven-referral/2", attachments: [{file: "report.pdf", title: "Medical report"},
  {file: "photo.png", title: "Photograph"}]}' a.json > ad.json
a=$(submit ad.json); b=$(submit b.json); c=$(submit a.json); m=$(submit m.json)
for x in "$a" "$b" "$c"; do wait_until 30 is offered offer_state shelter-a "$x"; done
wait_until 30 is offered offer_state shelter-b "$m"
sec() { sed -n 's/^secret: //p' "totp-$1-$2.txt"; }
jq -nc --arg p "\${web_base[shelter-a]}" --arg r "\${web_base[router]}" --arg a "$a" --arg b "$b" --arg c "$c" --arg m "$m" --arg pb "\${web_base[shelter-b]}" --arg sb "$(sec shelter-b sup-b)" \
  --arg sa "$(sec shelter-a sup-a)" --arg aa "$(sec shelter-a admin-a)" --arg ar "$(sec router admin-r)" \
  --arg work "$work" '{provider: $p, router: $r, a: $a, b: $b, c: $c, m: $m, provider_b: $pb, sup_b: $sb, sup_a: $sa, admin_a: $aa, admin_r: $ar, work: $work}'
while read -r cmd; do
  case $cmd in
    stop) break ;;
    broker-down) stop broker; echo done ;;
    broker-up) start broker >&2; echo done ;;
    msg-send*) rest=\${cmd#msg-send }
               "$haven" message send --config intake.ini "\${rest%% *}" "\${rest#* }" >&2; echo done ;;
    msg-list*) "$haven" message list --json --config intake.ini "\${cmd#msg-list }" | jq -c .result.items ;;
    submit) d=$(submit a.json); wait_until 30 is offered offer_state shelter-a "$d"; echo "$d" ;;
    withdraw*) "$haven" referral withdraw --config intake.ini "\${cmd#withdraw }" --reason "consent withdrawn" >&2
               wait_until 30 is withdrawn offer_state shelter-a "\${cmd#withdraw }"; echo done ;;
  esac
done
web_stop shelter-a; web_stop router; web_stop shelter-b; stop_all_and_check_logs; finish >&2
`;
const net = spawn('bash', ['-c', setup], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: net.stdout });
const nextLine = () => new Promise((ok) => lines.once('line', ok));
const env = JSON.parse(await nextLine());
// One command to the network's bash and its one line of answer.
const ask = async (cmd) => { net.stdin.write(`${cmd}\n`); return nextLine(); };
// The intake's thread (haven message list) until `ok` holds of it.
async function intakeThread(id, ok, what) {
  const end = Date.now() + 30000;
  for (;;) {
    const items = JSON.parse(await ask(`msg-list ${id}`));
    if (ok(items)) return items;
    if (Date.now() > end) throw new Error(`the intake's thread never ${what}: ${JSON.stringify(items)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
console.log(`network up in ${env.work}`);


const profile = mkdtempSync(join(tmpdir(), 'hv-try-'));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'] });
const errors = [];
async function person(base) {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true,
    viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  page.on('console', (m) => { if (m.type() === 'error' && !/status of (401|403|404)/.test(m.text())) errors.push(`${base}: ${m.text()}`); });
  page.on('response', (r) => {
    // Known and not the pages': the shell asks /session before sign-in (401),
    // opens /events for an admin too (403).
    if ((r.status() === 401 && /session$/.test(r.url())) || (r.status() === 403 && /events/.test(r.url())))
      return;
    if (r.status() >= 400) errors.push(`${r.status()} ${r.request().method()} ${r.url()}`);
    if (r.status() >= 400) console.log(`  (${r.status()} ${r.request().method()} ${r.url()})`); });
  page.on('pageerror', (e) => errors.push(`${base}: ${e.message}`));
  page.base = base;
  ctx.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(`${base}/`) && !u.startsWith('data:') && !u.startsWith('blob:'))
      errors.push(`loaded from outside haven-web: ${u}`);
  });
  return page;
}
async function signIn(page, name, secret) {
  await page.goto(`${page.base}/`);
  await page.fill('#signin-name', name);
  await page.fill('#signin-password', pw);
  if (secret) await page.fill('#signin-totp', await totp(secret));
  await page.click('form.signin button[type=submit]');
  await page.waitForSelector('#signout:not([hidden])');
}
async function setLang(page, l) {
  await page.selectOption('#lang', l);
  await page.waitForFunction((x) => document.documentElement.lang === x, l);
}
const violations = [];
// Accepts the offer of the page shown: within the offer's own summary
// section, so that the inbox's cards, still on screen while the hash
// route changes, are never clicked by mistake.
async function acceptOffer(page) {
  const offer = page.locator('section[aria-labelledby="pv-sum-h"]', { has: page.locator('.pv-deadline') });
  await offer.waitFor();
  await offer.getByRole('button', { name: 'Accept' }).click();
}

async function shot(page, name) {
  await settle(page);
  await page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
  // axe-core's serious and critical findings, and text clipped or
  // overlapping (wb_lib.mjs), collected for the end of the run.
  const who = { page, lang: await page.evaluate(() => document.documentElement.lang) };
  const found = [];
  for (const check of [axe, layout]) {
    try { await check(who, name); } catch (e) { found.push(e.message); }
  }
  violations.push(...found);
  console.log(`shot ${name}.png, ${found.length ? found.join('; ') : 'no serious or critical axe finding, layout clean'}`);
}
let passed = 0;
let sbPage = null;
async function step(what, fn) {
  await fn();
  passed++;
  console.log(`ok - ${what}`);
}

try {
  const sup = await person(env.provider);
  await step('supervisor signs in and sees both offers with countdowns', async () => {
    await signIn(sup, 'sup-a', env.sup_a);
    await sup.waitForSelector('.pv-offer');
    assert.equal(await sup.locator('.pv-offer').count(), 3);
    assert.match(await sup.locator('.pv-offer .countdown').first().textContent(), /answer|\d/i);
    await shot(sup, 'inbox-en');
  });
  await step('decline needs a reason; declining b with a code, by keyboard alone', async () => {
    const card = sup.locator('.pv-offer', { has: sup.locator(`a[href="#/inbox/${env.b}"]`) });
    await card.getByRole('button', { name: 'Decline…' }).focus();
    await sup.keyboard.press('Enter'); // opens the form, focus on the reason
    assert.equal(await sup.evaluate(() => document.activeElement.id), `reason-${env.b}`);
    await sup.keyboard.press('Tab'); await sup.keyboard.press('Tab');
    await sup.keyboard.press('Enter'); // "Decline the offer" without a reason
    await card.locator('.field-error:not([hidden])').waitFor();
    assert.equal(await sup.evaluate(() => document.activeElement.id), `reason-${env.b}`);
    await shot(sup, 'decline-error-en');
    await sup.keyboard.press('ArrowDown'); // the first code: no_capacity
    assert.equal(await card.locator('select').inputValue(), 'no_capacity');
    await sup.keyboard.press('Tab');
    await sup.keyboard.type('Full this week');
    await sup.keyboard.press('Tab');
    await sup.keyboard.press('Enter');
    await sup.waitForFunction(() => document.querySelectorAll('.pv-offer').length === 2);
    await sup.click(`a[href="#/inbox/${env.b}"]`);
    await sup.waitForSelector('.timeline');
    // The note went sealed to the intake; the agency that declined keeps the code only.
    const timeline = await sup.locator('.timeline').textContent();
    assert.match(timeline, /No place free — the note went, sealed, to the referring organisation/);
    assert.doesNotMatch(timeline, /Full this week/);
    await sup.goBack();
    await sup.waitForSelector('.pv-offer');
  });
  await step('accept a with a reference; the case arrives on the page', async () => {
    await sup.click(`a[href="#/inbox/${env.a}"]`);
    await sup.waitForSelector('.pv-deadline .countdown');
    await shot(sup, 'offer-en');
    await sup.fill(`#ref-${env.a}`, 'SH-A-7');
    await acceptOffer(sup);
    await sup.waitForSelector('.pv-consent', { timeout: 30000 }); // by the event stream
    assert.match(await sup.locator('.pv-consent').textContent(), /Caseworker 14/);
    assert.equal(await sup.locator('pre').count(), 0);
    await shot(sup, 'case-en');
  });
  await step('case messages both ways: read marks, delivered marks, the limit refused', async () => {
    assert.equal(await ask(`msg-send ${env.a} Can she arrive on Tuesday morning?`), 'done');
    // By the event stream: the intake's message appears without a reload.
    const theirs = sup.locator('.thread-theirs[data-n="1"]');
    await theirs.waitFor({ timeout: 30000 });
    assert.equal(await theirs.locator('.thread-text').textContent(), 'Can she arrive on Tuesday morning?');
    assert.match(await theirs.locator('.thread-head').textContent(), /ngo\.xc/);
    // Shown, so read: the intake is told by the read mark.
    await intakeThread(env.a, (x) => x.length === 1 && x[0].read_at !== '', 'showed message 1 read');
    // Over the limit: the page counts it and the worker refuses it in its words.
    const long = 'é'.repeat(4001); // 8,002 bytes
    await sup.fill('#msg-text', long);
    assert.equal(await sup.locator('#msg-count').textContent(), '8,002 of 8,000 bytes');
    assert.equal(await sup.locator('#msg-count.field-error').count(), 1);
    await sup.getByRole('button', { name: 'Send the message' }).click();
    const refused = sup.locator('.thread-card .alert-error');
    await refused.waitFor();
    assert.match(await refused.textContent(), /the message is 8002 bytes; a message may be at most 8000 bytes/);
    await sup.fill('#msg-text', 'Yes, from 09:00. Room 4 is ready.');
    await sup.getByRole('button', { name: 'Send the message' }).click();
    const mine = sup.locator('.thread-mine[data-n="1"]');
    await mine.waitFor();
    assert.equal(await sup.locator('.thread-card .alert-error').count(), 0);
    // The refusal was a 413, expected here (the response and Chromium's console line).
    const refusal = (x) => /^413 POST .*\/messages$/.test(x) || /status of 413/.test(x);
    assert.equal(errors.filter(refusal).length, 2, 'the refusal was a 413');
    errors.splice(0, errors.length, ...errors.filter((x) => !refusal(x)));
    const got = await intakeThread(env.a, (x) => x.length === 2, 'got the reply');
    assert.deepEqual(got.map((m) => [m.from, m.n, m.text]), [['intake', 1, 'Can she arrive on Tuesday morning?'],
      ['provider', 1, 'Yes, from 09:00. Room 4 is ready.']]);
    // The intake's delivered mark comes back to the page, live.
    await sup.waitForFunction(() => /^delivered /.test(document.querySelector('.thread-mine[data-n="1"] .thread-marks').textContent), null, { timeout: 30000 });
    await shot(sup, 'messages-en');
    await setLang(sup, 'ar');
    await sup.locator('.thread-mine[data-n="1"]').waitFor();
    assert.equal(await sup.evaluate(() => document.documentElement.dir), 'rtl');
    await shot(sup, 'messages-ar');
    await setLang(sup, 'en');
    await sup.locator('.thread-mine[data-n="1"]').waitFor();
  });
  await step('documents: listed complete, saved as files byte for byte, never shown inline', async () => {
    const row = sup.locator('.pv-docs tr[data-n="1"]');
    await sup.locator('.pv-docs tr[data-n="1"] a.btn').waitFor({ timeout: 60000 });
    await sup.locator('.pv-docs tr[data-n="2"] a.btn').waitFor({ timeout: 60000 });
    const cells = await row.locator('td').allTextContents();
    assert.deepEqual(cells, ['report.pdf', 'Medical report', 'PDF', '2.5 MiB', 'complete', 'Save']);
    const pdf = readFileSync(join(env.work, 'report.pdf'));
    const [dl] = await Promise.all([sup.waitForEvent('download'), row.locator('a.btn').click()]);
    assert.equal(dl.suggestedFilename(), 'report.pdf');
    const file = join(profile, 'report.pdf');
    await dl.saveAs(file);
    assert.ok(readFileSync(file).equals(pdf), 'the saved PDF is the one sent, byte for byte');
    rmSync(file);
    // The answer itself: its type, a file to save, not sniffed, sandboxed.
    const png = readFileSync(join(env.work, 'photo.png'));
    for (const [n, type, bytes, name] of [[1, 'application/pdf', pdf, 'report.pdf'], [2, 'image/png', png, 'photo.png']]) {
      const r = await sup.request.get(`${env.provider}/api/v1/inbox/${env.a}/attachments/${n}`);
      assert.equal(r.status(), 200);
      const hd = r.headers();
      assert.equal(hd['content-type'], type);
      assert.equal(hd['content-disposition'], `attachment; filename="${name}"; filename*=UTF-8''${name}`);
      assert.equal(hd['x-content-type-options'], 'nosniff');
      assert.match(hd['content-security-policy'], /^sandbox; default-src 'none'/);
      assert.ok((await r.body()).equals(bytes), `document ${n} byte for byte`);
    }
    const none = await sup.request.get(`${env.provider}/api/v1/inbox/${env.a}/attachments/3`);
    assert.equal(none.status(), 404);
    assert.equal((await none.json()).error, 'HV_ENOTFOUND');
    await shot(sup, 'documents-en');
  });
  await step('completed needs an outcome; in_progress, then completed', async () => {
    await sup.selectOption('#pv-status', 'in_progress');
    await sup.fill('#pv-status-note', 'Arrived at the shelter');
    await sup.getByRole('button', { name: 'Send the status' }).click();
    await sup.waitForFunction(() => document.querySelector('.pv-head').textContent.includes('in progress'));
    await sup.selectOption('#pv-status', 'completed');
    await sup.getByRole('button', { name: 'Send the status' }).click();
    await sup.locator('#pv-status-err:not([hidden])').waitFor();
    await sup.fill('#pv-status-note', 'Placed in long-term accommodation');
    await sup.getByRole('button', { name: 'Send the status' }).click();
    await sup.waitForFunction(() => document.querySelector('.pv-head').textContent.includes('completed'));
  });
  await step('assign to cw-a and export as a file', async () => {
    await sup.fill('#pv-assign', 'cw-a');
    await sup.getByRole('button', { name: 'Assign', exact: true }).click();
    await sup.waitForFunction(() => document.querySelector('.pv-head').textContent.includes('cw-a'));
    const [dl] = await Promise.all([sup.waitForEvent('download'),
      sup.getByRole('button', { name: 'Download the case file' }).click()]);
    const file = join(profile, 'export.json');
    await dl.saveAs(file);
    const x = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(x.format, 'haven-case-export/1');
    assert.equal(x.id, env.a);
    rmSync(file);
  });
  await step('the case file and inbox in Arabic and French', async () => {
    await setLang(sup, 'ar');
    await sup.waitForSelector('.pv-consent');
    assert.equal(await sup.evaluate(() => document.documentElement.dir), 'rtl');
    await shot(sup, 'case-ar');
    await setLang(sup, 'fr');
    await sup.waitForSelector('.pv-consent');
    await shot(sup, 'case-fr');
    await sup.goto(`${env.provider}/#/inbox`);
    await sup.waitForSelector('table.table');
    await shot(sup, 'inbox-fr');
    await setLang(sup, 'ar');
    await sup.waitForSelector('table.table');
    await shot(sup, 'inbox-ar');
    await sup.setViewportSize({ width: 390, height: 844 }); // a phone
    await sup.goto(`${env.provider}/#/inbox/${env.a}`);
    await sup.waitForSelector('.pv-consent');
    await shot(sup, 'case-ar-narrow');
    await sup.setViewportSize({ width: 1280, height: 900 });
    await setLang(sup, 'en');
  });
  await step('a new offer appears in the open inbox without a reload', async () => {
    await sup.goto(`${env.provider}/#/inbox`);
    await sup.waitForSelector('.pv-offer');
    const before = await sup.locator('.pv-offer').count();
    await sup.evaluate(() => { window.hvNotReloaded = true; });
    net.stdin.write('submit\n');
    const d = await nextLine();
    await sup.waitForSelector(`.pv-offer a[href="#/inbox/${d}"]`, { timeout: 30000 });
    assert.equal(await sup.locator('.pv-offer').count(), before + 1);
    assert.equal(await sup.evaluate(() => window.hvNotReloaded), true);
  });
  await step('the caseworker sees the case assigned to them', async () => {
    const cw = await person(env.provider);
    await signIn(cw, 'cw-a');
    await cw.waitForSelector(`a[href="#/inbox/${env.a}"]`);
    assert.equal(await cw.locator('.pv-offer').count(), 0);
    await cw.close();
  });
  await step('a withdrawal shows as erased', async () => {
    await sup.goto(`${env.provider}/#/inbox/${env.c}`);
    await acceptOffer(sup);
    await sup.waitForSelector('.pv-consent', { timeout: 30000 });
    net.stdin.write(`withdraw ${env.c}\n`);
    assert.equal(await nextLine(), 'done');
    await sup.waitForSelector('.pv-erased', { timeout: 30000 });
    assert.match(await sup.locator('.pv-erased').textContent(), /the case file and its key, its history and notes/);
    assert.equal(await sup.locator('.pv-consent').count(), 0);
    await shot(sup, 'erased-en');
    await setLang(sup, 'ar');
    await sup.waitForSelector('.pv-erased');
    await shot(sup, 'erased-ar');
  });
  await step('a minor shared on an override: the consent record says so', async () => {
    const sb = sbPage = await person(env.provider_b);
    await signIn(sb, 'sup-b', env.sup_b);
    await sb.goto(`${env.provider_b}/#/inbox/${env.m}`);
    await acceptOffer(sb);
    await sb.waitForSelector('.pv-consent-override', { timeout: 30000 });
    assert.match(await sb.locator('.pv-override').textContent(), /Supervisor 3/);
    assert.match(await sb.locator('#pv-person-h + dl, .pv-section').first().textContent(), /Child Protection Office/);
    await shot(sb, 'override-en');
    await setLang(sb, 'ar');
    await sb.waitForSelector('.pv-consent-override');
    await shot(sb, 'override-ar');
    await setLang(sb, 'en');
    await sb.waitForSelector('.pv-consent-override');
  });
  await step('with the broker down a status waits to be sent, then goes by itself', async () => {
    const sb = sbPage;
    net.stdin.write('broker-down\n');
    assert.equal(await nextLine(), 'done');
    await sb.selectOption('#pv-status', 'in_progress');
    await sb.getByRole('button', { name: 'Send the status' }).click();
    await sb.waitForSelector('.pv-head .pv-outbox-waiting', { timeout: 20000 });
    await shot(sb, 'outbox-waiting-en');
    net.stdin.write('broker-up\n');
    assert.equal(await nextLine(), 'done');
    await sb.waitForSelector('.pv-head .pv-outbox-sent', { timeout: 30000 }); // no reload
    await sb.close();
  });
  await step('the admin manages staff and tokens', async () => {
    const ad = await person(env.provider);
    await signIn(ad, 'admin-a', env.admin_a);
    await ad.waitForSelector('table.table');
    await ad.fill('#ad-new-name', 'CW B');
    await ad.fill('#ad-new-pw', 'short');
    await ad.getByRole('button', { name: 'Add the account' }).click();
    await ad.locator('#ad-new-name-err:not([hidden])').waitFor();
    await ad.locator('#ad-new-pw-err:not([hidden])').waitFor();
    assert.equal(await ad.getAttribute('#ad-new-pw', 'aria-invalid'), 'true');
    await ad.fill('#ad-new-name', 'cw-b');
    await ad.fill('#ad-new-pw', pw);
    await ad.getByRole('button', { name: 'Add the account' }).click();
    await ad.waitForSelector('th:text("cw-b")');
    await ad.getByRole('button', { name: 'Manage cw-b' }).click();
    await ad.locator('#ad-cw-b-panel').getByRole('button', { name: 'Disable and sign out' }).click();
    await ad.waitForSelector('.alert-info');
    await ad.getByRole('button', { name: 'Manage cw-b' }).click(); // closes it
    await ad.getByRole('button', { name: 'Manage cw-a' }).click();
    await ad.locator('#ad-cw-a-panel').getByRole('button', { name: /second factor/ }).click();
    await ad.waitForSelector('#ad-totp-secret');
    assert.match(await ad.inputValue('#ad-totp-uri'), /^otpauth:\/\/totp\//);
    await shot(ad, 'staff-en');
    await ad.goto(`${env.provider}/#/tokens`);
    await ad.waitForSelector('#ad-scope');
    await ad.selectOption('#ad-scope', 'provider');
    await ad.getByRole('button', { name: 'Create the token' }).click();
    await ad.waitForSelector('#ad-token');
    assert.match(await ad.inputValue('#ad-token'), /^hvt_/);
    await shot(ad, 'tokens-en');
    await ad.getByRole('button', { name: /^Revoke token/ }).click();
    await ad.waitForSelector('.ad-off');
    await setLang(ad, 'ar');
    await ad.waitForSelector('#ad-scope');
    await shot(ad, 'tokens-ar');
    await ad.goto(`${env.provider}/#/staff`);
    await ad.waitForSelector('table.table');
    await shot(ad, 'staff-ar');
  });
  await step('the coordinator sees the pathway', async () => {
    const co = await person(env.router);
    await signIn(co, 'coord-1');
    await co.waitForSelector('.rt-service');
    assert.ok(await co.locator('.rt-service').count() >= 2);
    await shot(co, 'pathway-en');
    await setLang(co, 'ar');
    await co.waitForSelector('.rt-service');
    await shot(co, 'pathway-ar');
  });
  assert.deepEqual(errors, [], 'console errors');
  assert.deepEqual(violations, [], 'axe-core: serious or critical violations');
  console.log(`${passed} steps passed; screenshots in ${out}`);
} catch (e) {
  console.log(`not ok - ${String(e.stack || e)}`);
  console.log(errors.join('\n'));
  process.exitCode = 1;
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
  net.stdin.write('stop\n');
  await new Promise((ok) => net.on('exit', ok));
}
