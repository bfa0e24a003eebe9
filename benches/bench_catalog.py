#!/usr/bin/env python3
"""Benchmark of the catalog: cold scan, unchanged rescan, query latency at 100,000 and 1,000,000 records, and
catalog bytes per image. Not a timed test: it prints a Markdown report.

Usage: benches/bench_catalog.py [--files 100000] [--dir bench-data] [--stemma target/release/stemma]
                                [--million] [--runs 5]

The library is made here (never downloaded), in the way of benches/bench_show.py: small PNGs (32x32 noise, each
file's pixels distinct) carrying realistic metadata:
  - A1111 / Forge infotext (`parameters` tEXt before IDAT; one in four of them as zTXt after IDAT), some with
    LoRAs, hires settings and a Dynamic Prompts `Template:`;
  - ComfyUI (`prompt` API graph + `workflow` UI graph tEXt);
  - 10% without any metadata.
The million-record figures use synthetic rows: the scanned catalog's rows copied by SQL with new ids, seeds and
paths (their prompts are the real prompts, so full-text selectivity stays realistic).
Times are wall-clock of the `stemma` process (start-up included), best of --runs with a warm page cache.
"""
import argparse
import json
import os
import random
import shutil
import sqlite3
import struct
import subprocess
import sys
import time
import zlib

SUBJECTS = ["lighthouse", "castle", "fox", "astronaut", "city street", "forest", "dragon", "teapot", "robot",
            "mountain lake", "samurai", "cat", "owl", "desert", "spaceship", "library", "waterfall", "girl", "knight"]
STYLES = ["oil painting", "watercolor", "photo", "anime", "concept art", "pixel art", "ink drawing", "3d render"]
LIGHT = ["at dusk", "at night", "in fog", "golden hour", "under neon lights", "in the rain", "at noon"]
EXTRA = ["highly detailed", "masterpiece", "best quality", "sharp focus", "dramatic sky", "bokeh", "8k",
         "intricate", "volumetric light", "cinematic"]
SAMPLERS = ["Euler a", "Euler", "DPM++ 2M Karras", "DPM++ SDE Karras", "DDIM", "UniPC", "DPM++ 2M"]
COMFY_SAMPLERS = ["euler", "euler_ancestral", "dpmpp_2m", "dpmpp_sde", "ddim", "uni_pc"]
MODELS = ["dreamshaper_8", "sd_xl_base_1.0", "juggernautXL_v9", "realisticVision_v51", "anything_v5",
          "ponyDiffusionV6XL", "majicmix_realistic_v7"]
LORAS = ["add_detail", "film_grain", "lcm_lora", "epi_noiseoffset", "more_details"]
SIZES = [(512, 512), (512, 768), (768, 512), (1024, 1024), (832, 1216), (1216, 832), (640, 960)]


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def text_chunk(key, value):
    return chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1", "replace"))


def ztxt_chunk(key, value):
    return chunk(b"zTXt", key.encode("latin-1") + b"\0\0" + zlib.compress(value.encode("latin-1", "replace")))


def png(rng, before, after):
    w = h = 32
    raw = b"".join(b"\0" + rng.randbytes(w * 3) for _ in range(h))
    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    idat = chunk(b"IDAT", zlib.compress(raw, 1))
    return b"".join([b"\x89PNG\r\n\x1a\n", ihdr, *before, idat, *after, chunk(b"IEND", b"")])


def prompt_of(rng):
    subject, style, light = rng.choice(SUBJECTS), rng.choice(STYLES), rng.choice(LIGHT)
    extras = ", ".join(rng.sample(EXTRA, rng.randint(1, 4)))
    return f"a {subject} {light}, {style}, {extras}", (subject, style, light)


