#!/usr/bin/env node
// Backups in the dashboard, end to end in a real headless Chromium against a
// running `store-weaver --serve` with backups configured and no workers (so
// what the buttons queue stays queued for tests/dashboard_e2e.rs to check):
//
//   node e2e/backups.mjs <base-url> <email> <password> <screenshots-dir>
//   E2E_KEPT=<store with backups> E2E_STALE=<store without> E2E_GONE=<deleted store with a final backup>
//   E2E_KEPT_BACKUP=<id of KEPT's complete backup>
//
// The list marks the store without a good backup; the store's detail lists
// its backups (a complete one and a failed one with its error); the delete
// confirmation says a final backup is kept 7 days and offers the opt-out;
// the store's schedule refuses 9000 h next to the field and is set to every
// 6 h (tests/dashboard_e2e.rs checks the stored value and its audit entry);
// "Restore…" on the complete backup names it and says the shop is paused,
// and the store turns Restoring; "Back up now" queues a backup; Recently
// deleted lists the deleted store and "Undelete" brings it back
// (Provisioning). Screenshots: dashboard-backups.png,
// dashboard-backup-schedule.png, dashboard-delete-backup.png,
// dashboard-recently-deleted.png.

import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const [base, email, password, shotsArg] = process.argv.slice(2);
const kept = process.env.E2E_KEPT;
const stale = process.env.E2E_STALE;
const gone = process.env.E2E_GONE;
const keptBackup = process.env.E2E_KEPT_BACKUP;
if (!base || !email || !password || !shotsArg || !kept || !stale || !gone || !keptBackup) {
  console.error('usage: E2E_KEPT=… E2E_STALE=… E2E_GONE=… E2E_KEPT_BACKUP=… node e2e/backups.mjs <base-url> <email> <password> <screenshots-dir>');
  process.exit(2);
}
const shots = resolve(shotsArg);
mkdirSync(shots, { recursive: true });
const t0 = Date.now();
const log = (msg) => console.log(`[e2e-backups ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}`);
let current = 'start';
async function step(name, fn) {
  current = name;
  log(`${name}…`);
  await fn();
  log(`${name}: ok`);
}
function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

