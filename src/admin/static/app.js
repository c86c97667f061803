// The signed-in admin page: the session, the header, a hash router and the Connections, Locations and
// Staff screens. The two sync screens live in sync.js.

import {
  ApiError, get, post, patch, del, probe, setCsrfToken, el, icon, ICONS, showMessage, timeAgo, formatAddress,
} from './api.js';
import { createVirtualList } from './vlist.js';
import { mountSync } from './sync.js';

const POLL_MS = 2500;
const ROUTES = {
  '/connections': { title: 'Connections', mount: mountConnections },
  '/sync/locations': { title: 'Sync Locations', mount: (root) => mountSync(root, 'locations', { notify }), fill: true },
  '/sync/staff': { title: 'Sync Staff', mount: (root) => mountSync(root, 'staff', { notify }), fill: true },
  '/locations': { title: 'Locations', mount: (root) => mountRecords(root, 'locations') },
  '/staff': { title: 'Staff', mount: (root) => mountRecords(root, 'staff') },
};

const main = document.getElementById('main');
const alertRegion = document.getElementById('alert');
const statusRegion = document.getElementById('status');
let currentView = null;
let statusTimer = 0;
let qboEnabled = false;

boot();

async function boot() {
  let session;
  try {
    session = await get('/api/v1/session');
  } catch (err) {
    if (err.status === 401) location.replace('/admin/login');
    else notify('error', err);
    return;
  }
  setCsrfToken(session.csrf_token);
  qboEnabled = Boolean(session.quickbooks_online && session.quickbooks_online.enabled);
  document.getElementById('org-name').textContent = session.org.name;
  document.getElementById('admin-email').textContent = session.admin.email;
  document.getElementById('sign-out').addEventListener('click', signOut);
  document.querySelector('.skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    main.focus();
  });
  window.addEventListener('hashchange', () => route(true));
  route(false);
  showReturnFromIntuit();
}

// Back from Intuit's consent page (/qbo/callback sends the browser here with the outcome).
function showReturnFromIntuit() {
  const params = new URLSearchParams(location.search);
  if (!params.has('qbo') && !params.has('qbo_error')) return;
  history.replaceState(null, '', `/admin${location.hash}`);
  if (params.get('qbo') === 'connected') notify('ok', 'QuickBooks Online is connected. Press Get Locations or Get Staff to read its lists.');
  else notify('error', `QuickBooks Online: ${params.get('qbo_error')}`);
}

/**
 * Shows a message: kind 'ok' (polite, fades) or 'error' (an alert that stays until dismissed).
 * `action` ({ label, run }) adds a button to an 'ok' message, e.g. Undo; the message then stays
 * for UNDO_SECONDS.
 */
function notify(kind, message, action) {
  if (message instanceof ApiError && message.status === 401) {
    location.assign('/admin/login');
    return;
  }
  const text = message instanceof Error ? message.message : message;
  if (message instanceof Error && !(message instanceof ApiError)) console.error(message);
  clearTimeout(statusTimer);
  if (kind === 'error') {
    showMessage(statusRegion, 'ok', '');
    showMessage(alertRegion, 'error', text);
  } else {
    showMessage(alertRegion, 'error', '');
    showMessage(statusRegion, 'ok', text, action);
    statusTimer = setTimeout(() => showMessage(statusRegion, 'ok', ''), action ? UNDO_SECONDS * 1000 : 6000);
  }
}

/** How long a change's Undo stays offered. */
const UNDO_SECONDS = 12;

async function signOut() {
  try {
    await post('/admin/logout');
  } catch (err) {
    if (err.status !== 401) return notify('error', err);
  }
  location.assign('/admin/login');
}

