// Search and filters on Sync Locations: one search per panel over names, addresses and phones,
// whatever the accents, case and word order; the QuickBooks panel's "Include inactive" filter (off
// by default); the connection's name on QuickBooks cards and the company filter once the
// organization has two connections. Uses the records of slot 3 (see helpers.mjs).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  RUN_ID, TEST_TIMEOUT, launchBrowser, signIn, screenshot, goto, apiOk, listAll, searchPanel, slotOf,
} from './helpers.mjs';

const LOCAL = '.panel-local';
const REMOTE = '.panel-remote';
const ROUTE = '/sync/locations';

/** Without accents, as a person typing on a plain keyboard would write it. */
const plain = (text) => text.normalize('NFD').replace(/\p{M}/gu, '');
/** The words of a name, last first: "Aspen Hotel" -> "Hotel Aspen". */
const reversed = (text) => text.split(/[\s,:]+/).filter(Boolean).reverse().join(' ');

describe('Search and filters', { timeout: TEST_TIMEOUT * 4 }, () => {
  let browser;
  let active;
  let inactive;
  before(async () => {
    browser = await launchBrowser();
    const { context, page } = await signIn(browser);
    const mine = (await listAll(page, '/api/v1/qb/customers', { linked: 'false' }, 2000))
      .filter((c) => slotOf(c.id) === 3 && !String(c.full_name).includes('<') && !c.parent_list_id);
    // An accented name when the slot has one: the search must find it typed without accents.
    const actives = mine.filter((c) => c.status === 'active');
    active = actives.find((c) => plain(c.full_name) !== c.full_name) || actives[0];
    inactive = mine.find((c) => c.status === 'inactive');
    assert.ok(active && inactive, 'slot 3 holds an active and an inactive top-level customer');
    await context.close();
  });
  after(() => browser && browser.close());

  test('the QuickBooks panel finds a customer by its name in any order, without accents, and by its street',
    { timeout: TEST_TIMEOUT }, async () => {
      const { context, page } = await signIn(browser);
      await goto(page, ROUTE);
      const card = page.locator(`${REMOTE} .card-remote[data-id="${active.id}"]`);
      const typed = plain(reversed(active.full_name)).toLowerCase();
      await searchPanel(page, REMOTE, typed);
      await card.waitFor();
      await screenshot(page, 'filters-1-search-any-order');

      // The street, with its type spelled the other way ("St" <-> "Street").
      const address = active.ship_address && active.ship_address.line1 ? active.ship_address : active.bill_address;
      if (address && address.line1) {
        const swapped = address.line1.replace(/\b(St|Street|Ave|Avenue|Rd|Road|Dr|Drive)\b\.?/,
          (w) => ({ St: 'Street', Street: 'St', Ave: 'Avenue', Avenue: 'Ave', Rd: 'Road', Road: 'Rd', Dr: 'Drive',
            Drive: 'Dr' })[w.replace('.', '')]);
        await searchPanel(page, REMOTE, `${swapped} ${plain(active.name).split(' ')[0]}`);
        await card.waitFor();
      }
      await context.close();
    });

  test('inactive customers show only with "Include inactive", marked Inactive', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await signIn(browser);
    await goto(page, ROUTE);
    const checkbox = page.locator(REMOTE).getByLabel('Include inactive');
    assert.equal(await checkbox.isChecked(), false, 'off by default');
    await searchPanel(page, REMOTE, inactive.full_name);
    const card = page.locator(`${REMOTE} .card-remote[data-id="${inactive.id}"]`);
    await page.locator(`${REMOTE} .vlist-empty, ${REMOTE} .card-remote`).first().waitFor();
    assert.equal(await card.count(), 0, 'an inactive customer is left out by default');

    const reloaded = page.waitForResponse((res) => new URL(res.url()).searchParams.get('status') === 'active,inactive');
    await checkbox.check();
    await reloaded;
    await card.waitFor();
    assert.match(await card.textContent(), /Inactive/);
    await screenshot(page, 'filters-2-include-inactive');
    await context.close();
  });

  test('the locations panel searches addresses and names without accents', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await signIn(browser);
    const location = await apiOk(page, 'POST', '/api/v1/locations',
      { name: `Hôtel du Lac ${RUN_ID}`, address: { line1: '7 Main Street', city: 'Zürich' } });
    await goto(page, ROUTE);
    await searchPanel(page, LOCAL, `LAC hotel zurich main st ${RUN_ID}`);
    await page.locator(`${LOCAL} .card-local[data-id="${location.id}"]`).waitFor();
    await screenshot(page, 'filters-3-locations-search');
    await apiOk(page, 'DELETE', `/api/v1/locations/${location.id}`);
    await context.close();
  });

  test('with two connections, QuickBooks cards name their company and the panel filters by it',
    { timeout: TEST_TIMEOUT }, async () => {
      const { context, page } = await signIn(browser);
      const main = (await apiOk(page, 'GET', '/api/v1/connections')).items.find((c) => c.id === active.connection_id);
      const other = await apiOk(page, 'POST', '/api/v1/connections', { name: `Zeta books ${RUN_ID}` });
      try {
        await goto(page, ROUTE);
        const filter = page.locator(REMOTE).getByLabel('QuickBooks company');
        await filter.waitFor();
        await searchPanel(page, REMOTE, active.full_name);
        const card = page.locator(`${REMOTE} .card-remote[data-id="${active.id}"]`);
        await card.locator('.badge-conn', { hasText: main.name }).waitFor();
        await screenshot(page, 'filters-4-connection-names');

        const reloaded = page.waitForResponse((res) => new URL(res.url()).searchParams.get('connection') === other.id);
        await filter.selectOption(other.id);
        await reloaded;
        await card.waitFor({ state: 'detached' });
        await page.locator(REMOTE).getByText(/No unlinked QuickBooks customers/).waitFor();
        await filter.selectOption(main.id);
        await card.waitFor();
      } finally {
        await apiOk(page, 'DELETE', `/api/v1/connections/${other.id}`);
      }
      await context.close();
    });
});
