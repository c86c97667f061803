// The Sync Locations and Sync Staff screens: the organization's unlinked records (left), the unlinked
// QuickBooks records (right) and the linked pairs (bottom).
//
// Linking: drag a left card onto a right card, or (keyboard) press a left card to select it, then
// the "Link" button that every right card shows. The green "+" on a right card creates a new record
// from it, already linked. The red "x" between the two cards of a pair disconnects them, and both
// cards go back to their panels.
//
// Help matching: selecting a card asks the server for its best candidates and shows them at the top
// of the QuickBooks panel; the Suggested view lists likely pairs to accept one by one or all above a
// score at once. A "+" first asks whether an unlinked record looks like the same place (person), and
// leaves its card in place, marked done, so that the next card never slides under the pointer. Every
// change's message offers Undo for a few seconds, and a linked pair's history is one click away.

import { get, post, change, el, icon, ICONS, formatAddress, hasAddress, timeAgo } from './api.js';
import { createVirtualList } from './vlist.js';
import { createPullButton } from './pull.js';

const PAGE_SIZE = 150;
const SEARCH_DELAY_MS = 250;
/** From this score, a "+" first offers to link the look-alike instead. */
const LOOK_ALIKE_SCORE = 0.75;
/** The scores the Suggested view can list from. */
const THRESHOLDS = [0.95, 0.9, 0.85, 0.8, 0.75];

const KINDS = {
  locations: {
    title: 'Sync Locations',
    intro: 'Link each job site to its QuickBooks customer. ' +
      'Drag a location onto a customer, or select a location and press Link.',
    localPath: '/api/v1/locations',
    localNoun: 'location',
    localPlural: 'locations',
    remotePath: '/api/v1/qb/customers',
    remoteNoun: 'QuickBooks customer',
    remotePlural: 'QuickBooks customers',
    pull: { lists: ['customers'], label: 'Get Locations', noun: 'customers' },
    list: 'customers',
    linkBody: (remote) => ({ customer_id: remote.id }),
    createPath: (remote) => `/api/v1/qb/customers/${encodeURIComponent(remote.id)}/location`,
    remoteName: (remote) => remote.full_name || remote.name,
    remoteIdOfLink: (link) => link.customer_id,
    remoteNameOfLink: (link) => link.full_name,
    remoteFromLink: (link) => ({ id: link.customer_id, connection_id: link.connection_id, list_id: link.list_id,
      name: link.full_name, full_name: link.full_name, status: link.status || 'active',
      is_active: link.status !== 'inactive', ship_address: link.address, link: null }),
    // The linked customer's second line is always its address (the one a location takes).
    linkLine: (link) => formatAddress(link.address) || 'No address in QuickBooks',
    localIdKey: 'location_id',
    remoteIdKey: 'customer_id',
    localNameKey: 'location_name',
    remoteNameKey: 'customer_name',
    remoteFromSuggestion: (s) => ({ id: s.customer_id, connection_id: s.connection_id, name: s.customer_name,
      full_name: s.customer_name, status: 'active', is_active: true, link: null }),
    localLine: (loc) => formatAddress(loc.address) || loc.description || 'No address',
    remoteLines: (cust) => [cust.company_name,
      formatAddress(hasAddress(cust.ship_address) ? cust.ship_address : cust.bill_address)],
  },
  staff: {
    title: 'Sync Staff',
    intro: 'Link each staff member to their QuickBooks employee. ' +
      'Drag a person onto an employee, or select a person and press Link.',
    localPath: '/api/v1/staff',
    localNoun: 'staff member',
    localPlural: 'staff members',
    remotePath: '/api/v1/qb/employees',
    remoteNoun: 'QuickBooks employee',
    remotePlural: 'QuickBooks employees',
    pull: { lists: ['employees'], label: 'Get Staff', noun: 'employees' },
    list: 'employees',
    linkBody: (remote) => ({ employee_id: remote.id }),
    createPath: (remote) => `/api/v1/qb/employees/${encodeURIComponent(remote.id)}/staff`,
    remoteName: (remote) => remote.name,
    remoteIdOfLink: (link) => link.employee_id,
    remoteNameOfLink: (link) => link.name,
    remoteFromLink: (link) => ({ id: link.employee_id, connection_id: link.connection_id, list_id: link.list_id,
      name: link.name, status: link.status || 'active', is_active: link.status !== 'inactive',
      email: link.email, mobile: link.phone, link: null }),
    // The linked employee's second line is always its e-mail and phone (the ones a "+" copies).
    linkLine: (link) => [link.email, link.phone].filter(Boolean).join(' · ') || 'No email or phone in QuickBooks',
    localIdKey: 'staff_id',
    remoteIdKey: 'employee_id',
    localNameKey: 'staff_name',
    remoteNameKey: 'employee_name',
    remoteFromSuggestion: (s) => ({ id: s.employee_id, connection_id: s.connection_id, name: s.employee_name,
      status: 'active', is_active: true, link: null }),
    localLine: (person) => [person.email, person.phone].filter(Boolean).join(' · ') || 'No email or phone',
    // The phone shown is the one "+" copies: the mobile, else the main phone.
    remoteLines: (emp) => [emp.job_title, [emp.email, emp.mobile || emp.phone].filter(Boolean).join(' · ')],
  },
};

