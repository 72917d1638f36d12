// Drives the operator console (/admin/ui) through a deploy rollback, an upload, a canary
// promoted, a shadow rollout aborted, a dead-letter requeue and a staff takeover, on a
// phone or laptop viewport. Run by the Rust end-to-end tests against the real binary;
// exits 0 on success, 1 on the first failure (printing the step and the page's status
// area, with `${VIEWPORT}-failure.png`).
//
// Env: CONSOLE_URL, ADMIN_TOKEN, VIEWPORT (phone|laptop), ARTIFACTS, PLUGIN,
//      UPLOAD_WASM and UPLOAD_WASM_2 (two new, working versions of PLUGIN: the first is
//      canaried and promoted, the second shadowed and aborted, so the first serves the
//      requeue), TWILIO_MESSAGES_URL, LEAD, STAFF_REPLY; optional CHROMIUM (browser
//      binary) and TWILIO_BASIC_AUTH (base64 `sid:token`, sent as `Authorization: Basic`
//      to TWILIO_MESSAGES_URL).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const env = (k) => {
  const v = process.env[k];
  if (!v) { console.error(`console.mjs: ${k} is not set`); process.exit(2); }
  return v;
};
const URL_ = env('CONSOLE_URL'), TOKEN = env('ADMIN_TOKEN'), VIEWPORT = env('VIEWPORT'), ARTIFACTS = env('ARTIFACTS');
const PLUGIN = env('PLUGIN'), TWILIO = env('TWILIO_MESSAGES_URL'), LEAD = env('LEAD'), STAFF_REPLY = env('STAFF_REPLY');
const UPLOAD = env('UPLOAD_WASM'), UPLOAD_2 = env('UPLOAD_WASM_2');
// A version id is the sha256 of the component's bytes.
const versionOf = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');
const V1 = versionOf(UPLOAD), V2 = versionOf(UPLOAD_2);
if (V1 === V2) { console.error('console.mjs: UPLOAD_WASM and UPLOAD_WASM_2 are the same component'); process.exit(2); }
const VIEWPORTS = {
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
  laptop: { viewport: { width: 1280, height: 800 } },
};
if (!VIEWPORTS[VIEWPORT]) { console.error(`console.mjs: VIEWPORT must be phone or laptop, not ${VIEWPORT}`); process.exit(2); }
mkdirSync(ARTIFACTS, { recursive: true });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
class Fail extends Error {}
const check = (ok, msg) => { if (!ok) throw new Fail(msg); };
// Polls fn until it returns a truthy value; fails with msg after timeout ms.
async function until(fn, msg, timeout = 10000, every = 250) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    if (Date.now() > end) throw new Fail(`${msg} (after ${timeout} ms${last instanceof Error ? `: ${last.message}` : ''})`);
    await sleep(every);
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox'],
});
const context = await browser.newContext({ ...VIEWPORTS[VIEWPORT], locale: 'en-US', timezoneId: 'UTC' });
context.setDefaultTimeout(10000);
const page = await context.newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
// A failed request is a console error too; only a step that provokes one expects it.
let expected = null;
page.on('console', (m) => {
  if (m.type() === 'error' && !(expected && expected.test(m.text()))) pageErrors.push(`console.error: ${m.text()} (${m.location().url})`);
});
const tid = (id) => page.getByTestId(id);

