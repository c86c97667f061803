// The Locations and Staff screens: create and edit in a dialog, search, and delete (naming the
// QuickBooks record when the record is linked).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  RUN_ID, TEST_TIMEOUT, EMPTY_ADDRESS, launchBrowser, signIn, screenshot, goto, apiOk, pickQuickBooks, eventually,
} from './helpers.mjs';

const KINDS = [
  { title: 'Locations', path: 'locations', noun: 'location', remote: 'customers', linkField: 'customer_id',
    remoteName: (c) => c.full_name,
    fill: async (dialog, name) => {
      await dialog.getByLabel('Name').fill(name);
      await dialog.getByLabel('Address', { exact: true }).fill('12 Harbor Rd');
      await dialog.getByLabel('City').fill('Bayshore');
      await dialog.getByLabel('State').fill('CA');
      await dialog.getByLabel('Postal code').fill('94326');
    },
    check: (record) => assert.equal(record.address.city, 'Bayshore'),
    body: (name) => ({ name, description: '', phone: '', email: '', address: EMPTY_ADDRESS }) },
  { title: 'Staff', path: 'staff', noun: 'staff member', remote: 'employees', linkField: 'employee_id',
    remoteName: (e) => e.name,
    fill: async (dialog, name) => {
      await dialog.getByLabel('Name').fill(name);
      await dialog.getByLabel('Email').fill(`test-${RUN_ID}@example.com`);
    },
    check: (record) => assert.equal(record.email, `test-${RUN_ID}@example.com`),
    body: (name) => ({ name, email: '', phone: '' }) },
];

for (const kind of KINDS) {
  describe(kind.title, { timeout: TEST_TIMEOUT * 3 }, () => {
    let browser;
    before(async () => { browser = await launchBrowser(); });
    after(() => browser && browser.close());

    test(`creates, finds, edits and deletes a ${kind.noun}`, { timeout: TEST_TIMEOUT }, async () => {
      const { context, page } = await signIn(browser);
      await goto(page, `/${kind.path}`);
      await page.locator('.record').first().waitFor();
      await screenshot(page, `${kind.path}-1-list`);

      const name = `Test ${kind.noun} ${RUN_ID}`;
      await page.getByRole('button', { name: `New ${kind.noun}` }).click();
      const dialog = page.getByRole('dialog');
      await kind.fill(dialog, name);
      await screenshot(page, `${kind.path}-2-create`);
      const created = page.waitForResponse((res) =>
        res.request().method() === 'POST' && res.url().endsWith(`/api/v1/${kind.path}`));
      await dialog.getByRole('button', { name: `Create ${kind.noun}` }).click();
      const record = await (await created).json();
      kind.check(record);

      await page.getByRole('searchbox').fill(name);
      const row = page.locator(`.record[data-id="${record.id}"]`);
      await row.waitFor();
      await eventually(async () => (await page.locator('.record').count()) === 1, 'the search to narrow the list');
      assert.match(await page.locator('.toolbar-count').textContent(), /^1 /);

      await page.getByRole('button', { name: `Edit ${kind.noun} "${name}"`, exact: true }).click();
      await page.getByRole('dialog').getByLabel('Name').fill(`${name} edited`);
      await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
      const edited = async () => (await apiOk(page, 'GET', `/api/v1/${kind.path}/${record.id}`)).name === `${name} edited`;
      await eventually(edited, 'the edit');

      await page.getByRole('searchbox').fill(`${name} edited`);
      await page.getByRole('button', { name: `Delete ${kind.noun} "${name} edited"`, exact: true }).click();
      await page.getByRole('dialog').getByRole('button', { name: `Delete ${kind.noun}` }).click();
      await row.waitFor({ state: 'detached' });
      const res = await page.evaluate((url) => fetch(url).then((r) => r.status), `/api/v1/${kind.path}/${record.id}`);
      assert.equal(res, 404);
      await context.close();
    });

    test(`deleting a linked ${kind.noun} asks first, naming the QuickBooks record`, { timeout: TEST_TIMEOUT }, async () => {
      const { context, page } = await signIn(browser);
      const [remote] = await pickQuickBooks(page, kind.remote, 2, 1);
      const name = `Linked ${kind.noun} ${RUN_ID}`;
      const record = await apiOk(page, 'POST', `/api/v1/${kind.path}`, kind.body(name));
      await apiOk(page, 'PUT', `/api/v1/${kind.path}/${record.id}/link`, { [kind.linkField]: remote.id });
      await goto(page, `/${kind.path}`);
      await page.getByRole('searchbox').fill(name);
      await page.locator(`.record[data-id="${record.id}"]`).waitFor();
      await page.getByRole('button', { name: `Delete ${kind.noun} "${name}"`, exact: true }).click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      const question = await dialog.textContent();
      assert.ok(question.includes(`"${kind.remoteName(remote)}"`), 'the question names the QuickBooks record');
      await screenshot(page, `${kind.path}-3-delete-linked`);
      await dialog.getByRole('button', { name: `Delete ${kind.noun}` }).click();
      await page.locator(`.record[data-id="${record.id}"]`).waitFor({ state: 'detached' });
      const query = new URLSearchParams({ linked: 'true', limit: '500', q: kind.remoteName(remote) });
      const stillLinked = await apiOk(page, 'GET', `/api/v1/qb/${kind.remote}?${query}`);
      const isStillLinked = stillLinked.items.some((it) => String(it.id) === String(remote.id));
      assert.equal(isStillLinked, false, 'the QuickBooks record is free again');
      await context.close();
    });
  });
}
