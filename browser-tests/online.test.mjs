// QuickBooks Online in a real browser, against `qbsync simulate-online` (a local fake of Intuit):
// connect through the consent page, press Get Locations, then link by dragging, create with "+" and
// disconnect with the red x on Online customers. Runs only on the server wired to the fake (QBSYNC_ONLINE=1).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  config, RUN_ID, TEST_TIMEOUT, launchBrowser, signIn, screenshot, goto, apiOk, listAll, searchPanel, eventually,
} from './helpers.mjs';

const LOCAL = '.panel-local';
const REMOTE = '.panel-remote';
const PAIRS = '.panel-pairs';

describe('QuickBooks Online', { skip: !config.online, timeout: TEST_TIMEOUT * 3 }, () => {
  let browser;
  before(async () => { browser = await launchBrowser(); });
  after(() => browser && browser.close());

  test('connect, Get Locations, then drag, + and red x on Online customers', { timeout: TEST_TIMEOUT * 2 }, async () => {
    const { context, page } = await signIn(browser);
    await goto(page, '/connections');
    const name = `Online books ${RUN_ID}`;

    // Connect: our dialog, then Intuit's (fake) consent page, then back to the connections screen.
    await page.getByRole('button', { name: 'Connect QuickBooks Online' }).click();
    const dialog = page.getByRole('dialog', { name: 'Connect QuickBooks Online' });
    await dialog.getByLabel('Name').fill(name);
    await screenshot(page, 'online-1-connect-dialog');
    await dialog.getByRole('button', { name: 'Continue to Intuit' }).click();
    await page.waitForURL((url) => !url.pathname.startsWith('/admin'));
    await screenshot(page, 'online-2-consent');
    await page.getByRole('button', { name: /Connect/ }).click();
    await page.waitForURL(/\/admin(\?.*)?#\/connections$/);
    const message = page.getByText('QuickBooks Online is connected');
    await message.waitFor();
    const messageText = await page.locator('.message', { has: message }).textContent();
    assert.doesNotMatch(messageText, /undefined|null/, 'the message says nothing else');
    assert.equal(new URL(page.url()).search, '', 'the outcome is taken off the address');
    const card = page.locator('article.conn', { has: page.getByRole('heading', { name, exact: true }) });
    await card.getByText('Connected', { exact: true }).waitFor();
    await screenshot(page, 'online-3-connected');
    const conn = (await apiOk(page, 'GET', '/api/v1/connections')).items.find((c) => c.name === name);
    assert.equal(conn.kind, 'online');
    assert.equal(conn.status, 'connected');

    // Get Locations: live progress, then the panel fills.
    await goto(page, '/sync/locations');
    const get = page.getByRole('button', { name: 'Get Locations' });
    await get.click();
    await page.locator('.pull-status').filter({ hasText: 'Up to date' }).waitFor({ timeout: 60_000 });
    await screenshot(page, 'online-4-got-locations');
    const runs = await apiOk(page, 'GET', `/api/v1/connections/${conn.id}/runs`);
    assert.equal(runs.items[0].outcome, 'success');
    assert.equal(runs.items[0].trigger, 'button');
    const customers = (await listAll(page, '/api/v1/qb/customers', { connection: conn.id, linked: 'false' }))
      .filter((c) => c.status === 'active' && !c.parent_list_id);
    assert.ok(customers.length >= 3, 'the pull staged Online customers');
    const [dragTarget, plusTarget] = customers;

    // Drag a new location onto an Online customer.
    const local = await apiOk(page, 'POST', '/api/v1/locations', { name: `Online drag ${RUN_ID}` });
    await goto(page, '/sync/locations');
    await searchPanel(page, LOCAL, local.name);
    await searchPanel(page, REMOTE, dragTarget.full_name);
    const localCard = page.locator(`${LOCAL} .card-local[data-id="${local.id}"]`);
    const remoteCard = page.locator(`${REMOTE} .card-remote[data-id="${dragTarget.id}"]`);
    await localCard.dragTo(remoteCard);
    const pair = page.locator(`${PAIRS} .pair[data-id="${local.id}"]`);
    await pair.waitFor();
    const linked = await apiOk(page, 'GET', `/api/v1/locations/${local.id}`);
    assert.equal(linked.link.customer_id, dragTarget.id);
    await screenshot(page, 'online-5-linked');

    // The red x disconnects.
    await pair.hover();
    await page.getByRole('button', { name: `Disconnect "${local.name}" from "${dragTarget.full_name}"`, exact: true }).click();
    await pair.waitFor({ state: 'detached' });
    await eventually(async () => (await apiOk(page, 'GET', `/api/v1/locations/${local.id}`)).link === null,
      'the link to be gone');

    // "+" on another Online customer creates a linked location from it.
    await searchPanel(page, REMOTE, plusTarget.full_name);
    const created = page.waitForResponse((res) => res.url().endsWith(`/api/v1/qb/customers/${plusTarget.id}/location`));
    await page.getByRole('button', { name: `Create a location from QuickBooks customer "${plusTarget.full_name}"`, exact: true })
      .click();
    const response = await created;
    assert.equal(response.status(), 201);
    const record = await response.json();
    assert.equal(record.link.customer_id, plusTarget.id);
    await page.locator(`${PAIRS} .pair[data-id="${record.id}"]`).waitFor();
    await screenshot(page, 'online-6-created');

    await apiOk(page, 'DELETE', `/api/v1/locations/${record.id}`);
    await apiOk(page, 'DELETE', `/api/v1/locations/${local.id}`);
    await context.close();
  });
});
