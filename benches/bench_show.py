#!/usr/bin/env python3
"""Benchmark: reading the metadata of thousands of PNGs with `stemma show --json`, ExifTool's `-j` batch mode,
Pillow's lazy `Image.open(path).info` loop and a Python loop that reads only the first 64 KiB of each file.

Usage: benches/bench_show.py [--files 5000] [--dir bench-data] [--stemma target/release/stemma] [--exiftool PATH]

The files are made here (never downloaded): a few noise pictures encoded once by Pillow, copied with different
metadata chunks spliced in, as A1111 (`parameters` tEXt before IDAT), ComfyUI (`prompt` + `workflow`) and
"text after IDAT" (zTXt `parameters` after the image data, which lazy readers miss). Each tool's time is the best
of several warm runs writing its full output to a file (ExifTool: one run); counting what each found is done
afterwards and not timed. Prints a Markdown table.
"""
import argparse
import io
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import time
import zlib

from PIL import Image


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def split_png(data):
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        chunks.append((data[pos + 4:pos + 8], data[pos:pos + 12 + length]))
        pos += 12 + length
    return chunks


def make_files(folder, count):
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(7)
    bases = []
    for i in range(4):
        img = Image.frombytes("RGB", (256, 256), bytes(rng.getrandbits(8) for _ in range(256 * 256 * 3)))
        buf = io.BytesIO()
        img.save(buf, "PNG")
        bases.append(split_png(buf.getvalue()))
    for n in range(count):
        chunks = bases[n % len(bases)]
        seed = rng.getrandbits(32)
        infotext = (f"a lighthouse at dusk, number {n}, dramatic sky\nNegative prompt: blurry, lowres\n"
                    f"Steps: 28, Sampler: DPM++ 2M, CFG scale: 6.5, Seed: {seed}, Size: 512x512, Model: dreamshaper_8")
        kind = n % 4
        before, after = [], []
        if kind in (0, 1):
            before.append(chunk(b"tEXt", b"parameters\0" + infotext.encode()))
        elif kind == 2:
            graph = {str(i): {"class_type": "CLIPTextEncode", "inputs": {"text": f"node {i} " * 20}} for i in range(40)}
            graph["3"] = {"class_type": "KSampler", "inputs": {"seed": seed, "steps": 20, "cfg": 7}}
            before.append(chunk(b"tEXt", b"prompt\0" + json.dumps(graph).encode()))
            before.append(chunk(b"tEXt", b"workflow\0" + json.dumps({"nodes": list(graph.values())}).encode()))
        else:
            after.append(chunk(b"zTXt", b"parameters\0\0" + zlib.compress(infotext.encode())))
        out = [b"\x89PNG\r\n\x1a\n"]
        for ctype, raw in chunks:
            if ctype == b"IDAT" and before:
                out.extend(before)
                before = []
            if ctype == b"IEND":
                out.extend(after)
            out.append(raw)
        with open(os.path.join(folder, f"{n:05d}-{seed}.png"), "wb") as f:
            f.write(b"".join(out))


def timed(label, fn, count, runs=5):
    """Best of `runs` timings of `fn` (warm page cache); `fn` returns a callable that counts what was found, so that
    parsing a tool's output is not part of its time."""
    fn()  # warm the page cache and the program
    best, found = None, None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        secs = time.perf_counter() - start
        best = secs if best is None else min(best, secs)
        found = result
    found = found() if callable(found) else found
    return label, best, count / best, found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--dir", default="bench-data")
    ap.add_argument("--stemma", default="target/release/stemma")
    ap.add_argument("--exiftool", default=os.environ.get("STEMMA_EXIFTOOL", "exiftool"))
    args = ap.parse_args()
    folder = os.path.join(args.dir, f"png-{args.files}")
    if not os.path.isdir(folder) or len(os.listdir(folder)) != args.files:
        make_files(folder, args.files)
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder))
    with_late_text = sum(1 for i in range(args.files) if i % 4 == 3)

    out_file = os.path.join(args.dir, "bench-output.json")

    def run_to_file(cmd):
        with open(out_file, "wb") as out:
            subprocess.run(cmd, stdout=out, stderr=subprocess.DEVNULL, check=False)

    def stemma():
        run_to_file([args.stemma, "show", "--json", folder])

        def found():
            with open(out_file, "rb") as f:
                return sum(1 for line in f if json.loads(line)["record"] is not None)
        return found

    imported = folder + "-imported"
    if not os.path.isdir(imported):
        shutil.copytree(folder, imported)
        subprocess.run([args.stemma, "import", imported], stdout=subprocess.DEVNULL, check=True)

    def stemma_stored():
        run_to_file([args.stemma, "show", "--json", imported])

        def found():
            with open(out_file, "rb") as f:
                return sum(1 for line in f if json.loads(line)["source"] == "stemma")
        return found

    def exiftool():
        run_to_file([args.exiftool, "-j", "-q", "-fast", folder])

        def found():
            with open(out_file, "rb") as f:
                return sum(1 for r in json.load(f) if "Parameters" in r or "Prompt" in r)
        return found

    def pillow():
        n = 0
        for p in files:
            info = Image.open(p).info
            n += "parameters" in info or "prompt" in info
        return n

    def first_64k():
        n = 0
        for p in files:
            with open(p, "rb") as f:
                head = f.read(65536)
            n += b"parameters\0" in head or b"prompt\0" in head
        return n

    rows = [
        timed("stemma show --json, generator metadata imported on the fly", stemma, args.files),
        timed("stemma show --json, after `stemma import` (stored records)", stemma_stored, args.files),
    ]
    try:
        rows.append(timed("ExifTool -j -fast (batch)", exiftool, args.files, runs=1))
    except (OSError, subprocess.CalledProcessError, json.JSONDecodeError) as e:
        print(f"ExifTool not run: {e}", file=sys.stderr)
    rows.append(timed("Pillow Image.open(p).info loop", pillow, args.files))
    rows.append(timed("Python: first 64 KiB of each file", first_64k, args.files))
    base = rows[0][2]
    print(f"{args.files} PNGs, 256x256 noise, {with_late_text} with text after IDAT; {os.cpu_count()} cores\n")
    print("| reader | seconds | files/s | stemma is x faster | files with metadata found |")
    print("|---|---:|---:|---:|---:|")
    for label, secs, rate, found in rows:
        print(f"| {label} | {secs:.3f} | {rate:,.0f} | {base / rate:.1f} | {found} of {args.files} |")


if __name__ == "__main__":
    main()
