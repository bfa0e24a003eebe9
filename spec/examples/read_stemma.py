#!/usr/bin/env python3
"""Print the stemma record of PNG files as JSON, using only Pillow and json (stemma spec §2, "no lock-in")."""
import json
import sys

from PIL import Image


def read_stemma(path):
    """The record of a PNG as a dict, or None. Pillow reads text chunks before IDAT without decoding pixels."""
    with Image.open(path) as image:
        text = image.info.get("stemma")
    if text is None:
        return None
    record = json.loads(text)
    if not str(record.get("stemma", "")).startswith("1."):
        raise ValueError(f"{path}: unsupported stemma version {record.get('stemma')!r}")
    return record


for name in sys.argv[1:]:
    print(json.dumps(read_stemma(name), ensure_ascii=False))
