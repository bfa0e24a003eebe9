// The image page, the sequence pages and the prompts page. Library text goes in with textContent only.
import { api, post, el, state, setStatus } from './app.js';
import { lineageGraph } from './lineage.js';

const fmt = (v) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

// `[-removed-] {+added+}` (the catalog's token diff) as <del>/<ins> elements.
function diffText(text) {
  const out = el('div', { class: 'prompt', 'data-testid': 'prompt-diff' });
  const re = /\[-(.*?)-\]|\{\+(.*?)\+\}/gs;
  let last = 0, m;
  while ((m = re.exec(text))) {
    out.append(text.slice(last, m.index));
    out.append(m[1] !== undefined ? el('del', { text: m[1] }) : el('ins', { text: m[2] }));
    last = re.lastIndex;
  }
  out.append(text.slice(last));
  return out;
}

// A1111's infotext: the file's own `parameters` text when it has one, else written from the recipe.
function infotext(d) {
  if (d.infotext) return d.infotext;
  const r = d.record || {};
  const p = r.prompt || {};
  const lines = [p.positive || d.prompt || ''];
  if (p.negative) lines.push('Negative prompt: ' + p.negative);
  const kv = [['Steps', d.steps], ['Sampler', d.sampler], ['CFG scale', d.cfg], ['Seed', d.seed],
    ['Size', d.width && d.height ? d.width + 'x' + d.height : null], ['Model', d.model]]
    .filter(([, v]) => v !== null && v !== undefined && v !== '');
  if (kv.length) lines.push(kv.map(([k, v]) => k + ': ' + v).join(', '));
  return lines.join('\n');
}

function copyButton(label, text, testid) {
  return el('button', { 'data-testid': testid, text: label, onclick: async (ev) => {
    try { await navigator.clipboard.writeText(text); ev.target.textContent = 'copied'; }
    catch (e) { window.prompt('Copy:', text); }
  } });
}

