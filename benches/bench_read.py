#!/usr/bin/env python3
"""Benchmark: the read path. `stemma show --json` beside Pillow's lazy `Image.open(p).info`, a plain Python loop
that reads the first 64 KiB of each file, and ExifTool's `-j` batch mode, on PNGs of realistic size.

Usage: benches/bench_read.py [--files 5000] [--dir bench-data] [--stemma target/release/stemma]
                             [--before OLD_STEMMA] [--floor target/release/examples/json_floor] [--runs 7]
                             [--exiftool-files 500] [--only before,after,none]

The corpus is made here, never downloaded, and kept under `--dir` for the next run (about 1 MB a file):

* `before/` (`--files`, default 5,000): metadata before IDAT, as the generators write it: A1111/Forge `parameters`
  (tEXt or iTXt, 400-600 bytes) on 60% of the files, ComfyUI `prompt` + `workflow` (tEXt, 2 + 6-9 KB of graph
  JSON) on 40%.
* `after/` (`--files` / 5): the A1111 text after the image data (zTXt or tEXt after the last IDAT, with
  ImageMagick's `date:*` texts beside it), which lazy readers miss.
* `none/` (`--files` / 5): no metadata chunk at all (the stealth pnginfo probe runs on these).

Pixels: eight pictures (gradients with noise, RGB and RGBA, 512² to 896×1152, 0.3-1.7 MB once encoded) encoded
by Pillow, half of them with Pillow's 64 KiB IDAT chunks and half re-chunked to libpng's 8 KiB (as NovelAI, GIMP
and Gemini write them); every file is a real copy with its own metadata.

Each figure is the best of `--runs` warm runs (page cache warm, output written to a file): files per second from
wall time, and CPU microseconds per file (user + system; the figure to trust on a shared machine). Ratios are
taken in this one run. ExifTool runs once on the first `--exiftool-files` files (it is ~300 files/s). The full
decode reference (for the stealth probe's cost) is Pillow's `Image.open(p).load()` on 100 files of `none/`.
On `before/` it also runs the floor, `examples/json_floor` (build it with `cargo build --release -p stemma-import
--example json_floor`): it reads each file's first 16 KiB, checks the texts that look like JSON without building
anything and prints every text as a JSON string. Any reader that prints what the metadata holds does at least this;
`stemma show --json` also parses the graphs, builds the record and prints it.
Prints Markdown tables.
"""
import argparse
import io
import json
import os
import random
import resource
import struct
import subprocess
import sys
import time
import zlib

from PIL import Image, ImageChops

# (width, height, mode, noise sigma, IDAT chunk size): sizes from 0.3 to 1.7 MB once encoded.
BASES = [
    (448, 448, "RGB", 7, 65536),
    (640, 640, "RGBA", 8, 8192),
    (768, 768, "RGB", 7, 65536),
    (512, 768, "RGBA", 10, 8192),
    (832, 1216, "RGB", 4, 65536),
    (1024, 1024, "RGB", 4, 8192),
    (896, 1152, "RGBA", 3, 65536),
    (768, 1024, "RGB", 6, 8192),
]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def split_png(data):
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        chunks.append((data[pos + 4:pos + 8], data[pos:pos + 12 + length]))
        pos += 12 + length
    return chunks


def picture(width, height, mode, sigma, angle):
    """A smooth gradient per channel with Gaussian noise: compresses like a rendered picture."""
    channels = []
    for c in range(3):
        gradient = Image.linear_gradient("L").rotate(angle + 40 * c).resize((width, height))
        noise = Image.effect_noise((width, height), sigma)
        channels.append(ImageChops.add(gradient, noise, scale=2.0, offset=-64 + 10 * c))
    if mode == "RGBA":
        channels.append(Image.new("L", (width, height), 255))
    return Image.merge(mode, channels)


