#!/usr/bin/env python3
"""A conforming stemma 1.0 reader (spec §2, §4, §10.2) in standard-library Python. Prints one JSON line per file: the
record (null when there is none) or {"error": category}. Strict when the `jsonschema` package is installed (spec §2.1).
Simplification: in JPEG, WebP, GIF and AVIF it reads the record from the first XMP packet found in the bytes."""
import json, re, struct, sys, zlib
import xml.etree.ElementTree as ET
from pathlib import Path

try:
    import jsonschema
    VALIDATOR = jsonschema.Draft202012Validator(json.loads((Path(__file__).parent.parent / "record.schema.json").read_text()))
except ImportError:
    VALIDATOR = None
NAMESPACES = ("https://w3id.org/stemma/ns/1.0/",)  # §0
class Bad(Exception): pass

def png_record(b):
    at, found = 8, None
    while True:  # §10.2 step 2: walk every chunk in order, checking length, end of file and CRC
        if at + 8 > len(b): raise Bad("truncated")
        n, kind = struct.unpack(">I4s", b[at:at + 8])
        if n > 2**31 - 1: raise Bad("chunk-too-large")
        if at + 12 + n > len(b): raise Bad("truncated")
        data, is_record = b[at + 8:at + 8 + n], kind == b"iTXt" and b[at + 8:at + 15] == b"stemma\0"
        if zlib.crc32(kind + data) != struct.unpack(">I", b[at + 8 + n:at + 12 + n])[0] and (kind[0] < 97 or is_record): raise Bad("crc")
        found, at = found if found is not None or not is_record else data[7:], at + 12 + n
        if kind == b"IEND": break
    if found is None: return None
    flag, method, text = found[0], found[1], found[2:].split(b"\0", 2)[-1]
    if flag == 0: return text
    if flag != 1 or method != 0: raise Bad("bad-compression")
    try: out = zlib.decompressobj().decompress(text, 16 * 2**20 + 1)
    except zlib.error: raise Bad("bad-compression")
    if len(out) > 16 * 2**20: raise Bad("limit")
    return out

def xmp_record(b):
    packet = re.search(rb"<x:xmpmeta.*?</x:xmpmeta>", b, re.S)
    if packet is None or b"<!DOCTYPE" in packet.group(0): return None
    for element in ET.fromstring(packet.group(0)).iter():
        for ns in NAMESPACES:
            value = element.get("{%s}record" % ns) if element.tag.endswith("Description") else None
            if element.tag == "{%s}record" % ns or value is not None: return (value or element.text or "").encode()

def unique(pairs):
    if len({k for k, _ in pairs}) != len(pairs): raise ValueError("repeated member name")
    return dict(pairs)

def no_constant(name): raise ValueError(f"{name} is not JSON")

def read_stemma(path):
    b = Path(path).read_bytes()
    if b.startswith(b"\x89PNG\r\n\x1a\n"): text = png_record(b)
    elif b[:3] == b"\xff\xd8\xff" or b[:6] in (b"GIF87a", b"GIF89a") or (b[:4] == b"RIFF" and b[8:12] == b"WEBP") or b[4:8] == b"ftyp": text = xmp_record(b)
    else: raise Bad("not-an-image")
    if text is None: return None
    try: record = json.loads(text.decode("utf-8"), object_pairs_hook=unique, parse_constant=no_constant)
    except ValueError: raise Bad("bad-json")  # also UnicodeDecodeError, NaN/Infinity, repeated names
    if not isinstance(record, dict): raise Bad("bad-json")
    version = record.get("stemma")
    if not (isinstance(version, str) and re.fullmatch(r"1\.[0-9]+", version)): raise Bad("unsupported-version")
    if VALIDATOR is not None and next(VALIDATOR.iter_errors(record), None) is not None: raise Bad("schema")
    return record

for name in sys.argv[1:]:
    try: print(json.dumps(read_stemma(name), ensure_ascii=False))
    except Bad as e: print(json.dumps({"error": str(e)}))
    except (OSError, ET.ParseError) as e: print(json.dumps({"error": "malformed", "detail": str(e)}))
