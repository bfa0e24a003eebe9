// Benchmark of the web gallery at 100,000 images: time to first grid paint, time to scroll through the whole
// grid, thumbnail throughput (cold and cached), server memory. A synthetic catalog: the example library scanned,
// then 100,000 image rows added with SQL (every 4 share prompt and settings, so stacks exist), the first 2,000
// with a real file (hard links) for thumbnails. Needs: a debug or release `stemma`, python3, Debian's chromium,
// and `npm ci` in crates/stemma-gallery/e2e (for playwright-core).
//   node benches/bench_gallery.mjs [--rows 100000] [--bin target/release/stemma]
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, cpSync, rmSync, mkdirSync, linkSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
const require = createRequire(join(repo, 'crates/stemma-gallery/e2e/package.json'));
const { chromium } = require('playwright-core');
const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const ROWS = Number(arg('--rows', '100000'));
const WITH_FILES = 2000;
const bin = resolve(arg('--bin', join(process.env.CARGO_TARGET_DIR || join(repo, 'target'), 'debug', 'stemma')));

const work = mkdtempSync(join(tmpdir(), 'stemma-bench-gallery-'));
const lib = join(work, 'library');
cpSync(join(repo, 'examples', 'library'), lib, { recursive: true });
rmSync(join(lib, 'stemma'), { recursive: true, force: true });
execFileSync(bin, ['init', lib, '-q']);
execFileSync(bin, ['scan', lib, '-q']);
mkdirSync(join(lib, 'synthetic'));
const source = join(lib, 'disco', 'LighthouseRun(0)_0000.png');
for (let n = 0; n < WITH_FILES; n++) linkSync(source, join(lib, 'synthetic', String(n).padStart(6, '0') + '.png'));
const t0 = Date.now();
execFileSync('python3', ['-c', `
import sqlite3, sys, json
rows, db = int(sys.argv[1]), sys.argv[2]
c = sqlite3.connect(db)
subjects = ['castle', 'lighthouse', 'forest', 'harbour', 'desert', 'city', 'mountain', 'river']
def gen():
    for n in range(rows):
        g = n // 4
        prompt = f'a {subjects[g % 8]} at dusk, painting number {g}'
        rec = json.dumps({'stemma': '1.0', 'prompt': {'positive': prompt}, 'params': {'seed': str(n), 'steps': 20 + g % 30}})
        yield (f'sha256:{n:064x}', 96, 64, 'bench', prompt, str(n), 20 + g % 30, 7.0, 'euler', 'model-' + str(g % 5), rec)
c.executemany('INSERT INTO images (content_id, width, height, generator, prompt, seed, steps, cfg, sampler, model, record_json) VALUES (?,?,?,?,?,?,?,?,?,?,?)', gen())
c.execute("INSERT INTO files (path, image_id, size, mtime_ns, inode, status, scanned_at) SELECT 'synthetic/' || printf('%06d', id - (SELECT min(id) FROM images WHERE generator = 'bench')) || '.png', id, 0, 0, 0, 'ok', 0 FROM images WHERE generator = 'bench'")
c.commit()
`, String(ROWS), join(lib, '.stemma', 'catalog.db')]);
console.log(`synthetic catalog: ${ROWS} rows in ${((Date.now() - t0) / 1000).toFixed(1)}s`);

const server = spawn(bin, ['serve', lib, '--port', '0', '--no-open', '--no-scan', '-q'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((ok) => {
  let out = '';
  server.stdout.on('data', (d) => { out += d; const m = out.match(/(http:\/\/127\.0\.0\.1:\d+\/)/); if (m) ok(m[1]); });
});
const rss = () => Number((readFileSync(`/proc/${server.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/) || [0, 0])[1]) / 1024;
console.log(`server RSS at start: ${rss().toFixed(0)} MiB`);

const browser = await chromium.launchPersistentContext(join(work, 'profile'), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, viewport: { width: 1280, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage();
for (const stacks of [false, true]) {
  const start = Date.now();
  await page.goto(url + '#/');
  if (!stacks) await page.uncheck('#stacks'); else await page.check('#stacks');
  await page.waitForSelector('#grid[data-ready="true"] a.tile img');
  await page.waitForFunction(() => [...document.querySelectorAll('#grid img')].some((i) => i.complete && i.naturalWidth > 0)).catch(() => {});
  const paint = Date.now() - start;
  const total = await page.locator('#status').textContent();
  // Scroll through: 300 jumps from top to bottom, each waiting until its rows are in the DOM.
  const steps = 300;
  const s0 = Date.now();
  let maxNodes = 0;
  for (let k = 1; k <= steps; k++) {
    const { id } = await page.evaluate(async (frac) => {
      const g = document.getElementById('grid');
      g.scrollTop = (g.scrollHeight - g.clientHeight) * frac;
      for (let t = 0; t < 400; t++) {
        await new Promise((r) => requestAnimationFrame(r));
        const top = [...g.querySelectorAll('a.tile')].find((a) => parseFloat(a.style.top) + 180 >= g.scrollTop);
        if (top) return { id: top.dataset.id };
      }
      return { id: null };
    }, k / steps);
    if (!id) throw new Error('rows did not appear at step ' + k);
    maxNodes = Math.max(maxNodes, await page.locator('#grid a.tile').count());
  }
  const scroll = Date.now() - s0;
  console.log(`${stacks ? 'stacked' : 'flat'} grid (${total}): first paint ${paint} ms; scrolled to the end in ${steps} jumps in ${scroll} ms (${(scroll / steps).toFixed(1)} ms/jump); at most ${maxNodes} tiles in the DOM`);
}
console.log(`server RSS after scrolling: ${rss().toFixed(0)} MiB`);

// Thumbnail throughput: 2,000 thumbnails, 8 requests at a time, made (cold) then served from the cache.
const first = (await (await fetch(url + 'api/images?q=generator%3Abench&limit=2000')).json()).tiles.map((t) => t.id);
for (const pass of ['cold', 'cached']) {
  const t = Date.now();
  let next = 0, ok = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < first.length) {
      const id = first[next++];
      const r = await fetch(url + 'api/thumbs/' + id);
      if (r.ok) { await r.arrayBuffer(); ok++; }
    }
  }));
  const secs = (Date.now() - t) / 1000;
  console.log(`thumbnails ${pass}: ${ok} in ${secs.toFixed(2)}s = ${(ok / secs).toFixed(0)}/s`);
}
console.log(`server RSS at the end: ${rss().toFixed(0)} MiB`);
await browser.close();
server.kill();
rmSync(work, { recursive: true, force: true });
