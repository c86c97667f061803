// A small virtual list: rows of one fixed height inside a scrolling viewport, of which only the
// rows in view (plus a few either side) exist in the DOM. Rows are kept by key while they stay in
// view, so a row being dragged or holding focus is not rebuilt under the pointer.
//
// The list knows nothing of paging: when the last loaded rows come into view it calls `onNeedMore`,
// and the caller appends the next page with `append`.

const OVERSCAN = 4;

/**
 * viewport: the scrolling element (the list fills it).
 * rowHeight: the height of a row in pixels; gap: the space between rows.
 * renderRow(item, index): returns the element of one row.
 * keyOf(item): a stable key per item.
 * onNeedMore(): called when the end of the loaded rows is near and `hasMore` is set.
 * emptyText(): the text shown when there are no rows.
 * label: the accessible name of the list.
 */
export function createVirtualList({ viewport, rowHeight, gap = 8, renderRow, keyOf, onNeedMore, emptyText, label }) {
  const stride = rowHeight + gap;
  const inner = document.createElement('div');
  inner.className = 'vlist';
  inner.setAttribute('role', 'list');
  inner.setAttribute('aria-label', label);
  const empty = document.createElement('p');
  empty.className = 'vlist-empty';
  empty.hidden = true;
  const loader = document.createElement('div');
  loader.className = 'vlist-loader';
  loader.textContent = 'Loading…';
  loader.hidden = true;
  viewport.replaceChildren(inner, empty);
  inner.append(loader);

  let items = [];
  let hasMore = false;
  let total = 0;
  let loading = false;
  const rendered = new Map(); // key -> { node, item, index }
  let frame = 0;

  viewport.addEventListener('scroll', schedule, { passive: true });
  inner.addEventListener('keydown', moveFocus);
  const resize = new ResizeObserver(schedule);
  resize.observe(viewport);

  function schedule() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      render();
    });
  }

  function render() {
    const count = items.length;
    inner.style.height = `${Math.max(0, count * stride - gap + (hasMore ? stride : 0))}px`;
    loader.hidden = !(hasMore || loading) || count === 0 && !loading;
    loader.style.transform = `translateY(${count * stride}px)`;
    empty.hidden = count > 0 || hasMore || loading;
    if (!empty.hidden) empty.textContent = emptyText();

    const top = viewport.scrollTop;
    const height = viewport.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / stride) - OVERSCAN);
    const last = Math.min(count - 1, Math.ceil((top + height) / stride) + OVERSCAN);
    const wanted = new Set();
    for (let index = first; index <= last; index++) {
      const item = items[index];
      const key = keyOf(item);
      wanted.add(key);
      let row = rendered.get(key);
      if (!row || row.item !== item) {
        if (row) row.node.remove();
        row = { node: wrap(renderRow(item, index)), item, index: -1 };
        rendered.set(key, row);
        inner.append(row.node);
      }
      if (row.index !== index) {
        row.index = index;
        row.node.style.transform = `translateY(${index * stride}px)`;
        row.node.setAttribute('aria-posinset', String(index + 1));
      }
      row.node.setAttribute('aria-setsize', String(Math.max(total, count)));
    }
    for (const [key, row] of rendered) {
      if (wanted.has(key)) continue;
      // Keep a row that holds the focus, so the keyboard user does not lose their place.
      if (row.node.contains(document.activeElement) && items.includes(row.item)) continue;
      row.node.remove();
      rendered.delete(key);
    }
    if (hasMore && !loading && last >= count - OVERSCAN * 2) onNeedMore();
  }

  function wrap(content) {
    const row = document.createElement('div');
    row.className = 'vlist-row';
    row.setAttribute('role', 'listitem');
    row.style.height = `${rowHeight}px`;
    row.append(content);
    return row;
  }

  // Up and down arrows move between rows, scrolling rows into existence as needed.
  function moveFocus(event) {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
    const rowNode = event.target.closest('.vlist-row');
    if (!rowNode || !event.target.matches('[data-vlist-focus]')) return;
    const entry = [...rendered.values()].find((r) => r.node === rowNode);
    if (!entry) return;
    const next = entry.index + (event.key === 'ArrowDown' ? 1 : -1);
    if (next < 0 || next >= items.length) return;
    event.preventDefault();
    focusIndex(next);
  }

  function focusIndex(index) {
    const rowTop = index * stride;
    if (rowTop < viewport.scrollTop) viewport.scrollTop = rowTop;
    else if (rowTop + rowHeight > viewport.scrollTop + viewport.clientHeight) {
      viewport.scrollTop = rowTop + rowHeight - viewport.clientHeight;
    }
    render();
    const row = rendered.get(keyOf(items[index]));
    const target = row && row.node.querySelector('[data-vlist-focus]');
    if (target) target.focus();
  }

  return {
    /** Replaces all rows (a new search) and scrolls back to the top. */
    reset(newItems, more, newTotal) {
      items = newItems.slice();
      hasMore = more;
      total = newTotal ?? items.length;
      for (const row of rendered.values()) row.node.remove();
      rendered.clear();
      viewport.scrollTop = 0;
      render();
    },
    /** Appends the next page. */
    append(moreItems, more, newTotal) {
      const known = new Set(items.map(keyOf));
      items.push(...moreItems.filter((it) => !known.has(keyOf(it))));
      hasMore = more;
      if (newTotal !== undefined) total = newTotal;
      render();
    },
    /** Puts an item first (a card coming back to its panel). */
    prepend(item) {
      const key = keyOf(item);
      items = [item, ...items.filter((it) => keyOf(it) !== key)];
      total += 1;
      render();
    },
    /** Puts `item` in the place of the item with its key (the row stays where it is). */
    replace(item) {
      const key = keyOf(item);
      const index = items.findIndex((it) => keyOf(it) === key);
      if (index < 0) return;
      items[index] = item;
      render();
    },
    /** Removes the item with this key, if loaded. */
    remove(key) {
      key = String(key);
      const before = items.length;
      items = items.filter((it) => keyOf(it) !== key);
      if (items.length < before) total = Math.max(0, total - 1);
      const row = rendered.get(key);
      if (row) {
        row.node.remove();
        rendered.delete(key);
      }
      render();
    },
    /** Rebuilds the rows in view (when something they show has changed). */
    refresh() {
      for (const row of rendered.values()) row.node.remove();
      rendered.clear();
      render();
    },
    setLoading(value) {
      loading = value;
      render();
    },
    find(key) {
      return items.find((it) => keyOf(it) === String(key));
    },
    indexOf(key) {
      return items.findIndex((it) => keyOf(it) === String(key));
    },
    focusIndex,
    get total() {
      return total;
    },
    get length() {
      return items.length;
    },
    destroy() {
      resize.disconnect();
      if (frame) cancelAnimationFrame(frame);
    },
  };
}
