// Browser tests of `stemma serve` in Debian's Chromium (playwright-core drives it; nothing downloads a browser).
// Run: cargo build -p stemma-cli && cd crates/stemma-gallery/e2e && npm ci && node --test
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, cpSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const target = process.env.CARGO_TARGET_DIR || join(repo, 'target');
const stemma = process.env.STEMMA_BIN || join(target, 'debug', 'stemma');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const shots = process.env.SCREENSHOT_DIR || tmpdir();

let server, browser, page, url, work, lib;

// A small PNG of one colour (a file "arriving" from a generator while the gallery is open).
function png(r, g, b) {
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (buf) => { let c = 0xffffffff; for (const x of buf) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const td = Buffer.concat([Buffer.from(type), data]);
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(16, 0); ihdr.writeUInt32BE(16, 4); ihdr[8] = 8; ihdr[9] = 2;
  const rows = Buffer.concat(Array.from({ length: 16 }, () => Buffer.from([0, ...Array(16).fill([r, g, b]).flat()])));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}
const HOSTILE = '</div><img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'stemma-gallery-'));
  lib = join(work, 'library');
  cpSync(join(repo, 'examples', 'library'), lib, { recursive: true });
  // A real lineage edge: sketch.png becomes an img2img child of the A1111 image (what `stemma convert` records).
  execFileSync(stemma, ['convert', '--relation', 'img2img', join(lib, 'a1111', '00012-1234567890.png'), join(lib, 'plain', 'sketch.png')]);
  // A hostile prompt (prompts are attacker-controlled text in downloaded images).
  execFileSync(stemma, ['stamp', '--prompt', HOSTILE, join(lib, 'comfyui', 'ComfyUI_00001_.png')]);
  server = spawn(stemma, ['serve', lib, '--port', '0', '--write', '--no-open'], { stdio: ['ignore', 'pipe', 'pipe'] });
  url = await new Promise((ok, fail) => {
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/(http:\/\/127\.0\.0\.1:\d+\/)/);
      if (m) ok(m[1]);
    });
    server.on('exit', (code) => fail(new Error('stemma serve exited with ' + code)));
  });
  // A fresh profile each run (Playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage();
  page.on('pageerror', (e) => { throw e; });
});

after(async () => {
  await browser?.close();
  server?.kill();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the grid opens with tiles and a stack with its count', async () => {
  await page.goto(url);
  await page.waitForSelector('#grid[data-ready="true"]');
  const tiles = await page.locator('[data-testid=tile], [data-testid=stack-tile]').count();
  assert.ok(tiles >= 5, `expected tiles, got ${tiles}`);
  const count = await page.locator('[data-testid=stack-tile] [data-testid=count]').first().textContent();
  assert.ok(Number(count) >= 2, `stack count ${count}`);
  await page.screenshot({ path: join(shots, 'gallery-grid.png') });
});

test('a typed query with field completion finds the A1111 images', async () => {
  await page.goto(url);
  await page.waitForSelector('#grid[data-ready="true"]');
  await page.click('#q');
  await page.keyboard.type('gen');
  await page.waitForSelector('#suggest li');
  assert.equal(await page.locator('#suggest li').first().textContent(), 'generator:');
  await page.keyboard.press('Tab');
  await page.keyboard.type('a1111 lighthouse');
  assert.equal(await page.inputValue('#q'), 'generator:a1111 lighthouse');
  await page.keyboard.press('Enter');
  await page.waitForURL(/generator/);
  await page.waitForSelector('#grid[data-ready="true"]');
  const ids = await page.locator('#grid a.tile').evaluateAll((as) => as.map((a) => a.dataset.id));
  assert.ok(ids.length >= 1, 'the query found tiles');
  await page.fill('#q', 'generator:nosuchthing');
  await page.keyboard.press('Enter');
  await page.waitForSelector('[data-testid=empty]');
});

test('a stack opens to its members', async () => {
  await page.goto(url);
  await page.waitForSelector('#grid[data-ready="true"]');
  const stack = page.locator('[data-testid=stack-tile]').first();
  const n = Number(await stack.locator('[data-testid=count]').textContent());
  await stack.click();
  await page.waitForSelector('[data-testid=stack-title]');
  await page.waitForSelector('#grid[data-ready="true"]');
  assert.equal(await page.locator('#grid a.tile').count(), n);
});

