"""Writing from Python: save (Pillow encodes, stemma stamps), stamp, strip."""

import json
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

import stemma
from conftest import copy_writable


def gradient(width=64, height=48):
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :, None]
    y = np.linspace(0, 255, height, dtype=np.uint8)[:, None, None]
    return np.concatenate([np.broadcast_to(x, (height, width, 1)), np.broadcast_to(y, (height, width, 1)), np.full((height, width, 1), 90, np.uint8)], axis=2)


def test_save_png_is_seen_by_pillow_stemma_and_the_command(cli, tmp_path, exiftool):
    pixels = gradient()
    path = tmp_path / "a.png"
    record = stemma.save(Image.fromarray(pixels), path, prompt="a red fox in snow", negative="blurry", seed=42, params={"steps": 30, "cfg_scale": 6.5, "model": "sdxl.safetensors"})
    assert record["params"]["seed"] == "42"
    assert record["params"]["model"] == {"name": "sdxl.safetensors"}
    assert record["content"]["pixels"].startswith("sha256:")
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert np.array_equal(np.asarray(im), pixels), "the pixels are Pillow's, unchanged"
        xmp = im.info.get("XML:com.adobe.xmp", "")
        assert "a red fox in snow" in xmp, "the prompt is mirrored in XMP for other readers"
    assert stemma.read(path) == record
    [shown] = cli.show(path)
    assert shown["source"] == "stemma"
    assert shown["record"] == record
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"], "the temporary file is gone"
    if exiftool:
        out = json.loads(subprocess.run([exiftool, "-j", "-G", str(path)], capture_output=True, text=True, check=True).stdout)[0]
        assert out.get("XMP:Description") == "a red fox in snow", out
        assert out.get("PNG:ImageWidth") == 64 and out.get("PNG:ImageHeight") == 48, out


def test_save_a_float_array_as_jpeg_with_a_parent_and_a_sequence(tmp_path):
    parent = tmp_path / "init.png"
    stemma.save(gradient(), parent, prompt="init", seed=1)
    array = np.random.default_rng(7).random((32, 40, 3), dtype=np.float32)
    path = tmp_path / "frame.jpg"
    record = stemma.save(array, path, prompt="next", seed="123", parents=[(parent, "init")], sequence="seq-1", frame=4, quality=90)
    assert record["parents"][0]["relation"] == "init"
    assert record["parents"][0]["id"] == stemma.ids(parent)["pixels"]
    assert record["parents"][0]["hint"] == "init.png"
    assert record["sequence"] == {"id": "seq-1", "frame": 4}
    with Image.open(path) as im:
        assert im.format == "JPEG" and im.size == (40, 32)
    assert stemma.read(path)["prompt"]["positive"] == "next"


def test_save_names_the_target_on_failure_and_keeps_nothing(tmp_path):
    with pytest.raises(stemma.UnsupportedFormatError, match="no image format"):
        stemma.save(gradient(), tmp_path / "a.unknownext", prompt="x")
    with pytest.raises(stemma.RecordError) as info:
        stemma.save(gradient(), tmp_path / "b.png", seed="x1")
    assert list(tmp_path.iterdir()) == []
    assert "seed" in str(info.value)


def test_stamp_keeps_the_imported_record_and_adds_to_it(shared, cli, tmp_path):
    source = shared / "corpus/a1111/forge.png"
    path = tmp_path / "forge.png"
    copy_writable(source, path)
    imported = stemma.read(path)
    out = tmp_path / "out.png"
    record = stemma.stamp(path, seed=7, output=out)
    assert path.read_bytes() == source.read_bytes(), "output= leaves the input alone"
    assert record["prompt"] == imported["prompt"]
    assert record["params"]["seed"] == "7"
    assert record["params"]["steps"] == imported["params"]["steps"]
    assert cli.show(out)[0]["record"] == record


def test_stamp_with_a_record_dict_and_a_sidecar(shared, tmp_path):
    path = tmp_path / "a.webp"
    copy_writable(shared / "corpus/a1111/sd-webui.webp", path)
    before = path.read_bytes()
    record = stemma.stamp(path, {"stemma": "1.0", "prompt": {"positive": "given"}}, sidecar=True)
    assert path.read_bytes() == before
    assert json.loads((tmp_path / "a.webp.stemma.json").read_text())["prompt"]["positive"] == "given"
    assert stemma.show(path)["source"] == "sidecar"
    assert stemma.read(path) == record


def test_strip_stemma_gives_back_the_original_bytes(shared, tmp_path):
    source = shared / "corpus/comfyui/comfyui-hires.png"
    path = tmp_path / "c.png"
    copy_writable(source, path)
    stemma.stamp(path, prompt="changed")
    assert path.read_bytes() != source.read_bytes()
    assert stemma.strip(path) is True
    assert path.read_bytes() == source.read_bytes()
    assert stemma.strip(path, profile="all", output=tmp_path / "bare.png")
    assert stemma.show(tmp_path / "bare.png")["metadata"] == []


def test_validate_and_settings_hash():
    assert stemma.validate({"stemma": "1.0"}) == []
    assert stemma.validate({"stemma": "1.0", "params": {"seed": 5.5}})
    assert stemma.settings_hash({"a": 1, "b": [1, 2]}) == stemma.settings_hash({"b": [1, 2], "a": 1})
