// "Get Locations" / "Get Staff": pulls the lists of the organization's QuickBooks Online connections
// now, shows the runs' progress live, and says when the panels are up to date. Desktop connections have
// no such button: their lists arrive when the Web Connector runs.

import { get, post, el, icon, ICONS } from './api.js';

const POLL_MS = 1000;

/**
 * `lists`: the lists to pull (['customers'] or ['employees']); `label`: the button's text; `noun`: what
 * arrives (e.g. 'customers'); `onDone()` runs when every pull has ended; `notify(kind, message)` reports.
 * Returns `{ element, destroy }`; the element stays hidden while the organization has no online connection.
 */
export function createPullButton({ lists, label, noun, notify, onDone }) {
  const status = el('span', { className: 'pull-status', role: 'status', 'aria-live': 'polite' });
  const btn = el('button', { type: 'button', className: 'btn btn-primary', onclick: start },
    icon(ICONS.download), label);
  const element = el('div', { className: 'pull', hidden: true }, status, btn);
  let stopped = false;
  let timer = 0;
  let watching = []; // { conn, runId }

  refresh();

  async function refresh() {
    let page;
    try {
      page = await get('/api/v1/connections');
    } catch {
      return;
    }
    if (stopped) return;
    const online = page.items.filter((c) => c.kind === 'online');
    element.hidden = online.length === 0;
    const connected = online.filter((c) => c.status === 'connected');
    btn.disabled = connected.length === 0;
    if (online.length && !connected.length) {
      status.textContent = online.some((c) => c.status === 'needs_reconnect')
        ? 'QuickBooks Online needs to be reconnected (Connections).'
        : 'Connect QuickBooks Online on the Connections screen first.';
    }
    // A pull already running (another tab, a webhook): follow it.
    const live = connected.filter((c) => c.last_run && c.last_run.state === 'live');
    if (live.length && !watching.length) {
      watching = live.map((conn) => ({ conn, runId: conn.last_run.id }));
      btn.disabled = true;
      poll();
    }
  }

  async function start() {
    btn.disabled = true;
    status.textContent = `${label}…`;
    let page;
    try {
      page = await get('/api/v1/connections');
    } catch (err) {
      notify('error', err);
      btn.disabled = false;
      return;
    }
    const connected = page.items.filter((c) => c.kind === 'online' && c.status === 'connected');
    watching = [];
    for (const conn of connected) {
      try {
        const run = await post(`/api/v1/connections/${encodeURIComponent(conn.id)}/pull`, { lists });
        watching.push({ conn, runId: run.id });
      } catch (err) {
        if (err.status === 409 && conn.last_run && conn.last_run.state === 'live') {
          watching.push({ conn, runId: conn.last_run.id });
        } else {
          notify('error', `${conn.name}: ${err.message}`);
        }
      }
    }
    if (!watching.length) {
      status.textContent = '';
      btn.disabled = false;
      return;
    }
    poll();
  }

  async function poll() {
    clearTimeout(timer);
    if (stopped) return;
    const runs = await Promise.all(watching.map(async ({ conn, runId }) => {
      try {
        const page = await get(`/api/v1/connections/${encodeURIComponent(conn.id)}/runs`, { limit: 5 });
        return { conn, run: page.items.find((r) => r.id === runId) };
      } catch {
        return { conn, run: null };
      }
    }));
    if (stopped) return;
    const live = runs.filter(({ run }) => run && run.state === 'live');
    if (live.length) {
      const percent = Math.round(runs.reduce((sum, { run }) => sum + (run ? (run.state === 'live' ? run.percent : 100) : 0),
        0) / runs.length);
      status.textContent = `${label}… ${percent}%`;
      timer = setTimeout(poll, POLL_MS);
      return;
    }
    watching = [];
    btn.disabled = false;
    const failed = runs.filter(({ run }) => run && run.outcome === 'failed');
    if (failed.length) {
      const { conn, run } = failed[0];
      status.textContent = 'The last pull failed.';
      notify('error', `${conn.name}: ${run.last_error || 'the pull failed'}`);
    } else {
      const staged = runs.reduce((sum, { run }) => sum + (run ? (run.counts[noun] || 0) : 0), 0);
      status.textContent = `Up to date (${staged.toLocaleString()} ${noun} read or changed).`;
      notify('ok', `QuickBooks Online ${noun} are up to date.`);
    }
    onDone();
  }

  return {
    element,
    destroy() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
