// With 10,000 locations and 10,000 QuickBooks customers on the server, the Sync Locations screen
// becomes usable quickly and keeps only the visible cards in the DOM. Runs only with QBSYNC_PERF=1
// (the CI run seeds the records first); the time is printed and written to QBSYNC_SCREENSHOTS/perf.json.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { config, TEST_TIMEOUT, launchBrowser, signIn, screenshot, eventually, apiOk } from './helpers.mjs';

const SANITY_BOUND_MS = 10_000;

const skip = !config.perf && 'set QBSYNC_PERF=1 (needs 10,000 seeded records)';

describe('Sync Locations with 10,000 + 10,000 records', { skip }, () => {
  let browser;
  before(async () => { browser = await launchBrowser(); });
  after(() => browser && browser.close());

  test('the panels become interactive fast and render only visible cards', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await signIn(browser);
    await page.goto('about:blank');

    const started = Date.now();
    await page.goto(`${config.url}/admin#/sync/locations`);
    const firstCard = page.locator('.panel-local .card-local, .panel-remote .card-remote').first();
    await firstCard.waitFor();
    const firstPanelMs = Date.now() - started;
    await page.locator('.panel-local .card-local').first().waitFor();
    await page.locator('.panel-remote .card-remote').first().waitFor();
    const bothPanelsMs = Date.now() - started;
    // The page's own clock: from the start of the navigation to both panels showing cards.
    const pageMs = Math.round(await page.evaluate(() => performance.now()));

    const totals = await page.evaluate(() => [...document.querySelectorAll('.panel .count')].map((n) => n.textContent));
    const locations = Number(totals[0].replace(/\D/g, ''));
    const customers = Number(totals[1].replace(/\D/g, ''));
    // Other test files may hold a few records linked at this moment: "about 10,000" is enough.
    assert.ok(locations >= 9_900, `about 10,000 unlinked locations (count shows ${totals[0]})`);
    // The QuickBooks panel leaves inactive customers out by default: of the 10,000, the active ones.
    const active = await apiOk(page, 'GET', '/api/v1/qb/customers?linked=false&status=active&limit=1');
    assert.ok(active.total >= 8_000, `most of the 10,000 customers are active (${active.total})`);
    assert.ok(Math.abs(customers - active.total) <= 100,
      `the panel counts the unlinked active customers (count shows ${totals[1]}, the API ${active.total})`);
    const cardsInDom = await page.locator('.card-local, .card-remote').count();
    assert.ok(cardsInDom < 120, `only visible cards are in the DOM (found ${cardsInDom})`);
    await screenshot(page, 'perf-1-loaded');

    // Scrolling to the end of what is loaded fetches the next page (cursor), still with few cards in the DOM.
    const scrollStart = Date.now();
    const loadedBefore = await page.evaluate(() => document.querySelector('.panel-remote .vlist').offsetHeight);
    await page.evaluate(() => {
      const viewport = document.querySelector('.panel-remote .panel-body');
      viewport.scrollTop = viewport.scrollHeight;
    });
    const grown = () => page.evaluate((h) => document.querySelector('.panel-remote .vlist').offsetHeight > h, loadedBefore);
    await eventually(grown, 'the next page of customers');
    const nextPageMs = Date.now() - scrollStart;
    assert.ok(await page.locator('.card-local, .card-remote').count() < 120);
    await screenshot(page, 'perf-2-scrolled');

    const result = {
      records: { locations, customers },
      first_interactive_panel_ms: firstPanelMs,
      both_panels_ms: bothPanelsMs,
      page_clock_ms: pageMs,
      next_page_after_scroll_ms: nextPageMs,
      cards_in_dom: cardsInDom,
      measured_at: new Date().toISOString(),
    };
    console.log(`perf: first interactive panel ${firstPanelMs} ms, both panels ${bothPanelsMs} ms ` +
      `(page clock ${pageMs} ms), next page after scroll ${nextPageMs} ms, ${cardsInDom} cards in the DOM`);
    fs.mkdirSync(config.screenshots, { recursive: true });
    fs.writeFileSync(path.join(config.screenshots, 'perf.json'), `${JSON.stringify(result, null, 2)}\n`);
    assert.ok(bothPanelsMs < SANITY_BOUND_MS, `both panels within ${SANITY_BOUND_MS} ms (took ${bothPanelsMs} ms)`);
    await context.close();
  });
});