def a1111(rng, n):
    prompt, (subject, style, light) = prompt_of(rng)
    w, h = rng.choice(SIZES)
    seed = rng.getrandbits(32)
    loras = ""
    if n % 5 == 0:
        lora = rng.choice(LORAS)
        prompt += f" <lora:{lora}:0.{rng.randint(3, 9)}>"
        loras = f', Lora hashes: "{lora}: {rng.getrandbits(48):012x}"'
    parts = [f"Steps: {rng.choice([20, 25, 28, 30, 40])}", f"Sampler: {rng.choice(SAMPLERS)}",
             f"CFG scale: {rng.choice([5, 6, 6.5, 7, 7.5, 8])}", f"Seed: {seed}", f"Size: {w}x{h}",
             f"Model hash: {rng.getrandbits(40):010x}", f"Model: {rng.choice(MODELS)}"]
    if n % 7 == 0:
        parts += ["Denoising strength: 0.45", "Hires upscale: 2", "Hires upscaler: R-ESRGAN 4x+"]
    if n % 11 == 0:
        parts.append('Template: "a {%s|%s} %s, %s"' % (subject, rng.choice(SUBJECTS), light, style))
    parts.append("Version: v1.10.1")
    return (f"{prompt}\nNegative prompt: lowres, bad anatomy, blurry, watermark\n" + ", ".join(parts) + loras)


def comfyui(rng):
    prompt, _ = prompt_of(rng)
    seed = rng.getrandbits(48)
    w, h = rng.choice(SIZES)
    graph = {
        "3": {"class_type": "KSampler", "inputs": {"seed": seed, "steps": rng.choice([20, 25, 30]),
              "cfg": rng.choice([6, 7, 8]), "sampler_name": rng.choice(COMFY_SAMPLERS), "scheduler": "karras",
              "denoise": 1, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0],
              "latent_image": ["5", 0]}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": rng.choice(MODELS) + ".safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": w, "height": h, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": prompt, "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "lowres, blurry, watermark", "clip": ["4", 1]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
    }
    nodes = [{"id": int(k), "type": v["class_type"], "pos": [100 * int(k), 200], "size": [315, 262],
              "flags": {}, "order": i, "mode": 0, "widgets_values": [x for x in v["inputs"].values()
                                                                     if not isinstance(x, list)]}
             for i, (k, v) in enumerate(graph.items())]
    workflow = {"last_node_id": 9, "last_link_id": 9, "nodes": nodes, "links": [], "groups": [], "config": {},
                "extra": {"ds": {"scale": 1, "offset": [0, 0]}}, "version": 0.4}
    return [text_chunk("prompt", json.dumps(graph)), text_chunk("workflow", json.dumps(workflow))]


def make_library(folder, count):
    rng = random.Random(14)
    os.makedirs(folder, exist_ok=True)
    for n in range(count):
        sub = os.path.join(folder, f"{n // 1000:03d}")
        if n % 1000 == 0:
            os.makedirs(sub, exist_ok=True)
        kind = n % 10
        before, after = [], []
        if kind == 9:
            pass  # 10% without metadata
        elif kind in (6, 7, 8):
            before = comfyui(rng)
        elif kind == 5:
            after = [ztxt_chunk("parameters", a1111(rng, n))]  # text after IDAT
        else:
            before = [text_chunk("parameters", a1111(rng, n))]
        with open(os.path.join(sub, f"{n:06d}.png"), "wb") as f:
            f.write(png(rng, before, after))


def best(cmd, runs, cwd=None):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return min(times)


QUERIES = [
    ("full text (word)", "lighthouse"),
    ("full text (phrase)", '"golden hour"'),
    ("full text (prefix)", "astro*"),
    ("typed: seed", "seed:123456"),
    ("typed: steps range + sampler", "steps:25..30 sampler:euler*"),
    ("typed: model + size", "model:dreamshaper_8 size:32x?"),
    ("typed: lora", "lora:add_detail"),
    ("typed: tag + rating", "tag:keeper rating:>=4"),
    ("typed: path (folder) + cfg", "path:042/ cfg:7"),
    ("typed: date + generator", "date:today generator:comfyui"),
    ("combined", "lighthouse -fog steps:>=25 (model:dream* OR model:juggernaut*) size:square"),
    ("combined with OR of phrases", '("oil painting" OR watercolor) castle cfg:7 has:template'),
]


