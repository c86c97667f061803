// Help with matching on Sync Locations: a selected card's best matches, the Suggested view with
// accept and accept-all (count first), Undo from the message, a pair's history, the look-alike
// question before "+", a real double click on "+", and the screen at 390 px wide.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  RUN_ID, TEST_TIMEOUT, launchBrowser, signIn, screenshot, goto, apiOk, listAll, searchPanel, eventually, config,
  slotOf,
} from './helpers.mjs';

const LOCAL = '.panel-local';
const REMOTE = '.panel-remote';
const PAIRS = '.panel-pairs';
const ROUTE = '/sync/locations';

describe('Matching help', { timeout: TEST_TIMEOUT * 6 }, () => {
  let browser;
  let customers;
  let jobs;
  before(async () => {
    browser = await launchBrowser();
    const { context, page } = await signIn(browser);
    // Slot 2 is this file's (see helpers.mjs): records no other file picks.
    const all = (await listAll(page, '/api/v1/qb/customers', { linked: 'false', status: 'active' }, 2000))
      .filter((c) => slotOf(c.id) === 2 && !String(c.full_name).includes('<'));
    customers = all.filter((c) => !c.parent_list_id);
    jobs = all.filter((c) => c.parent_list_id);
    assert.ok(customers.length >= 4 && jobs.length >= 1, `slot 2 holds ${customers.length} customers, ${jobs.length} jobs`);
    await context.close();
  });
  after(() => browser && browser.close());

  async function newLocation(page, body) {
    return apiOk(page, 'POST', '/api/v1/locations', body);
  }

  test('selecting a location brings its best match up; Link, then Undo from the message', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await signIn(browser);
    const customer = customers[0];
    const location = await newLocation(page, { name: customer.name.toUpperCase() });
    await goto(page, ROUTE);
    await searchPanel(page, LOCAL, location.name);
    await page.locator(`${LOCAL} .card-local[data-id="${location.id}"]`).click();
    const best = page.locator(`${REMOTE} .candidates .card-candidate`).first();
    await best.waitFor();
    assert.equal(await best.getAttribute('data-id'), String(customer.id), 'the customer is the best match');
    assert.match(await best.textContent(), /same name/);
    await screenshot(page, 'matching-1-best-matches');

    const linked = page.waitForResponse((res) => res.url().endsWith(`/api/v1/locations/${location.id}/link`));
    await best.getByRole('button', { name: /^Link/ }).click();
    assert.equal((await linked).status(), 200);
    await page.locator(`${PAIRS} .pair[data-id="${location.id}"]`).waitFor();
    const undo = page.locator('#status').getByRole('button', { name: 'Undo' });
    await undo.waitFor();
    await screenshot(page, 'matching-2-undo-offered');
    const undone = page.waitForResponse((res) => res.url().endsWith('/api/v1/audit/undo'));
    await undo.click();
    assert.equal((await undone).status(), 200);
    await eventually(async () => (await apiOk(page, 'GET', `/api/v1/locations/${location.id}`)).link === null,
      'the link to be undone');
    await page.locator(`${PAIRS} .pair[data-id="${location.id}"]`).waitFor({ state: 'detached' });
    await apiOk(page, 'DELETE', `/api/v1/locations/${location.id}`);
    await context.close();
  });

  test('the Suggested view accepts one pair, or all above a score after saying how many', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await signIn(browser);
    const [, first, second] = customers;
    const words = (name) => name.split(/[\s,]+/).filter(Boolean);
    const one = await newLocation(page, { name: words(first.name).reverse().join(' ') });
    const two = await newLocation(page, { name: second.name });
    await goto(page, ROUTE);
    await page.getByRole('button', { name: /^Suggested/ }).click();
    const row = (location) => page.locator(`.suggest .suggestion[data-local="${location.id}"]`);
    await page.locator('.suggest select').selectOption('0.75');
    await row(one).waitFor();
    assert.equal(await row(one).getAttribute('data-remote'), String(first.id));
    await screenshot(page, 'matching-3-suggested');

    // One pair.
    await row(one).getByRole('button', { name: /^Accept/ }).click();
    await eventually(async () => {
      const now = await apiOk(page, 'GET', `/api/v1/locations/${one.id}`);
      return now.link && String(now.link.customer_id) === String(first.id);
    }, 'the accepted pair to be linked');
    await row(one).waitFor({ state: 'detached' });

    // All above the score: the count comes first.
    await row(two).waitFor();
    const acceptAll = page.locator('.suggest').getByRole('button', { name: /^Accept all/ });
    const count = Number((await acceptAll.textContent()).match(/\d+/)[0]);
    assert.ok(count >= 1);
    await acceptAll.click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    assert.match(await dialog.textContent(), new RegExp(`Link ${count} pair`));
    await screenshot(page, 'matching-4-accept-all-count');
    const accepted = page.waitForResponse((res) => res.url().endsWith('/api/v1/suggestions/accept'));
    await dialog.getByRole('button', { name: `Link ${count}` }).click();
    const answer = await (await accepted).json();
    assert.equal(answer.linked, count);
    const after = await apiOk(page, 'GET', `/api/v1/locations/${two.id}`);
    assert.equal(String(after.link.customer_id), String(second.id));

    // The pair's history, then Undo of the whole accept.
    await page.getByRole('button', { name: /^Link by hand/ }).click();
    await searchPanel(page, PAIRS, two.name);
    await page.getByRole('button', { name: `History of "${two.name}"`, exact: true }).click();
    const history = page.getByRole('dialog');
    await history.waitFor();
    assert.match(await history.textContent(), /suggestion accepted/);
    assert.match(await history.textContent(), new RegExp(config.email.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    await screenshot(page, 'matching-5-history');
    await history.getByRole('button', { name: 'Close' }).click();
    await apiOk(page, 'POST', '/api/v1/audit/undo', { events: answer.events });
    for (const location of [one, two]) {
      if ((await apiOk(page, 'GET', `/api/v1/locations/${location.id}`)).link) {
        await apiOk(page, 'DELETE', `/api/v1/locations/${location.id}/link`);
      }
      await apiOk(page, 'DELETE', `/api/v1/locations/${location.id}`);
    }
    await context.close();
  });

  test('"+" offers to link a look-alike unlinked location instead of making a second one', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await signIn(browser);
    const customer = customers[3];
    const twin = await newLocation(page, { name: `${customer.name}` });
    await goto(page, ROUTE);
    await searchPanel(page, REMOTE, customer.full_name);
    await page.getByRole('button', { name: `Create a location from QuickBooks customer "${customer.full_name}"`, exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    assert.match(await dialog.textContent(), /looks the same/);
    await screenshot(page, 'matching-6-look-alike');
    await dialog.getByRole('button', { name: `Link to "${twin.name}"`, exact: true }).click();
    await eventually(async () => {
      const now = await apiOk(page, 'GET', `/api/v1/locations/${twin.id}`);
      return now.link && String(now.link.customer_id) === String(customer.id);
    }, 'the look-alike to be linked');
    const made = await listAll(page, '/api/v1/locations', { q: customer.name });
    assert.equal(made.filter((l) => l.name === customer.name).length, 1, 'no second location was made');
    await apiOk(page, 'DELETE', `/api/v1/locations/${twin.id}/link`);
    await apiOk(page, 'DELETE', `/api/v1/locations/${twin.id}`);
    await context.close();
  });

  test('a real double click on "+" makes one location, named "Parent, Job", and nothing for the next card', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await signIn(browser);
    const job = jobs[0];
    assert.ok(job, 'the company has jobs');
    await goto(page, ROUTE);
    await searchPanel(page, REMOTE, job.full_name);
    const plus = page.getByRole('button', { name: `Create a location from QuickBooks customer "${job.full_name}"`, exact: true });
    const box = await plus.boundingBox();
    const created = page.waitForResponse((res) => res.url().endsWith(`/api/v1/qb/customers/${job.id}/location`));
    await page.mouse.dblclick(box.x + box.width / 2, box.y + box.height / 2);
    const record = await (await created).json();
    await page.locator(`${REMOTE} .card-done[data-id="${job.id}"]`).waitFor();
    await page.waitForTimeout(700);
    // What is under the pointer now is the done card, not another customer's "+".
    const under = await page.evaluate(({ x, y }) => {
      const node = document.elementFromPoint(x, y);
      const card = node && node.closest('.card-remote');
      return card ? { id: card.dataset.id, done: card.classList.contains('card-done') } : null;
    }, { x: box.x + box.width / 2, y: box.y + box.height / 2 });
    assert.deepEqual(under, { id: String(job.id), done: true });
    const [parent, own] = [job.full_name.split(':').slice(-2, -1)[0], job.name];
    assert.equal(record.name, `${parent.trim()}, ${own.trim()}`);
    const linkedToJob = (await listAll(page, '/api/v1/locations', { linked: 'true', q: own.trim() }))
      .filter((l) => l.link && String(l.link.customer_id) === String(job.id));
    assert.equal(linkedToJob.length, 1, 'one location for two clicks');
    await screenshot(page, 'matching-7-plus-done');
    await apiOk(page, 'DELETE', `/api/v1/locations/${record.id}/link`);
    await apiOk(page, 'DELETE', `/api/v1/locations/${record.id}`);
    await context.close();
  });

  test('at 390 px the sync screen stacks its panels and does not scroll sideways', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await signIn(browser);
    await page.setViewportSize({ width: 390, height: 844 });
    const location = await newLocation(page, { name: `Narrow ${RUN_ID}` });
    await goto(page, ROUTE);
    await page.locator(`${LOCAL} .card-local`).first().waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the page is ${width} px wide`);
    for (const selector of [LOCAL, REMOTE, PAIRS]) {
      const panel = await page.locator(selector).boundingBox();
      assert.ok(panel.x >= 0 && panel.x + panel.width <= 390, `${selector} fits: ${JSON.stringify(panel)}`);
      const search = await page.locator(`${selector} input[type="search"]`).boundingBox();
      assert.ok(search.x + search.width <= 390, `${selector} search box fits`);
    }
    await screenshot(page, 'matching-8-390px');
    // Tap to select, then Link from a QuickBooks card.
    await searchPanel(page, LOCAL, location.name);
    await page.locator(`${LOCAL} .card-local[data-id="${location.id}"]`).click();
    await page.locator(`${REMOTE} .card-remote .btn-primary`).first().waitFor();
    await screenshot(page, 'matching-9-390px-selected');
    await page.setViewportSize({ width: 1280, height: 800 });
    await screenshot(page, 'matching-10-laptop');
    await apiOk(page, 'DELETE', `/api/v1/locations/${location.id}`);
    await context.close();
  });
});
