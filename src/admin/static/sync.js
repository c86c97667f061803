// The Sync Locations and Sync Staff screens: the organization's unlinked records (left), the unlinked
// QuickBooks records (right) and the linked pairs (bottom).
//
// Linking: drag a left card onto a right card, or (keyboard) press a left card to select it, then
// the "Link" button that every right card shows. The green "+" on a right card creates a new record
// from it, already linked. The red "x" between the two cards of a pair disconnects them, and both
// cards go back to their panels.

import { get, put, post, del, el, icon, ICONS, formatAddress, hasAddress } from './api.js';
import { createVirtualList } from './vlist.js';
import { createPullButton } from './pull.js';

const PAGE_SIZE = 150;
const SEARCH_DELAY_MS = 250;

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
    linkBody: (remote) => ({ customer_id: remote.id }),
    createPath: (remote) => `/api/v1/qb/customers/${encodeURIComponent(remote.id)}/location`,
    remoteName: (remote) => remote.full_name || remote.name,
    remoteIdOfLink: (link) => link.customer_id,
    remoteNameOfLink: (link) => link.full_name,
    remoteFromLink: (link) => ({ id: link.customer_id, connection_id: link.connection_id, list_id: link.list_id,
      name: link.full_name, full_name: link.full_name, status: 'active', is_active: true, link: null }),
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
    linkBody: (remote) => ({ employee_id: remote.id }),
    createPath: (remote) => `/api/v1/qb/employees/${encodeURIComponent(remote.id)}/staff`,
    remoteName: (remote) => remote.name,
    remoteIdOfLink: (link) => link.employee_id,
    remoteNameOfLink: (link) => link.name,
    remoteFromLink: (link) => ({ id: link.employee_id, connection_id: link.connection_id, list_id: link.list_id,
      name: link.name, status: 'active', is_active: true, link: null }),
    localLine: (person) => [person.email, person.phone].filter(Boolean).join(' · ') || 'No email or phone',
    remoteLines: (emp) => [emp.job_title, [emp.email, emp.phone || emp.mobile].filter(Boolean).join(' · ')],
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
  const local = createPanel({
    className: 'panel-local', title: `Unlinked ${cfg.localPlural}`, noun: cfg.localPlural,
    load: (q, cursor, signal) => get(cfg.localPath, { q, linked: 'false', limit: PAGE_SIZE, cursor }, signal),
    rowHeight: 64, renderRow: renderLocal,
    emptyText: (q) => q ? `No unlinked ${cfg.localPlural} match "${q}".` : `Every ${cfg.localNoun} is linked.`,
  });
  const remote = createPanel({
    className: 'panel-remote', title: `Unlinked ${cfg.remotePlural}`, noun: cfg.remotePlural,
    load: (q, cursor, signal) => get(cfg.remotePath, { q, linked: 'false', limit: PAGE_SIZE, cursor }, signal),
    rowHeight: 84, renderRow: renderRemote,
    emptyText: (q) => q ? `No unlinked ${cfg.remotePlural} match "${q}".` : `No unlinked ${cfg.remotePlural}.`,
  });
  const pairs = createPanel({
    className: 'panel-pairs', title: 'Linked', noun: 'linked pairs',
    load: (q, cursor, signal) => get(cfg.localPath, { q, linked: 'true', limit: PAGE_SIZE, cursor }, signal),
    rowHeight: 76, renderRow: renderPair,
    emptyText: (q) => q ? `No linked ${cfg.localPlural} match "${q}".` : 'Nothing is linked yet.',
  });

  const pull = createPullButton({ ...cfg.pull, notify, onDone: () => { remote.reload(); pairs.reload(); } });
  const screen = el('section', { className: 'sync', 'aria-labelledby': 'sync-title' },
    el('div', { className: 'sync-head' },
      el('div', null,
        el('h1', { id: 'sync-title' }, cfg.title),
        el('p', { className: 'lead' }, cfg.intro)),
      pull.element),
    hint,
    el('div', { className: 'sync-grid' }, local.element, remote.element, pairs.element));
  root.replaceChildren(screen);

  setupDragAndDrop();
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
        el('div', { className: 'card-title-row' }, remoteTitle(item), statusBadges(item)),
        lines.map((line, i) => el('span', { className: i === 0 ? 'card-line' : 'card-line muted' }, line))),
      actions);
  }

  function renderPair(item) {
    const remoteItem = remoteCache.get(String(cfg.remoteIdOfLink(item.link))) || cfg.remoteFromLink(item.link);
    const remoteName = cfg.remoteNameOfLink(item.link);
    const remoteLines = cfg.remoteLines(remoteItem).filter(Boolean);
    return el('div', { className: 'pair', dataset: { id: String(item.id) } },
      el('div', { className: 'card card-pair' },
        el('span', { className: 'card-title' }, item.name),
        el('span', { className: 'card-line' }, cfg.localLine(item))),
      el('div', { className: 'pair-join' },
        icon(ICONS.swap, 'icon pair-icon'),
        el('button', {
          type: 'button', className: 'btn-unlink', 'data-vlist-focus': true,
          'aria-label': `Disconnect "${item.name}" from "${remoteName}"`,
          title: 'Disconnect', onclick: () => unlink(item),
        }, icon(ICONS.close))),
      el('div', { className: 'card card-pair' },
        remoteTitle(remoteItem),
        el('span', { className: 'card-line' }, remoteLines[0] || cfg.remoteNoun)));
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
    return oneAtATime(async () => {
      const index = local.list.indexOf(localItem.id);
      const updated = await put(`${cfg.localPath}/${encodeURIComponent(localItem.id)}/link`, cfg.linkBody(remoteItem));
      remoteCache.set(String(remoteItem.id), { ...remoteItem, link: null });
      if (selected) toggleSelection(selected);
      local.list.remove(localItem.id);
      remote.list.remove(remoteItem.id);
      pairs.list.prepend(updated);
      updateCounts();
      notify('ok', `Linked "${localItem.name}" to "${cfg.remoteName(remoteItem)}".`);
      if (fromKeyboard && local.list.length > 0) {
        local.list.focusIndex(Math.min(Math.max(index, 0), local.list.length - 1));
      }
    });
  }

  function createFrom(remoteItem) {
    return oneAtATime(async () => {
      const created = await post(cfg.createPath(remoteItem));
      remoteCache.set(String(remoteItem.id), { ...remoteItem, link: null });
      remote.list.remove(remoteItem.id);
      pairs.list.prepend(created);
      updateCounts();
      notify('ok', `Created ${cfg.localNoun} "${created.name}", linked to "${cfg.remoteName(remoteItem)}".`);
    });
  }

  function unlink(pairItem) {
    return oneAtATime(async () => {
      const remoteName = cfg.remoteNameOfLink(pairItem.link);
      const updated = await del(`${cfg.localPath}/${encodeURIComponent(pairItem.id)}/link`);
      const remoteItem = await findRemote(pairItem.link);
      pairs.list.remove(pairItem.id);
      local.list.prepend(updated || { ...pairItem, link: null });
      remote.list.prepend(remoteItem);
      updateCounts();
      notify('ok', `Disconnected "${pairItem.name}" from "${remoteName}".`);
    });
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
    if (err.status === 409 || err.status === 404) {
      if (selected) toggleSelection(selected);
      local.reload();
      remote.reload();
      pairs.reload();
    }
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
      for (const panel of [local, remote, pairs]) panel.destroy();
    },
  };
}

/** One panel: a heading with its count, a search box, and a virtual list loaded page by page. */
function createPanel({ className, title, noun, load, rowHeight, renderRow, emptyText }) {
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
