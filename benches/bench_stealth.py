#!/usr/bin/env python3
"""Benchmark: what finding stealth pnginfo by default costs `stemma show` on PNGs without any metadata.

Usage: benches/bench_stealth.py --before OLD_STEMMA [--after target/release/stemma] [--files 5000] [--stealth 50]
       [--size 512] [--dir bench-data]

`--before` is a release build of stemma from before the stealth probe (it reads stealth data only with `--deep`,
which decodes every image without metadata: that run is the "full decode" reference). `--after` is the build to
measure. The files are made here with Pillow (never downloaded): four gradient pictures with light noise (RGB and
RGBA, `--size` pixels square) encoded once and hard-linked under many names, with no metadata chunk at all, plus `--stealth`
RGBA files carrying an A1111 infotext in the alpha LSBs (`stealth_pngcomp`, column-major, as Forge writes it).
Each figure is the best of several warm runs of `stemma show --json <folder>` writing its output to a file, as
wall time and as CPU time (user + system, the figure to compare on a shared machine). Prints a Markdown table and
the two ratios the issue asks for.
"""
import argparse
import gzip
import io
import json
import os
import random
import resource
import subprocess
import time

from PIL import Image


def picture(rng, size, mode):
    """A smooth gradient with a little noise: compresses like a rendered picture, not like pure noise."""
    channels = len(mode)
    data = bytearray(size * size * channels)
    tilt = rng.randrange(1, 4)
    i = 0
    for y in range(size):
        for x in range(size):
            base = (x * tilt + y) * 255 // (size * (tilt + 1))
            for c in range(channels):
                data[i] = 255 if c == 3 else (base + 40 * c + rng.getrandbits(2)) & 0xFF
                i += 1
    return Image.frombytes(mode, (size, size), bytes(data))


def embed_stealth(img, text):
    """Forge's `add_data` in alpha mode: signature, 32-bit bit length, gzip payload; LSB of alpha, column-major."""
    payload = gzip.compress(text.encode())
    data = b"stealth_pngcomp" + (len(payload) * 8).to_bytes(4, "big") + payload
    bits = [(byte >> (7 - i)) & 1 for byte in data for i in range(8)]
    px = img.load()
    w, h = img.size
    assert len(bits) <= w * h
    for k, bit in enumerate(bits):
        x, y = divmod(k, h)
        r, g, b, a = px[x, y]
        px[x, y] = (r, g, b, (a & 0xFE) | bit)
    return img


def png_bytes(img):
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def make_files(folder, count, stealth, size):
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(11)
    # A few pictures, hard-linked under many names: the disk holds four files, and every run reads warm pages.
    bases = folder + "-bases"
    os.makedirs(bases, exist_ok=True)
    base_paths = []
    for i, mode in enumerate(("RGB", "RGBA", "RGB", "RGBA") if count else ()):
        path = os.path.join(bases, f"base-{i}.png")
        with open(path, "wb") as f:
            f.write(png_bytes(picture(rng, size, mode)))
        base_paths.append(path)
    for n in range(count):
        os.link(base_paths[n % len(base_paths)], os.path.join(folder, f"plain-{n:05d}.png"))
    for n in range(stealth):
        text = (f"a lighthouse at dusk, number {n}\nNegative prompt: blurry\n"
                f"Steps: 28, Sampler: DPM++ 2M, CFG scale: 6.5, Seed: {1000 + n}, Size: {size}x{size}, "
                f"Model: dreamshaper_8, Version: f2.0.1v1.10.1-previous-313-g8a042934")
        img = embed_stealth(picture(rng, size, "RGBA"), text)
        with open(os.path.join(folder, f"stealth-{n:05d}.png"), "wb") as f:
            f.write(png_bytes(img))


def timed(cmd, out_file, runs):
    """Best of `runs` warm runs: (wall seconds, CPU seconds user + system). CPU time is the figure to compare on a
    shared machine: wall time there measures the other programs too."""
    def once():
        with open(out_file, "wb") as out:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(cmd, stdout=out, stderr=subprocess.DEVNULL, check=False)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            return wall, cpu
    once()  # warm the page cache
    results = [once() for _ in range(runs)]
    wall = min(r[0] for r in results)
    cpu = min(r[1] for r in results)
    with open(out_file, "rb") as f:
        found = sum(1 for line in f if json.loads(line).get("record") is not None)
    return wall, cpu, found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True, help="stemma built before the stealth probe")
    ap.add_argument("--after", default="target/release/stemma")
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--stealth", type=int, default=50)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default="bench-data")
    args = ap.parse_args()
    plain = os.path.join(args.dir, f"stealth-bench-plain-{args.files}-{args.size}")
    mixed = os.path.join(args.dir, f"stealth-bench-mixed-{args.stealth}-{args.size}")
    if not os.path.isdir(plain) or len(os.listdir(plain)) != args.files:
        make_files(plain, args.files, 0, args.size)
    if not os.path.isdir(mixed) or len(os.listdir(mixed)) != args.stealth:
        make_files(mixed, 0, args.stealth, args.size)
    out_file = os.path.join(args.dir, "stealth-bench-output.json")
    n = args.files
    rows = []
    for label, cmd, folder in [
        ("before: `show`", [args.before, "show", "--json"], plain),
        ("before: `show --deep` (full decode)", [args.before, "show", "--json", "--deep"], plain),
        ("after: `show` (first rows probed)", [args.after, "show", "--json"], plain),
        ("after: `show --deep`", [args.after, "show", "--json", "--deep"], plain),
    ]:
        rows.append((label, n) + timed(cmd + [folder], out_file, args.runs))
    for label, cmd in [
        ("before: `show`, stealth files", [args.before, "show", "--json"]),
        ("after: `show`, stealth files", [args.after, "show", "--json"]),
    ]:
        rows.append((label, args.stealth) + timed(cmd + [mixed], out_file, args.runs))

    print(f"{n} PNGs without metadata ({args.size}×{args.size}, RGB and RGBA gradients), then {args.stealth} PNGs "
          "with stealth data and no chunks:\n")
    print("| run | files | wall s | CPU s | CPU µs per file | records found |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, count, wall, cpu, found in rows:
        print(f"| {label} | {count} | {wall:.3f} | {cpu:.3f} | {cpu / count * 1e6:.0f} | {found} |")
    before, deep, after = rows[0][3], rows[1][3], rows[2][3]
    probe = max(after - before, 1e-9)
    print(f"\nCPU, after/before `show` on files without metadata: {after / before:.2f}× (goal < 2×)")
    print(f"CPU, full decode cost / probe cost: {(deep - before) / probe:.0f}× (goal ~100×)")


if __name__ == "__main__":
    main()