/** Shows the sync screen of `kind` ('locations' or 'staff') in `root`; returns `{ destroy }`. */
export function mountSync(root, kind, { notify }) {
  const cfg = KINDS[kind];
  const remoteCache = new Map(); // remote id -> the full record, for cards coming back from a pair
  let selected = null;
  let dragged = null;
  let busy = false;

  const hint = el('div', { className: 'sync-hint', hidden: true, role: 'status' });
  let linkedTotal = null; // how many pairs there are, once the Linked panel has loaded
  let connectionList = null; // the organization's connections, once loaded
  const local = createPanel({
    className: 'panel-local', title: `Unlinked ${cfg.localPlural}`, noun: cfg.localPlural,
    load: (q, cursor, signal) => get(cfg.localPath, { q, linked: 'false', limit: PAGE_SIZE, cursor }, signal),
    rowHeight: 64, renderRow: renderLocal,
    emptyText: (q) => {
      if (q) return `No unlinked ${cfg.localPlural} match "${q}".`;
      if (linkedTotal > 0) return `Every ${cfg.localNoun} is linked.`;
      const page = cfg.localPlural === 'locations' ? 'Locations' : 'Staff';
      if (connectionList && connectionList.some((conn) => listedAt(conn))) {
        return `No ${cfg.localPlural} yet. Press the green + on a ${cfg.remoteNoun} to make one from it, ` +
          `or add ${cfg.localPlural} on the ${page} page.`;
      }
      return `No ${cfg.localPlural} yet. Add them on the ${page} page, or make them from ${cfg.remotePlural} ` +
        'with the green + once QuickBooks has sent them.';
    },
  });
  // The QuickBooks panel's filters: inactive records are left out unless asked for; deleted ones
  // never show here (only a linked one, in the Linked panel, with its flag). The connection
  // filter and the connection's name on each card appear when there is more than one connection.
  const connections = new Map(); // connection id -> name
  const includeInactive = el('input', { type: 'checkbox', className: 'check', onchange: () => remote.reload() });
  const connectionFilter = el('select', { className: 'select select-small', 'aria-label': 'QuickBooks company',
    hidden: true, onchange: () => {
      showFreshness();
      remote.reload();
    } }, el('option', { value: '' }, 'All companies'));
  const freshness = el('span', { className: 'freshness', role: 'status' });
  const remoteFilters = el('div', { className: 'panel-filters' },
    el('label', { className: 'check-label' }, includeInactive, 'Include inactive'), connectionFilter, freshness);
  const remote = createPanel({
    className: 'panel-remote', title: `Unlinked ${cfg.remotePlural}`, noun: cfg.remotePlural,
    load: (q, cursor, signal) => get(cfg.remotePath, {
      q, linked: 'false', limit: PAGE_SIZE, cursor, connection: connectionFilter.value,
      status: includeInactive.checked ? 'active,inactive' : 'active',
    }, signal),
    rowHeight: 76, renderRow: renderRemote, filters: remoteFilters,
    emptyText: remoteEmptyText,
  });
  const pairs = createPanel({
    className: 'panel-pairs', title: 'Linked', noun: 'linked pairs',
    load: (q, cursor, signal) => get(cfg.localPath, { q, linked: 'true', limit: PAGE_SIZE, cursor }, signal),
    rowHeight: 76, renderRow: renderPair,
    emptyText: (q) => q ? `No linked ${cfg.localPlural} match "${q}".` : 'Nothing is linked yet.',
    // An empty Linked panel gives its height to the panels above; the left one learns whether
    // "every location is linked" is true.
    onLoaded: (total, q) => {
      if (q) return;
      linkedTotal = total;
      grid.classList.toggle('pairs-empty', total === 0);
      local.list.refresh();
    },
  });

  const candidates = el('div', { className: 'candidates', hidden: true, 'aria-live': 'polite' });
  remote.element.insertBefore(candidates, remote.viewport);
  let candidateGeneration = 0;

  const suggested = createSuggestedView();
  const suggestedCount = el('span', { className: 'count' }, '…');
  const tabLink = el('button', { type: 'button', className: 'tab', 'aria-pressed': 'true',
    onclick: () => showView('link') }, 'Link by hand');
  const tabSuggested = el('button', { type: 'button', className: 'tab', 'aria-pressed': 'false',
    onclick: () => showView('suggested') }, 'Suggested', suggestedCount);
  const changes = createChangesView();
  const changesCount = el('span', { className: 'count' }, '…');
  const tabChanges = el('button', { type: 'button', className: 'tab', 'aria-pressed': 'false',
    onclick: () => showView('changes') }, 'Changes', changesCount);
  const grid = el('div', { className: 'sync-grid' }, local.element, remote.element, pairs.element);

  const pull = createPullButton({ ...cfg.pull, notify, onDone: () => {
    loadConnections();
    remote.reload();
    pairs.reload();
    changes.load();
  } });
  const screen = el('section', { className: 'sync', 'aria-labelledby': 'sync-title' },
    el('div', { className: 'sync-head' },
      el('div', { className: 'sync-title' },
        el('h1', { id: 'sync-title' }, cfg.title),
        el('p', { className: 'lead' }, cfg.intro)),
      el('div', { className: 'sync-actions' },
        el('div', { className: 'tabs', role: 'group', 'aria-label': 'View' }, tabLink, tabSuggested, tabChanges),
        pull.element)),
    hint,
    grid,
    suggested.element,
    changes.element);
  root.replaceChildren(screen);

  setupDragAndDrop();
  loadConnections();
  suggested.load();
  changes.load();
  screen.addEventListener('keydown', onKeydown);
  local.reload();
  remote.reload();
  pairs.reload();

  // --- Cards ---------------------------------------------------------------------------------

  function renderLocal(item) {
    const isSelected = Boolean(selected && selected.id === item.id);
    return el('button', {
      type: 'button', className: 'card card-local', draggable: 'true', 'data-vlist-focus': true,
      dataset: { id: String(item.id) }, 'aria-pressed': String(isSelected),
      'aria-label': `Select ${cfg.localNoun} "${item.name}" to link`,
      onclick: () => toggleSelection(item),
    },
    el('span', { className: 'card-title' }, item.name),
    el('span', { className: 'card-line' }, cfg.localLine(item)));
  }

  function renderRemote(item) {
    const name = cfg.remoteName(item);
    if (item.createdAs) {
      // A card whose "+" is done stays where it was, without its "+", until the panel reloads.
      return el('div', { className: 'card card-remote card-done', dataset: { id: String(item.id) } },
        el('div', { className: 'card-main' },
          el('span', { className: 'card-title' }, name),
          el('span', { className: 'card-line' }, `✓ Created ${cfg.localNoun} "${item.createdAs.name}", linked`)));
    }
    const actions = el('div', { className: 'card-actions' });
    if (selected) {
      actions.append(el('button', {
        type: 'button', className: 'btn btn-small btn-primary',
        'aria-label': `Link "${selected.name}" to ${cfg.remoteNoun} "${name}"`,
        onclick: () => link(selected, item, true),
      }, icon(ICONS.link), 'Link'));
    }
    actions.append(el('button', {
      type: 'button', className: 'btn-add', 'data-vlist-focus': true,
      'aria-label': `Create a ${cfg.localNoun} from ${cfg.remoteNoun} "${name}"`,
      title: `Create a ${cfg.localNoun} from this ${cfg.remoteNoun}`,
      onclick: () => createFrom(item),
    }, icon(ICONS.plus)));
    const lines = cfg.remoteLines(item).filter(Boolean);
    return el('div', { className: 'card card-remote', dataset: { id: String(item.id) } },
      el('div', { className: 'card-main' },
        el('div', { className: 'card-title-row' }, remoteTitle(item), statusBadges(item), connectionBadge(item)),
        lines.map((line, i) => el('span', { className: i === 0 ? 'card-line' : 'card-line muted' }, line))),
      actions);
  }

  function renderPair(item) {
    const remoteItem = cfg.remoteFromLink(item.link);
    const remoteName = cfg.remoteNameOfLink(item.link);
    return el('div', { className: 'pair', dataset: { id: String(item.id) } },
      el('div', { className: 'card card-pair' },
        el('span', { className: 'card-title' }, item.name),
        el('span', { className: 'card-line' }, cfg.localLine(item)),
        el('button', { type: 'button', className: 'btn-history', 'data-vlist-focus': true,
          'aria-label': `History of "${item.name}"`, title: 'History', onclick: () => showHistory(item) },
        icon(ICONS.history))),
      el('div', { className: 'pair-join' },
        icon(ICONS.swap, 'icon pair-icon'),
        el('button', {
          type: 'button', className: 'btn-unlink', 'data-vlist-focus': true,
          'aria-label': `Disconnect "${item.name}" from "${remoteName}"`,
          title: 'Disconnect', onclick: () => unlink(item),
        }, icon(ICONS.close))),
      el('div', { className: 'card card-pair' },
        el('div', { className: 'card-title-row' }, remoteTitle(remoteItem),
          item.link.changed && el('button', {
            type: 'button', className: 'badge badge-warning badge-button', 'data-vlist-focus': true,
            'aria-label': `Review what changed in QuickBooks for "${item.name}"`, onclick: () => reviewPair(item),
          }, 'Changed in QuickBooks'),
          statusBadges(remoteItem), connectionBadge(remoteItem)),
        el('span', { className: 'card-line' }, cfg.linkLine(item.link))));
  }

  // What the QuickBooks panel says when it is empty: the next step, when there is one.
  function remoteEmptyText(q) {
    if (q) return `No unlinked ${cfg.remotePlural} match "${q}".`;
    if (connectionList && connectionList.length === 0) {
      return 'No QuickBooks company is connected yet. On the Connections page, create a QuickBooks Desktop ' +
        'connection and add its .qwc file to QuickBooks Web Connector, or connect QuickBooks Online.';
    }
    if (connectionList && !connectionList.some((conn) => listedAt(conn))) {
      return `QuickBooks has not sent its ${cfg.list} yet. Run QuickBooks Web Connector on the QuickBooks ` +
        `computer (Update Selected), or press ${cfg.pull.label} for QuickBooks Online.`;
    }
    if (!includeInactive.checked) {
      return `No unlinked active ${cfg.remotePlural}. Check "Include inactive" to see inactive ones.`;
    }
    return `Every ${cfg.remoteNoun} is linked.`;
  }

  // When a connection's list was last brought up to date; null when never (or not said).
  function listedAt(conn) {
    const lists = conn.lists || {};
    return (lists[cfg.list] && lists[cfg.list].updated_at) || null;
  }

  function showFreshness() {
    freshness.replaceChildren();
    if (!connectionList || connectionList.length === 0) return;
    const shown = connectionFilter.value
      ? connectionList.filter((conn) => conn.id === connectionFilter.value) : connectionList;
    freshness.append(`${cfg.list === 'customers' ? 'Customers' : 'Employees'} brought up to date: `);
    shown.forEach((conn, i) => {
      if (i > 0) freshness.append(' · ');
      if (connectionList.length > 1) freshness.append(`${conn.name} `);
      const at = listedAt(conn);
      freshness.append(at ? timeAgo(at) : el('span', null, 'not yet'));
    });
  }

  // The connection's name, when the organization has more than one.
  function connectionBadge(item) {
    if (connections.size < 2 || !connections.has(item.connection_id)) return null;
    return el('span', { className: 'badge badge-conn', title: 'QuickBooks company' }, connections.get(item.connection_id));
  }

  async function loadConnections() {
    try {
      const page = await get('/api/v1/connections');
      connectionList = page.items;
      connections.clear();
      for (const conn of page.items) connections.set(conn.id, conn.name);
      const chosen = connectionFilter.value;
      connectionFilter.replaceChildren(el('option', { value: '' }, 'All companies'),
        ...page.items.map((conn) => el('option', { value: conn.id }, conn.name)));
      connectionFilter.value = connections.has(chosen) ? chosen : '';
      connectionFilter.hidden = connections.size < 2;
      showFreshness();
      local.list.refresh();
      remote.list.refresh();
      pairs.list.refresh();
    } catch (err) {
      console.error(err);
    }
  }

  // "Parent:Job" shows as "Parent › Job", the parent path quieter than the job's own name.
  function remoteTitle(item) {
    const parts = String(cfg.remoteName(item)).split(':');
    const own = parts.pop();
    const title = el('span', { className: 'card-title' });
    for (const parent of parts) title.append(el('span', { className: 'path' }, `${parent} › `));
    title.append(own);
    return title;
  }

  function statusBadges(item) {
    if (item.status === 'deleted') return el('span', { className: 'badge badge-danger' }, 'Deleted in QuickBooks');
    if (item.status === 'inactive' || item.is_active === false) {
      return el('span', { className: 'badge badge-muted' }, 'Inactive');
    }
    return null;
  }

  // --- Actions ---------------------------------------------------------------------------------

  function toggleSelection(item) {
    selected = selected && selected.id === item.id ? null : item;
    for (const card of local.viewport.querySelectorAll('.card-local')) {
      card.setAttribute('aria-pressed', String(Boolean(selected) && card.dataset.id === String(selected.id)));
    }
    hint.hidden = !selected;
    hint.replaceChildren();
    showCandidates(selected);
    if (selected) {
      hint.append(el('span', null, `Choose the ${cfg.remoteNoun} to link with `),
        el('strong', null, selected.name), el('span', null, ': press its Link button.'),
        el('button', { type: 'button', className: 'btn btn-small', onclick: () => toggleSelection(selected) },
          'Cancel'));
    }
    remote.list.refresh();
  }

  function onKeydown(event) {
    if (event.key === 'Escape' && selected) toggleSelection(selected);
  }

  // Runs one change at a time: a second click while one is in flight is ignored.
  async function oneAtATime(work) {
    if (busy) return;
    busy = true;
    try {
      await work();
    } catch (err) {
      failed(err);
    } finally {
      busy = false;
    }
  }

  function link(localItem, remoteItem, fromKeyboard) {
    return oneAtATime(() => doLink(localItem, remoteItem, fromKeyboard));
  }

  async function doLink(localItem, remoteItem, fromKeyboard) {
    const index = local.list.indexOf(localItem.id);
    const path = `${cfg.localPath}/${encodeURIComponent(localItem.id)}/link`;
    const { data: updated, event } = await change('PUT', path, cfg.linkBody(remoteItem));
    remoteCache.set(String(remoteItem.id), { ...remoteItem, link: null });
    if (selected) toggleSelection(selected);
    local.list.remove(localItem.id);
    remote.list.remove(remoteItem.id);
    pairs.list.prepend(updated);
    updateCounts();
    suggested.forget([localItem.id], [remoteItem.id]);
    notify('ok', `Linked "${localItem.name}" to "${cfg.remoteName(remoteItem)}".`, undoAction([event]));
    if (fromKeyboard && local.list.length > 0) {
      local.list.focusIndex(Math.min(Math.max(index, 0), local.list.length - 1));
    }
  }

  function createFrom(remoteItem) {
    return oneAtATime(async () => {
      const name = cfg.remoteName(remoteItem);
      // An unlinked record that looks like the same place (person) is offered first.
      const look = await get('/api/v1/suggestions',
        { kind, [cfg.remoteIdKey]: remoteItem.id, min_score: LOOK_ALIKE_SCORE, limit: 1 });
      const twin = look.items[0];
      if (twin) {
        const twinName = twin[cfg.localNameKey];
        const choice = await ask(`An unlinked ${cfg.localNoun} looks the same`,
          `"${twinName}" is not linked yet and looks like ${cfg.remoteNoun} "${name}" ` +
          `(${twin.reasons.join(', ')}). Link them instead of creating another ${cfg.localNoun}?`,
          [{ label: 'Cancel', value: null },
            { label: `Create a new ${cfg.localNoun}`, value: 'create' },
            { label: `Link to "${twinName}"`, value: 'link', primary: true }]);
        if (choice === null) return;
        if (choice === 'link') {
          await doLink({ id: twin[cfg.localIdKey], name: twinName }, remoteItem, false);
          return;
        }
      }
      const { data: created, event } = await change('POST', cfg.createPath(remoteItem));
      remoteCache.set(String(remoteItem.id), { ...remoteItem, link: null });
      // The card stays in its place, marked done: the next card does not move under the pointer.
      remote.list.replace({ ...remoteItem, createdAs: created });
      pairs.list.prepend(created);
      updateCounts();
      suggested.forget([], [remoteItem.id]);
      notify('ok', `Created ${cfg.localNoun} "${created.name}", linked to "${name}".`,
        event ? undoAction([event]) : undefined);
    });
  }

  function unlink(pairItem) {
    return oneAtATime(async () => {
      const remoteName = cfg.remoteNameOfLink(pairItem.link);
      const index = pairs.list.indexOf(pairItem.id);
      const hadFocus = pairs.viewport.contains(document.activeElement);
      const path = `${cfg.localPath}/${encodeURIComponent(pairItem.id)}/link`;
      const { data: updated, event } = await change('DELETE', path);
      const remoteItem = await findRemote(pairItem.link);
      pairs.list.remove(pairItem.id);
      local.list.prepend(updated || { ...pairItem, link: null });
      remote.list.prepend(remoteItem);
      updateCounts();
      notify('ok', `Disconnected "${pairItem.name}" from "${remoteName}".`, event ? undoAction([event]) : undefined);
      // Focus stays in the linked panel, on the next pair (or the search box when none is left).
      if (hadFocus) {
        if (pairs.list.length > 0) pairs.list.focusIndex(Math.min(Math.max(index, 0), pairs.list.length - 1));
        else pairs.element.querySelector('input[type="search"]').focus();
      }
    });
  }

  function undoAction(events) {
    const ids = events.filter(Boolean);
    if (ids.length === 0) return undefined;
    return { label: 'Undo', run: () => undo(ids) };
  }

  function undo(events) {
    return oneAtATime(async () => {
      const done = await post('/api/v1/audit/undo', { events });
      reloadAll();
      notify('ok', done.undone === 1 ? 'Undone.' : `Undone: ${done.undone} changes.`);
    });
  }

  function reloadAll() {
    local.reload();
    remote.reload();
    pairs.reload();
    suggested.load();
    if (selected) toggleSelection(selected);
  }

  // --- Best matches of the selected card ---------------------------------------------------------

  async function showCandidates(item) {
    const mine = ++candidateGeneration;
    candidates.hidden = true;
    candidates.replaceChildren();
    if (!item) return;
    try {
      const page = await get('/api/v1/suggestions', { kind, [cfg.localIdKey]: item.id, limit: 3 });
      if (mine !== candidateGeneration) return;
      if (page.items.length === 0) {
        candidates.append(el('p', { className: 'candidates-none' },
          `No ${cfg.remoteNoun} looks like "${item.name}": search for it below.`));
      } else {
        candidates.append(el('h3', null, `Best matches for "${item.name}"`),
          ...page.items.map((s) => renderCandidate(s)));
      }
      candidates.hidden = false;
    } catch (err) {
      if (mine === candidateGeneration) notify('error', err);
    }
  }

  function renderCandidate(s) {
    const remoteItem = cfg.remoteFromSuggestion(s);
    const name = cfg.remoteName(remoteItem);
    return el('div', { className: 'card card-remote card-candidate', dataset: { id: String(remoteItem.id) } },
      el('div', { className: 'card-main' },
        el('div', { className: 'card-title-row' }, remoteTitle(remoteItem), scoreBadge(s.score)),
        el('span', { className: 'card-line muted' }, s.reasons.join(' · '))),
      el('div', { className: 'card-actions' },
        el('button', { type: 'button', className: 'btn btn-small btn-primary',
          'aria-label': `Link "${selected ? selected.name : ''}" to best match "${name}"`,
          onclick: () => selected && link(selected, remoteItem, true) }, icon(ICONS.link), 'Link')));
  }

  // --- The Suggested view ------------------------------------------------------------------------

  function showView(view) {
    tabLink.setAttribute('aria-pressed', String(view === 'link'));
    tabSuggested.setAttribute('aria-pressed', String(view === 'suggested'));
    tabChanges.setAttribute('aria-pressed', String(view === 'changes'));
    grid.hidden = view !== 'link';
    suggested.element.hidden = view !== 'suggested';
    changes.element.hidden = view !== 'changes';
    if (view !== 'link' && selected) toggleSelection(selected);
    if (view === 'suggested') suggested.load();
    else if (view === 'changes') changes.load();
    else reloadAll();
  }

  // --- Changed in QuickBooks: the review list and the review of one pair --------------------------

  function createChangesView() {
    const summary = el('span', { className: 'suggest-summary', role: 'status' });
    const body = el('div', { className: 'panel-body' });
    const element = el('section', { className: 'panel suggest changes', 'aria-labelledby': 'changes-title', hidden: true },
      el('header', { className: 'panel-head suggest-head' },
        el('h2', { id: 'changes-title' }, 'Changed in QuickBooks'), summary),
      body);
    let items = [];
    let loaded = false;
    let generation = 0;
    const list = createVirtualList({
      viewport: body, rowHeight: 64, renderRow: renderChange, keyOf: (it) => String(it.id), onNeedMore: () => {},
      label: 'Changed in QuickBooks',
      emptyText: () => `Nothing to review: no linked ${cfg.remoteNoun} changed since it was linked or last reviewed.`,
    });

    async function load() {
      const mine = ++generation;
      list.setLoading(true);
      try {
        const page = await get('/api/v1/changes', { kind });
        if (mine !== generation) return;
        items = page.items;
        loaded = true;
        const count = page.counts[kind];
        list.reset(items, false, items.length);
        changesCount.textContent = loaded ? count.toLocaleString() : '…';
        tabChanges.classList.toggle('tab-attention', count > 0);
        summary.textContent = count === 0 ? '' : `${count} linked ${count === 1 ? cfg.localNoun : cfg.localPlural}` +
          ' to review' + (count > items.length ? ` (the first ${items.length} shown)` : '');
      } catch (err) {
        if (mine === generation) notify('error', err);
      } finally {
        if (mine === generation) list.setLoading(false);
      }
    }

    function renderChange(item) {
      return el('div', { className: 'suggestion change-row', dataset: { id: String(item.id) } },
        el('div', { className: 'suggestion-names' },
          el('span', { className: 'card-title' }, item.name),
          el('span', { className: 'card-line' }, `⇄ ${item.quickbooks_name}`)),
        el('div', { className: 'suggestion-why' },
          el('span', { className: 'card-line muted' }, item.changes.map((c) => changeLabel(c)).join(' · '))),
        el('button', { type: 'button', className: 'btn btn-small btn-primary', 'data-vlist-focus': true,
          'aria-label': `Review the changes of "${item.name}"`, onclick: () => review(item) }, 'Review'));
    }

    function find(id) {
      return items.find((it) => String(it.id) === String(id));
    }

    return { element, load, find };
  }

  // The review of one pair, from its badge in the Linked panel.
  async function reviewPair(pairItem) {
    let item;
    try {
      await changes.load();
      item = changes.find(pairItem.id);
    } catch (err) {
      notify('error', err);
      return;
    }
    if (!item) {
      notify('ok', `Nothing is waiting for review on "${pairItem.name}".`);
      pairs.reload();
      return;
    }
    await review(item);
  }

  // Field by field: what changed in QuickBooks, and for each field the location (staff member) can
  // take, its value here and in QuickBooks, with a box to apply it. Apply the chosen ones, or dismiss.
  async function review(item) {
    const changed = new Set(item.changes.map((c) => c.field));
    const boxes = [];
    const rows = item.fields.filter((f) => f.differs).map((f) => {
      const box = el('input', { type: 'checkbox', className: 'check', value: f.field,
        checked: changed.has(f.field) || (f.field === 'phone' && (changed.has('mobile') || changed.has('alt_phone'))),
        'aria-label': `Apply ${FIELD_LABELS[f.field].toLowerCase()} from QuickBooks` });
      boxes.push(box);
      return el('tr', null,
        el('td', null, box),
        el('th', { scope: 'row' }, FIELD_LABELS[f.field]),
        el('td', null, showValue(f.field, f.current)),
        el('td', { className: 'diff-new' }, showValue(f.field, f.quickbooks)));
    });
    const whatChanged = el('ul', { className: 'change-list' }, item.changes.map((c) => el('li', null,
      el('strong', null, FIELD_LABELS[c.field] || c.field), ': ', showValue(c.field, c.before), ' → ',
      showValue(c.field, c.after))));
    const table = rows.length
      ? el('table', { className: 'diff' },
        el('thead', null, el('tr', null, el('th', null, ''), el('th', null, 'Field'),
          el('th', null, `This ${cfg.localNoun}`), el('th', null, 'QuickBooks now'))),
        el('tbody', null, rows))
      : el('p', { className: 'muted' }, `The ${cfg.localNoun} already has every field as QuickBooks has it.`);
    const extra = el('div', { className: 'review' },
      el('h3', null, 'What changed in QuickBooks'), whatChanged,
      el('h3', null, `Take into "${item.name}"`), table);
    const choices = [{ label: 'Cancel', value: null }, { label: 'Dismiss', value: 'dismiss' }];
    if (rows.length) choices.push({ label: 'Apply chosen fields', value: 'apply', primary: true });
    const choice = await ask(`"${item.quickbooks_name}" changed in QuickBooks`, null, choices, extra);
    if (!choice) return;
    const fields = boxes.filter((b) => b.checked).map((b) => b.value);
    if (choice === 'apply' && fields.length === 0) {
      notify('error', 'Choose at least one field to apply, or Dismiss.');
      return;
    }
    await oneAtATime(async () => {
      const path = `/api/v1/changes/${encodeURIComponent(item.id)}/${choice}`;
      await post(path, choice === 'apply' ? { fields } : {});
      notify('ok', choice === 'apply'
        ? `Applied ${fields.map((f) => FIELD_LABELS[f].toLowerCase()).join(', ')} to "${item.name}".`
        : `Dismissed the QuickBooks changes of "${item.name}".`);
      changes.load();
      pairs.reload();
    });
  }

  function changeLabel(c) {
    if (c.field === 'deleted') return c.after ? 'deleted in QuickBooks' : 'back in QuickBooks';
    if (c.field === 'active') return c.after ? 'made active' : 'made inactive';
    return `${(FIELD_LABELS[c.field] || c.field).toLowerCase()} changed`;
  }

  function showValue(field, value) {
    if (field === 'address') return formatAddress(value) || '(none)';
    if (field === 'active') return value ? 'active' : 'inactive';
    if (field === 'deleted') return value ? 'deleted' : 'in QuickBooks';
    return value === null || value === undefined || value === '' ? '(none)' : String(value);
  }

  function createSuggestedView() {
    const pairKey = (s) => `${s[cfg.localIdKey]}:${s[cfg.remoteIdKey]}`;
    const threshold = el('select', { className: 'select', 'aria-label': 'Lowest score to list' },
      THRESHOLDS.map((v) => el('option', { value: String(v) }, `${Math.round(v * 100)}% alike or more`)));
    threshold.value = '0.8';
    const summary = el('span', { className: 'suggest-summary', role: 'status' });
    const acceptAll = el('button', { type: 'button', className: 'btn btn-primary', onclick: acceptAbove }, 'Accept all');
    const body = el('div', { className: 'panel-body' });
    const element = el('section', { className: 'panel suggest', 'aria-labelledby': 'suggest-title', hidden: true },
      el('header', { className: 'panel-head suggest-head' },
        el('h2', { id: 'suggest-title' }, 'Suggested pairs'),
        el('div', { className: 'suggest-tools' }, threshold, summary, acceptAll)),
      body);
    let all = [];
    let loaded = false;
    let generation = 0;
    const list = createVirtualList({
      viewport: body, rowHeight: 64, renderRow: renderSuggestion, keyOf: pairKey, onNeedMore: () => {},
      label: 'Suggested pairs',
      emptyText: () => all.length > 0 ? 'No pair scores that high: choose a lower score to see more.'
        : `No likely pairs: no unlinked ${cfg.localNoun} looks like an unlinked ${cfg.remoteNoun}.`,
    });
    threshold.addEventListener('change', show);

    async function load() {
      const mine = ++generation;
      list.setLoading(true);
      try {
        const page = await get('/api/v1/suggestions', { kind, min_score: THRESHOLDS[THRESHOLDS.length - 1] });
        if (mine !== generation) return;
        all = page.items;
        loaded = true;
        show();
      } catch (err) {
        if (mine === generation) notify('error', err);
      } finally {
        if (mine === generation) list.setLoading(false);
      }
    }

    function shown() {
      const min = Number(threshold.value);
      return all.filter((s) => s.score >= min);
    }

    function show() {
      const items = shown();
      list.reset(items, false, items.length);
      summary.textContent = `${items.length} ${items.length === 1 ? 'pair' : 'pairs'} of ${all.length}`;
      acceptAll.textContent = `Accept all ${items.length}`;
      acceptAll.disabled = items.length === 0;
      suggestedCount.textContent = loaded ? all.length.toLocaleString() : '…';
    }

    function renderSuggestion(s) {
      const localName = s[cfg.localNameKey];
      const remoteName = s[cfg.remoteNameKey];
      return el('div', { className: 'suggestion', dataset: { local: s[cfg.localIdKey], remote: s[cfg.remoteIdKey] } },
        el('div', { className: 'suggestion-names' },
          el('span', { className: 'card-title' }, localName),
          el('span', { className: 'card-line' }, `⇄ ${remoteName}`)),
        el('div', { className: 'suggestion-why' }, scoreBadge(s.score),
          el('span', { className: 'card-line muted' }, s.reasons.join(' · '))),
        el('button', { type: 'button', className: 'btn btn-small btn-primary', 'data-vlist-focus': true,
          'aria-label': `Accept: link "${localName}" to "${remoteName}"`, onclick: () => accept([s]) }, 'Accept'));
    }

    async function acceptAbove() {
      const items = shown();
      if (items.length === 0) return;
      const ok = await ask(`Link ${items.length} ${items.length === 1 ? 'pair' : 'pairs'}?`,
        `This links ${items.length} ${cfg.localPlural} to the ${cfg.remotePlural} suggested for them, ` +
        'all in one step. The message that follows offers Undo.',
        [{ label: 'Cancel', value: false }, { label: `Link ${items.length}`, value: true, primary: true }]);
      if (ok) await accept(items);
    }

    function accept(items) {
      return oneAtATime(async () => {
        const pairsToLink = items.map((s) => ({ [cfg.localIdKey]: s[cfg.localIdKey], [cfg.remoteIdKey]: s[cfg.remoteIdKey] }));
        const done = await post('/api/v1/suggestions/accept', { kind, pairs: pairsToLink });
        forget(items.map((s) => s[cfg.localIdKey]), items.map((s) => s[cfg.remoteIdKey]));
        local.reload();
        remote.reload();
        pairs.reload();
        const text = items.length === 1
          ? `Linked "${items[0][cfg.localNameKey]}" to "${items[0][cfg.remoteNameKey]}".`
          : `Linked ${done.linked} pairs.`;
        notify('ok', text, undoAction(done.events));
      });
    }

    // Pairs with a record that was just linked are gone.
    function forget(localIds, remoteIds) {
      const gone = new Set([...localIds, ...remoteIds].map(String));
      all = all.filter((s) => !gone.has(String(s[cfg.localIdKey])) && !gone.has(String(s[cfg.remoteIdKey])));
      show();
    }

    return { element, load, forget };
  }

  // --- History -----------------------------------------------------------------------------------

  async function showHistory(item) {
    let events;
    try {
      events = (await get('/api/v1/audit', { subject: item.id, limit: 50 })).items;
    } catch (err) {
      notify('error', err);
      return;
    }
    const rows = events.map((e) => el('li', { className: 'history-item' },
      el('span', { className: 'history-what' }, describe(e)),
      el('span', { className: 'muted' }, e.who.name, ' · ', timeAgo(e.at))));
    await ask(`History of "${item.name}"`, null, [{ label: 'Close', value: null, primary: true }],
      rows.length ? el('ol', { className: 'history' }, rows) : el('p', { className: 'muted' }, 'No changes recorded.'));
  }

  function describe(e) {
    const qb = e.quickbooks && e.quickbooks.name ? `"${e.quickbooks.name}"` : `a ${cfg.remoteNoun}`;
    switch (e.action) {
      case 'link': return `Linked to ${qb}`;
      case 'accept': return `Linked to ${qb} (suggestion accepted)`;
      case 'unlink': return `Disconnected from ${qb}`;
      case 'create': return `Created from ${qb}`;
      case 'apply': {
        const taken = Object.keys((e.after && e.after.fields) || {});
        const fields = Object.keys(FIELD_LABELS).filter((f) => taken.includes(f)).map((f) => FIELD_LABELS[f].toLowerCase());
        return `Took ${fields.join(', ') || 'changes'} from ${qb}`;
      }
      case 'dismiss': return `Left the changes of ${qb} as they were`;
      case 'undo':
        if (e.after && e.after.deleted) return `Creation from ${qb} undone (removed)`;
        return e.after && e.after.link ? `Undo: linked to ${qb} again` : `Undo: disconnected from ${qb}`;
      default: return e.action;
    }
  }

  // The full QuickBooks record of a link, for its card back in the right panel.
  async function findRemote(linkInfo) {
    const id = String(cfg.remoteIdOfLink(linkInfo));
    if (remoteCache.has(id)) return remoteCache.get(id);
    try {
      const page = await get(cfg.remotePath, { q: cfg.remoteNameOfLink(linkInfo), linked: 'false', limit: 50 });
      const found = page.items.find((it) => String(it.id) === id);
      if (found) return found;
    } catch (err) {
      console.error(err);
    }
    return cfg.remoteFromLink(linkInfo);
  }

  // A conflict means this view is stale: show the server's message and load fresh data.
  function failed(err) {
    notify('error', err);
    if (err.status === 409 || err.status === 404) reloadAll();
  }

  function updateCounts() {
    local.updateCount();
    remote.updateCount();
    pairs.updateCount();
  }

  // --- Drag and drop ---------------------------------------------------------------------------

  function setupDragAndDrop() {
    local.viewport.addEventListener('dragstart', (event) => {
      const card = event.target.closest && event.target.closest('.card-local');
      if (!card) return;
      dragged = local.list.find(keyFromDataset(card));
      if (!dragged) return;
      event.dataTransfer.effectAllowed = 'link';
      event.dataTransfer.setData('text/plain', dragged.name);
      card.classList.add('is-dragging');
      screen.classList.add('is-dragging');
    });
    local.viewport.addEventListener('dragend', (event) => {
      dragged = null;
      screen.classList.remove('is-dragging');
      if (event.target.classList) event.target.classList.remove('is-dragging');
      for (const card of remote.viewport.querySelectorAll('.drop-over')) card.classList.remove('drop-over');
    });
    remote.viewport.addEventListener('dragover', (event) => {
      const card = dragged && event.target.closest && event.target.closest('.card-remote');
      if (!card) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'link';
      if (!card.classList.contains('drop-over')) {
        for (const other of remote.viewport.querySelectorAll('.drop-over')) other.classList.remove('drop-over');
        card.classList.add('drop-over');
      }
    });
    remote.viewport.addEventListener('dragleave', (event) => {
      const card = event.target.closest && event.target.closest('.card-remote');
      if (card && !card.contains(event.relatedTarget)) card.classList.remove('drop-over');
    });
    remote.viewport.addEventListener('drop', (event) => {
      const card = event.target.closest && event.target.closest('.card-remote');
      if (!card || !dragged) return;
      event.preventDefault();
      card.classList.remove('drop-over');
      const target = remote.list.find(keyFromDataset(card));
      const source = dragged;
      dragged = null;
      screen.classList.remove('is-dragging');
      if (target) link(source, target, false);
    });
  }

  // Ids come back from the dataset as strings; the lists are keyed by the ids as the server sent them.
  function keyFromDataset(card) {
    return card.dataset.id;
  }

  return {
    destroy() {
      pull.destroy();
      candidateGeneration += 1;
      for (const panel of [local, remote, pairs]) panel.destroy();
    },
  };
}

