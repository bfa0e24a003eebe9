// The lineage graph as SVG: one column per generation (ancestors left, descendants right), the relation written
// on each edge; clicking a catalogued node opens it.
import { el } from './app.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 170, H = 34, DX = 230, DY = 52;

function svg(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

export function lineageGraph(nodes, edges, selfId) {
  if (nodes.length <= 1) return el('p', { class: 'muted', text: 'No recorded parents or children.' });
  const depths = [...new Set(nodes.map((n) => n.depth))].sort((a, b) => a - b);
  const rows = {};
  const pos = {};
  for (const n of nodes) {
    const r = rows[n.depth] = (rows[n.depth] || 0) + 1;
    pos[n.key] = { x: 10 + depths.indexOf(n.depth) * DX, y: 10 + (r - 1) * DY };
  }
  const height = 20 + Math.max(...Object.values(rows)) * DY;
  const width = 20 + depths.length * DX;
  const root = svg('svg', { class: 'lineage', width, height, viewBox: `0 0 ${width} ${height}`, 'data-testid': 'lineage' });
  for (const e of edges) {
    const a = pos[e.from], b = pos[e.to];
    if (!a || !b) continue;
    const g = svg('g', { class: 'edge' });
    g.append(svg('line', { x1: a.x + W, y1: a.y + H / 2, x2: b.x, y2: b.y + H / 2 }));
    g.append(svg('text', { x: (a.x + W + b.x) / 2 - 20, y: (a.y + b.y) / 2 + H / 2 - 4, 'data-testid': 'relation' }, e.relation));
    root.append(g);
  }
  for (const n of nodes) {
    const p = pos[n.key];
    const cls = 'node' + (n.image === selfId ? ' self' : '') + (n.image === null ? ' ext' : '');
    const g = svg('g', { class: cls, 'data-testid': 'node', 'data-depth': n.depth, 'data-image': n.image === null ? '' : n.image });
    g.append(svg('title', {}, n.label));
    g.append(svg('rect', { x: p.x, y: p.y, width: W, height: H, rx: 4 }));
    const label = n.label.length > 26 ? n.label.slice(0, 25) + '…' : n.label;
    g.append(svg('text', { x: p.x + 6, y: p.y + 21 }, label));
    if (n.image !== null && n.image !== selfId) g.addEventListener('click', () => { location.hash = '#/image/' + n.image; });
    root.append(g);
  }
  return root;
}