export async function showImage(main, id) {
  const d = await api('/api/images/' + id);
  setStatus('image ' + id);
  const left = el('div', {}, el('img', { class: 'full', src: '/api/images/' + id + '/file', alt: '', 'data-testid': 'full' }));
  const right = el('div', {});
  const r = d.record || {};
  const p = r.prompt || {};
  right.append(el('h2', { text: 'Recipe' }));
  right.append(el('div', { class: 'prompt', 'data-testid': 'prompt', text: p.positive || d.prompt || '(no prompt)' }));
  if (p.negative) right.append(el('div', { class: 'prompt negative', 'data-testid': 'negative', text: p.negative }));
  const kv = el('table', { class: 'kv' });
  for (const [k, v] of [['generator', d.generator], ['model', d.model], ['sampler', d.sampler], ['steps', d.steps],
    ['cfg', d.cfg], ['seed', d.seed], ['size', d.width && d.height ? d.width + '×' + d.height : null],
    ['file', (d.paths || []).join(', ')], ['id', d.content_id]]) {
    if (v !== null && v !== undefined && v !== '') kv.append(el('tr', {}, el('th', { text: k }), el('td', { text: fmt(v) })));
  }
  right.append(kv);
  const copies = el('p', {}, copyButton('Copy as infotext', infotext(d), 'copy-infotext'));
  if (d.comfy_prompt) copies.append(copyButton('Copy ComfyUI graph', d.comfy_workflow || d.comfy_prompt, 'copy-comfy'));
  right.append(copies);

  // Tags and rating: shown always, editable with --write.
  const tags = el('div', { class: 'tags', 'data-testid': 'tags' }, ...(d.tags || []).map((t) => el('span', { text: t })));
  right.append(el('h3', { text: 'Tags' }), tags);
  if (state.info.write) {
    const input = el('input', { 'data-testid': 'tag-input', placeholder: 'new tag', 'aria-label': 'new tag' });
    const form = el('form', { 'data-testid': 'tag-form', onsubmit: async (ev) => {
      ev.preventDefault();
      if (!input.value.trim()) return;
      const res = await post('/api/images/' + id + '/tags', { add: [input.value.trim()] });
      tags.replaceChildren(...res.tags.map((t) => el('span', { text: t })));
      input.value = '';
    } }, input, el('button', { text: 'Tag', type: 'submit' }));
    const rate = el('select', { 'data-testid': 'rating', 'aria-label': 'rating', onchange: async () => {
      await post('/api/images/' + id + '/rating', { rating: Number(rate.value) });
    } }, ...[0, 1, 2, 3, 4, 5].map((n) => el('option', { value: n, text: n ? '★'.repeat(n) : 'no rating' })));
    rate.value = String(d.rating || 0);
    right.append(form, el('p', {}, 'Rating ', rate));
  } else {
    right.append(el('p', { class: 'muted', text: (d.rating ? '★'.repeat(d.rating) + ' · ' : '') + 'read-only (start with --write to tag and rate)' }));
  }

  right.append(el('h3', { text: 'Parents' }));
  const parents = el('ul', { 'data-testid': 'parents' });
  for (const pa of d.parents) {
    const label = pa.relation + ': ' + (pa.prompt || pa.hint || pa.content_id || '');
    parents.append(el('li', {}, pa.image !== null ? el('a', { href: '#/image/' + pa.image, text: label }) : el('span', { class: 'muted', text: label + ' (not in the catalog)' })));
  }
  if (!d.parents.length) parents.append(el('li', { class: 'muted', text: 'none recorded' }));
  right.append(parents);
  if (d.children.length) {
    right.append(el('h3', { text: 'Children' }));
    right.append(el('ul', { 'data-testid': 'children' }, ...d.children.map(([rel, c]) => el('li', {}, el('a', { href: '#/image/' + c, text: rel + ': image ' + c })))));
  }
  if (d.diff) {
    right.append(el('h3', { text: 'Changed from parent' }));
    if (d.diff.prompt) right.append(diffText(d.diff.prompt));
    const t = el('table', { class: 'kv', 'data-testid': 'diff' }, el('tr', {}, el('th', { text: 'setting' }), el('th', { text: 'parent' }), el('th', { text: 'this' })));
    for (const [k, a, b] of d.diff.rows) t.append(el('tr', {}, el('td', { text: k }), el('td', { text: fmt(a) }), el('td', { text: fmt(b) })));
    right.append(t);
  }
  main.append(el('div', { class: 'detail', 'data-testid': 'image-page' }, left, right));
  main.append(el('h3', { text: 'Lineage' }), lineageGraph(d.nodes, d.edges, id));
  main.append(el('h3', { text: 'Full record' }), el('pre', { class: 'record', 'data-testid': 'record', text: JSON.stringify(d.record, null, 2) }));
}

let sequenceCache = null;
async function loadSequences() {
  sequenceCache = (await api('/api/sequences')).sequences;
  return sequenceCache;
}

export async function showSequences(main) {
  const seqs = await loadSequences();
  setStatus(seqs.length + ' sequences');
  const list = el('ul', { class: 'groups', 'data-testid': 'sequences' });
  seqs.forEach((s, i) => list.append(el('li', {}, el('a', { href: '#/sequence/' + i, text: s.key }),
    el('span', { class: 'muted', text: ` ${s.frames} frames · ${s.gaps.length} gaps · ${s.fps ? s.fps + ' fps' : 'fps unknown'} · ${s.folder || '.'}` }))));
  if (!seqs.length) list.append(el('li', { class: 'muted', text: 'No frame sequences found.' }));
  main.append(el('h2', { text: 'Sequences' }), list);
}

