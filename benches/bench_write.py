#!/usr/bin/env python3
"""Benchmark of the write path: `stemma stamp` of a folder of PNGs in one command (pixel ids computed), a re-stamp
(pixels unchanged: the stored pixel id is reused), ExifTool `-fast` adding XMP to the same files in one process,
the peak memory of a single stamp, and `stemma id` (pixel ids) beside a plain decode of the same files (the `png`
crate row by row, `examples/decode_png`), the SHA-256 hashing alone that the two ids need (`decode_png
--sha256-only`: what the ids add to a decode), and Pillow's `Image.load()`. Not a timed test: it prints a Markdown table
of times and ratios measured in one run.

Usage: benches/bench_write.py [--files 200] [--dir bench-write-data] [--stemma target/release/stemma]
                              [--decoder target/release/examples/decode_png] [--exiftool exiftool] [--runs 3]

Build first: cargo build --release -p stemma-cli && cargo build --release -p stemma-container --example decode_png

The files are made here (never downloaded): a few pictures (gradients under Pillow noise, 512x512 to 832x1216,
0.3-1.7 MB as generators' PNGs are) encoded once by Pillow, copied with each file's own metadata: A1111
(`parameters` tEXt before IDAT) and ComfyUI (`prompt` + `workflow` tEXt). Every timed run works on a fresh copy
of the folder (the copy is not timed and leaves the files in the page cache). Times are wall-clock of the whole
process, best of --runs; peak memory is the process's maximum resident set (GNU time's %M when installed, else wait4,
which also counts the memory of the Python process that started it).
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
import tempfile
import time
import zlib

from PIL import Image

# (width, height, noise sigma): about 0.3 to 1.7 MB each with Pillow's default compression.
SHAPES = [(512, 512, 3), (512, 512, 8), (512, 768, 8), (512, 768, 24), (768, 768, 8), (768, 768, 24),
          (640, 960, 16), (832, 1216, 6)]


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def text_chunk(key, value):
    return chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1", "replace"))


def split_png(data):
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        chunks.append((data[pos + 4:pos + 8], data[pos:pos + 12 + length]))
        pos += 12 + length
    return chunks


def picture(w, h, sigma, seed):
    random.seed(seed)
    g = Image.linear_gradient("L").resize((w, h))
    base = Image.merge("RGB", (g, g.rotate(90).resize((w, h)), g.transpose(Image.FLIP_TOP_BOTTOM)))
    noise = Image.merge("RGB", [Image.effect_noise((w, h), sigma) for _ in range(3)])
    buf = io.BytesIO()
    Image.blend(base, noise, 0.5).save(buf, "PNG")
    return split_png(buf.getvalue())


def metadata(n, rng, w, h):
    seed = rng.getrandbits(32)
    prompt = f"a lighthouse at dusk, number {n}, dramatic sky, highly detailed"
    if n % 2 == 0:
        infotext = (f"{prompt}\nNegative prompt: blurry, lowres\nSteps: 28, Sampler: DPM++ 2M, CFG scale: 6.5, "
                    f"Seed: {seed}, Size: {w}x{h}, Model hash: 879db523c3, Model: dreamshaper_8")
        return [text_chunk("parameters", infotext)]
    graph = {
        "3": {"class_type": "KSampler", "inputs": {"seed": seed, "steps": 20, "cfg": 7.0, "sampler_name": "euler",
                                                   "scheduler": "normal", "denoise": 1.0, "model": ["4", 0],
                                                   "positive": ["6", 0], "negative": ["7", 0],
                                                   "latent_image": ["5", 0]}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": w, "height": h, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": prompt, "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
    }
    workflow = {"last_node_id": 9, "nodes": [{"id": int(k), "type": v["class_type"]} for k, v in graph.items()]}
    return [text_chunk("prompt", json.dumps(graph)), text_chunk("workflow", json.dumps(workflow))]


def make_corpus(folder, count):
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(7)
    bases = [(w, h, picture(w, h, s, i)) for i, (w, h, s) in enumerate(SHAPES)]
    for n in range(count):
        w, h, chunks = bases[n % len(bases)]
        meta = metadata(n, rng, w, h)
        out = [b"\x89PNG\r\n\x1a\n"]
        for kind, raw in chunks:
            if kind == b"IDAT" and meta:
                out.extend(meta)
                meta = []
            out.append(raw)
        with open(os.path.join(folder, f"img_{n:05d}.png"), "wb") as f:
            f.write(b"".join(out))


def fresh_copy(src, dst):
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)


# The peak resident set a parent reads from wait4 includes the memory the child had before it ran the command
# (Linux keeps the high-water mark across exec, and Python forks from its own, larger, image), so GNU time's
# %M (its own small process forks the command) is used when it is installed (Debian: `time`).
GNU_TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None


def measure(cmd):
    """Run `cmd`; return (seconds, peak resident bytes). Fails loudly on a non-zero exit."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile(mode="r") as peak:
        wrapped = [GNU_TIME, "-f", "%M", "-o", peak.name] + cmd if GNU_TIME else cmd
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}): {err.read().decode(errors='replace')[-2000:]}")
        if GNU_TIME:
            return elapsed, int(peak.read().strip().splitlines()[-1]) * 1024
    return elapsed, usage.ru_maxrss * 1024


