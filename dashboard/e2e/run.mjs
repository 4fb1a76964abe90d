#!/usr/bin/env node
// End-to-end test of the dashboard in a real headless Chromium (Debian's
// `chromium`, driven by playwright-core) against a running `store-weaver --serve`.
//
//   node e2e/run.mjs <base-url> <email> <password> <screenshots-dir>
//
// Signs in (keyboard only), creates a store (first with an invalid name to see
// the API's validation message next to the field), waits until the store is
// Ready without reloading the page and without polling (the change must come
// over the event stream); an operator then changes it (a setting the server
// refuses, its message next to the field, then an upgrade that keeps the store
// Ready and ends on Helm revision 2, then a roll back to revision 1's content
// as revision 3); the owner opens its detail (resources,
// events, timeline, admin credentials, history, no change buttons), deletes it
// after confirming, and signs out; then, with the stream refused, checks that
// the list falls back to polling. Takes PNG screenshots of the main screens
// into <screenshots-dir>. Exits non-zero with a message saying which step
// failed, and why.

import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const [base, email, password, shotsArg] = process.argv.slice(2);
// Optional: an operator (admin role) who must see the user's store and its owner.
const adminEmail = process.env.E2E_ADMIN_EMAIL;
const adminPassword = process.env.E2E_ADMIN_PASSWORD;
// Optional: the server's MAX_STORES_PER_USER is 1, so a second create is refused.
const perUserLimit = process.env.E2E_MAX_STORES_PER_USER === '1';
if (!base || !email || !password || !shotsArg) {
  console.error('usage: node e2e/run.mjs <base-url> <email> <password> <screenshots-dir>');
  process.exit(2);
}
const shots = resolve(shotsArg);
mkdirSync(shots, { recursive: true });
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const READY_TIMEOUT = Number(process.env.E2E_READY_TIMEOUT_MS ?? 240_000);
const GONE_TIMEOUT = Number(process.env.E2E_GONE_TIMEOUT_MS ?? 180_000);
const t0 = Date.now();
const log = (msg) => console.log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}`);

let current = 'start';
async function step(name, fn) {
  current = name;
  log(`${name}…`);
  const s = Date.now();
  const out = await fn();
  log(`${name}: ok (${((Date.now() - s) / 1000).toFixed(1)}s)`);
  return out;
}
function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

const profile = mkdtempSync(join(tmpdir(), 'sw-e2e-chromium-'));
let context;
let page;
const pageErrors = [];
const apiCalls = [];
let exitCode = 0;

try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 860 },
    deviceScaleFactor: 1,
    colorScheme: 'light',
    reducedMotion: 'reduce',
    locale: 'en-GB',
    timezoneId: 'UTC',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
    timeout: 60_000,
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/')) apiCalls.push({ at: Date.now(), method: r.method(), path: u.pathname });
  });
  const shot = async (name, opts = {}) => {
    const file = join(shots, `dashboard-${name}.png`);
    await page.screenshot({ path: file, animations: 'disabled', caret: 'hide', ...opts });
    log(`screenshot ${file}`);
  };

  await step('open the dashboard and see the sign-in form', async () => {
    const res = await page.goto(base, { waitUntil: 'domcontentloaded' });
    check(res && res.ok(), `GET ${base} answered ${res?.status()}`);
    check((res.headers()['content-type'] ?? '').startsWith('text/html'), `GET / is not HTML: ${res.headers()['content-type']}`);
    await page.getByRole('heading', { name: 'Sign in to Store Weaver' }).waitFor();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await shot('sign-in');
    // A marker that a reload would wipe: checked at the end.
    await page.evaluate(() => {
      window.__swNoReload = 'still here';
    });
  });

  await step('a wrong password is refused with a message', async () => {
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('definitely not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'wrong email or password' }).waitFor();
  });

  await step('sign in with the keyboard only', async () => {
    await page.getByLabel('Email').fill('');
    await page.getByLabel('Password').fill('');
    await page.getByLabel('Email').focus();
    await page.keyboard.type(email);
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement?.id);
    check(focused === 'signin-password', `Tab from the email field went to #${focused}, not the password field`);
    await page.keyboard.type(password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /Your stores|All stores/ }).waitFor();
    await page.getByText('No stores yet.').waitFor();
    await page.locator('[data-live="stream"]').waitFor({ timeout: 15_000 }).catch(() => {
      throw new Error('the live indicator never said "Live": the event stream (GET /api/stream) did not connect');
    });
  });

  const name = `E2E Shop ${Math.random().toString(36).slice(2, 6)}`;
  await step('the create form shows the API validation message next to the field', async () => {
    await page.getByRole('link', { name: 'New store' }).first().click();
    await page.getByRole('heading', { name: 'New store' }).waitFor();
    await page.getByLabel('Store name').fill('!!!');
    await page.getByRole('button', { name: 'Create store' }).click();
    const err = page.locator('#store-name-error');
    await err.waitFor();
    const text = await err.innerText();
    check(/letters or digits/.test(text), `unexpected validation message: ${text}`);
    const invalid = await page.getByLabel('Store name').getAttribute('aria-invalid');
    check(invalid === 'true', 'the name field is not marked aria-invalid');
    await shot('create-validation');
  });

  let createdAt = 0;
  await step(`create "${name}"`, async () => {
    await page.getByLabel('Store name').fill(name);
    createdAt = Date.now();
    await page.getByRole('button', { name: 'Create store' }).click();
    await page.getByRole('status').filter({ hasText: `Store “${name}” created` }).waitFor();
    const row = page.locator(`tr[data-store-name="${name}"]`);
    await row.waitFor();
    const status = await row.getAttribute('data-status');
    check(['Provisioning', 'Ready'].includes(status), `the new store shows status ${status}`);
    log(`  the new row shows ${status}`);
  });

  const row = page.locator(`tr[data-store-name="${name}"]`);
  await step('the store becomes Ready without a reload, over the event stream', async () => {
    await row.and(page.locator('[data-status="Ready"]')).waitFor({ timeout: READY_TIMEOUT }).catch(async () => {
      const status = await row.getAttribute('data-status').catch(() => '?');
      const text = await row.innerText().catch(() => '');
      throw new Error(`the store did not show Ready within ${READY_TIMEOUT / 1000}s (it shows ${status}: ${text.replace(/\s+/g, ' ')})`);
    });
    // The row first showed the Provisioning store the create returned; the
    // only way it can turn Ready without a request is the event stream.
    const polls = apiCalls.filter((c) => c.at > createdAt && c.method === 'GET' && c.path.startsWith('/api/stores'));
    check(
      polls.length === 0,
      `the page asked ${polls.map((c) => c.path).join(', ')}: the Ready status should have come over the event stream alone`,
    );
    const badge = await row.locator('.badge').innerText();
    check(badge.includes('Ready'), `the badge says ${badge}`);
    const link = row.getByRole('link', { name: /localhost|\./ });
    check((await link.count()) > 0, 'a Ready store shows its address as a link');
    check(/took (\d|under)/.test(await row.innerText()), 'the row says how long provisioning took');
    await shot('stores');
  });

  await step('search and status filter narrow the list and are kept in the URL', async () => {
    const word = name.split(' ').pop();
    await page.getByLabel('Search').fill(word);
    await page.waitForURL((u) => u.searchParams.get('q') === word);
    await row.waitFor();
    const calls = apiCalls.filter((c) => c.method === 'GET' && c.path === '/api/stores').length;
    check(calls > 0, 'the list was asked of the server with the filter');
    await page.getByLabel('Status').selectOption('Failed');
    await page.waitForURL((u) => u.searchParams.get('status') === 'Failed' && u.searchParams.get('q') === word);
    await row.waitFor({ state: 'detached' });
    await page.getByText('No stores match the filter.').waitFor();
    await page.getByLabel('Status').selectOption('Ready');
    await page.waitForURL((u) => u.searchParams.get('status') === 'Ready');
    await row.waitFor();
    check((await page.locator('p.count').innerText()).includes('matching the filter'), 'the count says it is filtered');
    // Back to everything.
    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Search').fill('');
    await page.waitForURL((u) => u.search === '');
    await row.waitFor();
  });

  if (perUserLimit) {
    await step('a second store is refused with the per-user limit explained', async () => {
      await page.getByRole('link', { name: 'New store' }).first().click();
      await page.getByLabel('Store name').fill(`${name} two`);
      await page.getByRole('button', { name: 'Create store' }).click();
      const alert = page.getByRole('alert').filter({ hasText: 'You have reached your store limit' });
      await alert.waitFor();
      log(`  ${(await alert.innerText()).trim()}`);
      await page.getByRole('link', { name: 'Cancel' }).click();
      await row.waitFor();
    });
  }

  if (adminEmail && adminPassword) {
    await step('an operator sees the store with its owner', async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Email').fill(adminEmail);
      await page.getByLabel('Password').fill(adminPassword);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'All stores' }).waitFor();
      await page.getByRole('columnheader', { name: 'Owner' }).waitFor();
      const owner = await row.locator('td.owner').innerText();
      check(owner.trim() === email.toLowerCase(), `the operator sees owner ${owner}, not ${email}`);
      await page.getByText('admin', { exact: true }).first().waitFor();
      await shot('admin');
    });

    await step('an operator changes the running store: a refused setting, an upgrade to revision 2, a roll back', async () => {
      await row.getByRole('link', { name }).click();
      await page.getByRole('heading', { name, level: 1 }).waitFor();
      const history = page.getByRole('region', { name: 'History' });
      await history.locator('tr[data-revision="1"]').getByText('current', { exact: true }).waitFor({ timeout: 30_000 });
      const chart = (await page.getByTestId('chart-version').innerText()).trim();
      check(/^\d+\.\d+\.\d+/.test(chart), `the detail shows chart version "${chart}"`);
      check((await page.getByTestId('settings').innerText()).trim() === 'chart defaults', 'a new store runs the chart defaults');
      const form = page.getByRole('region', { name: 'Upgrade / change settings' });
      // The server refuses a bad value; its message sits next to the field.
      await form.getByLabel('wordpress.cpu', { exact: true }).fill('lots');
      await form.getByRole('button', { name: 'Upgrade' }).click();
      const err = page.locator('#setting-wordpress-cpu-error');
      await err.waitFor();
      check(/not a CPU amount/.test(await err.innerText()), `unexpected 422 message: ${await err.innerText()}`);
      await form.getByLabel('wordpress.cpu', { exact: true }).fill('');
      await form.getByLabel('wordpress.memory', { exact: true }).fill('1Gi');
      await form.getByRole('button', { name: 'Upgrade' }).click();
      await form.getByRole('status').filter({ hasText: 'Upgrading' }).waitFor();
      // It stays Ready meanwhile, and the live updates bring revision 2.
      await page.getByTestId('helm-revision').filter({ hasText: /^2$/ }).waitFor({ timeout: READY_TIMEOUT });
      check((await page.locator('.page-head .badge').innerText()).includes('Ready'), 'the upgraded store is not Ready');
      check((await page.getByTestId('settings').innerText()).trim() === 'wordpress.memory=1Gi', 'the settings do not show the upgrade');
      await history.locator('tr[data-revision="2"]').getByText('current', { exact: true }).waitFor({ timeout: 30_000 });
      await page.evaluate(() => window.scrollTo(0, 0));
      await shot('store-changes', { fullPage: true });
      // Roll back to the previous revision: Helm makes revision 3 with revision 1's content.
      await history.getByRole('button', { name: 'Roll back', exact: true }).click();
      await history.getByRole('status').filter({ hasText: 'Rolling' }).waitFor();
      await page.getByTestId('helm-revision').filter({ hasText: /^3$/ }).waitFor({ timeout: READY_TIMEOUT });
      check((await page.getByTestId('settings').innerText()).trim() === 'chart defaults', 'the rollback did not bring the chart defaults back');
      await history.locator('tr[data-revision="3"]').getByText('current', { exact: true }).waitFor({ timeout: 30_000 });
      await page.getByRole('link', { name: '← Stores' }).click();
      await page.getByRole('heading', { name: 'All stores' }).waitFor();
    });

    await step('back to the user', async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Your stores' }).waitFor();
      await row.waitFor();
    });
  }

  await step('the store list on a phone-sized screen', async () => {
    await page.setViewportSize({ width: 390, height: 760 });
    await page.waitForTimeout(200);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `the page is ${overflow}px wider than a 390px screen`);
    await shot('phone');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  await step('open the store: resources, events, timeline', async () => {
    await row.getByRole('link', { name }).click();
    await page.getByRole('heading', { name, level: 1 }).waitFor();
    const resources = page.getByRole('region', { name: 'Resources' });
    await resources.locator('table tbody tr').first().waitFor({ timeout: 30_000 });
    const n = await resources.locator('table tbody tr').count();
    check(n > 0, 'no resources listed');
    const events = page.getByRole('region', { name: 'Events' });
    await events.locator('li, p.muted').first().waitFor();
    const history = page.getByRole('region', { name: 'History' });
    await history.locator('tbody tr').first().waitFor({ timeout: 30_000 });
    check((await page.getByRole('region', { name: 'Upgrade / change settings' }).count()) === 0, 'a user sees the upgrade form');
    check((await history.getByRole('button').count()) === 0, 'a user sees roll-back buttons');
    const timeline = page.getByRole('region', { name: 'Timeline' });
    await timeline.getByText('create', { exact: true }).waitFor();
    await timeline.getByText('ready', { exact: true }).waitFor();
    log(`  ${n} resources, ${await events.locator('li').count()} events, ${await timeline.locator('li').count()} timeline entries`);
  });

  await step('reveal the admin credentials (audited)', async () => {
    await page.getByRole('button', { name: 'Show admin credentials' }).click();
    const pw = page.getByTestId('admin-password');
    await pw.waitFor();
    check((await pw.innerText()).trim().length >= 8, 'the revealed password is empty or short');
    await page.getByRole('button', { name: 'Hide' }).click();
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByRole('region', { name: 'Timeline' }).getByText('credentials reveal', { exact: true }).waitFor();
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('store-detail', { fullPage: true });
  });

  await step('delete the store after confirming', async () => {
    await page.getByRole('button', { name: 'Delete…' }).click();
    const dialog = page.getByRole('alertdialog');
    await dialog.waitFor();
    const focused = await page.evaluate(() => document.activeElement?.textContent);
    check(focused === 'Cancel', `the dialog should focus Cancel first, focused: ${focused}`);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Delete…' }).click();
    // This server has no backups configured: the dialog must not promise one.
    const says = (await dialog.getByTestId('delete-consequence').innerText()).replace(/\s+/g, ' ');
    check(/It cannot be undone\.$/.test(says), `without backups the delete dialog says: ${says}`);
    check(!/final backup/.test(says), `without backups the delete dialog promises a backup: ${says}`);
    check((await dialog.getByLabel(/Delete without a backup/).count()) === 0, 'without backups the dialog offers a backup opt-out');
    await shot('delete-confirm');
    await dialog.getByRole('button', { name: 'Delete store' }).click();
    await page.getByRole('heading', { name: /Your stores|All stores/ }).waitFor();
    await page.getByRole('status').filter({ hasText: `Deleting “${name}”` }).waitFor();
    await row.waitFor({ state: 'detached', timeout: GONE_TIMEOUT }).catch(async () => {
      const status = await row.getAttribute('data-status').catch(() => '?');
      throw new Error(`the store was still listed (${status}) ${GONE_TIMEOUT / 1000}s after the delete`);
    });
    await page.getByText('No stores yet.').waitFor();
  });

  await step('sign out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Store Weaver' }).waitFor();
    await page.getByText('You have signed out.').waitFor();
    const status = await page.evaluate(async () => (await fetch('/api/me')).status);
    check(status === 401, `GET /api/me after signing out answered ${status}, not 401`);
  });

  await step('without the event stream, the list polls every 5 s while a store is busy', async () => {
    // The stream is refused from now on (as behind a proxy that buffers it).
    await page.route('**/api/stream*', (r) => r.abort('connectionrefused'));
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('[data-live="polling"]').waitFor();
    const second = `${name} polled`;
    await page.getByRole('link', { name: 'New store' }).first().click();
    await page.getByLabel('Store name').fill(second);
    const since = Date.now();
    await page.getByRole('button', { name: 'Create store' }).click();
    const r2 = page.locator(`tr[data-store-name="${second}"]`);
    await r2.and(page.locator('[data-status="Ready"]')).waitFor({ timeout: READY_TIMEOUT });
    const polls = apiCalls.filter((c) => c.at > since && c.method === 'GET' && c.path === '/api/stores');
    check(polls.length >= 1, 'the store turned Ready with neither the stream nor a poll');
    log(`  Ready after ${polls.length} poll(s) of GET /api/stores`);
    await r2.getByRole('button', { name: `Delete ${second}` }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Delete store' }).click();
    await r2.waitFor({ state: 'detached', timeout: GONE_TIMEOUT });
    // Nothing busy any more: the polling stops.
    const before = apiCalls.filter((c) => c.path === '/api/stores').length;
    await page.waitForTimeout(6000);
    const after = apiCalls.filter((c) => c.path === '/api/stores').length;
    check(after === before, `the list kept polling with nothing busy (${after - before} more requests)`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Store Weaver' }).waitFor();
    await page.unroute('**/api/stream*');
  });

  await step('no reload happened and no script error occurred', async () => {
    const marker = await page.evaluate(() => window.__swNoReload);
    check(marker === 'still here', 'the page was reloaded during the test');
    check(pageErrors.length === 0, `script errors on the page:\n  ${pageErrors.join('\n  ')}`);
  });

  log(`passed in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
} catch (e) {
  exitCode = 1;
  console.error(`\n[e2e] FAILED at step "${current}": ${e instanceof Error ? e.message : e}`);
  if (pageErrors.length) console.error(`[e2e] script errors on the page:\n  ${pageErrors.join('\n  ')}`);
  if (page) {
    try {
      const file = join(tmpdir(), `sw-e2e-failure-${Date.now()}.png`);
      await page.screenshot({ path: file, fullPage: true });
      const text = await page.locator('body').innerText();
      const dump = join(tmpdir(), `sw-e2e-failure-${Date.now()}.txt`);
      writeFileSync(dump, `${page.url()}\n\n${text}\n\nAPI calls:\n${apiCalls.map((c) => `${c.method} ${c.path}`).join('\n')}\n`);
      console.error(`[e2e] page at failure: ${page.url()}\n[e2e] screenshot: ${file}\n[e2e] page text: ${dump}`);
      console.error(`[e2e] visible text:\n${text.slice(0, 1500)}`);
    } catch {
      /* the browser is gone */
    }
  }
} finally {
  await context?.close().catch(() => undefined);
  rmSync(profile, { recursive: true, force: true });
}
process.exit(exitCode);
