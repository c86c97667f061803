// Change review on Sync Locations: a second QuickBooks company is synced, every customer of it made
// into a linked location with "+", then the company is synced again some edits later (renamed,
// made inactive, deleted). The "Changed in QuickBooks" view counts and lists the pairs, a pair's
// review shows each field here and in QuickBooks, Apply copies the chosen fields, and the badge on
// a linked pair opens the same review, where Dismiss clears it. Runs `qbsync simulate` (QBSYNC_BIN).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  RUN_ID, TEST_TIMEOUT, config, launchBrowser, signIn, screenshot, goto, apiOk, listAll, searchPanel,
} from './helpers.mjs';

const PAIRS = '.panel-pairs';
const ROUTE = '/sync/locations';

function simulate(conn, ...extra) {
  if (!config.bin) throw new Error('Set QBSYNC_BIN to the qbsync binary: this test plays the Web Connector with it');
  execFileSync(config.bin, ['simulate', '--url', config.url, '--username', conn.username, '--password', conn.password,
    '--customers', '8', '--employees', '2', '--seed', '41', ...extra], { stdio: 'ignore' });
}

describe('Change review', { timeout: TEST_TIMEOUT * 3 }, () => {
  let browser;
  let conn;
  const made = new Map(); // location id -> location
  before(async () => {
    browser = await launchBrowser();
    const { context, page } = await signIn(browser);
    conn = await apiOk(page, 'POST', '/api/v1/connections', { name: `Review books ${RUN_ID}` });
    simulate(conn);
    for (const customer of await listAll(page, '/api/v1/qb/customers', { connection: conn.id, status: 'active' })) {
      const location = await apiOk(page, 'POST', `/api/v1/qb/customers/${customer.id}/location`);
      made.set(location.id, location);
    }
    simulate(conn, '--evolve', '1');
    await context.close();
  });
  after(async () => {
    if (browser && conn) {
      const { context, page } = await signIn(browser);
      for (const id of made.keys()) await apiOk(page, 'DELETE', `/api/v1/locations/${id}`);
      await apiOk(page, 'DELETE', `/api/v1/connections/${conn.id}`);
      await context.close();
    }
    if (browser) await browser.close();
  });

  test('the review list counts the changed pairs; Apply copies the chosen fields', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await signIn(browser);
    const review = await apiOk(page, 'GET', '/api/v1/changes?kind=locations');
    const mine = review.items.filter((it) => made.has(it.id));
    assert.ok(mine.length >= 2, `the later company changed linked customers: ${JSON.stringify(review.items)}`);
    const renamed = mine.find((it) => it.fields.some((f) => f.field === 'name' && f.differs));
    assert.ok(renamed, 'a renamed customer is among them');

    await goto(page, ROUTE);
    const tab = page.getByRole('button', { name: /^Changes/ });
    await tab.locator('.count', { hasText: String(review.counts.locations) }).waitFor();
    await tab.click();
    const row = page.locator(`.changes .change-row[data-id="${renamed.id}"]`);
    await row.waitFor();
    assert.match(await row.textContent(), /name changed/);
    await screenshot(page, 'changes-1-review-list');

    await row.getByRole('button', { name: 'Review' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('What changed in QuickBooks').waitFor();
    const nameBox = dialog.getByLabel('Apply name from QuickBooks');
    assert.equal(await nameBox.isChecked(), true, 'a field that changed in QuickBooks is chosen');
    await screenshot(page, 'changes-2-review-dialog');
    const applied = page.waitForResponse((res) => res.url().endsWith(`/api/v1/changes/${renamed.id}/apply`));
    await dialog.getByRole('button', { name: 'Apply chosen fields' }).click();
    assert.equal((await applied).status(), 200);
    const message = page.locator('#status .message-text');
    await message.filter({ hasText: /^Applied name/ }).waitFor();
    assert.doesNotMatch(await page.locator('#status').textContent(), /undefined/);
    await row.waitFor({ state: 'detached' });
    const location = await apiOk(page, 'GET', `/api/v1/locations/${renamed.id}`);
    const wanted = renamed.fields.find((f) => f.field === 'name').quickbooks;
    assert.equal(location.name, wanted, 'the location took the new name');
    assert.equal(location.link.changed, false);
    const history = await apiOk(page, 'GET', `/api/v1/audit?subject=${renamed.id}`);
    assert.equal(history.items[0].action, 'apply');

    // The pair's history says what was taken from QuickBooks.
    await page.getByRole('button', { name: 'Link by hand' }).click();
    await searchPanel(page, PAIRS, location.name);
    await page.locator(`${PAIRS} .pair[data-id="${renamed.id}"]`).getByRole('button', { name: /^History of/ }).click();
    await page.getByRole('dialog').getByText(/^Took name.* from /).waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
    await context.close();
  });

  test('the badge on a linked pair opens its review; Dismiss clears it', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await signIn(browser);
    const review = await apiOk(page, 'GET', '/api/v1/changes?kind=locations');
    const item = review.items.find((it) => made.has(it.id));
    assert.ok(item, 'a changed pair is left to review');
    await goto(page, ROUTE);
    await searchPanel(page, PAIRS, item.name);
    const pair = page.locator(`${PAIRS} .pair[data-id="${item.id}"]`);
    const badge = pair.getByRole('button', { name: /Review what changed in QuickBooks/ });
    await badge.waitFor();
    await screenshot(page, 'changes-3-badge');
    await badge.click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('What changed in QuickBooks').waitFor();
    const dismissed = page.waitForResponse((res) => res.url().endsWith(`/api/v1/changes/${item.id}/dismiss`));
    await dialog.getByRole('button', { name: 'Dismiss' }).click();
    assert.equal((await dismissed).status(), 200);
    await badge.waitFor({ state: 'detached' });
    assert.equal((await apiOk(page, 'GET', `/api/v1/locations/${item.id}`)).link.changed, false);
    await context.close();
  });
});