let shot = 0, current = 'start';
async function step(name, fn) {
  current = name;
  await fn();
  check(pageErrors.length === 0, `the page reported errors:\n  ${pageErrors.join('\n  ')}`);
  // Where the token may never be: the URL, a cookie, localStorage.
  check(!page.url().includes(TOKEN), `the token appears in the URL ${page.url()}`);
  const store = await page.evaluate(() => ({ cookie: document.cookie, local: localStorage.length }));
  check(store.cookie === '', `document.cookie is not empty: ${store.cookie}`);
  check(store.local === 0, `localStorage holds ${store.local} item(s)`);
  shot += 1;
  const path = `${ARTIFACTS}/${VIEWPORT}-${String(shot).padStart(2, '0')}-${name}.png`;
  await page.screenshot({ path, fullPage: true });
  console.log(`ok ${shot} ${name}`);
}
// Clicks the in-page confirmation's "confirm", with a reason when the dialog asks one.
async function confirm(reason) {
  await tid('confirm-yes').waitFor();
  if (reason != null && await tid('reason').count()) await tid('reason').fill(reason);
  await tid('confirm-yes').click();
  await tid('confirm-dialog').waitFor({ state: 'hidden' });
}
const statusText = async () => (await tid('status').textContent({ timeout: 1000 }).catch(() => '')) || '';
async function nav(id) {
  await tid(id).click();
  await page.waitForLoadState('domcontentloaded');
}
const stamp = `${VIEWPORT}-${Date.now()}`;
// On the plugin screen: the version it shows in `tid`, '' when absent.
const shownVersion = async (id) => ((await tid(id).count()) ? await tid(id).getAttribute('data-version') : '');
const versionRow = (v) => page.locator(`[data-testid="version-row"][data-version=${JSON.stringify(v)}]`);
const rolloutMode = () => tid('rollout-mode').getAttribute('data-mode');
// Waits until the newest history entry is `action` and names `version`, then checks its reason.
async function newestHistory(action, version, reason) {
  const top = tid('history-row').first();
  await until(async () => (await top.getAttribute('data-action')) === action
    && (await top.locator(`[data-version=${JSON.stringify(version)}]`).count()) > 0,
  `the newest history entry is not ${action} of ${version.slice(0, 8)}`);
  check((await top.textContent()).includes(reason), `the newest ${action} entry does not show "${reason}"`);
}
// Uploads `path` (version `version`) through the page's file input, with a note.
async function upload(path, version, note) {
  check(await versionRow(version).count() === 0, `version ${version} is already listed`);
  await tid('upload-file').setInputFiles(path);
  await tid('upload-submit').click();
  await tid('confirm-yes').click(); // no note: refused in the dialog
  await tid('confirm-error').waitFor();
  await confirm(note);
  // The host compiles the component before it answers.
  await until(async () => (await statusText()).includes(`Uploaded: version ${version.slice(0, 8)}`),
    `no "Uploaded: version ${version.slice(0, 8)}" status`, 30000);
  await versionRow(version).waitFor();
  check((await versionRow(version).textContent()).includes(note), 'the new version does not show its note');
  await newestHistory('upload', version, note);
}
// Starts a rollout of `candidate` from the "Start a rollout" form.
async function startRollout(kind, candidate, percent, reason) {
  await tid('rollout-kind').selectOption(kind);
  await tid('rollout-candidate').selectOption(candidate);
  if (kind === 'canary') await tid('rollout-percent').fill(String(percent));
  else check(await tid('rollout-percent').isHidden(), `the percent field is shown for a ${kind} rollout`);
  await tid('rollout-start').click();
  await confirm(reason);
  await until(async () => (await statusText()).includes(`${kind} started`), `no "${kind} started" status`);
  await until(async () => (await rolloutMode()) === kind, `the rollout is not shown as ${kind}`);
  await newestHistory('rollout', candidate, reason);
  check(await shownVersion('candidate-version') === candidate, `the candidate shown is ${await shownVersion('candidate-version')}, not ${candidate}`);
  check((await versionRow(candidate).textContent()).includes('candidate'), 'the candidate version is not marked "candidate"');
}