def base_chunks(spec, angle):
    """The chunks of one encoded picture: (header chunks, IDAT chunks re-cut to the spec's size, IEND)."""
    width, height, mode, sigma, idat_size = spec
    buf = io.BytesIO()
    picture(width, height, mode, sigma, angle).save(buf, "PNG")
    chunks = split_png(buf.getvalue())
    head = [raw for kind, raw in chunks if kind not in (b"IDAT", b"IEND")]
    stream = b"".join(raw[8:-4] for kind, raw in chunks if kind == b"IDAT")
    idats = [chunk(b"IDAT", stream[i:i + idat_size]) for i in range(0, len(stream), idat_size)]
    return head, idats, chunk(b"IEND", b"")


CHECKPOINTS = ["dreamshaper_8.safetensors", "juggernautXL_v9.safetensors", "ponyDiffusionV6XL.safetensors",
               "flux1-dev-fp8.safetensors", "sd_xl_base_1.0.safetensors"]
SAMPLERS = [("DPM++ 2M", "Karras", "dpmpp_2m", "karras"), ("Euler a", "Normal", "euler_ancestral", "normal"),
            ("DPM++ SDE", "Karras", "dpmpp_sde", "karras"), ("UniPC", "Simple", "uni_pc", "simple")]
SUBJECTS = ["a lighthouse at dusk", "portrait of an old fisherman", "a cyberpunk street market in the rain",
            "a red fox in fresh snow", "an astronaut riding a horse on mars", "a cozy reading nook, warm light"]
STYLE = ("masterpiece, best quality, highly detailed, dramatic lighting, volumetric fog, sharp focus, "
         "intricate details, 8k, cinematic composition, (film grain:0.8), depth of field")
NEGATIVE = "lowres, bad anatomy, bad hands, text, error, missing fingers, cropped, worst quality, jpeg artifacts"


def infotext(rng, n, width, height):
    sampler, schedule, _, _ = rng.choice(SAMPLERS)
    prompt = f"{rng.choice(SUBJECTS)}, number {n}, {STYLE}"
    return (f"{prompt}\nNegative prompt: {NEGATIVE}\n"
            f"Steps: {rng.randrange(20, 41)}, Sampler: {sampler}, Schedule type: {schedule}, "
            f"CFG scale: {rng.choice([5, 6.5, 7])}, Seed: {rng.getrandbits(32)}, Size: {width}x{height}, "
            f"Model hash: {rng.getrandbits(40):010x}, Model: {rng.choice(CHECKPOINTS)[:-12]}, "
            f"Denoising strength: 0.4, Hires upscale: 1.5, Hires upscaler: 4x-UltraSharp, "
            f"Version: f2.0.1v1.10.1-previous-313-g8a042934")


