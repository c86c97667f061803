// A new organization as its admin first sees it, then its first connection and runs: truthful
// empty states with the next step, when the lists were last brought up to date, a refused
// Web Connector password in the run history, the connection header brought up to date after a run
// without a reload, the laptop layout, field errors next to their field, and the Locations list
// saying what a location is linked to. Creates its own organization with `qbsync org create` and
// `qbsync admin create` (QBSYNC_BIN, on the server's DATABASE_URL).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { RUN_ID, TEST_TIMEOUT, config, launchBrowser, newPage, screenshot, goto, apiOk } from './helpers.mjs';

const LOCAL = '.panel-local';
const REMOTE = '.panel-remote';
const PAIRS = '.panel-pairs';

function qbsync(args, input) {
  if (!config.bin || !process.env.DATABASE_URL) {
    throw new Error('Set QBSYNC_BIN and DATABASE_URL (the server\'s database): this test makes its own organization');
  }
  return execFileSync(config.bin, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] });
}

describe('A new organization', { timeout: TEST_TIMEOUT * 4 }, () => {
  let browser;
  const org = `First Run ${RUN_ID}`;
  const email = `first-${RUN_ID}@example.com`;
  const password = `first-run-${RUN_ID}-pw`;
  let conn;

  before(async () => {
    browser = await launchBrowser();
    qbsync(['org', 'create', '--name', org, '--json']);
    qbsync(['admin', 'create', '--org', org, '--email', email, '--password-stdin', '--json'], `${password}\n`);
  });
  after(() => browser && browser.close());

  async function signInHere(viewport) {
    const { context, page } = await newPage(browser);
    if (viewport) await page.setViewportSize(viewport);
    await page.goto(`${config.url}/admin/login`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/admin(#.*)?$/);
    await page.locator('#org-name').filter({ hasText: org }).waitFor();
    return { context, page };
  }

  function simulate(...extra) {
    qbsync(['simulate', '--url', config.url, '--username', conn.username, '--password', conn.password,
      '--customers', '40', '--employees', '5', '--seed', '77', ...extra]);
  }

  test('with nothing yet, the sync screen says what to do first', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await signInHere();
    await goto(page, '/sync/locations');
    const local = page.locator(`${LOCAL} .vlist-empty`);
    await local.filter({ hasText: /No locations yet/ }).waitFor();
    assert.doesNotMatch(await local.textContent(), /Every location is linked|Press the green/);
    await page.locator(`${REMOTE} .vlist-empty`).filter({ hasText: /No QuickBooks company is connected yet/ }).waitFor();
    await screenshot(page, 'first-run-1-nothing-yet');

    // A connection that has not run yet: run the Web Connector.
    conn = await apiOk(page, 'POST', '/api/v1/connections', { name: 'Head office' });
    await page.reload();
    await page.locator(`${REMOTE} .vlist-empty`).filter({ hasText: /Run QuickBooks Web Connector/ }).waitFor();
    assert.match(await page.locator(`${REMOTE} .freshness`).textContent(), /brought up to date: not yet/);
    await screenshot(page, 'first-run-2-connected-not-run');
    await context.close();
  });

  test('a refused password and a first run show on the connection without a reload', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await signInHere();
    await goto(page, '/connections');
    const card = page.locator('article.conn', { has: page.getByRole('heading', { name: 'Head office', exact: true }) });
    await card.getByText('QuickBooks has not connected yet').waitFor();

    // The simulated Web Connector is told "nvu" (whether it then exits with an error or not).
    try {
      qbsync(['simulate', '--url', config.url, '--username', conn.username, '--password', 'not-the-password',
        '--customers', '1', '--employees', '1']);
    } catch {
      // Refused, as expected: the history below says so.
    }
    await card.locator('.run').filter({ hasText: /password was refused/ }).first().waitFor({ timeout: 20_000 });
    await screenshot(page, 'first-run-3-refused-password');
    const runs = await apiOk(page, 'GET', `/api/v1/connections/${conn.id}/runs`);
    assert.equal(runs.items[0].outcome, 'failed');
    assert.ok(!JSON.stringify(runs).includes('not-the-password'), 'the password is not kept');

    simulate();
    await card.locator('.conn-head').getByText('QuickBooks has not connected yet').waitFor({ state: 'detached', timeout: 20_000 });
    assert.match(await card.locator('.conn-head').textContent(), /last seen/);
    await screenshot(page, 'first-run-4-header-after-run');
    await context.close();
  });

  test('on a 1280x800 laptop the QuickBooks panel shows five cards and an empty Linked panel stays small',
    { timeout: TEST_TIMEOUT }, async () => {
      const { context, page } = await signInHere({ width: 1280, height: 800 });
      await goto(page, '/sync/locations');
      await page.locator(`${REMOTE} .card-remote`).first().waitFor();
      assert.match(await page.locator(`${REMOTE} .freshness`).textContent(), /brought up to date: (just now|\d+ min ago)/);
      const visible = await page.locator(`${REMOTE} .card-remote`).evaluateAll((cards) => cards.filter((card) => {
        const box = card.getBoundingClientRect();
        const view = card.closest('.panel-body').getBoundingClientRect();
        return box.top >= view.top - 1 && box.bottom <= view.bottom + 1;
      }).length);
      assert.ok(visible >= 5, `${visible} QuickBooks cards fully visible`);
      const linkedHeight = await page.locator(PAIRS).evaluate((panel) => panel.getBoundingClientRect().height);
      assert.ok(linkedHeight < 150, `the empty Linked panel is ${linkedHeight}px high`);
      await page.locator(`${LOCAL} .vlist-empty`).filter({ hasText: /No locations yet/ }).waitFor();
      await screenshot(page, 'first-run-5-laptop');
      await context.close();
    });

  test('a form error shows under its field, in words', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await signInHere();
    await goto(page, '/connections');
    await page.getByRole('button', { name: 'Edit' }).first().click();
    const dialog = page.getByRole('dialog');
    const minutes = dialog.getByLabel('Run every (minutes)');
    await minutes.fill('0');
    await dialog.getByRole('button', { name: 'Save' }).click();
    const error = dialog.locator('.field-error').filter({ hasText: /\S/ });
    await error.waitFor();
    assert.match(await error.textContent(), /^Run every \(minutes\) must be/);
    assert.equal(await minutes.getAttribute('aria-invalid'), 'true');
    assert.equal(await minutes.evaluate((input) => input === document.activeElement), true, 'the field has the focus');
    assert.doesNotMatch(await dialog.textContent(), /run_every_minutes/);
    await screenshot(page, 'first-run-6-field-error');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await context.close();
  });

  test('the Locations list says what a location is linked to', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await signInHere();
    const [customer] = (await apiOk(page, 'GET', '/api/v1/qb/customers?linked=false&status=active&limit=1')).items;
    const location = await apiOk(page, 'POST', `/api/v1/qb/customers/${customer.id}/location`);
    await goto(page, '/locations');
    const row = page.locator(`.record[data-id="${location.id}"]`);
    await row.waitFor();
    const badge = row.locator('.badge-linked');
    assert.equal((await badge.textContent()).replace(/\s+/g, ' ').trim(), `Linked to ${customer.full_name}`);
    await screenshot(page, 'first-run-7-locations-linked-to');
    await context.close();
  });
});
