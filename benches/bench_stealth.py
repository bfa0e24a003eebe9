#!/usr/bin/env python3
"""Benchmark: what finding stealth pnginfo by default costs `stemma show` on PNGs without any metadata.

Usage: benches/bench_stealth.py --before OLD_STEMMA [--after target/release/stemma] [--files 5000] [--stealth 50]
       [--size 512] [--dir bench-data]

`--before` is a release build of stemma from before the stealth probe (it reads stealth data only with `--deep`,
which decodes every image without metadata: that run is the "full decode" reference). `--after` is the build to
measure. The files are made here with Pillow (never downloaded): a few noise pictures (RGB and RGBA, `--size`
pixels square) encoded once and copied under different names, with no metadata chunk at all, plus `--stealth`
RGBA files carrying an A1111 infotext in the alpha LSBs (`stealth_pngcomp`, column-major, as Forge writes it).
Each time is the best of several warm runs of `stemma show --json <folder>` writing its output to a file. Prints a
Markdown table and the two ratios the issue asks for.
"""
import argparse
import gzip
import io
import json
import os
import random
import subprocess
import time

from PIL import Image


def noise(rng, size, mode):
    channels = len(mode)
    data = bytearray(rng.getrandbits(8) for _ in range(size * size * channels))
    if mode == "RGBA":
        data[3::4] = b"\xff" * (size * size)  # opaque, as generators write RGBA
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
    bases = [png_bytes(noise(rng, size, mode)) for mode in ("RGB", "RGBA", "RGB", "RGBA")]
    for n in range(count):
        with open(os.path.join(folder, f"plain-{n:05d}.png"), "wb") as f:
            f.write(bases[n % len(bases)])
    for n in range(stealth):
        text = (f"a lighthouse at dusk, number {n}\nNegative prompt: blurry\n"
                f"Steps: 28, Sampler: DPM++ 2M, CFG scale: 6.5, Seed: {1000 + n}, Size: {size}x{size}, "
                f"Model: dreamshaper_8, Version: f2.0.1v1.10.1-previous-313-g8a042934")
        img = embed_stealth(noise(rng, size, "RGBA"), text)
        with open(os.path.join(folder, f"stealth-{n:05d}.png"), "wb") as f:
            f.write(png_bytes(img))


def timed(cmd, out_file, runs):
    def once():
        with open(out_file, "wb") as out:
            start = time.perf_counter()
            subprocess.run(cmd, stdout=out, stderr=subprocess.DEVNULL, check=False)
            return time.perf_counter() - start
    once()  # warm the page cache
    best = min(once() for _ in range(runs))
    with open(out_file, "rb") as f:
        found = sum(1 for line in f if json.loads(line).get("record") is not None)
    return best, found


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
        secs, found = timed(cmd + [folder], out_file, args.runs)
        rows.append((label, secs, found))
    stealth_rows = []
    for label, cmd in [
        ("before: `show`", [args.before, "show", "--json"]),
        ("after: `show`", [args.after, "show", "--json"]),
    ]:
        secs, found = timed(cmd + [mixed], out_file, args.runs)
        stealth_rows.append((label, secs, found))

    print(f"{n} PNGs without metadata ({args.size}×{args.size}, RGB and RGBA noise):\n")
    print("| run | total s | µs per file | records found |")
    print("|---|---:|---:|---:|")
    for label, secs, found in rows:
        print(f"| {label} | {secs:.3f} | {secs / n * 1e6:.0f} | {found} |")
    print(f"\n{args.stealth} PNGs with stealth data only (no chunks):\n")
    print("| run | total s | µs per file | records found |")
    print("|---|---:|---:|---:|")
    for label, secs, found in stealth_rows:
        print(f"| {label} | {secs:.3f} | {secs / args.stealth * 1e6:.0f} | {found} |")
    before, deep, after = rows[0][1], rows[1][1], rows[2][1]
    probe = max(after - before, 1e-9)
    print(f"\nafter/before `show` on files without metadata: {after / before:.2f}× (goal < 2×)")
    print(f"full decode cost / probe cost: {(deep - before) / probe:.0f}× (goal ~100×)")


if __name__ == "__main__":
    main()