def query_table(stemma, db, runs, limit, plans=False):
    rows = []
    for label, q in QUERIES:
        count = subprocess.run([stemma, "find", "--catalog", db, "--count", q], capture_output=True, text=True)
        secs = best([stemma, "find", "--catalog", db, "--limit", str(limit), q], runs)
        rows.append((label, q, count.stdout.strip(), secs))
        if plans:
            plan = subprocess.run([stemma, "find", "--catalog", db, "--explain", "--limit", str(limit), q],
                                  capture_output=True, text=True)
            print(f"  plan of {q}: " + " | ".join(plan.stdout.split("\n")).strip(" |"), file=sys.stderr)
    return rows


def tag_some(db):
    """What a user does after a scan, as synthetic rows: 1% of the images tagged `keeper`, 5% rated."""
    conn = sqlite3.connect(db)
    conn.execute("INSERT OR IGNORE INTO tags (image_id, tag) SELECT id, 'keeper' FROM images WHERE id % 100 = 7")
    conn.execute("UPDATE images SET rating = 3 + id % 3 WHERE id % 10 = 7")
    conn.commit()
    conn.close()


def synthesize(db, target):
    """Grow the catalog to `target` images by copying its rows with new ids, seeds and paths."""
    conn = sqlite3.connect(db)
    have = conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
    base = have
    k = 0
    cols = [r[1] for r in conn.execute("PRAGMA table_info(images)") if r[1] not in ("id", "content_id", "seed")]
    while have < target:
        k += 1
        n = min(base, target - have)
        conn.execute("BEGIN")
        conn.execute(
            f"INSERT INTO images (content_id, seed, {', '.join(cols)}) "
            f"SELECT content_id || '-s{k}', CAST((CAST(seed AS INTEGER) + {k * 7919}) AS TEXT), {', '.join(cols)} "
            f"FROM images WHERE id <= ? ORDER BY id LIMIT ?", (base, n))
        conn.execute("INSERT INTO prompt_fts (rowid, prompt, negative) SELECT id, prompt, negative FROM images "
                     "WHERE id > (SELECT COALESCE(MAX(rowid), 0) FROM prompt_fts_docsize)")
        conn.execute(
            "INSERT INTO records (image_id, record_json) SELECT i2.id, r.record_json FROM records r "
            f"JOIN images i ON i.id = r.image_id JOIN images i2 ON i2.content_id = i.content_id || '-s{k}'")
        conn.execute(
            "INSERT INTO files (path, image_id, size, mtime_ns, inode, status, scanned_at) "
            f"SELECT 'synthetic/{k}/' || f.path, i2.id, f.size, f.mtime_ns, 0, 'ok', 0 FROM files f "
            f"JOIN images i ON i.id = f.image_id JOIN images i2 ON i2.content_id = i.content_id || '-s{k}'")
        conn.execute(
            "INSERT INTO loras (image_id, name, weight) SELECT i2.id, l.name, l.weight FROM loras l "
            f"JOIN images i ON i.id = l.image_id JOIN images i2 ON i2.content_id = i.content_id || '-s{k}'")
        conn.execute(
            "INSERT INTO tags (image_id, tag) SELECT i2.id, t.tag FROM tags t "
            f"JOIN images i ON i.id = t.image_id JOIN images i2 ON i2.content_id = i.content_id || '-s{k}'")
        conn.execute("COMMIT")
        have += n
        print(f"  synthetic rows: {have}", file=sys.stderr)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.close()


