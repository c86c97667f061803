// The tests of one sync screen (Sync Locations or Sync Staff), written once for both.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  RUN_ID, TEST_TIMEOUT, launchBrowser, signIn, screenshot, goto, apiOk, pickQuickBooks, fixtureRecord,
  searchPanel, eventually,
} from './helpers.mjs';

const LOCAL = '.panel-local';
const REMOTE = '.panel-remote';
const PAIRS = '.panel-pairs';

/**
 * kind: { title, route, local ('locations'|'staff'), remote ('customers'|'employees'), localNoun, remoteNoun,
 *   fixtureName, slot, remoteName(record), createPath(record), checkCreated(created, record), newLocal(name) }
 */
export function defineSyncTests(kind) {
  describe(kind.title, { timeout: TEST_TIMEOUT * 4 }, () => {
    let browser;
    let remotes;
    before(async () => {
      browser = await launchBrowser();
      const { context, page } = await signIn(browser);
      remotes = await pickQuickBooks(page, kind.remote, kind.slot, 3);
      await context.close();
    });
    after(() => browser && browser.close());

    const localCard = (page, id) => page.locator(`${LOCAL} .card-local[data-id="${id}"]`);
    const remoteCard = (page, id) => page.locator(`${REMOTE} .card-remote[data-id="${id}"]`);
    const pairRow = (page, id) => page.locator(`${PAIRS} .pair[data-id="${id}"]`);

    async function fixtureOrNew(page, label) {
      if (kind.fixtureName) return fixtureRecord(page, kind.local, kind.fixtureName);
      return apiOk(page, 'POST', `/api/v1/${kind.local}`, kind.newLocal(`${label} ${RUN_ID}`));
    }

    test('dragging a card onto a QuickBooks card links them; the red x disconnects', { timeout: TEST_TIMEOUT }, async () => {
      const { context, page } = await signIn(browser);
      const local = await fixtureOrNew(page, 'Drag test');
      const remote = remotes[0];
      await goto(page, kind.route);
      await searchPanel(page, LOCAL, local.name);
      await searchPanel(page, REMOTE, kind.remoteName(remote));
      await screenshot(page, `${kind.shot}-1-panels`);

      // Drag by hand so the drop highlight can be photographed mid-drag.
      await localCard(page, local.id).hover();
      await page.mouse.down();
      const box = await remoteCard(page, remote.id).boundingBox();
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 8 });
      await page.mouse.move(box.x + box.width / 2 + 10, box.y + box.height / 2, { steps: 2 });
      const highlighted = () => remoteCard(page, remote.id).evaluate((n) => n.classList.contains('drop-over'));
      await eventually(highlighted, 'the drop highlight');
      await screenshot(page, `${kind.shot}-2-dragging`);
      const linked = page.waitForResponse((res) => res.url().endsWith(`/api/v1/${kind.local}/${local.id}/link`));
      await page.mouse.up();
      assert.equal((await linked).status(), 200);

      await pairRow(page, local.id).waitFor();
      await localCard(page, local.id).waitFor({ state: 'detached' });
      await remoteCard(page, remote.id).waitFor({ state: 'detached' });
      const pairText = await pairRow(page, local.id).textContent();
      assert.ok(pairText.includes(lastSegment(kind.remoteName(remote))), 'the pair shows the QuickBooks name');
      const stored = await apiOk(page, 'GET', `/api/v1/${kind.local}/${local.id}`);
      assert.equal(String(stored.link && stored.link[kind.linkField]), String(remote.id));
      await screenshot(page, `${kind.shot}-3-linked`);

      // Hover the pair: the red x appears over the double arrow.
      const unlinkLabel = `Disconnect "${local.name}" from "${kind.remoteName(remote)}"`;
      const unlink = page.getByRole('button', { name: unlinkLabel, exact: true });
      assert.equal(await unlink.evaluate((n) => getComputedStyle(n).opacity), '0');
      await pairRow(page, local.id).hover();
      const shown = async () => (await unlink.evaluate((n) => getComputedStyle(n).opacity)) === '1';
      await eventually(shown, 'the red x to show');
      assert.equal(await unlink.evaluate((n) => getComputedStyle(n).backgroundColor), 'rgb(200, 50, 43)');
      await screenshot(page, `${kind.shot}-4-hover-disconnect`);
      await unlink.click();

      await pairRow(page, local.id).waitFor({ state: 'detached' });
      await localCard(page, local.id).waitFor();
      await remoteCard(page, remote.id).waitFor();
      const after = await apiOk(page, 'GET', `/api/v1/${kind.local}/${local.id}`);
      assert.equal(after.link, null);
      await screenshot(page, `${kind.shot}-5-disconnected`);
      if (!kind.fixtureName) await apiOk(page, 'DELETE', `/api/v1/${kind.local}/${local.id}`);
      await context.close();
    });

    test('the green + creates a linked record filled from the QuickBooks one', { timeout: TEST_TIMEOUT }, async () => {
      const { context, page } = await signIn(browser);
      const remote = remotes[1];
      await goto(page, kind.route);
      await searchPanel(page, REMOTE, kind.remoteName(remote));
      const shownBefore = await remoteCard(page, remote.id).textContent();
      const created = page.waitForResponse((res) => res.url().endsWith(kind.createPath(remote)));
      const plusLabel = `Create a ${kind.localNoun} from ${kind.remoteNoun} "${kind.remoteName(remote)}"`;
      await page.getByRole('button', { name: plusLabel, exact: true }).click();
      const response = await created;
      assert.equal(response.status(), 201);
      const record = await response.json();
      await pairRow(page, record.id).waitFor();
      // The card stays where it was, marked done: the next card does not slide under the pointer.
      await page.locator(`${REMOTE} .card-done[data-id="${remote.id}"]`).waitFor();
      assert.equal(await page.getByRole('button', { name: plusLabel, exact: true }).count(), 0);
      await screenshot(page, `${kind.shot}-6-created`);

      const stored = await apiOk(page, 'GET', `/api/v1/${kind.local}/${record.id}`);
      assert.equal(String(stored.link && stored.link[kind.linkField]), String(remote.id));
      kind.checkCreated(stored, remote);
      if (kind.local === 'staff' && stored.phone) {
        assert.ok(shownBefore.includes(stored.phone), `the card showed the phone that was copied (${stored.phone})`);
      }

      // The new record is in the plain list too, marked as linked.
      await goto(page, `/${kind.local}`);
      await page.getByRole('searchbox').fill(stored.name);
      const row = page.locator(`.record[data-id="${stored.id}"]`);
      await row.waitFor();
      assert.match(await row.textContent(), /Linked/);
      await screenshot(page, `${kind.shot}-7-list-view`);

      await apiOk(page, 'DELETE', `/api/v1/${kind.local}/${stored.id}/link`);
      await apiOk(page, 'DELETE', `/api/v1/${kind.local}/${stored.id}`);
      await context.close();
    });

    test('the keyboard alone selects, links and disconnects', { timeout: TEST_TIMEOUT }, async () => {
      const { context, page } = await signIn(browser);
      const local = await apiOk(page, 'POST', `/api/v1/${kind.local}`,
        kind.newLocal(`Keyboard ${kind.localNoun} ${RUN_ID}`));
      const remote = remotes[2];
      const remoteName = kind.remoteName(remote);
      await goto(page, kind.route);
      await searchPanel(page, LOCAL, local.name);

      // From the search box, Tab reaches the card; Enter selects it.
      await page.locator(`${LOCAL} input[type="search"]`).focus();
      await page.keyboard.press('Tab');
      assert.equal(await focusedLabel(page), `Select ${kind.localNoun} "${local.name}" to link`);
      await page.keyboard.press('Enter');
      assert.equal(await localCard(page, local.id).getAttribute('aria-pressed'), 'true');
      assert.ok(await focusHasRing(page), 'the focused card shows a focus ring');

      // Tab on to the customers' search box, type, Tab to the Link button, Enter.
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.getAttribute('type')), 'search');
      const searched = page.waitForResponse((res) => new URL(res.url()).searchParams.get('q') === remoteName);
      await page.keyboard.type(remoteName);
      await searched;
      const linkLabel = `Link "${local.name}" to ${kind.remoteNoun} "${remoteName}"`;
      await page.getByRole('button', { name: linkLabel, exact: true }).waitFor();
      await screenshot(page, `${kind.shot}-8-keyboard-selected`);
      await tabUntil(page, linkLabel);
      const linked = page.waitForResponse((res) => res.url().endsWith(`/api/v1/${kind.local}/${local.id}/link`));
      await page.keyboard.press('Enter');
      assert.equal((await linked).status(), 200);
      await pairRow(page, local.id).waitFor();

      // The disconnect x is a real button: Tab reaches it and it shows on focus.
      await page.locator(`${PAIRS} input[type="search"]`).focus();
      const disconnectLabel = `Disconnect "${local.name}" from "${remoteName}"`;
      await tabUntil(page, disconnectLabel);
      const visible = () => page.evaluate(() => getComputedStyle(document.activeElement).opacity === '1');
      await eventually(visible, 'the x to show on focus');
      assert.ok(await focusHasRing(page), 'the focused x shows a focus ring');
      await screenshot(page, `${kind.shot}-9-keyboard-disconnect`);
      await page.keyboard.press('Enter');
      await pairRow(page, local.id).waitFor({ state: 'detached' });
      await localCard(page, local.id).waitFor();

      assert.equal((await apiOk(page, 'GET', `/api/v1/${kind.local}/${local.id}`)).link, null);
      await apiOk(page, 'DELETE', `/api/v1/${kind.local}/${local.id}`);
      await context.close();
    });
  });
}

async function focusedLabel(page) {
  return page.evaluate(() => document.activeElement && document.activeElement.getAttribute('aria-label'));
}

async function focusHasRing(page) {
  return page.evaluate(() => {
    const style = getComputedStyle(document.activeElement);
    return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  });
}

async function tabUntil(page, label, maxPresses = 40) {
  for (let i = 0; i < maxPresses; i++) {
    await page.keyboard.press('Tab');
    if (await focusedLabel(page) === label) return;
  }
  throw new Error(`Tab never reached "${label}"`);
}

function lastSegment(name) {
  return String(name).split(':').pop();
}