def comfy_graphs(rng, n, width, height):
    """A text-to-image graph as ComfyUI saves it: the API `prompt` and the UI `workflow`."""
    _, _, sampler, scheduler = rng.choice(SAMPLERS)
    seed = rng.getrandbits(48)
    positive = f"{rng.choice(SUBJECTS)}, number {n}, {STYLE}"
    prompt = {
        "3": {"inputs": {"seed": seed, "steps": rng.randrange(20, 41), "cfg": rng.choice([5.0, 6.5, 7.0]),
                         "sampler_name": sampler, "scheduler": scheduler, "denoise": 1.0, "model": ["4", 0],
                         "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]},
              "class_type": "KSampler", "_meta": {"title": "KSampler"}},
        "4": {"inputs": {"ckpt_name": rng.choice(CHECKPOINTS)}, "class_type": "CheckpointLoaderSimple",
              "_meta": {"title": "Load Checkpoint"}},
        "5": {"inputs": {"width": width, "height": height, "batch_size": 1}, "class_type": "EmptyLatentImage",
              "_meta": {"title": "Empty Latent Image"}},
        "6": {"inputs": {"text": positive, "clip": ["4", 1]}, "class_type": "CLIPTextEncode",
              "_meta": {"title": "CLIP Text Encode (Prompt)"}},
        "7": {"inputs": {"text": NEGATIVE, "clip": ["4", 1]}, "class_type": "CLIPTextEncode",
              "_meta": {"title": "CLIP Text Encode (Prompt)"}},
        "8": {"inputs": {"samples": ["3", 0], "vae": ["4", 2]}, "class_type": "VAEDecode",
              "_meta": {"title": "VAE Decode"}},
        "9": {"inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}, "class_type": "SaveImage",
              "_meta": {"title": "Save Image"}},
    }
    nodes = []
    for i, (node_id, node) in enumerate(prompt.items()):
        widgets = [v for v in node["inputs"].values() if not isinstance(v, list)]
        nodes.append({
            "id": int(node_id), "type": node["class_type"], "pos": [100 + 320 * i, 130 + 40 * (i % 3)],
            "size": [315, 262], "flags": {}, "order": i, "mode": 0,
            "inputs": [{"name": k, "type": k.upper(), "link": 10 + i} for k, v in node["inputs"].items()
                       if isinstance(v, list)],
            "outputs": [{"name": "OUT", "type": "ANY", "links": [20 + i], "slot_index": 0}],
            "properties": {"Node name for S&R": node["class_type"], "cnr_id": "comfy-core", "ver": "0.3.40"},
            "widgets_values": widgets + (["randomize"] if node["class_type"] == "KSampler" else []),
        })
    links = [[10 + i, int(src), 0, 3, 0, "ANY"] for i, src in enumerate(prompt)]
    workflow = {"id": f"{rng.getrandbits(128):032x}", "revision": 0, "last_node_id": 9, "last_link_id": 30,
                "nodes": nodes, "links": links, "groups": [], "config": {},
                "extra": {"ds": {"scale": 0.8264, "offset": [-12.5, 88.1]}, "frontendVersion": "1.21.7"},
                "version": 0.4}
    return json.dumps(prompt, indent=2), json.dumps(workflow)


def itxt(keyword, text):
    return chunk(b"iTXt", keyword + b"\0\0\0\0\0" + text.encode())


def make_group(folder, group, count, bases, rng):
    tmp = folder + ".partial"
    os.makedirs(tmp, exist_ok=True)
    for n in range(count):
        spec, (head, idats, iend) = bases[n % len(bases)]
        width, height = spec[0], spec[1]
        before, after = [], []
        if group == "before":
            if n % 5 < 3:
                text = infotext(rng, n, width, height)
                before.append(chunk(b"tEXt", b"parameters\0" + text.encode()) if n % 2 else
                              itxt(b"parameters", text))
            else:
                prompt, workflow = comfy_graphs(rng, n, width, height)
                before.append(chunk(b"tEXt", b"prompt\0" + prompt.encode()))
                before.append(chunk(b"tEXt", b"workflow\0" + workflow.encode()))
        elif group == "after":
            stamp = b"2025-06-01T12:00:00+00:00"
            after.append(chunk(b"tEXt", b"date:create\0" + stamp))
            after.append(chunk(b"tEXt", b"date:modify\0" + stamp))
            text = infotext(rng, n, width, height).encode()
            after.append(chunk(b"zTXt", b"parameters\0\0" + zlib.compress(text)) if n % 2 else
                         chunk(b"tEXt", b"parameters\0" + text))
        data = b"".join([PNG_SIGNATURE] + head + before + idats + after + [iend])
        with open(os.path.join(tmp, f"{n:05d}-{rng.getrandbits(32)}.png"), "wb") as f:
            f.write(data)
    os.rename(tmp, folder)


def make_corpus(root, counts):
    rng = random.Random(9)
    bases = None
    for group, count in counts.items():
        folder = os.path.join(root, group)
        if os.path.isdir(folder) and len(os.listdir(folder)) == count:
            continue
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                os.remove(os.path.join(folder, name))
            os.rmdir(folder)
        if bases is None:
            print("making the pictures...", file=sys.stderr)
            bases = [(spec, base_chunks(spec, 25 * i)) for i, spec in enumerate(BASES)]
        print(f"writing {count} files to {folder}...", file=sys.stderr)
        make_group(folder, group, count, bases, rng)


def measure(fn, runs):
    """Best of `runs` warm runs of `fn`: (wall seconds, CPU seconds of this process and its children)."""
    def once():
        r0, c0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        result = fn()
        wall = time.perf_counter() - start
        r1, c1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = sum(b.ru_utime - a.ru_utime + b.ru_stime - a.ru_stime for a, b in ((r0, r1), (c0, c1)))
        return wall, cpu, result
    once()  # warm the page cache and the program
    results = [once() for _ in range(runs)]
    return min(r[0] for r in results), min(r[1] for r in results), results[-1][2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--dir", default="bench-data")
    ap.add_argument("--stemma", default="target/release/stemma")
    ap.add_argument("--before", help="an older stemma build to compare with (same corpus, same run)")
    ap.add_argument("--floor", default="target/release/examples/json_floor",
                    help="the floor reader (cargo build --release -p stemma-import --example json_floor); "
                         "skipped when missing")
    ap.add_argument("--exiftool", default=os.environ.get("STEMMA_EXIFTOOL", "exiftool"))
    ap.add_argument("--exiftool-files", type=int, default=500)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--only", default="before,after,none", help="groups to run (comma-separated)")
    args = ap.parse_args()
    counts = {"before": args.files, "after": max(args.files // 5, 1), "none": max(args.files // 5, 1)}
    root = os.path.join(args.dir, f"read-{args.files}")
    make_corpus(root, counts)
    out_file = os.path.join(args.dir, "bench-read-output.json")

    def run_to_file(cmd):
        with open(out_file, "wb") as out:
            subprocess.run(cmd, stdout=out, stderr=subprocess.DEVNULL, check=False)

    def count_records(source=None):
        with open(out_file, "rb") as f:
            rows = [json.loads(line) for line in f]
        return sum(1 for r in rows if r.get("record") is not None and (source is None or r["source"] == source))

    def floor_found():
        with open(out_file, "rb") as f:
            return sum(1 for line in f if not line.startswith(b'{"texts":[]'))

    def stemma_show(binary, folder, *flags):
        def run():
            run_to_file([binary, "show", "--json", *flags, folder])
        return run

    def pillow(files):
        def run():
            found = 0
            for p in files:
                info = Image.open(p).info
                found += "parameters" in info or "prompt" in info
            return found
        return run

    def first_64k(files):
        def run():
            found = 0
            for p in files:
                with open(p, "rb") as f:
                    head = f.read(65536)
                found += b"parameters\0" in head or b"prompt\0" in head
            return found
        return run

    def full_decode(files):
        def run():
            for p in files:
                Image.open(p).load()
            return len(files)
        return run

    groups = [g for g in args.only.split(",") if g in counts]
    tables = []
    summary = {}
    for group in groups:
        folder = os.path.join(root, group)
        files = sorted(os.path.join(folder, f) for f in os.listdir(folder))
        n = len(files)
        rows = []

        def add(label, fn, count=n, runs=args.runs, found=None):
            """Measure one reader; returns (files/s by wall time, CPU µs per file)."""
            wall, cpu, result = measure(fn, runs)
            found = found() if found else result
            rows.append((label, count, wall, cpu, found))
            return count / wall, cpu / count * 1e6

        rate = add("stemma show --json", stemma_show(args.stemma, folder), found=count_records)
        summary[group] = {"stemma": rate}
        if group == "none":
            summary[group]["no_import"] = add("stemma show --json --no-import (no importers, no probe)",
                                              stemma_show(args.stemma, folder, "--no-import"), found=count_records)
        if args.before:
            summary[group]["before"] = add("older build: stemma show --json", stemma_show(args.before, folder),
                                           found=count_records)
        if group == "before" and os.path.exists(args.floor):
            summary[group]["floor"] = add("floor: read 16 KiB, check the JSON texts, print every text as JSON "
                                          "(examples/json_floor, no record)",
                                          lambda: run_to_file([os.path.abspath(args.floor), folder]),
                                          found=floor_found)
        summary[group]["pillow"] = add("Pillow Image.open(p).info loop", pillow(files))
        summary[group]["read64k"] = add("Python: first 64 KiB of each file", first_64k(files))
        if group == "none":
            few = files[:100]
            summary[group]["decode"] = add("Pillow Image.open(p).load() (full decode, 100 files)",
                                           full_decode(few), count=len(few), runs=1)
        if group == "before" and args.exiftool_files > 0:
            few = files[:args.exiftool_files]

            def exiftool():
                run_to_file([args.exiftool, "-j", "-q", "-fast", *few])

            def exif_found():
                with open(out_file, "rb") as f:
                    return sum(1 for r in json.load(f) if "Parameters" in r or "Prompt" in r)
            try:
                summary[group]["exiftool"] = add(f"ExifTool -j -fast (batch, {len(few)} files)", exiftool,
                                                 count=len(few), runs=1, found=exif_found)
            except (OSError, json.JSONDecodeError) as e:
                print(f"ExifTool not run: {e}", file=sys.stderr)
        tables.append((group, n, rows))

    sizes = [os.path.getsize(os.path.join(root, "before", f)) for f in os.listdir(os.path.join(root, "before"))]
    print(f"PNGs of {min(sizes) / 1e6:.2f}-{max(sizes) / 1e6:.2f} MB (mean {sum(sizes) / len(sizes) / 1e6:.2f} MB), "
          f"warm page cache, {os.cpu_count()} cores; best of {args.runs} runs\n")
    titles = {"before": "metadata before IDAT (A1111 60%, ComfyUI 40%)", "after": "A1111 text after IDAT",
              "none": "no metadata (stealth probe)"}
    for group, n, rows in tables:
        print(f"**{titles[group]}**, {n} files\n")
        print("| reader | files/s (wall) | CPU µs per file | files with metadata found |")
        print("|---|---:|---:|---:|")
        for label, count, wall, cpu, found in rows:
            print(f"| {label} | {count / wall:,.0f} | {cpu / count * 1e6:,.1f} | {found} of {count} |")
        print()
    print("**Ratios**: how many times faster `stemma show --json` is than the other reader, same run, by wall time "
          "(files/s) and by CPU time (µs per file; the figure to trust on a busy machine)\n")
    print("| group | stemma files/s | stemma CPU µs/file | × 64 KiB read loop | × Pillow lazy | × ExifTool "
          "| × older build |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for group in groups:
        s = summary[group]
        rate, cpu = s["stemma"]

        def ratio(key):
            if key not in s:
                return "–"
            other_rate, other_cpu = s[key]
            return f"{rate / other_rate:.1f} wall, {other_cpu / cpu:.1f} CPU"
        print(f"| {group} | {rate:,.0f} | {cpu:,.1f} | {ratio('read64k')} | {ratio('pillow')} | {ratio('exiftool')} "
              f"| {ratio('before')} |")
    if "floor" in summary.get("before", {}):
        (rate, cpu), (floor_rate, floor_cpu) = summary["before"]["stemma"], summary["before"]["floor"]
        print(f"\nMetadata before IDAT: the floor (reading the texts, checking the JSON ones and printing them, no "
              f"record) runs at {floor_rate:,.0f} files/s, {floor_cpu:.1f} µs CPU per file; `stemma show --json` "
              f"takes {cpu / floor_cpu:.1f}× its CPU. 100,000 files/s on {os.cpu_count()} cores leaves "
              f"{os.cpu_count() * 1e6 / 100_000:.0f} µs of CPU per file.")
    if "none" in summary and "no_import" in summary["none"]:
        s = summary["none"]
        show, bare = s["stemma"][1], s["no_import"][1]
        probe = max(show - bare, 1e-9)
        print(f"\nStealth probe, files without metadata: `show` {show:.1f} µs CPU per file, `show --no-import` (no "
              f"importers, no probe) {bare:.1f} µs: {show / bare:.2f}× (goal < 2×).")
        if "before" in s:
            print(f"Against the older build's `show` ({s['before'][1]:.1f} µs): {show / s['before'][1]:.2f}×.")
        if "decode" in s:
            print(f"A full decode (Pillow, C zlib) costs {s['decode'][1]:,.0f} µs per file: "
                  f"{s['decode'][1] / probe:.0f}× the probe's share of `show` ({probe:.1f} µs; goal ~100×).")

if __name__ == "__main__":
    main()
