// Shared setup of the browser tests: configuration from the environment, Chromium, signing in,
// screenshots, and calls to the JSON API made from inside the signed-in page (same cookies, CSRF).

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export const config = {
  url: (process.env.QBSYNC_URL || 'http://127.0.0.1:8080').replace(/\/+$/, ''),
  email: process.env.QBSYNC_EMAIL || '',
  password: process.env.QBSYNC_PASSWORD || '',
  setupUrl: process.env.QBSYNC_SETUP_URL || '',
  screenshots: process.env.QBSYNC_SCREENSHOTS || path.join(here, 'screenshots'),
  fixtureLocation: process.env.QBSYNC_FIXTURE_LOCATION || '',
  fixtureStaff: process.env.QBSYNC_FIXTURE_STAFF || '',
  perf: process.env.QBSYNC_PERF === '1',
  // The qbsync binary, for tests that play the Web Connector (`qbsync simulate`) themselves.
  bin: process.env.QBSYNC_BIN || '',
  // Set by run-against-qbsync.sh for the server wired to `qbsync simulate-online` (a fake Intuit).
  online: process.env.QBSYNC_ONLINE === '1',
};

/** The name of the hostile QuickBooks customer that the server holds. */
export const HOSTILE_NAME = '<img src=x onerror=alert(1)>';

/** A short id that makes the names this run creates unique. */
export const RUN_ID = `${Date.now().toString(36)}${process.pid.toString(36)}`;

export const TEST_TIMEOUT = 90_000;

export async function launchBrowser() {
  if (!config.email || !config.password) {
    throw new Error('Set QBSYNC_EMAIL and QBSYNC_PASSWORD (and QBSYNC_URL) to run the browser tests');
  }
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A new browser context (its own cookies) and page, with a desktop-sized window. */
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  return { context, page };
}

/** Signs in through the login form and waits for the admin page to show the organization. */
export async function signIn(browser) {
  const { context, page } = await newPage(browser);
  await page.goto(`${config.url}/admin/login`);
  await page.getByLabel('Email').fill(config.email);
  await page.getByLabel('Password').fill(config.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/admin(#.*)?$/);
  await page.locator('#org-name').filter({ hasText: /\S/ }).waitFor();
  return { context, page };
}

export async function screenshot(page, name) {
  fs.mkdirSync(config.screenshots, { recursive: true });
  await page.screenshot({ path: path.join(config.screenshots, `${name}.png`) });
}

export async function goto(page, route) {
  await page.goto(`${config.url}/admin#${route}`);
  await page.locator('main h1').first().waitFor();
}

/** Calls the JSON API from inside the page; returns { status, body }. */
export async function api(page, method, urlPath, body) {
  return page.evaluate(async ({ method, urlPath, body }) => {
    const headers = { Accept: 'application/json' };
    if (method !== 'GET') {
      const session = await (await fetch('/api/v1/session', { credentials: 'same-origin' })).json();
      headers['X-CSRF-Token'] = session.csrf_token;
    }
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(urlPath, { method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let data = text;
    try { data = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    return { status: res.status, body: data };
  }, { method, urlPath, body });
}

/** Like `api`, but fails the test on an error status. */
export async function apiOk(page, method, urlPath, body) {
  const res = await api(page, method, urlPath, body);
  if (res.status >= 400) throw new Error(`${method} ${urlPath} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** All items of a list endpoint (follows `next`), up to `max`. */
export async function listAll(page, urlPath, query = {}, max = 2000) {
  const items = [];
  let cursor;
  do {
    const params = new URLSearchParams({ ...query, limit: '500' });
    if (cursor !== undefined && cursor !== null) params.set('cursor', String(cursor));
    const res = await apiOk(page, 'GET', `${urlPath}?${params}`);
    items.push(...res.items);
    cursor = res.next;
  } while (cursor !== null && cursor !== undefined && items.length < max);
  return items;
}

// Test files run in parallel, each on its own QuickBooks records: a record belongs to the slot its id
// hashes to, so two files never pick the same one, whatever the others have linked meanwhile.
export function slotOf(id) {
  let hash = 2166136261;
  for (const ch of String(id)) hash = Math.imul(hash ^ ch.charCodeAt(0), 16777619) >>> 0;
  return hash % 4;
}

/**
 * `count` unlinked, active QuickBooks records (customers or employees) of this test file's slot
 * (the QuickBooks panel leaves inactive ones out until "Include inactive" is checked).
 */
export async function pickQuickBooks(page, kind, slot, count) {
  const all = await listAll(page, `/api/v1/qb/${kind}`, { linked: 'false' }, 1000);
  const usable = all.filter((it) => it.status === 'active' && (it.full_name || it.name) !== HOSTILE_NAME &&
    !String(it.full_name || it.name).includes('<'));
  const mine = usable.filter((it) => slotOf(it.id) === slot);
  if (mine.length < count) {
    throw new Error(`need ${count} unlinked QuickBooks ${kind} in slot ${slot}, found ${mine.length}`);
  }
  return mine.slice(0, count);
}

/** Finds a location or staff member by exact name; unlinks it if an earlier run left it linked. */
export async function fixtureRecord(page, kind, name) {
  const items = await listAll(page, `/api/v1/${kind}`, { q: name });
  const found = items.find((it) => it.name === name);
  if (!found) throw new Error(`the fixture ${kind} record "${name}" does not exist on the server`);
  if (found.link) return apiOk(page, 'DELETE', `/api/v1/${kind}/${found.id}/link`);
  return found;
}

/** Types into a panel's search box and waits until the panel has reloaded. */
export async function searchPanel(page, panelSelector, text) {
  const panel = page.locator(panelSelector);
  const done = page.waitForResponse((res) => {
    const url = new URL(res.url());
    return url.searchParams.get('q') === text && res.request().method() === 'GET';
  });
  await panel.locator('input[type="search"]').fill(text);
  await done;
  await page.waitForFunction((sel) => !document.querySelector(sel).hasAttribute('aria-busy'), panelSelector);
}

/** Polls `check` until it returns a truthy value or the time runs out. */
export async function eventually(check, what, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      last = await check();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

/** An address with every part empty. */
export const EMPTY_ADDRESS = Object.freeze({
  line1: '', line2: '', line3: '', line4: '', line5: '', city: '', state: '', postal_code: '', country: '',
});

/** The address a location made from this customer should have: ship-to, else billing. */
export function expectedAddress(customer) {
  const keys = ['line1', 'line2', 'line3', 'line4', 'line5', 'city', 'state', 'postal_code', 'country'];
  const filled = (a) => a && keys.some((k) => a[k]);
  const source = filled(customer.ship_address) ? customer.ship_address : customer.bill_address;
  return Object.fromEntries(keys.map((k) => [k, (source && source[k]) || '']));
}
