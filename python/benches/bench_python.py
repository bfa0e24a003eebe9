"""Reading N files from Python (``stemma.scan``, ``stemma.show`` one by one) against the command
(``stemma show --json FOLDER``), both reading every file and producing its envelope.

    python python/benches/bench_python.py [--files 10000] [--bin target/release/stemma] [--folder DIR]

The folder is filled with copies of the corpus (``<repo>/../shared/corpus``) until it holds N files; it is kept
under target/ for the next run. Prints the times and the ratio Python / command (the goal: within 2x).
"""

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import stemma

REPO = Path(__file__).resolve().parents[2]


def fill(folder: Path, count: int) -> None:
    corpus = REPO.parent / "shared" / "corpus"
    sources = sorted(p for p in corpus.rglob("*") if p.suffix.lower() in {".png", ".jpg", ".jpeg", ".webp"})
    if not sources:
        sys.exit(f"no corpus images under {corpus}")
    folder.mkdir(parents=True, exist_ok=True)
    present = len(list(folder.iterdir()))
    for i in range(present, count):
        src = sources[i % len(sources)]
        dst = folder / f"{i:06d}{src.suffix.lower()}"
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy(src, dst)


def timed(label, fn, repeat):
    best = None
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    print(f"{label:<44} {best:8.3f} s  ({result} envelopes)")
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--bin", default=str(REPO / "target" / "debug" / "stemma"))
    parser.add_argument("--folder", default=str(REPO / "target" / "bench-python"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one-by-one", action="store_true", help="also time stemma.show() called per file")
    args = parser.parse_args()
    folder = Path(args.folder)
    fill(folder, args.files)
    print(f"{args.files} files in {folder}; command {args.bin}; {os.cpu_count()} cores")

    def command():
        out = subprocess.run([args.bin, "show", "--json", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False).stdout
        return out.count(b"\n")

    def python_scan():
        return sum(1 for _ in stemma.scan(folder))

    def python_one_by_one():
        n = 0
        for path in stemma._stemma.expand([str(folder)]):
            try:
                stemma.show(path)
            except stemma.StemmaError:
                pass
            n += 1
        return n

    cli = timed("command: stemma show --json FOLDER", command, args.repeat)
    scan = timed("python: list(stemma.scan(FOLDER))", python_scan, args.repeat)
    print(f"ratio python scan / command: {scan / cli:.2f}x")
    if args.one_by_one:
        one = timed("python: stemma.show(path) per file", python_one_by_one, args.repeat)
        print(f"ratio python one by one / command: {one / cli:.2f}x")


if __name__ == "__main__":
    main()
