#!/usr/bin/env python3
"""Print the stemma record of PNG files as JSON, using only Pillow and json (stemma spec §2, "no lock-in")."""
import json
import sys

from PIL import Image


def read_stemma(path):
    with Image.open(path) as image:  # reads the chunks before IDAT; pixels are not decoded
        text = image.info.get("stemma")
    record = None if text is None else json.loads(text)
    if record is not None and not str(record.get("stemma", "")).startswith("1."):
        raise ValueError(f"{path}: unsupported stemma version {record.get('stemma')!r}")
    return record


for name in sys.argv[1:]:
    print(json.dumps(read_stemma(name), ensure_ascii=False))
