#!/usr/bin/env node
// Backups in the dashboard, end to end in a real headless Chromium against a
// running `store-weaver --serve` with backups configured and no workers (so
// what the buttons queue stays queued for tests/dashboard_e2e.rs to check):
//
//   node e2e/backups.mjs <base-url> <email> <password> <screenshots-dir>
//   E2E_KEPT=<store with backups> E2E_STALE=<store without> E2E_GONE=<deleted store with a final backup>
//   E2E_KEPT_BACKUP=<id of KEPT's complete backup>
//   E2E_DRILL_FAILED=<the reason of KEPT's newest drill, which failed> E2E_CLONE=<a free name for a clone>
//
// The list marks the store without a good backup; the store's detail lists
// its backups (a complete one and a failed one with its error); the delete
// confirmation says a final backup is kept 7 days and offers the opt-out;
// the store's schedule refuses 9000 h next to the field and is set to every
// 6 h (tests/dashboard_e2e.rs checks the stored value and its audit entry);
// "Restore…" on the complete backup names it and says the shop is paused,
// and the store turns Restoring; "Back up now" queues a backup; Recently
// deleted lists the deleted store and "Undelete" brings it back
// (Provisioning). Restore drills: KEPT's last good restore is "2 days ago",
// flagged with its newest drill's failure; Run a drill (after its
// confirmation) queues one, shown waiting; a second is refused in words
// (409), and so is a drill of STALE, which has no complete backup (422).
// Clone: a taken name is refused next to the name field, then CLONE is
// made and linked. Screenshots: dashboard-backups.png,
// dashboard-backup-schedule.png, dashboard-delete-backup.png,
// dashboard-recently-deleted.png, dashboard-drills.png, dashboard-clone.png.

import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const [base, email, password, shotsArg] = process.argv.slice(2);
const kept = process.env.E2E_KEPT;
const stale = process.env.E2E_STALE;
const gone = process.env.E2E_GONE;
const keptBackup = process.env.E2E_KEPT_BACKUP;
const drillFailed = process.env.E2E_DRILL_FAILED;
const cloneName = process.env.E2E_CLONE;
if (!base || !email || !password || !shotsArg || !kept || !stale || !gone || !keptBackup || !drillFailed || !cloneName) {
  console.error('usage: E2E_KEPT=… E2E_STALE=… E2E_GONE=… E2E_KEPT_BACKUP=… E2E_DRILL_FAILED=… E2E_CLONE=… node e2e/backups.mjs <base-url> <email> <password> <screenshots-dir>');
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

  await step('restore drills: the last good restore 2 days ago, flagged with the failed newest drill; Run a drill queues one, a second is refused', async () => {
    const region = page.getByRole('region', { name: 'Restore drills' });
    const last = region.getByTestId('last-good-restore');
    await last.waitFor();
    const said = (await last.innerText()).replace(/\s+/g, ' ').trim();
    check(said === '2 days ago · the newest drill failed', `the last good restore says: ${said}`);
    check((await last.getAttribute('data-flagged')) === 'true', 'the failed newest drill is not flagged');
    const why = (await region.getByTestId('drill-failed').innerText()).replace(/\s+/g, ' ');
    check(why.includes(drillFailed), `the failed drill's reason: ${why}`);
    const facts = (await region.getByTestId('drill-facts').innerText()).replace(/\s+/g, ' ');
    check(/Next scheduled drill \d{4}-\d\d-\d\d \d\d:\d\d \(every 7 days\)/.test(facts), `the drill facts say: ${facts}`);
    check((await region.locator('tr[data-outcome="passed"]').count()) === 1 && (await region.locator('tr[data-outcome="failed"]').count()) === 1, 'the two drills are not listed');
    await region.scrollIntoViewIfNeeded();
    await shot('drills');
    // Run one: the confirmation says what it does; the drill is queued (no workers: it waits).
    await region.getByRole('button', { name: 'Run a drill…' }).click();
    let dialog = page.getByRole('alertdialog');
    check(/throwaway store.*This store is not touched/s.test(await dialog.innerText()), 'the drill dialog does not say what a drill does');
    await dialog.getByRole('button', { name: 'Run drill' }).click();
    await dialog.waitFor({ state: 'detached' });
    await region.getByRole('status').filter({ hasText: `Restore drill of “${kept}” queued` }).waitFor();
    await region.locator('tr[data-outcome="open"]').getByText('waiting for a drill slot').waitFor();
    // A second while it is under way: the server's refusal, in words.
    await region.getByRole('button', { name: 'Run a drill…' }).click();
    dialog = page.getByRole('alertdialog');
    await dialog.getByRole('button', { name: 'Run drill' }).click();
    const refusal = (await dialog.getByRole('alert').innerText()).replace(/\s+/g, ' ');
    check(/^Cannot run a restore drill of “.*”: .*already under way/.test(refusal), `the second drill's refusal: ${refusal}`);
    // The keyboard still works in the dialog after the refusal.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    const posts = apiCalls.filter((c) => c.method === 'POST' && c.path.endsWith('/drills'));
    check(posts.length === 2, `drill requests sent: ${posts.length}`);
    await fitsPhone('the store detail with its drills');
  });

  await step('clone: a taken name is refused next to the name, then the clone is made', async () => {
    const region = page.getByRole('region', { name: 'Backups' });
    await region.getByRole('button', { name: 'Clone…' }).click();
    const form = region.getByRole('form', { name: `Clone “${kept}”` });
    const name = form.getByLabel('Name of the clone');
    await name.fill(stale);
    await form.getByRole('button', { name: 'Create clone' }).click();
    const err = form.locator('.field-error');
    await err.waitFor();
    const says = await err.innerText();
    check(says.includes(stale), `the taken name's refusal says: ${says}`);
    check((await name.getAttribute('aria-invalid')) === 'true', 'the taken name is not marked invalid');
    check((await name.getAttribute('aria-describedby'))?.includes(await err.getAttribute('id')), 'the refusal is not tied to the name field');
    await form.scrollIntoViewIfNeeded();
    await shot('clone');
    await name.fill(cloneName);
    await form.getByRole('button', { name: 'Create clone' }).click();
    const made = region.getByRole('status').filter({ hasText: `Clone ${cloneName} created from “${kept}”` });
    await made.waitFor();
    check((await made.getByRole('link', { name: cloneName }).count()) === 1, 'the clone is not linked');
    const posts = apiCalls.filter((c) => c.method === 'POST' && c.path.endsWith('/clone')).map((c) => JSON.parse(c.body));
    check(JSON.stringify(posts) === JSON.stringify([{ name: stale }, { name: cloneName }]), `the clone requests sent ${JSON.stringify(posts)}`);
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
    // No complete backup: a drill is refused, in words.
    const drills = page.getByRole('region', { name: 'Restore drills' });
    check((await drills.getByTestId('last-good-restore').innerText()).trim() === 'never', 'a store never drilled does not say never');
    await drills.getByRole('button', { name: 'Run a drill…' }).click();
    const dialog = page.getByRole('alertdialog');
    await dialog.getByRole('button', { name: 'Run drill' }).click();
    const refusal = (await dialog.getByRole('alert').innerText()).replace(/\s+/g, ' ');
    check(refusal.includes(`Cannot run a restore drill of “${stale}”: store "${stale}" has no complete backup to drill`), `the drill's refusal: ${refusal}`);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
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
