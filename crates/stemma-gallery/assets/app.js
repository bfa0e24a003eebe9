// The gallery page: a hash router over the views, the search box with field-name completion, and the live-update
// poll. Everything that comes from the library (prompts, paths, tags) is inserted with textContent only.
import { showGrid } from './grid.js';
import { showImage, showSequences, showSequence, showPrompts } from './views.js';

export const state = { info: null, version: 0 };

export async function api(path, options) {
  const r = await fetch(path, Object.assign({ headers: { 'Accept': 'application/json' } }, options || {}));
  const body = await r.json().catch(() => ({ error: r.statusText }));
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

export async function post(path, data) {
  return api(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(data) });
}

// Build an element: el('div', {class: 'x', text: 'safe text'}, child...). Attributes never take HTML.
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = String(v);
    else if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

export function setStatus(text) { document.getElementById('status').textContent = text; }

export function currentQuery() {
  const h = location.hash.replace(/^#/, '');
  const i = h.indexOf('?');
  return new URLSearchParams(i >= 0 ? h.slice(i + 1) : '').get('q') || '';
}

async function route() {
  const main = document.getElementById('main');
  main.replaceChildren();
  const hash = location.hash.replace(/^#/, '') || '/';
  const path = hash.split('?')[0];
  const parts = path.split('/').filter(Boolean);
  const q = currentQuery();
  document.getElementById('q').value = q;
  try {
    if (parts[0] === 'image' && /^\d+$/.test(parts[1] || '')) await showImage(main, Number(parts[1]));
    else if (parts[0] === 'stack' && /^\d+$/.test(parts[1] || '')) await showGrid(main, { stackOf: Number(parts[1]) });
    else if (parts[0] === 'sequences') await showSequences(main);
    else if (parts[0] === 'sequence' && /^\d+$/.test(parts[1] || '')) await showSequence(main, Number(parts[1]));
    else if (parts[0] === 'prompts') await showPrompts(main);
    else await showGrid(main, { q, stacks: document.getElementById('stacks').checked });
  } catch (e) {
    main.replaceChildren(el('p', { class: 'error', 'data-testid': 'error', text: e.message }));
  }
}

// Completion of field names: the word under the caret, when it has no ':' yet, is matched against the fields.
function setupSearch() {
  const form = document.getElementById('search');
  const input = document.getElementById('q');
  const list = document.getElementById('suggest');
  let active = -1;
  const word = () => {
    const upto = input.value.slice(0, input.selectionStart);
    const m = upto.match(/(^|[\s(])-?([A-Za-z_]*)$/);
    return m ? { text: m[2], start: upto.length - m[2].length } : null;
  };
  const fill = (name) => {
    const w = word();
    if (!w) return;
    const before = input.value.slice(0, w.start);
    const after = input.value.slice(input.selectionStart);
    input.value = before + name + ':' + after;
    const pos = (before + name + ':').length;
    input.setSelectionRange(pos, pos);
    list.hidden = true;
    input.focus();
  };
  const update = () => {
    const w = word();
    const fields = (state.info && state.info.fields) || [];
    const hits = w && w.text.length > 0 ? fields.filter((f) => f.startsWith(w.text.toLowerCase()) && f !== w.text) : [];
    list.replaceChildren(...hits.map((f, i) => el('li', { role: 'option', text: f + ':', class: i === active ? 'active' : '',
      onmousedown: (ev) => { ev.preventDefault(); fill(f); } })));
    list.hidden = hits.length === 0;
    return hits;
  };
  input.addEventListener('input', () => { active = -1; update(); });
  input.addEventListener('keydown', (ev) => {
    const hits = list.hidden ? [] : update();
    if (!hits.length) return;
    if (ev.key === 'ArrowDown') { active = (active + 1) % hits.length; update(); ev.preventDefault(); }
    else if (ev.key === 'ArrowUp') { active = (active - 1 + hits.length) % hits.length; update(); ev.preventDefault(); }
    else if (ev.key === 'Tab' || (ev.key === 'Enter' && active >= 0)) { fill(hits[Math.max(active, 0)]); ev.preventDefault(); }
    else if (ev.key === 'Escape') list.hidden = true;
  });
  input.addEventListener('blur', () => { list.hidden = true; });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    list.hidden = true;
    const q = input.value.trim();
    location.hash = q ? '#/?q=' + encodeURIComponent(q) : '#/';
  });
  document.getElementById('stacks').addEventListener('change', route);
}

// Live updates: a cheap version number; the grid reloads when the catalog changed (a file arrived, a tag).
async function poll() {
  try {
    const { version } = await api('/api/version');
    if (state.version && version !== state.version) {
      state.version = version;
      const path = (location.hash.replace(/^#/, '') || '/').split('?')[0];
      if (path === '/' || path === '') route();
    }
    state.version = version;
  } catch (e) { /* the server is gone or restarting: try again later */ }
  setTimeout(poll, 2000);
}

async function start() {
  state.info = await api('/api/info');
  state.version = state.info.version;
  setupSearch();
  window.addEventListener('hashchange', route);
  await route();
  setTimeout(poll, 2000);
}

start().catch((e) => setStatus('cannot load: ' + e.message));