const profile = mkdtempSync(join(tmpdir(), 'sw-e2e-backups-'));
let context;
let page;
const pageErrors = [];
const apiCalls = [];
let exitCode = 0;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 860 },
    deviceScaleFactor: 1,
    colorScheme: 'light',
    reducedMotion: 'reduce',
    locale: 'en-GB',
    timezoneId: 'UTC',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-dev-shm-usage'],
    timeout: 60_000,
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/')) apiCalls.push({ method: r.method(), path: u.pathname + u.search, body: r.postData() });
  });
  const shot = async (name, opts = {}) => {
    const file = join(shots, `dashboard-${name}.png`);
    await page.screenshot({ path: file, animations: 'disabled', caret: 'hide', ...opts });
    log(`screenshot ${file}`);
  };
  const row = (name) => page.locator(`tr[data-store-name="${name}"]`);
  // On a 390 px screen the page must not scroll sideways (tables become cards).
  const fitsPhone = async (what) => {
    await page.setViewportSize({ width: 390, height: 760 });
    await page.waitForTimeout(200);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await page.setViewportSize({ width: 1280, height: 860 });
    check(overflow <= 1, `${what} is ${overflow}px wider than a 390px screen`);
  };

  await step('sign in; the store without a good backup is marked, the one with a fresh backup is not', async () => {
    await page.goto(base, { waitUntil: 'domcontentloaded' });
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Your stores' }).waitFor();
    await row(stale).getByText('never backed up').waitFor();
    check((await row(stale).getAttribute('data-no-backup')) === 'true', 'the store without a backup is not marked');
    await row(kept).waitFor();
    check((await row(kept).getAttribute('data-no-backup')) === null, 'the store backed up 2 h ago is marked');
    check((await row(gone).count()) === 0, 'the deleted store is in the list of live stores');
  });

  await step('the store’s backups: a complete one and a failed one with its error', async () => {
    await row(kept).getByRole('link', { name: kept }).click();
    await page.getByRole('heading', { name: kept, level: 1 }).waitFor();
    const region = page.getByRole('region', { name: 'Backups' });
    const complete = region.locator(`tr[data-backup-id="${keptBackup}"]`);
    await complete.waitFor();
    check((await complete.getAttribute('data-state')) === 'complete', 'the complete backup is not shown complete');
    const text = (await complete.innerText()).replace(/\s+/g, ' ');
    check(/manual/.test(text) && /4\.2 KB/.test(text) && /1 min/.test(text), `the complete backup's row says: ${text}`);
    // The schedule that applies (the fleet's default, 24 h) and when the next one is due.
    const sched = (await region.getByTestId('backup-schedule').innerText()).replace(/\s+/g, ' ');
    check(/every 24 h/.test(sched) && /Next scheduled \d{4}-\d\d-\d\d \d\d:\d\d/.test(sched), `the schedule says: ${sched}`);
    const failed = region.locator('tr[data-state="failed"]');
    await failed.getByText('the bucket went away mid-way').waitFor();
    check((await failed.getByRole('button').count()) === 0, 'a failed backup offers a restore');
    await page.evaluate(() => window.scrollTo(0, 0));
    await region.scrollIntoViewIfNeeded();
    await shot('backups');
    await fitsPhone('the store detail with its backups');
  });

  await step('the store’s schedule: 9000 h is refused next to the field, then every 6 h is saved', async () => {
    const region = page.getByRole('region', { name: 'Backups' });
    const facts = region.getByTestId('backup-schedule');
    const before = (await facts.innerText()).replace(/\s+/g, ' ');
    const choice = region.getByLabel('Backup interval');
    check((await choice.inputValue()) === 'default', `the schedule form starts at ${await choice.inputValue()}`);
    // The server's refusal, next to the hours it refuses; nothing else changes.
    await choice.selectOption('custom');
    const hours = region.getByLabel('Hours between backups');
    await hours.fill('9000');
    await region.getByRole('button', { name: 'Save schedule' }).click();
    const refused = region.locator('#schedule-hours-error');
    await refused.getByText(/9000 is not an interval/).waitFor();
    check((await hours.getAttribute('aria-invalid')) === 'true', 'the refused hours are not marked invalid');
    check((await facts.innerText()).replace(/\s+/g, ' ') === before, 'a refused schedule changed what the section shows');
    await region.scrollIntoViewIfNeeded();
    await shot('backup-schedule');
    // Every 6 h: the section shows what the server answered.
    await choice.selectOption('6');
    await region.getByRole('button', { name: 'Save schedule' }).click();
    await region.getByRole('status').filter({ hasText: `Backup schedule of “${kept}” saved: every 6 h` }).waitFor();
    const after = (await facts.innerText()).replace(/\s+/g, ' ');
    check(/every 6 h \(set for this store\)/.test(after) && /Next scheduled \d{4}-\d\d-\d\d \d\d:\d\d/.test(after), `after saving the schedule says: ${after}`);
    check((await region.getByLabel('Backup interval').inputValue()) === '6', 'the form does not start from the saved 6 h');
    check((await refused.count()) === 0, 'the refusal is still shown after the save');
    const puts = apiCalls.filter((c) => c.method === 'PUT' && c.path.endsWith('/backup-schedule')).map((c) => JSON.parse(c.body));
    check(JSON.stringify(puts) === JSON.stringify([{ every_hours: 9000 }, { every_hours: 6 }]), `the schedule requests sent ${JSON.stringify(puts)}`);
    await fitsPhone('the store detail with its schedule form');
  });

  await step('the delete confirmation says a final backup is kept 7 days, with an opt-out', async () => {
    await page.getByRole('button', { name: 'Delete…' }).click();
    const dialog = page.getByRole('alertdialog');
    await dialog.waitFor();
    const says = (await dialog.getByTestId('delete-consequence').innerText()).replace(/\s+/g, ' ');
    check(/A final backup .* is taken first and kept 7 days, until \d{4}-\d\d-\d\d/.test(says), `the delete dialog says: ${says}`);
    check(!/cannot be undone/.test(says), `with backups the dialog still says it cannot be undone: ${says}`);
    await dialog.getByLabel(/Delete without a backup/).check();
    await dialog.getByRole('button', { name: 'Delete without a backup' }).waitFor();
    const now = (await dialog.getByTestId('delete-consequence').innerText()).replace(/\s+/g, ' ');
    check(/No final backup is taken: .*It cannot be undone\./.test(now), `after the opt-out the dialog says: ${now}`);
    await dialog.getByLabel(/Delete without a backup/).uncheck();
    await shot('delete-backup');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    check(!apiCalls.some((c) => c.method === 'DELETE'), 'cancelling the dialog sent a DELETE');
  });

  await step('restore the complete backup after a confirmation naming it; the store turns Restoring', async () => {
    const region = page.getByRole('region', { name: 'Backups' });
    await region.getByRole('button', { name: new RegExp(`Restore backup ${keptBackup.slice(0, 8)}`) }).click();
    const dialog = page.getByRole('alertdialog');
    const title = await dialog.getByRole('heading').innerText();
    check(title === `Restore “${kept}” from backup ${keptBackup.slice(0, 8)}?`, `the restore dialog's title: ${title}`);
    check(/shop is paused during the restore/.test(await dialog.innerText()), 'the restore dialog does not say the shop is paused');
    await dialog.getByRole('button', { name: 'Restore backup' }).click();
    await dialog.waitFor({ state: 'detached' });
    await region.getByRole('status').filter({ hasText: `Restoring “${kept}” from backup ${keptBackup.slice(0, 8)}` }).waitFor();
    await page.locator('.page-head .badge').filter({ hasText: 'Restoring' }).waitFor();
    const post = apiCalls.find((c) => c.method === 'POST' && c.path.endsWith('/restore'));
    check(post && JSON.parse(post.body).backup === keptBackup, `the restore request named ${post?.body}`);
  });

  await step('back up the other store now', async () => {
    await page.getByRole('link', { name: '← Stores' }).click();
    await row(stale).getByRole('link', { name: stale }).click();
    await page.getByRole('heading', { name: stale, level: 1 }).waitFor();
    const region = page.getByRole('region', { name: 'Backups' });
    await region.getByText('No backups yet.').waitFor();
    await region.getByRole('button', { name: 'Back up now' }).click();
    await region.getByRole('status').filter({ hasText: `Backup of “${stale}” queued` }).waitFor();
  });

  await step('Recently deleted lists the deleted store; Undelete brings it back', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Recently deleted' }).click();
    await page.getByRole('heading', { name: 'Recently deleted', level: 1 }).waitFor();
    const r = row(gone);
    await r.waitFor();
    check(/\d{4}-\d\d-\d\d/.test(await r.locator('td[data-label="Undelete until"]').innerText()), 'no expiry shown');
    await shot('recently-deleted');
    await fitsPhone('Recently deleted');
    await r.getByRole('button', { name: `Undelete ${gone}` }).click();
    const dialog = page.getByRole('alertdialog');
    check(/final backup/.test(await dialog.innerText()), 'the undelete dialog does not name the final backup');
    await dialog.getByRole('button', { name: 'Undelete store' }).click();
    await page.getByRole('heading', { name: 'Your stores' }).waitFor();
    await page.getByRole('status').filter({ hasText: `Undeleting “${gone}”` }).waitFor();
    await row(gone).and(page.locator('[data-status="Provisioning"]')).waitFor();
  });

  await step('no script error occurred', async () => {
    check(pageErrors.length === 0, `script errors on the page:\n  ${pageErrors.join('\n  ')}`);
  });
  log(`passed in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
} catch (e) {
  exitCode = 1;
  console.error(`\n[e2e-backups] FAILED at step "${current}": ${e instanceof Error ? e.message : e}`);
  if (pageErrors.length) console.error(`[e2e-backups] script errors:\n  ${pageErrors.join('\n  ')}`);
  if (page) {
    try {
      const file = join(tmpdir(), `sw-e2e-backups-failure-${Date.now()}.png`);
      await page.screenshot({ path: file, fullPage: true });
      console.error(`[e2e-backups] page at failure: ${page.url()}\n[e2e-backups] screenshot: ${file}`);
      console.error(`[e2e-backups] visible text:\n${(await page.locator('body').innerText()).slice(0, 2000)}`);
      console.error(`[e2e-backups] API calls:\n${apiCalls.map((c) => `${c.method} ${c.path}`).join('\n')}`);
    } catch {
      /* the browser is gone */
    }
  }
} finally {
  await context?.close().catch(() => undefined);
  rmSync(profile, { recursive: true, force: true });
}
process.exit(exitCode);
