// A hostile QuickBooks name renders as text, and a conflict from a stale view shows the server's message.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  HOSTILE_NAME, RUN_ID, TEST_TIMEOUT, EMPTY_ADDRESS, launchBrowser, signIn, screenshot, goto, apiOk, listAll, pickQuickBooks,
  searchPanel,
} from './helpers.mjs';

describe('Hostile data and conflicts', { timeout: TEST_TIMEOUT * 4 }, () => {
  let browser;
  before(async () => { browser = await launchBrowser(); });
  after(() => browser && browser.close());

  test('a customer named like HTML shows as text, on its card and as a location', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await signIn(browser);
    const dialogs = [];
    page.on('dialog', (dialog) => { dialogs.push(dialog.message()); dialog.dismiss().catch(() => {}); });
    const customers = await listAll(page, '/api/v1/qb/customers', { q: HOSTILE_NAME });
    const hostile = customers.find((c) => c.full_name === HOSTILE_NAME || c.name === HOSTILE_NAME);
    assert.ok(hostile, 'the server holds the hostile customer and finds it by its name');
    if (hostile.link) await apiOk(page, 'DELETE', `/api/v1/locations/${hostile.link.id}/link`);

    await goto(page, '/sync/locations');
    await searchPanel(page, '.panel-remote', HOSTILE_NAME);
    const card = page.locator(`.panel-remote .card-remote[data-id="${hostile.id}"]`);
    await card.waitFor();
    assert.equal(await card.locator('.card-title').textContent(), HOSTILE_NAME);
    assert.equal(await page.locator('img').count(), 0, 'no img element anywhere on the page');
    await screenshot(page, 'security-1-hostile-card');

    // Make a location from it: its name shows as text in the pair and in the Locations list.
    const created = page.waitForResponse((res) => res.url().endsWith(`/api/v1/qb/customers/${hostile.id}/location`));
    const plusLabel = `Create a location from QuickBooks customer "${HOSTILE_NAME}"`;
    await page.getByRole('button', { name: plusLabel, exact: true }).click();
    const location = await (await created).json();
    const pair = page.locator(`.panel-pairs .pair[data-id="${location.id}"]`);
    await pair.waitFor();
    assert.equal(await pair.locator('.card-title').first().textContent(), location.name);
    assert.ok(location.name.includes('<img'), 'the location keeps the name as text');
    await goto(page, '/locations');
    await page.getByRole('searchbox').fill(location.name);
    const row = page.locator(`.record[data-id="${location.id}"]`);
    await row.waitFor();
    assert.equal(await row.locator('.record-name').textContent(), location.name);
    assert.equal(await page.locator('img').count(), 0);
    await screenshot(page, 'security-2-hostile-location');
    await page.waitForTimeout(500);
    assert.deepEqual(dialogs, [], 'no alert or other dialog fired');

    await apiOk(page, 'DELETE', `/api/v1/locations/${location.id}/link`);
    await apiOk(page, 'DELETE', `/api/v1/locations/${location.id}`);
    await context.close();
  });

  test('linking from a stale view shows the 409 message on the page', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await signIn(browser);
    const [first, second] = await pickQuickBooks(page, 'customers', 1, 2);
    const location = await apiOk(page, 'POST', '/api/v1/locations',
      { name: `Conflict site ${RUN_ID}`, description: '', address: EMPTY_ADDRESS, phone: '', email: '' });
    await goto(page, '/sync/locations');
    await searchPanel(page, '.panel-local', location.name);
    await searchPanel(page, '.panel-remote', second.full_name);

    // Meanwhile, someone else links the location.
    await apiOk(page, 'PUT', `/api/v1/locations/${location.id}/link`, { customer_id: first.id });

    const source = page.locator(`.panel-local .card-local[data-id="${location.id}"]`);
    const target = page.locator(`.panel-remote .card-remote[data-id="${second.id}"]`);
    const answer = page.waitForResponse((res) => res.url().endsWith(`/api/v1/locations/${location.id}/link`));
    await source.dragTo(target);
    assert.equal((await answer).status(), 409);
    const alert = page.locator('#alert');
    await alert.waitFor();
    assert.equal(await alert.getAttribute('role'), 'alert');
    assert.match(await alert.textContent(), /\S/);
    await screenshot(page, 'security-3-conflict');

    // The view reloads: the location has left the unlinked panel.
    await source.waitFor({ state: 'detached' });
    const stored = await apiOk(page, 'GET', `/api/v1/locations/${location.id}`);
    assert.equal(String(stored.link.customer_id), String(first.id));
    await apiOk(page, 'DELETE', `/api/v1/locations/${location.id}/link`);
    await apiOk(page, 'DELETE', `/api/v1/locations/${location.id}`);
    await context.close();
  });
});