/** The words for the fields a change review shows. */
const FIELD_LABELS = {
  name: 'Name', address: 'Address', phone: 'Phone', mobile: 'Mobile', alt_phone: 'Other phone', email: 'Email',
  active: 'Active', deleted: 'Deleted',
};

/** A score as a badge: "92%". */
function scoreBadge(score) {
  return el('span', { className: 'badge badge-info', title: 'How alike the two look' }, `${Math.round(score * 100)}%`);
}

/**
 * A modal question: `choices` are { label, value, primary }; resolves with the chosen value, or
 * null when closed with Escape. `text` (or an extra element) says what is asked.
 */
function ask(title, text, choices, extra) {
  return new Promise((resolve) => {
    const titleId = `ask-${Date.now()}`;
    const dialog = el('dialog', { className: 'dialog', 'aria-labelledby': titleId });
    let result = null;
    const buttons = choices.map((choice) => el('button', {
      type: 'button', className: choice.primary ? 'btn btn-primary' : 'btn',
      onclick: () => {
        result = choice.value;
        dialog.close();
      },
    }, choice.label));
    const parts = [el('h2', { id: titleId }, title), text && el('p', { className: 'dialog-text' }, text), extra,
      el('div', { className: 'dialog-actions' }, buttons)];
    dialog.append(...parts.filter(Boolean));
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
    const primary = buttons.find((_, i) => choices[i].primary);
    if (primary) primary.focus();
  });
}

