// Signing in and out, a wrong password, the setup page, and the redirect of signed-out visitors.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { config, RUN_ID, TEST_TIMEOUT, launchBrowser, newPage, signIn, screenshot } from './helpers.mjs';

describe('Signing in', { timeout: TEST_TIMEOUT * 4 }, () => {
  let browser;
  before(async () => { browser = await launchBrowser(); });
  after(() => browser && browser.close());

  test('a signed-out visitor of /admin lands on the sign-in page', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await newPage(browser);
    await page.goto(`${config.url}/admin`);
    await page.waitForURL(/\/admin\/login/);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await screenshot(page, 'auth-1-login');
    await context.close();
  });

  test('a wrong password shows the server message and stays on the page', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await newPage(browser);
    await page.goto(`${config.url}/admin/login`);
    await page.getByLabel('Email').fill(config.email);
    await page.getByLabel('Password').fill(`${config.password}-wrong`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.textContent(), /\S/);
    assert.match(page.url(), /\/admin\/login/);
    await screenshot(page, 'auth-2-wrong-password');
    await context.close();
  });

  test('the right password opens the admin page, and Sign out closes it', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await signIn(browser);
    const shown = await page.locator('#admin-email').textContent();
    assert.equal(shown.trim().toLowerCase(), config.email.trim().toLowerCase());
    await page.getByRole('heading', { name: 'Connections', level: 1 }).waitFor();
    await screenshot(page, 'auth-3-signed-in');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/admin\/login/);
    await page.goto(`${config.url}/admin`);
    await page.waitForURL(/\/admin\/login/);
    await context.close();
  });

  test('the setup page shows the server message for a bad token', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await newPage(browser);
    await page.goto(`${config.url}/admin/setup?token=not-a-real-token-${RUN_ID}`);
    await page.getByLabel('Organization name').fill('Browser Test Cleaning');
    await page.getByLabel('Your email').fill(`setup-${RUN_ID}@example.com`);
    await page.getByLabel('Password', { exact: true }).fill('a long enough password 1');
    await page.getByLabel('Repeat password').fill('a long enough password 1');
    await page.getByRole('button', { name: 'Create organization' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.textContent(), /\S/);
    assert.match(page.url(), /\/admin\/setup/);
    await screenshot(page, 'auth-4-setup-bad-token');
    await context.close();
  });

  const setupOptions = { timeout: TEST_TIMEOUT, skip: !config.setupUrl && 'QBSYNC_SETUP_URL is not set' };
  test('the setup link creates the organization and signs in', setupOptions, async () => {
    const { context, page } = await newPage(browser);
    await page.goto(config.setupUrl);
    await screenshot(page, 'auth-5-setup');
    const orgName = `Setup Test ${RUN_ID}`;
    await page.getByLabel('Organization name').fill(orgName);
    await page.getByLabel('Your email').fill(`setup-${RUN_ID}@example.com`);
    await page.getByLabel('Password', { exact: true }).fill(`set up password ${RUN_ID}`);
    await page.getByLabel('Repeat password').fill(`set up password ${RUN_ID}`);
    await page.getByRole('button', { name: 'Create organization' }).click();
    await page.waitForURL(/\/admin(#.*)?$/);
    await page.locator('#org-name', { hasText: orgName }).waitFor();
    await screenshot(page, 'auth-6-setup-done');
    await context.close();
  });
});