test('an image shows its prompt and parents, and the lineage graph walks to the parent', async () => {
  await page.goto(url + '#/?q=' + encodeURIComponent('path:plain'));
  await page.waitForSelector('#grid[data-ready="true"]');
  await page.locator('#grid a.tile').first().click();
  await page.waitForSelector('[data-testid=image-page]');
  assert.match(await page.locator('[data-testid=prompt]').textContent(), /a lighthouse on a cliff/);
  assert.match(await page.locator('[data-testid=parents]').textContent(), /img2img/);
  assert.equal(await page.locator('[data-testid=relation]').first().textContent(), 'img2img');
  const parent = await page.locator('[data-testid=node][data-depth="-1"]').first().getAttribute('data-image');
  await page.locator('[data-testid=node][data-depth="-1"]').first().click();
  await page.waitForURL(new RegExp('#/image/' + parent + '$'));
  await page.waitForSelector('[data-testid=children]');
  assert.match(await page.locator('[data-testid=children]').textContent(), /img2img/);
  await page.screenshot({ path: join(shots, 'gallery-image.png'), fullPage: true });
});

test('the Disco run plays with its gap marked', async () => {
  await page.goto(url + '#/sequences');
  await page.getByText('disco:LighthouseRun(0)').click();
  await page.waitForSelector('[data-testid=filmstrip]');
  assert.equal(await page.locator('[data-testid=gap]').count(), 1);
  assert.match(await page.locator('[data-testid=seq-info]').textContent(), /resume at frame 3/);
  await page.click('[data-testid=play]');
  // (Playwright's waitForFunction needs eval, which the page's CSP refuses: wait on selectors.)
  await page.waitForSelector('[data-testid=player][data-loops="1"]');
  await page.click('[data-testid=play]');
  const loops = Number(await page.locator('[data-testid=player]').getAttribute('data-loops'));
  const gaps = Number(await page.locator('[data-testid=player]').getAttribute('data-gaps-shown'));
  assert.ok(gaps >= 1 && gaps <= loops + 1, `one gap per loop: ${gaps} gaps in ${loops} loops`);
});

test('an image is tagged and found by tag:', async () => {
  await page.goto(url + '#/image/1');  // a Disco frame: no tags yet
  await page.waitForSelector('[data-testid=tag-form]');
  await page.fill('[data-testid=tag-input]', 'keeper');
  await page.press('[data-testid=tag-input]', 'Enter');
  await page.locator('[data-testid=tags]', { hasText: 'keeper' }).waitFor();
  await page.goto(url + '#/?q=' + encodeURIComponent('tag:keeper'));
  await page.waitForSelector('#grid[data-ready="true"]');
  const ids = await page.locator('#grid a.tile').evaluateAll((as) => as.map((a) => a.dataset.id));
  assert.deepEqual(ids, ['1']);
});

test('a prompt with markup is shown as text and runs nothing', async () => {
  await page.goto(url + '#/?q=' + encodeURIComponent('path:comfyui'));
  await page.waitForSelector('#grid[data-ready="true"]');
  await page.locator('#grid a.tile').first().click();
  await page.waitForSelector('[data-testid=image-page]');
  assert.equal(await page.locator('[data-testid=prompt]').textContent(), HOSTILE);
  assert.equal(await page.locator('#main img[src="x"]').count(), 0);
  assert.equal(await page.locator('#main script').count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
});

test('the prompts page lists prompts with counts', async () => {
  await page.goto(url + '#/prompts');
  await page.locator('[data-testid=prompt-list]', { hasText: 'a lighthouse on a cliff' }).waitFor();
  await page.waitForSelector('[data-testid=variations]');
  await page.waitForSelector('[data-testid=templates]');
});

test('a file arriving while the page is open appears in the grid', async () => {
  await page.goto(url + '#/?q=' + encodeURIComponent('path:arrivals'));
  await page.waitForSelector('[data-testid=empty]');
  mkdirSync(join(lib, 'arrivals'));
  writeFileSync(join(lib, 'arrivals', 'new.png'), png(200, 40, 90));
  await page.waitForSelector('#grid a.tile', { timeout: 15000 });
  assert.equal(await page.locator('#grid a.tile').count(), 1);
});