def db_size(db):
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    images = conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
    conn.close()
    return os.path.getsize(db), images


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--dir", default="bench-data")
    ap.add_argument("--stemma", default="target/release/stemma")
    ap.add_argument("--million", action="store_true", help="also measure queries at 1,000,000 records")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cold-runs", type=int, default=3, help="cold scans, each from an empty catalog; the best is reported")
    ap.add_argument("--limit", type=int, default=100, help="results printed per query (as a result page)")
    ap.add_argument("--plans", action="store_true", help="print each query's plan (stemma find --explain)")
    ap.add_argument("--skip-scan", action="store_true", help="reuse the catalog of an earlier run (queries only)")
    args = ap.parse_args()
    stemma = os.path.abspath(args.stemma)
    lib = os.path.abspath(os.path.join(args.dir, f"catalog-{args.files}"))
    marker = os.path.join(lib, ".complete")
    if not os.path.exists(marker):
        shutil.rmtree(lib, ignore_errors=True)
        t = time.perf_counter()
        make_library(lib, args.files)
        open(marker, "w").close()
        print(f"made {args.files} files in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    # Warm the page cache.
    subprocess.run(["cat"] + [os.path.join(lib, "000", f) for f in os.listdir(os.path.join(lib, "000"))],
                   stdout=subprocess.DEVNULL, check=False)
    subprocess.run(f"find {lib} -name '*.png' -print0 | xargs -0 cat > /dev/null", shell=True, check=False)

    db = os.path.join(lib, ".stemma", "catalog.db")
    cold = []
    for _ in range(0 if args.skip_scan else max(1, args.cold_runs)):
        shutil.rmtree(os.path.join(lib, ".stemma"), ignore_errors=True)
        subprocess.run([stemma, "init", "-q", lib], check=True)
        start = time.perf_counter()
        subprocess.run([stemma, "scan", "-q", "--catalog", db, lib], check=False)
        cold.append(time.perf_counter() - start)
    cold_s = min(cold) if cold else float("nan")
    rescan_s = best([stemma, "scan", "-q", "--catalog", db, lib], args.runs)
    size, images = db_size(db)
    if not args.skip_scan:
        tag_some(db)
    q100k = query_table(stemma, db, args.runs, args.limit, args.plans)

    print(f"## Catalog benchmark: {args.files:,} PNGs (32x32; A1111 60% incl. 10% text after IDAT, ComfyUI 30%, "
          f"no metadata 10%), {os.cpu_count()} cores\n")
    print("| measure | value |\n|---|---:|")
    all_runs = ", ".join(f"{c:.2f}" for c in cold)
    print(f"| cold scan (empty catalog), best of {len(cold)} | {cold_s:.2f} s = {args.files / cold_s:,.0f} files/s "
          f"(runs: {all_runs} s) |")
    print(f"| rescan, nothing changed | {rescan_s:.3f} s |")
    print(f"| catalog size | {size / 1e6:.1f} MB = {size / max(images, 1):,.0f} bytes per image ({images:,} images) |")
    print(f"\n### Query latency at {images:,} records (best of {args.runs}, `stemma find --limit {args.limit}`, "
          f"process start included)\n")
    print("| query | text | matches | ms |\n|---|---|---:|---:|")
    for label, q, count, secs in q100k:
        print(f"| {label} | `{q}` | {count} | {secs * 1000:.1f} |")
    if args.million:
        big = os.path.join(args.dir, "catalog-1m.db")
        if not (args.skip_scan and os.path.exists(big)):
            shutil.copy(db, big)
            synthesize(big, 1_000_000)
        size, images = db_size(big)
        rows = query_table(stemma, big, args.runs, args.limit, args.plans)
        print(f"\n### Query latency at {images:,} records (synthetic rows; {size / 1e6:.0f} MB, "
              f"{size / images:,.0f} bytes per image)\n")
        print("| query | text | matches | ms |\n|---|---|---:|---:|")
        for label, q, count, secs in rows:
            print(f"| {label} | `{q}` | {count} | {secs * 1000:.1f} |")


if __name__ == "__main__":
    main()