export async function showSequence(main, n) {
  const s = (sequenceCache || await loadSequences())[n];
  if (!s) throw new Error('no sequence ' + n);
  const fps = s.fps || 12;
  setStatus(s.key);
  main.append(el('h2', { text: s.key }));
  const resume = s.first_missing !== null && s.first_missing !== undefined ? ` · resume at frame ${s.first_missing}` : ' · complete';
  main.append(el('p', { class: 'muted', 'data-testid': 'seq-info', text: `${s.tool} · ${s.frames} frames · gaps: ${s.gaps.length ? s.gaps.join(', ') : 'none'} · ${s.fps ? s.fps + ' fps' : 'fps unknown, playing at 12'}${resume}` }));
  const view = el('img', { alt: '', 'data-testid': 'player-frame' });
  const label = el('div', { 'data-testid': 'player-label' });
  const strip = el('div', { class: 'strip', 'data-testid': 'filmstrip' });
  const slots = s.slots.map((slot) => {
    const cls = 'slot ' + slot.kind;
    const e = slot.kind === 'gap'
      ? el('div', { class: cls, 'data-testid': 'gap', title: 'missing frame ' + slot.index, text: 'gap ' + slot.index })
      : el('div', { class: cls, 'data-testid': 'slot', title: (slot.kind === 'interpolated' ? 'interpolated ' : 'frame ') + slot.index },
        slot.image !== null ? el('img', { src: '/api/thumbs/' + slot.image, alt: '' }) : 'not catalogued');
    strip.append(e);
    return e;
  });
  const player = el('div', { class: 'player', 'data-testid': 'player' });
  let at = 0, timer = null;
  function show(i) {
    at = i;
    slots.forEach((e, j) => e.classList.toggle('current', j === i));
    const slot = s.slots[i];
    if (slot.image !== null) view.src = '/api/images/' + slot.image + '/file';
    label.textContent = (slot.kind === 'gap' ? 'gap at frame ' : slot.kind === 'interpolated' ? 'interpolated frame ' : 'frame ') + slot.index;
    view.dataset.index = String(slot.index);
    // What playback went through, for anyone checking the player (a test, a screen reader summary).
    if (slot.kind === 'gap') player.dataset.gapsShown = String(Number(player.dataset.gapsShown || 0) + 1);
    if (i === s.slots.length - 1) player.dataset.loops = String(Number(player.dataset.loops || 0) + 1);
  }
  const play = el('button', { 'data-testid': 'play', text: 'Play', onclick: () => {
    if (timer) { clearInterval(timer); timer = null; play.textContent = 'Play'; return; }
    play.textContent = 'Pause';
    timer = setInterval(() => {
      if (!view.isConnected) { clearInterval(timer); return; }
      show((at + 1) % s.slots.length);
    }, 1000 / fps);
  } });
  player.append(view, label, play);
  if (s.slots.length) show(0);
  main.append(player, strip);
}

export async function showPrompts(main) {
  const d = await api('/api/prompts');
  setStatus(d.prompts.length + ' prompts');
  const search = (q) => '#/?q=' + encodeURIComponent(q);
  const quote = (t) => '"' + t.replace(/"/g, ' ') + '"';
  main.append(el('h2', { text: 'Prompts' }));
  main.append(el('ul', { class: 'groups', 'data-testid': 'prompt-list' }, ...d.prompts.map((p) =>
    el('li', {}, el('a', { href: search('prompt:' + quote(p.prompt.slice(0, 200))), text: p.prompt }), el('span', { class: 'muted', text: ' ×' + p.count })))));
  main.append(el('h2', { text: 'Variations' }));
  const vars = el('div', { 'data-testid': 'variations' });
  for (const f of d.variations) {
    vars.append(el('div', { class: 'prompt', text: f.base }));
    for (const [, count, diff] of f.members) vars.append(el('div', {}, diffText(diff), el('span', { class: 'muted', text: ' ×' + count })));
  }
  if (!d.variations.length) vars.append(el('p', { class: 'muted', text: 'No prompt variations.' }));
  main.append(vars);
  main.append(el('h2', { text: 'Templates' }));
  const tpl = el('div', { 'data-testid': 'templates' });
  // Each template with its slots as facets: the values a slot took, with counts, each a search for that value.
  for (const t of d.templates) {
    const box = el('div', { class: 'template', 'data-testid': 'template' });
    box.append(el('div', { class: 'prompt', text: t.template }));
    box.append(el('p', { class: 'muted', text: (t.recorded ? 'recorded' : 'inferred from variations') + ' · ' + t.images + ' images' }));
    for (const [slot, values] of t.slots) {
      const facet = el('p', { class: 'facet' }, el('strong', { text: slot + ': ' }));
      for (const [value, count] of Object.entries(values)) {
        facet.append(el('a', { class: 'chip', href: search(quote(value)), text: value }), el('span', { class: 'muted', text: ' ×' + count + '  ' }));
      }
      box.append(facet);
    }
    tpl.append(box);
  }
  if (!d.templates.length) tpl.append(el('p', { class: 'muted', text: 'No templates.' }));
  main.append(tpl);
}
