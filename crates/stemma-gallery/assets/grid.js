// The virtualised grid: a tall spacer with only the visible rows of tiles in the DOM. Tiles are loaded page by
// page (keyset: after the last id) as the scroll position needs them.
import { api, el, setStatus } from './app.js';

const TILE = 180;
const GAP = 8;
const PAGE = 1000;

export async function showGrid(main, opts) {
  const grid = el('div', { id: 'grid', 'data-testid': 'grid' });
  const spacer = el('div', { class: 'spacer' });
  grid.append(spacer);
  if (opts.stackOf) main.append(el('p', { 'data-testid': 'stack-title', text: 'Stack of image ' + opts.stackOf + ' (same prompt and settings, other seeds)' }));
  main.append(grid);
  const tiles = [];
  let total = 0;
  let next = 0;
  let loading = null;
  let done = false;

  async function loadMore() {
    if (done) return;
    if (loading) return loading;
    loading = (async () => {
      if (opts.stackOf) {
        const r = await api('/api/images/' + opts.stackOf + '/stack');
        tiles.push(...r.tiles);
        total = tiles.length;
        done = true;
      } else {
        const params = new URLSearchParams({ after: String(next), limit: String(PAGE), stacks: opts.stacks ? 'true' : 'false' });
        if (opts.q) params.set('q', opts.q);
        const r = await api('/api/images?' + params);
        tiles.push(...r.tiles);
        if (r.total !== null && r.total !== undefined) total = r.total;
        if (r.next === null || r.next === undefined) done = true; else next = r.next;
      }
    })();
    try { await loading; } finally { loading = null; }
  }

  let cols = 1;
  const rendered = new Map();
  function layout() {
    cols = Math.max(1, Math.floor((grid.clientWidth + GAP) / (TILE + GAP)));
    spacer.style.height = Math.ceil(total / cols) * (TILE + GAP) + 'px';
  }
  function tileEl(t, i) {
    const href = t.count > 1 ? '#/stack/' + t.id : '#/image/' + t.id;
    const a = el('a', { class: 'tile' + (t.count > 1 ? ' stack' : ''), href, 'data-testid': t.count > 1 ? 'stack-tile' : 'tile', 'data-id': t.id });
    a.style.left = (i % cols) * (TILE + GAP) + 'px';
    a.style.top = Math.floor(i / cols) * (TILE + GAP) + 'px';
    a.style.width = TILE + 'px';
    a.style.height = TILE + 'px';
    a.append(el('img', { src: '/api/thumbs/' + t.id, alt: '', loading: 'lazy', decoding: 'async' }));
    if (t.count > 1) a.append(el('span', { class: 'count', 'data-testid': 'count', text: t.count }));
    return a;
  }
  async function render() {
    if (!grid.isConnected) return;
    layout();
    const first = Math.floor(grid.scrollTop / (TILE + GAP)) * cols;
    const last = Math.min(total, (Math.ceil((grid.scrollTop + grid.clientHeight) / (TILE + GAP)) + 1) * cols);
    while (tiles.length < last && !done) {
      await loadMore();
      layout();
    }
    const keep = new Set();
    for (let i = Math.max(0, first - cols); i < Math.min(last, tiles.length); i++) {
      keep.add(i);
      if (!rendered.has(i)) {
        const e = tileEl(tiles[i], i);
        rendered.set(i, e);
        spacer.append(e);
      }
    }
    for (const [i, e] of rendered) if (!keep.has(i)) { e.remove(); rendered.delete(i); }
    setStatus(total + (opts.stacks ? ' tiles' : ' images'));
    if (total === 0) spacer.replaceChildren(el('p', { 'data-testid': 'empty', class: 'muted', text: 'No images match.' }));
  }
  let pending = false;
  grid.addEventListener('scroll', () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; render(); });
  });
  window.addEventListener('resize', () => { for (const e of rendered.values()) e.remove(); rendered.clear(); render(); });
  await loadMore();
  await render();
  grid.dataset.ready = 'true';
}