def best(runs, prepare, cmd):
    times, peak = [], 0
    for _ in range(runs):
        if prepare:
            prepare()
        t, m = measure(cmd)
        times.append(t)
        peak = max(peak, m)
    return min(times), peak


def pillow_decode(folder):
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder))
    start = time.perf_counter()
    for f in files:
        with Image.open(f) as im:
            im.load()
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--dir", default="bench-write-data")
    ap.add_argument("--stemma", default="target/release/stemma")
    ap.add_argument("--decoder", default="target/release/examples/decode_png")
    ap.add_argument("--exiftool", default=shutil.which("exiftool") or "exiftool")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    stemma = os.path.abspath(args.stemma)
    orig = os.path.join(args.dir, "orig")
    if not os.path.isdir(orig) or len(os.listdir(orig)) != args.files:
        shutil.rmtree(orig, ignore_errors=True)
        make_corpus(orig, args.files)
    sizes = [os.path.getsize(os.path.join(orig, f)) for f in os.listdir(orig)]
    work = os.path.join(args.dir, "work")
    env_note = f"{os.cpu_count()} cores, {args.files} PNGs {min(sizes) / 1e6:.2f}-{max(sizes) / 1e6:.2f} MB"

    # Environment (see the README of benches): a configuration file must not change what stamp writes.
    os.environ["XDG_CONFIG_HOME"] = os.path.join(os.path.abspath(args.dir), "config")

    stamp_t, stamp_mem = best(args.runs, lambda: fresh_copy(orig, work), [stemma, "stamp", "-q", work])
    seeds = iter(range(1, 1000))
    restamp_t, _ = best(args.runs, None, [stemma, "stamp", "-q", "--seed", str(next(seeds)), work])
    # The re-stamp must have reused every pixel id: check on one more run's summary line.
    line = subprocess.run([stemma, "stamp", "--seed", "999", work], capture_output=True, text=True).stdout
    exif_t, exif_mem = best(args.runs, lambda: fresh_copy(orig, work),
                            [args.exiftool, "-fast", "-overwrite_original", "-q",
                             "-XMP-dc:Description=a lighthouse at dusk", work])

    largest = max(os.listdir(orig), key=lambda f: os.path.getsize(os.path.join(orig, f)))
    single = os.path.join(args.dir, "single.png")

    def copy_single():
        shutil.copyfile(os.path.join(orig, largest), single)
    _, single_mem = best(args.runs, copy_single, [stemma, "stamp", "-q", single])
    _, base_mem = best(args.runs, None, [stemma, "--version"])
    # The fixed cost of a stamp (the code it runs, its tables, the record schema's validator): a 1-pixel PNG.
    tiny = os.path.join(args.dir, "tiny.png")

    def copy_tiny():
        with open(tiny, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
                    + chunk(b"IDAT", zlib.compress(b"\0\0\0\0")) + chunk(b"IEND", b""))
    _, tiny_mem = best(args.runs, copy_tiny, [stemma, "stamp", "-q", tiny])
    single_size = os.path.getsize(os.path.join(orig, largest))

    id_t, _ = best(args.runs, None, [stemma, "id", orig])
    dec_t, _ = best(args.runs, None, [os.path.abspath(args.decoder), orig])
    hash_t, _ = best(args.runs, None, [os.path.abspath(args.decoder), "--sha256-only", orig])
    pil_t = min(pillow_decode(orig) for _ in range(args.runs))

    n = args.files
    print(f"## Write path ({env_note}; best of {args.runs}, warm page cache)\n")
    print("| what | time | files/s | ratio |")
    print("|---|---:|---:|---|")
    print(f"| `stemma stamp DIR` (pixel ids decoded) | {stamp_t:.2f} s | {n / stamp_t:,.0f} | "
          f"{exif_t / stamp_t:.1f}x ExifTool `-fast` (target >= 1) |")
    print(f"| `stemma stamp --seed N DIR` again (pixel ids reused) | {restamp_t:.2f} s | {n / restamp_t:,.0f} | "
          f"{exif_t / restamp_t:.1f}x ExifTool `-fast` (target >= 10) |")
    print(f"| ExifTool `-fast -overwrite_original -XMP-dc:Description=...` (one process) | {exif_t:.2f} s | "
          f"{n / exif_t:,.0f} | 1 |")
    print(f"| `stemma id DIR` (pixel + data ids) | {id_t:.2f} s | {n / id_t:,.0f} | "
          f"{id_t / dec_t:.2f}x the plain decode (target <= 1.5) |")
    print(f"| plain decode, `png` crate row by row, {os.cpu_count()} threads | {dec_t:.2f} s | {n / dec_t:,.0f} | 1 |")
    print(f"| SHA-256 alone of the bytes both ids hash (RGBA samples + file), {os.cpu_count()} threads | "
          f"{hash_t:.2f} s | {n / hash_t:,.0f} | decode + hash, measured apart, = {(dec_t + hash_t) / dec_t:.2f}x the "
          f"plain decode; `id` (both in one pass) takes {id_t / (dec_t + hash_t):.2f}x their sum |")
    print(f"| Pillow `Image.open().load()` loop, 1 thread | {pil_t:.2f} s | {n / pil_t:,.0f} | "
          f"{pil_t / dec_t:.2f}x the plain decode |")
    print()
    print("| peak memory | resident | ratio to the file |")
    print("|---|---:|---|")
    print(f"| `stemma stamp` of one {single_size / 1e6:.2f} MB PNG | {single_mem / 1e6:.1f} MB | "
          f"{single_mem / single_size:.1f}x (target < 4) |")
    print(f"| the same, less the process's own start-up (`stemma --version`: {base_mem / 1e6:.1f} MB) | "
          f"{(single_mem - base_mem) / 1e6:.1f} MB | {(single_mem - base_mem) / single_size:.1f}x |")
    print(f"| the same, less a stamp of a 1-pixel PNG ({tiny_mem / 1e6:.1f} MB: the code a stamp runs, its tables, "
          f"the schema validator): what follows the file | {(single_mem - tiny_mem) / 1e6:.1f} MB | "
          f"{(single_mem - tiny_mem) / single_size:.1f}x |")
    print(f"| `stemma stamp DIR` of {n} files ({2 * os.cpu_count()} threads) | {stamp_mem / 1e6:.1f} MB | |")
    print(f"| ExifTool batch | {exif_mem / 1e6:.1f} MB | |")
    print(f"\nre-stamp summary: {line.strip()}")


if __name__ == "__main__":
    main()
