// Sync Staff: drag to link, "+" to create a staff member from an employee, the red x, the keyboard path.

import assert from 'node:assert/strict';
import { config } from './helpers.mjs';
import { defineSyncTests } from './sync-suite.mjs';

defineSyncTests({
  title: 'Sync Staff',
  shot: 'sync-staff',
  route: '/sync/staff',
  local: 'staff',
  remote: 'employees',
  localNoun: 'staff member',
  remoteNoun: 'QuickBooks employee',
  linkField: 'employee_id',
  fixtureName: config.fixtureStaff,
  slot: 0,
  remoteName: (employee) => employee.name,
  createPath: (employee) => `/api/v1/qb/employees/${employee.id}/staff`,
  newLocal: (name) => ({ name, email: 'keyboard@example.com', phone: '' }),
  // A staff member made from an employee is named "First Last" when QuickBooks has both, and is
  // reached on the employee's mobile before their phone.
  checkCreated(staff, employee) {
    const name = employee.first_name && employee.last_name ? `${employee.first_name} ${employee.last_name}` : employee.name;
    assert.equal(staff.name, name);
    assert.equal(staff.email || '', employee.email || '');
    assert.equal(staff.phone || '', employee.mobile || employee.phone || '');
  },
});