let rolledBack = '';
try {
  await step('signin-refused', async () => {
    await page.goto(URL_);
    expected = /status of 401/;
    await tid('signin-token').fill(`${TOKEN}-not-this-one`);
    await tid('signin-submit').click();
    await until(async () => (await statusText()).includes('401'), 'a refused token does not show the 401');
    await tid('signin-token').waitFor();
    check(await page.evaluate(() => sessionStorage.length === 0), 'a refused token stays in sessionStorage');
    expected = null;
  });

  await step('signin', async () => {
    await tid('signin-token').fill(TOKEN);
    await tid('signin-submit').click();
    await tid(`plugin-row-${PLUGIN}`).waitFor();
    check(await page.evaluate((t) => sessionStorage.getItem('agenthost.admin-token') === t, TOKEN), 'the token is not in sessionStorage');
  });

  await step('rollback', async () => {
    await tid(`plugin-row-${PLUGIN}`).click();
    await tid('plugin-detail').waitFor();
    const before = await tid('history-row').count();
    const active = await tid('active-version').getAttribute('data-version');
    check(active, 'the plugin has no active version');
    const reason = `browser test rollback ${stamp}`;
    await tid('rollback').click();
    await tid('confirm-yes').click(); // no reason yet: refused in the dialog
    await tid('confirm-error').waitFor();
    await confirm(reason);
    await until(async () => (await statusText()).includes('Rolled back'), 'no "Rolled back" status');
    await until(async () => (await tid('history-row').count()) > before || before >= 200,
      `history did not grow from ${before}`);
    const top = tid('history-row').first();
    check(await top.getAttribute('data-action') === 'rollback', `newest history entry is ${await top.getAttribute('data-action')}, not rollback`);
    check((await top.textContent()).includes(reason), 'newest history entry does not show the reason');
    const now = await tid('active-version').getAttribute('data-version');
    check(now && now !== active, `active version did not change (still ${active})`);
    rolledBack = now;
  });

  await step('upload', async () => {
    await upload(UPLOAD, V1, `browser test upload ${stamp}`);
    check(await shownVersion('active-version') === rolledBack, 'an upload changed the active version');
    check(await rolloutMode() === 'none', 'an upload started a rollout');
  });

  await step('canary', async () => {
    await startRollout('canary', V1, 50, `browser test canary ${stamp}`);
    check((await tid('rollout-mode').textContent()).includes('canary 50%'), `the rollout badge reads "${await tid('rollout-mode').textContent()}"`);
    check(await shownVersion('active-version') === rolledBack, 'a canary changed the active version');
    await tid('promote').waitFor();
    await tid('abort').waitFor();
  });

  await step('promote', async () => {
    const reason = `browser test promote ${stamp}`;
    await tid('promote').click();
    await confirm(reason);
    await until(async () => (await statusText()).includes(`Promoted ${V1.slice(0, 8)}`), 'no "Promoted" status');
    await until(async () => (await shownVersion('active-version')) === V1, `the active version is not ${V1.slice(0, 8)}`);
    await newestHistory('promote', V1, reason);
    check(await rolloutMode() === 'none', `the rollout is still ${await rolloutMode()}`);
    check(await shownVersion('candidate-version') === '', 'a candidate is still shown');
    check(await shownVersion('previous-version') === rolledBack, `the previous version is not ${rolledBack.slice(0, 8)}`);
    check(await tid('promote').count() === 0 && await tid('abort').count() === 0, 'promote/abort are offered without a rollout');
    check((await versionRow(V1).textContent()).includes('active'), 'the promoted version is not marked "active"');
  });

  await step('upload-second', async () => {
    await upload(UPLOAD_2, V2, `browser test second upload ${stamp}`);
  });

  await step('shadow', async () => {
    await startRollout('shadow', V2, null, `browser test shadow ${stamp}`);
    check((await tid('rollout-mode').textContent()).trim() === 'shadow', `the rollout badge reads "${await tid('rollout-mode').textContent()}"`);
    check(await shownVersion('active-version') === V1, 'a shadow rollout changed the active version');
  });

  await step('shadow-abort', async () => {
    const reason = `browser test abort ${stamp}`;
    await tid('abort').click();
    await confirm(reason);
    await until(async () => (await statusText()).includes('Rollout aborted'), 'no "Rollout aborted" status');
    await until(async () => (await rolloutMode()) === 'none', 'the rollout is still shown');
    await newestHistory('abort', V2, reason);
    check(await shownVersion('active-version') === V1, `the active version is not ${V1.slice(0, 8)} after the abort`);
    check(await shownVersion('candidate-version') === '', 'a candidate is still shown');
    check(await tid('abort').count() === 0, 'abort is still offered');
  });

  let dead;
  await step('dead-letters', async () => {
    await nav('nav-dead-letters');
    const rows = tid('dead-letter-row');
    await rows.first().waitFor();
    // Prefer a dead letter of PLUGIN with a conversation; else the first.
    dead = await page.evaluate((plugin) => {
      const all = [...document.querySelectorAll('[data-testid="dead-letter-row"]')].map((r) => r.dataset);
      const d = all.find((x) => x.plugin === plugin && x.conversationId) || all[0];
      return { eventId: d.eventId, plugin: d.plugin, conversationId: d.conversationId };
    }, PLUGIN);
    check(dead.eventId, 'the dead letter row has no event id');
  });

  await step('requeue', async () => {
    const row = page.locator(`[data-testid="dead-letter-row"][data-event-id=${JSON.stringify(dead.eventId)}]`);
    await row.getByTestId('requeue').click();
    await tid('confirm-extra-version').waitFor();
    check(await tid('confirm-extra-version').inputValue() === '', 'requeue does not default to the active version');
    await confirm(`browser test requeue ${stamp}`);
    await until(async () => (await statusText()).includes('Requeued'), 'no "Requeued" status');
    await until(async () => (await row.count()) === 0, `dead letter ${dead.eventId} is still listed`, 20000);
  });

  await step('requeued-reply', async () => {
    check(dead.conversationId, `dead letter ${dead.eventId} has no conversation`);
    await page.evaluate((id) => { location.hash = '#/conversations/' + encodeURIComponent(id); }, dead.conversationId);
    await tid('thread').waitFor();
    await until(() => page.evaluate((eventId) => {
      const ms = [...document.querySelectorAll('[data-testid="message-row"]')];
      let i = ms.findIndex((m) => m.dataset.eventId === eventId);
      if (i < 0) i = ms.map((m) => m.dataset.author).lastIndexOf('lead');
      return i >= 0 && ms.slice(i + 1).some((m) => m.dataset.author === 'agent' && m.dataset.direction === 'outbound');
    }, dead.eventId), `no agent reply after the lead's message ${dead.eventId}`, 20000);
  });

  await step('conversation-search', async () => {
    await nav('nav-conversations');
    await tid('conversation-search').fill(LEAD);
    await tid('conversation-search-submit').click();
    await page.locator(`[data-testid="conversation-row"][data-lead=${JSON.stringify(LEAD)}]`).first().waitFor();
  });

  await step('takeover', async () => {
    await page.locator(`[data-testid="conversation-row"][data-lead=${JSON.stringify(LEAD)}]`).first().click();
    await tid('thread').waitFor();
    await page.locator('[data-testid="takeover"], [data-testid="release"]').first().waitFor();
    if (await tid('takeover').count()) {
      await tid('takeover').click();
      await confirm(`browser test takeover ${stamp}`);
    } else {
      console.log('note: the conversation was already taken over');
    }
    await tid('takeover-badge').waitFor();
    await until(() => tid('reply-body').isEnabled(), 'the reply box is not enabled while taken over');
  });

  await step('staff-reply', async () => {
    await tid('reply-body').fill(STAFF_REPLY);
    await tid('reply-send').click();
    await until(async () => (await statusText()).includes('Reply queued'), 'no "Reply queued" status');
    const mine = page.locator('[data-testid="message-row"][data-author="staff"]').filter({ hasText: STAFF_REPLY }).last();
    await mine.waitFor();
    check((await mine.getByTestId('message-author').textContent()).startsWith('staff · '), 'the staff reply is not marked "staff · name"');
    check(await tid('reply-body').inputValue() === '', 'the reply box was not cleared');
    await until(async () => {
      const auth = process.env.TWILIO_BASIC_AUTH;
      const r = await fetch(TWILIO, { headers: auth ? { Authorization: `Basic ${auth}` } : {} });
      if (!r.ok) throw new Error(`GET ${TWILIO}: HTTP ${r.status}`);
      const d = await r.json();
      return (d.messages || []).some((m) => m.body === STAFF_REPLY && m.to === LEAD);
    }, `Twilio never received "${STAFF_REPLY}" to ${LEAD}`, 15000, 500);
  });

  await step('release', async () => {
    await tid('release').click();
    await confirm(null);
    await until(async () => (await tid('takeover-badge').count()) === 0, 'the takeover badge is still shown');
    await tid('takeover').waitFor();
    check(await tid('reply-send').isDisabled(), 'the reply button is enabled after release');
  });

  await step('live', async () => {
    await nav('nav-live');
    await page.locator('[data-testid^="live-plugin-"]').first().waitFor();
    await tid(`live-plugin-${PLUGIN}`).waitFor();
    await tid(`live-plugin-${PLUGIN}`).getByTestId('sparkline').waitFor();
  });

  await step('alerts', async () => {
    await nav('nav-alerts');
    await tid('alerts-list').waitFor();
  });

  await browser.close();
  console.log(`console.mjs: ${VIEWPORT}: all steps passed`);
  process.exit(0);
} catch (e) {
  const status = await statusText();
  const why = e instanceof Fail ? e.message : String(e.stack || e).replace(/\x1b\[[0-9;]*m/g, '');
  console.error(`console.mjs: ${VIEWPORT}: step "${current}" failed: ${why}`);
  console.error(`  page: ${page.url().replace(TOKEN, '<token>')}`);
  console.error(`  status area: ${status.trim() || '(empty)'}`);
  if (pageErrors.length) console.error(`  page errors:\n    ${pageErrors.join('\n    ')}`);
  await page.screenshot({ path: `${ARTIFACTS}/${VIEWPORT}-failure.png`, fullPage: true }).catch(() => {});
  await browser.close().catch(() => {});
  process.exit(1);
}
