// The Connections screen: the .qwc download, creating a connection (password shown once), the
// enabled switch, rotating the password, deleting, and polling that stops when the view is left.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { RUN_ID, TEST_TIMEOUT, launchBrowser, signIn, screenshot, goto, apiOk, eventually } from './helpers.mjs';

describe('Connections', { timeout: TEST_TIMEOUT * 4 }, () => {
  let browser;
  before(async () => { browser = await launchBrowser(); });
  after(() => browser && browser.close());

  test('shows the connection with its runs and downloads its .qwc file', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await signIn(browser);
    const { items } = await apiOk(page, 'GET', '/api/v1/connections');
    assert.ok(items.length > 0, 'the server holds at least one connection');
    const conn = items[0];
    await goto(page, '/connections');
    const card = page.locator('article.conn', { has: page.getByRole('heading', { name: conn.name, exact: true }) });
    await card.waitFor();
    await card.locator('.run').first().waitFor();
    await screenshot(page, 'connections-1-list');

    const link = page.getByRole('link', { name: `Download the .qwc file of ${conn.name}`, exact: true });
    assert.equal(await link.getAttribute('download') !== null, true);
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const text = fs.readFileSync(await download.path(), 'utf8');
    assert.match(text, /<QBWCXML>/);
    const userName = text.match(/<UserName>\s*([^<]*?)\s*<\/UserName>/);
    assert.equal(userName && userName[1], conn.username, 'the .qwc names the connection\'s Web Connector user');
    assert.match(download.suggestedFilename(), /\.qwc$/);
    await context.close();
  });

  test('creates, pauses, rotates and deletes a connection', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await signIn(browser);
    await goto(page, '/connections');
    const name = `Browser test file ${RUN_ID}`;

    await page.getByRole('button', { name: 'New Desktop connection' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill(name);
    await screenshot(page, 'connections-2-create-form');
    await dialog.getByRole('button', { name: 'Create connection' }).click();
    const secret = page.getByRole('dialog', { name: 'Connection created' });
    await secret.waitFor();
    const firstPassword = await secret.getByLabel('Web Connector password', { exact: true }).inputValue();
    assert.ok(firstPassword.length >= 8, 'a password is shown');
    assert.match(await secret.textContent(), /Shown once/);
    await screenshot(page, 'connections-3-password-once');
    await secret.getByRole('button', { name: 'Done' }).click();

    const card = page.locator('article.conn', { has: page.getByRole('heading', { name, exact: true }) });
    await card.waitFor();
    const conn = (await apiOk(page, 'GET', '/api/v1/connections')).items.find((c) => c.name === name);
    assert.ok(conn, 'the new connection exists');
    await card.scrollIntoViewIfNeeded();
    // A server whose Web Connector is already running shows the live progress; a fresh one shows "No runs yet".
    await card.locator('.progress').waitFor({ timeout: 4000 }).catch(() => {});
    await screenshot(page, 'connections-4-created');

    await card.getByRole('switch').click();
    const isPaused = async () => (await apiOk(page, 'GET', `/api/v1/connections/${conn.id}`)).enabled === false;
    await eventually(isPaused, 'the connection to be paused');

    await card.getByRole('button', { name: 'Rotate password' }).click();
    const confirm = page.getByRole('dialog', { name: 'Rotate password?' });
    await screenshot(page, 'connections-5-rotate-confirm');
    await confirm.getByRole('button', { name: 'Rotate password' }).click();
    const rotated = page.getByRole('dialog', { name: 'New Web Connector password' });
    const secondPassword = await rotated.getByLabel('Web Connector password', { exact: true }).inputValue();
    assert.notEqual(secondPassword, firstPassword);
    await rotated.getByRole('button', { name: 'Done' }).click();

    await card.getByRole('button', { name: 'Delete' }).click();
    const ask = page.getByRole('dialog', { name: `Delete ${name}?` });
    await screenshot(page, 'connections-6-delete-confirm');
    await ask.getByRole('button', { name: 'Delete connection' }).click();
    await card.waitFor({ state: 'detached' });
    const left = (await apiOk(page, 'GET', '/api/v1/connections')).items;
    assert.equal(left.some((c) => c.id === conn.id), false);
    await context.close();
  });

  test('shows how up to date the lists are, each run\'s mode and changes, and asks for a full refresh',
    { timeout: TEST_TIMEOUT }, async () => {
      const { context, page } = await signIn(browser);
      const { items } = await apiOk(page, 'GET', '/api/v1/connections');
      const conn = items.find((c) => c.last_run && c.last_run.state === 'ended');
      assert.ok(conn, 'a connection with a finished run');
      await goto(page, '/connections');
      const card = page.locator('article.conn', { has: page.getByRole('heading', { name: conn.name, exact: true }) });
      await card.waitFor();
      const facts = card.getByRole('definition');
      assert.ok((await card.textContent()).includes('Customers up to date'));
      assert.ok((await card.textContent()).includes('Next full refresh'));
      assert.ok((await facts.allTextContents()).some((t) => /ago|just now/.test(t)), 'the lists were brought up to date');

      // The newest run says whether it was full or incremental and what it changed.
      const run = card.locator('.run').first();
      await run.waitFor();
      const mode = conn.last_run.mode === 'incremental' ? 'Incremental' : 'Full';
      assert.equal(await run.locator('.run-mode').textContent(), mode);
      const changes = conn.last_run.changes.customers;
      const total = Object.values(changes).reduce((a, b) => a + b, 0);
      if (total > 0) {
        if (!(await run.getAttribute('open'))) await run.locator('summary').click();
        await run.getByRole('button', { name: 'Show changed records' }).click();
        await run.locator('.run-change-group').first().waitFor();
        const path = `/api/v1/connections/${conn.id}/runs/${conn.last_run.id}/changes?limit=1`;
        const first = (await apiOk(page, 'GET', path)).items[0];
        await run.getByText(first.name, { exact: true }).first().waitFor();
        await screenshot(page, 'connections-7-run-changes');
      }

      // Full refresh on the next run, and back.
      const wasAsked = conn.full_refresh_next_run;
      if (wasAsked) await card.getByRole('button', { name: 'Cancel the full refresh' }).click();
      await card.getByRole('button', { name: 'Full refresh on the next run' }).click();
      const asked = async () => (await apiOk(page, 'GET', `/api/v1/connections/${conn.id}`)).full_refresh_next_run;
      await eventually(asked, 'the full refresh to be asked for');
      const again = page.locator('article.conn', { has: page.getByRole('heading', { name: conn.name, exact: true }) });
      await again.getByText('On the next run (asked for)').waitFor();
      await screenshot(page, 'connections-8-full-refresh-asked');
      if (!wasAsked) {
        await again.getByRole('button', { name: 'Cancel the full refresh' }).click();
        await eventually(async () => !(await asked()), 'the request to be withdrawn');
      }
      await context.close();
    });

  test('polls the runs while the view is open, and stops when it is left', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await signIn(browser);
    let polls = 0;
    page.on('request', (req) => { if (/\/api\/v1\/connections\/[^/]+\/runs/.test(req.url())) polls += 1; });
    await goto(page, '/connections');
    await eventually(() => polls >= 2, 'a second poll of the runs', 8000);
    await goto(page, '/locations');
    await page.waitForTimeout(500);
    const before = polls;
    await page.waitForTimeout(4000);
    assert.equal(polls, before, 'no polling after leaving the view');
    await context.close();
  });
});