function route(moveFocus) {
  const hash = location.hash;
  if (hash && !hash.startsWith('#/')) return;
  const path = hash.slice(1) || '/connections';
  const target = ROUTES[path];
  if (!target) {
    location.replace('#/connections');
    return;
  }
  if (currentView) currentView.destroy();
  showMessage(alertRegion, 'error', '');
  showMessage(statusRegion, 'ok', '');
  for (const link of document.querySelectorAll('.nav a')) {
    if (link.getAttribute('href') === `#${path}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${target.title} · qbsync`;
  main.classList.toggle('main-fill', Boolean(target.fill));
  main.replaceChildren();
  currentView = target.mount(main) || { destroy() {} };
  if (moveFocus) {
    const heading = main.querySelector('h1');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus();
    }
  }
}

/** A button: `options` may set className, icon (a path of ICONS), label (aria-label) and focus (list focus). */
function button(text, onclick, options = {}) {
  return el('button', {
    type: 'button', className: options.className || 'btn', 'aria-label': options.label,
    'data-vlist-focus': options.focus, onclick: onclick || undefined,
  }, options.icon ? icon(options.icon) : null, text);
}

// --- Dialogs -----------------------------------------------------------------------------------

/** Opens a modal dialog; `build(close, errorRegion)` returns its body. Resolves with what `close` gets. */
function openDialog(title, build) {
  return new Promise((resolve) => {
    const titleId = `dialog-title-${Date.now()}`;
    const errorRegion = el('div', { className: 'message message-error', role: 'alert', hidden: true });
    const dialog = el('dialog', { className: 'dialog', 'aria-labelledby': titleId });
    let result;
    const close = (value) => {
      result = value;
      dialog.close();
    };
    dialog.append(el('h2', { id: titleId }, title), errorRegion, build(close, errorRegion));
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

function confirmDialog(title, text, confirmLabel, danger = true) {
  return openDialog(title, (close) => el('div', null,
    el('p', { className: 'dialog-text' }, text),
    el('div', { className: 'dialog-actions' },
      button('Cancel', () => close(false)),
      button(confirmLabel, () => close(true), { className: danger ? 'btn btn-danger' : 'btn btn-primary' }))));
}

/** Shows secrets once, each with a copy button. */
function secretDialog(title, intro, secrets) {
  return openDialog(title, (close) => el('div', null,
    el('p', { className: 'dialog-text' }, intro),
    el('div', { className: 'secrets' }, secrets.map(({ label, value }) => {
      const input = el('input', { className: 'input mono', readonly: true, value, 'aria-label': label });
      const copy = button('Copy', null, { label: `Copy ${label.toLowerCase()}` });
      copy.addEventListener('click', () => copyText(input, copy));
      return el('div', { className: 'field' },
        el('span', { className: 'field-label' }, label),
        el('div', { className: 'copy-row' }, input, copy));
    })),
    el('p', { className: 'note note-warning' },
      'Shown once: copy it now. qbsync keeps only a hash and cannot show it again.'),
    el('div', { className: 'dialog-actions' }, button('Done', () => close(true), { className: 'btn btn-primary' }))));
}

async function copyText(input, button) {
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
    button.textContent = 'Copied';
  } catch {
    button.textContent = 'Press Ctrl+C';
  }
  setTimeout(() => { button.textContent = 'Copy'; }, 2000);
}

/**
 * A form in a dialog. `fields` are {name, label, type?, required?, value?, hint?}; `submit(values)` sends it
 * and may throw an ApiError, shown inside the dialog. Resolves with what submit returned, or undefined.
 */
function formDialog(title, fields, submitLabel, submit) {
  return openDialog(title, (close, errorRegion) => {
    const form = el('form', { className: 'form', novalidate: true });
    const inputs = {};
    const errors = {};
    for (const field of fields) {
      const id = `field-${field.name}`;
      inputs[field.name] = el('input', { id, name: field.name, className: 'input', type: field.type || 'text',
        value: field.value ?? '', required: field.required, min: field.min, autocomplete: 'off' });
      errors[field.name] = el('span', { id: `${id}-error`, className: 'field-error', hidden: true });
      inputs[field.name].addEventListener('input', () => fieldError(field, null));
      form.append(el('div', { className: field.wide ? 'field field-wide' : 'field' },
        el('label', { className: 'field-label', for: id }, field.label,
          field.required ? el('span', { className: 'req', 'aria-hidden': 'true' }, ' *') : null),
        inputs[field.name],
        errors[field.name],
        field.hint ? el('span', { className: 'field-hint' }, field.hint) : null));
    }
    // An error about one field shows under it, in words ("Run every (minutes) must be..."), and
    // the field takes the focus; anything else shows at the top of the dialog.
    function fieldError(field, text) {
      const input = inputs[field.name];
      errors[field.name].textContent = text || '';
      errors[field.name].hidden = !text;
      if (text) {
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-describedby', errors[field.name].id);
      } else {
        input.removeAttribute('aria-invalid');
        input.removeAttribute('aria-describedby');
      }
    }
    function showError(message) {
      const field = fields.find((f) => message === f.name || message.startsWith(`${f.name} `));
      if (!field) {
        showMessage(errorRegion, 'error', message);
        return;
      }
      showMessage(errorRegion, 'error', '');
      fieldError(field, `${field.label}${message.slice(field.name.length)}`.replace(/\.?$/, '.'));
      inputs[field.name].focus();
    }
    const saveButton = el('button', { type: 'submit', className: 'btn btn-primary' }, submitLabel);
    form.append(el('div', { className: 'dialog-actions field-wide' },
      el('button', { type: 'button', className: 'btn', onclick: () => close(undefined) }, 'Cancel'), saveButton));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const values = Object.fromEntries(Object.entries(inputs).map(([name, input]) => [name, input.value.trim()]));
      const missing = fields.find((f) => f.required && !values[f.name]);
      if (missing) {
        showError(`${missing.name} is required`);
        return;
      }
      saveButton.disabled = true;
      try {
        close(await submit(values));
      } catch (err) {
        showError(err.message);
      } finally {
        saveButton.disabled = false;
      }
    });
    return form;
  });
}

// --- Connections -------------------------------------------------------------------------------

function mountConnections(root) {
  const list = el('div', { className: 'stack', 'aria-busy': 'true' },
    el('p', { className: 'muted' }, 'Loading connections…'));
  const runSections = new Map(); // connection id -> { element, open: Set of run ids }
  let timer = 0;
  let stopped = false;

  root.append(
    el('div', { className: 'page-head' },
      el('div', null,
        el('h1', null, 'Connections'),
        el('p', { className: 'lead' },
          'QuickBooks Desktop company files (through QuickBooks Web Connector) and QuickBooks Online companies.')),
      el('div', { className: 'head-actions' },
        button('Connect QuickBooks Online', connectOnline,
          { className: qboEnabled ? 'btn' : 'btn is-disabled', icon: ICONS.link }),
        button('New Desktop connection', createConnection, { className: 'btn btn-primary', icon: ICONS.plus }))),
    list);
  load();

  async function load() {
    try {
      const page = await get('/api/v1/connections');
      runSections.clear();
      list.replaceChildren(...page.items.map(renderConnection));
      if (page.items.length === 0) {
        list.append(el('div', { className: 'empty-state' },
          el('h2', null, 'No connections yet'),
          el('p', null, 'For QuickBooks Desktop, create a connection, download its .qwc file and add it to ' +
            'QuickBooks Web Connector. For QuickBooks Online, press Connect QuickBooks Online.')));
      }
      list.removeAttribute('aria-busy');
      await pollRuns();
    } catch (err) {
      list.replaceChildren();
      notify('error', err);
    }
  }

  async function pollRuns() {
    clearTimeout(timer);
    await Promise.all([...runSections.entries()].map(([id, section]) => refreshRuns(id, section)));
    if (!stopped) timer = setTimeout(pollRuns, POLL_MS);
  }

  async function refreshRuns(id, section) {
    try {
      const page = await get(`/api/v1/connections/${encodeURIComponent(id)}/runs`, { limit: 10 });
      const json = JSON.stringify(page.items);
      if (stopped || json === section.json) return;
      const changed = section.json !== '';
      section.json = json;
      section.element.replaceChildren(...renderRuns(page.items, section, section.online));
      // A run that began or ended may have taught us about QuickBooks: the header follows.
      if (changed && section.refreshHead) await section.refreshHead();
    } catch (err) {
      if (err.status === 404) return;
      section.json = '';
      section.element.replaceChildren(el('p', { className: 'panel-error' }, `Could not load runs: ${err.message}`));
    }
  }

  function renderConnection(conn) {
    if (conn.kind === 'online') return renderOnline(conn);
    const qb = conn.quickbooks || {};
    const qwcUrl = `/api/v1/connections/${encodeURIComponent(conn.id)}/qwc`;
    const qwcNote = el('p', { className: 'note note-warning', role: 'alert', hidden: true });
    const qwcLink = el('a', { className: 'btn', href: qwcUrl, download: `${conn.username || 'qbsync'}.qwc`,
      'aria-label': `Download the .qwc file of ${conn.name}` }, icon(ICONS.download), 'Download .qwc');
    checkQwc(qwcUrl, qwcLink, qwcNote);
    const toggle = el('input', { type: 'checkbox', role: 'switch', className: 'switch-input', checked: conn.enabled,
      'aria-label': `Sync ${conn.name} enabled` });
    const toggleText = el('span', { className: 'switch-text' }, conn.enabled ? 'Enabled' : 'Paused');
    toggle.addEventListener('change', async () => {
      await setEnabled(conn, toggle);
      toggleText.textContent = conn.enabled ? 'Enabled' : 'Paused';
    });
    const runsBody = el('div', { className: 'runs-body' }, el('p', { className: 'muted' }, 'Loading runs…'));
    const lists = conn.lists || {};
    const refused = conn.incremental_refused
      ? el('p', { className: 'note note-warning' },
        `This QuickBooks (${conn.incremental_refused.quickbooks}) cannot tell qbsync what changed, so every run reads ` +
          'every record.', conn.incremental_refused.reason ? ` ${conn.incremental_refused.reason}.` : null)
      : null;
    const fullRefresh = button(conn.full_refresh_next_run ? 'Cancel the full refresh' : 'Full refresh on the next run',
      () => setFullRefresh(conn, !conn.full_refresh_next_run), { icon: ICONS.refresh });
    const headLine = el('p', { className: 'muted' }, ...desktopHeadLine(qb));
    const qbxmlFact = el('span', null, qb.qbxml_version || '—');
    const fileFact = el('span', null,
      breakablePath(conn.company_file || qb.file_path) || 'Any (the file open in QuickBooks)');
    runSections.set(conn.id, {
      element: runsBody, open: new Set(), seen: new Set(), json: '', connectionId: conn.id,
      async refreshHead() {
        try {
          const fresh = await get(`/api/v1/connections/${encodeURIComponent(conn.id)}`);
          const freshQb = fresh.quickbooks || {};
          headLine.replaceChildren(...desktopHeadLine(freshQb));
          qbxmlFact.textContent = freshQb.qbxml_version || '—';
          fileFact.replaceChildren(
            ...[].concat(breakablePath(fresh.company_file || freshQb.file_path) || 'Any (the file open in QuickBooks)'));
        } catch (err) {
          console.error(err);
        }
      },
    });

    return el('article', { className: 'card conn', 'aria-labelledby': `conn-${conn.id}` },
      el('header', { className: 'conn-head' },
        el('div', null,
          el('h2', { id: `conn-${conn.id}` }, conn.name),
          headLine),
        el('label', { className: 'switch' }, toggle, el('span', { className: 'switch-track', 'aria-hidden': 'true' }),
          toggleText)),
      el('dl', { className: 'facts' },
        fact('Web Connector user', el('code', null, conn.username)),
        fact('Company file', fileFact),
        fact('Runs every', `${conn.run_every_minutes} min`),
        fact('qbXML version', qbxmlFact),
        fact('Created', timeAgo(conn.created_at))),
      el('dl', { className: 'facts facts-sync', 'aria-label': `How up to date ${conn.name} is` },
        fact('Customers up to date', timeAgo(lists.customers && lists.customers.updated_at)),
        fact('Employees up to date', timeAgo(lists.employees && lists.employees.updated_at)),
        fact('Next full refresh', nextFullRefresh(conn)),
        fact('Full refresh every', plural(conn.full_refresh_every_days || 7, 'day'))),
      refused,
      el('div', { className: 'conn-actions' },
        qwcLink,
        fullRefresh,
        button('Rotate password', () => rotatePassword(conn), { icon: ICONS.key }),
        button('Edit', () => editConnection(conn), { icon: ICONS.edit }),
        button('Delete', () => deleteConnection(conn), { className: 'btn btn-danger-quiet', icon: ICONS.trash })),
      qwcNote,
      el('section', { className: 'runs', 'aria-label': `Recent runs of ${conn.name}` },
        el('h3', null, 'Recent runs'), runsBody));
  }

  function renderOnline(conn) {
    const runsBody = el('div', { className: 'runs-body' }, el('p', { className: 'muted' }, 'Loading runs…'));
    runSections.set(conn.id, {
      element: runsBody, open: new Set(), seen: new Set(), json: '', connectionId: conn.id, online: true,
    });
    const [statusText, statusClass] = ONLINE_STATUS[conn.status] || ONLINE_STATUS.pending;
    const actions = el('div', { className: 'conn-actions' });
    if (conn.status === 'connected') {
      actions.append(button('Disconnect', () => disconnectOnline(conn), { icon: ICONS.close }));
    } else {
      actions.append(button(conn.status === 'needs_reconnect' ? 'Reconnect' : 'Connect', () => authorize(conn),
        { className: 'btn btn-primary', icon: ICONS.link }));
    }
    actions.append(
      button('Edit', () => editConnection(conn), { icon: ICONS.edit }),
      button('Delete', () => deleteConnection(conn), { className: 'btn btn-danger-quiet', icon: ICONS.trash }));
    const notes = [];
    if (conn.status === 'needs_reconnect') {
      notes.push(el('p', { className: 'note note-warning', role: 'alert' },
        'QuickBooks Online no longer accepts this connection (it was disconnected in QuickBooks, or its ' +
          'authorization expired). Pulls stopped. Press Reconnect and grant access again; staged records and ' +
          'links are kept.'));
    } else if (conn.status !== 'connected') {
      notes.push(el('p', { className: 'note' }, 'Not connected: press Connect and grant qbsync access to the ' +
        'company at Intuit.'));
    }
    return el('article', { className: 'card conn', 'aria-labelledby': `conn-${conn.id}` },
      el('header', { className: 'conn-head' },
        el('div', null,
          el('h2', { id: `conn-${conn.id}` }, conn.name),
          el('p', { className: 'muted' }, conn.company_name || 'QuickBooks Online company not connected yet')),
        el('span', { className: `badge ${statusClass}` }, statusText)),
      el('dl', { className: 'facts' },
        fact('Kind', 'QuickBooks Online'),
        fact('Company', conn.company_name || '—'),
        fact('Company id', conn.realm_id ? el('code', null, conn.realm_id) : '—'),
        fact('Lists', 'Get Locations / Get Staff, and change notices'),
        fact('Created', timeAgo(conn.created_at))),
      actions,
      ...notes,
      el('section', { className: 'runs', 'aria-label': `Recent runs of ${conn.name}` },
        el('h3', null, 'Recent pulls'), runsBody));
  }

  async function connectOnline() {
    if (!qboEnabled) {
      notify('error', 'QuickBooks Online is not enabled on this server. Its operator must set QBSYNC_QBO_CLIENT_ID ' +
        'and QBSYNC_QBO_CLIENT_SECRET (the Intuit app\'s keys; see the README), then restart qbsync.');
      return;
    }
    const created = await formDialog('Connect QuickBooks Online', [
      { name: 'name', label: 'Name', required: true, wide: true, hint: 'For you, e.g. the company\'s name.' },
    ], 'Continue to Intuit', (values) => post('/api/v1/connections', { name: values.name, kind: 'online' }));
    if (created) location.assign(created.authorize_url);
  }

  async function authorize(conn) {
    try {
      const { authorize_url: url } = await post(`/api/v1/connections/${encodeURIComponent(conn.id)}/authorize`);
      location.assign(url);
    } catch (err) {
      notify('error', err);
    }
  }

  async function disconnectOnline(conn) {
    const ok = await confirmDialog(`Disconnect ${conn.name}?`,
      'qbsync gives its access back to Intuit and forgets it. Staged QuickBooks records, links and history stay; ' +
        'connect again to pull again.', 'Disconnect');
    if (!ok) return;
    try {
      const result = await post(`/api/v1/connections/${encodeURIComponent(conn.id)}/disconnect`);
      notify('ok', result.revoked ? `Disconnected ${conn.name}.`
        : `Disconnected ${conn.name}; Intuit could not be told, so remove qbsync under Apps in QuickBooks too.`);
      load();
    } catch (err) {
      notify('error', err);
    }
  }

  // The .qwc link is a plain download; when the server cannot make the file (no https public URL)
  // its message is shown beside the link instead.
  async function checkQwc(url, link, note) {
    const err = await probe(url).catch(() => null);
    if (!err) return;
    note.hidden = false;
    note.textContent = err.message;
    link.setAttribute('aria-disabled', 'true');
    link.classList.add('is-disabled');
    link.addEventListener('click', (event) => {
      event.preventDefault();
      notify('error', err);
    });
  }

  async function setEnabled(conn, toggle) {
    try {
      const updated = await patch(`/api/v1/connections/${encodeURIComponent(conn.id)}`, { enabled: toggle.checked });
      conn.enabled = updated.enabled;
      notify('ok', `${conn.name} is ${updated.enabled ? 'enabled' : 'paused'}.`);
    } catch (err) {
      toggle.checked = conn.enabled;
      notify('error', err);
    }
  }

  async function setFullRefresh(conn, wanted) {
    try {
      const updated = await patch(`/api/v1/connections/${encodeURIComponent(conn.id)}`,
        { full_refresh_next_run: wanted });
      notify('ok', updated.full_refresh_next_run
        ? `The next run of ${conn.name} reads every record.`
        : `The next run of ${conn.name} reads only what changed.`);
      load();
    } catch (err) {
      notify('error', err);
    }
  }

  async function createConnection() {
    const created = await formDialog('New connection', [
      { name: 'name', label: 'Name', required: true, wide: true, hint: 'For you, e.g. the company file it syncs.' },
      { name: 'company_file', label: 'Company file path', wide: true,
        hint: 'Optional: the full path of the .qbw file. Empty means whatever file is open.' },
      { name: 'run_every_minutes', label: 'Run every (minutes)', type: 'number', value: '60', min: '1' },
    ], 'Create connection', (values) => post('/api/v1/connections', {
      name: values.name,
      company_file: values.company_file || undefined,
      run_every_minutes: values.run_every_minutes ? Number(values.run_every_minutes) : undefined,
    }));
    if (!created) return;
    await secretDialog('Connection created',
      `Enter this username and password in QuickBooks Web Connector for ${created.name}, after adding its .qwc file.`,
      [{ label: 'Web Connector username', value: created.username },
        { label: 'Web Connector password', value: created.password }]);
    load();
  }

  async function editConnection(conn) {
    if (conn.kind === 'online') {
      const renamed = await formDialog(`Edit ${conn.name}`, [
        { name: 'name', label: 'Name', required: true, wide: true, value: conn.name },
      ], 'Save', (values) => patch(`/api/v1/connections/${encodeURIComponent(conn.id)}`, { name: values.name }));
      if (renamed) {
        notify('ok', `Saved ${renamed.name}.`);
        load();
      }
      return;
    }
    const updated = await formDialog(`Edit ${conn.name}`, [
      { name: 'name', label: 'Name', required: true, wide: true, value: conn.name },
      { name: 'company_file', label: 'Company file path', wide: true, value: conn.company_file || '' },
      { name: 'run_every_minutes', label: 'Run every (minutes)', type: 'number', min: '1',
        value: String(conn.run_every_minutes) },
      { name: 'full_refresh_every_days', label: 'Full refresh every (days)', type: 'number', min: '1', max: '90',
        value: String(conn.full_refresh_every_days || 7),
        hint: 'Other runs ask QuickBooks only for what changed.' },
    ], 'Save', (values) => patch(`/api/v1/connections/${encodeURIComponent(conn.id)}`, {
      name: values.name, company_file: values.company_file, run_every_minutes: Number(values.run_every_minutes),
      full_refresh_every_days: Number(values.full_refresh_every_days),
    }));
    if (updated) {
      notify('ok', `Saved ${updated.name}.`);
      load();
    }
  }

  async function rotatePassword(conn) {
    const ok = await confirmDialog('Rotate password?',
      `Web Connector will stop signing in to ${conn.name} with the current password until you enter the new one.`,
      'Rotate password');
    if (!ok) return;
    try {
      const { password } = await post(`/api/v1/connections/${encodeURIComponent(conn.id)}/password`);
      await secretDialog('New Web Connector password', `The new password of ${conn.username}.`,
        [{ label: 'Web Connector password', value: password }]);
    } catch (err) {
      notify('error', err);
    }
  }

  async function deleteConnection(conn) {
    const ok = await confirmDialog(`Delete ${conn.name}?`,
      (conn.kind === 'online'
        ? 'qbsync gives its QuickBooks Online access back to Intuit; '
        : 'Web Connector will no longer sync this company file, and ') +
        'its staged QuickBooks records and run history go away. Locations and staff stay.',
      'Delete connection');
    if (!ok) return;
    try {
      await del(`/api/v1/connections/${encodeURIComponent(conn.id)}`);
      notify('ok', `Deleted ${conn.name}.`);
      load();
    } catch (err) {
      notify('error', err);
    }
  }

  return {
    destroy() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

// "On the next run (asked for)", "On the next run", or when it is due.
function nextFullRefresh(conn) {
  if (conn.full_refresh_next_run) return 'On the next run (asked for)';
  if (!conn.next_full_refresh_at || new Date(conn.next_full_refresh_at) <= new Date()) return 'On the next run';
  return timeAgo(conn.next_full_refresh_at);
}

// A Desktop connection's header line: the company QuickBooks reported, and when it was last seen.
function desktopHeadLine(qb) {
  const company = [qb.company_name, [qb.product, qb.country].filter(Boolean).join(', ')].filter(Boolean).join(' · ');
  return [company || 'QuickBooks has not connected yet', qb.seen_at ? [' · last seen ', timeAgo(qb.seen_at)] : null]
    .flat().filter(Boolean);
}

function fact(label, value) {
  return el('div', { className: 'fact' }, el('dt', null, label), el('dd', null, value));
}

// A Windows path that wraps after its backslashes rather than in the middle of a name.
function breakablePath(path) {
  if (!path) return null;
  return String(path).split('\\').flatMap((part, i) => (i === 0 ? [part] : ['\\', el('wbr'), part]));
}

const OUTCOMES = {
  success: ['Success', 'badge-success'], warnings: ['Warnings', 'badge-warning'], errors: ['Errors', 'badge-danger'],
  failed: ['Failed', 'badge-danger'], expired: ['Expired', 'badge-muted'],
  connection_error: ['Connection error', 'badge-danger'],
};

// `state` remembers which runs are expanded across refreshes; runs with errors or in progress start open.
const ONLINE_STATUS = {
  pending: ['Not connected', 'badge-muted'], connected: ['Connected', 'badge-success'],
  needs_reconnect: ['Needs reconnect', 'badge-danger'],
};

const TRIGGERS = { button: 'Get Locations / Get Staff', webhook: 'QuickBooks Online change notice' };

function renderRuns(runs, state, online = false) {
  const open = state.open;
  if (runs.length === 0) {
    return [el('p', { className: 'muted' }, online
      ? 'No pulls yet. Press Get Locations on Sync Locations (or Get Staff on Sync Staff).'
      : 'No runs yet. Add the .qwc file to QuickBooks Web Connector and press Update Selected.')];
  }
  return runs.map((run) => {
    const live = run.state === 'live';
    const [label, badgeClass] = live
      ? ['Running', 'badge-info']
      : OUTCOMES[run.outcome] || [run.outcome || 'Ended', 'badge-muted'];
    const counts = run.counts || {};
    const hasErrors = (run.errors || []).length > 0 || Boolean(run.last_error);
    if (!state.seen.has(run.id)) {
      state.seen.add(run.id);
      if (hasErrors || live) open.add(run.id);
    }
    const details = el('details', { className: 'run', open: open.has(run.id) });
    details.addEventListener('toggle', () => (details.open ? open.add(run.id) : open.delete(run.id)));
    const summary = el('summary', { className: 'run-row' },
      el('span', { className: 'run-when' }, timeAgo(run.started_at)),
      el('span', { className: `badge ${badgeClass}` }, label),
      el('span', { className: 'run-counts' },
        el('span', { className: 'run-mode' }, run.mode === 'incremental' ? 'Incremental' : 'Full'),
        ' · ', changesText(run.changes) || countsText(counts)),
      el('span', { className: 'run-issues' }, issuesText(counts)));
    details.append(summary);
    if (TRIGGERS[run.trigger]) details.append(el('p', { className: 'muted run-trigger' }, `Started by ${TRIGGERS[run.trigger]}`));
    if (hasChanges(run.changes)) details.append(changesSection(run, state));
    if (live) {
      const percent = Math.max(0, Math.min(100, Math.round(run.percent || 0)));
      const bar = el('div', { className: 'progress-bar' });
      bar.style.width = `${percent}%`;
      const step = run.step || 'working';
      details.append(
        el('div', { className: 'progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100',
          'aria-valuenow': String(percent), 'aria-label': `Run progress: ${step}` }, bar),
        el('p', { className: 'progress-text' }, `${percent}% · ${step} · ${plural(run.requests || 0, 'request')}`));
    }
    if (run.summary) details.append(el('p', { className: 'run-summary' }, run.summary));
    const errors = run.errors || [];
    if (errors.length || run.last_error) {
      const shown = errors.length ? errors : [{ message: run.last_error }];
      details.append(el('ul', { className: 'run-errors' }, shown.map((e) =>
        el('li', null, e.code ? el('code', null, e.code) : null, ' ', el('strong', null, e.message),
          e.explanation ? el('p', { className: 'explanation' }, e.explanation) : null))));
    }
    const events = run.events || [];
    if (events.length) {
      details.append(el('ol', { className: 'run-events' }, events.map((ev) =>
        el('li', { className: `event event-${ev.level}` },
          timeAgo(ev.at), ' ', el('span', { className: 'event-level' }, ev.level), ' ', ev.message,
          ev.explanation ? el('p', { className: 'explanation' }, ev.explanation) : null))));
    }
    if (!run.summary && !errors.length && !run.last_error && !events.length && !live) {
      details.append(el('p', { className: 'muted run-summary' }, 'No details recorded.'));
    }
    return details;
  });
}

const CHANGE_WORDS = [['new', 'new'], ['changed', 'changed'], ['deactivated', 'deactivated'],
  ['reactivated', 'reactivated'], ['deleted', 'deleted']];

function hasChanges(changes) {
  return Boolean(changes) && ['customers', 'employees'].some((list) =>
    CHANGE_WORDS.some(([key]) => (changes[list] || {})[key] > 0));
}

// "Customers: 2 new, 1 deleted · Employees: 1 changed", or '' when nothing changed.
function changesText(changes) {
  if (!changes) return '';
  const parts = [['customers', 'Customers'], ['employees', 'Employees']].map(([list, title]) => {
    const counts = changes[list] || {};
    const words = CHANGE_WORDS.filter(([key]) => counts[key] > 0)
      .map(([key, word]) => `${counts[key].toLocaleString()} ${word}`);
    return words.length ? `${title}: ${words.join(', ')}` : null;
  }).filter(Boolean);
  return parts.length ? parts.join(' · ') : 'Nothing changed';
}

// The names of the records a run changed, fetched when asked for (a first run changes thousands).
function changesSection(run, state) {
  const body = el('div', { className: 'run-changes-body' });
  const show = el('button', { type: 'button', className: 'btn btn-small' }, 'Show changed records');
  const section = el('div', { className: 'run-changes' }, show, body);
  show.addEventListener('click', async () => {
    show.disabled = true;
    try {
      const path = `/api/v1/connections/${encodeURIComponent(state.connectionId)}/runs/` +
        `${encodeURIComponent(run.id)}/changes`;
      const page = await get(path, { limit: 200 });
      const groups = new Map();
      for (const item of page.items) {
        const key = `${item.change[0].toUpperCase()}${item.change.slice(1)} ${item.list}`;
        if (!groups.has(key)) groups.set(key, []);
        groups.get(key).push(item.name);
      }
      body.replaceChildren(...[...groups.entries()].map(([key, names]) => el('div', { className: 'run-change-group' },
        el('h4', null, key), el('ul', { className: 'run-change-names' }, names.map((n) => el('li', null, n))))));
      if (page.next) body.append(el('p', { className: 'muted' }, 'The first 200 are shown; the API lists them all.'));
      show.remove();
    } catch (err) {
      show.disabled = false;
      body.replaceChildren(el('p', { className: 'panel-error' }, `Could not load the changes: ${err.message}`));
    }
  });
  return section;
}

function issuesText(counts) {
  const parts = [];
  if (counts.warnings) parts.push(plural(counts.warnings, 'warning'));
  if (counts.errors) parts.push(plural(counts.errors, 'error'));
  return parts.join(' · ') || 'No issues';
}

function countsText(counts) {
  const deleted = (counts.customers_deleted || 0) + (counts.employees_deleted || 0);
  return [plural(counts.customers ?? 0, 'customer'), plural(counts.employees ?? 0, 'employee'),
    deleted ? `${deleted.toLocaleString()} deleted` : null].filter(Boolean).join(' · ');
}

function plural(n, word) {
  return `${n.toLocaleString()} ${word}${n === 1 ? '' : 's'}`;
}

// --- Locations and Staff -----------------------------------------------------------------------

const RECORDS = {
  locations: {
    title: 'Locations', noun: 'location', plural: 'locations', path: '/api/v1/locations',
    lead: 'Job sites of the field-service application.',
    remote: (link) => `QuickBooks customer "${link.full_name}"`,
    line: (loc) => [formatAddress(loc.address), loc.phone, loc.email].filter(Boolean).join(' · ')
      || loc.description || 'No address',
    fields: (loc = { address: {} }) => [
      { name: 'name', label: 'Name', required: true, wide: true, value: loc.name },
      { name: 'description', label: 'Description', wide: true, value: loc.description },
      { name: 'line1', label: 'Address', wide: true, value: loc.address.line1 },
      { name: 'line2', label: 'Address line 2', wide: true, value: loc.address.line2 },
      { name: 'city', label: 'City', value: loc.address.city },
      { name: 'state', label: 'State', value: loc.address.state },
      { name: 'postal_code', label: 'Postal code', value: loc.address.postal_code },
      { name: 'country', label: 'Country', value: loc.address.country },
      { name: 'phone', label: 'Phone', type: 'tel', value: loc.phone },
      { name: 'email', label: 'Email', type: 'email', value: loc.email },
    ],
    body: (v, loc) => ({ name: v.name, description: v.description, phone: v.phone, email: v.email,
      address: { ...(loc ? loc.address : {}), line1: v.line1, line2: v.line2, city: v.city, state: v.state,
        postal_code: v.postal_code, country: v.country } }),
  },
  staff: {
    title: 'Staff', noun: 'staff member', plural: 'staff members', path: '/api/v1/staff',
    lead: 'People who work for the organization in the field-service application.',
    remote: (link) => `QuickBooks employee "${link.name}"`,
    line: (person) => [person.email, person.phone].filter(Boolean).join(' · ') || 'No email or phone',
    fields: (person = {}) => [
      { name: 'name', label: 'Name', required: true, wide: true, value: person.name },
      { name: 'email', label: 'Email', type: 'email', wide: true, value: person.email },
      { name: 'phone', label: 'Phone', type: 'tel', wide: true, value: person.phone },
    ],
    body: (v) => ({ name: v.name, email: v.email, phone: v.phone }),
  },
};

function mountRecords(root, kind) {
  const cfg = RECORDS[kind];
  let query = '';
  let linked = '';
  let next = null;
  let generation = 0;
  let timer = 0;
  let loadingMore = false;

  const count = el('span', { className: 'toolbar-count', 'aria-live': 'polite' });
  const search = el('input', { type: 'search', className: 'search-input', placeholder: `Search ${cfg.plural}`,
    'aria-label': `Search ${cfg.plural}`, autocomplete: 'off' });
  const filter = el('select', { className: 'select', 'aria-label': 'Show' },
    el('option', { value: '' }, 'All'),
    el('option', { value: 'true' }, 'Linked'),
    el('option', { value: 'false' }, 'Not linked'));
  const viewport = el('div', { className: 'records-body' });
  root.append(
    el('div', { className: 'page-head' },
      el('div', null, el('h1', null, cfg.title), el('p', { className: 'lead' }, cfg.lead)),
      button(`New ${cfg.noun}`, create, { className: 'btn btn-primary', icon: ICONS.plus })),
    el('div', { className: 'records card' },
      el('div', { className: 'toolbar' },
        el('label', { className: 'search' }, icon(ICONS.search), search), filter, count),
      viewport));

  const list = createVirtualList({
    viewport, rowHeight: 60, gap: 0, label: cfg.title, renderRow, onNeedMore: loadMore,
    keyOf: (item) => String(item.id),
    emptyText: () => (query ? `No ${cfg.plural} match "${query}".` : `No ${cfg.plural} yet.`),
  });
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { query = search.value.trim(); reload(); }, 250);
  });
  filter.addEventListener('change', () => { linked = filter.value; reload(); });
  reload();

  async function reload() {
    const mine = ++generation;
    list.setLoading(true);
    try {
      const page = await get(cfg.path, { q: query, linked, limit: 100 });
      if (mine !== generation) return;
      next = page.next ?? null;
      list.reset(page.items, next !== null, page.total ?? page.items.length);
      count.textContent = `${list.total.toLocaleString()} ${list.total === 1 ? cfg.noun : cfg.plural}`;
    } catch (err) {
      if (mine === generation) notify('error', err);
    } finally {
      if (mine === generation) list.setLoading(false);
    }
  }

  async function loadMore() {
    if (loadingMore || next === null) return;
    loadingMore = true;
    const mine = generation;
    try {
      const page = await get(cfg.path, { q: query, linked, limit: 100, cursor: next });
      if (mine !== generation) return;
      next = page.next ?? null;
      list.append(page.items, next !== null, page.total);
    } catch (err) {
      notify('error', err);
    } finally {
      loadingMore = false;
    }
  }

  function renderRow(item) {
    return el('div', { className: 'record', dataset: { id: String(item.id) } },
      el('div', { className: 'record-main' },
        el('span', { className: 'record-name' }, item.name),
        el('span', { className: 'record-line' }, cfg.line(item))),
      item.link
        ? el('span', { className: 'badge badge-success badge-linked', title: `Linked to ${cfg.remote(item.link)}` },
          'Linked to ', el('span', { className: 'badge-text' }, item.link.full_name || item.link.name))
        : el('span', { className: 'badge badge-muted' }, 'Not linked'),
      el('div', { className: 'record-actions' },
        button('Edit', () => edit(item), { className: 'btn btn-small', icon: ICONS.edit, focus: true,
          label: `Edit ${cfg.noun} "${item.name}"` }),
        button('Delete', () => remove(item), { className: 'btn btn-small btn-danger-quiet', icon: ICONS.trash,
          label: `Delete ${cfg.noun} "${item.name}"` })));
  }

  async function create() {
    const created = await formDialog(`New ${cfg.noun}`, cfg.fields(), `Create ${cfg.noun}`,
      (values) => post(cfg.path, cfg.body(values)));
    if (created) {
      notify('ok', `Created ${cfg.noun} "${created.name}".`);
      reload();
    }
  }

  async function edit(item) {
    const updated = await formDialog(`Edit ${item.name}`, cfg.fields(item), 'Save',
      (values) => patch(`${cfg.path}/${encodeURIComponent(item.id)}`, cfg.body(values, item)));
    if (updated) {
      notify('ok', `Saved "${updated.name}".`);
      reload();
    }
  }

  async function remove(item) {
    const text = item.link
      ? `"${item.name}" is linked to ${cfg.remote(item.link)}. ` +
        'Deleting it also removes the link; QuickBooks itself is not changed.'
      : `"${item.name}" will be deleted. This cannot be undone.`;
    if (!await confirmDialog(`Delete ${cfg.noun}?`, text, `Delete ${cfg.noun}`)) return;
    try {
      await del(`${cfg.path}/${encodeURIComponent(item.id)}`);
      notify('ok', `Deleted "${item.name}".`);
      reload();
    } catch (err) {
      notify('error', err);
    }
  }

  return {
    destroy() {
      clearTimeout(timer);
      generation += 1;
      list.destroy();
    },
  };
}