/** One panel: a heading with its count, a search box, and a virtual list loaded page by page. */
function createPanel({ className, title, noun, load, rowHeight, renderRow, emptyText, filters, onLoaded }) {
  const headingId = `panel-${className}`;
  const count = el('span', { className: 'count' }, '…');
  const search = el('input', {
    type: 'search', className: 'search-input', placeholder: 'Search', 'aria-label': `Search ${title.toLowerCase()}`,
    autocomplete: 'off', spellcheck: 'false',
  });
  const viewport = el('div', { className: 'panel-body' });
  const element = el('section', { className: `panel ${className}`, 'aria-labelledby': headingId },
    el('header', { className: 'panel-head' },
      el('h2', { id: headingId }, title, count),
      el('label', { className: 'search' }, icon(ICONS.search), search)),
    filters,
    viewport);

  let query = '';
  let next = null;
  let generation = 0;
  let controller = null;
  let timer = 0;
  let loadingMore = false;

  const list = createVirtualList({
    viewport, rowHeight, renderRow, label: title,
    keyOf: (item) => String(item.id),
    onNeedMore: loadMore,
    emptyText: () => emptyText(query),
  });

  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      query = search.value.trim();
      reload();
    }, SEARCH_DELAY_MS);
  });

  async function reload() {
    generation += 1;
    const mine = generation;
    if (controller) controller.abort();
    controller = new AbortController();
    for (const old of viewport.querySelectorAll('.panel-error')) old.remove();
    list.setLoading(true);
    element.setAttribute('aria-busy', 'true');
    try {
      const page = await load(query, undefined, controller.signal);
      if (mine !== generation) return;
      next = page.next ?? null;
      list.reset(page.items, next !== null, page.total ?? page.items.length);
      updateCount();
      if (onLoaded) onLoaded(list.total, query);
    } catch (err) {
      if (err.name !== 'AbortError' && mine === generation) showLoadError(err);
    } finally {
      if (mine === generation) {
        list.setLoading(false);
        element.removeAttribute('aria-busy');
      }
    }
  }

  async function loadMore() {
    if (loadingMore || next === null) return;
    loadingMore = true;
    const mine = generation;
    try {
      const page = await load(query, next, controller ? controller.signal : undefined);
      if (mine !== generation) return;
      next = page.next ?? null;
      list.append(page.items, next !== null, page.total);
      updateCount();
    } catch (err) {
      if (err.name !== 'AbortError' && mine === generation) showLoadError(err);
    } finally {
      loadingMore = false;
    }
  }

  function showLoadError(err) {
    list.reset([], false, 0);
    viewport.append(el('p', { className: 'panel-error', role: 'alert' }, `Could not load ${noun}: ${err.message}`));
  }

  function updateCount() {
    count.textContent = list.total.toLocaleString();
  }

  return {
    element, viewport, list, reload, updateCount,
    destroy() {
      clearTimeout(timer);
      generation += 1;
      if (controller) controller.abort();
      list.destroy();
    },
  };
}
