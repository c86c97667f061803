// Sync Locations: drag to link, "+" to create a location from a customer, the red x, the keyboard path.

import assert from 'node:assert/strict';
import { config, expectedAddress, EMPTY_ADDRESS } from './helpers.mjs';
import { defineSyncTests } from './sync-suite.mjs';

defineSyncTests({
  title: 'Sync Locations',
  shot: 'sync-locations',
  route: '/sync/locations',
  local: 'locations',
  remote: 'customers',
  localNoun: 'location',
  remoteNoun: 'QuickBooks customer',
  linkField: 'customer_id',
  fixtureName: config.fixtureLocation,
  slot: 0,
  remoteName: (customer) => customer.full_name,
  createPath: (customer) => `/api/v1/qb/customers/${customer.id}/location`,
  newLocal: (name) => ({ name, description: 'Made by the browser tests',
    address: { ...EMPTY_ADDRESS, line1: '1 Test Way', city: 'Testville', state: 'CA', postal_code: '94000', country: 'US' },
    phone: '', email: '' }),
  checkCreated(location, customer) {
    const expected = expectedAddress(customer);
    for (const [key, value] of Object.entries(expected)) {
      assert.equal(location.address[key] || '', value, `address.${key} comes from the ship-to (else billing) address`);
    }
  },
});
